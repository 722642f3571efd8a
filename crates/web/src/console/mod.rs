//! The console (SPEC 5.4): server-rendered pages behind `/login`, for people with an account.
//!
//! **Adding a page**: a line in [`PAGES`] (its path, the roles that may open it, its label in
//! the navigation), a handler that takes a [`Console`] (GET) or a [`Posted`] form (POST) and
//! answers [`render`] of a view from `vigie_ui::console`, and its route in [`routes`]. The
//! extractors do the rest, in this order, for every page:
//!
//! 1. no valid session (none, unknown, idle too long, account disabled): 303 to `/login`,
//!    whatever the path, so that no one learns which pages exist;
//! 2. a generated password not yet changed: 303 to `/console/password`;
//! 3. a page of [`PAGES`] whose roles exclude the caller's: 403, naming the rule;
//! 4. for a POST: a cross-site `Origin` or `Sec-Fetch-Site`, or a missing or wrong CSRF token
//!    (the session's, in the form's hidden `csrf` field or an `X-CSRF-Token` header, compared
//!    in constant time): 403, and nothing is done.
//!
//! The handlers call the same `vigie_app` services as the API, with the session's
//! [`Principal`](vigie_app::auth::Principal): the role checks, the rules and the audit entries
//! (`user:<account id>`) are the services' own.

mod admin;
mod audit;
mod breaches;
mod home;
mod login;
mod policy;
mod register;
mod requests;
mod retention;
mod subjects;

use crate::State;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use vigie_app::accounts::Session;
use vigie_domain::access::Role;
use vigie_ui::console::{NavItem, RefusedPage, Shell};
use vigie_ui::{Lang, Tr};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "vigie_session";
/// The language cookie's name (set by `?lang=fr|en` on any console page or `/login`).
const LANG_COOKIE: &str = "lang";

/// A page of the console: where it is, who may open it, how the navigation names it.
pub(crate) struct Page {
    pub path: &'static str,
    pub roles: &'static [Role],
    /// The sentence key of its navigation entry.
    pub nav: &'static str,
}

const EVERYONE: &[Role] = Role::PEOPLE;

/// Every page of the console, in the navigation's order. A path below a page's (`/console/requests/…`)
/// belongs to that page and needs its roles.
pub(crate) const PAGES: &[Page] = &[
    Page { path: "/console/", roles: EVERYONE, nav: "nav.home" },
    Page { path: "/console/requests", roles: &[Role::Dpo], nav: "nav.requests" },
    Page { path: "/console/breaches", roles: &[Role::Dpo], nav: "nav.breaches" },
    Page { path: "/console/retention", roles: &[Role::Dpo], nav: "nav.retention" },
    Page { path: "/console/subjects", roles: &[Role::Staff, Role::Dpo], nav: "nav.subjects" },
    Page { path: "/console/register", roles: &[Role::Dpo, Role::Auditor], nav: "nav.register" },
    Page { path: "/console/audit", roles: &[Role::Dpo, Role::Auditor], nav: "nav.audit" },
    Page { path: "/console/policy", roles: &[Role::Dpo], nav: "nav.policy" },
    Page { path: "/console/users", roles: &[Role::Admin], nav: "nav.users" },
    Page { path: "/console/tokens", roles: &[Role::Admin], nav: "nav.tokens" },
    Page { path: "/console/password", roles: EVERYONE, nav: "nav.password" },
];

/// The page a path belongs to, if any.
fn page_of(path: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| {
        if p.path.ends_with('/') {
            path == p.path
        } else {
            path == p.path || path.strip_prefix(p.path).is_some_and(|rest| rest.starts_with('/'))
        }
    })
}

pub fn routes() -> Router<State> {
    Router::new()
        .merge(login::routes())
        .merge(home::routes())
        .merge(admin::routes())
        .merge(requests::routes())
        .merge(breaches::routes())
        .merge(retention::routes())
        .merge(subjects::routes())
        .merge(register::routes())
        .merge(audit::routes())
        .merge(policy::routes())
        // Any other path of the console: a session first (303 to /login without one), then 404.
        .route("/console/{*rest}", axum::routing::any(|c: Console| async move { not_found(&c) }))
        .layer(axum::middleware::from_fn(remember_lang))
}

fn not_found(c: &Console) -> Response {
    c.refusal(StatusCode::NOT_FOUND, "console.not_found", c.t.t("console.no_page"))
}

/// A view rendered as an HTML answer.
pub(crate) fn render(view: &impl vigie_ui::Template) -> Response {
    crate::pages::page(view)
}

pub(crate) fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

/// A 303 to `to`.
pub(crate) fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The value of a cookie of the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether the request came over HTTPS (a proxy in front says so with `X-Forwarded-Proto`).
fn over_https(parts_headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    uri.scheme_str() == Some("https")
        || parts_headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
}

/// The session cookie: HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS. `None` clears it.
pub(crate) fn session_cookie(value: Option<&str>, headers: &HeaderMap, uri: &axum::http::Uri) -> HeaderValue {
    let secure = if over_https(headers, uri) { "; Secure" } else { "" };
    let text = match value {
        Some(v) => format!("{SESSION_COOKIE}={v}; HttpOnly; SameSite=Strict; Path=/{secure}"),
        None => format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether a state-changing request comes from Vigie's own pages. A browser that sends Fetch
/// Metadata is judged by it: `Sec-Fetch-Site` must be `same-origin` (or `none`: the person typed
/// it). Otherwise an `Origin` naming another host is refused; `Origin: null` (what browsers send
/// under `Referrer-Policy: no-referrer`) and no `Origin` at all (not a browser) say nothing, and the
/// CSRF token decides alone.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None | Some(Ok("null")) => true,
        Some(Err(_)) => false,
        Some(Ok(origin)) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
            !host.is_empty() && authority.eq_ignore_ascii_case(host)
        }
    }
}

