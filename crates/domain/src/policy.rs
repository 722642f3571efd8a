//! The policy as code: one TOML file, parsed into a model that drives
//! enforcement, the register and the notice.
//!
//! Parsing is two steps. The file is read into a "raw" shape that keeps the
//! location of every value (`toml::Spanned`), with every enumerated value kept
//! as a string; then [`Policy::from_toml`] checks the whole of it and reports
//! every problem with its line, rather than stopping at the first.

use crate::model::{SubjectKind, token_enum};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use toml::Spanned;

/// The default policy: the facts of the MSI policy Vigie was commissioned for.
pub const DEFAULT_POLICY: &str = include_str!("../../../policy/default.toml");

token_enum! {
    /// A legal basis of GDPR Art. 6(1).
    LegalBasis {
        Consent = "consent",
        Contract = "contract",
        LegalObligation = "legal_obligation",
        VitalInterests = "vital_interests",
        PublicTask = "public_task",
        LegitimateInterest = "legitimate_interest",
    }
}

token_enum! {
    /// The categories of data a purpose may use. Identity fields map onto the
    /// first four; `contract` and `interactions` are the subject's records.
    DataCategory {
        Identity = "identity",
        Contact = "contact",
        Professional = "professional",
        Notes = "notes",
        Contract = "contract",
        Interactions = "interactions",
    }
}

token_enum! {
    /// Whether a recipient is inside the company or outside it.
    RecipientKind { Internal = "internal", External = "external" }
}

token_enum! {
    /// The date a retention clock starts from.
    RetentionBasis { LastContractEnd = "last_contract_end", LastInboundContact = "last_inbound_contact" }
}

/// A text in French and English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub fr: String,
    pub en: String,
}

