//! Retention clocks (SPEC 4.3, policy section 5).
//!
//! - Client: retained while any contract is open (no end date); then until the
//!   end of the last contract plus the policy's years.
//! - Prospect: until the policy's years after the last **inbound** interaction;
//!   outbound contacts never extend it; with none, from the collection date.
//!
//! `expires_on` is the last day the data may be kept: a period of years runs
//! from the day after its starting event and ends with the day bearing the same
//! date (EU Regulation 1182/71, art. 3), so a subject is due for erasure from
//! the day after `expires_on`. Years keep the day, or take the month's last
//! day where that day does not exist (29 February).

use crate::dates::add_years;
use crate::model::SubjectKind;
use crate::policy::{Policy, RetentionBasis};
use chrono::NaiveDate;
use serde::Serialize;

/// Which clock a subject runs on, and what it stands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Expiry {
    pub rule: RetentionBasis,
    /// The date the clock starts from; None while a contract is open.
    pub basis_date: Option<NaiveDate>,
    /// The last day the data may be kept; None while a contract is open.
    pub expires_on: Option<NaiveDate>,
}

/// The facts the clocks read.
#[derive(Clone, Debug, Default)]
pub struct RetentionFacts {
    pub kind: Option<SubjectKind>,
    pub collected_on: Option<NaiveDate>,
    /// End date of each contract (None: open).
    pub contract_ends: Vec<Option<NaiveDate>>,
    /// The date of the latest inbound interaction.
    pub last_inbound: Option<NaiveDate>,
}

/// Computes a subject's expiry from the policy's rules.
pub fn expiry(policy: &Policy, f: &RetentionFacts) -> Expiry {
    let kind = f.kind.unwrap_or(SubjectKind::Prospect);
    let rule = policy.retention_rule(kind);
    let basis_date = match rule.basis {
        RetentionBasis::LastContractEnd => {
            if f.contract_ends.iter().any(Option::is_none) {
                None
            } else {
                // A client recorded without any contract runs from its collection.
                f.contract_ends.iter().flatten().max().copied().or(f.collected_on)
            }
        }
        RetentionBasis::LastInboundContact => f.last_inbound.or(f.collected_on),
    };
    Expiry { rule: rule.basis, basis_date, expires_on: basis_date.and_then(|d| add_years(d, rule.years)) }
}

/// Whether a subject expiring on `expires_on` is due for erasure at `at`.
pub fn is_due(expires_on: NaiveDate, at: NaiveDate) -> bool {
    expires_on < at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
    }
    fn policy() -> Policy {
        Policy::default_policy().unwrap_or_else(|e| unreachable!("{e:?}"))
    }
    fn prospect(collected: &str, inbound: Option<&str>) -> RetentionFacts {
        RetentionFacts {
            kind: Some(SubjectKind::Prospect),
            collected_on: Some(d(collected)),
            contract_ends: vec![],
            last_inbound: inbound.map(d),
        }
    }
    fn client(ends: &[Option<&str>]) -> RetentionFacts {
        RetentionFacts {
            kind: Some(SubjectKind::Client),
            collected_on: Some(d("2018-05-01")),
            contract_ends: ends.iter().map(|e| e.map(d)).collect(),
            last_inbound: Some(d("2025-01-01")),
        }
    }

    #[test]
    fn the_clocks_by_table() {
        let p = policy();
        use RetentionBasis::*;
        type Case = (&'static str, RetentionFacts, RetentionBasis, Option<&'static str>, Option<&'static str>);
        let cases: &[Case] = &[
            (
                "prospect, inbound contact",
                prospect("2023-06-01", Some("2023-06-15")),
                LastInboundContact,
                Some("2023-06-15"),
                Some("2026-06-15"),
            ),
            (
                "prospect, no inbound: from collection",
                prospect("2023-06-01", None),
                LastInboundContact,
                Some("2023-06-01"),
                Some("2026-06-01"),
            ),
            (
                "prospect collected on a leap day",
                prospect("2024-02-29", None),
                LastInboundContact,
                Some("2024-02-29"),
                Some("2027-02-28"),
            ),
            (
                "prospect, inbound on a leap day",
                prospect("2020-01-01", Some("2020-02-29")),
                LastInboundContact,
                Some("2020-02-29"),
                Some("2023-02-28"),
            ),
            (
                "client, one ended contract",
                client(&[Some("2021-02-28")]),
                LastContractEnd,
                Some("2021-02-28"),
                Some("2026-02-28"),
            ),
            (
                "client, contract ended on a leap day",
                client(&[Some("2024-02-29")]),
                LastContractEnd,
                Some("2024-02-29"),
                Some("2029-02-28"),
            ),
            (
                "client, several contracts: the last end",
                client(&[Some("2021-02-28"), Some("2019-12-31"), Some("2022-07-31")]),
                LastContractEnd,
                Some("2022-07-31"),
                Some("2027-07-31"),
            ),
            ("client, one contract open", client(&[Some("2021-02-28"), None]), LastContractEnd, None, None),
            (
                "client, end on 31 December",
                client(&[Some("2020-12-31")]),
                LastContractEnd,
                Some("2020-12-31"),
                Some("2025-12-31"),
            ),
        ];
        for (name, facts, rule, basis, expires) in cases {
            let e = expiry(&p, facts);
            assert_eq!(e.rule, *rule, "{name}");
            assert_eq!(e.basis_date, basis.map(d), "{name}");
            assert_eq!(e.expires_on, expires.map(d), "{name}");
        }
    }

    #[test]
    fn outbound_contacts_never_extend_a_prospect() {
        // Outbound interactions are not in `last_inbound`; the caller passes only inbound ones.
        let e = expiry(&policy(), &prospect("2022-01-10", None));
        assert_eq!(e.expires_on, Some(d("2025-01-10")));
    }

    #[test]
    fn a_prospect_turned_client_runs_on_the_client_clock() {
        let mut f = prospect("2020-03-01", Some("2024-05-01"));
        f.kind = Some(SubjectKind::Client);
        f.contract_ends = vec![Some(d("2025-03-31"))];
        let e = expiry(&policy(), &f);
        assert_eq!((e.rule, e.expires_on), (RetentionBasis::LastContractEnd, Some(d("2030-03-31"))));
    }

    #[test]
    fn due_from_the_day_after_expiry() {
        assert!(!is_due(d("2026-06-15"), d("2026-06-15")));
        assert!(is_due(d("2026-06-15"), d("2026-06-16")));
    }
}
