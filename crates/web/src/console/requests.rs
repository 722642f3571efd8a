//! `/console/requests` (DPO): the register of rights requests by urgency, the form recording a
//! request received by post, phone or in person, and one request's page walking the DPO through
//! it: matching, identity (with a look at an uploaded document before deciding), extension,
//! refusal, fulfilment, and the answer as the person reads it.
//!
//! Every step calls the service `POST /api/v1/requests/{id}/…` calls, with the session's
//! principal; a refusal of the service re-renders the page with it in words and its 4xx, having
//! changed nothing (the services are transactional). A step that succeeds answers 303 to the
//! request's page, `?done=<step>` saying what it did; but a fulfilment that erased its subject
//! answers 200 with the answer itself, its only copy (the answer page keeps the proof record).

use super::{Console, Posted, render, see_other, with_status};
use crate::State;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vigie_app::AppError;
use vigie_app::rights::identity::DocumentAsk;
use vigie_app::rights::{Extension, IdentityDecision, Link, NewRequest, Particulars, Refusal, RequestView, Requester};
use vigie_domain::FieldName;
use vigie_domain::policy::IdentityCheck;
use vigie_domain::records::{
    IdentityDocument, IdentityMethod, RefusalGround, RequestChannel, RequestKind, RestrictionGround,
};
use vigie_ui::console::requests as v;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/requests", get(list).post(create))
        .route("/console/requests/{id}", get(one))
        .route("/console/requests/{id}/link", post(link))
        .route("/console/requests/{id}/identity", post(identity))
        .route("/console/requests/{id}/identity/document-request", post(document_request))
        .route("/console/requests/{id}/identity/confirmation", post(confirmation))
        .route("/console/requests/{id}/extend", post(extend))
        .route("/console/requests/{id}/refuse", post(refuse))
        .route("/console/requests/{id}/fulfil", post(fulfil))
        .route("/console/requests/{id}/document", get(document))
        .route("/console/requests/{id}/answer", get(answer))
}

type S = axum::extract::State<State>;

/// A form's fields, in order (a field may repeat: the candidates checked).
type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
}

fn owned(f: &Fields, name: &str) -> Option<String> {
    field(f, name).map(str::to_string)
}

/// A service's words, without the ids they carry (the page names the request already).
fn without_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() >= 36 && rest.is_char_boundary(36) && uuid::Uuid::parse_str(&rest[..36]).is_ok() {
            out.push('…');
            rest = &rest[36..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(ch) = chars.next() {
            out.push(ch);
        }
        rest = chars.as_str();
    }
    out
}

/// The label of a field a service names in a refusal.
fn field_label(c: &Console, field: &str) -> String {
    let key = match field.split('.').next().unwrap_or(field) {
        "kind" => "console_requests.col_kind",
        "channel" => "console_requests.channel",
        "received_at" => "console_requests.received_at",
        "lang" => "console_requests.lang",
        "requester" => "console_requests.requester",
        "particulars" if field.contains("restriction_ground") => "console_requests.restriction_ground",
        "particulars" => "console_requests.changes",
        "reason" => "console_requests.no_subject_reason",
        "subjects" => "console_requests.candidates",
        "decision" => "console_requests.decision",
        "method" => "console_requests.method_label",
        "document" => "console_requests.document_kind",
        "contract" => "console_requests.contract",
        "doubt" => "console_requests.doubt",
        "ground" => "console_requests.refusal_ground",
        "months" => "console_requests.months",
        _ => return field.replace('_', " "),
    };
    c.t.t(key).to_string()
}

/// A service's refusal, in words, and its status; another error is answered as such.
fn refusal(c: &Console, e: AppError) -> Result<(StatusCode, v::Refusal), AppError> {
    let (status, sentence, detail) = match e {
        AppError::Invalid { field, message } => {
            let label = field_label(c, &field);
            (StatusCode::BAD_REQUEST, c.t.f("console_requests.error.invalid", &[("field", &label)]), message)
        }
        AppError::Conflict(m) => (StatusCode::CONFLICT, c.t.t("console_requests.error.conflict").to_string(), m),
        AppError::NotFound(_) => {
            (StatusCode::NOT_FOUND, c.t.t("console_requests.error.not_found").to_string(), String::new())
        }
        AppError::Gone(_) => (StatusCode::GONE, c.t.t("console_requests.error.gone").to_string(), String::new()),
        AppError::UnsupportedMedia(m) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, c.t.t("console_requests.error.media").to_string(), m)
        }
        AppError::Forbidden(m) => (StatusCode::FORBIDDEN, c.t.t("console_requests.error.forbidden").to_string(), m),
        e => return Err(e),
    };
    Ok((status, v::Refusal { sentence, detail: without_ids(&detail) }))
}

