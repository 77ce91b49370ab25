//! Calls, scorecards, reviews and coaching notes over gRPC on SQLite and
//! PostgreSQL, with transcripts submitted directly (no Whisper needed).

mod common;

use callscore::auth::Role;
use callscore::proto::submit_call_request::Payload;
use callscore::proto::*;
use common::{Backend, spawn_app, spawn_app_with};
use tonic::Code;

both_backends!(
    a_submitted_transcript_is_scored_with_evidence_and_stored_redacted,
    idempotency_keys_give_back_the_same_call,
    filters_and_pages_list_scorecards,
    overrides_keep_the_machine_result_and_leave_an_audit_trail,
    graded_checks_carry_cues_and_take_a_reviewed_fraction,
    rescoring_keeps_the_old_scorecard,
    delete_removes_call_transcript_and_scorecards,
    uploads_over_the_limit_store_nothing,
    a_full_queue_answers_resource_exhausted,
    bad_requests_name_the_field,
    tenants_cannot_read_each_others_calls,
    coaching_notes_round_trip,
    exports_flatten_a_period_to_one_row_per_check,
);

/// A fixture transcript (`tests/fixtures/transcripts/NAME.json`) in wire form.
fn fixture(name: &str) -> Transcript {
    let path = format!(
        "{}/tests/fixtures/transcripts/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
    let segments = json["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| TranscriptSegment {
            speaker: match s["speaker"].as_str() {
                Some("agent") => Speaker::Agent,
                Some("customer") => Speaker::Customer,
                _ => Speaker::Unknown,
            } as i32,
            start_ms: (s["start"].as_f64().expect("start") * 1000.0) as u64,
            end_ms: (s["end"].as_f64().expect("end") * 1000.0) as u64,
            text: s["text"].as_str().expect("text").to_string(),
            ..Default::default()
        })
        .collect();
    Transcript {
        language: json["language"].as_str().unwrap_or("").to_string(),
        segments,
        model_id: String::new(),
        attribution: None,
    }
}

fn metadata(agent: &str, team: &str, started_s: i64, key: &str) -> CallMetadata {
    CallMetadata {
        agent_id: agent.into(),
        team_id: team.into(),
        external_call_id: format!("ext-{agent}-{started_s}"),
        call_started_at: Some(prost_types::Timestamp {
            seconds: started_s,
            nanos: 0,
        }),
        idempotency_key: key.into(),
        ..Default::default()
    }
}

fn transcript_request(
    agent: &str,
    started_s: i64,
    name: &str,
    key: &str,
) -> SubmitTranscriptRequest {
    SubmitTranscriptRequest {
        metadata: Some(metadata(agent, "team-1", started_s, key)),
        transcript: Some(fixture(name)),
    }
}

async fn a_submitted_transcript_is_scored_with_evidence_and_stored_redacted(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    let mut calls = app.calls(&key).await;
    let submitted = calls
        .submit_transcript(transcript_request(
            "rina",
            1_700_000_000,
            "en_bad_privacy",
            "",
        ))
        .await
        .expect("scored")
        .into_inner();
    let call = submitted.call.expect("call");
    assert_eq!(call.status, CallStatus::Scored as i32);
    assert!(!submitted.scorecard_id.is_empty());

    let fetched = calls
        .get_call(GetCallRequest {
            call_id: call.call_id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    let transcript = fetched.transcript.expect("transcript");
    let all_text: String = transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    assert!(
        !all_text.contains("four five three two"),
        "card number masked: {all_text}"
    );
    assert!(fetched.metrics.expect("metrics").duration_ms > 0);

    let scorecard = app
        .scorecards(&key)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: submitted.scorecard_id.clone(),
        })
        .await
        .expect("scorecard")
        .into_inner()
        .scorecard
        .expect("scorecard");
    assert_eq!(scorecard.rubric_id, "default");
    assert_eq!(scorecard.rubric_content_hash.len(), 64);
    let machine = scorecard.machine_result.expect("machine");
    // Asking for the card number and PIN is a critical failure: overall 0.
    assert_eq!(machine.overall_score, Some(0.0));
    assert!(!machine.critical_failures.is_empty());
    for criterion in &machine.criteria {
        for check in &criterion.checks {
            assert!(!check.reason.is_empty(), "{} has a reason", check.check_id);
            // A missing behaviour has nothing to quote; a forbidden one does.
            if check.outcome == CheckOutcome::Fail as i32 && check.critical {
                assert!(
                    !check.evidence.is_empty(),
                    "{} failed with evidence",
                    check.check_id
                );
            }
            {
                for evidence in &check.evidence {
                    assert!(evidence.end_ms >= evidence.start_ms);
                    assert!(!evidence.quote.contains("4532"), "quotes are masked");
                }
            }
        }
    }
    app.stop().await;
}

