//! Who spoke when on a mono recording (speaker diarization).
//!
//! 1. Speech frames come from the same voice-activity regions that
//!    transcription uses.
//! 2. Windows of 1.5 s every 0.75 s with at least half speech are embedded
//!    with the GE2E speaker encoder ([`encoder`]).
//! 3. The embeddings are grouped into voices by spectral clustering, which
//!    also decides how many voices there are ([`cluster`]).
//! 4. Every 10 ms speech frame takes the voice nearest to the weighted mean
//!    of the windows that cover it (a window weighs most at its centre), and
//!    runs of one voice become turns.
//!
//! Measured against reference speaker labels in `docs/diarization.md`.

pub mod cluster;
pub mod encoder;
pub mod error_rate;
pub mod features;

use std::path::Path;

use crate::audio::vad::{VadConfig, VadKind, detect_speech};

pub use encoder::{EncoderError, SpeakerEncoder};
use features::{HOP, SAMPLE_RATE};

/// Window length, in 10 ms frames (1.5 s).
const WINDOW_FRAMES: usize = 150;
/// Hop between windows, in frames (0.75 s).
const HOP_FRAMES: usize = 75;
/// Smallest share of speech frames a window needs to be embedded.
const MIN_SPEECH_SHARE: f32 = 0.5;
/// Pauses shorter than this stay inside a speech stretch (ms): finer than
/// transcription's regions, which keep pauses so Whisper hears whole
/// sentences, but a pause between turns must stay out of every voice.
const MIN_PAUSE_MS: usize = 300;
/// Shorter bursts of sound are not speech (ms).
const MIN_SPEECH_MS: usize = 200;

/// Most voices told apart on one recording (agent, customer, an IVR
/// prompt, a second agent after a transfer).
pub const MOST_VOICES: usize = 4;
/// Milliseconds per frame.
const FRAME_MS: u64 = (HOP * 1000 / SAMPLE_RATE) as u64;

/// A stretch of speech by one voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceTurn {
    /// Start, ms from the start of the track.
    pub start_ms: u64,
    /// End, ms.
    pub end_ms: u64,
    /// The voice, numbered from 0 in order of first appearance.
    pub voice: usize,
}

/// The voices of a recording.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diarization {
    /// Turns in time order, not overlapping.
    pub turns: Vec<VoiceTurn>,
    /// How many voices were told apart.
    pub voices: usize,
}

impl Diarization {
    /// The voice speaking most of `start_ms..end_ms`, if any speaks in it.
    pub fn voice_during(&self, start_ms: u64, end_ms: u64) -> Option<usize> {
        let mut talk = [0u64; MOST_VOICES];
        for turn in &self.turns {
            let overlap = turn
                .end_ms
                .min(end_ms)
                .saturating_sub(turn.start_ms.max(start_ms));
            if let Some(slot) = talk.get_mut(turn.voice) {
                *slot += overlap;
            }
        }
        // A point in time (a word of zero length) takes the turn around it.
        if talk.iter().all(|&t| t == 0) {
            return self
                .turns
                .iter()
                .find(|t| t.start_ms <= start_ms && start_ms < t.end_ms)
                .map(|t| t.voice);
        }
        (0..MOST_VOICES)
            .filter(|&v| talk[v] > 0)
            .max_by_key(|&v| (talk[v], std::cmp::Reverse(v)))
    }
}

impl Diarization {
    /// The voice of the turn closest in time to `start_ms..end_ms`.
    pub fn nearest_voice(&self, start_ms: u64, end_ms: u64) -> Option<usize> {
        let distance = |t: &VoiceTurn| {
            if t.end_ms <= start_ms {
                start_ms - t.end_ms
            } else {
                t.start_ms.saturating_sub(end_ms)
            }
        };
        self.turns
            .iter()
            .min_by_key(|t| distance(t))
            .map(|t| t.voice)
    }
}

/// The diarizer: the speaker encoder, loaded once.
#[derive(Debug)]
pub struct Diarizer {
    encoder: SpeakerEncoder,
}

impl Diarizer {
    /// Loads the speaker encoder's weights.
    pub fn load(path: &Path) -> Result<Self, EncoderError> {
        Ok(Diarizer {
            encoder: SpeakerEncoder::load(path)?,
        })
    }

