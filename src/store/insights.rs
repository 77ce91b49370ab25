//! The score rows coaching insight is computed from (current scorecards only).

use async_trait::async_trait;

use super::StoreError;

/// Whose scores to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Population<'a> {
    /// One agent's calls.
    Agent(&'a str),
    /// Every call of one team.
    Team(&'a str),
}

/// A time range over call start, `[from, before)`; `None` is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// Inclusive start, epoch ms.
    pub from_ms: Option<i64>,
    /// Exclusive end, epoch ms.
    pub before_ms: Option<i64>,
}

/// One current scorecard's overall (reviewed) score.
#[derive(Debug, Clone, PartialEq)]
pub struct OverallRow {
    /// The scorecard.
    pub scorecard_id: String,
    /// Its agent.
    pub agent_id: String,
    /// When the call started.
    pub call_started_at_ms: i64,
    /// 0..100; `None` when no criterion applied.
    pub overall_score: Option<f64>,
}

/// One criterion of one current scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionRow {
    /// The scorecard.
    pub scorecard_id: String,
    /// Its agent.
    pub agent_id: String,
    /// When the call started.
    pub call_started_at_ms: i64,
    /// The criterion.
    pub criterion_id: String,
    /// 0..100; `None` when not applicable in that call.
    pub score: Option<f64>,
    /// Failed checks of the criterion in that call.
    pub failed_checks: i64,
}

/// Reads for trends, team summaries and coaching focus.
#[async_trait]
pub trait InsightStore: Send + Sync {
    /// Overall scores of the population's current scorecards, oldest call first.
    async fn overall_scores(
        &self,
        tenant_id: &str,
        population: Population<'_>,
        window: TimeWindow,
    ) -> Result<Vec<OverallRow>, StoreError>;

    /// Criterion scores of the population's current scorecards, oldest call first.
    async fn criterion_scores(
        &self,
        tenant_id: &str,
        population: Population<'_>,
        window: TimeWindow,
    ) -> Result<Vec<CriterionRow>, StoreError>;

    /// The team of the agent's most recent scored call.
    async fn team_of_agent(
        &self,
        tenant_id: &str,
        agent_id: &str,
    ) -> Result<Option<String>, StoreError>;
}
