//! From a stored call to a scorecard: decode, transcribe, score, redact.
//! Plain library code that the job worker, `SubmitTranscript`, rescoring and
//! the CLI share.

pub mod rubrics;

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use crate::audio::mask::mask_recording;
use crate::audio::{AudioError, AudioInput, AudioLimits, ChannelLayout, decode_call};
use crate::blobs::{BlobError, BlobStore};
use crate::review::sample;
use crate::scoring::agent_hints::settle_agent_with_rubric;
use crate::scoring::{Redactor, Scorecard, score_transcript};
use crate::seal::Sealer;
use crate::store::{NewReviewTask, NewScorecard, RedactedAudio, Store, StoreError};
use crate::transcribe::{Engine, Language, ProgressFn, TranscribeError, TranscribeOptions};
use crate::transcript::{TimeSpan, Transcript};

pub use rubrics::{ResolvedRubric, RubricCache, RubricLookupError};

/// Why processing a call failed, and whether retrying can help.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The audio is bad: retrying cannot help.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// Whisper failed.
    #[error(transparent)]
    Transcribe(#[from] TranscribeError),
    /// No rubric to score with.
    #[error(transparent)]
    Rubric(#[from] RubricLookupError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audio could not be read back.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The tenant keeps originals, but this worker has no key to seal them.
    #[error(
        "the tenant keeps original recordings (audio_redaction.keep_original) but this worker has no audio_encryption_key_file"
    )]
    NoSealer,
    /// This process has no transcription engine (an API-only replica).
    #[error("this process has no transcription model loaded")]
    NoEngine,
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
}

impl PipelineError {
    /// What the call's `failure_reason` says: the audio's problem in full,
    /// the service's own faults without paths or internals (those are in
    /// the log).
    pub fn public_reason(&self) -> String {
        match self {
            Self::Audio(_) | Self::Rubric(_) | Self::NoEngine | Self::NoSealer => self.to_string(),
            Self::Transcribe(error @ TranscribeError::LanguageUnsupported { .. }) => {
                error.to_string()
            }
            Self::Transcribe(_) => "transcription failed (see the service log)".to_owned(),
            Self::Store(_) => "a storage error (see the service log)".to_owned(),
            Self::Blob(_) => {
                "the stored recording could not be read (see the service log)".to_owned()
            }
            Self::Task(_) => "an internal error (see the service log)".to_owned(),
        }
    }

    /// Whether a retry cannot change the outcome.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::Audio(_)
                | Self::Rubric(RubricLookupError::NoDefault | RubricLookupError::Unusable(..))
                | Self::Transcribe(TranscribeError::LanguageUnsupported { .. })
        )
    }
}

/// A scored call: the scorecard and the transcript as stored (redacted).
pub struct ScoredCall {
    /// The machine's scorecard.
    pub scorecard: Scorecard,
    /// The transcript with sensitive data masked.
    pub redacted: Transcript,
    /// Where the masked words were spoken: the recording loses them too.
    pub masked: Vec<TimeSpan>,
}

/// The shared parts every stage needs.
pub struct Pipeline {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Uploaded audio.
    pub blobs: BlobStore,
    /// Whisper, loaded once; `None` in API-only processes.
    pub engine: Option<Arc<Engine>>,
    /// Compiled rubrics.
    pub rubrics: RubricCache,
    /// Masks sensitive data in stored transcripts.
    pub redactor: Redactor,
    /// Limits on decoded audio.
    pub audio_limits: AudioLimits,
    /// Seals originals that tenants keep; `None` without the operator's key.
    pub sealer: Option<Arc<Sealer>>,
}

/// Adds a stage's time to `callscore.job.stage.duration`.
pub fn record_stage(stage: &'static str, started: Instant) {
    crate::telemetry::metrics().stage_duration.record(
        started.elapsed().as_secs_f64(),
        &[opentelemetry::KeyValue::new("stage", stage)],
    );
}

/// Where the sealed original of a redacted recording is stored.
pub fn sealed_key(audio_key: &str) -> String {
    format!("{audio_key}.original.sealed")
}

