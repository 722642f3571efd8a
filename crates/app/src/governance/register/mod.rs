//! The record of processing activities (GDPR Art. 30, SPEC 4.8), generated
//! from the policy in force and the live data, so that the register shown to
//! the CNIL and the rules Vigie enforces cannot drift apart.
//!
//! [`build`] is pure: the policy, the transfer list, the recorded safeguards,
//! the counts and the date in, the register out. [`App::register`] reads the
//! counts (one `GROUP BY` over the subjects, and the erasure tally) in the
//! transaction that records the reading in the audit trail. The exports
//! ([`to_json`], [`to_csv`], [`to_html`], [`to_xlsx`]) render one register;
//! the human ones are in French, laid out like the CNIL's register template.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::Principal;
use crate::error::{AppError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use utoipa::ToSchema;
use vigie_domain::access::Role;
use vigie_domain::policy::{DataCategory, LegalBasis, RecipientKind, RetentionBasis};
use vigie_domain::transfers::{Ground, Safeguard, SafeguardKind, TransferList, assess};
use vigie_domain::{Policy, SubjectKind};
use vigie_store::{GroupCount, StatGroup};

/// What the register says where the policy states no controller address.
pub const TO_BE_COMPLETED: &str = "to be completed";

// ---- the live data the register carries ----

/// The live counts: subjects per kind, and erasures per month, kind and rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub subjects: BTreeMap<SubjectKind, i64>,
    /// Erasures per group `YYYY-MM|kind|rule`, as `Tx::erased_counts` returns them.
    pub erased: BTreeMap<String, i64>,
    /// Entries on the suppression list.
    pub suppressed: i64,
}

impl Counts {
    /// From the store's groups (`count_subjects_by(StatGroup::Kind)` and `erased_counts()`).
    pub fn from_groups(kinds: Vec<GroupCount>, erased: Vec<GroupCount>) -> Counts {
        let mut subjects = BTreeMap::new();
        for g in kinds {
            if let Ok(k) = g.group.parse::<SubjectKind>() {
                *subjects.entry(k).or_insert(0) += g.count;
            }
        }
        let mut out = BTreeMap::new();
        for g in erased {
            *out.entry(g.group).or_insert(0) += g.count;
        }
        Counts { subjects, erased: out, suppressed: 0 }
    }
}

// ---- the register ----

/// A text in French and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Label {
    pub fr: String,
    pub en: String,
}

fn label(fr: impl Into<String>, en: impl Into<String>) -> Label {
    Label { fr: fr.into(), en: en.into() }
}

