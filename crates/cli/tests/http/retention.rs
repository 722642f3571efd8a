//! Retention: the plan, the sweep (CLI, API and daily in the server), its brake and its fail-safe edges.

use crate::support::{Backend, R, Server, backends, contains, count, delete, files, spawn, verify};
use serde_json::{Value, json};
use std::process::Stdio;

#[test]
fn retention_plans_and_erases_on_the_policy_clocks() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let subject = |first: &str, kind: &str, collected: &str| {
            s.create(&staff, json!({"kind": kind, "collected_at": collected, "identity": {"first_name": first, "email": format!("{first}@example.fr")}}))
        };
        // A: inbound contact on 2023-06-15, 3 years: kept through 2026-06-15.
        let a = subject("anna", "prospect", "2023-06-01T09:00:00Z")?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{a}/interactions"),
            json!({"at":"2023-06-15T10:00:00Z","direction":"inbound","channel":"email"}),
        )?;
        // B: outbound contacts never extend a prospect's clock.
        let b_id = subject("bruno", "prospect", "2023-01-01T08:00:00Z")?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{b_id}/interactions"),
            json!({"at":"2024-06-01T10:00:00Z","direction":"outbound","channel":"phone"}),
        )?;
        // C: collected on a leap day: kept through 2027-02-28.
        let c = subject("chloe", "prospect", "2024-02-29T12:00:00Z")?;
        // D: a client whose last contract ended 2021-02-28: kept through 2026-02-28.
        let d = subject("david", "prospect", "2018-03-01T00:00:00Z")?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{d}/contracts"),
            json!({"reference":"C-1","start":"2019-01-01","end":"2021-02-28"}),
        )?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{d}/contracts"),
            json!({"reference":"C-0","start":"2018-03-01","end":"2019-12-31"}),
        )?;
        // E: a client with an open contract: kept while it runs.
        let e = subject("emma", "prospect", "2015-01-01T00:00:00Z")?;
        s.post(&staff, &format!("/api/v1/subjects/{e}/contracts"), json!({"reference":"C-2","start":"2015-01-01"}))?;
        // F: expired but under a legal hold.
        let f = subject("felix", "prospect", "2020-01-01T00:00:00Z")?;
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"litigation pending"}))?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(s.post(&staff, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"x"}))?.0, 403);

        // The edge: due from the day after the last day of retention.
        let (st, v) = s.get(&dpo, "/api/v1/retention/plan?at=2026-06-15", None)?;
        assert_eq!(st, 200, "{v}");
        let ids = |v: &Value, key: &str| -> Vec<String> {
            let mut ids: Vec<String> = v[key]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x["subject_id"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            ids.sort();
            ids
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(ids(&v, "due"), sorted(vec![b_id.clone(), d.clone()]), "{b:?}: {v}");
        let (_, v) = s.get(&dpo, "/api/v1/retention/plan?at=2026-06-16", None)?;
        assert_eq!(ids(&v, "due"), sorted(vec![a.clone(), b_id.clone(), d.clone()]));

        let (st, v) = s.get(&dpo, "/api/v1/retention/plan?at=2026-11-26", None)?;
        assert_eq!(st, 200);
        assert_eq!(v["at"], "2026-11-26");
        let due = v["due"].as_array().ok_or("due")?;
        let entry = |id: &str| due.iter().find(|x| x["subject_id"] == id).cloned().unwrap_or(Value::Null);
        assert_eq!(entry(&a)["rule"], "last_inbound_contact");
        assert_eq!(entry(&a)["basis_date"], "2023-06-15");
        assert_eq!(entry(&a)["expires_on"], "2026-06-15");
        assert_eq!(entry(&b_id)["basis_date"], "2023-01-01");
        assert_eq!(entry(&b_id)["expires_on"], "2026-01-01");
        assert_eq!(entry(&d)["rule"], "last_contract_end");
        assert_eq!(entry(&d)["basis_date"], "2021-02-28");
        assert_eq!(entry(&d)["expires_on"], "2026-02-28");
        assert_eq!(due.len(), 3, "{v}");
        assert_eq!(v["held"][0]["subject_id"], f.as_str());
        assert_eq!(v["held"][0]["reason"], "litigation pending");
        let forecast = v["forecast"].as_array().ok_or("forecast")?;
        assert_eq!(forecast.len(), 12);
        assert_eq!(forecast[0]["month"], "2026-11");
        assert_eq!(
            forecast.iter().find(|m| m["month"] == "2027-02").map(|m| m["expiring"].clone()),
            Some(json!(1)),
            "C expires in February"
        );
        assert_eq!(s.get(&staff, "/api/v1/retention/plan", None)?.0, 403);
        assert_eq!(s.get(&dpo, "/api/v1/retention/plan?at=2026-02-30", None)?.0, 400);

        // The CLI plans the same.
        let out = s.cli().args(["retention", "plan", "--at", "2026-11-26", "--json"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cli: Value = serde_json::from_slice(&out.stdout)?;
        assert_eq!(ids(&cli, "due"), sorted(vec![a.clone(), b_id.clone(), d.clone()]));

        // Apply: erased for real, the held and the unexpired kept, the audit chain intact.
        let sealed: Option<(Vec<u8>, Vec<u8>)> = if b == Backend::Sqlite {
            let conn = rusqlite::Connection::open(s.dir.join("data").join("vigie.db"))?;
            let hex = a.replace('-', "");
            Some(conn.query_row(
                &format!("SELECT k.wrapped, s.identity FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = X'{hex}'"),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        } else {
            None
        };
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at":"2026-11-26"}))?;
        assert_eq!((st, v["erased"].as_u64()), (200, Some(3)), "{v}");
        if let Some((key, identity)) = sealed {
            // Neither the wrapped key nor the sealed identity lingers in any file: not in
            // the database (secure_delete), not in the journal (checkpointed).
            for (path, bytes) in files(&s.dir.join("data")) {
                assert!(!contains(&bytes, &key), "the erased key lingers in {}", path.display());
                assert!(!contains(&bytes, &identity[..40]), "the erased identity lingers in {}", path.display());
            }
        }
        for id in [&a, &b_id, &d] {
            let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("customer_service"))?;
            assert_eq!((st, v["type"].as_str()), (410, Some("urn:vigie:problem:gone")), "{v}");
            for table in [
                "subjects WHERE id",
                "subject_keys WHERE subject_id",
                "contracts WHERE subject_id",
                "interactions WHERE subject_id",
            ] {
                let sql = match b {
                    Backend::Sqlite => format!("SELECT count(*) FROM {table} = X'{}'", id.replace('-', "")),
                    Backend::Postgres => format!("SELECT count(*) FROM {table} = '{id}'"),
                };
                assert_eq!(count(&s, &sql)?, 0, "{b:?}: {table} of an erased subject");
            }
        }
        let (_, v) = s.get(&staff, "/api/v1/subjects?email=anna%40example.fr", Some("customer_service"))?;
        assert_eq!(v["subjects"].as_array().map(Vec::len), Some(0), "no longer found by email");
        for id in [&c, &e, &f] {
            assert_eq!(s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("customer_service"))?.0, 200);
        }
        let (_, v) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let erasures: Vec<&Value> =
            v["entries"].as_array().ok_or("entries")?.iter().filter(|x| x["action"] == "subject.erase").collect();
        assert_eq!(erasures.len(), 3);
        assert!(erasures.iter().any(|x| x["subject_id"] == d.as_str()
            && x["detail"].as_str().is_some_and(|t| t.contains("rule=last_contract_end"))));
        assert!(s.audit_entries()? > 0);

        // Again: nothing more to do. Lift the hold: the sweep takes F.
        let out = s.cli().args(["retention", "apply", "--at", "2026-11-26"]).output()?;
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("0 erased, 1 held"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(delete(&s, &dpo, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"settled"}))?.0, 200);
        assert_eq!(delete(&s, &dpo, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"settled"}))?.0, 409);
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{f}/legal-hold"), None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["held"], false);
        assert_eq!(v["history"][0]["action"], "set");
        assert_eq!(v["history"][0]["reason"], "litigation pending");
        assert_eq!(v["history"][1]["action"], "lift");
        assert_eq!(v["history"][1]["reason"], "settled");
        assert_eq!(delete(&s, &dpo, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"  "}))?.0, 400);
        let (_, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at":"2026-11-26"}))?;
        assert_eq!(v["erased"], 1);
        assert_eq!(s.post(&staff, "/api/v1/retention/apply", json!({"at":"2026-11-26"}))?.0, 403);
        assert!(s.audit_entries()? > 0);
    }
    Ok(())
}

