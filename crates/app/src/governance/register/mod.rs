//! The record of processing activities (GDPR Art. 30, SPEC 4.8), generated
//! from the policy in force and the live data, so that the register shown to
//! the CNIL and the rules Vigie enforces cannot drift apart.
//!
//! [`build`] is pure: the policy, its history, the transfer list, the recorded
//! safeguards, the counts and the date in, the register out. It holds one
//! activity per purpose of the policy, then Vigie's own processing (the
//! suppression list, rights requests, the breach register, the audit trail and
//! disclosure log), each with the CNIL model's fields, its creation and last
//! update dates among them (from the policy versions). [`App::register`] reads
//! the counts, the safeguards and the versions in the transaction that records
//! the reading in the audit trail. The exports ([`to_json`], [`to_csv`],
//! [`to_html`], [`to_xlsx`]) render one register; every label comes from the
//! catalogues of `vigie-ui`, the human exports in French or English, laid out
//! like the CNIL's register template.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::Principal;
use crate::error::{AppError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;
use vigie_domain::access::Role;
use vigie_domain::policy::{LegalBasis, Localized, RecipientKind, RetentionBasis};
use vigie_domain::records::PolicyStatus;
use vigie_domain::transfers::{Ground, Safeguard, SafeguardKind, TransferList, assess};
use vigie_domain::{Lang, Policy, SubjectKind};
use vigie_store::GroupCount;
use vigie_ui::Tr;

/// What the register says where the policy states no controller address.
pub const TO_BE_COMPLETED: &str = "to be completed";

// ---- the live data the register carries ----

/// The live counts: subjects per kind, erasures per month, kind and rule, and the records of
/// Vigie's own processing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub subjects: BTreeMap<SubjectKind, i64>,
    /// Erasures per group `YYYY-MM|kind|rule`, as `Tx::erased_counts` returns them.
    pub erased: BTreeMap<String, i64>,
    /// Entries on the suppression list.
    pub suppressed: i64,
    /// Rights requests recorded, and how many of them are open.
    pub requests: i64,
    pub open_requests: i64,
    pub breaches: i64,
    /// Entries of the audit trail.
    pub audit_entries: i64,
    /// Disclosures in the disclosure log.
    pub disclosures: i64,
}

impl Counts {
    /// From the store's groups (`subject_counts()` and `erased_counts()`).
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
        Counts { subjects, erased: out, ..Counts::default() }
    }
}

/// A safeguard recorded for a recipient, with its document's reference when the DPO gave one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub safeguard: Safeguard,
    pub reference: Option<String>,
}

/// A version of the policy that was in force, from when: the register's dates come from them,
/// and the compatibility assessments the DPO recorded before it took effect.
#[derive(Clone, Debug)]
pub struct InForce {
    pub since: NaiveDate,
    pub policy: Policy,
    pub assessments: Vec<Assessed>,
}

/// The DPO's compatibility assessment (Art. 6(4)) of one change a version made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessed {
    pub purpose: String,
    pub kind: SubjectKind,
    pub from: Option<LegalBasis>,
    pub to: LegalBasis,
    pub compatible: bool,
    pub reasoning: String,
    pub assessed_on: NaiveDate,
}

// ---- the register ----

/// A text in French and English: a sentence of the catalogues of `vigie-ui`, or a text of the
/// policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Label {
    pub fr: String,
    pub en: String,
}

impl Label {
    /// The same sentence made in each language.
    pub(crate) fn with(make: impl Fn(Tr) -> String) -> Label {
        Label { fr: make(Tr(Lang::Fr)), en: make(Tr(Lang::En)) }
    }

    /// A sentence of the catalogues.
    pub(crate) fn key(key: &str) -> Label {
        Label::with(|t| t.t(key).to_string())
    }

    /// A text of the policy.
    pub(crate) fn of(text: &Localized) -> Label {
        Label { fr: text.fr.clone(), en: text.en.clone() }
    }

    /// A text that is the same in both languages (a name).
    pub(crate) fn same(text: &str) -> Label {
        Label { fr: text.to_string(), en: text.to_string() }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        }
    }
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
    /// One per purpose of the policy, in the policy's order, then Vigie's own processing.
    pub activities: Vec<Activity>,
    pub totals: Totals,
    /// The policy's fields whose value is an assumption to confirm, not a stated fact.
    pub assumptions: Vec<AssumptionEntry>,
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

/// Where an activity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityOrigin {
    /// A purpose of the policy.
    Policy,
    /// Processing Vigie does itself to meet the controller's obligations.
    Vigie,
}

