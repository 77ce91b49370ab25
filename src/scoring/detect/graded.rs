//! Graded checks on the evaluator: turn scores from the marker lexicons,
//! the call's fraction, and evidence that names every cue with its time.

use std::fmt::Write as _;

use crate::rubric::SpeakerFilter;

use super::super::graded::lexicon::{HeadInput, Lexicon};
use super::super::graded::scope::TokenContext;
use super::super::graded::{
    FoundMarker, Graded, GradedKind, Turn, WHOLE_TURN, aggregate, score_turns,
};
use super::super::scorecard::{Evidence, Marker, round_fraction};
use super::{Evaluator, MAX_QUOTE_CHARS, speaker_name};

/// Turns quoted for a graded check: the lowest and the highest scoring.
const SHOWN_EACH_WAY: usize = 3;
/// Cues listed per quoted turn: those that moved it most.
const SHOWN_CUES: usize = 8;

impl Evaluator<'_, '_> {
    /// The token context, computed once per call.
    fn context(&mut self) -> Option<&TokenContext> {
        if self.context.is_none() {
            let sets = self.rubric.graded.as_ref()?;
            let negator = self.rubric.engine.sets.negator;
            self.context = Some(TokenContext::new(self.a, &sets.scope, negator));
        }
        self.context.as_ref()
    }

    /// Evaluates a graded check: the fraction (`None` when not applicable),
    /// the reason, and the turns that moved it with their cues.
    pub(super) fn graded(
        &mut self,
        kind: GradedKind,
        speaker: SpeakerFilter,
    ) -> (Option<f64>, String, Vec<Evidence>) {
        let rubric = self.rubric;
        let Some(lexicon) = rubric.graded.as_ref().and_then(|g| g.lexicon(kind)) else {
            return (
                None,
                "not applicable: the rubric was compiled without this detector".to_owned(),
                Vec::new(),
            );
        };
        let a = self.a;
        let attributed = a
            .transcript
            .segments
            .iter()
            .any(|s| s.speaker != crate::transcript::Speaker::Unknown);
        if !attributed && speaker != SpeakerFilter::Any {
            // On mono audio the customer's words would be judged as the agent's.
            return (
                None,
                "not applicable: graded checks of one speaker need attributed agent and customer speech"
                    .to_owned(),
                Vec::new(),
            );
        }
        let Some(ctx) = self.context() else {
            return (
                None,
                "not applicable: no graded lexicons".to_owned(),
                Vec::new(),
            );
        };
        let mut turns = score_turns(lexicon, a, ctx, speaker);
        if let Some(head) = kind.lexicon().head.as_ref() {
            let applies: Vec<bool> = turns
                .iter()
                .map(|t| {
                    let in_language = (t.first_seg..=t.last_seg).any(|s| {
                        head.languages
                            .iter()
                            .any(|l| ctx.language[s].code() == Some(l.as_str()))
                    });
                    let (start, _) = a.seg_tokens[t.first_seg];
                    let (_, end) = a.seg_tokens[t.last_seg];
                    in_language
                        && (!head.questions_only
                            || (start as usize..end as usize).any(|token| ctx.question(token)))
                })
                .collect();
            for (turn, applies) in turns.iter_mut().zip(applies) {
                if !applies {
                    continue;
                }
                if let Some(term) = self
                    .turn_features(turn, head.input)
                    .and_then(|v| head.term(&v))
                {
                    let (start, _) = a.seg_tokens[turn.first_seg];
                    let (_, end) = a.seg_tokens[turn.last_seg];
                    turn.add_whole_turn_term(term, start, end.max(start + 1));
                }
            }
        }
        let who = speaker_name(speaker);
        if turns.is_empty() {
            return (
                None,
                format!("not applicable: the {who} did not speak"),
                Vec::new(),
            );
        }
        let graded = aggregate(kind, &turns);
        let Some(fraction) = graded.fraction else {
            return (
                None,
                "not applicable: the customer voiced no emotion and the agent showed no empathy cue"
                    .to_owned(),
                Vec::new(),
            );
        };
        let reason = explain(kind, who, fraction, &turns, &graded);
        let evidence = self.graded_evidence(kind, &turns, &graded);
        (Some(fraction), reason, evidence)
    }

