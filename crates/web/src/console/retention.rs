//! `/console/retention` (DPO): the plan at a date (what is due, held subjects apart), the
//! 12-month forecast, legal holds with their history, and the erasure with its confirmation.
//! Every action calls the service behind the same API route (`web/src/routes.rs`): the plan
//! `App::retention_plan`, the erasure `App::retention_apply_as` (which refuses a date after
//! today), the holds `App::legal_hold` and `App::legal_hold_status`.

use super::{Console, Posted, render, see_other, with_status};
use crate::State;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;
use vigie_app::AppError;
use vigie_app::retention::{DueItem, parse_at};
use vigie_ui::console::retention::{
    Applied, ConfirmPage, Counts, DueLine, Forecast, HeldLine, HoldEventLine, HoldLine, HoldPage, RetentionPage,
};

/// At most this many due subjects are listed (all are counted).
const LIMIT: usize = 200;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/retention", get(plan))
        .route("/console/retention/apply", post(apply))
        .route("/console/retention/holds", get(lookup).post(place))
        .route("/console/retention/holds/{id}", get(hold))
        .route("/console/retention/holds/{id}/lift", post(lift))
}

type S = axum::extract::State<State>;

fn error(c: &Console, key: &str, status: StatusCode) -> Option<(String, StatusCode)> {
    Some((c.t.t(key).to_string(), status))
}

fn due_line(d: &DueItem) -> DueLine {
    DueLine {
        id: d.subject_id.to_string(),
        kind: d.kind.as_str(),
        rule: d.rule.clone(),
        basis: d.basis_date,
        expires_on: d.expires_on,
    }
}

/// The plan page at `at`, with what an erasure did or why a form was refused.
async fn plan_page(
    s: &State,
    c: &Console,
    at: NaiveDate,
    applied: Option<Applied>,
    refused: Option<(String, StatusCode)>,
) -> Response {
    let plan = match s.app.retention_plan(c.who(), at, LIMIT).await {
        Ok(p) => p,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let holds = match s.app.legal_holds(c.who(), LIMIT).await {
        Ok(h) => h.into_iter().map(|(id, since)| HoldLine { id: id.to_string(), since }).collect(),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let by = |what: &str| plan.held.iter().filter(|h| h.held_by == what).count();
    let counts = Counts {
        due: plan.due_count,
        legal_hold: by("legal_hold"),
        rights_request: by("rights_request"),
        breach: by("breach"),
        restriction: by("restriction"),
        to_review: plan.to_review_count,
    };
    let held = plan
        .held
        .iter()
        .map(|h| HeldLine {
            id: h.due.subject_id.to_string(),
            kind: h.due.kind.as_str(),
            expires_on: h.due.expires_on,
            held_by: h.held_by.clone(),
            reason: (h.held_by == "legal_hold").then(|| h.reason.clone()),
            held_at: h.held_at,
            request_id: h.request_id.map(|r| r.to_string()),
            breach_id: h.breach_id.map(|b| b.to_string()),
        })
        .collect();
    let months: Vec<(String, i64)> = plan.forecast.iter().map(|m| (m.month.clone(), m.expiring)).collect();
    let (error, status) = match refused {
        Some((e, st)) => (Some(e), st),
        None => (None, StatusCode::OK),
    };
    let view = RetentionPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        at,
        today: s.app.now().date_naive(),
        counts,
        due: plan.due.iter().map(due_line).collect(),
        limit: LIMIT,
        held,
        holds,
        forecast: Forecast::new(&c.t, &months),
        applied,
        error,
    };
    with_status(render(&view), status)
}

#[derive(Deserialize, Default)]
struct PlanQuery {
    at: Option<String>,
    erased: Option<u64>,
    held: Option<u64>,
}

async fn plan(
    axum::extract::State(s): S,
    c: Console,
    q: Result<Query<PlanQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let today = s.app.now().date_naive();
    let Ok(Query(q)) = q else {
        return plan_page(&s, &c, today, None, error(&c, "console_retention.error.at", StatusCode::BAD_REQUEST)).await;
    };
    let at = match parse_at(q.at.as_deref(), today) {
        Ok(at) => at,
        Err(_) => {
            return plan_page(&s, &c, today, None, error(&c, "console_retention.error.at", StatusCode::BAD_REQUEST))
                .await;
        }
    };
    let applied = q.erased.map(|erased| Applied { at, erased, held: q.held.unwrap_or(0) });
    plan_page(&s, &c, at, applied, None).await
}

#[derive(Deserialize)]
struct ApplyForm {
    #[serde(default)]
    at: String,
    /// The count the DPO confirmed, on the second step; absent on the first.
    confirmed_count: Option<String>,
}

/// The first step shows what will be erased and asks to confirm; the second, carrying the
/// confirmed count, erases through the API's service if the count still holds.
async fn apply(axum::extract::State(s): S, posted: Posted<ApplyForm>) -> Response {
    let Posted { console: c, form } = posted;
    let today = s.app.now().date_naive();
    let Ok(at) = parse_at(Some(form.at.trim()), today) else {
        return plan_page(&s, &c, today, None, error(&c, "console_retention.error.at", StatusCode::BAD_REQUEST)).await;
    };
    let confirmed = match form.confirmed_count.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => match n.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                return plan_page(
                    &s,
                    &c,
                    at,
                    None,
                    error(&c, "console_retention.error.count", StatusCode::BAD_REQUEST),
                )
                .await;
            }
        },
    };
    let plan = match s.app.retention_plan(c.who(), at, LIMIT).await {
        Ok(p) => p,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let changed = confirmed.is_some_and(|n| n != plan.due_count);
    if confirmed.is_none() || changed {
        let view = ConfirmPage {
            t: c.t,
            standalone: false,
            shell: c.shell(),
            at,
            due_count: plan.due_count,
            due: plan.due.iter().map(due_line).collect(),
            limit: LIMIT,
            held: plan.held.len(),
            changed,
        };
        let status = if changed { StatusCode::CONFLICT } else { StatusCode::OK };
        return with_status(render(&view), status);
    }
    match s.app.retention_apply_as(c.who(), at).await {
        Ok(r) => see_other(&format!("/console/retention?at={}&erased={}&held={}", r.at, r.erased, r.held)),
        Err(AppError::Invalid { .. }) => {
            plan_page(&s, &c, today, None, error(&c, "console_retention.error.future", StatusCode::BAD_REQUEST)).await
        }
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}

fn not_found(c: &Console, key: &str, status: StatusCode) -> Response {
    c.refusal(status, "console.not_found", c.t.t(key))
}

async fn hold_page(s: &State, c: &Console, id: Uuid, refused: Option<(String, StatusCode)>) -> Response {
    let status = match s.app.legal_hold_status(c.who(), id).await {
        Ok(st) => st,
        Err(AppError::NotFound(_)) => return not_found(c, "console_retention.error.no_subject", StatusCode::NOT_FOUND),
        Err(AppError::Gone(_)) => return not_found(c, "console_retention.error.erased", StatusCode::GONE),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let (error, code) = match refused {
        Some((e, st)) => (Some(e), st),
        None => (None, StatusCode::OK),
    };
    let view = HoldPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        subject: id.to_string(),
        held: status.held,
        reason: status.reason,
        since: status.since,
        history: status
            .history
            .into_iter()
            .map(|e| HoldEventLine { action: e.action.as_str(), reason: e.reason, at: e.at, actor: e.actor })
            .collect(),
        error,
    };
    with_status(render(&view), code)
}

async fn hold(axum::extract::State(s): S, c: Console, Path(id): Path<String>) -> Response {
    match Uuid::parse_str(&id) {
        Ok(id) => hold_page(&s, &c, id, None).await,
        Err(_) => not_found(&c, "console_retention.error.no_subject", StatusCode::NOT_FOUND),
    }
}

#[derive(Deserialize)]
struct Lookup {
    #[serde(default)]
    subject: String,
}

/// The lookup form: to a subject's hold page (an id is no personal value).
async fn lookup(
    axum::extract::State(s): S,
    c: Console,
    q: Result<Query<Lookup>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match q.ok().and_then(|Query(q)| Uuid::parse_str(q.subject.trim()).ok()) {
        Some(id) => see_other(&format!("/console/retention/holds/{id}")),
        None => {
            let today = s.app.now().date_naive();
            plan_page(&s, &c, today, None, error(&c, "console_retention.error.subject_id", StatusCode::BAD_REQUEST))
                .await
        }
    }
}

#[derive(Deserialize)]
struct HoldForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    reason: String,
}

