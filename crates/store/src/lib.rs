//! The storage seam.
//!
//! [`Tx`] is a transaction at the level of Vigie's use cases: insert a
//! subject, list its contracts, append an audit entry. It holds no rule about
//! content: rules live in `vigie-app`, which runs them inside the transaction
//! it is handed. Personal values reach this crate only sealed (bytes) or as
//! blind indexes; nothing here can read them.
//!
//! [`Store`] runs closures over a `Tx` on dedicated connection threads (see
//! [`worker`]): writes are batched into group commits, so many concurrent
//! requests share one durable disk sync, each isolated by a savepoint.
//! A backend (`vigie-store-sqlite`, `vigie-store-postgres`) only opens
//! connections and implements [`Tx`] in its SQL dialect.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod copy;
pub mod raw;
pub mod sql;
mod worker;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
pub use uuid::Uuid;
use vigie_domain::access::Role;
use vigie_domain::policy::{DataCategory, LegalBasis};
use vigie_domain::records::{
    BreachKeys, BreachNature, BreachPhase, BreachRisk, BreachStatus, HoldAction, IdentityDocument, IdentityVerdict,
    OutboxStatus, PolicyStatus, RequestChannel, RequestKind, RequestOutcome, RequestStatus,
};
use vigie_domain::transfers::SafeguardKind;
use vigie_domain::{Direction, SubjectKind};
pub use worker::{Store, WRITE_RETRIES, WorkerConfig};

/// Every id is a UUIDv7: time-ordered, so primary-key indexes grow at the end.
pub type Id = Uuid;

/// A new time-ordered id.
pub fn new_id() -> Id {
    Uuid::now_v7()
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule of the schema was broken (named by constraint, never by value).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row the statement needed does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Backend(String),
    /// A transient conflict between concurrent transactions (a deadlock, a serialization
    /// failure): nothing was written, and the same request may be sent again.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// The database's disk (or its quota) is full: nothing was written; writes work again
    /// once there is room, without a restart.
    #[error("the database's disk is full: {0}")]
    Full(String),
    /// The store's threads have stopped.
    #[error("the store is shut down")]
    Closed,
}

/// An error after which the same transaction, run again, may succeed: [`Store::write`]
/// runs it again a few times before giving up.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for StoreError {
    fn is_transient(&self) -> bool {
        matches!(self, StoreError::Busy(_))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What a new subject's email and phone blind indexes already match ([`ReadTx::intake_matches`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntakeMatches {
    /// Whether the email or the phone is on the suppression list.
    pub suppressed: bool,
    /// The subjects recorded with the same email or phone, by id, each once.
    pub duplicates: Vec<Id>,
}

/// A subject as stored: kind, dates, blind indexes, and sealed identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectRow {
    pub id: Id,
    pub kind: SubjectKind,
    pub collected_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email_bi: Option<Vec<u8>>,
    pub phone_bi: Option<Vec<u8>>,
    /// The identity fields with their provenance, sealed under the subject key.
    pub identity: Vec<u8>,
    /// The subject key, wrapped by the master key.
    pub wrapped_key: Vec<u8>,
    /// The retention clock: rule, the date it runs from, the last day the data may be kept.
    pub retention_rule: String,
    pub basis_date: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    /// A legal hold: its reason (sealed) and when it was set.
    pub legal_hold: Option<Vec<u8>>,
    pub held_at: Option<DateTime<Utc>>,
}

/// A subject the retention sweep considers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueRow {
    pub id: Id,
    pub kind: SubjectKind,
    pub rule: String,
    pub basis_date: Option<NaiveDate>,
    pub expires_on: NaiveDate,
}

/// A subject re-sealed under a fresh key (partial erasure, rectification): every sealed
/// value of the subject, and the new key wrapped. The old key is gone once this commits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rekeyed {
    pub id: Id,
    pub wrapped_key: Vec<u8>,
    pub identity: Vec<u8>,
    pub email_bi: Option<Vec<u8>>,
    pub phone_bi: Option<Vec<u8>>,
    pub legal_hold: Option<Vec<u8>>,
    pub contracts: Vec<(Id, Vec<u8>)>,
    pub interactions: Vec<(Id, Option<Vec<u8>>)>,
    pub consents: Vec<(Id, Vec<u8>)>,
    pub hold_events: Vec<(Id, Vec<u8>)>,
    /// The reason a restriction was lifted, re-sealed.
    pub restriction_lift_reason: Option<Vec<u8>>,
}

/// What a wrapped key belongs to (a master-key rotation re-wraps them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOwner {
    Subject,
    Request,
    Breach,
    /// A person's account (its key seals the account's email).
    Account,
}

/// A client recorded without any contract: no retention clock, to review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewRow {
    pub id: Id,
    pub collected_at: DateTime<Utc>,
}

/// The statuses of a rights request still open: its subject is held from the sweep.
pub const OPEN_REQUEST_STATUSES: [RequestStatus; 2] = RequestStatus::OPEN;

/// A subject's restriction of processing (Art. 18): in force while `lifted_at` is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestrictionRow {
    pub subject_id: Id,
    pub ground: vigie_domain::records::RestrictionGround,
    /// The request that asked for it.
    pub request_id: Option<Id>,
    pub restricted_at: DateTime<Utc>,
    pub lifted_at: Option<DateTime<Utc>>,
    /// Why it was lifted, sealed under the subject key.
    pub lift_reason: Option<Vec<u8>>,
}

/// A subject under legal hold whose clock has run out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldRow {
    pub due: DueRow,
    /// The sealed reason, and the wrapped key to open it.
    pub reason: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub held_at: Option<DateTime<Utc>>,
}

