//! The change feed (docs/change-feed.md): every change to a call is written
//! to the outbox in its own transaction, and WatchCall follows the feed, on
//! the server that made the change and on another replica of the same
//! database (SQLite: the fallback poll; PostgreSQL: LISTEN/NOTIFY).

mod common;

use std::time::Duration;

use callscore::app::Application;
use callscore::auth::Role;
use callscore::proto::*;
use callscore::store::{ChangeKind, ClaimedJob, Stage};
use common::{Backend, TestApp, spawn_app, test_settings};
use tokio_util::sync::CancellationToken;
use tonic::Code;

both_backends!(
    the_outbox_records_each_change_in_order,
    watchers_on_another_replica_follow_a_call_to_its_end,
    a_watcher_joining_before_its_replica_reads_the_feed_never_sees_the_stage_step_back,
    deleting_a_watched_call_ends_the_stream_with_not_found,
);

/// A call with placeholder audio; API-only servers leave it queued.
async fn queued_call(app: &TestApp, key: &str) -> String {
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        team_id: "t".into(),
        external_call_id: "ext-1".into(),
        call_started_at: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        ..Default::default()
    };
    common::upload_placeholder_call(app, key, metadata).await
}

/// Claims the queued call's job, as a worker would, and moves it to
/// TRANSCRIBING at `progress`.
async fn transcribing(app: &TestApp, worker: &str, progress: f64) -> ClaimedJob {
    let job = app
        .store
        .claim_job(worker, 60_000)
        .await
        .expect("claim")
        .expect("a job");
    app.store
        .set_progress(&job, Stage::Transcribing, progress)
        .await
        .expect("progress");
    job
}

async fn the_outbox_records_each_change_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let before = app.store.latest_change_seq().await.expect("seq");
    let call_id = queued_call(&app, &admin).await;
    let job = transcribing(&app, "worker-1", 0.5).await;
    app.store
        .fail_attempt(&job, "audio is not a known format", true, 0)
        .await
        .expect("fail");

    let events = app.store.changes_after(before, 100).await.expect("read");
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.stage, e.call_id.as_str(), e.tenant_id.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                ChangeKind::CallQueued,
                Some(Stage::Queued),
                call_id.as_str(),
                "acme"
            ),
            (
                ChangeKind::CallProgress,
                Some(Stage::Decoding),
                call_id.as_str(),
                "acme"
            ),
            (
                ChangeKind::CallProgress,
                Some(Stage::Transcribing),
                call_id.as_str(),
                "acme"
            ),
            (
                ChangeKind::CallFailed,
                Some(Stage::Failed),
                call_id.as_str(),
                "acme"
            ),
        ]
    );
    assert!(events.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    assert_eq!(events[2].progress, 0.5);
    assert_eq!(events[3].message, "audio is not a known format");
    let latest = app.store.latest_change_seq().await.expect("seq");
    assert_eq!(latest, events[3].seq);
    let again = app
        .store
        .changes_in(&[events[1].seq, latest + 1_000])
        .await
        .expect("by seq");
    assert_eq!(again, vec![events[1].clone()]);

    // Deleting the call leaves only the fact of its deletion.
    app.calls(&admin)
        .await
        .delete_call(DeleteCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect("delete");
    let events = app.store.changes_after(before, 100).await.expect("read");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, ChangeKind::CallDeleted);
    assert_eq!(events[0].stage, None);

    let pruned = app
        .store
        .prune_changes(callscore::store::now_ms() + 1)
        .await
        .expect("prune");
    assert_eq!(pruned, 1);
    assert!(
        app.store
            .changes_after(before, 100)
            .await
            .expect("read")
            .is_empty()
    );
    app.stop().await;
}

/// A second server on the same database, as another replica would be.
async fn replica_of(app: &TestApp) -> (std::net::SocketAddr, CancellationToken, tempfile::TempDir) {
    let blob_dir = tempfile::tempdir().expect("blob dir");
    let settings = test_settings(&app.database.url, blob_dir.path());
    let replica = Application::build(settings).await.expect("replica builds");
    let address = replica.local_addr();
    let shutdown = CancellationToken::new();
    tokio::spawn(replica.run_until_stopped(shutdown.clone()));
    (address, shutdown, blob_dir)
}

