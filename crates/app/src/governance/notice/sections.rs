//! The notice's model, section by section, from the policy and the transfer list.

use super::*;

pub(super) fn build(p: &Policy, transfers: &TransferList, lang: Lang) -> Notice {
    let cx = Ctx { p, transfers, lang, flagged: Cell::new(false) };
    let controller = p.controller.name.as_str();
    let version = p.version.as_str();
    let lead = vec![
        Line::default()
            .t(tr!(
                lang,
                "Cette notice explique comment {controller} utilise les données personnelles de ses clients et de ses contacts (prospects), et quels droits vous avez sur ces données. Elle est établie à partir de notre politique de protection des données, version {version}, applicable à compter du ",
                "This notice explains how {controller} uses the personal data of its clients and contacts (prospects), and what rights you have over that data. It is produced from our data protection policy, version {version}, effective from "
            ))
            .span(cx.date(p.effective_date))
            .t(".")
            .para(),
    ];
    let sections = vec![
        controller_section(&cx),
        dpo_section(&cx),
        purposes_section(&cx),
        recipients_section(&cx),
        transfers_section(&cx),
        retention_section(&cx),
        suppression_section(&cx),
        rights_section(&cx),
        exercise_section(&cx),
        security_section(&cx),
        breaches_section(&cx),
        register_section(&cx),
        complaint_section(&cx),
        revisions_section(&cx),
    ];
    Notice {
        lang,
        title: lang.pick("Protection de vos données personnelles", "Protecting your personal data").into(),
        subtitle: p.controller.name.clone(),
        lead,
        sections,
    }
}

pub(super) fn controller_section(cx: &Ctx<'_>) -> Section {
    let (p, lang) = (cx.p, cx.lang);
    let name = Line::default()
        .t(lang.pick("Le responsable du traitement de vos données est ", "The controller of your data is "))
        .b(&p.controller.name)
        .flag(cx.assumed("controller.name"))
        .t(".")
        .para();
    let address = match &p.controller.address {
        Some(a) => Line::default()
            .t(lang.pick("Adresse postale : ", "Postal address: "))
            .t(a)
            .flag(cx.assumed("controller.address"))
            .t(".")
            .para(),
        None => Line::default()
            .t(lang.pick("Adresse postale : ", "Postal address: "))
            .span(cx.missing())
            .t(lang.pick(" ; notre politique ne l'indique pas encore.", "; our policy does not state it yet."))
            .para(),
    };
    Section {
        id: "controller",
        title: lang.pick("Qui est responsable de vos données", "Who is responsible for your data").into(),
        blocks: vec![name, address],
    }
}

/// The DPO's email (as a link) and postal address.
pub(super) fn dpo_contact(cx: &Ctx<'_>) -> Vec<Line> {
    let (d, lang) = (&cx.p.dpo, cx.lang);
    vec![
        Line::default()
            .t(lang.pick("par courriel : ", "by email: "))
            .span(Span::Link { text: d.email.clone(), href: format!("mailto:{}", d.email) })
            .flag(cx.assumed("dpo.email")),
        Line::default()
            .t(lang.pick("par courrier : ", "by post: "))
            .t(format!("{}, {}", d.name, d.address))
            .flag(cx.assumed("dpo.address")),
    ]
}

pub(super) fn dpo_section(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let intro = Line::default()
        .t(lang.pick(
            "Nous avons désigné un délégué à la protection des données : ",
            "We have appointed a data protection officer: ",
        ))
        .b(&cx.p.dpo.name)
        .flag(cx.assumed("dpo.name"))
        .t(lang.pick(
            ". Écrivez-lui pour exercer vos droits ou pour toute question sur l'utilisation de vos données :",
            ". Write to the DPO to exercise your rights or with any question about the use of your data:",
        ))
        .para();
    Section {
        id: "dpo",
        title: lang.pick("Délégué à la protection des données (DPO)", "Data protection officer (DPO)").into(),
        blocks: vec![intro, list(dpo_contact(cx))],
    }
}

