//! Vigie's settings: built-in defaults, overlaid by a TOML file (`--config FILE` or
//! `VIGIE_CONFIG`), then by `VIGIE_*` variables, then by flags (figment merges the layers and
//! names the file and the key of any bad value). Secrets (the passwords of the database and
//! SMTP URLs) may be read from files; `Debug` never shows them.

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Every setting, as the file, the variables and the flags name it.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub database_password_file: Option<PathBuf>,
    pub master_key_file: Option<PathBuf>,
    pub policy_file: Option<PathBuf>,
    pub transfers_file: Option<PathBuf>,
    pub erasure_journal: Option<PathBuf>,
    pub listen: String,
    pub metrics_listen: Option<String>,
    pub retention_sweep_at: String,
    pub retention_sweep_max_share: Share,
    pub smtp_url: Option<String>,
    pub smtp_password_file: Option<PathBuf>,
    pub smtp_from: Option<String>,
    pub outbox_dir: Option<PathBuf>,
    pub outbox_interval_ms: u64,
    pub public_url: Option<String>,
    pub http_header_timeout_secs: u64,
    pub http_body_timeout_secs: u64,
    pub http_max_connections: u64,
    pub rights_form_per_minute: u32,
    pub api_per_minute: u32,
    pub session_idle_minutes: u64,
    pub session_idle: Option<String>,
    pub login_failures_per_minute: u32,
    pub log: Option<String>,
    pub log_format: LogFormat,
}

/// A share in percent, written `5`, `0.5` or `"5%"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Share {
    Number(f64),
    Text(String),
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for a log collector).
    Json,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("./vigie-data"),
            database_url: None,
            database_password_file: None,
            master_key_file: None,
            policy_file: None,
            transfers_file: None,
            erasure_journal: None,
            listen: "127.0.0.1:8080".into(),
            metrics_listen: None,
            retention_sweep_at: "03:00".into(),
            retention_sweep_max_share: Share::Text("5%".into()),
            smtp_url: None,
            smtp_password_file: None,
            smtp_from: None,
            outbox_dir: None,
            outbox_interval_ms: 2000,
            public_url: None,
            http_header_timeout_secs: 10,
            http_body_timeout_secs: 30,
            http_max_connections: 1024,
            rights_form_per_minute: 10,
            api_per_minute: 60_000,
            session_idle_minutes: 30,
            session_idle: None,
            login_failures_per_minute: 5,
            log: None,
            log_format: LogFormat::Text,
        }
    }
}

/// One setting, for the default file, the README's table and the checks that keep them whole.
pub struct Setting {
    pub key: &'static str,
    pub flag: &'static str,
    pub env: &'static str,
    /// The default as TOML, or None: the line is commented out with `example`.
    pub default: Option<&'static str>,
    pub example: &'static str,
    pub help: &'static str,
}

