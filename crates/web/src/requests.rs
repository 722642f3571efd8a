//! Routes for rights requests (dpo).

use crate::State;
use crate::extract::{Auth, Body, subject_id};
use crate::problem::{ApiResult, Problem};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vigie_app::rights::identity::DocumentAsk;
use vigie_app::rights::{Extension, IdentityDecision, Link, NewRequest, Refusal, RequestView};

/// The largest identity document accepted, in bytes.
const DOCUMENT_LIMIT: usize = 10 * 1024 * 1024;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/requests", post(create).get(list))
        .route("/api/v1/requests/{id}", get(one))
        .route(
            "/api/v1/requests/{id}/identity-document",
            post(upload_document).layer(axum::extract::DefaultBodyLimit::max(DOCUMENT_LIMIT)),
        )
        .route("/api/v1/requests/{id}/identity", post(identity))
        .route("/api/v1/requests/{id}/identity/document-request", post(document_request))
        .route("/api/v1/requests/{id}/identity/confirmation", post(confirmation))
        .route("/api/v1/requests/{id}/link", post(link))
        .route("/api/v1/requests/{id}/extend", post(extend))
        .route("/api/v1/requests/{id}/refuse", post(refuse))
        .route("/api/v1/requests/{id}/fulfil", post(fulfil))
        .route("/api/v1/requests/{id}/response", get(response))
}

fn request_id(raw: &str) -> Result<uuid::Uuid, crate::problem::ApiError> {
    subject_id(raw).map_err(|_| Problem::invalid("id", "is not a request id (a UUID)").into())
}

/// Records a rights request; its deadline is one month, moved to the next working day (dpo).
#[utoipa::path(post, path = "/api/v1/requests", request_body = NewRequest,
    responses((status = 201, body = RequestView), (status = 403, description = "not a dpo", body = Problem)))]
