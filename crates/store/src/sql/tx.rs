//! [`ReadTx`] and [`Tx`] for every backend, written once over [`Driver`].
//!
//! The sections follow the trait's. Statements are in the common spelling
//! (see the [module](super) notes); each is prepared once per connection.

use super::{Args, Driver, DriverExt, FromCol, FromRow, SqlRow, Stmt, ToArg, row, token_list};
use crate::{
    AuditRow, BreachPhaseRow, BreachRow, ConsentRow, ContractRow, DisclosureRow, DueRow, ErasureRow, GroupCount,
    HeldRow, HoldEventRow, Id, InteractionRow, KeyOwner, MessageRow, NewMessage, ObjectionRow, PolicyVersionRow,
    ReadTx, Rekeyed, RequestRow, Result, ReviewRow, SafeguardRow, ScopeCount, ScopeFilter, StatGroup, SubjectRow,
    TokenRow, Tx,
};
use chrono::{DateTime, NaiveDate, Utc};
use vigie_domain::SubjectKind;
use vigie_domain::records::{OutboxStatus, PolicyStatus};

row! {
    SubjectRow {
        id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity, wrapped_key,
        retention_rule, basis_date, expires_on, legal_hold, held_at,
    }
    DueRow { id, kind, rule, basis_date, expires_on }
    ReviewRow { id, collected_at }
    HoldEventRow { id, subject_id, action, reason, at, actor }
    SafeguardRow { id, recipient, kind, signed_on, recorded_at }
    MessageRow {
        id, idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at,
        created_at, sent_at, last_error,
    }
    PolicyVersionRow { version, text, effective_date, status, uploaded_at, activated_at }
    RequestRow {
        id, kind, channel, received_on, due_on, extended_due_on, status, subject_id, requester_bi, requester,
        identity_document, identity_decision, identity_at, extension_reason, outcome, response, wrapped_key,
        created_at, updated_at, completed_at,
    }
    BreachRow {
        id, detected_at, nature, data_categories, scope, risk, status, keys_compromised, subjects_concerned,
        records_concerned, details, wrapped_key, created_at, updated_at,
    }
    BreachPhaseRow { id, breach_id, at, phase, details, actor }
    ErasureRow { subject_id, erased_at, kind, rule }
    ContractRow { id, subject_id, reference, start, end, created_at }
    InteractionRow { id, subject_id, at, direction, channel, summary, created_at }
    ConsentRow { id, subject_id, purpose, granted, at, evidence }
    ObjectionRow { id, subject_id, purpose, at }
    TokenRow { id, hash, role, recipient, created_at, revoked_at }
    AuditRow { seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash }
    DisclosureRow { id, at, recipient, subject_id, fields, purpose, token_id }
    GroupCount { group, count }
    ScopeCount { subjects, contracts, interactions, consents }
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
         created_at, updated_at, completed_at"
    };
}
macro_rules! breach_columns {
    () => {
        "id, detected_at, nature, data_categories, scope, risk, status, keys_compromised, subjects_concerned, \
         records_concerned, details, wrapped_key, created_at, updated_at"
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

/// One subject and its key (the portable bulk path inserts them one by one).
pub(crate) fn insert_subject_row<D: Driver + ?Sized>(d: &mut D, s: &SubjectRow) -> Result<()> {
    d.execute(
        Stmt::Static(
            "INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity,
                                   retention_rule, basis_date, expires_on, legal_hold, held_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        ),
        &[
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
        ],
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
fn scope_where<'a>(f: &'a ScopeFilter, args: &mut Vec<&'a dyn ToArg>) -> String {
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

/// Runs a statement assembled at run time, in the connection's dialect.
fn once<D: Driver + ?Sized>(d: &mut D, sql: &str, args: Args<'_>) -> Result<u64> {
    let sql = d.dialect().render(sql);
    d.execute(Stmt::Once(&sql), args)
}

fn once_rows<D: Driver + ?Sized, T: FromRow>(d: &mut D, sql: &str, args: Args<'_>) -> Result<Vec<T>> {
    let sql = d.dialect().render(sql);
    d.rows(Stmt::Once(&sql), args)
}

impl<D: Driver> ReadTx for D {
    // Subjects.

    fn subject(&mut self, id: Id) -> Result<Option<SubjectRow>> {
        self.opt(
            Stmt::Static(concat!(
                "SELECT ",
                subject_columns!(),
                " FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = $1"
            )),
            &[&id],
        )
    }

    fn subjects_by_email(&mut self, email_bi: &[u8]) -> Result<Vec<Id>> {
        let ids: Vec<(Id,)> =
            self.rows("SELECT id FROM subjects WHERE email_bi = $1 ORDER BY id".into(), &[&email_bi])?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    fn subjects_by_phone(&mut self, phone_bi: &[u8]) -> Result<Vec<Id>> {
        let ids: Vec<(Id,)> =
            self.rows("SELECT id FROM subjects WHERE phone_bi = $1 ORDER BY id".into(), &[&phone_bi])?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    fn count_subjects(&mut self) -> Result<i64> {
        self.value("SELECT count(*) FROM subjects".into(), &[])
    }

    fn count_subjects_by(&mut self, group: StatGroup) -> Result<Vec<GroupCount>> {
        match group {
            StatGroup::Kind => self.rows("SELECT kind, count(*) FROM subjects GROUP BY 1 ORDER BY 1".into(), &[]),
            StatGroup::CollectedYear => {
                let year = self.dialect().year("collected_at");
                once_rows(self, &format!("SELECT {year}, count(*) FROM subjects GROUP BY 1 ORDER BY 1"), &[])
            }
        }
    }

    // Retention.

    fn hold_events(&mut self, subject: Id) -> Result<Vec<HoldEventRow>> {
        self.rows(
            "SELECT id, subject_id, action, reason, at, actor FROM legal_hold_events WHERE subject_id = $1 ORDER BY at, id"
                .into(),
            &[&subject],
        )
    }

    fn due(&mut self, at: NaiveDate, limit: i64) -> Result<Vec<DueRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                due_columns!(),
                " FROM subjects s WHERE s.expires_on < $1 AND s.legal_hold IS NULL ORDER BY s.expires_on, s.id LIMIT $2"
            )),
            &[&at, &limit],
        )
    }

    fn count_due(&mut self, at: NaiveDate) -> Result<i64> {
        self.value("SELECT count(*) FROM subjects WHERE expires_on < $1 AND legal_hold IS NULL".into(), &[&at])
    }

    fn held_due(&mut self, at: NaiveDate) -> Result<Vec<HeldRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                due_columns!(),
                ", s.legal_hold, k.wrapped, s.held_at FROM subjects s JOIN subject_keys k ON k.subject_id = s.id
                 WHERE s.expires_on < $1 AND s.legal_hold IS NOT NULL ORDER BY s.expires_on, s.id"
            )),
            &[&at],
        )
    }

    fn count_expiring_by_month(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<GroupCount>> {
        let month = self.dialect().month("expires_on");
        once_rows(
            self,
            &format!(
                "SELECT {month}, count(*) FROM subjects
                 WHERE expires_on >= $1 AND expires_on < $2 AND legal_hold IS NULL GROUP BY 1 ORDER BY 1"
            ),
            &[&from, &to],
        )
    }

    fn to_review(&mut self, limit: i64) -> Result<Vec<ReviewRow>> {
        self.rows(
            "SELECT id, collected_at FROM subjects WHERE retention_rule = 'client_without_contract'
             ORDER BY collected_at, id LIMIT $1"
                .into(),
            &[&limit],
        )
    }

    fn count_to_review(&mut self) -> Result<i64> {
        self.value("SELECT count(*) FROM subjects WHERE retention_rule = 'client_without_contract'".into(), &[])
    }

    fn open_request_subjects(&mut self) -> Result<Vec<(Id, Id)>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT id, subject_id FROM requests WHERE subject_id IS NOT NULL AND status IN ",
                open_statuses!(),
                " ORDER BY id"
            )),
            &[],
        )
    }

    fn scope_due(&mut self, f: &ScopeFilter, at: NaiveDate) -> Result<Vec<DueRow>> {
        let mut args: Vec<&dyn ToArg> = vec![&at];
        let scope = scope_where(f, &mut args);
        once_rows(
            self,
            &format!(
                concat!(
                    "SELECT ",
                    due_columns!(),
                    " FROM subjects s WHERE ({}) AND s.expires_on < $1 AND s.legal_hold IS NULL ORDER BY s.expires_on, s.id"
                ),
                scope
            ),
            &args,
        )
    }

    fn erasure(&mut self, id: Id) -> Result<Option<ErasureRow>> {
        self.opt("SELECT subject_id, erased_at, kind, rule FROM erasures WHERE subject_id = $1".into(), &[&id])
    }

    fn erasures_since(&mut self, since: DateTime<Utc>, limit: i64) -> Result<Vec<ErasureRow>> {
        self.rows(
            "SELECT subject_id, erased_at, kind, rule FROM erasures WHERE erased_at >= $1
             ORDER BY erased_at, subject_id LIMIT $2"
                .into(),
            &[&since, &limit],
        )
    }

    fn erased_counts(&mut self) -> Result<Vec<GroupCount>> {
        self.rows("SELECT month || '|' || kind || '|' || rule, count FROM erased_counts ORDER BY 1".into(), &[])
    }

    // Recipients and transfers.

    fn safeguards(&mut self) -> Result<Vec<SafeguardRow>> {
        self.rows(
            "SELECT id, recipient, kind, signed_on, recorded_at FROM safeguards ORDER BY recipient, signed_on, id"
                .into(),
            &[],
        )
    }

    fn transfer_activations(&mut self) -> Result<Vec<(String, DateTime<Utc>)>> {
        self.rows("SELECT recipient, activated_at FROM transfer_activations ORDER BY recipient".into(), &[])
    }

    fn disclosures_for_recipient(&mut self, recipient: &str, limit: i64) -> Result<Vec<DisclosureRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                disclosure_columns!(),
                " FROM disclosures WHERE recipient = $1 ORDER BY at DESC, id DESC LIMIT $2"
            )),
            &[&recipient, &limit],
        )
    }

    // Outbox.

    fn messages_for_subject(&mut self, subject: Id) -> Result<Vec<MessageRow>> {
        self.rows(
            Stmt::Static(concat!("SELECT ", message_columns!(), " FROM outbox WHERE subject_id = $1 ORDER BY id")),
            &[&subject],
        )
    }

    fn messages(&mut self, status: Option<OutboxStatus>, limit: i64) -> Result<Vec<MessageRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                message_columns!(),
                " FROM outbox WHERE $1::text IS NULL OR status = $1::text ORDER BY id DESC LIMIT $2"
            )),
            &[&status, &limit],
        )
    }

    fn count_messages(&mut self, template: &str, params: &str) -> Result<(i64, i64)> {
        self.opt(
            Stmt::Static(concat!(
                "SELECT count(*), count(*) FILTER (WHERE status <> ",
                outbox_sent!(),
                ") FROM outbox WHERE template = $1 AND params = $2"
            )),
            &[&template, &params],
        )
        .map(Option::unwrap_or_default)
    }

    // Policy versions.

    fn policy_versions(&mut self) -> Result<Vec<PolicyVersionRow>> {
        self.rows(
            "SELECT version, text, effective_date, status, uploaded_at, activated_at FROM policy_versions
             ORDER BY uploaded_at, version"
                .into(),
            &[],
        )
    }

    // Rights requests.

    fn request(&mut self, id: Id) -> Result<Option<RequestRow>> {
        self.opt(Stmt::Static(concat!("SELECT ", request_columns!(), " FROM requests WHERE id = $1")), &[&id])
    }

    fn requests(&mut self, limit: i64) -> Result<Vec<RequestRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                request_columns!(),
                " FROM requests ORDER BY coalesce(extended_due_on, due_on), received_on, id LIMIT $1"
            )),
            &[&limit],
        )
    }

    fn has_identity_document(&mut self, request: Id) -> Result<bool> {
        self.value("SELECT EXISTS (SELECT 1 FROM identity_documents WHERE request_id = $1)".into(), &[&request])
    }

    fn is_suppressed(&mut self, email_bi: &[u8]) -> Result<bool> {
        self.value("SELECT EXISTS (SELECT 1 FROM suppression WHERE email_bi = $1)".into(), &[&email_bi])
    }

    fn count_suppressed(&mut self) -> Result<i64> {
        self.value("SELECT count(*) FROM suppression".into(), &[])
    }

    // Breaches.

    fn breach(&mut self, id: Id) -> Result<Option<BreachRow>> {
        self.opt(Stmt::Static(concat!("SELECT ", breach_columns!(), " FROM breaches WHERE id = $1")), &[&id])
    }

    fn breaches(&mut self) -> Result<Vec<BreachRow>> {
        self.rows(
            Stmt::Static(concat!("SELECT ", breach_columns!(), " FROM breaches ORDER BY detected_at DESC, id")),
            &[],
        )
    }

    fn breach_phases(&mut self, breach: Id) -> Result<Vec<BreachPhaseRow>> {
        self.rows(
            "SELECT id, breach_id, at, phase, details, actor FROM breach_phases WHERE breach_id = $1 ORDER BY at, id"
                .into(),
            &[&breach],
        )
    }

    fn scope_count(&mut self, f: &ScopeFilter) -> Result<ScopeCount> {
        let mut args: Vec<&dyn ToArg> = Vec::new();
        let scope = scope_where(f, &mut args);
        let counts: Vec<ScopeCount> = once_rows(
            self,
            &format!(
                "WITH scope AS (SELECT s.id FROM subjects s WHERE {scope})
                 SELECT (SELECT count(*) FROM scope),
                        (SELECT count(*) FROM contracts WHERE subject_id IN (SELECT id FROM scope)),
                        (SELECT count(*) FROM interactions WHERE subject_id IN (SELECT id FROM scope)),
                        (SELECT count(*) FROM consents WHERE subject_id IN (SELECT id FROM scope))"
            ),
            &args,
        )?;
        Ok(counts.into_iter().next().unwrap_or_default())
    }

    // A subject's records.

    fn contracts(&mut self, subject: Id) -> Result<Vec<ContractRow>> {
        self.rows(
            "SELECT id, subject_id, reference, start_date, end_date, created_at FROM contracts
             WHERE subject_id = $1 ORDER BY start_date, id"
                .into(),
            &[&subject],
        )
    }

    fn interactions(&mut self, subject: Id) -> Result<Vec<InteractionRow>> {
        self.rows(
            "SELECT id, subject_id, at, direction, channel, summary, created_at FROM interactions
             WHERE subject_id = $1 ORDER BY at, id"
                .into(),
            &[&subject],
        )
    }

    fn consents(&mut self, subject: Id) -> Result<Vec<ConsentRow>> {
        self.rows(
            "SELECT id, subject_id, purpose, granted, at, evidence FROM consents WHERE subject_id = $1 ORDER BY at, id"
                .into(),
            &[&subject],
        )
    }

    fn objections(&mut self, subject: Id) -> Result<Vec<ObjectionRow>> {
        self.rows(
            "SELECT id, subject_id, purpose, at FROM objections WHERE subject_id = $1 ORDER BY at, id".into(),
            &[&subject],
        )
    }

    // Tokens.

    fn token_by_hash(&mut self, hash: &[u8]) -> Result<Option<TokenRow>> {
        self.opt(
            "SELECT id, hash, role, recipient, created_at, revoked_at FROM tokens WHERE hash = $1".into(),
            &[&hash],
        )
    }

    fn count_tokens(&mut self) -> Result<i64> {
        self.value("SELECT count(*) FROM tokens".into(), &[])
    }

    // Audit trail.

    fn audit_head_mac(&mut self) -> Result<Option<Vec<u8>>> {
        self.value("SELECT mac FROM audit_head WHERE id = 1".into(), &[])
    }

    fn audit_page(&mut self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        self.rows(
            Stmt::Static(concat!("SELECT ", audit_columns!(), " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2")),
            &[&after, &limit],
        )
    }

    fn audit_head_recorded(&mut self) -> Result<(i64, Vec<u8>)> {
        self.opt("SELECT seq, hash FROM audit_head WHERE id = 1".into(), &[])?.ok_or_else(no_head)
    }

    // Disclosures.

    fn disclosures_for_subject(&mut self, subject: Id) -> Result<Vec<DisclosureRow>> {
        self.rows(
            Stmt::Static(concat!(
                "SELECT ",
                disclosure_columns!(),
                " FROM disclosures WHERE subject_id = $1 ORDER BY at, id"
            )),
            &[&subject],
        )
    }

    // Key rotation.

    fn wrapped_keys(&mut self) -> Result<Vec<(KeyOwner, Id, Vec<u8>)>> {
        let mut out = Vec::new();
        for (owner, sql) in [
            (KeyOwner::Subject, "SELECT subject_id, wrapped FROM subject_keys"),
            (KeyOwner::Request, "SELECT id, wrapped_key FROM requests WHERE length(wrapped_key) > 0"),
            (KeyOwner::Breach, "SELECT id, wrapped_key FROM breaches"),
        ] {
            let keys: Vec<(Id, Vec<u8>)> = self.rows(sql.into(), &[])?;
            out.extend(keys.into_iter().map(|(id, k)| (owner, id, k)));
        }
        Ok(out)
    }

    // Settings kept in the database.

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self.opt::<(String,)>("SELECT value FROM meta WHERE key = $1".into(), &[&key])?.map(|(v,)| v))
    }
}

