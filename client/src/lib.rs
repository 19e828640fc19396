//! A blocking Rust client for Kairos, the Nakama-compatible realtime game
//! server: Nakama's REST API (authentication, session refresh) and its
//! realtime protocol over every transport Kairos speaks:
//!
//! | [`Transport`] | wire | unreliable `match_data_send` |
//! | --- | --- | --- |
//! | `WsJson` | WebSocket, Nakama JSON | reliable (TCP) |
//! | `WsProtobuf` | WebSocket, Nakama protobuf | reliable (TCP) |
//! | `WsFlatBuffers` | WebSocket, Kairos FlatBuffers | reliable (TCP) |
//! | `ReliableUdp` | netcode.io + renet, FlatBuffers | unreliable sequenced channel |
//! | `Quic` | QUIC stream + datagrams, FlatBuffers | QUIC datagram |
//!
//! ```no_run
//! use std::time::Duration;
//! use kairos_client::{Client, ConnectOptions, Transport};
//! use kairos_client::rtapi::Outgoing;
//!
//! # fn main() -> kairos_client::Result<()> {
//! let client = Client::new("127.0.0.1", 7350, "defaultkey");
//! let session = client.authenticate_device("a-device-id-0001", true, None)?;
//! let mut rt = client.connect(&session, Transport::ReliableUdp, ConnectOptions::default())?;
//! let m = rt.match_create(None)?;
//! rt.match_data_send(&m.match_id, 1, &b"hello"[..], true, &[])?;
//! while let Some(msg) = rt.poll(Duration::from_millis(100))? {
//!     if let Some(Outgoing::MatchData(d)) = msg.message {
//!         println!("{} says {:?}", d.presence.username, d.data);
//!     }
//! }
//! rt.close();
//! # Ok(())
//! # }
//! ```
//!
//! The messages themselves are the server's own model
//! ([`rtapi::Incoming`] for requests, [`rtapi::Outgoing`] for what the
//! server sends), re-exported from `kairos-schema`; [`codec`] converts
//! them to and from each wire.
//!
//! # Threading
//!
//! Every call blocks (up to its timeout) except [`Realtime::pump`] and
//! [`Realtime::drain`], which never do. Nothing runs in the background:
//! the connection moves only inside `pump`, `poll`, `request` and the
//! typed helpers, so call `pump` (or `poll`) regularly. [`Realtime`] is
//! `Send + Sync` and takes `&mut self`: own it on one thread (a game loop,
//! a Bevy resource) or share it behind a `Mutex`.
//!
//! See the crate's `README.md` for choosing a transport, a Bevy example
//! and error handling.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
pub mod codec;
mod error;
mod realtime;
mod session;

pub use bytes::Bytes;
pub use client::{
    Client, DEFAULT_PORT, DEFAULT_SERVER_KEY, QuicEndpoint, Transports, UdpEndpoint, UdpToken,
};
pub use codec::{ServerMessage, Wire};
pub use error::{Error, Result, grpc};
pub use realtime::{
    ChannelType, ConnectOptions, ConnectionState, QuicTrust, Realtime, Stats, Transport,
};
pub use session::Session;

/// The realtime messages ([`Incoming`](rtapi::Incoming) requests,
/// [`Outgoing`](rtapi::Outgoing) server messages and their parts), from
/// `kairos-schema`.
pub mod rtapi {
    pub use kairos_schema::api::{ChannelMessage, Notification};
    pub use kairos_schema::rtapi::*;
}

/// The TLS configuration of QUIC connections, for
/// [`Realtime::connect_quic`].
pub use kairos_net::quic::ClientTls;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
