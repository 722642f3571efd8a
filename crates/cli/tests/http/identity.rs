//! Issue 12.2: the identity check is proportionate, as the policy's `identity_check` says.
//! Under `on_doubt`: the email on file confirmed by a one-time link (sent to the address on file,
//! never to one the requester gave; a GET confirms nothing; single use, 7 days), a known phone, a
//! contract reference; a document only after a recorded doubt, which asks the requester for it
//! and stops the clock. Under MSI's `document` clause (the default), a document every time, the
//! clock standing still from intake. Written as an attacker and a careless DPO would try it.

use crate::support::{
    Backend, R, Server, Smtp, backends, camille, count, dpo_request, tamper, verify, verify_identity,
};
use serde_json::{Value, json};

fn default_policy() -> R<String> {
    Ok(std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"))?)
}

/// A server under `identity_check = "on_doubt"`, delivering its mail to a loopback SMTP server.
fn on_doubt(b: Backend, extra: &[&str]) -> R<(Server, Smtp)> {
    let smtp = Smtp::start()?;
    let dir = std::env::temp_dir().join(format!("vigie-on-doubt-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let policy = dir.join("on_doubt.toml");
    std::fs::write(
        &policy,
        default_policy()?.replace("identity_check = \"document\"", "identity_check = \"on_doubt\""),
    )?;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let policy = policy.to_str().ok_or("path")?.to_string();
    let mut args = vec!["--smtp-url", &url, "--outbox-interval-ms", "100", "--policy", &policy];
    args.extend_from_slice(extra);
    Ok((Server::start_with(b, &args)?, smtp))
}

const PUBLIC: &str = "https://rgpd.example.fr";

/// A message's text with its quoted-printable soft line breaks joined.
fn unfolded(m: &str) -> String {
    m.replace("=\r\n", "")
}

/// The token of the confirmation link in the mail to `to`, the newest first.
fn link_token(smtp: &Smtp, to: &str, n: usize) -> R<String> {
    let mail = smtp.wait_for(n);
    let m = mail
        .iter()
        .rev()
        .map(|m| unfolded(m))
        .find(|m| m.contains(&format!("To: {to}")) && m.contains("/rights/confirm/"))
        .ok_or_else(|| format!("no link to {to} in {mail:?}"))?;
    let needle = format!("{PUBLIC}/rights/confirm/");
    let at = m.find(&needle).ok_or("no public link")? + needle.len();
    Ok(m[at..at + 64].to_string())
}

fn page(s: &Server, method: &str, token: &str) -> R<(u16, String)> {
    let url = format!("{}/rights/confirm/{token}", s.base);
    let res = if method == "POST" { s.http.post(url).send()? } else { s.http.get(url).send()? };
    Ok((res.status().as_u16(), res.text()?))
}

fn request_for(s: &Server, dpo: &str, requester: Value) -> R<String> {
    let v = dpo_request(
        s,
        dpo,
        json!({"kind":"access","received_at":"2026-11-02","channel":"email","requester": requester}),
    )?;
    Ok(v["id"].as_str().ok_or("id")?.to_string())
}

#[test]
fn the_email_on_file_is_confirmed_by_a_one_time_link_never_by_hand() -> R {
    for b in backends() {
        let (s, smtp) = on_doubt(b, &["--public-url", &format!("{PUBLIC}/"), "--rights-form-per-minute", "100"])?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let subject = s.create(&staff, camille())?;
        // An attacker knows Camille's phone and gives an address of their own.
        let rid = request_for(&s, &dpo, json!({"phone":"06 12 34 56 78","email":"attacker@evil.example"}))?;
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{rid}"), None)?;
        assert_eq!(v["subject_id"].as_str(), Some(subject.as_str()), "linked by the phone: {v}");
        assert_eq!((v["deadline_suspended"].as_bool(), v["confirmation"].clone()), (Some(false), Value::Null));
        // The method email_on_file is never recorded by hand.
        let decide = |body: Value| s.post(&dpo, &format!("/api/v1/requests/{rid}/identity"), body);
        let (st, v) = decide(json!({"decision":"verified","method":"email_on_file"}))?;
        assert_eq!(st, 409, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains("confirmation")), "{v}");
        // Staff may not send links.
        assert_eq!(s.post(&staff, &format!("/api/v1/requests/{rid}/identity/confirmation"), json!({}))?.0, 403);
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/identity/confirmation"), json!({}))?;
        assert_eq!(st, 201, "{v}");
        assert!(v["confirmation"]["expires_at"].is_string() && v["confirmation"]["expired"] == false, "{v}");
        assert_eq!(v["status"], "awaiting_identity");
        let token = link_token(&smtp, "camille.martin@example.fr", 1)?;
        let mail = smtp.wait_for(1);
        assert!(
            !mail.iter().any(|m| m.contains("attacker@evil.example")),
            "never to the requester's address: {mail:?}"
        );
        let text = unfolded(&mail[0]);
        assert!(text.contains("Je confirme") && text.contains("ne sert qu'une fois"), "{text}");
        // The token is stored hashed; its text is nowhere in clear, neither in the outbox nor the trail.
        for sql in [
            format!("SELECT count(*) FROM outbox WHERE params LIKE '%{token}%' OR idempotency_key LIKE '%{token}%'"),
            format!("SELECT count(*) FROM audit WHERE detail LIKE '%{token}%'"),
        ] {
            assert_eq!(count(&s, &sql)?, 0, "{sql}");
        }
        assert_eq!(count(&s, "SELECT count(*) FROM identity_confirmations")?, 1);

        // A mail scanner follows the link: a page with a button, nothing confirmed.
        for _ in 0..2 {
            let (st, html) = page(&s, "GET", &token)?;
            assert_eq!(st, 200, "{html}");
            assert!(html.contains("method=\"post\"") && html.contains("Je confirme"), "{html}");
            assert!(!html.contains("Camille") && !html.contains("camille"), "nothing personal on the page: {html}");
        }
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{rid}"), None)?;
        assert_eq!(v["status"], "awaiting_identity", "a GET confirms nothing");
        // Forged tokens: malformed, or well-formed and unknown.
        for forged in ["abc", &"0".repeat(64), &token.to_uppercase(), &format!("{token}0")] {
            let (st, html) = page(&s, "POST", forged)?;
            assert_eq!(st, 404, "{forged}: {html}");
        }
        // The button confirms, once; the trail names the requester through the link as its actor.
        let (st, html) = page(&s, "POST", &token)?;
        assert_eq!(st, 200, "{html}");
        assert!(html.contains("confirmé"), "{html}");
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{rid}"), None)?;
        assert_eq!((v["status"].as_str(), v["identity_decision"].as_str()), (Some("in_progress"), Some("verified")));
        assert_eq!(v["identity_check"]["method"], "email_on_file", "{v}");
        assert!(v["identity_check"]["confirmed_at"].is_string(), "{v}");
        assert_eq!(v["confirmation"], Value::Null);
        let by_link =
            format!("SELECT count(*) FROM audit WHERE actor = 'requester:{rid}' AND action = 'request.identity'");
        assert_eq!(count(&s, &by_link)?, 1);
        let (st, _) = page(&s, "POST", &token)?;
        assert_eq!(st, 404, "single use");
        let log = std::fs::read_to_string(s.dir.join("server.log"))?;
        assert!(log.contains("/rights/confirm/{token}") && !log.contains(&token), "the token never reaches a log");
        assert_eq!(count(&s, &by_link)?, 1, "used once");
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?.0, 200);

        // A new link replaces the last; an expired one confirms nothing, GET or POST.
        let rid = request_for(&s, &dpo, json!({"email":"camille.martin@example.fr"}))?;
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{rid}/identity/confirmation"), json!({}))?.0, 201);
        let first = link_token(&smtp, "camille.martin@example.fr", 2)?;
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{rid}/identity/confirmation"), json!({}))?.0, 201);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut second = first.clone();
        while second == first && std::time::Instant::now() < deadline {
            second = link_token(&smtp, "camille.martin@example.fr", 3)?;
        }
        assert_ne!(first, second);
        assert_eq!(page(&s, "GET", &first)?.0, 404, "replaced");
        tamper(&s, "UPDATE identity_confirmations SET expires_at = '2000-01-01 00:00:00+00:00'")?;
        let (st, html) = page(&s, "GET", &second)?;
        assert!(st == 410 && html.contains("expiré"), "{st} {html}");
        assert_eq!(page(&s, "POST", &second)?.0, 410);
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{rid}"), None)?;
        assert_eq!(
            (v["status"].as_str(), v["confirmation"]["expired"].as_bool()),
            (Some("awaiting_identity"), Some(true))
        );
        // Re-linked to another record: the link sent to the first one's address is withdrawn.
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{rid}/identity/confirmation"), json!({}))?.0, 201);
        let third = link_token(&smtp, "camille.martin@example.fr", 4)?;
        let other =
            s.create(&staff, json!({"kind":"prospect","identity":{"last_name":"Autre","email":"autre@example.fr"}}))?;
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{rid}/link"), json!({"subjects":[other]}))?.0, 200);
        assert_eq!(page(&s, "POST", &third)?.0, 404);

        // Refused, nothing sent: not linked; a subject without an email on file.
        let unlinked = request_for(&s, &dpo, json!({"email":"nobody@example.fr"}))?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{unlinked}/identity/confirmation"), json!({}))?;
        assert!(st == 409 && v["detail"].as_str().is_some_and(|d| d.contains("link")), "{v}");
        let phone_only =
            s.create(&staff, json!({"kind":"prospect","identity":{"last_name":"Tel","phone":"+33698765432"}}))?;
        let rid = request_for(&s, &dpo, json!({"phone":"+33698765432","postal_address":"1 rue X, 75001 Paris"}))?;
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{rid}"), None)?;
        assert_eq!(v["subject_id"].as_str(), Some(phone_only.as_str()));
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/identity/confirmation"), json!({}))?;
        assert!(st == 409 && v["detail"].as_str().is_some_and(|d| d.contains("no email on file")), "{v}");
        assert!(verify(&s)?.0);
    }
    Ok(())
}

#[test]
fn links_need_the_public_url_and_the_on_doubt_policy_and_are_rate_limited() -> R {
    for b in backends() {
        // No public URL: a link in an email could not be opened, so none is sent.
        let (s, _smtp) = on_doubt(b, &["--rights-form-per-minute", "3"])?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        s.create(&staff, camille())?;
        let rid = request_for(&s, &dpo, json!({"email":"camille.martin@example.fr"}))?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/identity/confirmation"), json!({}))?;
        assert!(st == 409 && v["detail"].as_str().is_some_and(|d| d.contains("--public-url")), "{v}");
        // Guessing tokens is rate-limited per address, like the public form.
        let token = "a".repeat(64);
        let statuses: Vec<u16> = (0..4).map(|_| page(&s, "GET", &token).map(|p| p.0).unwrap_or(0)).collect();
        assert_eq!(statuses, vec![404, 404, 404, 429], "{statuses:?}");
        drop(s);
        // A bad public URL stops the server before anything is initialised.
        let dir = std::env::temp_dir().join(format!("vigie-url-{}", uuid::Uuid::now_v7()));
        let out = crate::support::vigie()
            .arg("--data-dir")
            .arg(&dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--public-url", "ftp://x?y"])
            .output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("public URL"));
        assert!(!dir.join("master.key").exists(), "nothing initialised");
        // Under MSI's clause, no link: a document every time.
        let s = Server::start_with(b, &["--public-url", PUBLIC])?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        s.create(&staff, camille())?;
        let rid = request_for(&s, &dpo, json!({"email":"camille.martin@example.fr"}))?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/identity/confirmation"), json!({}))?;
        assert!(st == 409 && v["detail"].as_str().is_some_and(|d| d.contains("document")), "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM identity_confirmations")?, 0);
    }
    Ok(())
}

