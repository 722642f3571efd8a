//! `/console/breaches` (DPO): the breach register with each breach's 72-hour clock, the form
//! recording a breach, one breach with its phases, the decision on informing the people
//! (Art. 34), the notification to the authority or why there is none (Art. 33), and the CNIL
//! draft. Every action calls the service behind the same API route (`web/src/breaches.rs`).

use super::{Console, Posted, render, see_other, with_status};
use crate::State;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use uuid::Uuid;
use vigie_app::AppError;
use vigie_app::breaches::{BreachView, NewBreach, NewPhase, Scope, SubjectsDecision};
use vigie_domain::records::{BreachPhase, BreachStatus};
use vigie_ui::console::breaches::{
    BreachDraft, BreachLine, BreachPage, BreachesPage, CATEGORIES, Clock, DecisionLine, KINDS, NATURES, PhaseLine,
    ScopeWords,
};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/breaches", get(list).post(create))
        .route("/console/breaches/{id}", get(one))
        .route("/console/breaches/{id}/phases", post(phase))
        .route("/console/breaches/{id}/subjects", post(subjects))
        .route("/console/breaches/{id}/cnil", get(cnil))
}

type Form = HashMap<String, String>;
type S = axum::extract::State<State>;

/// A field of the form, trimmed; `None` when empty or absent.
fn field(form: &Form, name: &str) -> Option<String> {
    form.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn ticked(form: &Form, name: &str) -> bool {
    form.get(name).is_some_and(|v| !v.is_empty())
}

/// A `datetime-local` value (`2026-12-07T14:05`, in UTC as the page says) as RFC 3339; any
/// other text is passed on for the service to judge.
fn timestamp(raw: &str) -> String {
    let raw = raw.trim();
    match raw.len() {
        16 if raw.as_bytes().get(10) == Some(&b'T') => format!("{raw}:00Z"),
        19 if raw.as_bytes().get(10) == Some(&b'T') => format!("{raw}Z"),
        _ => raw.to_string(),
    }
}

/// The clock of a breach, from the service's view.
fn clock(b: &BreachView) -> Clock {
    match (b.authority_notified_at, b.no_notification_reasons.is_some(), b.status) {
        (Some(at), _, _) => Clock::Notified { at, late: b.late },
        (None, true, _) => Clock::NotNotified,
        (None, false, BreachStatus::Closed) => Clock::Closed,
        _ if b.late => Clock::Late { hours_late: -b.hours_left },
        _ => Clock::Running { hours_left: b.hours_left },
    }
}

fn scope_words(v: &serde_json::Value) -> ScopeWords {
    let s: Scope = serde_json::from_value(v.clone()).unwrap_or_default();
    let day = |x: Option<String>| x.map(|d| d.chars().take(10).collect::<String>());
    ScopeWords {
        all: s.all,
        named: s.subject_ids.len(),
        kinds: s.kinds,
        collected_from: day(s.collected_from),
        collected_to: day(s.collected_to),
        recipient: s.recipient,
        token: s.token,
        from: day(s.from),
        to: day(s.to),
    }
}

/// The sentence of a refused input, by the field the service names.
fn invalid(c: &Console, field: &str) -> String {
    let key = format!("console_breaches.error.{}", field.replace('.', "_"));
    if vigie_ui::has(&key) { c.t.t(&key).to_string() } else { c.t.t("console_breaches.error.other").to_string() }
}

/// A refusal of the services in words, with its status; `Err` for an error that is no refusal.
fn refusal(c: &Console, e: AppError) -> Result<(String, StatusCode), AppError> {
    Ok(match e {
        AppError::Invalid { field, .. } => (invalid(c, &field), StatusCode::BAD_REQUEST),
        AppError::NotFound(_) => (c.t.t("console_breaches.error.gone").to_string(), StatusCode::NOT_FOUND),
        AppError::Conflict(m) => {
            let key = if m.contains("risk is not high") {
                "console_breaches.error.not_high"
            } else if m.contains("already notified") && m.contains("authority") {
                "console_breaches.error.already_notified"
            } else if m.contains("already notified") {
                "console_breaches.error.subjects_notified"
            } else if m.contains("no subject waits") {
                "console_breaches.error.no_one_waits"
            } else if m.contains("exemption") {
                "console_breaches.error.no_exemption"
            } else {
                "console_breaches.error.conflict"
            };
            (c.t.t(key).to_string(), StatusCode::CONFLICT)
        }
        e => return Err(e),
    })
}

fn not_found(c: &Console) -> Response {
    c.refusal(StatusCode::NOT_FOUND, "console.not_found", c.t.t("console_breaches.error.gone"))
}

async fn list_page(s: &State, c: &Console, draft: BreachDraft, error: Option<(String, StatusCode)>) -> Response {
    let all = match s.app.list_breaches(c.who()).await {
        Ok(l) => l,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let breaches = all
        .iter()
        .map(|b| BreachLine {
            id: b.id.to_string(),
            detected_at: b.detected_at,
            notify_by: b.notify_authority_by,
            clock: clock(b),
            status: b.status.as_str(),
            risk: b.risk.as_str(),
            nature: b.nature.iter().map(|n| n.as_str()).collect(),
            scope: scope_words(&b.scope),
            subjects: b.subjects_concerned,
        })
        .collect();
    let recipients = s.app.policy().recipients.iter().map(|r| r.id.clone()).collect();
    let (error, status) = match error {
        Some((e, st)) => (Some(e), st),
        None => (None, StatusCode::OK),
    };
    let view = BreachesPage { t: c.t, standalone: false, shell: c.shell(), breaches, recipients, draft, error };
    with_status(render(&view), status)
}

async fn list(axum::extract::State(s): S, c: Console) -> Response {
    list_page(&s, &c, BreachDraft::default(), None).await
}

fn draft_of(form: &Form) -> BreachDraft {
    let text = |name: &str| form.get(name).cloned().unwrap_or_default();
    let picked = |prefix: &str, all: &[&str]| {
        all.iter().filter(|x| ticked(form, &format!("{prefix}_{x}"))).map(|x| (*x).to_string()).collect::<Vec<_>>()
    };
    BreachDraft {
        detected_at: text("detected_at"),
        nature: picked("nature", &NATURES),
        description: text("description"),
        categories: picked("category", &CATEGORIES),
        kinds: picked("kind", &KINDS),
        all: ticked(form, "scope_all"),
        subject_ids: text("subject_ids"),
        collected_from: text("collected_from"),
        collected_to: text("collected_to"),
        recipient: text("recipient"),
        token: text("token"),
        from: text("from"),
        to: text("to"),
        likely_consequences: text("likely_consequences"),
        measures: text("measures"),
        risk: text("risk"),
        keys_compromised: text("keys_compromised"),
        no_notification_reasons: text("no_notification_reasons"),
    }
}

fn new_breach(form: &Form, d: &BreachDraft) -> NewBreach {
    let opt = |name: &str| field(form, name);
    NewBreach {
        detected_at: timestamp(&d.detected_at),
        nature: d.nature.clone(),
        description: d.description.clone(),
        data_categories: d.categories.clone(),
        scope: Scope {
            subject_ids: d
                .subject_ids
                .split(|ch: char| ch.is_whitespace() || ch == ',' || ch == ';')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
            kinds: d.kinds.clone(),
            collected_from: opt("collected_from"),
            collected_to: opt("collected_to"),
            recipient: opt("recipient"),
            token: opt("token"),
            from: opt("from"),
            to: opt("to"),
            all: d.all,
        },
        likely_consequences: opt("likely_consequences"),
        measures: opt("measures"),
        risk: opt("risk"),
        keys_compromised: opt("keys_compromised"),
        no_notification_reasons: opt("no_notification_reasons"),
    }
}

async fn create(axum::extract::State(s): S, posted: Posted<Form>) -> Response {
    let Posted { console: c, form } = posted;
    let draft = draft_of(&form);
    match s.app.create_breach(c.who(), new_breach(&form, &draft)).await {
        Ok(b) => see_other(&format!("/console/breaches/{}", b.id)),
        Err(e) => match refusal(&c, e) {
            Ok(r) => list_page(&s, &c, draft, Some(r)).await,
            Err(e) => crate::problem::ApiError::from(e).into_response(),
        },
    }
}

/// The Art. 34 state of a breach: the code before the colon of the service's summary.
fn information_key(b: &BreachView) -> &'static str {
    match b.subjects_information.split(':').next().unwrap_or("") {
        "notified" => "console_breaches.info.notified",
        "exemption_confirmed" => "console_breaches.info.exemption_confirmed",
        "exemption_measures" => "console_breaches.info.exemption_measures",
        "public_communication" => "console_breaches.info.public_communication",
        "other_channel" => "console_breaches.info.other_channel",
        "exemption_to_confirm" => "console_breaches.info.exemption_to_confirm",
        "to_notify" => "console_breaches.info.to_notify",
        "not_required" => "console_breaches.info.not_required",
        _ => "console_breaches.info.recorded",
    }
}

async fn one_page(s: &State, c: &Console, id: Uuid, error: Option<(String, StatusCode)>) -> Response {
    let b = match s.app.get_breach(c.who(), id).await {
        Ok(b) => b,
        Err(AppError::NotFound(_)) => return not_found(c),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let (error, status) = match error {
        Some((e, st)) => (Some(e), st),
        None => (None, StatusCode::OK),
    };
    let view = BreachPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        id: b.id.to_string(),
        detected_at: b.detected_at,
        notify_by: b.notify_authority_by,
        clock: clock(&b),
        late: b.late,
        status: b.status.as_str(),
        risk: b.risk.as_str(),
        keys: b.keys_compromised.as_str(),
        nature: b.nature.iter().map(|n| n.as_str()).collect(),
        description: b.description.clone(),
        categories: b.data_categories.iter().map(|x| x.as_str()).collect(),
        scope: scope_words(&b.scope),
        subjects: b.subjects_concerned,
        clients: b.clients_concerned,
        prospects: b.prospects_concerned,
        records: b.records_concerned,
        likely_consequences: b.likely_consequences.clone(),
        measures: b.measures.clone(),
        late_reasons: b.late_reasons.clone(),
        no_notification_reasons: b.no_notification_reasons.clone(),
        authority_notified_at: b.authority_notified_at,
        information: information_key(&b),
        unreachable_pending: b.unreachable_pending,
        unreachable: b.unreachable,
        decisions: b
            .decisions
            .iter()
            .map(|d| DecisionLine {
                at: d.at,
                decision: d.decision.as_str(),
                justification: d.justification.clone(),
                notices_queued: d.notices_queued,
                unreachable: d.unreachable,
            })
            .collect(),
        phases: b
            .phases
            .iter()
            .map(|p| PhaseLine {
                at: p.at,
                phase: p.phase.as_str(),
                // The first phase's text is Vigie's own: said in the page's language.
                details: if p.phase == BreachPhase::Initial {
                    c.t.t("console_breaches.recorded").to_string()
                } else {
                    p.details.clone()
                },
                actor: p.actor.clone(),
            })
            .collect(),
        error,
        done: None,
    };
    with_status(render(&view), status)
}

async fn one(axum::extract::State(s): S, c: Console, Path(id): Path<String>) -> Response {
    match Uuid::parse_str(&id) {
        Ok(id) => one_page(&s, &c, id, None).await,
        Err(_) => not_found(&c),
    }
}

async fn phase(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Form>) -> Response {
    let Posted { console: c, form } = posted;
    let Ok(id) = Uuid::parse_str(&id) else { return not_found(&c) };
    let input = NewPhase {
        phase: field(&form, "phase").unwrap_or_default(),
        details: form.get("details").cloned().unwrap_or_default(),
        late_reasons: field(&form, "late_reasons"),
        risk: field(&form, "risk"),
        likely_consequences: field(&form, "likely_consequences"),
        measures: field(&form, "measures"),
        keys_compromised: field(&form, "keys_compromised"),
        no_notification_reasons: field(&form, "no_notification_reasons"),
    };
    match s.app.add_breach_phase(c.who(), id, input).await {
        Ok(_) => see_other(&format!("/console/breaches/{id}")),
        Err(AppError::NotFound(_)) => not_found(&c),
        Err(e) => match refusal(&c, e) {
            Ok(r) => one_page(&s, &c, id, Some(r)).await,
            Err(e) => crate::problem::ApiError::from(e).into_response(),
        },
    }
}

async fn subjects(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Form>) -> Response {
    let Posted { console: c, form } = posted;
    let Ok(id) = Uuid::parse_str(&id) else { return not_found(&c) };
    let input = SubjectsDecision {
        decision: field(&form, "decision").unwrap_or_default(),
        justification: field(&form, "justification"),
    };
    match s.app.decide_subjects(c.who(), id, input).await {
        Ok(_) => see_other(&format!("/console/breaches/{id}")),
        Err(AppError::NotFound(_)) => not_found(&c),
        Err(e) => match refusal(&c, e) {
            Ok(r) => one_page(&s, &c, id, Some(r)).await,
            Err(e) => crate::problem::ApiError::from(e).into_response(),
        },
    }
}

/// The CNIL draft: the document the API serves, in the console's language.
async fn cnil(axum::extract::State(s): S, c: Console, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else { return not_found(&c) };
    match s.app.breach_notification_html(c.who(), id, c.t.lang()).await {
        Ok(html) => Html(html).into_response(),
        Err(AppError::NotFound(_)) => not_found(&c),
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}
