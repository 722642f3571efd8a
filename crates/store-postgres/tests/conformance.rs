//! The store conformance suite, and PostgreSQL-specific checks, each on a
//! fresh database.
//!
//! They need a server: set `VIGIE_TEST_DATABASE_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/test`). Each test creates its own
//! database there and drops it afterwards. Without the variable the tests
//! pass with a note on stderr, except in CI (`CI` set), where they fail.

use std::collections::BTreeSet;
use std::sync::Arc;
use vigie_domain::SubjectKind;
use vigie_domain::access::Role;
use vigie_store::{AuditRow, ContractRow, Store, StoreError, SubjectRow, TokenRow, new_id, now};
use vigie_store_postgres::Postgres;
use vigie_store_postgres::testing::fresh_database;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The server to create test databases on, if one is configured.
fn server_url() -> Option<String> {
    match std::env::var("VIGIE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(std::env::var_os("CI").is_none(), "VIGIE_TEST_DATABASE_URL must be set in CI");
            eprintln!("note: VIGIE_TEST_DATABASE_URL is not set; PostgreSQL tests skipped");
            None
        }
    }
}

fn subject(i: usize) -> SubjectRow {
    let at = now();
    SubjectRow {
        id: new_id(),
        kind: if i.is_multiple_of(3) { SubjectKind::Client } else { SubjectKind::Prospect },
        collected_at: at,
        created_at: at,
        updated_at: at,
        email_bi: i.is_multiple_of(2).then(|| new_id().as_bytes().to_vec()),
        phone_bi: i.is_multiple_of(5).then(|| new_id().as_bytes().to_vec()),
        identity: vec![i as u8; 40],
        wrapped_key: vec![9; 60],
        retention_rule: if i.is_multiple_of(3) { "last_contract_end" } else { "last_inbound_contact" }.into(),
        basis_date: chrono::NaiveDate::from_ymd_opt(2024, 1 + (i % 12) as u32, 1 + (i % 28) as u32),
        expires_on: (!i.is_multiple_of(3)).then(|| chrono::NaiveDate::from_ymd_opt(2027, 1, 1)).flatten(),
        legal_hold: i.is_multiple_of(7).then(|| vec![7; 24]),
        held_at: i.is_multiple_of(7).then_some(at),
    }
}

#[test]
fn the_schema_checks_the_enums_values() {
    let mismatches = vigie_store::conformance::closed_sets_match(vigie_store_postgres::MIGRATIONS);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// A store on a fresh database, and the guard that drops it. A server that is configured
/// but cannot be used fails the test rather than skipping it.
fn fresh() -> Option<(Store, vigie_store_postgres::testing::DropGuard)> {
    let server = server_url()?;
    let (url, guard) = fresh_database(&server).unwrap_or_else(|e| unreachable!("fresh database: {e}"));
    let store = Postgres::open(&url)
        .and_then(|db| Store::start(Arc::new(db)))
        .unwrap_or_else(|e| unreachable!("store on the fresh database: {e}"));
    Some((store, guard))
}

/// One test per check of the suite, each on its own database.
mod conformance {
    vigie_store::conformance_tests!(super::fresh);
}

#[test]
fn opening_again_or_at_once_applies_each_migration_once() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, _guard) = fresh_database(&server)?;
    // Four instances starting together: the advisory lock lets one migrate.
    let opened: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| Postgres::open(&url).is_ok())).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(false)).collect()
    });
    assert_eq!(opened, vec![true; 4]);
    drop(Postgres::open(&url)?);
    let db = Postgres::open(&url)?;
    let mut client = db.raw_client()?;
    let n: i64 = client.query_one("SELECT count(*) FROM schema_migrations", &[])?.try_get(0)?;
    assert_eq!(n, vigie_store_postgres::MIGRATIONS.len() as i64);
    let head = client.query_one("SELECT seq, hash FROM audit_head", &[])?;
    assert_eq!((head.try_get::<_, i64>(0)?, head.try_get::<_, Vec<u8>>(1)?), (0, vec![0; 32]));
    Ok(())
}

