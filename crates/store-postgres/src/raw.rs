//! The raw work of the benchmarks' baselines (`vigie-bench`): the statements
//! the store runs, or the rows it writes, done directly on a client from
//! [`crate::Postgres::raw_client`], without crypto, audit chain or worker
//! threads. The store itself never calls this module; it is here so that SQL
//! stays in the store crates.
//!
//! Random bytes stand in for sealed values, blind indexes and chain MACs: the
//! caller supplies them (`hash` closures). Use a client only while Vigie is
//! idle on the database, and outside any async runtime.

use chrono::{DateTime, NaiveDate, Utc};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::ToSql;
use postgres::types::Type;
use postgres::{Error, Statement, Transaction};
use std::hint::black_box;
use vigie_store::sql::tx::{ERASE_CHUNK, EraseSql, pad};
use vigie_store::{Uuid, now};

/// The client every function here takes ([`crate::Postgres::raw_client`] returns one).
pub use postgres::Client;

type Result<T> = std::result::Result<T, Error>;

// ---- subjects written raw (import and HTTP baselines) ----

pub use vigie_store::raw::{AuditShape, NewSubject};

const SUBJECT_INSERT: &str = "INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, \
                              identity, retention_rule, basis_date, expires_on, legal_hold, held_at) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL)";
const KEY_INSERT: &str = "INSERT INTO subject_keys (subject_id, wrapped) VALUES ($1, $2)";
const AUDIT_INSERT: &str = "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash) \
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const AUDIT_HEAD_LOCK: &str = "SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE";
const AUDIT_HEAD_SET: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";

/// Inserts every subject of `rows` (audit seq from 1) in one transaction, by binary
/// `COPY` of `chunk` subjects at a time (three copies per chunk); returns how many.
pub fn copy_subjects(
    client: &mut Client,
    rows: impl IntoIterator<Item = NewSubject>,
    at: DateTime<Utc>,
    a: &AuditShape<'_>,
    chunk: usize,
) -> Result<u64> {
    let mut rows = rows.into_iter().peekable();
    let mut tx = client.transaction()?;
    let mut done = 0u64;
    while rows.peek().is_some() {
        let rows: Vec<NewSubject> = rows.by_ref().take(chunk.max(1)).collect();
        let mut w = BinaryCopyInWriter::new(
            tx.copy_in(
                "COPY subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity, \
                 retention_rule, basis_date, expires_on) FROM STDIN (FORMAT binary)",
            )?,
            &[
                Type::UUID,
                Type::TEXT,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
                Type::BYTEA,
                Type::BYTEA,
                Type::BYTEA,
                Type::TEXT,
                Type::DATE,
                Type::DATE,
            ],
        );
        for r in &rows {
            w.write(&[
                &r.id,
                &r.kind,
                &r.collected_at,
                &at,
                &at,
                &r.email_bi,
                &r.phone_bi,
                &r.identity,
                &r.retention_rule,
                &r.basis_date,
                &r.expires_on,
            ])?;
        }
        w.finish()?;
        let mut w = BinaryCopyInWriter::new(
            tx.copy_in("COPY subject_keys (subject_id, wrapped) FROM STDIN (FORMAT binary)")?,
            &[Type::UUID, Type::BYTEA],
        );
        for r in &rows {
            w.write(&[&r.id, &r.wrapped])?;
        }
        w.finish()?;
        let mut w = BinaryCopyInWriter::new(
            tx.copy_in(
                "COPY audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash) \
                 FROM STDIN (FORMAT binary)",
            )?,
            &[
                Type::INT8,
                Type::TIMESTAMPTZ,
                Type::TEXT,
                Type::TEXT,
                Type::UUID,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::BYTEA,
            ],
        );
        for (i, r) in rows.iter().enumerate() {
            let seq = i64::try_from(done + i as u64 + 1).unwrap_or(i64::MAX);
            w.write(&[
                &seq,
                &at,
                &a.actor,
                &a.action,
                &r.id,
                &None::<String>,
                &a.fields,
                &a.outcome,
                &r.detail,
                &r.hash,
            ])?;
        }
        w.finish()?;
        done += rows.len() as u64;
    }
    tx.commit()?;
    Ok(done)
}

/// The three prepared inserts of one subject, on one client.
pub struct SubjectInserts {
    subject: Statement,
    key: Statement,
    audit: Statement,
}