impl<D: Driver> Tx for D {
    // Subjects.

    fn insert_subject(&mut self, s: &SubjectRow) -> Result<()> {
        insert_subject_row(self, s)
    }

    fn insert_subjects(&mut self, rows: &[SubjectRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.bulk_insert_subjects(rows)
    }

    fn set_subject_kind(&mut self, id: Id, kind: SubjectKind, at: DateTime<Utc>) -> Result<()> {
        self.update_one("UPDATE subjects SET kind = $2, updated_at = $3 WHERE id = $1", &[&id, &kind, &at], || {
            format!("subject {id}")
        })
    }

    // Retention.

    fn set_retention(
        &mut self,
        id: Id,
        rule: &str,
        basis: Option<NaiveDate>,
        expires: Option<NaiveDate>,
    ) -> Result<()> {
        self.update_one(
            "UPDATE subjects SET retention_rule = $2, basis_date = $3, expires_on = $4 WHERE id = $1",
            &[&id, &rule, &basis, &expires],
            || format!("subject {id}"),
        )
    }

    fn set_legal_hold(&mut self, id: Id, hold: Option<(&[u8], DateTime<Utc>)>) -> Result<()> {
        let (reason, at) = hold.map_or((None, None), |(r, a)| (Some(r), Some(a)));
        self.update_one("UPDATE subjects SET legal_hold = $2, held_at = $3 WHERE id = $1", &[&id, &reason, &at], || {
            format!("subject {id}")
        })
    }

    fn insert_hold_event(&mut self, e: &HoldEventRow) -> Result<()> {
        self.execute(
            "INSERT INTO legal_hold_events (id, subject_id, action, reason, at, actor) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&e.id, &e.subject_id, &e.action, &e.reason, &e.at, &e.actor],
        )?;
        Ok(())
    }

    fn erase_subject(&mut self, id: Id, rule: &str, at: DateTime<Utc>) -> Result<bool> {
        // The row lock makes a concurrent erasure of the same subject (another
        // instance's sweep) wait, then find nothing and return false, rather
        // than fail on the tombstone's key.
        let Some((kind,)) =
            self.opt::<(String,)>("SELECT kind FROM subjects WHERE id = $1 FOR UPDATE".into(), &[&id])?
        else {
            return Ok(false);
        };
        for sql in [
            "DELETE FROM subject_keys WHERE subject_id = $1",
            "DELETE FROM contracts WHERE subject_id = $1",
            "DELETE FROM interactions WHERE subject_id = $1",
            "DELETE FROM consents WHERE subject_id = $1",
            "DELETE FROM objections WHERE subject_id = $1",
            "DELETE FROM legal_hold_events WHERE subject_id = $1",
            "DELETE FROM disclosures WHERE subject_id = $1",
            "DELETE FROM outbox WHERE subject_id = $1",
            // What requests held of the subject dies with it: identity documents, the requester's
            // details and the response (their key is destroyed); the proof record remains.
            "DELETE FROM identity_documents WHERE request_id IN (SELECT id FROM requests WHERE subject_id = $1)",
            "DELETE FROM subjects WHERE id = $1",
        ] {
            self.execute(sql.into(), &[&id])?;
        }
        let nothing: &[u8] = &[];
        self.execute(
            "UPDATE requests SET requester = $2, wrapped_key = $2, response = NULL, extension_reason = NULL,
                    requester_bi = NULL WHERE subject_id = $1"
                .into(),
            &[&id, &nothing],
        )?;
        self.execute(
            "INSERT INTO erasures (subject_id, erased_at, kind, rule) VALUES ($1, $2, $3, $4)".into(),
            &[&id, &at, &kind, &rule],
        )?;
        let month = at.format("%Y-%m").to_string();
        self.execute(
            "INSERT INTO erased_counts (month, kind, rule, count) VALUES ($1, $2, $3, 1)
             ON CONFLICT (month, kind, rule) DO UPDATE SET count = erased_counts.count + 1"
                .into(),
            &[&month, &kind, &rule],
        )?;
        Ok(true)
    }

    fn erase_if_due(&mut self, id: Id, rule: &str, at: DateTime<Utc>, due_at: NaiveDate) -> Result<bool> {
        // Under the row lock, the conditions are read again from the latest committed
        // row: a legal hold or a contract committed during the sweep keeps the subject.
        let due = self.opt::<(Id,)>(
            Stmt::Static(concat!(
                "SELECT s.id FROM subjects s WHERE s.id = $1 AND s.expires_on < $2 AND s.legal_hold IS NULL
                   AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.subject_id = s.id AND r.status IN ",
                open_statuses!(),
                ") FOR UPDATE OF s"
            )),
            &[&id, &due_at],
        )?;
        if due.is_none() {
            return Ok(false);
        }
        self.erase_subject(id, rule, at)
    }

    // Recipients and transfers.

    fn insert_safeguard(&mut self, g: &SafeguardRow) -> Result<()> {
        self.execute(
            "INSERT INTO safeguards (id, recipient, kind, signed_on, recorded_at) VALUES ($1, $2, $3, $4, $5)".into(),
            &[&g.id, &g.recipient, &g.kind, &g.signed_on, &g.recorded_at],
        )?;
        Ok(())
    }

    fn activate_transfer(&mut self, recipient: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO transfer_activations (recipient, activated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING".into(),
            &[&recipient, &at],
        )?;
        Ok(n == 1)
    }

    // Outbox.

    fn queue_message(&mut self, m: &NewMessage) -> Result<bool> {
        let n = self.execute(
            Stmt::Static(concat!(
                "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts,
                                 next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, ",
                outbox_pending!(),
                ", 0, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING"
            )),
            &[&m.idempotency_key, &m.subject_id, &m.recipient, &m.template, &m.params, &m.at],
        )?;
        Ok(n == 1)
    }

    fn queue_for_subjects(
        &mut self,
        kinds: &[SubjectKind],
        template: &str,
        params: &str,
        key_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let f = ScopeFilter { kinds: kinds.to_vec(), ..ScopeFilter::default() };
        if kinds.is_empty() {
            return Ok(0);
        }
        self.queue_for_scope(&f, template, params, key_prefix, at)
    }

    fn claim_messages(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        // SKIP LOCKED: instances claiming at once take disjoint messages. A
        // message whose claim committed meanwhile is re-checked on its new
        // version, found leased, and left out.
        let mut claimed: Vec<MessageRow> = self.rows(
            Stmt::Static(concat!(
                "UPDATE outbox SET lease_until = $2 WHERE id IN (
                     SELECT id FROM outbox WHERE status = ",
                outbox_pending!(),
                " AND next_attempt_at <= $1
                     AND (lease_until IS NULL OR lease_until < $1) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING ",
                message_columns!()
            )),
            &[&now, &lease_until, &limit],
        )?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    fn mark_sent(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.execute(
            Stmt::Static(concat!(
                "UPDATE outbox SET status = ",
                outbox_sent!(),
                ", sent_at = $2, attempts = attempts + 1, lease_until = NULL WHERE id = $1"
            )),
            &[&id, &at],
        )?;
        Ok(())
    }

    fn mark_failed(&mut self, id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        self.execute(
            Stmt::Static(concat!(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, lease_until = NULL,
             status = CASE WHEN $3::timestamptz IS NULL THEN ",
                outbox_failed!(),
                " ELSE ",
                outbox_pending!(),
                " END,
             next_attempt_at = COALESCE($3::timestamptz, next_attempt_at) WHERE id = $1"
            )),
            &[&id, &error, &retry_at],
        )?;
        Ok(())
    }

    // Policy versions.

    fn insert_policy_version(&mut self, v: &PolicyVersionRow) -> Result<()> {
        self.execute(
            "INSERT INTO policy_versions (version, text, effective_date, status, uploaded_at, activated_at)
             VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&v.version, &v.text, &v.effective_date, &v.status, &v.uploaded_at, &v.activated_at],
        )?;
        Ok(())
    }

    fn set_policy_status(&mut self, version: &str, status: PolicyStatus, at: DateTime<Utc>) -> Result<()> {
        self.update_one(
            concat!(
                "UPDATE policy_versions SET status = $2::text,
             activated_at = CASE WHEN $2::text = ",
                policy_active!(),
                " THEN $3::timestamptz ELSE activated_at END WHERE version = $1"
            ),
            &[&version, &status, &at],
            || format!("policy version {version}"),
        )
    }

    // Rights requests.

    fn insert_request(&mut self, r: &RequestRow) -> Result<()> {
        self.execute(
            Stmt::Static(concat!(
                "INSERT INTO requests (",
                request_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
            )),
            &[
                &r.id,
                &r.kind,
                &r.channel,
                &r.received_on,
                &r.due_on,
                &r.extended_due_on,
                &r.status,
                &r.subject_id,
                &r.requester_bi,
                &r.requester,
                &r.identity_document,
                &r.identity_decision,
                &r.identity_at,
                &r.extension_reason,
                &r.outcome,
                &r.response,
                &r.wrapped_key,
                &r.created_at,
                &r.updated_at,
                &r.completed_at,
            ],
        )?;
        Ok(())
    }

    fn update_request(&mut self, r: &RequestRow) -> Result<()> {
        self.update_one(
            "UPDATE requests SET due_on = $2, extended_due_on = $3, status = $4, subject_id = $5, identity_document = $6,
                 identity_decision = $7, identity_at = $8, extension_reason = $9, outcome = $10, response = $11,
                 updated_at = $12, completed_at = $13, requester = $14
             WHERE id = $1",
            &[
                &r.id,
                &r.due_on,
                &r.extended_due_on,
                &r.status,
                &r.subject_id,
                &r.identity_document,
                &r.identity_decision,
                &r.identity_at,
                &r.extension_reason,
                &r.outcome,
                &r.response,
                &r.updated_at,
                &r.completed_at,
                &r.requester,
            ],
            || format!("request {}", r.id),
        )
    }

    fn put_identity_document(
        &mut self,
        request: Id,
        sealed: &[u8],
        content_type: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO identity_documents (request_id, content, content_type, uploaded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (request_id) DO UPDATE SET content = excluded.content, content_type = excluded.content_type,
             uploaded_at = excluded.uploaded_at"
                .into(),
            &[&request, &sealed, &content_type, &at],
        )?;
        Ok(())
    }

    fn delete_identity_document(&mut self, request: Id) -> Result<bool> {
        Ok(self.execute("DELETE FROM identity_documents WHERE request_id = $1".into(), &[&request])? == 1)
    }

    fn suppress(&mut self, email_bi: &[u8], reason: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO suppression (email_bi, added_at, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING".into(),
            &[&email_bi, &at, &reason],
        )?;
        Ok(n == 1)
    }

    fn update_identity(
        &mut self,
        id: Id,
        identity: &[u8],
        email_bi: Option<&[u8]>,
        phone_bi: Option<&[u8]>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.update_one(
            "UPDATE subjects SET identity = $2, email_bi = $3, phone_bi = $4, updated_at = $5 WHERE id = $1",
            &[&id, &identity, &email_bi, &phone_bi, &at],
            || format!("subject {id}"),
        )
    }

    fn rekey_subject(&mut self, r: &Rekeyed, at: DateTime<Utc>) -> Result<()> {
        self.update_one(
            "UPDATE subjects SET identity = $2, email_bi = $3, phone_bi = $4, legal_hold = $5, updated_at = $6 WHERE id = $1",
            &[&r.id, &r.identity, &r.email_bi, &r.phone_bi, &r.legal_hold, &at],
            || format!("subject {}", r.id),
        )?;
        self.execute("UPDATE subject_keys SET wrapped = $2 WHERE subject_id = $1".into(), &[&r.id, &r.wrapped_key])?;
        for (id, v) in &r.contracts {
            self.execute("UPDATE contracts SET reference = $2 WHERE id = $1".into(), &[id, v])?;
        }
        for (id, v) in &r.interactions {
            self.execute("UPDATE interactions SET summary = $2 WHERE id = $1".into(), &[id, v])?;
        }
        for (id, v) in &r.consents {
            self.execute("UPDATE consents SET evidence = $2 WHERE id = $1".into(), &[id, v])?;
        }
        for (id, v) in &r.hold_events {
            self.execute("UPDATE legal_hold_events SET reason = $2 WHERE id = $1".into(), &[id, v])?;
        }
        Ok(())
    }

    fn delete_interactions(&mut self, subject: Id) -> Result<u64> {
        self.execute("DELETE FROM interactions WHERE subject_id = $1".into(), &[&subject])
    }

    fn delete_closed_requests(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute("DELETE FROM requests WHERE completed_at IS NOT NULL AND completed_at < $1".into(), &[&before])
    }

    // Breaches.

    fn insert_breach(&mut self, b: &BreachRow) -> Result<()> {
        let (nature, data_categories) = (token_list(&b.nature), token_list(&b.data_categories));
        self.execute(
            Stmt::Static(concat!(
                "INSERT INTO breaches (",
                breach_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )),
            &[
                &b.id,
                &b.detected_at,
                &nature,
                &data_categories,
                &b.scope,
                &b.risk,
                &b.status,
                &b.keys_compromised,
                &b.subjects_concerned,
                &b.records_concerned,
                &b.details,
                &b.wrapped_key,
                &b.created_at,
                &b.updated_at,
            ],
        )?;
        Ok(())
    }

    fn update_breach(&mut self, b: &BreachRow) -> Result<()> {
        let (nature, data_categories) = (token_list(&b.nature), token_list(&b.data_categories));
        self.update_one(
            "UPDATE breaches SET nature = $2, data_categories = $3, scope = $4, risk = $5, status = $6, keys_compromised = $7,
                 subjects_concerned = $8, records_concerned = $9, details = $10, updated_at = $11 WHERE id = $1",
            &[
                &b.id,
                &nature,
                &data_categories,
                &b.scope,
                &b.risk,
                &b.status,
                &b.keys_compromised,
                &b.subjects_concerned,
                &b.records_concerned,
                &b.details,
                &b.updated_at,
            ],
            || format!("breach {}", b.id),
        )
    }

    fn insert_breach_phase(&mut self, p: &BreachPhaseRow) -> Result<()> {
        self.execute(
            "INSERT INTO breach_phases (id, breach_id, at, phase, details, actor) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&p.id, &p.breach_id, &p.at, &p.phase, &p.details, &p.actor],
        )?;
        Ok(())
    }

    fn queue_for_scope(
        &mut self,
        f: &ScopeFilter,
        template: &str,
        params: &str,
        key_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        // One statement whatever the number of subjects; the key is the prefix and
        // the id as 32 lowercase hex digits.
        let mut args: Vec<&dyn ToArg> = vec![&key_prefix, &template, &params, &at];
        let scope = scope_where(f, &mut args);
        let hex = self.dialect().hex_id("s.id");
        once(
            self,
            &format!(
                concat!(
                    "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts,
                                     next_attempt_at, created_at)
                 SELECT $1::text || {hex}, s.id, NULL, $2, $3, ",
                    outbox_pending!(),
                    ", 0, $4, $4
                 FROM subjects s WHERE ({scope}) AND s.email_bi IS NOT NULL ON CONFLICT (idempotency_key) DO NOTHING"
                ),
                hex = hex,
                scope = scope
            ),
            &args,
        )
    }

