//! Redaction: card numbers (Luhn-valid, spoken or written), answers to PIN,
//! OTP, CVV and password questions, e-mail addresses and phone numbers are
//! masked in stored and returned text. Segments keep their timing; only the
//! text inside a segment changes.

use crate::transcript::{Segment, TimeSpan, Transcript, Word};

use super::analysis::Analysis;
use super::engine::{Engine, EngineBuilder};

/// Fewest digits in a run masked as a phone number.
const PHONE_MIN_DIGITS: usize = 9;

/// One masked byte range of a segment's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mask {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What replaces it, e.g. `[CARD]`.
    pub label: &'static str,
}

/// The masks of one segment, sorted and without overlaps.
pub fn segment_masks(engine: &Engine, a: &Analysis<'_>, seg: usize) -> Vec<Mask> {
    let segments = &a.transcript.segments;
    let text = &segments[seg].text;
    let sets = engine.sets;
    let mut masks = Vec::new();
    // A secret is being asked for, or named, here or in the turn just before.
    let secret_label = |i: usize| {
        if a.seg_has(sets.pin, i) {
            Some("[PIN]")
        } else if a.seg_has(sets.otp, i) {
            Some("[OTP]")
        } else if a.seg_has(sets.cvv, i) {
            Some("[CVV]")
        } else if a.seg_has(sets.password, i) {
            Some("[PASSWORD]")
        } else {
            None
        }
    };
    let own = secret_label(seg);
    // An answer is the turn right after the other speaker's question.
    let asked = seg
        .checked_sub(1)
        .filter(|&i| segments[i].speaker != segments[seg].speaker)
        .and_then(secret_label);
    if asked == Some("[PASSWORD]") && own.is_none() {
        // A spoken password is words, not digits: the whole answer goes.
        masks.push(Mask {
            start: 0,
            end: text.len(),
            label: "[PASSWORD]",
        });
    } else if own == Some("[PASSWORD]") {
        let noun_end = a
            .seg_hits(sets.password, seg)
            .iter()
            .map(|h| a.hit_bytes(h).1)
            .min()
            .unwrap_or(text.len());
        // "my password is …": everything after the word.
        if let Some(offset) = text[noun_end..].find(|c: char| c.is_alphanumeric()) {
            masks.push(Mask {
                start: noun_end + offset,
                end: text.len(),
                label: "[PASSWORD]",
            });
        }
    }
    let secret = own.or(asked);
    for run in a.digit_runs.iter().filter(|r| r.seg == seg) {
        let label = if run.luhn {
            Some("[CARD]")
        } else if let Some(label) = secret {
            Some(label)
        } else if run.digits >= PHONE_MIN_DIGITS {
            Some("[PHONE]")
        } else {
            None
        };
        if let Some(label) = label {
            masks.push(Mask {
                start: run.start,
                end: run.end,
                label,
            });
        }
    }
    if may_hold_email(a, seg) {
        for m in engine.email.find_iter(text) {
            masks.push(Mask {
                start: m.start(),
                end: m.end(),
                label: "[EMAIL]",
            });
        }
    }
    masks.sort_unstable();
    let mut merged: Vec<Mask> = Vec::with_capacity(masks.len());
    for m in masks {
        match merged.last_mut() {
            Some(last) if m.start <= last.end => last.end = last.end.max(m.end),
            _ => merged.push(m),
        }
    }
    merged
}

/// Whether a segment can hold an e-mail address (the regex costs more than
/// this test): written ones have an `@`, spoken ones the words "at"/"et"
/// and "dot"/"titik" ("at" alone is ordinary English). The words are read
/// from the segment's tokens, which hold every whitespace-delimited word the
/// regex's spoken form needs, so no address is missed.
fn may_hold_email(a: &Analysis<'_>, seg: usize) -> bool {
    let text = a.transcript.segments[seg].text.as_bytes();
    if text.contains(&b'@') {
        return true;
    }
    let (first, last) = a.seg_tokens[seg];
    let (mut at, mut dot) = (false, false);
    for &(start, end) in &a.spans[first as usize..last as usize] {
        let word = text.get(start as usize..end as usize).unwrap_or_default();
        match word.len() {
            2 => at |= word.eq_ignore_ascii_case(b"at") || word.eq_ignore_ascii_case(b"et"),
            3 => dot |= word.eq_ignore_ascii_case(b"dot"),
            5 => dot |= word.eq_ignore_ascii_case(b"titik"),
            _ => {}
        }
    }
    at && dot
}

/// The text of `text[start..end]` with masks applied (clipped to the range).
pub fn apply_masks(text: &str, start: usize, end: usize, masks: &[Mask]) -> String {
    let mut out = String::with_capacity(end - start);
    let mut at = start;
    for m in masks {
        if m.end <= start || m.start >= end {
            continue;
        }
        let (ms, me) = (m.start.max(start), m.end.min(end));
        if ms > at {
            out.push_str(&text[at..ms]);
        }
        if me > at {
            out.push_str(m.label);
            at = me;
        }
    }
    if at < end {
        out.push_str(&text[at..end]);
    }
    out
}

