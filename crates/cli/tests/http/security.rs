//! Tokens and roles, no personal value at rest or in the logs, a private master key and data directory.

use crate::support::{Backend, R, Server, backends, camille, contains, count, dpo_request, files};
use serde_json::json;
use std::process::Command;

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
fn the_purpose_header_is_an_identifier_never_echoed_nor_kept() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let id = s.create(&staff, camille())?;
        let path = format!("/api/v1/subjects/{id}");
        // An attacker writes a personal value, or 60 KB, where a purpose id goes.
        let long = "x".repeat(60_000);
        for bad in ["Camille Martin, 12 rue de la Paix", long.as_str(), "Customer_Relations", "9lives", "a-b"] {
            let (st, v) = s.get(&staff, &path, Some(bad))?;
            assert_eq!(st, 400, "{b:?}: {v}");
            assert_eq!(v["field"], "Vigie-Purpose", "{v}");
            let text = v.to_string();
            assert!(!text.contains("Camille") && !text.contains("xxxx") && !text.contains("Customer"), "{text}");
        }
        // Well-formed but unknown: refused by the policy, named as an identifier.
        let (st, v) = s.get(&staff, &path, Some("marketing_resale"))?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("unknown_purpose")), "{b:?}: {v}");
        assert_eq!(s.get(&staff, &path, Some("prospect_relations"))?.0, 200);
        // A recorded disclosure checks its purpose and recipient the same way.
        let (st, v) = s.post(
            &staff,
            "/api/v1/disclosures",
            json!({"subject_id": id, "recipient": "accountant", "fields": ["email"], "purpose": "Camille Martin"}),
        )?;
        assert_eq!((st, v["field"].as_str()), (400, Some("purpose")), "{v}");
        assert!(!v.to_string().contains("Camille"), "{v}");
        // Nothing the attacker sent is in the audit trail.
        let (_, trail) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let trail = trail.to_string();
        assert!(!trail.contains("Camille") && !trail.contains("xxxx"), "{b:?}: the trail keeps no caller text");
    }
    Ok(())
}

#[test]
fn answers_are_never_cached_sniffed_framed_or_referred() -> R {
    let s = Server::start(Backend::Sqlite)?;
    let staff = s.token("staff", None)?;
    let id = s.create(&staff, camille())?;
    let res = s
        .http
        .get(format!("{}/api/v1/subjects/{id}", s.base))
        .bearer_auth(&staff)
        .header("Vigie-Purpose", "prospect_relations")
        .send()?;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "personal data is not cached");
    assert_eq!(h.get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
    assert_eq!(h.get("referrer-policy").and_then(|v| v.to_str().ok()), Some("no-referrer"));
    // An error answer too.
    let res = s.http.get(format!("{}/api/v1/subjects/{id}", s.base)).send()?;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    // Vigie's pages may not be framed and run no script.
    for page in ["/privacy", "/rights"] {
        let res = s.http.get(format!("{}{page}", s.base)).send()?;
        assert_eq!(res.status(), 200, "{page}");
        let csp = res.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{page}: {csp}");
        // Styles: the one stylesheet only, served or inlined (by its hash); no other inline style.
        assert!(!csp.contains("unsafe-inline") && csp.contains(vigie_ui::stylesheet_hash()), "{page}: {csp}");
        assert_eq!(res.headers().get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"), "{page}");
    }
    Ok(())
}

#[test]
fn an_identity_document_is_what_its_bytes_say() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let dpo = s.token("dpo", None)?;
        let today = chrono::Utc::now().date_naive().to_string();
        let req = dpo_request(
            &s,
            &dpo,
            json!({"kind":"access","received_at":today,"channel":"email","requester":{"email":"camille.martin@example.fr"}}),
        )?;
        let id = req["id"].as_str().ok_or("id")?;
        let upload = |ct: &str, body: &[u8]| {
            s.send(
                s.http
                    .post(format!("{}/api/v1/requests/{id}/identity-document", s.base))
                    .bearer_auth(&dpo)
                    .header("content-type", ct)
                    .body(body.to_vec()),
            )
        };
        // An executable, a script and a PNG, each labelled as something else.
        for (ct, body) in [
            ("application/pdf", &b"MZ\x90\x00\x03\x00\x00\x00 this program cannot be run in DOS mode"[..]),
            ("image/jpeg", &b"#!/bin/sh\nrm -rf /\n"[..]),
            ("application/pdf", &b"\x89PNG\r\n\x1a\n"[..]),
        ] {
            let (st, v) = upload(ct, body)?;
            assert_eq!(
                (st, v["type"].as_str().map(|t| t.ends_with("unsupported-media-type"))),
                (415, Some(true)),
                "{b:?} {ct}: {v}"
            );
        }
        assert_eq!(count(&s, "SELECT count(*) FROM identity_documents")?, 0, "{b:?}: nothing stored");
        let (st, v) = upload("application/pdf", b"%PDF-1.7\n%scan")?;
        assert_eq!(st, 201, "{b:?}: {v}");
        let (st, _) = upload("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF")?;
        assert_eq!(st, 201, "{b:?}");
    }
    Ok(())
}

