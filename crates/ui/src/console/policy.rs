//! The views of `/console/policy` (filled by `web/src/console/policy.rs`).
