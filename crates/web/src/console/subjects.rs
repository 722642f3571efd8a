//! `/console/subjects` (staff, DPO): find a subject by email, phone or name for a purpose, read it for
//! a purpose (the same purpose-checked, audited read as `GET /api/v1/subjects/{id}` with
//! `Vigie-Purpose`), and record a subject, a contract, an interaction, a consent or an objection
//! (the services of `POST /api/v1/subjects…`).
//!
//! A search carries a personal value: it is a POST form, never a query string. The subject's page
//! asks the purpose first (`?purpose=` holds a purpose id, never a personal value). An unknown
//! subject and a malformed id answer the same 404; admin and auditor are refused (403) by the page's
//! roles before any lookup. A name (first and last name together) is searched, like an email or a
//! phone, through its blind index: Vigie keeps names only sealed.

use super::{Console, Posted, render, see_other, with_status};
use crate::State;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::BTreeMap;
use vigie_app::AppError;
use vigie_app::subjects::{
    NewConsent, NewContract, NewInteraction, NewObjection, NewSubject, SubjectQuery as FindQuery, SubjectView,
};
use vigie_domain::access::Refusal;
use vigie_ui::console::subjects::{
    ConsentLine, ContractLine, FieldInput, FoundLine, IdentityLine, InteractionLine, NewSubjectInput, ObjectionLine,
    PurposeOption, RecordInput, RuleShown, SubjectPage, SubjectShown, SubjectsPage,
};

pub fn routes() -> Router<State> {
    Router::new()
        .route("/console/subjects", get(search_page).post(create_subject))
        .route("/console/subjects/search", post(search))
        .route("/console/subjects/{id}", get(subject))
        .route("/console/subjects/{id}/contracts", post(add_contract))
        .route("/console/subjects/{id}/interactions", post(add_interaction))
        .route("/console/subjects/{id}/consents", post(add_consent))
        .route("/console/subjects/{id}/objections", post(add_objection))
}

/// The identity fields of the new subject form: (name, label key, input type, multiline).
const IDENTITY: &[(&str, &str, &str, bool)] = &[
    ("civility", "words.field.civility", "text", false),
    ("first_name", "words.field.first_name", "text", false),
    ("last_name", "words.field.last_name", "text", false),
    ("email", "words.field.email", "email", false),
    ("phone", "words.field.phone", "tel", false),
    ("postal_address", "words.field.postal_address", "text", true),
    ("company", "words.field.company", "text", false),
    ("job_title", "words.field.job_title", "text", false),
    ("notes", "words.field.notes", "text", true),
];

/// The channels an interaction may be recorded on, with their words.
const CHANNELS: &[(&str, &str)] = &[
    ("email", "words.channel.email"),
    ("phone", "words.channel.phone"),
    ("letter", "words.channel.letter"),
    ("meeting", "words.channel.meeting"),
    ("web_form", "words.channel.web_form"),
    ("in_person", "words.channel.in_person"),
    ("sms", "words.channel.sms"),
    ("video", "words.channel.video"),
];

fn purposes(s: &State, c: &Console) -> Vec<PurposeOption> {
    s.app
        .policy()
        .purposes
        .iter()
        .map(|p| PurposeOption { id: p.id.clone(), name: c.t.of(&p.name).to_string() })
        .collect()
}

/// A purpose id fit for a URL (`[a-z0-9_]`), or nothing.
fn clean_purpose(raw: &str) -> Option<&str> {
    let p = raw.trim();
    (!p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        .then_some(p)
}

fn kind_key(kind: vigie_domain::SubjectKind) -> &'static str {
    match kind {
        vigie_domain::SubjectKind::Client => "console_subjects.kind_client",
        vigie_domain::SubjectKind::Prospect => "console_subjects.kind_prospect",
    }
}

/// A refusal of the policy, as the API names it (`rule`, and the service's sentence) and in words.
fn rule_shown(c: &Console, r: &Refusal) -> RuleShown {
    let key = format!("console_subjects.rules.{}", r.rule.as_str());
    let words = if vigie_ui::has(&key) { c.t.t(&key) } else { c.t.t("console_subjects.rules.other") };
    RuleShown { id: r.rule.as_str().to_string(), words: words.to_string(), detail: r.detail.clone() }
}

