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
        let (st, v) = s.post(&staff, subj, huge)?;
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
    // Ids of subjects, requests and breaches are UUIDs.
    let id = &paths["/api/v1/subjects/{id}"]["get"]["parameters"][0]["schema"];
    assert_eq!(id["format"], "uuid", "{id}");
    Ok(())
}
