use super::xlsx::sheet_names;
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
    build(&policy(), &[], &TransferList::builtin(), &BTreeMap::new(), &counts(), at())
}

fn html(r: &Register, lang: Lang) -> String {
    to_html(r, lang).unwrap_or_else(|e| unreachable!("{e}"))
}

/// Vigie's own activities, after the policy's purposes.
const OWN: [&str; 4] = ["suppression_list", "rights_requests", "breach_register", "audit_trail"];

fn activity<'a>(r: &'a Register, id: &str) -> &'a Activity {
    r.activities.iter().find(|a| a.id == id).unwrap_or_else(|| unreachable!("no activity {id}"))
}

#[test]
fn every_purpose_is_an_activity_with_its_bases() {
    let p = policy();
    let r = register();
    let mut ids: Vec<&str> = p.purposes.iter().map(|p| p.id.as_str()).collect();
    ids.extend(OWN);
    assert_eq!(r.activities.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ids, "every purpose, then Vigie's own");
    let sl = activity(&r, "suppression_list");
    assert_eq!(sl.origin, ActivityOrigin::Vigie);
    assert_eq!(sl.legal_bases[0].basis, LegalBasis::LegalObligation);
    assert!(sl.retention[0].label.fr.contains("3 ans après l'opposition"), "{:?}", sl.retention);
    assert_eq!(sl.retention[0].years, Some(3));
    assert!(sl.data_categories[0].detail.en.contains("never their value"));
    assert_eq!(sl.data_categories[0].id, CategoryId::KeyedHashes);
    assert!(sl.recipients.iter().all(|r| r.id == "dpo") && sl.transfers.is_empty());
    for (a, purpose) in r.activities.iter().zip(&p.purposes) {
        assert_eq!(a.origin, ActivityOrigin::Policy);
        let bases: BTreeMap<SubjectKind, LegalBasis> =
            a.legal_bases.iter().filter_map(|b| Some((b.subject_kind?, b.basis))).collect();
        assert_eq!(bases, purpose.bases, "{}", a.id);
        assert_eq!(
            a.subject_categories.iter().filter_map(|c| c.kind).collect::<Vec<_>>(),
            purpose.bases.keys().copied().collect::<Vec<_>>()
        );
        assert_eq!(
            a.data_categories.iter().map(|c| c.id).collect::<Vec<_>>(),
            purpose.data_categories.iter().map(|c| category_of(*c)).collect::<Vec<_>>()
        );
        // The interest pursued, for the purposes resting on legitimate interest.
        assert_eq!(a.interest.as_ref().map(|i| i.fr.as_str()), purpose.interest.as_ref().map(|i| i.fr.as_str()));
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
    for a in r.activities.iter().filter(|a| a.origin == ActivityOrigin::Policy) {
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
    assert_eq!((cm.retention[0].basis, cm.retention[0].years), (Some(RetentionBasis::LastContractEnd), Some(5)));
    assert!(cm.retention[0].label.fr.contains("5 ans après la fin du dernier contrat"));
    let cs = activity(&r, "customer_service");
    assert_eq!(cs.retention[1].subject_kind, Some(SubjectKind::Prospect));
    assert_eq!(cs.retention[1].years, Some(3));
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
    let empty = build(&policy(), &[], &TransferList::builtin(), &BTreeMap::new(), &Counts::default(), at());
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
        vec![Recorded {
            safeguard: Safeguard { kind: SafeguardKind::Scc, signed_on: signed },
            reference: Some("SCC 2021/914, module 2, A-17".into()),
        }],
    )]);
    let r = build(&p, &[], &TransferList::builtin(), &safeguards, &counts(), at());
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
        && t.safeguard_reference.as_deref() == Some("SCC 2021/914, module 2, A-17")
        && t.label.fr.contains(
            "clauses contractuelles types signées le 15 janvier 2026 (document : SCC 2021/914, module 2, A-17)"
        )
        && t.label.en.contains(
            "standard contractual clauses signed on 15 January 2026 (document: SCC 2021/914, module 2, A-17)"
        )));
    // Activities whose recipients stay in the company transfer nothing.
    assert!(activity(&r, "events").transfers.is_empty());
    // The same recipient without its safeguard: not allowed.
    let r = build(&p, &[], &TransferList::builtin(), &BTreeMap::new(), &counts(), at());
    let sd = activity(&r, "service_delivery");
    assert!(sd.transfers.iter().any(|t| t.recipient_id == "subcontractor" && t.status == TransferStatus::NotAllowed));
}

