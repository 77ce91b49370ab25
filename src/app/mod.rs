//! The server process: bind first (port 0 allowed), then serve until told to
//! stop, draining in-flight RPCs.

mod admin;
mod browser;
mod health;
mod heavy;
mod in_flight;
mod listener;
mod memory;
mod request_span;

pub use health::{LIVENESS, READINESS, WORKER};
pub use in_flight::InFlight;
pub use listener::ConnectionLimits;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::Server;

use crate::api::{
    CalibrationApi, CallApi, DisputeApi, InsightApi, KeyApi, ReviewApi, RubricApi, ScorecardApi,
    ServiceState, TenantApi, WatchSlots, WebhookApi,
};
use crate::audio::AudioLimits;
use crate::auth::{AuthLayer, KeyRateLimit};
use crate::blobs::{BlobError, BlobStore};
use crate::config::{ConfigError, Settings};
use crate::jobs::{WorkerConfig, Workers};
use crate::pipeline::{Pipeline, RubricCache};
use crate::proto::calibration_service_server::CalibrationServiceServer;
use crate::proto::call_service_server::CallServiceServer;
use crate::proto::dispute_service_server::DisputeServiceServer;
use crate::proto::insight_service_server::InsightServiceServer;
use crate::proto::key_service_server::KeyServiceServer;
use crate::proto::review_service_server::ReviewServiceServer;
use crate::proto::rubric_service_server::RubricServiceServer;
use crate::proto::scorecard_service_server::ScorecardServiceServer;
use crate::proto::tenant_service_server::TenantServiceServer;
use crate::proto::webhook_service_server::WebhookServiceServer;
use crate::scoring::Redactor;
use crate::seal::{SealError, Sealer};
use crate::semantic::Encoder;
use crate::store::{self, Store, StoreError};
use crate::tls::{ServerTls, TlsError};
use crate::transcribe::{Engine, EngineConfig, TranscribeError};

/// How often the server pings a quiet HTTP/2 peer at most; a third of the
/// idle limit when that is shorter, so a live client always answers within it.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);

/// Largest header block a request may send (keys and ids are far shorter).
const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// The fully qualified names of the services, as health reports them.
pub const SERVICE_NAMES: [&str; 10] = [
    "callscore.v1.CallService",
    "callscore.v1.ScorecardService",
    "callscore.v1.RubricService",
    "callscore.v1.ReviewService",
    "callscore.v1.CalibrationService",
    "callscore.v1.DisputeService",
    "callscore.v1.WebhookService",
    "callscore.v1.InsightService",
    "callscore.v1.KeyService",
    "callscore.v1.TenantService",
];

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The audio folder could not be opened.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The Whisper model could not be loaded.
    #[error(transparent)]
    Engine(#[from] TranscribeError),
    /// The TLS files could not be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The audio encryption key could not be loaded.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The reflection service could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    admin: Option<(TcpListener, SocketAddr)>,
    store: Arc<dyn Store>,
    pipeline: Arc<Pipeline>,
    tls: Option<Arc<ServerTls>>,
    settings: Settings,
}

