//! The views of `/console/subjects` (filled by `web/src/console/subjects.rs`).