impl SubjectInserts {
    pub fn prepare(client: &mut Client) -> Result<Self> {
        Ok(SubjectInserts {
            subject: client.prepare(SUBJECT_INSERT)?,
            key: client.prepare(KEY_INSERT)?,
            audit: client.prepare(AUDIT_INSERT)?,
        })
    }

    /// One durable single-subject commit: a transaction of the three inserts.
    pub fn commit_one(
        &self,
        client: &mut Client,
        r: &NewSubject,
        seq: i64,
        at: DateTime<Utc>,
        a: &AuditShape<'_>,
    ) -> Result<()> {
        let mut tx = client.transaction()?;
        tx.execute(
            &self.subject,
            &[
                &r.id,
                &r.kind,
                &r.collected_at,
                &at,
                &at,
                &r.email_bi,
                &r.phone_bi,
                &r.identity,
                &r.retention_rule,
                &r.basis_date,
                &r.expires_on,
            ],
        )?;
        tx.execute(&self.key, &[&r.id, &r.wrapped])?;
        tx.execute(
            &self.audit,
            &[&seq, &at, &a.actor, &a.action, &r.id, &None::<String>, &a.fields, &a.outcome, &r.detail, &r.hash],
        )?;
        tx.commit()
    }
}

// ---- maintenance ----

/// `ANALYZE`.
pub fn analyze(client: &mut Client) -> Result<()> {
    client.batch_execute("ANALYZE")
}

// ---- retention ----

const DUE: &str = "SELECT id, kind, retention_rule, basis_date, expires_on FROM subjects \
                   WHERE expires_on < $1 AND legal_hold IS NULL ORDER BY expires_on, id LIMIT $2";
const COUNT_DUE: &str = "SELECT count(*) FROM subjects WHERE expires_on < $1 AND legal_hold IS NULL";
const HELD_DUE: &str = "SELECT s.id, s.kind, s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, k.wrapped, s.held_at \
                        FROM subjects s JOIN subject_keys k ON k.subject_id = s.id \
                        WHERE s.expires_on < $1 AND s.legal_hold IS NOT NULL ORDER BY s.expires_on, s.id";
const MONTHS: &str = "SELECT to_char(expires_on, 'YYYY-MM'), count(*) FROM subjects \
                      WHERE expires_on >= $1 AND expires_on < $2 AND legal_hold IS NULL GROUP BY 1 ORDER BY 1";

/// The retention plan's statements in one transaction: the count due at `at`, the first
/// `limit` due, the held ones, and the months from `from` to `to`. Returns the count due.
pub fn retention_plan(client: &mut Client, at: NaiveDate, from: NaiveDate, to: NaiveDate, limit: i64) -> Result<i64> {
    let mut tx = client.transaction()?;
    let n: i64 = tx.query_one(COUNT_DUE, &[&at])?.try_get(0)?;
    for row in tx.query(DUE, &[&at, &limit])? {
        black_box((
            row.try_get::<_, Uuid>(0)?,
            row.try_get::<_, String>(1)?,
            row.try_get::<_, String>(2)?,
            row.try_get::<_, Option<NaiveDate>>(3)?,
            row.try_get::<_, NaiveDate>(4)?,
        ));
    }
    black_box(tx.query(HELD_DUE, &[&at])?.len());
    black_box(tx.query(MONTHS, &[&from, &to])?.len());
    tx.commit()?;
    Ok(n)
}

/// `EXPLAIN` of a statement whose one parameter is the date `at`, its lines joined on one.
fn explain_at(client: &mut Client, sql: &str, at: NaiveDate) -> Result<String> {
    let sql = sql.replace("$1", &format!("'{at}'::date"));
    let lines: Vec<String> = client
        .query(&format!("EXPLAIN {sql}"), &[])?
        .iter()
        .map(|r| r.try_get::<_, String>(0).map(|l| l.trim().to_string()))
        .collect::<Result<_>>()?;
    Ok(lines.join(" / "))
}

/// How the plan's count and held statements run at `at` (`EXPLAIN`), each on one line.
pub fn explain_plan(client: &mut Client, at: NaiveDate) -> Result<(String, String)> {
    Ok((explain_at(client, COUNT_DUE, at)?, explain_at(client, HELD_DUE, at)?))
}

