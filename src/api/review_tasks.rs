//! Reviewers' queue on the wire: listing, claiming and finishing the tasks
//! that sampling creates with scorecards (docs/review-queues.md).

use tonic::Status;

use super::convert::optional_id;
use super::paging::{decode_time_cursor, encode_time_cursor, finish_page, page_size};
use super::status::invalid;
use super::timestamp;
use crate::proto as pb;
use crate::review::SampleReason;
use crate::store::{ReviewTask, Store, StoreError, TaskFilter, TaskState};

fn state_to_wire(state: TaskState) -> pb::ReviewTaskState {
    match state {
        TaskState::ToReview => pb::ReviewTaskState::ToReview,
        TaskState::InReview => pb::ReviewTaskState::InReview,
        TaskState::Done => pb::ReviewTaskState::Done,
    }
}

/// A stored task on the wire.
pub fn to_wire(task: &ReviewTask) -> pb::ReviewTask {
    pb::ReviewTask {
        task_id: task.task_id.clone(),
        scorecard_id: task.scorecard_id.clone(),
        call_id: task.call_id.clone(),
        agent_id: task.agent_id.clone(),
        team_id: task.team_id.clone(),
        call_started_at: Some(timestamp(task.call_started_at_ms)),
        reasons: task.reasons.clone(),
        week: task.week.clone(),
        draw: task.draw,
        state: state_to_wire(task.state) as i32,
        assignee: task.assignee.clone(),
        created_at: Some(timestamp(task.created_at_ms)),
        updated_at: Some(timestamp(task.updated_at_ms)),
    }
}

/// One page of the tenant's tasks.
pub async fn list(
    store: &dyn Store,
    tenant_id: &str,
    caller: &str,
    message: &pb::ListReviewTasksRequest,
) -> Result<pb::ListReviewTasksResponse, Status> {
    let limit = page_size(message.page_size)?;
    let after = decode_time_cursor(&message.page_token)?;
    let state = match pb::ReviewTaskState::try_from(message.state) {
        Ok(pb::ReviewTaskState::Unspecified) => None,
        Ok(pb::ReviewTaskState::ToReview) => Some(TaskState::ToReview),
        Ok(pb::ReviewTaskState::InReview) => Some(TaskState::InReview),
        Ok(pb::ReviewTaskState::Done) => Some(TaskState::Done),
        Err(_) => return Err(invalid("state", "unknown ReviewTaskState value")),
    };
    let reason = optional_id("reason", &message.reason)?;
    if !reason.is_empty() && SampleReason::parse(&reason).is_none() {
        return Err(invalid(
            "reason",
            "expected random, critical_failure or low_confidence",
        ));
    }
    let agent_id = optional_id("agent_id", &message.agent_id)?;
    let filter = TaskFilter {
        state,
        assignee: message.mine.then(|| caller.to_string()),
        agent_id: Some(agent_id).filter(|a| !a.is_empty()),
        reason: Some(reason).filter(|r| !r.is_empty()),
    };
    let mut tasks = store
        .list_review_tasks(tenant_id, &filter, after, limit + 1)
        .await?;
    let next_page_token = finish_page(&mut tasks, limit, |task| {
        encode_time_cursor(task.created_at_ms, &task.task_id)
    });
    Ok(pb::ListReviewTasksResponse {
        tasks: tasks.iter().map(to_wire).collect(),
        next_page_token,
    })
}

/// Moves a task for `reviewer`; a task in another state, or another
/// reviewer's, is FAILED_PRECONDITION with what it is now.
pub async fn advance(
    store: &dyn Store,
    tenant_id: &str,
    task_id: &str,
    from: TaskState,
    to: TaskState,
    reviewer: &str,
) -> Result<ReviewTask, Status> {
    store
        .move_review_task(tenant_id, task_id, from, to, reviewer)
        .await
        .map_err(|error| match error {
            StoreError::Conflict(what) => Status::failed_precondition(format!("task_id: {what}")),
            other => other.into(),
        })
}
