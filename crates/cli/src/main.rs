//! `vigie`: the server and the administration commands (SPEC 5.1).
//!
//! Settings come from flags, then `VIGIE_*` environment variables, then a TOML
//! file (`--config`, `VIGIE_CONFIG`), then defaults (data directory `./vigie-data`,
//! listen `127.0.0.1:8080`, SQLite in the data directory;
//! `VIGIE_DATABASE_URL=postgres://…` selects PostgreSQL): see `settings.rs`.

mod settings;

use anyhow::{Context, bail};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde::Serialize;
use settings::{Config, Origin};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use vigie_app::{App, Settings};
use vigie_store::Database;

#[derive(Parser)]
#[command(name = "vigie", version, about = "GDPR-native system of record for client and prospect data")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// The settings every command reads. Each is also a key of the config file; unset here, it
/// comes from the file, else its default (see `vigie config default`).
#[derive(clap::Args, Serialize)]
struct GlobalArgs {
    /// A TOML file of settings (`vigie config default` prints one); variables and flags override it.
    #[arg(long, global = true, env = "VIGIE_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// The data directory: SQLite database, master key [default: ./vigie-data].
    #[arg(long, global = true, env = "VIGIE_DATA_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of SQLite in the data directory.
    #[arg(long, global = true, env = "VIGIE_DATABASE_URL", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// A file holding the database password (its first line), kept out of the URL.
    #[arg(long, global = true, env = "VIGIE_DATABASE_PASSWORD_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_password_file: Option<PathBuf>,
    /// The master key file (default: master.key in the data directory).
    #[arg(long, global = true, env = "VIGIE_MASTER_KEY_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    master_key_file: Option<PathBuf>,
    /// A policy file (default: the built-in MSI policy).
    #[arg(long = "policy", global = true, env = "VIGIE_POLICY_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_file: Option<PathBuf>,
    /// The EEA and adequacy-decision list (default: transfers.toml in the data directory, else built in).
    #[arg(long, global = true, env = "VIGIE_TRANSFERS_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    transfers_file: Option<PathBuf>,
    /// The erasure journal, kept apart from backups (default: erasures.journal in the data directory).
    #[arg(long, global = true, env = "VIGIE_ERASURE_JOURNAL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    erasure_journal: Option<PathBuf>,
    /// The log filter (default: info for serve, warn otherwise), e.g. `info,vigie_web=debug`.
    #[arg(long, global = true, env = "VIGIE_LOG")]
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    /// How log lines are written [default: text].
    #[arg(long, global = true, env = "VIGIE_LOG_FORMAT", value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<settings::LogFormat>,
}

/// The server's settings (also keys of the config file).
#[derive(clap::Args, Serialize)]
struct ServeArgs {
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "VIGIE_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    /// Also serves /metrics, without a token, on this address (default: off; on the main
    /// address /metrics needs an admin or auditor token).
    #[arg(long, env = "VIGIE_METRICS_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<String>,
    /// When the daily retention sweep runs (HH:MM, UTC), or `off` [default: 03:00].
    #[arg(long, env = "VIGIE_RETENTION_SWEEP_AT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    retention_sweep_at: Option<String>,
    /// The daily sweep erases nothing, and waits for the DPO, when more than this share
    /// of all subjects is due at once (percent, e.g. 5 or 5%) [default: 5%].
    #[arg(long, env = "VIGIE_RETENTION_SWEEP_MAX_SHARE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    retention_sweep_max_share: Option<String>,
    /// Delivers notices by SMTP: smtp://user:password@host:587?tls=required (STARTTLS), smtps://… (TLS).
    #[arg(long, env = "VIGIE_SMTP_URL", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_url: Option<String>,
    /// A file holding the SMTP password (its first line), kept out of the URL.
    #[arg(long, env = "VIGIE_SMTP_PASSWORD_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_password_file: Option<PathBuf>,
    /// The sender of notices (default: the controller, at the DPO's address).
    #[arg(long, env = "VIGIE_SMTP_FROM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp_from: Option<String>,
    /// Writes notices as .eml files in this directory instead (development).
    #[arg(long, env = "VIGIE_OUTBOX_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    outbox_dir: Option<PathBuf>,
    /// How often the outbox is delivered, in milliseconds [default: 2000].
    #[arg(long, env = "VIGIE_OUTBOX_INTERVAL_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    outbox_interval_ms: Option<u64>,
    /// The address people reach this server at (e.g. https://rgpd.example.fr), for the links
    /// sent by email (identity confirmation); without it no such link is sent.
    #[arg(long, env = "VIGIE_PUBLIC_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    /// Seconds a client has to send a request's headers (and to start its next request) [default: 10, 1 to 30].
    #[arg(long, env = "VIGIE_HTTP_HEADER_TIMEOUT_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    http_header_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request's body [default: 30, 1 to 600].
    #[arg(long, env = "VIGIE_HTTP_BODY_TIMEOUT_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    http_body_timeout_secs: Option<u64>,
    /// Connections served at once; more are closed when accepted [default: 1024, 1 to 65536].
    #[arg(long, env = "VIGIE_HTTP_MAX_CONNECTIONS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    http_max_connections: Option<u64>,
    /// Submissions of the public rights form per client address and minute (429 beyond) [default: 10, 1 to 10000].
    #[arg(long, env = "VIGIE_RIGHTS_FORM_PER_MINUTE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    rights_form_per_minute: Option<u32>,
    /// Calls with a token per client address and minute (429 beyond); 0: unlimited [default: 60000].
    #[arg(long, env = "VIGIE_API_PER_MINUTE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    api_per_minute: Option<u32>,
    /// Minutes a console session lasts unused before it expires (and is deleted) [default: 30, 1 to 1440].
    #[arg(long, env = "VIGIE_SESSION_IDLE_MINUTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    session_idle_minutes: Option<u64>,
    /// The same as a duration (`30m`, `2h`, `45s`, at most 24h): overrides session_idle_minutes.
    #[arg(long, env = "VIGIE_SESSION_IDLE", value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    session_idle: Option<String>,
    /// Failed console logins per account and minute before 429 (per client address: four times as many) [default: 5, 1 to 1000].
    #[arg(long, env = "VIGIE_LOGIN_FAILURES_PER_MINUTE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    login_failures_per_minute: Option<u32>,
}

