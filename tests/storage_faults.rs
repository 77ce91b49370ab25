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

/// The server's overall health status (1 SERVING, 2 NOT_SERVING).
async fn health(address: std::net::SocketAddr) -> i32 {
    health_of(address, "callscore.v1.CallService").await
}

/// One health service's status.
async fn health_of(address: std::net::SocketAddr, service: &str) -> i32 {
    common::health_status(address, service)
        .await
        .expect("health answers")
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
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.health_check_seconds = 1;
        s.admin_listen_address = "127.0.0.1:0".into();
    })
    .await;
    let admin = app.admin.expect("admin port");
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
    // Not ready, but alive: restarting the process would not bring the file back.
    assert_eq!(health_of(admin, "readiness").await, NOT_SERVING);
    assert_eq!(health_of(admin, "liveness").await, SERVING);
    assert_eq!(common::http_get(admin, "/readyz").await.0, 503);
    assert_eq!(common::http_get(admin, "/livez").await.0, 200);
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

/// `chattr` on the SQLite files: immutable files refuse every write, also
/// through connections opened before, even for root (permission bits do
/// not stop root, so a chmod cannot stage this).
fn set_immutable(files: &[std::path::PathBuf], on: bool) {
    for file in files {
        let status = std::process::Command::new("chattr")
            .arg(if on { "+i" } else { "-i" })
            .arg(file)
            .status()
            .expect("chattr runs");
        assert!(status.success(), "chattr on {}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_sqlite_spell_answers_unavailable_and_writes_recover() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.health_check_seconds = 1).await;
    let key = app.key("acme", Role::Admin).await;
    let file = std::path::PathBuf::from(
        app.database
            .url
            .strip_prefix("sqlite://")
            .expect("sqlite URL"),
    );
    let mut calls = app.calls(&key).await;
    let note = |n: usize| callscore::proto::SubmitTranscriptRequest {
        metadata: Some(callscore::proto::CallMetadata {
            agent_id: "rina".into(),
            external_call_id: format!("ext-{n}"),
            call_started_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        }),
        transcript: Some(callscore::proto::Transcript {
            language: "en".into(),
            segments: vec![callscore::proto::TranscriptSegment {
                speaker: callscore::proto::Speaker::Agent as i32,
                start_ms: 0,
                end_ms: 2_000,
                text: "Good morning, how can I help you?".into(),
                ..Default::default()
            }],
            model_id: String::new(),
            attribution: None,
        }),
    };
    calls.submit_transcript(note(0)).await.expect("writable");
    let mut wal = file.clone().into_os_string();
    wal.push("-wal");
    let files = [file.clone(), std::path::PathBuf::from(wal)];

    set_immutable(&files, true);
    let mut codes = Vec::new();
    for n in 1..=10 {
        match calls.submit_transcript(note(n)).await {
            Ok(_) => codes.push(Code::Ok),
            Err(status) => codes.push(status.code()),
        }
    }
    // Health tells: the file answers reads but refuses writes.
    health_becomes(app.address, NOT_SERVING, Duration::from_secs(10)).await;
    set_immutable(&files, false);
    // Each write during the spell is refused as retryable or made; none is
    // refused with a misleading status (NOT_FOUND was seen before the call
    // was read back inside its own transaction) or as INTERNAL.
    assert!(
        codes
            .iter()
            .all(|code| matches!(code, Code::Unavailable | Code::Ok)),
        "writes during the spell: {codes:?}"
    );
    assert!(
        codes.contains(&Code::Unavailable),
        "the spell refused nothing: {codes:?}"
    );
    let made = codes.iter().filter(|code| **code == Code::Ok).count();
    let listed = calls
        .list_calls(ListCallsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .calls
        .len();
    // Nothing answered OK is lost. It was, 1 or 2 of 10 per spell: a
    // connection whose ROLLBACK failed (SQLite had rolled back by itself on
    // the I/O error) went back to the pool still counted by sqlx as in a
    // transaction, and the next owner's writes ran as a nested savepoint.
    assert_eq!(
        listed,
        made + 1,
        "calls listed after the spell; codes {codes:?}"
    );
    health_becomes(app.address, SERVING, Duration::from_secs(5)).await;

    // Within seconds every write works again: no pooled connection stays bad.
    let started = Instant::now();
    let mut failed = 0;
    for n in 100..140 {
        if calls.submit_transcript(note(n)).await.is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 0, "of 40 writes after the spell");
    assert!(started.elapsed() < Duration::from_secs(60));
    app.stop().await;
}
