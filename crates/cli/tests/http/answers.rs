//! The answers to people through the real server: the document (`?format=html`) in the request's
//! language, the JSON for the DPO, the withdrawal of a consent, and the public form offering
//! every right.

use crate::support::{Backend, R, Server, backends, camille, count, dpo_request, verify_identity};
use serde_json::{Value, json};
use vigie_ui::answers::{internal_tokens, readable_text};

/// GETs a document; its status, content type and body.
fn document(s: &Server, token: &str, path: &str) -> R<(u16, String, String)> {
    let res = s.http.get(format!("{}{path}", s.base)).bearer_auth(token).send()?;
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    Ok((status, ct, res.text()?))
}

/// The document as a person reads it: no id, no token, no style attribute.
fn person_reads(html: &str) -> String {
    let text = readable_text(html);
    assert!(internal_tokens(&text).is_empty(), "{:?} in:\n{text}", internal_tokens(&text));
    assert!(!html.contains("style=\""), "no style attribute: {html}");
    text
}

#[test]
fn answers_are_documents_in_the_requesters_language_and_json_for_the_dpo() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let accountant = s.token("recipient", Some("accountant"))?;
        let subject = s.create(&staff, json!({"kind":"client","identity":{"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr"}}))?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{subject}/contracts"),
            json!({"reference":"C-9","start":"2024-01-01"}),
        )?;
        assert_eq!(s.get(&accountant, &format!("/api/v1/subjects/{subject}"), Some("contract_management"))?.0, 200);
        let today = chrono::Utc::now().date_naive().to_string();
        let requester = json!({"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr"});

        // A language outside fr and en is refused, naming the field, echoing nothing.
        let (st, v) = s.post(
            &dpo,
            "/api/v1/requests",
            json!({"kind":"access","received_at":today,"channel":"email","requester":requester,"lang":"klingon"}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("lang")), "{v}");
        assert!(!v.to_string().contains("klingon"), "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM requests")?, 0, "{b:?}: nothing recorded");

        // In English: the request records it, the document is in it.
        let r = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"email","requester":requester,"lang":"en"}),
        )?;
        assert_eq!(r["lang"], "en", "{r}");
        let id = r["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &id)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!((v["answer"].as_str(), v["lang"].as_str()), (Some("access"), Some("en")), "{v}");
        assert_eq!(v["consultations"][0]["recipient"], "accountant", "the machine-readable reader, for the DPO");
        assert_eq!(v["subject"]["id"], subject.as_str());
        let (st, ct, html) = document(&s, &dpo, &format!("/api/v1/requests/{id}/response?format=html"))?;
        assert_eq!((st, ct.as_str()), (200, "text/html; charset=utf-8"), "{html}");
        assert!(html.contains("<html lang=\"en\">") && html.contains("<style>"), "standalone: {html}");
        let text = person_reads(&html);
        assert!(!text.contains(&id) && !text.contains(&subject), "{text}");
        for expected in
            ["Dear Camille Martin,", "Chartered accountant", "Your rights, and how to exercise them", "GDPR Art. 79"]
        {
            assert!(text.contains(expected), "{expected:?} in:\n{text}");
        }
        // The JSON read again is the answer given.
        let (st, again) = s.get(&dpo, &format!("/api/v1/requests/{id}/response"), None)?;
        assert_eq!((st, &again), (200, &v));
        // Bad format, staff: refused.
        let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{id}/response?format=pdf"), None)?;
        assert_eq!((st, v["field"].as_str()), (400, Some("format")), "{v}");
        assert_eq!(document(&s, &staff, &format!("/api/v1/requests/{id}/response?format=html"))?.0, 403);

        // A full erasure: its answer comes back from the fulfilment, as JSON or as the document;
        // the request keeps only its proof record.
        let hugo =
            s.create(&staff, json!({"kind":"prospect","identity":{"first_name":"Hugo","email":"hugo@example.fr"}}))?;
        s.post(&staff, &format!("/api/v1/subjects/{hugo}/objections"), json!({"purpose":"prospect_relations"}))?;
        let r = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":today,"channel":"email","requester":{"first_name":"Hugo","email":"hugo@example.fr"}}),
        )?;
        let eid = r["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, eid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{eid}/fulfil?format=pdf"), json!({}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("format")), "{v}");
        assert_eq!(s.get(&dpo, &format!("/api/v1/requests/{eid}"), None)?.1["status"], "in_progress", "nothing done");
        let res =
            s.http.post(format!("{}/api/v1/requests/{eid}/fulfil?format=html", s.base)).bearer_auth(&dpo).send()?;
        assert_eq!(res.status().as_u16(), 200);
        let text = person_reads(&res.text()?);
        assert!(text.contains("Bonjour Hugo,") && text.contains("Toutes vos données ont été effacées"), "{text}");
        let (_, _, html) = document(&s, &dpo, &format!("/api/v1/requests/{eid}/response?format=html"))?;
        let text = person_reads(&html);
        assert!(text.contains("Preuve du traitement") && !text.contains("Hugo"), "{b:?}: {text}");

        // A refusal: its document gives the ground, the reasons and both remedies, in French by default.
        let r = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"letter","requester":requester}),
        )?;
        let rid = r["id"].as_str().ok_or("id")?;
        assert_eq!(r["lang"], "fr");
        let (st, _) = s.post(
            &dpo,
            &format!("/api/v1/requests/{rid}/refuse"),
            json!({"ground":"manifestly_unfounded","reason":"La demande porte sur une autre société."}),
        )?;
        assert_eq!(st, 200);
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{rid}/response"), None)?;
        assert_eq!(
            (v["answer"].as_str(), v["ground"].as_str()),
            (Some("refusal"), Some("manifestly_unfounded")),
            "{v}"
        );
        let (_, _, html) = document(&s, &dpo, &format!("/api/v1/requests/{rid}/response?format=html"))?;
        let text = person_reads(&html);
        for expected in ["manifestement infondée", "une autre société", "réclamation", "juridiction compétente"] {
            assert!(text.contains(expected), "{expected:?} in:\n{text}");
        }
    }
    Ok(())
}

