//! The change feed's storage side: an outbox of change events, each written
//! in the same transaction as the change it describes (docs/change-feed.md).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::StoreError;
use super::calls::Stage;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A call was accepted, or put back in the queue for another attempt.
    CallQueued,
    /// A worker moved a call to a new stage or further through one.
    CallProgress,
    /// A call's scorecard was written.
    CallScored,
    /// A call's retries are spent.
    CallFailed,
    /// A call and everything about it were deleted.
    CallDeleted,
    /// A call was scored again against another rubric version.
    ScorecardRescored,
    /// A reviewer overrode checks on a scorecard.
    ScorecardReviewed,
    /// An agent or coach disputed a check of a scorecard.
    DisputeOpened,
    /// A reviewer accepted or rejected a dispute.
    DisputeResolved,
}

impl ChangeKind {
    /// The name stored in the database and shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallQueued => "call.queued",
            Self::CallProgress => "call.progress",
            Self::CallScored => "call.scored",
            Self::CallFailed => "call.failed",
            Self::CallDeleted => "call.deleted",
            Self::ScorecardRescored => "scorecard.rescored",
            Self::ScorecardReviewed => "scorecard.reviewed",
            Self::DisputeOpened => "dispute.opened",
            Self::DisputeResolved => "dispute.resolved",
        }
    }

    /// Reads a stored name back.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        [
            Self::CallQueued,
            Self::CallProgress,
            Self::CallScored,
            Self::CallFailed,
            Self::CallDeleted,
            Self::ScorecardRescored,
            Self::ScorecardReviewed,
            Self::DisputeOpened,
            Self::DisputeResolved,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown change kind {text:?}")))
    }
}

/// One committed change, with the call's state right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// Position in the feed; increases with every change.
    pub seq: i64,
    /// The tenant the change belongs to.
    pub tenant_id: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The call it happened to.
    pub call_id: String,
    /// The call's stage after the change; `None` once deleted.
    pub stage: Option<Stage>,
    /// Share of the stage done, 0..1.
    pub progress: f64,
    /// The call's failure reason, if any.
    pub message: String,
    /// The call's newest scorecard, once scored.
    pub scorecard_id: Option<String>,
    /// Commit time, Unix epoch milliseconds.
    pub created_at_ms: i64,
}

/// Reading the outbox; every write that changes a call appends to it.
#[async_trait]
pub trait ChangeStore {
    /// Events with `seq > after_seq`, oldest first, at most `limit`.
    async fn changes_after(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ChangeEvent>, StoreError>;

    /// The events among `seqs` that exist now (a transaction that took a
    /// lower seq may commit after a higher one was read).
    async fn changes_in(&self, seqs: &[i64]) -> Result<Vec<ChangeEvent>, StoreError>;

    /// The newest seq, 0 for an empty feed.
    async fn latest_change_seq(&self) -> Result<i64, StoreError>;

    /// The newest seq of one call's events, 0 when it has none: read before
    /// the call's state, it tells a watcher which feed events that state
    /// already holds.
    async fn latest_call_change_seq(
        &self,
        tenant_id: &str,
        call_id: &str,
    ) -> Result<i64, StoreError>;

    /// Removes events committed before `before_ms`; returns how many.
    async fn prune_changes(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// Woken whenever this process commits a change (and, on PostgreSQL
    /// while [`ChangeStore::listen_for_changes`] runs, when any does).
    fn change_signal(&self) -> Arc<Notify>;

    /// On PostgreSQL, LISTENs for other processes' commits and wakes
    /// [`ChangeStore::change_signal`] until the connection fails; on SQLite
    /// (one writing process) it never returns.
    async fn listen_for_changes(&self) -> Result<(), StoreError>;
}
