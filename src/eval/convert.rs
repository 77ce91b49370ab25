//! How written material becomes a call transcript for scoring (documented in
//! docs/eval.md): each text is one turn, timed as if spoken at 150 words a
//! minute, turns 0.5 s apart; a single text is one agent turn; a reply to a
//! post is the post as the customer's turn and the reply as the agent's.

use crate::transcript::{Segment, Speaker, Transcript};

/// Speaking rate assumed for written turns, words per second (150 a minute).
pub const WORDS_PER_SECOND: f64 = 2.5;
/// Silence between turns, ms.
pub const TURN_GAP_MS: u64 = 500;
/// Shortest turn, ms.
const MIN_TURN_MS: u64 = 1_000;

/// Builds a transcript from turns in order, each timed by its word count.
pub fn transcript(language: &str, turns: &[(Speaker, &str)]) -> Transcript {
    let mut segments = Vec::with_capacity(turns.len());
    let mut at = 0u64;
    for &(speaker, text) in turns {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let words = text.split_whitespace().count() as f64;
        let length = ((words / WORDS_PER_SECOND) * 1000.0).round() as u64;
        let end = at + length.max(MIN_TURN_MS);
        segments.push(Segment::new(speaker, at, end, text));
        at = end + TURN_GAP_MS;
    }
    Transcript {
        language: Some(language.to_owned()),
        segments,
        attribution: None,
    }
}

/// A single text as one agent turn.
pub fn single_turn(language: &str, text: &str) -> Transcript {
    transcript(language, &[(Speaker::Agent, text)])
}

/// A reply to a post: the post as the customer, the reply as the agent.
pub fn reply(language: &str, post: &str, reply: &str) -> Transcript {
    transcript(
        language,
        &[(Speaker::Customer, post), (Speaker::Agent, reply)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_are_timed_by_their_words() {
        let t = reply(
            "en",
            "I feel awful today",
            "I am so sorry to hear that, that sounds hard.",
        );
        assert_eq!(t.segments.len(), 2);
        assert_eq!(t.segments[0].speaker, Speaker::Customer);
        assert_eq!((t.segments[0].start_ms, t.segments[0].end_ms), (0, 1_600));
        assert_eq!(t.segments[1].start_ms, 2_100);
        assert_eq!(t.segments[1].end_ms, 2_100 + 4_000);
        assert_eq!(single_turn("id", "  ").segments.len(), 0);
    }
}
