//! End-to-end tests: the real `vigie` binary, a real server on a real port,
//! real SQLite and PostgreSQL, a real HTTP client. Every scenario runs on
//! every backend: SQLite always, PostgreSQL when `VIGIE_TEST_DATABASE_URL`
//! names a server (required when `CI` is set).
//!
//! One test binary, `http`: `support` holds the harness, and each other module one area.

mod support;

mod answers;
mod api;
mod audit;
mod backup;
mod breaches;
mod browser;
mod browser_requests;
mod browser_subjects;
mod console;
mod console_breaches;
mod console_governance;
mod console_requests;
mod console_retention;
mod console_subjects;
mod contracts_ref;
mod counts;
mod duplicates;
mod fuzz;
mod governance;
mod identity;
mod import;
mod legacy;
mod merge;
mod names;
mod ops;
mod recipients;
mod requests;
mod retention;
mod security;
mod subjects;
