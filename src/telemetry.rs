//! Logging and traces, set up once per process. Logs: `tracing` with plain
//! or JSON lines; every line logged while an RPC is handled carries its span
//! (`rpc`: method, request id, tenant, see `app::request_span`). Traces:
//! the same spans exported through OpenTelemetry's OTLP exporter (gRPC),
//! joined to a caller's W3C `traceparent`, only when an endpoint is
//! configured the standard way (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; the other `OTEL_*` variables, e.g.
//! `OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`, are honoured by the SDK).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, Settings};

/// whisper.cpp reports every model load and window at INFO (through
/// whisper-rs's tracing backend); they are for debugging it, not for
/// operators' consoles.
const QUIET_WHISPER: &str = "whisper_rs=warn";

/// The service name traces carry unless `OTEL_SERVICE_NAME` says otherwise.
const SERVICE_NAME: &str = "callscore";

/// The filter for a `log_level` setting: the setting itself, with Whisper's
/// own lines at WARN unless the setting names `whisper_rs` itself.
pub fn log_filter(log_level: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    if log_level.contains("whisper_rs") {
        return filter;
    }
    match QUIET_WHISPER.parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Whether the environment asks for traces to be exported.
fn traces_configured() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        || std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v.eq_ignore_ascii_case("none"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// What must be flushed before the process exits.
#[must_use = "call shutdown() before exiting, or buffered spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(error) = provider.shutdown()
        {
            eprintln!("callscore: flushing traces failed: {error}");
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber (and, when configured, the trace
/// exporter; call it inside the Tokio runtime, which the gRPC exporter
/// uses). Later calls (tests start many servers in one process) keep the
/// first subscriber.
pub fn init(settings: &Settings) -> Telemetry {
    // Each layer has its own filter: `log_level` decides what is logged,
    // not which spans are traced.
    let filter = log_filter(&settings.log_level);
    let format: BoxedLayer = match settings.log_format() {
        Ok(LogFormat::Json) => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        _ => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let mut layers = vec![format];
    let mut traces = None;
    if traces_configured() {
        match trace_provider() {
            Ok(provider) => {
                opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
                let tracer = provider.tracer(SERVICE_NAME);
                // This service's spans at INFO and above; libraries' own
                // (sqlx, h2) would multiply the volume for little insight.
                let spans = Targets::new().with_target("callscore", Level::INFO);
                layers.push(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        .with_filter(spans)
                        .boxed(),
                );
                traces = Some(provider);
            }
            Err(error) => eprintln!("callscore: traces are off: {error}"),
        }
    }
    let result = tracing_subscriber::registry().with(layers).try_init();
    // Already installed: keep the first.
    drop(result);
    Telemetry { traces }
}

fn trace_provider() -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| SERVICE_NAME.to_string()),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn whisper_is_quiet_unless_asked_for() {
        assert!(log_filter("info").to_string().contains("whisper_rs=warn"));
        assert!(
            log_filter("callscore=debug,info")
                .to_string()
                .contains("whisper_rs=warn")
        );
        let asked = log_filter("whisper_rs=debug,info").to_string();
        assert!(asked.contains("whisper_rs=debug"), "{asked}");
        assert!(!asked.contains("whisper_rs=warn"), "{asked}");
    }
}
