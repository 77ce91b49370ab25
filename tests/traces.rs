//! OpenTelemetry traces and metrics: a `callscore serve` child process
//! exports its spans and metrics over OTLP/gRPC to a collector this test
//! runs. RPC spans join the caller's W3C traceparent, with the semantic
//! conventions' attributes and never the key's secret; a submitted call's
//! job (claim, decode, VAD, Whisper windows, scoring, store) joins the
//! SubmitCall trace; the admin port's Prometheus text agrees. Without an
//! endpoint nothing is exported.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callscore::proto::call_service_client::CallServiceClient;
use callscore::proto::*;
use common::BearerKey;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

/// Keeps every span and the name of every metric it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
    metric_names: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut names = self.metric_names.lock().expect("lock");
        for resource in request.into_inner().resource_metrics {
            for scope in resource.scope_metrics {
                names.extend(scope.metrics.into_iter().map(|metric| metric.name));
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().expect("lock");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn start_collector() -> (SocketAddr, Collector) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    let collector = Collector::default();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (address, collector)
}

struct Served {
    child: Child,
    port: u16,
    admin_port: u16,
    key: String,
    database: String,
    dir: Arc<tempfile::TempDir>,
}

/// An API-only server.
fn serve(otlp: Option<SocketAddr>) -> Served {
    serve_role(otlp, "api", None)
}

/// A `role` replica; with `beside`, on that replica's database and audio
/// folder (workers run tiny.en).
fn serve_role(otlp: Option<SocketAddr>, role: &str, beside: Option<&Served>) -> Served {
    let (dir, database, key) = match beside {
        Some(other) => (other.dir.clone(), other.database.clone(), other.key.clone()),
        None => {
            let dir = Arc::new(tempfile::tempdir().expect("dir"));
            let database = format!("sqlite://{}/traces.db", dir.path().display());
            let key = common::cli_admin_key(&database);
            (dir, database, key)
        }
    };
    let port = common::free_port();
    let admin_port = common::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_callscore"));
    if role != "api" {
        command
            .env(
                "CALLSCORE_MODEL_PATH",
                common::model("ggml-tiny.en-q8_0.bin"),
            )
            .env("CALLSCORE_JOB_POLL_MS", "50");
    }
    command
        .args(["serve", "--role", role, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env(
            "CALLSCORE_ADMIN_LISTEN_ADDRESS",
            format!("127.0.0.1:{admin_port}"),
        )
        .env("CALLSCORE_METRICS_REFRESH_SECONDS", "1")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "200")
        .env("CALLSCORE_DATABASE_URL", &database)
        .env("CALLSCORE_BLOB_DIR", dir.path().join("blobs"))
        .env("CALLSCORE_ENCODER_DIR", "")
        .env("CALLSCORE_LOG_LEVEL", "warn")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(otlp) = otlp {
        command.env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"));
    }
    let child = command.spawn().expect("serve");
    Served {
        child,
        port,
        admin_port,
        key,
        database,
        dir,
    }
}

impl Served {
    async fn calls(&self) -> CallServiceClient<common::Authed> {
        let channel = common::channel_when_up(self.port).await;
        CallServiceClient::with_interceptor(channel, BearerKey(Some(self.key.clone())))
    }

    /// SIGTERM, as an orchestrator stops it; the exit flushes the spans.
    fn stop(mut self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let status = self.child.wait().expect("exit");
        assert!(status.success(), "{status:?}");
    }
}

fn with_traceparent<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01")
            .parse()
            .expect("ascii"),
    );
    request
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| value.value.as_ref())
        .map(|value| match value {
            Value::StringValue(text) => text.clone(),
            Value::IntValue(number) => number.to_string(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_spans_join_the_callers_trace_over_otlp() {
    let (otlp, collector) = start_collector().await;
    let served = serve(Some(otlp));
    let mut calls = served.calls().await;
    calls
        .list_calls(with_traceparent(ListCallsRequest::default()))
        .await
        .expect("list");
    let refused = calls
        .get_call(with_traceparent(GetCallRequest {
            call_id: "missing".into(),
        }))
        .await
        .expect_err("not found");
    assert_eq!(refused.code(), tonic::Code::NotFound);
    let secret = served
        .key
        .rsplit_once('_')
        .expect("key format")
        .1
        .to_string();
    served.stop();

    let spans = collector.spans.lock().expect("lock").clone();
    let rpc = |method: &str| {
        spans
            .iter()
            .find(|span| span.name == format!("callscore.v1.CallService/{method}"))
            .unwrap_or_else(|| {
                let names: Vec<_> = spans.iter().map(|s| s.name.clone()).collect();
                panic!("no {method} span among {names:?}")
            })
    };
    for (method, code) in [("ListCalls", "0"), ("GetCall", "5")] {
        let span = rpc(method);
        assert_eq!(hex::encode(&span.trace_id), TRACE_ID, "{method}");
        assert_eq!(
            hex::encode(&span.parent_span_id),
            PARENT_SPAN_ID,
            "{method}"
        );
        // SPAN_KIND_SERVER
        assert_eq!(span.kind, 2, "{method}");
        assert_eq!(attribute(span, "rpc.system").as_deref(), Some("grpc"));
        assert_eq!(attribute(span, "rpc.method").as_deref(), Some(method));
        assert_eq!(attribute(span, "tenant").as_deref(), Some("acme"));
        assert_eq!(
            attribute(span, "rpc.grpc.status_code").as_deref(),
            Some(code)
        );
        assert_eq!(attribute(span, "request_id").map(|id| id.len()), Some(36));
    }
    let everything = format!("{spans:?}");
    assert!(
        !everything.contains(&secret),
        "a span holds the key's secret"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_nothing_is_exported() {
    let (_, collector) = start_collector().await;
    let served = serve(None);
    let mut calls = served.calls().await;
    calls
        .list_calls(with_traceparent(ListCallsRequest::default()))
        .await
        .expect("list");
    served.stop();
    assert!(collector.spans.lock().expect("lock").is_empty());
}

fn span_named<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = spans.iter().map(|s| s.name.clone()).collect();
            panic!("no {name} span among {names:?}")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_call_is_one_trace_from_upload_to_scorecard_across_replicas() {
    let (otlp, collector) = start_collector().await;
    // The upload goes to an API replica, the job to a worker replica: the
    // trace context travels with the job through the database.
    let served = serve_role(Some(otlp), "api", None);
    let worker = serve_role(Some(otlp), "worker", Some(&served));
    let mut calls = served.calls().await;
    let audio = std::fs::read(common::testdata("jfk.wav")).expect("jfk.wav");
    let upload = tokio_stream::iter(vec![
        SubmitCallRequest {
            payload: Some(submit_call_request::Payload::Metadata(CallMetadata {
                agent_id: "agent-7".into(),
                language_hint: LanguageHint::En as i32,
                ..CallMetadata::default()
            })),
        },
        SubmitCallRequest {
            payload: Some(submit_call_request::Payload::AudioChunk(audio)),
        },
    ]);
    let call_id = calls
        .submit_call(with_traceparent(upload))
        .await
        .expect("submit")
        .into_inner()
        .call
        .expect("call")
        .call_id;
    let call = common::call_once(&mut calls, &call_id, Duration::from_secs(120), |call| {
        call.status == CallStatus::Scored as i32 || call.status == CallStatus::Failed as i32
    })
    .await;
    assert_eq!(call.status, CallStatus::Scored as i32, "{call:?}");

    // The replicas' Prometheus text on their admin ports says what happened.
    let mut text = String::new();
    for replica in [&served, &worker] {
        let admin: SocketAddr = ([127, 0, 0, 1], replica.admin_port).into();
        let (status, body) = common::http_get(admin, "/metrics").await;
        assert_eq!(status, 200, "{body}");
        text.push_str(&body);
    }
    let samples = common::parse_prometheus(&text);
    let value = |name: &str, labels: &[(&str, &str)]| {
        common::metric_sum(&samples, name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    assert!(
        value(
            "rpc_server_call_duration_seconds_count",
            &[("rpc_method", "SubmitCall"), ("rpc_grpc_status_code", "0")]
        ) >= 1.0
    );
    assert_eq!(
        value("callscore_scorecards_written_total", &[("source", "job")]),
        1.0
    );
    let audio_s = value("callscore_audio_transcribed_seconds_total", &[]);
    assert!(
        (10.0..12.0).contains(&audio_s),
        "jfk.wav is 11 s: {audio_s}"
    );
    assert_eq!(
        value("callscore_transcription_real_time_factor_count", &[]),
        1.0
    );
    for stage in ["claim", "decode", "vad", "transcribe", "score", "store"] {
        assert!(
            value(
                "callscore_job_stage_duration_seconds_count",
                &[("stage", stage)]
            ) >= 1.0,
            "{stage}"
        );
    }
    assert!(value("db_client_connection_count", &[]) >= 1.0);
    worker.stop();
    served.stop();

    let spans = collector.spans.lock().expect("lock").clone();
    let submit = span_named(&spans, "callscore.v1.CallService/SubmitCall");
    assert_eq!(hex::encode(&submit.trace_id), TRACE_ID);
    let job = span_named(&spans, "job");
    assert_eq!(
        hex::encode(&job.trace_id),
        TRACE_ID,
        "the job joins the trace"
    );
    assert_eq!(job.parent_span_id, submit.span_id, "job under SubmitCall");
    assert_eq!(attribute(job, "call_id").as_deref(), Some(call_id.as_str()));
    let claim = span_named(&spans, "claim");
    assert_eq!(
        claim.parent_span_id, submit.span_id,
        "claim under SubmitCall"
    );
    assert!(claim.end_time_unix_nano <= job.start_time_unix_nano + 1_000_000);
    for name in ["decode", "vad", "whisper_window", "score", "store"] {
        let span = span_named(&spans, name);
        assert_eq!(hex::encode(&span.trace_id), TRACE_ID, "{name}");
        assert_eq!(span.parent_span_id, job.span_id, "{name} under the job");
        assert!(
            span.start_time_unix_nano >= job.start_time_unix_nano,
            "{name}"
        );
    }
    let window = span_named(&spans, "whisper_window");
    assert!(
        attribute(window, "audio_ms")
            .is_some_and(|ms| ms.parse::<u64>().is_ok_and(|ms| ms > 5_000))
    );

    let names = collector.metric_names.lock().expect("lock").clone();
    for name in [
        "rpc.server.call.duration",
        "callscore.job.stage.duration",
        "callscore.scorecards.written",
        "callscore.audio.transcribed",
        "callscore.transcription.real_time_factor",
        "db.client.connection.count",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "OTLP lacks {name}: {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_gauges_count_waiting_jobs_per_tenant() {
    let served = serve(None);
    let mut calls = served.calls().await;
    for _ in 0..2 {
        let upload = tokio_stream::iter(vec![
            SubmitCallRequest {
                payload: Some(submit_call_request::Payload::Metadata(CallMetadata {
                    agent_id: "agent-7".into(),
                    ..CallMetadata::default()
                })),
            },
            SubmitCallRequest {
                payload: Some(submit_call_request::Payload::AudioChunk(b"audio".to_vec())),
            },
        ]);
        calls.submit_call(upload).await.expect("submit");
    }
    let admin: SocketAddr = ([127, 0, 0, 1], served.admin_port).into();
    // The gauges are read from the database every second here.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let samples = loop {
        let (status, text) = common::http_get(admin, "/metrics").await;
        assert_eq!(status, 200, "{text}");
        let samples = common::parse_prometheus(&text);
        let queued = common::metric_sum(&samples, "callscore_jobs_queued", &[("tenant", "acme")]);
        if queued == Some(2.0) {
            break samples;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "queued {queued:?} in\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let oldest = common::metric_sum(&samples, "callscore_queue_oldest_age_seconds", &[])
        .expect("oldest age");
    assert!((0.0..60.0).contains(&oldest), "{oldest}");
    assert_eq!(
        common::metric_sum(&samples, "callscore_jobs_running", &[("tenant", "acme")]),
        Some(0.0)
    );
    // Nothing is exported over OTLP without an endpoint, but /metrics still answers.
    served.stop();
}
