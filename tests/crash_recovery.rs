//! Crash recovery, on SQLite and PostgreSQL: the server process is killed
//! with SIGKILL while it transcribes; a new process picks the job up once
//! the lease expires and exactly one scorecard results.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callscore::proto::call_service_client::CallServiceClient;
use callscore::proto::scorecard_service_client::ScorecardServiceClient;
use callscore::proto::submit_call_request::Payload;
use callscore::proto::*;
use common::{Backend, BearerKey, TestDatabase};
use tonic::transport::Channel;

both_backends!(a_job_survives_a_killed_worker_and_is_scored_once);

fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("probe");
    probe.local_addr().expect("addr").port()
}

fn callscore(database_url: &str, blob_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callscore"));
    command
        .env("CALLSCORE_DATABASE_URL", database_url)
        .env("CALLSCORE_BLOB_DIR", blob_dir)
        .env("CALLSCORE_ROLE", "all")
        .env(
            "CALLSCORE_MODEL_PATH",
            common::model("ggml-tiny.en-q8_0.bin"),
        )
        .env("CALLSCORE_JOB_LEASE_SECONDS", "2")
        .env("CALLSCORE_JOB_POLL_MS", "100")
        .env("CALLSCORE_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn serve(database_url: &str, blob_dir: &Path, port: u16) -> Child {
    callscore(database_url, blob_dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("server starts")
}

async fn connect(port: u16) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let endpoint = Channel::from_shared(format!("http://127.0.0.1:{port}")).expect("uri");
        match endpoint.connect().await {
            Ok(channel) => return channel,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("server never came up: {error}"),
        }
    }
}

/// Thirty seconds of real telephone speech: seconds of transcription, long
/// enough to be killed in the middle of.
fn phone_call() -> Vec<u8> {
    std::fs::read(common::testdata("pyannote/sample.wav")).expect("audio")
}

async fn a_job_survives_a_killed_worker_and_is_scored_once(backend: Backend) {
    let database = TestDatabase::new(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let blob_dir = dir.path().join("blobs");
    let key_output = callscore(&database.url, &blob_dir)
        .args(["keys", "create", "--tenant", "acme", "--role", "admin"])
        .stdout(Stdio::piped())
        .output()
        .expect("keys create");
    assert!(key_output.status.success(), "{key_output:?}");
    let key = String::from_utf8(key_output.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let audio = phone_call();

    let port = free_port();
    let mut first = serve(&database.url, &blob_dir, port);
    let channel = connect(port).await;
    let mut calls = CallServiceClient::with_interceptor(channel, BearerKey(Some(key.clone())));
    let messages = vec![
        SubmitCallRequest {
            payload: Some(Payload::Metadata(CallMetadata {
                agent_id: "rina".into(),
                language_hint: LanguageHint::En as i32,
                ..Default::default()
            })),
        },
        SubmitCallRequest {
            payload: Some(Payload::AudioChunk(audio)),
        },
    ];
    let call_id = calls
        .submit_call(tokio_stream::iter(messages))
        .await
        .expect("upload")
        .into_inner()
        .call
        .expect("call")
        .call_id;

    // Kill the server once it is transcribing.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let call = calls
            .get_call(GetCallRequest {
                call_id: call_id.clone(),
            })
            .await
            .expect("get")
            .into_inner()
            .call
            .expect("call");
        assert_ne!(
            call.status,
            CallStatus::Scored as i32,
            "finished before the kill"
        );
        if call.status == CallStatus::Processing as i32 {
            break;
        }
        assert!(Instant::now() < deadline, "never started processing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");

    let port = free_port();
    let mut second = serve(&database.url, &blob_dir, port);
    let channel = connect(port).await;
    let mut calls =
        CallServiceClient::with_interceptor(channel.clone(), BearerKey(Some(key.clone())));
    let deadline = Instant::now() + Duration::from_secs(300);
    let call = loop {
        let call = calls
            .get_call(GetCallRequest {
                call_id: call_id.clone(),
            })
            .await
            .expect("get")
            .into_inner()
            .call
            .expect("call");
        if call.status == CallStatus::Scored as i32 {
            break call;
        }
        assert_ne!(
            call.status,
            CallStatus::Failed as i32,
            "{}",
            call.failure_reason
        );
        assert!(Instant::now() < deadline, "never scored after the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(call.attempts, 2, "the killed attempt counts, then one more");
    let scorecards = ScorecardServiceClient::with_interceptor(channel, BearerKey(Some(key)))
        .list_scorecards(ListScorecardsRequest {
            call_id: call_id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .scorecards;
    assert_eq!(scorecards.len(), 1, "exactly one scorecard");
    assert_eq!(scorecards[0].scorecard_id, call.latest_scorecard_id);

    let killed = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert!(second.wait().expect("exits").success());
}
