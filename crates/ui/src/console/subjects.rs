//! The views of `/console/subjects` (filled by `web/src/console/subjects.rs`): the search by
//! email or phone for a purpose, a subject read for a purpose (or the rule that refused it), and
//! the forms that record a subject, a contract, an interaction, a consent and an objection.

use super::Shell;
use crate::Tr;
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};

/// A purpose of the policy, as a select offers it.
#[derive(Clone, Debug)]
pub struct PurposeOption {
    pub id: String,
    /// Its name in the page's language.
    pub name: String,
}

/// A refused read: the rule as the API names it, and what it means in words.
#[derive(Clone, Debug)]
pub struct RuleShown {
    /// The rule's id (`no_consent`), as the API's `rule` names it.
    pub id: String,
    /// The rule in words, in the page's language.
    pub words: String,
    /// The service's sentence (the API's `detail`): ids and names only.
    pub detail: String,
}

/// A subject a search found, as the purpose of the search may show it.
#[derive(Clone, Debug)]
pub struct FoundLine {
    pub id: String,
    /// The sentence key of its kind.
    pub kind: &'static str,
    /// The name fields the purpose grants (empty when it grants none).
    pub name: String,
}

/// A field of the form that records a new subject, with what was typed.
#[derive(Clone, Debug)]
pub struct FieldInput {
    pub name: &'static str,
    /// The sentence key of its label.
    pub label: &'static str,
    /// `text`, `email`, `tel`.
    pub kind: &'static str,
    pub value: String,
    /// `autocomplete` (always `off`: these are other people's data).
    pub multiline: bool,
}

/// The values of the new subject form (kept when it is refused).
#[derive(Clone, Debug, Default)]
pub struct NewSubjectInput {
    pub kind: String,
    pub collected_at: String,
    pub provenance: String,
    pub fields: Vec<FieldInput>,
}

/// `GET /console/subjects` and `POST /console/subjects/search`: the search, its results, and the
/// form recording a new subject.
#[derive(Template)]
#[template(path = "console/subjects/search.html")]
pub struct SubjectsPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub purposes: Vec<PurposeOption>,
    /// `email`, `phone` or `name`.
    pub by: String,
    pub value: String,
    /// A name search: first name and last name.
    pub first_name: String,
    pub last_name: String,
    pub purpose: String,
    /// Whether a search was made (its results are shown, even if none).
    pub searched: bool,
    pub found: Vec<FoundLine>,
    pub search_error: Option<String>,
    pub rule: Option<RuleShown>,
    pub new: NewSubjectInput,
    pub new_error: Option<String>,
}

/// An identity field the purpose grants.
#[derive(Clone, Debug)]
pub struct IdentityLine {
    /// The sentence key of its label (`words.field.email`).
    pub label: &'static str,
    pub value: String,
    /// The sentence key of where it came from.
    pub source: &'static str,
}

#[derive(Clone, Debug)]
pub struct ContractLine {
    pub reference: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct InteractionLine {
    pub at: DateTime<Utc>,
    /// The sentence key of its direction.
    pub direction: &'static str,
    /// The channel in words (its sentence when Vigie has one, else as recorded).
    pub channel: String,
    pub summary: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ConsentLine {
    pub purpose: String,
    pub granted: bool,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct ObjectionLine {
    pub purpose: String,
    pub at: DateTime<Utc>,
}

/// A subject as the chosen purpose may see it.
#[derive(Clone, Debug)]
pub struct SubjectShown {
    pub kind: &'static str,
    /// The sentence key of the legal basis of the read.
    pub basis: String,
    pub archived: bool,
    pub collected_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub identity: Vec<IdentityLine>,
    pub contracts: Vec<ContractLine>,
    pub interactions: Vec<InteractionLine>,
    pub consents: Vec<ConsentLine>,
    pub objections: Vec<ObjectionLine>,
}

/// What the record forms hold (kept when one is refused).
#[derive(Clone, Debug, Default)]
pub struct RecordInput {
    pub reference: String,
    pub start: String,
    pub end: String,
    pub at: String,
    pub direction: String,
    pub channel: String,
    pub summary: String,
    pub consent_purpose: String,
    pub granted: String,
    pub evidence: String,
    pub objection_purpose: String,
}

/// `GET /console/subjects/{id}`: the purpose first, then the subject read for it (or the rule
/// that refused it), and the forms recording what happens with the subject.
#[derive(Template)]
#[template(path = "console/subjects/subject.html")]
pub struct SubjectPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub id: String,
    pub purposes: Vec<PurposeOption>,
    /// The purpose chosen, if any.
    pub purpose: Option<PurposeOption>,
    pub view: Option<SubjectShown>,
    pub rule: Option<RuleShown>,
    /// Whether the record forms are shown (a purpose was chosen and the subject exists).
    pub forms: bool,
    /// The subject was just recorded; the records that may be the same person.
    pub created: bool,
    pub duplicates: Vec<String>,
    /// The sentence key of what a form just recorded.
    pub done: Option<&'static str>,
    /// What was wrong with a form, in words, and which form (`contract`, `interaction`…).
    pub error: Option<String>,
    pub error_form: &'static str,
    pub input: RecordInput,
    /// (value, sentence key) of the channels offered.
    pub channels: Vec<(&'static str, &'static str)>,
}

impl SubjectPage {
    /// The page's own address with the purpose kept (for the forms' redirects and links).
    pub fn purpose_id(&self) -> &str {
        self.purpose.as_ref().map_or("", |p| p.id.as_str())
    }
}
