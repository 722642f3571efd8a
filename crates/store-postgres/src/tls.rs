//! TLS to the server, with libpq's connection parameters and meanings, on rustls (ring).
//!
//! `sslmode` in the connection string:
//!
//! | sslmode | encrypted | certificate checked |
//! | --- | --- | --- |
//! | `disable` | never | no |
//! | `prefer` (the default) | if the server offers TLS, else not | no |
//! | `require` | always (refused otherwise) | no; as `verify-ca` when `sslrootcert` is given |
//! | `verify-ca` | always | signed by a trusted CA |
//! | `verify-full` | always | signed by a trusted CA, and issued for the host name |
//!
//! `sslrootcert=/path/ca.pem` names the trusted CAs (PEM, one or more); without it, or with
//! `sslrootcert=system`, the verifying modes trust Mozilla's public roots (webpki-roots).
//!
//! The driver's own parser knows `disable`, `prefer` and `require` only, and refuses
//! unknown parameters: [`target`] takes `sslmode` and `sslrootcert` out of the string
//! (URL or `key=value` form) before handing the rest to it. No error here quotes the
//! connection string: it may hold a password.

use postgres::config::SslMode as DriverMode;
use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;
use vigie_store::{Result, StoreError};

/// libpq's `sslmode` values that Vigie supports (`allow` is not one: it prefers plain text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(StoreError::Backend(
                    "invalid sslmode in the database URL: expected disable, prefer, require, verify-ca or verify-full"
                        .into(),
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A parsed connection string and the TLS it asks for: what every connection is opened with.
#[derive(Clone)]
pub struct Target {
    pub config: Config,
    pub mode: SslMode,
    tls: Option<MakeRustlsConnect>,
    /// The connection string as the driver parses it (for [`Target::connect_async`]; may hold a
    /// password: never printed).
    parsed: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Config's own Debug redacts the password.
        f.debug_struct("Target").field("config", &self.config).field("sslmode", &self.mode.as_str()).finish()
    }
}

impl Target {
    /// Opens a connection, encrypted as `sslmode` asks. A TLS failure says which sslmode
    /// refused it, and what to do when the server's CA is not trusted.
    pub fn connect(&self) -> Result<Client> {
        let connected = match &self.tls {
            None => self.config.connect(NoTls),
            Some(tls) => self.config.connect(tls.clone()),
        };
        connected.map_err(|e| self.tls_error(e))
    }
}

impl Target {
    /// Opens a connection as [`Target::connect`] does, as the asynchronous client on `rt` (a
    /// current-thread runtime the caller owns and blocks on): the store's worker connections,
    /// which send a savepoint and a statement together (see `PgConn`). The connection's task is
    /// spawned on `rt` and runs whenever the caller blocks on it.
    pub(crate) fn connect_async(&self, rt: &tokio::runtime::Runtime) -> Result<tokio_postgres::Client> {
        let mut config: tokio_postgres::Config = self.parsed.parse().map_err(crate::err)?;
        config.ssl_mode(self.config.get_ssl_mode());
        if let Some(name) = self.config.get_application_name() {
            config.application_name(name);
        }
        if let Some(timeout) = self.config.get_connect_timeout() {
            config.connect_timeout(*timeout);
        }
        let connected = match &self.tls {
            None => rt.block_on(config.connect(NoTls)).map(|(client, conn)| {
                rt.spawn(drive(conn));
                client
            }),
            Some(tls) => rt.block_on(config.connect(tls.clone())).map(|(client, conn)| {
                rt.spawn(drive(conn));
                client
            }),
        };
        connected.map_err(|e| self.tls_error(e))
    }

    fn tls_error(&self, e: postgres::Error) -> StoreError {
        match crate::err(e) {
            StoreError::Backend(m) if m.contains("TLS") || m.contains("certificate") => {
                let hint = if m.contains("UnknownIssuer") {
                    "; give the certificate of the CA that signed the server's as sslrootcert=/path/ca.pem"
                } else {
                    ""
                };
                StoreError::Backend(format!("TLS to the database (sslmode={}): {m}{hint}", self.mode.as_str()))
            }
            other => other,
        }
    }
}

