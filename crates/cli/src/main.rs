//! `vigie`: the server and the administration commands (SPEC 5.1).
//!
//! Settings come from flags, then `VIGIE_*` environment variables, then
//! defaults (data directory `./vigie-data`, listen `127.0.0.1:8080`, SQLite in
//! the data directory; `VIGIE_DATABASE_URL=postgres://…` selects PostgreSQL).

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use vigie_app::{App, Settings};
use vigie_store::Database;

#[derive(Parser)]
#[command(name = "vigie", version, about = "GDPR-native system of record for client and prospect data")]
struct Cli {
    /// The data directory: SQLite database, master key.
    #[arg(long, global = true, env = "VIGIE_DATA_DIR", default_value = "./vigie-data")]
    data_dir: PathBuf,
    /// postgres://… to use PostgreSQL instead of SQLite in the data directory.
    #[arg(long, global = true, env = "VIGIE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The master key file (default: master.key in the data directory).
    #[arg(long, global = true, env = "VIGIE_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// A policy file (default: the built-in MSI policy).
    #[arg(long, global = true, env = "VIGIE_POLICY_FILE")]
    policy: Option<PathBuf>,
    /// The EEA and adequacy-decision list (default: transfers.toml in the data directory, else built in).
    #[arg(long, global = true, env = "VIGIE_TRANSFERS_FILE")]
    transfers_file: Option<PathBuf>,
    /// The erasure journal, kept apart from backups (default: erasures.journal in the data directory).
    #[arg(long, global = true, env = "VIGIE_ERASURE_JOURNAL")]
    erasure_journal: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server; initialises a fresh data directory and prints the first admin token once.
    Serve {
        #[arg(long, env = "VIGIE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// When the daily retention sweep runs (HH:MM, UTC), or `off`.
        #[arg(long, env = "VIGIE_RETENTION_SWEEP_AT", default_value = "03:00")]
        retention_sweep_at: String,
        /// The daily sweep erases nothing, and waits for the DPO, when more than this share
        /// of all subjects is due at once (percent, e.g. 5 or 5%).
        #[arg(long, env = "VIGIE_RETENTION_SWEEP_MAX_SHARE", default_value = "5%")]
        retention_sweep_max_share: String,
        /// Delivers notices by SMTP: smtp://user:password@host:587?tls=required (STARTTLS), smtps://… (TLS).
        #[arg(long, env = "VIGIE_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// The sender of notices (default: the controller, at the DPO's address).
        #[arg(long, env = "VIGIE_SMTP_FROM")]
        smtp_from: Option<String>,
        /// Writes notices as .eml files in this directory instead (development).
        #[arg(long, env = "VIGIE_OUTBOX_DIR")]
        outbox_dir: Option<PathBuf>,
        /// How often the outbox is delivered, in milliseconds.
        #[arg(long, env = "VIGIE_OUTBOX_INTERVAL_MS", default_value_t = 2000)]
        outbox_interval_ms: u64,
        /// Seconds a client has to send a request's headers (and to start its next request).
        #[arg(long, env = "VIGIE_HTTP_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=30))]
        http_header_timeout_secs: u64,
        /// Seconds a client has to send a request's body.
        #[arg(long, env = "VIGIE_HTTP_BODY_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
        http_body_timeout_secs: u64,
        /// Connections served at once; more are closed when accepted.
        #[arg(long, env = "VIGIE_HTTP_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=65536))]
        http_max_connections: u64,
        /// Submissions of the public rights form per client address and minute (429 beyond).
        #[arg(long, env = "VIGIE_RIGHTS_FORM_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10000))]
        rights_form_per_minute: u32,
        /// Calls with a token per client address and minute (429 beyond); 0: unlimited.
        #[arg(long, env = "VIGIE_API_PER_MINUTE", default_value_t = 60_000)]
        api_per_minute: u32,
    },
    /// Initialises the data directory (master key, database) and prints the first admin token once.
    Init,
    /// Policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Imports subjects from a CSV file (all or nothing unless --skip-invalid).
    Import {
        file: PathBuf,
        /// Imports the valid rows and reports the others.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// The suppression list (people who objected to prospecting).
    Suppression {
        #[command(subcommand)]
        command: SuppressionCommand,
    },
    /// Retention: what is due for erasure, and the sweep that erases it.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Writes a consistent backup of the database to FILE (the server may run). It holds no
    /// plaintext personal value; keep the master key and the erasure journal apart from it.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Restores a backup onto this installation, stopped; every subject erased since the backup
    /// (per the erasure journal and the current database) is erased again.
    Restore { file: PathBuf },
    /// The master key.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Checks the installation: the master key against the database, the database's
    /// integrity (SQLite `integrity_check`), and the audit chain. Exit 1 on any problem.
    Check,
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The register of processing activities (GDPR Art. 30), from the policy and the live data.
    Register {
        #[command(subcommand)]
        command: RegisterCommand,
    },
    /// Writes deterministic French-looking test identities as CSV.
    Generate {
        #[arg(long, default_value_t = 1000)]
        count: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Prints the privacy notice generated from the policy (needs no database).
    Notice {
        /// fr or en.
        #[arg(long, default_value = "fr")]
        lang: String,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Checks a policy file and reports every problem with its line.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum SuppressionCommand {
    /// Takes an email or a phone off the list, at the person's request (audited without the value).
    Lift {
        #[arg(long, conflicts_with = "phone", required_unless_present = "phone")]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Lists the subjects due for erasure at a date (default today), the held ones apart, and a forecast.
    Plan {
        /// YYYY-MM-DD.
        #[arg(long)]
        at: Option<String>,
        /// Prints the plan as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Erases every subject due at a date (default today).
    Apply {
        /// YYYY-MM-DD.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates a token and prints it alone on one line.
    Create {
        #[arg(long)]
        role: String,
        /// For the recipient role: the policy recipient id.
        #[arg(long)]
        recipient: Option<String>,
        /// Refused after this long: a whole number and s, m, h, d or w (90d, 12h, 1s).
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// Lists every token: id, role, recipient, created, last used, expiry, revoked (never a secret).
    List,
    /// Revokes a token: it is refused from then on.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Re-wraps every key under a new master key in one transaction; the new file replaces the
    /// old one once it has committed (copy it to where you keep the key's copy).
    Rotate,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verifies the hash chain; exits non-zero and names the entry on any alteration.
    Verify {
        /// A checkpoint printed by `vigie audit checkpoint`: also proves the trail extends it.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Prints a signed head of the trail (seq, hash, time) as JSON, to keep outside Vigie:
    /// `audit verify --checkpoint FILE` later proves the trail was not rolled back past it.
    Checkpoint,
}

#[derive(Subcommand)]
enum RegisterCommand {
    /// Writes the register to a file.
    Export {
        #[arg(long, value_enum)]
        format: RegisterFormat,
        #[arg(long)]
        out: PathBuf,
        /// The language of the XLSX, CSV and HTML exports: fr or en.
        #[arg(long, default_value = "fr")]
        lang: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RegisterFormat {
    Xlsx,
    Csv,
    Json,
    Html,
}

fn main() -> ExitCode {
    // Whatever Vigie creates (the database and its WAL, backups, notices written to a
    // directory, the erasure journal) is its user's alone.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Serve { .. }) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigie: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The binary picks the backend: PostgreSQL for a `postgres://` URL, SQLite in the data
/// directory otherwise. Another URL is refused when the database is first needed.
fn database(data_dir: &std::path::Path, url: Option<&str>) -> Arc<dyn Database> {
    match url.filter(|u| !u.is_empty()) {
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Arc::new(vigie_store_postgres::PostgresUrl::new(u))
        }
        Some(_) => Arc::new(NotSupported),
        None => Arc::new(vigie_store_sqlite::SqliteFile::in_dir(data_dir)),
    }
}

/// A database URL of a kind Vigie does not run on.
struct NotSupported;

impl NotSupported {
    fn refuse<T>(&self) -> vigie_store::Result<T> {
        Err(vigie_store::StoreError::Backend("VIGIE_DATABASE_URL must start with postgres://".into()))
    }
}

impl Database for NotSupported {
    fn found(&self) -> vigie_store::Result<vigie_store::Found> {
        self.refuse()
    }
    fn describe(&self) -> String {
        "an unsupported database".into()
    }
    fn open(&self) -> vigie_store::Result<Arc<dyn vigie_store::Backend>> {
        self.refuse()
    }
    fn unopened(&self) -> vigie_store::Result<Arc<dyn vigie_store::Backend>> {
        self.refuse()
    }
    fn schema_version(&self) -> i64 {
        0
    }
}

fn settings(cli: &Cli) -> Settings {
    Settings {
        data_dir: cli.data_dir.clone(),
        database: database(&cli.data_dir, cli.database_url.as_deref()),
        master_key_file: cli.master_key_file.clone(),
        policy_file: cli.policy.clone(),
        transfers_file: cli.transfers_file.clone(),
        erasure_journal: cli.erasure_journal.clone(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = settings(&cli);
    match cli.command {
        Command::Serve {
            listen,
            retention_sweep_at,
            retention_sweep_max_share,
            smtp_url,
            smtp_from,
            outbox_dir,
            outbox_interval_ms,
            http_header_timeout_secs,
            http_body_timeout_secs,
            http_max_connections,
            rights_form_per_minute,
            api_per_minute,
        } => {
            let limits = vigie_web::HttpLimits {
                header_timeout: std::time::Duration::from_secs(http_header_timeout_secs),
                body_timeout: std::time::Duration::from_secs(http_body_timeout_secs),
                max_connections: usize::try_from(http_max_connections).unwrap_or(1024),
                form_per_minute: std::num::NonZeroU32::new(rights_form_per_minute).unwrap_or(std::num::NonZeroU32::MIN),
                api_per_minute: std::num::NonZeroU32::new(api_per_minute),
            };
            let sweep_at = parse_sweep_time(&retention_sweep_at)?;
            let max_share = parse_share(&retention_sweep_max_share)?;
            let mail = vigie_app::outbox::MailSettings { smtp_url, from: smtp_from, dir: outbox_dir };
            // The address first: a busy port fails before anything is initialised (no key, no
            // database, no admin token is made for a server that cannot serve).
            let listener =
                std::net::TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
            listener.set_nonblocking(true)?;
            let transport = vigie_app::outbox::Transport::from_settings(&mail).map_err(anyhow::Error::msg)?;
            let app = App::open(&settings)?;
            // Held for the server's life: `vigie restore` refuses to run beside it.
            let _instance = app.db().instance_lock()?;
            let from = app.mail_from(&mail).map_err(anyhow::Error::msg)?;
            if let Ok((_, warnings)) = vigie_app::load_policy(&settings) {
                for w in warnings {
                    tracing::warn!(line = w.line, "policy: {}", w.message);
                }
            }
            let rt = runtime()?;
            rt.block_on(async move {
                if let Some(token) = app.bootstrap_admin().await? {
                    println!("vigie: first admin token (shown once): {token}");
                }
                if let Some(vigie_app::outbox::Transport::Directory(dir)) = &transport {
                    let deleted = app.use_mail_dir(dir.clone()).await?;
                    if deleted > 0 {
                        tracing::info!(deleted, "outbox directory: files of erased subjects deleted");
                    }
                }
                let listener = tokio::net::TcpListener::from_std(listener)?;
                println!("vigie: listening on http://{}", listener.local_addr()?);
                if let Some(time) = sweep_at {
                    tokio::spawn(sweep_daily(app.clone(), time, max_share));
                }
                tokio::spawn(watch_policy(app.clone()));
                match transport {
                    Some(t) => {
                        tokio::spawn(deliver(app.clone(), t, from, outbox_interval_ms));
                    }
                    None => tracing::warn!(
                        "no mail transport configured (VIGIE_SMTP_URL or VIGIE_OUTBOX_DIR): notices wait in the outbox"
                    ),
                }
                vigie_web::serve_with(app, listener, limits).await.context("server failed")
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init => {
            let app = App::open(&settings)?;
            let rt = runtime()?;
            match rt.block_on(app.bootstrap_admin())? {
                Some(token) => println!("{token}"),
                None => eprintln!("vigie: {} is already initialised", settings.data_dir.display()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy { command: PolicyCommand::Check { file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let checked = vigie_domain::Policy::from_toml(&text);
            for d in &checked.diagnostics {
                println!("{}:{d}", file.display());
            }
            let errors = checked.errors().count();
            let warnings = checked.warnings().count();
            if errors > 0 {
                println!("{}: {errors} error(s), {warnings} warning(s): the policy is invalid", file.display());
                Ok(ExitCode::FAILURE)
            } else {
                println!("{}: valid, {warnings} warning(s)", file.display());
                Ok(ExitCode::SUCCESS)
            }
        }
        Command::Import { file, skip_invalid } => {
            let app = App::open(&settings)?;
            let started = std::time::Instant::now();
            let report = app.import_csv(&file, skip_invalid)?;
            for e in &report.errors {
                eprintln!("{}:{}: {}", file.display(), e.line, e.message);
            }
            if report.rejected as usize > report.errors.len() {
                eprintln!("… and {} more bad rows", report.rejected as usize - report.errors.len());
            }
            for d in &report.duplicates {
                println!("line {}: {}", d.line, d.message);
            }
            if report.skipped as usize > report.duplicates.len() {
                println!("… and {} more rows already recorded", report.skipped as usize - report.duplicates.len());
            }
            if report.rejected > 0 && !skip_invalid {
                eprintln!(
                    "vigie: {} bad row(s): nothing was imported (use --skip-invalid to import the valid rows)",
                    report.rejected
                );
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "imported {} subject(s), rejected {} row(s), skipped {} already recorded, in {:.2} s",
                report.imported,
                report.rejected,
                report.skipped,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Suppression { command: SuppressionCommand::Lift { email, phone } } => {
            let app = App::open(&settings)?;
            let input = vigie_app::rights::suppression::LiftSuppression { email, phone };
            runtime()?.block_on(app.lift_suppression_by(vigie_app::audit::Actor::Cli, input))?;
            println!("lifted: the person may be recorded as a prospect again");
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention { command } => {
            let app = App::open(&settings)?;
            let rt = runtime()?;
            // The CLI acts as the DPO would, with its own audit actor.
            match command {
                RetentionCommand::Plan { at, json } => {
                    let at = vigie_app::retention::parse_at(at.as_deref(), app.now().date_naive())?;
                    let plan = rt.block_on(app.retention_plan_by(vigie_app::audit::Actor::Cli, at, usize::MAX))?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&plan)?);
                    } else {
                        println!("retention plan at {}: {} due, {} held", plan.at, plan.due_count, plan.held.len());
                        for d in &plan.due {
                            let basis = d.basis_date.map(|b| b.to_string()).unwrap_or_default();
                            println!(
                                "due   {}  {:8}  {:20}  basis {basis}  expired {}",
                                d.subject_id, d.kind, d.rule, d.expires_on
                            );
                        }
                        for h in &plan.held {
                            println!(
                                "held  {}  {:8}  {:20}  expired {}  ({})",
                                h.due.subject_id,
                                h.due.kind,
                                h.due.rule,
                                h.due.expires_on,
                                h.held_by.replace('_', " ")
                            );
                        }
                        if plan.to_review_count > 0 {
                            println!(
                                "{} client(s) without contract: to review (no retention clock, never erased by the sweep)",
                                plan.to_review_count
                            );
                            for r in &plan.to_review {
                                println!(
                                    "review {}  client    collected {}",
                                    r.subject_id,
                                    r.collected_at.date_naive()
                                );
                            }
                        }
                        let forecast: Vec<String> =
                            plan.forecast.iter().map(|m| format!("{} {}", m.month, m.expiring)).collect();
                        println!("forecast: {}", forecast.join(", "));
                    }
                }
                RetentionCommand::Apply { at } => {
                    let at = vigie_app::retention::parse_at(at.as_deref(), app.now().date_naive())?;
                    let report = rt.block_on(app.retention_apply(vigie_app::audit::Actor::Cli, at))?;
                    println!("retention applied at {}: {} erased, {} held", report.at, report.erased, report.held);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { command: TokenCommand::List } => {
            let app = App::open(&settings)?;
            for t in runtime()?.block_on(app.list_tokens_by())? {
                let time =
                    |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or_else(|| "-".to_string(), |t| t.to_rfc3339());
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(at), _) => format!("revoked {}", at.to_rfc3339()),
                    (None, Some(e)) if e <= app.now() => format!("expired {}", e.to_rfc3339()),
                    _ => "active".to_string(),
                };
                let recipient = t.recipient.unwrap_or_else(|| "-".into());
                println!(
                    "{}  {:<9}  {:<14}  created {}  last used {}  expires {}  {state}",
                    t.id,
                    t.role,
                    recipient,
                    t.created_at.to_rfc3339(),
                    time(t.last_used_at),
                    time(t.expires_at),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { command: TokenCommand::Revoke { id } } => {
            let id =
                vigie_store::Uuid::parse_str(&id).map_err(|_| anyhow::anyhow!("{id} is not a token id (a UUID)"))?;
            let app = App::open(&settings)?;
            runtime()?.block_on(app.revoke_token_by(vigie_app::audit::Actor::Cli, id))?;
            println!("token {id} revoked");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { command: TokenCommand::Create { role, recipient, expires_in } } => {
            let expires_in = expires_in.as_deref().map(vigie_app::auth::parse_lifetime).transpose()?;
            let app = App::open(&settings)?;
            let issued = app.create_token_blocking(&role, recipient.as_deref(), expires_in)?;
            println!("{}", issued.token);
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { out } => {
            let app = App::open(&settings)?;
            let started = std::time::Instant::now();
            let report = app.backup(&out)?;
            println!(
                "backup written to {} in {:.2} s (audit entry {}); keep the master key and {} apart from it",
                out.display(),
                started.elapsed().as_secs_f64(),
                report.head_seq,
                vigie_app::backup::Journal::new(&settings).path().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file } => {
            let started = std::time::Instant::now();
            let report = vigie_app::backup::restore(&settings, &file)?;
            // Opening the restored installation replays the journal and records the restore.
            let app = App::open(&settings)?;
            let v = runtime()?.block_on(app.verify_audit())?;
            println!(
                "restored {} (audit head {} at the backup) in {:.2} s; {} journalled erasure(s) checked; audit trail {}",
                file.display(),
                report.backup_head_seq,
                started.elapsed().as_secs_f64(),
                report.journalled,
                if v.valid { "valid" } else { "INVALID" }
            );
            Ok(if v.valid { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Key { command: KeyCommand::Rotate } => {
            let n = vigie_app::rotate_master_key(&settings)?;
            println!(
                "master key rotated: {n} key(s) re-wrapped; {} is the new key: replace every copy you keep of the old one",
                settings.master_key_path().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let app = App::open(&settings).context("the installation is not usable")?;
            println!("master key: matches the database");
            let store = app.db().clone();
            store.integrity_check().context("the database failed its integrity check")?;
            println!("database: integrity ok ({})", store.backend_name());
            let v = runtime()?.block_on(app.verify_audit())?;
            Ok(report_verification(v))
        }
        Command::Audit { command: AuditCommand::Checkpoint } => {
            let app = App::open(&settings)?;
            let cp = runtime()?.block_on(app.audit_checkpoint())?;
            println!("{}", serde_json::to_string(&cp)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Verify { checkpoint } } => {
            let app = App::open(&settings)?;
            let v = match checkpoint {
                None => runtime()?.block_on(app.verify_audit())?,
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                    let cp: vigie_app::governance::trail::Checkpoint =
                        serde_json::from_str(text.trim()).with_context(|| {
                            format!("{} is not a checkpoint printed by vigie audit checkpoint", path.display())
                        })?;
                    let v = runtime()?.block_on(app.verify_audit_extends(&cp))?;
                    if v.valid {
                        println!("the trail extends the checkpoint of {} (entry {})", cp.at, cp.seq);
                    }
                    v
                }
            };
            Ok(report_verification(v))
        }
        Command::Register { command: RegisterCommand::Export { format, out, lang } } => {
            use vigie_app::governance::register;
            let lang: vigie_domain::Lang = lang.parse()?;
            let app = App::open(&settings)?;
            let reg = runtime()?.block_on(app.register_export())?;
            let bytes = match format {
                RegisterFormat::Xlsx => register::to_xlsx(&reg, lang)?,
                RegisterFormat::Csv => register::to_csv(&reg, lang).into_bytes(),
                RegisterFormat::Json => register::to_json(&reg).into_bytes(),
                RegisterFormat::Html => register::to_html(&reg, lang)?.into_bytes(),
            };
            std::fs::write(&out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
            println!("register written to {}: {} processing activities", out.display(), reg.activities.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate { count, seed, out } => {
            use std::io::Write;
            let mut w: Box<dyn Write> = match out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(&p).with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut g = vigie_app::subjects::generate::Generator::new(seed);
            writeln!(w, "{}", vigie_app::subjects::generate::Generator::CSV_HEADER)?;
            for _ in 0..count {
                writeln!(w, "{}", vigie_app::subjects::generate::Generator::csv_row(&g.person()))?;
            }
            w.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Notice { lang } => {
            use std::io::Write;
            let lang: vigie_app::governance::notice::Lang = lang.parse()?;
            let (policy, _) = vigie_app::load_policy(&settings)?;
            let transfers = vigie_app::load_transfers(&settings)?;
            let text = vigie_app::governance::notice::render_text(&policy, &transfers, lang)?;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints the outcome of an audit verification; the exit code says it too.
fn report_verification(v: vigie_app::governance::trail::Verification) -> ExitCode {
    if v.valid {
        println!("audit trail valid: {} entries", v.entries);
        ExitCode::SUCCESS
    } else {
        eprintln!("audit trail INVALID after {} valid entries: {}", v.entries, v.problem.unwrap_or_default());
        ExitCode::FAILURE
    }
}

/// Parses `HH:MM` (UTC) or `off`.
fn parse_sweep_time(raw: &str) -> anyhow::Result<Option<chrono::NaiveTime>> {
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    chrono::NaiveTime::parse_from_str(raw, "%H:%M")
        .map(Some)
        .map_err(|_| anyhow::anyhow!("--retention-sweep-at must be HH:MM (UTC) or off, not `{raw}`"))
}

/// Parses a share in percent: `5`, `5%`, `0.5`, from 0 to 100.
fn parse_share(raw: &str) -> anyhow::Result<f64> {
    let v: f64 =
        raw.trim().trim_end_matches('%').trim().parse().map_err(|_| {
            anyhow::anyhow!("--retention-sweep-max-share must be a percentage from 0 to 100, not `{raw}`")
        })?;
    if !(0.0..=100.0).contains(&v) {
        bail!("--retention-sweep-max-share must be a percentage from 0 to 100, not `{raw}`");
    }
    Ok(v)
}

/// Runs the retention sweep once a day at `time` (UTC). Instances sharing a
/// database take a lease on the job, so it never runs twice at once or twice a day.
async fn sweep_daily(app: App, time: chrono::NaiveTime, max_share: f64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    // A failed sweep leaves the day unmarked: it is tried again, waiting longer each time.
    let mut backoff = std::time::Duration::from_secs(60);
    loop {
        tick.tick().await;
        let now = app.now();
        if now.time() < time {
            continue;
        }
        match app.scheduled_sweep(now.date_naive(), max_share).await {
            Ok(Some(r)) if r.braked.is_some() => {
                let message = r.braked.map(|b| b.message).unwrap_or_default();
                tracing::warn!("daily retention sweep stopped: {message}");
            }
            Ok(Some(r)) => tracing::info!(erased = r.erased, held = r.held, "daily retention sweep done"),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, retry_in_s = backoff.as_secs(), "daily retention sweep failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30 * 60));
                continue;
            }
        }
        backoff = std::time::Duration::from_secs(60);
    }
}

/// Delivers the outbox in rounds, until the server stops.
async fn deliver(app: App, transport: vigie_app::outbox::Transport, from: vigie_app::outbox::Mailbox, every_ms: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(every_ms.max(10)));
    loop {
        tick.tick().await;
        loop {
            match app.deliver_outbox(&transport, &from).await {
                Ok((0, 0)) => break,
                Ok((sent, failed)) => tracing::info!(sent, failed, "outbox delivered"),
                Err(e) => {
                    tracing::error!(error = %e, "outbox delivery failed");
                    break;
                }
            }
        }
    }
}

/// Puts policy revisions into force when their date has come and every notice
/// is sent, and picks up a version another instance put into force.
async fn watch_policy(app: App) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tick.tick().await;
        match app.activate_due_versions(chrono::Utc::now().date_naive()).await {
            Ok(Some(v)) => tracing::info!(version = %v, "policy revision in force"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "policy revision check failed"),
        }
    }
}
