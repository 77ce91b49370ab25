//! The Whisper engine: one loaded model shared by a bounded pool of states.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters,
};

use super::language::{
    LanguageTokens, Verdict, choose_per_turn, read_language, segment_language, shows_indonesian,
    two_letter, verdict,
};
use super::pack::{Window, pack};
use super::pool::StatePool;
use super::schedule::{Decoded, Job, Schedule};
use super::{EngineConfig, Language, TranscribeError, TranscribeOptions, model, segments};
use crate::audio::vad::detect_speech;
use crate::audio::{DecodedCall, SAMPLE_RATE};
use crate::diarize::Diarizer;
use crate::speakers::{Attribution, assign_roles, split_by_voice};
use crate::transcript::{Segment, Speaker, Transcript};

/// Whisper's window: 30 s of audio.
const WHISPER_WINDOW: usize = 30 * SAMPLE_RATE as usize;
/// whisper.cpp ignores input shorter than one second, so short windows are
/// padded with silence to a little more than that.
const MIN_WINDOW: usize = SAMPLE_RATE as usize * 3 / 2;
/// Encoder positions per second of audio (1500 per 30 s).
const AUDIO_CTX_PER_S: usize = 50;

/// A loaded Whisper model and its pool of decoding states; `Send + Sync`,
/// meant to be loaded once and shared in an `Arc`.
pub struct Engine {
    // Owns the weights; the pooled states borrow them through whisper.cpp.
    _context: WhisperContext,
    pool: StatePool,
    config: EngineConfig,
    model_id: String,
    multilingual: bool,
    end_of_text: i32,
    /// The language tokens of a multilingual model, read per window.
    language_tokens: Option<LanguageTokens>,
    /// Splits mono recordings by voice, when the speaker encoder is there.
    diarizer: Option<Diarizer>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model_id", &self.model_id)
            .field("config", &self.config)
            .finish()
    }
}

