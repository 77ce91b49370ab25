//! A validation error with its position in the rubric source.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::yaml::Pos;

/// One problem in a rubric document, located by line, column and path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricError {
    /// Line, 1-based.
    pub line: u32,
    /// Column, 1-based.
    pub column: u32,
    /// Where in the document, e.g. `criteria[2].checks[0].phrases.id`; empty for the root.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl RubricError {
    /// An error at a position.
    pub fn new(pos: Pos, path: impl Into<String>, message: impl Into<String>) -> Self {
        RubricError {
            line: pos.line,
            column: pos.column,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RubricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, path, self.message
        )
    }
}

impl std::error::Error for RubricError {}
