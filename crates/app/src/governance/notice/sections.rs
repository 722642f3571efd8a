//! The notice's model, section by section, from the policy and the transfer list.

use super::*;
use vigie_domain::policy::IdentityCheck;

/// The notice in one language.
pub fn build(p: &Policy, transfers: &TransferList, lang: Lang) -> Notice {
    let cx = Ctx { p, transfers, t: Tr(lang), flagged: Cell::new(false) };
    let lead = vec![cx.para(
        "notice.lead",
        &[("controller", text(&p.controller.name)), ("version", text(&p.version)), ("date", cx.date(p.effective_date))],
    )];
    let mut sections = vec![
        controller_section(&cx),
        dpo_section(&cx),
        purposes_section(&cx),
        objection_section(&cx),
        source_section(&cx),
        provision_section(&cx),
        recipients_section(&cx),
        transfers_section(&cx),
        retention_section(&cx),
        automated_section(&cx),
    ];
    // The rights refer to the section on objection by its title.
    let objection_title = sections[3].title.clone();
    sections.extend([
        rights_section(&cx, &objection_title),
        exercise_section(&cx),
        security_section(&cx),
        breaches_section(&cx),
        register_section(&cx),
        complaint_section(&cx),
    ]);
    // Last: its legend depends on whether any section above flagged something.
    sections.push(revisions_section(&cx));
    Notice { title: cx.t.t("notice.title").into(), subtitle: p.controller.name.clone(), lead, sections }
}

fn section(cx: &Ctx<'_>, id: &'static str, blocks: Vec<Block>) -> Section {
    Section { id, title: cx.t.t(&format!("notice.{id}.title")).into(), blocks, apart: false }
}

pub(super) fn controller_section(cx: &Ctx<'_>) -> Section {
    let p = cx.p;
    let name = cx
        .para("notice.controller.is", &[("name", flagged(strong(&p.controller.name), cx.assumed("controller.name")))]);
    let address = match &p.controller.address {
        Some(a) => {
            cx.para("notice.controller.address", &[("address", flagged(text(a), cx.assumed("controller.address")))])
        }
        None => cx.para("notice.controller.no_address", &[("missing", cx.missing())]),
    };
    section(cx, "controller", vec![name, address])
}

/// The DPO's email (as a link) and postal address.
pub(super) fn dpo_contact(cx: &Ctx<'_>) -> Block {
    let d = &cx.p.dpo;
    let link = vec![Span::Link { text: d.email.clone(), href: format!("mailto:{}", d.email) }];
    list(vec![
        cx.s("notice.dpo.by_email", &[("email", flagged(link, cx.assumed("dpo.email")))]),
        cx.s(
            "notice.dpo.by_post",
            &[("address", flagged(text(format!("{}, {}", d.name, d.address)), cx.assumed("dpo.address")))],
        ),
    ])
}

pub(super) fn dpo_section(cx: &Ctx<'_>) -> Section {
    let intro = cx.para("notice.dpo.intro", &[("name", flagged(strong(&cx.p.dpo.name), cx.assumed("dpo.name")))]);
    section(cx, "dpo", vec![intro, dpo_contact(cx)])
}

