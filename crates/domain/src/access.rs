//! Purpose-bound access (SPEC 4.2): the one function that decides whether a
//! caller may read a subject's personal data for a purpose, and if not, which
//! rule failed.

use crate::model::{SubjectKind, token_enum};
use crate::policy::{DataCategory, LegalBasis, Policy, RecipientKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

token_enum! {
    /// What a token or user may do (SPEC 4.5).
    Role {
        Admin = "admin",
        Dpo = "dpo",
        Staff = "staff",
        Recipient = "recipient",
        Auditor = "auditor",
    }
}

impl Role {
    /// The roles a person's account may have (`recipient` is for machines bound to a recipient).
    pub const PEOPLE: &'static [Role] = &[Role::Admin, Role::Dpo, Role::Staff, Role::Auditor];
}

/// Who is reading: a role, and for the `recipient` role the policy recipient it is bound to.
#[derive(Clone, Copy, Debug)]
pub struct Caller<'a> {
    pub role: Role,
    pub recipient: Option<&'a str>,
}

impl Caller<'_> {
    /// The policy names this caller answers to: recipient ids, and `dpo` for the DPO.
    /// The DPO and staff are employees, so they act as the internal recipients.
    fn acts_as<'p>(&'p self, policy: &'p Policy) -> Vec<&'p str> {
        match self.role {
            Role::Admin | Role::Auditor => Vec::new(),
            Role::Staff => policy.internal_recipients().map(|r| r.id.as_str()).collect(),
            Role::Dpo => std::iter::once("dpo").chain(policy.internal_recipients().map(|r| r.id.as_str())).collect(),
            Role::Recipient => self.recipient.into_iter().collect(),
        }
    }
}

/// What the rules need to know about a subject, as of the date of the read.
#[derive(Clone, Debug, Default)]
pub struct SubjectFacts {
    pub kind: Option<SubjectKind>,
    /// A contract that has not ended (no end date, or an end date today or later).
    pub active_contract: bool,
    /// Whether the subject ever had a contract.
    pub any_contract: bool,
    /// The latest consent decision per purpose id.
    pub consents: BTreeMap<String, bool>,
    /// Purposes the subject objected to.
    pub objections: BTreeSet<String>,
    /// Processing is restricted (Art. 18): only storage, and reads for legal claims.
    pub restricted: bool,
}

/// An allowed read: what it may return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub purpose: String,
    pub basis: LegalBasis,
    pub categories: Vec<DataCategory>,
    /// Read of an archived record (after the last contract ended).
    pub archived: bool,
    /// The external recipient this read discloses data to, if any.
    pub disclosed_to: Option<String>,
}

token_enum! {
    /// The rule a refused read failed. Stable: clients match on it.
    Rule {
        UnknownPurpose = "unknown_purpose",
        RoleNotRecipient = "role_not_recipient",
        SubjectKindNotCovered = "subject_kind_not_covered",
        AggregatesOnly = "aggregates_only",
        NoActiveContract = "no_active_contract",
        Archived = "archived",
        NoConsent = "no_consent",
        Objection = "objection",
        Restricted = "restricted",
    }
}

/// A refused read: the failed rule and a sentence naming it (ids only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub rule: Rule,
    pub detail: String,
}

fn refuse(rule: Rule, detail: String) -> Result<Grant, Refusal> {
    Err(Refusal { rule, detail })
}

