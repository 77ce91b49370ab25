//! Browsers reach the API over gRPC-Web on the gRPC port: the same RPCs,
//! the same keys and roles, and CORS for pages served from other origins.
//! Requests are written by hand over a TCP socket, as a browser's fetch
//! sends them, so nothing of the server's own client stack is involved.

mod common;

use std::net::SocketAddr;

use callscore::auth::Role;
use callscore::proto::{
    AudioRendering, CallMetadata, GetCallAudioRequest, GetCallAudioResponse, ListRubricsRequest,
    ListRubricsResponse,
};
use common::{Backend, spawn_app_with, stored_key, test_settings, upload_call_bytes};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ALLOWED: &str = "https://qa.example.com";

/// One HTTP/1.1 exchange on a fresh connection: the status line and headers
/// (lower-cased) and the body, de-chunked.
async fn exchange(address: SocketAddr, head: &str, body: &[u8]) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(body).await.expect("body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("response");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let headers = String::from_utf8_lossy(&response[..split]).to_lowercase();
    let mut body = response[split + 4..].to_vec();
    if headers.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (headers, body)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..line_end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .expect("chunk size");
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
    out
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|line| {
        line.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::trim)
    })
}

/// A gRPC-Web POST of `message` to `path`, with `key` and `origin` when given.
async fn grpc_web(
    address: SocketAddr,
    path: &str,
    message: &[u8],
    key: Option<&str>,
    origin: Option<&str>,
) -> (String, Vec<u8>) {
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    body.extend_from_slice(message);
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/grpc-web+proto\r\n\
         X-Grpc-Web: 1\r\nAccept: application/grpc-web+proto\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    if let Some(key) = key {
        head.push_str(&format!("X-Api-Key: {key}\r\n"));
    }
    if let Some(origin) = origin {
        head.push_str(&format!("Origin: {origin}\r\n"));
    }
    head.push_str("\r\n");
    exchange(address, &head, &body).await
}

/// The messages and the trailers of a gRPC-Web response body.
fn frames(mut body: &[u8]) -> (Vec<Vec<u8>>, String) {
    let (mut messages, mut trailers) = (Vec::new(), String::new());
    while body.len() >= 5 {
        let flag = body[0];
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let payload = &body[5..5 + len];
        if flag & 0x80 != 0 {
            trailers.push_str(&String::from_utf8_lossy(payload).to_lowercase());
        } else {
            messages.push(payload.to_vec());
        }
        body = &body[5 + len..];
    }
    (messages, trailers)
}

/// The call's grpc-status: in the trailer frame, or in the headers of a
/// trailers-only answer.
fn grpc_status(headers: &str, trailers: &str) -> Option<String> {
    header(trailers, "grpc-status")
        .or_else(|| header(headers, "grpc-status"))
        .map(str::to_string)
}

#[tokio::test]
async fn a_browser_lists_rubrics_over_grpc_web() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.cors_allowed_origins = ALLOWED.to_string();
    })
    .await;
    let key = stored_key(app.store.as_ref(), "acme", Role::Admin).await;
    let request = ListRubricsRequest {
        page_size: 10,
        ..Default::default()
    }
    .encode_to_vec();
    let (headers, body) = grpc_web(
        app.address,
        "/callscore.v1.RubricService/ListRubrics",
        &request,
        Some(&key),
        Some(ALLOWED),
    )
    .await;
    assert!(headers.starts_with("http/1.1 200"), "{headers}");
    assert!(
        header(&headers, "content-type").is_some_and(|t| t.starts_with("application/grpc-web")),
        "{headers}"
    );
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some(ALLOWED),
        "{headers}"
    );
    let (messages, trailers) = frames(&body);
    assert_eq!(
        grpc_status(&headers, &trailers).as_deref(),
        Some("0"),
        "{headers}\n{trailers}"
    );
    let response = ListRubricsResponse::decode(messages.first().expect("a message").as_slice())
        .expect("a ListRubricsResponse");
    assert!(
        !response.rubrics.is_empty(),
        "a new tenant has the built-in rubric"
    );
}

