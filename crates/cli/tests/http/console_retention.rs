//! `/console/retention` over plain HTTP (both backends): the plan at a date with its counts by
//! reason, the held subjects apart, the 12-month forecast drawn and tabled, legal holds placed
//! and lifted with their history, and the erasure in two steps (nothing erased without the
//! confirmation, a changed count asked again, a future date refused); each refusal.

use crate::console::{csrf, session, user};
use crate::console_breaches::{get, post};
use crate::support::{R, Server, backends, count};
use serde_json::json;

const PW: &str = "a password of my own";

#[test]
fn the_dpo_plans_holds_and_erases_in_the_console() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        user(&s, "dpo@example.fr", "dpo", Some(PW))?;
        let staff = s.token("staff", None)?;
        let today = chrono::Utc::now().date_naive();
        let prospect = |first: &str, collected: &str| {
            s.create(&staff, json!({"kind":"prospect","collected_at": collected,"identity":{"first_name": first,"email": format!("{first}@example.fr")}}))
        };
        // Prospects are kept 3 years: two due, one held, one ending in two months.
        let anna = prospect("anna", "2020-01-01")?;
        let bruno = prospect("bruno", "2020-02-01")?;
        let felix = prospect("felix", "2020-03-01")?;
        let soon = today.checked_sub_months(chrono::Months::new(34)).ok_or("date")?;
        let chloe = prospect("chloe", &soon.to_string())?;
        let dpo = session(&s, "dpo@example.fr", PW)?;

        let (st, html, _) = get(&s, &dpo, "/console/retention")?;
        assert_eq!(st, 200, "{b:?}");
        let token = csrf(&html)?;
        assert!(html.contains(&format!("value=\"{today}\"")), "the date field defaults to today");
        assert!(
            html.contains("À effacer : leur durée de conservation est écoulée</th><td class=\"n\">3</td>"),
            "{html}"
        );
        assert!(html.contains(&anna) && html.contains(&bruno) && html.contains(&felix) && !html.contains(&chloe));
        assert!(html.contains("fin du dernier contrat") || html.contains("dernier contact venu de la personne"));
        // The forecast: 12 bars drawn, and the same figures in a table.
        assert_eq!(html.matches("<rect ").count(), 12, "{html}");
        assert!(html.contains("role=\"img\"") && html.contains("<title id=\"forecast-svg-title\">"));
        let forecast = html.split("id=\"forecast-table\"").nth(1).ok_or("forecast table")?;
        assert_eq!(forecast.matches("<th scope=\"row\">").count(), 12);
        assert!(forecast.contains("<td class=\"n\">1</td>"), "chloe's month: {forecast}");

        // A date in the past or the future; a wrong date refused.
        let (st, html, _) = get(&s, &dpo, "/console/retention?at=2020-06-01")?;
        assert_eq!(st, 200);
        assert!(html.contains("Personne n'est à effacer à cette date."), "{html}");
        let (st, html, _) = get(&s, &dpo, "/console/retention?at=31/12/2026")?;
        assert_eq!(st, 400);
        assert!(html.contains("La date n'est pas valable"), "{html}");

        // A legal hold placed through the form: held apart, with its history.
        let holds = "SELECT count(*) FROM legal_hold_events";
        let (st, _, _) = post(&s, &dpo, "/console/retention/holds", &[("subject", &felix), ("reason", "contentieux")])?;
        assert_eq!(st, 403, "no CSRF");
        let (st, html, _) =
            post(&s, &dpo, "/console/retention/holds", &[("csrf", &token), ("subject", &felix), ("reason", " ")])?;
        assert_eq!(st, 400);
        assert!(html.contains("Indiquez le motif"), "{html}");
        let (st, html, _) =
            post(&s, &dpo, "/console/retention/holds", &[("csrf", &token), ("subject", "félix"), ("reason", "x")])?;
        assert_eq!(st, 400);
        assert!(html.contains("L'identifiant de la personne n'est pas valable."), "{html}");
        let unknown = uuid::Uuid::now_v7().to_string();
        let (st, _, _) =
            post(&s, &dpo, "/console/retention/holds", &[("csrf", &token), ("subject", &unknown), ("reason", "x")])?;
        assert_eq!(st, 404);
        assert_eq!(count(&s, holds)?, 0, "{b:?}: nothing placed");
        let (st, _, location) = post(
            &s,
            &dpo,
            "/console/retention/holds",
            &[("csrf", &token), ("subject", &felix), ("reason", "Contentieux prud'homal en cours")],
        )?;
        assert_eq!(st, 303);
        assert_eq!(location, Some(format!("/console/retention/holds/{felix}")));
        let (st, html, _) = get(&s, &dpo, &format!("/console/retention/holds/{felix}"))?;
        assert_eq!(st, 200);
        assert!(html.contains("Gel en place depuis le") && html.contains("Contentieux prud'homal en cours"), "{html}");
        assert!(html.contains("Gel placé"), "{html}");
        let (_, html, _) = get(&s, &dpo, "/console/retention")?;
        assert!(
            html.contains("À effacer : leur durée de conservation est écoulée</th><td class=\"n\">2</td>"),
            "{html}"
        );
        assert!(html.contains("Retenues par un gel juridique</th><td class=\"n\">1</td>"), "{html}");
        let held = html.split("id=\"held\"").nth(1).ok_or("held")?;
        assert!(held.contains(&felix) && held.contains("Contentieux prud'homal en cours"), "{held}");
        // Every hold in place is listed, due or not: one on Chloé, whose clock still runs.
        let (st, _, _) = post(
            &s,
            &dpo,
            "/console/retention/holds",
            &[("csrf", &token), ("subject", &chloe), ("reason", "Contrôle fiscal")],
        )?;
        assert_eq!(st, 303);
        let (_, html, _) = get(&s, &dpo, "/console/retention")?;
        let table = |html: &str, id: &str| -> String {
            html.split(&format!("id=\"{id}\""))
                .nth(1)
                .and_then(|t| t.split("</table>").next())
                .unwrap_or("")
                .to_string()
        };
        let listed = table(&html, "holds");
        assert!(listed.contains(&felix) && listed.contains(&chloe), "{listed}");
        assert!(!listed.contains("Contrôle fiscal"), "reasons are read, audited, on each hold's page: {listed}");
        assert!(!table(&html, "held").contains(&chloe), "Chloé is not due");
        let (st, _, location) = get(&s, &dpo, &format!("/console/retention/holds?subject={felix}"))?;
        assert_eq!((st, location), (303, Some(format!("/console/retention/holds/{felix}"))));
        let (st, html, _) = get(&s, &dpo, "/console/retention/holds?subject=f%C3%A9lix")?;
        assert_eq!(st, 400);
        assert!(html.contains("L'identifiant de la personne n'est pas valable."), "{html}");
        for path in [format!("/console/retention/holds/{unknown}"), "/console/retention/holds/nope".to_string()] {
            let (st, _, _) = get(&s, &dpo, &path)?;
            assert_eq!(st, 404, "{path}");
        }
        let (st, html, _) =
            post(&s, &dpo, &format!("/console/retention/holds/{anna}/lift"), &[("csrf", &token), ("reason", "x")])?;
        assert_eq!(st, 409);
        assert!(html.contains("Cette personne n'a pas de gel à lever."), "{html}");

        // The erasure: the first step shows and erases nothing.
        let subjects = "SELECT count(*) FROM subjects";
        assert_eq!(count(&s, subjects)?, 4);
        let at = today.to_string();
        let (st, html, _) = post(&s, &dpo, "/console/retention/apply", &[("csrf", &token), ("at", &at)])?;
        assert_eq!(st, 200);
        assert!(html.contains("2 personnes seront effacées définitivement"), "{html}");
        assert!(html.contains("1 personne retenue à part ne sera pas effacée."), "{html}");
        assert!(html.contains(&anna) && html.contains(&bruno) && !html.contains(&felix));
        assert!(html.contains("name=\"confirmed_count\" value=\"2\""));
        assert_eq!(count(&s, subjects)?, 4, "{b:?}: not without the confirmation");
        // Refused: no CSRF, a count that no longer holds, a bad count, a future date.
        let (st, _, _) = post(&s, &dpo, "/console/retention/apply", &[("at", &at), ("confirmed_count", "2")])?;
        assert_eq!(st, 403);
        let (st, html, _) =
            post(&s, &dpo, "/console/retention/apply", &[("csrf", &token), ("at", &at), ("confirmed_count", "5")])?;
        assert_eq!(st, 409);
        assert!(html.contains("Le nombre de personnes à effacer a changé"), "{html}");
        let (st, _, _) =
            post(&s, &dpo, "/console/retention/apply", &[("csrf", &token), ("at", &at), ("confirmed_count", "deux")])?;
        assert_eq!(st, 400);
        let tomorrow = today.succ_opt().ok_or("date")?.to_string();
        let (st, html, _) = post(
            &s,
            &dpo,
            "/console/retention/apply",
            &[("csrf", &token), ("at", &tomorrow), ("confirmed_count", "2")],
        )?;
        assert_eq!(st, 400);
        assert!(html.contains("une date future est refusée"), "{html}");
        for far in ["9999-12-31", "+10004-12-31", "10004-12-31"] {
            // (Anna and Bruno are due whatever the date; Félix and Chloé are held.)
            let (st, _, _) =
                post(&s, &dpo, "/console/retention/apply", &[("csrf", &token), ("at", far), ("confirmed_count", "2")])?;
            assert_eq!(st, 400, "{far}");
        }
        assert_eq!(count(&s, subjects)?, 4, "{b:?}: nothing erased");
        let (st, html, _) = get(&s, &dpo, "/console/retention?at=9999-12-31")?;
        assert_eq!(st, 200, "the plan looks as far as the last date");
        assert!(
            html.contains("À effacer : leur durée de conservation est écoulée</th><td class=\"n\">2</td>")
                && html.contains("Retenues par un gel juridique</th><td class=\"n\">2</td>"),
            "{html}"
        );
        let (st, _, _) = get(&s, &dpo, "/console/retention?at=%2B10004-12-31")?;
        assert_eq!(st, 400);

        // Confirmed: erased through the API's service, the result shown.
        let (st, _, location) =
            post(&s, &dpo, "/console/retention/apply", &[("csrf", &token), ("at", &at), ("confirmed_count", "2")])?;
        assert_eq!(st, 303);
        let location = location.ok_or("location")?;
        assert_eq!(location, format!("/console/retention?at={at}&erased=2&held=1"));
        let (_, html, _) = get(&s, &dpo, &location)?;
        assert!(
            html.contains("Effacement fait au")
                && html.contains("effacées : 2 personnes ; retenues à part : 1 personne."),
            "{html}"
        );
        assert_eq!(count(&s, subjects)?, 2, "{b:?}");
        assert_eq!(count(&s, "SELECT count(*) FROM erasures")?, 2);
        let (st, _, _) = get(&s, &dpo, &format!("/console/retention/holds/{anna}"))?;
        assert_eq!(st, 410, "an erased subject's hold page");

        // The hold lifted, with its reason, in the history.
        let (st, _, _) = post(
            &s,
            &dpo,
            &format!("/console/retention/holds/{felix}/lift"),
            &[("csrf", &token), ("reason", "Jugement rendu")],
        )?;
        assert_eq!(st, 303);
        let (_, html, _) = get(&s, &dpo, &format!("/console/retention/holds/{felix}"))?;
        assert!(html.contains("Aucun gel juridique en place.") && html.contains("Gel levé"), "{html}");
        assert!(html.contains("Jugement rendu") && html.contains("Contentieux prud'homal en cours"));
        let (_, html, _) = get(&s, &dpo, "/console/retention")?;
        let listed = html.split("id=\"holds\"").nth(1).and_then(|t| t.split("</table>").next()).unwrap_or("");
        assert!(listed.contains(&chloe) && !listed.contains(&felix), "a lifted hold leaves the list: {listed}");

        // Other roles: refused.
        for role in ["staff", "auditor", "admin"] {
            let email = format!("{role}@example.fr");
            user(&s, &email, role, Some(PW))?;
            let c = session(&s, &email, PW)?;
            let (_, home, _) = get(&s, &c, "/console/")?;
            let theirs = csrf(&home)?;
            for path in ["/console/retention".to_string(), format!("/console/retention/holds/{felix}")] {
                let (st, _, _) = get(&s, &c, &path)?;
                assert_eq!(st, 403, "{role} {path}");
            }
            let (st, _, _) =
                post(&s, &c, "/console/retention/apply", &[("csrf", &theirs), ("at", &at), ("confirmed_count", "0")])?;
            assert_eq!(st, 403, "{role}");
            let (st, _, _) =
                post(&s, &c, "/console/retention/holds", &[("csrf", &theirs), ("subject", &felix), ("reason", "x")])?;
            assert_eq!(st, 403, "{role}");
        }
        assert_eq!(count(&s, holds)?, 3, "{b:?}: Félix's hold and its lift, Chloé's; nothing by other roles");
    }
    Ok(())
}
