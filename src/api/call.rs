//! CallService: streaming upload, transcripts, reading, progress, deletion.

use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::ServiceState;
use super::convert::{self, optional_id, required_id};
use super::paging::{decode_time_cursor, encode_time_cursor, finish_page, page_size};
use super::status::invalid;
use super::watch::CallWatch;
use super::watch_calls::CallsWatch;
use crate::auth::{Action, Principal};
use crate::pipeline::Pipeline;
use crate::proto::call_service_server::CallService;
use crate::proto::{self as pb, submit_call_request::Payload};
use crate::store::{CallFilter, CallRecord, NewCall, StoreError, Submitted, now_ms};
use crate::transcript::Transcript;

/// Segments × checks one SubmitTranscript may ask to score (a few seconds
/// of CPU at most; a two-hour call against a 500-check rubric fits).
const MAX_SCORING_COST: usize = 2_000_000;

/// The CallService.
#[derive(Clone)]
pub struct CallApi {
    state: Arc<ServiceState>,
}

impl CallApi {
    /// Serves calls from the shared state.
    pub fn new(state: Arc<ServiceState>) -> Self {
        Self { state }
    }

    /// A validated new call from submitted metadata.
    async fn new_call(
        &self,
        tenant_id: &str,
        metadata: Option<&pb::CallMetadata>,
        audio: Option<(String, i64)>,
    ) -> Result<NewCall, Status> {
        let metadata = metadata.ok_or_else(|| invalid("metadata", "is required"))?;
        let rubric_id = optional_id("metadata.rubric_id", &metadata.rubric_id)?;
        if !rubric_id.is_empty() {
            match self.state.store.get_rubric(tenant_id, &rubric_id).await {
                Ok(_) => {}
                Err(StoreError::NotFound(_)) => {
                    return Err(Status::not_found(format!(
                        "metadata.rubric_id: rubric {rubric_id:?} not found"
                    )));
                }
                Err(error) => return Err(error.into()),
            }
        }
        let call_started_at_ms = match &metadata.call_started_at {
            Some(at) => convert::epoch_ms("metadata.call_started_at", at)?,
            None => now_ms(),
        };
        let idempotency_key = optional_id("metadata.idempotency_key", &metadata.idempotency_key)?;
        let (audio_key, audio_bytes) = audio.map_or((None, 0), |(key, bytes)| (Some(key), bytes));
        Ok(NewCall {
            call_id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant_id.to_string(),
            external_call_id: optional_id("metadata.external_call_id", &metadata.external_call_id)?,
            agent_id: required_id("metadata.agent_id", &metadata.agent_id)?,
            team_id: optional_id("metadata.team_id", &metadata.team_id)?,
            queue: optional_id("metadata.queue", &metadata.queue)?,
            call_started_at_ms,
            language_hint: convert::language_hint_name(metadata.language_hint)?.to_string(),
            channel_layout: convert::channel_layout_name(metadata.channel_layout)?.to_string(),
            rubric_id,
            idempotency_key: Some(idempotency_key).filter(|k| !k.is_empty()),
            audio_key,
            audio_bytes,
            trace_context: crate::telemetry::current_trace_context(),
        })
    }

    /// An earlier call with the same idempotency key, if any.
    async fn earlier_submission(
        &self,
        tenant_id: &str,
        metadata: Option<&pb::CallMetadata>,
    ) -> Result<Option<CallRecord>, Status> {
        let key = match metadata {
            Some(m) => optional_id("metadata.idempotency_key", &m.idempotency_key)?,
            None => String::new(),
        };
        if key.is_empty() {
            return Ok(None);
        }
        Ok(self
            .state
            .store
            .find_call_by_idempotency_key(tenant_id, &key)
            .await?)
    }

    /// What can be refused before the audio is read: a full queue, and a
    /// recording the platform says is longer or larger than allowed.
    async fn refuse_before_upload(
        &self,
        tenant_id: &str,
        metadata: &pb::CallMetadata,
    ) -> Result<(), Status> {
        let max_seconds = self.state.pipeline.audio_limits.max_duration_s;
        if metadata.audio_duration_ms as f64 > max_seconds * 1000.0 {
            return Err(invalid(
                "metadata.audio_duration_ms",
                format!("the call is longer than the limit of {max_seconds} s"),
            ));
        }
        let max_bytes = self.state.max_upload_bytes;
        if metadata.audio_size_bytes > max_bytes {
            return Err(invalid(
                "metadata.audio_size_bytes",
                format!("the upload exceeds the limit of {max_bytes} bytes"),
            ));
        }
        let waiting = self.state.store.waiting_calls(tenant_id).await?;
        if waiting >= self.state.max_queued {
            return Err(StoreError::QueueFull(waiting).into());
        }
        Ok(())
    }