/// Every setting, in the order of the default file.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "data_dir",
        flag: "--data-dir",
        env: "VIGIE_DATA_DIR",
        default: Some("\"./vigie-data\""),
        example: "",
        help: "The data directory: SQLite database, master key, erasure journal (created 0700).",
    },
    Setting {
        key: "database_url",
        flag: "--database-url",
        env: "VIGIE_DATABASE_URL",
        default: None,
        example: "\"postgres://vigie@db.internal:5432/vigie?sslmode=verify-full\"",
        help: "PostgreSQL instead of SQLite in the data directory (sslmode: disable, prefer, require, verify-ca, verify-full).",
    },
    Setting {
        key: "database_password_file",
        flag: "--database-password-file",
        env: "VIGIE_DATABASE_PASSWORD_FILE",
        default: None,
        example: "\"/run/secrets/vigie-db-password\"",
        help: "A file holding the database password (first line), kept out of database_url.",
    },
    Setting {
        key: "master_key_file",
        flag: "--master-key-file",
        env: "VIGIE_MASTER_KEY_FILE",
        default: None,
        example: "\"/etc/vigie/master.key\"",
        help: "The master key file (default: master.key in the data directory).",
    },
    Setting {
        key: "policy_file",
        flag: "--policy",
        env: "VIGIE_POLICY_FILE",
        default: None,
        example: "\"/etc/vigie/policy.toml\"",
        help: "The policy file (default: the built-in MSI policy).",
    },
    Setting {
        key: "transfers_file",
        flag: "--transfers-file",
        env: "VIGIE_TRANSFERS_FILE",
        default: None,
        example: "\"/etc/vigie/transfers.toml\"",
        help: "The EEA and adequacy list (default: transfers.toml in the data directory, else built in).",
    },
    Setting {
        key: "erasure_journal",
        flag: "--erasure-journal",
        env: "VIGIE_ERASURE_JOURNAL",
        default: None,
        example: "\"/var/lib/vigie-journal/erasures.journal\"",
        help: "The erasure journal, kept apart from backups (default: erasures.journal in the data directory).",
    },
    Setting {
        key: "listen",
        flag: "--listen",
        env: "VIGIE_LISTEN",
        default: Some("\"127.0.0.1:8080\""),
        example: "",
        help: "The address the server listens on.",
    },
    Setting {
        key: "metrics_listen",
        flag: "--metrics-listen",
        env: "VIGIE_METRICS_LISTEN",
        default: None,
        example: "\"127.0.0.1:9464\"",
        help: "Also serves /metrics without a token on this address (default: off; /metrics on the main address needs an admin or auditor token).",
    },
    Setting {
        key: "retention_sweep_at",
        flag: "--retention-sweep-at",
        env: "VIGIE_RETENTION_SWEEP_AT",
        default: Some("\"03:00\""),
        example: "",
        help: "When the daily retention sweep runs (HH:MM, UTC), or \"off\".",
    },
    Setting {
        key: "retention_sweep_max_share",
        flag: "--retention-sweep-max-share",
        env: "VIGIE_RETENTION_SWEEP_MAX_SHARE",
        default: Some("\"5%\""),
        example: "",
        help: "The daily sweep erases nothing, and waits for the DPO, when more than this share of all subjects is due at once.",
    },
    Setting {
        key: "smtp_url",
        flag: "--smtp-url",
        env: "VIGIE_SMTP_URL",
        default: None,
        example: "\"smtp://vigie@mail.internal:587?tls=required\"",
        help: "Delivers notices by SMTP: smtp://user@host:587?tls=required (STARTTLS), smtps://... (TLS).",
    },
    Setting {
        key: "smtp_password_file",
        flag: "--smtp-password-file",
        env: "VIGIE_SMTP_PASSWORD_FILE",
        default: None,
        example: "\"/run/secrets/vigie-smtp-password\"",
        help: "A file holding the SMTP password (first line), kept out of smtp_url.",
    },
    Setting {
        key: "smtp_from",
        flag: "--smtp-from",
        env: "VIGIE_SMTP_FROM",
        default: None,
        example: "\"Vigie <dpo@example.fr>\"",
        help: "The sender of notices (default: the controller, at the DPO's address).",
    },
    Setting {
        key: "outbox_dir",
        flag: "--outbox-dir",
        env: "VIGIE_OUTBOX_DIR",
        default: None,
        example: "\"./outbox\"",
        help: "Writes notices as .eml files in this directory instead of SMTP (development).",
    },
    Setting {
        key: "outbox_interval_ms",
        flag: "--outbox-interval-ms",
        env: "VIGIE_OUTBOX_INTERVAL_MS",
        default: Some("2000"),
        example: "",
        help: "How often the outbox is delivered, in milliseconds.",
    },
    Setting {
        key: "public_url",
        flag: "--public-url",
        env: "VIGIE_PUBLIC_URL",
        default: None,
        example: "\"https://rgpd.example.fr\"",
        help: "The address people reach this server at, for links sent by email (identity confirmation); without it no link is sent.",
    },
    Setting {
        key: "http_header_timeout_secs",
        flag: "--http-header-timeout-secs",
        env: "VIGIE_HTTP_HEADER_TIMEOUT_SECS",
        default: Some("10"),
        example: "",
        help: "Seconds a client has to send a request's headers (1 to 30).",
    },
    Setting {
        key: "http_body_timeout_secs",
        flag: "--http-body-timeout-secs",
        env: "VIGIE_HTTP_BODY_TIMEOUT_SECS",
        default: Some("30"),
        example: "",
        help: "Seconds a client has to send a request's body (1 to 600).",
    },
    Setting {
        key: "http_max_connections",
        flag: "--http-max-connections",
        env: "VIGIE_HTTP_MAX_CONNECTIONS",
        default: Some("1024"),
        example: "",
        help: "Connections served at once; more are closed when accepted (1 to 65536).",
    },
    Setting {
        key: "rights_form_per_minute",
        flag: "--rights-form-per-minute",
        env: "VIGIE_RIGHTS_FORM_PER_MINUTE",
        default: Some("10"),
        example: "",
        help: "Submissions of the public rights form per client address and minute (1 to 10000).",
    },
    Setting {
        key: "api_per_minute",
        flag: "--api-per-minute",
        env: "VIGIE_API_PER_MINUTE",
        default: Some("60000"),
        example: "",
        help: "Calls with a token per client address and minute; 0: unlimited.",
    },
    Setting {
        key: "session_idle_minutes",
        flag: "--session-idle-minutes",
        env: "VIGIE_SESSION_IDLE_MINUTES",
        default: Some("30"),
        example: "",
        help: "Minutes a console session lasts unused before it expires and is deleted (1 to 1440).",
    },
    Setting {
        key: "session_idle",
        flag: "--session-idle",
        env: "VIGIE_SESSION_IDLE",
        default: None,
        example: "\"45s\"",
        help: "The same as a duration (30m, 2h, 45s; at most 24h): overrides session_idle_minutes.",
    },
    Setting {
        key: "login_failures_per_minute",
        flag: "--login-failures-per-minute",
        env: "VIGIE_LOGIN_FAILURES_PER_MINUTE",
        default: Some("5"),
        example: "",
        help: "Failed console logins per account and minute before 429 (per client address: four times as many; 1 to 1000).",
    },
    Setting {
        key: "log",
        flag: "--log",
        env: "VIGIE_LOG",
        default: None,
        example: "\"info,vigie_web=debug\"",
        help: "The log filter (default: info for serve, warn for the other commands).",
    },
    Setting {
        key: "log_format",
        flag: "--log-format",
        env: "VIGIE_LOG_FORMAT",
        default: Some("\"text\""),
        example: "",
        help: "text, or json: one JSON object per line.",
    },
];

