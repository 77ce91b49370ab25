//! Per-key limits: a token bucket of RPCs answered RESOURCE_EXHAUSTED with
//! the wait, and a cap on open WatchCall streams, which also end when the
//! server drains.

mod common;

use std::time::Duration;

use callscore::auth::Role;
use callscore::proto::submit_call_request::Payload;
use callscore::proto::{CallMetadata, ListCallsRequest, SubmitCallRequest, WatchCallRequest};
use common::{Backend, TestApp, spawn_app_with};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_past_its_rate_is_told_when_to_retry() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.rate_limit_per_second = 2;
        s.rate_limit_burst = 5;
    })
    .await;
    let busy = app.key("acme", Role::Coach).await;
    let quiet = app.key("acme", Role::Coach).await;
    let mut calls = app.calls(&busy).await;
    for attempt in 0..5 {
        calls
            .list_calls(ListCallsRequest::default())
            .await
            .unwrap_or_else(|status| panic!("request {attempt} within the burst: {status:?}"));
    }
    let refused = calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect_err("past the burst");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("retry in"), "{refused:?}");
    let retry = refused
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo detail");
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_millis(500),
        "{retry:?}"
    );

    // Another key has its own bucket.
    app.calls(&quiet)
        .await
        .list_calls(ListCallsRequest::default())
        .await
        .expect("another key is not limited by the first");
    // After the wait the key is served again.
    tokio::time::sleep(retry + Duration::from_millis(50)).await;
    calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect("served again after the retry delay");
    app.stop().await;
}

/// A call that stays queued (the test server runs no workers).
async fn queued_call(app: &TestApp, key: &str) -> String {
    let upload = tokio_stream::iter(vec![
        SubmitCallRequest {
            payload: Some(Payload::Metadata(CallMetadata {
                agent_id: "rina".into(),
                ..Default::default()
            })),
        },
        SubmitCallRequest {
            payload: Some(Payload::AudioChunk(b"RIFF not really".to_vec())),
        },
    ]);
    app.calls(key)
        .await
        .submit_call(upload)
        .await
        .expect("submitted")
        .into_inner()
        .call
        .expect("call")
        .call_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_are_capped_per_key_and_end_when_the_server_drains() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.max_watch_streams_per_key = 2).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let watcher = app.key("acme", Role::Coach).await;
    let other = app.key("acme", Role::Coach).await;
    let call_id = queued_call(&app, &ingest).await;
    let request = || WatchCallRequest {
        call_id: call_id.clone(),
    };
    let mut calls = app.calls(&watcher).await;
    let mut first = calls
        .watch_call(request())
        .await
        .expect("first")
        .into_inner();
    let second = calls
        .watch_call(request())
        .await
        .expect("second")
        .into_inner();
    first.message().await.expect("an event").expect("queued");
    let refused = calls
        .watch_call(request())
        .await
        .expect_err("a third stream for the same key");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    // Other keys are not affected ...
    let mut elsewhere = app
        .calls(&other)
        .await
        .watch_call(request())
        .await
        .expect("another key's stream")
        .into_inner();
    elsewhere
        .message()
        .await
        .expect("an event")
        .expect("queued");
    // ... and a closed stream gives its slot back.
    drop(second);
    let mut reopened = None;
    for _ in 0..50 {
        match calls.watch_call(request()).await {
            Ok(stream) => {
                reopened = Some(stream.into_inner());
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(reopened.is_some(), "the slot did not come back within 5 s");

    // Draining ends the open streams with UNAVAILABLE instead of holding them.
    app.shutdown.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match first.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ended within 5 s of the stop signal");
    match ended {
        Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        Ok(end) => panic!("expected UNAVAILABLE, got {end:?}"),
    }
    app.server
        .await
        .expect("server task")
        .expect("server stopped");
}

/// Sends `metadata` and then holds the upload open without audio: an answer
/// that comes back at once was decided before any audio was read.
async fn answer_to_metadata_alone(
    app: &TestApp,
    key: &str,
    metadata: CallMetadata,
) -> Result<(), tonic::Status> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    sender
        .send(SubmitCallRequest {
            payload: Some(Payload::Metadata(metadata)),
        })
        .await
        .expect("send");
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        app.calls(key)
            .await
            .submit_call(tokio_stream::wrappers::ReceiverStream::new(receiver)),
    )
    .await
    .expect("answered before any audio was sent");
    drop(sender);
    answer.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_and_queue_full_uploads_are_refused_from_the_metadata() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.max_call_seconds = 60;
        s.max_upload_bytes = 1_000;
        s.max_queued_calls_per_tenant = 1;
    })
    .await;
    let key = app.key("acme", Role::Ingest).await;
    let metadata = |duration_ms: u64, size: u64| CallMetadata {
        agent_id: "rina".into(),
        audio_duration_ms: duration_ms,
        audio_size_bytes: size,
        ..Default::default()
    };
    let too_long = answer_to_metadata_alone(&app, &key, metadata(61_000, 0))
        .await
        .expect_err("too long");
    assert_eq!(too_long.code(), Code::InvalidArgument);
    assert!(
        too_long.message().starts_with("metadata.audio_duration_ms"),
        "{too_long:?}"
    );
    let too_large = answer_to_metadata_alone(&app, &key, metadata(0, 1_001))
        .await
        .expect_err("too large");
    assert_eq!(too_large.code(), Code::InvalidArgument);
    assert!(
        too_large.message().starts_with("metadata.audio_size_bytes"),
        "{too_large:?}"
    );

    queued_call(&app, &key).await;
    let full = answer_to_metadata_alone(&app, &key, metadata(30_000, 500))
        .await
        .expect_err("queue full");
    assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
    // Only the one accepted call's audio is kept.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.blob_files().len(), 1, "{:?}", app.blob_files());
    app.stop().await;
}