async fn idempotency_keys_give_back_the_same_call(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Ingest).await;
    let mut calls = app.calls(&key).await;
    let first = calls
        .submit_transcript(transcript_request(
            "rina",
            1_700_000_000,
            "en_good",
            "retry-1",
        ))
        .await
        .expect("first")
        .into_inner();
    let again = calls
        .submit_transcript(transcript_request(
            "rina",
            1_700_000_000,
            "en_good",
            "retry-1",
        ))
        .await
        .expect("retry")
        .into_inner();
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!(
        first.call.expect("call").call_id,
        again.call.expect("call").call_id
    );
    assert_eq!(first.scorecard_id, again.scorecard_id);

    // Audio uploads too: a retry neither stores a second file nor queues a second job.
    let upload = |chunk: &'static [u8]| {
        tokio_stream::iter(vec![
            SubmitCallRequest {
                payload: Some(Payload::Metadata(metadata(
                    "rina",
                    "t",
                    1_700_000_100,
                    "audio-1",
                ))),
            },
            SubmitCallRequest {
                payload: Some(Payload::AudioChunk(chunk.to_vec())),
            },
        ])
    };
    let first = calls
        .submit_call(upload(b"RIFF fake"))
        .await
        .expect("upload")
        .into_inner();
    let again = calls
        .submit_call(upload(b"RIFF fake"))
        .await
        .expect("retry")
        .into_inner();
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(
        first.call.expect("call").call_id,
        again.call.expect("call").call_id
    );
    assert_eq!(app.blob_files().len(), 1);
    assert_eq!(app.store.pending_job_count().await.expect("count"), 1);
    app.stop().await;
}

