//! Streams: Nakama's low-level delivery channels, as the runtime exposes
//! them to clients.

use super::presence::UserPresence;

/// `Stream`: a stream's identity.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Stream {
    #[prost(int32, tag = "1")]
    pub mode: i32,
    #[prost(string, tag = "2")]
    pub subject: String,
    #[prost(string, tag = "3")]
    pub subcontext: String,
    #[prost(string, tag = "4")]
    pub label: String,
}

/// `StreamData`. `data` is a string here, not bytes.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StreamData {
    #[prost(message, optional, tag = "1")]
    pub stream: Option<Stream>,
    #[prost(message, optional, tag = "2")]
    pub sender: Option<UserPresence>,
    #[prost(string, tag = "3")]
    pub data: String,
    #[prost(bool, tag = "4")]
    pub reliable: bool,
}

/// `StreamPresenceEvent`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StreamPresenceEvent {
    #[prost(message, optional, tag = "1")]
    pub stream: Option<Stream>,
    #[prost(message, repeated, tag = "2")]
    pub joins: Vec<UserPresence>,
    #[prost(message, repeated, tag = "3")]
    pub leaves: Vec<UserPresence>,
}
