//! The public rights-request form (SPEC 5.4): no token, a plain HTML form that
//! records a request with the channel `web_form`, for the DPO to check the
//! requester's identity before anything is disclosed or changed.

use crate::State;
use crate::problem::Problem;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use vigie_app::rights::{NewRequest, Particulars, Requester};
use vigie_ui::Tr;
use vigie_ui::public::{FORM_KINDS, RightsForm, RightsReceived};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/rights", get(form).post(submit))
        .route("/rights/confirm/{token}", get(confirm_page).post(confirm))
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn form(
    axum::extract::State(s): axum::extract::State<State>,
    query: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let t = match crate::pages::lang(query.map(|Query(q)| q.lang)) {
        Ok(lang) => Tr(lang),
        Err(p) => return p.into_response(),
    };
    let policy = s.app.policy();
    crate::pages::page(&RightsForm {
        t,
        standalone: false,
        controller: policy.controller.name.clone(),
        dpo_email: policy.dpo.email.clone(),
        dpo_address: policy.dpo.address.clone(),
        kinds: &FORM_KINDS,
        identity: match policy.identity_check {
            vigie_domain::policy::IdentityCheck::Document => "form.identity_document",
            vigie_domain::policy::IdentityCheck::OnDoubt => "form.identity_on_doubt",
        },
    })
}

/// The client's address, when the server knows it (it always does when serving connections).
pub(crate) struct Peer(pub(crate) Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Peer(info.map(|c| c.0.ip())))
    }
}

#[derive(Deserialize)]
struct Submission {
    kind: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    message: Option<String>,
    /// A field people do not see: filled in, the submission is a robot's.
    website: Option<String>,
}

async fn submit(
    axum::extract::State(s): axum::extract::State<State>,
    Peer(peer): Peer,
    query: Result<Query<LangQuery>, QueryRejection>,
    form: Result<Form<Submission>, axum::extract::rejection::FormRejection>,
) -> Response {
    // A flood from one address is turned away before anything is read or written.
    if let Err(p) = s.form_limiter.check(peer) {
        return p.into_response();
    }
    let t = match crate::pages::lang(query.map(|Query(q)| q.lang)) {
        Ok(lang) => Tr(lang),
        Err(p) => return p.into_response(),
    };
    let Ok(Form(f)) = form else {
        return Problem::invalid("form", "the form could not be read").into_response();
    };
    if f.website.as_deref().is_some_and(|w| !w.is_empty()) {
        return (StatusCode::BAD_REQUEST, Html("<p>Demande refusée.</p>".to_string())).into_response();
    }
    let blank = |v: Option<String>| v.filter(|x| !x.trim().is_empty());
    let input = NewRequest {
        kind: f.kind,
        received_at: s.app.now().date_naive().to_string(),
        channel: "web_form".into(),
        requester: Requester {
            first_name: blank(f.first_name),
            last_name: blank(f.last_name),
            email: blank(f.email),
            phone: blank(f.phone),
            ..Requester::default()
        },
        particulars: Particulars { message: blank(f.message), ..Particulars::default() },
        language: Some(t.code().into()),
    };
    match s.app.create_request_from_form(input).await {
        Ok(r) => crate::pages::page(&RightsReceived {
            t,
            standalone: false,
            controller: s.app.policy().controller.name.clone(),
            due_on: r.due_on,
        }),
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}

/// A one-time identity confirmation link, as opened: a page with a button; nothing changes (mail
/// scanners follow links). Rate-limited like the form.
async fn confirm_page(
    axum::extract::State(s): axum::extract::State<State>,
    Peer(peer): Peer,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    if let Err(p) = s.confirm_limiter.check(peer) {
        return p.into_response();
    }
    link_page(s.app.confirmation_page(&token).await)
}

/// The button of a confirmation link's page: confirms the requester's identity.
async fn confirm(
    axum::extract::State(s): axum::extract::State<State>,
    Peer(peer): Peer,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    if let Err(p) = s.confirm_limiter.check(peer) {
        return p.into_response();
    }
    link_page(s.app.confirm_identity(&token).await)
}

fn link_page(p: vigie_app::rights::confirmation::LinkPage) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let lang = axum::http::HeaderValue::from_static(p.lang);
    (status, [(axum::http::header::CONTENT_LANGUAGE, lang)], Html(p.html)).into_response()
}
