//! The gRPC API: tonic services, request validation at the edge, and the
//! mapping of library errors to statuses. Handlers hold no business logic.

mod audio;
mod calibration;
mod call;
pub(crate) mod convert;
mod disputes;
mod export;
mod export_parquet;
mod insight;
mod insight_proto;
mod key;
mod overrides;
pub mod paging;
mod reliability;
mod review;
mod review_tasks;
mod rubric;
mod scorecard;
mod status;
mod tenant;
mod watch;
mod watch_calls;
mod watch_slots;
mod webhooks;

use std::sync::Arc;

pub use calibration::CalibrationApi;
pub use call::CallApi;
pub use disputes::DisputeApi;
pub use insight::InsightApi;
pub use key::KeyApi;
pub use review::ReviewApi;
pub use rubric::{MAX_RUBRIC_DOCUMENT_BYTES, RubricApi};
pub use scorecard::ScorecardApi;
pub use tenant::TenantApi;
pub use watch_slots::WatchSlots;
pub use webhooks::WebhookApi;

use crate::pipeline::Pipeline;
use crate::store::Store;

/// What the services share.
pub struct ServiceState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Blobs, rubrics, scoring and redaction.
    pub pipeline: Arc<Pipeline>,
    /// Largest accepted upload.
    pub max_upload_bytes: u64,
    /// Attempts per queued call.
    pub max_attempts: i64,
    /// Calls a tenant may have waiting.
    pub max_queued: i64,
    /// How long an upload may pause between messages.
    pub upload_stall: std::time::Duration,
    /// Open WatchCall streams per key.
    pub watches: WatchSlots,
    /// Committed changes, for WatchCall.
    pub changes: crate::feed::ChangeFeed,
    /// Cancelled when the server drains: open streams end.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Webhook URLs may be private, loopback or plain http.
    pub webhook_allow_private_networks: bool,
}

/// A protobuf timestamp from Unix epoch milliseconds.
pub(crate) fn timestamp(epoch_ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: epoch_ms.div_euclid(1000),
        nanos: i32::try_from(epoch_ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}
