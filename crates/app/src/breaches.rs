//! Breaches (SPEC 4.6, policy section 7): the register of Art. 33(5), the
//! 72-hour clock to notify the authority, the subjects concerned computed
//! from the scope, the draft notification with the content of Art. 33(3), and
//! the notices to subjects when the risk is high (Art. 34), unless the data was
//! encrypted under keys that were not compromised (Art. 34(3)(a)), which Vigie
//! reports for the DPO to confirm.

use crate::App;
use crate::audit::Entry;
use crate::auth::Principal;
use crate::error::{AppError, Result};
use crate::input::parse_timestamp;
use crate::record::aad_for;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vigie_crypto::{MasterKey, Part, SubjectKey};
use vigie_domain::SubjectKind;
use vigie_domain::access::Role;
use vigie_domain::policy::DataCategory;
use vigie_domain::records::{BreachNature, BreachPhase, BreachRisk, BreachStatus, NoticeDecision};
use vigie_store::{BreachPhaseRow, BreachRow, ScopeCount, ScopeFilter, Tx, new_id};

pub const TEMPLATE: &str = "breach_notice";

/// Which subjects a breach concerns. Criteria combine (each narrows the set).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub subject_ids: Vec<String>,
    /// client, prospect.
    #[serde(default)]
    #[schema(value_type = Vec<SubjectKind>)]
    pub kinds: Vec<String>,
    /// Subjects collected in this period (RFC 3339 or dates).
    #[schema(format = DateTime)]
    pub collected_from: Option<String>,
    #[schema(format = DateTime)]
    pub collected_to: Option<String>,
    /// Everything disclosed to this recipient.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub recipient: Option<String>,
    /// Everything a token read or wrote (its id).
    #[schema(format = Uuid)]
    pub token: Option<String>,
    /// The time window for `recipient` and `token`.
    #[schema(format = DateTime)]
    pub from: Option<String>,
    #[schema(format = DateTime)]
    pub to: Option<String>,
    /// Every subject (an explicit choice: a scope is never empty by accident).
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBreach {
    #[schema(format = DateTime)]
    pub detected_at: String,
    /// confidentiality, integrity, availability.
    #[schema(value_type = Vec<BreachNature>, min_items = 1)]
    pub nature: Vec<String>,
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub description: String,
    /// identity, contact, professional, notes, contract, interactions.
    #[schema(value_type = Vec<DataCategory>)]
    pub data_categories: Vec<String>,
    pub scope: Scope,
    pub likely_consequences: Option<String>,
    pub measures: Option<String>,
    /// none, risk (default) or high.
    #[schema(value_type = Option<BreachRisk>)]
    pub risk: Option<String>,
    /// Whether the keys that protect the data were compromised too (default false).
    #[serde(default)]
    pub keys_compromised: bool,
}

