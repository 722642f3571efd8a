//! The console's /console/subjects pages in a real browser (see browser.rs for the driver).
//!
//! On each backend: staff log in, find a subject by email (the form is posted: the address stays
//! out of the URL), open it, choose a purpose and read it; then choose a purpose the policy
//! refuses and see the refusal's rule. With `VIGIE_SCREENSHOTS=1`, it saves
//! `docs/screenshots/subjects.png` and `subject.png`.

use crate::browser::Browser;
use crate::console::user;
use crate::support::{R, Server, backends, camille};

#[test]
fn staff_find_and_read_a_subject_in_a_browser() -> R {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let Some(b) = rt.block_on(Browser::start())? else { return Ok(()) };
    let outcome = (|| -> R {
        for backend in backends() {
            let s = Server::start(backend)?;
            let api = s.token("staff", None)?;
            let id = s.create(&api, camille())?;
            let pw = user(&s, "staff@example.fr", "staff", Some("a password of my own"))?;
            rt.block_on(staff_reads(&b, &s.base, &pw, &id))?;
        }
        Ok(())
    })();
    rt.block_on(async move {
        let _ = b.client.clone().close().await;
        drop(b);
    });
    outcome
}

async fn staff_reads(b: &Browser, base: &str, pw: &str, id: &str) -> R {
    b.login(base, "staff@example.fr", pw).await?;

    // The search: by email, for a purpose; the address is posted, never in the URL.
    b.wait("//nav//a[@href='/console/subjects']").await?.click().await?;
    b.wait("//h1[text()='Personnes']").await?;
    b.wait("//select[@id='search-by']").await?.select_by_value("email").await?;
    b.wait("//input[@id='search-value']").await?.click().await?;
    b.type_text("Camille.Martin@example.fr").await?;
    b.wait("//select[@id='search-purpose']").await?.select_by_value("customer_service").await?;
    b.wait("//form[@action='/console/subjects/search']//button[@type='submit']").await?.click().await?;
    let count = b.wait("//p[@id='results-count']").await?.text().await?;
    assert_eq!(count, "1 personne trouvée pour cette finalité.");
    let url = b.client.current_url().await?;
    assert_eq!(url.path(), "/console/subjects/search");
    assert!(!url.as_str().to_lowercase().contains("camille"), "{url}");
    let main = b.wait("//main").await?.text().await?;
    assert!(main.contains("Camille Martin") && main.contains("Prospect"), "{main}");
    b.screenshot("subjects").await?;

    // The subject: the purpose first, then the read.
    b.wait(&format!("//a[@href='/console/subjects/{id}']")).await?.click().await?;
    b.wait("//label[@for='purpose']").await?;
    let main = b.wait("//main").await?.text().await?;
    assert!(!main.contains("camille.martin@example.fr"), "nothing shown before a purpose");
    b.wait("//select[@id='purpose']").await?.select_by_value("prospect_relations").await?;
    b.wait("//form[contains(@class,'subjects-purpose')]//button").await?.click().await?;
    b.wait("//table[@id='identity']").await?;
    let url = b.client.current_url().await?;
    assert_eq!(url.query(), Some("purpose=prospect_relations"));
    let main = b.wait("//main").await?.text().await?;
    assert!(main.contains("camille.martin@example.fr") && main.contains("Atelier Martin"), "{main}");
    assert!(main.contains("Gestion de la relation prospect"), "{main}");
    b.screenshot("subject").await?;

    // A purpose the policy refuses: the refusal's rule, in words and as the API names it.
    b.wait("//select[@id='purpose']").await?.select_by_value("events").await?;
    b.wait("//form[contains(@class,'subjects-purpose')]//button").await?.click().await?;
    let rule = b.wait("//code[@id='rule-id']").await?.text().await?;
    assert_eq!(rule, "no_consent");
    let refusal = b.wait("//div[@id='rule']").await?.text().await?;
    assert!(refusal.contains("la personne ne l'a pas donné"), "{refusal}");
    let main = b.wait("//main").await?.text().await?;
    assert!(!main.contains("camille.martin@example.fr"), "a refused read shows nothing: {main}");

    b.wait("//form[@action='/logout']/button").await?.click().await?;
    b.wait("//p[@id='login-message']").await?;
    Ok(())
}
