//! Requests that used to take the server down, replayed against a real
//! `callscore serve` child process: after each, the process must still be
//! alive and answer health checks SERVING.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callscore::proto::call_service_client::CallServiceClient;
use callscore::proto::rubric_service_client::RubricServiceClient;
use callscore::proto::submit_call_request::Payload;
use callscore::proto::*;
use common::BearerKey;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A `callscore serve` process on a fresh SQLite file, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    key: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("probe");
    probe.local_addr().expect("addr").port()
}

fn callscore(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callscore"));
    command
        .env(
            "CALLSCORE_DATABASE_URL",
            format!("sqlite://{}/hard.db", dir.display()),
        )
        .env("CALLSCORE_BLOB_DIR", dir.join("blobs"))
        .env("CALLSCORE_ENCODER_DIR", "")
        .env("CALLSCORE_JOB_POLL_MS", "100")
        .env("CALLSCORE_JOB_RETRY_SECONDS", "1")
        .env("CALLSCORE_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

impl Server {
    /// Starts a server with the given role (a worker loads tiny.en).
    async fn start(role: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = callscore(dir.path())
            .args(["keys", "create", "--tenant", "acme", "--role", "admin"])
            .stdout(Stdio::piped())
            .output()
            .expect("keys create");
        assert!(output.status.success(), "{output:?}");
        let key = String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned();
        let port = free_port();
        let child = callscore(dir.path())
            .env(
                "CALLSCORE_MODEL_PATH",
                common::model("ggml-tiny.en-q8_0.bin"),
            )
            .args([
                "serve",
                "--role",
                role,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .spawn()
            .expect("server starts");
        let server = Server {
            child,
            port,
            key,
            _dir: dir,
        };
        server.channel().await;
        server
    }

    async fn channel(&self) -> Channel {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let endpoint =
                Channel::from_shared(format!("http://127.0.0.1:{}", self.port)).expect("uri");
            match endpoint.connect().await {
                Ok(channel) => return channel,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("server never came up: {error}"),
            }
        }
    }

    /// The process is alive and its health check says SERVING.
    async fn assert_serving(&mut self) {
        assert!(
            self.child.try_wait().expect("status").is_none(),
            "the server process died"
        );
        let status = HealthClient::new(self.channel().await)
            .check(HealthCheckRequest::default())
            .await
            .expect("health answers")
            .into_inner()
            .status;
        assert_eq!(status, 1, "SERVING");
    }

    async fn rubrics(
        &self,
    ) -> RubricServiceClient<tonic::service::interceptor::InterceptedService<Channel, BearerKey>>
    {
        RubricServiceClient::with_interceptor(
            self.channel().await,
            BearerKey(Some(self.key.clone())),
        )
    }
}

#[tokio::test]
async fn a_deeply_nested_rubric_is_refused_and_the_server_keeps_serving() {
    let mut server = Server::start("api").await;
    let nested = format!("{}x", "- ".repeat(5_000));
    let mut rubrics = server.rubrics().await;
    let response = rubrics
        .validate_rubric(ValidateRubricRequest {
            document: nested.clone(),
        })
        .await
        .expect("validation answers")
        .into_inner();
    assert!(!response.valid);
    assert!(
        response.errors[0].message.contains("nested"),
        "{:?}",
        response.errors
    );
    let status = rubrics
        .create_rubric(CreateRubricRequest { document: nested })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    // A flow-style document nests the same way.
    let flow = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let response = rubrics
        .validate_rubric(ValidateRubricRequest { document: flow })
        .await
        .expect("validation answers")
        .into_inner();
    assert!(!response.valid);
    server.assert_serving().await;
}

#[test]
fn the_cli_refuses_a_deeply_nested_rubric_with_a_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("deep.yaml");
    std::fs::write(&path, format!("{}x", "- ".repeat(200_000))).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args(["rubric", "validate"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("deep.yaml:") && stdout.contains("nested"),
        "{stdout}"
    );
}

/// A WAV header that claims a sample rate of 4294967295 Hz, with 16 KB of data.
fn absurd_wav() -> Vec<u8> {
    let data = vec![0u8; 16_000];
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&u32::MAX.to_le_bytes()); // sample rate
    wav.extend_from_slice(&u32::MAX.to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    wav
}

#[tokio::test]
async fn a_wav_claiming_four_gigahertz_fails_its_call_not_the_server() {
    let mut server = Server::start("all").await;
    let mut calls = CallServiceClient::with_interceptor(
        server.channel().await,
        BearerKey(Some(server.key.clone())),
    );
    let messages = vec![
        SubmitCallRequest {
            payload: Some(Payload::Metadata(CallMetadata {
                agent_id: "rina".into(),
                ..Default::default()
            })),
        },
        SubmitCallRequest {
            payload: Some(Payload::AudioChunk(absurd_wav())),
        },
    ];
    let call_id = calls
        .submit_call(tokio_stream::iter(messages))
        .await
        .expect("upload accepted")
        .into_inner()
        .call
        .expect("call")
        .call_id;
    let call = common::call_once(&mut calls, &call_id, Duration::from_secs(120), |call| {
        call.status == CallStatus::Failed as i32 || call.status == CallStatus::Scored as i32
    })
    .await;
    assert_eq!(call.status, CallStatus::Failed as i32, "scored garbage");
    assert!(
        call.failure_reason.contains("sample rate"),
        "{}",
        call.failure_reason
    );
    // The reason names the recording, never where it is kept.
    assert!(
        !call.failure_reason.contains(".audio") && !call.failure_reason.contains('/'),
        "{}",
        call.failure_reason
    );
    assert_eq!(
        call.attempts, 1,
        "bad audio is a permanent failure: no retry"
    );
    server.assert_serving().await;
}