    /// What a head reads of a turn (`None` without an encoder): the
    /// normalised mean of its segments' embeddings, or the plain mean of
    /// their pooled layers.
    fn turn_features(&self, turn: &Turn, input: HeadInput) -> Option<Vec<f32>> {
        let mut sum: Vec<f32> = Vec::new();
        let mut count = 0u32;
        for seg in turn.first_seg..=turn.last_seg {
            if self.a.blank[seg] {
                continue;
            }
            let embedding = self.segment_vector(seg)?;
            let v = match input {
                HeadInput::Embedding => &embedding.unit,
                HeadInput::PooledLayers => &embedding.layers,
            };
            if sum.is_empty() {
                sum.clone_from(v);
            } else {
                sum.iter_mut().zip(v.iter()).for_each(|(s, x)| *s += x);
            }
            count += 1;
        }
        let scale = match input {
            HeadInput::Embedding => sum.iter().map(|x| x * x).sum::<f32>().sqrt(),
            HeadInput::PooledLayers => count as f32,
        };
        (scale > 0.0).then(|| sum.iter().map(|x| x / scale).collect())
    }

    /// Evidence for a graded check: the lowest and highest scoring turns in
    /// time order, each with its cues; a missed reply to voiced emotion is
    /// preceded by the customer's turn.
    fn graded_evidence(
        &mut self,
        kind: GradedKind,
        turns: &[Turn],
        graded: &Graded,
    ) -> Vec<Evidence> {
        // The lowest and the highest scoring turns (ties to the earlier):
        // two selections, not a sort of every counted turn.
        let by_score =
            |x: &usize, y: &usize| turns[*x].score.total_cmp(&turns[*y].score).then(x.cmp(y));
        let mut shown = graded.counted.clone();
        let n = shown.len();
        if n > 2 * SHOWN_EACH_WAY {
            shown.select_nth_unstable_by(SHOWN_EACH_WAY - 1, by_score);
            shown[SHOWN_EACH_WAY..].select_nth_unstable_by(n - 2 * SHOWN_EACH_WAY, by_score);
            shown.drain(SHOWN_EACH_WAY..n - SHOWN_EACH_WAY);
        }
        shown.sort_unstable();
        let mut evidence = Vec::new();
        for i in shown {
            let turn = &turns[i];
            if kind == GradedKind::Empathy
                && let Some((customer_seg, _)) = turn.after_emotion
                && !turn.has_markers()
            {
                evidence.push(self.segment(customer_seg));
            }
            evidence.push(self.turn_evidence(kind.lexicon(), turn));
        }
        evidence
    }

    /// One turn as evidence: its time span, its text, its score and cues.
    fn turn_evidence(&mut self, lexicon: &'static Lexicon, turn: &Turn) -> Evidence {
        let segments = &self.a.transcript.segments;
        let mut quote = String::new();
        for (seg, segment) in segments
            .iter()
            .enumerate()
            .take(turn.last_seg + 1)
            .skip(turn.first_seg)
        {
            let piece = self.masked_quote(seg, 0, segment.text.len());
            if quote.is_empty() {
                // Most turns are one segment: its quote is the turn's.
                quote = piece;
                continue;
            }
            quote.push(' ');
            quote.push_str(&piece);
        }
        if quote.len() > MAX_QUOTE_CHARS && quote.chars().count() > MAX_QUOTE_CHARS {
            quote = quote.chars().take(MAX_QUOTE_CHARS).collect::<String>() + "…";
        }
        // The cues that moved the turn most, in the order they were said.
        let mut strongest: Vec<&FoundMarker> = turn.markers.iter().collect();
        if strongest.len() > SHOWN_CUES {
            strongest.sort_by(|x, y| {
                y.weight
                    .abs()
                    .total_cmp(&x.weight.abs())
                    .then(x.start.cmp(&y.start))
            });
            strongest.truncate(SHOWN_CUES);
            strongest.sort_by_key(|m| (m.start, m.end));
        }
        let markers = strongest
            .into_iter()
            .map(|m| self.marker(lexicon, m))
            .collect();
        Evidence {
            segment_index: turn.first_seg,
            speaker: segments[turn.first_seg].speaker,
            start_ms: segments[turn.first_seg].start_ms,
            end_ms: segments[turn.last_seg].end_ms,
            quote,
            turn_score: Some(round_fraction(turn.score)),
            markers,
        }
    }