fn failed(e: AppError) -> Response {
    crate::problem::ApiError::from(e).into_response()
}

fn line(r: &RequestView) -> v::RequestLine {
    v::RequestLine {
        id: r.id.to_string(),
        kind: format!("console_requests.kind.{}", r.kind.as_str()),
        channel: format!("words.channel.{}", r.channel.as_str()),
        status: format!("console_requests.status.{}", r.status.as_str()),
        received_on: r.received_on,
        due_on: r.due_on,
        extended: r.extended,
        suspended: r.deadline_suspended,
        days_left: r.days_left,
        overdue: r.overdue,
        open: r.status.is_open(),
    }
}

fn choices<T: Copy>(all: &[T], name: fn(T) -> &'static str, prefix: &str) -> Vec<v::Choice> {
    all.iter().map(|x| (name(*x), format!("{prefix}{}", name(*x)))).collect()
}

fn new_form(s: &State, c: &Console, typed: Fields) -> v::NewRequestForm {
    let kinds = RequestKind::ALL;
    // The purposes a withdrawal may name (the service checks each rests on consent).
    let policy = s.app.policy();
    let consent_purposes = policy
        .purposes
        .iter()
        .filter(|p| p.bases.values().any(|b| *b == vigie_domain::policy::LegalBasis::Consent))
        .map(|p| (p.id.clone(), c.t.of(&p.name).to_string()))
        .collect();
    // The web form records its own requests.
    let channels = [RequestChannel::Letter, RequestChannel::Phone, RequestChannel::InPerson, RequestChannel::Email];
    v::NewRequestForm {
        kinds: choices(kinds, RequestKind::as_str, "console_requests.kind."),
        channels: choices(&channels, RequestChannel::as_str, "words.channel."),
        grounds: choices(RestrictionGround::ALL, RestrictionGround::as_str, "console_requests.restriction."),
        fields: choices(
            &[
                FieldName::Civility,
                FieldName::FirstName,
                FieldName::LastName,
                FieldName::Email,
                FieldName::Phone,
                FieldName::PostalAddress,
            ],
            FieldName::as_str,
            "words.field.",
        ),
        consent_purposes,
        typed: typed.into_iter().filter(|(k, _)| k != "csrf").collect(),
        today: s.app.now().date_naive(),
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    closed: Option<String>,
}

async fn list_page(
    s: &State,
    c: &Console,
    show_closed: bool,
    typed: Fields,
    error: Option<(StatusCode, v::Refusal)>,
) -> Response {
    let all = match s.app.list_requests(c.who()).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    // The service's order: overdue, then by days left (clock running, then stopped), closed last.
    let (open, closed): (Vec<_>, Vec<_>) = all.iter().map(line).partition(|l| l.open);
    let status = error.as_ref().map_or(StatusCode::OK, |(st, _)| *st);
    let view = v::RequestsPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        open,
        closed,
        show_closed,
        form: new_form(s, c, typed),
        error: error.map(|(_, r)| r),
    };
    with_status(render(&view), status)
}

async fn list(
    axum::extract::State(s): S,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    c: Console,
) -> Response {
    let show_closed = q.ok().and_then(|Query(q)| q.closed).is_some_and(|v| v == "1");
    list_page(&s, &c, show_closed, Vec::new(), None).await
}

