//! The vocabulary of subjects: kinds, identity fields, provenance, directions,
//! and the parsing of the two identity values that are looked up (email, phone).
//!
//! Error messages name the field and the problem, never the value: a value
//! may be personal data.

/// A closed set of variants, each spelled as a lower-case, snake_case token: the
/// spelling the API shows (serde), the database stores (`as_str`, `FromStr`) and,
/// with the `openapi` feature, the OpenAPI document lists as the schema's `enum`.
macro_rules! token_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// The accepted spellings, for error messages.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::UnknownToken;
            fn from_str(s: &str) -> Result<Self, $crate::model::UnknownToken> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::model::UnknownToken { what: stringify!($name), expected: $name::expected() }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use token_enum;

/// A token outside its closed set. Carries the set, not the offending text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("expected one of: {expected}")]
pub struct UnknownToken {
    pub what: &'static str,
    pub expected: String,
}

token_enum! {
    /// The two kinds of data subject the policy covers.
    SubjectKind { Client = "client", Prospect = "prospect" }
}

token_enum! {
    /// Where a field's value came from.
    Provenance { Provided = "provided", Observed = "observed", ThirdParty = "third_party" }
}

token_enum! {
    /// Who initiated an interaction. Only inbound contacts extend a prospect's retention.
    Direction { Inbound = "inbound", Outbound = "outbound" }
}

token_enum! {
    /// The identity fields of a subject. All are personal data.
    FieldName {
        Civility = "civility",
        FirstName = "first_name",
        LastName = "last_name",
        Email = "email",
        Phone = "phone",
        PostalAddress = "postal_address",
        Company = "company",
        JobTitle = "job_title",
        Notes = "notes",
    }
}

impl FieldName {
    /// The data category a field belongs to; purposes are granted categories.
    pub fn category(self) -> crate::policy::DataCategory {
        use crate::policy::DataCategory as C;
        match self {
            FieldName::Civility | FieldName::FirstName | FieldName::LastName => C::Identity,
            FieldName::Email | FieldName::Phone | FieldName::PostalAddress => C::Contact,
            FieldName::Company | FieldName::JobTitle => C::Professional,
            FieldName::Notes => C::Notes,
        }
    }

    /// Longest accepted value, in characters.
    pub fn max_len(self) -> usize {
        match self {
            FieldName::Notes => 10_000,
            FieldName::PostalAddress => 500,
            FieldName::Email => 254,
            _ => 200,
        }
    }
}

/// Why an identity value was rejected. Names the problem, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("{0} is empty")]
    Empty(FieldName),
    #[error("{0} is longer than {1} characters")]
    TooLong(FieldName, usize),
    #[error("{0} contains control characters")]
    Control(FieldName),
    #[error("email is not a valid address (expected local@domain.tld)")]
    Email,
    #[error(
        "phone is not a valid number (expected an international number such as +33612345678, or a national number of the controller's country such as 06 12 34 56 78)"
    )]
    Phone,
    #[error("civility must be one of: M., Mme, Mx")]
    Civility,
}

/// Validates and normalises one identity value: trims, checks length and
/// characters, and puts email and phone into the canonical form that the
/// blind index is computed over.
pub fn normalize_field(field: FieldName, raw: &str) -> Result<String, FieldError> {
    normalize_field_in(field, raw, DEFAULT_PHONE_REGION)
}

/// [`normalize_field`], reading a national phone number in `region` (the policy's
/// `controller.country`).
pub fn normalize_field_in(field: FieldName, raw: &str, region: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::Empty(field));
    }
    if value.chars().count() > field.max_len() {
        return Err(FieldError::TooLong(field, field.max_len()));
    }
    let allows_newlines = matches!(field, FieldName::Notes | FieldName::PostalAddress);
    if value.chars().any(|c| c.is_control() && !(allows_newlines && (c == '\n' || c == '\r' || c == '\t'))) {
        return Err(FieldError::Control(field));
    }
    match field {
        FieldName::Email => normalize_email(value),
        FieldName::Phone => normalize_phone_in(value, region),
        FieldName::Civility => match value {
            "M." | "M" | "Monsieur" => Ok("M.".into()),
            "Mme" | "Madame" => Ok("Mme".into()),
            "Mx" => Ok("Mx".into()),
            _ => Err(FieldError::Civility),
        },
        _ => Ok(value.to_string()),
    }
}

