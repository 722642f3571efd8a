//! The views of `/console/retention` (filled by `web/src/console/retention.rs`).
