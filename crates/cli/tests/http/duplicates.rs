//! Issue 12: one person, one record. Phone numbers in any spelling are one number; a create that
//! matches says so; an import run twice adds nobody twice; the suppression list covers
//! prospecting only, by email and phone, and the DPO can lift it. Written as a careless import or
//! an attacker would: duplicates within a file, CRLF, the same phone spelled four ways.

use crate::support::{R, Server, backends, count, delete, dpo_request, verify_identity};
use serde_json::{Value, json};

fn prospect(first: &str, email: Option<&str>, phone: Option<&str>) -> Value {
    let mut identity = json!({"first_name": first, "last_name": "Lefèvre"});
    if let Some(e) = email {
        identity["email"] = json!(e);
    }
    if let Some(p) = phone {
        identity["phone"] = json!(p);
    }
    json!({"kind": "prospect", "identity": identity})
}

fn with_kind(mut v: Value, kind: &str) -> Value {
    v["kind"] = json!(kind);
    v
}

/// No personal value of the test anywhere in the audit trail.
fn audit_holds_no_value(s: &Server, values: &[&str]) -> R {
    for v in values {
        let n = count(
            s,
            &format!("SELECT count(*) FROM audit WHERE coalesce(detail, '') LIKE '%{v}%' OR fields LIKE '%{v}%'"),
        )?;
        assert_eq!(n, 0, "a value in the audit trail: {v}");
    }
    Ok(())
}

#[test]
fn one_phone_in_every_spelling_and_creates_name_their_duplicates() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let (st, v) = s.post(
            &staff,
            "/api/v1/subjects",
            prospect("Marie", Some("marie@example.fr"), Some("+33 (0)6 12 34 56 78")),
        )?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["possible_duplicates"], json!([]), "{v}");
        let first = v["id"].as_str().ok_or("id")?.to_string();
        for spelling in [
            "06%2012%2034%2056%2078",
            "0033%206%2012%2034%2056%2078",
            "%2B33612345678",
            "%2B33%20(0)6%2012%2034%2056%2078",
        ] {
            let (st, v) = s.get(&staff, &format!("/api/v1/subjects?phone={spelling}"), Some("prospect_relations"))?;
            assert_eq!(st, 200, "{v}");
            assert_eq!(v["subjects"][0]["identity"]["phone"], "+33612345678", "{spelling}: {v}");
        }
        // The same person again, by phone spelled otherwise: recorded, with the first as a possible duplicate.
        let (st, v) = s.post(&staff, "/api/v1/subjects", prospect("Marie", None, Some("0033 6 12 34 56 78")))?;
        assert_eq!((st, v["possible_duplicates"].clone()), (201, json!([first])), "{v}");
        let (st, v) = s.post(&staff, "/api/v1/subjects", prospect("M.", Some("MARIE@example.fr"), None))?;
        assert_eq!((st, v["possible_duplicates"].as_array().map(Vec::len)), (201, Some(1)), "{v}");
        // An unparseable phone is a 400 naming the field, never echoing the value.
        for bad in ["06 CALL ME NOW", "99", "+33 6 99", "+999 1234567890"] {
            let (st, v) = s.post(&staff, "/api/v1/subjects", prospect("X", None, Some(bad)))?;
            assert_eq!(st, 400, "{bad}: {v}");
            let text = v.to_string();
            assert!(text.contains("identity.phone"), "{text}");
            assert!(!text.contains(bad), "the value is echoed: {text}");
            let (st, v) = s.get(
                &staff,
                &format!("/api/v1/subjects?phone={}", bad.replace(' ', "%20").replace('+', "%2B")),
                Some("prospect_relations"),
            )?;
            assert_eq!(st, 400, "{v}");
            assert!(!v.to_string().contains(bad));
        }
        audit_holds_no_value(&s, &["marie", "612345678", "Lef"])?;
    }
    Ok(())
}

