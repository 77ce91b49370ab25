//! Where each token stands: sentence and clause starts, questions, negation
//! and reported speech, and each segment's language. Graded markers read
//! this to count a cue only where it means what it says.

use crate::transcript::Speaker;

use super::super::analysis::Analysis;
use super::ScopeSets;

/// How far back a negator reaches ("I am not really sorry": three tokens).
const NEGATION_REACH: u32 = 3;

/// A segment's language as far as markers are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnLanguage {
    /// Mostly English function words.
    En,
    /// Mostly Indonesian function words.
    Id,
    /// Neither, or a tie: markers of both languages count.
    Unknown,
}

impl TurnLanguage {
    /// The ISO 639-1 code, when known.
    pub fn code(self) -> Option<&'static str> {
        match self {
            TurnLanguage::En => Some("en"),
            TurnLanguage::Id => Some("id"),
            TurnLanguage::Unknown => None,
        }
    }
}

/// First word of a sentence (after fillers such as "okay").
const SENTENCE_START: u8 = 1;
/// First word of a clause (also after `,` `;` `:`).
const CLAUSE_START: u8 = 1 << 1;
/// First word after a punctuation mark or the turn's start, fillers not
/// skipped: what a marker standing alone must be bounded by.
const BOUNDED: u8 = 1 << 2;
/// Inside a sentence that ends with a question mark.
const QUESTION: u8 = 1 << 3;
/// A negator stands within the previous three tokens of its clause.
const NEGATED: u8 = 1 << 4;
/// Inside reported speech or quotation marks.
const REPORTED: u8 = 1 << 5;
/// A discourse filler, lead-in or vocative ("okay", "next time", "Bapak").
const FILLER: u8 = 1 << 6;

/// Per-token facts of one call, indexed like [`Analysis::ids`]: one byte of
/// flags per token, so that a marker's checks read one cache line.
#[derive(Debug)]
pub struct TokenContext {
    flags: Vec<u8>,
    /// Each segment's language.
    pub language: Vec<TurnLanguage>,
    /// Each customer segment's voiced emotion, 0..1 (0 for other speakers).
    pub emotion: Vec<f64>,
    /// Whether each customer segment voiced joy or good news (false for
    /// other speakers).
    pub joy: Vec<bool>,
}

/// What a token looks like as written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Surface {
    /// Letters in the word.
    pub letters: u16,
    /// One letter three times in a row ("bangettt"; "xxx" excepted).
    pub elongated: bool,
    /// Reduplicated with a digit ("bisa2").
    pub digit_reduplication: bool,
}

/// The hash of a word's surface: lower case, apostrophes dropped ("Don't" and
/// "dont" hash alike). Exact-form markers compare these.
pub fn surface_hash(word: &str) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let step = |h: u64, x: u64| (h.rotate_left(5) ^ x).wrapping_mul(K);
    if word.is_ascii() {
        return word
            .bytes()
            .filter(|&b| b != b'\'')
            .fold(0u64, |h, b| step(h, u64::from(b.to_ascii_lowercase())));
    }
    word.chars()
        .filter(|&c| c != '\'' && c != '\u{2019}')
        .flat_map(char::to_lowercase)
        .fold(0u64, |h, c| step(h, u64::from(u32::from(c))))
}

impl TokenContext {
    fn has(&self, token: usize, flag: u8) -> bool {
        self.flags.get(token).is_some_and(|f| f & flag != 0)
    }

    fn set(&mut self, token: usize, flag: u8, on: bool) {
        if let Some(f) = self.flags.get_mut(token) {
            if on {
                *f |= flag;
            } else {
                *f &= !flag;
            }
        }
    }

    /// First word of a sentence (after fillers such as "okay").
    pub fn sentence_start(&self, token: usize) -> bool {
        self.has(token, SENTENCE_START)
    }

    /// First word of a clause (also after `,` `;` `:`).
    pub fn clause_start(&self, token: usize) -> bool {
        self.has(token, CLAUSE_START)
    }

    /// First word after a punctuation mark or the turn's start, fillers not
    /// skipped: what a marker standing alone must be bounded by.
    pub fn bounded(&self, token: usize) -> bool {
        self.has(token, BOUNDED)
    }

    /// Inside a sentence that ends with a question mark.
    pub fn question(&self, token: usize) -> bool {
        self.has(token, QUESTION)
    }

    /// A negator stands within the previous three tokens of its clause.
    pub fn negated(&self, token: usize) -> bool {
        self.has(token, NEGATED)
    }

    /// Inside reported speech or quotation marks.
    pub fn reported(&self, token: usize) -> bool {
        self.has(token, REPORTED)
    }

