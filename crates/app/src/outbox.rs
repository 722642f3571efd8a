//! The outbox (SPEC 4.10): every notice to a subject or a recipient is a row
//! queued in the same transaction as the event that calls for it, and
//! delivered later by a loop that survives restarts.
//!
//! - A row holds no personal value: the message is rendered at delivery from
//!   the subject's sealed record, so an erased subject's notices vanish with it.
//! - Each row has an idempotency key: queueing the same notice twice is a no-op,
//!   and the key is the message's `Message-ID`, so a delivery repeated after a
//!   crash between the SMTP server's acceptance and our commit is recognisable.
//! - Delivery takes a lease on a batch (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
//!   so several instances never send the same message; failures are retried
//!   with exponential back-off, then given up and reported.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::Principal;
use crate::error::{AppError, Result};
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
pub use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport as _};
use serde::Serialize;
use std::path::{Path, PathBuf};
use utoipa::ToSchema;
use uuid::Uuid;
use vigie_domain::access::Role;
use vigie_domain::records::OutboxStatus;
use vigie_domain::{FieldName, Lang, Policy};
use vigie_store::{Id, MessageRow};
use vigie_ui::answers::Safeguard;

/// Attempts before a message is given up.
const MAX_ATTEMPTS: i64 = 10;
/// How long a round's messages are leased: far longer than a send's timeouts, so that no
/// other instance takes a message while it is being sent.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// An SMTP exchange that takes longer than this fails (and is retried later).
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Messages leased per round.
const BATCH: i64 = 100;

/// How notices leave: SMTP, a directory of `.eml` files (development), or not at all.
#[derive(Clone, Default)]
pub struct MailSettings {
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), `smtps://…` (TLS), or `smtp://host:port` (plain, for tests).
    pub smtp_url: Option<String>,
    /// The sender, e.g. `DPO MSI <dpo-msi@racine.eu>`; defaults to the policy's DPO email.
    pub from: Option<String>,
    /// Writes each message as a file in this directory instead of sending it.
    pub dir: Option<PathBuf>,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp", &self.smtp_url.as_ref().map(|_| "(url hidden)"))
            .field("from", &self.from)
            .field("dir", &self.dir)
            .finish()
    }
}

/// A transport ready to send.
#[derive(Clone)]
pub enum Transport {
    Smtp(SmtpTransport),
    Directory(MailDir),
}

/// The directory transport: one `.eml` file per message, 0600 in a 0700 directory, named
/// `<subject id>-<message id>.eml` so that a subject's erasure deletes its files too.
#[derive(Clone, Debug)]
pub struct MailDir {
    pub path: PathBuf,
}

impl MailDir {
    /// Creates the directory, or tightens it, to 0700 (its files name people).
    pub fn open(path: &Path) -> std::io::Result<MailDir> {
        std::fs::create_dir_all(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
            for entry in std::fs::read_dir(path)? {
                let p = entry?.path();
                if p.is_file() {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
                }
            }
        }
        Ok(MailDir { path: path.to_path_buf() })
    }

    fn file_name(subject: Option<Id>, message: i64) -> String {
        match subject {
            Some(s) => format!("{}-{message}.eml", s.simple()),
            None => format!("none-{message}.eml"),
        }
    }

    /// Writes one message, durably, readable by its owner only.
    fn write(&self, subject: Option<Id>, message: i64, m: &Message) -> std::io::Result<()> {
        use std::io::Write;
        let path = self.path.join(Self::file_name(subject, message));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(&m.formatted())?;
        file.sync_all()
    }

    /// Deletes the files of erased subjects; the number deleted.
    pub fn forget(&self, subjects: &[Id]) -> usize {
        let prefixes: Vec<String> = subjects.iter().map(|s| format!("{}-", s.simple())).collect();
        self.files()
            .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p.as_str())))
            .filter(|(_, path)| std::fs::remove_file(path).is_ok())
            .count()
    }

    /// The subjects that files are kept for.
    pub(crate) fn subjects(&self) -> Vec<Id> {
        let mut ids: Vec<Id> =
            self.files().filter_map(|(name, _)| name.split('-').next().and_then(|s| s.parse().ok())).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn files(&self) -> impl Iterator<Item = (String, PathBuf)> {
        std::fs::read_dir(&self.path)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
            .filter(|(name, _)| name.ends_with(".eml"))
    }
}

