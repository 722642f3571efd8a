//! The register of processing activities (GDPR Art. 30), generated from the
//! policy and the live data.

use crate::State;
use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use axum::routing::get;
use axum::{Json, Router};
use vigie_app::governance::register::Register;

pub fn routes() -> Router<State> {
    Router::new().route("/api/v1/register", get(register))
}

/// The register of processing activities with live counts (dpo, auditor). Its
/// reading is recorded in the audit trail. `vigie register export` writes it
/// as XLSX, CSV, JSON or HTML.
#[utoipa::path(get, path = "/api/v1/register",
    responses((status = 200, body = Register), (status = 403, description = "not a dpo or auditor", body = Problem)))]
pub async fn register(
    axum::extract::State(s): axum::extract::State<State>,
    Auth(who): Auth,
) -> ApiResult<Json<Register>> {
    Ok(Json(s.app.register(&who).await?))
}
