//! Runs each compiled check against an analysed transcript and explains the
//! outcome with evidence: the segment, speaker, timing and quoted text.

mod graded;
mod semantic;

use std::borrow::Cow;

use crate::rubric::{Check, Expect, MetricName, SensitiveKind, SpeakerFilter};

use super::analysis::Analysis;
use super::compiled::{
    CompiledApplies, CompiledCheck, CompiledDetector, CompiledRubric, CompiledWindow, Finder,
};
use super::graded::scope::TokenContext;
use super::metrics::MetricDetail;
use super::redact::{Mask, apply_masks, segment_masks};
use super::scorecard::{CheckResult, Evidence, Outcome};

/// Longest quote of a whole segment, in characters.
const MAX_QUOTE_CHARS: usize = 240;
/// Most evidence items listed for one check.
const MAX_EVIDENCE: usize = 5;
/// Examples quoted for a phrase or regex that was found as expected.
const MAX_PASS_EXAMPLES: usize = 3;

/// Per-call state shared by all checks: the analysis and a cache of masks.
pub struct Evaluator<'a, 't> {
    rubric: &'a CompiledRubric,
    a: &'a Analysis<'t>,
    d: &'a MetricDetail,
    masks: Vec<Option<Vec<Mask>>>,
    has_speech: bool,
    /// Token context for graded checks, computed on first use.
    context: Option<TokenContext>,
    /// Segment embeddings, computed on first use (empty: the encoder failed).
    vectors: std::cell::RefCell<Vec<Option<Option<std::rc::Rc<crate::semantic::Embedding>>>>>,
}

impl<'a, 't> Evaluator<'a, 't> {
    /// Prepares to evaluate checks on one analysed call.
    pub fn new(rubric: &'a CompiledRubric, a: &'a Analysis<'t>, d: &'a MetricDetail) -> Self {
        Evaluator {
            rubric,
            a,
            d,
            masks: vec![None; a.transcript.segments.len()],
            // Nothing said means nothing to judge, not a perfect call.
            has_speech: a.blank.iter().any(|blank| !blank),
            context: None,
            vectors: std::cell::RefCell::new(vec![None; a.transcript.segments.len()]),
        }
    }

    /// A byte range of a segment as quoted: sensitive data masked, long
    /// quotes cut.
    fn masked_quote(&mut self, seg: usize, start: usize, end: usize) -> String {
        // Masks are computed only for segments that end up quoted.
        if self.masks[seg].is_none() {
            self.masks[seg] = Some(segment_masks(&self.rubric.engine, self.a, seg));
        }
        let segment = &self.a.transcript.segments[seg];
        let masks = self.masks[seg].as_deref().unwrap_or(&[]);
        let mut quote = apply_masks(&segment.text, start, end, masks);
        // A quote of no more bytes than the limit has no more characters.
        if quote.len() > MAX_QUOTE_CHARS && quote.chars().count() > MAX_QUOTE_CHARS {
            quote = quote.chars().take(MAX_QUOTE_CHARS).collect::<String>() + "…";
        }
        quote
    }

    /// Evidence quoting a byte range of a segment, sensitive data masked.
    fn quote(&mut self, seg: usize, start: usize, end: usize) -> Evidence {
        let quote = self.masked_quote(seg, start, end);
        let segment = &self.a.transcript.segments[seg];
        // With word timings the quote is timed to its words, not the segment.
        let (start_ms, end_ms) = if segment.words.is_empty() {
            (segment.start_ms, segment.end_ms)
        } else {
            self.a.time_of(seg, start, end)
        };
        Evidence {
            segment_index: seg,
            speaker: segment.speaker,
            start_ms,
            end_ms,
            quote,
            turn_score: None,
            markers: Vec::new(),
        }
    }

    /// Evidence quoting a whole segment.
    fn segment(&mut self, seg: usize) -> Evidence {
        let len = self.a.transcript.segments[seg].text.len();
        self.quote(seg, 0, len)
    }

