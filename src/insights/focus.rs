//! Coaching focus: the criteria where an agent trails the team most, each
//! with examples of the agent's recent failed checks.

use super::means::CriterionMean;
use crate::scoring::{Evidence, Outcome};
use crate::store::ScorecardRecord;

/// How many criteria a focus returns when the caller does not say.
pub const DEFAULT_MAX_CRITERIA: usize = 3;

/// How many examples each focus area carries at most.
pub const EXAMPLES_PER_AREA: usize = 3;

/// A failed check from one of the agent's calls.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceExample {
    /// The scorecard.
    pub scorecard_id: String,
    /// Its call.
    pub call_id: String,
    /// The failed check.
    pub check_id: String,
    /// Why it failed, in words.
    pub reason: String,
    /// The first transcript span the failure rests on; `None` when the check
    /// failed for an absence (a phrase never said) and has nothing to quote.
    pub evidence: Option<Evidence>,
}

/// One criterion to coach.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusArea {
    /// The criterion.
    pub criterion_id: String,
    /// The agent's mean.
    pub agent_mean: f64,
    /// The team's mean (the agent's own calls included).
    pub team_mean: f64,
    /// `team_mean − agent_mean`.
    pub gap: f64,
    /// Filled by the caller from the agent's scorecards.
    pub examples: Vec<EvidenceExample>,
}

/// Criteria the agent trails the team in (gap > 0), largest gap first, ties
/// by criterion id, at most `max_criteria`. A criterion either side has no
/// mean for cannot be compared and is skipped; one where the agent is level
/// or ahead is not a coaching focus.
pub fn rank_gaps(
    agent: &[CriterionMean],
    team: &[CriterionMean],
    max_criteria: usize,
) -> Vec<FocusArea> {
    let mut areas: Vec<FocusArea> = agent
        .iter()
        .filter_map(|mine| {
            let theirs = team.iter().find(|t| t.criterion_id == mine.criterion_id)?;
            let gap = theirs.score.mean - mine.score.mean;
            (gap > 0.0).then(|| FocusArea {
                criterion_id: mine.criterion_id.clone(),
                agent_mean: mine.score.mean,
                team_mean: theirs.score.mean,
                gap,
                examples: Vec::new(),
            })
        })
        .collect();
    areas.sort_by(|a, b| {
        b.gap
            .total_cmp(&a.gap)
            .then_with(|| a.criterion_id.cmp(&b.criterion_id))
    });
    areas.truncate(max_criteria);
    areas
}

/// Up to `limit` failed checks of `criterion_id` in the reviewed results of
/// `records` (given newest first), one example per failed check. Scorecards
/// that are no longer their call's current one are skipped: a rescore
/// replaced them.
pub fn failing_examples(
    criterion_id: &str,
    records: &[ScorecardRecord],
    limit: usize,
) -> Vec<EvidenceExample> {
    records
        .iter()
        .filter(|record| record.is_current)
        .flat_map(|record| {
            record
                .reviewed
                .criteria
                .iter()
                .filter(|criterion| criterion.criterion_id == criterion_id)
                .flat_map(|criterion| &criterion.checks)
                .filter(|check| check.outcome == Outcome::Fail)
                .map(|check| EvidenceExample {
                    scorecard_id: record.scorecard_id.clone(),
                    call_id: record.call_id.clone(),
                    check_id: check.check_id.clone(),
                    reason: check.reason.clone(),
                    evidence: check.evidence.first().cloned(),
                })
        })
        .take(limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::stats::mean_ci;

    fn mean(id: &str, values: &[f64]) -> CriterionMean {
        CriterionMean {
            criterion_id: id.to_string(),
            score: mean_ci(values).expect("values"),
        }
    }

    #[test]
    fn largest_gap_first_and_only_where_the_agent_trails() {
        let agent = [
            mean("closing", &[40.0]),
            mean("empathy", &[70.0]),
            mean("greeting", &[90.0]),
            mean("hold", &[50.0]),
            mean("solo", &[10.0]),
        ];
        let team = [
            mean("closing", &[60.0, 80.0]), // 70: gap 30
            mean("empathy", &[80.0]),       // gap 10
            mean("greeting", &[80.0]),      // agent ahead: skipped
            mean("hold", &[80.0]),          // gap 30, ties closing
        ];
        let areas = rank_gaps(&agent, &team, 3);
        let got: Vec<(&str, f64)> = areas
            .iter()
            .map(|a| (a.criterion_id.as_str(), a.gap))
            .collect();
        assert_eq!(
            got,
            vec![("closing", 30.0), ("hold", 30.0), ("empathy", 10.0)]
        );
        assert_eq!(rank_gaps(&agent, &team, 1).len(), 1);
    }
}
