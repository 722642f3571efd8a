//! The answers to people's rights requests: one typed model per answer, and the document the
//! person reads, rendered from `templates/answers/`.
//!
//! The model is what Vigie stores (sealed with the request) and what the DPO reads as JSON: it
//! keeps machine-readable fields (the request's and the subject's ids, purpose and recipient ids,
//! closed-set tokens) beside the words the person is owed, resolved from the policy in the
//! requester's language when the answer was made (a later revision of the policy does not rewrite
//! an answer given). The document renders only the words: never an id, never a token, dates in
//! words. `app` fills the model (`rights/answer.rs`); nothing here decides.

use crate::{Lang, Tr};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;
use vigie_domain::policy::{DataCategory, LegalBasis};
use vigie_domain::records::{ErasureGround, RefusalGround, RequestKind, RestrictionGround};
use vigie_domain::transfers::SafeguardKind;
use vigie_domain::{Direction, FieldName, Provenance, SubjectKind};

/// An answer to a rights request, as stored and as the DPO reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The request answered (for the DPO; never shown to the person).
    pub request: Uuid,
    pub kind: RequestKind,
    /// The language the answer is written in: the request's.
    pub lang: Lang,
    pub received_on: NaiveDate,
    pub answered_on: NaiveDate,
    /// Whether a record of ours concerns the requester.
    pub subject_found: bool,
    /// The requester's name, to greet them (none: "Madame, Monsieur").
    #[serde(default)]
    pub addressee: Option<String>,
    pub controller: String,
    pub dpo: Dpo,
    /// The supervisory authority a complaint goes to (Art. 77).
    pub complaint: Complaint,
    #[serde(flatten)]
    pub body: Body,
}

/// The data protection officer, as the answer names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dpo {
    pub name: String,
    pub email: String,
    pub address: String,
}

/// The supervisory authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complaint {
    pub authority: String,
    pub address: String,
    pub phone: String,
}

/// What the answer says, by kind of answer (`"answer"` in the JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Body {
    Access(Box<Access>),
    Portability(Portability),
    Rectification(Rectification),
    Erasure(Erasure),
    Restriction(Restriction),
    Objection(Objection),
    ConsentWithdrawal(ConsentWithdrawal),
    /// The DPO confirmed that no record concerns the requester.
    NoData,
    /// Art. 12(4) and (5): the request is refused, with the ground and the DPO's reasons.
    Refusal(Refusal),
    /// The requester's identity could not be verified (Art. 12(6)).
    IdentityRejected,
}

/// A purpose of the policy, by id and by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeRef {
    pub id: String,
    pub name: String,
}

/// The access answer (Art. 15(1)(a)-(h), 15(2), 15(3)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub subject: SubjectRef,
    /// The identity fields held, each with its value, where it came from and its category.
    pub data: BTreeMap<FieldName, Datum>,
    /// Where data the person did not give comes from (the policy's words), when some did not.
    pub prospect_source: Option<String>,
    pub contracts: Vec<Contract>,
    pub interactions: Vec<Interaction>,
    pub consents: Vec<Consent>,
    pub objections: Vec<ObjectionRecord>,
    /// The purposes actually used for this person: those whose basis holds for them now, and
    /// those under which their data was read.
    pub purposes: Vec<PurposeUse>,
    /// The categories of the data held (Art. 15(1)(b)).
    pub categories: Vec<DataCategory>,
    /// The recipients the data was actually disclosed to (CJEU C-154/21: their identity).
    pub recipients: Vec<RecipientUse>,
    pub retention: Retention,
    /// The recipients outside the EEA, with their safeguard (Art. 15(2)).
    pub transfers_outside_eea: Vec<Transfer>,
    /// The policy's statement on automated decisions (Art. 15(1)(h)); none if it states none.
    pub automated_decisions: Option<String>,
    /// The consultations of the data (CJEU C-579/21): when, for what, by whom.
    pub consultations: Vec<Consultation>,
    /// A restriction of processing in force (Art. 18), by its ground.
    pub restriction: Option<RestrictionGround>,
    /// The rights the person has, each shown with how to exercise it.
    pub rights: Vec<Right>,
    pub policy_version: String,
}

