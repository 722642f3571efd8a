//! The public pages: the rights-request form and its acknowledgement.

use crate::Tr;
use askama::Template;
use chrono::NaiveDate;

/// The request kinds the form offers, each with its sentence.
pub const FORM_KINDS: [(&str, &str); 5] = [
    ("access", "form.kind_access"),
    ("rectification", "form.kind_rectification"),
    ("erasure", "form.kind_erasure"),
    ("portability", "form.kind_portability"),
    ("objection", "form.kind_objection"),
];

/// `GET /rights`: the form.
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
