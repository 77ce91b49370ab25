//! The admin port: plaintext, for probes and scrapes, so they work when the
//! gRPC port speaks TLS. It answers gRPC health (the same statuses as the
//! gRPC port, so Kubernetes' native `grpc` probes can use it) and HTTP
//! `GET /metrics` (Prometheus text), `/livez` and `/readyz`. It carries no
//! data and takes no key; bind it where only the orchestrator and the
//! scraper reach it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::health::Health;
use crate::store::Store;
use crate::telemetry::metrics::{self, QueueSnapshot};

/// The Prometheus text format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves the admin port on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    health_service: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    stop: CancellationToken,
) {
    let router = axum::Router::new()
        .route("/metrics", get(prometheus_metrics))
        .route("/livez", get(|| async { (StatusCode::OK, "live\n") }))
        .route("/readyz", get(readiness))
        .route_service("/grpc.health.v1.Health/Check", health_service.clone())
        .route_service("/grpc.health.v1.Health/Watch", health_service)
        .with_state(health);
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "admin port failed");
    }
}

/// Binds the admin address.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, super::AppError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| super::AppError::Bind { address, source })
}

async fn readiness(State(health): State<Arc<Health>>) -> impl IntoResponse {
    if health.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn prometheus_metrics() -> impl IntoResponse {
    match metrics::prometheus_text() {
        Some(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            text,
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            "# metrics are off in this process\n".to_string(),
        ),
    }
}

/// Reads the queue and the pool for the gauges every `every` until `stop`.
pub async fn refresh_queue_gauges(store: Arc<dyn Store>, every: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match store.queue_stats(crate::store::now_ms()).await {
            Ok(stats) => {
                let (pool_used, pool_idle) = store.pool_usage();
                metrics::set_queue_snapshot(QueueSnapshot {
                    per_tenant: stats.per_tenant,
                    oldest_age_s: stats.oldest_wait_ms as f64 / 1000.0,
                    pool_used,
                    pool_idle,
                });
            }
            // Health reports the database; the gauges keep their last values.
            Err(error) => tracing::debug!(%error, "reading the queue for metrics failed"),
        }
    }
}
