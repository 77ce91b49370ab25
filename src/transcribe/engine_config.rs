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
    /// CPU threads each decoding state uses: 1 by default, so that no ggml
    /// thread spins at a barrier waiting for another (see `schedule.rs`).
    pub threads_per_state: usize,
    /// Decoding states in the pool, shared by the calls being transcribed.
    pub states: usize,
    /// Most states one call decodes on at once (its channels and windows in
    /// parallel, one thread each): the CPU threads a call may use.
    pub states_per_call: usize,
    /// Speech detection used to skip silence.
    pub vad: VadConfig,
    /// Longest packed window (ms), at most 30 000.
    pub window_ms: usize,
    /// Silence between packed regions (ms), so Whisper sees the turn boundary.
    pub gap_ms: usize,
    /// Shrink the encoder context for windows shorter than 30 s (to the
    /// window plus a second, at least 1,280 positions). 6-29 % less CPU; off
    /// by default because it cost a little accuracy on held-out speech
    /// (src/transcribe/README.md, "Encoder sized to the window").
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

/// The CPU cores this process may use, at most 8: each state holds its own
/// buffers, and a call rarely has more windows to decode at once.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(8))
}

impl EngineConfig {
    /// Gives each call `threads` single-threaded decoding states, for
    /// `calls` calls transcribed at once. Zero of either is left for
    /// `Engine::load` to refuse, naming the setting.
    pub fn with_threads(mut self, threads: usize, calls: usize) -> Self {
        self.threads_per_state = 1;
        self.states_per_call = threads;
        self.states = threads.saturating_mul(calls);
        self
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            model_path: model::model_path(model::DEFAULT_MODEL),
            threads_per_state: 1,
            states: cores(),
            states_per_call: cores(),
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
