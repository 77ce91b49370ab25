//! InsightService: agent trends, team summaries and coaching focus, for
//! coaches and admins. The arithmetic lives in [`crate::insights`].
//!
//! Nothing here is an error for lack of data: an agent with no scorecards
//! has an empty trend and no focus areas, and a team with no scorecards (the
//! store has no team registry, so an unknown team looks the same) has an
//! empty summary. Only a bad request is refused.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::required_id;
use super::insight_proto::{
    bucket_width, criterion_means, focus_area, score_mean, trend_point, window,
};
use crate::auth::{Action, Principal};
use crate::insights::{self, DEFAULT_MAX_CRITERIA, EXAMPLES_PER_AREA};
use crate::proto::insight_service_server::InsightService;
use crate::proto::{self as pb};
use crate::store::{Population, ScorecardFilter, Store};

/// Scorecards read per focus area when looking for failed checks; enough
/// to find three examples unless most of them were overridden to pass.
const SCORECARDS_PER_AREA: u32 = 10;

/// Largest `max_criteria` honoured; a rubric has far fewer criteria.
const MAX_FOCUS_CRITERIA: usize = 50;

/// The InsightService over a store.
#[derive(Clone)]
pub struct InsightApi {
    store: Arc<dyn Store>,
}

impl InsightApi {
    /// Serves insight from `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

/// `PERMISSION_DENIED` when a team-scoped key asks about an agent outside
/// its team: an agent belongs to the team of their most recent call.
pub(super) async fn require_agent_in_scope(
    store: &dyn Store,
    principal: &Principal,
    agent_id: &str,
) -> Result<(), Status> {
    if principal.scope.team_id.is_empty() {
        return principal.require_covers(agent_id, "");
    }
    let team = store
        .team_of_agent(&principal.tenant_id, agent_id)
        .await?
        .unwrap_or_default();
    principal.require_covers(agent_id, &team)
}

#[tonic::async_trait]
impl InsightService for InsightApi {
    async fn get_agent_trend(
        &self,
        request: Request<pb::GetAgentTrendRequest>,
    ) -> Result<Response<pb::GetAgentTrendResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::Coach)?;
        let message = request.get_ref();
        let agent_id = &required_id("agent_id", &message.agent_id)?;
        let window = window(message.range.as_ref())?;
        let width = bucket_width(message.bucket)?;
        require_agent_in_scope(self.store.as_ref(), principal, agent_id).await?;
        let tenant = &principal.tenant_id;
        let population = Population::Agent(agent_id);
        let (overall, criteria) = tokio::try_join!(
            self.store.overall_scores(tenant, population, window),
            self.store.criterion_scores(tenant, population, window),
        )?;
        let points = insights::agent_trend(&overall, &criteria, width);
        Ok(Response::new(pb::GetAgentTrendResponse {
            agent_id: agent_id.to_string(),
            points: points.into_iter().map(trend_point).collect(),
        }))
    }

    async fn get_team_summary(
        &self,
        request: Request<pb::GetTeamSummaryRequest>,
    ) -> Result<Response<pb::GetTeamSummaryResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::Coach)?;
        let message = request.get_ref();
        let team_id = &required_id("team_id", &message.team_id)?;
        let window = window(message.range.as_ref())?;
        principal.require_covers("", team_id)?;
        let tenant = &principal.tenant_id;
        let population = Population::Team(team_id);
        let (overall, criteria) = tokio::try_join!(
            self.store.overall_scores(tenant, population, window),
            self.store.criterion_scores(tenant, population, window),
        )?;
        let summary = insights::team_summary(&overall, &criteria);
        Ok(Response::new(pb::GetTeamSummaryResponse {
            team_id: team_id.to_string(),
            agents: summary
                .agents
                .into_iter()
                .map(|agent| pb::AgentSummary {
                    agent_id: agent.agent_id,
                    overall: agent.overall.map(score_mean),
                    criteria: criterion_means(agent.criteria),
                })
                .collect(),
            overall: summary.overall.map(score_mean),
            weakest_criteria: criterion_means(summary.weakest_criteria),
        }))
    }

    async fn get_coaching_focus(
        &self,
        request: Request<pb::GetCoachingFocusRequest>,
    ) -> Result<Response<pb::GetCoachingFocusResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::Coach)?;
        let message = request.get_ref();
        let agent_id = &required_id("agent_id", &message.agent_id)?;
        let window = window(message.range.as_ref())?;
        let max_criteria = match message.max_criteria {
            0 => DEFAULT_MAX_CRITERIA,
            n => usize::try_from(n).map_or(MAX_FOCUS_CRITERIA, |n| n.min(MAX_FOCUS_CRITERIA)),
        };
        require_agent_in_scope(self.store.as_ref(), principal, agent_id).await?;
        let tenant = &principal.tenant_id;
        // The agent is compared with the team of their most recent call.
        let Some(team_id) = self.store.team_of_agent(tenant, agent_id).await? else {
            return Ok(Response::new(pb::GetCoachingFocusResponse {
                agent_id: agent_id.to_string(),
                ..Default::default()
            }));
        };
        let (agent_rows, team_rows) = tokio::try_join!(
            self.store
                .criterion_scores(tenant, Population::Agent(agent_id), window),
            self.store
                .criterion_scores(tenant, Population::Team(&team_id), window),
        )?;
        let mut areas = insights::rank_gaps(
            &insights::criterion_means(&agent_rows),
            &insights::criterion_means(&team_rows),
            max_criteria,
        );
        for area in &mut areas {
            let filter = ScorecardFilter {
                agent_id: Some(agent_id.to_string()),
                failed_criterion_id: Some(area.criterion_id.clone()),
                started_from_ms: window.from_ms,
                started_before_ms: window.before_ms,
                ..ScorecardFilter::default()
            };
            let recent = self
                .store
                .list_scorecards(tenant, &filter, None, SCORECARDS_PER_AREA)
                .await?;
            area.examples =
                insights::failing_examples(&area.criterion_id, &recent, EXAMPLES_PER_AREA);
        }
        Ok(Response::new(pb::GetCoachingFocusResponse {
            agent_id: agent_id.to_string(),
            team_id,
            areas: areas.into_iter().map(focus_area).collect(),
        }))
    }
}