/// The record of processing activities (GDPR Art. 30(1)).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Register {
    pub generated_at: DateTime<Utc>,
    pub policy_version: String,
    pub policy_effective_date: NaiveDate,
    /// The date of the EEA and adequacy-decision list the transfers were assessed against.
    pub transfer_list_as_of: NaiveDate,
    pub controller: ControllerEntry,
    pub dpo: DpoEntry,
    /// One per purpose of the policy, in the policy's order.
    pub activities: Vec<Activity>,
    pub totals: Totals,
    /// Field paths of the policy whose value is an assumption to confirm, not a stated fact.
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ControllerEntry {
    pub name: String,
    /// The postal address, or "to be completed" where the policy states none.
    pub address: String,
    pub address_stated: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DpoEntry {
    pub name: String,
    pub email: String,
    pub address: String,
}

/// One processing activity: one purpose of the policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    /// The purpose id.
    pub id: String,
    pub name: Label,
    /// The legal basis per category of subject.
    pub legal_bases: Vec<BasisEntry>,
    /// The kinds of subject the purpose covers.
    pub subject_categories: Vec<SubjectCategory>,
    pub data_categories: Vec<DataCategoryEntry>,
    /// Only aggregates are produced, never one subject's data.
    pub aggregates_only: bool,
    /// For an aggregates-only purpose: the smallest group shown.
    pub min_group_size: Option<u32>,
    /// Whether the archived record stays readable for this purpose after the last contract ends.
    pub survives_contract: bool,
    /// Who may read archived records for it: recipient ids, or `dpo`.
    pub archived_readers: Vec<String>,
    pub recipients: Vec<RecipientEntry>,
    /// One per external recipient of the purpose outside the EEA.
    pub transfers: Vec<TransferEntry>,
    /// The retention rule per category of subject covered.
    pub retention: Vec<RetentionEntry>,
    pub security_measures: Vec<String>,
    pub counts: ActivityCounts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BasisEntry {
    pub subject_kind: SubjectKind,
    pub basis: LegalBasis,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectCategory {
    pub kind: SubjectKind,
    pub label: Label,
    pub description: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataCategoryEntry {
    pub id: DataCategory,
    pub label: Label,
    /// What the category holds.
    pub detail: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientEntry {
    pub id: String,
    pub name: Label,
    /// `internal` or `external`.
    pub kind: RecipientKind,
    /// For an external recipient: `processor`, `service_provider`, `partner`…
    pub role: Option<String>,
    pub role_label: Label,
    /// ISO 3166-1 alpha-2 code (external recipients).
    pub country: Option<String>,
    /// The country is an assumption of the policy, to confirm.
    pub country_is_assumption: bool,
}

/// The ground of a transfer outside the EEA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// An adequacy decision of the Commission (Art. 45).
    Adequacy,
    /// A recorded safeguard (Art. 46): standard contractual clauses, binding corporate rules.
    Safeguard,
    /// No ground: every disclosure to this recipient is refused.
    NotAllowed,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferEntry {
    pub recipient_id: String,
    pub recipient: Label,
    pub country: String,
    /// The country's name, where the transfer list knows it.
    pub country_name: Option<String>,
    pub status: TransferStatus,
    /// The adequacy decision relied on.
    pub decision: Option<String>,
    /// The kind of safeguard relied on: `scc` or `bcr`.
    pub safeguard: Option<SafeguardKind>,
    /// When the safeguard was signed or approved.
    pub signed_on: Option<NaiveDate>,
    /// Why the transfer is not allowed.
    pub reason: Option<String>,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionEntry {
    pub subject_kind: SubjectKind,
    /// The clock of a purpose's data; none for the suppression list (it runs from the objection).
    pub basis: Option<RetentionBasis>,
    pub years: u32,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: SubjectKind,
    pub count: i64,
}

/// The subjects an activity covers now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityCounts {
    pub subjects: Vec<KindCount>,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErasureCount {
    /// YYYY-MM.
    pub month: String,
    pub kind: String,
    /// The retention rule the subjects were erased under.
    pub rule: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Totals {
    pub subjects: Vec<KindCount>,
    pub total_subjects: i64,
    pub erased_total: i64,
    /// Erasures per month, kind and rule.
    pub erasures: Vec<ErasureCount>,
}

// ---- the service ----

impl App {
    /// The register of processing activities (dpo, auditor), with live counts; audited.
    pub async fn register(&self, who: &Principal) -> Result<Register> {
        who.require(&[Role::Dpo, Role::Auditor], "reading the register of processing activities")?;
        self.register_by(who.actor()).await
    }

    /// The register for the command line (audited as the CLI).
    pub async fn register_export(&self) -> Result<Register> {
        self.register_by(Actor::Cli).await
    }

    async fn register_by(&self, actor: Actor) -> Result<Register> {
        let at = self.now();
        let (counts, signed) = self
            .db
            .audited(actor, move |tx, trail| {
                let kinds = tx.count_subjects_by(StatGroup::Kind)?;
                let erased = tx.erased_counts()?;
                let signed = tx.safeguards()?;
                let suppressed = tx.count_suppressed()?;
                let recorded = trail.record(tx, Entry::new("register.read"))?;
                Ok(((Counts { suppressed, ..Counts::from_groups(kinds, erased) }, signed), recorded))
            })
            .await?;
        let mut safeguards: BTreeMap<String, Vec<Safeguard>> = BTreeMap::new();
        for s in signed {
            safeguards.entry(s.recipient).or_default().push(Safeguard { kind: s.kind, signed_on: s.signed_on });
        }
        let policy = self.policy();
        Ok(build(&policy, &self.transfers, &safeguards, &counts, at))
    }
}

// ---- JSON ----

/// The register as pretty-printed JSON (the shape of `GET /api/v1/register`).
pub fn to_json(reg: &Register) -> String {
    // Serialising these plain structs cannot fail: no map has a non-string key.
    serde_json::to_string_pretty(reg).unwrap_or_default()
}

mod build;
mod csv;
mod html;
mod labels;
mod layout;
#[cfg(test)]
mod tests;
mod xlsx;

pub use self::build::build;
pub use self::csv::to_csv;
pub use self::html::to_html;
pub use self::xlsx::to_xlsx;
use self::{labels::*, layout::*};
