//! Rights requests: access, portability, erasure, rectification, objection, the public form, proof records.

use crate::support::{Backend, R, Server, backends, camille, count, dpo_request, person, tamper, verify_identity};
use serde_json::{Value, json};

#[test]
fn an_access_request_runs_from_intake_to_a_complete_answer() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let accountant = s.token("recipient", Some("accountant"))?;
        let subject = s.create(&staff, camille())?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{subject}/contracts"),
            json!({"reference":"C-9","start":"2024-01-01"}),
        )?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{subject}/consents"),
            json!({"purpose":"events","granted":true,"evidence":"salon 2025"}),
        )?;
        assert_eq!(s.get(&accountant, &format!("/api/v1/subjects/{subject}"), Some("contract_management"))?.0, 200);

        let body = json!({"kind":"access","received_at":"2026-03-31","channel":"letter",
                          "requester":{"first_name":"Camille","last_name":"Martin","email":"Camille.Martin@example.fr"}});
        assert_eq!(s.post(&staff, "/api/v1/requests", body.clone())?.0, 403);
        let v = dpo_request(&s, &dpo, body)?;
        assert_eq!(v["subject_id"], subject.as_str(), "found by blind index");
        assert_eq!(v["due_on"], "2026-04-30");
        assert_eq!(v["status"], "awaiting_identity");
        let id = v["id"].as_str().ok_or("id")?.to_string();

        // Nothing is disclosed before the identity check; the document is destroyed by the decision.
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?;
        assert_eq!(st, 409, "{v}");
        let (st, v) = s.send(
            s.http
                .post(format!("{}/api/v1/requests/{id}/identity-document", s.base))
                .bearer_auth(&dpo)
                .header("content-type", "image/png")
                .body(b"\x89PNG\r\n\x1a\n fake scan of an identity card".to_vec()),
        )?;
        assert_eq!((st, v["identity_document_held"].as_bool()), (201, Some(true)), "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 1);
        verify_identity(&s, &dpo, &id)?;
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 0, "{b:?}: destroyed on the decision");

        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["data"]["email"]["value"], "camille.martin@example.fr");
        assert_eq!(v["data"]["email"]["source"], "provided");
        assert_eq!(v["contracts"][0]["reference"], "C-9");
        assert_eq!(v["consents"][0]["evidence"], "salon 2025");
        assert!(
            v["purposes"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x["id"] == "contract_management" && x["legal_basis"] == "contract"))
        );
        assert_eq!(v["recipients"][0]["recipient"], "accountant", "the recipients it was actually disclosed to");
        assert_eq!(v["retention"]["rule"], "last_contract_end");
        assert_eq!(v["dpo"]["email"], "dpo-msi@racine.eu");
        assert!(v["complaint"]["address"].as_str().is_some_and(|a| a.contains("Fontenoy")));
        let (st, again) = s.get(&dpo, &format!("/api/v1/requests/{id}/response"), None)?;
        assert_eq!((st, &again), (200, &v));
        let html = s
            .http
            .get(format!("{}/api/v1/requests/{id}/response?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        assert!(
            html.contains("lang=\"fr\"") && html.contains("Vos données") && html.contains("camille.martin@example.fr"),
            "{html}"
        );
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{id}"), None)?;
        assert_eq!(v["status"], "completed");

        // Deadlines as the law counts them; one extension, before the first deadline passes.
        let late = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-01-31","channel":"email","requester":{"email":"nobody@example.fr"}}),
        )?;
        assert_eq!(late["due_on"], "2026-03-02", "28 February 2026 is a Saturday");
        assert_eq!(late["subject_id"], Value::Null);
        assert!(late["overdue"].as_bool() == Some(true), "{late}");
        let lid = late["id"].as_str().ok_or("id")?;
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/requests/{lid}/extend"), json!({"months":2,"reason":"complex"}))?;
        assert_eq!(st, 409, "too late to extend: {v}");
        let today = chrono::Utc::now().date_naive().to_string();
        let fresh = dpo_request(
            &s,
            &dpo,
            json!({"kind":"portability","received_at":today,"channel":"web_form","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let fid = fresh["id"].as_str().ok_or("id")?;
        assert_eq!(
            s.post(&dpo, &format!("/api/v1/requests/{fid}/extend"), json!({"months":3,"reason":"complex"}))?.0,
            409
        );
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{fid}/extend"),
            json!({"months":2,"reason":"many archives to search"}),
        )?;
        assert_eq!((st, v["extended"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(
            s.post(&dpo, &format!("/api/v1/requests/{fid}/extend"), json!({"months":1,"reason":"again"}))?.0,
            409,
            "once only"
        );
        let (_, list) = s.get(&dpo, "/api/v1/requests", None)?;
        let order: Vec<&str> =
            list["requests"].as_array().ok_or("list")?.iter().filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(order.first().copied(), Some(lid), "overdue first: {order:?}");
        assert_eq!(order.last().copied(), Some(id.as_str()), "closed last");
        // Portability: the fields provided under contract or consent, as JSON and CSV.
        verify_identity(&s, &dpo, fid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{fid}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["data"]["email"], "camille.martin@example.fr");
        assert!(v["csv"].as_str().is_some_and(|c| c.contains("camille.martin@example.fr")));
        // Refusal of an excessive request, and bad input.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{lid}/refuse"),
            json!({"ground":"excessive","reason":"the tenth identical request this month"}),
        )?;
        assert_eq!((st, v["status"].as_str()), (200, Some("refused")), "{v}");
        assert_eq!(s.post(&dpo, "/api/v1/requests", json!({"kind":"gossip","received_at":"2026-01-01","channel":"letter","requester":{"email":"a@example.fr"}}))?.0, 400);
        assert_eq!(s.post(&dpo, "/api/v1/requests", json!({"kind":"access","received_at":"2999-01-01","channel":"letter","requester":{"email":"a@example.fr"}}))?.0, 400);
        assert_eq!(s.post(&dpo, "/api/v1/requests", json!({"kind":"access","received_at":"2026-01-01","channel":"pigeon","requester":{"email":"a@example.fr"}}))?.0, 400);
    }
    Ok(())
}

#[test]
fn erasure_rectification_and_objection_are_carried_out() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let erp = s.token("recipient", Some("saas_erp"))?;
        // Objection by request, then erasure on that ground: a prospect goes entirely, onto the suppression list.
        let p = s.create(&staff, camille())?;
        let obj = dpo_request(
            &s,
            &dpo,
            json!({"kind":"objection","received_at":"2026-11-02","channel":"email","requester":{"email":"camille.martin@example.fr"},
            "particulars":{"purposes":["prospect_relations"]}}),
        )?;
        let oid = obj["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, oid)?;
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{oid}/fulfil"), json!({}))?.0, 200);
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{p}"), Some("prospect_relations"))?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("objection")), "immediate effect");
        let era = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":"2026-11-03","channel":"letter","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let eid = era["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, eid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{eid}/fulfil"), json!({}))?;
        assert_eq!(
            (st, v["erased"].as_bool(), v["ground"].as_str()),
            (200, Some(true), Some("objection_to_prospecting")),
            "{v}"
        );
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{p}"), Some("customer_service"))?.0, 410);
        let (st, v) = s.post(&staff, "/api/v1/subjects", camille())?;
        assert_eq!((st, v["type"].as_str()), (409, Some("urn:vigie:problem:conflict")), "suppressed: {v}");
        let csv = s.dir.join("again.csv");
        std::fs::write(
            &csv,
            "kind,first_name,email\nprospect,Camille,camille.martin@example.fr\nprospect,Léa,lea@example.fr\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("again.csv:2: identity: this person objected"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        // A client: what legal retention needs is kept and archived, the rest erased, and the answer says why.
        let c = s.create(&staff, json!({"kind":"prospect","identity":{"first_name":"Hugo","last_name":"Bernard","email":"hugo@example.fr","notes":"aime le golf"}}))?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{c}/contracts"),
            json!({"reference":"C-7","start":"2020-01-01","end":"2024-12-31"}),
        )?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{c}/interactions"),
            json!({"at":"2024-03-01T10:00:00Z","direction":"inbound","channel":"phone","summary":"appel"}),
        )?;
        let no_ground = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":"2026-11-03","channel":"letter","requester":{"email":"hugo@example.fr"}}),
        )?;
        let nid = no_ground["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, nid)?;
        let (_, v) = s.post(&dpo, &format!("/api/v1/requests/{nid}/fulfil"), json!({}))?;
        assert_eq!(v["erased"], false, "no Art. 17 ground, nothing erased: {v}");
        let era = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":"2026-11-03","channel":"letter","requester":{"email":"hugo@example.fr"},
            "particulars":{"ground":"no_longer_necessary"}}),
        )?;
        let eid = era["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, eid)?;
        let (_, v) = s.post(&dpo, &format!("/api/v1/requests/{eid}/fulfil"), json!({}))?;
        assert_eq!(v["partial"], true, "{v}");
        assert!(v["kept"].as_array().is_some_and(|k| k.iter().any(|f| f == "last_name")), "{v}");
        assert!(v["erased_fields"].as_array().is_some_and(|k| k.iter().any(|f| f == "notes")), "{v}");
        assert_eq!(v["kept_until"], "2029-12-31", "kept until the legal period ends: {v}");
        let html = s
            .http
            .get(format!("{}/api/v1/requests/{eid}/response?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        assert!(html.contains("Elles seront effacées après le 31 décembre 2029"), "{html}");
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{c}"), Some("contract_management"))?;
        assert_eq!((st, v["archived"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(v["identity"]["last_name"], "Bernard");
        let (_, v) = s.get(&dpo, &format!("/api/v1/subjects/{c}"), Some("customer_relations"))?;
        assert_eq!(v["rule"], "archived");

        // Rectification: changed, who and when recorded but not the old values, recipients told (Art. 19).
        let r = s.create(
            &staff,
            json!({"kind":"prospect","identity":{"first_name":"Inès","last_name":"Moreau","email":"ines@example.fr"}}),
        )?;
        s.post(&staff, &format!("/api/v1/subjects/{r}/contracts"), json!({"reference":"C-8","start":"2025-01-01"}))?;
        assert_eq!(s.get(&erp, &format!("/api/v1/subjects/{r}"), Some("customer_relations"))?.0, 200);
        let rec = dpo_request(
            &s,
            &dpo,
            json!({"kind":"rectification","received_at":"2026-11-03","channel":"email","requester":{"email":"ines@example.fr"},
            "particulars":{"changes":{"last_name":"Moreau-Petit","email":"ines.moreau@example.fr"}}}),
        )?;
        let rid = rec["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, rid)?;
        let (_, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!(v["recipients_notified"], json!(["saas_erp"]), "{v}");
        let (_, v) = s.get(&staff, "/api/v1/subjects?email=ines.moreau%40example.fr", Some("customer_relations"))?;
        assert_eq!(v["subjects"][0]["identity"]["last_name"], "Moreau-Petit");
        let (_, v) = s.get(&staff, "/api/v1/subjects?email=ines%40example.fr", Some("customer_relations"))?;
        assert_eq!(v["subjects"].as_array().map(Vec::len), Some(0), "the old email no longer finds her");
        let (_, audit) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let rect = audit["entries"]
            .as_array()
            .and_then(|e| e.iter().find(|x| x["action"] == "subject.rectify").cloned())
            .unwrap_or(Value::Null);
        assert_eq!(rect["fields"], json!(["email", "last_name"]));
        assert!(!audit.to_string().contains("Moreau"), "no value, old or new, in the audit trail");
        let (_, v) = s.get(&dpo, "/api/v1/outbox", None)?;
        assert!(
            v["messages"].as_array().is_some_and(|m| m
                .iter()
                .any(|x| x["template"] == "rectification_notice" && x["recipient"] == "saas_erp")),
            "{v}"
        );
    }
    Ok(())
}

#[test]
fn the_public_form_records_a_request_for_the_dpo() -> R {
    let s = Server::start(Backend::Sqlite)?;
    let page = s.http.get(format!("{}/rights", s.base)).send()?;
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text()?.contains("name=\"kind\""));
    let res = s
        .http
        .post(format!("{}/rights", s.base))
        .form(&[
            ("kind", "access"),
            ("first_name", "Camille"),
            ("last_name", "Martin"),
            ("email", "camille.martin@example.fr"),
            ("message", "merci"),
        ])
        .send()?;
    assert_eq!(res.status().as_u16(), 200);
    let ack = res.text()?;
    assert!(ack.contains("bien été reçue") && ack.contains("<html lang=\"fr\">"), "{ack}");
    // The deadline in words, and no internal identifier.
    let (_, v) = s.get(&s.token("dpo", None)?, "/api/v1/requests", None)?;
    let first = &v["requests"][0];
    let id = first["id"].as_str().ok_or("id")?;
    assert!(!ack.contains(id), "the acknowledgement shows no internal id");
    let due = chrono::NaiveDate::parse_from_str(first["due_on"].as_str().ok_or("due")?, "%Y-%m-%d")?;
    assert!(ack.contains(&format!(" {}.", chrono::Datelike::year(&due))) && !ack.contains(&due.to_string()), "{ack}");
    // In English on request, both ways; another language is a 400.
    let en = s.http.get(format!("{}/rights?lang=en", s.base)).send()?.text()?;
    assert!(en.contains("<html lang=\"en\">") && en.contains("Exercise your rights") && en.contains("name=\"phone\""));
    assert_eq!(s.http.get(format!("{}/rights?lang=de", s.base)).send()?.status(), 400);
    let res = s
        .http
        .post(format!("{}/rights?lang=en", s.base))
        .form(&[
            ("kind", "portability"),
            ("last_name", "Martin"),
            ("email", "c.martin@example.fr"),
            ("phone", "06 12 34 56 78"),
        ])
        .send()?;
    assert_eq!(res.status(), 200);
    assert!(res.text()?.contains("Your request has been received"));
    // The one stylesheet, served.
    let css = s.http.get(format!("{}/static/vigie.css", s.base)).send()?;
    assert_eq!(css.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/css; charset=utf-8"));
    let robot = s
        .http
        .post(format!("{}/rights", s.base))
        .form(&[("kind", "access"), ("last_name", "X"), ("email", "x@example.fr"), ("website", "spam")])
        .send()?;
    assert_eq!(robot.status().as_u16(), 400);
    let bad = s
        .http
        .post(format!("{}/rights", s.base))
        .form(&[("kind", "access"), ("last_name", "X"), ("email", "not-an-email")])
        .send()?;
    assert_eq!(bad.status().as_u16(), 400);
    let dpo = s.token("dpo", None)?;
    let (_, v) = s.get(&dpo, "/api/v1/requests", None)?;
    let list = v["requests"].as_array().ok_or("list")?;
    assert_eq!(list.len(), 2);
    let form = list.iter().find(|r| r["kind"] == "access").ok_or("access")?;
    assert_eq!(form["channel"], "web_form");
    assert_eq!(form["status"], "awaiting_identity");
    assert_eq!(form["particulars"]["message"], "merci");
    let by_phone = list.iter().find(|r| r["kind"] == "portability").ok_or("portability")?;
    assert_eq!(by_phone["requester"]["phone"], "+33612345678");
    Ok(())
}

/// Issue 9: once a subject is erased, its requests keep a proof record and nothing personal:
/// not the access answer, not the requester's details, not an identity document.
#[test]
fn an_erased_subjects_requests_keep_only_a_proof_record() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let subject = s.create(&staff, camille())?;
        let requester = json!({"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr"});
        let today = chrono::Utc::now().date_naive().to_string();
        let access = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"email","requester":requester}),
        )?;
        let access_id = access["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &access_id)?;
        let (st, answer) = s.post(&dpo, &format!("/api/v1/requests/{access_id}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{answer}");
        assert!(answer.to_string().contains("Atelier Martin"), "the access answer holds the data: {answer}");
        // A second request, its identity document uploaded and still awaiting a decision.
        let pending = dpo_request(
            &s,
            &dpo,
            json!({"kind":"portability","received_at":today,"channel":"letter","requester":requester}),
        )?;
        let pending_id = pending["id"].as_str().ok_or("id")?.to_string();
        let res = s
            .http
            .post(format!("{}/api/v1/requests/{pending_id}/identity-document", s.base))
            .bearer_auth(&dpo)
            .header("Content-Type", "application/pdf")
            .body(b"%PDF-1.4 carte d'identite de Camille Martin".to_vec())
            .send()?;
        assert!(res.status().is_success(), "{}", res.text()?);
        // The erasure: the person objected to prospecting.
        s.post(&staff, &format!("/api/v1/subjects/{subject}/objections"), json!({"purpose":"prospect_relations"}))?;
        let erase = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":today,"channel":"email","requester":requester}),
        )?;
        let erase_id = erase["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &erase_id)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{erase_id}/fulfil"), json!({}))?;
        assert_eq!((st, v["erased"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{subject}"), Some("prospect_relations"))?.0, 410);

        for id in [&access_id, &pending_id, &erase_id] {
            let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{id}"), None)?;
            assert_eq!(st, 200, "{v}");
            assert_eq!(v["subject_erased"], true, "{b:?}: {v}");
            let text = v.to_string();
            assert!(!text.contains("Camille") && !text.contains("camille.martin"), "{b:?}: {text}");
        }
        let (st, proof) = s.get(&dpo, &format!("/api/v1/requests/{access_id}/response"), None)?;
        assert_eq!(st, 200, "{proof}");
        let text = proof.to_string();
        assert!(!text.contains("Atelier") && !text.contains("Camille") && !text.contains("+33"), "{b:?}: {text}");
        assert_eq!(
            (proof["kind"].as_str(), proof["subject_erased"].as_bool()),
            (Some("access"), Some(true)),
            "{proof}"
        );
        assert_eq!(proof["erasure_rule"], "erasure_request");
        assert_eq!(proof["outcome"], "answered");
        let (st, _) = s.get(&dpo, &format!("/api/v1/requests/{erase_id}/response"), None)?;
        assert_eq!(st, 200);
        // The pending request cannot go on: its personal content is gone.
        let (st, _) = s.post(
            &dpo,
            &format!("/api/v1/requests/{pending_id}/identity"),
            json!({"decision":"verified","document":"national_id_card"}),
        )?;
        assert!(st == 410 || st == 409, "{st}");
        assert_eq!(
            count(&s, "SELECT count(*) FROM identity_documents")?,
            0,
            "{b:?}: the document died with the subject"
        );
        assert_eq!(
            count(&s, "SELECT count(*) FROM requests WHERE length(wrapped_key) > 0")?,
            0,
            "{b:?}: request keys destroyed"
        );
        assert_eq!(count(&s, "SELECT count(*) FROM requests WHERE response IS NOT NULL")?, 0, "{b:?}");
        if b == Backend::Sqlite {
            // The erasure checkpointed the journal: no WAL page holds the erased rows.
            let wal = std::fs::metadata(s.dir.join("data").join("vigie.db-wal")).map(|m| m.len()).unwrap_or(0);
            assert!(wal < 200_000, "{wal}");
        }
        // The proof records have a retention of their own: 5 years after closing, then swept.
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(s.get(&dpo, &format!("/api/v1/requests/{access_id}"), None)?.0, 200, "kept within 5 years");
        tamper(
            &s,
            match b {
                Backend::Sqlite => {
                    "UPDATE requests SET completed_at = '2019' || substr(completed_at, 5) WHERE completed_at IS NOT NULL"
                }
                Backend::Postgres => {
                    "UPDATE requests SET completed_at = completed_at - interval '7 years' WHERE completed_at IS NOT NULL"
                }
            },
        )?;
        s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(s.get(&dpo, &format!("/api/v1/requests/{access_id}"), None)?.0, 404, "{b:?}: swept after 5 years");
        assert_eq!(s.get(&dpo, &format!("/api/v1/requests/{erase_id}"), None)?.0, 404);
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'request.proof_expired'")?, 1);
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Issue 9: rectification and partial erasure re-seal the subject under a fresh key; every
/// other value of the subject (contracts, consents, legal hold) stays readable.
#[test]
fn rectification_and_partial_erasure_rotate_the_subject_key() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let id = s.create(&staff, person("Inès", "ines@example.fr", "prospect"))?;
        s.post(&staff, &format!("/api/v1/subjects/{id}/contracts"), json!({"reference":"C-77","start":"2024-01-01"}))?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/consents"),
            json!({"purpose":"events","granted":true,"evidence":"salon 2025"}),
        )?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/interactions"),
            json!({"at":"2026-01-05T10:00:00Z","direction":"inbound","channel":"email","summary":"asked for a quote"}),
        )?;
        s.post(&dpo, &format!("/api/v1/subjects/{id}/legal-hold"), json!({"reason":"litige en cours"}))?;
        // The subject's wrapped key, as stored.
        let fingerprint = |s: &Server| -> R<String> {
            let all = match s.backend {
                Backend::Sqlite => {
                    let conn = rusqlite::Connection::open(s.dir.join("data").join("vigie.db"))?;
                    conn.query_row("SELECT hex(wrapped) FROM subject_keys", [], |r| r.get::<_, String>(0))?
                }
                Backend::Postgres => {
                    let url = s.db_url.clone().ok_or("url")?;
                    std::thread::spawn(move || -> Result<String, String> {
                        let mut c = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
                        c.query_one("SELECT encode(wrapped, 'hex') FROM subject_keys", &[])
                            .map(|r| r.get(0))
                            .map_err(|e| e.to_string())
                    })
                    .join()
                    .map_err(|_| "thread")??
                }
            };
            Ok(all.to_lowercase())
        };
        let before = fingerprint(&s)?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"rectification","received_at":today,"channel":"email","requester":{"email":"ines@example.fr"},
            "particulars":{"changes":{"last_name":"Moreau"}}}),
        )?;
        let rid = req["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &rid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        let after = fingerprint(&s)?;
        assert_ne!(before, after, "{b:?}: a fresh key after rectification");
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!(st, 200, "{v}");
        let text = v.to_string();
        assert!(text.contains("Moreau") && text.contains("C-77"), "{b:?}: {text}");
        let (_, hold) = s.get(&dpo, &format!("/api/v1/subjects/{id}/legal-hold"), None)?;
        assert_eq!(hold["reason"], "litige en cours", "{hold}");
        assert_eq!(hold["history"][0]["reason"], "litige en cours", "{hold}");
        // A partial erasure (a client under contract) rotates it again.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":today,"channel":"email","requester":{"email":"ines@example.fr"},
            "particulars":{"ground":"no_longer_necessary"}}),
        )?;
        let rid = req["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &rid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!((st, v["partial"].as_bool()), (200, Some(true)), "{v}");
        assert_ne!(fingerprint(&s)?, after, "{b:?}: a fresh key after partial erasure");
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!(st, 200, "{v}");
        assert!(v.to_string().contains("C-77"), "{v}");
    }
    Ok(())
}

