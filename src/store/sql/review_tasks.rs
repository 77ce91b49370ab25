//! Reviewers' queue on SQL.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::SqlStore;
use super::filter::{Filtered, Param};
use crate::review::sampling::{ReviewSamplingPolicy, SampleReason, draw, iso_week};
use crate::store::review_tasks::{
    NewReviewTask, ReviewTask, ReviewTaskStore, TaskFilter, TaskState,
};
use crate::store::scorecards::NewScorecard;
use crate::store::{StoreError, now_ms};

const TASK_COLUMNS: &str = "task_id, scorecard_id, call_id, agent_id, team_id, \
     call_started_at_ms, reasons, week, draw, state, assignee, created_at_ms, updated_at_ms";

/// The scorecard a task is about.
pub(super) struct TaskSubject {
    scorecard_id: String,
    call_id: String,
    agent_id: String,
    team_id: String,
    call_started_at_ms: i64,
}

impl From<&NewScorecard> for TaskSubject {
    fn from(scorecard: &NewScorecard) -> Self {
        Self {
            scorecard_id: scorecard.scorecard_id.clone(),
            call_id: scorecard.call_id.clone(),
            agent_id: scorecard.agent_id.clone(),
            team_id: scorecard.team_id.clone(),
            call_started_at_ms: scorecard.call_started_at_ms,
        }
    }
}