/// The subject the answer is about (for the DPO).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRef {
    pub id: Uuid,
    pub kind: SubjectKind,
    pub collected_on: NaiveDate,
}

/// One identity field held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datum {
    pub value: String,
    pub source: Provenance,
    pub category: DataCategory,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub reference: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    pub at: DateTime<Utc>,
    pub direction: Direction,
    pub channel: String,
    pub summary: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub purpose: String,
    pub purpose_name: String,
    pub granted: bool,
    pub at: DateTime<Utc>,
    pub evidence: String,
}

/// An objection recorded (a purpose the person objected to, and when).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionRecord {
    pub purpose: String,
    pub purpose_name: String,
    pub at: DateTime<Utc>,
}

/// A purpose used for the person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeUse {
    pub id: String,
    pub name: String,
    pub legal_basis: LegalBasis,
    /// For legitimate interest: the interest pursued, in the policy's words.
    pub interest: Option<String>,
    pub data_categories: Vec<DataCategory>,
    /// Its basis holds for the person now (a consent given, a contract running, no objection...).
    pub in_use: bool,
    /// The person's data was read under it.
    pub read: bool,
    /// Only statistics that never single out a person.
    pub aggregates_only: bool,
}

/// A recipient the data was disclosed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientUse {
    pub recipient: String,
    pub name: String,
    pub country: Option<String>,
    pub safeguard: Option<Safeguard>,
    /// The purposes it received the data for (names).
    pub purposes: Vec<String>,
    /// What it received: identity fields, `contracts`, `interactions`.
    pub fields: Vec<String>,
    pub first_on: NaiveDate,
    pub last_on: NaiveDate,
}

/// What a transfer to a recipient's country rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ground", rename_all = "snake_case")]
pub enum Safeguard {
    /// A country of the EEA: the GDPR applies there.
    Eea,
    /// An adequacy decision of the European Commission.
    Adequacy { decision: String },
    /// Standard contractual clauses, binding corporate rules or a certification, since a date.
    Safeguard { kind: SafeguardKind, signed_on: NaiveDate },
}

/// A transfer outside the EEA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub recipient: String,
    pub name: String,
    pub country: String,
    pub safeguard: Safeguard,
}

/// How long the data is kept, and until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// `last_contract_end`, `last_inbound_contact` or `client_without_contract`.
    pub rule: String,
    pub years: u32,
    pub basis_date: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    /// Erasure is suspended by a legal hold.
    pub legal_hold: bool,
    /// Erasure is suspended by a restriction the person asked for (Art. 18(1)(b) or (c)).
    pub held_by_restriction: bool,
}

/// A consultation of the person's data, by day, purpose and reader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consultation {
    pub on: NaiveDate,
    /// A purpose of the policy, or `rights_request` (handling the person's own requests).
    pub purpose: String,
    pub purpose_name: String,
    pub by: Reader,
    /// The external recipient that read it (by: recipient).
    pub recipient: Option<String>,
    pub recipient_name: Option<String>,
    /// How many reads that day.
    pub times: u32,
}

/// Who consulted the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    /// Our employees (an internal service).
    Staff,
    /// A named external recipient.
    Recipient,
}

/// A right the person has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    Access,
    Rectification,
    Erasure,
    Restriction,
    Portability,
    Objection,
    WithdrawConsent,
    Complaint,
}

impl Right {
    pub const ALL: [Right; 8] = [
        Right::Access,
        Right::Rectification,
        Right::Erasure,
        Right::Restriction,
        Right::Portability,
        Right::Objection,
        Right::WithdrawConsent,
        Right::Complaint,
    ];

