//! Issue 12.1: the DPO merges two records of one person. Everything of the merged record moves,
//! re-sealed under the kept record's key; the kept record reads as the union; the merged one
//! answers 410 naming where it went. Written as a careless DPO or an attacker would try it:
//! itself, twice, crosswise at once, under a breach, under a request being answered.

use crate::support::{R, Server, backends, count, dpo_request, tamper, verify_identity};
use serde_json::{Value, json};

fn default_policy() -> R<String> {
    Ok(std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"))?)
}

fn merge(s: &Server, token: &str, id: &str, body: Value) -> R<(u16, Value)> {
    s.post(token, &format!("/api/v1/subjects/{id}/merge"), body)
}

/// The personal values of the test are nowhere in the audit trail.
fn audit_holds_no_value(s: &Server) -> R {
    for v in ["camille", "Camille", "Cam.", "612345678", "Atelier", "CTR-2024", "rappel", "litige"] {
        let n = count(s, &format!("SELECT count(*) FROM audit WHERE coalesce(detail, '') LIKE '%{v}%'"))?;
        assert_eq!(n, 0, "a value in the audit trail: {v}");
    }
    Ok(())
}

#[test]
fn a_merge_moves_everything_and_the_kept_record_reads_as_the_union() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let erp = s.token("recipient", Some("saas_erp"))?;
        // The record kept: a prospect met in 2024, who objected to prospecting.
        let kept = s.create(
            &staff,
            json!({"kind":"prospect","collected_at":"2024-01-10T09:00:00Z","provenance":"provided",
                   "identity":{"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr"}}),
        )?;
        let (st, _) =
            s.post(&staff, &format!("/api/v1/subjects/{kept}/objections"), json!({"purpose":"prospect_relations"}))?;
        assert_eq!(st, 201);
        // The other record of the same person: created later by someone else, with a phone,
        // a company, a contract, an inbound call, a consent, a legal hold and a disclosure.
        let other = s.create(
            &staff,
            json!({"kind":"prospect","collected_at":"2025-06-01T09:00:00Z","provenance":"observed",
                   "identity":{"first_name":"Cam.","last_name":"Martin","email":"c.martin@example.fr",
                               "phone":"06 12 34 56 78","company":"Atelier Martin"}}),
        )?;
        for (path, body) in [
            ("contracts", json!({"reference":"CTR-2024-17","start":"2025-06-01"})),
            (
                "interactions",
                json!({"at":"2025-07-01T10:00:00Z","direction":"inbound","channel":"phone","summary":"rappel demandé"}),
            ),
            ("consents", json!({"purpose":"events","granted":true,"evidence":"salon 2025"})),
        ] {
            let (st, v) = s.post(&staff, &format!("/api/v1/subjects/{other}/{path}"), body)?;
            assert_eq!(st, 201, "{path}: {v}");
        }
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/subjects/{other}/legal-hold"), json!({"reason":"litige en cours"}))?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(s.get(&erp, &format!("/api/v1/subjects/{other}"), Some("customer_relations"))?.0, 200);
        // Both are told of a policy revision: the person gets one notice, not two, after the merge.
        let next = default_policy()?
            .replace("version = \"2026-1\"", "version = \"2027-1\"")
            .replace("effective_date = \"2026-01-01\"", "effective_date = \"2099-01-01\"")
            .replace("years = 3", "years = 2");
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions", json!({"policy": next}))?;
        assert_eq!((st, v["notices_queued"].as_i64()), (201, Some(2)), "{v}");
        // A request found by the phone, linked at intake to the other record.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-03-02","channel":"phone","requester":{"phone":"+33612345678",
                   "postal_address":"1 rue de la Paix, 75002 Paris"}}),
        )?;
        let rid = req["id"].as_str().ok_or("id")?.to_string();
        assert_eq!(req["subject_id"].as_str(), Some(other.as_str()));
        let entries_before = s.audit_entries()?;

        let (st, v) = merge(&s, &dpo, &kept, json!({"from": other}))?;
        assert_eq!(st, 200, "{b:?}: {v}");
        assert_eq!((v["id"].as_str(), v["merged"].as_str()), (Some(kept.as_str()), Some(other.as_str())));
        assert_eq!(v["kind"], "client", "client if either is: {v}");
        assert_eq!(v["fields_taken"], json!(["phone", "company"]), "{v}");
        assert_eq!(v["fields_differing"], json!(["first_name", "email"]), "{v}");
        assert_eq!(
            v["moved"],
            json!({"contracts":1,"interactions":1,"consents":1,"objections":0,"legal_hold_events":1,
                   "disclosures":1,"requests":1,"messages":0}),
            "{v}"
        );
        assert_eq!((v["retention_rule"].as_str(), v["expires_on"].as_str()), (Some("last_contract_end"), None), "{v}");

        // The kept record reads as the union, its own values first, the other's sealed values opened.
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{kept}"), Some("contract_management"))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["identity"]["email"], "camille.martin@example.fr");
        assert_eq!(v["identity"]["first_name"], "Camille");
        assert_eq!(v["identity"]["company"], "Atelier Martin");
        assert_eq!(v["provenance"]["company"], "observed", "taken with its provenance: {v}");
        assert_eq!(v["contracts"][0]["reference"], "CTR-2024-17", "{v}");
        assert_eq!(v["collected_at"], "2025-06-01T09:00:00Z", "the later collection: {v}");
        let (_, v) = s.get(&staff, &format!("/api/v1/subjects/{kept}"), Some("customer_relations"))?;
        assert_eq!(v["interactions"][0]["summary"], "rappel demandé", "{v}");
        assert_eq!(v["consents"][0]["purpose"], "events");
        assert_eq!(v["objections"][0]["purpose"], "prospect_relations");
        assert_eq!(v["identity"]["phone"], "+33612345678");
        assert_eq!(v["policy_notices"].as_array().map(Vec::len), Some(1), "one notice per version: {v}");
        let (_, hold) = s.get(&dpo, &format!("/api/v1/subjects/{kept}/legal-hold"), None)?;
        assert_eq!(hold["reason"], "litige en cours", "{hold}");
        let (_, d) = s.get(&dpo, &format!("/api/v1/subjects/{kept}/disclosures"), None)?;
        assert_eq!(d["disclosures"].as_array().map(Vec::len), Some(1), "{d}");
        // Found once by either address or phone.
        for q in ["phone=%2B33612345678", "email=camille.martin%40example.fr"] {
            let (_, v) = s.get(&staff, &format!("/api/v1/subjects?{q}"), Some("customer_relations"))?;
            assert_eq!(v["subjects"].as_array().map(Vec::len), Some(1), "{q}: {v}");
        }
        let (_, v) = s.get(&staff, "/api/v1/subjects?email=c.martin%40example.fr", Some("customer_relations"))?;
        assert_eq!(v["subjects"], json!([]), "the dropped address finds no one: {v}");

        // The merged record: 410, naming the record it went to; its key is gone, a tombstone stays.
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{other}"), Some("customer_relations"))?;
        assert_eq!(st, 410, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains("merged into") && d.contains(&kept)), "{v}");
        let hex = other.replace('-', "");
        let key_rows = match b {
            crate::support::Backend::Sqlite => {
                format!("SELECT count(*) FROM subject_keys WHERE hex(subject_id) = upper('{hex}')")
            }
            crate::support::Backend::Postgres => {
                format!("SELECT count(*) FROM subject_keys WHERE subject_id = '{other}'")
            }
        };
        assert_eq!(count(&s, &key_rows)?, 0, "the merged record's key is destroyed");
        assert_eq!(count(&s, "SELECT count(*) FROM erasures WHERE rule = 'merged' AND merged_into IS NOT NULL")?, 1);
        assert_eq!(count(&s, "SELECT count(*) FROM subjects")?, 1);

        // The request follows, and its answer covers both records.
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{rid}"), None)?;
        assert_eq!(v["subject_id"].as_str(), Some(kept.as_str()), "{v}");
        verify_identity(&s, &dpo, &rid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["contracts"][0]["reference"], "CTR-2024-17", "{v}");
        assert_eq!(v["data"]["first_name"]["value"], "Camille", "{v}");

        // The trail: the merge by both ids, the erasure of the merged record, the kind change; no value.
        assert!(s.audit_entries()? > entries_before);
        assert_eq!(
            count(
                &s,
                &format!("SELECT count(*) FROM audit WHERE action = 'subject.merge' AND detail = 'from:{other}'")
            )?,
            1
        );
        assert_eq!(
            count(
                &s,
                &format!(
                    "SELECT count(*) FROM audit WHERE action = 'subject.erase' AND detail = 'rule=merged into:{kept}'"
                )
            )?,
            1
        );
        audit_holds_no_value(&s)?;
        assert!(crate::support::verify(&s)?.0);
    }
    Ok(())
}

