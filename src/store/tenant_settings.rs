//! Per-tenant settings (docs/tenant-settings.md), the tenant's audit, and
//! the retention purges that the settings drive.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::calls::CallRecord;
use crate::audio::mask::MaskSound;
pub use crate::review::ReviewSamplingPolicy;

/// How long a call's personal data is kept, in days from the call's start;
/// 0 keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Days until the recording is deleted.
    pub audio_days: u32,
    /// Days until the transcript and the scorecards' quotes are deleted.
    pub transcript_days: u32,
}

impl RetentionPolicy {
    /// Whether the policy deletes anything.
    pub fn is_active(&self) -> bool {
        self.audio_days > 0 || self.transcript_days > 0
    }
}

/// How recordings lose what redaction masks in their transcripts
/// (docs/tenant-settings.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AudioRedactionPolicy {
    /// What replaces masked speech.
    pub sound: MaskSound,
    /// Keep the upload, sealed with the operator's key, for re-transcription.
    pub keep_original: bool,
}

/// A tenant's settings; each section holds its default until first set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantSettings {
    /// Retention of recordings and transcripts.
    pub retention: RetentionPolicy,
    /// How masked speech is removed from recordings.
    pub audio_redaction: AudioRedactionPolicy,
    /// Which scored calls land in reviewers' queues.
    pub review_sampling: ReviewSamplingPolicy,
    /// Increases with every update; the API's etag.
    pub version: i64,
    /// The last update, Unix epoch milliseconds.
    pub updated_at_ms: Option<i64>,
    /// Who made it.
    pub updated_by: String,
}

/// One section of the settings, as stored (name and JSON value).
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsSection {
    /// The retention policy.
    Retention(RetentionPolicy),
    /// The audio redaction policy.
    AudioRedaction(AudioRedactionPolicy),
    /// The review sampling rules.
    ReviewSampling(ReviewSamplingPolicy),
}

impl SettingsSection {
    /// The section's stored name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Retention(_) => "retention",
            Self::AudioRedaction(_) => "audio_redaction",
            Self::ReviewSampling(_) => "review_sampling",
        }
    }

    /// The section's value as stored.
    pub fn to_json(&self) -> Result<String, StoreError> {
        let value = match self {
            Self::Retention(policy) => serde_json::to_string(policy),
            Self::AudioRedaction(policy) => serde_json::to_string(policy),
            Self::ReviewSampling(policy) => serde_json::to_string(policy),
        };
        value.map_err(|error| StoreError::Corrupt(error.to_string()))
    }
}

/// What a call's purge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeKind {
    /// The recording.
    Audio,
    /// The transcript and the quotes in the call's scorecards.
    Transcript,
}

/// What happened to a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantAction {
    /// A settings section changed.
    SettingsChanged,
    /// Retention deleted a call's recording.
    AudioPurged,
    /// Retention deleted a call's transcript and quotes.
    TranscriptPurged,
}

impl TenantAction {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SettingsChanged => "settings.changed",
            Self::AudioPurged => "retention.audio_purged",
            Self::TranscriptPurged => "retention.transcript_purged",
        }
    }

    /// Reads a stored name back.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        [
            Self::SettingsChanged,
            Self::AudioPurged,
            Self::TranscriptPurged,
        ]
        .into_iter()
        .find(|action| action.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown tenant action {text:?}")))
    }
}

/// One entry of a tenant's audit.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantEvent {
    /// UUID v7.
    pub event_id: String,
    /// What happened.
    pub action: TenantAction,
    /// The admin key id, "cli", or "retention".
    pub actor: String,
    /// The call a purge applied to; empty otherwise.
    pub call_id: String,
    /// Old and new value of a setting, or the policy that purged.
    pub detail: String,
    /// When, Unix epoch milliseconds.
    pub at_ms: i64,
}

/// Settings, their audit, and retention's reads and purges.
#[async_trait]
pub trait TenantSettingsStore {
    /// The tenant's settings (defaults for sections never set).
    async fn tenant_settings(&self, tenant_id: &str) -> Result<TenantSettings, StoreError>;

    /// Writes `sections` and audits each change, atomically. With
    /// `expected_version`, `Conflict` when the settings changed since.
    async fn update_tenant_settings(
        &self,
        tenant_id: &str,
        sections: &[SettingsSection],
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<TenantSettings, StoreError>;

    /// Every tenant whose retention policy deletes something.
    async fn retention_policies(&self) -> Result<Vec<(String, RetentionPolicy)>, StoreError>;

    /// Finished calls (scored or failed) that started before `started_before_ms`
    /// and still hold what `kind` removes; at most `limit`.
    async fn calls_due_for_purge(
        &self,
        tenant_id: &str,
        kind: PurgeKind,
        started_before_ms: i64,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError>;

    /// Records that a call's recording was deleted, with an audit entry;
    /// false when another replica did it first.
    async fn mark_audio_purged(
        &self,
        tenant_id: &str,
        call_id: &str,
        detail: &str,
    ) -> Result<bool, StoreError>;

    /// Deletes a call's transcript and every quote in its scorecards, with
    /// an audit entry; false when another replica did it first.
    async fn purge_transcript(
        &self,
        tenant_id: &str,
        call_id: &str,
        detail: &str,
    ) -> Result<bool, StoreError>;

    /// The tenant's audit, newest first, after the (time, id) cursor.
    async fn list_tenant_events(
        &self,
        tenant_id: &str,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<TenantEvent>, StoreError>;
}
