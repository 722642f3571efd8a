//! The audit trail: tampering detected by `vigie audit verify`, checkpoints against a rollback.

use crate::support::{Backend, R, Server, backends, camille, person, tamper, verify};
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