#[test]
fn no_role_learns_whether_a_person_is_known() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let auditor = s.token("auditor", None)?;
        let accountant = s.token("recipient", Some("accountant"))?;
        let prospect = s.create(&staff, camille())?;
        let known = "/api/v1/subjects?email=camille.martin%40example.fr";
        let unknown = "/api/v1/subjects?email=nobody%40example.fr";
        // Roles that never read a subject: one answer, known email or not, known id or not.
        for token in [&s.admin, &auditor] {
            let a = s.get(token, known, Some("prospect_relations"))?;
            let b2 = s.get(token, unknown, Some("prospect_relations"))?;
            assert_eq!(a.0, 403, "{b:?}: {}", a.1);
            assert_eq!((a.0, &a.1["rule"]), (b2.0, &b2.1["rule"]), "{b:?}: the same answer whatever the email");
            let by_id = s.get(token, &format!("/api/v1/subjects/{prospect}"), Some("prospect_relations"))?;
            let random =
                s.get(token, &format!("/api/v1/subjects/{}", uuid::Uuid::now_v7()), Some("prospect_relations"))?;
            assert_eq!((by_id.0, &by_id.1["rule"]), (random.0, &random.1["rule"]), "{b:?}");
        }
        // A recipient asking for a prospect it may not read gets what it gets for nobody.
        let a = s.get(&accountant, known, Some("contract_management"))?;
        let b2 = s.get(&accountant, unknown, Some("contract_management"))?;
        assert_eq!((a.0, &a.1), (200, &json!({"subjects": []})), "{b:?}: {}", a.1);
        assert_eq!((b2.0, &b2.1), (200, &json!({"subjects": []})), "{b:?}");
        let by_id = s.get(&accountant, &format!("/api/v1/subjects/{prospect}"), Some("contract_management"))?;
        let random =
            s.get(&accountant, &format!("/api/v1/subjects/{}", uuid::Uuid::now_v7()), Some("contract_management"))?;
        assert_eq!(by_id.0, 404, "{b:?}: {}", by_id.1);
        assert_eq!(by_id.0, random.0);
        assert!(!by_id.1.to_string().contains("prospect") && !by_id.1.to_string().contains("kind"), "{}", by_id.1);
        // The DPO still sees every refusal in the trail.
        let dpo = s.token("dpo", None)?;
        let (_, trail) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        assert!(trail.to_string().contains("subject_kind_not_covered"), "{b:?}: the refusal is audited");
    }
    Ok(())
}

