//! End-to-end tests: the real `vigie` binary, a real server on a real port,
//! real SQLite and PostgreSQL, a real HTTP client. Every scenario runs on
//! every backend: SQLite always, PostgreSQL when `VIGIE_TEST_DATABASE_URL`
//! names a server (required when `CI` is set).

use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    match std::env::var("VIGIE_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => v.push(Backend::Postgres),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "VIGIE_TEST_DATABASE_URL must be set in CI: the HTTP tests run on PostgreSQL too"
            );
            eprintln!("note: VIGIE_TEST_DATABASE_URL is not set; PostgreSQL scenarios skipped locally");
        }
    }
    v
}

struct Server {
    child: Child,
    base: String,
    admin: String,
    dir: PathBuf,
    db_url: Option<String>,
    guard: Option<vigie_store_postgres::testing::DropGuard>,
    http: Client,
    backend: Backend,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.guard.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn vigie() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigie"));
    c.env_remove("VIGIE_DATABASE_URL")
        .env_remove("VIGIE_DATA_DIR")
        .env_remove("VIGIE_POLICY_FILE")
        .env_remove("VIGIE_MASTER_KEY_FILE");
    c
}

/// Starts `vigie serve` on port 0 and reads its address (and first admin token) from its output.
/// The daily sweep is off unless `extra` sets it, so that no test races it.
fn spawn(dir: &Path, db_url: Option<&str>, extra: &[&str]) -> R<(Child, String, String)> {
    let mut cmd = vigie();
    cmd.arg("--data-dir").arg(dir.join("data"));
    if let Some(u) = db_url {
        cmd.env("VIGIE_DATABASE_URL", u);
    }
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log"))?;
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("VIGIE_LOG", "debug")
        .env("VIGIE_RETENTION_SWEEP_AT", "off")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut admin = String::new();
    let mut base = String::new();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(t) = line.strip_prefix("vigie: first admin token (shown once): ") {
            admin = t.to_string();
        }
        if let Some(a) = line.strip_prefix("vigie: listening on ") {
            base = a.to_string();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    if base.is_empty() {
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        return Err(format!("the server did not start: {log}").into());
    }
    Ok((child, base, admin))
}

impl Server {
    fn start(backend: Backend) -> R<Server> {
        Server::start_with(backend, &[])
    }

    fn start_with(backend: Backend, extra: &[&str]) -> R<Server> {
        let dir = std::env::temp_dir().join(format!("vigie-test-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let (db_url, guard) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let server = std::env::var("VIGIE_TEST_DATABASE_URL")?;
                let (url, guard) = vigie_store_postgres::testing::fresh_database(&server)?;
                (Some(url), Some(guard))
            }
        };
        let (child, base, admin) = spawn(&dir, db_url.as_deref(), extra)?;
        let http = Client::builder().build()?;
        Ok(Server { child, base, admin, dir, db_url, guard, http, backend })
    }

    /// Stops the server and starts it again on the same data, with other flags.
    fn restart(&mut self, extra: &[&str]) -> R {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, base, _) = spawn(&self.dir, self.db_url.as_deref(), extra)?;
        self.child = child;
        self.base = base;
        Ok(())
    }

    /// The `vigie` command on this server's data directory and database.
    fn cli(&self) -> Command {
        let mut c = vigie();
        c.arg("--data-dir").arg(self.dir.join("data"));
        if let Some(u) = &self.db_url {
            c.env("VIGIE_DATABASE_URL", u);
        }
        c
    }

    fn token(&self, role: &str, recipient: Option<&str>) -> R<String> {
        let mut c = self.cli();
        c.args(["token", "create", "--role", role]);
        if let Some(r) = recipient {
            c.args(["--recipient", r]);
        }
        let out = c.output()?;
        assert!(out.status.success(), "token create failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout)?;
        assert_eq!(text.lines().count(), 1, "the token alone on one line");
        Ok(text.trim().to_string())
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> R<(u16, Value)> {
        let res = req.send()?;
        let status = res.status().as_u16();
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body = res.text()?;
        if status >= 400 {
            assert_eq!(ct, "application/problem+json", "errors are problem+json: {status} {body}");
        }
        let value =
            if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap_or(Value::String(body)) };
        Ok((status, value))
    }

    fn post(&self, token: &str, path: &str, body: Value) -> R<(u16, Value)> {
        self.send(self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body))
    }

    fn get(&self, token: &str, path: &str, purpose: Option<&str>) -> R<(u16, Value)> {
        let mut req = self.http.get(format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(p) = purpose {
            req = req.header("Vigie-Purpose", p);
        }
        self.send(req)
    }

    fn create(&self, token: &str, body: Value) -> R<String> {
        let (status, v) = self.post(token, "/api/v1/subjects", body)?;
        assert_eq!(status, 201, "{v}");
        Ok(v["id"].as_str().ok_or("no id")?.to_string())
    }

    fn audit_entries(&self) -> R<u64> {
        let out = self.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout)?;
        Ok(text.split_whitespace().find_map(|w| w.parse().ok()).ok_or("no count")?)
    }
}

fn camille() -> Value {
    json!({"kind":"prospect","collected_at":"2023-06-01T09:00:00Z","provenance":"provided",
           "identity":{"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr",
                       "phone":"+33612345678","company":"Atelier Martin","job_title":"Gérante"}})
}

fn person(first: &str, email: &str, kind: &str) -> Value {
    json!({"kind": kind, "identity": {"first_name": first, "last_name": "Durand", "email": email}})
}

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
        let (st, v) = s.get(&erp, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("archived")), "{v}");
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
fn tokens_are_created_by_the_cli_and_the_admin_only() -> R {
    let s = Server::start(Backend::Sqlite)?;
    let token = s.token("auditor", None)?;
    assert!(token.starts_with("vigie_") && token.len() == 70, "{token}");
    for (args, needle) in [
        (vec!["--role", "root"], "is not a role"),
        (vec!["--role", "recipient"], "must name the policy recipient"),
        (vec!["--role", "recipient", "--recipient", "nsa"], "is not a recipient of the policy"),
        (vec!["--role", "recipient", "--recipient", "staff"], "internal recipient"),
        (vec!["--role", "staff", "--recipient", "accountant"], "only a token of the recipient role"),
    ] {
        let out = s.cli().args(["token", "create"]).args(&args).output()?;
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    let (st, v) = s.post(&s.admin, "/api/v1/tokens", json!({"role":"recipient","recipient":"saas_erp"}))?;
    assert_eq!(st, 201, "{v}");
    let erp = v["token"].as_str().ok_or("token")?;
    assert_eq!(s.get(erp, "/api/v1/policy", None)?.0, 200);
    assert_eq!(s.post(&token, "/api/v1/tokens", json!({"role":"admin"}))?.0, 403);
    assert_eq!(s.post(&s.admin, "/api/v1/tokens", json!({"role":"god"}))?.0, 400);
    Ok(())
}

/// Runs SQL against the server's database, outside Vigie, as an attacker with database access would.
fn tamper(s: &Server, sql: &str) -> R {
    match s.backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(s.dir.join("data").join("vigie.db"))?;
            conn.execute_batch(sql)?;
        }
        Backend::Postgres => {
            let url = s.db_url.clone().ok_or("url")?;
            let sql = sql.to_string();
            std::thread::spawn(move || -> Result<(), String> {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
                c.batch_execute(&sql).map_err(|e| e.to_string())
            })
            .join()
            .map_err(|_| "thread")??;
        }
    }
    Ok(())
}

fn verify(s: &Server) -> R<(bool, String)> {
    let out = s.cli().args(["audit", "verify"]).output()?;
    Ok((
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    ))
}

#[test]
fn audit_verify_names_altered_removed_and_reordered_entries() -> R {
    for b in backends() {
        for (case, sql, needle) in [
            ("altered", "UPDATE audit SET purpose = 'events' WHERE seq = 3", "entry 3"),
            ("removed", "DELETE FROM audit WHERE seq = 4", "entries 4 to 4 are missing"),
            (
                "truncated",
                "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)",
                "missing (removed from the end)",
            ),
            (
                "reordered",
                "UPDATE audit SET seq = -seq WHERE seq IN (5, 6); UPDATE audit SET seq = 11 + seq WHERE seq IN (-5, -6);",
                "entry 5",
            ),
            (
                "tail cut, head moved back to the new last entry",
                "DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit);
                 UPDATE audit_head SET seq = (SELECT max(seq) FROM audit),
                   hash = (SELECT hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)) WHERE id = 1;",
                "does not carry its MAC",
            ),
            (
                "tail cut, head moved back, its MAC removed",
                "DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit);
                 UPDATE audit_head SET seq = (SELECT max(seq) FROM audit), mac = NULL,
                   hash = (SELECT hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)) WHERE id = 1;",
                "does not carry its MAC",
            ),
            (
                "emptied, head reset",
                "DELETE FROM audit; UPDATE audit_head SET seq = 0, hash = ZEROS, mac = NULL;",
                "the trail is empty, but the installation is not",
            ),
        ] {
            let s = Server::start(b)?;
            let staff = s.token("staff", None)?;
            for i in 0..4 {
                let id = s.create(&staff, person("Léa", &format!("lea{i}@example.fr"), "prospect"))?;
                s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?;
            }
            let (ok, text) = verify(&s)?;
            assert!(ok, "{b:?} {case}: {text}");
            assert_eq!(s.get(&s.admin, "/api/v1/audit/verify", None)?.1["valid"], true);
            let zeros = if b == Backend::Sqlite { "zeroblob(32)" } else { "decode(repeat('00', 32), 'hex')" };
            tamper(&s, &sql.replace("ZEROS", zeros))?;
            let (ok, text) = verify(&s)?;
            assert!(!ok, "{b:?} {case}: tampering must be detected: {text}");
            assert!(text.contains(needle), "{b:?} {case}: {text}");
        }
    }
    Ok(())
}

