//! SQLite behind the [`vigie_store`] seam: the embedded default.
//!
//! One file in the data directory, WAL mode, `synchronous = FULL` (a commit
//! is on disk when it returns), `foreign_keys`, `secure_delete` (erased data
//! does not linger in free pages), a busy timeout so the CLI can work beside
//! a running server, and write transactions begun with `BEGIN IMMEDIATE`
//! (a deferred transaction that later upgrades can fail whatever the timeout).
//! One writer thread batches concurrent writes into group commits; the WAL is
//! checkpointed by a thread of its own (`checkpoint`), off the writer's commits.

mod checkpoint;
mod copy;
pub mod raw;
use chrono::Utc;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection as Conn, OpenFlags, Row, ToSql, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use vigie_store::sql::{self, Arg, Args, Dialect, Driver, SqlRow, Stmt};
use vigie_store::{Backend, Connection, Result, StoreError, Tx, WorkerConfig};

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

fn err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| "constraint violated".into()))
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
            StoreError::Full(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Busy(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// A SQLite database file.
pub struct Sqlite {
    path: PathBuf,
    /// The WAL checkpoints and the erasures' truncations, off the writer thread.
    checkpointer: checkpoint::Checkpointer,
}

impl Sqlite {
    /// Opens (creating if needed) the database and applies pending migrations.
    /// An existing database is checked first (`PRAGMA quick_check`): a damaged one
    /// is refused, never written to.
    pub fn open(path: &Path) -> Result<Sqlite> {
        let db = Sqlite::unopened(path);
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
        Sqlite { path: path.to_path_buf(), checkpointer: checkpoint::Checkpointer::new() }
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
        // Every statement the store runs stays prepared (there are a few hundred).
        conn.set_prepared_statement_cache_capacity(512);
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

/// The path of the SQLite database inside a data directory.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("vigie.db")
}

/// The SQLite database of a data directory, not yet opened.
#[derive(Clone, Debug)]
pub struct SqliteFile {
    path: PathBuf,
}

impl SqliteFile {
    pub fn in_dir(data_dir: &Path) -> SqliteFile {
        SqliteFile { path: path_in(data_dir) }
    }

    /// A database file named by its path (`vigie migrate --to sqlite:PATH`).
    pub fn at(path: &Path) -> SqliteFile {
        SqliteFile { path: path.to_path_buf() }
    }
}

impl vigie_store::Database for SqliteFile {
    fn found(&self) -> Result<vigie_store::Found> {
        use vigie_store::Found;
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        Ok(match self.path.metadata() {
            Ok(m) if m.len() > 0 => Found::Database,
            Ok(_) => Found::Empty,
            Err(_) if PathBuf::from(wal).exists() => Found::Empty,
            Err(_) => Found::Nothing,
        })
    }
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
    /// A restore killed while copying leaves its staged copy (a backup's content): never kept.
    fn open(&self) -> Result<std::sync::Arc<dyn Backend>> {
        let _ = std::fs::remove_file(self.path.with_extension("db.restoring"));
        Ok(std::sync::Arc::new(Sqlite::open(&self.path)?))
    }
    fn unopened(&self) -> Result<std::sync::Arc<dyn Backend>> {
        Ok(std::sync::Arc::new(Sqlite::unopened(&self.path)))
    }
    /// The newest migration this build knows.
    fn schema_version(&self) -> i64 {
        MIGRATIONS.iter().map(|(v, _)| *v).max().unwrap_or(0)
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
        let conn = self.raw(write)?;
        let checkpoints = if write {
            // The checkpoint thread copies the WAL; the writer's own auto-checkpoint is a backstop.
            conn.execute_batch(&format!("PRAGMA wal_autocheckpoint = {}", checkpoint::BACKSTOP_PAGES)).map_err(err)?;
            Some(self.checkpointer.notify(&|| self.raw(true))?)
        } else {
            None
        };
        Ok(Box::new(SqliteConn { conn, rendered: HashMap::new(), head: sql::AuditHead::default(), checkpoints }))
    }
    /// Copies the WAL into the database file and truncates it: with
    /// `secure_delete`, the pages of erased rows are then zeroed everywhere.
    /// Runs on the checkpoint thread's connection (see `checkpoint`), and returns once done.
    fn compact(&self) -> Result<()> {
        self.checkpointer.truncate(&|| self.raw(true))
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
        let backup = Sqlite::unopened(file);
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

    fn copyable(&self) -> Option<&dyn vigie_store::copy::Copyable> {
        Some(self)
    }

    fn workers(&self) -> WorkerConfig {
        // SQLite has one writer at a time: one thread, large group commits. A read transaction
        // serves the reads waiting together: each transaction's start re-validates the page cache
        // after the writer's commits, once for all of them.
        WorkerConfig { writers: 1, readers: 2, max_batch: 512, read_batch: 16 }
    }
}

struct SqliteConn {
    conn: Conn,
    /// The statements of the source in SQLite's spelling, rendered on first use.
    rendered: HashMap<&'static str, String>,
    /// The writer's copy of the audit head in the transaction in progress.
    head: sql::AuditHead,
    /// A write connection tells the checkpoint thread of its commits.
    checkpoints: Option<checkpoint::Notify>,
}

impl Connection for SqliteConn {
    fn begin(&mut self, write: bool) -> Result<()> {
        self.batch(if write { "BEGIN IMMEDIATE" } else { "BEGIN DEFERRED" })
    }
    fn commit(&mut self) -> Result<()> {
        self.batch("COMMIT")?;
        if let Some(c) = &self.checkpoints {
            c.committed();
        }
        Ok(())
    }
    fn rollback(&mut self) -> Result<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(err)
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(err)
    }
    fn tx(&mut self) -> &mut dyn Tx {
        self
    }
}

/// Binds one [`Arg`] exactly as rusqlite's own conversions store it (uuids as 16-byte
/// blobs, timestamps and dates as ISO-8601 text, booleans as integers).
struct Bind<'a>(Arg<'a>);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match &self.0 {
            Arg::Null => Ok(ToSqlOutput::Owned(Value::Null)),
            Arg::Int(v) => Ok(ToSqlOutput::Owned(Value::Integer(*v))),
            Arg::Bool(v) => Ok(ToSqlOutput::Owned(Value::Integer((*v).into()))),
            Arg::Text(v) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes()))),
            Arg::Bytes(v) => Ok(ToSqlOutput::Borrowed(ValueRef::Blob(v))),
            Arg::Id(v) => v.to_sql(),
            Arg::Time(v) => v.to_sql(),
            Arg::Date(v) => v.to_sql(),
        }
    }
}

