//! Issue 14.3: the register's live counts per kind are kept by every write (migration 0022), not
//! counted over every subject. They must equal a fresh count after every path that records a
//! subject, changes its kind or erases one: create, import (bulk and `--update`), a contract making
//! a prospect a client, a merge, an erasure request, the sweep, and a backup restored.

use crate::support::{R, Server, backends, count, dpo_request, person, verify, verify_identity};
use serde_json::json;

/// The register's count of each kind against `SELECT count(*)` of the subjects.
fn same(s: &Server, dpo: &str, step: &str) -> R {
    let (st, v) = s.get(dpo, "/api/v1/register", None)?;
    assert_eq!(st, 200, "{step}: {v}");
    let mut total = 0;
    for kind in ["client", "prospect"] {
        let fresh = count(s, &format!("SELECT count(*) FROM subjects WHERE kind = '{kind}'"))?;
        let shown = v["totals"]["subjects"]
            .as_array()
            .and_then(|a| a.iter().find(|k| k["kind"] == kind))
            .and_then(|k| k["count"].as_i64())
            .ok_or("no count")?;
        assert_eq!(shown, fresh, "{:?} after {step}: {kind}s", s.backend);
        total += fresh;
    }
    assert_eq!(v["totals"]["total_subjects"].as_i64(), Some(total), "{:?} after {step}", s.backend);
    Ok(())
}

#[test]
fn the_registers_counts_stay_exact_through_every_path() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        same(&s, &dpo, "nothing")?;
        let a = s.create(&staff, person("Alice", "alice@example.fr", "prospect"))?;
        let c = s.create(&staff, person("Chloé", "chloe@example.fr", "prospect"))?;
        let d = s.create(&staff, person("David", "david@example.fr", "client"))?;
        let hugo = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        // Collected in 2010, a contract ended in 2015: a client whose retention ran out.
        let old = s.create(
            &staff,
            json!({"kind":"prospect","collected_at":"2010-01-01T00:00:00Z",
                   "identity":{"first_name":"Ancien","email":"ancien@example.fr"}}),
        )?;
        same(&s, &dpo, "creates")?;
        let (st, v) = s.post(
            &staff,
            &format!("/api/v1/subjects/{old}/contracts"),
            json!({"reference":"OLD-1","start":"2010-01-01","end":"2015-01-01"}),
        )?;
        assert_eq!(st, 201, "{v}");
        let (st, v) = s.post(
            &staff,
            &format!("/api/v1/subjects/{c}/contracts"),
            json!({"reference":"C-1","start":"2025-01-01"}),
        )?;
        assert_eq!(st, 201, "{v}");
        same(&s, &dpo, "contracts making prospects clients")?;
        let csv = s.dir.join("people.csv");
        std::fs::write(
            &csv,
            "kind,first_name,email\nprospect,Inès,ines@example.fr\nprospect,Jules,jules@example.fr\nclient,Karim,karim@example.fr\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        same(&s, &dpo, "an import")?;
        std::fs::write(&csv, "kind,first_name,email\nclient,Jules,jules@example.fr\nprospect,Léon,leon@example.fr\n")?;
        let out = s.cli().arg("import").arg("--update").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        same(&s, &dpo, "an import --update making a prospect a client")?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/subjects/{d}/merge"), json!({"from": a}))?;
        assert_eq!(st, 200, "{v}");
        same(&s, &dpo, "a merge")?;
        // An objector's erasure request is carried out whole.
        let (st, v) =
            s.post(&staff, &format!("/api/v1/subjects/{hugo}/objections"), json!({"purpose":"prospect_relations"}))?;
        assert_eq!(st, 201, "{v}");
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
        same(&s, &dpo, "an erasure request")?;
        let backup = s.dir.join("vigie.backup");
        let out = s.cli().args(["backup", "--out"]).arg(&backup).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = s.cli().args(["retention", "apply"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, 3, "{b:?}: merged, requested, swept");
        same(&s, &dpo, "the sweep")?;
        s.create(&staff, person("Zoé", "zoe@example.fr", "client"))?;
        same(&s, &dpo, "a create after the backup")?;
        // Restored: the backup's subjects, less the one swept since (the journal replayed).
        let _ = s.child.kill();
        let _ = s.child.wait();
        let out = s.cli().args(["restore"]).arg(&backup).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        s.restart(&[])?;
        same(&s, &dpo, "a restore")?;
        assert_eq!(
            count(&s, "SELECT count(*) FROM subjects")?,
            6,
            "{b:?}: the backup's seven, less the one swept since"
        );
        assert!(verify(&s)?.0, "{b:?}");
    }
    Ok(())
}
