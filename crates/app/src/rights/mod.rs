//! Rights requests (SPEC 4.4, policy section 6): intake, identity check, legal
//! deadlines, and access, rectification, erasure, portability and objection
//! carried out.
//!
//! - A request is sealed under a key of its own: the requester's details, the
//!   particulars (changes asked, grounds) and the response are personal data.
//! - Nothing is disclosed or changed before the DPO records the identity
//!   decision; an uploaded identity document is destroyed in the same
//!   transaction that records the decision.
//! - Deadlines are counted as the law counts them (`vigie_domain::deadlines`).

use crate::App;
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::db::Trail;
use crate::error::{AppError, Result};
use crate::input::parse_date;
use crate::record::{IdentityField, aad_for, open_identity_pub};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;
use uuid::Uuid;
use vigie_crypto::{MasterKey, Part, SubjectKey};
use vigie_domain::access::Role;
use vigie_domain::deadlines::{can_extend_suspended, days_left, response_deadline};
use vigie_domain::model::{UnknownToken, normalize_field_in};
use vigie_domain::policy::{IdentityCheck, LegalBasis};
use vigie_domain::records::{
    ErasureGround, IdentityDocument, IdentityMethod, IdentityVerdict, RefusalGround, RequestChannel, RequestKind,
    RequestOutcome, RequestStatus, RestrictionGround,
};
use vigie_domain::{FieldName, Lang, Policy, Provenance, SubjectKind};
use vigie_store::{Id, RequestRow, Tx, new_id};

/// Who is asking.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_address: Option<String>,
    /// A contract reference the requester gives (case and spaces do not matter): candidates are
    /// also found by it.
    #[serde(default)]
    pub contract_reference: Option<String>,
}

/// The particulars of a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Particulars {
    /// Rectification: identity field → new value (null removes the field).
    #[serde(default)]
    pub changes: BTreeMap<String, Option<String>>,
    /// Objection: the purposes objected to; consent withdrawal: the purposes whose consent is
    /// withdrawn (each resting on consent).
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Erasure: the Art. 17 ground the DPO records (objection_to_prospecting, no_longer_necessary,
    /// consent_withdrawn, objection, unlawful, legal_obligation).
    #[schema(value_type = Option<ErasureGround>)]
    pub ground: Option<String>,
    /// Restriction (required): the Art. 18(1) ground (accuracy_contested, unlawful_processing,
    /// no_longer_needed_but_claims, objection_pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RestrictionGround>)]
    pub restriction_ground: Option<String>,
    /// The requester's own words (web form).
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// access, rectification, erasure, portability, objection, restriction or consent_withdrawal.
    #[schema(value_type = RequestKind)]
    pub kind: String,
    /// The date the request was received (YYYY-MM-DD).
    #[schema(format = Date, pattern = "^[1-9]")]
    pub received_at: String,
    /// letter, email or web_form.
    #[schema(value_type = RequestChannel)]
    pub channel: String,
    pub requester: Requester,
    #[serde(default)]
    pub particulars: Particulars,
    /// The language every message and answer to the requester is in: fr (the default) or en.
    #[serde(default)]
    #[schema(value_type = Option<vigie_domain::Lang>)]
    pub lang: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// 1 or 2.
    #[schema(minimum = 1, maximum = 2)]
    #[serde(deserialize_with = "crate::input::whole_number")]
    pub months: u32,
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// manifestly_unfounded, excessive, identity_not_verified or not_the_subject.
    #[schema(value_type = RefusalGround)]
    pub ground: String,
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reason: String,
}

/// What is sealed in a request row.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Sealed {
    requester: Requester,
    particulars: Particulars,
    #[serde(default)]
    notes: Vec<String>,
    /// The DPO confirmed that no record concerns the requester, and why.
    #[serde(default)]
    no_subject: Option<NoSubject>,
    /// How the identity was checked.
    #[serde(default)]
    identity: Option<IdentityCheckRecord>,
    /// The documents asked of the requester, each with its doubt (identity information awaited).
    #[serde(default)]
    document_requests: Vec<DocumentRequest>,
}

/// The DPO's confirmation that no subject matches a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoSubject {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A subject that may be the requester, and by what it matched.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub subject_id: Uuid,
    /// email, phone, name (first and last name), postal_code (with a name: the postal code of the
    /// requester's address is the one on the record), contract_reference (a contract of the record
    /// has the reference the requester gave).
    pub matched_by: Vec<String>,
}

/// The DPO's link of a request to the subject it concerns, or to none.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The subject the request concerns: one; none (an empty list) with a reason when no
    /// record concerns the requester. Several records of one person are merged first.
    pub subjects: Vec<Uuid>,
    /// Required when `subjects` is empty: why no record concerns the requester.
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reason: Option<String>,
}

