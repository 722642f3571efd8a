//! The console's governance pages over plain HTTP, on both backends: the register (Art. 30) and
//! its exports, the audit trail searched and verified, the policy's versions with a revision's
//! changes, notices, Art. 6(4) assessments and activation; who may open each; CSRF on every form.
//! A browser test (Chromium) opens them as an auditor and a DPO and saves their screenshots
//! with `VIGIE_SCREENSHOTS=1`.

use crate::browser::Browser;
use crate::console::{client, csrf, get, post, session, user};
use crate::support::{Backend, R, Server, Smtp, backends, camille, person, tamper};
use fantoccini::Locator;
use serde_json::{Value, json};
use std::path::Path;

const PW: &str = "a long enough password";

/// Whether a page says `text` (askama writes an apostrophe `&#39;`).
fn says(html: &str, text: &str) -> bool {
    html.replace("&#39;", "'").contains(text)
}

/// The rows of a page's table body (between `<tbody>` and `</tbody>`).
fn tbody(html: &str) -> &str {
    let start = html.find("<tbody>").map_or(0, |i| i + 7);
    let end = html[start..].find("</tbody>").map_or(html.len(), |i| start + i);
    &html[start..end]
}

/// How many entries of an action a page of the trail lists.
fn rows_of(html: &str, action: &str) -> usize {
    tbody(html).matches(&format!("<code class=\"ref\">{action}</code>")).count()
}

/// The `href` of the link whose id is `id`, unescaped.
fn link(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag_start = html[..at].rfind("<a ")?;
    let href = html[tag_start..].split("href=\"").nth(1)?.split('"').next()?;
    Some(href.replace("&amp;", "&").replace("&#38;", "&"))
}

/// A download of the console: status, Content-Type, Content-Disposition, body.
fn download(s: &Server, cookie: &str, path: &str) -> R<(u16, String, String, Vec<u8>)> {
    let r = client()?.get(format!("{}{path}", s.base)).header("Cookie", cookie).send()?;
    let header = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (status, kind, disposition) = (r.status().as_u16(), header("content-type"), header("content-disposition"));
    Ok((status, kind, disposition, r.bytes()?.to_vec()))
}

#[test]
fn governance_pages_open_to_their_roles_only() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let mut cookies = Vec::new();
        for role in ["dpo", "auditor", "staff", "admin"] {
            user(&s, &format!("{role}@example.fr"), role, Some(PW))?;
            cookies.push((role, session(&s, &format!("{role}@example.fr"), PW)?));
        }
        for (role, cookie) in &cookies {
            for page in ["/console/register", "/console/register/export.csv", "/console/audit", "/console/policy"] {
                let allowed = match *role {
                    "dpo" => true,
                    "auditor" => page != "/console/policy",
                    _ => false,
                };
                let (st, html, _) = get(&s, cookie, page)?;
                assert_eq!(st, if allowed { 200 } else { 403 }, "{role} on {page} ({b:?})");
                if !allowed {
                    assert!(html.contains("id=\"rule\""), "the refusal names the rule: {html}");
                }
            }
        }
        // No session: sent to /login, whatever the page.
        for page in ["/console/register", "/console/register/export.xlsx", "/console/audit", "/console/policy"] {
            let (st, _, to) = get(&s, "vigie_session=none", page)?;
            assert_eq!((st, to.as_deref()), (303, Some("/login")), "{page}");
        }
        // The policy's forms are the DPO's only, even with the session's own CSRF token.
        for (role, cookie) in &cookies[1..] {
            let (_, home, _) = get(&s, cookie, "/console/")?;
            let token = csrf(&home)?;
            for action in ["activate", "assessments"] {
                let form = [("csrf", token.as_str()), ("confirm", "yes"), ("compatible", "yes"), ("reasoning", "x")];
                let (st, _, _) = post(&s, cookie, &format!("/console/policy/2026-1/{action}"), &form)?;
                assert_eq!(st, 403, "{role} may not {action}");
            }
        }
        // The auditor's navigation names the register and the trail, not the policy.
        let auditor = &cookies[1].1;
        let (_, html, _) = get(&s, auditor, "/console/")?;
        assert!(html.contains("href=\"/console/register\"") && html.contains("href=\"/console/audit\""));
        assert!(!html.contains("href=\"/console/policy\""));
    }
    Ok(())
}

