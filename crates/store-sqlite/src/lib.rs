//! SQLite behind the [`vigie_store`] seam: the embedded default.
//!
//! One file in the data directory, WAL mode, `synchronous = FULL` (a commit
//! is on disk when it returns), `foreign_keys`, `secure_delete` (erased data
//! does not linger in free pages), a busy timeout so the CLI can work beside
//! a running server, and write transactions begun with `BEGIN IMMEDIATE`
//! (a deferred transaction that later upgrades can fail whatever the timeout).
//! One writer thread batches concurrent writes into group commits.

pub mod raw;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection as Conn, OpenFlags, OptionalExtension, Row, params};
use std::path::{Path, PathBuf};
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

fn err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| "constraint violated".into()))
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// A SQLite database file.
pub struct Sqlite {
    path: PathBuf,
}

impl Sqlite {
    /// Opens (creating if needed) the database and applies pending migrations.
    /// An existing database is checked first (`PRAGMA quick_check`): a damaged one
    /// is refused, never written to.
    pub fn open(path: &Path) -> Result<Sqlite> {
        let db = Sqlite { path: path.to_path_buf() };
        let existed = path.metadata().is_ok_and(|m| m.len() > 0);
        let mut conn = db.raw(true).map_err(|e| damaged(path, &e.to_string()))?;
        if existed {
            db.check(&conn, "quick_check")?;
        }
        migrate(&mut conn)?;
        Ok(db)
    }

    /// A handle on a database file without opening it (restore replaces a missing or damaged one).
    pub fn unopened(path: &Path) -> Sqlite {
        Sqlite { path: path.to_path_buf() }
    }

    /// Runs `PRAGMA quick_check` or `integrity_check`; a damaged database is an error naming the file.
    pub fn check(&self, conn: &Conn, pragma: &str) -> Result<()> {
        let mut st = conn.prepare(&format!("PRAGMA {pragma}")).map_err(|e| damaged(&self.path, &e.to_string()))?;
        let lines: Vec<String> = st
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| damaged(&self.path, &e.to_string()))?;
        if lines.len() == 1 && lines[0] == "ok" {
            return Ok(());
        }
        let first: Vec<&str> = lines.iter().take(3).map(String::as_str).collect();
        Err(damaged(&self.path, &format!("{pragma}: {}", first.join("; "))))
    }

    fn raw(&self, write: bool) -> Result<Conn> {
        let flags = if write {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Conn::open_with_flags(&self.path, flags).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON;
             PRAGMA cache_size = -131072;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(err)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn lock_file(&self) -> Result<std::fs::File> {
        let mut p = self.path.as_os_str().to_owned();
        p.push(".lock");
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(p))
            .map_err(|e| StoreError::Backend(format!("cannot open the instance lock: {e}")))
    }

    /// The raw connection, for the benchmark's baseline only.
    pub fn raw_connection(&self) -> Result<Conn> {
        self.raw(true)
    }
}

fn damaged(path: &Path, why: &str) -> StoreError {
    StoreError::Backend(format!(
        "the database {} is damaged ({why}): Vigie will not run on it. Restore it from a backup \
         (vigie restore FILE, the server stopped)",
        path.display()
    ))
}

fn migrate(conn: &mut Conn) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(err)?;
    for (version, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let done: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| r.get(0))
            .map_err(err)?;
        if !done {
            tx.execute_batch(sql).map_err(err)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, Utc::now()],
            )
            .map_err(err)?;
            tracing::info!(version, "applied SQLite migration");
        }
        tx.commit().map_err(err)?;
    }
    Ok(())
}

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn connect(&self, write: bool) -> Result<Box<dyn Connection>> {
        Ok(Box::new(SqliteConn { conn: self.raw(write)? }))
    }
    /// Copies the WAL into the database file and truncates it: with
    /// `secure_delete`, the pages of erased rows are then zeroed everywhere.
    fn compact(&self) -> Result<()> {
        let conn = self.raw(true)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(err)
    }

    /// `VACUUM INTO`: a consistent, compact copy made inside one read transaction,
    /// without free pages (nothing erased is carried into the copy).
    fn backup(&self, out: &Path) -> Result<()> {
        if out.exists() {
            return Err(StoreError::Backend(format!(
                "{} already exists: Vigie never overwrites a file",
                out.display()
            )));
        }
        let conn = self.raw(false)?;
        let target = out.to_str().ok_or_else(|| StoreError::Backend("the backup path is not UTF-8".into()))?;
        conn.execute("VACUUM INTO ?1", [target]).map_err(err)?;
        std::fs::File::open(out).and_then(|f| f.sync_all()).map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(())
    }

    fn backup_info(&self, file: &Path) -> Result<vigie_store::BackupInfo> {
        let not_one =
            |why: String| StoreError::Backend(format!("{} is not a Vigie SQLite backup: {why}", file.display()));
        let mut magic = [0u8; 16];
        std::io::Read::read_exact(&mut std::fs::File::open(file).map_err(|e| not_one(e.to_string()))?, &mut magic)
            .map_err(|e| not_one(e.to_string()))?;
        if &magic != b"SQLite format 3\0" {
            return Err(not_one(
                "it is not a SQLite database (a PostgreSQL backup restores only to PostgreSQL)".into(),
            ));
        }
        let conn = Conn::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| not_one(e.to_string()))?;
        let backup = Sqlite { path: file.to_path_buf() };
        backup.check(&conn, "quick_check")?;
        let read = || -> rusqlite::Result<vigie_store::BackupInfo> {
            let mut st = conn.prepare("SELECT key, value FROM meta ORDER BY key")?;
            let meta = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            let schema_version = conn.query_row("SELECT max(version) FROM schema_migrations", [], |r| r.get(0))?;
            let (head_seq, head_hash) =
                conn.query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(vigie_store::BackupInfo { meta, schema_version, head_seq, head_hash })
        };
        read().map_err(|e| not_one(e.to_string()))
    }

    /// Copies the backup beside the database, syncs it, and renames it over the
    /// database (the journal files of the old one removed first): a crash leaves
    /// either the old database or the restored one.
    fn restore(&self, file: &Path) -> Result<()> {
        let io = |e: std::io::Error| StoreError::Backend(format!("restore: {e}"));
        let staged = self.path.with_extension("db.restoring");
        let _ = std::fs::remove_file(&staged);
        std::fs::copy(file, &staged).map_err(io)?;
        std::fs::File::open(&staged).and_then(|f| f.sync_all()).map_err(io)?;
        for suffix in ["-wal", "-shm"] {
            let mut p = self.path.as_os_str().to_owned();
            p.push(suffix);
            match std::fs::remove_file(PathBuf::from(p)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        std::fs::rename(&staged, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(())
    }

    /// A shared lock on `vigie.db.lock` beside the database (servers share it; restore needs it alone).
    fn instance_lock(&self) -> Result<Box<dyn Send>> {
        let file = self.lock_file()?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Box::new(file)),
            Err(_) => Err(StoreError::Backend(format!(
                "a restore is running on {}: start the server once it is done",
                self.path.display()
            ))),
        }
    }

    fn instance_running(&self) -> Result<bool> {
        let file = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                Ok(false)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(true),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Backend(e.to_string())),
        }
    }

    /// The full `integrity_check` (`vigie check`).
    fn integrity_check(&self) -> Result<()> {
        let conn = self.raw(false)?;
        self.check(&conn, "integrity_check")
    }

    fn workers(&self) -> WorkerConfig {
        // SQLite has one writer at a time: one thread, large group commits.
        WorkerConfig { writers: 1, readers: 2, max_batch: 512 }
    }
}

