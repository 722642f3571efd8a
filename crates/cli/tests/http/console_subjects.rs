//! `/console/subjects` over plain HTTP (both backends): the search by email, phone and name for a
//! purpose (a POST form: no personal value in a URL), the purpose asked before a subject is read,
//! the rule of a refused purpose (403), the forms recording a subject, a contract, an interaction,
//! a consent and an objection (303 back with the purpose kept), and what each rule refuses: admin
//! and auditor before any lookup, a form without its CSRF token, an unknown or malformed id (one
//! answer), bad input (4xx, the error in words, nothing changed).

use crate::console::{csrf, get, post, session, user};
use crate::support::{R, Server, backends, camille};
use serde_json::Value;

/// A record form with bad input: its path, its fields, and words its error must contain.
type BadForm<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// Every address a page links to or posts to.
fn urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "action=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            out.push(rest.split('"').next().unwrap_or("").to_string());
        }
    }
    out
}

/// Collects the URLs of answers, to check that no personal value ever lands in one.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn page(&mut self, answer: &(u16, String, Option<String>)) {
        self.0.extend(urls(&answer.1));
        self.0.extend(answer.2.clone());
    }

    fn assert_clean(&self) {
        assert!(!self.0.is_empty());
        for u in &self.0 {
            let l = u.to_lowercase();
            for personal in ["@", "camille", "martin", "612345678", "louis"] {
                assert!(!l.contains(personal), "a personal value in a console URL: {u}");
            }
        }
    }
}

/// The text of the element with this id.
fn by_id(html: &str, id: &str) -> String {
    let key = format!("id=\"{id}\"");
    let Some(at) = html.find(&key) else { return String::new() };
    let from = html[at..].find('>').map_or(html.len(), |i| at + i + 1);
    let to = html[from..].find("</").map_or(html.len(), |i| from + i);
    unescape(&html[from..to])
}

