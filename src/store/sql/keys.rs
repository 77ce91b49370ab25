//! Key lifecycle on SQL: summaries, revocation, rotation, last use, events.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{SqlStore, is_unique_violation};
use crate::store::keys::{ApiKeySummary, KeyAction, KeyEvent, KeyStore};
use crate::store::{ApiKeyRecord, StoreError, now_ms};

const SUMMARY_COLUMNS: &str = "key_id, role, label, created_at_ms, expires_at_ms, \
     last_used_at_ms, revoked_at_ms, agent_id, team_id";

fn summary_from_row(row: &AnyRow) -> Result<ApiKeySummary, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(ApiKeySummary {
        key_id: row.try_get("key_id")?,
        role: role
            .parse()
            .map_err(|error: crate::auth::UnknownRole| StoreError::Corrupt(error.to_string()))?,
        label: row.try_get("label")?,
        created_at_ms: row.try_get("created_at_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        last_used_at_ms: row.try_get("last_used_at_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
        scope: crate::auth::KeyScope {
            agent_id: row.try_get("agent_id")?,
            team_id: row.try_get("team_id")?,
        },
    })
}

fn event_from_row(row: &AnyRow) -> Result<KeyEvent, StoreError> {
    let action: String = row.try_get("action")?;
    Ok(KeyEvent {
        event_id: row.try_get("event_id")?,
        tenant_id: row.try_get("tenant_id")?,
        key_id: row.try_get("key_id")?,
        action: KeyAction::parse(&action)?,
        actor: row.try_get("actor")?,
        source: row.try_get("source")?,
        detail: row.try_get("detail")?,
        at_ms: row.try_get("at_ms")?,
    })
}

async fn insert_event<'c, E>(executor: E, event: &KeyEvent) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO key_events (event_id, tenant_id, key_id, action, actor, source, detail, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&event.event_id)
    .bind(event.tenant_id.as_deref())
    .bind(&event.key_id)
    .bind(event.action.as_str())
    .bind(&event.actor)
    .bind(&event.source)
    .bind(&event.detail)
    .bind(event.at_ms)
    .execute(executor)
    .await?;
    Ok(())
}

pub(super) async fn insert_key<'c, E>(
    executor: E,
    key: &ApiKeyRecord,
    at_ms: i64,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO api_keys (key_id, tenant_id, role, secret_sha256, label, created_at_ms, \
         expires_at_ms, agent_id, team_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&key.key_id)
    .bind(&key.tenant_id)
    .bind(key.role.as_str())
    .bind(&key.secret_sha256)
    .bind(&key.label)
    .bind(at_ms)
    .bind(key.expires_at_ms)
    .bind(&key.scope.agent_id)
    .bind(&key.scope.team_id)
    .execute(executor)
    .await
    .map_err(|error| match is_unique_violation(&error) {
        true => StoreError::AlreadyExists(format!("api key {}", key.key_id)),
        false => error.into(),
    })?;
    Ok(())
}

