//! Policy revisions (SPEC 4.9, policy section 12): a new version is uploaded
//! with its effective date, checked, compared with the version in force, and
//! announced to every subject through the outbox. It takes effect on its date
//! only once every notice has been sent, so no one is bound by a policy they
//! were not told about. Each subject's notices show which versions reached it.
//!
//! The versions live in the database: the first start records the configured
//! policy as the first version in force, and every instance reloads the
//! version in force when another one activates a revision.
//!
//! Art. 6(4): a revision that adds a purpose, or changes the legal basis of a
//! purpose for a kind of subject, would apply a new basis to data collected
//! under the old one. Each such change is flagged in the revision's diff
//! (`compatibility_assessment_required`), and the revision cannot take effect
//! (manual or automatic activation) until the DPO has recorded, for each, an
//! assessment that the new use is compatible. A change assessed incompatible
//! keeps the revision from ever taking effect: the DPO amends it (uploads a new
//! version without the change, or with a basis that needs no assessment) and
//! the blocked version stays pending, never applied.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::Principal;
use crate::error::{AppError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vigie_domain::access::Role;
use vigie_domain::policy::LegalBasis;
use vigie_domain::records::PolicyStatus;
use vigie_domain::{Policy, SubjectKind};
use vigie_store::{AssessmentRow, PolicyVersionRow};

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

/// A change a revision makes that Art. 6(4) asks the DPO to assess before it applies: a purpose
/// added (`from` none), or a purpose's legal basis changed, for one kind of subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FlaggedChange {
    pub purpose: String,
    pub kind: SubjectKind,
    /// The basis the purpose had for this kind; none when the purpose or the kind is new to it.
    pub from: Option<LegalBasis>,
    pub to: LegalBasis,
}

/// The changes from `old` to `new` that need a compatibility assessment: every (purpose, kind)
/// whose basis in `new` is not the one it had in `old`. A purpose removed or a kind dropped needs
/// none (the processing stops), nor does a change of wording.
pub fn compatibility_changes(old: &Policy, new: &Policy) -> Vec<FlaggedChange> {
    let mut out = Vec::new();
    for p in &new.purposes {
        for (&kind, &to) in &p.bases {
            let from = old.purpose(&p.id).and_then(|o| o.bases.get(&kind).copied());
            if from != Some(to) {
                out.push(FlaggedChange { purpose: p.id.clone(), kind, from, to });
            }
        }
    }
    out
}

/// Why a revision cannot take effect under Art. 6(4): the flagged changes without an assessment
/// of them as they stand, and those assessed incompatible. None when every one is assessed
/// compatible.
fn assessment_gate(version: &str, flagged: &[FlaggedChange], rows: &[AssessmentRow]) -> Option<String> {
    let describe = |c: &FlaggedChange| {
        let from = c.from.map_or("none", |b| b.as_str());
        format!("purpose `{}` for {} ({from} → {})", c.purpose, c.kind, c.to)
    };
    let assessed = |c: &FlaggedChange| {
        rows.iter().find(|r| {
            r.version == version
                && r.purpose == c.purpose
                && r.kind == c.kind
                && r.from_basis == c.from
                && r.to_basis == c.to
        })
    };
    let missing: Vec<String> = flagged.iter().filter(|c| assessed(c).is_none()).map(describe).collect();
    let refused: Vec<String> =
        flagged.iter().filter(|c| assessed(c).is_some_and(|r| !r.compatible)).map(describe).collect();
    let mut why = Vec::new();
    if !refused.is_empty() {
        why.push(format!(
            "the DPO assessed as incompatible with the purposes the data was collected for (Art. 6(4)): {}; amend the revision (upload a new version without these changes)",
            refused.join("; ")
        ));
    }
    if !missing.is_empty() {
        why.push(format!(
            "no compatibility assessment (Art. 6(4)) is recorded for: {}; record one with POST /api/v1/policy/versions/{version}/assessments",
            missing.join("; ")
        ));
    }
    (!why.is_empty()).then(|| format!("policy version {version} cannot take effect: {}", why.join("; and ")))
}