/// Exploration: partial indexes on `expires_on` for the due and the held subjects, then `ANALYZE subjects`.
pub fn create_due_indexes(client: &mut Client) -> Result<()> {
    client.batch_execute(
        "CREATE INDEX bench_due ON subjects (expires_on) WHERE expires_on IS NOT NULL AND legal_hold IS NULL;
         CREATE INDEX bench_held ON subjects (expires_on) WHERE legal_hold IS NOT NULL;",
    )?;
    client.batch_execute("ANALYZE subjects")
}

/// Drops what [`create_due_indexes`] made.
pub fn drop_due_indexes(client: &mut Client) -> Result<()> {
    client.batch_execute("DROP INDEX bench_due; DROP INDEX bench_held;")
}

/// The prepared statements of raw erasures, on one client: the store's own erasure statements
/// (`vigie_store::sql::tx::EraseSql`, for every chunk length, prepared on first use) with an
/// audit entry per subject and the head.
pub struct Eraser {
    kind: Statement,
    audit: Statement,
    head_set: Statement,
    head_lock: Statement,
    due: Statement,
    prepared: std::cell::RefCell<std::collections::HashMap<&'static str, Statement>>,
}

impl Eraser {
    pub fn prepare(c: &mut Client) -> Result<Eraser> {
        Ok(Eraser {
            kind: c.prepare("SELECT kind FROM subjects WHERE id = $1 FOR UPDATE")?,
            audit: c.prepare(AUDIT_INSERT)?,
            head_set: c.prepare(AUDIT_HEAD_SET)?,
            head_lock: c.prepare(AUDIT_HEAD_LOCK)?,
            due: c.prepare(DUE)?,
            prepared: std::cell::RefCell::default(),
        })
    }

    /// One of the store's statements, prepared once.
    fn statement(&self, tx: &mut Transaction<'_>, sql: &'static str) -> Result<Statement> {
        if let Some(st) = self.prepared.borrow().get(sql) {
            return Ok(st.clone());
        }
        let st = tx.prepare(sql)?;
        self.prepared.borrow_mut().insert(sql, st.clone());
        Ok(st)
    }

    /// Erases subjects whose rows `tx` has locked, with the store's statements (chunks padded
    /// as the store pads them): tombstones and counts (under `rule`, or each subject's
    /// retention rule), the rows about them, their requests' sealed values, the rows.
    fn erase_locked(
        &self,
        tx: &mut Transaction<'_>,
        ids: &[Uuid],
        rule: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let month = at.format("%Y-%m").to_string();
        let nothing: &[u8] = &[];
        for chunk in ids.chunks(ERASE_CHUNK) {
            let sql = EraseSql::for_chunk(chunk.len());
            let padded = pad(chunk);
            let st = self.statement(tx, &sql.tombstones)?;
            tx.execute(&st, &with_ids(&[&at, &rule], &padded))?;
            let st = self.statement(tx, &sql.counts)?;
            tx.execute(&st, &with_ids(&[&month, &rule], &padded))?;
            for delete in &sql.deletes {
                let st = self.statement(tx, delete)?;
                tx.execute(&st, &with_ids(&[], &padded))?;
            }
            let st = self.statement(tx, &sql.requests)?;
            tx.execute(&st, &with_ids(&[&nothing], &padded))?;
            let st = self.statement(tx, &sql.subjects)?;
            tx.execute(&st, &with_ids(&[], &padded))?;
        }
        Ok(())
    }

    /// Erases one subject (`detail` gets ` kind=…` appended); false if it was gone.
    #[allow(clippy::too_many_arguments)]
    fn erase_one(
        &self,
        tx: &mut Transaction<'_>,
        id: Uuid,
        rule: &str,
        detail: &str,
        at: DateTime<Utc>,
        seq: &mut i64,
        hash: &mut dyn FnMut() -> Vec<u8>,
    ) -> Result<bool> {
        let Some(row) = tx.query_opt(&self.kind, &[&id])? else { return Ok(false) };
        let kind: String = row.try_get(0)?;
        self.erase_locked(tx, &[id], Some(rule), at)?;
        *seq += 1;
        let hash = hash();
        let detail = format!("{detail} kind={kind}");
        tx.execute(
            &self.audit,
            &[&*seq, &at, &"cli", &"subject.erase", &id, &None::<String>, &"", &"ok", &detail, &hash],
        )?;
        tx.execute(&self.head_set, &[&*seq, &hash])?;
        Ok(true)
    }

