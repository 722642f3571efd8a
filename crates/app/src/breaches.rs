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
use vigie_domain::records::{BreachKeys, BreachNature, BreachPhase, BreachRisk, BreachStatus, NoticeDecision};
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
    /// The likely consequences for the people concerned, in words they can read (Art. 33(3)(c), 34(2)).
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub likely_consequences: Option<String>,
    /// The measures taken or proposed, including to mitigate the effects (Art. 33(3)(d), 34(2)).
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub measures: Option<String>,
    /// none, risk (default) or high.
    #[schema(value_type = Option<BreachRisk>)]
    pub risk: Option<String>,
    /// Whether the keys that protect the data were compromised too: yes, no or unknown
    /// (required; only `no` allows the Art. 34(3)(a) exemption).
    #[schema(required = true, value_type = BreachKeys)]
    pub keys_compromised: Option<String>,
    /// With risk `none`: why the authority is not notified (Art. 33(1), documented under Art. 33(5)).
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub no_notification_reasons: Option<String>,
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
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub likely_consequences: Option<String>,
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub measures: Option<String>,
    /// yes, no or unknown.
    #[schema(value_type = Option<BreachKeys>)]
    pub keys_compromised: Option<String>,
    /// Why the authority is not notified, when the risk is (or becomes) `none` (Art. 33(5)).
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub no_notification_reasons: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectsDecision {
    /// notify (queue the notices), confirm_exemption (Art. 34(3)(a): encrypted, keys safe),
    /// measures_taken (Art. 34(3)(b)), public_communication (Art. 34(3)(c)) or other_channel
    /// (the subjects without an email told another way).
    #[schema(value_type = NoticeDecision)]
    pub decision: String,
    /// Why and how: required for measures_taken, public_communication and other_channel
    /// (sealed, never in the audit trail).
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub justification: Option<String>,
}

/// The sealed free text of a breach.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Details {
    description: String,
    likely_consequences: Option<String>,
    measures: Option<String>,
    late_reasons: Option<String>,
    subjects: Option<String>,
    #[serde(default)]
    no_notification_reasons: Option<String>,
    #[serde(default)]
    decisions: Vec<DecisionView>,
}

/// A recorded decision on informing the subjects (Art. 34).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionView {
    pub at: DateTime<Utc>,
    pub decision: NoticeDecision,
    /// The DPO's justification (Art. 34(3)(b), (c), another channel).
    pub justification: Option<String>,
    /// For `notify`: the notices queued, and the subjects concerned without an email address.
    pub notices_queued: Option<u64>,
    pub unreachable: Option<i64>,
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
    /// The categories of data subjects concerned, when the breach was recorded (Art. 33(3)(a)).
    pub clients_concerned: i64,
    pub prospects_concerned: i64,
    pub records_concerned: i64,
    pub risk: BreachRisk,
    pub keys_compromised: BreachKeys,
    pub likely_consequences: Option<String>,
    pub measures: Option<String>,
    pub late_reasons: Option<String>,
    /// Why the authority is not notified (risk `none`, Art. 33(5)).
    pub no_notification_reasons: Option<String>,
    /// The subjects concerned without an email address at the last `notify` decision
    /// (null before): they must be told another way or by a public communication (Art. 34(3)(c)).
    pub unreachable: Option<i64>,
    /// Whether those subjects still wait for a recorded public communication or other channel.
    pub unreachable_pending: bool,
    /// The decisions on informing the subjects, in order.
    pub decisions: Vec<DecisionView>,
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
        // A breach unlikely to result in a risk is not notified (Art. 33(1)): never late.
        late: b.risk != BreachRisk::None && notified.map_or(at > due, |n| n > due),
        nature: b.nature.clone(),
        description: d.description.clone(),
        data_categories: b.data_categories.clone(),
        scope: serde_json::from_str(&b.scope).unwrap_or_default(),
        subjects_concerned: b.subjects_concerned,
        clients_concerned: b.clients_concerned,
        prospects_concerned: b.prospects_concerned,
        records_concerned: b.records_concerned,
        risk: b.risk,
        keys_compromised: b.keys_compromised,
        likely_consequences: d.likely_consequences.clone(),
        measures: d.measures.clone(),
        late_reasons: d.late_reasons.clone(),
        no_notification_reasons: d.no_notification_reasons.clone(),
        unreachable: unreachable(&d),
        unreachable_pending: unreachable_pending(&d),
        status: b.status,
        subjects_information: information(b, &d)?,
        decisions: d.decisions.clone(),
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

