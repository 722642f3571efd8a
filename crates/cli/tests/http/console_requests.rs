//! `/console/requests` over plain HTTP (both backends): the register by urgency, a request
//! recorded through the form, each step of a request through its form (the CSRF token read from
//! the page), the identity document looked at before the decision and gone after it, the answer
//! as the person reads it; and every refusal: another role (403), no CSRF token (403), an unknown
//! request (404), a step the request's state does not allow (4xx, nothing changed).

use crate::console::{csrf, get, post, session, user};
use crate::support::{R, Server, backends, camille, count, dpo_request, verify_identity};
use serde_json::{Value, json};

const PW: &str = "a password of my own";

fn days_ago(n: u64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Days::new(n)).to_string()
}

fn access(first: &str, received: &str) -> Value {
    json!({"kind":"access","received_at": received,"channel":"email",
           "requester":{"first_name": first,"last_name":"Martin","email": format!("{}@example.org", first.to_lowercase())}})
}

/// The request as the API shows it.
fn api(s: &Server, dpo: &str, id: &str) -> R<Value> {
    let (st, v) = s.get(dpo, &format!("/api/v1/requests/{id}"), None)?;
    assert_eq!(st, 200, "{v}");
    Ok(v)
}

/// Posts a form of a request's page with the page's CSRF token.
fn step(s: &Server, cookie: &str, id: &str, action: &str, form: &[(&str, &str)]) -> R<(u16, String, Option<String>)> {
    let (st, page, _) = get(s, cookie, &format!("/console/requests/{id}"))?;
    assert_eq!(st, 200, "{page}");
    let token = csrf(&page)?;
    let mut all = vec![("csrf", token.as_str())];
    all.extend_from_slice(form);
    post(s, cookie, &format!("/console/requests/{id}/{action}"), &all)
}

fn position(html: &str, id: &str) -> R<usize> {
    Ok(html.find(&format!("/console/requests/{id}\"")).ok_or_else(|| format!("{id} not listed"))?)
}

#[test]
fn the_register_lists_requests_by_urgency() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let dpo = s.token("dpo", None)?;
        user(&s, "dpo@example.fr", "dpo", Some(PW))?;
        let cookie = session(&s, "dpo@example.fr", PW)?;
        let id = |v: Value| v["id"].as_str().unwrap_or_default().to_string();
        let fresh = id(dpo_request(&s, &dpo, access("Alice", &days_ago(0)))?);
        let overdue = id(dpo_request(&s, &dpo, access("Bruno", &days_ago(45)))?);
        let near = id(dpo_request(&s, &dpo, access("Chloe", &days_ago(26)))?);
        let closed = id(dpo_request(&s, &dpo, access("Denis", &days_ago(3)))?);
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{closed}/refuse"),
            json!({"ground":"excessive","reason":"the fifth identical request this month"}),
        )?;
        assert_eq!(st, 200, "{v}");

        let (st, html, _) = get(&s, &cookie, "/console/requests")?;
        assert_eq!(st, 200, "{html}");
        assert!(position(&html, &overdue)? < position(&html, &near)?, "{b:?}: overdue first");
        assert!(position(&html, &near)? < position(&html, &fresh)?, "{b:?}: then by days left");
        assert!(!html.contains(&format!("/console/requests/{closed}\"")), "closed ones behind a filter");
        assert!(html.contains("<tr class=\"overdue\">") && html.contains("en retard de"), "{html}");
        assert!(html.contains("Afficher la demande close (1)"), "{html}");
        assert!(html.contains("<th scope=\"col\">Échéance</th>") && html.contains("Identité à vérifier"), "{html}");
        assert!(html.contains("courriel"), "the channel in words: {html}");

        let (st, html, _) = get(&s, &cookie, "/console/requests?closed=1")?;
        assert_eq!(st, 200);
        assert!(position(&html, &fresh)? < position(&html, &closed)?, "{b:?}: closed ones after");
        assert!(html.contains("Refusée"), "{html}");
        let (_, en, _) = get(&s, &cookie, "/console/requests?lang=en")?;
        assert!(en.contains("Rights requests") && en.contains("Identity to check"), "{en}");
    }
    Ok(())
}