/// One event in a subject's legal-hold history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldEventRow {
    pub id: Id,
    pub subject_id: Id,
    pub action: HoldAction,
    /// The reason, sealed.
    pub reason: Vec<u8>,
    pub at: DateTime<Utc>,
    pub actor: String,
}

/// A safeguard recorded for a recipient outside the EEA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeguardRow {
    pub id: Id,
    pub recipient: String,
    pub kind: SafeguardKind,
    pub signed_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    /// The document's reference as the DPO recorded it (not personal data).
    pub reference: Option<String>,
}

/// What Vigie's own processing activities hold, for the register.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnCounts {
    /// Rights requests recorded (proof records included), and how many are open.
    pub requests: i64,
    pub open_requests: i64,
    pub breaches: i64,
    /// Disclosures in the disclosure log.
    pub disclosures: i64,
}

/// A notice waiting in, or delivered from, the outbox. Holds no personal value:
/// it is rendered at delivery from the subject's sealed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    pub id: i64,
    pub idempotency_key: String,
    pub subject_id: Option<Id>,
    pub recipient: Option<String>,
    pub template: String,
    /// JSON of non-personal parameters (a policy version, a recipient id).
    pub params: String,
    /// `failed`: given up.
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A notice to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    pub idempotency_key: String,
    pub subject_id: Option<Id>,
    pub recipient: Option<String>,
    pub template: String,
    pub params: String,
    pub at: DateTime<Utc>,
}

/// A version of the policy as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersionRow {
    pub version: String,
    /// The TOML text.
    pub text: String,
    pub effective_date: NaiveDate,
    pub status: PolicyStatus,
    pub uploaded_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
}

/// The DPO's assessment (Art. 6(4)) of one change a policy revision makes to a purpose's legal
/// basis for a kind of subject: a purpose added (`from_basis` none) or a basis changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssessmentRow {
    pub version: String,
    pub purpose: String,
    pub kind: SubjectKind,
    pub from_basis: Option<LegalBasis>,
    pub to_basis: LegalBasis,
    pub compatible: bool,
    /// The DPO's reasoning (free text, not personal data).
    pub reasoning: String,
    pub assessed_at: DateTime<Utc>,
}

/// A rights request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRow {
    pub id: Id,
    pub kind: RequestKind,
    pub channel: RequestChannel,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub extended_due_on: Option<NaiveDate>,
    pub status: RequestStatus,
    pub subject_id: Option<Id>,
    pub requester_bi: Option<Vec<u8>>,
    /// Sealed under the request's key.
    pub requester: Vec<u8>,
    pub identity_document: Option<IdentityDocument>,
    pub identity_decision: Option<IdentityVerdict>,
    pub identity_at: Option<DateTime<Utc>>,
    pub extension_reason: Option<Vec<u8>>,
    pub outcome: Option<RequestOutcome>,
    pub response: Option<Vec<u8>>,
    pub wrapped_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Since when the request's clock stands still, identity information awaited (None: it runs).
    pub suspended_since: Option<NaiveDate>,
    /// The days the clock stood still before (closed suspensions), counted in `due_on` and
    /// `extended_due_on`.
    pub suspended_days: i64,
    /// The months of the extension (1 or 2), if extended.
    pub extension_months: Option<i64>,
    /// The language the requester is answered in.
    pub lang: vigie_domain::Lang,
}

/// A one-time link confirming a requester's identity through the email on file of the subject
/// its request is linked to (one per request: a new link replaces the last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmationRow {
    pub request_id: Id,
    /// The subject whose email on file the link was sent to.
    pub subject_id: Id,
    /// SHA-256 of the link's token.
    pub token_hash: Vec<u8>,
    /// The token, sealed under the request's key (to render the email when it is sent).
    pub token: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Two records of one person made one: every row of `from` moves to `into` (its sealed values
/// re-sealed under `into`'s key), `into` takes its merged identity and kind, then `from` is erased,
/// its tombstone naming `into`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merge {
    pub from: Id,
    pub into: Id,
    /// `into` after the merge.
    pub kind: SubjectKind,
    pub collected_at: DateTime<Utc>,
    pub identity: Vec<u8>,
    pub email_bi: Option<Vec<u8>>,
    pub phone_bi: Option<Vec<u8>>,
    pub legal_hold: Option<Vec<u8>>,
    pub held_at: Option<DateTime<Utc>>,
    /// `from`'s rows, each with its value re-sealed under `into`'s key.
    pub contracts: Vec<(Id, Vec<u8>)>,
    pub interactions: Vec<(Id, Option<Vec<u8>>)>,
    pub consents: Vec<(Id, Vec<u8>)>,
    pub hold_events: Vec<(Id, Vec<u8>)>,
    /// `from`'s objections to purposes `into` had not objected to (the others go with `from`).
    pub objections: Vec<Id>,
    /// `into`'s objections that take the earlier date `from` objected on.
    pub objections_redated: Vec<(Id, DateTime<Utc>)>,
    /// `from`'s restriction replaces `into`'s, its lift reason re-sealed (None: `into`'s stays).
    pub restriction: Option<Option<Vec<u8>>>,
    /// `from`'s outbox messages that move (one duplicating a message of `into` goes with `from`).
    pub messages: Vec<i64>,
}

