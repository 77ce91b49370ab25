//! Disputes (docs/disputes.md): an agent or coach contests one check of a
//! scorecard with a comment; a reviewer accepts it (an override) or rejects
//! it with a reason. Every step is also an audit event of the scorecard.

use async_trait::async_trait;

use super::StoreError;
use super::scorecards::AuditEvent;
use crate::scoring::Scorecard;

/// Where a dispute is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeState {
    /// Waiting for a reviewer.
    Open,
    /// A reviewer changed the check.
    Accepted,
    /// A reviewer kept the check as it was.
    Rejected,
}

impl DisputeState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    /// Reads a stored name back.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        [Self::Open, Self::Accepted, Self::Rejected]
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown dispute state {text:?}")))
    }
}

/// A stored dispute.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispute {
    /// Its id (UUID v7).
    pub dispute_id: String,
    /// The scorecard disputed.
    pub scorecard_id: String,
    /// Its call.
    pub call_id: String,
    /// The scorecard's agent.
    pub agent_id: String,
    /// The scorecard's team.
    pub team_id: String,
    /// The disputed check's criterion.
    pub criterion_id: String,
    /// The disputed check.
    pub check_id: String,
    /// Where it is.
    pub state: DisputeState,
    /// Key id of who opened it.
    pub opened_by: String,
    /// Why they disagree.
    pub comment: String,
    /// When, Unix epoch milliseconds.
    pub opened_at_ms: i64,
    /// Key id of the reviewer who resolved it ('' while open).
    pub resolved_by: String,
    /// The reviewer's reason ('' while open).
    pub resolution: String,
    /// When it was resolved.
    pub resolved_at_ms: Option<i64>,
}

/// Which disputes to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DisputeFilter {
    /// Only in this state.
    pub state: Option<DisputeState>,
    /// Only this agent's.
    pub agent_id: Option<String>,
    /// Only this team's.
    pub team_id: Option<String>,
    /// Only this scorecard's.
    pub scorecard_id: Option<String>,
}

/// An override that accepting a dispute stores with it.
#[derive(Debug, Clone)]
pub struct AcceptedOverride {
    /// The scorecard's review revision it was computed from.
    pub expected_revision: i64,
    /// The reviewed card after the override.
    pub reviewed: Scorecard,
    /// The override's audit event.
    pub event: AuditEvent,
}

/// How a dispute ends.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Accepted or rejected.
    pub state: DisputeState,
    /// The reviewer's key id.
    pub resolved_by: String,
    /// Why.
    pub reason: String,
    /// When, Unix epoch milliseconds.
    pub at_ms: i64,
    /// For an accepted dispute: the override.
    pub change: Option<AcceptedOverride>,
    /// The dispute's own audit event (accepted or rejected).
    pub event: AuditEvent,
}

/// Disputes and acknowledgements.
#[async_trait]
pub trait DisputeStore: Send + Sync {
    /// Stores a new open dispute with its audit event; `AlreadyExists`
    /// when the check has an open dispute.
    async fn open_dispute(
        &self,
        tenant_id: &str,
        dispute: &Dispute,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// One dispute.
    async fn dispute(&self, tenant_id: &str, dispute_id: &str) -> Result<Dispute, StoreError>;

    /// Disputes oldest first after the `(opened_at_ms, dispute_id)` cursor.
    async fn list_disputes(
        &self,
        tenant_id: &str,
        filter: &DisputeFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<Dispute>, StoreError>;

    /// Resolves an open dispute, storing its override (if accepted) and its
    /// audit events in one transaction. `Conflict` when it is not open;
    /// `Ok(false)` when the scorecard was reviewed since it was read.
    async fn resolve_dispute(
        &self,
        tenant_id: &str,
        dispute_id: &str,
        resolution: &Resolution,
    ) -> Result<bool, StoreError>;

    /// Appends an audit event that changes no score (an acknowledgement).
    async fn record_audit_event(
        &self,
        tenant_id: &str,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
}
