//! The views of `/console/requests` (filled by `web/src/console/requests.rs`).