#[test]
fn the_register_within_the_console_and_its_exports() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        s.create(&staff, camille())?;
        user(&s, "auditor@example.fr", "auditor", Some(PW))?;
        let cookie = session(&s, "auditor@example.fr", PW)?;
        let (st, html, _) = get(&s, &cookie, "/console/register")?;
        assert_eq!(st, 200);
        assert!(html.contains("<h1>Registre des activités de traitement</h1>"), "{html}");
        assert!(html.contains("Gestion de la relation client (GRC)"), "the activities' sheets: {html}");
        assert!(html.contains("aria-current=\"page\""), "within the shell");
        assert!(html.contains("<link rel=\"stylesheet\" href=\"/static/vigie.css\">"), "not the standalone copy");
        for ext in ["xlsx", "csv", "json", "html"] {
            assert!(html.contains(&format!("href=\"/console/register/export.{ext}\"")), "{ext} offered");
        }
        let (_, en, _) = get(&s, &cookie, "/console/register?lang=en")?;
        assert!(
            en.contains("<h1>Record of processing activities</h1>") || en.contains("Download the register"),
            "{en}"
        );

        let (st, kind, disp, body) = download(&s, &cookie, "/console/register/export.xlsx?lang=fr")?;
        assert_eq!(st, 200);
        assert_eq!(kind, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        assert!(disp.starts_with("attachment; filename=\"register-") && disp.ends_with(".xlsx\""), "{disp}");
        assert!(body.starts_with(b"PK"), "a zip");
        assert!(body.windows(15).any(|w| w == b"xl/workbook.xml"), "a workbook");

        let (st, kind, disp, body) = download(&s, &cookie, "/console/register/export.csv")?;
        assert_eq!((st, kind.as_str()), (200, "text/csv; charset=utf-8"));
        assert!(disp.ends_with(".csv\""), "{disp}");
        let text = String::from_utf8(body)?;
        let header = text.trim_start_matches('\u{feff}').lines().next().unwrap_or_default().to_string();
        assert!(header.starts_with("Référence,Activité de traitement,"), "the header: {header}");
        assert!(text.contains("Gestion de la relation client (GRC)"));

        let (st, kind, disp, body) = download(&s, &cookie, "/console/register/export.json")?;
        assert_eq!((st, kind.as_str()), (200, "application/json"));
        assert!(disp.ends_with(".json\""), "{disp}");
        let v: Value = serde_json::from_slice(&body)?;
        assert!(v["activities"].as_array().is_some_and(|a| !a.is_empty()), "{v}");
        assert_eq!(v["totals"]["total_subjects"], 1);

        let (st, kind, disp, body) = download(&s, &cookie, "/console/register/export.html")?;
        assert_eq!((st, kind.as_str()), (200, "text/html; charset=utf-8"));
        assert!(disp.ends_with(".html\""), "{disp}");
        let page = String::from_utf8(body)?;
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<style>"), "standalone");

        // English on request.
        let (_, _, disp, body) = download(&s, &cookie, "/console/register/export.csv?lang=en")?;
        assert!(disp.ends_with("-en.csv\""), "{disp}");
        assert!(String::from_utf8(body)?.trim_start_matches('\u{feff}').starts_with("Reference,Processing activity,"));

        // No other format; each reading audited as the auditor's account.
        for bad in ["/console/register/export.pdf", "/console/register/register.csv", "/console/register/export."] {
            assert_eq!(download(&s, &cookie, bad)?.0, 404, "{bad}");
        }
        let dpo = s.token("dpo", None)?;
        let (_, v) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let reads = v["entries"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter(|x| {
                        x["action"] == "register.read" && x["actor"].as_str().is_some_and(|a| a.starts_with("user:"))
                    })
                    .count()
            })
            .unwrap_or_default();
        assert_eq!(reads, 7, "the page twice and five exports: {v}");
    }
    Ok(())
}

