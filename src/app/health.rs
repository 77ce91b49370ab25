//! Health from the database's state: every service NOT_SERVING while the
//! store does not answer (or its SQLite file is gone), SERVING again when it
//! does; and the sweep of upload files a crash left behind.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::SERVICE_NAMES;
use crate::blobs::BlobStore;
use crate::store::Store;

/// Sets every service's status, the server's own ("") included.
pub async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        reporter.set_service_status(name, status).await;
    }
}

/// Pings the store every `every` until `stop`, reporting transitions.
pub async fn watch_database(
    store: Arc<dyn Store>,
    reporter: HealthReporter,
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
                set_all(&reporter, ServingStatus::Serving).await;
                serving = true;
            }
            Ok(Ok(())) => {}
            Ok(Err(error)) if serving => {
                tracing::error!(%error, "database unavailable: NOT_SERVING");
                set_all(&reporter, ServingStatus::NotServing).await;
                serving = false;
            }
            Err(_) if serving => {
                tracing::error!(timeout = ?every, "database did not answer: NOT_SERVING");
                set_all(&reporter, ServingStatus::NotServing).await;
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