pub(super) fn purposes_section(cx: &Ctx<'_>) -> Section {
    let (p, lang) = (cx.p, cx.lang);
    let mut blocks = vec![
        Line::default()
            .t(lang.pick(
                "Chacune de nos utilisations de vos données sert l'une des finalités ci-dessous, sur la base légale indiquée. Cette base dépend de votre situation : client (lié à nous par un contrat) ou prospect (contact sans contrat).",
                "Each of our uses of your data serves one of the purposes below, on the legal basis shown. The basis depends on your situation: client (bound to us by a contract) or prospect (a contact without a contract).",
            ))
            .para(),
    ];
    let rows = p
        .purposes
        .iter()
        .map(|purpose| {
            let id = &purpose.id;
            let basis_cell = |kind: SubjectKind| {
                let text = purpose
                    .bases
                    .get(&kind)
                    .map_or(lang.pick("non concernés", "not applicable"), |b| basis_label(lang, *b));
                Line::default().t(text).flag(cx.assumed(&format!("purposes.{id}.bases"))).0
            };
            let categories = if purpose.aggregates_only {
                lang.pick("chiffres agrégés uniquement", "aggregated figures only").to_string()
            } else if purpose.data_categories.is_empty() {
                lang.pick("aucune", "none").to_string()
            } else {
                let names: Vec<String> =
                    purpose.data_categories.iter().map(|c| category_label(lang, *c).to_string()).collect();
                names.join(", ")
            };
            vec![
                Line::default().t(lang.of(&purpose.name)).flag(cx.assumed(&format!("purposes.{id}.name"))).0,
                basis_cell(SubjectKind::Client),
                basis_cell(SubjectKind::Prospect),
                Line::default().t(categories).flag(cx.assumed(&format!("purposes.{id}.data_categories"))).0,
            ]
        })
        .collect();
    blocks.push(Block::Table {
        caption: lang
            .pick("Finalités, bases légales et données utilisées", "Purposes, legal bases and data used")
            .into(),
        head: vec![
            lang.pick("Finalité", "Purpose").into(),
            lang.pick("Clients", "Clients").into(),
            lang.pick("Prospects", "Prospects").into(),
            lang.pick("Données utilisées", "Data used").into(),
        ],
        rows,
    });
    for s in p.purposes.iter().filter(|s| s.aggregates_only) {
        let name = cx.quote(lang.of(&s.name));
        let n = s.min_group_size;
        blocks.push(
            Line::default()
                .t(tr!(
                    lang,
                    "{name} : nous ne produisons que des chiffres agrégés ; aucun résultat ne porte sur une personne en particulier, et tout groupe de moins de {n} personnes est masqué.",
                    "{name}: we produce aggregated figures only; no result concerns any one person, and any group of fewer than {n} people is withheld."
                ))
                .para(),
        );
    }
    blocks.push(
        Line::default()
            .t(lang.pick(
                "Dans nos systèmes, toute consultation de vos données doit indiquer l'une de ces finalités, et elle n'est permise que si cette politique l'autorise.",
                "In our systems, every consultation of your data must state one of these purposes, and it is allowed only when this policy permits it.",
            ))
            .para(),
    );
    Section {
        id: "purposes",
        title: lang
            .pick(
                "Pourquoi nous utilisons vos données, et sur quelle base légale",
                "Why we use your data, and on what legal basis",
            )
            .into(),
        blocks,
    }
}

/// "for all the purposes above", or the purposes named.
pub(super) fn recipient_purposes(cx: &Ctx<'_>, r: &Recipient) -> String {
    if cx.p.purposes.iter().all(|p| r.purposes.contains(&p.id)) {
        cx.lang.pick("toutes les finalités ci-dessus", "all the purposes above").into()
    } else {
        cx.purpose_names(&r.purposes)
    }
}

