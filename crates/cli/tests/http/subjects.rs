//! Recording subjects and reading them only for a purpose: refusals, contracts, archives, statistics.

use crate::support::{R, Server, backends, camille, person};
use serde_json::{Value, json};

#[test]
fn subjects_are_recorded_and_read_only_for_a_purpose() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        assert!(s.admin.starts_with("vigie_"), "the first admin token is printed once");
        let staff = s.token("staff", None)?;
        let id = s.create(&staff, camille())?;

        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?;
        assert_eq!(st, 200, "{b:?} {v}");
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["kind"], "prospect");
        assert_eq!(v["identity"]["first_name"], "Camille");
        assert_eq!(v["identity"]["email"], "camille.martin@example.fr");
        assert_eq!(v["provenance"]["email"], "provided");
        assert_eq!(v["basis"], "legitimate_interest");
        assert!(v["contracts"].is_array() && v["interactions"].is_array());

        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{id}"), None)?;
        assert_eq!(st, 400, "{v}");
        assert_eq!(v["type"], "urn:vigie:problem:purpose-required");

        // Blind-index lookups, whatever the case or formatting of the query.
        let (st, v) = s.get(&staff, "/api/v1/subjects?email=Camille.Martin%40Example.fr", Some("customer_service"))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["subjects"][0]["id"], id.as_str());
        let (st, v) = s.get(&staff, "/api/v1/subjects?phone=06%2012%2034%2056%2078", Some("customer_service"))?;
        assert_eq!((st, v["subjects"].as_array().map(Vec::len)), (200, Some(1)));
        let (st, v) = s.get(&staff, "/api/v1/subjects?email=nobody%40example.fr", Some("customer_service"))?;
        assert_eq!((st, v["subjects"].as_array().map(Vec::len)), (200, Some(0)));
        let (st, _) = s.get(&staff, "/api/v1/subjects?email=camille.martin%40example.fr", None)?;
        assert_eq!(st, 400);
        let (st, v) = s.send(
            s.http
                .post(format!("{}/api/v1/subjects/search", s.base))
                .bearer_auth(&staff)
                .header("Vigie-Purpose", "customer_service")
                .json(&json!({"email":"camille.martin@example.fr"})),
        )?;
        assert_eq!((st, v["subjects"].as_array().map(Vec::len)), (200, Some(1)));

        // Interactions and consents; the data a purpose does not grant is not returned.
        let (st, v) = s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/interactions"),
            json!({"at":"2023-06-15T10:00:00Z","direction":"inbound","channel":"email","summary":"asked for a quote"}),
        )?;
        assert_eq!(st, 201, "{v}");
        let (_, v) = s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?;
        assert_eq!(v["interactions"][0]["direction"], "inbound");
        assert_eq!(v["interactions"][0]["summary"], "asked for a quote");
        let (st, v) = s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/consents"),
            json!({"purpose":"events","granted":true,"evidence":"web form, policy 2026-1"}),
        )?;
        assert_eq!(st, 201, "{v}");
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("events"))?;
        assert_eq!(st, 200, "{v}");
        assert!(v["interactions"].as_array().is_some_and(Vec::is_empty), "events does not grant interactions");
        assert!(v["identity"].get("first_name").is_some());
    }
    Ok(())
}

#[test]
fn every_refusal_names_its_rule() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let accountant = s.token("recipient", Some("accountant"))?;
        let prospect = s.create(&staff, camille())?;
        let client = s.create(&staff, person("Hugo", "hugo@example.fr", "client"))?;
        let refused = |token: &str, id: &str, purpose: &str, rule: &str| -> R {
            let (st, v) = s.get(token, &format!("/api/v1/subjects/{id}"), Some(purpose))?;
            assert_eq!(st, 403, "{b:?} {purpose}: {v}");
            assert_eq!(v["type"], "urn:vigie:problem:purpose-refused");
            assert_eq!(v["rule"], rule, "{v}");
            assert!(v["detail"].as_str().is_some_and(|d| d.contains(rule)), "{v}");
            Ok(())
        };
        refused(&staff, &prospect, "marketing", "unknown_purpose")?;
        refused(&s.admin, &prospect, "prospect_relations", "role_not_recipient")?;
        refused(&accountant, &prospect, "prospect_relations", "role_not_recipient")?;
        refused(&staff, &prospect, "contract_management", "subject_kind_not_covered")?;
        refused(&staff, &prospect, "statistics", "aggregates_only")?;
        refused(&staff, &prospect, "events", "no_consent")?;
        refused(&staff, &client, "customer_relations", "no_active_contract")?;

        // Consent granted, then withdrawn: withdrawal is as easy and takes effect at once.
        let consent = |granted: bool| {
            s.post(
                &staff,
                &format!("/api/v1/subjects/{prospect}/consents"),
                json!({"purpose":"events","granted":granted,"evidence":"email"}),
            )
        };
        assert_eq!(consent(true)?.0, 201);
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{prospect}"), Some("events"))?.0, 200);
        assert_eq!(consent(false)?.0, 201);
        refused(&staff, &prospect, "events", "no_consent")?;

        // An objection to prospecting stops it at once.
        let (st, v) = s.post(
            &staff,
            &format!("/api/v1/subjects/{prospect}/objections"),
            json!({"purpose":"prospect_relations"}),
        )?;
        assert_eq!(st, 201, "{v}");
        refused(&staff, &prospect, "prospect_relations", "objection")?;
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{prospect}"), Some("customer_service"))?.0, 200);

        // Every refusal is in the audit trail, with the rule and no value.
        let dpo = s.token("dpo", None)?;
        let (st, v) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        assert_eq!(st, 200, "{v}");
        let entries = v["entries"].as_array().ok_or("entries")?;
        let refusals: Vec<&Value> = entries.iter().filter(|e| e["outcome"] == "refused").collect();
        assert_eq!(refusals.len(), 9, "{b:?}");
        assert!(refusals.iter().any(|e| e["detail"] == "objection" && e["purpose"] == "prospect_relations"));
        assert!(!v.to_string().contains("Camille"), "no personal value in the audit trail");
    }
    Ok(())
}

