//! Request extractors: the bearer token, the purpose header, and a JSON body
//! whose errors name the JSON path and the problem but never echo a value.

use crate::State;
use crate::problem::{ApiError, Problem};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use vigie_app::AppError;
use vigie_app::auth::Principal;

/// The authenticated caller.
pub struct Auth(pub Principal);

impl FromRequestParts<State> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, Self::Rejection> {
        // Counted before the token is even looked at: a flood (or a token guesser) costs nothing.
        if let Some(limiter) = &state.api_limiter {
            let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
            limiter.check(peer)?;
        }
        let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim);
        match token {
            Some(t) if !t.is_empty() => Ok(Auth(state.app.authenticate(t).await?)),
            _ => Err(AppError::Unauthenticated.into()),
        }
    }
}

/// The `Vigie-Purpose` header, if any (its absence is an error only for reads of personal data).
pub struct Purpose(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Purpose {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("vigie-purpose") {
            None => Ok(Purpose(None)),
            Some(v) => match v.to_str() {
                Ok(s) => Ok(Purpose(Some(s.trim().to_string()))),
                Err(_) => Err(Problem::invalid("Vigie-Purpose", "is not visible ASCII").into()),
            },
        }
    }
}

/// A JSON request body.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
                ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "the body must be JSON, sent with Content-Type: application/json",
            )
            .into());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    "Payload too large",
                    format!("the body exceeds the limit of {} bytes", crate::BODY_LIMIT),
                )
            } else {
                Problem::new(StatusCode::BAD_REQUEST, "validation", "Invalid input", "the body could not be read")
            }
        })?;
        parse(&bytes).map(Body).map_err(ApiError)
    }
}

/// Parses JSON, describing an error by its path and kind only.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Box<Problem>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let message = describe(err.inner());
        let field = if path == "." || path.is_empty() { "body".to_string() } else { path };
        Problem::invalid(field, message)
    })?;
    de.end().map_err(|e| Problem::invalid("body", describe(&e)))?;
    Ok(value)
}

/// serde's messages quote the offending value; keep only what names no value.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    match e.classify() {
        Category::Syntax | Category::Eof => format!("is not valid JSON (line {}, column {})", e.line(), e.column()),
        Category::Io => "could not be read".to_string(),
        Category::Data => {
            if msg.starts_with("missing field")
                || msg.starts_with("unknown field")
                || msg.starts_with("duplicate field")
            {
                msg
            } else if let Some((_, expected)) = msg.split_once(", expected ") {
                format!("has the wrong type or value (expected {expected})")
            } else {
                "has the wrong type or value".to_string()
            }
        }
    }
}

/// Parses a subject id from the path.
pub fn subject_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| Problem::invalid("id", "is not a subject id (a UUID)").into())
}
