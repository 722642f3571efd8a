//! Two records of one person made one (issue 12.1): the DPO keeps one record (`id`) and merges the
//! other (`from`) into it, in one audited transaction.
//!
//! - Everything of `from` moves to `id`: contracts, interactions, consents, objections, the legal
//!   hold and its history, the restriction, disclosures, policy notices and other outbox messages,
//!   and the requests linked to it. Its sealed values are opened under its key and sealed again
//!   under `id`'s, bound to `id` by their associated data.
//! - Identity: `id` keeps its values; the fields it lacks are taken from `from`, with their
//!   provenance. The kind is client if either is; the collection date is the later one (the last
//!   time this person's data was collected); the blind indexes follow the merged identity, and the
//!   retention clock is recomputed from both records' contracts and interactions.
//! - Then `from` is erased as erasure does (its key destroyed, a tombstone left), under the rule
//!   `merged`, the tombstone naming `id`: reading `from` answers 410 and says where it went.
//! - Refused, nothing changed: a subject merged into itself; an unknown, erased or already merged
//!   subject; a subject concerned by a breach not closed (its records stay as they were while it
//!   is investigated); a subject with a request in progress (its identity was verified and its
//!   answer is being prepared on the records as they are: fulfil or refuse it first).

use crate::App;
use crate::audit::Entry;
use crate::auth::Principal;
use crate::error::{AppError, Result};
use crate::record::{Identity, aad, open_identity};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;
use uuid::Uuid;
use vigie_crypto::Part;
use vigie_domain::access::Role;
use vigie_domain::records::RequestStatus;
use vigie_domain::{FieldName, SubjectKind};
use vigie_store::{Id, Tx};

/// The record to merge into the one named in the path.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The other record of the same person: merged into this one, then erased.
    pub from: Uuid,
}

/// How many rows of the merged record moved.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct MergeCounts {
    pub contracts: usize,
    pub interactions: usize,
    pub consents: usize,
    /// Objections to purposes the record kept had not objected to (the others keep the earlier date).
    pub objections: usize,
    pub legal_hold_events: usize,
    pub disclosures: usize,
    pub requests: usize,
    pub messages: usize,
}

/// The outcome of a merge.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Merged {
    /// The record kept, which now holds both.
    pub id: Uuid,
    /// The record merged into it: erased, its tombstone naming `id`.
    pub merged: Uuid,
    pub kind: SubjectKind,
    /// Identity fields the record kept lacked, taken from the merged one with their provenance.
    pub fields_taken: Vec<String>,
    /// Identity fields both records held with different values: the kept record's values stay,
    /// the merged one's are gone with it.
    pub fields_differing: Vec<String>,
    pub moved: MergeCounts,
    /// The retention clock, recomputed from both records.
    pub retention_rule: String,
    pub basis_date: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
}

const KEPT: &str = "the record kept";
const FROM: &str = "from";

/// Why a subject named by a merge is not there: unknown (404), erased (410), or, for `from`,
/// merged into the record kept already (409: the merge asked for is done).
fn absent(tx: &mut dyn Tx, sid: Id, other: Id, role: &str) -> Result<AppError> {
    Ok(match tx.erasure(sid)? {
        Some(e) if role == FROM && e.merged_into == Some(other) => AppError::Conflict(format!(
            "subject {sid} ({role}) was already merged into subject {other} on {}",
            e.erased_at.date_naive()
        )),
        Some(e) => match crate::record::gone(&e) {
            AppError::Gone(m) => AppError::Gone(format!("{m} ({role})")),
            other => other,
        },
        None => AppError::NotFound(format!("subject {sid} ({role})")),
    })
}

/// The breaches not closed whose scope covers the subject.
fn open_breach_of(tx: &mut dyn Tx, sid: Id) -> Result<Option<Uuid>> {
    for (breach, mut scope) in crate::breaches::open_scopes(tx)? {
        if !scope.subject_ids.is_empty() && !scope.subject_ids.contains(&sid) {
            continue;
        }
        scope.subject_ids = vec![sid];
        if tx.scope_count(&scope)?.subjects > 0 {
            return Ok(Some(breach));
        }
    }
    Ok(None)
}

