//! Subjects and their records (SPEC 4.1), and purpose-bound reads (SPEC 4.2).
//!
//! Writes: the input is validated and sealed under the subject's key, then
//! one transaction inserts the rows and appends the audit entry. Reads: one
//! transaction loads the subject, decides the read with
//! [`vigie_domain::check_read`], appends the audit entry (allowed or refused)
//! and, for an external recipient, the disclosure; only then is anything
//! decrypted, and only the fields the purpose grants.

pub mod generate;
pub mod import;
pub mod merge;
pub mod stats;

use crate::App;
use crate::audit::Entry;
use crate::auth::Principal;
use crate::db::{Recorded, Trail};
use crate::error::{AppError, Result};
use crate::input::*;
use crate::record::*;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;
use vigie_crypto::{MasterKey, Part, SubjectKey};
use vigie_domain::access::{Grant, Role, check_read};
use vigie_domain::model::normalize_field_in;
use vigie_domain::policy::{DataCategory, LegalBasis};
use vigie_domain::records::OutboxStatus;
use vigie_domain::transfers::TransferList;
use vigie_domain::{Direction, FieldName, Policy, Provenance, SubjectKind};
use vigie_store::{ConsentRow, ContractRow, Id, InteractionRow, ObjectionRow, ReadTx, SubjectRow, Tx, new_id};

pub use crate::auth::WRITERS;

// ---- inputs ----