/// Issue 9: a checkpoint kept outside Vigie proves the trail was not rolled back to an
/// older, internally consistent copy of the whole database.
#[test]
fn an_audit_checkpoint_detects_a_rolled_back_database() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        s.create(&staff, camille())?;
        // An old copy of the whole database, taken while stopped.
        let _ = s.child.kill();
        let _ = s.child.wait();
        let data = s.dir.join("data");
        let old_url = match b {
            Backend::Sqlite => {
                for f in ["vigie.db", "vigie.db-wal"] {
                    if data.join(f).exists() {
                        std::fs::copy(data.join(f), s.dir.join(f))?;
                    }
                }
                None
            }
            Backend::Postgres => {
                let url = s.db_url.clone().ok_or("url")?;
                let name = url.rsplit('/').next().ok_or("db name")?.to_string();
                let old = format!("{name}_old");
                let admin = std::env::var("VIGIE_TEST_DATABASE_URL")?;
                let sql = format!("CREATE DATABASE {old} TEMPLATE {name}");
                std::thread::spawn(move || -> Result<(), String> {
                    let mut c = postgres::Client::connect(&admin, postgres::NoTls).map_err(|e| e.to_string())?;
                    c.batch_execute(&sql).map_err(|e| e.to_string())
                })
                .join()
                .map_err(|_| "thread")??;
                Some(url.replace(&format!("/{name}"), &format!("/{old}")))
            }
        };
        s.restart(&[])?;
        s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        let out = s.cli().args(["audit", "checkpoint"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cp_text = String::from_utf8(out.stdout)?;
        let cp: Value = serde_json::from_str(cp_text.trim())?;
        assert!(cp["seq"].as_i64().is_some_and(|n| n > 0) && cp["mac"].as_str().is_some(), "{cp}");
        let cp_file = s.dir.join("checkpoint.json");
        std::fs::write(&cp_file, &cp_text)?;
        s.create(&staff, person("Inès", "ines@example.fr", "prospect"))?;
        let verify_cp = |c: &mut Command| -> R<(bool, String)> {
            let out = c.args(["audit", "verify", "--checkpoint"]).arg(&cp_file).output()?;
            Ok((
                out.status.success(),
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            ))
        };
        let (ok, text) = verify_cp(&mut s.cli())?;
        assert!(ok && text.contains("extends the checkpoint"), "{b:?}: {text}");
        // A forged checkpoint is refused.
        let forged = cp_text.replace(cp["hash"].as_str().unwrap_or("x"), &"0".repeat(64));
        std::fs::write(s.dir.join("forged.json"), forged)?;
        let out = s.cli().args(["audit", "verify", "--checkpoint"]).arg(s.dir.join("forged.json")).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not genuine"));
        // The old copy back: internally valid, but it does not extend the checkpoint.
        let _ = s.child.kill();
        let _ = s.child.wait();
        let mut cli = s.cli();
        match &old_url {
            None => {
                let _ = std::fs::remove_file(data.join("vigie.db-wal"));
                let _ = std::fs::remove_file(data.join("vigie.db-shm"));
                for f in ["vigie.db", "vigie.db-wal"] {
                    if s.dir.join(f).exists() {
                        std::fs::copy(s.dir.join(f), data.join(f))?;
                    }
                }
            }
            Some(u) => {
                cli.env("VIGIE_DATABASE_URL", u);
            }
        }
        let out = s
            .cli()
            .args(["audit", "verify"])
            .envs(old_url.iter().map(|u| ("VIGIE_DATABASE_URL", u.as_str())))
            .output()?;
        assert!(
            out.status.success(),
            "{b:?}: the old copy is consistent on its own: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (ok, text) = verify_cp(&mut cli)?;
        assert!(!ok && text.contains("rolled back"), "{b:?}: {text}");
        if let Some(u) = old_url {
            let name = u.rsplit('/').next().unwrap_or_default().to_string();
            let admin = std::env::var("VIGIE_TEST_DATABASE_URL")?;
            let _ = std::thread::spawn(move || {
                if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            })
            .join();
        }
    }
    Ok(())
}

/// Every file below `dir`, read whole.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_personal_value_at_rest_or_in_the_logs() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let id = s.create(&staff, camille())?;
        s.post(&staff, &format!("/api/v1/subjects/{id}/interactions"), json!({"at":"2023-06-15T10:00:00Z","direction":"inbound","channel":"email","summary":"Rappeler Atelier Martin"}))?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/contracts"),
            json!({"reference":"C-MARTIN-42","start":"2024-01-01"}),
        )?;
        s.get(&staff, "/api/v1/subjects?email=camille.martin%40example.fr", Some("customer_service"))?;
        s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("events"))?;
        s.post(&staff, "/api/v1/subjects", json!({"kind":"prospect","identity":{"email":"camille.martin@"}}))?;
        let secrets: [&[u8]; 6] =
            [b"Camille", b"camille.martin", b"612345678", b"Atelier Martin", b"C-MARTIN-42", b"Rappeler"];
        // Stop the server so every file is complete, then read every byte it left.
        let _ = Command::new("kill").arg("-TERM").arg(s.child.id().to_string()).status();
        std::thread::sleep(std::time::Duration::from_millis(500));
        for (path, bytes) in files(&s.dir) {
            for secret in secrets {
                assert!(!contains(&bytes, secret), "{b:?}: {} holds a personal value", path.display());
            }
        }
        let log = std::fs::read_to_string(s.dir.join("server.log"))?;
        assert!(log.contains("/api/v1/subjects"), "the log records requests: {log}");
        if b == Backend::Postgres {
            let url = s.db_url.clone().ok_or("url")?;
            let dump = std::thread::spawn(move || -> Result<String, String> {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
                let tables: Vec<String> = c
                    .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", &[])
                    .map_err(|e| e.to_string())?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let mut all = String::new();
                for t in tables {
                    for row in c.query(&format!("SELECT t::text FROM {t} t"), &[]).map_err(|e| e.to_string())? {
                        all.push_str(row.get::<_, &str>(0));
                    }
                }
                Ok(all)
            })
            .join()
            .map_err(|_| "thread")??;
            for secret in secrets {
                let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
                assert!(
                    !contains(dump.as_bytes(), secret) && !dump.contains(&hex),
                    "{b:?}: the database holds a personal value"
                );
            }
            assert!(dump.contains("subject.read"), "the dump covers the audit table");
        }
    }
    Ok(())
}

#[test]
fn master_key_and_data_dir_are_private() -> R {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start(Backend::Sqlite)?;
    let key = std::fs::metadata(s.dir.join("data").join("master.key"))?;
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    let dir = std::fs::metadata(s.dir.join("data"))?;
    assert_eq!(dir.permissions().mode() & 0o077, 0);
    // The key can live elsewhere, named by VIGIE_MASTER_KEY_FILE; a missing one is an error.
    let out = s.cli().env("VIGIE_MASTER_KEY_FILE", s.dir.join("absent.key")).args(["audit", "verify"]).output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    Ok(())
}

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
        .replace("years = 3", "years = 0");
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
fn import_is_all_or_nothing_and_reports_lines() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let csv = s.dir.join("people.csv");
        std::fs::write(
            &csv,
            "kind;first_name;last_name;email;phone\n\
             prospect;Léa;Petit;lea.petit@example.fr;06 11 22 33 44\n\
             client;Hugo;Bernard;not-an-email;\n\
             prospect;Inès;Moreau;ines@example.fr;\n\
             lead;Jade;Roux;jade@example.fr;\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("people.csv:3: identity.email"), "{err}");
        assert!(err.contains("people.csv:5: kind"), "{err}");
        assert!(!err.contains("not-an-email"), "no value in errors: {err}");
        let found = s.get(&staff, "/api/v1/subjects?email=lea.petit%40example.fr", Some("prospect_relations"))?;
        assert_eq!(found.1["subjects"].as_array().map(Vec::len), Some(0), "nothing imported");

        let out = s.cli().arg("import").arg("--skip-invalid").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 subject(s), rejected 2 row(s)"));
        let (st, v) = s.get(&staff, "/api/v1/subjects?phone=%2B33611223344", Some("prospect_relations"))?;
        assert_eq!(st, 200);
        assert_eq!(v["subjects"][0]["identity"]["last_name"], "Petit");

        let bad_header = s.dir.join("bad.csv");
        std::fs::write(&bad_header, "kind,first_name,shoe_size\nprospect,Léa,38\n")?;
        let out = s.cli().arg("import").arg(&bad_header).output()?;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("column `shoe_size`"));
        let latin1 = s.dir.join("latin1.csv");
        std::fs::write(&latin1, b"kind,first_name\nprospect,L\xe9a\n")?;
        let out = s.cli().arg("import").arg(&latin1).output()?;
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("latin1.csv:2: the row is not valid UTF-8"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(s.audit_entries()? > 2);
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
    let res = s.http.get(format!("{}/api/v1/docs/", s.base)).send()?;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text()?.contains("swagger"), "an interactive viewer");
    Ok(())
}

/// A count from the server's database, read outside Vigie.
fn count(s: &Server, sql: &str) -> R<i64> {
    match s.backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(s.dir.join("data").join("vigie.db"))?;
            Ok(conn.query_row(sql, [], |r| r.get(0))?)
        }
        Backend::Postgres => {
            let (url, sql) = (s.db_url.clone().ok_or("url")?, sql.to_string());
            Ok(std::thread::spawn(move || -> Result<i64, String> {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
                c.query_one(&sql, &[]).map(|r| r.get(0)).map_err(|e| e.to_string())
            })
            .join()
            .map_err(|_| "thread")??)
        }
    }
}

fn delete(s: &Server, token: &str, path: &str, body: Value) -> R<(u16, Value)> {
    s.send(s.http.delete(format!("{}{path}", s.base)).bearer_auth(token).json(&body))
}

