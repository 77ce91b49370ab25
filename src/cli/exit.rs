//! Exit codes of the client commands, so that reviewers' scripts can tell
//! why a call failed without parsing messages:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | any other failure |
//! | 2 | usage: a bad flag or value (clap's own code, and INVALID_ARGUMENT) |
//! | 3 | the server cannot be reached, or answered UNAVAILABLE |
//! | 4 | not found (NOT_FOUND) |
//! | 5 | denied: the key is missing, unknown, revoked or lacks the role |

use std::fmt;

use tonic::Code;

/// Why a client command failed, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// A bad flag or value.
    Usage = 2,
    /// No server, or one that cannot serve now.
    Unreachable = 3,
    /// What was asked for does not exist (for this key's tenant).
    NotFound = 4,
    /// Authentication or authorisation refused.
    Denied = 5,
}

/// A failure that carries its exit code.
#[derive(Debug)]
pub struct ClientFailure {
    /// The exit code's reason.
    pub reason: ExitReason,
    /// What to print.
    pub message: String,
}

impl fmt::Display for ClientFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClientFailure {}

/// A failure of `reason` with `message`.
pub fn failure(reason: ExitReason, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(ClientFailure {
        reason,
        message: message.into(),
    })
}

/// An RPC's error status as a failure, `doing` saying what was being done
/// ("" for nothing); codes without their own exit code exit with 1.
pub fn rpc_failure(doing: &str, status: &tonic::Status) -> anyhow::Error {
    let message = if doing.is_empty() {
        status.message().to_string()
    } else {
        format!("{doing}: {}", status.message())
    };
    let reason = match status.code() {
        Code::InvalidArgument | Code::OutOfRange => Some(ExitReason::Usage),
        Code::Unavailable => Some(ExitReason::Unreachable),
        Code::NotFound => Some(ExitReason::NotFound),
        Code::Unauthenticated | Code::PermissionDenied => Some(ExitReason::Denied),
        _ => None,
    };
    match reason {
        Some(reason) => failure(reason, message),
        None => anyhow::anyhow!("{message}"),
    }
}

/// The exit code for an error a command returned.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ClientFailure>())
        .map_or(1, |failure| failure.reason as u8)
}