#[test]
fn the_schema_has_the_tables_columns_and_indexes_of_the_sqlite_schema() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, _guard) = fresh_database(&server)?;
    let mut pg = Postgres::open(&url)?.raw_client()?;
    let pg_columns = pg
        .query(
            "SELECT table_name::text, column_name::text, is_nullable = 'YES' FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_migrations'",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<BTreeSet<(String, String, bool)>, postgres::Error>>()?;
    // Column defaults, without PostgreSQL's cast of a literal (`'x'::text`).
    let pg_defaults = pg
        .query(
            "SELECT table_name::text, column_name::text, column_default::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_migrations' AND column_default IS NOT NULL",
            &[],
        )?
        .iter()
        .map(|r| {
            let default: String = r.try_get(2)?;
            let default = default.strip_suffix("::text").map_or(default.clone(), str::to_string);
            Ok((r.try_get(0)?, r.try_get(1)?, default))
        })
        .collect::<Result<BTreeSet<(String, String, String)>, postgres::Error>>()?;
    // Indexes created by name, not those behind a key or unique constraint.
    let pg_indexes = pg
        .query(
            "SELECT c.relname::text FROM pg_index x
             JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
            &[],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<BTreeSet<String>, _>>()?;

    let dir = std::env::temp_dir().join(format!("vigie-parity-{}-{}", std::process::id(), new_id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = vigie_store_sqlite::Sqlite::open(&dir.join("vigie.db"))?.raw_connection()?;
    // A primary key column is NOT NULL in PostgreSQL whatever it says.
    let sqlite_columns = sqlite
        .prepare(
            "SELECT m.name, p.name, NOT (p.\"notnull\" OR p.pk > 0) FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'schema_migrations'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<BTreeSet<(String, String, bool)>>>()?;
    let sqlite_defaults = sqlite
        .prepare(
            "SELECT m.name, p.name, p.dflt_value FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'schema_migrations'
             AND p.dflt_value IS NOT NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<BTreeSet<(String, String, String)>>>()?;
    let sqlite_indexes = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<BTreeSet<String>>>()?;
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&dir);

    let names = |cols: &BTreeSet<(String, String, bool)>| {
        cols.iter().map(|(t, c, _)| (t.clone(), c.clone())).collect::<BTreeSet<_>>()
    };
    assert!(!sqlite_columns.is_empty());
    assert_eq!(names(&pg_columns), names(&sqlite_columns), "tables and columns");
    assert_eq!(pg_columns, sqlite_columns, "nullability");
    assert_eq!(pg_defaults, sqlite_defaults, "defaults");
    assert_eq!(pg_indexes, sqlite_indexes, "indexes");
    Ok(())
}

#[test]
fn bulk_imports_are_copied_and_refused_whole() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, _guard) = fresh_database(&server)?;
    let store = Store::start(Arc::new(Postgres::open(&url)?))?;
    let rows: Vec<SubjectRow> = (0..2000).map(subject).collect();
    let all = rows.clone();
    store.write_blocking(move |tx| tx.insert_subjects(&all))?;
    assert_eq!(store.read_blocking(|tx| tx.count_subjects())?, 2000);
    for row in rows.iter().take(10) {
        let id = row.id;
        assert_eq!(store.read_blocking(move |tx| tx.subject(id))?.as_ref(), Some(row));
    }
    // One duplicate refuses the whole import, named by constraint, not by value.
    let (fresh, dup) = (subject(1), rows[7].clone());
    let fresh_id = fresh.id;
    let refused = store.write_blocking(move |tx| tx.insert_subjects(&[fresh, dup]));
    assert!(matches!(&refused, Err(StoreError::Conflict(name)) if name == "subjects_pkey"), "{refused:?}");
    assert!(store.read_blocking(move |tx| tx.subject(fresh_id))?.is_none());
    assert_eq!(store.read_blocking(|tx| tx.count_subjects())?, 2000);
    Ok(())
}

#[test]
fn errors_name_constraints_not_values() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, _guard) = fresh_database(&server)?;
    let store = Store::start(Arc::new(Postgres::open(&url)?))?;
    // A valid date, so that only the missing subject can be the reason.
    let missing = new_id();
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).ok_or("date")?;
    let c = ContractRow { id: new_id(), subject_id: missing, reference: vec![1], start, end: None, created_at: now() };
    let refused = store.write_blocking(move |tx| tx.insert_contract(&c));
    let message = refused.err().map(|e| e.to_string()).ok_or("a contract for a missing subject was accepted")?;
    assert!(message.contains("contracts_subject_id_fkey"), "{message}");
    assert!(!message.contains(&missing.to_string()), "the key value leaked: {message}");
    // A duplicate token hash: a conflict named by its constraint.
    let hash = new_id().as_bytes().to_vec();
    let token = |hash: Vec<u8>| TokenRow {
        id: new_id(),
        hash,
        role: Role::Staff,
        recipient: None,
        created_at: now(),
        revoked_at: None,
        expires_at: None,
        last_used_at: None,
    };
    let (t1, t2) = (token(hash.clone()), token(hash.clone()));
    store.write_blocking(move |tx| tx.insert_token(&t1))?;
    let refused = store.write_blocking(move |tx| tx.insert_token(&t2));
    assert!(matches!(&refused, Err(StoreError::Conflict(name)) if name == "tokens_hash_key"), "{refused:?}");
    Ok(())
}

