//! The views of `/console/audit` (filled by `web/src/console/audit.rs`): a page of the audit
//! trail, kept by a search of ids, action names and dates (never a personal value), and the
//! verification of its chain on demand.

use super::Shell;
use crate::Tr;
use askama::Template;
use chrono::{DateTime, Utc};

/// The search as asked (shown again in the form).
#[derive(Clone, Debug, Default)]
pub struct AuditSearchForm {
    pub action: String,
    pub actor: String,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub limit: String,
}

/// One entry of the trail.
#[derive(Clone, Debug)]
pub struct AuditLine {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// The actor's kind in words (an account, a token, the command line, Vigie itself, a requester).
    pub actor_words: Option<String>,
    pub action: String,
    /// The action in words, when the catalogues name it.
    pub action_words: Option<String>,
    pub subject_id: Option<String>,
    pub purpose: Option<String>,
    /// The field names, comma-separated (never their values).
    pub fields: String,
    /// The sentence key of the outcome (`console_audit.outcome_allowed`…), or the outcome as recorded.
    pub outcome: String,
    pub allowed: bool,
    pub detail: Option<String>,
}

/// The outcome of verifying the chain, from its first entry to its sealed head.
#[derive(Clone, Debug)]
pub struct Verified {
    pub entries: i64,
    pub valid: bool,
    pub head_seq: i64,
    /// Hex of the head's hash.
    pub head_hash: String,
    /// The first problem found, as the verification states it.
    pub problem: Option<String>,
}

/// `GET /console/audit` (DPO, auditor).
#[derive(Template)]
#[template(path = "console/audit/page.html")]
pub struct AuditPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub form: AuditSearchForm,
    pub entries: Vec<AuditLine>,
    /// The query of the next page, when the trail goes on (the same search, `after` moved on).
    pub next: Option<String>,
    /// The query of this search from its start, when this page is not the first.
    pub first: Option<String>,
    /// The last entry the search read.
    pub read_up_to: i64,
    /// A search criterion that could not be read (the page answers 400), in words.
    pub error: Option<String>,
    pub verified: Option<Verified>,
}
