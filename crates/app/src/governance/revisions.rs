//! Policy revisions (SPEC 4.9, policy section 12): a new version is uploaded
//! with its effective date, checked, compared with the version in force, and
//! announced to every subject through the outbox. It takes effect on its date
//! only once every notice has been sent, so no one is bound by a policy they
//! were not told about. Each subject's notices show which versions reached it.
//!
//! The versions live in the database: the first start records the configured
//! policy as the first version in force, and every instance reloads the
//! version in force when another one activates a revision.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::Principal;
use crate::error::{AppError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vigie_domain::access::Role;
use vigie_domain::records::PolicyStatus;
use vigie_domain::{Policy, SubjectKind};
use vigie_store::PolicyVersionRow;

pub const TEMPLATE: &str = "policy_revision";

/// One difference between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Change {
    /// purpose, recipient, retention, controller, dpo, authority, security.
    pub section: String,
    /// The purpose or recipient id, the subject kind, or the field.
    pub item: String,
    /// added, removed or changed.
    pub change: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

fn change(section: &str, item: &str, kind: &str, before: Option<String>, after: Option<String>) -> Change {
    Change { section: section.into(), item: item.into(), change: kind.into(), before, after }
}

/// What changed from `old` to `new`: purposes, bases, recipients, countries, retention, contacts, security.
pub fn diff(old: &Policy, new: &Policy) -> Vec<Change> {
    let mut out = Vec::new();
    let bases =
        |p: &vigie_domain::Purpose| p.bases.iter().map(|(k, b)| format!("{k}: {b}")).collect::<Vec<_>>().join(", ");
    let cats = |p: &vigie_domain::Purpose| p.data_categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
    for p in &new.purposes {
        match old.purpose(&p.id) {
            None => out.push(change("purpose", &p.id, "added", None, Some(format!("{} ({})", p.name.fr, bases(p))))),
            Some(o) => {
                if bases(o) != bases(p) {
                    out.push(change("purpose", &p.id, "changed", Some(bases(o)), Some(bases(p))));
                }
                if cats(o) != cats(p) {
                    out.push(change("purpose", &format!("{} data", p.id), "changed", Some(cats(o)), Some(cats(p))));
                }
                if o.name != p.name {
                    out.push(change(
                        "purpose",
                        &format!("{} name", p.id),
                        "changed",
                        Some(o.name.fr.clone()),
                        Some(p.name.fr.clone()),
                    ));
                }
            }
        }
    }
    for o in &old.purposes {
        if new.purpose(&o.id).is_none() {
            out.push(change("purpose", &o.id, "removed", Some(o.name.fr.clone()), None));
        }
    }
    let place = |r: &vigie_domain::Recipient| {
        format!("{} [{}] for {}", r.country.as_deref().unwrap_or("internal"), r.kind, r.purposes.join(", "))
    };
    for r in &new.recipients {
        match old.recipient(&r.id) {
            None => out.push(change("recipient", &r.id, "added", None, Some(place(r)))),
            Some(o) if place(o) != place(r) => {
                out.push(change("recipient", &r.id, "changed", Some(place(o)), Some(place(r))))
            }
            Some(_) => {}
        }
    }
    for o in &old.recipients {
        if new.recipient(&o.id).is_none() {
            out.push(change("recipient", &o.id, "removed", Some(place(o)), None));
        }
    }
    for kind in [SubjectKind::Client, SubjectKind::Prospect] {
        let (a, b) = (old.retention_rule(kind), new.retention_rule(kind));
        if a != b {
            let show = |r: vigie_domain::policy::RetentionRule| format!("{} years after {}", r.years, r.basis);
            out.push(change("retention", kind.as_str(), "changed", Some(show(a)), Some(show(b))));
        }
    }
    if old.controller != new.controller {
        out.push(change(
            "controller",
            "controller",
            "changed",
            Some(old.controller.name.clone()),
            Some(new.controller.name.clone()),
        ));
    }
    if old.dpo != new.dpo {
        out.push(change("dpo", "dpo", "changed", Some(old.dpo.email.clone()), Some(new.dpo.email.clone())));
    }
    if old.authority != new.authority {
        out.push(change(
            "authority",
            "authority",
            "changed",
            Some(old.authority.name.clone()),
            Some(new.authority.name.clone()),
        ));
    }
    if old.security_measures != new.security_measures {
        out.push(change("security", "measures", "changed", None, None));
    }
    out
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// The policy file (TOML). Its `version` must be new and its `effective_date` after today.
    pub policy: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Diagnostic {
    pub severity: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notices {
    pub queued: i64,
    /// Not yet sent: the version cannot take effect while any remains.
    pub pending: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    pub version: String,
    pub effective_date: NaiveDate,
    /// pending, active or superseded.
    pub status: PolicyStatus,
    pub uploaded_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub notices: Notices,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Uploaded {
    pub version: String,
    pub effective_date: NaiveDate,
    pub changes: Vec<Change>,
    pub notices_queued: u64,
    /// Policy warnings (facts to be completed, assumptions).
    pub warnings: Vec<Diagnostic>,
}

/// The params of a version's notices: they identify the version, so its notices can be counted.
pub(crate) fn params(version: &str) -> String {
    serde_json::json!({ "version": version }).to_string()
}

/// A one-line summary of the changes, for the notice.
pub fn summary(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "aucun changement de fond / no change of substance".to_string();
    }
    changes.iter().map(|c| format!("{} {} {}", c.section, c.item, c.change)).collect::<Vec<_>>().join("; ")
}

impl App {
    /// At start: records the configured policy as the first version, or loads the version in force.
    pub(crate) fn init_policy_versions(&self, text: &str) -> std::result::Result<(), crate::StartError> {
        let configured = self.policy();
        let row = PolicyVersionRow {
            version: configured.version.clone(),
            text: text.to_string(),
            effective_date: configured.effective_date,
            status: PolicyStatus::Active,
            uploaded_at: self.now(),
            activated_at: Some(self.now()),
        };
        let active = self.db.audited_blocking(Actor::System, move |tx, trail| {
            let versions = tx.policy_versions()?;
            if let Some(active) = versions.into_iter().rev().find(|v| v.status == PolicyStatus::Active) {
                return Ok((Some(active), trail.nothing_changed()));
            }
            tx.insert_policy_version(&row)?;
            let entry = Entry::new("policy.version_recorded").detail(format!("version={}", row.version));
            Ok((None, trail.record(tx, entry)?))
        });
        match active {
            Ok(None) => Ok(()),
            Ok(Some(active)) => {
                // The database is the record of what is in force; the file only seeds it.
                if active.text != text {
                    tracing::warn!(
                        in_force = %active.version,
                        configured = %configured.version,
                        "the configured policy file differs from the version in force; upload it as a revision to change the policy"
                    );
                }
                let checked = Policy::from_toml(&active.text);
                let policy = checked.policy.ok_or(crate::StartError::Policy(checked.diagnostics))?;
                self.set_policy(policy);
                Ok(())
            }
            // Another process recorded the first version at the same moment: fine.
            Err(AppError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Uploads a revision (DPO): checked, diffed, recorded pending, announced to every subject with an email.
    pub async fn upload_policy(&self, who: &Principal, input: NewVersion) -> Result<Uploaded> {
        who.require(&[Role::Dpo], "uploading a policy revision")?;
        let checked = Policy::from_toml(&input.policy);
        let diagnostics: Vec<Diagnostic> = checked
            .diagnostics
            .iter()
            .map(|d| Diagnostic {
                severity: format!("{:?}", d.severity).to_lowercase(),
                line: d.line,
                column: d.column,
                message: d.message.clone(),
            })
            .collect();
        let Some(new) = checked.policy else {
            let list: Vec<String> = checked.errors().map(|d| format!("line {}: {}", d.line, d.message)).collect();
            return Err(AppError::invalid("policy", format!("the policy is invalid: {}", list.join("; "))));
        };
        let today = self.now().date_naive();
        if new.effective_date <= today {
            return Err(AppError::invalid(
                "policy.effective_date",
                format!(
                    "must be after today ({today}), so that every subject is told before the revision takes effect"
                ),
            ));
        }
        let current = self.policy();
        let changes = diff(&current, &new);
        let row = PolicyVersionRow {
            version: new.version.clone(),
            text: input.policy,
            effective_date: new.effective_date,
            status: PolicyStatus::Pending,
            uploaded_at: self.now(),
            activated_at: None,
        };
        let (actor, p, key) = (who.actor(), params(&new.version), format!("policy:{}:", new.version));
        let (version, effective_date) = (row.version.clone(), row.effective_date);
        let queued = self
            .db
            .audited(actor.clone(), move |tx, trail| {
                if tx.policy_versions()?.iter().any(|v| v.version == row.version) {
                    return Err(AppError::Conflict(format!("policy version {} already exists", row.version)));
                }
                tx.insert_policy_version(&row)?;
                let queued = tx.queue_for_subjects(
                    &[SubjectKind::Client, SubjectKind::Prospect],
                    TEMPLATE,
                    &p,
                    &key,
                    row.uploaded_at,
                )?;
                let detail = format!("version={} effective_date={} notices={queued}", row.version, row.effective_date);
                let recorded = trail.record(tx, Entry::new("policy.upload").detail(detail))?;
                Ok((queued, recorded))
            })
            .await?;
        let warnings = diagnostics.into_iter().filter(|d| d.severity == "warning").collect();
        Ok(Uploaded { version, effective_date, changes, notices_queued: queued, warnings })
    }

    /// The versions with their notices (any role).
    pub async fn policy_versions(&self) -> Result<Vec<VersionView>> {
        let rows = self.db.read(|tx| Ok::<_, AppError>(tx.policy_versions()?)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let (queued, pending) = self.version_notices(&r).await?;
            out.push(VersionView {
                version: r.version,
                effective_date: r.effective_date,
                status: r.status,
                uploaded_at: r.uploaded_at,
                activated_at: r.activated_at,
                notices: Notices { queued, pending },
            });
        }
        Ok(out)
    }

    async fn version_notices(&self, r: &PolicyVersionRow) -> Result<(i64, i64)> {
        let p = params(&r.version);
        self.db.read(move |tx| Ok::<_, AppError>(tx.count_messages(TEMPLATE, &p)?)).await
    }

    /// The pending version `version` with its changes against the version in force, for a notice.
    pub(crate) async fn revision_summary(&self, version: &str) -> Result<(NaiveDate, String)> {
        let rows = self.db.read(|tx| Ok::<_, AppError>(tx.policy_versions()?)).await?;
        let r = rows
            .into_iter()
            .find(|r| r.version == version)
            .ok_or_else(|| AppError::NotFound(format!("policy version {version}")))?;
        let new = Policy::from_toml(&r.text)
            .policy
            .ok_or_else(|| AppError::Internal(format!("policy version {version} no longer parses")))?;
        Ok((r.effective_date, summary(&diff(&self.policy(), &new))))
    }

    /// Puts every pending version whose date has come and whose notices are all
    /// sent into force, and reloads the version in force (another instance may
    /// have activated one). Returns the version activated, if any.
    pub async fn activate_due_versions(&self, today: NaiveDate) -> Result<Option<String>> {
        let rows = self.db.read(|tx| Ok::<_, AppError>(tx.policy_versions()?)).await?;
        let mut activated = None;
        for r in rows.iter().filter(|r| r.status == PolicyStatus::Pending && r.effective_date <= today) {
            if self.version_notices(r).await?.1 == 0 {
                self.activate(r, Actor::System).await?;
                activated = Some(r.version.clone());
            }
        }
        let rows = self.db.read(|tx| Ok::<_, AppError>(tx.policy_versions()?)).await?;
        if let Some(active) = rows.iter().rev().find(|v| v.status == PolicyStatus::Active)
            && active.version != self.policy().version
            && let Some(p) = Policy::from_toml(&active.text).policy
        {
            tracing::info!(version = %active.version, "policy version now in force");
            self.set_policy(p);
        }
        Ok(activated)
    }

    /// Puts a pending version into force now (DPO), if its date has come and every notice was sent.
    pub async fn activate_policy(&self, who: &Principal, version: &str) -> Result<VersionView> {
        who.require(&[Role::Dpo], "activating a policy revision")?;
        let rows = self.db.read(|tx| Ok::<_, AppError>(tx.policy_versions()?)).await?;
        let r = rows
            .into_iter()
            .find(|r| r.version == version)
            .ok_or_else(|| AppError::NotFound(format!("policy version {version}")))?;
        if r.status != PolicyStatus::Pending {
            return Err(AppError::Conflict(format!("policy version {version} is {}, not pending", r.status)));
        }
        let today = self.now().date_naive();
        if r.effective_date > today {
            return Err(AppError::Conflict(format!(
                "policy version {version} takes effect on {}, not before",
                r.effective_date
            )));
        }
        let (queued, pending) = self.version_notices(&r).await?;
        if pending > 0 {
            return Err(AppError::Conflict(format!(
                "policy version {version} cannot take effect: {pending} of {queued} notices to subjects are not sent yet"
            )));
        }
        self.activate(&r, who.actor()).await?;
        self.policy_versions()
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or_else(|| AppError::NotFound(version.to_string()))
    }

    async fn activate(&self, r: &PolicyVersionRow, actor: Actor) -> Result<()> {
        let checked = Policy::from_toml(&r.text);
        let policy = checked
            .policy
            .ok_or_else(|| AppError::Internal(format!("stored policy version {} no longer parses", r.version)))?;
        let version = r.version.clone();
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                for v in tx.policy_versions()? {
                    if v.status == PolicyStatus::Active {
                        tx.set_policy_status(&v.version, PolicyStatus::Superseded, at)?;
                    }
                }
                tx.set_policy_status(&version, PolicyStatus::Active, at)?;
                let recorded = trail.record(tx, Entry::new("policy.activate").detail(format!("version={version}")))?;
                Ok(((), recorded))
            })
            .await?;
        self.set_policy(policy);
        Ok(())
    }
}
