//! The views of `/console/policy` (filled by `web/src/console/policy.rs`): the policy's versions,
//! what a pending revision changes against the version in force, the progress of its notices,
//! the Art. 6(4) assessments it needs, and the forms to assess and to activate it.

use super::Shell;
use crate::Tr;
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};

/// How far a version's notices to people went.
#[derive(Clone, Debug, Default)]
pub struct NoticeProgress {
    /// People to notify (notices queued).
    pub queued: i64,
    pub sent: i64,
    /// Not sent yet, still tried.
    pub pending: i64,
    /// Given up after every attempt.
    pub failed: i64,
}

/// One difference of a revision from the version in force, in words.
#[derive(Clone, Debug)]
pub struct ChangeLine {
    /// The sentence key of what changed (`console_policy.section.purpose`).
    pub section: String,
    /// The purpose, recipient, kind or field concerned (a reference).
    pub item: String,
    /// The sentence key of the change (`console_policy.change.added`).
    pub change: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A change Art. 6(4) asks the DPO to assess, and the assessment recorded, if any.
#[derive(Clone, Debug)]
pub struct FlaggedLine {
    /// The purpose's name (or its reference when the policy in force does not name it).
    pub purpose: String,
    /// `purpose/kind`, the value the assessment form sends.
    pub value: String,
    /// The kind of person, in words.
    pub kind: String,
    /// The basis before, in words (none when the purpose is new for this kind).
    pub from: Option<String>,
    pub to: String,
    /// Whether it was assessed compatible, when it was assessed.
    pub compatible: Option<bool>,
    pub reasoning: Option<String>,
    pub assessed_at: Option<DateTime<Utc>>,
}

/// One version of the policy.
#[derive(Clone, Debug)]
pub struct VersionLine {
    pub version: String,
    pub effective_date: NaiveDate,
    /// The sentence key of its state (`console_policy.state.pending`…).
    pub state: &'static str,
    pub pending: bool,
    pub uploaded_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub notices: NoticeProgress,
    /// For a pending version: what it changes against the version in force.
    pub changes: Vec<ChangeLine>,
    /// The changes that need an assessment (for a version in force or superseded: those assessed).
    pub flagged: Vec<FlaggedLine>,
    /// How many of them have no assessment yet.
    pub missing: usize,
}

/// `GET /console/policy` (DPO).
#[derive(Template)]
#[template(path = "console/policy/page.html")]
pub struct PolicyPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    /// The version in force.
    pub current: String,
    pub versions: Vec<VersionLine>,
    /// What went wrong with the last form, in words (the page answers 4xx).
    pub error: Option<String>,
    /// The service's own statement of a refusal, shown under the error.
    pub detail: Option<String>,
    pub done: Option<String>,
}
