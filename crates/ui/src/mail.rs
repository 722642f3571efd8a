//! The messages the outbox sends (plain-text emails), rendered from `templates/mail/`: to a
//! requester in their request's language; to a subject without a request in French, then in
//! English; to the DPO and to recipients likewise. The subject lines and Message-IDs are the
//! outbox's; only the bodies are here.

use crate::{Lang, Rendered, Tr};
use askama::Template;
use chrono::NaiveDate;

/// A body in one language, or (no language known) in French then in English.
pub fn in_languages<T: Template>(lang: Option<Lang>, make: impl Fn(Tr) -> T) -> Rendered {
    match lang {
        Some(l) => make(Tr(l)).render(),
        None => Ok(format!("{}\n\n{}", make(Tr(Lang::Fr)).render()?, make(Tr(Lang::En)).render()?)),
    }
}

/// "Bonjour Camille Martin," / "Madame, Monsieur,".
fn greeting(t: &Tr, name: &Option<String>) -> String {
    match name {
        Some(n) => t.f("answer.greeting", &[("name", n)]),
        None => t.t("answer.greeting_anonymous").to_string(),
    }
}

/// Art. 12(3): the deadline of a request is extended, with the DPO's reasons.
#[derive(Template)]
#[template(path = "mail/extension.txt")]
pub struct Extension<'a> {
    pub t: Tr,
    pub name: &'a Option<String>,
    pub controller: &'a str,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub reason: &'a str,
    pub dpo_name: &'a str,
    pub dpo_email: &'a str,
}

impl Extension<'_> {
    fn greeting(&self) -> String {
        greeting(&self.t, self.name)
    }
}

/// Art. 13(1)(f), 14(1)(f): the person's data now goes outside the EEA, and on what ground.
#[derive(Template)]
#[template(path = "mail/transfer.txt")]
pub struct Transfer<'a> {
    pub t: Tr,
    pub name: &'a Option<String>,
    pub controller: &'a str,
    /// The recipient's name in this language.
    pub recipient: &'a str,
    pub country: &'a str,
    /// The ground of the transfer, in this language.
    pub ground: String,
    pub dpo: &'a str,
}

impl Transfer<'_> {
    fn greeting(&self) -> String {
        greeting(&self.t, self.name)
    }

    fn country_name(&self) -> String {
        let key = format!("country.{}", self.country);
        if crate::has(&key) { self.t.t(&key).to_string() } else { self.country.to_string() }
    }
}

/// A new version of the policy, announced before it takes effect.
#[derive(Template)]
#[template(path = "mail/revision.txt")]
pub struct Revision<'a> {
    pub t: Tr,
    pub name: &'a Option<String>,
    pub version: &'a str,
    pub effective: NaiveDate,
    pub changes: &'a str,
    pub dpo: &'a str,
}

impl Revision<'_> {
    fn greeting(&self) -> String {
        greeting(&self.t, self.name)
    }
}

/// Art. 34(2): a breach likely to result in a high risk, told to the person.
#[derive(Template)]
#[template(path = "mail/breach.txt")]
pub struct Breach<'a> {
    pub t: Tr,
    pub name: &'a Option<String>,
    pub controller: &'a str,
    pub detected_on: &'a str,
    /// What happened, in this language.
    pub nature: &'a str,
    /// The data concerned, in this language.
    pub categories: &'a str,
    pub consequences: &'a str,
    pub measures: &'a str,
    pub dpo: &'a str,
}

impl Breach<'_> {
    fn greeting(&self) -> String {
        greeting(&self.t, self.name)
    }
}

/// Art. 18(3): the person is told before a restriction is lifted.
#[derive(Template)]
#[template(path = "mail/restriction_lifted.txt")]
pub struct RestrictionLifted<'a> {
    pub t: Tr,
    pub name: &'a Option<String>,
    pub since: NaiveDate,
    pub dpo: &'a str,
}

impl RestrictionLifted<'_> {
    fn greeting(&self) -> String {
        greeting(&self.t, self.name)
    }
}

/// The DPO is told of a token that reads personal data, created or revoked.
#[derive(Template)]
#[template(path = "mail/token.txt")]
pub struct Token<'a> {
    pub t: Tr,
    pub role: &'a str,
    /// ` (recipient)` for a recipient's token.
    pub scope: &'a str,
    pub created: bool,
    pub at: &'a str,
    pub token: &'a str,
    pub expires_at: Option<&'a str>,
}

/// Art. 19: a recipient is told of a rectification, an erasure or a restriction.
#[derive(Template)]
#[template(path = "mail/recipient.txt")]
pub struct RecipientNotice<'a> {
    pub t: Tr,
    pub controller: &'a str,
    /// rectification, erasure or restriction.
    pub what: &'a str,
    /// The subject's id, by which the recipient was given the data.
    pub subject: &'a str,
    /// Rectification: each field changed (its name, its label in words, its value now).
    pub changes: &'a [(String, Option<String>)],
    pub dpo: &'a str,
}

impl RecipientNotice<'_> {
    fn label(&self, field: &str) -> String {
        let key = format!("words.field.{field}");
        if crate::has(&key) { self.t.t(&key).to_string() } else { field.to_string() }
    }
}

/// Art. 12(6): the requester is asked for a copy of an identity document, and why.
#[derive(Template)]
#[template(path = "mail/document_request.txt")]
pub struct DocumentRequest<'a> {
    pub t: Tr,
    pub name: &'a Option<String>,
    pub controller: &'a str,
    pub received_on: &'a NaiveDate,
    /// The policy asks for a document every time (MSI's clause), rather than on a doubt.
    pub by_policy: bool,
    pub dpo_name: &'a str,
    pub dpo_email: &'a str,
    pub dpo_address: &'a str,
}

impl DocumentRequest<'_> {
    fn greeting(&self) -> String {
        greeting(&self.t, self.name)
    }
}

/// The one-time link that confirms a request through the email on file.
#[derive(Template)]
#[template(path = "mail/confirmation.txt")]
pub struct ConfirmationLink<'a> {
    pub t: Tr,
    pub name: &'a Option<String>,
    pub controller: &'a str,
    pub received_on: &'a NaiveDate,
    /// The request's kind (`access`, …), said in words.
    pub kind: &'a str,
    pub url: &'a str,
    pub until: &'a NaiveDate,
    /// The DPO's name and address, as one text.
    pub dpo: &'a str,
}

impl ConfirmationLink<'_> {
    fn greeting(&self) -> String {
        greeting(&self.t, self.name)
    }

    fn kind_key(&self) -> String {
        format!("words.request.{}", self.kind)
    }
}
