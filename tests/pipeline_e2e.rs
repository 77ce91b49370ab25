//! End to end with real audio and real Whisper weights, on SQLite and
//! PostgreSQL: a stereo 8 kHz μ-law call is uploaded over gRPC to an API-only
//! server, a separate worker-only server transcribes and scores it (the
//! scale-out shape), WatchCall streams the progress, and the scorecard's
//! evidence points at what the agent said.

mod common;

use callscore::app::Application;
use callscore::auth::Role;
use callscore::proto::submit_call_request::Payload;
use callscore::proto::*;
use callscore::transcript::Speaker as Who;
use common::synth::stereo_call;
use common::{Backend, spawn_app};
use tokio_util::sync::CancellationToken;

both_backends!(an_uploaded_call_is_transcribed_scored_and_watched);

const SCRIPT: [(Who, &str); 4] = [
    (
        Who::Agent,
        "Good morning, thank you for calling Nusantara Shop, my name is Rina. How can I help you?",
    ),
    (
        Who::Customer,
        "My order has not arrived and I am really frustrated.",
    ),
    (
        Who::Agent,
        "I am sorry for the delay. I will call you back tomorrow at ten with an update.",
    ),
    (Who::Customer, "Thank you, goodbye."),
];

async fn an_uploaded_call_is_transcribed_scored_and_watched(backend: Backend) {
    let audio_dir = tempfile::tempdir().expect("temp dir");
    let (path, _turns) = stereo_call(audio_dir.path(), "call", "en-us", &SCRIPT, true);
    let audio = std::fs::read(&path).expect("audio");
    let app = spawn_app(backend).await;
    let mut worker_settings = common::test_settings(&app.database.url, app.blob_dir.path());
    worker_settings.role = "worker".into();
    worker_settings.model_path = common::model("ggml-tiny.en-q8_0.bin");
    worker_settings.job_poll_ms = 50;
    let worker = Application::build(worker_settings)
        .await
        .expect("worker builds");
    let worker_stop = CancellationToken::new();
    let worker_task = tokio::spawn(worker.run_until_stopped(worker_stop.clone()));
    let key = app.key("acme", Role::Ingest).await;
    let mut calls = app.calls(&key).await;
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        team_id: "blue".into(),
        channel_layout: ChannelLayout::StereoAgentLeft as i32,
        language_hint: LanguageHint::En as i32,
        ..Default::default()
    };
    let mut messages = vec![SubmitCallRequest {
        payload: Some(Payload::Metadata(metadata)),
    }];
    messages.extend(audio.chunks(16 * 1024).map(|chunk| SubmitCallRequest {
        payload: Some(Payload::AudioChunk(chunk.to_vec())),
    }));
    let call = calls
        .submit_call(tokio_stream::iter(messages))
        .await
        .expect("upload")
        .into_inner()
        .call
        .expect("call");
    assert_eq!(call.audio_bytes, audio.len() as u64);

    let mut events = calls
        .watch_call(WatchCallRequest {
            call_id: call.call_id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    let mut seen = Vec::new();
    while let Some(event) = events.message().await.expect("event") {
        seen.push(event);
    }
    let stages: Vec<i32> = seen.iter().map(|e| e.stage).collect();
    let last = seen.last().expect("events");
    assert_eq!(last.stage, CallStage::Done as i32, "{seen:?}");
    assert!(!last.scorecard_id.is_empty());
    // Stages only move forward.
    assert!(stages.windows(2).all(|w| w[0] <= w[1]), "{stages:?}");
    let progress: Vec<f32> = seen
        .iter()
        .filter(|e| e.stage == CallStage::Transcribing as i32)
        .map(|e| e.progress)
        .collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    let fetched = calls
        .get_call(GetCallRequest {
            call_id: call.call_id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        fetched.call.expect("call").status,
        CallStatus::Scored as i32
    );
    let transcript = fetched.transcript.expect("transcript");
    assert!(
        transcript.model_id.contains("tiny"),
        "{}",
        transcript.model_id
    );
    let speakers: Vec<i32> = transcript.segments.iter().map(|s| s.speaker).collect();
    assert!(
        speakers.contains(&(Speaker::Agent as i32))
            && speakers.contains(&(Speaker::Customer as i32))
    );
    let first = &transcript.segments[0];
    assert_eq!(first.speaker, Speaker::Agent as i32);
    assert!(
        first.text.to_lowercase().contains("good morning"),
        "{}",
        first.text
    );

    let reviewer = app.key("acme", Role::Reviewer).await;
    let scorecard = app
        .scorecards(&reviewer)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: last.scorecard_id.clone(),
        })
        .await
        .expect("scorecard")
        .into_inner()
        .scorecard
        .expect("scorecard");
    assert_eq!(scorecard.agent_id, "rina");
    let greeting = scorecard
        .machine_result
        .expect("machine")
        .criteria
        .iter()
        .flat_map(|c| c.checks.clone())
        .find(|c| c.check_id == "greeting")
        .expect("greeting check");
    assert_eq!(greeting.outcome, CheckOutcome::Pass as i32, "{greeting:?}");
    let evidence = &greeting.evidence[0];
    assert_eq!(evidence.speaker, Speaker::Agent as i32);
    assert!(
        evidence.start_ms < 5_000,
        "the greeting opens the call: {evidence:?}"
    );
    assert!(
        evidence.quote.to_lowercase().contains("morning"),
        "{evidence:?}"
    );
    worker_stop.cancel();
    worker_task
        .await
        .expect("worker task")
        .expect("worker stopped cleanly");
    app.stop().await;
}
