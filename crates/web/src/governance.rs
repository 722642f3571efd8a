//! Routes for recipients and transfers, disclosures, the outbox and policy versions.

use crate::State;
use crate::extract::{Auth, Body};
use crate::problem::{ApiResult, Problem};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vigie_app::governance::recipients::{
    Activation, DisclosureEntry, NewDisclosure, NewSafeguard, RecipientList, SafeguardView,
};
use vigie_app::governance::revisions::{NewAssessment, NewVersion, Uploaded, VersionView};
use vigie_app::outbox::MessageView;
use vigie_domain::records::OutboxStatus;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/recipients", get(recipients))
        .route("/api/v1/recipients/{id}/safeguards", post(add_safeguard))
        .route("/api/v1/recipients/{id}/transfer", post(activate_transfer))
        .route("/api/v1/disclosures", post(record_disclosure).get(list_disclosures))
        .route("/api/v1/outbox", get(outbox))
        .route("/api/v1/policy/versions", get(versions).post(upload_version))
        .route("/api/v1/policy/versions/{version}/activate", post(activate_version))
        .route("/api/v1/policy/versions/{version}/assessments", post(assess_version))
}

/// The policy's recipients, their countries, safeguards and transfer status.
#[utoipa::path(get, path = "/api/v1/recipients", responses((status = 200, body = RecipientList)))]
pub async fn recipients(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
) -> ApiResult<Json<RecipientList>> {
    Ok(Json(s.app.recipients(&who).await?))
}

/// Records a safeguard (scc, bcr, dpf) for an external recipient (dpo).
#[utoipa::path(post, path = "/api/v1/recipients/{id}/safeguards", request_body = NewSafeguard, params(("id" = String, Path, description = "a recipient of the policy", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    responses((status = 201, body = SafeguardView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such recipient", body = Problem)))]
pub async fn add_safeguard(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<NewSafeguard>,
) -> ApiResult<(StatusCode, Json<SafeguardView>)> {
    Ok((StatusCode::CREATED, Json(s.app.add_safeguard(&who, &id, input).await?)))
}

/// Activates a transfer outside the EEA (dpo): refused without adequacy or safeguard;
/// queues a notice to every subject concerned.
#[utoipa::path(post, path = "/api/v1/recipients/{id}/transfer", params(("id" = String, Path, description = "a recipient of the policy", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    responses((status = 201, body = Activation), (status = 403, description = "not a dpo, or the transfer has no ground (no adequacy, no safeguard)", body = Problem), (status = 404, description = "no such recipient", body = Problem), (status = 409, description = "the transfer is already active, or needs none", body = Problem)))]
pub async fn activate_transfer(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Activation>)> {
    Ok((StatusCode::CREATED, Json(s.app.activate_transfer(&who, &id).await?)))
}

