//! The audit trail: tampering detected by `vigie audit verify`, checkpoints against a rollback.

use crate::support::{Backend, R, Server, backends, camille, count, person, tamper, verify};
use serde_json::Value;
use std::process::Command;

#[test]
fn audit_verify_names_altered_removed_and_reordered_entries() -> R {
    for b in backends() {
        for (case, sql, needle) in [
            ("altered", "UPDATE audit SET purpose = 'events' WHERE seq = 3", "entry 3"),
            ("removed", "DELETE FROM audit WHERE seq = 4", "entries 4 to 4 are missing"),
            (
                "truncated",
                "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)",
                "missing (removed from the end)",
            ),
            (
                "reordered",
                "UPDATE audit SET seq = -seq WHERE seq IN (5, 6); UPDATE audit SET seq = 11 + seq WHERE seq IN (-5, -6);",
                "entry 5",
            ),
            (
                "tail cut, head moved back to the new last entry",
                "DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit);
                 UPDATE audit_head SET seq = (SELECT max(seq) FROM audit),
                   hash = (SELECT hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)) WHERE id = 1;",
                "does not carry its MAC",
            ),
            (
                "tail cut, head moved back, its MAC removed",
                "DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit);
                 UPDATE audit_head SET seq = (SELECT max(seq) FROM audit), mac = NULL,
                   hash = (SELECT hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)) WHERE id = 1;",
                "does not carry its MAC",
            ),
            (
                "emptied, head reset",
                "DELETE FROM audit; UPDATE audit_head SET seq = 0, hash = ZEROS, mac = NULL;",
                "the trail is empty, but the installation is not",
            ),
        ] {
            let s = Server::start(b)?;
            let staff = s.token("staff", None)?;
            for i in 0..4 {
                let id = s.create(&staff, person("Léa", &format!("lea{i}@example.fr"), "prospect"))?;
                s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?;
            }
            let (ok, text) = verify(&s)?;
            assert!(ok, "{b:?} {case}: {text}");
            assert_eq!(s.get(&s.admin, "/api/v1/audit/verify", None)?.1["valid"], true);
            let zeros = if b == Backend::Sqlite { "zeroblob(32)" } else { "decode(repeat('00', 32), 'hex')" };
            tamper(&s, &sql.replace("ZEROS", zeros))?;
            let (ok, text) = verify(&s)?;
            assert!(!ok, "{b:?} {case}: tampering must be detected: {text}");
            assert!(text.contains(needle), "{b:?} {case}: {text}");
        }
    }
    Ok(())
}