impl Transport {
    pub fn from_settings(mail: &MailSettings) -> std::result::Result<Option<Transport>, String> {
        if let Some(url) = &mail.smtp_url {
            let t = SmtpTransport::from_url(url)
                .map_err(|e| format!("the SMTP URL is invalid: {e}"))?
                .timeout(Some(SEND_TIMEOUT))
                .build();
            return Ok(Some(Transport::Smtp(t)));
        }
        if let Some(dir) = &mail.dir {
            let dir = MailDir::open(dir).map_err(|e| format!("cannot create or tighten {}: {e}", dir.display()))?;
            return Ok(Some(Transport::Directory(dir)));
        }
        Ok(None)
    }

    fn send(&self, subject: Option<Id>, message: i64, m: &Message) -> std::result::Result<(), String> {
        match self {
            Transport::Smtp(t) => t.send(m).map(|_| ()).map_err(|e| scrub(&e.to_string())),
            Transport::Directory(d) => d.write(subject, message, m).map_err(|e| scrub(&e.to_string())),
        }
    }
}

/// The DPO's notice of a token that reads personal data, created or revoked: who holds
/// such access is visible to the DPO, not only to the admin who made it.
fn render_token_notice(policy: &Policy, p: &serde_json::Value) -> std::result::Result<Rendered, Undeliverable> {
    let to: Mailbox =
        policy.dpo.email.parse().map_err(|_| Undeliverable("the policy's DPO address is not deliverable".into()))?;
    let text = |k: &str| p[k].as_str().unwrap_or("-").to_string();
    let (token, role, at) = (text("token"), text("role"), text("at"));
    let created = p["action"] == "created";
    let (fr_action, en_action) = if created { ("créé", "created") } else { ("révoqué", "revoked") };
    let scope = match p["recipient"].as_str() {
        Some(r) => format!(" ({r})"),
        None => String::new(),
    };
    let expires_at = p["expires_at"].as_str();
    let body = vigie_ui::mail::in_languages(None, |t| vigie_ui::mail::Token {
        t,
        role: &role,
        scope: &scope,
        created,
        at: &at,
        token: &token,
        expires_at,
    })
    .map_err(unrenderable)?;
    Ok(Rendered { to, subject: format!("Vigie : jeton {role} {fr_action} / {role} token {en_action}"), body })
}

/// A template that does not render: retrying will not help.
fn unrenderable(e: vigie_ui::RenderError) -> Undeliverable {
    Undeliverable(format!("the message could not be rendered: {e}"))
}

/// Keeps an error message free of addresses (an SMTP server may echo the recipient).
fn scrub(message: &str) -> String {
    let words: Vec<&str> = message.split_whitespace().map(|w| if w.contains('@') { "<address>" } else { w }).collect();
    let mut out = words.join(" ");
    out.truncate(300);
    out
}

/// A rendered message.
struct Rendered {
    to: Mailbox,
    subject: String,
    body: String,
}

/// Why a message cannot be rendered: retrying will not help.
struct Undeliverable(String);

