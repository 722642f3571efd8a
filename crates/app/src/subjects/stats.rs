//! Aggregates for the `statistics` purpose: counts only, over columns that
//! are not personal, with every group under the policy's threshold suppressed.

use crate::App;
use crate::audit::Entry;
use crate::auth::Principal;
use crate::error::{AppError, Result};
use serde::Serialize;
use utoipa::ToSchema;
use vigie_domain::access::check_aggregate;
use vigie_store::StatGroup;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Group {
    pub group: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Statistics {
    pub purpose: String,
    pub group_by: String,
    /// Groups of at least `min_group_size` subjects.
    pub groups: Vec<Group>,
    /// How many groups were withheld for being smaller than `min_group_size`.
    pub suppressed_groups: usize,
    pub min_group_size: u32,
}

impl App {
    pub async fn statistics(&self, who: &Principal, purpose: Option<&str>, group_by: &str) -> Result<Statistics> {
        let purpose = match purpose.map(str::trim) {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => return Err(AppError::MissingPurpose),
        };
        let group = match group_by {
            "kind" => StatGroup::Kind,
            "collected_year" => StatGroup::CollectedYear,
            _ => {
                return Err(AppError::invalid("group_by", "must be one of: kind, collected_year"));
            }
        };
        let min = check_aggregate(&self.policy(), who.caller(), &purpose).map_err(AppError::Refused)?;
        if !self.policy().purpose(&purpose).is_some_and(|p| p.aggregates_only) {
            return Err(AppError::invalid(
                "Vigie-Purpose",
                format!("`{purpose}` is not an aggregates-only purpose such as `statistics`"),
            ));
        }
        let (actor, p, g) = (who.actor(), purpose.clone(), group_by.to_string());
        let counts = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                let counts = tx.count_subjects_by(group)?;
                let recorded =
                    trail.record(tx, Entry::new("statistics.read").purpose(&p).detail(format!("group_by={g}")))?;
                Ok((counts, recorded))
            })
            .await?;
        let (kept, withheld): (Vec<_>, Vec<_>) = counts.into_iter().partition(|c| c.count >= i64::from(min));
        Ok(Statistics {
            purpose,
            group_by: group_by.to_string(),
            groups: kept.into_iter().map(|c| Group { group: c.group, count: c.count }).collect(),
            suppressed_groups: withheld.len(),
            min_group_size: min,
        })
    }
}