impl Localized {
    /// The text in one language.
    pub fn get(&self, lang: crate::Lang) -> &str {
        match lang {
            crate::Lang::Fr => &self.fr,
            crate::Lang::En => &self.en,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Controller {
    pub name: String,
    pub address: Option<String>,
    /// ISO 3166-1 alpha-2 code of the controller's country (FR when the policy names none): the
    /// region national phone numbers are read in.
    pub country: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dpo {
    pub name: String,
    pub email: String,
    pub address: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Authority {
    pub name: String,
    pub complaint_address: String,
    pub phone: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionRule {
    pub basis: RetentionBasis,
    pub years: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Retention {
    pub client: RetentionRule,
    pub prospect: RetentionRule,
    /// Years a closed rights request's proof record is kept (the limitation period for a claim).
    pub request_proof_years: u32,
    /// Years an entry of the suppression list (the keyed hashes of an objector's email and phone)
    /// is kept after the objection (3 by default, as the CNIL's référentiel for commercial
    /// management suggests for an objection to prospecting).
    pub suppression_years: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Purpose {
    pub id: String,
    pub name: Localized,
    /// The legal basis per subject kind; a kind without one is not covered.
    pub bases: BTreeMap<SubjectKind, LegalBasis>,
    pub data_categories: Vec<DataCategory>,
    /// Whether the archived record (after the last contract ended) may still be read for it.
    pub survives_contract: bool,
    /// Who may read archived records for it: recipient ids, or the role `dpo`.
    pub archived_readers: Vec<String>,
    /// Whether it serves the establishment, exercise or defence of legal claims: the one kind of
    /// read a restricted subject's data allows (Art. 18(2)), by its `archived_readers`.
    pub legal_claims: bool,
    /// Only aggregates are ever returned, never one subject's data.
    pub aggregates_only: bool,
    /// Smallest group an aggregate may show.
    pub min_group_size: u32,
    /// For a purpose based on legitimate interest for some kind: the interest pursued, in plain
    /// words (Arts. 13(1)(d), 14(2)(b)); `None` where the policy does not state it (warned).
    pub interest: Option<Localized>,
}

impl Purpose {
    /// Whether some subject kind is processed for it on the ground of legitimate interest.
    pub fn rests_on_legitimate_interest(&self) -> bool {
        self.bases.values().any(|b| *b == LegalBasis::LegitimateInterest)
    }
}

/// What the notice and every access answer must say besides purposes and recipients
/// (Arts. 13(2)(e) and (f), 14(2)(f)); each `None` where the policy does not state it (warned).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Information {
    /// Where the data of prospects comes from when they did not give it themselves.
    pub prospect_source: Option<Localized>,
    /// Whether providing the data is a statutory or contractual requirement, and what follows
    /// from not providing it.
    pub provision: Option<Localized>,
    /// Whether decisions are taken solely by automated means, profiling included.
    pub automated_decisions: Option<Localized>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub id: String,
    pub kind: RecipientKind,
    pub role: Option<String>,
    pub name: Localized,
    /// ISO 3166-1 alpha-2 code; required for external recipients.
    pub country: Option<String>,
    /// The address Art. 19 notices (rectification, erasure, restriction) are sent to.
    pub contact: Option<String>,
    pub purposes: Vec<String>,
}

/// A validated policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub version: String,
    pub effective_date: NaiveDate,
    pub language: String,
    pub assumptions: Vec<String>,
    pub controller: Controller,
    pub dpo: Dpo,
    pub authority: Authority,
    pub retention: Retention,
    pub purposes: Vec<Purpose>,
    pub recipients: Vec<Recipient>,
    pub security_measures: Vec<String>,
    /// How a requester's identity is checked (Art. 12(6)).
    pub identity_check: IdentityCheck,
    /// The statements owed to people besides purposes and recipients.
    pub information: Information,
}

/// How a rights requester's identity is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityCheck {
    /// An identity document for every request (MSI's §6.10). Art. 12(6) and EDPB Guidelines
    /// 01/2022 allow asking for more only on reasonable doubt: `vigie policy check` warns.
    Document,
    /// The identity is confirmed by what the controller already knows (email or phone on
    /// file, contract reference, account); a document only on a recorded doubt.
    OnDoubt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a policy file, with its location (1-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}: {sev}: {}", self.line, self.column, self.message)
    }
}

/// The outcome of checking a policy file: the policy when it has no error,
/// and every diagnostic (errors and warnings) in file order.
#[derive(Debug)]
pub struct Checked {
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning)
    }
}

// ---- raw shape, as written in the file ----

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: S<String>,
    effective_date: S<String>,
    language: Option<S<String>>,
    identity_check: Option<S<String>>,
    #[serde(default)]
    assumptions: Vec<S<String>>,
    controller: S<RawController>,
    dpo: S<RawDpo>,
    authority: S<RawAuthority>,
    retention: S<RawRetention>,
    purposes: S<Vec<S<RawPurpose>>>,
    recipients: S<Vec<S<RawRecipient>>>,
    security: S<RawSecurity>,
    #[serde(default)]
    information: Option<S<RawInformation>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInformation {
    prospect_source: Option<S<Localized>>,
    provision: Option<S<Localized>>,
    automated_decisions: Option<S<Localized>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawController {
    name: S<String>,
    address: Option<S<String>>,
    country: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDpo {
    name: S<String>,
    email: S<String>,
    address: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthority {
    name: S<String>,
    complaint_address: S<String>,
    phone: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    client: S<RawRule>,
    prospect: S<RawRule>,
    #[serde(default)]
    request_proof_years: Option<S<i64>>,
    #[serde(default)]
    suppression_years: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    basis: S<String>,
    years: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    id: S<String>,
    name: Localized,
    bases: S<BTreeMap<String, S<String>>>,
    #[serde(default)]
    data_categories: Vec<S<String>>,
    #[serde(default)]
    survives_contract: Option<S<bool>>,
    #[serde(default)]
    archived_readers: Vec<S<String>>,
    #[serde(default)]
    legal_claims: Option<S<bool>>,
    #[serde(default)]
    aggregates_only: bool,
    #[serde(default)]
    min_group_size: Option<S<i64>>,
    #[serde(default)]
    interest: Option<S<Localized>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipient {
    id: S<String>,
    kind: S<String>,
    role: Option<String>,
    name: Localized,
    country: Option<S<String>>,
    contact: Option<S<String>>,
    #[serde(default)]
    purposes: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecurity {
    measures: S<Vec<String>>,
}

/// Collects diagnostics, turning byte offsets into lines and columns.
struct Reporter<'a> {
    text: &'a str,
    out: Vec<(usize, Diagnostic)>,
}

impl Reporter<'_> {
    fn at(&mut self, severity: Severity, offset: usize, message: impl Into<String>) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.out.push((offset, Diagnostic { severity, line, column, message: message.into() }));
    }
    fn error<T>(&mut self, at: &S<T>, message: impl Into<String>) {
        self.at(Severity::Error, at.span().start, message);
    }
    fn warn<T>(&mut self, at: &S<T>, message: impl Into<String>) {
        self.at(Severity::Warning, at.span().start, message);
    }
    /// Parses an enumerated value, reporting the accepted set on failure.
    fn token<T: std::str::FromStr>(&mut self, v: &S<String>, what: &str, expected: String) -> Option<T> {
        match v.get_ref().parse() {
            Ok(t) => Some(t),
            Err(_) => {
                self.error(v, format!("{what} `{}` is not one of: {expected}", v.get_ref()));
                None
            }
        }
    }
    fn non_empty(&mut self, v: &S<String>, path: &str) -> String {
        let s = v.get_ref().trim();
        if s.is_empty() {
            self.error(v, format!("{path} is empty"));
        }
        s.to_string()
    }
}

/// Whether `s` is an identifier of the policy (a purpose, a recipient): `[a-z][a-z0-9_]{0,63}`.
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Policy {
    /// Parses and checks a policy; the policy is returned only when no error was found.
    pub fn from_toml(text: &str) -> Checked {
        let mut r = Reporter { text, out: Vec::new() };
        let raw: RawPolicy = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                let message = e.message().trim().to_string();
                r.at(Severity::Error, offset, message);
                return Checked { policy: None, diagnostics: r.finish() };
            }
        };
        let policy = build(&raw, &mut r);
        let diagnostics = r.finish();
        let ok = !diagnostics.iter().any(|d| d.severity == Severity::Error);
        Checked { policy: ok.then_some(policy), diagnostics }
    }

    /// The default policy, which is checked by the test suite.
    pub fn default_policy() -> Result<Policy, Vec<Diagnostic>> {
        let checked = Policy::from_toml(DEFAULT_POLICY);
        checked.policy.ok_or(checked.diagnostics)
    }

    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id == id)
    }

