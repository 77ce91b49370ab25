//! The scorecard: check outcomes with evidence, criterion and overall scores,
//! and the one function that turns outcomes into scores (also after a
//! reviewer overrides an outcome).

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
    /// Points earned: `possible` on pass, 0 otherwise.
    pub earned: f64,
    /// Points available: the check's points when applicable, else 0.
    pub possible: f64,
    /// Why it passed, failed or did not apply, in words.
    pub reason: String,
    /// The transcript spans the decision rests on.
    pub evidence: Vec<Evidence>,
}

impl CheckResult {
    /// Sets the outcome and the points that follow from it.
    pub fn set_outcome(&mut self, outcome: Outcome, points: f64) {
        self.outcome = outcome;
        let (earned, possible) = match outcome {
            Outcome::Pass => (points, points),
            Outcome::Fail => (0.0, points),
            Outcome::NotApplicable => (0.0, 0.0),
        };
        self.earned = earned;
        self.possible = possible;
    }
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
        criterion.earned = earned;
        criterion.possible = possible;
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
    let Some(result) = card
        .criteria
        .iter_mut()
        .filter(|c| c.criterion_id == check.criterion_id)
        .flat_map(|c| c.checks.iter_mut())
        .find(|c| c.check_id == check.check_id)
    else {
        return false;
    };
    result.set_outcome(outcome, points);
    recompute(card);
    true
}
