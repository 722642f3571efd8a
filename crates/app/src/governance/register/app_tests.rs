//! The register as the service builds it: the policy versions on record, parsed once.

use super::*;
use crate::Settings;
use std::sync::Arc;
use vigie_store::PolicyVersionRow;

type R<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn app() -> R<(App, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("vigie-register-{}", vigie_store::new_id()));
    let settings = Settings {
        data_dir: dir.clone(),
        database: Arc::new(vigie_store_sqlite::SqliteFile::in_dir(&dir)),
        master_key_file: None,
        policy_file: None,
        transfers_file: None,
        erasure_journal: None,
    };
    Ok((App::open(&settings)?, dir))
}

fn dates(r: &Register) -> Vec<(String, NaiveDate, NaiveDate)> {
    r.activities.iter().map(|a| (a.id.clone(), a.created_on, a.updated_on)).collect()
}

/// A version recorded after a register was built is in the next one (its text parsed, not a
/// parse kept from before), a register built again is the same, and only the versions on record
/// are kept parsed.
#[tokio::test]
async fn the_register_follows_the_versions_on_record() -> R {
    let (app, dir) = app()?;
    let first = app.register_export().await?;
    let again = app.register_export().await?;
    assert_eq!(dates(&first), dates(&again));
    // The same records, but for the counts (each reading is an audit entry more).
    let records = |r: &Register| -> R<serde_json::Value> {
        let mut v = serde_json::to_value(&r.activities)?;
        for a in v.as_array_mut().into_iter().flatten() {
            a.as_object_mut().map(|o| o.remove("counts"));
        }
        Ok(v)
    };
    assert_eq!(records(&first)?, records(&again)?);
    assert_eq!(app.parsed_versions.0.lock().map(|m| m.len()).unwrap_or(0), 1);
    let today = first.generated_at.date_naive();
    assert!(dates(&first).iter().all(|(_, c, _)| *c == today), "{:?}", dates(&first));
    // An older version, the same text under another version number, in force a year before.
    let text = vigie_domain::policy::DEFAULT_POLICY;
    let older = text.replacen("version = \"2026-1\"", "version = \"2025-1\"", 1);
    assert_ne!(older, text, "the default policy's version line");
    let since = first.generated_at - chrono::Duration::days(365);
    let row = PolicyVersionRow {
        version: "2025-1".into(),
        text: older,
        effective_date: since.date_naive(),
        status: PolicyStatus::Superseded,
        uploaded_at: since,
        activated_at: Some(since),
    };
    app.db
        .audited(crate::audit::Actor::System, move |tx, trail| {
            tx.insert_policy_version(&row)?;
            Ok(((), trail.nothing_changed()))
        })
        .await?;
    let after = app.register_export().await?;
    assert!(
        dates(&after).iter().all(|(_, c, u)| *c == since.date_naive() && *u == since.date_naive()),
        "every record dates from the older version now: {:?}",
        dates(&after)
    );
    assert_eq!(app.parsed_versions.0.lock().map(|m| m.len()).unwrap_or(0), 2);
    drop(app);
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
