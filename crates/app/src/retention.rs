//! Retention (SPEC 4.3): each subject's clock, kept current on every write
//! that moves it; the plan of what is due at a date; the sweep that erases it;
//! legal holds that suspend it.
//!
//! Erasure is real: the subject's key and every row about it are deleted in
//! one transaction with the audit entry that records it, so a crash leaves each
//! subject fully present or fully erased, and running the sweep again finishes
//! the job. What remains is a tombstone (id, date, rule) and aggregate counts.
//!
//! The sweep fails safe: a subject with an open rights request or in the scope
//! of a breach under investigation is held automatically (and released when the
//! request or breach closes); a client without contract has no clock and is
//! listed for review; `apply` never takes a date after today; the daily sweep
//! brakes when it would erase more than a configured share of all subjects.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::Principal;
use crate::db::{Recorded, Trail};
use crate::error::{AppError, Result};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vigie_crypto::{Context, MasterKey, Part};
use vigie_domain::SubjectKind;
use vigie_domain::access::Role;
use vigie_domain::dates::add_months;
use vigie_domain::records::HoldAction;
use vigie_store::{Id, Tx};

/// Subjects erased per transaction by the sweep. Each batch is one job of the writer, which other
/// writes wait behind: 2,000 erasures take 0.1–0.5 s. Larger batches share more index pages among
/// their erasures (fewer pages written per subject); on SQLite 500 → 2,000 gave about ×1.6 and
/// 2,000 → 5,000 little more (BENCHMARKS.md, issue 14.3).
pub const BATCH: i64 = 2000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueItem {
    pub subject_id: Uuid,
    pub kind: SubjectKind,
    /// The clock: last_contract_end (clients) or last_inbound_contact (prospects).
    pub rule: String,
    pub basis_date: Option<NaiveDate>,
    /// The last day the data may be kept; the subject is due from the next day.
    pub expires_on: NaiveDate,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldItem {
    #[serde(flatten)]
    pub due: DueItem,
    /// What holds the subject: `legal_hold` (set by the DPO), `rights_request` (an open
    /// request of the subject), `breach` (a breach under investigation concerns it) or
    /// `restriction` (restricted under Art. 18(1)(b) or (c)).
    pub held_by: String,
    /// The legal hold's reason, or why the automatic hold applies.
    pub reason: String,
    pub held_at: Option<DateTime<Utc>>,
    /// The open request or breach that holds the subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breach_id: Option<Uuid>,
}

/// A client recorded without any contract: it has no retention clock (its collection
/// date says nothing of its contracts), so it is never erased by the sweep; the DPO reviews it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewItem {
    pub subject_id: Uuid,
    pub kind: SubjectKind,
    pub collected_at: DateTime<Utc>,
    /// `client_without_contract`.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthCount {
    /// YYYY-MM.
    pub month: String,
    pub expiring: i64,
}

/// What the sweep would erase at a date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Plan {
    pub at: NaiveDate,
    /// How many subjects are due (the list may be cut at `limit`).
    pub due_count: usize,
    pub due: Vec<DueItem>,
    /// Subjects whose clock ran out but whom a hold keeps (legal hold, open request, breach).
    pub held: Vec<HeldItem>,
    /// How many clients have no recorded contract (the list may be cut at `limit`).
    pub to_review_count: usize,
    /// Clients without contract: no clock, never erased, to review.
    pub to_review: Vec<ReviewItem>,
    /// Subjects whose clock runs out in each of the 12 months from `at`'s month.
    pub forecast: Vec<MonthCount>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplyReport {
    pub at: NaiveDate,
    pub erased: u64,
    /// Subjects due but held (legal hold, open request, breach) and so kept.
    pub held: usize,
    /// The daily sweep only: it erased nothing because too many subjects were due at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub braked: Option<Brake>,
}

