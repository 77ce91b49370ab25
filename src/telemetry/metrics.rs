//! The service's metrics, as OpenTelemetry instruments. One meter provider
//! per process feeds two readers, each on only when configured: the OTLP
//! exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`, pushed every
//! `OTEL_METRIC_EXPORT_INTERVAL`) and a Prometheus registry that the admin
//! port's `/metrics` encodes on every scrape. Names follow the semantic
//! conventions where one exists (`rpc.server.call.duration`,
//! `db.client.connection.count`); the rest are `callscore.*`.
//!
//! Instruments are process-global so the pipeline, the workers and the RPC
//! layer record without threading a handle through; before [`install`] (or
//! in a process that exports nothing) they are no-ops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// Bucket bounds for request and stage durations, seconds (the semantic
/// conventions' advice for `rpc.server.call.duration`, extended to the
/// minutes a long call's transcription takes).
const DURATION_BOUNDS_S: [f64; 19] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0,
];

/// Bucket bounds for the real-time factor (processing time / audio time).
const RTF_BOUNDS: [f64; 12] = [
    0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0,
];

/// The instruments the service records into.
pub struct Metrics {
    /// `rpc.server.call.duration` (s), by `rpc.system`, `rpc.service`,
    /// `rpc.method`, `rpc.grpc.status_code`.
    pub rpc_duration: Histogram<f64>,
    /// `callscore.job.stage.duration` (s), by `stage`: claim, decode, vad,
    /// transcribe, score, store.
    pub stage_duration: Histogram<f64>,
    /// `callscore.jobs.failed`: calls marked failed (attempts spent or a
    /// permanent error), by `tenant`.
    pub jobs_failed: Counter<u64>,
    /// `callscore.audio.transcribed` (s): audio seconds through Whisper.
    pub audio_transcribed: Counter<f64>,
    /// `callscore.transcription.real_time_factor`: VAD and Whisper time over
    /// the audio's duration, per call.
    pub real_time_factor: Histogram<f64>,
    /// `callscore.scorecards.written`, by `source` (job, transcript, rescore).
    pub scorecards_written: Counter<u64>,
    /// `callscore.job.lease_renewals.lost`: a worker found its job taken.
    pub lease_renewals_lost: Counter<u64>,
}

/// What the observable gauges report: the queue as the database last said
/// (refreshed by `app`'s metrics task) and the connection pool.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueSnapshot {
    /// `(tenant, queued, running)`: jobs waiting (due or not) and running.
    pub per_tenant: Vec<(String, i64, i64)>,
    /// Seconds the oldest due job has waited; 0 when none waits.
    pub oldest_age_s: f64,
    /// Pool connections in use and idle.
    pub pool_used: u64,
    /// Idle pool connections.
    pub pool_idle: u64,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();
static ENABLED: AtomicBool = AtomicBool::new(false);
static SNAPSHOT: Mutex<Option<QueueSnapshot>> = Mutex::new(None);

/// The process's instruments (no-ops until [`install`] set a provider).
pub fn metrics() -> &'static Metrics {
    METRICS.get_or_init(|| Metrics::new(&opentelemetry::global::meter("callscore")))
}

/// Whether a reader (OTLP or Prometheus) collects the metrics.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::SeqCst)
}

/// Replaces what the queue gauges report.
pub fn set_queue_snapshot(snapshot: QueueSnapshot) {
    if let Ok(mut held) = SNAPSHOT.lock() {
        *held = Some(snapshot);
    }
}

fn snapshot() -> Option<QueueSnapshot> {
    SNAPSHOT.lock().ok().and_then(|held| held.clone())
}

