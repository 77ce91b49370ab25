//! UTC calendar buckets: day, ISO week (Monday first) and calendar month.

use chrono::{DateTime, Datelike, Days, NaiveDate};

/// How wide one trend bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketWidth {
    /// A UTC calendar day.
    Day,
    /// An ISO week: Monday 00:00 UTC to the next Monday.
    Week,
    /// A UTC calendar month.
    Month,
}

/// The start (epoch ms, UTC) of the bucket holding `epoch_ms`.
///
/// A time chrono cannot represent (far outside ±262,000 years) is its own
/// bucket: no stored call time comes near that, and failing a whole trend for
/// one absurd row would help nobody.
pub fn bucket_start_ms(epoch_ms: i64, width: BucketWidth) -> i64 {
    let Some(at) = DateTime::from_timestamp_millis(epoch_ms) else {
        return epoch_ms;
    };
    let day = at.date_naive();
    let start: Option<NaiveDate> = match width {
        BucketWidth::Day => Some(day),
        BucketWidth::Week => {
            day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        }
        BucketWidth::Month => day.with_day(1),
    };
    start
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map_or(epoch_ms, |midnight| midnight.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Epoch ms of a UTC date and time, for readable tests.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(h, min, 0))
            .expect("valid test date")
            .and_utc()
            .timestamp_millis()
    }

    #[test]
    fn a_day_starts_at_utc_midnight() {
        assert_eq!(
            bucket_start_ms(at(2026, 3, 4, 23, 59), BucketWidth::Day),
            at(2026, 3, 4, 0, 0)
        );
        assert_eq!(
            bucket_start_ms(at(2026, 3, 5, 0, 0), BucketWidth::Day),
            at(2026, 3, 5, 0, 0)
        );
    }

    #[test]
    fn a_week_starts_on_monday_even_across_months_and_years() {
        // 2026-03-04 is a Wednesday; its week starts Monday 2026-03-02.
        assert_eq!(
            bucket_start_ms(at(2026, 3, 4, 12, 0), BucketWidth::Week),
            at(2026, 3, 2, 0, 0)
        );
        // Sunday belongs to the week that started six days earlier.
        assert_eq!(
            bucket_start_ms(at(2026, 3, 8, 23, 0), BucketWidth::Week),
            at(2026, 3, 2, 0, 0)
        );
        // Friday 2027-01-01 is in the ISO week starting Monday 2026-12-28.
        assert_eq!(
            bucket_start_ms(at(2027, 1, 1, 8, 0), BucketWidth::Week),
            at(2026, 12, 28, 0, 0)
        );
    }

    #[test]
    fn a_month_starts_on_the_first() {
        assert_eq!(
            bucket_start_ms(at(2024, 2, 29, 18, 0), BucketWidth::Month),
            at(2024, 2, 1, 0, 0)
        );
    }

    #[test]
    fn times_before_1970_bucket_correctly() {
        assert_eq!(
            bucket_start_ms(at(1969, 12, 31, 23, 0), BucketWidth::Day),
            at(1969, 12, 31, 0, 0)
        );
    }
}