    /// Erases the next `n` subjects by expiry (due before `before`, not held), `batch`
    /// per transaction as the sweep does, with the store's statements: the due ones locked and
    /// checked again a chunk at a time, then erased; an audit entry per subject, the head once
    /// per transaction. Returns how many were erased.
    pub fn erase_next_due(
        &self,
        c: &mut Client,
        before: NaiveDate,
        n: u64,
        batch: u64,
        hash: &mut dyn FnMut() -> Vec<u8>,
    ) -> Result<u64> {
        let mut erased = 0u64;
        while erased < n {
            let want = i64::try_from((n - erased).min(batch)).unwrap_or(i64::MAX);
            let mut tx = c.transaction()?;
            let mut seq: i64 = tx.query_one(&self.head_lock, &[])?.try_get(0)?;
            let due: Vec<Uuid> =
                tx.query(&self.due, &[&before, &want])?.iter().map(|r| r.try_get(0)).collect::<Result<_>>()?;
            if due.is_empty() {
                break;
            }
            let at = now();
            let mut last = Vec::new();
            for chunk in due.chunks(ERASE_CHUNK) {
                let sql = EraseSql::for_chunk(chunk.len());
                let padded = pad(chunk);
                let st = self.statement(&mut tx, &sql.lock_due)?;
                let locked = tx.query(&st, &with_ids(&[&before], &padded))?;
                let ids: Vec<Uuid> = locked.iter().map(|r| r.try_get(0)).collect::<Result<_>>()?;
                self.erase_locked(&mut tx, &ids, None, at)?;
                for row in &locked {
                    let (id, kind, rule, expires): (Uuid, String, String, NaiveDate) =
                        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(4)?);
                    seq += 1;
                    last = hash();
                    let detail = format!("rule={rule} expires_on={expires} kind={kind}");
                    tx.execute(
                        &self.audit,
                        &[&seq, &at, &"cli", &"subject.erase", &id, &None::<String>, &"", &"ok", &detail, &last],
                    )?;
                    erased += 1;
                }
            }
            tx.execute(&self.head_set, &[&seq, &last])?;
            tx.commit()?;
        }
        Ok(erased)
    }

    /// One erasure request's store work in one transaction (head locked first). False if the subject was gone.
    pub fn erase_request(
        &self,
        c: &mut Client,
        id: Uuid,
        rule: &str,
        detail: &str,
        hash: &mut dyn FnMut() -> Vec<u8>,
    ) -> Result<bool> {
        let mut tx = c.transaction()?;
        let mut seq: i64 = tx.query_one(&self.head_lock, &[])?.try_get(0)?;
        let found = self.erase_one(&mut tx, id, rule, detail, now(), &mut seq, hash)?;
        tx.commit()?;
        Ok(found)
    }
}

// ---- register ----

/// Exploration: an index on `subjects (kind)`.
pub fn create_kind_index(client: &mut Client) -> Result<()> {
    client.batch_execute("CREATE INDEX bench_kind ON subjects (kind)")
}

/// The register's live count: subjects by kind (`GROUP BY`); returns the rows.
pub fn count_by_kind(client: &mut Client) -> Result<usize> {
    Ok(client.query("SELECT kind, count(*) FROM subjects GROUP BY 1 ORDER BY 1", &[])?.len())
}

// ---- the audit trail (`audit verify`) ----

/// Every audit entry, in order, as the store reads them (the bare chain's input).
pub fn audit_rows(client: &mut Client, at_least: usize) -> Result<Vec<vigie_store::AuditRow>> {
    let rows = client.query(
        "SELECT seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash FROM audit ORDER BY seq",
        &[],
    )?;
    let mut out = Vec::with_capacity(at_least.max(rows.len()));
    for r in rows {
        out.push(vigie_store::AuditRow {
            seq: r.try_get(0)?,
            at: r.try_get(1)?,
            actor: r.try_get(2)?,
            action: r.try_get(3)?,
            subject_id: r.try_get(4)?,
            purpose: r.try_get(5)?,
            fields: r.try_get(6)?,
            outcome: r.try_get(7)?,
            detail: r.try_get(8)?,
            hash: r.try_get(9)?,
        });
    }
    Ok(out)
}

// ---- policy revision ----

