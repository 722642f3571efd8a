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

fn render_text(p: &Policy, t: &TransferList, lang: Lang) -> String {
    super::render_text(p, t, lang).unwrap_or_else(|e| unreachable!("{e}"))
}

fn render_html(p: &Policy, t: &TransferList, lang: Lang) -> String {
    super::render_html(p, t, lang).unwrap_or_else(|e| unreachable!("{e}"))
}

/// The page's text with the entities decoded, to look for facts in it.
fn unescape(html: &str) -> String {
    html.replace("&#60;", "<").replace("&#62;", ">").replace("&#34;", "\"").replace("&#39;", "'").replace("&#38;", "&")
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
        facts.extend(p.purposes.iter().map(|x| x.name.get(lang).to_string()));
        facts.extend(p.recipients.iter().map(|r| r.name.get(lang).to_string()));
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
        assert_eq!(text.matches(&format!("(FR) [{assumed}]")).count(), 2 * countries, "{text}");
        // The controller's address is not invented.
        let address = match lang {
            Lang::Fr => "Adresse postale : [à compléter]",
            Lang::En => "Postal address: [to be completed]",
        };
        assert!(text.contains(address), "{text}");
    }
    let html = render_html(&p, &t, Lang::Fr);
    assert!(html.contains("<time datetime=\"2026-01-01\">1er janvier 2026</time>"), "{html}");
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
        assert!(html.contains("A &#38; B &#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#34;Ltd&#34;"), "{html}");
        assert!(html.contains("<title>"));
        // On the public layout, with the one stylesheet linked (the page is served, not kept).
        assert!(html.contains("<link rel=\"stylesheet\" href=\"/static/vigie.css\">") && !html.contains("<style"));
        assert!(!html.contains(" style="), "no inline style");
        for tag in ["section", "table", "ul", "p", "li", "tr", "nav", "main", "header", "footer", "h3", "strong"] {
            let open = html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
            assert_eq!(open, html.matches(&format!("</{tag}>")).count(), "<{tag}> is balanced");
        }
        let sections = html.matches("<section ").count();
        assert_eq!(sections, 17);
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

/// The section of the text notice whose heading contains `title`, up to the next section.
fn text_section<'a>(text: &'a str, title: &str) -> &'a str {
    let heading = text
        .match_indices("\n## ")
        .map(|(i, _)| i + 1)
        .find(|&i| text[i..].lines().next().is_some_and(|l| l.contains(title)));
    let Some(start) = heading else { unreachable!("no section {title:?} in {text}") };
    let rest = &text[start..];
    &rest[..rest[1..].find("\n## ").map_or(rest.len(), |i| i + 1)]
}

