//! Issue 12.1: a rights request lists every candidate subject by contract reference too. The
//! reference is found through its blind index (trimmed, case-folded, spaces removed), never kept in
//! clear outside its sealed contract: a reference given by the requester (API, public form, console
//! intake) lists the subject holding that contract, however it is cased or spaced; a contract added
//! through the API or an import (new rows and `--update`) is found; a merge keeps it with the kept
//! record; an erased subject's references find no one. A reference never links a request alone.

use crate::console::{csrf, get, post, session, user};
use crate::support::{R, Server, backends, count, dpo_request, person};
use serde_json::{Value, json};

/// `matched_by` of one candidate of a request view, if it is one.
fn matched_by(request: &Value, subject: &str) -> Option<Vec<String>> {
    request["candidates"]
        .as_array()?
        .iter()
        .find(|c| c["subject_id"] == subject)
        .map(|c| c["matched_by"].as_array().map(|m| m.iter().filter_map(|x| x.as_str().map(String::from)).collect()))?
}

/// The subjects a request giving only this contract reference (and an address to answer to) lists.
fn candidates_for(s: &Server, dpo: &str, reference: &str) -> R<Vec<(String, Vec<String>)>> {
    let req = dpo_request(
        s,
        dpo,
        json!({"kind":"access","received_at":"2026-11-02","channel":"letter",
               "requester":{"last_name":"Inconnu","email":"nobody.on.file@example.fr",
                            "contract_reference": reference}}),
    )?;
    assert_eq!(req["subject_id"], Value::Null, "a contract reference alone links nothing: {req}");
    Ok(req["candidates"]
        .as_array()
        .ok_or("candidates")?
        .iter()
        .map(|c| {
            let by = c["matched_by"].as_array().into_iter().flatten().filter_map(|m| m.as_str().map(String::from));
            (c["subject_id"].as_str().unwrap_or_default().to_string(), by.collect())
        })
        .collect())
}

fn only(subject: &str) -> Vec<(String, Vec<String>)> {
    vec![(subject.to_string(), vec!["contract_reference".to_string()])]
}

fn contract(s: &Server, token: &str, subject: &str, reference: &str, start: &str, end: Option<&str>) -> R {
    let (st, v) = s.post(
        token,
        &format!("/api/v1/subjects/{subject}/contracts"),
        json!({"reference": reference, "start": start, "end": end}),
    )?;
    assert_eq!(st, 201, "{v}");
    Ok(())
}

#[test]
fn a_contract_reference_lists_its_subject_however_written() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let lea = s.create(&staff, person("Léa", "lea@example.fr", "prospect"))?;
        let hugo = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        contract(&s, &staff, &lea, "CT-2024-0042", "2024-01-01", None)?;
        contract(&s, &staff, &lea, "CT-2025-0007", "2025-01-01", None)?;
        contract(&s, &staff, &hugo, "CT-2024-0043", "2024-02-01", None)?;
        for given in ["CT-2024-0042", "ct-2024-0042", "  Ct - 2024 - 0042  ", "\tCT-2024 -0042\n", "ＣＴ-2024-0042"] {
            assert_eq!(candidates_for(&s, &dpo, given)?, only(&lea), "{given:?}");
        }
        assert_eq!(candidates_for(&s, &dpo, "ct-2025-0007")?, only(&lea), "any of the subject's contracts");
        assert_eq!(candidates_for(&s, &dpo, "CT-2024-0043")?, only(&hugo));
        assert_eq!(candidates_for(&s, &dpo, "CT-2024-004")?, Vec::new(), "a reference is matched whole");
        assert_eq!(candidates_for(&s, &dpo, "   ")?, Vec::new(), "a blank reference is none");

        // With the email of one person and the contract of another, both are listed, the email
        // linking its subject as before.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-11-02","channel":"email",
                   "requester":{"email":"hugo@example.fr","contract_reference":"ct-2024-0042"}}),
        )?;
        assert_eq!(req["subject_id"], hugo.as_str(), "{req}");
        assert_eq!(matched_by(&req, &hugo), Some(vec!["email".to_string()]), "{req}");
        assert_eq!(matched_by(&req, &lea), Some(vec!["contract_reference".to_string()]), "{req}");
        // The same person by email and contract: one candidate, both reasons.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-11-02","channel":"email",
                   "requester":{"email":"lea@example.fr","contract_reference":"CT-2024-0042"}}),
        )?;
        assert_eq!(req["subject_id"], lea.as_str(), "{req}");
        assert_eq!(matched_by(&req, &lea), Some(vec!["email".to_string(), "contract_reference".to_string()]), "{req}");
        // The request's view, read again, lists the same candidates; the DPO reads the reference given.
        let id = req["id"].as_str().ok_or("id")?;
        let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{id}"), None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["requester"]["contract_reference"], "CT-2024-0042", "{v}");
        assert_eq!(matched_by(&v, &lea), Some(vec!["email".to_string(), "contract_reference".to_string()]));

        // Bad input: too long, or with a control character; refused without echoing the value.
        for bad in ["X".repeat(201), "CT-1\u{7}".to_string()] {
            let (st, v) = s.post(
                &dpo,
                "/api/v1/requests",
                json!({"kind":"access","received_at":"2026-11-02","channel":"letter",
                       "requester":{"email":"x@example.fr","contract_reference": bad}}),
            )?;
            assert_eq!((st, v["field"].as_str()), (400, Some("requester.contract_reference")), "{v}");
            assert!(!v.to_string().contains("XXXX") && !v.to_string().contains("CT-1"), "echoed: {v}");
        }
        let (st, v) = s.post(
            &dpo,
            "/api/v1/requests",
            json!({"kind":"access","received_at":"2026-11-02","channel":"letter",
                   "requester":{"email":"x@example.fr","contract_reference": 42}}),
        )?;
        assert_eq!(st, 400, "a reference is text: {v}");
        // Only blind indexes: one per contract, none in clear in the audit trail or the contracts.
        assert_eq!(count(&s, "SELECT count(*) FROM contracts WHERE reference_bi IS NOT NULL")?, 3);
        assert_eq!(count(&s, "SELECT count(DISTINCT reference_bi) FROM contracts")?, 3);
        // (Each reference given above, in any case and spacing: "CT-2024-…", "ct - 2025 …".)
        let clear = "SELECT count(*) FROM audit WHERE replace(upper(coalesce(detail, '')), ' ', '') LIKE '%CT-202%'";
        assert_eq!(count(&s, clear)?, 0);

        // Merge: the contracts of the merged-away record are found under the kept one.
        let twin = s.create(&staff, person("Léa", "lea.bis@example.fr", "prospect"))?;
        contract(&s, &staff, &twin, "CT-2026-0100", "2026-01-01", None)?;
        assert_eq!(candidates_for(&s, &dpo, "ct-2026-0100")?, only(&twin));
        let (st, v) = s.post(&dpo, &format!("/api/v1/subjects/{lea}/merge"), json!({"from": twin}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(candidates_for(&s, &dpo, "CT-2026-0100")?, only(&lea), "the merged contract, under the kept record");
        assert_eq!(candidates_for(&s, &dpo, "CT-2024-0042")?, only(&lea), "the kept record's own contracts");
    }
    Ok(())
}

