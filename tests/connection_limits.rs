//! What a peer can hold without a key is bounded: connections per address
//! and in all, silent connections and stalled uploads are dropped, and the
//! server keeps answering everyone else throughout.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callscore::auth::Role;
use callscore::proto::submit_call_request::Payload;
use callscore::proto::{CallMetadata, SubmitCallRequest};
use common::{Backend, TestApp, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A TCP connection to `server` from the loopback address `from`
/// (127.0.0.0/8 is all loopback, so one machine can play many peers).
async fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{from}:0").parse().expect("address"))
        .expect("bind");
    socket.connect(server).await.expect("connect")
}

/// How long until the server closes `stream` (reads to EOF or an error).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

async fn healthy(app: &TestApp) -> bool {
    let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://{}", app.address))
        .expect("uri")
        .connect_timeout(Duration::from_secs(3))
        .connect()
        .await
    else {
        return false;
    };
    let answer = tokio::time::timeout(
        Duration::from_secs(3),
        HealthClient::new(channel).check(HealthCheckRequest {
            service: String::new(),
        }),
    )
    .await;
    matches!(answer, Ok(Ok(response)) if response.get_ref().status == 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_from_one_address_does_not_shut_out_others() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.max_connections_per_address = 10;
        s.handshake_timeout_seconds = 2;
    })
    .await;
    let mut flood = Vec::new();
    for _ in 0..40 {
        flood.push(connect_from("127.0.0.2", app.address).await);
    }
    // Past its share, the flooding address is closed at once ...
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut closed_at_once = 0;
    for stream in flood.iter_mut().skip(10) {
        if closed_within(stream, Duration::from_millis(500))
            .await
            .is_some()
        {
            closed_at_once += 1;
        }
    }
    assert_eq!(closed_at_once, 30, "connections over the per-address limit");
    // ... while everyone else is served.
    assert!(healthy(&app).await, "health from another address");
    // The ten it may hold are dropped once they have said nothing for the
    // handshake timeout.
    for stream in flood.iter_mut().take(10) {
        let closed = closed_within(stream, Duration::from_secs(5)).await;
        assert!(closed.is_some(), "a silent connection was held past 5 s");
    }
    // The slots came back: the same address is admitted again.
    let mut again = connect_from("127.0.0.2", app.address).await;
    let closed = closed_within(&mut again, Duration::from_millis(500)).await;
    assert!(closed.is_none(), "a fresh connection was refused");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_goes_silent_is_closed_and_live_clients_stay() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.idle_timeout_seconds = 3).await;
    // The HTTP/2 preface, then nothing: not even the answer to a ping.
    let mut silent = TcpStream::connect(app.address).await.expect("connect");
    silent
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("preface");
    let closed = closed_within(&mut silent, Duration::from_secs(8)).await;
    assert!(closed.is_some(), "a silent HTTP/2 peer was held past 8 s");

    // A real client answers the server's pings and keeps its connection
    // through twice the idle limit.
    let channel = app.channel().await;
    let mut health = HealthClient::new(channel);
    let request = || HealthCheckRequest {
        service: String::new(),
    };
    health.check(request()).await.expect("first check");
    tokio::time::sleep(Duration::from_secs(6)).await;
    let status = health.check(request()).await.expect("check after 6 s idle");
    assert_eq!(status.into_inner().status, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_is_dropped_with_its_partial_file() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.upload_stall_seconds = 1).await;
    let key = app.key("acme", Role::Ingest).await;
    let mut calls = app.calls(&key).await;
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    sender
        .send(SubmitCallRequest {
            payload: Some(Payload::Metadata(CallMetadata {
                agent_id: "rina".into(),
                ..Default::default()
            })),
        })
        .await
        .expect("send");
    sender
        .send(SubmitCallRequest {
            payload: Some(Payload::AudioChunk(vec![0u8; 64 * 1024])),
        })
        .await
        .expect("send");
    // The sender stays open and silent: the client neither finishes nor hangs up.
    let started = Instant::now();
    let answer = calls
        .submit_call(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await;
    let status = answer.expect_err("a stalled upload must fail");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains("audio_chunk"), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(sender);
    // The partial file goes with the upload.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !app.blob_files().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.blob_files(), Vec::<std::path::PathBuf>::new());
    assert!(healthy(&app).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_full_a_newcomer_evicts_the_oldest_silent_connection() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.max_connections = 20;
        // Long enough that only eviction can free a slot during the test.
        s.handshake_timeout_seconds = 60;
    })
    .await;
    // A flood of silent connections from many addresses fills the server ...
    let mut flood = Vec::new();
    for n in 0..60 {
        flood.push(connect_from(&format!("127.0.1.{}", n + 2), app.address).await);
    }
    // ... yet a real client gets in, every time.
    for attempt in 0..3 {
        assert!(healthy(&app).await, "health refused on attempt {attempt}");
    }
    // At most the limit is held: the oldest were closed to make room.
    let mut open = 0;
    for stream in flood.iter_mut() {
        if closed_within(stream, Duration::from_millis(100))
            .await
            .is_none()
        {
            open += 1;
        }
    }
    assert!(
        open <= 20,
        "{open} silent connections held past the limit of 20"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_dribbling_the_preface_or_speaking_something_else_is_dropped() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.handshake_timeout_seconds = 2).await;
    // Slow loris: one byte of the preface every 500 ms would take 12 s.
    let mut loris = TcpStream::connect(app.address).await.expect("connect");
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let started = Instant::now();
    let mut dropped_after = None;
    for byte in preface {
        if loris.write_all(&[*byte]).await.is_err() {
            dropped_after = Some(started.elapsed());
            break;
        }
        if closed_within(&mut loris, Duration::from_millis(500))
            .await
            .is_some()
        {
            dropped_after = Some(started.elapsed());
            break;
        }
    }
    let dropped_after = dropped_after.expect("a dribbled preface was accepted");
    assert!(dropped_after < Duration::from_secs(4), "{dropped_after:?}");

    // Not HTTP at all: dropped as soon as the bytes are read.
    let mut stranger = TcpStream::connect(app.address).await.expect("connect");
    stranger
        .write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        .await
        .expect("write");
    assert!(
        closed_within(&mut stranger, Duration::from_secs(1))
            .await
            .is_some(),
        "a peer speaking neither HTTP/2 nor HTTP/1.1 was kept"
    );
    assert!(healthy(&app).await);
    app.stop().await;
}
