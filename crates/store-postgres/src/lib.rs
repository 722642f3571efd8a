//! PostgreSQL behind the [`vigie_store`] seam: the server backend.
//!
//! SQLite is the default: one file, nothing to run. This crate exists for the
//! deployments it does not fit: several Vigie instances sharing one database,
//! or an organisation whose databases are already operated in PostgreSQL
//! (backups, replication, point-in-time recovery, access control). The
//! schema is the SQLite one in native types (uuid, timestamptz, date, bytea,
//! boolean), with the same tables and columns (a test compares them), applied
//! by numbered migrations under an advisory lock so that instances starting
//! together do not race.
//!
//! Each worker thread owns one synchronous [`postgres::Client`]: the store's
//! threads are plain OS threads, so no async runtime is involved. Writes run
//! in `READ COMMITTED` transactions, and several writer threads (and
//! instances) write at once; the audit chain stays linear because extending
//! it locks its head row (`SELECT ... FOR UPDATE`) until commit. Reads run in
//! `REPEATABLE READ READ ONLY` transactions: one snapshot per job, writes
//! refused. Bulk imports go through binary `COPY`. Statements are prepared
//! once per connection.
//!
//! Errors carry the SQLSTATE and the server's primary message only, never
//! its DETAIL, which quotes key values (possibly personal data).

pub mod raw;
use chrono::{DateTime, NaiveDate, Utc};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{FromSql, ToSql, Type};
use postgres::{Client, Config, NoTls, Row, Statement};
use std::collections::HashMap;
use std::time::Duration;
use vigie_domain::SubjectKind;
use vigie_store::{
    AuditRow, Backend, BreachPhaseRow, BreachRow, Connection, ConsentRow, ContractRow, DisclosureRow, DueRow,
    ErasureRow, GroupCount, HeldRow, HoldEventRow, Id, InteractionRow, MessageRow, NewMessage, ObjectionRow,
    PolicyVersionRow, RequestRow, Result, ReviewRow, SafeguardRow, ScopeCount, ScopeFilter, StatGroup, StoreError,
    SubjectRow, TokenRow, Tx, WorkerConfig,
};

/// The migrations, in order: (version, SQL).
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_retention.sql")),
    (3, include_str!("../migrations/0003_hold_events.sql")),
    (4, include_str!("../migrations/0004_governance.sql")),
    (5, include_str!("../migrations/0005_requests.sql")),
    (6, include_str!("../migrations/0006_breaches.sql")),
    (7, include_str!("../migrations/0007_due_index.sql")),
    (8, include_str!("../migrations/0008_fail_safe_retention.sql")),
    (9, include_str!("../migrations/0009_audit_head_mac.sql")),
];

/// The advisory lock that serialises migrations across instances ("Vigie", 1).
const MIGRATION_LOCK: i64 = 0x5669_6769_6500_0001;

/// Maps a driver error to a store error, keeping values out of the message:
/// a server error contributes its SQLSTATE, constraint name and primary
/// message, never its DETAIL (`Key (email_bi)=(...) already exists`).
fn err(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => {
            StoreError::Conflict(db.constraint().map_or_else(|| db.message().to_string(), str::to_string))
        }
        Some(db) => StoreError::Backend(format!("{} (SQLSTATE {})", db.message(), db.code().code())),
        None => StoreError::Backend(e.to_string()),
    }
}

/// Runs `f` on a fresh thread and waits for it.
///
/// The synchronous client drives a small runtime of its own, and tokio panics
/// when a runtime is started, blocked on or dropped on a thread that is
/// already inside one (an async `main`, a `#[tokio::test]`). Connections are
/// opened here, so that `Postgres::open` and `Store::start` may be called from
/// async code; the clients are then used and dropped on the store's own threads.
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|s| s.spawn(f).join())
        .unwrap_or_else(|_| Err(StoreError::Backend("a database connection thread panicked".into())))
}

/// Parses a connection string (URL or `key=value` form) and fills in defaults.
fn config(url: &str) -> Result<Config> {
    let mut config: Config = url.parse().map_err(err)?;
    if config.get_application_name().is_none() {
        config.application_name("vigie");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    // Notices (e.g. "relation already exists, skipping") are routine; keep them
    // out of the logs' default levels, and their DETAIL out entirely.
    config.notice_callback(|n| tracing::debug!(code = n.code().code(), "postgres notice: {}", n.message()));
    Ok(config)
}

/// A PostgreSQL database.
pub struct Postgres {
    config: Config,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Config's own Debug redacts the password.
        f.debug_struct("Postgres").field("config", &self.config).finish()
    }
}

impl Postgres {
    /// Connects (without TLS) and applies pending migrations.
    ///
    /// `url` is a libpq-style connection string: a URL such as
    /// `postgres://vigie@db.internal:5432/vigie`, or `host=... dbname=...`.
    pub fn open(url: &str) -> Result<Postgres> {
        let db = Postgres { config: config(url)? };
        off_runtime(|| {
            let mut client = db.client()?;
            migrate(&mut client)
        })?;
        Ok(db)
    }

    /// Whether the database already holds a Vigie schema (without changing anything).
    pub fn is_initialised(url: &str) -> Result<bool> {
        let config = config(url)?;
        off_runtime(|| {
            let mut client = config.connect(NoTls).map_err(err)?;
            let row = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).map_err(err)?;
            row.try_get(0).map_err(err)
        })
    }

    fn client(&self) -> Result<Client> {
        self.config.connect(NoTls).map_err(err)
    }

    /// A raw client on the database, for the benchmark's baseline and tests.
    ///
    /// Use and drop it outside any async runtime (a plain thread, or
    /// `spawn_blocking`): the synchronous client runs its own.
    pub fn raw_client(&self) -> Result<Client> {
        off_runtime(|| self.client())
    }
}

