//! `/login`, `/logout` and `/console/password`.
//!
//! `POST /login` takes exactly the form fields `email` and `password`: a login form has no
//! session to bind a CSRF token to, so it is protected by the `Origin` / `Sec-Fetch-Site`
//! check instead (a login CSRF would need a cross-site post, which is refused). It answers 303
//! to `/console/` with a new session cookie; a wrong email or password answers the form again,
//! 401, with one message that says neither which was wrong nor sets a cookie; after repeated
//! failures for one account (a hash of its email) or one client address, 429 with Retry-After,
//! before any password is checked.

use super::{Console, Posted, render, same_origin, see_other, session_cookie, with_status};
use crate::State;
use crate::form::Peer;
use axum::Router;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vigie_app::AppError;
use vigie_app::accounts::{Login, MAX_PASSWORD, MIN_PASSWORD};
use vigie_ui::Tr;
use vigie_ui::console::{LoginPage, PasswordPage};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/login", get(form).post(submit))
        .route("/logout", post(logout))
        .route("/console/password", get(password_form).post(change_password))
}

/// The request's head, for the language, the cookie and the origin check.
struct Head(Parts);

impl<S: Send + Sync> FromRequestParts<S> for Head {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Head(parts.clone()))
    }
}

fn login_page(t: Tr, message: Option<&'static str>, failed: bool, status: StatusCode) -> Response {
    with_status(render(&LoginPage { t, standalone: false, message, failed }), status)
}

fn throttled(t: Tr, wait: std::time::Duration) -> Response {
    let mut r = login_page(t, Some("login.throttled"), true, StatusCode::TOO_MANY_REQUESTS);
    let secs = wait.as_secs().max(1).to_string();
    if let Ok(v) = HeaderValue::from_str(&secs) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// `GET /login`: the form; a person already logged in goes to the console.
async fn form(axum::extract::State(s): axum::extract::State<State>, Head(parts): Head) -> Response {
    let t = Tr(super::lang_of(&parts));
    if let Some(secret) = super::cookie(&parts.headers, super::SESSION_COOKIE)
        && let Ok(Some(_)) = s.app.session(secret, s.session_idle).await
    {
        return see_other("/console/");
    }
    let out = parts.uri.query().is_some_and(|q| q.split('&').any(|kv| kv == "out=1"));
    login_page(t, out.then_some("login.logged_out"), false, StatusCode::OK)
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`.
async fn submit(
    axum::extract::State(s): axum::extract::State<State>,
    Peer(peer): Peer,
    Head(parts): Head,
    body: Bytes,
) -> Response {
    let t = Tr(super::lang_of(&parts));
    if !same_origin(&parts.headers) {
        return login_page(t, Some("console.csrf"), true, StatusCode::FORBIDDEN);
    }
    if let Some(wait) = peer.and_then(|ip| s.login_by_address.blocked(&ip)) {
        return throttled(t, wait);
    }
    let creds: Credentials =
        serde_urlencoded::from_bytes(&body).unwrap_or(Credentials { email: String::new(), password: String::new() });
    let account_key = vigie_app::accounts::throttle_key(&creds.email);
    if let Some(wait) = s.login_by_account.blocked(&account_key) {
        return throttled(t, wait);
    }
    let outcome = if creds.email.is_empty() || creds.password.is_empty() || creds.password.len() > 4 * MAX_PASSWORD {
        Ok(Login::Refused)
    } else {
        s.app.login(&creds.email, &creds.password).await
    };
    match outcome {
        Ok(Login::Accepted(l)) => {
            // A session the browser still held is ended: a login always starts a new id.
            if let Some(old) = super::cookie(&parts.headers, super::SESSION_COOKIE)
                && let Err(e) = s.app.logout(old).await
            {
                tracing::warn!(error = %e, "the previous session could not be ended at login");
            }
            let mut r = see_other("/console/");
            r.headers_mut().insert(header::SET_COOKIE, session_cookie(Some(&l.session), &parts.headers, &parts.uri));
            r
        }
        Ok(Login::Refused) => {
            let by_account = s.login_by_account.failed(&account_key);
            let by_address = peer.and_then(|ip| s.login_by_address.failed(&ip));
            match by_account.or(by_address) {
                Some(wait) => throttled(t, wait),
                None => login_page(t, Some("login.refused"), true, StatusCode::UNAUTHORIZED),
            }
        }
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct Nothing {}

/// `POST /logout` (with the CSRF token): the session is deleted, the cookie cleared.
async fn logout(
    axum::extract::State(s): axum::extract::State<State>,
    Head(parts): Head,
    posted: Posted<Nothing>,
) -> Response {
    if let Err(e) = s.app.logout(&posted.console.secret).await {
        return crate::problem::ApiError::from(e).into_response();
    }
    let mut r = see_other("/login?out=1");
    r.headers_mut().insert(header::SET_COOKIE, session_cookie(None, &parts.headers, &parts.uri));
    r
}

fn password_page(c: &Console, error: Option<String>, status: StatusCode) -> Response {
    let view = PasswordPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        forced: c.session.must_change,
        error,
        min: MIN_PASSWORD,
    };
    with_status(render(&view), status)
}

async fn password_form(c: Console) -> Response {
    password_page(&c, None, StatusCode::OK)
}

#[derive(Deserialize)]
struct NewPassword {
    current_password: String,
    new_password: String,
    confirm: String,
}

/// `POST /console/password`: the current password, and the new one twice.
async fn change_password(
    axum::extract::State(s): axum::extract::State<State>,
    posted: Posted<NewPassword>,
) -> Response {
    let Posted { console: c, form: f } = posted;
    let t = c.t;
    if f.new_password != f.confirm {
        return password_page(&c, Some(t.t("password.mismatch").to_string()), StatusCode::BAD_REQUEST);
    }
    match s.app.change_password(&c.session, &c.secret, &f.current_password, &f.new_password).await {
        Ok(()) => see_other("/console/"),
        Err(AppError::Invalid { field, message }) => {
            let n = |v: usize| v.to_string();
            let text = match field.as_str() {
                "current_password" => t.t("password.wrong_current").to_string(),
                _ if message.contains("differ") => t.t("password.same").to_string(),
                _ if message.contains("at most") => t.f("password.too_long", &[("n", &n(MAX_PASSWORD))]),
                _ => t.f("password.too_short", &[("n", &n(MIN_PASSWORD))]),
            };
            password_page(&c, Some(text), StatusCode::BAD_REQUEST)
        }
        Err(e) => crate::problem::ApiError::from(e).into_response(),
    }
}
