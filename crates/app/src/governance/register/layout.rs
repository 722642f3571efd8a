//! The human layout shared by the HTML and XLSX exports: a cover, then one sheet per activity
//! in the parts of the CNIL's model, as label and value rows in one language.

use super::*;
use vigie_ui::register::Row;

fn part(t: Tr, key: &str) -> Row {
    Row::Part(t.t(&format!("register.part.{key}")).into())
}

fn field(label: impl Into<String>, value: impl Into<String>) -> Row {
    Row::Field { label: label.into(), value: value.into() }
}

/// A field whose label is a sentence of the catalogues (`register.field.…`).
fn named(t: Tr, key: &str, value: impl Into<String>) -> Row {
    field(t.t(&format!("register.field.{key}")), value)
}

/// "label : value" (French), "label: value" (English).
pub(super) fn pair(t: Tr, label: &str, value: &str) -> String {
    t.f("register.pair", &[("label", label), ("value", value)])
}

pub(super) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(super) fn controller_address(t: Tr, reg: &Register) -> String {
    if reg.controller.address_stated { reg.controller.address.clone() } else { t.t("register.no_address").into() }
}

pub(super) fn recipient_words(t: Tr, r: &RecipientEntry) -> String {
    let name = r.name.get(t.lang());
    match &r.country {
        Some(c) if r.country_is_assumption => t.f("register.field.country_assumed", &[("name", name), ("country", c)]),
        Some(c) => t.f("register.field.country", &[("name", name), ("country", c)]),
        None => name.to_string(),
    }
}

/// A recipient's role as a row label: "Internal recipient", "External recipient: processor…".
pub(super) fn recipient_role(t: Tr, r: &RecipientEntry) -> String {
    let role = r.role_label.get(t.lang());
    match (r.kind, r.id.as_str()) {
        (RecipientKind::Internal, _) | (_, "authority") => role.to_string(),
        _ => t.f("register.field.external", &[("role", &role.to_lowercase())]),
    }
}

pub(super) fn reader(t: Tr, reg: &Register, a: &Activity, id: &str) -> String {
    if id == "dpo" {
        return t.f("register.field.dpo_reader", &[("name", &reg.dpo.name)]);
    }
    a.recipients.iter().find(|r| r.id == id).map_or_else(|| id.to_string(), |r| r.name.get(t.lang()).to_string())
}

pub(super) fn no_transfer(t: Tr, reg: &Register) -> String {
    t.f("register.field.no_transfer", &[("date", &reg.transfer_list_as_of.to_string())])
}

pub(super) fn aggregates(t: Tr, a: &Activity) -> String {
    t.f("register.field.aggregates", &[("n", &a.min_group_size.unwrap_or(0).to_string())])
}

pub(super) fn unit(t: Tr, u: CountUnit) -> String {
    t.t(&format!("register.unit.{}", u.as_str())).to_string()
}

/// The interest pursued, or "to be completed" where the purpose rests on one the policy does
/// not state.
pub(super) fn interest(t: Tr, a: &Activity) -> Option<String> {
    let on_interest = a.legal_bases.iter().any(|b| b.basis == LegalBasis::LegitimateInterest);
    match &a.interest {
        Some(i) => Some(i.get(t.lang()).to_string()),
        None if on_interest => Some(t.t("notice.missing").to_string()),
        None => None,
    }
}

