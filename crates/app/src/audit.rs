//! The audit trail: every read, refusal and write appends an entry in the
//! same transaction as the work it records, chained by a MAC keyed from the
//! master key, so that an entry altered, removed or reordered in the database
//! breaks the chain at a place `verify` names.
//!
//! Entries carry ids, purpose ids, rule names and field names: never a value.

use crate::error::Result;
use chrono::{DateTime, SecondsFormat, Utc};
use vigie_crypto::MasterKey;
use vigie_store::{AuditRow, Id, Tx};

/// Who did something, as the audit trail names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Token(Id),
    /// A person, by account id (console sessions).
    User(Id),
    Cli,
    System,
    /// The requester of a rights request, acting through a one-time link (the request's id).
    Requester(Id),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
            Actor::Requester(request) => write!(f, "requester:{request}"),
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
pub fn canonical(row: &AuditRow) -> Vec<u8> {
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

/// [`canonical`] written into `out` (cleared first), the same bytes without its allocations:
/// verification makes one per entry of the trail.
pub(crate) fn canonical_into(row: &AuditRow, out: &mut Vec<u8>) {
    use chrono::{Datelike, Timelike};
    const SEP: u8 = 0x1f;
    /// `n` in decimal, `width` digits at least (zeros in front).
    fn number(out: &mut Vec<u8>, mut n: u64, width: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        while n > 0 || digits.len() - i < width.max(1) {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(&digits[i..]);
    }
    out.clear();
    if row.seq < 0 {
        out.push(b'-');
    }
    number(out, row.seq.unsigned_abs(), 1);
    out.push(SEP);
    let at = row.at.naive_utc();
    if (0..=9999).contains(&at.year()) && at.nanosecond() < 1_000_000_000 {
        for (n, width, after) in [
            (at.year() as u32, 4, b'-'),
            (at.month(), 2, b'-'),
            (at.day(), 2, b'T'),
            (at.hour(), 2, b':'),
            (at.minute(), 2, b':'),
            (at.second(), 2, b'.'),
            (at.nanosecond() / 1000, 6, b'Z'),
        ] {
            number(out, u64::from(n), width);
            out.push(after);
        }
    } else {
        out.extend_from_slice(row.at.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes());
    }
    let text = |out: &mut Vec<u8>, t: Option<&str>| {
        out.push(SEP);
        out.extend_from_slice(t.unwrap_or("\u{0}").as_bytes());
    };
    text(out, Some(&row.actor));
    text(out, Some(&row.action));
    out.push(SEP);
    match row.subject_id {
        Some(s) => out.extend_from_slice(s.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).as_bytes()),
        None => out.push(0),
    }
    text(out, row.purpose.as_deref());
    text(out, Some(&row.fields));
    text(out, Some(&row.outcome));
    text(out, row.detail.as_deref());
}

/// The audit key as the store needs it: the store seals a queued entry after the head it finds
/// when it writes the entry (see `vigie_store::Tx::queue_audit`).
pub(crate) struct Chain(pub std::sync::Arc<MasterKey>);

impl vigie_store::AuditSeal for Chain {
    fn chain(&self, previous: &[u8], entry: &AuditRow) -> Vec<u8> {
        self.0.chain(previous, &canonical(entry)).to_vec()
    }

    fn head_mac(&self, seq: i64, hash: &[u8]) -> Vec<u8> {
        head_mac(&self.0, seq, hash).to_vec()
    }
}

/// Appends `entry` to the chain inside the caller's transaction: queued, it takes its place in
/// the chain (`seq`, hash) when the transaction's entries are written, at the latest before its
/// commit.
pub(crate) fn append(
    tx: &mut dyn Tx,
    seal: &std::sync::Arc<dyn vigie_store::AuditSeal>,
    actor: &Actor,
    at: DateTime<Utc>,
    entry: Entry,
) -> Result<()> {
    let row = AuditRow {
        seq: 0,
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
    tx.queue_audit(row, seal.clone())?;
    Ok(())
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

/// The MAC the head carries over (seq, hash): only the key's holder can move the head,
/// so cutting entries off the end and pointing the head at the new last one is detected.
pub(crate) fn head_mac(keys: &MasterKey, seq: i64, hash: &[u8]) -> [u8; 32] {
    let mut m = seq.to_be_bytes().to_vec();
    m.extend_from_slice(hash);
    keys.audit_mac("audit-head", &m)
}

/// The meta key recording that the head has been sealed once: from then on an unsealed head is an attack.
pub(crate) const HEAD_SEALED: &str = "audit_head_sealed";
/// The meta key whose presence says the installation was opened (see `App::open`): its trail is not empty.
pub(crate) const INSTALLED: &str = "master_key_check";

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

pub(crate) fn checkpoint_mac(keys: &MasterKey, seq: i64, hash: &str, at: DateTime<Utc>) -> String {
    let message = format!("{seq}\u{1f}{hash}\u{1f}{}", at.to_rfc3339_opts(SecondsFormat::Micros, true));
    vigie_crypto::hex(&keys.audit_mac("audit-checkpoint", message.as_bytes()))
}

/// Whether the first entry of a trail was chained under these keys.
pub(crate) fn first_entry_matches(keys: &MasterKey, first: &AuditRow) -> bool {
    first.seq != 1 || keys.chain(&[0u8; 32], &canonical(first)).as_slice() == first.hash.as_slice()
}

#[cfg(test)]
mod tests {
    use super::{canonical, canonical_into};
    use chrono::{TimeZone, Utc};
    use vigie_store::AuditRow;

    /// The bytes verification MACs are the bytes every entry was chained over.
    #[test]
    fn canonical_into_writes_the_canonical_bytes() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut out = b"left over".to_vec();
        for i in 0..5_000u64 {
            let secs = (next() % 400_000_000_000) as i64 - 100_000_000_000; // years about -1200 to 14600
            let nanos = (next() % 1_000_000_000) as u32;
            let opt = |v: u64, s: &str| (!v.is_multiple_of(3)).then(|| format!("{s}{v}"));
            let row = AuditRow {
                seq: (next() % 10_000_000_000) as i64 - i64::from(i % 7 == 0),
                at: Utc.timestamp_opt(secs, nanos).single().unwrap_or_default(),
                actor: format!("token:{}", next()),
                action: "subject.read".into(),
                subject_id: (i % 2 == 0).then(|| uuid::Uuid::from_u64_pair(next(), next())),
                purpose: opt(next(), "purpose_"),
                fields: if i % 5 == 0 { String::new() } else { "email,phone".into() },
                outcome: "ok".into(),
                detail: opt(next(), "détail "),
                hash: Vec::new(),
            };
            canonical_into(&row, &mut out);
            assert_eq!(out, canonical(&row), "{row:?}");
        }
    }
}
