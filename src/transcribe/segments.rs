//! Reading Whisper's segments out of a state and placing them in call time.

use whisper_rs::WhisperState;

use super::pack::Window;
use super::repetition::collapse_loops;
use crate::audio::samples_to_ms;
use crate::transcript::{Segment, Speaker};

/// Samples per Whisper timestamp unit (10 ms at 16 kHz).
const SAMPLES_PER_CS: i64 = 160;
/// Duration given to a segment's last token under DTW alignment, which
/// times token starts only (200 ms).
const DTW_LAST_TOKEN: i64 = 3200;
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
    pub(super) t0: i64,
    pub(super) t1: i64,
    pub(super) p: f32,
    pub(super) bytes: Vec<u8>,
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
///
/// When the context computes DTW token timestamps (accurate to a few tens of
/// ms, where Whisper's own timestamps drift by up to a second on tiny models),
/// token and segment times come from them.
pub(super) fn read(state: &WhisperState, first_special: i32) -> Vec<RawSegment> {
    let mut out = Vec::new();
    for segment in state.as_iter() {
        let mut tokens = Vec::new();
        let mut aligned = Vec::new();
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
            aligned.push(data.t_dtw);
            tokens.push(RawToken {
                t0: data.t0 * SAMPLES_PER_CS,
                t1: data.t1 * SAMPLES_PER_CS,
                p: data.p,
                bytes: bytes.to_vec(),
            });
        }
        let mut raw = RawSegment {
            t0: segment.start_timestamp() * SAMPLES_PER_CS,
            t1: segment.end_timestamp() * SAMPLES_PER_CS,
            no_speech: segment.no_speech_probability(),
            tokens,
        };
        if !aligned.is_empty() && aligned.iter().all(|&t| t >= 0) {
            use_alignment(&mut raw, &aligned);
        }
        out.push(raw);
    }
    out
}

/// Replaces token and segment times by DTW times (centiseconds): each token
/// spans from its own DTW time to the next one's.
fn use_alignment(segment: &mut RawSegment, aligned: &[i64]) {
    let count = segment.tokens.len();
    for (index, token) in segment.tokens.iter_mut().enumerate() {
        let start = aligned[index] * SAMPLES_PER_CS;
        let end = aligned
            .get(index + 1)
            .map_or(start + DTW_LAST_TOKEN, |next| next * SAMPLES_PER_CS)
            .max(start);
        token.t0 = start;
        token.t1 = end;
    }
    if let (Some(first), Some(last)) = (segment.tokens.first(), segment.tokens.get(count - 1)) {
        segment.t0 = first.t0;
        segment.t1 = last.t1;
    }
}

/// Places a window's segments in call time.
///
/// All tokens of the window are taken as one stream and each is assigned to
/// the packed region its time falls in (never going back to an earlier one).
/// Token times jitter by a word or two near a boundary, while a turn nearly
/// always ends a sentence, so each boundary moves to the nearest sentence end
/// within [`SNAP_TOKENS`]. Output segments break where the region changes and
/// where Whisper ended a segment on a sentence end.
pub(super) fn place(
    window: &Window,
    raw: Vec<RawSegment>,
    speaker: Speaker,
    language: Option<&str>,
) -> Vec<Segment> {
    let stream: Vec<(usize, &RawToken)> = raw
        .iter()
        .enumerate()
        .flat_map(|(index, segment)| segment.tokens.iter().map(move |token| (index, token)))
        .collect();
    let tokens: Vec<&RawToken> = stream.iter().map(|(_, token)| *token).collect();
    let pieces = assign_pieces(window, &tokens);

    let mut out = Vec::new();
    let mut group: Vec<&RawToken> = Vec::new();
    for (position, (segment, token)) in stream.iter().enumerate() {
        group.push(token);
        let last = position + 1 == stream.len();
        let breaks = last || {
            let (next_segment, _) = stream[position + 1];
            pieces[position + 1] != pieces[position]
                || (next_segment != *segment && ends_sentence(token))
        };
        if breaks {
            let no_speech = raw[*segment].no_speech;
            if let Some(placed) = build(
                window,
                pieces[position],
                &group,
                no_speech,
                speaker,
                language,
            ) {
                out.push(placed);
            }
            group.clear();
        }
    }
    out
}

