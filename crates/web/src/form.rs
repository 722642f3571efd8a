//! The public rights-request form (SPEC 5.4): no token, a plain HTML form (no script) that
//! records a request with the channel `web_form` and the page's language, for the DPO to check
//! the requester's identity before anything is disclosed or changed. Every right is offered
//! (with the corrections of a rectification, the ground of a restriction, the purposes of an
//! objection), and the withdrawal of a consent; a submission that breaks a rule shows the form
//! again, as it was filled in, saying in words which field to check.

use crate::State;
use crate::problem::Problem;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::collections::BTreeMap;
use vigie_app::error::AppError;
use vigie_app::rights::{NewRequest, Particulars, Requester};
use vigie_domain::LegalBasis;
use vigie_ui::Tr;
use vigie_ui::public::{FORM_CHANGES, FORM_GROUNDS, FORM_KINDS, RightsForm, RightsReceived};

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
    crate::pages::page(&view(&s, t, None, BTreeMap::new()))
}

/// The form, with what was typed and what to check when a submission was not recorded.
fn view(s: &State, t: Tr, error: Option<String>, values: BTreeMap<String, String>) -> RightsForm {
    let policy = s.app.policy();
    let purposes = |basis: LegalBasis| -> Vec<(String, String)> {
        policy
            .purposes
            .iter()
            .filter(|p| !p.aggregates_only && p.bases.values().any(|b| *b == basis))
            .map(|p| (p.id.clone(), t.of(&p.name).to_string()))
            .collect()
    };
    RightsForm {
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
        changes: &FORM_CHANGES,
        grounds: &FORM_GROUNDS,
        consent_purposes: purposes(LegalBasis::Consent),
        objection_purposes: purposes(LegalBasis::LegitimateInterest),
        error,
        values,
    }
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

/// A submission, read field by field (`object` and `withdraw` may repeat).
#[derive(Default)]
struct Submission {
    kind: String,
    requester: Requester,
    particulars: Particulars,
    /// A field people do not see: filled in, the submission is a robot's.
    website: bool,
    /// What was typed and chosen, to show the form again if the request is not recorded.
    values: BTreeMap<String, String>,
}

impl Submission {
    fn read(pairs: Vec<(String, String)>) -> Submission {
        let mut s = Submission::default();
        let some = |v: &str| (!v.trim().is_empty()).then(|| v.to_string());
        for (name, value) in pairs {
            match name.as_str() {
                "kind" => s.kind = value.clone(),
                "first_name" => s.requester.first_name = some(&value),
                "last_name" => s.requester.last_name = some(&value),
                "email" => s.requester.email = some(&value),
                "phone" => s.requester.phone = some(&value),
                "contract_reference" => s.requester.contract_reference = some(&value),
                "message" => s.particulars.message = some(&value),
                "restriction_ground" => s.particulars.restriction_ground = some(&value),
                "website" => s.website |= !value.is_empty(),
                "object" | "withdraw" => s.particulars.purposes.push(value.clone()),
                other => {
                    if let Some(field) = other.strip_prefix("change_")
                        && FORM_CHANGES.iter().any(|(f, _)| *f == field)
                        && let Some(v) = some(&value)
                    {
                        s.particulars.changes.insert(field.to_string(), Some(v));
                    }
                }
            }
            if matches!(name.as_str(), "kind" | "restriction_ground" | "object" | "withdraw") {
                s.values.insert(format!("{name}={value}"), String::new());
            } else if name != "website" {
                s.values.insert(name, value);
            }
        }
        // Only what the request's kind reads is kept: the rest of the form was left as it came.
        let kind = s.kind.as_str();
        if kind != "rectification" {
            s.particulars.changes.clear();
        }
        if kind != "restriction" {
            s.particulars.restriction_ground = None;
        }
        let purposes: Vec<String> = std::mem::take(&mut s.particulars.purposes);
        s.particulars.purposes = match kind {
            "objection" => purposes_named(&s.values, "object", &purposes),
            "consent_withdrawal" => purposes_named(&s.values, "withdraw", &purposes),
            _ => Vec::new(),
        };
        s
    }
}

/// The purposes chosen under one name (`object` or `withdraw`), in the order they came.
fn purposes_named(values: &BTreeMap<String, String>, name: &str, all: &[String]) -> Vec<String> {
    all.iter().filter(|p| values.contains_key(&format!("{name}={p}"))).cloned().collect()
}

/// The label of the field an error names, for the sentence that says what to check.
fn label_of(field: &str) -> Option<&'static str> {
    Some(match field.strip_prefix("requester.").unwrap_or(field) {
        "kind" => "form.kind",
        "first_name" => "form.first_name",
        "last_name" => "form.last_name",
        "email" | "requester" => "form.email",
        "phone" => "form.phone",
        "contract_reference" => "form.contract_reference",
        "particulars.restriction_ground" => "form.ground",
        "particulars.purposes" => return None,
        f => {
            let field = f.strip_prefix("particulars.changes")?.trim_start_matches('.');
            return Some(
                FORM_CHANGES.iter().find(|(name, _)| *name == field).map_or("form.changes", |(_, label)| *label),
            );
        }
    })
}

async fn submit(
    axum::extract::State(s): axum::extract::State<State>,
    Peer(peer): Peer,
    query: Result<Query<LangQuery>, QueryRejection>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    // A flood from one address is turned away before anything is read or written.
    if let Err(p) = s.form_limiter.check(peer) {
        return p.into_response();
    }
    let t = match crate::pages::lang(query.map(|Query(q)| q.lang)) {
        Ok(lang) => Tr(lang),
        Err(p) => return p.into_response(),
    };
    let Ok(Form(pairs)) = form else {
        return Problem::invalid("form", "the form could not be read").into_response();
    };
    let f = Submission::read(pairs);
    if f.website {
        return (StatusCode::BAD_REQUEST, Html("<p>Demande refusée.</p>".to_string())).into_response();
    }
    let input = NewRequest {
        kind: f.kind.clone(),
        received_at: s.app.now().date_naive().to_string(),
        channel: "web_form".into(),
        requester: f.requester.clone(),
        particulars: f.particulars.clone(),
        lang: Some(t.code().to_string()),
    };
    match s.app.create_request_from_form(input).await {
        Ok(r) => crate::pages::page(&RightsReceived {
            t,
            standalone: false,
            controller: s.app.policy().controller.name.clone(),
            due_on: r.due_on,
        }),
        Err(AppError::Invalid { field, .. }) => {
            let error = match field.as_str() {
                "particulars.purposes" if f.kind == "consent_withdrawal" => {
                    t.f("form.error", &[("field", t.t("form.withdraw"))])
                }
                "particulars.purposes" => t.f("form.error", &[("field", t.t("form.object"))]),
                _ => match label_of(&field) {
                    Some(label) => t.f("form.error", &[("field", t.t(label))]),
                    None => t.t("form.error_any").to_string(),
                },
            };
            let mut page = crate::pages::page(&view(&s, t, Some(error), f.values));
            *page.status_mut() = StatusCode::BAD_REQUEST;
            page
        }
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