/// Applies pending migrations in one transaction, holding an advisory lock so
/// that instances starting together apply each migration once.
fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction().map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL)",
    )
    .map_err(err)?;
    for (version, sql) in MIGRATIONS {
        let done: bool = tx
            .query_one("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", &[version])
            .and_then(|r| r.try_get(0))
            .map_err(err)?;
        if !done {
            tx.batch_execute(sql).map_err(err)?;
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", &[version])
                .map_err(err)?;
            tracing::info!(version, "applied PostgreSQL migration");
        }
    }
    tx.commit().map_err(err)
}

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn connect(&self, _write: bool) -> Result<Box<dyn Connection>> {
        let client = off_runtime(|| self.client())?;
        Ok(Box::new(PgConn { client, statements: HashMap::new(), in_tx: false }))
    }

    fn workers(&self) -> WorkerConfig {
        // Every audited write takes the audit head's row lock until commit, so
        // writers serialise on it anyway: one writer thread per instance, with
        // large group commits, avoids lock waits and deadlocks between batches.
        WorkerConfig { writers: 1, readers: 4, max_batch: 256 }
    }

    /// Every table in creation order (foreign keys point backwards), each as `COPY … TO STDOUT`
    /// text, inside one `REPEATABLE READ READ ONLY` transaction: one consistent snapshot.
    fn backup(&self, out: &std::path::Path) -> Result<()> {
        use std::io::{Read, Write};
        let io = |e: std::io::Error| StoreError::Backend(format!("backup: {e}"));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(out).map_err(|e| {
            StoreError::Backend(format!("cannot create {} (Vigie never overwrites a file): {e}", out.display()))
        })?;
        off_runtime(|| {
            let mut client = self.client()?;
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(err)?;
            file.write_all(BACKUP_MAGIC).map_err(io)?;
            for table in tables(&mut tx)? {
                let mut data = Vec::new();
                tx.copy_out(&format!("COPY {table} TO STDOUT")).map_err(err)?.read_to_end(&mut data).map_err(io)?;
                file.write_all(format!("{table}\n{}\n", data.len()).as_bytes()).map_err(io)?;
                file.write_all(&data).map_err(io)?;
            }
            file.write_all(b"end\n").map_err(io)?;
            tx.commit().map_err(err)
        })?;
        file.sync_all().map_err(io)
    }

    fn backup_info(&self, file: &std::path::Path) -> Result<vigie_store::BackupInfo> {
        let sections = read_backup(file)?;
        let text =
            |t: &str| sections.iter().find(|(n, _)| n == t).map(|(_, d)| String::from_utf8_lossy(d).into_owned());
        let not_one =
            |why: &str| StoreError::Backend(format!("{} is not a Vigie PostgreSQL backup: {why}", file.display()));
        let meta = text("meta")
            .ok_or_else(|| not_one("no meta table"))?
            .lines()
            .filter_map(|l| l.split_once('\t').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let schema_version = text("schema_migrations")
            .ok_or_else(|| not_one("no schema_migrations table"))?
            .lines()
            .filter_map(|l| l.split('\t').next()?.parse::<i64>().ok())
            .max()
            .unwrap_or(0);
        let head = text("audit_head").ok_or_else(|| not_one("no audit_head table"))?;
        let cols: Vec<&str> = head.lines().next().unwrap_or_default().split('\t').collect();
        let head_seq = cols.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        let head_hash = cols
            .get(2)
            .and_then(|v| v.strip_prefix("\\\\x"))
            .and_then(|h| (0..h.len()).step_by(2).map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok()).collect())
            .unwrap_or_default();
        Ok(vigie_store::BackupInfo { meta, schema_version, head_seq, head_hash })
    }

    /// In one transaction: every table emptied, then filled from the backup (the schema's
    /// own migrations table kept); the identity sequence moved past the restored rows.
    fn restore(&self, file: &std::path::Path) -> Result<()> {
        use std::io::Write;
        let sections = read_backup(file)?;
        off_runtime(|| {
            let mut client = self.client()?;
            let mut tx = client.transaction().map_err(err)?;
            let all = tables(&mut tx)?;
            let data: Vec<&String> = all.iter().filter(|t| t.as_str() != "schema_migrations").collect();
            let list: Vec<&str> = data.iter().map(|t| t.as_str()).collect();
            tx.batch_execute(&format!("TRUNCATE {} CASCADE", list.join(", "))).map_err(err)?;
            for table in data {
                let Some((_, bytes)) = sections.iter().find(|(n, _)| n == table) else { continue };
                let mut w = tx.copy_in(&format!("COPY {table} FROM STDIN")).map_err(err)?;
                w.write_all(bytes).map_err(|e| StoreError::Backend(format!("restore {table}: {e}")))?;
                w.finish().map_err(err)?;
            }
            tx.batch_execute(
                "SELECT setval(pg_get_serial_sequence('outbox', 'id'), greatest(coalesce(max(id), 0), 1)) FROM outbox",
            )
            .map_err(err)?;
            tx.commit().map_err(err)
        })
    }

    /// A session-level shared advisory lock, held by a connection of its own on a thread of its own.
    fn instance_lock(&self) -> Result<Box<dyn Send>> {
        let config = self.config.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let client = config.connect(NoTls).map_err(err).and_then(|mut c| {
                c.execute("SELECT pg_advisory_lock_shared($1)", &[&INSTANCE_LOCK]).map_err(err)?;
                Ok(c)
            });
            match client {
                Ok(c) => {
                    let _ = ready_tx.send(Ok(()));
                    let _ = stop_rx.recv();
                    drop(c);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
        ready_rx.recv().map_err(|_| StoreError::Backend("the instance lock thread stopped".into()))??;
        Ok(Box::new(stop_tx))
    }

    fn instance_running(&self) -> Result<bool> {
        off_runtime(|| {
            let mut client = self.client()?;
            let got: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&INSTANCE_LOCK])
                .map_err(err)?
                .try_get(0)
                .map_err(err)?;
            Ok(!got)
        })
    }
}

/// The advisory lock every running server holds shared and `restore` needs alone ("Vigie", 2).
const INSTANCE_LOCK: i64 = 0x5669_6769_6500_0002;

const BACKUP_MAGIC: &[u8] = b"VIGIE-POSTGRES-BACKUP 1\n";

/// The database's tables, in creation order.
fn tables(tx: &mut postgres::Transaction<'_>) -> Result<Vec<String>> {
    tx.query(
        "SELECT c.relname::text FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
         ORDER BY c.oid",
        &[],
    )
    .map_err(err)?
    .iter()
    .map(|r| r.try_get(0).map_err(err))
    .collect()
}

/// A backup's sections: (table, COPY text).
fn read_backup(file: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>> {
    let not_one =
        |why: String| StoreError::Backend(format!("{} is not a Vigie PostgreSQL backup: {why}", file.display()));
    let bytes = std::fs::read(file).map_err(|e| not_one(e.to_string()))?;
    let mut rest = bytes.strip_prefix(BACKUP_MAGIC).ok_or_else(|| {
        not_one("its first line is not the PostgreSQL backup header (a SQLite backup restores only to SQLite)".into())
    })?;
    let mut out = Vec::new();
    loop {
        let line = |r: &[u8]| -> Option<(String, usize)> {
            let end = r.iter().position(|&b| b == b'\n')?;
            Some((String::from_utf8(r[..end].to_vec()).ok()?, end + 1))
        };
        let (name, used) = line(rest).ok_or_else(|| not_one("it is truncated".into()))?;
        rest = &rest[used..];
        if name == "end" {
            return Ok(out);
        }
        let (len, used) = line(rest).ok_or_else(|| not_one("it is truncated".into()))?;
        rest = &rest[used..];
        let len: usize = len.parse().map_err(|_| not_one("a section length is not a number".into()))?;
        if rest.len() < len || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()) {
            return Err(not_one("it is truncated or altered".into()));
        }
        out.push((name, rest[..len].to_vec()));
        rest = &rest[len..];
    }
}

/// One connection, owned by one worker thread.
struct PgConn {
    client: Client,
    /// Statements prepared on this connection, by their SQL.
    statements: HashMap<&'static str, Statement>,
    /// Whether `begin` opened a transaction not yet ended.
    in_tx: bool,
}

impl Connection for PgConn {
    fn begin(&mut self, write: bool) -> Result<()> {
        // A transaction left open would silently absorb this one.
        self.rollback()?;
        self.client
            .batch_execute(if write { "BEGIN" } else { "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" })
            .map_err(err)?;
        self.in_tx = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        // On failure the transaction stays marked open: the caller's rollback
        // then costs one harmless round trip.
        self.client.batch_execute("COMMIT").map_err(err)?;
        self.in_tx = false;
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        if !self.in_tx {
            return Ok(());
        }
        self.in_tx = false;
        self.client.batch_execute("ROLLBACK").map_err(err)
    }

    fn savepoint(&mut self) -> Result<()> {
        self.client.batch_execute("SAVEPOINT job").map_err(err)
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.client.batch_execute("ROLLBACK TO SAVEPOINT job").map_err(err)
    }

    fn release_savepoint(&mut self) -> Result<()> {
        self.client.batch_execute("RELEASE SAVEPOINT job").map_err(err)
    }

    fn tx(&mut self) -> &mut dyn Tx {
        self
    }
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl PgConn {
    /// The statement for `sql`, prepared on first use.
    fn prepared(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql).map_err(err)?;
        self.statements.insert(sql, st.clone());
        Ok(st)
    }

    fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        let st = self.prepared(sql)?;
        self.client.execute(&st, params).map_err(err)
    }

    fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        let st = self.prepared(sql)?;
        self.client.query(&st, params).map_err(err)
    }

    fn query_one(&mut self, sql: &'static str, params: Params<'_>) -> Result<Row> {
        let st = self.prepared(sql)?;
        self.client.query_one(&st, params).map_err(err)
    }

    fn query_opt(&mut self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>> {
        let st = self.prepared(sql)?;
        self.client.query_opt(&st, params).map_err(err)
    }

    /// Runs a query and maps each row.
    fn rows<T>(&mut self, sql: &'static str, params: Params<'_>, f: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
        self.query(sql, params)?.iter().map(f).collect()
    }

    fn ids(&mut self, sql: &'static str, key: &[u8]) -> Result<Vec<Id>> {
        self.rows(sql, &[&key], |r| get(r, 0))
    }

    fn count(&mut self, sql: &'static str) -> Result<i64> {
        get(&self.query_one(sql, &[])?, 0)
    }

    fn head(&mut self, sql: &'static str) -> Result<(i64, Vec<u8>)> {
        let r = self.query_one(sql, &[])?;
        Ok((get(&r, 0)?, get(&r, 1)?))
    }
}

/// The columns of `breaches`, in `breach_row` order.
macro_rules! breach_columns {
    () => {
        "id, detected_at, nature, data_categories, scope, risk, status, keys_compromised, subjects_concerned, \
         records_concerned, details, wrapped_key, created_at, updated_at"
    };
}

fn breach_row(r: &Row) -> Result<BreachRow> {
    Ok(BreachRow {
        id: get(r, 0)?,
        detected_at: get(r, 1)?,
        nature: get(r, 2)?,
        data_categories: get(r, 3)?,
        scope: get(r, 4)?,
        risk: get(r, 5)?,
        status: get(r, 6)?,
        keys_compromised: get(r, 7)?,
        subjects_concerned: get(r, 8)?,
        records_concerned: get(r, 9)?,
        details: get(r, 10)?,
        wrapped_key: get(r, 11)?,
        created_at: get(r, 12)?,
        updated_at: get(r, 13)?,
    })
}

/// A breach scope as one static condition over `subjects s`: every criterion is a
/// parameter that, left empty or NULL, does not narrow the set ($1 to $8).
macro_rules! scope_where {
    () => {
        "(cardinality($1::uuid[]) = 0 OR s.id = ANY($1::uuid[]))
         AND (cardinality($2::text[]) = 0 OR s.kind = ANY($2::text[]))
         AND ($3::timestamptz IS NULL OR s.collected_at >= $3::timestamptz)
         AND ($4::timestamptz IS NULL OR s.collected_at <= $4::timestamptz)
         AND ($5::text IS NULL OR s.id IN (SELECT d.subject_id FROM disclosures d WHERE d.recipient = $5::text
              AND ($7::timestamptz IS NULL OR d.at >= $7::timestamptz) AND ($8::timestamptz IS NULL OR d.at <= $8::timestamptz)))
         AND ($6::text IS NULL OR s.id IN (SELECT a.subject_id FROM audit a WHERE a.actor = $6::text AND a.subject_id IS NOT NULL
              AND ($7::timestamptz IS NULL OR a.at >= $7::timestamptz) AND ($8::timestamptz IS NULL OR a.at <= $8::timestamptz)))"
    };
}

fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(err)
}

/// Parses a closed-set text column (kind, direction) back into its enum.
fn token<T: std::str::FromStr>(r: &Row, i: usize, column: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    get::<&str>(r, i)?.parse().map_err(|e| StoreError::Backend(format!("{column}: {e}")))
}

fn subject_row(r: &Row) -> Result<SubjectRow> {
    Ok(SubjectRow {
        id: get(r, 0)?,
        kind: token(r, 1, "subjects.kind")?,
        collected_at: get(r, 2)?,
        created_at: get(r, 3)?,
        updated_at: get(r, 4)?,
        email_bi: get(r, 5)?,
        phone_bi: get(r, 6)?,
        identity: get(r, 7)?,
        wrapped_key: get(r, 8)?,
        retention_rule: get(r, 9)?,
        basis_date: get(r, 10)?,
        expires_on: get(r, 11)?,
        legal_hold: get(r, 12)?,
        held_at: get(r, 13)?,
    })
}

fn due_row(r: &Row) -> Result<DueRow> {
    Ok(DueRow {
        id: get(r, 0)?,
        kind: token(r, 1, "subjects.kind")?,
        rule: get(r, 2)?,
        basis_date: get(r, 3)?,
        expires_on: get(r, 4)?,
    })
}

fn held_row(r: &Row) -> Result<HeldRow> {
    Ok(HeldRow { due: due_row(r)?, reason: get(r, 5)?, wrapped_key: get(r, 6)?, held_at: get(r, 7)? })
}

fn erasure_row(r: &Row) -> Result<ErasureRow> {
    Ok(ErasureRow {
        subject_id: get(r, 0)?,
        erased_at: get(r, 1)?,
        kind: token(r, 2, "erasures.kind")?,
        rule: get(r, 3)?,
    })
}

fn group_count(r: &Row) -> Result<GroupCount> {
    Ok(GroupCount { group: get(r, 0)?, count: get(r, 1)? })
}

fn contract_row(r: &Row) -> Result<ContractRow> {
    Ok(ContractRow {
        id: get(r, 0)?,
        subject_id: get(r, 1)?,
        reference: get(r, 2)?,
        start: get(r, 3)?,
        end: get(r, 4)?,
        created_at: get(r, 5)?,
    })
}

fn interaction_row(r: &Row) -> Result<InteractionRow> {
    Ok(InteractionRow {
        id: get(r, 0)?,
        subject_id: get(r, 1)?,
        at: get(r, 2)?,
        direction: token(r, 3, "interactions.direction")?,
        channel: get(r, 4)?,
        summary: get(r, 5)?,
        created_at: get(r, 6)?,
    })
}

fn consent_row(r: &Row) -> Result<ConsentRow> {
    Ok(ConsentRow {
        id: get(r, 0)?,
        subject_id: get(r, 1)?,
        purpose: get(r, 2)?,
        granted: get(r, 3)?,
        at: get(r, 4)?,
        evidence: get(r, 5)?,
    })
}

fn objection_row(r: &Row) -> Result<ObjectionRow> {
    Ok(ObjectionRow { id: get(r, 0)?, subject_id: get(r, 1)?, purpose: get(r, 2)?, at: get(r, 3)? })
}

fn token_row(r: &Row) -> Result<TokenRow> {
    Ok(TokenRow {
        id: get(r, 0)?,
        hash: get(r, 1)?,
        role: get(r, 2)?,
        recipient: get(r, 3)?,
        created_at: get(r, 4)?,
        revoked_at: get(r, 5)?,
    })
}

fn audit_row(r: &Row) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: get(r, 0)?,
        at: get(r, 1)?,
        actor: get(r, 2)?,
        action: get(r, 3)?,
        subject_id: get(r, 4)?,
        purpose: get(r, 5)?,
        fields: get(r, 6)?,
        outcome: get(r, 7)?,
        detail: get(r, 8)?,
        hash: get(r, 9)?,
    })
}

fn disclosure_row(r: &Row) -> Result<DisclosureRow> {
    Ok(DisclosureRow {
        id: get(r, 0)?,
        at: get(r, 1)?,
        recipient: get(r, 2)?,
        subject_id: get(r, 3)?,
        fields: get(r, 4)?,
        purpose: get(r, 5)?,
        token_id: get(r, 6)?,
    })
}

/// The outbox columns read into a [`MessageRow`], in its order (a macro, so
/// that statements stay `&'static str` literals).
macro_rules! message_columns {
    () => {
        "id, idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at, created_at, \
         sent_at, last_error"
    };
}

fn message_row(r: &Row) -> Result<MessageRow> {
    Ok(MessageRow {
        id: get(r, 0)?,
        idempotency_key: get(r, 1)?,
        subject_id: get(r, 2)?,
        recipient: get(r, 3)?,
        template: get(r, 4)?,
        params: get(r, 5)?,
        status: get(r, 6)?,
        attempts: get(r, 7)?,
        next_attempt_at: get(r, 8)?,
        created_at: get(r, 9)?,
        sent_at: get(r, 10)?,
        last_error: get(r, 11)?,
    })
}

