//! [`ReadTx`] and [`Tx`] for every backend, written once over [`Driver`].
//!
//! The sections follow the trait's. Statements are in the common spelling
//! (see the [module](super) notes); each is prepared once per connection.

use super::{
    Args, AuditHead, Driver, DriverExt, FromCol, FromRow, HeadCopy, Queued, SqlRow, Stmt, ToArg, row, token_list,
};
use crate::{
    AccountRow, AssessmentRow, AuditRow, BreachPhaseRow, BreachRow, ConfirmationRow, ConsentRow, ContractRow,
    DisclosureRow, DueRow, ErasureRow, GroupCount, HeldRow, HoldEventRow, Id, IntakeMatches, InteractionRow, KeyOwner,
    Merge, MessageRow, NewMessage, ObjectionRow, OpsCounts, OwnCounts, PolicyVersionRow, ReadTx, Rekeyed, RequestRow,
    RestrictionRow, Result, ReviewRow, SafeguardRow, ScopeCount, ScopeFilter, SessionRow, StatGroup, SubjectRow,
    TokenRow, Tx,
};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use vigie_domain::SubjectKind;
use vigie_domain::records::{OutboxStatus, PolicyStatus, RestrictionGround};

row! {
    SubjectRow {
        id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity, wrapped_key,
        retention_rule, basis_date, expires_on, legal_hold, held_at,
    }
    DueRow { id, kind, rule, basis_date, expires_on }
    ReviewRow { id, collected_at }
    HoldEventRow { id, subject_id, action, reason, at, actor }
    SafeguardRow { id, recipient, kind, signed_on, recorded_at, reference }
    MessageRow {
        id, idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at,
        created_at, sent_at, last_error,
    }
    PolicyVersionRow { version, text, effective_date, status, uploaded_at, activated_at }
    AssessmentRow { version, purpose, kind, from_basis, to_basis, compatible, reasoning, assessed_at }
    RequestRow {
        id, kind, channel, received_on, due_on, extended_due_on, status, subject_id, requester_bi, requester,
        identity_document, identity_decision, identity_at, extension_reason, outcome, response, wrapped_key,
        created_at, updated_at, completed_at, suspended_since, suspended_days, extension_months, lang,
    }
    ConfirmationRow { request_id, subject_id, token_hash, token, created_at, expires_at }
    BreachRow {
        id, detected_at, nature, data_categories, scope, risk, status, keys_compromised, subjects_concerned,
        records_concerned, clients_concerned, prospects_concerned, details, wrapped_key, created_at, updated_at,
    }
    BreachPhaseRow { id, breach_id, at, phase, details, actor }
    ErasureRow { subject_id, erased_at, kind, rule, merged_into }
    RestrictionRow { subject_id, ground, request_id, restricted_at, lifted_at, lift_reason }
    ContractRow { id, subject_id, reference, start, end, created_at }
    InteractionRow { id, subject_id, at, direction, channel, summary, created_at }
    ConsentRow { id, subject_id, purpose, granted, at, evidence }
    ObjectionRow { id, subject_id, purpose, at }
    TokenRow { id, hash, role, recipient, created_at, revoked_at, expires_at, last_used_at }
    AccountRow {
        id, email_bi, email, wrapped_key, role, password_hash, must_change, created_at, password_changed_at,
        last_login_at, disabled_at,
    }
    SessionRow { hash, account_id, created_at, last_seen_at }
    AuditRow { seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash }
    DisclosureRow { id, at, recipient, subject_id, fields, purpose, token_id }
    GroupCount { group, count }
    ScopeCount { subjects, contracts, interactions, consents, clients, prospects, with_email }
}

impl FromRow for HeldRow {
    fn from_row(r: &dyn SqlRow) -> Result<Self> {
        Ok(HeldRow {
            due: DueRow::from_row(r)?,
            reason: FromCol::from_col(r, 5)?,
            wrapped_key: FromCol::from_col(r, 6)?,
            held_at: FromCol::from_col(r, 7)?,
        })
    }
}

