//! The audit trail: every read, refusal and write appends an entry in the
//! same transaction as the work it records, chained by a MAC keyed from the
//! master key, so that an entry altered, removed or reordered in the database
//! breaks the chain at a place `verify` names.
//!
//! Entries carry ids, purpose ids, rule names and field names: never a value.

use crate::error::Result;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use vigie_crypto::MasterKey;
use vigie_store::{AuditRow, Id, Tx};

/// Who did something, as the audit trail names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Token(Id),
    Cli,
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// An entry to append; `seq`, time and hash are filled in by [`append`].
#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub action: &'static str,
    pub subject_id: Option<Id>,
    pub purpose: Option<String>,
    pub fields: Vec<String>,
    pub outcome: &'static str,
    pub detail: Option<String>,
}

impl Entry {
    pub fn new(action: &'static str) -> Entry {
        Entry { action, outcome: "ok", ..Entry::default() }
    }
    pub fn subject(mut self, id: Id) -> Entry {
        self.subject_id = Some(id);
        self
    }
    pub fn purpose(mut self, p: &str) -> Entry {
        self.purpose = Some(p.to_string());
        self
    }
    pub fn fields<S: ToString>(mut self, f: impl IntoIterator<Item = S>) -> Entry {
        self.fields = f.into_iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn outcome(mut self, o: &'static str) -> Entry {
        self.outcome = o;
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Entry {
        self.detail = Some(d.into());
        self
    }
}

/// The bytes an entry's MAC covers. Stable: changing it breaks old chains.
fn canonical(row: &AuditRow) -> Vec<u8> {
    let opt = |o: &Option<String>| o.as_deref().map_or_else(|| "\u{0}".to_string(), str::to_string);
    let subject = row.subject_id.map_or_else(|| "\u{0}".to_string(), |s| s.to_string());
    [
        row.seq.to_string(),
        row.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        row.actor.clone(),
        row.action.clone(),
        subject,
        opt(&row.purpose),
        row.fields.clone(),
        row.outcome.clone(),
        opt(&row.detail),
    ]
    .join("\u{1f}")
    .into_bytes()
}

/// Appends `entry` to the chain inside the caller's transaction.
pub(crate) fn append(tx: &mut dyn Tx, keys: &MasterKey, actor: &Actor, at: DateTime<Utc>, entry: Entry) -> Result<i64> {
    let (seq, previous) = tx.audit_head()?;
    let mut row = AuditRow {
        seq: seq + 1,
        at,
        actor: actor.to_string(),
        action: entry.action.to_string(),
        subject_id: entry.subject_id,
        purpose: entry.purpose,
        fields: entry.fields.join(","),
        outcome: entry.outcome.to_string(),
        detail: entry.detail,
        hash: Vec::new(),
    };
    row.hash = keys.chain(&previous, &canonical(&row)).to_vec();
    tx.append_audit(&row, &head_mac(keys, row.seq, &row.hash))?;
    Ok(row.seq)
}

/// Appends many entries at once (bulk import): one head read, one head write.
pub(crate) fn append_many(
    tx: &mut dyn Tx,
    keys: &MasterKey,
    actor: &Actor,
    entries: Vec<(DateTime<Utc>, Entry)>,
) -> Result<()> {
    let (mut seq, mut previous) = tx.audit_head()?;
    let actor = actor.to_string();
    let mut rows = Vec::with_capacity(entries.len());
    for (at, entry) in entries {
        seq += 1;
        let mut row = AuditRow {
            seq,
            at,
            actor: actor.clone(),
            action: entry.action.to_string(),
            subject_id: entry.subject_id,
            purpose: entry.purpose,
            fields: entry.fields.join(","),
            outcome: entry.outcome.to_string(),
            detail: entry.detail,
            hash: Vec::new(),
        };
        row.hash = keys.chain(&previous, &canonical(&row)).to_vec();
        previous.clone_from(&row.hash);
        rows.push(row);
    }
    if let Some(last) = rows.last() {
        let mac = head_mac(keys, last.seq, &last.hash);
        tx.append_audits(&rows, &mac)?;
    }
    Ok(())
}

/// The outcome of verifying the chain.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Entries checked.
    pub entries: i64,
    /// True when every entry and the head check out.
    pub valid: bool,
    /// The first problem found, naming the sequence number.
    pub problem: Option<String>,
}

/// Walks the whole chain from the start, in pages, in one read snapshot per page.
/// The MAC the head carries over (seq, hash): only the key's holder can move the head,
/// so cutting entries off the end and pointing the head at the new last one is detected.
fn head_mac(keys: &MasterKey, seq: i64, hash: &[u8]) -> [u8; 32] {
    let mut m = seq.to_be_bytes().to_vec();
    m.extend_from_slice(hash);
    keys.audit_mac("audit-head", &m)
}

/// The meta key recording that the head has been sealed once: from then on an unsealed head is an attack.
const HEAD_SEALED: &str = "audit_head_sealed";
/// The meta key whose presence says the installation was opened (see `App::open`): its trail is not empty.
const INSTALLED: &str = "master_key_check";

/// Seals the head of a trail that predates the head MAC (first start after the upgrade), once.
pub(crate) fn seal_head_once(tx: &mut dyn Tx, keys: &MasterKey) -> Result<()> {
    if tx.meta(HEAD_SEALED)?.is_some() {
        return Ok(());
    }
    if tx.audit_head_mac()?.is_none() {
        let (seq, hash) = tx.audit_head()?;
        if seq > 0 {
            tx.set_audit_head_mac(&head_mac(keys, seq, &hash))?;
        }
    }
    tx.set_meta(HEAD_SEALED, "1")?;
    Ok(())
}

/// A signed head a DPO keeps outside Vigie: a later trail must extend it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    /// Hex of the entry's chain MAC.
    pub hash: String,
    pub at: DateTime<Utc>,
    /// Hex of the MAC over (seq, hash, at) under the audit key.
    pub mac: String,
}

