//! `GET /console/`: the home of each role. The DPO's shows what needs them today, from the
//! same listing services as the API (the request register, the breach register, the retention
//! plan, the outbox); the others link to their pages.

use super::{Console, render};
use crate::State;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use vigie_domain::access::Role;
use vigie_domain::records::BreachStatus;
use vigie_ui::console::{BreachClock, DpoToday, HomePage, RequestDue};

/// Requests falling due within this many days are shown on the DPO's home.
const SOON_DAYS: i64 = 7;
/// Erasures due within this many days are counted on the DPO's home.
const ERASURE_DAYS: u64 = 30;

pub fn routes() -> Router<State> {
    Router::new().route("/console", get(|| async { super::see_other("/console/") })).route("/console/", get(home))
}

async fn home(axum::extract::State(s): axum::extract::State<State>, c: Console) -> Response {
    let role = c.who().role;
    let intro = match role {
        Role::Dpo => "home.intro_dpo",
        Role::Staff => "home.intro_staff",
        Role::Admin => "home.intro_admin",
        _ => "home.intro_auditor",
    };
    let dpo = if role == Role::Dpo {
        match dpo_today(&s, &c).await {
            Ok(d) => Some(d),
            Err(e) => return crate::problem::ApiError::from(e).into_response(),
        }
    } else {
        None
    };
    render(&HomePage { t: c.t, standalone: false, shell: c.shell(), dpo, intro })
}

async fn dpo_today(s: &State, c: &Console) -> vigie_app::Result<DpoToday> {
    let who = c.who();
    let requests = s.app.list_requests(who).await?;
    let open: Vec<_> = requests.iter().filter(|r| r.status.is_open()).collect();
    let urgent = open
        .iter()
        .filter(|r| r.overdue || r.days_left <= SOON_DAYS)
        .map(|r| RequestDue {
            id: r.id.to_string(),
            kind: format!("kind.{}", r.kind.as_str()),
            due_on: r.due_on,
            days_left: r.days_left,
            overdue: r.overdue,
        })
        .collect();
    let breaches = s
        .app
        .list_breaches(who)
        .await?
        .into_iter()
        .filter(|b| {
            b.authority_notified_at.is_none() && b.status != BreachStatus::Closed && b.no_notification_reasons.is_none()
        })
        .map(|b| BreachClock {
            id: b.id.to_string(),
            detected_at: b.detected_at,
            notify_by: b.notify_authority_by,
            hours_left: b.hours_left,
            late: b.late,
        })
        .collect();
    let today = s.app.now().date_naive();
    let by = today.checked_add_days(chrono::Days::new(ERASURE_DAYS)).unwrap_or(today);
    let plan = s.app.retention_plan(who, by, 0).await?;
    let failed = s.app.outbox(who, Some("failed"), 10_000).await?.len();
    let pending = s.app.outbox(who, Some("pending"), 10_000).await?.len();
    Ok(DpoToday {
        requests: urgent,
        open_requests: open.len(),
        breaches,
        erasure_due: plan.due_count,
        erasure_by: by,
        outbox_failed: failed,
        outbox_pending: pending,
    })
}
