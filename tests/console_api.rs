//! What the console needs from the API, tested like every other RPC:
//! GetCallerKey (a key's role, scope and permissions), WatchCalls (one
//! stream keeps a list live), OverrideCheck's expected_review_revision
//! (an edit from a stale view is ABORTED), and the console's own pages
//! (served without a key, under a strict Content-Security-Policy).

#[macro_use]
mod common;

use std::time::Duration;

use callscore::auth::Role;
use callscore::proto::key_service_client::KeyServiceClient;
use callscore::proto::{
    CallMetadata, CheckOutcome, CreateApiKeyRequest, GetCallerKeyRequest, GetScorecardRequest,
    KeyRole, OverrideCheckRequest, Speaker, WatchCallsRequest, WatchCallsResponse,
};
use common::{
    Authed, Backend, BearerKey, TestApp, http_get, spawn_app, spawn_app_with, submit_turns,
};
use tonic::Code;

both_backends!(
    caller_key_names_role_scope_and_permissions,
    one_stream_follows_every_call_in_scope,
    an_override_from_a_stale_view_is_aborted,
);

async fn keys(app: &TestApp, key: &str) -> KeyServiceClient<Authed> {
    KeyServiceClient::with_interceptor(app.channel().await, BearerKey(Some(key.into())))
}

fn permissions(answer: &callscore::proto::GetCallerKeyResponse) -> Vec<&str> {
    answer.permissions.iter().map(String::as_str).collect()
}

async fn caller_key_names_role_scope_and_permissions(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let ingest = app.key("acme", Role::Ingest).await;

    let answer = keys(&app, &reviewer)
        .await
        .get_caller_key(GetCallerKeyRequest {})
        .await
        .expect("any key may ask")
        .into_inner();
    assert_eq!(answer.tenant_id, "acme");
    let key = answer.key.as_ref().expect("key");
    assert_eq!(key.role, KeyRole::Reviewer as i32);
    assert!(key.agent_id.is_empty() && key.team_id.is_empty());
    assert_eq!(
        permissions(&answer),
        [
            "read_calls",
            "listen_to_calls",
            "read_scorecards",
            "rescore_calls",
            "review_scorecards",
            "read_rubrics",
            "read_disputes",
        ]
    );

    let answer = keys(&app, &ingest)
        .await
        .get_caller_key(GetCallerKeyRequest {})
        .await
        .expect("ingest")
        .into_inner();
    assert_eq!(permissions(&answer), ["submit_calls", "read_calls"]);

    let answer = keys(&app, &admin)
        .await
        .get_caller_key(GetCallerKeyRequest {})
        .await
        .expect("admin")
        .into_inner();
    assert_eq!(answer.permissions.len(), 17, "an admin may do everything");

    // A coach scoped to a team: only what a scope narrows.
    let created = keys(&app, &admin)
        .await
        .create_api_key(CreateApiKeyRequest {
            role: KeyRole::Coach as i32,
            team_id: "care".into(),
            label: "care coach".into(),
            ..Default::default()
        })
        .await
        .expect("scoped coach")
        .into_inner();
    let answer = keys(&app, &created.secret)
        .await
        .get_caller_key(GetCallerKeyRequest {})
        .await
        .expect("scoped coach asks")
        .into_inner();
    let key = answer.key.as_ref().expect("key");
    assert_eq!(
        (key.team_id.as_str(), key.label.as_str()),
        ("care", "care coach")
    );
    assert_eq!(
        permissions(&answer),
        [
            "read_calls",
            "listen_to_calls",
            "read_scorecards",
            "coach",
            "read_rubrics",
            "dispute_checks",
            "read_disputes",
        ]
    );

    // No key, or a wrong one: UNAUTHENTICATED, as for every RPC.
    let refused = KeyServiceClient::with_interceptor(app.channel().await, BearerKey(None))
        .get_caller_key(GetCallerKeyRequest {})
        .await
        .expect_err("no key");
    assert_eq!(refused.code(), Code::Unauthenticated);
    app.stop().await;
}

/// Submits the watch test's call for `agent` of `team`; (call id, scorecard id).
async fn submit_for(app: &TestApp, key: &str, agent: &str, team: &str) -> (String, String) {
    let turns = [
        (
            Speaker::Agent,
            "Good morning, thank you for calling Acme, this is Rina.",
        ),
        (Speaker::Customer, "My parcel is late."),
        (
            Speaker::Agent,
            "I am sorry, I will call you back tomorrow at ten.",
        ),
    ];
    let metadata = CallMetadata {
        agent_id: agent.into(),
        team_id: team.into(),
        ..Default::default()
    };
    submit_turns(app, key, metadata, &turns).await
}

