//! Protocol errors raised while decoding received frames.

use std::fmt;

use super::close;

/// A violation of RFC 6455 by the peer.
///
/// The connection must be failed: send a close frame with [`code`](Self::code)
/// (and optionally [`reason`](Self::reason)), then drop the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolError {
    /// Close code to send to the peer: [`close::PROTOCOL_ERROR`] (1002),
    /// [`close::INVALID_PAYLOAD`] (1007) or [`close::MESSAGE_TOO_BIG`] (1009).
    pub code: u16,
    /// Short human-readable reason, suitable as a close reason (≤ 123 bytes).
    pub reason: &'static str,
}

impl ProtocolError {
    /// A 1002 protocol error.
    pub const fn protocol(reason: &'static str) -> Self {
        Self {
            code: close::PROTOCOL_ERROR,
            reason,
        }
    }

    /// A 1007 invalid payload data error (bad UTF-8 and the like).
    pub const fn invalid_payload(reason: &'static str) -> Self {
        Self {
            code: close::INVALID_PAYLOAD,
            reason,
        }
    }

    /// A 1009 message too big error.
    pub const fn too_big(reason: &'static str) -> Self {
        Self {
            code: close::MESSAGE_TOO_BIG,
            reason,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "websocket protocol error {}: {}", self.code, self.reason)
    }
}

impl std::error::Error for ProtocolError {}