#[test]
fn an_import_run_twice_adds_nobody_twice() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let existing = s.create(&staff, prospect("Paul", Some("paul@example.fr"), None))?;
        let csv = s.dir.join("crm.csv");
        // CRLF, a row repeating an earlier one by phone spelled otherwise, one by email in capitals,
        // and one already recorded.
        std::fs::write(
            &csv,
            "kind;first_name;last_name;email;phone\r\n\
             prospect;Léa;Petit;lea@example.fr;06 11 22 33 44\r\n\
             prospect;Léa;Petit;;+33 (0)6 11 22 33 44\r\n\
             prospect;Hugo;Bernard;hugo@example.fr;\r\n\
             client;Hugo;Bernard;HUGO@example.fr;\r\n\
             prospect;Paul;Roux;paul@example.fr;\r\n\
             prospect;Inès;Moreau;;0033 7 77 88 99 00\r\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("imported 3 subject(s)"), "{stdout}");
        assert!(stdout.contains("line 3: already in this file (line 2)"), "{stdout}");
        assert!(stdout.contains("line 5: already in this file (line 4)"), "{stdout}");
        assert!(stdout.contains(&format!("line 6: already recorded (subject {existing})")), "{stdout}");
        for v in ["lea@", "hugo", "paul", "11 22 33", "Petit"] {
            assert!(!stdout.contains(v), "a value in the report: {stdout}");
        }
        let subjects = || count(&s, "SELECT count(*) FROM subjects");
        assert_eq!(subjects()?, 4);
        // Run again (as after a kill that came after the commit): nothing more.
        let out = s.cli().arg("import").arg(&csv).output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(stdout.contains("imported 0 subject(s)") && stdout.contains("skipped 6 already recorded"), "{stdout}");
        assert_eq!(subjects()?, 4, "an import run twice adds nobody");
        let (_, v) = s.get(&staff, "/api/v1/subjects?phone=%2B33611223344", Some("prospect_relations"))?;
        assert_eq!(v["subjects"].as_array().map(Vec::len), Some(1), "{v}");
        audit_holds_no_value(&s, &["lea@", "hugo@", "611223344"])?;
    }
    Ok(())
}

#[test]
fn the_suppression_list_stops_prospecting_only_and_can_be_lifted() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let body = prospect("Nina", Some("nina@example.fr"), Some("06 98 76 54 32"));
        let id = s.create(&staff, body.clone())?;
        // She objects to prospecting by request: her email and phone go onto the list at once.
        let obj = dpo_request(
            &s,
            &dpo,
            json!({"kind":"objection","received_at":"2026-11-02","channel":"email","requester":{"email":"nina@example.fr"},
            "particulars":{"purposes":["prospect_relations"]}}),
        )?;
        let oid = obj["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, oid)?;
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{oid}/fulfil"), json!({}))?.0, 200);
        assert_eq!(count(&s, "SELECT count(*) FROM suppression")?, 2, "email and phone");
        // Re-created as a prospect by phone alone, spelled otherwise: refused, without the value.
        let (st, v) = s.post(&staff, "/api/v1/subjects", prospect("N.", None, Some("+33 (0)6 98 76 54 32")))?;
        assert_eq!((st, v["type"].as_str()), (409, Some("urn:vigie:problem:conflict")), "{v}");
        assert!(!v.to_string().contains("98 76"), "{v}");
        // As a client: accepted (she objected to prospecting only).
        let (st, v) =
            s.post(&staff, "/api/v1/subjects", with_kind(prospect("Nina", Some("nina@example.fr"), None), "client"))?;
        assert_eq!(st, 201, "{v}");
        // Imported: the prospect row refused, the client row accepted.
        let csv = s.dir.join("again.csv");
        std::fs::write(&csv, "kind,first_name,phone\nprospect,Nina,0698765432\n")?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("again.csv:2: identity: this person objected"), "{err}");
        assert!(!err.contains("0698765432"));
        // Lifted by the DPO only, by phone in any spelling; then she may be a prospect again.
        let lift = json!({"phone": "0033 6 98 76 54 32"});
        assert_eq!(delete(&s, &staff, "/api/v1/suppressions", lift.clone())?.0, 403);
        let (st, v) = delete(&s, &dpo, "/api/v1/suppressions", json!({"email": "nina@", "phone": "x"}))?;
        assert_eq!(st, 400, "{v}");
        let (st, v) = delete(&s, &dpo, "/api/v1/suppressions", json!({"phone": "not a phone"}))?;
        assert!(st == 400 && v.to_string().contains("phone") && !v.to_string().contains("not a phone"), "{v}");
        assert_eq!(delete(&s, &dpo, "/api/v1/suppressions", lift.clone())?.0, 204);
        assert_eq!(delete(&s, &dpo, "/api/v1/suppressions", lift)?.0, 404, "lifted once");
        let (st, v) = s.post(&staff, "/api/v1/subjects", prospect("N.", None, Some("06 98 76 54 32")))?;
        assert_eq!(st, 201, "{v}");
        // The email entry is still there: lifted from the command line.
        let (st, _) = s.post(&staff, "/api/v1/subjects", prospect("N.", Some("nina@example.fr"), None))?;
        assert_eq!(st, 409);
        let out = s.cli().args(["suppression", "lift", "--email", "Nina@Example.fr"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(count(&s, "SELECT count(*) FROM suppression")?, 0);
        assert_eq!(s.post(&staff, "/api/v1/subjects", prospect("N.", Some("nina@example.fr"), None))?.0, 201);
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'suppression.lift'")?, 2);
        audit_holds_no_value(&s, &["nina", "987654", "98 76"])?;
        let _ = id;
    }
    Ok(())
}