    /// The upload's next message; a client that pauses longer than the stall
    /// limit loses the upload (its partial file goes with it).
    async fn next_message(
        &self,
        stream: &mut Streaming<pb::SubmitCallRequest>,
    ) -> Result<Option<pb::SubmitCallRequest>, Status> {
        let stall = self.state.upload_stall;
        match tokio::time::timeout(stall, stream.message()).await {
            Ok(message) => message,
            Err(_) => Err(Status::deadline_exceeded(format!(
                "audio_chunk: nothing arrived for {} s; the upload was dropped",
                stall.as_secs()
            ))),
        }
    }

    /// Reads the upload into the blob store, enforcing the size limit;
    /// on any error nothing is kept.
    async fn receive_audio(
        &self,
        stream: &mut Streaming<pb::SubmitCallRequest>,
        key: &str,
    ) -> Result<i64, Status> {
        let limit = self.state.max_upload_bytes;
        let mut upload = self
            .state
            .pipeline
            .blobs
            .start_upload(key)
            .await
            .map_err(internal)?;
        let outcome: Result<(), Status> = async {
            while let Some(message) = self.next_message(stream).await? {
                match message.payload {
                    Some(Payload::AudioChunk(chunk)) => {
                        if upload.bytes + chunk.len() as u64 > limit {
                            return Err(invalid(
                                "audio_chunk",
                                format!("the upload exceeds the limit of {limit} bytes"),
                            ));
                        }
                        upload.write(&chunk).await.map_err(internal)?;
                    }
                    Some(Payload::Metadata(_)) => {
                        return Err(invalid("metadata", "only the first message may carry it"));
                    }
                    None => return Err(invalid("payload", "is required")),
                }
            }
            if upload.bytes == 0 {
                return Err(invalid("audio_chunk", "no audio was received"));
            }
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => {
                let bytes = upload.bytes as i64;
                upload.finish().await.map_err(internal)?;
                Ok(bytes)
            }
            Err(status) => {
                if let Err(error) = upload.abort().await {
                    tracing::warn!(%error, "aborting a rejected upload failed");
                }
                Err(status)
            }
        }
    }
}

fn internal(error: impl std::fmt::Display) -> Status {
    tracing::error!(%error, "internal failure");
    Status::internal("internal error")
}