    /// Evaluates one check.
    pub fn evaluate(&mut self, check: &Check, compiled: &CompiledCheck) -> CheckResult {
        let mut result = CheckResult {
            check_id: check.id.clone(),
            description: check.description.clone(),
            outcome: Outcome::NotApplicable,
            critical: check.critical,
            earned: 0.0,
            possible: 0.0,
            reason: String::new(),
            evidence: Vec::new(),
            fraction: None,
        };
        if !self.has_speech {
            result.reason = "not applicable: the transcript has no speech".to_owned();
            return result;
        }
        if let Some(applies) = &compiled.applies
            && let Some(reason) = self.not_applicable(applies)
        {
            result.reason = format!("not applicable: {reason}");
            return result;
        }
        let (outcome, reason, evidence) = match &compiled.detector {
            CompiledDetector::Text {
                finder,
                expect,
                window,
            } => self.text(finder, *expect, *window, compiled.speaker),
            CompiledDetector::Metric(m) => self.metric(m.name, m.min, m.max),
            CompiledDetector::Sentiment { min_change } => self.sentiment(*min_change),
            CompiledDetector::Sensitive(kinds) => self.sensitive(kinds, compiled.speaker),
            CompiledDetector::Graded { kind, pass_at } => {
                let (fraction, reason, evidence) = self.graded(*kind, compiled.speaker);
                match fraction {
                    Some(fraction) => result.set_graded(fraction, *pass_at, check.points),
                    None => result.set_outcome(Outcome::NotApplicable, check.points),
                }
                result.reason = reason;
                result.evidence = evidence;
                return result;
            }
            CompiledDetector::SemanticUnavailable => (
                Outcome::NotApplicable,
                "not applicable: no sentence encoder is installed (scripts/provision-encoder.sh)"
                    .to_owned(),
                Vec::new(),
            ),
        };
        result.set_outcome(outcome, check.points);
        result.reason = reason;
        result.evidence = evidence;
        result
    }

    fn not_applicable(&self, c: &CompiledApplies) -> Option<String> {
        let m = &self.d.metrics;
        if let Some((set, by)) = c.said {
            let said = self
                .a
                .set_hits(set)
                .iter()
                .any(|h| self.a.speaker_matches(h.seg as usize, by));
            if !said {
                return Some(format!(
                    "the {} never raised the topic that makes this check count",
                    speaker_name(by)
                ));
            }
        }
        if let Some(want) = c.customer_negative
            && (m.negative_customer_turns > 0) != want
        {
            return Some(if want {
                "the customer expressed no negative emotion".to_owned()
            } else {
                "the customer expressed negative emotion".to_owned()
            });
        }
        if let Some(want) = c.has_hold
            && (m.hold_count > 0) != want
        {
            return Some(if want {
                "the call had no hold".to_owned()
            } else {
                "the call had a hold".to_owned()
            });
        }
        if let Some(want) = c.speakers_known
            && m.speakers_known != want
        {
            return Some(if want {
                "agent and customer speech are not attributed (mono audio)".to_owned()
            } else {
                "agent and customer speech are attributed".to_owned()
            });
        }
        if let Some(min) = c.min_agent_turns {
            let turns = self.a.agent_turns();
            if turns < min as usize {
                return Some(format!(
                    "the agent took {turns} turn(s), fewer than {min}: not a whole call"
                ));
            }
        }
        if let Some(min) = c.min_duration_ms
            && m.duration_ms < min
        {
            return Some(format!(
                "the call lasted {:.0} s, shorter than {:.0} s",
                m.duration_ms as f64 / 1000.0,
                min as f64 / 1000.0
            ));
        }
        None
    }

    /// The first match of a finder in a segment, as a byte range.
    fn find(&self, finder: &Finder, seg: usize) -> Option<(usize, usize)> {
        match finder {
            Finder::Phrases(set) => self
                .a
                .seg_hits(*set, seg)
                .iter()
                .filter(|h| !self.a.negated(h, &self.rubric.engine))
                .min_by_key(|h| (h.start, std::cmp::Reverse(h.end)))
                .map(|h| self.a.hit_bytes(h)),
            Finder::Regex(re) => re
                .find(&self.a.transcript.segments[seg].text)
                .map(|m| (m.start(), m.end())),
            Finder::Semantic(semantic) => self
                .semantic_match(semantic, seg)
                .map(|_| (0, self.a.transcript.segments[seg].text.len())),
        }
    }