async fn filters_and_pages_list_scorecards(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    let mut calls = app.calls(&key).await;
    let cases = [
        ("rina", 1_700_000_000, "en_good"),
        ("rina", 1_700_100_000, "en_bad_empathy"),
        ("budi", 1_700_200_000, "en_bad_privacy"),
        ("budi", 1_700_300_000, "id_bad_credibility"),
    ];
    for (agent, at, name) in cases {
        calls
            .submit_transcript(transcript_request(agent, at, name, ""))
            .await
            .expect("submit");
    }
    let scorecards = app.scorecards(&key).await;
    let list = |request: ListScorecardsRequest| {
        let mut client = scorecards.clone();
        async move {
            client
                .list_scorecards(request)
                .await
                .expect("list")
                .into_inner()
        }
    };
    let all = list(ListScorecardsRequest::default()).await.scorecards;
    assert_eq!(all.len(), 4);
    let times: Vec<i64> = all
        .iter()
        .map(|s| s.call_started_at.expect("t").seconds)
        .collect();
    assert_eq!(
        times,
        vec![1_700_300_000, 1_700_200_000, 1_700_100_000, 1_700_000_000]
    );

    let rina = list(ListScorecardsRequest {
        agent_id: "rina".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(rina.scorecards.len(), 2);
    let critical = list(ListScorecardsRequest {
        has_critical_failure: Some(true),
        ..Default::default()
    })
    .await;
    assert_eq!(critical.scorecards.len(), 1);
    assert_eq!(critical.scorecards[0].agent_id, "budi");
    let empathy = list(ListScorecardsRequest {
        failed_criterion_id: "empathy".into(),
        ..Default::default()
    })
    .await;
    assert!(empathy.scorecards.iter().any(|s| s.agent_id == "rina"));
    for card in &empathy.scorecards {
        let reviewed = card.reviewed_result.as_ref().expect("reviewed");
        let criterion = reviewed
            .criteria
            .iter()
            .find(|c| c.criterion_id == "empathy")
            .expect("empathy");
        assert!(
            criterion
                .checks
                .iter()
                .any(|c| c.outcome == CheckOutcome::Fail as i32)
        );
    }
    let high = list(ListScorecardsRequest {
        min_score: Some(50.0),
        ..Default::default()
    })
    .await;
    for card in &high.scorecards {
        assert!(
            card.reviewed_result
                .as_ref()
                .and_then(|r| r.overall_score)
                .unwrap_or(0.0)
                >= 50.0
        );
    }
    let window = list(ListScorecardsRequest {
        call_started: Some(TimeRange {
            start: Some(prost_types::Timestamp {
                seconds: 1_700_100_000,
                nanos: 0,
            }),
            end: Some(prost_types::Timestamp {
                seconds: 1_700_300_000,
                nanos: 0,
            }),
        }),
        ..Default::default()
    })
    .await;
    assert_eq!(window.scorecards.len(), 2);

    // Pages of one, stable order, every scorecard once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(ListScorecardsRequest {
            page_size: 1,
            page_token: token.clone(),
            ..Default::default()
        })
        .await;
        seen.extend(page.scorecards.into_iter().map(|s| s.scorecard_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expected: Vec<String> = all.iter().map(|s| s.scorecard_id.clone()).collect();
    assert_eq!(seen, expected);
    app.stop().await;
}

async fn overrides_keep_the_machine_result_and_leave_an_audit_trail(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let coach = app.key("acme", Role::Coach).await;
    let submitted = app
        .calls(&admin)
        .await
        .submit_transcript(transcript_request(
            "rina",
            1_700_000_000,
            "en_bad_privacy",
            "",
        ))
        .await
        .expect("submit")
        .into_inner();
    let scorecard_id = submitted.scorecard_id;
    let mut reviews = app.reviews(&reviewer).await;
    let before = app
        .scorecards(&reviewer)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: scorecard_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .scorecard
        .expect("scorecard");
    let machine = before.machine_result.clone().expect("machine");
    let critical = machine.critical_failures[0].clone();

    let status = app
        .reviews(&coach)
        .await
        .override_check(OverrideCheckRequest {
            scorecard_id: scorecard_id.clone(),
            criterion_id: critical.criterion_id.clone(),
            check_id: critical.check_id.clone(),
            new_outcome: CheckOutcome::Pass as i32,
            reason: "coach tries".into(),
            ..Default::default()
        })
        .await
        .expect_err("coaches do not review");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = reviews
        .override_check(OverrideCheckRequest {
            scorecard_id: scorecard_id.clone(),
            criterion_id: critical.criterion_id.clone(),
            check_id: critical.check_id.clone(),
            new_outcome: CheckOutcome::Pass as i32,
            reason: "  ".into(),
            ..Default::default()
        })
        .await
        .expect_err("a reason is required");
    assert!(status.message().starts_with("reason"), "{status:?}");

    let response = reviews
        .override_check(OverrideCheckRequest {
            scorecard_id: scorecard_id.clone(),
            criterion_id: critical.criterion_id.clone(),
            check_id: critical.check_id.clone(),
            new_outcome: CheckOutcome::Pass as i32,
            reason: "the agent was reading the policy aloud, not asking".into(),
            ..Default::default()
        })
        .await
        .expect("override")
        .into_inner();
    let after = response.scorecard.expect("scorecard");
    assert_eq!(
        after.machine_result.as_ref(),
        Some(&machine),
        "machine result unchanged"
    );
    let reviewed = after.reviewed_result.expect("reviewed");
    assert!(reviewed.critical_failures.len() < machine.critical_failures.len());
    let check = reviewed
        .criteria
        .iter()
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == critical.check_id)
        .expect("check");
    assert_eq!(check.outcome, CheckOutcome::Pass as i32);
    let review = check.review.as_ref().expect("review annotation");
    assert_eq!(
        review.reason,
        "the agent was reading the policy aloud, not asking"
    );
    let event = response.event.expect("event");
    assert_eq!(event.old_outcome, CheckOutcome::Fail as i32);
    assert_eq!(event.new_outcome, CheckOutcome::Pass as i32);
    assert_eq!(event.old_overall_score, Some(0.0));
    assert_eq!(event.new_overall_score, reviewed.overall_score);

    let status = reviews
        .override_check(OverrideCheckRequest {
            scorecard_id: scorecard_id.clone(),
            criterion_id: "nope".into(),
            check_id: "nope".into(),
            new_outcome: CheckOutcome::Fail as i32,
            reason: "x".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown check");
    assert_eq!(status.code(), Code::NotFound);

    let events = reviews
        .list_audit_events(ListAuditEventsRequest {
            scorecard_id: scorecard_id.clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    let actions: Vec<i32> = events.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::Scored as i32,
            AuditAction::CheckOverridden as i32
        ]
    );
    assert!(!events[1].actor.is_empty());
    app.stop().await;
}

async fn graded_checks_carry_cues_and_take_a_reviewed_fraction(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let submitted = app
        .calls(&admin)
        .await
        .submit_transcript(transcript_request("rina", 1_700_000_000, "en_good", ""))
        .await
        .expect("submit")
        .into_inner();
    let scorecard_id = submitted.scorecard_id;
    let card = app
        .scorecards(&reviewer)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: scorecard_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .scorecard
        .expect("scorecard");
    let scorer = card.scorer.clone().expect("scorer versions");
    assert!(scorer.detectors.contains_key("courtesy"), "{scorer:?}");
    assert_eq!(scorer.lexicons.len(), 16);
    let machine = card.machine_result.expect("machine");
    let courtesy = machine
        .criteria
        .iter()
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == "courtesy")
        .expect("courtesy check");
    let fraction = courtesy.fraction.expect("graded");
    assert!((courtesy.earned_points - fraction * courtesy.possible_points).abs() < 1e-3);
    let cue = courtesy
        .evidence
        .iter()
        .flat_map(|e| e.markers.iter())
        .next()
        .expect("a cue with its words");
    assert!(
        !cue.quote.is_empty() && cue.start_ms <= cue.end_ms,
        "{cue:?}"
    );

    let mut reviews = app.reviews(&reviewer).await;
    let request =
        |check: &str, fraction: Option<f64>, outcome: CheckOutcome| OverrideCheckRequest {
            scorecard_id: scorecard_id.clone(),
            criterion_id: "professionalism".into(),
            check_id: check.into(),
            new_outcome: outcome as i32,
            reason: "listened to the call".into(),
            new_fraction: fraction,
            expected_review_revision: None,
        };
    for (bad, field) in [
        (
            request("courtesy", Some(1.5), CheckOutcome::Unspecified),
            "new_fraction",
        ),
        (
            request("no_dead_air", Some(0.5), CheckOutcome::Unspecified),
            "new_fraction",
        ),
        (
            request("courtesy", Some(0.2), CheckOutcome::Pass),
            "new_outcome",
        ),
    ] {
        let status = reviews.override_check(bad).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(field), "{status:?}");
    }
    let response = reviews
        .override_check(request("courtesy", Some(0.25), CheckOutcome::Unspecified))
        .await
        .expect("override")
        .into_inner();
    let reviewed = response
        .scorecard
        .expect("scorecard")
        .reviewed_result
        .expect("reviewed");
    let check = reviewed
        .criteria
        .iter()
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == "courtesy")
        .expect("check");
    assert_eq!(check.fraction, Some(0.25));
    assert_eq!(check.outcome, CheckOutcome::Fail as i32, "below pass_at");
    assert!((check.earned_points - 0.25 * check.possible_points).abs() < 1e-9);
    assert_eq!(check.review.as_ref().and_then(|r| r.fraction), Some(0.25));
    let event = response.event.expect("event");
    assert_eq!(event.old_fraction, Some(fraction));
    assert_eq!(event.new_fraction, Some(0.25));
    let history = reviews
        .list_audit_events(ListAuditEventsRequest {
            scorecard_id: scorecard_id.clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    assert_eq!(history.last().and_then(|e| e.new_fraction), Some(0.25));
    app.stop().await;
}

async fn rescoring_keeps_the_old_scorecard(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let submitted = app
        .calls(&admin)
        .await
        .submit_transcript(transcript_request("rina", 1_700_000_000, "en_good", ""))
        .await
        .expect("submit")
        .into_inner();
    let call_id = submitted.call.expect("call").call_id;
    app.rubrics(Some(&admin))
        .await
        .publish_rubric_version(PublishRubricVersionRequest {
            rubric_id: "default".into(),
            document: common::rubric_document("default", 3).replacen("weight: 25", "weight: 50", 1),
        })
        .await
        .expect("publish v2");
    let mut scorecards = app.scorecards(&admin).await;
    let rescored = scorecards
        .rescore_call(RescoreCallRequest {
            call_id: call_id.clone(),
            rubric_id: String::new(),
            rubric_version: "3".into(),
        })
        .await
        .expect("rescore")
        .into_inner()
        .scorecard
        .expect("scorecard");
    assert_eq!(rescored.rubric_version, "3");
    assert_ne!(rescored.scorecard_id, submitted.scorecard_id);
    let listed = scorecards
        .list_scorecards(ListScorecardsRequest {
            call_id: call_id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .scorecards;
    let mut versions: Vec<String> = listed.iter().map(|s| s.rubric_version.clone()).collect();
    versions.sort();
    assert_eq!(versions, vec!["2", "3"]);
    let call = app
        .calls(&admin)
        .await
        .get_call(GetCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .call
        .expect("call");
    assert_eq!(call.latest_scorecard_id, rescored.scorecard_id);
    let status = scorecards
        .rescore_call(RescoreCallRequest {
            call_id,
            rubric_id: "ghost".into(),
            rubric_version: String::new(),
        })
        .await
        .expect_err("unknown rubric");
    assert_eq!(status.code(), Code::NotFound);
    app.stop().await;
}

async fn delete_removes_call_transcript_and_scorecards(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let mut calls = app.calls(&admin).await;
    let submitted = calls
        .submit_transcript(transcript_request("rina", 1_700_000_000, "en_good", ""))
        .await
        .expect("submit")
        .into_inner();
    let call_id = submitted.call.expect("call").call_id;
    let upload = tokio_stream::iter(vec![
        SubmitCallRequest {
            payload: Some(Payload::Metadata(metadata("rina", "t", 1_700_000_500, ""))),
        },
        SubmitCallRequest {
            payload: Some(Payload::AudioChunk(b"audio bytes".to_vec())),
        },
    ]);
    let audio_call = calls
        .submit_call(upload)
        .await
        .expect("upload")
        .into_inner();
    assert_eq!(app.blob_files().len(), 1);

    let status = app
        .calls(&ingest)
        .await
        .delete_call(DeleteCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect_err("ingest may not delete");
    assert_eq!(status.code(), Code::PermissionDenied);
    calls
        .delete_call(DeleteCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect("delete");
    calls
        .delete_call(DeleteCallRequest {
            call_id: audio_call.call.expect("call").call_id,
        })
        .await
        .expect("delete audio call");
    assert!(app.blob_files().is_empty(), "audio removed");
    let status = calls
        .get_call(GetCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect_err("gone");
    assert_eq!(status.code(), Code::NotFound);
    let status = app
        .scorecards(&admin)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: submitted.scorecard_id,
        })
        .await
        .expect_err("scorecard gone");
    assert_eq!(status.code(), Code::NotFound);
    app.stop().await;
}

async fn uploads_over_the_limit_store_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.max_upload_bytes = 1000).await;
    let key = app.key("acme", Role::Ingest).await;
    let mut calls = app.calls(&key).await;
    let chunks = (0..5).map(|_| SubmitCallRequest {
        payload: Some(Payload::AudioChunk(vec![0u8; 400])),
    });
    let upload = tokio_stream::iter(
        std::iter::once(SubmitCallRequest {
            payload: Some(Payload::Metadata(metadata(
                "rina",
                "t",
                1_700_000_000,
                "big",
            ))),
        })
        .chain(chunks)
        .collect::<Vec<_>>(),
    );
    let status = calls.submit_call(upload).await.expect_err("too large");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("audio_chunk"), "{status:?}");
    let empty = tokio_stream::iter(vec![SubmitCallRequest {
        payload: Some(Payload::Metadata(metadata("rina", "t", 1_700_000_000, ""))),
    }]);
    let status = calls.submit_call(empty).await.expect_err("no audio");
    assert!(status.message().starts_with("audio_chunk"), "{status:?}");
    assert!(app.blob_files().is_empty());
    let listed = calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(listed.calls.is_empty());
    assert_eq!(app.store.pending_job_count().await.expect("count"), 0);
    app.stop().await;
}

async fn a_full_queue_answers_resource_exhausted(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.max_queued_calls_per_tenant = 2).await;
    let key = app.key("acme", Role::Ingest).await;
    let other = app.key("other", Role::Ingest).await;
    let upload = |at: i64| {
        tokio_stream::iter(vec![
            SubmitCallRequest {
                payload: Some(Payload::Metadata(metadata("rina", "t", at, ""))),
            },
            SubmitCallRequest {
                payload: Some(Payload::AudioChunk(b"audio".to_vec())),
            },
        ])
    };
    let mut calls = app.calls(&key).await;
    calls.submit_call(upload(1)).await.expect("first");
    calls.submit_call(upload(2)).await.expect("second");
    let status = calls.submit_call(upload(3)).await.expect_err("full");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        app.blob_files().len(),
        2,
        "the refused upload's audio is not kept"
    );
    // Another tenant's queue is its own.
    app.calls(&other)
        .await
        .submit_call(upload(4))
        .await
        .expect("other tenant");
    app.stop().await;
}

async fn bad_requests_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    let mut calls = app.calls(&key).await;
    let mut no_agent = transcript_request("", 1, "en_good", "");
    no_agent.metadata.as_mut().expect("metadata").agent_id = String::new();
    let mut backwards = transcript_request("rina", 1, "en_good", "");
    let segment = &mut backwards.transcript.as_mut().expect("t").segments[0];
    segment.end_ms = 0;
    segment.start_ms = 10;
    let mut unknown_rubric = transcript_request("rina", 1, "en_good", "");
    unknown_rubric
        .metadata
        .as_mut()
        .expect("metadata")
        .rubric_id = "ghost".into();
    let cases = [
        (no_agent, Code::InvalidArgument, "metadata.agent_id"),
        (
            SubmitTranscriptRequest {
                metadata: Some(metadata("rina", "t", 1, "")),
                transcript: None,
            },
            Code::InvalidArgument,
            "transcript",
        ),
        (
            backwards,
            Code::InvalidArgument,
            "transcript.segments[0].end_ms",
        ),
        (unknown_rubric, Code::NotFound, "metadata.rubric_id"),
    ];
    for (request, code, field) in cases {
        let status = calls
            .submit_transcript(request)
            .await
            .expect_err("rejected");
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().starts_with(field), "{field}: {status:?}");
    }
    let status = calls
        .get_call(GetCallRequest::default())
        .await
        .expect_err("no id");
    assert!(status.message().starts_with("call_id"));
    let status = app
        .scorecards(&key)
        .await
        .list_scorecards(ListScorecardsRequest {
            min_score: Some(120.0),
            ..Default::default()
        })
        .await
        .expect_err("bad bound");
    assert!(status.message().starts_with("min_score"));
    let listed = calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed.calls.is_empty(),
        "nothing stored from rejected requests"
    );
    app.stop().await;
}

