//! The views of `/console/requests` (filled by `web/src/console/requests.rs`): the register of
//! rights requests by urgency, the form recording a request received by post, phone or in person,
//! and one request's page walking the DPO through it. Every closed-set value arrives as the key of
//! its sentence; dates as dates.

use super::Shell;
use crate::Tr;
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};

/// A request as the register lists it.
#[derive(Clone, Debug)]
pub struct RequestLine {
    pub id: String,
    /// Sentence keys of its kind, channel and status.
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub extended: bool,
    /// The clock stands still (identity information awaited).
    pub suspended: bool,
    pub days_left: i64,
    pub overdue: bool,
    pub open: bool,
}

/// A choice of a form: (value, sentence key).
pub type Choice = (&'static str, String);

/// What the form recording a request offers, and what was typed (kept when it is refused).
#[derive(Clone, Debug, Default)]
pub struct NewRequestForm {
    pub kinds: Vec<Choice>,
    pub channels: Vec<Choice>,
    pub grounds: Vec<Choice>,
    /// The identity fields a rectification may change.
    pub fields: Vec<Choice>,
    /// The purposes resting on consent, (id, name), a withdrawal names.
    pub consent_purposes: Vec<(String, String)>,
    /// What was typed: name → value.
    pub typed: Vec<(String, String)>,
    pub today: NaiveDate,
}

impl NewRequestForm {
    /// What was typed in a field (empty if nothing).
    pub fn value(&self, name: &str) -> &str {
        self.typed.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// What was typed as the new value of a field a rectification changes.
    pub fn change(&self, field: &str) -> &str {
        self.typed.iter().find(|(k, _)| k.strip_prefix("change_") == Some(field)).map_or("", |(_, v)| v.as_str())
    }

    /// Whether a box was checked (a field that repeats).
    pub fn checked(&self, name: &str, value: &str) -> bool {
        self.typed.iter().any(|(k, v)| k == name && v == value)
    }

    /// Whether a choice was the one typed (or, with nothing typed, the default).
    pub fn chosen(&self, name: &str, value: &str, default: &str) -> bool {
        match self.typed.iter().find(|(k, _)| k == name) {
            Some((_, v)) => v == value,
            None => value == default,
        }
    }
}

/// `GET /console/requests`: the register, most urgent first, and the form recording a request.
#[derive(Template)]
#[template(path = "console/requests/list.html")]
pub struct RequestsPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub open: Vec<RequestLine>,
    pub closed: Vec<RequestLine>,
    /// The closed requests are listed (`?closed=1`); otherwise only counted.
    pub show_closed: bool,
    pub form: NewRequestForm,
    /// Why the last form was refused, in words, with the service's detail.
    pub error: Option<Refusal>,
}

/// A refusal of a form: the sentence, and the service's own words (technical, in English).
#[derive(Clone, Debug)]
pub struct Refusal {
    pub sentence: String,
    pub detail: String,
}

/// A subject the requester's email or phone matches.
#[derive(Clone, Debug)]
pub struct CandidateLine {
    pub subject_id: String,
    /// Sentence keys of what matched (`console_requests.matched.email`).
    pub matched_by: Vec<String>,
    pub linked: bool,
}

/// A field a rectification asks to change.
#[derive(Clone, Debug)]
pub struct ChangeLine {
    /// Sentence key of the field.
    pub field: String,
    /// None: the field is removed.
    pub value: Option<String>,
}

/// A document asked of the requester.
#[derive(Clone, Debug)]
pub struct AskedLine {
    pub at: DateTime<Utc>,
    pub doubt: Option<String>,
}

/// `GET /console/requests/{id}`: the request, its clock, and each step the DPO takes.
#[derive(Template)]
#[template(path = "console/requests/one.html")]
pub struct RequestPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub id: String,
    pub line: RequestLine,
    /// Sentence key of the language the requester is answered in.
    pub lang: String,
    pub first_due_on: NaiveDate,
    pub suspended_since: Option<NaiveDate>,
    pub suspended_days: i64,
    /// Sentence key of how it ended, if it did.
    pub outcome: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub subject_erased: bool,
    // The requester, as they gave themselves.
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_address: Option<String>,
    pub contract_reference: Option<String>,
    pub message: Option<String>,
    pub changes: Vec<ChangeLine>,
    /// Sentence keys of the grounds recorded (erasure, restriction), and the purposes named.
    pub grounds: Vec<String>,
    pub purposes: Vec<String>,
    // Matching.
    pub subject_id: Option<String>,
    pub candidates: Vec<CandidateLine>,
    /// Records bearing the requester's name, too many to list (see `RequestView::homonyms_unlisted`).
    pub homonyms_unlisted: u64,
    pub no_subject: Option<(String, DateTime<Utc>)>,
    // Identity.
    pub awaiting_identity: bool,
    /// The policy checks every identity against a document (otherwise: on doubt).
    pub by_document: bool,
    /// Sentence keys of the decision, the method and the document checked.
    pub decision: Option<String>,
    pub method: Option<String>,
    pub document: Option<String>,
    pub doubt: Option<String>,
    pub asked: Vec<AskedLine>,
    pub document_held: bool,
    /// (sent at, expires at, expired) of the outstanding confirmation link.
    pub confirmation: Option<(DateTime<Utc>, DateTime<Utc>, bool)>,
    /// The choices of the forms.
    pub methods: Vec<Choice>,
    pub documents: Vec<Choice>,
    pub refusals: Vec<Choice>,
    /// The request has an answer to read.
    pub answered: bool,
    pub error: Option<Refusal>,
    /// What the last step did, in words.
    pub done: Option<String>,
}