#[test]
fn a_merge_refuses_what_a_dpo_would_not_want_and_changes_nothing() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let person = |first: &str, email: &str| json!({"kind":"prospect","identity":{"first_name":first,"last_name":"Roux","email":email}});
        let a = s.create(&staff, person("Paul", "paul@example.fr"))?;
        let bb = s.create(&staff, person("Paul", "p.roux@example.fr"))?;
        let unknown = uuid::Uuid::now_v7().to_string();
        let subjects = || count(&s, "SELECT count(*) FROM subjects");

        // Only the DPO; never itself; unknown subjects; malformed bodies.
        assert_eq!(merge(&s, &staff, &a, json!({"from": bb}))?.0, 403);
        let (st, v) = merge(&s, &dpo, &a, json!({"from": a}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("from")), "{v}");
        assert_eq!(merge(&s, &dpo, &a, json!({"from": unknown}))?.0, 404);
        assert_eq!(merge(&s, &dpo, &unknown, json!({"from": a}))?.0, 404);
        for body in [json!({}), json!({"from": "paul@example.fr"}), json!({"from": bb, "into": a}), json!([])] {
            let (st, v) = merge(&s, &dpo, &a, body.clone())?;
            assert_eq!(st, 400, "{body}: {v}");
            assert!(!v.to_string().contains("paul@"), "the value is not echoed: {v}");
        }
        assert_eq!(
            s.send(
                s.http
                    .post(format!("{}/api/v1/subjects/not-an-id/merge", s.base))
                    .bearer_auth(&dpo)
                    .json(&json!({"from": a}))
            )?
            .0,
            400
        );

        // A request in progress on either record: its answer is being prepared on the records as they are.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-03-02","channel":"email","requester":{"email":"p.roux@example.fr"}}),
        )?;
        let rid = req["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &rid)?;
        let (st, v) = merge(&s, &dpo, &a, json!({"from": bb}))?;
        assert_eq!(st, 409, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains(&rid) && d.contains("in progress")), "{v}");
        let (st, _) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!(st, 200);

        // A breach not closed whose scope covers one of them.
        let (st, v) = s.post(
            &dpo,
            "/api/v1/breaches",
            json!({"detected_at":"2026-03-01T08:00:00Z","nature":["confidentiality"],"description":"laptop lost",
                   "data_categories":["identity"],"scope":{"subject_ids":[a]},"keys_compromised":"unknown"}),
        )?;
        assert_eq!(st, 201, "{v}");
        let breach = v["id"].as_str().ok_or("id")?.to_string();
        let (st, v) = merge(&s, &dpo, &a, json!({"from": bb}))?;
        assert_eq!(st, 409, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains(&breach)), "{v}");
        assert_eq!(subjects()?, 2, "nothing changed");
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'subject.merge'")?, 0);
        tamper(&s, "UPDATE breaches SET status = 'closed'")?;

        // Two merges of the same pair, crosswise and at once: one wins, the other is refused.
        let (s1, s2) = (&s, &s);
        let (da, db) = (dpo.clone(), dpo.clone());
        let (a1, b1, a2, b2) = (a.clone(), bb.clone(), a.clone(), bb.clone());
        let (r1, r2) = std::thread::scope(|scope| {
            let t1 = scope.spawn(move || merge(s1, &da, &a1, json!({"from": b1})).map(|r| r.0).unwrap_or(0));
            let t2 = scope.spawn(move || merge(s2, &db, &b2, json!({"from": a2})).map(|r| r.0).unwrap_or(0));
            (t1.join().unwrap_or(0), t2.join().unwrap_or(0))
        });
        let mut outcomes = [r1, r2];
        outcomes.sort_unstable();
        assert_eq!(outcomes, [200, 410], "{b:?}: exactly one merge of a pair (the other finds its record kept gone)");
        assert_eq!(subjects()?, 1);
        let (survivor, gone) = if r1 == 200 { (&a, &bb) } else { (&bb, &a) };
        // Again, either way round: already merged (409), or into a record that is gone (410).
        let (st, v) = merge(&s, &dpo, survivor, json!({"from": gone}))?;
        assert_eq!(st, 409, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains("already merged")), "{v}");
        assert_eq!(merge(&s, &dpo, gone, json!({"from": survivor}))?.0, 410);
        // A subject erased by the sweep cannot be merged either.
        let old = s.create(
            &staff,
            json!({"kind":"prospect","collected_at":"2019-01-01T00:00:00Z","identity":{"last_name":"Ancien"}}),
        )?;
        assert_eq!(s.post(&dpo, "/api/v1/retention/apply", json!({"at":"2024-01-01"}))?.0, 200);
        let (st, v) = merge(&s, &dpo, survivor, json!({"from": old}))?;
        assert_eq!(st, 410, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains("erased")), "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'subject.merge'")?, 1);
        assert!(crate::support::verify(&s)?.0);
    }
    Ok(())
}
