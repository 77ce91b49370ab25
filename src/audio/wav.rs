//! 16-bit PCM WAV out (hound): the format every browser plays and seeks in,
//! and the one redacted recordings are stored in.

use std::io::Cursor;

/// Full scale of a 16-bit sample. Decoders map `i16` to `f32` by dividing by
/// this, so multiplying by it gives the same samples back, bit for bit.
const FULL_SCALE: f32 = 32_768.0;

/// Encodes planar f32 channels (equal lengths; a shorter one is padded with
/// silence) as interleaved 16-bit PCM WAV at `sample_rate`.
pub fn encode_pcm16(sample_rate: u32, channels: &[&[f32]]) -> Vec<u8> {
    let count = channels.len().max(1);
    let frames = channels.iter().map(|c| c.len()).max().unwrap_or(0);
    let spec = hound::WavSpec {
        channels: u16::try_from(count).unwrap_or(u16::MAX),
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::with_capacity(44 + frames * count * 2));
    // Writing into memory cannot fail, and the length fits the header: the
    // decoded audio is bounded by the configured duration limit.
    if let Ok(mut writer) = hound::WavWriter::new(&mut out, spec) {
        let mut samples = writer.get_i16_writer((frames * count) as u32);
        for frame in 0..frames {
            for channel in channels {
                samples.write_sample(to_i16(channel.get(frame).copied().unwrap_or(0.0)));
            }
        }
        let _ = samples.flush();
        let _ = writer.finalize();
    }
    out.into_inner()
}

fn to_i16(sample: f32) -> i16 {
    (sample * FULL_SCALE)
        .round()
        .clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_samples_survive_a_round_trip() {
        let original: Vec<i16> = vec![i16::MIN, -12_345, -1, 0, 1, 12_345, i16::MAX];
        let decoded: Vec<f32> = original
            .iter()
            .map(|&s| f32::from(s) / FULL_SCALE)
            .collect();
        let silence = vec![0.0; 3];
        let wav = encode_pcm16(8_000, &[&decoded, &silence]);
        let mut reader = hound::WavReader::new(Cursor::new(wav)).expect("a WAV");
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 8_000, 16)
        );
        let samples: Vec<i16> = reader
            .samples::<i16>()
            .map(|s| s.expect("sample"))
            .collect();
        let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
        let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(left, original);
        assert_eq!(
            right,
            vec![0; original.len()],
            "the short channel is padded"
        );
    }
}