/// Runs a connection until it closes; its notices are routine and go to the debug log without
/// their DETAIL, as the synchronous client's (see `config` in the crate root).
async fn drive<S, T>(mut conn: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use std::task::Poll;
    let ended = std::future::poll_fn(|cx| {
        loop {
            match conn.poll_message(cx) {
                Poll::Ready(Some(Ok(tokio_postgres::AsyncMessage::Notice(n)))) => {
                    tracing::debug!(code = n.code().code(), "postgres notice: {}", n.message());
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
    if let Err(e) = ended {
        tracing::debug!(error = %crate::err(e), "a database connection ended");
    }
}

/// Parses a connection string: the driver's configuration, and the TLS connector `sslmode` and
/// `sslrootcert` ask for.
pub fn target(url: &str) -> Result<Target> {
    let (rest, params) = split(url)?;
    if !params.names_ok {
        return Err(StoreError::Backend(
            "the database URL has a malformed parameter name (a character of the password not percent-encoded?)".into(),
        ));
    }
    let mut config: Config = rest.parse().map_err(crate::err)?;
    let mode = params.mode.as_deref().map(SslMode::parse).transpose()?.unwrap_or(SslMode::Prefer);
    let root = params.rootcert.filter(|r| !r.is_empty() && r != "system");
    config.ssl_mode(match mode {
        SslMode::Disable => DriverMode::Disable,
        SslMode::Prefer => DriverMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverMode::Require,
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = || match &root {
        Some(path) => roots_from(path),
        None => Ok(RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }),
    };
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable => return Ok(Target { config, mode, tls: None, parsed: rest.to_string() }),
        // libpq: `require` with a root certificate checks the chain, as `verify-ca`.
        SslMode::Require if root.is_some() => Arc::new(ChainOnly::new(roots()?, &provider)),
        SslMode::Prefer | SslMode::Require => Arc::new(EncryptOnly::new(&provider)),
        SslMode::VerifyCa => Arc::new(ChainOnly::new(roots()?, &provider)),
        SslMode::VerifyFull => {
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots()?), provider.clone())
                .build()
                .map_err(|e| StoreError::Backend(format!("TLS to the database: {e}")))?
        }
    };
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS to the database: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Target { config, mode, tls: Some(MakeRustlsConnect::new(tls)), parsed: rest.to_string() })
}

/// The certificates of a PEM file, as trust anchors.
fn roots_from(path: &str) -> Result<RootCertStore> {
    let bad = |why: String| StoreError::Backend(format!("sslrootcert {path}: {why}"));
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
        roots.add(cert).map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    Ok(roots)
}

/// The TLS parameters taken out of a connection string (the last of each wins, as in libpq).
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsParams {
    mode: Option<String>,
    rootcert: Option<String>,
    /// Whether every parameter's name looks like one (`[a-z_]+`): the driver quotes an unknown
    /// name in its error, and a misplaced password must not be quoted.
    names_ok: bool,
}

/// Takes `sslmode` and `sslrootcert` out of a connection string: the rest, and their values.
fn split(url: &str) -> Result<(String, TlsParams)> {
    let mut params = TlsParams { names_ok: true, ..TlsParams::default() };
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            params.mode = Some(value);
            true
        }
        "sslrootcert" => {
            params.rootcert = Some(value);
            true
        }
        _ => {
            params.names_ok &= !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            false
        }
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else { return Ok((url.to_string(), params)) };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                !take(&percent_decode(key), percent_decode(value))
            })
            .collect();
        let rest = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        return Ok((rest, params));
    }
    // `key=value` form: tokenised as the driver does, rebuilt with every value quoted.
    let Some(pairs) = key_values(url) else { return Ok((url.to_string(), params)) };
    let kept: Vec<String> = pairs
        .into_iter()
        .filter_map(|(key, value)| {
            (!take(&key, value.clone()))
                .then(|| format!("{key}='{}'", value.replace('\\', "\\\\").replace('\'', "\\'")))
        })
        .collect();
    Ok((kept.join(" "), params))
}