#[test]
fn concurrent_writers_and_instances_extend_one_audit_chain() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, _guard) = fresh_database(&server)?;
    // Two instances on one database, each with several writer threads.
    let stores = [Store::start(Arc::new(Postgres::open(&url)?))?, Store::start(Arc::new(Postgres::open(&url)?))?];
    let appends = 60;
    let barrier = Arc::new(std::sync::Barrier::new(appends));
    let handles: Vec<_> = (0..appends)
        .map(|i| {
            let (store, barrier) = (stores[i % 2].clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store.write_blocking(move |tx| {
                    let (seq, prev) = tx.audit_head()?;
                    let mut hash = prev;
                    hash.rotate_left(1);
                    hash[0] = hash[0].wrapping_add(1);
                    tx.append_audit(
                        &AuditRow {
                            seq: seq + 1,
                            at: now(),
                            actor: format!("writer:{i}"),
                            action: "test.append".into(),
                            subject_id: None,
                            purpose: None,
                            fields: String::new(),
                            outcome: "ok".into(),
                            detail: None,
                            hash,
                        },
                        &[],
                    )
                })
            })
        })
        .collect();
    for h in handles {
        let appended = h.join().map_err(|_| "an appending thread panicked")?;
        assert!(appended.is_ok(), "{appended:?}");
    }
    let page = stores[0].read_blocking(|tx| tx.audit_page(0, 1000))?;
    let seqs: Vec<i64> = page.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=appends as i64).collect::<Vec<_>>());
    let head = stores[1].read_blocking(|tx| tx.audit_head_recorded())?;
    assert_eq!(head, (appends as i64, page.last().map(|e| e.hash.clone()).unwrap_or_default()));
    Ok(())
}

