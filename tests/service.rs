//! The server as a whole: health, reflection, authentication on every RPC,
//! the contract's not-yet-delivered RPCs, and graceful shutdown.

mod common;

use callscore::auth::Role;
use callscore::proto::call_service_client::CallServiceClient;
use callscore::proto::insight_service_client::InsightServiceClient;
use callscore::proto::review_service_client::ReviewServiceClient;
use callscore::proto::scorecard_service_client::ScorecardServiceClient;
use callscore::proto::*;
use common::{Backend, BearerKey, spawn_app};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

both_backends!(
    health_is_serving_without_a_key,
    reflection_lists_every_service,
    every_rpc_needs_a_valid_key,
    roles_are_checked_before_anything_else,
    shutdown_turns_health_off_and_drains,
);

async fn health_is_serving_without_a_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut health = HealthClient::new(app.channel().await);
    for service in ["", "callscore.v1.RubricService", "callscore.v1.CallService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    app.stop().await;
}

async fn reflection_lists_every_service(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut reflection = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("stream")
        .expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reply {response:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    for expected in callscore::app::SERVICE_NAMES {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n == "grpc.health.v1.Health"),
        "{names:?}"
    );
    app.stop().await;
}

async fn every_rpc_needs_a_valid_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let good = app.key("acme", Role::Admin).await;
    let mut wrong_secret = good.clone();
    let last = wrong_secret.pop().expect("key");
    wrong_secret.push(if last == 'a' { 'b' } else { 'a' });
    let unknown = callscore::auth::issue_key();
    let unknown = secrecy::ExposeSecret::expose_secret(&unknown.token).to_string();
    for key in [
        None,
        Some("garbage".to_string()),
        Some(wrong_secret),
        Some(unknown),
    ] {
        let codes = call_every_rpc(&app, key.clone()).await;
        for (rpc, code) in codes {
            assert_eq!(code, Code::Unauthenticated, "{rpc} with {key:?}");
        }
    }
    app.stop().await;
}

async fn roles_are_checked_before_anything_else(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    for (rpc, code) in call_every_rpc(&app, Some(admin)).await {
        // Empty requests: the admin passes the role check (then meets validation).
        assert!(
            !matches!(code, Code::Unauthenticated | Code::PermissionDenied),
            "{rpc} as admin answered {code:?}"
        );
    }
    let ingest = app.key("acme", Role::Ingest).await;
    for (rpc, code) in call_every_rpc(&app, Some(ingest)).await {
        let allowed = [
            "SubmitCall",
            "SubmitTranscript",
            "GetCall",
            "WatchCall",
            "ListCalls",
        ];
        if allowed.contains(&rpc) {
            assert_ne!(code, Code::PermissionDenied, "{rpc} as ingest");
        } else {
            assert_eq!(code, Code::PermissionDenied, "{rpc} as ingest");
        }
    }
    app.stop().await;
}

async fn shutdown_turns_health_off_and_drains(backend: Backend) {
    let app = spawn_app(backend).await;
    let channel = app.channel().await;
    let mut health = HealthClient::new(channel.clone());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "callscore.v1.RubricService".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("stream").expect("status");
    assert_eq!(first.status, ServingStatus::Serving as i32);
    app.shutdown.cancel();
    let next = watch.message().await.expect("stream").expect("status");
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    drop(watch);
    app.server.await.expect("server task").expect("clean stop");
    drop(app.database);
}

/// Calls every RPC of the contract except RubricService; returns each one's status code.
async fn call_every_rpc(app: &common::TestApp, key: Option<String>) -> Vec<(&'static str, Code)> {
    let channel = app.channel().await;
    let auth = BearerKey(key);
    let mut calls = CallServiceClient::with_interceptor(channel.clone(), auth.clone());
    let mut scorecards = ScorecardServiceClient::with_interceptor(channel.clone(), auth.clone());
    let mut reviews = ReviewServiceClient::with_interceptor(channel.clone(), auth.clone());
    let mut insights = InsightServiceClient::with_interceptor(channel, auth);
    fn code<T>(result: Result<T, tonic::Status>) -> Code {
        match result {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        }
    }
    let upload = tokio_stream::iter([SubmitCallRequest {
        payload: Some(submit_call_request::Payload::Metadata(
            CallMetadata::default(),
        )),
    }]);
    vec![
        ("SubmitCall", code(calls.submit_call(upload).await)),
        (
            "SubmitTranscript",
            code(
                calls
                    .submit_transcript(SubmitTranscriptRequest::default())
                    .await,
            ),
        ),
        (
            "GetCall",
            code(calls.get_call(GetCallRequest::default()).await),
        ),
        (
            "WatchCall",
            code(calls.watch_call(WatchCallRequest::default()).await),
        ),
        (
            "ListCalls",
            code(calls.list_calls(ListCallsRequest::default()).await),
        ),
        (
            "DeleteCall",
            code(calls.delete_call(DeleteCallRequest::default()).await),
        ),
        (
            "GetScorecard",
            code(
                scorecards
                    .get_scorecard(GetScorecardRequest::default())
                    .await,
            ),
        ),
        (
            "ListScorecards",
            code(
                scorecards
                    .list_scorecards(ListScorecardsRequest::default())
                    .await,
            ),
        ),
        (
            "RescoreCall",
            code(scorecards.rescore_call(RescoreCallRequest::default()).await),
        ),
        (
            "OverrideCheck",
            code(
                reviews
                    .override_check(OverrideCheckRequest::default())
                    .await,
            ),
        ),
        (
            "ListAuditEvents",
            code(
                reviews
                    .list_audit_events(ListAuditEventsRequest::default())
                    .await,
            ),
        ),
        (
            "AddCoachingNote",
            code(
                reviews
                    .add_coaching_note(AddCoachingNoteRequest::default())
                    .await,
            ),
        ),
        (
            "ListCoachingNotes",
            code(
                reviews
                    .list_coaching_notes(ListCoachingNotesRequest::default())
                    .await,
            ),
        ),
        (
            "GetAgentTrend",
            code(
                insights
                    .get_agent_trend(GetAgentTrendRequest::default())
                    .await,
            ),
        ),
        (
            "GetTeamSummary",
            code(
                insights
                    .get_team_summary(GetTeamSummaryRequest::default())
                    .await,
            ),
        ),
        (
            "GetCoachingFocus",
            code(
                insights
                    .get_coaching_focus(GetCoachingFocusRequest::default())
                    .await,
            ),
        ),
    ]
}
