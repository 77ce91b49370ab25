//! How the Whisper engine is loaded and run; kept apart from the engine so
//! that builds without whisper.cpp (the fuzz targets) still read it.

use std::path::PathBuf;

use super::model;
use crate::audio::vad::VadConfig;

/// How to load and run the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// The ggml model file.
    pub model_path: PathBuf,
    /// CPU threads each decoding state uses.
    pub threads_per_state: usize,
    /// Decoding states, i.e. calls transcribed at the same time.
    pub states: usize,
    /// Speech detection used to skip silence.
    pub vad: VadConfig,
    /// Longest packed window (ms), at most 30 000.
    pub window_ms: usize,
    /// Silence between packed regions (ms), so Whisper sees the turn boundary.
    pub gap_ms: usize,
    /// Shrink the encoder context for windows shorter than 30 s. Faster on
    /// short calls; off by default because tiny models loop more with it.
    pub adaptive_audio_ctx: bool,
    /// Use whisper.cpp's flash attention kernels (disables DTW alignment).
    pub flash_attn: bool,
    /// Time tokens by DTW over the alignment heads instead of Whisper's own
    /// timestamps. Off by default: on the benchmark call it misplaced whole
    /// sentences between packed regions (WER 0.10 against 0.025), while
    /// Whisper's timestamps plus snapping to sentence ends placed every turn.
    pub dtw: bool,
    /// The speaker encoder that splits mono recordings by voice
    /// (`speaker-ge2e.safetensors`, provisioned with the models); `None`, or
    /// a path with no file, leaves mono recordings unattributed.
    pub speaker_encoder_path: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            model_path: model::model_path(model::DEFAULT_MODEL),
            threads_per_state: std::thread::available_parallelism().map_or(2, |n| n.get()),
            states: 1,
            vad: VadConfig::default(),
            window_ms: 28_000,
            gap_ms: 300,
            adaptive_audio_ctx: false,
            flash_attn: false,
            dtw: false,
            speaker_encoder_path: Some(model::model_path(model::SPEAKER_ENCODER)),
        }
    }
}
