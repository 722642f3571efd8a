//! The suppression list: the keyed hashes (blind indexes) of the email and phone of people who
//! objected to prospecting, so that they are not recorded or imported as prospects again. It is
//! scoped to prospecting: the same person may still be recorded as a client. It is fed by every
//! erasure of a subject who objected to prospecting (the sweep's and a request's) and by a
//! request's objection to prospecting; each entry ends `retention.suppression_years` after the
//! objection (the sweep deletes it then), and the DPO can lift it at the person's request.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::Principal;
use crate::error::{AppError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use vigie_domain::FieldName;
use vigie_domain::access::Role;
use vigie_domain::model::normalize_field_in;
use vigie_store::{Id, ReadTx, SubjectRow, Tx};

/// The purpose whose objection puts a person on the list.
pub(crate) const PROSPECTING: &str = "prospect_relations";

/// The refusal of a prospect whose email or phone is on the list (never which, never the value).
pub(crate) fn refusal() -> AppError {
    AppError::Conflict(
        "this person objected to prospecting: their email or phone is on the suppression list, so they may not be \
         recorded as a prospect (they may be recorded as a client; the DPO can lift the entry at their request)"
            .into(),
    )
}

/// The end of an entry for an objection made on `objected_on`.
pub(crate) fn end_of(years: u32, objected_on: NaiveDate) -> NaiveDate {
    vigie_domain::dates::add_years(objected_on, years).unwrap_or(vigie_domain::retention::NO_END)
}

/// When the subject objected to prospecting (the latest objection), if it did.
pub(crate) fn objected_on(tx: &mut dyn ReadTx, id: Id) -> Result<Option<NaiveDate>> {
    Ok(tx.objections(id)?.iter().filter(|o| o.purpose == PROSPECTING).map(|o| o.at.date_naive()).max())
}

/// Puts a subject's email and phone blind indexes on the list until `years` after `objected_on`;
/// the entry for the audit trail (field names only), or None if the subject has neither.
pub(crate) fn suppress_subject(
    tx: &mut dyn Tx,
    row: &SubjectRow,
    years: u32,
    objected_on: NaiveDate,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Option<Entry>> {
    let end = end_of(years, objected_on);
    let mut fields = Vec::new();
    for (field, bi) in [("email", &row.email_bi), ("phone", &row.phone_bi)] {
        if let Some(bi) = bi {
            tx.suppress(bi, reason, at, end)?;
            fields.push(field);
        }
    }
    if fields.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        Entry::new("suppression.add").subject(row.id).fields(fields).detail(format!("reason={reason} until={end}")),
    ))
}

/// `DELETE /api/v1/suppressions`: exactly one of the two.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftSuppression {
    /// The email to take off the list.
    pub email: Option<String>,
    /// The phone number to take off the list (any spelling: it is normalised first).
    pub phone: Option<String>,
}

impl App {
    /// Takes a person's email or phone off the suppression list at their request (DPO). Audited
    /// with the field's name, never its value; NotFound when it was not on the list.
    pub async fn lift_suppression(&self, who: &Principal, input: LiftSuppression) -> Result<()> {
        who.require(&[Role::Dpo], "lifting a suppression")?;
        self.lift_suppression_by(who.actor(), input).await
    }

    /// [`App::lift_suppression`] for the command line.
    pub async fn lift_suppression_by(&self, actor: Actor, input: LiftSuppression) -> Result<()> {
        let policy = self.policy();
        let (field, raw) = match (&input.email, &input.phone) {
            (Some(e), None) => (FieldName::Email, e),
            (None, Some(p)) => (FieldName::Phone, p),
            _ => return Err(AppError::invalid("suppression", "give exactly one of email or phone")),
        };
        let v = normalize_field_in(field, raw, &policy.controller.country)
            .map_err(|e| AppError::invalid(field.as_str(), e.to_string()))?;
        let bi = self.keys.blind_index(field.as_str(), &v).to_vec();
        let lifted = self
            .db
            .audited(actor, move |tx, trail| {
                if !tx.lift_suppression(&bi)? {
                    return Ok((false, trail.nothing_changed()));
                }
                let entry = Entry::new("suppression.lift").fields([field.as_str()]).detail("at the person's request");
                Ok((true, trail.record(tx, entry)?))
            })
            .await?;
        if lifted { Ok(()) } else { Err(AppError::NotFound(format!("this {field} on the suppression list"))) }
    }
}