fn safeguard_row(r: &Row) -> Result<SafeguardRow> {
    Ok(SafeguardRow {
        id: get(r, 0)?,
        recipient: get(r, 1)?,
        kind: get(r, 2)?,
        signed_on: get(r, 3)?,
        recorded_at: get(r, 4)?,
    })
}

fn policy_version_row(r: &Row) -> Result<PolicyVersionRow> {
    Ok(PolicyVersionRow {
        version: get(r, 0)?,
        text: get(r, 1)?,
        effective_date: get(r, 2)?,
        status: get(r, 3)?,
        uploaded_at: get(r, 4)?,
        activated_at: get(r, 5)?,
    })
}

/// The request columns read into a [`RequestRow`], in its order (a macro, so
/// that statements stay `&'static str` literals).
macro_rules! request_columns {
    () => {
        "id, kind, channel, received_on, due_on, extended_due_on, status, subject_id, requester_bi, requester, \
         identity_document, identity_decision, identity_at, extension_reason, outcome, response, wrapped_key, \
         created_at, updated_at, completed_at"
    };
}

fn request_row(r: &Row) -> Result<RequestRow> {
    Ok(RequestRow {
        id: get(r, 0)?,
        kind: get(r, 1)?,
        channel: get(r, 2)?,
        received_on: get(r, 3)?,
        due_on: get(r, 4)?,
        extended_due_on: get(r, 5)?,
        status: get(r, 6)?,
        subject_id: get(r, 7)?,
        requester_bi: get(r, 8)?,
        requester: get(r, 9)?,
        identity_document: get(r, 10)?,
        identity_decision: get(r, 11)?,
        identity_at: get(r, 12)?,
        extension_reason: get(r, 13)?,
        outcome: get(r, 14)?,
        response: get(r, 15)?,
        wrapped_key: get(r, 16)?,
        created_at: get(r, 17)?,
        updated_at: get(r, 18)?,
        completed_at: get(r, 19)?,
    })
}

const COPY_SUBJECTS: &str = "COPY subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity, \
                             retention_rule, basis_date, expires_on, legal_hold, held_at) FROM STDIN (FORMAT binary)";
const COPY_SUBJECT_TYPES: &[Type] = &[
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
    Type::BYTEA,
    Type::TIMESTAMPTZ,
];
const COPY_KEYS: &str = "COPY subject_keys (subject_id, wrapped) FROM STDIN (FORMAT binary)";
const COPY_KEY_TYPES: &[Type] = &[Type::UUID, Type::BYTEA];