struct SqliteConn {
    conn: Conn,
}

impl Connection for SqliteConn {
    fn begin(&mut self, write: bool) -> Result<()> {
        self.conn.execute_batch(if write { "BEGIN IMMEDIATE" } else { "BEGIN DEFERRED" }).map_err(err)
    }
    fn commit(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(err)
    }
    fn rollback(&mut self) -> Result<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(err)
    }
    fn savepoint(&mut self) -> Result<()> {
        self.conn.execute_batch("SAVEPOINT job").map_err(err)
    }
    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.conn.execute_batch("ROLLBACK TO job").map_err(err)
    }
    fn release_savepoint(&mut self) -> Result<()> {
        self.conn.execute_batch("RELEASE job").map_err(err)
    }
    fn tx(&mut self) -> &mut dyn Tx {
        self
    }
}

fn kind(s: &str) -> rusqlite::Result<SubjectKind> {
    s.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn subject_row(r: &Row<'_>) -> rusqlite::Result<SubjectRow> {
    Ok(SubjectRow {
        id: r.get(0)?,
        kind: kind(&r.get::<_, String>(1)?)?,
        collected_at: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
        email_bi: r.get(5)?,
        phone_bi: r.get(6)?,
        identity: r.get(7)?,
        wrapped_key: r.get(8)?,
        retention_rule: r.get(9)?,
        basis_date: r.get(10)?,
        expires_on: r.get(11)?,
        legal_hold: r.get(12)?,
        held_at: r.get(13)?,
    })
}

fn due_row(r: &Row<'_>) -> rusqlite::Result<DueRow> {
    Ok(DueRow {
        id: r.get(0)?,
        kind: kind(&r.get::<_, String>(1)?)?,
        rule: r.get(2)?,
        basis_date: r.get(3)?,
        expires_on: r.get(4)?,
    })
}

const MESSAGE_COLUMNS: &str = "id, idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at, created_at, sent_at, last_error";

fn message_row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        subject_id: r.get(2)?,
        recipient: r.get(3)?,
        template: r.get(4)?,
        params: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        created_at: r.get(9)?,
        sent_at: r.get(10)?,
        last_error: r.get(11)?,
    })
}

/// An SQL list of subject kinds: fixed tokens, never input.
fn kinds_sql(kinds: &[SubjectKind]) -> String {
    let list: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
    if list.is_empty() { "NULL".into() } else { list.join(", ") }
}

const REQUEST_COLUMNS: &str = "id, kind, channel, received_on, due_on, extended_due_on, status, subject_id, requester_bi, \
    requester, identity_document, identity_decision, identity_at, extension_reason, outcome, response, wrapped_key, \
    created_at, updated_at, completed_at";

fn request_row(r: &Row<'_>) -> rusqlite::Result<RequestRow> {
    Ok(RequestRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        channel: r.get(2)?,
        received_on: r.get(3)?,
        due_on: r.get(4)?,
        extended_due_on: r.get(5)?,
        status: r.get(6)?,
        subject_id: r.get(7)?,
        requester_bi: r.get(8)?,
        requester: r.get(9)?,
        identity_document: r.get(10)?,
        identity_decision: r.get(11)?,
        identity_at: r.get(12)?,
        extension_reason: r.get(13)?,
        outcome: r.get(14)?,
        response: r.get(15)?,
        wrapped_key: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
        completed_at: r.get(19)?,
    })
}

const BREACH_COLUMNS: &str = "id, detected_at, nature, data_categories, scope, risk, status, keys_compromised, \
    subjects_concerned, records_concerned, details, wrapped_key, created_at, updated_at";

fn breach_row(r: &Row<'_>) -> rusqlite::Result<BreachRow> {
    Ok(BreachRow {
        id: r.get(0)?,
        detected_at: r.get(1)?,
        nature: r.get(2)?,
        data_categories: r.get(3)?,
        scope: r.get(4)?,
        risk: r.get(5)?,
        status: r.get(6)?,
        keys_compromised: r.get(7)?,
        subjects_concerned: r.get(8)?,
        records_concerned: r.get(9)?,
        details: r.get(10)?,
        wrapped_key: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

/// The WHERE clause (over `subjects s`) of a breach scope, with its parameters in order.
fn scope_sql(f: &ScopeFilter) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let marks = |n: usize| vec!["?"; n].join(", ");
    if !f.subject_ids.is_empty() {
        clauses.push(format!("s.id IN ({})", marks(f.subject_ids.len())));
        values.extend(f.subject_ids.iter().map(|id| Box::new(*id) as Box<dyn rusqlite::ToSql>));
    }
    if !f.kinds.is_empty() {
        clauses.push(format!("s.kind IN ({})", kinds_sql(&f.kinds)));
    }
    if let Some(from) = f.collected_from {
        clauses.push("s.collected_at >= ?".into());
        values.push(Box::new(from));
    }
    if let Some(to) = f.collected_to {
        clauses.push("s.collected_at <= ?".into());
        values.push(Box::new(to));
    }
    let window = |column: &str, values: &mut Vec<Box<dyn rusqlite::ToSql>>| {
        let mut w = String::new();
        if let Some(from) = f.window_from {
            w.push_str(&format!(" AND {column} >= ?"));
            values.push(Box::new(from));
        }
        if let Some(to) = f.window_to {
            w.push_str(&format!(" AND {column} <= ?"));
            values.push(Box::new(to));
        }
        w
    };
    if let Some(r) = &f.recipient {
        values.push(Box::new(r.clone()));
        let w = window("at", &mut values);
        clauses.push(format!("s.id IN (SELECT subject_id FROM disclosures WHERE recipient = ?{w})"));
    }
    if let Some(a) = &f.actor {
        values.push(Box::new(a.clone()));
        let w = window("at", &mut values);
        clauses.push(format!("s.id IN (SELECT subject_id FROM audit WHERE actor = ? AND subject_id IS NOT NULL{w})"));
    }
    let clause = if clauses.is_empty() { "1 = 1".to_string() } else { clauses.join(" AND ") };
    (clause, values)
}

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
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
    })
}

