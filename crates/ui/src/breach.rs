//! The draft notification of a personal data breach to the supervisory authority (Art. 33(3)),
//! as the DPO reads it before filing it with the CNIL's online service.

use crate::Tr;
use askama::Template;
use chrono::{DateTime, Utc};

/// One decision on informing the people concerned (Art. 34).
#[derive(Debug, Clone)]
pub struct Decision {
    pub at: DateTime<Utc>,
    /// The decision's token (`notify`, `confirm_exemption`, …), said in words by the template.
    pub decision: &'static str,
    pub justification: Option<String>,
    pub notices_queued: Option<u64>,
}

/// The draft: every item of Art. 33(3), in the order of the CNIL's form.
#[derive(Template)]
#[template(path = "breach/cnil.html")]
pub struct CnilDraft {
    pub t: Tr,
    pub standalone: bool,
    pub controller: String,
    pub controller_address: Option<String>,
    pub detected_at: DateTime<Utc>,
    pub notify_by: DateTime<Utc>,
    pub late: bool,
    pub late_reasons: Option<String>,
    /// Tokens of the nature (`confidentiality`, `integrity`, `availability`).
    pub nature: Vec<&'static str>,
    pub description: String,
    /// Tokens of the data categories.
    pub categories: Vec<&'static str>,
    pub subjects: i64,
    pub clients: i64,
    pub prospects: i64,
    pub records: i64,
    pub dpo_name: String,
    pub dpo_email: String,
    pub dpo_address: String,
    pub consequences: Option<String>,
    pub measures: Option<String>,
    /// `none`, `risk` or `high`.
    pub risk: &'static str,
    pub no_notification_reasons: Option<String>,
    pub decisions: Vec<Decision>,
    /// People concerned without an email address, when the notices were queued.
    pub unreachable: Option<i64>,
}

impl CnilDraft {
    fn word(&self, table: &str, token: &str) -> &'static str {
        self.t.t(&format!("{table}.{token}"))
    }
}

#[cfg(test)]
mod tests {
    use vigie_domain::records::{BreachNature, BreachRisk, NoticeDecision};

    /// Every token the draft says in words has its words, in both languages (the catalogues
    /// have the same keys).
    #[test]
    fn every_token_of_the_draft_has_its_words() {
        let mut missing = Vec::new();
        let keys = BreachNature::ALL
            .iter()
            .map(|n| format!("cnil.nature_of.{}", n.as_str()))
            .chain(BreachRisk::ALL.iter().map(|r| format!("cnil.risk_of.{}", r.as_str())))
            .chain(NoticeDecision::ALL.iter().map(|d| format!("cnil.decision.{}", d.as_str())));
        for key in keys {
            if !crate::has(&key) {
                missing.push(key);
            }
        }
        assert!(missing.is_empty(), "{missing:?}");
    }
}