#[test]
fn a_known_phone_or_contract_must_be_on_the_linked_record() -> R {
    for b in backends() {
        let (s, _smtp) = on_doubt(b, &[])?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let with_all = s.create(&staff, camille())?;
        let (_, c) = s.post(
            &staff,
            &format!("/api/v1/subjects/{with_all}/contracts"),
            json!({"reference":"Réf. 77","start":"2025-01-01"}),
        )?;
        let contract = c["id"].as_str().ok_or("contract")?.to_string();
        let bare =
            s.create(&staff, json!({"kind":"prospect","identity":{"last_name":"Nu","email":"nu@example.fr"}}))?;
        let (_, other) = s.post(
            &staff,
            &format!("/api/v1/subjects/{bare}/contracts"),
            json!({"reference":"C-8","start":"2025-01-01"}),
        )?;
        let other_contract = other["id"].as_str().ok_or("contract")?.to_string();
        let plain =
            s.create(&staff, json!({"kind":"prospect","identity":{"last_name":"Sans","email":"sans@example.fr"}}))?;
        let decide = |rid: &str, body: Value| s.post(&dpo, &format!("/api/v1/requests/{rid}/identity"), body);

        // Not linked: nothing to check against.
        let unlinked = request_for(&s, &dpo, json!({"email":"inconnu@example.fr"}))?;
        let (st, v) = decide(&unlinked, json!({"decision":"verified","method":"known_phone"}))?;
        assert_eq!(st, 409, "{v}");
        // A subject without a phone, without a contract.
        let rid = request_for(&s, &dpo, json!({"email":"sans@example.fr"}))?;
        for (body, expected) in [
            (json!({"decision":"verified","method":"known_phone"}), 409),
            (json!({"decision":"verified","method":"contract_reference","contract": contract}), 409),
            (json!({"decision":"verified","method":"contract_reference"}), 400),
            (json!({"decision":"verified","method":"known_phone","contract": contract}), 400),
            (json!({"decision":"verified","method":"document","document":"passport"}), 409),
        ] {
            let (st, v) = decide(&rid, body.clone())?;
            assert_eq!(st, expected, "{body}: {v}");
        }
        let _ = plain;
        // A contract of another subject is refused, naming the field.
        let rid = request_for(&s, &dpo, json!({"email":"camille.martin@example.fr"}))?;
        let (st, v) =
            decide(&rid, json!({"decision":"verified","method":"contract_reference","contract": other_contract}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("contract")), "{v}");
        let (st, v) = decide(&rid, json!({"decision":"verified","method":"contract_reference","contract": contract}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(
            (v["identity_check"]["method"].as_str(), v["identity_check"]["contract"].as_str()),
            (Some("contract_reference"), Some(contract.as_str()))
        );
        let rid = request_for(&s, &dpo, json!({"email":"camille.martin@example.fr"}))?;
        let (st, v) = decide(&rid, json!({"decision":"verified","method":"known_phone"}))?;
        assert_eq!((st, v["identity_check"]["method"].as_str()), (200, Some("known_phone")), "{v}");
        let rid = request_for(&s, &dpo, json!({"email":"nu@example.fr"}))?;
        let (st, v) = decide(&rid, json!({"decision":"verified","method":"authenticated_account"}))?;
        assert_eq!(st, 200, "{v}");
        let _ = bare;
        // The audit names the contract by id, never its reference.
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE detail LIKE '%Réf%'")?, 0);
    }
    Ok(())
}

#[test]
fn a_document_is_asked_only_after_a_recorded_doubt_and_the_clock_waits_for_it() -> R {
    for b in backends() {
        let (s, smtp) = on_doubt(b, &[])?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        s.create(&staff, camille())?;
        // Received 2 November 2026: one month, Wednesday 2 December.
        let rid = request_for(&s, &dpo, json!({"first_name":"Camille","email":"camille.martin@example.fr"}))?;
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{rid}"), None)?;
        assert_eq!((v["due_on"].as_str(), v["deadline_suspended"].as_bool()), (Some("2026-12-02"), Some(false)));
        let png = b"\x89PNG\r\n\x1a\n a scan".to_vec();
        let upload = |rid: &str| {
            s.send(
                s.http
                    .post(format!("{}/api/v1/requests/{rid}/identity-document", s.base))
                    .bearer_auth(&dpo)
                    .header("content-type", "image/png")
                    .body(png.clone()),
            )
        };
        // No document without a recorded doubt: neither decided on, nor kept.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{rid}/identity"),
            json!({"decision":"verified","document":"passport"}),
        )?;
        assert!(st == 409 && v["detail"].as_str().is_some_and(|d| d.contains("document-request")), "{v}");
        assert_eq!(upload(&rid)?.0, 409);
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 0);
        // The doubt is required, and must say something.
        let ask = format!("/api/v1/requests/{rid}/identity/document-request");
        for body in [json!({}), json!({"doubt":"   "}), json!({"doubt": 3}), json!({"reason":"x"})] {
            let (st, v) = s.post(&dpo, &ask, body.clone())?;
            assert_eq!(st, 400, "{body}: {v}");
        }
        assert_eq!(s.post(&staff, &ask, json!({"doubt":"x"}))?.0, 403);
        let doubt = "the email on file was changed the day before the request";
        let (st, v) = s.post(&dpo, &ask, json!({ "doubt": doubt }))?;
        assert_eq!(st, 200, "{v}");
        let today = chrono::Utc::now().date_naive();
        assert_eq!(
            (v["deadline_suspended"].as_bool(), v["suspended_since"].as_str()),
            (Some(true), Some(today.to_string().as_str())),
            "{v}"
        );
        assert_eq!(v["document_requests"][0]["doubt"], doubt);
        // The requester is asked, in French, why in general terms and how; the doubt stays sealed.
        let mail = smtp.wait_for(1);
        let text = unfolded(mail.iter().find(|m| m.contains("To: camille.martin@example.fr")).ok_or("no mail")?);
        for expected in ["justificatif", "suspendu", "dpo-msi@racine.eu", "40 rue de Courcelles", "original"] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        assert!(!text.contains("changed the day before"), "the doubt is not sent: {text}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE detail LIKE '%changed the day%'")?, 0);
        // Ten days pass while the clock stands still (the row is moved back ten days behind
        // Vigie's back); the document arrives: 2 December + 10 = Saturday 12 December, so Monday 14.
        let since = (today - chrono::Days::new(10)).to_string();
        tamper(&s, &format!("UPDATE requests SET suspended_since = '{since}'"))?;
        let (st, v) = upload(&rid)?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(
            (v["deadline_suspended"].as_bool(), v["suspended_days"].as_i64(), v["due_on"].as_str()),
            (Some(false), Some(10), Some("2026-12-14")),
            "{v}"
        );
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{rid}/identity"),
            json!({"decision":"verified","document":"passport"}),
        )?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(
            (v["identity_check"]["method"].as_str(), v["identity_check"]["doubt"].as_str()),
            (Some("document"), Some(doubt))
        );
        assert_eq!((v["due_on"].as_str(), v["identity_document_held"].as_bool()), (Some("2026-12-14"), Some(false)));
        // Once decided, no more documents are asked.
        assert_eq!(s.post(&dpo, &ask, json!({"doubt":"again"}))?.0, 409);

        // A request in English is asked in English.
        let v = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-11-02","channel":"email","lang":"en",
                   "requester":{"email":"camille.martin@example.fr"}}),
        )?;
        assert_eq!(v["lang"], "en");
        let en = v["id"].as_str().ok_or("id")?.to_string();
        let (st, _) =
            s.post(&dpo, &format!("/api/v1/requests/{en}/identity/document-request"), json!({"doubt":"x"}))?;
        assert_eq!(st, 200);
        let mail = smtp.wait_for(2);
        let text = unfolded(mail.last().ok_or("no mail")?);
        assert!(text.contains("proof of identity") && text.contains("suspended"), "{text}");
        let (st, v) = s.post(
            &dpo,
            "/api/v1/requests",
            json!({"kind":"access","received_at":"2026-11-02","channel":"email","lang":"de","requester":{"email":"x@example.fr"}}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("lang")), "{v}");
    }
    Ok(())
}