    /// The surface hash of a token of segment `seg` (computed when asked:
    /// only tokens that hit an exact-form marker need it).
    pub fn surface_hash(&self, a: &Analysis<'_>, seg: usize, token: usize) -> u64 {
        surface_hash(self.surface(a, seg, token))
    }

    /// A token of segment `seg` as written.
    pub fn surface<'a>(&self, a: &'a Analysis<'_>, seg: usize, token: usize) -> &'a str {
        let (start, end) = a.spans[token];
        a.transcript.segments[seg]
            .text
            .get(start as usize..end as usize)
            .unwrap_or("")
    }
}

/// Reads a word's surface.
pub fn read_surface(word: &str) -> Surface {
    let bytes = word.as_bytes();
    let digit_reduplication = bytes.len() >= 3
        && bytes[bytes.len() - 1] == b'2'
        && bytes[..bytes.len() - 1].iter().all(u8::is_ascii_alphabetic);
    // Most words are ASCII with no byte three times in a row (case folded):
    // their letters are counted in one pass that the compiler vectorises.
    let folded = |b: u8| b | 0x20;
    if word.is_ascii()
        && !bytes
            .windows(3)
            .any(|w| folded(w[0]) == folded(w[1]) && folded(w[1]) == folded(w[2]))
    {
        let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
        return Surface {
            letters: u16::try_from(letters).unwrap_or(u16::MAX),
            elongated: false,
            digit_reduplication,
        };
    }
    let mut letters = 0u16;
    let mut elongated = false;
    let mut run = (0u8, 0u8);
    for &b in bytes {
        if b.is_ascii_alphabetic() {
            letters = letters.saturating_add(1);
            let lower = b.to_ascii_lowercase();
            run = if run.0 == lower {
                (lower, run.1.saturating_add(1))
            } else {
                (lower, 1)
            };
            elongated |= run.1 >= 3 && lower != b'x';
        } else {
            run = (0, 0);
        }
    }
    if !word.is_ascii() {
        letters =
            u16::try_from(word.chars().filter(|c| c.is_alphabetic()).count()).unwrap_or(u16::MAX);
    }
    Surface {
        letters,
        elongated,
        digit_reduplication,
    }
}

/// What the text between two words says about them.
#[derive(Debug, Clone, Copy, Default)]
struct Gap {
    sentence_end: bool,
    clause_end: bool,
    question: bool,
    quotes: u32,
}

/// Reads the text between two words; a lone space (the usual case) is quick.
fn read_gap(gap: &str) -> Gap {
    let mut g = Gap::default();
    if gap == " " {
        return g;
    }
    for c in gap.chars() {
        match c {
            '.' | '!' | '…' | '\n' => g.sentence_end = true,
            '?' => {
                g.sentence_end = true;
                g.question = true;
            }
            ',' | ';' | ':' | '—' | '–' | '(' | ')' => g.clause_end = true,
            '"' | '“' | '”' | '«' | '»' => g.quotes += 1,
            _ => {}
        }
    }
    g.clause_end |= g.sentence_end;
    g
}