impl SqliteConn {
    fn ids(&mut self, sql: &str, key: &[u8]) -> Result<Vec<Id>> {
        let mut st = self.conn.prepare_cached(sql).map_err(err)?;
        let rows = st.query_map([key], |r| r.get(0)).map_err(err)?;
        rows.collect::<rusqlite::Result<Vec<Id>>>().map_err(err)
    }

    fn insert_subject_rows(&mut self, rows: &[SubjectRow]) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity,
                                       retention_rule, basis_date, expires_on, legal_hold, held_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .map_err(err)?;
        let mut keys =
            self.conn.prepare_cached("INSERT INTO subject_keys (subject_id, wrapped) VALUES (?1, ?2)").map_err(err)?;
        for s in rows {
            st.execute(params![
                s.id,
                s.kind.as_str(),
                s.collected_at,
                s.created_at,
                s.updated_at,
                s.email_bi,
                s.phone_bi,
                s.identity,
                s.retention_rule,
                s.basis_date,
                s.expires_on,
                s.legal_hold,
                s.held_at
            ])
            .map_err(err)?;
            keys.execute(params![s.id, s.wrapped_key]).map_err(err)?;
        }
        Ok(())
    }
}

impl Tx for SqliteConn {
    fn insert_subject(&mut self, s: &SubjectRow) -> Result<()> {
        self.insert_subject_rows(std::slice::from_ref(s))
    }

    fn insert_subjects(&mut self, rows: &[SubjectRow]) -> Result<()> {
        self.insert_subject_rows(rows)
    }