pub(super) fn recipients_section(cx: &Ctx<'_>) -> Section {
    let (p, lang) = (cx.p, cx.lang);
    let mut blocks = vec![Line::default().t(lang.pick("Au sein de notre entreprise :", "Within our company:")).para()];
    let internal: Vec<Line> = p
        .internal_recipients()
        .map(|r| {
            let id = &r.id;
            Line::default()
                .b(lang.of(&r.name))
                .flag(cx.assumed(&format!("recipients.{id}.name")))
                .t(lang.pick(", pour ", ", for "))
                .t(recipient_purposes(cx, r))
                .flag(cx.assumed(&format!("recipients.{id}.purposes")))
                .t(".")
        })
        .collect();
    blocks.push(list(internal));
    let external: Vec<Line> = p
        .recipients
        .iter()
        .filter(|r| r.kind == RecipientKind::External)
        .map(|r| {
            let id = &r.id;
            let mut line = Line::default()
                .b(lang.of(&r.name))
                .flag(cx.assumed(&format!("recipients.{id}.name")))
                .t(lang.pick(" — rôle : ", " — role: "));
            line = match &r.role {
                Some(role) => line.t(role_label(lang, role)).flag(cx.assumed(&format!("recipients.{id}.role"))),
                None => line.span(cx.missing()),
            };
            line = line.t(lang.pick(" ; pays : ", "; country: "));
            line = match &r.country {
                Some(c) => line.t(cx.country(c)).flag(cx.assumed(&format!("recipients.{id}.country"))),
                None => line.span(cx.missing()),
            };
            line.t(lang.pick(" ; finalités : ", "; purposes: "))
                .t(recipient_purposes(cx, r))
                .flag(cx.assumed(&format!("recipients.{id}.purposes")))
                .t(".")
        })
        .collect();
    if external.is_empty() {
        blocks.push(
            Line::default()
                .t(lang.pick(
                    "Nous ne communiquons vos données à aucun destinataire externe.",
                    "We disclose your data to no external recipient.",
                ))
                .para(),
        );
    } else {
        blocks.push(
            Line::default()
                .t(lang.pick(
                    "En dehors de l'entreprise, nos prestataires et partenaires, chacun pour les seules finalités indiquées :",
                    "Outside the company, our providers and partners, each only for the purposes shown:",
                ))
                .para(),
        );
        blocks.push(list(external));
    }
    Section { id: "recipients", title: lang.pick("Qui reçoit vos données", "Who receives your data").into(), blocks }
}

pub(super) fn transfers_section(cx: &Ctx<'_>) -> Section {
    let (p, lang, list_of) = (cx.p, cx.lang, cx.transfers);
    let mut blocks = vec![
        Line::default()
            .t(lang.pick(
                "Il peut arriver que nous transférions certaines de vos données vers un pays situé hors de l'Union européenne. Vous en êtes alors informé, et le transfert est encadré : soit ce pays bénéficie d'une décision d'adéquation de la Commission européenne, soit nous signons avec le destinataire des garanties appropriées (clauses contractuelles types de la Commission, ou règles d'entreprise contraignantes). Sans l'une ou l'autre, aucune donnée ne lui est communiquée.",
                "We may transfer some of your data to a country outside the European Union. You are then informed, and the transfer is safeguarded: either that country benefits from an adequacy decision of the European Commission, or we sign appropriate safeguards with the recipient (the Commission's standard contractual clauses, or binding corporate rules). Without one or the other, no data is disclosed to it.",
            ))
            .para(),
    ];
    let mut items = Vec::new();
    let mut outside = 0;
    let mut uncertain = false;
    for r in p.recipients.iter().filter(|r| r.kind == RecipientKind::External) {
        let line = Line::default().b(lang.of(&r.name)).t(lang.pick(" : ", ": "));
        let Some(code) = r.country.as_deref() else {
            items.push(line.t(lang.pick("pays ", "country ")).span(cx.missing()).t("."));
            uncertain = true;
            continue;
        };
        let flag = cx.assumed(&format!("recipients.{}.country", r.id));
        uncertain |= flag.is_some();
        let line = line.t(cx.country(code)).flag(flag);
        let line = if list_of.in_eea(code) {
            line.t(lang.pick(
                ", dans l'Espace économique européen (EEE) : pas de transfert hors de l'EEE.",
                ", inside the European Economic Area (EEA): no transfer outside the EEA.",
            ))
        } else {
            outside += 1;
            match list_of.adequacy(code) {
                Some(a) if !a.partial => {
                    let decision = &a.decision;
                    let scope = match (&a.scope, lang) {
                        (Some(_), Lang::Fr) => " (dans les limites de cette décision)".to_string(),
                        (Some(s), Lang::En) => format!(" (covering {s})"),
                        (None, _) => String::new(),
                    };
                    line.t(tr!(
                        lang,
                        ", hors de l'EEE : transfert couvert par la décision d'adéquation {decision}{scope}.",
                        ", outside the EEA: transfer covered by adequacy decision {decision}{scope}."
                    ))
                }
                Some(a) => {
                    let decision = &a.decision;
                    let scope = match (&a.scope, lang) {
                        (Some(s), Lang::En) => s.clone(),
                        _ => lang.pick("certaines organisations seulement", "only some organisations").into(),
                    };
                    line.t(tr!(
                        lang,
                        ", hors de l'EEE : la décision d'adéquation {decision} ne couvre que {scope} ; nos données ne lui sont communiquées que s'il en relève ou sous des garanties appropriées signées avec lui.",
                        ", outside the EEA: adequacy decision {decision} covers {scope}; our data is disclosed to it only if it is so covered, or under appropriate safeguards signed with it."
                    ))
                }
                None => line.t(lang.pick(
                    ", hors de l'EEE, sans décision d'adéquation : nos données ne lui sont communiquées que sous des garanties appropriées signées avec lui (clauses contractuelles types ou règles d'entreprise contraignantes).",
                    ", outside the EEA, with no adequacy decision: our data is disclosed to it only under appropriate safeguards signed with it (standard contractual clauses or binding corporate rules).",
                )),
            }
        };
        items.push(line);
    }
    if !items.is_empty() {
        blocks.push(
            Line::default()
                .t(lang.pick("Où se trouvent nos destinataires externes :", "Where our external recipients are:"))
                .para(),
        );
        blocks.push(list(items));
        if outside == 0 {
            let mut line = Line::default().t(lang.pick(
                "À ce jour, aucun de nos destinataires externes n'est situé hors de l'EEE",
                "As of today, none of our external recipients is outside the EEA",
            ));
            if uncertain {
                line = line.t(lang.pick(
                    ", sous réserve des pays encore à confirmer",
                    ", subject to the countries still to be confirmed",
                ));
            }
            blocks.push(line.t(".").para());
        }
    }
    blocks.push(
        Line::default()
            .t(lang.pick(
                "Liste des pays de l'EEE et des décisions d'adéquation à jour au ",
                "List of EEA countries and adequacy decisions as of ",
            ))
            .span(cx.date(list_of.as_of))
            .t(".")
            .para(),
    );
    Section {
        id: "transfers",
        title: lang.pick("Transferts hors de l'Union européenne", "Transfers outside the European Union").into(),
        blocks,
    }
}

