//! QUIC, sans-IO: quinn-proto for the transport (QUIC v1, TLS 1.3 through
//! rustls and *ring*, loss recovery, congestion and flow control, the
//! DATAGRAM extension of RFC 9221), and Kairos' session handshake and
//! message framing on top.
//!
//! One [`QuicServer`] runs per shard, wrapping a quinn-proto `Endpoint` on
//! the shard's SO_REUSEPORT UDP socket; [`QuicClient`] is the other end, for
//! the Rust client library and tests. Both take the time as a value, feed on
//! received datagrams, and hand back events and datagrams to send, written
//! straight into the caller's buffer; the server speaks the
//! [`DatagramServer`] vocabulary shared with reliable UDP.
//!
//! # Protocol
//!
//! * ALPN `kairos` ([`ALPN`]), TLS 1.3 only, no 0-RTT, no resumption
//!   ([`tls`]).
//! * The client opens one bidirectional stream and sends its Nakama session
//!   token (the JWT) as the first length-prefixed frame. The server reports
//!   it as [`ServerEvent::Connected`] and reads nothing more until the
//!   application calls [`QuicServer::accept`] (the server then sends the
//!   accept frame, and the client reports [`ClientEvent::Connected`]) or
//!   [`QuicServer::reject`] (a close with the application's code).
//! * Reliable messages are frames on that stream: a 4-byte big-endian length,
//!   then the payload, at most [`QuicConfig::max_frame_bytes`] ([`frame`]).
//!   Unreliable messages are QUIC DATAGRAM frames, at most the peer's
//!   current maximum datagram size.
//! * No other stream may exist: the server grants the client one
//!   bidirectional stream and no unidirectional one, the client grants the
//!   server none, and quinn-proto enforces the limits.
//! * The client never finishes its side of the stream. The server finishes
//!   its side only to close gracefully
//!   ([`QuicServer::close_when_delivered`], [`finish`]): a FIN after its
//!   last frame, then, once the client has acknowledged everything, a
//!   `CONNECTION_CLOSE` with the application's code.
//!
//! # Routing between shards
//!
//! The kernel spreads datagrams over the shards' sockets by address
//! 4-tuple, but a QUIC connection may migrate (NAT rebinding, a phone
//! moving networks), and its packets then land on another shard. So every
//! connection id a server issues names its shard: the shard index in its
//! first two bytes ([`cid`]; eight bytes in all, the rest random). Clients
//! send every packet after the first flight to one of these ids.
//!
//! The driver of each shard calls [`QuicServer::route`] (that is,
//! [`shard_of_datagram`] with the shard count) on each received datagram,
//! before any decryption:
//!
//! * `None`: handle it here. Initial (and 0-RTT) packets route nowhere:
//!   their destination id is the client's own random choice until the
//!   server's first reply, handshake traffic cannot migrate, and the kernel
//!   keeps a 4-tuple on one socket, so the shard that received a
//!   connection's first Initial owns the connection and issues its ids.
//!   Datagrams too short or malformed to name a shard also stay.
//! * `Some(shard)`: forward the datagram, with its source address, to that
//!   shard, which feeds it to its own server. Handshake and 1-RTT packets
//!   carry the owner's id, whatever address they come from. The owner
//!   answers from its own socket, which shares the port, so the client sees
//!   the same server address, and quinn-proto validates the new path.
//!
//! A shard that receives a short-header packet naming another shard and
//! handles it anyway drops it: the id does not validate there, so it
//! sends no stateless reset that could kill the owner's connection. Each
//! endpoint has its own stateless-reset key and only resets ids of its own
//! shard. Two cases route badly, both harmless: a client whose address
//! changes before the server's first reply may start a second handshake on
//! another shard, which it ignores and which times out; and a stateless
//! reset sent *by a client* (random bytes) reaches a random shard, so the
//! connection it meant to end ends by idle timeout instead.
//!
//! The shard index is visible to observers, as in QUIC-LB's plaintext
//! mode: they learn which shard a connection is on, and nothing else links
//! its ids.
//!
//! # Time
//!
//! Every call takes `now` as a [`std::time::Instant`]; nothing reads a
//! clock, with one exception in TLS: rustls checks the server certificate's
//! validity period against the system clock on the client (see [`tls`]).
//! quinn-proto's retry tokens are dated with the server's input time
//! instead of the system clock.
//!
//! # Sizes, flow control and back-pressure
//!
//! Received datagrams may be up to [`MAX_UDP_PAYLOAD`] bytes; the server
//! drops longer ones unread. Sent ones stay within 1200 bytes unless
//! [`QuicConfig::mtu_discovery`] is on, but for stateless resets, which are
//! shorter than the datagram that provoked them. A reliable
//! `send` never blocks: what quinn-proto cannot take yet (stream and
//! connection flow control, congestion window, its send window) waits in a
//! per-connection queue bounded by [`QuicConfig::max_queued_reliable_bytes`],
//! past which sends fail with [`SendError::Backpressure`] and the caller
//! closes the slow client. Unreliable sends larger than the peer's maximum
//! datagram size fail with [`SendError::TooLarge`]; when the datagram buffer
//! is full, the oldest queued datagrams are dropped. Per connection, a peer
//! can thus make an endpoint hold at most its receive window of unread
//! stream data, one partial frame, and the datagram buffer; and a slow peer
//! at most the send window plus the send queue.
//!
//! The other way round, a server whose application falls behind calls
//! [`QuicServer::pause_reading`]: it stops reading the connection's stream,
//! quinn-proto stops granting flow-control credit, and the client's
//! messages queue up on the client (whose `send` then reports
//! back-pressure) rather than on the server, until
//! [`QuicServer::resume_reading`]. Datagrams keep coming while paused.
//!
//! # Hostile input
//!
//! See [`QuicServer`] ("Hostile input"): quinn-proto's anti-amplification
//! limit before address validation, Retry packets under handshake load
//! ([`RetryPolicy`]), rate-limited stateless resets, a token frame limit
//! checked on the header, an auth timeout for connections that never
//! authenticate, and a close with [`codes::PROTOCOL`] for any framing
//! violation. The tests feed both ends tens of thousands of random,
//! truncated, corrupted and replayed datagrams and hostile stream frames.
//!
//! # Not supported
//!
//! GSO/GRO batches, ECN, and explicit local addresses for multi-homed hosts
//! are not implemented (quinn-proto gets one datagram per call, no ECN marks
//! and no local IP). 0-RTT, session resumption and NEW_TOKEN
//! address-validation tokens are off on purpose.

pub mod cid;
pub mod client;
pub mod config;
pub mod event;
pub mod finish;
pub mod frame;
pub mod server;
pub mod tls;
pub mod transmit;

mod clock;
mod peer;

pub use cid::{LOCAL_CID_LEN, MAX_SHARDS, SHARD_PREFIX_BYTES, cid_shard, shard_of_datagram};
pub use client::{ClientError, ClientState, QuicClient};
pub use config::{ConfigError, QuicConfig, RetryPolicy, ServerConfig};
pub use event::{ClientEvent, CloseReason, ConnId, SendError, ServerEvent, Violation, codes};
pub use frame::{ACCEPT_FRAME, FRAME_HEADER_BYTES};
pub use server::{QuicServer, ServerStats};
pub use tls::{ALPN, ClientTls, ServerTls, TlsError, self_signed};
pub use transmit::{MAX_UDP_PAYLOAD, Transmit};

pub use crate::datagram::DatagramServer;

#[cfg(test)]
mod tests;
