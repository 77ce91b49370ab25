//! One span per RPC, and a request id on every log line and in every
//! response. The span (`rpc`) holds the service, method, request id, the
//! caller's tenant and key id once authenticated (recorded by the auth
//! layer), and the gRPC status code; never the secret or any request body.
//! Exported as an OpenTelemetry server span named `service/method` with the
//! semantic conventions' `rpc.*` attributes, child of the caller's W3C
//! `traceparent` when it sends one.
//! Each answered RPC adds its time to `rpc.server.call.duration`.
//! A caller's own `x-request-id` is kept when it is a plain token, so a
//! platform can follow its id through our logs; otherwise one is made.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use http::HeaderValue;
use opentelemetry::KeyValue;
use opentelemetry::propagation::Extractor;
use prost::Message as _;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header the id travels in, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest caller-chosen id kept.
const MAX_REQUEST_ID_BYTES: usize = 64;

/// Adds the span and the request id.
#[derive(Clone, Copy, Default)]
pub struct RequestSpanLayer;

impl<S> Layer<S> for RequestSpanLayer {
    type Service = RequestSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestSpan { inner }
    }
}

/// The service [`RequestSpanLayer`] makes.
#[derive(Clone)]
pub struct RequestSpan<S> {
    inner: S,
}

/// Reads W3C trace context headers for the propagator.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Whether `path` (`/package.Service/Method`) is one this server serves:
/// the contract's methods (from its descriptors), health and reflection.
fn is_known_method(path: &str) -> bool {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        let mut known: HashSet<String> = [
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ]
        .into_iter()
        .map(str::to_string)
        .collect();
        if let Ok(descriptors) =
            prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
        {
            for file in descriptors.file {
                let package = file.package();
                for service in &file.service {
                    for method in &service.method {
                        known.insert(format!("/{package}.{}/{}", service.name(), method.name()));
                    }
                }
            }
        }
        known
    });
    known.contains(path)
}

/// The caller's id when it is a plain token, else a new UUID v7.
fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_BYTES
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_string)
}

impl<S, B, ResBody> Service<http::Request<B>> for RequestSpan<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone is not ready; keep the ready one for this call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let id = request_id(request.headers());
        let path = request.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or((path, ""));
        let span = tracing::info_span!(
            "rpc",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            request_id = %id,
            tenant = tracing::field::Empty,
            key_id = tracing::field::Empty,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        // No propagator is installed while traces are off: this is then a no-op.
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(request.headers()))
        });
        let _ = span.set_parent(parent);
        let header = HeaderValue::from_str(&id).ok();
        let started = Instant::now();
        // Any path reaches this layer: only known methods name a series.
        let (metric_service, metric_method) = if is_known_method(path) {
            (service.to_string(), method.to_string())
        } else {
            ("unknown".to_string(), "unknown".to_string())
        };
        let labels = [
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", metric_service),
            KeyValue::new("rpc.method", metric_method),
        ];
        Box::pin(
            async move {
                let result = inner.call(request).await;
                if let Ok(response) = &result {
                    // A status in the headers is a trailers-only error; a
                    // response that starts well reports OK here (a stream
                    // may still fail later, in its trailers).
                    let code: i64 = response
                        .headers()
                        .get("grpc-status")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.parse().ok())
                        .unwrap_or(0);
                    tracing::Span::current().record("rpc.grpc.status_code", code);
                    let [system, service, method] = labels;
                    crate::telemetry::metrics().rpc_duration.record(
                        started.elapsed().as_secs_f64(),
                        &[
                            system,
                            service,
                            method,
                            KeyValue::new("rpc.grpc.status_code", code),
                        ],
                    );
                    tracing::debug!(
                        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                        "rpc answered"
                    );
                }
                result.map(|mut response| {
                    if let Some(header) = header {
                        response.headers_mut().insert(REQUEST_ID_HEADER, header);
                    }
                    response
                })
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::request_id;

    fn with(id: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-request-id", id.parse().expect("header"));
        headers
    }

    #[test]
    fn only_served_methods_name_a_metric_series() {
        assert!(super::is_known_method(
            "/callscore.v1.CallService/SubmitCall"
        ));
        assert!(super::is_known_method("/grpc.health.v1.Health/Check"));
        assert!(!super::is_known_method("/callscore.v1.CallService/Nope"));
        assert!(!super::is_known_method("/x.Y/Z"));
    }

    #[test]
    fn plain_caller_ids_are_kept_and_others_replaced() {
        assert_eq!(request_id(&with("abc-123_x.y:z")), "abc-123_x.y:z");
        for unusable in ["has space", "quote\"d", &"x".repeat(65), ""] {
            let made = request_id(&with(unusable));
            assert_ne!(made, unusable);
            assert_eq!(made.len(), 36, "{made}");
        }
        assert_eq!(request_id(&http::HeaderMap::new()).len(), 36);
    }
}
