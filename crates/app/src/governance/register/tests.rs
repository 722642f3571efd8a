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
    build(&policy(), &TransferList::builtin(), &BTreeMap::new(), &counts(), at())
}

fn activity<'a>(r: &'a Register, id: &str) -> &'a Activity {
    r.activities.iter().find(|a| a.id == id).unwrap_or_else(|| unreachable!("no activity {id}"))
}

#[test]
fn every_purpose_is_an_activity_with_its_bases() {
    let p = policy();
    let r = register();
    let mut ids: Vec<&str> = p.purposes.iter().map(|p| p.id.as_str()).collect();
    ids.push("suppression_list");
    assert_eq!(r.activities.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ids, "every purpose, then Vigie's own");
    let Some(sl) = r.activities.last() else { return };
    assert_eq!(sl.legal_bases[0].basis, LegalBasis::LegalObligation);
    assert!(sl.retention[0].label.fr.contains("3 ans après l'opposition"), "{:?}", sl.retention);
    assert!(sl.data_categories[0].detail.en.contains("never their value"));
    assert!(sl.recipients.is_empty() && sl.transfers.is_empty());
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
    for a in r.activities.iter().filter(|a| a.id != "suppression_list") {
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
    assert_eq!((cm.retention[0].basis, cm.retention[0].years), (Some(RetentionBasis::LastContractEnd), 5));
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
    assert!(sd.transfers.iter().any(|t| t.recipient_id == "subcontractor" && t.status == TransferStatus::NotAllowed));
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
    let mut rd = ::csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rd.records().count(), 9, "one row per activity");
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
    for needle in ["Micro et Services Informatiques (MSI)", "DPO MSI, Racine Avocats", "dpo-msi@racine.eu", "2026-1"] {
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