/// The label-value rows of one activity, by the parts of the CNIL template.
pub(super) fn activity_rows(t: Tr, reg: &Register, a: &Activity) -> Vec<Row> {
    let lang = t.lang();
    let mut l = vec![
        part(t, "description"),
        named(t, "name", a.name.get(lang)),
        named(t, "name_other", a.name.get(lang.other())),
        named(t, "reference", &a.id),
        named(t, "origin", t.t(&format!("register.origin.{}", origin(a.origin)))),
        named(t, "created", a.created_on.to_string()),
        named(t, "updated", a.updated_on.to_string()),
        named(t, "policy_version", &reg.policy_version),
        named(t, "policy_since", reg.policy_effective_date.to_string()),
        named(t, "generated", when(reg.generated_at)),
        part(t, "actors"),
        named(t, "controller", &reg.controller.name),
        named(t, "controller_address", controller_address(t, reg)),
        named(t, "dpo", &reg.dpo.name),
        named(t, "dpo_email", &reg.dpo.email),
        named(t, "dpo_address", &reg.dpo.address),
        part(t, "purposes"),
        named(t, "main_purpose", a.name.get(lang)),
    ];
    if a.aggregates_only {
        l.push(named(t, "modality", aggregates(t, a)));
    }
    l.push(part(t, "basis"));
    for b in &a.legal_bases {
        l.push(field(b.applies_to.get(lang), b.label.get(lang)));
    }
    if let Some(i) = interest(t, a) {
        l.push(named(t, "interest", i));
    }
    if !a.compatibility_assessments.is_empty() {
        l.push(part(t, "assessments"));
        for x in &a.compatibility_assessments {
            l.push(field(x.label.get(lang), x.conclusion.get(lang)));
        }
    }
    l.push(part(t, "persons"));
    for c in &a.subject_categories {
        l.push(field(c.label.get(lang), c.description.get(lang)));
    }
    l.push(part(t, "data"));
    if a.data_categories.is_empty() {
        l.push(named(t, "no_individual_data", t.t("register.field.counts_only")));
    }
    for c in &a.data_categories {
        l.push(field(c.label.get(lang), c.detail.get(lang)));
    }
    l.push(part(t, "recipients"));
    for r in &a.recipients {
        l.push(field(recipient_role(t, r), recipient_words(t, r)));
    }
    l.push(part(t, "transfers"));
    if a.transfers.is_empty() {
        l.push(named(t, "no_transfer_label", no_transfer(t, reg)));
    }
    for x in &a.transfers {
        l.push(field(x.recipient.get(lang), x.label.get(lang)));
    }
    l.push(part(t, "retention"));
    for r in &a.retention {
        l.push(field(r.applies_to.get(lang), r.label.get(lang)));
    }
    if a.survives_contract && !a.archived_readers.is_empty() {
        let readers: Vec<String> = a.archived_readers.iter().map(|id| reader(t, reg, a, id)).collect();
        l.push(named(t, "archive", t.f("register.field.archived", &[("readers", &readers.join(", "))])));
    }
    l.push(part(t, "security"));
    for (i, m) in a.security_measures.iter().enumerate() {
        l.push(field(t.f("register.field.measure", &[("n", &(i + 1).to_string())]), m));
    }
    l.push(part(t, "volumes"));
    for c in &a.counts.subjects {
        let kind = kind_label(c.kind);
        l.push(Row::Count { label: t.f("register.field.current", &[("kind", kind.get(lang))]), value: c.count });
    }
    l.push(Row::Count { label: unit(t, a.counts.unit), value: a.counts.total });
    for d in &a.counts.details {
        l.push(Row::Count { label: unit(t, d.unit), value: d.count });
    }
    l
}

pub(super) fn origin(o: ActivityOrigin) -> &'static str {
    match o {
        ActivityOrigin::Policy => "policy",
        ActivityOrigin::Vigie => "vigie",
    }
}

/// The rows of the cover: controller, DPO, policy, volumes (the table of contents, erasures and
/// assumptions follow them).
pub(super) fn cover_rows(t: Tr, reg: &Register) -> Vec<Row> {
    let mut l = vec![
        part(t, "controller"),
        named(t, "cover_name", &reg.controller.name),
        named(t, "cover_address", controller_address(t, reg)),
        part(t, "dpo"),
        named(t, "cover_name", &reg.dpo.name),
        named(t, "cover_email", &reg.dpo.email),
        named(t, "cover_address", &reg.dpo.address),
        part(t, "policy"),
        named(t, "version", &reg.policy_version),
        named(t, "since", reg.policy_effective_date.to_string()),
        named(t, "register_generated", when(reg.generated_at)),
        named(t, "adequacy_list", reg.transfer_list_as_of.to_string()),
        part(t, "volumes"),
    ];
    for c in &reg.totals.subjects {
        let kind = kind_label(c.kind);
        l.push(Row::Count { label: t.f("register.field.current", &[("kind", kind.get(t.lang()))]), value: c.count });
    }
    l.push(Row::Count { label: unit(t, CountUnit::Persons), value: reg.totals.total_subjects });
    l.push(Row::Count { label: t.t("register.field.erased_total").into(), value: reg.totals.erased_total });
    l
}