/// A rubric of `checks` phrase checks.
fn wide_rubric(checks: usize) -> String {
    let mut document = String::from(
        "id: wide\nversion: 1\nname: Wide\ndescription: Many checks.\nlanguages: [en]\n\
         criteria:\n  - id: c\n    name: C\n    description: C.\n    weight: 1\n    checks:\n",
    );
    for n in 0..checks {
        document.push_str(&format!(
            "      - id: check_{n}\n        description: Says word {n}.\n        points: 1\n        \
             speaker: agent\n        phrases:\n          expect: present\n          en: [\"word{n}\"]\n"
        ));
    }
    document
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoring_work_per_request_is_bounded() {
    use callscore::proto::{
        CreateRubricRequest, Speaker, SubmitTranscriptRequest, Transcript, TranscriptSegment,
        ValidateRubricRequest,
    };
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let admin = app.key("acme", Role::Admin).await;
    let mut rubrics = app.rubrics(Some(&admin)).await;
    let refused = rubrics
        .validate_rubric(ValidateRubricRequest {
            document: wide_rubric(501),
        })
        .await
        .expect("validated")
        .into_inner();
    assert!(
        refused
            .errors
            .iter()
            .any(|e| e.message.contains("at most 500")),
        "{refused:?}"
    );
    rubrics
        .create_rubric(CreateRubricRequest {
            document: wide_rubric(500),
        })
        .await
        .expect("500 checks are allowed");

    // One agent segment a second, each saying one rubric word.
    let request = |count: u64| SubmitTranscriptRequest {
        metadata: Some(CallMetadata {
            agent_id: "rina".into(),
            rubric_id: "wide".into(),
            ..Default::default()
        }),
        transcript: Some(Transcript {
            language: "en".into(),
            segments: (0..count)
                .map(|n| TranscriptSegment {
                    speaker: Speaker::Agent as i32,
                    start_ms: n * 1_000,
                    end_ms: n * 1_000 + 900,
                    text: format!("word{n}"),
                    ..Default::default()
                })
                .collect(),
            model_id: String::new(),
            attribution: None,
        }),
    };
    let mut calls = app.calls(&admin).await;
    let status = calls
        .submit_transcript(request(4_001))
        .await
        .expect_err("4,001 segments × 500 checks");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with("transcript.segments"),
        "{status:?}"
    );
    let listed = calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(listed.calls.is_empty(), "a refused call was stored");
    // Within the budget the same rubric scores.
    calls
        .submit_transcript(request(100))
        .await
        .expect("100 segments × 500 checks score");
    app.stop().await;
}
