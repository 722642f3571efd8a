//! Start-up checks, backup and restore, master key rotation, and kills in the middle of each.

use crate::support::{
    Backend, R, Server, backends, camille, count, dpo_request, person, verify, verify_identity, vigie,
};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};

/// Issue 9: a missing or wrong master key, and a missing, empty or damaged database
/// beside a key, are refused with an error naming the file; nothing is re-created.
#[test]
fn damaged_or_missing_state_is_refused_never_reinitialised() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let id = s.create(&staff, camille())?;
        let _ = s.child.kill();
        let _ = s.child.wait();
        let data = s.dir.join("data");
        let key = data.join("master.key");
        let refused = |s: &Server, what: &str| -> R {
            for args in [vec!["serve", "--listen", "127.0.0.1:0"], vec!["token", "create", "--role", "admin"]] {
                let out = output_within(s.cli().args(&args).env("VIGIE_RETENTION_SWEEP_AT", "off"), 20)?;
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(!out.status.success(), "{b:?} {what}: {args:?} must fail");
                assert!(err.contains(what), "{b:?} {what}: {err}");
                assert!(!String::from_utf8_lossy(&out.stdout).contains("vigie_"), "no admin token printed");
            }
            Ok(())
        };
        // The key missing: refused, and no new key is written.
        std::fs::rename(&key, data.join("kept.key"))?;
        refused(&s, "does not exist")?;
        assert!(!key.exists(), "{b:?}: a missing key is never replaced");
        // Another key: refused.
        write_key(&key, &"ab".repeat(32))?;
        refused(&s, "does not match the database")?;
        std::fs::rename(data.join("kept.key"), &key)?;

        match b {
            Backend::Sqlite => {
                let db = data.join("vigie.db");
                {
                    let conn = rusqlite::Connection::open(&db)?;
                    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                }
                let good = std::fs::read(&db)?;
                std::fs::write(&db, b"")?;
                refused(&s, "is empty")?;
                std::fs::remove_file(&db)?;
                refused(&s, "is missing")?;
                assert!(!db.exists(), "a missing database is never re-created beside its key");
                // Damaged pages: refused at start.
                let mut bad = good.clone();
                for page in 2..(bad.len() / 4096).min(12) {
                    for byte in &mut bad[page * 4096..page * 4096 + 64] {
                        *byte = 0xA5;
                    }
                }
                std::fs::write(&db, &bad)?;
                refused(&s, "is damaged")?;
                let out = s.cli().args(["check"]).output()?;
                assert!(!out.status.success(), "vigie check fails on a damaged database");
                std::fs::write(&db, &good)?;
            }
            Backend::Postgres => {
                // The same key beside a database that holds no Vigie schema: refused.
                let server = std::env::var("VIGIE_TEST_DATABASE_URL")?;
                let (url, _guard) = vigie_store_postgres::testing::fresh_database(&server)?;
                let out =
                    s.cli().env("VIGIE_DATABASE_URL", &url).args(["token", "create", "--role", "admin"]).output()?;
                assert!(!out.status.success());
                assert!(
                    String::from_utf8_lossy(&out.stderr).contains("is missing"),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        // Everything back: it starts, the subject is whole, and `vigie check` passes.
        let out = s.cli().args(["check"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        s.restart(&[])?;
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0, 200);
    }
    Ok(())
}

/// Runs a command to its end, or kills it after `secs` (a server that should have refused to start).
fn output_within(cmd: &mut Command, secs: u64) -> R<std::process::Output> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait()?.is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output()?;
            return Err(format!("still running after {secs} s: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(child.wait_with_output()?)
}

fn write_key(path: &Path, hex: &str) -> R {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    std::io::Write::write_all(&mut f, hex.as_bytes())?;
    Ok(())
}

/// Issue 9: backup while the server runs, erase, restore: the erased person stays erased,
/// every other subject is as at the backup, and the trail is valid and records the restore.
#[test]
fn a_restored_backup_never_brings_the_erased_back() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let old = s.create(&staff, json!({"kind":"prospect","collected_at":"2015-01-01","identity":{"first_name":"Léa","email":"lea@example.fr"}}))?;
        let objector = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        let kept = s.create(&staff, json!({"kind":"prospect","identity":{"first_name":"Camille","email":"camille.martin@example.fr","company":"Atelier Martin"}}))?;
        let backup = s.dir.join("vigie.backup");
        let out = s.cli().args(["backup", "--out"]).arg(&backup).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&backup)?;
        for secret in ["Camille", "camille.martin@example.fr", "Atelier Martin", "hugo@example.fr"] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{b:?}: {secret} in the backup");
        }
        let out = s.cli().args(["backup", "--out"]).arg(&backup).output()?;
        assert!(!out.status.success(), "a backup never overwrites a file");
        // After the backup: one erased by the sweep, one by a rights request; Camille changes.
        let (_, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(v["erased"], 1, "{v}");
        s.post(&staff, &format!("/api/v1/subjects/{objector}/objections"), json!({"purpose":"prospect_relations"}))?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":today,"channel":"email","requester":{"email":"hugo@example.fr"}}),
        )?;
        let req_id = req["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &req_id)?;
        let (_, v) = s.post(&dpo, &format!("/api/v1/requests/{req_id}/fulfil"), json!({}))?;
        assert_eq!(v["erased"], true, "{v}");
        s.post(
            &staff,
            &format!("/api/v1/subjects/{kept}/interactions"),
            json!({"at":"2026-06-15T10:00:00Z","direction":"inbound","channel":"email"}),
        )?;
        let later = s.create(&staff, person("Inès", "ines@example.fr", "prospect"))?;

        // Refused while a server runs.
        let out = s.cli().args(["restore"]).arg(&backup).output()?;
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("running"),
            "{b:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = s.child.kill();
        let _ = s.child.wait();
        // Refused under another key, and for what is not a backup.
        let other = s.dir.join("other.key");
        write_key(&other, &"cd".repeat(32))?;
        let out = s.cli().arg("--master-key-file").arg(&other).args(["restore"]).arg(&backup).output()?;
        assert!(!out.status.success(), "{b:?}: another key");
        std::fs::write(s.dir.join("junk"), b"not a backup")?;
        let out = s.cli().args(["restore"]).arg(s.dir.join("junk")).output()?;
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not a Vigie"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let out = s.cli().args(["restore"]).arg(&backup).output()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("audit trail valid"), "{b:?}: {text}");
        s.restart(&[])?;
        for id in [&old, &objector] {
            assert_eq!(
                s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0,
                410,
                "{b:?}: {id} stays erased"
            );
        }
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{kept}"), Some("prospect_relations"))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(
            v["identity"]["company"]["value"].as_str().or(v["identity"]["company"].as_str()),
            Some("Atelier Martin"),
            "{v}"
        );
        assert_eq!(v["interactions"].as_array().map(Vec::len), Some(0), "{b:?}: as at the backup: {v}");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{later}"), Some("prospect_relations"))?.0, 404, "{b:?}");
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'backup.restore'")?, 1);
        assert!(count(&s, "SELECT count(*) FROM audit WHERE detail LIKE '%replayed after restore%'")? >= 2, "{b:?}");
        // The journal holds ids and dates only.
        let journal = std::fs::read_to_string(s.dir.join("data").join("erasures.journal"))?;
        assert!(journal.contains(&old) && journal.contains(&objector) && !journal.contains('@'), "{journal}");
    }
    Ok(())
}