async fn create(axum::extract::State(s): S, posted: Posted<Fields>) -> Response {
    let Posted { console: c, form } = posted;
    let kind = field(&form, "kind").unwrap_or("").to_string();
    let mut particulars = Particulars::default();
    if kind == RequestKind::Rectification.as_str() {
        for (k, value) in &form {
            if let Some(name) = k.strip_prefix("change_")
                && !value.trim().is_empty()
            {
                particulars.changes.insert(name.to_string(), Some(value.trim().to_string()));
            }
        }
    }
    if kind == RequestKind::ConsentWithdrawal.as_str() {
        particulars.purposes = form.iter().filter(|(k, _)| k == "purpose").map(|(_, v)| v.clone()).collect();
    }
    if kind == RequestKind::Restriction.as_str() {
        particulars.restriction_ground = owned(&form, "restriction_ground");
    }
    let input = NewRequest {
        kind,
        received_at: field(&form, "received_at").unwrap_or("").to_string(),
        channel: field(&form, "channel").unwrap_or("").to_string(),
        requester: Requester {
            first_name: owned(&form, "first_name"),
            last_name: owned(&form, "last_name"),
            email: owned(&form, "email"),
            phone: owned(&form, "phone"),
            postal_address: owned(&form, "postal_address"),
            contract_reference: owned(&form, "contract_reference"),
        },
        particulars,
        lang: owned(&form, "lang"),
    };
    match s.app.create_request(c.who(), input).await {
        Ok(r) => see_other(&format!("/console/requests/{}?done=created", r.id)),
        Err(e) => match refusal(&c, e) {
            Ok(err) => list_page(&s, &c, false, form, Some(err)).await,
            Err(e) => failed(e),
        },
    }
}

/// A request id of a path; None answers 404.
fn request_id(raw: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).ok()
}

fn not_found(c: &Console) -> Response {
    c.refusal(StatusCode::NOT_FOUND, "console.not_found", c.t.t("console_requests.error.not_found"))
}

const STEPS: &[&str] =
    &["created", "link", "identity", "document_request", "confirmation", "extend", "refuse", "fulfil"];

#[derive(Deserialize, Default)]
struct OneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn request_page(
    s: &State,
    c: &Console,
    id: uuid::Uuid,
    done: Option<&str>,
    error: Option<(StatusCode, v::Refusal)>,
) -> Response {
    let r = match s.app.get_request(c.who(), id).await {
        Ok(r) => r,
        Err(AppError::NotFound(_)) => return not_found(c),
        Err(e) => return failed(e),
    };
    let by_document = s.app.policy().identity_check == IdentityCheck::Document;
    let methods: Vec<IdentityMethod> = if by_document {
        vec![IdentityMethod::Document]
    } else {
        vec![
            IdentityMethod::KnownPhone,
            IdentityMethod::ContractReference,
            IdentityMethod::AuthenticatedAccount,
            IdentityMethod::Document,
        ]
    };
    let q = &r.requester;
    let name = [q.first_name.as_deref(), q.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let p = &r.particulars;
    let mut grounds = Vec::new();
    if let Some(g) = &p.ground {
        grounds.push(format!("console_requests.erasure.{g}"));
    }
    if let Some(g) = &p.restriction_ground {
        grounds.push(format!("console_requests.restriction.{g}"));
    }
    let linked = r.subject_id;
    let status = error.as_ref().map_or(StatusCode::OK, |(st, _)| *st);
    let view = v::RequestPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        id: r.id.to_string(),
        line: line(&r),
        lang: format!("language.{}", r.lang.code()),
        first_due_on: r.first_due_on,
        suspended_since: r.suspended_since,
        suspended_days: r.suspended_days,
        outcome: r.outcome.map(|o| format!("console_requests.outcome.{}", o.as_str())),
        completed_at: r.completed_at,
        subject_erased: r.subject_erased,
        name,
        email: q.email.clone(),
        phone: q.phone.clone(),
        postal_address: q.postal_address.clone(),
        contract_reference: q.contract_reference.clone(),
        message: p.message.clone(),
        changes: p
            .changes
            .iter()
            .map(|(f, value)| v::ChangeLine { field: format!("words.field.{f}"), value: value.clone() })
            .collect(),
        grounds,
        purposes: p.purposes.clone(),
        subject_id: r.subject_id.map(|s| s.to_string()),
        candidates: r
            .candidates
            .iter()
            .map(|cand| v::CandidateLine {
                subject_id: cand.subject_id.to_string(),
                matched_by: cand.matched_by.iter().map(|m| format!("console_requests.matched.{m}")).collect(),
                linked: Some(cand.subject_id) == linked,
            })
            .collect(),
        homonyms_unlisted: r.homonyms_unlisted,
        no_subject: r.no_subject.as_ref().map(|n| (n.reason.clone(), n.at)),
        awaiting_identity: r.status == vigie_domain::records::RequestStatus::AwaitingIdentity,
        by_document,
        decision: r.identity_decision.map(|d| format!("console_requests.verdict.{}", d.as_str())),
        method: r.identity_check.as_ref().map(|i| format!("console_requests.method.{}", i.method.as_str())),
        document: r.identity_document.map(|d| format!("console_requests.doc.{}", d.as_str())),
        doubt: r.identity_check.as_ref().and_then(|i| i.doubt.clone()),
        asked: r.document_requests.iter().map(|d| v::AskedLine { at: d.at, doubt: d.doubt.clone() }).collect(),
        document_held: r.identity_document_held,
        confirmation: r.confirmation.as_ref().map(|k| (k.sent_at, k.expires_at, k.expired)),
        methods: choices(&methods, IdentityMethod::as_str, "console_requests.method."),
        documents: choices(IdentityDocument::ALL, IdentityDocument::as_str, "console_requests.doc."),
        refusals: choices(RefusalGround::ALL, RefusalGround::as_str, "console_requests.refusal."),
        answered: !r.status.is_open(),
        error: error.map(|(_, e)| e),
        done: done
            .and_then(|d| STEPS.iter().find(|s| **s == d))
            .map(|d| c.t.t(&format!("console_requests.done.{d}")).to_string()),
    };
    with_status(render(&view), status)
}

