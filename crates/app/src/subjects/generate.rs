//! French-looking test identities, deterministic from a seed, for tests,
//! demos and benchmarks. Emails use reserved example domains and carry the
//! row number, so they are unique and can never reach a real person.

use crate::subjects::NewSubject;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

const FIRST: &[&str] = &[
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Jade",
    "Louise",
    "Emma",
    "Alice",
    "Lina",
    "Zoé",
    "Juliette",
    "Clara",
    "Margaux",
    "Sarah",
    "Élodie",
    "Nathalie",
    "Sophie",
    "Isabelle",
    "Céline",
    "Hugo",
    "Lucas",
    "Louis",
    "Gabriel",
    "Arthur",
    "Jules",
    "Théo",
    "Nathan",
    "Raphaël",
    "Mathis",
    "Thomas",
    "Nicolas",
    "Julien",
    "Antoine",
    "Pierre",
    "François",
    "Olivier",
    "Stéphane",
    "Laurent",
    "Éric",
    "Mathieu",
    "Guillaume",
    "Benoît",
    "Yves",
    "Hélène",
];
const LAST: &[&str] = &[
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefebvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
];
const STREETS: &[&str] = &[
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard Gambetta",
    "rue Pasteur",
    "place de la Mairie",
    "rue du Moulin",
    "chemin des Vignes",
    "allée des Tilleuls",
    "rue de l'Église",
];
const CITIES: &[(&str, &str)] = &[
    ("75011", "Paris"),
    ("69003", "Lyon"),
    ("13006", "Marseille"),
    ("31000", "Toulouse"),
    ("33000", "Bordeaux"),
    ("44000", "Nantes"),
    ("59000", "Lille"),
    ("67000", "Strasbourg"),
    ("35000", "Rennes"),
    ("34000", "Montpellier"),
    ("21000", "Dijon"),
    ("37000", "Tours"),
];
const COMPANY_FORMS: &[&str] = &["SARL", "SAS", "EURL", "SA", "SCOP"];
const TRADES: &[&str] = &[
    "Atelier",
    "Boulangerie",
    "Garage",
    "Cabinet",
    "Menuiserie",
    "Imprimerie",
    "Pharmacie",
    "Librairie",
    "Transports",
    "Conseil",
];
const JOBS: &[&str] = &[
    "Gérant",
    "Gérante",
    "Directeur administratif",
    "Directrice financière",
    "Comptable",
    "Responsable informatique",
    "Assistante de direction",
    "Chef de projet",
    "Acheteur",
    "Président",
];
const DOMAINS: &[&str] = &["example.fr", "example.com", "example.net", "example.org"];

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// Strips accents and spaces for the local part of an email address.
fn ascii(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' | 'É' => Some('e'),
            'à' | 'â' => Some('a'),
            'î' | 'ï' => Some('i'),
            'ô' => Some('o'),
            'ù' | 'û' | 'ü' => Some('u'),
            'ç' => Some('c'),
            ' ' | '\'' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}

/// One generated identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub kind: &'static str,
    pub civility: &'static str,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub postal_address: String,
    pub company: String,
    pub job_title: String,
    pub collected_at: String,
}

/// A deterministic stream of identities: the same seed gives the same people.
pub struct Generator {
    rng: ChaCha8Rng,
    n: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator { rng: ChaCha8Rng::seed_from_u64(seed), n: 0 }
    }

    pub fn person(&mut self) -> Person {
        self.n += 1;
        let r = &mut self.rng;
        let first = pick(r, FIRST);
        let last = pick(r, LAST);
        let feminine = first.ends_with('e')
            || first.ends_with('a')
            || first.ends_with('é')
            || first == "Inès"
            || first == "Élodie";
        let (zip, city) = CITIES[r.random_range(0..CITIES.len())];
        let company = format!("{} {} {}", pick(r, COMPANY_FORMS), pick(r, TRADES), pick(r, LAST));
        let days_ago = r.random_range(0..3650);
        let collected = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default() - chrono::Days::new(days_ago);
        Person {
            kind: if r.random_bool(0.4) { "client" } else { "prospect" },
            civility: if feminine { "Mme" } else { "M." },
            email: format!("{}.{}.{}@{}", ascii(first), ascii(last), self.n, pick(r, DOMAINS)),
            phone: format!("+33{}{:07}", if r.random_bool(0.5) { 61 } else { 77 }, r.random_range(0..10_000_000u32)),
            postal_address: format!("{} {}, {} {}", r.random_range(1..200), pick(r, STREETS), zip, city),
            company,
            job_title: pick(r, JOBS).to_string(),
            first_name: first.to_string(),
            last_name: last.to_string(),
            collected_at: collected.format("%Y-%m-%d").to_string(),
        }
    }

    /// The CSV header [`Generator::csv_row`] matches.
    pub const CSV_HEADER: &'static str =
        "kind,collected_at,civility,first_name,last_name,email,phone,postal_address,company,job_title";

    pub fn csv_row(p: &Person) -> String {
        let q = |s: &str| {
            if s.contains(',') || s.contains('"') { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
        };
        [
            p.kind,
            &p.collected_at,
            p.civility,
            &p.first_name,
            &p.last_name,
            &p.email,
            &p.phone,
            &q(&p.postal_address),
            &q(&p.company),
            &p.job_title,
        ]
        .join(",")
    }

    pub fn new_subject(p: &Person) -> NewSubject {
        let mut identity = BTreeMap::new();
        for (k, v) in [
            ("civility", p.civility.to_string()),
            ("first_name", p.first_name.clone()),
            ("last_name", p.last_name.clone()),
            ("email", p.email.clone()),
            ("phone", p.phone.clone()),
            ("postal_address", p.postal_address.clone()),
            ("company", p.company.clone()),
            ("job_title", p.job_title.clone()),
        ] {
            identity.insert(k.to_string(), Some(v));
        }
        NewSubject {
            kind: p.kind.to_string(),
            collected_at: Some(p.collected_at.clone()),
            provenance: Some("provided".into()),
            field_provenance: BTreeMap::new(),
            identity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_people_and_all_valid() {
        let (mut a, mut b) = (Generator::new(7), Generator::new(7));
        for _ in 0..200 {
            let (p, q) = (a.person(), b.person());
            assert_eq!(p, q);
            assert!(vigie_domain::model::normalize_email(&p.email).is_ok(), "email");
            assert!(vigie_domain::model::normalize_phone(&p.phone).is_ok(), "phone");
        }
        assert_ne!(Generator::new(8).person(), Generator::new(7).person());
    }
}