#[test]
fn retention_plans_and_erases_on_the_policy_clocks() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let subject = |first: &str, kind: &str, collected: &str| {
            s.create(&staff, json!({"kind": kind, "collected_at": collected, "identity": {"first_name": first, "email": format!("{first}@example.fr")}}))
        };
        // A: inbound contact on 2023-06-15, 3 years: kept through 2026-06-15.
        let a = subject("anna", "prospect", "2023-06-01T09:00:00Z")?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{a}/interactions"),
            json!({"at":"2023-06-15T10:00:00Z","direction":"inbound","channel":"email"}),
        )?;
        // B: outbound contacts never extend a prospect's clock.
        let b_id = subject("bruno", "prospect", "2023-01-01T08:00:00Z")?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{b_id}/interactions"),
            json!({"at":"2024-06-01T10:00:00Z","direction":"outbound","channel":"phone"}),
        )?;
        // C: collected on a leap day: kept through 2027-02-28.
        let c = subject("chloe", "prospect", "2024-02-29T12:00:00Z")?;
        // D: a client whose last contract ended 2021-02-28: kept through 2026-02-28.
        let d = subject("david", "prospect", "2018-03-01T00:00:00Z")?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{d}/contracts"),
            json!({"reference":"C-1","start":"2019-01-01","end":"2021-02-28"}),
        )?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{d}/contracts"),
            json!({"reference":"C-0","start":"2018-03-01","end":"2019-12-31"}),
        )?;
        // E: a client with an open contract: kept while it runs.
        let e = subject("emma", "prospect", "2015-01-01T00:00:00Z")?;
        s.post(&staff, &format!("/api/v1/subjects/{e}/contracts"), json!({"reference":"C-2","start":"2015-01-01"}))?;
        // F: expired but under a legal hold.
        let f = subject("felix", "prospect", "2020-01-01T00:00:00Z")?;
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"litigation pending"}))?;
        assert_eq!(st, 201, "{v}");
        assert_eq!(s.post(&staff, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"x"}))?.0, 403);

        // The edge: due from the day after the last day of retention.
        let (st, v) = s.get(&dpo, "/api/v1/retention/plan?at=2026-06-15", None)?;
        assert_eq!(st, 200, "{v}");
        let ids = |v: &Value, key: &str| -> Vec<String> {
            let mut ids: Vec<String> = v[key]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x["subject_id"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            ids.sort();
            ids
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(ids(&v, "due"), sorted(vec![b_id.clone(), d.clone()]), "{b:?}: {v}");
        let (_, v) = s.get(&dpo, "/api/v1/retention/plan?at=2026-06-16", None)?;
        assert_eq!(ids(&v, "due"), sorted(vec![a.clone(), b_id.clone(), d.clone()]));

        let (st, v) = s.get(&dpo, "/api/v1/retention/plan?at=2026-11-26", None)?;
        assert_eq!(st, 200);
        assert_eq!(v["at"], "2026-11-26");
        let due = v["due"].as_array().ok_or("due")?;
        let entry = |id: &str| due.iter().find(|x| x["subject_id"] == id).cloned().unwrap_or(Value::Null);
        assert_eq!(entry(&a)["rule"], "last_inbound_contact");
        assert_eq!(entry(&a)["basis_date"], "2023-06-15");
        assert_eq!(entry(&a)["expires_on"], "2026-06-15");
        assert_eq!(entry(&b_id)["basis_date"], "2023-01-01");
        assert_eq!(entry(&b_id)["expires_on"], "2026-01-01");
        assert_eq!(entry(&d)["rule"], "last_contract_end");
        assert_eq!(entry(&d)["basis_date"], "2021-02-28");
        assert_eq!(entry(&d)["expires_on"], "2026-02-28");
        assert_eq!(due.len(), 3, "{v}");
        assert_eq!(v["held"][0]["subject_id"], f.as_str());
        assert_eq!(v["held"][0]["reason"], "litigation pending");
        let forecast = v["forecast"].as_array().ok_or("forecast")?;
        assert_eq!(forecast.len(), 12);
        assert_eq!(forecast[0]["month"], "2026-11");
        assert_eq!(
            forecast.iter().find(|m| m["month"] == "2027-02").map(|m| m["expiring"].clone()),
            Some(json!(1)),
            "C expires in February"
        );
        assert_eq!(s.get(&staff, "/api/v1/retention/plan", None)?.0, 403);
        assert_eq!(s.get(&dpo, "/api/v1/retention/plan?at=2026-02-30", None)?.0, 400);

        // The CLI plans the same.
        let out = s.cli().args(["retention", "plan", "--at", "2026-11-26", "--json"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cli: Value = serde_json::from_slice(&out.stdout)?;
        assert_eq!(ids(&cli, "due"), sorted(vec![a.clone(), b_id.clone(), d.clone()]));

        // Apply: erased for real, the held and the unexpired kept, the audit chain intact.
        let sealed: Option<(Vec<u8>, Vec<u8>)> = if b == Backend::Sqlite {
            let conn = rusqlite::Connection::open(s.dir.join("data").join("vigie.db"))?;
            let hex = a.replace('-', "");
            Some(conn.query_row(
                &format!("SELECT k.wrapped, s.identity FROM subjects s JOIN subject_keys k ON k.subject_id = s.id WHERE s.id = X'{hex}'"),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        } else {
            None
        };
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at":"2026-11-26"}))?;
        assert_eq!((st, v["erased"].as_u64()), (200, Some(3)), "{v}");
        if let Some((key, identity)) = sealed {
            // Neither the wrapped key nor the sealed identity lingers in any file: not in
            // the database (secure_delete), not in the journal (checkpointed).
            for (path, bytes) in files(&s.dir.join("data")) {
                assert!(!contains(&bytes, &key), "the erased key lingers in {}", path.display());
                assert!(!contains(&bytes, &identity[..40]), "the erased identity lingers in {}", path.display());
            }
        }
        for id in [&a, &b_id, &d] {
            let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("customer_service"))?;
            assert_eq!((st, v["type"].as_str()), (410, Some("urn:vigie:problem:gone")), "{v}");
            for table in [
                "subjects WHERE id",
                "subject_keys WHERE subject_id",
                "contracts WHERE subject_id",
                "interactions WHERE subject_id",
            ] {
                let sql = match b {
                    Backend::Sqlite => format!("SELECT count(*) FROM {table} = X'{}'", id.replace('-', "")),
                    Backend::Postgres => format!("SELECT count(*) FROM {table} = '{id}'"),
                };
                assert_eq!(count(&s, &sql)?, 0, "{b:?}: {table} of an erased subject");
            }
        }
        let (_, v) = s.get(&staff, "/api/v1/subjects?email=anna%40example.fr", Some("customer_service"))?;
        assert_eq!(v["subjects"].as_array().map(Vec::len), Some(0), "no longer found by email");
        for id in [&c, &e, &f] {
            assert_eq!(s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("customer_service"))?.0, 200);
        }
        let (_, v) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let erasures: Vec<&Value> =
            v["entries"].as_array().ok_or("entries")?.iter().filter(|x| x["action"] == "subject.erase").collect();
        assert_eq!(erasures.len(), 3);
        assert!(erasures.iter().any(|x| x["subject_id"] == d.as_str()
            && x["detail"].as_str().is_some_and(|t| t.contains("rule=last_contract_end"))));
        assert!(s.audit_entries()? > 0);

        // Again: nothing more to do. Lift the hold: the sweep takes F.
        let out = s.cli().args(["retention", "apply", "--at", "2026-11-26"]).output()?;
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("0 erased, 1 held"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(delete(&s, &dpo, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"settled"}))?.0, 200);
        assert_eq!(delete(&s, &dpo, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"settled"}))?.0, 409);
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{f}/legal-hold"), None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["held"], false);
        assert_eq!(v["history"][0]["action"], "set");
        assert_eq!(v["history"][0]["reason"], "litigation pending");
        assert_eq!(v["history"][1]["action"], "lift");
        assert_eq!(v["history"][1]["reason"], "settled");
        assert_eq!(delete(&s, &dpo, &format!("/api/v1/subjects/{f}/legal-hold"), json!({"reason":"  "}))?.0, 400);
        let (_, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at":"2026-11-26"}))?;
        assert_eq!(v["erased"], 1);
        assert_eq!(s.post(&staff, "/api/v1/retention/apply", json!({"at":"2026-11-26"}))?.0, 403);
        assert!(s.audit_entries()? > 0);
    }
    Ok(())
}

#[test]
fn a_sweep_killed_midway_leaves_each_subject_whole_or_erased() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        const N: i64 = 20_000;
        let csv = s.dir.join("old.csv");
        let mut text = String::from("kind,collected_at,first_name,email\n");
        for i in 0..N {
            text.push_str(&format!("prospect,2020-01-01,Léa,lea{i}@example.fr\n"));
        }
        std::fs::write(&csv, text)?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let staff = s.token("staff", None)?;
        let id = s.create(&staff, json!({"kind":"prospect","collected_at":"2020-01-01","identity":{"first_name":"Léa","email":"lea0@example.fr"}}))?;
        let _ = id;

        // Kill the sweep with SIGKILL once it has erased something.
        let mut sweep = s.cli().args(["retention", "apply", "--at", "2026-11-26"]).stdout(Stdio::null()).spawn()?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while count(&s, "SELECT count(*) FROM erasures")? == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        sweep.kill()?;
        let _ = sweep.wait();
        let erased = count(&s, "SELECT count(*) FROM erasures")?;
        let present = count(&s, "SELECT count(*) FROM subjects")?;
        assert!(erased > 0 && erased < N + 1, "{b:?}: the kill landed mid-sweep ({erased} erased)");
        assert_eq!(erased + present, N + 1, "{b:?}: every subject is present or erased");
        assert_eq!(
            count(&s, "SELECT count(*) FROM subject_keys")?,
            present,
            "{b:?}: every present subject has its key"
        );
        assert_eq!(
            count(&s, "SELECT count(*) FROM erasures e JOIN subjects s ON s.id = e.subject_id")?,
            0,
            "{b:?}: erased means gone"
        );
        assert_eq!(
            count(&s, "SELECT count(*) FROM audit WHERE action = 'subject.erase'")?,
            erased,
            "{b:?}: each erasure audited"
        );
        let (ok, text) = verify(&s)?;
        assert!(ok, "{b:?}: the audit chain survives the crash: {text}");
        // The next start completed the erasure journal from the tombstones.
        let journal = std::fs::read_to_string(s.dir.join("data").join("erasures.journal")).unwrap_or_default();
        assert_eq!(journal.lines().count() as i64, erased, "{b:?}: every committed erasure is journalled");

        // Running the sweep again finishes the job.
        let out = s.cli().args(["retention", "apply", "--at", "2026-11-26"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(count(&s, "SELECT count(*) FROM subjects")?, 0);
        assert_eq!(count(&s, "SELECT count(*) FROM subject_keys")?, 0);
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, N + 1);
        let (ok, text) = verify(&s)?;
        assert!(ok, "{text}");
    }
    Ok(())
}

