//! Redacted recordings: the spans that redaction masks in the transcript
//! (card numbers, PINs, OTPs, CVVs, passwords, contacts) are overwritten with
//! silence or a tone in the recording itself, on every channel (a secret
//! spoken on one channel leaks into the other as echo), at the recording's
//! own sample rate, so the rest of it is kept sample for sample.

use crate::transcript::TimeSpan;

use super::wav::encode_pcm16;
use super::{AudioError, AudioInput, AudioLimits, decode};

/// Margin added on both sides of each span: word timings are measured to
/// within 150 ms (tests/transcribe_words.rs), and a masked secret must not
/// leave its first or last syllable audible.
pub const MASK_MARGIN_MS: u64 = 200;
/// The tone's pitch: the broadcast "bleep".
const TONE_HZ: f32 = 1_000.0;
/// The tone's peak level, -20 dBFS: clearly a mask, never a shock.
pub const TONE_LEVEL: f32 = 0.1;

/// What replaces masked speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskSound {
    /// Digital silence.
    #[default]
    Silence,
    /// A 1 kHz tone at -20 dBFS, so a listener hears that something was cut.
    Tone,
}

/// The recording with `spans` masked, as 16-bit PCM WAV at its own sample
/// rate and channel count.
pub fn mask_recording(
    input: AudioInput<'_>,
    spans: &[TimeSpan],
    sound: MaskSound,
    limits: &AudioLimits,
) -> Result<Vec<u8>, AudioError> {
    let name = input.name();
    let mut pcm = decode::decode_pcm(&input, &name, limits)?;
    mask_samples(&mut pcm.channels, pcm.sample_rate, spans, sound);
    let channels: Vec<&[f32]> = pcm.channels.iter().map(Vec::as_slice).collect();
    Ok(encode_pcm16(pcm.sample_rate, &channels))
}

/// The sample range `span` covers with its margins, clipped to `len`.
pub fn masked_range(span: TimeSpan, sample_rate: u32, len: usize) -> std::ops::Range<usize> {
    let at = |ms: u64| {
        usize::try_from(ms.saturating_mul(u64::from(sample_rate)) / 1000).unwrap_or(usize::MAX)
    };
    let from = at(span.start_ms.saturating_sub(MASK_MARGIN_MS)).min(len);
    let to = at(span.end_ms.saturating_add(MASK_MARGIN_MS)).min(len);
    from..to.max(from)
}

/// Overwrites `spans` (with their margins) on every channel.
pub fn mask_samples(
    channels: &mut [Vec<f32>],
    sample_rate: u32,
    spans: &[TimeSpan],
    sound: MaskSound,
) {
    let step = std::f32::consts::TAU * TONE_HZ / sample_rate.max(1) as f32;
    for &span in spans {
        for channel in channels.iter_mut() {
            let range = masked_range(span, sample_rate, channel.len());
            for index in range.clone() {
                channel[index] = match sound {
                    MaskSound::Silence => 0.0,
                    // Phase from the span's start, so every mask sounds alike.
                    MaskSound::Tone => TONE_LEVEL * (step * (index - range.start) as f32).sin(),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start_ms: u64, end_ms: u64) -> TimeSpan {
        TimeSpan { start_ms, end_ms }
    }

    #[test]
    fn spans_are_masked_on_every_channel_with_margins_and_nothing_else_changes() {
        let rate = 8_000;
        let original: Vec<Vec<f32>> = (0..2)
            .map(|c| {
                (0..rate as usize * 3)
                    .map(|i| ((i + c) % 7) as f32 / 10.0)
                    .collect()
            })
            .collect();
        let mut masked = original.clone();
        mask_samples(&mut masked, rate, &[span(1_000, 1_500)], MaskSound::Silence);
        let range = masked_range(span(1_000, 1_500), rate, original[0].len());
        assert_eq!(range, 6_400..13_600, "0.8 s to 1.7 s at 8 kHz");
        for (before, after) in original.iter().zip(&masked) {
            assert!(after[range.clone()].iter().all(|&s| s == 0.0));
            assert_eq!(before[..range.start], after[..range.start]);
            assert_eq!(before[range.end..], after[range.end..]);
        }
    }

    #[test]
    fn a_tone_is_audible_and_a_span_past_the_end_is_clipped() {
        let rate = 16_000;
        let mut channels = vec![vec![0.0_f32; rate as usize]];
        mask_samples(&mut channels, rate, &[span(900, 5_000)], MaskSound::Tone);
        let range = masked_range(span(900, 5_000), rate, channels[0].len());
        assert_eq!(range.end, rate as usize);
        let tone = &channels[0][range];
        let rms = (tone.iter().map(|s| s * s).sum::<f32>() / tone.len() as f32).sqrt();
        assert!((rms - TONE_LEVEL / 2f32.sqrt()).abs() < 0.01, "rms {rms}");
        // A span at the very start loses only its leading margin.
        assert_eq!(masked_range(span(100, 200), rate, 100_000), 0..6_400);
    }
}
