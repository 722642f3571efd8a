//! The one-time link that confirms a requester's identity through the email on file (method
//! `email_on_file`, under `identity_check = "on_doubt"`).
//!
//! - The DPO sends it (`send_identity_confirmation`) to the email on file of the subject the
//!   request is linked to: never to an address only the requester gave. The token is 256 random
//!   bits, stored as its SHA-256 hash; the link's text is kept sealed under the request's key
//!   only to render the email when the outbox sends it. A new link replaces the last one.
//! - `GET /rights/confirm/{token}` shows a page with a button and changes nothing (mail scanners
//!   follow links); its `POST` confirms: in one transaction the link is used up and the identity
//!   recorded as verified, method `email_on_file`, the audit entry's actor being the requester
//!   through the link (`requester:<request id>`). The link expires after 7 days; a link sent to a
//!   subject the request is no longer linked to, or of a request no longer awaiting its identity,
//!   confirms nothing.
//! - The pages say nothing about the person and are in the request's language.

use super::*;
use chrono::TimeDelta;
use vigie_ui::Template as _;
use vigie_ui::public::{ConfirmPage, ConfirmState};

/// The outbox template carrying the link.
pub(crate) const LINK_NOTICE: &str = "identity_confirmation";

/// How long a link confirms.
pub const LINK_LIFETIME: TimeDelta = TimeDelta::days(7);

/// A page of the link: its HTTP status and its HTML.
#[derive(Debug, Clone)]
pub struct LinkPage {
    pub status: u16,
    /// `fr` or `en` (the `Content-Language`).
    pub lang: &'static str,
    pub html: String,
}

/// What a link is found to be.
enum Found {
    /// Valid: the request it confirms.
    Valid { request: Box<RequestRow>, language: Lang },
    /// No such link (never made, used, replaced, withdrawn, or made for another subject).
    Unknown,
    /// Past its 7 days.
    Expired(Lang),
    /// Its request no longer awaits its requester's identity.
    Settled(Lang),
}

/// A token as links carry it: 64 lower-case hexadecimal digits.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn language_of(_keys: &MasterKey, r: &RequestRow) -> Lang {
    r.lang
}

/// Finds what a token's link is, inside the caller's transaction.
fn find(
    tx: &mut dyn vigie_store::ReadTx,
    keys: &MasterKey,
    token: &str,
    at: DateTime<Utc>,
) -> Result<(Found, Option<vigie_store::ConfirmationRow>)> {
    if !well_formed(token) {
        return Ok((Found::Unknown, None));
    }
    let Some(link) = tx.identity_confirmation_by_hash(&vigie_crypto::token_hash(token))? else {
        return Ok((Found::Unknown, None));
    };
    let Some(request) = tx.request(link.request_id)?.filter(|r| !redacted(r) && r.subject_id == Some(link.subject_id))
    else {
        return Ok((Found::Unknown, None));
    };
    let language = language_of(keys, &request);
    let found = if request.status != RequestStatus::AwaitingIdentity {
        Found::Settled(language)
    } else if at > link.expires_at {
        Found::Expired(language)
    } else {
        Found::Valid { request: Box::new(request), language }
    };
    Ok((found, Some(link)))
}

/// A link's page, in `lang`, as its template renders it.
fn page(policy: &Policy, lang: Lang, state: ConfirmState) -> LinkPage {
    let view = ConfirmPage {
        t: vigie_ui::Tr(lang),
        standalone: false,
        controller: policy.controller.name.clone(),
        dpo_name: policy.dpo.name.clone(),
        dpo_email: policy.dpo.email.clone(),
        state,
    };
    let status = view.status();
    match view.render() {
        Ok(html) => LinkPage { status, lang: lang.code(), html },
        Err(e) => {
            tracing::error!(error = %e, "confirmation link: the page could not be rendered");
            LinkPage { status: 500, lang: lang.code(), html: String::new() }
        }
    }
}