    pub fn recipient(&self, id: &str) -> Option<&Recipient> {
        self.recipients.iter().find(|r| r.id == id)
    }

    /// Whether `recipient` is declared a recipient of `purpose`.
    pub fn is_recipient_of(&self, recipient: &str, purpose: &str) -> bool {
        self.recipient(recipient).is_some_and(|r| r.purposes.iter().any(|p| p == purpose))
    }

    /// Ids of the internal recipients (the company's employees).
    pub fn internal_recipients(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients.iter().filter(|r| r.kind == RecipientKind::Internal)
    }

    pub fn retention_rule(&self, kind: SubjectKind) -> RetentionRule {
        match kind {
            SubjectKind::Client => self.retention.client,
            SubjectKind::Prospect => self.retention.prospect,
        }
    }
}

impl Reporter<'_> {
    fn finish(mut self) -> Vec<Diagnostic> {
        self.out.sort_by_key(|(offset, _)| *offset);
        self.out.into_iter().map(|(_, d)| d).collect()
    }
}

fn build(raw: &RawPolicy, r: &mut Reporter<'_>) -> Policy {
    let version = r.non_empty(&raw.version, "version");
    let effective_date = match NaiveDate::parse_from_str(raw.effective_date.get_ref(), "%Y-%m-%d") {
        Ok(d) => d,
        Err(_) => {
            r.error(&raw.effective_date, "effective_date is not a date (expected YYYY-MM-DD)");
            NaiveDate::MIN
        }
    };
    let language = match &raw.language {
        Some(l) if !matches!(l.get_ref().as_str(), "fr" | "en") => {
            r.error(l, "language must be `fr` or `en`");
            "fr".to_string()
        }
        Some(l) => l.get_ref().clone(),
        None => "fr".to_string(),
    };
    // Absent, the check stays what it was before the setting existed: a document every time.
    let identity_check = match raw.identity_check.as_ref().map(|c| c.get_ref().as_str()) {
        Some("on_doubt") => IdentityCheck::OnDoubt,
        Some("document") | None => {
            let message = "identity_check = \"document\" (also when it is not set) asks every requester for an \
                 identity document: Art. 12(6) GDPR and EDPB Guidelines 01/2022 allow it only on reasonable doubt \
                 (the CNIL sanctioned a systematic demand, SAN-2020-008); consider \"on_doubt\" and amending the \
                 policy's clause";
            match &raw.identity_check {
                Some(at) => r.warn(at, message),
                None => r.warn(&raw.version, message),
            }
            IdentityCheck::Document
        }
        Some(_) => {
            if let Some(at) = &raw.identity_check {
                r.error(at, "identity_check must be `document` or `on_doubt`");
            }
            IdentityCheck::Document
        }
    };

    // Controller, DPO, authority.
    let c = raw.controller.get_ref();
    let controller = Controller {
        name: r.non_empty(&c.name, "controller.name"),
        address: c.address.as_ref().map(|a| r.non_empty(a, "controller.address")),
        country: match &c.country {
            None => crate::model::DEFAULT_PHONE_REGION.to_string(),
            Some(cc) => {
                let v = cc.get_ref();
                if v.len() != 2 || !v.chars().all(|ch| ch.is_ascii_uppercase()) {
                    r.error(cc, "controller.country must be an ISO 3166-1 alpha-2 code such as FR");
                }
                v.clone()
            }
        },
    };
    if c.address.is_none() {
        r.warn(
            &raw.controller,
            "controller.address is not stated: to be completed before the register or notice is published",
        );
    }
    let d = raw.dpo.get_ref();
    let dpo = Dpo {
        name: r.non_empty(&d.name, "dpo.name"),
        email: r.non_empty(&d.email, "dpo.email"),
        address: r.non_empty(&d.address, "dpo.address"),
    };
    if crate::model::normalize_email(&dpo.email).is_err() {
        r.error(&d.email, "dpo.email is not a valid email address");
    }
    let a = raw.authority.get_ref();
    let authority = Authority {
        name: r.non_empty(&a.name, "authority.name"),
        complaint_address: r.non_empty(&a.complaint_address, "authority.complaint_address"),
        phone: r.non_empty(&a.phone, "authority.phone"),
    };

    // Retention.
    let rule = |r: &mut Reporter<'_>, raw: &S<RawRule>, kind: &str, expected: RetentionBasis| {
        let basis = r
            .token::<RetentionBasis>(
                &raw.get_ref().basis,
                &format!("retention.{kind}.basis"),
                RetentionBasis::expected(),
            )
            .unwrap_or(expected);
        if basis != expected {
            r.error(
                &raw.get_ref().basis,
                format!("retention.{kind}.basis must be `{expected}` (the clock the policy defines for {kind}s)"),
            );
        }
        let years = *raw.get_ref().years.get_ref();
        if !(1..=100).contains(&years) {
            r.error(&raw.get_ref().years, format!("retention.{kind}.years must be between 1 and 100"));
        }
        RetentionRule { basis, years: years.clamp(1, 100) as u32 }
    };
    let ret = raw.retention.get_ref();
    let retention = Retention {
        client: rule(r, &ret.client, "client", RetentionBasis::LastContractEnd),
        prospect: rule(r, &ret.prospect, "prospect", RetentionBasis::LastInboundContact),
        request_proof_years: match &ret.request_proof_years {
            None => 5,
            Some(y) => {
                let years = *y.get_ref();
                if !(1..=30).contains(&years) {
                    r.error(y, "retention.request_proof_years must be between 1 and 30");
                }
                years.clamp(1, 30) as u32
            }
        },
        suppression_years: match &ret.suppression_years {
            None => 3,
            Some(y) => {
                let years = *y.get_ref();
                if !(1..=10).contains(&years) {
                    r.error(y, "retention.suppression_years must be between 1 and 10");
                }
                years.clamp(1, 10) as u32
            }
        },
    };

    // Recipients first: purposes refer to them.
    let mut recipient_ids = BTreeSet::new();
    let mut recipients = Vec::new();
    for rec in raw.recipients.get_ref() {
        let rr = rec.get_ref();
        let id = rr.id.get_ref().clone();
        if !is_id(&id) {
            r.error(&rr.id, format!("recipient id `{id}` must be lower-case snake_case (a-z, 0-9, _)"));
        } else if id == "dpo" {
            r.error(&rr.id, "recipient id `dpo` is reserved for the DPO role");
        } else if !recipient_ids.insert(id.clone()) {
            r.error(&rr.id, format!("recipient `{id}` is declared twice"));
        }
        let kind = r
            .token::<RecipientKind>(&rr.kind, &format!("recipients.{id}.kind"), RecipientKind::expected())
            .unwrap_or(RecipientKind::External);
        let country = match &rr.country {
            Some(cc) => {
                let v = cc.get_ref();
                if v.len() != 2 || !v.chars().all(|ch| ch.is_ascii_uppercase()) {
                    r.error(cc, format!("recipients.{id}.country must be an ISO 3166-1 alpha-2 code such as FR"));
                }
                Some(v.clone())
            }
            None => {
                if kind == RecipientKind::External {
                    r.error(rec, format!("recipients.{id}.country is missing: an external recipient needs a country"));
                }
                None
            }
        };
        let contact = match &rr.contact {
            Some(c) => {
                let v = c.get_ref().trim();
                let ok = v
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
                    && !v.chars().any(|ch| ch.is_whitespace() || ch.is_control() || matches!(ch, '<' | '>' | ','));
                if !ok {
                    r.error(c, format!("recipients.{id}.contact must be one email address such as dpo@example.fr"));
                } else if v.ends_with(".example") {
                    r.warn(
                        c,
                        format!(
                            "recipients.{id}.contact is a placeholder (.example): replace it with the real address"
                        ),
                    );
                }
                Some(v.to_string())
            }
            None => {
                if kind == RecipientKind::External {
                    r.warn(
                        rec,
                        format!(
                            "recipients.{id}.contact is missing: Art. 19 notices (rectification, erasure, restriction) \
                             cannot reach this recipient"
                        ),
                    );
                }
                None
            }
        };
        recipients.push(Recipient {
            id,
            kind,
            role: rr.role.clone(),
            name: rr.name.clone(),
            country,
            contact,
            purposes: rr.purposes.iter().map(|p| p.get_ref().clone()).collect(),
        });
    }
    if !recipients.iter().any(|x| x.kind == RecipientKind::Internal) {
        r.error(&raw.recipients, "no internal recipient: the staff role would have nothing to act as");
    }

    // Purposes.
    let mut purpose_ids = BTreeSet::new();
    let mut purposes = Vec::new();
    for p in raw.purposes.get_ref() {
        let pr = p.get_ref();
        let id = pr.id.get_ref().clone();
        if !is_id(&id) {
            r.error(&pr.id, format!("purpose id `{id}` must be lower-case snake_case (a-z, 0-9, _)"));
        } else if !purpose_ids.insert(id.clone()) {
            r.error(&pr.id, format!("purpose `{id}` is declared twice"));
        }
        let mut bases = BTreeMap::new();
        for (kind, basis) in pr.bases.get_ref() {
            let Ok(k) = kind.parse::<SubjectKind>() else {
                r.error(
                    basis,
                    format!(
                        "purposes.{id}.bases: `{kind}` is not a subject kind (expected one of: {})",
                        SubjectKind::expected()
                    ),
                );
                continue;
            };
            if let Some(b) =
                r.token::<LegalBasis>(basis, &format!("purposes.{id}.bases.{kind}"), LegalBasis::expected())
            {
                if b == LegalBasis::Contract && k == SubjectKind::Prospect {
                    r.error(
                        basis,
                        format!("purposes.{id}.bases.prospect cannot be `contract`: a prospect has no contract"),
                    );
                }
                bases.insert(k, b);
            }
        }
        if pr.bases.get_ref().is_empty() {
            r.error(&pr.bases, format!("purposes.{id}.bases names no subject kind: the purpose would cover nobody"));
        }
        let data_categories: Vec<DataCategory> = pr
            .data_categories
            .iter()
            .filter_map(|c| r.token(c, &format!("purposes.{id}.data_categories"), DataCategory::expected()))
            .collect();
        let survives_contract = pr.survives_contract.as_ref().is_some_and(|s| *s.get_ref());
        if let Some(s) = &pr.survives_contract
            && *s.get_ref()
            && !bases.values().any(|b| *b == LegalBasis::Contract)
        {
            r.error(s, format!("purposes.{id}.survives_contract only makes sense for a purpose based on a contract"));
        }
        for reader in &pr.archived_readers {
            let name = reader.get_ref();
            if name != "dpo" && !raw.recipients.get_ref().iter().any(|x| x.get_ref().id.get_ref() == name) {
                r.error(
                    reader,
                    format!("purposes.{id}.archived_readers: `{name}` is neither `dpo` nor a declared recipient"),
                );
            }
        }
        if !pr.archived_readers.is_empty() && !survives_contract {
            r.warn(
                &pr.id,
                format!("purposes.{id}.archived_readers is ignored: the purpose does not survive the contract"),
            );
        }
        let legal_claims = pr.legal_claims.as_ref().is_some_and(|s| *s.get_ref());
        if let Some(s) = &pr.legal_claims
            && *s.get_ref()
            && pr.archived_readers.is_empty()
        {
            r.warn(
                s,
                format!("purposes.{id}.legal_claims: no archived_readers, so nobody may read a restricted record"),
            );
        }
        let min_group_size = match &pr.min_group_size {
            Some(m) if !(2..=1000).contains(m.get_ref()) => {
                r.error(m, format!("purposes.{id}.min_group_size must be between 2 and 1000"));
                5
            }
            Some(m) => *m.get_ref() as u32,
            None => 5,
        };
        let interest = pr.interest.as_ref().map(|i| {
            let text = i.get_ref().clone();
            if text.fr.trim().is_empty() || text.en.trim().is_empty() {
                r.error(i, format!("purposes.{id}.interest is empty"));
            }
            text
        });
        let on_interest = bases.values().any(|b| *b == LegalBasis::LegitimateInterest);
        match (&pr.interest, on_interest) {
            (None, true) => r.warn(
                &pr.id,
                format!(
                    "purposes.{id}.interest is not stated: a purpose based on legitimate interest must say which \
                     interest it pursues (Arts. 13(1)(d), 14(2)(b) GDPR); the notice and access answers say it is \
                     to be completed"
                ),
            ),
            (Some(i), false) => {
                r.warn(i, format!("purposes.{id}.interest is ignored: no kind is processed on legitimate interest"))
            }
            _ => {}
        }
        if !pr.aggregates_only && data_categories.is_empty() {
            r.warn(&pr.id, format!("purposes.{id} grants no data category: reads for it return no field"));
        }
        purposes.push(Purpose {
            id,
            name: pr.name.clone(),
            bases,
            data_categories,
            survives_contract,
            archived_readers: pr.archived_readers.iter().map(|x| x.get_ref().clone()).collect(),
            legal_claims,
            aggregates_only: pr.aggregates_only,
            min_group_size,
            interest,
        });
    }
    if purposes.is_empty() {
        r.error(&raw.purposes, "the policy declares no purpose");
    }
    for (rec, raw_rec) in recipients.iter().zip(raw.recipients.get_ref()) {
        for p in &raw_rec.get_ref().purposes {
            if !purpose_ids.contains(p.get_ref()) {
                r.error(p, format!("recipients.{}.purposes: `{}` is not a declared purpose", rec.id, p.get_ref()));
            }
        }
    }
    for (purpose, raw_p) in purposes.iter().zip(raw.purposes.get_ref()) {
        if !recipients.iter().any(|x| x.purposes.contains(&purpose.id)) {
            r.warn(
                raw_p,
                format!("purposes.{}: no recipient is declared for it, so nobody may read data for it", purpose.id),
            );
        }
    }

    // Assumptions: each must name a field that exists, and each is a warning.
    for a in &raw.assumptions {
        let path = a.get_ref();
        if path_exists(raw, path) {
            r.warn(a, format!("{path} is an assumption, not a fact stated by the source policy: confirm it"));
        } else {
            r.error(a, format!("assumptions: `{path}` names no field of this policy"));
        }
    }

    let information = information(raw, r);

    let measures = raw.security.get_ref().measures.get_ref().clone();
    if measures.iter().all(|m| m.trim().is_empty()) {
        r.error(&raw.security.get_ref().measures, "security.measures lists no measure");
    }

    Policy {
        version,
        effective_date,
        language,
        assumptions: raw.assumptions.iter().map(|a| a.get_ref().clone()).collect(),
        controller,
        dpo,
        authority,
        retention,
        purposes,
        recipients,
        security_measures: measures,
        identity_check,
        information,
    }
}

