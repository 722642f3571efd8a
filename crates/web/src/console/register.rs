//! `/console/register` (DPO, auditor): the register of processing activities (Art. 30) within the
//! shell, and its exports (XLSX, CSV, JSON, HTML) to download. Every one is read through the
//! service behind `GET /api/v1/register` (`App::register`: the role checked, the reading audited),
//! in the page's language.

use super::{Console, render};
use crate::State;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use vigie_app::governance::register::{self, Register};
use vigie_ui::console::register::RegisterConsole;

pub fn routes() -> Router<State> {
    Router::new().route("/console/register", get(page)).route("/console/register/{file}", get(export))
}

async fn read(s: &State, c: &Console) -> Result<Register, Response> {
    s.app.register(c.who()).await.map_err(|e| crate::problem::ApiError::from(e).into_response())
}

async fn page(axum::extract::State(s): axum::extract::State<State>, c: Console) -> Response {
    let reg = match read(&s, &c).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    render(&RegisterConsole::new(c.shell(), register::page(&reg, c.t.lang())))
}

/// The formats of the exports: the file's extension, its media type.
const FORMATS: &[(&str, &str)] = &[
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("csv", "text/csv; charset=utf-8"),
    ("json", "application/json"),
    ("html", "text/html; charset=utf-8"),
];

/// `GET /console/register/export.{xlsx,csv,json,html}`: the register as a file to keep.
async fn export(
    axum::extract::State(s): axum::extract::State<State>,
    c: Console,
    Path(file): Path<String>,
) -> Response {
    let Some((ext, mime)) =
        file.strip_prefix("export.").and_then(|ext| FORMATS.iter().find(|(e, _)| *e == ext)).copied()
    else {
        return super::not_found(&c);
    };
    let reg = match read(&s, &c).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let lang = c.t.lang();
    let body: Result<Vec<u8>, Response> = match ext {
        "xlsx" => register::to_xlsx(&reg, lang).map_err(|e| crate::problem::ApiError::from(e).into_response()),
        "csv" => Ok(register::to_csv(&reg, lang).into_bytes()),
        "json" => Ok(register::to_json(&reg).into_bytes()),
        _ => register::to_html(&reg, lang).map(String::into_bytes).map_err(|e| {
            tracing::error!(error = %e, "the register could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }),
    };
    let body = match body {
        Ok(b) => b,
        Err(r) => return r,
    };
    let name =
        format!("attachment; filename=\"register-{}-{}.{ext}\"", reg.generated_at.format("%Y-%m-%d"), lang.code());
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}