/// Entries queued by jobs of two instances at once (several jobs per group commit, one in three
/// rolled back after a flush that wrote its neighbours' entries) take consecutive places in one
/// chain: each sealed after the entry committed before it, whichever instance wrote that one, and
/// the head row on the last with its MAC.
#[test]
fn instances_seal_queued_entries_at_their_commits() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, _guard) = fresh_database(&server)?;
    let stores = [Store::start(Arc::new(Postgres::open(&url)?))?, Store::start(Arc::new(Postgres::open(&url)?))?];
    let jobs = 90;
    let barrier = Arc::new(std::sync::Barrier::new(jobs));
    let handles: Vec<_> = (0..jobs)
        .map(|i| {
            let (store, barrier) = (stores[i % 2].clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let marker = new_id();
                let outcome = store.write_blocking(move |tx| {
                    let e = AuditRow {
                        seq: 0,
                        at: now(),
                        actor: format!("writer:{i}"),
                        action: "test.queue".into(),
                        subject_id: Some(marker),
                        purpose: None,
                        fields: String::new(),
                        outcome: "ok".into(),
                        detail: None,
                        hash: Vec::new(),
                    };
                    tx.queue_audit(e, Arc::new(vigie_store::conformance::TestSeal))?;
                    if i % 3 == 0 {
                        // Reads the trail (the queue is written first), then fails.
                        tx.audit_for_subject(marker, 0, 1)?;
                        return Err(StoreError::Conflict("deliberate".into()));
                    }
                    Ok(())
                });
                (marker, outcome.is_ok())
            })
        })
        .collect();
    let mut committed = Vec::new();
    for h in handles {
        let (marker, ok) = h.join().map_err(|_| "a writing thread panicked")?;
        if ok {
            committed.push(marker);
        }
    }
    assert_eq!(committed.len(), jobs - jobs / 3, "every job but the failing ones commits");
    let page = stores[0].read_blocking(|tx| tx.audit_page(0, 1000))?;
    let seqs: Vec<i64> = page.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=committed.len() as i64).collect::<Vec<_>>(), "consecutive places, no gap");
    let mut previous = vec![0u8; 32];
    for e in &page {
        assert!(e.subject_id.is_some_and(|m| committed.contains(&m)), "only committed jobs' entries");
        assert_eq!(
            e.hash,
            vigie_store::AuditSeal::chain(&vigie_store::conformance::TestSeal, &previous, e),
            "entry {} is sealed after the one before it",
            e.seq
        );
        previous.clone_from(&e.hash);
    }
    let (head, mac) =
        stores[1].read_blocking(|tx| Ok::<_, StoreError>((tx.audit_head_recorded()?, tx.audit_head_mac()?)))?;
    assert_eq!(head, (committed.len() as i64, previous.clone()));
    assert_eq!(mac, Some(previous));
    Ok(())
}

/// The web server opens the database and starts the store inside its async
/// runtime: the synchronous client must not start its own runtime there.
#[tokio::test]
async fn opens_and_serves_from_async_code() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, guard) = fresh_database(&server)?;
    let store = Store::start(Arc::new(Postgres::open(&url)?))?;
    let s = subject(0);
    let (id, expected) = (s.id, s.clone());
    store.write(move |tx| tx.insert_subject(&s)).await?;
    assert_eq!(store.read(move |tx| tx.subject(id)).await?, Some(expected));
    drop(store);
    drop(guard);
    Ok(())
}

