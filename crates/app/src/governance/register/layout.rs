//! The human layout shared by the HTML and XLSX exports: one sheet per activity, label and value lines.

use super::*;

pub(super) const TITLE: &str = "Registre des activités de traitement";
pub(super) const SHEET_TITLE: &str = "Fiche de registre de l'activité de traitement";

pub(super) enum Value {
    Text(String),
    Number(i64),
}

pub(super) enum Line {
    Section(&'static str),
    Field(String, Value),
}

pub(super) fn field(label: impl Into<String>, value: impl Into<String>) -> Line {
    Line::Field(label.into(), Value::Text(value.into()))
}

pub(super) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(super) fn controller_address_fr(reg: &Register) -> String {
    if reg.controller.address_stated {
        reg.controller.address.clone()
    } else {
        "À compléter (la politique ne la précise pas)".into()
    }
}

pub(super) fn recipient_fr(r: &RecipientEntry) -> String {
    match &r.country {
        Some(c) if r.country_is_assumption => format!("{} ; pays : {c} (hypothèse à confirmer)", r.name.fr),
        Some(c) => format!("{} ; pays : {c}", r.name.fr),
        None => r.name.fr.clone(),
    }
}

pub(super) fn reader_fr(reg: &Register, a: &Activity, id: &str) -> String {
    if id == "dpo" {
        return format!("le délégué à la protection des données ({})", reg.dpo.name);
    }
    a.recipients.iter().find(|r| r.id == id).map_or_else(|| id.to_string(), |r| r.name.fr.clone())
}

pub(super) fn no_transfer_fr(reg: &Register) -> String {
    format!(
        "Aucun : aucun destinataire de cette activité n'est situé hors de l'Espace économique européen (liste des pays au {})",
        reg.transfer_list_as_of
    )
}

pub(super) fn aggregates_fr(a: &Activity) -> String {
    format!(
        "Statistiques agrégées uniquement : aucune donnée individuelle n'est restituée, et tout groupe de moins de {} personnes est supprimé",
        a.min_group_size.unwrap_or(0)
    )
}

/// The label-value rows of one activity, by the sections of the CNIL template.
pub(super) fn activity_lines(reg: &Register, a: &Activity) -> Vec<Line> {
    let mut l = vec![
        Line::Section("Description du traitement"),
        field("Nom du traitement", &a.name.fr),
        field("Nom en anglais", &a.name.en),
        field("Référence", &a.id),
        field("Version de la politique", &reg.policy_version),
        field("Politique en vigueur depuis le", reg.policy_effective_date.to_string()),
        field("Fiche générée le", when(reg.generated_at)),
        Line::Section("Acteurs"),
        field("Responsable du traitement", &reg.controller.name),
        field("Adresse du responsable", controller_address_fr(reg)),
        field("Délégué à la protection des données", &reg.dpo.name),
        field("Courriel du délégué", &reg.dpo.email),
        field("Adresse du délégué", &reg.dpo.address),
        Line::Section("Finalité(s) du traitement"),
        field("Finalité principale", &a.name.fr),
    ];
    if a.aggregates_only {
        l.push(field("Modalité", aggregates_fr(a)));
    }
    l.push(Line::Section("Base légale"));
    for b in &a.legal_bases {
        l.push(field(kind_label(b.subject_kind).fr, &b.label.fr));
    }
    l.push(Line::Section("Catégories de personnes concernées"));
    for c in &a.subject_categories {
        l.push(field(&c.label.fr, &c.description.fr));
    }
    l.push(Line::Section("Catégories de données"));
    if a.data_categories.is_empty() {
        l.push(field("Aucune donnée individuelle", "Dénombrements uniquement"));
    }
    for c in &a.data_categories {
        l.push(field(&c.label.fr, &c.detail.fr));
    }
    l.push(Line::Section("Destinataires"));
    for r in &a.recipients {
        let role = if r.kind == RecipientKind::Internal {
            r.role_label.fr.clone()
        } else {
            format!("Destinataire externe : {}", r.role_label.fr.to_lowercase())
        };
        l.push(field(role, recipient_fr(r)));
    }
    l.push(Line::Section("Transferts hors UE"));
    if a.transfers.is_empty() {
        l.push(field("Transferts hors de l'EEE", no_transfer_fr(reg)));
    }
    for t in &a.transfers {
        l.push(field(&t.recipient.fr, &t.label.fr));
    }
    l.push(Line::Section("Durées de conservation"));
    for r in &a.retention {
        l.push(field(kind_label(r.subject_kind).fr, &r.label.fr));
    }
    if a.survives_contract && !a.archived_readers.is_empty() {
        let readers: Vec<String> = a.archived_readers.iter().map(|id| reader_fr(reg, a, id)).collect();
        l.push(field(
            "Archivage après le dernier contrat",
            format!(
                "Le dossier archivé reste consultable pour cette activité (comptabilité, contentieux) par : {}",
                readers.join(", ")
            ),
        ));
    }
    l.push(Line::Section("Mesures de sécurité"));
    for (i, m) in a.security_measures.iter().enumerate() {
        l.push(field(format!("Mesure {}", i + 1), m));
    }
    l.push(Line::Section("Volumes"));
    for c in &a.counts.subjects {
        l.push(Line::Field(format!("{} (nombre actuel)", kind_label(c.kind).fr), Value::Number(c.count)));
    }
    l.push(Line::Field("Total des personnes concernées".into(), Value::Number(a.counts.total)));
    l
}

/// The rows of the cover: controller, DPO, policy, volumes (the table of
/// contents, erasures and assumptions follow them as tables).
pub(super) fn cover_lines(reg: &Register) -> Vec<Line> {
    let mut l = vec![
        Line::Section("Responsable du traitement"),
        field("Nom", &reg.controller.name),
        field("Adresse", controller_address_fr(reg)),
        Line::Section("Délégué à la protection des données"),
        field("Nom", &reg.dpo.name),
        field("Courriel", &reg.dpo.email),
        field("Adresse", &reg.dpo.address),
        Line::Section("Politique"),
        field("Version", &reg.policy_version),
        field("En vigueur depuis le", reg.policy_effective_date.to_string()),
        field("Registre généré le", when(reg.generated_at)),
        field("Liste des pays adéquats au", reg.transfer_list_as_of.to_string()),
        Line::Section("Volumes"),
    ];
    for c in &reg.totals.subjects {
        l.push(Line::Field(format!("{} (nombre actuel)", kind_label(c.kind).fr), Value::Number(c.count)));
    }
    l.push(Line::Field("Total des personnes concernées".into(), Value::Number(reg.totals.total_subjects)));
    l.push(Line::Field("Personnes effacées à l'échéance (total)".into(), Value::Number(reg.totals.erased_total)));
    l
}
