//! The audit trail as it is read: verified from its first entry to its sealed head,
//! checkpointed for the DPO to keep outside Vigie, and paged through the API.

use crate::audit::{HEAD_SEALED, INSTALLED, checkpoint_mac, head_mac};
use crate::error::Result;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use vigie_crypto::MasterKey;
use vigie_store::{AuditRow, Id};

/// One audit entry as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    #[schema(value_type = Option<uuid::Uuid>)]
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

/// What a search of the audit trail keeps: every criterion given must hold (ids, action names and
/// dates only: an entry holds nothing personal, and neither does a search of them).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An action (`policy.activate`), or the start of one (`policy.`).
    pub action: Option<String>,
    /// An actor exactly as recorded (`user:<id>`, `token:<id>`, `cli`, `system`).
    pub actor: Option<String>,
    pub subject: Option<Id>,
    /// From this day (UTC), inclusive.
    pub from: Option<chrono::NaiveDate>,
    /// To this day (UTC), inclusive.
    pub to: Option<chrono::NaiveDate>,
}

impl AuditFilter {
    fn keeps(&self, e: &AuditRow) -> bool {
        let day = e.at.date_naive();
        self.action.as_deref().is_none_or(|a| e.action == a || (a.ends_with('.') && e.action.starts_with(a)))
            && self.actor.as_deref().is_none_or(|a| e.actor == a)
            && self.subject.is_none_or(|s| e.subject_id == Some(s))
            && self.from.is_none_or(|d| day >= d)
            && self.to.is_none_or(|d| day <= d)
    }
}

/// A page of a search: the entries kept, and where the next page starts.
#[derive(Debug, Clone)]
pub struct AuditSearch {
    pub entries: Vec<EntryView>,
    /// The sequence number the next page starts after, when the trail goes on past this page.
    pub next_after: Option<i64>,
    /// The last entry read: the search read every entry up to it.
    pub read_up_to: i64,
}

/// At most this many entries are read for one page of a search (a rare action over a long trail
/// answers in several pages, each saying how far it read).
const SEARCH_SCAN: i64 = 50_000;

impl crate::App {
    /// A page of the audit trail kept by `filter` (dpo, auditor): the entries after `after`, at
    /// most `limit` (1 to 1000), as [`audit_entries`](crate::App::audit_entries) pages them.
    pub async fn audit_search(
        &self,
        who: &crate::auth::Principal,
        filter: AuditFilter,
        after: i64,
        limit: i64,
    ) -> Result<AuditSearch> {
        use vigie_domain::access::Role;
        who.require(&[Role::Dpo, Role::Auditor], "reading the audit trail")?;
        if !(1..=1000).contains(&limit) {
            return Err(crate::AppError::invalid("limit", "must be between 1 and 1000"));
        }
        const PAGE: i64 = 1000;
        let mut last = after.max(0);
        let mut kept = Vec::new();
        let mut read = 0i64;
        loop {
            let subject = filter.subject;
            let rows = self
                .db
                .read(move |tx| match subject {
                    Some(s) => tx.audit_for_subject(s, last, PAGE),
                    None => tx.audit_page(last, PAGE),
                })
                .await?;
            let end = (rows.len() as i64) < PAGE;
            for row in rows {
                last = row.seq;
                read += 1;
                if filter.keeps(&row) {
                    kept.push(EntryView::from(row));
                    if kept.len() as i64 == limit {
                        return Ok(AuditSearch { entries: kept, next_after: Some(last), read_up_to: last });
                    }
                }
            }
            if end {
                return Ok(AuditSearch { entries: kept, next_after: None, read_up_to: last });
            }
            if read >= SEARCH_SCAN {
                return Ok(AuditSearch { entries: kept, next_after: Some(last), read_up_to: last });
            }
        }
    }

