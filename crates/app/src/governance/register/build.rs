//! The register built from the policy, the transfer list, recorded safeguards and live counts: a pure function.

use super::*;

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
                            basis: Some(rule.basis),
                            years: rule.years,
                            label: retention_label(rule.basis, rule.years),
                        }
                    })
                    .collect(),
                security_measures: policy.security_measures.clone(),
                counts: ActivityCounts { total: subjects.iter().map(|c| c.count).sum(), subjects },
            }
        })
        .chain(std::iter::once(suppression_list(policy, counts)))
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

/// Vigie's own processing: the suppression list, kept so that a person who objected to
/// prospecting is not prospected again (Art. 21(3)), with keyed hashes only.
fn suppression_list(policy: &Policy, counts: &Counts) -> Activity {
    let (fr, en) = years(policy.retention.suppression_years);
    let kind = SubjectKind::Prospect;
    Activity {
        id: "suppression_list".into(),
        name: label(
            "Liste d'opposition : ne plus prospecter les personnes qui s'y sont opposées",
            "Suppression list: not prospecting again the people who objected",
        ),
        legal_bases: vec![BasisEntry {
            subject_kind: kind,
            basis: LegalBasis::LegalObligation,
            label: label(
                "Obligation légale : respecter l'opposition à la prospection (art. 6.1.c et 21.3 RGPD)",
                "Legal obligation: honouring the objection to prospecting (GDPR Arts. 6(1)(c) and 21(3))",
            ),
        }],
        subject_categories: vec![SubjectCategory {
            kind,
            label: label("Personnes opposées à la prospection", "People who objected to prospecting"),
            description: label(
                "Prospects ou clients qui se sont opposés à la prospection commerciale, y compris après l'effacement de leurs données",
                "Prospects or clients who objected to commercial prospecting, including after their data was erased",
            ),
        }],
        data_categories: vec![DataCategoryEntry {
            id: DataCategory::Contact,
            label: label("Coordonnées (empreintes seulement)", "Contact details (hashes only)"),
            detail: label(
                "Empreinte à clé (HMAC) de l'adresse électronique et du numéro de téléphone, jamais leur valeur",
                "Keyed hash (HMAC) of the email address and the phone number, never their value",
            ),
        }],
        aggregates_only: false,
        min_group_size: None,
        survives_contract: false,
        archived_readers: Vec::new(),
        recipients: Vec::new(),
        transfers: Vec::new(),
        retention: vec![RetentionEntry {
            subject_kind: kind,
            basis: None,
            years: policy.retention.suppression_years,
            label: label(
                format!("{fr} après l'opposition, sauf levée plus tôt à la demande de la personne"),
                format!("{en} after the objection, unless lifted earlier at the person's request"),
            ),
        }],
        security_measures: policy.security_measures.clone(),
        counts: ActivityCounts { subjects: Vec::new(), total: counts.suppressed },
    }
}
