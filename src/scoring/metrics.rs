//! Conversation metrics: talk ratio, silences and holds, interruptions,
//! speech rate, time to greeting and customer sentiment.

use serde::{Deserialize, Serialize};

use crate::transcript::Speaker;

use super::analysis::Analysis;

/// An announced gap shorter than this is a pause, not a hold.
const ANNOUNCED_HOLD_MIN_MS: u64 = 3_000;
/// A hold request counts for a gap that starts at most this long after it.
const HOLD_REQUEST_REACH_MS: u64 = 15_000;
/// How many turns before a gap are searched for the hold request.
const HOLD_REQUEST_TURNS: usize = 3;
/// Most customer turns averaged for start or end sentiment.
const SENTIMENT_TURNS: usize = 3;

/// Call-level measurements, stored with the scorecard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationMetrics {
    /// End of the last segment, ms.
    pub duration_ms: u64,
    /// Total agent speech, ms.
    pub agent_talk_ms: u64,
    /// Total customer speech, ms.
    pub customer_talk_ms: u64,
    /// Whether agent and customer speech are attributed (stereo or diarised).
    pub speakers_known: bool,
    /// Agent speech over agent plus customer speech (0..1), when attributed.
    pub agent_talk_ratio: Option<f64>,
    /// Longest silence that was not an announced hold, ms.
    pub longest_silence_ms: u64,
    /// Holds: announced gaps, or unannounced gaps of at least `hold_min_seconds`.
    pub hold_count: u32,
    /// Holds not asked for before or not thanked for after.
    pub holds_without_etiquette: u32,
    /// Agent starts while the customer speaks, when attributed.
    pub interruptions: Option<u32>,
    /// Agent words (spoken numbers count once).
    pub agent_words: u32,
    /// Agent words per minute of agent speech.
    pub agent_words_per_minute: Option<f64>,
    /// Start of the agent's first greeting, ms.
    pub time_to_greeting_ms: Option<u64>,
    /// Mean sentiment (-1..1) of the customer's first turns.
    pub customer_sentiment_start: Option<f64>,
    /// Mean sentiment (-1..1) of the customer's last turns.
    pub customer_sentiment_end: Option<f64>,
    /// Customer turns with more negative than positive words.
    pub negative_customer_turns: u32,
    /// Amounts the agent charged or totalled that match no amount the agent
    /// quoted before (nor a sum of two), with no correction said between;
    /// `None` when no charged amount followed a quoted one.
    #[serde(default)]
    pub unexplained_amount_changes: Option<u32>,
}

/// A silence between speech, with the segments around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Silence start, ms.
    pub start_ms: u64,
    /// Silence end, ms.
    pub end_ms: u64,
    /// The segment that ended last before the gap.
    pub before: usize,
    /// The segment after the gap.
    pub after: usize,
    /// The agent asked for or announced a hold just before.
    pub announced: bool,
    /// The agent's first turn after the gap thanked the customer for waiting.
    pub thanked: bool,
    /// Whether the gap counts as a hold.
    pub hold: bool,
    /// The segment holding the hold request, if any.
    pub request_seg: Option<usize>,
    /// The agent segment after the gap, if any.
    pub return_seg: Option<usize>,
}

impl Gap {
    /// Length of the silence, ms.
    pub fn len_ms(&self) -> u64 {
        self.end_ms - self.start_ms
    }
}

/// Metrics plus the detail detectors cite as evidence.
#[derive(Debug, Clone, Default)]
pub struct MetricDetail {
    /// The numbers.
    pub metrics: ConversationMetrics,
    /// Every silence between speech.
    pub gaps: Vec<Gap>,
    /// The longest non-hold silence, index into `gaps`.
    pub longest_silence: Option<usize>,
    /// Agent segments that interrupted the customer.
    pub interruptions: Vec<usize>,
    /// The greeting segment.
    pub greeting_seg: Option<usize>,
    /// Customer turns averaged for start sentiment.
    pub sentiment_start_segs: Vec<usize>,
    /// Customer turns averaged for end sentiment.
    pub sentiment_end_segs: Vec<usize>,
    /// Customer segments of negative sentiment.
    pub negative_turns: Vec<usize>,
    /// Unexplained amount changes: the segment that quoted the first amount
    /// and the one that charged a different one.
    pub amount_changes: Vec<(usize, usize)>,
}

/// Phrase sets and thresholds the metrics need.
#[derive(Debug, Clone, Copy)]
pub struct MetricSettings {
    /// Greeting phrases.
    pub greeting: u32,
    /// Hold request phrases.
    pub hold_request: u32,
    /// Hold thanks phrases.
    pub hold_thanks: u32,
    /// An unannounced gap this long is a hold.
    pub hold_min_ms: u64,
    /// Minimum overlap of an interruption.
    pub interruption_min_overlap_ms: u64,
    /// Charging or totalling cues.
    pub charge: u32,
    /// Self-correction cues.
    pub correction: u32,
}

