//! Recipients, transfers outside the EEA, safeguards and disclosures.

use crate::support::{R, Server, Smtp, backends, camille};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The default policy with its external recipients moved: the accountant stays
/// in France (EEA), the ERP goes to Japan (adequacy), the subcontractor to India.
fn world_policy(dir: &Path) -> R<PathBuf> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"))?;
    let mut out = String::new();
    let mut current = "";
    for line in text.lines() {
        if let Some(id) = line.strip_prefix("id = \"").and_then(|l| l.strip_suffix('"')) {
            current = match id {
                "saas_erp" => "JP",
                "subcontractor" => "IN",
                _ => "",
            };
        }
        if line == "country = \"FR\"" && !current.is_empty() {
            out.push_str(&format!("country = \"{current}\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let path = dir.join("world.toml");
    std::fs::write(&path, out)?;
    Ok(path)
}

#[test]
fn transfers_outside_the_eea_need_adequacy_or_a_safeguard() -> R {
    for b in backends() {
        let dir = std::env::temp_dir().join(format!("vigie-world-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let policy = world_policy(&dir)?;
        let smtp = Smtp::start()?;
        let url = format!("smtp://127.0.0.1:{}", smtp.port);
        let s = Server::start_with(
            b,
            &["--policy", policy.to_str().ok_or("path")?, "--smtp-url", &url, "--outbox-interval-ms", "100"],
        )?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let id = s.create(&staff, camille())?;
        s.post(&staff, &format!("/api/v1/subjects/{id}/contracts"), json!({"reference":"C-1","start":"2024-01-01"}))?;
        let quiet =
            s.create(&staff, json!({"kind":"client","identity":{"first_name":"Sans","last_name":"Adresse"}}))?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{quiet}/contracts"),
            json!({"reference":"C-2","start":"2024-01-01"}),
        )?;

        let (st, v) = s.get(&staff, "/api/v1/recipients", None)?;
        assert_eq!(st, 200, "{v}");
        let find = |v: &Value, id: &str| {
            v["recipients"].as_array().and_then(|a| a.iter().find(|r| r["id"] == id).cloned()).unwrap_or(Value::Null)
        };
        assert_eq!(find(&v, "accountant")["transfer"]["ground"], "eea");
        assert_eq!(find(&v, "saas_erp")["transfer"]["ground"], "adequacy");
        assert!(find(&v, "saas_erp")["transfer"]["basis"].as_str().is_some_and(|b| b.contains("2019/419")));
        assert_eq!(find(&v, "subcontractor")["transfer"]["allowed"], false);
        assert!(v["adequacy_list_as_of"].is_string());

        // Reads by recipient tokens: France and Japan allowed, India refused with the reason.
        let erp = s.token("recipient", Some("saas_erp"))?;
        let sub = s.token("recipient", Some("subcontractor"))?;
        assert_eq!(s.get(&erp, &format!("/api/v1/subjects/{id}"), Some("service_delivery"))?.0, 200);
        let (st, v) = s.get(&sub, &format!("/api/v1/subjects/{id}"), Some("service_delivery"))?;
        assert_eq!((st, v["type"].as_str()), (403, Some("urn:vigie:problem:transfer-refused")), "{b:?} {v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains("IN is outside the EEA")), "{v}");
        // An explicit disclosure is checked the same way.
        let disclose = |recipient: &str| {
            s.post(&staff, "/api/v1/disclosures", json!({"recipient":recipient,"subject_id":id,"purpose":"service_delivery","fields":["email","last_name"]}))
        };
        let (st, v) = disclose("subcontractor")?;
        assert_eq!((st, v["type"].as_str()), (403, Some("urn:vigie:problem:transfer-refused")), "{v}");
        let (st, v) = s.post(
            &staff,
            "/api/v1/disclosures",
            json!({"recipient":"accountant","subject_id":id,"purpose":"service_delivery","fields":["email"]}),
        )?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("role_not_recipient")), "{v}");
        let (st, v) = s.post(
            &staff,
            "/api/v1/disclosures",
            json!({"recipient":"saas_erp","subject_id":id,"purpose":"service_delivery","fields":["notes"]}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("fields")), "{v}");
        // Activation is refused while the transfer is not allowed.
        let (st, v) = s.post(&dpo, "/api/v1/recipients/subcontractor/transfer", json!({}))?;
        assert_eq!((st, v["type"].as_str()), (403, Some("urn:vigie:problem:transfer-refused")), "{v}");

        // A safeguard's reference is free text, checked as such: nothing is recorded on a refusal.
        for bad in [json!(""), json!("  "), json!("SCC\u{0007}"), json!("x".repeat(501)), json!(12)] {
            let (st, v) = s.post(
                &dpo,
                "/api/v1/recipients/subcontractor/safeguards",
                json!({"kind":"scc","signed_on":"2026-01-15","reference":bad}),
            )?;
            assert_eq!(st, 400, "{bad}: {v}");
            assert!(v["field"] == "reference" || v["detail"].as_str().is_some_and(|d| d.contains("reference")), "{v}");
        }
        let (_, v) = s.get(&staff, "/api/v1/recipients", None)?;
        assert_eq!(find(&v, "subcontractor")["safeguards"], json!([]), "{v}");
        // Standard contractual clauses make India allowed; the register cites their document.
        let (st, v) = s.post(
            &dpo,
            "/api/v1/recipients/subcontractor/safeguards",
            json!({"kind":"scc","signed_on":"2026-01-15","reference":"SCC 2021/914, module 2, copie signée A-17"}),
        )?;
        assert_eq!((st, v["reference"].as_str()), (201, Some("SCC 2021/914, module 2, copie signée A-17")), "{v}");
        let (_, v) = s.get(&staff, "/api/v1/recipients", None)?;
        assert_eq!(
            find(&v, "subcontractor")["safeguards"][0]["reference"],
            "SCC 2021/914, module 2, copie signée A-17"
        );
        let (st, v) = s.get(&dpo, "/api/v1/register", None)?;
        assert_eq!(st, 200, "{v}");
        let delivery =
            v["activities"].as_array().and_then(|a| a.iter().find(|x| x["id"] == "service_delivery").cloned());
        let transfer = delivery
            .and_then(|d| {
                d["transfers"].as_array().and_then(|t| t.iter().find(|x| x["recipient_id"] == "subcontractor").cloned())
            })
            .unwrap_or(Value::Null);
        assert_eq!(transfer["status"], "safeguard", "{transfer}");
        assert_eq!(transfer["safeguard_reference"], "SCC 2021/914, module 2, copie signée A-17", "{transfer}");
        assert!(transfer["label"]["fr"].as_str().is_some_and(|l| l.contains("clauses contractuelles types signées le 15 janvier 2026 (document : SCC 2021/914, module 2, copie signée A-17)")), "{transfer}");
        let out =
            s.cli().args(["register", "export", "--format", "html", "--out"]).arg(s.dir.join("r.html")).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let page = std::fs::read_to_string(s.dir.join("r.html"))?;
        assert!(page.contains("(document : SCC 2021/914, module 2, copie signée A-17)"), "{page}");
        assert_eq!(
            s.post(
                &dpo,
                "/api/v1/recipients/subcontractor/safeguards",
                json!({"kind":"promise","signed_on":"2026-01-15"})
            )?
            .0,
            400
        );
        assert_eq!(
            s.post(
                &staff,
                "/api/v1/recipients/subcontractor/safeguards",
                json!({"kind":"scc","signed_on":"2026-01-15"})
            )?
            .0,
            403
        );
        assert_eq!(s.get(&sub, &format!("/api/v1/subjects/{id}"), Some("service_delivery"))?.0, 200);
        let (st, v) = disclose("subcontractor")?;
        assert_eq!(st, 201, "{v}");
        let (_, v) = s.get(&dpo, "/api/v1/disclosures?recipient=subcontractor", None)?;
        assert_eq!(v["disclosures"].as_array().map(Vec::len), Some(2), "the read and the explicit disclosure: {v}");
        let (_, v) = s.get(&dpo, &format!("/api/v1/disclosures?subject_id={id}"), None)?;
        assert_eq!(v["disclosures"].as_array().map(Vec::len), Some(3), "{v}");

        // Activating the transfer tells every subject concerned, by SMTP, once.
        let (st, v) = s.post(&dpo, "/api/v1/recipients/subcontractor/transfer", json!({}))?;
        assert_eq!((st, v["notices_queued"].as_u64()), (201, Some(1)), "one subject with an email address: {v}");
        assert_eq!(s.post(&dpo, "/api/v1/recipients/subcontractor/transfer", json!({}))?.0, 409);
        assert_eq!(s.post(&dpo, "/api/v1/recipients/accountant/transfer", json!({}))?.0, 400, "France is no transfer");
        let mail = smtp.wait_for(1);
        assert_eq!(mail.len(), 1, "{b:?}");
        assert!(mail[0].contains("camille.martin@example.fr") && mail[0].contains("Message-ID"), "{}", mail[0]);
        // The SMTP server has the message before the outbox records it as sent: wait for the record.
        let mut v = Value::Null;
        for _ in 0..100 {
            v = s.get(&dpo, "/api/v1/outbox?status=sent", None)?.1;
            if v["messages"][0]["template"] == "transfer_notice" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(v["messages"][0]["template"], "transfer_notice", "{v}");
        assert!(!v.to_string().contains("camille"), "the outbox holds no personal value");
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert_eq!(smtp.wait_for(0).len(), 1, "never sent twice");
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
