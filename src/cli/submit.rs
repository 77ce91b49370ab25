//! `callscore submit`: upload a recorded call, optionally wait for its scorecard.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::AsyncReadExt;

use super::client::{ClientArgs, render_scorecard};
use super::exit::{ExitReason, failure, rpc_failure};
use super::output::{OutputArgs, print};
use super::settings_args::runtime;
use crate::proto::call_service_client::CallServiceClient;
use crate::proto::scorecard_service_client::ScorecardServiceClient;
use crate::proto::submit_call_request::Payload;
use crate::proto::{self as pb};

/// Bytes per upload message: well under gRPC's 4 MiB message limit.
const CHUNK_BYTES: usize = 256 * 1024;

/// Uploads a call recording.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The recording (WAV, MP3, FLAC, Ogg, Opus), or a transcript in the JSON
    /// exchange format (`.json`, docs/transcript-json.md), scored at once.
    file: PathBuf,
    /// The agent who took the call.
    #[arg(long)]
    agent: String,
    /// The agent's team.
    #[arg(long, default_value = "")]
    team: String,
    /// How speakers sit on the channels.
    #[arg(long, value_enum, default_value_t = Channels::Mono)]
    channels: Channels,
    /// The call's language.
    #[arg(long, value_enum, default_value_t = LanguageArg::Auto)]
    language: LanguageArg,
    /// Rubric id (default: the tenant's default rubric).
    #[arg(long, default_value = "")]
    rubric: String,
    /// Retries with the same key return the same call.
    #[arg(long, default_value = "")]
    idempotency_key: String,
    /// When the call started, RFC 3339 (2026-11-30T09:15:00+07:00); default:
    /// when it is received. Trends group calls by it.
    #[arg(long, value_parser = parse_started)]
    started: Option<prost_types::Timestamp>,
    /// Wait for the scorecard and print it.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Channels {
    /// One mixed channel: split by voice, the agent found among the voices
    /// (docs/diarization.md).
    Mono,
    /// Stereo, the agent on the left channel.
    AgentLeft,
    /// Stereo, the agent on the right channel.
    AgentRight,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LanguageArg {
    Auto,
    En,
    Id,
}

impl SubmitArgs {
    /// Uploads, then follows progress when `--wait` is given.
    pub fn run(self) -> anyhow::Result<()> {
        runtime()?.block_on(self.submit())
    }

    fn metadata(&self) -> pb::CallMetadata {
        pb::CallMetadata {
            agent_id: self.agent.clone(),
            team_id: self.team.clone(),
            external_call_id: self
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            channel_layout: match self.channels {
                Channels::Mono => pb::ChannelLayout::Mono,
                Channels::AgentLeft => pb::ChannelLayout::StereoAgentLeft,
                Channels::AgentRight => pb::ChannelLayout::StereoAgentRight,
            } as i32,
            language_hint: match self.language {
                LanguageArg::Auto => pb::LanguageHint::Auto,
                LanguageArg::En => pb::LanguageHint::En,
                LanguageArg::Id => pb::LanguageHint::Id,
            } as i32,
            rubric_id: self.rubric.clone(),
            idempotency_key: self.idempotency_key.clone(),
            call_started_at: self.started,
            ..Default::default()
        }
    }