pub(super) fn purposes_section(cx: &Ctx<'_>) -> Section {
    let (p, t) = (cx.p, cx.t);
    let mut blocks = vec![cx.para("notice.purposes.intro", &[])];
    let rows = p
        .purposes
        .iter()
        .map(|purpose| {
            let id = &purpose.id;
            let basis_cell = |kind: SubjectKind| {
                let words =
                    purpose.bases.get(&kind).map_or(t.t("notice.purposes.not_applicable"), |b| basis_label(t, *b));
                Rich(flagged(text(words), cx.assumed(&format!("purposes.{id}.bases"))))
            };
            let categories = if purpose.aggregates_only {
                t.t("notice.purposes.aggregated").to_string()
            } else if purpose.data_categories.is_empty() {
                t.t("notice.purposes.no_data").to_string()
            } else {
                let names: Vec<&str> = purpose.data_categories.iter().map(|c| category_label(t, *c)).collect();
                names.join(", ")
            };
            vec![
                Rich(flagged(text(t.of(&purpose.name)), cx.assumed(&format!("purposes.{id}.name")))),
                basis_cell(SubjectKind::Client),
                basis_cell(SubjectKind::Prospect),
                Rich(flagged(text(categories), cx.assumed(&format!("purposes.{id}.data_categories")))),
            ]
        })
        .collect();
    blocks.push(Block::Table {
        caption: t.t("notice.purposes.caption").into(),
        head: ["head_purpose", "head_clients", "head_prospects", "head_data"]
            .iter()
            .map(|k| t.t(&format!("notice.purposes.{k}")).to_string())
            .collect(),
        rows,
    });
    for s in p.purposes.iter().filter(|s| s.aggregates_only) {
        blocks.push(cx.para(
            "notice.purposes.aggregates",
            &[("name", text(cx.name_of(s))), ("n", text(s.min_group_size.to_string()))],
        ));
    }
    // The legitimate interests pursued (Arts. 13(1)(d), 14(2)(b)), one per purpose resting on one.
    let interests: Vec<Rich> = p
        .purposes
        .iter()
        .filter(|x| x.rests_on_legitimate_interest())
        .map(|x| {
            let kinds: Vec<&str> = x
                .bases
                .iter()
                .filter(|(_, b)| **b == LegalBasis::LegitimateInterest)
                .map(|(k, _)| kind_plural(t, *k))
                .collect();
            let name = if kinds.len() == x.bases.len() {
                cx.name_of(x)
            } else {
                format!("{} ({})", cx.name_of(x), kinds.join(", "))
            };
            let path = format!("purposes.{}.interest", x.id);
            let interest = cx.stated(x.interest.as_ref(), &path).unwrap_or_else(|| cx.missing());
            cx.s("notice.purposes.interest", &[("purpose", strong(name)), ("interest", interest)])
        })
        .collect();
    if !interests.is_empty() {
        blocks.push(Block::Heading(t.t("notice.purposes.interests").into()));
        blocks.push(cx.para("notice.purposes.interests_intro", &[]));
        blocks.push(list(interests));
    }
    blocks.push(cx.para("notice.purposes.checked", &[]));
    section(cx, "purposes", blocks)
}

/// The right to object, apart from everything else (Art. 21(4)): to prospecting at any time
/// without reasons (21(2), (3)), to the uses resting on legitimate interest on grounds relating
/// to the person's situation (21(1)); how to object; the suppression list that keeps it.
pub(super) fn objection_section(cx: &Ctx<'_>) -> Section {
    let t = cx.t;
    let mut items = vec![cx.item("notice.objection.prospecting_name", "notice.objection.prospecting", &[])];
    let on_interest = cx.purposes_on(LegalBasis::LegitimateInterest);
    if !on_interest.is_empty() {
        items.push(cx.item(
            "notice.objection.interest_name",
            "notice.objection.interest",
            &[("namely", cx.namely(&on_interest))],
        ));
    }
    let years = years(t, cx.p.retention.suppression_years);
    let blocks = vec![
        cx.para("notice.objection.intro", &[]),
        list(items),
        cx.para("notice.objection.how", &[("form", form_link(cx))]),
        dpo_contact(cx),
        cx.para("notice.objection.effect", &[]),
        Block::Heading(t.t("notice.objection.list").into()),
        cx.para("notice.suppression.held", &[]),
        cx.para("notice.suppression.kept", &[("years", text(years))]),
    ];
    Section { apart: true, ..section(cx, "objection", blocks) }
}

/// The public rights form, as a link.
fn form_link(cx: &Ctx<'_>) -> Vec<Span> {
    vec![Span::Link { text: cx.t.t("notice.form").into(), href: format!("/rights?lang={}", cx.t.code()) }]
}

