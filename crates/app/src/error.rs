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
    /// A failure of ours or of the database; details go to the log, not to the caller.
    #[error("internal error: {0}")]
    Internal(String),
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
            e => AppError::Internal(e.to_string()),
        }
    }
}

impl From<vigie_crypto::CryptoError> for AppError {
    fn from(e: vigie_crypto::CryptoError) -> Self {
        AppError::Internal(e.to_string())
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