/// A breach as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreachRow {
    pub id: Id,
    pub detected_at: DateTime<Utc>,
    /// Stored comma-separated, in the order given.
    pub nature: Vec<BreachNature>,
    /// Stored comma-separated, in the order given.
    pub data_categories: Vec<DataCategory>,
    pub scope: String,
    pub risk: BreachRisk,
    pub status: BreachStatus,
    pub keys_compromised: BreachKeys,
    pub subjects_concerned: i64,
    pub records_concerned: i64,
    /// The subjects concerned by kind, when the breach was recorded (Art. 33(3)(a)).
    pub clients_concerned: i64,
    pub prospects_concerned: i64,
    /// Sealed under the breach's key.
    pub details: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A dated phase of a breach (initial notification, update, late reasons...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreachPhaseRow {
    pub id: Id,
    pub breach_id: Id,
    pub at: DateTime<Utc>,
    pub phase: BreachPhase,
    /// Sealed under the breach's key.
    pub details: Vec<u8>,
    pub actor: String,
}

/// Which subjects a breach concerns. Every criterion given narrows the set;
/// none given means every subject.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeFilter {
    pub subject_ids: Vec<Id>,
    pub kinds: Vec<SubjectKind>,
    pub collected_from: Option<DateTime<Utc>>,
    pub collected_to: Option<DateTime<Utc>>,
    /// Subjects whose data was disclosed to this recipient (within the window, if one is given).
    pub recipient: Option<String>,
    /// Subjects this audit actor (`token:<id>`) read or wrote (within the window, if one is given).
    pub actor: Option<String>,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
}

/// The subjects a scope concerns, and their records by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScopeCount {
    pub subjects: i64,
    pub contracts: i64,
    pub interactions: i64,
    pub consents: i64,
    /// Subjects by kind.
    pub clients: i64,
    pub prospects: i64,
    /// Subjects with an email address (those a notice can reach).
    pub with_email: i64,
}

/// The tombstone of an erased subject: nothing personal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureRow {
    pub subject_id: Id,
    pub erased_at: DateTime<Utc>,
    pub kind: SubjectKind,
    pub rule: String,
    /// A merged subject: the record its data moved to.
    pub merged_into: Option<Id>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractRow {
    pub id: Id,
    pub subject_id: Id,
    /// The contract reference, sealed.
    pub reference: Vec<u8>,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionRow {
    pub id: Id,
    pub subject_id: Id,
    pub at: DateTime<Utc>,
    pub direction: Direction,
    pub channel: String,
    /// Free text, sealed.
    pub summary: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: Id,
    pub subject_id: Id,
    pub purpose: String,
    pub granted: bool,
    pub at: DateTime<Utc>,
    /// The evidence (channel, wording or policy version shown), sealed.
    pub evidence: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectionRow {
    pub id: Id,
    pub subject_id: Id,
    pub purpose: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Id,
    pub hash: Vec<u8>,
    pub role: Role,
    pub recipient: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// After this instant the token is refused.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A person's account (SPEC 4.5): its email sealed under its own key, found by blind index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub id: Id,
    /// Blind index of the normalised email: the login lookup (unique).
    pub email_bi: Vec<u8>,
    /// The email, sealed under the account's key.
    pub email: Vec<u8>,
    /// The account's key, wrapped by the master key.
    pub wrapped_key: Vec<u8>,
    pub role: Role,
    /// The argon2id hash of the password, as a PHC string.
    pub password_hash: String,
    /// The password was generated (creation, reset): it must be changed at the next login.
    pub must_change: bool,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Disabled accounts log in no more; their sessions are deleted.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A console session: stored only as the hash of its random id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the session id the cookie carries.
    pub hash: Vec<u8>,
    pub account_id: Id,
    pub created_at: DateTime<Utc>,
    /// The last request it authenticated (its idle clock runs from there).
    pub last_seen_at: DateTime<Utc>,
}

/// One entry of the audit trail: ids and field names, never values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_id: Option<Id>,
    pub purpose: Option<String>,
    /// Field names, comma-separated.
    pub fields: String,
    pub outcome: String,
    pub detail: Option<String>,
    /// MAC of the previous entry's hash and this entry.
    pub hash: Vec<u8>,
}

/// What gives a queued audit entry its place in the chain ([`Tx::queue_audit`]): the holder of
/// the audit key. The store calls it when it writes the entry, with the hash of the entry before.
pub trait AuditSeal: Send + Sync {
    /// The entry's hash: the MAC of the previous entry's hash and this entry (whose `seq` is set).
    fn chain(&self, previous: &[u8], entry: &AuditRow) -> Vec<u8>;
    /// The MAC the head row carries when it points at (`seq`, `hash`).
    fn head_mac(&self, seq: i64, hash: &[u8]) -> Vec<u8>;
}

/// A disclosure of a subject's data to an external recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisclosureRow {
    pub id: Id,
    pub at: DateTime<Utc>,
    pub recipient: String,
    pub subject_id: Id,
    pub fields: String,
    pub purpose: String,
    pub token_id: Option<Id>,
}

/// A count of subjects per group, for statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCount {
    pub group: String,
    pub count: i64,
}

/// The counts `/metrics` reports at each scrape (nothing personal: statuses and numbers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpsCounts {
    /// Rights requests by status.
    pub requests: Vec<GroupCount>,
    /// Requests not closed whose (extended) deadline is before the day given.
    pub overdue_requests: i64,
    /// Breaches with a risk, not notified to the authority, detected before the time given (72 hours ago).
    pub breaches_past_72h: i64,
    /// Outbox messages by status.
    pub outbox: Vec<GroupCount>,
}

/// What statistics may group subjects by: columns that are not personal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatGroup {
    Kind,
    CollectedYear,
}