async fn tenants_cannot_read_each_others_calls(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.key("tenant-a", Role::Admin).await;
    let b = app.key("tenant-b", Role::Admin).await;
    let submitted = app
        .calls(&a)
        .await
        .submit_transcript(transcript_request("rina", 1_700_000_000, "en_good", "k"))
        .await
        .expect("a submits")
        .into_inner();
    let call_id = submitted.call.expect("call").call_id;
    let mut calls_b = app.calls(&b).await;
    let status = calls_b
        .get_call(GetCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);
    let status = calls_b
        .delete_call(DeleteCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);
    let status = calls_b
        .watch_call(WatchCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);
    let mut scorecards_b = app.scorecards(&b).await;
    for status in [
        scorecards_b
            .get_scorecard(GetScorecardRequest {
                scorecard_id: submitted.scorecard_id.clone(),
            })
            .await
            .expect_err("hidden"),
        scorecards_b
            .rescore_call(RescoreCallRequest {
                call_id: call_id.clone(),
                ..Default::default()
            })
            .await
            .expect_err("hidden"),
    ] {
        assert_eq!(status.code(), Code::NotFound);
    }
    assert!(
        scorecards_b
            .list_scorecards(ListScorecardsRequest::default())
            .await
            .expect("list")
            .into_inner()
            .scorecards
            .is_empty()
    );
    let mut reviews_b = app.reviews(&b).await;
    let status = reviews_b
        .list_audit_events(ListAuditEventsRequest {
            scorecard_id: submitted.scorecard_id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);
    let status = reviews_b
        .override_check(OverrideCheckRequest {
            scorecard_id: submitted.scorecard_id.clone(),
            criterion_id: "privacy".into(),
            check_id: "x".into(),
            new_outcome: CheckOutcome::Pass as i32,
            reason: "r".into(),
            ..Default::default()
        })
        .await
        .expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);
    // The same idempotency key in another tenant is another call.
    let own = calls_b
        .submit_transcript(transcript_request("rina", 1_700_000_000, "en_good", "k"))
        .await
        .expect("b submits")
        .into_inner();
    assert!(!own.duplicate);
    app.stop().await;
}

