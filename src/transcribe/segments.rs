//! Reading Whisper's segments out of a state and placing them in call time.

use whisper_rs::WhisperState;

use super::pack::Window;
use super::repetition::collapse_loops;
use crate::audio::samples_to_ms;
use crate::transcript::{Segment, Speaker};

/// Samples per Whisper timestamp unit (10 ms at 16 kHz).
const SAMPLES_PER_CS: i64 = 160;
/// A window Whisper itself thinks is probably not speech, decoded with low
/// confidence, is dropped: the classic hallucination on noise.
const NO_SPEECH_DROP: f32 = 0.6;
/// Mean token probability below which a likely-non-speech segment is dropped.
const LOW_CONFIDENCE: f32 = 0.5;
/// A speech region shorter than this (samples, 1 s) is often a click, beep or
/// breath the VAD let through, on which Whisper invents a stock phrase
/// ("Hello.", "Thank you."); its text needs more confidence to be kept.
const SHORT_REGION: usize = 16_000;
/// Mean token probability a short region's text needs (real short replies
/// such as "Okay." measure 0.7 and more; hallucinated ones about 0.5).
const SHORT_REGION_CONFIDENCE: f32 = 0.6;

/// One text token with its window-relative times.
#[derive(Debug, Clone)]
pub(super) struct RawToken {
    t0: i64,
    t1: i64,
    p: f32,
    bytes: Vec<u8>,
}

/// One Whisper segment with window-relative times (samples).
#[derive(Debug, Clone)]
pub(super) struct RawSegment {
    t0: i64,
    t1: i64,
    no_speech: f32,
    tokens: Vec<RawToken>,
}

/// Reads every segment of the last `full` run; `first_special` is the first
/// non-text token id (end of text), so timestamps and tags are left out.
pub(super) fn read(state: &WhisperState, first_special: i32) -> Vec<RawSegment> {
    let mut out = Vec::new();
    for segment in state.as_iter() {
        let mut tokens = Vec::new();
        for index in 0..segment.n_tokens() {
            let Some(token) = segment.get_token(index) else {
                continue;
            };
            let data = token.token_data();
            if data.id >= first_special {
                continue;
            }
            let Ok(bytes) = token.to_bytes() else {
                continue;
            };
            tokens.push(RawToken {
                t0: data.t0 * SAMPLES_PER_CS,
                t1: data.t1 * SAMPLES_PER_CS,
                p: data.p,
                bytes: bytes.to_vec(),
            });
        }
        out.push(RawSegment {
            t0: segment.start_timestamp() * SAMPLES_PER_CS,
            t1: segment.end_timestamp() * SAMPLES_PER_CS,
            no_speech: segment.no_speech_probability(),
            tokens,
        });
    }
    out
}

/// Places a window's segments in call time, splitting any segment that spans
/// several packed regions at the region boundaries (by token timestamps).
pub(super) fn place(
    window: &Window,
    raw: Vec<RawSegment>,
    speaker: Speaker,
    language: Option<&str>,
) -> Vec<Segment> {
    let mut out = Vec::new();
    for segment in raw {
        if segment.tokens.is_empty() {
            continue;
        }
        let first = window.piece_at(to_index(segment.t0));
        let last = window.piece_at(to_index(segment.t1 - 1));
        let groups: Vec<(usize, Vec<&RawToken>)> = if first == last {
            vec![(first, segment.tokens.iter().collect())]
        } else {
            group_by_piece(window, &segment.tokens, first)
        };
        let single = groups.len() == 1;
        for (piece, tokens) in groups {
            // A segment inside one region keeps Whisper's segment times, which
            // are steadier than token times; split parts use token times.
            let (t0, t1) = match (single, tokens.first(), tokens.last()) {
                (true, _, _) => (segment.t0, segment.t1),
                (false, Some(a), Some(b)) => (a.t0, b.t1.max(a.t0)),
                _ => continue,
            };
            let start = window.to_call_time(piece, to_index(t0));
            let end = window.to_call_time(piece, to_index(t1)).max(start);
            let bytes: Vec<u8> = tokens
                .iter()
                .flat_map(|t| t.bytes.iter().copied())
                .collect();
            let text = collapse_loops(String::from_utf8_lossy(&bytes).trim());
            if !text.chars().any(char::is_alphanumeric) {
                continue;
            }
            let confidence = tokens.iter().map(|t| t.p).sum::<f32>() / tokens.len() as f32;
            if segment.no_speech > NO_SPEECH_DROP && confidence < LOW_CONFIDENCE {
                continue;
            }
            let short = window
                .pieces
                .get(piece)
                .is_some_and(|p| p.len < SHORT_REGION);
            if short && confidence < SHORT_REGION_CONFIDENCE {
                continue;
            }
            out.push(Segment {
                speaker,
                start_ms: samples_to_ms(start),
                end_ms: samples_to_ms(end),
                text,
                language: language.map(str::to_string),
                confidence: Some(confidence),
            });
        }
    }
    out
}