    /// The head of the audit trail as recorded: its last entry's sequence number and hash (hex).
    pub async fn audit_head(&self, who: &crate::auth::Principal) -> Result<(i64, String)> {
        use vigie_domain::access::Role;
        who.require(&[Role::Dpo, Role::Auditor, Role::Admin], "verifying the audit trail")?;
        let (seq, hash) = self.db.read(|tx| tx.audit_head_recorded()).await?;
        Ok((seq, vigie_crypto::hex(&hash)))
    }
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

/// The walk along the chain: how far it has checked.
struct Walk {
    /// The hash of the last entry checked (zeros before the first).
    previous: Vec<u8>,
    last_seq: i64,
    entries: i64,
}

/// The problem of an entry whose sequence number does not follow `last_seq`.
fn gap(last_seq: i64, seq: i64) -> String {
    if seq > last_seq + 1 {
        format!("entries {} to {} are missing (removed)", last_seq + 1, seq - 1)
    } else {
        format!("entry {seq} is out of order")
    }
}

/// The problem of an entry whose MAC does not continue the chain.
fn altered(seq: i64) -> String {
    format!(
        "entry {seq} does not match the chain: it was altered, or an entry before it was altered, removed or reordered"
    )
}

/// Entries per range of the trail checked by one read (see [`verify`]).
const RANGE: i64 = 16_384;
/// Ranges read and checked at once, by the store's reader threads.
const IN_FLIGHT: usize = 4;

/// One range of the trail (`after < seq <= upto`) checked on its own, by a reader thread: every
/// entry but the first against the entry before it in the range. The first entry's link to the
/// entries before the range is left to the walk, which takes the ranges in order.
#[derive(Default)]
struct Checked {
    /// The first entry: its sequence number, canonical bytes and hash (none in an empty range).
    first: Option<(i64, Vec<u8>, Vec<u8>)>,
    /// The first entry after the first that breaks the chain: how many entries of the range
    /// precede it, and the problem.
    broken: Option<(i64, String)>,
    /// Entries read, and the last one's sequence number and hash.
    entries: i64,
    last: (i64, Vec<u8>),
}

fn check_range(
    tx: &mut dyn vigie_store::ReadTx,
    keys: &MasterKey,
    after: i64,
    upto: i64,
) -> vigie_store::Result<Checked> {
    let mut c = Checked::default();
    let mut bytes = Vec::with_capacity(512);
    tx.audit_scan(after, upto, &mut |row| {
        if c.broken.is_some() {
            return Ok(());
        }
        if c.first.is_none() {
            crate::audit::canonical_into(&row, &mut bytes);
            c.first = Some((row.seq, bytes.clone(), row.hash.clone()));
        } else if row.seq != c.last.0 + 1 {
            c.broken = Some((c.entries, gap(c.last.0, row.seq)));
            return Ok(());
        } else {
            crate::audit::canonical_into(&row, &mut bytes);
            if keys.chain(&c.last.1, &bytes).as_slice() != row.hash.as_slice() {
                c.broken = Some((c.entries, altered(row.seq)));
                return Ok(());
            }
        }
        c.entries += 1;
        c.last = (row.seq, row.hash);
        Ok(())
    })?;
    Ok(c)
}

/// Walks the whole chain from the start up to the head read when it starts, and names the first
/// problem in the chain's order.
///
/// The entries up to the head are read in ranges of [`RANGE`] sequence numbers, [`IN_FLIGHT`] at
/// once, each checked by the reader thread that reads it (each entry carries its own MAC and the
/// entry before it carries the hash it was chained to, so the MACs of a range need nothing from
/// the others); the walk then takes the ranges in order, checking each range's first entry against
/// the last entry before it, and stops at the first problem. That gives, entry by entry, the
/// checks of a walk from one entry to the next, in the same order, so the same first problem and
/// the same count. What lies past the last entry so read (a trail cut short, entries missing
/// across the head) is walked one page at a time, as before.
pub async fn verify(store: &crate::db::Db, keys: std::sync::Arc<MasterKey>) -> Result<Verification> {
    verify_in(store, keys, RANGE).await
}

/// [`verify`] with ranges of `range` sequence numbers (tests use small ones).
#[doc(hidden)]
pub async fn verify_in(store: &crate::db::Db, keys: std::sync::Arc<MasterKey>, range: i64) -> Result<Verification> {
    const PAGE: i64 = 10_000;
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
    let mut walk = Walk { previous: vec![0u8; 32], last_seq: 0, entries: 0 };
    let invalid = |entries: i64, problem: String| Ok(Verification { entries, valid: false, problem: Some(problem) });
    // The trail is read up to the head read above: entries appended meanwhile (the server goes on
    // writing while it verifies) are past it, and are left for the next verification.
    let mut pending = std::collections::VecDeque::new();
    let mut next = 0i64;
    loop {
        while pending.len() < IN_FLIGHT && next < head.0 {
            let (after, upto) = (next, next.saturating_add(range.max(1)).min(head.0));
            let (db, keys) = (store.clone(), keys.clone());
            pending
                .push_back(tokio::spawn(async move { db.read(move |tx| check_range(tx, &keys, after, upto)).await }));
            next = upto;
        }
        let Some(task) = pending.pop_front() else { break };
        let checked: Checked = task.await.map_err(|e| crate::AppError::failed("verifying the audit trail", e))??;
        let Some((seq, bytes, hash)) = checked.first else { continue };
        if seq != walk.last_seq + 1 {
            return invalid(walk.entries, gap(walk.last_seq, seq));
        }
        if keys.chain(&walk.previous, &bytes).as_slice() != hash.as_slice() {
            return invalid(walk.entries, altered(seq));
        }
        if let Some((checked_before, problem)) = checked.broken {
            return invalid(walk.entries + checked_before, problem);
        }
        walk.entries += checked.entries;
        walk.last_seq = checked.last.0;
        walk.previous = checked.last.1;
    }
    // Past the ranges: nothing more when they reached the head; otherwise the walk goes on, a page
    // at a time, over whatever follows (a gap across the head is named as a gap).
    let mut done = walk.last_seq >= head.0;
    let mut bytes = Vec::with_capacity(512);
    while !done {
        let last_seq = walk.last_seq;
        let page = store.read(move |tx| tx.audit_page(last_seq, PAGE)).await?;
        done = (page.len() as i64) < PAGE;
        for row in page {
            if row.seq > head.0 && walk.last_seq >= head.0 {
                done = true;
                break;
            }
            if row.seq != walk.last_seq + 1 {
                return invalid(walk.entries, gap(walk.last_seq, row.seq));
            }
            crate::audit::canonical_into(&row, &mut bytes);
            if keys.chain(&walk.previous, &bytes).as_slice() != row.hash.as_slice() {
                return invalid(walk.entries, altered(row.seq));
            }
            walk.previous = row.hash;
            walk.last_seq = row.seq;
            walk.entries += 1;
        }
    }
    let Walk { previous, last_seq, entries } = walk;
    if head.0 > last_seq {
        let problem = format!("entries {} to {} are missing (removed from the end)", last_seq + 1, head.0);
        return invalid(entries, problem);
    }
    if head.0 < last_seq || head.1 != previous {
        let problem = format!("the recorded head (entry {}) does not match the last entry ({last_seq})", head.0);
        return invalid(entries, problem);
    }
    if entries == 0 && installed {
        let problem = "the trail is empty, but the installation is not: its entries were removed".to_string();
        return invalid(entries, problem);
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
        return invalid(entries, problem);
    }
    Ok(Verification { entries, valid: true, problem: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(action: &str, actor: &str, subject: Option<Id>, day: u32) -> AuditRow {
        AuditRow {
            seq: 1,
            at: Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).single().unwrap_or_default(),
            actor: actor.into(),
            action: action.into(),
            subject_id: subject,
            purpose: None,
            fields: String::new(),
            outcome: "ok".into(),
            detail: None,
            hash: Vec::new(),
        }
    }

    #[test]
    fn a_search_keeps_what_every_criterion_given_allows() {
        let id = uuid::Uuid::now_v7();
        let e = row("subject.read", "token:abc", Some(id), 10);
        assert!(AuditFilter::default().keeps(&e), "no criterion keeps everything");
        let by = |f: AuditFilter| f.keeps(&e);
        assert!(by(AuditFilter { action: Some("subject.read".into()), ..Default::default() }));
        assert!(by(AuditFilter { action: Some("subject.".into()), ..Default::default() }), "a prefix ending in a dot");
        assert!(!by(AuditFilter { action: Some("subject".into()), ..Default::default() }), "not a bare prefix");
        assert!(!by(AuditFilter { action: Some("subject.re".into()), ..Default::default() }));
        assert!(by(AuditFilter { actor: Some("token:abc".into()), ..Default::default() }));
        assert!(!by(AuditFilter { actor: Some("token:ab".into()), ..Default::default() }), "an actor exactly");
        assert!(by(AuditFilter { subject: Some(id), ..Default::default() }));
        assert!(!by(AuditFilter { subject: Some(uuid::Uuid::now_v7()), ..Default::default() }));
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d);
        assert!(by(AuditFilter { from: day(10), to: day(10), ..Default::default() }), "both ends inclusive");
        assert!(!by(AuditFilter { from: day(11), ..Default::default() }));
        assert!(!by(AuditFilter { to: day(9), ..Default::default() }));
        assert!(!by(AuditFilter {
            action: Some("subject.read".into()),
            actor: Some("cli".into()),
            ..Default::default()
        }));
        let none = row("register.read", "cli", None, 10);
        assert!(!AuditFilter { subject: Some(id), ..Default::default() }.keeps(&none), "an entry about no one");
    }
}
