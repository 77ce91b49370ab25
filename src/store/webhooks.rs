//! Events to platforms (docs/webhooks.md): endpoints, the deliveries the
//! change transactions write for them, and the log of attempts.

use async_trait::async_trait;

use super::StoreError;

/// A tenant's registered receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    /// Its id (UUID v7).
    pub endpoint_id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Event kinds it receives (`call.scored`, …).
    pub event_kinds: Vec<String>,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// The secret before the last rotation ('' when none).
    pub previous_secret: String,
    /// Until then deliveries are signed with both secrets.
    pub previous_secret_expires_at_ms: i64,
    /// Who registered it.
    pub created_by: String,
    /// When.
    pub created_at_ms: i64,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; `ReplayWebhookDelivery` tries again.
    Failed,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Reads a stored name back.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery state {text:?}")))
    }
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    /// The tenant.
    pub tenant_id: String,
    /// Its id: the `webhook-id` header, the same on every attempt.
    pub delivery_id: String,
    /// The receiver.
    pub endpoint_id: String,
    /// The event kind.
    pub kind: String,
    /// The call it is about.
    pub call_id: String,
    /// The call's scorecard ('' before one exists).
    pub scorecard_id: String,
    /// The call's stage after the change.
    pub stage: String,
    /// The call's failure reason, if any.
    pub message: String,
    /// When the change committed, Unix epoch milliseconds.
    pub occurred_at_ms: i64,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts so far (since the last replay).
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at_ms: i64,
    /// The last HTTP status (0: no response).
    pub last_status: i64,
    /// The last error ('' when none).
    pub last_error: String,
    /// When the receiver accepted it.
    pub delivered_at_ms: Option<i64>,
}

/// One attempt, for the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAttempt {
    /// The delivery.
    pub delivery_id: String,
    /// Its number (1 for the first since the last replay).
    pub attempt: i64,
    /// When it started.
    pub at_ms: i64,
    /// The HTTP status; 0 when no response came.
    pub status: i64,
    /// Why it failed ('' when it did not).
    pub error: String,
    /// How long it took.
    pub duration_ms: i64,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Accepted by the receiver.
    Delivered,
    /// Try again at this time.
    RetryAt(i64),
    /// Give up.
    Failed,
}

/// Webhook endpoints, deliveries and attempts.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers an endpoint.
    async fn create_webhook_endpoint(
        &self,
        tenant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError>;

    /// The tenant's endpoints, oldest first.
    async fn webhook_endpoints(&self, tenant_id: &str) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// One endpoint.
    async fn webhook_endpoint(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
    ) -> Result<WebhookEndpoint, StoreError>;

    /// Removes an endpoint; its pending deliveries are dropped, the log kept.
    async fn delete_webhook_endpoint(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
    ) -> Result<(), StoreError>;

    /// Replaces the secret; the old one also signs until `previous_expires_at_ms`.
    async fn rotate_webhook_secret(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        secret: &str,
        previous_expires_at_ms: i64,
    ) -> Result<WebhookEndpoint, StoreError>;

    /// Takes the most overdue pending delivery not held by another sender,
    /// holding it until `lease_until_ms` and counting the attempt.
    async fn claim_webhook_delivery(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<WebhookDelivery>, StoreError>;

    /// Logs an attempt and moves the delivery on.
    async fn finish_webhook_attempt(
        &self,
        tenant_id: &str,
        attempt: &WebhookAttempt,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError>;

    /// One delivery.
    async fn webhook_delivery(
        &self,
        tenant_id: &str,
        delivery_id: &str,
    ) -> Result<WebhookDelivery, StoreError>;

    /// An endpoint's deliveries newest first, before the cursor.
    async fn webhook_deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        state: Option<DeliveryState>,
        before: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;

    /// A delivery's attempts, oldest first.
    async fn webhook_attempts(
        &self,
        tenant_id: &str,
        delivery_id: &str,
    ) -> Result<Vec<WebhookAttempt>, StoreError>;

    /// Deletes finished (delivered or failed) deliveries of changes before
    /// `before_ms`, with their attempts; returns how many deliveries.
    async fn prune_webhook_deliveries(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// Sends a delivery again from now, with a fresh retry budget.
    async fn replay_webhook_delivery(
        &self,
        tenant_id: &str,
        delivery_id: &str,
        now_ms: i64,
    ) -> Result<WebhookDelivery, StoreError>;
}