#[test]
fn sheet_names_are_valid_for_excel() {
    let mut r = register();
    r.activities[0].id = "a_very_long_purpose_identifier_beyond_thirty_one".into();
    r.activities[1].id = "a_very_long_purpose_identifier_beyond_thirty_one_too".into();
    r.activities[2].id = "registre".into();
    r.activities[3].id = "what?[x]:*/\\".into();
    let names = sheet_names(&r, "Registre");
    assert_eq!(names[0], "a_very_long_purpose_identifier_");
    assert_eq!(names[1], "a_very_long_purpose_identifie~2");
    assert_eq!(names[2], "registre~2");
    assert_eq!(names[3], "whatx");
    for n in &names {
        assert!(n.chars().count() <= 31 && !n.contains(['[', ']', ':', '*', '?', '/', '\\']), "{n}");
    }
    assert!(to_xlsx(&r, Lang::Fr).is_ok());
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!(to_json(&register()));
}

#[test]
fn csv_snapshot() {
    let csv = to_csv(&register(), Lang::Fr);
    let mut rd = ::csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rd.records().count(), 12, "one row per activity");
    insta::assert_snapshot!(csv);
}

#[test]
fn html_snapshot() {
    let html = html(&register(), Lang::Fr);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">") && html.trim_end().ends_with("</html>"));
    // A file that stands alone: the one stylesheet inlined, nothing loaded.
    assert!(html.contains(&format!("<style>{}</style>", vigie_ui::STYLESHEET)), "the stylesheet inlined");
    assert!(!html.contains("<link") && !html.contains(" style="), "nothing loaded, no inline style attribute");
    assert!(html.contains("Gestion de la relation client (GRC)"));
    assert!(html.contains("<td>Les employés de l&#39;entreprise au service de nos clients et contacts</td>"));
    // The stylesheet, which changes with every page of Vigie, is not the register's content.
    insta::assert_snapshot!(html.replace(vigie_ui::STYLESHEET, "/* vigie.css */"));
}

#[test]
fn html_escapes_the_policy_text() {
    let mut r = register();
    r.controller.name = "<script>alert('x')</script> & Cie".into();
    let html = html(&r, Lang::Fr);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; Cie"), "{html}");
}

#[test]
fn xlsx_has_a_cover_and_one_sheet_per_activity() -> std::result::Result<(), Box<dyn std::error::Error>> {
    use calamine::{Data, Reader, Xlsx};
    let r = register();
    let bytes = to_xlsx(&r, Lang::Fr)?;
    assert!(bytes.starts_with(b"PK"));
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))?;
    let mut expected = vec!["Registre".to_string()];
    expected.extend(r.activities.iter().map(|a| a.id.clone()));
    assert_eq!(wb.sheet_names(), expected);

    let cover = wb.worksheet_range("Registre")?;
    let text = |range: &calamine::Range<Data>, row: u32, col: u32| {
        range.get_value((row, col)).map(|d| d.to_string()).unwrap_or_default()
    };
    assert_eq!(text(&cover, 0, 0), "Registre des activités de traitement");
    let cells: Vec<String> = cover.cells().map(|(_, _, d)| d.to_string()).collect();
    for needle in ["Micro et Services Informatiques (MSI)", "DPO MSI, Racine Avocats", "dpo-msi@racine.eu", "2026-1"] {
        assert!(cells.iter().any(|c| c == needle), "{needle} on the cover");
    }
    for a in &r.activities {
        assert!(cells.contains(&a.name.fr), "{} listed on the cover", a.id);
    }

    let cm = wb.worksheet_range("contract_management")?;
    assert_eq!(text(&cm, 0, 0), "Fiche de registre de l'activité de traitement");
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

