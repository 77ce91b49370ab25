//! Score rows for coaching insight on SQL.

use async_trait::async_trait;
use sqlx::Row;

use super::SqlStore;
use crate::store::StoreError;
use crate::store::insights::{CriterionRow, InsightStore, OverallRow, Population, TimeWindow};

/// (agent filter, team filter) as bound parameters; '' matches all.
fn population_filters<'a>(population: Population<'a>) -> (&'a str, &'a str) {
    match population {
        Population::Agent(agent) => (agent, ""),
        Population::Team(team) => ("", team),
    }
}

#[async_trait]
impl InsightStore for SqlStore {
    async fn overall_scores(
        &self,
        tenant_id: &str,
        population: Population<'_>,
        window: TimeWindow,
    ) -> Result<Vec<OverallRow>, StoreError> {
        let (agent, team) = population_filters(population);
        let rows = sqlx::query(
            "SELECT scorecard_id, agent_id, call_started_at_ms, overall_score FROM scorecards \
             WHERE tenant_id = $1 AND is_current = 1 AND ($2 = '' OR agent_id = $2) \
             AND ($3 = '' OR team_id = $3) \
             AND call_started_at_ms >= $4 AND call_started_at_ms < $5 \
             ORDER BY call_started_at_ms, scorecard_id",
        )
        .bind(tenant_id)
        .bind(agent)
        .bind(team)
        .bind(window.from_ms.unwrap_or(i64::MIN))
        .bind(window.before_ms.unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OverallRow {
                    scorecard_id: row.try_get("scorecard_id")?,
                    agent_id: row.try_get("agent_id")?,
                    call_started_at_ms: row.try_get("call_started_at_ms")?,
                    overall_score: row.try_get("overall_score")?,
                })
            })
            .collect()
    }

    async fn criterion_scores(
        &self,
        tenant_id: &str,
        population: Population<'_>,
        window: TimeWindow,
    ) -> Result<Vec<CriterionRow>, StoreError> {
        let (agent, team) = population_filters(population);
        let rows = sqlx::query(
            "SELECT scorecard_id, agent_id, call_started_at_ms, criterion_id, score, failed_checks \
             FROM scorecard_criteria WHERE tenant_id = $1 AND is_current = 1 \
             AND ($2 = '' OR agent_id = $2) AND ($3 = '' OR team_id = $3) \
             AND call_started_at_ms >= $4 AND call_started_at_ms < $5 \
             ORDER BY call_started_at_ms, scorecard_id, criterion_id",
        )
        .bind(tenant_id)
        .bind(agent)
        .bind(team)
        .bind(window.from_ms.unwrap_or(i64::MIN))
        .bind(window.before_ms.unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CriterionRow {
                    scorecard_id: row.try_get("scorecard_id")?,
                    agent_id: row.try_get("agent_id")?,
                    call_started_at_ms: row.try_get("call_started_at_ms")?,
                    criterion_id: row.try_get("criterion_id")?,
                    score: row.try_get("score")?,
                    failed_checks: row.try_get("failed_checks")?,
                })
            })
            .collect()
    }

    async fn team_of_agent(
        &self,
        tenant_id: &str,
        agent_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT team_id FROM scorecards WHERE tenant_id = $1 AND agent_id = $2 \
             ORDER BY call_started_at_ms DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(agent_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| row.try_get("team_id"))
            .transpose()
            .map_err(Into::into)
    }
}