impl Engine {
    /// Loads the model and creates `config.states` decoding states.
    pub fn load(config: &EngineConfig) -> Result<Self, TranscribeError> {
        if config.states == 0 || config.threads_per_state == 0 || config.states_per_call == 0 {
            return Err(TranscribeError::Config(
                "states, states_per_call and threads_per_state must be at least 1".to_string(),
            ));
        }
        if config.window_ms == 0 || config.window_ms > 30_000 {
            return Err(TranscribeError::Config(
                "window_ms must be within 1..=30000".to_string(),
            ));
        }
        let path = config.model_path.clone();
        if !path.is_file() {
            return Err(TranscribeError::ModelMissing { path });
        }
        // Route whisper.cpp's log lines to tracing (target whisper_rs) instead
        // of stderr.
        whisper_rs::install_logging_hooks();
        tracing::debug!(
            patch_level = super::patches::whisper_patch_level(),
            "whisper.cpp with callscore's patches"
        );
        #[cfg(feature = "openblas")]
        if let Some(choice) = super::blas_kernels::choice() {
            tracing::info!(
                detected = %choice.detected,
                chosen = %choice.chosen,
                "OpenBLAS had fallen back to SSE3 kernels on this CPU; it uses the CPU's own now"
            );
        }
        let load_error = |detail: String| TranscribeError::ModelLoad {
            path: path.clone(),
            detail,
        };
        let path_str = path
            .to_str()
            .ok_or_else(|| load_error("the path is not UTF-8".to_string()))?;
        let shape = model::ModelShape::read(&path).map_err(|e| load_error(e.to_string()))?;
        let mut params = WhisperContextParameters::default();
        params.flash_attn(config.flash_attn);
        if config.dtw && !config.flash_attn {
            params.dtw_parameters(DtwParameters {
                mode: dtw_mode(&shape),
                ..DtwParameters::default()
            });
        }
        let context = WhisperContext::new_with_params(path_str, params)
            .map_err(|e| load_error(e.to_string()))?;
        let states = (0..config.states)
            .map(|_| context.create_state())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| load_error(e.to_string()))?;
        let multilingual = context.is_multilingual();
        let size = context
            .model_type_readable_str_lossy()
            .map_or_else(|_| "unknown".to_string(), |s| s.into_owned());
        let model_id = format!(
            "whisper-{size}{}-{}",
            if multilingual { "" } else { ".en" },
            ftype_name(context.model_ftype())
        );
        let end_of_text = context.token_eot();
        let language_tokens = LanguageTokens::of(&context);
        let diarizer = load_diarizer(config)?;
        Ok(Self {
            _context: context,
            pool: StatePool::new(states),
            config: config.clone(),
            model_id,
            multilingual,
            end_of_text,
            language_tokens,
            diarizer,
        })
    }

    /// Whether mono recordings are split by voice.
    pub fn diarizes(&self) -> bool {
        self.diarizer.is_some()
    }

    /// Identifies the model, e.g. `whisper-tiny.en-f16`, for provenance.
    pub fn model_id(&self) -> String {
        self.model_id.clone()
    }

    /// Whether the model handles languages other than English.
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// The configuration the engine was loaded with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Transcribes a call, blocking: run it off the async runtime. Waits for
    /// a free decoding state when all are busy.
    pub fn transcribe(
        &self,
        call: &DecodedCall,
        options: &TranscribeOptions,
    ) -> Result<Transcript, TranscribeError> {
        if !self.multilingual && options.language == Language::Id {
            return Err(TranscribeError::LanguageUnsupported {
                model: self.model_id.clone(),
                language: options.language,
            });
        }
        // An English-only model has no language token to detect.
        let language = if self.multilingual {
            options.language
        } else {
            Language::En
        };
        let max_window = self.config.window_ms * SAMPLE_RATE as usize / 1000;
        let gap = self.config.gap_ms * SAMPLE_RATE as usize / 1000;
        let vad_started = Instant::now();
        let plans: Vec<_> = call
            .tracks
            .iter()
            .map(|track| {
                let _span = tracing::info_span!("vad", speaker = ?track.speaker).entered();
                let regions = detect_speech(&track.samples, &self.config.vad);
                (
                    track.speaker,
                    pack(&track.samples, &regions, max_window, gap),
                )
            })
            .collect();
        crate::pipeline::record_stage("vad", vad_started);
        let total: usize = plans
            .iter()
            .flat_map(|(_, windows)| windows.iter().map(|w| w.samples.len()))
            .sum();
        let report = |share: f32| {
            if let Some(progress) = &options.progress {
                progress(share.clamp(0.0, 1.0));
            }
        };
        report(0.0);

        // Per-window language reading only where there is a choice to make.
        let reading = match (language, &self.language_tokens) {
            (Language::Auto, Some(tokens)) => Some(tokens),
            _ => None,
        };
        let schedule = Schedule::new(&plans, language.code());
        let mut pooled = self
            .pool
            .acquire_up_to(self.config.states_per_call.min(schedule.most_parallel()));
        let whisper_started = Instant::now();
        let done = Mutex::new(0usize);
        let decode_window =
            |state: &mut whisper_rs::WhisperState, job: Job| -> Result<Decoded, TranscribeError> {
                let (speaker, windows) = &plans[job.track];
                let window = &windows[job.window];
                let _span = tracing::info_span!(
                    "whisper_window",
                    speaker = ?speaker,
                    window = job.window,
                    audio_ms = window.samples.len() as u64 * 1000 / SAMPLE_RATE as u64,
                )
                .entered();
                let samples = padded(window);
                let (decoded_in, mut placed) = self.decode_in_spoken_language(
                    state,
                    window,
                    &samples,
                    *speaker,
                    job.language,
                    reading,
                    &call.source,
                )?;
                if reading.is_some() {
                    for segment in &mut placed {
                        let window_language = segment.language.as_deref().and_then(two_letter);
                        segment.language =
                            segment_language(&segment.text, window_language).map(str::to_string);
                    }
                }
                // Windows finish on several threads: report under a lock, so
                // that the share reported never goes back.
                let mut finished = done.lock().unwrap_or_else(PoisonError::into_inner);
                *finished += window.samples.len();
                report(*finished as f32 / total.max(1) as f32);
                drop(finished);
                Ok(Decoded {
                    language: decoded_in,
                    segments: placed,
                })
            };
        let decoded = schedule.run(pooled.states(), &decode_window)?;
        let mut segments: Vec<Segment> = decoded.into_iter().flat_map(|d| d.segments).collect();
        report(1.0);
        crate::pipeline::record_stage("transcribe", whisper_started);
        segments.sort_by_key(|s| (s.start_ms, s.end_ms));
        let mut transcript = Transcript {
            language: main_language(&segments),
            segments,
            attribution: None,
        };
        if let (Some(diarizer), [track]) = (&self.diarizer, call.tracks.as_slice())
            && track.speaker == Speaker::Unknown
        {
            let _span = tracing::info_span!("diarize").entered();
            let started = Instant::now();
            let diarization = diarizer.diarize(&track.samples, self.config.vad.kind);
            transcript.segments = split_by_voice(transcript.segments, &diarization);
            transcript.attribution = Some(Attribution {
                voices: assign_roles(&mut transcript),
                ..Attribution::default()
            });
            crate::pipeline::record_stage("diarize", started);
        }
        Ok(transcript)
    }

    /// Decodes a window in `language` (Whisper detects it when `None`) and,
    /// when `reading` is given, reads the language it sounds like (English
    /// against Indonesian, see `language.rs`): a sure reading of the other
    /// language decodes it again in that one; an unsure one decodes it in
    /// both and keeps, turn by turn, the text that reads more like its own
    /// language. Returns the window's language and its placed segments.
    #[allow(clippy::too_many_arguments)]
    fn decode_in_spoken_language(
        &self,
        state: &mut whisper_rs::WhisperState,
        window: &Window,
        samples: &[f32],
        speaker: Speaker,
        language: Option<&'static str>,
        reading: Option<&LanguageTokens>,
        source_name: &str,
    ) -> Result<(Option<&'static str>, Vec<Segment>), TranscribeError> {
        let decoded_in = self.decode(state, samples, language, source_name)?;
        let raw = segments::read(state, self.end_of_text);
        let Some(tokens) = reading else {
            return Ok((
                decoded_in,
                segments::place(window, raw, speaker, decoded_in),
            ));
        };
        let heard = read_language(state, tokens, self.config.threads_per_state).map_err(|e| {
            TranscribeError::Whisper {
                source_name: source_name.to_string(),
                detail: e.to_string(),
            }
        })?;
        let verdict = verdict(decoded_in, heard);
        tracing::debug!(
            spoken = heard.code,
            confidence = heard.confidence,
            ?decoded_in,
            ?verdict,
            "window language"
        );
        let mut decode_in = |code: &'static str| -> Result<Vec<Segment>, TranscribeError> {
            self.decode(state, samples, Some(code), source_name)?;
            let raw = segments::read(state, self.end_of_text);
            Ok(segments::place(window, raw, speaker, Some(code)))
        };
        let mut english: Option<Vec<Segment>> = None;
        let mut indonesian: Option<Vec<Segment>> = None;
        match (verdict, decoded_in) {
            (Verdict::Keep, Some(code)) | (Verdict::Both, Some(code @ ("en" | "id"))) => {
                let placed = segments::place(window, raw, speaker, Some(code));
                if code == "en" {
                    english = Some(placed);
                } else {
                    indonesian = Some(placed);
                }
            }
            _ => {}
        }
        let wanted: &[&'static str] = match verdict {
            Verdict::Keep => &[],
            Verdict::Redecode("en") => &["en"],
            Verdict::Redecode(_) => &["id"],
            Verdict::Both => &["en", "id"],
        };
        for &code in wanted {
            let slot = if code == "en" {
                &mut english
            } else {
                &mut indonesian
            };
            if slot.is_none() {
                *slot = Some(decode_in(code)?);
            }
        }
        // Indonesian words showing through an English decode: some of its
        // turns were Indonesian, though the window as a whole sounded English.
        if indonesian.is_none() && english.as_deref().is_some_and(shows_indonesian) {
            indonesian = Some(decode_in("id")?);
        }
        Ok(match (english, indonesian) {
            (Some(english), Some(indonesian)) => (
                Some(heard.code),
                choose_per_turn(window, english, indonesian, heard.code),
            ),
            (Some(english), None) => (Some("en"), english),
            (None, Some(indonesian)) => (Some("id"), indonesian),
            (None, None) => (decoded_in, Vec::new()),
        })
    }

    /// Decodes one window in `language` (Whisper detects it when `None`) and
    /// returns the language it was decoded in.
    fn decode(
        &self,
        state: &mut whisper_rs::WhisperState,
        samples: &[f32],
        language: Option<&'static str>,
        source_name: &str,
    ) -> Result<Option<&'static str>, TranscribeError> {
        let params = self.params(language, samples.len());
        state
            .full(params, samples)
            .map_err(|e| TranscribeError::Whisper {
                source_name: source_name.to_string(),
                detail: e.to_string(),
            })?;
        Ok(language.or_else(|| whisper_rs::get_lang_str(state.full_lang_id_from_state())))
    }

    /// Whisper decoding parameters for one window (see the README's
    /// "Whisper parameters" for the reasoning behind each).
    fn params<'a>(&self, language: Option<&'a str>, samples: usize) -> FullParams<'a, 'static> {
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(i32::try_from(self.config.threads_per_state).unwrap_or(1));
        params.set_language(Some(language.unwrap_or("auto")));
        params.set_translate(false);
        // Windows hold unrelated turns: conditioning on earlier text only
        // spreads a hallucination from one window to the next.
        params.set_no_context(true);
        params.set_token_timestamps(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_temperature(0.0);
        params.set_temperature_inc(0.2);
        params.set_entropy_thold(2.4);
        params.set_logprob_thold(-1.0);
        params.set_no_speech_thold(0.6);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        if self.config.adaptive_audio_ctx && samples < WHISPER_WINDOW {
            params.set_audio_ctx(audio_ctx_for(samples));
        }
        params
    }
}