#[test]
fn two_instances_deciding_one_identity_at_once_decide_it_once() -> R {
    for b in crate::support::backends() {
        let s = Server::start(b)?;
        let dpo = s.token("dpo", None)?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"email","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let id = req["id"].as_str().ok_or("id")?.to_string();
        let mut second = crate::support::spawn(&s.dir, s.db_url.as_deref(), &[])?;
        let bases = [s.base.clone(), second.1.clone()];
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (base, dpo, id) = (bases[i % 2].clone(), dpo.clone(), id.clone());
                std::thread::spawn(move || -> Result<u16, String> {
                    let res = reqwest::blocking::Client::new()
                        .post(format!("{base}/api/v1/requests/{id}/identity"))
                        .bearer_auth(&dpo)
                        .json(&json!({"decision":"verified","document":"national_id_card"}))
                        .send()
                        .map_err(|e| e.to_string())?;
                    Ok(res.status().as_u16())
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in threads {
            statuses.push(t.join().map_err(|_| "thread")??);
        }
        let _ = second.0.kill();
        let _ = second.0.wait();
        assert_eq!(statuses.iter().filter(|&&st| st == 200).count(), 1, "{b:?}: {statuses:?}");
        assert!(statuses.iter().all(|&st| st == 200 || st == 409), "{b:?}: {statuses:?}");
        assert_eq!(
            count(&s, "SELECT count(*) FROM audit WHERE action = 'request.identity'")?,
            1,
            "{b:?}: one decision in the trail"
        );
    }
    Ok(())
}

#[test]
fn a_request_is_linked_only_to_a_certain_subject_and_no_data_only_once_the_dpo_confirmed_it() -> R {
    for b in crate::support::backends() {
        let s = Server::start(b)?;
        let (staff, dpo) = (s.token("staff", None)?, s.token("dpo", None)?);
        let today = chrono::Utc::now().date_naive().to_string();
        // Two records share Camille's email: the request is not linked, both are candidates.
        let first = s.create(&staff, camille())?;
        let second = s.create(&staff, camille())?;
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"phone","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let id = req["id"].as_str().ok_or("id")?.to_string();
        assert_eq!(req["subject_id"], Value::Null, "{b:?}: an ambiguous match is not linked: {req}");
        assert_eq!(req["channel"], "phone", "recorded as it came");
        let listed: Vec<&str> =
            req["candidates"].as_array().ok_or("candidates")?.iter().filter_map(|c| c["subject_id"].as_str()).collect();
        assert!(listed.contains(&first.as_str()) && listed.contains(&second.as_str()), "{req}");
        assert!(req["candidates"][0]["matched_by"].as_array().is_some_and(|m| m.iter().any(|x| x == "email")));
        verify_identity(&s, &dpo, &id)?;
        // Never "no data" for a person who is recorded twice.
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?;
        assert_eq!(st, 409, "{b:?}: unlinked, nothing is answered: {v}");
        let link = |body: Value| s.post(&dpo, &format!("/api/v1/requests/{id}/link"), body);
        let (st, v) = link(json!({"subjects":[first, second]}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("subjects")), "merge first: {v}");
        let (st, v) = link(json!({"subjects":[]}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("reason")), "{v}");
        assert_eq!(link(json!({"subjects":[uuid::Uuid::now_v7()]}))?.0, 404, "an unknown subject");
        assert_eq!(s.post(&staff, &format!("/api/v1/requests/{id}/link"), json!({"subjects":[first]}))?.0, 403);
        let (st, v) = link(json!({"subjects":[first]}))?;
        assert_eq!((st, v["subject_id"].as_str()), (200, Some(first.as_str())), "{v}");
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert!(v.to_string().contains("Camille"), "the answer is about the linked record: {v}");
        assert_eq!(link(json!({"subjects":[second]}))?.0, 409, "a closed request is not relinked");

        // Nobody matches: "no data" only after the DPO confirmed it, with a reason.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"in_person","requester":{"email":"inconnu@example.fr"}}),
        )?;
        let nid = req["id"].as_str().ok_or("id")?.to_string();
        assert_eq!((req["candidates"].as_array().map(Vec::len), req["channel"].as_str()), (Some(0), Some("in_person")));
        verify_identity(&s, &dpo, &nid)?;
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{nid}/fulfil"), json!({}))?.0, 409);
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{nid}/link"),
            json!({"subjects":[],"reason":"searched by email, phone and name: no record"}),
        )?;
        assert_eq!(st, 200, "{v}");
        assert!(v["no_subject"]["reason"].as_str().is_some_and(|r| r.contains("no record")), "{v}");
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{nid}/fulfil"), json!({}))?;
        assert_eq!((st, v["subject_found"].as_bool()), (200, Some(false)), "{v}");

        // A unique match by phone is linked at intake, whatever the email says.
        let hugo =
            s.create(&staff, json!({"kind":"prospect","identity":{"first_name":"Hugo","phone":"+33698765432"}}))?;
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"letter",
                   "requester":{"phone":"+33698765432","postal_address":"1 rue de la Paix, 75002 Paris"}}),
        )?;
        assert_eq!(req["subject_id"].as_str(), Some(hugo.as_str()), "{req}");
        // Channels outside the set are refused, naming the field.
        let (st, v) = s.post(
            &dpo,
            "/api/v1/requests",
            json!({"kind":"access","received_at":today,"channel":"fax","requester":{"email":"a@example.fr"}}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("channel")), "{v}");
        // The trail names the link by ids, never the reason or an address.
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'request.link'")?, 2);
        assert_eq!(
            count(&s, "SELECT count(*) FROM audit WHERE detail LIKE '%no record%' OR detail LIKE '%example.fr%'")?,
            0
        );
    }
    Ok(())
}

