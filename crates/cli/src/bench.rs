//! `vigie bench`: Vigie's figures beside the raw cost of the same work done
//! directly in the store underneath, and their ratio (a ratio survives a
//! noisy machine better than either figure).
//!
//! Every run works on fresh databases under a temporary directory
//! (`vigie-bench-<uuid>`, removed at the end) or, with a PostgreSQL URL, on
//! fresh databases of that server (dropped at the end): the data directory
//! and database of the settings are never touched.
//!
//! The raw baselines write rows of the same shapes as Vigie's (sizes measured
//! on a small real import first): per subject one `subjects` row, one
//! `subject_keys` row and one `audit` row, with random bytes in place of the
//! sealed values, blind indexes and chain MACs, and no audit head update.

use anyhow::{Context, bail, ensure};
use clap::Subcommand;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use vigie_app::generate::{Generator, Person};
use vigie_app::{App, Settings};
use vigie_store::{Uuid, new_id, now};
use vigie_store_postgres::Postgres;
use vigie_store_postgres::testing::DropGuard;
use vigie_store_sqlite::Sqlite;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Bulk CSV import of generated subjects, beside raw inserts of the same rows in one transaction.
    Import {
        /// Subjects to generate and import.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// Seed of the generated identities.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Exploration only: the raw baseline's SQLite page cache in MiB
        /// (default: the store's own setting), to see what a larger cache would bring.
        #[arg(long, hide = true)]
        raw_cache_mib: Option<u32>,
    },
    /// Concurrent subject creation over HTTP, beside raw durable single-row commits.
    Http {
        /// Concurrent clients, each with its own keep-alive connection.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Requests measured (after the warm-up).
        #[arg(long, default_value_t = 50_000)]
        requests: u64,
        /// Requests sent first and not measured.
        #[arg(long, default_value_t = 1_000)]
        warmup: u64,
        /// Seed of the generated identities.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Threads of the raw PostgreSQL baseline, each with its own connection.
        #[arg(long, default_value_t = 16)]
        raw_threads: usize,
    },
    /// Retention, register, revision notices, rights requests and breach scopes at scale.
    Ops {
        #[command(subcommand)]
        command: crate::bench_ops::OpsCommand,
    },
}

pub fn run(command: BenchCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    if let BenchCommand::Ops { command } = command {
        return crate::bench_ops::run(command, settings);
    }
    let backend = Backend::of(settings);
    let scratch = Scratch::new()?;
    match command {
        BenchCommand::Import { count, seed, raw_cache_mib } => {
            import(&backend, settings, &scratch, count, seed, raw_cache_mib)?;
        }
        BenchCommand::Http { clients, requests, warmup, seed, raw_threads } => {
            http(&backend, settings, &scratch, HttpPlan { clients, requests, warmup, seed, raw_threads })?;
        }
        BenchCommand::Ops { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

// ---- where the data goes ----

pub(crate) enum Backend {
    Sqlite,
    /// The server URL (any database there will do to connect).
    Postgres(String),
}

impl Backend {
    pub(crate) fn of(settings: &Settings) -> Backend {
        match &settings.database_url {
            Some(url) if settings.is_postgres() => Backend::Postgres(url.clone()),
            _ => Backend::Sqlite,
        }
    }
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// A temporary directory, removed when dropped.
pub(crate) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub(crate) fn new() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("vigie-bench-{}", new_id().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch { dir })
    }
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    /// Removes one side's data early, so it does not weigh on the next.
    pub(crate) fn remove(&self, name: &str) {
        let _ = std::fs::remove_dir_all(self.path(name));
        let _ = std::fs::remove_file(self.path(name));
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("warning: could not remove {}: {e}", self.dir.display());
        }
    }
}

/// Settings for a fresh Vigie: its own data directory (master key, SQLite
/// file) and, on PostgreSQL, its own database, dropped with the guard.
struct Fresh {
    settings: Settings,
    _guard: Option<DropGuard>,
}

fn fresh_app_settings(backend: &Backend, base: &Settings, scratch: &Scratch, name: &str) -> anyhow::Result<Fresh> {
    let (database_url, guard) = match backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres(server) => {
            let (url, guard) = vigie_store_postgres::testing::fresh_database(server)?;
            (Some(url), Some(guard))
        }
    };
    // The user's policy and other files, but a fresh key, data directory and database.
    let settings = Settings { data_dir: scratch.path(name), database_url, master_key_file: None, ..base.clone() };
    Ok(Fresh { settings, _guard: guard })
}