#[test]
fn an_erased_subjects_references_match_no_more() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        // A client whose last contract ended in 2015: its retention ran out in 2020, the sweep erases it.
        let old = s.create(
            &staff,
            json!({"kind":"prospect","collected_at":"2010-01-01T00:00:00Z",
                   "identity":{"first_name":"Ancien","email":"ancien@example.fr"}}),
        )?;
        contract(&s, &staff, &old, "OLD-2010-1", "2010-01-01", Some("2015-01-01"))?;
        let kept = s.create(&staff, person("Actuel", "actuel@example.fr", "prospect"))?;
        contract(&s, &staff, &kept, "NEW-2024-1", "2024-01-01", None)?;
        for i in 0..4 {
            s.create(&staff, person("Autre", &format!("autre{i}@example.fr"), "prospect"))?;
        }
        assert_eq!(candidates_for(&s, &dpo, "old-2010-1")?, only(&old));
        let out = s.cli().args(["retention", "apply"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (st, _) = s.get(&staff, &format!("/api/v1/subjects/{old}"), Some("customer_service"))?;
        assert_eq!(st, 410, "the old client is erased");
        assert_eq!(candidates_for(&s, &dpo, "OLD-2010-1")?, Vec::new(), "an erased subject's reference finds no one");
        assert_eq!(candidates_for(&s, &dpo, "new-2024-1")?, only(&kept));
        assert_eq!(count(&s, "SELECT count(*) FROM contracts WHERE reference_bi IS NOT NULL")?, 1);
    }
    Ok(())
}

#[test]
fn imported_contracts_are_found() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let existing = s.create(&staff, person("Zoé", "zoe@example.fr", "prospect"))?;
        let csv = s.dir.join("contracts.csv");
        std::fs::write(
            &csv,
            "kind;first_name;last_name;email;contract_reference;contract_start\r\n\
             client;Paul;Durand;paul@example.fr;IMP-0001;2025-01-01\r\n\
             prospect;Anne;Petit;anne@example.fr;;\r\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let found = candidates_for(&s, &dpo, " imp-0001 ")?;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_ne!(found[0].0, existing);
        assert_eq!(found[0].1, vec!["contract_reference".to_string()]);
        // `--update` adds a contract to a recorded person: found under that person.
        std::fs::write(
            &csv,
            "kind;first_name;last_name;email;contract_reference;contract_start\r\n\
             client;Zoé;;zoe@example.fr;IMP-0002;2026-01-01\r\n",
        )?;
        let out = s.cli().arg("import").arg("--update").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(candidates_for(&s, &dpo, "IMP-0002")?, only(&existing));
        assert_eq!(count(&s, "SELECT count(*) FROM contracts WHERE reference_bi IS NULL")?, 0);
    }
    Ok(())
}

