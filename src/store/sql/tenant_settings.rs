//! Tenant settings, the tenant audit and retention purges on SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::SqlStore;
use super::calls::call_from_row;
use super::scorecards::{from_json, to_json};
use crate::store::calls::CallRecord;
use crate::store::tenant_settings::{
    PurgeKind, RetentionPolicy, SettingsSection, TenantAction, TenantEvent, TenantSettings,
    TenantSettingsStore,
};
use crate::store::{StoreError, now_ms};

/// The retention worker's name in the audit.
pub const RETENTION_ACTOR: &str = "retention";

async fn audit(
    transaction: &mut Transaction<'_, Any>,
    tenant_id: &str,
    action: TenantAction,
    actor: &str,
    call_id: &str,
    detail: &str,
    at_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tenant_events (event_id, tenant_id, action, actor, call_id, detail, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(tenant_id)
    .bind(action.as_str())
    .bind(actor)
    .bind(call_id)
    .bind(detail)
    .bind(at_ms)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

fn event_from_row(row: &AnyRow) -> Result<TenantEvent, StoreError> {
    Ok(TenantEvent {
        event_id: row.try_get("event_id")?,
        action: TenantAction::parse(&row.try_get::<String, _>("action")?)?,
        actor: row.try_get("actor")?,
        call_id: row.try_get("call_id")?,
        detail: row.try_get("detail")?,
        at_ms: row.try_get("at_ms")?,
    })
}

fn corrupt(name: &str, error: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("tenant setting {name}: {error}"))
}

impl SqlStore {
    /// One settings section of every tenant that set it, by tenant id.
    pub(super) async fn section_of_every_tenant<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let rows = sqlx::query(
            "SELECT tenant_id, value_json FROM tenant_settings WHERE name = $1 ORDER BY tenant_id",
        )
        .bind(name)
        .fetch_all(self.pool())
        .await?;
        let mut sections = Vec::with_capacity(rows.len());
        for row in rows {
            let value: String = row.try_get("value_json")?;
            let section = serde_json::from_str(&value).map_err(|e| corrupt(name, e))?;
            sections.push((row.try_get("tenant_id")?, section));
        }
        Ok(sections)
    }

    async fn read_settings(
        &self,
        executor: &mut sqlx::AnyConnection,
        tenant_id: &str,
    ) -> Result<TenantSettings, StoreError> {
        let tenant = sqlx::query("SELECT settings_version FROM tenants WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *executor)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("tenant {tenant_id:?}")))?;
        let mut settings = TenantSettings {
            version: tenant.try_get("settings_version")?,
            ..TenantSettings::default()
        };
        let rows = sqlx::query(
            "SELECT name, value_json, updated_by, updated_at_ms FROM tenant_settings \
             WHERE tenant_id = $1 ORDER BY updated_at_ms",
        )
        .bind(tenant_id)
        .fetch_all(&mut *executor)
        .await?;
        for row in rows {
            let name: String = row.try_get("name")?;
            let value: String = row.try_get("value_json")?;
            // Sections this build does not know (written by a newer one) are kept, not read.
            match name.as_str() {
                "retention" => {
                    settings.retention =
                        serde_json::from_str(&value).map_err(|e| corrupt(&name, e))?;
                }
                "audio_redaction" => {
                    settings.audio_redaction =
                        serde_json::from_str(&value).map_err(|e| corrupt(&name, e))?;
                }
                "review_sampling" => {
                    settings.review_sampling =
                        serde_json::from_str(&value).map_err(|e| corrupt(&name, e))?;
                }
                _ => {}
            }
            settings.updated_at_ms = Some(row.try_get("updated_at_ms")?);
            settings.updated_by = row.try_get("updated_by")?;
        }
        Ok(settings)
    }
}

#[async_trait]
impl TenantSettingsStore for SqlStore {
    async fn tenant_settings(&self, tenant_id: &str) -> Result<TenantSettings, StoreError> {
        let mut connection = self.pool().acquire().await?;
        self.read_settings(&mut connection, tenant_id).await
    }

    async fn update_tenant_settings(
        &self,
        tenant_id: &str,
        sections: &[SettingsSection],
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<TenantSettings, StoreError> {
        let now = now_ms();
        let mut transaction = self.pool().begin().await?;
        // The version is the fence, and bumping it is the transaction's first
        // statement: a SQLite transaction that read first could not take the
        // write lock once another process wrote (SQLITE_BUSY, no waiting).
        let fence = match expected_version {
            Some(_) => {
                "UPDATE tenants SET settings_version = settings_version + 1 \
                 WHERE tenant_id = $1 AND settings_version = $2"
            }
            None => {
                "UPDATE tenants SET settings_version = settings_version + 1 \
                 WHERE tenant_id = $1 AND $2 = $2"
            }
        };
        let fenced = sqlx::query(fence)
            .bind(tenant_id)
            .bind(expected_version.unwrap_or(0))
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        if fenced != 1 {
            // Missing tenant (NotFound from the read) or a stale etag.
            self.read_settings(&mut transaction, tenant_id).await?;
            return Err(StoreError::Conflict(format!(
                "settings of tenant {tenant_id:?}"
            )));
        }
        let mut before = self.read_settings(&mut transaction, tenant_id).await?;
        before.version -= 1;
        let version = before.version + 1;
        for section in sections {
            let value = section.to_json()?;
            let old = match section {
                SettingsSection::Retention(_) => {
                    serde_json::to_string(&before.retention).map_err(|e| corrupt("retention", e))?
                }
                SettingsSection::AudioRedaction(_) => {
                    serde_json::to_string(&before.audio_redaction)
                        .map_err(|e| corrupt("audio_redaction", e))?
                }
                SettingsSection::ReviewSampling(_) => {
                    serde_json::to_string(&before.review_sampling)
                        .map_err(|e| corrupt("review_sampling", e))?
                }
            };
            sqlx::query(
                "INSERT INTO tenant_settings (tenant_id, name, value_json, version, updated_by, \
                 updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (tenant_id, name) DO UPDATE SET value_json = $3, version = $4, \
                 updated_by = $5, updated_at_ms = $6",
            )
            .bind(tenant_id)
            .bind(section.name())
            .bind(&value)
            .bind(version)
            .bind(actor)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            let detail = format!("{}: {old} -> {value}", section.name());
            audit(
                &mut transaction,
                tenant_id,
                TenantAction::SettingsChanged,
                actor,
                "",
                &detail,
                now,
            )
            .await?;
        }
        let after = self.read_settings(&mut transaction, tenant_id).await?;
        transaction.commit().await?;
        Ok(after)
    }

    async fn retention_policies(&self) -> Result<Vec<(String, RetentionPolicy)>, StoreError> {
        let policies: Vec<(String, RetentionPolicy)> =
            self.section_of_every_tenant("retention").await?;
        Ok(policies
            .into_iter()
            .filter(|(_, policy)| policy.is_active())
            .collect())
    }

    async fn calls_due_for_purge(
        &self,
        tenant_id: &str,
        kind: PurgeKind,
        started_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let holding = match kind {
            PurgeKind::Audio => "audio_key IS NOT NULL AND audio_purged_at_ms IS NULL",
            PurgeKind::Transcript => {
                "transcript_json IS NOT NULL AND transcript_purged_at_ms IS NULL"
            }
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM calls WHERE tenant_id = $1 AND status IN ('scored', 'failed') \
             AND call_started_at_ms < $2 AND {holding} \
             ORDER BY call_started_at_ms, call_id LIMIT $3",
            call_columns!()
        )))
        .bind(tenant_id)
        .bind(started_before_ms)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(call_from_row).collect()
    }

    async fn mark_audio_purged(
        &self,
        tenant_id: &str,
        call_id: &str,
        detail: &str,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut transaction = self.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE calls SET audio_key = NULL, sealed_audio_key = NULL, audio_purged_at_ms = $1 \
             WHERE tenant_id = $2 AND call_id = $3 AND audio_purged_at_ms IS NULL",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(call_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if updated == 1 {
            audit(
                &mut transaction,
                tenant_id,
                TenantAction::AudioPurged,
                RETENTION_ACTOR,
                call_id,
                detail,
                now,
            )
            .await?;
        }
        transaction.commit().await?;
        Ok(updated == 1)
    }

    async fn purge_transcript(
        &self,
        tenant_id: &str,
        call_id: &str,
        detail: &str,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut transaction = self.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE calls SET transcript_json = NULL, transcript_purged_at_ms = $1 \
             WHERE tenant_id = $2 AND call_id = $3 AND transcript_purged_at_ms IS NULL",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(call_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if updated != 1 {
            transaction.rollback().await?;
            return Ok(false);
        }
        let cards = sqlx::query(
            "SELECT scorecard_id, machine_json, reviewed_json FROM scorecards \
             WHERE tenant_id = $1 AND call_id = $2",
        )
        .bind(tenant_id)
        .bind(call_id)
        .fetch_all(&mut *transaction)
        .await?;
        for card in cards {
            let scorecard_id: String = card.try_get("scorecard_id")?;
            let mut machine = from_json(&card.try_get::<String, _>("machine_json")?)?;
            let mut reviewed = from_json(&card.try_get::<String, _>("reviewed_json")?)?;
            machine.forget_quotes();
            reviewed.forget_quotes();
            sqlx::query(
                "UPDATE scorecards SET machine_json = $1, reviewed_json = $2 \
                 WHERE tenant_id = $3 AND scorecard_id = $4",
            )
            .bind(to_json(&machine)?)
            .bind(to_json(&reviewed)?)
            .bind(tenant_id)
            .bind(&scorecard_id)
            .execute(&mut *transaction)
            .await?;
        }
        audit(
            &mut transaction,
            tenant_id,
            TenantAction::TranscriptPurged,
            RETENTION_ACTOR,
            call_id,
            detail,
            now,
        )
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn list_tenant_events(
        &self,
        tenant_id: &str,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<TenantEvent>, StoreError> {
        let (after_ms, after_id) = after.unwrap_or((i64::MAX, String::new()));
        let rows = sqlx::query(
            "SELECT event_id, action, actor, call_id, detail, at_ms FROM tenant_events \
             WHERE tenant_id = $1 \
             AND (at_ms < $2 OR (at_ms = $2 AND event_id < $3) OR $3 = '') \
             ORDER BY at_ms DESC, event_id DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(after_ms)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