/// The columns of each row type, in its field order (macros, so that statements stay literals).
macro_rules! subject_columns {
    () => {
        "s.id, s.kind, s.collected_at, s.created_at, s.updated_at, s.email_bi, s.phone_bi, s.identity, k.wrapped, \
         s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, s.held_at"
    };
}
macro_rules! due_columns {
    () => {
        "s.id, s.kind, s.retention_rule, s.basis_date, s.expires_on"
    };
}
macro_rules! message_columns {
    () => {
        "id, idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at, \
         created_at, sent_at, last_error"
    };
}
macro_rules! request_columns {
    () => {
        "id, kind, channel, received_on, due_on, extended_due_on, status, subject_id, requester_bi, requester, \
         identity_document, identity_decision, identity_at, extension_reason, outcome, response, wrapped_key, \
         created_at, updated_at, completed_at, suspended_since, suspended_days, extension_months, lang"
    };
}
macro_rules! breach_columns {
    () => {
        "id, detected_at, nature, data_categories, scope, risk, status, keys_compromised, subjects_concerned, \
         records_concerned, clients_concerned, prospects_concerned, details, wrapped_key, created_at, updated_at"
    };
}
macro_rules! token_columns {
    () => {
        "id, hash, role, recipient, created_at, revoked_at, expires_at, last_used_at"
    };
}
macro_rules! account_columns {
    () => {
        "id, email_bi, email, wrapped_key, role, password_hash, must_change, created_at, password_changed_at, \
         last_login_at, disabled_at"
    };
}
macro_rules! audit_columns {
    () => {
        "seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash"
    };
}
macro_rules! disclosure_columns {
    () => {
        "id, at, recipient, subject_id, fields, purpose, token_id"
    };
}

/// Closed-set values that statements hold as SQL literals (macros, so that statements
/// stay literals); `sql_literals_spell_the_enums` checks each against its enum's `as_str`.
/// The statuses of [`crate::OPEN_REQUEST_STATUSES`]:
macro_rules! open_statuses {
    () => {
        "('awaiting_identity', 'in_progress')"
    };
}
/// [`OutboxStatus::Pending`]:
macro_rules! outbox_pending {
    () => {
        "'pending'"
    };
}
/// [`OutboxStatus::Sent`]:
macro_rules! outbox_sent {
    () => {
        "'sent'"
    };
}
/// [`OutboxStatus::Failed`]:
macro_rules! outbox_failed {
    () => {
        "'failed'"
    };
}
/// [`PolicyStatus::Active`]:
macro_rules! policy_active {
    () => {
        "'active'"
    };
}

/// A subject row's columns as its inserts bind them, `$1` to `$13` in `subjects`' column order.
pub(crate) fn subject_args(s: &SubjectRow) -> [&dyn ToArg; 13] {
    [
        &s.id,
        &s.kind,
        &s.collected_at,
        &s.created_at,
        &s.updated_at,
        &s.email_bi,
        &s.phone_bi,
        &s.identity,
        &s.retention_rule,
        &s.basis_date,
        &s.expires_on,
        &s.legal_hold,
        &s.held_at,
    ]
}

/// One subject and its key (the portable bulk path inserts them one by one).
pub(crate) fn insert_subject_row<D: Driver + ?Sized>(d: &mut D, s: &SubjectRow) -> Result<()> {
    d.execute(
        Stmt::Static(
            "INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity,
                                   retention_rule, basis_date, expires_on, legal_hold, held_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        ),
        &subject_args(s),
    )?;
    d.execute(
        Stmt::Static("INSERT INTO subject_keys (subject_id, wrapped) VALUES ($1, $2)"),
        &[&s.id, &s.wrapped_key],
    )?;
    Ok(())
}

/// One audit entry (the portable bulk path inserts them one by one).
pub(crate) fn insert_audit_row<D: Driver + ?Sized>(d: &mut D, e: &AuditRow) -> Result<()> {
    d.execute(
        Stmt::Static(concat!(
            "INSERT INTO audit (",
            audit_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )),
        &[&e.seq, &e.at, &e.actor, &e.action, &e.subject_id, &e.purpose, &e.fields, &e.outcome, &e.detail, &e.hash],
    )?;
    Ok(())
}

