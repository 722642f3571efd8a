//! `/console/breaches`: still to come, said plainly within the shell.

use super::{Console, coming};
use crate::State;
use axum::Router;
use axum::routing::get;

pub fn routes() -> Router<State> {
    Router::new().route("/console/breaches", get(|c: Console| async move { coming(&c, "nav.breaches") }))
}
