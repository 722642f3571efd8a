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
//!
//! The clocks fail safe (SPEC 4.3): a contract ending on [`NO_END`]
//! (9999-12-31, the "open-ended" value of ERPs) is open; a clock that would run
//! past [`NO_END`] never runs out; a client recorded without any contract has
//! no clock at all ([`Clock::NoContract`]): it is listed for review, never
//! erased, because its collection date says nothing about its contract.

use crate::dates::add_years;
use crate::model::SubjectKind;
use crate::policy::{Policy, RetentionBasis};
use chrono::NaiveDate;
use serde::Serialize;

/// The last date Vigie stores: a contract ending on it has no end, and no
/// clock runs past it (dates are stored with four-digit years on both backends).
pub const NO_END: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// Whether a clock is running, and if not why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// `expires_on` is set.
    Running,
    /// A contract is open (or ends on [`NO_END`], or the clock would run past it).
    Open,
    /// A client without any recorded contract: to review, never erased.
    NoContract,
}

impl Clock {
    /// The `retention_rule` stored for a client without contract, in place of its basis.
    pub const NO_CONTRACT_RULE: &'static str = "client_without_contract";
}

/// Which clock a subject runs on, and what it stands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Expiry {
    pub rule: RetentionBasis,
    pub clock: Clock,
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
    let open = Expiry { rule: rule.basis, clock: Clock::Open, basis_date: None, expires_on: None };
    let basis_date = match rule.basis {
        RetentionBasis::LastContractEnd => {
            if f.contract_ends.is_empty() {
                return Expiry { clock: Clock::NoContract, ..open };
            }
            if f.contract_ends.iter().any(|e| e.is_none_or(|d| d >= NO_END)) {
                return open;
            }
            f.contract_ends.iter().flatten().max().copied()
        }
        RetentionBasis::LastInboundContact => f.last_inbound.or(f.collected_on),
    };
    match basis_date.and_then(|d| add_years(d, rule.years)) {
        Some(expires) if expires <= NO_END => {
            Expiry { rule: rule.basis, clock: Clock::Running, basis_date, expires_on: Some(expires) }
        }
        _ => open,
    }
}

impl Expiry {
    /// The `retention_rule` column: the basis, or [`Clock::NO_CONTRACT_RULE`].
    pub fn stored_rule(&self) -> &'static str {
        match self.clock {
            Clock::NoContract => Clock::NO_CONTRACT_RULE,
            _ => self.rule.as_str(),
        }
    }
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
            ("client, contract ending 9999-12-31: open", client(&[Some("9999-12-31")]), LastContractEnd, None, None),
            (
                "client, contract ending 9996-01-01: the clock would pass 9999-12-31",
                client(&[Some("9996-01-01"), Some("2020-01-01")]),
                LastContractEnd,
                None,
                None,
            ),
            (
                "client, ending 9994-12-31: expires on the last storable day",
                client(&[Some("9994-12-31")]),
                LastContractEnd,
                Some("9994-12-31"),
                Some("9999-12-31"),
            ),
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
    fn a_client_without_contract_has_no_clock() {
        let mut f = client(&[]);
        f.collected_on = Some(d("2010-01-01"));
        let e = expiry(&policy(), &f);
        assert_eq!((e.clock, e.expires_on, e.basis_date), (Clock::NoContract, None, None));
        assert_eq!(e.stored_rule(), "client_without_contract");
        assert_eq!(expiry(&policy(), &client(&[Some("2020-01-01")])).stored_rule(), "last_contract_end");
    }

    #[test]
    fn no_clock_ever_runs_past_the_last_storable_day() {
        let p = policy();
        for end in ["9990-06-30", "9994-12-31", "9995-01-01", "9999-12-30", "9999-12-31"] {
            let e = expiry(&p, &client(&[Some(end)]));
            assert!(e.expires_on.is_none_or(|x| x <= NO_END), "{end}");
        }
        let e = expiry(&p, &prospect("9998-01-01", None));
        assert_eq!((e.clock, e.expires_on), (Clock::Open, None));
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
