//! The record of processing activities (GDPR Art. 30, SPEC 4.8), generated
//! from the policy in force and the live data, so that the register shown to
//! the CNIL and the rules Vigie enforces cannot drift apart.
//!
//! [`build`] is pure: the policy, the transfer list, the recorded safeguards,
//! the counts and the date in, the register out. [`App::register`] reads the
//! counts (one `GROUP BY` over the subjects, and the erasure tally) in the
//! transaction that records the reading in the audit trail. The exports
//! ([`to_json`], [`to_csv`], [`to_html`], [`to_xlsx`]) render one register;
//! the human ones are in French, laid out like the CNIL's register template.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::Principal;
use crate::error::{AppError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use utoipa::ToSchema;
use vigie_domain::access::Role;
use vigie_domain::policy::{DataCategory, LegalBasis, RecipientKind, RetentionBasis};
use vigie_domain::transfers::{Ground, Safeguard, SafeguardKind, TransferList, assess};
use vigie_domain::{Policy, SubjectKind};
use vigie_store::{GroupCount, StatGroup};

/// What the register says where the policy states no controller address.
pub const TO_BE_COMPLETED: &str = "to be completed";

// ---- the live data the register carries ----

/// The live counts: subjects per kind, and erasures per month, kind and rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub subjects: BTreeMap<SubjectKind, i64>,
    /// Erasures per group `YYYY-MM|kind|rule`, as `Tx::erased_counts` returns them.
    pub erased: BTreeMap<String, i64>,
}

impl Counts {
    /// From the store's groups (`count_subjects_by(StatGroup::Kind)` and `erased_counts()`).
    pub fn from_groups(kinds: Vec<GroupCount>, erased: Vec<GroupCount>) -> Counts {
        let mut subjects = BTreeMap::new();
        for g in kinds {
            if let Ok(k) = g.group.parse::<SubjectKind>() {
                *subjects.entry(k).or_insert(0) += g.count;
            }
        }
        let mut out = BTreeMap::new();
        for g in erased {
            *out.entry(g.group).or_insert(0) += g.count;
        }
        Counts { subjects, erased: out }
    }
}

// ---- the register ----

/// A text in French and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Label {
    pub fr: String,
    pub en: String,
}

fn label(fr: impl Into<String>, en: impl Into<String>) -> Label {
    Label { fr: fr.into(), en: en.into() }
}

