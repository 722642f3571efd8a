//! A subject's record as every service handles it: its sealed identity (fields with their
//! provenance, bound to the subject by the AEAD context), loading it (a live subject, or the
//! proof of its erasure), opening it, the facts the access rules read, and its retention
//! clock, recomputed in the transaction of every write that moves it.

use crate::error::{AppError, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use vigie_crypto::{Context, MasterKey, Part, SubjectKey};
use vigie_domain::access::SubjectFacts;
use vigie_domain::retention::{Expiry, RetentionFacts, expiry};
use vigie_domain::{Direction, FieldName, Policy, Provenance, SubjectKind};
use vigie_store::{ConsentRow, ContractRow, Id, InteractionRow, ObjectionRow, ReadTx, SubjectRow, Tx};

/// The sealed identity: each field with its provenance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct IdentityField {
    pub v: String,
    pub p: Provenance,
}

pub(crate) type Identity = BTreeMap<FieldName, IdentityField>;

/// The associated data that binds a sealed value to its owner and what it is.
pub(crate) fn aad_for(owner: Id, part: Part, item: Option<Id>) -> Context {
    aad(owner, part, item)
}

pub(crate) fn aad(owner: Id, part: Part, item: Option<Id>) -> Context {
    Context { owner, part, item }
}

pub(crate) fn load(tx: &mut dyn Tx, id: Id) -> Result<SubjectRow> {
    if let Some(row) = tx.subject(id)? {
        return Ok(row);
    }
    match tx.erasure(id)? {
        Some(e) => Err(gone(&e)),
        None => Err(AppError::NotFound(format!("subject {id}"))),
    }
}

/// The answer about an erased subject: when, under which rule, or the record it was merged into
/// (an id, nothing personal).
pub(crate) fn gone(e: &vigie_store::ErasureRow) -> AppError {
    let (id, on) = (e.subject_id, e.erased_at.date_naive());
    AppError::Gone(match e.merged_into {
        Some(into) => format!("subject {id} was merged into subject {into} on {on}: its records are there now"),
        None => format!("subject {id} was erased on {on} under the rule {}", e.rule),
    })
}

/// The blind index of a name given as first and last name, under its own domain; None when
/// either part holds no letter (see [`vigie_domain::model::name_key`]).
pub(crate) fn name_bi_of(keys: &MasterKey, first: &str, last: &str) -> Option<Vec<u8>> {
    vigie_domain::model::name_key(first, last).map(|k| keys.blind_index(vigie_domain::model::NAME_INDEX, &k).to_vec())
}

/// The blind index of a contract reference, under its own domain; None when the reference is
/// blank (see [`vigie_domain::model::contract_reference_key`]).
pub(crate) fn contract_reference_bi(keys: &MasterKey, reference: &str) -> Option<Vec<u8>> {
    vigie_domain::model::contract_reference_key(reference)
        .map(|k| keys.blind_index(vigie_domain::model::CONTRACT_REFERENCE_INDEX, &k).to_vec())
}

/// The blind index of a subject's name (first and last name), if it has both.
pub(crate) fn name_bi(keys: &MasterKey, identity: &Identity) -> Option<Vec<u8>> {
    let (first, last) = (identity.get(&FieldName::FirstName)?, identity.get(&FieldName::LastName)?);
    name_bi_of(keys, &first.v, &last.v)
}

/// A subject's key and identity, decrypted (rights requests).
pub(crate) fn open_identity_pub(keys: &MasterKey, row: &SubjectRow) -> Result<(SubjectKey, Identity)> {
    open_identity(keys, row)
}

/// A subject's identity values, decrypted, for rendering a notice.
pub(crate) fn open_identity_fields(keys: &MasterKey, row: &SubjectRow) -> Result<BTreeMap<FieldName, String>> {
    let (_, identity) = open_identity(keys, row)?;
    Ok(identity.into_iter().map(|(f, v)| (f, v.v)).collect())
}

