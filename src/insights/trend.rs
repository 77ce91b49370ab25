//! An agent's trend: per time bucket, call count, overall and criterion means.

use std::collections::BTreeMap;

use super::bucket::{BucketWidth, bucket_start_ms};
use super::means::{CriterionMean, criterion_means, overall_mean};
use super::stats::MeanCi;
use crate::store::{CriterionRow, OverallRow};

/// One bucket of a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// Start of the bucket, epoch ms UTC.
    pub bucket_start_ms: i64,
    /// Scored calls in the bucket (including ones with no overall score).
    pub call_count: u32,
    /// Mean overall score; `None` when no call in the bucket had one.
    pub overall: Option<MeanCi>,
    /// Per-criterion means, by criterion id.
    pub criteria: Vec<CriterionMean>,
}

/// Rows of one bucket, borrowed from the input.
#[derive(Default)]
struct Bucket<'a> {
    overall: Vec<&'a OverallRow>,
    criteria: Vec<&'a CriterionRow>,
}

/// Buckets the rows and summarises each bucket, oldest first. Only buckets
/// holding at least one call appear: a gap in the series is a gap in the
/// agent's calls, not a zero score.
pub fn agent_trend(
    overall: &[OverallRow],
    criteria: &[CriterionRow],
    width: BucketWidth,
) -> Vec<TrendPoint> {
    let mut buckets: BTreeMap<i64, Bucket<'_>> = BTreeMap::new();
    for row in overall {
        let start = bucket_start_ms(row.call_started_at_ms, width);
        buckets.entry(start).or_default().overall.push(row);
    }
    for row in criteria {
        let start = bucket_start_ms(row.call_started_at_ms, width);
        buckets.entry(start).or_default().criteria.push(row);
    }
    buckets
        .into_iter()
        .map(|(bucket_start_ms, bucket)| TrendPoint {
            bucket_start_ms,
            call_count: u32::try_from(bucket.overall.len()).unwrap_or(u32::MAX),
            overall: overall_mean(bucket.overall.iter().copied()),
            criteria: criterion_means(bucket.criteria.iter().copied()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::means::tests::{crit, overall};

    const DAY: i64 = 86_400_000;
    /// Monday 2026-03-02 00:00 UTC.
    const MONDAY: i64 = 1_772_409_600_000;

    #[test]
    fn the_test_monday_is_a_monday() {
        assert_eq!(bucket_start_ms(MONDAY + 3 * DAY, BucketWidth::Week), MONDAY);
    }

    #[test]
    fn days_weeks_and_months_group_the_same_calls_differently() {
        // Mon 60, Mon 80, Wed 100, next Mon 40 (week 2), all in March.
        let rows = [
            overall("a", MONDAY + 1_000, Some(60.0)),
            overall("a", MONDAY + 2_000, Some(80.0)),
            overall("a", MONDAY + 2 * DAY, Some(100.0)),
            overall("a", MONDAY + 7 * DAY, Some(40.0)),
        ];
        let days = agent_trend(&rows, &[], BucketWidth::Day);
        assert_eq!(days.len(), 3);
        assert_eq!((days[0].bucket_start_ms, days[0].call_count), (MONDAY, 2));
        assert_eq!(days[0].overall.map(|m| m.mean), Some(70.0));
        assert_eq!(days[1].bucket_start_ms, MONDAY + 2 * DAY);

        let weeks = agent_trend(&rows, &[], BucketWidth::Week);
        assert_eq!(weeks.len(), 2);
        let first = weeks[0].overall.expect("mean");
        assert_eq!((first.mean, first.n), (80.0, 3));
        let half = 4.303 * 20.0 / 3f64.sqrt();
        assert!((first.high - (80.0 + half)).abs() < 1e-9);
        assert_eq!(weeks[1].bucket_start_ms, MONDAY + 7 * DAY);

        let months = agent_trend(&rows, &[], BucketWidth::Month);
        assert_eq!(months.len(), 1);
        assert_eq!(months[0].call_count, 4);
        assert_eq!(months[0].overall.map(|m| m.mean), Some(70.0));
    }

    #[test]
    fn criteria_are_averaged_per_bucket_without_not_applicable() {
        let rows = [
            overall("a", MONDAY, Some(50.0)),
            overall("a", MONDAY + 1, None),
        ];
        let criteria = [
            crit("a", MONDAY, "empathy", Some(50.0)),
            crit("a", MONDAY + 1, "empathy", None),
        ];
        let points = agent_trend(&rows, &criteria, BucketWidth::Day);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].call_count, 2);
        assert_eq!(points[0].overall.map(|m| (m.mean, m.n)), Some((50.0, 1)));
        assert_eq!(points[0].criteria.len(), 1);
        assert_eq!(points[0].criteria[0].score.n, 1);
    }

    #[test]
    fn no_rows_make_an_empty_trend() {
        assert!(agent_trend(&[], &[], BucketWidth::Week).is_empty());
    }
}