#[derive(Subcommand)]
// Parsed once at start: the server's many settings make one variant large, which costs nothing.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Runs the server; initialises a fresh data directory and prints the first admin token once.
    Serve(ServeArgs),
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
        /// A row matching one subject already recorded (same email or phone) updates it with the
        /// fields it gives (an empty field erases nothing) instead of being skipped.
        #[arg(long)]
        update: bool,
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
    /// People's accounts for the console (admin, dpo, staff, auditor).
    User {
        #[command(subcommand)]
        command: UserCommand,
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
    /// The settings file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Copies this installation (server stopped) into an empty database of the other backend,
    /// then verifies the copy: row counts, the audit chain, a sample of subjects decrypted.
    Migrate {
        /// postgres://… (from SQLite), or sqlite:PATH or a path (from PostgreSQL): the database
        /// file to create (a directory: vigie.db in it).
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Prints a shell completion script (e.g. `vigie completions bash > /etc/bash_completion.d/vigie`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Prints the manual page (roff), e.g. `vigie man > /usr/local/share/man/man1/vigie.1`.
    Man,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Prints a commented settings file with every setting at its default (`--config` accepts it as is).
    Default,
    /// Prints the settings in effect (file, variables and flags merged; secrets hidden).
    Show,
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
enum UserCommand {
    /// Creates an account and prints its generated first password alone on one line (to be
    /// changed at the first login); with --password-stdin, reads the person's own password instead.
    Create {
        #[arg(long)]
        email: String,
        /// admin, dpo, staff or auditor.
        #[arg(long)]
        role: String,
        /// Reads the password from standard input (its first line): the person's own, not asked again.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists every account: email, role, state, created, last login (never a password or hash).
    List,
    /// Disables an account: it logs in no more, and its sessions end.
    Disable { email: String },
    /// Gives an account a new generated password, printed alone on one line, to be changed at
    /// the next login; its sessions end.
    ResetPassword { email: String },
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
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // What needs no settings (and must work whatever a config file says).
    match &cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "vigie", &mut script);
            return match std::io::Write::write_all(&mut std::io::stdout(), &script) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vigie: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Man => {
            return match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vigie: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Config { command: ConfigCommand::Default } => {
            print!("{}", settings::default_file());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let loaded = match given(&cli, &matches).and_then(|given| settings::load(cli.global.config.as_deref(), given)) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("vigie: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let default_level = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_new(loaded.0.log.as_deref().unwrap_or(default_level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match loaded.0.log_format {
        settings::LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
        settings::LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
    match run(cli, loaded) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigie: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The settings clap read, each with where it came from (a flag or a `VIGIE_*` variable).
fn given(cli: &Cli, matches: &clap::ArgMatches) -> anyhow::Result<Vec<(String, figment::value::Value, Origin)>> {
    let mut out = Vec::new();
    let mut take = |args: figment::value::Value, levels: &[&clap::ArgMatches]| {
        for (key, value) in args.into_dict().unwrap_or_default() {
            let source = levels.iter().find_map(|m| m.try_get_raw(&key).ok().flatten().and(m.value_source(&key)));
            match source {
                Some(clap::parser::ValueSource::CommandLine) => out.push((key, value, Origin::Flag)),
                Some(clap::parser::ValueSource::EnvVariable) => out.push((key, value, Origin::Variable)),
                _ => {}
            }
        }
    };
    let sub = matches.subcommand().map(|(_, m)| m);
    let levels: Vec<&clap::ArgMatches> = std::iter::once(matches).chain(sub).collect();
    take(figment::value::Value::serialize(&cli.global)?, &levels);
    if let (Command::Serve(args), Some(sub)) = (&cli.command, sub) {
        take(figment::value::Value::serialize(args)?, &[sub]);
    }
    Ok(out)
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

/// The database URL with the password of `database_password_file`, if set.
fn database_url(config: &Config) -> anyhow::Result<Option<String>> {
    match (&config.database_url, &config.database_password_file) {
        (Some(url), Some(file)) if !url.is_empty() => {
            let password = settings::read_secret("database_password_file", file)?;
            Ok(Some(settings::with_password("database_url", url, &password)?))
        }
        (_, Some(_)) => bail!("database_password_file is set but database_url is not: it is PostgreSQL's password"),
        (url, None) => Ok(url.clone()),
    }
}

fn app_settings(config: &Config) -> anyhow::Result<Settings> {
    Ok(Settings {
        data_dir: config.data_dir.clone(),
        database: database(&config.data_dir, database_url(config)?.as_deref()),
        master_key_file: config.master_key_file.clone(),
        policy_file: config.policy_file.clone(),
        transfers_file: config.transfers_file.clone(),
        erasure_journal: config.erasure_journal.clone(),
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")
}

fn run(cli: Cli, (config, figment): (Config, figment::Figment)) -> anyhow::Result<ExitCode> {
    if let Command::Config { command: ConfigCommand::Show } = cli.command {
        println!("{config:#?}");
        return Ok(ExitCode::SUCCESS);
    }
    let settings = app_settings(&config)?;
    match cli.command {
        Command::Serve(_) => {
            let c = &config;
            let within = |key: &str, v: u64, lo: u64, hi: u64| -> anyhow::Result<u64> {
                if (lo..=hi).contains(&v) {
                    Ok(v)
                } else {
                    bail!("{} must be from {lo} to {hi}, not {v}", settings::origin_of(&figment, key))
                }
            };
            let limits = vigie_web::HttpLimits {
                header_timeout: std::time::Duration::from_secs(within(
                    "http_header_timeout_secs",
                    c.http_header_timeout_secs,
                    1,
                    30,
                )?),
                body_timeout: std::time::Duration::from_secs(within(
                    "http_body_timeout_secs",
                    c.http_body_timeout_secs,
                    1,
                    600,
                )?),
                max_connections: usize::try_from(within("http_max_connections", c.http_max_connections, 1, 65536)?)
                    .unwrap_or(1024),
                form_per_minute: std::num::NonZeroU32::new(
                    u32::try_from(within("rights_form_per_minute", c.rights_form_per_minute.into(), 1, 10_000)?)
                        .unwrap_or(10),
                )
                .unwrap_or(std::num::NonZeroU32::MIN),
                api_per_minute: std::num::NonZeroU32::new(c.api_per_minute),
                login_failures_per_minute: std::num::NonZeroU32::new(
                    u32::try_from(within("login_failures_per_minute", c.login_failures_per_minute.into(), 1, 1000)?)
                        .unwrap_or(5),
                )
                .unwrap_or(std::num::NonZeroU32::MIN),
                session_idle: match c.session_idle.as_deref() {
                    Some(text) => vigie_app::auth::parse_lifetime(text)
                        .ok()
                        .and_then(|d| d.to_std().ok())
                        .filter(|d| d.as_secs() <= 86_400)
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "{} must be a duration such as 30m, 2h or 45s, at most 24h",
                                settings::origin_of(&figment, "session_idle")
                            )
                        })?,
                    None => std::time::Duration::from_secs(
                        within("session_idle_minutes", c.session_idle_minutes, 1, 1440)? * 60,
                    ),
                },
            };
            let sweep_at = parse_sweep_time(&c.retention_sweep_at)
                .map_err(|e| anyhow::anyhow!("{} {e}", settings::origin_of(&figment, "retention_sweep_at")))?;
            let max_share = match &c.retention_sweep_max_share {
                settings::Share::Number(v) => parse_share(&v.to_string()),
                settings::Share::Text(t) => parse_share(t),
            }
            .map_err(|e| anyhow::anyhow!("{} {e}", settings::origin_of(&figment, "retention_sweep_max_share")))?;
            let smtp_url = match (&c.smtp_url, &c.smtp_password_file) {
                (Some(url), Some(file)) => {
                    let password = settings::read_secret("smtp_password_file", file)?;
                    Some(settings::with_password("smtp_url", url, &password)?)
                }
                (None, Some(_)) => bail!("smtp_password_file is set but smtp_url is not"),
                (url, None) => url.clone(),
            };
            let mail =
                vigie_app::outbox::MailSettings { smtp_url, from: c.smtp_from.clone(), dir: c.outbox_dir.clone() };
            let listen = c.listen.clone();
            let outbox_interval_ms = c.outbox_interval_ms;
            // The address first: a busy port fails before anything is initialised (no key, no
            // database, no admin token is made for a server that cannot serve).
            let listener =
                std::net::TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
            listener.set_nonblocking(true)?;
            let metrics_listener = match &c.metrics_listen {
                Some(addr) => {
                    let l = std::net::TcpListener::bind(addr)
                        .with_context(|| format!("cannot listen on {addr} (metrics_listen)"))?;
                    l.set_nonblocking(true)?;
                    Some(l)
                }
                None => None,
            };
            let transport = vigie_app::outbox::Transport::from_settings(&mail).map_err(anyhow::Error::msg)?;
            let public_url = c
                .public_url
                .as_deref()
                .map(vigie_app::public_url)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{} {e}", settings::origin_of(&figment, "public_url")))?;
            let app = App::open(&settings)?;
            if let Some(url) = public_url {
                app.use_public_url(url);
            }
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
                if let Some(l) = metrics_listener {
                    let l = tokio::net::TcpListener::from_std(l)?;
                    println!("vigie: metrics on http://{}/metrics", l.local_addr()?);
                    let app = app.clone();
                    tokio::spawn(async move {
                        if let Err(e) = vigie_web::metrics::serve_metrics(app, l).await {
                            tracing::error!(error = %e, "the metrics listener stopped");
                        }
                    });
                }
                println!("vigie: listening on http://{}", listener.local_addr()?);
                if let Some(time) = sweep_at {
                    tokio::spawn(sweep_daily(app.clone(), time, max_share));
                }
                tokio::spawn(watch_policy(app.clone()));
                tokio::spawn(purge_sessions(app.clone(), limits.session_idle));
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
        Command::Import { file, skip_invalid, update } => {
            let app = App::open(&settings)?;
            let started = std::time::Instant::now();
            let options = vigie_app::subjects::import::ImportOptions { skip_invalid, update };
            let report = app.import_csv_with(&file, options)?;
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
            for u in &report.updates {
                println!("line {}: {}", u.line, u.message);
            }
            if report.updated as usize > report.updates.len() {
                println!("… and {} more rows updated", report.updated as usize - report.updates.len());
            }
            if report.rejected > 0 && !skip_invalid {
                eprintln!(
                    "vigie: {} bad row(s): nothing was imported (use --skip-invalid to import the valid rows)",
                    report.rejected
                );
                return Ok(ExitCode::FAILURE);
            }
            if update {
                println!("updated {} subject(s)", report.updated);
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
        Command::User { command } => user(&settings, command),
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
        Command::Config { .. } | Command::Completions { .. } | Command::Man => {
            // Answered before the database's settings are read.
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { to } => {
            let (target, next) = migration_target(&to)?;
            let started = std::time::Instant::now();
            let report = vigie_app::migrate::migrate(&settings, target)?;
            let rows: i64 = report.tables.iter().map(|(_, n)| n).sum();
            for (table, n) in &report.tables {
                println!("{table:<24} {n:>10} rows");
            }
            println!(
                "migrated {} to {} in {:.2} s: {} tables, {rows} rows, the same counts on both sides; audit trail \
                 valid ({} entries); {} keys unwrapped, {} subjects decrypted with the master key",
                report.from,
                report.to,
                started.elapsed().as_secs_f64(),
                report.tables.len(),
                report.audit_entries,
                report.keys_unwrapped,
                report.subjects_decrypted,
            );
            println!("{next}");
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

/// The database `vigie migrate --to` names, and what to do once it is filled.
fn migration_target(to: &str) -> anyhow::Result<(Arc<dyn Database>, String)> {
    if to.starts_with("postgres://") || to.starts_with("postgresql://") {
        return Ok((
            Arc::new(vigie_store_postgres::PostgresUrl::new(to)),
            "next: set VIGIE_DATABASE_URL (or database_url) to the new database and start the server; keep the \
             SQLite file, stopped, until you no longer need to go back"
                .into(),
        ));
    }
    if to.contains("://") {
        bail!("--to must be postgres://…, sqlite:PATH or a path");
    }
    let path = std::path::PathBuf::from(to.strip_prefix("sqlite:").unwrap_or(to));
    let path = if path.is_dir() { vigie_store_sqlite::path_in(&path) } else { path };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let next = match path.parent() {
        Some(dir) if path.file_name().is_some_and(|n| n == "vigie.db") => format!(
            "next: put master.key (and erasures.journal) in {dir}, unset VIGIE_DATABASE_URL (and database_url) \
             and start the server with --data-dir {dir}; keep the PostgreSQL database, stopped, until you no \
             longer need to go back",
            dir = if dir.as_os_str().is_empty() { ".".into() } else { dir.display().to_string() }
        ),
        _ => format!(
            "next: the server runs on vigie.db in its data directory: move {} there as vigie.db (beside \
             master.key), unset VIGIE_DATABASE_URL (and database_url) and start the server; keep the PostgreSQL \
             database, stopped, until you no longer need to go back",
            path.display()
        ),
    };
    Ok((Arc::new(vigie_store_sqlite::SqliteFile::at(&path)), next))
}

/// `vigie user …`: works beside a running server (SQLite in WAL mode, or PostgreSQL).
fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<ExitCode> {
    use vigie_app::audit::Actor;
    let app = App::open(settings)?;
    let rt = runtime()?;
    match command {
        UserCommand::Create { email, role, password_stdin } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
                let line = line.trim_end_matches(['\n', '\r']).to_string();
                if line.is_empty() {
                    bail!("--password-stdin: standard input holds no password");
                }
                Some(line)
            } else {
                None
            };
            let created = rt.block_on(app.create_account_by(Actor::Cli, &email, &role, password))?;
            match created.password {
                Some(p) => println!("{p}"),
                None => eprintln!("vigie: account {} created", created.id),
            }
        }
        UserCommand::List => {
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or_else(|| "-".to_string(), |t| t.to_rfc3339());
            for a in rt.block_on(app.list_accounts_by())? {
                println!(
                    "{}  {:<32}  {:<7}  {:<20}  created {}  last login {}",
                    a.id,
                    a.email,
                    a.role.as_str(),
                    a.state.as_str(),
                    a.created_at.to_rfc3339(),
                    time(a.last_login_at)
                );
            }
        }
        UserCommand::Disable { email } => {
            let id = rt.block_on(app.account_id_by_email(&email))?;
            rt.block_on(app.disable_account_by(Actor::Cli, id))?;
            println!("account {id} disabled: its sessions have ended");
        }
        UserCommand::ResetPassword { email } => {
            let id = rt.block_on(app.account_id_by_email(&email))?;
            println!("{}", rt.block_on(app.reset_password_by(Actor::Cli, id))?);
        }
    }
    Ok(ExitCode::SUCCESS)
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
        .map_err(|_| anyhow::anyhow!("must be HH:MM (UTC) or off, not `{raw}`"))
}

/// Parses a share in percent: `5`, `5%`, `0.5`, from 0 to 100.
fn parse_share(raw: &str) -> anyhow::Result<f64> {
    let v: f64 = raw
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("must be a percentage from 0 to 100, not `{raw}`"))?;
    if !(0.0..=100.0).contains(&v) {
        bail!("must be a percentage from 0 to 100, not `{raw}`");
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

/// Deletes the console sessions idle for longer than `idle`, every minute (or sooner for a
/// shorter idle time): an expired session leaves no row behind, asked for again or not.
async fn purge_sessions(app: App, idle: std::time::Duration) {
    let every = idle.min(std::time::Duration::from_secs(60)).max(std::time::Duration::from_secs(1));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match app.purge_sessions(idle).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "idle console sessions deleted"),
            Err(e) => tracing::warn!(error = %e, "idle console sessions could not be deleted"),
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
