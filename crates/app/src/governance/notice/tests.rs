use super::*;
use vigie_domain::policy::DEFAULT_POLICY;

fn policy(text: &str) -> Policy {
    let checked = Policy::from_toml(text);
    let errors: Vec<String> = checked.errors().map(|d| d.to_string()).collect();
    match checked.policy {
        Some(p) => p,
        None => unreachable!("the test policy is invalid: {errors:?}"),
    }
}

fn default_policy() -> Policy {
    policy(DEFAULT_POLICY)
}

/// The page's text with the entities decoded, to look for facts in it.
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

#[test]
fn snapshots_of_the_default_policy_notice() {
    let (p, t) = (default_policy(), TransferList::builtin());
    insta::assert_snapshot!("text_fr", render_text(&p, &t, Lang::Fr));
    insta::assert_snapshot!("text_en", render_text(&p, &t, Lang::En));
    insta::assert_snapshot!("html_fr", render_html(&p, &t, Lang::Fr));
    insta::assert_snapshot!("html_en", render_html(&p, &t, Lang::En));
}

#[test]
fn every_fact_of_the_policy_appears_in_both_languages_and_formats() {
    let (p, t) = (default_policy(), TransferList::builtin());
    for lang in Lang::ALL {
        let text = render_text(&p, &t, lang);
        let html = unescape(&render_html(&p, &t, lang));
        let (years5, years3, date, pending, assumed) = match lang {
            Lang::Fr => ("5 ans", "3 ans", "1er janvier 2026", "à compléter", "à confirmer"),
            Lang::En => ("5 years", "3 years", "1 January 2026", "to be completed", "to be confirmed"),
        };
        let mut facts: Vec<String> = [
            "dpo-msi@racine.eu",
            "DPO MSI, Racine Avocats",
            "40 rue de Courcelles, 75008 Paris, France",
            "Micro et Services Informatiques (MSI)",
            "Commission nationale de l'informatique et des libertés (CNIL)",
            "3 place de Fontenoy",
            "TSA 80751, 75334 Paris Cedex 07",
            "01 53 73 22 22",
            "2026-1",
            years5,
            years3,
            date,
            pending,
            assumed,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        facts.extend(p.purposes.iter().map(|x| lang.of(&x.name).to_string()));
        facts.extend(p.recipients.iter().map(|r| lang.of(&r.name).to_string()));
        facts.extend(p.recipients.iter().filter_map(|r| r.country.as_ref()).map(|c| format!("({c})")));
        facts.extend(p.security_measures.iter().cloned());
        facts.extend(
            match lang {
                Lang::Fr => ["un mois", "deux mois", "justificatif d'identité", "moins de 5 personnes"],
                Lang::En => ["one month", "two months", "proof of identity", "fewer than 5 people"],
            }
            .iter()
            .map(|s| s.to_string()),
        );
        for fact in &facts {
            assert!(text.contains(fact.as_str()), "{lang} text lacks {fact:?}");
            assert!(html.contains(fact.as_str()), "{lang} HTML lacks {fact:?}");
        }
        // Each assumed country is marked, in the recipients and in the transfers.
        let countries = p.assumptions.iter().filter(|a| a.ends_with(".country")).count();
        assert_eq!(text.matches(&format!("[{assumed}]")).count(), 2 * countries, "{text}");
        // The controller's address is not invented.
        let address = match lang {
            Lang::Fr => "Adresse postale : [à compléter]",
            Lang::En => "Postal address: [to be completed]",
        };
        assert!(text.contains(address), "{text}");
    }
    let html = render_html(&p, &t, Lang::Fr);
    assert!(html.contains("<time datetime=\"2026-01-01\">1er janvier 2026</time>"));
    assert!(html.contains("<a href=\"mailto:dpo-msi@racine.eu\">dpo-msi@racine.eu</a>"));
}

#[test]
fn the_notice_is_generated_from_the_policy() {
    let t = TransferList::builtin();
    let base = default_policy();
    let changed = policy(
        &DEFAULT_POLICY
            .replace("years = 5", "years = 7")
            .replace("years = 3", "years = 1")
            .replace("version = \"2026-1\"", "version = \"2027-2\"")
            .replace("effective_date = \"2026-01-01\"", "effective_date = \"2027-03-15\"")
            .replace(
                "# address: not stated by the source policy, to be completed.",
                "address = \"12 rue de l'Exemple, 69001 Lyon\"",
            ),
    );
    assert_ne!(render_text(&base, &t, Lang::Fr), render_text(&changed, &t, Lang::Fr));
    let fr = render_text(&changed, &t, Lang::Fr);
    assert!(fr.contains("puis 7 ans après") && !fr.contains("5 ans"), "{fr}");
    assert!(fr.contains("1 an à compter du dernier contact") && !fr.contains("3 ans"), "{fr}");
    assert!(fr.contains("version 2027-2") && fr.contains("15 mars 2027"), "{fr}");
    assert!(fr.contains("Adresse postale : 12 rue de l'Exemple, 69001 Lyon."), "{fr}");
    assert!(!fr.contains("à compléter]"), "{fr}");
    let en = render_text(&changed, &t, Lang::En);
    assert!(en.contains("then 7 years after") && en.contains("1 year from the last contact"), "{en}");
    assert!(en.contains("15 March 2027"), "{en}");
    // Without assumptions or missing facts, nothing is flagged and no legend is shown.
    let confirmed = policy(
        &DEFAULT_POLICY
            .replace("# address: not stated by the source policy, to be completed.", "address = \"Lyon\"")
            .replace("  \"recipients.accountant.country\",\n", "")
            .replace("  \"recipients.saas_erp.country\",\n", "")
            .replace("  \"recipients.subcontractor.country\",\n", "")
            .replace("  \"purposes.prospect_relations.interest\",\n", "")
            .replace("  \"purposes.customer_service.interest\",\n", "")
            .replace("  \"purposes.service_improvement.interest\",\n", "")
            .replace("  \"purposes.statistics.interest\",\n", "")
            .replace("  \"information.prospect_source\",\n", "")
            .replace("  \"information.provision\",\n", "")
            .replace("  \"information.automated_decisions\",\n", ""),
    );
    assert!(confirmed.assumptions.is_empty(), "{:?}", confirmed.assumptions);
    let en = render_text(&confirmed, &t, Lang::En);
    assert!(!en.contains("[to be confirmed]") && !en.contains("[to be completed]"), "{en}");
    assert!(!en.contains("marks information"), "no legend: {en}");
    assert!(en.contains("none of our external recipients is outside the EEA."), "{en}");
}

#[test]
fn recipients_outside_the_eea_are_described_by_their_ground() {
    let t = TransferList::builtin();
    let p = policy(
        &DEFAULT_POLICY
            // The controller's own country stays: only the recipients' move.
            .replacen("country = \"FR\"", "country = \"controller\"", 1)
            .replacen("country = \"FR\"", "country = \"JP\"", 1)
            .replacen("country = \"FR\"", "country = \"US\"", 1)
            .replacen("country = \"FR\"", "country = \"IN\"", 1)
            .replacen("country = \"controller\"", "country = \"FR\"", 1),
    );
    let en = render_text(&p, &t, Lang::En);
    assert!(
        en.contains(
            "Japan (JP) [to be confirmed], outside the EEA: transfer covered by adequacy decision (EU) 2019/419."
        ),
        "{en}"
    );
    assert!(en.contains("United States (US) [to be confirmed], outside the EEA: adequacy decision (EU) 2023/1795 covers only organisations certified under the EU-US Data Privacy Framework"), "{en}");
    assert!(en.contains("India (IN) [to be confirmed], outside the EEA, with no adequacy decision"), "{en}");
    assert!(!en.contains("none of our external recipients is outside the EEA"), "{en}");
    let fr = render_text(&p, &t, Lang::Fr);
    assert!(
        fr.contains(
            "Japon (JP) [à confirmer], hors de l'EEE : transfert couvert par la décision d'adéquation (EU) 2019/419."
        ),
        "{fr}"
    );
    assert!(fr.contains("Inde (IN) [à confirmer], hors de l'EEE, sans décision d'adéquation"), "{fr}");
}

#[test]
fn html_is_a_complete_page_with_every_dynamic_string_escaped() {
    let t = TransferList::builtin();
    let p = policy(&DEFAULT_POLICY.replace(
        "name = \"Micro et Services Informatiques (MSI)\"",
        "name = \"A & B <script>alert('x')</script> \\\"Ltd\\\"\"",
    ));
    for lang in Lang::ALL {
        let html = render_html(&p, &t, lang);
        assert!(html.starts_with("<!DOCTYPE html>\n"), "{html}");
        assert!(html.contains(&format!("<html lang=\"{lang}\">")));
        assert!(html.contains(&format!("href=\"?lang={}\"", lang.other())));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("A &amp; B &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot;Ltd&quot;"));
        assert!(html.contains("<title>"));
        for tag in ["section", "table", "ul", "p", "li", "tr", "nav", "main", "header", "footer"] {
            let open = html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
            assert_eq!(open, html.matches(&format!("</{tag}>")).count(), "<{tag}> is balanced");
        }
        let sections = html.matches("<section ").count();
        assert_eq!(sections, 14);
        assert_eq!(html.matches("<h2 ").count(), sections + 1, "one heading per section, and the contents");
    }
    // The measures, written in French, are marked as such on the English page.
    let html = render_html(&p, &t, Lang::En);
    assert!(html.contains("<ul lang=\"fr\">"));
    assert!(!render_html(&p, &t, Lang::Fr).contains("<ul lang="));
}

#[test]
fn languages_parse_with_a_clear_error() {
    assert_eq!("fr".parse::<Lang>(), Ok(Lang::Fr));
    assert_eq!(" EN ".parse::<Lang>(), Ok(Lang::En));
    let err = "de".parse::<Lang>().err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("unknown language `de`: expected `fr` or `en`"));
    assert!("".parse::<Lang>().is_err());
    assert_eq!(Lang::Fr.other(), Lang::En);
}

/// Issue 12: the suppression list is told to the person, with what it holds, for how long and how to leave it.
#[test]
fn the_notice_tells_of_the_suppression_list() {
    let t = TransferList::builtin();
    let p = policy(DEFAULT_POLICY);
    let fr = render_text(&p, &t, Lang::Fr);
    assert!(fr.contains("Si vous vous opposez à la prospection"), "{fr}");
    assert!(fr.contains("liste d'opposition une empreinte (calculée avec une clé secrète)"), "{fr}");
    assert!(fr.contains("conservée 3 ans après votre opposition"), "{fr}");
    assert!(fr.contains("devenez client"), "{fr}");
    let en = render_text(&p, &t, Lang::En);
    assert!(en.contains("kept 3 years after your objection") && en.contains("taken off the list"), "{en}");
}
