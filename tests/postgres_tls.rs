//! sqlx to PostgreSQL over TLS: a private cluster (initdb, a test CA,
//! `hostssl` only) started for this test on its own port; the shared server
//! on 5432 is never touched. The service opens, migrates and serves on it
//! with `sslmode=verify-full`, and refuses plaintext or an unknown CA.

mod common;

use std::time::Duration;

use callscore::app::Application;
use callscore::auth::Role;
use callscore::proto::ListCallsRequest;
use common::certs::TestCa;
use common::pg_cluster::PrivateCluster;
use common::test_settings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_on_postgres_over_verified_tls() {
    let cluster = tokio::task::spawn_blocking(|| PrivateCluster::start(true))
        .await
        .expect("cluster");
    let verified = cluster.url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        cluster.ca_file().display()
    ));

    // The whole server on it: open, migrate, authenticate, answer.
    let blobs = tempfile::tempdir().expect("blobs");
    let app = Application::build(test_settings(&verified, blobs.path()))
        .await
        .expect("the server starts on PostgreSQL over TLS");
    let address = app.local_addr();
    let store = app.store();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let key = common::stored_key(store.as_ref(), "acme", Role::Coach).await;
    let mut calls = common::calls_at(address, &key).await;
    let listed = calls
        .list_calls(ListCallsRequest::default())
        .await
        .expect("ListCalls over a TLS database connection");
    assert!(listed.into_inner().calls.is_empty());
    shutdown.cancel();
    server.await.expect("joined").expect("stopped cleanly");

    // Plaintext is refused by the cluster, and a CA the client does not
    // know fails verification: neither silently connects.
    let plaintext = callscore::store::open(&cluster.url("sslmode=disable"), 1).await;
    assert!(plaintext.is_err(), "plaintext connected");
    let dir = tempfile::tempdir().expect("temp dir");
    let stranger = TestCa::new("not the database's CA").write(&dir.path().join("other.pem"));
    let unverified = tokio::time::timeout(
        Duration::from_secs(30),
        callscore::store::open(
            &cluster.url(&format!(
                "sslmode=verify-full&sslrootcert={}",
                stranger.display()
            )),
            1,
        ),
    )
    .await
    .expect("answers");
    assert!(unverified.is_err(), "connected with an unknown CA");
    // `require` encrypts without verifying, as libpq does.
    let required = callscore::store::open(&cluster.url("sslmode=require"), 1).await;
    assert!(required.is_ok(), "{:?}", required.err());
}
