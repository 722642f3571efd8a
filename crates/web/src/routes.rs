//! The routes of `/api/v1` and their OpenAPI descriptions.

use crate::State;
use crate::extract::{Auth, Body, Purpose, subject_id};
use crate::openapi::{BearerAuth, CommonResponses};
use crate::problem::{ApiResult, Problem};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use vigie_app::governance::trail::EntryView;
use vigie_app::governance::trail::Verification;
use vigie_app::retention::{ApplyInput, ApplyReport, HoldInput, HoldStatus, HoldView, Plan};
use vigie_app::rights::restriction::{LiftRestriction, RestrictionLifted};
use vigie_app::subjects::stats::Statistics;
use vigie_app::subjects::{
    Created, DisclosureView, NewConsent, NewContract, NewInteraction, NewObjection, NewSubject, SubjectCreated,
    SubjectView,
};
use vigie_domain::access::Role;

#[derive(OpenApi)]
#[openapi(
    info(title = "Vigie API", description = "GDPR-native system of record for client and prospect data. Every read of personal data names its purpose in the `Vigie-Purpose` header and is checked against the policy.", version = "1"),
    paths(
        health, ready, create_token, list_tokens, revoke_token, create_subject, find_subjects, search_subjects, read_subject, add_contract,
        add_interaction, add_consent, add_objection, merge_subjects,
        crate::governance::recipients, crate::governance::add_safeguard, crate::governance::activate_transfer,
        crate::governance::record_disclosure, crate::governance::list_disclosures, crate::governance::outbox,
        crate::governance::versions, crate::governance::upload_version, crate::governance::activate_version, crate::governance::assess_version,
        crate::requests::create, crate::requests::list, crate::requests::one, crate::requests::upload_document,
        crate::requests::identity, crate::requests::document_request, crate::requests::confirmation, crate::requests::link, crate::requests::extend, crate::requests::refuse, crate::requests::fulfil,
        crate::requests::response, crate::breaches::create, crate::breaches::list, crate::breaches::one,
        crate::breaches::phase, crate::breaches::subjects, crate::breaches::notification, crate::register::register, set_hold, lift_hold, hold_status, lift_restriction, lift_suppression, retention_plan, retention_apply, disclosures, statistics, policy, audit_entries, audit_verify
    ),
    components(schemas(Problem, crate::openapi::DocumentFormat, GroupBy, vigie_app::retention::DateOrToday)),
    modifiers(&BearerAuth, &CommonResponses),
    security(("bearer" = []))
)]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub fn api() -> Router<State> {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/ready", get(ready))
        .route("/api/v1/tokens", post(create_token).get(list_tokens))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/v1/subjects", post(create_subject).get(find_subjects))
        .route("/api/v1/subjects/search", post(search_subjects))
        .route("/api/v1/subjects/{id}", get(read_subject))
        .route("/api/v1/subjects/{id}/contracts", post(add_contract))
        .route("/api/v1/subjects/{id}/interactions", post(add_interaction))
        .route("/api/v1/subjects/{id}/consents", post(add_consent))
        .route("/api/v1/subjects/{id}/objections", post(add_objection))
        .route("/api/v1/subjects/{id}/merge", post(merge_subjects))
        .route("/api/v1/subjects/{id}/legal-hold", post(set_hold).delete(lift_hold).get(hold_status))
        .route("/api/v1/subjects/{id}/restriction/lift", post(lift_restriction))
        .route("/api/v1/suppressions", axum::routing::delete(lift_suppression))
        .route("/api/v1/retention/plan", get(retention_plan))
        .route("/api/v1/retention/apply", post(retention_apply))
        .route("/api/v1/statistics", get(statistics))
        .route("/api/v1/policy", get(policy))
        .route("/api/v1/subjects/{id}/disclosures", get(disclosures))
        .route("/api/v1/audit", get(audit_entries))
        .route("/api/v1/audit/verify", get(audit_verify))
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
    backend: &'static str,
}