/// Several instances on one database: a job is claimed by one of them, a
/// subject erased by one of them (the others find nothing, without error),
/// and erasures in one month add up.
#[test]
fn instances_racing_claim_a_job_and_erase_a_subject_once() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, _guard) = fresh_database(&server)?;
    let stores: Vec<Store> = (0..4)
        .map(|_| Ok(Store::start(Arc::new(Postgres::open(&url)?))?))
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).ok_or("date")?;
    let now = now();
    let lease = chrono::TimeDelta::minutes(10);
    let race = |f: &(dyn Fn(&Store) -> vigie_store::Result<bool> + Sync)| {
        let barrier = std::sync::Barrier::new(stores.len());
        std::thread::scope(|s| {
            let handles: Vec<_> = stores
                .iter()
                .map(|store| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        f(store)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| "a racing thread panicked")?.map_err(Into::into))
                .collect::<Result<Vec<bool>, Box<dyn std::error::Error>>>()
        })
    };
    let claims =
        race(&|store| store.write_blocking(move |tx| tx.claim_job("retention", today, vigie_store::new_id(), lease)))?;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");

    let (a, b) = (subject(1), subject(2));
    let (ida, idb) = (a.id, b.id);
    stores[0].write_blocking(move |tx| tx.insert_subjects(&[a, b]))?;
    let erased = race(&|store| store.write_blocking(move |tx| tx.erase_subject(ida, "last_inbound_contact", now)))?;
    assert_eq!(erased.iter().filter(|e| **e).count(), 1, "{erased:?}");
    assert!(stores[1].write_blocking(move |tx| tx.erase_subject(idb, "last_inbound_contact", now))?);
    let counts = stores[2].read_blocking(|tx| tx.erased_counts())?;
    let counts: Vec<(String, i64)> = counts.into_iter().map(|g| (g.group, g.count)).collect();
    assert_eq!(counts, vec![(format!("{}|prospect|last_inbound_contact", now.format("%Y-%m")), 2)]);
    Ok(())
}