#[test]
fn the_public_form_and_the_console_intake_take_a_contract_reference() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let client = s.create(&staff, person("Inès", "ines@example.fr", "prospect"))?;
        contract(&s, &staff, &client, "FORM-77", "2025-03-01", None)?;

        // The public form: a field with its label, in French and in English.
        let page = s.http.get(format!("{}/rights", s.base)).send()?.text()?;
        assert!(page.contains("<label for=\"contract_reference\">Référence d&#39;un de vos contrats"), "{page}");
        assert!(page.contains("name=\"contract_reference\""), "{page}");
        let en = s.http.get(format!("{}/rights?lang=en", s.base)).send()?.text()?;
        assert!(en.contains("Reference of one of your contracts"), "{en}");
        let res = s
            .http
            .post(format!("{}/rights", s.base))
            .form(&[
                ("kind", "access"),
                ("last_name", "Durand"),
                ("email", "another.address@example.fr"),
                ("contract_reference", " form-77 "),
            ])
            .send()?;
        assert_eq!(res.status().as_u16(), 200);
        let (_, v) = s.get(&dpo, "/api/v1/requests", None)?;
        let id = v["requests"][0]["id"].as_str().ok_or("id")?.to_string();
        let (_, req) = s.get(&dpo, &format!("/api/v1/requests/{id}"), None)?;
        assert_eq!(req["requester"]["contract_reference"], "form-77", "{req}");
        assert_eq!(req["subject_id"], Value::Null, "{req}");
        assert_eq!(matched_by(&req, &client), Some(vec!["contract_reference".to_string()]), "{req}");
        // A bad reference: the form is shown again with the field named, nothing recorded.
        let before = count(&s, "SELECT count(*) FROM requests")?;
        let res = s
            .http
            .post(format!("{}/rights", s.base))
            .form(&[
                ("kind", "access"),
                ("last_name", "Durand"),
                ("email", "another.address@example.fr"),
                ("contract_reference", &"R".repeat(201)),
            ])
            .send()?;
        assert_eq!(res.status().as_u16(), 400);
        let html = res.text()?;
        assert!(html.contains("Vérifiez : Référence d&#39;un de vos contrats"), "{html}");
        assert_eq!(count(&s, "SELECT count(*) FROM requests")?, before);

        // The console's intake form: the field, the request recorded, the candidate shown with why.
        user(&s, "dpo@example.fr", "dpo", Some("a password of my own"))?;
        let cookie = session(&s, "dpo@example.fr", "a password of my own")?;
        let (_, page, _) = get(&s, &cookie, "/console/requests")?;
        assert!(page.contains("name=\"contract_reference\""), "{page}");
        let token = csrf(&page)?;
        let today = chrono::Utc::now().date_naive().to_string();
        let form = |csrf: &str| {
            vec![
                ("csrf", csrf.to_string()),
                ("kind", "access".to_string()),
                ("channel", "letter".to_string()),
                ("received_at", today.clone()),
                ("last_name", "Durand".to_string()),
                ("postal_address", "3 rue des Lilas, 69001 Lyon".to_string()),
                ("contract_reference", "form - 77".to_string()),
            ]
        };
        let fields = form(&token);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (st, _, to) = post(&s, &cookie, "/console/requests", &pairs)?;
        assert_eq!(st, 303);
        let to = to.ok_or("no location")?;
        let rid = to.strip_prefix("/console/requests/").and_then(|r| r.strip_suffix("?done=created")).ok_or("where")?;
        let (_, req) = s.get(&dpo, &format!("/api/v1/requests/{rid}"), None)?;
        assert_eq!(req["requester"]["contract_reference"], "form - 77", "{req}");
        assert_eq!(matched_by(&req, &client), Some(vec!["contract_reference".to_string()]), "{req}");
        let (st, html, _) = get(&s, &cookie, &format!("/console/requests/{rid}"))?;
        assert_eq!(st, 200);
        assert!(html.contains("même référence de contrat") && html.contains("form - 77"), "{html}");
        // Without the CSRF token: refused, nothing recorded.
        let before = count(&s, "SELECT count(*) FROM requests")?;
        let fields = form("");
        let pairs: Vec<(&str, &str)> = fields.iter().skip(1).map(|(k, v)| (*k, v.as_str())).collect();
        let (st, _, _) = post(&s, &cookie, "/console/requests", &pairs)?;
        assert_eq!(st, 403);
        // A bad reference: the form again with a 400, what was typed kept, nothing recorded.
        let mut fields = form(&token);
        fields[6].1 = "R".repeat(201);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (st, html, _) = post(&s, &cookie, "/console/requests", &pairs)?;
        assert_eq!(st, 400, "{html}");
        assert!(html.contains("id=\"form-error\""), "{html}");
        assert_eq!(count(&s, "SELECT count(*) FROM requests")?, before);
    }
    Ok(())
}
