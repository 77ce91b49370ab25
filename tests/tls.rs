//! TLS on the gRPC port, through real clients: a verified server, plaintext
//! refused, mutual TLS, certificates replaced while serving, the CLI over
//! `https://`, and bad files named at start.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use callscore::app::Application;
use callscore::auth::Role;
use callscore::config::Settings;
use common::certs::{LeafFiles, TestCa};
use common::{Backend, TestApp, spawn_app_with};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn use_tls(settings: &mut Settings, server: &LeafFiles, client_ca: Option<&Path>) {
    settings.tls_cert_path = server.certificate.clone();
    settings.tls_key_path = server.key.clone();
    if let Some(ca) = client_ca {
        settings.tls_client_ca_path = ca.to_path_buf();
    }
}

/// A client configuration trusting `ca`, optionally presenting a certificate.
fn client_config(ca: &TestCa, identity: Option<&common::certs::Leaf>) -> ClientTlsConfig {
    callscore::tls::install_crypto_provider();
    let mut config = ClientTlsConfig::new()
        .domain_name("127.0.0.1")
        .ca_certificate(Certificate::from_pem(ca.pem()));
    if let Some(leaf) = identity {
        config = config.identity(Identity::from_pem(&leaf.certificate_pem, &leaf.key_pem));
    }
    config
}

/// Asks health over a fresh connection; Err describes why it failed.
async fn health(app: &TestApp, scheme: &str, tls: Option<ClientTlsConfig>) -> Result<i32, String> {
    let mut endpoint = Channel::from_shared(format!("{scheme}://{}", app.address))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
    }
    let channel = endpoint.connect().await.map_err(|e| format!("{e:?}"))?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(|status| format!("{status:?}"))?;
    Ok(answer.into_inner().status)
}