/// Liveness, and which database backs this instance.
#[utoipa::path(get, path = "/api/v1/health", security(()), responses((status = 200, body = Health)))]
async fn health(axum::extract::State(s): axum::extract::State<State>) -> Json<Health> {
    Json(Health { status: "ok", backend: s.app.db().backend_name() })
}

/// Readiness: the database answers, the data directory takes a write, its disk has room.
/// 503 (with Retry-After) names the failed checks; `/api/v1/health` stays liveness.
#[utoipa::path(get, path = "/api/v1/ready", security(()), responses(
    (status = 200, body = vigie_app::Readiness),
    (status = 503, description = "not ready: the failed checks are named", body = Problem, content_type = "application/problem+json"),
))]
async fn ready(axum::extract::State(s): axum::extract::State<State>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let r = s.app.readiness().await;
    if r.ready {
        return Json(r).into_response();
    }
    let detail = format!("not ready: {} failed", r.failed.join(", "));
    let mut res = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "Not ready", detail).into_response();
    res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("10"));
    res
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// admin, dpo, staff, recipient or auditor.
    #[schema(value_type = Role)]
    role: String,
    /// For the recipient role: the policy recipient the token is bound to.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    recipient: Option<String>,
    /// Refused after this long: a whole number and s, m, h, d or w (`90d`, `12h`, `1s`); never if absent.
    #[schema(example = "90d")]
    expires_in: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TokenCreated {
    id: uuid::Uuid,
    /// The token itself, shown this once only.
    token: String,
    #[schema(value_type = Role)]
    role: String,
    /// When it stops being accepted; null if it does not expire.
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Creates a bearer token (admin only). The token is shown once.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = NewToken,
    responses((status = 201, body = TokenCreated), (status = 403, description = "not an admin", body = Problem)))]
async fn create_token(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Body(input): Body<NewToken>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    who.require(&[Role::Admin], "creating a token")?;
    let lifetime = input.expires_in.as_deref().map(vigie_app::auth::parse_lifetime).transpose()?;
    let t = s.app.create_token(who.actor(), &input.role, input.recipient.as_deref(), lifetime).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated { id: t.id, token: t.token, role: input.role, expires_at: t.expires_at }),
    ))
}

#[derive(Serialize, ToSchema)]
struct TokenList {
    tokens: Vec<vigie_app::auth::TokenView>,
}

/// Every token: id, role, recipient, dates; never a secret or hash (admin only).
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = TokenList), (status = 403, description = "not an admin", body = Problem)))]
async fn list_tokens(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
) -> ApiResult<Json<TokenList>> {
    Ok(Json(TokenList { tokens: s.app.list_tokens(&who).await? }))
}

/// Revokes a token at once (admin only): from then on it is refused with 401.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = uuid::Uuid, Path, description = "the token id")),
    responses((status = 204, description = "revoked"), (status = 403, description = "not an admin", body = Problem), (status = 404, description = "no such token, or already revoked", body = Problem)))]
async fn revoke_token(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| Problem::invalid("id", "is not a token id (a UUID)"))?;
    s.app.revoke_token(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records a client or prospect (staff, dpo).
#[utoipa::path(post, path = "/api/v1/subjects", request_body = NewSubject,
    responses((status = 201, body = SubjectCreated), (status = 403, description = "not a writer (staff, dpo)", body = Problem)))]
async fn create_subject(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Body(input): Body<NewSubject>,
) -> ApiResult<(StatusCode, Json<SubjectCreated>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_subject(&who, input).await?)))
}

#[derive(Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Lookup {
    /// Finds subjects by email (blind index); give exactly one of email or phone.
    #[param(format = "email")]
    #[schema(format = "email")]
    email: Option<String>,
    /// Finds subjects by phone (blind index); give exactly one of email or phone.
    phone: Option<String>,
}

/// A search sent in the body: exactly one of `email`, `phone`, or `first_name` with `last_name`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Search {
    /// Finds subjects by email (blind index).
    #[schema(format = "email")]
    email: Option<String>,
    /// Finds subjects by phone (blind index).
    phone: Option<String>,
    /// With `last_name`: finds subjects by name (blind index of the first and last name, regardless
    /// of capitals, accents, hyphens and apostrophes).
    first_name: Option<String>,
    /// With `first_name`: finds subjects by name.
    last_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Found {
    subjects: Vec<SubjectView>,
}