/// A fresh PostgreSQL database with Vigie's schema, for a raw baseline.
fn fresh_raw_postgres(server: &str) -> anyhow::Result<(Postgres, DropGuard)> {
    let (url, guard) = vigie_store_postgres::testing::fresh_database(server)?;
    Ok((Postgres::open(&url)?, guard))
}

// ---- the shapes of real rows ----

/// Sizes and texts of the rows a real import writes, measured on a small one.
struct Shapes {
    identity_len: usize,
    wrapped_len: usize,
    email_bi_len: usize,
    phone_bi_len: usize,
    hash_len: usize,
    /// Per kind (client, prospect): the retention rule, and the days from
    /// the basis date (the collection date) to the expiry, if set.
    retention: [(String, Option<u64>); 2],
    action: String,
    fields: String,
    outcome: String,
}

fn write_csv(path: &Path, count: u64, seed: u64) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut g = Generator::new(seed);
    writeln!(w, "{}", Generator::CSV_HEADER)?;
    for _ in 0..count {
        writeln!(w, "{}", Generator::csv_row(&g.person()))?;
    }
    w.flush()?;
    Ok(())
}

/// Imports 1,000 generated subjects into a throwaway SQLite Vigie and reads
/// back the sizes of what it wrote.
fn probe_shapes(base: &Settings, scratch: &Scratch, seed: u64) -> anyhow::Result<Shapes> {
    let csv = scratch.path("probe.csv");
    write_csv(&csv, 1000, seed)?;
    let fresh = fresh_app_settings(&Backend::Sqlite, base, scratch, "probe")?;
    let app = App::open(&fresh.settings)?;
    let report = app.import_csv(&csv, false)?;
    ensure!(report.imported == 1000, "the probe import wrote {} subjects, not 1000", report.imported);
    drop(app);
    let conn = rusqlite::Connection::open(vigie_app::sqlite_path(&fresh.settings.data_dir))?;
    let (identity, wrapped, email_bi, phone_bi): (f64, i64, i64, i64) = conn.query_row(
        "SELECT avg(length(s.identity)), max(length(k.wrapped)), max(length(s.email_bi)), max(length(s.phone_bi))
         FROM subjects s JOIN subject_keys k ON k.subject_id = s.id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let (action, fields, outcome, hash): (String, String, String, Vec<u8>) = conn.query_row(
        "SELECT action, fields, outcome, hash FROM audit WHERE action = 'subject.create' ORDER BY seq LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let mut retention = [(String::new(), None), (String::new(), None)];
    for (slot, kind) in retention.iter_mut().zip(["client", "prospect"]) {
        let (rule, basis, expires): (String, Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) = conn.query_row(
            "SELECT retention_rule, basis_date, expires_on FROM subjects WHERE kind = ?1 LIMIT 1",
            [kind],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let days = match (basis, expires) {
            (Some(b), Some(e)) => u64::try_from((e - b).num_days()).ok(),
            _ => None,
        };
        *slot = (rule, days);
    }
    drop(conn);
    scratch.remove("probe");
    scratch.remove("probe.csv");
    Ok(Shapes {
        identity_len: identity.round() as usize,
        wrapped_len: usize::try_from(wrapped)?,
        email_bi_len: usize::try_from(email_bi)?,
        phone_bi_len: usize::try_from(phone_bi)?,
        hash_len: hash.len(),
        retention,
        action,
        fields,
        outcome,
    })
}

/// One raw subject: its three rows' values, random where Vigie's are sealed or keyed.
struct RawRow {
    id: Uuid,
    kind: &'static str,
    collected_at: chrono::DateTime<chrono::Utc>,
    retention_rule: String,
    basis_date: Option<chrono::NaiveDate>,
    expires_on: Option<chrono::NaiveDate>,
    email_bi: Vec<u8>,
    phone_bi: Vec<u8>,
    identity: Vec<u8>,
    wrapped: Vec<u8>,
    hash: Vec<u8>,
    /// The audit detail of an HTTP create, `kind=…` (an import appends ` import`).
    detail: String,
}

struct RawGen<'a> {
    shapes: &'a Shapes,
    rng: SmallRng,
}

impl<'a> RawGen<'a> {
    fn new(shapes: &'a Shapes, seed: u64) -> Self {
        RawGen { shapes, rng: SmallRng::seed_from_u64(seed) }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.rng.fill(v.as_mut_slice());
        v
    }
    fn row(&mut self, at: chrono::DateTime<chrono::Utc>) -> RawRow {
        let client = self.rng.random_bool(0.4);
        let kind = if client { "client" } else { "prospect" };
        let days = self.rng.random_range(0..3650u64);
        let s = self.shapes;
        let (rule, expiry) = if client { &s.retention[0] } else { &s.retention[1] };
        let collected_at = at - chrono::Days::new(days);
        let basis = collected_at.date_naive();
        RawRow {
            id: new_id(),
            kind,
            collected_at,
            retention_rule: rule.clone(),
            basis_date: Some(basis),
            expires_on: expiry.map(|d| basis + chrono::Days::new(d)),
            email_bi: self.bytes(s.email_bi_len),
            phone_bi: self.bytes(s.phone_bi_len),
            identity: self.bytes(s.identity_len),
            wrapped: self.bytes(s.wrapped_len),
            hash: self.bytes(s.hash_len),
            detail: format!("kind={kind}"),
        }
    }
}

const SQL_SUBJECT: &str = "INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity, \
                           retention_rule, basis_date, expires_on, legal_hold, held_at) \
                           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, NULL)";
const SQL_KEY: &str = "INSERT INTO subject_keys (subject_id, wrapped) VALUES (?1, ?2)";
const SQL_AUDIT: &str = "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const PG_SUBJECT: &str = "INSERT INTO subjects (id, kind, collected_at, created_at, updated_at, email_bi, phone_bi, identity, \
                          retention_rule, basis_date, expires_on, legal_hold, held_at) \
                          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL)";
const PG_KEY: &str = "INSERT INTO subject_keys (subject_id, wrapped) VALUES ($1, $2)";
const PG_AUDIT: &str = "INSERT INTO audit (seq, at, actor, action, subject_id, purpose, fields, outcome, detail, hash) \
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// The three prepared SQLite inserts of one subject.
struct SqliteInserts<'c> {
    subject: rusqlite::Statement<'c>,
    key: rusqlite::Statement<'c>,
    audit: rusqlite::Statement<'c>,
}

