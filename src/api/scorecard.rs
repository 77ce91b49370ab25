//! ScorecardService: read scorecards (machine and reviewed results) and
//! rescore a stored transcript against another rubric version.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::ServiceState;
use super::convert::{self, optional_id, required_id};
use super::paging::{decode_time_cursor, encode_time_cursor, finish_page, page_size};
use super::status::invalid;
use crate::auth::{Action, Principal};
use crate::pipeline::{Pipeline, RubricLookupError};
use crate::proto::scorecard_service_server::ScorecardService;
use crate::proto::{self as pb};
use crate::store::{ScorecardFilter, ScorecardRecord, StoreError};
use crate::transcript::Transcript;

/// Most audit events read to annotate one scorecard's reviewed checks.
const MAX_EVENTS_PER_SCORECARD: u32 = 10_000;

/// The ScorecardService.
#[derive(Clone)]
pub struct ScorecardApi {
    state: Arc<ServiceState>,
}

impl ScorecardApi {
    /// Serves scorecards from the shared state.
    pub fn new(state: Arc<ServiceState>) -> Self {
        Self { state }
    }
}

/// A scorecard on the wire, with its reviews when it has any.
pub(super) async fn scorecard_to_wire(
    state: &ServiceState,
    tenant_id: &str,
    record: &ScorecardRecord,
) -> Result<pb::Scorecard, Status> {
    let events = if record.review_revision > 0 {
        state
            .store
            .list_audit_events(
                tenant_id,
                &record.scorecard_id,
                None,
                MAX_EVENTS_PER_SCORECARD,
            )
            .await?
    } else {
        Vec::new()
    };
    Ok(convert::scorecard(record, &events))
}

/// Maps a rubric lookup failure for the RPC's `rubric_id` field.
pub(super) fn rubric_status(error: RubricLookupError) -> Status {
    match error {
        RubricLookupError::Store(StoreError::NotFound(what)) => {
            Status::not_found(format!("rubric_id: {what} not found"))
        }
        RubricLookupError::NoDefault => {
            Status::failed_precondition("the tenant has no default rubric; set one first")
        }
        other => {
            tracing::error!(error = %other, "rubric lookup failed");
            Status::internal("internal error")
        }
    }
}

fn score_bound(field: &str, value: Option<f64>) -> Result<Option<f64>, Status> {
    match value {
        Some(v) if !(0.0..=100.0).contains(&v) => Err(invalid(field, "must be within 0..100")),
        other => Ok(other),
    }
}

