//! Score rows for coaching insight on SQL.

use async_trait::async_trait;
use sqlx::Row;

use super::SqlStore;
use crate::store::StoreError;
use crate::store::insights::{CriterionRow, InsightStore, OverallRow, Population, TimeWindow};

/// The population's column and value. Each population gets its own SQL
/// text (rather than `($2 = '' OR agent_id = $2)`) so that SQLite, which
/// plans a statement before seeing its parameters, can use the agent or team
/// index instead of scanning the whole tenant.
fn population_filter<'a>(population: Population<'a>) -> (&'static str, &'a str) {
    match population {
        Population::Agent(agent) => ("agent_id", agent),
        Population::Team(team) => ("team_id", team),
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
        let (column, value) = population_filter(population);
        let sql = format!(
            "SELECT scorecard_id, agent_id, call_started_at_ms, overall_score FROM scorecards \
             WHERE tenant_id = $1 AND {column} = $2 AND is_current = 1 \
             AND call_started_at_ms >= $3 AND call_started_at_ms < $4 \
             ORDER BY call_started_at_ms, scorecard_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(value)
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
        let (column, value) = population_filter(population);
        let sql = format!(
            "SELECT scorecard_id, agent_id, call_started_at_ms, criterion_id, score, failed_checks \
             FROM scorecard_criteria WHERE tenant_id = $1 AND {column} = $2 AND is_current = 1 \
             AND call_started_at_ms >= $3 AND call_started_at_ms < $4 \
             ORDER BY call_started_at_ms, scorecard_id, criterion_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(value)
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
