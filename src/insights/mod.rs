//! Coaching insight arithmetic: UTC time buckets, means with 95 % confidence
//! intervals, agent trends, team summaries and coaching focus. Pure functions
//! over score rows; no gRPC or SQL here, so every number is unit-testable.

pub mod agreement;
pub mod bucket;
pub mod focus;
pub mod means;
pub mod reliability;
pub mod stats;
pub mod team;
pub mod trend;

pub use bucket::{BucketWidth, bucket_start_ms};
pub use focus::{
    DEFAULT_MAX_CRITERIA, EXAMPLES_PER_AREA, EvidenceExample, FocusArea, failing_examples,
    rank_gaps,
};
pub use means::{CriterionMean, criterion_means, overall_mean};
pub use stats::{MeanCi, mean_ci, t_975};
pub use team::{AgentSummary, TeamSummary, team_summary};
pub use trend::{TrendPoint, agent_trend};
