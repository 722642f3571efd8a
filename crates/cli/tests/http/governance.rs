//! The policy and what is built from it: `policy check`, the privacy notice, the Art. 30 register, revisions.

use crate::support::{Backend, R, Server, Smtp, backends, camille, count, person, tamper, vigie};
use serde_json::{Value, json};
use std::path::Path;

#[test]
fn policy_check_reports_every_error_and_the_server_refuses_an_invalid_policy() -> R {
    let dir = std::env::temp_dir().join(format!("vigie-policy-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml");
    let out = vigie().args(["policy", "check"]).arg(&good).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("warning: controller.address is not stated"), "{text}");

    let bad = std::fs::read_to_string(&good)?
        .replace("bases = { prospect = \"legitimate_interest\" }", "bases = { prospect = \"contract\" }")
        .replace("\nyears = 3", "\nyears = 0");
    let path = dir.join("bad.toml");
    std::fs::write(&path, &bad)?;
    let out = vigie().args(["policy", "check"]).arg(&path).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap_or(0);
    assert!(text.contains(&format!("bad.toml:{}:", line_of("prospect = \"contract\""))), "{text}");
    assert!(text.contains(&format!("bad.toml:{}:", line_of("years = 0"))), "{text}");
    assert!(text.contains("2 error(s)"), "{text}");

    let out = vigie()
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--policy")
        .arg(&path)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()?;
    assert!(!out.status.success(), "the server refuses an invalid policy");
    assert!(String::from_utf8_lossy(&out.stderr).contains("the policy is invalid"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn the_privacy_notice_is_public_in_french_and_english() -> R {
    let s = Server::start(Backend::Sqlite)?;
    for (query, lang) in [("", "fr"), ("?lang=en", "en"), ("?lang=fr", "fr")] {
        // No token: the notice is public.
        let res = s.http.get(format!("{}/privacy{query}", s.base)).send()?;
        assert_eq!(res.status().as_u16(), 200, "{query}");
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert_eq!(header("content-type"), "text/html; charset=utf-8");
        assert_eq!(header("content-language"), lang);
        let body = res.text()?;
        assert!(body.starts_with("<!DOCTYPE html>") && body.contains(&format!("<html lang=\"{lang}\">")), "{body}");
        assert!(body.contains("dpo-msi@racine.eu"), "{body}");
    }
    let (st, v) = s.send(s.http.get(format!("{}/privacy?lang=de", s.base)))?;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["field"], "lang", "{v}");

    // The same notice as text on the command line, with no database.
    let nowhere = s.dir.join("no-data-dir");
    let out = vigie().arg("--data-dir").arg(&nowhere).args(["notice", "--lang", "en"]).output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("01 53 73 22 22") && text.contains("dpo-msi@racine.eu"), "{text}");
    assert!(!nowhere.exists(), "the notice needs no data directory");
    let out = vigie().arg("--data-dir").arg(&nowhere).args(["notice", "--lang", "xx"]).output()?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown language `xx`: expected `fr` or `en`"), "{err}");
    assert!(out.stdout.is_empty());
    Ok(())
}

#[test]
fn the_register_is_generated_from_the_policy_and_live_data() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let auditor = s.token("auditor", None)?;
        for i in 0..3 {
            s.create(&staff, person("Léa", &format!("lea{i}@example.fr"), "prospect"))?;
        }
        for i in 0..2 {
            s.create(&staff, person("Hugo", &format!("hugo{i}@example.fr"), "client"))?;
        }
        // A rights request: Vigie's own processing of it is in the register, with its count.
        let (st, v) = s.post(
            &dpo,
            "/api/v1/requests",
            json!({"kind":"access","received_at":"2026-01-31","channel":"email","requester":{"email":"lea0@example.fr"}}),
        )?;
        assert_eq!(st, 201, "{v}");
        let (st, v) = s.get(&dpo, "/api/v1/register", None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["policy_version"], "2026-1");
        assert_eq!(v["dpo"]["email"], "dpo-msi@racine.eu");
        assert_eq!(v["totals"]["total_subjects"], 5);
        assert_eq!(v["totals"]["subjects"], json!([{"kind":"client","count":2},{"kind":"prospect","count":3}]));
        let activities = v["activities"].as_array().ok_or("no activities")?;
        assert_eq!(activities.len(), 12, "every purpose, and Vigie's own processing");
        let ids: Vec<&str> =
            activities.iter().filter(|a| a["origin"] == "vigie").filter_map(|a| a["id"].as_str()).collect();
        assert_eq!(ids, ["suppression_list", "rights_requests", "breach_register", "audit_trail"]);
        let own = |id: &str| activities.iter().find(|a| a["id"] == id).cloned().unwrap_or(Value::Null);
        assert_eq!(own("rights_requests")["counts"]["total"], 1, "{b:?}");
        assert_eq!(own("rights_requests")["counts"]["details"][0], json!({"unit":"open_requests","count":1}));
        assert_eq!(own("rights_requests")["retention"][0]["years"], 5);
        assert_eq!(own("breach_register")["counts"]["total"], 0);
        let entries = count(&s, "SELECT count(*) FROM audit")?;
        let counted = own("audit_trail")["counts"]["total"].as_i64().unwrap_or(0);
        assert!(counted > 5 && counted <= entries, "every entry, this reading's included: {counted} of {entries}");
        // Created and last updated: the day the policy in force was first recorded (one version).
        for a in activities {
            let created = a["created_on"].as_str().unwrap_or_default();
            assert!(created >= "2026-01-01" && a["updated_on"] == created, "{a}");
        }
        let total = |id: &str| activities.iter().find(|a| a["id"] == id).map(|a| a["counts"]["total"].clone());
        assert_eq!(total("prospect_relations"), Some(json!(3)));
        assert_eq!(total("contract_management"), Some(json!(2)));
        assert_eq!(total("customer_service"), Some(json!(5)));
        assert_eq!(s.get(&auditor, "/api/v1/register", None)?.0, 200);
        assert_eq!(s.get(&staff, "/api/v1/register", None)?.0, 403);
        assert_eq!(s.get(&s.admin, "/api/v1/register", None)?.0, 403);
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'register.read'")?, 2, "{b:?}");
        let doc: Value = s.http.get(format!("{}/api/v1/openapi.json", s.base)).send()?.json()?;
        assert!(doc["paths"]["/api/v1/register"]["get"].is_object(), "the register is documented");
        assert!(doc["components"]["schemas"]["Register"].is_object());

        for format in ["xlsx", "csv", "json", "html"] {
            let file = s.dir.join(format!("register.{format}"));
            let out = s.cli().args(["register", "export", "--format", format, "--out"]).arg(&file).output()?;
            assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
            let bytes = std::fs::read(&file)?;
            assert!(!bytes.is_empty(), "{format}");
            match format {
                "xlsx" => assert!(bytes.starts_with(b"PK"), "xlsx is a zip"),
                "json" => assert_eq!(serde_json::from_slice::<Value>(&bytes)?["totals"]["total_subjects"], 5),
                "csv" => assert!(String::from_utf8(bytes)?.starts_with("Référence,Activité de traitement,")),
                _ => assert!(String::from_utf8(bytes)?.starts_with("<!DOCTYPE html>")),
            }
        }
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'register.read' AND actor = 'cli'")?, 4);
        let out = s.cli().args(["register", "export", "--format", "pdf", "--out"]).arg(s.dir.join("r.pdf")).output()?;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'pdf'"));
    }
    Ok(())
}

