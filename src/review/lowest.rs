//! The "lowest-scoring N per team" rule needs a whole week of scores, so it
//! cannot be decided as each call is scored: the workers pick them once the
//! ISO week is over, on every pass (idempotent: a scorecard gets at most one
//! task, and replicas racing each other insert each task once).

use crate::store::{Store, StoreError};

use super::sampling::previous_week;

/// Picks last week's lowest-scoring calls of each team for every tenant
/// that asks for them; returns how many tasks were created.
pub async fn sample_last_week(store: &dyn Store, now_ms: i64) -> Result<usize, StoreError> {
    let (week, from_ms, before_ms) = previous_week(now_ms);
    let mut created = 0;
    for (tenant_id, policy) in store.lowest_per_team_policies().await? {
        let tasks = store
            .sample_lowest_per_team(&tenant_id, from_ms, before_ms, &policy)
            .await?;
        if !tasks.is_empty() {
            tracing::info!(tenant = %tenant_id, %week, count = tasks.len(), "sampled each team's lowest scores");
        }
        created += tasks.len();
    }
    Ok(created)
}
