//! Data written by an earlier release reads back. `fixtures/legacy-aad/` is a data
//! directory the release before versioned associated data wrote (commit 2591b28, by
//! `fixtures/make_legacy_aad.py`): every value in it is sealed under the first layout
//! (owner, label and item run together). This release opens them all, and seals again
//! under the versioned context what it rewrites.

use crate::support::{R, Server, dpo_request, verify_identity};
use serde_json::{Value, json};
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/http/fixtures/legacy-aad")
}

fn texts(list: &Value, field: &str) -> Vec<String> {
    list.as_array().into_iter().flatten().filter_map(|x| x[field].as_str().map(str::to_string)).collect()
}

#[test]
fn data_sealed_by_the_previous_release_reads_back_and_is_sealed_again() -> R {
    let ids: Value = serde_json::from_str(&std::fs::read_to_string(fixture().join("ids.json"))?)?;
    let id = |k: &str| ids[k].as_str().unwrap_or_default().to_string();
    let (camille, hugo, breach) = (id("camille"), id("hugo"), id("breach"));
    let s = Server::start_on_copy(&fixture().join("data"))?;
    let out = s.cli().arg("check").output()?;
    assert!(out.status.success(), "the installation checks: {}", String::from_utf8_lossy(&out.stderr));
    let staff = s.token("staff", None)?;
    let dpo = s.token("dpo", None)?;

    // A subject's identity, contract and interaction, as the release sealed them.
    let read_camille = || -> R<Value> {
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{camille}"), Some("customer_relations"))?;
        assert_eq!(st, 200, "{v}");
        Ok(v)
    };
    let v = read_camille()?;
    assert_eq!(v["kind"], "client");
    assert_eq!(v["identity"]["email"], "camille.martin@example.fr");
    assert_eq!(v["identity"]["job_title"], "Gérante");
    assert_eq!(v["identity"]["notes"], "prefers mornings");
    assert_eq!(texts(&v["contracts"], "reference"), ["C-LEGACY-1"]);
    assert_eq!(texts(&v["interactions"], "summary"), ["asked about the invoice"]);
    // Names recorded before their blind index (migration 0019) are indexed at the first start.
    let (st, v) = s.send(
        s.http
            .post(format!("{}/api/v1/subjects/search", s.base))
            .bearer_auth(&staff)
            .header("Vigie-Purpose", "customer_relations")
            .json(&json!({"first_name": "CAMILLE", "last_name": "martin"})),
    )?;
    assert_eq!((st, v["subjects"][0]["id"].as_str()), (200, Some(camille.as_str())), "{v}");
    let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{hugo}"), Some("prospect_relations"))?;
    assert_eq!((st, texts(&v["interactions"], "summary")), (200, vec!["sent the brochure".to_string()]), "{v}");
    // Contract references recorded before their blind index (migration 0020) are indexed at the
    // first start: a request giving one lists its subject.
    let req = dpo_request(
        &s,
        &dpo,
        json!({"kind":"access","received_at":"2026-11-02","channel":"letter",
               "requester":{"email":"someone.else@example.fr","contract_reference":" c-legacy-1 "}}),
    )?;
    let by = &req["candidates"][0];
    assert_eq!(
        (by["subject_id"].as_str(), &by["matched_by"]),
        (Some(camille.as_str()), &json!(["contract_reference"])),
        "{req}"
    );

    // The legal hold and its history.
    let hold = || -> R<Value> {
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{camille}/legal-hold"), None)?;
        assert_eq!(st, 200, "{v}");
        Ok(v)
    };
    let v = hold()?;
    assert_eq!((v["held"].as_bool(), v["reason"].as_str()), (Some(true), Some("a new claim")), "{v}");
    assert_eq!(texts(&v["history"], "reason"), ["litigation pending", "settled", "a new claim"]);

    // Requests: the requester, the particulars, the responses.
    let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{}", id("access")), None)?;
    assert_eq!((st, v["status"].as_str()), (200, Some("completed")), "{v}");
    assert_eq!(v["requester"]["email"], "camille.martin@example.fr");
    assert_eq!(v["lang"], "fr", "a request recorded before 0018 is answered in French");
    let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{}/response", id("access")), None)?;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["contracts"][0]["reference"], "C-LEGACY-1");
    assert_eq!(v["consents"][0]["evidence"], "salon 2025, stand B");
    let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{}/response", id("refused")), None)?;
    assert_eq!((st, &v), (200, &json!({"refused": "excessive", "reason": "the third this week"})));
    // A response recorded before answers were typed is read as it was, and still shown as a document.
    let html = s
        .http
        .get(format!("{}/api/v1/requests/{}/response?format=html", s.base, id("access")))
        .bearer_auth(&dpo)
        .send()?;
    assert_eq!(html.status().as_u16(), 200);
    assert!(html.text()?.contains("C-LEGACY-1"));
    let rectify = id("rectify");
    let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{rectify}"), None)?;
    assert_eq!((st, v["status"].as_str(), v["extended"].as_bool()), (200, Some("in_progress"), Some(true)), "{v}");
    assert_eq!(v["particulars"]["changes"]["job_title"], "Directrice");

    // The breach: its details and every phase's.
    let (st, v) = s.get(&dpo, &format!("/api/v1/breaches/{breach}"), None)?;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["description"], "a laptop was stolen");
    assert_eq!(v["nature"], json!(["confidentiality", "integrity"]));
    assert_eq!(v["data_categories"], json!(["identity", "contact"]));
    assert_eq!((v["risk"].as_str(), v["status"].as_str()), (Some("high"), Some("notified")));
    assert_eq!(v["late_reasons"], "the theft was reported late");
    assert_eq!(v["measures"], "passwords reset");
    assert!(v["subjects_information"].as_str().is_some_and(|t| t.starts_with("exemption_confirmed")), "{v}");
    let phases = texts(&v["phases"], "details");
    assert_eq!(phases[..2], ["recorded", "sent via the CNIL form"], "{v}");
    assert!(phases[2].starts_with("exemption_confirmed"), "{v}");

    // A new access request reads the consent evidence and the rest as the release sealed them.
    let body = json!({"kind":"access","received_at":id("received_on"),"channel":"email",
                      "requester":{"email":"camille.martin@example.fr"}});
    let new = dpo_request(&s, &dpo, body)?;
    let new = new["id"].as_str().ok_or("id")?.to_string();
    verify_identity(&s, &dpo, &new)?;
    let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{new}/fulfil"), json!({}))?;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["consents"][0]["evidence"], "salon 2025, stand B");
    assert_eq!(v["interactions"][0]["summary"], "asked about the invoice");
    assert_eq!(v["data"]["phone"]["value"], "+33612345678");

    // The release's rectification request, carried out now: the subject is re-keyed and every
    // value sealed again (under the versioned context), and all of it still reads back.
    let sealed = || -> R<Vec<Vec<u8>>> {
        let conn = rusqlite::Connection::open(s.dir.join("data").join("vigie.db"))?;
        let mut out = Vec::new();
        for sql in [
            "SELECT identity FROM subjects WHERE id = ?1",
            "SELECT reference FROM contracts WHERE subject_id = ?1",
            "SELECT summary FROM interactions WHERE subject_id = ?1",
            "SELECT evidence FROM consents WHERE subject_id = ?1",
            "SELECT legal_hold FROM subjects WHERE id = ?1",
        ] {
            let id = uuid::Uuid::parse_str(&camille)?;
            out.push(conn.query_row(sql, [id], |r| r.get::<_, Vec<u8>>(0))?);
        }
        Ok(out)
    };
    let before = sealed()?;
    let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rectify}/fulfil"), json!({}))?;
    assert_eq!((st, v["changed_fields"].clone()), (200, json!(["job_title"])), "{v}");
    let after = sealed()?;
    assert!(before.iter().zip(&after).all(|(b, a)| b != a), "every value was sealed again");
    let v = read_camille()?;
    assert_eq!(v["identity"]["job_title"], "Directrice");
    assert_eq!(v["identity"]["notes"], "prefers mornings");
    assert_eq!(texts(&v["contracts"], "reference"), ["C-LEGACY-1"]);
    assert_eq!(texts(&v["interactions"], "summary"), ["asked about the invoice"]);
    let v = hold()?;
    assert_eq!(texts(&v["history"], "reason"), ["litigation pending", "settled", "a new claim"]);
    let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{rectify}/response"), None)?;
    assert_eq!((st, v["changed_fields"].clone()), (200, json!(["job_title"])), "{v}");
    let out = s.cli().args(["audit", "verify"]).output()?;
    assert!(out.status.success(), "the audit chain runs on: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}