/// Issue 9: `vigie key rotate` re-wraps every key; lookups, reads and the audit chain go on
/// under the new key, the old one is refused, and an interrupted rotation completes at start.
#[test]
fn the_master_key_rotates_and_the_old_one_is_refused() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let id = s.create(&staff, camille())?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"email","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let key = s.dir.join("data").join("master.key");
        let old_key = std::fs::read_to_string(&key)?;
        let out = s.cli().args(["key", "rotate"]).output()?;
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("running"),
            "{b:?}: refused beside a server"
        );
        let _ = s.child.kill();
        let _ = s.child.wait();
        // PostgreSQL releases a killed server's advisory lock once it notices the closed
        // connection: moments later, not at once.
        let mut out = s.cli().args(["key", "rotate"]).output()?;
        for _ in 0..50 {
            if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("running") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            out = s.cli().args(["key", "rotate"]).output()?;
        }
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        let new_key = std::fs::read_to_string(&key)?;
        assert_ne!(old_key, new_key);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key)?.permissions().mode() & 0o777, 0o600);
        s.restart(&[])?;
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0, 200);
        let (_, found) =
            s.get(&staff, "/api/v1/subjects?email=camille.martin@example.fr", Some("prospect_relations"))?;
        assert!(found.to_string().contains(&id), "{b:?}: the blind index survives: {found}");
        let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{}", req["id"].as_str().unwrap_or_default()), None)?;
        assert_eq!((st, v["requester"]["email"].as_str()), (200, Some("camille.martin@example.fr")), "{v}");
        let _ = s.child.kill();
        let _ = s.child.wait();
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        // The old key is refused.
        std::fs::rename(&key, s.dir.join("new.key"))?;
        write_key(&key, old_key.trim())?;
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("does not match"));
        // A rotation cut short after its commit (old file still in place, the new one beside it) completes.
        std::fs::rename(s.dir.join("new.key"), s.dir.join("data").join("master.key.new"))?;
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read_to_string(&key)?, new_key);
    }
    Ok(())
}