    fn key(self) -> &'static str {
        match self {
            Right::Access => "access",
            Right::Rectification => "rectification",
            Right::Erasure => "erasure",
            Right::Restriction => "restriction",
            Right::Portability => "portability",
            Right::Objection => "objection",
            Right::WithdrawConsent => "withdraw_consent",
            Right::Complaint => "complaint",
        }
    }
}

/// Portability (Art. 20): the data the person gave us, processed under a contract or their
/// consent, as JSON and CSV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portability {
    /// `json+csv`.
    pub format: String,
    pub data: BTreeMap<FieldName, String>,
    pub csv: String,
    /// The purposes (contract, consent) that make the data portable.
    pub purposes: Vec<PurposeRef>,
}

/// Where an Art. 19 notice to a recipient stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Sent.
    Notified,
    /// Queued, not sent yet.
    Pending,
    /// Given up after retries: the DPO takes over.
    Failed,
    /// The policy holds no address for it: the DPO takes over.
    Unreachable,
}

/// An Art. 19 notice to a recipient that received the data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub recipient: String,
    pub name: String,
    pub state: NoticeState,
}

/// The recipients told of a rectification, erasure or restriction (Art. 19): ids as queued
/// (`recipients`, `recipients_notified`), and each notice's state (`notices`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipients {
    pub queued: Vec<String>,
    pub unreachable: Vec<String>,
}

/// Rectification (Art. 16, 19).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rectification {
    /// Each field changed, with its new value (none: removed).
    pub changes: Vec<Change>,
    pub changed_fields: Vec<FieldName>,
    pub recipients_notified: Vec<String>,
    pub recipients: Recipients,
    pub notices: Vec<Notice>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub field: FieldName,
    pub value: Option<String>,
}

/// Erasure (Art. 17, 19).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    pub erased: bool,
    /// Part of the data is kept (a client: legal obligations and claims).
    pub partial: bool,
    pub ground: Option<ErasureGround>,
    pub erased_fields: Vec<FieldName>,
    pub erased_interactions: u64,
    pub kept: Vec<FieldName>,
    pub kept_contracts: bool,
    /// The last day the kept data may be kept; none while a contract runs.
    pub kept_until: Option<NaiveDate>,
    /// A contract is running: the data it needs is kept and used for it.
    pub contract_running: bool,
    /// The purposes the kept data still serves.
    pub still_used_for: Vec<PurposeRef>,
    /// The purposes this erasure stopped (consent withdrawn, objection recorded).
    pub stopped: Vec<PurposeRef>,
    /// Until when the keyed hashes of the email and phone stay on the suppression list.
    pub suppressed_until: Option<NaiveDate>,
    pub recipients_notified: Vec<String>,
    pub recipients: Recipients,
    pub notices: Vec<Notice>,
}

/// Restriction (Art. 18, 19).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    pub restricted: bool,
    pub restriction_ground: RestrictionGround,
    pub since: NaiveDate,
    /// The purposes the data may still be read for: legal claims.
    pub legal_claims: Vec<PurposeRef>,
    pub recipients_notified: Vec<String>,
    pub recipients: Recipients,
    pub notices: Vec<Notice>,
}

/// Objection (Art. 21).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    pub purposes: Vec<PurposeRef>,
    /// Until when the keyed hashes of the email and phone stay on the suppression list.
    pub suppressed_until: Option<NaiveDate>,
}

/// The withdrawal of a consent (Art. 7(3)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentWithdrawal {
    pub purposes: Vec<Withdrawn>,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawn {
    pub id: String,
    pub name: String,
    /// Whether a consent was in force before.
    pub was_granted: bool,
}

/// A refusal (Art. 12(4), (5)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub ground: RefusalGround,
    /// The DPO's reasons, in their words.
    pub reason: String,
}

/// What a response holds: an answer, or (recorded before answers were typed) its JSON as it was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stored {
    Answer(Box<Answer>),
    Earlier(serde_json::Value),
}

/// The answer as a standalone HTML document, in its language, the stylesheet inlined.
#[derive(Template)]
#[template(path = "answers/answer.html")]
pub struct AnswerDocument<'a> {
    pub t: Tr,
    pub standalone: bool,
    pub a: &'a Answer,
}

