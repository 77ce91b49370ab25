//! Diarization error rate, as NIST's md-eval scores it: over the reference
//! speech outside a forgiveness collar around every reference boundary,
//! missed speech plus false alarms plus speaker confusion, with hypothesis
//! speakers mapped one-to-one onto reference speakers so as to agree most.
//! Overlapped reference speech counts once per speaker.

/// A stretch of speech by one speaker (labels are arbitrary numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start, ms.
    pub start_ms: u64,
    /// End, ms.
    pub end_ms: u64,
    /// The speaker.
    pub speaker: usize,
}

/// The error and its parts, as shares of the scored reference speech.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRate {
    /// Missed + false alarm + confusion.
    pub total: f64,
    /// Reference speech with no hypothesis speaker.
    pub missed: f64,
    /// Hypothesis speech where the reference has none (or fewer speakers).
    pub false_alarm: f64,
    /// Speech given to the wrong speaker.
    pub confusion: f64,
    /// Reference speech scored, ms.
    pub scored_ms: u64,
}

/// Scoring resolution, ms.
const STEP_MS: u64 = 10;

/// Per step, the set of active speakers as a bit mask.
fn activity(spans: &[Span], steps: usize) -> Vec<u64> {
    let mut active = vec![0u64; steps];
    for span in spans {
        let from = (span.start_ms / STEP_MS) as usize;
        let to = (span.end_ms.div_ceil(STEP_MS) as usize).min(steps);
        for slot in active.iter_mut().take(to).skip(from) {
            *slot |= 1u64 << span.speaker.min(63);
        }
    }
    active
}

/// All one-to-one mappings of `from` hypothesis speakers onto `onto`
/// reference speakers (some left unmapped when counts differ).
fn mappings(from: usize, onto: usize) -> Vec<Vec<Option<usize>>> {
    fn extend(
        current: &mut Vec<Option<usize>>,
        used: &mut Vec<bool>,
        from: usize,
        all: &mut Vec<Vec<Option<usize>>>,
    ) {
        if current.len() == from {
            all.push(current.clone());
            return;
        }
        current.push(None);
        extend(current, used, from, all);
        current.pop();
        for r in 0..used.len() {
            if !used[r] {
                used[r] = true;
                current.push(Some(r));
                extend(current, used, from, all);
                current.pop();
                used[r] = false;
            }
        }
    }
    let mut all = Vec::new();
    extend(&mut Vec::new(), &mut vec![false; onto], from, &mut all);
    all
}

/// The error of `hypothesis` against `reference`, with a collar of
/// `collar_ms` on each side of every reference boundary. Speakers are
/// numbered below 64; the best mapping is searched exhaustively, which is
/// quick for the handful of speakers of a call.
pub fn diarization_error_rate(
    reference: &[Span],
    hypothesis: &[Span],
    collar_ms: u64,
) -> ErrorRate {
    let end = reference
        .iter()
        .chain(hypothesis)
        .map(|s| s.end_ms)
        .max()
        .unwrap_or(0);
    let steps = end.div_ceil(STEP_MS) as usize + 1;
    let mut scored = vec![true; steps];
    let collar = collar_ms / STEP_MS;
    for span in reference {
        for boundary in [span.start_ms / STEP_MS, span.end_ms / STEP_MS] {
            let from = boundary.saturating_sub(collar) as usize;
            let to = ((boundary + collar) as usize).min(steps);
            scored[from..to].iter_mut().for_each(|s| *s = false);
        }
    }
    let reference_active = activity(reference, steps);
    let hypothesis_active = activity(hypothesis, steps);
    let speakers = |spans: &[Span]| {
        spans
            .iter()
            .map(|s| s.speaker.min(63) + 1)
            .max()
            .unwrap_or(0)
    };
    let (reference_speakers, hypothesis_speakers) = (speakers(reference), speakers(hypothesis));
    // Scored overlap time of every (hypothesis, reference) pair.
    let mut overlap = vec![vec![0u64; reference_speakers]; hypothesis_speakers];
    let (mut reference_total, mut missed, mut false_alarm, mut both) = (0u64, 0u64, 0u64, 0u64);
    for step in (0..steps).filter(|&s| scored[s]) {
        let (r, h) = (reference_active[step], hypothesis_active[step]);
        let (nr, nh) = (u64::from(r.count_ones()), u64::from(h.count_ones()));
        reference_total += nr;
        missed += nr.saturating_sub(nh);
        false_alarm += nh.saturating_sub(nr);
        both += nr.min(nh);
        for (hs, row) in overlap.iter_mut().enumerate() {
            if h >> hs & 1 == 1 {
                for (rs, cell) in row.iter_mut().enumerate() {
                    *cell += r >> rs & 1;
                }
            }
        }
    }
    let correct = mappings(hypothesis_speakers, reference_speakers)
        .iter()
        .map(|mapping| {
            mapping
                .iter()
                .enumerate()
                .filter_map(|(h, r)| r.map(|r| overlap[h][r]))
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0);
    let confusion = both - correct.min(both);
    let share = |steps: u64| {
        if reference_total == 0 {
            0.0
        } else {
            steps as f64 / reference_total as f64
        }
    };
    ErrorRate {
        total: share(missed + false_alarm + confusion),
        missed: share(missed),
        false_alarm: share(false_alarm),
        confusion: share(confusion),
        scored_ms: reference_total * STEP_MS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start_ms: u64, end_ms: u64, speaker: usize) -> Span {
        Span {
            start_ms,
            end_ms,
            speaker,
        }
    }

    #[test]
    fn relabelled_speakers_are_no_error() {
        let reference = [span(0, 1000, 0), span(1000, 3000, 1)];
        let hypothesis = [span(0, 1000, 5), span(1000, 3000, 2)];
        let rate = diarization_error_rate(&reference, &hypothesis, 0);
        assert_eq!(rate.total, 0.0);
    }

    #[test]
    fn parts_add_up() {
        // Reference: A 0-2 s, B 2-4 s. Hypothesis: X 0-3 s, silence 3-4 s,
        // X again 4-5 s. Best map X→A: 1 s confusion (2-3), 1 s missed (3-4),
        // 1 s false alarm (4-5), over 4 s of reference speech.
        let reference = [span(0, 2000, 0), span(2000, 4000, 1)];
        let hypothesis = [span(0, 3000, 0), span(4000, 5000, 0)];
        let rate = diarization_error_rate(&reference, &hypothesis, 0);
        assert!((rate.confusion - 0.25).abs() < 1e-9, "{rate:?}");
        assert!((rate.missed - 0.25).abs() < 1e-9, "{rate:?}");
        assert!((rate.false_alarm - 0.25).abs() < 1e-9, "{rate:?}");
        assert!((rate.total - 0.75).abs() < 1e-9, "{rate:?}");
    }

    #[test]
    fn the_collar_forgives_boundaries() {
        let reference = [span(0, 2000, 0), span(2000, 4000, 1)];
        let hypothesis = [span(0, 2200, 0), span(2200, 4000, 1)];
        assert!(diarization_error_rate(&reference, &hypothesis, 0).total > 0.04);
        assert_eq!(
            diarization_error_rate(&reference, &hypothesis, 250).total,
            0.0
        );
    }
}
