//! API key lifecycle through KeyService and the CLI, on both databases:
//! create, list, last use, rotate with grace, revoke, expiry, revocation
//! seen by another replica within a second, and the audit of key events and
//! (throttled) failed authentications.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use callscore::app::Application;
use callscore::auth::Role;
use callscore::proto::key_service_client::KeyServiceClient;
use callscore::proto::*;
use common::{Authed, Backend, BearerKey, TestApp, spawn_app, test_settings};
use tonic::Code;

async fn keys(app: &TestApp, key: &str) -> KeyServiceClient<Authed> {
    KeyServiceClient::with_interceptor(app.channel().await, BearerKey(Some(key.into())))
}

/// Whether `key` is accepted by the server at `address` right now.
async fn accepted(address: std::net::SocketAddr, key: &str) -> Result<(), tonic::Status> {
    common::calls_at(address, key)
        .await
        .list_calls(ListCallsRequest::default())
        .await
        .map(drop)
}

/// Waits up to `limit` for `key` to be refused; how long it took.
async fn refused_within(
    address: std::net::SocketAddr,
    key: &str,
    limit: Duration,
) -> (Duration, tonic::Status) {
    let started = Instant::now();
    loop {
        if let Err(status) = accepted(address, key).await {
            return (started.elapsed(), status);
        }
        assert!(
            started.elapsed() < limit,
            "the key still works after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_admin_creates_lists_rotates_and_revokes_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let mut service = keys(&app, &admin).await;
    let created = service
        .create_api_key(CreateApiKeyRequest {
            role: KeyRole::Coach as i32,
            label: "coaching dashboard".into(),
            ..Default::default()
        })
        .await
        .expect("created")
        .into_inner();
    let coach = created.key.expect("key");
    assert!(created.secret.starts_with("cs_"));
    assert_eq!(coach.role, KeyRole::Coach as i32);
    accepted(app.address, &created.secret)
        .await
        .expect("the new key works");

    // Listed without secrets; its use is recorded (to the minute).
    let mut last_used = None;
    for _ in 0..40 {
        let listed = service
            .list_api_keys(ListApiKeysRequest::default())
            .await
            .expect("list")
            .into_inner();
        let entry = listed
            .keys
            .iter()
            .find(|key| key.key_id == coach.key_id)
            .expect("listed")
            .clone();
        assert_eq!(entry.label, "coaching dashboard");
        if entry.last_used_at.is_some() {
            last_used = entry.last_used_at;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(last_used.is_some(), "last use not recorded");

    // Rotation without grace: the successor works, the old key stops.
    let rotated = service
        .rotate_api_key(RotateApiKeyRequest {
            key_id: coach.key_id.clone(),
            grace_seconds: Some(0),
        })
        .await
        .expect("rotated")
        .into_inner();
    let successor = rotated.new_key.expect("new key");
    assert_eq!(successor.role, KeyRole::Coach as i32);
    assert_eq!(successor.label, "coaching dashboard");
    assert!(rotated.old_key.expect("old").expires_at.is_some());
    let (_, status) = refused_within(app.address, &created.secret, Duration::from_secs(3)).await;
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("expired"), "{status:?}");
    accepted(app.address, &rotated.secret)
        .await
        .expect("the successor works");
    // A key that no longer works cannot be rotated again.
    let again = service
        .rotate_api_key(RotateApiKeyRequest {
            key_id: coach.key_id.clone(),
            grace_seconds: None,
        })
        .await
        .expect_err("expired");
    assert_eq!(again.code(), Code::NotFound, "{again:?}");

    // Revocation stops it within a second.
    let revoked = service
        .revoke_api_key(RevokeApiKeyRequest {
            key_id: successor.key_id.clone(),
            reason: "laptop lost".into(),
        })
        .await
        .expect("revoked")
        .into_inner()
        .key
        .expect("key");
    assert!(revoked.revoked_at.is_some());
    let (took, _) = refused_within(app.address, &rotated.secret, Duration::from_secs(3)).await;
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    let listed = service
        .list_api_keys(ListApiKeysRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(listed.keys.iter().all(|key| key.key_id != successor.key_id));
    let all = service
        .list_api_keys(ListApiKeysRequest {
            include_revoked: true,
        })
        .await
        .expect("list")
        .into_inner();
    assert!(all.keys.iter().any(|key| key.key_id == successor.key_id));

    // The audit, newest first, paged.
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = service
            .list_key_events(ListKeyEventsRequest {
                page_size: 2,
                page_token: page_token.clone(),
            })
            .await
            .expect("events")
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let of = |key_id: &str, action: KeyEventAction| {
        events
            .iter()
            .filter(|event| event.key_id == key_id && event.action == action as i32)
            .count()
    };
    assert_eq!(of(&coach.key_id, KeyEventAction::Created), 1);
    assert_eq!(of(&coach.key_id, KeyEventAction::Rotated), 1);
    assert_eq!(of(&successor.key_id, KeyEventAction::Created), 1);
    assert_eq!(of(&successor.key_id, KeyEventAction::Revoked), 1);
    assert!(of(&coach.key_id, KeyEventAction::AuthFailed) >= 1);
    let revocation = events
        .iter()
        .find(|event| event.action == KeyEventAction::Revoked as i32)
        .expect("revocation event");
    assert_eq!(revocation.detail, "laptop lost");
    assert!(!revocation.actor.is_empty());
    let failure = events
        .iter()
        .find(|event| event.action == KeyEventAction::AuthFailed as i32)
        .expect("failure event");
    assert_eq!(failure.source, "127.0.0.1");
    let times: Vec<_> = events.iter().map(|event| event.event_id.clone()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    app.stop().await;
}

async fn keys_are_checked_and_scoped(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let other_admin = app.key("globex", Role::Admin).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let mut service = keys(&app, &admin).await;

    let denied = keys(&app, &reviewer)
        .await
        .list_api_keys(ListApiKeysRequest::default())
        .await
        .expect_err("a reviewer");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let bad_role = service
        .create_api_key(CreateApiKeyRequest::default())
        .await
        .expect_err("no role");
    assert_eq!(bad_role.code(), Code::InvalidArgument);
    assert!(bad_role.message().starts_with("role"), "{bad_role:?}");
    let past = service
        .create_api_key(CreateApiKeyRequest {
            role: KeyRole::Ingest as i32,
            label: String::new(),
            expires_at: Some(prost_types::Timestamp {
                seconds: 1_000,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .expect_err("expiry in the past");
    assert!(past.message().starts_with("expires_at"), "{past:?}");
    let long_grace = service
        .rotate_api_key(RotateApiKeyRequest {
            key_id: "0123456789abcdef".into(),
            grace_seconds: Some(31 * 24 * 3600),
        })
        .await
        .expect_err("grace too long");
    assert!(
        long_grace.message().starts_with("grace_seconds"),
        "{long_grace:?}"
    );

    // Another tenant's key is not found, and not touched.
    let theirs = keys(&app, &other_admin)
        .await
        .list_api_keys(ListApiKeysRequest::default())
        .await
        .expect("list")
        .into_inner()
        .keys
        .remove(0);
    let missing = service
        .revoke_api_key(RevokeApiKeyRequest {
            key_id: theirs.key_id.clone(),
            reason: String::new(),
        })
        .await
        .expect_err("cross-tenant");
    assert_eq!(missing.code(), Code::NotFound);
    accepted(app.address, &other_admin)
        .await
        .expect("still works");

    // A key created to expire stops when it does.
    let expiring = service
        .create_api_key(CreateApiKeyRequest {
            role: KeyRole::Ingest as i32,
            label: "short-lived".into(),
            expires_at: Some(prost_types::Timestamp {
                seconds: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_secs() as i64
                    + 2,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .expect("created")
        .into_inner();
    accepted(app.address, &expiring.secret)
        .await
        .expect("works before it expires");
    let (_, status) = refused_within(app.address, &expiring.secret, Duration::from_secs(5)).await;
    assert!(status.message().contains("expired"), "{status:?}");
    app.stop().await;
}

async fn failed_authentications_are_audited_once_per_address_and_interval(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    // The admin's id with a wrong secret, twenty times.
    let (head, _) = admin.rsplit_once('_').expect("key shape");
    let forged = format!("{head}_{}", "0".repeat(64));
    for _ in 0..20 {
        let status = accepted(app.address, &forged).await.expect_err("forged");
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = keys(&app, &admin)
        .await
        .list_key_events(ListKeyEventsRequest::default())
        .await
        .expect("events")
        .into_inner()
        .events;
    let failures: Vec<_> = events
        .iter()
        .filter(|event| event.action == KeyEventAction::AuthFailed as i32)
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].detail.contains("wrong secret"), "{failures:?}");
    app.stop().await;
}

both_backends!(
    an_admin_creates_lists_rotates_and_revokes_keys,
    keys_are_checked_and_scoped,
    failed_authentications_are_audited_once_per_address_and_interval,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_another_replica_within_a_second() {
    let app = spawn_app(Backend::Postgres).await;
    let admin = app.key("acme", Role::Admin).await;
    let ingest = app.key("acme", Role::Ingest).await;
    // A second API replica on the same database, its key cache warm.
    let blobs = tempfile::tempdir().expect("blobs");
    let replica = Application::build(test_settings(&app.database.url, blobs.path()))
        .await
        .expect("replica");
    let replica_address = replica.local_addr();
    let stop_replica = tokio_util::sync::CancellationToken::new();
    let replica_task = tokio::spawn(replica.run_until_stopped(stop_replica.clone()));
    accepted(replica_address, &ingest)
        .await
        .expect("works on the replica");

    let key_id = ingest
        .strip_prefix("cs_")
        .and_then(|rest| rest.split('_').next())
        .expect("key id")
        .to_string();
    keys(&app, &admin)
        .await
        .revoke_api_key(RevokeApiKeyRequest {
            key_id,
            reason: "rotation drill".into(),
        })
        .await
        .expect("revoked");
    let (took, status) = refused_within(replica_address, &ingest, Duration::from_secs(5)).await;
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(took <= Duration::from_millis(1300), "took {took:?}");
    stop_replica.cancel();
    replica_task
        .await
        .expect("replica task")
        .expect("replica stopped");
    app.stop().await;
}

fn callscore(args: &[&str], database_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args(args)
        .args(["--database-url", database_url])
        .output()
        .expect("runs")
}

#[test]
fn the_cli_lists_rotates_and_revokes_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/keys.db", dir.path().display());
    let created = callscore(
        &[
            "keys", "create", "--tenant", "acme", "--role", "ingest", "--label", "dialer",
        ],
        &url,
    );
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8(created.stdout).expect("utf-8");
    let key_id = token.trim()[3..19].to_string();

    let listed = callscore(&["keys", "list", "--tenant", "acme"], &url);
    assert!(listed.status.success(), "{listed:?}");
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        table.contains(&key_id) && table.contains("dialer"),
        "{table}"
    );
    assert!(!table.contains(token.trim()), "a secret was listed");

    let rotated = callscore(
        &[
            "keys",
            "rotate",
            "--tenant",
            "acme",
            &key_id,
            "--grace-seconds",
            "60",
        ],
        &url,
    );
    assert!(rotated.status.success(), "{rotated:?}");
    let successor = String::from_utf8(rotated.stdout).expect("utf-8");
    assert!(successor.trim().starts_with("cs_"));
    assert!(String::from_utf8_lossy(&rotated.stderr).contains("expires"));

    let revoked = callscore(
        &[
            "keys",
            "revoke",
            "--tenant",
            "acme",
            &key_id,
            "--reason",
            "dialer retired",
        ],
        &url,
    );
    assert!(revoked.status.success(), "{revoked:?}");
    let listed = callscore(&["keys", "list", "--tenant", "acme"], &url);
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        !table.contains(&key_id),
        "a revoked key listed without --all"
    );
    let listed = callscore(&["keys", "list", "--tenant", "acme", "--all"], &url);
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(table.contains(&key_id), "{table}");

    // Another tenant's key, or no such key, is named in the error.
    let missing = callscore(&["keys", "revoke", "--tenant", "globex", &key_id], &url);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains(&key_id) && stderr.contains("not found"),
        "{stderr}"
    );
}
