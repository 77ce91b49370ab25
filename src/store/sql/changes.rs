//! The outbox on SQL: events appended inside the changing transaction,
//! PostgreSQL NOTIFY on commit, and reading in seq order.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tokio::sync::Notify;

use super::SqlStore;
use crate::config::DatabaseKind;
use crate::store::StoreError;
use crate::store::calls::Stage;
use crate::store::changes::{ChangeEvent, ChangeKind, ChangeStore};

/// The PostgreSQL channel commits are announced on.
const CHANNEL: &str = "callscore_changes";

const EVENT_COLUMNS: &str =
    "seq, tenant_id, kind, call_id, stage, progress, message, scorecard_id, created_at_ms";

/// Appends one event per call matching `call_filter` (an SQL condition on
/// `calls` with `$1` the tenant, or none when `tenant_id` is `None`), with each
/// call's state as this transaction leaves it; on PostgreSQL the NOTIFY is
/// delivered when the transaction commits.
pub(super) async fn record_call_changes(
    transaction: &mut Transaction<'_, Any>,
    kind: DatabaseKind,
    change: ChangeKind,
    call_filter: &str,
    binds: &[&str],
    now: i64,
) -> Result<(), sqlx::Error> {
    let statement = format!(
        "INSERT INTO change_events (tenant_id, kind, call_id, stage, progress, message, \
         scorecard_id, created_at_ms) \
         SELECT tenant_id, '{}', call_id, stage, progress, failure_reason, latest_scorecard_id, \
         {now} FROM calls WHERE {call_filter}",
        change.as_str()
    );
    // Only constants and an integer are formatted in; values are bound.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
    for value in binds {
        query = query.bind(*value);
    }
    query.execute(&mut **transaction).await?;
    let source = format!(
        "SELECT tenant_id, call_id, COALESCE(latest_scorecard_id, '') AS scorecard_id, \
         stage, failure_reason AS message FROM calls WHERE {call_filter}"
    );
    enqueue_webhooks(transaction, change, &source, binds, now).await?;
    notify_on_commit(transaction, kind).await
}

/// Writes one webhook delivery per subscribed endpoint of each changed call
/// (`source` selects tenant_id, call_id, scorecard_id, stage, message), in
/// the changing transaction: the outbox that webhooks deliver from
/// (docs/webhooks.md).
async fn enqueue_webhooks(
    transaction: &mut Transaction<'_, Any>,
    change: ChangeKind,
    source: &str,
    binds: &[&str],
    now: i64,
) -> Result<(), sqlx::Error> {
    // One id per change and endpoint: this batch, the endpoint, the call.
    let batch = uuid::Uuid::now_v7().simple().to_string();
    let kind = change.as_str();
    let statement = format!(
        "INSERT INTO webhook_deliveries (tenant_id, delivery_id, endpoint_id, kind, call_id, \
         scorecard_id, stage, message, occurred_at_ms, state, next_attempt_at_ms) \
         SELECT c.tenant_id, '{batch}' || '-' || e.endpoint_id || '-' || c.call_id, \
         e.endpoint_id, '{kind}', c.call_id, c.scorecard_id, c.stage, c.message, {now}, \
         'pending', {now} FROM ({source}) c JOIN webhook_endpoints e \
         ON e.tenant_id = c.tenant_id \
         WHERE (',' || e.event_kinds || ',') LIKE '%,{kind},%'"
    );
    // Constants, an id of hex digits and an integer are formatted in.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
    for value in binds {
        query = query.bind(*value);
    }
    query.execute(&mut **transaction).await?;
    Ok(())
}

/// Appends one event for one call (see [`record_call_changes`]).
pub(super) async fn record_call_change(
    transaction: &mut Transaction<'_, Any>,
    kind: DatabaseKind,
    change: ChangeKind,
    tenant_id: &str,
    call_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let one_call = "tenant_id = $1 AND call_id = $2";
    record_call_changes(
        transaction,
        kind,
        change,
        one_call,
        &[tenant_id, call_id],
        now,
    )
    .await
}

