//! The words of the notice: legal bases, categories, roles, durations, dates, countries.

use super::*;

pub(super) fn basis_label(lang: Lang, b: LegalBasis) -> &'static str {
    match b {
        LegalBasis::Contract => lang.pick("exécution du contrat", "performance of the contract"),
        LegalBasis::Consent => lang.pick("consentement", "consent"),
        LegalBasis::LegitimateInterest => lang.pick("intérêt légitime", "legitimate interest"),
        LegalBasis::LegalObligation => lang.pick("obligation légale", "legal obligation"),
        LegalBasis::VitalInterests => lang.pick("intérêts vitaux", "vital interests"),
        LegalBasis::PublicTask => lang.pick("mission d'intérêt public", "public task"),
    }
}

pub(super) fn category_label(lang: Lang, c: DataCategory) -> &'static str {
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

pub(super) fn role_label(lang: Lang, role: &str) -> String {
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

pub(super) fn kind_plural(lang: Lang, k: SubjectKind) -> &'static str {
    match k {
        SubjectKind::Client => lang.pick("clients", "clients"),
        SubjectKind::Prospect => lang.pick("prospects", "prospects"),
    }
}

pub(super) fn years(lang: Lang, n: u32) -> String {
    match (lang, n) {
        (Lang::Fr, 1) => "1 an".into(),
        (Lang::Fr, n) => format!("{n} ans"),
        (Lang::En, 1) => "1 year".into(),
        (Lang::En, n) => format!("{n} years"),
    }
}

pub(super) fn long_date(lang: Lang, d: NaiveDate) -> String {
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
pub(super) fn join(lang: Lang, items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}{}{last}", rest.join(", "), lang.pick(" et ", " and ")),
    }
}

/// The country's name and code, e.g. "France (FR)"; the code alone when unknown.
pub(super) fn country_name(lang: Lang, code: &str, transfers: &TransferList) -> String {
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
