//! The views of `/console/breaches` (filled by `web/src/console/breaches.rs`): the register with
//! each breach's 72-hour clock, the form recording a breach, and one breach with its phases, the
//! decision on informing the people (Art. 34) and the notification to the authority (Art. 33).

use super::Shell;
use crate::Tr;
use askama::Template;
use chrono::{DateTime, Utc};

/// Where a breach's 72-hour clock stands (Art. 33(1)).
#[derive(Clone, Debug)]
pub enum Clock {
    /// Running: hours left before the deadline.
    Running { hours_left: i64 },
    /// Past the deadline, the authority not notified: hours late.
    Late { hours_late: i64 },
    /// Stopped: the authority was notified at this time (late or not).
    Notified { at: DateTime<Utc>, late: bool },
    /// Stopped: the DPO recorded why the authority is not notified (risk none).
    NotNotified,
    /// Stopped: the breach was closed without a notification.
    Closed,
}

impl Clock {
    /// The clock in words.
    pub fn words(&self, t: &Tr) -> String {
        match self {
            Clock::Running { hours_left } => t.n("home.hours_left", *hours_left),
            Clock::Late { hours_late } => t.n("home.hours_late", *hours_late),
            Clock::Notified { at, late: false } => t.f("console_breaches.clock_notified", &[("at", &t.datetime(at))]),
            Clock::Notified { at, late: true } => {
                t.f("console_breaches.clock_notified_late", &[("at", &t.datetime(at))])
            }
            Clock::NotNotified => t.t("console_breaches.clock_not_notified").to_string(),
            Clock::Closed => t.t("console_breaches.clock_closed").to_string(),
        }
    }

    /// The CSS class of the clock: `late`, `soon` or `ok`.
    pub fn class(&self) -> &'static str {
        match self {
            Clock::Running { .. } => "soon",
            Clock::Late { .. } | Clock::Notified { late: true, .. } => "late",
            _ => "ok",
        }
    }
}

/// Which people a breach concerns, as recorded (the criteria combine).
#[derive(Clone, Debug, Default)]
pub struct ScopeWords {
    pub all: bool,
    /// How many subjects were named one by one.
    pub named: usize,
    /// Tokens of the kinds (`client`, `prospect`).
    pub kinds: Vec<String>,
    pub collected_from: Option<String>,
    pub collected_to: Option<String>,
    pub recipient: Option<String>,
    pub token: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl ScopeWords {
    /// The criteria in words, one sentence each.
    pub fn phrases(&self, t: &Tr) -> Vec<String> {
        let mut out = Vec::new();
        if self.all {
            out.push(t.t("console_breaches.scope_all").to_string());
        }
        if self.named > 0 {
            out.push(t.n("console_breaches.scope_named", self.named as i64));
        }
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self.kinds.iter().map(|k| t.t(&format!("console_breaches.kind.{k}"))).collect();
            out.push(t.f("console_breaches.scope_kinds", &[("kinds", &kinds.join(t.t("common.and")))]));
        }
        let dash = "…";
        if self.collected_from.is_some() || self.collected_to.is_some() {
            out.push(t.f(
                "console_breaches.scope_collected",
                &[
                    ("from", self.collected_from.as_deref().unwrap_or(dash)),
                    ("to", self.collected_to.as_deref().unwrap_or(dash)),
                ],
            ));
        }
        if let Some(r) = &self.recipient {
            out.push(t.f("console_breaches.scope_recipient", &[("recipient", r)]));
        }
        if let Some(k) = &self.token {
            out.push(t.f("console_breaches.scope_token", &[("token", k)]));
        }
        if self.from.is_some() || self.to.is_some() {
            out.push(t.f(
                "console_breaches.scope_window",
                &[("from", self.from.as_deref().unwrap_or(dash)), ("to", self.to.as_deref().unwrap_or(dash))],
            ));
        }
        out
    }
}

