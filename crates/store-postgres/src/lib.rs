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
//! Each worker thread owns one connection: the asynchronous client on a
//! current-thread runtime of its own, which the thread blocks on for each
//! request (as the synchronous [`postgres::Client`] does inside), so that a
//! job's savepoint travels with its first statement (see `PgConn`). Writes run
//! in `READ COMMITTED` transactions, and several writer threads (and
//! instances) write at once; the audit chain stays linear because extending
//! it locks its head row (`SELECT ... FOR UPDATE`) until commit. Reads run in
//! `REPEATABLE READ READ ONLY` transactions: one snapshot per job, writes
//! refused. Bulk imports go through binary `COPY`. Statements are prepared
//! once per connection.
//!
//! Errors carry the SQLSTATE and the server's primary message only, never
//! its DETAIL, which quotes key values (possibly personal data).

mod copy;
pub mod raw;
pub mod tls;
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Row, Statement};
use std::collections::HashMap;
use std::time::Duration;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use vigie_store::sql::{self, Arg, Args, Dialect, Driver, SqlRow, Stmt};
use vigie_store::{AuditRow, Backend, Connection, Id, Result, StoreError, SubjectRow, Tx, WorkerConfig};

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
    (10, include_str!("../migrations/0010_leases_tokens.sql")),
    (11, include_str!("../migrations/0011_suppression.sql")),
    (12, include_str!("../migrations/0012_breach_decisions.sql")),
    (13, include_str!("../migrations/0013_restriction.sql")),
    (14, include_str!("../migrations/0014_request_channels.sql")),
    (15, include_str!("../migrations/0015_merge_identity_clock.sql")),
    (16, include_str!("../migrations/0016_register_and_assessments.sql")),
    (17, include_str!("../migrations/0017_accounts.sql")),
    (18, include_str!("../migrations/0018_answers.sql")),
    (19, include_str!("../migrations/0019_subject_names.sql")),
    (20, include_str!("../migrations/0020_contract_references.sql")),
    (21, include_str!("../migrations/0021_subject_revisions.sql")),
    (22, include_str!("../migrations/0022_subject_counts.sql")),
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
        Some(db)
            if *db.code() == SqlState::T_R_DEADLOCK_DETECTED || *db.code() == SqlState::T_R_SERIALIZATION_FAILURE =>
        {
            StoreError::Busy(format!("{} (SQLSTATE {})", db.message(), db.code().code()))
        }
        Some(db) if *db.code() == SqlState::DISK_FULL => {
            StoreError::Full(format!("{} (SQLSTATE {})", db.message(), db.code().code()))
        }
        Some(db) => StoreError::Backend(format!("{} (SQLSTATE {})", db.message(), db.code().code())),
        // The driver's message names the kind ("error performing TLS handshake"), its cause
        // what happened (the certificate refused, the connection refused, the option invalid).
        None => {
            let mut message = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                message.push_str(&format!(": {c}"));
                cause = c.source();
            }
            StoreError::Backend(message)
        }
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

/// Parses a connection string (URL or `key=value` form, with libpq's `sslmode` and
/// `sslrootcert`: see [`tls`]) and fills in defaults.
fn config(url: &str) -> Result<tls::Target> {
    let mut target = tls::target(url)?;
    let config = &mut target.config;
    if config.get_application_name().is_none() {
        config.application_name("vigie");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    // Notices (e.g. "relation already exists, skipping") are routine; keep them
    // out of the logs' default levels, and their DETAIL out entirely.
    config.notice_callback(|n| tracing::debug!(code = n.code().code(), "postgres notice: {}", n.message()));
    Ok(target)
}

/// A PostgreSQL database.
pub struct Postgres {
    config: tls::Target,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Target's Debug redacts the password.
        f.debug_struct("Postgres").field("config", &self.config).finish()
    }
}

impl Postgres {
    /// Connects (encrypted as `sslmode` asks: see [`tls`]) and applies pending migrations.
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
            let mut client = config.connect()?;
            let row = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).map_err(err)?;
            row.try_get(0).map_err(err)
        })
    }

    fn client(&self) -> Result<Client> {
        self.config.connect()
    }

    /// A raw client on the database, for the benchmark's baseline and tests.
    ///
    /// Use and drop it outside any async runtime (a plain thread, or
    /// `spawn_blocking`): the synchronous client runs its own.
    pub fn raw_client(&self) -> Result<Client> {
        off_runtime(|| self.client())
    }
}

/// A PostgreSQL database named by its URL, not yet opened.
pub struct PostgresUrl {
    url: String,
}

impl PostgresUrl {
    pub fn new(url: &str) -> PostgresUrl {
        PostgresUrl { url: url.to_string() }
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresUrl(hidden)")
    }
}

