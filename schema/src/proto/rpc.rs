//! `nakama.api.Rpc`: a runtime function call over the socket, and its reply.

/// `api.Rpc`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Rpc {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub payload: String,
    #[prost(string, tag = "3")]
    pub http_key: String,
}