#[test]
fn policy_revisions_are_announced_before_they_take_effect() -> R {
    for b in backends() {
        let smtp = Smtp::start()?;
        smtp.refusing.store(true, std::sync::atomic::Ordering::SeqCst);
        let url = format!("smtp://127.0.0.1:{}", smtp.port);
        let s = Server::start_with(b, &["--smtp-url", &url, "--outbox-interval-ms", "100"])?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let a = s.create(&staff, camille())?;
        let b_id = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;

        let default = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"))?;
        let next = default
            .replace("version = \"2026-1\"", "version = \"2027-1\"")
            .replace("effective_date = \"2026-01-01\"", "effective_date = \"2099-01-01\"")
            .replace("years = 3", "years = 2");
        assert_eq!(s.post(&staff, "/api/v1/policy/versions", json!({"policy": next}))?.0, 403);
        let (st, v) =
            s.post(&dpo, "/api/v1/policy/versions", json!({"policy": next.replace("years = 2", "years = 0")}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("policy")), "an invalid revision is refused: {v}");
        let (st, v) = s.post(
            &dpo,
            "/api/v1/policy/versions",
            json!({"policy": default.replace("version = \"2026-1\"", "version = \"2026-9\"")}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("policy.effective_date")), "{v}");
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions", json!({"policy": next}))?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["notices_queued"], 2);
        let changes = v["changes"].as_array().ok_or("changes")?;
        assert!(
            changes.iter().any(|c| c["section"] == "retention"
                && c["item"] == "prospect"
                && c["after"].as_str().is_some_and(|a| a.starts_with("2 years"))),
            "{v}"
        );
        assert_eq!(
            s.post(&dpo, "/api/v1/policy/versions", json!({"policy": next}))?.0,
            409,
            "a version is uploaded once"
        );

        let (_, v) = s.get(&staff, "/api/v1/policy/versions", None)?;
        assert_eq!(v["current"], "2026-1");
        let pending = v["versions"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["version"] == "2027-1").cloned())
            .unwrap_or(Value::Null);
        assert_eq!(pending["status"], "pending");
        assert_eq!(pending["notices"]["pending"], 2);
        // Not before its date, and not before every notice is sent.
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions/2027-1/activate", json!({}))?;
        assert_eq!(st, 409, "{v}");
        tamper(&s, "UPDATE policy_versions SET effective_date = '2026-01-02' WHERE version = '2027-1'")?;
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions/2027-1/activate", json!({}))?;
        assert_eq!(st, 409, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains("2 of 2 notices")), "{v}");
        // The SMTP server was refusing: delivery is retried, and every subject is told once.
        std::thread::sleep(std::time::Duration::from_millis(400));
        let (_, v) = s.get(&dpo, "/api/v1/outbox?status=pending", None)?;
        assert!(v["messages"][0]["attempts"].as_i64().is_some_and(|n| n >= 1), "a failed attempt is recorded: {v}");
        assert!(v["messages"][0]["last_error"].is_string());
        smtp.refusing.store(false, std::sync::atomic::Ordering::SeqCst);
        tamper(&s, "UPDATE outbox SET next_attempt_at = created_at")?;
        let mail = smtp.wait_for(2);
        assert_eq!(mail.len(), 2, "{b:?}");
        assert!(mail.iter().any(|m| m.contains("hugo@example.fr") && m.contains("2027-1")));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions/2027-1/activate", json!({}))?;
        assert_eq!((st, v["status"].as_str()), (200, Some("active")), "{v}");
        let (_, v) = s.get(&staff, "/api/v1/policy", None)?;
        assert_eq!(v["version"], "2027-1");
        assert_eq!(v["retention"]["prospect"]["years"], 2);
        // Each subject records the versions it was told of.
        let (_, v) = s.get(&staff, &format!("/api/v1/subjects/{a}"), Some("prospect_relations"))?;
        assert_eq!(v["policy_notices"][0]["version"], "2027-1");
        assert_eq!(v["policy_notices"][0]["status"], "sent");
        assert_eq!(smtp.wait_for(0).len(), 2, "never sent twice");
        let _ = b_id;
    }
    Ok(())
}