impl App {
    /// Sends the requester a one-time link to the email on file of the subject the request is
    /// linked to (DPO; policy `identity_check = "on_doubt"`): see the module docs.
    pub async fn send_identity_confirmation(&self, who: &Principal, id: Id) -> Result<RequestView> {
        who.require(&[Role::Dpo], "sending an identity confirmation link")?;
        if self.policy().identity_check != IdentityCheck::OnDoubt {
            return Err(AppError::Conflict(
                "the policy's identity_check is `document`: every identity is checked against a document, never by \
                 a link"
                    .into(),
            ));
        }
        if self.public_url.get().is_none() {
            return Err(AppError::Conflict(
                "Vigie does not know the address people reach it at (--public-url, VIGIE_PUBLIC_URL): a link in an \
                 email needs it"
                    .into(),
            ));
        }
        let (token, hash) = vigie_crypto::new_link_token()?;
        let keys = self.keys.clone();
        let (row, extras) = self
            .db
            .audited(who.actor(), move |tx, trail| {
                let row = load_live(tx, id)?;
                if row.status != RequestStatus::AwaitingIdentity {
                    return Err(AppError::Conflict(format!("request {id} is {}, not awaiting identity", row.status)));
                }
                let subject = row.subject_id.ok_or_else(|| {
                    AppError::Conflict(format!(
                        "request {id} is linked to no subject: link it first (POST /api/v1/requests/{id}/link); the \
                         link goes to the email on file of the subject it concerns"
                    ))
                })?;
                let (_, identity) = open_identity_pub(&keys, &crate::record::load(tx, subject)?)?;
                if !identity.contains_key(&FieldName::Email) {
                    return Err(AppError::Conflict(format!(
                        "subject {subject} has no email on file: the link goes only to an address on file, never to \
                         one the requester gave; check the identity another way"
                    )));
                }
                let key = request_key(&keys, &row)?;
                let at = trail.at;
                let expires_at = at + LINK_LIFETIME;
                tx.put_identity_confirmation(&vigie_store::ConfirmationRow {
                    request_id: id,
                    subject_id: subject,
                    token_hash: hash.to_vec(),
                    token: key.seal(&aad_for(id, Part::Confirmation, None), token.as_bytes())?,
                    created_at: at,
                    expires_at,
                })?;
                tx.queue_message(&vigie_store::NewMessage {
                    idempotency_key: format!("request:{id}:confirmation:{}", new_id()),
                    subject_id: Some(subject),
                    recipient: None,
                    template: LINK_NOTICE.into(),
                    params: serde_json::json!({ "request": id.to_string() }).to_string(),
                    at,
                })?;
                let entry = Entry::new("request.identity_link")
                    .subject(subject)
                    .detail(format!("request:{id} expires_at={}", expires_at.to_rfc3339()));
                let recorded = trail.record(tx, entry)?;
                Ok(((row, extras(tx, id)?), recorded))
            })
            .await?;
        view(&self.keys, &row, extras, self.now().date_naive())
    }

    /// The page a link opens: a button to confirm, or why the link confirms nothing. Changes nothing.
    pub async fn confirmation_page(&self, token: &str) -> LinkPage {
        let (keys, at, token) = (self.keys.clone(), self.now(), token.to_string());
        let found = self.db.read(move |tx| find(tx, &keys, &token, at).map(|(f, _)| (f, token))).await;
        let policy = self.policy();
        match found {
            Ok((Found::Valid { request, language }, token)) => page(
                &policy,
                language,
                ConfirmState::Ask { token, received_on: request.received_on, kind: request.kind.as_str() },
            ),
            Ok((found, _)) => self.link_refused(found),
            Err(e) => {
                tracing::warn!(error = %e, "confirmation link: lookup failed");
                self.link_refused(Found::Unknown)
            }
        }
    }

    /// Confirms the requester's identity through a link (its page's button): see the module docs.
    pub async fn confirm_identity(&self, token: &str) -> LinkPage {
        let (keys, at, t) = (self.keys.clone(), self.now(), token.to_string());
        // The request the link is for names the audit entry's actor; the lookup is repeated under
        // its row's lock in the write.
        let request = match self.db.read(move |tx| find(tx, &keys, &t, at)).await {
            Ok((Found::Valid { request, .. }, _)) => request.id,
            Ok((found, _)) => return self.link_refused(found),
            Err(e) => {
                tracing::warn!(error = %e, "confirmation link: lookup failed");
                return self.link_refused(Found::Unknown);
            }
        };
        let (keys, token, policy) = (self.keys.clone(), token.to_string(), self.policy());
        let outcome = self
            .db
            .audited(audit::Actor::Requester(request), move |tx, trail| {
                let at = trail.at;
                // The request's row is locked: a second confirmation, or a decision, waits and then
                // finds the request settled.
                tx.lock_request(request)?;
                let (found, link) = find(tx, &keys, &token, at)?;
                let (mut row, language) = match found {
                    Found::Valid { request, language } => (*request, language),
                    other => return Ok((Err(other), trail.nothing_changed())),
                };
                if policy.identity_check != IdentityCheck::OnDoubt {
                    return Ok((Err(Found::Settled(language)), trail.nothing_changed()));
                }
                let subject = link.map(|l| l.subject_id);
                let id = row.id;
                tx.delete_identity_confirmation(id)?;
                let destroyed = tx.delete_identity_document(id)?;
                identity::resume_clock(&mut row, at.date_naive())?;
                let key = request_key(&keys, &row)?;
                let mut sealed: Sealed = open_json(&key, id, Part::Requester, &row.requester)?;
                sealed.identity = Some(IdentityCheckRecord {
                    method: IdentityMethod::EmailOnFile,
                    doubt: None,
                    contract: None,
                    confirmed_at: Some(at),
                });
                row.requester = seal_json(&key, id, Part::Requester, &sealed)?;
                row.identity_document = None;
                row.identity_decision = Some(IdentityVerdict::Verified);
                row.identity_at = Some(at);
                row.status = RequestStatus::InProgress;
                row.updated_at = at;
                tx.update_request(&row)?;
                let mut entry = Entry::new("request.identity").detail(format!(
                    "request:{id} decision=verified method=email_on_file document=none destroyed={destroyed} via=link"
                ));
                if let Some(s) = subject {
                    entry = entry.subject(s);
                }
                let recorded = trail.record(tx, entry)?;
                Ok((Ok((row, language)), recorded))
            })
            .await;
        let policy = self.policy();
        match outcome {
            Ok(Ok((row, language))) => {
                page(&policy, language, ConfirmState::Done { due_on: row.extended_due_on.unwrap_or(row.due_on) })
            }
            Ok(Err(found)) => self.link_refused(found),
            Err(e) => {
                tracing::warn!(error = %e, "confirmation link: not recorded");
                page(&policy, Lang::Fr, ConfirmState::Unavailable)
            }
        }
    }

