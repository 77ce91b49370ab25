//! RPCs of the contract whose capability has not landed yet. Each one still
//! authenticates and checks the caller's role, then answers `UNIMPLEMENTED`,
//! so clients can code against the whole contract today.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::{Action, Principal};
use crate::proto::call_service_server::CallService;
use crate::proto::review_service_server::ReviewService;
use crate::proto::scorecard_service_server::ScorecardService;
use crate::proto::*;

/// Services whose RPCs answer `UNIMPLEMENTED` after the role check.
#[derive(Debug, Default, Clone)]
pub struct PendingApi;

fn pending<T, R>(request: &Request<T>, action: Action) -> Result<R, Status> {
    Principal::of(request)?.require(action)?;
    Err(Status::unimplemented(
        "not available yet in this version of callscore",
    ))
}

#[tonic::async_trait]
impl CallService for PendingApi {
    async fn submit_call(
        &self,
        request: Request<Streaming<SubmitCallRequest>>,
    ) -> Result<Response<SubmitCallResponse>, Status> {
        pending(&request, Action::SubmitCalls)
    }

    async fn submit_transcript(
        &self,
        request: Request<SubmitTranscriptRequest>,
    ) -> Result<Response<SubmitTranscriptResponse>, Status> {
        pending(&request, Action::SubmitCalls)
    }

    async fn get_call(
        &self,
        request: Request<GetCallRequest>,
    ) -> Result<Response<GetCallResponse>, Status> {
        pending(&request, Action::ReadCalls)
    }

    type WatchCallStream =
        Pin<Box<dyn Stream<Item = Result<WatchCallResponse, Status>> + Send + 'static>>;

    async fn watch_call(
        &self,
        request: Request<WatchCallRequest>,
    ) -> Result<Response<Self::WatchCallStream>, Status> {
        pending(&request, Action::ReadCalls)
    }

    async fn list_calls(
        &self,
        request: Request<ListCallsRequest>,
    ) -> Result<Response<ListCallsResponse>, Status> {
        pending(&request, Action::ReadCalls)
    }

    async fn delete_call(
        &self,
        request: Request<DeleteCallRequest>,
    ) -> Result<Response<DeleteCallResponse>, Status> {
        pending(&request, Action::DeleteCalls)
    }
}

#[tonic::async_trait]
impl ScorecardService for PendingApi {
    async fn get_scorecard(
        &self,
        request: Request<GetScorecardRequest>,
    ) -> Result<Response<GetScorecardResponse>, Status> {
        pending(&request, Action::ReadScorecards)
    }

    async fn list_scorecards(
        &self,
        request: Request<ListScorecardsRequest>,
    ) -> Result<Response<ListScorecardsResponse>, Status> {
        pending(&request, Action::ReadScorecards)
    }

    async fn rescore_call(
        &self,
        request: Request<RescoreCallRequest>,
    ) -> Result<Response<RescoreCallResponse>, Status> {
        pending(&request, Action::RescoreCalls)
    }
}

#[tonic::async_trait]
impl ReviewService for PendingApi {
    async fn override_check(
        &self,
        request: Request<OverrideCheckRequest>,
    ) -> Result<Response<OverrideCheckResponse>, Status> {
        pending(&request, Action::ReviewScorecards)
    }

    async fn list_audit_events(
        &self,
        request: Request<ListAuditEventsRequest>,
    ) -> Result<Response<ListAuditEventsResponse>, Status> {
        pending(&request, Action::ReviewScorecards)
    }

    async fn add_coaching_note(
        &self,
        request: Request<AddCoachingNoteRequest>,
    ) -> Result<Response<AddCoachingNoteResponse>, Status> {
        pending(&request, Action::Coach)
    }

    async fn list_coaching_notes(
        &self,
        request: Request<ListCoachingNotesRequest>,
    ) -> Result<Response<ListCoachingNotesResponse>, Status> {
        pending(&request, Action::Coach)
    }
}