#[test]
fn two_instances_delivering_one_outbox_under_load_send_each_notice_once() -> R {
    for b in backends() {
        let smtp = Smtp::start()?;
        let url = format!("smtp://127.0.0.1:{}", smtp.port);
        let flags = ["--smtp-url", url.as_str(), "--outbox-interval-ms", "20"];
        let s = Server::start_with(b, &flags)?;
        let mut second = crate::support::spawn(&s.dir, s.db_url.as_deref(), &flags)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let n = 120;
        for i in 0..n {
            s.create(&staff, person(&format!("P{i}"), &format!("p{i}@example.fr"), "prospect"))?;
        }
        let default = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"))?;
        let next = default
            .replace("version = \"2026-1\"", "version = \"2027-1\"")
            .replace("effective_date = \"2026-01-01\"", "effective_date = \"2099-01-01\"")
            .replace("years = 3", "years = 2");
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions", json!({"policy": next}))?;
        assert_eq!((st, v["notices_queued"].as_i64()), (201, Some(n)), "{v}");
        // Writes go on on both instances while they deliver.
        let bases = [s.base.clone(), second.1.clone()];
        let load: Vec<_> = (0..4)
            .map(|t| {
                let (base, staff) = (bases[t % 2].clone(), staff.clone());
                std::thread::spawn(move || -> Result<(), String> {
                    let http = reqwest::blocking::Client::new();
                    for i in 0..25 {
                        let body = json!({"kind":"prospect","identity":{"first_name":format!("L{t}x{i}")}});
                        let res = http
                            .post(format!("{base}/api/v1/subjects"))
                            .bearer_auth(&staff)
                            .json(&body)
                            .send()
                            .map_err(|e| e.to_string())?;
                        if res.status().as_u16() != 201 {
                            return Err(format!("create answered {}", res.status()));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for t in load {
            t.join().map_err(|_| "load thread")??;
        }
        // Two notices of tokens to the DPO (staff, dpo) and one per subject.
        let expected = usize::try_from(n)? + 2;
        let mail = smtp.wait_for_all(expected);
        std::thread::sleep(std::time::Duration::from_millis(500));
        let _ = second.0.kill();
        let _ = second.0.wait();
        let mail = if mail.len() < smtp.messages().len() { smtp.messages() } else { mail };
        let ids: std::collections::BTreeSet<String> = mail
            .iter()
            .filter_map(|m| m.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).map(str::to_string))
            .collect();
        assert_eq!(mail.len(), expected, "{b:?}: every notice delivered, none twice");
        assert_eq!(ids.len(), expected, "{b:?}: distinct messages");
        assert_eq!(
            count(&s, "SELECT count(*) FROM outbox WHERE status = 'sent' AND attempts = 1")?,
            i64::try_from(expected)?
        );
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'outbox.sent'")?, i64::try_from(expected)?);
    }
    Ok(())
}

/// Art. 6(4): a revision that adds a purpose is flagged in its diff and cannot take effect until
/// the DPO has assessed each flagged change compatible; a mere change of wording needs nothing.
#[test]
fn a_revision_adding_a_purpose_waits_for_the_dpo_s_compatibility_assessment() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let (staff, dpo) = (s.token("staff", None)?, s.token("dpo", None)?);
        let default = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"))?;
        let version = |v: &str| {
            default
                .replace("version = \"2026-1\"", &format!("version = \"{v}\""))
                .replace("effective_date = \"2026-01-01\"", "effective_date = \"2099-01-01\"")
        };
        let newsletter = "\n[[purposes]]\nid = \"newsletter\"\nname = { fr = \"Lettre d'information\", en = \"Newsletter\" }\nbases = { client = \"consent\", prospect = \"consent\" }\ndata_categories = [\"identity\", \"contact\"]\n";
        let (st, v) =
            s.post(&dpo, "/api/v1/policy/versions", json!({"policy": format!("{}{newsletter}", version("2027-1"))}))?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(
            v["compatibility_assessment_required"],
            json!([
                {"purpose":"newsletter","kind":"client","from":null,"to":"consent"},
                {"purpose":"newsletter","kind":"prospect","from":null,"to":"consent"}
            ]),
            "{v}"
        );
        // Its date has come and no notice waits (no subject): only the assessment is missing.
        tamper(&s, "UPDATE policy_versions SET effective_date = '2026-01-02' WHERE version = '2027-1'")?;
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions/2027-1/activate", json!({}))?;
        assert_eq!(st, 409, "{v}");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("no compatibility assessment (Art. 6(4))")
                && detail.contains("purpose `newsletter` for prospect (none → consent)"),
            "{v}"
        );
        let versions = |s: &Server| -> R<Value> {
            let (_, v) = s.get(&staff, "/api/v1/policy/versions", None)?;
            Ok(v["versions"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["version"] == "2027-1").cloned())
                .unwrap_or(Value::Null))
        };
        assert_eq!(versions(&s)?["missing_assessments"].as_array().map(Vec::len), Some(2));

        // Bad assessments: refused, naming the field, nothing recorded.
        let reasoning = "Finalité nouvelle, fondée sur un consentement distinct recueilli avant tout envoi.";
        let url = "/api/v1/policy/versions/2027-1/assessments";
        assert_eq!(s.post(&staff, url, json!({"compatible":true,"reasoning":reasoning}))?.0, 403);
        assert_eq!(
            s.post(
                &dpo,
                "/api/v1/policy/versions/2031-9/assessments",
                json!({"compatible":true,"reasoning":reasoning})
            )?
            .0,
            404
        );
        for (body, field) in [
            (json!({"purpose":"newsletter","compatible":true,"reasoning":reasoning}), "kind"),
            (json!({"kind":"client","compatible":true,"reasoning":reasoning}), "purpose"),
            (json!({"purpose":"events","kind":"client","compatible":true,"reasoning":reasoning}), "purpose"),
            (json!({"purpose":"newsletter","kind":"partner","compatible":true,"reasoning":reasoning}), "kind"),
            (
                json!({"purpose":"Lettre d'information","kind":"client","compatible":true,"reasoning":reasoning}),
                "purpose",
            ),
            (json!({"purpose":"newsletter","kind":"client","compatible":true,"reasoning":"  "}), "reasoning"),
        ] {
            let (st, v) = s.post(&dpo, url, body.clone())?;
            assert_eq!((st, v["field"].as_str()), (400, Some(field)), "{body}: {v}");
            assert!(!v.to_string().contains("Lettre d'information"), "never echoed: {v}");
        }
        let (st, v) = s.post(&dpo, url, json!({"purpose":"newsletter","kind":"client","reasoning":reasoning}))?;
        assert_eq!(st, 400, "compatible is required: {v}");
        assert_eq!(count(&s, "SELECT count(*) FROM policy_assessments")?, 0);

        // One change assessed: still refused, naming the other.
        let (st, v) =
            s.post(&dpo, url, json!({"purpose":"newsletter","kind":"client","compatible":true,"reasoning":reasoning}))?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(
            v["missing_assessments"],
            json!([{"purpose":"newsletter","kind":"prospect","from":null,"to":"consent"}])
        );
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions/2027-1/activate", json!({}))?;
        assert_eq!(st, 409, "{v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.contains("for prospect") && !d.contains("for client")), "{v}");
        // Assessed incompatible: refused, the DPO must amend the revision.
        let (st, _) = s.post(&dpo, url, json!({"purpose":"newsletter","kind":"prospect","compatible":false,"reasoning":"Les prospects ne s'y attendent pas."}))?;
        assert_eq!(st, 201);
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions/2027-1/activate", json!({}))?;
        assert_eq!(st, 409, "{v}");
        assert!(
            v["detail"]
                .as_str()
                .is_some_and(|d| d.contains("assessed as incompatible") && d.contains("amend the revision")),
            "{v}"
        );
        // Every change at once, compatible: the version takes effect.
        let (st, v) = s.post(&dpo, url, json!({"compatible":true,"reasoning":reasoning}))?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["assessments"].as_array().map(Vec::len), Some(2), "replaced, not added: {v}");
        assert!(v["missing_assessments"].as_array().is_some_and(Vec::is_empty), "{v}");
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions/2027-1/activate", json!({}))?;
        assert_eq!((st, v["status"].as_str()), (200, Some("active")), "{v}");
        assert_eq!(v["assessments"][0]["reasoning"], reasoning, "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'policy.assessment'")?, 3, "{b:?}");
        assert_eq!(
            count(&s, &format!("SELECT count(*) FROM audit WHERE detail LIKE '%{}%'", &reasoning[..20]))?,
            0,
            "the reasoning stays out of the trail"
        );
        let (st, v) = s.post(&dpo, url, json!({"compatible":true,"reasoning":reasoning}))?;
        assert_eq!(st, 409, "a version in force is not assessed again: {v}");
        // The register shows them in the new purpose's record.
        let (_, reg) = s.get(&dpo, "/api/v1/register", None)?;
        let news = reg["activities"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == "newsletter").cloned())
            .unwrap_or(Value::Null);
        assert_eq!(news["compatibility_assessments"].as_array().map(Vec::len), Some(2), "{news}");
        assert_eq!(news["compatibility_assessments"][0]["version"], "2027-1");

        // A mere change of wording: nothing flagged, nothing to assess, it takes effect.
        let reworded =
            format!("{}{}", version("2027-2"), newsletter.replace("Lettre d'information", "Lettre d'actualités"));
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions", json!({"policy": reworded}))?;
        assert_eq!((st, v["compatibility_assessment_required"].clone()), (201, json!([])), "{v}");
        let (st, v) = s.post(
            &dpo,
            "/api/v1/policy/versions/2027-2/assessments",
            json!({"compatible":true,"reasoning":reasoning}),
        )?;
        assert_eq!(st, 409, "nothing to assess: {v}");
        tamper(&s, "UPDATE policy_versions SET effective_date = '2026-01-03' WHERE version = '2027-2'")?;
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions/2027-2/activate", json!({}))?;
        assert_eq!((st, v["status"].as_str()), (200, Some("active")), "{v}");
        let (_, v) = s.get(&staff, "/api/v1/policy", None)?;
        assert_eq!(
            v["purposes"].as_array().and_then(|a| a.last()).map(|p| p["name"]["fr"].clone()),
            Some(json!("Lettre d'actualités"))
        );
    }
    Ok(())
}
