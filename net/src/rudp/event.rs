//! What the endpoints report to the application, and why sends fail.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

use super::channel::Channel;
use super::guard::Violation;
use super::token::USER_DATA_BYTES;

/// Something that happened on a [`RudpServer`](super::RudpServer).
///
/// Per client, events come in protocol order: `Connected`, then `Message`s
/// in the order the channels deliver them, then one `Disconnected`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A client completed the handshake with a valid connect token.
    Connected {
        /// The token's client id.
        client_id: u64,
        /// Where its datagrams come from.
        addr: SocketAddr,
        /// The token's user data, as minted.
        user_data: Box<[u8; USER_DATA_BYTES]>,
    },
    /// A client's connection ended; nothing more will come from it.
    Disconnected {
        /// The client.
        client_id: u64,
        /// Why.
        reason: DisconnectReason,
    },
    /// A message from a connected client.
    Message {
        /// The sender.
        client_id: u64,
        /// The channel it came on.
        channel: Channel,
        /// The message, exactly as sent.
        payload: Bytes,
    },
}

/// Something that happened on a [`RudpClient`](super::RudpClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server accepted the connect token; sending is now possible.
    Connected,
    /// The connection ended (or never started); the client is finished.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// A message from the server.
    Message {
        /// The channel it came on.
        channel: Channel,
        /// The message, exactly as sent.
        payload: Bytes,
    },
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// This endpoint called `disconnect`.
    Local,
    /// The peer said goodbye (a netcode disconnect packet).
    Peer,
    /// Nothing arrived from the peer for the token's timeout.
    TimedOut,
    /// (Client) The server never answered the handshake within the
    /// token's timeout: wrong key or protocol id, or no server there.
    HandshakeTimedOut,
    /// (Client) The connect token expired before the handshake finished.
    TokenExpired,
    /// (Client) The server is full.
    Denied,
    /// The peer broke the protocol.
    Protocol(Violation),
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("closed locally"),
            Self::Peer => f.write_str("closed by peer"),
            Self::TimedOut => f.write_str("connection timed out"),
            Self::HandshakeTimedOut => f.write_str("handshake timed out"),
            Self::TokenExpired => f.write_str("connect token expired"),
            Self::Denied => f.write_str("connection denied: server full"),
            Self::Protocol(violation) => write!(f, "protocol violation: {violation}"),
        }
    }
}

impl DisconnectReason {
    /// The reason behind renetcode's client disconnect reason.
    pub(crate) const fn from_netcode(reason: renetcode::DisconnectReason) -> Self {
        use renetcode::DisconnectReason as R;
        match reason {
            R::ConnectTokenExpired => Self::TokenExpired,
            R::ConnectionTimedOut => Self::TimedOut,
            R::ConnectionResponseTimedOut | R::ConnectionRequestTimedOut => Self::HandshakeTimedOut,
            R::ConnectionDenied => Self::Denied,
            R::DisconnectedByClient => Self::Local,
            R::DisconnectedByServer => Self::Peer,
        }
    }
}

/// Why a message was not queued. Nothing was queued, and the connection is
/// unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No such connected client (server), or not connected (client).
    NotConnected,
    /// Longer than the channel's limit ([`Channel::max_message_bytes`]).
    MessageTooLarge {
        /// The message length.
        len: usize,
        /// The channel's limit.
        max: usize,
    },
    /// The channel's send buffer is full: the peer is not acknowledging fast
    /// enough (reliable), or too much was queued since the last flush
    /// (unreliable). A server should treat a full reliable channel like a
    /// full session queue (ARCHITECTURE.md, invariant 4) and disconnect the
    /// client.
    ChannelFull,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConnected => f.write_str("not connected"),
            Self::MessageTooLarge { len, max } => {
                write!(
                    f,
                    "message of {len} bytes exceeds the channel limit of {max}"
                )
            }
            Self::ChannelFull => f.write_str("channel send buffer full"),
        }
    }
}

impl std::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_well() {
        assert_eq!(
            DisconnectReason::Protocol(Violation::InvalidSlice).to_string(),
            "protocol violation: invalid message fragment"
        );
        assert_eq!(
            SendError::MessageTooLarge {
                len: 1300,
                max: 1200
            }
            .to_string(),
            "message of 1300 bytes exceeds the channel limit of 1200"
        );
        assert_eq!(
            DisconnectReason::from_netcode(renetcode::DisconnectReason::ConnectionRequestTimedOut),
            DisconnectReason::HandshakeTimedOut
        );
    }
}
