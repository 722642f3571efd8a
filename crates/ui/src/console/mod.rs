//! The console's pages (SPEC 5.4): one shell (the layout, a header with the navigation the
//! caller's role may use, the language switch and logout) and the pages on it. `web` decides
//! which pages exist and who may open them; these structs only carry what a page shows.
//!
//! A page on the shell is a struct with `t`, `standalone` and `shell` fields whose template
//! extends `console/shell.html` and fills its `title` and `main` blocks.

pub mod audit;
pub mod breaches;
pub mod policy;
pub mod register;
pub mod requests;
pub mod retention;
pub mod subjects;

use crate::Tr;
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};

/// One entry of the navigation.
#[derive(Clone, Debug)]
pub struct NavItem {
    pub href: &'static str,
    /// The sentence key of its label.
    pub label: &'static str,
    /// The page shown is this entry's (`aria-current`).
    pub current: bool,
}

/// What every console page shows around its content.
#[derive(Clone, Debug, Default)]
pub struct Shell {
    pub nav: Vec<NavItem>,
    /// The session's CSRF token, for the logout form (and every other form of the page).
    pub csrf: String,
    /// The sentence key of the caller's role (`role.dpo`).
    pub role: &'static str,
    /// The page's path, for the language switch to come back to.
    pub path: String,
}

/// `GET /login`, and a refused `POST /login`.
#[derive(Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    pub t: Tr,
    pub standalone: bool,
    /// The sentence key of a message (refused, too many attempts, logged out…), if any.
    pub message: Option<&'static str>,
    /// Whether the message reports a failure (shown as an error, announced at once).
    pub failed: bool,
}

/// `GET /console/password`: a new password (required after a generated one).
#[derive(Template)]
#[template(path = "console/password.html")]
pub struct PasswordPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    /// The password in force was generated: nothing else opens before it is changed.
    pub forced: bool,
    /// A sentence (already translated) saying what was wrong with the last attempt.
    pub error: Option<String>,
    pub min: usize,
}

/// An open request whose deadline is near or past.
#[derive(Clone, Debug)]
pub struct RequestDue {
    pub id: String,
    /// The sentence key of its kind (`kind.access`).
    pub kind: String,
    pub due_on: NaiveDate,
    pub days_left: i64,
    pub overdue: bool,
}

/// A breach whose 72-hour clock runs: the authority is not notified yet.
#[derive(Clone, Debug)]
pub struct BreachClock {
    pub id: String,
    pub detected_at: DateTime<Utc>,
    pub notify_by: DateTime<Utc>,
    pub hours_left: i64,
    pub late: bool,
}

/// What needs the DPO today.
#[derive(Clone, Debug)]
pub struct DpoToday {
    pub requests: Vec<RequestDue>,
    /// Open requests (all of them, the urgent ones above included).
    pub open_requests: usize,
    pub breaches: Vec<BreachClock>,
    /// Subjects whose retention ends before `erasure_by`, held ones apart.
    pub erasure_due: usize,
    pub erasure_by: NaiveDate,
    pub outbox_failed: usize,
    pub outbox_pending: usize,
}

/// `GET /console/`: the home page of the caller's role.
#[derive(Template)]
#[template(path = "console/home.html")]
pub struct HomePage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    /// The DPO's day; None for the other roles.
    pub dpo: Option<DpoToday>,
    /// The sentence key introducing the role's home.
    pub intro: &'static str,
}

/// A console page the caller's role may not open (403), with the rule; or no such page (404).
#[derive(Template)]
#[template(path = "console/refused.html")]
pub struct RefusedPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    /// The sentence key of the title (`console.forbidden`, `console.not_found`).
    pub title: &'static str,
    /// The rule, already translated.
    pub rule: String,
}

/// An account, as the admin's list shows it.
#[derive(Clone, Debug)]
pub struct UserLine {
    pub id: String,
    pub email: String,
    /// The sentence key of its role and state.
    pub role: &'static str,
    pub state: &'static str,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// The caller's own account (not disabled from here).
    pub own: bool,
}

/// A secret shown once: a generated password or a new token.
#[derive(Clone, Debug)]
pub struct ShownOnce {
    /// The sentence key saying what it is (`users.created`, `users.reset`, `tokens.created`).
    pub what: &'static str,
    /// Who or what it belongs to (an email, a role).
    pub whom: String,
    pub secret: String,
}

/// `GET /console/users` (admin): accounts, and the forms to create, disable and reset them.
#[derive(Template)]
#[template(path = "console/users.html")]
pub struct UsersPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub users: Vec<UserLine>,
    /// (value, sentence key) of the roles an account may have.
    pub roles: Vec<(&'static str, &'static str)>,
    pub shown: Option<ShownOnce>,
    pub error: Option<String>,
    pub done: Option<String>,
}

/// A token, as the admin's list shows it (never its secret).
#[derive(Clone, Debug)]
pub struct TokenLine {
    pub id: String,
    pub role: &'static str,
    pub recipient: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The sentence key of its state (`tokens.active`, `tokens.expired`, `tokens.revoked`).
    pub state: &'static str,
    pub active: bool,
}

/// `GET /console/tokens` (admin): tokens, and the forms to create (with an expiry) and revoke them.
#[derive(Template)]
#[template(path = "console/tokens.html")]
pub struct TokensPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub tokens: Vec<TokenLine>,
    /// (value, sentence key) of the roles a token may have.
    pub roles: Vec<(&'static str, &'static str)>,
    /// The external recipients a recipient token may be bound to.
    pub recipients: Vec<String>,
    pub shown: Option<ShownOnce>,
    pub error: Option<String>,
    pub done: Option<String>,
}