async fn one(
    axum::extract::State(s): S,
    Path(id): Path<String>,
    q: Result<Query<OneQuery>, axum::extract::rejection::QueryRejection>,
    c: Console,
) -> Response {
    let Some(id) = request_id(&id) else { return not_found(&c) };
    let done = q.ok().and_then(|Query(q)| q.done);
    request_page(&s, &c, id, done.as_deref(), None).await
}

/// After a step: 303 to the request's page, or the page with the refusal and its status.
async fn after<T>(s: &State, c: &Console, id: uuid::Uuid, step: &str, result: Result<T, AppError>) -> Response {
    match result {
        Ok(_) => see_other(&format!("/console/requests/{id}?done={step}")),
        Err(e) => match refusal(c, e) {
            Ok(err) => request_page(s, c, id, None, Some(err)).await,
            Err(e) => failed(e),
        },
    }
}

/// A refusal of the page's own reading of a field (a malformed id).
fn typed_wrong(c: &Console, key: &str) -> (StatusCode, v::Refusal) {
    (StatusCode::BAD_REQUEST, v::Refusal { sentence: c.t.t(key).to_string(), detail: String::new() })
}

async fn link(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Fields>) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = request_id(&id) else { return not_found(&c) };
    let mut subjects = Vec::new();
    for (k, value) in &form {
        let value = value.trim();
        if (k == "subject" || k == "other") && !value.is_empty() {
            match uuid::Uuid::parse_str(value) {
                Ok(u) if !subjects.contains(&u) => subjects.push(u),
                Ok(_) => {}
                Err(_) => {
                    let err = typed_wrong(&c, "console_requests.error.subject_id");
                    return request_page(&s, &c, id, None, Some(err)).await;
                }
            }
        }
    }
    let input = Link { subjects, reason: owned(&form, "reason") };
    let result = s.app.link_request(c.who(), id, input).await;
    after(&s, &c, id, "link", result).await
}

async fn identity(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Fields>) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = request_id(&id) else { return not_found(&c) };
    let contract = match field(&form, "contract").map(uuid::Uuid::parse_str) {
        None => None,
        Some(Ok(u)) => Some(u),
        Some(Err(_)) => {
            let err = typed_wrong(&c, "console_requests.error.contract_id");
            return request_page(&s, &c, id, None, Some(err)).await;
        }
    };
    let input = IdentityDecision {
        decision: field(&form, "decision").unwrap_or("").to_string(),
        method: owned(&form, "method"),
        document: owned(&form, "document"),
        contract,
    };
    let result = s.app.decide_identity(c.who(), id, input).await;
    after(&s, &c, id, "identity", result).await
}

