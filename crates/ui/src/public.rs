//! The public pages: the rights-request form and its acknowledgement.

use crate::Tr;
use askama::Template;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The request kinds the form offers (every right, and withdrawing a consent), each with its sentence.
pub const FORM_KINDS: [(&str, &str); 7] = [
    ("access", "form.kind_access"),
    ("rectification", "form.kind_rectification"),
    ("erasure", "form.kind_erasure"),
    ("portability", "form.kind_portability"),
    ("objection", "form.kind_objection"),
    ("restriction", "form.kind_restriction"),
    ("consent_withdrawal", "form.kind_consent_withdrawal"),
];

/// The identity fields a rectification may correct, each with its label (`change_<field>`).
pub const FORM_CHANGES: [(&str, &str); 7] = [
    ("first_name", "form.change_first_name"),
    ("last_name", "form.change_last_name"),
    ("email", "form.change_email"),
    ("phone", "form.change_phone"),
    ("postal_address", "form.change_postal_address"),
    ("company", "form.change_company"),
    ("job_title", "form.change_job_title"),
];

/// The Art. 18(1) grounds of a restriction, in the person's words.
pub const FORM_GROUNDS: [(&str, &str); 4] = [
    ("accuracy_contested", "form.ground_accuracy_contested"),
    ("unlawful_processing", "form.ground_unlawful_processing"),
    ("no_longer_needed_but_claims", "form.ground_no_longer_needed_but_claims"),
    ("objection_pending", "form.ground_objection_pending"),
];

/// `GET /rights`: the form (and, after a submission that was not recorded, the form again with
/// what was typed and what to check).
#[derive(Template)]
#[template(path = "public/rights.html")]
pub struct RightsForm {
    pub t: Tr,
    pub standalone: bool,
    pub controller: String,
    pub dpo_email: String,
    pub dpo_address: String,
    pub kinds: &'static [(&'static str, &'static str)],
    /// The sentence saying how the requester's identity will be checked (the policy's `identity_check`).
    pub identity: &'static str,
    pub changes: &'static [(&'static str, &'static str)],
    pub grounds: &'static [(&'static str, &'static str)],
    /// The purposes resting on consent (id, name): a consent withdrawal names some.
    pub consent_purposes: Vec<(String, String)>,
    /// The purposes one may object to (id, name).
    pub objection_purposes: Vec<(String, String)>,
    /// What to check, after a submission that was not recorded.
    pub error: Option<String>,
    /// What was typed, by field name (text fields), and the choices made (`name=value`).
    pub values: BTreeMap<String, String>,
}

impl RightsForm {
    /// The value typed in a text field.
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// The value typed in a rectification's field.
    fn change(&self, field: &str) -> &str {
        self.values.get(&format!("change_{field}")).map_or("", String::as_str)
    }

    /// Whether a choice (`name` = `value`) was made.
    fn chosen(&self, name: &str, value: &str) -> bool {
        self.values.contains_key(&format!("{name}={value}"))
    }
}

/// `POST /rights`: the acknowledgement, with the answer's deadline.
#[derive(Template)]
#[template(path = "public/received.html")]
pub struct RightsReceived {
    pub t: Tr,
    pub standalone: bool,
    pub controller: String,
    pub due_on: NaiveDate,
}

/// What a one-time identity confirmation link's page says.
#[derive(Debug, Clone)]
pub enum ConfirmState {
    /// Valid: the button that confirms (the GET alone changes nothing: mail scanners follow links).
    Ask { token: String, received_on: NaiveDate, kind: &'static str },
    /// Confirmed: the answer's deadline.
    Done { due_on: NaiveDate },
    /// Past its 7 days.
    Expired,
    /// Its request no longer awaits a confirmation.
    Settled,
    /// No such link (never made, used, replaced, withdrawn): nobody's language is known.
    Unknown,
    /// The confirmation could not be recorded (try again).
    Unavailable,
}

/// `GET`/`POST /rights/confirm/{token}`.
#[derive(Template)]
#[template(path = "public/confirm.html")]
pub struct ConfirmPage {
    pub t: Tr,
    pub standalone: bool,
    pub controller: String,
    pub dpo_name: String,
    pub dpo_email: String,
    pub state: ConfirmState,
}

impl ConfirmPage {
    /// The HTTP status the page goes with.
    pub fn status(&self) -> u16 {
        match self.state {
            ConfirmState::Ask { .. } | ConfirmState::Done { .. } => 200,
            ConfirmState::Expired => 410,
            ConfirmState::Settled => 409,
            ConfirmState::Unknown => 404,
            ConfirmState::Unavailable => 503,
        }
    }

    fn title(&self) -> String {
        let key = match self.state {
            ConfirmState::Ask { .. } => "confirm.ask_title",
            ConfirmState::Done { .. } => "confirm.done_title",
            ConfirmState::Expired => "confirm.expired_title",
            ConfirmState::Settled => "confirm.settled_title",
            ConfirmState::Unknown => "confirm.unknown_title",
            ConfirmState::Unavailable => "confirm.unavailable_title",
        };
        match self.state {
            // No language is known: both.
            ConfirmState::Unknown | ConfirmState::Unavailable => {
                format!("{} / {}", self.t.t(key), self.en().t(key))
            }
            _ => self.t.t(key).to_string(),
        }
    }

    fn en(&self) -> Tr {
        Tr(crate::Lang::En)
    }

    fn kind_key(&self, kind: &str) -> String {
        format!("words.request.{kind}")
    }
}