/// Issue 12: Vigie's own processing is in the register, each activity with its basis, the data
/// it holds, who reads it, how long it is kept and its live volume.
#[test]
fn vigie_s_own_processing_activities_are_recorded() {
    let c = Counts {
        requests: 7,
        open_requests: 2,
        breaches: 1,
        audit_entries: 1234,
        disclosures: 56,
        suppressed: 4,
        ..counts()
    };
    let r = build(&policy(), &[], &TransferList::builtin(), &BTreeMap::new(), &c, at());
    for id in OWN {
        let a = activity(&r, id);
        assert_eq!(a.origin, ActivityOrigin::Vigie, "{id}");
        assert!(
            a.legal_bases.iter().all(|b| b.basis == LegalBasis::LegalObligation && b.subject_kind.is_none()),
            "{id}"
        );
        assert!(a.subject_categories.iter().all(|s| s.kind.is_none()), "{id}");
        assert!(a.recipients.iter().any(|x| x.id == "dpo"), "{id}: the DPO reads it");
        assert!(a.transfers.is_empty() && !a.retention.is_empty() && !a.data_categories.is_empty(), "{id}");
        assert_eq!(a.security_measures, policy().security_measures, "{id}");
    }
    let rights = activity(&r, "rights_requests");
    assert!(rights.legal_bases[0].label.fr.contains("art. 6.1.c et 12 à 22 RGPD"), "{:?}", rights.legal_bases);
    assert_eq!(
        rights.data_categories.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![CategoryId::Requester, CategoryId::Request, CategoryId::IdentityCheck]
    );
    assert!(rights.data_categories[2].detail.fr.contains("détruit dès la décision"));
    assert_eq!(rights.retention[0].years, Some(5), "request_proof_years");
    assert!(rights.retention[0].label.fr.starts_with("5 ans après la clôture de la demande"), "{:?}", rights.retention);
    assert_eq!((rights.counts.unit, rights.counts.total), (CountUnit::Requests, 7));
    assert_eq!((rights.counts.details[0].unit, rights.counts.details[0].count), (CountUnit::OpenRequests, 2));
    let breaches = activity(&r, "breach_register");
    assert!(breaches.legal_bases[0].label.en.contains("33(5)"));
    assert!(breaches.recipients.iter().any(|x| x.id == "authority"
        && x.name.fr.starts_with("Commission nationale de l'informatique et des libertés (CNIL)")));
    assert_eq!((breaches.retention[0].years, breaches.counts.total), (None, 1));
    let audit = activity(&r, "audit_trail");
    assert!(audit.legal_bases[0].label.fr.contains("5.2 et 24"));
    assert!(audit.data_categories.iter().all(|c| c.detail.fr.contains("aucune valeur")), "ids only");
    assert!(audit.recipients.iter().any(|x| x.id == "auditor"));
    assert_eq!(audit.retention.len(), 2, "the trail, and the log that goes with each erased person");
    assert_eq!((audit.counts.unit, audit.counts.total), (CountUnit::AuditEntries, 1234));
    assert_eq!(audit.counts.details[0].count, 56);
    assert_eq!(activity(&r, "suppression_list").counts.total, 4);
    // In the exports: the HTML sheet, the CSV row, the XLSX sheet.
    let page = html(&r, Lang::Fr);
    assert!(
        page.contains("<tr><th scope=\"row\">Demandes enregistrées (nombre actuel)</th><td class=\"n\">7</td></tr>"),
        "{page}"
    );
    assert!(page.contains("<tr><th scope=\"row\">dont demandes en cours</th><td class=\"n\">2</td></tr>"));
    let csv = to_csv(&r, Lang::Fr);
    let row = csv.split("\r\n").find(|l| l.starts_with("breach_register,")).unwrap_or_default();
    assert!(
        row.contains("Registre des violations de données")
            && row.contains("Violations enregistrées (nombre actuel) : 1"),
        "{csv}"
    );
}

