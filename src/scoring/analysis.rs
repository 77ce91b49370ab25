//! One pass over a transcript: tokens, phrase hits, spoken or written digit
//! runs, and per-turn sentiment. Everything the detectors read comes from here.

use std::cell::OnceCell;

use crate::transcript::{Speaker, Transcript};

use super::engine::{AsWritten, Engine};
use super::matcher::{Hit, Resolver, Scratch, WordMemo, normalize_with};

/// A run of consecutive number tokens in one segment ("4532 0151 …", "empat lima …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitRun {
    /// Segment index.
    pub seg: usize,
    /// Byte range in the segment text.
    pub start: usize,
    /// Byte offset past the run.
    pub end: usize,
    /// How many digits the run has.
    pub digits: usize,
    /// Whether the digits pass the Luhn check (card numbers do).
    pub luhn: bool,
}

/// An amount of money said in a segment ("seventy-five thousand", "150,000").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    /// Segment index.
    pub seg: usize,
    /// Token index (global).
    pub token: usize,
    /// The value.
    pub value: u64,
}

/// Smallest value read as an amount of money (a "fifty" is not a price).
const MIN_AMOUNT: u64 = 1_000;

/// The analysed transcript.
#[derive(Debug)]
pub struct Analysis<'t> {
    /// The transcript, unmodified.
    pub transcript: &'t Transcript,
    /// Token ids, all segments concatenated.
    pub ids: Vec<u32>,
    /// Byte span of each token within its segment's text.
    pub spans: Vec<(u32, u32)>,
    /// Token index range of each segment.
    pub seg_tokens: Vec<(u32, u32)>,
    /// Tokens per segment (a spoken number counts once).
    pub words: Vec<u32>,
    /// Hits grouped by set, in (segment, token) order within a set.
    pub hits: Vec<Hit>,
    /// Range into `hits` of each set.
    set_ranges: Vec<(u32, u32)>,
    /// Runs of number tokens.
    pub digit_runs: Vec<DigitRun>,
    /// Amounts of money, in order.
    pub amounts: Vec<Amount>,
    /// Per-segment sentiment in -1..1 (0 when no sentiment word).
    pub sentiment: Vec<f32>,
    /// Whether both agent and customer speech are attributed.
    pub speakers_known: bool,
    /// Per segment: English and Indonesian function words (tagged words).
    pub function_words: Vec<(u16, u16)>,
    /// Per segment: nothing but white space (read once; turns skip these).
    pub blank: Vec<bool>,
    /// Per segment with word timings: each word's byte range, found on the
    /// first quote of the segment rather than on every quote.
    word_spans: Vec<OnceCell<Option<WordSpans>>>,
}

/// The byte range of each word of a segment, as [`Segment::word_spans`]
/// finds them.
///
/// [`Segment::word_spans`]: crate::transcript::Segment::word_spans
type WordSpans = Box<[(usize, usize)]>;

/// Luhn checksum over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

impl<'t> Analysis<'t> {
    /// The call time of a byte range of a segment's text, as
    /// [`Segment::time_of`](crate::transcript::Segment::time_of) gives it.
    pub fn time_of(&self, seg: usize, start: usize, end: usize) -> (u64, u64) {
        let segment = &self.transcript.segments[seg];
        if segment.words.is_empty() {
            return segment.time_of(start, end);
        }
        let spans =
            self.word_spans[seg].get_or_init(|| segment.word_spans().map(Vec::into_boxed_slice));
        segment.time_of_with_spans(spans.as_deref(), start, end)
    }

