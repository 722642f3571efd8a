//! `vigie-bench import` and `vigie-bench http`: Vigie's figures beside the raw
//! cost of the same work done directly in the store underneath, and their
//! ratio (a ratio survives a noisy machine better than either figure).
//!
//! Every run works on fresh databases under a temporary directory
//! (`vigie-bench-<uuid>`, removed at the end) or, with a PostgreSQL URL, on
//! fresh databases of that server (dropped at the end): no existing
//! installation is touched.
//!
//! The raw baselines write rows of the same shapes as Vigie's (sizes measured
//! on a small real import first): per subject one `subjects` row, one
//! `subject_keys` row and one `audit` row, with random bytes in place of the
//! sealed values, blind indexes and chain MACs, and no audit head update. The
//! statements are the store crates' (`vigie_store_sqlite::raw`,
//! `vigie_store_postgres::raw`).

use crate::common::{Backend, Scratch, fresh_app_settings, met, percentiles, rate, thousands};
use anyhow::{Context, bail, ensure};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use vigie_app::subjects::generate::{Generator, Person};
use vigie_app::{App, Settings};
use vigie_store::{Uuid, new_id, now};
use vigie_store_postgres::Postgres;
use vigie_store_postgres::raw as pg_raw;
use vigie_store_postgres::testing::DropGuard;
use vigie_store_sqlite::Sqlite;
use vigie_store_sqlite::raw as sqlite_raw;

#[derive(clap::Args)]
pub struct ImportArgs {
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
}

