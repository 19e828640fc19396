//! Reliable UDP, sans-IO: renetcode (netcode.io) for connections and
//! encryption, renet for channels, and what Kairos adds on top.
//!
//! One [`RudpServer`] runs per shard, on the shard's SO_REUSEPORT UDP socket.
//! The kernel keeps a client's address 4-tuple on one socket, so every
//! datagram of a connection reaches the shard that accepted it and no
//! routing between shards is needed. [`RudpClient`] is the other end, for the
//! Rust client library and tests.
//!
//! Layers, from the wire up:
//!
//! 1. [`filter`]: stateless header checks on every datagram, before
//!    renetcode sees it.
//! 2. renetcode: the netcode.io handshake with [connect tokens](token),
//!    ChaCha20-Poly1305 on every packet after it, replay protection,
//!    keepalives (every 250 ms) and timeouts. Payload packets, which carry
//!    all the data, are sealed and opened by Kairos instead ([`seal`]): in
//!    netcode's layout, with keys of their own and ring's faster
//!    ChaCha20-Poly1305.
//! 3. [`guard`]: checks on each decrypted renet packet from the peer.
//! 4. renet: acknowledgements, resends and fragmentation, for
//!    [`Channel::ReliableOrdered`].
//!
//! Beside 3 and 4, the lane (`lane.rs`): the two unreliable [`Channel`]s'
//! messages, packed by Kairos into lane packets that fill the datagram
//! (renet would stop each packet at 1,200 bytes, and need neither its
//! acknowledgements nor its resends). The sequenced channel is Kairos'
//! own ([`sequence`]): a sequence number in front of each message.
//!
//! Between 2 and 3, [`bundle`]: one netcode payload carries several renet
//! and lane packets, so a flush (every channel's messages and the
//! acknowledgements) costs one datagram where it fits 1,300 bytes, not one
//! per packet.
//!
//! Both endpoints take the time as a value, feed on received datagrams,
//! and queue events and datagrams to send. The server speaks the
//! [`DatagramServer`] vocabulary shared with QUIC; see [`RudpServer`] for
//! its two timers (the tick and the flush) and the flushing rules. [`crate::sim`] connects them in-process over
//! a lossy virtual link.
//!
//! # Sizes
//!
//! renet slices messages above 1200 bytes. Reliable messages are sliced and
//! reassembled, up to [`RudpConfig::max_reliable_message_bytes`] (64 KiB by
//! default). Unreliable and sequenced messages are never sliced: `send`
//! refuses ones above [`MAX_UNRELIABLE_MESSAGE_BYTES`] (1200) or
//! [`MAX_SEQUENCED_MESSAGE_BYTES`] (1196) with
//! [`SendError::MessageTooLarge`]. Every datagram is at most
//! [`MAX_DATAGRAM_BYTES`]; payload packets stay at or below 1325 bytes
//! (a payload, bundle or not, is at most [`MAX_BUNDLE_BYTES`]).

pub mod bundle;
pub mod channel;
pub mod client;
pub mod config;
pub mod event;
pub mod filter;
pub mod guard;
pub mod sequence;
pub mod server;
pub mod token;
pub mod transmit;

mod clock;
mod lane;
mod peer;
mod seal;

#[cfg(test)]
mod tests;

pub use bundle::MAX_BUNDLE_BYTES;
pub use channel::{Channel, MAX_SEQUENCED_MESSAGE_BYTES, MAX_UNRELIABLE_MESSAGE_BYTES};
pub use client::{ClientError, ClientState, ClientStats, RudpClient};
pub use config::{ChannelMemory, ConfigError, MAX_CLIENTS, RudpConfig, ServerConfig};
pub use event::{ClientEvent, DisconnectReason, SendError, ServerEvent};
pub use guard::Violation;
pub use sequence::{SEQUENCE_PREFIX_BYTES, is_newer};
pub use server::{RudpServer, ServerStats};
pub use token::{
    ConnectTokenParams, MAX_SERVER_ADDRESSES, PRIVATE_KEY_BYTES, PrivateKey, TokenError,
    USER_DATA_BYTES, mint_connect_token,
};
pub use transmit::{MAX_DATAGRAM_BYTES, Transmits};

pub use crate::datagram::{DatagramServer, Transmit};
