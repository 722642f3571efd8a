//! Input checked at the edge of every use case: dates, timestamps, closed-set tokens,
//! free text. Errors name the field and the problem, never the value.

use crate::error::{AppError, Result};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use vigie_domain::Policy;

/// A timestamp given as RFC 3339 or a date; refused when more than five minutes after `now`.
pub(crate) fn parse_timestamp(field: &str, raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let t = if let Ok(t) = DateTime::parse_from_rfc3339(raw.trim()) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        d.and_time(NaiveTime::MIN).and_utc()
    } else {
        return Err(AppError::invalid(
            field,
            "is not a timestamp (expected RFC 3339, e.g. 2023-06-15T10:00:00Z, or a date)",
        ));
    };
    use chrono::{DurationRound, TimeDelta};
    let t = t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t);
    // `now` may be the last representable instant (a recorded breach scope is read back so).
    if t > now.checked_add_signed(chrono::Duration::minutes(5)).unwrap_or(DateTime::<Utc>::MAX_UTC) {
        return Err(AppError::invalid(field, "is in the future"));
    }
    Ok(t)
}

/// Parses `YYYY-MM-DD` with a four-digit year (1000 to 9999): the only form both
/// backends store and compare as dates. 9999-12-31 is the last date, and for a
/// contract's end it means "no end" (`vigie_domain::retention::NO_END`).
pub(crate) fn parse_date(field: &str, raw: &str) -> Result<NaiveDate> {
    let raw = raw.trim();
    let bad = || AppError::invalid(field, "is not a date (expected YYYY-MM-DD, e.g. 2021-02-28)");
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shaped {
        return Err(bad());
    }
    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad())?;
    if d.year() < 1000 {
        return Err(AppError::invalid(field, "is before the year 1000"));
    }
    Ok(d)
}

pub(crate) fn parse_token<T: std::str::FromStr<Err = vigie_domain::model::UnknownToken>>(
    field: &str,
    raw: &str,
) -> Result<T> {
    raw.parse().map_err(|e: vigie_domain::model::UnknownToken| AppError::invalid(field, format!("is not valid ({e})")))
}

pub(crate) fn check_purpose(policy: &Policy, field: &str, purpose: &str) -> Result<()> {
    let purpose = identifier(field, purpose)?;
    let purpose = purpose.as_str();
    if policy.purpose(purpose).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = policy.purposes.iter().map(|p| p.id.as_str()).collect();
    Err(AppError::invalid(
        field,
        format!("`{purpose}` is not a purpose of the policy (expected one of: {})", known.join(", ")),
    ))
}

/// Free text: not empty once trimmed, at most `max` characters, no control character but tab
/// and line breaks. The OpenAPI document states it for each such field as `maxLength` and the
/// pattern of `TEXT_PATTERN` (utoipa takes only a literal there: keep the two in step).
#[cfg(test)]
pub(crate) const TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

pub(crate) fn check_text(field: &str, raw: &str, max: usize) -> Result<String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, "is empty"));
    }
    // Length and control characters are checked on the text as sent, white space included, as
    // the OpenAPI document states them.
    if raw.chars().count() > max {
        return Err(AppError::invalid(field, format!("is longer than {max} characters")));
    }
    if raw.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(AppError::invalid(field, "contains control characters"));
    }
    Ok(v.to_string())
}

pub(crate) fn check_channel(raw: &str) -> Result<String> {
    let c = raw.trim();
    if c.is_empty() || c.len() > 32 || !c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
    {
        return Err(AppError::invalid(
            "channel",
            "must be a short lower-case word such as email, phone, letter, meeting, web_form",
        ));
    }
    Ok(c.to_string())
}

/// An identifier a caller names (a purpose, a recipient): `[a-z][a-z0-9_]{0,63}`. Anything
/// else is refused without being echoed, since it could be any text, personal data included;
/// a well-formed one may then be named in an error or the audit trail.
pub(crate) fn identifier(field: &str, raw: &str) -> Result<String> {
    let v = raw.trim();
    if vigie_domain::policy::is_id(v) {
        Ok(v.to_string())
    } else {
        Err(AppError::invalid(
            field,
            "must be an identifier: a lower-case letter, then up to 63 lower-case letters, digits or underscores",
        ))
    }
}

/// A whole number, written as JSON writes it: `2` or `2.0` (both are the integer 2 to a JSON
/// Schema validator, so both are accepted).
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    use serde::Deserialize;
    let n = serde_json::Number::deserialize(d)?;
    if let Some(u) = n.as_u64() {
        return u32::try_from(u).map_err(|_| serde::de::Error::custom("is too large"));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => Ok(f as u32),
        _ => Err(serde::de::Error::custom("is not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every free-text field of the OpenAPI document states the pattern `check_text` enforces.
    #[test]
    fn free_text_fields_state_the_pattern_check_text_enforces() -> std::result::Result<(), Box<dyn std::error::Error>> {
        use utoipa::PartialSchema;
        let schemas = [
            ("reason", serde_json::to_value(crate::retention::HoldInput::schema())?),
            ("reason", serde_json::to_value(crate::rights::Extension::schema())?),
            ("reason", serde_json::to_value(crate::rights::Refusal::schema())?),
            ("description", serde_json::to_value(crate::breaches::NewBreach::schema())?),
            ("details", serde_json::to_value(crate::breaches::NewPhase::schema())?),
            ("late_reasons", serde_json::to_value(crate::breaches::NewPhase::schema())?),
            ("reference", serde_json::to_value(crate::subjects::NewContract::schema())?),
            ("summary", serde_json::to_value(crate::subjects::NewInteraction::schema())?),
            ("evidence", serde_json::to_value(crate::subjects::NewConsent::schema())?),
        ];
        for (field, schema) in schemas {
            assert_eq!(schema["properties"][field]["pattern"], TEXT_PATTERN, "{field}");
        }
        for refused in [" \u{3000}", "a\u{85}", "\u{b}a", "a\u{0}b", "abcdefghijk", "abcdefghij "] {
            assert!(check_text("f", refused, 10).is_err(), "{refused:?}");
        }
        assert_eq!(check_text("f", " a\tb\r\n", 10)?, "a\tb");
        Ok(())
    }
}