#[tokio::test]
async fn grpc_web_obeys_keys_like_grpc() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let path = "/callscore.v1.RubricService/ListRubrics";
    let request = ListRubricsRequest::default().encode_to_vec();
    // No key: UNAUTHENTICATED (16).
    let (headers, body) = grpc_web(app.address, path, &request, None, None).await;
    let (_, trailers) = frames(&body);
    assert_eq!(
        grpc_status(&headers, &trailers).as_deref(),
        Some("16"),
        "{headers}"
    );
    // A key whose role may not list rubrics: PERMISSION_DENIED (7).
    let ingest = stored_key(app.store.as_ref(), "acme", Role::Ingest).await;
    let (headers, body) = grpc_web(app.address, path, &request, Some(&ingest), None).await;
    let (messages, trailers) = frames(&body);
    assert!(messages.is_empty(), "no data for a denied call");
    assert_eq!(
        grpc_status(&headers, &trailers).as_deref(),
        Some("7"),
        "{headers}"
    );
}

#[tokio::test]
async fn server_streams_reach_the_browser_in_frames() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let admin = stored_key(app.store.as_ref(), "acme", Role::Admin).await;
    // 200 KiB of stored bytes: several 64 KiB messages of GetCallAudio.
    let audio: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        ..Default::default()
    };
    let call_id = upload_call_bytes(&app, &admin, metadata, &audio).await;
    let request = GetCallAudioRequest {
        call_id,
        rendering: AudioRendering::Original as i32,
        ..Default::default()
    }
    .encode_to_vec();
    let (headers, body) = grpc_web(
        app.address,
        "/callscore.v1.CallService/GetCallAudio",
        &request,
        Some(&admin),
        None,
    )
    .await;
    let (messages, trailers) = frames(&body);
    assert_eq!(
        grpc_status(&headers, &trailers).as_deref(),
        Some("0"),
        "{headers}"
    );
    assert_eq!(messages.len(), 4, "200 KiB in 64 KiB messages");
    let received: Vec<u8> = messages
        .iter()
        .flat_map(|m| {
            GetCallAudioResponse::decode(m.as_slice())
                .expect("a GetCallAudioResponse")
                .data
        })
        .collect();
    assert_eq!(received, audio);
}

#[tokio::test]
async fn preflight_answers_allowed_origins_only() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.cors_allowed_origins = format!("{ALLOWED}, https://crm.example.com");
    })
    .await;
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /callscore.v1.CallService/ListCalls HTTP/1.1\r\nHost: {}\r\n\
             Origin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: content-type,x-grpc-web,x-api-key\r\n\
             Connection: close\r\n\r\n",
            app.address
        )
    };
    let (headers, _) = exchange(app.address, &preflight(ALLOWED), b"").await;
    assert!(headers.starts_with("http/1.1 200"), "{headers}");
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    let allowed_headers = header(&headers, "access-control-allow-headers").unwrap_or("");
    for name in ["content-type", "x-grpc-web", "x-api-key"] {
        assert!(allowed_headers.contains(name), "{name}: {headers}");
    }
    // Another page may not call: no allow-origin header, so the browser stops.
    let (headers, _) = exchange(app.address, &preflight("https://evil.example"), b"").await;
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        None,
        "{headers}"
    );
}

#[test]
fn a_malformed_origin_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in [
        "qa.example.com",
        "https://qa.example.com/",
        "https://*.example.com",
    ] {
        let mut settings = test_settings("sqlite://unused.db", dir.path());
        settings.cors_allowed_origins = bad.to_string();
        let error = settings.validate().expect_err(bad).to_string();
        assert!(error.contains("cors_allowed_origins"), "{bad}: {error}");
    }
    let mut settings = test_settings("sqlite://unused.db", dir.path());
    settings.cors_allowed_origins = "https://qa.example.com:8443, http://localhost:3000".into();
    settings.validate().expect("two good origins");
}
