//! What every benchmark shares: where the data goes (a backend, a scratch
//! directory, fresh installations) and how figures are printed.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vigie_app::Settings;
use vigie_store::new_id;
use vigie_store_postgres::testing::DropGuard;

// ---- where the data goes ----

pub(crate) enum Backend {
    Sqlite,
    /// The server URL (any database there will do to connect).
    Postgres(String),
}

impl Backend {
    pub(crate) fn of(settings: &Settings) -> Backend {
        match settings.database.connection_string() {
            Some(url) => Backend::Postgres(url.to_string()),
            None => Backend::Sqlite,
        }
    }
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// A temporary directory (`vigie-bench-<uuid>`), removed when dropped.
pub(crate) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub(crate) fn new() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("vigie-bench-{}", new_id().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch { dir })
    }
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
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
/// file, erasure journal) and, on PostgreSQL, its own database, dropped with the guard.
pub(crate) struct Fresh {
    pub(crate) settings: Settings,
    _guard: Option<DropGuard>,
}

pub(crate) fn fresh_app_settings(
    backend: &Backend,
    base: &Settings,
    scratch: &Scratch,
    name: &str,
) -> anyhow::Result<Fresh> {
    let data_dir = scratch.path(name);
    let (database, guard): (std::sync::Arc<dyn vigie_store::Database>, _) = match backend {
        Backend::Sqlite => (std::sync::Arc::new(vigie_store_sqlite::SqliteFile::in_dir(&data_dir)), None),
        Backend::Postgres(server) => {
            let (url, guard) = vigie_store_postgres::testing::fresh_database(server)?;
            (std::sync::Arc::new(vigie_store_postgres::PostgresUrl::new(&url)), Some(guard))
        }
    };
    // The user's policy and transfer list, but a fresh key, data directory, journal and database.
    let settings = Settings { data_dir, database, master_key_file: None, erasure_journal: None, ..base.clone() };
    Ok(Fresh { settings, _guard: guard })
}

// ---- figures ----

pub(crate) fn thousands(v: f64) -> String {
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

pub(crate) fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

pub(crate) fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// p50, p99 and max of a set of latencies.
pub(crate) struct Percentiles {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
}

pub(crate) fn percentiles(mut v: Vec<Duration>) -> Percentiles {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_thousands() {
        let p = percentiles((1..=100).map(Duration::from_millis).collect());
        assert_eq!(
            (p.p50, p.p99, p.max),
            (Duration::from_millis(50), Duration::from_millis(99), Duration::from_millis(100))
        );
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