/// Decides a read of one subject's personal data for `purpose_id`.
pub fn check_read(
    policy: &Policy,
    caller: Caller<'_>,
    purpose_id: &str,
    subject: &SubjectFacts,
) -> Result<Grant, Refusal> {
    let Some(purpose) = policy.purpose(purpose_id) else {
        let known: Vec<&str> = policy.purposes.iter().map(|p| p.id.as_str()).collect();
        return refuse(
            Rule::UnknownPurpose,
            format!("purpose `{purpose_id}` is not declared by the policy (declared: {})", known.join(", ")),
        );
    };
    let names = caller.acts_as(policy);
    let Some(acting_as) = names.iter().find(|n| policy.is_recipient_of(n, purpose_id)).copied() else {
        let who = match caller.role {
            Role::Recipient => format!("recipient `{}`", caller.recipient.unwrap_or("?")),
            role => format!("role `{role}`"),
        };
        return refuse(Rule::RoleNotRecipient, format!("{who} is not a recipient of purpose `{purpose_id}`"));
    };
    let kind = subject.kind.unwrap_or(SubjectKind::Prospect);
    let Some(&basis) = purpose.bases.get(&kind) else {
        return refuse(
            Rule::SubjectKindNotCovered,
            format!("purpose `{purpose_id}` does not cover subjects of kind `{kind}`"),
        );
    };
    if subject.restricted {
        // Art. 18(2): while restricted, the data is only stored; it is read only for the
        // establishment, exercise or defence of legal claims, by the readers of the archive.
        let reader = names.iter().any(|n| purpose.archived_readers.iter().any(|a| a == n));
        if !(purpose.legal_claims && reader) {
            let allowed: Vec<&str> = policy.purposes.iter().filter(|p| p.legal_claims).map(|p| p.id.as_str()).collect();
            return refuse(
                Rule::Restricted,
                format!(
                    "the subject's data is restricted (Art. 18): it is stored only, and read only for legal claims ({}) by {}",
                    if allowed.is_empty() { "no purpose".to_string() } else { allowed.join(", ") },
                    purpose.archived_readers.join(" and ")
                ),
            );
        }
    }
    if purpose.aggregates_only {
        return refuse(
            Rule::AggregatesOnly,
            format!("purpose `{purpose_id}` returns aggregates only, never one subject's data: use /api/v1/statistics"),
        );
    }
    let mut archived = false;
    match basis {
        LegalBasis::Contract if subject.active_contract => {}
        LegalBasis::Contract if subject.any_contract => {
            let reader = names.iter().any(|n| purpose.archived_readers.iter().any(|a| a == n));
            if purpose.survives_contract && reader {
                archived = true;
            } else {
                let surviving: Vec<&str> =
                    policy.purposes.iter().filter(|p| p.survives_contract).map(|p| p.id.as_str()).collect();
                return refuse(
                    Rule::Archived,
                    format!(
                        "the subject's last contract has ended: the record is archived and may be read only for {} by {}",
                        if surviving.is_empty() { "no purpose".to_string() } else { surviving.join(", ") },
                        purpose.archived_readers.join(" and ")
                    ),
                );
            }
        }
        LegalBasis::Contract => {
            return refuse(
                Rule::NoActiveContract,
                format!("purpose `{purpose_id}` rests on a contract and the subject has no active contract"),
            );
        }
        LegalBasis::Consent => {
            if subject.objections.contains(purpose_id) {
                return refuse(Rule::Objection, format!("the subject objected to purpose `{purpose_id}`"));
            }
            if subject.consents.get(purpose_id) != Some(&true) {
                return refuse(
                    Rule::NoConsent,
                    format!(
                        "purpose `{purpose_id}` rests on consent and the subject's latest consent for it is not granted"
                    ),
                );
            }
        }
        LegalBasis::LegitimateInterest | LegalBasis::PublicTask => {
            if subject.objections.contains(purpose_id) {
                return refuse(Rule::Objection, format!("the subject objected to purpose `{purpose_id}`"));
            }
        }
        LegalBasis::LegalObligation | LegalBasis::VitalInterests => {}
    }
    let disclosed_to = policy.recipient(acting_as).filter(|r| r.kind == RecipientKind::External).map(|r| r.id.clone());
    Ok(Grant {
        purpose: purpose_id.to_string(),
        basis,
        categories: purpose.data_categories.clone(),
        archived,
        disclosed_to,
    })
}

