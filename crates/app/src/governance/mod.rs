//! What the company declares and proves: recipients and transfers (with their safeguards
//! and the disclosure log), the Art. 30 register, the public privacy notice, the policy's
//! versions and their announcement, and the audit trail as it is read.

pub mod notice;
pub mod recipients;
pub mod register;
pub mod revisions;
pub mod trail;