/// The reading half of a transaction: what a read-only snapshot offers.
///
/// Obtained through [`Store::read`] (a snapshot) or, with the writing half, as
/// part of a [`Tx`]. A read cannot write; this does not compile:
///
/// ```compile_fail
/// fn write_in_a_read(store: &vigie_store::Store, s: vigie_store::SubjectRow) {
///     let _ = store.read_blocking(move |tx| tx.insert_subject(&s));
/// }
/// ```
pub trait ReadTx {
    // Subjects.
    fn subject(&mut self, id: Id) -> Result<Option<SubjectRow>>;
    /// The subject's revision, bumped (by the schema's triggers) by every write to the subject or
    /// to its contracts, consents, objections, restriction or interactions; None when it is gone.
    fn subject_rev(&mut self, id: Id) -> Result<Option<i64>>;
    fn subjects_by_email(&mut self, email_bi: &[u8]) -> Result<Vec<Id>>;
    fn subjects_by_phone(&mut self, phone_bi: &[u8]) -> Result<Vec<Id>>;
    /// What a new subject's email and phone blind indexes already match, in one query: whether
    /// either is on the suppression list (as [`ReadTx::is_suppressed`] of each), and the subjects
    /// recorded with either (`subjects_by_email` and `subjects_by_phone` together, by id, each once).
    fn intake_matches(&mut self, email_bi: Option<&[u8]>, phone_bi: Option<&[u8]>) -> Result<IntakeMatches>;
    /// The subjects whose name (first and last, normalised) has this blind index, by id.
    fn subjects_by_name(&mut self, name_bi: &[u8]) -> Result<Vec<Id>>;
    /// The subjects holding a contract whose reference (normalised) has this blind index, by id.
    fn subjects_by_contract_reference(&mut self, reference_bi: &[u8]) -> Result<Vec<Id>>;
    fn count_subjects(&mut self) -> Result<i64>;
    fn count_subjects_by(&mut self, group: StatGroup) -> Result<Vec<GroupCount>>;
    /// The live subjects per kind (kinds in order), from the counts every write keeps (migration
    /// 0022): the same as `count_subjects_by(StatGroup::Kind)` without reading the subjects.
    fn subject_counts(&mut self) -> Result<Vec<GroupCount>>;

