//! The WAL checkpoints of the checkpoint thread, and the erasures' truncation beside it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use vigie_store::Store;
use vigie_store_sqlite::Sqlite;

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A data directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fresh() -> R<(Store, TempDir, PathBuf)> {
    let dir = std::env::temp_dir().join(format!("vigie-ckpt-{}-{}", std::process::id(), vigie_store::new_id()));
    std::fs::create_dir_all(&dir)?;
    let dir = TempDir(dir);
    let path = dir.0.join("vigie.db");
    let store = Store::start(Arc::new(Sqlite::open(&path)?))?;
    Ok((store, dir, path))
}

fn modified(p: &Path) -> R<SystemTime> {
    Ok(std::fs::metadata(p)?.modified()?)
}

fn wal_len(db: &Path) -> R<u64> {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    Ok(std::fs::metadata(PathBuf::from(p)).map(|m| m.len()).unwrap_or(0))
}

/// A few committed writes stay in the WAL under SQLite's own threshold (1,000 pages): the
/// database file changes only because the checkpoint thread copies them there, without waiting
/// for more writes or for the database to be closed.
#[test]
fn committed_writes_reach_the_database_file_without_more_writes() -> R {
    let (store, _dir, path) = fresh()?;
    vigie_store::conformance::record_and_erase(&store)?;
    // Whatever the first writes caused has settled.
    std::thread::sleep(Duration::from_millis(300));
    let before = modified(&path)?;
    std::thread::sleep(Duration::from_millis(50));
    vigie_store::conformance::record_and_erase(&store)?;
    let wal = wal_len(&path)?;
    assert!(wal > 0, "the writes went to the WAL");
    let started = Instant::now();
    while modified(&path)? == before {
        assert!(started.elapsed() < Duration::from_secs(10), "the WAL was not checkpointed in 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The erasures' compaction (`wal_checkpoint(TRUNCATE)`) leaves an empty WAL even while
/// writes and background checkpoints go on beside it, and every write is kept.
#[test]
fn compaction_empties_the_wal_beside_writes_and_background_checkpoints() -> R {
    let (store, _dir, path) = fresh()?;
    let store = Arc::new(store);
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || -> Result<(), String> {
            for _ in 0..40 {
                vigie_store::conformance::record_and_erase(&store)?;
            }
            Ok(())
        })
    };
    for _ in 0..20 {
        store.compact()?;
        std::thread::sleep(Duration::from_millis(5));
    }
    writer.join().map_err(|_| "the writing thread panicked")??;
    store.compact()?;
    assert_eq!(wal_len(&path)?, 0, "the WAL is cut to nothing");
    // 40 rounds of 7 subjects, 3 of them erased.
    let conn = Sqlite::open(&path)?.raw_connection()?;
    let (subjects, erased): (i64, i64) =
        conn.query_row("SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM erasures)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    assert_eq!((subjects, erased), (160, 120));
    Ok(())
}

/// Dropping the store stops the checkpoint thread and closes its connection: the last
/// connection closed checkpoints and removes the WAL, as SQLite does with no thread of ours.
#[test]
fn a_dropped_store_leaves_no_wal_behind() -> R {
    let (store, _dir, path) = fresh()?;
    vigie_store::conformance::record_and_erase(&store)?;
    store.compact()?;
    vigie_store::conformance::record_and_erase(&store)?;
    drop(store);
    let started = Instant::now();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    while PathBuf::from(&wal).exists() {
        assert!(started.elapsed() < Duration::from_secs(10), "the WAL is still there 10 s after the store was dropped");
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
