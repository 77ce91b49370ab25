//! Word timings from Whisper's tokens. A word starts at a token that begins
//! with a space (punctuation joins the word before it). Its times come from
//! the audio where the audio can tell: when the stretch the words were said
//! in breaks into exactly as many islands of speech energy as there are words
//! (at long quiet stretches first, then shorter ones; token timestamps can
//! slip by a whole word), each word is its island. Otherwise a word's times are its tokens'
//! times (DTW-aligned when the model has alignment heads) tightened to the
//! speech energy: DTW times a token's start only, so a word would otherwise
//! run on through the pause to the next one.

use super::pack::Window;
use super::segments::{RawToken, to_index};
use crate::audio::samples_to_ms;
use crate::transcript::Word;

/// Energy frame, 10 ms at 16 kHz.
const FRAME: usize = 160;
/// A frame quieter than this share of the word's loudest frame (-30 dB) is
/// not part of the word; fricatives ("s", "f") stay above it.
const RELATIVE_FLOOR: f32 = 0.03;
/// Nor is a frame below this RMS (-50 dBFS), whatever the word's level.
const ABSOLUTE_FLOOR: f32 = 0.003;
/// How far before its aligned start a word may begin (150 ms): DTW sometimes
/// times a token a frame or two after its onset.
const LOOK_BACK: usize = 2_400;
/// Quieter stretches that split islands of speech, tried longest first
/// (frames: 120, 60, 30 ms): the first split that yields one island per
/// word is taken. Long pauses are word boundaries for sure; short ones may
/// be a stop closure inside a word ("customer"), so they are trusted only
/// when they, too, give exactly one island per word.
const ISLAND_GAPS_FRAMES: [usize; 3] = [12, 6, 3];
/// An island shorter than this (frames, 40 ms) is a click, not a word.
const ISLAND_MIN_FRAMES: usize = 4;

/// The words of a group of tokens placed in region `piece` of `window`, in
/// call time. Tokens without letters or digits (a leading comma) make no word.
pub(super) fn words(window: &Window, piece: usize, tokens: &[&RawToken]) -> Vec<Word> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        let starts_word = token.bytes.first() == Some(&b' ');
        let has_text = String::from_utf8_lossy(&token.bytes)
            .chars()
            .any(char::is_alphanumeric);
        match groups.last_mut() {
            Some(group) if !starts_word || !has_text => group.1 = index + 1,
            _ => groups.push((index, index + 1)),
        }
    }
    let groups: Vec<(String, &[&RawToken])> = groups
        .into_iter()
        .filter_map(|(first, last)| {
            let group = &tokens[first..last];
            let bytes: Vec<u8> = group.iter().flat_map(|t| t.bytes.iter().copied()).collect();
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            text.chars()
                .any(char::is_alphanumeric)
                .then_some((text, group))
        })
        .collect();
    let (Some((_, first)), Some((_, last))) = (groups.first(), groups.last()) else {
        return Vec::new();
    };
    let span_start = to_index(first[0].t0).saturating_sub(LOOK_BACK);
    let span_end = to_index(last[last.len() - 1].t1);
    let islands = ISLAND_GAPS_FRAMES
        .iter()
        .map(|&gap| islands(&window.samples, span_start, span_end, gap))
        .find(|islands| islands.len() == groups.len())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(groups.len());
    // Window sample where the previous word ended: a word never reaches back past it.
    let mut previous_end = 0usize;
    for (index, (text, group)) in groups.iter().enumerate() {
        let (start, end) = if islands.len() == groups.len() {
            islands[index]
        } else {
            let start = to_index(group[0].t0);
            let end = to_index(group[group.len() - 1].t1).max(start);
            tighten(&window.samples, start, end, previous_end)
        };
        previous_end = end;
        let confidence = group.iter().map(|t| t.p).sum::<f32>() / group.len() as f32;
        out.push(Word {
            start_ms: samples_to_ms(window.to_call_time(piece, start)),
            end_ms: samples_to_ms(window.to_call_time(piece, end)),
            text: text.clone(),
            confidence: Some(confidence),
        });
    }
    out
}