/// The subjects without an email at the last `notify` decision.
fn unreachable(d: &Details) -> Option<i64> {
    d.decisions.iter().rev().find(|x| x.decision == NoticeDecision::Notify).and_then(|x| x.unreachable)
}

/// Whether subjects left without a notice still wait for another channel or a public
/// communication recorded after the last `notify`.
fn unreachable_pending(d: &Details) -> bool {
    let Some(last) = d.decisions.iter().rposition(|x| x.decision == NoticeDecision::Notify) else {
        return false;
    };
    d.decisions[last].unreachable.unwrap_or(0) > 0
        && !d.decisions[last..]
            .iter()
            .any(|x| matches!(x.decision, NoticeDecision::PublicCommunication | NoticeDecision::OtherChannel))
}

/// Whether the breach's scope is data read out of Vigie's API (by a token or a recipient):
/// such data left decrypted, whatever the encryption at rest.
fn read_through_api(scope: &Scope) -> bool {
    scope.token.is_some() || scope.recipient.is_some()
}

fn scope_of(b: &BreachRow) -> Result<Scope> {
    serde_json::from_str(&b.scope)
        .map_err(|e| crate::error::undecodable(format_args!("the scope of breach {}", b.id), &e))
}

/// Why the Art. 34(3)(a) exemption does not apply to this breach, if it does not.
fn no_encryption_exemption(b: &BreachRow) -> Result<Option<&'static str>> {
    Ok(match b.keys_compromised {
        BreachKeys::Yes => Some("the keys were compromised"),
        BreachKeys::Unknown => {
            Some("whether the keys were compromised is unknown (keys_compromised must be `no` for the exemption)")
        }
        BreachKeys::No if read_through_api(&scope_of(b)?) => Some(
            "the scope went through a token or a recipient: the data left decrypted through Vigie's API, \
             so its encryption at rest does not protect it",
        ),
        BreachKeys::No => None,
    })
}

/// What Art. 34 asks of this breach, and what was done.
fn information(b: &BreachRow, d: &Details) -> Result<String> {
    let pending = |text: String| {
        if unreachable_pending(d) {
            format!(
                "{text}; {} subject(s) have no email address: record a public communication or another channel \
                 (Art. 34(3)(c))",
                unreachable(d).unwrap_or(0)
            )
        } else {
            text
        }
    };
    if let Some(last) = d.decisions.last() {
        let text = match last.decision {
            NoticeDecision::Notify => {
                format!("notified: {} notices queued to the subjects concerned", last.notices_queued.unwrap_or(0))
            }
            NoticeDecision::ConfirmExemption => {
                "exemption_confirmed: encrypted at rest under keys that were not compromised (Art. 34(3)(a))".into()
            }
            NoticeDecision::MeasuresTaken => {
                "exemption_measures: subsequent measures make the high risk no longer likely (Art. 34(3)(b))".into()
            }
            NoticeDecision::PublicCommunication => "public_communication: recorded (Art. 34(3)(c))".into(),
            NoticeDecision::OtherChannel => "other_channel: the subjects without an email were told another way".into(),
        };
        return Ok(pending(text));
    }
    if let Some(note) = &d.subjects {
        return Ok(note.clone());
    }
    Ok(match (b.risk, no_encryption_exemption(b)?) {
        (BreachRisk::High, None) => {
            "exemption_to_confirm: the data concerned is encrypted at rest under keys that were \
             not compromised (Art. 34(3)(a)); the DPO confirms the exemption or has the subjects notified"
                .into()
        }
        (BreachRisk::High, Some(why)) => format!(
            "to_notify: the risk is high and {why}; the DPO has the subjects notified, or records that subsequent \
             measures make the risk no longer likely (Art. 34(3)(b)) or a public communication (Art. 34(3)(c))"
        ),
        _ => "not_required: the risk is not high".into(),
    })
}

