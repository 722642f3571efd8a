//! The HTTP API itself: validation and problem+json errors, the OpenAPI document.

use crate::support::{Backend, R, Server, backends, camille};
use serde_json::{Value, json};

#[test]
fn bad_input_gets_a_clear_4xx_and_changes_nothing() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let id = s.create(&staff, camille())?;
        let before = s.audit_entries()?;
        let bad = |path: &str, body: Value, field: &str| -> R {
            let (st, v) = s.post(&staff, path, body)?;
            assert_eq!(st, 400, "{b:?} {path}: {v}");
            assert_eq!(v["type"], "urn:vigie:problem:validation", "{v}");
            assert_eq!(v["field"], field, "{v}");
            assert!(
                !v.to_string().contains("not-an-email") && !v.to_string().contains("Zorro"),
                "no value echoed: {v}"
            );
            Ok(())
        };
        let subj = "/api/v1/subjects";
        bad(subj, json!({"kind":"prospect","identity":{"email":"not-an-email"}}), "identity.email")?;
        bad(subj, json!({"kind":"prospect","identity":{"phone":"12"}}), "identity.phone")?;
        bad(subj, json!({"kind":"lead","identity":{"first_name":"Zorro"}}), "kind")?;
        bad(subj, json!({"kind":"prospect","identity":{"nickname":"Zorro"}}), "identity.nickname")?;
        bad(subj, json!({"kind":"prospect","identity":{"first_name":7}}), "identity.first_name")?;
        bad(subj, json!({"kind":"prospect","identity":{}}), "identity")?;
        bad(subj, json!({"kind":"prospect","colour":"blue","identity":{"first_name":"Zorro"}}), "colour")?;
        bad(
            subj,
            json!({"kind":"prospect","collected_at":"2023-02-30","identity":{"first_name":"Zorro"}}),
            "collected_at",
        )?;
        bad(
            subj,
            json!({"kind":"prospect","collected_at":"2999-01-01T00:00:00Z","identity":{"first_name":"Zorro"}}),
            "collected_at",
        )?;
        bad(subj, json!({"kind":"prospect","provenance":"rumour","identity":{"first_name":"Zorro"}}), "provenance")?;
        let c = format!("/api/v1/subjects/{id}/contracts");
        bad(&c, json!({"reference":"C-1","start":"2021-02-29"}), "start")?;
        bad(&c, json!({"reference":"C-1","start":"2021-03-01","end":"2021-02-28"}), "end")?;
        bad(&c, json!({"reference":"  ","start":"2021-03-01"}), "reference")?;
        let i = format!("/api/v1/subjects/{id}/interactions");
        bad(&i, json!({"at":"2023-06-15T10:00:00Z","direction":"sideways","channel":"email"}), "direction")?;
        bad(&i, json!({"at":"yesterday","direction":"inbound","channel":"email"}), "at")?;
        bad(
            &format!("/api/v1/subjects/{id}/consents"),
            json!({"purpose":"marketing","granted":true,"evidence":"x"}),
            "purpose",
        )?;
        bad(
            &format!("/api/v1/subjects/{id}/consents"),
            json!({"purpose":"contract_management","granted":true,"evidence":"x"}),
            "purpose",
        )?;
        bad(&format!("/api/v1/subjects/{id}/objections"), json!({"purpose":"marketing"}), "purpose")?;

        // Malformed JSON, wrong media type, oversized body, bad id, unknown subject, no token.
        let raw = |body: &'static str, ct: &str| {
            s.send(s.http.post(format!("{}{subj}", s.base)).bearer_auth(&staff).header("content-type", ct).body(body))
        };
        let (st, v) = raw("{\"kind\": ", "application/json")?;
        assert_eq!((st, v["type"].as_str()), (400, Some("urn:vigie:problem:validation")));
        let (st, v) = raw("kind=prospect", "application/x-www-form-urlencoded")?;
        assert_eq!((st, v["type"].as_str()), (415, Some("urn:vigie:problem:unsupported-media-type")));
        let huge = json!({"kind":"prospect","identity":{"notes":"x".repeat(400_000)}});
        // On a connection of its own: the server answers before reading the body, then closes the
        // connection, which a pooled client could otherwise pick for the next request.
        let once = reqwest::blocking::Client::builder().pool_max_idle_per_host(0).build()?;
        let (st, v) = s.send(once.post(format!("{}{subj}", s.base)).bearer_auth(&staff).json(&huge))?;
        assert_eq!((st, v["type"].as_str()), (413, Some("urn:vigie:problem:payload-too-large")));
        let (st, _) = s.get(&staff, "/api/v1/subjects/not-a-uuid", Some("prospect_relations"))?;
        assert_eq!(st, 400);
        let (st, v) =
            s.get(&staff, &format!("/api/v1/subjects/{}", uuid::Uuid::now_v7()), Some("prospect_relations"))?;
        assert_eq!((st, v["type"].as_str()), (404, Some("urn:vigie:problem:not-found")));
        let (st, _) = s.post(
            &staff,
            &format!("/api/v1/subjects/{}/contracts", uuid::Uuid::now_v7()),
            json!({"reference":"C-1","start":"2021-03-01"}),
        )?;
        assert_eq!(st, 404);
        let (st, v) = s.send(
            s.http.get(format!("{}/api/v1/subjects/{id}", s.base)).header("Vigie-Purpose", "prospect_relations"),
        )?;
        assert_eq!((st, v["type"].as_str()), (401, Some("urn:vigie:problem:unauthenticated")));
        assert_eq!(s.get("vigie_forged", &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0, 401);
        let (st, v) = s.send(s.http.delete(format!("{}/api/v1/subjects", s.base)).bearer_auth(&staff))?;
        assert_eq!(st, 405, "{v}");
        assert_eq!(s.get(&staff, "/api/v1/nowhere", None)?.0, 404);

        // The admin manages tokens but records and reads no personal data.
        let (st, v) = s.post(&s.admin, subj, camille())?;
        assert_eq!((st, v["type"].as_str()), (403, Some("urn:vigie:problem:forbidden")));

        // Only the not-found read above was audited; nothing else was written.
        assert_eq!(s.audit_entries()?, before + 1, "{b:?}: bad input changes nothing");
    }
    Ok(())
}

