//! Reliable UDP: netcode.io connect tokens and encryption under renet's
//! channels (`kairos_net::rudp`), on every shard's SO_REUSEPORT UDP
//! socket, carrying the FlatBuffers envelope.
//!
//! * A client with a session JWT asks `POST /v2/kairos/udp/token` for a
//!   connect token ([`grants`]); its user data names the session.
//! * It connects to `udp.port`; the kernel keeps its 4-tuple on one shard,
//!   whose datagram driver (`datagram::driver`, with this protocol's
//!   [`adapter`]) owns the connection from then on (netcode does not
//!   migrate connections, so no datagram needs forwarding).
//! * Each message is one FlatBuffers envelope. Match data sent with
//!   `reliable: false` travels on the unreliable-sequenced channel, the
//!   rest on the reliable-ordered one.

pub mod adapter;
pub mod grants;
