//! Calls and their durable job queue.

use async_trait::async_trait;

use super::StoreError;
use super::scorecards::NewScorecard;

/// Where a call is in its processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker has it.
    Processing,
    /// A scorecard exists.
    Scored,
    /// Retries are spent; `failure_reason` says why.
    Failed,
}

/// The step a call's processing has reached, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for a worker.
    Queued,
    /// Reading and resampling the audio.
    Decoding,
    /// Whisper is running; `progress` says how far.
    Transcribing,
    /// Applying the rubric.
    Scoring,
    /// Scored.
    Done,
    /// Given up.
    Failed,
}

macro_rules! text_enum {
    ($type:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $type {
            /// The name stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            /// Reads a stored name back.
            pub fn parse(text: &str) -> Result<Self, StoreError> {
                match text {
                    $($text => Ok(Self::$variant),)*
                    other => Err(StoreError::Corrupt(format!(
                        "unknown {} {other:?}", stringify!($type)
                    ))),
                }
            }
        }
    };
}

text_enum!(CallStatus { Queued => "queued", Processing => "processing", Scored => "scored", Failed => "failed" });
text_enum!(Stage {
    Queued => "queued", Decoding => "decoding", Transcribing => "transcribing",
    Scoring => "scoring", Done => "done", Failed => "failed",
});

/// What is known about a call when it is submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    /// Server-assigned id (UUID v7, so ids sort by creation time).
    pub call_id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// The platform's own id.
    pub external_call_id: String,
    /// The agent who took the call.
    pub agent_id: String,
    /// The agent's team.
    pub team_id: String,
    /// The queue the call came through.
    pub queue: String,
    /// When the call started.
    pub call_started_at_ms: i64,
    /// `auto`, `en` or `id`.
    pub language_hint: String,
    /// `mono`, `agent_left` or `agent_right`.
    pub channel_layout: String,
    /// Requested rubric; empty for the tenant's default.
    pub rubric_id: String,
    /// Retries with the same key give back this call.
    pub idempotency_key: Option<String>,
    /// Where the audio is in the blob store; `None` for submitted transcripts.
    pub audio_key: Option<String>,
    /// Size of the stored audio.
    pub audio_bytes: i64,
    /// The submitting request's W3C trace context (`traceparent`), handed
    /// to the call's job so its spans join that trace; kept with the job,
    /// not the call (empty when read back, or when nothing was traced).
    pub trace_context: String,
}

/// A stored call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// What was submitted.
    pub call: NewCall,
    /// Where the call is.
    pub status: CallStatus,
    /// The step being worked on.
    pub stage: Stage,
    /// Share of the stage done, 0..1.
    pub progress: f64,
    /// The last error, kept after retries too.
    pub failure_reason: String,
    /// Processing attempts so far.
    pub attempts: i64,
    /// The redacted transcript as JSON, once transcribed.
    pub transcript_json: Option<String>,
    /// The newest scorecard.
    pub latest_scorecard_id: Option<String>,
    /// Submission time.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
    /// When retention deleted the recording.
    pub audio_purged_at_ms: Option<i64>,
    /// When retention deleted the transcript and the scorecards' quotes.
    pub transcript_purged_at_ms: Option<i64>,
    /// When the recording was replaced by its redacted rendering.
    pub audio_redacted_at_ms: Option<i64>,
    /// The sealed original, when the tenant keeps originals.
    pub sealed_audio_key: Option<String>,
}

/// A submission's result: a new call, or the earlier one with the same idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Stored now.
    Created(CallRecord),
    /// The idempotency key matched; nothing new was stored.
    Duplicate(CallRecord),
}

/// Filters for listing calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    /// Only this agent's calls.
    pub agent_id: Option<String>,
    /// Only this team's calls.
    pub team_id: Option<String>,
    /// Only calls in this status.
    pub status: Option<CallStatus>,
    /// Calls started at or after this time.
    pub started_from_ms: Option<i64>,
    /// Calls started before this time.
    pub started_before_ms: Option<i64>,
}

/// The job queue at one moment (what the queue gauges report).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueStats {
    /// `(tenant, queued, running)` for tenants with either, by tenant.
    pub per_tenant: Vec<(String, i64, i64)>,
    /// Milliseconds the oldest due queued job has waited; 0 when none.
    pub oldest_wait_ms: i64,
}

/// A job a worker has claimed, with the lease that proves it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job.
    pub job_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The call to process.
    pub call_id: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// The attempt limit.
    pub max_attempts: i64,
    /// The worker holding the lease.
    pub owner: String,
    /// The submission's W3C trace context (`traceparent`); empty if untraced.
    pub trace_context: String,
}

