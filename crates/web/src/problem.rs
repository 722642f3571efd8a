//! Errors as RFC 9457 problem documents, with stable `type` URIs that
//! clients match on. A problem names fields, purposes and rules; it never
//! repeats an input value, which may be personal data.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use vigie_app::AppError;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, e.g. `urn:vigie:problem:purpose-refused`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For `purpose-refused`: the rule that failed (unknown_purpose, role_not_recipient,
    /// subject_kind_not_covered, aggregates_only, no_active_contract, archived, no_consent, objection, restricted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For `validation`: where the problem is (a JSON path, a query parameter or a header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds after which the request may be sent again (the `Retry-After` header).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:vigie:problem:{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            rule: None,
            field: None,
            retry_after: None,
        }
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        let field = field.into();
        let detail = format!("{field}: {}", detail.into());
        Problem { field: Some(field), ..Problem::new(StatusCode::BAD_REQUEST, "validation", "Invalid input", detail) }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(&self)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The error type of every handler.
#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError(Box::new(p))
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let detail = e.to_string();
        ApiError(Box::new(match e {
            AppError::Invalid { field, message } => Problem::invalid(field, message),
            AppError::MissingPurpose => Problem {
                field: Some("Vigie-Purpose".into()),
                ..Problem::new(StatusCode::BAD_REQUEST, "purpose-required", "Purpose required", detail)
            },
            AppError::Unauthenticated => {
                Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Unauthenticated", detail)
            }
            AppError::Forbidden(_) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden for this role", detail)
            }
            AppError::Refused(r) => Problem {
                rule: Some(r.rule.as_str().to_string()),
                ..Problem::new(
                    StatusCode::FORBIDDEN,
                    "purpose-refused",
                    "Refused by the policy",
                    format!("{}: {}", r.rule, r.detail),
                )
            },
            AppError::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail),
            AppError::TransferRefused(_) => {
                Problem::new(StatusCode::FORBIDDEN, "transfer-refused", "Transfer refused", detail)
            }
            AppError::Gone(_) => Problem::new(StatusCode::GONE, "gone", "Erased", detail),
            AppError::Conflict(_) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail),
            AppError::Unavailable(_) => Problem {
                retry_after: Some(1),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "Busy",
                    "the database was busy with concurrent work; nothing was written: send the request again",
                )
            },
            AppError::NoSpace(_) => Problem {
                retry_after: Some(60),
                ..Problem::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "insufficient-storage",
                    "Insufficient storage",
                    "the database's disk is full; nothing was written: the administrator must free space",
                )
            },
            AppError::UnsupportedMedia(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                detail,
            ),
            internal @ (AppError::Internal(_) | AppError::Failed { .. }) => {
                // The whole chain, for the log: messages name ids and fields, never values.
                let chain: Vec<String> =
                    std::iter::successors(Some(&internal as &dyn std::error::Error), |e| e.source())
                        .map(ToString::to_string)
                        .collect();
                tracing::error!(error = %chain.join(": "), "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "an internal error occurred; it was logged",
                )
            }
        }))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
