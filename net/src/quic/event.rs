//! What the endpoints report to the application, why connections end and
//! why sends fail.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use quinn_proto::ConnectionError;

/// Application close codes Kairos itself uses (QUIC `CONNECTION_CLOSE` of
/// type 0x1d). Codes below 16 are reserved for these; pass larger ones to
/// `close` and `reject` for application reasons.
pub mod codes {
    /// A normal close.
    pub const NORMAL: u32 = 0;
    /// The peer broke Kairos' framing (see
    /// [`Violation`](super::Violation)); the reason text says how.
    pub const PROTOCOL: u32 = 1;
    /// The connection was not authenticated within `auth_timeout`.
    pub const AUTH_TIMEOUT: u32 = 2;
    /// A suggested code for `reject`: the session token is not valid.
    pub const UNAUTHORIZED: u32 = 3;
    /// A suggested code for closing a client that does not keep up
    /// ([`SendError::Backpressure`](super::SendError::Backpressure)).
    pub const SLOW_CONSUMER: u32 = 4;
    /// A suggested code for closing every connection at shutdown.
    pub const SHUTDOWN: u32 = 5;
}

/// A connection on a [`QuicServer`](super::QuicServer). Never reused: a
/// stale id names no connection rather than a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(crate) u64);

impl ConnId {
    /// The id as a number (unique per server).
    pub const fn to_u64(self) -> u64 {
        self.0
    }

    pub(crate) const fn new(slot: usize, generation: u32) -> Self {
        Self(((generation as u64) << 32) | slot as u64)
    }

    pub(crate) const fn slot(self) -> usize {
        (self.0 & 0xFFFF_FFFF) as usize
    }

    pub(crate) const fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "quic#{}.{}", self.slot(), self.generation())
    }
}

/// Something that happened on a [`QuicServer`](super::QuicServer).
///
/// Per connection, events come in protocol order: `Connected`, then
/// `Message`s (reliable ones in order; only after `accept`), then one
/// `Closed`. Connections that end before `Connected` (failed handshakes,
/// no token) report nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A client finished the QUIC handshake and sent its session token. No
    /// message is delivered, and none can be sent, until the application
    /// calls `accept`; or it calls `reject`.
    Connected {
        /// The connection.
        conn: ConnId,
        /// Where its datagrams come from (at the time of the handshake).
        addr: SocketAddr,
        /// The session token, as sent.
        token: String,
    },
    /// A message from an accepted client.
    Message {
        /// The sender.
        conn: ConnId,
        /// Whether it came on the stream (in order, exactly once) or as a
        /// QUIC datagram (unordered, maybe lost, never duplicated by QUIC).
        reliable: bool,
        /// The message, exactly as sent.
        payload: Bytes,
    },
    /// A connection ended; nothing more will come from it.
    Closed {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
}

/// Something that happened on a [`QuicClient`](super::QuicClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server accepted the session token; sending is now possible.
    Connected,
    /// A message from the server.
    Message {
        /// Stream (true) or datagram (false).
        reliable: bool,
        /// The message, exactly as sent.
        payload: Bytes,
    },
    /// The connection ended (or never started); the client is finished.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// This endpoint called `close` (or `reject`).
    Local,
    /// The peer closed the connection with an application code: a normal
    /// close, a rejection (on the client), or one of [`codes`].
    Peer {
        /// The peer's code.
        code: u64,
        /// The peer's reason text (lossily decoded UTF-8).
        reason: String,
    },
    /// Nothing arrived from the peer for the idle timeout.
    TimedOut,
    /// The connection was not authenticated within `auth_timeout`.
    AuthTimeout,
    /// The peer broke Kairos' framing; this endpoint closed the connection
    /// with [`codes::PROTOCOL`].
    Protocol(Violation),
    /// The QUIC or TLS layer failed: a protocol error by either side, an
    /// unverifiable certificate, no common ALPN or QUIC version.
    Transport(String),
    /// The peer lost its state (a stateless reset).
    Reset,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("closed locally"),
            Self::Peer { code, reason } => write!(f, "closed by peer (code {code}): {reason}"),
            Self::TimedOut => f.write_str("connection timed out"),
            Self::AuthTimeout => f.write_str("not authenticated in time"),
            Self::Protocol(v) => write!(f, "protocol violation: {v}"),
            Self::Transport(e) => write!(f, "transport error: {e}"),
            Self::Reset => f.write_str("reset by peer"),
        }
    }
}