/// Who may still read an archived record for a purpose that survives the contract.
pub(super) fn archived_readers(cx: &Ctx<'_>, purpose: &Purpose) -> Vec<String> {
    purpose
        .archived_readers
        .iter()
        .map(|r| match cx.p.recipient(r) {
            _ if r == "dpo" => {
                cx.lang.pick("notre délégué à la protection des données", "our data protection officer").into()
            }
            Some(rec) => cx.lang.of(&rec.name).to_string(),
            None => r.clone(),
        })
        .collect()
}

pub(super) fn retention_section(cx: &Ctx<'_>) -> Section {
    let (p, lang) = (cx.p, cx.lang);
    let client = years(lang, p.retention.client.years);
    let prospect = years(lang, p.retention.prospect.years);
    let mut blocks = vec![
        Line::default()
            .t(lang.pick(
                "Nous ne conservons vos données que pour une durée limitée, fixée au regard de nos obligations légales et contractuelles :",
                "We keep your data for a limited time only, set in the light of our legal and contractual obligations:",
            ))
            .para(),
        list(vec![
            Line::default()
                .b(lang.pick("si vous êtes client", "if you are a client"))
                .t(lang.pick(
                    " : pendant toute la durée de notre relation contractuelle, puis ",
                    ": for as long as our contractual relationship lasts, then ",
                ))
                .t(client)
                .flag(cx.assumed("retention.client.years"))
                .t(lang.pick(" après la fin de votre dernier contrat ;", " after your last contract ends;"))
                .flag(cx.assumed("retention.client.basis")),
            Line::default()
                .b(lang.pick("si vous êtes prospect", "if you are a prospect"))
                .t(lang.pick(" : ", ": "))
                .t(prospect.clone())
                .flag(cx.assumed("retention.prospect.years"))
                .t(tr!(
                    lang,
                    " à compter du dernier contact venu de vous (nos propres sollicitations ne prolongent pas ce délai) ; si vous ne nous avez jamais contactés, {prospect} à compter de la collecte de vos données.",
                    " from the last contact you initiated (our own approaches do not extend it); if you have never contacted us, {prospect} from when your data was collected."
                ))
                .flag(cx.assumed("retention.prospect.basis")),
        ]),
    ];
    for purpose in p.purposes.iter().filter(|x| x.survives_contract) {
        let readers = archived_readers(cx, purpose);
        if readers.is_empty() {
            continue;
        }
        let readers = join(lang, &readers);
        let name = cx.quote(lang.of(&purpose.name));
        blocks.push(
            Line::default()
                .t(tr!(
                    lang,
                    "Une fois votre dernier contrat terminé, votre dossier est archivé : il ne peut plus être consulté que pour {name}, et seulement par : {readers}.",
                    "Once your last contract has ended, your record is archived: it may then be consulted only for {name}, and only by: {readers}."
                ))
                .para(),
        );
    }
    blocks.push(
        Line::default()
            .t(lang.pick(
                "À l'échéance, vos données sont effacées définitivement.",
                "When the period ends, your data is erased for good.",
            ))
            .para(),
    );
    Section {
        id: "retention",
        title: lang.pick("Combien de temps nous conservons vos données", "How long we keep your data").into(),
        blocks,
    }
}