const SERVING: i32 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_verified_clients_and_refuses_plaintext() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("callscore test CA");
    let server = ca.server_leaf().write(dir.path(), "server");
    let app = spawn_app_with(Backend::Sqlite, |s| use_tls(s, &server, None)).await;

    assert_eq!(
        health(&app, "https", Some(client_config(&ca, None))).await,
        Ok(SERVING)
    );
    // A client that does not trust the server's CA does not get in.
    let stranger = TestCa::new("someone else's CA");
    let refused = health(&app, "https", Some(client_config(&stranger, None))).await;
    assert!(refused.is_err(), "{refused:?}");
    // Nor does one that speaks plaintext.
    let plaintext = health(&app, "http", None).await;
    assert!(plaintext.is_err(), "{plaintext:?}");
    // A real RPC with a key, over TLS.
    let key = app.key("acme", Role::Coach).await;
    let output = callscore_cli(&app, &key, &ca.write(&dir.path().join("ca.pem"))).await;
    assert!(output.status.success(), "{output:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_certificate_from_the_configured_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server_ca = TestCa::new("server CA");
    let client_ca = TestCa::new("platform client CA");
    let server = server_ca.server_leaf().write(dir.path(), "server");
    let client_ca_file = client_ca.write(&dir.path().join("clients.pem"));
    let app = spawn_app_with(Backend::Sqlite, |s| {
        use_tls(s, &server, Some(&client_ca_file))
    })
    .await;

    let platform = client_ca.client_leaf("platform-a");
    assert_eq!(
        health(
            &app,
            "https",
            Some(client_config(&server_ca, Some(&platform)))
        )
        .await,
        Ok(SERVING)
    );
    let anonymous = health(&app, "https", Some(client_config(&server_ca, None))).await;
    assert!(anonymous.is_err(), "{anonymous:?}");
    // A certificate the configured CA did not sign is refused too.
    let forged = server_ca.client_leaf("platform-a");
    let refused = health(
        &app,
        "https",
        Some(client_config(&server_ca, Some(&forged))),
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_certificates_are_served_without_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old_ca = TestCa::new("old CA");
    let server = old_ca.server_leaf().write(dir.path(), "server");
    let app = spawn_app_with(Backend::Sqlite, |s| {
        use_tls(s, &server, None);
        s.tls_reload_seconds = 1;
    })
    .await;
    assert_eq!(
        health(&app, "https", Some(client_config(&old_ca, None))).await,
        Ok(SERVING)
    );

    // A half-done rotation (a certificate without its key) keeps the old pair.
    let new_ca = TestCa::new("new CA");
    let rotated = new_ca.server_leaf();
    std::fs::write(&server.certificate, &rotated.certificate_pem).expect("write");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        health(&app, "https", Some(client_config(&old_ca, None))).await,
        Ok(SERVING),
        "a mismatched pair must not replace the working one"
    );

    std::fs::write(&server.key, &rotated.key_pem).expect("write");
    let started = Instant::now();
    loop {
        if health(&app, "https", Some(client_config(&new_ca, None))).await == Ok(SERVING) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the new certificate was not served within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let old = health(&app, "https", Some(client_config(&old_ca, None))).await;
    assert!(old.is_err(), "the old certificate is still served: {old:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_verifies_an_https_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("private CA");
    let server = ca.server_leaf().write(dir.path(), "server");
    let app = spawn_app_with(Backend::Sqlite, |s| use_tls(s, &server, None)).await;
    let key = app.key("acme", Role::Coach).await;

    // Without the private CA the public roots do not vouch for the server:
    // the CLI refuses rather than falling back to plaintext.
    let unverified = run_cli(&app, &key, &[]).await;
    assert!(!unverified.status.success(), "{unverified:?}");
    let stderr = String::from_utf8_lossy(&unverified.stderr);
    assert!(stderr.contains("cannot reach"), "{stderr}");

    let ca_file = ca.write(&dir.path().join("ca.pem"));
    let verified = callscore_cli(&app, &key, &ca_file).await;
    assert!(verified.status.success(), "{verified:?}");

    // TLS options against a plaintext URL are a mistake, said so.
    let output = tokio::task::spawn_blocking({
        let address = app.address;
        let ca_file = ca_file.clone();
        let key = key.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_callscore"))
                .args(["trends", "--agent", "a1", "--server"])
                .arg(format!("http://{address}"))
                .arg("--ca-file")
                .arg(&ca_file)
                .env("CALLSCORE_API_KEY", key)
                .output()
                .expect("runs")
        }
    })
    .await
    .expect("joined");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("https://"));

    // A CA file that is not PEM is named.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("write");
    let output = run_cli(&app, &key, &["--ca-file", junk.to_str().expect("utf-8")]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--ca-file") && stderr.contains("junk.pem"),
        "{stderr}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_tls_files_are_named_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = common::TestDatabase::new(Backend::Sqlite).await;
    let ca = TestCa::new("CA");
    let server = ca.server_leaf().write(dir.path(), "server");
    let other = ca.server_leaf().write(dir.path(), "other");

    let mut settings = common::test_settings(&database.url, dir.path());
    settings.tls_cert_path = server.certificate.clone();
    let error = Application::build(settings.clone())
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("tls_key_path"), "{error}");

    settings.tls_key_path = other.key.clone();
    let error = Application::build(settings.clone())
        .await
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("do not make a usable pair"),
        "{error}"
    );

    settings.tls_key_path = dir.path().join("missing.key");
    let error = Application::build(settings).await.err().expect("refused");
    let message = error.to_string();
    assert!(
        message.contains("tls_key_path") && message.contains("missing.key"),
        "{message}"
    );
}

/// `callscore trends` against the TLS server, trusting `ca_file`.
async fn callscore_cli(app: &TestApp, key: &str, ca_file: &Path) -> std::process::Output {
    run_cli(app, key, &["--ca-file", ca_file.to_str().expect("utf-8")]).await
}

async fn run_cli(app: &TestApp, key: &str, extra: &[&str]) -> std::process::Output {
    let address = app.address;
    let key = key.to_string();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_callscore"))
            .args(["trends", "--agent", "a1", "--server"])
            .arg(format!("https://{address}"))
            .args(&extra)
            .env("CALLSCORE_API_KEY", key)
            .env_remove("CALLSCORE_CA_FILE")
            .output()
            .expect("runs")
    })
    .await
    .expect("joined")
}
