//! Scorecards, reviews (overrides and their audit trail) and coaching notes.

use async_trait::async_trait;

use super::StoreError;
use crate::scoring::Scorecard;

/// A scorecard to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScorecard {
    /// Server-assigned id.
    pub scorecard_id: String,
    /// The scored call.
    pub call_id: String,
    /// The call's agent.
    pub agent_id: String,
    /// The call's team.
    pub team_id: String,
    /// When the call started.
    pub call_started_at_ms: i64,
    /// The machine's scorecard.
    pub card: Scorecard,
    /// Who caused the scoring: "system" or a key id (rescoring).
    pub actor: String,
    /// A review task written with it, when sampling picked the call.
    pub review: Option<super::NewReviewTask>,
}

/// A stored scorecard: the machine's result and the reviewed one.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorecardRecord {
    /// Its id.
    pub scorecard_id: String,
    /// The scored call.
    pub call_id: String,
    /// The call's agent.
    pub agent_id: String,
    /// The call's team.
    pub team_id: String,
    /// When the call started.
    pub call_started_at_ms: i64,
    /// When it was scored.
    pub created_at_ms: i64,
    /// As the machine scored it; never changes.
    pub machine: Scorecard,
    /// With overrides applied.
    pub reviewed: Scorecard,
    /// Bumped by every override (optimistic concurrency).
    pub review_revision: i64,
    /// Whether this is the call's newest scorecard.
    pub is_current: bool,
}

/// Filters for listing scorecards; unset filters match all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScorecardFilter {
    /// Only this agent's.
    pub agent_id: Option<String>,
    /// Only this team's.
    pub team_id: Option<String>,
    /// Only this call's.
    pub call_id: Option<String>,
    /// Calls started at or after.
    pub started_from_ms: Option<i64>,
    /// Calls started before.
    pub started_before_ms: Option<i64>,
    /// Reviewed overall score at least.
    pub min_score: Option<f64>,
    /// Reviewed overall score at most.
    pub max_score: Option<f64>,
    /// Only where this criterion has a failed check.
    pub failed_criterion_id: Option<String>,
    /// Only with (true) or without (false) a critical failure.
    pub has_critical_failure: Option<bool>,
    /// Only scored against this rubric.
    pub rubric_id: Option<String>,
    /// Only scorecards a reviewer overrode or confirmed.
    pub reviewed_only: bool,
}

/// What happened to a scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// The machine scored the call.
    Scored,
    /// A reviewer changed a check's outcome.
    CheckOverridden,
    /// The call was scored again against another rubric version.
    Rescored,
    /// A reviewer confirmed the scorecard as it stands.
    Confirmed,
    /// An agent or coach disputed a check (the reason is their comment).
    DisputeOpened,
    /// A reviewer accepted a dispute; the override is its own event.
    DisputeAccepted,
    /// A reviewer rejected a dispute (the reason says why).
    DisputeRejected,
    /// The agent acknowledged the scorecard.
    Acknowledged,
}

impl AuditAction {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scored => "scored",
            Self::CheckOverridden => "check_overridden",
            Self::Rescored => "rescored",
            Self::Confirmed => "confirmed",
            Self::DisputeOpened => "dispute_opened",
            Self::DisputeAccepted => "dispute_accepted",
            Self::DisputeRejected => "dispute_rejected",
            Self::Acknowledged => "acknowledged",
        }
    }

    /// Reads a stored name back.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "scored" => Ok(Self::Scored),
            "check_overridden" => Ok(Self::CheckOverridden),
            "rescored" => Ok(Self::Rescored),
            "confirmed" => Ok(Self::Confirmed),
            "dispute_opened" => Ok(Self::DisputeOpened),
            "dispute_accepted" => Ok(Self::DisputeAccepted),
            "dispute_rejected" => Ok(Self::DisputeRejected),
            "acknowledged" => Ok(Self::Acknowledged),
            other => Err(StoreError::Corrupt(format!(
                "unknown audit action {other:?}"
            ))),
        }
    }
}

/// One entry of a scorecard's history.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Its id (UUID v7: sorts by time).
    pub event_id: String,
    /// The scorecard.
    pub scorecard_id: String,
    /// The call.
    pub call_id: String,
    /// What happened.
    pub action: AuditAction,
    /// Key id of who did it, or "system".
    pub actor: String,
    /// For overrides: the criterion.
    pub criterion_id: String,
    /// For overrides: the check.
    pub check_id: String,
    /// For overrides: the outcome before (`pass`, `fail`, `not_applicable`).
    pub old_outcome: String,
    /// For overrides: the outcome after.
    pub new_outcome: String,
    /// The reviewer's reason.
    pub reason: String,
    /// Reviewed overall score before.
    pub old_overall_score: Option<f64>,
    /// Reviewed overall score after.
    pub new_overall_score: Option<f64>,
    /// For overrides of graded checks: the share of points before.
    pub old_fraction: Option<f64>,
    /// For overrides of graded checks: the share of points after.
    pub new_fraction: Option<f64>,
    /// When.
    pub at_ms: i64,
}

/// A coach's note on an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct CoachingNote {
    /// Its id (UUID v7).
    pub note_id: String,
    /// The agent.
    pub agent_id: String,
    /// The author's key id.
    pub author: String,
    /// The note.
    pub text: String,
    /// Optional link to a scorecard.
    pub scorecard_id: String,
    /// Optional link to a criterion.
    pub criterion_id: String,
    /// When.
    pub created_at_ms: i64,
}

/// Scorecards, reviews and notes.
#[async_trait]
pub trait ScorecardStore: Send + Sync {
    /// One scorecard of the tenant.
    async fn get_scorecard(
        &self,
        tenant_id: &str,
        scorecard_id: &str,
    ) -> Result<ScorecardRecord, StoreError>;

    /// Scorecards, newest call first; `after` is the last (call_started_at_ms,
    /// scorecard_id) of the previous page.
    async fn list_scorecards(
        &self,
        tenant_id: &str,
        filter: &ScorecardFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<ScorecardRecord>, StoreError>;

    /// Stores a rescoring of a call: the new scorecard becomes the call's
    /// current one, the old ones stay.
    async fn insert_rescore(
        &self,
        tenant_id: &str,
        scorecard: &NewScorecard,
    ) -> Result<(), StoreError>;

    /// Stores a reviewed scorecard and its audit event if nobody reviewed it
    /// since `expected_revision`; false (nothing stored) otherwise.
    async fn apply_review(
        &self,
        tenant_id: &str,
        scorecard_id: &str,
        expected_revision: i64,
        reviewed: &Scorecard,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// A scorecard's history, oldest first, after `after_event_id`.
    async fn list_audit_events(
        &self,
        tenant_id: &str,
        scorecard_id: &str,
        after_event_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// Stores a coaching note.
    async fn add_coaching_note(
        &self,
        tenant_id: &str,
        note: &CoachingNote,
    ) -> Result<(), StoreError>;

    /// An agent's notes, newest first, before `before_note_id`.
    async fn list_coaching_notes(
        &self,
        tenant_id: &str,
        agent_id: &str,
        before_note_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CoachingNote>, StoreError>;
}