/// A recording's redacted replacement, stored before the job completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactedAudio {
    /// The redacted recording's blob.
    pub blob_key: String,
    /// Its size.
    pub bytes: i64,
    /// The blob it replaces, deleted once the replacement is committed.
    pub replaced_key: String,
    /// The replaced blob sealed, when the tenant keeps originals.
    pub sealed_key: Option<String>,
}

/// Calls and the job queue.
#[async_trait]
pub trait CallStore: Send + Sync {
    /// Stores a call with audio and queues its job, unless the idempotency key
    /// matches an earlier call. `QueueFull` when `max_queued` jobs are waiting.
    async fn submit_call(
        &self,
        call: &NewCall,
        max_attempts: i64,
        max_queued: i64,
    ) -> Result<Submitted, StoreError>;

    /// Calls of the tenant waiting or running (what `max_queued` counts).
    async fn waiting_calls(&self, tenant_id: &str) -> Result<i64, StoreError>;

    /// Stores a call that arrives as a transcript, already scored.
    async fn submit_scored_call(
        &self,
        call: &NewCall,
        transcript_json: &str,
        scorecard: &NewScorecard,
    ) -> Result<Submitted, StoreError>;

    /// The tenant's call submitted with this idempotency key, if any.
    async fn find_call_by_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<CallRecord>, StoreError>;

    /// One call of the tenant.
    async fn get_call(&self, tenant_id: &str, call_id: &str) -> Result<CallRecord, StoreError>;

    /// Calls newest first; `after` is the last (created_at_ms, call_id) of the previous page.
    async fn list_calls(
        &self,
        tenant_id: &str,
        filter: &CallFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError>;

    /// Removes the call, its job, transcript, scorecards and their reviews;
    /// returns the blobs it held (the recording, a sealed original) for the
    /// caller to delete.
    async fn delete_call(&self, tenant_id: &str, call_id: &str) -> Result<Vec<String>, StoreError>;

    /// Records progress while a worker holds the job.
    async fn set_progress(
        &self,
        job: &ClaimedJob,
        stage: Stage,
        progress: f64,
    ) -> Result<(), StoreError>;

    /// Claims the next job: fairly across tenants (the tenant served longest
    /// ago first), then oldest first; a running job whose lease expired counts
    /// as waiting. PostgreSQL skips rows other workers have locked.
    async fn claim_job(&self, owner: &str, lease_ms: i64)
    -> Result<Option<ClaimedJob>, StoreError>;

    /// Extends the lease; false when the job is no longer this worker's.
    async fn renew_lease(&self, job: &ClaimedJob, lease_ms: i64) -> Result<bool, StoreError>;

    /// Stores the transcript and scorecard and finishes the job, atomically,
    /// only if the lease is still this worker's (false otherwise: nothing
    /// stored). With `redacted_audio`, the call's recording becomes the
    /// redacted one and the replaced blob is queued for deletion, in the same
    /// transaction.
    async fn complete_job(
        &self,
        job: &ClaimedJob,
        transcript_json: &str,
        scorecard: &NewScorecard,
        redacted_audio: Option<&RedactedAudio>,
    ) -> Result<bool, StoreError>;

    /// Blob keys queued for deletion (oldest first), at most `limit`.
    async fn pending_blob_deletions(&self, limit: u32) -> Result<Vec<String>, StoreError>;

    /// Takes a deleted blob off the deletion queue.
    async fn blob_deleted(&self, blob_key: &str) -> Result<(), StoreError>;

    /// Records a failed attempt: requeued after `retry_after_ms` while attempts
    /// remain and the error is not permanent, otherwise the call fails.
    async fn fail_attempt(
        &self,
        job: &ClaimedJob,
        error: &str,
        permanent: bool,
        retry_after_ms: i64,
    ) -> Result<(), StoreError>;

    /// Gives a job back without counting the attempt (graceful shutdown).
    async fn release_job(&self, job: &ClaimedJob) -> Result<(), StoreError>;

    /// Fails jobs whose lease expired after their last allowed attempt
    /// (their worker died every time); returns how many.
    async fn fail_abandoned_jobs(&self) -> Result<u64, StoreError>;

    /// Jobs waiting or running, across tenants.
    async fn pending_job_count(&self) -> Result<i64, StoreError>;

    /// The queue per tenant and the oldest due job's wait, at `now_ms`.
    async fn queue_stats(&self, now_ms: i64) -> Result<QueueStats, StoreError>;
}