pub(crate) fn open_identity(keys: &MasterKey, row: &SubjectRow) -> Result<(SubjectKey, Identity)> {
    let key = keys.unwrap_key(&row.wrapped_key, row.id.as_bytes())?;
    let plain = key.open(&aad(row.id, Part::Identity, None), &row.identity)?;
    let identity = serde_json::from_slice(&plain)
        .map_err(|e| crate::error::undecodable(format_args!("the identity of subject {}", row.id), &e))?;
    Ok((key, identity))
}

pub(crate) fn contract_active(c: &ContractRow, today: NaiveDate) -> bool {
    c.end.is_none_or(|end| end >= today)
}

/// Everything a read needs, loaded in one transaction.
pub(crate) struct Loaded {
    pub(crate) row: SubjectRow,
    pub(crate) contracts: Vec<ContractRow>,
    pub(crate) interactions: Vec<InteractionRow>,
    pub(crate) consents: Vec<ConsentRow>,
    pub(crate) objections: Vec<ObjectionRow>,
    pub(crate) messages: Vec<vigie_store::MessageRow>,
    /// A restriction of processing in force (Art. 18).
    pub(crate) restricted: bool,
}

impl Loaded {
    pub(crate) fn load(tx: &mut dyn ReadTx, id: Id) -> Result<Option<Loaded>> {
        let Some(row) = tx.subject(id)? else {
            return Ok(None);
        };
        Ok(Some(Loaded {
            contracts: tx.contracts(id)?,
            interactions: tx.interactions(id)?,
            consents: tx.consents(id)?,
            objections: tx.objections(id)?,
            messages: tx.messages_for_subject(id)?,
            restricted: tx.restriction(id)?.is_some_and(|r| r.lifted_at.is_none()),
            row,
        }))
    }

    pub(crate) fn facts(&self, today: NaiveDate) -> SubjectFacts {
        let mut consents = BTreeMap::new();
        for c in &self.consents {
            consents.insert(c.purpose.clone(), c.granted); // rows are in time order: the latest wins
        }
        SubjectFacts {
            kind: Some(self.row.kind),
            active_contract: self.contracts.iter().any(|c| contract_active(c, today)),
            any_contract: !self.contracts.is_empty(),
            consents,
            objections: self.objections.iter().map(|o| o.purpose.clone()).collect::<BTreeSet<_>>(),
            restricted: self.restricted,
        }
    }
}

/// The facts the access rules read about a subject, inside the caller's transaction.
pub(crate) fn facts(tx: &mut dyn Tx, id: Id, today: NaiveDate) -> Result<SubjectFacts> {
    match Loaded::load(tx, id)? {
        Some(l) => Ok(l.facts(today)),
        None => load(tx, id).map(|_| SubjectFacts::default()),
    }
}

/// The clock of a subject as recorded when it is created.
pub(crate) fn initial(policy: &Policy, kind: SubjectKind, collected_on: NaiveDate) -> Expiry {
    expiry(
        policy,
        &RetentionFacts {
            kind: Some(kind),
            collected_on: Some(collected_on),
            contract_ends: vec![],
            last_inbound: None,
        },
    )
}

/// Recomputes and stores a subject's clock from its records, inside the caller's transaction.
pub(crate) fn recompute(tx: &mut dyn Tx, policy: &Policy, id: Id) -> Result<Expiry> {
    let row = tx.subject(id)?.ok_or_else(|| AppError::NotFound(format!("subject {id}")))?;
    let contracts = tx.contracts(id)?;
    let interactions = tx.interactions(id)?;
    let facts = RetentionFacts {
        kind: Some(row.kind),
        collected_on: Some(row.collected_at.date_naive()),
        contract_ends: contracts.iter().map(|c| c.end).collect(),
        last_inbound: interactions
            .iter()
            .filter(|i| i.direction == Direction::Inbound)
            .map(|i| i.at.date_naive())
            .max(),
    };
    let e = expiry(policy, &facts);
    if row.retention_rule != e.stored_rule() || row.basis_date != e.basis_date || row.expires_on != e.expires_on {
        tx.set_retention(id, e.stored_rule(), e.basis_date, e.expires_on)?;
    }
    Ok(e)
}
