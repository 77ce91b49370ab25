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

/// The field's value, or `INVALID_ARGUMENT` when it is empty.
pub fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
    let value = value.trim();
    if value.is_empty() {
        Err(invalid(field, "is required"))
    } else {
        Ok(value)
    }
}