#[test]
fn the_daily_sweep_runs_inside_the_server_once_a_day() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let old =
            s.create(&staff, json!({"kind":"prospect","collected_at":"2020-01-01","identity":{"first_name":"Léa"}}))?;
        let fresh = s.create(&staff, json!({"kind":"prospect","identity":{"first_name":"Inès"}}))?;
        // Two instances on the same data, the sweep due at midnight UTC: it runs at once, once.
        s.restart(&["--retention-sweep-at", "00:00", "--retention-sweep-max-share", "100"])?;
        let mut second = spawn(
            &s.dir,
            s.db_url.as_deref(),
            &["--retention-sweep-at", "00:00", "--retention-sweep-max-share", "100"],
        )?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while count(&s, "SELECT count(*) FROM erasures")? == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let _ = second.0.kill();
        let _ = second.0.wait();
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, 1, "{b:?}");
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'subject.erase'")?, 1, "{b:?}: swept once");
        assert_eq!(
            count(&s, "SELECT count(*) FROM jobs WHERE name = 'retention-sweep' AND last_run_on IS NOT NULL")?,
            1
        );
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{old}"), Some("prospect_relations"))?.0, 410);
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{fresh}"), Some("prospect_relations"))?.0, 200);
        let out = s.cli().args(["serve", "--retention-sweep-at", "25:00"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("HH:MM"));
    }
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
        let (st, v) = s.get(&dpo, "/api/v1/register", None)?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["policy_version"], "2026-1");
        assert_eq!(v["dpo"]["email"], "dpo-msi@racine.eu");
        assert_eq!(v["totals"]["total_subjects"], 5);
        assert_eq!(v["totals"]["subjects"], json!([{"kind":"client","count":2},{"kind":"prospect","count":3}]));
        let activities = v["activities"].as_array().ok_or("no activities")?;
        assert_eq!(activities.len(), 8);
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

/// A real SMTP server on loopback, enough for a client to deliver to it:
/// it records every message, and can be told to refuse for a while.
struct Smtp {
    port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    refusing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Smtp {
    fn start() -> R<Smtp> {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let refusing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (inbox, refuse) = (received.clone(), refusing.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (inbox, refuse) = (inbox.clone(), refuse.clone());
                std::thread::spawn(move || -> std::io::Result<()> {
                    let mut out = conn.try_clone()?;
                    let mut lines = BufReader::new(conn);
                    if refuse.load(std::sync::atomic::Ordering::SeqCst) {
                        out.write_all(b"421 test server busy\r\n")?;
                        return Ok(());
                    }
                    out.write_all(b"220 test ESMTP\r\n")?;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line)? == 0 {
                            return Ok(());
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        match verb.as_str() {
                            "EHLO" | "HELO" => out.write_all(b"250 test\r\n")?,
                            "DATA" => {
                                out.write_all(b"354 go on\r\n")?;
                                let mut message = String::new();
                                loop {
                                    line.clear();
                                    if lines.read_line(&mut line)? == 0 || line == ".\r\n" {
                                        break;
                                    }
                                    message.push_str(&line);
                                }
                                inbox.lock().map_err(|_| std::io::Error::other("poisoned"))?.push(message);
                                out.write_all(b"250 queued\r\n")?;
                            }
                            "QUIT" => {
                                out.write_all(b"221 bye\r\n")?;
                                return Ok(());
                            }
                            _ => out.write_all(b"250 ok\r\n")?,
                        }
                    }
                });
            }
        });
        Ok(Smtp { port, received, refusing })
    }

    fn messages(&self) -> Vec<String> {
        self.received.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.messages().len() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.messages()
    }
}

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

        // Standard contractual clauses make India allowed.
        let (st, v) = s.post(
            &dpo,
            "/api/v1/recipients/subcontractor/safeguards",
            json!({"kind":"scc","signed_on":"2026-01-15"}),
        )?;
        assert_eq!(st, 201, "{v}");
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
        assert_eq!(smtp.messages().len(), 1, "never sent twice");
        let _ = std::fs::remove_dir_all(&dir);
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
        assert_eq!(smtp.messages().len(), 2, "never sent twice");
        let _ = b_id;
    }
    Ok(())
}

fn dpo_request(s: &Server, dpo: &str, body: Value) -> R<Value> {
    let (st, v) = s.post(dpo, "/api/v1/requests", body)?;
    assert_eq!(st, 201, "{v}");
    Ok(v)
}

fn verify_identity(s: &Server, dpo: &str, id: &str) -> R {
    let (st, v) = s.post(
        dpo,
        &format!("/api/v1/requests/{id}/identity"),
        json!({"decision":"verified","document":"national_id_card"}),
    )?;
    assert_eq!((st, v["status"].as_str()), (200, Some("in_progress")), "{v}");
    Ok(())
}