/// The label of a field a service named in an `Invalid` error.
fn field_label(field: &str) -> &'static str {
    if let Some(name) = field.strip_prefix("identity.") {
        return IDENTITY.iter().find(|(n, ..)| *n == name).map_or("console_subjects.identity", |(_, l, ..)| *l);
    }
    match field {
        "email" => "words.field.email",
        "phone" => "words.field.phone",
        "first_name" => "words.field.first_name",
        "last_name" => "words.field.last_name",
        "reference" => "console_subjects.contract_reference",
        "start" => "console_subjects.start",
        "end" => "console_subjects.end",
        "at" => "console_subjects.at",
        "direction" => "console_subjects.direction",
        "channel" => "console_subjects.channel",
        "summary" => "console_subjects.summary",
        "evidence" => "console_subjects.evidence",
        "purpose" | "Vigie-Purpose" => "console_subjects.purpose",
        "collected_at" => "console_subjects.collected_at",
        "provenance" => "console_subjects.provenance",
        "kind" => "console_subjects.kind",
        "granted" => "console_subjects.decision",
        _ => "console_subjects.identity",
    }
}

/// An input a service refused, in words (never repeating the value).
fn invalid_words(c: &Console, field: &str, message: &str) -> String {
    let key = match field {
        "identity" => "console_subjects.error_identity_empty",
        "query" => "console_subjects.error_search_one",
        "end" if message.contains("before start") => "console_subjects.error_end_before_start",
        "purpose" if message.contains("consent") => "console_subjects.error_not_consent",
        _ if message.contains("in the future") => {
            return c.t.f("console_subjects.error_future", &[("field", c.t.t(field_label(field)))]);
        }
        _ => return c.t.f("console_subjects.error_value", &[("field", c.t.t(field_label(field)))]),
    };
    c.t.t(key).to_string()
}

/// The same answer for an unknown subject and a malformed id: 404, nothing more.
fn unknown(c: &Console) -> Response {
    c.refusal(StatusCode::NOT_FOUND, "console.not_found", c.t.t("console_subjects.unknown"))
}

fn gone(c: &Console) -> Response {
    c.refusal(StatusCode::GONE, "console_subjects.gone_title", c.t.t("console_subjects.gone"))
}

fn forbidden(c: &Console) -> Response {
    c.refusal(StatusCode::FORBIDDEN, "console.forbidden", c.t.t("console_subjects.forbidden"))
}

// ---- the search, and a new subject ----

fn new_input(form: Option<&NewSubjectForm>) -> NewSubjectInput {
    let fields = IDENTITY
        .iter()
        .map(|(name, label, kind, multiline)| FieldInput {
            name,
            label,
            kind,
            value: form.and_then(|f| f.identity.get(*name)).cloned().unwrap_or_default(),
            multiline: *multiline,
        })
        .collect();
    NewSubjectInput {
        kind: form.map_or_else(|| "prospect".to_string(), |f| f.kind.clone()),
        collected_at: form.map(|f| f.collected_at.clone()).unwrap_or_default(),
        provenance: form.map_or_else(|| "provided".to_string(), |f| f.provenance.clone()),
        fields,
    }
}

fn subjects_page(s: &State, c: &Console) -> SubjectsPage {
    let purposes = purposes(s, c);
    SubjectsPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        purposes,
        by: "email".into(),
        value: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        purpose: String::new(),
        searched: false,
        found: Vec::new(),
        search_error: None,
        rule: None,
        new: new_input(None),
        new_error: None,
    }
}

async fn search_page(axum::extract::State(s): axum::extract::State<State>, c: Console) -> Response {
    render(&subjects_page(&s, &c))
}

#[derive(Deserialize)]
struct SearchForm {
    #[serde(default)]
    by: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    purpose: String,
}

fn found_line(v: &SubjectView) -> FoundLine {
    let name: Vec<&str> = ["civility", "first_name", "last_name"]
        .iter()
        .filter_map(|f| v.identity.iter().find(|(k, _)| k.as_str() == *f).map(|(_, x)| x.as_str()))
        .collect();
    FoundLine { id: v.id.to_string(), kind: kind_key(v.kind), name: name.join(" ") }
}

