//! WebRTC's voice activity detector on 30 ms frames of 16 kHz audio.

use webrtc_vad::{SampleRate, Vad, VadMode};

use super::FRAME;

/// Classifies each full 30 ms frame; a trailing partial frame is not speech.
pub(super) fn classify(samples: &[f32]) -> Vec<bool> {
    // Aggressive mode: telephone lines carry steady noise that the quality
    // mode calls speech; very aggressive clips soft word onsets.
    let mut vad = Vad::new_with_rate_and_mode(SampleRate::Rate16kHz, VadMode::Aggressive);
    let mut frame = [0i16; FRAME];
    samples
        .chunks_exact(FRAME)
        .map(|chunk| {
            for (out, sample) in frame.iter_mut().zip(chunk) {
                *out = (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16;
            }
            // The only error is a wrong frame length, which chunks_exact rules out.
            vad.is_voice_segment(&frame).unwrap_or(false)
        })
        .collect()
}