/// Whether a caller may read aggregates for `purpose_id` (statistics).
pub fn check_aggregate(policy: &Policy, caller: Caller<'_>, purpose_id: &str) -> Result<u32, Refusal> {
    let Some(purpose) = policy.purpose(purpose_id) else {
        return Err(Refusal {
            rule: Rule::UnknownPurpose,
            detail: format!("purpose `{purpose_id}` is not declared by the policy"),
        });
    };
    if !caller.acts_as(policy).iter().any(|n| policy.is_recipient_of(n, purpose_id)) {
        return Err(Refusal {
            rule: Rule::RoleNotRecipient,
            detail: format!("the caller is not a recipient of purpose `{purpose_id}`"),
        });
    }
    Ok(purpose.min_group_size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn policy() -> Policy {
        match Policy::default_policy() {
            Ok(p) => p,
            Err(e) => unreachable!("default policy invalid: {e:?}"),
        }
    }
    const STAFF: Caller<'static> = Caller { role: Role::Staff, recipient: None };
    const DPO: Caller<'static> = Caller { role: Role::Dpo, recipient: None };

    fn prospect() -> SubjectFacts {
        SubjectFacts { kind: Some(SubjectKind::Prospect), ..Default::default() }
    }
    fn client(active: bool) -> SubjectFacts {
        SubjectFacts {
            kind: Some(SubjectKind::Client),
            active_contract: active,
            any_contract: true,
            ..Default::default()
        }
    }
    fn rule(r: Result<Grant, Refusal>) -> Option<Rule> {
        r.err().map(|r| r.rule)
    }

    #[test]
    fn each_rule_is_named() {
        let p = policy();
        assert_eq!(rule(check_read(&p, STAFF, "marketing", &prospect())), Some(Rule::UnknownPurpose));
        let admin = Caller { role: Role::Admin, recipient: None };
        assert_eq!(rule(check_read(&p, admin, "prospect_relations", &prospect())), Some(Rule::RoleNotRecipient));
        let acct = Caller { role: Role::Recipient, recipient: Some("accountant") };
        assert_eq!(rule(check_read(&p, acct, "service_delivery", &client(true))), Some(Rule::RoleNotRecipient));
        assert_eq!(rule(check_read(&p, STAFF, "contract_management", &prospect())), Some(Rule::SubjectKindNotCovered));
        assert_eq!(rule(check_read(&p, STAFF, "statistics", &prospect())), Some(Rule::AggregatesOnly));
        assert_eq!(rule(check_read(&p, STAFF, "events", &prospect())), Some(Rule::NoConsent));
        let mut objected = prospect();
        objected.objections.insert("prospect_relations".into());
        assert_eq!(rule(check_read(&p, STAFF, "prospect_relations", &objected)), Some(Rule::Objection));
        assert_eq!(rule(check_read(&p, STAFF, "customer_relations", &client(false))), Some(Rule::Archived));
        let contractless = SubjectFacts { kind: Some(SubjectKind::Client), ..Default::default() };
        assert_eq!(rule(check_read(&p, STAFF, "customer_relations", &contractless)), Some(Rule::NoActiveContract));
    }

    #[test]
    fn allowed_reads_carry_their_grant() {
        let p = policy();
        let g = check_read(&p, STAFF, "prospect_relations", &prospect());
        assert!(matches!(
            g,
            Ok(Grant { basis: LegalBasis::LegitimateInterest, archived: false, disclosed_to: None, .. })
        ));
        let mut consented = prospect();
        consented.consents.insert("events".into(), true);
        assert!(check_read(&p, STAFF, "events", &consented).is_ok());
        consented.consents.insert("events".into(), false);
        assert_eq!(rule(check_read(&p, STAFF, "events", &consented)), Some(Rule::NoConsent));
    }

    #[test]
    fn archived_records_are_read_only_by_the_dpo_and_the_accountant() {
        let p = policy();
        let acct = Caller { role: Role::Recipient, recipient: Some("accountant") };
        let archived = client(false);
        let g = check_read(&p, acct, "contract_management", &archived);
        assert!(matches!(&g, Ok(g) if g.archived && g.disclosed_to.as_deref() == Some("accountant")), "{g:?}");
        assert!(matches!(check_read(&p, DPO, "contract_management", &archived), Ok(g) if g.archived));
        assert_eq!(rule(check_read(&p, STAFF, "contract_management", &archived)), Some(Rule::Archived));
        let erp = Caller { role: Role::Recipient, recipient: Some("saas_erp") };
        assert_eq!(rule(check_read(&p, erp, "contract_management", &archived)), Some(Rule::Archived));
        assert!(check_read(&p, erp, "contract_management", &client(true)).is_ok());
    }

    #[test]
    fn a_restricted_subject_is_read_only_for_legal_claims() {
        let p = policy();
        let mut prospect = prospect();
        prospect.restricted = true;
        assert_eq!(rule(check_read(&p, STAFF, "prospect_relations", &prospect)), Some(Rule::Restricted));
        assert_eq!(rule(check_read(&p, DPO, "prospect_relations", &prospect)), Some(Rule::Restricted));
        let mut active = client(true);
        active.restricted = true;
        assert_eq!(rule(check_read(&p, STAFF, "contract_management", &active)), Some(Rule::Restricted));
        assert_eq!(rule(check_read(&p, STAFF, "customer_relations", &active)), Some(Rule::Restricted));
        assert!(check_read(&p, DPO, "contract_management", &active).is_ok());
        let acct = Caller { role: Role::Recipient, recipient: Some("accountant") };
        assert!(check_read(&p, acct, "contract_management", &active).is_ok());
        let erp = Caller { role: Role::Recipient, recipient: Some("saas_erp") };
        assert_eq!(rule(check_read(&p, erp, "contract_management", &active)), Some(Rule::Restricted));
    }
}
