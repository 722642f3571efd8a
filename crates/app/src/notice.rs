//! The public privacy notice (SPEC 2, 4.8, 5.1, 5.4), generated from the
//! policy and the transfer list, so that what the company tells people and
//! what Vigie enforces cannot drift apart.
//!
//! One model of the document is built per language ([`Notice`]: sections of
//! paragraphs, lists and tables, each made of [`Span`]s); two renderers write
//! it out: Markdown-like text for `vigie notice`, and a self-contained HTML5
//! page for `GET /privacy`. Nothing here invents a fact: what the policy does
//! not state is shown as "to be completed", and every field the policy lists
//! under `assumptions` as "to be confirmed". Pure functions: no IO.

use chrono::{Datelike, NaiveDate};
use std::cell::Cell;
use std::fmt::{self, Write as _};
use vigie_domain::SubjectKind;
use vigie_domain::policy::{DataCategory, LegalBasis, Localized, Policy, Purpose, Recipient, RecipientKind};
use vigie_domain::transfers::TransferList;

/// The languages the notice is published in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    Fr,
    En,
}

/// A language code other than `fr` or `en`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}`: expected `fr` or `en`")]
pub struct UnknownLang(pub String);

impl std::str::FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Lang, UnknownLang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Ok(Lang::Fr),
            "en" => Ok(Lang::En),
            _ => Err(UnknownLang(s.chars().take(16).collect())),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    /// The BCP 47 code (`fr`, `en`), as used in `lang` attributes and `Content-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The other language of the notice.
    pub fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    fn pick(self, fr: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    fn of(self, text: &Localized) -> &str {
        match self {
            Lang::Fr => &text.fr,
            Lang::En => &text.en,
        }
    }
}

/// `format!` in the notice's language.
macro_rules! tr {
    ($lang:expr, $fr:literal, $en:literal $(,)?) => {
        match $lang {
            Lang::Fr => format!($fr),
            Lang::En => format!($en),
        }
    };
}

/// The notice as plain text (Markdown-like), for the command line.
pub fn render_text(policy: &Policy, transfers: &TransferList, lang: Lang) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_text(&build(policy, transfers, lang), &mut out);
    out
}

/// The notice as a complete, self-contained HTML5 page.
pub fn render_html(policy: &Policy, transfers: &TransferList, lang: Lang) -> String {
    let mut out = String::new();
    let _ = write_html(&build(policy, transfers, lang), &mut out);
    out
}

// ---- the model of the document ----

/// A piece of inline text.
#[derive(Debug)]
enum Span {
    Text(String),
    Strong(String),
    /// A fact the policy does not state, or only assumes.
    Flag(String),
    Link {
        text: String,
        href: String,
    },
    Time {
        date: NaiveDate,
        text: String,
    },
}

#[derive(Debug)]
enum Block {
    Para(Vec<Span>),
    /// A bulleted list; `lang` when its items are in another language than the page.
    List {
        items: Vec<Vec<Span>>,
        lang: Option<String>,
    },
    /// The first cell of each row heads that row.
    Table {
        caption: String,
        head: Vec<String>,
        rows: Vec<Vec<Vec<Span>>>,
    },
}

#[derive(Debug)]
struct Section {
    id: &'static str,
    title: String,
    blocks: Vec<Block>,
}

#[derive(Debug)]
struct Notice {
    lang: Lang,
    title: String,
    /// The controller's name, under the title.
    subtitle: String,
    lead: Vec<Block>,
    sections: Vec<Section>,
}

/// A run of spans, built fluently.
#[derive(Default)]
struct Line(Vec<Span>);

impl Line {
    fn t(mut self, s: impl Into<String>) -> Line {
        self.0.push(Span::Text(s.into()));
        self
    }
    fn b(mut self, s: impl Into<String>) -> Line {
        self.0.push(Span::Strong(s.into()));
        self
    }
    fn span(mut self, s: Span) -> Line {
        self.0.push(s);
        self
    }
    /// Appends a flag, after a space, when there is one.
    fn flag(self, f: Option<Span>) -> Line {
        match f {
            Some(f) => self.t(" ").span(f),
            None => self,
        }
    }
    fn para(self) -> Block {
        Block::Para(self.0)
    }
}