/// The condition (over `subjects s`) of a breach scope, its parameters appended to
/// `args` (numbered after those already there); every criterion given narrows the
/// set, none given means all.
pub(super) fn scope_where<'a>(f: &'a ScopeFilter, args: &mut Vec<&'a dyn ToArg>) -> String {
    let mut clauses: Vec<String> = Vec::new();
    let mark = |v: &'a dyn ToArg, args: &mut Vec<&'a dyn ToArg>| {
        args.push(v);
        format!("${}", args.len())
    };
    if !f.subject_ids.is_empty() {
        let marks: Vec<String> = f.subject_ids.iter().map(|id| mark(id, args)).collect();
        clauses.push(format!("s.id IN ({})", marks.join(", ")));
    }
    if !f.kinds.is_empty() {
        let marks: Vec<String> = f.kinds.iter().map(|k| mark(k, args)).collect();
        clauses.push(format!("s.kind IN ({})", marks.join(", ")));
    }
    if let Some(from) = &f.collected_from {
        clauses.push(format!("s.collected_at >= {}", mark(from, args)));
    }
    if let Some(to) = &f.collected_to {
        clauses.push(format!("s.collected_at <= {}", mark(to, args)));
    }
    let window = |args: &mut Vec<&'a dyn ToArg>| {
        let mut w = String::new();
        if let Some(from) = &f.window_from {
            w.push_str(&format!(" AND at >= {}", mark(from, args)));
        }
        if let Some(to) = &f.window_to {
            w.push_str(&format!(" AND at <= {}", mark(to, args)));
        }
        w
    };
    if let Some(r) = &f.recipient {
        let m = format!("${}", args.len() + 1);
        args.push(r);
        let w = window(args);
        clauses.push(format!("s.id IN (SELECT subject_id FROM disclosures WHERE recipient = {m}{w})"));
    }
    if let Some(a) = &f.actor {
        let m = format!("${}", args.len() + 1);
        args.push(a);
        let w = window(args);
        clauses.push(format!("s.id IN (SELECT subject_id FROM audit WHERE actor = {m} AND subject_id IS NOT NULL{w})"));
    }
    if clauses.is_empty() { "1 = 1".to_string() } else { clauses.join(" AND ") }
}

/// Erasure takes its subjects as an `IN` list, in chunks of at most [`ERASE_CHUNK`] ids. A chunk
/// is padded (its last id repeated, which changes nothing in an `IN` list) to one of
/// [`ERASE_SIZES`], so each erasure statement has four texts, each prepared once per connection.
/// Public for the benchmarks' raw baselines (`raw` modules), which run the same statements.
pub const ERASE_CHUNK: usize = 500;
const ERASE_SIZES: [usize; 4] = [1, 16, 128, ERASE_CHUNK];

/// What an erasure deletes, in its order, before the subject's own row; `{ids}` is the list. What
/// requests held of the subject dies with it: identity documents, confirmations, the requester's
/// details and the response (their key is destroyed); the proof record remains.
const ERASE_DELETES: [&str; 12] = [
    "DELETE FROM subject_keys WHERE subject_id IN ({ids})",
    "DELETE FROM subject_names WHERE subject_id IN ({ids})",
    "DELETE FROM contracts WHERE subject_id IN ({ids})",
    "DELETE FROM interactions WHERE subject_id IN ({ids})",
    "DELETE FROM consents WHERE subject_id IN ({ids})",
    "DELETE FROM objections WHERE subject_id IN ({ids})",
    "DELETE FROM legal_hold_events WHERE subject_id IN ({ids})",
    "DELETE FROM restrictions WHERE subject_id IN ({ids})",
    "DELETE FROM disclosures WHERE subject_id IN ({ids})",
    "DELETE FROM outbox WHERE subject_id IN ({ids})",
    "DELETE FROM identity_documents WHERE request_id IN (SELECT id FROM requests WHERE subject_id IN ({ids}))",
    "DELETE FROM identity_confirmations WHERE request_id IN (SELECT id FROM requests WHERE subject_id IN ({ids}))",
];

