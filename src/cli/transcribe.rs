//! `callscore transcribe`: print a speaker-attributed, timed transcript of a call.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

use crate::audio::{AudioLimits, ChannelLayout, decode_call};
use crate::transcribe::{Engine, EngineConfig, Language, TranscribeOptions, model};
use crate::transcript::{Speaker, Transcript};

/// How to transcribe an audio file; shared by `transcribe` and `score`.
#[derive(Debug, clap::Args)]
pub struct AudioArgs {
    /// Language of the call; `id` needs a multilingual model.
    #[arg(long, value_enum, default_value_t = LanguageArg::Auto)]
    language: LanguageArg,
    /// Which channel holds whom.
    #[arg(long, value_enum, default_value_t = ChannelsArg::Mono)]
    channels: ChannelsArg,
    /// ggml model file; defaults to tiny.en, or base for `--language id|auto`
    /// when it is present, in $CALLSCORE_MODEL_DIR or ./models.
    #[arg(long)]
    model: Option<PathBuf>,
    /// CPU threads for Whisper.
    #[arg(long)]
    threads: Option<usize>,
    /// Longest call accepted, in seconds.
    #[arg(long, default_value_t = AudioLimits::default().max_duration_s)]
    max_duration: f64,
}

/// Arguments of `callscore transcribe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The recorded call (WAV, MP3, FLAC, Ogg Vorbis, Opus in Ogg or WebM).
    file: PathBuf,
    #[command(flatten)]
    audio: AudioArgs,
    /// Output format; `json` is the exchange format that `callscore score`
    /// and `SubmitTranscript` read.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Shrink Whisper's encoder context for windows shorter than 30 s (faster
    /// on short calls; see the README for its accuracy).
    #[arg(long)]
    adaptive_audio_ctx: bool,
    /// Use whisper.cpp's fused flash-attention kernels (tuning; see the README).
    #[arg(long)]
    flash_attn: bool,
    /// Time tokens by DTW alignment instead of Whisper's timestamps (tuning).
    #[arg(long)]
    dtw: bool,
    /// Silence between packed speech regions, in ms (tuning).
    #[arg(long)]
    gap_ms: Option<usize>,
    /// Print decode, model-load and transcription times to stderr (for benchmarks).
    #[arg(long)]
    timings: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LanguageArg {
    Auto,
    En,
    Id,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ChannelsArg {
    /// One mixed channel: split by voice, the agent found among the voices
    /// (docs/diarization.md).
    Mono,
    /// Stereo, the agent on the left channel.
    AgentLeft,
    /// Stereo, the agent on the right channel.
    AgentRight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Srt,
}

/// Engine settings used only for tuning experiments.
#[derive(Debug, Default, Clone, Copy)]
struct Tuning {
    adaptive_audio_ctx: bool,
    flash_attn: bool,
    dtw: bool,
    gap_ms: Option<usize>,
}

/// A transcribed file and what it cost.
pub struct Transcribed {
    /// The transcript.
    pub transcript: Transcript,
    /// The model that produced it.
    pub model_id: String,
    /// Length of the audio, seconds.
    audio_s: f64,
    /// Seconds spent decoding, loading the model, transcribing.
    decode_s: f64,
    load_s: f64,
    transcribe_s: f64,
}

impl AudioArgs {
    /// Decodes and transcribes one file, with a progress bar on a terminal.
    pub fn transcribe(&self, file: &Path) -> anyhow::Result<Transcribed> {
        transcribe_file(file, self, Tuning::default())
    }
}

fn transcribe_file(file: &Path, args: &AudioArgs, tuning: Tuning) -> anyhow::Result<Transcribed> {
    let language = match args.language {
        LanguageArg::Auto => Language::Auto,
        LanguageArg::En => Language::En,
        LanguageArg::Id => Language::Id,
    };
    let layout = match args.channels {
        ChannelsArg::Mono => ChannelLayout::Mono,
        ChannelsArg::AgentLeft => ChannelLayout::AgentLeft,
        ChannelsArg::AgentRight => ChannelLayout::AgentRight,
    };
    let model_path = args
        .model
        .clone()
        .unwrap_or_else(|| default_model(language));
    let mut config = EngineConfig {
        model_path,
        ..EngineConfig::default()
    };
    config.adaptive_audio_ctx = tuning.adaptive_audio_ctx;
    config.flash_attn = tuning.flash_attn;
    config.dtw = tuning.dtw;
    if let Some(gap_ms) = tuning.gap_ms {
        config.gap_ms = gap_ms;
    }
    if let Some(threads) = args.threads {
        anyhow::ensure!(threads >= 1, "--threads must be at least 1 (got 0)");
        config = config.with_threads(threads, 1);
    }
    let limits = AudioLimits {
        max_duration_s: args.max_duration,
    };
    let started = Instant::now();
    let call = decode_call(file, layout, &limits)?;
    let decoded = Instant::now();
    let engine = Engine::load(&config)?;
    let loaded = Instant::now();

    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(1000);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} transcribing [{bar:40}] {percent:>3}% {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    });
    let options = TranscribeOptions {
        language,
        progress: bar.clone().map(|bar| {
            Arc::new(move |share: f32| bar.set_position((share * 1000.0) as u64))
                as crate::transcribe::ProgressFn
        }),
    };
    let transcript = engine
        .transcribe(&call, &options)
        .with_context(|| format!("transcribing {}", file.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Transcribed {
        transcript,
        model_id: engine.model_id(),
        audio_s: call.duration_ms() as f64 / 1000.0,
        decode_s: (decoded - started).as_secs_f64(),
        load_s: (loaded - decoded).as_secs_f64(),
        transcribe_s: loaded.elapsed().as_secs_f64(),
    })
}

