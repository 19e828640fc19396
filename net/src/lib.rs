//! Sans-IO protocol state machines of Kairos.
//!
//! # The sans-IO rule
//!
//! Nothing in this crate touches a socket, spawns a task, awaits a future or
//! reads a clock. Every protocol is a plain state machine: the caller feeds it
//! the bytes it received (and, for protocols with timers, the current time as
//! a value), and gets back decoded events plus the bytes it must send. The
//! drivers that own the actual I/O live elsewhere — the shard drivers of
//! the server, the blocking and tokio clients of the tests and the load
//! tester — in the same way `quinn` wraps `quinn-proto`.
//!
//! This keeps the protocol code deterministic and exhaustively testable: unit
//! tests feed it arbitrary byte splits, hostile inputs and pseudo-random
//! garbage without any runtime.
//!
//! # Modules
//!
//! * [`datagram`] — the one vocabulary of the datagram servers
//!   ([`datagram::DatagramServer`], quinn-proto's: `handle_datagram`,
//!   `poll_event`, `poll_transmit`, `poll_timeout`, `handle_timeout`),
//!   which both [`rudp`] and [`quic`] servers speak, and the shared
//!   [`datagram::Transmit`].
//! * [`ws`] — WebSocket (RFC 6455): opening handshake helpers, frame codec,
//!   streaming message decoder and a close-handshake state machine.
//! * [`rudp`] — reliable UDP: a server (one per shard) and a client over
//!   renetcode (netcode.io connect tokens, encryption, handshake, timeouts)
//!   and renet (reliable-ordered and unreliable channels, fragmentation),
//!   plus a sequenced channel, connect-token minting, and input checks that
//!   keep hostile datagrams from reaching code that would panic on them.
//!   Time comes in as a value; datagrams go out through a reusable queue.
//! * [`quic`] — QUIC over quinn-proto (TLS 1.3 with rustls): a server (one
//!   per shard) and a client, with the Nakama session token sent as the
//!   first stream frame and accepted or rejected by the application,
//!   reliable messages as length-prefixed frames on one stream, unreliable
//!   ones as QUIC datagrams, connection ids that encode the owning shard and
//!   [`quic::shard_of_datagram`] to forward migrated connections' datagrams
//!   to it, and self-signed certificate generation. Time comes in as a
//!   value; datagrams are written into the caller's buffer.
//! * [`sim`] — a deterministic, seeded lossy datagram link in virtual time
//!   (loss, duplication, reordering, delay) for in-process tests, here and in
//!   other crates.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod datagram;
pub mod quic;
pub mod rudp;
pub mod sim;
pub mod ws;
