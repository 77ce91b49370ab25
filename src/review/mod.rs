//! The QA review workflow around scorecards: which calls land in reviewers'
//! queues (docs/review-queues.md) and calibration sessions (docs/calibration.md).

pub mod calibration;
pub mod lowest;
pub mod sampling;

pub use sampling::{ReviewSamplingPolicy, SampleReason, Sampled, iso_week, sample};
