//! The audit trail as it is read: verified from its first entry to its sealed head,
//! checkpointed for the DPO to keep outside Vigie, and paged through the API.

use crate::audit::{HEAD_SEALED, INSTALLED, canonical, checkpoint_mac, head_mac};
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

/// Walks the whole chain from the start, in pages, in one read snapshot per page.
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
    // The trail is read up to the head read above: entries appended meanwhile (the server goes on
    // writing while it verifies) are past it, and are left for the next verification.
    loop {
        let page = store.read(move |tx| tx.audit_page(last_seq, PAGE)).await?;
        let mut done = (page.len() as i64) < PAGE;
        for row in page {
            if row.seq > head.0 && last_seq >= head.0 {
                done = true;
                break;
            }
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