/// A new client or prospect.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubject {
    /// `client` or `prospect`.
    #[schema(value_type = SubjectKind)]
    pub kind: String,
    /// When the data was collected (RFC 3339 or a date); defaults to now.
    #[schema(format = DateTime)]
    pub collected_at: Option<String>,
    /// Provenance of every field: `provided` (default), `observed` or `third_party`.
    #[schema(value_type = Option<Provenance>)]
    pub provenance: Option<String>,
    /// Provenance per field, overriding `provenance`.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Provenance>)]
    pub field_provenance: BTreeMap<String, String>,
    /// Identity fields: civility, first_name, last_name, email, phone,
    /// postal_address, company, job_title, notes.
    pub identity: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContract {
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reference: String,
    /// ISO 8601 date.
    #[schema(format = Date, pattern = "^[1-9]")]
    pub start: String,
    /// ISO 8601 date; absent while the contract runs.
    #[schema(format = Date, pattern = "^[1-9]")]
    pub end: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInteraction {
    /// RFC 3339 timestamp.
    #[schema(format = DateTime)]
    pub at: String,
    /// `inbound` (initiated by the subject) or `outbound` (by the company).
    #[schema(value_type = Direction)]
    pub direction: String,
    /// e.g. email, phone, letter, meeting, web_form.
    #[schema(pattern = "^[a-z0-9_]{1,32}$")]
    pub channel: String,
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    /// A purpose of the policy.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub purpose: String,
    pub granted: bool,
    /// How it was given or withdrawn: channel, wording, or policy version shown.
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub evidence: String,
    /// RFC 3339; defaults to now.
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewObjection {
    /// A purpose of the policy.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub purpose: String,
    /// RFC 3339; defaults to now.
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

// ---- outputs ----

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Created {
    pub id: Uuid,
    pub subject_id: Uuid,
    /// The subject's kind after the write (a contract turns a prospect into a client).
    pub subject_kind: SubjectKind,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectCreated {
    pub id: Uuid,
    pub kind: SubjectKind,
    pub collected_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The identity fields recorded (names only).
    pub fields: Vec<String>,
    /// Subjects already recorded with the same email or phone (empty when none): the record is
    /// created all the same, and the DPO can merge two records.
    pub possible_duplicates: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractView {
    pub id: Uuid,
    pub reference: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InteractionView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub direction: Direction,
    pub channel: String,
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    pub purpose: String,
    pub granted: bool,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectionView {
    pub purpose: String,
    pub at: DateTime<Utc>,
}

/// A subject as one purpose may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectView {
    pub id: Uuid,
    pub kind: SubjectKind,
    pub collected_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The purpose this read was made for, and its legal basis.
    pub purpose: String,
    pub basis: LegalBasis,
    /// True when the last contract has ended and the record is kept archived.
    pub archived: bool,
    /// The identity fields the purpose grants.
    #[schema(value_type = BTreeMap<String, String>)]
    pub identity: BTreeMap<FieldName, String>,
    /// Where each returned field came from.
    #[schema(value_type = BTreeMap<String, Provenance>)]
    pub provenance: BTreeMap<FieldName, Provenance>,
    pub contracts: Vec<ContractView>,
    pub interactions: Vec<InteractionView>,
    pub consents: Vec<ConsentView>,
    pub objections: Vec<ObjectionView>,
    /// The policy revisions announced to the subject, and whether each notice was sent.
    pub policy_notices: Vec<PolicyNotice>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyNotice {
    pub version: String,
    /// pending, sent or failed.
    pub status: OutboxStatus,
    pub sent_at: Option<DateTime<Utc>>,
}

// ---- parsing helpers ----

/// A validated, sealed new subject, ready to insert (also used by import).
pub(crate) struct Prepared {
    pub row: SubjectRow,
    pub fields: Vec<FieldName>,
    /// The blind index of the name (first and last), when the subject has both.
    pub name_bi: Option<Vec<u8>>,
    /// The blind index of the reference of the contract imported with it, if any.
    pub contract_reference_bi: Option<Vec<u8>>,
}

/// A new subject that passed validation, not yet sealed.
pub(crate) struct Validated {
    kind: SubjectKind,
    collected_at: DateTime<Utc>,
    identity: Identity,
}

/// Checks and normalises a new subject, without sealing it.
/// `region` is the policy's country, the one national phone numbers are read in.
pub(crate) fn validate(input: &NewSubject, at: DateTime<Utc>, region: &str) -> Result<Validated> {
    let kind: SubjectKind = parse_token("kind", &input.kind)?;
    let collected_at = match &input.collected_at {
        Some(raw) => parse_timestamp("collected_at", raw, at)?,
        None => at,
    };
    let default_provenance: Provenance = match &input.provenance {
        Some(p) => parse_token("provenance", p)?,
        None => Provenance::Provided,
    };
    let mut identity = Identity::new();
    for (name, value) in &input.identity {
        let field: FieldName = name.parse().map_err(|e: vigie_domain::model::UnknownToken| {
            AppError::invalid(format!("identity.{name}"), format!("is not an identity field ({e})"))
        })?;
        let Some(value) = value else { continue };
        let v = normalize_field_in(field, value, region)
            .map_err(|e| AppError::invalid(format!("identity.{field}"), e.to_string()))?;
        let p = match input.field_provenance.get(name) {
            Some(p) => parse_token(&format!("field_provenance.{name}"), p)?,
            None => default_provenance,
        };
        identity.insert(field, IdentityField { v, p });
    }
    for name in input.field_provenance.keys() {
        if !input.identity.contains_key(name) {
            return Err(AppError::invalid(format!("field_provenance.{name}"), "names a field that is not in identity"));
        }
    }
    if identity.is_empty() {
        return Err(AppError::invalid(
            "identity",
            "holds no field: a subject needs at least a name, an email or a phone",
        ));
    }
    Ok(Validated { kind, collected_at, identity })
}

/// Seals a validated subject under a fresh key, with its blind indexes and retention clock.
pub(crate) fn seal(keys: &MasterKey, policy: &Policy, v: Validated, at: DateTime<Utc>) -> Result<Prepared> {
    let clock = crate::record::initial(policy, v.kind, v.collected_at.date_naive());
    let id = new_id();
    let key = SubjectKey::generate()?;
    let plain = serde_json::to_vec(&v.identity).map_err(|e| AppError::failed("encoding JSON", e))?;
    let sealed = key.seal(&aad(id, Part::Identity, None), &plain)?;
    let bi = |f: FieldName| v.identity.get(&f).map(|x| keys.blind_index(f.as_str(), &x.v).to_vec());
    Ok(Prepared {
        row: SubjectRow {
            id,
            kind: v.kind,
            collected_at: v.collected_at,
            created_at: at,
            updated_at: at,
            email_bi: bi(FieldName::Email),
            phone_bi: bi(FieldName::Phone),
            identity: sealed,
            wrapped_key: keys.wrap(&key, id.as_bytes())?,
            retention_rule: clock.stored_rule().to_string(),
            basis_date: clock.basis_date,
            expires_on: clock.expires_on,
            legal_hold: None,
            held_at: None,
        },
        fields: v.identity.keys().copied().collect(),
        name_bi: crate::record::name_bi(keys, &v.identity),
        contract_reference_bi: None,
    })
}

/// What a subject search looks for: exactly one of an email, a phone, or a name (first and last
/// name together); the values are normalised as recorded ones are, then blind-indexed.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubjectQuery<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
}

/// Which blind index a search reads.
#[derive(Clone, Copy)]
enum Lookup {
    Email,
    Phone,
    Name,
}

/// Validates and seals a new subject.
pub(crate) fn prepare(keys: &MasterKey, policy: &Policy, input: &NewSubject, at: DateTime<Utc>) -> Result<Prepared> {
    seal(keys, policy, validate(input, at, &policy.controller.country)?, at)
}

/// The fields a grant returns: identity fields present in its categories, then records.
fn granted_fields(identity: &Identity, grant: &Grant) -> Vec<String> {
    let mut out: Vec<String> =
        identity.keys().filter(|f| grant.categories.contains(&f.category())).map(|f| f.as_str().to_string()).collect();
    if grant.categories.contains(&DataCategory::Contract) {
        out.push("contracts".into());
    }
    if grant.categories.contains(&DataCategory::Interactions) {
        out.push("interactions".into());
    }
    out
}

fn view(
    keys: &MasterKey,
    loaded: Loaded,
    grant: Grant,
    key: &SubjectKey,
    identity: Identity,
    today: NaiveDate,
) -> Result<SubjectView> {
    let sid = loaded.row.id;
    let mut fields = BTreeMap::new();
    let mut provenance = BTreeMap::new();
    for (f, v) in identity {
        if grant.categories.contains(&f.category()) {
            provenance.insert(f, v.p);
            fields.insert(f, v.v);
        }
    }
    let text = |sealed: &[u8], what: Part, id: Id| -> Result<String> {
        let plain = key.open(&aad(sid, what, Some(id)), sealed)?;
        String::from_utf8(plain).map_err(|_| AppError::Internal(format!("{what} {id} is not text")))
    };
    let contracts = if grant.categories.contains(&DataCategory::Contract) {
        loaded
            .contracts
            .iter()
            .map(|c| {
                Ok(ContractView {
                    id: c.id,
                    reference: text(&c.reference, Part::Contract, c.id)?,
                    start: c.start,
                    end: c.end,
                    active: contract_active(c, today),
                })
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let interactions = if grant.categories.contains(&DataCategory::Interactions) {
        loaded
            .interactions
            .iter()
            .map(|i| {
                Ok(InteractionView {
                    id: i.id,
                    at: i.at,
                    direction: i.direction,
                    channel: i.channel.clone(),
                    summary: i.summary.as_deref().map(|s| text(s, Part::Interaction, i.id)).transpose()?,
                })
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let _ = keys;
    Ok(SubjectView {
        id: sid,
        kind: loaded.row.kind,
        collected_at: loaded.row.collected_at,
        created_at: loaded.row.created_at,
        purpose: grant.purpose,
        basis: grant.basis,
        archived: grant.archived,
        identity: fields,
        provenance,
        contracts,
        interactions,
        consents: loaded
            .consents
            .iter()
            .map(|c| ConsentView { purpose: c.purpose.clone(), granted: c.granted, at: c.at })
            .collect(),
        objections: loaded.objections.iter().map(|o| ObjectionView { purpose: o.purpose.clone(), at: o.at }).collect(),
        policy_notices: loaded
            .messages
            .iter()
            .filter(|m| m.template == crate::governance::revisions::TEMPLATE)
            .map(|m| PolicyNotice {
                version: serde_json::from_str::<serde_json::Value>(&m.params)
                    .ok()
                    .and_then(|v| v["version"].as_str().map(str::to_string))
                    .unwrap_or_default(),
                status: m.status,
                sent_at: m.sent_at,
            })
            .collect(),
    })
}

/// The audit entry of a read the policy refused, under `rule`.
fn refused_entry(id: Id, purpose: &str, rule: &str) -> Entry {
    Entry::new("subject.read").subject(id).purpose(purpose).outcome("refused").detail(rule)
}

/// The audit entry of a read the policy allowed: the fields disclosed, and whether the subject is
/// archived (read under the archive's own rules).
fn granted_entry(id: Id, purpose: &str, fields: &[String], grant: &Grant) -> Entry {
    let entry = Entry::new("subject.read").subject(id).purpose(purpose).fields(fields);
    if grant.archived { entry.detail("archived") } else { entry }
}

/// Decides, audits and (when allowed) decrypts one subject read, inside the caller's transaction.
fn read_in_tx(
    tx: &mut dyn Tx,
    trail: &Trail<'_>,
    policy: &Policy,
    transfers: &TransferList,
    who: &Principal,
    purpose: &str,
    id: Id,
) -> Result<(Option<Result<SubjectView, AppError>>, Recorded)> {
    let keys = trail.keys();
    let at = trail.at;
    let today = at.date_naive();
    let Some(loaded) = Loaded::load(tx, id)? else {
        let erased = tx.erasure(id)?;
        let outcome = if erased.is_some() { "erased" } else { "not_found" };
        let recorded = trail.record(tx, Entry::new("subject.read").subject(id).purpose(purpose).outcome(outcome))?;
        let gone = erased.map(|e| Err(crate::record::gone(&e)));
        return Ok((gone, recorded));
    };
    let grant = match check_read(policy, who.caller(), purpose, &loaded.facts(today)) {
        Ok(g) => g,
        Err(refusal) => {
            let recorded = trail.record(tx, refused_entry(id, purpose, refusal.rule.as_str()))?;
            return Ok((Some(Err(AppError::Refused(refusal))), recorded));
        }
    };
    if let Some(recipient) = &grant.disclosed_to
        && let Err(refused) = crate::governance::recipients::transfer_check(tx, policy, transfers, recipient, today)
    {
        let recorded = trail.record(tx, refused_entry(id, purpose, "transfer_not_allowed"))?;
        return Ok((Some(Err(refused)), recorded));
    }
    let (key, identity) = open_identity(keys, &loaded.row)?;
    let fields = granted_fields(&identity, &grant);
    let mut entry = granted_entry(id, purpose, &fields, &grant);
    if let Some(recipient) = &grant.disclosed_to {
        entry = entry.detail(format!("disclosed to {recipient}"));
        tx.insert_disclosure(&vigie_store::DisclosureRow {
            id: new_id(),
            at,
            recipient: recipient.clone(),
            subject_id: id,
            fields: fields.join(","),
            purpose: purpose.to_string(),
            token_id: who.token_id(),
        })?;
    }
    let recorded = trail.record(tx, entry)?;
    Ok((Some(Ok(view(keys, loaded, grant, &key, identity, today)?)), recorded))
}

/// What a reader's snapshot decided about a read, with its answer; None when the writer decides.
type Snapshot = Option<(Decided, Result<SubjectView, AppError>)>;

/// A read decided on a reader's snapshot: the audit entry the writer is to append, valid while the
/// subject's revision is still `rev` and the day still `today`.
#[derive(Clone)]
struct Decided {
    rev: i64,
    today: NaiveDate,
    entry: Entry,
}

/// Decides one read on a snapshot and, when the policy allows it, decrypts and builds the view
/// there, off the writer's thread. None when the writer must decide itself: the subject is not
/// there (the answer and its entry depend on the erasure record), or the read discloses to a
/// recipient (the transfer check runs in the disclosure's own transaction).
fn read_on_snapshot(
    tx: &mut dyn ReadTx,
    keys: &MasterKey,
    policy: &Policy,
    who: &Principal,
    purpose: &str,
    id: Id,
    today: NaiveDate,
) -> Result<Snapshot> {
    // The revision first: on a backend whose snapshot were not one, a write landing between it
    // and the rows below would move it past this value, and the writer would decide again.
    let Some(rev) = tx.subject_rev(id)? else { return Ok(None) };
    let Some(loaded) = Loaded::load(tx, id)? else { return Ok(None) };
    let grant = match check_read(policy, who.caller(), purpose, &loaded.facts(today)) {
        Ok(g) => g,
        Err(refusal) => {
            let entry = refused_entry(id, purpose, refusal.rule.as_str());
            return Ok(Some((Decided { rev, today, entry }, Err(AppError::Refused(refusal)))));
        }
    };
    if grant.disclosed_to.is_some() {
        return Ok(None);
    }
    let (key, identity) = open_identity(keys, &loaded.row)?;
    let fields = granted_fields(&identity, &grant);
    let entry = granted_entry(id, purpose, &fields, &grant);
    let view = view(keys, loaded, grant, &key, identity, today)?;
    Ok(Some((Decided { rev, today, entry }, Ok(view))))
}

/// Counts a committed (audited) refusal of a read by its rule (`/metrics`): the rule names of
/// `domain::access`, or `transfer_not_allowed`. No other label: never a subject or a caller.
fn count_refusal(e: &AppError) {
    let rule = match e {
        AppError::Refused(r) => r.rule.as_str(),
        AppError::TransferRefused(_) => "transfer_not_allowed",
        _ => return,
    };
    metrics::counter!("vigie_read_refusals_total", "rule" => rule).increment(1);
}

/// Whether a refusal would tell this caller something about the subject that it may not know:
/// for a recipient, a subject outside its scope (its kind, its contracts, consents, objections,
/// an erasure) answers as an unknown one. The refusal is still in the audit trail.
fn hidden_from(who: &Principal, e: &AppError) -> bool {
    use vigie_domain::access::Rule;
    who.role == Role::Recipient
        && match e {
            AppError::Gone(_) => true,
            AppError::Refused(r) => matches!(
                r.rule,
                Rule::SubjectKindNotCovered
                    | Rule::NoActiveContract
                    | Rule::Archived
                    | Rule::NoConsent
                    | Rule::Objection
            ),
            _ => false,
        }
}

fn purpose_header(purpose: Option<&str>) -> Result<String> {
    match purpose.map(str::trim) {
        Some(p) if !p.is_empty() => identifier("Vigie-Purpose", p),
        _ => Err(AppError::MissingPurpose),
    }
}

impl App {
    /// Records a new client or prospect.
    pub async fn create_subject(&self, who: &Principal, input: NewSubject) -> Result<SubjectCreated> {
        who.require(WRITERS, "recording a subject")?;
        let at = self.now();
        let prepared = prepare(&self.keys, &self.policy(), &input, at)?;
        let actor = who.actor();
        let out = SubjectCreated {
            id: prepared.row.id,
            kind: prepared.row.kind,
            collected_at: prepared.row.collected_at,
            created_at: at,
            fields: prepared.fields.iter().map(|f| f.as_str().to_string()).collect(),
            possible_duplicates: Vec::new(),
        };
        let duplicates = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let row = &prepared.row;
                // The suppression list and the duplicates in one query, the rows in one more.
                let matches = tx.intake_matches(row.email_bi.as_deref(), row.phone_bi.as_deref())?;
                if row.kind == SubjectKind::Prospect && matches.suppressed {
                    return Err(crate::rights::suppression::refusal());
                }
                let duplicates = matches.duplicates;
                tx.insert_new_subject(row, prepared.name_bi.as_deref())?;
                let mut detail = format!("kind={}", row.kind);
                if !duplicates.is_empty() {
                    let ids: Vec<String> = duplicates.iter().map(ToString::to_string).collect();
                    detail.push_str(&format!(" possible_duplicates={}", ids.join(",")));
                }
                let entry =
                    Entry::new("subject.create").subject(row.id).fields(prepared.fields.iter().map(|f| f.as_str()));
                let recorded = trail.record(tx, entry.detail(detail))?;
                Ok((duplicates, recorded))
            })
            .await?;
        Ok(SubjectCreated { possible_duplicates: duplicates, ..out })
    }

    /// Reads one subject for a purpose. A refusal is audited and returned as [`AppError::Refused`].
    pub async fn read_subject(&self, who: &Principal, id: Id, purpose: Option<&str>) -> Result<SubjectView> {
        let purpose = purpose_header(purpose)?;
        self.refuse_non_readers(who, &purpose, Some(id)).await?;
        let out = self.read_recorded(who, id, purpose).await?;
        if let Some(Err(e)) = &out {
            count_refusal(e);
        }
        let unknown = || AppError::NotFound(format!("subject {id}"));
        match out {
            None => Err(unknown()),
            Some(Err(e)) if hidden_from(who, &e) => Err(unknown()),
            Some(result) => result,
        }
    }

    /// One purpose-checked read, decided and built on a reader's snapshot, then recorded by the
    /// writer in one short job (see [`App::record_read`]).
    async fn read_recorded(
        &self,
        who: &Principal,
        id: Id,
        purpose: String,
    ) -> Result<Option<Result<SubjectView, AppError>>> {
        let snapshot = self.read_snapshot(who, id, &purpose).await?;
        self.record_read(who, id, purpose, snapshot).await
    }

    /// Decides a read and builds its view on a reader's snapshot, off the writer's thread.
    async fn read_snapshot(&self, who: &Principal, id: Id, purpose: &str) -> Result<Snapshot> {
        let (policy, reader, keys, purpose) = (self.policy(), who.clone(), self.keys.clone(), purpose.to_string());
        let today = self.now().date_naive();
        self.db.read(move |tx| read_on_snapshot(tx, &keys, &policy, &reader, &purpose, id, today)).await
    }

    /// Records a read decided on a snapshot (see [`App::record_reads`]).
    async fn record_read(
        &self,
        who: &Principal,
        id: Id,
        purpose: String,
        snapshot: Snapshot,
    ) -> Result<Option<Result<SubjectView, AppError>>> {
        let mut out = self.record_reads(who, purpose, vec![(id, snapshot)], false).await?;
        Ok(out.pop().flatten())
    }

    /// Records reads decided on a snapshot, in one writer job: each read's audit entry is appended
    /// only if its subject's revision and the day are still the snapshot's; else the writer
    /// decides that read again on what is committed, as [`read_in_tx`], and that answer is
    /// returned. What the caller gets is always what the recorded entry says it got. For a
    /// `search`, a subject gone since the snapshot is left out, as if it had not matched.
    async fn record_reads(
        &self,
        who: &Principal,
        purpose: String,
        items: Vec<(Id, Snapshot)>,
        search: bool,
    ) -> Result<Vec<Option<Result<SubjectView, AppError>>>> {
        let mut answers = Vec::with_capacity(items.len());
        let mut checks = Vec::with_capacity(items.len());
        for (id, snapshot) in items {
            let (decided, answer) = snapshot.map_or((None, None), |(d, a)| (Some(d), Some(a)));
            checks.push((id, decided));
            answers.push(answer);
        }
        let (policy, reader, transfers) = (self.policy(), who.clone(), self.transfers.clone());
        let fresh = self
            .db
            .audited(who.actor(), move |tx, trail| {
                let mut out = Vec::with_capacity(checks.len());
                // A search that matched no one reads no one's data: nothing to record.
                let mut recorded = trail.nothing_changed();
                for (id, decided) in &checks {
                    let rev = if decided.is_some() || search { tx.subject_rev(*id)? } else { None };
                    if let Some(d) = decided
                        && trail.at.date_naive() == d.today
                        && rev == Some(d.rev)
                    {
                        recorded = trail.record(tx, d.entry.clone())?;
                        out.push(None);
                        continue;
                    }
                    if search && rev.is_none() {
                        out.push(Some(None));
                        continue;
                    }
                    if decided.is_some() {
                        // The subject changed (or the day turned) since the snapshot.
                        metrics::counter!("vigie_read_redecided_total").increment(1);
                    }
                    let (o, r) = read_in_tx(tx, trail, &policy, &transfers, &reader, &purpose, *id)?;
                    recorded = r;
                    out.push(Some(o));
                }
                Ok((out, recorded))
            })
            .await?;
        Ok(fresh.into_iter().zip(answers).map(|(f, a)| f.unwrap_or(a)).collect())
    }

    /// Finds subjects by email or phone through the blind index, then reads each for the purpose
    /// (see [`App::search_subjects`]).
    pub async fn find_subjects(
        &self,
        who: &Principal,
        email: Option<&str>,
        phone: Option<&str>,
        purpose: Option<&str>,
    ) -> Result<Vec<SubjectView>> {
        let query = SubjectQuery { email, phone, ..SubjectQuery::default() };
        self.search_subjects(who, query, purpose).await
    }

    /// Finds subjects by email, phone or name (first and last name together) through their blind
    /// indexes, then reads each for the purpose. Subjects the purpose may not read are left out;
    /// if every match is refused, the refusal is returned.
    pub async fn search_subjects(
        &self,
        who: &Principal,
        query: SubjectQuery<'_>,
        purpose: Option<&str>,
    ) -> Result<Vec<SubjectView>> {
        let purpose = purpose_header(purpose)?;
        self.refuse_non_readers(who, &purpose, None).await?;
        let policy = self.policy();
        let region = policy.controller.country.as_str();
        let exactly_one =
            || AppError::invalid("query", "give exactly one of email, phone, or first_name with last_name");
        let name = match (query.first_name, query.last_name) {
            (None, None) => None,
            (Some(f), Some(l)) => Some((f, l)),
            _ => return Err(exactly_one()),
        };
        let lookup = match (query.email, query.phone, name) {
            (Some(e), None, None) => {
                let v = normalize_field_in(FieldName::Email, e, region)
                    .map_err(|e| AppError::invalid("email", e.to_string()))?;
                (Lookup::Email, self.keys.blind_index(FieldName::Email.as_str(), &v).to_vec())
            }
            (None, Some(p), None) => {
                let v = normalize_field_in(FieldName::Phone, p, region)
                    .map_err(|e| AppError::invalid("phone", e.to_string()))?;
                (Lookup::Phone, self.keys.blind_index(FieldName::Phone.as_str(), &v).to_vec())
            }
            (None, None, Some((f, l))) => {
                let f = normalize_field_in(FieldName::FirstName, f, region)
                    .map_err(|e| AppError::invalid("first_name", e.to_string()))?;
                let l = normalize_field_in(FieldName::LastName, l, region)
                    .map_err(|e| AppError::invalid("last_name", e.to_string()))?;
                let bi = crate::record::name_bi_of(&self.keys, &f, &l).ok_or_else(|| {
                    AppError::invalid("first_name", "a name search needs a letter in the first name and the last name")
                })?;
                (Lookup::Name, bi)
            }
            _ => return Err(exactly_one()),
        };
        // The lookup, the decisions and the views on a reader's snapshot; the entries by the writer.
        let snapshots = {
            let (policy, reader, keys, purpose) = (self.policy(), who.clone(), self.keys.clone(), purpose.clone());
            let today = self.now().date_naive();
            self.db
                .read(move |tx| {
                    let ids = match lookup.0 {
                        Lookup::Email => tx.subjects_by_email(&lookup.1)?,
                        Lookup::Phone => tx.subjects_by_phone(&lookup.1)?,
                        Lookup::Name => tx.subjects_by_name(&lookup.1)?,
                    };
                    ids.into_iter()
                        .map(|id| Ok((id, read_on_snapshot(tx, &keys, &policy, &reader, &purpose, id, today)?)))
                        .collect::<Result<Vec<_>>>()
                })
                .await?
        };
        let outcomes: Vec<_> = self.record_reads(who, purpose, snapshots, true).await?.into_iter().flatten().collect();
        let mut views = Vec::new();
        let mut first_refusal = None;
        for o in outcomes {
            if let Err(e) = &o {
                count_refusal(e);
            }
            match o {
                Ok(v) => views.push(v),
                Err(e) if hidden_from(who, &e) => {}
                Err(e) => {
                    first_refusal.get_or_insert(e);
                }
            }
        }
        match first_refusal {
            Some(e) if views.is_empty() => Err(e),
            _ => Ok(views),
        }
    }

    /// Roles that may never read a subject (admin, auditor) are refused before any lookup, with
    /// the same answer whatever subject they name: no existence oracle. The refusal is audited.
    async fn refuse_non_readers(&self, who: &Principal, purpose: &str, subject: Option<Id>) -> Result<()> {
        if !matches!(who.role, Role::Admin | Role::Auditor) {
            return Ok(());
        }
        let rule = vigie_domain::access::Rule::RoleNotRecipient;
        let mut entry = Entry::new("subject.read").purpose(purpose).outcome("refused").detail(rule.as_str());
        if let Some(id) = subject {
            entry = entry.subject(id);
        }
        self.db.audited(who.actor(), move |tx, trail| Ok(((), trail.record(tx, entry.clone())?))).await?;
        metrics::counter!("vigie_read_refusals_total", "rule" => rule.as_str()).increment(1);
        Err(AppError::Refused(vigie_domain::access::Refusal {
            rule,
            detail: format!("the {} role reads no subject's data, for any purpose", who.role),
        }))
    }

    /// Records a contract; a prospect becomes a client.
    pub async fn add_contract(&self, who: &Principal, subject: Id, input: NewContract) -> Result<Created> {
        who.require(WRITERS, "recording a contract")?;
        let reference = check_text("reference", &input.reference, 200)?;
        let start = parse_date("start", &input.start)?;
        let end = input.end.as_deref().map(|e| parse_date("end", e)).transpose()?;
        if end.is_some_and(|e| e < start) {
            return Err(AppError::invalid("end", "is before start"));
        }
        let (keys, actor, policy) = (self.keys.clone(), who.actor(), self.policy());
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                let row = load(tx, subject)?;
                let key = keys.unwrap_key(&row.wrapped_key, subject.as_bytes())?;
                let id = new_id();
                let sealed = key.seal(&aad(subject, Part::Contract, Some(id)), reference.as_bytes())?;
                tx.insert_contract(&ContractRow {
                    id,
                    subject_id: subject,
                    reference: sealed,
                    start,
                    end,
                    created_at: at,
                })?;
                if let Some(bi) = crate::record::contract_reference_bi(&keys, &reference) {
                    tx.set_contract_reference(id, &bi)?;
                }
                let recorded = trail.record(
                    tx,
                    Entry::new("contract.create")
                        .subject(subject)
                        .fields(["reference", "start", "end"])
                        .detail(format!("contract:{id}")),
                )?;
                if row.kind == SubjectKind::Prospect {
                    tx.set_subject_kind(subject, SubjectKind::Client, at)?;
                    let _recorded = trail.record(
                        tx,
                        Entry::new("subject.kind_change").subject(subject).fields(["kind"]).detail("prospect->client"),
                    )?;
                }
                crate::record::recompute(tx, &policy, subject)?;
                Ok((Created { id, subject_id: subject, subject_kind: SubjectKind::Client, created_at: at }, recorded))
            })
            .await
    }

    /// Records an interaction, inbound or outbound.
    pub async fn add_interaction(&self, who: &Principal, subject: Id, input: NewInteraction) -> Result<Created> {
        who.require(WRITERS, "recording an interaction")?;
        let at_ts = parse_timestamp("at", &input.at, self.now())?;
        let direction: Direction = parse_token("direction", &input.direction)?;
        let channel = check_channel(&input.channel)?;
        let summary = input.summary.as_deref().map(|s| check_text("summary", s, 10_000)).transpose()?;
        let (keys, actor, policy) = (self.keys.clone(), who.actor(), self.policy());
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                let row = load(tx, subject)?;
                let id = new_id();
                let summary = match &summary {
                    Some(s) => {
                        let key = keys.unwrap_key(&row.wrapped_key, subject.as_bytes())?;
                        Some(key.seal(&aad(subject, Part::Interaction, Some(id)), s.as_bytes())?)
                    }
                    None => None,
                };
                let fields: &[&str] = if summary.is_some() {
                    &["at", "direction", "channel", "summary"]
                } else {
                    &["at", "direction", "channel"]
                };
                tx.insert_interaction(&InteractionRow {
                    id,
                    subject_id: subject,
                    at: at_ts,
                    direction,
                    channel: channel.clone(),
                    summary: summary.clone(),
                    created_at: at,
                })?;
                let recorded = trail.record(
                    tx,
                    Entry::new("interaction.create")
                        .subject(subject)
                        .fields(fields)
                        .detail(format!("interaction:{id} {direction}")),
                )?;
                if direction == Direction::Inbound {
                    crate::record::recompute(tx, &policy, subject)?;
                }
                Ok((Created { id, subject_id: subject, subject_kind: row.kind, created_at: at }, recorded))
            })
            .await
    }

    /// Records a consent decision (grant or withdrawal) with its evidence.
    pub async fn add_consent(&self, who: &Principal, subject: Id, input: NewConsent) -> Result<Created> {
        who.require(WRITERS, "recording a consent")?;
        check_purpose(&self.policy(), "purpose", &input.purpose)?;
        if !self.policy().purpose(&input.purpose).is_some_and(|p| p.bases.values().any(|b| *b == LegalBasis::Consent)) {
            return Err(AppError::invalid(
                "purpose",
                format!("`{}` does not rest on consent for any subject kind", input.purpose),
            ));
        }
        let evidence = check_text("evidence", &input.evidence, 2_000)?;
        let at_ts = input.at.as_deref().map(|a| parse_timestamp("at", a, self.now())).transpose()?;
        let (keys, actor, purpose, granted) = (self.keys.clone(), who.actor(), input.purpose, input.granted);
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                let row = load(tx, subject)?;
                let key = keys.unwrap_key(&row.wrapped_key, subject.as_bytes())?;
                let id = new_id();
                let sealed = key.seal(&aad(subject, Part::Consent, Some(id)), evidence.as_bytes())?;
                tx.insert_consent(&ConsentRow {
                    id,
                    subject_id: subject,
                    purpose: purpose.clone(),
                    granted,
                    at: at_ts.unwrap_or(at),
                    evidence: sealed,
                })?;
                let action = if granted { "consent.grant" } else { "consent.withdraw" };
                let recorded = trail.record(
                    tx,
                    Entry::new(action)
                        .subject(subject)
                        .purpose(&purpose)
                        .fields(["granted", "evidence"])
                        .detail(format!("consent:{id}")),
                )?;
                Ok((Created { id, subject_id: subject, subject_kind: row.kind, created_at: at }, recorded))
            })
            .await
    }

    /// Records an objection to a purpose, effective at once.
    pub async fn add_objection(&self, who: &Principal, subject: Id, input: NewObjection) -> Result<Created> {
        who.require(WRITERS, "recording an objection")?;
        check_purpose(&self.policy(), "purpose", &input.purpose)?;
        let at_ts = input.at.as_deref().map(|a| parse_timestamp("at", a, self.now())).transpose()?;
        let (actor, purpose) = (who.actor(), input.purpose);
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                let row = load(tx, subject)?;
                let id = new_id();
                let fresh = tx.insert_objection(&ObjectionRow {
                    id,
                    subject_id: subject,
                    purpose: purpose.clone(),
                    at: at_ts.unwrap_or(at),
                })?;
                let detail = if fresh { format!("objection:{id}") } else { "already recorded".to_string() };
                let recorded = trail
                    .record(tx, Entry::new("objection.create").subject(subject).purpose(&purpose).detail(detail))?;
                Ok((Created { id, subject_id: subject, subject_kind: row.kind, created_at: at }, recorded))
            })
            .await
    }
}

/// A disclosure of a subject's data to an external recipient.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub recipient: String,
    pub subject_id: Uuid,
    pub fields: Vec<String>,
    pub purpose: String,
}

impl App {
    /// The disclosures of one subject (dpo): which recipient received which fields, when, for what.
    pub async fn disclosures(&self, who: &Principal, subject: Id) -> Result<Vec<DisclosureView>> {
        who.require(&[Role::Dpo, Role::Auditor], "reading the disclosure log")?;
        let actor = who.actor();
        let rows = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                load(tx, subject)?;
                let rows = tx.disclosures_for_subject(subject)?;
                let recorded = trail.record(tx, Entry::new("disclosures.read").subject(subject))?;
                Ok((rows, recorded))
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|d| DisclosureView {
                id: d.id,
                at: d.at,
                recipient: d.recipient,
                subject_id: d.subject_id,
                fields: d.fields.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect(),
                purpose: d.purpose,
            })
            .collect())
    }
}

#[cfg(test)]
mod read_tests;