/// The CNIL model's dates: a record is created when the first version holding it came into
/// force, and updated when a later version changed it.
#[test]
fn each_record_is_dated_from_the_policy_versions() {
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap_or_default();
    let v1 = policy();
    let mut v2 = v1.clone();
    v2.version = "2026-2".into();
    let mut newsletter = v2.purposes[5].clone();
    newsletter.id = "newsletter".into();
    newsletter.name = Localized { fr: "Lettre d'information".into(), en: "Newsletter".into() };
    v2.purposes.push(newsletter);
    v2.purposes[5].name.fr = "Organisation de nos évènements".into();
    let mut v3 = v2.clone();
    v3.version = "2026-3".into();
    v3.retention.suppression_years = 2;
    // The DPO assessed the new purpose before the version took effect (Art. 6(4)).
    let assessed = |kind| Assessed {
        purpose: "newsletter".into(),
        kind,
        from: None,
        to: LegalBasis::Consent,
        compatible: true,
        reasoning: "Fondée sur un consentement distinct, recueilli avant tout envoi.".into(),
        assessed_on: d(5, 20),
    };
    let history = [
        InForce { since: d(1, 10), policy: v1, assessments: Vec::new() },
        InForce {
            since: d(6, 1),
            policy: v2,
            assessments: vec![assessed(SubjectKind::Client), assessed(SubjectKind::Prospect)],
        },
        InForce { since: d(9, 1), policy: v3.clone(), assessments: Vec::new() },
    ];
    let r = build(&v3, &history, &TransferList::builtin(), &BTreeMap::new(), &counts(), at());
    let dates = |id: &str| (activity(&r, id).created_on, activity(&r, id).updated_on);
    assert_eq!(dates("contract_management"), (d(1, 10), d(1, 10)), "unchanged since the first version");
    assert_eq!(dates("events"), (d(1, 10), d(6, 1)), "renamed in June");
    assert_eq!(dates("newsletter"), (d(6, 1), d(6, 1)), "added in June");
    assert_eq!(dates("suppression_list"), (d(1, 10), d(9, 1)), "its period changed in September");
    assert_eq!(dates("rights_requests"), (d(1, 10), d(1, 10)));
    // The assessments show in the new purpose's record, in every export.
    let newsletter = activity(&r, "newsletter");
    assert_eq!(newsletter.compatibility_assessments.len(), 2);
    assert_eq!(
        (newsletter.compatibility_assessments[0].version.as_str(), newsletter.compatibility_assessments[0].compatible),
        ("2026-2", true)
    );
    assert!(activity(&r, "events").compatibility_assessments.is_empty());
    let page = html(&r, Lang::Fr);
    assert!(page.contains("Compatibilité des nouvelles utilisations (art. 6.4 RGPD)"), "{page}");
    assert!(page.contains("<tr><th scope=\"row\">2026-2, Clients : aucune → Consentement (art. 6.1.a RGPD)</th><td>Compatible, selon l&#39;analyse du DPO du 2026-05-20 : Fondée sur un consentement distinct, recueilli avant tout envoi.</td></tr>"), "{page}");
    assert!(to_csv(&r, Lang::En).contains("2026-2, Prospects and contacts: none → Consent (GDPR Art. 6(1)(a)): Compatible, as the DPO assessed on 2026-05-20"));
    // A change to the security measures updates every record: each lists them.
    let mut v4 = v3.clone();
    v4.security_measures.push("Sauvegardes chiffrées.".into());
    let history = [
        InForce { since: d(1, 10), policy: v3, assessments: Vec::new() },
        InForce { since: d(10, 1), policy: v4.clone(), assessments: Vec::new() },
    ];
    let r = build(&v4, &history, &TransferList::builtin(), &BTreeMap::new(), &counts(), at());
    assert!(r.activities.iter().all(|a| a.created_on == d(1, 10) && a.updated_on == d(10, 1)));
    let csv = to_csv(&r, Lang::Fr);
    assert!(
        csv.starts_with("Référence,Activité de traitement,Origine,Date de création,Date de dernière mise à jour,"),
        "{csv}"
    );
    assert!(csv.contains("contract_management,Exécution et suivi de nos contrats,Finalité de la politique de protection des données,2026-01-10,2026-10-01,"), "{csv}");
}

/// The assumptions are named in words, never by their path in the policy file.
#[test]
fn assumptions_are_told_in_words() {
    let r = register();
    let labels: Vec<&str> = r.assumptions.iter().map(|a| a.label.fr.as_str()).collect();
    assert!(
        labels.contains(&"Destinataire « Expert-comptable (prestataire externe ; identité à compléter) » : pays"),
        "{labels:?}"
    );
    assert!(labels.contains(&"Finalité « Service client » : intérêt légitime poursuivi"), "{labels:?}");
    assert!(labels.contains(&"Source des données des prospects"), "{labels:?}");
    assert!(
        r.assumptions
            .iter()
            .any(|a| a.path == "information.provision" && a.label.en == "Whether giving data is required")
    );
    for export in [html(&r, Lang::Fr), html(&r, Lang::En), to_csv(&r, Lang::Fr)] {
        assert!(!export.contains("information.") && !export.contains("recipients.accountant"), "{export}");
    }
}

/// Every export in English when asked, its labels from the same catalogues.
#[test]
fn the_human_exports_speak_english_on_request() -> std::result::Result<(), Box<dyn std::error::Error>> {
    use calamine::{Reader, Xlsx};
    let r = register();
    let page = html(&r, Lang::En);
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    for needle in [
        "<h1>Record of processing activities</h1>",
        "<tr><th scope=\"row\">Name of the processing</th><td>Performance and follow-up of our contracts</td></tr>",
        "<tr><th scope=\"row\">Name in French</th><td>Exécution et suivi de nos contrats</td></tr>",
        "Legal obligation: answering requests to exercise rights",
        "Recipient “Chartered accountant (external provider; identity to be completed)”: country",
    ] {
        assert!(page.contains(&needle.replace('\'', "&#39;")), "{needle}");
    }
    for french in ["Nom du traitement", "Base légale", "Durées de conservation"] {
        assert!(!page.contains(french), "{french} in the English page");
    }
    assert!(to_csv(&r, Lang::En).starts_with("Reference,Processing activity,Origin,Created on,"));
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(to_xlsx(&r, Lang::En)?))?;
    assert_eq!(wb.sheet_names()[0], "Register");
    let cover = wb.worksheet_range("Register")?;
    assert_eq!(cover.get_value((0, 0)).map(|d| d.to_string()).unwrap_or_default(), "Record of processing activities");
    Ok(())
}