#[test]
fn the_audit_trail_searched_paged_and_verified() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let staff = s.token("staff", None)?;
        let a = s.create(&staff, camille())?;
        let h = s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        for _ in 0..3 {
            assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{a}"), Some("prospect_relations"))?.0, 200);
        }
        user(&s, "auditor@example.fr", "auditor", Some(PW))?;
        let cookie = session(&s, "auditor@example.fr", PW)?;
        let (st, html, _) = get(&s, &cookie, "/console/audit")?;
        assert_eq!(st, 200);
        assert!(says(&html, "<h1>Journal d'audit</h1>"), "{html}");
        assert_eq!(rows_of(&html, "subject.create"), 2, "{html}");
        assert_eq!(rows_of(&html, "subject.read"), 3);
        assert!(!html.contains("camille") && !html.contains("Camille"), "no personal value");
        assert!(html.contains("Personne enregistrée<br><code class=\"ref\">subject.create</code>"), "in words: {html}");
        assert!(html.contains("<td>Jeton <code class=\"ref\">token:"), "the actor's kind in words");
        for field in ["action", "actor", "subject", "from", "to", "limit"] {
            assert!(html.contains(&format!("<label for=\"{field}\">")), "{field} labelled");
        }
        assert!(html.contains("<form method=\"get\" action=\"/console/audit\""), "a GET form");

        // By action, exact or by its beginning.
        let (_, html, _) = get(&s, &cookie, "/console/audit?action=subject.read")?;
        assert_eq!((rows_of(&html, "subject.read"), rows_of(&html, "subject.create")), (3, 0));
        let (_, html, _) = get(&s, &cookie, "/console/audit?action=subject.")?;
        assert_eq!((rows_of(&html, "subject.read"), rows_of(&html, "subject.create")), (3, 2));
        // By subject: Hugo's creation only.
        let (_, html, _) = get(&s, &cookie, &format!("/console/audit?subject={h}"))?;
        assert_eq!((rows_of(&html, "subject.create"), rows_of(&html, "subject.read")), (1, 0), "{html}");
        assert!(tbody(&html).contains(&h) && !tbody(&html).contains(&a));
        // By actor: the staff token's entries, not the CLI's nor the account's.
        let dpo = s.token("dpo", None)?;
        let (_, v) = s.get(&dpo, "/api/v1/audit?limit=1000", None)?;
        let actor = v["entries"]
            .as_array()
            .and_then(|e| e.iter().find(|x| x["action"] == "subject.read"))
            .and_then(|x| x["actor"].as_str())
            .ok_or("actor")?
            .to_string();
        let (_, html, _) = get(&s, &cookie, &format!("/console/audit?actor={actor}"))?;
        assert_eq!((rows_of(&html, "subject.create"), rows_of(&html, "subject.read")), (2, 3));
        assert!(!tbody(&html).contains("account.login"), "{html}");
        // By dates: today has them all, a day far ahead none.
        let today = chrono::Utc::now().date_naive();
        let (_, html, _) = get(&s, &cookie, &format!("/console/audit?action=subject.read&from={today}&to={today}"))?;
        assert_eq!(rows_of(&html, "subject.read"), 3);
        let (_, html, _) = get(&s, &cookie, "/console/audit?from=2099-01-01")?;
        assert!(html.contains("Aucune entrée ne correspond à cette recherche."), "{html}");
        // Paged by after/limit: two by two, the next page after the last shown.
        let (_, html, _) = get(&s, &cookie, "/console/audit?action=subject.&limit=2")?;
        assert_eq!(rows_of(&html, "subject.create") + rows_of(&html, "subject.read"), 2);
        let next = link(&html, "next-page").ok_or("a next page")?;
        assert!(next.contains("after=") && next.contains("action=subject.") && next.contains("limit=2"), "{next}");
        let (_, html2, _) = get(&s, &cookie, &next)?;
        assert_eq!(rows_of(&html2, "subject.read"), 2, "{html2}");
        let (_, html3, _) = get(&s, &cookie, &link(&html2, "next-page").ok_or("a third page")?)?;
        assert_eq!(rows_of(&html3, "subject.read"), 1);
        assert!(link(&html3, "next-page").is_none(), "the end of the trail");
        // Bad criteria: said in words, 400.
        for (q, text) in [
            ("subject=camille@example.fr", "n'est pas un identifiant valide"),
            ("subject=42", "n'est pas un identifiant valide"),
            ("from=2026-13-01", "Une date n'est pas valide"),
            ("from=2026-02-01&to=2026-01-01", "La date de début est après la date de fin"),
            ("limit=0", "de 1 à 1000"),
            ("limit=1001", "de 1 à 1000"),
            ("after=x", "nombre entier"),
            ("actor=camille%40example.fr", "caractères non admis"),
        ] {
            let (st, html, _) = get(&s, &cookie, &format!("/console/audit?{q}"))?;
            assert_eq!(st, 400, "{q}");
            assert!(says(&html, text), "{q}: {html}");
        }

        // Verified on demand: intact, with the entries checked and the head.
        assert!(!html.contains("id=\"verify-result\""));
        let (st, html, _) = get(&s, &cookie, "/console/audit?verify=1")?;
        assert_eq!(st, 200);
        assert!(html.contains("La chaîne est intacte"), "{html}");
        let checked = html.split("id=\"verify-checked\">").nth(1).and_then(|x| x.split(' ').next()).ok_or("checked")?;
        assert!(checked.parse::<i64>()? >= 8, "{checked}");
        assert!(html.contains(&format!("entrée n° {checked}")), "the head is the last entry checked: {html}");
        let (_, en, _) = get(&s, &cookie, "/console/audit?verify=1&lang=en")?;
        assert!(en.contains("The chain is intact"), "{en}");
        // Broken: an entry altered behind Vigie's back is found, and said plainly.
        tamper(&s, "UPDATE audit SET action = 'subject.erase' WHERE seq = 3")?;
        let (st, html, _) = get(&s, &cookie, "/console/audit?verify=1")?;
        assert_eq!(st, 200);
        assert!(html.contains("La chaîne est rompue : le journal a été altéré."), "{html}");
        assert!(html.contains("role=\"alert\""));
        assert!(html.contains("entry 3 does not match the chain"), "the first problem: {html}");
    }
    Ok(())
}

