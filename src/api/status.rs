//! The one mapping from library errors to gRPC statuses. Internal causes are
//! logged with their chain and never shown to the client.

use tonic::Status;

use crate::store::StoreError;

impl From<StoreError> for Status {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Status::not_found(format!("{what} not found")),
            StoreError::AlreadyExists(what) => {
                Status::already_exists(format!("{what} already exists"))
            }
            StoreError::QueueFull(waiting) => Status::resource_exhausted(format!(
                "the queue is full ({waiting} calls waiting); retry later"
            )),
            StoreError::Conflict(what) => {
                Status::aborted(format!("{what} changed concurrently; retry"))
            }
            transient if transient.is_transient() => {
                tracing::warn!(error = %transient, "store unavailable");
                Status::unavailable("the database is unavailable right now; retry")
            }
            internal => {
                tracing::error!(error = %internal, "store failure");
                Status::internal("internal storage error")
            }
        }
    }
}

/// `INVALID_ARGUMENT` naming the field.
pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field}: {problem}"))
}

/// Longest part of a rejected value quoted back in an error.
const MAX_ECHO_CHARS: usize = 64;

/// A rejected value as quoted in an error: debug-escaped, and cut short so
/// that a huge value is never echoed back (it would not fit a header).
pub fn shown(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(MAX_ECHO_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}… ({} bytes)", value.len())
    } else {
        format!("{head:?}")
    }
}

/// `INVALID_ARGUMENT` when free text holds a NUL byte: PostgreSQL cannot
/// store one, so neither database is given one.
pub fn text<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
    if value.contains('\0') {
        return Err(invalid(field, "contains a NUL byte"));
    }
    Ok(value)
}