#[test]
fn serve_on_a_busy_port_initialises_nothing() -> R {
    let busy = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = busy.local_addr()?.port();
    let dir = std::env::temp_dir().join(format!("vigie-busy-{}", uuid::Uuid::now_v7()));
    let out = crate::support::vigie()
        .arg("--data-dir")
        .arg(&dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .output()?;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && stderr.contains("cannot listen"), "{stderr}");
    assert!(!stdout.contains("vigie_"), "no admin token is printed: {stdout}");
    assert!(!dir.join("master.key").exists() && !dir.join("vigie.db").exists(), "nothing is initialised");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn readiness_is_apart_from_liveness() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let res = s.http.get(format!("{}/api/v1/ready", s.base)).send()?;
        assert_eq!(res.status(), 200, "{b:?}");
        let v: serde_json::Value = res.json()?;
        assert_eq!((v["ready"].as_bool(), v["failed"].as_array().map(Vec::len)), (Some(true), Some(0)), "{v}");
        assert!(!s.dir.join("data").join(".ready-probe").exists(), "the probe leaves nothing");
        assert_eq!(s.http.get(format!("{}/api/v1/health", s.base)).send()?.status(), 200);
    }
    Ok(())
}

#[test]
fn every_file_vigie_keeps_is_its_users_alone() -> R {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| -> R<u32> { Ok(std::fs::metadata(p)?.permissions().mode() & 0o777) };
    let mut s = Server::start(Backend::Sqlite)?;
    let staff = s.token("staff", None)?;
    s.create(&staff, camille())?;
    let data = s.dir.join("data");
    let loose = |p: &std::path::Path| -> R<Vec<(String, u32)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(p)? {
            let e = e?;
            if e.file_type()?.is_file() && mode(&e.path())? & 0o077 != 0 {
                out.push((e.file_name().to_string_lossy().to_string(), mode(&e.path())?));
            }
        }
        Ok(out)
    };
    assert!(std::fs::read_dir(&data)?.flatten().any(|e| e.file_name() == "vigie.db-wal"), "the WAL is there");
    assert_eq!(loose(&data)?, Vec::<(String, u32)>::new(), "the database, its WAL and shm, the key: 0600");
    // An installation made loose by hand (an old release, a careless copy) is tightened at start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))?;
    for name in ["vigie.db", "vigie.db-wal", "vigie.db-shm", "erasures.journal"] {
        let p = data.join(name);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    s.restart(&[])?;
    assert_eq!(mode(&data)?, 0o700);
    assert_eq!(loose(&data)?, Vec::<(String, u32)>::new());
    // A backup written anywhere is private too.
    let backup = s.dir.join("backup.db");
    let out = s.cli().args(["backup", "--out"]).arg(&backup).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&backup)?, 0o600, "a backup holds everyone's sealed data");
    Ok(())
}

#[test]
fn a_slow_or_flooding_client_holds_nothing_for_long() -> R {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let s = Server::start_with(Backend::Sqlite, &["--http-header-timeout-secs", "1", "--http-max-connections", "4"])?;
    let addr = s.base.trim_start_matches("http://").to_string();
    // Slowloris: headers that never end are cut off at the header timeout.
    let mut slow = std::net::TcpStream::connect(&addr)?;
    slow.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: vigie\r\nX-Slow: ")?;
    slow.set_read_timeout(Some(Duration::from_secs(5)))?;
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    assert!(started.elapsed() < Duration::from_secs(4), "cut off at the header timeout, not left open");
    assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    // A flood of idle connections: beyond the cap, a connection is closed as soon as it is accepted.
    let idle: Vec<_> = (0..4).map(|_| std::net::TcpStream::connect(&addr)).collect::<Result<_, _>>()?;
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = std::net::TcpStream::connect(&addr)?;
    extra.set_read_timeout(Some(Duration::from_secs(3)))?;
    let _ = extra.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: vigie\r\n\r\n");
    let mut answer = Vec::new();
    let _ = extra.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "the fifth connection is not served");
    // The idle ones time out; the server serves again without a restart.
    drop(idle);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(s.get("", "/api/v1/health", None)?.0, 200);
    Ok(())
}