impl vigie_store::Database for PostgresUrl {
    fn found(&self) -> Result<vigie_store::Found> {
        Ok(if Postgres::is_initialised(&self.url)? {
            vigie_store::Found::Database
        } else {
            vigie_store::Found::Nothing
        })
    }
    fn describe(&self) -> String {
        "the PostgreSQL database".into()
    }
    fn open(&self) -> Result<std::sync::Arc<dyn Backend>> {
        Ok(std::sync::Arc::new(Postgres::open(&self.url)?))
    }
    /// PostgreSQL has no file to replace: its restore runs on a migrated schema.
    fn unopened(&self) -> Result<std::sync::Arc<dyn Backend>> {
        self.open()
    }
    /// The newest migration this build knows.
    fn schema_version(&self) -> i64 {
        MIGRATIONS.iter().map(|(v, _)| *v).max().unwrap_or(0)
    }
    fn connection_string(&self) -> Option<&str> {
        Some(&self.url)
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
        let (rt, client) = off_runtime(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Backend(format!("cannot start a database connection's runtime: {e}")))?;
            let client = self.config.connect_async(&rt)?;
            Ok((rt, client))
        })?;
        Ok(Box::new(PgConn {
            rt,
            client,
            statements: HashMap::new(),
            in_tx: false,
            head: sql::AuditHead::default(),
            savepoint: None,
            unsent: false,
            failed: None,
        }))
    }

    fn workers(&self) -> WorkerConfig {
        // A writer's jobs take the audit head's row lock only at their group commit (their
        // entries are sealed then: `sql::AuditHead`), so instances run their jobs side by side
        // and take turns at the commit alone (two instances: 2.0× one, BENCHMARKS.md). Within one
        // instance, one writer thread: four were measured slower than one, but only with a
        // regression that took the lock at a batch's first write (since fixed); trying several
        // writers again is the next step.
        WorkerConfig { writers: 1, readers: 8, max_batch: 256, read_batch: 1 }
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
            let client = config.connect().and_then(|mut c| {
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

    fn copyable(&self) -> Option<&dyn vigie_store::copy::Copyable> {
        Some(self)
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

/// One connection, owned by one worker thread: the asynchronous client, driven by a runtime of
/// its own that the thread blocks on for each request (as the synchronous client does inside), so
/// that two requests can be sent before the first answer is awaited.
///
/// A job's savepoint waits (`savepoint`) and goes with the job's first statement, in the same
/// round trip; a job that sends no statement sends no savepoint. Whatever goes wrong with a
/// savepoint sent that way fails its job, and its rollback then fails, which fails the whole
/// group commit, as a savepoint that failed alone did.
struct PgConn {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    /// Statements prepared on this connection, by their SQL.
    statements: HashMap<&'static str, Statement>,
    /// Whether `begin` opened a transaction not yet ended.
    in_tx: bool,
    /// The writer's copy of the audit head in the transaction in progress.
    head: sql::AuditHead,
    /// The savepoint commands of the job in progress, not sent yet.
    savepoint: Option<&'static str>,
    /// The job in progress failed before its savepoint was sent: it sent nothing, so it has
    /// nothing to roll back or release.
    unsent: bool,
    /// A statement of the transaction failed on the server and no rollback to a savepoint
    /// followed (the transaction is aborted: a commit would only roll it back), or a savepoint
    /// sent with a statement failed (no rollback to a savepoint is safe: it could reach an earlier
    /// job's). Cleared by `begin` and `rollback`.
    failed: Option<Failed>,
}

#[derive(Clone, Copy, PartialEq)]
enum Failed {
    Statement,
    Savepoint,
}

const SAVEPOINT: &str = "SAVEPOINT job";
const NEXT_SAVEPOINT: &str = "RELEASE SAVEPOINT job; SAVEPOINT job";

impl PgConn {
    /// Remembers a server error (the transaction is then aborted until a rollback).
    fn note<T>(&mut self, out: std::result::Result<T, postgres::Error>) -> Result<T> {
        out.map_err(|e| {
            if e.as_db_error().is_some() && self.in_tx && self.failed.is_none() {
                self.failed = Some(Failed::Statement);
            }
            err(e)
        })
    }

    fn simple(&mut self, sql: &str) -> Result<()> {
        let client = &self.client;
        let out = self.rt.block_on(client.batch_execute(sql));
        self.note(out)
    }

    /// Sends the waiting savepoint alone (before what cannot go with it).
    fn flush_savepoint(&mut self) -> Result<()> {
        match self.savepoint.take() {
            Some(sp) => self.simple(sp).inspect_err(|_| self.failed = Some(Failed::Savepoint)),
            None => Ok(()),
        }
    }

    /// What [`send`] answered: a failed savepoint fails the request and poisons the transaction.
    fn sent<T>(&mut self, (saved, out): Sent<T>) -> Result<T> {
        if let Err(e) = saved {
            self.failed = Some(Failed::Savepoint);
            return Err(err(e));
        }
        self.note(out)
    }
}

type Sent<T> = (std::result::Result<(), postgres::Error>, std::result::Result<T, postgres::Error>);

/// Runs `request`, sent right after the waiting `savepoint` if there is one (one round trip).
fn send<T>(
    rt: &tokio::runtime::Runtime,
    client: &tokio_postgres::Client,
    savepoint: Option<&'static str>,
    request: impl std::future::Future<Output = std::result::Result<T, postgres::Error>>,
) -> Sent<T> {
    match savepoint {
        None => (Ok(()), rt.block_on(request)),
        Some(sp) => rt.block_on(both(client.batch_execute(sp), request)),
    }
}

/// Awaits two requests sent together: each is queued (in this order) when first polled, before
/// either's answer is awaited; the connection answers them in order.
async fn both<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) {
    use std::task::Poll;
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut got_a, mut got_b) = (None, None);
    std::future::poll_fn(|cx| {
        if got_a.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            got_a = Some(v);
        }
        if got_b.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            got_b = Some(v);
        }
        match (got_a.take(), got_b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (got_a, got_b) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

impl Connection for PgConn {
    fn begin(&mut self, write: bool) -> Result<()> {
        // A transaction left open would silently absorb this one.
        self.rollback()?;
        self.simple(if write { "BEGIN" } else { "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" })?;
        self.in_tx = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        // A savepoint still waiting has nothing after it: the commit goes without it.
        self.savepoint = None;
        // PostgreSQL answers the COMMIT of an aborted transaction by rolling it back, without an
        // error: refuse it here (the caller rolls back).
        if self.failed.is_some() {
            return Err(StoreError::Backend("the transaction was aborted by a failed statement".into()));
        }
        // On failure the transaction stays marked open: the caller's rollback
        // then costs one harmless round trip.
        self.simple("COMMIT")?;
        self.in_tx = false;
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        self.savepoint = None;
        self.unsent = false;
        self.failed = None;
        if !self.in_tx {
            return Ok(());
        }
        self.in_tx = false;
        self.simple("ROLLBACK")
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.flush_savepoint()?;
        self.simple(sql)
    }

    fn savepoint(&mut self) -> Result<()> {
        self.usable()?;
        self.flush_savepoint()?;
        self.savepoint = Some(SAVEPOINT);
        Ok(())
    }

    /// The release of the last job's savepoint and the next job's savepoint wait together; if the
    /// last job sent nothing, what it was waiting with serves the next one.
    fn next_savepoint(&mut self) -> Result<()> {
        self.usable()?;
        if self.savepoint.is_none() {
            self.savepoint = Some(NEXT_SAVEPOINT);
        }
        Ok(())
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        if self.failed == Some(Failed::Savepoint) {
            return Err(StoreError::Backend("a job's savepoint failed; the group commit is rolled back".into()));
        }
        if self.savepoint.take().is_some() {
            // The job sent nothing (its savepoint went with nothing): nothing to undo. An earlier
            // job's savepoint it would have released stays open until the commit.
            self.unsent = true;
            return Ok(());
        }
        self.simple("ROLLBACK TO SAVEPOINT job")?;
        self.failed = None;
        Ok(())
    }

    fn release_savepoint(&mut self) -> Result<()> {
        if std::mem::take(&mut self.unsent) {
            return Ok(());
        }
        self.simple("RELEASE SAVEPOINT job")
    }

    fn tx(&mut self) -> &mut dyn Tx {
        self
    }
}

impl PgConn {
    /// A new savepoint on an aborted transaction would fail anyway; say why.
    fn usable(&self) -> Result<()> {
        match self.failed {
            None => Ok(()),
            Some(_) => Err(StoreError::Backend("the transaction was aborted by a failed statement".into())),
        }
    }
}

/// Binds one [`Arg`] with the driver's own conversion for the parameter's type
/// (checked against the type the server inferred); a NULL fits any type.
#[derive(Debug)]
struct Bind<'a>(Arg<'a>);

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match &self.0 {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(v) => v.to_sql_checked(ty, out),
            Arg::Bool(v) => v.to_sql_checked(ty, out),
            Arg::Text(v) => v.to_sql_checked(ty, out),
            Arg::Bytes(v) => v.to_sql_checked(ty, out),
            Arg::Id(v) => v.to_sql_checked(ty, out),
            Arg::Time(v) => v.to_sql_checked(ty, out),
            Arg::Date(v) => v.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Any value, for telling NULL from not NULL whatever the column's type.
struct Present;

impl<'a> FromSql<'a> for Present {
    fn from_sql(_: &Type, _: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(Present)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

struct PgRow<'a>(&'a Row);

impl PgRow<'_> {
    fn get<'b, T: FromSql<'b>>(&'b self, i: usize) -> Result<T> {
        self.0.try_get(i).map_err(err)
    }
    fn null_at(&self, i: usize) -> Result<bool> {
        Ok(self.get::<Option<Present>>(i)?.is_none())
    }
}

vigie_store::sql_row_by_get!(PgRow<'_>);

impl PgConn {
    /// The statement for `sql`, prepared on first use (a waiting savepoint is sent first: a job
    /// whose savepoint waits has sent nothing).
    fn prepared(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        self.flush_savepoint()?;
        let client = &self.client;
        let prepared = self.rt.block_on(client.prepare(sql));
        let st = self.note(prepared)?;
        self.statements.insert(sql, st.clone());
        Ok(st)
    }

    fn statement(&mut self, sql: Stmt<'_>) -> Result<Statement> {
        match sql {
            Stmt::Static(s) => self.prepared(s),
            Stmt::Once(s) => {
                self.flush_savepoint()?;
                let client = &self.client;
                let prepared = self.rt.block_on(client.prepare(s));
                self.note(prepared)
            }
        }
    }
}

fn binds<'a>(args: Args<'a>) -> Vec<Bind<'a>> {
    args.iter().map(|a| Bind(a.to_arg())).collect()
}

fn refs<'a>(binds: &'a [Bind<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect()
}

impl Driver for PgConn {
    fn dialect(&self) -> &'static dyn Dialect {
        &sql::Postgres
    }

    fn audit_head_copy(&mut self) -> &mut sql::AuditHead {
        &mut self.head
    }

    fn execute(&mut self, sql: Stmt<'_>, args: Args<'_>) -> Result<u64> {
        let st = self.statement(sql)?;
        let binds = binds(args);
        let refs = refs(&binds);
        let savepoint = self.savepoint.take();
        let out = send(&self.rt, &self.client, savepoint, self.client.execute(&st, &refs));
        self.sent(out)
    }

    fn query(&mut self, sql: Stmt<'_>, args: Args<'_>, each: &mut dyn FnMut(&dyn SqlRow) -> Result<()>) -> Result<()> {
        let st = self.statement(sql)?;
        let binds = binds(args);
        let refs = refs(&binds);
        let savepoint = self.savepoint.take();
        let out = send(&self.rt, &self.client, savepoint, self.client.query(&st, &refs));
        for r in self.sent(out)? {
            each(&PgRow(&r))?;
        }
        Ok(())
    }

    /// Binary COPY inside the open transaction: if a row is refused, the
    /// statement fails and the job's savepoint takes the rest back with it.
    fn bulk_insert_subjects(&mut self, rows: &[SubjectRow]) -> Result<()> {
        let (subjects, keys) = (self.prepared(COPY_SUBJECTS)?, self.prepared(COPY_KEYS)?);
        self.flush_savepoint()?;
        let client = &self.client;
        let copied = self.rt.block_on(async {
            let sink = client.copy_in(&subjects).await?;
            let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, COPY_SUBJECT_TYPES));
            for s in rows {
                writer
                    .as_mut()
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
                    .await?;
            }
            writer.finish().await?;
            let sink = client.copy_in(&keys).await?;
            let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, COPY_KEY_TYPES));
            for s in rows {
                writer.as_mut().write(&[&s.id, &s.wrapped_key]).await?;
            }
            writer.finish().await?;
            Ok(())
        });
        self.note(copied)
    }

    /// One statement per batch: the entries travel as arrays.
    fn bulk_insert_audit(&mut self, entries: &[AuditRow]) -> Result<()> {
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
        let st = self.prepared(
            "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash)
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::uuid[], $6::text[],
                                  $7::text[], $8::text[], $9::text[], $10::bytea[])",
        )?;
        let savepoint = self.savepoint.take();
        let args: [&(dyn ToSql + Sync); 10] =
            [&seq, &at, &actor, &action, &subject, &purpose, &fields, &outcome, &detail, &hash];
        let out = send(&self.rt, &self.client, savepoint, self.client.execute(&st, &args));
        self.sent(out)?;
        Ok(())
    }
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

/// Throwaway databases for tests (this crate's and the HTTP tests of other
/// crates): a fresh database on a server, dropped when its guard is.
#[cfg(feature = "testing")]
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
            let mut client = config.connect()?;
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
        match config(&replaced)?.config.get_dbname() {
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
