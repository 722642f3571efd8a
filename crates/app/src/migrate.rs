//! `vigie migrate --to …`: a consistent copy of one installation into an empty database of the
//! other backend, then verified.
//!
//! The source is this installation, its servers stopped (the instance lock, as for `restore`):
//! it is opened as every command opens it (master key checked, a pending restore completed),
//! then every table is read in one snapshot. The tables and columns come from both databases'
//! catalogs, never from a list kept here: both must have the same (the target is migrated to the
//! same schema first), or nothing is copied. Everything is copied in one transaction of the
//! target: wrapped keys, blind indexes, sealed values, the audit trail and its head, `meta` (the
//! key check, the kept sub-keys), every table but each backend's own migrations table. Then the
//! copy is verified: every table's row count against the snapshot's, the audit chain on the target
//! (`audit verify`), every wrapped key unwrapped and a sample of subjects decrypted with the
//! master key. The migration is recorded in the target's audit trail (counts and backends only).

use crate::audit::{Actor, Entry};
use crate::{App, Settings, StartError};
use std::collections::BTreeMap;
use std::sync::Arc;
use vigie_store::KeyOwner;
use vigie_store::copy::{Copyable, MIGRATIONS_TABLE, Table};

/// The table the first migration seeds with a row (the audit head at 0): empty all the same.
const SEEDED: &str = "audit_head";

/// How many subjects are decrypted after the copy (spread over all of them).
pub const SAMPLE: usize = 100;

/// What `migrate` copied and checked.
#[derive(Debug, Clone)]
pub struct MigrateReport {
    pub from: &'static str,
    pub to: &'static str,
    /// Every table copied, with its rows (equal on both sides).
    pub tables: Vec<(String, i64)>,
    pub audit_entries: i64,
    pub keys_unwrapped: usize,
    pub subjects_decrypted: usize,
}

fn copyable(b: &dyn vigie_store::Backend) -> Result<&dyn Copyable, StartError> {
    b.copyable().ok_or_else(|| StartError::Io(format!("the {} backend cannot be migrated", b.name())))
}

fn io(message: String) -> StartError {
    StartError::Io(message)
}

/// The tables both databases have, each with the kinds of its columns (from whichever catalog
/// says them), in the target's order; or what differs.
fn common_tables(source: Vec<Table>, target: Vec<Table>) -> Result<Vec<Table>, StartError> {
    let names = |ts: &[Table]| ts.iter().map(|t| t.name.clone()).collect::<std::collections::BTreeSet<_>>();
    let (s, t) = (names(&source), names(&target));
    if s != t {
        let only_source: Vec<_> = s.difference(&t).cloned().collect();
        let only_target: Vec<_> = t.difference(&s).cloned().collect();
        return Err(io(format!(
            "the two databases do not have the same tables (only in the source: {only_source:?}; only in the \
             target: {only_target:?}): both must be at this Vigie's schema"
        )));
    }
    let mut out = Vec::new();
    for mut table in target.into_iter().filter(|t| t.name != MIGRATIONS_TABLE) {
        let Some(from) = source.iter().find(|s| s.name == table.name) else { continue };
        let mut a: Vec<&str> = from.columns.iter().map(|c| c.name.as_str()).collect();
        let mut b: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            return Err(io(format!(
                "the table {} has other columns in the two databases: {a:?} and {b:?}",
                table.name
            )));
        }
        for c in &mut table.columns {
            let other = from.columns.iter().find(|x| x.name == c.name).and_then(|x| x.kind);
            c.kind = c.kind.or(other);
        }
        out.push(table);
    }
    Ok(out)
}

