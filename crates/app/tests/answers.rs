//! The answers to people, read as the person reads them: every answer rendered at a fixed clock
//! and kept as a snapshot (French, and the access answer in English), with assertions on what it
//! must say; no answer shows an internal id or a snake_case token.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use vigie_app::auth::Principal;
use vigie_app::clock::FixedClock;
use vigie_app::{App, Settings, audit::Actor};
use vigie_store::Id;
use vigie_ui::answers::{internal_tokens, readable_text};

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

struct World {
    app: App,
    clock: Arc<FixedClock>,
    dpo: Principal,
    staff: Principal,
    dir: std::path::PathBuf,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn at(y: i32, m: u32, d: u32) -> R<chrono::DateTime<Utc>> {
    Ok(Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).single().ok_or("date")?)
}

async fn world() -> R<World> {
    let dir = std::env::temp_dir().join(format!("vigie-answers-{}", vigie_store::new_id()));
    let settings = Settings {
        data_dir: dir.clone(),
        database: Arc::new(vigie_store_sqlite::SqliteFile::in_dir(&dir)),
        master_key_file: None,
        policy_file: None,
        transfers_file: None,
        erasure_journal: None,
    };
    let clock = Arc::new(FixedClock::new(at(2026, 1, 12)?));
    let app = App::open_with_clock(&settings, clock.clone())?;
    let dpo = principal(&app, "dpo", None).await?;
    let staff = principal(&app, "staff", None).await?;
    Ok(World { app, clock, dpo, staff, dir })
}

async fn principal(app: &App, role: &str, recipient: Option<&str>) -> R<Principal> {
    let token = app.create_token(Actor::System, role, recipient, None).await?.token;
    Ok(app.authenticate(&token).await?)
}

fn from<T: serde::de::DeserializeOwned>(v: Value) -> R<T> {
    Ok(serde_json::from_value(v)?)
}

impl World {
    async fn subject(&self, v: Value) -> R<Id> {
        Ok(self.app.create_subject(&self.staff, from(v)?).await?.id)
    }

    /// Camille Martin, a client since 2024 under a running contract; her company came from a
    /// third party; one call from her.
    async fn camille(&self) -> R<Id> {
        let id = self
            .subject(json!({"kind":"client","collected_at":"2024-01-10",
                "identity":{"civility":"Mme","first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr",
                            "phone":"+33612345678","company":"Atelier Martin"},
                "field_provenance":{"company":"third_party"}}))
            .await?;
        self.app.add_contract(&self.staff, id, from(json!({"reference":"C-2024-017","start":"2024-01-15"}))?).await?;
        self.app
            .add_interaction(
                &self.staff,
                id,
                from(json!({"at":"2025-06-03T09:30:00Z","direction":"inbound","channel":"phone","summary":"Question sur la facture de mai"}))?,
            )
            .await?;
        Ok(id)
    }

    async fn request(&self, v: Value) -> R<Id> {
        Ok(self.app.create_request(&self.dpo, from(v)?).await?.id)
    }

    async fn verified(&self, id: Id) -> R {
        self.app
            .decide_identity(&self.dpo, id, from(json!({"decision":"verified","document":"national_id_card"}))?)
            .await?;
        Ok(())
    }

    /// Records, verifies and fulfils a request; its answer as JSON.
    async fn fulfilled(&self, v: Value) -> R<(Id, Value)> {
        let id = self.request(v).await?;
        self.verified(id).await?;
        Ok((id, self.app.fulfil_request(&self.dpo, id).await?))
    }

    /// The document the person reads, checked for internal ids and tokens; the snapshot's text.
    async fn document(&self, id: Id) -> R<String> {
        let html = self.app.request_response_html(&self.dpo, id).await?;
        Ok(readable(&html))
    }
}

