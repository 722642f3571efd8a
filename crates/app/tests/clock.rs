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