#[test]
fn contracts_make_clients_and_archives_open_only_to_dpo_and_accountant() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let accountant = s.token("recipient", Some("accountant"))?;
        let erp = s.token("recipient", Some("saas_erp"))?;
        let id = s.create(&staff, camille())?;

        let (st, v) = s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/contracts"),
            json!({"reference":"C-2019-001","start":"2019-01-01","end":"2021-02-28"}),
        )?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["subject_kind"], "client", "a contract turns a prospect into a client");
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("subject_kind_not_covered")));

        // The only contract ended: the record is archived.
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("archived")), "{v}");
        // To a recipient, a record outside its scope answers as an unknown one (issue 11: no
        // existence oracle); the refusal is in the audit trail.
        let (st, v) = s.get(&erp, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!(st, 404, "{v}");
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!((st, v["archived"].as_bool()), (200, Some(true)), "{v}");
        let (st, v) = s.get(&accountant, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!((st, v["archived"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(v["contracts"][0]["reference"], "C-2019-001");
        assert_eq!(v["contracts"][0]["end"], "2021-02-28");

        // A running contract opens the contract purposes again, to the ERP too.
        let (st, _) = s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/contracts"),
            json!({"reference":"C-2024-007","start":"2024-01-01"}),
        )?;
        assert_eq!(st, 201);
        let (st, v) = s.get(&erp, &format!("/api/v1/subjects/{id}"), Some("customer_relations"))?;
        assert_eq!((st, v["archived"].as_bool()), (200, Some(false)), "{v}");
        assert!(v["identity"].get("notes").is_none());

        // Reads by recipient tokens are disclosures: recipient, fields, purpose, time.
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{id}/disclosures"), None)?;
        assert_eq!(st, 200, "{v}");
        let list = v["disclosures"].as_array().ok_or("disclosures")?;
        assert_eq!(list.len(), 2, "{v}");
        assert_eq!(list[0]["recipient"], "accountant");
        assert_eq!(list[0]["purpose"], "contract_management");
        assert!(list[0]["fields"].as_array().is_some_and(|f| f.iter().any(|x| x == "email")));
        assert_eq!(list[1]["recipient"], "saas_erp");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{id}/disclosures"), None)?.0, 403);
    }
    Ok(())
}

#[test]
fn statistics_are_aggregates_with_small_groups_suppressed() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        for i in 0..6 {
            s.create(&staff, person("Léa", &format!("lea{i}@example.fr"), "prospect"))?;
        }
        for i in 0..2 {
            s.create(&staff, person("Hugo", &format!("hugo{i}@example.fr"), "client"))?;
        }
        let (st, v) = s.get(&staff, "/api/v1/statistics?group_by=kind", Some("statistics"))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["groups"], json!([{"group":"prospect","count":6}]));
        assert_eq!(v["suppressed_groups"], 1);
        assert_eq!(v["min_group_size"], 5);
        let (st, v) = s.get(&staff, "/api/v1/statistics?group_by=kind", Some("customer_relations"))?;
        assert_eq!(st, 400, "{v}");
        let (st, _) = s.get(&staff, "/api/v1/statistics?group_by=email", Some("statistics"))?;
        assert_eq!(st, 400);
        let (st, _) = s.get(&staff, "/api/v1/statistics", None)?;
        assert_eq!(st, 400);
    }
    Ok(())
}