    // Background jobs.

    fn claim_job(
        &mut self,
        name: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        self.execute("INSERT INTO jobs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING".into(), &[&name])?;
        // In PostgreSQL's READ COMMITTED a competing claim waits on the row lock, then
        // re-evaluates the condition against the winner's committed lease.
        let n = self.execute(
            "UPDATE jobs SET lease_until = $4 WHERE name = $1
             AND (lease_until IS NULL OR lease_until < $3) AND (last_run_on IS NULL OR last_run_on < $2)"
                .into(),
            &[&name, &today, &now, &lease_until],
        )?;
        Ok(n == 1)
    }

    fn finish_job(&mut self, name: &str, today: NaiveDate) -> Result<()> {
        self.execute("UPDATE jobs SET lease_until = NULL, last_run_on = $2 WHERE name = $1".into(), &[&name, &today])?;
        Ok(())
    }

    // A subject's records.

    fn insert_contract(&mut self, c: &ContractRow) -> Result<()> {
        self.execute(
            "INSERT INTO contracts (id, subject_id, reference, start_date, end_date, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&c.id, &c.subject_id, &c.reference, &c.start, &c.end, &c.created_at],
        )?;
        Ok(())
    }

    fn insert_interaction(&mut self, i: &InteractionRow) -> Result<()> {
        self.execute(
            "INSERT INTO interactions (id, subject_id, at, direction, channel, summary, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
                .into(),
            &[&i.id, &i.subject_id, &i.at, &i.direction, &i.channel, &i.summary, &i.created_at],
        )?;
        Ok(())
    }

