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
