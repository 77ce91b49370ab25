//! Reviewers' queue (docs/review-queues.md): tasks created with the sampled
//! scorecards, claimed by a reviewer, then done.

use async_trait::async_trait;

use super::StoreError;

/// A task to write with its scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReviewTask {
    /// Its id (UUID v7).
    pub task_id: String,
    /// Every sampling rule that fired (`random`, `critical_failure`, `low_confidence`).
    pub reasons: Vec<String>,
    /// The call's ISO week.
    pub week: String,
    /// The call's random draw.
    pub draw: f64,
    /// Reviewers it is assigned to in turn (the tenant's round robin);
    /// empty: it waits to be claimed.
    pub round_robin: Vec<String>,
}

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a reviewer.
    ToReview,
    /// Claimed by its assignee.
    InReview,
    /// Reviewed.
    Done,
}

impl TaskState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToReview => "to_review",
            Self::InReview => "in_review",
            Self::Done => "done",
        }
    }

    /// Reads a stored name back.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        [Self::ToReview, Self::InReview, Self::Done]
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown task state {text:?}")))
    }
}

/// A stored task.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewTask {
    /// Its id.
    pub task_id: String,
    /// The sampled scorecard.
    pub scorecard_id: String,
    /// Its call.
    pub call_id: String,
    /// The call's agent.
    pub agent_id: String,
    /// The call's team.
    pub team_id: String,
    /// When the call started.
    pub call_started_at_ms: i64,
    /// Why it was sampled.
    pub reasons: Vec<String>,
    /// The call's ISO week.
    pub week: String,
    /// The call's random draw.
    pub draw: f64,
    /// Where it is.
    pub state: TaskState,
    /// The reviewer's key id once claimed.
    pub assignee: String,
    /// Created (with the scorecard).
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    /// Only in this state.
    pub state: Option<TaskState>,
    /// Only claimed by this reviewer.
    pub assignee: Option<String>,
    /// Only this agent's calls.
    pub agent_id: Option<String>,
    /// Only sampled by this rule.
    pub reason: Option<String>,
}

/// Reviewers' queue.
#[async_trait]
pub trait ReviewTaskStore: Send + Sync {
    /// Tasks oldest first; `after` is the last (created_at_ms, task_id) of
    /// the previous page.
    async fn list_review_tasks(
        &self,
        tenant_id: &str,
        filter: &TaskFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<ReviewTask>, StoreError>;

    /// Tenants whose sampling rules pick each team's lowest scores, with
    /// their rules.
    async fn lowest_per_team_policies(
        &self,
    ) -> Result<Vec<(String, crate::review::ReviewSamplingPolicy)>, StoreError>;

    /// Creates tasks (reason `lowest_in_team`) for the `per_team` lowest
    /// reviewed overall scores of each team among the current scorecards of
    /// calls started in `[from_ms, before_ms)` that have no task yet (ties by
    /// scorecard id). Returns the tasks created; running it again creates none.
    async fn sample_lowest_per_team(
        &self,
        tenant_id: &str,
        from_ms: i64,
        before_ms: i64,
        policy: &crate::review::ReviewSamplingPolicy,
    ) -> Result<Vec<ReviewTask>, StoreError>;

    /// One task of the tenant.
    async fn review_task(&self, tenant_id: &str, task_id: &str) -> Result<ReviewTask, StoreError>;

    /// Moves a task to `to`, only from `from`, only by its assignee (or,
    /// claiming an unassigned task, anyone, who becomes its assignee). `Conflict` when
    /// the task is not in `from` (another reviewer claimed it, say).
    async fn move_review_task(
        &self,
        tenant_id: &str,
        task_id: &str,
        from: TaskState,
        to: TaskState,
        assignee: &str,
    ) -> Result<ReviewTask, StoreError>;
}
