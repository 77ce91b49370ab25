//! `callscore score FILE [--rubric FILE] [--format json|text]`: scores a call
//! and prints a scorecard a reviewer can trace to quotes and timestamps.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::rubric::{default_rubric_source, parse_rubric};
use crate::scoring::agent_hints::settle_agent_with_rubric;
use crate::scoring::{CompiledRubric, Outcome, Scorecard, score_transcript};
use crate::semantic::Encoder;
use crate::transcript::Transcript;

use super::transcribe::AudioArgs;

/// The model id recorded when the input is already a transcript.
pub const TRANSCRIPT_INPUT_MODEL_ID: &str = "transcript-json";

/// How the scorecard is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The scorecard as JSON, as the store keeps it.
    Json,
    /// A reviewer's summary: scores, and each failed check with quote and time.
    Text,
}

/// Arguments of `callscore score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A recorded call (WAV, MP3, FLAC, Ogg Vorbis, Opus in Ogg or WebM), transcribed first, or a
    /// transcript in the JSON exchange format (what `callscore transcribe
    /// --format json` writes).
    file: PathBuf,
    /// A rubric file (YAML or JSON); the built-in default rubric when absent.
    #[arg(long)]
    rubric: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// How to transcribe when FILE is audio (ignored for a transcript).
    #[command(flatten)]
    audio: AudioArgs,
    /// Score without the sentence encoder even when it is installed
    /// (semantic checks then do not apply; graded checks use cues alone).
    #[arg(long)]
    without_encoder: bool,
}

impl ScoreArgs {
    /// Runs `callscore score`.
    pub fn run(self) -> anyhow::Result<()> {
        let compiled = load_rubric(self.rubric.as_deref(), load_encoder(self.without_encoder))?;
        let (transcript, model_id) = match read_transcript_file(&self.file)? {
            Some(transcript) => (transcript, TRANSCRIPT_INPUT_MODEL_ID.to_owned()),
            None => {
                let done = self.audio.transcribe(&self.file)?;
                (done.transcript, done.model_id)
            }
        };
        // A tie between a mono call's voices is settled by the rubric's agent phrases.
        let transcript = settle_agent_with_rubric(&compiled, &transcript).unwrap_or(transcript);
        let card = score_transcript(&compiled, &transcript, &model_id);
        match self.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&card)?),
            Format::Text => print!("{}", render_text(&card)),
        }
        Ok(())
    }
}

/// The installed sentence encoder, unless `without` or it is not installed
/// (a notice on stderr says why, once).
pub fn load_encoder(without: bool) -> Option<Arc<Encoder>> {
    if without {
        return None;
    }
    let dir = crate::semantic::encoder::default_dir();
    match Encoder::open(&dir) {
        Ok(encoder) => Some(Arc::new(encoder)),
        Err(error) => {
            eprintln!("note: scoring without the sentence encoder: {error}");
            None
        }
    }
}

/// Loads and compiles a rubric file, or the default rubric, with the
/// sentence encoder when one is given.
pub fn load_rubric(
    path: Option<&Path>,
    encoder: Option<Arc<Encoder>>,
) -> anyhow::Result<CompiledRubric> {
    let (name, source) = match path {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read rubric {}", p.display()))?,
        ),
        None => (
            "default rubric".to_owned(),
            default_rubric_source().to_owned(),
        ),
    };
    let rubric = parse_rubric(&source).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("{name}:{e}")).collect();
        anyhow::anyhow!("invalid rubric:\n{}", lines.join("\n"))
    })?;
    CompiledRubric::compile_with(&rubric, encoder).with_context(|| format!("cannot compile {name}"))
}