fn checkpoint_mac(keys: &MasterKey, seq: i64, hash: &str, at: DateTime<Utc>) -> String {
    let message = format!("{seq}\u{1f}{hash}\u{1f}{}", at.to_rfc3339_opts(SecondsFormat::Micros, true));
    vigie_crypto::hex(&keys.audit_mac("audit-checkpoint", message.as_bytes()))
}

/// Signs the current head of a valid trail.
pub async fn checkpoint(store: &crate::db::Db, keys: std::sync::Arc<MasterKey>) -> Result<Checkpoint> {
    let v = verify(store, keys.clone()).await?;
    if !v.valid {
        return Err(crate::AppError::Conflict(format!(
            "the audit trail is invalid ({}): no checkpoint is signed over it",
            v.problem.unwrap_or_default()
        )));
    }
    let (seq, hash) = store.read(|tx| tx.audit_head_recorded()).await?;
    let hash = vigie_crypto::hex(&hash);
    let at = store.now();
    let mac = checkpoint_mac(&keys, seq, &hash, at);
    Ok(Checkpoint { seq, hash, at, mac })
}

/// Verifies the trail, then that it extends `cp`: the checkpoint is genuine and its entry
/// is still in the trail with the same hash (no rollback to an older copy of the database).
pub async fn verify_extends(
    store: &crate::db::Db,
    keys: std::sync::Arc<MasterKey>,
    cp: &Checkpoint,
) -> Result<Verification> {
    let v = verify(store, keys.clone()).await?;
    if !v.valid {
        return Ok(v);
    }
    let invalid = |problem: String| Ok(Verification { entries: v.entries, valid: false, problem: Some(problem) });
    if checkpoint_mac(&keys, cp.seq, &cp.hash, cp.at) != cp.mac {
        return invalid("the checkpoint is not genuine (its MAC does not match this installation's key)".into());
    }
    let seq = cp.seq;
    let entry = store.read(move |tx| tx.audit_page(seq - 1, 1)).await?;
    match entry.first() {
        _ if seq == 0 => Ok(v),
        Some(e) if e.seq == seq && vigie_crypto::hex(&e.hash) == cp.hash => Ok(v),
        Some(e) if e.seq == seq => invalid(format!(
            "entry {seq} differs from the checkpoint of {}: the trail was replaced",
            cp.at.to_rfc3339_opts(SecondsFormat::Secs, true)
        )),
        _ => invalid(format!(
            "the trail ends before entry {seq} of the checkpoint of {}: the database was rolled back to an older copy \
             or its end was cut off",
            cp.at.to_rfc3339_opts(SecondsFormat::Secs, true)
        )),
    }
}