#[test]
fn a_sweep_killed_midway_leaves_each_subject_whole_or_erased() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        const N: i64 = 20_000;
        let csv = s.dir.join("old.csv");
        let mut text = String::from("kind,collected_at,first_name,email\n");
        for i in 0..N {
            text.push_str(&format!("prospect,2020-01-01,Léa,lea{i}@example.fr\n"));
        }
        std::fs::write(&csv, text)?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let staff = s.token("staff", None)?;
        let id = s.create(&staff, json!({"kind":"prospect","collected_at":"2020-01-01","identity":{"first_name":"Léa","email":"lea0@example.fr"}}))?;
        let _ = id;

        // Kill the sweep with SIGKILL once it has erased something.
        let mut sweep = s.cli().args(["retention", "apply", "--at", "2026-11-26"]).stdout(Stdio::null()).spawn()?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while count(&s, "SELECT count(*) FROM erasures")? == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        sweep.kill()?;
        let _ = sweep.wait();
        let erased = count(&s, "SELECT count(*) FROM erasures")?;
        let present = count(&s, "SELECT count(*) FROM subjects")?;
        assert!(erased > 0 && erased < N + 1, "{b:?}: the kill landed mid-sweep ({erased} erased)");
        assert_eq!(erased + present, N + 1, "{b:?}: every subject is present or erased");
        assert_eq!(
            count(&s, "SELECT count(*) FROM subject_keys")?,
            present,
            "{b:?}: every present subject has its key"
        );
        assert_eq!(
            count(&s, "SELECT count(*) FROM erasures e JOIN subjects s ON s.id = e.subject_id")?,
            0,
            "{b:?}: erased means gone"
        );
        assert_eq!(
            count(&s, "SELECT count(*) FROM audit WHERE action = 'subject.erase'")?,
            erased,
            "{b:?}: each erasure audited"
        );
        let (ok, text) = verify(&s)?;
        assert!(ok, "{b:?}: the audit chain survives the crash: {text}");
        // The next start completed the erasure journal from the tombstones.
        let journal = std::fs::read_to_string(s.dir.join("data").join("erasures.journal")).unwrap_or_default();
        assert_eq!(journal.lines().count() as i64, erased, "{b:?}: every committed erasure is journalled");

        // Running the sweep again finishes the job.
        let out = s.cli().args(["retention", "apply", "--at", "2026-11-26"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(count(&s, "SELECT count(*) FROM subjects")?, 0);
        assert_eq!(count(&s, "SELECT count(*) FROM subject_keys")?, 0);
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, N + 1);
        let (ok, text) = verify(&s)?;
        assert!(ok, "{text}");
    }
    Ok(())
}