/// `%XX` escapes decoded; anything malformed left as it is (the driver will judge it).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `key=value …` string as pairs (values unquoted and unescaped), or None if it is malformed.
fn key_values(s: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut it = s.chars().peekable();
    loop {
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        if it.peek().is_none() {
            return Some(pairs);
        }
        let mut key = String::new();
        while let Some(c) = it.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        if it.next() != Some('=') || key.is_empty() {
            return None;
        }
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if it.next_if_eq(&'\'').is_some() {
            loop {
                match it.next()? {
                    '\'' => break,
                    '\\' => value.push(it.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = it.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(it.next()?);
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

/// `prefer` and `require`: encrypted, the server's certificate not checked (libpq's meaning);
/// the handshake's signatures are still verified.
#[derive(Debug)]
struct EncryptOnly {
    algs: WebPkiSupportedAlgorithms,
}

impl EncryptOnly {
    fn new(provider: &CryptoProvider) -> EncryptOnly {
        EncryptOnly { algs: provider.signature_verification_algorithms }
    }
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// `verify-ca`: the chain up to a trusted CA is checked, not the host name.
#[derive(Debug)]
struct ChainOnly {
    roots: RootCertStore,
    signatures: EncryptOnly,
}

impl ChainOnly {
    fn new(roots: RootCertStore, provider: &CryptoProvider) -> ChainOnly {
        ChainOnly { roots, signatures: EncryptOnly::new(provider) }
    }
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.signatures.algs.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::{SslMode, TlsParams, split, target};

    fn params(mode: &str, root: Option<&str>) -> TlsParams {
        TlsParams { mode: Some(mode.into()), rootcert: root.map(str::to_string), names_ok: true }
    }

    fn none() -> TlsParams {
        TlsParams { names_ok: true, ..TlsParams::default() }
    }

    #[test]
    fn tls_parameters_are_taken_out_of_urls() -> vigie_store::Result<()> {
        assert_eq!(split("postgres://u:p@h/db")?, ("postgres://u:p@h/db".into(), none()));
        assert_eq!(
            split("postgres://u:p@h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem")?,
            ("postgres://u:p@h/db?application_name=x".into(), params("verify-full", Some("/etc/ca.pem")))
        );
        assert_eq!(split("postgresql://h/db?sslmode=disable")?, ("postgresql://h/db".into(), params("disable", None)));
        Ok(())
    }

    #[test]
    fn tls_parameters_are_taken_out_of_key_value_strings() -> vigie_store::Result<()> {
        let (rest, got) = split("host=h password='a b\\'c' sslmode = verify-ca sslrootcert='/x y.pem' dbname=d")?;
        assert_eq!(rest, "host='h' password='a b\\'c' dbname='d'");
        assert_eq!(got, params("verify-ca", Some("/x y.pem")));
        let config = target(&rest)?.config;
        assert_eq!(config.get_password(), Some(&b"a b'c"[..]));
        Ok(())
    }

    #[test]
    fn sslmode_is_libpqs() -> vigie_store::Result<()> {
        assert_eq!(target("postgres://h/db")?.mode, SslMode::Prefer);
        assert_eq!(target("postgres://h/db?sslmode=require")?.mode, SslMode::Require);
        assert_eq!(target("postgres://h/db?sslmode=verify-full")?.mode, SslMode::VerifyFull);
        assert_eq!(target("host=h sslmode=disable")?.mode, SslMode::Disable);
        for bad in [
            "postgres://u:secret@h/db?sslmode=allow",
            "postgres://u:secret@h/db?sslmode=secret",
            "postgres://u:se?cret@h/db",
            "host=h password=se cret",
        ] {
            let e = target(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!e.is_empty() && !e.contains("secret") && !e.contains("cret"), "{e}");
        }
        let e = target("postgres://u:secret@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("sslrootcert /nonexistent/ca.pem: cannot read") && !e.contains("secret"), "{e}");
        Ok(())
    }
}
