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
use crate::render::escape;
use chrono::TimeDelta;

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

fn kind_words(kind: RequestKind, lang: Lang) -> &'static str {
    match (lang, kind) {
        (Lang::Fr, RequestKind::Access) => "d'accès à vos données",
        (Lang::Fr, RequestKind::Rectification) => "de rectification de vos données",
        (Lang::Fr, RequestKind::Erasure) => "d'effacement de vos données",
        (Lang::Fr, RequestKind::Portability) => "de portabilité de vos données",
        (Lang::Fr, RequestKind::Objection) => "d'opposition au traitement de vos données",
        (Lang::Fr, RequestKind::Restriction) => "de limitation du traitement de vos données",
        (Lang::En, RequestKind::Access) => "to access your data",
        (Lang::En, RequestKind::Rectification) => "to rectify your data",
        (Lang::En, RequestKind::Erasure) => "to erase your data",
        (Lang::En, RequestKind::Portability) => "to receive your data (portability)",
        (Lang::En, RequestKind::Objection) => "to object to the processing of your data",
        (Lang::En, RequestKind::Restriction) => "to restrict the processing of your data",
        (Lang::Fr, RequestKind::ConsentWithdrawal) => "de retrait de votre consentement",
        (Lang::En, RequestKind::ConsentWithdrawal) => "to withdraw your consent",
    }
}

fn date_words(d: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Fr => d.format("%d/%m/%Y").to_string(),
        Lang::En => d.format("%-d %B %Y").to_string(),
    }
}

const STYLE: &str = "body{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5;padding:0 1em}\
    button{margin-top:1em;padding:.6em 1.5em;font-size:1em}";