struct SqliteRow<'a, 'b>(&'a Row<'b>);

impl SqliteRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T> {
        self.0.get(i).map_err(err)
    }
    fn null_at(&self, i: usize) -> Result<bool> {
        Ok(self.0.get_ref(i).map_err(err)? == ValueRef::Null)
    }
}

impl SqlRow for SqliteRow<'_, '_> {
    fn is_null(&self, i: usize) -> Result<bool> {
        self.null_at(i)
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.get(i)
    }
    fn bool(&self, i: usize) -> Result<bool> {
        self.get(i)
    }
    fn text(&self, i: usize) -> Result<String> {
        self.get(i)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        self.get(i)
    }
    fn id(&self, i: usize) -> Result<vigie_store::Uuid> {
        self.get(i)
    }
    /// The layout timestamps are written in is read directly; any other goes through rusqlite's
    /// conversion, which gives the same instant for this one (a test compares them), slower.
    fn time(&self, i: usize) -> Result<sql::Time> {
        if let ValueRef::Text(t) = self.0.get_ref(i).map_err(err)?
            && let Some(at) = stored_time(t)
        {
            return Ok(at);
        }
        self.get(i)
    }
    fn date(&self, i: usize) -> Result<sql::Date> {
        self.get(i)
    }
}

/// A timestamp as rusqlite writes one (`%F %T%.f%:z` of a UTC time: `2026-12-07 04:32:21.123456+00:00`,
/// a fraction of 0 to 9 digits), read without chrono's general parser (the audit trail's verification
/// reads one per entry); `None` for anything else (a leap second, another offset, another layout).
fn stored_time(t: &[u8]) -> Option<sql::Time> {
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        t.get(r)?.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if t.len() < 19 || [t[4], t[7], t[10], t[13], t[16]] != *b"-- ::" {
        return None;
    }
    let (mut nanos, mut end) = (0u32, 19);
    if t.get(19) == Some(&b'.') {
        let n = t[20..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return None;
        }
        nanos = digits(20..20 + n)? * 10u32.pow(9 - n as u32);
        end = 20 + n;
    }
    if t.get(end..)? != b"+00:00" {
        return None;
    }
    let day = chrono::NaiveDate::from_ymd_opt(i32::try_from(digits(0..4)?).ok()?, digits(5..7)?, digits(8..10)?)?;
    Some(day.and_hms_nano_opt(digits(11..13)?, digits(14..16)?, digits(17..19)?, nanos)?.and_utc())
}

