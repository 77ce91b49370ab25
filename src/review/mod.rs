//! The QA review workflow around scorecards: which calls land in reviewers'
//! queues (docs/review-queues.md).

pub mod lowest;
pub mod sampling;

pub use sampling::{ReviewSamplingPolicy, SampleReason, Sampled, iso_week, sample};
