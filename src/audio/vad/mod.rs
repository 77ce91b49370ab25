//! Voice activity detection: where a 16 kHz track has speech.
//!
//! Two detectors share one frame size and one post-processing step: WebRTC's
//! GMM detector (via the `webrtc-vad` crate) and an adaptive energy detector.
//! `tests/audio_vad.rs` compares them against the pyannote phone call's
//! who-spoke-when reference.

mod energy;
mod regions;
mod webrtc;

use super::SAMPLE_RATE;

/// Frame length of both detectors: 30 ms, one of WebRTC's allowed sizes.
pub const FRAME_MS: usize = 30;
/// Samples per frame at 16 kHz.
pub const FRAME: usize = SAMPLE_RATE as usize * FRAME_MS / 1000;

/// A stretch of speech, in samples at 16 kHz, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechRegion {
    /// First sample.
    pub start: usize,
    /// One past the last sample.
    pub end: usize,
}

impl SpeechRegion {
    /// Number of samples in the region.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the region holds no samples.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Which frame classifier to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VadKind {
    /// WebRTC's GMM detector in its "aggressive" mode.
    #[default]
    WebRtc,
    /// Adaptive energy threshold above the track's noise floor.
    Energy,
}

/// Detector choice and the post-processing that turns frames into regions.
#[derive(Debug, Clone, PartialEq)]
pub struct VadConfig {
    /// Frame classifier.
    pub kind: VadKind,
    /// Pauses shorter than this stay inside one region (ms).
    pub min_silence_ms: usize,
    /// Regions shorter than this are dropped as clicks or breaths (ms).
    pub min_speech_ms: usize,
    /// Padding added on both sides so word onsets and tails are kept (ms).
    pub pad_ms: usize,
    /// Longer regions are split at their quietest frame (ms); must fit a Whisper window.
    pub max_region_ms: usize,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            kind: VadKind::default(),
            min_silence_ms: 500,
            min_speech_ms: 240,
            pad_ms: 200,
            max_region_ms: 20_000,
        }
    }
}

/// Per-frame speech decisions for a track.
pub fn classify_frames(samples: &[f32], kind: VadKind) -> Vec<bool> {
    match kind {
        VadKind::WebRtc => webrtc::classify(samples),
        VadKind::Energy => energy::classify(samples),
    }
}

/// Speech regions of a 16 kHz track, in time order, not overlapping.
pub fn detect_speech(samples: &[f32], config: &VadConfig) -> Vec<SpeechRegion> {
    let frames = classify_frames(samples, config.kind);
    regions::from_frames(&frames, samples, config)
}