async fn next_change(stream: &mut tonic::Streaming<WatchCallsResponse>) -> WatchCallsResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a change within 10 s")
        .expect("stream open")
        .expect("a message")
}

async fn one_stream_follows_every_call_in_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let other_tenant = app.key("globex", Role::Admin).await;
    let mut everything = app
        .calls(&reviewer)
        .await
        .watch_calls(WatchCallsRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let ready = next_change(&mut everything).await;
    assert_eq!(ready.kind, "watch.ready");
    assert!(ready.call_id.is_empty());
    let mut one_team = app
        .calls(&reviewer)
        .await
        .watch_calls(WatchCallsRequest {
            team_id: "care".into(),
            ..Default::default()
        })
        .await
        .expect("watch a team")
        .into_inner();
    assert_eq!(next_change(&mut one_team).await.kind, "watch.ready");

    // Another tenant's call is never seen.
    submit_for(&app, &other_tenant, "x", "care").await;
    let (sales_call, _) = submit_for(&app, &admin, "budi", "sales").await;
    let (care_call, care_card) = submit_for(&app, &admin, "rina", "care").await;

    // The whole tenant: both calls, up to their scorecards (a transcript is
    // scored as it is submitted).
    let mut seen: Vec<(String, String)> = Vec::new();
    while ![&sales_call, &care_call].iter().all(|call| {
        seen.iter()
            .any(|(id, kind)| id == *call && kind == "call.scored")
    }) {
        let change = next_change(&mut everything).await;
        seen.push((change.call_id.clone(), change.kind.clone()));
        if change.kind == "call.scored" && change.call_id == care_call {
            assert_eq!(change.scorecard_id, care_card);
            assert_eq!(change.stage, callscore::proto::CallStage::Done as i32);
        }
    }
    assert!(
        seen.iter()
            .all(|(id, _)| id == &sales_call || id == &care_call)
    );

    // One team: only its call.
    let change = next_change(&mut one_team).await;
    assert_eq!(
        (change.call_id.as_str(), change.kind.as_str()),
        (care_call.as_str(), "call.scored")
    );

    // A scoped key follows its scope whatever it asks; asking outside it is refused.
    let scoped = keys(&app, &admin)
        .await
        .create_api_key(CreateApiKeyRequest {
            role: KeyRole::Coach as i32,
            team_id: "care".into(),
            ..Default::default()
        })
        .await
        .expect("scoped key")
        .into_inner()
        .secret;
    let refused = app
        .calls(&scoped)
        .await
        .watch_calls(WatchCallsRequest {
            team_id: "sales".into(),
            ..Default::default()
        })
        .await
        .expect_err("outside the scope");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut scoped_stream = app
        .calls(&scoped)
        .await
        .watch_calls(WatchCallsRequest::default())
        .await
        .expect("watch within the scope")
        .into_inner();
    assert_eq!(next_change(&mut scoped_stream).await.kind, "watch.ready");
    submit_for(&app, &admin, "budi", "sales").await;
    let (second_care_call, _) = submit_for(&app, &admin, "rina", "care").await;
    assert_eq!(
        next_change(&mut scoped_stream).await.call_id,
        second_care_call
    );
    assert_eq!(next_change(&mut one_team).await.call_id, second_care_call);

    // Bad filters name the field.
    let refused = app
        .calls(&reviewer)
        .await
        .watch_calls(WatchCallsRequest {
            agent_id: "x".repeat(300),
            ..Default::default()
        })
        .await
        .expect_err("too long");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("agent_id"),
        "{}",
        refused.message()
    );
    // An ingest key may read calls, so it may watch them; a key that may not read calls may not.
    let agent_key = keys(&app, &admin)
        .await
        .create_api_key(CreateApiKeyRequest {
            role: KeyRole::Agent as i32,
            agent_id: "rina".into(),
            ..Default::default()
        })
        .await
        .expect("agent key")
        .into_inner()
        .secret;
    let refused = app
        .calls(&agent_key)
        .await
        .watch_calls(WatchCallsRequest::default())
        .await
        .expect_err("agents do not read calls");
    assert_eq!(refused.code(), Code::PermissionDenied);
    app.stop().await;
}