/// The commented default file `vigie config default` prints: `--config` accepts it as is.
pub fn default_file() -> String {
    let mut out = String::from(
        "# Vigie settings (vigie --config FILE, or VIGIE_CONFIG=FILE).\n\
         # Each setting can also be given by its VIGIE_* variable or its flag: variables override\n\
         # this file, flags override variables. Relative paths are read from the working directory.\n\
         # Settings of the server only (listen, smtp_*, ...) are ignored by the other commands.\n",
    );
    for s in SETTINGS {
        out.push_str(&format!("\n# {} ({}, {})\n", s.help, s.env, s.flag));
        match s.default {
            Some(v) => out.push_str(&format!("{} = {v}\n", s.key)),
            None => out.push_str(&format!("# {} = {}\n", s.key, s.example)),
        }
    }
    out
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("database_password_file", &self.database_password_file)
            .field("master_key_file", &self.master_key_file)
            .field("policy_file", &self.policy_file)
            .field("transfers_file", &self.transfers_file)
            .field("erasure_journal", &self.erasure_journal)
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("retention_sweep_at", &self.retention_sweep_at)
            .field("retention_sweep_max_share", &self.retention_sweep_max_share)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_password_file", &self.smtp_password_file)
            .field("smtp_from", &self.smtp_from)
            .field("outbox_dir", &self.outbox_dir)
            .field("outbox_interval_ms", &self.outbox_interval_ms)
            .field("public_url", &self.public_url)
            .field("http_header_timeout_secs", &self.http_header_timeout_secs)
            .field("http_body_timeout_secs", &self.http_body_timeout_secs)
            .field("http_max_connections", &self.http_max_connections)
            .field("rights_form_per_minute", &self.rights_form_per_minute)
            .field("api_per_minute", &self.api_per_minute)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_idle", &self.session_idle)
            .field("login_failures_per_minute", &self.login_failures_per_minute)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// A URL with its password (if any) replaced by `***`, and its query string dropped
/// (libpq also accepts `?password=`).
pub fn redact_url(url: &str) -> String {
    let url = url.split_once('?').map_or(url, |(base, _)| base);
    let Some((scheme, rest)) = url.split_once("://") else { return "(hidden)".into() };
    let end = rest.find(['/', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// A layer of values with a name for error messages ("VIGIE_* variables", "flags").
struct Layer {
    name: &'static str,
    values: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name)
    }
    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.values.clone()))
    }
}