/// The islands of speech energy in `start..end` (window samples): runs of
/// frames above the floor, joined across quiet stretches shorter than
/// `gap_frames`, clicks dropped.
fn islands(samples: &[f32], start: usize, end: usize, gap_frames: usize) -> Vec<(usize, usize)> {
    let end = end.min(samples.len());
    if end < start + FRAME {
        return Vec::new();
    }
    let (frames, floor) = levels(samples, start, end);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (index, &level) in frames.iter().enumerate() {
        if level < floor {
            continue;
        }
        match runs.last_mut() {
            Some(run) if index - run.1 < gap_frames => run.1 = index + 1,
            _ => runs.push((index, index + 1)),
        }
    }
    runs.into_iter()
        .filter(|(first, last)| last - first >= ISLAND_MIN_FRAMES)
        .map(|(first, last)| (start + first * FRAME, (start + last * FRAME).min(end)))
        .collect()
}

/// Narrows `start..end` (window samples) to its frames with speech energy,
/// and moves the start back over speech that runs into it from before (at
/// most [`LOOK_BACK`], never before `not_before`). Silence throughout leaves
/// the span as it was.
fn tighten(samples: &[f32], start: usize, end: usize, not_before: usize) -> (usize, usize) {
    let end = end.min(samples.len());
    if end < start + FRAME {
        return (start.min(end), end);
    }
    let (frames, floor) = levels(samples, start, end);
    let (Some(first), Some(last)) = (
        frames.iter().position(|&r| r >= floor),
        frames.iter().rposition(|&r| r >= floor),
    ) else {
        return (start, end);
    };
    let mut new_start = start + first * FRAME;
    let new_end = (start + (last + 1) * FRAME).min(end);
    if first == 0 {
        let limit = start.saturating_sub(LOOK_BACK).max(not_before);
        while new_start >= limit + FRAME && rms(&samples[new_start - FRAME..new_start]) >= floor {
            new_start -= FRAME;
        }
    }
    (new_start, new_end)
}

/// The RMS of each frame of `start..end`, and the level below which a frame
/// is silence there.
fn levels(samples: &[f32], start: usize, end: usize) -> (Vec<f32>, f32) {
    let frames: Vec<f32> = (start..end)
        .step_by(FRAME)
        .map(|at| rms(&samples[at..(at + FRAME).min(end)]))
        .collect();
    let peak = frames.iter().copied().fold(0.0f32, f32::max);
    (frames, (peak * RELATIVE_FLOOR).max(ABSOLUTE_FLOOR))
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcribe::pack::Piece;
    use crate::transcribe::segments::tests::token;

    /// One second of window: a tone from 0.2 s to 0.5 s and from 0.7 s to 0.9 s.
    fn window() -> Window {
        let samples = (0..16_000)
            .map(|i| {
                let voiced = (3_200..8_000).contains(&i) || (11_200..14_400).contains(&i);
                if voiced {
                    (i as f32 * 0.1).sin() * 0.3
                } else {
                    0.0
                }
            })
            .collect();
        Window {
            samples,
            pieces: vec![Piece {
                call_start: 160_000,
                window_start: 0,
                len: 16_000,
            }],
        }
    }

    #[test]
    fn words_join_their_tokens_and_fit_the_speech() {
        // "Hello," timed 0.18 s to the next word's 0.7 s; "world." 0.72 s on.
        let tokens = [
            token(" Hel", 2_880, 5_000),
            token("lo,", 5_000, 11_200),
            token(" world", 11_520, 13_000),
            token(".", 13_000, 16_000),
        ];
        let refs: Vec<&RawToken> = tokens.iter().collect();
        let words = words(&window(), 0, &refs);
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Hello,", "world."]);
        // Call time: the region starts 10 s into the call.
        assert_eq!((words[0].start_ms, words[0].end_ms), (10_200, 10_500));
        // The late start moves back to the onset at 0.7 s; the end stops at 0.9 s.
        assert_eq!((words[1].start_ms, words[1].end_ms), (10_700, 10_900));
        assert_eq!(words[0].confidence, Some(0.9));
    }

    #[test]
    fn punctuation_alone_makes_no_word() {
        let tokens = [token(",", 0, 100), token(" yes", 3_200, 8_000)];
        let refs: Vec<&RawToken> = tokens.iter().collect();
        let words = words(&window(), 0, &refs);
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["yes"]);
    }
}