/// A free text of the input, checked, when given.
fn text(field: &str, v: &Option<String>) -> Result<Option<String>> {
    v.as_deref().map(|t| crate::input::check_text(field, t, 10_000)).transpose()
}

fn parse_keys(raw: &str) -> Result<BreachKeys> {
    raw.parse().map_err(|_| AppError::invalid("keys_compromised", "must be one of: yes, no, unknown"))
}

fn seal_details(key: &SubjectKey, id: Uuid, d: &Details) -> Result<Vec<u8>> {
    seal_text(
        key,
        id,
        Part::BreachDetails,
        &serde_json::to_string(d).map_err(|e| AppError::failed("encoding JSON", e))?,
    )
}

/// Queues the notices of a breach whose Art. 34(2) content is complete, and records the decision.
fn notify(tx: &mut dyn Tx, b: &BreachRow, d: &mut Details, at: DateTime<Utc>) -> Result<DecisionView> {
    for (field, v) in [("likely_consequences", &d.likely_consequences), ("measures", &d.measures)] {
        if v.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(AppError::invalid(
                field,
                "is empty: a notice to the subjects states the likely consequences and the measures taken or \
                 proposed (Art. 34(2)); record them with an update phase first",
            ));
        }
    }
    let scope = filter(&scope_of(b)?, DateTime::<Utc>::MAX_UTC)?;
    let count = tx.scope_count(&scope)?;
    let queued = queue_notices(tx, b, &scope, at)?;
    let decision = DecisionView {
        at,
        decision: NoticeDecision::Notify,
        justification: None,
        notices_queued: Some(queued),
        unreachable: Some(count.subjects - count.with_email),
    };
    d.decisions.push(decision.clone());
    Ok(decision)
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
        let keys = parse_keys(input.keys_compromised.as_deref().ok_or_else(|| {
            AppError::invalid(
                "keys_compromised",
                "is required: yes, no or unknown (whether the keys protecting the data were compromised too; \
                 only no allows the Art. 34(3)(a) exemption)",
            )
        })?)?;
        let description = crate::input::check_text("description", &input.description, 10_000)?;
        let likely_consequences = text("likely_consequences", &input.likely_consequences)?;
        let measures = text("measures", &input.measures)?;
        let no_notification_reasons = text("no_notification_reasons", &input.no_notification_reasons)?;
        if risk == BreachRisk::None && no_notification_reasons.is_none() {
            return Err(AppError::invalid(
                "no_notification_reasons",
                "is required with risk none: why the breach is unlikely to result in a risk and the authority \
                 is not notified (Art. 33(1), documented under Art. 33(5))",
            ));
        }
        let scope = filter(&input.scope, self.now())?;
        if let Some(r) = &scope.recipient
            && self.policy().recipient(r).is_none()
        {
            return Err(AppError::invalid("scope.recipient", format!("`{r}` is not a recipient of the policy")));
        }
        let id = new_id();
        let key = SubjectKey::generate()?;
        let details =
            Details { description, likely_consequences, measures, no_notification_reasons, ..Details::default() };
        let at = self.now();
        let mut row = BreachRow {
            id,
            detected_at,
            nature,
            data_categories: categories.clone(),
            scope: serde_json::to_string(&input.scope).map_err(|e| AppError::failed("encoding JSON", e))?,
            risk,
            status: BreachStatus::Open,
            keys_compromised: keys,
            subjects_concerned: 0,
            records_concerned: 0,
            clients_concerned: 0,
            prospects_concerned: 0,
            details: Vec::new(),
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
                row.clients_concerned = count.clients;
                row.prospects_concerned = count.prospects;
                row.records_concerned = records(&count, &categories);
                // Keys compromised and the notice's content complete: the subjects are notified
                // at once; otherwise the DPO decides (Art. 34(3)).
                let mut details = details.clone(); // the closure may run again (a retried transaction)
                let complete = details.likely_consequences.is_some() && details.measures.is_some();
                if row.risk == BreachRisk::High && row.keys_compromised == BreachKeys::Yes && complete {
                    notify(tx, &row, &mut details, at)?;
                }
                row.details = seal_details(&key, id, &details)?;
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
        let keys_compromised = input.keys_compromised.as_deref().map(parse_keys).transpose()?;
        let text_ = crate::input::check_text("details", &input.details, 10_000)?;
        let likely_consequences = text("likely_consequences", &input.likely_consequences)?;
        let measures = text("measures", &input.measures)?;
        let no_notification_reasons = text("no_notification_reasons", &input.no_notification_reasons)?;
        let late_reasons = text("late_reasons", &input.late_reasons)?;
        let (keys, actor) = (self.keys.clone(), who.actor());
        let (row, phases) = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let mut b = tx.breach(id)?.ok_or_else(|| AppError::NotFound(format!("breach {id}")))?;
                let key = breach_key(&keys, &b)?;
                let mut d = details_of(&key, &b)?;
                let at = trail.at;
                if let Some(r) = risk {
                    b.risk = r;
                }
                let notified = tx.breach_phases(id)?.iter().any(|p| p.phase == BreachPhase::AuthorityNotified);
                if phase == BreachPhase::AuthorityNotified {
                    if notified {
                        return Err(AppError::Conflict(format!("breach {id}: the authority was already notified")));
                    }
                    let late = b.risk != BreachRisk::None && at > b.detected_at + Duration::hours(72);
                    match (&late_reasons, late) {
                        (None, true) => {
                            return Err(AppError::invalid(
                                "late_reasons",
                                "the 72 hours have passed: a late notification gives its reasons (Art. 33(1))",
                            ));
                        }
                        (Some(r), _) => d.late_reasons = Some(r.clone()),
                        (None, false) => {}
                    }
                    b.status = BreachStatus::Notified;
                }
                if no_notification_reasons.is_some() {
                    d.no_notification_reasons = no_notification_reasons.clone();
                }
                if b.risk == BreachRisk::None
                    && !notified
                    && phase != BreachPhase::AuthorityNotified
                    && d.no_notification_reasons.is_none()
                {
                    return Err(AppError::invalid(
                        "no_notification_reasons",
                        "is required with risk none while the authority was not notified: why the breach is \
                         unlikely to result in a risk (Art. 33(1), documented under Art. 33(5))",
                    ));
                }
                if phase == BreachPhase::Closed {
                    b.status = BreachStatus::Closed;
                }
                if let Some(k) = keys_compromised {
                    b.keys_compromised = k;
                }
                if likely_consequences.is_some() {
                    d.likely_consequences = likely_consequences.clone();
                }
                if measures.is_some() {
                    d.measures = measures.clone();
                }
                b.details = seal_details(&key, id, &d)?;
                b.updated_at = at;
                tx.update_breach(&b)?;
                let phase = BreachPhaseRow {
                    id: new_id(),
                    breach_id: id,
                    at,
                    phase,
                    details: seal_text(&key, id, Part::BreachPhase, &text_)?,
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

    /// The DPO's decision on informing the subjects of a high-risk breach (Art. 34): notify
    /// them; confirm the Art. 34(3)(a) exemption (data encrypted, keys known safe, not read out
    /// through the API); record that subsequent measures make the risk no longer likely
    /// (34(3)(b)), a public communication (34(3)(c)) or another channel for the subjects
    /// without an email, each with its justification. One audited transaction.
    pub async fn decide_subjects(&self, who: &Principal, id: Uuid, input: SubjectsDecision) -> Result<BreachView> {
        who.require(&[Role::Dpo], "deciding on informing subjects")?;
        let decision: NoticeDecision = input
            .decision
            .parse()
            .map_err(|_| AppError::invalid("decision", format!("must be one of: {}", NoticeDecision::expected())))?;
        let justification = text("justification", &input.justification)?;
        let needs_justification = matches!(
            decision,
            NoticeDecision::MeasuresTaken | NoticeDecision::PublicCommunication | NoticeDecision::OtherChannel
        );
        if needs_justification && justification.is_none() {
            return Err(AppError::invalid(
                "justification",
                "is required for this decision: the measures that make the high risk no longer likely \
                 (Art. 34(3)(b)), or the public communication or channel used and why (Art. 34(3)(c))",
            ));
        }
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
                let key = breach_key(&keys, &b)?;
                let mut d = details_of(&key, &b)?;
                let notified = d.decisions.iter().any(|x| x.decision == NoticeDecision::Notify);
                match decision {
                    NoticeDecision::ConfirmExemption => {
                        if let Some(why) = no_encryption_exemption(&b)? {
                            return Err(AppError::Conflict(format!(
                                "breach {id}: {why}, so the encryption exemption (Art. 34(3)(a)) does not apply: \
                                 the subjects must be notified"
                            )));
                        }
                    }
                    NoticeDecision::OtherChannel if !unreachable_pending(&d) => {
                        return Err(AppError::Conflict(format!(
                            "breach {id}: no subject waits for another channel (decide notify first; it counts the \
                             subjects without an email)"
                        )));
                    }
                    _ => {}
                }
                if notified && matches!(decision, NoticeDecision::ConfirmExemption | NoticeDecision::MeasuresTaken) {
                    return Err(AppError::Conflict(format!(
                        "breach {id}: the subjects were already notified, an exemption can no longer be recorded"
                    )));
                }
                let at = trail.at;
                let recorded = if decision == NoticeDecision::Notify {
                    notify(tx, &b, &mut d, at)?
                } else {
                    let r = DecisionView {
                        at,
                        decision,
                        justification: justification.clone(),
                        notices_queued: None,
                        unreachable: None,
                    };
                    d.decisions.push(r.clone());
                    r
                };
                let note = information(&b, &d)?;
                b.details = seal_details(&key, id, &d)?;
                b.updated_at = at;
                tx.update_breach(&b)?;
                let phase_text = match &recorded.justification {
                    Some(j) => format!("{note}\n{j}"),
                    None => note,
                };
                let phase = BreachPhaseRow {
                    id: new_id(),
                    breach_id: id,
                    at,
                    phase: BreachPhase::SubjectsDecision,
                    details: seal_text(&key, id, Part::BreachPhase, &phase_text)?,
                    actor: actor.to_string(),
                };
                tx.insert_breach_phase(&phase)?;
                let mut detail = format!("breach:{id} decision={decision}");
                if let (Some(q), Some(u)) = (recorded.notices_queued, recorded.unreachable) {
                    detail.push_str(&format!(" queued={q} unreachable={u}"));
                }
                let recorded = trail.record(tx, Entry::new("breach.subjects").detail(detail))?;
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
            "subject_categories": [
                {"category": "client", "label": "Clients / Clients", "count": v.clients_concerned},
                {"category": "prospect", "label": "Prospects et contacts / Prospects and contacts", "count": v.prospects_concerned},
            ],
            "records_concerned": v.records_concerned,
            "dpo": {"name": policy.dpo.name, "email": policy.dpo.email, "address": policy.dpo.address},
            "likely_consequences": v.likely_consequences,
            "measures": v.measures,
            "risk": v.risk,
            "no_notification_reasons": v.no_notification_reasons,
            "subjects_information": v.subjects_information,
            "unreachable": v.unreachable,
        }))
    }

    /// The draft notification to the CNIL as a standalone document (DPO), in French unless asked
    /// in English: the same content as [`App::breach_notification`], in words.
    pub async fn breach_notification_html(
        &self,
        who: &Principal,
        id: Uuid,
        lang: vigie_domain::Lang,
    ) -> Result<String> {
        let (b, p) = self.load_breach(who, id, "breach.notification").await?;
        let v = view(&self.keys, &b, &p, self.now())?;
        let policy = self.policy();
        let draft = vigie_ui::breach::CnilDraft {
            t: vigie_ui::Tr(lang),
            standalone: true,
            controller: policy.controller.name.clone(),
            controller_address: policy.controller.address.clone(),
            detected_at: v.detected_at,
            notify_by: v.notify_authority_by,
            late: v.late,
            late_reasons: v.late_reasons,
            nature: v.nature.iter().map(|n| n.as_str()).collect(),
            description: v.description,
            categories: v.data_categories.iter().map(|c| c.as_str()).collect(),
            subjects: v.subjects_concerned,
            clients: v.clients_concerned,
            prospects: v.prospects_concerned,
            records: v.records_concerned,
            dpo_name: policy.dpo.name.clone(),
            dpo_email: policy.dpo.email.clone(),
            dpo_address: policy.dpo.address.clone(),
            consequences: v.likely_consequences,
            measures: v.measures,
            risk: v.risk.as_str(),
            no_notification_reasons: v.no_notification_reasons,
            decisions: v
                .decisions
                .iter()
                .map(|d| vigie_ui::breach::Decision {
                    at: d.at,
                    decision: d.decision.as_str(),
                    justification: d.justification.clone(),
                    notices_queued: d.notices_queued,
                })
                .collect(),
            unreachable: v.unreachable,
        };
        vigie_ui::Template::render(&draft).map_err(|e| AppError::failed("rendering the CNIL draft", e))
    }

    /// The Art. 34(2) content of the notice to one subject of a breach (outbox rendering):
    /// the nature of the breach and the data concerned in plain words (French, English), the
    /// date, the likely consequences and the measures as the DPO wrote them.
    pub(crate) async fn breach_notice_text(&self, breach: Uuid) -> Result<NoticeContent> {
        let b = self
            .db
            .read(move |tx| Ok::<_, AppError>(tx.breach(breach)?))
            .await?
            .ok_or_else(|| AppError::NotFound(format!("breach {breach}")))?;
        let d = details_of(&breach_key(&self.keys, &b)?, &b)?;
        let (nature_fr, nature_en): (Vec<_>, Vec<_>) = b.nature.iter().map(|n| nature_words(*n)).unzip();
        let (categories_fr, categories_en): (Vec<_>, Vec<_>) =
            b.data_categories.iter().map(|c| category_words(*c)).unzip();
        Ok(NoticeContent {
            detected_on: b.detected_at.format("%d/%m/%Y").to_string(),
            nature_fr: nature_fr.join(" ; "),
            nature_en: nature_en.join("; "),
            categories_fr: if categories_fr.is_empty() { "vos données".into() } else { categories_fr.join(", ") },
            categories_en: if categories_en.is_empty() { "your data".into() } else { categories_en.join(", ") },
            consequences: d.likely_consequences.unwrap_or_default(),
            measures: d.measures.unwrap_or_default(),
        })
    }
}