#[test]
fn the_policy_page_shows_a_revision_its_notices_and_assessments_and_activates_it() -> R {
    for b in backends() {
        let smtp = Smtp::start()?;
        smtp.refusing.store(true, std::sync::atomic::Ordering::SeqCst);
        let url = format!("smtp://127.0.0.1:{}", smtp.port);
        let s = Server::start_with(b, &["--smtp-url", &url, "--outbox-interval-ms", "100"])?;
        let (staff, dpo) = (s.token("staff", None)?, s.token("dpo", None)?);
        s.create(&staff, camille())?;
        let default = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"))?;
        let newsletter = "\n[[purposes]]\nid = \"newsletter\"\nname = { fr = \"Lettre d'information\", en = \"Newsletter\" }\nbases = { client = \"consent\", prospect = \"consent\" }\ndata_categories = [\"identity\", \"contact\"]\n";
        let next = default
            .replace("version = \"2026-1\"", "version = \"2027-1\"")
            .replace("effective_date = \"2026-01-01\"", "effective_date = \"2099-01-01\"")
            .replace("years = 3", "years = 2")
            + newsletter;
        let (st, v) = s.post(&dpo, "/api/v1/policy/versions", json!({"policy": next}))?;
        assert_eq!(st, 201, "{v}");

        user(&s, "dpo@example.fr", "dpo", Some(PW))?;
        let cookie = session(&s, "dpo@example.fr", PW)?;
        let (st, html, _) = get(&s, &cookie, "/console/policy")?;
        assert_eq!(st, 200);
        assert!(html.contains("Version en vigueur : 2026-1."), "{html}");
        assert!(html.contains("<th scope=\"row\"><a href=\"#v-2027-1\">2027-1</a></th><td>En attente</td>"), "{html}");
        assert!(html.contains("<td>En vigueur</td>"));
        // What changes, in words: the purpose added, the retention changed.
        assert!(html.contains("Finalité <code class=\"ref\">newsletter</code></th><td>Ajouté</td>"), "{html}");
        assert!(html.contains("Consentement (art. 6.1.a RGPD)"), "bases in words: {html}");
        assert!(html.contains("Durée de conservation <code class=\"ref\">prospect</code></th><td>Modifié</td>"));
        assert!(says(&html, "<td>2 ans après le dernier contact à l'initiative de la personne"), "{html}");
        // Its notice: one person to inform, not sent yet.
        let notices = html.split("id=\"notices-2027-1\"").nth(1).ok_or("notices")?;
        assert!(notices.contains("<dt>Personnes à informer</dt><dd>1</dd>"), "{notices}");
        assert!(notices.contains("<dt>Avis envoyés</dt><dd>0</dd>"));
        assert!(notices.contains("<dt>Échecs définitifs</dt><dd>0</dd>"));
        // The assessments it needs.
        assert!(says(&html, "<th scope=\"row\">Lettre d'information</th>"), "{html}");
        assert_eq!(html.matches("<strong>Pas encore analysé</strong>").count(), 2, "{html}");

        let (_, en, _) = get(&s, &cookie, "/console/policy?lang=en")?;
        assert!(en.contains("Version in force: 2026-1.") && en.contains("<td>Added</td>"), "{en}");
        assert!(en.contains("Consent (Art. 6(1)(a) GDPR)") || en.contains("Consent"), "{en}");
        let token = csrf(&html)?;
        // Activation: the confirmation is required, then the service's refusal is said, nothing changes.
        let (st, html, _) = post(&s, &cookie, "/console/policy/2027-1/activate", &[("csrf", &token)])?;
        assert_eq!(st, 400);
        assert!(html.contains("Cochez la case de confirmation"), "{html}");
        let (st, html, _) =
            post(&s, &cookie, "/console/policy/2027-1/activate", &[("csrf", &token), ("confirm", "yes")])?;
        assert_eq!(st, 409);
        assert!(says(&html, "La version ne peut pas être mise en vigueur pour l'instant"), "{html}");
        assert!(html.contains("takes effect on 2099-01-01, not before"), "the rule: {html}");
        let (st, html, _) =
            post(&s, &cookie, "/console/policy/2031-9/activate", &[("csrf", &token), ("confirm", "yes")])?;
        assert_eq!(st, 404);
        assert!(says(&html, "Cette version n'existe pas."));
        let form = [("csrf", token.as_str()), ("change", "all"), ("compatible", "yes"), ("reasoning", "Analyse.")];
        let (st, html, _) = post(&s, &cookie, "/console/policy/2031-9/assessments", &form)?;
        assert_eq!(st, 404);
        assert!(says(&html, "Cette version n'existe pas."));
        // Without the CSRF token, or with another one: 403, nothing done.
        for form in [vec![("confirm", "yes")], vec![("confirm", "yes"), ("csrf", "forged")]] {
            let (st, _, _) = post(&s, &cookie, "/console/policy/2027-1/activate", &form)?;
            assert_eq!(st, 403);
            let (st, _, _) = post(
                &s,
                &cookie,
                "/console/policy/2027-1/assessments",
                &[&form[..], &[("compatible", "yes"), ("reasoning", "Analyse.")]].concat(),
            )?;
            assert_eq!(st, 403);
        }
        tamper(&s, "UPDATE policy_versions SET effective_date = '2026-01-02' WHERE version = '2027-1'")?;
        let (st, html, _) =
            post(&s, &cookie, "/console/policy/2027-1/activate", &[("csrf", &token), ("confirm", "yes")])?;
        assert_eq!(st, 409);
        assert!(html.contains("1 of 1 notices to subjects are not sent yet"), "{html}");

        // The notice goes out.
        smtp.refusing.store(false, std::sync::atomic::Ordering::SeqCst);
        tamper(&s, "UPDATE outbox SET next_attempt_at = created_at")?;
        assert_eq!(smtp.wait_for(1).len(), 1);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, html, _) = get(&s, &cookie, "/console/policy")?;
            if html.contains("<dt>Avis envoyés</dt><dd>1</dd>") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the notice is counted sent: {html}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // Art. 6(4): refused while not assessed; a bad assessment form changes nothing.
        let (st, html, _) =
            post(&s, &cookie, "/console/policy/2027-1/activate", &[("csrf", &token), ("confirm", "yes")])?;
        assert_eq!(st, 409);
        assert!(html.contains("no compatibility assessment (Art. 6(4)) is recorded"), "{html}");
        let url = "/console/policy/2027-1/assessments";
        let (st, html, _) = post(&s, &cookie, url, &[("csrf", &token), ("change", "all"), ("reasoning", "Analyse.")])?;
        assert_eq!(st, 400);
        assert!(html.contains("Choisissez une conclusion"), "{html}");
        let (st, html, _) = post(&s, &cookie, url, &[("csrf", &token), ("change", "all"), ("compatible", "yes")])?;
        assert_eq!(st, 400);
        assert!(html.contains("Le raisonnement est requis"), "{html}");
        let (st, _, _) = post(
            &s,
            &cookie,
            url,
            &[("csrf", &token), ("change", "events/client"), ("compatible", "yes"), ("reasoning", "Analyse.")],
        )?;
        assert_eq!(st, 400, "not a flagged change");
        // Assessed compatible, one by one: 303 back to the page, which says so.
        for change in ["newsletter/client", "newsletter/prospect"] {
            let reasoning = "Même contexte de collecte ; consentement recueilli à part.";
            let (st, _, to) = post(
                &s,
                &cookie,
                url,
                &[("csrf", &token), ("change", change), ("compatible", "yes"), ("reasoning", reasoning)],
            )?;
            assert_eq!((st, to.as_deref()), (303, Some("/console/policy?assessed=1")));
        }
        let (_, html, _) = get(&s, &cookie, "/console/policy?assessed=1")?;
        assert!(says(&html, "L'analyse est enregistrée."));
        assert_eq!(html.matches("<td>Compatible").count(), 2, "{html}");
        assert!(!html.contains("<strong>Pas encore analysé</strong>"));
        // Now in force.
        let (st, _, to) =
            post(&s, &cookie, "/console/policy/2027-1/activate", &[("csrf", &token), ("confirm", "yes")])?;
        assert_eq!((st, to.as_deref()), (303, Some("/console/policy?activated=2027-1")));
        let (_, html, _) = get(&s, &cookie, "/console/policy?activated=2027-1")?;
        assert!(html.contains("La version 2027-1 est désormais en vigueur."), "{html}");
        assert!(html.contains("Version en vigueur : 2027-1."));
        assert!(!html.contains("/console/policy/2027-1/activate"), "nothing left to activate");
        let (_, v) = s.get(&staff, "/api/v1/policy", None)?;
        assert_eq!(v["version"], "2027-1");
        // A version not in force is never said to be.
        let (_, html, _) = get(&s, &cookie, "/console/policy?activated=2026-1")?;
        assert!(!html.contains("désormais en vigueur"));
    }
    Ok(())
}

