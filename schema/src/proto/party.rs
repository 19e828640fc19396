//! Parties: groups of users that play together, and queue for the
//! matchmaker together (`PartyMatchmakerAdd`, `_Remove`, `_Ticket`).

use std::collections::BTreeMap;

use bytes::Bytes;

use super::presence::UserPresence;
use super::wrappers::Int32Value;

/// `Party`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Party {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(bool, tag = "2")]
    pub open: bool,
    #[prost(bool, tag = "3")]
    pub hidden: bool,
    #[prost(int32, tag = "4")]
    pub max_size: i32,
    #[prost(message, optional, tag = "5")]
    pub self_: Option<UserPresence>,
    #[prost(message, optional, tag = "6")]
    pub leader: Option<UserPresence>,
    #[prost(message, repeated, tag = "7")]
    pub presences: Vec<UserPresence>,
    #[prost(string, tag = "8")]
    pub label: String,
}

/// `PartyCreate`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyCreate {
    #[prost(bool, tag = "1")]
    pub open: bool,
    #[prost(int32, tag = "2")]
    pub max_size: i32,
    #[prost(string, tag = "3")]
    pub label: String,
    #[prost(bool, tag = "4")]
    pub hidden: bool,
}

/// `PartyUpdate`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyUpdate {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(string, tag = "2")]
    pub label: String,
    #[prost(bool, tag = "3")]
    pub open: bool,
    #[prost(bool, tag = "4")]
    pub hidden: bool,
}

/// `PartyJoin`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyJoin {
    #[prost(string, tag = "1")]
    pub party_id: String,
}

/// `PartyLeave`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyLeave {
    #[prost(string, tag = "1")]
    pub party_id: String,
}

/// `PartyPromote`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyPromote {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(message, optional, tag = "2")]
    pub presence: Option<UserPresence>,
}

/// `PartyLeader`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyLeader {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(message, optional, tag = "2")]
    pub presence: Option<UserPresence>,
}

/// `PartyAccept`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyAccept {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(message, optional, tag = "2")]
    pub presence: Option<UserPresence>,
}

/// `PartyRemove`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyRemove {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(message, optional, tag = "2")]
    pub presence: Option<UserPresence>,
}

/// `PartyClose`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyClose {
    #[prost(string, tag = "1")]
    pub party_id: String,
}

/// `PartyJoinRequestList`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyJoinRequestList {
    #[prost(string, tag = "1")]
    pub party_id: String,
}

/// `PartyJoinRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyJoinRequest {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(message, repeated, tag = "2")]
    pub presences: Vec<UserPresence>,
}

/// `PartyMatchmakerAdd`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PartyMatchmakerAdd {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(int32, tag = "2")]
    pub min_count: i32,
    #[prost(int32, tag = "3")]
    pub max_count: i32,
    #[prost(string, tag = "4")]
    pub query: String,
    #[prost(btree_map = "string, string", tag = "5")]
    pub string_properties: BTreeMap<String, String>,
    #[prost(btree_map = "string, double", tag = "6")]
    pub numeric_properties: BTreeMap<String, f64>,
    #[prost(message, optional, tag = "7")]
    pub count_multiple: Option<Int32Value>,
}

/// `PartyMatchmakerRemove`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyMatchmakerRemove {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(string, tag = "2")]
    pub ticket: String,
}

/// `PartyMatchmakerTicket`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyMatchmakerTicket {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(string, tag = "2")]
    pub ticket: String,
}

/// `PartyData`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyData {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(message, optional, tag = "2")]
    pub presence: Option<UserPresence>,
    #[prost(int64, tag = "3")]
    pub op_code: i64,
    #[prost(bytes = "bytes", tag = "4")]
    pub data: Bytes,
}

/// `PartyDataSend`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyDataSend {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(int64, tag = "2")]
    pub op_code: i64,
    #[prost(bytes = "bytes", tag = "3")]
    pub data: Bytes,
}

/// `PartyPresenceEvent`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PartyPresenceEvent {
    #[prost(string, tag = "1")]
    pub party_id: String,
    #[prost(message, repeated, tag = "2")]
    pub joins: Vec<UserPresence>,
    #[prost(message, repeated, tag = "3")]
    pub leaves: Vec<UserPresence>,
}
