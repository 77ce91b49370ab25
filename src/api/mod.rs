//! The gRPC API: tonic services, request validation at the edge, and the
//! mapping of library errors to statuses. Handlers hold no business logic.

mod insight;
mod insight_proto;
mod paging;
mod pending;
mod rubric;
mod status;

pub use insight::InsightApi;
pub use pending::PendingApi;
pub use rubric::{MAX_RUBRIC_DOCUMENT_BYTES, RubricApi};

/// A protobuf timestamp from Unix epoch milliseconds.
pub(crate) fn timestamp(epoch_ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: epoch_ms.div_euclid(1000),
        nanos: i32::try_from(epoch_ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}
