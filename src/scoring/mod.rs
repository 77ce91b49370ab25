//! Scoring: a compiled rubric applied to a transcript gives a scorecard in
//! which every check carries its outcome, points, reason and evidence.
//!
//! The math is in `docs/scoring.md` and in [`crate::scoring::recompute`].

pub mod agent_hints;
pub mod analysis;
pub mod compiled;
pub mod detect;
pub mod engine;
pub mod graded;
pub mod lexicon;
pub mod matcher;
pub mod metrics;
pub mod redact;
pub mod scorecard;
pub mod text;
pub mod versions;
pub mod word_memo;

pub use compiled::CompiledRubric;
pub use metrics::ConversationMetrics;
pub use redact::{Redaction, Redactor};
pub use scorecard::{
    CheckRef, CheckResult, CriterionResult, Evidence, Marker, Outcome, ReviewedResult, Scorecard,
    ScorerVersions, override_check, override_outcome, recompute, reviewed_pairs, round_fraction,
};
pub use versions::scorer_versions;

use crate::transcript::Transcript;

use analysis::Analysis;
use detect::Evaluator;

/// Scores a transcript with a compiled rubric. Deterministic: the same
/// rubric and transcript always give the same scorecard.
///
/// Segments are expected in start order, as [`Transcript`] documents;
/// evidence refers to them by index. The transcript is read as given (not
/// redacted), so the sensitive-data check can see what was said; quotes in
/// the scorecard are masked.
pub fn score_transcript(
    rubric: &CompiledRubric,
    transcript: &Transcript,
    model_id: &str,
) -> Scorecard {
    let analysis = Analysis::new(&rubric.engine, transcript);
    let detail = metrics::compute(&analysis, &rubric.metric_settings);
    let mut evaluator = Evaluator::new(rubric, &analysis, &detail);
    let criteria = rubric
        .rubric
        .criteria
        .iter()
        .zip(&rubric.checks)
        .map(|(criterion, compiled)| CriterionResult {
            criterion_id: criterion.id.clone(),
            name: criterion.name.clone(),
            weight: criterion.weight,
            score: None,
            earned: 0.0,
            possible: 0.0,
            checks: compiled
                .iter()
                .map(|c| evaluator.evaluate(&criterion.checks[c.index], c))
                .collect(),
        })
        .collect();
    let mut card = Scorecard {
        rubric_id: rubric.rubric.id.clone(),
        rubric_version: rubric.rubric.version,
        rubric_hash: rubric.hash.clone(),
        model_id: model_id.to_owned(),
        overall_score: None,
        critical_failures: Vec::new(),
        criteria,
        metrics: detail.metrics,
        scorer: rubric.versions.clone(),
    };
    recompute(&mut card);
    card
}