impl TokenContext {
    /// Computes the context of every token of an analysed call.
    pub fn new(a: &Analysis<'_>, scope: &ScopeSets, negator: u32) -> Self {
        let n = a.ids.len();
        let segments = &a.transcript.segments;
        let mut ctx = TokenContext {
            flags: vec![0; n],
            language: vec![TurnLanguage::Unknown; segments.len()],
            emotion: vec![0.0; segments.len()],
            joy: vec![false; segments.len()],
        };
        // Every word of a filler, so that "next time" passes a start on.
        for h in a.set_hits(scope.fillers) {
            for t in h.start..h.end {
                ctx.set(t as usize, FILLER, true);
            }
        }
        for (seg, segment) in segments.iter().enumerate() {
            let (first, last) = a.seg_tokens[seg];
            let (first, last) = (first as usize, last as usize);
            if first == last {
                continue;
            }
            let text = segment.text.as_str();
            let bytes = text.as_bytes();
            let gap_before = |t: usize| -> Gap {
                let end = a.spans[t].0 as usize;
                let start = if t == first {
                    0
                } else {
                    a.spans[t - 1].1 as usize
                };
                // One space, the usual gap, read as bytes: no slicing.
                if end == start + 1 && bytes.get(start) == Some(&b' ') {
                    return Gap::default();
                }
                read_gap(text.get(start.min(end)..end).unwrap_or(""))
            };
            // Boundaries, quotes, and each sentence's closing punctuation.
            let mut sentence_first = first;
            let mut in_quote = false;
            let flags = &mut ctx.flags[first..last];
            let mark_question = |flags: &mut [u8], question: bool| {
                if question {
                    flags.iter_mut().for_each(|f| *f |= QUESTION);
                }
            };
            for t in first..last {
                let gap = gap_before(t);
                let new_sentence = t == first || gap.sentence_end;
                if new_sentence && t > first {
                    mark_question(&mut flags[sentence_first - first..t - first], gap.question);
                    sentence_first = t;
                }
                in_quote ^= gap.quotes % 2 == 1;
                let clause_start = new_sentence || gap.clause_end;
                let f = &mut flags[t - first];
                if new_sentence {
                    *f |= SENTENCE_START;
                }
                if clause_start {
                    *f |= CLAUSE_START | BOUNDED;
                }
                if in_quote {
                    *f |= REPORTED;
                }
            }
            let tail = text.get(a.spans[last - 1].1 as usize..).unwrap_or("");
            mark_question(&mut flags[sentence_first - first..], tail.contains('?'));
            // A sentence still starts after a filler ("okay, give me…"); so does a clause.
            for i in 0..flags.len().saturating_sub(1) {
                let f = flags[i];
                if f & FILLER != 0 {
                    flags[i + 1] |= f & (SENTENCE_START | CLAUSE_START);
                }
            }
            ctx.language[seg] = guess_language(a, seg);
        }
        // Negation: a negator's reach ends at its clause's end.
        for h in a.set_hits(negator) {
            let mut t = h.end as usize;
            let limit = (h.end + NEGATION_REACH) as usize;
            let seg_last = a.seg_tokens[h.seg as usize].1 as usize;
            while t < limit.min(seg_last) && !ctx.clause_start(t) {
                ctx.set(t, NEGATED, true);
                t += 1;
            }
        }
        // Reported speech: from the reporting words to the sentence's end.
        for h in a.set_hits(scope.reporting) {
            let seg_last = a.seg_tokens[h.seg as usize].1 as usize;
            let mut t = h.end as usize;
            while t < seg_last && !ctx.sentence_start(t) {
                ctx.set(t, REPORTED, true);
                t += 1;
            }
        }
        // Customer emotion: cues and negative sentiment, two cues are full strength.
        for (seg, segment) in segments.iter().enumerate() {
            if segment.speaker != Speaker::Customer {
                continue;
            }
            let cues = a
                .seg_hits(scope.emotion, seg)
                .iter()
                .filter(|h| !ctx.negated(h.start as usize))
                .count() as f64;
            let negative = if a.sentiment[seg] < 0.0 { 1.0 } else { 0.0 };
            ctx.emotion[seg] = ((cues + negative) / 2.0).min(1.0);
            ctx.joy[seg] = a
                .seg_hits(scope.joy, seg)
                .iter()
                .any(|h| !ctx.negated(h.start as usize));
        }
        ctx
    }
}

/// A segment's language from its function words; the recogniser's label
/// breaks ties (it is per track and often wrong for a switched turn).
fn guess_language(a: &Analysis<'_>, seg: usize) -> TurnLanguage {
    let (en, id) = a.function_words[seg];
    match en.cmp(&id) {
        std::cmp::Ordering::Greater => TurnLanguage::En,
        std::cmp::Ordering::Less => TurnLanguage::Id,
        std::cmp::Ordering::Equal => {
            let segment = &a.transcript.segments[seg];
            match segment
                .language
                .as_deref()
                .or(a.transcript.language.as_deref())
            {
                _ if en == 0 => TurnLanguage::Unknown,
                Some("en") => TurnLanguage::En,
                Some("id") => TurnLanguage::Id,
                _ => TurnLanguage::Unknown,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surfaces_are_read_once_with_their_shape() {
        assert!(read_surface("bangettt").elongated);
        assert!(read_surface("Sooo").elongated);
        assert!(!read_surface("maaf").elongated);
        assert!(!read_surface("xxxuserxxx").elongated);
        assert!(read_surface("BANGETTT").elongated);
        assert!(!read_surface("a@`b").elongated);
        assert!(!read_surface("10001").elongated);
        assert!(!read_surface("ok!!!").elongated);
        assert_eq!(read_surface("ok!!!").letters, 2);
        assert_eq!(read_surface("Don't").letters, 4);
        assert!(read_surface("bisa2").digit_reduplication);
        assert!(!read_surface("24").digit_reduplication);
        assert!(!read_surface("b2").digit_reduplication);
        assert_eq!(read_surface("Selamat").letters, 7);
        assert_eq!(read_surface("Ça").letters, 2);
        assert_eq!(surface_hash("Don't"), surface_hash("dont"));
    }
}
