//! Health that tells the truth, on the plaintext admin port: each role
//! reports its own services, liveness stays up while a draining process
//! is no longer ready, `/livez` and `/readyz` agree with gRPC health, and
//! `callscore health` turns a status into an exit code for probes.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use callscore::auth::Role;
use callscore::proto::submit_call_request::Payload;
use callscore::proto::{CallMetadata, SubmitCallRequest};
use common::{Backend, spawn_app_with};
use tonic::Code;

const SERVING: i32 = 1;
const NOT_SERVING: i32 = 2;

async fn status(address: SocketAddr, service: &str) -> Result<i32, Code> {
    common::health_status(address, service).await
}

fn probe(admin: SocketAddr, service: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args([
            "health",
            "--address",
            &admin.to_string(),
            "--service",
            service,
        ])
        .output()
        .expect("callscore health")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reports_its_own_services_on_the_admin_port() {
    let api = spawn_app_with(Backend::Sqlite, |s| {
        s.admin_listen_address = "127.0.0.1:0".into();
    })
    .await;
    let admin = api.admin.expect("admin port");
    for service in ["", "liveness", "readiness", "callscore.v1.CallService"] {
        assert_eq!(status(admin, service).await, Ok(SERVING), "{service:?}");
        // The gRPC port answers the same.
        assert_eq!(
            status(api.address, service).await,
            Ok(SERVING),
            "{service:?}"
        );
    }
    assert_eq!(status(admin, "worker").await, Err(Code::NotFound));
    assert_eq!(common::http_get(admin, "/livez").await.0, 200);
    assert_eq!(common::http_get(admin, "/readyz").await.0, 200);
    // Metrics are installed by `serve` only (tests/traces.rs scrapes them).
    assert_eq!(common::http_get(admin, "/metrics").await.0, 503);
    assert_eq!(common::http_get(admin, "/nothing").await.0, 404);

    let ready = probe(admin, "readiness");
    assert!(ready.status.success(), "{ready:?}");
    assert!(String::from_utf8_lossy(&ready.stdout).contains("readiness: SERVING"));
    let refused = probe(admin, "worker");
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let unreachable = probe(common::free_address(), "readiness");
    assert_eq!(unreachable.status.code(), Some(1), "{unreachable:?}");
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach"));
    api.stop().await;

    let worker = spawn_app_with(Backend::Sqlite, |s| {
        s.admin_listen_address = "127.0.0.1:0".into();
        s.role = "worker".into();
        s.model_path = common::model("ggml-tiny.en-q8_0.bin");
    })
    .await;
    let admin = worker.admin.expect("admin port");
    for service in ["", "liveness", "readiness", "worker"] {
        assert_eq!(status(admin, service).await, Ok(SERVING), "{service:?}");
    }
    assert_eq!(
        status(admin, "callscore.v1.CallService").await,
        Err(Code::NotFound)
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_process_is_live_but_not_ready() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.admin_listen_address = "127.0.0.1:0".into();
    })
    .await;
    let admin = app.admin.expect("admin port");
    let key = app.key("acme", Role::Admin).await;
    // An upload that has started and not finished holds the drain open.
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    sender
        .send(SubmitCallRequest {
            payload: Some(Payload::Metadata(CallMetadata {
                agent_id: "agent-7".into(),
                ..CallMetadata::default()
            })),
        })
        .await
        .expect("metadata");
    let mut calls = app.calls(&key).await;
    let upload = tokio::spawn(async move {
        calls
            .submit_call(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.shutdown.cancel();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while status(admin, "readiness").await != Ok(NOT_SERVING) {
        assert!(
            std::time::Instant::now() < deadline,
            "still ready while draining"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status(admin, "liveness").await, Ok(SERVING));
    assert_eq!(common::http_get(admin, "/readyz").await.0, 503);
    assert_eq!(common::http_get(admin, "/livez").await.0, 200);
    assert!(
        !app.server.is_finished(),
        "the upload should hold the drain"
    );
    // The upload finishes; the process stops, and the admin port with it.
    sender
        .send(SubmitCallRequest {
            payload: Some(Payload::AudioChunk(b"audio".to_vec())),
        })
        .await
        .expect("chunk");
    drop(sender);
    // Answered either way; what matters is that it no longer holds the drain.
    let _answer = upload.await.expect("upload task");
    app.server.await.expect("joined").expect("stopped");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(admin).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "admin port still open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
