//! The speaker encoder's front end: a 40-band mel power spectrogram every
//! 10 ms, exactly as Resemblyzer computes it (`librosa.feature.melspectrogram`
//! with its defaults: 400-sample periodic Hann window, hop 160, centred with
//! zero padding, power spectrum, Slaney mel scale and area normalisation, and
//! no logarithm: the network was trained on linear mel power).

use realfft::RealFftPlanner;

/// Samples per second the encoder expects.
pub const SAMPLE_RATE: usize = 16_000;
/// FFT size and window length (25 ms).
const N_FFT: usize = 400;
/// Hop between frames (10 ms).
pub const HOP: usize = 160;
/// Mel bands.
pub const MEL_BANDS: usize = 40;
/// Loudness the encoder's training audio was normalised to (raise only).
const TARGET_DBFS: f64 = -30.0;

/// One frame of mel power.
pub type MelFrame = [f32; MEL_BANDS];

/// Hz to mel on the Slaney scale (linear below 1 kHz, logarithmic above).
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let log_step = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        MIN_LOG_HZ / F_SP + (hz / MIN_LOG_HZ).ln() / log_step
    } else {
        hz / F_SP
    }
}

/// Mel to Hz on the Slaney scale.
fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let log_step = 6.4f64.ln() / 27.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (log_step * (mel - min_log_mel)).exp()
    } else {
        F_SP * mel
    }
}

/// The mel filterbank, `[band][bin]`, librosa's `filters.mel(sr=16000,
/// n_fft=400, n_mels=40)`: triangles between Slaney-spaced edges, each
/// scaled to unit area in Hz.
fn filterbank() -> Vec<Vec<f32>> {
    let bins = N_FFT / 2 + 1;
    let nyquist = SAMPLE_RATE as f64 / 2.0;
    let top = hz_to_mel(nyquist);
    let edges: Vec<f64> = (0..MEL_BANDS + 2)
        .map(|i| mel_to_hz(top * i as f64 / (MEL_BANDS + 1) as f64))
        .collect();
    (0..MEL_BANDS)
        .map(|band| {
            let (low, centre, high) = (edges[band], edges[band + 1], edges[band + 2]);
            let area = 2.0 / (high - low);
            (0..bins)
                .map(|bin| {
                    let hz = nyquist * bin as f64 / (bins - 1) as f64;
                    let rising = (hz - low) / (centre - low);
                    let falling = (high - hz) / (high - centre);
                    (rising.min(falling).max(0.0) * area) as f32
                })
                .collect()
        })
        .collect()
}

/// Raises quiet audio to the loudness the encoder was trained on; loud audio
/// is left as it is. The input is linear power, so gain matters.
fn loudness_gain(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 1.0;
    }
    let mean_square = samples
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / samples.len() as f64;
    if mean_square <= 0.0 {
        return 1.0;
    }
    let change_db = TARGET_DBFS - 10.0 * mean_square.log10();
    if change_db <= 0.0 {
        1.0
    } else {
        10f64.powf(change_db / 20.0) as f32
    }
}

/// The mel frames of a 16 kHz track: `1 + len / 160` of them, frame `i`
/// centred on sample `160 i`.
pub fn mel_frames(samples: &[f32]) -> Vec<MelFrame> {
    let gain = loudness_gain(samples);
    let bank = filterbank();
    // Only the bins each triangle covers, so a frame costs ~200 multiplies.
    let spans: Vec<(usize, usize)> = bank
        .iter()
        .map(|weights| {
            let first = weights.iter().position(|&w| w > 0.0).unwrap_or(0);
            let last = weights.iter().rposition(|&w| w > 0.0).map_or(0, |i| i + 1);
            (first, last.max(first))
        })
        .collect();
    let window: Vec<f32> = (0..N_FFT)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos()) as f32)
        .collect();
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(N_FFT);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let mut power = vec![0f32; N_FFT / 2 + 1];
    let count = 1 + samples.len() / HOP;
    let mut frames = Vec::with_capacity(count);
    let half = (N_FFT / 2) as isize;
    for frame in 0..count {
        let first = (frame * HOP) as isize - half;
        for (i, slot) in input.iter_mut().enumerate() {
            let at = first + i as isize;
            let sample = usize::try_from(at)
                .ok()
                .and_then(|at| samples.get(at))
                .copied()
                .unwrap_or(0.0);
            *slot = sample * gain * window[i];
        }
        // The sizes come from the same plan, so processing cannot fail.
        if fft
            .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
            .is_err()
        {
            frames.push([0.0; MEL_BANDS]);
            continue;
        }
        for (p, c) in power.iter_mut().zip(&spectrum) {
            *p = c.re * c.re + c.im * c.im;
        }
        let mut mel = [0f32; MEL_BANDS];
        for (band, value) in mel.iter_mut().enumerate() {
            let (lo, hi) = spans[band];
            *value = bank[band][lo..hi]
                .iter()
                .zip(&power[lo..hi])
                .map(|(w, p)| w * p)
                .sum();
        }
        frames.push(mel);
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_one_kilohertz() {
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-9);
        for hz in [0.0, 300.0, 1000.0, 3999.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6);
        }
    }

    #[test]
    fn filters_have_unit_area_and_cover_the_band() {
        let bank = filterbank();
        assert_eq!(bank.len(), MEL_BANDS);
        // Each triangle is 2 / (high - low) tall at its centre: area 1 in Hz,
        // so a filter's weights times the bin width sum to about 1.
        let bin_hz = 8000.0 / 200.0;
        for weights in &bank[5..] {
            let area: f32 = weights.iter().sum::<f32>() * bin_hz;
            assert!((area - 1.0).abs() < 0.15, "area {area}");
        }
    }

    #[test]
    fn a_tone_lights_the_band_that_holds_it() {
        let tone: Vec<f32> = (0..16_000)
            .map(|i| 0.1 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let frames = mel_frames(&tone);
        assert_eq!(frames.len(), 1 + 16_000 / HOP);
        let middle = frames[50];
        let loudest = (0..MEL_BANDS)
            .max_by(|&a, &b| middle[a].total_cmp(&middle[b]))
            .unwrap_or(0);
        let centre_hz = mel_to_hz(hz_to_mel(8000.0) * (loudest + 1) as f64 / 41.0);
        assert!((centre_hz - 1000.0).abs() < 150.0, "band at {centre_hz} Hz");
    }
}