/// Why the daily sweep stopped without erasing: the DPO applies the date explicitly.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Brake {
    pub due: u64,
    pub subjects: u64,
    /// The configured share, in percent.
    pub max_share_percent: f64,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyInput {
    /// The date to apply the sweep at (default, or the empty string: today).
    #[schema(value_type = Option<DateOrToday>)]
    pub at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldInput {
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldView {
    pub subject_id: Uuid,
    pub held: bool,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldEvent {
    /// `set` or `lift`.
    pub action: HoldAction,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldStatus {
    pub subject_id: Uuid,
    pub held: bool,
    pub reason: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub history: Vec<HoldEvent>,
}

/// A date (YYYY-MM-DD, from the year 1000), or the empty string for today: the schema of `at`.
pub struct DateOrToday;

impl utoipa::PartialSchema for DateOrToday {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
        let date = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some("^[1-9]"));
        let empty = ObjectBuilder::new().schema_type(Type::String).max_length(Some(0));
        OneOfBuilder::new()
            .item(date)
            .item(empty)
            .description(Some("A date (YYYY-MM-DD), or the empty string for today."))
            .into()
    }
}

impl utoipa::ToSchema for DateOrToday {}

/// Parses `at` (a date), defaulting to `today`.
pub fn parse_at(raw: Option<&str>, today: NaiveDate) -> Result<NaiveDate> {
    match raw {
        None | Some("") => Ok(today),
        Some(s) => crate::input::parse_date("at", s),
    }
}

/// Refuses to apply the sweep at a date after `today`: erasure only takes what is due now.
fn check_not_future(at: NaiveDate, today: NaiveDate) -> Result<()> {
    if at > today {
        return Err(AppError::invalid(
            "at",
            format!(
                "is after today ({today}): the sweep erases only what is due today or earlier; use the plan to look ahead"
            ),
        ));
    }
    Ok(())
}

/// A subject held from the sweep without a legal hold: an open request or breach concerns it.
struct AutoHold {
    due: vigie_store::DueRow,
    request: Option<Id>,
    breach: Option<Id>,
    /// A restriction (Art. 18) whose ground keeps the data from erasure.
    restriction: Option<vigie_domain::records::RestrictionGround>,
}

/// The subjects due at `at` (and not under legal hold) that an open rights request or a
/// breach under investigation holds, read inside the caller's transaction.
fn auto_holds(tx: &mut dyn vigie_store::ReadTx, at: NaiveDate) -> Result<Vec<AutoHold>> {
    let mut out: Vec<AutoHold> = Vec::new();
    for (request, subject) in tx.open_request_subjects()? {
        if out.iter().any(|h| h.due.id == subject) {
            continue;
        }
        let Some(row) = tx.subject(subject)? else { continue };
        let Some(expires_on) = row.expires_on.filter(|e| *e < at) else { continue };
        if row.legal_hold.is_some() {
            continue;
        }
        let due = vigie_store::DueRow {
            id: subject,
            kind: row.kind,
            rule: row.retention_rule,
            basis_date: row.basis_date,
            expires_on,
        };
        out.push(AutoHold { due, request: Some(request), breach: None, restriction: None });
    }
    for (breach, scope) in crate::breaches::open_scopes(tx)? {
        for due in tx.scope_due(&scope, at)? {
            if !out.iter().any(|h| h.due.id == due.id) {
                out.push(AutoHold { due, request: None, breach: Some(breach), restriction: None });
            }
        }
    }
    // A restriction for legal claims (18(1)(c)) or instead of erasure (18(1)(b)) keeps the data
    // while it lasts; for contested accuracy or a pending objection the retention clock runs.
    for (subject, ground) in tx.restricted_subjects()? {
        if !ground.holds_erasure() || out.iter().any(|h| h.due.id == subject) {
            continue;
        }
        let Some(row) = tx.subject(subject)? else { continue };
        let Some(expires_on) = row.expires_on.filter(|e| *e < at) else { continue };
        if row.legal_hold.is_some() {
            continue;
        }
        let due = vigie_store::DueRow {
            id: subject,
            kind: row.kind,
            rule: row.retention_rule,
            basis_date: row.basis_date,
            expires_on,
        };
        out.push(AutoHold { due, request: None, breach: None, restriction: Some(ground) });
    }
    Ok(out)
}

fn due_item(r: vigie_store::DueRow) -> DueItem {
    DueItem { subject_id: r.id, kind: r.kind, rule: r.rule, basis_date: r.basis_date, expires_on: r.expires_on }
}

fn hold_aad(id: Id) -> Context {
    Context::new(id, Part::LegalHold)
}

fn open_reason(keys: &MasterKey, id: Id, wrapped: &[u8], sealed: &[u8]) -> Result<String> {
    let key = keys.unwrap_key(wrapped, id.as_bytes())?;
    String::from_utf8(key.open(&hold_aad(id), sealed)?).map_err(|_| AppError::Internal(format!("legal hold of {id}")))
}

/// Erases up to one batch of due subjects in one transaction; returns them.
/// Subjects held automatically are skipped, and the erasure re-checks, under the
/// subjects' row locks, that each is still due and not held (`Tx::erase_due`).
/// A subject who objected to prospecting goes onto the suppression list as it is erased.
/// Each erased subject has its own audit entry (which subject, under which rule).
fn erase_batch(
    tx: &mut dyn Tx,
    trail: &Trail<'_>,
    at: NaiveDate,
    suppression_years: u32,
) -> Result<(Vec<crate::backup::Erased>, Recorded)> {
    let held: std::collections::HashSet<Id> = auto_holds(tx, at)?.into_iter().map(|h| h.due.id).collect();
    let due = tx.due(at, BATCH + i64::try_from(held.len()).unwrap_or(0))?;
    let ids: Vec<Id> = due.iter().map(|r| r.id).filter(|id| !held.contains(id)).collect();
    if ids.is_empty() {
        return Ok((Vec::new(), trail.nothing_changed()));
    }
    let when = trail.at;
    // The objectors' blind indexes, read before their rows go.
    let mut objectors = std::collections::HashMap::new();
    for o in tx.objections_to(&ids, crate::rights::suppression::PROSPECTING)? {
        let on = o.at.date_naive();
        match objectors.entry(o.subject_id) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let (_, last): &mut (Option<vigie_store::SubjectRow>, NaiveDate) = e.get_mut();
                *last = (*last).max(on);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((tx.subject(o.subject_id)?, on));
            }
        }
    }
    let erased_rows = tx.erase_due(&ids, when, at)?;
    let mut entries = Vec::with_capacity(erased_rows.len());
    let mut erased = Vec::with_capacity(erased_rows.len());
    for r in erased_rows {
        if let Some((Some(row), on)) = objectors.get(&r.id)
            && let Some(e) =
                crate::rights::suppression::suppress_subject(tx, row, suppression_years, *on, "objector_erased", when)?
        {
            entries.push((when, e));
        }
        let detail = format!("rule={} expires_on={} kind={}", r.rule, r.expires_on, r.kind);
        entries.push((when, Entry::new("subject.erase").subject(r.id).detail(detail)));
        erased.push(crate::backup::Erased { id: r.id, at: when, rule: r.rule });
    }
    let recorded = if entries.is_empty() { trail.nothing_changed() } else { trail.many(tx, entries)? };
    Ok((erased, recorded))
}

