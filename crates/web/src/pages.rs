//! Public pages (SPEC 5.4): the privacy notice, generated from the policy in
//! force. No token: anyone may read it.

use crate::State;
use crate::problem::{ApiError, ApiResult, Problem};
use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use vigie_app::governance::notice::{self, Lang};

pub fn routes() -> Router<State> {
    Router::new().route("/privacy", get(privacy)).route("/static/vigie.css", get(stylesheet))
}

/// A page rendered from its template, as an HTML answer.
pub(crate) fn page(template: &impl vigie_ui::Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "the page could not be rendered",
            )
            .into_response()
        }
    }
}

/// The language a page is asked in (`?lang=fr|en`, French when absent).
pub(crate) fn lang(query: Result<Option<String>, QueryRejection>) -> ApiResult<Lang> {
    let invalid = || ApiError::from(Problem::invalid("lang", "must be `fr` or `en`"));
    match query.map_err(|_| invalid())? {
        None => Ok(Lang::Fr),
        Some(l) => l.parse::<Lang>().map_err(|_| invalid()),
    }
}

/// The one stylesheet of every page (public, console), cached by browsers for an hour.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        vigie_ui::STYLESHEET,
    )
        .into_response()
}

#[derive(Deserialize)]
struct PrivacyQuery {
    lang: Option<String>,
}

/// The privacy notice as an HTML page, in French unless `?lang=en`.
async fn privacy(
    axum::extract::State(s): axum::extract::State<State>,
    query: Result<Query<PrivacyQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let lang = lang(query.map(|Query(q)| q.lang))?;
    let policy = s.app.policy();
    let content = notice::build(&policy, s.app.transfers(), lang);
    let mut res = page(&notice::page(&policy, &content, lang));
    res.headers_mut().insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    Ok(res)
}