#[test]
fn a_flood_of_the_public_form_is_turned_away_and_writes_nothing() -> R {
    let s = Server::start_with(Backend::Sqlite, &["--rights-form-per-minute", "3"])?;
    let dpo = s.token("dpo", None)?;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..20 {
        let email = format!("flood{i}@example.fr");
        let res = s
            .http
            .post(format!("{}/rights", s.base))
            .form(&[("kind", "access"), ("last_name", "Flood"), ("email", email.as_str())])
            .send()?;
        if res.status() == 429 {
            retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
        }
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|&&st| st == 200).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&st| st == 429).count(), 17, "{statuses:?}");
    assert!(retry_after.as_deref().and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n >= 1), "{retry_after:?}");
    let (_, v) = s.get(&dpo, "/api/v1/requests", None)?;
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(3), "a refused submission writes nothing: {v}");
    Ok(())
}

#[test]
fn a_flood_of_token_calls_from_one_address_is_turned_away_and_writes_nothing() -> R {
    let s = Server::start_with(Backend::Sqlite, &["--api-per-minute", "30"])?;
    let staff = s.token("staff", None)?;
    let before = s.audit_entries()?;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..60 {
        let res = s
            .http
            .post(format!("{}/api/v1/subjects", s.base))
            .bearer_auth(&staff)
            .json(&json!({"kind":"prospect","identity":{"first_name":format!("F{i}")}}))
            .send()?;
        if res.status() == 429 {
            retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
            let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
            assert_eq!(ct.as_deref(), Some("application/problem+json"));
        }
        statuses.push(res.status().as_u16());
    }
    let created = statuses.iter().filter(|&&st| st == 201).count();
    assert!((30..=31).contains(&created), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&st| st == 429).count(), 60 - created, "{statuses:?}");
    assert!(retry_after.as_deref().and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n >= 1), "{retry_after:?}");
    // A guessed token is counted too: guessing is no way round the limit.
    let res = s.http.get(format!("{}/api/v1/policy", s.base)).bearer_auth("vigie_guess").send()?;
    assert_eq!(res.status(), 429);
    // Only the accepted calls wrote anything.
    assert_eq!(count(&s, "SELECT count(*) FROM subjects")?, i64::try_from(created)?, "a refused call writes nothing");
    assert_eq!(s.audit_entries()?, before + u64::try_from(created)?, "nor audits anything");
    // Unlimited when set to 0.
    let s = Server::start_with(Backend::Sqlite, &["--api-per-minute", "0"])?;
    for _ in 0..100 {
        assert_eq!(s.get(&s.admin, "/api/v1/policy", None)?.0, 200);
    }
    Ok(())
}

#[test]
fn tokens_are_listed_without_secrets_and_revoked_at_once() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        assert_eq!(s.get(&staff, "/api/v1/policy", None)?.0, 200);
        let (st, v) = s.get(&s.admin, "/api/v1/tokens", None)?;
        assert_eq!(st, 200, "{b:?}: {v}");
        let tokens = v["tokens"].as_array().ok_or("tokens")?;
        assert!(tokens.len() >= 2 && tokens.iter().all(|t| t.get("hash").is_none()), "{v}");
        assert!(!v.to_string().contains(&staff[6..20]), "no secret is listed");
        assert_eq!(s.get(&staff, "/api/v1/tokens", None)?.0, 403, "only the admin lists tokens");
        let id = tokens.iter().find(|t| t["role"] == "staff").and_then(|t| t["id"].as_str()).ok_or("staff token")?;
        let revoke = |token: &str| s.send(s.http.delete(format!("{}/api/v1/tokens/{id}", s.base)).bearer_auth(token));
        assert_eq!(revoke(&staff)?.0, 403, "a token cannot revoke as admin");
        assert_eq!(revoke(&s.admin)?.0, 204);
        assert_eq!(s.get(&staff, "/api/v1/policy", None)?.0, 401, "{b:?}: refused at once");
        assert_eq!(revoke(&s.admin)?.0, 404, "revoked once");
        let out = s.cli().args(["token", "list"]).output()?;
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(listed.lines().any(|l| l.starts_with(id) && l.contains("revoked")), "{listed}");
        let (_, trail) = s.get(&s.admin, "/api/v1/audit/verify", None)?;
        assert_eq!(trail["valid"], true);
    }
    Ok(())
}