    /// The voices of a 16 kHz track, speech found by the `vad` detector.
    pub fn diarize(&self, samples: &[f32], vad: VadKind) -> Diarization {
        let speech = detect_speech(
            samples,
            &VadConfig {
                kind: vad,
                min_silence_ms: MIN_PAUSE_MS,
                min_speech_ms: MIN_SPEECH_MS,
                pad_ms: 0,
                // Longer stretches are cut, but cutting changes nothing here.
                max_region_ms: 3_600_000,
            },
        );
        let mel = features::mel_frames(samples);
        let frames = mel.len();
        let mut is_speech = vec![false; frames];
        for region in &speech {
            let from = region.start / HOP;
            let to = region.end.div_ceil(HOP).min(frames);
            is_speech[from.min(to)..to]
                .iter_mut()
                .for_each(|s| *s = true);
        }
        let starts: Vec<usize> = (0..frames.saturating_sub(WINDOW_FRAMES) + HOP_FRAMES)
            .step_by(HOP_FRAMES)
            .filter(|&s| {
                let window = &is_speech[s.min(frames)..(s + WINDOW_FRAMES).min(frames)];
                let spoken = window.iter().filter(|&&s| s).count();
                spoken as f32 >= MIN_SPEECH_SHARE * WINDOW_FRAMES as f32
            })
            .collect();
        if starts.is_empty() {
            return Diarization::default();
        }
        let embeddings = self.encoder.embed(&mel, &starts, WINDOW_FRAMES);
        let labels = cluster::speakers(&embeddings, MOST_VOICES);
        let voices = labels.iter().max().map_or(0, |m| m + 1);
        let refs: Vec<&[f32]> = embeddings.iter().map(Vec::as_slice).collect();
        let centroids = cluster::centroids(&refs, &labels, voices);
        let frame_voices = label_frames(&is_speech, &starts, &embeddings, &centroids);
        Diarization {
            turns: turns_of(&frame_voices),
            voices,
        }
    }
}

/// The voice of each speech frame (`None` for silence): the centroid nearest
/// to the triangular-weighted mean of the windows covering the frame, or to
/// the nearest window's embedding where none covers it.
///
/// The dot product is linear, so the weighted mean's similarity to a
/// centroid is the weighted mean of the windows' similarities: a frame keeps
/// one number per voice, not a 256-dimensional sum (two hours of speech
/// would otherwise hold 700 MB).
fn label_frames(
    is_speech: &[bool],
    starts: &[usize],
    embeddings: &[Vec<f32>],
    centroids: &[Vec<f32>],
) -> Vec<Option<usize>> {
    let voices = centroids.len();
    let frames = is_speech.len();
    let mut scores = vec![0f32; frames * voices];
    let mut weights = vec![0f32; frames];
    let half = WINDOW_FRAMES as f32 / 2.0;
    for (&start, embedding) in starts.iter().zip(embeddings) {
        let similarities: Vec<f32> = centroids
            .iter()
            .map(|c| cluster::similarity(c, embedding))
            .collect();
        for offset in 0..WINDOW_FRAMES.min(frames.saturating_sub(start)) {
            let frame = start + offset;
            let weight = 1.0 - ((offset as f32 + 0.5) - half).abs() / half;
            weights[frame] += weight;
            scores[frame * voices..(frame + 1) * voices]
                .iter_mut()
                .zip(&similarities)
                .for_each(|(score, similarity)| *score += weight * similarity);
        }
    }
    let best = |row: &[f32]| {
        (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap_or(0)
    };
    (0..frames)
        .map(|frame| {
            if !is_speech[frame] {
                return None;
            }
            if weights[frame] > 0.0 {
                return Some(best(&scores[frame * voices..(frame + 1) * voices]));
            }
            // The window whose centre is nearest (starts are in order).
            let centre = |w: usize| (starts[w] + WINDOW_FRAMES / 2).abs_diff(frame);
            let after = starts.partition_point(|&s| s + WINDOW_FRAMES / 2 < frame);
            let closest = [after.checked_sub(1), Some(after)]
                .into_iter()
                .flatten()
                .filter(|&w| w < starts.len())
                .min_by_key(|&w| centre(w))?;
            Some(cluster::nearest(centroids, &embeddings[closest]))
        })
        .collect()
}

/// Runs of one voice as turns.
fn turns_of(frame_voices: &[Option<usize>]) -> Vec<VoiceTurn> {
    let mut turns: Vec<VoiceTurn> = Vec::new();
    for (frame, voice) in frame_voices.iter().enumerate() {
        let Some(voice) = *voice else { continue };
        let (start_ms, end_ms) = (frame as u64 * FRAME_MS, (frame as u64 + 1) * FRAME_MS);
        match turns.last_mut() {
            Some(last) if last.voice == voice && last.end_ms == start_ms => last.end_ms = end_ms,
            _ => turns.push(VoiceTurn {
                start_ms,
                end_ms,
                voice,
            }),
        }
    }
    turns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_turns() {
        let frames = [Some(0), Some(0), None, Some(1), Some(1), Some(0)];
        let turns = turns_of(&frames);
        assert_eq!(
            turns,
            vec![
                VoiceTurn {
                    start_ms: 0,
                    end_ms: 20,
                    voice: 0
                },
                VoiceTurn {
                    start_ms: 30,
                    end_ms: 50,
                    voice: 1
                },
                VoiceTurn {
                    start_ms: 50,
                    end_ms: 60,
                    voice: 0
                },
            ]
        );
    }

    #[test]
    fn a_word_takes_the_voice_that_speaks_most_of_it() {
        let diarization = Diarization {
            turns: turns_of(&[Some(0), Some(0), Some(1), Some(1), Some(1)]),
            voices: 2,
        };
        assert_eq!(diarization.voice_during(5, 40), Some(1));
        assert_eq!(diarization.voice_during(0, 15), Some(0));
        assert_eq!(diarization.voice_during(25, 25), Some(1));
        assert_eq!(diarization.voice_during(100, 200), None);
    }
}