/// The language of a page: `?lang=` if valid, else the `lang` cookie, else French.
pub(crate) fn lang_of(parts: &Parts) -> Lang {
    let asked = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(|l| l.parse::<Lang>().ok());
    asked.or_else(|| cookie(&parts.headers, LANG_COOKIE).and_then(|l| l.parse().ok())).unwrap_or_default()
}

/// `?lang=fr|en` on a console page or `/login` is remembered in a cookie for the next pages.
async fn remember_lang(req: Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = req.into_parts();
    let asked = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(|l| l.parse::<Lang>().ok());
    let mut res = next.run(Request::from_parts(parts, body)).await;
    if let Some(lang) = asked {
        let text = format!("{LANG_COOKIE}={}; SameSite=Strict; Path=/; Max-Age=31536000", lang.code());
        if let Ok(v) = HeaderValue::from_str(&text) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// The sentence key of a role.
pub(crate) fn role_key(r: Role) -> &'static str {
    match r {
        Role::Admin => "role.admin",
        Role::Dpo => "role.dpo",
        Role::Staff => "role.staff",
        Role::Auditor => "role.auditor",
        Role::Recipient => "role.recipient",
    }
}

/// A console request with a valid session, on a page the caller's role may open.
pub(crate) struct Console {
    pub session: Session,
    /// The session id the cookie carries (for logout and the password change).
    pub secret: String,
    pub t: Tr,
    pub path: String,
}

impl Console {
    /// The shell of the caller's pages: the navigation of its role, its CSRF token.
    pub fn shell(&self) -> Shell {
        let role = self.session.principal.role;
        let current = page_of(&self.path).map(|p| p.path);
        let nav = PAGES
            .iter()
            .filter(|p| p.roles.contains(&role))
            .map(|p| NavItem { href: p.path, label: p.nav, current: Some(p.path) == current })
            .collect();
        Shell { nav, csrf: self.session.csrf.clone(), role: role_key(role), path: self.path.clone() }
    }

    pub fn who(&self) -> &vigie_app::auth::Principal {
        &self.session.principal
    }

    /// The 403 of a page the caller's role may not open: the rule, in words.
    fn refused(&self, page: &Page) -> Response {
        let roles: Vec<&str> = page.roles.iter().map(|r| self.t.t(role_key(*r))).collect();
        let rule = self.t.f(
            "console.rule_roles",
            &[("roles", &roles.join(" / ")), ("role", self.t.t(role_key(self.session.principal.role)))],
        );
        self.refusal(StatusCode::FORBIDDEN, "console.forbidden", rule)
    }

    /// A page of the shell saying why nothing was done: its title's sentence key and the rule in words.
    pub fn refusal(&self, status: StatusCode, title: &'static str, rule: impl Into<String>) -> Response {
        let view = RefusedPage { t: self.t, standalone: false, shell: self.shell(), title, rule: rule.into() };
        with_status(render(&view), status)
    }

    /// A 403 for a form without the session's CSRF token (or from another site).
    pub fn csrf_refused(&self) -> Response {
        self.refusal(StatusCode::FORBIDDEN, "console.forbidden", self.t.t("console.csrf"))
    }
}

impl FromRequestParts<State> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        let t = Tr(lang_of(parts));
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string) else {
            return Err(see_other("/login"));
        };
        let session = match state.app.session(&secret, state.session_idle).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(see_other("/login")),
            Err(e) => return Err(crate::problem::ApiError::from(e).into_response()),
        };
        let path = parts.uri.path().to_string();
        let c = Console { session, secret, t, path };
        // A generated password opens nothing but the page that replaces it (and logout).
        if c.session.must_change && c.path != "/console/password" && c.path != "/logout" {
            return Err(see_other("/console/password"));
        }
        if let Some(page) = page_of(&c.path)
            && !page.roles.contains(&c.session.principal.role)
        {
            return Err(c.refused(page));
        }
        Ok(c)
    }
}

#[derive(serde::Deserialize, Default)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A console form posted with the session's CSRF token, from Vigie's own pages.
pub(crate) struct Posted<T> {
    pub console: Console,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<State> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &State) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let console = Console::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers) {
            return Err(console.csrf_refused());
        }
        let Ok(bytes) = axum::body::to_bytes(body, crate::BODY_LIMIT).await else {
            return Err(with_status(console.csrf_refused(), StatusCode::PAYLOAD_TOO_LARGE));
        };
        // The hidden `csrf` field, or (for htmx's `hx-headers`) an `X-CSRF-Token` header.
        let mut given: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if given.csrf.is_empty()
            && let Some(h) = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
        {
            given.csrf = h.to_string();
        }
        if given.csrf.is_empty() || !vigie_crypto_same(given.csrf.as_bytes(), console.session.csrf.as_bytes()) {
            return Err(console.csrf_refused());
        }
        match serde_urlencoded::from_bytes::<T>(&bytes) {
            Ok(form) => Ok(Posted { console, form }),
            Err(_) => {
                Err(console.refusal(StatusCode::BAD_REQUEST, "console.forbidden", console.t.t("console.error_generic")))
            }
        }
    }
}

/// Constant-time comparison of the CSRF token (the app's, which has the crypto crate).
fn vigie_crypto_same(a: &[u8], b: &[u8]) -> bool {
    vigie_app::accounts::same_secret(a, b)
}