impl Tx for PgConn {
    fn insert_subject(&mut self, s: &SubjectRow) -> Result<()> {
        self.execute(
            "INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity,
                                   retention_rule, basis_date, expires_on, legal_hold, held_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &s.id,
                &s.kind.as_str(),
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
        self.execute("INSERT INTO subject_keys (subject_id, wrapped) VALUES ($1, $2)", &[&s.id, &s.wrapped_key])?;
        Ok(())
    }

    fn insert_subjects(&mut self, rows: &[SubjectRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // Binary COPY inside the open transaction: if a row is refused, the
        // statement fails and the job's savepoint takes the rest back with it.
        let st = self.prepared(COPY_SUBJECTS)?;
        let mut subjects = BinaryCopyInWriter::new(self.client.copy_in(&st).map_err(err)?, COPY_SUBJECT_TYPES);
        for s in rows {
            subjects
                .write(&[
                    &s.id,
                    &s.kind.as_str(),
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
                ])
                .map_err(err)?;
        }
        subjects.finish().map_err(err)?;
        let st = self.prepared(COPY_KEYS)?;
        let mut keys = BinaryCopyInWriter::new(self.client.copy_in(&st).map_err(err)?, COPY_KEY_TYPES);
        for s in rows {
            keys.write(&[&s.id, &s.wrapped_key]).map_err(err)?;
        }
        keys.finish().map_err(err)?;
        Ok(())
    }

    fn subject(&mut self, id: Id) -> Result<Option<SubjectRow>> {
        self.query_opt(
            "SELECT s.id, s.kind, s.collected_at, s.created_at, s.updated_at, s.email_bi, s.phone_bi, s.identity, k.wrapped,
                    s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, s.held_at
             FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = $1",
            &[&id],
        )?
        .as_ref()
        .map(subject_row)
        .transpose()
    }

    fn subjects_by_email(&mut self, email_bi: &[u8]) -> Result<Vec<Id>> {
        self.ids("SELECT id FROM subjects WHERE email_bi = $1 ORDER BY id", email_bi)
    }

    fn subjects_by_phone(&mut self, phone_bi: &[u8]) -> Result<Vec<Id>> {
        self.ids("SELECT id FROM subjects WHERE phone_bi = $1 ORDER BY id", phone_bi)
    }

    fn set_subject_kind(&mut self, id: Id, kind: SubjectKind, at: DateTime<Utc>) -> Result<()> {
        let n =
            self.execute("UPDATE subjects SET kind = $2, updated_at = $3 WHERE id = $1", &[&id, &kind.as_str(), &at])?;
        if n == 0 { Err(StoreError::NotFound(format!("subject {id}"))) } else { Ok(()) }
    }

    fn count_subjects(&mut self) -> Result<i64> {
        self.count("SELECT count(*) FROM subjects")
    }

    fn count_subjects_by(&mut self, group: StatGroup) -> Result<Vec<GroupCount>> {
        let sql = match group {
            StatGroup::Kind => "SELECT kind, count(*) FROM subjects GROUP BY 1 ORDER BY 1",
            StatGroup::CollectedYear => {
                "SELECT to_char(collected_at AT TIME ZONE 'UTC', 'YYYY'), count(*) FROM subjects GROUP BY 1 ORDER BY 1"
            }
        };
        self.rows(sql, &[], group_count)
    }

    fn set_retention(
        &mut self,
        id: Id,
        rule: &str,
        basis: Option<NaiveDate>,
        expires: Option<NaiveDate>,
    ) -> Result<()> {
        let n = self.execute(
            "UPDATE subjects SET retention_rule = $2, basis_date = $3, expires_on = $4 WHERE id = $1",
            &[&id, &rule, &basis, &expires],
        )?;
        if n == 0 { Err(StoreError::NotFound(format!("subject {id}"))) } else { Ok(()) }
    }

    fn set_legal_hold(&mut self, id: Id, hold: Option<(&[u8], DateTime<Utc>)>) -> Result<()> {
        let (reason, at) = hold.map_or((None, None), |(r, a)| (Some(r), Some(a)));
        let n =
            self.execute("UPDATE subjects SET legal_hold = $2, held_at = $3 WHERE id = $1", &[&id, &reason, &at])?;
        if n == 0 { Err(StoreError::NotFound(format!("subject {id}"))) } else { Ok(()) }
    }

    fn insert_hold_event(&mut self, e: &HoldEventRow) -> Result<()> {
        self.execute(
            "INSERT INTO legal_hold_events (id, subject_id, action, reason, at, actor) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&e.id, &e.subject_id, &e.action, &e.reason, &e.at, &e.actor],
        )?;
        Ok(())
    }

    fn hold_events(&mut self, subject: Id) -> Result<Vec<HoldEventRow>> {
        self.rows(
            "SELECT id, subject_id, action, reason, at, actor FROM legal_hold_events WHERE subject_id = $1 ORDER BY at, id",
            &[&subject],
            |r| {
                Ok(HoldEventRow {
                    id: get(r, 0)?,
                    subject_id: get(r, 1)?,
                    action: get(r, 2)?,
                    reason: get(r, 3)?,
                    at: get(r, 4)?,
                    actor: get(r, 5)?,
                })
            },
        )
    }

    fn due(&mut self, at: NaiveDate, limit: i64) -> Result<Vec<DueRow>> {
        self.rows(
            "SELECT id, kind, retention_rule, basis_date, expires_on FROM subjects
             WHERE expires_on < $1 AND legal_hold IS NULL ORDER BY expires_on, id LIMIT $2",
            &[&at, &limit],
            due_row,
        )
    }

    fn count_due(&mut self, at: NaiveDate) -> Result<i64> {
        get(&self.query_one("SELECT count(*) FROM subjects WHERE expires_on < $1 AND legal_hold IS NULL", &[&at])?, 0)
    }

    fn held_due(&mut self, at: NaiveDate) -> Result<Vec<HeldRow>> {
        self.rows(
            "SELECT s.id, s.kind, s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, k.wrapped, s.held_at
             FROM subjects s JOIN subject_keys k ON k.subject_id = s.id
             WHERE s.expires_on < $1 AND s.legal_hold IS NOT NULL ORDER BY s.expires_on, s.id",
            &[&at],
            held_row,
        )
    }

    fn count_expiring_by_month(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<GroupCount>> {
        self.rows(
            "SELECT to_char(expires_on, 'YYYY-MM'), count(*) FROM subjects
             WHERE expires_on >= $1 AND expires_on < $2 AND legal_hold IS NULL GROUP BY 1 ORDER BY 1",
            &[&from, &to],
            group_count,
        )
    }

    fn erase_subject(&mut self, id: Id, rule: &str, at: DateTime<Utc>) -> Result<bool> {
        // The row lock makes a concurrent erasure of the same subject (another
        // instance's sweep) wait, then find nothing and return false, rather
        // than fail on the tombstone's key.
        let Some(row) = self.query_opt("SELECT kind FROM subjects WHERE id = $1 FOR UPDATE", &[&id])? else {
            return Ok(false);
        };
        let kind: String = get(&row, 0)?;
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
            "UPDATE requests SET requester = ''::bytea, wrapped_key = ''::bytea, response = NULL, extension_reason = NULL,
                    requester_bi = NULL WHERE subject_id = $1",
            "DELETE FROM subjects WHERE id = $1",
        ] {
            self.execute(sql, &[&id])?;
        }
        self.execute(
            "INSERT INTO erasures (subject_id, erased_at, kind, rule) VALUES ($1, $2, $3, $4)",
            &[&id, &at, &kind, &rule],
        )?;
        let month = at.format("%Y-%m").to_string();
        self.execute(
            "INSERT INTO erased_counts (month, kind, rule, count) VALUES ($1, $2, $3, 1)
             ON CONFLICT (month, kind, rule) DO UPDATE SET count = erased_counts.count + 1",
            &[&month, &kind, &rule],
        )?;
        Ok(true)
    }

    fn erase_if_due(&mut self, id: Id, rule: &str, at: DateTime<Utc>, due_at: NaiveDate) -> Result<bool> {
        // Under the row lock, the conditions are read again from the latest committed
        // row: a legal hold or a contract committed during the sweep keeps the subject.
        let due = self.query_opt(
            "SELECT 1 FROM subjects s WHERE s.id = $1 AND s.expires_on < $2 AND s.legal_hold IS NULL
               AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.subject_id = s.id
                               AND r.status IN ('awaiting_identity', 'in_progress'))
             FOR UPDATE OF s",
            &[&id, &due_at],
        )?;
        if due.is_none() {
            return Ok(false);
        }
        self.erase_subject(id, rule, at)
    }

    fn to_review(&mut self, limit: i64) -> Result<Vec<ReviewRow>> {
        self.rows(
            "SELECT id, collected_at FROM subjects WHERE retention_rule = 'client_without_contract'
             ORDER BY collected_at, id LIMIT $1",
            &[&limit],
            |r| Ok(ReviewRow { id: get(r, 0)?, collected_at: get(r, 1)? }),
        )
    }

    fn count_to_review(&mut self) -> Result<i64> {
        get(&self.query_one("SELECT count(*) FROM subjects WHERE retention_rule = 'client_without_contract'", &[])?, 0)
    }

    fn open_request_subjects(&mut self) -> Result<Vec<(Id, Id)>> {
        self.rows(
            "SELECT id, subject_id FROM requests
             WHERE subject_id IS NOT NULL AND status IN ('awaiting_identity', 'in_progress') ORDER BY id",
            &[],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
        )
    }

    fn scope_due(&mut self, f: &ScopeFilter, at: NaiveDate) -> Result<Vec<DueRow>> {
        let kinds: Vec<&str> = f.kinds.iter().map(|k| k.as_str()).collect();
        self.rows(
            concat!(
                "SELECT s.id, s.kind, s.retention_rule, s.basis_date, s.expires_on FROM subjects s WHERE (",
                scope_where!(),
                ") AND s.expires_on < $9 AND s.legal_hold IS NULL ORDER BY s.expires_on, s.id"
            ),
            &[
                &f.subject_ids,
                &kinds,
                &f.collected_from,
                &f.collected_to,
                &f.recipient,
                &f.actor,
                &f.window_from,
                &f.window_to,
                &at,
            ],
            due_row,
        )
    }

    fn erasures_since(&mut self, since: DateTime<Utc>, limit: i64) -> Result<Vec<ErasureRow>> {
        self.rows(
            "SELECT subject_id, erased_at, kind, rule FROM erasures WHERE erased_at >= $1
             ORDER BY erased_at, subject_id LIMIT $2",
            &[&since, &limit],
            erasure_row,
        )
    }

    fn erasure(&mut self, id: Id) -> Result<Option<ErasureRow>> {
        self.query_opt("SELECT subject_id, erased_at, kind, rule FROM erasures WHERE subject_id = $1", &[&id])?
            .as_ref()
            .map(erasure_row)
            .transpose()
    }

    fn erased_counts(&mut self) -> Result<Vec<GroupCount>> {
        self.rows("SELECT month || '|' || kind || '|' || rule, count FROM erased_counts ORDER BY 1", &[], group_count)
    }

    fn insert_safeguard(&mut self, g: &SafeguardRow) -> Result<()> {
        self.execute(
            "INSERT INTO safeguards (id, recipient, kind, signed_on, recorded_at) VALUES ($1, $2, $3, $4, $5)",
            &[&g.id, &g.recipient, &g.kind, &g.signed_on, &g.recorded_at],
        )?;
        Ok(())
    }

    fn safeguards(&mut self) -> Result<Vec<SafeguardRow>> {
        self.rows(
            "SELECT id, recipient, kind, signed_on, recorded_at FROM safeguards ORDER BY recipient, signed_on, id",
            &[],
            safeguard_row,
        )
    }

    fn activate_transfer(&mut self, recipient: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO transfer_activations (recipient, activated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&recipient, &at],
        )?;
        Ok(n == 1)
    }

    fn transfer_activations(&mut self) -> Result<Vec<(String, DateTime<Utc>)>> {
        self.rows("SELECT recipient, activated_at FROM transfer_activations ORDER BY recipient", &[], |r| {
            Ok((get(r, 0)?, get(r, 1)?))
        })
    }

    fn disclosures_for_recipient(&mut self, recipient: &str, limit: i64) -> Result<Vec<DisclosureRow>> {
        self.rows(
            "SELECT id, at, recipient, subject_id, fields, purpose, token_id FROM disclosures
             WHERE recipient = $1 ORDER BY at DESC, id DESC LIMIT $2",
            &[&recipient, &limit],
            disclosure_row,
        )
    }