/// How far (in tokens) a region boundary found from token times may move to
/// land on a sentence end.
const SNAP_TOKENS: usize = 3;

/// Groups tokens by the packed region their midpoint falls in, never going
/// back to an earlier region. Token times jitter by a word or two near a
/// boundary, while a turn nearly always ends a sentence, so each boundary is
/// moved to the nearest sentence end within [`SNAP_TOKENS`] when there is one.
fn group_by_piece<'a>(
    window: &Window,
    tokens: &'a [RawToken],
    first: usize,
) -> Vec<(usize, Vec<&'a RawToken>)> {
    let mut pieces = Vec::with_capacity(tokens.len());
    let mut current = first;
    for token in tokens {
        let mid = to_index((token.t0 + token.t1) / 2);
        current = current.max(window.piece_at(mid));
        pieces.push(current);
    }
    let ends_sentence = |i: usize| {
        let text = String::from_utf8_lossy(&tokens[i].bytes);
        text.trim_end().ends_with(['.', '?', '!'])
    };
    for boundary in 1..tokens.len() {
        if pieces[boundary] == pieces[boundary - 1] {
            continue;
        }
        if ends_sentence(boundary - 1) {
            continue;
        }
        let low = boundary.saturating_sub(SNAP_TOKENS).max(1);
        let high = (boundary + SNAP_TOKENS).min(tokens.len() - 1);
        let snapped = (low..=high)
            .filter(|&b| ends_sentence(b - 1))
            .min_by_key(|&b| b.abs_diff(boundary));
        if let Some(b) = snapped {
            let (from, to) = (pieces[boundary - 1], pieces[boundary]);
            // Move the tokens between the two boundaries to the other side.
            for piece in pieces
                .iter_mut()
                .take(boundary.max(b))
                .skip(boundary.min(b))
            {
                *piece = if b < boundary { to } else { from };
            }
        }
    }
    let mut groups: Vec<(usize, Vec<&RawToken>)> = Vec::new();
    for (token, piece) in tokens.iter().zip(pieces) {
        match groups.last_mut() {
            Some((last, list)) if *last == piece => list.push(token),
            _ => groups.push((piece, vec![token])),
        }
    }
    groups
}

/// Converts a (possibly negative) sample time to an index.
fn to_index(t: i64) -> usize {
    usize::try_from(t).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcribe::pack::Piece;

    fn token(text: &str, t0: i64, t1: i64) -> RawToken {
        RawToken {
            t0,
            t1,
            p: 0.9,
            bytes: text.as_bytes().to_vec(),
        }
    }

    fn window() -> Window {
        Window {
            samples: vec![0.0; 3000],
            pieces: vec![
                Piece {
                    call_start: 10_000,
                    window_start: 0,
                    len: 1000,
                },
                Piece {
                    call_start: 50_000,
                    window_start: 1300,
                    len: 1700,
                },
            ],
        }
    }

    #[test]
    fn boundary_snaps_to_the_sentence_end() {
        // "All" is timed inside the first region, but the first turn ends at "key."
        let tokens = [
            token(" the", 700, 800),
            token(" key.", 800, 950),
            token(" All", 950, 1100),
            token(" circuits", 1350, 1600),
            token(" busy.", 1600, 1900),
        ];
        let groups = group_by_piece(&window(), &tokens, 0);
        let texts: Vec<(usize, String)> = groups
            .iter()
            .map(|(piece, list)| {
                let bytes: Vec<u8> = list.iter().flat_map(|t| t.bytes.clone()).collect();
                (*piece, String::from_utf8_lossy(&bytes).into_owned())
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                (0, " the key.".to_string()),
                (1, " All circuits busy.".to_string())
            ]
        );
    }

    #[test]
    fn segment_spanning_two_regions_is_split_in_call_time() {
        let raw = RawSegment {
            t0: 600,
            t1: 1900,
            no_speech: 0.0,
            tokens: vec![
                token(" Hello.", 600, 950),
                token(" Yes", 1350, 1500),
                token(" please.", 1500, 1900),
            ],
        };
        let segments = place(&window(), vec![raw], Speaker::Agent, Some("en"));
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].text, "Hello.");
        assert_eq!(segments[1].text, "Yes please.");
        // Window 1350 is 50 samples into the second region, which starts at call sample 50 000.
        assert_eq!(segments[1].start_ms, 50_050 * 1000 / 16_000);
        assert!(segments[0].end_ms < segments[1].start_ms);
    }
}
