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
use vigie_store::{AuditRow, Id, Store, Tx};

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
pub fn append(tx: &mut dyn Tx, keys: &MasterKey, actor: &Actor, at: DateTime<Utc>, entry: Entry) -> Result<i64> {
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
    tx.append_audit(&row)?;
    Ok(row.seq)
}

/// Appends many entries at once (bulk import): one head read, one head write.
pub fn append_many(
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
    tx.append_audits(&rows)?;
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
/// Whether the first entry of a trail was chained under these keys.
pub(crate) fn first_entry_matches(keys: &MasterKey, first: &AuditRow) -> bool {
    first.seq != 1 || keys.chain(&[0u8; 32], &canonical(first)).as_slice() == first.hash.as_slice()
}

pub async fn verify(store: &Store, keys: std::sync::Arc<MasterKey>) -> Result<Verification> {
    const PAGE: i64 = 10_000;
    let mut previous = vec![0u8; 32];
    let mut last_seq = 0i64;
    let mut entries = 0i64;
    let head = store.read(|tx| tx.audit_head_recorded()).await?;
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
        let rows = self.store.read(move |tx| tx.audit_page(after.max(0), limit)).await?;
        Ok(rows.into_iter().map(EntryView::from).collect())
    }
}
