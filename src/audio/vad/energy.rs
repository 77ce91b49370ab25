//! An adaptive energy detector: speech is a frame well above the track's noise floor.

use super::FRAME;

/// Margin above the noise floor that counts as speech (dB).
const MARGIN_DB: f32 = 12.0;
/// Absolute floor below which nothing is speech (dBFS): digital silence and hiss.
const ABSOLUTE_FLOOR_DB: f32 = -55.0;

/// Classifies each full 30 ms frame by its energy.
pub(super) fn classify(samples: &[f32]) -> Vec<bool> {
    let levels: Vec<f32> = samples.chunks_exact(FRAME).map(level_db).collect();
    if levels.is_empty() {
        return Vec::new();
    }
    // The 10th percentile estimates the noise floor: calls are rarely more
    // than 90 % speech on one channel.
    let mut sorted = levels.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let threshold = (floor + MARGIN_DB).max(ABSOLUTE_FLOOR_DB);
    levels.iter().map(|&level| level > threshold).collect()
}

/// RMS level of a frame in dBFS.
fn level_db(frame: &[f32]) -> f32 {
    let power = frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32;
    10.0 * (power + 1e-12).log10()
}