async fn watchers_on_another_replica_follow_a_call_to_its_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let (replica, replica_shutdown, _blobs) = replica_of(&app).await;
    let call_id = queued_call(&app, &admin).await;

    let mut streams = Vec::new();
    for _ in 0..20 {
        let mut calls = common::calls_at(replica, &admin).await;
        let mut stream = calls
            .watch_call(WatchCallRequest {
                call_id: call_id.clone(),
            })
            .await
            .expect("watch")
            .into_inner();
        let first = stream.message().await.expect("first").expect("state now");
        assert_eq!(first.stage(), CallStage::Queued);
        streams.push(stream);
    }

    // The first server's store drives the call, as its worker would.
    let job = transcribing(&app, "worker-on-a", 0.25).await;
    app.store
        .set_progress(&job, Stage::Transcribing, 0.75)
        .await
        .expect("progress");
    app.store
        .fail_attempt(&job, "no speech found", true, 0)
        .await
        .expect("fail");

    for mut stream in streams {
        let mut seen = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(event) = stream.message().await.expect("event") {
                seen.push((event.stage(), (event.progress * 100.0).round() as i32));
                if event.stage() == CallStage::Failed {
                    assert_eq!(event.message, "no speech found");
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "stream did not end; saw {seen:?}");
        // Changes that land between two reads may be seen only as the
        // newest state, but in order and always ending in the last one.
        assert_eq!(seen.last(), Some(&(CallStage::Failed, 0)), "saw {seen:?}");
        let order: Vec<_> = seen.iter().map(|(stage, _)| *stage as i32).collect();
        assert!(
            order.windows(2).all(|w| w[0] <= w[1]),
            "out of order: {seen:?}"
        );
    }
    replica_shutdown.cancel();
    app.stop().await;
}

/// The replica's feed trails the store (on SQLite it polls once a second),
/// so a watcher that joins mid-call gets the stored state first and then the
/// feed's older events for the same call: those must not move it back.
async fn a_watcher_joining_before_its_replica_reads_the_feed_never_sees_the_stage_step_back(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let (replica, replica_shutdown, _blobs) = replica_of(&app).await;
    // Lets the replica's feed take its starting position, so that it will
    // replay every event of the call below.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let call_id = queued_call(&app, &admin).await;
    let job = transcribing(&app, "worker-on-a", 0.5).await;

    let mut calls = common::calls_at(replica, &admin).await;
    let mut stream = calls
        .watch_call(WatchCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = stream.message().await.expect("first").expect("state now");
    assert_eq!(first.stage(), CallStage::Transcribing);
    app.store
        .fail_attempt(&job, "no speech found", true, 0)
        .await
        .expect("fail");

    let mut seen = vec![first.stage() as i32];
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = stream.message().await.expect("event") {
            seen.push(event.stage() as i32);
        }
    })
    .await;
    assert!(ended.is_ok(), "stream did not end; saw {seen:?}");
    assert_eq!(seen.last(), Some(&(CallStage::Failed as i32)), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "stepped back: {seen:?}"
    );
    replica_shutdown.cancel();
    app.stop().await;
}

async fn deleting_a_watched_call_ends_the_stream_with_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let call_id = queued_call(&app, &admin).await;
    let mut calls = app.calls(&admin).await;
    let mut stream = calls
        .watch_call(WatchCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(
        stream
            .message()
            .await
            .expect("first")
            .expect("state")
            .stage(),
        CallStage::Queued
    );
    calls
        .delete_call(DeleteCallRequest {
            call_id: call_id.clone(),
        })
        .await
        .expect("delete");
    let status = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the stream ends")
        .expect_err("not found");
    assert_eq!(status.code(), Code::NotFound);
    app.stop().await;
}

/// PostgreSQL only: a commit by one store (another replica) wakes the
/// feed of a store that LISTENs, without waiting for the fallback poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_commits_wake_other_replicas_through_listen_notify() {
    let database = common::TestDatabase::new(Backend::Postgres).await;
    let writer = callscore::store::open(&database.url, 2)
        .await
        .expect("writer");
    let listener = callscore::store::open(&database.url, 2)
        .await
        .expect("listener");
    callscore::tenants::provision_tenant(writer.as_ref(), "acme")
        .await
        .expect("tenant");
    let signal = listener.change_signal();
    let listening = {
        let listener = listener.clone();
        tokio::spawn(async move { listener.listen_for_changes().await })
    };
    let call = |n: u32| callscore::store::NewCall {
        call_id: format!("call-{n}"),
        tenant_id: "acme".into(),
        external_call_id: format!("ext-{n}"),
        agent_id: "rina".into(),
        team_id: "t".into(),
        queue: String::new(),
        call_started_at_ms: 1_700_000_000_000,
        language_hint: "auto".into(),
        channel_layout: "mono".into(),
        rubric_id: String::new(),
        idempotency_key: None,
        audio_key: Some(format!("audio-{n}")),
        audio_bytes: 5,
        trace_context: String::new(),
    };
    // LISTEN takes a moment to be in place; commit until a wake-up arrives.
    let mut woken = false;
    for n in 0..50 {
        writer
            .submit_call(&call(n), 3, 1_000)
            .await
            .expect("submit");
        if tokio::time::timeout(Duration::from_millis(200), signal.notified())
            .await
            .is_ok()
        {
            woken = true;
            break;
        }
    }
    assert!(woken, "no NOTIFY reached the other store");
    assert!(!listening.is_finished(), "the listener stopped");
    listening.abort();
}