/// The record of processing activities (GDPR Art. 30(1)).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Register {
    pub generated_at: DateTime<Utc>,
    pub policy_version: String,
    pub policy_effective_date: NaiveDate,
    /// The date of the EEA and adequacy-decision list the transfers were assessed against.
    pub transfer_list_as_of: NaiveDate,
    pub controller: ControllerEntry,
    pub dpo: DpoEntry,
    /// One per purpose of the policy, in the policy's order.
    pub activities: Vec<Activity>,
    pub totals: Totals,
    /// Field paths of the policy whose value is an assumption to confirm, not a stated fact.
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ControllerEntry {
    pub name: String,
    /// The postal address, or "to be completed" where the policy states none.
    pub address: String,
    pub address_stated: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DpoEntry {
    pub name: String,
    pub email: String,
    pub address: String,
}

/// One processing activity: one purpose of the policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Activity {
    /// The purpose id.
    pub id: String,
    pub name: Label,
    /// The legal basis per category of subject.
    pub legal_bases: Vec<BasisEntry>,
    /// The kinds of subject the purpose covers.
    pub subject_categories: Vec<SubjectCategory>,
    pub data_categories: Vec<DataCategoryEntry>,
    /// Only aggregates are produced, never one subject's data.
    pub aggregates_only: bool,
    /// For an aggregates-only purpose: the smallest group shown.
    pub min_group_size: Option<u32>,
    /// Whether the archived record stays readable for this purpose after the last contract ends.
    pub survives_contract: bool,
    /// Who may read archived records for it: recipient ids, or `dpo`.
    pub archived_readers: Vec<String>,
    pub recipients: Vec<RecipientEntry>,
    /// One per external recipient of the purpose outside the EEA.
    pub transfers: Vec<TransferEntry>,
    /// The retention rule per category of subject covered.
    pub retention: Vec<RetentionEntry>,
    pub security_measures: Vec<String>,
    pub counts: ActivityCounts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BasisEntry {
    pub subject_kind: SubjectKind,
    pub basis: LegalBasis,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectCategory {
    pub kind: SubjectKind,
    pub label: Label,
    pub description: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataCategoryEntry {
    pub id: DataCategory,
    pub label: Label,
    /// What the category holds.
    pub detail: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientEntry {
    pub id: String,
    pub name: Label,
    /// `internal` or `external`.
    pub kind: RecipientKind,
    /// For an external recipient: `processor`, `service_provider`, `partner`…
    pub role: Option<String>,
    pub role_label: Label,
    /// ISO 3166-1 alpha-2 code (external recipients).
    pub country: Option<String>,
    /// The country is an assumption of the policy, to confirm.
    pub country_is_assumption: bool,
}

/// The ground of a transfer outside the EEA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// An adequacy decision of the Commission (Art. 45).
    Adequacy,
    /// A recorded safeguard (Art. 46): standard contractual clauses, binding corporate rules.
    Safeguard,
    /// No ground: every disclosure to this recipient is refused.
    NotAllowed,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferEntry {
    pub recipient_id: String,
    pub recipient: Label,
    pub country: String,
    /// The country's name, where the transfer list knows it.
    pub country_name: Option<String>,
    pub status: TransferStatus,
    /// The adequacy decision relied on.
    pub decision: Option<String>,
    /// The kind of safeguard relied on: `scc` or `bcr`.
    pub safeguard: Option<SafeguardKind>,
    /// When the safeguard was signed or approved.
    pub signed_on: Option<NaiveDate>,
    /// Why the transfer is not allowed.
    pub reason: Option<String>,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionEntry {
    pub subject_kind: SubjectKind,
    pub basis: RetentionBasis,
    pub years: u32,
    pub label: Label,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: SubjectKind,
    pub count: i64,
}

/// The subjects an activity covers now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityCounts {
    pub subjects: Vec<KindCount>,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErasureCount {
    /// YYYY-MM.
    pub month: String,
    pub kind: String,
    /// The retention rule the subjects were erased under.
    pub rule: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Totals {
    pub subjects: Vec<KindCount>,
    pub total_subjects: i64,
    pub erased_total: i64,
    /// Erasures per month, kind and rule.
    pub erasures: Vec<ErasureCount>,
}

// ---- labels ----

fn kind_label(k: SubjectKind) -> Label {
    match k {
        SubjectKind::Client => label("Clients", "Clients"),
        SubjectKind::Prospect => label("Prospects et contacts", "Prospects and contacts"),
    }
}

fn kind_description(k: SubjectKind) -> Label {
    match k {
        SubjectKind::Client => label(
            "Personnes ayant conclu au moins un contrat avec l'entreprise",
            "People who have entered into at least one contract with the company",
        ),
        SubjectKind::Prospect => label(
            "Personnes en relation avec l'entreprise sans contrat",
            "People in contact with the company without a contract",
        ),
    }
}

fn basis_label(b: LegalBasis) -> Label {
    match b {
        LegalBasis::Consent => label("Consentement (art. 6.1.a RGPD)", "Consent (GDPR Art. 6(1)(a))"),
        LegalBasis::Contract => {
            label("Exécution d'un contrat (art. 6.1.b RGPD)", "Performance of a contract (Art. 6(1)(b))")
        }
        LegalBasis::LegalObligation => label("Obligation légale (art. 6.1.c RGPD)", "Legal obligation (Art. 6(1)(c))"),
        LegalBasis::VitalInterests => {
            label("Sauvegarde des intérêts vitaux (art. 6.1.d RGPD)", "Vital interests (Art. 6(1)(d))")
        }
        LegalBasis::PublicTask => label("Mission d'intérêt public (art. 6.1.e RGPD)", "Public task (Art. 6(1)(e))"),
        LegalBasis::LegitimateInterest => {
            label("Intérêt légitime (art. 6.1.f RGPD)", "Legitimate interests (Art. 6(1)(f))")
        }
    }
}

fn category_label(c: DataCategory) -> (Label, Label) {
    match c {
        DataCategory::Identity => {
            (label("Identité", "Identity"), label("Civilité, prénom, nom", "Civility, first name, last name"))
        }
        DataCategory::Contact => (
            label("Coordonnées", "Contact details"),
            label("Adresse électronique, téléphone, adresse postale", "Email address, phone, postal address"),
        ),
        DataCategory::Professional => {
            (label("Vie professionnelle", "Professional life"), label("Entreprise, fonction", "Company, job title"))
        }
        DataCategory::Notes => (
            label("Notes", "Notes"),
            label("Notes libres saisies par les employés", "Free-text notes written by employees"),
        ),
        DataCategory::Contract => (
            label("Contrats", "Contracts"),
            label("Référence, date de début et date de fin", "Reference, start date and end date"),
        ),
        DataCategory::Interactions => (
            label("Échanges", "Interactions"),
            label(
                "Date, sens (à l'initiative de la personne ou de l'entreprise), canal, résumé",
                "Date, direction (initiated by the person or by the company), channel, summary",
            ),
        ),
    }
}

fn role_label(kind: RecipientKind, role: Option<&str>) -> Label {
    match (kind, role) {
        (RecipientKind::Internal, _) => label("Destinataire interne", "Internal recipient"),
        (_, Some("processor")) => label("Sous-traitant (art. 28 RGPD)", "Processor (GDPR Art. 28)"),
        (_, Some("service_provider")) => label("Prestataire de services", "Service provider"),
        (_, Some("partner")) => label("Partenaire", "Partner"),
        (_, Some(other)) => label(other, other),
        (_, None) => label("Destinataire externe", "External recipient"),
    }
}

fn years(n: u32) -> (String, String) {
    if n == 1 { ("1 an".into(), "1 year".into()) } else { (format!("{n} ans"), format!("{n} years")) }
}

fn retention_label(basis: RetentionBasis, n: u32) -> Label {
    let (fr, en) = years(n);
    match basis {
        RetentionBasis::LastContractEnd => label(
            format!("Pendant la relation contractuelle, puis {fr} après la fin du dernier contrat"),
            format!("For the contractual relationship, then {en} after the last contract ends"),
        ),
        RetentionBasis::LastInboundContact => label(
            format!("{fr} après le dernier contact à l'initiative de la personne (à défaut, après la collecte)"),
            format!("{en} after the last contact initiated by the person (failing that, after collection)"),
        ),
    }
}

fn rule_label_fr(rule: &str) -> String {
    match rule.parse::<RetentionBasis>() {
        Ok(RetentionBasis::LastContractEnd) => "fin du dernier contrat".into(),
        Ok(RetentionBasis::LastInboundContact) => "dernier contact entrant".into(),
        Err(_) => rule.to_string(),
    }
}

fn kind_label_fr(kind: &str) -> String {
    kind.parse::<SubjectKind>().map_or_else(|_| kind.to_string(), |k| kind_label(k).fr)
}

fn safeguard_label(kind: SafeguardKind, on: NaiveDate) -> Label {
    match kind {
        SafeguardKind::Scc => label(
            format!("clauses contractuelles types signées le {on}"),
            format!("standard contractual clauses signed on {on}"),
        ),
        SafeguardKind::Bcr => label(
            format!("règles d'entreprise contraignantes approuvées le {on}"),
            format!("binding corporate rules approved on {on}"),
        ),
        other => label(format!("garantie « {other} » du {on}"), format!("safeguard `{other}` of {on}")),
    }
}

// ---- the builder ----

/// Builds the register from the policy, the transfer list, the safeguards
/// recorded per recipient id, and the live counts, as of `generated_at`.
pub fn build(
    policy: &Policy,
    transfers: &TransferList,
    safeguards: &BTreeMap<String, Vec<Safeguard>>,
    counts: &Counts,
    generated_at: DateTime<Utc>,
) -> Register {
    let today = generated_at.date_naive();
    let count_of = |k: SubjectKind| counts.subjects.get(&k).copied().unwrap_or(0);
    let activities = policy
        .purposes
        .iter()
        .map(|p| {
            let kinds: Vec<SubjectKind> = p.bases.keys().copied().collect();
            let recipients: Vec<RecipientEntry> = policy
                .recipients
                .iter()
                .filter(|r| r.purposes.contains(&p.id))
                .map(|r| RecipientEntry {
                    id: r.id.clone(),
                    name: label(&r.name.fr, &r.name.en),
                    kind: r.kind,
                    role: r.role.clone(),
                    role_label: role_label(r.kind, r.role.as_deref()),
                    country: r.country.clone(),
                    country_is_assumption: policy
                        .assumptions
                        .iter()
                        .any(|a| *a == format!("recipients.{}.country", r.id)),
                })
                .collect();
            let transfers_out = policy
                .recipients
                .iter()
                .filter(|r| r.kind == RecipientKind::External && r.purposes.contains(&p.id))
                .filter_map(|r| {
                    let country = r.country.as_deref()?;
                    let recorded = safeguards.get(&r.id).map_or(&[][..], Vec::as_slice);
                    let country_name = transfers.adequacy(country).map(|a| a.name.clone());
                    let place = match &country_name {
                        Some(n) => format!("{country} ({n})"),
                        None => country.to_string(),
                    };
                    let mut t = TransferEntry {
                        recipient_id: r.id.clone(),
                        recipient: label(&r.name.fr, &r.name.en),
                        country: country.to_string(),
                        country_name,
                        status: TransferStatus::NotAllowed,
                        decision: None,
                        safeguard: None,
                        signed_on: None,
                        reason: None,
                        label: label("", ""),
                    };
                    match assess(transfers, Some(country), recorded, today) {
                        Ok(Ground::Internal | Ground::Eea { .. }) => return None,
                        Ok(Ground::Adequacy { decision, .. }) => {
                            t.label = label(
                                format!("{place} : décision d'adéquation {decision}"),
                                format!("{place}: adequacy decision {decision}"),
                            );
                            t.status = TransferStatus::Adequacy;
                            t.decision = Some(decision);
                        }
                        Ok(Ground::Safeguard { kind, signed_on, .. }) => {
                            let s = safeguard_label(kind, signed_on);
                            t.label = label(format!("{place} : {}", s.fr), format!("{place}: {}", s.en));
                            t.status = TransferStatus::Safeguard;
                            t.safeguard = Some(kind);
                            t.signed_on = Some(signed_on);
                        }
                        Err(reason) => {
                            t.label = label(
                                format!("{place} : transfert non autorisé, toute communication est refusée ({reason})"),
                                format!("{place}: transfer not allowed, every disclosure is refused ({reason})"),
                            );
                            t.reason = Some(reason);
                        }
                    }
                    Some(t)
                })
                .collect();
            let subjects: Vec<KindCount> = kinds.iter().map(|&k| KindCount { kind: k, count: count_of(k) }).collect();
            Activity {
                id: p.id.clone(),
                name: label(&p.name.fr, &p.name.en),
                legal_bases: p
                    .bases
                    .iter()
                    .map(|(&k, &b)| BasisEntry { subject_kind: k, basis: b, label: basis_label(b) })
                    .collect(),
                subject_categories: kinds
                    .iter()
                    .map(|&k| SubjectCategory { kind: k, label: kind_label(k), description: kind_description(k) })
                    .collect(),
                data_categories: p
                    .data_categories
                    .iter()
                    .map(|&c| {
                        let (label, detail) = category_label(c);
                        DataCategoryEntry { id: c, label, detail }
                    })
                    .collect(),
                aggregates_only: p.aggregates_only,
                min_group_size: p.aggregates_only.then_some(p.min_group_size),
                survives_contract: p.survives_contract,
                archived_readers: if p.survives_contract { p.archived_readers.clone() } else { Vec::new() },
                recipients,
                transfers: transfers_out,
                retention: kinds
                    .iter()
                    .map(|&k| {
                        let rule = policy.retention_rule(k);
                        RetentionEntry {
                            subject_kind: k,
                            basis: rule.basis,
                            years: rule.years,
                            label: retention_label(rule.basis, rule.years),
                        }
                    })
                    .collect(),
                security_measures: policy.security_measures.clone(),
                counts: ActivityCounts { total: subjects.iter().map(|c| c.count).sum(), subjects },
            }
        })
        .collect();
    let subjects: Vec<KindCount> =
        SubjectKind::ALL.iter().map(|&k| KindCount { kind: k, count: count_of(k) }).collect();
    let erasures: Vec<ErasureCount> = counts
        .erased
        .iter()
        .map(|(group, &count)| {
            let mut parts = group.splitn(3, '|');
            let mut next = || parts.next().unwrap_or_default().to_string();
            ErasureCount { month: next(), kind: next(), rule: next(), count }
        })
        .collect();
    Register {
        generated_at,
        policy_version: policy.version.clone(),
        policy_effective_date: policy.effective_date,
        transfer_list_as_of: transfers.as_of,
        controller: ControllerEntry {
            name: policy.controller.name.clone(),
            address: policy.controller.address.clone().unwrap_or_else(|| TO_BE_COMPLETED.to_string()),
            address_stated: policy.controller.address.is_some(),
        },
        dpo: DpoEntry {
            name: policy.dpo.name.clone(),
            email: policy.dpo.email.clone(),
            address: policy.dpo.address.clone(),
        },
        activities,
        totals: Totals {
            total_subjects: subjects.iter().map(|c| c.count).sum(),
            subjects,
            erased_total: erasures.iter().map(|e| e.count).sum(),
            erasures,
        },
        assumptions: policy.assumptions.clone(),
    }
}

// ---- the service ----

impl App {
    /// The register of processing activities (dpo, auditor), with live counts; audited.
    pub async fn register(&self, who: &Principal) -> Result<Register> {
        who.require(&[Role::Dpo, Role::Auditor], "reading the register of processing activities")?;
        self.register_by(who.actor()).await
    }

    /// The register for the command line (audited as the CLI).
    pub async fn register_export(&self) -> Result<Register> {
        self.register_by(Actor::Cli).await
    }

    async fn register_by(&self, actor: Actor) -> Result<Register> {
        let at = self.now();
        let (counts, signed) = self
            .db
            .audited(actor, move |tx, trail| {
                let kinds = tx.count_subjects_by(StatGroup::Kind)?;
                let erased = tx.erased_counts()?;
                let signed = tx.safeguards()?;
                let recorded = trail.record(tx, Entry::new("register.read"))?;
                Ok(((Counts::from_groups(kinds, erased), signed), recorded))
            })
            .await?;
        let mut safeguards: BTreeMap<String, Vec<Safeguard>> = BTreeMap::new();
        for s in signed {
            safeguards.entry(s.recipient).or_default().push(Safeguard { kind: s.kind, signed_on: s.signed_on });
        }
        let policy = self.policy();
        Ok(build(&policy, &self.transfers, &safeguards, &counts, at))
    }
}

// ---- the human layout, shared by the HTML and XLSX exports ----

const TITLE: &str = "Registre des activités de traitement";
const SHEET_TITLE: &str = "Fiche de registre de l'activité de traitement";

enum Value {
    Text(String),
    Number(i64),
}

enum Line {
    Section(&'static str),
    Field(String, Value),
}

fn field(label: impl Into<String>, value: impl Into<String>) -> Line {
    Line::Field(label.into(), Value::Text(value.into()))
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn controller_address_fr(reg: &Register) -> String {
    if reg.controller.address_stated {
        reg.controller.address.clone()
    } else {
        "À compléter (la politique ne la précise pas)".into()
    }
}

fn recipient_fr(r: &RecipientEntry) -> String {
    match &r.country {
        Some(c) if r.country_is_assumption => format!("{} ; pays : {c} (hypothèse à confirmer)", r.name.fr),
        Some(c) => format!("{} ; pays : {c}", r.name.fr),
        None => r.name.fr.clone(),
    }
}

fn reader_fr(reg: &Register, a: &Activity, id: &str) -> String {
    if id == "dpo" {
        return format!("le délégué à la protection des données ({})", reg.dpo.name);
    }
    a.recipients.iter().find(|r| r.id == id).map_or_else(|| id.to_string(), |r| r.name.fr.clone())
}

fn no_transfer_fr(reg: &Register) -> String {
    format!(
        "Aucun : aucun destinataire de cette activité n'est situé hors de l'Espace économique européen (liste des pays au {})",
        reg.transfer_list_as_of
    )
}

fn aggregates_fr(a: &Activity) -> String {
    format!(
        "Statistiques agrégées uniquement : aucune donnée individuelle n'est restituée, et tout groupe de moins de {} personnes est supprimé",
        a.min_group_size.unwrap_or(0)
    )
}

/// The label-value rows of one activity, by the sections of the CNIL template.
fn activity_lines(reg: &Register, a: &Activity) -> Vec<Line> {
    let mut l = vec![
        Line::Section("Description du traitement"),
        field("Nom du traitement", &a.name.fr),
        field("Nom en anglais", &a.name.en),
        field("Référence", &a.id),
        field("Version de la politique", &reg.policy_version),
        field("Politique en vigueur depuis le", reg.policy_effective_date.to_string()),
        field("Fiche générée le", when(reg.generated_at)),
        Line::Section("Acteurs"),
        field("Responsable du traitement", &reg.controller.name),
        field("Adresse du responsable", controller_address_fr(reg)),
        field("Délégué à la protection des données", &reg.dpo.name),
        field("Courriel du délégué", &reg.dpo.email),
        field("Adresse du délégué", &reg.dpo.address),
        Line::Section("Finalité(s) du traitement"),
        field("Finalité principale", &a.name.fr),
    ];
    if a.aggregates_only {
        l.push(field("Modalité", aggregates_fr(a)));
    }
    l.push(Line::Section("Base légale"));
    for b in &a.legal_bases {
        l.push(field(kind_label(b.subject_kind).fr, &b.label.fr));
    }
    l.push(Line::Section("Catégories de personnes concernées"));
    for c in &a.subject_categories {
        l.push(field(&c.label.fr, &c.description.fr));
    }
    l.push(Line::Section("Catégories de données"));
    if a.data_categories.is_empty() {
        l.push(field("Aucune donnée individuelle", "Dénombrements uniquement"));
    }
    for c in &a.data_categories {
        l.push(field(&c.label.fr, &c.detail.fr));
    }
    l.push(Line::Section("Destinataires"));
    for r in &a.recipients {
        let role = if r.kind == RecipientKind::Internal {
            r.role_label.fr.clone()
        } else {
            format!("Destinataire externe : {}", r.role_label.fr.to_lowercase())
        };
        l.push(field(role, recipient_fr(r)));
    }
    l.push(Line::Section("Transferts hors UE"));
    if a.transfers.is_empty() {
        l.push(field("Transferts hors de l'EEE", no_transfer_fr(reg)));
    }
    for t in &a.transfers {
        l.push(field(&t.recipient.fr, &t.label.fr));
    }
    l.push(Line::Section("Durées de conservation"));
    for r in &a.retention {
        l.push(field(kind_label(r.subject_kind).fr, &r.label.fr));
    }
    if a.survives_contract && !a.archived_readers.is_empty() {
        let readers: Vec<String> = a.archived_readers.iter().map(|id| reader_fr(reg, a, id)).collect();
        l.push(field(
            "Archivage après le dernier contrat",
            format!(
                "Le dossier archivé reste consultable pour cette activité (comptabilité, contentieux) par : {}",
                readers.join(", ")
            ),
        ));
    }
    l.push(Line::Section("Mesures de sécurité"));
    for (i, m) in a.security_measures.iter().enumerate() {
        l.push(field(format!("Mesure {}", i + 1), m));
    }
    l.push(Line::Section("Volumes"));
    for c in &a.counts.subjects {
        l.push(Line::Field(format!("{} (nombre actuel)", kind_label(c.kind).fr), Value::Number(c.count)));
    }
    l.push(Line::Field("Total des personnes concernées".into(), Value::Number(a.counts.total)));
    l
}

/// The rows of the cover: controller, DPO, policy, volumes (the table of
/// contents, erasures and assumptions follow them as tables).
fn cover_lines(reg: &Register) -> Vec<Line> {
    let mut l = vec![
        Line::Section("Responsable du traitement"),
        field("Nom", &reg.controller.name),
        field("Adresse", controller_address_fr(reg)),
        Line::Section("Délégué à la protection des données"),
        field("Nom", &reg.dpo.name),
        field("Courriel", &reg.dpo.email),
        field("Adresse", &reg.dpo.address),
        Line::Section("Politique"),
        field("Version", &reg.policy_version),
        field("En vigueur depuis le", reg.policy_effective_date.to_string()),
        field("Registre généré le", when(reg.generated_at)),
        field("Liste des pays adéquats au", reg.transfer_list_as_of.to_string()),
        Line::Section("Volumes"),
    ];
    for c in &reg.totals.subjects {
        l.push(Line::Field(format!("{} (nombre actuel)", kind_label(c.kind).fr), Value::Number(c.count)));
    }
    l.push(Line::Field("Total des personnes concernées".into(), Value::Number(reg.totals.total_subjects)));
    l.push(Line::Field("Personnes effacées à l'échéance (total)".into(), Value::Number(reg.totals.erased_total)));
    l
}

// ---- JSON ----

/// The register as pretty-printed JSON (the shape of `GET /api/v1/register`).
pub fn to_json(reg: &Register) -> String {
    // Serialising these plain structs cannot fail: no map has a non-string key.
    serde_json::to_string_pretty(reg).unwrap_or_default()
}

// ---- CSV ----

const CSV_HEADER: &[&str] = &[
    "Référence",
    "Activité de traitement",
    "Version de la politique",
    "En vigueur depuis le",
    "Mise à jour",
    "Responsable du traitement",
    "Adresse du responsable",
    "Délégué à la protection des données",
    "Finalité(s) du traitement",
    "Base légale",
    "Catégories de personnes concernées",
    "Catégories de données",
    "Destinataires",
    "Transferts hors UE",
    "Durées de conservation",
    "Mesures de sécurité",
    "Clients (nombre)",
    "Prospects et contacts (nombre)",
    "Total des personnes concernées",
];

/// The register as CSV (RFC 4180, UTF-8): one row per processing activity,
/// with the CNIL template's columns; several values in a cell are one per line.
pub fn to_csv(reg: &Register) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let mut rows: Vec<Vec<String>> = vec![CSV_HEADER.iter().map(|s| s.to_string()).collect()];
    for a in &reg.activities {
        let lines = |items: Vec<String>| items.join("\n");
        let count = |k: SubjectKind| {
            a.counts.subjects.iter().find(|c| c.kind == k).map(|c| c.count.to_string()).unwrap_or_default()
        };
        let mut purpose = a.name.fr.clone();
        if a.aggregates_only {
            purpose = format!("{purpose}\n{}", aggregates_fr(a));
        }
        let mut categories: Vec<String> =
            a.data_categories.iter().map(|c| format!("{} : {}", c.label.fr, c.detail.fr)).collect();
        if categories.is_empty() {
            categories.push("Aucune donnée individuelle : dénombrements uniquement".into());
        }
        let transfers: Vec<String> = if a.transfers.is_empty() {
            vec![no_transfer_fr(reg)]
        } else {
            a.transfers.iter().map(|t| format!("{} : {}", t.recipient.fr, t.label.fr)).collect()
        };
        rows.push(vec![
            a.id.clone(),
            a.name.fr.clone(),
            reg.policy_version.clone(),
            reg.policy_effective_date.to_string(),
            when(reg.generated_at),
            reg.controller.name.clone(),
            controller_address_fr(reg),
            format!("{} ; {} ; {}", reg.dpo.name, reg.dpo.email, reg.dpo.address),
            purpose,
            lines(
                a.legal_bases.iter().map(|b| format!("{} : {}", kind_label(b.subject_kind).fr, b.label.fr)).collect(),
            ),
            lines(a.subject_categories.iter().map(|c| c.label.fr.clone()).collect()),
            lines(categories),
            lines(a.recipients.iter().map(|r| format!("{} : {}", r.role_label.fr, recipient_fr(r))).collect()),
            lines(transfers),
            lines(a.retention.iter().map(|r| format!("{} : {}", kind_label(r.subject_kind).fr, r.label.fr)).collect()),
            lines(a.security_measures.clone()),
            count(SubjectKind::Client),
            count(SubjectKind::Prospect),
            a.counts.total.to_string(),
        ]);
    }
    for row in rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

// ---- HTML ----

use crate::render::escape as esc;

fn html_table(out: &mut String, lines: &[Line]) {
    out.push_str("<table>\n");
    for line in lines {
        let _ = match line {
            Line::Section(s) => {
                writeln!(out, "<tr class=\"section\"><th colspan=\"2\" scope=\"colgroup\">{}</th></tr>", esc(s))
            }
            Line::Field(k, Value::Text(v)) => {
                writeln!(out, "<tr><th scope=\"row\">{}</th><td>{}</td></tr>", esc(k), esc(v))
            }
            Line::Field(k, Value::Number(n)) => {
                writeln!(out, "<tr><th scope=\"row\">{}</th><td class=\"n\">{n}</td></tr>", esc(k))
            }
        };
    }
    out.push_str("</table>\n");
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1a1a1a;line-height:1.45}\
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.3rem;margin-top:2.5rem;border-bottom:2px solid #1a1a1a}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #bbb;padding:.35rem .5rem;text-align:left;vertical-align:top}\
th[scope=row]{width:32%;font-weight:normal;background:#f6f6f6}tr.section th{background:#dde4ee;font-weight:bold}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.meta{color:#555}\
@media print{section{break-before:page}h2{border:0}}";

/// The register as one self-contained HTML5 page in French.
pub fn to_html(reg: &Register) -> String {
    let mut o = String::with_capacity(32 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{TITLE} : {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{TITLE}</h1>\n\
         <p class=\"meta\">Article 30 du RGPD. Généré le {} à partir de la politique version {} (en vigueur depuis le {}) \
         et des données en base.</p>\n</header>\n<main>\n",
        esc(&reg.controller.name),
        esc(&when(reg.generated_at)),
        esc(&reg.policy_version),
        reg.policy_effective_date,
    );
    o.push_str("<section id=\"registre\">\n<h2>Responsable, délégué et volumes</h2>\n");
    html_table(&mut o, &cover_lines(reg));
    o.push_str("</section>\n<nav id=\"sommaire\">\n<h2>Activités de traitement</h2>\n<ol>\n");
    for a in &reg.activities {
        let _ = writeln!(o, "<li><a href=\"#{}\">{}</a></li>", esc(&a.id), esc(&a.name.fr));
    }
    o.push_str("</ol>\n</nav>\n");
    for a in &reg.activities {
        let _ = writeln!(o, "<section id=\"{}\">\n<h2>{SHEET_TITLE} : {}</h2>", esc(&a.id), esc(&a.name.fr));
        html_table(&mut o, &activity_lines(reg, a));
        o.push_str("</section>\n");
    }
    o.push_str("<section id=\"effacements\">\n<h2>Effacements effectués à l'échéance</h2>\n");
    if reg.totals.erasures.is_empty() {
        o.push_str("<p>Aucun effacement n'a encore été effectué.</p>\n");
    } else {
        o.push_str("<table>\n<tr><th>Mois</th><th>Catégorie de personnes</th><th>Règle de conservation</th><th>Nombre</th></tr>\n");
        for e in &reg.totals.erasures {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&e.month),
                esc(&kind_label_fr(&e.kind)),
                esc(&rule_label_fr(&e.rule)),
                e.count
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</section>\n");
    if !reg.assumptions.is_empty() {
        o.push_str("<section id=\"hypotheses\">\n<h2>Hypothèses à confirmer</h2>\n<p>Ces éléments de la politique ne sont pas des faits établis par la politique source : ils doivent être confirmés.</p>\n<ul>\n");
        for a in &reg.assumptions {
            let _ = writeln!(o, "<li><code>{}</code></li>", esc(a));
        }
        o.push_str("</ul>\n</section>\n");
    }
    o.push_str("</main>\n</body>\n</html>\n");
    o
}

// ---- XLSX ----

/// Sheet names for the activities: the purpose ids, made valid for Excel
/// (at most 31 characters, none of `[]:*?/\`, unique ignoring case, not the cover's).
fn sheet_names(reg: &Register) -> Vec<String> {
    let mut used: Vec<String> = vec![COVER.to_lowercase()];
    let mut out = Vec::new();
    for a in &reg.activities {
        let clean: String = a.id.chars().filter(|c| !"[]:*?/\\".contains(*c)).collect();
        let mut base: String = clean.trim_matches('\'').chars().take(31).collect();
        if base.is_empty() || base.eq_ignore_ascii_case("history") {
            base = format!("activite_{}", out.len() + 1);
        }
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name.to_lowercase()) {
            let suffix = format!("~{n}");
            name = format!("{}{suffix}", base.chars().take(31 - suffix.len()).collect::<String>());
            n += 1;
        }
        used.push(name.to_lowercase());
        out.push(name);
    }
    out
}

const COVER: &str = "Registre";

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(format!("cannot write the register as XLSX: {e}"))
}

struct Formats {
    title: rust_xlsxwriter::Format,
    subtitle: rust_xlsxwriter::Format,
    section: rust_xlsxwriter::Format,
    label: rust_xlsxwriter::Format,
    value: rust_xlsxwriter::Format,
    number: rust_xlsxwriter::Format,
    head: rust_xlsxwriter::Format,
}

fn formats() -> Formats {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder};
    let cell = || Format::new().set_border(FormatBorder::Thin).set_border_color("#BBBBBB").set_align(FormatAlign::Top);
    Formats {
        title: Format::new().set_bold().set_font_size(16),
        subtitle: Format::new().set_italic().set_font_color("#555555"),
        section: Format::new().set_bold().set_background_color("#DDE4EE").set_border(FormatBorder::Thin),
        label: cell().set_text_wrap().set_background_color("#F6F6F6"),
        value: cell().set_text_wrap(),
        number: cell().set_align(FormatAlign::Right),
        head: Format::new().set_bold().set_border(FormatBorder::Thin).set_background_color("#F0F0F0"),
    }
}

/// Writes label-value lines from `row`; returns the next free row.
fn xlsx_lines(
    ws: &mut rust_xlsxwriter::Worksheet,
    f: &Formats,
    mut row: u32,
    lines: &[Line],
) -> Result<u32, rust_xlsxwriter::XlsxError> {
    for line in lines {
        match line {
            Line::Section(s) => {
                row += 1; // a blank row before each section
                ws.merge_range(row, 0, row, 1, s, &f.section)?;
            }
            Line::Field(k, v) => {
                ws.write_string_with_format(row, 0, k, &f.label)?;
                match v {
                    Value::Text(t) => ws.write_string_with_format(row, 1, t, &f.value)?,
                    Value::Number(n) => ws.write_number_with_format(row, 1, *n as f64, &f.number)?,
                };
            }
        }
        row += 1;
    }
    Ok(row)
}

fn page_setup(ws: &mut rust_xlsxwriter::Worksheet) -> Result<(), rust_xlsxwriter::XlsxError> {
    ws.set_column_width(0, 42)?;
    ws.set_column_width(1, 100)?;
    ws.set_landscape();
    ws.set_paper_size(9); // A4
    ws.set_print_fit_to_pages(1, 0);
    Ok(())
}

/// The register as an XLSX workbook: a cover sheet (controller, DPO, policy,
/// volumes, table of contents, erasures) and one sheet per processing activity
/// laid out like the CNIL's register template.
pub fn to_xlsx(reg: &Register) -> Result<Vec<u8>> {
    xlsx(reg).map_err(xlsx_err)
}

fn xlsx(reg: &Register) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Url, Workbook};
    let f = formats();
    let names = sheet_names(reg);
    let mut wb = Workbook::new();
    let mut props = DocProperties::new()
        .set_title(TITLE)
        .set_subject("Article 30 du RGPD")
        .set_company(&reg.controller.name)
        .set_author("Vigie");
    if let Ok(t) = ExcelDateTime::from_timestamp(reg.generated_at.timestamp()) {
        props = props.set_creation_datetime(&t);
    }
    wb.set_properties(&props);

    // The cover.
    let ws = wb.add_worksheet();
    ws.set_name(COVER)?;
    page_setup(ws)?;
    ws.write_string_with_format(0, 0, TITLE, &f.title)?;
    ws.write_string_with_format(
        1,
        0,
        format!(
            "Article 30 du RGPD : généré par Vigie le {} à partir de la politique et des données",
            when(reg.generated_at)
        ),
        &f.subtitle,
    )?;
    let mut row = xlsx_lines(ws, &f, 2, &cover_lines(reg))?;
    row += 1;
    ws.merge_range(row, 0, row, 1, "Table des matières : activités de traitement", &f.section)?;
    row += 1;
    ws.write_string_with_format(row, 0, "Feuille", &f.head)?;
    ws.write_string_with_format(row, 1, "Activité de traitement", &f.head)?;
    row += 1;
    for (a, name) in reg.activities.iter().zip(&names) {
        let link = Url::new(format!("internal:'{}'!A1", name.replace('\'', "''"))).set_text(name);
        ws.write_url_with_format(row, 0, link, &f.value)?;
        ws.write_string_with_format(row, 1, &a.name.fr, &f.value)?;
        row += 1;
    }
    row += 1;
    ws.merge_range(row, 0, row, 1, "Effacements effectués à l'échéance", &f.section)?;
    row += 1;
    if reg.totals.erasures.is_empty() {
        ws.write_string_with_format(row, 0, "Aucun effacement n'a encore été effectué", &f.value)?;
    } else {
        ws.write_string_with_format(row, 0, "Mois, catégorie, règle", &f.head)?;
        ws.write_string_with_format(row, 1, "Nombre", &f.head)?;
        for e in &reg.totals.erasures {
            row += 1;
            let what = format!("{} ; {} ; {}", e.month, kind_label_fr(&e.kind), rule_label_fr(&e.rule));
            ws.write_string_with_format(row, 0, what, &f.label)?;
            ws.write_number_with_format(row, 1, e.count as f64, &f.number)?;
        }
    }
    row += 2;
    if !reg.assumptions.is_empty() {
        ws.merge_range(row, 0, row, 1, "Hypothèses à confirmer", &f.section)?;
        for a in &reg.assumptions {
            row += 1;
            ws.write_string_with_format(row, 0, a, &f.label)?;
            ws.write_string_with_format(
                row,
                1,
                "Hypothèse, non établie par la politique source : à confirmer",
                &f.value,
            )?;
        }
    }

    // One sheet per activity.
    for (a, name) in reg.activities.iter().zip(&names) {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        page_setup(ws)?;
        ws.write_string_with_format(0, 0, SHEET_TITLE, &f.title)?;
        ws.write_url_with_format(
            0,
            1,
            Url::new(format!("internal:'{COVER}'!A1")).set_text("Retour au registre"),
            &f.subtitle,
        )?;
        ws.write_string_with_format(1, 0, &a.name.fr, &f.subtitle)?;
        xlsx_lines(ws, &f, 2, &activity_lines(reg, a))?;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn policy() -> Policy {
        Policy::default_policy().unwrap_or_else(|e| unreachable!("{e:?}"))
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).single().unwrap_or_default()
    }

    fn counts() -> Counts {
        let g = |group: &str, count| GroupCount { group: group.into(), count };
        Counts::from_groups(
            vec![g("client", 12), g("prospect", 30)],
            vec![g("2026-06|prospect|last_inbound_contact", 3), g("2026-07|client|last_contract_end", 1)],
        )
    }

    fn register() -> Register {
        build(&policy(), &TransferList::builtin(), &BTreeMap::new(), &counts(), at())
    }

    fn activity<'a>(r: &'a Register, id: &str) -> &'a Activity {
        r.activities.iter().find(|a| a.id == id).unwrap_or_else(|| unreachable!("no activity {id}"))
    }

    #[test]
    fn every_purpose_is_an_activity_with_its_bases() {
        let p = policy();
        let r = register();
        assert_eq!(
            r.activities.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            p.purposes.iter().map(|p| p.id.as_str()).collect::<Vec<_>>()
        );
        for (a, purpose) in r.activities.iter().zip(&p.purposes) {
            let bases: BTreeMap<SubjectKind, LegalBasis> =
                a.legal_bases.iter().map(|b| (b.subject_kind, b.basis)).collect();
            assert_eq!(bases, purpose.bases, "{}", a.id);
            assert_eq!(
                a.subject_categories.iter().map(|c| c.kind).collect::<Vec<_>>(),
                purpose.bases.keys().copied().collect::<Vec<_>>()
            );
            assert_eq!(a.data_categories.iter().map(|c| c.id).collect::<Vec<_>>(), purpose.data_categories);
            assert_eq!(a.security_measures, p.security_measures);
            assert!(a.transfers.is_empty(), "every default recipient is in France");
        }
        let sd = activity(&r, "service_improvement");
        assert_eq!(sd.legal_bases[0].label.fr, "Intérêt légitime (art. 6.1.f RGPD)");
        assert_eq!(sd.legal_bases[1].basis, LegalBasis::Consent);
        assert_eq!(r.policy_version, "2026-1");
        assert_eq!(r.controller.address, TO_BE_COMPLETED);
        assert!(!r.controller.address_stated);
        assert_eq!(r.dpo.email, "dpo-msi@racine.eu");
        let stats = activity(&r, "statistics");
        assert!(stats.aggregates_only && stats.min_group_size == Some(5) && stats.data_categories.is_empty());
    }

    #[test]
    fn recipients_and_retention_follow_the_policy() {
        let r = register();
        for a in &r.activities {
            let has_accountant = a.recipients.iter().any(|x| x.id == "accountant");
            assert_eq!(has_accountant, a.id == "contract_management", "{}", a.id);
            assert!(a.recipients.iter().any(|x| x.id == "staff" && x.kind == RecipientKind::Internal));
        }
        let cm = activity(&r, "contract_management");
        let acc = cm.recipients.iter().find(|x| x.id == "accountant");
        assert!(acc.is_some_and(|x| x.role.as_deref() == Some("service_provider")
            && x.country.as_deref() == Some("FR")
            && x.country_is_assumption));
        assert!(cm.recipients.iter().any(|x| x.id == "saas_erp" && x.role_label.en == "Processor (GDPR Art. 28)"));
        assert_eq!(cm.archived_readers, vec!["dpo", "accountant"]);
        assert_eq!(cm.retention.len(), 1);
        assert_eq!((cm.retention[0].basis, cm.retention[0].years), (RetentionBasis::LastContractEnd, 5));
        assert!(cm.retention[0].label.fr.contains("5 ans après la fin du dernier contrat"));
        let cs = activity(&r, "customer_service");
        assert_eq!(cs.retention[1].subject_kind, SubjectKind::Prospect);
        assert_eq!(cs.retention[1].years, 3);
        assert!(cs.retention[1].label.en.starts_with("3 years after the last contact initiated by the person"));
        assert!(
            activity(&r, "service_delivery")
                .recipients
                .iter()
                .any(|x| x.id == "subcontractor" && x.role.as_deref() == Some("partner"))
        );
    }

    #[test]
    fn counts_are_carried() {
        let r = register();
        let pr = activity(&r, "prospect_relations");
        assert_eq!(pr.counts.subjects.len(), 1);
        assert_eq!((pr.counts.subjects[0].kind, pr.counts.subjects[0].count), (SubjectKind::Prospect, 30));
        assert_eq!(pr.counts.total, 30);
        assert_eq!(activity(&r, "contract_management").counts.total, 12);
        assert_eq!(activity(&r, "events").counts.total, 42);
        assert_eq!(r.totals.total_subjects, 42);
        assert_eq!(r.totals.erased_total, 4);
        assert_eq!(r.totals.erasures[0].month, "2026-06");
        assert_eq!(r.totals.erasures[0].kind, "prospect");
        assert_eq!(r.totals.erasures[0].rule, "last_inbound_contact");
        assert_eq!(r.totals.erasures[0].count, 3);
        // No count at all: zeros, not gaps.
        let empty = build(&policy(), &TransferList::builtin(), &BTreeMap::new(), &Counts::default(), at());
        assert_eq!(empty.totals.subjects.iter().map(|c| c.count).collect::<Vec<_>>(), vec![0, 0]);
        assert!(empty.totals.erasures.is_empty());
    }

    #[test]
    fn transfers_outside_the_eea_show_their_ground_or_why_not() {
        let mut p = policy();
        for r in &mut p.recipients {
            match r.id.as_str() {
                "accountant" => r.country = Some("BR".into()),
                "saas_erp" => r.country = Some("JP".into()),
                "subcontractor" => r.country = Some("IN".into()),
                _ => {}
            }
        }
        let signed = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default();
        let safeguards = BTreeMap::from([(
            "subcontractor".to_string(),
            vec![Safeguard { kind: SafeguardKind::Scc, signed_on: signed }],
        )]);
        let r = build(&p, &TransferList::builtin(), &safeguards, &counts(), at());
        let cm = activity(&r, "contract_management");
        assert_eq!(cm.transfers.len(), 2, "accountant and saas_erp");
        let acc = &cm.transfers[0];
        assert_eq!((acc.recipient_id.as_str(), acc.status), ("accountant", TransferStatus::NotAllowed));
        let reason = acc.reason.clone().unwrap_or_default();
        assert!(reason.contains("BR is outside the EEA") && reason.contains("no safeguard"), "{reason}");
        assert!(acc.label.fr.contains("transfert non autorisé"));
        let erp = &cm.transfers[1];
        assert_eq!((erp.recipient_id.as_str(), erp.status), ("saas_erp", TransferStatus::Adequacy));
        assert_eq!(erp.decision.as_deref(), Some("(EU) 2019/419"));
        assert_eq!(erp.country_name.as_deref(), Some("Japan"));
        assert!(erp.label.fr.contains("décision d'adéquation (EU) 2019/419"), "{}", erp.label.fr);
        let sd = activity(&r, "service_delivery");
        let sub = sd.transfers.iter().find(|t| t.recipient_id == "subcontractor");
        assert!(sub.is_some_and(|t| t.status == TransferStatus::Safeguard
            && t.safeguard == Some(SafeguardKind::Scc)
            && t.signed_on == Some(signed)
            && t.label.fr.contains("clauses contractuelles types signées le 2026-01-15")));
        // Activities whose recipients stay in the company transfer nothing.
        assert!(activity(&r, "events").transfers.is_empty());
        // The same recipient without its safeguard: not allowed.
        let r = build(&p, &TransferList::builtin(), &BTreeMap::new(), &counts(), at());
        let sd = activity(&r, "service_delivery");
        assert!(
            sd.transfers.iter().any(|t| t.recipient_id == "subcontractor" && t.status == TransferStatus::NotAllowed)
        );
    }

    #[test]
    fn sheet_names_are_valid_for_excel() {
        let mut r = register();
        r.activities[0].id = "a_very_long_purpose_identifier_beyond_thirty_one".into();
        r.activities[1].id = "a_very_long_purpose_identifier_beyond_thirty_one_too".into();
        r.activities[2].id = "registre".into();
        r.activities[3].id = "what?[x]:*/\\".into();
        let names = sheet_names(&r);
        assert_eq!(names[0], "a_very_long_purpose_identifier_");
        assert_eq!(names[1], "a_very_long_purpose_identifie~2");
        assert_eq!(names[2], "registre~2");
        assert_eq!(names[3], "whatx");
        for n in &names {
            assert!(n.chars().count() <= 31 && !n.contains(['[', ']', ':', '*', '?', '/', '\\']), "{n}");
        }
        assert!(to_xlsx(&r).is_ok());
    }

    #[test]
    fn json_snapshot() {
        insta::assert_snapshot!(to_json(&register()));
    }

    #[test]
    fn csv_snapshot() {
        let csv = to_csv(&register());
        let mut rd = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(rd.records().count(), 8, "one row per activity");
        insta::assert_snapshot!(csv);
    }

    #[test]
    fn html_snapshot() {
        let html = to_html(&register());
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">") && html.ends_with("</html>\n"));
        assert!(html.contains("Gestion de la relation client (GRC)"));
        assert!(html.contains("<td>Les employés de l&#39;entreprise au service de nos clients et contacts</td>"));
        insta::assert_snapshot!(html);
    }

    #[test]
    fn html_escapes_the_policy_text() {
        let mut r = register();
        r.controller.name = "<script>alert('x')</script> & Cie".into();
        let html = to_html(&r);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Cie"));
    }

    #[test]
    fn xlsx_has_a_cover_and_one_sheet_per_activity() -> std::result::Result<(), Box<dyn std::error::Error>> {
        use calamine::{Data, Reader, Xlsx};
        let r = register();
        let bytes = to_xlsx(&r)?;
        assert!(bytes.starts_with(b"PK"));
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))?;
        let mut expected = vec!["Registre".to_string()];
        expected.extend(r.activities.iter().map(|a| a.id.clone()));
        assert_eq!(wb.sheet_names(), expected);

        let cover = wb.worksheet_range("Registre")?;
        let text = |range: &calamine::Range<Data>, row: u32, col: u32| {
            range.get_value((row, col)).map(|d| d.to_string()).unwrap_or_default()
        };
        assert_eq!(text(&cover, 0, 0), TITLE);
        let cells: Vec<String> = cover.cells().map(|(_, _, d)| d.to_string()).collect();
        for needle in
            ["Micro et Services Informatiques (MSI)", "DPO MSI, Racine Avocats", "dpo-msi@racine.eu", "2026-1"]
        {
            assert!(cells.iter().any(|c| c == needle), "{needle} on the cover");
        }
        for a in &r.activities {
            assert!(cells.contains(&a.name.fr), "{} listed on the cover", a.id);
        }

        let cm = wb.worksheet_range("contract_management")?;
        assert_eq!(text(&cm, 0, 0), SHEET_TITLE);
        let rows: Vec<(String, String)> = (0..cm.height() as u32).map(|i| (text(&cm, i, 0), text(&cm, i, 1))).collect();
        let value_of = |label: &str| rows.iter().find(|(k, _)| k == label).map(|(_, v)| v.clone());
        for section in [
            "Description du traitement",
            "Acteurs",
            "Finalité(s) du traitement",
            "Base légale",
            "Catégories de personnes concernées",
            "Catégories de données",
            "Destinataires",
            "Transferts hors UE",
            "Durées de conservation",
            "Mesures de sécurité",
            "Volumes",
        ] {
            assert!(rows.iter().any(|(k, _)| k == section), "section {section}");
        }
        assert_eq!(value_of("Nom du traitement").as_deref(), Some("Exécution et suivi de nos contrats"));
        assert_eq!(value_of("Clients").as_deref(), Some("Exécution d'un contrat (art. 6.1.b RGPD)"));
        assert_eq!(value_of("Clients (nombre actuel)").as_deref(), Some("12"));
        assert_eq!(value_of("Total des personnes concernées").as_deref(), Some("12"));
        assert!(rows.iter().any(|(_, v)| v.starts_with("Expert-comptable")));
        Ok(())
    }
}