#[test]
fn the_daily_sweep_runs_inside_the_server_once_a_day() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let old =
            s.create(&staff, json!({"kind":"prospect","collected_at":"2020-01-01","identity":{"first_name":"Léa"}}))?;
        let fresh = s.create(&staff, json!({"kind":"prospect","identity":{"first_name":"Inès"}}))?;
        // Two instances on the same data, the sweep due at midnight UTC: it runs at once, once.
        s.restart(&["--retention-sweep-at", "00:00", "--retention-sweep-max-share", "100"])?;
        let mut second = spawn(
            &s.dir,
            s.db_url.as_deref(),
            &["--retention-sweep-at", "00:00", "--retention-sweep-max-share", "100"],
        )?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while count(&s, "SELECT count(*) FROM erasures")? == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let _ = second.0.kill();
        let _ = second.0.wait();
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, 1, "{b:?}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'subject.erase'")?, 1, "{b:?}: swept once");
        assert_eq!(
            count(&s, "SELECT count(*) FROM jobs WHERE name = 'retention-sweep' AND last_run_on IS NOT NULL")?,
            1
        );
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{old}"), Some("prospect_relations"))?.0, 410);
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{fresh}"), Some("prospect_relations"))?.0, 200);
        let out = s.cli().args(["serve", "--retention-sweep-at", "25:00"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("HH:MM"));
    }
    Ok(())
}

