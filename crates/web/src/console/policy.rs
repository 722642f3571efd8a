//! `/console/policy` (DPO): the policy's versions (the service behind `GET /api/v1/policy/versions`),
//! what a pending revision changes against the version in force (`App::policy_changes`, the diff its
//! upload reported), how far its notices went (the outbox, as `GET /api/v1/outbox` reads it), the
//! Art. 6(4) assessments it needs (recorded through `App::assess_revision`, as `POST …/assessments`),
//! and its activation after a confirmation (`App::activate_policy`, as `POST …/activate`): a refusal
//! is shown with its reason, and nothing changes.

use super::{Console, Posted, render, see_other, with_status};
use crate::State;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vigie_app::AppError;
use vigie_app::governance::revisions::{self, Change, NewAssessment, VersionView};
use vigie_domain::Policy;
use vigie_domain::records::{OutboxStatus, PolicyStatus};
use vigie_ui::Tr;
use vigie_ui::console::policy::{ChangeLine, FlaggedLine, NoticeProgress, PolicyPage, VersionLine};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/policy", get(page))
        .route("/console/policy/{version}/activate", post(activate))
        .route("/console/policy/{version}/assessments", post(assess))
}

/// What a form did, to show with the page.
#[derive(Default)]
struct Outcome {
    error: Option<String>,
    detail: Option<String>,
    done: Option<String>,
    status: Option<StatusCode>,
}

impl Outcome {
    fn error(c: &Console, key: &str, status: StatusCode) -> Outcome {
        Outcome { error: Some(c.t.t(key).to_string()), status: Some(status), ..Outcome::default() }
    }

    /// A refusal of the service: the page's sentence, then the service's own statement of the rule.
    fn refused(c: &Console, key: &str, e: AppError) -> Result<Outcome, AppError> {
        let status = match &e {
            AppError::NotFound(_) => {
                return Ok(Outcome::error(c, "console_policy.error_unknown", StatusCode::NOT_FOUND));
            }
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
            _ => return Err(e),
        };
        let detail = match e {
            AppError::Invalid { message, .. } => message,
            e => e.to_string(),
        };
        Ok(Outcome { error: Some(c.t.t(key).to_string()), detail: Some(detail), status: Some(status), done: None })
    }
}

/// A token of the policy (a basis, a kind, a category) in words, when the register names it.
fn token_words(t: Tr, token: &str) -> String {
    for part in ["register.basis", "register.kind", "register.category"] {
        let key = format!("{part}.{token}");
        if vigie_ui::has(&key) {
            return t.t(&key).to_string();
        }
    }
    token.to_string()
}