/// The DPO's assessment of one flagged change (Art. 6(4)).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssessment {
    /// The purpose of the change assessed, with `kind`; give neither to assess every flagged
    /// change of the version at once (one conclusion, one reasoning).
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub purpose: Option<String>,
    /// client or prospect.
    #[schema(value_type = Option<SubjectKind>)]
    pub kind: Option<String>,
    /// Whether the new use is compatible with the purposes the data was collected for; `false`
    /// keeps the revision from taking effect.
    pub compatible: bool,
    /// The DPO's reasoning (Art. 6(4)(a)-(e): link between purposes, context of collection, nature
    /// of the data, consequences, safeguards). Free text, not personal data.
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reasoning: String,
}

/// An assessment as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentView {
    pub purpose: String,
    pub kind: SubjectKind,
    pub from: Option<LegalBasis>,
    pub to: LegalBasis,
    pub compatible: bool,
    pub reasoning: String,
    pub assessed_at: DateTime<Utc>,
}

impl From<AssessmentRow> for AssessmentView {
    fn from(r: AssessmentRow) -> Self {
        AssessmentView {
            purpose: r.purpose,
            kind: r.kind,
            from: r.from_basis,
            to: r.to_basis,
            compatible: r.compatible,
            reasoning: r.reasoning,
            assessed_at: r.assessed_at,
        }
    }
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
    /// The changes that need the DPO's compatibility assessment (Art. 6(4)): for a pending
    /// version, against the version in force; for one that took effect, the changes assessed.
    pub compatibility_assessment_required: Vec<FlaggedChange>,
    /// The assessments recorded.
    pub assessments: Vec<AssessmentView>,
    /// For a pending version: the flagged changes not assessed yet (it cannot take effect).
    pub missing_assessments: Vec<FlaggedChange>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Uploaded {
    pub version: String,
    pub effective_date: NaiveDate,
    pub changes: Vec<Change>,
    /// The changes that need the DPO's compatibility assessment before the version can take
    /// effect (Art. 6(4)): a purpose added, a legal basis changed.
    pub compatibility_assessment_required: Vec<FlaggedChange>,
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
        let flagged = compatibility_changes(&current, &new);
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
        Ok(Uploaded {
            version,
            effective_date,
            changes,
            compatibility_assessment_required: flagged,
            notices_queued: queued,
            warnings,
        })
    }