/// A request as the DPO sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestView {
    pub id: Uuid,
    pub kind: RequestKind,
    pub channel: RequestChannel,
    /// The language every message and answer to the requester is in.
    pub lang: vigie_domain::Lang,
    pub received_on: NaiveDate,
    /// The deadline in force (extended or not).
    pub due_on: NaiveDate,
    /// The first deadline: one month, moved to the next working day.
    pub first_due_on: NaiveDate,
    pub extended: bool,
    pub days_left: i64,
    pub overdue: bool,
    /// awaiting_identity, in_progress, completed or refused.
    pub status: RequestStatus,
    pub subject_id: Option<Uuid>,
    pub requester: Requester,
    pub particulars: Particulars,
    pub identity_document: Option<IdentityDocument>,
    pub identity_decision: Option<IdentityVerdict>,
    /// Whether an uploaded identity document is still held (it is destroyed on the decision).
    pub identity_document_held: bool,
    pub outcome: Option<RequestOutcome>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The subject was erased: the requester and particulars are gone with it.
    pub subject_erased: bool,
    /// The subjects the requester's email or phone matches: the DPO links one (`…/link`) when
    /// there are several or when the request is not linked yet.
    pub candidates: Vec<Candidate>,
    /// Records bearing the requester's first and last name that nothing else matches, not listed
    /// in `candidates` because there are more than [`HOMONYMS_LISTED`] (0 when all are listed):
    /// the DPO asks the requester for an email, a phone or a contract reference.
    pub homonyms_unlisted: u64,
    /// The DPO confirmed that no record concerns the requester: only then is "no data" answered.
    pub no_subject: Option<NoSubject>,
    /// How the identity was checked (method, and the doubt that justified a document).
    pub identity_check: Option<IdentityCheckRecord>,
    /// The clock stands still: identity information asked of the requester is awaited (EDPB
    /// Guidelines 01/2022). `due_on` counts the days it stood still before; the days of this
    /// suspension are added when it ends, and `days_left` stays as it was the day it began.
    pub deadline_suspended: bool,
    /// Since when the clock stands still.
    pub suspended_since: Option<NaiveDate>,
    /// The days the clock stood still before (ended suspensions), counted in `due_on`.
    pub suspended_days: i64,
    /// The documents asked of the requester, each with the doubt that justified it.
    pub document_requests: Vec<DocumentRequest>,
    /// The one-time link sent to the email on file of the linked subject, while it is outstanding.
    pub confirmation: Option<ConfirmationView>,
}

/// What a request's view shows beyond its row, read in the transaction that reads the row.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    /// An uploaded identity document is held.
    held: bool,
    confirmation: Option<vigie_store::ConfirmationRow>,
}

fn extras(tx: &mut dyn vigie_store::ReadTx, id: Id) -> Result<Extras> {
    Ok(Extras { held: tx.has_identity_document(id)?, confirmation: tx.identity_confirmation(id)? })
}

/// Whether the request's personal content was destroyed with its subject's erasure
/// (its key is gone): only the non-personal proof record remains.
fn redacted(r: &RequestRow) -> bool {
    r.wrapped_key.is_empty()
}

fn request_key(keys: &MasterKey, r: &RequestRow) -> Result<SubjectKey> {
    request_key_check(r)?;
    Ok(keys.unwrap_key(&r.wrapped_key, r.id.as_bytes())?)
}

/// What remains of a request once its subject is erased: kind, dates, outcome, no personal value.
fn proof_record(r: &RequestRow, erased: Option<&vigie_store::ErasureRow>) -> serde_json::Value {
    serde_json::json!({
        "request": r.id, "kind": r.kind, "channel": r.channel, "received_on": r.received_on,
        "due_on": r.extended_due_on.unwrap_or(r.due_on), "extended": r.extended_due_on.is_some(),
        "status": r.status, "outcome": r.outcome, "identity_decision": r.identity_decision,
        "completed_at": r.completed_at, "subject_erased": true,
        "subject_erased_on": erased.map(|e| e.erased_at.date_naive()), "erasure_rule": erased.map(|e| e.rule.clone()),
        "note": "La personne concernée a été effacée : cette demande n'en garde aucune donnée personnelle, \
                 seulement la preuve de son traitement. / The data subject was erased: this request keeps no \
                 personal data, only the proof of how it was handled.",
    })
}

fn seal_json<T: Serialize>(key: &SubjectKey, id: Id, what: Part, v: &T) -> Result<Vec<u8>> {
    let plain = serde_json::to_vec(v).map_err(|e| AppError::failed("encoding JSON", e))?;
    Ok(key.seal(&aad_for(id, what, None), &plain)?)
}

fn open_json<T: for<'de> Deserialize<'de>>(key: &SubjectKey, id: Id, what: Part, sealed: &[u8]) -> Result<T> {
    let plain = key.open(&aad_for(id, what, None), sealed)?;
    serde_json::from_slice(&plain).map_err(|e| crate::error::undecodable(format_args!("request {id} {what}"), &e))
}

fn view(keys: &MasterKey, r: &RequestRow, extras: Extras, today: NaiveDate) -> Result<RequestView> {
    view_with(keys, r, extras, today, Found::default())
}

/// How many records bearing the requester's name a request lists as candidates when nothing else
/// (email, phone, contract reference) matches them. Beyond it, a name is too common to tell the
/// requester apart: none of them is listed, opened or compared, and the request says how many
/// there are (`homonyms_unlisted`) so that the DPO asks the requester for more.
pub const HOMONYMS_LISTED: usize = 20;

/// The subjects a request's requester matches, as [`candidates`] finds them.
#[derive(Debug, Default)]
pub(crate) struct Found {
    candidates: Vec<Candidate>,
    /// Records bearing the requester's name that match by name alone and are not listed (more
    /// than [`HOMONYMS_LISTED`]).
    homonyms_unlisted: u64,
}