/// Issue 12, point 3: restriction (Art. 18) from request to lift; the subject is told before the lift.
#[test]
fn a_restriction_stops_every_use_but_legal_claims_until_lifted_with_notice() -> R {
    for b in backends() {
        let (s, smtp) = Server::with_mail(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let subject = s.create(&staff, camille())?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{subject}/contracts"),
            json!({"reference":"C-1","start":"2024-01-01"}),
        )?;
        let path = format!("/api/v1/subjects/{subject}");
        assert_eq!(s.get(&staff, &path, Some("customer_relations"))?.0, 200);

        // Careless: a restriction without its Art. 18(1) ground.
        let body = |p: Value| {
            json!({"kind":"restriction","received_at":"2026-03-31","channel":"letter",
                   "requester":{"email":"camille.martin@example.fr"},"particulars":p})
        };
        let (st, v) = s.post(&dpo, "/api/v1/requests", body(json!({})))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("particulars.restriction_ground")), "{v}");
        let (st, v) = s.post(&dpo, "/api/v1/requests", body(json!({"restriction_ground":"because"})))?;
        assert_eq!(st, 400, "{v}");
        assert!(!v.to_string().contains("because"), "the value is not echoed: {v}");
        // Lifting a subject that is not restricted.
        let lift = format!("/api/v1/subjects/{subject}/restriction/lift");
        assert_eq!(s.post(&dpo, &lift, json!({"reason":"nothing"}))?.0, 409);

        let r = dpo_request(&s, &dpo, body(json!({"restriction_ground":"accuracy_contested"})))?;
        let rid = r["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, rid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!((st, v["restricted"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(v["restriction_ground"], "accuracy_contested");
        let html = s
            .http
            .get(format!("{}/api/v1/requests/{rid}/response?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        assert!(html.contains("Le traitement de vos données est limité depuis le"), "{html}");

        // While restricted: every purpose refused with rule `restricted`, but legal claims by the DPO.
        for (token, purpose) in [
            (&staff, "customer_relations"),
            (&staff, "contract_management"),
            (&staff, "service_delivery"),
            (&dpo, "customer_relations"),
        ] {
            let (st, v) = s.get(token, &path, Some(purpose))?;
            assert_eq!((st, v["rule"].as_str()), (403, Some("restricted")), "{purpose}: {v}");
        }
        let (st, v) = s.get(&dpo, &path, Some("contract_management"))?;
        assert_eq!(st, 200, "legal claims stay possible: {v}");
        let refused = count(&s, "SELECT count(*) FROM audit WHERE outcome = 'refused' AND detail = 'restricted'")?;
        assert_eq!(refused, 4, "{b:?}: every refusal is audited");

        // Staff cannot lift; the DPO lifts, and the subject is told first.
        assert_eq!(s.post(&staff, &lift, json!({"reason":"accuracy verified"}))?.0, 403);
        let (st, v) = s.post(&dpo, &lift, json!({"reason":"Exactitude vérifiée avec Camille Martin"}))?;
        assert_eq!((st, v["ground"].as_str()), (200, Some("accuracy_contested")), "{v}");
        let mail = smtp.wait_for(1);
        assert!(
            mail.iter().any(|m| m.contains("camille.martin@example.fr") && m.contains("18")),
            "{b:?}: the subject is told of the lift: {mail:?}"
        );
        assert_eq!(s.get(&staff, &path, Some("customer_relations"))?.0, 200, "reads allowed again");
        assert_eq!(s.post(&dpo, &lift, json!({"reason":"again"}))?.0, 409);

        // Nothing personal in the audit trail or the outbox.
        for sql in [
            "SELECT count(*) FROM audit WHERE detail LIKE '%Camille%' OR detail LIKE '%vérifiée%'",
            "SELECT count(*) FROM outbox WHERE params LIKE '%camille%' OR params LIKE '%vérifiée%'",
        ] {
            assert_eq!(count(&s, sql)?, 0, "{b:?}: {sql}");
        }
    }
    Ok(())
}

/// Issue 12, point 4: Art. 19 notices reach the recipient's contact address with the corrected
/// fields; a recipient without an address is reported unreachable, never "notified".
#[test]
fn rectification_notices_reach_recipients_with_an_address_and_the_rest_are_reported() -> R {
    for b in backends() {
        let (s, smtp) = Server::with_mail(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let erp = s.token("recipient", Some("saas_erp"))?;
        let sub = s.token("recipient", Some("subcontractor"))?;
        let c = s.create(
            &staff,
            json!({"kind":"prospect","identity":{"first_name":"Inès","last_name":"Moreau","email":"ines@example.fr"}}),
        )?;
        s.post(&staff, &format!("/api/v1/subjects/{c}/contracts"), json!({"reference":"C-8","start":"2025-01-01"}))?;
        assert_eq!(s.get(&erp, &format!("/api/v1/subjects/{c}"), Some("customer_relations"))?.0, 200);
        assert_eq!(s.get(&sub, &format!("/api/v1/subjects/{c}"), Some("service_delivery"))?.0, 200);
        let rec = dpo_request(
            &s,
            &dpo,
            json!({"kind":"rectification","received_at":"2026-11-03","channel":"email","requester":{"email":"ines@example.fr"},
            "particulars":{"changes":{"last_name":"Moreau-Petit"}}}),
        )?;
        let rid = rec["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, rid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["recipients"], json!({"queued":["saas_erp"],"unreachable":["subcontractor"]}), "{v}");
        assert_eq!(v["recipients_notified"], json!(["saas_erp"]), "only those actually told");
        let html = s
            .http
            .get(format!("{}/api/v1/requests/{rid}/response?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        let notice = vigie_ui::answers::readable_text(&html);
        assert!(
            notice.contains("ERP en SaaS")
                && notice.contains("pas d'adresse pour l'informer")
                && notice.contains("Sous-traitant"),
            "{notice}"
        );
        assert!(!notice.contains("saas_erp"), "no internal id in the answer to the person: {notice}");
        let mail = smtp.wait_for(1);
        let to_erp: Vec<&String> = mail.iter().filter(|m| m.contains("rgpd@erp-saas.example")).collect();
        assert_eq!(to_erp.len(), 1, "{b:?}: {mail:?}");
        assert!(to_erp[0].contains("last_name") && to_erp[0].contains("Moreau-Petit"), "{}", to_erp[0]);
        for sql in [
            "SELECT count(*) FROM outbox WHERE params LIKE '%Moreau%'",
            "SELECT count(*) FROM audit WHERE detail LIKE '%Moreau%'",
        ] {
            assert_eq!(count(&s, sql)?, 0, "{b:?}: {sql}");
        }
    }
    Ok(())
}
