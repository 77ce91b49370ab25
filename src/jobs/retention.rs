//! The retention worker: deletes recordings and transcripts past their
//! tenant's retention policy (TenantService), each purge audited, and prunes
//! the change feed. Safe on many replicas at once: a purge that another
//! replica made first is skipped, and deleting a missing blob succeeds.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::blobs::BlobStore;
use crate::store::{PurgeKind, RetentionPolicy, Store, StoreError, now_ms};

/// Calls purged per query; the sweep repeats until none is left.
const BATCH: u32 = 100;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Recordings deleted.
    pub audio: u64,
    /// Transcripts deleted.
    pub transcripts: u64,
    /// Change-feed events pruned.
    pub change_events: u64,
    /// Finished webhook deliveries pruned.
    pub webhook_deliveries: u64,
}

/// Runs [`sweep`] every `interval` until `shutdown`.
pub async fn run(
    store: Arc<dyn Store>,
    blobs: BlobStore,
    interval: Duration,
    change_feed_retention: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match sweep(store.as_ref(), &blobs, change_feed_retention).await {
            Ok(purged) if purged != Purged::default() => {
                tracing::info!(
                    audio = purged.audio,
                    transcripts = purged.transcripts,
                    change_events = purged.change_events,
                    webhook_deliveries = purged.webhook_deliveries,
                    "retention purged"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "retention sweep failed; retrying later"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// One pass over every tenant with a policy, then the change feed.
pub async fn sweep(
    store: &dyn Store,
    blobs: &BlobStore,
    change_feed_retention: Duration,
) -> Result<Purged, StoreError> {
    let now = now_ms();
    let mut purged = Purged::default();
    for (tenant_id, policy) in store.retention_policies().await? {
        purged.audio += purge_audio(store, blobs, &tenant_id, &policy, now).await?;
        purged.transcripts += purge_transcripts(store, &tenant_id, &policy, now).await?;
    }
    let keep_ms = i64::try_from(change_feed_retention.as_millis()).unwrap_or(i64::MAX);
    purged.change_events = store.prune_changes(now.saturating_sub(keep_ms)).await?;
    // Finished webhook deliveries and their log are kept as long as the feed.
    purged.webhook_deliveries = store
        .prune_webhook_deliveries(now.saturating_sub(keep_ms))
        .await?;
    Ok(purged)
}

async fn purge_audio(
    store: &dyn Store,
    blobs: &BlobStore,
    tenant_id: &str,
    policy: &RetentionPolicy,
    now: i64,
) -> Result<u64, StoreError> {
    if policy.audio_days == 0 {
        return Ok(0);
    }
    let before = now - i64::from(policy.audio_days) * DAY_MS;
    let detail = format!("audio_days = {}", policy.audio_days);
    let mut count = 0;
    loop {
        let due = store
            .calls_due_for_purge(tenant_id, PurgeKind::Audio, before, BATCH)
            .await?;
        let mut progressed = false;
        for call in &due {
            let Some(key) = &call.call.audio_key else {
                continue;
            };
            // The blob first: if this stops between the two, the next sweep
            // deletes nothing and then records the purge.
            let mut deleted = blobs.delete(key).await;
            if let (Ok(()), Some(sealed)) = (&deleted, &call.sealed_audio_key) {
                deleted = blobs.delete(sealed).await;
            }
            if let Err(error) = deleted {
                tracing::warn!(%error, call_id = %call.call.call_id, "cannot delete a recording past retention");
                continue;
            }
            if store
                .mark_audio_purged(tenant_id, &call.call.call_id, &detail)
                .await?
            {
                count += 1;
            }
            progressed = true;
        }
        if due.len() < BATCH as usize || !progressed {
            return Ok(count);
        }
    }
}

async fn purge_transcripts(
    store: &dyn Store,
    tenant_id: &str,
    policy: &RetentionPolicy,
    now: i64,
) -> Result<u64, StoreError> {
    if policy.transcript_days == 0 {
        return Ok(0);
    }
    let before = now - i64::from(policy.transcript_days) * DAY_MS;
    let detail = format!("transcript_days = {}", policy.transcript_days);
    let mut count = 0;
    loop {
        let due = store
            .calls_due_for_purge(tenant_id, PurgeKind::Transcript, before, BATCH)
            .await?;
        for call in &due {
            if store
                .purge_transcript(tenant_id, &call.call.call_id, &detail)
                .await?
            {
                count += 1;
            }
        }
        if due.len() < BATCH as usize {
            return Ok(count);
        }
    }
}