async fn search(axum::extract::State(s): axum::extract::State<State>, posted: Posted<SearchForm>) -> Response {
    let Posted { console: c, form } = posted;
    let query = match form.by.as_str() {
        "email" => FindQuery { email: Some(form.value.as_str()), ..FindQuery::default() },
        "phone" => FindQuery { phone: Some(form.value.as_str()), ..FindQuery::default() },
        // A part left empty is not given: the search asks for both.
        "name" => FindQuery {
            first_name: Some(form.first_name.as_str()).filter(|v| !v.trim().is_empty()),
            last_name: Some(form.last_name.as_str()).filter(|v| !v.trim().is_empty()),
            ..FindQuery::default()
        },
        _ => FindQuery::default(),
    };
    let mut page = subjects_page(&s, &c);
    page.by = form.by.clone();
    page.value = form.value.clone();
    page.first_name = form.first_name.clone();
    page.last_name = form.last_name.clone();
    page.purpose = form.purpose.clone();
    page.searched = true;
    let status = match s.app.search_subjects(c.who(), query, Some(form.purpose.as_str())).await {
        Ok(found) => {
            page.found = found.iter().map(found_line).collect();
            StatusCode::OK
        }
        Err(AppError::Refused(r)) => {
            page.rule = Some(rule_shown(&c, &r));
            StatusCode::FORBIDDEN
        }
        Err(AppError::Invalid { field, message }) => {
            page.search_error = Some(invalid_words(&c, &field, &message));
            StatusCode::BAD_REQUEST
        }
        Err(AppError::MissingPurpose) => {
            page.search_error = Some(c.t.t("console_subjects.error_purpose").to_string());
            StatusCode::BAD_REQUEST
        }
        Err(AppError::Forbidden(_)) => return forbidden(&c),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    with_status(render(&page), status)
}

#[derive(Deserialize)]
struct NewSubjectForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    collected_at: String,
    #[serde(default)]
    provenance: String,
    /// The identity fields, by name (the csrf field and the others above are left out).
    #[serde(flatten)]
    identity: BTreeMap<String, String>,
}