/// Appends a change to one scorecard of a call, with the call's state.
pub(super) async fn record_scorecard_change(
    transaction: &mut Transaction<'_, Any>,
    kind: DatabaseKind,
    change: ChangeKind,
    tenant_id: &str,
    call_id: &str,
    scorecard_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO change_events (tenant_id, kind, call_id, stage, progress, message, \
         scorecard_id, created_at_ms) \
         SELECT tenant_id, $1, call_id, stage, progress, failure_reason, $2, $3 \
         FROM calls WHERE tenant_id = $4 AND call_id = $5",
    )
    .bind(change.as_str())
    .bind(scorecard_id)
    .bind(crate::store::now_ms())
    .bind(tenant_id)
    .bind(call_id)
    .execute(&mut **transaction)
    .await?;
    let source = "SELECT tenant_id, call_id, CAST($3 AS TEXT) AS scorecard_id, stage, \
         failure_reason AS message FROM calls WHERE tenant_id = $1 AND call_id = $2";
    enqueue_webhooks(
        transaction,
        change,
        source,
        &[tenant_id, call_id, scorecard_id],
        crate::store::now_ms(),
    )
    .await?;
    notify_on_commit(transaction, kind).await
}

/// Appends the deletion of a call (its row is gone, so nothing to copy).
pub(super) async fn record_call_deleted(
    transaction: &mut Transaction<'_, Any>,
    kind: DatabaseKind,
    tenant_id: &str,
    call_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO change_events (tenant_id, kind, call_id, stage, progress, message, \
         scorecard_id, created_at_ms) VALUES ($1, $2, $3, NULL, 0, '', NULL, $4)",
    )
    .bind(tenant_id)
    .bind(ChangeKind::CallDeleted.as_str())
    .bind(call_id)
    .bind(now)
    .execute(&mut **transaction)
    .await?;
    let source = "SELECT CAST($1 AS TEXT) AS tenant_id, CAST($2 AS TEXT) AS call_id, \
         '' AS scorecard_id, '' AS stage, '' AS message";
    enqueue_webhooks(
        transaction,
        ChangeKind::CallDeleted,
        source,
        &[tenant_id, call_id],
        now,
    )
    .await?;
    notify_on_commit(transaction, kind).await
}

async fn notify_on_commit(
    transaction: &mut Transaction<'_, Any>,
    kind: DatabaseKind,
) -> Result<(), sqlx::Error> {
    if kind == DatabaseKind::Postgres {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&mut **transaction)
            .await?;
    }
    Ok(())
}

fn event_from_row(row: &AnyRow) -> Result<ChangeEvent, StoreError> {
    let stage: Option<String> = row.try_get("stage")?;
    Ok(ChangeEvent {
        seq: row.try_get("seq")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: ChangeKind::parse(&row.try_get::<String, _>("kind")?)?,
        call_id: row.try_get("call_id")?,
        stage: stage.as_deref().map(Stage::parse).transpose()?,
        progress: row.try_get::<Option<f64>, _>("progress")?.unwrap_or(0.0),
        message: row.try_get("message")?,
        scorecard_id: row.try_get("scorecard_id")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

#[async_trait]
impl ChangeStore for SqlStore {
    async fn changes_after(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ChangeEvent>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM change_events WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn changes_in(&self, seqs: &[i64]) -> Result<Vec<ChangeEvent>, StoreError> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        // Integers only, so the list is safe to inline.
        let list = seqs
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM change_events WHERE seq IN ({list}) ORDER BY seq"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn latest_change_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS latest FROM change_events")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("latest")?)
    }

    async fn latest_call_change_seq(
        &self,
        tenant_id: &str,
        call_id: &str,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) AS latest FROM change_events \
             WHERE tenant_id = $1 AND call_id = $2",
        )
        .bind(tenant_id)
        .bind(call_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("latest")?)
    }

    async fn prune_changes(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM change_events WHERE created_at_ms < $1")
                .bind(before_ms)
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }

    fn change_signal(&self) -> Arc<Notify> {
        self.change_signal.clone()
    }

    async fn listen_for_changes(&self) -> Result<(), StoreError> {
        let Some(url) = &self.postgres_url else {
            return std::future::pending().await;
        };
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        // Whatever committed while not listening is read by the feed's
        // catch-up read after this wake.
        self.change_signal.notify_one();
        loop {
            listener.recv().await?;
            self.change_signal.notify_one();
        }
    }
}