#[tonic::async_trait]
impl ScorecardService for ScorecardApi {
    async fn get_scorecard(
        &self,
        request: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadScorecards)?;
        let id = required_id("scorecard_id", &request.get_ref().scorecard_id)?;
        let record = self
            .state
            .store
            .get_scorecard(&principal.tenant_id, &id)
            .await?;
        principal.require_covers(&record.agent_id, &record.team_id)?;
        super::calibration::hidden_while_calibrating(&self.state, principal, &record.call_id)
            .await?;
        Ok(Response::new(pb::GetScorecardResponse {
            scorecard: Some(scorecard_to_wire(&self.state, &principal.tenant_id, &record).await?),
        }))
    }

    async fn list_scorecards(
        &self,
        request: Request<pb::ListScorecardsRequest>,
    ) -> Result<Response<pb::ListScorecardsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadScorecards)?;
        let message = request.get_ref();
        let limit = page_size(message.page_size)?;
        let after = decode_time_cursor(&message.page_token)?;
        let (started_from_ms, started_before_ms) =
            convert::time_window("call_started", message.call_started.as_ref())?;
        let min_score = score_bound("min_score", message.min_score)?;
        let max_score = score_bound("max_score", message.max_score)?;
        if let (Some(min), Some(max)) = (min_score, max_score)
            && min > max
        {
            return Err(invalid("min_score", "is above max_score"));
        }
        let non_empty = |field: &str, value: &str| -> Result<Option<String>, Status> {
            Ok(Some(optional_id(field, value)?).filter(|v| !v.is_empty()))
        };
        let (agent_id, team_id) = principal.scoped_filter(
            non_empty("agent_id", &message.agent_id)?,
            non_empty("team_id", &message.team_id)?,
        )?;
        let filter = ScorecardFilter {
            agent_id,
            team_id,
            call_id: non_empty("call_id", &message.call_id)?,
            started_from_ms,
            started_before_ms,
            min_score,
            max_score,
            failed_criterion_id: non_empty("failed_criterion_id", &message.failed_criterion_id)?,
            has_critical_failure: message.has_critical_failure,
            ..ScorecardFilter::default()
        };
        let tenant = &principal.tenant_id;
        let mut records = self
            .state
            .store
            .list_scorecards(tenant, &filter, after, limit + 1)
            .await?;
        let next_page_token = finish_page(&mut records, limit, |r| {
            encode_time_cursor(r.call_started_at_ms, &r.scorecard_id)
        });
        // Calls the caller judges blind in a calibration session stay out
        // (a page may then hold fewer than page_size).
        let hidden = super::calibration::blind_calls(&self.state, principal).await?;
        records.retain(|record| !hidden.contains(&record.call_id));
        let mut scorecards = Vec::with_capacity(records.len());
        for record in &records {
            scorecards.push(scorecard_to_wire(&self.state, tenant, record).await?);
        }
        Ok(Response::new(pb::ListScorecardsResponse {
            scorecards,
            next_page_token,
        }))
    }

    type ExportScorecardsStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::ExportScorecardsResponse, Status>>;

    async fn export_scorecards(
        &self,
        request: Request<pb::ExportScorecardsRequest>,
    ) -> Result<Response<Self::ExportScorecardsStream>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadScorecards)?;
        let message = request.get_ref();
        let format = pb::ExportFormat::try_from(message.format)
            .map_err(|_| invalid("format", "unknown ExportFormat value"))?;
        let (started_from_ms, started_before_ms) =
            convert::time_window("call_started", message.call_started.as_ref())?;
        // A range is required: an export is a period's data, never "everything".
        let (Some(started_from_ms), Some(started_before_ms)) = (started_from_ms, started_before_ms)
        else {
            return Err(invalid(
                "call_started",
                "give both start and end of the calls to export",
            ));
        };
        let non_empty = |field: &str, value: &str| -> Result<Option<String>, Status> {
            Ok(Some(optional_id(field, value)?).filter(|v| !v.is_empty()))
        };
        let (agent_id, team_id) = principal.scoped_filter(
            non_empty("agent_id", &message.agent_id)?,
            non_empty("team_id", &message.team_id)?,
        )?;
        let filter = ScorecardFilter {
            agent_id,
            team_id,
            started_from_ms: Some(started_from_ms),
            started_before_ms: Some(started_before_ms),
            ..ScorecardFilter::default()
        };
        let hidden = super::calibration::blind_calls(&self.state, principal).await?;
        Ok(Response::new(super::export::stream(
            self.state.store.clone(),
            principal.tenant_id.clone(),
            filter,
            format,
            hidden,
        )?))
    }

    async fn rescore_call(
        &self,
        request: Request<pb::RescoreCallRequest>,
    ) -> Result<Response<pb::RescoreCallResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        principal.require(Action::RescoreCalls)?;
        let message = request.into_inner();
        let call_id = required_id("call_id", &message.call_id)?;
        let rubric_id = optional_id("rubric_id", &message.rubric_id)?;
        let version = optional_id("rubric_version", &message.rubric_version)?;
        let tenant = &principal.tenant_id;
        let call = self.state.store.get_call(tenant, &call_id).await?;
        if call.transcript_purged_at_ms.is_some() {
            return Err(Status::failed_precondition(
                "call_id: the tenant's retention policy deleted this call's transcript",
            ));
        }
        let (Some(transcript_json), Some(latest)) =
            (&call.transcript_json, &call.latest_scorecard_id)
        else {
            return Err(Status::failed_precondition(
                "call_id: the call has no transcript yet",
            ));
        };
        let previous = self.state.store.get_scorecard(tenant, latest).await?;
        let transcript: Transcript = serde_json::from_str(transcript_json).map_err(|error| {
            tracing::error!(%error, "stored transcript unreadable");
            Status::internal("internal error")
        })?;
        let rubric = self
            .state
            .pipeline
            .rubrics
            .resolve(
                tenant,
                &rubric_id,
                Some(version.as_str()).filter(|v| !v.is_empty()),
            )
            .await
            .map_err(rubric_status)?;
        let model_id = previous.machine.model_id.clone();
        let pipeline = self.state.pipeline.clone();
        let span = tracing::Span::current();
        let scored = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            pipeline.score(&rubric, &transcript, &model_id)
        })
        .await
        .map_err(|error| Status::internal(error.to_string()))?;
        let scorecard = Pipeline::new_scorecard(&call.call, scored.scorecard, &principal.key_id);
        self.state.store.insert_rescore(tenant, &scorecard).await?;
        crate::telemetry::metrics()
            .scorecards_written
            .add(1, &[opentelemetry::KeyValue::new("source", "rescore")]);
        let record = self
            .state
            .store
            .get_scorecard(tenant, &scorecard.scorecard_id)
            .await?;
        Ok(Response::new(pb::RescoreCallResponse {
            scorecard: Some(scorecard_to_wire(&self.state, tenant, &record).await?),
        }))
    }
}