#[tonic::async_trait]
impl CallService for CallApi {
    async fn submit_call(
        &self,
        request: Request<Streaming<pb::SubmitCallRequest>>,
    ) -> Result<Response<pb::SubmitCallResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        principal.require(Action::SubmitCalls)?;
        let tenant = &principal.tenant_id;
        let mut stream = request.into_inner();
        let metadata = match self.next_message(&mut stream).await? {
            Some(pb::SubmitCallRequest {
                payload: Some(Payload::Metadata(metadata)),
            }) => metadata,
            _ => {
                return Err(invalid(
                    "metadata",
                    "the first message must carry the metadata",
                ));
            }
        };
        if let Some(earlier) = self.earlier_submission(tenant, Some(&metadata)).await? {
            return Ok(Response::new(pb::SubmitCallResponse {
                call: Some(convert::call(&earlier)),
                duplicate: true,
            }));
        }
        let mut call = self.new_call(tenant, Some(&metadata), None).await?;
        self.refuse_before_upload(tenant, &metadata).await?;
        let key = format!("{tenant}/{}.audio", call.call_id);
        let bytes = self.receive_audio(&mut stream, &key).await?;
        call.audio_key = Some(key.clone());
        call.audio_bytes = bytes;
        let submitted = self
            .state
            .store
            .submit_call(&call, self.state.max_attempts, self.state.max_queued)
            .await;
        let (record, duplicate) = match submitted {
            Ok(Submitted::Created(record)) => (record, false),
            Ok(Submitted::Duplicate(record)) => {
                self.state
                    .pipeline
                    .blobs
                    .delete(&key)
                    .await
                    .map_err(internal)?;
                (record, true)
            }
            Err(error) => {
                // The audio of a refused call is not kept.
                if let Err(blob_error) = self.state.pipeline.blobs.delete(&key).await {
                    tracing::warn!(%blob_error, "removing refused audio failed");
                }
                return Err(error.into());
            }
        };
        Ok(Response::new(pb::SubmitCallResponse {
            call: Some(convert::call(&record)),
            duplicate,
        }))
    }

    async fn submit_transcript(
        &self,
        request: Request<pb::SubmitTranscriptRequest>,
    ) -> Result<Response<pb::SubmitTranscriptResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::SubmitCalls)?;
        let tenant = &principal.tenant_id;
        let message = request.get_ref();
        if let Some(earlier) = self
            .earlier_submission(tenant, message.metadata.as_ref())
            .await?
        {
            return Ok(Response::new(pb::SubmitTranscriptResponse {
                scorecard_id: earlier.latest_scorecard_id.clone().unwrap_or_default(),
                call: Some(convert::call(&earlier)),
                duplicate: true,
            }));
        }
        let call = self
            .new_call(tenant, message.metadata.as_ref(), None)
            .await?;
        let transcript = convert::transcript_from_wire(
            message
                .transcript
                .as_ref()
                .ok_or_else(|| invalid("transcript", "is required"))?,
        )?;
        let rubric = self
            .state
            .pipeline
            .rubrics
            .resolve(tenant, &call.rubric_id, None)
            .await
            .map_err(internal)?;
        // Rubrics stored before the check limit can still be large: the
        // request's scoring work is bounded here too.
        let checks: usize = rubric.compiled.checks.iter().map(Vec::len).sum();
        let cost = checks.saturating_mul(transcript.segments.len());
        if cost > MAX_SCORING_COST {
            return Err(invalid(
                "transcript.segments",
                format!(
                    "{} segments × {checks} checks is more scoring than one request may ask ({MAX_SCORING_COST}); split the call or use a smaller rubric",
                    transcript.segments.len()
                ),
            ));
        }
        let pipeline = self.state.pipeline.clone();
        let span = tracing::Span::current();
        let scored = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            pipeline.score(&rubric, &transcript, "")
        })
        .await
        .map_err(internal)?;
        let transcript_json = serde_json::to_string(&scored.redacted).map_err(internal)?;
        let mut scorecard = Pipeline::new_scorecard(&call, scored.scorecard, "system");
        // Masking leaves the confidences the sampling rules read.
        scorecard.review = self
            .state
            .pipeline
            .review_task(&call.tenant_id, &scorecard, &scored.redacted)
            .await
            .map_err(|error| {
                tracing::error!(%error, "review sampling failed");
                Status::unavailable("the tenant's settings cannot be read now; retry")
            })?;
        let submitted = self
            .state
            .store
            .submit_scored_call(&call, &transcript_json, &scorecard)
            .await?;
        let (record, duplicate) = match submitted {
            Submitted::Created(record) => {
                crate::telemetry::metrics()
                    .scorecards_written
                    .add(1, &[opentelemetry::KeyValue::new("source", "transcript")]);
                (record, false)
            }
            Submitted::Duplicate(record) => (record, true),
        };
        Ok(Response::new(pb::SubmitTranscriptResponse {
            scorecard_id: record.latest_scorecard_id.clone().unwrap_or_default(),
            call: Some(convert::call(&record)),
            duplicate,
        }))
    }

    async fn get_call(
        &self,
        request: Request<pb::GetCallRequest>,
    ) -> Result<Response<pb::GetCallResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadCalls)?;
        let call_id = required_id("call_id", &request.get_ref().call_id)?;
        let tenant = &principal.tenant_id;
        let record = self.state.store.get_call(tenant, &call_id).await?;
        principal.require_covers(&record.call.agent_id, &record.call.team_id)?;
        let mut response = pb::GetCallResponse {
            call: Some(convert::call(&record)),
            ..Default::default()
        };
        if let Some(scorecard_id) = &record.latest_scorecard_id {
            let scorecard = self.state.store.get_scorecard(tenant, scorecard_id).await?;
            response.metrics = Some(convert::metrics(&scorecard.machine.metrics));
            if let Some(json) = &record.transcript_json {
                let transcript: Transcript = serde_json::from_str(json).map_err(internal)?;
                response.transcript = Some(convert::transcript(
                    &transcript,
                    &scorecard.machine.model_id,
                ));
            }
        }
        Ok(Response::new(response))
    }

    type GetCallAudioStream = ReceiverStream<Result<pb::GetCallAudioResponse, Status>>;

    async fn get_call_audio(
        &self,
        request: Request<pb::GetCallAudioRequest>,
    ) -> Result<Response<Self::GetCallAudioStream>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ListenToCalls)?;
        let message = request.get_ref();
        let call_id = required_id("call_id", &message.call_id)?;
        let rendering = pb::AudioRendering::try_from(message.rendering)
            .map_err(|_| invalid("rendering", "unknown AudioRendering value"))?;
        let record = self
            .state
            .store
            .get_call(&principal.tenant_id, &call_id)
            .await?;
        principal.require_covers(&record.call.agent_id, &record.call.team_id)?;
        let rendered = super::audio::render(&self.state.pipeline, &record, rendering).await?;
        Ok(Response::new(super::audio::stream(
            rendered,
            message.offset,
            message.length,
        )?))
    }

    type WatchCallStream = ReceiverStream<Result<pb::WatchCallResponse, Status>>;

    async fn watch_call(
        &self,
        request: Request<pb::WatchCallRequest>,
    ) -> Result<Response<Self::WatchCallStream>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadCalls)?;
        let call_id = required_id("call_id", &request.get_ref().call_id)?;
        let tenant = principal.tenant_id.clone();
        // Unknown ids fail the RPC itself, before any stream.
        let record = self.state.store.get_call(&tenant, &call_id).await?;
        principal.require_covers(&record.call.agent_id, &record.call.team_id)?;
        let slot = self.state.watches.take(&principal.key_id).ok_or_else(|| {
            Status::resource_exhausted(
                "this API key has its share of WatchCall streams open; end one first",
            )
        })?;
        // Subscribe before reading the state, so no change falls between.
        let changes = self.state.changes.subscribe();
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        let watch = CallWatch {
            store: self.state.store.clone(),
            tenant,
            call_id,
            sender,
            last_sent: None,
            last_seq: 0,
        };
        let shutdown = self.state.shutdown.clone();
        tokio::spawn(async move {
            let _slot = slot;
            watch.run(changes, shutdown).await;
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    type WatchCallsStream = ReceiverStream<Result<pb::WatchCallsResponse, Status>>;

    async fn watch_calls(
        &self,
        request: Request<pb::WatchCallsRequest>,
    ) -> Result<Response<Self::WatchCallsStream>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadCalls)?;
        let message = request.get_ref();
        let filter = principal.scoped_filter(
            Some(optional_id("agent_id", &message.agent_id)?).filter(|v| !v.is_empty()),
            Some(optional_id("team_id", &message.team_id)?).filter(|v| !v.is_empty()),
        )?;
        let slot = self.state.watches.take(&principal.key_id).ok_or_else(|| {
            Status::resource_exhausted(
                "this API key has its share of watch streams open; end one first",
            )
        })?;
        let changes = self.state.changes.subscribe();
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        let watch = CallsWatch::new(
            self.state.store.clone(),
            principal.tenant_id.clone(),
            filter,
            sender,
        );
        let shutdown = self.state.shutdown.clone();
        tokio::spawn(async move {
            let _slot = slot;
            watch.run(changes, shutdown).await;
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn list_calls(
        &self,
        request: Request<pb::ListCallsRequest>,
    ) -> Result<Response<pb::ListCallsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ReadCalls)?;
        let message = request.get_ref();
        let limit = page_size(message.page_size)?;
        let after = decode_time_cursor(&message.page_token)?;
        let (started_from_ms, started_before_ms) =
            convert::time_window("call_started", message.call_started.as_ref())?;
        let (agent_id, team_id) = principal.scoped_filter(
            Some(optional_id("agent_id", &message.agent_id)?).filter(|v| !v.is_empty()),
            Some(optional_id("team_id", &message.team_id)?).filter(|v| !v.is_empty()),
        )?;
        let filter = CallFilter {
            agent_id,
            team_id,
            status: convert::call_status_filter(message.status)?,
            started_from_ms,
            started_before_ms,
        };
        let mut calls = self
            .state
            .store
            .list_calls(&principal.tenant_id, &filter, after, limit + 1)
            .await?;
        let next_page_token = finish_page(&mut calls, limit, |c| {
            encode_time_cursor(c.created_at_ms, &c.call.call_id)
        });
        Ok(Response::new(pb::ListCallsResponse {
            calls: calls.iter().map(convert::call).collect(),
            next_page_token,
        }))
    }

    async fn delete_call(
        &self,
        request: Request<pb::DeleteCallRequest>,
    ) -> Result<Response<pb::DeleteCallResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::DeleteCalls)?;
        let call_id = required_id("call_id", &request.get_ref().call_id)?;
        let blobs = self
            .state
            .store
            .delete_call(&principal.tenant_id, &call_id)
            .await?;
        for key in blobs {
            self.state
                .pipeline
                .blobs
                .delete(&key)
                .await
                .map_err(internal)?;
        }
        tracing::info!(%call_id, actor = %principal.key_id, "call deleted");
        Ok(Response::new(pb::DeleteCallResponse {}))
    }
}