/// A value of the diff (`client: consent, prospect: legitimate_interest`) with its tokens in words.
fn words(t: Tr, text: &str) -> String {
    // A purpose added: `Name (client: consent, …)`.
    if let Some((name, rest)) = text.split_once(" (")
        && let Some(inner) = rest.strip_suffix(')')
    {
        return format!("{name} ({})", words(t, inner));
    }
    // A retention: `3 years after last_inbound_contact`.
    if let Some((n, basis)) = text.split_once(" years after ")
        && let Ok(n) = n.parse::<i64>()
    {
        let key = format!("register.retention.{basis}");
        if vigie_ui::has(&key) {
            return t.f(&key, &[("years", &t.n("common.years", n))]);
        }
    }
    text.split(", ")
        .map(|item| match item.split_once(": ") {
            Some((k, v)) => format!("{}{}{}", token_words(t, k), t.t("common.colon"), token_words(t, v)),
            None => token_words(t, item),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn change_line(t: Tr, c: Change) -> ChangeLine {
    let section = format!("console_policy.section.{}", c.section);
    let change = format!("console_policy.change.{}", c.change);
    ChangeLine {
        section: if vigie_ui::has(&section) { section } else { "console_policy.section.other".into() },
        item: c.item,
        change: if vigie_ui::has(&change) { change } else { "console_policy.change.changed".into() },
        before: c.before.map(|b| words(t, &b)),
        after: c.after.map(|a| words(t, &a)),
    }
}

fn state_key(s: PolicyStatus) -> &'static str {
    match s {
        PolicyStatus::Pending => "console_policy.state.pending",
        PolicyStatus::Active => "console_policy.state.active",
        PolicyStatus::Superseded => "console_policy.state.superseded",
    }
}

async fn policy_page(s: &State, c: &Console, out: Outcome) -> Response {
    let versions = match s.app.policy_versions().await {
        Ok(v) => v,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    // Notices given up on, per version (the outbox as the API reads it).
    let failed = match s.app.outbox(c.who(), Some(OutboxStatus::Failed.as_str()), 10_000).await {
        Ok(m) => m,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let policy = s.app.policy();
    let t = c.t;
    let mut lines = Vec::with_capacity(versions.len());
    for v in versions {
        let (revision, changes) = if v.status == PolicyStatus::Pending {
            match s.app.policy_revision(c.who(), &v.version).await {
                Ok((p, list)) => (Some(p), list.into_iter().map(|ch| change_line(t, ch)).collect()),
                Err(e) => return crate::problem::ApiError::from(e).into_response(),
            }
        } else {
            (None, Vec::new())
        };
        let gave_up = failed
            .iter()
            .filter(|m| m.template == revisions::TEMPLATE && m.params["version"].as_str() == Some(v.version.as_str()))
            .count() as i64;
        lines.push(version_line(t, revision.as_ref().unwrap_or(&*policy), v, changes, gave_up));
    }
    let view = PolicyPage {
        t,
        standalone: false,
        shell: c.shell(),
        current: policy.version.clone(),
        versions: lines,
        error: out.error,
        detail: out.detail,
        done: out.done,
    };
    with_status(render(&view), out.status.unwrap_or(StatusCode::OK))
}

/// A version's line; `policy` names the purposes (the revision's own names for a pending one).
fn version_line(t: Tr, policy: &Policy, v: VersionView, changes: Vec<ChangeLine>, failed: i64) -> VersionLine {
    let purpose_name = |id: &str| policy.purpose(id).map_or_else(|| id.to_string(), |p| t.of(&p.name).to_string());
    let flagged: Vec<FlaggedLine> = v
        .compatibility_assessment_required
        .iter()
        .map(|f| {
            let assessed = v
                .assessments
                .iter()
                .find(|a| a.purpose == f.purpose && a.kind == f.kind && a.from == f.from && a.to == f.to);
            FlaggedLine {
                purpose: purpose_name(&f.purpose),
                value: format!("{}/{}", f.purpose, f.kind.as_str()),
                kind: token_words(t, f.kind.as_str()),
                from: f.from.map(|b| token_words(t, b.as_str())),
                to: token_words(t, f.to.as_str()),
                compatible: assessed.map(|a| a.compatible),
                reasoning: assessed.map(|a| a.reasoning.clone()),
                assessed_at: assessed.map(|a| a.assessed_at),
            }
        })
        .collect();
    let queued = v.notices.queued;
    let not_sent = v.notices.pending;
    VersionLine {
        state: state_key(v.status),
        pending: v.status == PolicyStatus::Pending,
        effective_date: v.effective_date,
        uploaded_at: v.uploaded_at,
        activated_at: v.activated_at,
        notices: NoticeProgress {
            queued,
            sent: queued - not_sent,
            pending: (not_sent - failed).max(0),
            failed: failed.min(not_sent),
        },
        changes,
        missing: v.missing_assessments.len(),
        flagged,
        version: v.version,
    }
}

#[derive(Deserialize)]
struct Done {
    activated: Option<String>,
    assessed: Option<String>,
}

async fn page(
    axum::extract::State(s): axum::extract::State<State>,
    c: Console,
    done: Result<Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let mut out = Outcome::default();
    if let Ok(Query(d)) = done {
        let versions = s.app.policy_versions().await.unwrap_or_default();
        // Said only when true: the version named is the one in force.
        if let Some(v) = d.activated
            && versions.iter().any(|x| x.version == v && x.status == PolicyStatus::Active)
        {
            out.done = Some(c.t.f("console_policy.activated_done", &[("version", &v)]));
        } else if d.assessed.is_some() {
            out.done = Some(c.t.t("console_policy.assessed_done").to_string());
        }
    }
    policy_page(&s, &c, out).await
}

#[derive(Deserialize)]
struct Activate {
    #[serde(default)]
    confirm: String,
}

async fn activate(
    axum::extract::State(s): axum::extract::State<State>,
    Path(version): Path<String>,
    posted: Posted<Activate>,
) -> Response {
    let Posted { console: c, form } = posted;
    if form.confirm != "yes" {
        return policy_page(&s, &c, Outcome::error(&c, "console_policy.error_confirm", StatusCode::BAD_REQUEST)).await;
    }
    match s.app.activate_policy(c.who(), &version).await {
        Ok(v) => see_other(&format!(
            "/console/policy?{}",
            serde_urlencoded::to_string([("activated", v.version)]).unwrap_or_default()
        )),
        Err(e) => match Outcome::refused(&c, "console_policy.error_refused", e) {
            Ok(out) => policy_page(&s, &c, out).await,
            Err(e) => crate::problem::ApiError::from(e).into_response(),
        },
    }
}

#[derive(Deserialize)]
struct Assess {
    #[serde(default)]
    change: String,
    #[serde(default)]
    compatible: String,
    #[serde(default)]
    reasoning: String,
}

async fn assess(
    axum::extract::State(s): axum::extract::State<State>,
    Path(version): Path<String>,
    posted: Posted<Assess>,
) -> Response {
    let Posted { console: c, form } = posted;
    let compatible = match form.compatible.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return policy_page(&s, &c, Outcome::error(&c, "console_policy.error_conclusion", StatusCode::BAD_REQUEST))
                .await;
        }
    };
    let (purpose, kind) = match form.change.split_once('/') {
        Some((p, k)) => (Some(p.to_string()), Some(k.to_string())),
        None if form.change == "all" || form.change.is_empty() => (None, None),
        None => {
            return policy_page(&s, &c, Outcome::error(&c, "console_policy.error_change", StatusCode::BAD_REQUEST))
                .await;
        }
    };
    let input = NewAssessment { purpose, kind, compatible, reasoning: form.reasoning };
    match s.app.assess_revision(c.who(), &version, input).await {
        Ok(_) => see_other("/console/policy?assessed=1"),
        Err(AppError::Invalid { field, .. }) if field == "reasoning" => {
            policy_page(&s, &c, Outcome::error(&c, "console_policy.error_reasoning", StatusCode::BAD_REQUEST)).await
        }
        Err(e) => match Outcome::refused(&c, "console_policy.error_assess_refused", e) {
            Ok(out) => policy_page(&s, &c, out).await,
            Err(e) => crate::problem::ApiError::from(e).into_response(),
        },
    }
}