/// Issue 9: a checkpoint kept outside Vigie proves the trail was not rolled back to an
/// older, internally consistent copy of the whole database.
#[test]
fn an_audit_checkpoint_detects_a_rolled_back_database() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        s.create(&staff, camille())?;
        // An old copy of the whole database, taken while stopped.
        let _ = s.child.kill();
        let _ = s.child.wait();
        let data = s.dir.join("data");
        let old_url = match b {
            Backend::Sqlite => {
                for f in ["vigie.db", "vigie.db-wal"] {
                    if data.join(f).exists() {
                        std::fs::copy(data.join(f), s.dir.join(f))?;
                    }
                }
                None
            }
            Backend::Postgres => {
                let url = s.db_url.clone().ok_or("url")?;
                let name = url.rsplit('/').next().ok_or("db name")?.to_string();
                let old = format!("{name}_old");
                let admin = std::env::var("VIGIE_TEST_DATABASE_URL")?;
                let sql = format!("CREATE DATABASE {old} TEMPLATE {name}");
                std::thread::spawn(move || -> Result<(), String> {
                    let mut c = postgres::Client::connect(&admin, postgres::NoTls).map_err(|e| e.to_string())?;
                    c.batch_execute(&sql).map_err(|e| e.to_string())
                })
                .join()
                .map_err(|_| "thread")??;
                Some(url.replace(&format!("/{name}"), &format!("/{old}")))
            }
        };
        s.restart(&[])?;
        s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        let out = s.cli().args(["audit", "checkpoint"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cp_text = String::from_utf8(out.stdout)?;
        let cp: Value = serde_json::from_str(cp_text.trim())?;
        assert!(cp["seq"].as_i64().is_some_and(|n| n > 0) && cp["mac"].as_str().is_some(), "{cp}");
        let cp_file = s.dir.join("checkpoint.json");
        std::fs::write(&cp_file, &cp_text)?;
        s.create(&staff, person("Inès", "ines@example.fr", "prospect"))?;
        let verify_cp = |c: &mut Command| -> R<(bool, String)> {
            let out = c.args(["audit", "verify", "--checkpoint"]).arg(&cp_file).output()?;
            Ok((
                out.status.success(),
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            ))
        };
        let (ok, text) = verify_cp(&mut s.cli())?;
        assert!(ok && text.contains("extends the checkpoint"), "{b:?}: {text}");
        // A forged checkpoint is refused.
        let forged = cp_text.replace(cp["hash"].as_str().unwrap_or("x"), &"0".repeat(64));
        std::fs::write(s.dir.join("forged.json"), forged)?;
        let out = s.cli().args(["audit", "verify", "--checkpoint"]).arg(s.dir.join("forged.json")).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not genuine"));
        // The old copy back: internally valid, but it does not extend the checkpoint.
        let _ = s.child.kill();
        let _ = s.child.wait();
        let mut cli = s.cli();
        match &old_url {
            None => {
                let _ = std::fs::remove_file(data.join("vigie.db-wal"));
                let _ = std::fs::remove_file(data.join("vigie.db-shm"));
                for f in ["vigie.db", "vigie.db-wal"] {
                    if s.dir.join(f).exists() {
                        std::fs::copy(s.dir.join(f), data.join(f))?;
                    }
                }
            }
            Some(u) => {
                cli.env("VIGIE_DATABASE_URL", u);
            }
        }
        let out = s
            .cli()
            .args(["audit", "verify"])
            .envs(old_url.iter().map(|u| ("VIGIE_DATABASE_URL", u.as_str())))
            .output()?;
        assert!(
            out.status.success(),
            "{b:?}: the old copy is consistent on its own: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (ok, text) = verify_cp(&mut cli)?;
        assert!(!ok && text.contains("rolled back"), "{b:?}: {text}");
        if let Some(u) = old_url {
            let name = u.rsplit('/').next().unwrap_or_default().to_string();
            let admin = std::env::var("VIGIE_TEST_DATABASE_URL")?;
            let _ = std::thread::spawn(move || {
                if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            })
            .join();
        }
    }
    Ok(())
}

#[test]
fn the_trail_verifies_while_the_server_goes_on_writing() -> R {
    for b in crate::support::backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let (base, writer) = (s.base.clone(), staff.clone());
        let writes = std::thread::spawn(move || -> Result<(), String> {
            let http = reqwest::blocking::Client::new();
            for i in 0..300 {
                let res = http
                    .post(format!("{base}/api/v1/subjects"))
                    .bearer_auth(&writer)
                    .json(&serde_json::json!({"kind":"prospect","identity":{"first_name":format!("W{i}")}}))
                    .send()
                    .map_err(|e| e.to_string())?;
                if res.status().as_u16() != 201 {
                    return Err(format!("create answered {}", res.status()));
                }
            }
            Ok(())
        });
        let mut checks = 0;
        while !writes.is_finished() || checks < 5 {
            let (st, v) = s.get(&s.admin, "/api/v1/audit/verify", None)?;
            assert_eq!((st, v["valid"].as_bool()), (200, Some(true)), "{b:?}: appends during a verification: {v}");
            checks += 1;
        }
        writes.join().map_err(|_| "writer thread")??;
    }
    Ok(())
}