/// One processing activity: a purpose of the policy, or one of Vigie's own.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    /// The purpose id, or the id of Vigie's own activity (`suppression_list`, `rights_requests`,
    /// `breach_register`, `audit_trail`).
    pub id: String,
    pub name: Label,
    pub origin: ActivityOrigin,
    /// When the record was created: the day the first policy version holding it came into force.
    pub created_on: NaiveDate,
    /// When the record last changed: the day the last version that changed it came into force.
    pub updated_on: NaiveDate,
    /// The legal basis per category of subject.
    pub legal_bases: Vec<BasisEntry>,
    /// For a purpose resting on legitimate interest: the interest pursued (none where the
    /// policy does not state it).
    pub interest: Option<Label>,
    /// The categories of subjects the activity concerns.
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
    /// The retention rule per category of subject covered, or per record.
    pub retention: Vec<RetentionEntry>,
    pub security_measures: Vec<String>,
    pub counts: ActivityCounts,
    /// The DPO's compatibility assessments (Art. 6(4)) of the versions that added the purpose or
    /// changed its basis, oldest first.
    pub compatibility_assessments: Vec<AssessmentEntry>,
}

/// A compatibility assessment (Art. 6(4)) as the register shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentEntry {
    /// The policy version that made the change.
    pub version: String,
    pub kind: SubjectKind,
    /// The basis before; none when the purpose (or the kind) was new to it.
    pub from: Option<LegalBasis>,
    pub to: LegalBasis,
    pub compatible: bool,
    pub reasoning: String,
    pub assessed_on: NaiveDate,
    /// The change in words.
    pub label: Label,
    /// The conclusion in words.
    pub conclusion: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BasisEntry {
    /// The kind of subject; none where the basis holds for every person the activity concerns.
    pub subject_kind: Option<SubjectKind>,
    /// Whom the basis applies to, in words.
    pub applies_to: Label,
    pub basis: LegalBasis,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectCategory {
    /// The kind of subject; none for the persons of Vigie's own processing.
    pub kind: Option<SubjectKind>,
    pub label: Label,
    pub description: Label,
}

/// A category of data: one of the policy's, or one of the records of Vigie's own processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CategoryId {
    Identity,
    Contact,
    Professional,
    Notes,
    Contract,
    Interactions,
    /// Keyed hashes of an email address and a phone number (the suppression list).
    KeyedHashes,
    /// A requester's identity and contact details, as given with the request.
    Requester,
    Request,
    IdentityCheck,
    Breach,
    AuditTrail,
    DisclosureLog,
}