impl SqliteConn {
    /// The prepared statement for `sql`, in SQLite's spelling: a statement of the
    /// source is rendered once per connection, then taken from rusqlite's cache.
    fn statement(&mut self, sql: Stmt<'_>, args: Args<'_>) -> Result<rusqlite::CachedStatement<'_>> {
        let text = match sql {
            Stmt::Static(s) => self.rendered.entry(s).or_insert_with(|| sql::Sqlite.render(s)).as_str(),
            // Statements assembled at run time arrive already rendered.
            Stmt::Once(s) => s,
        };
        let mut st = self.conn.prepare_cached(text).map_err(err)?;
        for (i, a) in args.iter().enumerate() {
            st.raw_bind_parameter(i + 1, Bind(a.to_arg())).map_err(err)?;
        }
        Ok(st)
    }
}

impl Driver for SqliteConn {
    fn dialect(&self) -> &'static dyn Dialect {
        &sql::Sqlite
    }

    fn audit_head_copy(&mut self) -> &mut sql::AuditHead {
        &mut self.head
    }

    fn execute(&mut self, sql: Stmt<'_>, args: Args<'_>) -> Result<u64> {
        let mut st = self.statement(sql, args)?;
        Ok(st.raw_execute().map_err(err)? as u64)
    }

    fn query(&mut self, sql: Stmt<'_>, args: Args<'_>, each: &mut dyn FnMut(&dyn SqlRow) -> Result<()>) -> Result<()> {
        let mut st = self.statement(sql, args)?;
        let mut rows = st.raw_query();
        while let Some(r) = rows.next().map_err(err)? {
            each(&SqliteRow(r))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod time_tests {
    use super::stored_time;
    use chrono::{DateTime, TimeZone, Utc};
    use rusqlite::types::{FromSql, ToSql, ToSqlOutput, ValueRef};

    /// What rusqlite's own conversion reads from the same text.
    fn rusqlite_reads(text: &str) -> Option<DateTime<Utc>> {
        DateTime::<Utc>::column_result(ValueRef::Text(text.as_bytes())).ok()
    }

    #[test]
    fn stored_timestamps_read_as_rusqlite_reads_them() -> Result<(), String> {
        // Instants with 0, 3, 6 and 9 fraction digits (as `%.f` writes them), over many years.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 253_402_300_799) as i64; // up to 9999-12-31
            let nanos = match i % 4 {
                0 => 0,
                1 => (x % 1000) as u32 * 1_000_000,
                2 => (x % 1_000_000) as u32 * 1000,
                _ => (x % 1_000_000_000) as u32,
            };
            let at = Utc.timestamp_opt(secs, nanos).single().ok_or("in range")?;
            let Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(text))) = at.to_sql() else {
                return Err("rusqlite writes a timestamp as text".into());
            };
            assert_eq!(stored_time(text.as_bytes()), Some(at), "{text}");
            assert_eq!(rusqlite_reads(&text), Some(at), "{text}");
        }
        Ok(())
    }

    #[test]
    fn any_other_text_is_left_to_rusqlite() {
        for text in [
            "2026-12-07T04:32:21.123+00:00",
            "2026-12-07 04:32:21.123+01:00",
            "2026-12-07 04:32:21.123Z",
            "2026-12-07 04:32:21.+00:00",
            "2026-12-07 04:32:21.1234567890+00:00",
            "2026-12-07 04:32:60+00:00",
            "2026-02-30 04:32:21+00:00",
            "2026-12-07 24:00:00+00:00",
            "+2026-12-07 04:32:21+00:00",
            "2026-12-07 04:32:21",
            "2026-1207 04:32:21+00:00",
            "2026-12-07 04:32:21+00:00 ",
            "",
        ] {
            assert_eq!(stored_time(text.as_bytes()), None, "{text}");
        }
        // Every layout accepted is one rusqlite reads to the same instant.
        for text in ["2026-12-07 04:32:21+00:00", "2026-12-07 04:32:21.5+00:00", "0001-01-01 00:00:00.000000001+00:00"]
        {
            assert_eq!(stored_time(text.as_bytes()), rusqlite_reads(text), "{text}");
            assert!(stored_time(text.as_bytes()).is_some(), "{text}");
        }
    }
}
