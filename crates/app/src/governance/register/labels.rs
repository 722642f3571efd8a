//! The register's words, in French and English: kinds, bases, categories, roles, durations.

use super::*;

pub(super) fn kind_label(k: SubjectKind) -> Label {
    match k {
        SubjectKind::Client => label("Clients", "Clients"),
        SubjectKind::Prospect => label("Prospects et contacts", "Prospects and contacts"),
    }
}

pub(super) fn kind_description(k: SubjectKind) -> Label {
    match k {
        SubjectKind::Client => label(
            "Personnes ayant conclu au moins un contrat avec l'entreprise",
            "People who have entered into at least one contract with the company",
        ),
        SubjectKind::Prospect => label(
            "Personnes en relation avec l'entreprise sans contrat",
            "People in contact with the company without a contract",
        ),
    }
}

pub(super) fn basis_label(b: LegalBasis) -> Label {
    match b {
        LegalBasis::Consent => label("Consentement (art. 6.1.a RGPD)", "Consent (GDPR Art. 6(1)(a))"),
        LegalBasis::Contract => {
            label("Exécution d'un contrat (art. 6.1.b RGPD)", "Performance of a contract (Art. 6(1)(b))")
        }
        LegalBasis::LegalObligation => label("Obligation légale (art. 6.1.c RGPD)", "Legal obligation (Art. 6(1)(c))"),
        LegalBasis::VitalInterests => {
            label("Sauvegarde des intérêts vitaux (art. 6.1.d RGPD)", "Vital interests (Art. 6(1)(d))")
        }
        LegalBasis::PublicTask => label("Mission d'intérêt public (art. 6.1.e RGPD)", "Public task (Art. 6(1)(e))"),
        LegalBasis::LegitimateInterest => {
            label("Intérêt légitime (art. 6.1.f RGPD)", "Legitimate interests (Art. 6(1)(f))")
        }
    }
}

pub(super) fn category_label(c: DataCategory) -> (Label, Label) {
    match c {
        DataCategory::Identity => {
            (label("Identité", "Identity"), label("Civilité, prénom, nom", "Civility, first name, last name"))
        }
        DataCategory::Contact => (
            label("Coordonnées", "Contact details"),
            label("Adresse électronique, téléphone, adresse postale", "Email address, phone, postal address"),
        ),
        DataCategory::Professional => {
            (label("Vie professionnelle", "Professional life"), label("Entreprise, fonction", "Company, job title"))
        }
        DataCategory::Notes => (
            label("Notes", "Notes"),
            label("Notes libres saisies par les employés", "Free-text notes written by employees"),
        ),
        DataCategory::Contract => (
            label("Contrats", "Contracts"),
            label("Référence, date de début et date de fin", "Reference, start date and end date"),
        ),
        DataCategory::Interactions => (
            label("Échanges", "Interactions"),
            label(
                "Date, sens (à l'initiative de la personne ou de l'entreprise), canal, résumé",
                "Date, direction (initiated by the person or by the company), channel, summary",
            ),
        ),
    }
}

pub(super) fn role_label(kind: RecipientKind, role: Option<&str>) -> Label {
    match (kind, role) {
        (RecipientKind::Internal, _) => label("Destinataire interne", "Internal recipient"),
        (_, Some("processor")) => label("Sous-traitant (art. 28 RGPD)", "Processor (GDPR Art. 28)"),
        (_, Some("service_provider")) => label("Prestataire de services", "Service provider"),
        (_, Some("partner")) => label("Partenaire", "Partner"),
        (_, Some(other)) => label(other, other),
        (_, None) => label("Destinataire externe", "External recipient"),
    }
}

pub(super) fn years(n: u32) -> (String, String) {
    if n == 1 { ("1 an".into(), "1 year".into()) } else { (format!("{n} ans"), format!("{n} years")) }
}

pub(super) fn retention_label(basis: RetentionBasis, n: u32) -> Label {
    let (fr, en) = years(n);
    match basis {
        RetentionBasis::LastContractEnd => label(
            format!("Pendant la relation contractuelle, puis {fr} après la fin du dernier contrat"),
            format!("For the contractual relationship, then {en} after the last contract ends"),
        ),
        RetentionBasis::LastInboundContact => label(
            format!("{fr} après le dernier contact à l'initiative de la personne (à défaut, après la collecte)"),
            format!("{en} after the last contact initiated by the person (failing that, after collection)"),
        ),
    }
}

pub(super) fn rule_label_fr(rule: &str) -> String {
    match rule.parse::<RetentionBasis>() {
        Ok(RetentionBasis::LastContractEnd) => "fin du dernier contrat".into(),
        Ok(RetentionBasis::LastInboundContact) => "dernier contact entrant".into(),
        Err(_) => rule.to_string(),
    }
}

pub(super) fn kind_label_fr(kind: &str) -> String {
    kind.parse::<SubjectKind>().map_or_else(|_| kind.to_string(), |k| kind_label(k).fr)
}

pub(super) fn safeguard_label(kind: SafeguardKind, on: NaiveDate) -> Label {
    match kind {
        SafeguardKind::Scc => label(
            format!("clauses contractuelles types signées le {on}"),
            format!("standard contractual clauses signed on {on}"),
        ),
        SafeguardKind::Bcr => label(
            format!("règles d'entreprise contraignantes approuvées le {on}"),
            format!("binding corporate rules approved on {on}"),
        ),
        other => label(format!("garantie « {other} » du {on}"), format!("safeguard `{other}` of {on}")),
    }
}
