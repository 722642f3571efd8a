//! The requester's identity (Art. 12(6) GDPR, EDPB Guidelines 01/2022), checked as the policy's
//! `identity_check` says, before anything is disclosed or changed.
//!
//! - `document` (MSI's clause): every identity is checked against a document. The DPO asks the
//!   requester for it (`document-request`, no doubt needed) unless it came with the request; from
//!   that ask the clock stands still until the document arrives or the DPO decides.
//! - `on_doubt`: what the controller already knows suffices: the email on file, confirmed by the
//!   requester through a one-time link (`confirmation.rs`; never recorded by hand), a known phone
//!   (the linked subject has one on file), a contract reference (one of the linked subject's
//!   contracts, named), or an authenticated account. A document is asked only for a reasonable
//!   doubt, recorded first: recording it asks the requester for the document through the outbox
//!   and stops the clock until it arrives (or the DPO decides).
//! - While identity information is awaited the clock stands still (`suspended_since`); when it
//!   runs again the days awaited are added to the deadlines in force
//!   (`vigie_domain::deadlines::deadline_in_force`). A request may be suspended several times.
//! - An uploaded document is destroyed in the transaction that records the decision.

use super::*;
use vigie_domain::deadlines::{days_suspended, deadline_in_force};

/// The outbox template asking the requester for an identity document.
pub(crate) const DOCUMENT_REQUEST: &str = "identity_document_request";

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDecision {
    /// verified or rejected.
    #[schema(value_type = IdentityVerdict)]
    pub decision: String,
    /// How the identity was checked: known_phone, contract_reference, authenticated_account or
    /// document (the default; the only one when the policy's `identity_check` is `document`).
    /// email_on_file is recorded by the requester's confirmation of the one-time link, never here.
    #[schema(value_type = Option<IdentityMethod>)]
    pub method: Option<String>,
    /// For the method `document`: national_id_card, passport, residence_permit, driving_licence or other.
    #[schema(value_type = Option<IdentityDocument>)]
    pub document: Option<String>,
    /// For the method `contract_reference`: the contract checked, one of the linked subject's.
    pub contract: Option<Uuid>,
}

/// How the identity of a request's requester was checked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentityCheckRecord {
    pub method: IdentityMethod,
    /// The doubt that justified asking for a document, when one was asked.
    pub doubt: Option<String>,
    /// For `contract_reference`: the contract checked.
    #[serde(default)]
    pub contract: Option<Uuid>,
    /// For `email_on_file`: when the requester confirmed the link.
    #[serde(default)]
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// A document asked of the requester, and the doubt that justified it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentRequest {
    pub at: DateTime<Utc>,
    /// The reasonable doubt (required under `identity_check = "on_doubt"`), sealed with the request.
    pub doubt: Option<String>,
}

/// A one-time confirmation link outstanding.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfirmationView {
    pub sent_at: DateTime<Utc>,
    /// After this instant the link confirms nothing (7 days after it was made).
    pub expires_at: DateTime<Utc>,
    pub expired: bool,
}

/// A document asked of the requester.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentAsk {
    /// The reasonable doubt about the requester's identity (required under
    /// `identity_check = "on_doubt"`): kept sealed with the request, never sent to the requester.
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub doubt: Option<String>,
}

/// Ends a suspension of the request's clock on `today`: the days it stood still are added, and
/// the deadlines in force (first, and extended) recomputed from the date of receipt.
pub(crate) fn resume_clock(row: &mut RequestRow, today: NaiveDate) -> Result<()> {
    let Some(since) = row.suspended_since.take() else { return Ok(()) };
    row.suspended_days += i64::try_from(days_suspended(since, today)).unwrap_or(0);
    let days = u64::try_from(row.suspended_days).unwrap_or(0);
    let out_of_range = || AppError::Internal(format!("request {}: its deadline is out of the calendar", row.id));
    row.due_on = deadline_in_force(row.received_on, 0, days).ok_or_else(out_of_range)?;
    if let Some(months) = row.extension_months {
        let months = u32::try_from(months).unwrap_or(2);
        row.extended_due_on = Some(deadline_in_force(row.received_on, months, days).ok_or_else(out_of_range)?);
    }
    Ok(())
}

fn no_doubt_recorded(id: Id) -> AppError {
    AppError::Conflict(format!(
        "under identity_check = \"on_doubt\" a document is asked only for a reasonable doubt (Art. 12(6) GDPR): \
         record it first (POST /api/v1/requests/{id}/identity/document-request), which asks the requester for it"
    ))
}

