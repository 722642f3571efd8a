//! What every operation of the OpenAPI document shares, added in one place rather than on
//! each handler: the bearer scheme, the error answers any call can get (401, 413, 415, 429,
//! 503, 507 and the 400 of a malformed parameter or body), and `application/problem+json` as the
//! content type of every error, which is what the server sends.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Object, OpenApi, Ref, RefOr, Type};

/// The content type of every error (RFC 9457).
pub const PROBLEM: &str = "application/problem+json";

/// The `bearer` security scheme every operation requires unless it says `security(())`.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The answers every operation shares, and problem+json on every error.
pub struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let liveness = path == "/api/v1/health";
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                complete(op, liveness);
            }
        }
    }
}

fn complete(op: &mut Operation, liveness: bool) {
    let public = op.security.as_ref().is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
    let body = op.request_body.is_some();
    let params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut add = |status: &str, description: &str, retry: bool| {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(description, retry).into());
    };
    if body || params {
        add("400", "invalid input: the problem names the field, parameter or header, never its value", false);
    }
    if !public {
        add("401", "missing, malformed, unknown, expired or revoked bearer token", false);
    }
    if body {
        add("413", "the body exceeds the size limit", false);
        add("415", "the body is not of the accepted media type", false);
    }
    if !public {
        add("429", "too many requests from this client: send again after Retry-After seconds", true);
    }
    if !liveness {
        add("503", "busy or not ready (nothing was written): send again after Retry-After seconds", true);
        add("507", "the database's disk is full (nothing was written): the administrator must free space", true);
    }
    // Every error is a problem document, whatever the handler's annotation said.
    for (status, response) in op.responses.responses.iter_mut() {
        if status.as_str() >= "400"
            && let RefOr::T(r) = response
        {
            r.content.clear();
            r.content.insert(PROBLEM.to_string(), Content::new(Some(Ref::from_schema_name("Problem"))));
        }
    }
}

fn problem(description: &str, retry: bool) -> Response {
    let mut r = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM, Content::new(Some(Ref::from_schema_name("Problem"))));
    if retry {
        r = r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Object::with_type(Type::Integer))
                .description(Some("seconds to wait before sending the request again"))
                .build(),
        );
    }
    r.build()
}

/// The `?format=` of a document that exists as JSON and as HTML.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum DocumentFormat {
    Json,
    Html,
}
