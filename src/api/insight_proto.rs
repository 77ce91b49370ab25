//! Conversions between the coaching library's values and the protobuf
//! messages of InsightService.

use prost_types::Timestamp;
use tonic::Status;

use super::convert;
use super::status::invalid;
use super::timestamp;
use crate::insights::{BucketWidth, CriterionMean, EvidenceExample, FocusArea, MeanCi, TrendPoint};
use crate::proto::{self as pb};
use crate::store::TimeWindow;

/// Epoch milliseconds of a protobuf timestamp; `None` when out of range.
fn epoch_ms(at: &Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&at.nanos) {
        return None;
    }
    at.seconds
        .checked_mul(1000)?
        .checked_add(i64::from(at.nanos / 1_000_000))
}

/// The store's window for a request's optional range: `[start, end)`, each
/// side open when unset. An end before its start is `INVALID_ARGUMENT range`.
pub(super) fn window(range: Option<&pb::TimeRange>) -> Result<TimeWindow, Status> {
    let Some(range) = range else {
        return Ok(TimeWindow::default());
    };
    let side = |at: Option<&Timestamp>, name: &str| {
        at.map(|at| epoch_ms(at).ok_or_else(|| invalid("range", format!("{name} is out of range"))))
            .transpose()
    };
    let from_ms = side(range.start.as_ref(), "start")?;
    let before_ms = side(range.end.as_ref(), "end")?;
    if let (Some(from), Some(before)) = (from_ms, before_ms)
        && before < from
    {
        return Err(invalid("range", "end is before start"));
    }
    Ok(TimeWindow { from_ms, before_ms })
}

/// The bucket width a request asks for; unspecified means a week.
pub(super) fn bucket_width(bucket: i32) -> Result<BucketWidth, Status> {
    match pb::TrendBucket::try_from(bucket) {
        Ok(pb::TrendBucket::Unspecified | pb::TrendBucket::Week) => Ok(BucketWidth::Week),
        Ok(pb::TrendBucket::Day) => Ok(BucketWidth::Day),
        Ok(pb::TrendBucket::Month) => Ok(BucketWidth::Month),
        Err(_) => Err(invalid("bucket", format!("unknown value {bucket}"))),
    }
}

/// A mean with its interval.
pub(super) fn score_mean(mean: MeanCi) -> pb::ScoreMean {
    pb::ScoreMean {
        mean: mean.mean,
        call_count: mean.n,
        ci95_low: mean.low,
        ci95_high: mean.high,
    }
}

/// Criterion means, order kept.
pub(super) fn criterion_means(means: Vec<CriterionMean>) -> Vec<pb::CriterionMean> {
    means
        .into_iter()
        .map(|m| pb::CriterionMean {
            criterion_id: m.criterion_id,
            score: Some(score_mean(m.score)),
        })
        .collect()
}

/// One trend bucket.
pub(super) fn trend_point(point: TrendPoint) -> pb::TrendPoint {
    pb::TrendPoint {
        bucket_start: Some(timestamp(point.bucket_start_ms)),
        call_count: point.call_count,
        overall: point.overall.map(score_mean),
        criteria: criterion_means(point.criteria),
    }
}

fn example(example: EvidenceExample) -> pb::EvidenceExample {
    pb::EvidenceExample {
        scorecard_id: example.scorecard_id,
        call_id: example.call_id,
        check_id: example.check_id,
        reason: example.reason,
        evidence: example.evidence.as_ref().map(convert::evidence),
    }
}

/// One focus area with its examples.
pub(super) fn focus_area(area: FocusArea) -> pb::FocusArea {
    pb::FocusArea {
        criterion_id: area.criterion_id,
        agent_mean: area.agent_mean,
        team_mean: area.team_mean,
        gap: area.gap,
        examples: area.examples.into_iter().map(example).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Option<Timestamp> {
        Some(Timestamp { seconds, nanos: 0 })
    }

    #[test]
    fn a_range_is_half_open_milliseconds() {
        let range = pb::TimeRange {
            start: at(10),
            end: at(20),
        };
        let window = window(Some(&range)).expect("valid");
        assert_eq!(
            (window.from_ms, window.before_ms),
            (Some(10_000), Some(20_000))
        );
        assert_eq!(window_of_none(), TimeWindow::default());
    }

    fn window_of_none() -> TimeWindow {
        window(None).expect("open")
    }

    #[test]
    fn an_end_before_the_start_is_refused() {
        let range = pb::TimeRange {
            start: at(20),
            end: at(10),
        };
        let status = window(Some(&range)).expect_err("backwards");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().starts_with("range"));
    }

    #[test]
    fn unspecified_bucket_is_a_week() {
        assert_eq!(bucket_width(0).ok(), Some(BucketWidth::Week));
        assert!(bucket_width(99).is_err());
    }
}