/// The revision's statement: one notice per client and prospect with an email, queued
/// in the outbox (idempotency key `prefix` + the id in hex) in one transaction.
pub fn queue_notices(
    client: &mut Client,
    prefix: &str,
    template: &str,
    notice_params: &str,
    at: DateTime<Utc>,
) -> Result<u64> {
    let kinds = vec!["client", "prospect"];
    let mut tx = client.transaction()?;
    let n = tx.execute(
        "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts,
                             next_attempt_at, created_at)
         SELECT $1::text || replace(id::text, '-', ''), id, NULL, $2, $3, 'pending', 0, $4, $4
         FROM subjects WHERE kind = ANY($5::text[]) AND email_bi IS NOT NULL
         ON CONFLICT (idempotency_key) DO NOTHING",
        &[&prefix, &template, &notice_params, &at, &kinds],
    )?;
    tx.commit()?;
    Ok(n)
}

/// Deletes the notices [`queue_notices`] queued with `notice_params`, then `VACUUM outbox`.
pub fn unqueue_notices(client: &mut Client, notice_params: &str) -> Result<()> {
    client.execute("DELETE FROM outbox WHERE params = $1", &[&notice_params])?;
    client.batch_execute("VACUUM outbox")
}

// ---- rights requests ----

/// `n` subject ids picked at random.
pub fn random_subject_ids(client: &mut Client, n: i64) -> Result<Vec<Uuid>> {
    client.query("SELECT id FROM subjects ORDER BY random() LIMIT $1", &[&n])?.iter().map(|r| r.try_get(0)).collect()
}

/// What an access request reads about its subject.
const ACCESS_READS: [&str; 7] = [
    "SELECT s.id, s.kind, s.collected_at, s.created_at, s.updated_at, s.email_bi, s.phone_bi, s.identity, k.wrapped, \
     s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, s.held_at \
     FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = $1",
    "SELECT id, subject_id, reference, start_date, end_date, created_at FROM contracts WHERE subject_id = $1 ORDER BY start_date, id",
    "SELECT id, subject_id, at, direction, channel, summary, created_at FROM interactions WHERE subject_id = $1 ORDER BY at, id",
    "SELECT id, subject_id, purpose, granted, at, evidence FROM consents WHERE subject_id = $1 ORDER BY at, id",
    "SELECT id, subject_id, purpose, at FROM objections WHERE subject_id = $1 ORDER BY at, id",
    "SELECT id, at, recipient, subject_id, fields, purpose, token_id FROM disclosures WHERE subject_id = $1 ORDER BY at, id",
    "SELECT id, recipient, kind, signed_on, recorded_at FROM safeguards WHERE $1::uuid IS NOT NULL ORDER BY recipient, signed_on, id",
];

/// The prepared statements of raw access requests, on one client.
pub struct Access {
    reads: Vec<Statement>,
    head_lock: Statement,
    audit: Statement,
    head_set: Statement,
}

impl Access {
    pub fn prepare(c: &mut Client) -> Result<Access> {
        Ok(Access {
            reads: ACCESS_READS.iter().map(|sql| c.prepare(sql)).collect::<Result<_>>()?,
            head_lock: c.prepare(AUDIT_HEAD_LOCK)?,
            audit: c.prepare(AUDIT_INSERT)?,
            head_set: c.prepare(AUDIT_HEAD_SET)?,
        })
    }

    /// One access request's store work in one transaction: the reads (then `reads_done`
    /// is called), an audit entry and the head (locked), a durable commit.
    pub fn request(
        &self,
        c: &mut Client,
        id: Uuid,
        hash: &mut dyn FnMut() -> Vec<u8>,
        reads_done: &mut dyn FnMut(),
    ) -> Result<()> {
        let mut tx = c.transaction()?;
        for st in &self.reads {
            black_box(tx.query(st, &[&id])?.len());
        }
        reads_done();
        let seq: i64 = tx.query_one(&self.head_lock, &[])?.try_get(0)?;
        let hash = hash();
        tx.execute(
            &self.audit,
            &[
                &(seq + 1),
                &now(),
                &"cli",
                &"subject.read",
                &id,
                &Some("rights_request"),
                &"civility,first_name,last_name,email,phone,postal_address,company,job_title",
                &"ok",
                &Some("request access"),
                &hash,
            ],
        )?;
        tx.execute(&self.head_set, &[&(seq + 1), &hash])?;
        tx.commit()
    }
}

// ---- breaches ----