/// Finds subjects by email or phone, for a purpose.
#[utoipa::path(get, path = "/api/v1/subjects", params(Lookup, ("Vigie-Purpose" = String, Header, description = "the purpose of the read, a purpose id of the policy", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    responses((status = 200, body = Found), (status = 403, description = "this role may not read subjects, or the policy refuses the purpose (`rule` names the failed rule)", body = Problem)))]
async fn find_subjects(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Purpose(purpose): Purpose,
    query: Result<Query<Lookup>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Found>> {
    let Query(q) = query.map_err(|_| Problem::invalid("query", "accepts only email or phone"))?;
    let subjects = s.app.find_subjects(&who, q.email.as_deref(), q.phone.as_deref(), purpose.as_deref()).await?;
    Ok(Json(Found { subjects }))
}

/// Finds subjects by email, phone or name (first and last name), sent in the body so that the value
/// stays out of URLs and proxy logs.
#[utoipa::path(post, path = "/api/v1/subjects/search", request_body = Search, params(("Vigie-Purpose" = String, Header, description = "the purpose of the read, a purpose id of the policy", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    responses((status = 200, body = Found), (status = 403, description = "this role may not read subjects, or the policy refuses the purpose (`rule` names the failed rule)", body = Problem)))]
async fn search_subjects(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Purpose(purpose): Purpose,
    Body(q): Body<Search>,
) -> ApiResult<Json<Found>> {
    let query = vigie_app::subjects::SubjectQuery {
        email: q.email.as_deref(),
        phone: q.phone.as_deref(),
        first_name: q.first_name.as_deref(),
        last_name: q.last_name.as_deref(),
    };
    let subjects = s.app.search_subjects(&who, query, purpose.as_deref()).await?;
    Ok(Json(Found { subjects }))
}

/// Reads a subject for the purpose named in `Vigie-Purpose`; 403 names the failed rule.
#[utoipa::path(get, path = "/api/v1/subjects/{id}", params(("id" = uuid::Uuid, Path, description = "the subject id"), ("Vigie-Purpose" = String, Header, description = "the purpose of the read, a purpose id of the policy", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    responses((status = 200, body = SubjectView), (status = 403, description = "this role may not read subjects, or the policy refuses the purpose (`rule` names the failed rule)", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn read_subject(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Purpose(purpose): Purpose,
    Path(id): Path<String>,
) -> ApiResult<Json<SubjectView>> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.read_subject(&who, id, purpose.as_deref()).await?))
}

/// Records a contract; a prospect becomes a client.
#[utoipa::path(post, path = "/api/v1/subjects/{id}/contracts", request_body = NewContract, params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 201, body = Created), (status = 403, description = "not a writer (staff, dpo)", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn add_contract(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<NewContract>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = subject_id(&id)?;
    Ok((StatusCode::CREATED, Json(s.app.add_contract(&who, id, input).await?)))
}

/// Records an interaction (inbound: initiated by the subject; outbound: by the company).
#[utoipa::path(post, path = "/api/v1/subjects/{id}/interactions", request_body = NewInteraction, params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 201, body = Created), (status = 403, description = "not a writer (staff, dpo)", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn add_interaction(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<NewInteraction>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = subject_id(&id)?;
    Ok((StatusCode::CREATED, Json(s.app.add_interaction(&who, id, input).await?)))
}

/// Records a consent granted or withdrawn, with its evidence.
#[utoipa::path(post, path = "/api/v1/subjects/{id}/consents", request_body = NewConsent, params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 201, body = Created), (status = 403, description = "not a writer (staff, dpo)", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn add_consent(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<NewConsent>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = subject_id(&id)?;
    Ok((StatusCode::CREATED, Json(s.app.add_consent(&who, id, input).await?)))
}

