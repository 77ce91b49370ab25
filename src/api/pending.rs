//! RPCs of the contract whose capability has not landed yet. Each one still
//! authenticates and checks the caller's role, then answers `UNIMPLEMENTED`,
//! so clients can code against the whole contract today.

use tonic::{Request, Response, Status};

use crate::auth::{Action, Principal};
use crate::proto::insight_service_server::InsightService;
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
impl InsightService for PendingApi {
    async fn get_agent_trend(
        &self,
        request: Request<GetAgentTrendRequest>,
    ) -> Result<Response<GetAgentTrendResponse>, Status> {
        pending(&request, Action::Coach)
    }

    async fn get_team_summary(
        &self,
        request: Request<GetTeamSummaryRequest>,
    ) -> Result<Response<GetTeamSummaryResponse>, Status> {
        pending(&request, Action::Coach)
    }

    async fn get_coaching_focus(
        &self,
        request: Request<GetCoachingFocusRequest>,
    ) -> Result<Response<GetCoachingFocusResponse>, Status> {
        pending(&request, Action::Coach)
    }
}
