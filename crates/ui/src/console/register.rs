//! The views of `/console/register` (filled by `web/src/console/register.rs`).