/// Issue 9: kill -9 at any point of a backup, a restore or a key rotation leaves every subject
/// whole, every key usable and the audit chain valid; running the command again finishes it.
#[test]
fn backup_restore_and_key_rotation_survive_a_kill() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        const N: i64 = 20_000;
        let csv = s.dir.join("people.csv");
        let mut text = String::from("kind,first_name,email\n");
        for i in 0..N {
            text.push_str(&format!("prospect,Léa,lea{i}@example.fr\n"));
        }
        std::fs::write(&csv, text)?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let staff = s.token("staff", None)?;
        let _ = s.child.kill();
        let _ = s.child.wait();
        let whole = |s: &Server, what: &str| -> R {
            let (ok, text) = verify(s)?;
            assert!(ok, "{b:?} {what}: {text}");
            assert_eq!(count(s, "SELECT count(*) FROM subjects")?, N, "{b:?} {what}");
            assert_eq!(count(s, "SELECT count(*) FROM subject_keys")?, N, "{b:?} {what}");
            Ok(())
        };
        let killed = |cmd: &mut Command, ms: u64| -> R {
            let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
            std::thread::sleep(std::time::Duration::from_millis(ms));
            let _ = child.kill();
            let _ = child.wait();
            Ok(())
        };
        // A backup killed midway leaves a file that restore refuses, and nothing else changed.
        for (i, ms) in [5u64, 40, 150].into_iter().enumerate() {
            let partial = s.dir.join(format!("partial-{i}.backup"));
            killed(s.cli().args(["backup", "--out"]).arg(&partial), ms)?;
            whole(&s, "after a killed backup")?;
            if partial.exists() {
                let out = s.cli().args(["restore"]).arg(&partial).output()?;
                if !out.status.success() {
                    whole(&s, "after refusing a partial backup")?;
                }
            }
        }
        let backup = s.dir.join("full.backup");
        let out = s.cli().args(["backup", "--out"]).arg(&backup).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // A restore killed midway: the old database or the restored one, whole; again finishes it.
        for ms in [5u64, 40, 150] {
            killed(s.cli().args(["restore"]).arg(&backup), ms)?;
            whole(&s, "after a killed restore")?;
        }
        let out = s.cli().args(["restore"]).arg(&backup).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        whole(&s, "after the restore")?;
        // A key rotation killed midway: one key or the other is in force, every key usable.
        for ms in [5u64, 40, 150, 400] {
            killed(s.cli().args(["key", "rotate"]), ms)?;
            whole(&s, "after a killed rotation")?;
        }
        let out = s.cli().args(["key", "rotate"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        whole(&s, "after the rotation")?;
        s.restart(&[])?;
        let (st, found) = s.get(&staff, "/api/v1/subjects?email=lea19999@example.fr", Some("prospect_relations"))?;
        assert_eq!(st, 200, "{found}");
        let id = found
            .as_array()
            .and_then(|a| a.first())
            .map(|v| v["id"].clone())
            .or_else(|| Some(found["subjects"][0]["id"].clone()));
        let id = id.and_then(|v| v.as_str().map(String::from)).ok_or(format!("no subject: {found}"))?;
        assert_eq!(
            s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0,
            200,
            "{b:?}: keys usable"
        );
    }
    Ok(())
}

/// Issue 9: the disk holding the database is lost; the master key and the erasure journal were
/// kept apart: restoring an older backup onto a new data directory keeps the erased erased.
#[test]
fn a_backup_restored_onto_a_lost_disk_keeps_the_erased_erased() -> R {
    let dir = std::env::temp_dir().join(format!("vigie-lost-{}", uuid::Uuid::now_v7()));
    let (data, safe) = (dir.join("data"), dir.join("safe"));
    std::fs::create_dir_all(&safe)?;
    let journal = safe.join("erasures.journal");
    let cli = || {
        let mut c = vigie();
        c.arg("--data-dir").arg(&data).arg("--erasure-journal").arg(&journal);
        c
    };
    let run = |c: &mut Command| -> R<String> {
        let out = c.output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8(out.stdout)?)
    };
    run(cli().arg("init"))?;
    let csv = dir.join("p.csv");
    std::fs::write(
        &csv,
        "kind,collected_at,first_name,email\nprospect,2015-01-01,Léa,lea@example.fr\nprospect,,Inès,ines@example.fr\n",
    )?;
    run(cli().arg("import").arg(&csv))?;
    let backup = dir.join("b.backup");
    run(cli().args(["backup", "--out"]).arg(&backup))?;
    let out = run(cli().args(["retention", "apply"]))?;
    assert!(out.contains("1 erased"), "{out}");
    // The disk is lost; the key was kept with the journal.
    std::fs::copy(data.join("master.key"), safe.join("master.key"))?;
    std::fs::remove_dir_all(&data)?;
    run(cli().arg("--master-key-file").arg(safe.join("master.key")).arg("restore").arg(&backup))?;
    let plan = run(cli().arg("--master-key-file").arg(safe.join("master.key")).args(["retention", "plan", "--json"]))?;
    let plan: Value = serde_json::from_str(&plan)?;
    assert_eq!(plan["due_count"], 0, "the erased prospect did not come back: {plan}");
    let conn = rusqlite::Connection::open(data.join("vigie.db"))?;
    let subjects: i64 = conn.query_row("SELECT count(*) FROM subjects", [], |r| r.get(0))?;
    let erasures: i64 = conn.query_row("SELECT count(*) FROM erasures", [], |r| r.get(0))?;
    assert_eq!((subjects, erasures), (1, 1));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