/// Decodes, transcribes and prints the call.
pub fn run(args: Args) -> anyhow::Result<()> {
    let tuning = Tuning {
        adaptive_audio_ctx: args.adaptive_audio_ctx,
        flash_attn: args.flash_attn,
        dtw: args.dtw,
        gap_ms: args.gap_ms,
    };
    let done = transcribe_file(&args.file, &args.audio, tuning)?;
    if args.timings {
        eprintln!(
            "timings: audio_s={:.3} decode_s={:.3} load_s={:.3} transcribe_s={:.3} model={}",
            done.audio_s, done.decode_s, done.load_s, done.transcribe_s, done.model_id
        );
    }
    let transcript = &done.transcript;
    let rendered = match args.format {
        Format::Text => render_text(transcript),
        Format::Json => serde_json::to_string_pretty(&transcript.to_exchange_json())? + "\n",
        Format::Srt => render_srt(transcript),
    };
    print!("{rendered}");
    Ok(())
}

/// tiny.en for English; the multilingual model for other languages when it
/// has been provisioned.
fn default_model(language: Language) -> PathBuf {
    let multilingual = model::model_path(model::MULTILINGUAL_MODEL);
    match language {
        Language::En => model::model_path(model::DEFAULT_MODEL),
        Language::Id => multilingual,
        Language::Auto if multilingual.is_file() => multilingual,
        Language::Auto => model::model_path(model::DEFAULT_MODEL),
    }
}

/// Who spoke a segment: agent, customer, a diarized voice that is neither
/// ("voice 3"), or "speaker" when nothing is known.
fn speaker_name(segment: &crate::transcript::Segment) -> String {
    match (segment.speaker, segment.voice) {
        (Speaker::Agent, _) => "agent".to_string(),
        (Speaker::Customer, _) => "customer".to_string(),
        (Speaker::Unknown, Some(voice)) => format!("voice {voice}"),
        (Speaker::Unknown, None) => "speaker".to_string(),
    }
}

/// `[mm:ss.mmm --> mm:ss.mmm] speaker: text`, one line per segment.
fn render_text(transcript: &Transcript) -> String {
    let clock = |ms: u64| format!("{:02}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000);
    transcript
        .segments
        .iter()
        .map(|s| {
            format!(
                "[{} --> {}] {}: {}\n",
                clock(s.start_ms),
                clock(s.end_ms),
                speaker_name(s),
                s.text
            )
        })
        .collect()
}

/// SubRip cues with the speaker as a prefix.
fn render_srt(transcript: &Transcript) -> String {
    let clock = |ms: u64| {
        format!(
            "{:02}:{:02}:{:02},{:03}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    };
    transcript
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "{}\n{} --> {}\n{}: {}\n\n",
                i + 1,
                clock(s.start_ms),
                clock(s.end_ms),
                speaker_name(s).to_uppercase(),
                s.text
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Segment;

    fn transcript() -> Transcript {
        Transcript {
            language: Some("en".to_string()),
            segments: vec![Segment {
                speaker: Speaker::Agent,
                start_ms: 61_250,
                end_ms: 3_723_004,
                text: "Hello.".to_string(),
                language: Some("en".to_string()),
                confidence: Some(0.9),
                words: Vec::new(),
                voice: None,
            }],
            attribution: None,
        }
    }

    #[test]
    fn renders_text_and_srt_clocks() {
        assert_eq!(
            render_text(&transcript()),
            "[01:01.250 --> 62:03.004] agent: Hello.\n"
        );
        assert_eq!(
            render_srt(&transcript()),
            "1\n00:01:01,250 --> 01:02:03,004\nAGENT: Hello.\n\n"
        );
    }
}
