//! Job workers: claim a call from the store's queue, run the pipeline while
//! renewing the lease, record progress, and finish, retry or fail it.

mod progress;
pub mod retention;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::pipeline::{Pipeline, PipelineError, channel_layout, language, record_stage};
use crate::store::{ClaimedJob, Stage, now_ms};
use crate::telemetry::{metrics, parent_context};

/// How workers behave.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs processed at once.
    pub concurrency: usize,
    /// Lease length; renewed every third of it while a job runs.
    pub lease: Duration,
    /// Delay before a failed attempt is retried.
    pub retry_after: Duration,
    /// Idle poll interval.
    pub poll: Duration,
}

/// The pool of worker loops of one process.
pub struct Workers {
    pipeline: Arc<Pipeline>,
    config: WorkerConfig,
    /// Identifies this process's leases (unique per start, so a restarted
    /// process never mistakes a dead predecessor's lease for its own).
    process_id: String,
}

impl Workers {
    /// Workers over `pipeline`.
    pub fn new(pipeline: Arc<Pipeline>, config: WorkerConfig) -> Self {
        Self {
            pipeline,
            config,
            process_id: format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
        }
    }

    /// Runs until `shutdown`; a job in progress is finished first.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut loops = tokio::task::JoinSet::new();
        for index in 0..self.config.concurrency {
            let workers = self.clone();
            let shutdown = shutdown.clone();
            loops.spawn(async move { workers.worker_loop(index, shutdown).await });
        }
        let housekeeper = self.clone();
        let housekeeping_shutdown = shutdown.clone();
        loops.spawn(async move { housekeeper.housekeeping(housekeeping_shutdown).await });
        while loops.join_next().await.is_some() {}
    }

    async fn worker_loop(&self, index: usize, shutdown: CancellationToken) {
        let owner = format!("{}-{index}", self.process_id);
        let lease_ms = self.config.lease.as_millis() as i64;
        while !shutdown.is_cancelled() {
            let claim_started = (SystemTime::now(), Instant::now());
            match self.pipeline.store.claim_job(&owner, lease_ms).await {
                Ok(Some(job)) => {
                    record_stage("claim", claim_started.1);
                    // The claim ends where the job begins, however long
                    // creating the job's span takes on a busy machine.
                    let claimed = SystemTime::now();
                    let span = tracing::info_span!("job", call_id = %job.call_id, tenant = %job.tenant_id, attempt = job.attempts);
                    // The submission's trace, whichever replica took it.
                    let submission = parent_context(&job.trace_context);
                    let _ = span.set_parent(submission.clone());
                    record_claim_span(&job, &submission, &span, (claim_started.0, claimed));
                    self.process(job).instrument(span).await;
                }
                Ok(None) => {
                    tokio::select! {
                        () = tokio::time::sleep(self.config.poll) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "claiming a job failed");
                    tokio::time::sleep(self.config.poll).await;
                }
            }
        }
    }

    /// Fails jobs whose workers died on every attempt, deletes recordings
    /// that redacted ones replaced, and samples last week's lowest scores
    /// into the review queue, now and then.
    async fn housekeeping(&self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let store = self.pipeline.store.as_ref();
            if let Err(error) = crate::review::lowest::sample_last_week(store, now_ms()).await {
                tracing::error!(%error, "sampling each team's lowest scores failed");
            }
            match self.pipeline.delete_replaced_blobs().await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "deleted replaced recordings"),
                Err(error) => tracing::error!(%error, "deleting replaced recordings failed"),
            }
            match self.pipeline.store.fail_abandoned_jobs().await {
                Ok(0) => {}
                Ok(count) => tracing::warn!(count, "failed jobs abandoned on every attempt"),
                Err(error) => tracing::error!(%error, "reaping abandoned jobs failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.lease) => {}
                () = shutdown.cancelled() => {}
            }
        }
    }

    async fn process(&self, job: ClaimedJob) {
        let store = self.pipeline.store.clone();
        let heartbeat_stop = CancellationToken::new();
        let heartbeat = {
            let job = job.clone();
            let stop = heartbeat_stop.clone();
            let lease = self.config.lease;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(lease / 3) => {}
                        () = stop.cancelled() => return,
                    }
                    match store.renew_lease(&job, lease.as_millis() as i64).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!("lease lost; another worker may take the job");
                            metrics().lease_renewals_lost.add(1, &[]);
                            return;
                        }
                        Err(error) => tracing::error!(%error, "renewing the lease failed"),
                    }
                }
            })
        };
        let result = self.run_job(&job).await;
        heartbeat_stop.cancel();
        let _ = heartbeat.await;
        if let Err(error) = result {
            let permanent = error.is_permanent();
            tracing::warn!(%error, permanent, "attempt failed");
            if permanent || job.attempts >= job.max_attempts {
                metrics()
                    .jobs_failed
                    .add(1, &[KeyValue::new("tenant", job.tenant_id.clone())]);
            }
            let retry_ms = self.config.retry_after.as_millis() as i64;
            if let Err(store_error) = self
                .pipeline
                .store
                .fail_attempt(&job, &error.public_reason(), permanent, retry_ms)
                .await
            {
                tracing::error!(%store_error, "recording the failure failed; the lease will expire");
            }
        }
    }

    async fn run_job(&self, job: &ClaimedJob) -> Result<(), PipelineError> {
        let store = &self.pipeline.store;
        let call = store.get_call(&job.tenant_id, &job.call_id).await?;
        let audio_key = call
            .call
            .audio_key
            .clone()
            .ok_or_else(|| PipelineError::Task("a queued call has no audio".to_string()))?;
        store.set_progress(job, Stage::Decoding, 0.0).await?;
        let reporter = progress::ProgressReporter::start(store.clone(), job.clone());
        let transcribed = self
            .pipeline
            .transcribe_blob(
                &audio_key,
                channel_layout(&call.call.channel_layout),
                language(&call.call.language_hint),
                reporter.on_decoded(),
                reporter.callback(),
            )
            .await;
        reporter.stop().await;
        let (transcript, model_id) = transcribed?;
        store.set_progress(job, Stage::Scoring, 0.0).await?;
        let rubric = self
            .pipeline
            .rubrics
            .resolve(&job.tenant_id, &call.call.rubric_id, None)
            .await?;
        let scored = self.pipeline.score(&rubric, &transcript, &model_id);
        let transcript_json = serde_json::to_string(&scored.redacted)
            .map_err(|error| PipelineError::Task(error.to_string()))?;
        let mut scorecard = Pipeline::new_scorecard(&call.call, scored.scorecard, "system");
        scorecard.review = self
            .pipeline
            .review_task(&job.tenant_id, &scorecard, &transcript)
            .await?;
        // The recording loses what the transcript masks before the job can
        // complete: the swap commits with the scorecard, or not at all.
        let redacted_audio = if scored.masked.is_empty() {
            None
        } else {
            Some(
                self.pipeline
                    .redact_audio(&job.tenant_id, &audio_key, &scored.masked)
                    .await?,
            )
        };
        let started = Instant::now();
        let completed = store
            .complete_job(job, &transcript_json, &scorecard, redacted_audio.as_ref())
            .instrument(tracing::info_span!("store", scorecard_id = %scorecard.scorecard_id))
            .await?;
        record_stage("store", started);
        if completed && redacted_audio.is_some() {
            // Committed: the upload is now only a queued deletion. Should this
            // fail or the process die here, the next sweep deletes it.
            if let Err(error) = self.pipeline.delete_replaced_blobs().await {
                tracing::warn!(%error, "deleting the replaced recording failed; the sweep retries");
            }
        }
        if completed {
            metrics()
                .scorecards_written
                .add(1, &[KeyValue::new("source", "job")]);
            tracing::info!(scorecard_id = %scorecard.scorecard_id, "call scored");
        } else {
            tracing::warn!("the job was taken over before it finished; result discarded");
        }
        Ok(())
    }
}

/// The claim as a span of its own, timed from before the job (and so its
/// trace) was known: a child of the submission's span when the job carries
/// one, else of the job's span.
fn record_claim_span(
    job: &ClaimedJob,
    submission: &opentelemetry::Context,
    job_span: &tracing::Span,
    (started, ended): (SystemTime, SystemTime),
) {
    let parent = if submission.span().span_context().is_valid() {
        submission.clone()
    } else {
        job_span.context()
    };
    let tracer = opentelemetry::global::tracer("callscore");
    let mut span = tracer
        .span_builder("claim")
        .with_start_time(started)
        .with_attributes([
            KeyValue::new("call_id", job.call_id.clone()),
            KeyValue::new("tenant", job.tenant_id.clone()),
            KeyValue::new("attempt", job.attempts),
        ])
        .start_with_context(&tracer, &parent);
    span.end_with_timestamp(ended);
}
