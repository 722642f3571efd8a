//! `vigie-bench`: Vigie's benchmarks, each figure printed beside the raw cost
//! of the same work done directly in the store underneath, and their ratio
//! (BENCHMARKS.md). Tooling, kept apart from the product binary `vigie`.
//!
//! Every run works on fresh installations under a temporary directory or, with
//! `VIGIE_DATABASE_URL=postgres://…`, on fresh databases of that server
//! (dropped at the end); nothing of an existing installation is touched. The
//! raw baselines go through the store crates' `raw` modules: this crate holds
//! no SQL.

mod common;
mod ops;
mod writes;

use anyhow::bail;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use vigie_app::Settings;

#[derive(Parser)]
#[command(
    name = "vigie-bench",
    version,
    about = "Vigie's benchmarks, each beside the raw cost of the same work in the store"
)]
struct Cli {
    /// postgres://… to benchmark on PostgreSQL (fresh databases of that server) instead of SQLite.
    #[arg(long, global = true, env = "VIGIE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// A policy file for the benchmarked installations (default: the built-in MSI policy).
    #[arg(long, global = true, env = "VIGIE_POLICY_FILE")]
    policy: Option<PathBuf>,
    /// The EEA and adequacy-decision list (default: the built-in one).
    #[arg(long, global = true, env = "VIGIE_TRANSFERS_FILE")]
    transfers_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bulk CSV import of generated subjects, beside raw inserts of the same rows in one transaction.
    Import(writes::ImportArgs),
    /// Concurrent subject creation over HTTP, beside raw durable single-row commits.
    Http(writes::HttpArgs),
    /// Retention, register, revision notices, rights requests, breach scopes and keys at scale.
    Ops {
        #[command(subcommand)]
        command: ops::OpsCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigie-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // The base of every fresh installation: the user's policy and transfer list; the data
    // directory, master key, database and erasure journal are made fresh for each run.
    let database: std::sync::Arc<dyn vigie_store::Database> = match cli.database_url.filter(|u| !u.is_empty()) {
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            std::sync::Arc::new(vigie_store_postgres::PostgresUrl::new(&u))
        }
        Some(_) => bail!("VIGIE_DATABASE_URL must start with postgres://"),
        None => std::sync::Arc::new(vigie_store_sqlite::SqliteFile::in_dir(&PathBuf::new())),
    };
    let settings = Settings {
        data_dir: PathBuf::new(),
        database,
        master_key_file: None,
        policy_file: cli.policy,
        transfers_file: cli.transfers_file,
        erasure_journal: None,
    };
    match cli.command {
        Command::Import(args) => writes::import(&settings, args)?,
        Command::Http(args) => writes::http(&settings, args)?,
        Command::Ops { command } => ops::run(command, &settings)?,
    }
    Ok(ExitCode::SUCCESS)
}