impl<'a> AnswerDocument<'a> {
    pub fn new(a: &'a Answer) -> Self {
        AnswerDocument { t: Tr(a.lang), standalone: true, a }
    }

    /// The key of a token in a `words.*` table; an unknown token shows in words, never as a token.
    fn word(&self, table: &str, token: &str) -> String {
        let key = format!("words.{table}.{token}");
        if crate::has(&key) { self.t.t(&key).to_string() } else { token.replace('_', " ") }
    }

    fn field(&self, f: &FieldName) -> String {
        self.word("field", f.as_str())
    }

    /// What a recipient received (identity fields, contracts, interactions), and for what.
    fn recipient_what(&self, r: &RecipientUse) -> String {
        let what = self.join(r.fields.iter().map(|f| self.word("field", f)).collect());
        match r.purposes.is_empty() {
            true => what,
            false => format!("{what} — {}", self.join(r.purposes.clone())),
        }
    }

    fn category(&self, c: &DataCategory) -> String {
        self.word("category", c.as_str())
    }

    fn categories(&self, cs: &[DataCategory]) -> String {
        self.join(cs.iter().map(|c| self.category(c)).collect())
    }

    fn basis(&self, b: &LegalBasis) -> String {
        self.word("basis", b.as_str())
    }

    fn source(&self, p: &Provenance) -> String {
        self.word("source", p.as_str())
    }

    fn direction(&self, d: &Direction) -> String {
        self.word("direction", d.as_str())
    }

    fn channel(&self, c: &str) -> String {
        self.word("channel", c)
    }

    fn country(&self, code: &str) -> String {
        let key = format!("country.{code}");
        if crate::has(&key) { self.t.t(&key).to_string() } else { code.to_string() }
    }

    fn safeguard(&self, s: &Safeguard) -> String {
        safeguard_words(self.t, s)
    }

    fn date(&self, d: &NaiveDate) -> String {
        self.t.date(d)
    }

    fn day(&self, d: &DateTime<Utc>) -> String {
        self.t.date(&d.date_naive())
    }

    fn years(&self, n: &u32) -> String {
        self.t.n("common.years", i64::from(*n))
    }

