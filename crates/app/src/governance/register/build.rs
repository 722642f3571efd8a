//! The register built from the policy, its history, the transfer list, recorded safeguards and
//! live counts: a pure function.

use super::*;

/// Builds the register from the policy in force, the versions that were in force before it
/// (oldest first, the policy in force last; empty: the policy alone, from its effective date),
/// the transfer list, the safeguards recorded per recipient id (each with its document's
/// reference, if recorded), and the live counts, as of `generated_at`.
pub fn build(
    policy: &Policy,
    history: &[InForce],
    transfers: &TransferList,
    safeguards: &BTreeMap<String, Vec<Recorded>>,
    counts: &Counts,
    generated_at: DateTime<Utc>,
) -> Register {
    let today = generated_at.date_naive();
    let alone = [InForce { since: policy.effective_date, policy: policy.clone(), assessments: Vec::new() }];
    let history = if history.is_empty() { &alone[..] } else { history };
    let dated = |origin: ActivityOrigin, id: &str| dates(history, origin, id, policy.effective_date);
    let count_of = |k: SubjectKind| counts.subjects.get(&k).copied().unwrap_or(0);
    let mut activities: Vec<Activity> = policy
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
                    name: Label::of(&r.name),
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
                    transfer(transfers, r, country, recorded, today)
                })
                .collect();
            let subjects: Vec<KindCount> = kinds.iter().map(|&k| KindCount { kind: k, count: count_of(k) }).collect();
            let (created_on, updated_on) = dated(ActivityOrigin::Policy, &p.id);
            Activity {
                id: p.id.clone(),
                name: Label::of(&p.name),
                origin: ActivityOrigin::Policy,
                created_on,
                updated_on,
                legal_bases: p
                    .bases
                    .iter()
                    .map(|(&k, &b)| BasisEntry {
                        subject_kind: Some(k),
                        applies_to: kind_label(k),
                        basis: b,
                        label: basis_label(b),
                    })
                    .collect(),
                interest: p.interest.as_ref().map(Label::of),
                subject_categories: kinds
                    .iter()
                    .map(|&k| SubjectCategory { kind: Some(k), label: kind_label(k), description: kind_description(k) })
                    .collect(),
                data_categories: p.data_categories.iter().map(|&c| category(category_of(c))).collect(),
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
                            subject_kind: Some(k),
                            applies_to: kind_label(k),
                            basis: Some(rule.basis),
                            years: Some(rule.years),
                            label: retention_label(rule.basis, rule.years),
                        }
                    })
                    .collect(),
                security_measures: policy.security_measures.clone(),
                counts: ActivityCounts {
                    total: subjects.iter().map(|c| c.count).sum(),
                    subjects,
                    unit: CountUnit::Persons,
                    details: Vec::new(),
                },
                compatibility_assessments: history
                    .iter()
                    .flat_map(|v| {
                        v.assessments.iter().filter(|x| x.purpose == p.id).map(|x| assessment(&v.policy.version, x))
                    })
                    .collect(),
            }
        })
        .collect();
    for own in [
        suppression_list(policy, counts),
        rights_requests(policy, counts),
        breach_register(policy, counts),
        audit_trail(policy, counts),
    ] {
        let (created_on, updated_on) = dated(ActivityOrigin::Vigie, &own.id);
        activities.push(Activity { created_on, updated_on, ..own });
    }
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
        assumptions: policy
            .assumptions
            .iter()
            .map(|path| AssumptionEntry { path: path.clone(), label: assumption_label(policy, path) })
            .collect(),
    }
}

/// A transfer outside the EEA and its ground; none inside the EEA.
fn transfer(
    list: &TransferList,
    r: &vigie_domain::Recipient,
    country: &str,
    recorded: &[Recorded],
    today: NaiveDate,
) -> Option<TransferEntry> {
    let grounds: Vec<Safeguard> = recorded.iter().map(|r| r.safeguard.clone()).collect();
    let country_name = list.adequacy(country).map(|a| a.name.clone());
    let place = match &country_name {
        Some(n) => format!("{country} ({n})"),
        None => country.to_string(),
    };
    let mut t = TransferEntry {
        recipient_id: r.id.clone(),
        recipient: Label::of(&r.name),
        country: country.to_string(),
        country_name,
        status: TransferStatus::NotAllowed,
        decision: None,
        safeguard: None,
        signed_on: None,
        safeguard_reference: None,
        reason: None,
        label: Label::same(""),
    };
    match assess(list, Some(country), &grounds, today) {
        Ok(Ground::Internal | Ground::Eea { .. }) => return None,
        Ok(Ground::Adequacy { decision, .. }) => {
            t.label =
                Label::with(|tr| tr.f("register.transfer.adequacy", &[("place", &place), ("decision", &decision)]));
            t.status = TransferStatus::Adequacy;
            t.decision = Some(decision);
        }
        Ok(Ground::Safeguard { kind, signed_on, .. }) => {
            // The document of the safeguard relied on, as recorded with it.
            let reference = recorded
                .iter()
                .find(|r| r.safeguard.kind == kind && r.safeguard.signed_on == signed_on && r.reference.is_some())
                .and_then(|r| r.reference.clone());
            let s = safeguard_label(kind, signed_on, reference.as_deref());
            t.label = Label::with(|tr| {
                tr.f("register.transfer.safeguard", &[("place", &place), ("safeguard", s.get(tr.lang()))])
            });
            t.status = TransferStatus::Safeguard;
            t.safeguard = Some(kind);
            t.signed_on = Some(signed_on);
            t.safeguard_reference = reference;
        }
        Err(reason) => {
            t.label = Label::with(|tr| tr.f("register.transfer.refused", &[("place", &place), ("reason", &reason)]));
            t.reason = Some(reason);
        }
    }
    Some(t)
}