fn non_empty(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

async fn create_subject(
    axum::extract::State(s): axum::extract::State<State>,
    posted: Posted<NewSubjectForm>,
) -> Response {
    let Posted { console: c, form } = posted;
    let identity = IDENTITY
        .iter()
        .filter_map(|(name, ..)| {
            form.identity.get(*name).and_then(|v| non_empty(v)).map(|v| ((*name).to_string(), Some(v)))
        })
        .collect();
    let input = NewSubject {
        kind: form.kind.clone(),
        collected_at: non_empty(&form.collected_at),
        provenance: non_empty(&form.provenance),
        field_provenance: BTreeMap::new(),
        identity,
    };
    let (error, status) = match s.app.create_subject(c.who(), input).await {
        Ok(created) => {
            let mut to = format!("/console/subjects/{}?created=1", created.id);
            if !created.possible_duplicates.is_empty() {
                let ids: Vec<String> = created.possible_duplicates.iter().map(ToString::to_string).collect();
                to.push_str(&format!("&dups={}", ids.join(",")));
            }
            return see_other(&to);
        }
        Err(AppError::Invalid { field, message }) => (invalid_words(&c, &field, &message), StatusCode::BAD_REQUEST),
        Err(AppError::Conflict(_)) => (c.t.t("console_subjects.error_suppressed").to_string(), StatusCode::CONFLICT),
        Err(AppError::Forbidden(_)) => return forbidden(&c),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let mut page = subjects_page(&s, &c);
    page.new = new_input(Some(&form));
    page.new_error = Some(error);
    with_status(render(&page), status)
}

// ---- one subject ----

#[derive(Deserialize, Default)]
struct SubjectQuery {
    purpose: Option<String>,
    created: Option<String>,
    dups: Option<String>,
    done: Option<String>,
}

fn shown(c: &Console, v: SubjectView, s: &State) -> SubjectShown {
    let policy = s.app.policy();
    let purpose_name = |id: &str| policy.purpose(id).map_or_else(|| id.to_string(), |p| c.t.of(&p.name).to_string());
    let identity = IDENTITY
        .iter()
        .filter_map(|(name, label, ..)| {
            let (field, value) = v.identity.iter().find(|(k, _)| k.as_str() == *name)?;
            let source = match v.provenance.get(field).map(|p| p.as_str()) {
                Some("observed") => "console_subjects.source_observed",
                Some("third_party") => "console_subjects.source_third_party",
                _ => "console_subjects.source_provided",
            };
            Some(IdentityLine { label, value: value.clone(), source })
        })
        .collect();
    SubjectShown {
        kind: kind_key(v.kind),
        basis: format!("register.basis.{}", v.basis.as_str()),
        archived: v.archived,
        collected_at: v.collected_at,
        created_at: v.created_at,
        identity,
        contracts: v
            .contracts
            .into_iter()
            .map(|k| ContractLine { reference: k.reference, start: k.start, end: k.end, active: k.active })
            .collect(),
        interactions: v
            .interactions
            .into_iter()
            .map(|i| InteractionLine {
                at: i.at,
                direction: match i.direction {
                    vigie_domain::Direction::Inbound => "console_subjects.inbound",
                    vigie_domain::Direction::Outbound => "console_subjects.outbound",
                },
                channel: CHANNELS
                    .iter()
                    .find(|(v, _)| *v == i.channel)
                    .map_or_else(|| i.channel.clone(), |(_, k)| c.t.t(k).to_string()),
                summary: i.summary,
            })
            .collect(),
        consents: v
            .consents
            .into_iter()
            .map(|k| ConsentLine { purpose: purpose_name(&k.purpose), granted: k.granted, at: k.at })
            .collect(),
        objections: v
            .objections
            .into_iter()
            .map(|o| ObjectionLine { purpose: purpose_name(&o.purpose), at: o.at })
            .collect(),
    }
}

fn subject_page(s: &State, c: &Console, id: uuid::Uuid, purpose: Option<&str>) -> SubjectPage {
    let purposes = purposes(s, c);
    let chosen = purpose.map(|p| {
        purposes.iter().find(|o| o.id == p).cloned().unwrap_or_else(|| PurposeOption { id: p.into(), name: p.into() })
    });
    let first = purposes.first().map(|p| p.id.clone()).unwrap_or_default();
    SubjectPage {
        t: c.t,
        standalone: false,
        shell: c.shell(),
        id: id.to_string(),
        purposes,
        purpose: chosen,
        view: None,
        rule: None,
        forms: false,
        created: false,
        duplicates: Vec::new(),
        done: None,
        error: None,
        error_form: "",
        input: RecordInput {
            direction: "inbound".into(),
            channel: "email".into(),
            granted: "true".into(),
            consent_purpose: first.clone(),
            objection_purpose: first,
            ..RecordInput::default()
        },
        channels: CHANNELS.to_vec(),
    }
}

async fn subject(
    axum::extract::State(s): axum::extract::State<State>,
    c: Console,
    Path(raw): Path<String>,
    query: Result<Query<SubjectQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&raw) else { return unknown(&c) };
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let purpose = q.purpose.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let mut page = subject_page(&s, &c, id, purpose);
    page.created = q.created.is_some();
    page.duplicates = q
        .dups
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|d| uuid::Uuid::parse_str(d).ok())
        .map(|d| d.to_string())
        .collect();
    page.done = match q.done.as_deref() {
        Some("contract") => Some("console_subjects.done_contract"),
        Some("interaction") => Some("console_subjects.done_interaction"),
        Some("consent") => Some("console_subjects.done_consent"),
        Some("objection") => Some("console_subjects.done_objection"),
        _ => None,
    };
    let Some(purpose) = purpose else {
        // The purpose first: nothing is looked up before it is chosen.
        return render(&page);
    };
    let status = match s.app.read_subject(c.who(), id, Some(purpose)).await {
        Ok(v) => {
            page.view = Some(shown(&c, v, &s));
            page.forms = true;
            StatusCode::OK
        }
        Err(AppError::Refused(r)) => {
            page.rule = Some(rule_shown(&c, &r));
            page.forms = true;
            StatusCode::FORBIDDEN
        }
        Err(AppError::Invalid { field, message }) => {
            page.error = Some(invalid_words(&c, &field, &message));
            page.purpose = None;
            StatusCode::BAD_REQUEST
        }
        Err(AppError::NotFound(_)) => return unknown(&c),
        Err(AppError::Gone(_)) => return gone(&c),
        Err(AppError::Forbidden(_)) => return forbidden(&c),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    with_status(render(&page), status)
}

/// What a record form's service answered: 303 back to the subject's page with the purpose kept,
/// or the page with the form's error in words and a 4xx (nothing was recorded).
fn recorded(
    s: &State,
    c: &Console,
    id: uuid::Uuid,
    purpose: &str,
    what: &'static str,
    out: Result<vigie_app::subjects::Created, AppError>,
    input: RecordInput,
) -> Response {
    let purpose = clean_purpose(purpose);
    let (error, status) = match out {
        Ok(_) => {
            let to = match purpose {
                Some(p) => format!("/console/subjects/{id}?purpose={p}&done={what}"),
                None => format!("/console/subjects/{id}?done={what}"),
            };
            return see_other(&to);
        }
        Err(AppError::Invalid { field, message }) => (invalid_words(c, &field, &message), StatusCode::BAD_REQUEST),
        Err(AppError::NotFound(_)) => return unknown(c),
        Err(AppError::Gone(_)) => return gone(c),
        Err(AppError::Forbidden(_)) => return forbidden(c),
        Err(AppError::Conflict(_)) => (c.t.t("console.error_generic").to_string(), StatusCode::CONFLICT),
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let mut page = subject_page(s, c, id, purpose);
    page.forms = true;
    page.error = Some(error);
    page.error_form = what;
    page.input = input;
    with_status(render(&page), status)
}

/// The subject's id of a record form's path; a malformed one answers as an unknown subject.
fn subject_id(raw: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).ok()
}

/// The defaults of the forms the error did not concern.
fn base_input(s: &State) -> RecordInput {
    let first = s.app.policy().purposes.first().map(|p| p.id.clone()).unwrap_or_default();
    RecordInput {
        direction: "inbound".into(),
        channel: "email".into(),
        granted: "true".into(),
        consent_purpose: first.clone(),
        objection_purpose: first,
        ..RecordInput::default()
    }
}

#[derive(Deserialize)]
struct ContractForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
}

