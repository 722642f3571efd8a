//! The raw work of the benchmarks' baselines (`vigie-bench`): the statements
//! the store runs, or the rows it writes, done directly on a connection from
//! [`crate::Sqlite::raw_connection`] (the store's own pragmas), without crypto,
//! audit chain or worker threads. The store itself never calls this module; it
//! is here so that SQL stays in the store crates.
//!
//! Random bytes stand in for sealed values, blind indexes and chain MACs: the
//! caller supplies them (`hash` closures), so this crate needs no random
//! number generator. Use a connection only while Vigie is idle on the file.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, Params, Result, TransactionBehavior, params};
use std::hint::black_box;
use vigie_store::sql::tx::{ERASE_CHUNK, EraseSql, pad};
use vigie_store::{Uuid, now};

/// The connection every function here takes ([`crate::Sqlite::raw_connection`] returns one).
pub use rusqlite::Connection;

// ---- subjects written raw (import and HTTP baselines) ----

pub use vigie_store::raw::{AuditShape, NewSubject};

const SUBJECT_INSERT: &str = "INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, \
                              identity, retention_rule, basis_date, expires_on, legal_hold, held_at) \
                              VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, NULL)";
const KEY_INSERT: &str = "INSERT INTO subject_keys (subject_id, wrapped) VALUES (?1, ?2)";
const AUDIT_INSERT: &str = "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash) \
                            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const AUDIT_HEAD: &str = "SELECT seq FROM audit_head WHERE id = 1";
const AUDIT_HEAD_SET: &str = "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1";

/// The three prepared inserts of one subject.
pub struct SubjectInserts<'c> {
    conn: &'c Connection,
    subject: rusqlite::Statement<'c>,
    key: rusqlite::Statement<'c>,
    audit: rusqlite::Statement<'c>,
}

impl<'c> SubjectInserts<'c> {
    pub fn prepare(conn: &'c Connection) -> Result<Self> {
        Ok(SubjectInserts {
            conn,
            subject: conn.prepare(SUBJECT_INSERT)?,
            key: conn.prepare(KEY_INSERT)?,
            audit: conn.prepare(AUDIT_INSERT)?,
        })
    }

    /// Inserts one subject's three rows in the current transaction, `at` as its times.
    pub fn insert(&mut self, r: &NewSubject, seq: i64, at: DateTime<Utc>, a: &AuditShape<'_>) -> Result<()> {
        self.subject.execute(params![
            r.id,
            r.kind,
            r.collected_at,
            at,
            at,
            r.email_bi,
            r.phone_bi,
            r.identity,
            r.retention_rule,
            r.basis_date,
            r.expires_on
        ])?;
        self.key.execute(params![r.id, r.wrapped])?;
        self.audit.execute(params![
            seq,
            at,
            a.actor,
            a.action,
            r.id,
            None::<String>,
            a.fields,
            a.outcome,
            r.detail,
            r.hash
        ])?;
        Ok(())
    }

    /// One durable single-subject commit: `BEGIN IMMEDIATE`, the three inserts, `COMMIT`.
    pub fn commit_one(&mut self, r: &NewSubject, seq: i64, at: DateTime<Utc>, a: &AuditShape<'_>) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.insert(r, seq, at, a)?;
        self.conn.execute_batch("COMMIT")
    }
}

/// Inserts every subject of `rows` (audit seq from 1) in one `IMMEDIATE` transaction,
/// with prepared statements; returns how many.
pub fn insert_subjects(
    conn: &mut Connection,
    rows: impl IntoIterator<Item = NewSubject>,
    at: DateTime<Utc>,
    a: &AuditShape<'_>,
) -> Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut n = 0u64;
    {
        let mut ins = SubjectInserts::prepare(&tx)?;
        for r in rows {
            n += 1;
            ins.insert(&r, i64::try_from(n).unwrap_or(i64::MAX), at, a)?;
        }
    }
    tx.commit()?;
    Ok(n)
}

/// The sizes and texts of what a real import wrote, read back from its database.
pub struct RowShapes {
    /// Average length of `subjects.identity`.
    pub identity_avg: f64,
    pub wrapped_max: i64,
    pub email_bi_max: i64,
    pub phone_bi_max: i64,
    /// The first `subject.create` audit entry: action, fields, outcome, hash.
    pub action: String,
    pub fields: String,
    pub outcome: String,
    pub hash: Vec<u8>,
    /// Per kind asked for, one subject's retention rule, basis date and expiry.
    pub retention: Vec<(String, Option<NaiveDate>, Option<NaiveDate>)>,
}

