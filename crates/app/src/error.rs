//! The errors of every use case. Each names the problem with ids and field
//! names, never with a personal value; `vigie-web` maps each to a status and
//! a stable problem type.

use vigie_domain::access::Refusal;
use vigie_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is malformed or breaks a rule; `field` names where.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A read of personal data named no purpose.
    #[error("a read of personal data must name its purpose in the Vigie-Purpose header")]
    MissingPurpose,
    /// No valid credentials.
    #[error("missing, unknown or revoked bearer token")]
    Unauthenticated,
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The policy refuses this read; the refusal names the failed rule.
    #[error("{}", .0.detail)]
    Refused(Refusal),
    #[error("{0} not found")]
    NotFound(String),
    /// A disclosure to a recipient outside the EEA without adequacy or safeguard.
    #[error("{0}")]
    TransferRefused(String),
    /// The resource existed and was erased.
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    Conflict(String),
    /// A transient fault (concurrent transactions in conflict): nothing was written, try again.
    #[error("the service is busy; nothing was written, try again ({0})")]
    Unavailable(String),
    /// The database's disk is full: nothing was written; writes work again once there is room.
    #[error("the database's disk is full; nothing was written")]
    NoSpace(String),
    /// A body whose content is not of an accepted type.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// A broken invariant of ours; details go to the log, not to the caller.
    #[error("internal error: {0}")]
    Internal(String),
    /// A lower layer failed (the database, the cryptography, a serialiser): `context` says
    /// what was being done, `source` keeps the error itself for the log. Details go to the
    /// log, not to the caller.
    #[error("internal error: {context} failed")]
    Failed {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid { field: field.into(), message: message.into() }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::NotFound(m) => AppError::NotFound(m),
            StoreError::Busy(m) => AppError::Unavailable(m),
            StoreError::Full(m) => {
                tracing::error!(error = %m, "the database's disk is full: writes are refused until there is room");
                AppError::NoSpace(m)
            }
            e => AppError::Failed { context: "the database", source: Box::new(e) },
        }
    }
}

/// A busy database, as the store reports it: the store runs the transaction again.
impl vigie_store::Transient for AppError {
    fn is_transient(&self) -> bool {
        matches!(self, AppError::Unavailable(_))
    }
}

impl From<vigie_crypto::CryptoError> for AppError {
    fn from(e: vigie_crypto::CryptoError) -> Self {
        AppError::Failed { context: "the cryptography", source: Box::new(e) }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    /// A serialiser's or writer's failure, its source kept.
    pub(crate) fn failed(context: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError::Failed { context, source: Box::new(source) }
    }
}

/// A stored JSON document that does not decode: named by what it is and the position of the
/// problem only (the decoder's own message can quote the value, which may be personal).
pub(crate) fn undecodable(what: impl std::fmt::Display, e: &serde_json::Error) -> AppError {
    AppError::Internal(format!("{what} does not decode (line {}, column {})", e.line(), e.column()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_layer_failure_keeps_its_source() {
        let e = AppError::from(StoreError::Backend("connection reset".into()));
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("database error: connection reset"));
        assert_eq!(e.to_string(), "internal error: the database failed");
    }

    #[test]
    fn a_busy_database_is_a_fault_to_retry_not_an_internal_error() {
        let e = AppError::from(StoreError::Busy("deadlock detected (SQLSTATE 40P01)".into()));
        assert!(matches!(e, AppError::Unavailable(_)), "{e:?}");
    }

    #[test]
    fn an_undecodable_document_is_named_without_its_content() {
        let Err(e) = serde_json::from_str::<Vec<u32>>(r#"["camille.martin@example.fr"]"#) else {
            unreachable!("a string is not a number")
        };
        assert!(e.to_string().contains("camille"), "the decoder itself quotes the value");
        let ours = undecodable("the identity of subject 1", &e).to_string();
        assert!(!ours.contains("camille") && ours.contains("line 1"), "{ours}");
    }
}