/// The document, checked: no internal id, no snake_case token, no style attribute, one stylesheet
/// (the ui's, inlined); returned without the stylesheet, for the snapshot.
fn readable(html: &str) -> String {
    let text = readable_text(html);
    let tokens = internal_tokens(&text);
    assert!(tokens.is_empty(), "internal tokens in the text a person reads: {tokens:?}\n{text}");
    assert!(!html.contains("style="), "no style attribute");
    assert_eq!(html.matches("<style>").count(), 1, "the one stylesheet, inlined");
    assert!(html.contains(vigie_ui::STYLESHEET));
    html.replace(vigie_ui::STYLESHEET, "/* vigie.css */")
}

fn access(email: &str, received: &str, lang: &str) -> Value {
    json!({"kind":"access","received_at":received,"channel":"email","lang":lang,
           "requester":{"first_name":"Camille","last_name":"Martin","email":email}})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_answer_says_what_article_15_requires_in_words() -> R {
    let w = world().await?;
    let camille = w.camille().await?;
    // The accountant reads her record for the accounts on 10 February; our staff on 12 February.
    w.clock.set(at(2026, 2, 10)?);
    let accountant = principal(&w.app, "recipient", Some("accountant")).await?;
    w.app.read_subject(&accountant, camille, Some("contract_management")).await?;
    w.clock.set(at(2026, 2, 12)?);
    w.app.read_subject(&w.staff, camille, Some("customer_relations")).await?;

    // Without a consent, the events purpose is not hers: it is not in the answer.
    w.clock.set(at(2026, 3, 2)?);
    let (id, v) = w.fulfilled(access("camille.martin@example.fr", "2026-03-02", "fr")).await?;
    let purposes: Vec<&str> =
        v["purposes"].as_array().ok_or("purposes")?.iter().filter_map(|p| p["id"].as_str()).collect();
    assert!(!purposes.contains(&"events"), "{purposes:?}");
    assert!(purposes.contains(&"customer_relations") && purposes.contains(&"contract_management"), "{purposes:?}");
    assert!(!purposes.contains(&"prospect_relations"), "a prospect's purpose is not a client's: {purposes:?}");
    let text = readable_text(&w.document(id).await?);
    assert!(!text.contains("Organisation d'évènements"), "{text}");

    // With her consent, it is.
    w.app
        .add_consent(
            &w.staff,
            camille,
            from(json!({"purpose":"events","granted":true,"evidence":"Salon Bâtir 2026, bulletin signé"}))?,
        )
        .await?;
    w.clock.set(at(2026, 3, 9)?);
    let (id, v) = w.fulfilled(access("camille.martin@example.fr", "2026-03-09", "fr")).await?;
    let events = v["purposes"].as_array().and_then(|p| p.iter().find(|p| p["id"] == "events")).ok_or("events")?;
    assert_eq!((events["legal_basis"].as_str(), events["in_use"].as_bool()), (Some("consent"), Some(true)));
    // The JSON keeps what the DPO needs by machine: ids and tokens.
    assert_eq!(v["subject"]["id"], camille.to_string());
    assert_eq!(v["data"]["company"]["source"], "third_party");
    assert_eq!(v["recipients"][0]["recipient"], "accountant");
    assert_eq!(v["consultations"][0]["by"], "recipient");
    let html = w.document(id).await?;
    let text = readable_text(&html);
    for expected in [
        "Bonjour Camille Martin,",
        "Vous nous avez adressé le 9 mars 2026 une demande d'accès à vos données",
        "Organisation d'évènements",
        "Base légale : votre consentement.",
        "Base légale : l'exécution du contrat conclu avec vous.",
        // The interest pursued, for a purpose resting on legitimate interest.
        "Intérêt que nous poursuivons : Améliorer la qualité de nos services",
        "Adresse électronique camille.martin@example.fr fournie par vous",
        "Entreprise Atelier Martin obtenue d'un tiers",
        "proviennent de sources accessibles au public",
        "C-2024-017 15 janvier 2024 en cours",
        "Question sur la facture de mai",
        // The recipient by its name, with its country and safeguard (CJEU C-154/21).
        "Expert-comptable (prestataire externe ; identité à compléter) France (pays de l'Espace économique européen",
        // The consultations (CJEU C-579/21): date, purpose, who.
        "10 février 2026 Exécution et suivi de nos contrats Expert-comptable",
        "12 février 2026 Gestion de la relation client (GRC) nos employés",
        "Un contrat est en cours : la durée de conservation commencera à courir à la fin de votre dernier contrat.",
        "puis 5 ans après la fin du dernier",
        "Nous ne prenons aucune décision fondée exclusivement sur un traitement automatisé",
        "Droit à la limitation du traitement",
        "Retrait de votre consentement",
        // How to exercise them.
        "Pour exercer l'un de ces droits, écrivez à notre délégué à la protection des données, à dpo-msi@racine.eu",
        "Commission nationale de l'informatique et des libertés (CNIL)",
        "article 79 du RGPD",
        "dpo-msi@racine.eu",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    assert!(!text.contains(&camille.to_string()) && !text.contains(&id.to_string()));
    insta::assert_snapshot!("access_fr", html);

    // In English on request: the same answer, every word in English.
    w.clock.set(at(2026, 3, 16)?);
    let (id, _) = w.fulfilled(access("camille.martin@example.fr", "2026-03-16", "en")).await?;
    let html = w.document(id).await?;
    let text = readable_text(&html);
    assert!(html.contains("<html lang=\"en\">"));
    for expected in [
        "Dear Camille Martin,",
        "On 16 March 2026 you sent us a request for access to your data",
        "Legal basis: your consent.",
        "Chartered accountant (external provider; identity to be completed)",
        "10 February 2026 Performance and follow-up of our contracts Chartered accountant",
        "our employees",
        "Right to restriction of processing",
        "GDPR Art. 79",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    for french in ["Bonjour", "Base légale", "nos employés", "fournie par vous"] {
        assert!(!text.contains(french), "{french:?} in the English answer:\n{text}");
    }
    insta::assert_snapshot!("access_en", html);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_other_answer_reads_as_a_person_reads_it() -> R {
    let w = world().await?;
    let camille = w.camille().await?;
    let erp = principal(&w.app, "recipient", Some("saas_erp")).await?;
    let sub = principal(&w.app, "recipient", Some("subcontractor")).await?;
    w.app.read_subject(&erp, camille, Some("customer_relations")).await?;
    w.app.read_subject(&sub, camille, Some("service_delivery")).await?;
    w.clock.set(at(2026, 3, 2)?);
    let requester = json!({"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr"});

    // Portability: what she gave us under the contract, explained, and the files to save.
    let (id, v) = w
        .fulfilled(json!({"kind":"portability","received_at":"2026-03-02","channel":"email","requester":requester}))
        .await?;
    assert_eq!(v["data"]["email"], "camille.martin@example.fr");
    assert!(v["data"].get("company").is_none(), "a third party's data is not portable: {v}");
    let html = w.document(id).await?;
    assert!(html.contains("download=\"mes-donnees.csv\" href=\"data:text/csv;charset=utf-8;base64,"));
    let text = readable_text(&html);
    assert!(text.contains("Prénom Camille") && text.contains("JSON (données structurées) et CSV"), "{text}");
    insta::assert_snapshot!("portability_fr", html);

    // Rectification: the fields in words, and the recipients honestly: the ERP is being told,
    // the subcontractor has no address.
    let (id, v) = w
        .fulfilled(json!({"kind":"rectification","received_at":"2026-03-02","channel":"email","requester":requester,
            "particulars":{"changes":{"last_name":"Martin-Roux"}}}))
        .await?;
    assert_eq!(v["recipients"], json!({"queued":["saas_erp"],"unreachable":["subcontractor"]}));
    assert_eq!(v["recipients_notified"], json!(["saas_erp"]));
    let text = readable_text(&w.document(id).await?);
    for expected in [
        "Nom : désormais « Martin-Roux »",
        "ERP en SaaS (prestataire technique ; identité à compléter) : information en cours d'envoi",
        "Sous-traitant (partenaire ; identité à compléter) : nous n'avons pas d'adresse pour l'informer",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    insta::assert_snapshot!("rectification_fr", w.document(id).await?);

    // Restriction, with its ground in words.
    let (id, _) = w
        .fulfilled(json!({"kind":"restriction","received_at":"2026-03-02","channel":"email","requester":requester,
            "particulars":{"restriction_ground":"accuracy_contested"}}))
        .await?;
    let text = readable_text(&w.document(id).await?);
    assert!(text.contains("limité depuis le 2 mars 2026") && text.contains("vous contestez l'exactitude"), "{text}");
    insta::assert_snapshot!("restriction_fr", w.document(id).await?);
    w.app.lift_restriction(&w.dpo, camille, from(json!({"reason":"exactitude vérifiée"}))?).await?;

    // Consent withdrawal: recorded at once, the events purpose refused from then on.
    w.app.add_consent(&w.staff, camille, from(json!({"purpose":"events","granted":true,"evidence":"salon"}))?).await?;
    assert!(w.app.read_subject(&w.staff, camille, Some("events")).await.is_ok());
    let (id, v) = w
        .fulfilled(
            json!({"kind":"consent_withdrawal","received_at":"2026-03-02","channel":"email","requester":requester,
            "particulars":{"purposes":["events"]}}),
        )
        .await?;
    assert_eq!(v["purposes"][0]["was_granted"], true);
    let refused = w.app.read_subject(&w.staff, camille, Some("events")).await;
    assert!(
        matches!(refused, Err(vigie_app::AppError::Refused(ref r)) if r.rule.as_str() == "no_consent"),
        "{refused:?}"
    );
    let text = readable_text(&w.document(id).await?);
    assert!(text.contains("Le retrait de votre consentement a été enregistré le 2 mars 2026"), "{text}");
    insta::assert_snapshot!("withdrawal_fr", w.document(id).await?);

    // Partial erasure of a client under contract: what was erased, what is kept, why and until
    // when, and that the purposes not needed are stopped (they are refused from then on).
    w.app
        .add_consent(&w.staff, camille, from(json!({"purpose":"events","granted":true,"evidence":"salon 2026"}))?)
        .await?;
    let (id, v) = w
        .fulfilled(json!({"kind":"erasure","received_at":"2026-03-02","channel":"letter","requester":requester,
            "particulars":{"ground":"no_longer_necessary"}}))
        .await?;
    assert_eq!((v["partial"].as_bool(), v["contract_running"].as_bool()), (Some(true), Some(true)), "{v}");
    let stopped: Vec<&str> =
        v["stopped"].as_array().ok_or("stopped")?.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(stopped, ["events", "service_improvement"], "{v}");
    for purpose in ["events", "service_improvement"] {
        assert!(w.app.read_subject(&w.staff, camille, Some(purpose)).await.is_err(), "{purpose} stopped");
    }
    assert!(w.app.read_subject(&w.staff, camille, Some("customer_relations")).await.is_ok(), "the contract goes on");
    let text = readable_text(&w.document(id).await?);
    for expected in [
        "à l'exception de celles que la loi nous oblige à conserver",
        "Ce que nous avons effacé",
        "1 échange de notre historique",
        "Nous conservons : Civilité, Prénom, Nom, Adresse électronique, Téléphone et Entreprise.",
        "Un contrat est en cours entre nous",
        "Nous avons cessé d'utiliser vos données pour : Organisation d'évènements et Amélioration des services et enquêtes.",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    insta::assert_snapshot!("erasure_client_fr", w.document(id).await?);

    // Refusal and identity rejection, each with the CNIL and the judicial remedy.
    let id =
        w.request(json!({"kind":"access","received_at":"2026-03-02","channel":"email","requester":requester})).await?;
    w.app
        .refuse_request(
            &w.dpo,
            id,
            from(json!({"ground":"excessive","reason":"Cinquième demande identique depuis janvier."}))?,
        )
        .await?;
    let text = readable_text(&w.document(id).await?);
    for expected in ["excessive", "Cinquième demande identique", "réclamation à la Commission nationale", "article 79"]
    {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    insta::assert_snapshot!("refusal_fr", w.document(id).await?);
    let id =
        w.request(json!({"kind":"access","received_at":"2026-03-02","channel":"email","requester":requester})).await?;
    w.app.decide_identity(&w.dpo, id, from(json!({"decision":"rejected","document":"other"}))?).await?;
    let text = readable_text(&w.document(id).await?);
    assert!(text.contains("pas permis de vérifier") && text.contains("article 79"), "{text}");
    insta::assert_snapshot!("identity_rejected_fr", w.document(id).await?);

    // No data, only once the DPO confirmed that no record concerns the requester.
    let id = w
        .request(json!({"kind":"access","received_at":"2026-03-02","channel":"letter",
            "requester":{"last_name":"Inconnu","email":"inconnu@example.fr"}}))
        .await?;
    w.verified(id).await?;
    assert!(w.app.fulfil_request(&w.dpo, id).await.is_err(), "never 'no data' by default");
    w.app.link_request(&w.dpo, id, from(json!({"subjects":[],"reason":"searched by email and name"}))?).await?;
    let v = w.app.fulfil_request(&w.dpo, id).await?;
    assert_eq!((v["answer"].as_str(), v["subject_found"].as_bool()), (Some("no_data"), Some(false)));
    insta::assert_snapshot!("no_data_fr", w.document(id).await?);

    // A prospect who objected to prospecting: objection, then erasure of everything; the
    // erasure's answer is the one copy (the request keeps only its proof record).
    let hugo = w
        .subject(
            json!({"kind":"prospect","identity":{"first_name":"Hugo","last_name":"Durand","email":"hugo@example.fr"}}),
        )
        .await?;
    let hugo_requester = json!({"first_name":"Hugo","last_name":"Durand","email":"hugo@example.fr"});
    let (id, v) = w
        .fulfilled(json!({"kind":"objection","received_at":"2026-03-02","channel":"email","requester":hugo_requester}))
        .await?;
    assert_eq!(v["suppressed_until"], "2029-03-02");
    let text = readable_text(&w.document(id).await?);
    assert!(text.contains("nous n'utilisons plus vos données pour Gestion de la relation prospect (GRP)"), "{text}");
    insta::assert_snapshot!("objection_fr", w.document(id).await?);
    let id = w
        .request(json!({"kind":"erasure","received_at":"2026-03-02","channel":"email","requester":hugo_requester}))
        .await?;
    w.verified(id).await?;
    let answer = w.app.fulfil_request_answer(&w.dpo, id).await?;
    let html = readable(&vigie_ui::Template::render(&vigie_ui::answers::AnswerDocument::new(&answer))?);
    let text = readable_text(&html);
    assert!(
        text.contains("Toutes vos données ont été effacées le 2 mars 2026") && text.contains("jusqu'au 2 mars 2029"),
        "{text}"
    );
    insta::assert_snapshot!("erasure_prospect_fr", html);
    assert!(w.app.read_subject(&w.staff, hugo, Some("prospect_relations")).await.is_err());
    let proof = readable(&w.app.request_response_html(&w.dpo, id).await?);
    let text = readable_text(&proof);
    assert!(text.contains("La personne concernée a été effacée le 2 mars 2026") && !text.contains("Hugo"), "{text}");
    insta::assert_snapshot!("proof_fr", proof);
    Ok(())
}

/// The extension notice (Art. 12(3)): in the request's language, with the DPO's reasons and the
/// new date in words; so is the notice of a restriction's lift that a request asked for.
#[tokio::test(flavor = "multi_thread")]
async fn messages_about_a_request_are_in_its_language_and_give_their_reasons() -> R {
    let w = world().await?;
    w.clock.set(at(2026, 3, 2)?);
    let outbox = w.dir.join("outbox");
    let transport = vigie_app::outbox::Transport::Directory(vigie_app::outbox::MailDir::open(&outbox)?);
    let from: vigie_app::outbox::Mailbox = "DPO <dpo-msi@racine.eu>".parse()?;
    for (lang, reason) in
        [("fr", "Vos données sont réparties dans trois archives."), ("en", "Your data sits in three archives.")]
    {
        let id = w
            .request(json!({"kind":"access","received_at":"2026-03-02","channel":"email","lang":lang,
                "requester":{"first_name":"Léa","last_name":"Petit","email":format!("lea.{lang}@example.fr")}}))
            .await?;
        w.app.extend_request(&w.dpo, id, from_json(json!({"months":2,"reason":reason}))?).await?;
    }
    // A restriction asked in English: the person is told of its lift in English (Art. 18(3)).
    let lea = w
        .subject(json!({"kind":"prospect","identity":{"first_name":"Léa","last_name":"Petit","email":"lea.lift@example.fr"}}))
        .await?;
    let id = w
        .request(json!({"kind":"restriction","received_at":"2026-03-02","channel":"email","lang":"en",
            "requester":{"email":"lea.lift@example.fr"},"particulars":{"restriction_ground":"accuracy_contested"}}))
        .await?;
    w.verified(id).await?;
    w.app.fulfil_request(&w.dpo, id).await?;
    w.app.lift_restriction(&w.dpo, lea, from_json(json!({"reason":"accuracy checked"}))?).await?;
    let (sent, failed) = w.app.deliver_outbox(&transport, &from).await?;
    assert_eq!((sent, failed), (5, 0), "three notices, and the DPO's two of the tokens made");
    let lift = std::fs::read_dir(&outbox)?
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|m| m.contains("Message-ID: <restriction."))
        .map(|m| body_of(&m))
        .ok_or("the lift notice")?;
    assert!(lift.starts_with("Dear Léa Petit,") && lift.contains("restricted since 2 March 2026"), "{lift}");
    assert!(!lift.contains("Bonjour"), "{lift}");
    let mut bodies: Vec<(String, String)> = std::fs::read_dir(&outbox)?
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|m| m.contains("Message-ID: <request."))
        .map(|m| (m.clone(), body_of(&m)))
        .collect();
    assert_eq!(bodies.len(), 2);
    bodies.sort_by_key(|(m, _)| !m.contains("lea.fr@"));
    let (fr_mail, fr) = &bodies[0];
    assert!(fr_mail.contains("Message-ID: <request.") && fr_mail.contains(".extension@vigie>"), "{fr_mail}");
    assert!(fr_mail.contains("/ response time extended"), "the subject line as it was: {fr_mail}");
    for expected in [
        "Bonjour Léa Petit,",
        "Votre demande du 2 mars 2026",
        "au plus tard le 2 juin 2026",
        "Nos raisons :\nVos données sont réparties dans trois archives.",
        "article 12, paragraphe 3",
    ] {
        assert!(fr.contains(expected), "{expected:?} in:\n{fr}");
    }
    assert!(!fr.contains("Hello"), "{fr}");
    let (_, en) = &bodies[1];
    for expected in [
        "Dear Léa Petit,",
        "Your request of 2 March 2026",
        "by 2 June 2026",
        "Our reasons:\nYour data sits in three archives.",
    ] {
        assert!(en.contains(expected), "{expected:?} in:\n{en}");
    }
    assert!(!en.contains("Bonjour"), "{en}");
    insta::assert_snapshot!("extension_fr", fr);
    insta::assert_snapshot!("extension_en", en);
    Ok(())
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> R<T> {
    from(v)
}

/// The text of a message as a mail client shows it (quoted-printable or base64 decoded).
fn body_of(message: &str) -> String {
    let (head, body) = message.split_once("\r\n\r\n").unwrap_or((message, ""));
    let head = head.to_ascii_lowercase();
    let bytes: Vec<u8> = if head.contains("content-transfer-encoding: base64") {
        let table = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            } as u32)
        };
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
        for v in body.bytes().filter_map(table) {
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    } else if head.contains("content-transfer-encoding: quoted-printable") {
        let joined = body.replace("=\r\n", "");
        let b = joined.as_bytes();
        let (mut out, mut i) = (Vec::new(), 0);
        while i < b.len() {
            let hex = b.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
            match (b[i], hex) {
                (b'=', Some(h)) => {
                    out.push(h);
                    i += 3;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    } else {
        body.as_bytes().to_vec()
    };
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}