impl Metrics {
    fn new(meter: &Meter) -> Self {
        register_gauges(meter);
        Self {
            rpc_duration: meter
                .f64_histogram("rpc.server.call.duration")
                .with_unit("s")
                .with_description("Duration of RPCs handled, until the response starts")
                .with_boundaries(DURATION_BOUNDS_S.to_vec())
                .build(),
            stage_duration: meter
                .f64_histogram("callscore.job.stage.duration")
                .with_unit("s")
                .with_description("Time a job spends in each stage")
                .with_boundaries(DURATION_BOUNDS_S.to_vec())
                .build(),
            jobs_failed: meter
                .u64_counter("callscore.jobs.failed")
                .with_unit("{job}")
                .with_description("Calls marked failed by this process")
                .build(),
            audio_transcribed: meter
                .f64_counter("callscore.audio.transcribed")
                .with_unit("s")
                .with_description("Seconds of call audio transcribed")
                .build(),
            real_time_factor: meter
                .f64_histogram("callscore.transcription.real_time_factor")
                .with_description("Transcription time over audio duration, per call")
                .with_boundaries(RTF_BOUNDS.to_vec())
                .build(),
            scorecards_written: meter
                .u64_counter("callscore.scorecards.written")
                .with_unit("{scorecard}")
                .with_description("Scorecards stored")
                .build(),
            lease_renewals_lost: meter
                .u64_counter("callscore.job.lease_renewals.lost")
                .with_unit("{renewal}")
                .with_description("Lease renewals that found the job taken by another worker")
                .build(),
        }
    }
}

fn register_gauges(meter: &Meter) {
    meter
        .i64_observable_gauge("callscore.jobs.queued")
        .with_unit("{job}")
        .with_description("Jobs waiting, per tenant (cluster-wide, from the database)")
        .with_callback(|gauge| {
            for (tenant, queued, _) in snapshot().unwrap_or_default().per_tenant {
                gauge.observe(queued, &[KeyValue::new("tenant", tenant)]);
            }
        })
        .build();
    meter
        .i64_observable_gauge("callscore.jobs.running")
        .with_unit("{job}")
        .with_description("Jobs running, per tenant (cluster-wide, from the database)")
        .with_callback(|gauge| {
            for (tenant, _, running) in snapshot().unwrap_or_default().per_tenant {
                gauge.observe(running, &[KeyValue::new("tenant", tenant)]);
            }
        })
        .build();
    meter
        .f64_observable_gauge("callscore.queue.oldest_age")
        .with_unit("s")
        .with_description("How long the oldest due job has waited (cluster-wide)")
        .with_callback(|gauge| {
            if let Some(snapshot) = snapshot() {
                gauge.observe(snapshot.oldest_age_s, &[]);
            }
        })
        .build();
    meter
        .i64_observable_gauge("db.client.connection.count")
        .with_unit("{connection}")
        .with_description("Database pool connections by state")
        .with_callback(|gauge| {
            if let Some(snapshot) = snapshot() {
                let state =
                    |value: &'static str| KeyValue::new("db.client.connection.state", value);
                gauge.observe(snapshot.pool_used as i64, &[state("used")]);
                gauge.observe(snapshot.pool_idle as i64, &[state("idle")]);
            }
        })
        .build();
}

/// What [`install`] set up.
pub struct MeterSetup {
    /// Flushed and stopped at exit.
    pub provider: SdkMeterProvider,
    /// What `/metrics` encodes, when Prometheus was asked for.
    pub prometheus: Option<prometheus::Registry>,
}

/// Builds the process's meter provider with the readers asked for and makes
/// it global; `None` when neither is.
pub fn install(prometheus: bool, otlp: bool) -> Result<Option<MeterSetup>, String> {
    if !prometheus && !otlp {
        return Ok(None);
    }
    let mut builder = SdkMeterProvider::builder().with_resource(super::resource());
    let registry = if prometheus {
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .scope_info_enabled(false)
            .build()
            .map_err(|error| format!("Prometheus exporter: {error}"))?;
        builder = builder.with_reader(exporter);
        Some(registry)
    } else {
        None
    };
    if otlp {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
            .map_err(|error| format!("OTLP metric exporter: {error}"))?;
        builder = builder
            .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(exporter).build());
    }
    let provider = builder.build();
    opentelemetry::global::set_meter_provider(provider.clone());
    ENABLED.store(true, Ordering::SeqCst);
    // Instruments made before this point would stay no-ops: make them now.
    let _ = metrics();
    Ok(Some(MeterSetup {
        provider,
        prometheus: registry,
    }))
}

/// The registry `/metrics` encodes, once [`install`] made one.
pub fn prometheus_registry() -> Option<&'static prometheus::Registry> {
    super::PROMETHEUS.get()
}

/// The Prometheus text exposition of every metric.
pub fn prometheus_text() -> Option<String> {
    use prometheus::Encoder as _;
    let registry = prometheus_registry()?;
    let mut buffer = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&registry.gather(), &mut buffer)
        .ok()?;
    String::from_utf8(buffer).ok()
}