#[test]
fn an_access_request_runs_from_intake_to_a_complete_answer() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let accountant = s.token("recipient", Some("accountant"))?;
        let subject = s.create(&staff, camille())?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{subject}/contracts"),
            json!({"reference":"C-9","start":"2024-01-01"}),
        )?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{subject}/consents"),
            json!({"purpose":"events","granted":true,"evidence":"salon 2025"}),
        )?;
        assert_eq!(s.get(&accountant, &format!("/api/v1/subjects/{subject}"), Some("contract_management"))?.0, 200);

        let body = json!({"kind":"access","received_at":"2026-03-31","channel":"letter",
                          "requester":{"first_name":"Camille","last_name":"Martin","email":"Camille.Martin@example.fr"}});
        assert_eq!(s.post(&staff, "/api/v1/requests", body.clone())?.0, 403);
        let v = dpo_request(&s, &dpo, body)?;
        assert_eq!(v["subject_id"], subject.as_str(), "found by blind index");
        assert_eq!(v["due_on"], "2026-04-30");
        assert_eq!(v["status"], "awaiting_identity");
        let id = v["id"].as_str().ok_or("id")?.to_string();

        // Nothing is disclosed before the identity check; the document is destroyed by the decision.
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?;
        assert_eq!(st, 409, "{v}");
        let (st, v) = s.send(
            s.http
                .post(format!("{}/api/v1/requests/{id}/identity-document", s.base))
                .bearer_auth(&dpo)
                .header("content-type", "image/png")
                .body(b"\x89PNG fake scan of an identity card".to_vec()),
        )?;
        assert_eq!((st, v["identity_document_held"].as_bool()), (201, Some(true)), "{v}");
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 1);
        verify_identity(&s, &dpo, &id)?;
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 0, "{b:?}: destroyed on the decision");

        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{id}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["data"]["email"]["value"], "camille.martin@example.fr");
        assert_eq!(v["data"]["email"]["source"], "provided");
        assert_eq!(v["contracts"][0]["reference"], "C-9");
        assert_eq!(v["consents"][0]["evidence"], "salon 2025");
        assert!(
            v["purposes"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x["id"] == "contract_management" && x["legal_basis"] == "contract"))
        );
        assert_eq!(v["recipients"][0]["recipient"], "accountant", "the recipients it was actually disclosed to");
        assert_eq!(v["retention"]["rule"], "last_contract_end");
        assert_eq!(v["dpo"]["email"], "dpo-msi@racine.eu");
        assert!(v["complaint"]["address"].as_str().is_some_and(|a| a.contains("Fontenoy")));
        let (st, again) = s.get(&dpo, &format!("/api/v1/requests/{id}/response"), None)?;
        assert_eq!((st, &again), (200, &v));
        let html = s
            .http
            .get(format!("{}/api/v1/requests/{id}/response?format=html", s.base))
            .bearer_auth(&dpo)
            .send()?
            .text()?;
        assert!(
            html.contains("lang=\"fr\"") && html.contains("Vos données") && html.contains("camille.martin@example.fr"),
            "{html}"
        );
        let (_, v) = s.get(&dpo, &format!("/api/v1/requests/{id}"), None)?;
        assert_eq!(v["status"], "completed");

        // Deadlines as the law counts them; one extension, before the first deadline passes.
        let late = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":"2026-01-31","channel":"email","requester":{"email":"nobody@example.fr"}}),
        )?;
        assert_eq!(late["due_on"], "2026-03-02", "28 February 2026 is a Saturday");
        assert_eq!(late["subject_id"], Value::Null);
        assert!(late["overdue"].as_bool() == Some(true), "{late}");
        let lid = late["id"].as_str().ok_or("id")?;
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/requests/{lid}/extend"), json!({"months":2,"reason":"complex"}))?;
        assert_eq!(st, 409, "too late to extend: {v}");
        let today = chrono::Utc::now().date_naive().to_string();
        let fresh = dpo_request(
            &s,
            &dpo,
            json!({"kind":"portability","received_at":today,"channel":"web_form","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let fid = fresh["id"].as_str().ok_or("id")?;
        assert_eq!(
            s.post(&dpo, &format!("/api/v1/requests/{fid}/extend"), json!({"months":3,"reason":"complex"}))?.0,
            409
        );
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{fid}/extend"),
            json!({"months":2,"reason":"many archives to search"}),
        )?;
        assert_eq!((st, v["extended"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(
            s.post(&dpo, &format!("/api/v1/requests/{fid}/extend"), json!({"months":1,"reason":"again"}))?.0,
            409,
            "once only"
        );
        let (_, list) = s.get(&dpo, "/api/v1/requests", None)?;
        let order: Vec<&str> =
            list["requests"].as_array().ok_or("list")?.iter().filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(order.first().copied(), Some(lid), "overdue first: {order:?}");
        assert_eq!(order.last().copied(), Some(id.as_str()), "closed last");
        // Portability: the fields provided under contract or consent, as JSON and CSV.
        verify_identity(&s, &dpo, fid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{fid}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["data"]["email"], "camille.martin@example.fr");
        assert!(v["csv"].as_str().is_some_and(|c| c.contains("camille.martin@example.fr")));
        // Refusal of an excessive request, and bad input.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{lid}/refuse"),
            json!({"ground":"excessive","reason":"the tenth identical request this month"}),
        )?;
        assert_eq!((st, v["status"].as_str()), (200, Some("refused")), "{v}");
        assert_eq!(s.post(&dpo, "/api/v1/requests", json!({"kind":"gossip","received_at":"2026-01-01","channel":"letter","requester":{"email":"a@example.fr"}}))?.0, 400);
        assert_eq!(s.post(&dpo, "/api/v1/requests", json!({"kind":"access","received_at":"2999-01-01","channel":"letter","requester":{"email":"a@example.fr"}}))?.0, 400);
        assert_eq!(s.post(&dpo, "/api/v1/requests", json!({"kind":"access","received_at":"2026-01-01","channel":"pigeon","requester":{"email":"a@example.fr"}}))?.0, 400);
    }
    Ok(())
}

#[test]
fn erasure_rectification_and_objection_are_carried_out() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let erp = s.token("recipient", Some("saas_erp"))?;
        // Objection by request, then erasure on that ground: a prospect goes entirely, onto the suppression list.
        let p = s.create(&staff, camille())?;
        let obj = dpo_request(
            &s,
            &dpo,
            json!({"kind":"objection","received_at":"2026-11-02","channel":"email","requester":{"email":"camille.martin@example.fr"},
            "particulars":{"purposes":["prospect_relations"]}}),
        )?;
        let oid = obj["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, oid)?;
        assert_eq!(s.post(&dpo, &format!("/api/v1/requests/{oid}/fulfil"), json!({}))?.0, 200);
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{p}"), Some("prospect_relations"))?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("objection")), "immediate effect");
        let era = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":"2026-11-03","channel":"letter","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let eid = era["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, eid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{eid}/fulfil"), json!({}))?;
        assert_eq!(
            (st, v["erased"].as_bool(), v["ground"].as_str()),
            (200, Some(true), Some("objection_to_prospecting")),
            "{v}"
        );
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{p}"), Some("customer_service"))?.0, 410);
        let (st, v) = s.post(&staff, "/api/v1/subjects", camille())?;
        assert_eq!((st, v["type"].as_str()), (409, Some("urn:vigie:problem:conflict")), "suppressed: {v}");
        let csv = s.dir.join("again.csv");
        std::fs::write(
            &csv,
            "kind,first_name,email\nprospect,Camille,camille.martin@example.fr\nprospect,Léa,lea@example.fr\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("again.csv:2: identity.email: this person objected"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        // A client: what legal retention needs is kept and archived, the rest erased, and the answer says why.
        let c = s.create(&staff, json!({"kind":"prospect","identity":{"first_name":"Hugo","last_name":"Bernard","email":"hugo@example.fr","notes":"aime le golf"}}))?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{c}/contracts"),
            json!({"reference":"C-7","start":"2020-01-01","end":"2024-12-31"}),
        )?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{c}/interactions"),
            json!({"at":"2024-03-01T10:00:00Z","direction":"inbound","channel":"phone","summary":"appel"}),
        )?;
        let no_ground = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":"2026-11-03","channel":"letter","requester":{"email":"hugo@example.fr"}}),
        )?;
        let nid = no_ground["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, nid)?;
        let (_, v) = s.post(&dpo, &format!("/api/v1/requests/{nid}/fulfil"), json!({}))?;
        assert_eq!(v["erased"], false, "no Art. 17 ground, nothing erased: {v}");
        let era = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":"2026-11-03","channel":"letter","requester":{"email":"hugo@example.fr"},
            "particulars":{"ground":"no_longer_necessary"}}),
        )?;
        let eid = era["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, eid)?;
        let (_, v) = s.post(&dpo, &format!("/api/v1/requests/{eid}/fulfil"), json!({}))?;
        assert_eq!(v["partial"], true, "{v}");
        assert!(v["kept"].as_array().is_some_and(|k| k.iter().any(|f| f == "last_name")), "{v}");
        assert!(v["erased_fields"].as_array().is_some_and(|k| k.iter().any(|f| f == "notes")), "{v}");
        assert!(
            v["why_kept"].as_str().is_some_and(|w| w.contains("2029-12-31")),
            "kept until the legal period ends: {v}"
        );
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{c}"), Some("contract_management"))?;
        assert_eq!((st, v["archived"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(v["identity"]["last_name"], "Bernard");
        let (_, v) = s.get(&dpo, &format!("/api/v1/subjects/{c}"), Some("customer_relations"))?;
        assert_eq!(v["rule"], "archived");

        // Rectification: changed, who and when recorded but not the old values, recipients told (Art. 19).
        let r = s.create(
            &staff,
            json!({"kind":"prospect","identity":{"first_name":"Inès","last_name":"Moreau","email":"ines@example.fr"}}),
        )?;
        s.post(&staff, &format!("/api/v1/subjects/{r}/contracts"), json!({"reference":"C-8","start":"2025-01-01"}))?;
        assert_eq!(s.get(&erp, &format!("/api/v1/subjects/{r}"), Some("customer_relations"))?.0, 200);
        let rec = dpo_request(
            &s,
            &dpo,
            json!({"kind":"rectification","received_at":"2026-11-03","channel":"email","requester":{"email":"ines@example.fr"},
            "particulars":{"changes":{"last_name":"Moreau-Petit","email":"ines.moreau@example.fr"}}}),
        )?;
        let rid = rec["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, rid)?;
        let (_, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!(v["recipients_notified"], json!(["saas_erp"]), "{v}");
        let (_, v) = s.get(&staff, "/api/v1/subjects?email=ines.moreau%40example.fr", Some("customer_relations"))?;
        assert_eq!(v["subjects"][0]["identity"]["last_name"], "Moreau-Petit");
        let (_, v) = s.get(&staff, "/api/v1/subjects?email=ines%40example.fr", Some("customer_relations"))?;
        assert_eq!(v["subjects"].as_array().map(Vec::len), Some(0), "the old email no longer finds her");
        let (_, audit) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let rect = audit["entries"]
            .as_array()
            .and_then(|e| e.iter().find(|x| x["action"] == "subject.rectify").cloned())
            .unwrap_or(Value::Null);
        assert_eq!(rect["fields"], json!(["email", "last_name"]));
        assert!(!audit.to_string().contains("Moreau"), "no value, old or new, in the audit trail");
        let (_, v) = s.get(&dpo, "/api/v1/outbox", None)?;
        assert!(
            v["messages"].as_array().is_some_and(|m| m
                .iter()
                .any(|x| x["template"] == "rectification_notice" && x["recipient"] == "saas_erp")),
            "{v}"
        );
    }
    Ok(())
}

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

#[test]
fn the_public_form_records_a_request_for_the_dpo() -> R {
    let s = Server::start(Backend::Sqlite)?;
    let page = s.http.get(format!("{}/rights", s.base)).send()?;
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text()?.contains("name=\"kind\""));
    let res = s
        .http
        .post(format!("{}/rights", s.base))
        .form(&[
            ("kind", "access"),
            ("first_name", "Camille"),
            ("last_name", "Martin"),
            ("email", "camille.martin@example.fr"),
            ("message", "merci"),
        ])
        .send()?;
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text()?.contains("bien été reçue"));
    let robot = s
        .http
        .post(format!("{}/rights", s.base))
        .form(&[("kind", "access"), ("last_name", "X"), ("email", "x@example.fr"), ("website", "spam")])
        .send()?;
    assert_eq!(robot.status().as_u16(), 400);
    let bad = s
        .http
        .post(format!("{}/rights", s.base))
        .form(&[("kind", "access"), ("last_name", "X"), ("email", "not-an-email")])
        .send()?;
    assert_eq!(bad.status().as_u16(), 400);
    let dpo = s.token("dpo", None)?;
    let (_, v) = s.get(&dpo, "/api/v1/requests", None)?;
    let list = v["requests"].as_array().ok_or("list")?;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["channel"], "web_form");
    assert_eq!(list[0]["status"], "awaiting_identity");
    assert_eq!(list[0]["particulars"]["message"], "merci");
    Ok(())
}

/// Issue 9: retention fails safe. No far-future date, missing contract, open request,
/// breach under investigation or future `at` can make the sweep erase a live subject.
#[test]
fn retention_fails_safe_at_its_edges() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let today = chrono::Utc::now().date_naive();
        let tomorrow = today.succ_opt().ok_or("date")?.to_string();
        let old = |first: &str, email: &str| json!({"kind":"prospect","collected_at":"2015-03-01","identity":{"first_name":first,"email":email}});
        // An ERP's open-ended contract, and dates past the last storable day.
        let erp = s.create(&staff, old("Anne", "anne@example.fr"))?;
        let path = format!("/api/v1/subjects/{erp}/contracts");
        for end in ["+10000-01-01", "10000-01-01", "0999-12-31", "2021-2-28", ""] {
            let (st, v) = s.post(&staff, &path, json!({"reference":"C-X","start":"2015-01-01","end":end}))?;
            assert_eq!((st, v["field"].as_str()), (400, Some("end")), "{b:?} {end}: {v}");
        }
        let (st, v) = s.post(&staff, &path, json!({"reference":"C-ERP","start":"2015-01-01","end":"9999-12-31"}))?;
        assert_eq!(st, 201, "{v}");
        let far = s.create(&staff, old("Marc", "marc@example.fr"))?;
        let (st, _) = s.post(
            &staff,
            &format!("/api/v1/subjects/{far}/contracts"),
            json!({"reference":"C-FAR","start":"2015-01-01","end":"9997-06-30"}),
        )?;
        assert_eq!(st, 201);
        // A client recorded without any contract: no clock, to review.
        let bare =
            s.create(&staff, json!({"kind":"client","collected_at":"2010-01-01","identity":{"first_name":"Zoé"}}))?;
        // A prospect with an open rights request, another in an open breach's scope, a third plainly due.
        let asking = s.create(&staff, old("Paul", "paul@example.fr"))?;
        let (st, req) = s.post(
            &dpo,
            "/api/v1/requests",
            json!({"kind":"access","received_at":today.to_string(),"channel":"email","requester":{"email":"paul@example.fr"}}),
        )?;
        assert_eq!((st, req["subject_id"].as_str()), (201, Some(asking.as_str())), "{req}");
        let req_id = req["id"].as_str().ok_or("id")?.to_string();
        let breached = s.create(&staff, old("Rose", "rose@example.fr"))?;
        let (st, breach) = s.post(
            &dpo,
            "/api/v1/breaches",
            json!({"detected_at":"2026-11-20T08:30:00Z","nature":["confidentiality"],"description":"lost USB key",
                   "data_categories":["identity"],"scope":{"subject_ids":[breached]}}),
        )?;
        assert_eq!(st, 201, "{breach}");
        let breach_id = breach["id"].as_str().ok_or("id")?.to_string();
        let due = s.create(&staff, old("Jean", "jean@example.fr"))?;

        let (st, plan) = s.get(&dpo, &format!("/api/v1/retention/plan?at={today}"), None)?;
        assert_eq!(st, 200, "{plan}");
        let ids = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|x| x["subject_id"].as_str().map(String::from)).collect())
                .unwrap_or_default()
        };
        assert_eq!(ids(&plan["due"]), vec![due.clone()], "{b:?}: only the plainly due prospect: {plan}");
        assert_eq!(plan["due_count"], 1, "{plan}");
        assert_eq!(ids(&plan["to_review"]), vec![bare.clone()], "{plan}");
        assert_eq!(plan["to_review"][0]["reason"], "client_without_contract");
        let held = plan["held"].as_array().cloned().unwrap_or_default();
        let by = |id: &str| held.iter().find(|h| h["subject_id"] == id).map(|h| h["held_by"].clone());
        assert_eq!(by(&asking), Some(json!("rights_request")), "{plan}");
        assert_eq!(by(&breached), Some(json!("breach")), "{plan}");
        // Far in the future, the open-ended client is never due either.
        let (_, later) = s.get(&dpo, "/api/v1/retention/plan?at=9999-12-31", None)?;
        assert!(!ids(&later["due"]).contains(&erp) && !ids(&later["due"]).contains(&far), "{later}");
        assert!(!ids(&later["due"]).contains(&bare), "{later}");

        // apply never takes a date after today, by API or command line; nothing changes.
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at": tomorrow}))?;
        assert_eq!((st, v["field"].as_str()), (400, Some("at")), "{v}");
        let out = s.cli().args(["retention", "apply", "--at", "9999-12-31"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("after today"));
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, 0, "{b:?}");

        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({"at": today.to_string()}))?;
        assert_eq!((st, v["erased"].as_u64()), (200, Some(1)), "{v}");
        assert_eq!(v["held"], 2, "{v}");
        for id in [&erp, &far, &bare, &asking, &breached] {
            let (st, _) = s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
            assert_ne!(st, 410, "{b:?}: {id} kept");
        }
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{due}"), Some("prospect_relations"))?.0, 410);

        // Closing the request and the breach releases the holds.
        let (st, v) = s.post(
            &dpo,
            &format!("/api/v1/requests/{req_id}/refuse"),
            json!({"ground":"manifestly_unfounded","reason":"no such request was made"}),
        )?;
        assert_eq!(st, 200, "{v}");
        let (st, v) =
            s.post(&dpo, &format!("/api/v1/breaches/{breach_id}/phases"), json!({"phase":"closed","details":"found"}))?;
        assert_eq!(st, 200, "{v}");
        let (_, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(v["erased"], 2, "{b:?}: {v}");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{asking}"), Some("prospect_relations"))?.0, 410);
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{breached}"), Some("prospect_relations"))?.0, 410);
        let out = s.cli().args(["retention", "plan"]).output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("1 client(s) without contract: to review"), "{text}");
    }
    Ok(())
}