/// Writes a scorecard's task in the caller's transaction; false when the
/// scorecard has one already.
pub(super) async fn insert_task(
    transaction: &mut Transaction<'_, Any>,
    tenant_id: &str,
    scorecard: &TaskSubject,
    task: &NewReviewTask,
    now: i64,
) -> Result<bool, sqlx::Error> {
    // Round robin: the tenant's task count picks the next reviewer.
    let assignee = if task.round_robin.is_empty() {
        String::new()
    } else {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM review_tasks WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(&mut **transaction)
            .await?
            .try_get("n")?;
        let turn = usize::try_from(count).unwrap_or(0) % task.round_robin.len();
        task.round_robin[turn].clone()
    };
    let inserted = sqlx::query(
        "INSERT INTO review_tasks (tenant_id, task_id, scorecard_id, call_id, agent_id, team_id, \
         call_started_at_ms, reasons, week, draw, state, assignee, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'to_review', $12, $11, $11) \
         ON CONFLICT (tenant_id, scorecard_id) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(&task.task_id)
    .bind(&scorecard.scorecard_id)
    .bind(&scorecard.call_id)
    .bind(&scorecard.agent_id)
    .bind(&scorecard.team_id)
    .bind(scorecard.call_started_at_ms)
    .bind(task.reasons.join(","))
    .bind(&task.week)
    .bind(task.draw)
    .bind(now)
    .bind(assignee)
    .execute(&mut **transaction)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

fn task_from_row(row: &AnyRow) -> Result<ReviewTask, StoreError> {
    let reasons: String = row.try_get("reasons")?;
    Ok(ReviewTask {
        task_id: row.try_get("task_id")?,
        scorecard_id: row.try_get("scorecard_id")?,
        call_id: row.try_get("call_id")?,
        agent_id: row.try_get("agent_id")?,
        team_id: row.try_get("team_id")?,
        call_started_at_ms: row.try_get("call_started_at_ms")?,
        reasons: reasons.split(',').map(str::to_string).collect(),
        week: row.try_get("week")?,
        draw: row.try_get("draw")?,
        state: TaskState::parse(&row.try_get::<String, _>("state")?)?,
        assignee: row.try_get("assignee")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

#[async_trait]
impl ReviewTaskStore for SqlStore {
    async fn lowest_per_team_policies(
        &self,
    ) -> Result<Vec<(String, ReviewSamplingPolicy)>, StoreError> {
        let policies: Vec<(String, ReviewSamplingPolicy)> =
            self.section_of_every_tenant("review_sampling").await?;
        Ok(policies
            .into_iter()
            .filter(|(_, policy)| policy.lowest_per_team > 0)
            .collect())
    }

    async fn sample_lowest_per_team(
        &self,
        tenant_id: &str,
        from_ms: i64,
        before_ms: i64,
        policy: &ReviewSamplingPolicy,
    ) -> Result<Vec<ReviewTask>, StoreError> {
        let candidates = sqlx::query(
            "SELECT scorecard_id, call_id, agent_id, team_id, call_started_at_ms FROM ( \
               SELECT s.scorecard_id, s.call_id, s.agent_id, s.team_id, s.call_started_at_ms, \
                 ROW_NUMBER() OVER (PARTITION BY s.team_id \
                   ORDER BY s.overall_score, s.scorecard_id) AS place \
               FROM scorecards s \
               WHERE s.tenant_id = $1 AND s.is_current = 1 AND s.overall_score IS NOT NULL \
                 AND s.call_started_at_ms >= $2 AND s.call_started_at_ms < $3 \
             ) ranked WHERE place <= $4 AND NOT EXISTS (SELECT 1 FROM review_tasks t \
               WHERE t.tenant_id = $1 AND t.scorecard_id = ranked.scorecard_id) \
             ORDER BY team_id, place",
        )
        .bind(tenant_id)
        .bind(from_ms)
        .bind(before_ms)
        .bind(i64::from(policy.lowest_per_team))
        .fetch_all(self.pool())
        .await?;
        let now = now_ms();
        let mut created = Vec::new();
        let mut transaction = self.pool().begin().await?;
        for row in &candidates {
            let scorecard = TaskSubject {
                scorecard_id: row.try_get("scorecard_id")?,
                call_id: row.try_get("call_id")?,
                agent_id: row.try_get("agent_id")?,
                team_id: row.try_get("team_id")?,
                call_started_at_ms: row.try_get("call_started_at_ms")?,
            };
            let week = iso_week(scorecard.call_started_at_ms);
            let task = NewReviewTask {
                task_id: uuid::Uuid::now_v7().to_string(),
                reasons: vec![SampleReason::LowestInTeam.as_str().to_string()],
                draw: draw(tenant_id, &week, &scorecard.call_id),
                week,
                round_robin: policy.round_robin.clone(),
            };
            // Another replica's sweep may have picked it meanwhile.
            if insert_task(&mut transaction, tenant_id, &scorecard, &task, now).await? {
                created.push(task.task_id);
            }
        }
        transaction.commit().await?;
        let mut tasks = Vec::with_capacity(created.len());
        for task_id in created {
            tasks.push(self.review_task(tenant_id, &task_id).await?);
        }
        Ok(tasks)
    }

    async fn review_task(&self, tenant_id: &str, task_id: &str) -> Result<ReviewTask, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM review_tasks WHERE tenant_id = $1 AND task_id = $2"
        )))
        .bind(tenant_id)
        .bind(task_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("review task {task_id:?}")))?;
        task_from_row(&row)
    }
    async fn list_review_tasks(
        &self,
        tenant_id: &str,
        filter: &TaskFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<ReviewTask>, StoreError> {
        let mut query = Filtered::new(
            "SELECT task_id, scorecard_id, call_id, agent_id, team_id, call_started_at_ms, \
             reasons, week, draw, state, assignee, created_at_ms, updated_at_ms \
             FROM review_tasks WHERE tenant_id = $1",
            vec![Param::Text(tenant_id.to_string())],
        );
        let text = |value: &Option<String>| value.clone().map(Param::Text);
        for (fragment, value) in [
            (
                "state = ?",
                filter.state.map(|s| Param::Text(s.as_str().to_string())),
            ),
            ("assignee = ?", text(&filter.assignee)),
            ("agent_id = ?", text(&filter.agent_id)),
            (
                "(',' || reasons || ',') LIKE ?",
                filter
                    .reason
                    .as_ref()
                    .map(|r| Param::Text(format!("%,{r},%"))),
            ),
        ] {
            if let Some(value) = value {
                query.and(fragment, vec![value]);
            }
        }
        if let Some((after_ms, after_id)) = after {
            query.and(
                "(created_at_ms > ? OR (created_at_ms = ? AND task_id > ?))",
                vec![
                    Param::Int(after_ms),
                    Param::Int(after_ms),
                    Param::Text(after_id),
                ],
            );
        }
        query.tail(
            "ORDER BY created_at_ms, task_id LIMIT ?",
            Param::Int(i64::from(limit)),
        );
        let rows = query.build().fetch_all(self.pool()).await?;
        rows.iter().map(task_from_row).collect()
    }

    async fn move_review_task(
        &self,
        tenant_id: &str,
        task_id: &str,
        from: TaskState,
        to: TaskState,
        assignee: &str,
    ) -> Result<ReviewTask, StoreError> {
        // Claiming takes an unassigned task; finishing needs its assignee.
        let (condition, new_assignee) = match from {
            TaskState::ToReview => (" AND (assignee = '' OR assignee = $6)", assignee),
            _ => (" AND assignee = $6", assignee),
        };
        let moved = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE review_tasks SET state = $1, assignee = $2, updated_at_ms = $3 \
             WHERE tenant_id = $4 AND task_id = $5 AND state = $7{condition}"
        )))
        .bind(to.as_str())
        .bind(new_assignee)
        .bind(now_ms())
        .bind(tenant_id)
        .bind(task_id)
        .bind(assignee)
        .bind(from.as_str())
        .execute(self.pool())
        .await?
        .rows_affected();
        let task = self.review_task(tenant_id, task_id).await?;
        if moved == 1 {
            Ok(task)
        } else {
            Err(StoreError::Conflict(format!(
                "review task {task_id:?} is {} (assignee {:?}), not {}",
                task.state.as_str(),
                task.assignee,
                from.as_str()
            )))
        }
    }
}