#[test]
fn under_msis_clause_the_clock_stops_once_the_document_is_asked_and_the_register_says_so() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        s.create(&staff, camille())?;
        let today = chrono::Utc::now().date_naive().to_string();
        let new = |received: &str| -> R<String> {
            let v = dpo_request(
                &s,
                &dpo,
                json!({"kind":"access","received_at":received,"channel":"letter","requester":{"email":"camille.martin@example.fr"}}),
            )?;
            assert_eq!(v["status"], "awaiting_identity", "{v}");
            // The clock runs from receipt: nobody has been asked for anything yet.
            assert_eq!(
                (v["deadline_suspended"].as_bool(), v["suspended_since"].clone()),
                (Some(false), Value::Null),
                "{v}"
            );
            Ok(v["id"].as_str().ok_or("id")?.to_string())
        };
        let ask = |id: &str| -> R<Value> {
            let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/identity/document-request"), json!({}))?;
            assert_eq!((st, v["deadline_suspended"].as_bool()), (200, Some(true)), "{v}");
            Ok(v)
        };
        // SPEC 5.3's shape: the decision names the document; the clock runs again at once.
        let running = new(&today)?;
        verify_identity(&s, &dpo, &running)?;
        let waiting = new(&today)?;
        ask(&waiting)?;
        let late = new("2026-01-05")?;
        // Overdue before anybody asked: asking now does not hide it.
        ask(&late)?;
        let closed = new(&today)?;
        let (st, _) = s.post(
            &dpo,
            &format!("/api/v1/requests/{closed}/refuse"),
            json!({"ground":"excessive","reason":"the tenth this month"}),
        )?;
        assert_eq!(st, 200);
        // Asking for the document again keeps the day the clock stopped; the methods of on_doubt are refused.
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{waiting}/identity/document-request"), json!({}))?;
        assert_eq!((st, v["suspended_since"].as_str()), (200, Some(today.as_str())), "{v}");
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{waiting}/identity"),
            json!({"decision":"verified","method":"known_phone"}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("method")), "{v}");
        // The register: the overdue one (its deadline passed before it was recorded), the running
        // one, the one waiting for its requester, the closed one.
        let (_, v) = s.get(&dpo, "/api/v1/requests", None)?;
        let order: Vec<&str> =
            v["requests"].as_array().ok_or("list")?.iter().filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(order, vec![late.as_str(), running.as_str(), waiting.as_str(), closed.as_str()], "{v}");
        let list = v["requests"].as_array().ok_or("list")?;
        assert_eq!((list[0]["overdue"].as_bool(), list[0]["deadline_suspended"].as_bool()), (Some(true), Some(true)));
        assert_eq!(
            (list[3]["deadline_suspended"].as_bool(), list[3]["suspended_since"].clone()),
            (Some(false), Value::Null)
        );
    }
    Ok(())
}