fn list(items: Vec<Line>) -> Block {
    Block::List { items: items.into_iter().map(|l| l.0).collect(), lang: None }
}

/// What the builder reads, and whether it has flagged anything.
struct Ctx<'a> {
    p: &'a Policy,
    transfers: &'a TransferList,
    lang: Lang,
    flagged: Cell<bool>,
}

impl Ctx<'_> {
    /// "to be confirmed", when the policy lists `path` among its assumptions.
    fn assumed(&self, path: &str) -> Option<Span> {
        self.p.assumptions.iter().any(|a| a == path).then(|| {
            self.flagged.set(true);
            Span::Flag(self.lang.pick("à confirmer", "to be confirmed").into())
        })
    }

    /// "to be completed", for a fact the policy does not state.
    fn missing(&self) -> Span {
        self.flagged.set(true);
        Span::Flag(self.lang.pick("à compléter", "to be completed").into())
    }

    fn date(&self, date: NaiveDate) -> Span {
        Span::Time { date, text: long_date(self.lang, date) }
    }

    fn quote(&self, s: &str) -> String {
        match self.lang {
            Lang::Fr => format!("« {s} »"),
            Lang::En => format!("“{s}”"),
        }
    }

    /// The quoted names of the purposes one of whose bases is `basis`,
    /// each followed by the subject kinds it applies to when not all.
    fn purposes_on(&self, basis: LegalBasis) -> Vec<String> {
        self.p
            .purposes
            .iter()
            .filter_map(|p| {
                let kinds: Vec<SubjectKind> = p.bases.iter().filter(|(_, b)| **b == basis).map(|(k, _)| *k).collect();
                if kinds.is_empty() {
                    None
                } else if kinds.len() == SubjectKind::ALL.len() {
                    Some(self.quote(self.lang.of(&p.name)))
                } else {
                    let kinds: Vec<&str> = kinds.iter().map(|k| kind_plural(self.lang, *k)).collect();
                    Some(format!("{} ({})", self.quote(self.lang.of(&p.name)), kinds.join(", ")))
                }
            })
            .collect()
    }

    fn purpose_names(&self, ids: &[String]) -> String {
        let names: Vec<String> = ids
            .iter()
            .map(|id| self.p.purpose(id).map_or_else(|| id.clone(), |p| self.quote(self.lang.of(&p.name))))
            .collect();
        join(self.lang, &names)
    }

    fn country(&self, code: &str) -> String {
        country_name(self.lang, code, self.transfers)
    }
}