/// What the record of an activity says in a version of the policy: the version changed the
/// record when this changes. None when the version does not hold the activity.
fn fingerprint(p: &Policy, origin: ActivityOrigin, id: &str) -> Option<String> {
    let measures = &p.security_measures;
    match (origin, id) {
        (ActivityOrigin::Vigie, "suppression_list") => Some(format!("{}|{measures:?}", p.retention.suppression_years)),
        (ActivityOrigin::Vigie, "rights_requests") => Some(format!("{}|{measures:?}", p.retention.request_proof_years)),
        (ActivityOrigin::Vigie, _) => Some(format!("{measures:?}")),
        (ActivityOrigin::Policy, id) => {
            let purpose = p.purpose(id)?;
            let recipients: Vec<_> = p.recipients.iter().filter(|r| r.purposes.contains(&purpose.id)).collect();
            let retention: Vec<_> = purpose.bases.keys().map(|k| p.retention_rule(*k)).collect();
            Some(format!("{purpose:?}|{recipients:?}|{retention:?}|{measures:?}"))
        }
    }
}

/// When an activity's record was created (the first version holding it came into force) and
/// last updated (the last version that changed it came into force).
fn dates(history: &[InForce], origin: ActivityOrigin, id: &str, fallback: NaiveDate) -> (NaiveDate, NaiveDate) {
    let (mut created, mut updated, mut last) = (None, None, None);
    for v in history {
        let now = fingerprint(&v.policy, origin, id);
        if now.is_some() {
            created.get_or_insert(v.since);
            if now != last {
                updated = Some(v.since);
            }
        }
        last = now;
    }
    let created = created.unwrap_or(fallback);
    (created, updated.unwrap_or(created))
}

/// An assessment in words: the change, and the DPO's conclusion.
fn assessment(version: &str, a: &Assessed) -> AssessmentEntry {
    let label = Label::with(|t| {
        let lang = t.lang();
        let from =
            a.from.map_or_else(|| t.t("register.field.no_basis").to_string(), |b| basis_label(b).get(lang).to_string());
        t.f(
            "register.field.assessment",
            &[
                ("version", version),
                ("kind", kind_label(a.kind).get(lang)),
                ("from", &from),
                ("to", basis_label(a.to).get(lang)),
            ],
        )
    });
    let key = if a.compatible { "register.field.compatible" } else { "register.field.incompatible" };
    let conclusion = Label::with(|t| t.f(key, &[("date", &a.assessed_on.to_string()), ("reasoning", &a.reasoning)]));
    AssessmentEntry {
        version: version.to_string(),
        kind: a.kind,
        from: a.from,
        to: a.to,
        compatible: a.compatible,
        reasoning: a.reasoning.clone(),
        assessed_on: a.assessed_on,
        label,
        conclusion,
    }
}

/// An activity of Vigie's own, its dates filled by the caller.
fn own(id: &str, name: &str, bases: Vec<BasisEntry>, persons: &str, security: &[String]) -> Activity {
    Activity {
        id: id.into(),
        name: Label::key(name),
        origin: ActivityOrigin::Vigie,
        created_on: NaiveDate::MIN,
        updated_on: NaiveDate::MIN,
        legal_bases: bases,
        interest: None,
        subject_categories: vec![SubjectCategory {
            kind: None,
            label: Label::key(persons),
            description: Label::key(&format!("{persons}_detail")),
        }],
        data_categories: Vec::new(),
        aggregates_only: false,
        min_group_size: None,
        survives_contract: false,
        archived_readers: Vec::new(),
        recipients: Vec::new(),
        transfers: Vec::new(),
        retention: Vec::new(),
        security_measures: security.to_vec(),
        counts: ActivityCounts { subjects: Vec::new(), total: 0, unit: CountUnit::Entries, details: Vec::new() },
        compatibility_assessments: Vec::new(),
    }
}

