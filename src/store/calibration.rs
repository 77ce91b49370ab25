//! Calibration sessions (docs/calibration.md): an admin picks scored calls
//! and reviewers; each reviewer answers every check of every call blind;
//! on close, agreement is computed from the stored answer sheets.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::scoring::Outcome;

/// One call of a session, with the scorecard whose machine answers the
/// reviewers are compared with (the call's current one at creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalibrationItem {
    /// The call.
    pub call_id: String,
    /// Its scorecard at creation.
    pub scorecard_id: String,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationSession {
    /// Its id (UUID v7).
    pub session_id: String,
    /// What the admin called it.
    pub name: String,
    /// The calls, in the order the admin gave them.
    pub items: Vec<CalibrationItem>,
    /// The reviewers' key ids, in the order the admin gave them.
    pub reviewers: Vec<String>,
    /// The admin's key id.
    pub created_by: String,
    /// Creation time, Unix epoch milliseconds.
    pub created_at_ms: i64,
    /// When it closed; `None` while reviewers answer.
    pub closed_at_ms: Option<i64>,
}

impl CalibrationSession {
    /// Whether `key_id` is one of its reviewers.
    pub fn has_reviewer(&self, key_id: &str) -> bool {
        self.reviewers.iter().any(|r| r == key_id)
    }
}

/// A reviewer's answer for one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckAnswer {
    /// The check's criterion.
    pub criterion_id: String,
    /// The check.
    pub check_id: String,
    /// Pass, fail or not applicable (for a graded check, from the fraction
    /// and the check's pass threshold).
    pub outcome: Outcome,
    /// A graded check's share of points, when the reviewer gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
}

/// One reviewer's answers for one call; a new sheet replaces the last one
/// until the session closes.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerSheet {
    /// The call.
    pub call_id: String,
    /// The reviewer's key id.
    pub reviewer: String,
    /// One answer per check of the call's scorecard.
    pub answers: Vec<CheckAnswer>,
    /// Free text (redacted like review reasons).
    pub note: String,
    /// When it was stored, Unix epoch milliseconds.
    pub answered_at_ms: i64,
}

/// Calibration sessions and their answer sheets.
#[async_trait]
pub trait CalibrationStore: Send + Sync {
    /// Stores a new session.
    async fn create_calibration(
        &self,
        tenant_id: &str,
        session: &CalibrationSession,
    ) -> Result<(), StoreError>;

    /// One session.
    async fn calibration(
        &self,
        tenant_id: &str,
        session_id: &str,
    ) -> Result<CalibrationSession, StoreError>;

    /// Sessions newest first, after the `(created_at_ms, session_id)` cursor;
    /// with `reviewer`, only those it answers in.
    async fn list_calibrations(
        &self,
        tenant_id: &str,
        reviewer: Option<&str>,
        before: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<CalibrationSession>, StoreError>;

    /// Stores (or replaces) a reviewer's sheet for a call; `Conflict` once
    /// the session is closed.
    async fn put_answer_sheet(
        &self,
        tenant_id: &str,
        session_id: &str,
        sheet: &AnswerSheet,
    ) -> Result<(), StoreError>;

    /// Closes an open session; `Conflict` when it is closed already.
    async fn close_calibration(
        &self,
        tenant_id: &str,
        session_id: &str,
        at_ms: i64,
    ) -> Result<CalibrationSession, StoreError>;

    /// Every sheet of a session; with `reviewer`, only that reviewer's.
    async fn answer_sheets(
        &self,
        tenant_id: &str,
        session_id: &str,
        reviewer: Option<&str>,
    ) -> Result<Vec<AnswerSheet>, StoreError>;

    /// The calls `reviewer` judges blind in open sessions now.
    async fn open_calibration_calls(
        &self,
        tenant_id: &str,
        reviewer: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// The open session in which `reviewer` must judge `call_id` blind, if any.
    async fn open_calibration_of(
        &self,
        tenant_id: &str,
        reviewer: &str,
        call_id: &str,
    ) -> Result<Option<String>, StoreError>;
}