/// The subjects that the requester's email, phone, name (with the postal code of their
/// address) and contract reference match, each with what matched.
fn candidates(tx: &mut dyn vigie_store::ReadTx, keys: &MasterKey, requester: &Requester) -> Result<Found> {
    let mut found: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    let mut homonyms_unlisted = 0u64;
    if let Some(email) = &requester.email {
        for id in tx.subjects_by_email(&keys.blind_index(FieldName::Email.as_str(), email))? {
            found.entry(id).or_default().push("email".into());
        }
    }
    if let Some(phone) = &requester.phone {
        for id in tx.subjects_by_phone(&keys.blind_index(FieldName::Phone.as_str(), phone))? {
            found.entry(id).or_default().push("phone".into());
        }
    }
    if let Some(bi) =
        requester.contract_reference.as_deref().and_then(|r| crate::record::contract_reference_bi(keys, r))
    {
        for id in tx.subjects_by_contract_reference(&bi)? {
            found.entry(id).or_default().push("contract_reference".into());
        }
    }
    // A name is weaker: it lists homonyms too, each with whether the postal code of the address the
    // requester gave is the one on the candidate's record (decrypting only those candidates). A
    // name borne by more records than a DPO can tell apart adds "name" to the candidates found
    // otherwise, and only counts the others.
    if let (Some(first), Some(last)) = (&requester.first_name, &requester.last_name)
        && let Some(bi) = crate::record::name_bi_of(keys, first, last)
    {
        let code = requester.postal_address.as_deref().and_then(vigie_domain::model::postal_code);
        let homonyms = tx.subjects_by_name(&bi)?;
        if homonyms.len() > HOMONYMS_LISTED {
            for id in homonyms {
                match found.get_mut(&id) {
                    Some(matched) => matched.push("name".into()),
                    None => homonyms_unlisted += 1,
                }
            }
            return Ok(Found { candidates: listed(found), homonyms_unlisted });
        }
        for id in homonyms {
            // A homonym's record is read and opened only when there is a postal code to compare.
            let same_code = match &code {
                Some(code) => match tx.subject(id)? {
                    Some(row) => {
                        let (_, identity) = crate::record::open_identity(keys, &row)?;
                        identity
                            .get(&FieldName::PostalAddress)
                            .and_then(|a| vigie_domain::model::postal_code(&a.v))
                            .is_some_and(|c| &c == code)
                    }
                    None => false,
                },
                None => false,
            };
            let matched = found.entry(id).or_default();
            matched.push("name".into());
            if same_code {
                matched.push("postal_code".into());
            }
        }
    }
    Ok(Found { candidates: listed(found), homonyms_unlisted })
}

/// The candidates found, each with what matched it in a stable order (email, phone, name, postal code, contract
/// reference last: the order a request always listed them in).
fn listed(found: BTreeMap<Uuid, Vec<String>>) -> Vec<Candidate> {
    const ORDER: [&str; 5] = ["email", "phone", "name", "postal_code", "contract_reference"];
    found
        .into_iter()
        .map(|(subject_id, mut matched_by)| {
            matched_by.sort_by_key(|m| ORDER.iter().position(|o| o == m));
            Candidate { subject_id, matched_by }
        })
        .collect()
}

/// The requester of a live request (none for a proof record).
fn requester_of(keys: &MasterKey, r: &RequestRow) -> Result<Option<Requester>> {
    if redacted(r) {
        return Ok(None);
    }
    let sealed: Sealed = open_json(&request_key(keys, r)?, r.id, Part::Requester, &r.requester)?;
    Ok(Some(sealed.requester))
}

fn view_with(keys: &MasterKey, r: &RequestRow, extras: Extras, today: NaiveDate, found: Found) -> Result<RequestView> {
    let sealed: Sealed = if redacted(r) {
        Sealed::default()
    } else {
        open_json(&request_key(keys, r)?, r.id, Part::Requester, &r.requester)?
    };
    let due = r.extended_due_on.unwrap_or(r.due_on);
    let open = r.status.is_open();
    // While the clock stands still, the days left are those of the day it stopped.
    let left = days_left(due, r.suspended_since.map_or(today, |since| since.min(today)));
    Ok(RequestView {
        id: r.id,
        kind: r.kind,
        channel: r.channel,
        lang: r.lang,
        received_on: r.received_on,
        due_on: due,
        first_due_on: r.due_on,
        extended: r.extended_due_on.is_some(),
        days_left: left,
        overdue: open && left < 0,
        status: r.status,
        subject_id: r.subject_id,
        requester: sealed.requester,
        particulars: sealed.particulars,
        identity_document: r.identity_document,
        identity_decision: r.identity_decision,
        identity_document_held: extras.held,
        outcome: r.outcome,
        completed_at: r.completed_at,
        subject_erased: redacted(r),
        candidates: found.candidates,
        homonyms_unlisted: found.homonyms_unlisted,
        no_subject: sealed.no_subject,
        identity_check: sealed.identity,
        deadline_suspended: open && r.suspended_since.is_some(),
        suspended_since: r.suspended_since.filter(|_| open),
        suspended_days: r.suspended_days,
        document_requests: sealed.document_requests,
        confirmation: extras.confirmation.filter(|_| open).map(|c| ConfirmationView {
            sent_at: c.created_at,
            expires_at: c.expires_at,
            expired: c.expires_at < today.and_time(chrono::NaiveTime::MIN).and_utc(),
        }),
    })
}

/// A request's group in the register: 0 overdue, 1 open with its clock running, 2 open with its
/// clock standing still (identity information awaited), 3 closed.
fn urgency(v: &RequestView) -> u8 {
    match (v.status.is_open(), v.overdue, v.deadline_suspended) {
        (false, _, _) => 3,
        (true, true, _) => 0,
        (true, false, false) => 1,
        (true, false, true) => 2,
    }
}

/// Parses a closed-set value of the input; the error names the accepted set.
fn one_of<T: std::str::FromStr<Err = UnknownToken>>(field: &str, value: &str) -> Result<T> {
    value.parse().map_err(|e: UnknownToken| AppError::invalid(field, format!("must be one of: {}", e.expected)))
}

fn load(tx: &mut dyn Tx, id: Id) -> Result<RequestRow> {
    tx.request(id)?.ok_or_else(|| AppError::NotFound(format!("request {id}")))
}