/// Copies the installation `settings` names into `target` (see the module's documentation).
pub fn migrate(settings: &Settings, target: Arc<dyn vigie_store::Database>) -> Result<MigrateReport, StartError> {
    let unopened = crate::backend(settings, false)?;
    if unopened.instance_running()? {
        return Err(io(
            "a Vigie server is running on this installation: stop it (every instance) before migrating".into()
        ));
    }
    // `connection_string` is PostgreSQL's alone: the same answer is the same backend.
    if settings.database.connection_string().is_some() == target.connection_string().is_some() {
        return Err(io(format!(
            "{} is of the same backend as this installation: migrate moves to the other one (use backup and restore)",
            target.describe()
        )));
    }
    // Opened as every command opens it: the key checked, a pending restore completed.
    drop(App::open(settings)?);
    let source = crate::backend(settings, true)?;
    // The target migrated to this schema; it must hold nothing but what its migrations seed (the
    // audit head's first row): an earlier attempt that failed left it so, and may be retried.
    let to = target.open()?;
    let to_copy = copyable(to.as_ref())?;
    for table in to_copy.tables()? {
        if table.name != MIGRATIONS_TABLE && table.name != SEEDED && to_copy.count_rows(&table.name)? > 0 {
            return Err(io(format!(
                "{} is not empty (its table {} has rows): migrate copies into an empty database only",
                target.describe(),
                table.name
            )));
        }
    }
    let from_copy = copyable(source.as_ref())?;
    let tables = common_tables(from_copy.tables()?, to_copy.tables()?)?;
    let mut sink = to_copy.import()?;
    let mut counts: BTreeMap<String, i64> = tables.iter().map(|t| (t.name.clone(), 0)).collect();
    from_copy.export(&tables, &mut |table, rows| {
        *counts.entry(table.name.clone()).or_default() += rows.len() as i64;
        sink.write(table, &rows)
    })?;
    if unopened.instance_running()? {
        return Err(io(format!(
            "a Vigie server started on this installation during the copy: nothing was committed to {}; \
             stop it and migrate again",
            target.describe()
        )));
    }
    sink.finish()?;
    // Verification: the counts, then the target opened as a server would open it.
    for (table, expected) in &counts {
        let copied = to_copy.count_rows(table)?;
        if copied != *expected {
            return Err(io(format!(
                "the copy is incomplete: {table} has {copied} rows in the target, {expected} in the source"
            )));
        }
    }
    drop(to);
    let target_settings = Settings { database: target, ..settings.clone() };
    let app = App::open(&target_settings)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| io(format!("cannot start the runtime: {e}")))?;
    let verification = rt.block_on(app.verify_audit())?;
    if !verification.valid {
        return Err(io(format!(
            "the audit trail of the copy does not verify: {}",
            verification.problem.unwrap_or_default()
        )));
    }
    let (keys_unwrapped, subjects_decrypted) = app.check_decryptable(SAMPLE)?;
    let from = source.name();
    let to_name = app.db().backend_name();
    let rows: i64 = counts.values().sum();
    let detail = format!("from={from} to={to_name} tables={} rows={rows}", counts.len());
    app.db.audited_blocking(Actor::Cli, move |tx, trail| {
        Ok(((), trail.record(tx, Entry::new("database.migrate").detail(detail.clone()))?))
    })?;
    Ok(MigrateReport {
        from,
        to: to_name,
        tables: counts.into_iter().collect(),
        audit_entries: verification.entries,
        keys_unwrapped,
        subjects_decrypted,
    })
}

impl App {
    /// Unwraps every wrapped key (subjects, requests, breaches) and decrypts the identity of up to
    /// `sample` subjects spread over all of them; an error names the first that fails (its id only).
    /// Returns (keys unwrapped, subjects decrypted). Nothing decrypted leaves this function.
    pub fn check_decryptable(&self, sample: usize) -> Result<(usize, usize), StartError> {
        let keys = self.keys.clone();
        Ok(self.db.read_blocking(move |tx| {
            let all = tx.wrapped_keys()?;
            for (owner, id, wrapped) in &all {
                keys.unwrap_key(wrapped, id.as_bytes()).map_err(|_| crate::AppError::Invalid {
                    field: "master key".into(),
                    message: format!("the {owner:?} key of {id} cannot be unwrapped with the master key"),
                })?;
            }
            let subjects: Vec<_> =
                all.iter().filter(|(o, _, _)| *o == KeyOwner::Subject).map(|(_, id, _)| *id).collect();
            let step = subjects.len().div_ceil(sample.max(1)).max(1);
            let mut opened = 0;
            for id in subjects.iter().step_by(step) {
                let Some(row) = tx.subject(*id)? else { continue };
                crate::record::open_identity(&keys, &row).map_err(|_| crate::AppError::Invalid {
                    field: "master key".into(),
                    message: format!("the identity of subject {id} cannot be decrypted"),
                })?;
                opened += 1;
            }
            Ok::<_, crate::AppError>((all.len(), opened))
        })?)
    }
}