/// Issue 9: the daily sweep brakes when it would erase too large a share at once.
#[test]
fn the_daily_sweep_brakes_and_waits_for_the_dpo() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let old =
            s.create(&staff, json!({"kind":"prospect","collected_at":"2020-01-01","identity":{"first_name":"Léa"}}))?;
        for i in 0..3 {
            s.create(&staff, json!({"kind":"prospect","identity":{"first_name": format!("P{i}")}}))?;
        }
        // One of four subjects due: 25% > the default 5%.
        s.restart(&["--retention-sweep-at", "00:00"])?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while count(&s, "SELECT count(*) FROM audit WHERE action = 'retention.sweep_braked'")? == 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'retention.sweep_braked'")?, 1, "{b:?}");
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, 0, "{b:?}: nothing erased");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{old}"), Some("prospect_relations"))?.0, 200);
        let log = std::fs::read_to_string(s.dir.join("server.log"))?;
        assert!(log.contains("policy revision that shortened a retention period"), "{log}");
        // The DPO applies the date explicitly.
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!((st, v["erased"].as_u64()), (200, Some(1)), "{v}");
        let out = s.cli().args(["serve", "--retention-sweep-max-share", "150%"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("percentage"));
    }
    Ok(())
}

/// Issue 9: a missing or wrong master key, and a missing, empty or damaged database
/// beside a key, are refused with an error naming the file; nothing is re-created.
#[test]
fn damaged_or_missing_state_is_refused_never_reinitialised() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let id = s.create(&staff, camille())?;
        let _ = s.child.kill();
        let _ = s.child.wait();
        let data = s.dir.join("data");
        let key = data.join("master.key");
        let refused = |s: &Server, what: &str| -> R {
            for args in [vec!["serve", "--listen", "127.0.0.1:0"], vec!["token", "create", "--role", "admin"]] {
                let out = output_within(s.cli().args(&args).env("VIGIE_RETENTION_SWEEP_AT", "off"), 20)?;
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(!out.status.success(), "{b:?} {what}: {args:?} must fail");
                assert!(err.contains(what), "{b:?} {what}: {err}");
                assert!(!String::from_utf8_lossy(&out.stdout).contains("vigie_"), "no admin token printed");
            }
            Ok(())
        };
        // The key missing: refused, and no new key is written.
        std::fs::rename(&key, data.join("kept.key"))?;
        refused(&s, "does not exist")?;
        assert!(!key.exists(), "{b:?}: a missing key is never replaced");
        // Another key: refused.
        write_key(&key, &"ab".repeat(32))?;
        refused(&s, "does not match the database")?;
        std::fs::rename(data.join("kept.key"), &key)?;

        match b {
            Backend::Sqlite => {
                let db = data.join("vigie.db");
                {
                    let conn = rusqlite::Connection::open(&db)?;
                    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                }
                let good = std::fs::read(&db)?;
                std::fs::write(&db, b"")?;
                refused(&s, "is empty")?;
                std::fs::remove_file(&db)?;
                refused(&s, "is missing")?;
                assert!(!db.exists(), "a missing database is never re-created beside its key");
                // Damaged pages: refused at start.
                let mut bad = good.clone();
                for page in 2..(bad.len() / 4096).min(12) {
                    for byte in &mut bad[page * 4096..page * 4096 + 64] {
                        *byte = 0xA5;
                    }
                }
                std::fs::write(&db, &bad)?;
                refused(&s, "is damaged")?;
                let out = s.cli().args(["check"]).output()?;
                assert!(!out.status.success(), "vigie check fails on a damaged database");
                std::fs::write(&db, &good)?;
            }
            Backend::Postgres => {
                // The same key beside a database that holds no Vigie schema: refused.
                let server = std::env::var("VIGIE_TEST_DATABASE_URL")?;
                let (url, _guard) = vigie_store_postgres::testing::fresh_database(&server)?;
                let out =
                    s.cli().env("VIGIE_DATABASE_URL", &url).args(["token", "create", "--role", "admin"]).output()?;
                assert!(!out.status.success());
                assert!(
                    String::from_utf8_lossy(&out.stderr).contains("is missing"),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        // Everything back: it starts, the subject is whole, and `vigie check` passes.
        let out = s.cli().args(["check"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        s.restart(&[])?;
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0, 200);
    }
    Ok(())
}

/// Runs a command to its end, or kills it after `secs` (a server that should have refused to start).
fn output_within(cmd: &mut Command, secs: u64) -> R<std::process::Output> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait()?.is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output()?;
            return Err(format!("still running after {secs} s: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(child.wait_with_output()?)
}

fn write_key(path: &Path, hex: &str) -> R {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    std::io::Write::write_all(&mut f, hex.as_bytes())?;
    Ok(())
}

/// Issue 9: once a subject is erased, its requests keep a proof record and nothing personal:
/// not the access answer, not the requester's details, not an identity document.
#[test]
fn an_erased_subjects_requests_keep_only_a_proof_record() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let subject = s.create(&staff, camille())?;
        let requester = json!({"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr"});
        let today = chrono::Utc::now().date_naive().to_string();
        let access = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"email","requester":requester}),
        )?;
        let access_id = access["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &access_id)?;
        let (st, answer) = s.post(&dpo, &format!("/api/v1/requests/{access_id}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{answer}");
        assert!(answer.to_string().contains("Atelier Martin"), "the access answer holds the data: {answer}");
        // A second request, its identity document uploaded and still awaiting a decision.
        let pending = dpo_request(
            &s,
            &dpo,
            json!({"kind":"portability","received_at":today,"channel":"letter","requester":requester}),
        )?;
        let pending_id = pending["id"].as_str().ok_or("id")?.to_string();
        let res = s
            .http
            .post(format!("{}/api/v1/requests/{pending_id}/identity-document", s.base))
            .bearer_auth(&dpo)
            .header("Content-Type", "application/pdf")
            .body(b"%PDF-1.4 carte d'identite de Camille Martin".to_vec())
            .send()?;
        assert!(res.status().is_success(), "{}", res.text()?);
        // The erasure: the person objected to prospecting.
        s.post(&staff, &format!("/api/v1/subjects/{subject}/objections"), json!({"purpose":"prospect_relations"}))?;
        let erase = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":today,"channel":"email","requester":requester}),
        )?;
        let erase_id = erase["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &erase_id)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{erase_id}/fulfil"), json!({}))?;
        assert_eq!((st, v["erased"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{subject}"), Some("prospect_relations"))?.0, 410);

        for id in [&access_id, &pending_id, &erase_id] {
            let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{id}"), None)?;
            assert_eq!(st, 200, "{v}");
            assert_eq!(v["subject_erased"], true, "{b:?}: {v}");
            let text = v.to_string();
            assert!(!text.contains("Camille") && !text.contains("camille.martin"), "{b:?}: {text}");
        }
        let (st, proof) = s.get(&dpo, &format!("/api/v1/requests/{access_id}/response"), None)?;
        assert_eq!(st, 200, "{proof}");
        let text = proof.to_string();
        assert!(!text.contains("Atelier") && !text.contains("Camille") && !text.contains("+33"), "{b:?}: {text}");
        assert_eq!(
            (proof["kind"].as_str(), proof["subject_erased"].as_bool()),
            (Some("access"), Some(true)),
            "{proof}"
        );
        assert_eq!(proof["erasure_rule"], "erasure_request");
        assert_eq!(proof["outcome"], "answered");
        let (st, _) = s.get(&dpo, &format!("/api/v1/requests/{erase_id}/response"), None)?;
        assert_eq!(st, 200);
        // The pending request cannot go on: its personal content is gone.
        let (st, _) = s.post(
            &dpo,
            &format!("/api/v1/requests/{pending_id}/identity"),
            json!({"decision":"verified","document":"national_id_card"}),
        )?;
        assert!(st == 410 || st == 409, "{st}");
        assert_eq!(
            count(&s, "SELECT count(*) FROM identity_documents")?,
            0,
            "{b:?}: the document died with the subject"
        );
        assert_eq!(
            count(&s, "SELECT count(*) FROM requests WHERE length(wrapped_key) > 0")?,
            0,
            "{b:?}: request keys destroyed"
        );
        assert_eq!(count(&s, "SELECT count(*) FROM requests WHERE response IS NOT NULL")?, 0, "{b:?}");
        if b == Backend::Sqlite {
            // The erasure checkpointed the journal: no WAL page holds the erased rows.
            let wal = std::fs::metadata(s.dir.join("data").join("vigie.db-wal")).map(|m| m.len()).unwrap_or(0);
            assert!(wal < 200_000, "{wal}");
        }
        // The proof records have a retention of their own: 5 years after closing, then swept.
        let (st, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(s.get(&dpo, &format!("/api/v1/requests/{access_id}"), None)?.0, 200, "kept within 5 years");
        tamper(
            &s,
            match b {
                Backend::Sqlite => {
                    "UPDATE requests SET completed_at = '2019' || substr(completed_at, 5) WHERE completed_at IS NOT NULL"
                }
                Backend::Postgres => {
                    "UPDATE requests SET completed_at = completed_at - interval '7 years' WHERE completed_at IS NOT NULL"
                }
            },
        )?;
        s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(s.get(&dpo, &format!("/api/v1/requests/{access_id}"), None)?.0, 404, "{b:?}: swept after 5 years");
        assert_eq!(s.get(&dpo, &format!("/api/v1/requests/{erase_id}"), None)?.0, 404);
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'request.proof_expired'")?, 1);
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Issue 9: backup while the server runs, erase, restore: the erased person stays erased,
/// every other subject is as at the backup, and the trail is valid and records the restore.
#[test]
fn a_restored_backup_never_brings_the_erased_back() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let old = s.create(&staff, json!({"kind":"prospect","collected_at":"2015-01-01","identity":{"first_name":"Léa","email":"lea@example.fr"}}))?;
        let objector = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        let kept = s.create(&staff, json!({"kind":"prospect","identity":{"first_name":"Camille","email":"camille.martin@example.fr","company":"Atelier Martin"}}))?;
        let backup = s.dir.join("vigie.backup");
        let out = s.cli().args(["backup", "--out"]).arg(&backup).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&backup)?;
        for secret in ["Camille", "camille.martin@example.fr", "Atelier Martin", "hugo@example.fr"] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{b:?}: {secret} in the backup");
        }
        let out = s.cli().args(["backup", "--out"]).arg(&backup).output()?;
        assert!(!out.status.success(), "a backup never overwrites a file");
        // After the backup: one erased by the sweep, one by a rights request; Camille changes.
        let (_, v) = s.post(&dpo, "/api/v1/retention/apply", json!({}))?;
        assert_eq!(v["erased"], 1, "{v}");
        s.post(&staff, &format!("/api/v1/subjects/{objector}/objections"), json!({"purpose":"prospect_relations"}))?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":today,"channel":"email","requester":{"email":"hugo@example.fr"}}),
        )?;
        let req_id = req["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &req_id)?;
        let (_, v) = s.post(&dpo, &format!("/api/v1/requests/{req_id}/fulfil"), json!({}))?;
        assert_eq!(v["erased"], true, "{v}");
        s.post(
            &staff,
            &format!("/api/v1/subjects/{kept}/interactions"),
            json!({"at":"2026-06-15T10:00:00Z","direction":"inbound","channel":"email"}),
        )?;
        let later = s.create(&staff, person("Inès", "ines@example.fr", "prospect"))?;

        // Refused while a server runs.
        let out = s.cli().args(["restore"]).arg(&backup).output()?;
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("running"),
            "{b:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = s.child.kill();
        let _ = s.child.wait();
        // Refused under another key, and for what is not a backup.
        let other = s.dir.join("other.key");
        write_key(&other, &"cd".repeat(32))?;
        let out = s.cli().arg("--master-key-file").arg(&other).args(["restore"]).arg(&backup).output()?;
        assert!(!out.status.success(), "{b:?}: another key");
        std::fs::write(s.dir.join("junk"), b"not a backup")?;
        let out = s.cli().args(["restore"]).arg(s.dir.join("junk")).output()?;
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not a Vigie"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let out = s.cli().args(["restore"]).arg(&backup).output()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("audit trail valid"), "{b:?}: {text}");
        s.restart(&[])?;
        for id in [&old, &objector] {
            assert_eq!(
                s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0,
                410,
                "{b:?}: {id} stays erased"
            );
        }
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{kept}"), Some("prospect_relations"))?;
        assert_eq!(st, 200, "{v}");
        assert_eq!(
            v["identity"]["company"]["value"].as_str().or(v["identity"]["company"].as_str()),
            Some("Atelier Martin"),
            "{v}"
        );
        assert_eq!(v["interactions"].as_array().map(Vec::len), Some(0), "{b:?}: as at the backup: {v}");
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{later}"), Some("prospect_relations"))?.0, 404, "{b:?}");
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(count(&s, "SELECT count(*) FROM audit WHERE action = 'backup.restore'")?, 1);
        assert!(count(&s, "SELECT count(*) FROM audit WHERE detail LIKE '%replayed after restore%'")? >= 2, "{b:?}");
        // The journal holds ids and dates only.
        let journal = std::fs::read_to_string(s.dir.join("data").join("erasures.journal"))?;
        assert!(journal.contains(&old) && journal.contains(&objector) && !journal.contains('@'), "{journal}");
    }
    Ok(())
}

