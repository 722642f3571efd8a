//! Vigie's presentation layer: every page and every document a person reads.
//!
//! - `templates/`: askama templates on one base layout (`layout.html`), escaped by askama
//!   (no hand-written HTML strings anywhere else);
//! - `static/vigie.css`: the one stylesheet, linked by served pages and inlined in documents
//!   that must stand alone (an exported register, an answer kept by the person);
//! - `locales/fr.toml`, `locales/en.toml`: every fixed sentence, in both languages (a test
//!   checks that both files have the same keys and that every key a template uses exists).
//!
//! The view models here are plain data: the services in `app` and the handlers in `web` fill
//! them. **Invariant: no IO, no HTTP, no store; nothing here decides, it only says.**

pub mod answers;
pub mod breach;
pub mod console;
mod i18n;
pub mod mail;
pub mod notice;
pub mod public;
pub mod register;

pub use i18n::{Tr, has};
pub use vigie_domain::Lang;

use std::sync::LazyLock;

/// The stylesheet, served at `/static/vigie.css` and inlined in standalone documents.
pub const STYLESHEET: &str = include_str!("../static/vigie.css");

/// The stylesheet's hash, for a Content-Security-Policy that allows it inline and nothing else
/// (`style-src 'self' 'sha256-…'`).
pub fn stylesheet_hash() -> &'static str {
    static HASH: LazyLock<String> = LazyLock::new(|| {
        use base64::Engine as _;
        let digest = ring::digest::digest(&ring::digest::SHA256, STYLESHEET.as_bytes());
        format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest.as_ref()))
    });
    &HASH
}

/// The render of a template. Rendering our own templates fails only on a formatter error,
/// which writing into a `String` never raises; the error is kept for the caller to map.
pub type Rendered = Result<String, askama::Error>;

pub use askama::{Error as RenderError, Template};