    /// The versions with their notices and compatibility assessments (any role).
    pub async fn policy_versions(&self) -> Result<Vec<VersionView>> {
        let (rows, assessed) = self.db.read(|tx| Ok::<_, AppError>((tx.policy_versions()?, tx.assessments()?))).await?;
        let current = self.policy();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let (queued, pending) = self.version_notices(&r).await?;
            let mine: Vec<AssessmentRow> = assessed.iter().filter(|a| a.version == r.version).cloned().collect();
            let (required, missing) = if r.status == PolicyStatus::Pending {
                let flagged = Policy::from_toml(&r.text)
                    .policy
                    .map(|new| compatibility_changes(&current, &new))
                    .unwrap_or_default();
                let missing = flagged
                    .iter()
                    .filter(|c| {
                        !mine.iter().any(|a| {
                            a.purpose == c.purpose && a.kind == c.kind && a.from_basis == c.from && a.to_basis == c.to
                        })
                    })
                    .cloned()
                    .collect();
                (flagged, missing)
            } else {
                let assessed = mine
                    .iter()
                    .map(|a| FlaggedChange {
                        purpose: a.purpose.clone(),
                        kind: a.kind,
                        from: a.from_basis,
                        to: a.to_basis,
                    })
                    .collect();
                (assessed, Vec::new())
            };
            out.push(VersionView {
                version: r.version,
                effective_date: r.effective_date,
                status: r.status,
                uploaded_at: r.uploaded_at,
                activated_at: r.activated_at,
                notices: Notices { queued, pending },
                compatibility_assessment_required: required,
                assessments: mine.into_iter().map(AssessmentView::from).collect(),
                missing_assessments: missing,
            });
        }
        Ok(out)
    }

    /// Records the DPO's compatibility assessment (Art. 6(4)) of one flagged change of a pending
    /// version, or of all of them at once (neither `purpose` nor `kind`); an assessment of a change
    /// already assessed replaces it. Audited (ids and the conclusion, never the reasoning).
    pub async fn assess_revision(&self, who: &Principal, version: &str, input: NewAssessment) -> Result<VersionView> {
        who.require(&[Role::Dpo], "assessing a policy revision")?;
        let reasoning = crate::input::check_text("reasoning", &input.reasoning, 10_000)?;
        let target = match (&input.purpose, &input.kind) {
            (None, None) => None,
            (Some(p), Some(k)) => {
                let purpose = crate::input::identifier("purpose", p)?;
                let kind: SubjectKind = crate::input::parse_token("kind", k)?;
                Some((purpose, kind))
            }
            (Some(_), None) => {
                return Err(AppError::invalid(
                    "kind",
                    "is required with purpose (or give neither, to assess every change)",
                ));
            }
            (None, Some(_)) => {
                return Err(AppError::invalid(
                    "purpose",
                    "is required with kind (or give neither, to assess every change)",
                ));
            }
        };
        let rows = self.db.read(|tx| Ok::<_, AppError>(tx.policy_versions()?)).await?;
        let r = rows
            .into_iter()
            .find(|r| r.version == version)
            .ok_or_else(|| AppError::NotFound(format!("policy version {version}")))?;
        if r.status != PolicyStatus::Pending {
            return Err(AppError::Conflict(format!(
                "policy version {version} is {}, not pending: it can no longer be assessed",
                r.status
            )));
        }
        let new = Policy::from_toml(&r.text)
            .policy
            .ok_or_else(|| AppError::Internal(format!("stored policy version {version} no longer parses")))?;
        let flagged = compatibility_changes(&self.policy(), &new);
        if flagged.is_empty() {
            return Err(AppError::Conflict(format!(
                "policy version {version} adds no purpose and changes no legal basis: it needs no compatibility assessment"
            )));
        }
        let chosen: Vec<FlaggedChange> = match &target {
            None => flagged,
            Some((purpose, kind)) => {
                let found: Vec<FlaggedChange> =
                    flagged.iter().filter(|c| c.purpose == *purpose && c.kind == *kind).cloned().collect();
                if found.is_empty() {
                    let list: Vec<String> = flagged.iter().map(|c| format!("{} for {}", c.purpose, c.kind)).collect();
                    return Err(AppError::invalid(
                        "purpose",
                        format!(
                            "`{purpose}` for {kind} is not a change of version {version} that needs an assessment (those are: {})",
                            list.join(", ")
                        ),
                    ));
                }
                found
            }
        };
        let at = self.now();
        let (v, compatible) = (version.to_string(), input.compatible);
        self.db
            .audited(who.actor(), move |tx, trail| {
                // The version may have been activated meanwhile: assessed while pending, or not at all.
                if !tx.policy_versions()?.iter().any(|x| x.version == v && x.status == PolicyStatus::Pending) {
                    return Err(AppError::Conflict(format!("policy version {v} is no longer pending")));
                }
                for c in &chosen {
                    tx.record_assessment(&AssessmentRow {
                        version: v.clone(),
                        purpose: c.purpose.clone(),
                        kind: c.kind,
                        from_basis: c.from,
                        to_basis: c.to,
                        compatible,
                        reasoning: reasoning.clone(),
                        assessed_at: at,
                    })?;
                }
                let changes: Vec<String> = chosen.iter().map(|c| format!("{}/{}", c.purpose, c.kind)).collect();
                let detail = format!("version={v} compatible={compatible} changes={}", changes.join(","));
                let recorded = trail.record(tx, Entry::new("policy.assessment").detail(detail))?;
                Ok(((), recorded))
            })
            .await?;
        self.policy_versions()
            .await?
            .into_iter()
            .find(|x| x.version == version)
            .ok_or_else(|| AppError::NotFound(format!("policy version {version}")))
    }

    /// A version as uploaded (its policy, parsed) and what it changes against the version in force
    /// ([`diff`], as its upload reported it) (dpo).
    pub async fn policy_revision(&self, who: &Principal, version: &str) -> Result<(Policy, Vec<Change>)> {
        who.require(&[Role::Dpo], "reading a policy revision")?;
        let rows = self.db.read(|tx| Ok::<_, AppError>(tx.policy_versions()?)).await?;
        let r = rows
            .into_iter()
            .find(|r| r.version == version)
            .ok_or_else(|| AppError::NotFound(format!("policy version {version}")))?;
        let new = Policy::from_toml(&r.text)
            .policy
            .ok_or_else(|| AppError::Internal(format!("stored policy version {version} no longer parses")))?;
        let changes = diff(&self.policy(), &new);
        Ok((new, changes))
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
                match self.activate(r, Actor::System).await {
                    Ok(()) => activated = Some(r.version.clone()),
                    // Art. 6(4): not without the DPO's assessments; the DPO sees why in the version.
                    Err(AppError::Conflict(why)) => tracing::warn!(version = %r.version, "{why}"),
                    Err(e) => return Err(e),
                }
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

    /// Puts a version into force, in one transaction that first checks, against the version in
    /// force then, that every change Art. 6(4) flags is assessed compatible (409 otherwise).
    async fn activate(&self, r: &PolicyVersionRow, actor: Actor) -> Result<()> {
        let checked = Policy::from_toml(&r.text);
        let policy = checked
            .policy
            .ok_or_else(|| AppError::Internal(format!("stored policy version {} no longer parses", r.version)))?;
        let version = r.version.clone();
        let new = policy.clone();
        self.db
            .audited(actor.clone(), move |tx, trail| {
                let at = trail.at;
                let versions = tx.policy_versions()?;
                if let Some(active) = versions.iter().rev().find(|v| v.status == PolicyStatus::Active)
                    && let Some(current) = Policy::from_toml(&active.text).policy
                {
                    let flagged = compatibility_changes(&current, &new);
                    if let Some(why) = assessment_gate(&version, &flagged, &tx.assessments()?) {
                        return Err(AppError::Conflict(why));
                    }
                }
                for v in versions {
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

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_domain::policy::DEFAULT_POLICY;

    fn policy(text: &str) -> Policy {
        match Policy::from_toml(text).policy {
            Some(p) => p,
            None => unreachable!("the test policy is invalid"),
        }
    }

    const NEWSLETTER: &str = "\n[[purposes]]\nid = \"newsletter\"\nname = { fr = \"Lettre d'information\", en = \"Newsletter\" }\nbases = { client = \"legitimate_interest\", prospect = \"consent\" }\ndata_categories = [\"identity\", \"contact\"]\ninterest = { fr = \"Informer nos clients.\", en = \"Keeping our clients informed.\" }\n";

    fn row(version: &str, c: &FlaggedChange, compatible: bool) -> AssessmentRow {
        AssessmentRow {
            version: version.into(),
            purpose: c.purpose.clone(),
            kind: c.kind,
            from_basis: c.from,
            to_basis: c.to,
            compatible,
            reasoning: "Analyse.".into(),
            assessed_at: Utc::now(),
        }
    }

    #[test]
    fn a_purpose_added_or_a_basis_changed_is_flagged_and_nothing_else() {
        let old = policy(DEFAULT_POLICY);
        // Wording, retention, categories, a purpose removed, a kind dropped: nothing to assess.
        let quiet = policy(
            &DEFAULT_POLICY
                .replace("Service client\"", "Service clientèle\"")
                .replace("years = 3", "years = 2")
                .replace(
                    "bases = { client = \"contract\", prospect = \"legitimate_interest\" }",
                    "bases = { client = \"contract\" }",
                ),
        );
        assert!(compatibility_changes(&old, &quiet).is_empty());
        // A purpose added: each kind it covers.
        let added = policy(&format!("{DEFAULT_POLICY}{NEWSLETTER}"));
        assert_eq!(
            compatibility_changes(&old, &added),
            vec![
                FlaggedChange {
                    purpose: "newsletter".into(),
                    kind: SubjectKind::Client,
                    from: None,
                    to: LegalBasis::LegitimateInterest
                },
                FlaggedChange {
                    purpose: "newsletter".into(),
                    kind: SubjectKind::Prospect,
                    from: None,
                    to: LegalBasis::Consent
                },
            ]
        );
        // A basis changed for one kind, and a kind newly covered by a purpose.
        let changed = policy(
            &DEFAULT_POLICY
                .replace("bases = { client = \"consent\", prospect = \"consent\" }", "bases = { client = \"consent\", prospect = \"legitimate_interest\" }\ninterest = { fr = \"x\", en = \"x\" }")
                .replace("bases = { prospect = \"legitimate_interest\" }", "bases = { client = \"legitimate_interest\", prospect = \"legitimate_interest\" }"),
        );
        let flagged = compatibility_changes(&old, &changed);
        assert_eq!(flagged.len(), 2, "{flagged:?}");
        assert!(flagged.contains(&FlaggedChange {
            purpose: "events".into(),
            kind: SubjectKind::Prospect,
            from: Some(LegalBasis::Consent),
            to: LegalBasis::LegitimateInterest
        }));
        assert!(flagged.contains(&FlaggedChange {
            purpose: "prospect_relations".into(),
            kind: SubjectKind::Client,
            from: None,
            to: LegalBasis::LegitimateInterest
        }));
    }

    #[test]
    fn a_revision_takes_effect_only_once_every_flagged_change_is_assessed_compatible() {
        let old = policy(DEFAULT_POLICY);
        let new = policy(&format!("{DEFAULT_POLICY}{NEWSLETTER}"));
        let flagged = compatibility_changes(&old, &new);
        let none = assessment_gate("2027-1", &flagged, &[]).unwrap_or_default();
        assert!(none.contains("no compatibility assessment (Art. 6(4))"), "{none}");
        assert!(none.contains("purpose `newsletter` for client (none → legitimate_interest)"), "{none}");
        assert!(none.contains("purpose `newsletter` for prospect (none → consent)"), "{none}");
        // One of two assessed: the other is still named.
        let one = [row("2027-1", &flagged[0], true)];
        let why = assessment_gate("2027-1", &flagged, &one).unwrap_or_default();
        assert!(!why.contains("for client") && why.contains("for prospect"), "{why}");
        // Both compatible: nothing stands in the way.
        let both = [row("2027-1", &flagged[0], true), row("2027-1", &flagged[1], true)];
        assert_eq!(assessment_gate("2027-1", &flagged, &both), None);
        // Another version's assessments do not count.
        assert!(assessment_gate("2027-2", &flagged, &both).is_some());
        // An assessment of the change as it stood before (another basis) does not count either.
        let stale = [
            row("2027-1", &FlaggedChange { from: Some(LegalBasis::Consent), ..flagged[0].clone() }, true),
            both[1].clone(),
        ];
        assert!(assessment_gate("2027-1", &flagged, &stale).is_some_and(|w| w.contains("for client")));
        // Incompatible: the revision cannot take effect; the DPO amends it.
        let refused = [row("2027-1", &flagged[0], false), both[1].clone()];
        let why = assessment_gate("2027-1", &flagged, &refused).unwrap_or_default();
        assert!(why.contains("assessed as incompatible") && why.contains("amend the revision"), "{why}");
        // Nothing flagged: nothing to assess.
        assert_eq!(assessment_gate("2027-1", &[], &[]), None);
    }
}