#[test]
fn a_consent_is_withdrawn_by_request_with_immediate_effect() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let subject = s.create(&staff, camille())?;
        let path = format!("/api/v1/subjects/{subject}");
        s.post(&staff, &format!("{path}/consents"), json!({"purpose":"events","granted":true,"evidence":"salon"}))?;
        assert_eq!(s.get(&staff, &path, Some("events"))?.0, 200);
        let today = chrono::Utc::now().date_naive().to_string();
        let body = |purposes: Value| {
            json!({"kind":"consent_withdrawal","received_at":today,"channel":"web_form",
                   "requester":{"email":"camille.martin@example.fr"},"particulars":{"purposes":purposes}})
        };
        // Careless: no purpose, a purpose that does not rest on consent, one that is not an identifier.
        for (purposes, echo) in
            [(json!([]), None), (json!(["prospect_relations"]), None), (json!(["Mon Salon!"]), Some("Mon Salon"))]
        {
            let (st, v) = s.post(&dpo, "/api/v1/requests", body(purposes))?;
            assert_eq!((st, v["field"].as_str()), (400, Some("particulars.purposes")), "{v}");
            if let Some(e) = echo {
                assert!(!v.to_string().contains(e), "not echoed: {v}");
            }
        }
        let r = dpo_request(&s, &dpo, body(json!(["events", "events"])))?;
        assert_eq!(r["particulars"]["purposes"], json!(["events"]), "once each: {r}");
        let id = r["id"].as_str().ok_or("id")?;
        // Nothing changes before the identity is verified.
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?.0, 409);
        assert_eq!(s.get(&staff, &path, Some("events"))?.0, 200);
        verify_identity(&s, &dpo, id)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?;
        assert_eq!((st, v["purposes"][0]["was_granted"].as_bool()), (200, Some(true)), "{v}");
        let (st, v) = s.get(&staff, &path, Some("events"))?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("no_consent")), "{b:?}: at once: {v}");
        let (_, request) = s.get(&dpo, &format!("/api/v1/requests/{id}"), None)?;
        assert_eq!(request["outcome"], "consent_withdrawn");
        let (_, audit) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let withdrawn = audit["entries"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x["action"] == "consent.withdraw" && x["purpose"] == "events"));
        assert!(withdrawn, "audited");
        assert!(!audit.to_string().contains("Retrait"), "no evidence text in the audit trail");
    }
    Ok(())
}

/// The form's inputs, each with the label that names it.
fn labelled(html: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for part in html.split("<input").skip(1).chain(html.split("<textarea").skip(1)) {
        let tag = &part[..part.find('>').unwrap_or(part.len())];
        let Some(id) = tag.split("id=\"").nth(1).and_then(|r| r.split('"').next()) else {
            missing.push(tag.to_string());
            continue;
        };
        if !html.contains(&format!("<label for=\"{id}\""))
            && !html.contains(&format!("<label class=\"inline\" for=\"{id}\""))
            && !html.contains(&format!("<label class=\"hp\" for=\"{id}\""))
        {
            missing.push(id.to_string());
        }
    }
    missing
}