/// The `[information]` table: each statement checked non-empty, each missing one warned.
fn information(raw: &RawPolicy, r: &mut Reporter<'_>) -> Information {
    let empty = RawInformation::default();
    let i = raw.information.as_ref().map_or(&empty, |i| i.get_ref());
    let mut one = |field: &Option<S<Localized>>, name: &str, why: &str| match field {
        Some(v) => {
            let text = v.get_ref();
            if text.fr.trim().is_empty() || text.en.trim().is_empty() {
                r.error(v, format!("information.{name} is empty"));
            }
            Some(text.clone())
        }
        None => {
            match &raw.information {
                Some(at) => r.warn(at, format!("information.{name} is not stated ({why}): to be completed")),
                None => r.warn(&raw.version, format!("information.{name} is not stated ({why}): to be completed")),
            }
            None
        }
    };
    Information {
        prospect_source: one(
            &i.prospect_source,
            "prospect_source",
            "where prospects' data comes from when they did not give it, Art. 14(2)(f)",
        ),
        provision: one(
            &i.provision,
            "provision",
            "whether giving the data is a contractual requirement and what follows if it is not given, Art. 13(2)(e)",
        ),
        automated_decisions: one(
            &i.automated_decisions,
            "automated_decisions",
            "whether decisions are taken solely by automated means, profiling included, Art. 13(2)(f)",
        ),
    }
}