/// The erasure's statements for one list length, in the common spelling.
pub struct EraseSql {
    /// `$1` the date the subjects must be due at; the ids from `$2`. Locks and returns the due ones.
    pub lock_due: String,
    /// `$1` the erasure's time, `$2` its rule (NULL: each subject's retention rule); ids from `$3`.
    pub tombstones: String,
    /// `$1` the erasure's month, `$2` as above; ids from `$3`.
    pub counts: String,
    /// Ids from `$1`.
    pub deletes: Vec<String>,
    /// `$1` the empty value the request's sealed columns get; ids from `$2`.
    pub requests: String,
    /// Ids from `$1`.
    pub subjects: String,
}

/// `$first, …` for `n` ids.
fn marks(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl EraseSql {
    fn new(n: usize) -> EraseSql {
        let ids = |first| marks(first, n);
        EraseSql {
            lock_due: format!(
                concat!(
                    "SELECT ",
                    due_columns!(),
                    " FROM subjects s WHERE s.id IN ({ids}) AND s.expires_on < $1 AND s.legal_hold IS NULL
                       AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.subject_id = s.id AND r.status IN ",
                    open_statuses!(),
                    ") ORDER BY s.id FOR UPDATE OF s"
                ),
                ids = ids(2)
            ),
            tombstones: format!(
                "INSERT INTO erasures (subject_id, erased_at, kind, rule)
                 SELECT id, $1, kind, COALESCE($2::text, retention_rule) FROM subjects WHERE id IN ({})",
                ids(3)
            ),
            counts: format!(
                "INSERT INTO erased_counts (month, kind, rule, count)
                 SELECT $1::text, kind, COALESCE($2::text, retention_rule), count(*) FROM subjects WHERE id IN ({})
                 GROUP BY kind, COALESCE($2::text, retention_rule)
                 ON CONFLICT (month, kind, rule) DO UPDATE SET count = erased_counts.count + excluded.count",
                ids(3)
            ),
            deletes: ERASE_DELETES.iter().map(|d| d.replace("{ids}", &ids(1))).collect(),
            requests: format!(
                "UPDATE requests SET requester = $1, wrapped_key = $1, response = NULL, extension_reason = NULL,
                        requester_bi = NULL WHERE subject_id IN ({})",
                ids(2)
            ),
            subjects: format!("DELETE FROM subjects WHERE id IN ({})", ids(1)),
        }
    }

    /// The statements for a chunk of `n` ids (1 ≤ n ≤ [`ERASE_CHUNK`]), padded by [`pad`]. Built once per process, they are `'static`: each driver prepares them once (SQLite
    /// renders them into its spelling then).
    pub fn for_chunk(n: usize) -> &'static EraseSql {
        static ALL: std::sync::OnceLock<Vec<EraseSql>> = std::sync::OnceLock::new();
        let all = ALL.get_or_init(|| ERASE_SIZES.iter().map(|&n| EraseSql::new(n)).collect());
        let i = ERASE_SIZES.iter().position(|&size| size >= n).unwrap_or(ERASE_SIZES.len() - 1);
        &all[i]
    }
}

/// `ids` (at most [`ERASE_CHUNK`]) with its last one repeated up to the next of [`ERASE_SIZES`]
/// (an `IN` list's duplicates change nothing).
pub fn pad(ids: &[Id]) -> Vec<Id> {
    let size = ERASE_SIZES.iter().copied().find(|&size| size >= ids.len()).unwrap_or(ids.len());
    let mut padded = ids.to_vec();
    if let Some(&last) = ids.last() {
        padded.resize(size, last);
    }
    padded
}

/// Runs a statement assembled at run time, in the connection's dialect.
pub(super) fn once<D: Driver + ?Sized>(d: &mut D, sql: &str, args: Args<'_>) -> Result<u64> {
    let sql = d.dialect().render(sql);
    d.execute(Stmt::Once(&sql), args)
}

pub(super) fn once_rows<D: Driver + ?Sized, T: FromRow>(d: &mut D, sql: &str, args: Args<'_>) -> Result<Vec<T>> {
    let sql = d.dialect().render(sql);
    d.rows(Stmt::Once(&sql), args)
}

/// A missing audit head row: the schema is damaged.
pub(super) fn no_head() -> crate::StoreError {
    crate::StoreError::Backend("the audit head row is missing".into())
}

mod read;
mod write;

