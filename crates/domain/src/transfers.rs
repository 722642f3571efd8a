//! Transfers outside the EEA (GDPR chapter V, SPEC 4.7): whether data may go
//! to a recipient's country, and on what ground.
//!
//! Inside the EEA: allowed. Outside: allowed under an adequacy decision (the
//! dated list in `policy/transfers.toml`, replaceable without a release), or
//! under a safeguard recorded for the recipient (standard contractual clauses
//! with their signature date, binding corporate rules). A partial adequacy
//! decision (the United States' Data Privacy Framework) covers only certified
//! organisations, so it needs the certification recorded as a safeguard.

use crate::model::token_enum;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The list shipped with Vigie.
pub const DEFAULT_TRANSFERS: &str = include_str!("../../../policy/transfers.toml");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adequacy {
    pub country: String,
    pub name: String,
    pub decision: String,
    #[serde(default)]
    pub scope: Option<String>,
    /// Covers only some organisations: a safeguard of kind `dpf` must be recorded.
    #[serde(default)]
    pub partial: bool,
}

/// The EEA and the adequacy decisions, as of a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferList {
    pub as_of: NaiveDate,
    pub eea: Vec<String>,
    pub adequacy: Vec<Adequacy>,
}

impl TransferList {
    pub fn parse(text: &str) -> Result<TransferList, String> {
        let list: TransferList = toml::from_str(text).map_err(|e| e.message().to_string())?;
        for c in list.eea.iter().chain(list.adequacy.iter().map(|a| &a.country)) {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                return Err(format!("`{c}` is not an ISO 3166-1 alpha-2 code"));
            }
        }
        Ok(list)
    }

    pub fn builtin() -> TransferList {
        TransferList::parse(DEFAULT_TRANSFERS).unwrap_or(TransferList {
            as_of: NaiveDate::MIN,
            eea: vec![],
            adequacy: vec![],
        })
    }

    pub fn in_eea(&self, country: &str) -> bool {
        self.eea.iter().any(|c| c == country)
    }

    pub fn adequacy(&self, country: &str) -> Option<&Adequacy> {
        self.adequacy.iter().find(|a| a.country == country)
    }
}

token_enum! {
    /// A safeguard for a transfer: `scc` (standard contractual clauses), `bcr` (binding
    /// corporate rules), or `dpf` (certification under the EU-US Data Privacy Framework).
    SafeguardKind { Scc = "scc", Bcr = "bcr", Dpf = "dpf" }
}

/// A safeguard recorded for a recipient outside the EEA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Safeguard {
    pub kind: SafeguardKind,
    /// When the clauses were signed, the rules approved, or the certification checked.
    pub signed_on: NaiveDate,
}

/// The ground a transfer rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "ground", rename_all = "snake_case")]
pub enum Ground {
    /// An internal recipient: no transfer.
    Internal,
    Eea {
        country: String,
    },
    Adequacy {
        country: String,
        decision: String,
    },
    Safeguard {
        country: String,
        kind: SafeguardKind,
        signed_on: NaiveDate,
    },
}

impl Ground {
    /// Whether the data leaves the EEA.
    pub fn outside_eea(&self) -> bool {
        matches!(self, Ground::Adequacy { .. } | Ground::Safeguard { .. })
    }
}

/// Decides whether data may go to a recipient in `country` (None: internal) on `on`.
/// The error names the reason.
pub fn assess(
    list: &TransferList,
    country: Option<&str>,
    safeguards: &[Safeguard],
    on: NaiveDate,
) -> Result<Ground, String> {
    let Some(country) = country else { return Ok(Ground::Internal) };
    if list.in_eea(country) {
        return Ok(Ground::Eea { country: country.into() });
    }
    let valid = |kinds: &[SafeguardKind]| {
        safeguards.iter().filter(|s| kinds.contains(&s.kind) && s.signed_on <= on).max_by_key(|s| s.signed_on)
    };
    match list.adequacy(country) {
        Some(a) if !a.partial => return Ok(Ground::Adequacy { country: country.into(), decision: a.decision.clone() }),
        Some(a) => {
            if let Some(s) = valid(&[SafeguardKind::Dpf]) {
                let _ = s;
                return Ok(Ground::Adequacy { country: country.into(), decision: a.decision.clone() });
            }
        }
        None => {}
    }
    if let Some(s) = valid(&[SafeguardKind::Scc, SafeguardKind::Bcr]) {
        return Ok(Ground::Safeguard { country: country.into(), kind: s.kind, signed_on: s.signed_on });
    }
    let partial = list
        .adequacy(country)
        .map(|a| {
            format!(
                " (its adequacy decision {} covers {})",
                a.decision,
                a.scope.as_deref().unwrap_or("only some organisations")
            )
        })
        .unwrap_or_default();
    Err(format!(
        "{country} is outside the EEA, has no adequacy decision{partial} in the list of {}, and no safeguard (standard contractual clauses or binding corporate rules) is recorded for this recipient",
        list.as_of
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn the_builtin_list_parses() {
        let l = TransferList::builtin();
        assert_eq!(l.eea.len(), 30);
        assert!(l.in_eea("FR") && l.in_eea("NO") && !l.in_eea("CH"));
        assert!(l.adequacy("JP").is_some() && l.adequacy("IN").is_none());
    }

    #[test]
    fn transfers_by_country_and_safeguard() {
        let l = TransferList::builtin();
        let on = d("2026-11-26");
        assert!(matches!(assess(&l, Some("DE"), &[], on), Ok(Ground::Eea { .. })));
        assert!(matches!(assess(&l, Some("JP"), &[], on), Ok(Ground::Adequacy { .. })));
        assert!(matches!(assess(&l, None, &[], on), Ok(Ground::Internal)));
        let err = assess(&l, Some("IN"), &[], on).err().unwrap_or_default();
        assert!(err.contains("IN is outside the EEA") && err.contains("2026-11-01"), "{err}");
        let scc = Safeguard { kind: SafeguardKind::Scc, signed_on: d("2026-01-15") };
        assert_eq!(
            assess(&l, Some("IN"), std::slice::from_ref(&scc), on),
            Ok(Ground::Safeguard { country: "IN".into(), kind: SafeguardKind::Scc, signed_on: d("2026-01-15") })
        );
        // Clauses signed after the disclosure date do not cover it.
        assert!(assess(&l, Some("IN"), &[scc], d("2026-01-14")).is_err());
        // A partial adequacy decision needs the certification recorded.
        assert!(assess(&l, Some("US"), &[], on).err().is_some_and(|e| e.contains("Data Privacy Framework")));
        let dpf = Safeguard { kind: SafeguardKind::Dpf, signed_on: d("2025-03-01") };
        assert!(matches!(assess(&l, Some("US"), &[dpf], on), Ok(Ground::Adequacy { .. })));
    }
}
