//! TLS to the server, against the test server (`VIGIE_TEST_DATABASE_URL`, which must offer
//! TLS: `ssl = on`, as .ci/run makes sure). Its own certificate (`SHOW ssl_cert_file`, a
//! self-signed one in CI) serves as `sslrootcert`. Without the variable the tests pass with a
//! note on stderr, except in CI (`CI` set), where they fail.

use std::net::ToSocketAddrs;
use vigie_store_postgres::Postgres;
use vigie_store_postgres::testing::{DropGuard, fresh_database};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Stands in a URL as a password (the local server trusts loopback connections and ignores
/// it): it must never come back in an error.
const SECRET: &str = "hunter2-never-shown";

fn server_url() -> Option<String> {
    match std::env::var("VIGIE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(std::env::var_os("CI").is_none(), "VIGIE_TEST_DATABASE_URL must be set in CI");
            eprintln!("note: VIGIE_TEST_DATABASE_URL is not set; PostgreSQL TLS tests skipped");
            None
        }
    }
}

/// A fresh database, and the parts of its connection string the tests rebuild it from.
struct Db {
    _guard: DropGuard,
    user: String,
    port: u16,
    dbname: String,
}

impl Db {
    fn new() -> Result<Option<Db>, Box<dyn std::error::Error>> {
        let Some(server) = server_url() else { return Ok(None) };
        let (url, guard) = fresh_database(&server)?;
        let config: postgres::Config = url.parse()?;
        Ok(Some(Db {
            user: config.get_user().unwrap_or("postgres").to_string(),
            port: config.get_ports().first().copied().unwrap_or(5432),
            dbname: guard.name().to_string(),
            _guard: guard,
        }))
    }

    /// A URL for this database on `host`, with a password and `params`.
    fn url(&self, host: &str, params: &str) -> String {
        let Db { user, port, dbname, .. } = self;
        let sep = if params.is_empty() { "" } else { "?" };
        format!("postgres://{user}:{SECRET}@{host}:{port}/{dbname}{sep}{params}")
    }
}

/// Whether the connection `url` opens is encrypted, as the server sees it.
fn encrypted(url: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let mut client = Postgres::open(url)?.raw_client()?;
    let ssl: bool = client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])?.get(0);
    Ok(ssl)
}

/// The error `url` fails to open with: it must name no secret.
fn refused(url: &str) -> String {
    match Postgres::open(url) {
        Ok(_) => unreachable!("opened, expected a refusal: {}", url.replace(SECRET, "***")),
        Err(e) => {
            let e = e.to_string();
            assert!(!e.contains(SECRET) && !e.contains("never-shown"), "the error shows the password: {e}");
            e
        }
    }
}

/// The server's certificate file, to trust as a CA.
fn server_cert(db: &Db) -> Result<String, Box<dyn std::error::Error>> {
    let mut client = Postgres::open(&db.url("127.0.0.1", "sslmode=disable"))?.raw_client()?;
    let on: String = client.query_one("SHOW ssl", &[])?.get(0);
    assert_eq!(on, "on", "the test server must offer TLS (ssl = on)");
    Ok(client.query_one("SHOW ssl_cert_file", &[])?.get(0))
}