impl App {
    /// After an erasure has committed: copies the journal into the database and truncates it,
    /// so that (with `secure_delete`) no page of the erased data remains in any file (SQLite).
    pub(crate) async fn compact_journal(&self) {
        self.start_compaction().await;
    }

    /// [`App::compact_journal`] started now, on a blocking thread; the future waits for its end.
    pub(crate) fn start_compaction(&self) -> impl std::future::Future<Output = ()> + use<> {
        let db = self.db.clone();
        let task = tokio::task::spawn_blocking(move || db.compact());
        async move {
            if let Err(e) = task.await.unwrap_or(Ok(())) {
                tracing::warn!(error = %e, "could not compact the journal after erasure");
            }
        }
    }

    /// The subjects due for erasure at `at`, the held ones apart, and a 12-month forecast (DPO).
    pub async fn retention_plan(&self, who: &Principal, at: NaiveDate, limit: usize) -> Result<Plan> {
        who.require(&[Role::Dpo], "planning retention")?;
        self.retention_plan_by(who.actor(), at, limit).await
    }

    /// [`App::retention_plan`] by an actor already authorised (the command line).
    pub async fn retention_plan_by(&self, actor: Actor, at: NaiveDate, limit: usize) -> Result<Plan> {
        let months_from = NaiveDate::from_ymd_opt(at.year(), at.month(), 1).unwrap_or(at);
        let months_to = add_months(months_from, 12).unwrap_or(months_from);
        let limit_i = i64::try_from(limit).unwrap_or(i64::MAX);
        let (due_count, due, held, auto, counts, review_count, review) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let auto = auto_holds(tx, at)?;
                let due_count = tx.count_due(at)? - i64::try_from(auto.len()).unwrap_or(0);
                let ids: std::collections::HashSet<Id> = auto.iter().map(|h| h.due.id).collect();
                let mut due = tx.due(at, limit_i.saturating_add(i64::try_from(auto.len()).unwrap_or(0)))?;
                due.retain(|d| !ids.contains(&d.id));
                due.truncate(limit);
                let held = tx.held_due(at)?;
                let counts = tx.count_expiring_by_month(months_from, months_to)?;
                let review_count = tx.count_to_review()?;
                let review = tx.to_review(limit_i)?;
                let entry = Entry::new("retention.plan").detail(format!(
                    "at={at} due={due_count} held={} to_review={review_count}",
                    held.len() + auto.len()
                ));
                let recorded = trail.record(tx, entry)?;
                Ok(((due_count, due, held, auto, counts, review_count, review), recorded))
            })
            .await?;
        let mut forecast = Vec::with_capacity(12);
        for i in 0..12 {
            let m = add_months(months_from, i).unwrap_or(months_from).format("%Y-%m").to_string();
            let expiring = counts.iter().find(|c| c.group == m).map_or(0, |c| c.count);
            forecast.push(MonthCount { month: m, expiring });
        }
        let mut held = held
            .into_iter()
            .map(|h| {
                let reason = open_reason(&self.keys, h.due.id, &h.wrapped_key, &h.reason)?;
                Ok(HeldItem {
                    due: due_item(h.due),
                    held_by: "legal_hold".into(),
                    reason,
                    held_at: h.held_at,
                    request_id: None,
                    breach_id: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        held.extend(auto.into_iter().map(|h| {
            HeldItem {
                due: due_item(h.due),
                held_by: match (h.request, h.breach) {
                    (Some(_), _) => "rights_request",
                    (_, Some(_)) => "breach",
                    _ => "restriction",
                }
                .into(),
                reason: match (h.request, h.breach, h.restriction) {
                    (Some(r), _, _) => format!("open rights request {r}: kept until it is closed"),
                    (_, Some(b), _) => format!("breach {b} under investigation: kept until it is closed"),
                    (_, _, Some(g)) => format!("processing restricted (Art. 18, ground {g}): kept until it is lifted"),
                    _ => String::new(),
                },
                held_at: None,
                request_id: h.request,
                breach_id: h.breach,
            }
        }));
        Ok(Plan {
            at,
            due_count: usize::try_from(due_count).unwrap_or(0),
            due: due.into_iter().map(due_item).collect(),
            held,
            to_review_count: usize::try_from(review_count).unwrap_or(0),
            to_review: review
                .into_iter()
                .map(|r| ReviewItem {
                    subject_id: r.id,
                    kind: SubjectKind::Client,
                    collected_at: r.collected_at,
                    reason: vigie_domain::retention::Clock::NO_CONTRACT_RULE.into(),
                })
                .collect(),
            forecast,
        })
    }

    /// Erases every subject due at `at` (today or earlier), in batches, each batch one transaction.
    pub async fn retention_apply(&self, actor: Actor, at: NaiveDate) -> Result<ApplyReport> {
        check_not_future(at, self.now().date_naive())?;
        self.sweep_at(actor, at).await
    }

    /// The sweep at any date, future ones included: for benchmarks on generated data only.
    #[doc(hidden)]
    pub async fn sweep_at(&self, actor: Actor, at: NaiveDate) -> Result<ApplyReport> {
        let mut erased = 0;
        loop {
            let years = self.policy().retention.suppression_years;
            let batch = self.db.audited(actor.clone(), move |tx, trail| erase_batch(tx, trail, at, years)).await?;
            self.journal_erasures(&batch);
            let n = batch.len() as u64;
            erased += n;
            if n == 0 {
                break;
            }
        }
        let held =
            self.db.read(move |tx| Ok::<_, AppError>(tx.held_due(at)?.len() + auto_holds(tx, at)?.len())).await?;
        // Proof records of requests closed longer ago than the policy keeps them.
        let years = self.policy().retention.request_proof_years;
        let before = at
            .checked_sub_months(chrono::Months::new(years * 12))
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc());
        if let Some(before) = before {
            let a = actor.clone();
            self.db
                .audited(a.clone(), move |tx, trail| {
                    let n = tx.delete_closed_requests(before)?;
                    let mut recorded = trail.nothing_changed();
                    if n > 0 {
                        let entry =
                            Entry::new("request.proof_expired").detail(format!("closed_before={before} count={n}"));
                        recorded = trail.record(tx, entry)?;
                    }
                    Ok((n, recorded))
                })
                .await?;
        }
        // Suppression entries past their end (the policy's `suppression_years` after the objection).
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let n = tx.delete_expired_suppressions(at)?;
                let mut recorded = trail.nothing_changed();
                if n > 0 {
                    recorded =
                        trail.record(tx, Entry::new("suppression.expired").detail(format!("before={at} count={n}")))?;
                }
                Ok((n, recorded))
            })
            .await?;
        if erased > 0 {
            tracing::info!(erased, held, %at, "retention sweep applied");
            self.compact_journal().await;
        }
        Ok(ApplyReport { at, erased, held, braked: None })
    }

    /// [`App::retention_apply`] for an authenticated caller (DPO).
    pub async fn retention_apply_as(&self, who: &Principal, at: NaiveDate) -> Result<ApplyReport> {
        who.require(&[Role::Dpo], "applying retention")?;
        self.retention_apply(who.actor(), at).await
    }

    /// Sets or lifts a legal hold on a subject, with its reason (DPO). The reason
    /// is sealed under the subject's key and kept in the hold's history.
    pub async fn legal_hold(&self, who: &Principal, id: Id, set: bool, reason: &str) -> Result<HoldView> {
        who.require(&[Role::Dpo], "setting or lifting a legal hold")?;
        let reason = crate::input::check_text("reason", reason, 2_000)?;
        let (keys, actor) = (self.keys.clone(), who.actor());
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                let row = crate::record::load(tx, id)?;
                if !set && row.legal_hold.is_none() {
                    return Err(AppError::Conflict(format!("subject {id} has no legal hold to lift")));
                }
                let key = keys.unwrap_key(&row.wrapped_key, id.as_bytes())?;
                let sealed = key.seal(&hold_aad(id), reason.as_bytes())?;
                let action = if set { HoldAction::Set } else { HoldAction::Lift };
                tx.insert_hold_event(&vigie_store::HoldEventRow {
                    id: vigie_store::new_id(),
                    subject_id: id,
                    action,
                    reason: key.seal(&hold_aad(id), reason.as_bytes())?,
                    at,
                    actor: actor.to_string(),
                })?;
                tx.set_legal_hold(id, set.then_some((sealed.as_slice(), at)))?;
                let entry =
                    Entry::new(if set { "legal_hold.set" } else { "legal_hold.lift" }).subject(id).fields(["reason"]);
                let recorded = trail.record(tx, entry)?;
                Ok((HoldView { subject_id: id, held: set, at }, recorded))
            })
            .await
    }

    /// A subject's legal hold and its history, reasons decrypted (DPO).
    /// The legal holds in place, the oldest first: ids and dates only (each one's reason and
    /// history are read, audited, on its own page).
    pub async fn legal_holds(&self, who: &Principal, limit: usize) -> Result<Vec<(Id, Option<DateTime<Utc>>)>> {
        who.require(&[Role::Dpo], "listing legal holds")?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db.read(move |tx| Ok::<_, AppError>(tx.legal_holds(limit)?)).await
    }

    pub async fn legal_hold_status(&self, who: &Principal, id: Id) -> Result<HoldStatus> {
        who.require(&[Role::Dpo], "reading a legal hold")?;
        let actor = who.actor();
        let (row, events) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let row = crate::record::load(tx, id)?;
                let events = tx.hold_events(id)?;
                let recorded = trail.record(tx, Entry::new("legal_hold.read").subject(id).fields(["reason"]))?;
                Ok(((row, events), recorded))
            })
            .await?;
        let open = |sealed: &[u8]| open_reason(&self.keys, id, &row.wrapped_key, sealed);
        Ok(HoldStatus {
            subject_id: id,
            held: row.legal_hold.is_some(),
            reason: row.legal_hold.as_deref().map(open).transpose()?,
            since: row.held_at,
            history: events
                .iter()
                .map(|e| Ok(HoldEvent { action: e.action, reason: open(&e.reason)?, at: e.at, actor: e.actor.clone() }))
                .collect::<Result<_>>()?,
        })
    }

    /// Runs the daily sweep if it is due and no other instance holds it.
    /// Returns the report when this instance ran it. When more than `max_share_percent`
    /// of all subjects are due at once, it erases nothing, records why in the audit
    /// trail, and leaves the date for the DPO to apply explicitly.
    pub async fn scheduled_sweep(&self, today: NaiveDate, max_share_percent: f64) -> Result<Option<ApplyReport>> {
        const JOB: &str = "retention-sweep";
        // The lease is short and renewed while the sweep runs: an instance that dies mid-sweep
        // frees the job within minutes, and one that lives keeps it however long it takes.
        const LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
        let owner = self.instance;
        if !self.db.bookkeeping(move |b| b.claim_job(JOB, today, owner, LEASE)).await? {
            return Ok(None);
        }
        let renewal = {
            let db = self.db.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(LEASE.to_std().unwrap_or_default() / 4);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    match db.bookkeeping(move |b| b.renew_job(JOB, owner, LEASE)).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::error!("the daily sweep's lease was lost: another instance may run it");
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "the daily sweep's lease could not be renewed"),
                    }
                }
            })
        };
        let report = match self.sweep_brake(today, max_share_percent).await {
            Ok(Some(brake)) => Ok(ApplyReport { at: today, erased: 0, held: 0, braked: Some(brake) }),
            Ok(None) => self.retention_apply(Actor::System, today).await,
            Err(e) => Err(e),
        };
        renewal.abort();
        let outcome = match &report {
            Ok(r) if r.braked.is_some() => "braked",
            Ok(_) => "done",
            Err(_) => "failed",
        };
        metrics::counter!("vigie_retention_sweeps_total", "outcome" => outcome).increment(1);
        // A failed sweep releases its lease without marking the day: it runs again, later today.
        let ran = report.is_ok();
        self.db
            .bookkeeping(move |b| if ran { b.finish_job(JOB, owner, today) } else { b.release_job(JOB, owner) })
            .await?;
        report.map(Some)
    }

    /// Whether the daily sweep must stop: records the brake in the audit trail when it does.
    async fn sweep_brake(&self, today: NaiveDate, max_share_percent: f64) -> Result<Option<Brake>> {
        self.db
            .audited(Actor::System, move |tx, trail| {
                let auto = i64::try_from(auto_holds(tx, today)?.len()).unwrap_or(0);
                let due = u64::try_from(tx.count_due(today)? - auto).unwrap_or(0);
                let subjects = u64::try_from(tx.count_subjects()?).unwrap_or(0);
                #[allow(clippy::cast_precision_loss)]
                let share = if subjects == 0 { 0.0 } else { due as f64 * 100.0 / subjects as f64 };
                if due == 0 || share <= max_share_percent {
                    return Ok((None, trail.nothing_changed()));
                }
                let message = format!(
                    "the daily sweep would erase {due} of {subjects} subjects ({share:.1}%, more than the {max_share_percent}% allowed \
                     in one run): nothing was erased. A policy revision that shortened a retention period is the usual cause; \
                     check the plan, then apply the date explicitly (vigie retention apply --at {today})"
                );
                let entry = Entry::new("retention.sweep_braked")
                    .outcome("refused")
                    .detail(format!("at={today} due={due} subjects={subjects} max_share={max_share_percent}"));
                let recorded = trail.record(tx, entry)?;
                Ok((Some(Brake { due, subjects, max_share_percent, message }), recorded))
            })
            .await
    }
}
