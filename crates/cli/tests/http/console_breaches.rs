//! `/console/breaches` over plain HTTP (both backends): the register with each breach's clock,
//! the form recording a breach, one breach with its phases, the Art. 34 decision, the
//! notification to the CNIL or why there is none, the CNIL draft; each refusal (other roles,
//! missing CSRF, unknown id, invalid input changing nothing). Then the same pages in Chromium.

use crate::browser::Browser;
use crate::console::{csrf, session, user};
use crate::support::{R, Server, backends, count};
use fantoccini::Locator;
use serde_json::json;

const PW: &str = "a password of my own";

/// A page's text with the HTML escapes of quotes and ampersands undone, to read its sentences.
pub(crate) fn unescape(html: String) -> String {
    html.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

pub(crate) fn get(s: &Server, cookie: &str, path: &str) -> R<(u16, String, Option<String>)> {
    let (st, html, location) = crate::console::get(s, cookie, path)?;
    Ok((st, unescape(html), location))
}

pub(crate) fn post(s: &Server, cookie: &str, path: &str, form: &[(&str, &str)]) -> R<(u16, String, Option<String>)> {
    let (st, html, location) = crate::console::post(s, cookie, path, form)?;
    Ok((st, unescape(html), location))
}

/// `datetime-local` text for a time `hours` ago (UTC).
fn hours_ago(hours: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::hours(hours)).format("%Y-%m-%dT%H:%M").to_string()
}

/// The form recording a breach, with the given fields over a valid base.
fn breach_form<'a>(csrf: &'a str, detected: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf", csrf),
        ("detected_at", detected),
        ("nature_confidentiality", "on"),
        ("description", "Un ordinateur portable perdu dans le train"),
        ("category_identity", "on"),
        ("category_contact", "on"),
        ("kind_prospect", "on"),
        ("keys_compromised", "unknown"),
        ("risk", "high"),
    ];
    for (k, v) in extra {
        f.retain(|(key, _)| key != k);
        f.push((k, v));
    }
    f.retain(|(_, v)| !v.is_empty());
    f
}

fn breach_id(location: Option<String>) -> R<String> {
    let l = location.ok_or("no location")?;
    Ok(l.strip_prefix("/console/breaches/").ok_or("not a breach page")?.to_string())
}