impl App {
    /// Merges the record `input.from` into `id` (DPO): see the module docs.
    pub async fn merge_subjects(&self, who: &Principal, id: Id, input: MergeInput) -> Result<Merged> {
        who.require(&[Role::Dpo], "merging two records of one person")?;
        let from = input.from;
        if from == id {
            return Err(AppError::invalid("from", "names the subject itself: a record is merged into another one"));
        }
        let (keys, policy) = (self.keys.clone(), self.policy());
        let merged = self
            .db
            .audited(who.actor(), move |tx, trail| {
                let at = trail.at;
                // Both rows are locked, in id order: two merges of one pair take turns.
                let (low, high) = if id < from { (id, from) } else { (from, id) };
                let (low, high) = (tx.lock_subject(low)?, tx.lock_subject(high)?);
                let (target, source) = if id < from { (low, high) } else { (high, low) };
                let Some(target) = target else { return Err(absent(tx, id, from, KEPT)?) };
                let Some(source) = source else { return Err(absent(tx, from, id, FROM)?) };
                for sid in [id, from] {
                    if let Some(breach) = open_breach_of(tx, sid)? {
                        return Err(AppError::Conflict(format!(
                            "subject {sid} is concerned by breach {breach}, which is not closed: its records stay \
                             as they are while the breach is handled"
                        )));
                    }
                }
                let mut requests = 0;
                for sid in [id, from] {
                    for r in tx.requests_for_subject(sid)? {
                        if r.status == RequestStatus::InProgress {
                            return Err(AppError::Conflict(format!(
                                "request {} about subject {sid} is in progress (its requester's identity was \
                                 verified on the records as they are): fulfil or refuse it before merging",
                                r.id
                            )));
                        }
                        if sid == from {
                            requests += 1;
                        }
                    }
                }

                let (into_key, mut identity) = open_identity(&keys, &target)?;
                let (from_key, from_identity): (_, Identity) = open_identity(&keys, &source)?;
                let (mut taken, mut differing) = (Vec::new(), Vec::new());
                for (field, value) in from_identity {
                    match identity.get(&field) {
                        None => {
                            identity.insert(field, value);
                            taken.push(field.as_str().to_string());
                        }
                        Some(kept) if kept.v != value.v => differing.push(field.as_str().to_string()),
                        Some(_) => {}
                    }
                }
                let reseal = |part: Part, item: Option<Id>, sealed: &[u8]| -> Result<Vec<u8>> {
                    Ok(into_key.seal(&aad(id, part, item), &from_key.open(&aad(from, part, item), sealed)?)?)
                };
                let mut moved = MergeCounts::default();
                let contracts = tx
                    .contracts(from)?
                    .into_iter()
                    .map(|c| Ok((c.id, reseal(Part::Contract, Some(c.id), &c.reference)?)))
                    .collect::<Result<Vec<_>>>()?;
                let interactions = tx
                    .interactions(from)?
                    .into_iter()
                    .map(|i| {
                        let summary = i.summary.as_deref().map(|s| reseal(Part::Interaction, Some(i.id), s));
                        Ok((i.id, summary.transpose()?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let consents = tx
                    .consents(from)?
                    .into_iter()
                    .map(|c| Ok((c.id, reseal(Part::Consent, Some(c.id), &c.evidence)?)))
                    .collect::<Result<Vec<_>>>()?;
                let hold_events = tx
                    .hold_events(from)?
                    .into_iter()
                    .map(|e| Ok((e.id, reseal(Part::LegalHold, None, &e.reason)?)))
                    .collect::<Result<Vec<_>>>()?;
                let (legal_hold, held_at) = match (&target.legal_hold, &source.legal_hold) {
                    (Some(kept), _) => (Some(kept.clone()), target.held_at),
                    (None, Some(theirs)) => (Some(reseal(Part::LegalHold, None, theirs)?), source.held_at),
                    (None, None) => (None, None),
                };
                // One objection per purpose, dated by the earlier of the two.
                let kept_objections: BTreeMap<String, (Id, chrono::DateTime<chrono::Utc>)> =
                    tx.objections(id)?.into_iter().map(|o| (o.purpose, (o.id, o.at))).collect();
                let (mut objections, mut objections_redated) = (Vec::new(), Vec::new());
                for o in tx.objections(from)? {
                    match kept_objections.get(&o.purpose) {
                        None => objections.push(o.id),
                        Some((kept, kept_at)) if o.at < *kept_at => objections_redated.push((*kept, o.at)),
                        Some(_) => {}
                    }
                }
                // A restriction in force wins; else the kept record's stays.
                let restriction = match (tx.restriction(id)?, tx.restriction(from)?) {
                    (_, None) => None,
                    (Some(kept), Some(_)) if kept.lifted_at.is_none() => None,
                    (Some(_), Some(theirs)) if theirs.lifted_at.is_some() => None,
                    (_, Some(theirs)) => {
                        Some(theirs.lift_reason.as_deref().map(|r| reseal(Part::Restriction, None, r)).transpose()?)
                    }
                };
                // A message the kept record already has (same notice, same parameters) is not sent twice.
                let kept_messages: BTreeSet<(String, String)> =
                    tx.messages_for_subject(id)?.into_iter().map(|m| (m.template, m.params)).collect();
                let messages: Vec<i64> = tx
                    .messages_for_subject(from)?
                    .into_iter()
                    .filter(|m| !kept_messages.contains(&(m.template.clone(), m.params.clone())))
                    .map(|m| m.id)
                    .collect();
                let kind = if target.kind == SubjectKind::Client || source.kind == SubjectKind::Client {
                    SubjectKind::Client
                } else {
                    SubjectKind::Prospect
                };
                let plain = serde_json::to_vec(&identity).map_err(|e| AppError::failed("encoding JSON", e))?;
                let bi = |f: FieldName| identity.get(&f).map(|x| keys.blind_index(f.as_str(), &x.v).to_vec());
                moved.contracts = contracts.len();
                moved.interactions = interactions.len();
                moved.consents = consents.len();
                moved.objections = objections.len();
                moved.legal_hold_events = hold_events.len();
                moved.disclosures = tx.disclosures_for_subject(from)?.len();
                moved.requests = requests;
                moved.messages = messages.len();
                let merge = vigie_store::Merge {
                    from,
                    into: id,
                    kind,
                    collected_at: target.collected_at.max(source.collected_at),
                    identity: into_key.seal(&aad(id, Part::Identity, None), &plain)?,
                    email_bi: bi(FieldName::Email),
                    phone_bi: bi(FieldName::Phone),
                    legal_hold,
                    held_at,
                    contracts,
                    interactions,
                    consents,
                    hold_events,
                    objections,
                    objections_redated,
                    restriction,
                    messages,
                };
                tx.merge_subject(&merge, at)?;
                tx.set_subject_name(id, crate::record::name_bi(&keys, &identity).as_deref())?;
                let clock = crate::record::recompute(tx, &policy, id)?;
                if kind != target.kind {
                    trail.record(
                        tx,
                        Entry::new("subject.kind_change").subject(id).fields(["kind"]).detail("prospect->client"),
                    )?;
                }
                trail.record(tx, Entry::new("subject.erase").subject(from).detail(format!("rule=merged into:{id}")))?;
                let recorded =
                    trail.record(tx, Entry::new("subject.merge").subject(id).detail(format!("from:{from}")))?;
                let merged = Merged {
                    id,
                    merged: from,
                    kind,
                    fields_taken: taken,
                    fields_differing: differing,
                    moved,
                    retention_rule: clock.stored_rule().to_string(),
                    basis_date: clock.basis_date,
                    expires_on: clock.expires_on,
                };
                Ok((merged, recorded))
            })
            .await?;
        // `from`'s key is gone: its erasure is journalled like any other (a backup from before the
        // merge comes back without it), and its old pages leave the journal.
        if let Some(e) = self.db.read(move |tx| tx.erasure(from)).await? {
            self.journal_erasures(&[crate::backup::Erased::from(&e)]);
        }
        self.compact_journal().await;
        Ok(merged)
    }
}
