//! The register as CSV: one row per activity.

use super::*;

pub(super) const CSV_HEADER: &[&str] = &[
    "Référence",
    "Activité de traitement",
    "Version de la politique",
    "En vigueur depuis le",
    "Mise à jour",
    "Responsable du traitement",
    "Adresse du responsable",
    "Délégué à la protection des données",
    "Finalité(s) du traitement",
    "Base légale",
    "Catégories de personnes concernées",
    "Catégories de données",
    "Destinataires",
    "Transferts hors UE",
    "Durées de conservation",
    "Mesures de sécurité",
    "Clients (nombre)",
    "Prospects et contacts (nombre)",
    "Total des personnes concernées",
];

/// The register as CSV (RFC 4180, UTF-8): one row per processing activity,
/// with the CNIL template's columns; several values in a cell are one per line.
pub fn to_csv(reg: &Register) -> String {
    let mut w = ::csv::WriterBuilder::new().terminator(::csv::Terminator::CRLF).from_writer(Vec::new());
    let mut rows: Vec<Vec<String>> = vec![CSV_HEADER.iter().map(|s| s.to_string()).collect()];
    for a in &reg.activities {
        let lines = |items: Vec<String>| items.join("\n");
        let count = |k: SubjectKind| {
            a.counts.subjects.iter().find(|c| c.kind == k).map(|c| c.count.to_string()).unwrap_or_default()
        };
        let mut purpose = a.name.fr.clone();
        if a.aggregates_only {
            purpose = format!("{purpose}\n{}", aggregates_fr(a));
        }
        let mut categories: Vec<String> =
            a.data_categories.iter().map(|c| format!("{} : {}", c.label.fr, c.detail.fr)).collect();
        if categories.is_empty() {
            categories.push("Aucune donnée individuelle : dénombrements uniquement".into());
        }
        let transfers: Vec<String> = if a.transfers.is_empty() {
            vec![no_transfer_fr(reg)]
        } else {
            a.transfers.iter().map(|t| format!("{} : {}", t.recipient.fr, t.label.fr)).collect()
        };
        rows.push(vec![
            a.id.clone(),
            a.name.fr.clone(),
            reg.policy_version.clone(),
            reg.policy_effective_date.to_string(),
            when(reg.generated_at),
            reg.controller.name.clone(),
            controller_address_fr(reg),
            format!("{} ; {} ; {}", reg.dpo.name, reg.dpo.email, reg.dpo.address),
            purpose,
            lines(
                a.legal_bases.iter().map(|b| format!("{} : {}", kind_label(b.subject_kind).fr, b.label.fr)).collect(),
            ),
            lines(a.subject_categories.iter().map(|c| c.label.fr.clone()).collect()),
            lines(categories),
            lines(a.recipients.iter().map(|r| format!("{} : {}", r.role_label.fr, recipient_fr(r))).collect()),
            lines(transfers),
            lines(a.retention.iter().map(|r| format!("{} : {}", kind_label(r.subject_kind).fr, r.label.fr)).collect()),
            lines(a.security_measures.clone()),
            count(SubjectKind::Client),
            count(SubjectKind::Prospect),
            a.counts.total.to_string(),
        ]);
    }
    for row in rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}