/// Where the data comes from (Art. 14(2)(f)).
pub(super) fn source_section(cx: &Ctx<'_>) -> Section {
    let info = &cx.p.information;
    let prospects = match cx.stated(info.prospect_source.as_ref(), "information.prospect_source") {
        Some(spans) => Block::Para(Rich(spans)),
        None => cx.para("notice.source.missing", &[("missing", cx.missing())]),
    };
    section(cx, "source", vec![cx.para("notice.source.yourself", &[]), prospects])
}

/// Whether providing the data is required, and what follows if it is not (Art. 13(2)(e)).
pub(super) fn provision_section(cx: &Ctx<'_>) -> Section {
    let block = match cx.stated(cx.p.information.provision.as_ref(), "information.provision") {
        Some(spans) => Block::Para(Rich(spans)),
        None => cx.para("notice.provision.missing", &[("missing", cx.missing())]),
    };
    section(cx, "provision", vec![block])
}

/// Automated decision-making, profiling included (Art. 13(2)(f), 14(2)(g)).
pub(super) fn automated_section(cx: &Ctx<'_>) -> Section {
    let block = match cx.stated(cx.p.information.automated_decisions.as_ref(), "information.automated_decisions") {
        Some(spans) => Block::Para(Rich(spans)),
        None => cx.para("notice.automated.missing", &[("missing", cx.missing())]),
    };
    section(cx, "automated", vec![block])
}

/// "for all the purposes above", or the purposes named.
pub(super) fn recipient_purposes(cx: &Ctx<'_>, r: &Recipient) -> String {
    if cx.p.purposes.iter().all(|p| r.purposes.contains(&p.id)) {
        cx.t.t("notice.recipients.all_purposes").into()
    } else {
        cx.purpose_names(&r.purposes)
    }
}

pub(super) fn recipients_section(cx: &Ctx<'_>) -> Section {
    let (p, t) = (cx.p, cx.t);
    let mut blocks = vec![cx.para("notice.recipients.internal", &[])];
    let internal: Vec<Rich> = p
        .internal_recipients()
        .map(|r| {
            let id = &r.id;
            cx.s(
                "notice.recipients.internal_item",
                &[
                    ("name", flagged(strong(t.of(&r.name)), cx.assumed(&format!("recipients.{id}.name")))),
                    (
                        "purposes",
                        flagged(text(recipient_purposes(cx, r)), cx.assumed(&format!("recipients.{id}.purposes"))),
                    ),
                ],
            )
        })
        .collect();
    blocks.push(list(internal));
    let external: Vec<Rich> = p
        .recipients
        .iter()
        .filter(|r| r.kind == RecipientKind::External)
        .map(|r| {
            let id = &r.id;
            let role = match &r.role {
                Some(role) => flagged(text(role_label(t, role)), cx.assumed(&format!("recipients.{id}.role"))),
                None => cx.missing(),
            };
            let country = match &r.country {
                Some(c) => flagged(text(cx.country(c)), cx.assumed(&format!("recipients.{id}.country"))),
                None => cx.missing(),
            };
            cx.s(
                "notice.recipients.external_item",
                &[
                    ("name", flagged(strong(t.of(&r.name)), cx.assumed(&format!("recipients.{id}.name")))),
                    ("role", role),
                    ("country", country),
                    (
                        "purposes",
                        flagged(text(recipient_purposes(cx, r)), cx.assumed(&format!("recipients.{id}.purposes"))),
                    ),
                ],
            )
        })
        .collect();
    if external.is_empty() {
        blocks.push(cx.para("notice.recipients.no_external", &[]));
    } else {
        blocks.push(cx.para("notice.recipients.external_intro", &[]));
        blocks.push(list(external));
    }
    section(cx, "recipients", blocks)
}

