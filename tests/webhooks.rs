//! Events to platforms through a real HTTP receiver started by the test:
//! on SQLite and PostgreSQL, a scored call reaches the receiver signed
//! (checked here with an independent HMAC), a receiver that fails twice and
//! recovers gets the same event three times and the delivery log shows it,
//! replay sends it again, and a rotated secret signs beside the old one.
//! Request-forgery guards refuse private addresses without the operator
//! setting. A server killed with SIGKILL in the middle of a delivery
//! delivers it again after restarting. Workers send (`--role worker` or
//! `all`), as in a split deployment.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use callscore::auth::Role;
use callscore::proto::webhook_service_client::WebhookServiceClient;
use callscore::proto::*;
use common::{Authed, Backend, BearerKey, TestApp, TestDatabase, spawn_app, spawn_app_with};
use hmac::{Hmac, Mac};
use tonic::Code;

both_backends!(events_reach_the_platform_signed_with_retries_and_replay);

/// What the receiver does with the next request.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Never answer (the sender's time limit or death ends it).
    Hang,
}

#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: i64,
    signature: String,
    body: Vec<u8>,
    answered: u16,
}

#[derive(Clone, Default)]
struct Receiver {
    plan: Arc<Mutex<VecDeque<Answer>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Serves on an ephemeral loopback port.
    async fn start(plan: Vec<Answer>) -> (Self, SocketAddr) {
        let receiver = Self {
            plan: Arc::new(Mutex::new(plan.into())),
            ..Self::default()
        };
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { state.take(&headers, &body).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, address)
    }

    async fn take(&self, headers: &HeaderMap, body: &[u8]) -> StatusCode {
        let answer = self
            .plan
            .lock()
            .expect("plan")
            .pop_front()
            .unwrap_or(Answer::Status(200));
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let answered = match answer {
            Answer::Status(code) => code,
            Answer::Hang => 0,
        };
        self.received.lock().expect("received").push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp").parse().unwrap_or(0),
            signature: header("webhook-signature"),
            body: body.to_vec(),
            answered,
        });
        match answer {
            Answer::Status(code) => StatusCode::from_u16(code).expect("status"),
            Answer::Hang => {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
                StatusCode::OK
            }
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }

    /// Waits until `done` holds for what arrived.
    async fn until(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {received:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The Standard Webhooks signature, computed here without the service's code.
fn expected_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.strip_prefix("whsec_").expect("whsec_ secret"))
        .expect("base64");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", engine.encode(mac.finalize().into_bytes()))
}

async fn webhooks(app: &TestApp, key: &str) -> WebhookServiceClient<Authed> {
    WebhookServiceClient::with_interceptor(app.channel().await, BearerKey(Some(key.into())))
}

fn endpoint(url: String, kinds: &[&str]) -> CreateWebhookEndpointRequest {
    CreateWebhookEndpointRequest {
        url,
        event_kinds: kinds.iter().map(|k| k.to_string()).collect(),
    }
}

async fn scored_call(app: &TestApp, key: &str) -> (String, String) {
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        ..Default::default()
    };
    let turns = [
        (Speaker::Agent, "Good morning, this is Rina."),
        (Speaker::Customer, "My parcel is late."),
        (Speaker::Agent, "I will check it and call you back today."),
    ];
    common::submit_turns(app, key, metadata, &turns).await
}

