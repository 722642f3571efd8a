//! `/metrics`: Prometheus's text format (metrics-exporter-prometheus), behind a token of role
//! admin or auditor, or without a token on an address of its own (`vigie serve --metrics-listen`).
//!
//! Every label is a closed set: a route template (axum's `MatchedPath`, never the path itself),
//! a method, a status code, a refusal rule, a status of a request or a message. No personal
//! value, no subject, request or token id is ever a label. The counts read from the database
//! (requests by status, overdue requests, breaches past their 72 hours, the outbox) are read at
//! each scrape: a few counting statements over indexed or small tables in one read snapshot, off
//! the writer, exact at the time of the scrape, and nothing runs between scrapes.

use crate::State;
use crate::extract::Auth;
use crate::problem::{ApiResult, Problem};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use vigie_app::App;
use vigie_domain::access::Role;
use vigie_domain::records::{OutboxStatus, RequestStatus};

/// Latency buckets, in seconds (1 ms to 10 s).
const SECONDS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Group-commit sizes, in jobs.
const SIZES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use (None if another recorder was installed first).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .ok()?
                .set_buckets_for_metric(Matcher::Full("vigie_store_write_batch_size".into()), SIZES)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("metrics: another recorder is installed; /metrics answers 503");
                return None;
            }
            describe();
            // Histogram samples wait in buckets until upkeep folds them in: without it, a
            // server nobody scrapes would grow them without bound.
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new().name("vigie-metrics-upkeep".into()).spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("vigie_http_requests_total", "HTTP requests by method, route template and status");
    describe_histogram!(
        "vigie_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by method and route template"
    );
    describe_counter!("vigie_read_refusals_total", "Reads refused by the policy (audited), by rule");
    describe_histogram!("vigie_store_write_batch_size", "Jobs per group commit of the store's writer");
    describe_histogram!("vigie_store_commit_seconds", Unit::Seconds, "Time of the writer's commit (durable sync)");
    describe_histogram!(
        "vigie_store_write_batch_seconds",
        Unit::Seconds,
        "Time of a writer transaction, begin to commit"
    );
    describe_counter!("vigie_store_write_batches_total", "Writer transactions by outcome (committed, failed)");
    describe_counter!("vigie_outbox_sent_total", "Notices delivered");
    describe_counter!("vigie_outbox_failures_total", "Notice deliveries that failed (retried with back-off)");
    describe_gauge!("vigie_outbox_messages", "Outbox messages by status, at the scrape");
    describe_counter!("vigie_retention_sweeps_total", "Daily retention sweeps by outcome (done, braked, failed)");
    describe_counter!("vigie_erasures_total", "Subjects erased (sweep, retention apply, rights requests)");
    describe_gauge!("vigie_requests", "Rights requests by status, at the scrape");
    describe_gauge!("vigie_requests_overdue", "Open rights requests past their (extended) deadline");
    describe_gauge!(
        "vigie_breaches_past_72h",
        "Breaches with a risk not notified to the authority 72 hours after detection"
    );
}

/// A closed set of method labels: anything else is `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request by its route template (`/api/v1/subjects/{id}`), never its path.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let method = method_label(req.method());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16().to_string();
    metrics::counter!("vigie_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("vigie_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// `GET /metrics` on the main address: admin or auditor.
pub(crate) fn routes() -> axum::Router<State> {
    axum::Router::new().route("/metrics", get(scrape))
}

async fn scrape(axum::extract::State(s): axum::extract::State<State>, Auth(who): Auth) -> ApiResult<Response> {
    who.require(&[Role::Admin, Role::Auditor], "reading the metrics")?;
    Ok(render(&s.app).await)
}

/// The text exposition, with the database's counts read now.
async fn render(app: &App) -> Response {
    let Some(handle) = handle() else {
        return Problem::new(StatusCode::SERVICE_UNAVAILABLE, "no-metrics", "No metrics", "metrics are not recorded")
            .into_response();
    };
    match app.ops_counts().await {
        Ok(c) => {
            for s in RequestStatus::ALL {
                let n = c.requests.iter().find(|x| x.group == s.as_str()).map_or(0, |x| x.count);
                metrics::gauge!("vigie_requests", "status" => s.as_str()).set(n as f64);
            }
            for s in OutboxStatus::ALL {
                let n = c.outbox.iter().find(|x| x.group == s.as_str()).map_or(0, |x| x.count);
                metrics::gauge!("vigie_outbox_messages", "status" => s.as_str()).set(n as f64);
            }
            metrics::gauge!("vigie_requests_overdue").set(c.overdue_requests as f64);
            metrics::gauge!("vigie_breaches_past_72h").set(c.breaches_past_72h as f64);
        }
        // The counters still answer; the gauges keep their last values.
        Err(e) => tracing::warn!(error = %e, "metrics: the database's counts could not be read"),
    }
    handle.run_upkeep();
    let mut res = handle.render().into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
}

/// Serves `/metrics` alone, without a token, on its own listener (`--metrics-listen`), until the
/// process stops. Bind it to an address only the monitoring reaches.
pub async fn serve_metrics(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    handle();
    let router = axum::Router::new().route(
        "/metrics",
        get(move || {
            let app = app.clone();
            async move { render(&app).await }
        }),
    );
    axum::serve(listener, router).await
}
