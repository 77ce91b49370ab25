//! The sender loop: takes due deliveries from the outbox, POSTs each signed
//! event, and records the attempt; failures are retried with exponential
//! backoff and jitter until `MAX_ATTEMPTS`. A delivery is held under a lease
//! while it is sent, so a sender that dies mid-delivery loses it to another
//! after the lease: delivery is at least once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng as _;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::address;
use super::sender;
use super::signing::signature;
use crate::store::{
    AttemptOutcome, Store, StoreError, WebhookAttempt, WebhookDelivery, WebhookEndpoint, now_ms,
};

/// Attempts before a delivery is marked failed (retries over 1.5 to 3
/// hours at the default 30 s base).
pub const MAX_ATTEMPTS: i64 = 10;
/// The longest wait between two attempts.
const RETRY_CAP: Duration = Duration::from_secs(3_600);
/// How long a receiver has to answer.
const RESPONSE_LIMIT: Duration = Duration::from_secs(10);
/// Deliveries sent at once by one process.
const CONCURRENCY: usize = 8;
/// Look for due deliveries at least this often.
const POLL: Duration = Duration::from_secs(1);

/// How the sender behaves (from the operator's settings).
#[derive(Debug, Clone)]
pub struct DelivererSettings {
    /// Private, loopback and plain-http destinations allowed.
    pub allow_private_networks: bool,
    /// The first retry's delay; each later one doubles, up to an hour.
    pub retry_base: Duration,
    /// How long a sender holds a delivery.
    pub lease: Duration,
}

/// The wait before attempt `attempts + 1`: `base × 2^(attempts-1)`, capped,
/// then a random point in its upper half ("equal jitter"), so that
/// receivers coming back are not hit by every sender at once.
pub fn retry_delay(base: Duration, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = base.saturating_mul(1 << doublings).min(RETRY_CAP);
    let half = full / 2;
    half + half.mul_f64(rand::rng().random::<f64>())
}

/// Sends deliveries until `shutdown`.
pub async fn run(store: Arc<dyn Store>, settings: DelivererSettings, shutdown: CancellationToken) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let signal = store.change_signal();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            () = shutdown.cancelled() => return,
        };
        let now = now_ms();
        let lease = i64::try_from(settings.lease.as_millis()).unwrap_or(i64::MAX);
        match store
            .claim_webhook_delivery(now, now.saturating_add(lease))
            .await
        {
            Ok(Some(delivery)) => {
                let store = store.clone();
                let settings = settings.clone();
                tokio::spawn(async move {
                    deliver(store.as_ref(), &settings, delivery).await;
                    drop(permit);
                });
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    () = signal.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                    () = shutdown.cancelled() => return,
                }
            }
            Err(error) => {
                drop(permit);
                tracing::warn!(%error, "webhook deliveries unreadable; retrying");
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = shutdown.cancelled() => return,
                }
            }
        }
    }
}

/// The JSON body of a delivery: the same on every attempt.
pub fn body(delivery: &WebhookDelivery) -> Bytes {
    let occurred = chrono::DateTime::from_timestamp_millis(delivery.occurred_at_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let optional = |value: &str| (!value.is_empty()).then(|| value.to_string());
    let event = serde_json::json!({
        "id": delivery.delivery_id,
        "type": delivery.kind,
        "timestamp": occurred,
        "data": {
            "call_id": delivery.call_id,
            "scorecard_id": optional(&delivery.scorecard_id),
            "stage": optional(&delivery.stage),
            "failure_reason": optional(&delivery.message),
        },
    });
    Bytes::from(event.to_string())
}

/// The signing headers for one attempt (both secrets during a rotation).
pub fn signed_headers(
    endpoint: &WebhookEndpoint,
    delivery_id: &str,
    timestamp: i64,
    body: &[u8],
    now: i64,
) -> Vec<(&'static str, String)> {
    let mut signatures: Vec<String> = [&endpoint.secret]
        .into_iter()
        .chain(
            (!endpoint.previous_secret.is_empty() && endpoint.previous_secret_expires_at_ms > now)
                .then_some(&endpoint.previous_secret),
        )
        .filter_map(|secret| signature(secret, delivery_id, timestamp, body))
        .collect();
    signatures.dedup();
    vec![
        ("webhook-id", delivery_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signatures.join(" ")),
    ]
}

async fn attempt(
    store: &dyn Store,
    settings: &DelivererSettings,
    delivery: &WebhookDelivery,
) -> Result<u16, String> {
    let endpoint = match store
        .webhook_endpoint(&delivery.tenant_id, &delivery.endpoint_id)
        .await
    {
        Ok(endpoint) => endpoint,
        Err(StoreError::NotFound(_)) => return Err("the endpoint was deleted".into()),
        Err(error) => return Err(format!("store: {error}")),
    };
    // Checked again now: the name may resolve elsewhere than at registration.
    let destination = address::resolve(&endpoint.url, settings.allow_private_networks)
        .await
        .map_err(|error| error.to_string())?;
    let body = body(delivery);
    let now = now_ms();
    let headers = signed_headers(&endpoint, &delivery.delivery_id, now / 1000, &body, now);
    sender::post(&destination, &headers, body, RESPONSE_LIMIT).await
}

async fn deliver(store: &dyn Store, settings: &DelivererSettings, delivery: WebhookDelivery) {
    let started_ms = now_ms();
    let clock = Instant::now();
    let result = attempt(store, settings, &delivery).await;
    let (status, error) = match result {
        Ok(status) if (200..300).contains(&status) => (i64::from(status), String::new()),
        Ok(status) => (i64::from(status), format!("the receiver answered {status}")),
        Err(error) => (0, error),
    };
    let outcome = if error.is_empty() {
        AttemptOutcome::Delivered
    } else if delivery.attempts >= MAX_ATTEMPTS {
        AttemptOutcome::Failed
    } else {
        let delay = retry_delay(settings.retry_base, delivery.attempts);
        AttemptOutcome::RetryAt(now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2))
    };
    let record = WebhookAttempt {
        delivery_id: delivery.delivery_id.clone(),
        attempt: delivery.attempts,
        at_ms: started_ms,
        status,
        error,
        duration_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
    };
    if let Err(error) = store
        .finish_webhook_attempt(&delivery.tenant_id, &record, outcome)
        .await
    {
        // The lease runs out and the delivery is sent again.
        tracing::warn!(%error, delivery = %delivery.delivery_id, "webhook attempt not recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_a_cap() {
        let base = Duration::from_secs(10);
        for (attempts, full) in [(1, 10), (2, 20), (3, 40), (5, 160), (20, 3_600)] {
            for _ in 0..50 {
                let delay = retry_delay(base, attempts);
                let full = Duration::from_secs(full);
                assert!(delay >= full / 2 && delay <= full, "{attempts}: {delay:?}");
            }
        }
        let spread: std::collections::HashSet<u128> =
            (0..20).map(|_| retry_delay(base, 3).as_millis()).collect();
        assert!(spread.len() > 5, "jittered");
    }
}