    /// Analyses a transcript with a compiled engine.
    pub fn new(engine: &Engine, transcript: &'t Transcript) -> Self {
        let n = transcript.segments.len();
        let mut a = Analysis {
            transcript,
            ids: Vec::with_capacity(n * 16),
            spans: Vec::with_capacity(n * 16),
            seg_tokens: Vec::with_capacity(n),
            words: Vec::with_capacity(n),
            // Calls typically find one to two hits per token.
            hits: Vec::with_capacity(n * 24),
            set_ranges: Vec::new(),
            digit_runs: Vec::new(),
            amounts: Vec::new(),
            sentiment: vec![0.0; n],
            speakers_known: false,
            function_words: vec![(0, 0); n],
            blank: transcript
                .segments
                .iter()
                .map(|s| s.text.trim().is_empty())
                .collect(),
            word_spans: (0..n).map(|_| OnceCell::new()).collect(),
        };
        let mut scratch = Scratch::default();
        let mut memo = WordMemo::take_for(&engine.matcher);
        let mut resolver = Resolver::new(&engine.matcher, &mut memo);
        let mut run_digits: Vec<u8> = Vec::new();
        let (mut has_agent, mut has_customer) = (false, false);
        for (seg, segment) in transcript.segments.iter().enumerate() {
            has_agent |= segment.speaker == Speaker::Agent;
            has_customer |= segment.speaker == Speaker::Customer;
            let first = a.ids.len();
            let mut words = 0u32;
            let mut run: Option<(usize, usize)> = None;
            run_digits.clear();
            let ids = &mut a.ids;
            let spans = &mut a.spans;
            let runs = &mut a.digit_runs;
            let amounts = &mut a.amounts;
            let mut close_run = |run: &mut Option<(usize, usize)>, digits: &mut Vec<u8>| {
                if let Some((start, end)) = run.take() {
                    runs.push(DigitRun {
                        seg,
                        start,
                        end,
                        digits: digits.len(),
                        luhn: (13..=19).contains(&digits.len()) && luhn(digits),
                    });
                }
                digits.clear();
            };
            normalize_with(&segment.text, &mut scratch, Some(&mut resolver), |p| {
                words += 1;
                if p.amount {
                    let value = p.key.parse::<u64>().unwrap_or(0);
                    if value >= MIN_AMOUNT {
                        amounts.push(Amount {
                            seg,
                            token: ids.len(),
                            value,
                        });
                    }
                }
                ids.push(p.id.unwrap_or_else(|| engine.matcher.lookup_piece(&p)));
                spans.push((
                    u32::try_from(p.start).unwrap_or(u32::MAX),
                    u32::try_from(p.end).unwrap_or(u32::MAX),
                ));
                if p.numeric {
                    run = Some(run.map_or((p.start, p.end), |(s, _)| (s, p.end)));
                    run_digits.extend_from_slice(p.key.as_bytes());
                } else {
                    close_run(&mut run, &mut run_digits);
                }
            });
            close_run(&mut run, &mut run_digits);
            let last = a.ids.len();
            let (first32, last32) = (
                u32::try_from(first).unwrap_or(u32::MAX),
                u32::try_from(last).unwrap_or(u32::MAX),
            );
            a.seg_tokens.push((first32, last32));
            // Tokens, with a spoken number counted once: close enough for speech rate.
            a.words.push(words);
            a.function_words[seg] = engine.matcher.find(
                u32::try_from(seg).unwrap_or(u32::MAX),
                &a.ids[first..last],
                first32,
                segment.speaker == Speaker::Customer,
                &mut a.hits,
            );
        }
        memo.put_back();
        a.speakers_known = has_agent && has_customer;
        // Hits arrive in (segment, token) order; a counting sort by set keeps
        // that order within each set, in linear time.
        let sets = engine.matcher.set_count();
        let mut starts = vec![0u32; sets + 1];
        for h in &a.hits {
            starts[h.set as usize + 1] += 1;
        }
        for i in 0..sets {
            starts[i + 1] += starts[i];
        }
        a.set_ranges = (0..sets).map(|i| (starts[i], starts[i + 1])).collect();
        let mut sorted = vec![
            Hit {
                set: 0,
                seg: 0,
                start: 0,
                end: 0
            };
            a.hits.len()
        ];
        for h in &a.hits {
            let slot = &mut starts[h.set as usize];
            sorted[*slot as usize] = *h;
            *slot += 1;
        }
        a.hits = sorted;
        a.drop_unwritten(&engine.as_written);
        a.compute_sentiment(engine);
        a
    }

    /// All hits of a set, in segment order.
    pub fn set_hits(&self, set: u32) -> &[Hit] {
        match self.set_ranges.get(set as usize) {
            Some(&(s, e)) => &self.hits[s as usize..e as usize],
            None => &[],
        }
    }

