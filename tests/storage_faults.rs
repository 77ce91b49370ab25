//! Storage faults are seen and survived: health follows the database, a
//! database that is down answers UNAVAILABLE and the pool heals when it is
//! back, a lost SQLite file is not silently replaced by an empty one, and
//! upload files a crash left are swept.

mod common;

use std::time::{Duration, Instant, SystemTime};

use callscore::app::Application;
use callscore::auth::Role;
use callscore::proto::ListCallsRequest;
use common::pg_cluster::PrivateCluster;
use common::{Backend, spawn_app_with, test_settings};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The server's overall health status (1 SERVING, 2 NOT_SERVING).
async fn health(address: std::net::SocketAddr) -> i32 {
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "callscore.v1.CallService".into(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status
}

async fn health_becomes(address: std::net::SocketAddr, status: i32, limit: Duration) {
    let started = Instant::now();
    while health(address).await != status {
        assert!(
            started.elapsed() < limit,
            "health did not become {status} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const SERVING: i32 = 1;
const NOT_SERVING: i32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_sqlite_file_is_noticed_and_not_silently_replaced() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.health_check_seconds = 1).await;
    app.key("acme", Role::Admin).await;
    health_becomes(app.address, SERVING, Duration::from_secs(1)).await;
    let file = app
        .database
        .url
        .strip_prefix("sqlite://")
        .expect("sqlite URL")
        .to_string();
    std::fs::remove_file(&file).expect("delete the database file");
    health_becomes(app.address, NOT_SERVING, Duration::from_secs(5)).await;
    let url = app.database.url.clone();
    let blobs = app.blob_dir.path().to_path_buf();
    app.shutdown.cancel();
    app.server.await.expect("joined").expect("stopped");

    // A restart refuses to start on a new empty database in its place ...
    let settings = test_settings(&url, &blobs);
    let refused = Application::build(settings.clone())
        .await
        .err()
        .expect("refused");
    let message = refused.to_string();
    assert!(
        message.contains("missing") && message.contains(".created"),
        "{message}"
    );
    assert!(
        !std::path::Path::new(&file).exists(),
        "a new file was created"
    );
    // ... until the operator says so by removing the marker.
    std::fs::remove_file(format!("{file}.created")).expect("remove marker");
    Application::build(settings)
        .await
        .expect("starts empty when told to");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_answers_unavailable_and_the_pool_heals() {
    let cluster = tokio::task::spawn_blocking(|| PrivateCluster::start(false))
        .await
        .expect("cluster");
    let blobs = tempfile::tempdir().expect("blobs");
    let mut settings = test_settings(&cluster.url(""), blobs.path());
    settings.health_check_seconds = 1;
    let app = Application::build(settings).await.expect("server");
    let address = app.local_addr();
    let store = app.store();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let key = common::stored_key(store.as_ref(), "acme", Role::Admin).await;
    let mut calls = common::calls_at(address, &key).await;
    calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect("served");

    tokio::task::block_in_place(|| cluster.halt());
    health_becomes(address, NOT_SERVING, Duration::from_secs(5)).await;
    // Retryable, and quick: not INTERNAL, not a hang.
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the key cache
    let started = Instant::now();
    let down = calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect_err("the database is down");
    assert_eq!(down.code(), Code::Unavailable, "{down:?}");
    assert!(started.elapsed() < Duration::from_secs(15));

    tokio::task::block_in_place(|| cluster.resume());
    health_becomes(address, SERVING, Duration::from_secs(10)).await;
    // Every pooled connection died with the server; the pool replaces them.
    for attempt in 0..20 {
        calls
            .list_calls(ListCallsRequest::default())
            .await
            .unwrap_or_else(|status| panic!("attempt {attempt} after recovery: {status:?}"));
    }
    shutdown.cancel();
    server.await.expect("joined").expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_files_left_by_a_crash_are_swept_and_live_ones_kept() {
    let blobs = tempfile::tempdir().expect("blobs");
    let tenant_dir = blobs.path().join("acme");
    std::fs::create_dir_all(&tenant_dir).expect("dir");
    let orphan = tenant_dir.join("0193-crashed.audio#1");
    let live = tenant_dir.join("0193-uploading.audio#2");
    let stored = tenant_dir.join("0193-kept.audio");
    for file in [&orphan, &live, &stored] {
        std::fs::write(file, b"RIFF").expect("write");
    }
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for file in [&orphan, &stored] {
        std::fs::File::options()
            .write(true)
            .open(file)
            .expect("open")
            .set_modified(an_hour_ago)
            .expect("age it");
    }
    let database = common::TestDatabase::new(Backend::Sqlite).await;
    let mut settings = test_settings(&database.url, blobs.path());
    settings.request_timeout_seconds = 60;
    let app = Application::build(settings).await.expect("server");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let started = Instant::now();
    while orphan.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the orphan was not swept"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(live.exists(), "a young staging file may be a live upload");
    assert!(stored.exists(), "stored audio is never swept");
    shutdown.cancel();
    server.await.expect("joined").expect("stopped");
}