    /// "a, b et c" / "a, b and c".
    fn join(&self, items: Vec<String>) -> String {
        match items.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{}{}{last}", rest.join(", "), self.t.t("common.and")),
        }
    }

    fn names(&self, purposes: &[PurposeRef]) -> String {
        self.join(purposes.iter().map(|p| p.name.clone()).collect())
    }

    fn greeting(&self) -> String {
        match &self.a.addressee {
            Some(name) => self.t.f("answer.greeting", &[("name", name)]),
            None => self.t.t("answer.greeting_anonymous").to_string(),
        }
    }

    /// "Vous nous avez adressé le 2 mars 2026 une demande d'accès…".
    fn intro(&self) -> String {
        self.t.f(
            "answer.intro",
            &[
                ("received", &self.date(&self.a.received_on)),
                ("request", self.t.t(&format!("words.request.{}", self.a.kind.as_str()))),
            ],
        )
    }

    fn title(&self) -> &'static str {
        let key = match &self.a.body {
            Body::Refusal(_) => "answer.title.refusal",
            Body::IdentityRejected => "answer.title.identity_rejected",
            Body::NoData => "answer.title.no_data",
            _ => "answer.title.answer",
        };
        self.t.t(key)
    }

    fn retention_rule(&self, r: &Retention) -> String {
        let years = self.years(&r.years);
        match r.rule.as_str() {
            "last_inbound_contact" => self.t.f("answer.access.retention.last_inbound_contact", &[("years", &years)]),
            "client_without_contract" => {
                self.t.f("answer.access.retention.client_without_contract", &[("years", &years)])
            }
            _ => self.t.f("answer.access.retention.last_contract_end", &[("years", &years)]),
        }
    }

    fn consulted_by(&self, c: &Consultation) -> String {
        match (c.by, &c.recipient_name) {
            (Reader::Recipient, Some(name)) => name.clone(),
            (Reader::Recipient, None) => self.t.t("answer.access.consultations.former_recipient").to_string(),
            (Reader::Staff, _) => self.t.t("answer.access.consultations.staff").to_string(),
        }
    }

    fn right(&self, r: &Right) -> &'static str {
        self.t.t(&format!("words.right.{}", r.key()))
    }

    fn right_how(&self, r: &Right) -> &'static str {
        self.t.t(&format!("words.right_how.{}", r.key()))
    }

    fn notice_state(&self, n: &Notice) -> &'static str {
        self.t.t(match n.state {
            NoticeState::Notified => "words.notice.notified",
            NoticeState::Pending => "words.notice.pending",
            NoticeState::Failed => "words.notice.failed",
            NoticeState::Unreachable => "words.notice.unreachable",
        })
    }

    fn change(&self, c: &Change) -> String {
        match &c.value {
            Some(v) => self.t.f("answer.rectification.changed", &[("field", &self.field(&c.field)), ("value", v)]),
            None => self.t.f("answer.rectification.removed", &[("field", &self.field(&c.field))]),
        }
    }

    fn refusal_ground(&self, g: &RefusalGround) -> &'static str {
        self.t.t(&format!("words.refusal.{}", g.as_str()))
    }

    fn erasure_ground(&self, g: &ErasureGround) -> &'static str {
        self.t.t(&format!("words.erasure_ground.{}", g.as_str()))
    }

    fn restriction_ground(&self, g: &RestrictionGround) -> &'static str {
        self.t.t(&format!("words.restriction_ground.{}", g.as_str()))
    }

    fn erased_interactions(&self, x: &Erasure) -> String {
        self.t.n("answer.erasure.interactions", i64::try_from(x.erased_interactions).unwrap_or(i64::MAX))
    }

    fn fields(&self, fs: &[FieldName]) -> String {
        self.join(fs.iter().map(|f| self.field(f)).collect())
    }

    /// The portable data as a `data:` link the person saves (JSON or CSV); nothing is fetched.
    fn download(&self, p: &Portability, csv: bool) -> String {
        use base64::Engine as _;
        let (mime, body) = if csv {
            ("text/csv;charset=utf-8", p.csv.clone())
        } else {
            ("application/json", serde_json::to_string_pretty(&p.data).unwrap_or_default())
        };
        format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(body))
    }
}

/// What a transfer rests on, in words ("standard contractual clauses … signed on 15 January 2026").
pub fn safeguard_words(t: Tr, s: &Safeguard) -> String {
    match s {
        Safeguard::Eea => t.t("words.safeguard.eea").to_string(),
        Safeguard::Adequacy { decision } => t.f("words.safeguard.adequacy", &[("decision", decision)]),
        Safeguard::Safeguard { kind, signed_on } => {
            t.f(&format!("words.safeguard.{}", kind.as_str()), &[("date", &t.date(signed_on))])
        }
    }
}

/// What remains of a request whose subject was erased, as the DPO reads it: kind, dates,
/// outcome; nothing personal.
#[derive(Template)]
#[template(path = "answers/proof.html")]
pub struct ProofDocument {
    pub t: Tr,
    pub standalone: bool,
    pub kind: RequestKind,
    pub received_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
    pub erased_on: Option<NaiveDate>,
}

impl ProofDocument {
    fn request(&self) -> &'static str {
        self.t.t(&format!("words.request.{}", self.kind.as_str()))
    }
}

