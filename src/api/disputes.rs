//! DisputeService: agents and coaches contest checks, reviewers accept (an
//! override) or reject them, agents acknowledge scorecards
//! (docs/disputes.md).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::ServiceState;
use super::convert::{self, optional_id, required_id};
use super::overrides::plan_override;
use super::paging::{decode_time_cursor, encode_time_cursor, finish_page, page_size};
use super::scorecard::scorecard_to_wire;
use super::status::invalid;
use super::timestamp;
use crate::auth::{Action, Principal, Role};
use crate::proto::dispute_service_server::DisputeService;
use crate::proto::{self as pb};
use crate::scoring::{CheckRef, CheckResult};
use crate::store::{
    AcceptedOverride, AuditAction, AuditEvent, Dispute, DisputeFilter, DisputeState, Resolution,
    ScorecardRecord, StoreError, now_ms,
};

/// Longest comment or reason accepted.
const MAX_TEXT_LEN: usize = 4_000;
/// Most audit events read for a dispute's thread.
const THREAD_EVENTS: u32 = 500;

/// The DisputeService.
#[derive(Clone)]
pub struct DisputeApi {
    state: Arc<ServiceState>,
}

impl DisputeApi {
    /// Serves disputes from the shared state.
    pub fn new(state: Arc<ServiceState>) -> Self {
        Self { state }
    }

    /// Bounded free text, masked like transcripts; `required` or may be empty.
    fn text(&self, field: &str, value: &str, required: bool) -> Result<String, Status> {
        let value = super::status::text(field, value)?.trim();
        if required && value.is_empty() {
            return Err(invalid(field, "is required"));
        }
        if value.len() > MAX_TEXT_LEN {
            return Err(invalid(field, format!("longer than {MAX_TEXT_LEN} bytes")));
        }
        Ok(self.state.pipeline.redactor.redact_text(value))
    }

    /// The scorecard, if the caller's scope covers it.
    async fn scoped_scorecard(
        &self,
        principal: &Principal,
        scorecard_id: &str,
    ) -> Result<ScorecardRecord, Status> {
        let record = self
            .state
            .store
            .get_scorecard(&principal.tenant_id, scorecard_id)
            .await?;
        principal.require_covers(&record.agent_id, &record.team_id)?;
        Ok(record)
    }

    /// The dispute, if the caller's scope covers it.
    async fn scoped_dispute(
        &self,
        principal: &Principal,
        dispute_id: &str,
    ) -> Result<Dispute, Status> {
        let dispute = self
            .state
            .store
            .dispute(&principal.tenant_id, dispute_id)
            .await?;
        principal.require_covers(&dispute.agent_id, &dispute.team_id)?;
        Ok(dispute)
    }
}

fn state_to_wire(state: DisputeState) -> pb::DisputeState {
    match state {
        DisputeState::Open => pb::DisputeState::Open,
        DisputeState::Accepted => pb::DisputeState::Accepted,
        DisputeState::Rejected => pb::DisputeState::Rejected,
    }
}

fn dispute_to_wire(dispute: &Dispute, now: i64) -> pb::Dispute {
    let until = dispute.resolved_at_ms.unwrap_or(now);
    pb::Dispute {
        dispute_id: dispute.dispute_id.clone(),
        scorecard_id: dispute.scorecard_id.clone(),
        call_id: dispute.call_id.clone(),
        agent_id: dispute.agent_id.clone(),
        team_id: dispute.team_id.clone(),
        criterion_id: dispute.criterion_id.clone(),
        check_id: dispute.check_id.clone(),
        state: state_to_wire(dispute.state) as i32,
        opened_by: dispute.opened_by.clone(),
        comment: dispute.comment.clone(),
        opened_at: Some(timestamp(dispute.opened_at_ms)),
        resolved_by: dispute.resolved_by.clone(),
        resolution: dispute.resolution.clone(),
        resolved_at: dispute.resolved_at_ms.map(timestamp),
        age_seconds: (until - dispute.opened_at_ms).max(0) / 1000,
    }
}

/// The reviewed result of one check of a scorecard.
fn reviewed_check<'a>(record: &'a ScorecardRecord, check: &CheckRef) -> Option<&'a CheckResult> {
    record
        .reviewed
        .criteria
        .iter()
        .filter(|c| c.criterion_id == check.criterion_id)
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == check.check_id)
}

/// An audit event about one check that changes no score.
fn check_event(
    record: &ScorecardRecord,
    action: AuditAction,
    actor: &str,
    check: &CheckRef,
    reason: String,
) -> AuditEvent {
    let current = reviewed_check(record, check);
    let outcome = current.map_or("", |c| convert::outcome_name(c.outcome));
    let fraction = current.and_then(|c| c.fraction);
    AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        scorecard_id: record.scorecard_id.clone(),
        call_id: record.call_id.clone(),
        action,
        actor: actor.to_string(),
        criterion_id: check.criterion_id.clone(),
        check_id: check.check_id.clone(),
        old_outcome: outcome.to_string(),
        new_outcome: outcome.to_string(),
        reason,
        old_overall_score: record.reviewed.overall_score,
        new_overall_score: record.reviewed.overall_score,
        old_fraction: fraction,
        new_fraction: fraction,
        at_ms: now_ms(),
    }
}