impl App {
    /// Asks the requester for an identity document (DPO), recording why (under `on_doubt`, the
    /// reasonable doubt, required): the request is sent through the outbox, in the request's
    /// language, and the clock stands still until the document arrives or the DPO decides.
    /// Asked again while awaited (a reminder, an unreadable copy), the clock keeps its day.
    pub async fn ask_identity_document(&self, who: &Principal, id: Id, input: DocumentAsk) -> Result<RequestView> {
        who.require(&[Role::Dpo], "asking a requester for an identity document")?;
        let doubt = input.doubt.as_deref().map(|d| crate::input::check_text("doubt", d, 2000)).transpose()?;
        if self.policy().identity_check == IdentityCheck::OnDoubt && doubt.is_none() {
            return Err(AppError::invalid(
                "doubt",
                "under identity_check = \"on_doubt\" a document is asked only for a reasonable doubt: record it \
                 (Art. 12(6) GDPR)",
            ));
        }
        let keys = self.keys.clone();
        let (row, extras) = self
            .db
            .audited(who.actor(), move |tx, trail| {
                let mut row = load_live(tx, id)?;
                if row.status != RequestStatus::AwaitingIdentity {
                    return Err(AppError::Conflict(format!(
                        "request {id} is {}: its requester's identity was already decided",
                        row.status
                    )));
                }
                let key = request_key(&keys, &row)?;
                let mut sealed: Sealed = open_json(&key, id, Part::Requester, &row.requester)?;
                sealed.document_requests.push(DocumentRequest { at: trail.at, doubt: doubt.clone() });
                let n = sealed.document_requests.len();
                row.requester = seal_json(&key, id, Part::Requester, &sealed)?;
                if row.suspended_since.is_none() {
                    row.suspended_since = Some(trail.at.date_naive());
                }
                row.updated_at = trail.at;
                tx.update_request(&row)?;
                tx.queue_message(&vigie_store::NewMessage {
                    idempotency_key: format!("request:{id}:document_request:{n}"),
                    subject_id: None,
                    recipient: None,
                    template: DOCUMENT_REQUEST.into(),
                    params: serde_json::json!({ "request": id.to_string() }).to_string(),
                    at: trail.at,
                })?;
                let mut entry = Entry::new("request.document_request")
                    .detail(format!("request:{id} doubt_recorded={}", doubt.is_some()));
                if let Some(s) = row.subject_id {
                    entry = entry.subject(s);
                }
                let recorded = trail.record(tx, entry)?;
                Ok(((row, extras(tx, id)?), recorded))
            })
            .await?;
        view(&self.keys, &row, extras, self.now().date_naive())
    }

