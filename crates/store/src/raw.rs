//! The row shapes the benchmarks' raw baselines write (`raw` modules of the
//! backends): no crypto, no audit chain, the same columns as the store.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// The audit columns shared by every subject of a raw write.
pub struct AuditShape<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub fields: &'a str,
    pub outcome: &'a str,
}

/// One subject as the raw baselines write it: one `subjects` row, one
/// `subject_keys` row and one `audit` row (no audit head update).
pub struct NewSubject {
    pub id: Uuid,
    pub kind: &'static str,
    pub collected_at: DateTime<Utc>,
    pub retention_rule: String,
    pub basis_date: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub email_bi: Vec<u8>,
    pub phone_bi: Vec<u8>,
    pub identity: Vec<u8>,
    pub wrapped: Vec<u8>,
    pub hash: Vec<u8>,
    /// The audit entry's detail.
    pub detail: String,
}