/// A request to act on: one whose subject was erased is only a proof record (410).
/// Its row is locked for the rest of the write: two steps at once take turns, and the second
/// finds the state the first left (PostgreSQL; SQLite's writer is alone anyway).
fn load_live(tx: &mut dyn Tx, id: Id) -> Result<RequestRow> {
    let row = tx.lock_request(id)?.ok_or_else(|| AppError::NotFound(format!("request {id}")))?;
    request_key_check(&row)?;
    Ok(row)
}

fn request_key_check(r: &RequestRow) -> Result<()> {
    if redacted(r) {
        return Err(AppError::Gone(format!(
            "request {}: its subject was erased, and with it everything personal the request held; \
             only its proof record remains",
            r.id
        )));
    }
    Ok(())
}

impl App {
    /// Records a request (DPO). Its subject is found by the requester's email, through the blind index.
    pub async fn create_request(&self, who: &Principal, input: NewRequest) -> Result<RequestView> {
        who.require(&[Role::Dpo], "recording a rights request")?;
        self.intake(input, who.actor()).await
    }

    /// Records a request from the public form.
    pub async fn create_request_from_form(&self, input: NewRequest) -> Result<RequestView> {
        self.intake(input, audit::Actor::System).await
    }

    async fn intake(&self, input: NewRequest, actor: audit::Actor) -> Result<RequestView> {
        let kind: RequestKind = one_of("kind", &input.kind)?;
        let channel: RequestChannel = one_of("channel", &input.channel)?;
        let lang: vigie_domain::Lang = match &input.lang {
            Some(l) => l.parse().map_err(|_| AppError::invalid("lang", "must be one of: fr, en"))?,
            None => vigie_domain::Lang::Fr,
        };
        let received = parse_date("received_at", &input.received_at)?;
        let today = self.now().date_naive();
        if received > today {
            return Err(AppError::invalid("received_at", "is in the future"));
        }
        let mut requester = input.requester.clone();
        let policy = self.policy();
        let region = policy.controller.country.as_str();
        let normalise = |field: FieldName, v: &Option<String>| -> Result<Option<String>> {
            v.as_deref()
                .map(|x| {
                    normalize_field_in(field, x, region)
                        .map_err(|e| AppError::invalid(format!("requester.{field}"), e.to_string()))
                })
                .transpose()
        };
        requester.first_name = normalise(FieldName::FirstName, &requester.first_name)?;
        requester.last_name = normalise(FieldName::LastName, &requester.last_name)?;
        requester.email = normalise(FieldName::Email, &requester.email)?;
        requester.phone = normalise(FieldName::Phone, &requester.phone)?;
        requester.postal_address = normalise(FieldName::PostalAddress, &requester.postal_address)?;
        requester.contract_reference = match requester.contract_reference.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(r) if r.chars().count() > 200 => {
                return Err(AppError::invalid("requester.contract_reference", "is longer than 200 characters"));
            }
            Some(r) if r.chars().any(char::is_control) => {
                return Err(AppError::invalid("requester.contract_reference", "holds a control character"));
            }
            Some(r) => Some(r.to_string()),
        };
        if requester.email.is_none() && requester.postal_address.is_none() {
            return Err(AppError::invalid("requester", "needs an email or a postal address to answer to"));
        }
        let particulars = self.check_particulars(kind, input.particulars)?;
        let due = response_deadline(received).ok_or_else(|| AppError::invalid("received_at", "is out of range"))?;
        let email_bi = requester.email.as_ref().map(|e| self.keys.blind_index(FieldName::Email.as_str(), e).to_vec());
        let id = new_id();
        let key = SubjectKey::generate()?;
        let sealed = seal_json(
            &key,
            id,
            Part::Requester,
            &Sealed { requester: requester.clone(), particulars, ..Sealed::default() },
        )?;
        let at = self.now();
        let row = RequestRow {
            id,
            kind,
            channel,
            received_on: received,
            due_on: due,
            extended_due_on: None,
            status: RequestStatus::AwaitingIdentity,
            subject_id: None,
            requester_bi: email_bi.clone(),
            requester: sealed,
            identity_document: None,
            identity_decision: None,
            identity_at: None,
            extension_reason: None,
            outcome: None,
            response: None,
            wrapped_key: self.keys.wrap(&key, id.as_bytes())?,
            created_at: at,
            updated_at: at,
            completed_at: None,
            // The clock runs from receipt (Art. 12(3)); it stands still only once the DPO has asked the
            // requester for identity information (`identity/document-request`), as EDPB Guidelines
            // 01/2022 read Art. 12(6): under MSI's clause too, an unasked requester is not waited for.
            suspended_since: None,
            suspended_days: 0,
            extension_months: None,
            lang,
        };
        let keys = self.keys.clone();
        let (row, found) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut row = row.clone();
                let found = candidates(tx, &keys, &requester)?;
                // Only an unambiguous match (one subject, by email or phone) is linked; the DPO
                // settles the rest from the candidates (a name alone never links).
                let strong: Vec<&Candidate> = found
                    .candidates
                    .iter()
                    .filter(|c| c.matched_by.iter().any(|m| m == "email" || m == "phone"))
                    .collect();
                row.subject_id = (strong.len() == 1).then(|| strong[0].subject_id);
                tx.insert_request(&row)?;
                let mut entry = Entry::new("request.create").detail(format!("request:{} kind={}", row.id, row.kind));
                if let Some(s) = row.subject_id {
                    entry = entry.subject(s);
                }
                let recorded = trail.record(tx, entry)?;
                Ok(((row, found), recorded))
            })
            .await?;
        view_with(&self.keys, &row, Extras::default(), today, found)
    }

    /// Links a request to the subject it concerns, or records that none does and why (DPO).
    /// "No data" is answered only after this confirmation.
    pub async fn link_request(&self, who: &Principal, id: Id, input: Link) -> Result<RequestView> {
        who.require(&[Role::Dpo], "linking a rights request")?;
        let subject = match (input.subjects.as_slice(), input.reason.as_deref()) {
            ([], None) => {
                return Err(AppError::invalid(
                    "reason",
                    "linking a request to no subject needs the reason no record concerns the requester",
                ));
            }
            ([], Some(_)) => None,
            ([one], _) => Some(*one),
            _ => {
                return Err(AppError::invalid(
                    "subjects",
                    "a request is linked to one subject: merge the records of one person first \
                     (POST /api/v1/subjects/{id}/merge), so that the answer covers all of them",
                ));
            }
        };
        let reason = input.reason.as_deref().map(|r| crate::input::check_text("reason", r, 2000)).transpose()?;
        let keys = self.keys.clone();
        let (row, extras, found) = self
            .db
            .audited(who.actor(), move |tx, trail| {
                let mut row = load_live(tx, id)?;
                if !row.status.is_open() {
                    return Err(AppError::Conflict(format!("request {id} is already {}", row.status)));
                }
                if let Some(s) = subject
                    && tx.subject(s)?.is_none()
                {
                    return Err(AppError::NotFound(format!("subject {s}")));
                }
                let key = request_key(&keys, &row)?;
                let mut sealed: Sealed = open_json(&key, id, Part::Requester, &row.requester)?;
                sealed.no_subject = match (&subject, &reason) {
                    (None, Some(r)) => Some(NoSubject { reason: r.clone(), at: trail.at }),
                    _ => None,
                };
                row.requester = seal_json(&key, id, Part::Requester, &sealed)?;
                let previous = std::mem::replace(&mut row.subject_id, subject);
                row.updated_at = trail.at;
                tx.update_request(&row)?;
                let found = candidates(tx, &keys, &sealed.requester)?;
                if previous != subject {
                    // A link sent to another subject's email on file no longer confirms anything.
                    tx.delete_identity_confirmation(id)?;
                }
                let extras = extras(tx, id)?;
                let mut entry = Entry::new("request.link");
                entry = match subject {
                    Some(s) => entry.subject(s).detail(format!("request:{id}")),
                    None => entry.detail(format!("request:{id} no_subject")),
                };
                let recorded = trail.record(tx, entry)?;
                Ok(((row, extras, found), recorded))
            })
            .await?;
        view_with(&self.keys, &row, extras, self.now().date_naive(), found)
    }

    fn check_particulars(&self, kind: RequestKind, p: Particulars) -> Result<Particulars> {
        let policy = self.policy();
        match kind {
            RequestKind::Rectification => {
                if p.changes.is_empty() {
                    return Err(AppError::invalid("particulars.changes", "a rectification names the fields to change"));
                }
                let mut changes = BTreeMap::new();
                for (name, value) in p.changes {
                    let field: FieldName = name.parse().map_err(|e: vigie_domain::model::UnknownToken| {
                        AppError::invalid(
                            format!("particulars.changes.{name}"),
                            format!("is not an identity field ({e})"),
                        )
                    })?;
                    let v = value
                        .map(|v| {
                            normalize_field_in(field, &v, &self.policy().controller.country)
                                .map_err(|e| AppError::invalid(format!("particulars.changes.{field}"), e.to_string()))
                        })
                        .transpose()?;
                    changes.insert(name, v);
                }
                Ok(Particulars { changes, ..Particulars::default() })
            }
            RequestKind::Objection => {
                let purposes = if p.purposes.is_empty() { vec!["prospect_relations".to_string()] } else { p.purposes };
                for purpose in &purposes {
                    if policy.purpose(purpose).is_none() {
                        return Err(AppError::invalid(
                            "particulars.purposes",
                            format!("`{purpose}` is not a purpose of the policy"),
                        ));
                    }
                }
                Ok(Particulars { purposes, ..Particulars::default() })
            }
            RequestKind::Erasure => {
                if let Some(g) = &p.ground {
                    one_of::<ErasureGround>("particulars.ground", g)?;
                }
                Ok(Particulars { ground: p.ground, ..Particulars::default() })
            }
            RequestKind::Restriction => {
                let Some(g) = &p.restriction_ground else {
                    return Err(AppError::invalid(
                        "particulars.restriction_ground",
                        format!("a restriction names its Art. 18(1) ground, one of: {}", RestrictionGround::expected()),
                    ));
                };
                one_of::<RestrictionGround>("particulars.restriction_ground", g)?;
                Ok(Particulars {
                    restriction_ground: p.restriction_ground,
                    message: p.message,
                    ..Particulars::default()
                })
            }
            RequestKind::ConsentWithdrawal => {
                if p.purposes.is_empty() {
                    return Err(AppError::invalid(
                        "particulars.purposes",
                        "a consent withdrawal names the purposes whose consent is withdrawn",
                    ));
                }
                let mut purposes = Vec::new();
                for purpose in p.purposes {
                    let on_consent =
                        policy.purpose(&purpose).is_some_and(|x| x.bases.values().any(|b| *b == LegalBasis::Consent));
                    if !on_consent {
                        let id = crate::input::identifier("particulars.purposes", &purpose)?;
                        return Err(AppError::invalid(
                            "particulars.purposes",
                            format!("`{id}` is not a purpose of the policy that rests on consent"),
                        ));
                    }
                    if !purposes.contains(&purpose) {
                        purposes.push(purpose);
                    }
                }
                Ok(Particulars { purposes, message: p.message, ..Particulars::default() })
            }
            RequestKind::Access | RequestKind::Portability => {
                Ok(Particulars { message: p.message, ..Particulars::default() })
            }
        }
    }

    /// The request register, most urgent first (DPO): the overdue; then the open requests whose clock
    /// runs, nearest deadline first; then those whose clock stands still, identity information
    /// awaited from the requester (they cannot become late while it is awaited, and the DPO cannot
    /// act on them), nearest deadline first; then the closed ones.
    pub async fn list_requests(&self, who: &Principal) -> Result<Vec<RequestView>> {
        who.require(&[Role::Dpo], "reading the request register")?;
        let actor = who.actor();
        let rows = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let rows = tx.requests(100_000)?;
                let mut more = Vec::with_capacity(rows.len());
                for r in &rows {
                    more.push(extras(tx, r.id)?);
                }
                let recorded =
                    trail.record(tx, Entry::new("requests.list").detail(format!("{} requests", rows.len())))?;
                Ok((rows.into_iter().zip(more).collect::<Vec<_>>(), recorded))
            })
            .await?;
        let today = self.now().date_naive();
        let mut views = rows.into_iter().map(|(r, e)| view(&self.keys, &r, e, today)).collect::<Result<Vec<_>>>()?;
        views.sort_by_key(|v| (urgency(v), v.days_left, v.received_on));
        Ok(views)
    }

    /// One request (DPO).
    pub async fn get_request(&self, who: &Principal, id: Id) -> Result<RequestView> {
        who.require(&[Role::Dpo], "reading a rights request")?;
        let actor = who.actor();
        let keys = self.keys.clone();
        let (row, extras, found) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let row = load(tx, id)?;
                let extras = extras(tx, id)?;
                let found = match requester_of(&keys, &row)? {
                    Some(r) if row.status.is_open() => candidates(tx, &keys, &r)?,
                    _ => Found::default(),
                };
                let recorded = trail.record(tx, Entry::new("request.read").detail(format!("request:{id}")))?;
                Ok(((row, extras, found), recorded))
            })
            .await?;
        view_with(&self.keys, &row, extras, self.now().date_naive(), found)
    }

    /// Extends the deadline once, by one or two months, with reasons, before the first deadline passes (DPO).
    /// The requester is told through the outbox.
    pub async fn extend_request(&self, who: &Principal, id: Id, input: Extension) -> Result<RequestView> {
        who.require(&[Role::Dpo], "extending a deadline")?;
        let reason = crate::input::check_text("reason", &input.reason, 2_000)?;
        let (keys, actor) = (self.keys.clone(), who.actor());
        let row = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut row = load_live(tx, id)?;
                if !row.status.is_open() {
                    return Err(AppError::Conflict(format!("request {id} is {}", row.status)));
                }
                // While the clock stands still, it reads the day it stopped.
                let today = trail.at.date_naive();
                let clock_day = row.suspended_since.map_or(today, |since| since.min(today));
                let days = u64::try_from(row.suspended_days).unwrap_or(0);
                let new_due =
                    can_extend_suspended(row.received_on, clock_day, row.extended_due_on.is_some(), input.months, days)
                        .map_err(|e| AppError::Conflict(e.to_string()))?;
                let key = request_key(&keys, &row)?;
                row.extended_due_on = Some(new_due);
                row.extension_months = Some(i64::from(input.months));
                row.extension_reason = Some(key.seal(&aad_for(id, Part::Extension, None), reason.as_bytes())?);
                row.updated_at = trail.at;
                tx.update_request(&row)?;
                tx.queue_message(&vigie_store::NewMessage {
                    idempotency_key: format!("request:{id}:extension"),
                    subject_id: None,
                    recipient: None,
                    template: "request_extension".into(),
                    params: serde_json::json!({ "request": id.to_string() }).to_string(),
                    at: trail.at,
                })?;
                let detail = format!("request:{id} months={} due_on={new_due}", input.months);
                let recorded = trail.record(tx, Entry::new("request.extend").detail(detail))?;
                Ok(((row, extras(tx, id)?), recorded))
            })
            .await?;
        view(&self.keys, &row.0, row.1, self.now().date_naive())
    }

    /// Refuses a request with an Art. 12(5) ground and reasons (DPO).
    pub async fn refuse_request(&self, who: &Principal, id: Id, input: Refusal) -> Result<RequestView> {
        who.require(&[Role::Dpo], "refusing a rights request")?;
        let ground: RefusalGround = one_of("ground", &input.ground)?;
        let reason = crate::input::check_text("reason", &input.reason, 2_000)?;
        let (keys, actor, policy) = (self.keys.clone(), who.actor(), self.policy());
        let row = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut row = load_live(tx, id)?;
                if !row.status.is_open() {
                    return Err(AppError::Conflict(format!("request {id} is already {}", row.status)));
                }
                let key = request_key(&keys, &row)?;
                let at = trail.at;
                tx.delete_identity_document(id)?;
                tx.delete_identity_confirmation(id)?;
                identity::resume_clock(&mut row, at.date_naive())?;
                let sealed: Sealed = open_json(&key, id, Part::Requester, &row.requester)?;
                let body =
                    vigie_ui::answers::Body::Refusal(vigie_ui::answers::Refusal { ground, reason: reason.clone() });
                let response = answer::answer(&policy, &row, &sealed.requester, at, row.subject_id.is_some(), body);
                row.status = RequestStatus::Refused;
                row.outcome = Some(ground.into());
                row.response = Some(seal_json(&key, id, Part::Response, &response)?);
                row.updated_at = at;
                row.completed_at = Some(at);
                tx.update_request(&row)?;
                let recorded =
                    trail.record(tx, Entry::new("request.refuse").detail(format!("request:{id} ground={ground}")))?;
                Ok((row, recorded))
            })
            .await?;
        view(&self.keys, &row, Extras::default(), self.now().date_naive())
    }

    /// Carries the request out (DPO), after the identity was verified; returns the answer as JSON.
    pub async fn fulfil_request(&self, who: &Principal, id: Id) -> Result<serde_json::Value> {
        let answer = self.fulfil_request_answer(who, id).await?;
        serde_json::to_value(&answer).map_err(|e| AppError::failed("encoding JSON", e))
    }

    /// Carries the request out (DPO), after the identity was verified; returns the answer.
    pub async fn fulfil_request_answer(&self, who: &Principal, id: Id) -> Result<vigie_ui::answers::Answer> {
        who.require(&[Role::Dpo], "carrying out a rights request")?;
        let (keys, actor, policy, transfers) = (self.keys.clone(), who.actor(), self.policy(), self.transfers.clone());
        let (response, outcome, tombstone) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut row = load_live(tx, id)?;
                match row.status {
                    RequestStatus::InProgress => {}
                    RequestStatus::AwaitingIdentity => {
                        return Err(AppError::Conflict(format!(
                            "request {id} awaits the identity decision: nothing is disclosed or changed before it"
                        )));
                    }
                    s => return Err(AppError::Conflict(format!("request {id} is already {s}"))),
                }
                let key = request_key(&keys, &row)?;
                let sealed: Sealed = open_json(&key, id, Part::Requester, &row.requester)?;
                let at = trail.at;
                let lang = row.lang;
                let ctx = Ctx { tx, trail, keys: &keys, policy: &policy, transfers: &transfers, at, request: id, lang };
                if row.subject_id.is_none() && sealed.no_subject.is_none() {
                    return Err(AppError::Conflict(format!(
                        "request {id} is linked to no subject: link it to the subject it concerns, or confirm \
                         with a reason that no record concerns the requester (POST /api/v1/requests/{id}/link), \
                         before answering"
                    )));
                }
                let (body, outcome) = match row.subject_id {
                    None => (vigie_ui::answers::Body::NoData, RequestOutcome::NoData),
                    Some(subject) => ctx.carry_out(row.kind, subject, &sealed.particulars)?,
                };
                let response = answer::answer(&policy, &row, &sealed.requester, at, row.subject_id.is_some(), body);
                // An erasure destroyed, in this transaction, what the request held of its subject:
                // only the proof record is stored, and the answer is returned this once.
                let now_redacted = load(tx, id)?;
                if redacted(&now_redacted) {
                    row.requester = now_redacted.requester;
                    row.wrapped_key = now_redacted.wrapped_key;
                    row.extension_reason = None;
                    row.requester_bi = None;
                    row.response = None;
                } else {
                    row.response = Some(seal_json(&key, id, Part::Response, &response)?);
                }
                row.status = RequestStatus::Completed;
                row.outcome = Some(outcome);
                row.completed_at = Some(at);
                row.updated_at = at;
                tx.update_request(&row)?;
                let mut entry =
                    Entry::new("request.fulfil").detail(format!("request:{id} kind={} outcome={outcome}", row.kind));
                if let Some(s) = row.subject_id {
                    entry = entry.subject(s);
                }
                // The erasure's tombstone, for the journal, read in the same transaction.
                let tombstone = match (outcome, row.subject_id) {
                    (RequestOutcome::Erased, Some(s)) => tx.erasure(s)?,
                    _ => None,
                };
                let recorded = trail.record(tx, entry)?;
                Ok(((response, outcome, tombstone), recorded))
            })
            .await?;
        // Committed: the WAL is checkpointed and cut (on another thread) while the journal line
        // is written and synced; both are done before the answer is returned.
        let compact =
            matches!(outcome, RequestOutcome::Erased | RequestOutcome::ErasedPartially | RequestOutcome::Rectified)
                .then(|| self.start_compaction());
        if let Some(e) = tombstone {
            self.journal_erasures(&[crate::backup::Erased::from(&e)]);
        }
        if let Some(compact) = compact {
            compact.await;
        }
        Ok(response)
    }

    /// The response of a completed or refused request, as the DPO reads it (DPO): the answer
    /// with its Art. 19 notices as they stand now, or, once the subject was erased, the proof record.
    pub async fn request_response(&self, who: &Principal, id: Id) -> Result<serde_json::Value> {
        match self.load_response(who, id).await? {
            Response::Answer(a) => serde_json::to_value(&a).map_err(|e| AppError::failed("encoding JSON", e)),
            Response::Earlier(v) => Ok(v),
            Response::Proof(row, erasure) => Ok(proof_record(&row, erasure.as_ref())),
        }
    }

    /// The response as the document the person reads (DPO): a standalone HTML document in the
    /// request's language, its stylesheet inlined; the proof record once the subject was erased.
    pub async fn request_response_html(&self, who: &Principal, id: Id) -> Result<String> {
        use vigie_ui::Template as _;
        let rendered = match self.load_response(who, id).await? {
            Response::Answer(a) => vigie_ui::answers::AnswerDocument::new(&a).render(),
            Response::Earlier(v) => earlier_document(&v).render(),
            Response::Proof(row, erasure) => vigie_ui::answers::ProofDocument {
                t: vigie_ui::Tr(row.lang),
                standalone: true,
                kind: row.kind,
                received_on: row.received_on,
                completed_on: row.completed_at.map(|c| c.date_naive()),
                erased_on: erasure.map(|e| e.erased_at.date_naive()),
            }
            .render(),
        };
        rendered.map_err(|e| AppError::failed("rendering an answer", e))
    }

    async fn load_response(&self, who: &Principal, id: Id) -> Result<Response> {
        who.require(&[Role::Dpo], "reading a response")?;
        let keys = self.keys.clone();
        let out = self
            .db
            .audited(who.actor(), move |tx, trail| {
                let row = load(tx, id)?;
                let out = if redacted(&row) {
                    let erasure = match row.subject_id {
                        Some(s) => tx.erasure(s)?,
                        None => None,
                    };
                    Response::Proof(Box::new(row), erasure)
                } else {
                    let sealed = row.response.as_ref().ok_or_else(|| {
                        AppError::Conflict(format!("request {id} has no response yet ({})", row.status))
                    })?;
                    match open_json(&request_key(&keys, &row)?, id, Part::Response, sealed)? {
                        vigie_ui::answers::Stored::Answer(mut a) => {
                            answer::refresh_notices(tx, &mut a)?;
                            Response::Answer(a)
                        }
                        vigie_ui::answers::Stored::Earlier(v) => Response::Earlier(v),
                    }
                };
                let recorded = trail.record(tx, Entry::new("request.response").detail(format!("request:{id}")))?;
                Ok((out, recorded))
            })
            .await?;
        Ok(out)
    }
}

