//! Issues 12.1 and 13.3: a person's name (first and last name together) is found through its blind
//! index, however it is written (capitals, accents, hyphens, apostrophes, spaces), never kept in
//! clear; erasure makes it unfindable, a rectified name is found under the new name only, an
//! imported name is found; a rights request lists the subjects of the requester's name, with the
//! postal code where the addresses agree, a homonym elsewhere apart.

use crate::support::{R, Server, backends, count, dpo_request, verify_identity};
use serde_json::{Value, json};

fn prospect(first: &str, last: &str, email: &str, address: &str) -> Value {
    json!({"kind": "prospect",
           "identity": {"first_name": first, "last_name": last, "email": email, "postal_address": address}})
}

/// The ids a search by name finds, for `prospect_relations`.
fn by_name(s: &Server, token: &str, first: &str, last: &str) -> R<Vec<String>> {
    let (st, v) = s.send(
        s.http
            .post(format!("{}/api/v1/subjects/search", s.base))
            .bearer_auth(token)
            .header("Vigie-Purpose", "prospect_relations")
            .json(&json!({"first_name": first, "last_name": last})),
    )?;
    assert_eq!(st, 200, "{v}");
    let mut ids: Vec<String> =
        v["subjects"].as_array().ok_or("subjects")?.iter().filter_map(|x| x["id"].as_str().map(String::from)).collect();
    ids.sort();
    Ok(ids)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn search(s: &Server, token: &str, body: Value) -> R<(u16, Value)> {
    s.send(
        s.http
            .post(format!("{}/api/v1/subjects/search", s.base))
            .bearer_auth(token)
            .header("Vigie-Purpose", "prospect_relations")
            .json(&body),
    )
}

/// `matched_by` of one candidate of a request view, if it is one.
fn matched_by(request: &Value, subject: &str) -> Option<Vec<String>> {
    request["candidates"]
        .as_array()?
        .iter()
        .find(|c| c["subject_id"] == subject)
        .map(|c| c["matched_by"].as_array().map(|m| m.iter().filter_map(|x| x.as_str().map(String::from)).collect()))?
}

#[test]
fn names_are_found_however_written_and_never_kept_in_clear() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let paris =
            s.create(&staff, prospect("Hélène", "D'Arc-Dupré", "helene@example.fr", "3 rue Oberkampf\n75011 Paris"))?;
        let lyon = s.create(
            &staff,
            prospect("HELENE", "d’arc dupre", "h.darc@example.fr", "1 quai Saint-Vincent, 69001 Lyon"),
        )?;
        let other = s.create(&staff, prospect("Hélène", "Dupré", "h.dupre@example.fr", "8 rue X, 75011 Paris"))?;
        let both = sorted(vec![paris.clone(), lyon.clone()]);
        for (first, last) in [
            ("hélène", "d'arc-dupré"),
            ("  Helene ", "D ARC   DUPRE"),
            ("He\u{301}le\u{300}ne", "d’Arc Dupré"),
            ("HÉLÈNE", "D-ARC-DUPRE"),
        ] {
            assert_eq!(by_name(&s, &staff, first, last)?, both, "{first:?} {last:?}");
        }
        assert_eq!(by_name(&s, &staff, "Hélène", "Dupré")?, vec![other.clone()]);
        assert_eq!(by_name(&s, &staff, "Dupré", "Hélène")?, Vec::<String>::new(), "first name first");
        // Exactly one kind of search, both parts of a name, a letter in each; values never echoed.
        for bad in [
            json!({"first_name": "Hélène"}),
            json!({"last_name": "Dupré"}),
            json!({"first_name": "Hélène", "last_name": "Dupré", "email": "h.dupre@example.fr"}),
            json!({"first_name": "Hélène", "last_name": "--"}),
            json!({"first_name": "", "last_name": "Dupré"}),
            json!({"name": "Hélène Dupré"}),
        ] {
            let (st, v) = search(&s, &staff, bad.clone())?;
            assert_eq!(st, 400, "{bad}: {v}");
            assert!(!v.to_string().contains("Dupr"), "the value is echoed: {v}");
        }
        // Purpose-checked as any read: a purpose that does not cover prospects refuses with its rule.
        let (st, v) = s.send(
            s.http
                .post(format!("{}/api/v1/subjects/search", s.base))
                .bearer_auth(&staff)
                .header("Vigie-Purpose", "contract_management")
                .json(&json!({"first_name": "Hélène", "last_name": "Dupré"})),
        )?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("subject_kind_not_covered")), "{v}");
        let (st, _) = search(&s, &s.token("auditor", None)?, json!({"first_name": "Hélène", "last_name": "Dupré"}))?;
        assert_eq!(st, 403, "an auditor reads no one");
        // Only blind indexes: one per named subject, and no name in the audit trail.
        assert_eq!(count(&s, "SELECT count(*) FROM subject_names")?, 3);
        assert_eq!(
            count(
                &s,
                "SELECT count(*) FROM audit WHERE coalesce(detail, '') LIKE '%arc%' OR coalesce(detail, '') LIKE '%lène%'"
            )?,
            0
        );

        // A request in the requester's name, from an address in Paris, by an email on no record:
        // both homonyms are candidates, the one in the same postal code says so; nothing is linked.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-11-02","channel":"letter",
                   "requester":{"first_name":"helene","last_name":"D'ARC DUPRE","email":"new@example.fr",
                                "postal_address":"5 avenue Parmentier 75011 PARIS"}}),
        )?;
        assert_eq!(req["subject_id"], Value::Null, "a name alone links nothing: {req}");
        assert_eq!(matched_by(&req, &paris), Some(vec!["name".to_string(), "postal_code".to_string()]), "{req}");
        assert_eq!(matched_by(&req, &lyon), Some(vec!["name".to_string()]), "{req}");
        assert_eq!(matched_by(&req, &other), None, "another name is no candidate: {req}");
        // With the email of one of them: that one is linked (unique by email), the homonym still listed.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-11-02","channel":"email",
                   "requester":{"first_name":"Hélène","last_name":"D'Arc-Dupré","email":"h.darc@example.fr"}}),
        )?;
        assert_eq!(req["subject_id"], lyon.as_str(), "{req}");
        assert_eq!(matched_by(&req, &lyon), Some(vec!["email".to_string(), "name".to_string()]), "{req}");
        assert_eq!(matched_by(&req, &paris), Some(vec!["name".to_string()]), "no address given: {req}");
        // The request's view, read again, lists the same candidates.
        let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{}", req["id"].as_str().ok_or("id")?), None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(matched_by(&v, &paris), Some(vec!["name".to_string()]), "{v}");

        // Erasure: the erased subject's name is found no more, in the same transaction.
        let era = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":"2026-11-03","channel":"email","requester":{"email":"helene@example.fr"},
                   "particulars":{"ground":"no_longer_necessary"}}),
        )?;
        let eid = era["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, eid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{eid}/fulfil"), json!({}))?;
        assert_eq!((st, v["erased"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(by_name(&s, &staff, "Hélène", "D'Arc-Dupré")?, vec![lyon.clone()]);
        assert_eq!(count(&s, "SELECT count(*) FROM subject_names")?, 2);

        // Rectification of a name: found under the new name only.
        let rec = dpo_request(
            &s,
            &dpo,
            json!({"kind":"rectification","received_at":"2026-11-03","channel":"email","requester":{"email":"h.dupre@example.fr"},
                   "particulars":{"changes":{"last_name":"Dupré-Lainé"}}}),
        )?;
        let rid = rec["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, rid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(by_name(&s, &staff, "Hélène", "Dupré")?, Vec::<String>::new(), "the old name finds no one");
        assert_eq!(by_name(&s, &staff, "helene", "dupre laine")?, vec![other.clone()]);

        // Merge: the kept record carries the merged name (the kept record's, as the merge decided).
        let twin = s.create(&staff, prospect("Hélène", "D'Arc Dupré", "h.darc2@example.fr", "69001 Lyon"))?;
        assert_eq!(by_name(&s, &staff, "Hélène", "D'Arc-Dupré")?, sorted(vec![lyon.clone(), twin.clone()]));
        let (st, v) = s.post(&dpo, &format!("/api/v1/subjects/{lyon}/merge"), json!({"from": twin}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(by_name(&s, &staff, "Hélène", "D'Arc-Dupré")?, vec![lyon.clone()], "the merged-away record is gone");
    }
    Ok(())
}

#[test]
fn imported_names_are_found() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let existing = s.create(&staff, prospect("Zoé", "Lefèvre", "zoe@example.fr", "75002 Paris"))?;
        let csv = s.dir.join("names.csv");
        std::fs::write(
            &csv,
            "kind;first_name;last_name;email\r\n\
             prospect;Zoé;L'Œuvre-Dubœuf;zoe.o@example.fr\r\n\
             prospect;Jean-Luc;Picard;jl@example.fr\r\n\
             prospect;;Sansprénom;sp@example.fr\r\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let zoe = by_name(&s, &staff, "zoe", "l oeuvre duboeuf")?;
        assert_eq!(zoe.len(), 1);
        assert_ne!(zoe[0], existing);
        assert_eq!(by_name(&s, &staff, "JEAN LUC", "picard")?.len(), 1);
        assert_eq!(
            count(&s, "SELECT count(*) FROM subject_names")?,
            3,
            "a subject without a first name has no name index"
        );
        // `--update` rectifies a name: found under the new name only.
        std::fs::write(&csv, "kind;first_name;last_name;email\r\nprospect;Zoé;Lefèvre-Martin;zoe@example.fr\r\n")?;
        let out = s.cli().arg("import").arg("--update").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(by_name(&s, &staff, "Zoé", "Lefèvre")?, Vec::<String>::new());
        assert_eq!(by_name(&s, &staff, "Zoé", "Lefèvre-Martin")?, vec![existing.clone()]);
    }
    Ok(())
}

/// Issue 14: a name borne by more records than a DPO can tell apart (more than 20) lists none of
/// them as a candidate, opens none of them, and says how many there are; a record that the email
/// matches is still listed, with its name; at 20 exactly, every homonym is listed and compared.
#[test]
fn a_common_name_lists_no_homonyms_and_says_how_many() -> R {
    let listed = 20;
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let mut ids = Vec::new();
        for i in 0..listed {
            let address = if i == 0 { "3 rue Oberkampf 75011 Paris" } else { "1 place Bellecour 69002 Lyon" };
            ids.push(s.create(&staff, prospect("Jean", "Commun", &format!("jean{i}@example.fr"), address))?);
        }
        let by_name_only = json!({"kind":"access","received_at":"2026-11-02","channel":"letter",
            "requester":{"first_name":"JEAN","last_name":"commun","postal_address":"8 rue Oberkampf 75011 PARIS"}});
        // At the bound: all listed, the one in the same postal code says so, nothing linked.
        let req = dpo_request(&s, &dpo, by_name_only.clone())?;
        assert_eq!(req["candidates"].as_array().map(Vec::len), Some(listed), "{req}");
        assert_eq!(req["homonyms_unlisted"], 0, "{req}");
        assert_eq!(matched_by(&req, &ids[0]), Some(vec!["name".to_string(), "postal_code".to_string()]), "{req}");
        assert_eq!(matched_by(&req, &ids[1]), Some(vec!["name".to_string()]), "{req}");
        assert_eq!(req["subject_id"], Value::Null, "{req}");
        // One more: none is listed, their number is told.
        ids.push(s.create(&staff, prospect("Jean", "Commun", "jean-last@example.fr", "69002 Lyon"))?);
        let req = dpo_request(&s, &dpo, by_name_only)?;
        assert_eq!(req["candidates"], json!([]), "{req}");
        assert_eq!(req["homonyms_unlisted"], listed + 1, "{req}");
        assert_eq!(req["subject_id"], Value::Null, "{req}");
        let id = req["id"].as_str().ok_or("id")?.to_string();
        let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{id}"), None)?;
        assert_eq!((st, &v["homonyms_unlisted"]), (200, &json!(listed + 1)), "read again: {v}");
        // With the email of one of them: that one is listed (and linked) with its name, the rest counted.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-11-02","channel":"email",
                   "requester":{"first_name":"Jean","last_name":"Commun","email":"jean3@example.fr"}}),
        )?;
        assert_eq!(req["subject_id"], ids[3].as_str(), "{req}");
        assert_eq!(req["candidates"].as_array().map(Vec::len), Some(1), "{req}");
        assert_eq!(matched_by(&req, &ids[3]), Some(vec!["email".to_string(), "name".to_string()]), "{req}");
        assert_eq!(req["homonyms_unlisted"], listed, "{req}");
        // Another name is untouched by the bound.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-11-02","channel":"letter",
                   "requester":{"first_name":"Jeanne","last_name":"Commun","postal_address":"69002 Lyon"}}),
        )?;
        assert_eq!((req["candidates"].clone(), req["homonyms_unlisted"].clone()), (json!([]), json!(0)), "{req}");
    }
    Ok(())
}