async fn events_reach_the_platform_signed_with_retries_and_replay(backend: Backend) {
    // Without the operator setting, internal addresses and plain http are refused.
    let guarded = spawn_app(backend).await;
    let admin = guarded.key("acme", Role::Admin).await;
    for (url, expected) in [
        ("https://127.0.0.1:9/hooks", "private or internal"),
        ("https://[::1]:9/hooks", "private or internal"),
        ("http://example.com/hooks", "use https"),
        ("https://user:secret@example.com/", ""),
    ] {
        let refused = webhooks(&guarded, &admin)
            .await
            .create_webhook_endpoint(endpoint(url.into(), &[]))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::InvalidArgument, "{url}: {refused:?}");
        assert!(refused.message().starts_with("url:"), "{refused:?}");
        assert!(refused.message().contains(expected), "{url}: {refused:?}");
    }
    guarded.stop().await;

    let allow_loopback = |settings: &mut callscore::config::Settings| {
        settings.webhook_allow_private_networks = true;
        settings.webhook_retry_base_ms = 100;
    };
    let app = spawn_app_with(backend, allow_loopback).await;
    // Workers send webhooks, as in a split deployment.
    let worker = common::start_worker(&app, allow_loopback).await;
    let admin = app.key("acme", Role::Admin).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let (receiver, address) = Receiver::start(vec![Answer::Status(500), Answer::Status(503)]).await;
    let url = format!("http://{address}/hooks");
    let unknown = webhooks(&app, &admin)
        .await
        .create_webhook_endpoint(endpoint(url.clone(), &["call.exploded"]))
        .await
        .expect_err("unknown kind");
    assert!(
        unknown.message().starts_with("event_kinds[0]:"),
        "{unknown:?}"
    );
    let denied = webhooks(&app, &reviewer)
        .await
        .create_webhook_endpoint(endpoint(url.clone(), &[]))
        .await
        .expect_err("admins only");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let created = webhooks(&app, &admin)
        .await
        .create_webhook_endpoint(endpoint(url.clone(), &[]))
        .await
        .expect("endpoint")
        .into_inner();
    let secret = created.secret.clone();
    let endpoint_id = created.endpoint.expect("endpoint").endpoint_id;
    assert!(secret.starts_with("whsec_"));

    // A scored call: refused twice, then accepted; the same event each time.
    let (call_id, scorecard_id) = scored_call(&app, &ingest).await;
    let received = receiver
        .until("an accepted delivery", |r| {
            r.iter().any(|x| x.answered == 200)
        })
        .await;
    assert_eq!(received.len(), 3, "{received:?}");
    let first = &received[0];
    assert!(
        received
            .iter()
            .all(|r| r.id == first.id && r.body == first.body)
    );
    for delivery in &received {
        assert_eq!(
            delivery.signature,
            expected_signature(&secret, &delivery.id, delivery.timestamp, &delivery.body)
        );
        assert!(callscore::webhooks::signing::verify(
            &secret,
            &delivery.id,
            delivery.timestamp,
            &delivery.body,
            &delivery.signature
        ));
        let age = chrono::Utc::now().timestamp() - delivery.timestamp;
        assert!((0..120).contains(&age), "timestamp {}", delivery.timestamp);
    }
    let event: serde_json::Value = serde_json::from_slice(&first.body).expect("JSON body");
    assert_eq!(event["type"], "call.scored");
    assert_eq!(event["id"], first.id.as_str());
    assert_eq!(event["data"]["call_id"], call_id.as_str());
    assert_eq!(event["data"]["scorecard_id"], scorecard_id.as_str());

    // The delivery log.
    let logged = webhooks(&app, &admin)
        .await
        .get_webhook_delivery(GetWebhookDeliveryRequest {
            delivery_id: first.id.clone(),
        })
        .await
        .expect("delivery")
        .into_inner();
    let delivery = logged.delivery.expect("delivery");
    assert_eq!(delivery.state, WebhookDeliveryState::Delivered as i32);
    assert_eq!(delivery.attempts, 3);
    let statuses: Vec<i64> = logged.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![500, 503, 200]);

    // Replay: the same event again.
    webhooks(&app, &admin)
        .await
        .replay_webhook_delivery(ReplayWebhookDeliveryRequest {
            delivery_id: first.id.clone(),
        })
        .await
        .expect("replayed");
    let again = receiver.until("the replay", |r| r.len() == 4).await;
    assert_eq!(
        (again[3].id.as_str(), again[3].answered),
        (first.id.as_str(), 200)
    );

    // A rotated secret: both sign during the grace.
    let rotated = webhooks(&app, &admin)
        .await
        .rotate_webhook_secret(RotateWebhookSecretRequest {
            endpoint_id: endpoint_id.clone(),
            grace_seconds: Some(600),
        })
        .await
        .expect("rotated")
        .into_inner();
    let new_secret = rotated.secret;
    assert_ne!(new_secret, secret);
    app.reviews(&reviewer)
        .await
        .override_check(OverrideCheckRequest {
            scorecard_id: scorecard_id.clone(),
            criterion_id: "professionalism".into(),
            check_id: "greeting".into(),
            new_outcome: CheckOutcome::Fail as i32,
            reason: "greeted the IVR".into(),
            ..Default::default()
        })
        .await
        .expect("override");
    let reviewed = receiver
        .until("scorecard.reviewed", |r| {
            r.iter()
                .any(|x| String::from_utf8_lossy(&x.body).contains("scorecard.reviewed"))
        })
        .await;
    let review = reviewed
        .iter()
        .find(|x| String::from_utf8_lossy(&x.body).contains("scorecard.reviewed"))
        .expect("review event");
    let signatures: Vec<&str> = review.signature.split(' ').collect();
    assert_eq!(signatures.len(), 2, "{}", review.signature);
    for key in [&secret, &new_secret] {
        assert!(signatures.contains(
            &expected_signature(key, &review.id, review.timestamp, &review.body).as_str()
        ));
    }
    let listed = webhooks(&app, &admin)
        .await
        .list_webhook_deliveries(ListWebhookDeliveriesRequest {
            endpoint_id: endpoint_id.clone(),
            ..Default::default()
        })
        .await
        .expect("deliveries")
        .into_inner()
        .deliveries;
    assert_eq!(
        listed.len(),
        2,
        "call.scored and scorecard.reviewed only (the default kinds)"
    );
    // Finished deliveries and their log go with the change feed's retention
    // (once the last answer is recorded).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered = webhooks(&app, &admin)
            .await
            .list_webhook_deliveries(ListWebhookDeliveriesRequest {
                endpoint_id: endpoint_id.clone(),
                state: WebhookDeliveryState::Delivered as i32,
                ..Default::default()
            })
            .await
            .expect("deliveries")
            .into_inner()
            .deliveries;
        if delivered.len() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all delivered: {delivered:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pruned = app
        .store
        .prune_webhook_deliveries(callscore::store::now_ms() + 1)
        .await
        .expect("pruned");
    assert_eq!(pruned, 2);
    let gone = webhooks(&app, &admin)
        .await
        .get_webhook_delivery(GetWebhookDeliveryRequest {
            delivery_id: first.id.clone(),
        })
        .await
        .expect_err("pruned");
    assert_eq!(gone.code(), Code::NotFound);
    worker.stop().await;
    app.stop().await;
}