/// Issue 9: `vigie key rotate` re-wraps every key; lookups, reads and the audit chain go on
/// under the new key, the old one is refused, and an interrupted rotation completes at start.
#[test]
fn the_master_key_rotates_and_the_old_one_is_refused() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let id = s.create(&staff, camille())?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"email","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let key = s.dir.join("data").join("master.key");
        let old_key = std::fs::read_to_string(&key)?;
        let out = s.cli().args(["key", "rotate"]).output()?;
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("running"),
            "{b:?}: refused beside a server"
        );
        let _ = s.child.kill();
        let _ = s.child.wait();
        let out = s.cli().args(["key", "rotate"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        let new_key = std::fs::read_to_string(&key)?;
        assert_ne!(old_key, new_key);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key)?.permissions().mode() & 0o777, 0o600);
        s.restart(&[])?;
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0, 200);
        let (_, found) =
            s.get(&staff, "/api/v1/subjects?email=camille.martin@example.fr", Some("prospect_relations"))?;
        assert!(found.to_string().contains(&id), "{b:?}: the blind index survives: {found}");
        let (st, v) = s.get(&dpo, &format!("/api/v1/requests/{}", req["id"].as_str().unwrap_or_default()), None)?;
        assert_eq!((st, v["requester"]["email"].as_str()), (200, Some("camille.martin@example.fr")), "{v}");
        let _ = s.child.kill();
        let _ = s.child.wait();
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        // The old key is refused.
        std::fs::rename(&key, s.dir.join("new.key"))?;
        write_key(&key, old_key.trim())?;
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("does not match"));
        // A rotation cut short after its commit (old file still in place, the new one beside it) completes.
        std::fs::rename(s.dir.join("new.key"), s.dir.join("data").join("master.key.new"))?;
        let out = s.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read_to_string(&key)?, new_key);
    }
    Ok(())
}