impl<'c> SqliteInserts<'c> {
    fn prepare(conn: &'c rusqlite::Connection) -> anyhow::Result<Self> {
        Ok(SqliteInserts {
            subject: conn.prepare(SQL_SUBJECT)?,
            key: conn.prepare(SQL_KEY)?,
            audit: conn.prepare(SQL_AUDIT)?,
        })
    }
    fn insert(
        &mut self,
        r: &RawRow,
        seq: i64,
        at: chrono::DateTime<chrono::Utc>,
        actor: &str,
        detail: &str,
        s: &Shapes,
    ) -> anyhow::Result<()> {
        use rusqlite::params;
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
            actor,
            s.action,
            r.id,
            None::<String>,
            s.fields,
            s.outcome,
            detail,
            r.hash
        ])?;
        Ok(())
    }
}

// ---- measuring ----

fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// p50, p99 and max of a set of latencies.
struct Percentiles {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn percentiles(mut v: Vec<Duration>) -> Percentiles {
    v.sort_unstable();
    let at = |q: f64| {
        if v.is_empty() {
            return Duration::ZERO;
        }
        let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
        v.get(i).copied().unwrap_or_default()
    };
    Percentiles { p50: at(0.50), p99: at(0.99), max: v.last().copied().unwrap_or_default() }
}

/// CPU seconds per thread of this process (Linux; empty elsewhere).
fn thread_cpu() -> HashMap<u32, (String, f64)> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return out };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = stat.get(open + 1..close).unwrap_or_default().to_string();
        let rest: Vec<&str> = stat.get(close + 1..).unwrap_or_default().split_whitespace().collect();
        // After the name: state (field 3), ..., utime (14), stime (15), in clock ticks (100 Hz).
        let ticks = |i: usize| rest.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
        out.insert(tid, (name, (ticks(11) + ticks(12)) / 100.0));
    }
    out
}

