//! Why a query string was refused.

use std::fmt;

/// A query string that does not parse: what is wrong, and the byte offset
/// in the query where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// Byte offset into the query string.
    pub position: usize,
    /// What is wrong, in words.
    pub message: String,
}

impl QueryError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        QueryError {
            position,
            message: message.into(),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.position)
    }
}

impl std::error::Error for QueryError {}
