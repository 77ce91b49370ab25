//! Test harness: a real server on 127.0.0.1:0 over a fresh SQLite file or a
//! fresh PostgreSQL database, reached through the generated tonic clients;
//! provisioned models and audio; WER; synthetic stereo calls (espeak-ng, sox).

#![allow(dead_code)] // Each test binary uses a different subset.

pub mod certs;
pub mod pg_cluster;
pub mod synth;
pub mod wer;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use callscore::app::Application;
use callscore::auth::{Role, issue_key};
use callscore::config::{Overrides, Settings};
use callscore::proto::calibration_service_client::CalibrationServiceClient;
use callscore::proto::call_service_client::CallServiceClient;
use callscore::proto::insight_service_client::InsightServiceClient;
use callscore::proto::review_service_client::ReviewServiceClient;
use callscore::proto::rubric_service_client::RubricServiceClient;
use callscore::proto::scorecard_service_client::ScorecardServiceClient;
use callscore::proto::tenant_service_client::TenantServiceClient;
use callscore::store::{ApiKeyRecord, Store};
use callscore::tenants::provision_tenant;
use callscore::transcribe::{Engine, EngineConfig};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both_backends!(name);` expects
/// `async fn name(backend: Backend)` in scope.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("CALLSCORE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh database, removed when dropped.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/callscore.db", dir.path().display());
                Self {
                    url,
                    _dir: Some(dir),
                    postgres_name: None,
                }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let admin = postgres_admin_url();
                let name = format!("callscore_test_{}", uuid::Uuid::now_v7().simple());
                let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(
                    |e| {
                        panic!(
                            "PostgreSQL is needed at {admin} (set CALLSCORE_TEST_POSTGRES_URL): {e}"
                        )
                    },
                );
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut connection)
                    .await
                    .expect("create test database");
                let (base, _) = admin.rsplit_once('/').expect("URL with a database");
                Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    postgres_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
        let admin = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                use sqlx::Connection;
                if let Ok(mut connection) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut connection)
                    .await;
                }
            });
        })
        .join();
    }
}

/// A running server and what tests need to talk to it.
pub struct TestApp {
    pub blob_dir: tempfile::TempDir,
    pub address: SocketAddr,
    /// The admin (probes, metrics) port, when the settings asked for one.
    pub admin: Option<SocketAddr>,
    pub store: Arc<dyn Store>,
    pub shutdown: CancellationToken,
    pub server: JoinHandle<Result<(), callscore::app::AppError>>,
    pub database: TestDatabase,
}

/// Settings for an API-only test server on `database_url`, port 0.
pub fn test_settings(database_url: &str, blob_dir: &Path) -> Settings {
    let overrides = Overrides {
        listen_address: Some("127.0.0.1:0".into()),
        database_url: Some(database_url.to_string()),
        role: Some("api".into()),
        ..Overrides::default()
    };
    let mut settings = Settings::load(None, &overrides).expect("test settings");
    settings.blob_dir = blob_dir.to_path_buf();
    // Scoring with cues alone keeps the many test servers quick; the tests
    // of the encoder turn it on.
    settings.encoder_dir = PathBuf::new();
    // Tests fire requests far faster than a client would; the rate limit's
    // own test turns it back on.
    settings.rate_limit_per_second = 0;
    settings
}

/// An API-only server (no Whisper model loaded).
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// A server whose settings `adjust` changes first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::new(backend).await;
    let blob_dir = tempfile::tempdir().expect("blob dir");
    let mut settings = test_settings(&database.url, blob_dir.path());
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("server builds");
    let address = app.local_addr();
    let admin = app.admin_addr();
    let store = app.store();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        blob_dir,
        address,
        admin,
        store,
        shutdown,
        server,
        database,
    }
}

/// Sets the tenant's review sampling fields named by `path`
/// (`review_sampling` or `review_sampling.FIELD`) with an admin key.
pub async fn set_review_sampling(
    app: &TestApp,
    admin: &str,
    policy: callscore::proto::ReviewSamplingPolicy,
    path: &str,
) {
    use callscore::proto::{TenantSettings, UpdateTenantSettingsRequest};
    app.tenants(admin)
        .await
        .update_tenant_settings(UpdateTenantSettingsRequest {
            settings: Some(TenantSettings {
                review_sampling: Some(policy),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![path.into()],
            }),
        })
        .await
        .expect("review sampling settings");
}

/// A worker-only server (tiny.en) running beside a test app.
pub struct Worker {
    stop: CancellationToken,
    task: JoinHandle<Result<(), callscore::app::AppError>>,
}

impl Worker {
    /// Stops it and waits for it to drain.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task
            .await
            .expect("worker task")
            .expect("worker stopped cleanly");
    }
}

/// A worker-only server on `app`'s database and blob folder, polling every
/// 50 ms, with the settings `adjust` changes.
pub async fn start_worker(app: &TestApp, adjust: impl FnOnce(&mut Settings)) -> Worker {
    let mut settings = test_settings(&app.database.url, app.blob_dir.path());
    settings.role = "worker".into();
    settings.model_path = model("ggml-tiny.en-q8_0.bin");
    settings.speaker_encoder_path = model("speaker-ge2e.safetensors");
    settings.job_poll_ms = 50;
    adjust(&mut settings);
    let worker = Application::build(settings).await.expect("worker builds");
    let stop = CancellationToken::new();
    Worker {
        stop: stop.clone(),
        task: tokio::spawn(worker.run_until_stopped(stop)),
    }
}

/// Uploads placeholder bytes as a call's audio and returns the call id; an
/// API-only server (no workers) leaves the call queued.
pub async fn upload_placeholder_call(
    app: &TestApp,
    key: &str,
    metadata: callscore::proto::CallMetadata,
) -> String {
    upload_call_bytes(app, key, metadata, b"audio bytes").await
}

/// Uploads `audio` as a call's recording (one chunk per 64 KiB) and returns
/// the call id.
pub async fn upload_call_bytes(
    app: &TestApp,
    key: &str,
    metadata: callscore::proto::CallMetadata,
    audio: &[u8],
) -> String {
    use callscore::proto::SubmitCallRequest;
    use callscore::proto::submit_call_request::Payload;
    let mut messages = vec![SubmitCallRequest {
        payload: Some(Payload::Metadata(metadata)),
    }];
    messages.extend(audio.chunks(64 * 1024).map(|chunk| SubmitCallRequest {
        payload: Some(Payload::AudioChunk(chunk.to_vec())),
    }));
    let upload = tokio_stream::iter(messages);
    app.calls(key)
        .await
        .submit_call(upload)
        .await
        .expect("upload")
        .into_inner()
        .call
        .expect("call")
        .call_id
}

/// Follows a call with WatchCall until it is done or failed, then reads it.
pub async fn finished_call(
    app: &TestApp,
    key: &str,
    call_id: &str,
) -> callscore::proto::GetCallResponse {
    use callscore::proto::{GetCallRequest, WatchCallRequest};
    let mut events = app
        .calls(key)
        .await
        .watch_call(WatchCallRequest {
            call_id: call_id.to_string(),
        })
        .await
        .expect("watch")
        .into_inner();
    while events.message().await.expect("event").is_some() {}
    app.calls(key)
        .await
        .get_call(GetCallRequest {
            call_id: call_id.to_string(),
        })
        .await
        .expect("get")
        .into_inner()
}

/// Submits a transcript of `(speaker, text)` turns, 2 s each, as a call
/// with `metadata`; returns (call id, scorecard id).
pub async fn submit_turns(
    app: &TestApp,
    key: &str,
    metadata: callscore::proto::CallMetadata,
    turns: &[(callscore::proto::Speaker, &str)],
) -> (String, String) {
    use callscore::proto::TranscriptSegment;
    let segments = turns
        .iter()
        .zip(0u64..)
        .map(|(&(speaker, text), index)| TranscriptSegment {
            speaker: speaker as i32,
            start_ms: index * 2_000,
            end_ms: index * 2_000 + 2_000,
            text: text.into(),
            ..Default::default()
        })
        .collect();
    submit_segments(app, key, metadata, segments).await
}

/// Submits an English transcript of `segments` as a call with `metadata`;
/// returns (call id, scorecard id).
pub async fn submit_segments(
    app: &TestApp,
    key: &str,
    metadata: callscore::proto::CallMetadata,
    segments: Vec<callscore::proto::TranscriptSegment>,
) -> (String, String) {
    use callscore::proto::{SubmitTranscriptRequest, Transcript};
    let submitted = app
        .calls(key)
        .await
        .submit_transcript(SubmitTranscriptRequest {
            metadata: Some(metadata),
            transcript: Some(Transcript {
                language: "en".into(),
                segments,
                model_id: String::new(),
                attribution: None,
            }),
        })
        .await
        .expect("scored")
        .into_inner();
    (
        submitted.call.expect("call").call_id,
        submitted.scorecard_id,
    )
}

/// An admin key for tenant "acme", made by `callscore keys create` on the
/// database at `database_url` (creating it), as an operator would.
pub fn cli_admin_key(database_url: &str) -> String {
    let output = callscore_on(
        database_url,
        &["keys", "create", "--tenant", "acme", "--role", "admin"],
    );
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// Runs the `callscore` client `args` against `app` with `key`.
pub fn callscore_client(app: &TestApp, key: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args(args)
        .args(["--server", &format!("http://{}", app.address)])
        .env("CALLSCORE_API_KEY", key)
        .output()
        .expect("callscore runs")
}

/// A client command's standard output as JSON; the command must succeed.
pub fn stdout_json(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("valid JSON on standard output")
}

/// Runs the `callscore` binary with `args` on the database at `database_url`.
pub fn callscore_on(database_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args(args)
        .args(["--database-url", database_url])
        .output()
        .expect("the callscore binary runs")
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("probe")
        .local_addr()
        .expect("addr")
        .port()
}

/// An address on 127.0.0.1 nothing listens on right now.
pub fn free_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// A channel to a server on 127.0.0.1:`port`, once it accepts (30 s at most).
pub async fn channel_when_up(port: u16) -> Channel {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("uri")
            .connect()
            .await
        {
            Ok(channel) => return channel,
            Err(error) if std::time::Instant::now() > deadline => panic!("no server: {error}"),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

/// Creates `tenant` in `store` if needed and stores a new key for it.
pub async fn stored_key(store: &dyn Store, tenant: &str, role: Role) -> String {
    provision_tenant(store, tenant).await.expect("tenant");
    let issued = issue_key();
    store
        .insert_api_key(&ApiKeyRecord::issued(&issued, tenant, role, "", None))
        .await
        .expect("key stored");
    issued.token.expose_secret().to_string()
}

/// A CallService client with `key` for the server at `address`.
pub async fn calls_at(address: SocketAddr, key: &str) -> CallServiceClient<Authed> {
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    CallServiceClient::with_interceptor(channel, BearerKey(Some(key.to_string())))
}

/// Adds `authorization: Bearer <key>` to every call.
#[derive(Clone)]
pub struct BearerKey(pub Option<String>);

impl Interceptor for BearerKey {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(key) = &self.0 {
            let value = format!("Bearer {key}").parse().expect("ascii key");
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, BearerKey>;

impl TestApp {
    /// A connected channel.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("connects")
    }

    /// Creates a tenant (with its built-in default rubric) and a key for it.
    pub async fn key(&self, tenant: &str, role: Role) -> String {
        stored_key(self.store.as_ref(), tenant, role).await
    }

    pub async fn rubrics(&self, key: Option<&str>) -> RubricServiceClient<Authed> {
        RubricServiceClient::with_interceptor(
            self.channel().await,
            BearerKey(key.map(String::from)),
        )
    }

    pub async fn calls(&self, key: &str) -> CallServiceClient<Authed> {
        CallServiceClient::with_interceptor(self.channel().await, BearerKey(Some(key.into())))
    }

    pub async fn scorecards(&self, key: &str) -> ScorecardServiceClient<Authed> {
        ScorecardServiceClient::with_interceptor(self.channel().await, BearerKey(Some(key.into())))
    }

    pub async fn tenants(&self, key: &str) -> TenantServiceClient<Authed> {
        TenantServiceClient::with_interceptor(self.channel().await, BearerKey(Some(key.into())))
    }

    pub async fn reviews(&self, key: &str) -> ReviewServiceClient<Authed> {
        ReviewServiceClient::with_interceptor(self.channel().await, BearerKey(Some(key.into())))
    }

    pub async fn insights(&self, key: &str) -> InsightServiceClient<Authed> {
        InsightServiceClient::with_interceptor(self.channel().await, BearerKey(Some(key.into())))
    }

    pub async fn calibrations(&self, key: &str) -> CalibrationServiceClient<Authed> {
        CalibrationServiceClient::with_interceptor(
            self.channel().await,
            BearerKey(Some(key.into())),
        )
    }

    /// Files under the blob folder (uploaded audio).
    pub fn blob_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        walk(&path, out);
                    } else {
                        out.push(path);
                    }
                }
            }
        }
        let mut files = Vec::new();
        walk(self.blob_dir.path(), &mut files);
        files
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.server
            .await
            .expect("server task")
            .expect("server stopped cleanly");
    }
}

/// The built-in rubric, re-labelled with another id and version.
pub fn rubric_document(id: &str, version: u32) -> String {
    callscore::rubric::default_rubric_source()
        .lines()
        .map(|line| match line {
            "id: default" => format!("id: {id}"),
            "version: 2" => format!("version: {version}"),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The provisioned model file, or a failure that says how to provision it.
pub fn model(file_name: &str) -> PathBuf {
    let dir = std::env::var_os("CALLSCORE_MODEL_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("models"),
            PathBuf::from,
        );
    let path = dir.join(file_name);
    assert!(
        path.is_file(),
        "model {} is missing: run scripts/provision-models.sh first",
        path.display()
    );
    path
}

/// A provisioned test-audio file, or a failure that says how to provision it.
pub fn testdata(relative: &str) -> PathBuf {
    let dir = std::env::var_os("CALLSCORE_TESTDATA_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/testdata"),
            PathBuf::from,
        );
    let path = dir.join(relative);
    assert!(
        path.exists(),
        "test audio {} is missing: run scripts/provision-models.sh first",
        path.display()
    );
    path
}

/// Loads an engine on a provisioned model: one call at a time on two
/// single-threaded states.
pub fn engine(file_name: &str) -> Engine {
    let config = EngineConfig {
        model_path: model(file_name),
        ..EngineConfig::default()
    }
    .with_threads(2, 1);
    match Engine::load(&config) {
        Ok(engine) => engine,
        Err(error) => panic!("loading {file_name}: {error}"),
    }
}

/// Concatenated text of a transcript's segments.
pub fn text_of(transcript: &callscore::transcript::Transcript) -> String {
    transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A scorecard for `call` (as `call_id`) from scoring a small English transcript.
pub fn scored_card(
    call: &callscore::store::NewCall,
    call_id: &str,
    actor: &str,
) -> callscore::store::NewScorecard {
    use callscore::transcript::{Segment, Speaker, Transcript};
    let rubric = callscore::rubric::parse_rubric(callscore::rubric::default_rubric_source())
        .expect("default rubric");
    let compiled = callscore::scoring::CompiledRubric::compile(&rubric).expect("compiles");
    let transcript = Transcript {
        language: Some("en".into()),
        segments: vec![Segment {
            speaker: Speaker::Agent,
            start_ms: 0,
            end_ms: 2000,
            text: "Good morning, thank you for calling.".into(),
            language: None,
            confidence: None,
            words: Vec::new(),
            voice: None,
        }],
        attribution: None,
    };
    callscore::store::NewScorecard {
        scorecard_id: uuid::Uuid::now_v7().to_string(),
        call_id: call_id.to_string(),
        agent_id: call.agent_id.clone(),
        team_id: call.team_id.clone(),
        call_started_at_ms: call.call_started_at_ms,
        card: callscore::scoring::score_transcript(&compiled, &transcript, "test"),
        actor: actor.to_string(),
        review: None,
    }
}

/// A plain HTTP/1.0 GET: the status code and the body.
pub async fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status code");
    (status, body.to_string())
}

/// One sample of a Prometheus text exposition.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Parses the Prometheus text format (comments skipped, labels unquoted).
pub fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inside = rest.strip_suffix('}').expect("closing brace");
                let mut labels = Vec::new();
                let mut rest = inside;
                while !rest.is_empty() {
                    let (key, after) = rest.split_once("=\"").expect("label");
                    let end = after.find('"').expect("label value");
                    labels.push((key.to_string(), after[..end].to_string()));
                    rest = after[end + 1..].trim_start_matches(',');
                }
                (name.to_string(), labels)
            }
            None => (series.to_string(), Vec::new()),
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

/// The sum of the samples named `name` that carry every label given.
pub fn metric_sum(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<_> = samples
        .iter()
        .filter(|sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.iter().any(|(k, v)| k == key && v == value))
        })
        .collect();
    (!matching.is_empty()).then(|| matching.iter().map(|sample| sample.value).sum())
}

/// Polls GetCall until `finished` says so (failing after `limit`).
pub async fn call_once(
    calls: &mut CallServiceClient<Authed>,
    call_id: &str,
    limit: std::time::Duration,
    finished: impl Fn(&callscore::proto::Call) -> bool,
) -> callscore::proto::Call {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let call = calls
            .get_call(callscore::proto::GetCallRequest {
                call_id: call_id.to_string(),
            })
            .await
            .expect("get")
            .into_inner()
            .call
            .expect("call");
        if finished(&call) {
            return call;
        }
        assert!(std::time::Instant::now() < deadline, "not yet: {call:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// One gRPC health status (1 SERVING, 2 NOT_SERVING), or the code when the
/// service name is unknown.
pub async fn health_status(address: SocketAddr, service: &str) -> Result<i32, tonic::Code> {
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|answer| answer.into_inner().status)
        .map_err(|status| status.code())
}