/// Two instances claiming due messages at once, from several threads each:
/// `FOR UPDATE SKIP LOCKED` hands every message to exactly one claim.
#[test]
fn instances_claiming_messages_at_once_never_share_one() -> TestResult {
    let Some(server) = server_url() else {
        return Ok(());
    };
    let (url, _guard) = fresh_database(&server)?;
    let stores = [Store::start(Arc::new(Postgres::open(&url)?))?, Store::start(Arc::new(Postgres::open(&url)?))?];
    // Every subject with an email address, so that each gets a notice.
    let subjects: Vec<SubjectRow> =
        (0..3000).map(|i| SubjectRow { email_bi: Some(new_id().as_bytes().to_vec()), ..subject(i) }).collect();
    let at = now();
    let queued = stores[0].write_blocking(move |tx| {
        tx.insert_subjects(&subjects)?;
        tx.queue_for_subjects(&[SubjectKind::Client, SubjectKind::Prospect], "notice", "{}", "notice:", at)
    })?;
    assert_eq!(queued, 3000);
    // One lease for the whole test: a message claimed once is never due again.
    let (claim_at, lease) = (at + chrono::TimeDelta::seconds(1), chrono::TimeDelta::hours(1));
    let threads = 8;
    let barrier = std::sync::Barrier::new(threads);
    let claims: Vec<Vec<Vec<i64>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (store, barrier) = (&stores[i % 2], &barrier);
                s.spawn(move || -> vigie_store::Result<Vec<Vec<i64>>> {
                    barrier.wait();
                    let mut batches = Vec::new();
                    loop {
                        let owner = vigie_store::new_id();
                        let batch = store.write_blocking(move |tx| tx.claim_messages(claim_at, owner, lease, 20))?;
                        if batch.is_empty() {
                            return Ok(batches);
                        }
                        batches.push(batch.into_iter().map(|m| m.id).collect());
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a claiming thread panicked")?.map_err(Into::into))
            .collect::<Result<_, Box<dyn std::error::Error>>>()
    })?;
    let mut seen = BTreeSet::new();
    for batch in claims.iter().flatten() {
        assert!(batch.windows(2).all(|w| w[0] < w[1]), "a claim is returned by id: {batch:?}");
        for id in batch {
            assert!(seen.insert(*id), "message {id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 3000, "every message is claimed");
    // Both instances took part.
    assert!(claims.iter().step_by(2).any(|c| !c.is_empty()) && claims.iter().skip(1).step_by(2).any(|c| !c.is_empty()));
    Ok(())
}

/// `vigie migrate` copies the tables both catalogs list: on fresh databases of both backends they
/// are the same tables with the same columns, and PostgreSQL gives every column a type it copies.
#[test]
fn migrate_lists_every_table_of_both_schemas_each_column_typed() -> TestResult {
    use vigie_store::Backend;
    let Some(server) = server_url() else { return Ok(()) };
    let (url, _guard) = fresh_database(&server)?;
    let pg = Postgres::open(&url)?;
    let dir = std::env::temp_dir().join(format!("vigie-copy-{}-{}", std::process::id(), new_id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = vigie_store_sqlite::Sqlite::open(&dir.join("vigie.db"))?;
    let listed = |b: &dyn Backend| -> Result<BTreeSet<(String, String)>, Box<dyn std::error::Error>> {
        let tables = b.copyable().ok_or("no copy")?.tables()?;
        Ok(tables.iter().flat_map(|t| t.columns.iter().map(|c| (t.name.clone(), c.name.clone()))).collect())
    };
    let (on_pg, on_sqlite) = (listed(&pg)?, listed(&sqlite)?);
    let _ = std::fs::remove_dir_all(&dir);
    let tables: BTreeSet<&str> = on_pg.iter().map(|(t, _)| t.as_str()).collect();
    for t in ["subjects", "subject_keys", "audit", "audit_head", "meta", "requests", "breaches", "outbox", "tokens"] {
        assert!(tables.contains(t), "{t}");
    }
    assert_eq!(on_pg, on_sqlite, "the same tables and columns on both backends");
    let untyped: Vec<String> = pg
        .copyable()
        .ok_or("no copy")?
        .tables()?
        .iter()
        .flat_map(|t| t.columns.iter().filter(|c| c.kind.is_none()).map(move |c| format!("{}.{}", t.name, c.name)))
        .collect();
    assert!(untyped.is_empty(), "{untyped:?}");
    Ok(())
}

/// Migration 0022 backfills the live counts of an installation that has subjects and erasures.
#[test]
fn the_counts_are_backfilled_from_the_subjects_and_the_erasures() -> TestResult {
    let Some(server) = server_url() else { return Ok(()) };
    let (url, _guard) = fresh_database(&server)?;
    let store = Store::start(Arc::new(Postgres::open(&url)?))?;
    vigie_store::conformance::record_and_erase(&store)?;
    drop(store);
    // The database as it was before 0022.
    let mut client = Postgres::open(&url)?.raw_client()?;
    client.batch_execute(
        "DROP TABLE subject_counts; DROP INDEX subjects_without_email; DELETE FROM schema_migrations WHERE version = 22;",
    )?;
    drop(client);
    let store = Store::start(Arc::new(Postgres::open(&url)?))?;
    vigie_store::conformance::counts_match(&store)?;
    Ok(())
}

/// PostgreSQL aborts a transaction at its first failed statement, and answers the COMMIT of an
/// aborted transaction by rolling it back without an error: a job that goes on after a failed
/// statement (ignoring it) must not be reported as committed. Its whole group commit fails (as
/// when the next job's savepoint found the transaction aborted); a job after it runs again.
#[test]
fn a_job_that_ignores_a_failed_statement_is_not_reported_committed() -> TestResult {
    let Some((store, _guard)) = fresh() else {
        return Ok(());
    };
    let (a, taken) = (subject(1), subject(2));
    let t = taken.clone();
    store.write_blocking(move |tx| tx.insert_subject(&t))?;
    let (a2, id) = (a.clone(), a.id);
    let outcome = store.write_blocking(move |tx| {
        tx.insert_subject(&a2)?;
        let ignored = tx.insert_subject(&taken);
        Ok::<_, StoreError>(ignored.is_err())
    });
    assert!(outcome.is_err(), "a job whose transaction was aborted is reported committed: {outcome:?}");
    assert!(store.read_blocking(move |tx| tx.subject(id))?.is_none());
    // The connection goes on: the next job commits.
    store.write_blocking(move |tx| tx.insert_subject(&a))?;
    assert!(store.read_blocking(move |tx| tx.subject(id))?.is_some());
    Ok(())
}
