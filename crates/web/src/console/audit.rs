//! `/console/audit` (DPO, auditor): the audit trail, searched by action, actor, subject id and
//! dates (a GET form: ids and names only, never a personal value) and paged by `after`/`limit` as
//! `GET /api/v1/audit` pages it (`App::audit_search`, beside `App::audit_entries`); and, on demand
//! (`?verify=1`), the verification of its chain that `GET /api/v1/audit/verify` answers
//! (`App::verify_audit`), with the head it reached.

use super::{Console, render, with_status};
use crate::State;
use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;
use vigie_app::AppError;
use vigie_app::governance::trail::AuditFilter;
use vigie_ui::console::audit::{AuditLine, AuditPage, AuditSearchForm, Verified};

pub fn routes() -> Router<State> {
    Router::new().route("/console/audit", get(page))
}

/// The page's query: every value as text, read here so that a bad one is said in words.
#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    verify: String,
}

const DEFAULT_LIMIT: i64 = 50;

/// An action or an actor as recorded: letters, digits and `_ . : -` (ids and names, never an
/// address or a name).
fn reference(raw: &str) -> Result<Option<String>, &'static str> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > 100 || !v.chars().all(|ch| ch.is_ascii_alphanumeric() || "_.:-".contains(ch)) {
        return Err("console_audit.error_text");
    }
    Ok(Some(v.to_string()))
}

fn day(raw: &str) -> Result<Option<NaiveDate>, &'static str> {
    match raw.trim() {
        "" => Ok(None),
        v => NaiveDate::parse_from_str(v, "%Y-%m-%d").map(Some).map_err(|_| "console_audit.error_date"),
    }
}

/// The filter, `after` and `limit` of a query, or the sentence key of what is wrong with it.
fn parse(q: &AuditQuery) -> Result<(AuditFilter, i64, i64), &'static str> {
    let subject = match q.subject.trim() {
        "" => None,
        v => Some(uuid::Uuid::parse_str(v).map_err(|_| "console_audit.error_subject")?),
    };
    let filter = AuditFilter {
        action: reference(&q.action)?,
        actor: reference(&q.actor)?,
        subject,
        from: day(&q.from)?,
        to: day(&q.to)?,
    };
    if let (Some(f), Some(t)) = (filter.from, filter.to)
        && f > t
    {
        return Err("console_audit.error_dates");
    }
    let after = match q.after.trim() {
        "" => 0,
        v => v.parse::<i64>().map_err(|_| "console_audit.error_after")?,
    };
    let limit = match q.limit.trim() {
        "" => DEFAULT_LIMIT,
        // Its range is the service's to judge (as for the API): a refusal is said below.
        v => v.parse::<i64>().map_err(|_| "console_audit.error_limit")?,
    };
    Ok((filter, after, limit))
}

/// The query of this search with `after` set (none for the first page).
fn query_of(q: &AuditQuery, after: Option<i64>) -> String {
    let after = after.map(|a| a.to_string());
    let pairs: Vec<(&str, &str)> = [
        ("action", q.action.trim()),
        ("actor", q.actor.trim()),
        ("subject", q.subject.trim()),
        ("from", q.from.trim()),
        ("to", q.to.trim()),
        ("limit", q.limit.trim()),
        ("after", after.as_deref().unwrap_or("")),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// What kind of actor an entry names, in words (`user:<id>` is an account…).
fn actor_words(t: vigie_ui::Tr, actor: &str) -> Option<String> {
    let kind = actor.split(':').next().unwrap_or(actor);
    let key = format!("console_audit.actor_{kind}");
    vigie_ui::has(&key).then(|| t.t(&key).to_string())
}

async fn page(
    axum::extract::State(s): axum::extract::State<State>,
    c: Console,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let (q, unreadable) = match query {
        Ok(Query(q)) => (q, false),
        Err(_) => (AuditQuery::default(), true),
    };
    let form = AuditSearchForm {
        action: q.action.trim().to_string(),
        actor: q.actor.trim().to_string(),
        subject: q.subject.trim().to_string(),
        from: q.from.trim().to_string(),
        to: q.to.trim().to_string(),
        limit: match q.limit.trim() {
            "" => DEFAULT_LIMIT.to_string(),
            l => l.to_string(),
        },
    };
    let mut view = AuditPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        form,
        entries: Vec::new(),
        next: None,
        first: None,
        read_up_to: 0,
        error: None,
        verified: None,
    };
    if q.verify == "1" {
        let verified = async {
            let (head_seq, head_hash) = s.app.audit_head(c.who()).await?;
            let v = s.app.verify_audit().await?;
            Ok::<_, AppError>(Verified { entries: v.entries, valid: v.valid, head_seq, head_hash, problem: v.problem })
        };
        match verified.await {
            Ok(v) => view.verified = Some(v),
            Err(e) => return crate::problem::ApiError::from(e).into_response(),
        }
    }
    let parsed = if unreadable { Err("console_audit.error_text") } else { parse(&q) };
    let (filter, after, limit) = match parsed {
        Ok(p) => p,
        Err(key) => {
            view.error = Some(c.t.t(key).to_string());
            return with_status(render(&view), StatusCode::BAD_REQUEST);
        }
    };
    let found = match s.app.audit_search(c.who(), filter, after, limit).await {
        Ok(f) => f,
        Err(AppError::Invalid { .. }) => {
            view.error = Some(c.t.t("console_audit.error_limit").to_string());
            return with_status(render(&view), StatusCode::BAD_REQUEST);
        }
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    view.entries = found
        .entries
        .into_iter()
        .map(|e| AuditLine {
            seq: e.seq,
            at: e.at,
            allowed: e.outcome != "refused",
            outcome: match e.outcome.as_str() {
                "ok" => "console_audit.outcome_ok",
                "refused" => "console_audit.outcome_refused",
                _ => "console_audit.outcome_other",
            }
            .to_string(),
            actor_words: actor_words(c.t, &e.actor),
            actor: e.actor,
            action_words: {
                let key = format!("console_audit.actions.{}", e.action);
                vigie_ui::has(&key).then(|| c.t.t(&key).to_string())
            },
            action: e.action,
            subject_id: e.subject_id.map(|id| id.to_string()),
            purpose: e.purpose,
            fields: e.fields.join(", "),
            detail: e.detail,
        })
        .collect();
    view.read_up_to = found.read_up_to;
    view.next = found.next_after.map(|a| query_of(&q, Some(a)));
    view.first = (after > 0).then(|| query_of(&q, None));
    render(&view)
}
