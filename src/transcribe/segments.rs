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

/// Groups tokens by the packed region their midpoint falls in, never going
/// back to an earlier region (token times jitter near boundaries).
fn group_by_piece<'a>(
    window: &Window,
    tokens: &'a [RawToken],
    first: usize,
) -> Vec<(usize, Vec<&'a RawToken>)> {
    let mut groups: Vec<(usize, Vec<&RawToken>)> = Vec::new();
    let mut current = first;
    for token in tokens {
        let mid = to_index((token.t0 + token.t1) / 2);
        current = current.max(window.piece_at(mid));
        match groups.last_mut() {
            Some((piece, list)) if *piece == current => list.push(token),
            _ => groups.push((current, vec![token])),
        }
    }
    groups
}

/// Converts a (possibly negative) sample time to an index.
fn to_index(t: i64) -> usize {
    usize::try_from(t).unwrap_or(0)
}