/// Text as askama escaped it, read back.
fn unescape(text: &str) -> String {
    text.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The audit entries, through the API (DPO).
fn audit(s: &Server, dpo: &str) -> R<Vec<Value>> {
    let (st, v) = s.get(dpo, "/api/v1/audit?limit=1000", None)?;
    assert_eq!(st, 200, "{v}");
    Ok(v["entries"].as_array().cloned().unwrap_or_default())
}

#[test]
fn staff_find_read_and_record_subjects() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let api = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let id = s.create(&api, camille())?;
        user(&s, "staff@example.fr", "staff", Some("a staff password"))?;
        let ck = session(&s, "staff@example.fr", "a staff password")?;
        let mut seen = Seen::default();

        // The page: a search form posted (never a query string), a purpose chooser, the new subject form.
        let page = get(&s, &ck, "/console/subjects")?;
        assert_eq!(page.0, 200, "{b:?}");
        assert!(page.1.contains(r#"<form method="post" action="/console/subjects/search""#), "{}", page.1);
        assert!(page.1.contains(r#"<select id="search-purpose" name="purpose""#));
        assert!(page.1.contains(r#"<form method="post" action="/console/subjects""#));
        seen.page(&page);
        let token = csrf(&page.1)?;
        let search = |by: &str, value: &str, purpose: &str| {
            post(
                &s,
                &ck,
                "/console/subjects/search",
                &[("csrf", &token), ("by", by), ("value", value), ("purpose", purpose)],
            )
        };

        // Found by email (however written) and by phone (however written), for a purpose.
        let r = search("email", "Camille.Martin@Example.FR", "customer_service")?;
        assert_eq!(r.0, 200, "{}", r.1);
        assert!(r.1.contains(&format!("href=\"/console/subjects/{id}\"")), "{}", r.1);
        assert!(r.1.contains(&format!("href=\"/console/subjects/{id}?purpose=customer_service\"")));
        assert!(r.1.contains("Camille Martin"), "the names the purpose grants");
        assert_eq!(by_id(&r.1, "results-count"), "1 personne trouvée pour cette finalité.");
        seen.page(&r);
        let r = search("phone", "06 12 34 56 78", "customer_service")?;
        assert_eq!(r.0, 200, "{}", r.1);
        assert!(r.1.contains(&format!("href=\"/console/subjects/{id}\"")));
        seen.page(&r);
        let r = search("email", "nobody@example.fr", "customer_service")?;
        assert_eq!((r.0, by_id(&r.1, "results-count").as_str()), (200, "0 personne trouvée pour cette finalité."));
        assert!(!r.1.contains(&id.to_string()));
        // By name (first and last name, through their blind index), however written; a homonym
        // recorded elsewhere is found too, someone else is not.
        let homonym = s.create(
            &api,
            serde_json::json!({"kind":"prospect","identity":{"first_name":"CAMILLE","last_name":"martin"}}),
        )?;
        s.create(
            &api,
            serde_json::json!({"kind":"prospect","identity":{"first_name":"Camille","last_name":"Martinez"}}),
        )?;
        assert!(page.1.contains(r#"<option value="name""#) && page.1.contains(r#"name="first_name""#));
        assert!(page.1.contains(r#"<label for="search-last-name">Nom</label>"#));
        assert!(!page.1.contains("ne sont pas recherchables"), "the page no longer says names are not searchable");
        let by_name = |first: &str, last: &str, purpose: &str| {
            post(
                &s,
                &ck,
                "/console/subjects/search",
                &[
                    ("csrf", &token),
                    ("by", "name"),
                    ("value", ""),
                    ("first_name", first),
                    ("last_name", last),
                    ("purpose", purpose),
                ],
            )
        };
        let r = by_name("  camille ", "MARTIN", "prospect_relations")?;
        assert_eq!(r.0, 200, "{}", r.1);
        assert_eq!(by_id(&r.1, "results-count"), "2 personnes trouvées pour cette finalité.", "{}", r.1);
        assert!(r.1.contains(&format!("href=\"/console/subjects/{id}\"")), "{}", r.1);
        assert!(r.1.contains(&format!("href=\"/console/subjects/{homonym}\"")), "{}", r.1);
        assert!(r.1.contains(r#"value="name" selected"#), "the search kind kept");
        seen.page(&r);
        let r = by_name("Camillé", "Mar-tin", "prospect_relations")?;
        assert_eq!(by_id(&r.1, "results-count"), "0 personne trouvée pour cette finalité.", "another name");
        let r = by_name("Camille", "", "prospect_relations")?;
        assert_eq!(r.0, 400, "a name search needs both parts");
        assert!(by_id(&r.1, "search-error").contains("Choisissez"), "{}", r.1);
        let r = by_name("Camille", "Martin", "contract_management")?;
        assert_eq!((r.0, by_id(&r.1, "rule-id").as_str()), (403, "subject_kind_not_covered"), "purpose-checked");
        let r = by_name("Camille", "---", "prospect_relations")?;
        assert_eq!(r.0, 400, "a name without a letter");

        // A purpose the policy refuses for this subject: the rule, as the API names it, with 403.
        let r = search("email", "camille.martin@example.fr", "contract_management")?;
        assert_eq!(r.0, 403, "{}", r.1);
        assert_eq!(by_id(&r.1, "rule-id"), "subject_kind_not_covered");
        assert!(r.1.contains("cette finalité ne concerne pas ce type de personne"), "{}", r.1);
        assert!(!r.1.contains(&id.to_string()), "a refused search shows no one");
        let (_, api_refusal) =
            s.get(&api, "/api/v1/subjects?email=camille.martin%40example.fr", Some("contract_management"))?;
        assert_eq!(api_refusal["rule"], "subject_kind_not_covered");
        // The API's detail is `rule: sentence`: the page shows the same sentence.
        let detail = api_refusal["detail"].as_str().unwrap_or("");
        assert!(unescape(&r.1).contains(detail.split_once(": ").map_or(detail, |d| d.1)), "{detail}");

        // Bad searches: 400 with the error in words.
        let r = search("email", "not an email", "customer_service")?;
        assert_eq!(r.0, 400, "{}", r.1);
        assert!(by_id(&r.1, "search-error").contains("Adresse électronique"), "{}", r.1);
        let r = search("name", "Martin", "customer_service")?;
        assert_eq!(r.0, 400);
        assert!(by_id(&r.1, "search-error").contains("Choisissez"));
        // A search without the CSRF token: 403, nothing looked up.
        let before = audit(&s, &dpo)?.len();
        let r = post(
            &s,
            &ck,
            "/console/subjects/search",
            &[("by", "email"), ("value", "camille.martin@example.fr"), ("purpose", "customer_service")],
        )?;
        assert_eq!(r.0, 403);
        assert_eq!(audit(&s, &dpo)?.len(), before, "nothing read");

        // The purpose first: nothing looked up, nothing shown.
        let r = get(&s, &ck, &format!("/console/subjects/{id}"))?;
        assert_eq!(r.0, 200);
        assert!(r.1.contains(r#"<select id="purpose" name="purpose""#));
        assert!(!r.1.contains("Camille") && !r.1.contains("record-contract"));
        assert_eq!(audit(&s, &dpo)?.len(), before, "no read before a purpose");
        seen.page(&r);
        // Then the read, audited under the account.
        let path = format!("/console/subjects/{id}?purpose=prospect_relations");
        let r = get(&s, &ck, &path)?;
        assert_eq!(r.0, 200, "{}", r.1);
        assert!(r.1.contains("camille.martin@example.fr") && r.1.contains("Atelier Martin"));
        assert!(r.1.contains("Intérêt légitime"), "the basis of the read");
        seen.page(&r);
        let entries = audit(&s, &dpo)?;
        assert!(
            entries.iter().any(|e| e["action"] == "subject.read"
                && e["subject_id"] == id.as_str()
                && e["purpose"] == "prospect_relations"
                && e["outcome"] == "ok"
                && e["actor"].as_str().is_some_and(|a| a.starts_with("user:"))),
            "{entries:?}"
        );
        // A purpose the policy refuses: the rule, 403, audited as refused; the record forms stay.
        let r = get(&s, &ck, &format!("/console/subjects/{id}?purpose=events"))?;
        assert_eq!(r.0, 403, "{}", r.1);
        assert_eq!(by_id(&r.1, "rule-id"), "no_consent");
        assert!(unescape(&r.1).contains("la personne ne l'a pas donné"), "{}", r.1);
        assert!(!r.1.contains("camille.martin@example.fr"));
        assert!(r.1.contains("record-consent"));
        assert!(audit(&s, &dpo)?.iter().any(|e| e["purpose"] == "events" && e["outcome"] == "refused"));
        // In English on request.
        let r = get(&s, &ck, &format!("/console/subjects/{id}?purpose=events&lang=en"))?;
        assert_eq!(r.0, 403);
        assert!(unescape(&r.1).contains("Read refused by the policy: this purpose rests on consent"), "{}", r.1);
        // An unknown purpose: refused by the policy too; a malformed one: 400.
        let r = get(&s, &ck, &format!("/console/subjects/{id}?purpose=nothing_such"))?;
        assert_eq!((r.0, by_id(&r.1, "rule-id").as_str()), (403, "unknown_purpose"));
        let r = get(&s, &ck, &format!("/console/subjects/{id}?purpose=Bad%20Purpose"))?;
        assert_eq!(r.0, 400, "{}", r.1);
        assert!(by_id(&r.1, "purpose-error").contains("Finalité"));

        // An unknown subject and a malformed id: one answer, nothing about who exists.
        let unknown = get(&s, &ck, &format!("/console/subjects/{}?purpose=prospect_relations", uuid::Uuid::now_v7()))?;
        let malformed = get(&s, &ck, "/console/subjects/not-an-id?purpose=prospect_relations")?;
        assert_eq!((unknown.0, malformed.0), (404, 404));
        assert_eq!(by_id(&unknown.1, "rule"), by_id(&malformed.1, "rule"));
        assert_eq!(by_id(&unknown.1, "rule"), "Aucun dossier ne peut vous être montré à cette référence.");

        // Recording: each form answers 303 back to the page with the purpose kept.
        let page = get(&s, &ck, &path)?;
        let token = csrf(&page.1)?;
        let form = |what: &str, fields: &[(&str, &str)]| {
            let mut all = vec![("csrf", token.as_str()), ("purpose", "customer_service")];
            all.extend_from_slice(fields);
            post(&s, &ck, &format!("/console/subjects/{id}/{what}"), &all)
        };
        let back = |what: &str| Some(format!("/console/subjects/{id}?purpose=customer_service&done={what}"));
        let r = form(
            "interactions",
            &[
                ("at", "2026-01-04T10:30"),
                ("direction", "inbound"),
                ("channel", "phone"),
                ("summary", "called about prices"),
            ],
        )?;
        assert_eq!((r.0, r.2.clone()), (303, back("interaction")), "{}", r.1);
        seen.page(&r);
        let r = get(&s, &ck, &back("interaction").ok_or("")?)?;
        assert_eq!(r.0, 200);
        assert_eq!(by_id(&r.1, "done"), "L'échange est enregistré.");
        assert!(r.1.contains("called about prices") && r.1.contains("de la personne vers nous"));
        seen.page(&r);

        let r = form(
            "consents",
            &[("consent_purpose", "events"), ("granted", "true"), ("evidence", "web form, policy 2026-1")],
        )?;
        assert_eq!((r.0, r.2.clone()), (303, back("consent")), "{}", r.1);
        let r = get(&s, &ck, &format!("/console/subjects/{id}?purpose=events"))?;
        assert_eq!(r.0, 200, "a consent given opens the purpose: {}", r.1);
        let r = form("consents", &[("consent_purpose", "events"), ("granted", "false"), ("evidence", "phone call")])?;
        assert_eq!(r.0, 303);
        let r = get(&s, &ck, &format!("/console/subjects/{id}?purpose=events"))?;
        assert_eq!((r.0, by_id(&r.1, "rule-id").as_str()), (403, "no_consent"), "withdrawn");

        let r = form("objections", &[("objection_purpose", "prospect_relations")])?;
        assert_eq!((r.0, r.2.clone()), (303, back("objection")), "{}", r.1);
        let r = get(&s, &ck, &path)?;
        assert_eq!((r.0, by_id(&r.1, "rule-id").as_str()), (403, "objection"));

        let r = form("contracts", &[("reference", "C-2026-001"), ("start", "2026-01-05"), ("end", "")])?;
        assert_eq!((r.0, r.2.clone()), (303, back("contract")), "{}", r.1);
        let r = get(&s, &ck, &format!("/console/subjects/{id}?purpose=contract_management"))?;
        assert_eq!(r.0, 200, "a contract makes a client: {}", r.1);
        assert!(r.1.contains("C-2026-001") && by_id(&r.1, "kind").starts_with("Client"));

        // Bad input: 4xx, the error in words, the values kept, nothing changed.
        let before = audit(&s, &dpo)?.len();
        let bad: &[BadForm] = &[
            (
                "contracts",
                vec![("reference", "C-2"), ("start", "2026-02-01"), ("end", "2026-01-01")],
                "La fin du contrat est avant son début.",
            ),
            ("contracts", vec![("reference", "C-2"), ("start", "")], "« Début »"),
            (
                "interactions",
                vec![("at", "2099-01-01T10:00"), ("direction", "inbound"), ("channel", "email")],
                "est dans le futur",
            ),
            (
                "interactions",
                vec![("at", "2026-01-01T10:00"), ("direction", "inbound"), ("channel", "Pigeon Post")],
                "« Canal »",
            ),
            (
                "consents",
                vec![("consent_purpose", "customer_service"), ("granted", "true"), ("evidence", "x")],
                "ne repose sur le consentement",
            ),
            ("consents", vec![("consent_purpose", "events"), ("granted", "true"), ("evidence", "")], "« Preuve »"),
            ("consents", vec![("consent_purpose", "events"), ("granted", "maybe"), ("evidence", "x")], "« Décision »"),
            ("objections", vec![("objection_purpose", "nothing_such")], "« Finalité »"),
        ];
        for (what, fields, words) in bad {
            let r = form(what, fields)?;
            assert_eq!(r.0, 400, "{what} {fields:?}: {}", r.1);
            let error = by_id(&r.1, "form-error");
            assert!(error.contains(words), "{what}: {error}");
        }
        let r = form("contracts", &[("reference", "C-kept"), ("start", "2026-02-01"), ("end", "2026-01-01")])?;
        assert!(r.1.contains(r#"value="C-kept""#), "the values typed are kept");
        // Without the CSRF token: 403. On an unknown subject: the unknown answer.
        let r = post(
            &s,
            &ck,
            &format!("/console/subjects/{id}/contracts"),
            &[("reference", "C-3"), ("start", "2026-01-05")],
        )?;
        assert_eq!(r.0, 403);
        let r = post(
            &s,
            &ck,
            &format!("/console/subjects/{}/contracts", uuid::Uuid::now_v7()),
            &[("csrf", &token), ("reference", "C-3"), ("start", "2026-01-05")],
        )?;
        assert_eq!((r.0, by_id(&r.1, "rule")), (404, by_id(&unknown.1, "rule")));
        assert_eq!(audit(&s, &dpo)?.len(), before, "nothing changed by a refused form");
        let (_, v) = s.get(&api, &format!("/api/v1/subjects/{id}"), Some("contract_management"))?;
        assert_eq!(v["contracts"].as_array().map(Vec::len), Some(1));

        // A new subject: 303 to its page, the possible duplicate as a link, no value in the URL.
        let r = post(
            &s,
            &ck,
            "/console/subjects",
            &[
                ("csrf", &token),
                ("kind", "prospect"),
                ("provenance", "provided"),
                ("first_name", "Louis"),
                ("last_name", "Martin"),
                ("email", "Camille.Martin@example.fr"),
                ("phone", ""),
                ("collected_at", "2026-01-02"),
            ],
        )?;
        assert_eq!(r.0, 303, "{}", r.1);
        let to = r.2.clone().ok_or("no location")?;
        assert!(
            to.starts_with("/console/subjects/") && to.contains("created=1") && to.contains(&format!("dups={id}")),
            "{to}"
        );
        seen.page(&r);
        let new_id = to.trim_start_matches("/console/subjects/").split('?').next().unwrap_or("").to_string();
        let r = get(&s, &ck, &to)?;
        assert_eq!(r.0, 200);
        assert!(by_id(&r.1, "created").contains("La personne est enregistrée"));
        assert!(r.1.contains(&format!(r#"<a href="/console/subjects/{id}" class="subject-ref">"#)), "{}", r.1);
        seen.page(&r);
        let r = get(&s, &ck, &format!("/console/subjects/{new_id}?purpose=prospect_relations"))?;
        assert!(r.0 == 200 && r.1.contains("Louis"), "{}", r.1);
        // Bad new subjects: 400, the error in words, the values kept, nothing recorded.
        let before = audit(&s, &dpo)?.len();
        let r = post(&s, &ck, "/console/subjects", &[("csrf", &token), ("kind", "prospect"), ("first_name", "")])?;
        assert_eq!(r.0, 400, "{}", r.1);
        assert!(by_id(&r.1, "new-error").contains("au moins un champ"), "{}", r.1);
        let r = post(
            &s,
            &ck,
            "/console/subjects",
            &[("csrf", &token), ("kind", "prospect"), ("first_name", "Jeanne"), ("email", "not an email")],
        )?;
        assert_eq!(r.0, 400, "{}", r.1);
        assert!(by_id(&r.1, "new-error").contains("Adresse électronique"), "{}", r.1);
        assert!(r.1.contains(r#"value="Jeanne""#));
        let r = post(&s, &ck, "/console/subjects", &[("csrf", &token), ("kind", "martian"), ("first_name", "Jeanne")])?;
        assert_eq!(r.0, 400, "{}", r.1);
        let r = post(&s, &ck, "/console/subjects", &[("kind", "prospect"), ("first_name", "Jeanne")])?;
        assert_eq!(r.0, 403, "no CSRF token");
        assert_eq!(audit(&s, &dpo)?.len(), before, "no subject recorded");

        seen.assert_clean();
    }
    Ok(())
}

#[test]
fn admin_and_auditor_are_refused_before_any_lookup() -> R {
    for b in backends() {
        let s = Server::start(b)?;
        let api = s.token("staff", None)?;
        let dpo = s.token("dpo", None)?;
        let id = s.create(&api, camille())?;
        for role in ["admin", "auditor"] {
            let email = format!("{role}@example.fr");
            user(&s, &email, role, Some("a password of my own"))?;
            let ck = session(&s, &email, "a password of my own")?;
            let home = get(&s, &ck, "/console/")?;
            let token = csrf(&home.1)?;
            assert!(!home.1.contains("href=\"/console/subjects\""), "no entry in the {role}'s navigation");
            let before = audit(&s, &dpo)?.len();
            let known = get(&s, &ck, &format!("/console/subjects/{id}?purpose=prospect_relations"))?;
            let unknown =
                get(&s, &ck, &format!("/console/subjects/{}?purpose=prospect_relations", uuid::Uuid::now_v7()))?;
            assert_eq!((known.0, unknown.0), (403, 403), "{role}");
            assert_eq!(by_id(&known.1, "rule"), by_id(&unknown.1, "rule"), "one answer whatever the subject");
            assert!(!known.1.contains("Camille"));
            assert_eq!(get(&s, &ck, "/console/subjects")?.0, 403);
            let r = post(
                &s,
                &ck,
                "/console/subjects/search",
                &[
                    ("csrf", &token),
                    ("by", "email"),
                    ("value", "camille.martin@example.fr"),
                    ("purpose", "customer_service"),
                ],
            )?;
            assert_eq!(r.0, 403);
            assert!(!r.1.contains(&id));
            let r = post(
                &s,
                &ck,
                &format!("/console/subjects/{id}/contracts"),
                &[("csrf", &token), ("reference", "C"), ("start", "2026-01-05")],
            )?;
            assert_eq!(r.0, 403);
            assert_eq!(audit(&s, &dpo)?.len(), before, "refused before any lookup, nothing recorded");
        }
        // The DPO's account reads through the same purpose step.
        user(&s, "dpo@example.fr", "dpo", Some("a password of my own"))?;
        let ck = session(&s, "dpo@example.fr", "a password of my own")?;
        let r = get(&s, &ck, &format!("/console/subjects/{id}?purpose=customer_service"))?;
        assert_eq!(r.0, 200, "{}", r.1);
        assert!(r.1.contains("camille.martin@example.fr"));
    }
    Ok(())
}