pub(super) fn rights_section(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let objection = cx.purposes_on(LegalBasis::LegitimateInterest);
    let objection = if objection.is_empty() {
        String::new()
    } else {
        format!("{}{}", lang.pick(", à savoir ", ", namely "), join(lang, &objection))
    };
    let consent = cx.purposes_on(LegalBasis::Consent);
    let consent = if consent.is_empty() {
        String::new()
    } else {
        format!("{}{}", lang.pick(", à savoir ", ", namely "), join(lang, &consent))
    };
    let item = |name: &str, text: String| Line::default().b(name).t(text);
    let items = vec![
        item(
            lang.pick("accès et copie", "access and copy"),
            lang.pick(
                " : savoir si nous traitons des données vous concernant, y accéder et en recevoir une copie ;",
                ": to know whether we process data about you, to see it and to receive a copy;"
            ).to_string(),
        ),
        item(
            lang.pick("rectification", "rectification"),
            lang.pick(
                " : faire corriger les données inexactes ou périmées ; nous transmettons la correction aux destinataires qui les ont reçues ;",
                ": to have inaccurate or out-of-date data corrected; we pass the correction on to the recipients who received it;"
            ).to_string(),
        ),
        item(
            lang.pick("effacement", "erasure"),
            lang.pick(
                " : obtenir la suppression de vos données, en particulier lorsque vous vous êtes opposé à leur utilisation pour la prospection commerciale ; si la loi nous oblige à en garder une partie, celle-ci est archivée et nous vous disons laquelle et pourquoi ;",
                ": to have your data deleted, in particular once you have objected to its use for direct marketing; if the law requires us to keep part of it, that part is archived and we tell you which and why;"
            ).to_string(),
        ),
        item(
            lang.pick("portabilité", "portability"),
            lang.pick(
                " : recevoir, dans un format structuré et lisible par machine, les données que vous nous avez vous-même fournies, lorsque leur traitement repose sur un contrat ou sur votre consentement ;",
                ": to receive, in a structured, machine-readable format, the data you provided to us yourself, where its processing rests on a contract or on your consent;"
            ).to_string(),
        ),
        item(
            lang.pick("opposition", "objection"),
            tr!(
                lang,
                " : vous opposer à tout moment aux utilisations fondées sur notre intérêt légitime{objection} ; votre opposition prend effet immédiatement, et celle à la prospection met fin à toute prospection ;",
                ": to object at any time to the uses based on our legitimate interest{objection}; your objection takes effect at once, and objecting to prospecting ends all prospecting;"
            ),
        ),
        item(
            lang.pick("retrait du consentement", "withdrawal of consent"),
            tr!(
                lang,
                " : retirer à tout moment, aussi simplement que vous l'avez donné, le consentement sur lequel reposent certaines utilisations{consent} ; le retrait ne remet pas en cause ce qui a été fait auparavant.",
                ": to withdraw at any time, as easily as you gave it, the consent on which some uses rest{consent}; withdrawal does not affect what was done before."
            ),
        ),
    ];
    Section {
        id: "rights",
        title: lang.pick("Vos droits", "Your rights").into(),
        blocks: vec![
            Line::default()
                .t(lang.pick(
                    "Vous disposez des droits suivants sur vos données :",
                    "You have the following rights over your data:",
                ))
                .para(),
            list(items),
        ],
    }
}

