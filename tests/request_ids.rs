//! A request id on every RPC: echoed in the response (a caller's plain id
//! kept, otherwise one made), on errors too, and on every log line written
//! while the RPC is handled, next to the method and tenant, never the key.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use callscore::auth::Role;
use callscore::proto::call_service_client::CallServiceClient;
use callscore::proto::*;
use common::{Backend, BearerKey, spawn_app};
use tonic::Code;

fn with_id<T>(message: T, id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-request-id", id.parse().expect("ascii"));
    request
}

fn transcript_request() -> SubmitTranscriptRequest {
    let segment = |speaker: Speaker, start_ms, end_ms, text: &str| TranscriptSegment {
        speaker: speaker as i32,
        start_ms,
        end_ms,
        text: text.into(),
        ..Default::default()
    };
    SubmitTranscriptRequest {
        metadata: Some(CallMetadata {
            agent_id: "rina".into(),
            team_id: "t".into(),
            external_call_id: "ext-1".into(),
            call_started_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        }),
        transcript: Some(Transcript {
            language: "en".into(),
            segments: vec![
                segment(Speaker::Agent, 0, 2_000, "Good morning, how can I help?"),
                segment(Speaker::Customer, 2_100, 4_000, "My parcel is late."),
            ],
            model_id: String::new(),
            attribution: None,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_the_request_id() {
    let app = spawn_app(Backend::Sqlite).await;
    let key = app.key("acme", Role::Admin).await;
    let mut calls = app.calls(&key).await;

    let answered = calls
        .submit_transcript(with_id(transcript_request(), "platform-42"))
        .await
        .expect("submit");
    assert_eq!(
        answered.metadata().get("x-request-id").expect("id"),
        "platform-42"
    );

    let refused = calls
        .get_call(with_id(
            GetCallRequest {
                call_id: "no-such-call".into(),
            },
            "platform-43",
        ))
        .await
        .expect_err("unknown call");
    assert_eq!(refused.code(), Code::NotFound);
    assert_eq!(
        refused.metadata().get("x-request-id").expect("id"),
        "platform-43"
    );

    // No id, or one that is not a plain token: the server makes one.
    let mut made = Vec::new();
    for request in [
        tonic::Request::new(ListCallsRequest::default()),
        with_id(ListCallsRequest::default(), "has space"),
    ] {
        let response = calls.list_calls(request).await.expect("list");
        let id = response
            .metadata()
            .get("x-request-id")
            .expect("id")
            .to_str()
            .expect("ascii")
            .to_string();
        assert_eq!(id.len(), 36, "{id}");
        made.push(id);
    }
    assert_ne!(made[0], made[1]);

    // Refused before authentication, still with an id.
    let mut anonymous = CallServiceClient::new(app.channel().await);
    let unauthenticated = anonymous
        .list_calls(with_id(ListCallsRequest::default(), "anon-1"))
        .await
        .expect_err("no key");
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    assert_eq!(
        unauthenticated.metadata().get("x-request-id").expect("id"),
        "anon-1"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_the_request_id_and_never_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let database = format!("sqlite://{}/logs.db", dir.path().display());
    let key = common::cli_admin_key(&database);
    let port = common::free_port();
    let log_path = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args(["serve", "--role", "api", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("CALLSCORE_DATABASE_URL", &database)
        .env("CALLSCORE_BLOB_DIR", dir.path().join("blobs"))
        .env("CALLSCORE_ENCODER_DIR", "")
        .env("CALLSCORE_LOG_FORMAT", "json")
        .env("CALLSCORE_LOG_LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("serve");
    let channel = common::channel_when_up(port).await;
    let mut calls = CallServiceClient::with_interceptor(channel, BearerKey(Some(key.clone())));
    let call_id = calls
        .submit_transcript(transcript_request())
        .await
        .expect("submit")
        .into_inner()
        .call
        .expect("call")
        .call_id;
    calls
        .delete_call(with_id(
            DeleteCallRequest {
                call_id: call_id.clone(),
            },
            "trace-me-1",
        ))
        .await
        .expect("delete");
    // The line is written before the response; give the writer a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&log_path).expect("log");
    // Keys are cs_<key id>_<secret>: the key id may be logged, the secret never.
    let (_, secret) = key.rsplit_once('_').expect("key format");
    assert!(secret.len() >= 16);
    assert!(!log.contains(secret), "the key's secret is in the log");
    let deleted: serde_json::Value = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["message"] == "call deleted")
        .unwrap_or_else(|| panic!("no 'call deleted' line in:\n{log}"));
    let span = &deleted["span"];
    assert_eq!(span["name"], "rpc", "{deleted}");
    assert_eq!(span["request_id"], "trace-me-1", "{deleted}");
    assert_eq!(span["rpc.method"], "DeleteCall", "{deleted}");
    assert_eq!(span["rpc.service"], "callscore.v1.CallService", "{deleted}");
    assert_eq!(span["tenant"], "acme", "{deleted}");
}