    // Retention.
    fn hold_events(&mut self, subject: Id) -> Result<Vec<HoldEventRow>>;
    /// The subjects under a legal hold, with when it was placed, the oldest first (at most `limit`).
    fn legal_holds(&mut self, limit: i64) -> Result<Vec<(Id, Option<DateTime<Utc>>)>>;
    /// Subjects not held whose `expires_on` is before `at`, earliest first, at most `limit`.
    fn due(&mut self, at: NaiveDate, limit: i64) -> Result<Vec<DueRow>>;
    /// How many subjects `due` would list without a limit.
    fn count_due(&mut self, at: NaiveDate) -> Result<i64>;
    /// Held subjects whose `expires_on` is before `at`.
    fn held_due(&mut self, at: NaiveDate) -> Result<Vec<HeldRow>>;
    /// Subjects not held expiring in `[from, to)`, counted by month (`YYYY-MM`).
    fn count_expiring_by_month(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<GroupCount>>;
    /// Clients without any contract (retention rule `client_without_contract`), oldest first.
    fn to_review(&mut self, limit: i64) -> Result<Vec<ReviewRow>>;
    fn count_to_review(&mut self) -> Result<i64>;
    /// (request, subject) for every open request (see [`OPEN_REQUEST_STATUSES`]) linked to a subject.
    fn open_request_subjects(&mut self) -> Result<Vec<(Id, Id)>>;
    /// Subjects of a scope not held whose `expires_on` is before `at`.
    fn scope_due(&mut self, f: &ScopeFilter, at: NaiveDate) -> Result<Vec<DueRow>>;
    fn erasure(&mut self, id: Id) -> Result<Option<ErasureRow>>;
    /// Tombstones of erasures at or after `since`, oldest first, at most `limit`.
    fn erasures_since(&mut self, since: DateTime<Utc>, limit: i64) -> Result<Vec<ErasureRow>>;
    /// Erasures counted by month, kind and rule (`month|kind|rule`).
    fn erased_counts(&mut self) -> Result<Vec<GroupCount>>;

    // Recipients and transfers.
    /// Every safeguard, by recipient then signature date.
    fn safeguards(&mut self) -> Result<Vec<SafeguardRow>>;
    fn transfer_activations(&mut self) -> Result<Vec<(String, DateTime<Utc>)>>;
    /// A recipient's disclosures, latest first, at most `limit`.
    fn disclosures_for_recipient(&mut self, recipient: &str, limit: i64) -> Result<Vec<DisclosureRow>>;

    // Outbox.
    fn messages_for_subject(&mut self, subject: Id) -> Result<Vec<MessageRow>>;
    /// Notices by status (all when None), latest first.
    fn messages(&mut self, status: Option<OutboxStatus>, limit: i64) -> Result<Vec<MessageRow>>;
    /// For one template and params: (total, not yet sent).
    fn count_messages(&mut self, template: &str, params: &str) -> Result<(i64, i64)>;
    /// The notice queued under an idempotency key, if any.
    fn message_by_key(&mut self, key: &str) -> Result<Option<MessageRow>>;

    // Policy versions.
    fn policy_versions(&mut self) -> Result<Vec<PolicyVersionRow>>;
    /// Every compatibility assessment, by version, purpose and kind.
    fn assessments(&mut self) -> Result<Vec<AssessmentRow>>;

    // Rights requests.
    fn request(&mut self, id: Id) -> Result<Option<RequestRow>>;
    /// Every request, earliest deadline first.
    fn requests(&mut self, limit: i64) -> Result<Vec<RequestRow>>;
    /// The requests linked to a subject, oldest first.
    fn requests_for_subject(&mut self, subject: Id) -> Result<Vec<RequestRow>>;
    fn has_identity_document(&mut self, request: Id) -> Result<bool>;
    /// A request's identity document, sealed, with its content type, while it is held.
    fn identity_document(&mut self, request: Id) -> Result<Option<(Vec<u8>, String)>>;
    /// A request's confirmation link, if one is outstanding.
    fn identity_confirmation(&mut self, request: Id) -> Result<Option<ConfirmationRow>>;
    /// The confirmation link whose token hashes to `hash`.
    fn identity_confirmation_by_hash(&mut self, hash: &[u8]) -> Result<Option<ConfirmationRow>>;
    /// Whether the blind index of an email or a phone is on the suppression list (entries past
    /// their end count until the sweep deletes them).
    fn is_suppressed(&mut self, bi: &[u8]) -> Result<bool>;
    fn count_suppressed(&mut self) -> Result<i64>;
    /// Requests (and open ones), breaches and disclosures: the volumes of Vigie's own processing.
    fn own_counts(&mut self) -> Result<OwnCounts>;

    // Breaches.
    fn breach(&mut self, id: Id) -> Result<Option<BreachRow>>;
    /// Every breach, latest detection first.
    fn breaches(&mut self) -> Result<Vec<BreachRow>>;
    fn breach_phases(&mut self, breach: Id) -> Result<Vec<BreachPhaseRow>>;
    /// Counts the subjects a scope concerns and their records.
    fn scope_count(&mut self, f: &ScopeFilter) -> Result<ScopeCount>;

    // A subject's records.
    fn contracts(&mut self, subject: Id) -> Result<Vec<ContractRow>>;
    fn interactions(&mut self, subject: Id) -> Result<Vec<InteractionRow>>;
    fn consents(&mut self, subject: Id) -> Result<Vec<ConsentRow>>;
    fn objections(&mut self, subject: Id) -> Result<Vec<ObjectionRow>>;
    /// The objections of any of `subjects` to `purpose` (the sweep's suppression list feed).
    fn objections_to(&mut self, subjects: &[Id], purpose: &str) -> Result<Vec<ObjectionRow>>;

    // Tokens.
    fn token_by_hash(&mut self, hash: &[u8]) -> Result<Option<TokenRow>>;
    /// The database's clock: the one time every instance on the database agrees on (leases).
    fn database_now(&mut self) -> Result<DateTime<Utc>>;
    fn count_tokens(&mut self) -> Result<i64>;
    /// Every token, oldest first (the hash is in the row; callers never show it).
    fn tokens(&mut self) -> Result<Vec<TokenRow>>;

    // Accounts and sessions.
    fn account(&mut self, id: Id) -> Result<Option<AccountRow>>;
    fn account_by_email(&mut self, email_bi: &[u8]) -> Result<Option<AccountRow>>;
    /// Every account, oldest first.
    fn accounts(&mut self) -> Result<Vec<AccountRow>>;
    fn session(&mut self, hash: &[u8]) -> Result<Option<SessionRow>>;

    // Audit trail.
    /// The head's MAC as recorded (None before it was first sealed).
    fn audit_head_mac(&mut self) -> Result<Option<Vec<u8>>>;
    /// Entries with `seq > after`, in order, at most `limit`.
    fn audit_page(&mut self, after: i64, limit: i64) -> Result<Vec<AuditRow>>;
    /// The entries with `after < seq <= upto`, in order, each handed to `each` as it is read:
    /// verification walks the trail in such ranges, several at once, without holding them.
    fn audit_scan(&mut self, after: i64, upto: i64, each: &mut dyn FnMut(AuditRow) -> Result<()>) -> Result<()>;
    /// The head as recorded (without locking), for verification.
    fn audit_head_recorded(&mut self) -> Result<(i64, Vec<u8>)>;
    /// The entries about one subject with `seq > after`, in order, at most `limit` (the reads
    /// of a person's data are the consultations an access answer lists).
    fn audit_for_subject(&mut self, subject: Id, after: i64, limit: i64) -> Result<Vec<AuditRow>>;

    // Disclosures.
    fn disclosures_for_subject(&mut self, subject: Id) -> Result<Vec<DisclosureRow>>;

    // Key rotation.
    /// Every wrapped key: subjects', requests' (not yet destroyed) and breaches'.
    fn wrapped_keys(&mut self) -> Result<Vec<(KeyOwner, Id, Vec<u8>)>>;

    // Settings kept in the database.
    fn meta(&mut self, key: &str) -> Result<Option<String>>;

    // Restriction of processing (Art. 18).
    /// The subject's restriction, in force or lifted.
    fn restriction(&mut self, subject: Id) -> Result<Option<RestrictionRow>>;
    /// Every restriction in force (subject, ground).
    fn restricted_subjects(&mut self) -> Result<Vec<(Id, vigie_domain::records::RestrictionGround)>>;

    // Operations.
    /// The counts of `/metrics` (see [`OpsCounts`]): `today` dates the overdue requests,
    /// `breach_deadline` (now less 72 hours) the breaches late to be notified.
    fn ops_counts(&mut self, today: NaiveDate, breach_deadline: DateTime<Utc>) -> Result<OpsCounts>;
}

/// One database transaction, at the level of Vigie's use cases: the reads of
/// [`ReadTx`] and the writes.
///
/// Obtained only through [`Store::write`].
pub trait Tx: ReadTx {
    // Subjects.
    fn insert_subject(&mut self, s: &SubjectRow) -> Result<()>;
    /// A subject just created and the blind index of its name, if it has one: as
    /// [`Tx::insert_subject`] then [`Tx::set_subject_name`] (a new subject has no name row to
    /// replace), in one statement where the engine allows it (PostgreSQL).
    fn insert_new_subject(&mut self, s: &SubjectRow, name_bi: Option<&[u8]>) -> Result<()>;
    /// Many subjects at once, by the backend's fastest path (bulk import).
    fn insert_subjects(&mut self, rows: &[SubjectRow]) -> Result<()>;
    fn set_subject_kind(&mut self, id: Id, kind: SubjectKind, at: DateTime<Utc>) -> Result<()>;
    /// A subject, its row locked until the transaction ends (a merge locks both of its subjects).
    fn lock_subject(&mut self, id: Id) -> Result<Option<SubjectRow>>;
    /// Merges `m.from` into `m.into` (see [`Merge`]) and erases `m.from` under the rule `merged`,
    /// its tombstone naming `m.into`; the requests, disclosures and outbox messages of `m.from`
    /// follow, its requests' confirmation links are withdrawn.
    fn merge_subject(&mut self, m: &Merge, at: DateTime<Utc>) -> Result<()>;