/// Reads a transcript in the JSON exchange format, with errors naming the
/// file and the field; `None` when the file is not JSON text (audio).
pub fn read_transcript_file(path: &Path) -> anyhow::Result<Option<Transcript>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // A transcript is a JSON object; anything else is taken for audio and
    // the decoder says what is wrong with it.
    let looks_like_json = std::str::from_utf8(&bytes)
        .ok()
        .is_some_and(|text| text.trim_start().starts_with('{'));
    if !looks_like_json {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&bytes);
    Transcript::from_exchange_json(&text)
        .map(|mut transcript| {
            crate::speakers::name_unnamed_voices(&mut transcript);
            Some(transcript)
        })
        .map_err(|e| {
            if e.field.is_empty() {
                anyhow::anyhow!("{}: {}", path.display(), e.message)
            } else {
                anyhow::anyhow!("{}: field `{}`: {}", path.display(), e.field, e.message)
            }
        })
}

fn clock(ms: u64) -> String {
    format!(
        "{:02}:{:02}.{}",
        ms / 60_000,
        (ms / 1000) % 60,
        (ms % 1000) / 100
    )
}

fn score(s: Option<f64>) -> String {
    s.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"))
}

/// Renders a scorecard for a reviewer.
pub fn render_text(card: &Scorecard) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Scorecard — rubric {} v{} (sha256 {}), model {}",
        card.rubric_id,
        card.rubric_version,
        &card.rubric_hash[..card.rubric_hash.len().min(12)],
        card.model_id
    );
    let _ = writeln!(out, "Overall: {}", score(card.overall_score));
    if !card.critical_failures.is_empty() {
        let list: Vec<String> = card
            .critical_failures
            .iter()
            .map(|c| format!("{}.{}", c.criterion_id, c.check_id))
            .collect();
        let _ = writeln!(
            out,
            "CRITICAL FAILURE (overall set to 0): {}",
            list.join(", ")
        );
    }
    for c in &card.criteria {
        let _ = writeln!(
            out,
            "\n{} [{}] — {} ({} / {} points, weight {})",
            c.name,
            c.criterion_id,
            score(c.score),
            c.earned,
            c.possible,
            c.weight
        );
        for check in &c.checks {
            let tag = match check.outcome {
                Outcome::Pass => "PASS",
                Outcome::Fail if check.critical => "FAIL!",
                Outcome::Fail => "FAIL",
                Outcome::NotApplicable => "N/A ",
            };
            let _ = writeln!(
                out,
                "  {tag:5} {:<32} {}/{}  {}",
                check.check_id, check.earned, check.possible, check.description
            );
            let _ = writeln!(out, "        why: {}", check.reason);
            let shown = if check.outcome == Outcome::Fail || check.fraction.is_some() {
                6
            } else {
                1
            };
            for e in check.evidence.iter().take(shown) {
                let turn = e
                    .turn_score
                    .map(|s| format!(" (turn {s:.2})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "        @ {}–{} #{} {}{turn}: \"{}\"",
                    clock(e.start_ms),
                    clock(e.end_ms),
                    e.segment_index,
                    e.speaker.as_str(),
                    e.quote
                );
                for m in &e.markers {
                    let _ = writeln!(
                        out,
                        "            {:+.2} {} @ {}: \"{}\"",
                        m.weight,
                        m.kind,
                        clock(m.start_ms),
                        m.quote
                    );
                }
            }
        }
    }
    let m = &card.metrics;
    let _ = writeln!(
        out,
        "\nMetrics: duration {}, agent talk ratio {}, longest silence {:.1} s, holds {} ({} without etiquette), interruptions {}, agent wpm {}, time to greeting {}, customer sentiment {} → {}",
        clock(m.duration_ms),
        m.agent_talk_ratio
            .map_or("n/a".to_owned(), |v| format!("{:.0}%", v * 100.0)),
        m.longest_silence_ms as f64 / 1000.0,
        m.hold_count,
        m.holds_without_etiquette,
        m.interruptions.map_or("n/a".to_owned(), |v| v.to_string()),
        m.agent_words_per_minute
            .map_or("n/a".to_owned(), |v| format!("{v:.0}")),
        m.time_to_greeting_ms
            .map_or("none".to_owned(), |v| format!("{:.1} s", v as f64 / 1000.0)),
        m.customer_sentiment_start
            .map_or("n/a".to_owned(), |v| format!("{v:+.2}")),
        m.customer_sentiment_end
            .map_or("n/a".to_owned(), |v| format!("{v:+.2}")),
    );
    out
}