/// Records an objection to a purpose, effective immediately.
#[utoipa::path(post, path = "/api/v1/subjects/{id}/objections", request_body = NewObjection, params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 201, body = Created), (status = 403, description = "not a writer (staff, dpo)", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn add_objection(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<NewObjection>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = subject_id(&id)?;
    Ok((StatusCode::CREATED, Json(s.app.add_objection(&who, id, input).await?)))
}

/// Merges another record of the same person into this one (dpo): everything of `from` moves here
/// (its sealed values re-sealed under this record's key), this record keeps its identity values
/// and takes those it lacks, the retention clock is recomputed, and `from` is erased, its
/// tombstone naming this record (reading it answers 410 and says so). One audited transaction.
#[utoipa::path(post, path = "/api/v1/subjects/{id}/merge", request_body = vigie_app::subjects::merge::MergeInput, params(("id" = uuid::Uuid, Path, description = "the subject id: the record kept")),
    responses((status = 200, body = vigie_app::subjects::merge::Merged), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 409, description = "already merged, concerned by a breach not closed, or with a request in progress", body = Problem), (status = 410, description = "a subject was erased or merged into another", body = Problem)))]
async fn merge_subjects(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<vigie_app::subjects::merge::MergeInput>,
) -> ApiResult<Json<vigie_app::subjects::merge::Merged>> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.merge_subjects(&who, id, input).await?))
}

/// Lifts a subject's restriction of processing (Art. 18), with its reason (dpo). The subject is
/// told first (Art. 18(3)): the notice is queued in the same transaction, before the lift.
#[utoipa::path(post, path = "/api/v1/subjects/{id}/restriction/lift", request_body = LiftRestriction, params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 200, body = RestrictionLifted), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 409, description = "the subject is not restricted", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn lift_restriction(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<LiftRestriction>,
) -> ApiResult<Json<RestrictionLifted>> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.lift_restriction(&who, id, input).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// kind (default) or collected_year.
    #[param(value_type = Option<GroupBy>)]
    group_by: Option<String>,
}

/// What statistics are grouped by.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum GroupBy {
    Kind,
    CollectedYear,
}

/// Aggregate counts for an aggregates-only purpose (`statistics`); small groups are suppressed.
#[utoipa::path(get, path = "/api/v1/statistics", params(StatsQuery, ("Vigie-Purpose" = String, Header, description = "an aggregates-only purpose, e.g. statistics", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    responses((status = 200, body = Statistics), (status = 403, description = "this role may not read statistics, or the purpose is not aggregates-only", body = Problem)))]
async fn statistics(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Purpose(purpose): Purpose,
    query: Result<Query<StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Statistics>> {
    let Query(q) = query.map_err(|_| Problem::invalid("group_by", "must be one of: kind, collected_year"))?;
    Ok(Json(s.app.statistics(&who, purpose.as_deref(), q.group_by.as_deref().unwrap_or("kind")).await?))
}

/// The policy in force, as Vigie enforces it.
#[utoipa::path(get, path = "/api/v1/policy", responses((status = 200, description = "the policy model as JSON", body = Object)))]
async fn policy(axum::extract::State(s): axum::extract::State<State>, Auth(_who): Auth) -> Json<vigie_domain::Policy> {
    Json((*s.app.policy()).clone())
}

/// Verifies the audit chain (dpo, auditor, admin).
#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, body = Verification), (status = 403, description = "not a dpo, auditor or admin", body = Problem)))]
async fn audit_verify(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
) -> ApiResult<Json<Verification>> {
    who.require(&[Role::Dpo, Role::Auditor, Role::Admin], "verifying the audit trail")?;
    Ok(Json(s.app.verify_audit().await?))
}

#[derive(Serialize, ToSchema)]
struct Disclosures {
    disclosures: Vec<DisclosureView>,
}

/// The disclosure log of one subject (dpo, auditor).
#[utoipa::path(get, path = "/api/v1/subjects/{id}/disclosures", params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 200, body = Disclosures), (status = 403, description = "not a dpo or auditor", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn disclosures(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Disclosures>> {
    let id = subject_id(&id)?;
    Ok(Json(Disclosures { disclosures: s.app.disclosures(&who, id).await? }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Entries after this sequence number (default 0; below 0 counts as 0).
    after: Option<i64>,
    /// At most this many entries (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct AuditPage {
    entries: Vec<EntryView>,
}

/// A page of the audit trail (dpo, auditor): ids and field names, never values.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, description = "not a dpo or auditor", body = Problem)))]
async fn audit_entries(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    let Query(q) = query.map_err(|_| Problem::invalid("query", "after and limit must be integers"))?;
    Ok(Json(AuditPage { entries: s.app.audit_entries(&who, q.after.unwrap_or(0), q.limit.unwrap_or(100)).await? }))
}

/// Sets a legal hold on a subject, with its reason (dpo): the subject is never erased while held.
#[utoipa::path(post, path = "/api/v1/subjects/{id}/legal-hold", request_body = HoldInput, params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 201, body = HoldView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn set_hold(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<HoldInput>,
) -> ApiResult<(StatusCode, Json<HoldView>)> {
    let id = subject_id(&id)?;
    Ok((StatusCode::CREATED, Json(s.app.legal_hold(&who, id, true, &input.reason).await?)))
}

/// Lifts a legal hold, with its reason (dpo).
#[utoipa::path(delete, path = "/api/v1/subjects/{id}/legal-hold", request_body = HoldInput, params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 200, body = HoldView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 409, description = "the subject has no legal hold to lift", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn lift_hold(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<HoldInput>,
) -> ApiResult<Json<HoldView>> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.legal_hold(&who, id, false, &input.reason).await?))
}

