//! The datagram transports' driver: one per shard and protocol, on the
//! shard's SO_REUSEPORT UDP socket, around a sans-IO server that speaks
//! `kairos_net::datagram::DatagramServer` (reliable UDP's `RudpServer`,
//! QUIC's `QuicServer`).
//!
//! * [`driver`]: what both protocols share, generic over the protocol: the
//!   socket loop (receive, feed the server, serve its events, send what it
//!   queued), the timer at the server's `poll_timeout`, and the bridge
//!   from connections to sessions (`session::driven`): each authenticated
//!   connection becomes a session with an inbox, reader and writer.
//! * [`protocol`]: the adapter each protocol implements for what differs
//!   (`udp::adapter`, `quic::adapter`): its server's clock, how an event
//!   reads, how a connection's credentials become a session, which
//!   channel a frame takes, reading back-pressure, how a connection ends,
//!   and whether a datagram belongs to another shard.

pub mod driver;
pub mod protocol;