/// Masks sensitive data in transcripts; build once, use for many.
#[derive(Debug)]
pub struct Redactor {
    engine: Engine,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

impl Redactor {
    /// Builds the redaction engine (built-in lexicons only).
    pub fn new() -> Self {
        Redactor {
            engine: EngineBuilder::default().build(),
        }
    }

    /// A copy of the transcript with sensitive data masked; timing untouched.
    pub fn redact(&self, transcript: &Transcript) -> Transcript {
        redact_with(&self.engine, transcript)
    }

    /// The masked copy and where the masked words lie in the call.
    pub fn redact_timed(&self, transcript: &Transcript) -> Redaction {
        redact_timed(&self.engine, transcript)
    }

    /// Free text a person typed (a coaching note, an override reason) with
    /// the same masks: it is read as one turn that names what it quotes.
    pub fn redact_text(&self, text: &str) -> String {
        let transcript = Transcript {
            language: None,
            segments: vec![crate::transcript::Segment::new(
                crate::transcript::Speaker::Agent,
                0,
                0,
                text,
            )],
            attribution: None,
        };
        redact_with(&self.engine, &transcript)
            .segments
            .pop()
            .map_or_else(String::new, |segment| segment.text)
    }
}

/// A transcript with sensitive data masked, and where in the call the
/// masked words were spoken (what the recording must lose too).
#[derive(Debug, Clone)]
pub struct Redaction {
    /// The masked transcript.
    pub transcript: Transcript,
    /// The masked stretches of call time, in transcript order: each masked
    /// word's times, or its whole segment's where words are not timed.
    pub masked: Vec<TimeSpan>,
}

/// Redacts with any engine (a compiled rubric's engine includes the lexicons too).
pub fn redact_with(engine: &Engine, transcript: &Transcript) -> Transcript {
    redact_timed(engine, transcript).transcript
}

/// Redacts and says where the masked words lie in time.
pub fn redact_timed(engine: &Engine, transcript: &Transcript) -> Redaction {
    let a = Analysis::new(engine, transcript);
    let mut out = transcript.clone();
    let mut masked = Vec::new();
    for (i, seg) in out.segments.iter_mut().enumerate() {
        let masks = segment_masks(engine, &a, i);
        if masks.is_empty() {
            continue;
        }
        let (words, spans) = redact_words(seg, &masks);
        if spans.is_empty() {
            // No word placed the mask: the whole turn goes from the audio.
            masked.push(TimeSpan {
                start_ms: seg.start_ms,
                end_ms: seg.end_ms,
            });
        }
        masked.extend(spans);
        seg.words = words;
        seg.text = apply_masks(&seg.text, 0, seg.text.len(), &masks);
    }
    Redaction {
        transcript: out,
        masked,
    }
}

/// The words of a segment with masked ones replaced by their mask's label,
/// one word per mask spanning the times of the words it hides, and those
/// times. Words that cannot be placed in the text are all dropped: a word
/// timing must never keep what the text masks.
fn redact_words(segment: &Segment, masks: &[Mask]) -> (Vec<Word>, Vec<TimeSpan>) {
    let Some(spans) = segment.word_spans() else {
        return (Vec::new(), Vec::new());
    };
    let mut out: Vec<Word> = Vec::new();
    let mut masked: Vec<TimeSpan> = Vec::new();
    let mut last_mask: Option<usize> = None;
    for (word, &(start, end)) in segment.words.iter().zip(&spans) {
        let hit = masks
            .iter()
            .position(|m| m.start < end.max(start + 1) && start < m.end);
        match hit {
            None => {
                out.push(word.clone());
                last_mask = None;
            }
            Some(m) if last_mask == Some(m) => {
                if let Some(previous) = out.last_mut() {
                    previous.end_ms = previous.end_ms.max(word.end_ms);
                }
                if let Some(previous) = masked.last_mut() {
                    previous.end_ms = previous.end_ms.max(word.end_ms);
                }
            }
            Some(m) => {
                out.push(Word {
                    start_ms: word.start_ms,
                    end_ms: word.end_ms,
                    text: masks[m].label.to_string(),
                    confidence: None,
                });
                masked.push(TimeSpan {
                    start_ms: word.start_ms,
                    end_ms: word.end_ms,
                });
                last_mask = Some(m);
            }
        }
    }
    (out, masked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(start: usize, end: usize, label: &'static str) -> Mask {
        Mask { start, end, label }
    }

    #[test]
    fn only_texts_that_can_hold_an_address_reach_the_email_regex() {
        let engine = EngineBuilder::default().build();
        let may_hold = |text: &str| {
            let t = Transcript {
                language: None,
                segments: vec![seg(crate::transcript::Speaker::Customer, text)],
                attribution: None,
            };
            may_hold_email(&Analysis::new(&engine, &t), 0)
        };
        assert!(may_hold("write to budi@example.com"));
        assert!(may_hold("budi at gmail dot com"));
        assert!(may_hold("Budi AT gmail DOT com"));
        assert!(may_hold("budi et gmail titik co titik id"));
        assert!(may_hold("budi.santoso at gmail, dot com"));
        assert!(!may_hold("it arrives at the latest on Monday"));
        assert!(!may_hold("a dot on the screen"));
        assert!(!may_hold("that is the date of the dotcom crash"));
        // Whatever passes the test, the regex decides.
        let redactor = Redactor::new();
        let t = Transcript {
            language: None,
            segments: vec![seg(
                crate::transcript::Speaker::Customer,
                "It is Budi AT gmail DOT com, at noon",
            )],
            attribution: None,
        };
        assert_eq!(
            redactor.redact(&t).segments[0].text,
            "It is [EMAIL], at noon"
        );
    }

    #[test]
    fn typed_notes_lose_card_numbers_pins_and_contacts() {
        let redactor = Redactor::new();
        for (note, secret) in [
            (
                "Customer read out card 4111 1111 1111 1111 on the call",
                "4111",
            ),
            ("She gave her PIN 4821 before the agent stopped her", "4821"),
            (
                "Kartu 4111111111111111 disebut pelanggan",
                "4111111111111111",
            ),
            (
                "Agent asked for email budi.santoso@example.com",
                "budi.santoso@",
            ),
            ("Callback on 0812 3456 7890 please", "3456"),
        ] {
            let redacted = redactor.redact_text(note);
            assert!(!redacted.contains(secret), "{note:?} -> {redacted:?}");
        }
        let plain = "Great empathy, follow up on the delivery date";
        assert_eq!(redactor.redact_text(plain), plain);
    }

    #[test]
    fn masks_are_clipped_to_the_quote() {
        let text = "card 4111111111111111 ok";
        let masks = [mask(5, 21, "[CARD]")];
        assert_eq!(apply_masks(text, 0, text.len(), &masks), "card [CARD] ok");
        // A quote that starts inside the masked span still hides it.
        assert_eq!(apply_masks(text, 10, text.len(), &masks), "[CARD] ok");
        assert_eq!(apply_masks(text, 0, 4, &masks), "card");
        assert_eq!(apply_masks(text, 0, 12, &masks), "card [CARD]");
    }

    #[test]
    fn only_the_direct_answer_is_treated_as_a_secret() {
        let redactor = Redactor::new();
        let t = Transcript {
            language: None,
            segments: vec![
                seg(crate::transcript::Speaker::Agent, "Berapa PIN Bapak?"),
                seg(crate::transcript::Speaker::Customer, "1234"),
                seg(crate::transcript::Speaker::Customer, "pesanan saya 3 buah"),
            ],
            attribution: None,
        };
        let r = redactor.redact(&t);
        assert_eq!(r.segments[1].text, "[PIN]");
        assert_eq!(r.segments[2].text, "pesanan saya 3 buah");
    }

    #[test]
    fn masked_words_lose_their_text_and_keep_their_times() {
        let redactor = Redactor::new();
        let word = |text: &str, start_ms: u64| Word {
            start_ms,
            end_ms: start_ms + 400,
            text: text.to_owned(),
            confidence: Some(0.9),
        };
        let mut segment = seg(
            crate::transcript::Speaker::Customer,
            "My card is 4111 1111 1111 1111 thanks",
        );
        segment.words = ["My", "card", "is", "4111", "1111", "1111", "1111", "thanks"]
            .iter()
            .enumerate()
            .map(|(i, w)| word(w, i as u64 * 500))
            .collect();
        let t = Transcript {
            language: None,
            segments: vec![segment],
            attribution: None,
        };
        let r = redactor.redact(&t);
        let words = &r.segments[0].words;
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["My", "card", "is", "[CARD]", "thanks"]);
        // The mask spans the four groups' times: 1.5 s to 3.4 s.
        assert_eq!((words[3].start_ms, words[3].end_ms), (1_500, 3_400));
        let timed = redactor.redact_timed(&t);
        assert_eq!(
            timed.masked,
            [TimeSpan {
                start_ms: 1_500,
                end_ms: 3_400
            }]
        );
        // Without word timings the whole turn is masked in the audio.
        let mut untimed = t.clone();
        untimed.segments[0].words.clear();
        assert_eq!(
            redactor.redact_timed(&untimed).masked,
            [TimeSpan {
                start_ms: 0,
                end_ms: 1_000
            }]
        );
        assert!(!serde_json::to_string(&r).expect("json").contains("4111"));
        // The redacted text still places every word.
        assert!(r.segments[0].word_spans().is_some());
    }

    fn seg(speaker: crate::transcript::Speaker, text: &str) -> crate::transcript::Segment {
        crate::transcript::Segment {
            speaker,
            start_ms: 0,
            end_ms: 1000,
            text: text.to_owned(),
            language: None,
            confidence: None,
            words: Vec::new(),
            voice: None,
        }
    }
}