pub async fn create(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Body(input): Body<NewRequest>,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_request(&who, input).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct RequestList {
    requests: Vec<RequestView>,
}

/// The request register, most urgent first (dpo).
#[utoipa::path(get, path = "/api/v1/requests", responses((status = 200, body = RequestList), (status = 403, description = "not a dpo", body = Problem)))]
pub async fn list(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
) -> ApiResult<Json<RequestList>> {
    Ok(Json(RequestList { requests: s.app.list_requests(&who).await? }))
}

/// One request (dpo).
#[utoipa::path(get, path = "/api/v1/requests/{id}", params(("id" = uuid::Uuid, Path, description = "the request id")),
    responses((status = 200, body = RequestView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request", body = Problem)))]
pub async fn one(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(s.app.get_request(&who, request_id(&id)?).await?))
}

/// Uploads the requester's identity document (PDF, PNG or JPEG), stored sealed until the decision destroys it (dpo).
#[utoipa::path(post, path = "/api/v1/requests/{id}/identity-document", params(("id" = uuid::Uuid, Path, description = "the request id")),
    request_body(description = "the document (PDF, PNG or JPEG, at most 10 MiB)", content(("application/pdf"), ("image/png"), ("image/jpeg"))),
    responses((status = 201, body = RequestView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request", body = Problem), (status = 409, description = "the request is not awaiting identity", body = Problem), (status = 410, description = "the subject was erased, and with it what the request held", body = Problem), (status = 415, description = "the body is not a file of its Content-Type (its first bytes say otherwise)", body = Problem)))]
pub async fn upload_document(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let id = request_id(&id)?;
    let body = axum::body::to_bytes(request.into_body(), DOCUMENT_LIMIT).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("the document exceeds the limit of {DOCUMENT_LIMIT} bytes"),
        )
    })?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    Ok((StatusCode::CREATED, Json(s.app.upload_identity_document(&who, id, &ct, body.to_vec()).await?)))
}

/// Links a request to the subject it concerns (one of its `candidates`, or any subject the DPO
/// found), or records with a reason that no record concerns the requester; "no data" is answered
/// only after that confirmation (dpo).
#[utoipa::path(post, path = "/api/v1/requests/{id}/link", request_body = Link, params(("id" = uuid::Uuid, Path, description = "the request id")),
    responses((status = 200, body = RequestView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request or subject", body = Problem), (status = 409, description = "the request is closed", body = Problem), (status = 410, description = "the subject was erased, and with it what the request held", body = Problem)))]
pub async fn link(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<Link>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(s.app.link_request(&who, request_id(&id)?, input).await?))
}

/// Records the identity decision and the document kind; an uploaded document is destroyed (dpo).
#[utoipa::path(post, path = "/api/v1/requests/{id}/identity", request_body = IdentityDecision, params(("id" = uuid::Uuid, Path, description = "the request id")),
    responses((status = 200, body = RequestView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request", body = Problem), (status = 409, description = "the request is not in a state that allows this step", body = Problem), (status = 410, description = "the subject was erased, and with it what the request held", body = Problem)))]
pub async fn identity(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<IdentityDecision>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(s.app.decide_identity(&who, request_id(&id)?, input).await?))
}

/// Asks the requester for an identity document, recording why (under `identity_check = "on_doubt"`
/// the reasonable doubt is required, and recorded before any document is asked or kept): the
/// request goes through the outbox, in the request's language, and the clock stands still until
/// the document arrives or the DPO decides (dpo).
#[utoipa::path(post, path = "/api/v1/requests/{id}/identity/document-request", request_body = DocumentAsk, params(("id" = uuid::Uuid, Path, description = "the request id")),
    responses((status = 200, body = RequestView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request", body = Problem), (status = 409, description = "the request is not awaiting identity", body = Problem), (status = 410, description = "the subject was erased, and with it what the request held", body = Problem)))]
pub async fn document_request(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<DocumentAsk>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(s.app.ask_identity_document(&who, request_id(&id)?, input).await?))
}

/// Sends the requester a one-time link (valid 7 days, single use) to the email on file of the
/// subject the request is linked to, never to an address only the requester gave; confirming it
/// at `/rights/confirm/{token}` records the identity as verified, method `email_on_file`. A new
/// link replaces the last. Policy `identity_check = "on_doubt"` only (dpo).
#[utoipa::path(post, path = "/api/v1/requests/{id}/identity/confirmation", params(("id" = uuid::Uuid, Path, description = "the request id")),
    responses((status = 201, body = RequestView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request or subject", body = Problem), (status = 409, description = "the policy asks for documents, no public URL is set, the request is not awaiting identity or not linked, or its subject has no email on file", body = Problem), (status = 410, description = "the request's subject was erased", body = Problem)))]
pub async fn confirmation(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    // Whatever body comes is read (and ignored) before the answer: answering first and leaving it
    // unread would have the connection closed under a client still sending it.
    let _ = axum::body::to_bytes(request.into_body(), crate::BODY_LIMIT).await;
    Ok((StatusCode::CREATED, Json(s.app.send_identity_confirmation(&who, request_id(&id)?).await?)))
}

/// Extends the deadline once by one or two months, with reasons, before it passes; the requester is told (dpo).
#[utoipa::path(post, path = "/api/v1/requests/{id}/extend", request_body = Extension, params(("id" = uuid::Uuid, Path, description = "the request id")),
    responses((status = 200, body = RequestView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request", body = Problem), (status = 409, description = "the request is not in a state that allows this step", body = Problem), (status = 410, description = "the subject was erased, and with it what the request held", body = Problem)))]
pub async fn extend(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<Extension>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(s.app.extend_request(&who, request_id(&id)?, input).await?))
}

/// Refuses a request (manifestly unfounded or excessive, Art. 12(5); identity not verified) with reasons (dpo).
#[utoipa::path(post, path = "/api/v1/requests/{id}/refuse", request_body = Refusal, params(("id" = uuid::Uuid, Path, description = "the request id")),
    responses((status = 200, body = RequestView), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request", body = Problem), (status = 409, description = "the request is not in a state that allows this step", body = Problem), (status = 410, description = "the subject was erased, and with it what the request held", body = Problem)))]
pub async fn refuse(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Body(input): Body<Refusal>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(s.app.refuse_request(&who, request_id(&id)?, input).await?))
}

/// Carries the request out (access, rectification, erasure, portability, objection, restriction,
/// consent withdrawal) and returns the answer: JSON, or `?format=html` for the document the person
/// reads (the only copy of a full erasure's answer: once the subject is erased, `…/response` keeps
/// only the proof record) (dpo).
#[utoipa::path(post, path = "/api/v1/requests/{id}/fulfil", params(("id" = uuid::Uuid, Path, description = "the request id"), ResponseQuery),
    responses((status = 200, description = "the answer", content((Object = "application/json"), (String = "text/html"))), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request", body = Problem), (status = 409, description = "the request is not in progress", body = Problem), (status = 410, description = "the subject was erased, and with it what the request held", body = Problem)))]
pub async fn fulfil(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    query: Result<Query<ResponseQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let html = crate::breaches::html_format(query)?;
    let id = request_id(&id)?;
    if html {
        use vigie_ui::Template as _;
        let answer = s.app.fulfil_request_answer(&who, id).await?;
        return Ok(document(vigie_ui::answers::AnswerDocument::new(&answer).render().map_err(|e| {
            tracing::error!(error = %e, "an answer could not be rendered");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "the answer could not be rendered",
            )
        })?));
    }
    Ok(Json(s.app.fulfil_request(&who, id).await?).into_response())
}

/// An HTML document as an answer.
fn document(html: String) -> Response {
    Html(html).into_response()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResponseQuery {
    /// json (default) or html (the document the person reads, in the request's language).
    #[param(value_type = Option<crate::openapi::DocumentFormat>)]
    format: Option<String>,
}

/// The answer: JSON (with its Art. 19 notices as they stand now), or `?format=html` for the
/// document the person reads, in the request's language; once the subject was erased, the proof
/// record (dpo).
#[utoipa::path(get, path = "/api/v1/requests/{id}/response", params(("id" = uuid::Uuid, Path, description = "the request id"), ResponseQuery),
    responses((status = 200, description = "the answer", content((Object = "application/json"), (String = "text/html"))), (status = 403, description = "not a dpo", body = Problem), (status = 404, description = "no such request", body = Problem), (status = 409, description = "the request has no response yet", body = Problem)))]
pub async fn response(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
    Path(id): Path<String>,
    query: Result<Query<ResponseQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let html = crate::breaches::html_format(query)?;
    let id = request_id(&id)?;
    if html {
        return Ok(document(s.app.request_response_html(&who, id).await?));
    }
    Ok(Json(s.app.request_response(&who, id).await?).into_response())
}

impl crate::breaches::HasFormat for ResponseQuery {
    fn format(&self) -> Option<&str> {
        self.format.as_deref()
    }
}