/// A breach, as the register shows it.
#[derive(Clone, Debug)]
pub struct BreachLine {
    pub id: String,
    pub detected_at: DateTime<Utc>,
    pub notify_by: DateTime<Utc>,
    pub clock: Clock,
    /// Tokens of the status (`open`, `notified`, `closed`) and the risk (`none`, `risk`, `high`).
    pub status: &'static str,
    pub risk: &'static str,
    /// Tokens of the nature.
    pub nature: Vec<&'static str>,
    pub scope: ScopeWords,
    pub subjects: i64,
}

/// What the form recording a breach was given, to show it again after a refusal.
#[derive(Clone, Debug, Default)]
pub struct BreachDraft {
    pub detected_at: String,
    pub nature: Vec<String>,
    pub description: String,
    pub categories: Vec<String>,
    pub kinds: Vec<String>,
    pub all: bool,
    pub subject_ids: String,
    pub collected_from: String,
    pub collected_to: String,
    pub recipient: String,
    pub token: String,
    pub from: String,
    pub to: String,
    pub likely_consequences: String,
    pub measures: String,
    pub risk: String,
    pub keys_compromised: String,
    pub no_notification_reasons: String,
}

impl BreachDraft {
    pub fn has_nature(&self, n: &&str) -> bool {
        self.nature.iter().any(|x| x == n)
    }
    pub fn has_category(&self, c: &&str) -> bool {
        self.categories.iter().any(|x| x == c)
    }
    pub fn has_kind(&self, k: &&str) -> bool {
        self.kinds.iter().any(|x| x == k)
    }
}

/// The natures, data categories, kinds, risks and key states the forms offer.
pub const NATURES: [&str; 3] = ["confidentiality", "integrity", "availability"];
pub const CATEGORIES: [&str; 6] = ["identity", "contact", "professional", "notes", "contract", "interactions"];
pub const KINDS: [&str; 2] = ["client", "prospect"];
pub const RISKS: [&str; 3] = ["none", "risk", "high"];
pub const KEYS: [&str; 3] = ["yes", "no", "unknown"];
pub const DECISIONS: [&str; 5] =
    ["notify", "confirm_exemption", "measures_taken", "public_communication", "other_channel"];
pub const PHASES: [&str; 3] = ["update", "subjects_notified", "closed"];

/// `GET /console/breaches`: the register, and the form recording a breach.
#[derive(Template)]
#[template(path = "console/breaches/list.html")]
pub struct BreachesPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub breaches: Vec<BreachLine>,
    /// The policy's recipients a scope may name.
    pub recipients: Vec<String>,
    pub draft: BreachDraft,
    /// Why the last form was refused, in words.
    pub error: Option<String>,
}

impl BreachesPage {
    /// The words of a token: `w("console_breaches.risk", "high")`.
    pub fn w(&self, table: &str, token: &str) -> &'static str {
        self.t.t(&format!("{table}.{token}"))
    }
    pub fn clock(&self, c: &Clock) -> String {
        c.words(&self.t)
    }
    pub fn scope(&self, s: &ScopeWords) -> Vec<String> {
        s.phrases(&self.t)
    }
    pub fn natures(&self) -> &'static [&'static str] {
        &NATURES
    }
    pub fn categories(&self) -> &'static [&'static str] {
        &CATEGORIES
    }
    pub fn kinds(&self) -> &'static [&'static str] {
        &KINDS
    }
    pub fn risks(&self) -> &'static [&'static str] {
        &RISKS
    }
    pub fn keys(&self) -> &'static [&'static str] {
        &KEYS
    }
}

/// A dated phase of a breach.
#[derive(Clone, Debug)]
pub struct PhaseLine {
    pub at: DateTime<Utc>,
    /// Its token (`initial`, `update`, `authority_notified`…).
    pub phase: &'static str,
    pub details: String,
    /// `user:…` or `token:…`: who recorded it (a small reference).
    pub actor: String,
}

/// A recorded decision on informing the people (Art. 34).
#[derive(Clone, Debug)]
pub struct DecisionLine {
    pub at: DateTime<Utc>,
    pub decision: &'static str,
    pub justification: Option<String>,
    pub notices_queued: Option<u64>,
    pub unreachable: Option<i64>,
}

