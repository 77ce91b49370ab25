//! Which scored calls a reviewer should look at, decided as each call is
//! scored: a share of each agent's calls per week at random, every call with
//! a critical failure, and calls whose transcript Whisper was unsure of.
//!
//! The random draw is reproducible and auditable: it is a hash of the
//! tenant, the call's ISO week and the call id, mapped to [0, 1); the call is
//! sampled when the draw is below the share. Anyone can recompute it, the
//! task stores it, and no state is shared between replicas.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::scoring::Scorecard;
use crate::transcript::Transcript;

/// A tenant's sampling rules (settings section `review_sampling`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewSamplingPolicy {
    /// Percent of each agent's calls per week sampled at random (0 to 100).
    pub random_percent: u32,
    /// Every call with a critical failure.
    pub critical_failures: bool,
    /// Calls whose transcript's mean confidence is below this (0: off).
    pub low_confidence_below: f64,
    /// The N lowest-scoring calls of each team per ISO week, picked once the
    /// week is over (0: off).
    pub lowest_per_team: u32,
    /// Reviewers' key ids that new tasks are assigned to in turn; empty:
    /// tasks wait to be claimed.
    pub round_robin: Vec<String>,
}

impl Default for ReviewSamplingPolicy {
    fn default() -> Self {
        // A critical failure (a card number read out, abuse) is what a QA
        // lead never wants to miss; the rest is the tenant's choice.
        Self {
            random_percent: 0,
            critical_failures: true,
            low_confidence_below: 0.0,
            lowest_per_team: 0,
            round_robin: Vec::new(),
        }
    }
}

/// Why a call was sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SampleReason {
    /// The random weekly share.
    Random,
    /// A critical check failed.
    CriticalFailure,
    /// The transcript's confidence was low.
    LowConfidence,
    /// Among its team's lowest scores of its week.
    LowestInTeam,
}

impl SampleReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::CriticalFailure => "critical_failure",
            Self::LowConfidence => "low_confidence",
            Self::LowestInTeam => "lowest_in_team",
        }
    }

    /// Reads a stored name back.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Random,
            Self::CriticalFailure,
            Self::LowConfidence,
            Self::LowestInTeam,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == text)
    }
}

/// A sampling decision: why, and the random draw that was compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    /// Every rule that fired, in order.
    pub reasons: Vec<SampleReason>,
    /// The call's ISO week, e.g. `2026-W49`.
    pub week: String,
    /// The call's random draw in [0, 1).
    pub draw: f64,
}

/// The ISO 8601 week of a time, e.g. `2026-W49` (weeks start on Monday, UTC).
pub fn iso_week(at_ms: i64) -> String {
    use chrono::Datelike;
    let day = chrono::DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .date_naive();
    let week = day.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// The ISO week before the one holding `now_ms`: its name and its
/// [Monday 00:00, next Monday 00:00) UTC in epoch milliseconds.
pub fn previous_week(now_ms: i64) -> (String, i64, i64) {
    use chrono::Datelike;
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let today = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .date_naive();
    let days_since_monday = i64::from(today.weekday().num_days_from_monday());
    let this_monday_ms = (now_ms.div_euclid(DAY_MS) - days_since_monday) * DAY_MS;
    let start = this_monday_ms - 7 * DAY_MS;
    (iso_week(start), start, this_monday_ms)
}

/// The call's draw: SHA-256 of tenant, week and call id, as a fraction.
pub fn draw(tenant_id: &str, week: &str, call_id: &str) -> f64 {
    let digest = Sha256::digest(format!("{tenant_id}\n{week}\n{call_id}"));
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 53 bits: exactly representable, uniform on [0, 1).
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// Mean segment confidence weighted by duration; `None` without any.
pub fn transcript_confidence(transcript: &Transcript) -> Option<f64> {
    let (weighted, total) = transcript
        .segments
        .iter()
        .filter_map(|s| {
            let length = s.end_ms.saturating_sub(s.start_ms).max(1) as f64;
            s.confidence.map(|c| (f64::from(c) * length, length))
        })
        .fold((0.0, 0.0), |(w, t), (cw, l)| (w + cw, t + l));
    (total > 0.0).then(|| weighted / total)
}

/// Whether a scored call goes to the review queue, and why.
pub fn sample(
    policy: &ReviewSamplingPolicy,
    tenant_id: &str,
    call_id: &str,
    call_started_at_ms: i64,
    card: &Scorecard,
    transcript: &Transcript,
) -> Option<Sampled> {
    let week = iso_week(call_started_at_ms);
    let draw = draw(tenant_id, &week, call_id);
    let mut reasons = Vec::new();
    if draw < f64::from(policy.random_percent.min(100)) / 100.0 {
        reasons.push(SampleReason::Random);
    }
    if policy.critical_failures && !card.critical_failures.is_empty() {
        reasons.push(SampleReason::CriticalFailure);
    }
    if policy.low_confidence_below > 0.0
        && transcript_confidence(transcript).is_some_and(|c| c < policy.low_confidence_below)
    {
        reasons.push(SampleReason::LowConfidence);
    }
    (!reasons.is_empty()).then_some(Sampled {
        reasons,
        week,
        draw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_follow_iso_8601() {
        // 2026-12-03 is a Thursday of week 49; 2027-01-01 (a Friday) still
        // belongs to 2026's week 53.
        assert_eq!(iso_week(1_796_256_000_000), "2026-W49");
        assert_eq!(iso_week(1_798_761_600_000), "2026-W53");
    }

    #[test]
    fn the_previous_week_runs_monday_to_monday() {
        // Thursday 2026-12-03 12:00 UTC: week 48 ran from 2026-11-23.
        let (week, start, end) = previous_week(1_796_256_000_000 + 12 * 3_600_000);
        assert_eq!(week, "2026-W48");
        assert_eq!(start, 1_795_392_000_000);
        assert_eq!(end - start, 7 * 24 * 3_600_000);
    }

    #[test]
    fn the_random_share_is_reproducible_and_close_to_asked() {
        let week = "2026-W49";
        let draws: Vec<f64> = (0..10_000)
            .map(|i| draw("acme", week, &format!("call-{i}")))
            .collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let sampled = draws.iter().filter(|&&d| d < 0.1).count();
        // 10 % of 10,000: a binomial 99.9 % band is about ±100.
        assert!((900..=1_100).contains(&sampled), "{sampled}");
        assert_eq!(
            draws[7],
            draw("acme", week, "call-7"),
            "same inputs, same draw"
        );
        assert_ne!(draws[7], draw("globex", week, "call-7"));
        assert_ne!(draws[7], draw("acme", "2026-W50", "call-7"));
    }
}
