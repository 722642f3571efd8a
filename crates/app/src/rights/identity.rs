//! The requester's identity (Art. 12(6) GDPR, EDPB Guidelines 01/2022): checked as the policy's
//! `identity_check` says, before anything is disclosed or changed; an uploaded document is
//! destroyed in the transaction that records the decision.

use super::*;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDecision {
    /// verified or rejected.
    #[schema(value_type = IdentityVerdict)]
    pub decision: String,
    /// How the identity was checked: email_on_file, known_phone, contract_reference,
    /// authenticated_account or document (the default; the only one when the policy's
    /// `identity_check` is `document`).
    #[schema(value_type = Option<IdentityMethod>)]
    pub method: Option<String>,
    /// For the method `document`: national_id_card, passport, residence_permit, driving_licence or other.
    #[schema(value_type = Option<IdentityDocument>)]
    pub document: Option<String>,
    /// Under `identity_check = "on_doubt"`, a document is asked only for a reasonable doubt,
    /// recorded here (sealed with the request).
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub doubt: Option<String>,
}

/// How the identity of a request's requester was checked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentityCheckRecord {
    pub method: IdentityMethod,
    /// The doubt that justified asking for a document, when one was asked.
    pub doubt: Option<String>,
}

impl App {
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
        let row = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let row = load_live(tx, id)?;
                if row.status != RequestStatus::AwaitingIdentity {
                    return Err(AppError::Conflict(format!("request {id} is {}, not awaiting identity", row.status)));
                }
                let key = request_key(&keys, &row)?;
                let sealed = key.seal(&aad_for(id, Part::IdentityDocument, None), &bytes)?;
                tx.put_identity_document(id, &sealed, &ct, trail.at)?;
                let recorded =
                    trail.record(tx, Entry::new("request.identity_document").detail(format!("request:{id}")))?;
                Ok((row, recorded))
            })
            .await?;
        view(&self.keys, &row, true, self.now().date_naive())
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
        if policy.identity_check == IdentityCheck::Document && method != IdentityMethod::Document {
            return Err(AppError::invalid(
                "method",
                "the policy's identity_check is `document`: every identity is checked against a document",
            ));
        }
        let doubt = input.doubt.as_deref().map(|d| crate::input::check_text("doubt", d, 2000)).transpose()?;
        if policy.identity_check == IdentityCheck::OnDoubt && method == IdentityMethod::Document && doubt.is_none() {
            return Err(AppError::invalid(
                "doubt",
                "under identity_check = \"on_doubt\" a document is asked only for a reasonable doubt: record it \
                 (Art. 12(6) GDPR)",
            ));
        }
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
                let destroyed = tx.delete_identity_document(id)?;
                let key = request_key(&keys, &row)?;
                let mut sealed: Sealed = open_json(&key, id, Part::Requester, &row.requester)?;
                sealed.identity = Some(IdentityCheckRecord { method, doubt: doubt.clone() });
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
                }
                tx.update_request(&row)?;
                let document = document.map_or("none", |d| d.as_str());
                let detail = format!(
                    "request:{id} decision={decision} method={method} document={document} destroyed={destroyed}"
                );
                let recorded = trail.record(tx, Entry::new("request.identity").detail(detail))?;
                Ok(((row, destroyed), recorded))
            })
            .await?;
        if destroyed {
            // The document's pages leave the journal too.
            self.compact_journal().await;
        }
        view(&self.keys, &row, false, self.now().date_naive())
    }
}
