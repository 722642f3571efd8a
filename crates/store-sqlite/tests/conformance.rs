//! The store conformance suite on a fresh SQLite file.

use std::sync::Arc;
use vigie_store::Store;
use vigie_store_sqlite::Sqlite;

#[test]
fn sqlite_passes_the_conformance_suite() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("vigie-conf-{}-{}", std::process::id(), vigie_store::new_id()));
    std::fs::create_dir_all(&dir)?;
    let db = Sqlite::open(&dir.join("vigie.db"))?;
    let store = Store::start(Arc::new(db))?;
    let failures = vigie_store::conformance::run(&store);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{failures:#?}");
    Ok(())
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
