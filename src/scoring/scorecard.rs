//! The scorecard: check outcomes with evidence, criterion and overall scores,
//! and the one function that turns outcomes into scores (also after a
//! reviewer overrides an outcome).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::transcript::Speaker;

use super::metrics::ConversationMetrics;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The behaviour was heard (or the forbidden one was not): full points.
    Pass,
    /// Points lost; for a critical check, the whole call fails.
    Fail,
    /// The check's condition did not arise; it counts neither way.
    NotApplicable,
}

/// One cue a graded detector found in a turn: what it is, how much it moved
/// the turn's score, and where it was said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// The cue's kind, e.g. `gratitude`, `bare_imperative`, `reflection`:
    /// borrowed from the built-in lexicon when scored, owned when read back.
    pub kind: Cow<'static, str>,
    /// Its signed contribution to the turn's score (before squashing).
    pub weight: f64,
    /// Start of the cue, ms from the start of the call (from word timings
    /// when the transcript has them, else interpolated within the segment).
    pub start_ms: u64,
    /// End of the cue, ms.
    pub end_ms: u64,
    /// The words of the cue (sensitive data masked).
    pub quote: String,
}

/// A pointer into the transcript that supports a check result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Index of the segment in the transcript.
    pub segment_index: usize,
    /// Who spoke it.
    pub speaker: Speaker,
    /// Start of the quoted speech, ms from the start of the call.
    pub start_ms: u64,
    /// End of the quoted speech, ms from the start of the call.
    pub end_ms: u64,
    /// The matched text (sensitive data masked), or the segment text.
    pub quote: String,
    /// For graded checks: the turn's own score, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_score: Option<f64>,
    /// For graded checks: the cues found in the turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markers: Vec<Marker>,
}

/// Identifies one check in a rubric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CheckRef {
    /// The criterion's id.
    pub criterion_id: String,
    /// The check's id within the criterion.
    pub check_id: String,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's id.
    pub check_id: String,
    /// The check's description from the rubric.
    pub description: String,
    /// Pass, fail or not applicable.
    pub outcome: Outcome,
    /// Whether a failure zeroes the overall score.
    pub critical: bool,
    /// Points earned: `possible` on pass, 0 on fail; `fraction × possible`
    /// for a graded check.
    pub earned: f64,
    /// Points available: the check's points when applicable, else 0.
    pub possible: f64,
    /// Why it passed, failed or did not apply, in words.
    pub reason: String,
    /// The transcript spans the decision rests on.
    pub evidence: Vec<Evidence>,
    /// For a graded check: the share of its points earned, 0..1 (rounded to
    /// four decimals); `None` for pass/fail checks and when not applicable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
}

/// Each check of `machine` with its criterion and its counterpart in
/// `reviewed` (the same scorecard after reviews), when it has one.
pub fn reviewed_pairs<'a>(
    machine: &'a Scorecard,
    reviewed: &'a Scorecard,
) -> impl Iterator<
    Item = (
        &'a CriterionResult,
        &'a CheckResult,
        Option<&'a CheckResult>,
    ),
> {
    machine.criteria.iter().flat_map(move |criterion| {
        let reviewed_criterion = reviewed
            .criteria
            .iter()
            .find(|c| c.criterion_id == criterion.criterion_id);
        criterion.checks.iter().map(move |check| {
            let after = reviewed_criterion
                .and_then(|c| c.checks.iter().find(|r| r.check_id == check.check_id));
            (criterion, check, after)
        })
    })
}

/// Rounds a fraction to four decimals, so graded results print, store and
/// compare stably (and tiny floating-point noise cannot move a score).
pub fn round_fraction(x: f64) -> f64 {
    (x.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0
}

impl CheckResult {
    /// Sets a pass/fail (or not applicable) outcome and the points that follow.
    pub fn set_outcome(&mut self, outcome: Outcome, points: f64) {
        self.outcome = outcome;
        self.fraction = None;
        let (earned, possible) = match outcome {
            Outcome::Pass => (points, points),
            Outcome::Fail => (0.0, points),
            Outcome::NotApplicable => (0.0, 0.0),
        };
        self.earned = earned;
        self.possible = possible;
    }

    /// Sets a graded result: `fraction` of the points, and `pass` at or
    /// above `pass_at` (what pass/fail views, critical checks and agreement
    /// statistics read).
    pub fn set_graded(&mut self, fraction: f64, pass_at: f64, points: f64) {
        let fraction = round_fraction(fraction);
        self.outcome = if fraction >= pass_at {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        self.fraction = Some(fraction);
        self.earned = round_points(points * fraction);
        self.possible = points;
    }
}

/// Points to four decimals.
fn round_points(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Which detector, lexicon and encoder versions scored a card; part of the
/// rubric's content hash, so that a lexicon edit cannot move scores silently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorerVersions {
    /// Detector name → version, for every detector kind the rubric uses.
    pub detectors: std::collections::BTreeMap<String, String>,
    /// SHA-256 (first 16 hex digits) of the built-in lexicons and marker tables.
    pub lexicons: String,
    /// The sentence encoder of semantic checks, when the rubric has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<String>,
}

/// The result of one criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    /// The criterion's id.
    pub criterion_id: String,
    /// Display name.
    pub name: String,
    /// The criterion's weight in the rubric.
    pub weight: f64,
    /// `earned / possible × 100`, or `None` when no check applied.
    pub score: Option<f64>,
    /// Sum of earned points of applicable checks.
    pub earned: f64,
    /// Sum of possible points of applicable checks.
    pub possible: f64,
    /// Each check's result, in rubric order.
    pub checks: Vec<CheckResult>,
}

/// A scored call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// The rubric's id.
    pub rubric_id: String,
    /// The rubric's version.
    pub rubric_version: u32,
    /// SHA-256 of the rubric's canonical form.
    pub rubric_hash: String,
    /// The transcription model that produced the transcript.
    pub model_id: String,
    /// Weighted mean of applicable criterion scores (0..100); 0 on any
    /// critical failure; `None` when no criterion applied.
    pub overall_score: Option<f64>,
    /// Every critical check that failed.
    pub critical_failures: Vec<CheckRef>,
    /// Per-criterion results, in rubric order.
    pub criteria: Vec<CriterionResult>,
    /// The call's conversation metrics.
    pub metrics: ConversationMetrics,
    /// The detector, lexicon and encoder versions that scored it (empty on
    /// cards scored before versions were recorded).
    #[serde(default)]
    pub scorer: ScorerVersions,
}

