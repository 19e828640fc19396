//! `nakama.realtime.Ping` and `Pong`: the application-level heartbeat.

/// `Ping`: sent by either side; answered with a `Pong` of the same `cid`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Ping {}

/// `Pong`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Pong {}
