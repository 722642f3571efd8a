//! The admin's pages: people's accounts (`/console/users`) and machines' tokens
//! (`/console/tokens`). No client's personal data: accounts show employees' emails to the
//! admin who manages them, tokens never their secret (but once, when created).

use super::{Console, Posted, render, role_key, with_status};
use crate::State;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vigie_app::AppError;
use vigie_app::accounts::AccountState;
use vigie_domain::access::Role;
use vigie_domain::policy::RecipientKind;
use vigie_ui::console::{ShownOnce, TokenLine, TokensPage, UserLine, UsersPage};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/users", get(users).post(create_user))
        .route("/console/users/{id}/disable", post(disable_user))
        .route("/console/users/{id}/reset", post(reset_user))
        .route("/console/tokens", get(tokens).post(create_token))
        .route("/console/tokens/{id}/revoke", post(revoke_token))
}

/// What a form changed, to show with the page.
#[derive(Default)]
struct Outcome {
    shown: Option<ShownOnce>,
    error: Option<String>,
    done: Option<String>,
    status: Option<StatusCode>,
}

impl Outcome {
    fn error(c: &Console, key: &str, status: StatusCode) -> Outcome {
        Outcome { error: Some(c.t.t(key).to_string()), status: Some(status), ..Outcome::default() }
    }
}

async fn users_page(s: &State, c: &Console, out: Outcome) -> Response {
    let list = match s.app.list_accounts(c.who()).await {
        Ok(l) => l,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let own = c.session.account;
    let users = list
        .into_iter()
        .map(|a| UserLine {
            id: a.id.to_string(),
            email: a.email,
            role: role_key(a.role),
            state: match a.state {
                AccountState::Active => "users.state_active",
                AccountState::MustChangePassword => "users.state_must_change",
                AccountState::Disabled => "users.state_disabled",
            },
            disabled: a.state == AccountState::Disabled,
            created_at: a.created_at,
            last_login_at: a.last_login_at,
            own: a.id == own,
        })
        .collect();
    let roles = Role::PEOPLE.iter().map(|r| (r.as_str(), role_key(*r))).collect();
    let view = UsersPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        users,
        roles,
        shown: out.shown,
        error: out.error,
        done: out.done,
    };
    with_status(render(&view), out.status.unwrap_or(StatusCode::OK))
}

async fn users(axum::extract::State(s): axum::extract::State<State>, c: Console) -> Response {
    users_page(&s, &c, Outcome::default()).await
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
    role: String,
}

/// Maps a refusal of an account operation to its sentence; another error is answered as such.
fn account_error(c: &Console, e: AppError) -> Result<Outcome, AppError> {
    Ok(match e {
        AppError::Invalid { field, .. } if field == "email" => {
            Outcome::error(c, "users.error_email", StatusCode::BAD_REQUEST)
        }
        AppError::Invalid { field, .. } if field == "role" => {
            Outcome::error(c, "users.error_role", StatusCode::BAD_REQUEST)
        }
        AppError::Invalid { field, .. } if field == "account" => {
            Outcome::error(c, "users.error_self", StatusCode::BAD_REQUEST)
        }
        AppError::Conflict(m) if m.contains("already exists") => {
            Outcome::error(c, "users.error_conflict", StatusCode::CONFLICT)
        }
        AppError::Conflict(_) | AppError::NotFound(_) => Outcome::error(c, "users.error_gone", StatusCode::NOT_FOUND),
        e => return Err(e),
    })
}

async fn create_user(axum::extract::State(s): axum::extract::State<State>, posted: Posted<NewUser>) -> Response {
    let Posted { console: c, form } = posted;
    let out = match s.app.create_account(c.who(), &form.email, &form.role, None).await {
        Ok(created) => Outcome {
            shown: created.password.map(|secret| ShownOnce {
                what: "users.created_shown",
                whom: form.email.trim().to_lowercase(),
                secret,
            }),
            status: Some(StatusCode::CREATED),
            ..Outcome::default()
        },
        Err(e) => match account_error(&c, e) {
            Ok(o) => o,
            Err(e) => return crate::problem::ApiError::from(e).into_response(),
        },
    };
    users_page(&s, &c, out).await
}

fn parse_id(raw: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).ok()
}

#[derive(Deserialize)]
struct Nothing {}

async fn disable_user(
    axum::extract::State(s): axum::extract::State<State>,
    Path(id): Path<String>,
    posted: Posted<Nothing>,
) -> Response {
    let c = posted.console;
    let Some(id) = parse_id(&id) else {
        return users_page(&s, &c, Outcome::error(&c, "users.error_gone", StatusCode::NOT_FOUND)).await;
    };
    let out = match s.app.disable_account(c.who(), id).await {
        Ok(()) => Outcome { done: Some(c.t.t("users.disabled_done").to_string()), ..Outcome::default() },
        Err(e) => match account_error(&c, e) {
            Ok(o) => o,
            Err(e) => return crate::problem::ApiError::from(e).into_response(),
        },
    };
    users_page(&s, &c, out).await
}