/// Whether a dotted path such as `recipients.accountant.country` names a field.
fn path_exists(raw: &RawPolicy, path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["controller", "name" | "address" | "country"]
        | ["dpo", "name" | "email" | "address"]
        | ["authority", "name" | "complaint_address" | "phone"] => true,
        ["recipients", id, field] => {
            raw.recipients.get_ref().iter().any(|r| r.get_ref().id.get_ref() == id)
                && matches!(*field, "name" | "country" | "contact" | "role" | "purposes")
        }
        ["purposes", id, field] => {
            raw.purposes.get_ref().iter().any(|p| p.get_ref().id.get_ref() == id)
                && matches!(*field, "bases" | "data_categories" | "name" | "interest")
        }
        ["information", field @ ("prospect_source" | "provision" | "automated_decisions")] => {
            raw.information.as_ref().is_some_and(|i| {
                let i = i.get_ref();
                match *field {
                    "prospect_source" => i.prospect_source.is_some(),
                    "provision" => i.provision.is_some(),
                    _ => i.automated_decisions.is_some(),
                }
            })
        }
        ["retention", "client" | "prospect", "years" | "basis"] => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Checked {
        Policy::from_toml(text)
    }

    #[test]
    fn default_policy_is_valid_and_has_the_fixed_purposes() {
        let checked = check(DEFAULT_POLICY);
        let errors: Vec<_> = checked.errors().collect();
        assert!(errors.is_empty(), "{errors:?}");
        let p = checked.policy.as_ref().map(|p| p.purposes.iter().map(|p| p.id.as_str()).collect::<Vec<_>>());
        assert_eq!(
            p,
            Some(vec![
                "contract_management",
                "service_delivery",
                "customer_relations",
                "prospect_relations",
                "customer_service",
                "events",
                "service_improvement",
                "statistics"
            ])
        );
        // The facts the MSI policy does not state are flagged, not invented.
        let warnings: Vec<String> = checked.warnings().map(|w| w.message.clone()).collect();
        assert!(warnings.iter().any(|w| w.contains("controller.address is not stated")), "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("recipients.accountant.country is an assumption")));
    }

    #[test]
    fn default_policy_bases_match_the_spec() {
        let Ok(p) = Policy::default_policy() else { unreachable!("checked above") };
        let basis = |id: &str, k: SubjectKind| p.purpose(id).and_then(|p| p.bases.get(&k).copied());
        use LegalBasis::*;
        use SubjectKind::*;
        assert_eq!(basis("contract_management", Client), Some(Contract));
        assert_eq!(basis("contract_management", Prospect), None);
        assert_eq!(basis("prospect_relations", Prospect), Some(LegitimateInterest));
        assert_eq!(basis("prospect_relations", Client), None);
        assert_eq!(basis("customer_service", Prospect), Some(LegitimateInterest));
        assert_eq!(basis("events", Client), Some(Consent));
        assert_eq!(basis("service_improvement", Client), Some(LegitimateInterest));
        assert_eq!(basis("service_improvement", Prospect), Some(Consent));
        assert!(p.purpose("statistics").is_some_and(|s| s.aggregates_only && s.min_group_size == 5));
        assert!(p.is_recipient_of("accountant", "contract_management"));
        assert!(!p.is_recipient_of("accountant", "service_delivery"));
        assert!(p.is_recipient_of("subcontractor", "service_delivery"));
        assert_eq!(p.retention.client.years, 5);
        assert_eq!(p.retention.prospect.years, 3);
        assert_eq!(p.retention.request_proof_years, 5);
        assert_eq!(p.retention.suppression_years, 3);
        assert_eq!(p.controller.country, "FR");
        let bad = check(&DEFAULT_POLICY.replace("suppression_years = 3", "suppression_years = 0"));
        assert!(bad.errors().any(|e| e.message.contains("suppression_years")));
        let bad = check(&DEFAULT_POLICY.replace("country = \"FR\"\n# address", "country = \"France\"\n# address"));
        assert!(bad.errors().any(|e| e.message.contains("controller.country")));
        let bad = check(&DEFAULT_POLICY.replace("request_proof_years = 5", "request_proof_years = 0"));
        assert!(bad.errors().any(|e| e.message.contains("request_proof_years")));
    }

    #[test]
    fn the_statements_owed_to_people_are_read_and_warned_where_missing() {
        let Ok(p) = Policy::default_policy() else { unreachable!("checked above") };
        // Every purpose resting on legitimate interest says which interest, in both languages.
        for purpose in p.purposes.iter().filter(|p| p.rests_on_legitimate_interest()) {
            let interest = purpose.interest.as_ref().map(|i| (i.fr.as_str(), i.en.as_str()));
            assert!(interest.is_some_and(|(fr, en)| !fr.is_empty() && !en.is_empty()), "{}", purpose.id);
        }
        assert!(p.purpose("events").is_some_and(|e| e.interest.is_none()));
        let i = &p.information;
        assert!(i.prospect_source.is_some() && i.provision.is_some() && i.automated_decisions.is_some());
        // MSI's policy states none of them: each is an assumption, warned.
        let checked = check(DEFAULT_POLICY);
        let warned = |needle: &str| checked.warnings().any(|w| w.message.contains(needle));
        assert!(warned("information.automated_decisions is an assumption"));
        assert!(warned("purposes.prospect_relations.interest is an assumption"));

        // Left out: warned, naming the article; an interest where no kind rests on it: warned too.
        let start = DEFAULT_POLICY.find("[information]").unwrap_or(0);
        let end = DEFAULT_POLICY.find("[[recipients]]").unwrap_or(0);
        let text = format!("{}{}", &DEFAULT_POLICY[..start], &DEFAULT_POLICY[end..])
            .replace("  \"information.prospect_source\",\n  \"information.provision\",\n  \"information.automated_decisions\",\n", "");
        let text = text.replacen("interest = { fr = \"Faire", "nointerest = { fr = \"Faire", 1);
        let checked = check(&text);
        let errors: Vec<_> = checked.errors().collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("nointerest"), "{errors:?}");
        let text = text
            .replacen("nointerest = { fr = \"Faire", "# no interest { fr = \"Faire", 1)
            .replace("  \"purposes.prospect_relations.interest\",\n", "");
        let checked = check(&text);
        assert!(checked.errors().next().is_none(), "{:?}", checked.errors().collect::<Vec<_>>());
        let warned = |needle: &str| checked.warnings().any(|w| w.message.contains(needle));
        assert!(warned("information.provision is not stated"));
        assert!(warned("Art. 14(2)(f)"));
        assert!(warned("purposes.prospect_relations.interest is not stated"));
        let text = text.replacen(
            "bases = { client = \"consent\", prospect = \"consent\" }",
            "bases = { client = \"consent\", prospect = \"consent\" }\ninterest = { fr = \"x\", en = \"y\" }",
            1,
        );
        let checked = check(&text);
        assert!(checked.warnings().any(|w| w.message.contains("purposes.events.interest is ignored")));
        let empty = text.replacen("interest = { fr = \"x\", en = \"y\" }", "interest = { fr = \" \", en = \"y\" }", 1);
        assert!(check(&empty).errors().any(|e| e.message.contains("purposes.events.interest is empty")));
    }

    #[test]
    fn every_semantic_error_is_reported_with_its_line() {
        let text = DEFAULT_POLICY
            .replace("bases = { prospect = \"legitimate_interest\" }", "bases = { prospect = \"contract\" }")
            .replace("client = \"consent\", prospect = \"consent\"", "client = \"consentt\", prospect = \"consent\"")
            .replace("purposes = [\"service_delivery\"]", "purposes = [\"service_delivry\"]")
            .replace("\nyears = 5", "\nyears = 0");
        let checked = check(&text);
        assert!(checked.policy.is_none());
        let errors: Vec<&Diagnostic> = checked.errors().collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
        assert_eq!(Some(errors[0].line), line_of("years = 0"));
        assert!(errors[0].message.contains("retention.client.years"));
        assert_eq!(Some(errors[1].line), line_of("prospect = \"contract\""));
        assert!(errors[1].message.contains("a prospect has no contract"));
        assert_eq!(Some(errors[2].line), line_of("consentt"));
        assert!(errors[2].message.contains("`consentt` is not one of"));
        assert_eq!(Some(errors[3].line), line_of("service_delivry"));
    }

    #[test]
    fn syntax_and_shape_errors_carry_a_line() {
        let checked = check("version = \"1\"\neffective_date = 2026-01-01x\n");
        let e = checked.errors().next().map(|d| d.line);
        assert_eq!(e, Some(2));
        let text = DEFAULT_POLICY.replace("[security]", "[security]\ncolour = \"blue\"");
        let checked = check(&text);
        let d: Vec<_> = checked.errors().collect();
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("colour"), "{}", d[0].message);
        assert_eq!(Some(d[0].line), text.lines().position(|l| l.contains("colour")).map(|i| i + 1));
    }

    #[test]
    fn external_recipient_needs_a_country_and_known_purposes() {
        let text = DEFAULT_POLICY.replacen("country = \"FR\"\n# Where Art. 19", "# Where Art. 19", 1);
        let checked = check(&text);
        assert!(checked.errors().any(|d| { d.message.contains("recipients.accountant.country is missing") }));
    }

    #[test]
    fn policy_check_warns_where_an_external_recipient_has_no_contact() {
        let checked = check(DEFAULT_POLICY);
        let warnings: Vec<&str> = checked.warnings().map(|w| w.message.as_str()).collect();
        assert!(warnings.iter().any(|w| w.contains("recipients.subcontractor.contact is missing")), "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("recipients.saas_erp.contact is a placeholder")), "{warnings:?}");
        assert!(!warnings.iter().any(|w| w.contains("recipients.staff.contact")), "internal recipients need none");
        let bad = DEFAULT_POLICY.replacen("rgpd@erp-saas.example", "not an address", 1);
        assert!(check(&bad).errors().any(|d| d.message.contains("recipients.saas_erp.contact must be")));
    }
}

/// Property tests: arbitrary text and mutations of the default policy.
#[cfg(test)]
mod fuzz;