/// The head as this transaction sees it, locked until the commit: the writer's copy, or the row
/// read with `FOR UPDATE`. Several writer threads and instances extend one chain: the row lock
/// makes them take turns; in READ COMMITTED a waiter reads the head its predecessor committed.
pub(crate) fn lock_head<D: Driver>(d: &mut D) -> Result<(i64, Vec<u8>)> {
    if let Some(h) = &d.audit_head_copy().current {
        return Ok((h.seq, h.hash.clone()));
    }
    let (seq, hash): (i64, Vec<u8>) =
        d.opt("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE".into(), &[])?.ok_or_else(no_head)?;
    d.audit_head_copy().current = Some(HeadCopy { seq, hash: hash.clone(), unwritten_mac: None });
    Ok((seq, hash))
}

/// Writes the audit entries this transaction queued (see [`AuditHead`]): locks the head, seals
/// each entry after the one before it, writes them in one bulk insert and moves the writer's copy
/// of the head to the last. Every statement that reads the audit table in a write transaction
/// runs it first, so a transaction always reads its own entries.
pub(crate) fn flush_audit<D: Driver>(d: &mut D) -> Result<()> {
    flush_counts(d)?;
    if d.audit_head_copy().pending.is_empty() {
        return Ok(());
    }
    let (mut seq, mut previous) = lock_head(d)?;
    let head = d.audit_head_copy();
    let mut pending = std::mem::take(&mut head.pending);
    // Those appended before the current job's savepoint: its rollback would take them out.
    head.rescued.extend_from_slice(&pending[..head.saved_pending.min(pending.len())]);
    head.saved_pending = 0;
    let mut mac = Vec::new();
    for q in &mut pending {
        seq += 1;
        q.entry.seq = seq;
        q.entry.hash = q.seal.chain(&previous, &q.entry);
        previous.clone_from(&q.entry.hash);
        mac = q.seal.head_mac(seq, &previous);
    }
    let entries: Vec<crate::AuditRow> = pending.into_iter().map(|q| q.entry).collect();
    d.bulk_insert_audit(&entries)?;
    d.audit_head_copy().current = Some(HeadCopy { seq, hash: previous, unwritten_mac: Some(mac) });
    Ok(())
}

/// Writes the moves of `subject_counts` this transaction made and has not written yet, one upsert
/// per kind; those of jobs before the current one's savepoint are kept aside, as entries are.
pub(crate) fn flush_counts<D: Driver>(d: &mut D) -> Result<()> {
    let head = d.audit_head_copy();
    if head.counts.values().all(|n| *n == 0) {
        return Ok(());
    }
    // The audit head first, then the counts' rows: one order of row locks on PostgreSQL (no
    // deadlock between two instances), whatever writes its count moves first.
    lock_head(d)?;
    let head = d.audit_head_copy();
    let counts = std::mem::take(&mut head.counts);
    for (kind, n) in std::mem::take(&mut head.saved_counts) {
        *head.rescued_counts.entry(kind).or_default() += n;
    }
    for (kind, n) in counts {
        if n != 0 {
            d.execute(
                "INSERT INTO subject_counts (kind, recorded) VALUES ($1, $2)
                 ON CONFLICT (kind) DO UPDATE SET recorded = subject_counts.recorded + $2"
                    .into(),
                &[&kind, &n],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::OPEN_REQUEST_STATUSES;
    use vigie_domain::records::{OutboxStatus, PolicyStatus};

    /// The literals statements hold are the enums' spellings: a renamed variant cannot
    /// leave a statement matching nothing.
    #[test]
    fn sql_literals_spell_the_enums() {
        let literal = |s: &str| format!("'{s}'");
        assert_eq!(outbox_pending!(), literal(OutboxStatus::Pending.as_str()));
        assert_eq!(outbox_sent!(), literal(OutboxStatus::Sent.as_str()));
        assert_eq!(outbox_failed!(), literal(OutboxStatus::Failed.as_str()));
        assert_eq!(policy_active!(), literal(PolicyStatus::Active.as_str()));
        let open: Vec<String> = OPEN_REQUEST_STATUSES.iter().map(|s| literal(s.as_str())).collect();
        assert_eq!(open_statuses!(), format!("({})", open.join(", ")));
    }
}
