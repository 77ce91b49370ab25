//! OpenTelemetry traces: a `callscore serve` child process exports its RPC
//! spans over OTLP/gRPC to a collector this test runs, joined to the
//! caller's W3C traceparent, with the semantic conventions' attributes and
//! never the key's secret. Without an endpoint nothing is exported.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use callscore::proto::call_service_client::CallServiceClient;
use callscore::proto::*;
use common::BearerKey;
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

/// Keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
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
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (address, collector)
}

struct Served {
    child: Child,
    port: u16,
    key: String,
    _dir: tempfile::TempDir,
}

fn serve(otlp: Option<SocketAddr>) -> Served {
    let dir = tempfile::tempdir().expect("dir");
    let database = format!("sqlite://{}/traces.db", dir.path().display());
    let key = common::cli_admin_key(&database);
    let port = common::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_callscore"));
    command
        .args(["serve", "--role", "api", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("CALLSCORE_DATABASE_URL", &database)
        .env("CALLSCORE_BLOB_DIR", dir.path().join("blobs"))
        .env("CALLSCORE_ENCODER_DIR", "")
        .env("CALLSCORE_LOG_LEVEL", "warn")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(otlp) = otlp {
        command.env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"));
    }
    let child = command.spawn().expect("serve");
    Served {
        child,
        port,
        key,
        _dir: dir,
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