/// What a breach notice tells its subject (Art. 34(2)).
pub(crate) struct NoticeContent {
    pub detected_on: String,
    pub nature_fr: String,
    pub nature_en: String,
    pub categories_fr: String,
    pub categories_en: String,
    pub consequences: String,
    pub measures: String,
}

fn nature_words(n: BreachNature) -> (&'static str, &'static str) {
    match n {
        BreachNature::Confidentiality => (
            "des personnes non autorisées ont pu accéder à certaines de vos données ou en prendre connaissance",
            "people without authorisation may have accessed or seen some of your data",
        ),
        BreachNature::Integrity => (
            "certaines de vos données ont pu être modifiées sans autorisation",
            "some of your data may have been altered without authorisation",
        ),
        BreachNature::Availability => (
            "certaines de vos données ont pu être perdues ou rendues inaccessibles",
            "some of your data may have been lost or made unavailable",
        ),
    }
}

fn category_words(c: DataCategory) -> (&'static str, &'static str) {
    match c {
        DataCategory::Identity => {
            ("votre identité (civilité, prénom, nom)", "your identity (title, first and last name)")
        }
        DataCategory::Contact => (
            "vos coordonnées (adresse électronique, téléphone, adresse postale)",
            "your contact details (email address, phone, postal address)",
        ),
        DataCategory::Professional => {
            ("votre vie professionnelle (entreprise, fonction)", "your professional details (company, job title)")
        }
        DataCategory::Notes => ("les notes prises par nos employés", "the notes our employees wrote"),
        DataCategory::Contract => ("vos contrats (référence et dates)", "your contracts (reference and dates)"),
        DataCategory::Interactions => ("nos échanges avec vous", "our exchanges with you"),
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
