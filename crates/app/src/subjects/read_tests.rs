//! A read decided on a snapshot is recorded only while the subject is as the snapshot saw it.

use super::*;
use crate::Settings;
use crate::audit::Actor;
use std::sync::Arc;

async fn app() -> std::result::Result<(App, Principal, std::path::PathBuf), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("vigie-reads-{}", new_id()));
    let settings = Settings {
        data_dir: dir.clone(),
        database: Arc::new(vigie_store_sqlite::SqliteFile::in_dir(&dir)),
        master_key_file: None,
        policy_file: None,
        transfers_file: None,
        erasure_journal: None,
    };
    let app = App::open(&settings)?;
    let token = app.create_token(Actor::System, "staff", None, None).await?.token;
    let staff = app.authenticate(&token).await?;
    Ok((app, staff, dir))
}

async fn prospect(app: &App, staff: &Principal) -> std::result::Result<Id, Box<dyn std::error::Error>> {
    let input: NewSubject = serde_json::from_value(serde_json::json!({
        "kind": "prospect",
        "identity": {"first_name": "Camille", "last_name": "Martin", "email": "camille.martin@example.fr"}
    }))?;
    Ok(app.create_subject(staff, input).await?.id)
}

/// The last `subject.read` entry of a subject: its outcome and detail.
async fn last_read(app: &App, id: Id) -> std::result::Result<(String, Option<String>), Box<dyn std::error::Error>> {
    let rows = app.db.read(move |tx| tx.audit_for_subject(id, 0, 1000)).await?;
    let read = rows.into_iter().rev().find(|r| r.action == "subject.read").ok_or("no read entry")?;
    Ok((read.outcome, read.detail))
}

const PURPOSE: &str = "prospect_relations";

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_subject_is_answered_from_the_snapshot() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (app, staff, dir) = app().await?;
    let id = prospect(&app, &staff).await?;
    let snapshot = app.read_snapshot(&staff, id, PURPOSE).await?;
    assert!(matches!(&snapshot, Some((_, Ok(_)))), "the snapshot allows the read");
    let answer = app.record_read(&staff, id, PURPOSE.into(), snapshot).await?;
    let view = answer.ok_or("an answer")??;
    assert_eq!(view.id, id);
    assert!(view.identity.contains_key(&FieldName::Email), "the view is the snapshot's, decrypted");
    assert_eq!(last_read(&app, id).await?.0, "ok");
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_objection_after_the_snapshot_refuses_the_read() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (app, staff, dir) = app().await?;
    let id = prospect(&app, &staff).await?;
    let snapshot = app.read_snapshot(&staff, id, PURPOSE).await?;
    assert!(matches!(&snapshot, Some((_, Ok(_)))), "the snapshot allows the read");
    // The person objects between the snapshot and the record.
    let objection: NewObjection = serde_json::from_value(serde_json::json!({"purpose": PURPOSE}))?;
    app.add_objection(&staff, id, objection).await?;
    let answer = app.record_read(&staff, id, PURPOSE.into(), snapshot).await?;
    let rule = match answer {
        Some(Err(AppError::Refused(r))) => Some(r.rule),
        _ => None,
    };
    assert_eq!(rule, Some(vigie_domain::access::Rule::Objection), "the read is decided again and refused");
    let (outcome, detail) = last_read(&app, id).await?;
    assert_eq!((outcome.as_str(), detail.as_deref()), ("refused", Some("objection")), "the trail says refused");
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erasure_after_the_snapshot_answers_gone() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (app, staff, dir) = app().await?;
    let id = prospect(&app, &staff).await?;
    let snapshot = app.read_snapshot(&staff, id, PURPOSE).await?;
    app.db
        .audited(Actor::System, move |tx, trail| {
            tx.erase_subject(id, "test", trail.at)?;
            Ok(((), trail.record(tx, crate::audit::Entry::new("subject.erase").subject(id))?))
        })
        .await?;
    let answer = app.record_read(&staff, id, PURPOSE.into(), snapshot).await?;
    assert!(matches!(answer, Some(Err(AppError::Gone(_)))), "an erased subject is gone, not read");
    assert_eq!(last_read(&app, id).await?.0, "erased");
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_search_leaves_out_a_subject_erased_after_the_snapshot() -> std::result::Result<(), Box<dyn std::error::Error>>
{
    let (app, staff, dir) = app().await?;
    let (kept, erased) = (prospect(&app, &staff).await?, prospect(&app, &staff).await?);
    let snapshots = vec![
        (kept, app.read_snapshot(&staff, kept, PURPOSE).await?),
        (erased, app.read_snapshot(&staff, erased, PURPOSE).await?),
    ];
    app.db
        .audited(Actor::System, move |tx, trail| {
            tx.erase_subject(erased, "test", trail.at)?;
            Ok(((), trail.record(tx, crate::audit::Entry::new("subject.erase").subject(erased))?))
        })
        .await?;
    let out = app.record_reads(&staff, PURPOSE.into(), snapshots, true).await?;
    assert_eq!(out.len(), 2);
    assert!(matches!(&out[0], Some(Ok(v)) if v.id == kept), "the unchanged match is read");
    assert!(out[1].is_none(), "the erased match is left out, not answered gone");
    assert!(
        app.db.read(move |tx| tx.audit_for_subject(erased, 0, 100)).await?.iter().all(|r| r.action != "subject.read")
    );
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