fn page(status: u16, lang: Lang, title: &str, body: &str) -> LinkPage {
    let code = lang.code();
    LinkPage {
        status,
        lang: if lang == Lang::En { "en" } else { "fr" },
        html: format!(
            "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">\
             <title>{}</title><style>{STYLE}</style></head><body><main><h1>{}</h1>{body}</main></body></html>",
            escape(title),
            escape(title)
        ),
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
            Ok((Found::Valid { request, language }, token)) => {
                let (title, text, button, not_me) = match language {
                    Lang::Fr => (
                        "Confirmer que cette demande vient de vous",
                        format!(
                            "{} a reçu le {} une demande {} relative à vos données personnelles. Pour protéger vos \
                             données, nous vérifions qu'elle vient bien de vous : si c'est le cas, cliquez sur le \
                             bouton ci-dessous.",
                            policy.controller.name,
                            date_words(request.received_on, language),
                            kind_words(request.kind, language)
                        ),
                        "Je confirme être à l'origine de cette demande",
                        format!(
                            "Si vous n'avez fait aucune demande, ne cliquez pas : ignorez ce message, ou prévenez \
                             notre délégué à la protection des données ({}).",
                            policy.dpo.email
                        ),
                    ),
                    Lang::En => (
                        "Confirm that this request comes from you",
                        format!(
                            "On {}, {} received a request {} (your personal data). To protect your data, we check \
                             that it comes from you: if it does, press the button below.",
                            date_words(request.received_on, language),
                            policy.controller.name,
                            kind_words(request.kind, language)
                        ),
                        "I confirm that I made this request",
                        format!(
                            "If you made no request, do not press it: ignore this message, or tell our data \
                             protection officer ({}).",
                            policy.dpo.email
                        ),
                    ),
                };
                page(
                    200,
                    language,
                    title,
                    &format!(
                        "<p>{}</p><form method=\"post\" action=\"/rights/confirm/{}\"><button type=\"submit\">{}</button>\
                         </form><p>{}</p>",
                        escape(&text),
                        escape(&token),
                        escape(button),
                        escape(&not_me)
                    ),
                )
            }
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
                let due = date_words(row.extended_due_on.unwrap_or(row.due_on), language);
                let (title, text) = match language {
                    Lang::Fr => (
                        "Merci, c'est confirmé",
                        format!(
                            "Votre identité est vérifiée. Nous traitons votre demande et vous répondrons au plus \
                             tard le {due}. Pour toute question : {} ({}).",
                            policy.dpo.name, policy.dpo.email
                        ),
                    ),
                    Lang::En => (
                        "Thank you: confirmed",
                        format!(
                            "Your identity is verified. We are handling your request and will answer by {due}. \
                             Questions: {} ({}).",
                            policy.dpo.name, policy.dpo.email
                        ),
                    ),
                };
                page(200, language, title, &format!("<p>{}</p>", escape(&text)))
            }
            Ok(Err(found)) => self.link_refused(found),
            Err(e) => {
                tracing::warn!(error = %e, "confirmation link: not recorded");
                let body = "<p>Votre confirmation n'a pas pu être enregistrée : réessayez dans un moment. / Your \
                            confirmation could not be recorded: please try again in a moment.</p>";
                page(503, Lang::Fr, "Réessayez / Please try again", body)
            }
        }
    }

    /// The page of a link that confirms nothing, saying why in general terms.
    fn link_refused(&self, found: Found) -> LinkPage {
        let policy = self.policy();
        let dpo = &policy.dpo.email;
        let fr_help = format!("Pour toute question, écrivez à notre délégué à la protection des données : {dpo}.");
        let en_help = format!("For any question, write to our data protection officer: {dpo}.");
        match found {
            Found::Expired(Lang::En) => page(
                410,
                Lang::En,
                "This link has expired",
                &format!(
                    "<p>It was valid for 7 days. Write to us to receive a new one.</p><p>{}</p>",
                    escape(&en_help)
                ),
            ),
            Found::Expired(_) => page(
                410,
                Lang::Fr,
                "Ce lien a expiré",
                &format!(
                    "<p>Il était valable 7 jours. Écrivez-nous pour en recevoir un nouveau.</p><p>{}</p>",
                    escape(&fr_help)
                ),
            ),
            Found::Settled(Lang::En) => page(
                409,
                Lang::En,
                "This request no longer awaits a confirmation",
                &format!("<p>Nothing more is needed from you through this link.</p><p>{}</p>", escape(&en_help)),
            ),
            Found::Settled(_) => page(
                409,
                Lang::Fr,
                "Cette demande n'attend plus de confirmation",
                &format!(
                    "<p>Ce lien n'a plus d'utilité : rien de plus ne vous est demandé par ce moyen.</p><p>{}</p>",
                    escape(&fr_help)
                ),
            ),
            Found::Unknown | Found::Valid { .. } => page(
                404,
                Lang::Fr,
                "Lien non valable / Link not valid",
                &format!(
                    "<p>Ce lien n'est pas ou plus valable : il a peut-être déjà servi, ou un lien plus récent vous a \
                     été envoyé. {}</p><p lang=\"en\">This link is not valid, or no longer: it may have been used \
                     already, or a newer one sent to you. {}</p>",
                    escape(&fr_help),
                    escape(&en_help)
                ),
            ),
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
        let language = language_of(&self.keys, &row);
        let policy = self.policy();
        let (controller, dpo) = (&policy.controller.name, format!("{} ({})", policy.dpo.name, policy.dpo.email));
        let (received, until) =
            (date_words(row.received_on, language), date_words(link.expires_at.date_naive(), language));
        let kind = kind_words(row.kind, language);
        let (line, body) = match language {
            Lang::Fr => (
                format!("{controller} : confirmez votre demande relative à vos données personnelles"),
                format!(
                    "Bonjour {},\n\n{controller} a reçu le {received} une demande {kind}. Avant d'y répondre, nous \
                     vérifions qu'elle vient bien de vous ; nous vous écrivons pour cela à l'adresse que nous avons \
                     pour vous.\n\nSi cette demande vient de vous, ouvrez ce lien et cliquez sur « Je confirme » :\n\
                     {url}\n\nLe lien est valable jusqu'au {until} et ne sert qu'une fois. Si vous n'avez fait aucune \
                     demande, ne faites rien, ou prévenez notre délégué à la protection des données : {dpo}.\n",
                    if name.is_empty() { "Madame, Monsieur" } else { &name }
                ),
            ),
            Lang::En => (
                format!("{controller}: please confirm your request about your personal data"),
                format!(
                    "Hello {},\n\nOn {received}, {controller} received a request {kind}. Before answering, we check \
                     that it comes from you; this is why we write to the address we have for you.\n\nIf you made \
                     this request, open this link and press \"I confirm\":\n{url}\n\nThe link is valid until {until} \
                     and works once. If you made no request, do nothing, or tell our data protection officer: {dpo}.\n",
                    if name.is_empty() { "Sir or Madam" } else { &name }
                ),
            ),
        };
        Ok((to, line, body))
    }
}