    // Retention.
    fn set_retention(&mut self, id: Id, rule: &str, basis: Option<NaiveDate>, expires: Option<NaiveDate>)
    -> Result<()>;
    /// Sets (with a sealed reason) or lifts (None) a legal hold.
    fn set_legal_hold(&mut self, id: Id, hold: Option<(&[u8], DateTime<Utc>)>) -> Result<()>;
    fn insert_hold_event(&mut self, e: &HoldEventRow) -> Result<()>;
    /// Erases a subject: its key, its rows and its disclosures; leaves a tombstone
    /// and an aggregate count. False if there was no such subject.
    fn erase_subject(&mut self, id: Id, rule: &str, at: DateTime<Utc>) -> Result<bool>;
    /// The sweep's erasure of many subjects at once: locks the rows of those of `ids` that are,
    /// under that lock, still due at `due_at` (expired, not under legal hold, without an open
    /// request), and erases them as [`Tx::erase_subject`] does, each under its own retention rule,
    /// with a few statements for all of them. Returns the subjects erased, in id order; the
    /// others are left as they are.
    fn erase_due(&mut self, ids: &[Id], at: DateTime<Utc>, due_at: NaiveDate) -> Result<Vec<DueRow>>;

    // Recipients and transfers.
    fn insert_safeguard(&mut self, s: &SafeguardRow) -> Result<()>;
    /// Records a transfer's activation; false if it was already active.
    fn activate_transfer(&mut self, recipient: &str, at: DateTime<Utc>) -> Result<bool>;