#[tonic::async_trait]
impl DisputeService for DisputeApi {
    async fn open_dispute(
        &self,
        request: Request<pb::OpenDisputeRequest>,
    ) -> Result<Response<pb::OpenDisputeResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::DisputeChecks)?;
        let message = request.get_ref();
        let scorecard_id = required_id("scorecard_id", &message.scorecard_id)?;
        let check = CheckRef {
            criterion_id: required_id("criterion_id", &message.criterion_id)?,
            check_id: required_id("check_id", &message.check_id)?,
        };
        let comment = self.text("comment", &message.comment, true)?;
        let record = self.scoped_scorecard(principal, &scorecard_id).await?;
        if reviewed_check(&record, &check).is_none() {
            return Err(Status::not_found(format!(
                "check {}/{} not found in scorecard {scorecard_id}",
                check.criterion_id, check.check_id
            )));
        }
        let event = check_event(
            &record,
            AuditAction::DisputeOpened,
            &principal.key_id,
            &check,
            comment.clone(),
        );
        let dispute = Dispute {
            dispute_id: uuid::Uuid::now_v7().to_string(),
            scorecard_id,
            call_id: record.call_id.clone(),
            agent_id: record.agent_id.clone(),
            team_id: record.team_id.clone(),
            criterion_id: check.criterion_id,
            check_id: check.check_id,
            state: DisputeState::Open,
            opened_by: principal.key_id.clone(),
            comment,
            opened_at_ms: event.at_ms,
            resolved_by: String::new(),
            resolution: String::new(),
            resolved_at_ms: None,
        };
        self.state
            .store
            .open_dispute(&principal.tenant_id, &dispute, &event)
            .await?;
        Ok(Response::new(pb::OpenDisputeResponse {
            dispute: Some(dispute_to_wire(&dispute, now_ms())),
        }))
    }

    async fn list_disputes(
        &self,
        request: Request<pb::ListDisputesRequest>,
    ) -> Result<Response<pb::ListDisputesResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadDisputes)?;
        let message = request.get_ref();
        let limit = page_size(message.page_size)?;
        let after = decode_time_cursor(&message.page_token)?;
        let state = match pb::DisputeState::try_from(message.state) {
            Ok(pb::DisputeState::Unspecified) => None,
            Ok(pb::DisputeState::Open) => Some(DisputeState::Open),
            Ok(pb::DisputeState::Accepted) => Some(DisputeState::Accepted),
            Ok(pb::DisputeState::Rejected) => Some(DisputeState::Rejected),
            Err(_) => return Err(invalid("state", "unknown DisputeState value")),
        };
        let non_empty = |field: &str, value: &str| -> Result<Option<String>, Status> {
            Ok(Some(optional_id(field, value)?).filter(|v| !v.is_empty()))
        };
        let (agent_id, team_id) = principal.scoped_filter(
            non_empty("agent_id", &message.agent_id)?,
            non_empty("team_id", &message.team_id)?,
        )?;
        let filter = DisputeFilter {
            state,
            agent_id,
            team_id,
            scorecard_id: non_empty("scorecard_id", &message.scorecard_id)?,
        };
        let mut disputes = self
            .state
            .store
            .list_disputes(&principal.tenant_id, &filter, after, limit + 1)
            .await?;
        let next_page_token = finish_page(&mut disputes, limit, |dispute| {
            encode_time_cursor(dispute.opened_at_ms, &dispute.dispute_id)
        });
        let now = now_ms();
        Ok(Response::new(pb::ListDisputesResponse {
            disputes: disputes.iter().map(|d| dispute_to_wire(d, now)).collect(),
            next_page_token,
        }))
    }

    async fn get_dispute(
        &self,
        request: Request<pb::GetDisputeRequest>,
    ) -> Result<Response<pb::GetDisputeResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadDisputes)?;
        let dispute_id = required_id("dispute_id", &request.get_ref().dispute_id)?;
        let dispute = self.scoped_dispute(principal, &dispute_id).await?;
        let events = self
            .state
            .store
            .list_audit_events(
                &principal.tenant_id,
                &dispute.scorecard_id,
                None,
                THREAD_EVENTS,
            )
            .await?;
        let until = dispute.resolved_at_ms.unwrap_or(i64::MAX);
        let thread = events
            .iter()
            .filter(|e| {
                e.criterion_id == dispute.criterion_id
                    && e.check_id == dispute.check_id
                    && e.at_ms >= dispute.opened_at_ms
                    && e.at_ms <= until
            })
            .map(convert::audit_event)
            .collect();
        Ok(Response::new(pb::GetDisputeResponse {
            dispute: Some(dispute_to_wire(&dispute, now_ms())),
            thread,
        }))
    }

    async fn resolve_dispute(
        &self,
        request: Request<pb::ResolveDisputeRequest>,
    ) -> Result<Response<pb::ResolveDisputeResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReviewScorecards)?;
        let message = request.get_ref();
        let dispute_id = required_id("dispute_id", &message.dispute_id)?;
        let reason = self.text("reason", &message.reason, true)?;
        let tenant = &principal.tenant_id;
        let dispute = self.state.store.dispute(tenant, &dispute_id).await?;
        if dispute.state != DisputeState::Open {
            return Err(Status::failed_precondition(format!(
                "dispute {dispute_id:?} is {} already",
                dispute.state.as_str()
            )));
        }
        let record = self
            .state
            .store
            .get_scorecard(tenant, &dispute.scorecard_id)
            .await?;
        let check = CheckRef {
            criterion_id: dispute.criterion_id.clone(),
            check_id: dispute.check_id.clone(),
        };
        let change = if message.accept {
            let new_outcome = match (message.new_fraction, message.new_outcome) {
                (Some(_), 0) => None,
                (_, value) => Some(convert::outcome_from_wire("new_outcome", value)?),
            };
            let (reviewed, event) = plan_override(
                &self.state,
                tenant,
                &principal.key_id,
                &record,
                check.clone(),
                new_outcome,
                message.new_fraction,
                format!("dispute {dispute_id} accepted: {reason}"),
            )
            .await?;
            Some(AcceptedOverride {
                expected_revision: record.review_revision,
                reviewed,
                event,
            })
        } else {
            if message.new_outcome != 0 || message.new_fraction.is_some() {
                return Err(invalid(
                    "accept",
                    "a rejected dispute changes nothing; leave new_outcome and new_fraction unset",
                ));
            }
            None
        };
        let (state, action) = if message.accept {
            (DisputeState::Accepted, AuditAction::DisputeAccepted)
        } else {
            (DisputeState::Rejected, AuditAction::DisputeRejected)
        };
        // The resolution event sees the check as the override left it.
        let after = match &change {
            Some(change) => ScorecardRecord {
                reviewed: change.reviewed.clone(),
                ..record.clone()
            },
            None => record.clone(),
        };
        let mut event = check_event(&after, action, &principal.key_id, &check, reason.clone());
        if let Some(change) = &change {
            event.old_outcome = change.event.old_outcome.clone();
            event.old_fraction = change.event.old_fraction;
            event.old_overall_score = change.event.old_overall_score;
        }
        let resolution = Resolution {
            state,
            resolved_by: principal.key_id.clone(),
            reason,
            at_ms: event.at_ms,
            change,
            event,
        };
        let applied = self
            .state
            .store
            .resolve_dispute(tenant, &dispute_id, &resolution)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(what) => Status::failed_precondition(what),
                other => other.into(),
            })?;
        if !applied {
            return Err(Status::aborted(
                "the scorecard was reviewed concurrently; read it again and retry",
            ));
        }
        let dispute = self.state.store.dispute(tenant, &dispute_id).await?;
        let record = self
            .state
            .store
            .get_scorecard(tenant, &dispute.scorecard_id)
            .await?;
        Ok(Response::new(pb::ResolveDisputeResponse {
            dispute: Some(dispute_to_wire(&dispute, now_ms())),
            scorecard: Some(scorecard_to_wire(&self.state, tenant, &record).await?),
        }))
    }

    async fn acknowledge_scorecard(
        &self,
        request: Request<pb::AcknowledgeScorecardRequest>,
    ) -> Result<Response<pb::AcknowledgeScorecardResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::AcknowledgeScorecards)?;
        let message = request.get_ref();
        let scorecard_id = required_id("scorecard_id", &message.scorecard_id)?;
        let comment = self.text("comment", &message.comment, false)?;
        if principal.role != Role::Agent {
            return Err(Status::permission_denied(
                "only the scorecard's agent (an agent key) acknowledges it",
            ));
        }
        let record = self.scoped_scorecard(principal, &scorecard_id).await?;
        let event = AuditEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            scorecard_id,
            call_id: record.call_id.clone(),
            action: AuditAction::Acknowledged,
            actor: principal.key_id.clone(),
            criterion_id: String::new(),
            check_id: String::new(),
            old_outcome: String::new(),
            new_outcome: String::new(),
            reason: comment,
            old_overall_score: record.reviewed.overall_score,
            new_overall_score: record.reviewed.overall_score,
            old_fraction: None,
            new_fraction: None,
            at_ms: now_ms(),
        };
        self.state
            .store
            .record_audit_event(&principal.tenant_id, &event)
            .await?;
        Ok(Response::new(pb::AcknowledgeScorecardResponse {
            event: Some(convert::audit_event(&event)),
        }))
    }
}
