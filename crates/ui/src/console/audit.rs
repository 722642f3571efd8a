//! The views of `/console/audit` (filled by `web/src/console/audit.rs`).