/// Computes the metrics of an analysed transcript.
pub fn compute(a: &Analysis<'_>, s: &MetricSettings) -> MetricDetail {
    let segments = &a.transcript.segments;
    let mut d = MetricDetail::default();
    let m = &mut d.metrics;
    m.speakers_known = a.speakers_known;
    let agent_like = |i: usize| a.speaker_matches(i, crate::rubric::SpeakerFilter::Agent);
    let customer_like = |i: usize| a.speaker_matches(i, crate::rubric::SpeakerFilter::Customer);
    for (i, seg) in segments.iter().enumerate() {
        let len = seg.end_ms.saturating_sub(seg.start_ms);
        m.duration_ms = m.duration_ms.max(seg.end_ms);
        match seg.speaker {
            // Saturating: timings come from outside and must not panic the scorer.
            Speaker::Agent => {
                m.agent_talk_ms = m.agent_talk_ms.saturating_add(len);
                m.agent_words = m.agent_words.saturating_add(a.words[i]);
            }
            Speaker::Customer => m.customer_talk_ms = m.customer_talk_ms.saturating_add(len),
            Speaker::Unknown => {
                if !a.speakers_known {
                    m.agent_words = m.agent_words.saturating_add(a.words[i]);
                }
            }
        }
    }
    let talk = m.agent_talk_ms.saturating_add(m.customer_talk_ms);
    if a.speakers_known && talk > 0 {
        m.agent_talk_ratio = Some(m.agent_talk_ms as f64 / talk as f64);
    }
    let agent_ms = if a.speakers_known {
        m.agent_talk_ms
    } else {
        segments
            .iter()
            .map(|s| s.end_ms.saturating_sub(s.start_ms))
            .fold(0u64, u64::saturating_add)
    };
    if agent_ms > 0 && m.agent_words > 0 {
        m.agent_words_per_minute = Some(f64::from(m.agent_words) * 60_000.0 / agent_ms as f64);
    }

    // Silences: time not covered by any segment, between the first and last speech.
    let mut covered_until: Option<(u64, usize)> = None;
    for (i, seg) in segments.iter().enumerate() {
        if let Some((until, before)) = covered_until
            && seg.start_ms > until
        {
            // The request is in one of the agent's last turns before the gap
            // (the customer's "okay" often comes in between).
            let request_seg = (i.saturating_sub(HOLD_REQUEST_TURNS)..i).rev().find(|&r| {
                agent_like(r)
                    && a.seg_has(s.hold_request, r)
                    && segments[r].end_ms.saturating_add(HOLD_REQUEST_REACH_MS) >= until
            });
            let return_seg = (i..segments.len()).find(|&j| agent_like(j));
            let thanked = return_seg.is_some_and(|j| a.seg_has(s.hold_thanks, j));
            let len = seg.start_ms - until;
            let announced = request_seg.is_some();
            let hold = (announced && len >= ANNOUNCED_HOLD_MIN_MS) || len >= s.hold_min_ms;
            d.gaps.push(Gap {
                start_ms: until,
                end_ms: seg.start_ms,
                before,
                after: i,
                announced,
                thanked,
                hold,
                request_seg,
                return_seg,
            });
        }
        if covered_until.is_none_or(|(until, _)| seg.end_ms > until) {
            covered_until = Some((seg.end_ms, i));
        }
    }
    for (gi, g) in d.gaps.iter().enumerate() {
        if g.hold {
            m.hold_count += 1;
            if !(g.announced && g.thanked) {
                m.holds_without_etiquette += 1;
            }
        }
        let excused = g.hold && g.announced;
        if !excused && g.len_ms() > m.longest_silence_ms {
            m.longest_silence_ms = g.len_ms();
            d.longest_silence = Some(gi);
        }
    }

    // Interruptions: an agent segment starting while a customer segment runs on.
    if a.speakers_known {
        let mut customer_until = 0u64;
        let mut count = 0u32;
        for (i, seg) in segments.iter().enumerate() {
            match seg.speaker {
                Speaker::Customer => customer_until = customer_until.max(seg.end_ms),
                Speaker::Agent => {
                    let overlap = customer_until.saturating_sub(seg.start_ms);
                    if overlap >= s.interruption_min_overlap_ms.max(1) {
                        count += 1;
                        d.interruptions.push(i);
                    }
                }
                Speaker::Unknown => {}
            }
        }
        m.interruptions = Some(count);
    }

    d.greeting_seg = a
        .set_hits(s.greeting)
        .iter()
        .map(|h| h.seg as usize)
        .find(|&i| agent_like(i));
    m.time_to_greeting_ms = d.greeting_seg.map(|i| segments[i].start_ms);

    // Sentiment of the customer's turns (attributed calls only: in mono audio
    // the agent's own words would be mistaken for the customer's mood).
    if a.speakers_known {
        let turns: Vec<usize> = (0..segments.len()).filter(|&i| customer_like(i)).collect();
        for &i in &turns {
            if a.sentiment[i] < 0.0 {
                d.negative_turns.push(i);
            }
        }
        m.negative_customer_turns = u32::try_from(d.negative_turns.len()).unwrap_or(u32::MAX);
        if turns.len() >= 2 {
            let k = (turns.len() / 2).clamp(1, SENTIMENT_TURNS);
            d.sentiment_start_segs = turns[..k].to_vec();
            d.sentiment_end_segs = turns[turns.len() - k..].to_vec();
            let mean = |segs: &[usize]| {
                segs.iter().map(|&i| f64::from(a.sentiment[i])).sum::<f64>() / segs.len() as f64
            };
            m.customer_sentiment_start = Some(round3(mean(&d.sentiment_start_segs)));
            m.customer_sentiment_end = Some(round3(mean(&d.sentiment_end_segs)));
        }
    }
    amount_consistency(a, s, &mut d);
    let m = &mut d.metrics;
    if let Some(r) = m.agent_talk_ratio {
        m.agent_talk_ratio = Some(round3(r));
    }
    if let Some(w) = m.agent_words_per_minute {
        m.agent_words_per_minute = Some(round3(w));
    }
    d
}