/// Where a recording's redacted rendering is stored.
pub fn redacted_key(audio_key: &str) -> String {
    format!("{audio_key}.redacted.wav")
}

/// Parses the stored channel layout name.
pub fn channel_layout(name: &str) -> ChannelLayout {
    match name {
        "agent_left" => ChannelLayout::AgentLeft,
        "agent_right" => ChannelLayout::AgentRight,
        _ => ChannelLayout::Mono,
    }
}

/// Parses the stored language hint.
pub fn language(name: &str) -> Language {
    match name {
        "en" => Language::En,
        "id" => Language::Id,
        _ => Language::Auto,
    }
}

impl Pipeline {
    /// Scores a transcript (the sensitive-data checks see it unmasked) and
    /// masks it for storage.
    pub fn score(
        &self,
        rubric: &ResolvedRubric,
        transcript: &Transcript,
        model_id: &str,
    ) -> ScoredCall {
        let _span = tracing::info_span!(
            "score",
            rubric_id = %rubric.compiled.rubric.id,
            rubric_version = rubric.compiled.rubric.version
        )
        .entered();
        let started = Instant::now();
        // A tie between a mono call's voices (settled at transcription by who
        // spoke first) is settled by the rubric's agent phrases.
        let settled = settle_agent_with_rubric(&rubric.compiled, transcript);
        let transcript = settled.as_ref().unwrap_or(transcript);
        let mut redaction = self.redactor.redact_timed(transcript);
        // Quotes of cues are the cue's own words, never what redaction masks.
        let mut attribution = crate::speakers::check_attribution(transcript);
        // How a mono recording's voices were told apart was decided when it
        // was transcribed; it stays with the transcript.
        if let Some(voices) = transcript
            .attribution
            .as_ref()
            .and_then(|a| a.voices.clone())
        {
            attribution.get_or_insert_with(Default::default).voices = Some(voices);
        }
        redaction.transcript.attribution = attribution;
        let scored = ScoredCall {
            scorecard: score_transcript(&rubric.compiled, transcript, model_id),
            redacted: redaction.transcript,
            masked: redaction.masked,
        };
        record_stage("score", started);
        scored
    }

