//! The mel filterbank Whisper was trained with: librosa's
//! `filters.mel(sr=16000, n_fft=400, n_mels=80)`, Slaney mel scale and Slaney
//! area normalisation, computed in f64 and stored as f32 like librosa does.

/// Filterbank for `n_mels` bands over the `n_fft / 2 + 1` FFT bins, row-major.
pub fn filterbank(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let bins = n_fft / 2 + 1;
    let nyquist = f64::from(sample_rate) / 2.0;
    let fft_freqs: Vec<f64> = (0..bins)
        .map(|i| nyquist * i as f64 / (bins - 1) as f64)
        .collect();
    let (low, high) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_freqs: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(low + (high - low) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut weights = vec![0.0f32; n_mels * bins];
    for m in 0..n_mels {
        let (left, centre, right) = (mel_freqs[m], mel_freqs[m + 1], mel_freqs[m + 2]);
        // Slaney normalisation: every filter has unit area.
        let norm = 2.0 / (right - left);
        for (b, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            weights[m * bins + b] = (lower.min(upper).max(0.0) * norm) as f32;
        }
    }
    weights
}

/// Slaney's mel scale: linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let log_step = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / log_step
    } else {
        hz / F_SP
    }
}

/// Inverse of [`hz_to_mel`].
fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let log_step = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (log_step * (mel - min_log_mel)).exp()
    } else {
        F_SP * mel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from faster-whisper's `get_mel_filters(16000, 400, 80)`
    /// (numpy, float64), which equals librosa's Slaney filterbank.
    const REFERENCE: [(usize, usize, f64); 12] = [
        (0, 1, 0.024862593984176087),
        (1, 2, 0.022871772096078016),
        (13, 13, 0.02588068454527485),
        (30, 29, 0.01585603806172187),
        (30, 30, 0.0089627711717323),
        (50, 61, 0.0008110002442121123),
        (50, 63, 0.009462301431072994),
        (50, 65, 0.002778399436469445),
        (70, 132, 0.000848341488539739),
        (70, 137, 0.004079728686464123),
        (70, 141, 0.0004963868075910782),
        (79, 190, 0.0022320550527126157),
    ];

    #[test]
    fn matches_librosa_slaney_filterbank() {
        let bank = filterbank(16_000, 400, 80);
        assert_eq!(bank.len(), 80 * 201);
        for (mel, bin, expected) in REFERENCE {
            let got = f64::from(bank[mel * 201 + bin]);
            assert!(
                (got - expected).abs() < 1e-8,
                "filter {mel} bin {bin}: {got} vs {expected}"
            );
        }
        // Same sparsity: 391 non-zero weights, and none where the reference has none.
        assert_eq!(bank.iter().filter(|w| **w > 0.0).count(), 391);
        assert_eq!(bank[2], 0.0);
        assert_eq!(bank[40 * 201 + 60], 0.0);
    }
}
