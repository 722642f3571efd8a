//! Vigie's HTTP interface (SPEC 5.2, 5.3): JSON under `/api/v1`, described
//! by the OpenAPI document at `/api/v1/openapi.json` (viewer at
//! `/api/v1/docs`). Handlers only translate HTTP to `vigie-app` calls and
//! back; every rule lives in `vigie-app`.
//!
//! Request logs carry the method, the path (ids only) and the status, never
//! the query string (`?email=` is personal data) nor a body.

mod breaches;
mod extract;
mod form;
mod governance;
mod pages;
mod problem;
mod register;
mod requests;
mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use std::net::SocketAddr;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use vigie_app::App;

pub use problem::{ApiError, Problem};

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 256 * 1024;

#[derive(Clone)]
pub struct State {
    pub app: App,
}

/// The Content-Security-Policy of Vigie's HTML pages: inline styles only, forms to itself, never framed.
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn is_html(r: &Response) -> bool {
    r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"))
}

/// The whole HTTP application.
pub fn router(app: App) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(
        |req: &Request<_>| tracing::info_span!("http", method = %req.method(), path = %req.uri().path()),
    );
    routes::api()
        .merge(governance::routes())
        .merge(requests::routes())
        .merge(breaches::routes())
        .merge(form::routes())
        .merge(register::routes())
        .merge(pages::routes())
        // Vigie's own pages load nothing and run no script: the strictest policy fits them.
        // The OpenAPI viewer, merged after, runs its own bundled script.
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, |r: &Response| {
            is_html(r).then(|| HeaderValue::from_static(PAGE_CSP))
        }))
        .merge(utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", routes::openapi()))
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such resource; the API is described at /api/v1/openapi.json",
            )
        })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this resource does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Every answer may carry personal data: no cache keeps it, no browser guesses its type,
        // no page is framed, no address leaks through the referrer.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(trace)
        .with_state(State { app })
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown()).await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