/// `GET /console/breaches/{id}`: one breach, its clock, phases and decisions, and the forms.
#[derive(Template)]
#[template(path = "console/breaches/one.html")]
pub struct BreachPage {
    pub t: Tr,
    pub standalone: bool,
    pub shell: Shell,
    pub id: String,
    pub detected_at: DateTime<Utc>,
    pub notify_by: DateTime<Utc>,
    pub clock: Clock,
    pub late: bool,
    pub status: &'static str,
    pub risk: &'static str,
    pub keys: &'static str,
    pub nature: Vec<&'static str>,
    pub description: String,
    pub categories: Vec<&'static str>,
    pub scope: ScopeWords,
    pub subjects: i64,
    pub clients: i64,
    pub prospects: i64,
    pub records: i64,
    pub likely_consequences: Option<String>,
    pub measures: Option<String>,
    pub late_reasons: Option<String>,
    pub no_notification_reasons: Option<String>,
    pub authority_notified_at: Option<DateTime<Utc>>,
    /// What Art. 34 asks of this breach and what was done: the sentence key of its state.
    pub information: &'static str,
    pub unreachable_pending: bool,
    pub unreachable: Option<i64>,
    pub decisions: Vec<DecisionLine>,
    pub phases: Vec<PhaseLine>,
    pub error: Option<String>,
    pub done: Option<String>,
}

impl BreachPage {
    /// The words of a token: `w("console_breaches.risk", "high")`.
    pub fn w(&self, table: &str, token: &str) -> &'static str {
        self.t.t(&format!("{table}.{token}"))
    }
    pub fn clock(&self, c: &Clock) -> String {
        c.words(&self.t)
    }
    pub fn scope(&self, s: &ScopeWords) -> Vec<String> {
        s.phrases(&self.t)
    }
    pub fn risks(&self) -> &'static [&'static str] {
        &RISKS
    }
    pub fn keys_states(&self) -> &'static [&'static str] {
        &KEYS
    }
    pub fn decisions_offered(&self) -> &'static [&'static str] {
        &DECISIONS
    }
    pub fn phases_offered(&self) -> &'static [&'static str] {
        &PHASES
    }
    /// Whether the clock still runs (the authority neither notified nor ruled out).
    pub fn clock_runs(&self) -> bool {
        matches!(self.clock, Clock::Running { .. } | Clock::Late { .. })
    }
    pub fn closed(&self) -> bool {
        self.status == "closed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token a page says in words has its sentence (both languages: a test keeps them equal).
    #[test]
    fn every_token_of_the_breach_pages_has_its_words() {
        let tables: [(&str, &[&str]); 9] = [
            ("console_breaches.nature_of", &NATURES),
            ("words.category", &CATEGORIES),
            ("console_breaches.kind", &KINDS),
            ("console_breaches.risk_of", &RISKS),
            ("console_breaches.keys", &KEYS),
            ("cnil.decision", &DECISIONS),
            ("console_breaches.status_of", &["open", "notified", "closed"]),
            (
                "console_breaches.phase_of",
                &["initial", "update", "authority_notified", "subjects_notified", "closed", "subjects_decision"],
            ),
            ("console_retention.held_by_of", &["legal_hold", "rights_request", "breach", "restriction"]),
        ];
        for (table, tokens) in tables {
            for token in tokens {
                assert!(crate::has(&format!("{table}.{token}")), "{table}.{token}");
            }
        }
        for key in [
            "console_retention.kind_of.client",
            "console_retention.kind_of.prospect",
            "console_retention.rule_of.last_contract_end",
            "console_retention.rule_of.last_inbound_contact",
            "console_retention.rule_of.client_without_contract",
            "console_retention.action_of.set",
            "console_retention.action_of.lift",
        ] {
            assert!(crate::has(key), "{key}");
        }
        let t = Tr(crate::Lang::En);
        let scope = ScopeWords { kinds: vec!["client".into(), "prospect".into()], named: 2, ..ScopeWords::default() };
        assert_eq!(scope.phrases(&t), ["2 people named", "The clients and prospects"]);
        assert_eq!(Clock::Running { hours_left: 5 }.words(&t), "5 hours left");
    }
}