/// A name the server's certificate is issued for that resolves to this machine, if any.
fn certified_loopback_name(cert: &str) -> Result<Option<String>, Box<dyn std::error::Error>> {
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_file(cert)?;
    let parsed = rustls::server::ParsedCertificate::try_from(&der)?;
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default().trim().to_string();
    for name in ["localhost".to_string(), hostname] {
        let Ok(server_name) = rustls::pki_types::ServerName::try_from(name.clone()) else { continue };
        let loopback = (name.as_str(), 5432).to_socket_addrs().is_ok_and(|mut a| a.all(|a| a.ip().is_loopback()));
        if loopback && rustls::client::verify_server_name(&parsed, &server_name).is_ok() {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

#[test]
fn sslmode_disable_is_plain_text_and_require_is_encrypted() -> TestResult {
    let Some(db) = Db::new()? else { return Ok(()) };
    assert!(!encrypted(&db.url("127.0.0.1", "sslmode=disable"))?);
    assert!(encrypted(&db.url("127.0.0.1", "sslmode=require"))?);
    // The default is libpq's `prefer`: encrypted when the server offers it.
    assert!(encrypted(&db.url("127.0.0.1", ""))?);
    // The key=value form too.
    let kv = format!(
        "host=127.0.0.1 port={} user={} password={SECRET} dbname={} sslmode=require",
        db.port, db.user, db.dbname
    );
    assert!(encrypted(&kv)?);
    Ok(())
}

#[test]
fn a_store_runs_over_tls() -> TestResult {
    let Some(db) = Db::new()? else { return Ok(()) };
    let backend = std::sync::Arc::new(Postgres::open(&db.url("127.0.0.1", "sslmode=require"))?);
    let store = vigie_store::Store::start(backend)?;
    let n = store.read_blocking(|tx| tx.count_suppressed())?;
    assert_eq!(n, 0);
    Ok(())
}

#[test]
fn verify_ca_and_verify_full_check_the_certificate() -> TestResult {
    let Some(db) = Db::new()? else { return Ok(()) };
    let cert = server_cert(&db)?;
    let root = format!("sslrootcert={cert}");
    // verify-ca: the chain, not the name (an IP address the certificate does not name).
    assert!(encrypted(&db.url("127.0.0.1", &format!("sslmode=verify-ca&{root}")))?);
    // libpq: `require` with a root certificate verifies it as verify-ca does.
    assert!(encrypted(&db.url("127.0.0.1", &format!("sslmode=require&{root}")))?);
    // verify-full: the chain and the host name.
    let e = refused(&db.url("127.0.0.1", &format!("sslmode=verify-full&{root}")));
    assert!(e.contains("certificate") && e.contains("127.0.0.1"), "{e}");
    match certified_loopback_name(&cert)? {
        Some(name) => assert!(encrypted(&db.url(&name, &format!("sslmode=verify-full&{root}")))?),
        None => eprintln!("note: the server's certificate names no loopback host; verify-full by name not tried"),
    }
    Ok(())
}

#[test]
fn an_untrusted_certificate_is_refused_with_a_clear_error() -> TestResult {
    let Some(db) = Db::new()? else { return Ok(()) };
    let host = certified_loopback_name(&server_cert(&db)?)?.unwrap_or_else(|| "127.0.0.1".into());
    // No sslrootcert: Mozilla's public roots, which did not sign a self-signed certificate.
    for mode in ["verify-full", "verify-ca"] {
        let e = refused(&db.url(&host, &format!("sslmode={mode}")));
        assert!(e.contains("TLS") && e.contains("certificate") && e.contains("UnknownIssuer"), "{e}");
        assert!(e.contains(mode), "the error names the sslmode: {e}");
    }
    // A CA file that is not one.
    let e = refused(&db.url(&host, "sslmode=verify-full&sslrootcert=/nonexistent/root.crt"));
    assert!(e.contains("sslrootcert /nonexistent/root.crt: cannot read"), "{e}");
    Ok(())
}

#[test]
fn the_password_is_never_in_an_error() -> TestResult {
    let Some(db) = Db::new()? else { return Ok(()) };
    for url in [
        db.url("127.0.0.1", "sslmode=allow"),
        db.url("127.0.0.1", &format!("sslmode={SECRET}")),
        db.url("127.0.0.1", &format!("connect_timeout={SECRET}")),
        format!("postgres://{}:hunter2?never-shown@127.0.0.1:{}/{}", db.user, db.port, db.dbname),
        format!("postgres://{}:{SECRET}@127.0.0.1:1/{}?sslmode=require", db.user, db.dbname),
        format!("postgres://{}:{SECRET}@127.0.0.1:{}/no_such_database_here", db.user, db.port),
        format!("host=127.0.0.1 password='{SECRET}' port=notaport"),
        format!("host=127.0.0.1 password='{SECRET}"),
    ] {
        refused(&url);
    }
    let debug = format!("{:?}", Postgres::open(&db.url("127.0.0.1", "sslmode=require"))?);
    assert!(!debug.contains(SECRET), "{debug}");
    Ok(())
}
