//! Every string field of every RPC, one at a time, with a NUL byte, an
//! over-long value, and random values (seeded: control characters,
//! scripts, emoji, quotes and SQL, path tricks, any length up to 300
//! characters): the answer is a clear status (never INTERNAL or UNKNOWN),
//! the same on SQLite and PostgreSQL, no error echoes a huge value back, and
//! what was stored before is still there.

mod common;

use std::future::Future;
use std::pin::Pin;

use callscore::auth::Role;
use callscore::proto::insight_service_client::InsightServiceClient;
use callscore::proto::submit_call_request::Payload;
use callscore::proto::*;
use common::{Authed, Backend, BearerKey, TestApp, rubric_document, spawn_app};
use tonic::{Code, Status};

both_backends!(hostile_strings_get_a_clear_status_everywhere);

const NUL: &str = "a\0b";

/// Larger than any id the API takes, far smaller than the gRPC message limit.
fn huge() -> String {
    "x".repeat(20_000)
}

/// Random strings from pieces that break naive code, seeded so a failure
/// reproduces.
fn random_values(count: usize) -> Vec<String> {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    const PIECES: [&str; 16] = [
        "'; DROP TABLE calls; --",
        "\"",
        "../../etc/passwd",
        "%s%n%x",
        "\u{202e}",
        "\u{feff}",
        "\r\n",
        "\t",
        "\u{7f}",
        "\u{1}",
        "selamat pagi",
        "🙂👍🏽",
        "ميم",
        "日本",
        "-1",
        "v1:",
    ];
    let mut rng = StdRng::seed_from_u64(0x0ca1_1ca1);
    (0..count)
        .map(|_| {
            let mut value = String::new();
            while value.chars().count() < rng.random_range(1..300) {
                if rng.random_bool(0.5) {
                    value.push_str(PIECES[rng.random_range(0..PIECES.len())]);
                } else {
                    value.push(rng.random_range('\u{20}'..='\u{2fff}'));
                }
            }
            value
        })
        .collect()
}

fn metadata(agent: &str) -> CallMetadata {
    CallMetadata {
        agent_id: agent.into(),
        team_id: "team-1".into(),
        call_started_at: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        ..Default::default()
    }
}