    /// The page of a link that confirms nothing, saying why in general terms.
    fn link_refused(&self, found: Found) -> LinkPage {
        let policy = self.policy();
        match found {
            Found::Expired(lang) => page(&policy, lang, ConfirmState::Expired),
            Found::Settled(lang) => page(&policy, lang, ConfirmState::Settled),
            // Nobody's language is known: the page says it in French, then in English.
            Found::Unknown | Found::Valid { .. } => page(&policy, Lang::Fr, ConfirmState::Unknown),
        }
    }

    /// The email carrying a link, to the email on file of the subject it was sent for, rendered
    /// when it is sent: (address, subject line, body). Err: why it cannot be sent (retrying will
    /// not help).
    pub(crate) async fn render_link_notice(
        &self,
        subject: Option<Id>,
        params: &serde_json::Value,
    ) -> std::result::Result<(String, String, String), String> {
        let request = params["request"].as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or("no request")?;
        let base =
            self.public_url.get().cloned().ok_or("no public URL is set (--public-url): the link cannot be made")?;
        let subject = subject.ok_or("a link notice names its subject")?;
        let (row, link, srow) = self
            .db
            .read(move |tx| {
                Ok::<_, AppError>((tx.request(request)?, tx.identity_confirmation(request)?, tx.subject(subject)?))
            })
            .await
            .map_err(|e| e.to_string())?;
        let row = row.filter(|r| !redacted(r)).ok_or_else(|| format!("request {request} is gone"))?;
        let link = link.filter(|l| l.subject_id == subject && l.expires_at >= self.now()).ok_or_else(|| {
            format!("the link of request {request} was used, replaced, withdrawn or expired: not sent")
        })?;
        let srow = srow.ok_or_else(|| format!("subject {subject} no longer exists"))?;
        let identity = crate::record::open_identity_fields(&self.keys, &srow).map_err(|e| e.to_string())?;
        let to = identity.get(&FieldName::Email).cloned().ok_or_else(|| format!("subject {subject} has no email"))?;
        let name = [FieldName::FirstName, FieldName::LastName]
            .iter()
            .filter_map(|f| identity.get(f).map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let key = request_key(&self.keys, &row).map_err(|e| e.to_string())?;
        let token = key
            .open(&aad_for(request, Part::Confirmation, None), &link.token)
            .ok()
            .and_then(|t| String::from_utf8(t).ok())
            .ok_or_else(|| format!("the link of request {request} cannot be opened"))?;
        let url = format!("{base}/rights/confirm/{token}");
        let lang = language_of(&self.keys, &row);
        let policy = self.policy();
        let t = vigie_ui::Tr(lang);
        let controller = policy.controller.name.as_str();
        let dpo = format!("{} ({})", policy.dpo.name, policy.dpo.email);
        let name = (!name.is_empty()).then_some(name);
        let line = t.f("mail.confirmation.subject", &[("controller", controller)]);
        let body = vigie_ui::mail::ConfirmationLink {
            t,
            name: &name,
            controller,
            received_on: &row.received_on,
            kind: row.kind.as_str(),
            url: &url,
            until: &link.expires_at.date_naive(),
            dpo: &dpo,
        }
        .render()
        .map_err(|e| format!("the link's email could not be rendered: {e}"))?;
        Ok((to, line, body))
    }
}