    /// Segments a finder could match in at all (phrase hits are precomputed).
    fn candidates(&self, finder: &Finder, speaker: SpeakerFilter) -> Vec<usize> {
        match finder {
            Finder::Phrases(set) => {
                let mut segs: Vec<usize> = self
                    .a
                    .set_hits(*set)
                    .iter()
                    .filter(|h| !self.a.negated(h, &self.rubric.engine))
                    .map(|h| h.seg as usize)
                    .filter(|&s| self.a.speaker_matches(s, speaker))
                    .collect();
                segs.dedup();
                segs
            }
            Finder::Regex(_) | Finder::Semantic(_) => (0..self.a.transcript.segments.len())
                .filter(|&s| self.a.speaker_matches(s, speaker))
                .collect(),
        }
    }

    fn text(
        &mut self,
        finder: &Finder,
        expect: Expect,
        window: CompiledWindow,
        speaker: SpeakerFilter,
    ) -> (Outcome, String, Vec<Evidence>) {
        let segments = &self.a.transcript.segments;
        let duration = self.d.metrics.duration_ms;
        let who = speaker_name(speaker);
        if let CompiledWindow::After {
            speaker: trigger_speaker,
            negative,
            set,
            within,
        } = window
        {
            return self.after_trigger(
                finder,
                expect,
                speaker,
                (trigger_speaker, negative, set, within),
            );
        }
        // Borrowed where fixed: a check's words are built for every call.
        let what: Cow<'static, str> = match finder {
            Finder::Phrases(_) => "a listed phrase".into(),
            Finder::Regex(_) => "words matching the pattern".into(),
            Finder::Semantic(semantic) => format!(
                "something close in meaning to an exemplar (similarity at least {})",
                semantic.threshold
            )
            .into(),
        };
        let place: Cow<'static, str> = match window {
            CompiledWindow::First(ms) => format!("in the first {} s", ms / 1000).into(),
            CompiledWindow::Last(ms) => format!("in the last {} s", ms / 1000).into(),
            CompiledWindow::All | CompiledWindow::After { .. } => "in the call".into(),
        };
        let in_window = |s: usize| match window {
            CompiledWindow::First(ms) => segments[s].start_ms < ms,
            CompiledWindow::Last(ms) => segments[s].end_ms.saturating_add(ms) > duration,
            CompiledWindow::All | CompiledWindow::After { .. } => true,
        };
        // A pass needs a few examples; a failure lists more offences.
        let limit = match expect {
            Expect::Present => MAX_PASS_EXAMPLES,
            Expect::Absent => MAX_EVIDENCE,
        };
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        for seg in self.candidates(finder, speaker) {
            if !in_window(seg) {
                continue;
            }
            if let Some((s, e)) = self.find(finder, seg) {
                found.push((seg, s, e));
                if found.len() >= limit {
                    break;
                }
            }
        }
        let evidence: Vec<Evidence> = found
            .iter()
            .map(|&(seg, s, e)| self.quote(seg, s, e))
            .collect();
        match (expect, found.is_empty()) {
            (Expect::Present, false) => (
                Outcome::Pass,
                format!("the {who} said {what} {place}"),
                evidence,
            ),
            (Expect::Present, true) => {
                // Show what was said instead, where there is a natural place to look.
                let instead = match window {
                    CompiledWindow::First(_) => (0..segments.len())
                        .find(|&s| self.a.speaker_matches(s, speaker) && in_window(s)),
                    CompiledWindow::Last(_) => (0..segments.len())
                        .rev()
                        .find(|&s| self.a.speaker_matches(s, speaker) && in_window(s)),
                    _ => None,
                };
                let evidence = instead.map(|s| vec![self.segment(s)]).unwrap_or_default();
                (
                    Outcome::Fail,
                    format!("the {who} never said {what} {place}"),
                    evidence,
                )
            }
            (Expect::Absent, false) => (
                Outcome::Fail,
                format!(
                    "the {who} said {what} {place}, in {}{} turn(s)",
                    found.len(),
                    if found.len() >= limit { " or more" } else { "" }
                ),
                evidence,
            ),
            (Expect::Absent, true) => (
                Outcome::Pass,
                format!("the {who} never said {what} {place}"),
                evidence,
            ),
        }
    }

    fn after_trigger(
        &mut self,
        finder: &Finder,
        expect: Expect,
        speaker: SpeakerFilter,
        (trigger_speaker, negative, set, within): (SpeakerFilter, bool, Option<u32>, u32),
    ) -> (Outcome, String, Vec<Evidence>) {
        if !self.a.speakers_known {
            // Who answered whom is unknowable in mono audio.
            return (
                Outcome::NotApplicable,
                "not applicable: replies to a trigger need attributed agent and customer speech"
                    .to_owned(),
                Vec::new(),
            );
        }
        let n = self.a.transcript.segments.len();
        // Decided once per turn: the reply search below asks again and again.
        let triggers: Vec<bool> = (0..n)
            .map(|s| {
                self.a.speaker_matches(s, trigger_speaker)
                    && ((negative && self.a.sentiment[s] < 0.0)
                        || set.is_some_and(|set| self.a.seg_has(set, s)))
            })
            .collect();
        let is_trigger = |s: usize| triggers[s];
        // Each trigger with the responder's next turns; consecutive triggers
        // answered by the same turn count once, as the latest of them.
        let mut pairs: Vec<(usize, Vec<usize>)> = Vec::new();
        for t in (0..n).filter(|&s| is_trigger(s)) {
            let responses: Vec<usize> = (t + 1..n)
                .filter(|&s| self.a.speaker_matches(s, speaker) && !is_trigger(s))
                .take(within as usize)
                .collect();
            if responses.is_empty() {
                continue;
            }
            if let Some(last) = pairs.last_mut()
                && last.1.first() == responses.first()
            {
                *last = (t, responses);
                continue;
            }
            pairs.push((t, responses));
        }
        if pairs.is_empty() {
            return (
                Outcome::NotApplicable,
                "not applicable: no trigger turn with a reply after it".to_owned(),
                Vec::new(),
            );
        }
        let who = speaker_name(speaker);
        let mut failing = Vec::new();
        let mut passing = Vec::new();
        let mut bad = 0usize;
        for (t, responses) in &pairs {
            let hit = responses
                .iter()
                .find_map(|&r| self.find(finder, r).map(|(s, e)| (r, s, e)));
            let failed = match expect {
                Expect::Present => hit.is_none(),
                Expect::Absent => hit.is_some(),
            };
            bad += usize::from(failed);
            let list = if failed { &mut failing } else { &mut passing };
            if list.len() + 2 > MAX_EVIDENCE + 1 {
                continue;
            }
            // The trigger turn, then the reply that passed or failed it.
            let trigger = self.segment(*t);
            let reply = match hit {
                Some((r, s, e)) => self.quote(r, s, e),
                None => self.segment(responses[0]),
            };
            let list = if failed { &mut failing } else { &mut passing };
            list.push(trigger);
            list.push(reply);
        }
        let evidence = if bad > 0 { failing } else { passing };
        let total = pairs.len();
        let (outcome, reason) = match (expect, bad) {
            (Expect::Present, 0) => (
                Outcome::Pass,
                format!("the {who} responded fittingly after each of {total} trigger turn(s)"),
            ),
            (Expect::Present, _) => (
                Outcome::Fail,
                format!(
                    "the {who} did not respond fittingly after {bad} of {total} trigger turn(s)"
                ),
            ),
            (Expect::Absent, 0) => (
                Outcome::Pass,
                format!("no unfitting reply from the {who} after {total} trigger turn(s)"),
            ),
            (Expect::Absent, _) => (
                Outcome::Fail,
                format!("unfitting reply from the {who} after {bad} of {total} trigger turn(s)"),
            ),
        };
        (outcome, reason, evidence)
    }

    fn metric(
        &mut self,
        name: MetricName,
        min: Option<f64>,
        max: Option<f64>,
    ) -> (Outcome, String, Vec<Evidence>) {
        // A copy of the shared reference, so `self` stays free for quoting.
        let d = self.d;
        let m = &d.metrics;
        let mut evidence = Vec::new();
        let (value, unit): (Option<f64>, &str) = match name {
            MetricName::AgentTalkRatio => (m.agent_talk_ratio, ""),
            MetricName::LongestSilenceSeconds => {
                if let Some(g) = d.longest_silence.map(|i| d.gaps[i]) {
                    evidence.push(self.segment(g.before));
                    evidence.push(self.segment(g.after));
                }
                (Some(m.longest_silence_ms as f64 / 1000.0), " s")
            }
            MetricName::HoldCount | MetricName::HoldsWithoutEtiquette => {
                if m.hold_count == 0 && name == MetricName::HoldsWithoutEtiquette {
                    return (
                        Outcome::NotApplicable,
                        "not applicable: the call had no hold".to_owned(),
                        Vec::new(),
                    );
                }
                // Cite the holds that broke etiquette, or every hold when none did.
                let only_bad =
                    name == MetricName::HoldsWithoutEtiquette && m.holds_without_etiquette > 0;
                for g in d.gaps.iter().filter(|g| g.hold) {
                    if only_bad && g.announced && g.thanked {
                        continue;
                    }
                    if evidence.len() + 2 > MAX_EVIDENCE {
                        break;
                    }
                    evidence.push(self.segment(g.request_seg.unwrap_or(g.before)));
                    if let Some(r) = g.return_seg {
                        evidence.push(self.segment(r));
                    }
                }
                let v = if name == MetricName::HoldsWithoutEtiquette {
                    m.holds_without_etiquette
                } else {
                    m.hold_count
                };
                (Some(f64::from(v)), "")
            }
            MetricName::Interruptions => {
                for &s in d.interruptions.iter().take(MAX_EVIDENCE) {
                    evidence.push(self.segment(s));
                }
                (m.interruptions.map(f64::from), "")
            }
            MetricName::AgentWordsPerMinute => (m.agent_words_per_minute, " words/min"),
            MetricName::UnexplainedAmountChanges => {
                let Some(count) = m.unexplained_amount_changes else {
                    return (
                        Outcome::NotApplicable,
                        "not applicable: the agent charged no amount after quoting one".to_owned(),
                        Vec::new(),
                    );
                };
                for &(quoted, charged) in d.amount_changes.iter().take(MAX_EVIDENCE / 2) {
                    evidence.push(self.segment(quoted));
                    evidence.push(self.segment(charged));
                }
                (Some(f64::from(count)), "")
            }
            MetricName::TimeToGreetingSeconds => match d.greeting_seg {
                Some(s) => {
                    evidence.push(self.segment(s));
                    (m.time_to_greeting_ms.map(|v| v as f64 / 1000.0), " s")
                }
                None => {
                    return (
                        Outcome::Fail,
                        "the agent never greeted the customer".to_owned(),
                        Vec::new(),
                    );
                }
            },
        };
        let Some(value) = value else {
            return (
                Outcome::NotApplicable,
                format!(
                    "not applicable: {} needs attributed agent and customer speech",
                    name.as_str()
                ),
                Vec::new(),
            );
        };
        let pass = min.is_none_or(|lo| value >= lo) && max.is_none_or(|hi| value <= hi);
        let bounds = match (min, max) {
            (Some(lo), Some(hi)) => format!("allowed {lo}{unit} to {hi}{unit}"),
            (Some(lo), None) => format!("at least {lo}{unit} required"),
            (None, Some(hi)) => format!("at most {hi}{unit} allowed"),
            (None, None) => String::new(),
        };
        let reason = format!(
            "{} = {}{unit}; {bounds}",
            name.as_str(),
            (value * 1000.0).round() / 1000.0
        );
        (
            if pass { Outcome::Pass } else { Outcome::Fail },
            reason,
            evidence,
        )
    }

    fn sentiment(&mut self, min_change: f64) -> (Outcome, String, Vec<Evidence>) {
        let m = &self.d.metrics;
        let (Some(start), Some(end)) = (m.customer_sentiment_start, m.customer_sentiment_end)
        else {
            return (
                Outcome::NotApplicable,
                "not applicable: fewer than two attributed customer turns".to_owned(),
                Vec::new(),
            );
        };
        let change = ((end - start) * 1000.0).round() / 1000.0;
        let first = self.d.sentiment_start_segs.first().copied();
        let last = self.d.sentiment_end_segs.last().copied();
        let evidence = first
            .into_iter()
            .chain(last)
            .map(|s| self.segment(s))
            .collect();
        let pass = change + 1e-9 >= min_change;
        (
            if pass { Outcome::Pass } else { Outcome::Fail },
            format!(
                "customer sentiment {start:+.2} at the start, {end:+.2} at the end (change {change:+.2}; at least {min_change:+.2} required)"
            ),
            evidence,
        )
    }

    fn sensitive(
        &mut self,
        kinds: &[SensitiveKind],
        speaker: SpeakerFilter,
    ) -> (Outcome, String, Vec<Evidence>) {
        let sets = self.rubric.engine.sets;
        let a = self.a;
        let mut offending: Vec<(usize, Vec<&'static str>)> = Vec::new();
        // Only turns with an asking cue or a card-like number can offend.
        let mut suspects: Vec<usize> = a
            .set_hits(sets.ask)
            .iter()
            .map(|h| h.seg as usize)
            .chain(a.digit_runs.iter().filter(|r| r.luhn).map(|r| r.seg))
            .collect();
        suspects.sort_unstable();
        suspects.dedup();
        for seg in suspects {
            if !a.speaker_matches(seg, speaker) {
                continue;
            }
            let asks = a.seg_has(sets.ask, seg) && !a.seg_has(sets.dont_share, seg);
            let mut what = Vec::new();
            for &kind in kinds {
                let hit = match kind {
                    SensitiveKind::CardNumber => {
                        (asks && a.seg_has(sets.card, seg) && !a.seg_has(sets.partial, seg))
                            || a.digit_runs.iter().any(|r| r.seg == seg && r.luhn)
                    }
                    SensitiveKind::Pin => asks && a.seg_has(sets.pin, seg),
                    SensitiveKind::Otp => asks && a.seg_has(sets.otp, seg),
                    SensitiveKind::Password => asks && a.seg_has(sets.password, seg),
                    SensitiveKind::Cvv => asks && a.seg_has(sets.cvv, seg),
                };
                if hit {
                    what.push(kind.as_str());
                }
            }
            if !what.is_empty() {
                offending.push((seg, what));
            }
        }
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        if offending.is_empty() {
            return (
                Outcome::Pass,
                format!(
                    "the {} never asked for or read out: {}",
                    speaker_name(speaker),
                    names.join(", ")
                ),
                Vec::new(),
            );
        }
        let mut all: Vec<&str> = offending
            .iter()
            .flat_map(|(_, w)| w.iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        let evidence = offending
            .iter()
            .take(MAX_EVIDENCE)
            .map(|(s, _)| self.segment(*s))
            .collect();
        (
            Outcome::Fail,
            format!(
                "the {} asked for or read out sensitive data ({}) in {} turn(s)",
                speaker_name(speaker),
                all.join(", "),
                offending.len()
            ),
            evidence,
        )
    }
}

fn speaker_name(s: SpeakerFilter) -> &'static str {
    match s {
        SpeakerFilter::Agent => "agent",
        SpeakerFilter::Customer => "customer",
        SpeakerFilter::Any => "speaker",
    }
}
