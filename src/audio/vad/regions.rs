//! Turns per-frame decisions into padded, merged, bounded speech regions.

use super::{FRAME, FRAME_MS, SpeechRegion, VadConfig};

/// Builds regions from frame decisions: merge short pauses, drop blips, pad,
/// and split regions longer than the maximum at their quietest frame.
pub(super) fn from_frames(
    frames: &[bool],
    samples: &[f32],
    config: &VadConfig,
) -> Vec<SpeechRegion> {
    let to_frames = |ms: usize| ms.div_ceil(FRAME_MS);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (index, &speech) in frames.iter().enumerate() {
        match (speech, start) {
            (true, None) => start = Some(index),
            (false, Some(begin)) => {
                runs.push((begin, index));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        runs.push((begin, frames.len()));
    }

    let min_gap = to_frames(config.min_silence_ms);
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for run in runs {
        match merged.last_mut() {
            Some(last) if run.0 - last.1 < min_gap => last.1 = run.1,
            _ => merged.push(run),
        }
    }

    let min_len = to_frames(config.min_speech_ms);
    let pad = config.pad_ms * FRAME / FRAME_MS;
    let mut regions: Vec<SpeechRegion> = Vec::new();
    for (first, last) in merged.into_iter().filter(|(a, b)| b - a >= min_len) {
        let start = (first * FRAME).saturating_sub(pad);
        let end = (last * FRAME + pad).min(samples.len());
        match regions.last_mut() {
            // Padding can make neighbours touch; keep regions disjoint.
            Some(previous) if start <= previous.end => previous.end = end,
            _ => regions.push(SpeechRegion { start, end }),
        }
    }

    let max_len = config.max_region_ms * FRAME / FRAME_MS;
    regions
        .into_iter()
        .flat_map(|region| split_long(region, samples, max_len))
        .collect()
}

/// Splits a region into pieces of at most `max_len` samples, cutting at the
/// quietest frame of each piece's second half so words are rarely cut.
fn split_long(region: SpeechRegion, samples: &[f32], max_len: usize) -> Vec<SpeechRegion> {
    let mut pieces = Vec::new();
    let mut start = region.start;
    while region.end - start > max_len {
        let search_from = start + max_len / 2;
        let search_to = start + max_len - FRAME;
        let cut = (search_from..search_to)
            .step_by(FRAME / 2)
            .min_by(|&a, &b| {
                energy(&samples[a..a + FRAME]).total_cmp(&energy(&samples[b..b + FRAME]))
            })
            .map_or(start + max_len, |quietest| quietest + FRAME / 2);
        pieces.push(SpeechRegion { start, end: cut });
        start = cut;
    }
    pieces.push(SpeechRegion {
        start,
        end: region.end,
    });
    pieces
}

/// Sum of squares of a frame.
fn energy(frame: &[f32]) -> f32 {
    frame.iter().map(|s| s * s).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> VadConfig {
        VadConfig {
            min_silence_ms: 90,
            min_speech_ms: 60,
            pad_ms: 30,
            max_region_ms: 300,
            ..VadConfig::default()
        }
    }

    #[test]
    fn merges_short_pauses_and_drops_blips() {
        // speech 0..4, pause 2 (merged), speech 6..9, pause 5, blip 14, pause.
        let frames = [
            true, true, true, true, false, false, true, true, true, false, false, false, false,
            false, true, false, false, false, false, false,
        ];
        let samples = vec![0.1f32; frames.len() * FRAME];
        let regions = from_frames(&frames, &samples, &config());
        assert_eq!(
            regions,
            vec![SpeechRegion {
                start: 0,
                end: 10 * FRAME
            }]
        );
    }

    #[test]
    fn splits_long_regions_at_the_quietest_frame() {
        let frames = vec![true; 25];
        let mut samples = vec![0.5f32; 25 * FRAME];
        // A quiet dip at frame 7 (210 ms), inside the second half of the first 300 ms.
        for s in &mut samples[7 * FRAME..8 * FRAME] {
            *s = 0.0;
        }
        let regions = from_frames(&frames, &samples, &config());
        assert!(regions.len() >= 3, "{regions:?}");
        assert!(regions.iter().all(|r| r.len() <= 10 * FRAME));
        assert_eq!(regions[0].end, 7 * FRAME + FRAME / 2);
        assert_eq!(regions.last().map(|r| r.end), Some(25 * FRAME));
    }
}