async fn coaching_notes_round_trip(backend: Backend) {
    let app = spawn_app(backend).await;
    let coach = app.key("acme", Role::Coach).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let mut reviews = app.reviews(&coach).await;
    for text in ["greet by name", "slow down"] {
        reviews
            .add_coaching_note(AddCoachingNoteRequest {
                agent_id: "rina".into(),
                text: text.into(),
                criterion_id: "professionalism".into(),
                ..Default::default()
            })
            .await
            .expect("note");
    }
    let status = reviews
        .add_coaching_note(AddCoachingNoteRequest {
            agent_id: "rina".into(),
            text: String::new(),
            ..Default::default()
        })
        .await
        .expect_err("empty");
    assert!(status.message().starts_with("text"));
    let notes = reviews
        .list_coaching_notes(ListCoachingNotesRequest {
            agent_id: "rina".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .notes;
    let texts: Vec<&str> = notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts, vec!["slow down", "greet by name"]);
    let status = app
        .reviews(&reviewer)
        .await
        .list_coaching_notes(ListCoachingNotesRequest {
            agent_id: "rina".into(),
            ..Default::default()
        })
        .await
        .expect_err("reviewers do not coach");
    assert_eq!(status.code(), Code::PermissionDenied);
    app.stop().await;
}

/// The rows of a Parquet file as pyarrow reads them, in the CSV export's
/// text form (times in RFC 3339, numbers as Rust prints them, nulls empty).
fn read_with_pyarrow(file: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/pyarrow/bin/python");
    let script = r#"
import json, sys
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
def text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, float):
        return str(int(value)) if value == int(value) else repr(value)
    return str(value)
for row in table.to_pylist():
    print(json.dumps({k: text(v) for k, v in row.items()}))
"#;
    let output = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} runs (scripts/setup.sh installs pyarrow): {e}",
                python.display()
            )
        });
    assert!(
        output.status.success(),
        "pyarrow read the file: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON row"))
        .collect()
}