impl Scorecard {
    /// Blanks every quote (evidence and graded cues) for the retention
    /// policy; scores, outcomes, times and cue kinds stay, so the card still
    /// says what was found where, but not the words.
    pub fn forget_quotes(&mut self) {
        let evidence = self
            .criteria
            .iter_mut()
            .flat_map(|criterion| &mut criterion.checks)
            .flat_map(|check| &mut check.evidence);
        for item in evidence {
            item.quote.clear();
            for marker in &mut item.markers {
                marker.quote.clear();
            }
        }
    }
}

/// Rounds to two decimals so that scores print and compare stably.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Recomputes criterion scores, critical failures and the overall score from
/// the check results alone. Used by scoring and again after a reviewer
/// changes an outcome, so both paths share one formula:
///
/// * criterion score = 100 × Σ earned / Σ possible over applicable checks;
///   `None` when no check applies or applicable checks are worth 0 points;
/// * overall = Σ (weight × score) / Σ weight over criteria with a score;
///   `None` when none has one;
/// * any failed critical check sets the overall score to 0.
pub fn recompute(card: &mut Scorecard) {
    card.critical_failures.clear();
    let mut weighted = 0.0;
    let mut weights = 0.0;
    for criterion in &mut card.criteria {
        let mut earned = 0.0;
        let mut possible = 0.0;
        for check in &criterion.checks {
            if check.outcome == Outcome::NotApplicable {
                continue;
            }
            earned += check.earned;
            possible += check.possible;
            if check.critical && check.outcome == Outcome::Fail {
                card.critical_failures.push(CheckRef {
                    criterion_id: criterion.criterion_id.clone(),
                    check_id: check.check_id.clone(),
                });
            }
        }
        // Graded checks earn fractional points: keep the sums to the
        // precision of their parts, so that stored cards read back alike.
        criterion.earned = round_points(earned);
        criterion.possible = round_points(possible);
        criterion.score = (possible > 0.0).then(|| round2(100.0 * earned / possible));
        if let Some(score) = criterion.score {
            weighted += criterion.weight * score;
            weights += criterion.weight;
        }
    }
    let overall = (weights > 0.0).then(|| round2(weighted / weights));
    card.overall_score = if card.critical_failures.is_empty() {
        overall
    } else {
        Some(0.0)
    };
}

/// What a reviewer decides for one check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReviewedResult {
    /// Pass, fail or not applicable: full or no points (a graded check's
    /// fraction becomes 1 or 0).
    Outcome(Outcome),
    /// For a graded check: the share of points the reviewer gives, 0..1;
    /// pass or fail follows from the check's `pass_at`.
    Fraction {
        /// The share, 0..1.
        fraction: f64,
        /// The check's pass threshold in the rubric.
        pass_at: f64,
    },
}

/// Changes one check's result (a reviewer override) and recomputes all scores.
///
/// `points` is the check's points in the rubric the card was scored with
/// (needed when a not-applicable check becomes applicable). Returns false
/// when the card has no such check.
pub fn override_check(
    card: &mut Scorecard,
    check: &CheckRef,
    reviewed: ReviewedResult,
    points: f64,
) -> bool {
    let Some(result) = card
        .criteria
        .iter_mut()
        .filter(|c| c.criterion_id == check.criterion_id)
        .flat_map(|c| c.checks.iter_mut())
        .find(|c| c.check_id == check.check_id)
    else {
        return false;
    };
    let graded = result.fraction.is_some();
    match reviewed {
        ReviewedResult::Outcome(outcome) => {
            result.set_outcome(outcome, points);
            // A graded check keeps a fraction: all or nothing.
            if graded && outcome != Outcome::NotApplicable {
                let fraction = if outcome == Outcome::Pass { 1.0 } else { 0.0 };
                result.fraction = Some(fraction);
            }
        }
        ReviewedResult::Fraction { fraction, pass_at } => {
            result.set_graded(fraction, pass_at, points);
        }
    }
    recompute(card);
    true
}

/// Changes one check's outcome (a reviewer override) and recomputes all scores.
///
/// `points` is the check's points in the rubric the card was scored with
/// (needed when a not-applicable check becomes applicable). Returns false
/// when the card has no such check.
pub fn override_outcome(
    card: &mut Scorecard,
    check: &CheckRef,
    outcome: Outcome,
    points: f64,
) -> bool {
    override_check(card, check, ReviewedResult::Outcome(outcome), points)
}