/// CPU spent per thread name between two samples.
fn cpu_between(
    before: &HashMap<u32, (String, f64)>,
    after: &HashMap<u32, (String, f64)>,
    main_tid: u32,
) -> Vec<(String, f64)> {
    let mut by_name: HashMap<String, f64> = HashMap::new();
    for (tid, (name, cpu)) in after {
        let spent = cpu - before.get(tid).map_or(0.0, |(_, c)| *c);
        let name = if *tid == main_tid { "main".to_string() } else { name.clone() };
        *by_name.entry(name).or_default() += spent;
    }
    let mut v: Vec<(String, f64)> = by_name.into_iter().filter(|(_, c)| *c >= 0.01).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

fn cpu_summary(cpu: &[(String, f64)]) -> String {
    if cpu.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = cpu.iter().map(|(n, c)| format!("{n} {c:.1} s")).collect();
    format!(" (CPU by thread: {})", parts.join(", "))
}

// ---- import ----

fn import(
    backend: &Backend,
    base: &Settings,
    scratch: &Scratch,
    count: u64,
    seed: u64,
    raw_cache_mib: Option<u32>,
) -> anyhow::Result<()> {
    ensure!(count > 0, "--count must be at least 1");
    eprintln!("bench import: {count} subjects on {}, data under {}", backend.name(), scratch.dir.display());
    let shapes = probe_shapes(base, scratch, seed)?;
    eprintln!(
        "  row shapes from a real import: identity {} B, wrapped key {} B, blind indexes {}/{} B, audit hash {} B",
        shapes.identity_len, shapes.wrapped_len, shapes.email_bi_len, shapes.phone_bi_len, shapes.hash_len
    );
    let csv = scratch.path("subjects.csv");
    let started = Instant::now();
    write_csv(&csv, count, seed)?;
    let csv_size = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "  generated {} ({} MB) in {:.1} s",
        csv.display(),
        csv_size / 1_000_000,
        started.elapsed().as_secs_f64()
    );

    // Raw first: the same rows, one transaction, prepared statements (SQLite) or binary COPY (PostgreSQL).
    eprintln!("  raw: inserting {count} subjects (3 rows each) in one transaction...");
    let main_tid = std::process::id();
    let cpu_before = thread_cpu();
    let raw = match backend {
        Backend::Sqlite => raw_sqlite_import(&scratch.path("raw.db"), count, &shapes, seed, raw_cache_mib)?,
        Backend::Postgres(server) => raw_postgres_import(server, count, &shapes, seed)?,
    };
    scratch.remove("raw.db");
    scratch.remove("raw.db-wal");
    scratch.remove("raw.db-shm");
    let cpu = cpu_between(&cpu_before, &thread_cpu(), main_tid);
    eprintln!("  raw: {:.2} s{}", raw.as_secs_f64(), cpu_summary(&cpu));

    eprintln!("  vigie: importing {} ...", csv.display());
    let fresh = fresh_app_settings(backend, base, scratch, "vigie")?;
    let app = App::open(&fresh.settings)?;
    let cpu_before = thread_cpu();
    let started = Instant::now();
    let report = app.import_csv(&csv, false)?;
    let vigie = started.elapsed();
    let cpu = cpu_between(&cpu_before, &thread_cpu(), main_tid);
    ensure!(
        report.imported == count && report.rejected == 0,
        "the import wrote {} subjects and rejected {} rows, expected {count} and 0",
        report.imported,
        report.rejected
    );
    // The check pass alone: the same file with one bad row appended is checked
    // in full and refused, and nothing is written.
    let check = check_pass(&app, &csv, seed)?;
    drop(app);
    drop(fresh);
    eprintln!("  vigie: {:.2} s{}", vigie.as_secs_f64(), cpu_summary(&cpu));
    eprintln!(
        "  vigie: of which ~{:.2} s checking every row before the first write (measured alone), ~{:.2} s sealing and writing",
        check.as_secs_f64(),
        vigie.saturating_sub(check).as_secs_f64()
    );

    let (v, r) = (rate(count, vigie), rate(count, raw));
    let ratio = v / r;
    println!(
        "import  {:<8}  {} subjects  vigie {}/s  raw {}/s  ratio {ratio:.2}",
        backend.name(),
        thousands(count as f64),
        thousands(v),
        thousands(r),
    );
    let mut targets = vec![format!("≥ 80% of raw: {} ({:.1}%)", met(ratio >= 0.80), ratio * 100.0)];
    if matches!(backend, Backend::Sqlite) {
        targets.insert(0, format!("≥ 50,000 subjects/s: {}", met(v >= 50_000.0)));
    }
    println!("        targets: {}", targets.join("; "));
    Ok(())
}