    /// A cue with its words and their call time.
    fn marker(&mut self, lexicon: &'static Lexicon, m: &FoundMarker) -> Marker {
        let a = self.a;
        let seg = m.segment();
        let first = a.seg_tokens[seg].0;
        let last = a.seg_tokens[seg].1;
        let start_token = m.start.clamp(first, last.saturating_sub(1)) as usize;
        let end_token = m.end.clamp(first + 1, last) as usize - 1;
        let start = a.spans[start_token].0 as usize;
        let end = a.spans[end_token].1 as usize;
        let (start_ms, end_ms) = a.time_of(seg, start, end);
        Marker {
            kind: m.kind(lexicon).into(),
            weight: m.weight,
            start_ms,
            end_ms,
            quote: self.masked_quote(seg, start, end),
        }
    }
}

/// The reason of a graded check, in words: the fraction, the turns, and the
/// cues counted, polite ones first.
fn explain(kind: GradedKind, who: &str, fraction: f64, turns: &[Turn], graded: &Graded) -> String {
    // Per kind: summed weight and count, shown with the sign of the mean.
    // Tallied by marker index (the last slot is the whole-turn term).
    let lexicon = kind.lexicon();
    let whole_turn = lexicon.markers.len();
    let mut tally: Vec<(f64, usize)> = vec![(0.0, 0); whole_turn + 1];
    for &i in &graded.counted {
        for m in &turns[i].markers {
            let slot = &mut tally[usize::from(m.marker).min(whole_turn)];
            slot.0 += m.weight;
            slot.1 += 1;
        }
    }
    let mut counts: Vec<(&str, f64, usize)> = tally
        .iter()
        .enumerate()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(index, &(w, n))| {
            let kind = lexicon.markers.get(index).map_or(WHOLE_TURN, |d| &d.kind);
            (kind, w, n)
        })
        .collect();
    counts.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(y.0)));
    let mut reason = format!(
        "{} {:.2} over {} {who} turn(s)",
        kind.name(),
        round_fraction(fraction),
        turns.len()
    );
    match kind {
        GradedKind::Empathy => {
            let replies = turns.iter().filter(|t| t.after_emotion.is_some()).count();
            // As the math counts them: no cue that raises the reply's score.
            let missed = turns
                .iter()
                .filter(|t| t.after_emotion.is_some() && !t.has_positive_cue())
                .count();
            let _ = write!(
                reason,
                "; {replies} repl(ies) to voiced emotion, {missed} with no empathic cue; mean cue weight {:+.2}",
                graded.mean
            );
        }
        _ if graded.counted.is_empty() => {
            let _ = write!(reason, "; no cue either way (neutral)");
        }
        _ => {
            let _ = write!(
                reason,
                "; {} with cues, mean cue weight {:+.2} per turn, worst turn {:+.2}",
                graded.counted.len(),
                graded.mean,
                graded.worst
            );
        }
    }
    for (i, (k, w, n)) in counts.iter().enumerate() {
        let separator = if i == 0 { ": " } else { " " };
        let sign = if *w >= 0.0 { "+" } else { "−" };
        let _ = write!(reason, "{separator}{sign}{k}×{n}");
    }
    reason
}