impl CloseReason {
    /// The reason behind quinn-proto's reason for a lost connection.
    pub(crate) fn from_quinn(error: ConnectionError) -> Self {
        match error {
            ConnectionError::ApplicationClosed(close) => Self::Peer {
                code: close.error_code.into_inner(),
                reason: String::from_utf8_lossy(&close.reason).into_owned(),
            },
            ConnectionError::TimedOut => Self::TimedOut,
            ConnectionError::Reset => Self::Reset,
            ConnectionError::LocallyClosed => Self::Local,
            e => Self::Transport(e.to_string()),
        }
    }
}

/// How a peer broke Kairos' framing. The connection is closed with
/// [`codes::PROTOCOL`] and [`CloseReason::Protocol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A frame header announced more than the receiver's limit.
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The limit (`max_token_bytes` for the first frame,
        /// `max_frame_bytes` after it).
        max: usize,
    },
    /// (Server) The first frame was empty or not UTF-8.
    BadToken,
    /// (Client) The server's first frame was not the accept frame.
    BadAccept,
    /// The peer finished its side of the stream where the protocol does
    /// not allow it: a client ever, a server before its accept frame or
    /// mid-frame. (A server closing gracefully finishes its side after its
    /// last frame; see [`finish`](super::finish).)
    StreamFinished,
    /// The peer reset its side of the stream.
    StreamReset,
    /// The peer stopped reading our side of the stream.
    StreamStopped,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the limit of {max}")
            }
            Self::BadToken => f.write_str("empty or non-UTF-8 session token"),
            Self::BadAccept => f.write_str("unexpected first frame from the server"),
            Self::StreamFinished => f.write_str("stream finished"),
            Self::StreamReset => f.write_str("stream reset"),
            Self::StreamStopped => f.write_str("stream stopped"),
        }
    }
}

/// Why a message was not queued. Nothing was queued, and the connection is
/// unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No such connection, not accepted yet, or closing (server); not
    /// connected (client).
    NotConnected,
    /// Larger than the limit: `max_frame_bytes` for reliable messages, the
    /// current maximum datagram size for unreliable ones.
    TooLarge {
        /// The message length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The peer does not accept QUIC datagrams.
    DatagramsUnsupported,
    /// The reliable send queue is full: the peer does not read or
    /// acknowledge fast enough. A server should treat this like a full
    /// session queue (ARCHITECTURE.md, invariant 4) and close the client,
    /// for example with [`codes::SLOW_CONSUMER`].
    Backpressure {
        /// Bytes already queued.
        queued: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConnected => f.write_str("not connected"),
            Self::TooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds the limit of {max}")
            }
            Self::DatagramsUnsupported => f.write_str("peer does not accept datagrams"),
            Self::Backpressure { queued } => {
                write!(f, "send queue full ({queued} bytes queued)")
            }
        }
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pack_slot_and_generation() {
        let id = ConnId::new(7, 3);
        assert_eq!((id.slot(), id.generation()), (7, 3));
        assert_ne!(id, ConnId::new(7, 4));
        assert_eq!(id.to_string(), "quic#7.3");
    }

    #[test]
    fn reasons_read_well() {
        assert_eq!(
            CloseReason::Protocol(Violation::FrameTooLarge { len: 9, max: 8 }).to_string(),
            "protocol violation: frame of 9 bytes exceeds the limit of 8"
        );
        assert_eq!(
            SendError::Backpressure { queued: 5 }.to_string(),
            "send queue full (5 bytes queued)"
        );
        assert_eq!(
            CloseReason::from_quinn(ConnectionError::TimedOut),
            CloseReason::TimedOut
        );
    }
}