/// Times the import's check pass alone: appends a bad row, so that the whole
/// file is checked, refused, and nothing written.
fn check_pass(app: &App, csv: &Path, seed: u64) -> anyhow::Result<Duration> {
    let mut bad = Generator::new(seed).person();
    bad.kind = "nobody";
    let mut file = std::fs::OpenOptions::new().append(true).open(csv)?;
    writeln!(file, "{}", Generator::csv_row(&bad))?;
    drop(file);
    let started = Instant::now();
    let report = app.import_csv(csv, false)?;
    let elapsed = started.elapsed();
    ensure!(report.imported == 0 && report.rejected == 1, "the check pass did not refuse the bad row alone");
    Ok(elapsed)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn raw_sqlite_import(
    path: &Path,
    count: u64,
    shapes: &Shapes,
    seed: u64,
    cache_mib: Option<u32>,
) -> anyhow::Result<Duration> {
    let db = Sqlite::open(path)?;
    let mut conn = db.raw_connection()?;
    if let Some(mib) = cache_mib {
        conn.execute_batch(&format!("PRAGMA cache_size = -{}", u64::from(mib) * 1024))?;
        eprintln!("  raw: exploring with a {mib} MiB page cache (Vigie's store uses its own setting)");
    }
    let mut g = RawGen::new(shapes, seed);
    let at = now();
    let started = Instant::now();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut ins = SqliteInserts::prepare(&tx)?;
        for seq in 1..=count {
            let r = g.row(at);
            ins.insert(&r, i64::try_from(seq)?, at, "cli", &format!("{} import", r.detail), shapes)?;
        }
    }
    tx.commit()?;
    Ok(started.elapsed())
}

/// Rows per binary COPY, as the import's chunks.
const COPY_CHUNK: u64 = 4096;

fn raw_postgres_import(server: &str, count: u64, shapes: &Shapes, seed: u64) -> anyhow::Result<Duration> {
    use postgres::binary_copy::BinaryCopyInWriter;
    use postgres::types::Type;
    let (db, _guard) = fresh_raw_postgres(server)?;
    let mut client = db.raw_client()?;
    let mut g = RawGen::new(shapes, seed);
    let at = now();
    let started = Instant::now();
    let mut tx = client.transaction()?;
    let mut done = 0u64;
    while done < count {
        let n = COPY_CHUNK.min(count - done);
        let rows: Vec<RawRow> = (0..n).map(|_| g.row(at)).collect();
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
            let seq = i64::try_from(done + i as u64 + 1)?;
            let detail = format!("{} import", r.detail);
            w.write(&[
                &seq,
                &at,
                &"cli",
                &shapes.action,
                &r.id,
                &None::<String>,
                &shapes.fields,
                &shapes.outcome,
                &detail,
                &r.hash,
            ])?;
        }
        w.finish()?;
        done += n;
    }
    tx.commit()?;
    let elapsed = started.elapsed();
    drop(client);
    Ok(elapsed)
}

// ---- http ----

struct HttpPlan {
    clients: usize,
    requests: u64,
    warmup: u64,
    seed: u64,
    raw_threads: usize,
}

/// A measured phase: wall time and every latency.
struct Measured {
    wall: Duration,
    latencies: Vec<Duration>,
}

fn subject_json(p: &Person) -> serde_json::Value {
    serde_json::json!({
        "kind": p.kind,
        "collected_at": p.collected_at,
        "provenance": "provided",
        "identity": {
            "civility": p.civility,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "email": p.email,
            "phone": p.phone,
            "postal_address": p.postal_address,
            "company": p.company,
            "job_title": p.job_title,
        },
    })
}