/// In Chromium: the auditor opens the register and the trail and verifies it; the DPO opens the
/// policy. Screenshots `register.png`, `audit.png` and `policy.png` with `VIGIE_SCREENSHOTS=1`.
#[test]
fn the_governance_pages_in_a_browser() -> R {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let Some(b) = rt.block_on(Browser::start())? else { return Ok(()) };
    let outcome = (|| -> R {
        let s = Server::start(Backend::Sqlite)?;
        let staff = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let a = s.create(&staff, camille())?;
        s.create(&staff, person("Hugo", "hugo@example.fr", "prospect"))?;
        assert_eq!(s.get(&staff, &format!("/api/v1/subjects/{a}"), Some("prospect_relations"))?.0, 200);
        let default = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/default.toml"))?;
        let newsletter = "\n[[purposes]]\nid = \"newsletter\"\nname = { fr = \"Lettre d'information\", en = \"Newsletter\" }\nbases = { client = \"consent\", prospect = \"consent\" }\ndata_categories = [\"identity\", \"contact\"]\n";
        let next = default
            .replace("version = \"2026-1\"", "version = \"2027-1\"")
            .replace("effective_date = \"2026-01-01\"", "effective_date = \"2099-01-01\"")
            .replace("years = 3", "years = 2")
            + newsletter;
        assert_eq!(s.post(&dpo, "/api/v1/policy/versions", json!({"policy": next}))?.0, 201);
        user(&s, "auditor@example.fr", "auditor", Some(PW))?;
        user(&s, "dpo@example.fr", "dpo", Some(PW))?;
        rt.block_on(async {
            login(&b, &s.base, "auditor@example.fr").await?;
            b.wait("//nav//a[@href='/console/register']").await?.click().await?;
            b.wait("//h1[text()='Registre des activités de traitement']").await?;
            b.wait("//a[@href='/console/register/export.xlsx']").await?;
            b.screenshot("register").await?;
            b.wait("//nav//a[@href='/console/audit']").await?.click().await?;
            b.wait("//h1[text()=\"Journal d'audit\"]").await?;
            // A search by keyboard-reachable fields, then the verification.
            b.wait("//input[@id='action']").await?.send_keys("subject.").await?;
            b.wait("//section[@id='search']//button[@type='submit']").await?.click().await?;
            b.wait("//input[@id='action' and @value='subject.']").await?;
            let rows = b.client.find_all(Locator::XPath("//section[@id='entries']//tbody/tr")).await?;
            assert_eq!(rows.len(), 3, "two creations and a read");
            b.wait("//button[@id='verify-button']").await?.click().await?;
            let result = b.wait("//div[@id='verify-result']").await?.text().await?;
            assert!(result.contains("La chaîne est intacte"), "{result}");
            b.screenshot("audit").await?;
            // The policy is not the auditor's.
            b.client.goto(&format!("{}/console/policy", s.base)).await?;
            b.wait("//p[@id='rule']").await?;
            b.wait("//button[text()='Se déconnecter']").await?.click().await?;
            b.wait("//p[@id='login-message']").await?;

            login(&b, &s.base, "dpo@example.fr").await?;
            b.wait("//nav//a[@href='/console/policy']").await?.click().await?;
            b.wait("//h1[text()='Politique de protection des données']").await?;
            b.wait("//section[@id='v-2027-1']").await?;
            b.screenshot("policy").await?;
            b.wait("//button[text()='Se déconnecter']").await?.click().await?;
            b.wait("//p[@id='login-message']").await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        })
    })();
    rt.block_on(async move {
        let _ = b.client.clone().close().await;
        drop(b);
    });
    outcome
}

async fn login(b: &Browser, base: &str, email: &str) -> R {
    b.login(base, email, PW).await
}