#[test]
fn the_dpo_takes_each_step_through_the_forms() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let dpo = s.token("dpo", None)?;
        let staff = s.token("staff", None)?;
        user(&s, "dpo@example.fr", "dpo", Some(PW))?;
        let cookie = session(&s, "dpo@example.fr", PW)?;
        let subject = s.create(&staff, camille())?;

        // A request received by post, recorded through the form.
        let (_, page, _) = get(&s, &cookie, "/console/requests")?;
        let token = csrf(&page)?;
        let today = days_ago(0);
        let before = count(&s, "SELECT count(*) FROM requests")?;
        // Refused: no address to answer to; the form keeps what was typed, nothing is recorded.
        let (st, html, _) = post(
            &s,
            &cookie,
            "/console/requests",
            &[
                ("csrf", &token),
                ("kind", "access"),
                ("channel", "letter"),
                ("received_at", &today),
                ("first_name", "Zoé"),
            ],
        )?;
        assert_eq!(st, 400, "{html}");
        assert!(html.contains("id=\"form-error\"") && html.contains("Le demandeur"), "{html}");
        assert!(html.contains("value=\"Zoé\""), "what was typed stays: {html}");
        assert_eq!(count(&s, "SELECT count(*) FROM requests")?, before, "{b:?}: nothing recorded");
        let (st, _, to) = post(
            &s,
            &cookie,
            "/console/requests",
            &[
                ("csrf", &token),
                ("kind", "rectification"),
                ("channel", "letter"),
                ("received_at", &today),
                ("lang", "fr"),
                ("first_name", "Camille"),
                ("last_name", "Martin"),
                ("email", "camille.martin@example.fr"),
                ("postal_address", "3 rue des Lilas, 69001 Lyon"),
                ("change_company", ""),
                ("change_last_name", "Martin-Roux"),
                ("restriction_ground", ""),
            ],
        )?;
        assert_eq!(st, 303);
        let to = to.ok_or("no location")?;
        let id = to.strip_prefix("/console/requests/").and_then(|r| r.strip_suffix("?done=created")).ok_or("where")?;
        let id = id.to_string();
        let v = api(&s, &dpo, &id)?;
        assert_eq!((v["kind"].as_str(), v["channel"].as_str()), (Some("rectification"), Some("letter")), "{v}");
        assert_eq!(v["particulars"]["changes"], json!({"last_name":"Martin-Roux"}), "{v}");
        assert_eq!(v["subject_id"], subject.as_str(), "matched by its email");
        let (st, html, _) = get(&s, &cookie, &to)?;
        assert_eq!(st, 200);
        assert!(html.contains("La demande est enregistrée.") && html.contains("Martin-Roux"), "{html}");
        assert!(html.contains(&format!("/console/subjects/{subject}")), "the candidate: {html}");

        // A consent withdrawal names its purposes; none named is refused.
        let withdrawal = [
            ("csrf", token.as_str()),
            ("kind", "consent_withdrawal"),
            ("channel", "phone"),
            ("received_at", &today),
            ("email", "paul@example.org"),
        ];
        let (st, html, _) = post(&s, &cookie, "/console/requests", &withdrawal)?;
        assert_eq!(st, 400, "{html}");
        assert!(html.contains("id=\"purpose-events\""), "the purposes on consent offered: {html}");
        let mut with_purpose = withdrawal.to_vec();
        with_purpose.push(("purpose", "events"));
        let (st, _, to) = post(&s, &cookie, "/console/requests", &with_purpose)?;
        assert_eq!(st, 303);
        let wid = to.as_deref().and_then(|t| t.strip_prefix("/console/requests/")).and_then(|t| t.split('?').next());
        let w = api(&s, &dpo, wid.ok_or("where")?)?;
        assert_eq!(
            (w["kind"].as_str(), &w["particulars"]["purposes"]),
            (Some("consent_withdrawal"), &json!(["events"]))
        );

        // Matching: none with a reason, then the record back; none without a reason is refused.
        let (st, html, _) = step(&s, &cookie, &id, "link", &[("reason", "")])?;
        assert_eq!(st, 400, "{html}");
        assert_eq!(api(&s, &dpo, &id)?["subject_id"], subject.as_str(), "{b:?}: nothing changed");
        let (st, _, to) = step(&s, &cookie, &id, "link", &[("reason", "a namesake, born elsewhere")])?;
        assert_eq!((st, to.as_deref()), (303, Some(format!("/console/requests/{id}?done=link").as_str())));
        let v = api(&s, &dpo, &id)?;
        assert!(v["subject_id"].is_null() && v["no_subject"]["reason"] == "a namesake, born elsewhere", "{v}");
        let (st, html, _) = step(&s, &cookie, &id, "link", &[("subject", &subject), ("reason", "")])?;
        assert_eq!(st, 303, "{html}");
        assert_eq!(api(&s, &dpo, &id)?["subject_id"], subject.as_str());
        let (st, html, _) = step(&s, &cookie, &id, "link", &[("other", "not-an-id")])?;
        assert_eq!(st, 400, "{html}");
        assert!(
            html.contains("L&#39;identifiant de fiche saisi n&#39;en est pas un.")
                || html.contains("identifiant de fiche"),
            "{html}"
        );

        // Nothing is carried out before the identity decision: refused in words, nothing changed.
        let (st, html, _) = step(&s, &cookie, &id, "fulfil", &[])?;
        assert_eq!(st, 409, "{html}");
        assert!(html.contains("Cette étape n") && html.contains("awaits the identity decision"), "{html}");
        assert!(
            !html.contains(&id.to_string().replace('-', "")) && !html.contains(&format!("request {id}")),
            "no id as text"
        );
        assert_eq!(api(&s, &dpo, &id)?["status"], "awaiting_identity");

        // The document: looked at before the decision, gone after it.
        let (st, v) = s.send(
            s.http
                .post(format!("{}/api/v1/requests/{id}/identity-document", s.base))
                .bearer_auth(&dpo)
                .header("content-type", "image/png")
                .body(b"\x89PNG\r\n\x1a\n a scan".to_vec()),
        )?;
        assert_eq!(st, 201, "{v}");
        let (_, html, _) = get(&s, &cookie, &format!("/console/requests/{id}"))?;
        assert!(html.contains(&format!("href=\"/console/requests/{id}/document\"")), "{html}");
        let r = crate::console::client()?
            .get(format!("{}/console/requests/{id}/document", s.base))
            .header("Cookie", &cookie)
            .send()?;
        assert_eq!(r.status().as_u16(), 200);
        let h = r.headers().clone();
        assert_eq!(h.get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
        assert_eq!(h.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        assert_eq!(h.get("content-disposition").and_then(|v| v.to_str().ok()), Some("inline"));
        assert_eq!(r.bytes()?.as_ref(), b"\x89PNG\r\n\x1a\n a scan");
        // A decision the service refuses (the document method names the document): nothing changed.
        let (st, html, _) =
            step(&s, &cookie, &id, "identity", &[("decision", "verified"), ("method", "document"), ("document", "")])?;
        assert_eq!(st, 400, "{html}");
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 1, "{b:?}: still held");
        let (st, _, to) = step(
            &s,
            &cookie,
            &id,
            "identity",
            &[("decision", "verified"), ("method", "document"), ("document", "passport"), ("contract", "")],
        )?;
        assert_eq!((st, to.as_deref()), (303, Some(format!("/console/requests/{id}?done=identity").as_str())));
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 0, "{b:?}: destroyed");
        let (st, html, _) = get(&s, &cookie, &format!("/console/requests/{id}/document"))?;
        assert_eq!(st, 410, "{html}");
        let (_, html, _) = get(&s, &cookie, &format!("/console/requests/{id}?done=identity"))?;
        assert!(html.contains("Identité vérifiée") && html.contains("passeport"), "{html}");
        assert!(html.contains("toute pièce reçue a été détruite"), "{html}");
        assert!(!html.contains("/document\""), "no viewer left: {html}");
        // Decided already: a second decision is refused, nothing changed.
        let (st, html, _) = step(
            &s,
            &cookie,
            &id,
            "identity",
            &[("decision", "rejected"), ("method", "document"), ("document", "passport")],
        )?;
        assert_eq!(st, 409, "{html}");
        assert_eq!(api(&s, &dpo, &id)?["status"], "in_progress");

        // Extension: once, with reasons.
        let due = api(&s, &dpo, &id)?["due_on"].clone();
        let (st, html, _) = step(&s, &cookie, &id, "extend", &[("months", "1"), ("reason", "")])?;
        assert_eq!(st, 400, "{html}");
        let (st, _, _) = step(&s, &cookie, &id, "extend", &[("months", "1"), ("reason", "many records to check")])?;
        assert_eq!(st, 303);
        let v = api(&s, &dpo, &id)?;
        assert!(v["extended"] == true && v["due_on"] != due, "{v}");
        let (st, html, _) = step(&s, &cookie, &id, "extend", &[("months", "2"), ("reason", "again")])?;
        assert_eq!(st, 409, "{html}");
        assert_eq!(api(&s, &dpo, &id)?["due_on"], v["due_on"], "{b:?}: nothing changed");
        let (_, html, _) = get(&s, &cookie, &format!("/console/requests/{id}"))?;
        assert!(html.contains("prolongée"), "{html}");

        // Fulfilment, and the answer as the person reads it.
        let (st, _, to) = step(&s, &cookie, &id, "fulfil", &[])?;
        assert_eq!((st, to.as_deref()), (303, Some(format!("/console/requests/{id}?done=fulfil").as_str())));
        let v = api(&s, &dpo, &id)?;
        assert_eq!((v["status"].as_str(), v["outcome"].as_str()), (Some("completed"), Some("rectified")), "{v}");
        let (_, html, _) = get(&s, &cookie, &format!("/console/requests/{id}"))?;
        assert!(html.contains(&format!("href=\"/console/requests/{id}/answer\"")), "{html}");
        assert!(html.contains("Traitée") && !html.contains("/fulfil\""), "{html}");
        let (st, answer, _) = get(&s, &cookie, &format!("/console/requests/{id}/answer"))?;
        assert_eq!(st, 200, "{answer}");
        let from_api = s
            .http
            .get(format!("{}/api/v1/requests/{id}/response?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        assert_eq!(answer, from_api, "the same document as the API's");
        assert!(answer.contains("Martin-Roux"), "{answer}");
        // Closed: every step is refused, nothing changed.
        for (action, form) in [
            ("fulfil", vec![]),
            ("refuse", vec![("ground", "excessive"), ("reason", "too late")]),
            ("extend", vec![("months", "1"), ("reason", "more")]),
            ("link", vec![("reason", "none")]),
            ("identity/document-request", vec![("doubt", "")]),
        ] {
            let (st, html, _) = step(&s, &cookie, &id, action, &form)?;
            assert_eq!(st, 409, "{action}: {html}");
        }
        assert_eq!(api(&s, &dpo, &id)?["status"], "completed");

        // A full erasure: its answer is shown at once, its only copy; the answer page keeps the proof.
        let hugo = s.create(
            &staff,
            json!({"kind":"prospect","identity":{"first_name":"Hugo","last_name":"Petit","email":"hugo@example.fr"}}),
        )?;
        let era = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at": days_ago(1),"channel":"letter","requester":{"email":"hugo@example.fr"},
                   "particulars":{"ground":"no_longer_necessary"}}),
        )?;
        let era = era["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &era)?;
        let (st, html, to) = step(&s, &cookie, &era, "fulfil", &[])?;
        assert_eq!((st, to), (200, None), "{html}");
        assert!(
            html.contains("lang=\"fr\"") && html.contains("Réponse à votre demande"),
            "the answer, this once: {html}"
        );
        assert_eq!(api(&s, &dpo, &era)?["outcome"], "erased");
        assert_eq!(s.get(&dpo, &format!("/api/v1/subjects/{hugo}"), Some("prospect_relations"))?.0, 410);
        let (st, proof, _) = get(&s, &cookie, &format!("/console/requests/{era}/answer"))?;
        assert_eq!(st, 200);
        assert!(proof != html && !proof.contains("hugo@example.fr"), "only the proof record now: {proof}");

        // Another request: a document asked (the clock stops), then refused with a ground.
        let other = dpo_request(&s, &dpo, access("Eve", &days_ago(2)))?;
        let other = other["id"].as_str().ok_or("id")?.to_string();
        let (st, _, _) = step(&s, &cookie, &other, "identity/document-request", &[("doubt", "")])?;
        assert_eq!(st, 303);
        let (_, html, _) = get(&s, &cookie, &format!("/console/requests/{other}?done=document_request"))?;
        assert!(html.contains("délai suspendu") && html.contains("Pièce d&#39;identité demandée le"), "{html}");
        let (st, _, _) = step(
            &s,
            &cookie,
            &other,
            "refuse",
            &[("ground", "manifestly_unfounded"), ("reason", "a test of the system")],
        )?;
        assert_eq!(st, 303);
        let v = api(&s, &dpo, &other)?;
        assert_eq!((v["status"].as_str(), v["outcome"].as_str()), (Some("refused"), Some("manifestly_unfounded")));
        let (st, answer, _) = get(&s, &cookie, &format!("/console/requests/{other}/answer"))?;
        assert_eq!(st, 200);
        assert!(answer.contains("a test of the system"), "{answer}");
    }
    Ok(())
}