    // Outbox.
    /// Queues one notice; false if its idempotency key was already queued.
    fn queue_message(&mut self, m: &NewMessage) -> Result<bool>;
    /// Queues one notice per subject of the given kinds that has an email address
    /// (a blind index), keyed `key_prefix` + the subject id in hex; returns how many
    /// were queued (existing keys are skipped).
    fn queue_for_subjects(
        &mut self,
        kinds: &[SubjectKind],
        template: &str,
        params: &str,
        key_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<u64>;
    /// Takes up to `limit` pending notices due at `due` whose lease is free, leasing them to
    /// `owner` for `lease`. Lease times are the database's clock, shared by every instance.
    fn claim_messages(
        &mut self,
        due: DateTime<Utc>,
        owner: Id,
        lease: TimeDelta,
        limit: i64,
    ) -> Result<Vec<MessageRow>>;
    /// Records a delivery, if `owner` still holds the message's lease; false (and nothing
    /// changed) when it does not.
    fn mark_sent(&mut self, id: i64, owner: Id, at: DateTime<Utc>) -> Result<bool>;
    /// Records a failed attempt, if `owner` still holds the lease: retried at `retry_at`, or
    /// given up (`failed`) when None. False (and nothing changed) when it does not.
    fn mark_failed(&mut self, id: i64, owner: Id, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<bool>;

    // Policy versions.
    fn insert_policy_version(&mut self, v: &PolicyVersionRow) -> Result<()>;
    fn set_policy_status(&mut self, version: &str, status: PolicyStatus, at: DateTime<Utc>) -> Result<()>;
    /// Records the assessment of one change of a version, replacing an earlier one of the same change.
    fn record_assessment(&mut self, a: &AssessmentRow) -> Result<()>;

    // Rights requests.
    fn insert_request(&mut self, r: &RequestRow) -> Result<()>;
    /// Replaces every mutable column of a request.
    fn update_request(&mut self, r: &RequestRow) -> Result<()>;
    /// A request, its row locked until the transaction ends: a step that acts on it (identity,
    /// extension, refusal, fulfilment) sees the state another step committed, never a stale one.
    fn lock_request(&mut self, id: Id) -> Result<Option<RequestRow>>;
    fn put_identity_document(
        &mut self,
        request: Id,
        sealed: &[u8],
        content_type: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Destroys a request's identity document; false if there was none.
    fn delete_identity_document(&mut self, request: Id) -> Result<bool>;
    /// Records a request's confirmation link, replacing the one it had.
    fn put_identity_confirmation(&mut self, c: &ConfirmationRow) -> Result<()>;
    /// Withdraws a request's confirmation link (used, or the request decided); false if there was none.
    fn delete_identity_confirmation(&mut self, request: Id) -> Result<bool>;
    /// Adds the blind index of an email or a phone to the suppression list until `expires_on`; an
    /// entry already there is moved to the later end. False if nothing changed.
    fn suppress(&mut self, bi: &[u8], reason: &str, at: DateTime<Utc>, expires_on: NaiveDate) -> Result<bool>;
    /// Takes an entry off the suppression list; false if it was not there.
    fn lift_suppression(&mut self, bi: &[u8]) -> Result<bool>;
    /// Deletes the entries whose end is before `today`; how many.
    fn delete_expired_suppressions(&mut self, today: NaiveDate) -> Result<u64>;
    /// Rewrites a subject's sealed identity and its blind indexes (rectification, partial erasure).
    fn update_identity(
        &mut self,
        id: Id,
        identity: &[u8],
        email_bi: Option<&[u8]>,
        phone_bi: Option<&[u8]>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Replaces a subject's key and every value sealed under it, in the caller's transaction.
    fn rekey_subject(&mut self, r: &Rekeyed, at: DateTime<Utc>) -> Result<()>;
    /// Deletes a subject's interactions (partial erasure).
    fn delete_interactions(&mut self, subject: Id) -> Result<u64>;
    /// Deletes the requests closed before `before` (their proof records' retention ran out).
    fn delete_closed_requests(&mut self, before: DateTime<Utc>) -> Result<u64>;

    // Breaches.
    fn insert_breach(&mut self, b: &BreachRow) -> Result<()>;
    fn update_breach(&mut self, b: &BreachRow) -> Result<()>;
    fn insert_breach_phase(&mut self, p: &BreachPhaseRow) -> Result<()>;
    /// Queues one notice per subject of the scope that has an email (see `queue_for_subjects`).
    fn queue_for_scope(
        &mut self,
        f: &ScopeFilter,
        template: &str,
        params: &str,
        key_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<u64>;

    // Background jobs.
    /// Leases the job to `owner` for `lease` (the database's clock) if its lease is free and
    /// the job has not run on `today`. True when taken.
    fn claim_job(&mut self, name: &str, today: NaiveDate, owner: Id, lease: TimeDelta) -> Result<bool>;
    /// Extends `owner`'s lease by `lease` from now; false when `owner` no longer holds it.
    fn renew_job(&mut self, name: &str, owner: Id, lease: TimeDelta) -> Result<bool>;
    /// Releases `owner`'s lease without recording a run; false when `owner` did not hold it.
    fn release_job(&mut self, name: &str, owner: Id) -> Result<bool>;
    /// Releases `owner`'s lease and records that the job ran on `today`; false (nothing
    /// recorded) when `owner` did not hold it.
    fn finish_job(&mut self, name: &str, owner: Id, today: NaiveDate) -> Result<bool>;

    // A subject's records.
    fn insert_contract(&mut self, c: &ContractRow) -> Result<()>;
    fn insert_interaction(&mut self, i: &InteractionRow) -> Result<()>;
    fn insert_consent(&mut self, c: &ConsentRow) -> Result<()>;
    /// Records an objection; objecting twice to one purpose keeps the first.
    fn insert_objection(&mut self, o: &ObjectionRow) -> Result<bool>;

    // Tokens.
    fn insert_token(&mut self, t: &TokenRow) -> Result<()>;
    /// Revokes a token; false if there is no such token or it was already revoked.
    fn revoke_token(&mut self, id: Id, at: DateTime<Utc>) -> Result<bool>;
    /// Records that a token authenticated a request at `at`.
    fn touch_token(&mut self, id: Id, at: DateTime<Utc>) -> Result<()>;

    // Accounts and sessions.
    /// Records an account; a second account with the same email blind index is a `Conflict`.
    fn insert_account(&mut self, a: &AccountRow) -> Result<()>;
    /// Sets an account's password hash, and whether it must be changed at the next login.
    fn set_password(&mut self, id: Id, hash: &str, must_change: bool, at: DateTime<Utc>) -> Result<()>;
    /// Disables an account; false if there is no such account or it was already disabled.
    fn disable_account(&mut self, id: Id, at: DateTime<Utc>) -> Result<bool>;
    /// Records a successful login.
    fn record_login(&mut self, id: Id, at: DateTime<Utc>) -> Result<()>;
    fn insert_session(&mut self, s: &SessionRow) -> Result<()>;
    /// Moves a session's idle clock.
    fn touch_session(&mut self, hash: &[u8], at: DateTime<Utc>) -> Result<()>;
    /// Deletes a session; false if there was none.
    fn delete_session(&mut self, hash: &[u8]) -> Result<bool>;
    /// Deletes every session of an account; how many.
    fn delete_sessions_of(&mut self, account: Id) -> Result<u64>;
    /// Deletes the sessions last seen before `before`; how many.
    fn delete_idle_sessions(&mut self, before: DateTime<Utc>) -> Result<u64>;

    // Audit trail. `audit_head` writes the entries queued so far, then locks the head for the
    // rest of the transaction.
    fn audit_head(&mut self) -> Result<(i64, Vec<u8>)>;
    /// Queues an entry (its `seq` and `hash` are ignored): it takes its place in the chain, sealed
    /// by `seal` after the head as committed, when the transaction's entries are written, before
    /// its commit or before a statement of it reads the trail. The head is locked only then, so
    /// writers (and instances) run their jobs side by side and take turns at the commit alone.
    fn queue_audit(&mut self, e: AuditRow, seal: std::sync::Arc<dyn AuditSeal>) -> Result<()>;
    /// Appends an entry already sealed after [`Tx::audit_head`] and moves the head to it, with
    /// the head's MAC.
    fn append_audit(&mut self, e: &AuditRow, head_mac: &[u8]) -> Result<()>;
    /// Appends consecutive entries and moves the head to the last one (bulk work).
    fn append_audits(&mut self, entries: &[AuditRow], head_mac: &[u8]) -> Result<()>;
    /// Seals the current head (first start after an upgrade, restore).
    fn set_audit_head_mac(&mut self, mac: &[u8]) -> Result<()>;
    /// The writer's copy of the head (`sql::AuditHead`), driven by the writer thread only:
    /// forgotten when a transaction begins, remembered at a job's savepoint, put back when the
    /// job is rolled back, and written to the head row before the commit (`head_flush`).
    fn head_begin(&mut self);
    fn head_savepoint(&mut self);
    fn head_rollback(&mut self);
    fn head_flush(&mut self) -> Result<()>;

    // Disclosures.
    fn insert_disclosure(&mut self, d: &DisclosureRow) -> Result<()>;

    // Restriction of processing (Art. 18).
    /// Restricts the subject's processing (replacing a lifted restriction); false when one is already in force.
    fn restrict(&mut self, r: &RestrictionRow) -> Result<bool>;
    /// Lifts the restriction in force, recording when and why (sealed); false when none is in force.
    fn lift_restriction(&mut self, subject: Id, reason: &[u8], at: DateTime<Utc>) -> Result<bool>;

    // Key rotation.
    fn set_wrapped_key(&mut self, owner: KeyOwner, id: Id, wrapped: &[u8]) -> Result<()>;

    // Settings kept in the database.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;

    // Names (their blind index only; the row goes with the subject at erasure).
    /// Sets (or, with None, removes) the blind index of a subject's name.
    fn set_subject_name(&mut self, id: Id, name_bi: Option<&[u8]>) -> Result<()>;
    /// The name blind indexes of subjects just inserted (bulk import).
    fn insert_subject_names(&mut self, rows: &[(Id, Vec<u8>)]) -> Result<()>;
    /// Sets the blind index of a contract's reference (the contract must exist; it moves and goes
    /// with the contract).
    fn set_contract_reference(&mut self, contract: Id, reference_bi: &[u8]) -> Result<()>;
}

/// A connection a worker thread owns. Backends implement it.
pub trait Connection: Send + 'static {
    /// Begins a transaction; `write` transactions take the write lock at once.
    fn begin(&mut self, write: bool) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;
    /// Runs statements that return nothing (transaction control).
    fn batch(&mut self, sql: &str) -> Result<()>;
    /// Each job of a group commit runs under its own savepoint (standard SQL on both engines).
    fn savepoint(&mut self) -> Result<()> {
        self.batch("SAVEPOINT job")
    }
    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.batch("ROLLBACK TO SAVEPOINT job")
    }
    fn release_savepoint(&mut self) -> Result<()> {
        self.batch("RELEASE SAVEPOINT job")
    }
    /// Releases the savepoint of a job that succeeded and opens the next job's, in one round
    /// trip (a commit releases the last one with everything else).
    fn next_savepoint(&mut self) -> Result<()> {
        self.batch("RELEASE SAVEPOINT job; SAVEPOINT job")
    }
    /// The transaction's use-case methods.
    fn tx(&mut self) -> &mut dyn Tx;
}

/// What is found of a database before anything is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    Nothing,
    /// A SQLite file of zero bytes (or only its journal).
    Empty,
    Database,
}

/// A database as the binary chose it (SQLite in the data directory, a PostgreSQL URL),
/// before it is opened. The backends implement it; the binary picks one.
pub trait Database: Send + Sync + 'static {
    /// What is there, without creating or changing anything.
    fn found(&self) -> Result<Found>;
    /// How messages name it: a path, or "the PostgreSQL database" (never a URL: it may hold a password).
    fn describe(&self) -> String;
    /// Opens it, applying pending migrations (SQLite checks an existing file first).
    fn open(&self) -> Result<std::sync::Arc<dyn Backend>>;
    /// A handle without migrating (restore replaces a missing or damaged SQLite file).
    fn unopened(&self) -> Result<std::sync::Arc<dyn Backend>>;
    /// The schema version this build migrates to.
    fn schema_version(&self) -> i64;
    /// The connection string, for tools that open raw connections (the benchmarks); None for SQLite.
    fn connection_string(&self) -> Option<&str> {
        None
    }
}

/// Opens connections to one database.
pub trait Backend: Send + Sync + 'static {
    /// A short name for logs: `sqlite` or `postgres`.
    fn name(&self) -> &'static str;
    fn connect(&self, write: bool) -> Result<Box<dyn Connection>>;
    /// How the worker threads should be laid out for this backend.
    fn workers(&self) -> WorkerConfig;
    /// After erasures: makes sure deleted rows linger in no journal or free page.
    fn compact(&self) -> Result<()> {
        Ok(())
    }
    /// A full check of the database's structure (`vigie check`); the server checks its own on PostgreSQL.
    fn integrity_check(&self) -> Result<()> {
        Ok(())
    }
    /// Writes a consistent copy of the whole database to `out` (while the server runs).
    fn backup(&self, out: &std::path::Path) -> Result<()>;
    /// What a backup file holds, without changing anything: refuses a file that is not one.
    fn backup_info(&self, file: &std::path::Path) -> Result<BackupInfo>;
    /// Replaces the whole database by a backup's content, atomically. The installation is stopped.
    fn restore(&self, file: &std::path::Path) -> Result<()>;
    /// Held by a running server for its lifetime; dropped, it is released.
    fn instance_lock(&self) -> Result<Box<dyn Send>>;
    /// Whether any server holds its instance lock on this database.
    fn instance_running(&self) -> Result<bool>;
    /// Its side of `vigie migrate` (both backends have one).
    fn copyable(&self) -> Option<&dyn copy::Copyable> {
        None
    }
}

/// What a backup file says of itself (nothing personal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupInfo {
    /// The `meta` rows: the key-check value, the schema's state.
    pub meta: Vec<(String, String)>,
    pub schema_version: i64,
    pub head_seq: i64,
    pub head_hash: Vec<u8>,
}

/// The current time, truncated to microseconds: what both backends store exactly,
/// so a value read back equals the value written (the audit chain relies on it).
pub fn now() -> DateTime<Utc> {
    use chrono::{DurationRound, TimeDelta};
    let t = Utc::now();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