fn http(backend: &Backend, base: &Settings, scratch: &Scratch, plan: HttpPlan) -> anyhow::Result<()> {
    ensure!(plan.clients > 0 && plan.requests > 0, "--clients and --requests must be at least 1");
    eprintln!(
        "bench http: {} creates ({} warm-up) from {} clients on {}, data under {}",
        plan.requests,
        plan.warmup,
        plan.clients,
        backend.name(),
        scratch.dir.display()
    );
    let shapes = probe_shapes(base, scratch, plan.seed)?;
    let total = plan.warmup + plan.requests;
    let mut g = Generator::new(plan.seed);
    let bodies: Vec<Vec<u8>> =
        (0..total).map(|_| serde_json::to_vec(&subject_json(&g.person()))).collect::<Result<_, _>>()?;
    let bodies = Arc::new(bodies);

    eprintln!("  vigie: serving on 127.0.0.1, {} clients...", plan.clients);
    let fresh = fresh_app_settings(backend, base, scratch, "vigie")?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    let vigie = rt.block_on(vigie_http(&fresh.settings, bodies, &plan));
    rt.shutdown_timeout(Duration::from_secs(10));
    drop(fresh);
    scratch.remove("vigie");
    let vigie = vigie?;

    let (raw, raw_what) = match backend {
        Backend::Sqlite => {
            eprintln!("  raw: {} single-row commits on one connection...", plan.requests);
            (raw_sqlite_commits(&scratch.path("raw.db"), &plan, &shapes)?, "1 connection".to_string())
        }
        Backend::Postgres(server) => {
            eprintln!("  raw: {} single-row commits from {} threads...", plan.requests, plan.raw_threads);
            (raw_postgres_commits(server, &plan, &shapes)?, format!("{} connections", plan.raw_threads))
        }
    };

    let (v, r) = (rate(plan.requests, vigie.wall), rate(plan.requests, raw.wall));
    let (vp, rp) = (percentiles(vigie.latencies), percentiles(raw.latencies));
    let ratio = v / r;
    println!(
        "http    {:<8}  {} creates, {} clients  vigie {}/s (p50 {}, p99 {}, max {})  raw {} commits/s on {raw_what} (p50 {}, p99 {})  ratio {ratio:.2}",
        backend.name(),
        thousands(plan.requests as f64),
        plan.clients,
        thousands(v),
        ms(vp.p50),
        ms(vp.p99),
        ms(vp.max),
        thousands(r),
        ms(rp.p50),
        ms(rp.p99),
    );
    if matches!(backend, Backend::Sqlite) {
        println!(
            "        targets (64 clients): ≥ 5,000 creates/s: {}; p99 < 20 ms: {}",
            met(v >= 5_000.0),
            met(vp.p99 < Duration::from_millis(20))
        );
    }
    Ok(())
}

async fn vigie_http(settings: &Settings, bodies: Arc<Vec<Vec<u8>>>, plan: &HttpPlan) -> anyhow::Result<Measured> {
    let app = App::open(settings)?;
    let (_, token) = app.create_token(vigie_app::audit::Actor::Cli, "staff", None).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot listen on 127.0.0.1:0")?;
    let url: Arc<str> = format!("http://{}/api/v1/subjects", listener.local_addr()?).into();
    let server = tokio::spawn(vigie_web::serve(app.clone(), listener));
    let token: Arc<str> = token.into();
    let clients = (0..plan.clients).map(|_| reqwest::Client::builder().build()).collect::<Result<Vec<_>, _>>()?;
    let outcome = async {
        post_all(&clients, &url, &token, &bodies, 0..plan.warmup).await?;
        let started = Instant::now();
        let latencies = post_all(&clients, &url, &token, &bodies, plan.warmup..plan.warmup + plan.requests).await?;
        let wall = started.elapsed();
        let stored = app.store().read(|tx| tx.count_subjects()).await?;
        let expected = plan.warmup + plan.requests;
        ensure!(u64::try_from(stored)? == expected, "the store holds {stored} subjects, expected {expected}");
        Ok(Measured { wall, latencies })
    }
    .await;
    server.abort();
    outcome
}

