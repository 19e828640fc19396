//! Chat channels: join, leave, send, update, remove, and what the server
//! answers and pushes (`nakama.realtime.Channel*` and `nakama.api.ChannelMessage`).

use super::presence::UserPresence;
use super::wrappers::{BoolValue, Int32Value, Timestamp};

/// `Channel`: the reply to `channel_join`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Channel {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(message, repeated, tag = "2")]
    pub presences: Vec<UserPresence>,
    #[prost(message, optional, tag = "3")]
    pub self_: Option<UserPresence>,
    #[prost(string, tag = "4")]
    pub room_name: String,
    #[prost(string, tag = "5")]
    pub group_id: String,
    #[prost(string, tag = "6")]
    pub user_id_one: String,
    #[prost(string, tag = "7")]
    pub user_id_two: String,
}

/// `ChannelJoin`. `type` is `ChannelJoin.Type`: 0 unspecified (a room),
/// 1 room, 2 direct message, 3 group.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelJoin {
    #[prost(string, tag = "1")]
    pub target: String,
    #[prost(int32, tag = "2")]
    pub r#type: i32,
    #[prost(message, optional, tag = "3")]
    pub persistence: Option<BoolValue>,
    #[prost(message, optional, tag = "4")]
    pub hidden: Option<BoolValue>,
}

/// `ChannelLeave`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelLeave {
    #[prost(string, tag = "1")]
    pub channel_id: String,
}

/// `ChannelMessageAck`: the reply to a send, update or remove.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelMessageAck {
    #[prost(string, tag = "1")]
    pub channel_id: String,
    #[prost(string, tag = "2")]
    pub message_id: String,
    #[prost(message, optional, tag = "3")]
    pub code: Option<Int32Value>,
    #[prost(string, tag = "4")]
    pub username: String,
    #[prost(message, optional, tag = "5")]
    pub create_time: Option<Timestamp>,
    #[prost(message, optional, tag = "6")]
    pub update_time: Option<Timestamp>,
    #[prost(message, optional, tag = "7")]
    pub persistent: Option<BoolValue>,
    #[prost(string, tag = "8")]
    pub room_name: String,
    #[prost(string, tag = "9")]
    pub group_id: String,
    #[prost(string, tag = "10")]
    pub user_id_one: String,
    #[prost(string, tag = "11")]
    pub user_id_two: String,
}

/// `ChannelMessageSend`: `content` is a JSON object, as text.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelMessageSend {
    #[prost(string, tag = "1")]
    pub channel_id: String,
    #[prost(string, tag = "2")]
    pub content: String,
}

/// `ChannelMessageUpdate`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelMessageUpdate {
    #[prost(string, tag = "1")]
    pub channel_id: String,
    #[prost(string, tag = "2")]
    pub message_id: String,
    #[prost(string, tag = "3")]
    pub content: String,
}

/// `ChannelMessageRemove`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelMessageRemove {
    #[prost(string, tag = "1")]
    pub channel_id: String,
    #[prost(string, tag = "2")]
    pub message_id: String,
}

/// `ChannelPresenceEvent`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelPresenceEvent {
    #[prost(string, tag = "1")]
    pub channel_id: String,
    #[prost(message, repeated, tag = "2")]
    pub joins: Vec<UserPresence>,
    #[prost(message, repeated, tag = "3")]
    pub leaves: Vec<UserPresence>,
    #[prost(string, tag = "4")]
    pub room_name: String,
    #[prost(string, tag = "5")]
    pub group_id: String,
    #[prost(string, tag = "6")]
    pub user_id_one: String,
    #[prost(string, tag = "7")]
    pub user_id_two: String,
}

/// `api.ChannelMessage`: a chat message, pushed as `channel_message`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ChannelMessage {
    #[prost(string, tag = "1")]
    pub channel_id: String,
    #[prost(string, tag = "2")]
    pub message_id: String,
    #[prost(message, optional, tag = "3")]
    pub code: Option<Int32Value>,
    #[prost(string, tag = "4")]
    pub sender_id: String,
    #[prost(string, tag = "5")]
    pub username: String,
    #[prost(string, tag = "6")]
    pub content: String,
    #[prost(message, optional, tag = "7")]
    pub create_time: Option<Timestamp>,
    #[prost(message, optional, tag = "8")]
    pub update_time: Option<Timestamp>,
    #[prost(message, optional, tag = "9")]
    pub persistent: Option<BoolValue>,
    #[prost(string, tag = "10")]
    pub room_name: String,
    #[prost(string, tag = "11")]
    pub group_id: String,
    #[prost(string, tag = "12")]
    pub user_id_one: String,
    #[prost(string, tag = "13")]
    pub user_id_two: String,
}
