//! Disputes on SQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::changes::record_scorecard_change;
use super::filter::{Filtered, Param};
use super::{SqlStore, is_unique_violation};
use crate::store::StoreError;
use crate::store::changes::ChangeKind;
use crate::store::disputes::{Dispute, DisputeFilter, DisputeState, DisputeStore, Resolution};
use crate::store::scorecards::AuditEvent;
use crate::store::scorecards::ScorecardStore;

const DISPUTE_COLUMNS: &str = "dispute_id, scorecard_id, call_id, agent_id, team_id, \
     criterion_id, check_id, state, opened_by, comment, opened_at_ms, resolved_by, resolution, \
     resolved_at_ms";

fn dispute_from_row(row: &AnyRow) -> Result<Dispute, StoreError> {
    Ok(Dispute {
        dispute_id: row.try_get("dispute_id")?,
        scorecard_id: row.try_get("scorecard_id")?,
        call_id: row.try_get("call_id")?,
        agent_id: row.try_get("agent_id")?,
        team_id: row.try_get("team_id")?,
        criterion_id: row.try_get("criterion_id")?,
        check_id: row.try_get("check_id")?,
        state: DisputeState::parse(&row.try_get::<String, _>("state")?)?,
        opened_by: row.try_get("opened_by")?,
        comment: row.try_get("comment")?,
        opened_at_ms: row.try_get("opened_at_ms")?,
        resolved_by: row.try_get("resolved_by")?,
        resolution: row.try_get("resolution")?,
        resolved_at_ms: row.try_get("resolved_at_ms")?,
    })
}

#[async_trait]
impl DisputeStore for SqlStore {
    async fn open_dispute(
        &self,
        tenant_id: &str,
        dispute: &Dispute,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO disputes (tenant_id, dispute_id, scorecard_id, call_id, agent_id, \
             team_id, criterion_id, check_id, state, opened_by, comment, opened_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11)",
        )
        .bind(tenant_id)
        .bind(&dispute.dispute_id)
        .bind(&dispute.scorecard_id)
        .bind(&dispute.call_id)
        .bind(&dispute.agent_id)
        .bind(&dispute.team_id)
        .bind(&dispute.criterion_id)
        .bind(&dispute.check_id)
        .bind(&dispute.opened_by)
        .bind(&dispute.comment)
        .bind(dispute.opened_at_ms)
        .execute(&mut *transaction)
        .await
        .map_err(|error| match is_unique_violation(&error) {
            true => StoreError::AlreadyExists(format!(
                "an open dispute of check {}/{} on scorecard {}",
                dispute.criterion_id, dispute.check_id, dispute.scorecard_id
            )),
            false => error.into(),
        })?;
        Self::audit_in(&mut transaction, tenant_id, event).await?;
        record_scorecard_change(
            &mut transaction,
            self.kind,
            ChangeKind::DisputeOpened,
            tenant_id,
            &dispute.call_id,
            &dispute.scorecard_id,
        )
        .await?;
        transaction.commit().await?;
        self.changes_committed();
        Ok(())
    }

    async fn dispute(&self, tenant_id: &str, dispute_id: &str) -> Result<Dispute, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DISPUTE_COLUMNS} FROM disputes WHERE tenant_id = $1 AND dispute_id = $2"
        )))
        .bind(tenant_id)
        .bind(dispute_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("dispute {dispute_id:?}")))?;
        dispute_from_row(&row)
    }

    async fn list_disputes(
        &self,
        tenant_id: &str,
        filter: &DisputeFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<Dispute>, StoreError> {
        let mut query = Filtered::new(
            "SELECT dispute_id, scorecard_id, call_id, agent_id, team_id, criterion_id, \
             check_id, state, opened_by, comment, opened_at_ms, resolved_by, resolution, \
             resolved_at_ms FROM disputes WHERE tenant_id = $1",
            vec![Param::Text(tenant_id.to_string())],
        );
        let text = |value: &Option<String>| value.clone().map(Param::Text);
        for (fragment, value) in [
            (
                "state = ?",
                filter.state.map(|s| Param::Text(s.as_str().to_string())),
            ),
            ("agent_id = ?", text(&filter.agent_id)),
            ("team_id = ?", text(&filter.team_id)),
            ("scorecard_id = ?", text(&filter.scorecard_id)),
        ] {
            if let Some(value) = value {
                query.and(fragment, vec![value]);
            }
        }
        if let Some((after_ms, after_id)) = after {
            query.and(
                "(opened_at_ms > ? OR (opened_at_ms = ? AND dispute_id > ?))",
                vec![
                    Param::Int(after_ms),
                    Param::Int(after_ms),
                    Param::Text(after_id),
                ],
            );
        }
        query.tail(
            "ORDER BY opened_at_ms, dispute_id LIMIT ?",
            Param::Int(i64::from(limit)),
        );
        let rows = query.build().fetch_all(self.pool()).await?;
        rows.iter().map(dispute_from_row).collect()
    }

    async fn resolve_dispute(
        &self,
        tenant_id: &str,
        dispute_id: &str,
        resolution: &Resolution,
    ) -> Result<bool, StoreError> {
        let dispute = self.dispute(tenant_id, dispute_id).await?;
        let record = match &resolution.change {
            Some(_) => Some(self.get_scorecard(tenant_id, &dispute.scorecard_id).await?),
            None => None,
        };
        let mut transaction = self.pool().begin().await?;
        let resolved = sqlx::query(
            "UPDATE disputes SET state = $1, resolved_by = $2, resolution = $3, \
             resolved_at_ms = $4 WHERE tenant_id = $5 AND dispute_id = $6 AND state = 'open'",
        )
        .bind(resolution.state.as_str())
        .bind(&resolution.resolved_by)
        .bind(&resolution.reason)
        .bind(resolution.at_ms)
        .bind(tenant_id)
        .bind(dispute_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if resolved != 1 {
            transaction.rollback().await?;
            let now = self.dispute(tenant_id, dispute_id).await?;
            return Err(StoreError::Conflict(format!(
                "dispute {dispute_id:?} is {} already",
                now.state.as_str()
            )));
        }
        if let (Some(change), Some(record)) = (&resolution.change, record) {
            let applied = self
                .review_in(
                    &mut transaction,
                    tenant_id,
                    record,
                    change.expected_revision,
                    &change.reviewed,
                    &change.event,
                )
                .await?;
            if !applied {
                transaction.rollback().await?;
                return Ok(false);
            }
        }
        Self::audit_in(&mut transaction, tenant_id, &resolution.event).await?;
        record_scorecard_change(
            &mut transaction,
            self.kind,
            ChangeKind::DisputeResolved,
            tenant_id,
            &dispute.call_id,
            &dispute.scorecard_id,
        )
        .await?;
        transaction.commit().await?;
        self.changes_committed();
        Ok(true)
    }

    async fn record_audit_event(
        &self,
        tenant_id: &str,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        Self::audit_in(&mut transaction, tenant_id, event).await?;
        transaction.commit().await?;
        Ok(())
    }
}