/// The subject line and body of a notice to a subject, in `lang` when the notice answers a
/// request of theirs, otherwise in French then in English.
fn subject_line_and_body(
    policy: &Policy,
    template: &str,
    params: &serde_json::Value,
    name: &Option<String>,
    lang: Option<Lang>,
) -> std::result::Result<(String, String), Undeliverable> {
    use vigie_ui::mail;
    let controller = &policy.controller.name;
    let dpo = format!("{} — {} — {}", policy.dpo.name, policy.dpo.email, policy.dpo.address);
    let body = match template {
        "transfer_notice" => {
            let id = params["recipient"].as_str().unwrap_or_default();
            let r = policy
                .recipient(id)
                .ok_or_else(|| Undeliverable(format!("recipient {id} is no longer in the policy")))?;
            let country = r.country.as_deref().unwrap_or("?");
            let ground = |t: vigie_ui::Tr| match serde_json::from_value::<Safeguard>(params["safeguard"].clone()) {
                Ok(s) => vigie_ui::answers::safeguard_words(t, &s),
                Err(_) => params["ground"].as_str().unwrap_or_default().to_string(),
            };
            let body = mail::in_languages(lang, |t| mail::Transfer {
                t,
                name,
                controller,
                recipient: r.name.get(t.lang()),
                country,
                ground: ground(t),
                dpo: &dpo,
            });
            let line = format!(
                "{controller} : transfert de vos données hors de l'Union européenne / transfer of your data outside the EU"
            );
            return Ok((line, body.map_err(unrenderable)?));
        }
        "policy_revision" => {
            let version = params["version"].as_str().unwrap_or_default();
            let effective = params["effective_date"].as_str().and_then(|d| d.parse::<NaiveDate>().ok());
            let changes = params["changes"].as_str().unwrap_or_default();
            let Some(effective) = effective else {
                return Err(Undeliverable(format!("policy version {version} is unknown")));
            };
            let body = mail::in_languages(lang, |t| mail::Revision { t, name, version, effective, changes, dpo: &dpo });
            let line =
                format!("{controller} : nouvelle politique de protection des données / new privacy policy ({version})");
            (line, body)
        }
        "breach_notice" => {
            let p = |k: &str| params[k].as_str().unwrap_or_default().trim();
            let (consequences, measures) = (p("consequences"), p("measures"));
            // Art. 34(2): never a notice without its consequences and measures.
            if consequences.is_empty() || measures.is_empty() || p("nature_fr").is_empty() {
                return Err(Undeliverable("the breach notice lacks its consequences or measures".into()));
            }
            let body = mail::in_languages(lang, |t| {
                let fr = t.lang() == Lang::Fr;
                mail::Breach {
                    t,
                    name,
                    controller,
                    detected_on: p("detected_on"),
                    nature: if fr { p("nature_fr") } else { p("nature_en") },
                    categories: if fr { p("categories_fr") } else { p("categories_en") },
                    consequences,
                    measures,
                    dpo: &dpo,
                }
            });
            let line =
                format!("{controller} : violation de vos données personnelles / personal data breach affecting you");
            (line, body)
        }
        crate::rights::restriction::LIFT_NOTICE => {
            let since = params["restricted_at"].as_str().and_then(|d| d.parse::<NaiveDate>().ok()).unwrap_or_default();
            let body = mail::in_languages(lang, |t| mail::RestrictionLifted { t, name, since, dpo: &dpo });
            let line =
                format!("{controller} : levée de la limitation du traitement de vos données / restriction lifted");
            (line, body)
        }
        other => return Err(Undeliverable(format!("unknown template {other}"))),
    };
    Ok((body.0, body.1.map_err(unrenderable)?))
}