/// The bytes of an export, every piece of the stream of `content_type`.
async fn exported(
    app: &common::TestApp,
    key: &str,
    request: ExportScorecardsRequest,
    content_type: &str,
) -> Vec<u8> {
    let mut stream = app
        .scorecards(key)
        .await
        .export_scorecards(request)
        .await
        .expect("export")
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(piece) = stream.message().await.expect("piece") {
        assert_eq!(piece.content_type, content_type);
        bytes.extend(piece.data);
    }
    bytes
}

/// The rows of a CSV export, each a map from column to value.
fn csv_rows(bytes: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().expect("a header row").clone();
    reader
        .records()
        .map(|r| {
            let record = r.expect("a CSV row");
            header
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

async fn exports_flatten_a_period_to_one_row_per_check(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let mut calls = app.calls(&admin).await;
    // Two calls in the period (one per agent), one before it.
    let mut scorecard_ids = Vec::new();
    for (agent, at, name) in [
        ("rina", 1_700_000_000, "en_good"),
        ("budi", 1_700_003_600, "id_bad_empathy"),
        ("rina", 1_600_000_000, "en_bad_privacy"),
    ] {
        let submitted = calls
            .submit_transcript(transcript_request(agent, at, name, ""))
            .await
            .expect("scored")
            .into_inner();
        scorecard_ids.push(submitted.scorecard_id);
    }
    // A reviewer overturns one check of the first call.
    let card = app
        .scorecards(&admin)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: scorecard_ids[0].clone(),
        })
        .await
        .expect("scorecard")
        .into_inner()
        .scorecard
        .expect("scorecard");
    let machine = card.machine_result.expect("machine result");
    let (criterion, check) = machine
        .criteria
        .iter()
        .find_map(|c| {
            c.checks
                .iter()
                .find(|k| k.outcome == CheckOutcome::Pass as i32 && k.fraction.is_none())
                .map(|k| (c.criterion_id.clone(), k.check_id.clone()))
        })
        .expect("a passed pass/fail check");
    app.reviews(&admin)
        .await
        .override_check(OverrideCheckRequest {
            scorecard_id: scorecard_ids[0].clone(),
            criterion_id: criterion.clone(),
            check_id: check.clone(),
            new_outcome: CheckOutcome::Fail as i32,
            reason: "heard on the recording".into(),
            ..Default::default()
        })
        .await
        .expect("override");
    let range = TimeRange {
        start: Some(prost_types::Timestamp {
            seconds: 1_699_999_000,
            nanos: 0,
        }),
        end: Some(prost_types::Timestamp {
            seconds: 1_700_010_000,
            nanos: 0,
        }),
    };
    let reviewer = app.key("acme", Role::Reviewer).await;
    let request = ExportScorecardsRequest {
        call_started: Some(range),
        ..Default::default()
    };
    let rows = csv_rows(&exported(&app, &reviewer, request.clone(), "text/csv").await);
    let checks_in = |id: &str| rows.iter().filter(|r| r["scorecard_id"] == id).count();
    assert!(checks_in(&scorecard_ids[0]) > 5, "every check is a row");
    assert!(checks_in(&scorecard_ids[1]) > 5);
    assert_eq!(checks_in(&scorecard_ids[2]), 0, "outside the period");
    let overturned: Vec<_> = rows.iter().filter(|r| r["overridden"] == "true").collect();
    assert_eq!(overturned.len(), 1, "one check was overridden");
    let row = overturned[0];
    assert_eq!(
        (row["criterion_id"].as_str(), row["check_id"].as_str()),
        (criterion.as_str(), check.as_str())
    );
    assert_eq!(
        (
            row["machine_outcome"].as_str(),
            row["reviewed_outcome"].as_str()
        ),
        ("pass", "fail")
    );
    assert_eq!(row["reviewed_points"], "0");
    assert_eq!(row["agent_id"], "rina");
    assert_eq!(row["call_started_at"], "2023-11-14T22:13:20.000Z");

    // One agent only; a range is required; ingest keys do not export.
    let budi_only = ExportScorecardsRequest {
        agent_id: "budi".into(),
        ..request.clone()
    };
    let budi_rows = csv_rows(&exported(&app, &reviewer, budi_only, "text/csv").await);
    assert!(!budi_rows.is_empty() && budi_rows.iter().all(|r| r["agent_id"] == "budi"));
    let error = app
        .scorecards(&reviewer)
        .await
        .export_scorecards(ExportScorecardsRequest::default())
        .await
        .expect_err("no range");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().starts_with("call_started"), "{error:?}");
    let ingest = app.key("acme", Role::Ingest).await;
    let error = app
        .scorecards(&ingest)
        .await
        .export_scorecards(ExportScorecardsRequest {
            call_started: Some(range),
            ..Default::default()
        })
        .await
        .expect_err("ingest");
    assert_eq!(error.code(), Code::PermissionDenied);

    // The same rows as Apache Parquet, read back by a second implementation
    // (pyarrow, which scripts/setup.sh installs into .cache/pyarrow).
    let parquet = exported(
        &app,
        &reviewer,
        ExportScorecardsRequest {
            format: ExportFormat::Parquet as i32,
            ..request
        },
        "application/vnd.apache.parquet",
    )
    .await;
    assert_eq!(&parquet[..4], b"PAR1");
    assert_eq!(&parquet[parquet.len() - 4..], b"PAR1");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("week.parquet");
    std::fs::write(&file, &parquet).expect("write");
    assert_eq!(read_with_pyarrow(&file), rows);

    // The CLI writes the same files.
    let cli_export = |format: &str, file: &std::path::Path| {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_callscore"))
            .args(["export", "--from", "2023-11-14", "--to", "2023-11-15"])
            .args(["--format", format, "--server"])
            .arg(format!("http://{}", app.address))
            .arg("--output")
            .arg(file)
            .env("CALLSCORE_API_KEY", &reviewer)
            .status()
            .expect("callscore runs");
        assert!(status.success(), "callscore export --format {format}");
    };
    let csv_file = dir.path().join("week.csv");
    cli_export("csv", &csv_file);
    assert_eq!(
        csv_rows(&std::fs::read(&csv_file).expect("the export file")),
        rows
    );
    let parquet_file = dir.path().join("week-cli.parquet");
    cli_export("parquet", &parquet_file);
    assert_eq!(read_with_pyarrow(&parquet_file), rows);
}
