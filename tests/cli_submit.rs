//! `callscore submit` with a transcript: the JSON that `transcribe` writes
//! (docs/transcript-json.md) is submitted with SubmitTranscript and scored at
//! once, with the call's start time from `--started`; bad input names the
//! file or the flag.

mod common;

use callscore::auth::Role;
use common::{Backend, callscore_client as callscore, spawn_app, stdout_json as json};

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/samples/demo/good-delivery.json"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcript_is_submitted_and_scored_with_its_start_time() {
    let app = spawn_app(Backend::Sqlite).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    // Reading the scorecard (--wait) takes more than an ingest key.
    let admin = app.key("acme", Role::Admin).await;

    let submitted = json(&callscore(
        &app,
        &ingest,
        &[
            "submit",
            DEMO,
            "--agent",
            "rina",
            "--team",
            "blue",
            "--started",
            "2026-11-30T09:15:00+07:00",
            "--idempotency-key",
            "demo-1",
            "--format",
            "json",
        ],
    ));
    let call = &submitted["call"];
    assert_eq!(call["status"], "CALL_STATUS_SCORED");
    assert_eq!(call["metadata"]["callStartedAt"], "2026-11-30T02:15:00Z");
    assert_eq!(call["metadata"]["externalCallId"], "good-delivery.json");
    let scorecard_id = submitted["scorecardId"].as_str().expect("scorecard id");
    assert!(!scorecard_id.is_empty());

    // --wait prints the scorecard; the same idempotency key is the same call.
    let again = json(&callscore(
        &app,
        &admin,
        &[
            "submit",
            DEMO,
            "--agent",
            "rina",
            "--idempotency-key",
            "demo-1",
            "--wait",
            "--format",
            "json",
        ],
    ));
    assert_eq!(again["scorecardId"], scorecard_id);
    assert!(
        again["machineResult"]["overallScore"]
            .as_f64()
            .expect("score")
            > 80.0
    );
    let listed = json(&callscore(
        &app,
        &reviewer,
        &["review", "list", "--agent", "rina", "--format", "json"],
    ));
    assert_eq!(listed["scorecards"].as_array().map(Vec::len), Some(1));

    // A transcript with a mistake: exit 2, naming the file and the field.
    let folder = tempfile::tempdir().expect("folder");
    let broken = folder.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"{"segments": [{"speaker": "robot", "start": 0, "end": 1, "text": "hi"}]}"#,
    )
    .expect("write");
    let output = callscore(
        &app,
        &ingest,
        &["submit", broken.to_str().expect("path"), "--agent", "rina"],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("speaker"),
        "{stderr}"
    );

    // A start time that is not RFC 3339: exit 2, naming the flag.
    let output = callscore(
        &app,
        &ingest,
        &["submit", DEMO, "--agent", "rina", "--started", "yesterday"],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--started"),
        "{output:?}"
    );
    app.stop().await;
}