/// Amounts the agent charges or totals against the amounts the agent quoted
/// before: a charged amount that matches none of them (nor the sum of two)
/// without a correction in between is an unexplained change ("the package
/// costs seventy-five thousand" … "one hundred and fifty thousand has been
/// deducted").
fn amount_consistency(a: &Analysis<'_>, s: &MetricSettings, d: &mut MetricDetail) {
    let agent = |seg: usize| a.speaker_matches(seg, crate::rubric::SpeakerFilter::Agent);
    let mut quoted: Vec<(u64, usize)> = Vec::new();
    let mut corrected = false;
    let mut compared = false;
    let mut changes = Vec::new();
    for amount in a.amounts.iter().filter(|x| agent(x.seg)) {
        corrected |= a
            .set_hits(s.correction)
            .iter()
            .any(|h| (h.seg as usize) <= amount.seg && agent(h.seg as usize) && !quoted.is_empty());
        let charged = a
            .seg_hits(s.charge, amount.seg)
            .iter()
            .any(|h| a.same_sentence(amount.seg, h.start as usize, amount.token));
        if charged && !quoted.is_empty() {
            compared = true;
            let known = quoted.iter().any(|&(v, _)| v == amount.value)
                || quoted.iter().enumerate().any(|(i, &(x, _))| {
                    quoted[i + 1..]
                        .iter()
                        .any(|&(y, _)| x.saturating_add(y) == amount.value)
                });
            if !known && !corrected {
                changes.push((quoted[0].1, amount.seg));
            }
        }
        quoted.push((amount.value, amount.seg));
    }
    d.metrics.unexplained_amount_changes =
        compared.then(|| u32::try_from(changes.len()).unwrap_or(u32::MAX));
    d.amount_changes = changes;
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::engine::EngineBuilder;
    use crate::transcript::{Segment, Transcript};

    fn seg(speaker: Speaker, start: u64, end: u64, text: &str) -> Segment {
        Segment {
            speaker,
            start_ms: start,
            end_ms: end,
            text: text.to_owned(),
            language: None,
            confidence: None,
            words: Vec::new(),
            voice: None,
        }
    }

    #[test]
    fn overlapping_speech_is_not_silence() {
        let mut b = EngineBuilder::default();
        let none: Vec<String> = Vec::new();
        let settings = MetricSettings {
            greeting: b.add_set(&none),
            hold_request: b.add_set(&none),
            hold_thanks: b.add_set(&none),
            hold_min_ms: 20_000,
            interruption_min_overlap_ms: 500,
            charge: b.builtin_sets().charge,
            correction: b.builtin_sets().correction,
        };
        let engine = b.build();
        // A long customer turn covers a short agent turn inside it.
        let t = Transcript {
            language: None,
            segments: vec![
                seg(Speaker::Customer, 0, 10_000, "panjang sekali ceritanya"),
                seg(Speaker::Agent, 2_000, 3_000, "iya"),
                seg(Speaker::Agent, 12_000, 14_000, "baik"),
            ],
            attribution: None,
        };
        let a = Analysis::new(&engine, &t);
        let d = compute(&a, &settings);
        assert_eq!(d.gaps.len(), 1);
        assert_eq!(
            d.gaps[0].len_ms(),
            2_000,
            "measured from the end of the long turn"
        );
        assert_eq!(d.metrics.longest_silence_ms, 2_000);
        assert_eq!(d.metrics.interruptions, Some(1));
        assert_eq!(d.metrics.hold_count, 0);
        assert_eq!(d.metrics.duration_ms, 14_000);
    }
}