/// Smallest encoder context used (25.6 s). Much shorter contexts make tiny
/// models loop on short clips: on the 13 Asterisk test prompts, tiny.en's
/// WER was 0.025 at the full 1,500 positions, 0.034 with a floor of 768 and
/// 0.008 with this one (src/transcribe/README.md).
const MIN_AUDIO_CTX: usize = 1280;

/// Encoder context for a window: its length plus a second of margin, rounded
/// up to a multiple of 64 positions, at least [`MIN_AUDIO_CTX`].
fn audio_ctx_for(samples: usize) -> i32 {
    let seconds = samples.div_ceil(SAMPLE_RATE as usize) + 1;
    let ctx = ((seconds * AUDIO_CTX_PER_S).div_ceil(64) * 64).max(MIN_AUDIO_CTX);
    i32::try_from(ctx.min(1500)).unwrap_or(1500)
}

/// The speaker encoder, when configured and present: a missing file leaves
/// mono recordings unattributed (with a warning), a broken one is an error.
fn load_diarizer(config: &EngineConfig) -> Result<Option<Diarizer>, TranscribeError> {
    let Some(path) = config.speaker_encoder_path.as_ref() else {
        return Ok(None);
    };
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    if !path.is_file() {
        tracing::warn!(
            path = %path.display(),
            "no speaker encoder: mono recordings stay unattributed (scripts/provision-models.sh provisions it)"
        );
        return Ok(None);
    }
    Diarizer::load(path)
        .map(Some)
        .map_err(|error| TranscribeError::ModelLoad {
            path: path.clone(),
            detail: error.to_string(),
        })
}

