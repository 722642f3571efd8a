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
    #[error("phone is not a valid number (expected international +33612345678 or French national 0612345678)")]
    Phone,
    #[error("civility must be one of: M., Mme, Mx")]
    Civility,
}

/// Validates and normalises one identity value: trims, checks length and
/// characters, and puts email and phone into the canonical form that the
/// blind index is computed over.
pub fn normalize_field(field: FieldName, raw: &str) -> Result<String, FieldError> {
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
        FieldName::Phone => normalize_phone(value),
        FieldName::Civility => match value {
            "M." | "M" | "Monsieur" => Ok("M.".into()),
            "Mme" | "Madame" => Ok("Mme".into()),
            "Mx" => Ok("Mx".into()),
            _ => Err(FieldError::Civility),
        },
        _ => Ok(value.to_string()),
    }
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

/// A phone number in E.164 form (`+` and 8 to 15 digits). Separators
/// (spaces, dots, dashes, parentheses) are dropped; a French national number
/// (10 digits starting with 0) becomes +33.
pub fn normalize_phone(raw: &str) -> Result<String, FieldError> {
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    for (i, c) in raw.trim().chars().enumerate() {
        match c {
            '+' if i == 0 => plus = true,
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '(' | ')' | '\u{a0}' => {}
            _ => return Err(FieldError::Phone),
        }
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if digits.len() == 10 && digits.starts_with('0') && !digits.starts_with("00") {
        format!("33{}", &digits[1..])
    } else {
        return Err(FieldError::Phone);
    };
    if (8..=15).contains(&international.len()) && !international.starts_with('0') {
        Ok(format!("+{international}"))
    } else {
        Err(FieldError::Phone)
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(normalize_phone("06 12 34 56 78").as_deref(), Ok("+33612345678"));
        assert_eq!(normalize_phone("+33 6 12 34 56 78").as_deref(), Ok("+33612345678"));
        assert_eq!(normalize_phone("0033612345678").as_deref(), Ok("+33612345678"));
        assert_eq!(normalize_phone("+1 (415) 555-0100").as_deref(), Ok("+14155550100"));
        for bad in ["", "12", "06 12 34 56 7x", "612345678", "+0612345678", "++33612345678"] {
            assert_eq!(normalize_phone(bad), Err(FieldError::Phone), "{bad}");
        }
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