async fn reset_user(
    axum::extract::State(s): axum::extract::State<State>,
    Path(id): Path<String>,
    posted: Posted<Nothing>,
) -> Response {
    let c = posted.console;
    let Some(id) = parse_id(&id) else {
        return users_page(&s, &c, Outcome::error(&c, "users.error_gone", StatusCode::NOT_FOUND)).await;
    };
    let email = match s.app.list_accounts(c.who()).await {
        Ok(all) => all.into_iter().find(|a| a.id == id).map(|a| a.email).unwrap_or_default(),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let out = match s.app.reset_password(c.who(), id).await {
        Ok(secret) => {
            Outcome { shown: Some(ShownOnce { what: "users.reset_done", whom: email, secret }), ..Outcome::default() }
        }
        Err(e) => match account_error(&c, e) {
            Ok(o) => o,
            Err(e) => return crate::problem::ApiError::from(e).into_response(),
        },
    };
    users_page(&s, &c, out).await
}

async fn tokens_page(s: &State, c: &Console, out: Outcome) -> Response {
    let list = match s.app.list_tokens(c.who()).await {
        Ok(l) => l,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let now = s.app.now();
    let tokens = list
        .into_iter()
        .map(|k| {
            let (state, active) = match (k.revoked_at, k.expires_at) {
                (Some(_), _) => ("tokens.revoked", false),
                (None, Some(e)) if e <= now => ("tokens.expired", false),
                _ => ("tokens.active", true),
            };
            TokenLine {
                id: k.id.to_string(),
                role: role_key(k.role),
                recipient: k.recipient,
                created_at: k.created_at,
                last_used_at: k.last_used_at,
                expires_at: k.expires_at,
                state,
                active,
            }
        })
        .collect();
    let policy = s.app.policy();
    let recipients =
        policy.recipients.iter().filter(|r| r.kind == RecipientKind::External).map(|r| r.id.clone()).collect();
    let roles = Role::ALL.iter().map(|r| (r.as_str(), role_key(*r))).collect();
    let view = TokensPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        tokens,
        roles,
        recipients,
        shown: out.shown,
        error: out.error,
        done: out.done,
    };
    with_status(render(&view), out.status.unwrap_or(StatusCode::OK))
}

async fn tokens(axum::extract::State(s): axum::extract::State<State>, c: Console) -> Response {
    tokens_page(&s, &c, Outcome::default()).await
}

#[derive(Deserialize)]
struct NewToken {
    role: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    expires_in: String,
}

async fn create_token(axum::extract::State(s): axum::extract::State<State>, posted: Posted<NewToken>) -> Response {
    let Posted { console: c, form } = posted;
    // The service checks the role too; the console's page already required it.
    if let Err(e) = c.who().require(&[Role::Admin], "creating a token") {
        return crate::problem::ApiError::from(e).into_response();
    }
    let lifetime = match form.expires_in.trim() {
        "" => None,
        text => match vigie_app::auth::parse_lifetime(text) {
            Ok(l) => Some(l),
            Err(_) => {
                return tokens_page(&s, &c, Outcome::error(&c, "tokens.error_expires", StatusCode::BAD_REQUEST)).await;
            }
        },
    };
    let recipient = Some(form.recipient.trim()).filter(|r| !r.is_empty());
    let out = match s.app.create_token(c.who().actor(), &form.role, recipient, lifetime).await {
        Ok(issued) => Outcome {
            shown: Some(ShownOnce { what: "tokens.created_shown", whom: form.role.clone(), secret: issued.token }),
            status: Some(StatusCode::CREATED),
            ..Outcome::default()
        },
        Err(AppError::Invalid { field, .. }) if field == "recipient" => {
            Outcome::error(&c, "tokens.error_recipient", StatusCode::BAD_REQUEST)
        }
        Err(AppError::Invalid { .. }) => Outcome::error(&c, "tokens.error_role", StatusCode::BAD_REQUEST),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    tokens_page(&s, &c, out).await
}

async fn revoke_token(
    axum::extract::State(s): axum::extract::State<State>,
    Path(id): Path<String>,
    posted: Posted<Nothing>,
) -> Response {
    let c = posted.console;
    let Some(id) = parse_id(&id) else {
        return tokens_page(&s, &c, Outcome::error(&c, "tokens.error_gone", StatusCode::NOT_FOUND)).await;
    };
    let out = match s.app.revoke_token(c.who(), id).await {
        Ok(()) => Outcome { done: Some(c.t.t("tokens.revoked_done").to_string()), ..Outcome::default() },
        Err(AppError::NotFound(_)) => Outcome::error(&c, "tokens.error_gone", StatusCode::NOT_FOUND),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    tokens_page(&s, &c, out).await
}