/// Issue 12: what Arts. 13, 14 and 21(4) require and the notice lacked, in plain words, each
/// statement the policy only assumes marked as such.
#[test]
fn the_notice_states_interests_source_provision_and_automated_decisions() {
    let (p, t) = (default_policy(), TransferList::builtin());
    let fr = render_text(&p, &t, Lang::Fr);
    // The legitimate interest of each purpose resting on it, with the kinds it concerns.
    let purposes = text_section(&fr, "Pourquoi nous utilisons vos données");
    assert!(purposes.contains("### Les intérêts légitimes que nous poursuivons"), "{purposes}");
    for (name, interest) in [
        ("« Gestion de la relation prospect (GRP) »", "Faire connaître nos offres et services"),
        ("« Service client » (prospects)", "Répondre aux questions et demandes"),
        ("« Amélioration des services et enquêtes » (clients)", "Améliorer la qualité de nos services"),
        ("« Réalisation d'états statistiques »", "Piloter notre activité"),
    ] {
        let line = purposes.lines().find(|l| l.starts_with(&format!("- **{name}** : {interest}")));
        assert!(line.is_some_and(|l| l.ends_with("[à confirmer]")), "{name}: {purposes}");
    }
    assert!(!purposes.contains("« Organisation d'évènements » :"), "consent is no interest: {purposes}");
    // The source of prospects' data, whether giving data is required, automated decisions.
    let source = text_section(&fr, "D'où viennent vos données");
    assert!(source.contains("Vos données viennent de vous lorsque vous nous les donnez vous-même"), "{source}");
    assert!(source.contains("sources accessibles au public (sites et annuaires professionnels) ou d'une personne qui nous a recommandé de vous contacter. [à confirmer]"), "{source}");
    let provision = text_section(&fr, "Êtes-vous tenu de nous fournir vos données ?");
    assert!(
        provision.contains(
            "sont une exigence contractuelle : sans elles, nous ne pouvons ni conclure ni exécuter ce contrat."
        ),
        "{provision}"
    );
    assert!(provision.contains("[à confirmer]"), "{provision}");
    let automated = text_section(&fr, "Décisions automatisées");
    assert!(
        automated.contains(
            "Nous ne prenons aucune décision fondée exclusivement sur un traitement automatisé, profilage compris"
        ) && automated.contains("[à confirmer]"),
        "{automated}"
    );
    // The rights: restriction and the withdrawal of consent at any time among them.
    let rights = text_section(&fr, "Vos droits");
    assert!(
        rights.contains("- **limitation** : obtenir que nous ne fassions plus que conserver vos données"),
        "{rights}"
    );
    assert!(rights.contains("nous vous informons avant de lever la limitation"), "{rights}");
    assert!(rights.contains("- **retrait du consentement** : retirer à tout moment"), "{rights}");
    assert!(rights.contains("(voir la section « Votre droit de vous opposer »)"), "{rights}");
    let en = render_text(&p, &t, Lang::En);
    assert!(en.contains("- **“Customer service” (prospects)**: Answering the questions and requests of people who contact us before any contract. [to be confirmed]"), "{en}");
    assert!(en.contains("- **restriction**: to have us only store your data"), "{en}");
    assert!(text_section(&en, "Automated decisions").contains("including profiling"), "{en}");

    // Nothing of the policy's plumbing reaches a person: no identifier, no token, no field path.
    for (lang, text) in [(Lang::Fr, &fr), (Lang::En, &en)] {
        assert!(!text.contains('_'), "{lang}: a snake_case token in {text}");
        if lang == Lang::Fr {
            for purpose in &p.purposes {
                assert!(!text.contains(purpose.id.as_str()), "{lang}: {}", purpose.id);
            }
        }
        let html = unescape(&render_html(&p, &t, lang));
        let body = &html[html.find("<main").unwrap_or(0)..];
        assert!(!body.contains("legitimate_interest"), "{body}");
        for path in &p.assumptions {
            assert!(!body.contains(path.as_str()) && !text.contains(path.as_str()), "{lang}: {path}");
        }
    }

    // A policy that does not state them: each is "to be completed", never left out.
    let silent = policy(
        &DEFAULT_POLICY
            .replace("\n[information]\n", "\n[unstated]\n")
            .replace("\nprospect_source = ", "\n# ")
            .replace("\nprovision = ", "\n# ")
            .replace("\nautomated_decisions = ", "\n# ")
            .replace("\n[unstated]\n", "\n")
            .replace("interest = { fr = \"Répondre", "# interest = { fr = \"Répondre")
            .replace("  \"purposes.customer_service.interest\",\n", "")
            .replace("  \"information.prospect_source\",\n", "")
            .replace("  \"information.provision\",\n", "")
            .replace("  \"information.automated_decisions\",\n", ""),
    );
    assert!(silent.information.prospect_source.is_none() && silent.information.automated_decisions.is_none());
    let fr = render_text(&silent, &t, Lang::Fr);
    assert!(
        fr.contains("Lorsque vous ne nous avez pas donné vous-même vos données, leur source : [à compléter]."),
        "{fr}"
    );
    assert!(fr.contains("Si la fourniture de vos données est obligatoire, et ce qu'il advient si vous ne les fournissez pas : [à compléter]."), "{fr}");
    assert!(
        fr.contains("Si nous prenons à votre égard des décisions entièrement automatisées : [à compléter]."),
        "{fr}"
    );
    assert!(fr.contains("- **« Service client » (prospects)** : [à compléter]"), "{fr}");
}

