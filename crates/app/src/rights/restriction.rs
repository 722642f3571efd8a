//! Restriction of processing (Art. 18) once in force: lifting it. The subject is told before
//! the restriction is lifted (Art. 18(3)): the notice is queued first, in the transaction that
//! lifts it, so the restriction never ends without its notice on its way.

use super::*;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftRestriction {
    /// Why the restriction ends (e.g. the accuracy was verified); kept sealed under the subject's key.
    #[schema(
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reason: String,
}

/// A lifted restriction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RestrictionLifted {
    pub subject_id: Uuid,
    pub ground: RestrictionGround,
    pub restricted_at: DateTime<Utc>,
    pub lifted_at: DateTime<Utc>,
    /// The outbox message telling the subject (queued before the lift, in the same transaction).
    pub notice: String,
    /// Whether the subject can be told by email; if not, the DPO writes to them by post.
    pub subject_has_email: bool,
}

/// The template of the notice telling the subject that the restriction is lifted.
pub const LIFT_NOTICE: &str = "restriction_lifted";

impl App {
    /// Lifts a subject's restriction of processing (DPO): queues the notice to the subject, then
    /// lifts the restriction and records why, in one audited transaction.
    pub async fn lift_restriction(&self, who: &Principal, id: Id, input: LiftRestriction) -> Result<RestrictionLifted> {
        who.require(&[Role::Dpo], "lifting a restriction of processing")?;
        let reason = crate::input::check_text("reason", &input.reason, 2_000)?;
        let (keys, actor) = (self.keys.clone(), who.actor());
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                let row = crate::record::load(tx, id)?;
                let restriction = tx
                    .restriction(id)?
                    .filter(|r| r.lifted_at.is_none())
                    .ok_or_else(|| AppError::Conflict(format!("subject {id} is not restricted: nothing to lift")))?;
                // Art. 18(3): the subject is told first.
                let notice = format!("restriction:{id}:lifted:{}", at.timestamp_micros());
                tx.queue_message(&vigie_store::NewMessage {
                    idempotency_key: notice.clone(),
                    subject_id: Some(id),
                    recipient: None,
                    template: LIFT_NOTICE.into(),
                    params: serde_json::json!({"subject": id.to_string(),
                        "restricted_at": restriction.restricted_at.date_naive().to_string(),
                        "lifted_at": at.date_naive().to_string()})
                    .to_string(),
                    at,
                })?;
                let key = keys.unwrap_key(&row.wrapped_key, id.as_bytes())?;
                let sealed = key.seal(&aad_for(id, Part::Restriction, None), reason.as_bytes())?;
                if !tx.lift_restriction(id, &sealed, at)? {
                    return Err(AppError::Conflict(format!("subject {id} is not restricted: nothing to lift")));
                }
                let entry = Entry::new("subject.restriction_lift")
                    .subject(id)
                    .fields(["reason"])
                    .detail(format!("ground={} notice={notice}", restriction.ground));
                let recorded = trail.record(tx, entry)?;
                Ok((
                    RestrictionLifted {
                        subject_id: id,
                        ground: restriction.ground,
                        restricted_at: restriction.restricted_at,
                        lifted_at: at,
                        notice,
                        subject_has_email: row.email_bi.is_some(),
                    },
                    recorded,
                ))
            })
            .await
    }
}