/// Issue 14.3: `audit verify` checks the trail in ranges of 16,384 entries, several at once; the
/// first problem it names, and the entries it counts before it, are those of a walk from one entry
/// to the next, wherever the problem lies against the ranges' bounds (the last entry of a range,
/// the first of the next, a gap across a bound, a whole range gone, the tail).
#[test]
fn audit_verify_names_the_first_problem_across_the_ranges_it_checks_at_once() -> R {
    const RANGE: i64 = 16_384;
    for b in backends() {
        let mut s = Server::start(b)?;
        let csv = s.dir.join("people.csv");
        let mut text = String::from("kind,first_name,email\n");
        for i in 0..(2 * RANGE + 3_000) {
            text.push_str(&format!("prospect,Léa,lea{i}@example.fr\n"));
        }
        std::fs::write(&csv, text)?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let _ = s.child.kill();
        let _ = s.child.wait();
        let (ok, text) = verify(&s)?;
        assert!(ok, "{b:?}: {text}");
        let n = count(&s, "SELECT max(seq) FROM audit")?;
        assert!(n > 2 * RANGE + 2_000, "{b:?}: {n} entries");
        assert!(text.contains(&format!("audit trail valid: {n} entries")), "{b:?}: {text}");
        let altered = |k: i64| {
            format!(
                "INVALID after {} valid entries: entry {k} does not match the chain: it was altered, or an entry \
                 before it was altered, removed or reordered",
                k - 1
            )
        };
        let missing = |from: i64, to: i64| {
            format!("INVALID after {} valid entries: entries {from} to {to} are missing (removed)", from - 1)
        };
        let cases: Vec<(String, String, String)> = vec![
            ("altered, first entry".into(), "UPDATE audit SET action = 'x' WHERE seq = 1".into(), altered(1)),
            (
                "altered, last of a range".into(),
                format!("UPDATE audit SET action = 'x' WHERE seq = {RANGE}"),
                altered(RANGE),
            ),
            (
                "altered, first of a range".into(),
                format!("UPDATE audit SET action = 'x' WHERE seq = {}", RANGE + 1),
                altered(RANGE + 1),
            ),
            (
                "altered in two ranges: the first is named".into(),
                format!("UPDATE audit SET outcome = 'x' WHERE seq IN ({}, {})", RANGE + 7, 2 * RANGE + 9),
                altered(RANGE + 7),
            ),
            (
                "altered in the last range, past the others".into(),
                format!("UPDATE audit SET actor = 'x' WHERE seq = {}", 2 * RANGE + 1_500),
                altered(2 * RANGE + 1_500),
            ),
            (
                "removed, last of a range".into(),
                format!("DELETE FROM audit WHERE seq = {RANGE}"),
                missing(RANGE, RANGE),
            ),
            (
                "removed, first of a range".into(),
                format!("DELETE FROM audit WHERE seq = {}", RANGE + 1),
                missing(RANGE + 1, RANGE + 1),
            ),
            (
                "removed across a bound".into(),
                format!("DELETE FROM audit WHERE seq BETWEEN {} AND {}", RANGE - 5, RANGE + 5),
                missing(RANGE - 5, RANGE + 5),
            ),
            (
                "a whole range removed".into(),
                format!("DELETE FROM audit WHERE seq BETWEEN {} AND {}", RANGE + 1, 2 * RANGE),
                missing(RANGE + 1, 2 * RANGE),
            ),
            (
                "reordered across a bound".into(),
                format!(
                    "UPDATE audit SET seq = -seq WHERE seq IN ({RANGE}, {next}); \
                     UPDATE audit SET seq = {sum} + seq WHERE seq IN (-{RANGE}, -{next});",
                    next = RANGE + 1,
                    sum = 2 * RANGE + 1
                ),
                altered(RANGE),
            ),
            (
                "tail cut".into(),
                format!("DELETE FROM audit WHERE seq > {}", n - 3),
                format!(
                    "INVALID after {} valid entries: entries {} to {n} are missing (removed from the end)",
                    n - 3,
                    n - 2
                ),
            ),
        ];
        for (case, sql, expected) in cases {
            // Each case on the trail as imported: the entries it touches are kept aside, then put back.
            tamper(&s, "CREATE TABLE kept AS SELECT * FROM audit WHERE seq BETWEEN 1 AND 2 OR seq > 16000")?;
            tamper(&s, &sql)?;
            let (ok, text) = verify(&s)?;
            assert!(!ok, "{b:?} {case}: tampering must be detected: {text}");
            assert!(text.contains(&expected), "{b:?} {case}: expected «{expected}», got {text}");
            tamper(
                &s,
                "DELETE FROM audit WHERE seq BETWEEN 1 AND 2 OR seq > 16000 OR seq < 0; \
                 INSERT INTO audit SELECT * FROM kept; DROP TABLE kept;",
            )?;
            let (ok, text) = verify(&s)?;
            assert!(ok, "{b:?} {case}, put back: {text}");
        }
    }
    Ok(())
}
