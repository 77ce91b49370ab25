//! ReviewService: check overrides with reasons (the machine's result is
//! kept), confirmations, the audit trail, coaching notes, and how far each
//! machine check is trusted.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::ServiceState;
use super::convert::{self, optional_id, required_id};
use super::paging::{decode_token, encode_token, finish_page, page_size};
use super::reliability;
use super::review_tasks;
use super::scorecard::scorecard_to_wire;
use super::status::invalid;
use crate::auth::{Action, Principal};
use crate::proto::review_service_server::ReviewService;
use crate::proto::{self as pb};
use crate::scoring::{CheckRef, Scorecard};
use crate::store::{
    AuditAction, AuditEvent, CoachingNote, ScorecardFilter, ScorecardRecord, TaskState, now_ms,
};

/// Longest reason or note accepted.
const MAX_TEXT_LEN: usize = 4_000;

/// The ReviewService.
#[derive(Clone)]
pub struct ReviewApi {
    state: Arc<ServiceState>,
}

impl ReviewApi {
    /// Serves reviews from the shared state.
    pub fn new(state: Arc<ServiceState>) -> Self {
        Self { state }
    }
}

impl ReviewApi {
    /// Required, bounded free text, with card numbers, PINs and contact
    /// details masked as in transcripts: reviewers quote what they heard.
    fn redacted_text(&self, field: &str, value: &str) -> Result<String, Status> {
        let value = text(field, value)?;
        Ok(self.state.pipeline.redactor.redact_text(&value))
    }
}

impl ReviewApi {
    /// Records that `principal` agrees with the scorecard as it stands.
    async fn confirm(
        &self,
        principal: &Principal,
        scorecard_id: &str,
        reason: String,
    ) -> Result<AuditEvent, Status> {
        let tenant = &principal.tenant_id;
        let record = self.state.store.get_scorecard(tenant, scorecard_id).await?;
        let event = AuditEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            scorecard_id: scorecard_id.to_string(),
            call_id: record.call_id.clone(),
            action: AuditAction::Confirmed,
            actor: principal.key_id.clone(),
            criterion_id: String::new(),
            check_id: String::new(),
            old_outcome: String::new(),
            new_outcome: String::new(),
            reason,
            old_overall_score: record.reviewed.overall_score,
            new_overall_score: record.reviewed.overall_score,
            old_fraction: None,
            new_fraction: None,
            at_ms: now_ms(),
        };
        // The reviewed result is stored again unchanged: confirming is a
        // review (it bumps the revision) that changes no score.
        self.store_review(tenant, &record, &record.reviewed, &event)
            .await?;
        Ok(event)
    }

    /// Stores a review of `record` unless someone reviewed it since it was read.
    async fn store_review(
        &self,
        tenant: &str,
        record: &ScorecardRecord,
        reviewed: &Scorecard,
        event: &AuditEvent,
    ) -> Result<(), Status> {
        let applied = self
            .state
            .store
            .apply_review(
                tenant,
                &record.scorecard_id,
                record.review_revision,
                reviewed,
                event,
            )
            .await?;
        if applied {
            Ok(())
        } else {
            Err(Status::aborted(
                "the scorecard was reviewed concurrently; read it again and retry",
            ))
        }
    }
}

/// Required, bounded free text without NUL bytes.
fn text(field: &str, value: &str) -> Result<String, Status> {
    let value = super::status::text(field, value)?.trim();
    if value.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.len() > MAX_TEXT_LEN {
        return Err(invalid(field, format!("longer than {MAX_TEXT_LEN} bytes")));
    }
    Ok(value.to_string())
}

