//! The console's /console/requests pages in a real browser (see browser.rs for the driver): on
//! each backend, the DPO logs in by keyboard, opens the register, opens a request, looks at the
//! identity document, records the identity decision, carries the request out and reads the answer
//! as the person receives it. With `VIGIE_SCREENSHOTS=1`, it saves `docs/screenshots/requests.png`
//! and `request.png`.

use crate::browser::Browser;
use crate::console::user;
use crate::support::{R, Server, backends, camille, dpo_request};
use serde_json::json;

const PW: &str = "a password of my own";

/// A request near its deadline, one past it, and the one the test walks through (its document uploaded).
fn requests(s: &Server) -> R<String> {
    let dpo = s.token("dpo", None)?;
    let staff = s.token("staff", None)?;
    s.create(&staff, camille())?;
    let today = chrono::Utc::now().date_naive();
    for (days, first) in [(45, "Bruno"), (25, "Chloe")] {
        dpo_request(
            s,
            &dpo,
            json!({"kind":"erasure","received_at": (today - chrono::Days::new(days)).to_string(),"channel":"letter",
                   "requester":{"first_name": first,"last_name":"Petit","postal_address":"3 rue des Lilas, 69001 Lyon"}}),
        )?;
    }
    let v = dpo_request(
        s,
        &dpo,
        json!({"kind":"access","received_at": (today - chrono::Days::new(3)).to_string(),"channel":"email",
               "requester":{"first_name":"Camille","last_name":"Martin","email":"camille.martin@example.fr"}}),
    )?;
    let id = v["id"].as_str().ok_or("id")?.to_string();
    let (st, v) = s.send(
        s.http
            .post(format!("{}/api/v1/requests/{id}/identity-document", s.base))
            .bearer_auth(&dpo)
            .header("content-type", "image/png")
            .body(b"\x89PNG\r\n\x1a\n a scan".to_vec()),
    )?;
    assert_eq!(st, 201, "{v}");
    Ok(id)
}

#[test]
fn the_dpo_answers_a_request_in_a_browser() -> R {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let Some(b) = rt.block_on(Browser::start())? else { return Ok(()) };
    let outcome = (|| -> R {
        for backend in backends() {
            let s = Server::start(backend)?;
            user(&s, "dpo@example.fr", "dpo", Some(PW))?;
            let id = requests(&s)?;
            rt.block_on(walk(&b, &s.base, &id))?;
        }
        Ok(())
    })();
    rt.block_on(async move {
        let _ = b.client.clone().close().await;
        drop(b);
    });
    outcome
}

async fn walk(b: &Browser, base: &str, id: &str) -> R {
    b.login(base, "dpo@example.fr", PW).await?;

    // The register, most urgent first; the request opens from its line.
    b.wait("//nav//a[@href='/console/requests']").await?.click().await?;
    b.wait("//h1[text()=\"Demandes d'exercice de droits\"]").await?;
    let first = b.wait("//table[@id='open-requests']/tbody/tr[1]").await?;
    assert_eq!(first.attr("class").await?.as_deref(), Some("overdue"), "the overdue request first");
    assert!(first.text().await?.contains("en retard de"));
    b.screenshot("requests").await?;
    b.wait(&format!("//a[@href='/console/requests/{id}']")).await?.click().await?;
    b.wait("//h1[contains(., 'Accès')]").await?;
    let linked = b.wait("//p[@id='linked']").await?.text().await?;
    assert!(linked.contains("rattachée"), "{linked}");
    let document = b.wait("//p[@id='document']").await?.text().await?;
    assert!(document.contains("détruite dès votre décision"), "{document}");
    b.screenshot("request").await?;

    // The identity decision, by keyboard and pointer as a person would.
    b.wait("//input[@id='decision-verified']").await?.click().await?;
    b.wait("//select[@id='document-kind']/option[@value='passport']").await?.click().await?;
    b.wait("//button[text()='Enregistrer la décision']").await?.click().await?;
    // Each wait names what the new page says: the old page's elements would match too early.
    b.wait("//p[@id='done' and text()=\"La décision sur l'identité est enregistrée.\"]").await?;
    let decision = b.wait("//p[@id='decision']").await?.text().await?;
    assert!(decision.contains("Identité vérifiée") && decision.contains("passeport"), "{decision}");
    let document = b.wait("//p[@id='document']").await?.text().await?;
    assert!(document.contains("a été détruite"), "the document is gone: {document}");

    // Carried out; the answer as the person reads it.
    b.wait("//button[text()='Exécuter et répondre']").await?.click().await?;
    b.wait("//p[@id='done' and text()='La demande est exécutée ; la réponse est prête.']").await?;
    assert!(b.wait("//dd[@id='status']").await?.text().await?.contains("Traitée"));
    b.wait("//a[@id='read-answer']").await?.click().await?;
    let body = b.wait("//body[contains(., 'camille.martin@example.fr')]").await?.text().await?;
    assert!(body.contains("Vos données"), "{body}");
    assert_eq!(b.client.current_url().await?.path(), format!("/console/requests/{id}/answer"));
    Ok(())
}
