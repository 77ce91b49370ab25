//! Nothing sensitive is kept: typed reasons and notes are masked like
//! transcripts, DeleteCall takes the notes about the call with it, and on
//! SQLite deleted rows are overwritten rather than left in free pages.

mod common;

use callscore::auth::Role;
use callscore::proto::*;
use common::{Backend, TestApp, spawn_app};

const CARD: &str = "4111 1111 1111 1111";
const PIN: &str = "4821";

/// A scored call of agent `rina`; returns (call id, scorecard id).
async fn scored_call(app: &TestApp, key: &str) -> (String, String) {
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        ..Default::default()
    };
    let turns = [
        (Speaker::Agent, "Good morning, how can I help you?"),
        (Speaker::Customer, "My parcel is late."),
    ];
    common::submit_turns(app, key, metadata, &turns).await
}

async fn typed_secrets_are_masked_and_leave_with_the_call(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let (call_id, scorecard_id) = scored_call(&app, &admin).await;
    let card = app
        .scorecards(&admin)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: scorecard_id.clone(),
        })
        .await
        .expect("card")
        .into_inner()
        .scorecard
        .expect("scorecard");
    let criterion = card.machine_result.expect("machine").criteria[0].clone();
    let check = criterion.checks[0].clone();
    let mut reviews = app.reviews(&admin).await;
    reviews
        .override_check(OverrideCheckRequest {
            scorecard_id: scorecard_id.clone(),
            criterion_id: criterion.criterion_id.clone(),
            check_id: check.check_id.clone(),
            new_outcome: CheckOutcome::NotApplicable as i32,
            reason: format!("customer read card {CARD} aloud, not the agent's fault"),
            ..Default::default()
        })
        .await
        .expect("override");
    reviews
        .add_coaching_note(AddCoachingNoteRequest {
            agent_id: "rina".into(),
            text: format!("She repeated the customer's PIN {PIN} back; never do that"),
            scorecard_id: scorecard_id.clone(),
            ..Default::default()
        })
        .await
        .expect("note about the call");
    reviews
        .add_coaching_note(AddCoachingNoteRequest {
            agent_id: "rina".into(),
            text: "General: slow down the greeting".into(),
            ..Default::default()
        })
        .await
        .expect("general note");

    let events = reviews
        .list_audit_events(ListAuditEventsRequest {
            scorecard_id: scorecard_id.clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    let reason = &events
        .iter()
        .find(|event| event.action == AuditAction::CheckOverridden as i32)
        .expect("override event")
        .reason;
    assert!(!reason.contains("4111"), "{reason}");
    assert!(reason.contains("not the agent's fault"), "{reason}");
    let notes = || async {
        app.reviews(&admin)
            .await
            .list_coaching_notes(ListCoachingNotesRequest {
                agent_id: "rina".into(),
                ..Default::default()
            })
            .await
            .expect("notes")
            .into_inner()
            .notes
    };
    let before = notes().await;
    assert_eq!(before.len(), 2);
    assert!(
        before.iter().all(|note| !note.text.contains(PIN)),
        "{before:?}"
    );

    app.calls(&admin)
        .await
        .delete_call(DeleteCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect("deleted");
    let after = notes().await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].text, "General: slow down the greeting");
    app.stop().await;
}

both_backends!(typed_secrets_are_masked_and_leave_with_the_call);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_rows_are_not_left_readable_in_the_sqlite_file() {
    use sqlx::Connection;
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.key("acme", Role::Admin).await;
    let marker = "ZQXJ-remember-this-unique-phrase";
    let (call_id, scorecard_id) = scored_call(&app, &admin).await;
    app.reviews(&admin)
        .await
        .add_coaching_note(AddCoachingNoteRequest {
            agent_id: "rina".into(),
            text: format!("note {marker}"),
            scorecard_id,
            ..Default::default()
        })
        .await
        .expect("note");
    app.calls(&admin)
        .await
        .delete_call(DeleteCallRequest { call_id })
        .await
        .expect("deleted");
    let url = app.database.url.clone();
    // Everything in the write-ahead log goes into the file, then the file's
    // bytes are searched.
    let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("open");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut connection)
        .await
        .expect("checkpoint");
    connection.close().await.expect("close");
    let path = url.strip_prefix("sqlite://").expect("path");
    for file in [path.to_string(), format!("{path}-wal")] {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let found = bytes
            .windows(marker.len())
            .any(|window| window == marker.as_bytes());
        assert!(!found, "the deleted note is still readable in {file}");
    }
    app.stop().await;
}