fn build(p: &Policy, transfers: &TransferList, lang: Lang) -> Notice {
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

fn controller_section(cx: &Ctx<'_>) -> Section {
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
fn dpo_contact(cx: &Ctx<'_>) -> Vec<Line> {
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

fn dpo_section(cx: &Ctx<'_>) -> Section {
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

fn purposes_section(cx: &Ctx<'_>) -> Section {
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
fn recipient_purposes(cx: &Ctx<'_>, r: &Recipient) -> String {
    if cx.p.purposes.iter().all(|p| r.purposes.contains(&p.id)) {
        cx.lang.pick("toutes les finalités ci-dessus", "all the purposes above").into()
    } else {
        cx.purpose_names(&r.purposes)
    }
}

fn recipients_section(cx: &Ctx<'_>) -> Section {
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

fn transfers_section(cx: &Ctx<'_>) -> Section {
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
fn archived_readers(cx: &Ctx<'_>, purpose: &Purpose) -> Vec<String> {
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

fn retention_section(cx: &Ctx<'_>) -> Section {
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

fn rights_section(cx: &Ctx<'_>) -> Section {
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

fn exercise_section(cx: &Ctx<'_>) -> Section {
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

fn security_section(cx: &Ctx<'_>) -> Section {
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

fn breaches_section(cx: &Ctx<'_>) -> Section {
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

fn register_section(cx: &Ctx<'_>) -> Section {
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

fn complaint_section(cx: &Ctx<'_>) -> Section {
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

fn revisions_section(cx: &Ctx<'_>) -> Section {
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

// ---- vocabulary ----

fn basis_label(lang: Lang, b: LegalBasis) -> &'static str {
    match b {
        LegalBasis::Contract => lang.pick("exécution du contrat", "performance of the contract"),
        LegalBasis::Consent => lang.pick("consentement", "consent"),
        LegalBasis::LegitimateInterest => lang.pick("intérêt légitime", "legitimate interest"),
        LegalBasis::LegalObligation => lang.pick("obligation légale", "legal obligation"),
        LegalBasis::VitalInterests => lang.pick("intérêts vitaux", "vital interests"),
        LegalBasis::PublicTask => lang.pick("mission d'intérêt public", "public task"),
    }
}

fn category_label(lang: Lang, c: DataCategory) -> &'static str {
    match c {
        DataCategory::Identity => lang.pick("identité (civilité, nom, prénom)", "identity (title, name)"),
        DataCategory::Contact => lang.pick(
            "coordonnées (courriel, téléphone, adresse postale)",
            "contact details (email, phone, postal address)",
        ),
        DataCategory::Professional => {
            lang.pick("vie professionnelle (entreprise, fonction)", "professional details (company, job title)")
        }
        DataCategory::Notes => lang.pick("notes libres", "free-text notes"),
        DataCategory::Contract => lang.pick("contrats", "contracts"),
        DataCategory::Interactions => lang.pick("historique de nos échanges", "history of our exchanges"),
    }
}

fn role_label(lang: Lang, role: &str) -> String {
    match role {
        "service_provider" => lang.pick("prestataire de services", "service provider"),
        "processor" => {
            lang.pick("sous-traitant au sens du RGPD, agissant pour notre compte", "processor acting on our behalf")
        }
        "partner" => lang.pick("partenaire", "partner"),
        "controller" => lang.pick("responsable de traitement distinct", "separate controller"),
        "joint_controller" => lang.pick("responsable conjoint du traitement", "joint controller"),
        other => return other.replace('_', " "),
    }
    .into()
}

fn kind_plural(lang: Lang, k: SubjectKind) -> &'static str {
    match k {
        SubjectKind::Client => lang.pick("clients", "clients"),
        SubjectKind::Prospect => lang.pick("prospects", "prospects"),
    }
}

fn years(lang: Lang, n: u32) -> String {
    match (lang, n) {
        (Lang::Fr, 1) => "1 an".into(),
        (Lang::Fr, n) => format!("{n} ans"),
        (Lang::En, 1) => "1 year".into(),
        (Lang::En, n) => format!("{n} years"),
    }
}

fn long_date(lang: Lang, d: NaiveDate) -> String {
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let m = d.month0() as usize;
    match lang {
        Lang::Fr if d.day() == 1 => format!("1er {} {}", FR[m], d.year()),
        Lang::Fr => format!("{} {} {}", d.day(), FR[m], d.year()),
        Lang::En => format!("{} {} {}", d.day(), EN[m], d.year()),
    }
}

/// "a, b et c" / "a, b and c".
fn join(lang: Lang, items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}{}{last}", rest.join(", "), lang.pick(" et ", " and ")),
    }
}

/// The country's name and code, e.g. "France (FR)"; the code alone when unknown.
fn country_name(lang: Lang, code: &str, transfers: &TransferList) -> String {
    const NAMES: &[(&str, &str, &str)] = &[
        ("AT", "Autriche", "Austria"),
        ("BE", "Belgique", "Belgium"),
        ("BG", "Bulgarie", "Bulgaria"),
        ("HR", "Croatie", "Croatia"),
        ("CY", "Chypre", "Cyprus"),
        ("CZ", "Tchéquie", "Czechia"),
        ("DK", "Danemark", "Denmark"),
        ("EE", "Estonie", "Estonia"),
        ("FI", "Finlande", "Finland"),
        ("FR", "France", "France"),
        ("DE", "Allemagne", "Germany"),
        ("GR", "Grèce", "Greece"),
        ("HU", "Hongrie", "Hungary"),
        ("IE", "Irlande", "Ireland"),
        ("IT", "Italie", "Italy"),
        ("LV", "Lettonie", "Latvia"),
        ("LT", "Lituanie", "Lithuania"),
        ("LU", "Luxembourg", "Luxembourg"),
        ("MT", "Malte", "Malta"),
        ("NL", "Pays-Bas", "Netherlands"),
        ("PL", "Pologne", "Poland"),
        ("PT", "Portugal", "Portugal"),
        ("RO", "Roumanie", "Romania"),
        ("SK", "Slovaquie", "Slovakia"),
        ("SI", "Slovénie", "Slovenia"),
        ("ES", "Espagne", "Spain"),
        ("SE", "Suède", "Sweden"),
        ("IS", "Islande", "Iceland"),
        ("LI", "Liechtenstein", "Liechtenstein"),
        ("NO", "Norvège", "Norway"),
        ("AD", "Andorre", "Andorra"),
        ("AR", "Argentine", "Argentina"),
        ("CA", "Canada", "Canada"),
        ("FO", "Îles Féroé", "Faroe Islands"),
        ("GG", "Guernesey", "Guernsey"),
        ("IL", "Israël", "Israel"),
        ("IM", "Île de Man", "Isle of Man"),
        ("JP", "Japon", "Japan"),
        ("JE", "Jersey", "Jersey"),
        ("NZ", "Nouvelle-Zélande", "New Zealand"),
        ("KR", "République de Corée", "Republic of Korea"),
        ("CH", "Suisse", "Switzerland"),
        ("GB", "Royaume-Uni", "United Kingdom"),
        ("UY", "Uruguay", "Uruguay"),
        ("US", "États-Unis", "United States"),
        ("IN", "Inde", "India"),
        ("CN", "Chine", "China"),
        ("MA", "Maroc", "Morocco"),
        ("TN", "Tunisie", "Tunisia"),
        ("SG", "Singapour", "Singapore"),
        ("AU", "Australie", "Australia"),
        ("BR", "Brésil", "Brazil"),
    ];
    let known = NAMES.iter().find(|(c, _, _)| *c == code).map(|(_, fr, en)| lang.pick(fr, en).to_string());
    let name = known.or_else(|| match lang {
        Lang::En => transfers.adequacy(code).map(|a| a.name.clone()),
        Lang::Fr => None,
    });
    match name {
        Some(n) => format!("{n} ({code})"),
        None => code.to_string(),
    }
}

// ---- text ----

fn text_spans(spans: &[Span], out: &mut String) -> fmt::Result {
    for s in spans {
        match s {
            Span::Text(t) => out.push_str(t),
            Span::Strong(t) => write!(out, "**{t}**")?,
            Span::Flag(t) => write!(out, "[{t}]")?,
            Span::Link { text, href } if href.strip_prefix("mailto:") == Some(text.as_str()) => out.push_str(text),
            Span::Link { text, href } => write!(out, "{text} <{href}>")?,
            Span::Time { text, .. } => out.push_str(text),
        }
    }
    Ok(())
}

fn write_text(n: &Notice, out: &mut String) -> fmt::Result {
    writeln!(out, "# {}\n\n{}\n", n.title, n.subtitle)?;
    let blocks = |blocks: &[Block], out: &mut String| -> fmt::Result {
        for b in blocks {
            match b {
                Block::Para(spans) => {
                    text_spans(spans, out)?;
                    out.push_str("\n\n");
                }
                Block::List { items, .. } => {
                    for item in items {
                        out.push_str("- ");
                        text_spans(item, out)?;
                        out.push('\n');
                    }
                    out.push('\n');
                }
                Block::Table { caption, head, rows } => {
                    writeln!(out, "{caption}\n")?;
                    writeln!(out, "| {} |", head.join(" | "))?;
                    writeln!(out, "|{}", "---|".repeat(head.len()))?;
                    for row in rows {
                        out.push('|');
                        for cell in row {
                            let mut text = String::new();
                            text_spans(cell, &mut text)?;
                            write!(out, " {} |", text.replace('|', "\\|").replace('\n', " "))?;
                        }
                        out.push('\n');
                    }
                    out.push('\n');
                }
            }
        }
        Ok(())
    };
    blocks(&n.lead, out)?;
    for (i, s) in n.sections.iter().enumerate() {
        writeln!(out, "## {}. {}\n", i + 1, s.title)?;
        blocks(&s.blocks, out)?;
    }
    // One trailing newline, not two.
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(())
}

// ---- HTML ----

use crate::html::Esc;

fn html_spans(spans: &[Span], out: &mut String) -> fmt::Result {
    for s in spans {
        match s {
            Span::Text(t) => write!(out, "{}", Esc(t))?,
            Span::Strong(t) => write!(out, "<strong>{}</strong>", Esc(t))?,
            Span::Flag(t) => write!(out, "<em class=\"flag\">{}</em>", Esc(t))?,
            Span::Link { text, href } => write!(out, "<a href=\"{}\">{}</a>", Esc(href), Esc(text))?,
            Span::Time { date, text } => write!(out, "<time datetime=\"{date}\">{}</time>", Esc(text))?,
        }
    }
    Ok(())
}

const CSS: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;line-height:1.55;color:#1a1a1a;background:#fff;max-width:50rem;margin:0 auto;padding:1rem 1.25rem 3rem}\
h1{font-size:1.8rem;margin-bottom:.25rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}\
.controller{font-size:1.1rem;margin-top:0;color:#444}\
nav.lang{text-align:right}a{color:#0b4f9c}a:focus{outline:3px solid #f9a825;outline-offset:2px}\
table{border-collapse:collapse;width:100%;margin:1rem 0}caption{text-align:left;font-weight:600;padding-bottom:.4rem}\
th,td{border:1px solid #bbb;padding:.4rem .55rem;text-align:left;vertical-align:top}thead th{background:#eef2f7}\
.flag{font-style:normal;font-weight:600;background:#fff1c2;color:#5c4400;padding:0 .25rem;border-radius:3px}\
footer{margin-top:3rem;font-size:.9rem;color:#444}";

fn write_html(n: &Notice, out: &mut String) -> fmt::Result {
    let lang = n.lang;
    let other = lang.other();
    writeln!(out, "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>", lang.code())?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    writeln!(out, "<title>{} — {}</title>", Esc(&n.title), Esc(&n.subtitle))?;
    writeln!(out, "<link rel=\"alternate\" hreflang=\"{0}\" href=\"?lang={0}\">", other.code())?;
    writeln!(out, "<style>{CSS}</style>\n</head>\n<body>")?;
    let (nav_label, other_label) = match lang {
        Lang::Fr => ("Langue", "English version"),
        Lang::En => ("Language", "Version française"),
    };
    writeln!(
        out,
        "<header>\n<nav class=\"lang\" aria-label=\"{nav_label}\"><a href=\"?lang={0}\" hreflang=\"{0}\" lang=\"{0}\">{other_label}</a></nav>",
        other.code()
    )?;
    writeln!(out, "<h1>{}</h1>\n<p class=\"controller\">{}</p>\n</header>\n<main>", Esc(&n.title), Esc(&n.subtitle))?;
    html_blocks(&n.lead, out)?;
    writeln!(out, "<nav aria-labelledby=\"toc\">\n<h2 id=\"toc\">{}</h2>\n<ol>", lang.pick("Sommaire", "Contents"))?;
    for s in &n.sections {
        writeln!(out, "<li><a href=\"#{}\">{}</a></li>", s.id, Esc(&s.title))?;
    }
    writeln!(out, "</ol>\n</nav>")?;
    for (i, s) in n.sections.iter().enumerate() {
        writeln!(out, "<section aria-labelledby=\"{0}\">\n<h2 id=\"{0}\">{1}. {2}</h2>", s.id, i + 1, Esc(&s.title))?;
        html_blocks(&s.blocks, out)?;
        writeln!(out, "</section>")?;
    }
    writeln!(out, "</main>\n<footer>")?;
    writeln!(
        out,
        "<p>{}</p>",
        lang.pick(
            "Notice générée à partir de notre politique de protection des données.",
            "Notice generated from our data protection policy."
        )
    )?;
    writeln!(out, "</footer>\n</body>\n</html>")
}

fn html_blocks(blocks: &[Block], out: &mut String) -> fmt::Result {
    for b in blocks {
        match b {
            Block::Para(spans) => {
                out.push_str("<p>");
                html_spans(spans, out)?;
                out.push_str("</p>\n");
            }
            Block::List { items, lang } => {
                match lang {
                    Some(l) => writeln!(out, "<ul lang=\"{}\">", Esc(l))?,
                    None => writeln!(out, "<ul>")?,
                }
                for item in items {
                    out.push_str("<li>");
                    html_spans(item, out)?;
                    out.push_str("</li>\n");
                }
                out.push_str("</ul>\n");
            }
            Block::Table { caption, head, rows } => {
                writeln!(out, "<table>\n<caption>{}</caption>\n<thead>\n<tr>", Esc(caption))?;
                for h in head {
                    writeln!(out, "<th scope=\"col\">{}</th>", Esc(h))?;
                }
                writeln!(out, "</tr>\n</thead>\n<tbody>")?;
                for row in rows {
                    out.push_str("<tr>");
                    for (i, cell) in row.iter().enumerate() {
                        out.push_str(if i == 0 { "<th scope=\"row\">" } else { "<td>" });
                        html_spans(cell, out)?;
                        out.push_str(if i == 0 { "</th>" } else { "</td>" });
                    }
                    out.push_str("</tr>\n");
                }
                writeln!(out, "</tbody>\n</table>")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_domain::policy::DEFAULT_POLICY;

    fn policy(text: &str) -> Policy {
        let checked = Policy::from_toml(text);
        let errors: Vec<String> = checked.errors().map(|d| d.to_string()).collect();
        match checked.policy {
            Some(p) => p,
            None => unreachable!("the test policy is invalid: {errors:?}"),
        }
    }

    fn default_policy() -> Policy {
        policy(DEFAULT_POLICY)
    }

    /// The page's text with the entities decoded, to look for facts in it.
    fn unescape(html: &str) -> String {
        html.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    #[test]
    fn snapshots_of_the_default_policy_notice() {
        let (p, t) = (default_policy(), TransferList::builtin());
        insta::assert_snapshot!("text_fr", render_text(&p, &t, Lang::Fr));
        insta::assert_snapshot!("text_en", render_text(&p, &t, Lang::En));
        insta::assert_snapshot!("html_fr", render_html(&p, &t, Lang::Fr));
        insta::assert_snapshot!("html_en", render_html(&p, &t, Lang::En));
    }

    #[test]
    fn every_fact_of_the_policy_appears_in_both_languages_and_formats() {
        let (p, t) = (default_policy(), TransferList::builtin());
        for lang in Lang::ALL {
            let text = render_text(&p, &t, lang);
            let html = unescape(&render_html(&p, &t, lang));
            let (years5, years3, date, pending, assumed) = match lang {
                Lang::Fr => ("5 ans", "3 ans", "1er janvier 2026", "à compléter", "à confirmer"),
                Lang::En => ("5 years", "3 years", "1 January 2026", "to be completed", "to be confirmed"),
            };
            let mut facts: Vec<String> = [
                "dpo-msi@racine.eu",
                "DPO MSI, Racine Avocats",
                "40 rue de Courcelles, 75008 Paris, France",
                "Micro et Services Informatiques (MSI)",
                "Commission nationale de l'informatique et des libertés (CNIL)",
                "3 place de Fontenoy",
                "TSA 80751, 75334 Paris Cedex 07",
                "01 53 73 22 22",
                "2026-1",
                years5,
                years3,
                date,
                pending,
                assumed,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            facts.extend(p.purposes.iter().map(|x| lang.of(&x.name).to_string()));
            facts.extend(p.recipients.iter().map(|r| lang.of(&r.name).to_string()));
            facts.extend(p.recipients.iter().filter_map(|r| r.country.as_ref()).map(|c| format!("({c})")));
            facts.extend(p.security_measures.iter().cloned());
            facts.extend(
                match lang {
                    Lang::Fr => ["un mois", "deux mois", "justificatif d'identité", "moins de 5 personnes"],
                    Lang::En => ["one month", "two months", "proof of identity", "fewer than 5 people"],
                }
                .iter()
                .map(|s| s.to_string()),
            );
            for fact in &facts {
                assert!(text.contains(fact.as_str()), "{lang} text lacks {fact:?}");
                assert!(html.contains(fact.as_str()), "{lang} HTML lacks {fact:?}");
            }
            // Each assumed country is marked, in the recipients and in the transfers.
            assert_eq!(text.matches(&format!("[{assumed}]")).count(), 2 * p.assumptions.len(), "{text}");
            // The controller's address is not invented.
            let address = match lang {
                Lang::Fr => "Adresse postale : [à compléter]",
                Lang::En => "Postal address: [to be completed]",
            };
            assert!(text.contains(address), "{text}");
        }
        let html = render_html(&p, &t, Lang::Fr);
        assert!(html.contains("<time datetime=\"2026-01-01\">1er janvier 2026</time>"));
        assert!(html.contains("<a href=\"mailto:dpo-msi@racine.eu\">dpo-msi@racine.eu</a>"));
    }

    #[test]
    fn the_notice_is_generated_from_the_policy() {
        let t = TransferList::builtin();
        let base = default_policy();
        let changed = policy(
            &DEFAULT_POLICY
                .replace("years = 5", "years = 7")
                .replace("years = 3", "years = 1")
                .replace("version = \"2026-1\"", "version = \"2027-2\"")
                .replace("effective_date = \"2026-01-01\"", "effective_date = \"2027-03-15\"")
                .replace(
                    "# address: not stated by the source policy, to be completed.",
                    "address = \"12 rue de l'Exemple, 69001 Lyon\"",
                ),
        );
        assert_ne!(render_text(&base, &t, Lang::Fr), render_text(&changed, &t, Lang::Fr));
        let fr = render_text(&changed, &t, Lang::Fr);
        assert!(fr.contains("puis 7 ans après") && !fr.contains("5 ans"), "{fr}");
        assert!(fr.contains("1 an à compter du dernier contact") && !fr.contains("3 ans"), "{fr}");
        assert!(fr.contains("version 2027-2") && fr.contains("15 mars 2027"), "{fr}");
        assert!(fr.contains("Adresse postale : 12 rue de l'Exemple, 69001 Lyon."), "{fr}");
        assert!(!fr.contains("à compléter]"), "{fr}");
        let en = render_text(&changed, &t, Lang::En);
        assert!(en.contains("then 7 years after") && en.contains("1 year from the last contact"), "{en}");
        assert!(en.contains("15 March 2027"), "{en}");
        // Without assumptions or missing facts, nothing is flagged and no legend is shown.
        let confirmed = policy(
            &DEFAULT_POLICY
                .replace("# address: not stated by the source policy, to be completed.", "address = \"Lyon\"")
                .replace("  \"recipients.accountant.country\",\n", "")
                .replace("  \"recipients.saas_erp.country\",\n", "")
                .replace("  \"recipients.subcontractor.country\",\n", ""),
        );
        assert!(confirmed.assumptions.is_empty());
        let en = render_text(&confirmed, &t, Lang::En);
        assert!(!en.contains("[to be confirmed]") && !en.contains("[to be completed]"), "{en}");
        assert!(!en.contains("marks information"), "no legend: {en}");
        assert!(en.contains("none of our external recipients is outside the EEA."), "{en}");
    }

    #[test]
    fn recipients_outside_the_eea_are_described_by_their_ground() {
        let t = TransferList::builtin();
        let p = policy(
            &DEFAULT_POLICY
                .replacen("country = \"FR\"", "country = \"JP\"", 1)
                .replacen("country = \"FR\"", "country = \"US\"", 1)
                .replacen("country = \"FR\"", "country = \"IN\"", 1),
        );
        let en = render_text(&p, &t, Lang::En);
        assert!(
            en.contains(
                "Japan (JP) [to be confirmed], outside the EEA: transfer covered by adequacy decision (EU) 2019/419."
            ),
            "{en}"
        );
        assert!(en.contains("United States (US) [to be confirmed], outside the EEA: adequacy decision (EU) 2023/1795 covers only organisations certified under the EU-US Data Privacy Framework"), "{en}");
        assert!(en.contains("India (IN) [to be confirmed], outside the EEA, with no adequacy decision"), "{en}");
        assert!(!en.contains("none of our external recipients is outside the EEA"), "{en}");
        let fr = render_text(&p, &t, Lang::Fr);
        assert!(fr.contains("Japon (JP) [à confirmer], hors de l'EEE : transfert couvert par la décision d'adéquation (EU) 2019/419."), "{fr}");
        assert!(fr.contains("Inde (IN) [à confirmer], hors de l'EEE, sans décision d'adéquation"), "{fr}");
    }

    #[test]
    fn html_is_a_complete_page_with_every_dynamic_string_escaped() {
        let t = TransferList::builtin();
        let p = policy(&DEFAULT_POLICY.replace(
            "name = \"Micro et Services Informatiques (MSI)\"",
            "name = \"A & B <script>alert('x')</script> \\\"Ltd\\\"\"",
        ));
        for lang in Lang::ALL {
            let html = render_html(&p, &t, lang);
            assert!(html.starts_with("<!DOCTYPE html>\n"), "{html}");
            assert!(html.contains(&format!("<html lang=\"{lang}\">")));
            assert!(html.contains(&format!("href=\"?lang={}\"", lang.other())));
            assert!(html.trim_end().ends_with("</html>"));
            assert!(!html.contains("<script>"), "{html}");
            assert!(html.contains("A &amp; B &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot;Ltd&quot;"));
            assert!(html.contains("<title>"));
            for tag in ["section", "table", "ul", "p", "li", "tr", "nav", "main", "header", "footer"] {
                let open = html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
                assert_eq!(open, html.matches(&format!("</{tag}>")).count(), "<{tag}> is balanced");
            }
            let sections = html.matches("<section ").count();
            assert_eq!(sections, 13);
            assert_eq!(html.matches("<h2 ").count(), sections + 1, "one heading per section, and the contents");
        }
        // The measures, written in French, are marked as such on the English page.
        let html = render_html(&p, &t, Lang::En);
        assert!(html.contains("<ul lang=\"fr\">"));
        assert!(!render_html(&p, &t, Lang::Fr).contains("<ul lang="));
    }

    #[test]
    fn languages_parse_with_a_clear_error() {
        assert_eq!("fr".parse::<Lang>(), Ok(Lang::Fr));
        assert_eq!(" EN ".parse::<Lang>(), Ok(Lang::En));
        let err = "de".parse::<Lang>().err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("unknown language `de`: expected `fr` or `en`"));
        assert!("".parse::<Lang>().is_err());
        assert_eq!(Lang::Fr.other(), Lang::En);
    }
}