/// The blind-index domain of a person's name (first name and last name together).
pub const NAME_INDEX: &str = "name";

/// A person's name in the form its blind index is computed over: first name then last name,
/// compatibility-normalised (NFKD), accents and other combining marks dropped, lower-cased,
/// the ligatures œ, æ and ß spelled out, hyphens, apostrophes and dots read as spaces, and
/// spaces collapsed. "  Hélène   D'Arc-Dupré " and "helene d arc dupre" are one name.
/// None unless both parts hold a letter or a digit.
pub fn name_key(first: &str, last: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let fold = |raw: &str| -> String {
        let mut out = String::with_capacity(raw.len());
        for c in raw.nfkd().filter(|c| !is_combining_mark(*c)) {
            match c {
                'œ' | 'Œ' => out.push_str("oe"),
                'æ' | 'Æ' => out.push_str("ae"),
                'ß' | 'ẞ' => out.push_str("ss"),
                c if c.is_alphanumeric() => out.extend(c.to_lowercase()),
                // Hyphens, apostrophes, dots, spaces and any other separator: one space.
                _ => out.push(' '),
            }
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let (first, last) = (fold(first), fold(last));
    (!first.is_empty() && !last.is_empty()).then(|| format!("{first} {last}"))
}

/// The blind-index domain of a contract reference.
pub const CONTRACT_REFERENCE_INDEX: &str = "contract_reference";

/// A contract reference in the form its blind index is computed over: compatibility-normalised
/// (NFKC), lower-cased, every space removed (" CT 2024-001 " and "ct2024-001" are one reference).
/// None when nothing is left.
pub fn contract_reference_key(raw: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let key: String = raw.nfkc().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect();
    (!key.is_empty()).then_some(key)
}

/// The French postal code of a postal address: its last group of exactly five digits
/// ("12 rue de la Paix, 75002 Paris" gives "75002"); None when there is none.
pub fn postal_code(address: &str) -> Option<String> {
    let mut found = None;
    let mut run = String::new();
    for c in address.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            if run.len() == 5 {
                found = Some(std::mem::take(&mut run));
            }
            run.clear();
        }
    }
    found
}

/// An email address in canonical form: trimmed and lower-cased (as mail
/// providers treat addresses in practice, so that lookups match).
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@').ok_or(FieldError::Email)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_alphabetic()));
    if local_ok && domain_ok { Ok(email) } else { Err(FieldError::Email) }
}

/// The region a national phone number is read in when the policy names none.
pub const DEFAULT_PHONE_REGION: &str = "FR";

/// A phone number in E.164 form, read in the default region (France): see [`normalize_phone_in`].
pub fn normalize_phone(raw: &str) -> Result<String, FieldError> {
    normalize_phone_in(raw, DEFAULT_PHONE_REGION)
}