/// Issue 9: retention fails safe. No far-future date, missing contract, open request,
/// breach under investigation or future `at` can make the sweep erase a live subject.
#[test]
fn retention_fails_safe_at_its_edges() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let today = chrono::Utc::now().date_naive();
        let tomorrow = today.succ_opt().ok_or("date")?.to_string();
        let old = |first: &str, email: &str| json!({"kind":"prospect","collected_at":"2015-03-01","identity":{"first_name":first,"email":email}});
        // An ERP's open-ended contract, and dates past the last storable day.
        let erp = s.create(&staff, old("Anne", "anne@example.fr"))?;
        let path = format!("/api/v1/subjects/{erp}/contracts");
        for end in ["+10000-01-01", "10000-01-01", "0999-12-31", "2021-2-28", ""] {
            let (st, v) = s.post(&staff, &path, json!({"reference":"C-X","start":"2015-01-01","end":end}))?;
            assert_eq!((st, v["field"].as_str()), (400, Some("end")), "{b:?} {end}: {v}");
        }
        let (st, v) = s.post(&staff, &path, json!({"reference":"C-ERP","start":"2015-01-01","end":"9999-12-31"}))?;
        assert_eq!(st, 201, "{v}");
        let far = s.create(&staff, old("Marc", "marc@example.fr"))?;
        let (st, _) = s.post(
            &staff,
            &format!("/api/v1/subjects/{far}/contracts"),
            json!({"reference":"C-FAR","start":"2015-01-01","end":"9997-06-30"}),
        )?;
        assert_eq!(st, 201);
        // A client recorded without any contract: no clock, to review.
        let bare =
            s.create(&staff, json!({"kind":"client","collected_at":"2010-01-01","identity":{"first_name":"Zoé"}}))?;
        // A prospect with an open rights request, another in an open breach's scope, a third plainly due.
        let asking = s.create(&staff, old("Paul", "paul@example.fr"))?;
        let (st, req) = s.post(
            &dpo,
            "/api/v1/requests",
            json!({"kind":"access","received_at":today.to_string(),"channel":"email","requester":{"email":"paul@example.fr"}}),
        )?;
        assert_eq!((st, req["subject_id"].as_str()), (201, Some(asking.as_str())), "{req}");
        let req_id = req["id"].as_str().ok_or("id")?.to_string();
        let breached = s.create(&staff, old("Rose", "rose@example.fr"))?;
        let (st, breach) = s.post(
            &dpo,
            "/api/v1/breaches",
            json!({"detected_at":"2026-11-20T08:30:00Z","nature":["confidentiality"],"description":"lost USB key",
                   "data_categories":["identity"],"scope":{"subject_ids":[breached]},"keys_compromised":"unknown"}),
        )?;
        assert_eq!(st, 201, "{breach}");
        let breach_id = breach["id"].as_str().ok_or("id")?.to_string();
        let due = s.create(&staff, old("Jean", "jean@example.fr"))?;

        let (st, plan) = s.get(&dpo, &format!("/api/v1/retention/plan?at={today}"), None)?;
        assert_eq!(st, 200, "{plan}");
        let ids = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|x| x["subject_id"].as_str().map(String::from)).collect())
                .unwrap_or_default()
        };
        assert_eq!(ids(&plan["due"]), vec![due.clone()], "{b:?}: only the plainly due prospect: {plan}");
        assert_eq!(plan["due_count"], 1, "{plan}");
        assert_eq!(ids(&plan["to_review"]), vec![bare.clone()], "{plan}");
        assert_eq!(plan["to_review"][0]["reason"], "client_without_contract");
        let held = plan["held"].as_array().cloned().unwrap_or_default();
        let by = |id: &str| held.iter().find(|h| h["subject_id"] == id).map(|h| h["held_by"].clone());
        assert_eq!(by(&asking), Some(json!("rights_request")), "{plan}");
        assert_eq!(by(&breached), Some(json!("breach")), "{plan}");
        // Far in the future, the open-ended client is never due either.
        let (_, later) = s.get(&dpo, "/api/v1/retention/plan?at=9999-12-31", None)?;
        assert!(!ids(&later["due"]).contains(&erp) && !ids(&later["due"]).contains(&far), "{later}");
        assert!(!ids(&later["due"]).contains(&bare), "{later}");

        // apply never takes a date after today, by API or command line; nothing changes.
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at": tomorrow}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("at")), "{v}");
        let out = s.cli().args(["retention", "apply", "--at", "9999-12-31"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("after today"));
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, 0, "{b:?}");

        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at": today.to_string()}))?;
        assert_eq!((st, v["erased"].as_u64()), (200, Some(1)), "{v}");
        assert_eq!(v["held"], 2, "{v}");
        for id in [&erp, &far, &bare, &asking, &breached] {
            let (st, _) = s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
            assert_ne!(st, 410, "{b:?}: {id} kept");
        }
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{due}"), Some("prospect_relations"))?.0, 410);

        // Closing the request and the breach releases the holds.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{req_id}/refuse"),
            json!({"ground":"manifestly_unfounded","reason":"no such request was made"}),
        )?;
        assert_eq!(st, 200, "{v}");
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/breaches/{breach_id}/phases"), json!({"phase":"closed","details":"found"}))?;
        assert_eq!(st, 200, "{v}");
        let (_, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(v["erased"], 2, "{b:?}: {v}");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{asking}"), Some("prospect_relations"))?.0, 410);
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{breached}"), Some("prospect_relations"))?.0, 410);
        let out = s.cli().args(["retention", "plan"]).output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("1 client(s) without contract: to review"), "{text}");
    }
    Ok(())
}

/// Issue 9: the daily sweep brakes when it would erase too large a share at once.
#[test]
fn the_daily_sweep_brakes_and_waits_for_the_dpo() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let old =
            s.create(&staff, json!({"kind":"prospect","collected_at":"2020-01-01","identity":{"first_name":"Léa"}}))?;
        for i in 0..3 {
            s.create(&staff, json!({"kind":"prospect","identity":{"first_name": format!("P{i}")}}))?;
        }
        // One of four subjects due: 25% > the default 5%.
        s.restart(&["--retention-sweep-at", "00:00"])?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while count(&s, "SELECT count(*) FROM audit WHERE action = 'retention.sweep_braked'")? == 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'retention.sweep_braked'")?, 1, "{b:?}");
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, 0, "{b:?}: nothing erased");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{old}"), Some("prospect_relations"))?.0, 200);
        let log = std::fs::read_to_string(s.dir.join("server.log"))?;
        assert!(log.contains("policy revision that shortened a retention period"), "{log}");
        // The DPO applies the date explicitly.
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!((st, v["erased"].as_u64()), (200, Some(1)), "{v}");
        let out = s.cli().args(["serve", "--retention-sweep-max-share", "150%"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("percentage"));
    }
    Ok(())
}