impl Application {
    /// Opens (creating and migrating) the database and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, AppError> {
        settings.validate()?;
        crate::tls::install_crypto_provider();
        // Before the database and the model: a wrong file is the quickest to report.
        let tls = match settings.server_tls_files()? {
            Some(files) => Some(Arc::new(ServerTls::load(files)?)),
            None => None,
        };
        let store = store::open(&settings.database_url, settings.database_max_connections).await?;
        let role = settings.process_role()?;
        let engine = if role.runs_workers() {
            let config = EngineConfig {
                model_path: settings.model_path.clone(),
                speaker_encoder_path: Some(settings.speaker_encoder_path.clone()),
                ..EngineConfig::default()
            }
            .with_threads(settings.whisper_threads, settings.worker_concurrency);
            let engine = tokio::task::spawn_blocking(move || Engine::load(&config))
                .await
                .map_err(|error| TranscribeError::Config(error.to_string()))??;
            tracing::info!(
                model = %engine.model_id(),
                diarizes_mono_calls = engine.diarizes(),
                "Whisper model loaded"
            );
            Some(Arc::new(engine))
        } else {
            None
        };
        let encoder = if settings.encoder_dir.as_os_str().is_empty() {
            None
        } else {
            let dir = settings.encoder_dir.clone();
            let loaded = tokio::task::spawn_blocking(move || Encoder::open(&dir))
                .await
                .map_err(|error| TranscribeError::Config(error.to_string()))?;
            match loaded {
                Ok(encoder) => {
                    tracing::info!(encoder = %encoder.id(), "sentence encoder loaded");
                    Some(Arc::new(encoder))
                }
                Err(error) => {
                    tracing::warn!(%error, "running without the sentence encoder");
                    None
                }
            }
        };
        let pipeline = Arc::new(Pipeline {
            store: store.clone(),
            blobs: BlobStore::local(&settings.blob_dir)?,
            engine,
            rubrics: RubricCache::new(store.clone(), encoder),
            redactor: Redactor::new(),
            audio_limits: AudioLimits {
                max_duration_s: settings.max_call_seconds as f64,
            },
            sealer: if settings.audio_encryption_key_file.as_os_str().is_empty() {
                None
            } else {
                Some(Arc::new(Sealer::from_key_file(
                    &settings.audio_encryption_key_file,
                )?))
            },
        });
        let address = settings.listen_socket()?;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| AppError::Bind { address, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| AppError::Bind { address, source })?;
        let admin = match settings.admin_socket()? {
            Some(address) => {
                let listener = admin::bind(address).await?;
                let bound = listener
                    .local_addr()
                    .map_err(|source| AppError::Bind { address, source })?;
                Some((listener, bound))
            }
            None => None,
        };
        if tls.is_none() && !local_addr.ip().is_loopback() {
            tracing::warn!(
                address = %local_addr,
                "serving plaintext on a non-loopback address: API keys cross the network in clear; set tls_cert_path and tls_key_path"
            );
        }
        Ok(Self {
            listener,
            local_addr,
            admin,
            store,
            pipeline,
            tls,
            settings,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The admin (probes and metrics) port's address, when one is configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|(_, address)| *address)
    }

    /// The store the server uses.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Serves until `shutdown` is cancelled; then health goes NOT_SERVING,
    /// new connections are refused and in-flight RPCs get the grace period.
    pub async fn run_until_stopped(mut self, shutdown: CancellationToken) -> Result<(), AppError> {
        let role = self.settings.process_role()?;
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        let health =
            health::Health::start(health_reporter, role.serves_api(), role.runs_workers()).await;
        tokio::spawn(health::watch_database(
            self.store.clone(),
            health.clone(),
            Duration::from_secs(self.settings.health_check_seconds),
            shutdown.clone(),
        ));
        // The admin port outlives the drain: a draining process is live.
        let admin_stop = CancellationToken::new();
        let _admin_stop_on_exit = admin_stop.clone().drop_guard();
        if let Some((listener, address)) = self.admin.take() {
            tracing::info!(%address, "admin port (health, /metrics) serving");
            tokio::spawn(admin::serve(
                listener,
                health.clone(),
                health_service.clone(),
                admin_stop.clone(),
            ));
        }
        if crate::telemetry::metrics::enabled() {
            tokio::spawn(admin::refresh_queue_gauges(
                self.store.clone(),
                Duration::from_secs(self.settings.metrics_refresh_seconds),
                admin_stop.clone(),
            ));
        }
        // A staging file older than the longest a request may take is no
        // live upload's.
        tokio::spawn(health::sweep_uploads(
            self.pipeline.blobs.clone(),
            Duration::from_secs(self.settings.request_timeout_seconds + 60),
            shutdown.clone(),
        ));
        // v1 for current clients, v1alpha for the many tools that still ask for it.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;
        let store = self.store.clone();
        let state = Arc::new(ServiceState {
            store: store.clone(),
            pipeline: self.pipeline.clone(),
            max_upload_bytes: self.settings.max_upload_bytes,
            max_attempts: i64::from(self.settings.job_max_attempts),
            max_queued: i64::from(self.settings.max_queued_calls_per_tenant),
            upload_stall: Duration::from_secs(self.settings.upload_stall_seconds),
            watches: WatchSlots::new(self.settings.max_watch_streams_per_key),
            changes: crate::feed::ChangeFeed::start(self.store.clone(), shutdown.clone()),
            shutdown: shutdown.clone(),
            webhook_allow_private_networks: self.settings.webhook_allow_private_networks,
        });
        let in_flight = InFlight::default();
        let idle_timeout = Duration::from_secs(self.settings.idle_timeout_seconds);
        let keepalive = KEEPALIVE_INTERVAL.min(idle_timeout / 3);
        let cors = browser::cors(&self.settings.cors_origins()?);
        let mut server = Server::builder()
            // gRPC-Web from browsers arrives over HTTP/1.1 as well as HTTP/2.
            .accept_http1(true)
            .timeout(Duration::from_secs(self.settings.request_timeout_seconds))
            .http2_keepalive_interval(Some(keepalive))
            .http2_keepalive_timeout(Some(keepalive))
            .max_concurrent_streams(Some(self.settings.max_streams_per_connection))
            .http2_max_header_list_size(Some(MAX_HEADER_LIST_BYTES))
            // Outermost: preflight requests are answered before authentication,
            // and gRPC-Web is plain gRPC to every layer after it.
            .layer(cors)
            .layer(browser::GrpcWebAndPages {
                console: role.serves_api() && self.settings.console_enabled,
            })
            .layer(request_span::RequestSpanLayer)
            .layer(in_flight.clone())
            .layer(
                AuthLayer::new(store.clone()).with_rate_limit(KeyRateLimit::new(
                    self.settings.rate_limit_per_second,
                    self.settings.rate_limit_burst,
                )),
            )
            // Inside authentication: only known keys within their rate wait here.
            .layer(heavy::HeavyRequestLimit::new(
                self.settings.concurrent_scoring(),
            ));
        let mut routes = Routes::new(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        // A worker-only replica answers health and reflection, nothing else.
        if role.serves_api() {
            routes = routes
                .add_service(CallServiceServer::new(CallApi::new(state.clone())))
                .add_service(ScorecardServiceServer::new(ScorecardApi::new(
                    state.clone(),
                )))
                .add_service(RubricServiceServer::new(RubricApi::new(store.clone())))
                .add_service(ReviewServiceServer::new(ReviewApi::new(state.clone())))
                .add_service(CalibrationServiceServer::new(CalibrationApi::new(
                    state.clone(),
                )))
                .add_service(DisputeServiceServer::new(DisputeApi::new(state.clone())))
                .add_service(WebhookServiceServer::new(WebhookApi::new(state.clone())))
                .add_service(InsightServiceServer::new(InsightApi::new(store.clone())))
                .add_service(KeyServiceServer::new(KeyApi::new(store.clone())))
                .add_service(TenantServiceServer::new(TenantApi::new(
                    store,
                    state.pipeline.sealer.is_some(),
                )));
            if self.settings.console_enabled {
                // The console's pages beside the RPCs, behind the same layers.
                routes = Routes::from(routes.into_axum_router().merge(crate::console::router()));
            }
        }
        let router = server.add_routes(routes);
        let workers = role.runs_workers().then(|| {
            let workers = Arc::new(Workers::new(
                self.pipeline.clone(),
                WorkerConfig {
                    concurrency: self.settings.worker_concurrency,
                    lease: Duration::from_secs(self.settings.job_lease_seconds),
                    retry_after: Duration::from_secs(self.settings.job_retry_seconds),
                    poll: Duration::from_millis(self.settings.job_poll_ms),
                },
            ));
            tokio::spawn(workers.run(shutdown.clone()))
        });
        if role.runs_workers() {
            tokio::spawn(crate::jobs::retention::run(
                self.store.clone(),
                self.pipeline.blobs.clone(),
                Duration::from_secs(self.settings.retention_interval_seconds),
                Duration::from_secs(self.settings.change_feed_retention_hours * 3600),
                shutdown.clone(),
            ));
            tokio::spawn(crate::webhooks::deliverer::run(
                self.store.clone(),
                crate::webhooks::deliverer::DelivererSettings {
                    allow_private_networks: self.settings.webhook_allow_private_networks,
                    retry_base: Duration::from_millis(self.settings.webhook_retry_base_ms),
                    lease: Duration::from_secs(self.settings.job_lease_seconds),
                },
                shutdown.clone(),
            ));
        }

        let stop_signal = {
            let shutdown = shutdown.clone();
            async move { shutdown.cancelled().await }
        };
        if let Some(tls) = &self.tls {
            let every = Duration::from_secs(self.settings.tls_reload_seconds);
            tokio::spawn(tls.clone().watch(every, shutdown.clone()));
        }
        tracing::info!(
            address = %self.local_addr,
            database = ?self.store.kind(),
            tls = self.tls.is_some(),
            client_certificates = self.tls.as_ref().is_some_and(|tls| tls.requires_client_certificates()),
            "callscore serving"
        );
        if role.serves_api() && self.settings.console_enabled {
            let scheme = if self.tls.is_some() { "https" } else { "http" };
            tracing::info!(
                url = %format!("{scheme}://{}/", self.local_addr),
                "QA console serving; sign in with an API key"
            );
        }
        let limits = ConnectionLimits {
            max_connections: self.settings.max_connections,
            max_connections_per_address: self.settings.max_connections_per_address,
            handshake_timeout: Duration::from_secs(self.settings.handshake_timeout_seconds),
            idle_timeout,
        };
        let incoming =
            listener::incoming(self.listener, self.tls.clone(), limits, shutdown.clone());
        let serve = router.serve_with_incoming_shutdown(incoming, stop_signal);
        let grace = Duration::from_secs(self.settings.shutdown_grace_seconds);
        let drained = async {
            shutdown.cancelled().await;
            tracing::info!("shutting down: health NOT_SERVING, draining in-flight RPCs");
            health.drain().await;
            if tokio::time::timeout(grace, in_flight.idle()).await.is_err() {
                tracing::warn!(
                    ?grace,
                    in_flight = in_flight.count(),
                    "RPCs outlived the grace period; stopping anyway"
                );
            }
        };
        tokio::select! {
            // Every client hung up after the stop signal.
            result = serve => result?,
            // Every RPC answered: idle keep-alive connections need not hold the process.
            () = drained => {}
        }
        if let Some(workers) = workers {
            // Workers finish the job in hand; the grace period bounds the wait.
            let grace = Duration::from_secs(self.settings.shutdown_grace_seconds);
            if tokio::time::timeout(grace, workers).await.is_err() {
                tracing::warn!("a job outlived the grace period; its lease will expire");
            }
        }
        Ok(())
    }
}
