//! Backups that never bring the erased back (SPEC 4.5, issue 9).
//!
//! - `vigie backup --out FILE`: a consistent copy of the database while the
//!   server runs (SQLite `VACUUM INTO`, PostgreSQL one `REPEATABLE READ`
//!   snapshot). It holds what the database holds: sealed values, wrapped keys,
//!   blind indexes, never a plaintext personal value.
//! - The **erasure journal** (`erasures.journal` in the data directory, or
//!   `--erasure-journal`): one line per erased subject (id, date, rule; nothing
//!   personal), appended and synced after each erasure commits, and completed
//!   from the database's tombstones at every start (a crash between the commit
//!   and the append loses nothing). It is not part of any backup.
//! - `vigie restore FILE` (server stopped): checks the file and its key, merges
//!   the current database's tombstones into the journal, replaces the database,
//!   then erases again every journalled subject the backup still holds, and
//!   records the restore in the audit trail. A restored backup never brings an
//!   erased person back.

use crate::audit::{Actor, Entry};
use crate::error::Result;
use crate::{App, Settings, StartError};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use vigie_store::{ErasureRow, Id};

/// The meta key a restored database carries until its journal has been replayed.
pub(crate) const RESTORE_PENDING: &str = "restore_pending";

/// One line of the journal: `<subject id> <erased at, RFC 3339> <rule>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    pub id: Id,
    pub at: DateTime<Utc>,
    pub rule: String,
}

impl From<&ErasureRow> for Erased {
    fn from(e: &ErasureRow) -> Erased {
        Erased { id: e.subject_id, at: e.erased_at, rule: e.rule.clone() }
    }
}

/// The append-only journal of erasures.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    lock: std::sync::Mutex<()>,
}

impl Journal {
    pub fn new(settings: &Settings) -> Journal {
        let path = settings.erasure_journal.clone().unwrap_or_else(|| settings.data_dir.join("erasures.journal"));
        Journal { path, lock: std::sync::Mutex::new(()) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends and syncs; a failure is an error the caller logs (the start-up reconciliation repairs it).
    pub fn append(&self, erased: &[Erased]) -> std::io::Result<()> {
        if erased.is_empty() {
            return Ok(());
        }
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path)?;
        let mut text = String::with_capacity(erased.len() * 80);
        for e in erased {
            text.push_str(&format!(
                "{} {} {}\n",
                e.id,
                e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                e.rule
            ));
        }
        file.write_all(text.as_bytes())?;
        file.sync_data()
    }

    /// Every entry (a torn last line, from a crash mid-append, is skipped).
    pub fn read(&self) -> std::io::Result<Vec<Erased>> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            let mut parts = line.split(' ');
            let (Some(id), Some(at), Some(rule)) = (parts.next(), parts.next(), parts.next()) else { continue };
            let (Ok(id), Ok(at)) = (id.parse::<Id>(), DateTime::parse_from_rfc3339(at)) else { continue };
            out.push(Erased { id, at: at.with_timezone(&Utc), rule: rule.to_string() });
        }
        Ok(out)
    }
}

impl App {
    /// Records committed erasures in the journal; logs (ids never) when it cannot.
    /// Deletes the erased subjects' files of the directory transport.
    pub(crate) fn journal_erasures(&self, erased: &[Erased]) {
        // Every committed erasure passes here (sweep, retention apply, rights requests).
        metrics::counter!("vigie_erasures_total").increment(erased.len() as u64);
        if let Err(e) = self.journal.append(erased) {
            tracing::error!(error = %e, path = %self.journal.path().display(), "could not append to the erasure journal");
        }
        if let Some(dir) = self.mail_dir.get() {
            let ids: Vec<Id> = erased.iter().map(|e| e.id).collect();
            dir.forget(&ids);
        }
    }

    /// At start: appends to the journal the tombstones it lacks (from its last entry on), so
    /// that a crash between an erasure's commit and its journal line loses nothing.
    pub(crate) fn reconcile_journal(&self) -> Result<(), StartError> {
        let db = &self.db;
        merge_tombstones(|from, n| Ok(db.read_blocking(move |tx| tx.erasures_since(from, n))?), &self.journal, true)
    }

    /// After a restore: erases again every journalled subject the restored database holds,
    /// then records the restore. Runs at the first open after `restore` (idempotent).
    pub(crate) fn replay_after_restore(&self) -> Result<(), StartError> {
        let pending = self.db.read_blocking(|tx| tx.meta(RESTORE_PENDING))?;
        let Some(backup) = pending.filter(|v| !v.is_empty()) else { return Ok(()) };
        let journal = self.journal.read().map_err(|e| journal_error(&self.journal, &e))?;
        let mut replayed = 0u64;
        for chunk in journal.chunks(500) {
            let chunk = chunk.to_vec();
            replayed += self.db.audited_blocking(Actor::System, move |tx, trail| {
                let mut n = 0u64;
                let mut recorded = trail.nothing_changed();
                for e in &chunk {
                    if tx.erase_subject(e.id, &e.rule, e.at)? {
                        let entry = Entry::new("subject.erase").subject(e.id).detail(format!(
                            "rule={} replayed after restore (erased on {})",
                            e.rule,
                            e.at.date_naive()
                        ));
                        recorded = trail.record(tx, entry)?;
                        n += 1;
                    }
                }
                Ok((n, recorded))
            })?;
        }
        self.db.audited_blocking(Actor::Cli, move |tx, trail| {
            let entry = Entry::new("backup.restore").detail(format!("{backup} erasures_replayed={replayed}"));
            let recorded = trail.record(tx, entry)?;
            tx.set_meta(RESTORE_PENDING, "")?;
            Ok(((), recorded))
        })?;
        if replayed > 0 {
            let _ = self.db.compact();
        }
        tracing::info!(replayed, "restore completed: journalled erasures replayed");
        Ok(())
    }