#[test]
fn an_objector_erased_by_the_sweep_is_suppressed_and_the_entry_expires() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let mut body = prospect("Zoé", Some("zoe@example.fr"), Some("07 77 66 55 44"));
        body["collected_at"] = json!("2020-01-01T00:00:00Z");
        let id = s.create(&staff, body)?;
        let (st, v) =
            s.post(&staff, &format!("/api/v1/subjects/{id}/objections"), json!({"purpose":"prospect_relations"}))?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM suppression")?, 0);
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at": "2024-01-01"}))?;
        assert_eq!((st, v["erased"].as_u64()), (200, Some(1)), "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM suppression")?, 2, "the sweep fed the list");
        let (st, _) = s.post(&staff, "/api/v1/subjects", prospect("Z.", None, Some("+33777665544")))?;
        assert_eq!(st, 409);
        audit_holds_no_value(&s, &["zoe", "777665544"])?;
    }
    Ok(())
}

/// `vigie import --update`: a row matching one subject updates it (the fields it gives; an empty
/// field erases nothing), the report names the lines; again, with or without `--update`, nothing
/// changes. The retention clock and the suppression list hold as for a create.
#[test]
fn an_import_with_update_merges_the_fields_given_and_runs_again_harmlessly() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let mut paul = prospect("Paul", Some("paul@example.fr"), None);
        paul["collected_at"] = json!("2024-01-01T00:00:00Z");
        paul["identity"]["job_title"] = json!("Technicien");
        let paul = s.create(&staff, paul)?;
        let lea = s.create(&staff, prospect("Léa", Some("lea@example.fr"), None))?;
        let anne = s.create(&staff, prospect("Anne", Some("anne@example.fr"), None))?;
        let anna = s.create(&staff, prospect("Anna", None, Some("07 81 02 03 04")))?;
        let marc = s.create(&staff, prospect("Marc", Some("marc@example.fr"), None))?;
        // Zoé objected to prospecting: her email and phone are on the suppression list.
        let zoe = s.create(&staff, prospect("Zoé", Some("zoe@example.fr"), Some("07 77 66 55 44")))?;
        let obj = dpo_request(
            &s,
            &dpo,
            json!({"kind":"objection","received_at":"2026-11-02","channel":"email","requester":{"email":"zoe@example.fr"},
                   "particulars":{"purposes":["prospect_relations"]}}),
        )?;
        let oid = obj["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, oid)?;
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{oid}/fulfil"), json!({}))?.0, 200);

        let csv = s.dir.join("crm.csv");
        std::fs::write(
            &csv,
            "kind;first_name;last_name;email;phone;job_title;collected_at;contract_reference;contract_start\n\
             prospect;Paul;;paul@example.fr;06 22 33 44 55;;2026-06-01;;\n\
             client;Léa;Lefèvre;LEA@example.fr;;;;CTR-0042;2026-01-01\n\
             prospect;Anne;;anne@example.fr;07 81 02 03 04;;;;\n\
             prospect;Nouveau;Venu;new@example.fr;;;;;\n\
             prospect;Paul;;PAUL@example.fr;;;;;\n\
             prospect;Marc;;marc@example.fr;+33 7 77 66 55 44;;;;\n",
        )?;
        let import = |args: &[&str]| -> R<(bool, String)> {
            let out = s.cli().arg("import").args(args).arg(&csv).output()?;
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            Ok((out.status.success(), text))
        };
        let subjects = || count(&s, "SELECT count(*) FROM subjects");
        let updates = || count(&s, "SELECT count(*) FROM audit WHERE action = 'subject.update'");
        // The last row would give Marc, a prospect, Zoé's phone: a bad row, so nothing is written.
        let (ok, out) = import(&["--update"])?;
        assert!(!ok && out.contains("crm.csv:7: identity: this person objected"), "{out}");
        assert_eq!((subjects()?, updates()?), (6, 0), "all or nothing: {out}");

        let (ok, out) = import(&["--update", "--skip-invalid"])?;
        assert!(ok, "{out}");
        assert!(out.contains(&format!("line 2: updated subject {paul}: phone")), "{out}");
        assert!(out.contains(&format!("line 3: updated subject {lea}: contract, kind")), "{out}");
        assert!(
            out.contains(&format!(
                "line 4: matches several subjects ({}, {})",
                anne.clone().min(anna.clone()),
                anne.clone().max(anna.clone())
            )),
            "{out}"
        );
        assert!(out.contains("line 6: already in this file (line 2)"), "{out}");
        assert!(
            out.contains("updated 2 subject(s)") && out.contains("imported 1 subject(s), rejected 1 row(s)"),
            "{out}"
        );
        for v in ["paul@", "22 33", "Lefèvre", "CTR-0042", "anne@", "77 66"] {
            assert!(!out.contains(v), "a value in the report: {out}");
        }
        // Audited as updates: Paul's fields; Léa's contract and kind, each by its own entry.
        assert_eq!((subjects()?, updates()?), (7, 1));
        let lines = "SELECT count(*) FROM audit WHERE detail LIKE '%import line 3' AND action IN ('contract.create')";
        assert_eq!(count(&s, lines)?, 1);
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'subject.update' AND fields = 'phone'")?, 1);
        // Paul: the phone added, his other fields kept, his collection date and clock unchanged.
        let (_, v) = s.get(&staff, &format!("/api/v1/subjects/{paul}"), Some("prospect_relations"))?;
        assert_eq!(v["identity"]["phone"], "+33622334455", "{v}");
        assert_eq!(
            (v["identity"]["last_name"].as_str(), v["identity"]["job_title"].as_str()),
            (Some("Lefèvre"), Some("Technicien")),
            "{v}"
        );
        assert_eq!(v["collected_at"], "2024-01-01T00:00:00Z", "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM subjects WHERE expires_on = '2027-01-01'")?, 1, "Paul's clock");
        // Léa: a client now, her contract recorded, her clock on it.
        let (_, v) = s.get(&staff, &format!("/api/v1/subjects/{lea}"), Some("contract_management"))?;
        assert_eq!(
            (v["kind"].as_str(), v["contracts"][0]["reference"].as_str()),
            (Some("client"), Some("CTR-0042")),
            "{v}"
        );
        assert_eq!(v["identity"]["last_name"], "Lefèvre");
        let (_, plan) = s.get(&dpo, "/api/v1/retention/plan?at=2100-01-01", None)?;
        assert!(!plan.to_string().contains(&lea), "a client with an open contract is never due: {plan}");
        // Marc did not get Zoé's phone, which is on the suppression list.
        let (_, v) = s.get(&staff, &format!("/api/v1/subjects/{marc}"), Some("prospect_relations"))?;
        assert_eq!(
            (v["identity"]["email"].as_str(), v["identity"].get("phone")),
            (Some("marc@example.fr"), None),
            "{v}"
        );
        let _ = zoe;

        // Again, with --update: nothing to update, nothing written.
        let entries = s.audit_entries()?;
        let (ok, out) = import(&["--update", "--skip-invalid"])?;
        assert!(ok, "{out}");
        assert!(out.contains(&format!("line 2: already recorded (subject {paul}), nothing to update")), "{out}");
        assert!(out.contains(&format!("line 3: already recorded (subject {lea}), nothing to update")), "{out}");
        assert!(out.contains("updated 0 subject(s)") && out.contains("imported 0 subject(s)"), "{out}");
        assert_eq!(s.audit_entries()?, entries, "a second run writes nothing");
        assert_eq!((subjects()?, updates()?), (7, 1));
        assert_eq!(count(&s, "SELECT count(*) FROM contracts")?, 1, "the contract is not added twice");
        // And without it: every known row skipped.
        let (ok, out) = import(&["--skip-invalid"])?;
        assert!(ok && out.contains("imported 0 subject(s)"), "{out}");
        assert!(!out.contains("updated"), "{out}");
        assert_eq!(s.audit_entries()?, entries);
        audit_holds_no_value(&s, &["paul@", "622334455", "Lef", "CTR-0042"])?;
    }
    Ok(())
}