/// Reads the [`RowShapes`] of the subjects in the database, with the retention of one subject of each of `kinds`.
pub fn row_shapes(conn: &Connection, kinds: &[&str]) -> Result<RowShapes> {
    let (identity_avg, wrapped_max, email_bi_max, phone_bi_max) = conn.query_row(
        "SELECT avg(length(s.identity)), max(length(k.wrapped)), max(length(s.email_bi)), max(length(s.phone_bi))
         FROM subjects s JOIN subject_keys k ON k.subject_id = s.id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let (action, fields, outcome, hash) = conn.query_row(
        "SELECT action, fields, outcome, hash FROM audit WHERE action = 'subject.create' ORDER BY seq LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let retention = kinds
        .iter()
        .map(|kind| {
            conn.query_row(
                "SELECT retention_rule, basis_date, expires_on FROM subjects WHERE kind = ?1 LIMIT 1",
                [kind],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .collect::<Result<_>>()?;
    Ok(RowShapes { identity_avg, wrapped_max, email_bi_max, phone_bi_max, action, fields, outcome, hash, retention })
}

// ---- settings and maintenance ----

/// Sets the connection's page cache, in MiB (the store sets 128).
pub fn set_cache_mib(conn: &Connection, mib: u32) -> Result<()> {
    conn.execute_batch(&format!("PRAGMA cache_size = -{}", u64::from(mib) * 1024))
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`.
pub fn checkpoint(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

/// `PRAGMA wal_autocheckpoint` (pages; 0 turns it off; SQLite's default is 1000).
pub fn set_wal_autocheckpoint(conn: &Connection, pages: u32) -> Result<()> {
    conn.execute_batch(&format!("PRAGMA wal_autocheckpoint = {pages}"))
}

/// `ANALYZE`.
pub fn analyze(conn: &Connection) -> Result<()> {
    conn.execute_batch("ANALYZE")
}

/// A setting other than the store's, for exploration.
#[derive(Clone, Copy, Debug)]
pub enum Variant {
    SecureDeleteOff,
    ForeignKeysOff,
    /// A 1 GiB page cache instead of 128 MiB.
    PageCache1GiB,
    /// No WAL auto-checkpoint (one at the end).
    NoWalAutocheckpoint,
}

impl Variant {
    /// Switches the connection to the variant (`on`) or back to the store's setting.
    pub fn set(self, conn: &Connection, on: bool) -> Result<()> {
        let sql = match (self, on) {
            (Variant::SecureDeleteOff, true) => "PRAGMA secure_delete = OFF",
            (Variant::SecureDeleteOff, false) => "PRAGMA secure_delete = ON",
            (Variant::ForeignKeysOff, true) => "PRAGMA foreign_keys = OFF",
            (Variant::ForeignKeysOff, false) => "PRAGMA foreign_keys = ON",
            (Variant::PageCache1GiB, true) => "PRAGMA cache_size = -1048576",
            (Variant::PageCache1GiB, false) => "PRAGMA cache_size = -131072",
            (Variant::NoWalAutocheckpoint, true) => "PRAGMA wal_autocheckpoint = 0",
            (Variant::NoWalAutocheckpoint, false) => "PRAGMA wal_autocheckpoint = 1000",
        };
        conn.execute_batch(sql)
    }
}

/// Reads every column of every row, as the store's row mappers do; returns the rows.
fn read_all(conn: &Connection, sql: &str, params: impl Params) -> Result<usize> {
    let mut st = conn.prepare_cached(sql)?;
    let columns = st.column_count();
    let mut rows = st.query(params)?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        for i in 0..columns {
            black_box(r.get::<_, rusqlite::types::Value>(i)?);
        }
        n += 1;
    }
    Ok(n)
}

/// `EXPLAIN QUERY PLAN` of a statement, its lines joined on one.
fn explain(conn: &Connection, sql: &str, params: impl Params) -> Result<String> {
    let lines: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?
        .query_map(params, |r| r.get::<_, String>(3))?
        .collect::<Result<_>>()?;
    Ok(lines.join(" / "))
}

// ---- retention ----

const DUE: &str = "SELECT id, kind, retention_rule, basis_date, expires_on FROM subjects \
                   WHERE expires_on < ?1 AND legal_hold IS NULL ORDER BY expires_on, id LIMIT ?2";
const COUNT_DUE: &str = "SELECT count(*) FROM subjects WHERE expires_on < ?1 AND legal_hold IS NULL";
const HELD_DUE: &str = "SELECT s.id, s.kind, s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, k.wrapped, s.held_at \
                        FROM subjects s JOIN subject_keys k ON k.subject_id = s.id \
                        WHERE s.expires_on < ?1 AND s.legal_hold IS NOT NULL ORDER BY s.expires_on, s.id";
const MONTHS: &str = "SELECT substr(expires_on, 1, 7), count(*) FROM subjects \
                      WHERE expires_on >= ?1 AND expires_on < ?2 AND legal_hold IS NULL GROUP BY 1 ORDER BY 1";

/// The retention plan's statements in one transaction: the count due at `at`, the first
/// `limit` due, the held ones, and the months from `from` to `to`. Returns the count due.
pub fn retention_plan(conn: &mut Connection, at: NaiveDate, from: NaiveDate, to: NaiveDate, limit: i64) -> Result<i64> {
    let tx = conn.transaction()?;
    let n: i64 = tx.prepare_cached(COUNT_DUE)?.query_row([at], |r| r.get(0))?;
    black_box(read_all(&tx, DUE, params![at, limit])?);
    black_box(read_all(&tx, HELD_DUE, [at])?);
    black_box(read_all(&tx, MONTHS, params![from, to])?);
    tx.commit()?;
    Ok(n)
}

/// How the plan's count and held statements run at `at` (`EXPLAIN QUERY PLAN`), each on one line.
pub fn explain_plan(conn: &Connection, at: NaiveDate) -> Result<(String, String)> {
    Ok((explain(conn, COUNT_DUE, [at])?, explain(conn, HELD_DUE, [at])?))
}

/// Exploration: partial indexes on `expires_on` for the due and the held subjects.
pub fn create_due_indexes(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE INDEX bench_due ON subjects (expires_on) WHERE expires_on IS NOT NULL AND legal_hold IS NULL;
         CREATE INDEX bench_held ON subjects (expires_on) WHERE legal_hold IS NOT NULL;",
    )
}

/// Drops what [`create_due_indexes`] made.
pub fn drop_due_indexes(conn: &Connection) -> Result<()> {
    conn.execute_batch("DROP INDEX bench_due; DROP INDEX bench_held;")
}

/// A statement of the store's, in SQLite's spelling.
fn render(sql: &str) -> String {
    vigie_store::sql::Dialect::render(&vigie_store::sql::Sqlite, sql)
}

/// `ids` as parameters after `first`.
fn with_ids<'a>(first: &[&'a dyn rusqlite::ToSql], ids: &'a [Uuid]) -> Vec<&'a dyn rusqlite::ToSql> {
    let mut args = first.to_vec();
    args.extend(ids.iter().map(|id| id as &dyn rusqlite::ToSql));
    args
}

/// Erases subjects whose rows the transaction holds with the store's own statements
/// (`vigie_store::sql::tx::EraseSql`, chunks padded as the store pads them): tombstones and counts
/// (under `rule`, or each subject's retention rule), the rows about them, their requests' sealed
/// values, the rows themselves.
fn erase_locked(conn: &Connection, ids: &[Uuid], rule: Option<&str>, at: DateTime<Utc>) -> Result<()> {
    let month = at.format("%Y-%m").to_string();
    let nothing: &[u8] = &[];
    for chunk in ids.chunks(ERASE_CHUNK) {
        let sql = EraseSql::for_chunk(chunk.len());
        let padded = pad(chunk);
        conn.prepare_cached(&render(&sql.tombstones))?.execute(&*with_ids(&[&at, &rule], &padded))?;
        conn.prepare_cached(&render(&sql.counts))?.execute(&*with_ids(&[&month, &rule], &padded))?;
        for delete in &sql.deletes {
            conn.prepare_cached(&render(delete))?.execute(&*with_ids(&[], &padded))?;
        }
        conn.prepare_cached(&render(&sql.requests))?.execute(&*with_ids(&[&nothing], &padded))?;
        conn.prepare_cached(&render(&sql.subjects))?.execute(&*with_ids(&[], &padded))?;
    }
    Ok(())
}

/// The audit entry of one erasure (`detail` gets ` kind=…` appended).
fn audit_erasure(
    conn: &Connection,
    id: Uuid,
    detail: &str,
    kind: &str,
    at: DateTime<Utc>,
    seq: i64,
    hash: &[u8],
) -> Result<()> {
    let detail = format!("{detail} kind={kind}");
    conn.prepare_cached(AUDIT_INSERT)?.execute(params![
        seq,
        at,
        "cli",
        "subject.erase",
        id,
        None::<String>,
        "",
        "ok",
        detail,
        hash
    ])?;
    Ok(())
}

/// Erases one subject as `erase_subject` does, with its audit entry and head update
/// (`detail` gets ` kind=…` appended); false if it was gone.
fn erase_one(
    conn: &Connection,
    id: Uuid,
    rule: &str,
    detail: &str,
    at: DateTime<Utc>,
    seq: &mut i64,
    hash: &mut dyn FnMut() -> Vec<u8>,
) -> Result<bool> {
    let kind: Option<String> =
        conn.prepare_cached("SELECT kind FROM subjects WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?;
    let Some(kind) = kind else { return Ok(false) };
    erase_locked(conn, &[id], Some(rule), at)?;
    *seq += 1;
    let hash = hash();
    audit_erasure(conn, id, detail, &kind, at, *seq, &hash)?;
    conn.prepare_cached(AUDIT_HEAD_SET)?.execute(params![*seq, hash])?;
    Ok(true)
}

/// Erases the next `n` subjects by expiry (due before `before`, not held), `batch` per
/// `IMMEDIATE` transaction as the sweep does, with the store's statements: the due ones locked
/// and checked again in chunks, then erased a chunk at a time; an audit entry per subject and
/// the head once per transaction. Returns how many were erased.
pub fn erase_next_due(
    conn: &mut Connection,
    before: NaiveDate,
    n: u64,
    batch: u64,
    hash: &mut dyn FnMut() -> Vec<u8>,
) -> Result<u64> {
    let mut erased = 0u64;
    while erased < n {
        let want = i64::try_from((n - erased).min(batch)).unwrap_or(i64::MAX);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut seq: i64 = tx.query_row(AUDIT_HEAD, [], |r| r.get(0))?;
        let due: Vec<Uuid> =
            tx.prepare_cached(DUE)?.query_map(params![before, want], |r| r.get(0))?.collect::<Result<_>>()?;
        if due.is_empty() {
            break;
        }
        let at = now();
        let mut last = Vec::new();
        for chunk in due.chunks(ERASE_CHUNK) {
            let sql = EraseSql::for_chunk(chunk.len());
            let padded = pad(chunk);
            let locked: Vec<(Uuid, String, String, NaiveDate)> = tx
                .prepare_cached(&render(&sql.lock_due))?
                .query_map(&*with_ids(&[&before], &padded), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(4)?)))?
                .collect::<Result<_>>()?;
            let ids: Vec<Uuid> = locked.iter().map(|l| l.0).collect();
            erase_locked(&tx, &ids, None, at)?;
            for (id, kind, rule, expires) in &locked {
                seq += 1;
                last = hash();
                audit_erasure(&tx, *id, &format!("rule={rule} expires_on={expires}"), kind, at, seq, &last)?;
                erased += 1;
            }
        }
        tx.prepare_cached(AUDIT_HEAD_SET)?.execute(params![seq, last])?;
        tx.commit()?;
    }
    Ok(erased)
}

// ---- register ----

/// Exploration: an index on `subjects (kind)`.
pub fn create_kind_index(conn: &Connection) -> Result<()> {
    conn.execute_batch("CREATE INDEX bench_kind ON subjects (kind)")
}

/// The register's live count: subjects by kind (`GROUP BY`), every row read; returns the rows.
pub fn count_by_kind(conn: &Connection) -> Result<usize> {
    read_all(conn, "SELECT kind, count(*) FROM subjects GROUP BY 1 ORDER BY 1", [])
}

// ---- the audit trail (`audit verify`) ----

/// Every audit entry, in order, as the store reads them (the bare chain's input); `at_least`
/// rows are expected (a capacity hint).
pub fn audit_rows(conn: &Connection, at_least: usize) -> Result<Vec<vigie_store::AuditRow>> {
    let mut st = conn.prepare(
        "SELECT seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash FROM audit ORDER BY seq",
    )?;
    let mut out = Vec::with_capacity(at_least);
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        out.push(vigie_store::AuditRow {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject_id: r.get(4)?,
            purpose: r.get(5)?,
            fields: r.get(6)?,
            outcome: r.get(7)?,
            detail: r.get(8)?,
            hash: r.get(9)?,
        });
    }
    Ok(out)
}

// ---- policy revision ----

/// The revision's statement: one notice per client and prospect with an email, queued
/// in the outbox (idempotency key `prefix` + the id in hex) in one durable transaction.
pub fn queue_notices(
    conn: &mut Connection,
    prefix: &str,
    template: &str,
    notice_params: &str,
    at: DateTime<Utc>,
) -> Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx.execute(
        "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at, created_at)
         SELECT ?1 || lower(hex(id)), id, NULL, ?2, ?3, 'pending', 0, ?4, ?4 FROM subjects
         WHERE kind IN ('client', 'prospect') AND email_bi IS NOT NULL
         ON CONFLICT (idempotency_key) DO NOTHING",
        params![prefix, template, notice_params, at],
    )?;
    tx.commit()?;
    Ok(n as u64)
}

/// Deletes the notices [`queue_notices`] queued with `notice_params`, then checkpoints.
pub fn unqueue_notices(conn: &Connection, notice_params: &str) -> Result<()> {
    conn.execute("DELETE FROM outbox WHERE params = ?1", [notice_params])?;
    checkpoint(conn)
}

// ---- rights requests ----

/// `n` subject ids picked at random.
pub fn random_subject_ids(conn: &Connection, n: i64) -> Result<Vec<Uuid>> {
    conn.prepare("SELECT id FROM subjects ORDER BY random() LIMIT ?1")?.query_map([n], |r| r.get(0))?.collect()
}

/// What an access request reads about its subject (the safeguards take no parameter).
const ACCESS_READS: [&str; 6] = [
    "SELECT s.id, s.kind, s.collected_at, s.created_at, s.updated_at, s.email_bi, s.phone_bi, s.identity, k.wrapped, \
     s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, s.held_at \
     FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = ?1",
    "SELECT id, subject_id, reference, start_date, end_date, created_at FROM contracts WHERE subject_id = ?1 ORDER BY start_date, id",
    "SELECT id, subject_id, at, direction, channel, summary, created_at FROM interactions WHERE subject_id = ?1 ORDER BY at, id",
    "SELECT id, subject_id, purpose, granted, at, evidence FROM consents WHERE subject_id = ?1 ORDER BY at, id",
    "SELECT id, subject_id, purpose, at FROM objections WHERE subject_id = ?1 ORDER BY at, id",
    "SELECT id, at, recipient, subject_id, fields, purpose, token_id FROM disclosures WHERE subject_id = ?1 ORDER BY at, id",
];
const SAFEGUARDS_READ: &str =
    "SELECT id, recipient, kind, signed_on, recorded_at FROM safeguards WHERE 1 ORDER BY recipient, signed_on, id";

/// One access request's store work in one `IMMEDIATE` transaction: the reads (then
/// `reads_done` is called), an audit entry and the head, a durable commit.
pub fn access_request(
    conn: &mut Connection,
    id: Uuid,
    hash: &mut dyn FnMut() -> Vec<u8>,
    reads_done: &mut dyn FnMut(),
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for sql in ACCESS_READS {
        black_box(read_all(&tx, sql, [id])?);
    }
    black_box(read_all(&tx, SAFEGUARDS_READ, [])?);
    reads_done();
    let seq: i64 = tx.query_row(AUDIT_HEAD, [], |r| r.get(0))?;
    let hash = hash();
    tx.prepare_cached(AUDIT_INSERT)?.execute(params![
        seq + 1,
        now(),
        "cli",
        "subject.read",
        id,
        "rights_request",
        "civility,first_name,last_name,email,phone,postal_address,company,job_title",
        "ok",
        "request access",
        hash
    ])?;
    tx.prepare_cached(AUDIT_HEAD_SET)?.execute(params![seq + 1, hash])?;
    tx.commit()
}

/// One erasure request's store work in one `IMMEDIATE` transaction: the erasure's
/// deletes, tombstone, count, audit entry and head, a durable commit. False if the subject was gone.
pub fn erase_request(
    conn: &mut Connection,
    id: Uuid,
    rule: &str,
    detail: &str,
    hash: &mut dyn FnMut() -> Vec<u8>,
) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut seq: i64 = tx.query_row(AUDIT_HEAD, [], |r| r.get(0))?;
    let found = erase_one(&tx, id, rule, detail, now(), &mut seq, hash)?;
    tx.commit()?;
    Ok(found)
}

// ---- breaches ----

/// A breach scope as the raw side states it: a collection period if set, else kinds.
pub struct Scope<'a> {
    pub kinds: &'a [&'a str],
    pub collected: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Scope<'_> {
    fn clause(&self) -> (String, Vec<DateTime<Utc>>) {
        match self.collected {
            Some((from, to)) => ("s.collected_at >= ?1 AND s.collected_at <= ?2".into(), vec![from, to]),
            None => {
                let kinds: Vec<String> = self.kinds.iter().map(|k| format!("'{}'", k.replace('\'', "''"))).collect();
                (format!("s.kind IN ({})", kinds.join(", ")), vec![])
            }
        }
    }
}

/// The store's scope statement (`scope_count`) for a WHERE clause on `s`.
fn scope_sql(clause: &str) -> String {
    format!(
        "WITH scope AS MATERIALIZED (SELECT s.id FROM subjects s WHERE {clause})
         SELECT (SELECT count(*) FROM scope),
                (SELECT count(*) FROM contracts WHERE subject_id IN (SELECT id FROM scope)),
                (SELECT count(*) FROM interactions WHERE subject_id IN (SELECT id FROM scope)),
                (SELECT count(*) FROM consents WHERE subject_id IN (SELECT id FROM scope))"
    )
}

/// The plain `count(*)` of the scope's subjects.
pub fn count_scope(conn: &Connection, scope: &Scope<'_>) -> Result<i64> {
    let (clause, values) = scope.clause();
    conn.prepare_cached(&format!("SELECT count(*) FROM subjects s WHERE {clause}"))?
        .query_row(rusqlite::params_from_iter(&values), |r| r.get(0))
}

/// The store's full scope statement; returns its subject count.
pub fn count_scope_full(conn: &Connection, scope: &Scope<'_>) -> Result<i64> {
    let (clause, values) = scope.clause();
    conn.prepare_cached(&scope_sql(&clause))?.query_row(rusqlite::params_from_iter(&values), |r| r.get(0))
}

/// How the full scope statement of a kind scope runs (`EXPLAIN QUERY PLAN`), on one line.
pub fn explain_scope(conn: &Connection, scope: &Scope<'_>) -> Result<String> {
    let (clause, values) = scope.clause();
    explain(conn, &scope_sql(&clause), rusqlite::params_from_iter(&values))
}

// ---- backup, restore, key rotation ----

/// The subjects in the database.
pub fn count_subjects(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT count(*) FROM subjects", [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
}

/// The wrapped subject keys in the database.
pub fn count_subject_keys(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT count(*) FROM subject_keys", [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
}

/// The store part of a key rotation, in one `IMMEDIATE` transaction, with the same bytes:
/// `UPDATE subject_keys SET wrapped = wrapped` (SQLite skips writing an unchanged cell).
/// Returns the rows updated.
pub fn rewrite_keys_in_place(conn: &mut Connection) -> Result<u64> {
    rewrite_keys(conn, "UPDATE subject_keys SET wrapped = wrapped")
}

/// The same with new bytes of the same length (`randomblob`): it destroys every key.
pub fn rewrite_keys_random(conn: &mut Connection) -> Result<u64> {
    rewrite_keys(conn, "UPDATE subject_keys SET wrapped = randomblob(length(wrapped))")
}

fn rewrite_keys(conn: &mut Connection, sql: &str) -> Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx.execute(sql, [])? as u64;
    tx.commit()?;
    Ok(n)
}