pub(super) fn exercise_section(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    Section {
        id: "exercise",
        title: lang.pick("Comment exercer vos droits", "How to exercise your rights").into(),
        blocks: vec![
            Line::default()
                .t(lang.pick(
                    "Adressez votre demande par écrit à notre délégué à la protection des données :",
                    "Send your request in writing to our data protection officer:",
                ))
                .para(),
            list(dpo_contact(cx)),
            Line::default()
                .t(lang.pick(
                    "La demande doit venir de vous-même, et non d'un tiers, et être accompagnée d'un justificatif d'identité, qui ne sert qu'à vérifier que vous êtes bien la personne concernée.",
                    "The request must come from you yourself, not from someone else, and be accompanied by a proof of identity, which is used only to check that you are the person concerned.",
                ))
                .para(),
            Line::default()
                .t(lang.pick(
                    "Nous vous répondons dans un délai d'un mois à compter de la réception de votre demande. Si elle est complexe ou si nous recevons de nombreuses demandes, ce délai peut être prolongé de deux mois ; nous vous en informons alors avant la fin du premier mois, en vous expliquant pourquoi.",
                    "We answer within one month of receiving your request. If it is complex or we receive many requests, this time may be extended by two months; we then tell you so before the first month is over, with the reasons.",
                ))
                .para(),
        ],
    }
}

pub(super) fn security_section(cx: &Ctx<'_>) -> Section {
    let (p, lang) = (cx.p, cx.lang);
    let foreign = p.language != lang.code();
    let mut intro = Line::default().t(lang.pick(
        "Nous appliquons des mesures techniques et organisationnelles adaptées pour empêcher que vos données soient détruites, perdues, altérées ou divulguées sans autorisation, notamment",
        "We apply appropriate technical and organisational measures to prevent your data from being destroyed, lost, altered or disclosed without authorisation, including",
    ));
    if foreign {
        intro = intro.t(match (lang, p.language.as_str()) {
            (Lang::En, "fr") => " (as our policy states them, in French)",
            (Lang::Fr, "en") => " (telles que notre politique les énonce, en anglais)",
            _ => "",
        });
    }
    let items = p
        .security_measures
        .iter()
        .filter(|m| !m.trim().is_empty())
        .map(|m| vec![Span::Text(m.trim().into())])
        .collect();
    Section {
        id: "security",
        title: lang.pick("Sécurité de vos données", "Security of your data").into(),
        blocks: vec![
            intro.t(lang.pick(" :", ":")).para(),
            Block::List { items, lang: foreign.then(|| p.language.clone()) },
        ],
    }
}

pub(super) fn breaches_section(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let authority = cx.p.authority.name.as_str();
    Section {
        id: "breaches",
        title: lang.pick("Violations de données", "Personal data breaches").into(),
        blocks: vec![
            Line::default()
                .t(tr!(
                    lang,
                    "Si une violation touche des données personnelles, nous la notifions, dans les conditions prévues par le RGPD et en principe dans les 72 heures après en avoir pris connaissance, à l'autorité de contrôle : {authority}.",
                    "If a breach affects personal data, we notify it, as the GDPR provides and as a rule within 72 hours of becoming aware of it, to the supervisory authority: {authority}."
                ))
                .flag(cx.assumed("authority.name"))
                .para(),
            Line::default()
                .t(lang.pick(
                    "Si la violation présente un risque élevé pour vous, nous vous prévenons directement et vous donnons les informations et les recommandations utiles pour vous protéger.",
                    "If the breach puts you at high risk, we tell you directly and give you the information and recommendations you need to protect yourself.",
                ))
                .para(),
        ],
    }
}