async fn document_request(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Fields>) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = request_id(&id) else { return not_found(&c) };
    let result = s.app.ask_identity_document(c.who(), id, DocumentAsk { doubt: owned(&form, "doubt") }).await;
    after(&s, &c, id, "document_request", result).await
}

async fn confirmation(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Fields>) -> Response {
    let c = posted.console;
    let Some(id) = request_id(&id) else { return not_found(&c) };
    let result = s.app.send_identity_confirmation(c.who(), id).await;
    after(&s, &c, id, "confirmation", result).await
}

async fn extend(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Fields>) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = request_id(&id) else { return not_found(&c) };
    let Some(months) = field(&form, "months").and_then(|m| m.parse::<u32>().ok()) else {
        let err = typed_wrong(&c, "console_requests.error.months");
        return request_page(&s, &c, id, None, Some(err)).await;
    };
    let input = Extension { months, reason: field(&form, "reason").unwrap_or("").to_string() };
    let result = s.app.extend_request(c.who(), id, input).await;
    after(&s, &c, id, "extend", result).await
}

async fn refuse(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Fields>) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = request_id(&id) else { return not_found(&c) };
    let input = Refusal {
        ground: field(&form, "ground").unwrap_or("").to_string(),
        reason: field(&form, "reason").unwrap_or("").to_string(),
    };
    let result = s.app.refuse_request(c.who(), id, input).await;
    after(&s, &c, id, "refuse", result).await
}

async fn fulfil(axum::extract::State(s): S, Path(id): Path<String>, posted: Posted<Fields>) -> Response {
    let c = posted.console;
    let Some(id) = request_id(&id) else { return not_found(&c) };
    let answer = match s.app.fulfil_request_answer(c.who(), id).await {
        Ok(a) => a,
        Err(e) => return after(&s, &c, id, "fulfil", Err::<(), _>(e)).await,
    };
    // A full erasure took with it everything the request held: this answer is its only copy
    // (the answer page keeps the proof record), so it is shown now, to print or send.
    match s.app.get_request(c.who(), id).await {
        Ok(r) if r.subject_erased => {
            use vigie_ui::Template as _;
            match vigie_ui::answers::AnswerDocument::new(&answer).render() {
                Ok(html) => Html(html).into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "an answer could not be rendered");
                    crate::problem::Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "Internal error",
                        "the answer could not be rendered",
                    )
                    .into_response()
                }
            }
        }
        Ok(_) => see_other(&format!("/console/requests/{id}?done=fulfil")),
        Err(e) => failed(e),
    }
}

/// A refusal shown as a page of its own (the document and the answer have no form to go back to).
fn refused_page(c: &Console, e: AppError) -> Response {
    match refusal(c, e) {
        Ok((status, r)) => {
            let title = if status == StatusCode::NOT_FOUND { "console.not_found" } else { "console.forbidden" };
            let rule = if r.detail.is_empty() { r.sentence } else { format!("{} ({})", r.sentence, r.detail) };
            c.refusal(status, title, rule)
        }
        Err(e) => failed(e),
    }
}

/// The uploaded identity document, as it came (PDF, PNG or JPEG), for the DPO to look at before
/// deciding: inline, never cached. Once the decision is recorded it is gone (410).
async fn document(axum::extract::State(s): S, Path(id): Path<String>, c: Console) -> Response {
    let Some(id) = request_id(&id) else { return not_found(&c) };
    match s.app.identity_document(c.who(), id).await {
        Ok((content_type, bytes)) => {
            let mut r = bytes.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => refused_page(&c, e),
    }
}

/// The answer as the person reads it: the document `GET /api/v1/requests/{id}/response?format=html`
/// gives, in the request's language (a page of its own: the pages forbid framing).
async fn answer(axum::extract::State(s): S, Path(id): Path<String>, c: Console) -> Response {
    let Some(id) = request_id(&id) else { return not_found(&c) };
    match s.app.request_response_html(c.who(), id).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => refused_page(&c, e),
    }
}