/// Records a disclosure made outside the API (staff, dpo), checked like a read by the recipient.
#[utoipa::path(post, path = "/api/v1/disclosures", request_body = NewDisclosure,
    responses((status = 201, body = DisclosureEntry), (status = 403, description = "not a writer (staff, dpo), or the policy refuses the disclosure", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
pub async fn record_disclosure(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Body(input): Body<NewDisclosure>,
) -> ApiResult<(StatusCode, Json<DisclosureEntry>)> {
    Ok((StatusCode::CREATED, Json(s.app.record_disclosure(&who, input).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DisclosureQuery {
    /// The subject whose disclosures are listed; give exactly one of subject_id or recipient.
    #[param(format = Uuid)]
    subject_id: Option<String>,
    /// The recipient whose disclosures are listed.
    #[param(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    recipient: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DisclosureList {
    disclosures: Vec<DisclosureEntry>,
}

/// The disclosure log of one subject or one recipient (dpo, auditor).
#[utoipa::path(get, path = "/api/v1/disclosures", params(DisclosureQuery),
    responses((status = 200, body = DisclosureList), (status = 403, description = "not a dpo or auditor", body = Problem)))]
pub async fn list_disclosures(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    query: Result<Query<DisclosureQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<DisclosureList>> {
    let Query(q) = query.map_err(|_| Problem::invalid("query", "accepts subject_id or recipient"))?;
    let disclosures = s.app.list_disclosures(&who, q.subject_id.as_deref(), q.recipient.as_deref()).await?;
    Ok(Json(DisclosureList { disclosures }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// pending, sent or failed.
    #[param(value_type = Option<OutboxStatus>)]
    status: Option<String>,
    /// At most this many messages (default 100; counted as 1 below 1, as 10000 above 10000).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxList {
    messages: Vec<MessageView>,
}

/// The outbox of notices (dpo, admin): statuses and attempts, no personal value.
#[utoipa::path(get, path = "/api/v1/outbox", params(OutboxQuery),
    responses((status = 200, body = OutboxList), (status = 403, description = "not a dpo or admin", body = Problem)))]
pub async fn outbox(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    query: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<OutboxList>> {
    let Query(q) = query.map_err(|_| Problem::invalid("query", "accepts status and limit"))?;
    Ok(Json(OutboxList { messages: s.app.outbox(&who, q.status.as_deref(), q.limit.unwrap_or(100)).await? }))
}

#[derive(Serialize, ToSchema)]
pub struct VersionList {
    /// The version in force.
    current: String,
    versions: Vec<VersionView>,
}

/// The policy's versions: in force, pending (with their notices), superseded.
#[utoipa::path(get, path = "/api/v1/policy/versions", responses((status = 200, body = VersionList)))]
pub async fn versions(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(_who): Auth,
) -> ApiResult<Json<VersionList>> {
    Ok(Json(VersionList { current: s.app.policy().version.clone(), versions: s.app.policy_versions().await? }))
}

/// Uploads a policy revision (dpo): validated, diffed against the version in force,
/// and announced to every subject; it takes effect on its date once every notice is sent.
#[utoipa::path(post, path = "/api/v1/policy/versions", request_body = NewVersion,
    responses((status = 201, body = Uploaded), (status = 403, description = "not a dpo", body = Problem), (status = 409, description = "the version exists already, or another is pending", body = Problem)))]
pub async fn upload_version(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Body(input): Body<NewVersion>,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
    Ok((StatusCode::CREATED, Json(s.app.upload_policy(&who, input).await?)))
}

/// Puts a pending version into force (dpo): 409 before its date, while notices are unsent, or
/// while a change Art. 6(4) flags (a purpose added, a legal basis changed) is not assessed
/// compatible by the DPO (the problem names each).
#[utoipa::path(post, path = "/api/v1/policy/versions/{version}/activate", params(("version" = String, Path, description = "a policy version")),
    responses((status = 200, body = VersionView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such version", body = Problem), (status = 409, description = "not pending, before its date, notices unsent, or a compatibility assessment missing or negative", body = Problem)))]
pub async fn activate_version(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(version): Path<String>,
) -> ApiResult<Json<VersionView>> {
    Ok(Json(s.app.activate_policy(&who, &version).await?))
}

/// Records the DPO's compatibility assessment (Art. 6(4)) of a change of a pending version: one
/// `purpose` and `kind`, or every flagged change when both are left out. `compatible: false`
/// keeps the version from ever taking effect: the DPO amends the revision instead.
#[utoipa::path(post, path = "/api/v1/policy/versions/{version}/assessments", request_body = NewAssessment, params(("version" = String, Path, description = "a policy version")),
    responses((status = 201, description = "the version with its assessments", body = VersionView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such version", body = Problem), (status = 409, description = "the version is not pending, or needs no assessment", body = Problem)))]
pub async fn assess_version(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(version): Path<String>,
    Body(input): Body<NewAssessment>,
) -> ApiResult<(StatusCode, Json<VersionView>)> {
    Ok((StatusCode::CREATED, Json(s.app.assess_revision(&who, &version, input).await?)))
}
