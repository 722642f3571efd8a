//! Routes for the breach register (dpo).

use crate::State;
use crate::extract::{Auth, Body, subject_id};
use crate::problem::{ApiResult, Problem};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vigie_app::breaches::{BreachView, NewBreach, NewPhase, SubjectsDecision};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/breaches", post(create).get(list))
        .route("/api/v1/breaches/{id}", get(one))
        .route("/api/v1/breaches/{id}/phases", post(phase))
        .route("/api/v1/breaches/{id}/subjects", post(subjects))
        .route("/api/v1/breaches/{id}/notification", get(notification))
}

fn breach_id(raw: &str) -> Result<uuid::Uuid, crate::problem::ApiError> {
    subject_id(raw).map_err(|_| Problem::invalid("id", "is not a breach id (a UUID)").into())
}

/// Records a breach: its scope's subjects and records are counted, its 72-hour clock starts (dpo).
/// `keys_compromised` (yes, no, unknown) is required; risk `none` requires `no_notification_reasons`.
/// With risk high, keys `yes`, consequences and measures, the subjects are notified at once.
#[utoipa::path(post, path = "/api/v1/breaches", request_body = NewBreach,
    responses((status = 201, body = BreachView),
        (status = 400, description = "invalid input, keys_compromised missing, or risk none without no_notification_reasons: the problem names the field", body = Problem),
        (status = 403, description = "not a dpo", body = Problem)))]
pub async fn create(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Body(input): Body<NewBreach>,
) -> ApiResult<(StatusCode, Json<BreachView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_breach(&who, input).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct BreachList {
    breaches: Vec<BreachView>,
}

/// The breach register, most urgent first (dpo).
#[utoipa::path(get, path = "/api/v1/breaches", responses((status = 200, body = BreachList), (status = 403, description = "not a dpo", body = Problem)))]
pub async fn list(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
) -> ApiResult<Json<BreachList>> {
    Ok(Json(BreachList { breaches: s.app.list_breaches(&who).await? }))
}

/// One breach with its phases (dpo).
#[utoipa::path(get, path = "/api/v1/breaches/{id}", params(("id" = uuid::Uuid, Path, description = "the breach id")),
    responses((status = 200, body = BreachView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such breach", body = Problem)))]
pub async fn one(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<BreachView>> {
    Ok(Json(s.app.get_breach(&who, breach_id(&id)?).await?))
}

/// Adds a dated phase: update, authority_notified (with reasons when late), subjects_notified, closed (dpo).
#[utoipa::path(post, path = "/api/v1/breaches/{id}/phases", request_body = NewPhase, params(("id" = uuid::Uuid, Path, description = "the breach id")),
    responses((status = 200, body = BreachView),
        (status = 400, description = "invalid input, late_reasons missing for a late notification, or no_notification_reasons missing with risk none: the problem names the field", body = Problem),
        (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such breach", body = Problem), (status = 409, description = "the breach is not in a state that allows this step", body = Problem)))]
pub async fn phase(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<NewPhase>,
) -> ApiResult<Json<BreachView>> {
    Ok(Json(s.app.add_breach_phase(&who, breach_id(&id)?, input).await?))
}

/// For a high-risk breach (Art. 34): notify the subjects (the answer counts those without an
/// email as `unreachable`), confirm the Art. 34(3)(a) exemption, or record 34(3)(b) measures,
/// a 34(3)(c) public communication or another channel, each with a justification (dpo).
#[utoipa::path(post, path = "/api/v1/breaches/{id}/subjects", request_body = SubjectsDecision, params(("id" = uuid::Uuid, Path, description = "the breach id")),
    responses((status = 200, body = BreachView),
        (status = 400, description = "invalid input, a justification missing, or the notice's likely_consequences or measures empty (nothing queued): the problem names the field", body = Problem),
        (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such breach", body = Problem),
        (status = 409, description = "the risk is not high; the exemption refused (keys compromised or unknown, data read out through a token or a recipient, subjects already notified); or no subject waits for another channel", body = Problem)))]
pub async fn subjects(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<SubjectsDecision>,
) -> ApiResult<Json<BreachView>> {
    Ok(Json(s.app.decide_subjects(&who, breach_id(&id)?, input).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// json (default) or html (the draft in French).
    #[param(value_type = Option<crate::openapi::DocumentFormat>)]
    format: Option<String>,
}

/// The draft notification to the CNIL with the content of Art. 33(3) (dpo).
#[utoipa::path(get, path = "/api/v1/breaches/{id}/notification", params(("id" = uuid::Uuid, Path, description = "the breach id"), NotificationQuery),
    responses((status = 200, description = "the draft notification", content((Object = "application/json"), (String = "text/html"))), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such breach", body = Problem)))]
pub async fn notification(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    query: Result<Query<NotificationQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let html = html_format(query)?;
    if html {
        let draft = s.app.breach_notification_html(&who, breach_id(&id)?, vigie_domain::Lang::Fr).await?;
        return Ok(Html(draft).into_response());
    }
    Ok(Json(s.app.breach_notification(&who, breach_id(&id)?).await?).into_response())
}

/// Whether `?format=` asks for HTML (`html`) rather than JSON (`json`, the default).
pub(crate) fn html_format<Q: HasFormat>(
    query: Result<Query<Q>, axum::extract::rejection::QueryRejection>,
) -> Result<bool, crate::problem::ApiError> {
    let bad = || Problem::invalid("format", "must be json or html");
    let Query(q) = query.map_err(|_| bad())?;
    match q.format() {
        None | Some("json") => Ok(false),
        Some("html") => Ok(true),
        Some(_) => Err(bad().into()),
    }
}

/// A query with a `format` parameter.
pub(crate) trait HasFormat {
    fn format(&self) -> Option<&str>;
}

impl HasFormat for NotificationQuery {
    fn format(&self) -> Option<&str> {
        self.format.as_deref()
    }
}