fn serve(database_url: &str, blob_dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_callscore"))
        .env("CALLSCORE_DATABASE_URL", database_url)
        .env("CALLSCORE_BLOB_DIR", blob_dir)
        .env("CALLSCORE_ROLE", "all")
        .env("CALLSCORE_JOB_LEASE_SECONDS", "2")
        .env("CALLSCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        .env("CALLSCORE_WEBHOOK_RETRY_BASE_MS", "100")
        .env("CALLSCORE_LOG_LEVEL", "warn")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_delivery_delivers_again_after_restart() {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let blob_dir = dir.path().join("blobs");
    let admin = common::cli_admin_key(&database.url);
    let (receiver, address) = Receiver::start(vec![Answer::Hang]).await;

    let port = common::free_port();
    let mut first = serve(&database.url, &blob_dir, port);
    let channel = common::channel_when_up(port).await;
    let mut hooks =
        WebhookServiceClient::with_interceptor(channel.clone(), BearerKey(Some(admin.clone())));
    hooks
        .create_webhook_endpoint(endpoint(
            format!("http://{address}/hooks"),
            &["call.scored"],
        ))
        .await
        .expect("endpoint");
    let mut calls = callscore::proto::call_service_client::CallServiceClient::with_interceptor(
        channel,
        BearerKey(Some(admin.clone())),
    );
    calls
        .submit_transcript(SubmitTranscriptRequest {
            metadata: Some(CallMetadata {
                agent_id: "rina".into(),
                ..Default::default()
            }),
            transcript: Some(Transcript {
                language: "en".into(),
                segments: vec![TranscriptSegment {
                    speaker: Speaker::Agent as i32,
                    start_ms: 0,
                    end_ms: 2_000,
                    text: "Good morning, this is Rina.".into(),
                    ..Default::default()
                }],
                model_id: String::new(),
                attribution: None,
            }),
        })
        .await
        .expect("scored");
    // The first server is sending (the receiver holds the request): kill it.
    let held = receiver.until("the first attempt", |r| !r.is_empty()).await;
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");

    let mut second = serve(&database.url, &blob_dir, port);
    let again = receiver
        .until("the delivery again", |r| {
            r.iter().any(|x| x.answered == 200)
        })
        .await;
    second.kill().expect("stop");
    second.wait().expect("reaped");
    assert_eq!(again.len(), 2, "{again:?}");
    assert_eq!(
        again[1].id, held[0].id,
        "the same event, delivered at least once"
    );
    assert_eq!(again[1].body, held[0].body);
}
