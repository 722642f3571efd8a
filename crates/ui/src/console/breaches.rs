//! The views of `/console/breaches` (filled by `web/src/console/breaches.rs`).
