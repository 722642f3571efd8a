//! Recipients and transfers (SPEC 4.7): the policy's recipients with their
//! country and the safeguards recorded for them; the check that refuses a
//! disclosure outside the EEA without adequacy or safeguard; the activation of
//! a transfer, which queues a notice to every subject concerned; and the
//! disclosure log, per subject and per recipient.

use crate::App;
use crate::audit::Entry;
use crate::auth::Principal;
use crate::error::{AppError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;
use uuid::Uuid;
use vigie_domain::access::{Caller, Role, check_read};
use vigie_domain::policy::{DataCategory, RecipientKind};
use vigie_domain::transfers::{Ground, Safeguard, SafeguardKind, TransferList, assess};
use vigie_domain::{FieldName, Policy, SubjectKind};
use vigie_store::{DisclosureRow, SafeguardRow, Tx, new_id};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SafeguardView {
    pub kind: SafeguardKind,
    pub signed_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    /// The document's reference, as recorded (the register cites it).
    pub reference: Option<String>,
}

/// The ground on which data may go to a recipient (the OpenAPI document's closed set of
/// `TransferView.ground`).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferGround {
    /// A recipient inside the company.
    Internal,
    /// A recipient in the EEA.
    Eea,
    /// An adequacy decision of the Commission (Art. 45).
    Adequacy,
    /// A recorded safeguard (Art. 46).
    Safeguard,
}