#[test]
fn the_dpo_keeps_the_breach_register_in_the_console() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        user(&s, "dpo@example.fr", "dpo", Some(PW))?;
        let staff = s.token("staff", None)?;
        for first in ["Anne", "Bruno"] {
            s.create(&staff, json!({"kind":"prospect","collected_at":"2025-01-01","identity":{"first_name": first,"email": format!("{first}@example.fr")}}))?;
        }
        s.create(&staff, json!({"kind":"client","collected_at":"2025-01-01","identity":{"first_name":"Chloé"}}))?;
        let dpo = session(&s, "dpo@example.fr", PW)?;

        // The empty register and its form.
        let (st, html, _) = get(&s, &dpo, "/console/breaches")?;
        assert_eq!(st, 200, "{b:?}");
        assert!(html.contains("Aucune violation enregistrée."), "{html}");
        assert!(html.contains("Enregistrer une violation") && html.contains("name=\"keys_compromised\""));
        assert!(html.contains("<label for=\"detected_at\">"), "labelled fields");
        let token = csrf(&html)?;
        let detected = hours_ago(30);

        // Refusals change nothing: no CSRF, keys_compromised missing, no scope, risk none without reasons.
        let (st, _, _) = post(&s, &dpo, "/console/breaches", &breach_form("", &detected, &[]))?;
        assert_eq!(st, 403, "no CSRF");
        let (st, html, _) =
            post(&s, &dpo, "/console/breaches", &breach_form(&token, &detected, &[("keys_compromised", "")]))?;
        assert_eq!(st, 400, "{html}");
        assert!(html.contains("Indiquez si les clés qui protègent les données ont été compromises"), "{html}");
        assert!(html.contains("Un ordinateur portable perdu dans le train"), "the form keeps what was typed");
        let (st, html, _) =
            post(&s, &dpo, "/console/breaches", &breach_form(&token, &detected, &[("kind_prospect", "")]))?;
        assert_eq!(st, 400);
        assert!(html.contains("Le périmètre ne nomme aucun critère"), "{html}");
        let (st, html, _) = post(&s, &dpo, "/console/breaches", &breach_form(&token, &detected, &[("risk", "none")]))?;
        assert_eq!(st, 400);
        assert!(html.contains("indiquez pourquoi la CNIL n'est pas notifiée"), "{html}");
        let (st, html, _) = post(&s, &dpo, "/console/breaches", &breach_form(&token, "2999-01-01T00:00", &[]))?;
        assert_eq!(st, 400);
        assert!(html.contains("ne peuvent pas être dans le futur"), "{html}");
        assert_eq!(count(&s, "SELECT count(*) FROM breaches")?, 0, "{b:?}: nothing recorded");

        // Recorded: 303 to its page; the register shows its clock, scope and count.
        let (st, _, location) = post(&s, &dpo, "/console/breaches", &breach_form(&token, &detected, &[]))?;
        assert_eq!(st, 303);
        let id = breach_id(location)?;
        let (st, html, _) = get(&s, &dpo, "/console/breaches")?;
        assert_eq!(st, 200);
        assert!(html.contains(&format!("href=\"/console/breaches/{id}\"")), "{html}");
        assert!(html.contains("41 heures restantes") || html.contains("42 heures restantes"), "{html}");
        assert!(html.contains("Les prospects"), "the scope in words: {html}");
        assert!(html.contains("<td class=\"n\">2</td>"), "two prospects concerned: {html}");
        assert!(html.contains("Un risque élevé") && html.contains("perte de confidentialité"));
        let (_, en, _) = get(&s, &dpo, "/console/breaches?lang=en")?;
        assert!(en.contains("Data breaches") && en.contains("hours left") && en.contains("The prospects"), "{en}");
        assert!(en.contains("A high risk") && en.contains("loss of confidentiality"), "{en}");

        // Its page: facts, clock, count, the Art. 34 state, the link to the CNIL draft.
        let (st, html, _) = get(&s, &dpo, &format!("/console/breaches/{id}"))?;
        assert_eq!(st, 200);
        assert!(html.contains("heures restantes"), "{html}");
        assert!(html.contains("2 personnes (") && html.contains("2 prospects ou contacts"), "{html}");
        assert!(html.contains("l'exemption pour données chiffrées ne s'applique pas"), "{html}");
        assert!(html.contains(&format!("href=\"/console/breaches/{id}/cnil\"")));
        assert!(html.contains("violation enregistrée"), "the first phase");
        let (st, draft, _) = get(&s, &dpo, &format!("/console/breaches/{id}/cnil"))?;
        assert_eq!(st, 200);
        assert!(draft.contains("Projet de notification d'une violation de données personnelles à la CNIL"), "{draft}");
        assert!(draft.contains("Un ordinateur portable perdu dans le train"));
        let (_, draft_en, _) = get(&s, &dpo, &format!("/console/breaches/{id}/cnil?lang=en"))?;
        assert!(!draft_en.contains("Projet de notification"), "the draft in the console's language");

        // Art. 34: the exemption refused (keys unknown), a justification required; nothing changes.
        let subjects = format!("/console/breaches/{id}/subjects");
        let phases = format!("/console/breaches/{id}/phases");
        let (st, html, _) = post(&s, &dpo, &subjects, &[("csrf", &token), ("decision", "confirm_exemption")])?;
        assert_eq!(st, 409, "{html}");
        assert!(html.contains("L'exemption pour données chiffrées ne s'applique pas"), "{html}");
        let (st, html, _) = post(&s, &dpo, &subjects, &[("csrf", &token), ("decision", "measures_taken")])?;
        assert_eq!(st, 400);
        assert!(html.contains("Cette décision doit être justifiée"), "{html}");
        let (st, html, _) = post(&s, &dpo, &subjects, &[("csrf", &token), ("decision", "notify")])?;
        assert_eq!(st, 400, "no consequences nor measures yet: {html}");
        assert!(html.contains("ajoutez-les d'abord par une étape de mise à jour"), "{html}");
        let (st, _, _) = post(&s, &dpo, &subjects, &[("decision", "notify")])?;
        assert_eq!(st, 403, "no CSRF");
        assert_eq!(count(&s, "SELECT count(*) FROM breach_phases")?, 1, "{b:?}: nothing recorded");

        // A phase completes it; the people are informed; the CNIL notified: the clock stops.
        let (st, _, location) = post(
            &s,
            &dpo,
            &phases,
            &[
                ("csrf", &token),
                ("phase", "update"),
                ("details", "Consequences assessed"),
                ("likely_consequences", "Des courriels d'hameçonnage"),
                ("measures", "Mots de passe réinitialisés"),
            ],
        )?;
        assert_eq!(st, 303);
        assert_eq!(location.as_deref(), Some(format!("/console/breaches/{id}").as_str()));
        let (st, _, _) = post(&s, &dpo, &subjects, &[("csrf", &token), ("decision", "notify")])?;
        assert_eq!(st, 303);
        let (_, html, _) = get(&s, &dpo, &format!("/console/breaches/{id}"))?;
        assert!(html.contains("Les personnes concernées sont informées"), "{html}");
        assert!(html.contains("Des courriels d'hameçonnage"), "{html}");
        assert!(html.contains("Consequences assessed"), "the phase");
        let (st, _, _) = post(
            &s,
            &dpo,
            &phases,
            &[("csrf", &token), ("phase", "authority_notified"), ("details", "Dossier CNIL 42")],
        )?;
        assert_eq!(st, 303);
        let (_, html, _) = get(&s, &dpo, &format!("/console/breaches/{id}"))?;
        assert!(html.contains("Délai arrêté : CNIL notifiée le"), "{html}");
        assert!(html.contains("Notifiée à la CNIL"));
        let (st, html, _) =
            post(&s, &dpo, &phases, &[("csrf", &token), ("phase", "authority_notified"), ("details", "again")])?;
        assert_eq!(st, 409);
        assert!(html.contains("La CNIL a déjà été notifiée de cette violation."), "{html}");
        let (st, html, _) = post(&s, &dpo, &phases, &[("csrf", &token), ("phase", "reopened"), ("details", "x")])?;
        assert_eq!(st, 400);
        assert!(html.contains("Choisissez une étape parmi celles proposées."), "{html}");

        // Late: 80 hours ago, notified without reasons is refused, with them it is recorded late.
        let (st, _, location) = post(
            &s,
            &dpo,
            "/console/breaches",
            &breach_form(&token, &hours_ago(80), &[("risk", "risk"), ("scope_all", "on"), ("kind_prospect", "")]),
        )?;
        assert_eq!(st, 303);
        let late = breach_id(location)?;
        let (_, html, _) = get(&s, &dpo, &format!("/console/breaches/{late}"))?;
        assert!(html.contains("en retard de 8 heures") || html.contains("en retard de 7 heures"), "{html}");
        assert!(html.contains("Toutes les personnes enregistrées") && html.contains("3 personnes"), "{html}");
        let late_phases = format!("/console/breaches/{late}/phases");
        let (st, html, _) = post(
            &s,
            &dpo,
            &late_phases,
            &[("csrf", &token), ("phase", "authority_notified"), ("details", "Dossier 43")],
        )?;
        assert_eq!(st, 400);
        assert!(html.contains("une notification tardive doit être accompagnée des motifs du retard"), "{html}");
        let (st, _, _) = post(
            &s,
            &dpo,
            &late_phases,
            &[
                ("csrf", &token),
                ("phase", "authority_notified"),
                ("details", "Dossier 43"),
                ("late_reasons", "Découverte un week-end"),
            ],
        )?;
        assert_eq!(st, 303);
        let (_, html, _) = get(&s, &dpo, &format!("/console/breaches/{late}"))?;
        assert!(html.contains("CNIL notifiée en retard"), "{html}");
        let (_, html, _) = get(&s, &dpo, &format!("/console/breaches/{late}/cnil"))?;
        assert!(html.contains("Découverte un week-end"), "the draft gives the reasons: {html}");

        // Not notified: the risk becomes none with its reasons; the clock stops.
        let (st, _, location) = post(
            &s,
            &dpo,
            "/console/breaches",
            &breach_form(&token, &hours_ago(2), &[("risk", "risk"), ("keys_compromised", "no")]),
        )?;
        assert_eq!(st, 303);
        let none = breach_id(location)?;
        let none_phases = format!("/console/breaches/{none}/phases");
        let (st, html, _) =
            post(&s, &dpo, &none_phases, &[("csrf", &token), ("phase", "update"), ("risk", "none"), ("details", "x")])?;
        assert_eq!(st, 400, "reasons required: {html}");
        let (st, _, _) = post(
            &s,
            &dpo,
            &none_phases,
            &[
                ("csrf", &token),
                ("phase", "update"),
                ("risk", "none"),
                ("details", "Risk reassessed"),
                ("no_notification_reasons", "Le portable était chiffré et retrouvé le jour même"),
            ],
        )?;
        assert_eq!(st, 303);
        let (_, html, _) = get(&s, &dpo, &format!("/console/breaches/{none}"))?;
        assert!(html.contains("Délai arrêté : la CNIL n'est pas notifiée"), "{html}");
        assert!(html.contains("retrouvé le jour même"));
        let (st, html, _) =
            post(&s, &dpo, &format!("/console/breaches/{none}/subjects"), &[("csrf", &token), ("decision", "notify")])?;
        assert_eq!(st, 409);
        assert!(html.contains("Le risque n'est pas élevé"), "{html}");

        // Unknown ids: 404, with or without a well-formed id.
        let unknown = uuid::Uuid::now_v7();
        for path in [
            format!("/console/breaches/{unknown}"),
            "/console/breaches/not-an-id".into(),
            format!("/console/breaches/{unknown}/cnil"),
        ] {
            let (st, html, _) = get(&s, &dpo, &path)?;
            assert_eq!(st, 404, "{path}");
            assert!(html.contains("Cette violation n'existe pas."), "{html}");
        }
        let (st, _, _) = post(
            &s,
            &dpo,
            &format!("/console/breaches/{unknown}/phases"),
            &[("csrf", &token), ("phase", "update"), ("details", "x")],
        )?;
        assert_eq!(st, 404);
        let (st, _, _) = post(
            &s,
            &dpo,
            &format!("/console/breaches/{unknown}/subjects"),
            &[("csrf", &token), ("decision", "notify")],
        )?;
        assert_eq!(st, 404);

        // Other roles: refused, with or without their own CSRF token.
        for role in ["staff", "auditor", "admin"] {
            let email = format!("{role}@example.fr");
            user(&s, &email, role, Some(PW))?;
            let c = session(&s, &email, PW)?;
            let (_, home, _) = get(&s, &c, "/console/")?;
            let theirs = csrf(&home)?;
            for path in [
                "/console/breaches".to_string(),
                format!("/console/breaches/{id}"),
                format!("/console/breaches/{id}/cnil"),
            ] {
                let (st, html, _) = get(&s, &c, &path)?;
                assert_eq!(st, 403, "{role} {path}");
                assert!(html.contains("id=\"rule\""), "{html}");
            }
            let (st, _, _) = post(&s, &c, "/console/breaches", &breach_form(&theirs, &detected, &[]))?;
            assert_eq!(st, 403, "{role}");
            let (st, _, _) = post(&s, &c, &phases, &[("csrf", &theirs), ("phase", "closed"), ("details", "x")])?;
            assert_eq!(st, 403, "{role}");
        }
        assert_eq!(count(&s, "SELECT count(*) FROM breaches")?, 3, "{b:?}");
        let (_, html, _) = get(&s, &dpo, &format!("/console/breaches/{id}"))?;
        assert!(html.contains("id=\"status\">Notifiée à la CNIL</td>"), "no phase closed by another role: {html}");
    }
    Ok(())
}