impl CategoryId {
    fn as_str(self) -> &'static str {
        match self {
            CategoryId::Identity => "identity",
            CategoryId::Contact => "contact",
            CategoryId::Professional => "professional",
            CategoryId::Notes => "notes",
            CategoryId::Contract => "contract",
            CategoryId::Interactions => "interactions",
            CategoryId::KeyedHashes => "keyed_hashes",
            CategoryId::Requester => "requester",
            CategoryId::Request => "request",
            CategoryId::IdentityCheck => "identity_check",
            CategoryId::Breach => "breach",
            CategoryId::AuditTrail => "audit_trail",
            CategoryId::DisclosureLog => "disclosure_log",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataCategoryEntry {
    pub id: CategoryId,
    pub label: Label,
    /// What the category holds.
    pub detail: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientEntry {
    /// A recipient of the policy; `dpo`, `auditor` or `authority` for Vigie's own processing.
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
    /// The safeguard's document, as recorded (e.g. the signed clauses' reference and module).
    pub safeguard_reference: Option<String>,
    /// Why the transfer is not allowed.
    pub reason: Option<String>,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionEntry {
    /// The kind of subject; none for the records of Vigie's own processing.
    pub subject_kind: Option<SubjectKind>,
    /// What the period applies to, in words.
    pub applies_to: Label,
    /// The clock of a purpose's data; none for Vigie's own records (each has its own start).
    pub basis: Option<RetentionBasis>,
    /// Years; none where no period is set (kept as long as the installation).
    pub years: Option<u32>,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: SubjectKind,
    pub count: i64,
}

/// What an activity's count counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountUnit {
    /// Subjects (the purposes).
    Persons,
    /// Entries of the suppression list.
    Entries,
    Requests,
    OpenRequests,
    Breaches,
    AuditEntries,
    Disclosures,
}

impl CountUnit {
    fn as_str(self) -> &'static str {
        match self {
            CountUnit::Persons => "persons",
            CountUnit::Entries => "entries",
            CountUnit::Requests => "requests",
            CountUnit::OpenRequests => "open_requests",
            CountUnit::Breaches => "breaches",
            CountUnit::AuditEntries => "audit_entries",
            CountUnit::Disclosures => "disclosures",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitCount {
    pub unit: CountUnit,
    pub count: i64,
}

/// What an activity covers now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityCounts {
    /// Subjects per kind (the purposes).
    pub subjects: Vec<KindCount>,
    pub total: i64,
    /// What `total` counts.
    pub unit: CountUnit,
    /// Further counts (open requests, disclosures).
    pub details: Vec<UnitCount>,
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

/// A field of the policy whose value is an assumption.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssumptionEntry {
    /// The field's path in the policy file.
    pub path: String,
    /// The field in words.
    pub label: Label,
}

// ---- the service ----

/// The policy versions of the last register built, parsed, keyed by their exact text: only
/// those, so that it holds no more than the versions on record.
#[derive(Debug, Default)]
pub(crate) struct ParsedVersions(std::sync::Mutex<HashMap<String, Policy>>);

impl ParsedVersions {
    fn take(&self) -> HashMap<String, Policy> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
    fn keep(&self, parsed: HashMap<String, Policy>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = parsed;
    }
}

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
        let (counts, signed, versions, assessed) = self
            .db
            .audited(actor, move |tx, trail| {
                let kinds = tx.subject_counts()?;
                let erased = tx.erased_counts()?;
                let signed = tx.safeguards()?;
                let suppressed = tx.count_suppressed()?;
                let own = tx.own_counts()?;
                let (audit_entries, _) = tx.audit_head_recorded()?;
                let versions = tx.policy_versions()?;
                let assessed = tx.assessments()?;
                let recorded = trail.record(tx, Entry::new("register.read"))?;
                let counts = Counts {
                    suppressed,
                    requests: own.requests,
                    open_requests: own.open_requests,
                    breaches: own.breaches,
                    // The entry that records this reading is counted too.
                    audit_entries: audit_entries + 1,
                    disclosures: own.disclosures,
                    ..Counts::from_groups(kinds, erased)
                };
                Ok(((counts, signed, versions, assessed), recorded))
            })
            .await?;
        let mut safeguards: BTreeMap<String, Vec<Recorded>> = BTreeMap::new();
        for s in signed {
            safeguards.entry(s.recipient).or_default().push(Recorded {
                safeguard: Safeguard { kind: s.kind, signed_on: s.signed_on },
                reference: s.reference,
            });
        }
        let mut parsed = self.parsed_versions.take();
        let mut kept = HashMap::with_capacity(versions.len());
        let mut history: Vec<(DateTime<Utc>, InForce)> = versions
            .into_iter()
            .filter(|v| v.status != PolicyStatus::Pending)
            .filter_map(|v| {
                let activated = v.activated_at?;
                // Parsing a policy takes milliseconds: a text already parsed is not parsed again.
                let policy = match parsed.remove(&v.text) {
                    Some(p) => p,
                    None => Policy::from_toml(&v.text).policy?,
                };
                kept.insert(v.text, policy.clone());
                let assessments = assessed
                    .iter()
                    .filter(|a| a.version == v.version)
                    .map(|a| Assessed {
                        purpose: a.purpose.clone(),
                        kind: a.kind,
                        from: a.from_basis,
                        to: a.to_basis,
                        compatible: a.compatible,
                        reasoning: a.reasoning.clone(),
                        assessed_on: a.assessed_at.date_naive(),
                    })
                    .collect();
                Some((activated, InForce { since: activated.date_naive(), policy, assessments }))
            })
            .collect();
        self.parsed_versions.keep(kept);
        history.sort_by_key(|(at, _)| *at);
        let history: Vec<InForce> = history.into_iter().map(|(_, v)| v).collect();
        let policy = self.policy();
        Ok(build(&policy, &history, &self.transfers, &safeguards, &counts, at))
    }
}

// ---- JSON ----

/// The register as pretty-printed JSON (the shape of `GET /api/v1/register`).
pub fn to_json(reg: &Register) -> String {
    // Serialising these plain structs cannot fail: no map has a non-string key.
    serde_json::to_string_pretty(reg).unwrap_or_default()
}

#[cfg(test)]
mod app_tests;
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
pub use self::html::{page, to_html};
pub use self::xlsx::to_xlsx;
use self::{labels::*, layout::*};