async fn an_override_from_a_stale_view_is_aborted(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let (_, card_id) = submit_turns(
        &app,
        &admin,
        CallMetadata {
            agent_id: "rina".into(),
            ..Default::default()
        },
        &[
            (
                Speaker::Agent,
                "Good morning, thank you for calling Acme, this is Rina.",
            ),
            (Speaker::Customer, "Hi."),
        ],
    )
    .await;
    let read = || async {
        app.scorecards(&reviewer)
            .await
            .get_scorecard(GetScorecardRequest {
                scorecard_id: card_id.clone(),
            })
            .await
            .expect("scorecard")
            .into_inner()
            .scorecard
            .expect("scorecard")
    };
    let first = read().await;
    assert_eq!(first.review_revision, 0, "not reviewed yet");
    let criterion = &first.machine_result.as_ref().expect("result").criteria[0];
    let check = &criterion.checks[0];
    let request = |revision: Option<u64>, reason: &str| OverrideCheckRequest {
        scorecard_id: card_id.clone(),
        criterion_id: criterion.criterion_id.clone(),
        check_id: check.check_id.clone(),
        new_outcome: CheckOutcome::NotApplicable as i32,
        reason: reason.into(),
        new_fraction: None,
        expected_review_revision: revision,
    };

    // The revision as read: applied, and the revision moves on.
    app.reviews(&reviewer)
        .await
        .override_check(request(Some(0), "heard it"))
        .await
        .expect("override at the current revision");
    let second = read().await;
    assert_eq!(second.review_revision, 1);

    // The same, stale, revision again: ABORTED, and nothing changes.
    let refused = app
        .reviews(&reviewer)
        .await
        .override_check(request(Some(0), "from an old screen"))
        .await
        .expect_err("stale");
    assert_eq!(refused.code(), Code::Aborted);
    assert!(
        refused.message().contains("read it again"),
        "{}",
        refused.message()
    );
    assert_eq!(read().await.review_revision, 1);
    let events = app
        .reviews(&reviewer)
        .await
        .list_audit_events(callscore::proto::ListAuditEventsRequest {
            scorecard_id: card_id.clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    assert!(events.iter().all(|e| e.reason != "from an old screen"));

    // Without a revision: applied to whatever is current (API clients as before).
    app.reviews(&reviewer)
        .await
        .override_check(request(None, "no revision given"))
        .await
        .expect("override without a revision");
    assert_eq!(read().await.review_revision, 2);
    app.stop().await;
}

#[tokio::test]
async fn console_pages_are_served_without_a_key_under_a_strict_policy() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in [
        "/",
        "/console/js/app.js",
        "/console/style.css",
        "/console/schema.json",
    ] {
        let (status, body) = http_get(app.address, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.is_empty(), "{path}");
    }
    let (_, index) = http_get(app.address, "/").await;
    assert!(index.contains("<script type=\"module\" src=\"/console/js/app.js\">"));
    assert!(!index.contains("<script>"), "no inline script");
    let (status, _) = http_get(app.address, "/console/../Cargo.toml").await;
    assert_eq!(status, 404);
    let (status, _) = http_get(app.address, "/console/nothing.js").await;
    assert_eq!(status, 404);

    let headers = raw_headers(&app, "/").await;
    for expected in [
        "content-security-policy: default-src 'none'; script-src 'self'; style-src 'self';",
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "content-type: text/html; charset=utf-8",
    ] {
        assert!(headers.contains(expected), "{expected} in {headers}");
    }
    let schema: serde_json::Value =
        serde_json::from_str(&http_get(app.address, "/console/schema.json").await.1)
            .expect("schema JSON");
    assert_eq!(
        schema["services"]["callscore.v1.CallService"]["WatchCalls"]["server_streaming"],
        true
    );
    app.stop().await;

    // Turned off: no pages, the API as before.
    let app = spawn_app_with(Backend::Sqlite, |settings| settings.console_enabled = false).await;
    for path in ["/", "/console/js/app.js"] {
        let (status, body) = http_get(app.address, path).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    app.stop().await;
}

/// The response headers of a GET, lower-cased.
async fn raw_headers(app: &TestApp, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.address)
        .await
        .expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", app.address).as_bytes())
        .await
        .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).to_lowercase();
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}