#[test]
fn a_breach_recorded_in_a_browser() -> R {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let Some(br) = rt.block_on(Browser::start())? else { return Ok(()) };
    let outcome = (|| -> R {
        for b in backends() {
            let s = Server::start(b)?;
            user(&s, "dpo@example.fr", "dpo", Some(PW))?;
            some_people(&s)?;
            rt.block_on(record_a_breach(&br, &s.base))?;
        }
        Ok(())
    })();
    rt.block_on(async move {
        let _ = br.client.clone().close().await;
        drop(br);
    });
    outcome
}

/// Prospects whose retention ends over the next twelve months (32 in all, two already due).
fn some_people(s: &Server) -> R {
    let staff = s.token("staff", None)?;
    let today = chrono::Utc::now().date_naive();
    // Prospects are kept 3 years from their collection without any inbound contact.
    let per_month = [1u32, 3, 2, 5, 1, 0, 4, 2, 6, 3, 1, 2];
    let mut n = 0;
    let mut add = |months_ago: u32| -> R {
        let collected = today.checked_sub_months(chrono::Months::new(months_ago)).ok_or("date")?;
        n += 1;
        s.create(
            staff.as_str(),
            json!({"kind":"prospect","collected_at": collected.to_string(),"identity":{"first_name": format!("P{n}"),"email": format!("p{n}@example.fr")}}),
        )?;
        Ok(())
    };
    for (i, count) in per_month.iter().enumerate() {
        for _ in 0..*count {
            add(36 - i as u32)?;
        }
    }
    add(40)?;
    add(41)?;
    Ok(())
}