/// A stored response, as read.
enum Response {
    Answer(Box<vigie_ui::answers::Answer>),
    /// Recorded before answers were typed: its JSON as it was.
    Earlier(serde_json::Value),
    /// The subject was erased: the request's proof record.
    Proof(Box<RequestRow>, Option<vigie_store::ErasureRow>),
}

const LABELS: &[(&str, &str)] = &[
    ("controller", "Responsable du traitement"),
    ("breach", "Violation"),
    ("detected_at", "Date et heure de la découverte"),
    ("notify_authority_by", "Notification à la CNIL due avant"),
    ("late", "Notification tardive"),
    ("late_reasons", "Motifs du retard"),
    ("nature", "Nature de la violation"),
    ("description", "Description"),
    ("data_categories", "Catégories de données concernées"),
    ("subjects_concerned", "Nombre approximatif de personnes concernées"),
    ("records_concerned", "Nombre approximatif d'enregistrements concernés"),
    ("subject_categories", "Catégories de personnes concernées"),
    ("category", "Catégorie"),
    ("label", "Libellé"),
    ("count", "Nombre approximatif"),
    ("no_notification_reasons", "Motifs de l'absence de notification à la CNIL"),
    ("unreachable", "Personnes concernées sans adresse électronique"),
    ("likely_consequences", "Conséquences probables"),
    ("measures", "Mesures prises ou envisagées"),
    ("risk", "Niveau de risque pour les personnes"),
    ("subjects_information", "Information des personnes (article 34)"),
    ("request", "Demande"),
    ("kind", "Nature de la demande"),
    ("subject", "Personne concernée"),
    ("data", "Vos données"),
    ("contracts", "Contrats"),
    ("interactions", "Échanges"),
    ("consents", "Consentements"),
    ("objections", "Oppositions"),
    ("purposes", "Finalités et bases légales"),
    ("recipients", "Destinataires ayant reçu vos données"),
    ("retention", "Durée de conservation"),
    ("transfers_outside_eea", "Transferts hors de l'Espace économique européen"),
    ("rights", "Vos droits"),
    ("dpo", "Délégué à la protection des données"),
    ("complaint", "Réclamation auprès de la CNIL"),
    ("policy_version", "Version de la politique"),
    ("kept", "Données conservées"),
    ("why_kept", "Motif de la conservation"),
    ("erased_fields", "Données effacées"),
    ("changed_fields", "Données rectifiées"),
    ("recipients_notified", "Destinataires informés"),
    ("recipients_notice", "Information des destinataires (article 19)"),
    ("restricted", "Limitation du traitement"),
    ("restriction_ground", "Motif de la limitation"),
    ("csv", "Export CSV"),
    ("message", "Message"),
];