/// Sends the bodies in `range` from every client at once; each client sends
/// its next request when the previous one is answered.
async fn post_all(
    clients: &[reqwest::Client],
    url: &Arc<str>,
    token: &Arc<str>,
    bodies: &Arc<Vec<Vec<u8>>>,
    range: Range<u64>,
) -> anyhow::Result<Vec<Duration>> {
    let next = Arc::new(AtomicU64::new(range.start));
    let end = range.end;
    let mut tasks = Vec::with_capacity(clients.len());
    for client in clients {
        let (client, url, token, bodies, next) =
            (client.clone(), url.clone(), token.clone(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                let body = bodies.get(usize::try_from(i)?).context("no such body")?.clone();
                let started = Instant::now();
                let response = client
                    .post(&*url)
                    .bearer_auth(&*token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await?;
                let status = response.status();
                let text = response.bytes().await?;
                latencies.push(started.elapsed());
                if status != reqwest::StatusCode::CREATED {
                    bail!("POST /api/v1/subjects answered {status}: {}", String::from_utf8_lossy(&text));
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::with_capacity(usize::try_from(end.saturating_sub(range.start))?);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(all)
}

fn raw_sqlite_commits(path: &Path, plan: &HttpPlan, shapes: &Shapes) -> anyhow::Result<Measured> {
    let db = Sqlite::open(path)?;
    let conn = db.raw_connection()?;
    let mut ins = SqliteInserts::prepare(&conn)?;
    let mut g = RawGen::new(shapes, plan.seed);
    let actor = format!("token:{}", new_id());
    let mut latencies = Vec::with_capacity(usize::try_from(plan.requests)?);
    let mut started = Instant::now();
    for seq in 1..=plan.warmup + plan.requests {
        if seq == plan.warmup + 1 {
            started = Instant::now();
        }
        let t = Instant::now();
        let at = now();
        let r = g.row(at);
        conn.execute_batch("BEGIN IMMEDIATE")?;
        ins.insert(&r, i64::try_from(seq)?, at, &actor, &r.detail, shapes)?;
        conn.execute_batch("COMMIT")?;
        if seq > plan.warmup {
            latencies.push(t.elapsed());
        }
    }
    Ok(Measured { wall: started.elapsed(), latencies })
}

fn raw_postgres_commits(server: &str, plan: &HttpPlan, shapes: &Shapes) -> anyhow::Result<Measured> {
    ensure!(plan.raw_threads > 0, "--raw-threads must be at least 1");
    let (db, _guard) = fresh_raw_postgres(server)?;
    let mut clients = (0..plan.raw_threads).map(|_| db.raw_client()).collect::<Result<Vec<_>, _>>()?;
    let seq = AtomicU64::new(0);
    let actor = format!("token:{}", new_id());
    let phase = |clients: &mut [postgres::Client], count: u64, salt: u64| -> anyhow::Result<Vec<Duration>> {
        let left = AtomicU64::new(count);
        let results = std::thread::scope(|s| {
            let handles: Vec<_> = clients
                .iter_mut()
                .enumerate()
                .map(|(i, client)| {
                    let (left, seq, actor) = (&left, &seq, &actor);
                    s.spawn(move || -> anyhow::Result<Vec<Duration>> {
                        let subject = client.prepare(PG_SUBJECT)?;
                        let key = client.prepare(PG_KEY)?;
                        let audit = client.prepare(PG_AUDIT)?;
                        let mut g = RawGen::new(shapes, plan.seed ^ salt ^ ((i as u64) << 32));
                        let mut latencies = Vec::new();
                        while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                            let t = Instant::now();
                            let at = now();
                            let r = g.row(at);
                            let n = i64::try_from(seq.fetch_add(1, Ordering::Relaxed) + 1)?;
                            let mut tx = client.transaction()?;
                            tx.execute(
                                &subject,
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
                            tx.execute(&key, &[&r.id, &r.wrapped])?;
                            tx.execute(
                                &audit,
                                &[
                                    &n,
                                    &at,
                                    actor,
                                    &shapes.action,
                                    &r.id,
                                    &None::<String>,
                                    &shapes.fields,
                                    &shapes.outcome,
                                    &r.detail,
                                    &r.hash,
                                ],
                            )?;
                            tx.commit()?;
                            latencies.push(t.elapsed());
                        }
                        Ok(latencies)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| anyhow::anyhow!("a raw baseline thread panicked"))?)
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        Ok(results.into_iter().flatten().collect())
    };
    phase(&mut clients, plan.warmup, 1)?;
    let started = Instant::now();
    let latencies = phase(&mut clients, plan.requests, 2)?;
    let wall = started.elapsed();
    drop(clients);
    Ok(Measured { wall, latencies })
}