    async fn submit(self) -> anyhow::Result<()> {
        let is_transcript = self
            .file
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        if is_transcript {
            return self.submit_transcript().await;
        }
        let mut file = tokio::fs::File::open(&self.file)
            .await
            .with_context(|| format!("{}: cannot open", self.file.display()))?;
        let channel = self.client.connect().await?;
        let metadata = pb::CallMetadata {
            // Lets the server refuse an oversize file before it is sent.
            audio_size_bytes: file.metadata().await.map(|m| m.len()).unwrap_or(0),
            ..self.metadata()
        };
        // Read the file as the upload streams, so memory stays at one chunk.
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        sender
            .send(pb::SubmitCallRequest {
                payload: Some(Payload::Metadata(metadata)),
            })
            .await
            .context("starting the upload")?;
        let path = self.file.clone();
        let reader = tokio::spawn(async move {
            let mut buffer = vec![0u8; CHUNK_BYTES];
            loop {
                let read = file
                    .read(&mut buffer)
                    .await
                    .with_context(|| format!("{}: read failed", path.display()))?;
                if read == 0 {
                    return anyhow::Ok(());
                }
                let chunk = pb::SubmitCallRequest {
                    payload: Some(Payload::AudioChunk(buffer[..read].to_vec())),
                };
                if sender.send(chunk).await.is_err() {
                    return Ok(());
                }
            }
        });
        let mut calls = CallServiceClient::new(channel.clone());
        let response = calls
            .submit_call(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await
            .map_err(|status| rpc_failure("upload refused", &status))?
            .into_inner();
        reader.await.context("upload task")??;
        let call = response.call.clone().context("the server sent no call")?;
        announce(Some(&call), response.duplicate, "queued");
        if !self.wait {
            return print(self.output.format, &response, |r| {
                format!("{}\n", r.call.as_ref().map_or("", |c| c.call_id.as_str()))
            });
        }
        let scorecard_id = follow(&mut calls, &call.call_id).await?;
        self.print_scorecard(channel, scorecard_id).await
    }

    /// Reads a scorecard and prints it in the chosen format.
    async fn print_scorecard(
        &self,
        channel: super::client::AuthedChannel,
        scorecard_id: String,
    ) -> anyhow::Result<()> {
        let scorecard = ScorecardServiceClient::new(channel)
            .get_scorecard(pb::GetScorecardRequest { scorecard_id })
            .await
            .map_err(|status| rpc_failure("reading the scorecard", &status))?
            .into_inner()
            .scorecard
            .context("no scorecard")?;
        print(self.output.format, &scorecard, render_scorecard)
    }
}

impl SubmitArgs {
    /// A transcript is scored as it is submitted (SubmitTranscript).
    async fn submit_transcript(self) -> anyhow::Result<()> {
        // A transcript with a mistake is a bad value, as the server would say.
        let transcript = super::score::read_transcript_file(&self.file)
            .map_err(|error| failure(ExitReason::Usage, format!("{error:#}")))?
            .ok_or_else(|| {
                failure(
                    ExitReason::Usage,
                    format!(
                        "{}: not a transcript (a JSON object was expected)",
                        self.file.display()
                    ),
                )
            })?;
        let channel = self.client.connect().await?;
        let response = CallServiceClient::new(channel.clone())
            .submit_transcript(pb::SubmitTranscriptRequest {
                metadata: Some(self.metadata()),
                transcript: Some(crate::api::convert::transcript(&transcript, "")),
            })
            .await
            .map_err(|status| rpc_failure("transcript refused", &status))?
            .into_inner();
        announce(response.call.as_ref(), response.duplicate, "scored");
        if !self.wait {
            return print(self.output.format, &response, |r| {
                format!("{}\n", r.call.as_ref().map_or("", |c| c.call_id.as_str()))
            });
        }
        self.print_scorecard(channel, response.scorecard_id.clone())
            .await
    }
}

/// Tells the user on stderr what became of the submitted call.
fn announce(call: Option<&pb::Call>, duplicate: bool, fresh: &str) {
    let call_id = call.map_or("", |c| c.call_id.as_str());
    eprintln!(
        "call {call_id} {}",
        if duplicate {
            "(already submitted)"
        } else {
            fresh
        }
    );
}

/// `--started`: an RFC 3339 time.
fn parse_started(text: &str) -> Result<prost_types::Timestamp, String> {
    let time = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|error| format!("expected RFC 3339, like 2026-11-30T09:15:00+07:00: {error}"))?;
    Ok(prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

/// Shows WatchCall's progress until the call is done; returns its scorecard id.
async fn follow(
    calls: &mut CallServiceClient<super::client::AuthedChannel>,
    call_id: &str,
) -> anyhow::Result<String> {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(100)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos:>3}%")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut events = calls
        .watch_call(pb::WatchCallRequest {
            call_id: call_id.to_string(),
        })
        .await
        .map_err(|status| rpc_failure("watching the call", &status))?
        .into_inner();
    while let Some(event) = events
        .message()
        .await
        .map_err(|status| rpc_failure("watching the call", &status))?
    {
        let stage = pb::CallStage::try_from(event.stage).unwrap_or(pb::CallStage::Unspecified);
        bar.set_message(
            stage
                .as_str_name()
                .trim_start_matches("CALL_STAGE_")
                .to_lowercase(),
        );
        bar.set_position((event.progress * 100.0).round() as u64);
        match stage {
            pb::CallStage::Done => {
                bar.finish_and_clear();
                return Ok(event.scorecard_id);
            }
            pb::CallStage::Failed => {
                bar.abandon();
                anyhow::bail!("the call failed: {}", event.message);
            }
            _ => {}
        }
    }
    anyhow::bail!("the server ended the progress stream early")
}