/// Whether the first entry of a trail was chained under these keys.
pub(crate) fn first_entry_matches(keys: &MasterKey, first: &AuditRow) -> bool {
    first.seq != 1 || keys.chain(&[0u8; 32], &canonical(first)).as_slice() == first.hash.as_slice()
}

pub async fn verify(store: &crate::db::Db, keys: std::sync::Arc<MasterKey>) -> Result<Verification> {
    const PAGE: i64 = 10_000;
    let mut previous = vec![0u8; 32];
    let mut last_seq = 0i64;
    let mut entries = 0i64;
    let (head, head_mac_recorded, sealed, installed) = store
        .read(|tx| {
            Ok::<_, vigie_store::StoreError>((
                tx.audit_head_recorded()?,
                tx.audit_head_mac()?,
                tx.meta(HEAD_SEALED)?.is_some(),
                tx.meta(INSTALLED)?.is_some(),
            ))
        })
        .await?;
    loop {
        let page = store.read(move |tx| tx.audit_page(last_seq, PAGE)).await?;
        let done = (page.len() as i64) < PAGE;
        for row in page {
            if row.seq != last_seq + 1 {
                let problem = if row.seq > last_seq + 1 {
                    format!("entries {} to {} are missing (removed)", last_seq + 1, row.seq - 1)
                } else {
                    format!("entry {} is out of order", row.seq)
                };
                return Ok(Verification { entries, valid: false, problem: Some(problem) });
            }
            let expected = keys.chain(&previous, &canonical(&row));
            if expected.as_slice() != row.hash.as_slice() {
                let problem = format!(
                    "entry {} does not match the chain: it was altered, or an entry before it was altered, removed or reordered",
                    row.seq
                );
                return Ok(Verification { entries, valid: false, problem: Some(problem) });
            }
            previous = row.hash;
            last_seq = row.seq;
            entries += 1;
        }
        if done {
            break;
        }
    }
    if head.0 > last_seq {
        let problem = format!("entries {} to {} are missing (removed from the end)", last_seq + 1, head.0);
        return Ok(Verification { entries, valid: false, problem: Some(problem) });
    }
    if head.0 < last_seq || head.1 != previous {
        let problem = format!("the recorded head (entry {}) does not match the last entry ({last_seq})", head.0);
        return Ok(Verification { entries, valid: false, problem: Some(problem) });
    }
    if entries == 0 && installed {
        let problem = "the trail is empty, but the installation is not: its entries were removed".to_string();
        return Ok(Verification { entries, valid: false, problem: Some(problem) });
    }
    let expected = head_mac(&keys, head.0, &head.1);
    let head_ok = match head_mac_recorded {
        Some(m) => m.as_slice() == expected.as_slice(),
        None => head.0 == 0 || !sealed,
    };
    if !head_ok {
        let problem = format!(
            "the recorded head (entry {}) does not carry its MAC: entries were cut off the end and the head moved back",
            head.0
        );
        return Ok(Verification { entries, valid: false, problem: Some(problem) });
    }
    Ok(Verification { entries, valid: true, problem: None })
}

/// One audit entry as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    #[schema(value_type = Option<String>)]
    pub subject_id: Option<Id>,
    pub purpose: Option<String>,
    pub fields: Vec<String>,
    pub outcome: String,
    pub detail: Option<String>,
    /// Hex of this entry's chain MAC.
    pub hash: String,
}

impl From<AuditRow> for EntryView {
    fn from(r: AuditRow) -> Self {
        EntryView {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            subject_id: r.subject_id,
            purpose: r.purpose,
            fields: if r.fields.is_empty() { Vec::new() } else { r.fields.split(',').map(str::to_string).collect() },
            outcome: r.outcome,
            detail: r.detail,
            hash: vigie_crypto::hex(&r.hash),
        }
    }
}

impl crate::App {
    /// A page of the audit trail (dpo, auditor): entries after `after`, at most `limit`.
    pub async fn audit_entries(&self, who: &crate::auth::Principal, after: i64, limit: i64) -> Result<Vec<EntryView>> {
        use vigie_domain::access::Role;
        who.require(&[Role::Dpo, Role::Auditor], "reading the audit trail")?;
        if !(1..=1000).contains(&limit) {
            return Err(crate::AppError::invalid("limit", "must be between 1 and 1000"));
        }
        let rows = self.db.read(move |tx| tx.audit_page(after.max(0), limit)).await?;
        Ok(rows.into_iter().map(EntryView::from).collect())
    }
}