    /// Stores an identity document, sealed, until the decision destroys it (DPO).
    pub async fn upload_identity_document(
        &self,
        who: &Principal,
        id: Id,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<RequestView> {
        who.require(&[Role::Dpo], "uploading an identity document")?;
        if !matches!(content_type, "application/pdf" | "image/png" | "image/jpeg") {
            return Err(AppError::UnsupportedMedia(
                "an identity document is sent with Content-Type application/pdf, image/png or image/jpeg".into(),
            ));
        }
        if bytes.is_empty() {
            return Err(AppError::invalid("body", "is empty"));
        }
        // The label is the caller's word; the first bytes are the file's.
        let magic: &[u8] = match content_type {
            "application/pdf" => b"%PDF-",
            "image/png" => b"\x89PNG\r\n\x1a\n",
            _ => b"\xff\xd8\xff",
        };
        if !bytes.starts_with(magic) {
            return Err(AppError::UnsupportedMedia(format!(
                "the body is not a {content_type} file (its first bytes say otherwise)"
            )));
        }
        let (keys, actor, ct) = (self.keys.clone(), who.actor(), content_type.to_string());
        let on_doubt = self.policy().identity_check == IdentityCheck::OnDoubt;
        let (row, extras) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut row = load_live(tx, id)?;
                if row.status != RequestStatus::AwaitingIdentity {
                    return Err(AppError::Conflict(format!("request {id} is {}, not awaiting identity", row.status)));
                }
                let key = request_key(&keys, &row)?;
                let asked: Sealed = open_json(&key, id, Part::Requester, &row.requester)?;
                if on_doubt && asked.document_requests.is_empty() {
                    return Err(no_doubt_recorded(id));
                }
                let sealed = key.seal(&aad_for(id, Part::IdentityDocument, None), &bytes)?;
                tx.put_identity_document(id, &sealed, &ct, trail.at)?;
                // The information awaited has arrived: the clock runs again.
                if row.suspended_since.is_some() {
                    resume_clock(&mut row, trail.at.date_naive())?;
                    row.updated_at = trail.at;
                    tx.update_request(&row)?;
                }
                let recorded =
                    trail.record(tx, Entry::new("request.identity_document").detail(format!("request:{id}")))?;
                Ok(((row, extras(tx, id)?), recorded))
            })
            .await?;
        view(&self.keys, &row, extras, self.now().date_naive())
    }

    /// The identity document uploaded for a request, opened for the DPO to look at before deciding:
    /// (content type, bytes). Each look is in the audit trail. 404 while none was uploaded, 410 once
    /// the decision destroyed it (or the subject's erasure, everything the request held).
    pub async fn identity_document(&self, who: &Principal, id: Id) -> Result<(String, Vec<u8>)> {
        who.require(&[Role::Dpo], "looking at an identity document")?;
        let keys = self.keys.clone();
        self.db
            .audited(who.actor(), move |tx, trail| {
                let row = load(tx, id)?;
                request_key_check(&row)?;
                let Some((sealed, content_type)) = tx.identity_document(id)? else {
                    if row.identity_decision.is_some() {
                        return Err(AppError::Gone(format!(
                            "request {id}: the identity decision was recorded, and any document uploaded was \
                             destroyed with it"
                        )));
                    }
                    return Err(AppError::NotFound(format!("identity document of request {id}")));
                };
                let key = request_key(&keys, &row)?;
                let bytes = key.open(&aad_for(id, Part::IdentityDocument, None), &sealed)?;
                let recorded =
                    trail.record(tx, Entry::new("request.identity_document_read").detail(format!("request:{id}")))?;
                Ok(((content_type, bytes), recorded))
            })
            .await
    }

    /// Records the identity decision (DPO); any uploaded document is destroyed in the same transaction.
    pub async fn decide_identity(&self, who: &Principal, id: Id, input: IdentityDecision) -> Result<RequestView> {
        who.require(&[Role::Dpo], "deciding on a requester's identity")?;
        let decision: IdentityVerdict = one_of("decision", &input.decision)?;
        let method: IdentityMethod = match &input.method {
            Some(m) => one_of("method", m)?,
            None => IdentityMethod::Document,
        };
        let policy = self.policy();
        let document: Option<IdentityDocument> = match (method, &input.document) {
            (IdentityMethod::Document, Some(d)) => Some(one_of("document", d)?),
            (IdentityMethod::Document, None) => {
                return Err(AppError::invalid("document", "the method `document` names the document checked"));
            }
            (_, Some(_)) => {
                return Err(AppError::invalid("document", "only the method `document` names a document"));
            }
            (_, None) => None,
        };
        let contract = match (method, input.contract) {
            (IdentityMethod::ContractReference, Some(c)) => Some(c),
            (IdentityMethod::ContractReference, None) => {
                return Err(AppError::invalid(
                    "contract",
                    "the method `contract_reference` names the contract checked (its id)",
                ));
            }
            (_, Some(_)) => {
                return Err(AppError::invalid("contract", "only the method `contract_reference` names a contract"));
            }
            (_, None) => None,
        };
        if policy.identity_check == IdentityCheck::Document && method != IdentityMethod::Document {
            return Err(AppError::invalid(
                "method",
                "the policy's identity_check is `document`: every identity is checked against a document",
            ));
        }
        if method == IdentityMethod::EmailOnFile {
            return Err(AppError::Conflict(format!(
                "the method email_on_file is recorded when the requester confirms the one-time link sent to the \
                 email on file (POST /api/v1/requests/{id}/identity/confirmation), never by hand: no link of request \
                 {id} was confirmed"
            )));
        }
        let on_doubt = policy.identity_check == IdentityCheck::OnDoubt;
        let actor = who.actor();
        let keys = self.keys.clone();
        let (row, destroyed) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut row = load_live(tx, id)?;
                if row.status != RequestStatus::AwaitingIdentity {
                    return Err(AppError::Conflict(format!("request {id} is {}, not awaiting identity", row.status)));
                }
                let at = trail.at;
                let key = request_key(&keys, &row)?;
                let mut sealed: Sealed = open_json(&key, id, Part::Requester, &row.requester)?;
                // What is checked against the linked subject's record must be on it.
                if matches!(method, IdentityMethod::KnownPhone | IdentityMethod::ContractReference) {
                    let subject = row.subject_id.ok_or_else(|| {
                        AppError::Conflict(format!(
                            "request {id} is linked to no subject: link it first (POST /api/v1/requests/{id}/link); \
                             the {method} is checked against the linked subject's record"
                        ))
                    })?;
                    let srow = crate::record::load(tx, subject)?;
                    if method == IdentityMethod::KnownPhone {
                        let (_, identity) = open_identity_pub(&keys, &srow)?;
                        if !identity.contains_key(&FieldName::Phone) {
                            return Err(AppError::Conflict(format!(
                                "subject {subject} has no phone on file: check the identity another way"
                            )));
                        }
                    }
                    if let Some(contract) = contract {
                        let contracts = tx.contracts(subject)?;
                        if contracts.is_empty() {
                            return Err(AppError::Conflict(format!(
                                "subject {subject} has no contract on file: check the identity another way"
                            )));
                        }
                        if !contracts.iter().any(|c| c.id == contract) {
                            return Err(AppError::invalid(
                                "contract",
                                "is not a contract of the subject the request is linked to",
                            ));
                        }
                    }
                }
                if on_doubt && method == IdentityMethod::Document && sealed.document_requests.is_empty() {
                    return Err(no_doubt_recorded(id));
                }
                let destroyed = tx.delete_identity_document(id)?;
                tx.delete_identity_confirmation(id)?;
                resume_clock(&mut row, at.date_naive())?;
                let doubt = match method {
                    IdentityMethod::Document => sealed.document_requests.iter().rev().find_map(|d| d.doubt.clone()),
                    _ => None,
                };
                sealed.identity = Some(IdentityCheckRecord { method, doubt, contract, confirmed_at: None });
                row.requester = seal_json(&key, id, Part::Requester, &sealed)?;
                row.identity_document = document;
                row.identity_decision = Some(decision);
                row.identity_at = Some(at);
                row.updated_at = at;
                if decision == IdentityVerdict::Verified {
                    row.status = RequestStatus::InProgress;
                } else {
                    row.status = RequestStatus::Refused;
                    row.outcome = Some(RequestOutcome::IdentityNotVerified);
                    row.completed_at = Some(at);
                    // The answer the requester is owed (Art. 12(4)): the ground and the remedies.
                    let body = vigie_ui::answers::Body::IdentityRejected;
                    let found = row.subject_id.is_some();
                    let response = super::answer::answer(&policy, &row, &sealed.requester, at, found, body);
                    row.response = Some(seal_json(&key, id, Part::Response, &response)?);
                }
                tx.update_request(&row)?;
                let document = document.map_or("none", |d| d.as_str());
                let mut detail = format!(
                    "request:{id} decision={decision} method={method} document={document} destroyed={destroyed}"
                );
                if let Some(c) = contract {
                    detail.push_str(&format!(" contract:{c}"));
                }
                let recorded = trail.record(tx, Entry::new("request.identity").detail(detail))?;
                Ok(((row, destroyed), recorded))
            })
            .await?;
        if destroyed {
            // The document's pages leave the journal too.
            self.compact_journal().await;
        }
        view(&self.keys, &row, Extras::default(), self.now().date_naive())
    }

    /// The request for an identity document, to the requester's email, rendered when it is sent:
    /// (address, subject line, body), in the request's language; why a document is needed in
    /// general terms (the doubt itself stays sealed), and how to send it. Err: why it cannot be
    /// sent (a request without an email is answered by post; one no longer awaiting it is not sent).
    pub(crate) async fn render_document_request(
        &self,
        params: &serde_json::Value,
    ) -> std::result::Result<(String, String, String), String> {
        let id = params["request"].as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or("no request")?;
        let row = self
            .db
            .read(move |tx| Ok::<_, AppError>(tx.request(id)?))
            .await
            .map_err(|e| e.to_string())?
            .filter(|r| !redacted(r))
            .ok_or_else(|| format!("request {id} is gone"))?;
        if row.status != RequestStatus::AwaitingIdentity || row.suspended_since.is_none() {
            return Err(format!("request {id} no longer awaits a document: not sent"));
        }
        let key = request_key(&self.keys, &row).map_err(|e| e.to_string())?;
        let sealed: Sealed = open_json(&key, id, Part::Requester, &row.requester).map_err(|e| e.to_string())?;
        let to = sealed
            .requester
            .email
            .clone()
            .ok_or_else(|| format!("request {id} has no email address: write by post"))?;
        let name = [sealed.requester.first_name.as_deref(), sealed.requester.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let policy = self.policy();
        let (controller, dpo) = (&policy.controller.name, &policy.dpo);
        let by_policy = policy.identity_check == IdentityCheck::Document;
        let t = vigie_ui::Tr(row.lang);
        let name = (!name.is_empty()).then_some(name);
        let line = t.f("mail.document_request.subject", &[("controller", controller)]);
        let body = vigie_ui::mail::DocumentRequest {
            t,
            name: &name,
            controller,
            received_on: &row.received_on,
            by_policy,
            dpo_name: &dpo.name,
            dpo_email: &dpo.email,
            dpo_address: &dpo.address,
        };
        let body = vigie_ui::Template::render(&body).map_err(|e| format!("the message could not be rendered: {e}"))?;
        Ok((to, line, body))
    }
}
