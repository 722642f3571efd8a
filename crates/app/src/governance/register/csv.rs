//! The register as CSV: one row per activity, its labels from the catalogues.

use super::*;

/// The columns, as keys of `register.csv`.
pub(super) const CSV_COLUMNS: &[&str] = &[
    "reference",
    "activity",
    "origin",
    "created",
    "updated",
    "policy_version",
    "policy_since",
    "generated",
    "controller",
    "controller_address",
    "dpo",
    "purposes",
    "basis",
    "assessments",
    "persons",
    "data",
    "recipients",
    "transfers",
    "retention",
    "security",
    "clients",
    "prospects",
    "total",
    "counted",
];

/// The register as CSV (RFC 4180, UTF-8) in `lang`: one row per processing activity, with the
/// CNIL template's columns; several values in a cell are one per line.
pub fn to_csv(reg: &Register, lang: Lang) -> String {
    let t = Tr(lang);
    let mut w = ::csv::WriterBuilder::new().terminator(::csv::Terminator::CRLF).from_writer(Vec::new());
    let mut rows: Vec<Vec<String>> =
        vec![CSV_COLUMNS.iter().map(|c| t.t(&format!("register.csv.{c}")).to_string()).collect()];
    for a in &reg.activities {
        let lines = |items: Vec<String>| items.join("\n");
        let count = |k: SubjectKind| {
            a.counts.subjects.iter().find(|c| c.kind == k).map(|c| c.count.to_string()).unwrap_or_default()
        };
        let mut purpose = a.name.get(lang).to_string();
        if a.aggregates_only {
            purpose = format!("{purpose}\n{}", aggregates(t, a));
        }
        let mut bases: Vec<String> =
            a.legal_bases.iter().map(|b| pair(t, b.applies_to.get(lang), b.label.get(lang))).collect();
        if let Some(i) = interest(t, a) {
            bases.push(pair(t, t.t("register.field.interest"), &i));
        }
        let mut categories: Vec<String> =
            a.data_categories.iter().map(|c| pair(t, c.label.get(lang), c.detail.get(lang))).collect();
        if categories.is_empty() {
            categories.push(t.t("register.csv.no_data").into());
        }
        let transfers: Vec<String> = if a.transfers.is_empty() {
            vec![no_transfer(t, reg)]
        } else {
            a.transfers.iter().map(|x| pair(t, x.recipient.get(lang), x.label.get(lang))).collect()
        };
        let mut counted = vec![pair(t, &unit(t, a.counts.unit), &a.counts.total.to_string())];
        counted.extend(a.counts.details.iter().map(|d| pair(t, &unit(t, d.unit), &d.count.to_string())));
        rows.push(vec![
            a.id.clone(),
            a.name.get(lang).to_string(),
            t.t(&format!("register.origin.{}", origin(a.origin))).to_string(),
            a.created_on.to_string(),
            a.updated_on.to_string(),
            reg.policy_version.clone(),
            reg.policy_effective_date.to_string(),
            when(reg.generated_at),
            reg.controller.name.clone(),
            controller_address(t, reg),
            format!("{} ; {} ; {}", reg.dpo.name, reg.dpo.email, reg.dpo.address),
            purpose,
            lines(bases),
            lines(
                a.compatibility_assessments
                    .iter()
                    .map(|x| pair(t, x.label.get(lang), x.conclusion.get(lang)))
                    .collect(),
            ),
            lines(a.subject_categories.iter().map(|c| c.label.get(lang).to_string()).collect()),
            lines(categories),
            lines(a.recipients.iter().map(|r| pair(t, &recipient_role(t, r), &recipient_words(t, r))).collect()),
            lines(transfers),
            lines(a.retention.iter().map(|r| pair(t, r.applies_to.get(lang), r.label.get(lang))).collect()),
            lines(a.security_measures.clone()),
            count(SubjectKind::Client),
            count(SubjectKind::Prospect),
            if a.counts.unit == CountUnit::Persons { a.counts.total.to_string() } else { String::new() },
            lines(counted),
        ]);
    }
    for row in rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}
