//! The shared harness: the `vigie` binary, a server on a real port per backend, an HTTP client,
//! a loopback SMTP server, and reads and writes of the database behind Vigie's back.

use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub(crate) type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) fn backends() -> Vec<Backend> {
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

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) admin: String,
    pub(crate) dir: PathBuf,
    pub(crate) db_url: Option<String>,
    guard: Option<vigie_store_postgres::testing::DropGuard>,
    pub(crate) http: Client,
    pub(crate) backend: Backend,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.guard.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn vigie() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigie"));
    c.env_remove("VIGIE_DATABASE_URL")
        .env_remove("VIGIE_DATA_DIR")
        .env_remove("VIGIE_POLICY_FILE")
        .env_remove("VIGIE_MASTER_KEY_FILE");
    c
}

/// Starts `vigie serve` on port 0 and reads its address (and first admin token) from its output.
/// The daily sweep is off unless `extra` sets it, so that no test races it.
pub(crate) fn spawn(dir: &Path, db_url: Option<&str>, extra: &[&str]) -> R<(Child, String, String)> {
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
    pub(crate) fn start(backend: Backend) -> R<Server> {
        Server::start_with(backend, &[])
    }

    pub(crate) fn start_with(backend: Backend, extra: &[&str]) -> R<Server> {
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

    /// Starts a server that delivers its notices every 100 ms to a loopback SMTP server.
    pub(crate) fn with_mail(backend: Backend) -> R<(Server, Smtp)> {
        let smtp = Smtp::start()?;
        let url = format!("smtp://127.0.0.1:{}", smtp.port);
        let s = Server::start_with(backend, &["--smtp-url", &url, "--outbox-interval-ms", "100"])?;
        Ok((s, smtp))
    }

    /// Starts a server (SQLite) on a copy of a data directory, such as one an earlier release wrote.
    pub(crate) fn start_on_copy(data: &Path) -> R<Server> {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vigie-test-{}", uuid::Uuid::now_v7()));
        let copy = dir.join("data");
        std::fs::create_dir_all(&copy)?;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o700))?;
        for entry in std::fs::read_dir(data)? {
            let entry = entry?;
            std::fs::copy(entry.path(), copy.join(entry.file_name()))?;
        }
        // Git keeps no file mode but the executable bit: the key is made private again.
        std::fs::set_permissions(copy.join("master.key"), std::fs::Permissions::from_mode(0o600))?;
        let (child, base, admin) = spawn(&dir, None, &[])?;
        let http = Client::builder().build()?;
        Ok(Server { child, base, admin, dir, db_url: None, guard: None, http, backend: Backend::Sqlite })
    }

    /// Stops the server and starts it again on the same data, with other flags.
    pub(crate) fn restart(&mut self, extra: &[&str]) -> R {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, base, _) = spawn(&self.dir, self.db_url.as_deref(), extra)?;
        self.child = child;
        self.base = base;
        Ok(())
    }

    /// The `vigie` command on this server's data directory and database.
    pub(crate) fn cli(&self) -> Command {
        let mut c = vigie();
        c.arg("--data-dir").arg(self.dir.join("data"));
        if let Some(u) = &self.db_url {
            c.env("VIGIE_DATABASE_URL", u);
        }
        c
    }

    pub(crate) fn token(&self, role: &str, recipient: Option<&str>) -> R<String> {
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

    pub(crate) fn send(&self, req: reqwest::blocking::RequestBuilder) -> R<(u16, Value)> {
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

    pub(crate) fn post(&self, token: &str, path: &str, body: Value) -> R<(u16, Value)> {
        self.send(self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body))
    }

    pub(crate) fn get(&self, token: &str, path: &str, purpose: Option<&str>) -> R<(u16, Value)> {
        let mut req = self.http.get(format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(p) = purpose {
            req = req.header("Vigie-Purpose", p);
        }
        self.send(req)
    }

    pub(crate) fn create(&self, token: &str, body: Value) -> R<String> {
        let (status, v) = self.post(token, "/api/v1/subjects", body)?;
        assert_eq!(status, 201, "{v}");
        Ok(v["id"].as_str().ok_or("no id")?.to_string())
    }

    pub(crate) fn audit_entries(&self) -> R<u64> {
        let out = self.cli().args(["audit", "verify"]).output()?;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout)?;
        Ok(text.split_whitespace().find_map(|w| w.parse().ok()).ok_or("no count")?)
    }
}

pub(crate) fn camille() -> Value {
    json!({"kind":"prospect","collected_at":"2023-06-01T09:00:00Z","provenance":"provided",
           "identity":{"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr",
                       "phone":"+33612345678","company":"Atelier Martin","job_title":"Gérante"}})
}

pub(crate) fn person(first: &str, email: &str, kind: &str) -> Value {
    json!({"kind": kind, "identity": {"first_name": first, "last_name": "Durand", "email": email}})
}

/// Runs SQL against the server's database, outside Vigie, as an attacker with database access would.
pub(crate) fn tamper(s: &Server, sql: &str) -> R {
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

pub(crate) fn verify(s: &Server) -> R<(bool, String)> {
    let out = s.cli().args(["audit", "verify"]).output()?;
    Ok((
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    ))
}

/// Every file below `dir`, read whole.
pub(crate) fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A count from the server's database, read outside Vigie.
pub(crate) fn count(s: &Server, sql: &str) -> R<i64> {
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

pub(crate) fn delete(s: &Server, token: &str, path: &str, body: Value) -> R<(u16, Value)> {
    s.send(s.http.delete(format!("{}{path}", s.base)).bearer_auth(token).json(&body))
}

/// A real SMTP server on loopback, enough for a client to deliver to it:
/// it records every message, and can be told to refuse for a while.
pub(crate) struct Smtp {
    pub(crate) port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub(crate) refusing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Smtp {
    pub(crate) fn start() -> R<Smtp> {
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

    /// Every message received, the DPO's notices of tokens included.
    pub(crate) fn messages(&self) -> Vec<String> {
        self.received.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits for `n` messages, the DPO's notices of tokens left out (tests make tokens freely).
    pub(crate) fn wait_for(&self, n: usize) -> Vec<String> {
        let about_people =
            || -> Vec<String> { self.messages().into_iter().filter(|m| !m.contains("Message-ID: <token.")).collect() };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while about_people().len() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        about_people()
    }

    /// Waits for `n` messages, of any kind.
    pub(crate) fn wait_for_all(&self, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.messages().len() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.messages()
    }
}

pub(crate) fn dpo_request(s: &Server, dpo: &str, body: Value) -> R<Value> {
    let (st, v) = s.post(dpo, "/api/v1/requests", body)?;
    assert_eq!(st, 201, "{v}");
    Ok(v)
}

pub(crate) fn verify_identity(s: &Server, dpo: &str, id: &str) -> R {
    let (st, v) = s.post(
        dpo,
        &format!("/api/v1/requests/{id}/identity"),
        json!({"decision":"verified","document":"national_id_card"}),
    )?;
    assert_eq!((st, v["status"].as_str()), (200, Some("in_progress")), "{v}");
    Ok(())
}