fn transcript() -> Transcript {
    let segment = |speaker: Speaker, start_ms: u64, text: &str| TranscriptSegment {
        speaker: speaker as i32,
        start_ms,
        end_ms: start_ms + 2_000,
        text: text.into(),
        ..Default::default()
    };
    Transcript {
        language: "en".into(),
        segments: vec![
            segment(Speaker::Agent, 0, "Good morning, thank you for calling."),
            segment(Speaker::Customer, 2_500, "My parcel is late."),
            segment(Speaker::Agent, 5_000, "I'm sorry, I will check it now."),
        ],
        model_id: String::new(),
        attribution: None,
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

struct Clients {
    calls: callscore::proto::call_service_client::CallServiceClient<Authed>,
    scorecards: callscore::proto::scorecard_service_client::ScorecardServiceClient<Authed>,
    reviews: callscore::proto::review_service_client::ReviewServiceClient<Authed>,
    rubrics: callscore::proto::rubric_service_client::RubricServiceClient<Authed>,
    insights: InsightServiceClient<Authed>,
    keys: callscore::proto::key_service_client::KeyServiceClient<Authed>,
    tenants: callscore::proto::tenant_service_client::TenantServiceClient<Authed>,
    calibrations: callscore::proto::calibration_service_client::CalibrationServiceClient<Authed>,
    disputes: callscore::proto::dispute_service_client::DisputeServiceClient<Authed>,
    webhooks: callscore::proto::webhook_service_client::WebhookServiceClient<Authed>,
}

async fn clients(app: &TestApp, key: &str) -> Clients {
    Clients {
        calls: app.calls(key).await,
        scorecards: app.scorecards(key).await,
        reviews: app.reviews(key).await,
        rubrics: app.rubrics(Some(key)).await,
        insights: InsightServiceClient::with_interceptor(
            app.channel().await,
            BearerKey(Some(key.to_owned())),
        ),
        keys: callscore::proto::key_service_client::KeyServiceClient::with_interceptor(
            app.channel().await,
            BearerKey(Some(key.to_owned())),
        ),
        tenants: app.tenants(key).await,
        calibrations: app.calibrations(key).await,
        disputes: callscore::proto::dispute_service_client::DisputeServiceClient::with_interceptor(
            app.channel().await,
            BearerKey(Some(key.to_owned())),
        ),
        webhooks: callscore::proto::webhook_service_client::WebhookServiceClient::with_interceptor(
            app.channel().await,
            BearerKey(Some(key.to_owned())),
        ),
    }
}

/// Every request with `bad` in one string field, the others valid; the ids
/// are those of a stored call and scorecard.
fn requests(c: &Clients, bad: &str, call_id: &str, card_id: &str) -> Vec<(String, Answer)> {
    let mut out: Vec<(String, Answer)> = Vec::new();
    let b = || bad.to_owned();
    macro_rules! case {
        ($name:expr, $client:ident, $method:ident, $request:expr) => {{
            let mut client = c.$client.clone();
            let request = $request;
            out.push((
                $name.to_owned(),
                Box::pin(async move { client.$method(request).await.map(|_| ()) }),
            ));
        }};
    }
    // CallMetadata, through both submit RPCs.
    type Edit = fn(&mut CallMetadata, String);
    let metadata_fields: [(&str, Edit); 6] = [
        ("external_call_id", |m, v| m.external_call_id = v),
        ("agent_id", |m, v| m.agent_id = v),
        ("team_id", |m, v| m.team_id = v),
        ("queue", |m, v| m.queue = v),
        ("rubric_id", |m, v| m.rubric_id = v),
        ("idempotency_key", |m, v| m.idempotency_key = v),
    ];
    for (field, edit) in metadata_fields {
        let mut m = metadata("rina");
        edit(&mut m, b());
        case!(
            format!("SubmitTranscript metadata.{field}"),
            calls,
            submit_transcript,
            SubmitTranscriptRequest {
                metadata: Some(m.clone()),
                transcript: Some(transcript()),
            }
        );
        let mut client = c.calls.clone();
        out.push((
            format!("SubmitCall metadata.{field}"),
            Box::pin(async move {
                let stream = tokio_stream::iter(vec![
                    SubmitCallRequest {
                        payload: Some(Payload::Metadata(m)),
                    },
                    SubmitCallRequest {
                        payload: Some(Payload::AudioChunk(vec![0u8; 64])),
                    },
                ]);
                client.submit_call(stream).await.map(|_| ())
            }),
        ));
    }
    // The transcript's strings.
    type TranscriptEdit = fn(&mut Transcript, String);
    let transcript_fields: [(&str, TranscriptEdit); 5] = [
        ("language", |t, v| t.language = v),
        ("model_id", |t, v| t.model_id = v),
        ("segments[0].text", |t, v| t.segments[0].text = v),
        ("segments[0].language", |t, v| t.segments[0].language = v),
        ("segments[0].words[0].text", |t, v| {
            t.segments[0].words = vec![TranscriptWord {
                start_ms: 0,
                end_ms: 500,
                text: v,
                ..Default::default()
            }];
        }),
    ];
    for (field, edit) in transcript_fields {
        let mut t = transcript();
        edit(&mut t, b());
        case!(
            format!("SubmitTranscript transcript.{field}"),
            calls,
            submit_transcript,
            SubmitTranscriptRequest {
                metadata: Some(metadata("rina")),
                transcript: Some(t),
            }
        );
    }
    case!(
        "GetCall call_id",
        calls,
        get_call,
        GetCallRequest { call_id: b() }
    );
    case!(
        "DeleteCall call_id",
        calls,
        delete_call,
        DeleteCallRequest { call_id: b() }
    );
    for (field, request) in [
        (
            "page_token",
            ListCallsRequest {
                page_token: b(),
                ..Default::default()
            },
        ),
        (
            "agent_id",
            ListCallsRequest {
                agent_id: b(),
                ..Default::default()
            },
        ),
        (
            "team_id",
            ListCallsRequest {
                team_id: b(),
                ..Default::default()
            },
        ),
    ] {
        case!(format!("ListCalls {field}"), calls, list_calls, request);
    }
    {
        let mut client = c.calls.clone();
        let request = WatchCallRequest { call_id: b() };
        out.push((
            "WatchCall call_id".to_owned(),
            Box::pin(async move {
                let mut stream = client.watch_call(request).await?.into_inner();
                stream.message().await.map(|_| ())
            }),
        ));
    }
    // Scorecards.
    case!(
        "GetScorecard scorecard_id",
        scorecards,
        get_scorecard,
        GetScorecardRequest { scorecard_id: b() }
    );
    for field in [
        "page_token",
        "agent_id",
        "team_id",
        "failed_criterion_id",
        "call_id",
    ] {
        let mut request = ListScorecardsRequest::default();
        match field {
            "page_token" => request.page_token = b(),
            "agent_id" => request.agent_id = b(),
            "team_id" => request.team_id = b(),
            "failed_criterion_id" => request.failed_criterion_id = b(),
            _ => request.call_id = b(),
        }
        case!(
            format!("ListScorecards {field}"),
            scorecards,
            list_scorecards,
            request
        );
    }
    for field in ["call_id", "rubric_id", "rubric_version"] {
        let mut request = RescoreCallRequest {
            call_id: call_id.to_owned(),
            ..Default::default()
        };
        match field {
            "call_id" => request.call_id = b(),
            "rubric_id" => request.rubric_id = b(),
            _ => {
                request.rubric_id = "default".into();
                request.rubric_version = b();
            }
        }
        case!(
            format!("RescoreCall {field}"),
            scorecards,
            rescore_call,
            request
        );
    }
    // Reviews.
    for field in ["scorecard_id", "criterion_id", "check_id", "reason"] {
        let mut request = OverrideCheckRequest {
            scorecard_id: card_id.to_owned(),
            criterion_id: "professionalism".into(),
            check_id: "greeting".into(),
            new_outcome: CheckOutcome::Fail as i32,
            reason: "heard it myself".into(),
            new_fraction: None,
            expected_review_revision: None,
        };
        match field {
            "scorecard_id" => request.scorecard_id = b(),
            "criterion_id" => request.criterion_id = b(),
            "check_id" => request.check_id = b(),
            _ => request.reason = b(),
        }
        case!(
            format!("OverrideCheck {field}"),
            reviews,
            override_check,
            request
        );
    }
    for field in ["scorecard_id", "page_token"] {
        let mut request = ListAuditEventsRequest {
            scorecard_id: card_id.to_owned(),
            ..Default::default()
        };
        if field == "page_token" {
            request.page_token = b();
        } else {
            request.scorecard_id = b();
        }
        case!(
            format!("ListAuditEvents {field}"),
            reviews,
            list_audit_events,
            request
        );
    }
    for field in ["scorecard_id", "reason"] {
        let mut request = ConfirmScorecardRequest {
            scorecard_id: card_id.to_owned(),
            reason: "Agrees with the recording.".into(),
        };
        if field == "reason" {
            request.reason = b();
        } else {
            request.scorecard_id = b();
        }
        case!(
            format!("ConfirmScorecard {field}"),
            reviews,
            confirm_scorecard,
            request
        );
    }
    for field in ["agent_id", "reason", "page_token"] {
        let mut request = ListReviewTasksRequest::default();
        match field {
            "agent_id" => request.agent_id = b(),
            "reason" => request.reason = b(),
            _ => request.page_token = b(),
        }
        case!(
            format!("ListReviewTasks {field}"),
            reviews,
            list_review_tasks,
            request
        );
    }
    case!(
        "ClaimReviewTask task_id",
        reviews,
        claim_review_task,
        ClaimReviewTaskRequest { task_id: b() }
    );
    for field in ["task_id", "reason"] {
        let mut request = CompleteReviewTaskRequest {
            task_id: "01a23b3a-0000-7000-8000-000000000000".into(),
            reason: "done".into(),
        };
        if field == "reason" {
            request.reason = b();
        } else {
            request.task_id = b();
        }
        case!(
            format!("CompleteReviewTask {field}"),
            reviews,
            complete_review_task,
            request
        );
    }
    case!(
        "GetCheckReliability rubric_id",
        reviews,
        get_check_reliability,
        GetCheckReliabilityRequest {
            call_started: Some(TimeRange {
                start: Some(prost_types::Timestamp::default()),
                end: Some(prost_types::Timestamp {
                    seconds: 2_000_000_000,
                    nanos: 0
                }),
            }),
            rubric_id: b(),
            ..Default::default()
        }
    );
    for field in ["agent_id", "text", "scorecard_id", "criterion_id"] {
        let mut request = AddCoachingNoteRequest {
            agent_id: "rina".into(),
            text: "Slow down at the greeting.".into(),
            scorecard_id: card_id.to_owned(),
            criterion_id: "professionalism".into(),
        };
        match field {
            "agent_id" => request.agent_id = b(),
            "text" => request.text = b(),
            "scorecard_id" => request.scorecard_id = b(),
            _ => request.criterion_id = b(),
        }
        case!(
            format!("AddCoachingNote {field}"),
            reviews,
            add_coaching_note,
            request
        );
    }
    for field in ["agent_id", "page_token"] {
        let mut request = ListCoachingNotesRequest {
            agent_id: "rina".into(),
            ..Default::default()
        };
        if field == "page_token" {
            request.page_token = b();
        } else {
            request.agent_id = b();
        }
        case!(
            format!("ListCoachingNotes {field}"),
            reviews,
            list_coaching_notes,
            request
        );
    }
    // Rubrics: a document with the bad value inside, and bad ids.
    let document = rubric_document("hostile", 1).replace("name: ", &format!("name: {bad} "));
    case!(
        "ValidateRubric document",
        rubrics,
        validate_rubric,
        ValidateRubricRequest {
            document: document.clone()
        }
    );
    case!(
        "CreateRubric document",
        rubrics,
        create_rubric,
        CreateRubricRequest {
            document: document.clone()
        }
    );
    case!(
        "PublishRubricVersion rubric_id",
        rubrics,
        publish_rubric_version,
        PublishRubricVersionRequest {
            rubric_id: b(),
            document: rubric_document("default", 9),
        }
    );
    case!(
        "PublishRubricVersion document",
        rubrics,
        publish_rubric_version,
        PublishRubricVersionRequest {
            rubric_id: "hostile".into(),
            document,
        }
    );
    case!(
        "GetRubric rubric_id",
        rubrics,
        get_rubric,
        GetRubricRequest {
            rubric_id: b(),
            version: String::new()
        }
    );
    case!(
        "GetRubric version",
        rubrics,
        get_rubric,
        GetRubricRequest {
            rubric_id: "default".into(),
            version: b()
        }
    );
    case!(
        "ListRubrics page_token",
        rubrics,
        list_rubrics,
        ListRubricsRequest {
            page_token: b(),
            ..Default::default()
        }
    );
    case!(
        "SetDefaultRubric rubric_id",
        rubrics,
        set_default_rubric,
        SetDefaultRubricRequest { rubric_id: b() }
    );
    // Insights.
    case!(
        "GetAgentTrend agent_id",
        insights,
        get_agent_trend,
        GetAgentTrendRequest {
            agent_id: b(),
            ..Default::default()
        }
    );
    case!(
        "GetTeamSummary team_id",
        insights,
        get_team_summary,
        GetTeamSummaryRequest {
            team_id: b(),
            ..Default::default()
        }
    );
    case!(
        "GetCoachingFocus agent_id",
        insights,
        get_coaching_focus,
        GetCoachingFocusRequest {
            agent_id: b(),
            ..Default::default()
        }
    );
    // Calibration sessions.
    case!(
        "CreateCalibrationSession name",
        calibrations,
        create_calibration_session,
        CreateCalibrationSessionRequest {
            name: b(),
            call_ids: vec![call_id.to_owned()],
            reviewers: vec![b(), b() + "2"],
        }
    );
    case!(
        "CreateCalibrationSession call_ids",
        calibrations,
        create_calibration_session,
        CreateCalibrationSessionRequest {
            name: "n".into(),
            call_ids: vec![b()],
            reviewers: vec!["a".into(), "b".into()],
        }
    );
    case!(
        "GetCalibrationSession session_id",
        calibrations,
        get_calibration_session,
        GetCalibrationSessionRequest { session_id: b() }
    );
    case!(
        "SubmitCalibrationAnswers note",
        calibrations,
        submit_calibration_answers,
        SubmitCalibrationAnswersRequest {
            session_id: b(),
            call_id: call_id.to_owned(),
            answers: Vec::new(),
            note: b(),
        }
    );
    // Disputes.
    case!(
        "OpenDispute comment",
        disputes,
        open_dispute,
        OpenDisputeRequest {
            scorecard_id: card_id.to_owned(),
            criterion_id: "professionalism".into(),
            check_id: "greeting".into(),
            comment: b(),
        }
    );
    case!(
        "OpenDispute check_id",
        disputes,
        open_dispute,
        OpenDisputeRequest {
            scorecard_id: card_id.to_owned(),
            criterion_id: "professionalism".into(),
            check_id: b(),
            comment: "c".into(),
        }
    );
    case!(
        "GetDispute dispute_id",
        disputes,
        get_dispute,
        GetDisputeRequest { dispute_id: b() }
    );
    case!(
        "ResolveDispute reason",
        disputes,
        resolve_dispute,
        ResolveDisputeRequest {
            dispute_id: b(),
            reason: b(),
            ..Default::default()
        }
    );
    case!(
        "AcknowledgeScorecard comment",
        disputes,
        acknowledge_scorecard,
        AcknowledgeScorecardRequest {
            scorecard_id: card_id.to_owned(),
            comment: b(),
        }
    );
    // Webhooks.
    case!(
        "CreateWebhookEndpoint url",
        webhooks,
        create_webhook_endpoint,
        CreateWebhookEndpointRequest {
            url: b(),
            event_kinds: Vec::new(),
        }
    );
    case!(
        "CreateWebhookEndpoint event_kinds",
        webhooks,
        create_webhook_endpoint,
        CreateWebhookEndpointRequest {
            url: "https://127.0.0.1/".into(),
            event_kinds: vec![b()],
        }
    );
    case!(
        "ReplayWebhookDelivery delivery_id",
        webhooks,
        replay_webhook_delivery,
        ReplayWebhookDeliveryRequest { delivery_id: b() }
    );
    case!(
        "ListWebhookDeliveries endpoint_id",
        webhooks,
        list_webhook_deliveries,
        ListWebhookDeliveriesRequest {
            endpoint_id: b(),
            ..Default::default()
        }
    );
    // Keys.
    case!(
        "CreateApiKey label",
        keys,
        create_api_key,
        CreateApiKeyRequest {
            role: KeyRole::Ingest as i32,
            label: b(),
            ..Default::default()
        }
    );
    case!(
        "CreateApiKey agent_id",
        keys,
        create_api_key,
        CreateApiKeyRequest {
            role: KeyRole::Agent as i32,
            agent_id: b(),
            ..Default::default()
        }
    );
    case!(
        "CreateApiKey team_id",
        keys,
        create_api_key,
        CreateApiKeyRequest {
            role: KeyRole::Coach as i32,
            team_id: b(),
            ..Default::default()
        }
    );
    case!(
        "RevokeApiKey key_id",
        keys,
        revoke_api_key,
        RevokeApiKeyRequest {
            key_id: b(),
            reason: String::new(),
        }
    );
    case!(
        "RevokeApiKey reason",
        keys,
        revoke_api_key,
        RevokeApiKeyRequest {
            key_id: "0123456789abcdef".into(),
            reason: b(),
        }
    );
    case!(
        "RotateApiKey key_id",
        keys,
        rotate_api_key,
        RotateApiKeyRequest {
            key_id: b(),
            grace_seconds: None,
        }
    );
    case!(
        "ListKeyEvents page_token",
        keys,
        list_key_events,
        ListKeyEventsRequest {
            page_token: b(),
            ..Default::default()
        }
    );
    // Tenant settings.
    let retention = |etag: String, path: String| UpdateTenantSettingsRequest {
        settings: Some(TenantSettings {
            retention: Some(RetentionPolicy {
                audio_days: 30,
                transcript_days: 60,
            }),
            etag,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec![path] }),
    };
    case!(
        "UpdateTenantSettings settings.etag",
        tenants,
        update_tenant_settings,
        retention(b(), "retention".into())
    );
    case!(
        "UpdateTenantSettings update_mask",
        tenants,
        update_tenant_settings,
        retention(String::new(), b())
    );
    case!(
        "ListTenantEvents page_token",
        tenants,
        list_tenant_events,
        ListTenantEventsRequest {
            page_token: b(),
            ..Default::default()
        }
    );
    out
}

async fn hostile_strings_get_a_clear_status_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    let c = clients(&app, &key).await;
    let stored = c
        .calls
        .clone()
        .submit_transcript(SubmitTranscriptRequest {
            metadata: Some(metadata("rina")),
            transcript: Some(transcript()),
        })
        .await
        .expect("a valid call is scored")
        .into_inner();
    let call_id = stored.call.expect("call").call_id;
    let card_id = stored.scorecard_id;

    let mut failures = Vec::new();
    let mut values = vec![
        ("NUL".to_owned(), NUL.to_owned()),
        ("20 KB".to_owned(), huge()),
    ];
    values.extend(
        random_values(4)
            .into_iter()
            .enumerate()
            .map(|(n, value)| (format!("random #{n}"), value)),
    );
    for (label, bad) in values {
        for (name, answer) in requests(&c, &bad, &call_id, &card_id) {
            match answer.await {
                Err(status) if matches!(status.code(), Code::Internal | Code::Unknown) => {
                    failures.push(format!("{name} ({label}): {status:?}"));
                }
                Err(status) if status.message().len() > 1_024 => {
                    failures.push(format!(
                        "{name} ({label}): a {}-byte message echoes the value",
                        status.message().len()
                    ));
                }
                Err(status) if label == "NUL" && status.code() != Code::InvalidArgument => {
                    failures.push(format!("{name} ({label}): {status:?}"));
                }
                // A NUL inside a document, a note or a reason is refused too:
                // PostgreSQL cannot store it, so neither database does.
                Ok(()) if label == "NUL" => failures.push(format!("{name} ({label}): accepted")),
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // What was stored before is intact.
    let call = c
        .calls
        .clone()
        .get_call(GetCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect("still there")
        .into_inner();
    assert_eq!(call.call.expect("call").call_id, call_id);
    c.scorecards
        .clone()
        .get_scorecard(GetScorecardRequest {
            scorecard_id: card_id,
        })
        .await
        .expect("scorecard still there");
    app.stop().await;
}