#[tonic::async_trait]
impl ReviewService for ReviewApi {
    async fn override_check(
        &self,
        request: Request<pb::OverrideCheckRequest>,
    ) -> Result<Response<pb::OverrideCheckResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let message = request.get_ref();
        let scorecard_id = required_id("scorecard_id", &message.scorecard_id)?;
        let criterion_id = required_id("criterion_id", &message.criterion_id)?;
        let check_id = required_id("check_id", &message.check_id)?;
        if let Some(fraction) = message.new_fraction
            && !(0.0..=1.0).contains(&fraction)
        {
            return Err(invalid("new_fraction", "must be from 0 to 1"));
        }
        // With a fraction the outcome may be left unset; it follows from pass_at.
        let new_outcome = match (message.new_fraction, message.new_outcome) {
            (Some(_), 0) => None,
            (_, value) => Some(convert::outcome_from_wire("new_outcome", value)?),
        };
        let reason = self.redacted_text("reason", &message.reason)?;
        let tenant = &principal.tenant_id;
        let record = self
            .state
            .store
            .get_scorecard(tenant, &scorecard_id)
            .await?;
        if let Some(expected) = message.expected_review_revision
            && i64::try_from(expected).ok() != Some(record.review_revision)
        {
            return Err(Status::aborted(format!(
                "the scorecard was reviewed since revision {expected} (now {}); read it again and retry",
                record.review_revision
            )));
        }
        let (reviewed, event) = super::overrides::plan_override(
            &self.state,
            tenant,
            &principal.key_id,
            &record,
            CheckRef {
                criterion_id,
                check_id,
            },
            new_outcome,
            message.new_fraction,
            reason,
        )
        .await?;
        self.store_review(tenant, &record, &reviewed, &event)
            .await?;
        let record = self
            .state
            .store
            .get_scorecard(tenant, &scorecard_id)
            .await?;
        Ok(Response::new(pb::OverrideCheckResponse {
            scorecard: Some(scorecard_to_wire(&self.state, tenant, &record).await?),
            event: Some(convert::audit_event(&event)),
        }))
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let message = request.get_ref();
        let scorecard_id = required_id("scorecard_id", &message.scorecard_id)?;
        let limit = page_size(message.page_size)?;
        let after = decode_token(&message.page_token)?;
        let tenant = &principal.tenant_id;
        // Another tenant's scorecard is NOT_FOUND, not an empty history.
        let record = self
            .state
            .store
            .get_scorecard(tenant, &scorecard_id)
            .await?;
        super::calibration::hidden_while_calibrating(&self.state, principal, &record.call_id)
            .await?;
        let mut events = self
            .state
            .store
            .list_audit_events(tenant, &scorecard_id, after.as_deref(), limit + 1)
            .await?;
        let next_page_token = finish_page(&mut events, limit, |e| encode_token(&e.event_id));
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: events.iter().map(convert::audit_event).collect(),
            next_page_token,
        }))
    }

    async fn add_coaching_note(
        &self,
        request: Request<pb::AddCoachingNoteRequest>,
    ) -> Result<Response<pb::AddCoachingNoteResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::Coach)?;
        let message = request.get_ref();
        let tenant = &principal.tenant_id;
        let scorecard_id = optional_id("scorecard_id", &message.scorecard_id)?;
        if !scorecard_id.is_empty() {
            let record = self
                .state
                .store
                .get_scorecard(tenant, &scorecard_id)
                .await?;
            principal.require_covers(&record.agent_id, &record.team_id)?;
        }
        let agent_id = required_id("agent_id", &message.agent_id)?;
        super::insight::require_agent_in_scope(self.state.store.as_ref(), principal, &agent_id)
            .await?;
        let note = CoachingNote {
            note_id: uuid::Uuid::now_v7().to_string(),
            agent_id,
            author: principal.key_id.clone(),
            text: self.redacted_text("text", &message.text)?,
            scorecard_id,
            criterion_id: optional_id("criterion_id", &message.criterion_id)?,
            created_at_ms: now_ms(),
        };
        self.state.store.add_coaching_note(tenant, &note).await?;
        Ok(Response::new(pb::AddCoachingNoteResponse {
            note: Some(convert::coaching_note(&note)),
        }))
    }

    async fn list_coaching_notes(
        &self,
        request: Request<pb::ListCoachingNotesRequest>,
    ) -> Result<Response<pb::ListCoachingNotesResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::Coach)?;
        let message = request.get_ref();
        let agent_id = required_id("agent_id", &message.agent_id)?;
        let limit = page_size(message.page_size)?;
        let before = decode_token(&message.page_token)?;
        super::insight::require_agent_in_scope(self.state.store.as_ref(), principal, &agent_id)
            .await?;
        let mut notes = self
            .state
            .store
            .list_coaching_notes(
                &principal.tenant_id,
                &agent_id,
                before.as_deref(),
                limit + 1,
            )
            .await?;
        let next_page_token = finish_page(&mut notes, limit, |n| encode_token(&n.note_id));
        Ok(Response::new(pb::ListCoachingNotesResponse {
            notes: notes.iter().map(convert::coaching_note).collect(),
            next_page_token,
        }))
    }

    async fn confirm_scorecard(
        &self,
        request: Request<pb::ConfirmScorecardRequest>,
    ) -> Result<Response<pb::ConfirmScorecardResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let message = request.get_ref();
        let scorecard_id = required_id("scorecard_id", &message.scorecard_id)?;
        let reason = if message.reason.trim().is_empty() {
            String::new()
        } else {
            self.redacted_text("reason", &message.reason)?
        };
        let event = self.confirm(principal, &scorecard_id, reason).await?;
        Ok(Response::new(pb::ConfirmScorecardResponse {
            event: Some(convert::audit_event(&event)),
        }))
    }

    async fn get_check_reliability(
        &self,
        request: Request<pb::GetCheckReliabilityRequest>,
    ) -> Result<Response<pb::GetCheckReliabilityResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let message = request.get_ref();
        let (Some(started_from_ms), Some(started_before_ms)) =
            convert::time_window("call_started", message.call_started.as_ref())?
        else {
            return Err(invalid(
                "call_started",
                "give both start and end of the period",
            ));
        };
        let rule = reliability::flag_rule(message)?;
        let rubric_id = optional_id("rubric_id", &message.rubric_id)?;
        let filter = ScorecardFilter {
            started_from_ms: Some(started_from_ms),
            started_before_ms: Some(started_before_ms),
            rubric_id: Some(rubric_id).filter(|id| !id.is_empty()),
            reviewed_only: true,
            ..ScorecardFilter::default()
        };
        let tally =
            reliability::tally(self.state.store.as_ref(), &principal.tenant_id, &filter).await?;
        Ok(Response::new(pb::GetCheckReliabilityResponse {
            checks: tally
                .report(rule)
                .iter()
                .map(reliability::to_wire)
                .collect(),
            reviewed_scorecards: tally.scorecards(),
        }))
    }

    async fn list_review_tasks(
        &self,
        request: Request<pb::ListReviewTasksRequest>,
    ) -> Result<Response<pb::ListReviewTasksResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let page = review_tasks::list(
            self.state.store.as_ref(),
            &principal.tenant_id,
            &principal.key_id,
            request.get_ref(),
        )
        .await?;
        Ok(Response::new(page))
    }

    async fn claim_review_task(
        &self,
        request: Request<pb::ClaimReviewTaskRequest>,
    ) -> Result<Response<pb::ClaimReviewTaskResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let task_id = required_id("task_id", &request.get_ref().task_id)?;
        let task = review_tasks::advance(
            self.state.store.as_ref(),
            &principal.tenant_id,
            &task_id,
            TaskState::ToReview,
            TaskState::InReview,
            &principal.key_id,
        )
        .await?;
        Ok(Response::new(pb::ClaimReviewTaskResponse {
            task: Some(review_tasks::to_wire(&task)),
        }))
    }

    async fn complete_review_task(
        &self,
        request: Request<pb::CompleteReviewTaskRequest>,
    ) -> Result<Response<pb::CompleteReviewTaskResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        principal.require(Action::ReviewScorecards)?;
        let message = request.into_inner();
        let task_id = required_id("task_id", &message.task_id)?;
        // The note is checked before anything is read: bad input is
        // INVALID_ARGUMENT whatever the task.
        let note = if message.reason.trim().is_empty() {
            "review task done".to_string()
        } else {
            self.redacted_text("reason", &message.reason)?
        };
        let tenant = &principal.tenant_id;
        let store = self.state.store.as_ref();
        let task = store.review_task(tenant, &task_id).await?;
        if task.state != TaskState::InReview || task.assignee != principal.key_id {
            return Err(Status::failed_precondition(format!(
                "task_id: the task is {} (assignee {:?}); claim it first",
                task.state.as_str(),
                task.assignee
            )));
        }
        // Finishing a review confirms the scorecard as it now stands, so
        // reliability counts the checks the reviewer let stand.
        self.confirm(&principal, &task.scorecard_id, note).await?;
        let done = review_tasks::advance(
            store,
            tenant,
            &task_id,
            TaskState::InReview,
            TaskState::Done,
            &principal.key_id,
        )
        .await?;
        Ok(Response::new(pb::CompleteReviewTaskResponse {
            task: Some(review_tasks::to_wire(&done)),
        }))
    }
}
