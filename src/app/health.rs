//! Health that tells the truth, per role: liveness (the process runs, also
//! while draining), readiness (the database answers and the process is not
//! draining) and each service this role serves, published to the gRPC
//! health service (on the gRPC port and the admin port) and to the admin
//! port's `/livez` and `/readyz`. Also the sweep of upload files a crash
//! left behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::SERVICE_NAMES;
use crate::blobs::BlobStore;
use crate::store::Store;

/// Health service name that is SERVING while the process runs.
pub const LIVENESS: &str = "liveness";
/// Health service name that is SERVING while the process should get work.
pub const READINESS: &str = "readiness";
/// Health service name of the job workers, on roles that run them.
pub const WORKER: &str = "worker";

/// The process's health, and where it is published.
pub struct Health {
    reporter: HealthReporter,
    /// Names that follow readiness: "", `readiness`, and the role's services.
    ready_names: Vec<&'static str>,
    database_answers: AtomicBool,
    draining: AtomicBool,
}

impl Health {
    /// Starts SERVING (the database was just opened and migrated).
    pub async fn start(
        reporter: HealthReporter,
        serves_api: bool,
        runs_workers: bool,
    ) -> Arc<Self> {
        let mut ready_names = vec!["", READINESS];
        if serves_api {
            ready_names.extend(SERVICE_NAMES);
        }
        if runs_workers {
            ready_names.push(WORKER);
        }
        let health = Arc::new(Self {
            reporter,
            ready_names,
            database_answers: AtomicBool::new(true),
            draining: AtomicBool::new(false),
        });
        health
            .reporter
            .set_service_status(LIVENESS, ServingStatus::Serving)
            .await;
        health.publish().await;
        health
    }

    /// Whether the process should get work.
    pub fn is_ready(&self) -> bool {
        self.database_answers.load(Ordering::SeqCst) && !self.draining.load(Ordering::SeqCst)
    }

    async fn publish(&self) {
        let status = if self.is_ready() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        for name in &self.ready_names {
            self.reporter.set_service_status(*name, status).await;
        }
    }

    /// Records whether the database answers.
    async fn set_database_answers(&self, answers: bool) {
        self.database_answers.store(answers, Ordering::SeqCst);
        self.publish().await;
    }

    /// Not ready from now on; still live until the process exits.
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.publish().await;
    }
}

/// Pings the store every `every` until `stop`, reporting transitions.
pub async fn watch_database(
    store: Arc<dyn Store>,
    health: Arc<Health>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut serving = true;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let answer = tokio::time::timeout(every.max(Duration::from_secs(1)), store.ping()).await;
        // Draining owns the status from here on.
        if stop.is_cancelled() {
            return;
        }
        match answer {
            Ok(Ok(())) if !serving => {
                tracing::info!("database answers again: SERVING");
                health.set_database_answers(true).await;
                serving = true;
            }
            Ok(Ok(())) => {}
            Ok(Err(error)) if serving => {
                tracing::error!(%error, "database unavailable: NOT_SERVING");
                health.set_database_answers(false).await;
                serving = false;
            }
            Err(_) if serving => {
                tracing::error!(timeout = ?every, "database did not answer: NOT_SERVING");
                health.set_database_answers(false).await;
                serving = false;
            }
            _ => {}
        }
    }
}

/// Sweeps orphaned upload files now and then every hour until `stop`.
pub async fn sweep_uploads(blobs: BlobStore, min_age: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let blobs = blobs.clone();
        match tokio::task::spawn_blocking(move || blobs.sweep_orphans(min_age)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => {
                tracing::info!(removed, "removed upload files left by interrupted uploads");
            }
            Ok(Err(error)) => tracing::warn!(%error, "sweeping orphaned upload files failed"),
            Err(error) => tracing::warn!(%error, "upload sweep task failed"),
        }
    }
}