/// Turns a group of tokens in one region into a segment, or drops it as
/// likely hallucination.
fn build(
    window: &Window,
    piece: usize,
    tokens: &[&RawToken],
    no_speech: f32,
    speaker: Speaker,
    language: Option<&str>,
) -> Option<Segment> {
    let (first, last) = (tokens.first()?, tokens.last()?);
    let start = window.to_call_time(piece, to_index(first.t0));
    let end = window.to_call_time(piece, to_index(last.t1)).max(start);
    let bytes: Vec<u8> = tokens
        .iter()
        .flat_map(|t| t.bytes.iter().copied())
        .collect();
    let said = String::from_utf8_lossy(&bytes);
    let said = said.trim().trim_start_matches([',', ';', ':', ' ']);
    let text = collapse_loops(said);
    let text = text.trim_start_matches([',', ';', ':', ' ']).to_string();
    // Words are kept only when they spell the text: a collapsed repetition
    // loop has words the text no longer holds.
    let words = if text == said {
        super::words::words(window, piece, tokens)
    } else {
        Vec::new()
    };
    if !text.chars().any(char::is_alphanumeric) {
        return None;
    }
    let confidence = tokens.iter().map(|t| t.p).sum::<f32>() / tokens.len() as f32;
    if no_speech > NO_SPEECH_DROP && confidence < LOW_CONFIDENCE {
        return None;
    }
    let short = window
        .pieces
        .get(piece)
        .is_some_and(|p| p.len < SHORT_REGION);
    if short && confidence < SHORT_REGION_CONFIDENCE {
        return None;
    }
    Some(Segment {
        speaker,
        start_ms: samples_to_ms(start),
        end_ms: samples_to_ms(end),
        text,
        language: language.map(str::to_string),
        confidence: Some(confidence),
        words,
        voice: None,
    })
}

/// Whether a token ends a sentence.
fn ends_sentence(token: &RawToken) -> bool {
    String::from_utf8_lossy(&token.bytes)
        .trim_end()
        .ends_with(['.', '?', '!'])
}

/// How far (in tokens) a region boundary found from token times may move to
/// land on a sentence end.
const SNAP_TOKENS: usize = 3;

/// The packed region of every token: by its time, never going back, with
/// boundaries snapped to sentence ends.
fn assign_pieces(window: &Window, tokens: &[&RawToken]) -> Vec<usize> {
    let mut pieces = Vec::with_capacity(tokens.len());
    let mut current = 0;
    for token in tokens {
        let mid = to_index((token.t0 + token.t1) / 2);
        current = current.max(window.piece_at(mid));
        pieces.push(current);
    }
    for boundary in 1..tokens.len() {
        if pieces[boundary] == pieces[boundary - 1] || ends_sentence(tokens[boundary - 1]) {
            continue;
        }
        // The window's start also starts a sentence (b = 0).
        let low = boundary.saturating_sub(SNAP_TOKENS);
        let high = (boundary + SNAP_TOKENS).min(tokens.len() - 1);
        let snapped = (low..=high)
            .filter(|&b| b == 0 || ends_sentence(tokens[b - 1]))
            // On a tie a real sentence end wins over the window's start.
            .min_by_key(|&b| (b.abs_diff(boundary), b == 0));
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
    pieces
}

/// Converts a (possibly negative) sample time to an index.
pub(super) fn to_index(t: i64) -> usize {
    usize::try_from(t).unwrap_or(0)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::transcribe::pack::Piece;

    /// A text token with probability 0.9.
    pub(in crate::transcribe) fn token(text: &str, t0: i64, t1: i64) -> RawToken {
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
        let refs: Vec<&RawToken> = tokens.iter().collect();
        assert_eq!(assign_pieces(&window(), &refs), [0, 0, 1, 1, 1]);
        // And back: "key." timed in the second region still ends the first turn.
        let late = [
            token(" pound", 700, 900),
            token(" key.", 1350, 1400),
            token(" All", 1400, 1500),
        ];
        let refs: Vec<&RawToken> = late.iter().collect();
        assert_eq!(assign_pieces(&window(), &refs), [0, 0, 1]);
    }

    #[test]
    fn trailing_fragment_moves_to_the_next_region() {
        let first = RawSegment {
            t0: 0,
            t1: 1000,
            no_speech: 0.0,
            tokens: vec![token(" Pound key.", 100, 800), token(" All", 800, 990)],
        };
        let second = RawSegment {
            t0: 1300,
            t1: 2500,
            no_speech: 0.0,
            tokens: vec![token(" circuits", 1300, 1800), token(" busy.", 1800, 2500)],
        };
        let segments = place(&window(), vec![first, second], Speaker::Agent, None);
        let texts: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Pound key.", "All circuits busy."]);
        assert!(segments[1].start_ms >= 50_000 * 1000 / 16_000);
    }

    #[test]
    fn fragment_segment_moves_to_the_next_region() {
        let fragment = RawSegment {
            t0: 900,
            t1: 990,
            no_speech: 0.0,
            tokens: vec![token(" All", 900, 990)],
        };
        let next = RawSegment {
            t0: 1300,
            t1: 2500,
            no_speech: 0.0,
            tokens: vec![token(" circuits", 1300, 1800), token(" busy.", 1800, 2500)],
        };
        let segments = place(&window(), vec![fragment, next], Speaker::Agent, None);
        let texts: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["All circuits busy."]);
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