    fn subject(&mut self, id: Id) -> Result<Option<SubjectRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT s.id, s.kind, s.collected_at, s.created_at, s.updated_at, s.email_bi, s.phone_bi, s.identity, k.wrapped,
                        s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, s.held_at
                 FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = ?1",
            )
            .map_err(err)?;
        st.query_row([id], subject_row).optional().map_err(err)
    }

    fn subjects_by_email(&mut self, email_bi: &[u8]) -> Result<Vec<Id>> {
        self.ids("SELECT id FROM subjects WHERE email_bi = ?1 ORDER BY id", email_bi)
    }

    fn subjects_by_phone(&mut self, phone_bi: &[u8]) -> Result<Vec<Id>> {
        self.ids("SELECT id FROM subjects WHERE phone_bi = ?1 ORDER BY id", phone_bi)
    }

    fn set_subject_kind(&mut self, id: Id, kind: SubjectKind, at: DateTime<Utc>) -> Result<()> {
        let n = self
            .conn
            .prepare_cached("UPDATE subjects SET kind = ?2, updated_at = ?3 WHERE id = ?1")
            .and_then(|mut st| st.execute(params![id, kind.as_str(), at]))
            .map_err(err)?;
        if n == 0 { Err(StoreError::NotFound(format!("subject {id}"))) } else { Ok(()) }
    }

    fn count_subjects(&mut self) -> Result<i64> {
        self.conn.query_row("SELECT count(*) FROM subjects", [], |r| r.get(0)).map_err(err)
    }

    fn count_subjects_by(&mut self, group: StatGroup) -> Result<Vec<GroupCount>> {
        let sql = match group {
            StatGroup::Kind => "SELECT kind, count(*) FROM subjects GROUP BY 1 ORDER BY 1",
            StatGroup::CollectedYear => {
                "SELECT substr(collected_at, 1, 4), count(*) FROM subjects GROUP BY 1 ORDER BY 1"
            }
        };
        let mut st = self.conn.prepare_cached(sql).map_err(err)?;
        let rows = st.query_map([], |r| Ok(GroupCount { group: r.get(0)?, count: r.get(1)? })).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn set_retention(
        &mut self,
        id: Id,
        rule: &str,
        basis: Option<NaiveDate>,
        expires: Option<NaiveDate>,
    ) -> Result<()> {
        let n = self
            .conn
            .prepare_cached("UPDATE subjects SET retention_rule = ?2, basis_date = ?3, expires_on = ?4 WHERE id = ?1")
            .and_then(|mut st| st.execute(params![id, rule, basis, expires]))
            .map_err(err)?;
        if n == 0 { Err(StoreError::NotFound(format!("subject {id}"))) } else { Ok(()) }
    }

    fn set_legal_hold(&mut self, id: Id, hold: Option<(&[u8], DateTime<Utc>)>) -> Result<()> {
        let (reason, at) = hold.map_or((None, None), |(r, a)| (Some(r), Some(a)));
        let n = self
            .conn
            .prepare_cached("UPDATE subjects SET legal_hold = ?2, held_at = ?3 WHERE id = ?1")
            .and_then(|mut st| st.execute(params![id, reason, at]))
            .map_err(err)?;
        if n == 0 { Err(StoreError::NotFound(format!("subject {id}"))) } else { Ok(()) }
    }

    fn insert_hold_event(&mut self, e: &HoldEventRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO legal_hold_events (id, subject_id, action, reason, at, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| st.execute(params![e.id, e.subject_id, e.action, e.reason, e.at, e.actor]))
            .map_err(err)?;
        Ok(())
    }

    fn hold_events(&mut self, subject: Id) -> Result<Vec<HoldEventRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, subject_id, action, reason, at, actor FROM legal_hold_events WHERE subject_id = ?1 ORDER BY at, id",
            )
            .map_err(err)?;
        let rows = st
            .query_map([subject], |r| {
                Ok(HoldEventRow {
                    id: r.get(0)?,
                    subject_id: r.get(1)?,
                    action: r.get(2)?,
                    reason: r.get(3)?,
                    at: r.get(4)?,
                    actor: r.get(5)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn due(&mut self, at: NaiveDate, limit: i64) -> Result<Vec<DueRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, kind, retention_rule, basis_date, expires_on FROM subjects
                 WHERE expires_on < ?1 AND legal_hold IS NULL ORDER BY expires_on, id LIMIT ?2",
            )
            .map_err(err)?;
        let rows = st.query_map(params![at, limit], due_row).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn count_due(&mut self, at: NaiveDate) -> Result<i64> {
        self.conn
            .prepare_cached("SELECT count(*) FROM subjects WHERE expires_on < ?1 AND legal_hold IS NULL")
            .and_then(|mut st| st.query_row(params![at], |r| r.get(0)))
            .map_err(err)
    }

    fn held_due(&mut self, at: NaiveDate) -> Result<Vec<HeldRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT s.id, s.kind, s.retention_rule, s.basis_date, s.expires_on, s.legal_hold, k.wrapped, s.held_at
                 FROM subjects s JOIN subject_keys k ON k.subject_id = s.id
                 WHERE s.expires_on < ?1 AND s.legal_hold IS NOT NULL ORDER BY s.expires_on, s.id",
            )
            .map_err(err)?;
        let rows = st
            .query_map(params![at], |r| {
                Ok(HeldRow { due: due_row(r)?, reason: r.get(5)?, wrapped_key: r.get(6)?, held_at: r.get(7)? })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn count_expiring_by_month(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<GroupCount>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT substr(expires_on, 1, 7), count(*) FROM subjects
                 WHERE expires_on >= ?1 AND expires_on < ?2 AND legal_hold IS NULL GROUP BY 1 ORDER BY 1",
            )
            .map_err(err)?;
        let rows =
            st.query_map(params![from, to], |r| Ok(GroupCount { group: r.get(0)?, count: r.get(1)? })).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn erase_subject(&mut self, id: Id, rule: &str, at: DateTime<Utc>) -> Result<bool> {
        let kind: Option<String> = self
            .conn
            .prepare_cached("SELECT kind FROM subjects WHERE id = ?1")
            .and_then(|mut st| st.query_row([id], |r| r.get(0)).optional())
            .map_err(err)?;
        let Some(kind) = kind else { return Ok(false) };
        for sql in [
            "DELETE FROM subject_keys WHERE subject_id = ?1",
            "DELETE FROM contracts WHERE subject_id = ?1",
            "DELETE FROM interactions WHERE subject_id = ?1",
            "DELETE FROM consents WHERE subject_id = ?1",
            "DELETE FROM objections WHERE subject_id = ?1",
            "DELETE FROM legal_hold_events WHERE subject_id = ?1",
            "DELETE FROM disclosures WHERE subject_id = ?1",
            "DELETE FROM outbox WHERE subject_id = ?1",
            // What requests held of the subject dies with it: identity documents, the requester's
            // details and the response (their key is destroyed); the proof record remains.
            "DELETE FROM identity_documents WHERE request_id IN (SELECT id FROM requests WHERE subject_id = ?1)",
            "UPDATE requests SET requester = x'', wrapped_key = x'', response = NULL, extension_reason = NULL,
                    requester_bi = NULL WHERE subject_id = ?1",
            "DELETE FROM subjects WHERE id = ?1",
        ] {
            self.conn.prepare_cached(sql).and_then(|mut st| st.execute([id])).map_err(err)?;
        }
        self.conn
            .prepare_cached("INSERT INTO erasures (subject_id, erased_at, kind, rule) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut st| st.execute(params![id, at, kind, rule]))
            .map_err(err)?;
        self.conn
            .prepare_cached(
                "INSERT INTO erased_counts (month, kind, rule, count) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (month, kind, rule) DO UPDATE SET count = count + 1",
            )
            .and_then(|mut st| st.execute(params![at.format("%Y-%m").to_string(), kind, rule]))
            .map_err(err)?;
        Ok(true)
    }

    fn erase_if_due(&mut self, id: Id, rule: &str, at: DateTime<Utc>, due_at: NaiveDate) -> Result<bool> {
        // One writer: the check and the erasure run under the database's write lock.
        let due: bool = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM subjects s WHERE s.id = ?1 AND s.expires_on < ?2 AND s.legal_hold IS NULL
                   AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.subject_id = s.id
                                   AND r.status IN ('awaiting_identity', 'in_progress')))",
            )
            .and_then(|mut st| st.query_row(params![id, due_at], |r| r.get(0)))
            .map_err(err)?;
        if !due {
            return Ok(false);
        }
        self.erase_subject(id, rule, at)
    }

    fn to_review(&mut self, limit: i64) -> Result<Vec<ReviewRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, collected_at FROM subjects WHERE retention_rule = 'client_without_contract'
                 ORDER BY collected_at, id LIMIT ?1",
            )
            .map_err(err)?;
        let rows = st.query_map([limit], |r| Ok(ReviewRow { id: r.get(0)?, collected_at: r.get(1)? })).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn count_to_review(&mut self) -> Result<i64> {
        self.conn
            .prepare_cached("SELECT count(*) FROM subjects WHERE retention_rule = 'client_without_contract'")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(err)
    }

    fn open_request_subjects(&mut self) -> Result<Vec<(Id, Id)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, subject_id FROM requests
                 WHERE subject_id IS NOT NULL AND status IN ('awaiting_identity', 'in_progress') ORDER BY id",
            )
            .map_err(err)?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn scope_due(&mut self, f: &ScopeFilter, at: NaiveDate) -> Result<Vec<DueRow>> {
        let (clause, mut values) = scope_sql(f);
        values.push(Box::new(at));
        let sql = format!(
            "SELECT s.id, s.kind, s.retention_rule, s.basis_date, s.expires_on FROM subjects s
             WHERE ({clause}) AND s.expires_on < ? AND s.legal_hold IS NULL ORDER BY s.expires_on, s.id"
        );
        let mut st = self.conn.prepare(&sql).map_err(err)?;
        let rows = st.query_map(rusqlite::params_from_iter(values.iter().map(|v| v.as_ref())), due_row).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn erasures_since(&mut self, since: DateTime<Utc>, limit: i64) -> Result<Vec<ErasureRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT subject_id, erased_at, kind, rule FROM erasures WHERE erased_at >= ?1
                 ORDER BY erased_at, subject_id LIMIT ?2",
            )
            .map_err(err)?;
        let rows = st
            .query_map(params![since, limit], |r| {
                Ok(ErasureRow {
                    subject_id: r.get(0)?,
                    erased_at: r.get(1)?,
                    kind: kind(&r.get::<_, String>(2)?)?,
                    rule: r.get(3)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn erasure(&mut self, id: Id) -> Result<Option<ErasureRow>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT subject_id, erased_at, kind, rule FROM erasures WHERE subject_id = ?1")
            .map_err(err)?;
        st.query_row([id], |r| {
            Ok(ErasureRow {
                subject_id: r.get(0)?,
                erased_at: r.get(1)?,
                kind: kind(&r.get::<_, String>(2)?)?,
                rule: r.get(3)?,
            })
        })
        .optional()
        .map_err(err)
    }

    fn erased_counts(&mut self) -> Result<Vec<GroupCount>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT month || '|' || kind || '|' || rule, count FROM erased_counts ORDER BY 1")
            .map_err(err)?;
        let rows = st.query_map([], |r| Ok(GroupCount { group: r.get(0)?, count: r.get(1)? })).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn insert_safeguard(&mut self, g: &SafeguardRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO safeguards (id, recipient, kind, signed_on, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| st.execute(params![g.id, g.recipient, g.kind, g.signed_on, g.recorded_at]))
            .map_err(err)?;
        Ok(())
    }

    fn safeguards(&mut self) -> Result<Vec<SafeguardRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, recipient, kind, signed_on, recorded_at FROM safeguards ORDER BY recipient, signed_on, id",
            )
            .map_err(err)?;
        let rows = st
            .query_map([], |r| {
                Ok(SafeguardRow {
                    id: r.get(0)?,
                    recipient: r.get(1)?,
                    kind: r.get(2)?,
                    signed_on: r.get(3)?,
                    recorded_at: r.get(4)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn activate_transfer(&mut self, recipient: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO transfer_activations (recipient, activated_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut st| st.execute(params![recipient, at]))
            .map_err(err)?;
        Ok(n == 1)
    }

    fn transfer_activations(&mut self) -> Result<Vec<(String, DateTime<Utc>)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT recipient, activated_at FROM transfer_activations ORDER BY recipient")
            .map_err(err)?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn disclosures_for_recipient(&mut self, recipient: &str, limit: i64) -> Result<Vec<DisclosureRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, at, recipient, subject_id, fields, purpose, token_id FROM disclosures
                 WHERE recipient = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
            )
            .map_err(err)?;
        let rows = st
            .query_map(params![recipient, limit], |r| {
                Ok(DisclosureRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    recipient: r.get(2)?,
                    subject_id: r.get(3)?,
                    fields: r.get(4)?,
                    purpose: r.get(5)?,
                    token_id: r.get(6)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn queue_message(&mut self, m: &NewMessage) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6) ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .and_then(|mut st| st.execute(params![m.idempotency_key, m.subject_id, m.recipient, m.template, m.params, m.at]))
            .map_err(err)?;
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
        let sql = format!(
            "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at, created_at)
             SELECT ?1 || lower(hex(id)), id, NULL, ?2, ?3, 'pending', 0, ?4, ?4 FROM subjects WHERE kind IN ({}) AND email_bi IS NOT NULL
             ON CONFLICT (idempotency_key) DO NOTHING",
            kinds_sql(kinds)
        );
        let n = self.conn.execute(&sql, params![key_prefix, template, params, at]).map_err(err)?;
        Ok(n as u64)
    }

    fn claim_messages(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        let sql = format!(
            "UPDATE outbox SET lease_until = ?2 WHERE id IN (
                 SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1
                 AND (lease_until IS NULL OR lease_until < ?1) ORDER BY id LIMIT ?3)
             RETURNING {MESSAGE_COLUMNS}"
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(err)?;
        let rows = st.query_map(params![now, lease_until, limit], message_row).map_err(err)?;
        let mut out = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)?;
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    fn mark_sent(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1, lease_until = NULL WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(params![id, at]))
            .map_err(err)?;
        Ok(())
    }

    fn mark_failed(&mut self, id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, lease_until = NULL,
                 status = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END,
                 next_attempt_at = COALESCE(?3, next_attempt_at) WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(params![id, error, retry_at]))
            .map_err(err)?;
        Ok(())
    }

    fn messages_for_subject(&mut self, subject: Id) -> Result<Vec<MessageRow>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE subject_id = ?1 ORDER BY id");
        let mut st = self.conn.prepare_cached(&sql).map_err(err)?;
        let rows = st.query_map([subject], message_row).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn messages(&mut self, status: Option<&str>, limit: i64) -> Result<Vec<MessageRow>> {
        let sql =
            format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2");
        let mut st = self.conn.prepare_cached(&sql).map_err(err)?;
        let rows = st.query_map(params![status, limit], message_row).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn count_messages(&mut self, template: &str, params: &str) -> Result<(i64, i64)> {
        self.conn
            .prepare_cached(
                "SELECT count(*), coalesce(sum(CASE WHEN status = 'sent' THEN 0 ELSE 1 END), 0) FROM outbox
                 WHERE template = ?1 AND params = ?2",
            )
            .and_then(|mut st| st.query_row(params![template, params], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(err)
    }

    fn insert_policy_version(&mut self, v: &PolicyVersionRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO policy_versions (version, text, effective_date, status, uploaded_at, activated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| {
                st.execute(params![v.version, v.text, v.effective_date, v.status, v.uploaded_at, v.activated_at])
            })
            .map_err(err)?;
        Ok(())
    }

    fn policy_versions(&mut self) -> Result<Vec<PolicyVersionRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT version, text, effective_date, status, uploaded_at, activated_at FROM policy_versions
                 ORDER BY uploaded_at, version",
            )
            .map_err(err)?;
        let rows = st
            .query_map([], |r| {
                Ok(PolicyVersionRow {
                    version: r.get(0)?,
                    text: r.get(1)?,
                    effective_date: r.get(2)?,
                    status: r.get(3)?,
                    uploaded_at: r.get(4)?,
                    activated_at: r.get(5)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn set_policy_status(&mut self, version: &str, status: &str, at: DateTime<Utc>) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE policy_versions SET status = ?2,
                 activated_at = CASE WHEN ?2 = 'active' THEN ?3 ELSE activated_at END WHERE version = ?1",
            )
            .and_then(|mut st| st.execute(params![version, status, at]))
            .map_err(err)?;
        if n == 0 { Err(StoreError::NotFound(format!("policy version {version}"))) } else { Ok(()) }
    }

    fn insert_request(&mut self, r: &RequestRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO requests (id, kind, channel, received_on, due_on, extended_due_on, status, subject_id, requester_bi,
                     requester, identity_document, identity_decision, identity_at, extension_reason, outcome, response,
                     wrapped_key, created_at, updated_at, completed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    r.id,
                    r.kind,
                    r.channel,
                    r.received_on,
                    r.due_on,
                    r.extended_due_on,
                    r.status,
                    r.subject_id,
                    r.requester_bi,
                    r.requester,
                    r.identity_document,
                    r.identity_decision,
                    r.identity_at,
                    r.extension_reason,
                    r.outcome,
                    r.response,
                    r.wrapped_key,
                    r.created_at,
                    r.updated_at,
                    r.completed_at
                ])
            })
            .map_err(err)?;
        Ok(())
    }

    fn update_request(&mut self, r: &RequestRow) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE requests SET due_on = ?2, extended_due_on = ?3, status = ?4, subject_id = ?5, identity_document = ?6,
                     identity_decision = ?7, identity_at = ?8, extension_reason = ?9, outcome = ?10, response = ?11,
                     updated_at = ?12, completed_at = ?13, requester = ?14
                 WHERE id = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    r.id,
                    r.due_on,
                    r.extended_due_on,
                    r.status,
                    r.subject_id,
                    r.identity_document,
                    r.identity_decision,
                    r.identity_at,
                    r.extension_reason,
                    r.outcome,
                    r.response,
                    r.updated_at,
                    r.completed_at,
                    r.requester
                ])
            })
            .map_err(err)?;
        if n == 0 { Err(StoreError::NotFound(format!("request {}", r.id))) } else { Ok(()) }
    }

    fn request(&mut self, id: Id) -> Result<Option<RequestRow>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1");
        let mut st = self.conn.prepare_cached(&sql).map_err(err)?;
        st.query_row([id], request_row).optional().map_err(err)
    }

    fn requests(&mut self, limit: i64) -> Result<Vec<RequestRow>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests ORDER BY coalesce(extended_due_on, due_on), received_on, id LIMIT ?1"
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(err)?;
        let rows = st.query_map([limit], request_row).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn put_identity_document(
        &mut self,
        request: Id,
        sealed: &[u8],
        content_type: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO identity_documents (request_id, content, content_type, uploaded_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (request_id) DO UPDATE SET content = excluded.content, content_type = excluded.content_type,
                 uploaded_at = excluded.uploaded_at",
            )
            .and_then(|mut st| st.execute(params![request, sealed, content_type, at]))
            .map_err(err)?;
        Ok(())
    }

    fn delete_identity_document(&mut self, request: Id) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM identity_documents WHERE request_id = ?1")
            .and_then(|mut st| st.execute([request]))
            .map_err(err)?;
        Ok(n == 1)
    }

    fn has_identity_document(&mut self, request: Id) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM identity_documents WHERE request_id = ?1)")
            .and_then(|mut st| st.query_row([request], |r| r.get(0)))
            .map_err(err)
    }

    fn suppress(&mut self, email_bi: &[u8], reason: &str, at: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO suppression (email_bi, added_at, reason) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut st| st.execute(params![email_bi, at, reason]))
            .map_err(err)?;
        Ok(n == 1)
    }

    fn is_suppressed(&mut self, email_bi: &[u8]) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM suppression WHERE email_bi = ?1)")
            .and_then(|mut st| st.query_row([email_bi], |r| r.get(0)))
            .map_err(err)
    }

    fn count_suppressed(&mut self) -> Result<i64> {
        self.conn.query_row("SELECT count(*) FROM suppression", [], |r| r.get(0)).map_err(err)
    }

    fn update_identity(
        &mut self,
        id: Id,
        identity: &[u8],
        email_bi: Option<&[u8]>,
        phone_bi: Option<&[u8]>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE subjects SET identity = ?2, email_bi = ?3, phone_bi = ?4, updated_at = ?5 WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(params![id, identity, email_bi, phone_bi, at]))
            .map_err(err)?;
        if n == 0 { Err(StoreError::NotFound(format!("subject {id}"))) } else { Ok(()) }
    }

    fn rekey_subject(&mut self, r: &vigie_store::Rekeyed, at: DateTime<Utc>) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE subjects SET identity = ?2, email_bi = ?3, phone_bi = ?4, legal_hold = ?5, updated_at = ?6 WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(params![r.id, r.identity, r.email_bi, r.phone_bi, r.legal_hold, at]))
            .map_err(err)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("subject {}", r.id)));
        }
        let one = |conn: &Conn, sql: &str, a: &dyn rusqlite::ToSql, b: &dyn rusqlite::ToSql| {
            conn.prepare_cached(sql).and_then(|mut st| st.execute([a, b])).map(|_| ()).map_err(err)
        };
        one(&self.conn, "UPDATE subject_keys SET wrapped = ?2 WHERE subject_id = ?1", &r.id, &r.wrapped_key)?;
        for (id, v) in &r.contracts {
            one(&self.conn, "UPDATE contracts SET reference = ?2 WHERE id = ?1", id, v)?;
        }
        for (id, v) in &r.interactions {
            one(&self.conn, "UPDATE interactions SET summary = ?2 WHERE id = ?1", id, v)?;
        }
        for (id, v) in &r.consents {
            one(&self.conn, "UPDATE consents SET evidence = ?2 WHERE id = ?1", id, v)?;
        }
        for (id, v) in &r.hold_events {
            one(&self.conn, "UPDATE legal_hold_events SET reason = ?2 WHERE id = ?1", id, v)?;
        }
        Ok(())
    }

    fn delete_closed_requests(&mut self, before: DateTime<Utc>) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM requests WHERE completed_at IS NOT NULL AND completed_at < ?1")
            .and_then(|mut st| st.execute([before]))
            .map_err(err)?;
        Ok(n as u64)
    }

    fn delete_interactions(&mut self, subject: Id) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM interactions WHERE subject_id = ?1")
            .and_then(|mut st| st.execute([subject]))
            .map_err(err)?;
        Ok(n as u64)
    }

    fn insert_breach(&mut self, b: &BreachRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO breaches (id, detected_at, nature, data_categories, scope, risk, status, keys_compromised,
                     subjects_concerned, records_concerned, details, wrapped_key, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    b.id,
                    b.detected_at,
                    b.nature,
                    b.data_categories,
                    b.scope,
                    b.risk,
                    b.status,
                    b.keys_compromised,
                    b.subjects_concerned,
                    b.records_concerned,
                    b.details,
                    b.wrapped_key,
                    b.created_at,
                    b.updated_at
                ])
            })
            .map_err(err)?;
        Ok(())
    }

    fn update_breach(&mut self, b: &BreachRow) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE breaches SET nature = ?2, data_categories = ?3, scope = ?4, risk = ?5, status = ?6, keys_compromised = ?7,
                     subjects_concerned = ?8, records_concerned = ?9, details = ?10, updated_at = ?11 WHERE id = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    b.id,
                    b.nature,
                    b.data_categories,
                    b.scope,
                    b.risk,
                    b.status,
                    b.keys_compromised,
                    b.subjects_concerned,
                    b.records_concerned,
                    b.details,
                    b.updated_at
                ])
            })
            .map_err(err)?;
        if n == 0 { Err(StoreError::NotFound(format!("breach {}", b.id))) } else { Ok(()) }
    }

    fn breach(&mut self, id: Id) -> Result<Option<BreachRow>> {
        let sql = format!("SELECT {BREACH_COLUMNS} FROM breaches WHERE id = ?1");
        let mut st = self.conn.prepare_cached(&sql).map_err(err)?;
        st.query_row([id], breach_row).optional().map_err(err)
    }

    fn breaches(&mut self) -> Result<Vec<BreachRow>> {
        let sql = format!("SELECT {BREACH_COLUMNS} FROM breaches ORDER BY detected_at DESC, id");
        let mut st = self.conn.prepare_cached(&sql).map_err(err)?;
        let rows = st.query_map([], breach_row).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn insert_breach_phase(&mut self, p: &BreachPhaseRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO breach_phases (id, breach_id, at, phase, details, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| st.execute(params![p.id, p.breach_id, p.at, p.phase, p.details, p.actor]))
            .map_err(err)?;
        Ok(())
    }

    fn breach_phases(&mut self, breach: Id) -> Result<Vec<BreachPhaseRow>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, breach_id, at, phase, details, actor FROM breach_phases WHERE breach_id = ?1 ORDER BY at, id")
            .map_err(err)?;
        let rows = st
            .query_map([breach], |r| {
                Ok(BreachPhaseRow {
                    id: r.get(0)?,
                    breach_id: r.get(1)?,
                    at: r.get(2)?,
                    phase: r.get(3)?,
                    details: r.get(4)?,
                    actor: r.get(5)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn scope_count(&mut self, f: &ScopeFilter) -> Result<ScopeCount> {
        let (clause, values) = scope_sql(f);
        let sql = format!(
            "WITH scope AS (SELECT s.id FROM subjects s WHERE {clause})
             SELECT (SELECT count(*) FROM scope),
                    (SELECT count(*) FROM contracts WHERE subject_id IN (SELECT id FROM scope)),
                    (SELECT count(*) FROM interactions WHERE subject_id IN (SELECT id FROM scope)),
                    (SELECT count(*) FROM consents WHERE subject_id IN (SELECT id FROM scope))"
        );
        self.conn
            .query_row(&sql, rusqlite::params_from_iter(values.iter().map(|v| v.as_ref())), |r| {
                Ok(ScopeCount {
                    subjects: r.get(0)?,
                    contracts: r.get(1)?,
                    interactions: r.get(2)?,
                    consents: r.get(3)?,
                })
            })
            .map_err(err)
    }

    fn queue_for_scope(
        &mut self,
        f: &ScopeFilter,
        template: &str,
        params: &str,
        key_prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let (clause, scope_values) = scope_sql(f);
        let sql = format!(
            "INSERT INTO outbox (idempotency_key, subject_id, recipient, template, params, status, attempts, next_attempt_at, created_at)
             SELECT ? || lower(hex(s.id)), s.id, NULL, ?, ?, 'pending', 0, ?, ? FROM subjects s
             WHERE ({clause}) AND s.email_bi IS NOT NULL
             ON CONFLICT (idempotency_key) DO NOTHING"
        );
        let mut values: Vec<Box<dyn rusqlite::ToSql>> = vec![
            Box::new(key_prefix.to_string()),
            Box::new(template.to_string()),
            Box::new(params.to_string()),
            Box::new(at),
            Box::new(at),
        ];
        values.extend(scope_values);
        let n = self.conn.execute(&sql, rusqlite::params_from_iter(values.iter().map(|v| v.as_ref()))).map_err(err)?;
        Ok(n as u64)
    }

    fn claim_job(
        &mut self,
        name: &str,
        today: NaiveDate,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        self.conn
            .prepare_cached("INSERT INTO jobs (name) VALUES (?1) ON CONFLICT (name) DO NOTHING")
            .and_then(|mut st| st.execute([name]))
            .map_err(err)?;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE jobs SET lease_until = ?4 WHERE name = ?1
                 AND (lease_until IS NULL OR lease_until < ?3) AND (last_run_on IS NULL OR last_run_on < ?2)",
            )
            .and_then(|mut st| st.execute(params![name, today, now, lease_until]))
            .map_err(err)?;
        Ok(n == 1)
    }

    fn finish_job(&mut self, name: &str, today: NaiveDate) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE jobs SET lease_until = NULL, last_run_on = ?2 WHERE name = ?1")
            .and_then(|mut st| st.execute(params![name, today]))
            .map_err(err)?;
        Ok(())
    }

    fn insert_contract(&mut self, c: &ContractRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO contracts (id, subject_id, reference, start_date, end_date, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| st.execute(params![c.id, c.subject_id, c.reference, c.start, c.end, c.created_at]))
            .map_err(err)?;
        Ok(())
    }

    fn contracts(&mut self, subject: Id) -> Result<Vec<ContractRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, subject_id, reference, start_date, end_date, created_at FROM contracts
                 WHERE subject_id = ?1 ORDER BY start_date, id",
            )
            .map_err(err)?;
        let rows = st
            .query_map([subject], |r| {
                Ok(ContractRow {
                    id: r.get(0)?,
                    subject_id: r.get(1)?,
                    reference: r.get(2)?,
                    start: r.get::<_, NaiveDate>(3)?,
                    end: r.get(4)?,
                    created_at: r.get(5)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn insert_interaction(&mut self, i: &InteractionRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO interactions (id, subject_id, at, direction, channel, summary, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| {
                st.execute(params![i.id, i.subject_id, i.at, i.direction.as_str(), i.channel, i.summary, i.created_at])
            })
            .map_err(err)?;
        Ok(())
    }

    fn interactions(&mut self, subject: Id) -> Result<Vec<InteractionRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, subject_id, at, direction, channel, summary, created_at FROM interactions
                 WHERE subject_id = ?1 ORDER BY at, id",
            )
            .map_err(err)?;
        let rows = st
            .query_map([subject], |r| {
                let direction: String = r.get(3)?;
                Ok(InteractionRow {
                    id: r.get(0)?,
                    subject_id: r.get(1)?,
                    at: r.get(2)?,
                    direction: direction.parse().map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
                    })?,
                    channel: r.get(4)?,
                    summary: r.get(5)?,
                    created_at: r.get(6)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn insert_consent(&mut self, c: &ConsentRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO consents (id, subject_id, purpose, granted, at, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| st.execute(params![c.id, c.subject_id, c.purpose, c.granted, c.at, c.evidence]))
            .map_err(err)?;
        Ok(())
    }

    fn consents(&mut self, subject: Id) -> Result<Vec<ConsentRow>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, subject_id, purpose, granted, at, evidence FROM consents WHERE subject_id = ?1 ORDER BY at, id")
            .map_err(err)?;
        let rows = st
            .query_map([subject], |r| {
                Ok(ConsentRow {
                    id: r.get(0)?,
                    subject_id: r.get(1)?,
                    purpose: r.get(2)?,
                    granted: r.get(3)?,
                    at: r.get(4)?,
                    evidence: r.get(5)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn insert_objection(&mut self, o: &ObjectionRow) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO objections (id, subject_id, purpose, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut st| st.execute(params![o.id, o.subject_id, o.purpose, o.at]))
            .map_err(err)?;
        Ok(n == 1)
    }

    fn objections(&mut self, subject: Id) -> Result<Vec<ObjectionRow>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, subject_id, purpose, at FROM objections WHERE subject_id = ?1 ORDER BY at, id")
            .map_err(err)?;
        let rows = st
            .query_map([subject], |r| {
                Ok(ObjectionRow { id: r.get(0)?, subject_id: r.get(1)?, purpose: r.get(2)?, at: r.get(3)? })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn insert_token(&mut self, t: &TokenRow) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO tokens (id, hash, role, recipient, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .and_then(|mut st| st.execute(params![t.id, t.hash, t.role, t.recipient, t.created_at, t.revoked_at]))
            .map_err(err)?;
        Ok(())
    }

    fn token_by_hash(&mut self, hash: &[u8]) -> Result<Option<TokenRow>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, hash, role, recipient, created_at, revoked_at FROM tokens WHERE hash = ?1")
            .map_err(err)?;
        st.query_row([hash], |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                hash: r.get(1)?,
                role: r.get(2)?,
                recipient: r.get(3)?,
                created_at: r.get(4)?,
                revoked_at: r.get(5)?,
            })
        })
        .optional()
        .map_err(err)
    }

    fn count_tokens(&mut self) -> Result<i64> {
        self.conn.query_row("SELECT count(*) FROM tokens", [], |r| r.get(0)).map_err(err)
    }

    fn audit_head(&mut self) -> Result<(i64, Vec<u8>)> {
        // The write transaction already holds SQLite's single write lock.
        self.audit_head_recorded()
    }

    fn append_audit(&mut self, e: &AuditRow, head_mac: &[u8]) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.seq,
                    e.at,
                    e.actor,
                    e.action,
                    e.subject_id,
                    e.purpose,
                    e.fields,
                    e.outcome,
                    e.detail,
                    e.hash
                ])
            })
            .map_err(err)?;
        self.conn
            .prepare_cached("UPDATE audit_head SET seq = ?1, hash = ?2, mac = ?3 WHERE id = 1")
            .and_then(|mut st| st.execute(params![e.seq, e.hash, head_mac]))
            .map_err(err)?;
        Ok(())
    }

    fn append_audits(&mut self, entries: &[AuditRow], head_mac: &[u8]) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(err)?;
        for e in entries {
            st.execute(params![
                e.seq,
                e.at,
                e.actor,
                e.action,
                e.subject_id,
                e.purpose,
                e.fields,
                e.outcome,
                e.detail,
                e.hash
            ])
            .map_err(err)?;
        }
        drop(st);
        if let Some(last) = entries.last() {
            self.conn
                .prepare_cached("UPDATE audit_head SET seq = ?1, hash = ?2, mac = ?3 WHERE id = 1")
                .and_then(|mut st| st.execute(params![last.seq, last.hash, head_mac]))
                .map_err(err)?;
        }
        Ok(())
    }

    fn audit_page(&mut self, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash FROM audit
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(err)?;
        let rows = st.query_map([after, limit], audit_row).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn audit_head_mac(&mut self) -> Result<Option<Vec<u8>>> {
        self.conn
            .prepare_cached("SELECT mac FROM audit_head WHERE id = 1")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(err)
    }

    fn set_audit_head_mac(&mut self, mac: &[u8]) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE audit_head SET mac = ?1 WHERE id = 1")
            .and_then(|mut st| st.execute([mac]))
            .map_err(err)?;
        Ok(())
    }

    fn audit_head_recorded(&mut self) -> Result<(i64, Vec<u8>)> {
        self.conn
            .prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")
            .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(err)
    }

    fn insert_disclosure(&mut self, d: &DisclosureRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO disclosures (id, at, recipient, subject_id, fields, purpose, token_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| st.execute(params![d.id, d.at, d.recipient, d.subject_id, d.fields, d.purpose, d.token_id]))
            .map_err(err)?;
        Ok(())
    }

    fn disclosures_for_subject(&mut self, subject: Id) -> Result<Vec<DisclosureRow>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, at, recipient, subject_id, fields, purpose, token_id FROM disclosures WHERE subject_id = ?1 ORDER BY at, id",
            )
            .map_err(err)?;
        let rows = st
            .query_map([subject], |r| {
                Ok(DisclosureRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    recipient: r.get(2)?,
                    subject_id: r.get(3)?,
                    fields: r.get(4)?,
                    purpose: r.get(5)?,
                    token_id: r.get(6)?,
                })
            })
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    fn wrapped_keys(&mut self) -> Result<Vec<(vigie_store::KeyOwner, Id, Vec<u8>)>> {
        use vigie_store::KeyOwner;
        let mut out = Vec::new();
        for (owner, sql) in [
            (KeyOwner::Subject, "SELECT subject_id, wrapped FROM subject_keys"),
            (KeyOwner::Request, "SELECT id, wrapped_key FROM requests WHERE length(wrapped_key) > 0"),
            (KeyOwner::Breach, "SELECT id, wrapped_key FROM breaches"),
        ] {
            let mut st = self.conn.prepare(sql).map_err(err)?;
            let rows = st.query_map([], |r| Ok((owner, r.get(0)?, r.get(1)?))).map_err(err)?;
            for row in rows {
                out.push(row.map_err(err)?);
            }
        }
        Ok(out)
    }

    fn set_wrapped_key(&mut self, owner: vigie_store::KeyOwner, id: Id, wrapped: &[u8]) -> Result<()> {
        let sql = match owner {
            vigie_store::KeyOwner::Subject => "UPDATE subject_keys SET wrapped = ?2 WHERE subject_id = ?1",
            vigie_store::KeyOwner::Request => "UPDATE requests SET wrapped_key = ?2 WHERE id = ?1",
            vigie_store::KeyOwner::Breach => "UPDATE breaches SET wrapped_key = ?2 WHERE id = ?1",
        };
        self.conn.prepare_cached(sql).and_then(|mut st| st.execute(params![id, wrapped])).map_err(err)?;
        Ok(())
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(err)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(err)?;
        Ok(())
    }
}
