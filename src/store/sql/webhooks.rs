//! Webhook endpoints, deliveries and attempts on SQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use crate::store::StoreError;
use crate::store::webhooks::{
    AttemptOutcome, DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookStore,
};

const ENDPOINT_COLUMNS: &str = "endpoint_id, url, event_kinds, secret, previous_secret, \
     previous_secret_expires_at_ms, created_by, created_at_ms";

const DELIVERY_COLUMNS: &str = "tenant_id, delivery_id, endpoint_id, kind, call_id, scorecard_id, \
     stage, message, occurred_at_ms, state, attempts, next_attempt_at_ms, last_status, last_error, \
     delivered_at_ms";

fn endpoint_from_row(row: &AnyRow) -> Result<WebhookEndpoint, StoreError> {
    let kinds: String = row.try_get("event_kinds")?;
    Ok(WebhookEndpoint {
        endpoint_id: row.try_get("endpoint_id")?,
        url: row.try_get("url")?,
        event_kinds: kinds.split(',').map(str::to_string).collect(),
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
        previous_secret_expires_at_ms: row.try_get("previous_secret_expires_at_ms")?,
        created_by: row.try_get("created_by")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

fn delivery_from_row(row: &AnyRow) -> Result<WebhookDelivery, StoreError> {
    Ok(WebhookDelivery {
        tenant_id: row.try_get("tenant_id")?,
        delivery_id: row.try_get("delivery_id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        kind: row.try_get("kind")?,
        call_id: row.try_get("call_id")?,
        scorecard_id: row.try_get("scorecard_id")?,
        stage: row.try_get("stage")?,
        message: row.try_get("message")?,
        occurred_at_ms: row.try_get("occurred_at_ms")?,
        state: DeliveryState::parse(&row.try_get::<String, _>("state")?)?,
        attempts: row.try_get("attempts")?,
        next_attempt_at_ms: row.try_get("next_attempt_at_ms")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        delivered_at_ms: row.try_get("delivered_at_ms")?,
    })
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook_endpoint(
        &self,
        tenant_id: &str,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_endpoints (tenant_id, endpoint_id, url, event_kinds, secret, \
             created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant_id)
        .bind(&endpoint.endpoint_id)
        .bind(&endpoint.url)
        .bind(endpoint.event_kinds.join(","))
        .bind(&endpoint.secret)
        .bind(&endpoint.created_by)
        .bind(endpoint.created_at_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn webhook_endpoints(&self, tenant_id: &str) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 \
             ORDER BY created_at_ms, endpoint_id"
        )))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    async fn webhook_endpoint(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
    ) -> Result<WebhookEndpoint, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
             WHERE tenant_id = $1 AND endpoint_id = $2"
        )))
        .bind(tenant_id)
        .bind(endpoint_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("webhook endpoint {endpoint_id:?}")))?;
        endpoint_from_row(&row)
    }

    async fn delete_webhook_endpoint(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
    ) -> Result<(), StoreError> {
        self.webhook_endpoint(tenant_id, endpoint_id).await?;
        let mut transaction = self.pool().begin().await?;
        for statement in [
            "DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 \
             AND state = 'pending'",
            "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND endpoint_id = $2",
        ] {
            sqlx::query(statement)
                .bind(tenant_id)
                .bind(endpoint_id)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn rotate_webhook_secret(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        secret: &str,
        previous_expires_at_ms: i64,
    ) -> Result<WebhookEndpoint, StoreError> {
        let rotated = sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = secret, \
             previous_secret_expires_at_ms = $3, secret = $4 \
             WHERE tenant_id = $1 AND endpoint_id = $2",
        )
        .bind(tenant_id)
        .bind(endpoint_id)
        .bind(previous_expires_at_ms)
        .bind(secret)
        .execute(self.pool())
        .await?
        .rows_affected();
        if rotated == 0 {
            return Err(StoreError::NotFound(format!(
                "webhook endpoint {endpoint_id:?}"
            )));
        }
        self.webhook_endpoint(tenant_id, endpoint_id).await
    }

    async fn claim_webhook_delivery(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        // A few candidates, then a conditional update: another sender may
        // take one first, and then the next is tried.
        let candidates = sqlx::query(
            "SELECT tenant_id, delivery_id FROM webhook_deliveries \
             WHERE state = 'pending' AND next_attempt_at_ms <= $1 AND lease_until_ms <= $1 \
             ORDER BY next_attempt_at_ms LIMIT 8",
        )
        .bind(now_ms)
        .fetch_all(self.pool())
        .await?;
        for row in &candidates {
            let tenant_id: String = row.try_get("tenant_id")?;
            let delivery_id: String = row.try_get("delivery_id")?;
            let claimed = sqlx::query(
                "UPDATE webhook_deliveries SET lease_until_ms = $1, attempts = attempts + 1 \
                 WHERE tenant_id = $2 AND delivery_id = $3 AND state = 'pending' \
                 AND lease_until_ms <= $4",
            )
            .bind(lease_until_ms)
            .bind(&tenant_id)
            .bind(&delivery_id)
            .bind(now_ms)
            .execute(self.pool())
            .await?
            .rows_affected();
            if claimed == 1 {
                return Ok(Some(self.webhook_delivery(&tenant_id, &delivery_id).await?));
            }
        }
        Ok(None)
    }

    async fn finish_webhook_attempt(
        &self,
        tenant_id: &str,
        attempt: &WebhookAttempt,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (tenant_id, attempt_id, delivery_id, attempt, at_ms, \
             status, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant_id)
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&attempt.delivery_id)
        .bind(attempt.attempt)
        .bind(attempt.at_ms)
        .bind(attempt.status)
        .bind(&attempt.error)
        .bind(attempt.duration_ms)
        .execute(&mut *transaction)
        .await?;
        let (state, next_at, delivered_at) = match outcome {
            AttemptOutcome::Delivered => (DeliveryState::Delivered, 0, Some(attempt.at_ms)),
            AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, at, None),
            AttemptOutcome::Failed => (DeliveryState::Failed, 0, None),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, \
             next_attempt_at_ms = CASE WHEN $2 > 0 THEN $2 ELSE next_attempt_at_ms END, \
             lease_until_ms = 0, last_status = $3, last_error = $4, delivered_at_ms = $5 \
             WHERE tenant_id = $6 AND delivery_id = $7",
        )
        .bind(state.as_str())
        .bind(next_at)
        .bind(attempt.status)
        .bind(&attempt.error)
        .bind(delivered_at)
        .bind(tenant_id)
        .bind(&attempt.delivery_id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn webhook_delivery(
        &self,
        tenant_id: &str,
        delivery_id: &str,
    ) -> Result<WebhookDelivery, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE tenant_id = $1 AND delivery_id = $2"
        )))
        .bind(tenant_id)
        .bind(delivery_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("webhook delivery {delivery_id:?}")))?;
        delivery_from_row(&row)
    }

    async fn webhook_deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        state: Option<DeliveryState>,
        before: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let (before_ms, before_id) = before.unwrap_or((i64::MAX, String::new()));
        let first_page = i64::from(before_ms == i64::MAX);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3 = '' OR state = $3) \
               AND ($4 = 1 OR occurred_at_ms < $5 OR (occurred_at_ms = $5 AND delivery_id < $6)) \
             ORDER BY occurred_at_ms DESC, delivery_id DESC LIMIT $7"
        )))
        .bind(tenant_id)
        .bind(endpoint_id)
        .bind(state.map_or("", DeliveryState::as_str))
        .bind(first_page)
        .bind(before_ms)
        .bind(before_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn webhook_attempts(
        &self,
        tenant_id: &str,
        delivery_id: &str,
    ) -> Result<Vec<WebhookAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT delivery_id, attempt, at_ms, status, error, duration_ms FROM webhook_attempts \
             WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY at_ms, attempt_id",
        )
        .bind(tenant_id)
        .bind(delivery_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WebhookAttempt {
                    delivery_id: row.try_get("delivery_id")?,
                    attempt: row.try_get("attempt")?,
                    at_ms: row.try_get("at_ms")?,
                    status: row.try_get("status")?,
                    error: row.try_get("error")?,
                    duration_ms: row.try_get("duration_ms")?,
                })
            })
            .collect()
    }

    async fn prune_webhook_deliveries(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE EXISTS (SELECT 1 FROM webhook_deliveries d \
             WHERE d.tenant_id = webhook_attempts.tenant_id \
               AND d.delivery_id = webhook_attempts.delivery_id \
               AND d.state <> 'pending' AND d.occurred_at_ms < $1)",
        )
        .bind(before_ms)
        .execute(&mut *transaction)
        .await?;
        let pruned = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND occurred_at_ms < $1",
        )
        .bind(before_ms)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        Ok(pruned)
    }

    async fn replay_webhook_delivery(
        &self,
        tenant_id: &str,
        delivery_id: &str,
        now_ms: i64,
    ) -> Result<WebhookDelivery, StoreError> {
        let delivery = self.webhook_delivery(tenant_id, delivery_id).await?;
        // The endpoint must still exist.
        self.webhook_endpoint(tenant_id, &delivery.endpoint_id)
            .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, \
             next_attempt_at_ms = $3, lease_until_ms = 0, delivered_at_ms = NULL \
             WHERE tenant_id = $1 AND delivery_id = $2",
        )
        .bind(tenant_id)
        .bind(delivery_id)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        self.webhook_delivery(tenant_id, delivery_id).await
    }
}