/// Takes a person's email or phone off the suppression list, at their request (dpo). Audited
/// with the field's name, never its value.
#[utoipa::path(delete, path = "/api/v1/suppressions", request_body = vigie_app::rights::suppression::LiftSuppression,
    responses((status = 204, description = "lifted: the person may be recorded as a prospect again"), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "not on the suppression list", body = Problem)))]
async fn lift_suppression(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Body(input): Body<vigie_app::rights::suppression::LiftSuppression>,
) -> ApiResult<StatusCode> {
    s.app.lift_suppression(&who, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PlanQuery {
    /// The date to plan for (default, or empty: today).
    #[param(value_type = Option<vigie_app::retention::DateOrToday>)]
    at: Option<String>,
    /// At most this many due subjects listed (default 10000; above 1000000 counts as 1000000);
    /// `due_count` counts all.
    #[param(minimum = 0)]
    limit: Option<i64>,
}

/// The subjects due for erasure at a date, the held ones apart, and a 12-month forecast (dpo).
#[utoipa::path(get, path = "/api/v1/retention/plan", params(PlanQuery),
    responses((status = 200, body = Plan), (status = 403, description = "not a dpo", body = Problem)))]
async fn retention_plan(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    query: Result<Query<PlanQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Plan>> {
    let Query(q) = query.map_err(|_| Problem::invalid("query", "accepts at (a date) and limit (a number)"))?;
    let at = vigie_app::retention::parse_at(q.at.as_deref(), s.app.now().date_naive())?;
    let limit = match q.limit {
        None => 10_000,
        Some(n) => usize::try_from(n.min(1_000_000)).map_err(|_| Problem::invalid("limit", "is negative"))?,
    };
    Ok(Json(s.app.retention_plan(&who, at, limit).await?))
}

/// Erases every subject due at a date (dpo): keys destroyed, rows deleted, one audit entry each.
#[utoipa::path(post, path = "/api/v1/retention/apply", request_body = ApplyInput,
    responses((status = 200, body = ApplyReport), (status = 403, description = "not a dpo", body = Problem)))]
async fn retention_apply(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Body(input): Body<ApplyInput>,
) -> ApiResult<Json<ApplyReport>> {
    let at = vigie_app::retention::parse_at(input.at.as_deref(), s.app.now().date_naive())?;
    Ok(Json(s.app.retention_apply_as(&who, at).await?))
}

