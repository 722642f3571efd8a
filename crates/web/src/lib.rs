//! Vigie's HTTP interface (SPEC 5.2, 5.3): JSON under `/api/v1`, described
//! by the OpenAPI document at `/api/v1/openapi.json` (viewer at
//! `/api/v1/docs`). Handlers only translate HTTP to `vigie-app` calls and
//! back; every rule lives in `vigie-app`. The console (`/login`, `/console/…`,
//! module `console`) renders `vigie-ui` pages for people with an account, over the
//! same services.
//!
//! Request logs carry the method, the path (ids only; a confirmation link's token
//! is replaced by `{token}`) and the status, never the query string (`?email=` is
//! personal data) nor a body.

mod breaches;
mod console;
mod extract;
mod form;
mod governance;
mod limits;
pub mod metrics;
mod openapi;
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
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use vigie_app::App;

pub use problem::{ApiError, Problem};

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 256 * 1024;

#[derive(Clone)]
pub struct State {
    pub app: App,
    /// Submissions of the public form, per client address.
    pub(crate) form_limiter: std::sync::Arc<limits::PerAddress>,
    /// Openings and confirmations of identity confirmation links, per client address (as the form).
    pub(crate) confirm_limiter: std::sync::Arc<limits::PerAddress>,
    /// Token-authenticated calls, per client address (none: unlimited).
    pub(crate) api_limiter: Option<std::sync::Arc<limits::PerAddress>>,
    /// How long a console session lasts unused.
    pub(crate) session_idle: Duration,
    /// Failed logins per account (a hash of the email given) and per client address.
    pub(crate) login_by_account: std::sync::Arc<limits::Failures<[u8; 32]>>,
    pub(crate) login_by_address: std::sync::Arc<limits::Failures<std::net::IpAddr>>,
}

/// The Content-Security-Policy of Vigie's HTML pages: styles only from the one stylesheet
/// (served at `/static/vigie.css`, or inlined in a standalone document and allowed by its
/// hash), images only inline (charts), no script, forms to itself, never framed. No inline
/// style other than the stylesheet itself can apply.
fn page_csp() -> HeaderValue {
    static CSP: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
        let csp = format!(
            "default-src 'none'; style-src 'self' {}; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
            vigie_ui::stylesheet_hash()
        );
        HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
    });
    CSP.clone()
}

fn is_html(r: &Response) -> bool {
    r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"))
}

/// The whole HTTP application.
pub fn router(app: App, limits: &HttpLimits) -> Router {
    let form_limiter = std::sync::Arc::new(limits::PerAddress::per_minute(limits.form_per_minute, "submissions"));
    let confirm_limiter =
        std::sync::Arc::new(limits::PerAddress::per_minute(limits.form_per_minute, "confirmation attempts"));
    let api_limiter =
        limits.api_per_minute.map(|n| std::sync::Arc::new(limits::PerAddress::per_minute(n, "requests with a token")));
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        // A confirmation link's token confirms an identity: it never reaches a log.
        let path = req.uri().path();
        let path = if path.starts_with("/rights/confirm/") { "/rights/confirm/{token}" } else { path };
        tracing::info_span!("http", method = %req.method(), path = %path)
    });
    routes::api()
        .merge(governance::routes())
        .merge(requests::routes())
        .merge(breaches::routes())
        .merge(form::routes())
        .merge(register::routes())
        .merge(pages::routes())
        .merge(metrics::routes())
        .merge(console::routes())
        // Vigie's own pages load nothing and run no script: the strictest policy fits them.
        // The OpenAPI viewer, merged after, runs its own bundled script.
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, |r: &Response| {
            is_html(r).then(page_csp)
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
        .layer(axum::middleware::from_fn(read_small_body))
        // Every answer may carry personal data: no cache keeps it, no browser guesses its type,
        // no page is framed, no address leaks through the referrer.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // Counted and timed by route template, outermost but for the trace: every answer counts.
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(trace)
        .with_state(State {
            app,
            form_limiter,
            confirm_limiter,
            api_limiter,
            session_idle: limits.session_idle,
            login_by_account: std::sync::Arc::new(limits::Failures::per_minute(limits.login_failures_per_minute)),
            login_by_address: std::sync::Arc::new(limits::Failures::per_minute(
                limits.login_failures_per_minute.saturating_mul(std::num::NonZeroU32::MIN.saturating_add(3)),
            )),
        })
}

/// What a client may cost the server: set by `vigie serve` flags, defaults a sysadmin would choose.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// Time to send a request's headers, and to start the next request on a kept-alive connection.
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
    /// Connections served at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Submissions of the public rights form per client address and minute; as many openings and
    /// confirmations of identity confirmation links.
    pub form_per_minute: std::num::NonZeroU32,
    /// Token-authenticated calls per client address and minute; None: unlimited.
    pub api_per_minute: Option<std::num::NonZeroU32>,
    /// Failed console logins per account and minute before 429 (per client address: four times as many).
    pub login_failures_per_minute: std::num::NonZeroU32,
    /// How long a console session lasts unused before it expires (and is deleted).
    pub session_idle: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            form_per_minute: std::num::NonZeroU32::MIN.saturating_add(9),
            api_per_minute: std::num::NonZeroU32::new(60_000),
            login_failures_per_minute: std::num::NonZeroU32::MIN.saturating_add(4),
            session_idle: Duration::from_secs(30 * 60),
        }
    }
}

/// Reads a small request body (a `Content-Length` of at most [`BODY_LIMIT`]) before the route runs,
/// so that whatever the answer (a token refused, a path or an id that names nothing, a step refused
/// before the body is looked at) the body has been read and the connection stays usable: hyper
/// closes a connection whose request body was left unread, under a client that may already have
/// sent its next request on it. Larger and unsized bodies stream to the route, under its own limit.
async fn read_small_body(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| n > 0 && n <= BODY_LIMIT);
    if !small {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        Err(_) => axum::response::IntoResponse::into_response(Problem::new(
            StatusCode::BAD_REQUEST,
            "validation",
            "Invalid input",
            "the body could not be read",
        )),
    }
}

/// Serves with the default limits until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with(app, listener, HttpLimits::default()).await
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight. Each connection is
/// served by hyper with a header read timeout, each body under its own timeout, and no more
/// than `max_connections` at once: a slow or flooding client holds neither a connection nor a
/// file descriptor for long.
pub async fn serve_with(app: App, listener: tokio::net::TcpListener, limits: HttpLimits) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, ?limits, "listening");
    metrics::handle();
    let service = router(app, &limits).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(limits.body_timeout));
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(limits.header_timeout));
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = shutdown();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, for instance: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(max = limits.max_connections, "connection refused: too many at once");
            drop(stream);
            continue;
        };
        // Handlers see the client's address (rate limits), as axum's `ConnectInfo`.
        let peer_service =
            tower_http::add_extension::AddExtension::new(service.clone(), axum::extract::ConnectInfo(peer));
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(peer_service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    // In-flight requests finish; kept-alive idle connections close.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => tracing::warn!("shutdown: connections still open after 30 s"),
    }
    Ok(())
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
