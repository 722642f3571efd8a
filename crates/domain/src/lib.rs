//! Vigie's domain: what the policy says and what the rules decide.
//!
//! This crate is pure: no IO, no SQL, no HTTP, no clock. Everything that
//! depends on "now" takes it as an argument, so every rule can be tested at
//! its edges (month ends, leap days) without waiting for the calendar.

pub mod access;
pub mod dates;
pub mod deadlines;
pub mod lang;
pub mod model;
pub mod policy;
pub mod records;
pub mod retention;
pub mod transfers;

pub use access::{Caller, Refusal, Role, SubjectFacts, check_read};
pub use lang::Lang;
pub use model::{Direction, FieldName, Provenance, SubjectKind};
pub use policy::{DataCategory, Diagnostic, LegalBasis, Policy, Purpose, Recipient, Severity};