pub(super) fn transfers_section(cx: &Ctx<'_>) -> Section {
    let (p, t, list_of) = (cx.p, cx.t, cx.transfers);
    let mut blocks = vec![cx.para("notice.transfers.intro", &[])];
    let mut items = Vec::new();
    let mut outside = 0;
    let mut uncertain = false;
    for r in p.recipients.iter().filter(|r| r.kind == RecipientKind::External) {
        let name = strong(t.of(&r.name));
        let Some(code) = r.country.as_deref() else {
            items.push(cx.s("notice.transfers.no_country", &[("name", name), ("missing", cx.missing())]));
            uncertain = true;
            continue;
        };
        let flag = cx.assumed(&format!("recipients.{}.country", r.id));
        uncertain |= flag.is_some();
        let country = flagged(text(cx.country(code)), flag);
        let item = if list_of.in_eea(code) {
            cx.s("notice.transfers.eea", &[("name", name), ("country", country)])
        } else {
            outside += 1;
            match list_of.adequacy(code) {
                Some(a) if !a.partial => {
                    // The list states a decision's scope in English only.
                    let scope = match &a.scope {
                        Some(s) => t.f("notice.transfers.adequacy_scope", &[("scope", s)]),
                        None => String::new(),
                    };
                    cx.s(
                        "notice.transfers.adequacy",
                        &[
                            ("name", name),
                            ("country", country),
                            ("decision", text(&a.decision)),
                            ("scope", text(scope)),
                        ],
                    )
                }
                Some(a) => {
                    let scope = match (&a.scope, t.lang()) {
                        (Some(s), Lang::En) => s.clone(),
                        _ => t.t("notice.transfers.partial_scope").into(),
                    };
                    cx.s(
                        "notice.transfers.partial",
                        &[
                            ("name", name),
                            ("country", country),
                            ("decision", text(&a.decision)),
                            ("scope", text(scope)),
                        ],
                    )
                }
                None => cx.s("notice.transfers.no_adequacy", &[("name", name), ("country", country)]),
            }
        };
        items.push(item);
    }
    if !items.is_empty() {
        blocks.push(cx.para("notice.transfers.where", &[]));
        blocks.push(list(items));
        if outside == 0 {
            let unless = if uncertain { t.t("notice.transfers.unless") } else { "" };
            blocks.push(cx.para("notice.transfers.none_outside", &[("unless", text(unless))]));
        }
    }
    blocks.push(cx.para("notice.transfers.as_of", &[("date", cx.date(list_of.as_of))]));
    section(cx, "transfers", blocks)
}

/// Who may still read an archived record for a purpose that survives the contract.
pub(super) fn archived_readers(cx: &Ctx<'_>, purpose: &Purpose) -> Vec<String> {
    purpose
        .archived_readers
        .iter()
        .map(|r| match cx.p.recipient(r) {
            _ if r == "dpo" => cx.t.t("notice.retention.dpo").into(),
            Some(rec) => cx.t.of(&rec.name).to_string(),
            None => r.clone(),
        })
        .collect()
}

pub(super) fn retention_section(cx: &Ctx<'_>) -> Section {
    let (p, t) = (cx.p, cx.t);
    let client = years(t, p.retention.client.years);
    let prospect = years(t, p.retention.prospect.years);
    let mut blocks = vec![
        cx.para("notice.retention.intro", &[]),
        list(vec![
            cx.item(
                "notice.retention.client_who",
                "notice.retention.client",
                &[
                    ("years", flagged(text(client), cx.assumed("retention.client.years"))),
                    ("basis", flagged(Vec::new(), cx.assumed("retention.client.basis"))),
                ],
            ),
            cx.item(
                "notice.retention.prospect_who",
                "notice.retention.prospect",
                &[
                    ("years", flagged(text(prospect.clone()), cx.assumed("retention.prospect.years"))),
                    ("again", text(prospect)),
                    ("basis", flagged(Vec::new(), cx.assumed("retention.prospect.basis"))),
                ],
            ),
        ]),
    ];
    for purpose in p.purposes.iter().filter(|x| x.survives_contract) {
        let readers = archived_readers(cx, purpose);
        if readers.is_empty() {
            continue;
        }
        blocks.push(cx.para(
            "notice.retention.archived",
            &[("name", text(cx.name_of(purpose))), ("readers", text(cx.join(&readers)))],
        ));
    }
    blocks.push(cx.para("notice.retention.end", &[]));
    section(cx, "retention", blocks)
}