async fn add_contract(
    axum::extract::State(s): axum::extract::State<State>,
    Path(raw): Path<String>,
    posted: Posted<ContractForm>,
) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = subject_id(&raw) else { return unknown(&c) };
    let input = NewContract { reference: form.reference.clone(), start: form.start.clone(), end: non_empty(&form.end) };
    let out = s.app.add_contract(c.who(), id, input).await;
    let kept = RecordInput { reference: form.reference, start: form.start, end: form.end, ..base_input(&s) };
    recorded(&s, &c, id, &form.purpose, "contract", out, kept)
}

#[derive(Deserialize)]
struct InteractionForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    summary: String,
}

/// A browser's `datetime-local` value (`2026-12-07T10:30`), read in UTC as the console shows times.
fn timestamp(raw: &str) -> String {
    let raw = raw.trim();
    match raw.len() {
        16 if raw.as_bytes().get(10) == Some(&b'T') => format!("{raw}:00Z"),
        19 if raw.as_bytes().get(10) == Some(&b'T') => format!("{raw}Z"),
        _ => raw.to_string(),
    }
}

async fn add_interaction(
    axum::extract::State(s): axum::extract::State<State>,
    Path(raw): Path<String>,
    posted: Posted<InteractionForm>,
) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = subject_id(&raw) else { return unknown(&c) };
    let input = NewInteraction {
        at: timestamp(&form.at),
        direction: form.direction.clone(),
        channel: form.channel.clone(),
        summary: non_empty(&form.summary),
    };
    let out = s.app.add_interaction(c.who(), id, input).await;
    let kept = RecordInput {
        at: form.at,
        direction: form.direction,
        channel: form.channel,
        summary: form.summary,
        ..base_input(&s)
    };
    recorded(&s, &c, id, &form.purpose, "interaction", out, kept)
}

#[derive(Deserialize)]
struct ConsentForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    consent_purpose: String,
    #[serde(default)]
    granted: String,
    #[serde(default)]
    evidence: String,
}

async fn add_consent(
    axum::extract::State(s): axum::extract::State<State>,
    Path(raw): Path<String>,
    posted: Posted<ConsentForm>,
) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = subject_id(&raw) else { return unknown(&c) };
    let kept = RecordInput {
        consent_purpose: form.consent_purpose.clone(),
        granted: form.granted.clone(),
        evidence: form.evidence.clone(),
        ..base_input(&s)
    };
    let granted = match form.granted.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            let out = Err(AppError::invalid("granted", "must be given or withdrawn"));
            return recorded(&s, &c, id, &form.purpose, "consent", out, kept);
        }
    };
    let input =
        NewConsent { purpose: form.consent_purpose.clone(), granted, evidence: form.evidence.clone(), at: None };
    let out = s.app.add_consent(c.who(), id, input).await;
    recorded(&s, &c, id, &form.purpose, "consent", out, kept)
}

#[derive(Deserialize)]
struct ObjectionForm {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    objection_purpose: String,
}

async fn add_objection(
    axum::extract::State(s): axum::extract::State<State>,
    Path(raw): Path<String>,
    posted: Posted<ObjectionForm>,
) -> Response {
    let Posted { console: c, form } = posted;
    let Some(id) = subject_id(&raw) else { return unknown(&c) };
    let input = NewObjection { purpose: form.objection_purpose.clone(), at: None };
    let out = s.app.add_objection(c.who(), id, input).await;
    let kept = RecordInput { objection_purpose: form.objection_purpose, ..base_input(&s) };
    recorded(&s, &c, id, &form.purpose, "objection", out, kept)
}