    fn queue_message(&mut self, m: &NewMessage) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts,
                                 next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING",
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
        // One statement whatever the number of subjects; the key is the prefix
        // and the id as 32 lowercase hex digits, as SQLite's `lower(hex(id))`.
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        self.execute(
            "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts,
                                 next_attempt_at, created_at)
             SELECT $1::text || replace(id::text, '-', ''), id, NULL, $2, $3, 'pending', 0, $4, $4
             FROM subjects WHERE kind = ANY($5::text[]) AND email_bi IS NOT NULL
             ON CONFLICT (idempotency_key) DO NOTHING",
            &[&key_prefix, &template, &params, &at, &kinds],
        )
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
        self.rows(
            concat!(
                "WITH claimed AS (
                     UPDATE outbox SET lease_until = $2 WHERE id IN (
                         SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
                         AND (lease_until IS NULL OR lease_until < $1) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
                     RETURNING ",
                message_columns!(),
                ")
                 SELECT ",
                message_columns!(),
                " FROM claimed ORDER BY id"
            ),
            &[&now, &lease_until, &limit],
            message_row,
        )
    }

    fn mark_sent(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.execute(
            "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, lease_until = NULL WHERE id = $1",
            &[&id, &at],
        )?;
        Ok(())
    }

    fn mark_failed(&mut self, id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        self.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2, lease_until = NULL,
             status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
             next_attempt_at = COALESCE($3::timestamptz, next_attempt_at) WHERE id = $1",
            &[&id, &error, &retry_at],
        )?;
        Ok(())
    }

    fn messages_for_subject(&mut self, subject: Id) -> Result<Vec<MessageRow>> {
        self.rows(
            concat!("SELECT ", message_columns!(), " FROM outbox WHERE subject_id = $1 ORDER BY id"),
            &[&subject],
            message_row,
        )
    }

    fn messages(&mut self, status: Option<&str>, limit: i64) -> Result<Vec<MessageRow>> {
        self.rows(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM outbox WHERE $1::text IS NULL OR status = $1::text ORDER BY id DESC LIMIT $2"
            ),
            &[&status, &limit],
            message_row,
        )
    }

    fn count_messages(&mut self, template: &str, params: &str) -> Result<(i64, i64)> {
        let r = self.query_one(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'sent') FROM outbox WHERE template = $1 AND params = $2",
            &[&template, &params],
        )?;
        Ok((get(&r, 0)?, get(&r, 1)?))
    }

    fn insert_policy_version(&mut self, v: &PolicyVersionRow) -> Result<()> {
        self.execute(
            "INSERT INTO policy_versions (version, text, effective_date, status, uploaded_at, activated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&v.version, &v.text, &v.effective_date, &v.status, &v.uploaded_at, &v.activated_at],
        )?;
        Ok(())
    }

    fn policy_versions(&mut self) -> Result<Vec<PolicyVersionRow>> {
        self.rows(
            "SELECT version, text, effective_date, status, uploaded_at, activated_at FROM policy_versions
             ORDER BY uploaded_at, version",
            &[],
            policy_version_row,
        )
    }

    fn set_policy_status(&mut self, version: &str, status: &str, at: DateTime<Utc>) -> Result<()> {
        let n = self.execute(
            "UPDATE policy_versions SET status = $2::text,
             activated_at = CASE WHEN $2::text = 'active' THEN $3::timestamptz ELSE activated_at END WHERE version = $1",
            &[&version, &status, &at],
        )?;
        if n == 0 { Err(StoreError::NotFound(format!("policy version {version}"))) } else { Ok(()) }
    }

    fn insert_request(&mut self, r: &RequestRow) -> Result<()> {
        self.execute(
            concat!(
                "INSERT INTO requests (",
                request_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
            ),
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
        let n = self.execute(
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
        )?;
        if n == 0 { Err(StoreError::NotFound(format!("request {}", r.id))) } else { Ok(()) }
    }

    fn request(&mut self, id: Id) -> Result<Option<RequestRow>> {
        self.query_opt(concat!("SELECT ", request_columns!(), " FROM requests WHERE id = $1"), &[&id])?
            .as_ref()
            .map(request_row)
            .transpose()
    }

    fn requests(&mut self, limit: i64) -> Result<Vec<RequestRow>> {
        self.rows(
            concat!(
                "SELECT ",
                request_columns!(),
                " FROM requests ORDER BY coalesce(extended_due_on, due_on), received_on, id LIMIT $1"
            ),
            &[&limit],
            request_row,
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
             uploaded_at = excluded.uploaded_at",
            &[&request, &sealed, &content_type, &at],
        )?;
        Ok(())
    }

    fn delete_identity_document(&mut self, request: Id) -> Result<bool> {
        let n = self.execute("DELETE FROM identity_documents WHERE request_id = $1", &[&request])?;
        Ok(n == 1)
    }

    fn has_identity_document(&mut self, request: Id) -> Result<bool> {
        get(&self.query_one("SELECT EXISTS (SELECT 1 FROM identity_documents WHERE request_id = $1)", &[&request])?, 0)
    }

    fn suppress(&mut self, email_bi: &[u8], reason: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO suppression (email_bi, added_at, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&email_bi, &at, &reason],
        )?;
        Ok(n == 1)
    }

    fn is_suppressed(&mut self, email_bi: &[u8]) -> Result<bool> {
        get(&self.query_one("SELECT EXISTS (SELECT 1 FROM suppression WHERE email_bi = $1)", &[&email_bi])?, 0)
    }

    fn count_suppressed(&mut self) -> Result<i64> {
        self.count("SELECT count(*) FROM suppression")
    }

    fn update_identity(
        &mut self,
        id: Id,
        identity: &[u8],
        email_bi: Option<&[u8]>,
        phone_bi: Option<&[u8]>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let n = self.execute(
            "UPDATE subjects SET identity = $2, email_bi = $3, phone_bi = $4, updated_at = $5 WHERE id = $1",
            &[&id, &identity, &email_bi, &phone_bi, &at],
        )?;
        if n == 0 { Err(StoreError::NotFound(format!("subject {id}"))) } else { Ok(()) }
    }

    fn rekey_subject(&mut self, r: &vigie_store::Rekeyed, at: DateTime<Utc>) -> Result<()> {
        let n = self.execute(
            "UPDATE subjects SET identity = $2, email_bi = $3, phone_bi = $4, legal_hold = $5, updated_at = $6 WHERE id = $1",
            &[&r.id, &r.identity, &r.email_bi, &r.phone_bi, &r.legal_hold, &at],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("subject {}", r.id)));
        }
        self.execute("UPDATE subject_keys SET wrapped = $2 WHERE subject_id = $1", &[&r.id, &r.wrapped_key])?;
        for (id, v) in &r.contracts {
            self.execute("UPDATE contracts SET reference = $2 WHERE id = $1", &[id, v])?;
        }
        for (id, v) in &r.interactions {
            self.execute("UPDATE interactions SET summary = $2 WHERE id = $1", &[id, v])?;
        }
        for (id, v) in &r.consents {
            self.execute("UPDATE consents SET evidence = $2 WHERE id = $1", &[id, v])?;
        }
        for (id, v) in &r.hold_events {
            self.execute("UPDATE legal_hold_events SET reason = $2 WHERE id = $1", &[id, v])?;
        }
        Ok(())
    }

    fn delete_closed_requests(&mut self, before: DateTime<Utc>) -> Result<u64> {
        self.execute("DELETE FROM requests WHERE completed_at IS NOT NULL AND completed_at < $1", &[&before])
    }

    fn delete_interactions(&mut self, subject: Id) -> Result<u64> {
        self.execute("DELETE FROM interactions WHERE subject_id = $1", &[&subject])
    }

    fn insert_breach(&mut self, b: &BreachRow) -> Result<()> {
        self.execute(
            concat!(
                "INSERT INTO breaches (",
                breach_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ),
            &[
                &b.id,
                &b.detected_at,
                &b.nature,
                &b.data_categories,
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
        let n = self.execute(
            "UPDATE breaches SET nature = $2, data_categories = $3, scope = $4, risk = $5, status = $6, keys_compromised = $7,
                 subjects_concerned = $8, records_concerned = $9, details = $10, updated_at = $11 WHERE id = $1",
            &[
                &b.id,
                &b.nature,
                &b.data_categories,
                &b.scope,
                &b.risk,
                &b.status,
                &b.keys_compromised,
                &b.subjects_concerned,
                &b.records_concerned,
                &b.details,
                &b.updated_at,
            ],
        )?;
        if n == 0 { Err(StoreError::NotFound(format!("breach {}", b.id))) } else { Ok(()) }
    }

    fn breach(&mut self, id: Id) -> Result<Option<BreachRow>> {
        self.query_opt(concat!("SELECT ", breach_columns!(), " FROM breaches WHERE id = $1"), &[&id])?
            .as_ref()
            .map(breach_row)
            .transpose()
    }

    fn breaches(&mut self) -> Result<Vec<BreachRow>> {
        self.rows(
            concat!("SELECT ", breach_columns!(), " FROM breaches ORDER BY detected_at DESC, id"),
            &[],
            breach_row,
        )
    }

    fn insert_breach_phase(&mut self, p: &BreachPhaseRow) -> Result<()> {
        self.execute(
            "INSERT INTO breach_phases (id, breach_id, at, phase, details, actor) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&p.id, &p.breach_id, &p.at, &p.phase, &p.details, &p.actor],
        )?;
        Ok(())
    }

    fn breach_phases(&mut self, breach: Id) -> Result<Vec<BreachPhaseRow>> {
        self.rows(
            "SELECT id, breach_id, at, phase, details, actor FROM breach_phases WHERE breach_id = $1 ORDER BY at, id",
            &[&breach],
            |r| {
                Ok(BreachPhaseRow {
                    id: get(r, 0)?,
                    breach_id: get(r, 1)?,
                    at: get(r, 2)?,
                    phase: get(r, 3)?,
                    details: get(r, 4)?,
                    actor: get(r, 5)?,
                })
            },
        )
    }

    fn scope_count(&mut self, f: &ScopeFilter) -> Result<ScopeCount> {
        let kinds: Vec<&str> = f.kinds.iter().map(|k| k.as_str()).collect();
        let r = self.query_one(
            concat!(
                "WITH scope AS (SELECT s.id FROM subjects s WHERE ",
                scope_where!(),
                ")
                 SELECT (SELECT count(*) FROM scope),
                        (SELECT count(*) FROM contracts WHERE subject_id IN (SELECT id FROM scope)),
                        (SELECT count(*) FROM interactions WHERE subject_id IN (SELECT id FROM scope)),
                        (SELECT count(*) FROM consents WHERE subject_id IN (SELECT id FROM scope))"
            ),
            &[
                &f.subject_ids,
                &kinds,
                &f.collected_from,
                &f.collected_to,
                &f.recipient,
                &f.actor,
                &f.window_from,
                &f.window_to,
            ],
        )?;
        Ok(ScopeCount {
            subjects: get(&r, 0)?,
            contracts: get(&r, 1)?,
            interactions: get(&r, 2)?,
            consents: get(&r, 3)?,
        })
    }

    fn queue_for_scope(
        &mut self,
        f: &ScopeFilter,
        template: &str,
        params: &str,
        key_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let kinds: Vec<&str> = f.kinds.iter().map(|k| k.as_str()).collect();
        self.execute(
            concat!(
                "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts,
                                     next_attempt_at, created_at)
                 SELECT $9::text || replace(s.id::text, '-', ''), s.id, NULL, $10, $11, 'pending', 0, $12, $12
                 FROM subjects s WHERE (",
                scope_where!(),
                ") AND s.email_bi IS NOT NULL ON CONFLICT (idempotency_key) DO NOTHING"
            ),
            &[
                &f.subject_ids,
                &kinds,
                &f.collected_from,
                &f.collected_to,
                &f.recipient,
                &f.actor,
                &f.window_from,
                &f.window_to,
                &key_prefix,
                &template,
                &params,
                &at,
            ],
        )
    }

    fn claim_job(
        &mut self,
        name: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        self.execute("INSERT INTO jobs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", &[&name])?;
        // In READ COMMITTED a competing claim waits on the row lock, then
        // re-evaluates the condition against the winner's committed lease.
        let n = self.execute(
            "UPDATE jobs SET lease_until = $4 WHERE name = $1
             AND (lease_until IS NULL OR lease_until < $3) AND (last_run_on IS NULL OR last_run_on < $2)",
            &[&name, &today, &now, &lease_until],
        )?;
        Ok(n == 1)
    }

    fn finish_job(&mut self, name: &str, today: NaiveDate) -> Result<()> {
        self.execute("UPDATE jobs SET lease_until = NULL, last_run_on = $2 WHERE name = $1", &[&name, &today])?;
        Ok(())
    }

    fn insert_contract(&mut self, c: &ContractRow) -> Result<()> {
        self.execute(
            "INSERT INTO contracts (id, subject_id, reference, start_date, end_date, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&c.id, &c.subject_id, &c.reference, &c.start, &c.end, &c.created_at],
        )?;
        Ok(())
    }

    fn contracts(&mut self, subject: Id) -> Result<Vec<ContractRow>> {
        self.rows(
            "SELECT id, subject_id, reference, start_date, end_date, created_at FROM contracts
             WHERE subject_id = $1 ORDER BY start_date, id",
            &[&subject],
            contract_row,
        )
    }

    fn insert_interaction(&mut self, i: &InteractionRow) -> Result<()> {
        self.execute(
            "INSERT INTO interactions (id, subject_id, at, direction, channel, summary, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&i.id, &i.subject_id, &i.at, &i.direction.as_str(), &i.channel, &i.summary, &i.created_at],
        )?;
        Ok(())
    }

    fn interactions(&mut self, subject: Id) -> Result<Vec<InteractionRow>> {
        self.rows(
            "SELECT id, subject_id, at, direction, channel, summary, created_at FROM interactions
             WHERE subject_id = $1 ORDER BY at, id",
            &[&subject],
            interaction_row,
        )
    }

    fn insert_consent(&mut self, c: &ConsentRow) -> Result<()> {
        self.execute(
            "INSERT INTO consents (id, subject_id, purpose, granted, at, evidence) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&c.id, &c.subject_id, &c.purpose, &c.granted, &c.at, &c.evidence],
        )?;
        Ok(())
    }

    fn consents(&mut self, subject: Id) -> Result<Vec<ConsentRow>> {
        self.rows(
            "SELECT id, subject_id, purpose, granted, at, evidence FROM consents WHERE subject_id = $1 ORDER BY at, id",
            &[&subject],
            consent_row,
        )
    }

    fn insert_objection(&mut self, o: &ObjectionRow) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO objections (id, subject_id, purpose, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&o.id, &o.subject_id, &o.purpose, &o.at],
        )?;
        Ok(n == 1)
    }

    fn objections(&mut self, subject: Id) -> Result<Vec<ObjectionRow>> {
        self.rows(
            "SELECT id, subject_id, purpose, at FROM objections WHERE subject_id = $1 ORDER BY at, id",
            &[&subject],
            objection_row,
        )
    }

    fn insert_token(&mut self, t: &TokenRow) -> Result<()> {
        self.execute(
            "INSERT INTO tokens (id, hash, role, recipient, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&t.id, &t.hash, &t.role, &t.recipient, &t.created_at, &t.revoked_at],
        )?;
        Ok(())
    }

    fn token_by_hash(&mut self, hash: &[u8]) -> Result<Option<TokenRow>> {
        self.query_opt(
            "SELECT id, hash, role, recipient, created_at, revoked_at FROM tokens WHERE hash = $1",
            &[&hash],
        )?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    fn count_tokens(&mut self) -> Result<i64> {
        self.count("SELECT count(*) FROM tokens")
    }

    fn audit_head(&mut self) -> Result<(i64, Vec<u8>)> {
        // Several writer threads and instances extend one chain: the row lock,
        // held until commit, makes them take turns. In READ COMMITTED a waiter
        // reads the head its predecessor committed.
        self.head("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
    }

    fn append_audit(&mut self, e: &AuditRow, head_mac: &[u8]) -> Result<()> {
        self.execute(
            "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[&e.seq, &e.at, &e.actor, &e.action, &e.subject_id, &e.purpose, &e.fields, &e.outcome, &e.detail, &e.hash],
        )?;
        self.execute(
            "UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1",
            &[&e.seq, &e.hash, &head_mac],
        )?;
        Ok(())
    }

    fn append_audits(&mut self, entries: &[AuditRow], head_mac: &[u8]) -> Result<()> {
        // One statement per batch: the entries travel as arrays.
        let seq: Vec<i64> = entries.iter().map(|e| e.seq).collect();
        let at: Vec<DateTime<Utc>> = entries.iter().map(|e| e.at).collect();
        let actor: Vec<&str> = entries.iter().map(|e| e.actor.as_str()).collect();
        let action: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        let subject: Vec<Option<Id>> = entries.iter().map(|e| e.subject_id).collect();
        let purpose: Vec<Option<&str>> = entries.iter().map(|e| e.purpose.as_deref()).collect();
        let fields: Vec<&str> = entries.iter().map(|e| e.fields.as_str()).collect();
        let outcome: Vec<&str> = entries.iter().map(|e| e.outcome.as_str()).collect();
        let detail: Vec<Option<&str>> = entries.iter().map(|e| e.detail.as_deref()).collect();
        let hash: Vec<&[u8]> = entries.iter().map(|e| e.hash.as_slice()).collect();
        self.execute(
            "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash)
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::uuid[], $6::text[],
                                  $7::text[], $8::text[], $9::text[], $10::bytea[])",
            &[&seq, &at, &actor, &action, &subject, &purpose, &fields, &outcome, &detail, &hash],
        )?;
        if let Some(last) = entries.last() {
            self.execute(
                "UPDATE audit_head SET seq = $1, hash = $2, mac = $3 WHERE id = 1",
                &[&last.seq, &last.hash, &head_mac],
            )?;
        }
        Ok(())
    }

    fn audit_page(&mut self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        self.rows(
            "SELECT seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash FROM audit
             WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &limit],
            audit_row,
        )
    }

    fn audit_head_mac(&mut self) -> Result<Option<Vec<u8>>> {
        get(&self.query_one("SELECT mac FROM audit_head WHERE id = 1", &[])?, 0)
    }

    fn set_audit_head_mac(&mut self, mac: &[u8]) -> Result<()> {
        self.execute("UPDATE audit_head SET mac = $1 WHERE id = 1", &[&mac])?;
        Ok(())
    }

    fn audit_head_recorded(&mut self) -> Result<(i64, Vec<u8>)> {
        self.head("SELECT seq, hash FROM audit_head WHERE id = 1")
    }

    fn insert_disclosure(&mut self, d: &DisclosureRow) -> Result<()> {
        self.execute(
            "INSERT INTO disclosures (id, at, recipient, subject_id, fields, purpose, token_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&d.id, &d.at, &d.recipient, &d.subject_id, &d.fields, &d.purpose, &d.token_id],
        )?;
        Ok(())
    }

    fn disclosures_for_subject(&mut self, subject: Id) -> Result<Vec<DisclosureRow>> {
        self.rows(
            "SELECT id, at, recipient, subject_id, fields, purpose, token_id FROM disclosures WHERE subject_id = $1 ORDER BY at, id",
            &[&subject],
            disclosure_row,
        )
    }

    fn wrapped_keys(&mut self) -> Result<Vec<(vigie_store::KeyOwner, Id, Vec<u8>)>> {
        use vigie_store::KeyOwner;
        let mut out = Vec::new();
        for (owner, sql) in [
            (KeyOwner::Subject, "SELECT subject_id, wrapped FROM subject_keys"),
            (KeyOwner::Request, "SELECT id, wrapped_key FROM requests WHERE length(wrapped_key) > 0"),
            (KeyOwner::Breach, "SELECT id, wrapped_key FROM breaches"),
        ] {
            for r in self.query(sql, &[])? {
                out.push((owner, get(&r, 0)?, get(&r, 1)?));
            }
        }
        Ok(out)
    }

    fn set_wrapped_key(&mut self, owner: vigie_store::KeyOwner, id: Id, wrapped: &[u8]) -> Result<()> {
        let sql = match owner {
            vigie_store::KeyOwner::Subject => "UPDATE subject_keys SET wrapped = $2 WHERE subject_id = $1",
            vigie_store::KeyOwner::Request => "UPDATE requests SET wrapped_key = $2 WHERE id = $1",
            vigie_store::KeyOwner::Breach => "UPDATE breaches SET wrapped_key = $2 WHERE id = $1",
        };
        self.execute(sql, &[&id, &wrapped])?;
        Ok(())
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        self.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?.map(|r| get(&r, 0)).transpose()
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }
}