/// The text of an HTML document as a person reads it: tags, the stylesheet and attributes left
/// out, entities decoded, white space folded. Tests read answers through it.
pub fn readable_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let skip_to = if after.starts_with("<style") {
            after.find("</style>").map(|i| i + "</style>".len())
        } else {
            after.find('>').map(|i| i + 1)
        };
        out.push(' ');
        rest = skip_to.map_or("", |i| &after[i..]);
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What in a text a person should never read: UUIDs and snake_case tokens (`third_party`,
/// `prospect_relations`). An email address is not a token.
pub fn internal_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "()[]{},;:«»\"'".contains(c))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '!' || c == '?'))
        .filter(|w| !w.contains('@'))
        .filter(|w| {
            let uuid = uuid::Uuid::parse_str(w).is_ok();
            let snake = w.contains('_')
                && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && w.split('_').all(|part| !part.is_empty());
            uuid || snake
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_ids_are_found_and_words_are_not() {
        let id = "0190f5c6-2b7e-7c1a-9d3e-4a5b6c7d8e9f";
        assert_eq!(internal_tokens(&format!("la demande {id}.")), vec![id.to_string()]);
        assert_eq!(
            internal_tokens("source : third_party, (prospect_relations)"),
            ["third_party", "prospect_relations"]
        );
        assert!(internal_tokens("Écrivez à dpo_msi@racine.eu ou jean-luc : l'an 2026.").is_empty());
        assert!(internal_tokens("un tiret _ seul, __init__").is_empty());
    }

    #[test]
    fn the_readable_text_leaves_out_tags_styles_and_attributes() {
        let html = "<html><head><style>a_b{c:d}</style></head><body><a href=\"data:x_y\">L&#39;accès &amp; vous</a>\n<p>fin</p></body></html>";
        assert_eq!(readable_text(html), "L'accès & vous fin");
    }

    /// Every token an answer may hold has its words in both languages (a test of the catalogues
    /// checks they have the same keys).
    #[test]
    fn every_token_has_its_words() {
        use vigie_domain::records::RequestKind;
        let mut missing = Vec::new();
        let mut check = |table: &str, tokens: Vec<&str>| {
            for token in tokens {
                let key = format!("words.{table}.{token}");
                if !crate::has(&key) {
                    missing.push(key);
                }
            }
        };
        check("field", FieldName::ALL.iter().map(|f| f.as_str()).chain(["contracts", "interactions"]).collect());
        check("category", DataCategory::ALL.iter().map(|c| c.as_str()).collect());
        check("basis", LegalBasis::ALL.iter().map(|c| c.as_str()).collect());
        check("source", Provenance::ALL.iter().map(|c| c.as_str()).collect());
        check("direction", Direction::ALL.iter().map(|c| c.as_str()).collect());
        check("request", RequestKind::ALL.iter().map(|c| c.as_str()).collect());
        check("refusal", RefusalGround::ALL.iter().map(|c| c.as_str()).collect());
        check("erasure_ground", ErasureGround::ALL.iter().map(|c| c.as_str()).collect());
        check("restriction_ground", RestrictionGround::ALL.iter().map(|c| c.as_str()).collect());
        check("safeguard", SafeguardKind::ALL.iter().map(|c| c.as_str()).chain(["eea", "adequacy"]).collect());
        let list = vigie_domain::transfers::TransferList::builtin();
        for code in list.eea.iter().chain(list.adequacy.iter().map(|a| &a.country)) {
            if !crate::has(&format!("country.{code}")) {
                missing.push(format!("country.{code}"));
            }
        }
        assert!(missing.is_empty(), "no words for: {missing:?}");
    }

    #[test]
    fn every_right_has_its_words() {
        for r in Right::ALL {
            assert!(crate::has(&format!("words.right.{}", r.key())), "{r:?}");
            assert!(crate::has(&format!("words.right_how.{}", r.key())), "{r:?}");
        }
    }
}

/// A response recorded before answers were typed (a JSON document), shown as the person's
/// document: one section per key, each value with the labels of its path.
#[derive(Template)]
#[template(path = "answers/earlier.html")]
pub struct EarlierDocument {
    pub t: Tr,
    pub standalone: bool,
    /// (section's title, its rows: (the labels of the value's path, the value)).
    pub sections: Vec<(String, Vec<(String, String)>)>,
}
