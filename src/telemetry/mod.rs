//! Logging, traces and metrics, set up once per process. Logs: `tracing` with plain
//! or JSON lines; every line logged while an RPC is handled carries its span
//! (`rpc`: method, request id, tenant, see `app::request_span`). Traces:
//! the same spans exported through OpenTelemetry's OTLP exporter (gRPC),
//! joined to a caller's W3C `traceparent`, only when an endpoint is
//! configured the standard way (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; the other `OTEL_*` variables, e.g.
//! `OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`, are honoured by the SDK).
//! Metrics: see [`metrics`]. A job's spans join the trace of the SubmitCall
//! that queued it through the W3C context stored with the job ([`context`]).

mod context;
pub mod metrics;

pub use context::{current_trace_context, parent_context};
pub use metrics::metrics;

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, Settings};

/// Libraries whose INFO lines are for debugging them, not for operators'
/// consoles: whisper.cpp reports every model load and window (through
/// whisper-rs's tracing backend), the OpenTelemetry SDK its own set-up.
/// They show only when debugging.
const QUIET_TARGETS: [&str; 3] = ["whisper_rs", "opentelemetry", "opentelemetry_sdk"];

/// The service name traces carry unless `OTEL_SERVICE_NAME` says otherwise.
const SERVICE_NAME: &str = "callscore";

/// The registry the admin port's `/metrics` encodes (set once by [`init`]).
static PROMETHEUS: OnceLock<prometheus::Registry> = OnceLock::new();

/// What every exported span and metric names as its source.
fn resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder()
        .with_service_name(
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| SERVICE_NAME.to_string()),
        )
        .build()
}

/// The log filter: `RUST_LOG` when set (the usual override), else the
/// `log_level` setting.
fn effective_log_filter(log_level: &str) -> EnvFilter {
    match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => log_filter(&directives),
        _ => log_filter(log_level),
    }
}

/// The filter for a `log_level` setting: the setting itself, with the
/// [`QUIET_TARGETS`]' own lines at WARN unless the setting names them or
/// logs everything at DEBUG or finer.
pub fn log_filter(log_level: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let everything_verbose = log_level.split(',').any(|directive| {
        let directive = directive.trim();
        directive.eq_ignore_ascii_case("debug") || directive.eq_ignore_ascii_case("trace")
    });
    if everything_verbose {
        return filter;
    }
    let named = |target: &str| {
        log_level
            .split(',')
            .any(|directive| directive.trim().split('=').next() == Some(target))
    };
    for target in QUIET_TARGETS {
        if !named(target)
            && let Ok(directive) = format!("{target}=warn").parse()
        {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Whether the environment asks for one signal (`TRACES` or `METRICS`) to
/// be exported over OTLP.
fn otlp_configured(signal: &str) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let exporter = format!("OTEL_{signal}_EXPORTER");
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        || std::env::var(&exporter).is_ok_and(|v| v.eq_ignore_ascii_case("none"));
    !disabled
        && (set("OTEL_EXPORTER_OTLP_ENDPOINT")
            || set(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")))
}

/// What must be flushed before the process exits.
#[must_use = "call shutdown() before exiting, or buffered spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
    meters: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

impl Telemetry {
    /// Exports the spans and metrics still buffered and stops the exporters.
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(error) = provider.shutdown()
        {
            eprintln!("callscore: flushing traces failed: {error}");
        }
        if let Some(provider) = self.meters
            && let Err(error) = provider.shutdown()
        {
            eprintln!("callscore: flushing metrics failed: {error}");
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
    let filter = effective_log_filter(&settings.log_level);
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
    if otlp_configured("TRACES") {
        match trace_provider() {
            Ok(provider) => {
                opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
                // For spans made with the OpenTelemetry API itself (a job's
                // claim, timed before its trace is known).
                opentelemetry::global::set_tracer_provider(provider.clone());
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
    let prometheus = settings.admin_socket().ok().flatten().is_some();
    let meters = match metrics::install(prometheus, otlp_configured("METRICS")) {
        Ok(Some(setup)) => {
            if let Some(registry) = setup.prometheus {
                let _ = PROMETHEUS.set(registry);
            }
            Some(setup.provider)
        }
        Ok(None) => None,
        Err(error) => {
            eprintln!("callscore: metrics are off: {error}");
            None
        }
    };
    Telemetry { traces, meters }
}

fn trace_provider() -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
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
        assert!(!log_filter("debug").to_string().contains("whisper_rs=warn"));
        let sdk = log_filter("info").to_string();
        assert!(sdk.contains("opentelemetry=warn"), "{sdk}");
        let asked = log_filter("opentelemetry=info,info").to_string();
        assert!(!asked.contains("opentelemetry=warn"), "{asked}");
        assert!(asked.contains("whisper_rs=warn"), "{asked}");
        let asked = log_filter("whisper_rs=debug,info").to_string();
        assert!(asked.contains("whisper_rs=debug"), "{asked}");
        assert!(!asked.contains("whisper_rs=warn"), "{asked}");
    }
}