/// A breach scope as the raw side states it: kinds (none: any), a collection period (none: any).
pub struct Scope<'a> {
    pub kinds: &'a [&'a str],
    pub collected: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The store's scope statement (`scope_count`), verbatim.
const SCOPE: &str = "WITH scope AS MATERIALIZED (SELECT s.id FROM subjects s WHERE \
    (cardinality($1::uuid[]) = 0 OR s.id = ANY($1::uuid[]))
     AND (cardinality($2::text[]) = 0 OR s.kind = ANY($2::text[]))
     AND ($3::timestamptz IS NULL OR s.collected_at >= $3::timestamptz)
     AND ($4::timestamptz IS NULL OR s.collected_at <= $4::timestamptz)
     AND ($5::text IS NULL OR s.id IN (SELECT d.subject_id FROM disclosures d WHERE d.recipient = $5::text
          AND ($7::timestamptz IS NULL OR d.at >= $7::timestamptz) AND ($8::timestamptz IS NULL OR d.at <= $8::timestamptz)))
     AND ($6::text IS NULL OR s.id IN (SELECT a.subject_id FROM audit a WHERE a.actor = $6::text AND a.subject_id IS NOT NULL
          AND ($7::timestamptz IS NULL OR a.at >= $7::timestamptz) AND ($8::timestamptz IS NULL OR a.at <= $8::timestamptz))))
     SELECT (SELECT count(*) FROM scope),
            (SELECT count(*) FROM contracts WHERE subject_id IN (SELECT id FROM scope)),
            (SELECT count(*) FROM interactions WHERE subject_id IN (SELECT id FROM scope)),
            (SELECT count(*) FROM consents WHERE subject_id IN (SELECT id FROM scope))";

/// The plain `count(*)` of the scope's subjects.
pub fn count_scope(client: &mut Client, scope: &Scope<'_>) -> Result<i64> {
    let (from, to) = (scope.collected.map(|p| p.0), scope.collected.map(|p| p.1));
    client
        .query_one(
            "SELECT count(*) FROM subjects s WHERE (cardinality($1::text[]) = 0 OR s.kind = ANY($1::text[]))
             AND ($2::timestamptz IS NULL OR s.collected_at >= $2) AND ($3::timestamptz IS NULL OR s.collected_at <= $3)",
            &[&scope.kinds, &from, &to],
        )?
        .try_get(0)
}

/// The store's full scope statement; returns its subject count.
pub fn count_scope_full(client: &mut Client, scope: &Scope<'_>) -> Result<i64> {
    let (from, to) = (scope.collected.map(|p| p.0), scope.collected.map(|p| p.1));
    let none: Vec<Uuid> = Vec::new();
    client
        .query_one(
            SCOPE,
            &[
                &none,
                &scope.kinds,
                &from,
                &to,
                &None::<String>,
                &None::<String>,
                &None::<DateTime<Utc>>,
                &None::<DateTime<Utc>>,
            ],
        )?
        .try_get(0)
}

// ---- backup, restore, key rotation ----

/// The subjects in the database.
pub fn count_subjects(client: &mut Client) -> Result<u64> {
    Ok(client.query_one("SELECT count(*) FROM subjects", &[])?.try_get::<_, i64>(0)? as u64)
}

/// The wrapped subject keys in the database.
pub fn count_subject_keys(client: &mut Client) -> Result<u64> {
    Ok(client.query_one("SELECT count(*) FROM subject_keys", &[])?.try_get::<_, i64>(0)? as u64)
}

/// The store part of a key rotation, in one transaction: `UPDATE subject_keys SET
/// wrapped = wrapped` (PostgreSQL writes a new row version either way). Returns the rows updated.
pub fn rewrite_keys_in_place(client: &mut Client) -> Result<u64> {
    let mut tx = client.transaction()?;
    let n = tx.execute("UPDATE subject_keys SET wrapped = wrapped", &[])?;
    tx.commit()?;
    Ok(n)
}

/// `VACUUM subject_keys`.
pub fn vacuum_subject_keys(client: &mut Client) -> Result<()> {
    client.batch_execute("VACUUM subject_keys")
}

/// `ids` as parameters after `first`.
fn with_ids<'a>(first: &[&'a (dyn ToSql + Sync)], ids: &'a [Uuid]) -> Vec<&'a (dyn ToSql + Sync)> {
    let mut args = first.to_vec();
    args.extend(ids.iter().map(|id| id as &(dyn ToSql + Sync)));
    args
}