pub(super) fn rights_section(cx: &Ctx<'_>, objection_title: &str) -> Section {
    let consent = cx.purposes_on(LegalBasis::Consent);
    let right = |name: &str, args: &[(&str, Vec<Span>)]| {
        cx.item(&format!("notice.rights.{name}_name"), &format!("notice.rights.{name}"), args)
    };
    let items = vec![
        right("access", &[]),
        right("rectification", &[]),
        right("erasure", &[]),
        right("restriction", &[]),
        right("portability", &[]),
        right("objection", &[("section", text(cx.quote(objection_title)))]),
        right("consent", &[("namely", cx.namely(&consent))]),
    ];
    section(cx, "rights", vec![cx.para("notice.rights.intro", &[]), list(items)])
}

pub(super) fn exercise_section(cx: &Ctx<'_>) -> Section {
    let identity = match cx.p.identity_check {
        IdentityCheck::Document => "notice.exercise.document",
        IdentityCheck::OnDoubt => "notice.exercise.on_doubt",
    };
    section(
        cx,
        "exercise",
        vec![
            cx.para("notice.exercise.intro", &[("form", form_link(cx))]),
            dpo_contact(cx),
            cx.para(identity, &[]),
            cx.para("notice.exercise.delay", &[]),
        ],
    )
}

pub(super) fn security_section(cx: &Ctx<'_>) -> Section {
    let (p, t) = (cx.p, cx.t);
    // The measures are the policy's own words, in the policy's language.
    let foreign = p.language != t.code();
    let language = format!("language.{}", p.language);
    let as_stated = if foreign && vigie_ui::has(&language) {
        t.f("notice.security.as_stated", &[("language", t.t(&language))])
    } else {
        String::new()
    };
    let items = p.security_measures.iter().filter(|m| !m.trim().is_empty()).map(|m| Rich(text(m.trim()))).collect();
    section(
        cx,
        "security",
        vec![
            cx.para("notice.security.intro", &[("as_stated", text(as_stated))]),
            Block::List { items, lang: foreign.then(|| p.language.clone()) },
        ],
    )
}

pub(super) fn breaches_section(cx: &Ctx<'_>) -> Section {
    let authority = flagged(text(&cx.p.authority.name), cx.assumed("authority.name"));
    section(
        cx,
        "breaches",
        vec![
            cx.para("notice.breaches.authority", &[("authority", authority)]),
            cx.para("notice.breaches.high_risk", &[]),
        ],
    )
}

pub(super) fn register_section(cx: &Ctx<'_>) -> Section {
    section(cx, "register", vec![cx.para("notice.register.text", &[("authority", text(&cx.p.authority.name))])])
}

pub(super) fn complaint_section(cx: &Ctx<'_>) -> Section {
    let a = &cx.p.authority;
    section(
        cx,
        "complaint",
        vec![
            cx.para("notice.complaint.intro", &[("authority", flagged(strong(&a.name), cx.assumed("authority.name")))]),
            list(vec![
                cx.s(
                    "notice.complaint.by_post",
                    &[("address", flagged(text(&a.complaint_address), cx.assumed("authority.complaint_address")))],
                ),
                cx.s("notice.complaint.by_phone", &[("phone", flagged(text(&a.phone), cx.assumed("authority.phone")))]),
            ]),
        ],
    )
}

pub(super) fn revisions_section(cx: &Ctx<'_>) -> Section {
    let p = cx.p;
    let mut blocks = vec![
        cx.para("notice.revisions.may_change", &[]),
        cx.para("notice.revisions.version", &[("version", text(&p.version)), ("date", cx.date(p.effective_date))]),
    ];
    // Every section above is built by now: the legend is shown when something was flagged.
    if cx.flagged.get() {
        blocks.push(cx.para("notice.revisions.legend", &[]));
    }
    section(cx, "revisions", blocks)
}