/// The window's samples, padded with silence to whisper.cpp's minimum.
fn padded(window: &Window) -> std::borrow::Cow<'_, [f32]> {
    if window.samples.len() >= MIN_WINDOW {
        std::borrow::Cow::Borrowed(&window.samples)
    } else {
        let mut samples = window.samples.clone();
        samples.resize(MIN_WINDOW, 0.0);
        std::borrow::Cow::Owned(samples)
    }
}

/// The language spoken for the longest time, if any segment has one.
fn main_language(segments: &[crate::transcript::Segment]) -> Option<String> {
    let mut spoken: HashMap<&str, u64> = HashMap::new();
    for segment in segments {
        if let Some(language) = &segment.language {
            *spoken.entry(language).or_default() +=
                segment.end_ms.saturating_sub(segment.start_ms) + 1;
        }
    }
    spoken
        .into_iter()
        .max_by_key(|(_, ms)| *ms)
        .map(|(language, _)| language.to_string())
}

/// The alignment heads of the standard Whisper sizes; other shapes use the
/// top half of the decoder layers.
fn dtw_mode(shape: &model::ModelShape) -> DtwMode<'static> {
    let english = shape.english_only();
    let preset = match (shape.n_audio_layer, shape.n_audio_state) {
        (4, 384) if english => Some(DtwModelPreset::TinyEn),
        (4, 384) => Some(DtwModelPreset::Tiny),
        (6, 512) if english => Some(DtwModelPreset::BaseEn),
        (6, 512) => Some(DtwModelPreset::Base),
        (12, 768) if english => Some(DtwModelPreset::SmallEn),
        (12, 768) => Some(DtwModelPreset::Small),
        (24, 1024) if english => Some(DtwModelPreset::MediumEn),
        (24, 1024) => Some(DtwModelPreset::Medium),
        (32, 1280) if shape.n_text_layer == 4 => Some(DtwModelPreset::LargeV3Turbo),
        (32, 1280) if shape.n_mels == 128 => Some(DtwModelPreset::LargeV3),
        (32, 1280) => Some(DtwModelPreset::LargeV2),
        _ => None,
    };
    match preset {
        Some(model_preset) => DtwMode::ModelPreset { model_preset },
        None => DtwMode::TopMost {
            n_top: (shape.n_text_layer / 2).max(1),
        },
    }
}

/// Human name of a ggml file type.
fn ftype_name(ftype: i32) -> String {
    match ftype {
        0 => "f32".to_string(),
        1 => "f16".to_string(),
        2 => "q4_0".to_string(),
        3 => "q4_1".to_string(),
        7 => "q8_0".to_string(),
        8 => "q5_0".to_string(),
        9 => "q5_1".to_string(),
        other => format!("ftype{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_covers_the_window_with_margin() {
        // Short windows keep the floor.
        assert_eq!(audio_ctx_for(SAMPLE_RATE as usize * 11), 1280);
        assert_eq!(audio_ctx_for(SAMPLE_RATE as usize * 20), 1280);
        // A packed window of 26 s: 27 s of positions, rounded up to 64.
        assert_eq!(audio_ctx_for(SAMPLE_RATE as usize * 26), 1408);
        assert_eq!(audio_ctx_for(SAMPLE_RATE as usize * 26 + 1), 1408);
        assert_eq!(audio_ctx_for(SAMPLE_RATE as usize * 29), 1500);
    }
}