/// A subject's legal hold and its history of set and lift, with reasons (dpo).
#[utoipa::path(get, path = "/api/v1/subjects/{id}/legal-hold", params(("id" = uuid::Uuid, Path, description = "the subject id")),
    responses((status = 200, body = HoldStatus), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such subject", body = Problem), (status = 410, description = "the subject was erased", body = Problem)))]
async fn hold_status(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<HoldStatus>> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.legal_hold_status(&who, id).await?))
}

#[cfg(test)]
mod tests {
    use crate::{breaches as b, governance as g, register as reg, requests as r};
    use std::collections::BTreeMap;
    use utoipa::__dev::SchemaReferences;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    /// Every schema each operation names, duplicates kept, and the operations themselves.
    macro_rules! collect {
        ($($p:path),* $(,)?) => {{
            let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
            let mut ops: Vec<String> = Vec::new();
            $(
                <$p as SchemaReferences>::schemas(&mut schemas);
                for m in <$p as utoipa::Path>::methods() {
                    let method = serde_json::to_value(&m)?;
                    ops.push(format!("{} {}", method.as_str().ok_or("method")?, <$p as utoipa::Path>::path()));
                }
            )*
            (schemas, ops)
        }};
    }

    /// utoipa keeps one schema per name, silently: two types of one name would leave one of
    /// them described by the other's shape (as `TransferStatus` once was).
    #[test]
    fn each_schema_name_names_one_shape() -> Result<(), Box<dyn std::error::Error>> {
        let (schemas, mut ops) = collect!(
            super::__path_health,
            super::__path_ready,
            super::__path_create_token,
            super::__path_list_tokens,
            super::__path_revoke_token,
            super::__path_create_subject,
            super::__path_find_subjects,
            super::__path_search_subjects,
            super::__path_read_subject,
            super::__path_add_contract,
            super::__path_add_interaction,
            super::__path_add_consent,
            super::__path_add_objection,
            super::__path_merge_subjects,
            g::__path_recipients,
            g::__path_add_safeguard,
            g::__path_activate_transfer,
            g::__path_record_disclosure,
            g::__path_list_disclosures,
            g::__path_outbox,
            g::__path_versions,
            g::__path_upload_version,
            g::__path_activate_version,
            g::__path_assess_version,
            r::__path_create,
            r::__path_list,
            r::__path_one,
            r::__path_upload_document,
            r::__path_identity,
            r::__path_document_request,
            r::__path_confirmation,
            r::__path_link,
            r::__path_extend,
            r::__path_refuse,
            r::__path_fulfil,
            r::__path_response,
            b::__path_create,
            b::__path_list,
            b::__path_one,
            b::__path_phase,
            b::__path_subjects,
            b::__path_notification,
            reg::__path_register,
            super::__path_set_hold,
            super::__path_lift_hold,
            super::__path_hold_status,
            super::__path_lift_restriction,
            super::__path_lift_suppression,
            super::__path_retention_plan,
            super::__path_retention_apply,
            super::__path_disclosures,
            super::__path_statistics,
            super::__path_policy,
            super::__path_audit_entries,
            super::__path_audit_verify,
        );
        // The list above is the document's: no operation left out of this check.
        let doc = super::openapi();
        let mut documented: Vec<String> = Vec::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("get", &item.get),
                ("post", &item.post),
                ("put", &item.put),
                ("delete", &item.delete),
                ("patch", &item.patch),
            ] {
                if op.is_some() {
                    documented.push(format!("{method} {path}"));
                }
            }
        }
        ops.sort();
        documented.sort();
        assert_eq!(ops, documented, "the operations checked are the operations documented");
        let mut seen: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for (name, schema) in schemas {
            let shape = serde_json::to_value(&schema)?;
            if let Some(other) = seen.insert(name.clone(), shape.clone()) {
                assert_eq!(other, shape, "two different schemas are named {name}");
            }
        }
        let components = doc.components.ok_or("components")?;
        for name in seen.keys() {
            assert!(components.schemas.contains_key(name), "{name} is in the components");
        }
        Ok(())
    }
}
