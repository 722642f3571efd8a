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

fn decision() -> Result<vigie_app::rights::IdentityDecision, serde_json::Error> {
    serde_json::from_value(serde_json::json!({"decision": "verified", "document": "national_id_card"}))
}

fn day(y: i32, m: u32, d: u32) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("{y}-{m}-{d}"))
}

fn at(y: i32, m: u32, d: u32) -> Result<chrono::DateTime<Utc>, String> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).single().ok_or_else(|| format!("{y}-{m}-{d}"))
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
    // Verified the day it arrived: its clock runs from then on.
    app.decide_identity(&dpo, created.id, decision()?).await?;

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

/// Issue 12.2: while identity information is awaited the clock stands still, and when it runs
/// again the days awaited are added (EDPB Guidelines 01/2022), then the deadline moves to the
/// next working day. Under MSI's clause (`document`, the default policy) the clock runs from
/// receipt until the DPO asks for the document.
#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_clock_adds_the_days_awaited_across_month_ends_holidays_and_twice()
-> Result<(), Box<dyn std::error::Error>> {
    let (settings, dir) = settings();
    let clock = Arc::new(FixedClock::new(at(2026, 1, 31)?));
    let app = App::open_with_clock(&settings, clock.clone())?;
    let token = app.create_token(Actor::System, "dpo", None, None).await?.token;
    let dpo = app.authenticate(&token).await?;
    let scan = b"\x89PNG\r\n\x1a\n a scan".to_vec();

    // Received Saturday 31 January; one month: Saturday 28 February, so Monday 2 March.
    let r = app.create_request_from_form(request("2026-01-31")?).await?;
    assert!(!r.deadline_suspended && r.suspended_since.is_none(), "nobody was asked yet: {r:?}");
    let asked = vigie_app::rights::identity::DocumentAsk::default();
    let r = app.ask_identity_document(&dpo, r.id, asked).await?;
    assert!(r.deadline_suspended && r.suspended_since == Some(day(2026, 1, 31)?), "{r:?}");
    assert_eq!(r.due_on, day(2026, 3, 2)?);
    // Long past its deadline by the calendar, but the clock stood still: not overdue, the days
    // left those of the day it stopped.
    clock.set(at(2026, 4, 15)?);
    let v = app.get_request(&dpo, r.id).await?;
    assert_eq!((v.overdue, v.days_left, v.due_on), (false, 30, day(2026, 3, 2)?), "{v:?}");
    clock.set(at(2026, 2, 20)?);
    // The document arrives on 20 February, across the month's end: 20 days awaited, 28 February
    // + 20 = Friday 20 March.
    let v = app.upload_identity_document(&dpo, r.id, "image/png", scan.clone()).await?;
    assert!(!v.deadline_suspended && v.suspended_since.is_none(), "{v:?}");
    assert_eq!((v.suspended_days, v.due_on, v.first_due_on), (20, day(2026, 3, 20)?, day(2026, 3, 20)?));
    assert_eq!((v.days_left, v.overdue), (28, false));
    // Unreadable: asked again on 10 March, the copy arrives on 17 March: 7 more days, 27 in all,
    // 28 February + 27 = Friday 27 March. Asking twice while awaited keeps the first day.
    clock.set(at(2026, 3, 10)?);
    let ask = serde_json::from_value(serde_json::json!({"doubt": "the copy is unreadable"}))?;
    let v = app.ask_identity_document(&dpo, r.id, ask).await?;
    assert_eq!((v.deadline_suspended, v.suspended_since), (true, Some(day(2026, 3, 10)?)));
    clock.set(at(2026, 3, 12)?);
    let v = app.ask_identity_document(&dpo, r.id, vigie_app::rights::identity::DocumentAsk::default()).await?;
    assert_eq!((v.suspended_since, v.document_requests.len()), (Some(day(2026, 3, 10)?), 3));
    assert_eq!(v.days_left, 10, "frozen on 10 March, 20 March ahead");
    // Extended while suspended: counted from receipt with the days awaited so far (20):
    // 30 April + 20 = Wednesday 20 May; when the clock runs again both deadlines move.
    let ext = serde_json::from_value(serde_json::json!({"months": 2, "reason": "archives"}))?;
    let v = app.extend_request(&dpo, r.id, ext).await?;
    assert_eq!((v.extended, v.due_on), (true, day(2026, 5, 20)?));
    clock.set(at(2026, 3, 17)?);
    let v = app.upload_identity_document(&dpo, r.id, "image/png", scan.clone()).await?;
    assert_eq!((v.suspended_days, v.first_due_on), (27, day(2026, 3, 27)?));
    assert_eq!(v.due_on, day(2026, 5, 27)?, "30 April + 27 days: Wednesday 27 May");
    let v = app.decide_identity(&dpo, r.id, decision()?).await?;
    assert_eq!((v.suspended_days, v.due_on), (27, day(2026, 5, 27)?), "the decision adds nothing more");

    // A resumption that lands on a holiday: received 25 March (one month: Saturday 25 April),
    // 6 days awaited: Friday 1 May, Labour Day, so Monday 4 May.
    clock.set(at(2026, 3, 25)?);
    let h = app.create_request_from_form(request("2026-03-25")?).await?;
    app.ask_identity_document(&dpo, h.id, vigie_app::rights::identity::DocumentAsk::default()).await?;
    clock.set(at(2026, 3, 31)?);
    let v = app.decide_identity(&dpo, h.id, decision()?).await?;
    assert_eq!((v.suspended_days, v.due_on, v.deadline_suspended), (6, day(2026, 5, 4)?, false));

    // The register: overdue first, then the running clocks, then the suspended ones, then the closed.
    clock.set(at(2026, 5, 10)?);
    let waiting = app.create_request_from_form(request("2026-05-10")?).await?;
    app.ask_identity_document(&dpo, waiting.id, vigie_app::rights::identity::DocumentAsk::default()).await?;
    let refused = app.create_request_from_form(request("2026-05-10")?).await?;
    let why = serde_json::from_value(serde_json::json!({"ground": "excessive", "reason": "the tenth this month"}))?;
    app.refuse_request(&dpo, refused.id, why).await?;
    let order: Vec<_> = app.list_requests(&dpo).await?.into_iter().map(|v| v.id).collect();
    assert_eq!(order, vec![h.id, r.id, waiting.id, refused.id], "overdue (4 May), running (27 May), suspended, closed");
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Accounts and sessions at chosen times: idle sessions expire (and are deleted), a generated
/// password must be changed, a disabled account logs in no more, and nothing in the trail
/// names an email or a password.
#[tokio::test(flavor = "multi_thread")]
async fn accounts_and_sessions_follow_the_clock() -> Result<(), Box<dyn std::error::Error>> {
    use vigie_app::accounts::{AccountState, Login};
    let (settings, dir) = settings();
    let clock = Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).single().ok_or("date")?));
    let app = App::open_with_clock(&settings, clock.clone())?;
    let idle = std::time::Duration::from_secs(30 * 60);
    let created = app.create_account_by(Actor::Cli, " Alice.DPO@Example.fr ", "dpo", None).await?;
    let first = created.password.clone().ok_or("a generated password")?;
    let dup = app.create_account_by(Actor::Cli, "alice.dpo@example.fr", "staff", None).await;
    assert!(matches!(dup, Err(vigie_app::AppError::Conflict(_))), "{dup:?}");
    for (email, role) in [("x@example.fr", "recipient"), ("x@example.fr", "root"), ("not-an-email", "dpo")] {
        assert!(matches!(
            app.create_account_by(Actor::Cli, email, role, None).await,
            Err(vigie_app::AppError::Invalid { .. })
        ));
    }
    let short = app.create_account_by(Actor::Cli, "bob@example.fr", "staff", Some("short".into())).await;
    assert!(matches!(short, Err(vigie_app::AppError::Invalid { ref field, .. }) if field == "password"));

    assert!(matches!(app.login("alice.dpo@example.fr", "wrong password!").await?, Login::Refused));
    assert!(matches!(app.login("nobody@example.fr", &first).await?, Login::Refused));
    let Login::Accepted(s) = app.login("ALICE.dpo@example.fr", &first).await? else { return Err("refused".into()) };
    assert!(s.must_change);
    let session = app.session(&s.session, idle).await?.ok_or("a session")?;
    assert!(session.must_change);
    assert_eq!(session.principal.actor().to_string(), format!("user:{}", created.id));
    let bad = app.change_password(&session, &s.session, "not the password", "a new long password").await;
    assert!(matches!(bad, Err(vigie_app::AppError::Invalid { ref field, .. }) if field == "current_password"));
    app.change_password(&session, &s.session, &first, "a new long password").await?;
    let session = app.session(&s.session, idle).await?.ok_or("still logged in")?;
    assert!(!session.must_change);

    // Idle for 29 minutes: still valid (and its clock moves); 31 more: expired and deleted.
    clock.advance(chrono::TimeDelta::minutes(29));
    assert!(app.session(&s.session, idle).await?.is_some());
    clock.advance(chrono::TimeDelta::minutes(31));
    assert!(app.session(&s.session, idle).await?.is_none());
    assert!(app.session(&s.session, std::time::Duration::from_secs(86_400)).await?.is_none(), "deleted");

    // Purged without being asked for, too.
    let Login::Accepted(s2) = app.login("alice.dpo@example.fr", "a new long password").await? else {
        return Err("refused".into());
    };
    clock.advance(chrono::TimeDelta::minutes(31));
    assert_eq!(app.purge_sessions(idle).await?, 1);
    assert!(app.session(&s2.session, std::time::Duration::from_secs(86_400)).await?.is_none());

    // Reset and disable end sessions; a disabled account is refused like a wrong password.
    let Login::Accepted(s3) = app.login("alice.dpo@example.fr", "a new long password").await? else {
        return Err("refused".into());
    };
    let reset = app.reset_password_by(Actor::Cli, created.id).await?;
    assert!(app.session(&s3.session, idle).await?.is_none(), "a reset ends the sessions");
    assert!(matches!(app.login("alice.dpo@example.fr", "a new long password").await?, Login::Refused));
    let Login::Accepted(s4) = app.login("alice.dpo@example.fr", &reset).await? else { return Err("refused".into()) };
    assert!(s4.must_change);
    app.logout(&s4.session).await?;
    assert!(app.session(&s4.session, idle).await?.is_none(), "logged out");
    let Login::Accepted(s5) = app.login("alice.dpo@example.fr", &reset).await? else { return Err("refused".into()) };
    app.disable_account_by(Actor::Cli, created.id).await?;
    assert!(app.session(&s5.session, idle).await?.is_none(), "disabling ends the sessions");
    assert!(matches!(app.login("alice.dpo@example.fr", &reset).await?, Login::Refused));
    let listed = app.list_accounts_by().await?;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].email.as_str(), listed[0].state), ("alice.dpo@example.fr", AccountState::Disabled));

    // The trail names accounts by id only.
    let v = app.verify_audit().await?;
    assert!(v.valid, "{v:?}");
    let token = app.create_token(Actor::System, "auditor", None, None).await?.token;
    let auditor = app.authenticate(&token).await?;
    let entries = app.audit_entries(&auditor, 0, 1000).await?;
    let text = serde_json::to_string(&entries)?;
    for secret in ["alice", "example.fr", "a new long password", first.as_str(), reset.as_str()] {
        assert!(!text.contains(secret), "the trail holds `{secret}`");
    }
    for action in [
        "account.create",
        "account.login",
        "account.login_failed",
        "account.password_change",
        "account.logout",
        "account.reset_password",
        "account.disable",
    ] {
        assert!(text.contains(action), "{action} is audited");
    }
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