/// Whether data may go to a recipient today, and on what ground.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferView {
    pub allowed: bool,
    /// internal, eea, adequacy or safeguard.
    #[schema(value_type = Option<TransferGround>)]
    pub ground: Option<String>,
    /// The adequacy decision or the safeguard it rests on.
    pub basis: Option<String>,
    /// Why it is refused.
    pub reason: Option<String>,
    /// Whether the data leaves the EEA.
    pub outside_eea: bool,
    /// When the transfer outside the EEA was activated (subjects told).
    pub activated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientView {
    pub id: String,
    /// internal or external.
    pub kind: RecipientKind,
    pub role: Option<String>,
    pub name_fr: String,
    pub name_en: String,
    pub country: Option<String>,
    pub purposes: Vec<String>,
    pub safeguards: Vec<SafeguardView>,
    pub transfer: TransferView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientList {
    /// The date of the list of EEA countries and adequacy decisions in force.
    pub adequacy_list_as_of: NaiveDate,
    pub recipients: Vec<RecipientView>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSafeguard {
    /// scc (standard contractual clauses), bcr (binding corporate rules), dpf (EU-US Data Privacy Framework certification).
    #[schema(value_type = SafeguardKind)]
    pub kind: String,
    /// When the clauses were signed, the rules approved or the certification checked.
    #[schema(format = Date, pattern = "^[1-9]")]
    pub signed_on: String,
    /// The document relied on, e.g. the signed clauses' reference and module ("SCC 2021/914,
    /// module 2, signed copy A-17"): free text, not personal data; the register cites it.
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activation {
    pub recipient: String,
    pub activated_at: DateTime<Utc>,
    /// Notices queued to the subjects concerned.
    pub notices_queued: u64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDisclosure {
    /// A recipient of the policy.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub recipient: String,
    #[schema(format = Uuid)]
    pub subject_id: String,
    /// A purpose of the policy.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub purpose: String,
    /// Identity field names, or `contracts` / `interactions`.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub recipient: String,
    pub subject_id: Uuid,
    pub fields: Vec<String>,
    pub purpose: String,
}

impl From<DisclosureRow> for DisclosureEntry {
    fn from(d: DisclosureRow) -> Self {
        DisclosureEntry {
            id: d.id,
            at: d.at,
            recipient: d.recipient,
            subject_id: d.subject_id,
            fields: d.fields.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect(),
            purpose: d.purpose,
        }
    }
}

fn safeguards_of(rows: &[SafeguardRow], recipient: &str) -> Vec<Safeguard> {
    rows.iter()
        .filter(|s| s.recipient == recipient)
        .map(|s| Safeguard { kind: s.kind, signed_on: s.signed_on })
        .collect()
}

/// Whether data may go to `recipient` today, inside the caller's transaction.
pub(crate) fn transfer_check(
    tx: &mut dyn Tx,
    policy: &Policy,
    list: &TransferList,
    recipient: &str,
    today: NaiveDate,
) -> Result<Ground> {
    let r = policy.recipient(recipient).ok_or_else(|| AppError::NotFound(format!("recipient {recipient}")))?;
    if r.kind == RecipientKind::Internal {
        return Ok(Ground::Internal);
    }
    let rows = tx.safeguards()?;
    assess(list, r.country.as_deref(), &safeguards_of(&rows, recipient), today)
        .map_err(|reason| AppError::TransferRefused(format!("disclosure to recipient `{recipient}` refused: {reason}")))
}

fn describe(g: &Ground) -> (String, Option<String>) {
    match g {
        Ground::Internal => ("internal".into(), None),
        Ground::Eea { country } => ("eea".into(), Some(format!("{country} is in the EEA"))),
        Ground::Adequacy { country, decision } => {
            ("adequacy".into(), Some(format!("adequacy decision {decision} ({country})")))
        }
        Ground::Safeguard { kind, signed_on, .. } => {
            let what = match kind {
                SafeguardKind::Scc => "standard contractual clauses",
                SafeguardKind::Bcr => "binding corporate rules",
                SafeguardKind::Dpf => "EU-US Data Privacy Framework certification",
            };
            ("safeguard".into(), Some(format!("{what} signed on {signed_on}")))
        }
    }
}

/// The subject kinds a recipient's purposes cover: the subjects a transfer concerns.
fn kinds_concerned(policy: &Policy, recipient: &str) -> Vec<SubjectKind> {
    let mut kinds = BTreeSet::new();
    if let Some(r) = policy.recipient(recipient) {
        for p in &r.purposes {
            if let Some(purpose) = policy.purpose(p) {
                kinds.extend(purpose.bases.keys().copied());
            }
        }
    }
    kinds.into_iter().collect()
}

impl App {
    /// The policy's recipients with their transfer status (any role: no personal data).
    pub async fn recipients(&self, _who: &Principal) -> Result<RecipientList> {
        let (safeguards, activations) =
            self.db.read(|tx| Ok::<_, AppError>((tx.safeguards()?, tx.transfer_activations()?))).await?;
        let policy = self.policy();
        let today = self.now().date_naive();
        let recipients = policy
            .recipients
            .iter()
            .map(|r| {
                let sg = safeguards_of(&safeguards, &r.id);
                let assessed = if r.kind == RecipientKind::Internal {
                    Ok(Ground::Internal)
                } else {
                    assess(&self.transfers, r.country.as_deref(), &sg, today)
                };
                let activated_at = activations.iter().find(|(id, _)| *id == r.id).map(|(_, at)| *at);
                let transfer = match &assessed {
                    Ok(g) => {
                        let (ground, basis) = describe(g);
                        TransferView {
                            allowed: true,
                            ground: Some(ground),
                            basis,
                            reason: None,
                            outside_eea: g.outside_eea(),
                            activated_at,
                        }
                    }
                    Err(reason) => TransferView {
                        allowed: false,
                        ground: None,
                        basis: None,
                        reason: Some(reason.clone()),
                        outside_eea: true,
                        activated_at,
                    },
                };
                RecipientView {
                    id: r.id.clone(),
                    kind: r.kind,
                    role: r.role.clone(),
                    name_fr: r.name.fr.clone(),
                    name_en: r.name.en.clone(),
                    country: r.country.clone(),
                    purposes: r.purposes.clone(),
                    safeguards: safeguards
                        .iter()
                        .filter(|s| s.recipient == r.id)
                        .map(|s| SafeguardView {
                            kind: s.kind,
                            signed_on: s.signed_on,
                            recorded_at: s.recorded_at,
                            reference: s.reference.clone(),
                        })
                        .collect(),
                    transfer,
                }
            })
            .collect();
        Ok(RecipientList { adequacy_list_as_of: self.transfers.as_of, recipients })
    }

    /// Records a safeguard for an external recipient (DPO).
    pub async fn add_safeguard(&self, who: &Principal, recipient: &str, input: NewSafeguard) -> Result<SafeguardView> {
        who.require(&[Role::Dpo], "recording a safeguard")?;
        let policy = self.policy();
        match policy.recipient(recipient) {
            None => return Err(AppError::NotFound(format!("recipient {recipient}"))),
            Some(r) if r.kind == RecipientKind::Internal => {
                return Err(AppError::invalid(
                    "recipient",
                    format!("`{recipient}` is internal: no transfer to safeguard"),
                ));
            }
            Some(_) => {}
        }
        let kind: SafeguardKind = input
            .kind
            .parse()
            .map_err(|_| AppError::invalid("kind", format!("must be one of: {}", SafeguardKind::expected())))?;
        let signed_on = crate::input::parse_date("signed_on", &input.signed_on)?;
        if signed_on > self.now().date_naive() {
            return Err(AppError::invalid("signed_on", "is in the future"));
        }
        let reference =
            input.reference.as_deref().map(|r| crate::input::check_text("reference", r, 500)).transpose()?;
        let row = SafeguardRow {
            id: new_id(),
            recipient: recipient.to_string(),
            kind,
            signed_on,
            recorded_at: self.now(),
            reference,
        };
        let actor = who.actor();
        let view =
            SafeguardView { kind: row.kind, signed_on, recorded_at: row.recorded_at, reference: row.reference.clone() };
        self.db
            .audited(actor.clone(), move |tx, trail| {
                tx.insert_safeguard(&row)?;
                let detail = format!(
                    "recipient={} kind={} signed_on={} reference={}",
                    row.recipient,
                    row.kind,
                    row.signed_on,
                    if row.reference.is_some() { "recorded" } else { "none" }
                );
                let recorded = trail.record(tx, Entry::new("safeguard.record").detail(detail))?;
                Ok(((), recorded))
            })
            .await?;
        Ok(view)
    }

    /// Activates a transfer outside the EEA (DPO): it must be allowed, and every
    /// subject concerned is sent a notice through the outbox.
    pub async fn activate_transfer(&self, who: &Principal, recipient: &str) -> Result<Activation> {
        who.require(&[Role::Dpo], "activating a transfer")?;
        let policy = self.policy();
        let r =
            policy.recipient(recipient).ok_or_else(|| AppError::NotFound(format!("recipient {recipient}")))?.clone();
        let kinds = kinds_concerned(&policy, recipient);
        let (actor, list, id) = (who.actor(), self.transfers.clone(), recipient.to_string());
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let ground = transfer_check(tx, &policy, &list, &id, trail.at.date_naive())?;
                if !ground.outside_eea() {
                    let country = r.country.clone().unwrap_or_else(|| "internal".into());
                    return Err(AppError::invalid(
                        "recipient",
                        format!("`{id}` is not outside the EEA ({country}): there is no transfer to activate"),
                    ));
                }
                let at = trail.at;
                if !tx.activate_transfer(&id, at)? {
                    return Err(AppError::Conflict(format!("the transfer to `{id}` is already active")));
                }
                let (_, basis) = describe(&ground);
                let params = serde_json::json!({"recipient": id, "ground": basis.unwrap_or_default()}).to_string();
                let queued =
                    tx.queue_for_subjects(&kinds, "transfer_notice", &params, &format!("transfer:{id}:"), at)?;
                let detail = format!("recipient={id} notices={queued}");
                let recorded = trail.record(tx, Entry::new("transfer.activate").detail(detail))?;
                Ok((Activation { recipient: id.clone(), activated_at: at, notices_queued: queued }, recorded))
            })
            .await
    }

    /// Records a disclosure made outside Vigie's API (staff, dpo): checked against
    /// the policy and the transfer rules like a read by the recipient, then logged.
    pub async fn record_disclosure(&self, who: &Principal, input: NewDisclosure) -> Result<DisclosureEntry> {
        who.require(crate::auth::WRITERS, "recording a disclosure")?;
        let subject = Uuid::parse_str(&input.subject_id)
            .map_err(|_| AppError::invalid("subject_id", "is not a subject id (a UUID)"))?;
        crate::input::identifier("recipient", &input.recipient)?;
        crate::input::identifier("purpose", &input.purpose)?;
        let policy = self.policy();
        let recipient = policy.recipient(&input.recipient).ok_or_else(|| {
            AppError::invalid("recipient", format!("`{}` is not a recipient of the policy", input.recipient))
        })?;
        if recipient.kind == RecipientKind::Internal {
            return Err(AppError::invalid("recipient", "an internal recipient is not a disclosure"));
        }
        if input.fields.is_empty() {
            return Err(AppError::invalid("fields", "names no field"));
        }
        let mut fields = Vec::new();
        for f in &input.fields {
            let category = match f.as_str() {
                "contracts" => DataCategory::Contract,
                "interactions" => DataCategory::Interactions,
                other => other
                    .parse::<FieldName>()
                    .map_err(|e| {
                        AppError::invalid("fields", format!("`{other}` is not a field ({e}, contracts, interactions)"))
                    })?
                    .category(),
            };
            fields.push((f.clone(), category));
        }
        let (actor, list, input2) = (who.actor(), self.transfers.clone(), input.clone());
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                let facts = crate::record::facts(tx, subject, at.date_naive())?;
                let caller = Caller { role: Role::Recipient, recipient: Some(&input2.recipient) };
                let grant = check_read(&policy, caller, &input2.purpose, &facts).map_err(AppError::Refused)?;
                if let Some((f, _)) = fields.iter().find(|(_, c)| !grant.categories.contains(c)) {
                    return Err(AppError::invalid(
                        "fields",
                        format!("`{f}` is not among the data purpose `{}` may use", input2.purpose),
                    ));
                }
                transfer_check(tx, &policy, &list, &input2.recipient, trail.at.date_naive())?;
                let names: Vec<String> = fields.iter().map(|(f, _)| f.clone()).collect();
                let row = DisclosureRow {
                    id: new_id(),
                    at,
                    recipient: input2.recipient.clone(),
                    subject_id: subject,
                    fields: names.join(","),
                    purpose: input2.purpose.clone(),
                    token_id: None,
                };
                tx.insert_disclosure(&row)?;
                let entry = Entry::new("disclosure.record")
                    .subject(subject)
                    .purpose(&input2.purpose)
                    .fields(&names)
                    .detail(format!("disclosed to {}", input2.recipient));
                let recorded = trail.record(tx, entry)?;
                Ok((DisclosureEntry::from(row), recorded))
            })
            .await
    }

    /// The disclosure log by subject or by recipient (dpo, auditor).
    pub async fn list_disclosures(
        &self,
        who: &Principal,
        subject: Option<&str>,
        recipient: Option<&str>,
    ) -> Result<Vec<DisclosureEntry>> {
        who.require(&[Role::Dpo, Role::Auditor], "reading the disclosure log")?;
        let rows = match (subject, recipient) {
            (Some(s), None) => {
                let id =
                    Uuid::parse_str(s).map_err(|_| AppError::invalid("subject_id", "is not a subject id (a UUID)"))?;
                self.db.read(move |tx| Ok::<_, AppError>(tx.disclosures_for_subject(id)?)).await?
            }
            (None, Some(r)) => {
                if self.policy().recipient(r).is_none() {
                    return Err(AppError::invalid("recipient", format!("`{r}` is not a recipient of the policy")));
                }
                let r = r.to_string();
                self.db.read(move |tx| Ok::<_, AppError>(tx.disclosures_for_recipient(&r, 10_000)?)).await?
            }
            _ => return Err(AppError::invalid("query", "give exactly one of subject_id or recipient")),
        };
        Ok(rows.into_iter().map(DisclosureEntry::from).collect())
    }
}