/// A refused hold: on the subject's page when it exists, else on the plan.
async fn hold_refused(s: &State, c: &Console, id: Uuid, e: AppError) -> Response {
    let today = s.app.now().date_naive();
    match e {
        AppError::Invalid { .. } => {
            hold_page(s, c, id, error(c, "console_retention.error.reason", StatusCode::BAD_REQUEST)).await
        }
        AppError::Conflict(_) => {
            hold_page(s, c, id, error(c, "console_retention.error.no_hold", StatusCode::CONFLICT)).await
        }
        AppError::NotFound(_) => {
            plan_page(s, c, today, None, error(c, "console_retention.error.no_subject", StatusCode::NOT_FOUND)).await
        }
        AppError::Gone(_) => {
            plan_page(s, c, today, None, error(c, "console_retention.error.erased", StatusCode::GONE)).await
        }
        e => crate::problem::ApiError::from(e).into_response(),
    }
}

async fn place(axum::extract::State(s): S, posted: Posted<HoldForm>) -> Response {
    let Posted { console: c, form } = posted;
    let Ok(id) = Uuid::parse_str(form.subject.trim()) else {
        let today = s.app.now().date_naive();
        return plan_page(
            &s,
            &c,
            today,
            None,
            error(&c, "console_retention.error.subject_id", StatusCode::BAD_REQUEST),
        )
        .await;
    };
    match s.app.legal_hold(c.who(), id, true, &form.reason).await {
        Ok(_) => see_other(&format!("/console/retention/holds/{id}")),
        Err(e) => hold_refused(&s, &c, id, e).await,
    }
}

async fn lift(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<HoldForm>) -> Response {
    let Posted { console: c, form } = posted;
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found(&c, "console_retention.error.no_subject", StatusCode::NOT_FOUND);
    };
    match s.app.legal_hold(c.who(), id, false, &form.reason).await {
        Ok(_) => see_other(&format!("/console/retention/holds/{id}")),
        Err(e) => hold_refused(&s, &c, id, e).await,
    }
}
