//! Events to platforms (docs/webhooks.md): each change that a tenant's
//! endpoint subscribes to is written to the outbox in the changing
//! transaction (`store::sql::changes`); the sender delivers it signed, at
//! least once, with retries.

pub mod address;
pub mod deliverer;
pub mod sender;
pub mod signing;

/// The event kinds an endpoint may subscribe to, and the default set.
pub const EVENT_KINDS: [&str; 9] = [
    "call.queued",
    "call.progress",
    "call.scored",
    "call.failed",
    "call.deleted",
    "scorecard.rescored",
    "scorecard.reviewed",
    "dispute.opened",
    "dispute.resolved",
];

/// What an endpoint gets when it names no kinds.
pub const DEFAULT_EVENT_KINDS: [&str; 5] = [
    "call.scored",
    "call.failed",
    "scorecard.reviewed",
    "dispute.opened",
    "dispute.resolved",
];
