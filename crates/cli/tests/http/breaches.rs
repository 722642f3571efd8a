//! The breach register: scopes, the 72-hour clock, the CNIL draft, notices to subjects.

use crate::support::{R, Server, Smtp, backends, camille, person};
use serde_json::{Value, json};

#[test]
fn breaches_are_scoped_clocked_drafted_and_notified() -> R {
    for b in backends() {
        let smtp = Smtp::start()?;
        let url = format!("smtp://127.0.0.1:{}", smtp.port);
        let s = Server::start_with(b, &["--smtp-url", &url, "--outbox-interval-ms", "100"])?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let a = s.create(&staff, camille())?;
        let c = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        s.post(&staff, &format!("/api/v1/subjects/{c}/contracts"), json!({"reference":"C-1","start":"2024-01-01"}))?;
        let other = s.create(&staff, person("Léa", "lea@example.fr", "prospect"))?;
        let _ = other;

        let body = json!({"detected_at":"2026-11-20T08:30:00Z","nature":["confidentiality"],"description":"a laptop was stolen",
            "data_categories":["identity","contact","contract"],"scope":{"subject_ids":[a, c]},
            "likely_consequences":"phishing","measures":"passwords reset","risk":"high"});
        assert_eq!(s.post(&staff, "/api/v1/breaches", body.clone())?.0, 403);
        let (st, v) = s.post(&dpo, "/api/v1/breaches", body)?;
        assert_eq!(st, 201, "{b:?} {v}");
        assert_eq!(v["notify_authority_by"], "2026-11-23T08:30:00Z");
        assert_eq!(v["subjects_concerned"], 2);
        assert_eq!(v["records_concerned"], 3, "two identities and one contract");
        assert!(v["subjects_information"].as_str().is_some_and(|t| t.starts_with("exemption_to_confirm")), "{v}");
        let id = v["id"].as_str().ok_or("id")?.to_string();

        // Scopes by kind and by a token's accesses.
        let (_, v) = s.post(
            &dpo,
            "/api/v1/breaches",
            json!({"detected_at":"2026-11-25T08:00:00Z","nature":["availability"],"description":"outage",
            "data_categories":["identity"],"scope":{"kinds":["prospect"]}}),
        )?;
        assert_eq!(v["subjects_concerned"], 2, "{v}");
        let leaky = s.token("staff", None)?;
        s.get(&leaky, &format!("/api/v1/subjects/{a}"), Some("prospect_relations"))?;
        let (_, tokens) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let token_id = tokens["entries"]
            .as_array()
            .and_then(|e| e.iter().rev().find(|x| x["action"] == "subject.read").map(|x| x["actor"].clone()))
            .unwrap_or(Value::Null);
        let token_id = token_id.as_str().and_then(|t| t.strip_prefix("token:")).ok_or("actor")?.to_string();
        let (_, v) = s.post(
            &dpo,
            "/api/v1/breaches",
            json!({"detected_at":"2026-11-25T09:00:00Z","nature":["confidentiality"],"description":"token leaked",
            "data_categories":["identity"],"scope":{"token": token_id, "from":"2026-01-01T00:00:00Z"}}),
        )?;
        assert_eq!(v["subjects_concerned"], 1, "the subjects that token read: {v}");
        assert_eq!(s.post(&dpo, "/api/v1/breaches", json!({"detected_at":"2026-11-25T09:00:00Z","nature":["theft"],"description":"x","data_categories":[],"scope":{"all":true}}))?.0, 400);
        assert_eq!(s.post(&dpo, "/api/v1/breaches", json!({"detected_at":"2026-11-25T09:00:00Z","nature":["integrity"],"description":"x","data_categories":[],"scope":{}}))?.0, 400);

        // The draft notification to the CNIL (Art. 33(3)), in JSON and in French.
        let (st, v) = s.get(&dpo, &format!("/api/v1/breaches/{id}/notification"), None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["subjects_concerned"], 2);
        assert_eq!(v["dpo"]["email"], "dpo-msi@racine.eu");
        assert_eq!(v["likely_consequences"], "phishing");
        let html = s
            .http
            .get(format!("{}/api/v1/breaches/{id}/notification?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        assert!(html.contains("Nombre approximatif de personnes concernées"), "{html}");

        // Detected more than 72 hours ago: a notification now is late and needs reasons.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/breaches/{id}/phases"),
            json!({"phase":"authority_notified","details":"sent via the CNIL form"}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("late_reasons")), "{v}");
        let (st, v) = s.post(&dpo, &format!("/api/v1/breaches/{id}/phases"), json!({"phase":"authority_notified","details":"sent via the CNIL form","late_reasons":"the theft was reported late by the employee"}))?;
        assert_eq!((st, v["late"].as_bool(), v["status"].as_str()), (200, Some(true), Some("notified")), "{v}");
        assert_eq!(v["phases"].as_array().map(Vec::len), Some(2));

        // High risk: the DPO has the subjects notified; each concerned subject with an email gets one notice.
        let (st, v) = s.post(&dpo, &format!("/api/v1/breaches/{id}/subjects"), json!({"decision":"notify"}))?;
        assert_eq!(st, 200, "{v}");
        assert!(v["subjects_information"].as_str().is_some_and(|t| t.contains("2 notices")), "{v}");
        let mail = smtp.wait_for(2);
        assert_eq!(mail.len(), 2, "{b:?}");
        assert!(mail.iter().any(|m| m.contains("hugo@example.fr") && m.contains("phishing")));
        assert!(!mail.iter().any(|m| m.contains("lea@example.fr")), "only the subjects concerned");
        let (_, list) = s.get(&dpo, "/api/v1/breaches", None)?;
        assert_eq!(list["breaches"].as_array().map(Vec::len), Some(3));
        assert_eq!(list["breaches"][2]["id"], id.as_str(), "the notified breach comes last");
        let (_, audit) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        assert!(!audit.to_string().contains("laptop"), "no breach text in the audit trail");
    }
    Ok(())
}