async fn record_a_breach(b: &Browser, base: &str) -> R {
    b.login(base, "dpo@example.fr", PW).await?;

    // The register, its form filled in as a person does (the date field by its value).
    b.client.goto(&format!("{base}/console/breaches")).await?;
    b.wait("//h1[text()='Violations de données']").await?;
    let detected = hours_ago(20);
    b.client.execute("document.getElementById('detected_at').value = arguments[0];", vec![json!(detected)]).await?;
    b.wait("//input[@id='nature_confidentiality']").await?.click().await?;
    b.wait("//textarea[@id='description']").await?.click().await?;
    b.type_text("Une clé USB perdue").await?;
    b.wait("//input[@id='category_contact']").await?.click().await?;
    b.wait("//input[@id='kind_prospect']").await?.click().await?;
    b.wait("//input[@id='keys_unknown']").await?.click().await?;
    b.client.find(Locator::XPath("//select[@id='risk']/option[@value='high']")).await?.click().await?;
    b.wait("//textarea[@id='likely_consequences']").await?.click().await?;
    b.type_text("Des messages frauduleux").await?;
    b.wait("//button[text()='Enregistrer la violation']").await?.click().await?;

    // Its page: the clock runs, 52 hours left.
    b.wait("//h1[starts-with(text(), 'Violation constatée le')]").await?;
    let clock = b.wait("//p[@id='clock']").await?.text().await?;
    assert!(clock == "52 heures restantes" || clock == "51 heures restantes", "{clock}");
    let people = b.wait("//td[@id='people']").await?.text().await?;
    assert!(people.starts_with("32 personnes"), "{people}");
    b.screenshot("breach").await?;

    // The register lists it; the CNIL draft opens from its page.
    b.client.goto(&format!("{base}/console/breaches")).await?;
    let row = b.wait("//table[@id='register']/tbody/tr[1]").await?.text().await?;
    assert!(row.contains("heures restantes") && row.contains("32"), "{row}");
    b.screenshot("breaches").await?;
    b.wait("//table[@id='register']/tbody/tr[1]/th/a").await?.click().await?;
    b.wait("//a[@id='cnil-draft']").await?.click().await?;
    b.wait("//h1[starts-with(text(), 'Projet de notification')]").await?;
    let draft = b.wait("//main").await?.text().await?;
    assert!(draft.contains("Une clé USB perdue"), "{draft}");

    // The retention plan with its forecast.
    b.client.goto(&format!("{base}/console/retention")).await?;
    b.wait("//h1[text()='Conservation des données']").await?;
    let bars = b.client.find_all(Locator::XPath("//figure[@class='forecast']//*[local-name()='rect']")).await?;
    assert_eq!(bars.len(), 12);
    let table = b.wait("//table[@id='forecast-table']").await?.text().await?;
    assert!(table.contains("Fin de conservation"), "the chart's figures in a table: {table}");
    // The chart in view for the screenshot.
    b.client.execute("document.getElementById('forecast-title').scrollIntoView();", vec![]).await?;
    b.screenshot("retention").await?;

    // Logout for the next backend.
    b.wait("//button[text()='Se déconnecter']").await?.click().await?;
    b.wait("//p[@id='login-message']").await?;
    Ok(())
}
