//! The store conformance suite on a fresh SQLite file.

use std::sync::Arc;
use vigie_store::Store;
use vigie_store_sqlite::Sqlite;

/// A data directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store on a fresh SQLite file.
fn fresh() -> Option<(Store, TempDir)> {
    let dir = std::env::temp_dir().join(format!("vigie-conf-{}-{}", std::process::id(), vigie_store::new_id()));
    std::fs::create_dir_all(&dir).ok()?;
    let dir = TempDir(dir);
    let db = Sqlite::open(&dir.0.join("vigie.db")).ok()?;
    Some((Store::start(Arc::new(db)).ok()?, dir))
}

/// One test per check of the suite, each on its own database.
mod conformance {
    vigie_store::conformance_tests!(super::fresh);
}

#[test]
fn the_schema_checks_the_enums_values() {
    let mismatches = vigie_store::conformance::closed_sets_match(vigie_store_sqlite::MIGRATIONS);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn reopening_applies_no_migration_twice() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("vigie-mig-{}-{}", std::process::id(), vigie_store::new_id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("vigie.db");
    drop(Sqlite::open(&path)?);
    let db = Sqlite::open(&path)?;
    let conn = db.raw_connection()?;
    let n: i64 = conn.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))?;
    assert_eq!(n, vigie_store_sqlite::MIGRATIONS.len() as i64);
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Migration 0022 backfills the live counts of an installation that has subjects and erasures.
#[test]
fn the_counts_are_backfilled_from_the_subjects_and_the_erasures() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("vigie-mig-{}-{}", std::process::id(), vigie_store::new_id()));
    std::fs::create_dir_all(&dir)?;
    let dir = TempDir(dir);
    let path = dir.0.join("vigie.db");
    let store = Store::start(Arc::new(Sqlite::open(&path)?))?;
    vigie_store::conformance::record_and_erase(&store)?;
    drop(store);
    // The database as it was before 0022.
    let conn = Sqlite::open(&path)?.raw_connection()?;
    conn.execute_batch(
        "DROP TABLE subject_counts; DROP INDEX subjects_without_email; DELETE FROM schema_migrations WHERE version = 22;",
    )?;
    drop(conn);
    let store = Store::start(Arc::new(Sqlite::open(&path)?))?;
    vigie_store::conformance::counts_match(&store)?;
    Ok(())
}