    /// Hits of a set in one segment.
    pub fn seg_hits(&self, set: u32, seg: usize) -> &[Hit] {
        let hits = self.set_hits(set);
        let seg = u32::try_from(seg).unwrap_or(u32::MAX);
        let lo = hits.partition_point(|h| h.seg < seg);
        // A segment holds few hits: walk to its end rather than search again.
        let len = hits[lo..].iter().take_while(|h| h.seg == seg).count();
        &hits[lo..lo + len]
    }

    /// Whether a set has a hit in a segment (one binary search, not two).
    pub fn seg_has(&self, set: u32, seg: usize) -> bool {
        let hits = self.set_hits(set);
        let seg = u32::try_from(seg).unwrap_or(u32::MAX);
        let lo = hits.partition_point(|h| h.seg < seg);
        hits.get(lo).is_some_and(|h| h.seg == seg)
    }

    /// The segment a token belongs to.
    pub fn segment_of(&self, token: usize) -> usize {
        let token = u32::try_from(token).unwrap_or(u32::MAX);
        self.seg_tokens
            .partition_point(|&(_, end)| end <= token)
            .min(self.seg_tokens.len().saturating_sub(1))
    }

    /// Whether a phrase hit is negated: a negator ("not", "tidak", "can't")
    /// one or two words before it in the same clause, as in "I can't promise
    /// tomorrow" or "tidak ada biaya". A negator inside the phrase is its own.
    pub fn negated(&self, hit: &Hit, engine: &Engine) -> bool {
        let (first, _) = self.seg_tokens[hit.seg as usize];
        let from = first.max(hit.start.saturating_sub(2));
        // Negators are rare: look for one before reading any text.
        let Some(negator) = (from..hit.start)
            .rev()
            .find(|&t| engine.matcher.is_blocker(self.ids[t as usize]))
        else {
            return false;
        };
        let text = &self.transcript.segments[hit.seg as usize].text;
        let gap = text
            .get(self.spans[negator as usize].1 as usize..self.spans[hit.start as usize].0 as usize)
            .unwrap_or("");
        !gap.contains([',', '.', ';', ':', '!', '?'])
    }

    /// The agent's turns: runs of consecutive agent segments on attributed
    /// calls, every spoken segment on mono ones.
    pub fn agent_turns(&self) -> usize {
        let mut turns = 0;
        let mut previous_agent = false;
        for (seg, segment) in self.transcript.segments.iter().enumerate() {
            if self.blank[seg] {
                continue;
            }
            let agent = self.speaker_matches(seg, crate::rubric::SpeakerFilter::Agent);
            let attributed = segment.speaker != Speaker::Unknown;
            if agent && (!previous_agent || !attributed) {
                turns += 1;
            }
            previous_agent = agent;
        }
        turns
    }

    /// Whether two tokens of a segment stand in one sentence (no `.`, `!`
    /// or `?` between them).
    pub fn same_sentence(&self, seg: usize, a: usize, b: usize) -> bool {
        let (first, second) = (a.min(b), a.max(b));
        let text = &self.transcript.segments[seg].text;
        let (Some(&(_, from)), Some(&(to, _))) = (self.spans.get(first), self.spans.get(second))
        else {
            return false;
        };
        let between = text.get(from as usize..to as usize).unwrap_or("");
        !between.contains(['.', '!', '?'])
    }

    /// Byte range of a hit in its segment's text.
    pub fn hit_bytes(&self, hit: &Hit) -> (usize, usize) {
        let (s, _) = self.spans[hit.start as usize];
        let (_, e) = self.spans[hit.end as usize - 1];
        (s as usize, e as usize)
    }

