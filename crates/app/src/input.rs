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
    if t > now + chrono::Duration::minutes(5) {
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

pub(crate) fn check_text(field: &str, raw: &str, max: usize) -> Result<String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, "is empty"));
    }
    if v.chars().count() > max {
        return Err(AppError::invalid(field, format!("is longer than {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
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
