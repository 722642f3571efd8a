//! Public pages (SPEC 5.4): the privacy notice, generated from the policy in
//! force. No token: anyone may read it.

use crate::State;
use crate::problem::{ApiResult, Problem};
use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use vigie_app::governance::notice::{self, Lang};

pub fn routes() -> Router<State> {
    Router::new().route("/privacy", get(privacy))
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
    let Query(q) = query.map_err(|_| Problem::invalid("lang", "must be `fr` or `en`"))?;
    let lang = match q.lang.as_deref() {
        None => Lang::Fr,
        Some(l) => l.parse::<Lang>().map_err(|_| Problem::invalid("lang", "must be `fr` or `en`"))?,
    };
    let html = notice::render_html(&s.app.policy(), s.app.transfers(), lang);
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        (header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code())),
    ];
    Ok((headers, html).into_response())
}