    /// Decodes and transcribes stored audio, off the async runtime.
    pub async fn transcribe_blob(
        &self,
        audio_key: &str,
        layout: ChannelLayout,
        language: Language,
        on_decoded: impl FnOnce(),
        progress: ProgressFn,
    ) -> Result<(Transcript, String), PipelineError> {
        let engine = self.engine.clone().ok_or(PipelineError::NoEngine)?;
        let decode_span = tracing::info_span!("decode", audio_bytes = tracing::field::Empty);
        let started = Instant::now();
        let bytes = self
            .blobs
            .read(audio_key)
            .instrument(decode_span.clone())
            .await?;
        decode_span.record("audio_bytes", bytes.len());
        let limits = self.audio_limits.clone();
        // The name appears in errors that reach the client: never the key.
        let name = "recording".to_string();
        let decoded = tokio::task::spawn_blocking(move || {
            let _entered = decode_span.enter();
            decode_call(
                AudioInput::Bytes {
                    name: &name,
                    data: &bytes,
                },
                layout,
                &limits,
            )
        })
        .await
        .map_err(|error| PipelineError::Task(error.to_string()))??;
        record_stage("decode", started);
        on_decoded();
        let audio_s = decoded.duration_ms() as f64 / 1000.0;
        let options = TranscribeOptions {
            language,
            progress: Some(progress),
        };
        let span = tracing::Span::current();
        let started = Instant::now();
        let transcript = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            engine.transcribe(&decoded, &options)
        })
        .await
        .map_err(|error| PipelineError::Task(error.to_string()))??;
        let metrics = crate::telemetry::metrics();
        metrics.audio_transcribed.add(audio_s, &[]);
        if audio_s > 0.0 {
            metrics
                .real_time_factor
                .record(started.elapsed().as_secs_f64() / audio_s, &[]);
        }
        let model_id = self
            .engine
            .as_ref()
            .map(|e| e.model_id())
            .unwrap_or_default();
        Ok((transcript, model_id))
    }

    /// Stores the recording at `audio_key` again with the `masked` spans
    /// overwritten as the tenant's policy says, under a key derived from the
    /// original (so a retried job overwrites its own earlier attempt).
    /// Returns what replaces the original; the caller commits the swap.
    pub async fn redact_audio(
        &self,
        tenant_id: &str,
        audio_key: &str,
        masked: &[TimeSpan],
    ) -> Result<RedactedAudio, PipelineError> {
        let started = Instant::now();
        let policy = self.store.tenant_settings(tenant_id).await?.audio_redaction;
        let original = self.blobs.read(audio_key).await?;
        let bytes = original.clone();
        let limits = self.audio_limits.clone();
        let spans = masked.to_vec();
        let span = tracing::info_span!("redact_audio", spans = spans.len());
        let wav = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            mask_recording(
                AudioInput::Bytes {
                    name: "recording",
                    data: &bytes,
                },
                &spans,
                policy.sound,
                &limits,
            )
        })
        .await
        .map_err(|error| PipelineError::Task(error.to_string()))??;
        let sealed_key = if policy.keep_original {
            let sealer = self.sealer.as_ref().ok_or(PipelineError::NoSealer)?;
            let sealed_key = sealed_key(audio_key);
            let sealed = sealer
                .seal(&original, &sealed_key)
                .map_err(|error| PipelineError::Task(error.to_string()))?;
            self.write_blob(&sealed_key, &sealed).await?;
            Some(sealed_key)
        } else {
            None
        };
        let blob_key = redacted_key(audio_key);
        self.write_blob(&blob_key, &wav).await?;
        record_stage("redact_audio", started);
        Ok(RedactedAudio {
            blob_key,
            bytes: i64::try_from(wav.len()).unwrap_or(i64::MAX),
            replaced_key: audio_key.to_string(),
            sealed_key,
        })
    }

    async fn write_blob(&self, key: &str, bytes: &[u8]) -> Result<(), PipelineError> {
        let mut upload = self.blobs.start_upload(key).await?;
        upload.write(bytes).await?;
        upload.finish().await?;
        Ok(())
    }

    /// Deletes the blobs that committed changes queued for deletion (a
    /// redacted recording's original); returns how many went.
    pub async fn delete_replaced_blobs(&self) -> Result<usize, PipelineError> {
        let mut deleted = 0;
        loop {
            let keys = self.store.pending_blob_deletions(100).await?;
            if keys.is_empty() {
                return Ok(deleted);
            }
            for key in &keys {
                self.blobs.delete(key).await?;
                self.store.blob_deleted(key).await?;
                deleted += 1;
            }
        }
    }

    /// The stored form of a scored call.
    pub fn new_scorecard(
        call: &crate::store::NewCall,
        scorecard: Scorecard,
        actor: &str,
    ) -> NewScorecard {
        NewScorecard {
            scorecard_id: uuid::Uuid::now_v7().to_string(),
            call_id: call.call_id.clone(),
            agent_id: call.agent_id.clone(),
            team_id: call.team_id.clone(),
            call_started_at_ms: call.call_started_at_ms,
            card: scorecard,
            actor: actor.to_string(),
            review: None,
        }
    }

    /// The review task for a newly scored call, when the tenant's sampling
    /// rules pick it (docs/review-queues.md).
    pub async fn review_task(
        &self,
        tenant_id: &str,
        scorecard: &NewScorecard,
        transcript: &Transcript,
    ) -> Result<Option<NewReviewTask>, PipelineError> {
        let policy = self.store.tenant_settings(tenant_id).await?.review_sampling;
        Ok(sample(
            &policy,
            tenant_id,
            &scorecard.call_id,
            scorecard.call_started_at_ms,
            &scorecard.card,
            transcript,
        )
        .map(|sampled| NewReviewTask {
            task_id: uuid::Uuid::now_v7().to_string(),
            reasons: sampled
                .reasons
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            week: sampled.week,
            draw: sampled.draw,
            round_robin: policy.round_robin.clone(),
        }))
    }
}