impl App {
    /// Renders a message from its row: the subject's address and name are decrypted here, never stored.
    async fn render(&self, m: &MessageRow) -> std::result::Result<Rendered, Undeliverable> {
        let mut params: serde_json::Value = serde_json::from_str(&m.params).unwrap_or(serde_json::Value::Null);
        if m.template == crate::governance::revisions::TEMPLATE {
            let version = params["version"].as_str().unwrap_or_default().to_string();
            if let Ok((effective, changes)) = self.revision_summary(&version).await {
                params["effective_date"] = serde_json::Value::String(effective.to_string());
                params["changes"] = serde_json::Value::String(changes);
            }
        }
        let policy = self.policy();
        if m.template == crate::breaches::TEMPLATE {
            let id = params["breach"].as_str().and_then(|s| Uuid::parse_str(s).ok()).unwrap_or_default();
            if let Ok(n) = self.breach_notice_text(id).await {
                for (k, v) in [
                    ("detected_on", n.detected_on),
                    ("nature_fr", n.nature_fr),
                    ("nature_en", n.nature_en),
                    ("categories_fr", n.categories_fr),
                    ("categories_en", n.categories_en),
                    ("consequences", n.consequences),
                    ("measures", n.measures),
                ] {
                    params[k] = serde_json::Value::String(v);
                }
            }
        }
        if m.template == "transfer_notice"
            && let Some(r) = params["recipient"].as_str().and_then(|r| policy.recipient(r)).cloned()
            && let Ok(rows) = self.db.read(|tx| Ok::<_, AppError>(tx.safeguards()?)).await
        {
            let sg: Vec<_> = rows
                .iter()
                .filter(|s| s.recipient == r.id)
                .map(|s| vigie_domain::transfers::Safeguard { kind: s.kind, signed_on: s.signed_on })
                .collect();
            let on = self.now().date_naive();
            let ground = vigie_domain::transfers::assess(&self.transfers, r.country.as_deref(), &sg, on);
            let safeguard = match ground {
                Ok(vigie_domain::transfers::Ground::Adequacy { decision, .. }) => {
                    Some(Safeguard::Adequacy { decision })
                }
                Ok(vigie_domain::transfers::Ground::Safeguard { kind, signed_on, .. }) => {
                    Some(Safeguard::Safeguard { kind, signed_on })
                }
                Ok(vigie_domain::transfers::Ground::Eea { .. }) => Some(Safeguard::Eea),
                _ => None,
            };
            if let Some(s) = safeguard.and_then(|s| serde_json::to_value(s).ok()) {
                params["safeguard"] = s;
            }
        }
        if m.template == "request_extension" {
            return self.render_extension(&params).await;
        }
        if m.template == crate::rights::identity::DOCUMENT_REQUEST
            || m.template == crate::rights::confirmation::LINK_NOTICE
        {
            let rendered = if m.template == crate::rights::identity::DOCUMENT_REQUEST {
                self.render_document_request(&params).await
            } else {
                self.render_link_notice(m.subject_id, &params).await
            };
            let (to, subject, body) = rendered.map_err(Undeliverable)?;
            let to: Mailbox =
                to.parse().map_err(|_| Undeliverable(format!("notice {}'s address is not deliverable", m.id)))?;
            return Ok(Rendered { to, subject, body });
        }
        if m.template == crate::auth::TOKEN_NOTICE {
            return render_token_notice(&policy, &params);
        }
        if let Some(recipient) = &m.recipient {
            return self.render_recipient_notice(&policy, recipient, m, &params).await;
        }
        let Some(subject) = m.subject_id else {
            return Err(Undeliverable(format!("notice {} names no subject", m.id)));
        };
        let row = self
            .db
            .read(move |tx| Ok::<_, AppError>(tx.subject(subject)?))
            .await
            .map_err(|e| Undeliverable(e.to_string()))?
            .ok_or_else(|| Undeliverable(format!("subject {subject} no longer exists")))?;
        let identity =
            crate::record::open_identity_fields(&self.keys, &row).map_err(|e| Undeliverable(e.to_string()))?;
        let email = identity
            .get(&FieldName::Email)
            .ok_or_else(|| Undeliverable(format!("subject {subject} has no email address")))?;
        let name = [FieldName::FirstName, FieldName::LastName]
            .iter()
            .filter_map(|f| identity.get(f).map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let to: Mailbox = email
            .parse()
            .map_err(|_| Undeliverable(format!("subject {subject}'s email address is not deliverable")))?;
        let lang = self.notice_lang(m).await;
        let name = (!name.is_empty()).then_some(name);
        let (subject_line, body) = subject_line_and_body(&policy, &m.template, &params, &name, lang)?;
        Ok(Rendered { to, subject: subject_line, body })
    }

    /// An Art. 19 notice to a recipient, at the contact address of the policy in force. A
    /// rectification notice carries the changed fields with their values as they are now, read
    /// from the subject's sealed record at this moment (the outbox row holds only field names).
    async fn render_recipient_notice(
        &self,
        policy: &Policy,
        recipient: &str,
        m: &MessageRow,
        params: &serde_json::Value,
    ) -> std::result::Result<Rendered, Undeliverable> {
        let r = policy
            .recipient(recipient)
            .ok_or_else(|| Undeliverable(format!("recipient {recipient} is no longer in the policy")))?;
        let contact = r
            .contact
            .as_deref()
            .ok_or_else(|| Undeliverable(format!("the policy holds no contact address for recipient {recipient}")))?;
        let to: Mailbox = contact
            .parse()
            .map_err(|_| Undeliverable(format!("recipient {recipient}'s contact address is not deliverable")))?;
        let subject = params["subject"].as_str().unwrap_or("?").to_string();
        let controller = &policy.controller.name;
        let dpo = format!("{} — {}", policy.dpo.name, policy.dpo.email);
        let (line, what, changes) = match m.template.as_str() {
            "rectification_notice" => {
                let id =
                    m.subject_id.ok_or_else(|| Undeliverable("a rectification notice names its subject".into()))?;
                let row = self
                    .db
                    .read(move |tx| Ok::<_, AppError>(tx.subject(id)?))
                    .await
                    .map_err(|e| Undeliverable(e.to_string()))?
                    .ok_or_else(|| Undeliverable(format!("subject {id} no longer exists")))?;
                let identity =
                    crate::record::open_identity_fields(&self.keys, &row).map_err(|e| Undeliverable(e.to_string()))?;
                let changes: Vec<(String, Option<String>)> = params["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
                    .map(|name| {
                        (name.to_string(), name.parse::<FieldName>().ok().and_then(|f| identity.get(&f).cloned()))
                    })
                    .collect();
                ("rectification", "rectification", changes)
            }
            "erasure_notice" => ("effacement / erasure", "erasure", Vec::new()),
            "restriction_notice" => ("limitation / restriction", "restriction", Vec::new()),
            other => return Err(Undeliverable(format!("unknown recipient template {other}"))),
        };
        let body = vigie_ui::mail::in_languages(None, |t| vigie_ui::mail::RecipientNotice {
            t,
            controller,
            what,
            subject: &subject,
            changes: &changes,
            dpo: &dpo,
        })
        .map_err(unrenderable)?;
        Ok(Rendered { to, subject: format!("{controller} : {line} (article 19 du RGPD / GDPR Art. 19)"), body })
    }

    /// Art. 12(3): the requester is told of the extension, with its reasons and the new
    /// deadline, in the request's language.
    async fn render_extension(&self, params: &serde_json::Value) -> std::result::Result<Rendered, Undeliverable> {
        let id = params["request"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| Undeliverable("no request".into()))?;
        let row = self
            .db
            .read(move |tx| Ok::<_, AppError>(tx.request(id)?))
            .await
            .map_err(|e| Undeliverable(e.to_string()))?
            .ok_or_else(|| Undeliverable(format!("request {id} no longer exists")))?;
        let n = crate::rights::answer::extension_notice(&self.keys, &row).map_err(|e| Undeliverable(e.to_string()))?;
        let email =
            n.email.ok_or_else(|| Undeliverable(format!("request {id} has no email address: answer by post")))?;
        let to: Mailbox =
            email.parse().map_err(|_| Undeliverable(format!("request {id}'s email address is not deliverable")))?;
        let policy = self.policy();
        let body = vigie_ui::mail::in_languages(Some(row.lang), |t| vigie_ui::mail::Extension {
            t,
            name: &n.name,
            controller: &policy.controller.name,
            received_on: row.received_on,
            due_on: n.due_on,
            reason: &n.reason,
            dpo_name: &policy.dpo.name,
            dpo_email: &policy.dpo.email,
        })
        .map_err(unrenderable)?;
        Ok(Rendered {
            to,
            subject: format!("{} : délai de réponse prolongé / response time extended", policy.controller.name),
            body,
        })
    }

    /// The language of a notice to a subject: its request's, when it follows one (the lift of a
    /// restriction a request asked for); none otherwise (French, then English).
    async fn notice_lang(&self, m: &MessageRow) -> Option<Lang> {
        if m.template != crate::rights::restriction::LIFT_NOTICE {
            return None;
        }
        let subject = m.subject_id?;
        self.db
            .read(move |tx| {
                let request = tx.restriction(subject)?.and_then(|r| r.request_id);
                Ok::<_, AppError>(match request {
                    Some(r) => tx.request(r)?.map(|r| r.lang),
                    None => None,
                })
            })
            .await
            .ok()
            .flatten()
    }

    /// Notices go to the directory transport `dir`: from now on, a subject's erasure deletes
    /// its files there, and this deletes at once those of subjects erased before (a crash
    /// between an erasure and its files' deletion, or a directory used before). The number deleted.
    pub async fn use_mail_dir(&self, dir: MailDir) -> Result<usize> {
        let kept = dir.subjects();
        let erased: Vec<Id> = self
            .db
            .read(move |tx| {
                let mut erased = Vec::new();
                for id in kept {
                    if tx.erasure(id)?.is_some() {
                        erased.push(id);
                    }
                }
                Ok::<_, AppError>(erased)
            })
            .await?;
        let deleted = dir.forget(&erased);
        let _ = self.mail_dir.set(dir);
        Ok(deleted)
    }

    /// Delivers one batch of due messages; returns (sent, failed). Called by the server's loop.
    pub async fn deliver_outbox(&self, transport: &Transport, from: &Mailbox) -> Result<(usize, usize)> {
        let (at, owner) = (self.now(), self.instance);
        let batch = self.db.bookkeeping(move |b| b.claim_messages(at, owner, LEASE, BATCH)).await?;
        let (mut sent, mut failed) = (0, 0);
        let started = std::time::Instant::now();
        for m in batch {
            // Past half the lease, the rest waits for the lease to run out and a later round:
            // never send a message whose lease another instance may already hold.
            if started.elapsed() > LEASE.to_std().unwrap_or_default() / 2 {
                tracing::warn!("outbox round slower than half its lease: the rest waits for a later round");
                break;
            }
            let outcome = match self.render(&m).await {
                Err(Undeliverable(reason)) => Err((reason, false)),
                Ok(r) => {
                    let message_id = format!(
                        "<{}@vigie>",
                        m.idempotency_key.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.', ".")
                    );
                    let built = Message::builder()
                        .from(from.clone())
                        .to(r.to)
                        .subject(r.subject)
                        .message_id(Some(message_id))
                        .header(ContentType::TEXT_PLAIN)
                        .body(r.body);
                    match built {
                        Err(e) => Err((scrub(&e.to_string()), false)),
                        Ok(msg) => {
                            let t = transport.clone();
                            let (subject, message) = (m.subject_id, m.id);
                            match tokio::task::spawn_blocking(move || t.send(subject, message, &msg)).await {
                                Ok(Ok(())) => Ok(()),
                                Ok(Err(e)) => Err((e, true)),
                                Err(e) => Err((e.to_string(), true)),
                            }
                        }
                    }
                }
            };
            let id = m.id;
            match outcome {
                Ok(()) => {
                    self.db
                        .audited(Actor::System, move |tx, trail| {
                            let at = trail.at;
                            if !tx.mark_sent(id, owner, at)? {
                                // The lease ran out during the send and another instance took
                                // the message: its outcome is the one recorded.
                                tracing::warn!(message = id, "notice sent after its lease ran out");
                                return Ok(((), trail.nothing_changed()));
                            }
                            let mut entry =
                                Entry::new("outbox.sent").detail(format!("message:{id} template={}", m.template));
                            if let Some(s) = m.subject_id {
                                entry = entry.subject(s);
                            }
                            let recorded = trail.record(tx, entry)?;
                            Ok(((), recorded))
                        })
                        .await?;
                    sent += 1;
                }
                Err((error, retry)) => {
                    let attempts = m.attempts + 1;
                    let retry_at = (retry && attempts < MAX_ATTEMPTS).then(|| {
                        self.now()
                            + chrono::Duration::seconds(30 * (1i64 << attempts.min(10))).min(chrono::Duration::hours(6))
                    });
                    tracing::warn!(message = id, attempts, error = %error, "notice not delivered");
                    self.db.bookkeeping(move |b| b.mark_failed(id, owner, &error, retry_at)).await?;
                    failed += 1;
                }
            }
        }
        metrics::counter!("vigie_outbox_sent_total").increment(sent as u64);
        metrics::counter!("vigie_outbox_failures_total").increment(failed as u64);
        Ok((sent, failed))
    }

    /// The sender of notices: the configured one, or the DPO's address.
    pub fn mail_from(&self, mail: &MailSettings) -> std::result::Result<Mailbox, String> {
        let policy = self.policy();
        match &mail.from {
            Some(raw) => {
                raw.parse().map_err(|_| "VIGIE_SMTP_FROM is not a valid mailbox (expected Name <address>)".to_string())
            }
            None => {
                let address = policy
                    .dpo
                    .email
                    .parse()
                    .map_err(|_| "the policy's DPO email is not a valid address".to_string())?;
                Ok(Mailbox::new(Some(policy.controller.name.clone()), address))
            }
        }
    }

    /// Lists the outbox (dpo, admin): ids, templates, statuses; no personal value.
    pub async fn outbox(&self, who: &Principal, status: Option<&str>, limit: i64) -> Result<Vec<MessageView>> {
        who.require(&[Role::Dpo, Role::Admin], "reading the outbox")?;
        let status: Option<OutboxStatus> = status
            .map(str::parse)
            .transpose()
            .map_err(|_| AppError::invalid("status", "must be one of: pending, sent, failed"))?;
        let rows = self.db.read(move |tx| Ok::<_, AppError>(tx.messages(status, limit.clamp(1, 10_000))?)).await?;
        Ok(rows.into_iter().map(MessageView::from).collect())
    }
}

/// An outbox entry as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub idempotency_key: String,
    pub subject_id: Option<Uuid>,
    pub recipient: Option<String>,
    pub template: String,
    pub params: serde_json::Value,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl From<MessageRow> for MessageView {
    fn from(m: MessageRow) -> Self {
        MessageView {
            id: m.id,
            idempotency_key: m.idempotency_key,
            subject_id: m.subject_id,
            recipient: m.recipient,
            template: m.template,
            params: serde_json::from_str(&m.params).unwrap_or(serde_json::Value::Null),
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            created_at: m.created_at,
            sent_at: m.sent_at,
            last_error: m.last_error,
        }
    }
}