/// Throwaway databases for tests (this crate's and the HTTP tests of other
/// crates): a fresh database on a server, dropped when its guard is.
pub mod testing {
    use super::{Result, StoreError, config, err, off_runtime};

    /// Drops the database it names when it is dropped (`WITH (FORCE)`, so
    /// connections still open, e.g. a store's threads, do not prevent it).
    pub struct DropGuard {
        server_url: String,
        name: String,
        url: String,
    }

    impl DropGuard {
        /// The database's name.
        pub fn name(&self) -> &str {
            &self.name
        }

        /// A connection string for the database.
        pub fn url(&self) -> &str {
            &self.url
        }
    }

    impl std::fmt::Debug for DropGuard {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            // The URLs may hold a password.
            f.debug_struct("DropGuard").field("name", &self.name).finish_non_exhaustive()
        }
    }

    impl Drop for DropGuard {
        fn drop(&mut self) {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            if let Err(e) = run_on_server(&self.server_url, &sql) {
                eprintln!("warning: could not drop test database {}: {e}", self.name);
            }
        }
    }

    fn run_on_server(server_url: &str, sql: &str) -> Result<()> {
        let config = config(server_url)?;
        off_runtime(|| {
            let mut client = config.connect(postgres::NoTls).map_err(err)?;
            client.batch_execute(sql).map_err(err)
        })
    }

    /// Creates a database with a fresh name (`vigie_test_<hex>`) on the server
    /// `server_url` points to (any database there will do to connect), and
    /// returns a connection string for it and the guard that drops it.
    /// Usable from async code.
    pub fn fresh_database(server_url: &str) -> Result<(String, DropGuard)> {
        let name = format!("vigie_test_{}", vigie_store::new_id().simple());
        let url = with_database(server_url, &name)?;
        run_on_server(server_url, &format!("CREATE DATABASE {name}"))?;
        let guard = DropGuard { server_url: server_url.to_string(), name, url: url.clone() };
        Ok((url, guard))
    }

    /// `url` with its database replaced by `dbname`: the path of a URL
    /// (keeping its query), or a `dbname=` appended to a `key=value` string.
    pub fn with_database(url: &str, dbname: &str) -> Result<String> {
        let replaced = match url.split_once("://") {
            Some((scheme, rest)) => {
                let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                let (authority, tail) = rest.split_at(authority_end);
                let query = tail.find(['?', '#']).map_or("", |i| &tail[i..]);
                format!("{scheme}://{authority}/{dbname}{query}")
            }
            None => format!("{url} dbname={dbname}"),
        };
        // A `dbname` in the query string would win over the path: check.
        match config(&replaced)?.get_dbname() {
            Some(got) if got == dbname => Ok(replaced),
            _ => Err(StoreError::Backend("cannot point the connection string at another database".into())),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::with_database;

        #[test]
        fn the_database_of_a_connection_string_is_replaced() -> vigie_store::Result<()> {
            let cases = [
                ("postgres://postgres@127.0.0.1:5432/test", "postgres://postgres@127.0.0.1:5432/x"),
                ("postgresql://u:p@h/test?sslmode=disable", "postgresql://u:p@h/x?sslmode=disable"),
                ("postgres://h:5433", "postgres://h:5433/x"),
                ("postgres:///test?host=/run/postgresql", "postgres:///x?host=/run/postgresql"),
                ("host=/run/postgresql user=vigie dbname=test", "host=/run/postgresql user=vigie dbname=test dbname=x"),
            ];
            for (url, expected) in cases {
                assert_eq!(with_database(url, "x")?, expected);
            }
            assert!(with_database("postgres://h/test?dbname=other", "x").is_err());
            Ok(())
        }
    }
}