async fn summary<'c, E>(
    executor: E,
    tenant_id: &str,
    key_id: &str,
) -> Result<ApiKeySummary, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SUMMARY_COLUMNS} FROM api_keys WHERE tenant_id = $1 AND key_id = $2"
    )))
    .bind(tenant_id)
    .bind(key_id)
    .fetch_optional(executor)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("api key {key_id:?}")))?;
    summary_from_row(&row)
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn create_api_key(
        &self,
        key: &ApiKeyRecord,
        actor: &str,
    ) -> Result<ApiKeySummary, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let event = KeyEvent::now(Some(&key.tenant_id), &key.key_id, KeyAction::Created, actor);
        insert_key(&mut *transaction, key, event.at_ms).await?;
        insert_event(&mut *transaction, &event).await?;
        let created = summary(&mut *transaction, &key.tenant_id, &key.key_id).await?;
        transaction.commit().await?;
        Ok(created)
    }

    async fn list_api_keys(
        &self,
        tenant_id: &str,
        include_revoked: bool,
    ) -> Result<Vec<ApiKeySummary>, StoreError> {
        let filter = if include_revoked {
            ""
        } else {
            " AND revoked_at_ms IS NULL"
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SUMMARY_COLUMNS} FROM api_keys WHERE tenant_id = $1{filter} \
             ORDER BY created_at_ms DESC, key_id"
        )))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<ApiKeySummary, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let mut event = KeyEvent::now(Some(tenant_id), key_id, KeyAction::Revoked, actor);
        event.detail = reason.to_string();
        let updated = sqlx::query(
            "UPDATE api_keys SET revoked_at_ms = $3 \
             WHERE tenant_id = $1 AND key_id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(tenant_id)
        .bind(key_id)
        .bind(event.at_ms)
        .execute(&mut *transaction)
        .await?;
        // Already revoked: answered as it is, without a second event.
        let current = summary(&mut *transaction, tenant_id, key_id).await?;
        if updated.rows_affected() == 1 {
            insert_event(&mut *transaction, &event).await?;
        }
        transaction.commit().await?;
        Ok(current)
    }

    async fn rotate_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        successor: &crate::auth::IssuedKey,
        old_expires_at_ms: i64,
        actor: &str,
    ) -> Result<(ApiKeySummary, ApiKeySummary), StoreError> {
        let now = now_ms();
        let mut transaction = self.pool().begin().await?;
        let old = summary(&mut *transaction, tenant_id, key_id).await?;
        let usable =
            old.revoked_at_ms.is_none() && old.expires_at_ms.is_none_or(|expiry| expiry > now);
        if !usable {
            return Err(StoreError::NotFound(format!(
                "usable api key {key_id:?} (revoked or expired keys are not rotated)"
            )));
        }
        let expires_at_ms = old
            .expires_at_ms
            .map_or(old_expires_at_ms, |expiry| expiry.min(old_expires_at_ms));
        sqlx::query("UPDATE api_keys SET expires_at_ms = $3 WHERE tenant_id = $1 AND key_id = $2")
            .bind(tenant_id)
            .bind(key_id)
            .bind(expires_at_ms)
            .execute(&mut *transaction)
            .await?;
        // The successor keeps the key's role, label and scope.
        let successor = ApiKeyRecord {
            scope: old.scope.clone(),
            ..ApiKeyRecord::issued(successor, tenant_id, old.role, &old.label, None)
        };
        insert_key(&mut *transaction, &successor, now).await?;
        let mut rotated = KeyEvent::now(Some(tenant_id), key_id, KeyAction::Rotated, actor);
        rotated.detail = format!("successor {}", successor.key_id);
        insert_event(&mut *transaction, &rotated).await?;
        let mut created = KeyEvent::now(
            Some(tenant_id),
            &successor.key_id,
            KeyAction::Created,
            actor,
        );
        created.detail = format!("rotated from {key_id}");
        insert_event(&mut *transaction, &created).await?;
        let old = summary(&mut *transaction, tenant_id, key_id).await?;
        let new = summary(&mut *transaction, tenant_id, &successor.key_id).await?;
        transaction.commit().await?;
        Ok((old, new))
    }

    async fn touch_api_key(&self, key_id: &str, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_keys SET last_used_at_ms = $2 WHERE key_id = $1")
            .bind(key_id)
            .bind(at_ms)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn record_key_event(&self, event: &KeyEvent) -> Result<(), StoreError> {
        insert_event(self.pool(), event).await
    }

    async fn list_key_events(
        &self,
        tenant_id: &str,
        before_event_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyEvent>, StoreError> {
        // UUID v7 ids sort by time.
        let before = if before_event_id.is_some() {
            " AND event_id < $3"
        } else {
            ""
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT event_id, tenant_id, key_id, action, actor, source, detail, at_ms \
             FROM key_events WHERE tenant_id = $1{before} ORDER BY event_id DESC LIMIT $2"
        )))
        .bind(tenant_id)
        .bind(i64::from(limit));
        if let Some(before_event_id) = before_event_id {
            query = query.bind(before_event_id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(event_from_row).collect()
    }
}
