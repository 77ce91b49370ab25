//! Grouping score rows into overall and per-criterion means.

use std::collections::BTreeMap;

use super::stats::{MeanCi, mean_ci};
use crate::store::{CriterionRow, OverallRow};

/// One criterion's mean over a set of calls.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionMean {
    /// The criterion.
    pub criterion_id: String,
    /// Its mean; `n` counts only calls where it applied.
    pub score: MeanCi,
}

/// Mean of the overall scores; calls with no overall score are left out.
pub fn overall_mean<'a>(rows: impl IntoIterator<Item = &'a OverallRow>) -> Option<MeanCi> {
    let scores: Vec<f64> = rows.into_iter().filter_map(|r| r.overall_score).collect();
    mean_ci(&scores)
}

/// Per-criterion means, ordered by criterion id. A criterion that did not
/// apply in a call (no score) is left out of that criterion's mean rather
/// than counted as 0; a criterion that never applied is absent.
pub fn criterion_means<'a>(rows: impl IntoIterator<Item = &'a CriterionRow>) -> Vec<CriterionMean> {
    let mut by_criterion: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for row in rows {
        if let Some(score) = row.score {
            by_criterion
                .entry(row.criterion_id.as_str())
                .or_default()
                .push(score);
        }
    }
    by_criterion
        .into_iter()
        .filter_map(|(id, scores)| {
            mean_ci(&scores).map(|score| CriterionMean {
                criterion_id: id.to_string(),
                score,
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A criterion row for tests.
    pub(crate) fn crit(agent: &str, at_ms: i64, id: &str, score: Option<f64>) -> CriterionRow {
        CriterionRow {
            scorecard_id: format!("{agent}-{at_ms}"),
            agent_id: agent.to_string(),
            call_started_at_ms: at_ms,
            criterion_id: id.to_string(),
            score,
            failed_checks: i64::from(score.is_some_and(|s| s < 100.0)),
        }
    }

    /// An overall row for tests.
    pub(crate) fn overall(agent: &str, at_ms: i64, score: Option<f64>) -> OverallRow {
        OverallRow {
            scorecard_id: format!("{agent}-{at_ms}"),
            agent_id: agent.to_string(),
            call_started_at_ms: at_ms,
            overall_score: score,
        }
    }

    #[test]
    fn not_applicable_is_left_out_not_counted_as_zero() {
        let rows = [
            crit("a", 1, "empathy", Some(50.0)),
            crit("a", 2, "empathy", None),
            crit("a", 3, "empathy", Some(100.0)),
            crit("a", 1, "closing", None),
        ];
        let means = criterion_means(&rows);
        assert_eq!(means.len(), 1, "closing never applied: {means:?}");
        assert_eq!(means[0].criterion_id, "empathy");
        assert_eq!((means[0].score.mean, means[0].score.n), (75.0, 2));
    }

    #[test]
    fn overall_skips_calls_without_a_score() {
        let rows = [overall("a", 1, Some(40.0)), overall("a", 2, None)];
        let mean = overall_mean(&rows).expect("mean");
        assert_eq!((mean.mean, mean.n), (40.0, 1));
    }
}