/// The suppression list: what it holds, why, for how long, and how to be taken off it.
pub(super) fn suppression_section(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let (fr, en) = crate::governance::register::years_words(cx.p.retention.suppression_years);
    let years = match lang {
        Lang::Fr => fr,
        Lang::En => en,
    };
    Section {
        id: "suppression",
        title: lang.pick("Si vous vous opposez à la prospection", "If you object to prospecting").into(),
        blocks: vec![
            Line::default()
                .t(lang.pick(
                    "Si vous vous opposez à la prospection commerciale, nous cessons aussitôt de vous prospecter. Pour ne pas vous prospecter à nouveau, même après avoir effacé vos données, nous gardons sur une liste d'opposition une empreinte (calculée avec une clé secrète) de votre adresse électronique et de votre numéro de téléphone, jamais ces données elles-mêmes. Cette liste sert seulement à refuser de vous enregistrer à nouveau comme prospect ; elle ne nous empêche pas de vous servir si vous devenez client.",
                    "If you object to commercial prospecting, we stop prospecting you at once. So as not to prospect you again, even after erasing your data, we keep on a suppression list a keyed hash (computed with a secret key) of your email address and phone number, never the data itself. The list serves only to refuse to record you again as a prospect; it does not stop us from serving you if you become a client.",
                ))
                .para(),
            Line::default()
                .t(tr!(
                    lang,
                    "Cette empreinte est conservée {years} après votre opposition. Vous pouvez demander à tout moment qu'elle soit retirée de la liste, en écrivant à notre délégué à la protection des données ; nous pourrons alors vous prospecter de nouveau.",
                    "This hash is kept {years} after your objection. You may ask at any time for it to be taken off the list by writing to our data protection officer; we may then prospect you again."
                ))
                .para(),
        ],
    }
}

pub(super) fn register_section(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let authority = cx.p.authority.name.as_str();
    Section {
        id: "register",
        title: lang.pick("Registre des activités de traitement", "Record of processing activities").into(),
        blocks: vec![
            Line::default()
                .t(tr!(
                    lang,
                    "Lorsque la réglementation l'exige, nous tenons à jour le registre de nos activités de traitement (article 30 du RGPD) et le tenons à la disposition de l'autorité de contrôle : {authority}.",
                    "Where the regulation requires it, we keep our record of processing activities (Article 30 GDPR) up to date and available to the supervisory authority: {authority}."
                ))
                .para(),
        ],
    }
}

pub(super) fn complaint_section(cx: &Ctx<'_>) -> Section {
    let (a, lang) = (&cx.p.authority, cx.lang);
    Section {
        id: "complaint",
        title: lang
            .pick("Réclamation auprès de l'autorité de contrôle", "Complaints to the supervisory authority")
            .into(),
        blocks: vec![
            Line::default()
                .t(lang.pick(
                    "Si vous estimez que vos droits ne sont pas respectés, vous pouvez adresser une réclamation à l'autorité de contrôle, ",
                    "If you believe your rights are not respected, you may lodge a complaint with the supervisory authority, ",
                ))
                .b(&a.name)
                .flag(cx.assumed("authority.name"))
                .t(lang.pick(" :", ":"))
                .para(),
            list(vec![
                Line::default()
                    .t(lang.pick("par courrier : ", "by post: "))
                    .t(&a.complaint_address)
                    .flag(cx.assumed("authority.complaint_address")),
                Line::default()
                    .t(lang.pick("par téléphone : ", "by phone: "))
                    .t(&a.phone)
                    .flag(cx.assumed("authority.phone")),
            ]),
        ],
    }
}

pub(super) fn revisions_section(cx: &Ctx<'_>) -> Section {
    let (p, lang) = (cx.p, cx.lang);
    let version = p.version.as_str();
    let mut blocks = vec![
        Line::default()
            .t(lang.pick(
                "Nous pouvons modifier notre politique, notamment pour suivre l'évolution de la réglementation ou les recommandations de l'autorité de contrôle. Toute nouvelle version vous est notifiée avant son entrée en vigueur.",
                "We may change our policy, in particular to follow changes in the law or the supervisory authority's recommendations. Any new version is notified to you before it takes effect.",
            ))
            .para(),
        Line::default()
            .t(tr!(
                lang,
                "Cette notice correspond à la version {version} de notre politique, applicable à compter du ",
                "This notice reflects version {version} of our policy, effective from "
            ))
            .span(cx.date(p.effective_date))
            .t(".")
            .para(),
    ];
    // Every section above is built by now: the legend is shown when something was flagged.
    if cx.flagged.get() {
        blocks.push(
            Line::default()
                .t(lang.pick(
                    "Les mentions « à confirmer » signalent des informations que notre politique retient à titre provisoire et qui restent à vérifier ; « à compléter », une information qu'elle ne donne pas encore.",
                    "“To be confirmed” marks information our policy holds provisionally and has yet to check; “to be completed”, information it does not give yet.",
                ))
                .para(),
        );
    }
    Section {
        id: "revisions",
        title: lang.pick("Évolution de notre politique", "Changes to our policy").into(),
        blocks,
    }
}
