//! The `callscore` binary: key creation, configuration errors, and a served
//! process that stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn callscore() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callscore"));
    command.env_remove("CALLSCORE_DATABASE_URL");
    command
}

#[test]
fn keys_create_prints_a_key_once_and_validates_its_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/keys.db", dir.path().display());
    let output = callscore()
        .args([
            "keys",
            "create",
            "--tenant",
            "acme",
            "--role",
            "admin",
            "--database-url",
            &url,
        ])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let key = String::from_utf8(output.stdout).expect("utf-8");
    assert!(key.trim().starts_with("cs_"), "{key}");
    assert_eq!(key.trim().len(), "cs_".len() + 16 + 1 + 64);

    let output = callscore()
        .args([
            "keys",
            "create",
            "--tenant",
            "acme",
            "--role",
            "root",
            "--database-url",
            &url,
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("root"));

    let output = callscore()
        .args([
            "keys",
            "create",
            "--tenant",
            "a b",
            "--role",
            "coach",
            "--database-url",
            &url,
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tenant"));
}

#[test]
fn a_bad_setting_is_named() {
    let output = callscore()
        .args(["serve", "--listen", "nowhere"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listen_address"), "{stderr}");

    let output = callscore()
        .args(["migrate"])
        .env("CALLSCORE_DATABASE_URL", "mysql://x")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("database_url"));

    // No decoding state at all is refused before the model loads.
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/call-en-stereo-8k.wav");
    let output = callscore()
        .args(["transcribe", sample, "--threads", "0"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--threads must be at least 1"), "{stderr}");
}

#[tokio::test]
async fn serve_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
        probe.local_addr().expect("addr").port()
    };
    let address = format!("127.0.0.1:{port}");
    let child = callscore()
        .args(["serve", "--listen", &address, "--log-format", "json"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/serve.db", dir.path().display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut health = loop {
        let endpoint =
            tonic::transport::Channel::from_shared(format!("http://{address}")).expect("uri");
        match endpoint.connect().await {
            Ok(channel) => break HealthClient::new(channel),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("server never came up: {error}"),
        }
    };
    let status = health
        .check(HealthCheckRequest::default())
        .await
        .expect("health")
        .into_inner()
        .status;
    assert_eq!(status, 1, "SERVING");
    assert!(
        dir.path().join("serve.db").exists(),
        "database created at start"
    );

    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("exits");
    assert!(output.status.success(), "{output:?}");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("SIGTERM"), "{logs}");
    assert!(
        logs.lines().all(|line| line.starts_with('{')),
        "JSON logs: {logs}"
    );
}