/// Art. 21(4): the right to object is presented clearly and separately, early, with how to
/// exercise it and what the suppression list does.
#[test]
fn the_right_to_object_has_a_section_of_its_own() {
    let (p, t) = (default_policy(), TransferList::builtin());
    let fr = render_text(&p, &t, Lang::Fr);
    let objection = text_section(&fr, "Votre droit de vous opposer");
    assert!(fr.contains("## 4. Votre droit de vous opposer"), "right after the purposes: {fr}");
    for needle in [
        "présenté ici à part de tout le reste, comme le RGPD l'exige (article 21)",
        "- **À la prospection commerciale** : vous pouvez vous opposer à tout moment, sans avoir à vous justifier et sans frais",
        "- **Aux utilisations fondées sur notre intérêt légitime**, à savoir « Gestion de la relation prospect (GRP) » (prospects), « Service client » (prospects), « Amélioration des services et enquêtes » (clients) et « Réalisation d'états statistiques » : vous pouvez vous y opposer à tout moment, pour des raisons tenant à votre situation particulière.",
        "motifs légitimes et impérieux",
        "utilisez le formulaire « Exercer vos droits » de ce site",
        "- par courriel : dpo-msi@racine.eu",
        "- par courrier : DPO MSI, Racine Avocats, 40 rue de Courcelles, 75008 Paris, France",
        "### La liste d'opposition",
        "conservée 3 ans après votre opposition",
    ] {
        assert!(objection.contains(needle), "{needle:?} in {objection}");
    }
    // The page sets it apart, and links the form in the page's language.
    let html = render_html(&p, &t, Lang::Fr);
    assert!(html.contains("<section aria-labelledby=\"objection\" class=\"apart\">"), "{html}");
    assert_eq!(html.matches(" class=\"apart\"").count(), 1);
    assert!(html.contains("<a href=\"/rights?lang=fr\">« Exercer vos droits »</a>"), "{html}");
    let en = render_html(&p, &t, Lang::En);
    assert!(en.contains("<a href=\"/rights?lang=en\">“Exercise your rights”</a>"), "{en}");
    assert!(en.contains("<h2 id=\"objection\">4. Your right to object</h2>"), "{en}");
    // Without a purpose on legitimate interest, only prospecting is named.
    let none = policy(&DEFAULT_POLICY.replace("legitimate_interest", "consent").replace("\ninterest = ", "\n# "));
    let fr = render_text(&none, &t, Lang::Fr);
    let objection = text_section(&fr, "Votre droit de vous opposer");
    assert!(
        objection.contains("À la prospection commerciale") && !objection.contains("intérêt légitime"),
        "{objection}"
    );
    assert!(!fr.contains("Les intérêts légitimes que nous poursuivons"), "{fr}");
}

/// The identity check the notice describes is the one the policy sets (Art. 12(6)).
#[test]
fn the_identity_check_told_is_the_policys() {
    let t = TransferList::builtin();
    let on_doubt = policy(&DEFAULT_POLICY.replace("identity_check = \"document\"", "identity_check = \"on_doubt\""));
    let fr = render_text(&on_doubt, &t, Lang::Fr);
    let exercise = text_section(&fr, "Comment exercer vos droits");
    assert!(
        exercise.contains("qu'en cas de doute raisonnable") && !exercise.contains("être accompagnée d'un justificatif"),
        "{exercise}"
    );
    assert!(
        exercise.contains("Faites votre demande en ligne avec le formulaire « Exercer vos droits » de ce site"),
        "{exercise}"
    );
    let en = render_text(&on_doubt, &t, Lang::En);
    assert!(en.contains("we ask for a proof of identity only when we have reasonable doubts"), "{en}");
}
