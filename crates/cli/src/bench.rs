//! Benchmarks (filled in by a later commit).

use clap::Subcommand;
use std::process::ExitCode;
use vigie_app::Settings;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Bulk import of generated subjects.
    Import {
        #[arg(long, default_value_t = 100_000)]
        count: u64,
    },
}

pub fn run(_command: BenchCommand, _settings: &Settings) -> anyhow::Result<ExitCode> {
    anyhow::bail!("benchmarks are not available in this build yet")
}