#[test]
fn the_api_is_described_by_openapi_3_1_with_a_viewer() -> R {
    let s = Server::start(Backend::Sqlite)?;
    let res = s.http.get(format!("{}/api/v1/openapi.json", s.base)).send()?;
    assert_eq!(res.status().as_u16(), 200);
    let doc: Value = res.json()?;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    for path in ["/api/v1/subjects", "/api/v1/subjects/{id}", "/api/v1/subjects/{id}/contracts", "/api/v1/audit/verify"]
    {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    // Closed sets are enums: the document lists their values, and fields refer to them.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["RequestStatus"]["enum"], json!(["awaiting_identity", "in_progress", "completed", "refused"]));
    assert_eq!(schemas["OutboxStatus"]["enum"], json!(["pending", "sent", "failed"]));
    for (schema, field, target) in [
        ("RequestView", "status", "RequestStatus"),
        ("NewRequest", "kind", "RequestKind"),
        ("Refusal", "ground", "RefusalGround"),
        ("BreachView", "risk", "BreachRisk"),
        ("NewSafeguard", "kind", "SafeguardKind"),
        ("NewToken", "role", "Role"),
        ("HoldEvent", "action", "HoldAction"),
        ("VersionView", "status", "PolicyStatus"),
    ] {
        let r = &schemas[schema]["properties"][field]["$ref"];
        assert_eq!(r, &json!(format!("#/components/schemas/{target}")), "{schema}.{field}");
        assert!(schemas[target]["enum"].is_array(), "{target} lists its values");
    }
    let res = s.http.get(format!("{}/api/v1/docs/", s.base)).send()?;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text()?.contains("swagger"), "an interactive viewer");
    Ok(())
}