    /// Drops the hits of sets holding [`AsWritten`] words whose words are
    /// other words with the same stem: "lalu" is no "keterlaluan", "saya
    /// rasa" no "saya merasa". Those sets' hits are few: each set's range is
    /// compacted in place and shortened.
    fn drop_unwritten(&mut self, as_written: &AsWritten) {
        let segments = &self.transcript.segments;
        for &set in as_written.sets() {
            let Some(&(start, end)) = self.set_ranges.get(set as usize) else {
                continue;
            };
            let mut kept = start as usize;
            for i in start as usize..end as usize {
                let h = self.hits[i];
                let written = (h.start as usize..h.end as usize).all(|token| {
                    let Some(word) = as_written.word(self.ids[token]) else {
                        return true;
                    };
                    let (from, to) = self.spans[token];
                    let surface = segments[h.seg as usize]
                        .text
                        .get(from as usize..to as usize)
                        .unwrap_or_default();
                    AsWritten::written(word, surface)
                });
                if written {
                    self.hits[kept] = h;
                    kept += 1;
                }
            }
            self.set_ranges[set as usize].1 = u32::try_from(kept).unwrap_or(end);
        }
    }

    /// Sentiment per segment: (positive − negative) / (positive + negative),
    /// a sentiment word right after a negator counting for the other side.
    fn compute_sentiment(&mut self, engine: &Engine) {
        let sets = engine.sets;
        let mut negated_until = vec![false; self.ids.len() + 1];
        for h in self.set_hits(sets.negator) {
            // A negator reaches the next two tokens ("tidak terlalu puas").
            for t in h.end..(h.end + 2) {
                if let Some(slot) = negated_until.get_mut(t as usize) {
                    *slot = true;
                }
            }
        }
        let n = self.transcript.segments.len();
        let mut pos = vec![0u32; n];
        let mut neg = vec![0u32; n];
        for (set, positive) in [(sets.positive, true), (sets.negative, false)] {
            for h in self.set_hits(set) {
                let flipped = negated_until[h.start as usize];
                if positive != flipped {
                    pos[h.seg as usize] += 1;
                } else {
                    neg[h.seg as usize] += 1;
                }
            }
        }
        for i in 0..n {
            let total = pos[i] + neg[i];
            if total > 0 {
                self.sentiment[i] = (pos[i] as f32 - neg[i] as f32) / total as f32;
            }
        }
    }

    /// Whether a segment's speaker passes a filter; when speakers are not
    /// attributed (mono audio) every segment passes, since anyone may be the agent.
    pub fn speaker_matches(&self, seg: usize, filter: crate::rubric::SpeakerFilter) -> bool {
        use crate::rubric::SpeakerFilter;
        let speaker = self.transcript.segments[seg].speaker;
        match filter {
            SpeakerFilter::Any => true,
            _ if !self.speakers_known && speaker == Speaker::Unknown => true,
            SpeakerFilter::Agent => speaker == Speaker::Agent,
            SpeakerFilter::Customer => speaker == Speaker::Customer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_timed_as_the_segment_times_them() {
        use crate::scoring::engine::EngineBuilder;
        use crate::transcript::{Segment, Speaker, Word};
        let mut segment = Segment::new(Speaker::Agent, 1000, 4000, "Mohon maaf, Bapak Budi.");
        segment.words = [
            (" Mohon", 1000, 1400),
            (" maaf,", 1400, 2100),
            (" Bapak", 2300, 2800),
            (" Budi.", 2800, 3900),
        ]
        .into_iter()
        .map(|(text, start_ms, end_ms)| Word {
            start_ms,
            end_ms,
            text: text.to_owned(),
            confidence: None,
        })
        .collect();
        let plain = Segment::new(Speaker::Customer, 4000, 5000, "Iya.");
        let transcript = Transcript {
            language: None,
            segments: vec![segment, plain],
            attribution: None,
        };
        let engine = EngineBuilder::default().build();
        let a = Analysis::new(&engine, &transcript);
        for (seg, s) in transcript.segments.iter().enumerate() {
            // Twice over, so the second pass reads the remembered spans.
            for _ in 0..2 {
                for start in 0..s.text.len() {
                    for end in start..=s.text.len() {
                        assert_eq!(a.time_of(seg, start, end), s.time_of(start, end));
                    }
                }
            }
        }
        assert_eq!(a.time_of(0, 6, 10), (1400, 2100), "maaf");
    }

    #[test]
    fn luhn_accepts_valid_card_numbers() {
        assert!(luhn(b"4532015112830366"));
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4532015112830367"));
    }
}
