//! Operations: the settings file, secrets read from files, JSON logs, completions and the manual.

use crate::support::*;

fn temp_dir() -> R<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("vigie-ops-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn output(c: &mut std::process::Command) -> R<(bool, String, String)> {
    let out = c.output()?;
    Ok((out.status.success(), String::from_utf8(out.stdout)?, String::from_utf8(out.stderr)?))
}

#[test]
fn the_default_settings_file_runs_the_server_as_is_and_json_logs_are_json() -> R {
    for b in backends() {
        let dir = temp_dir()?;
        let file = dir.join("vigie.toml");
        let (ok, text, _) = output(vigie().args(["config", "default"]))?;
        assert!(ok);
        std::fs::write(&file, &text)?;
        let path = file.to_string_lossy().to_string();
        let s = Server::start_with(b, &["--config", &path, "--log-format", "json"])?;
        let (status, _) = s.get(&s.admin, "/api/v1/tokens", None)?;
        assert_eq!(status, 200, "{b:?}");
        // The log is JSON lines, and carries the path, never a query string.
        let _ = s.get(&s.admin, "/api/v1/subjects?email=camille.secret%40example.fr", Some("customer_service"))?;
        let log = std::fs::read_to_string(s.dir.join("server.log"))?;
        let mut lines = 0;
        for line in log.lines().filter(|l| l.starts_with('{')) {
            let v: serde_json::Value = serde_json::from_str(line)?;
            assert!(v.get("level").is_some() && v.get("timestamp").is_some(), "{line}");
            lines += 1;
        }
        assert!(lines > 3, "{b:?}: JSON log lines expected: {log}");
        assert!(!log.contains("camille.secret"), "{b:?}: a query string in the log");
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

#[test]
fn a_bad_settings_file_names_the_file_and_the_key_and_nothing_starts() -> R {
    let dir = temp_dir()?;
    let data = dir.join("data");
    for (text, key) in [
        ("outbox_interval_ms = \"soon\"\n", "outbox_interval_ms"),
        ("lisen = \"127.0.0.1:0\"\n", "lisen"),
        ("retention_sweep_at = \"25:61\"\n", "retention_sweep_at"),
        ("http_header_timeout_secs = 600\n", "http_header_timeout_secs"),
    ] {
        let file = dir.join("bad.toml");
        std::fs::write(&file, text)?;
        let (ok, _, err) = output(vigie().arg("--data-dir").arg(&data).arg("--config").arg(&file).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]))?;
        assert!(!ok, "{text}");
        assert!(err.contains(&file.display().to_string()) && err.contains(key), "{text}: {err}");
        assert!(!data.exists(), "nothing is initialised by a server that does not start");
        // VIGIE_CONFIG names the file as well.
        let (ok, _, err) = output(vigie().arg("--data-dir").arg(&data).env("VIGIE_CONFIG", &file).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]))?;
        assert!(!ok && err.contains(key), "{err}");
    }
    // A file named but absent is an error, not defaults.
    let (ok, _, err) = output(vigie().arg("--config").arg(dir.join("absent.toml")).args(["config", "show"]))?;
    assert!(!ok && err.contains("absent.toml"), "{err}");
    // Variables override the file and flags override variables.
    let file = dir.join("layers.toml");
    std::fs::write(&file, "data_dir = \"/from/file\"\nlog_format = \"json\"\napi_per_minute = 7\n")?;
    let (ok, shown, err) =
        output(vigie().arg("--config").arg(&file).env("VIGIE_DATA_DIR", "/from/variable").args(["config", "show"]))?;
    assert!(ok, "{err}");
    assert!(shown.contains("/from/variable") && shown.contains("Json") && shown.contains("7"), "{shown}");
    let (_, shown, _) = output(vigie().arg("--config").arg(&file).env("VIGIE_DATA_DIR", "/from/variable").args([
        "--data-dir",
        "/from/flag",
        "config",
        "show",
    ]))?;
    assert!(shown.contains("/from/flag"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn secrets_come_from_files_and_are_never_shown() -> R {
    let dir = temp_dir()?;
    let secret = dir.join("db-password");
    std::fs::write(&secret, "s3cret-from-file\n")?;
    let smtp = dir.join("smtp-password");
    std::fs::write(&smtp, "smtp-s3cret\n")?;
    let (ok, shown, err) = output(
        vigie()
            .env("VIGIE_DATABASE_URL", "postgres://vigie:inline-s3cret@db.internal/vigie")
            .env("VIGIE_SMTP_URL", "smtp://mailer:smtp-inline@mail.internal:587")
            .env("VIGIE_DATABASE_PASSWORD_FILE", &secret)
            .args(["config", "show"]),
    )?;
    assert!(ok, "{err}");
    for s in ["inline-s3cret", "smtp-inline", "s3cret-from-file", "smtp-s3cret"] {
        assert!(!shown.contains(s), "{shown}");
    }
    // A URL with a password and a password file: refused, naming the setting.
    let (ok, _, err) = output(
        vigie()
            .env("VIGIE_DATABASE_URL", "postgres://vigie:inline-s3cret@db.internal/vigie")
            .env("VIGIE_DATABASE_PASSWORD_FILE", &secret)
            .args(["token", "list"]),
    )?;
    assert!(!ok && err.contains("database_url") && !err.contains("inline-s3cret"), "{err}");
    // On PostgreSQL, the server runs with its password read from the file (trust auth accepts any).
    for b in backends().into_iter().filter(|b| *b == Backend::Postgres) {
        let mut s = Server::start(b)?;
        let url = s.db_url.clone().ok_or("url")?;
        let user_url = url.replacen("://", "://postgres@", usize::from(!url.contains('@')));
        s.db_url = Some(user_url);
        let path = secret.to_string_lossy().to_string();
        s.restart(&["--database-password-file", &path])?;
        let (status, _) = s.get(&s.admin, "/api/v1/tokens", None)?;
        assert_eq!(status, 200);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn completions_and_the_manual_are_generated() -> R {
    for shell in ["bash", "zsh", "fish"] {
        let (ok, text, err) = output(vigie().args(["completions", shell]))?;
        assert!(ok, "{err}");
        assert!(text.contains("migrate") && text.contains("retention"), "{shell}");
    }
    let (ok, _, _) = output(vigie().args(["completions", "tcsh"]))?;
    assert!(!ok);
    let (ok, text, err) = output(vigie().arg("man"))?;
    assert!(ok, "{err}");
    assert!(text.contains(".TH vigie 1") && text.contains("serve"), "{text}");
    Ok(())
}

/// The value of one series of the text exposition (0 when absent).
fn series(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name_and_labels).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// Every label value of the exposition.
fn label_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((_, rest)) = line.split_once('{') else { continue };
        let Some((labels, _)) = rest.rsplit_once('}') else { continue };
        for pair in labels.split("\",") {
            if let Some((_, v)) = pair.split_once("=\"") {
                out.push(v.trim_end_matches('"').to_string());
            }
        }
    }
    out
}

fn scrape(s: &Server, token: Option<&str>) -> R<(u16, String, String)> {
    let mut req = s.http.get(format!("{}/metrics", s.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send()?;
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    Ok((status, ct, res.text()?))
}

#[test]
fn metrics_need_an_admin_or_auditor_token_move_with_calls_and_carry_no_personal_label() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let (staff, dpo, auditor) = (s.token("staff", None)?, s.token("dpo", None)?, s.token("auditor", None)?);
        assert_eq!(scrape(&s, None)?.0, 401, "{b:?}: no token");
        assert_eq!(scrape(&s, Some("not-a-token"))?.0, 401, "{b:?}");
        assert_eq!(scrape(&s, Some(&staff))?.0, 403, "{b:?}: staff");
        assert_eq!(scrape(&s, Some(&dpo))?.0, 403, "{b:?}: dpo");
        let (status, ct, before) = scrape(&s, Some(&auditor))?;
        assert_eq!(status, 200, "{b:?}");
        assert!(ct.starts_with("text/plain"), "{ct}");
        let created = r#"vigie_http_requests_total{method="POST",route="/api/v1/subjects",status="201"}"#;
        let read = r#"vigie_http_requests_total{method="GET",route="/api/v1/subjects/{id}",status="200"}"#;
        let refused = r#"vigie_read_refusals_total{rule="subject_kind_not_covered"}"#;
        let awaiting = r#"vigie_requests{status="awaiting_identity"}"#;

        let email = "metrics.person@example.fr";
        let id = s.create(&staff, person("Maëlle", email, "prospect"))?;
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{id}"), Some("prospect_relations"))?.0, 200);
        let _ = s.get(&staff, &format!("/api/v1/subjects?email={email}"), Some("prospect_relations"))?;
        let client = s.create(&staff, person("Hugo", "hugo.metrics@example.fr", "client"))?;
        let (st, v) = s.get(&staff, &format!("/api/v1/subjects/{client}"), Some("prospect_relations"))?;
        assert_eq!((st, v["rule"].as_str()), (403, Some("subject_kind_not_covered")), "{v}");
        let body = serde_json::json!({"kind":"access","received_at":"2026-03-31","channel":"letter",
                          "requester":{"first_name":"Maëlle","last_name":"Durand","email": email}});
        let (st, request) = s.post(&dpo, "/api/v1/requests", body)?;
        assert_eq!(st, 201, "{request}");
        let (st, token) = s.post(&s.admin, "/api/v1/tokens", serde_json::json!({"role":"staff"}))?;
        assert_eq!(st, 201, "{token}");

        let (_, _, after) = scrape(&s, Some(&s.admin))?;
        assert_eq!(series(&after, created) - series(&before, created), 2.0, "{b:?}: {after}");
        assert_eq!(series(&after, read) - series(&before, read), 1.0, "{b:?}");
        assert_eq!(series(&after, refused) - series(&before, refused), 1.0, "{b:?}");
        assert_eq!(series(&after, awaiting), 1.0, "{b:?}: gauges read from the database");
        assert!(series(&after, "vigie_store_write_batch_size_count") > 0.0, "{b:?}: the writer's batches");
        assert!(series(&after, "vigie_store_commit_seconds_count") > 0.0, "{b:?}");
        assert!(after.contains("vigie_requests_overdue") && after.contains("vigie_breaches_past_72h"), "{b:?}");
        assert!(after.contains(r#"vigie_outbox_messages{status="pending"}"#), "{b:?}");
        assert!(after.contains("vigie_http_request_duration_seconds_bucket"), "{b:?}");

        // No label carries what the requests named: an email, a subject, request or token id.
        let secrets = [
            email.to_string(),
            "metrics.person".to_string(),
            id.clone(),
            client.clone(),
            request["id"].as_str().unwrap_or("request").to_string(),
            token["id"].as_str().unwrap_or("token").to_string(),
            token["token"].as_str().unwrap_or("secret").to_string(),
        ];
        for secret in &secrets {
            assert!(!after.contains(secret.as_str()), "{b:?}: {secret} in the metrics");
        }
        for v in label_values(&after) {
            assert!(!v.contains('@'), "{b:?}: {v}");
            for segment in v.split('/') {
                assert!(uuid::Uuid::parse_str(segment).is_err(), "{b:?}: an id in a label: {v}");
            }
        }
        // An unknown path is counted as unmatched, never by its path.
        let _ = s.get(&staff, &format!("/no/such/{id}"), None)?;
        let (_, _, last) = scrape(&s, Some(&s.admin))?;
        assert!(last.contains(r#"route="unmatched""#) && !last.contains("/no/such"), "{b:?}");
    }
    Ok(())
}

#[test]
fn metrics_on_their_own_address_need_no_token() -> R {
    for b in backends() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        let s = Server::start_with(b, &["--metrics-listen", &addr])?;
        let res = s.http.get(format!("http://{addr}/metrics")).send()?;
        assert_eq!(res.status().as_u16(), 200, "{b:?}");
        let text = res.text()?;
        assert!(text.contains("vigie_requests_overdue"), "{b:?}: {text}");
        // Only /metrics is served there.
        assert_eq!(s.http.get(format!("http://{addr}/api/v1/health")).send()?.status().as_u16(), 404);
        // The main address still wants a token.
        assert_eq!(scrape(&s, None)?.0, 401);
    }
    Ok(())
}

/// Every table of a database (but the migrations table) with its rows, read from its catalog.
fn table_counts(sqlite: Option<&std::path::Path>, pg: Option<&str>) -> R<std::collections::BTreeMap<String, i64>> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(path) = sqlite {
        let conn = rusqlite::Connection::open(path)?;
        let mut st = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'",
        )?;
        let names: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        for n in names {
            out.insert(n.clone(), conn.query_row(&format!("SELECT count(*) FROM \"{n}\""), [], |r| r.get(0))?);
        }
    }
    if let Some(url) = pg {
        let url = url.to_string();
        let counts = std::thread::spawn(move || -> Result<Vec<(String, i64)>, String> {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
            let names: Vec<String> = c
                .query(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'",
                    &[],
                )
                .map_err(|e| e.to_string())?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut out = Vec::new();
            for n in names {
                let count: i64 =
                    c.query_one(&format!("SELECT count(*) FROM \"{n}\""), &[]).map_err(|e| e.to_string())?.get(0);
                out.push((n, count));
            }
            Ok(out)
        })
        .join()
        .map_err(|_| "thread")??;
        out.extend(counts);
    }
    Ok(out)
}

fn read_identity(http: &reqwest::blocking::Client, base: &str, token: &str, id: &str) -> R<serde_json::Value> {
    let res = http
        .get(format!("{base}/api/v1/subjects/{id}"))
        .bearer_auth(token)
        .header("Vigie-Purpose", "prospect_relations")
        .send()?;
    assert_eq!(res.status().as_u16(), 200);
    let v: serde_json::Value = res.json()?;
    Ok(v["identity"].clone())
}

#[test]
fn migrate_copies_sqlite_to_postgresql_and_back_verified() -> R {
    if !backends().contains(&Backend::Postgres) {
        return Ok(());
    }
    let server_url = std::env::var("VIGIE_TEST_DATABASE_URL")?;
    let mut s = Server::start(Backend::Sqlite)?;
    let (staff, dpo) = (s.token("staff", None)?, s.token("dpo", None)?);
    let id = s.create(&staff, camille())?;
    let other = s.create(&staff, person("Hugo", "hugo.migrate@example.fr", "prospect"))?;
    s.post(
        &staff,
        &format!("/api/v1/subjects/{other}/contracts"),
        serde_json::json!({"reference":"C-1","start":"2024-01-01"}),
    )?;
    let erased = s.create(
        &staff,
        serde_json::json!({"kind":"prospect","collected_at":"2019-01-01T00:00:00Z",
                           "identity":{"first_name":"Old","email":"old.migrate@example.fr"}}),
    )?;
    let body = serde_json::json!({"kind":"access","received_at":"2026-03-31","channel":"letter",
                      "requester":{"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr"}});
    assert_eq!(s.post(&dpo, "/api/v1/requests", body)?.0, 201);
    let hold = s.post(&dpo, &format!("/api/v1/subjects/{other}/legal-hold"), serde_json::json!({"reason":"litige"}))?;
    assert_eq!(hold.0, 201, "{}", hold.1);
    let out = s.cli().args(["retention", "apply"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = read_identity(&s.http, &s.base, &staff, &id)?;

    let (pg_url, _pg) = vigie_store_postgres::testing::fresh_database(&server_url)?;
    // Refused while the server runs.
    let out = s.cli().args(["migrate", "--to", &pg_url]).output()?;
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("running"));
    let _ = s.child.kill();
    let _ = s.child.wait();
    let sqlite = s.dir.join("data").join("vigie.db");
    let source = table_counts(Some(&sqlite), None)?;
    // A database at Vigie's schema but empty (an earlier attempt that failed left it so) is taken.
    drop(vigie_store_postgres::Postgres::open(&pg_url)?);
    let out = s.cli().args(["migrate", "--to", &pg_url]).output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("audit trail valid") && text.contains("subjects decrypted"), "{text}");
    // Every table of the schema, with its rows; the audit trail has the migration's entry more.
    let copied = table_counts(None, Some(&pg_url))?;
    assert_eq!(source.keys().collect::<Vec<_>>(), copied.keys().collect::<Vec<_>>(), "the same tables");
    for (table, n) in &source {
        let expected = if table == "audit" { n + 1 } else { *n };
        assert_eq!(copied[table], expected, "{table}");
    }
    for table in ["subjects", "subject_keys", "requests", "erasures", "tokens", "meta", "legal_hold_events", "outbox"] {
        assert!(source[table] > 0, "the test fills {table}");
    }
    // A second copy into the same database is refused: it is no longer empty.
    let out = s.cli().args(["migrate", "--to", &pg_url]).output()?;
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("empty"));

    // The server on PostgreSQL: the same subjects, tokens, erasures, and a valid trail.
    let (mut child, base, _) = spawn(&s.dir, Some(&pg_url), &[])?;
    assert_eq!(read_identity(&s.http, &base, &staff, &id)?, before);
    let res = s
        .http
        .get(format!("{base}/api/v1/subjects/{erased}"))
        .bearer_auth(&staff)
        .header("Vigie-Purpose", "prospect_relations")
        .send()?;
    assert_eq!(res.status().as_u16(), 410, "the erased stay erased");
    // A notice queued after the copy gets an id past the copied ones (the identity sequence moved).
    let new_dpo = |base: &str| -> R<u16> {
        let res = s
            .http
            .post(format!("{base}/api/v1/tokens"))
            .bearer_auth(&s.admin)
            .json(&serde_json::json!({"role":"dpo"}))
            .send()?;
        Ok(res.status().as_u16())
    };
    assert_eq!(new_dpo(&base)?, 201);
    let _ = child.kill();
    let _ = child.wait();
    let mut on_pg = vigie();
    on_pg.arg("--data-dir").arg(s.dir.join("data")).env("VIGIE_DATABASE_URL", &pg_url);
    let out = on_pg.args(["audit", "verify"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // And back to SQLite, in a data directory of its own holding the same key.
    let on_postgres = table_counts(None, Some(&pg_url))?;
    let back = s.dir.join("back");
    std::fs::create_dir_all(&back)?;
    std::fs::copy(s.dir.join("data").join("master.key"), back.join("master.key"))?;
    let target = format!("sqlite:{}", back.join("vigie.db").display());
    let mut c = vigie();
    c.arg("--data-dir").arg(s.dir.join("data")).env("VIGIE_DATABASE_URL", &pg_url);
    let out = c.args(["migrate", "--to", &target]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let round = table_counts(Some(&back.join("vigie.db")), None)?;
    assert_eq!(source.keys().collect::<Vec<_>>(), round.keys().collect::<Vec<_>>());
    for (table, n) in &on_postgres {
        let expected = if table == "audit" { n + 1 } else { *n };
        assert_eq!(round[table], expected, "{table}");
    }
    let runs = std::env::temp_dir().join(format!("vigie-test-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&runs)?;
    std::fs::rename(&back, runs.join("data"))?;
    let (mut child, base, _) = spawn(&runs, None, &[])?;
    assert_eq!(read_identity(&s.http, &base, &staff, &id)?, before);
    assert_eq!(new_dpo(&base)?, 201);
    let _ = child.kill();
    let _ = child.wait();
    let out = vigie().arg("--data-dir").arg(runs.join("data")).args(["audit", "verify"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&runs);
    Ok(())
}

#[test]
fn migrate_refuses_the_same_backend_and_a_bad_target() -> R {
    let mut s = Server::start(Backend::Sqlite)?;
    let _ = s.child.kill();
    let _ = s.child.wait();
    let other = s.dir.join("other.db");
    let out = s.cli().args(["migrate", "--to", &other.display().to_string()]).output()?;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success() && err.contains("same backend"), "{err}");
    assert!(!other.exists(), "nothing is created");
    let out = s.cli().args(["migrate", "--to", "mysql://x@y/z"]).output()?;
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--to"));
    Ok(())
}