fn label(key: &str) -> String {
    LABELS.iter().find(|(k, _)| *k == key).map_or_else(|| key.replace('_', " "), |(_, l)| (*l).to_string())
}

/// The rows of a value of a response recorded before answers were typed: each leaf with the
/// labels of its path, in words.
fn earlier_rows(path: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    let at = |k: &str| if path.is_empty() { label(k) } else { format!("{path} › {}", label(k)) };
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                earlier_rows(&at(k), v, out);
            }
        }
        serde_json::Value::Array(items) if items.is_empty() => out.push((path.to_string(), "aucun".into())),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                earlier_rows(&format!("{path} {}", i + 1), item, out);
            }
        }
        serde_json::Value::String(s) => out.push((path.to_string(), s.clone())),
        serde_json::Value::Null => out.push((path.to_string(), "non renseigné".into())),
        serde_json::Value::Bool(b) => out.push((path.to_string(), if *b { "oui" } else { "non" }.into())),
        other => out.push((path.to_string(), other.to_string())),
    }
}

/// A response recorded before answers were typed, as a readable French document: one section
/// per key, each value with the labels of its path.
fn earlier_document(value: &serde_json::Value) -> vigie_ui::answers::EarlierDocument {
    let mut sections = Vec::new();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            let mut rows = Vec::new();
            earlier_rows("", v, &mut rows);
            sections.push((label(k), rows));
        }
    }
    vigie_ui::answers::EarlierDocument { t: vigie_ui::Tr(Lang::Fr), standalone: true, sections }
}

pub(crate) mod answer;
pub mod confirmation;
mod fulfil;
pub mod identity;
pub mod restriction;
pub mod suppression;
use fulfil::Ctx;
pub use identity::{ConfirmationView, DocumentRequest, IdentityCheckRecord, IdentityDecision};