#[derive(clap::Args)]
pub struct HttpArgs {
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
    let db = Sqlite::open(&vigie_store_sqlite::path_in(&fresh.settings.data_dir))?;
    let read = sqlite_raw::row_shapes(&db.raw_connection()?, &["client", "prospect"])?;
    drop(db);
    let mut retention = [(String::new(), None), (String::new(), None)];
    for (slot, (rule, basis, expires)) in retention.iter_mut().zip(read.retention) {
        let days = match (basis, expires) {
            (Some(b), Some(e)) => u64::try_from((e - b).num_days()).ok(),
            _ => None,
        };
        *slot = (rule, days);
    }
    scratch.remove("probe");
    scratch.remove("probe.csv");
    Ok(Shapes {
        identity_len: read.identity_avg.round() as usize,
        wrapped_len: usize::try_from(read.wrapped_max)?,
        email_bi_len: usize::try_from(read.email_bi_max)?,
        phone_bi_len: usize::try_from(read.phone_bi_max)?,
        hash_len: read.hash.len(),
        retention,
        action: read.action,
        fields: read.fields,
        outcome: read.outcome,
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

/// The same fields, under both store crates' names for them.
macro_rules! new_subject {
    ($ty:path, $r:expr) => {{
        let r = $r;
        $ty {
            id: r.id,
            kind: r.kind,
            collected_at: r.collected_at,
            retention_rule: r.retention_rule,
            basis_date: r.basis_date,
            expires_on: r.expires_on,
            email_bi: r.email_bi,
            phone_bi: r.phone_bi,
            identity: r.identity,
            wrapped: r.wrapped,
            hash: r.hash,
            detail: r.detail,
        }
    }};
}

impl RawRow {
    fn sqlite(self) -> sqlite_raw::NewSubject {
        new_subject!(sqlite_raw::NewSubject, self)
    }
    fn postgres(self) -> pg_raw::NewSubject {
        new_subject!(pg_raw::NewSubject, self)
    }
    /// As an import writes it: its audit detail ends with ` import`.
    fn imported(mut self) -> Self {
        self.detail = format!("{} import", self.detail);
        self
    }
}

impl Shapes {
    fn sqlite_audit<'a>(&'a self, actor: &'a str) -> sqlite_raw::AuditShape<'a> {
        sqlite_raw::AuditShape { actor, action: &self.action, fields: &self.fields, outcome: &self.outcome }
    }
    fn pg_audit<'a>(&'a self, actor: &'a str) -> pg_raw::AuditShape<'a> {
        pg_raw::AuditShape { actor, action: &self.action, fields: &self.fields, outcome: &self.outcome }
    }
}

// ---- measuring ----

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// CPU seconds per thread of this process (Linux; empty elsewhere).
pub(crate) fn thread_cpu() -> HashMap<u32, (String, f64)> {
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

pub fn import(base: &Settings, args: ImportArgs) -> anyhow::Result<()> {
    let ImportArgs { count, seed, raw_cache_mib } = args;
    ensure!(count > 0, "--count must be at least 1");
    let backend = &Backend::of(base);
    let scratch = &Scratch::new()?;
    eprintln!("bench import: {count} subjects on {}, data under {}", backend.name(), scratch.dir().display());
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
    // The generator repeats an email now and then (about 0.5% of 200,000 rows): the import skips
    // such a row as a subject already recorded. Vigie's rate counts only the subjects it wrote.
    ensure!(
        report.imported + report.skipped == count && report.rejected == 0,
        "the import wrote {} subjects, skipped {} and rejected {} rows, expected {count} in all and 0 rejected",
        report.imported,
        report.skipped,
        report.rejected
    );
    if report.skipped > 0 {
        eprintln!("  vigie: {} rows skipped as duplicates", thousands(report.skipped as f64));
    }
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

    let (v, r) = (rate(report.imported, vigie), rate(count, raw));
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
        sqlite_raw::set_cache_mib(&conn, mib)?;
        eprintln!("  raw: exploring with a {mib} MiB page cache (Vigie's store uses its own setting)");
    }
    let mut g = RawGen::new(shapes, seed);
    let at = now();
    let audit = shapes.sqlite_audit("cli");
    let started = Instant::now();
    // The rows are generated as they are inserted, inside the timed transaction.
    let rows = (0..count).map(|_| g.row(at).imported().sqlite());
    let n = sqlite_raw::insert_subjects(&mut conn, rows, at, &audit)?;
    let elapsed = started.elapsed();
    ensure!(n == count, "the raw import inserted {n} subjects, not {count}");
    Ok(elapsed)
}

/// Rows per binary COPY, as the import's chunks.
const COPY_CHUNK: usize = 4096;

fn raw_postgres_import(server: &str, count: u64, shapes: &Shapes, seed: u64) -> anyhow::Result<Duration> {
    let (db, _guard) = fresh_raw_postgres(server)?;
    let mut client = db.raw_client()?;
    let mut g = RawGen::new(shapes, seed);
    let at = now();
    let audit = shapes.pg_audit("cli");
    let started = Instant::now();
    // The rows are generated chunk by chunk, inside the timed transaction.
    let rows = (0..count).map(|_| g.row(at).imported().postgres());
    let n = pg_raw::copy_subjects(&mut client, rows, at, &audit, COPY_CHUNK)?;
    let elapsed = started.elapsed();
    ensure!(n == count, "the raw import copied {n} subjects, not {count}");
    drop(client);
    Ok(elapsed)
}

// ---- http ----

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

pub fn http(base: &Settings, plan: HttpArgs) -> anyhow::Result<()> {
    ensure!(plan.clients > 0 && plan.requests > 0, "--clients and --requests must be at least 1");
    let backend = &Backend::of(base);
    let scratch = &Scratch::new()?;
    eprintln!(
        "bench http: {} creates ({} warm-up) from {} clients on {}, data under {}",
        plan.requests,
        plan.warmup,
        plan.clients,
        backend.name(),
        scratch.dir().display()
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

async fn vigie_http(settings: &Settings, bodies: Arc<Vec<Vec<u8>>>, plan: &HttpArgs) -> anyhow::Result<Measured> {
    let app = App::open(settings)?;
    let token = app.create_token(vigie_app::audit::Actor::Cli, "staff", None, None).await?.token;
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
        let stored = app.db().read(|tx| tx.count_subjects()).await.map_err(vigie_app::AppError::from)?;
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

fn raw_sqlite_commits(path: &Path, plan: &HttpArgs, shapes: &Shapes) -> anyhow::Result<Measured> {
    let db = Sqlite::open(path)?;
    let conn = db.raw_connection()?;
    let mut ins = sqlite_raw::SubjectInserts::prepare(&conn)?;
    let mut g = RawGen::new(shapes, plan.seed);
    let actor = format!("token:{}", new_id());
    let audit = shapes.sqlite_audit(&actor);
    let mut latencies = Vec::with_capacity(usize::try_from(plan.requests)?);
    let mut started = Instant::now();
    for seq in 1..=plan.warmup + plan.requests {
        if seq == plan.warmup + 1 {
            started = Instant::now();
        }
        let t = Instant::now();
        let at = now();
        let r = g.row(at).sqlite();
        ins.commit_one(&r, i64::try_from(seq)?, at, &audit)?;
        if seq > plan.warmup {
            latencies.push(t.elapsed());
        }
    }
    Ok(Measured { wall: started.elapsed(), latencies })
}

fn raw_postgres_commits(server: &str, plan: &HttpArgs, shapes: &Shapes) -> anyhow::Result<Measured> {
    ensure!(plan.raw_threads > 0, "--raw-threads must be at least 1");
    let (db, _guard) = fresh_raw_postgres(server)?;
    let mut clients = (0..plan.raw_threads).map(|_| db.raw_client()).collect::<Result<Vec<_>, _>>()?;
    let seq = AtomicU64::new(0);
    let actor = format!("token:{}", new_id());
    let audit = shapes.pg_audit(&actor);
    let phase = |clients: &mut [pg_raw::Client], count: u64, salt: u64| -> anyhow::Result<Vec<Duration>> {
        let left = AtomicU64::new(count);
        let results = std::thread::scope(|s| {
            let handles: Vec<_> = clients
                .iter_mut()
                .enumerate()
                .map(|(i, client)| {
                    let (left, seq, audit) = (&left, &seq, &audit);
                    s.spawn(move || -> anyhow::Result<Vec<Duration>> {
                        let ins = pg_raw::SubjectInserts::prepare(client)?;
                        let mut g = RawGen::new(shapes, plan.seed ^ salt ^ ((i as u64) << 32));
                        let mut latencies = Vec::new();
                        while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                            let t = Instant::now();
                            let at = now();
                            let r = g.row(at).postgres();
                            let n = i64::try_from(seq.fetch_add(1, Ordering::Relaxed) + 1)?;
                            ins.commit_one(client, &r, n, at, audit)?;
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