/// Where the values of the command line came from: a flag, or a `VIGIE_*` variable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Variable,
    Flag,
}

/// Merges the layers: defaults, the file, then the values clap read (`given`: each key's
/// value, serialised, with where it came from). A bad file names the file and the key.
pub fn load(file: Option<&Path>, given: Vec<(String, Value, Origin)>) -> anyhow::Result<(Config, Figment)> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = file {
        // figment skips a missing file silently: a file named but absent is an error here.
        std::fs::metadata(path).map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
        figment = figment.merge(Toml::file_exact(path));
    }
    let mut variables = Dict::new();
    let mut flags = Dict::new();
    for (key, value, origin) in given {
        match origin {
            Origin::Variable => variables.insert(key, value),
            Origin::Flag => flags.insert(key, value),
        };
    }
    figment = figment
        .merge(Layer { name: "VIGIE_* environment variables", values: variables })
        .merge(Layer { name: "command-line flags", values: flags });
    let config: Config = figment.extract().map_err(|e| anyhow::anyhow!("{}", describe(&e, file)))?;
    Ok((config, figment))
}

/// A figment error in one sentence per problem, each naming its key and where it came from.
fn describe(e: &figment::Error, file: Option<&Path>) -> String {
    let mut lines = Vec::new();
    for one in e.clone() {
        let key = one.path.join(".");
        let from = match (&one.metadata, file) {
            (Some(m), _) => match &m.source {
                Some(figment::Source::File(p)) => format!("the config file {}", p.display()),
                _ => m.name.to_string(),
            },
            (None, Some(p)) => format!("the config file {}", p.display()),
            (None, None) => "the settings".into(),
        };
        let what = one.kind.to_string();
        if key.is_empty() {
            lines.push(format!("{from}: {what}"));
        } else {
            lines.push(format!("{from}: setting `{key}`: {what}"));
        }
    }
    lines.join("\n")
}

/// Where a merged setting's value came from, for messages about a bad value.
pub fn origin_of(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key) {
        Some(m) => match &m.source {
            Some(figment::Source::File(p)) => format!("`{key}` in the config file {}", p.display()),
            _ if m.name == "VIGIE_* environment variables" => {
                let env = SETTINGS.iter().find(|s| s.key == key).map_or("", |s| s.env);
                env.to_string()
            }
            _ if m.name == "command-line flags" => {
                let flag = SETTINGS.iter().find(|s| s.key == key).map_or("", |s| s.flag);
                flag.to_string()
            }
            _ => format!("`{key}` (default)"),
        },
        None => format!("`{key}`"),
    }
}

/// Reads a secret from a file: its first line, without the line end. Empty is an error.
pub fn read_secret(key: &str, path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{key}: cannot read {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        anyhow::bail!("{key}: {} is empty", path.display());
    }
    Ok(line)
}

