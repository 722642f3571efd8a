//! App services at chosen dates: the clock is injected, nothing sleeps.

use chrono::{NaiveDate, TimeZone, Utc};
use std::sync::Arc;
use vigie_app::clock::{Clock, FixedClock};
use vigie_app::{App, Settings, audit::Actor};

fn settings() -> (Settings, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("vigie-clock-{}", vigie_store::new_id()));
    let s = Settings {
        data_dir: dir.clone(),
        database: Arc::new(vigie_store_sqlite::SqliteFile::in_dir(&dir)),
        master_key_file: None,
        policy_file: None,
        transfers_file: None,
        erasure_journal: None,
    };
    (s, dir)
}

fn request(received: &str) -> Result<vigie_app::rights::NewRequest, serde_json::Error> {
    serde_json::from_value(serde_json::json!({
        "kind": "access", "received_at": received, "channel": "email",
        "requester": {"first_name": "Camille", "last_name": "Martin", "email": "camille.martin@example.fr"}
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn deadlines_follow_the_clock_the_app_runs_on() -> Result<(), Box<dyn std::error::Error>> {
    let (settings, dir) = settings();
    // A Saturday at the end of January: one month later is Saturday 28 February 2026,
    // whose next working day is Monday 2 March.
    let clock = Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).single().ok_or("date")?));
    let app = App::open_with_clock(&settings, clock.clone())?;
    assert_eq!(app.now(), clock.now());
    let token = app.create_token(Actor::System, "dpo", None, None).await?.token;
    let dpo = app.authenticate(&token).await?;

    let refused = app.create_request_from_form(request("2026-02-01")?).await;
    assert!(refused.is_err(), "a request received tomorrow, by the app's clock, is refused");

    let created = app.create_request_from_form(request("2026-01-31")?).await?;
    assert_eq!(created.due_on, NaiveDate::from_ymd_opt(2026, 3, 2).ok_or("date")?);
    assert_eq!((created.days_left, created.overdue), (30, false));

    clock.set(Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).single().ok_or("date")?);
    let later = app.get_request(&dpo, created.id).await?;
    assert_eq!((later.days_left, later.overdue), (-1, true), "a day past the deadline, read at the clock's date");

    // The audit trail is written, and checkpointed, at the clock's time.
    let v = app.verify_audit().await?;
    assert!(v.valid, "{v:?}");
    let cp = app.audit_checkpoint().await?;
    assert_eq!(cp.at, clock.now());
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The default policy as a revision: another version, effective on `date`, with `extra` appended.
fn revision(version: &str, date: &str, extra: &str) -> vigie_app::governance::revisions::NewVersion {
    let text = vigie_domain::policy::DEFAULT_POLICY
        .replace("version = \"2026-1\"", &format!("version = \"{version}\""))
        .replace("effective_date = \"2026-01-01\"", &format!("effective_date = \"{date}\""));
    vigie_app::governance::revisions::NewVersion { policy: format!("{text}{extra}") }
}

const NEWSLETTER: &str = "\n[[purposes]]\nid = \"newsletter\"\nname = { fr = \"Lettre d'information\", en = \"Newsletter\" }\nbases = { client = \"consent\" }\ndata_categories = [\"identity\", \"contact\"]\n";

fn assessment(compatible: bool) -> Result<vigie_app::governance::revisions::NewAssessment, serde_json::Error> {
    serde_json::from_value(serde_json::json!({
        "compatible": compatible,
        "reasoning": "Finalité nouvelle fondée sur un consentement distinct, recueilli avant tout envoi."
    }))
}

/// Art. 6(4): the daily activation leaves a revision that adds a purpose pending until the DPO
/// has assessed it compatible, then puts it into force; one assessed incompatible never is.
#[tokio::test(flavor = "multi_thread")]
async fn a_revision_flagged_for_art_6_4_waits_for_the_dpo_s_assessment() -> Result<(), Box<dyn std::error::Error>> {
    let (settings, dir) = settings();
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).single().ok_or("date");
    let clock = Arc::new(FixedClock::new(at(2026, 6, 1)?));
    let app = App::open_with_clock(&settings, clock.clone())?;
    let token = app.create_token(Actor::System, "dpo", None, None).await?.token;
    let dpo = app.authenticate(&token).await?;
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or("date");

    let up = app.upload_policy(&dpo, revision("2026-2", "2026-07-01", NEWSLETTER)).await?;
    assert_eq!(up.compatibility_assessment_required.len(), 1, "{:?}", up.compatibility_assessment_required);
    assert_eq!(up.compatibility_assessment_required[0].purpose, "newsletter");
    clock.set(at(2026, 7, 2)?);
    assert_eq!(app.activate_due_versions(day(2026, 7, 2)?).await?, None, "not without the assessment");
    assert_eq!(app.policy().version, "2026-1");
    let v = app.assess_revision(&dpo, "2026-2", assessment(true)?).await?;
    assert!(v.missing_assessments.is_empty() && v.assessments.len() == 1 && v.assessments[0].compatible);
    assert_eq!(app.activate_due_versions(day(2026, 7, 2)?).await?.as_deref(), Some("2026-2"));
    assert_eq!(app.policy().version, "2026-2");
    assert!(app.policy().purpose("newsletter").is_some());
    let Err(e) = app.assess_revision(&dpo, "2026-2", assessment(true)?).await else {
        return Err("a version in force is no longer assessed".into());
    };
    assert!(e.to_string().contains("not pending"), "{e}");

    // A wording change needs no assessment: it takes effect on its date.
    let up = app
        .upload_policy(
            &dpo,
            revision("2026-3", "2026-08-01", &NEWSLETTER.replace("Lettre d'information", "Lettre d'actualités")),
        )
        .await?;
    assert!(up.compatibility_assessment_required.is_empty());
    assert_eq!(app.activate_due_versions(day(2026, 8, 1)?).await?.as_deref(), Some("2026-3"));

    // A basis changed and assessed incompatible: the revision never takes effect.
    let changed = NEWSLETTER.replace("bases = { client = \"consent\" }", "bases = { client = \"contract\" }");
    let up = app.upload_policy(&dpo, revision("2026-4", "2026-09-01", &changed)).await?;
    assert_eq!(up.compatibility_assessment_required.len(), 1);
    app.assess_revision(&dpo, "2026-4", assessment(false)?).await?;
    clock.set(at(2026, 9, 2)?);
    assert_eq!(app.activate_due_versions(day(2026, 9, 2)?).await?, None);
    let Err(e) = app.activate_policy(&dpo, "2026-4").await else {
        return Err("an incompatible revision activated".into());
    };
    assert!(e.to_string().contains("assessed as incompatible"), "{e}");
    assert_eq!(app.policy().version, "2026-3");
    let versions = app.policy_versions().await?;
    let blocked = versions.iter().find(|v| v.version == "2026-4").ok_or("version")?;
    assert_eq!(blocked.status.as_str(), "pending");
    assert!(blocked.assessments.iter().all(|a| !a.compatible));
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