/// A phone number in E.164 form (`+33612345678`), parsed and checked with libphonenumber's
/// metadata (the `phonenumber` crate): an international number (`+33 6…`, `0033 6…`, even with
/// the trunk prefix written `+33 (0)6…`) or a national number of `region` (an ISO 3166-1
/// alpha-2 code; `06 12 34 56 78` in France). Separators are ignored; letters (vanity numbers),
/// extensions and numbers no plan allocates are refused, so that one person's number has one
/// spelling and one blind index.
pub fn normalize_phone_in(raw: &str, region: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    // Digits, one leading `+`, and the separators people write: anything else (letters, `;ext=`,
    // `#`) is refused before the parser, which would read letters as keypad digits.
    let mut plus = 0;
    for (i, c) in value.chars().enumerate() {
        match c {
            '+' if i == 0 => plus += 1,
            '0'..='9' | ' ' | '.' | '-' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return Err(FieldError::Phone),
        }
    }
    // Separators dropped first, so that where they stand (even inside the country code) changes nothing.
    let compact: String = value.chars().filter(|c| *c == '+' || c.is_ascii_digit()).collect();
    let digits = compact.len() - plus;
    if plus > 1 || !(4..=17).contains(&digits) {
        return Err(FieldError::Phone);
    }
    let region = region.parse::<phonenumber::country::Id>().ok();
    let number = phonenumber::parse(region, &compact).map_err(|_| FieldError::Phone)?;
    if number.extension().is_some() || !phonenumber::is_valid(&number) {
        return Err(FieldError::Phone);
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    if e164.len() > 16 { Err(FieldError::Phone) } else { Ok(e164) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn contract_references_fold_case_and_spaces() {
        use super::contract_reference_key;
        let one = contract_reference_key("CT-2024-001");
        assert_eq!(one.as_deref(), Some("ct-2024-001"));
        assert_eq!(contract_reference_key("  ct - 2024 -001 "), one);
        assert_eq!(contract_reference_key("ＣＴ-2024-001"), one);
        assert_ne!(contract_reference_key("CT-2024-002"), one);
        assert_eq!(contract_reference_key("  "), None);
    }

    #[test]
    fn postal_codes_are_five_digit_groups() {
        use super::postal_code;
        assert_eq!(postal_code("12 rue de la Paix\n75002 Paris").as_deref(), Some("75002"));
        assert_eq!(postal_code("BP 123, 69001 Lyon Cedex 01").as_deref(), Some("69001"));
        assert_eq!(postal_code("1 rue X, 123456 Ville"), None);
        assert_eq!(postal_code("Rue sans code"), None);
    }

    #[test]
    fn names_fold_case_accents_and_separators() {
        use super::name_key;
        let one = name_key("Hélène", "D'Arc-Dupré");
        assert_eq!(one.as_deref(), Some("helene d arc dupre"));
        for (f, l) in [
            ("  HELENE ", "d\u{2019}arc   dupre"),
            ("He\u{301}le\u{300}ne", "D Arc Dupré"),
            ("hélène", "d-arc-dupré"),
            ("ＨＥＬＥＮＥ", "d'arc dupre"),
        ] {
            assert_eq!(name_key(f, l), one, "{f:?} {l:?}");
        }
        assert_eq!(name_key("Joëlle", "Lœwe").as_deref(), Some("joelle loewe"));
        assert_ne!(name_key("Marie", "Dupont"), name_key("Marie", "Dupond"));
        assert_eq!(name_key(" - ", "Dupont"), None);
        assert_eq!(name_key("Marie", ""), None);
    }

    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Camille.Martin@Example.FR ").as_deref(), Ok("camille.martin@example.fr"));
        for bad in ["", "a", "a@b", "@example.fr", "a@.fr", "a b@example.fr", "a..b@example.fr", "a@example.1"] {
            assert_eq!(normalize_email(bad), Err(FieldError::Email), "{bad}");
        }
    }

    #[test]
    fn phones_become_e164() {
        for same in [
            "06 12 34 56 78",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+33(0)612345678",
            "0033 6 12 34 56 78",
            "0033612345678",
            "+33612345678",
            " 06.12.34.56.78 ",
            "06-12-34-56-78",
            "06\u{a0}12\u{a0}34\u{a0}56\u{a0}78",
        ] {
            assert_eq!(normalize_phone(same).as_deref(), Ok("+33612345678"), "{same}");
        }
        // libphonenumber reads a national number written without its trunk prefix too.
        assert_eq!(normalize_phone("612345678").as_deref(), Ok("+33612345678"));
        assert_eq!(normalize_phone("01 53 73 22 22").as_deref(), Ok("+33153732222"));
        assert_eq!(normalize_phone("+1 (415) 555-0100").as_deref(), Ok("+14155550100"));
        assert_eq!(normalize_phone("+44 20 7946 0958").as_deref(), Ok("+442079460958"));
        assert_eq!(normalize_phone("+44 (0)20 7946 0958").as_deref(), Ok("+442079460958"));
        assert_eq!(normalize_phone("0044 20 7946 0958").as_deref(), Ok("+442079460958"));
        assert_eq!(normalize_phone("+49 30 901820").as_deref(), Ok("+4930901820"));
        for bad in [
            "",
            "   ",
            "12",
            "0612",
            "06 12 34 56 7",
            "06 12 34 56 789",
            "06 12 34 56 7x",
            "06 CALL ME",
            "+33 6 NOT NUMB",
            "+0612345678",
            "++33612345678",
            "+33 6 12 34 56 78 ext. 12",
            "+33612345678;ext=1",
            "+999 612345678",
            "+33 00 00 00 00 0",
            "0000000000",
            "tel:+33612345678",
            "+33 6 12 34 56 78 / +33 6 12 34 56 79 9",
        ] {
            assert_eq!(normalize_phone(bad), Err(FieldError::Phone), "{bad}");
        }
    }

    #[test]
    fn national_numbers_are_read_in_the_given_region() {
        assert_eq!(normalize_phone_in("020 7946 0958", "GB").as_deref(), Ok("+442079460958"));
        assert_eq!(normalize_phone_in("(415) 555-0100", "US").as_deref(), Ok("+14155550100"));
        // An international number does not depend on the region; a French national one does.
        assert_eq!(normalize_phone_in("+33 6 12 34 56 78", "GB").as_deref(), Ok("+33612345678"));
        assert_ne!(normalize_phone_in("06 12 34 56 78", "GB").as_deref(), Ok("+33612345678"));
        // An unknown region still reads international numbers.
        assert_eq!(normalize_phone_in("+33612345678", "ZZ").as_deref(), Ok("+33612345678"));
        assert_eq!(normalize_phone_in("0612345678", "ZZ"), Err(FieldError::Phone));
    }

    #[test]
    fn fields_reject_control_characters_and_overlength() {
        assert_eq!(
            normalize_field(FieldName::FirstName, "Ca\u{7}mille"),
            Err(FieldError::Control(FieldName::FirstName))
        );
        assert!(normalize_field(FieldName::Notes, "line one\nline two").is_ok());
        let long = "x".repeat(201);
        assert_eq!(normalize_field(FieldName::Company, &long), Err(FieldError::TooLong(FieldName::Company, 200)));
        assert_eq!(normalize_field(FieldName::Civility, "Madame").as_deref(), Ok("Mme"));
    }

    /// The serde spelling (the API's) is the `as_str` spelling (the database's), for every variant.
    #[test]
    fn serde_spells_every_token_as_as_str() {
        fn check<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + Copy>(
            all: &[T],
            as_str: fn(T) -> &'static str,
        ) {
            for &v in all {
                let json = serde_json::to_string(&v).unwrap_or_default();
                assert_eq!(json, format!("\"{}\"", as_str(v)));
                assert_eq!(serde_json::from_str::<T>(&json).ok(), Some(v));
            }
        }
        use crate::records::*;
        check(SubjectKind::ALL, SubjectKind::as_str);
        check(Provenance::ALL, Provenance::as_str);
        check(Direction::ALL, Direction::as_str);
        check(FieldName::ALL, FieldName::as_str);
        check(crate::access::Role::ALL, crate::access::Role::as_str);
        check(crate::transfers::SafeguardKind::ALL, crate::transfers::SafeguardKind::as_str);
        check(RequestKind::ALL, RequestKind::as_str);
        check(RequestChannel::ALL, RequestChannel::as_str);
        check(RequestStatus::ALL, RequestStatus::as_str);
        check(IdentityVerdict::ALL, IdentityVerdict::as_str);
        check(IdentityDocument::ALL, IdentityDocument::as_str);
        check(RefusalGround::ALL, RefusalGround::as_str);
        check(ErasureGround::ALL, ErasureGround::as_str);
        check(RequestOutcome::ALL, RequestOutcome::as_str);
        check(BreachNature::ALL, BreachNature::as_str);
        check(BreachRisk::ALL, BreachRisk::as_str);
        check(BreachKeys::ALL, BreachKeys::as_str);
        check(BreachStatus::ALL, BreachStatus::as_str);
        check(BreachPhase::ALL, BreachPhase::as_str);
        check(NoticeDecision::ALL, NoticeDecision::as_str);
        check(OutboxStatus::ALL, OutboxStatus::as_str);
        check(PolicyStatus::ALL, PolicyStatus::as_str);
        check(HoldAction::ALL, HoldAction::as_str);
    }

    #[test]
    fn tokens_parse_and_name_the_accepted_set() {
        assert_eq!("third_party".parse::<Provenance>().ok(), Some(Provenance::ThirdParty));
        let err = "sideways".parse::<Direction>().err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("expected one of: inbound, outbound"));
    }
}

/// Property tests of the normalisation: no panic, idempotent, equivalent inputs equal.
#[cfg(test)]
mod fuzz;