#[test]
fn the_public_form_offers_every_right_with_its_particulars() -> R {
    let s = Server::start(Backend::Sqlite)?;
    let html = s.http.get(format!("{}/rights", s.base)).send()?.text()?;
    for kind in ["access", "rectification", "erasure", "portability", "objection", "restriction", "consent_withdrawal"]
    {
        assert!(html.contains(&format!("name=\"kind\" value=\"{kind}\"")), "{kind}: {html}");
    }
    for ground in ["accuracy_contested", "unlawful_processing", "no_longer_needed_but_claims", "objection_pending"] {
        assert!(html.contains(&format!("value=\"{ground}\"")), "{ground}");
    }
    assert!(html.contains("name=\"change_last_name\"") && html.contains("name=\"withdraw\" value=\"events\""));
    assert!(html.contains("Organisation d&#39;évènements"), "purposes by name");
    assert_eq!(labelled(&html), Vec::<String>::new(), "every field has its label");
    assert!(!html.contains("<script") && !html.contains("style=\""), "no script, no style attribute");
    let post =
        |lang: &str, form: &[(&str, &str)]| s.http.post(format!("{}/rights?lang={lang}", s.base)).form(form).send();
    let me = [("last_name", "Martin"), ("email", "camille.martin@example.fr")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        me.iter().chain(extra.iter()).copied().collect()
    };
    // Each right, as a person fills the form in (the other parts left empty).
    for form in [
        with(&[
            ("kind", "rectification"),
            ("change_last_name", "Martin-Roux"),
            ("change_email", ""),
            ("restriction_ground", "objection_pending"),
        ]),
        with(&[("kind", "restriction"), ("restriction_ground", "accuracy_contested"), ("change_first_name", "X")]),
        with(&[("kind", "consent_withdrawal"), ("withdraw", "events"), ("object", "prospect_relations")]),
        with(&[("kind", "objection"), ("object", "prospect_relations"), ("object", "service_improvement")]),
    ] {
        let res = post("en", &form)?;
        assert_eq!(res.status().as_u16(), 200, "{form:?}: {}", res.text()?);
    }
    let dpo = s.token("dpo", None)?;
    let (_, v) = s.get(&dpo, "/api/v1/requests", None)?;
    let list = v["requests"].as_array().ok_or("list")?;
    let find = |kind: &str| list.iter().find(|r| r["kind"] == kind).cloned().unwrap_or(Value::Null);
    let rect = find("rectification");
    assert_eq!(rect["particulars"]["changes"], json!({"last_name":"Martin-Roux"}), "{rect}");
    assert_eq!(rect["particulars"]["restriction_ground"], Value::Null, "only what the kind reads: {rect}");
    assert_eq!(rect["lang"], "en", "the form's language");
    let restriction = find("restriction");
    assert_eq!(restriction["particulars"]["restriction_ground"], "accuracy_contested");
    assert_eq!(restriction["particulars"]["changes"], json!({}));
    assert_eq!(find("consent_withdrawal")["particulars"]["purposes"], json!(["events"]));
    assert_eq!(find("objection")["particulars"]["purposes"], json!(["prospect_relations", "service_improvement"]));

    // Not recorded: the form again, as it was filled in, saying in words what to check.
    let before = list.len();
    for (form, says) in [
        (with(&[("kind", "rectification")]), "Rectification : les corrections demandées"),
        (with(&[("kind", "restriction")]), "Limitation : pourquoi la demandez-vous ?"),
        (with(&[("kind", "consent_withdrawal")]), "Retrait du consentement : pour quoi ?"),
        (vec![("kind", "access"), ("last_name", "Martin"), ("email", "pas-une-adresse")], "Adresse électronique"),
    ] {
        let res = post("fr", &form)?;
        assert_eq!(res.status().as_u16(), 400);
        let page = res.text()?;
        assert!(
            page.contains("role=\"alert\"") && page.contains("Vérifiez") && page.contains(&says.replace('\'', "&#39;")),
            "{says}: {page}"
        );
        assert!(page.contains("value=\"Martin\""), "what was typed is kept: {page}");
        assert!(page.contains("<form method=\"post\""));
    }
    let res = post(
        "fr",
        &[
            ("kind", "restriction"),
            ("last_name", "Martin"),
            ("email", "camille.martin@example.fr"),
            ("restriction_ground", "because"),
        ],
    )?;
    assert_eq!(res.status().as_u16(), 400);
    assert!(!res.text()?.contains("because\" checked"), "an unknown ground is not chosen back");
    let (_, v) = s.get(&dpo, "/api/v1/requests", None)?;
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(before), "nothing recorded");
    Ok(())
}