/// Puts `password` into the user part of `url` (percent-encoded). Refuses a URL that already
/// has a password, or names no user.
pub fn with_password(key: &str, url: &str, password: &str) -> anyhow::Result<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        anyhow::bail!("{key}: the URL has no scheme (postgres://, smtp://...)");
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some((user, host)) = authority.rsplit_once('@') else {
        anyhow::bail!("{key}: the URL names no user (user@host) for the password file's password");
    };
    if user.contains(':') {
        anyhow::bail!("{key}: the URL already holds a password: keep it in the password file only");
    }
    Ok(format!("{scheme}://{user}:{}@{host}{tail}", percent_encode(password)))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vigie-settings-{}-{name}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("vigie.toml");
        let _ = std::fs::write(&p, text);
        p
    }

    #[test]
    fn the_default_file_is_accepted_as_is_and_gives_the_defaults() -> anyhow::Result<()> {
        let p = temp("default", &default_file());
        let (config, _) = load(Some(&p), Vec::new())?;
        assert!(config == Config::default(), "{config:?}");
        Ok(())
    }

    #[test]
    fn every_setting_is_in_the_default_file_and_the_readme() -> anyhow::Result<()> {
        let fields: Vec<String> = match serde_json::to_value(Config::default())? {
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            _ => anyhow::bail!("not an object"),
        };
        let mut listed: Vec<String> = SETTINGS.iter().map(|s| s.key.to_string()).collect();
        let mut fields = fields;
        fields.sort();
        listed.sort();
        assert_eq!(fields, listed, "SETTINGS must list every field of Config");
        // Uncommenting every example gives a file that parses: each key exists.
        let all: String = default_file()
            .lines()
            .map(|l| if l.starts_with("# ") && l.contains(" = ") { &l[2..] } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        let p = temp("all", &all);
        load(Some(&p), Vec::new())?;
        let readme = include_str!("../../../README.md");
        for s in SETTINGS {
            let row = readme.lines().find(|l| l.contains(&format!("`{}`", s.flag)) && l.contains(s.env));
            let Some(row) = row else { anyhow::bail!("README: no settings row with {} and {}", s.flag, s.env) };
            assert!(row.contains(&format!("`{}`", s.key)), "README: the row of {} lacks the key `{}`", s.env, s.key);
        }
        Ok(())
    }

    #[test]
    fn a_bad_file_names_the_file_and_the_key() {
        let p = temp("bad", "outbox_interval_ms = \"soon\"\n");
        let e = load(Some(&p), Vec::new()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains(&p.display().to_string()) && e.contains("outbox_interval_ms"), "{e}");
        let p = temp("unknown", "listne = \"0.0.0.0:80\"\n");
        let e = load(Some(&p), Vec::new()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains(&p.display().to_string()) && e.contains("listne"), "{e}");
        let p = temp("syntax", "listen = \n");
        let e = load(Some(&p), Vec::new()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains(&p.display().to_string()), "{e}");
        let missing = std::env::temp_dir().join("vigie-no-such-config.toml");
        let e = load(Some(&missing), Vec::new()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("vigie-no-such-config.toml"), "{e}");
    }

    #[test]
    fn variables_override_the_file_and_flags_override_variables() -> anyhow::Result<()> {
        let p = temp("layers", "listen = \"127.0.0.1:1\"\noutbox_interval_ms = 5\napi_per_minute = 7\n");
        let given = vec![
            ("listen".to_string(), Value::from("127.0.0.1:2"), Origin::Variable),
            ("outbox_interval_ms".to_string(), Value::from(6u64), Origin::Variable),
            ("listen".to_string(), Value::from("127.0.0.1:3"), Origin::Flag),
        ];
        let (c, figment) = load(Some(&p), given)?;
        assert_eq!(c.listen, "127.0.0.1:3");
        assert_eq!(c.outbox_interval_ms, 6);
        assert_eq!(c.api_per_minute, 7);
        assert_eq!(c.http_max_connections, 1024);
        assert_eq!(origin_of(&figment, "listen"), "--listen");
        assert_eq!(origin_of(&figment, "outbox_interval_ms"), "VIGIE_OUTBOX_INTERVAL_MS");
        assert!(origin_of(&figment, "api_per_minute").contains(&p.display().to_string()));
        Ok(())
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let c = Config {
            database_url: Some("postgres://vigie:s3cr3t-db@db.internal:5432/vigie?password=s3cr3t-q".into()),
            smtp_url: Some("smtp://mailer:s3cr3t-smtp@mail.internal:587?tls=required".into()),
            ..Config::default()
        };
        let shown = format!("{c:?} {c:#?}");
        for secret in ["s3cr3t-db", "s3cr3t-q", "s3cr3t-smtp"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("db.internal") && shown.contains("mail.internal"), "{shown}");
    }

    #[test]
    fn a_password_file_goes_into_the_url_encoded() -> anyhow::Result<()> {
        assert_eq!(
            with_password("database_password_file", "postgres://vigie@h:5432/db?sslmode=require", "p@ss:w/rd")?,
            "postgres://vigie:p%40ss%3Aw%2Frd@h:5432/db?sslmode=require"
        );
        assert!(with_password("k", "postgres://vigie:x@h/db", "y").is_err());
        assert!(with_password("k", "postgres://h/db", "y").is_err());
        Ok(())
    }
}