/// A legal obligation holding for every person the activity concerns.
fn obligation(label: &str) -> Vec<BasisEntry> {
    vec![BasisEntry {
        subject_kind: None,
        applies_to: Label::key("register.all_persons"),
        basis: LegalBasis::LegalObligation,
        label: Label::key(label),
    }]
}

/// Vigie's own readers: the DPO, the auditors.
fn reader(policy: &Policy, id: &str) -> RecipientEntry {
    let name = match id {
        "dpo" => Label::with(|t| t.f("register.field.dpo_reader", &[("name", &policy.dpo.name)])),
        _ => Label::key("register.audit.auditors"),
    };
    RecipientEntry {
        id: id.into(),
        name,
        kind: RecipientKind::Internal,
        role: None,
        role_label: Label::key("register.role.internal"),
        country: None,
        country_is_assumption: false,
    }
}

fn retention(applies_to: Label, years: Option<u32>, label: Label) -> RetentionEntry {
    RetentionEntry { subject_kind: None, applies_to, basis: None, years, label }
}

/// The suppression list, kept so that a person who objected to prospecting is not prospected
/// again (Art. 21(3)), with keyed hashes only.
fn suppression_list(policy: &Policy, counts: &Counts) -> Activity {
    let years = policy.retention.suppression_years;
    Activity {
        data_categories: vec![category(CategoryId::KeyedHashes)],
        retention: vec![retention(
            Label::key("register.suppression.persons"),
            Some(years),
            years_label("register.retention.suppression", years),
        )],
        recipients: vec![reader(policy, "dpo")],
        counts: ActivityCounts {
            subjects: Vec::new(),
            total: counts.suppressed,
            unit: CountUnit::Entries,
            details: Vec::new(),
        },
        ..own(
            "suppression_list",
            "register.suppression.name",
            obligation("register.suppression.basis"),
            "register.suppression.persons",
            &policy.security_measures,
        )
    }
}

/// The handling of rights requests (Arts. 12 to 22): what a request holds, kept
/// `request_proof_years` after it is closed.
fn rights_requests(policy: &Policy, counts: &Counts) -> Activity {
    let years = policy.retention.request_proof_years;
    Activity {
        data_categories: [CategoryId::Requester, CategoryId::Request, CategoryId::IdentityCheck]
            .into_iter()
            .map(category)
            .collect(),
        recipients: vec![reader(policy, "dpo")],
        retention: vec![retention(
            Label::key("register.rights.persons"),
            Some(years),
            years_label("register.retention.requests", years),
        )],
        counts: ActivityCounts {
            subjects: Vec::new(),
            total: counts.requests,
            unit: CountUnit::Requests,
            details: vec![UnitCount { unit: CountUnit::OpenRequests, count: counts.open_requests }],
        },
        ..own(
            "rights_requests",
            "register.rights.name",
            obligation("register.rights.basis"),
            "register.rights.persons",
            &policy.security_measures,
        )
    }
}

/// The register of breaches (Art. 33(5)).
fn breach_register(policy: &Policy, counts: &Counts) -> Activity {
    let authority = RecipientEntry {
        id: "authority".into(),
        name: Label::with(|t| t.f("register.breaches.authority", &[("name", &policy.authority.name)])),
        kind: RecipientKind::External,
        role: None,
        role_label: Label::key("register.role.authority"),
        country: None,
        country_is_assumption: false,
    };
    Activity {
        data_categories: vec![category(CategoryId::Breach)],
        recipients: vec![reader(policy, "dpo"), authority],
        retention: vec![retention(
            Label::key("register.breaches.persons"),
            None,
            Label::key("register.retention.installation"),
        )],
        counts: ActivityCounts {
            subjects: Vec::new(),
            total: counts.breaches,
            unit: CountUnit::Breaches,
            details: Vec::new(),
        },
        ..own(
            "breach_register",
            "register.breaches.name",
            obligation("register.breaches.basis"),
            "register.breaches.persons",
            &policy.security_measures,
        )
    }
}

/// The audit trail and the disclosure log (accountability, Arts. 5(2) and 24): ids, purposes,
/// field names and decisions, never a personal value.
fn audit_trail(policy: &Policy, counts: &Counts) -> Activity {
    Activity {
        data_categories: vec![category(CategoryId::AuditTrail), category(CategoryId::DisclosureLog)],
        recipients: vec![reader(policy, "dpo"), reader(policy, "auditor")],
        retention: vec![
            retention(Label::key("register.audit.trail"), None, Label::key("register.retention.audit")),
            retention(Label::key("register.audit.log"), None, Label::key("register.retention.disclosures")),
        ],
        counts: ActivityCounts {
            subjects: Vec::new(),
            total: counts.audit_entries,
            unit: CountUnit::AuditEntries,
            details: vec![UnitCount { unit: CountUnit::Disclosures, count: counts.disclosures }],
        },
        ..own(
            "audit_trail",
            "register.audit.name",
            obligation("register.audit.basis"),
            "register.audit.persons",
            &policy.security_measures,
        )
    }
}