    /// Writes a backup of the whole database (consistent while the server runs).
    pub fn backup(&self, out: &Path) -> Result<BackupReport> {
        let seq = self.db.audited_blocking(Actor::Cli, move |tx, trail| {
            let recorded =
                trail.record(tx, Entry::new("backup.create").detail("a backup of the database was written"))?;
            // Its place in the chain, given as it is written.
            Ok((tx.audit_head_recorded()?.0, recorded))
        })?;
        self.db.backup(out)?;
        Ok(BackupReport { head_seq: seq })
    }
}

/// What `backup` wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The audit entry that records the backup (the backup holds the trail up to it at least).
    pub head_seq: i64,
}

/// Appends to the journal the database's tombstones it lacks: from its last entry on
/// (`from_last`, at every start), or all of them (before a restore replaces the database).
/// `page(since, limit)` reads the tombstones (from the app's snapshot, or from a store opened
/// before a restore).
fn merge_tombstones(
    page: impl Fn(DateTime<Utc>, i64) -> Result<Vec<vigie_store::ErasureRow>, StartError>,
    journal: &Journal,
    from_last: bool,
) -> Result<(), StartError> {
    const PAGE: i64 = 10_000;
    let entries = journal.read().map_err(|e| journal_error(journal, &e))?;
    let mut from = match entries.iter().map(|e| e.at).max() {
        Some(last) if from_last => last,
        _ => DateTime::<Utc>::UNIX_EPOCH,
    };
    let mut known: HashSet<Id> = entries.iter().filter(|e| e.at >= from).map(|e| e.id).collect();
    loop {
        let page = page(from, PAGE)?;
        let missing: Vec<Erased> = page.iter().filter(|e| !known.contains(&e.subject_id)).map(Erased::from).collect();
        journal.append(&missing).map_err(|e| journal_error(journal, &e))?;
        known.extend(missing.iter().map(|e| e.id));
        match page.last() {
            Some(last) if page.len() as i64 == PAGE && last.erased_at > from => from = last.erased_at,
            _ => return Ok(()),
        }
    }
}

fn journal_error(j: &Journal, e: &std::io::Error) -> StartError {
    StartError::Io(format!("cannot read or write the erasure journal {}: {e}", j.path().display()))
}

/// What `restore` did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub backup_head_seq: i64,
    pub journalled: usize,
}

/// Restores a backup onto the stopped installation the settings name (see the module docs).
pub fn restore(settings: &Settings, file: &Path) -> Result<RestoreReport, StartError> {
    let key_path = settings.master_key_path();
    if !key_path.exists() {
        return Err(StartError::Io(format!(
            "the master key file {} does not exist: restore needs the key the backup was made under",
            key_path.display()
        )));
    }
    let keys = vigie_crypto::MasterKey::load_file(&key_path)?;
    // The data directory may be gone with the disk that held it: restore makes it again.
    crate::create_data_dir(&settings.data_dir)?;
    let backend = crate::backend(settings, false)?;
    if backend.instance_running()? {
        return Err(StartError::Io(
            "a Vigie server is running on this installation: stop it (every instance) before restoring".into(),
        ));
    }
    let info = backend.backup_info(file)?;
    let meta = |k: &str| info.meta.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    match meta(crate::KEY_CHECK) {
        Some(v) if v == keys.check_value() => {}
        Some(_) => {
            return Err(StartError::Io(format!(
                "{} was made under another master key than {}: it cannot be restored with it",
                file.display(),
                key_path.display()
            )));
        }
        None => {
            return Err(StartError::Io(format!("{} records no master key check: not a Vigie backup", file.display())));
        }
    }
    let current = settings.database.schema_version();
    if info.schema_version != current {
        return Err(StartError::Io(format!(
            "{} has schema version {}, this Vigie {current}: restore it with the version that made it",
            file.display(),
            info.schema_version
        )));
    }
    // The current database's tombstones join the journal before it is replaced (if it can be read).
    let journal = Journal::new(settings);
    if let Ok(store) = crate::backend(settings, true).and_then(|b| Ok(vigie_store::Store::start(b)?)) {
        merge_tombstones(|from, n| Ok(store.read_blocking(move |tx| tx.erasures_since(from, n))?), &journal, false)?;
        drop(store);
    }
    let journalled = journal.read().map_err(|e| journal_error(&journal, &e))?.len();
    backend.restore(file)?;
    // Mark the restored database: its first open replays the journal before anything else.
    let store = vigie_store::Store::start(crate::backend(settings, true)?)?;
    let detail = format!("backup_head_seq={} backup_head_hash={}", info.head_seq, vigie_crypto::hex(&info.head_hash));
    store.write_blocking(move |tx| tx.set_meta(RESTORE_PENDING, &detail))?;
    drop(store);
    Ok(RestoreReport { backup_head_seq: info.head_seq, journalled })
}
