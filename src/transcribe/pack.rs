//! Dense packing of speech regions into Whisper's 30-second windows, and the
//! map from a window's time back to call time.

use crate::audio::vad::SpeechRegion;

/// One speech region placed inside a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Where the region starts in the call (samples).
    pub call_start: usize,
    /// Where it starts inside the window (samples).
    pub window_start: usize,
    /// Its length (samples).
    pub len: usize,
}

/// Audio handed to Whisper in one `full` call: regions separated by short silences.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The packed samples.
    pub samples: Vec<f32>,
    /// The regions in the window, in order.
    pub pieces: Vec<Piece>,
}

impl Window {
    /// The piece that window time `t` (samples) belongs to: the one containing
    /// it, or for a gap, the nearer neighbour.
    pub fn piece_at(&self, t: usize) -> usize {
        let mut best = 0;
        let mut best_distance = usize::MAX;
        for (index, piece) in self.pieces.iter().enumerate() {
            let end = piece.window_start + piece.len;
            let distance = if t < piece.window_start {
                piece.window_start - t
            } else if t >= end {
                t - end + 1
            } else {
                0
            };
            if distance < best_distance {
                best = index;
                best_distance = distance;
            }
        }
        best
    }

    /// Maps window time `t` (samples) to call time, clamped into piece `index`.
    pub fn to_call_time(&self, index: usize, t: usize) -> usize {
        match self.pieces.get(index) {
            Some(piece) => {
                let offset = t.saturating_sub(piece.window_start).min(piece.len);
                piece.call_start + offset
            }
            None => t,
        }
    }
}

/// Packs `regions` of `track` greedily, in order, into windows of at most
/// `max_window` samples with `gap` samples of silence between regions.
///
/// Regions must not exceed `max_window` (the VAD splits longer ones); one that
/// does is cut into pieces that fit.
pub fn pack(track: &[f32], regions: &[SpeechRegion], max_window: usize, gap: usize) -> Vec<Window> {
    let mut windows: Vec<Window> = Vec::new();
    let mut current = Window {
        samples: Vec::with_capacity(max_window),
        pieces: Vec::new(),
    };
    for region in regions.iter().flat_map(|r| fit(*r, max_window)) {
        let end = region.end.min(track.len());
        if region.start >= end {
            continue;
        }
        let len = end - region.start;
        let needed = if current.pieces.is_empty() {
            len
        } else {
            gap + len
        };
        if current.samples.len() + needed > max_window && !current.pieces.is_empty() {
            windows.push(std::mem::replace(
                &mut current,
                Window {
                    samples: Vec::with_capacity(max_window),
                    pieces: Vec::new(),
                },
            ));
        }
        if !current.pieces.is_empty() {
            current.samples.resize(current.samples.len() + gap, 0.0);
        }
        current.pieces.push(Piece {
            call_start: region.start,
            window_start: current.samples.len(),
            len,
        });
        current.samples.extend_from_slice(&track[region.start..end]);
    }
    if !current.pieces.is_empty() {
        windows.push(current);
    }
    windows
}

/// Cuts a region into pieces no longer than `max` samples.
fn fit(region: SpeechRegion, max: usize) -> Vec<SpeechRegion> {
    let max = max.max(1);
    (region.start..region.end)
        .step_by(max)
        .map(|start| SpeechRegion {
            start,
            end: (start + max).min(region.end),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(start: usize, end: usize) -> SpeechRegion {
        SpeechRegion { start, end }
    }

    #[test]
    fn packs_regions_densely_and_maps_time_back() {
        let track: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let windows = pack(
            &track,
            &[region(100, 200), region(500, 560), region(700, 900)],
            250,
            10,
        );
        assert_eq!(windows.len(), 2);
        let first = &windows[0];
        assert_eq!(first.samples.len(), 100 + 10 + 60);
        assert_eq!(first.samples[0], 100.0);
        assert_eq!(first.samples[100], 0.0, "gap is silence");
        assert_eq!(first.samples[110], 500.0);
        assert_eq!(first.piece_at(115), 1);
        assert_eq!(first.to_call_time(1, 115), 505);
        // A time in the gap goes to the nearer piece.
        assert_eq!(first.piece_at(101), 0);
        assert_eq!(first.piece_at(109), 1);
        assert_eq!(windows[1].pieces[0].call_start, 700);
        assert_eq!(windows[1].to_call_time(0, 50), 750);
    }

    #[test]
    fn cuts_regions_longer_than_a_window() {
        let track = vec![0.5f32; 1000];
        let windows = pack(&track, &[region(0, 600)], 250, 10);
        assert_eq!(windows.len(), 3);
        assert!(windows.iter().all(|w| w.samples.len() <= 250));
        assert_eq!(windows[2].pieces[0].call_start, 500);
    }
}