    fn insert_consent(&mut self, c: &ConsentRow) -> Result<()> {
        self.execute(
            "INSERT INTO consents (id, subject_id, purpose, granted, at, evidence) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&c.id, &c.subject_id, &c.purpose, &c.granted, &c.at, &c.evidence],
        )?;
        Ok(())
    }

    fn insert_objection(&mut self, o: &ObjectionRow) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO objections (id, subject_id, purpose, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
                .into(),
            &[&o.id, &o.subject_id, &o.purpose, &o.at],
        )?;
        Ok(n == 1)
    }

    // Tokens.

    fn insert_token(&mut self, t: &TokenRow) -> Result<()> {
        self.execute(
            "INSERT INTO tokens (id, hash, role, recipient, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)"
                .into(),
            &[&t.id, &t.hash, &t.role, &t.recipient, &t.created_at, &t.revoked_at],
        )?;
        Ok(())
    }

    // Audit trail.

    fn audit_head(&mut self) -> Result<(i64, Vec<u8>)> {
        // Several writer threads and instances extend one chain: the row lock,
        // held until commit, makes them take turns. In READ COMMITTED a waiter
        // reads the head its predecessor committed.
        self.opt("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE".into(), &[])?.ok_or_else(no_head)
    }

    fn append_audit(&mut self, e: &AuditRow, head_mac: &[u8]) -> Result<()> {
        insert_audit_row(self, e)?;
        self.execute(
            "UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1".into(),
            &[&e.seq, &e.hash, &head_mac],
        )?;
        Ok(())
    }

    fn append_audits(&mut self, entries: &[AuditRow], head_mac: &[u8]) -> Result<()> {
        let Some(last) = entries.last() else { return Ok(()) };
        self.bulk_insert_audit(entries)?;
        self.execute(
            "UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1".into(),
            &[&last.seq, &last.hash, &head_mac],
        )?;
        Ok(())
    }

    fn set_audit_head_mac(&mut self, mac: &[u8]) -> Result<()> {
        self.execute("UPDATE audit_head SET mac = $1 WHERE id = 1".into(), &[&mac])?;
        Ok(())
    }

    // Disclosures.

    fn insert_disclosure(&mut self, d: &DisclosureRow) -> Result<()> {
        self.execute(
            Stmt::Static(concat!(
                "INSERT INTO disclosures (",
                disclosure_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )),
            &[&d.id, &d.at, &d.recipient, &d.subject_id, &d.fields, &d.purpose, &d.token_id],
        )?;
        Ok(())
    }

    // Key rotation.

    fn set_wrapped_key(&mut self, owner: KeyOwner, id: Id, wrapped: &[u8]) -> Result<()> {
        let sql = match owner {
            KeyOwner::Subject => "UPDATE subject_keys SET wrapped = $2 WHERE subject_id = $1",
            KeyOwner::Request => "UPDATE requests SET wrapped_key = $2 WHERE id = $1",
            KeyOwner::Breach => "UPDATE breaches SET wrapped_key = $2 WHERE id = $1",
        };
        self.execute(sql.into(), &[&id, &wrapped])?;
        Ok(())
    }

    // Settings kept in the database.

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                .into(),
            &[&key, &value],
        )?;
        Ok(())
    }
}

fn no_head() -> crate::StoreError {
    crate::StoreError::Backend("the audit head row is missing".into())
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