/// Issue 9: kill -9 at any point of a backup, a restore or a key rotation leaves every subject
/// whole, every key usable and the audit chain valid; running the command again finishes it.
#[test]
fn backup_restore_and_key_rotation_survive_a_kill() -> R {
    for b in backends() {
        let mut s = Server::start(b)?;
        const N: i64 = 20_000;
        let csv = s.dir.join("people.csv");
        let mut text = String::from("kind,first_name,email\n");
        for i in 0..N {
            text.push_str(&format!("prospect,Léa,lea{i}@example.fr\n"));
        }
        std::fs::write(&csv, text)?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let staff = s.token("staff", None)?;
        let _ = s.child.kill();
        let _ = s.child.wait();
        let whole = |s: &Server, what: &str| -> R {
            let (ok, text) = verify(s)?;
            assert!(ok, "{b:?} {what}: {text}");
            assert_eq!(count(s, "SELECT count(*) FROM subjects")?, N, "{b:?} {what}");
            assert_eq!(count(s, "SELECT count(*) FROM subject_keys")?, N, "{b:?} {what}");
            Ok(())
        };
        let killed = |cmd: &mut Command, ms: u64| -> R {
            let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
            std::thread::sleep(std::time::Duration::from_millis(ms));
            let _ = child.kill();
            let _ = child.wait();
            Ok(())
        };
        // A backup killed midway leaves a file that restore refuses, and nothing else changed.
        for (i, ms) in [5u64, 40, 150].into_iter().enumerate() {
            let partial = s.dir.join(format!("partial-{i}.backup"));
            killed(s.cli().args(["backup", "--out"]).arg(&partial), ms)?;
            whole(&s, "after a killed backup")?;
            if partial.exists() {
                let out = s.cli().args(["restore"]).arg(&partial).output()?;
                if !out.status.success() {
                    whole(&s, "after refusing a partial backup")?;
                }
            }
        }
        let backup = s.dir.join("full.backup");
        let out = s.cli().args(["backup", "--out"]).arg(&backup).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // A restore killed midway: the old database or the restored one, whole; again finishes it.
        for ms in [5u64, 40, 150] {
            killed(s.cli().args(["restore"]).arg(&backup), ms)?;
            whole(&s, "after a killed restore")?;
        }
        let out = s.cli().args(["restore"]).arg(&backup).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        whole(&s, "after the restore")?;
        // A key rotation killed midway: one key or the other is in force, every key usable.
        for ms in [5u64, 40, 150, 400] {
            killed(s.cli().args(["key", "rotate"]), ms)?;
            whole(&s, "after a killed rotation")?;
        }
        let out = s.cli().args(["key", "rotate"]).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        whole(&s, "after the rotation")?;
        s.restart(&[])?;
        let (st, found) = s.get(&staff, "/api/v1/subjects?email=lea19999@example.fr", Some("prospect_relations"))?;
        assert_eq!(st, 200, "{found}");
        let id = found
            .as_array()
            .and_then(|a| a.first())
            .map(|v| v["id"].clone())
            .or_else(|| Some(found["subjects"][0]["id"].clone()));
        let id = id.and_then(|v| v.as_str().map(String::from)).ok_or(format!("no subject: {found}"))?;
        assert_eq!(
            s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0,
            200,
            "{b:?}: keys usable"
        );
    }
    Ok(())
}

/// Issue 9: a CRM export brings its contracts; the clients' clocks run on them.
#[test]
fn csv_import_brings_contracts_and_their_clocks() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let dpo = s.token("dpo", None)?;
        let csv = s.dir.join("crm.csv");
        std::fs::write(
            &csv,
            "kind;collected_at;first_name;email;contract_reference;contract_start;contract_end\n\
             prospect;2010-01-01;Ana;ana@example.fr;C-1;2012-01-01;2019-06-30\n\
             client;2010-01-01;Ben;ben@example.fr;C-2;2012-01-01;\n\
             client;2010-01-01;Cléo;cleo@example.fr;C-3;2012-01-01;9999-12-31\n\
             client;2010-01-01;Dan;dan@example.fr;;;\n",
        )?;
        let out = s.cli().arg("import").arg(&csv).output()?;
        assert!(out.status.success(), "{b:?}: {}", String::from_utf8_lossy(&out.stderr));
        let (_, plan) = s.get(&dpo, "/api/v1/retention/plan", None)?;
        assert_eq!(plan["due_count"], 1, "{b:?}: only the contract that ended in 2019: {plan}");
        assert_eq!(plan["due"][0]["rule"], "last_contract_end");
        assert_eq!(plan["due"][0]["expires_on"], "2024-06-30");
        assert_eq!(plan["to_review_count"], 1, "{b:?}: Dan has no contract: {plan}");
        assert_eq!(count(&s, "SELECT count(*) FROM contracts")?, 3);
        // Bad contract cells are reported by line, and nothing is imported.
        let bad = s.dir.join("bad.csv");
        std::fs::write(
            &bad,
            "kind,first_name,contract_reference,contract_start,contract_end\nclient,Eve,C-9,2020-01-01,2019-01-01\nclient,Fay,C-8,+10000-01-01,\n",
        )?;
        let out = s.cli().arg("import").arg(&bad).output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(":2: contract_end") && err.contains(":3: contract_start"),
            "{err}"
        );
        assert_eq!(count(&s, "SELECT count(*) FROM contracts")?, 3);
    }
    Ok(())
}

/// Issue 9: rectification and partial erasure re-seal the subject under a fresh key; every
/// other value of the subject (contracts, consents, legal hold) stays readable.
#[test]
fn rectification_and_partial_erasure_rotate_the_subject_key() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let id = s.create(&staff, person("Inès", "ines@example.fr", "prospect"))?;
        s.post(&staff, &format!("/api/v1/subjects/{id}/contracts"), json!({"reference":"C-77","start":"2024-01-01"}))?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/consents"),
            json!({"purpose":"events","granted":true,"evidence":"salon 2025"}),
        )?;
        s.post(
            &staff,
            &format!("/api/v1/subjects/{id}/interactions"),
            json!({"at":"2026-01-05T10:00:00Z","direction":"inbound","channel":"email","summary":"asked for a quote"}),
        )?;
        s.post(&dpo, &format!("/api/v1/subjects/{id}/legal-hold"), json!({"reason":"litige en cours"}))?;
        // The subject's wrapped key, as stored.
        let fingerprint = |s: &Server| -> R<String> {
            let all = match s.backend {
                Backend::Sqlite => {
                    let conn = rusqlite::Connection::open(s.dir.join("data").join("vigie.db"))?;
                    conn.query_row("SELECT hex(wrapped) FROM subject_keys", [], |r| r.get::<_, String>(0))?
                }
                Backend::Postgres => {
                    let url = s.db_url.clone().ok_or("url")?;
                    std::thread::spawn(move || -> Result<String, String> {
                        let mut c = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
                        c.query_one("SELECT encode(wrapped, 'hex') FROM subject_keys", &[])
                            .map(|r| r.get(0))
                            .map_err(|e| e.to_string())
                    })
                    .join()
                    .map_err(|_| "thread")??
                }
            };
            Ok(all.to_lowercase())
        };
        let before = fingerprint(&s)?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"rectification","received_at":today,"channel":"email","requester":{"email":"ines@example.fr"},
            "particulars":{"changes":{"last_name":"Moreau"}}}),
        )?;
        let rid = req["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &rid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!(st, 200, "{v}");
        let after = fingerprint(&s)?;
        assert_ne!(before, after, "{b:?}: a fresh key after rectification");
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!(st, 200, "{v}");
        let text = v.to_string();
        assert!(text.contains("Moreau") && text.contains("C-77"), "{b:?}: {text}");
        let (_, hold) = s.get(&dpo, &format!("/api/v1/subjects/{id}/legal-hold"), None)?;
        assert_eq!(hold["reason"], "litige en cours", "{hold}");
        assert_eq!(hold["history"][0]["reason"], "litige en cours", "{hold}");
        // A partial erasure (a client under contract) rotates it again.
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":today,"channel":"email","requester":{"email":"ines@example.fr"},
            "particulars":{"ground":"no_longer_necessary"}}),
        )?;
        let rid = req["id"].as_str().ok_or("id")?.to_string();
        verify_identity(&s, &dpo, &rid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{rid}/fulfil"), json!({}))?;
        assert_eq!((st, v["partial"].as_bool()), (200, Some(true)), "{v}");
        assert_ne!(fingerprint(&s)?, after, "{b:?}: a fresh key after partial erasure");
        let (st, v) = s.get(&dpo, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!(st, 200, "{v}");
        assert!(v.to_string().contains("C-77"), "{v}");
    }
    Ok(())
}

/// Issue 9: the disk holding the database is lost; the master key and the erasure journal were
/// kept apart: restoring an older backup onto a new data directory keeps the erased erased.
#[test]
fn a_backup_restored_onto_a_lost_disk_keeps_the_erased_erased() -> R {
    let dir = std::env::temp_dir().join(format!("vigie-lost-{}", uuid::Uuid::now_v7()));
    let (data, safe) = (dir.join("data"), dir.join("safe"));
    std::fs::create_dir_all(&safe)?;
    let journal = safe.join("erasures.journal");
    let cli = || {
        let mut c = vigie();
        c.arg("--data-dir").arg(&data).arg("--erasure-journal").arg(&journal);
        c
    };
    let run = |c: &mut Command| -> R<String> {
        let out = c.output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8(out.stdout)?)
    };
    run(cli().arg("init"))?;
    let csv = dir.join("p.csv");
    std::fs::write(
        &csv,
        "kind,collected_at,first_name,email\nprospect,2015-01-01,Léa,lea@example.fr\nprospect,,Inès,ines@example.fr\n",
    )?;
    run(cli().arg("import").arg(&csv))?;
    let backup = dir.join("b.backup");
    run(cli().args(["backup", "--out"]).arg(&backup))?;
    let out = run(cli().args(["retention", "apply"]))?;
    assert!(out.contains("1 erased"), "{out}");
    // The disk is lost; the key was kept with the journal.
    std::fs::copy(data.join("master.key"), safe.join("master.key"))?;
    std::fs::remove_dir_all(&data)?;
    run(cli().arg("--master-key-file").arg(safe.join("master.key")).arg("restore").arg(&backup))?;
    let plan = run(cli().arg("--master-key-file").arg(safe.join("master.key")).args(["retention", "plan", "--json"]))?;
    let plan: Value = serde_json::from_str(&plan)?;
    assert_eq!(plan["due_count"], 0, "the erased prospect did not come back: {plan}");
    let conn = rusqlite::Connection::open(data.join("vigie.db"))?;
    let subjects: i64 = conn.query_row("SELECT count(*) FROM subjects", [], |r| r.get(0))?;
    let erasures: i64 = conn.query_row("SELECT count(*) FROM erasures", [], |r| r.get(0))?;
    assert_eq!((subjects, erasures), (1, 1));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
