//! Realtime matches: create, join, leave, data, and presence events.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::presence::UserPresence;
use super::wrappers::StringValue;

/// `Match`: the reply to `match_create` and `match_join`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Match {
    #[prost(string, tag = "1")]
    pub match_id: String,
    #[prost(bool, tag = "2")]
    pub authoritative: bool,
    #[prost(message, optional, tag = "3")]
    pub label: Option<StringValue>,
    #[prost(int32, tag = "4")]
    pub size: i32,
    #[prost(message, repeated, tag = "5")]
    pub presences: Vec<UserPresence>,
    #[prost(message, optional, tag = "6")]
    pub self_: Option<UserPresence>,
}

/// `MatchCreate`: `name` gives a deterministic match id.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MatchCreate {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `MatchData`: relayed data, with the sender's presence.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MatchData {
    #[prost(string, tag = "1")]
    pub match_id: String,
    #[prost(message, optional, tag = "2")]
    pub presence: Option<UserPresence>,
    #[prost(int64, tag = "3")]
    pub op_code: i64,
    #[prost(bytes = "bytes", tag = "4")]
    pub data: Bytes,
    #[prost(bool, tag = "5")]
    pub reliable: bool,
}

/// `MatchDataSend`. Decoded from a `Bytes` buffer, `data` is a slice of
/// it, not a copy.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MatchDataSend {
    #[prost(string, tag = "1")]
    pub match_id: String,
    #[prost(int64, tag = "2")]
    pub op_code: i64,
    #[prost(bytes = "bytes", tag = "3")]
    pub data: Bytes,
    #[prost(message, repeated, tag = "4")]
    pub presences: Vec<UserPresence>,
    #[prost(bool, tag = "5")]
    pub reliable: bool,
}

/// `MatchJoin`: by match id or by matchmaker token (a oneof).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MatchJoin {
    #[prost(oneof = "match_join::Id", tags = "1, 2")]
    pub id: Option<match_join::Id>,
    #[prost(btree_map = "string, string", tag = "3")]
    pub metadata: BTreeMap<String, String>,
}

/// The `id` oneof of [`MatchJoin`].
pub mod match_join {
    /// `MatchJoin.id`.
    #[derive(Clone, PartialEq, Eq, prost::Oneof)]
    pub enum Id {
        #[prost(string, tag = "1")]
        MatchId(String),
        #[prost(string, tag = "2")]
        Token(String),
    }
}

/// `MatchLeave`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MatchLeave {
    #[prost(string, tag = "1")]
    pub match_id: String,
}

/// `MatchPresenceEvent`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MatchPresenceEvent {
    #[prost(string, tag = "1")]
    pub match_id: String,
    #[prost(message, repeated, tag = "2")]
    pub joins: Vec<UserPresence>,
    #[prost(message, repeated, tag = "3")]
    pub leaves: Vec<UserPresence>,
}