#[test]
fn the_openapi_document_declares_each_parameter_where_it_is_sent() -> R {
    let s = Server::start(Backend::Sqlite)?;
    let (st, doc) = s.get("", "/api/v1/openapi.json", None)?;
    assert_eq!(st, 200);
    let paths = doc["paths"].as_object().ok_or("paths")?;
    let mut wrong = Vec::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().ok_or("operations")? {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let (name, place) = (p["name"].as_str().unwrap_or_default(), p["in"].as_str().unwrap_or_default());
                let in_template = path.contains(&format!("{{{name}}}"));
                if (place == "path") != in_template {
                    wrong.push(format!("{method} {path}: {name} in {place}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "parameters declared where they are not sent: {wrong:#?}");
    // Ids of subjects, tokens, requests and breaches are UUIDs.
    for prefix in ["/api/v1/subjects/{id}", "/api/v1/tokens/{id}", "/api/v1/requests/{id}", "/api/v1/breaches/{id}"] {
        for (path, ops) in paths.iter().filter(|(p, _)| p.starts_with(prefix)) {
            for (method, op) in ops.as_object().ok_or("operations")? {
                let id = op["parameters"].as_array().into_iter().flatten().find(|p| p["name"] == "id");
                let format = id.map(|p| p["schema"]["format"].clone());
                assert_eq!(format, Some(json!("uuid")), "{method} {path}: the id is a UUID");
            }
        }
    }
    Ok(())
}

#[test]
fn the_openapi_document_describes_every_error_as_the_server_sends_it() -> R {
    let s = Server::start(Backend::Sqlite)?;
    let (st, doc) = s.get("", "/api/v1/openapi.json", None)?;
    assert_eq!(st, 200);
    let mut wrong = Vec::new();
    for (path, ops) in doc["paths"].as_object().ok_or("paths")? {
        for (method, op) in ops.as_object().ok_or("operations")? {
            let public = op["security"].as_array().is_some_and(|s| s.iter().all(|r| r == &json!({})));
            let responses = op["responses"].as_object().ok_or("responses")?;
            let mut required = vec!["503"];
            if !public {
                required.extend(["401", "429"]);
            }
            if op.get("requestBody").is_some() {
                required.extend(["400", "413", "415"]);
            }
            if path == "/api/v1/health" {
                required.clear();
            }
            for status in required {
                if !responses.contains_key(status) {
                    wrong.push(format!("{method} {path}: {status} undocumented"));
                }
            }
            for (status, r) in responses.iter().filter(|(status, _)| status.as_str() >= "400") {
                let types: Vec<&String> = r["content"].as_object().map(|c| c.keys().collect()).unwrap_or_default();
                if types != ["application/problem+json"] {
                    wrong.push(format!("{method} {path}: {status} is {types:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Every reference resolves, and closed sets are enums wherever they appear.
    let schemas = doc["components"]["schemas"].as_object().ok_or("schemas")?;
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap_or_default();
        assert!(schemas.contains_key(name), "{name} is referenced but not described");
    }
    for (schema, field, target) in [
        ("RecipientView", "transfer", "TransferView"),
        ("TransferEntry", "status", "TransferStatus"),
        ("NewPhase", "phase", "NewPhaseKind"),
    ] {
        assert_eq!(schemas[schema]["properties"][field]["$ref"], json!(format!("#/components/schemas/{target}")));
    }
    assert!(schemas["TransferStatus"]["enum"].is_array() && schemas["TransferView"]["properties"].is_object());
    assert_eq!(schemas["NewContract"]["properties"]["start"]["format"], "date");
    assert_eq!(schemas["NewBreach"]["properties"]["detected_at"]["format"], "date-time");
    assert_eq!(schemas["EntryView"]["properties"]["subject_id"]["format"], "uuid");

    // What the document says is what the server sends: a 401, a 415, a 400 are problem+json.
    let checks = [
        s.http.get(format!("{}/api/v1/audit", s.base)).send()?,
        s.http.get(format!("{}/api/v1/audit", s.base)).bearer_auth("vigie_not_a_token").send()?,
        s.http.post(format!("{}/api/v1/subjects", s.base)).bearer_auth(&s.admin).body("{}").send()?,
        s.http.get(format!("{}/api/v1/audit?limit=x", s.base)).bearer_auth(&s.admin).send()?,
    ];
    for (res, status) in checks.into_iter().zip([401, 401, 415, 400]) {
        assert_eq!(res.status().as_u16(), status);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body: Value = res.json()?;
        assert_eq!(body["status"], status, "{body}");
    }
    Ok(())
}

/// What API fuzzing (schemathesis, `.ci/schemathesis`) found, as a client would hit it.
#[test]
fn what_the_fuzzer_found_is_answered_as_the_document_says() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let dpo = s.token("dpo", None)?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = crate::support::dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"email","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let id = req["id"].as_str().ok_or("id")?;
        // An identity document of another media type, or of none, is a 415 (it was a 400).
        let url = format!("{}/api/v1/requests/{id}/identity-document", s.base);
        for ct in [Some("text/plain"), Some("application/json"), None] {
            let mut r = s.http.post(&url).bearer_auth(&dpo).body(b"%PDF-1.7".to_vec());
            if let Some(ct) = ct {
                r = r.header("content-type", ct);
            }
            let (st, v) = s.send(r)?;
            assert_eq!(
                (st, v["type"].as_str()),
                (415, Some("urn:vigie:problem:unsupported-media-type")),
                "{b:?} {ct:?}"
            );
        }
        // A repeated `format` was a plain-text 400 from the framework: now a problem naming it.
        let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{id}/response?format=json&format=html"), None)?;
        assert_eq!((st, v["field"].as_str()), (400, Some("format")), "{b:?} {v}");
        // JSON's 1.0 is the integer 1 to any schema validator: the extension takes it.
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/requests/{id}/extend"), json!({"months": 1.0, "reason": "complex"}))?;
        assert_eq!((st, v["extended"].as_bool()), (200, Some(true)), "{b:?} {v}");
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/extend"), json!({"months": 1.5, "reason": "x"}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("months")), "{b:?} {v}");
        // An open breach whose scope names a period made every retention plan and sweep a 500
        // (a timestamp overflow read back from the scope).
        let (st, v) = s.post(
            &dpo,
            "/api/v1/breaches",
            json!({"detected_at":"2026-01-05T08:00:00Z","nature":["confidentiality"],"description":"lost laptop",
                   "data_categories":["contact"],"scope":{"collected_from":"2020-01-01","collected_to":"2021-01-01T00:00:00Z"},
                   "keys_compromised":"no"}),
        )?;
        assert_eq!(st, 201, "{b:?} {v}");
        let (st, v) = s.get(&dpo, "/api/v1/retention/plan?at=2030-01-01", None)?;
        assert_eq!(st, 200, "{b:?} {v}");
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(st, 200, "{b:?} {v}");
    }
    Ok(())
}