#[test]
fn the_requests_pages_refuse_what_they_must() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let dpo = s.token("dpo", None)?;
        user(&s, "dpo@example.fr", "dpo", Some(PW))?;
        user(&s, "staff@example.fr", "staff", Some(PW))?;
        user(&s, "admin@example.fr", "admin", Some(PW))?;
        let cookie = session(&s, "dpo@example.fr", PW)?;
        let v = dpo_request(&s, &dpo, access("Alice", &days_ago(1)))?;
        let id = v["id"].as_str().ok_or("id")?.to_string();
        s.send(
            s.http
                .post(format!("{}/api/v1/requests/{id}/identity-document", s.base))
                .bearer_auth(&dpo)
                .header("content-type", "application/pdf")
                .body(b"%PDF-1.4 a scan".to_vec()),
        )?;
        let (_, page, _) = get(&s, &cookie, &format!("/console/requests/{id}"))?;
        let token = csrf(&page)?;

        // Other roles: 403 on every page and form, the document included.
        for who in ["staff@example.fr", "admin@example.fr"] {
            let other = session(&s, who, PW)?;
            for path in [
                "/console/requests".to_string(),
                format!("/console/requests/{id}"),
                format!("/console/requests/{id}/document"),
                format!("/console/requests/{id}/answer"),
            ] {
                let (st, html, _) = get(&s, &other, &path)?;
                assert_eq!(st, 403, "{who} {path}");
                assert!(!html.contains("%PDF") && !html.contains("alice@example.org"), "{html}");
            }
            let (_, own, _) = get(&s, &other, "/console/")?;
            let theirs = csrf(&own)?;
            let (st, _, _) = post(&s, &other, &format!("/console/requests/{id}/fulfil"), &[("csrf", &theirs)])?;
            assert_eq!(st, 403, "{who}");
            let (st, _, _) = post(
                &s,
                &other,
                "/console/requests",
                &[
                    ("csrf", &theirs),
                    ("kind", "access"),
                    ("channel", "letter"),
                    ("received_at", &days_ago(0)),
                    ("email", "x@example.org"),
                ],
            )?;
            assert_eq!(st, 403, "{who}");
        }
        // No session: to /login, whatever the path.
        let (st, _, to) = get(&s, "", &format!("/console/requests/{id}/document"))?;
        assert_eq!((st, to.as_deref()), (303, Some("/login")));

        // No CSRF token, or a wrong one: 403, nothing done.
        let before = count(&s, "SELECT count(*) FROM requests")?;
        let (st, _, _) = post(
            &s,
            &cookie,
            "/console/requests",
            &[("kind", "access"), ("channel", "letter"), ("received_at", &days_ago(0)), ("email", "x@example.org")],
        )?;
        assert_eq!(st, 403);
        assert_eq!(count(&s, "SELECT count(*) FROM requests")?, before, "{b:?}");
        let verdict = [("decision", "verified"), ("method", "document"), ("document", "passport")];
        let (st, _, _) = post(&s, &cookie, &format!("/console/requests/{id}/identity"), &verdict)?;
        assert_eq!(st, 403);
        let mut wrong = vec![("csrf", "0000")];
        wrong.extend_from_slice(&verdict);
        let (st, _, _) = post(&s, &cookie, &format!("/console/requests/{id}/identity"), &wrong)?;
        assert_eq!(st, 403);
        assert_eq!(api(&s, &dpo, &id)?["status"], "awaiting_identity", "{b:?}: nothing decided");
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 1);
        // A cross-site form, even with the token: 403.
        let r = crate::console::client()?
            .post(format!("{}/console/requests/{id}/fulfil", s.base))
            .header("Cookie", &cookie)
            .header("Origin", "https://evil.example")
            .form(&[("csrf", token.as_str())])
            .send()?;
        assert_eq!(r.status().as_u16(), 403);

        // Unknown or malformed ids: 404, pages and forms alike.
        let unknown = uuid::Uuid::now_v7().to_string();
        for path in [
            format!("/console/requests/{unknown}"),
            "/console/requests/not-an-id".into(),
            format!("/console/requests/{unknown}/document"),
            format!("/console/requests/{unknown}/answer"),
        ] {
            let (st, _, _) = get(&s, &cookie, &path)?;
            assert_eq!(st, 404, "{path}");
        }
        for action in ["fulfil", "extend", "refuse", "link", "identity", "identity/document-request"] {
            let (st, _, _) = post(
                &s,
                &cookie,
                &format!("/console/requests/{unknown}/{action}"),
                &[
                    ("csrf", &token),
                    ("months", "1"),
                    ("reason", "r"),
                    ("ground", "excessive"),
                    ("decision", "verified"),
                    ("document", "passport"),
                ],
            )?;
            assert_eq!(st, 404, "{action}");
        }
        // No answer before the request is closed.
        let (st, html, _) = get(&s, &cookie, &format!("/console/requests/{id}/answer"))?;
        assert_eq!(st, 409, "{html}");
        // The viewer serves what was uploaded, inline, to the DPO only.
        let r = crate::console::client()?
            .get(format!("{}/console/requests/{id}/document", s.base))
            .header("Cookie", &cookie)
            .send()?;
        assert_eq!(r.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/pdf"));
        // The confirmation link is for `on_doubt` only: refused in words under `document`, nothing sent.
        let (st, html, _) =
            post(&s, &cookie, &format!("/console/requests/{id}/identity/confirmation"), &[("csrf", &token)])?;
        assert_eq!(st, 409, "{html}");
        assert!(html.contains("id=\"form-error\""), "{html}");
    }
    Ok(())
}