#[test]
fn tokens_expire_and_those_reading_personal_data_are_told_to_the_dpo() -> R {
    for b in backends() {
        let (s, smtp) = Server::with_mail(b)?;
        // Lifetimes a careless admin or an attacker might send: each refused, nothing made.
        for bad in ["0s", "-1s", "1y", "12", "h", "", "1.5h", "99999999999999999999d", "3661d", " 1d x"] {
            let (st, v) = s.post(&s.admin, "/api/v1/tokens", json!({"role":"staff","expires_in":bad}))?;
            assert_eq!((st, v["field"].as_str()), (400, Some("expires_in")), "{b:?} {bad:?}: {v}");
        }
        assert_eq!(s.post(&s.admin, "/api/v1/tokens", json!({"role":"staff","expires_in":90}))?.0, 400);
        let (_, v) = s.get(&s.admin, "/api/v1/tokens", None)?;
        assert_eq!(v["tokens"].as_array().map(Vec::len), Some(1), "a refused creation makes no token: {v}");

        let (st, v) = s.post(&s.admin, "/api/v1/tokens", json!({"role":"staff","expires_in":"2s"}))?;
        assert_eq!(st, 201, "{v}");
        let (staff, id) = (v["token"].as_str().ok_or("token")?.to_string(), v["id"].as_str().ok_or("id")?.to_string());
        assert!(v["expires_at"].is_string(), "{v}");
        assert_eq!(s.get(&staff, "/api/v1/policy", None)?.0, 200, "valid until it expires");
        let (_, auditor) = s.post(&s.admin, "/api/v1/tokens", json!({"role":"auditor","expires_in":"90d"}))?;
        assert_eq!(auditor["expires_at"].as_str().map(|e| e[..4].parse::<i32>().is_ok()), Some(true));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (_, v) = s.get(&s.admin, "/api/v1/tokens", None)?;
        let listed = v["tokens"].as_array().and_then(|t| t.iter().find(|t| t["id"] == id.as_str()).cloned());
        let listed = listed.ok_or("the token is listed")?;
        assert!(listed["last_used_at"].is_string() && listed["expires_at"].is_string(), "{listed}");
        std::thread::sleep(std::time::Duration::from_millis(2000));
        let (st, v) = s.get(&staff, "/api/v1/policy", None)?;
        assert_eq!(st, 401, "{b:?}: an expired token is refused: {v}");

        // The CLI takes the same lifetimes, and refuses the same bad ones.
        let out = s.cli().args(["token", "create", "--role", "dpo", "--expires-in", "12h"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let dpo = String::from_utf8(out.stdout)?.trim().to_string();
        assert_eq!(s.get(&dpo, "/api/v1/requests", None)?.0, 200);
        let out = s.cli().args(["token", "create", "--role", "dpo", "--expires-in", "forever"]).output()?;
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("expires_in"));
        let out = s.cli().args(["token", "list"]).output()?;
        let list = String::from_utf8_lossy(&out.stdout);
        assert!(list.lines().any(|l| l.starts_with(id.as_str()) && l.contains("expired")), "{list}");

        // Revoking the DPO token: the DPO is told of the three tokens that read personal data
        // (staff created, dpo created, dpo revoked), never of the auditor's, and never a secret.
        let dpo_id = {
            let (_, v) = s.get(&s.admin, "/api/v1/tokens", None)?;
            let t = v["tokens"].as_array().and_then(|t| t.iter().rev().find(|t| t["role"] == "dpo").cloned());
            t.and_then(|t| t["id"].as_str().map(str::to_string)).ok_or("dpo token")?
        };
        let st = s.send(s.http.delete(format!("{}/api/v1/tokens/{dpo_id}", s.base)).bearer_auth(&s.admin))?.0;
        assert_eq!(st, 204);
        let mail = smtp.wait_for_all(3);
        assert_eq!(mail.len(), 3, "{b:?}: {mail:?}");
        assert!(mail.iter().all(|m| m.contains("dpo-msi@racine.eu") || m.contains("dpo")), "{mail:?}");
        assert!(mail.iter().any(|m| m.contains("staff") && m.contains(id.as_str())), "{mail:?}");
        assert!(mail.iter().any(|m| m.contains("revoked") && m.contains(dpo_id.as_str())), "{mail:?}");
        assert!(!mail.iter().any(|m| m.contains("auditor")), "{mail:?}");
        assert!(!mail.iter().any(|m| m.contains(&staff[6..20]) || m.contains(&dpo[6..20])), "no secret is mailed");
        let (_, v) = s.get(&s.admin, "/api/v1/audit/verify", None)?;
        assert_eq!(v["valid"], true);
    }
    Ok(())
}

#[test]
fn notices_written_to_a_directory_are_private_and_go_with_their_subject() -> R {
    use crate::support::{person, verify_identity};
    use std::os::unix::fs::PermissionsExt;
    for b in backends() {
        let outbox = std::env::temp_dir().join(format!("vigie-outbox-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&outbox)?;
        std::fs::set_permissions(&outbox, std::fs::Permissions::from_mode(0o755))?;
        let left = outbox.join("left-from-before.eml");
        std::fs::write(&left, "x")?;
        std::fs::set_permissions(&left, std::fs::Permissions::from_mode(0o644))?;
        let dir = outbox.to_str().ok_or("path")?;
        let mut s = Server::start_with(b, &["--outbox-dir", dir, "--outbox-interval-ms", "100"])?;
        let mode = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(&outbox)?, 0o700, "the directory is tightened");
        assert_eq!(mode(&left)?, 0o600, "and what it held");
        let (staff, dpo) = (s.token("staff", None)?, s.token("dpo", None)?);
        let hugo = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        let _camille = s.create(&staff, camille())?;
        let default = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"),
        )?;
        let next = default
            .replace("version = \"2026-1\"", "version = \"2027-1\"")
            .replace("effective_date = \"2026-01-01\"", "effective_date = \"2099-01-01\"")
            .replace("years = 3", "years = 2");
        assert_eq!(s.post(&dpo, "/api/v1/policy/versions", json!({"policy": next}))?.0, 201);
        let emls = || -> Vec<(std::path::PathBuf, String)> {
            files(&outbox)
                .into_iter()
                // (`none-*`: the DPO's notices of the tokens made above, about no subject.)
                .filter(|(p, _)| p.extension().is_some_and(|e| e == "eml") && p != &left)
                .filter(|(p, _)| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("none-")))
                .map(|(p, bytes)| (p, String::from_utf8_lossy(&bytes).into_owned()))
                .collect()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while emls().len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let written = emls();
        assert_eq!(written.len(), 2, "{b:?}");
        assert!(written.iter().all(|(p, _)| mode(p).ok() == Some(0o600)), "each file is its owner's alone");
        assert!(written.iter().any(|(_, m)| m.contains("hugo@example.fr")));

        // Hugo is erased: his notice goes with him; Camille's stays.
        let era = dpo_request(
            &s,
            &dpo,
            json!({"kind":"erasure","received_at":chrono::Utc::now().date_naive().to_string(),"channel":"letter",
                   "requester":{"email":"hugo@example.fr"},"particulars":{"ground":"no_longer_necessary"}}),
        )?;
        let eid = era["id"].as_str().ok_or("id")?;
        verify_identity(&s, &dpo, eid)?;
        let (st, v) = s.post(&dpo, &format!("/api/v1/requests/{eid}/fulfil"), json!({}))?;
        assert_eq!((st, v["erased"].as_bool()), (200, Some(true)), "{v}");
        let after = emls();
        assert!(!after.iter().any(|(_, m)| m.contains("hugo@example.fr")), "{b:?}: erased with its subject");
        assert!(after.iter().any(|(_, m)| m.contains("camille")), "{b:?}: others stay");

        // A file of an erased subject left behind (a crash after the erasure, a copy put back)
        // is deleted at the next start.
        let stale = outbox.join(format!("{}-999999.eml", uuid::Uuid::parse_str(&hugo)?.simple()));
        std::fs::write(&stale, "To: hugo@example.fr")?;
        s.restart(&["--outbox-dir", dir, "--outbox-interval-ms", "100"])?;
        assert!(!stale.exists(), "{b:?}: an erased subject's file is deleted at start");
        drop(s);
        let _ = std::fs::remove_dir_all(&outbox);
    }
    Ok(())
}

/// A small file system of its own (tmpfs), unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_answered_507_and_writes_resume_once_there_is_room() -> R {
    let dir = std::env::temp_dir().join(format!("vigie-full-{}", uuid::Uuid::now_v7()));
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    // Root on the CI machine mounts a 24 MiB tmpfs: the data directory fills up for real.
    let mounted =
        Command::new("mount").args(["-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs"]).arg(&data).status()?;
    assert!(mounted.success(), "this test needs to mount a tmpfs (run as root)");
    let _disk = SmallDisk(data.clone());
    let (mut child, base, admin) = crate::support::spawn(&dir, None, &[])?;
    let http = reqwest::blocking::Client::new();
    let token = |role: &str| -> R<String> {
        let res = http.post(format!("{base}/api/v1/tokens")).bearer_auth(&admin).json(&json!({"role": role})).send()?;
        let v: serde_json::Value = res.json()?;
        Ok(v["token"].as_str().ok_or("token")?.to_string())
    };
    let staff = token("staff")?;
    let create = |i: usize| -> R<(u16, Option<String>, serde_json::Value)> {
        let res = http
            .post(format!("{base}/api/v1/subjects"))
            .bearer_auth(&staff)
            .json(&json!({"kind":"prospect","identity":{"first_name":format!("Plein{i}"),"email":format!("p{i}@example.fr")}}))
            .send()?;
        let status = res.status().as_u16();
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok((status, ct, res.json().unwrap_or_default()))
    };
    assert_eq!(create(0)?.0, 201);
    // Fill what is left of the disk.
    let filler = data.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler)?;
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let mut answers = Vec::new();
    for i in 1..=20 {
        answers.push(create(i)?);
    }
    let full: Vec<_> = answers.iter().filter(|(st, _, _)| *st == 507).collect();
    assert!(!full.is_empty(), "a full disk is answered 507: {answers:?}");
    assert!(answers.iter().all(|(st, _, _)| *st == 201 || *st == 507), "never a 500: {answers:?}");
    let (_, ct, v) = full[0];
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    assert_eq!(v["type"], "urn:vigie:problem:insufficient-storage", "{v}");
    assert!(!v.to_string().contains("example.fr"), "no value in the answer: {v}");
    let ready = http.get(format!("{base}/api/v1/ready")).send()?;
    assert_eq!(ready.status(), 503, "not ready while the disk is full");
    // Room again: writes resume, without a restart.
    std::fs::remove_file(&filler)?;
    let (st, _, v) = create(100)?;
    assert_eq!(st, 201, "writes resume once there is room: {v}");
    let out = crate::support::vigie().arg("--data-dir").arg(&data).args(["audit", "verify"]).output()?;
    assert!(out.status.success(), "the trail is whole: {}", String::from_utf8_lossy(&out.stdout));
    let _ = child.kill();
    let _ = child.wait();
    drop(_disk);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A request refused before its body is looked at (a token refused, here) still has its body read:
/// the connection stays usable, and the next request on it is answered, even when the body
/// arrives after the refusal was written.
#[test]
fn a_refused_request_leaves_its_connection_usable() -> R {
    use std::io::{Read, Write};
    use std::time::Duration;
    let s = Server::start(Backend::Sqlite)?;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let body = r#"{"kind":"prospect","identity":{"email":"late@example.fr"}}"#;
    write!(
        conn,
        "POST /api/v1/subjects HTTP/1.1\r\nHost: vigie\r\nAuthorization: Bearer not-a-token\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    conn.flush()?;
    // The body comes late, then the next request on the same connection.
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(body.as_bytes())?;
    conn.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: vigie\r\n\r\n")?;
    conn.flush()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("HTTP/1.1 200") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 401"), "the refusal first: {text}");
    assert!(text.contains("HTTP/1.1 200"), "then the next request on the same connection: {text}");
    Ok(())
}