/// The phases a caller adds (`initial` and `subjects_decision` are recorded by Vigie itself).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewPhaseKind {
    Update,
    AuthorityNotified,
    SubjectsNotified,
    Closed,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPhase {
    /// update, authority_notified, subjects_notified or closed.
    #[schema(value_type = NewPhaseKind)]
    pub phase: String,
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub details: String,
    /// For a late notification to the authority: why (Art. 33(1)).
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub late_reasons: Option<String>,
    /// For an update: new assessments.
    #[schema(value_type = Option<BreachRisk>)]
    pub risk: Option<String>,
    pub likely_consequences: Option<String>,
    pub measures: Option<String>,
    pub keys_compromised: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectsDecision {
    /// notify (queue the notices) or confirm_exemption (Art. 34(3)(a): encrypted, keys safe).
    #[schema(value_type = NoticeDecision)]
    pub decision: String,
}

/// The sealed free text of a breach.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Details {
    description: String,
    likely_consequences: Option<String>,
    measures: Option<String>,
    late_reasons: Option<String>,
    subjects: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhaseView {
    pub at: DateTime<Utc>,
    pub phase: BreachPhase,
    pub details: String,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BreachView {
    pub id: Uuid,
    pub detected_at: DateTime<Utc>,
    /// Detection + 72 hours (Art. 33(1)).
    pub notify_authority_by: DateTime<Utc>,
    /// Hours left before the authority must be notified (negative: late).
    pub hours_left: i64,
    pub authority_notified_at: Option<DateTime<Utc>>,
    pub late: bool,
    pub nature: Vec<BreachNature>,
    pub description: String,
    pub data_categories: Vec<DataCategory>,
    #[schema(value_type = Object)]
    pub scope: serde_json::Value,
    pub subjects_concerned: i64,
    pub records_concerned: i64,
    pub risk: BreachRisk,
    pub keys_compromised: bool,
    pub likely_consequences: Option<String>,
    pub measures: Option<String>,
    pub late_reasons: Option<String>,
    /// open, notified or closed.
    pub status: BreachStatus,
    /// What was done about informing the subjects (Art. 34).
    pub subjects_information: String,
    pub phases: Vec<PhaseView>,
}

fn breach_key(keys: &MasterKey, b: &BreachRow) -> Result<SubjectKey> {
    Ok(keys.unwrap_key(&b.wrapped_key, b.id.as_bytes())?)
}

fn seal_text(key: &SubjectKey, id: Uuid, what: Part, text: &str) -> Result<Vec<u8>> {
    Ok(key.seal(&aad_for(id, what, None), text.as_bytes())?)
}

fn open_text(key: &SubjectKey, id: Uuid, what: Part, sealed: &[u8]) -> Result<String> {
    String::from_utf8(key.open(&aad_for(id, what, None), sealed)?)
        .map_err(|_| AppError::Internal(format!("breach {id} {what}")))
}

fn details_of(key: &SubjectKey, b: &BreachRow) -> Result<Details> {
    serde_json::from_str(&open_text(key, b.id, Part::BreachDetails, &b.details)?)
        .map_err(|e| crate::error::undecodable(format_args!("the details of breach {}", b.id), &e))
}

/// The store's filter for a scope; its times may not be later than `now` (a recorded scope
/// was checked when it was recorded: it is read back with `DateTime::MAX_UTC`).
fn filter(scope: &Scope, now: DateTime<Utc>) -> Result<ScopeFilter> {
    let ts = |field: &str, v: &Option<String>| v.as_deref().map(|x| parse_timestamp(field, x, now)).transpose();
    let f = ScopeFilter {
        subject_ids: scope
            .subject_ids
            .iter()
            .map(|s| {
                Uuid::parse_str(s)
                    .map_err(|_| AppError::invalid("scope.subject_ids", "holds a value that is not a subject id"))
            })
            .collect::<Result<_>>()?,
        kinds: scope
            .kinds
            .iter()
            .map(|k| {
                k.parse::<SubjectKind>().map_err(|e| AppError::invalid("scope.kinds", format!("is not valid ({e})")))
            })
            .collect::<Result<_>>()?,
        collected_from: ts("scope.collected_from", &scope.collected_from)?,
        collected_to: ts("scope.collected_to", &scope.collected_to)?,
        recipient: scope.recipient.clone(),
        actor: scope
            .token
            .as_deref()
            .map(|t| {
                Uuid::parse_str(t)
                    .map(|id| format!("token:{id}"))
                    .map_err(|_| AppError::invalid("scope.token", "is not a token id"))
            })
            .transpose()?,
        window_from: ts("scope.from", &scope.from)?,
        window_to: ts("scope.to", &scope.to)?,
    };
    if f == ScopeFilter::default() && !scope.all {
        return Err(AppError::invalid(
            "scope",
            "names no criterion: give subject_ids, kinds, a collection period, a recipient or a token, or all: true",
        ));
    }
    Ok(f)
}

/// The scope of every breach not yet closed (still under investigation): its subjects
/// are held from the retention sweep, inside the caller's transaction.
pub(crate) fn open_scopes(tx: &mut dyn vigie_store::ReadTx) -> Result<Vec<(Uuid, ScopeFilter)>> {
    let mut out = Vec::new();
    for b in tx.breaches()? {
        if b.status == BreachStatus::Closed {
            continue;
        }
        let scope: Scope = serde_json::from_str(&b.scope)
            .map_err(|e| crate::error::undecodable(format_args!("the scope of breach {}", b.id), &e))?;
        out.push((b.id, filter(&scope, DateTime::<Utc>::MAX_UTC)?));
    }
    Ok(out)
}

/// Records concerned: one identity record per subject, plus the records of the categories concerned.
fn records(count: &ScopeCount, categories: &[DataCategory]) -> i64 {
    let has = |c: DataCategory| categories.contains(&c);
    count.subjects
        + if has(DataCategory::Contract) { count.contracts } else { 0 }
        + if has(DataCategory::Interactions) { count.interactions } else { 0 }
}

fn view(keys: &MasterKey, b: &BreachRow, phases: &[BreachPhaseRow], at: DateTime<Utc>) -> Result<BreachView> {
    let key = breach_key(keys, b)?;
    let d = details_of(&key, b)?;
    let due = b.detected_at + Duration::hours(72);
    let notified = phases.iter().find(|p| p.phase == BreachPhase::AuthorityNotified).map(|p| p.at);
    Ok(BreachView {
        id: b.id,
        detected_at: b.detected_at,
        notify_authority_by: due,
        hours_left: (due - at).num_hours(),
        authority_notified_at: notified,
        late: notified.map_or(at > due, |n| n > due),
        nature: b.nature.clone(),
        description: d.description,
        data_categories: b.data_categories.clone(),
        scope: serde_json::from_str(&b.scope).unwrap_or_default(),
        subjects_concerned: b.subjects_concerned,
        records_concerned: b.records_concerned,
        risk: b.risk,
        keys_compromised: b.keys_compromised,
        likely_consequences: d.likely_consequences,
        measures: d.measures,
        late_reasons: d.late_reasons,
        status: b.status,
        subjects_information: d.subjects.unwrap_or_else(|| information(b)),
        phases: phases
            .iter()
            .map(|p| {
                Ok(PhaseView {
                    at: p.at,
                    phase: p.phase,
                    details: open_text(&key, b.id, Part::BreachPhase, &p.details)?,
                    actor: p.actor.clone(),
                })
            })
            .collect::<Result<_>>()?,
    })
}

/// What Art. 34 asks of this breach, before the DPO decides.
fn information(b: &BreachRow) -> String {
    match (b.risk, b.keys_compromised) {
        (BreachRisk::High, false) => {
            "exemption_to_confirm: the data concerned is encrypted at rest under keys that were not compromised \
                            (Art. 34(3)(a)); the DPO confirms the exemption or has the subjects notified"
                .into()
        }
        (BreachRisk::High, true) => "to_notify: the risk is high and the keys were compromised".into(),
        _ => "not_required: the risk is not high".into(),
    }
}

impl App {
    /// Records a breach (DPO): computes its scope, starts its 72-hour clock, and when the risk
    /// is high and the keys were compromised, queues a notice to every subject concerned.
    pub async fn create_breach(&self, who: &Principal, input: NewBreach) -> Result<BreachView> {
        who.require(&[Role::Dpo], "recording a breach")?;
        let detected_at = parse_timestamp("detected_at", &input.detected_at, self.now())?;
        if input.nature.is_empty() {
            return Err(AppError::invalid(
                "nature",
                format!("names no nature (expected some of: {})", BreachNature::expected()),
            ));
        }
        let nature = input
            .nature
            .iter()
            .map(|n| {
                n.parse::<BreachNature>().map_err(|_| {
                    AppError::invalid("nature", format!("`{n}` is not one of: {}", BreachNature::expected()))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let categories = input
            .data_categories
            .iter()
            .map(|c| {
                c.parse::<DataCategory>()
                    .map_err(|e| AppError::invalid("data_categories", format!("`{c}` is not valid ({e})")))
            })
            .collect::<Result<Vec<_>>>()?;
        let risk = input.risk.as_deref().map_or(Ok(BreachRisk::Risk), parse_risk)?;
        let description = crate::input::check_text("description", &input.description, 10_000)?;
        let scope = filter(&input.scope, self.now())?;
        if let Some(r) = &scope.recipient
            && self.policy().recipient(r).is_none()
        {
            return Err(AppError::invalid("scope.recipient", format!("`{r}` is not a recipient of the policy")));
        }
        let id = new_id();
        let key = SubjectKey::generate()?;
        let details = Details {
            description,
            likely_consequences: input.likely_consequences,
            measures: input.measures,
            ..Details::default()
        };
        let at = self.now();
        let mut row = BreachRow {
            id,
            detected_at,
            nature,
            data_categories: categories.clone(),
            scope: serde_json::to_string(&input.scope).map_err(|e| AppError::failed("encoding JSON", e))?,
            risk,
            status: BreachStatus::Open,
            keys_compromised: input.keys_compromised,
            subjects_concerned: 0,
            records_concerned: 0,
            details: seal_text(
                &key,
                id,
                Part::BreachDetails,
                &serde_json::to_string(&details).map_err(|e| AppError::failed("encoding JSON", e))?,
            )?,
            wrapped_key: self.keys.wrap(&key, id.as_bytes())?,
            created_at: at,
            updated_at: at,
        };
        let phase_text = seal_text(&key, id, Part::BreachPhase, "recorded")?;
        let actor = who.actor();
        let (row, phases) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let count = tx.scope_count(&scope)?;
                row.subjects_concerned = count.subjects;
                row.records_concerned = records(&count, &categories);
                tx.insert_breach(&row)?;
                let phase = BreachPhaseRow {
                    id: new_id(),
                    breach_id: id,
                    at,
                    phase: BreachPhase::Initial,
                    details: phase_text.clone(),
                    actor: actor.to_string(),
                };
                tx.insert_breach_phase(&phase)?;
                if row.risk == BreachRisk::High && row.keys_compromised {
                    queue_notices(tx, &row, &scope, at)?;
                }
                let detail = format!("breach:{id} subjects={} risk={}", row.subjects_concerned, row.risk);
                let recorded = trail.record(tx, Entry::new("breach.create").detail(detail))?;
                Ok(((row.clone(), vec![phase]), recorded))
            })
            .await?;
        view(&self.keys, &row, &phases, self.now())
    }

    /// The breach register, most urgent first (DPO).
    pub async fn list_breaches(&self, who: &Principal) -> Result<Vec<BreachView>> {
        who.require(&[Role::Dpo], "reading the breach register")?;
        let actor = who.actor();
        let all = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut out = Vec::new();
                for b in tx.breaches()? {
                    let phases = tx.breach_phases(b.id)?;
                    out.push((b, phases));
                }
                let recorded = trail.record(tx, Entry::new("breaches.list"))?;
                Ok((out, recorded))
            })
            .await?;
        let at = self.now();
        let mut views = all.iter().map(|(b, p)| view(&self.keys, b, p, at)).collect::<Result<Vec<_>>>()?;
        views.sort_by_key(|v| {
            (v.authority_notified_at.is_some() || v.status == BreachStatus::Closed, v.notify_authority_by)
        });
        Ok(views)
    }

    async fn load_breach(
        &self,
        who: &Principal,
        id: Uuid,
        action: &'static str,
    ) -> Result<(BreachRow, Vec<BreachPhaseRow>)> {
        who.require(&[Role::Dpo], "reading a breach")?;
        let actor = who.actor();
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let b = tx.breach(id)?.ok_or_else(|| AppError::NotFound(format!("breach {id}")))?;
                let phases = tx.breach_phases(id)?;
                let recorded = trail.record(tx, Entry::new(action).detail(format!("breach:{id}")))?;
                Ok(((b, phases), recorded))
            })
            .await
    }

    pub async fn get_breach(&self, who: &Principal, id: Uuid) -> Result<BreachView> {
        let (b, p) = self.load_breach(who, id, "breach.read").await?;
        view(&self.keys, &b, &p, self.now())
    }

    /// Adds a dated phase (DPO): an update of the assessment, the notification to the authority
    /// (with reasons when late), the information of subjects, or the closing.
    pub async fn add_breach_phase(&self, who: &Principal, id: Uuid, input: NewPhase) -> Result<BreachView> {
        who.require(&[Role::Dpo], "updating a breach")?;
        let phase =
            input.phase.parse::<BreachPhase>().ok().filter(|p| BreachPhase::ADDED.contains(p)).ok_or_else(|| {
                AppError::invalid("phase", "must be one of: update, authority_notified, subjects_notified, closed")
            })?;
        let risk = input.risk.as_deref().map(parse_risk).transpose()?;
        let text = crate::input::check_text("details", &input.details, 10_000)?;
        let (keys, actor) = (self.keys.clone(), who.actor());
        let (row, phases) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut b = tx.breach(id)?.ok_or_else(|| AppError::NotFound(format!("breach {id}")))?;
                let key = breach_key(&keys, &b)?;
                let mut d = details_of(&key, &b)?;
                let at = trail.at;
                if phase == BreachPhase::AuthorityNotified {
                    if tx.breach_phases(id)?.iter().any(|p| p.phase == BreachPhase::AuthorityNotified) {
                        return Err(AppError::Conflict(format!("breach {id}: the authority was already notified")));
                    }
                    let late = at > b.detected_at + Duration::hours(72);
                    match (&input.late_reasons, late) {
                        (None, true) => {
                            return Err(AppError::invalid(
                                "late_reasons",
                                "the 72 hours have passed: a late notification gives its reasons (Art. 33(1))",
                            ));
                        }
                        (Some(r), _) => d.late_reasons = Some(crate::input::check_text("late_reasons", r, 10_000)?),
                        (None, false) => {}
                    }
                    b.status = BreachStatus::Notified;
                }
                if phase == BreachPhase::Closed {
                    b.status = BreachStatus::Closed;
                }
                if let Some(r) = risk {
                    b.risk = r;
                }
                if let Some(k) = input.keys_compromised {
                    b.keys_compromised = k;
                }
                if input.likely_consequences.is_some() {
                    d.likely_consequences = input.likely_consequences.clone();
                }
                if input.measures.is_some() {
                    d.measures = input.measures.clone();
                }
                b.details = seal_text(
                    &key,
                    id,
                    Part::BreachDetails,
                    &serde_json::to_string(&d).map_err(|e| AppError::failed("encoding JSON", e))?,
                )?;
                b.updated_at = at;
                tx.update_breach(&b)?;
                let phase = BreachPhaseRow {
                    id: new_id(),
                    breach_id: id,
                    at,
                    phase,
                    details: seal_text(&key, id, Part::BreachPhase, &text)?,
                    actor: actor.to_string(),
                };
                tx.insert_breach_phase(&phase)?;
                let recorded = trail
                    .record(tx, Entry::new("breach.phase").detail(format!("breach:{id} phase={}", phase.phase)))?;
                Ok(((b, tx.breach_phases(id)?), recorded))
            })
            .await?;
        view(&self.keys, &row, &phases, self.now())
    }

    /// The DPO's decision on informing the subjects of a high-risk breach: notify them, or
    /// confirm the Art. 34(3)(a) exemption (data encrypted, keys not compromised).
    pub async fn decide_subjects(&self, who: &Principal, id: Uuid, input: SubjectsDecision) -> Result<BreachView> {
        who.require(&[Role::Dpo], "deciding on informing subjects")?;
        let decision: NoticeDecision =
            input.decision.parse().map_err(|_| AppError::invalid("decision", "must be notify or confirm_exemption"))?;
        let (keys, actor) = (self.keys.clone(), who.actor());
        let (row, phases) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut b = tx.breach(id)?.ok_or_else(|| AppError::NotFound(format!("breach {id}")))?;
                if b.risk != BreachRisk::High {
                    return Err(AppError::Conflict(format!(
                        "breach {id}: the risk is not high, so Art. 34 does not apply"
                    )));
                }
                if decision == NoticeDecision::ConfirmExemption && b.keys_compromised {
                    return Err(AppError::Conflict(format!(
                        "breach {id}: the keys were compromised, so the encryption exemption does not apply"
                    )));
                }
                let key = breach_key(&keys, &b)?;
                let mut d = details_of(&key, &b)?;
                let at = trail.at;
                let note = if decision == NoticeDecision::Notify {
                    let scope: Scope = serde_json::from_str(&b.scope)
                        .map_err(|e| crate::error::undecodable(format_args!("the scope of breach {}", b.id), &e))?;
                    let queued = queue_notices(tx, &b, &filter(&scope, DateTime::<Utc>::MAX_UTC)?, at)?;
                    format!("notified: {queued} notices queued to the subjects concerned")
                } else {
                    "exemption_confirmed: encrypted at rest under keys that were not compromised (Art. 34(3)(a))"
                        .to_string()
                };
                d.subjects = Some(note.clone());
                b.details = seal_text(
                    &key,
                    id,
                    Part::BreachDetails,
                    &serde_json::to_string(&d).map_err(|e| AppError::failed("encoding JSON", e))?,
                )?;
                b.updated_at = at;
                tx.update_breach(&b)?;
                let phase = BreachPhaseRow {
                    id: new_id(),
                    breach_id: id,
                    at,
                    phase: BreachPhase::SubjectsDecision,
                    details: seal_text(&key, id, Part::BreachPhase, &note)?,
                    actor: actor.to_string(),
                };
                tx.insert_breach_phase(&phase)?;
                let recorded = trail
                    .record(tx, Entry::new("breach.subjects").detail(format!("breach:{id} decision={decision}")))?;
                Ok(((b, tx.breach_phases(id)?), recorded))
            })
            .await?;
        view(&self.keys, &row, &phases, self.now())
    }

    /// The draft notification to the authority, with the content of Art. 33(3) (DPO).
    pub async fn breach_notification(&self, who: &Principal, id: Uuid) -> Result<serde_json::Value> {
        let (b, p) = self.load_breach(who, id, "breach.notification").await?;
        let v = view(&self.keys, &b, &p, self.now())?;
        let policy = self.policy();
        Ok(serde_json::json!({
            "controller": {"name": policy.controller.name, "address": policy.controller.address.clone().unwrap_or_else(|| "à compléter / to be completed".into())},
            "breach": v.id,
            "detected_at": v.detected_at,
            "notify_authority_by": v.notify_authority_by,
            "late": v.late,
            "late_reasons": v.late_reasons,
            "nature": v.nature,
            "description": v.description,
            "data_categories": v.data_categories,
            "subjects_concerned": v.subjects_concerned,
            "records_concerned": v.records_concerned,
            "dpo": {"name": policy.dpo.name, "email": policy.dpo.email, "address": policy.dpo.address},
            "likely_consequences": v.likely_consequences,
            "measures": v.measures,
            "risk": v.risk,
            "subjects_information": v.subjects_information,
        }))
    }

    /// The plain-language notice for one subject of a breach (outbox rendering).
    pub(crate) async fn breach_notice_text(&self, breach: Uuid) -> Result<(String, String)> {
        let b = self
            .db
            .read(move |tx| Ok::<_, AppError>(tx.breach(breach)?))
            .await?
            .ok_or_else(|| AppError::NotFound(format!("breach {breach}")))?;
        let d = details_of(&breach_key(&self.keys, &b)?, &b)?;
        Ok((d.likely_consequences.unwrap_or_default(), d.measures.unwrap_or_default()))
    }
}

/// A risk of the input; the error names the accepted set.
fn parse_risk(raw: &str) -> Result<BreachRisk> {
    raw.parse().map_err(|_| AppError::invalid("risk", "must be one of: none, risk, high"))
}

fn queue_notices(tx: &mut dyn Tx, b: &BreachRow, scope: &ScopeFilter, at: DateTime<Utc>) -> Result<u64> {
    let params = serde_json::json!({ "breach": b.id.to_string() }).to_string();
    Ok(tx.queue_for_scope(scope, TEMPLATE, &params, &format!("breach:{}:", b.id), at)?)
}
