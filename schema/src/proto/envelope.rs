//! `nakama.realtime.Envelope`: one realtime message, in either direction.
//!
//! The oneof lists every message of Nakama's realtime protocol (field
//! numbers 2 to 51), so that a message Kairos does not handle is still
//! recognised by name.

use super::channel;
use super::error;
use super::heartbeat;
use super::matches;
use super::matchmaker;
use super::notification;
use super::party;
use super::rpc;
use super::status;
use super::stream;

/// `Envelope`: a `cid` (set on requests that expect a reply, and echoed
/// on the reply) and exactly one message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Envelope {
    #[prost(string, tag = "1")]
    pub cid: String,
    #[prost(
        oneof = "Message",
        tags = "2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51"
    )]
    pub message: Option<Message>,
}

/// Every message name of the oneof, in field-number order (2 to 51).
pub const MESSAGE_NAMES: &[&str] = &[
    "channel",
    "channel_join",
    "channel_leave",
    "channel_message",
    "channel_message_ack",
    "channel_message_send",
    "channel_message_update",
    "channel_message_remove",
    "channel_presence_event",
    "error",
    "match",
    "match_create",
    "match_data",
    "match_data_send",
    "match_join",
    "match_leave",
    "match_presence_event",
    "matchmaker_add",
    "matchmaker_matched",
    "matchmaker_remove",
    "matchmaker_ticket",
    "notifications",
    "rpc",
    "status",
    "status_follow",
    "status_presence_event",
    "status_unfollow",
    "status_update",
    "stream_data",
    "stream_presence_event",
    "ping",
    "pong",
    "party",
    "party_create",
    "party_join",
    "party_leave",
    "party_promote",
    "party_leader",
    "party_accept",
    "party_remove",
    "party_close",
    "party_join_request_list",
    "party_join_request",
    "party_matchmaker_add",
    "party_matchmaker_remove",
    "party_matchmaker_ticket",
    "party_data",
    "party_data_send",
    "party_presence_event",
    "party_update",
];

/// `Envelope.message`, the oneof: one variant per Nakama realtime message,
/// named after its field.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Message {
    #[prost(message, tag = "2")]
    Channel(channel::Channel),
    #[prost(message, tag = "3")]
    ChannelJoin(channel::ChannelJoin),
    #[prost(message, tag = "4")]
    ChannelLeave(channel::ChannelLeave),
    #[prost(message, tag = "5")]
    ChannelMessage(channel::ChannelMessage),
    #[prost(message, tag = "6")]
    ChannelMessageAck(channel::ChannelMessageAck),
    #[prost(message, tag = "7")]
    ChannelMessageSend(channel::ChannelMessageSend),
    #[prost(message, tag = "8")]
    ChannelMessageUpdate(channel::ChannelMessageUpdate),
    #[prost(message, tag = "9")]
    ChannelMessageRemove(channel::ChannelMessageRemove),
    #[prost(message, tag = "10")]
    ChannelPresenceEvent(channel::ChannelPresenceEvent),
    #[prost(message, tag = "11")]
    Error(error::Error),
    #[prost(message, tag = "12")]
    Match(matches::Match),
    #[prost(message, tag = "13")]
    MatchCreate(matches::MatchCreate),
    #[prost(message, tag = "14")]
    MatchData(matches::MatchData),
    #[prost(message, tag = "15")]
    MatchDataSend(matches::MatchDataSend),
    #[prost(message, tag = "16")]
    MatchJoin(matches::MatchJoin),
    #[prost(message, tag = "17")]
    MatchLeave(matches::MatchLeave),
    #[prost(message, tag = "18")]
    MatchPresenceEvent(matches::MatchPresenceEvent),
    #[prost(message, tag = "19")]
    MatchmakerAdd(matchmaker::MatchmakerAdd),
    #[prost(message, tag = "20")]
    MatchmakerMatched(matchmaker::MatchmakerMatched),
    #[prost(message, tag = "21")]
    MatchmakerRemove(matchmaker::MatchmakerRemove),
    #[prost(message, tag = "22")]
    MatchmakerTicket(matchmaker::MatchmakerTicket),
    #[prost(message, tag = "23")]
    Notifications(notification::Notifications),
    #[prost(message, tag = "24")]
    Rpc(rpc::Rpc),
    #[prost(message, tag = "25")]
    Status(status::Status),
    #[prost(message, tag = "26")]
    StatusFollow(status::StatusFollow),
    #[prost(message, tag = "27")]
    StatusPresenceEvent(status::StatusPresenceEvent),
    #[prost(message, tag = "28")]
    StatusUnfollow(status::StatusUnfollow),
    #[prost(message, tag = "29")]
    StatusUpdate(status::StatusUpdate),
    #[prost(message, tag = "30")]
    StreamData(stream::StreamData),
    #[prost(message, tag = "31")]
    StreamPresenceEvent(stream::StreamPresenceEvent),
    #[prost(message, tag = "32")]
    Ping(heartbeat::Ping),
    #[prost(message, tag = "33")]
    Pong(heartbeat::Pong),
    #[prost(message, tag = "34")]
    Party(party::Party),
    #[prost(message, tag = "35")]
    PartyCreate(party::PartyCreate),
    #[prost(message, tag = "36")]
    PartyJoin(party::PartyJoin),
    #[prost(message, tag = "37")]
    PartyLeave(party::PartyLeave),
    #[prost(message, tag = "38")]
    PartyPromote(party::PartyPromote),
    #[prost(message, tag = "39")]
    PartyLeader(party::PartyLeader),
    #[prost(message, tag = "40")]
    PartyAccept(party::PartyAccept),
    #[prost(message, tag = "41")]
    PartyRemove(party::PartyRemove),
    #[prost(message, tag = "42")]
    PartyClose(party::PartyClose),
    #[prost(message, tag = "43")]
    PartyJoinRequestList(party::PartyJoinRequestList),
    #[prost(message, tag = "44")]
    PartyJoinRequest(party::PartyJoinRequest),
    #[prost(message, tag = "45")]
    PartyMatchmakerAdd(party::PartyMatchmakerAdd),
    #[prost(message, tag = "46")]
    PartyMatchmakerRemove(party::PartyMatchmakerRemove),
    #[prost(message, tag = "47")]
    PartyMatchmakerTicket(party::PartyMatchmakerTicket),
    #[prost(message, tag = "48")]
    PartyData(party::PartyData),
    #[prost(message, tag = "49")]
    PartyDataSend(party::PartyDataSend),
    #[prost(message, tag = "50")]
    PartyPresenceEvent(party::PartyPresenceEvent),
    #[prost(message, tag = "51")]
    PartyUpdate(party::PartyUpdate),
}

impl Message {
    /// The field name of this message in the envelope, as in JSON
    /// (`"match_data_send"`).
    pub fn name(&self) -> &'static str {
        match self {
            Message::Channel(_) => "channel",
            Message::ChannelJoin(_) => "channel_join",
            Message::ChannelLeave(_) => "channel_leave",
            Message::ChannelMessage(_) => "channel_message",
            Message::ChannelMessageAck(_) => "channel_message_ack",
            Message::ChannelMessageSend(_) => "channel_message_send",
            Message::ChannelMessageUpdate(_) => "channel_message_update",
            Message::ChannelMessageRemove(_) => "channel_message_remove",
            Message::ChannelPresenceEvent(_) => "channel_presence_event",
            Message::Error(_) => "error",
            Message::Match(_) => "match",
            Message::MatchCreate(_) => "match_create",
            Message::MatchData(_) => "match_data",
            Message::MatchDataSend(_) => "match_data_send",
            Message::MatchJoin(_) => "match_join",
            Message::MatchLeave(_) => "match_leave",
            Message::MatchPresenceEvent(_) => "match_presence_event",
            Message::MatchmakerAdd(_) => "matchmaker_add",
            Message::MatchmakerMatched(_) => "matchmaker_matched",
            Message::MatchmakerRemove(_) => "matchmaker_remove",
            Message::MatchmakerTicket(_) => "matchmaker_ticket",
            Message::Notifications(_) => "notifications",
            Message::Rpc(_) => "rpc",
            Message::Status(_) => "status",
            Message::StatusFollow(_) => "status_follow",
            Message::StatusPresenceEvent(_) => "status_presence_event",
            Message::StatusUnfollow(_) => "status_unfollow",
            Message::StatusUpdate(_) => "status_update",
            Message::StreamData(_) => "stream_data",
            Message::StreamPresenceEvent(_) => "stream_presence_event",
            Message::Ping(_) => "ping",
            Message::Pong(_) => "pong",
            Message::Party(_) => "party",
            Message::PartyCreate(_) => "party_create",
            Message::PartyJoin(_) => "party_join",
            Message::PartyLeave(_) => "party_leave",
            Message::PartyPromote(_) => "party_promote",
            Message::PartyLeader(_) => "party_leader",
            Message::PartyAccept(_) => "party_accept",
            Message::PartyRemove(_) => "party_remove",
            Message::PartyClose(_) => "party_close",
            Message::PartyJoinRequestList(_) => "party_join_request_list",
            Message::PartyJoinRequest(_) => "party_join_request",
            Message::PartyMatchmakerAdd(_) => "party_matchmaker_add",
            Message::PartyMatchmakerRemove(_) => "party_matchmaker_remove",
            Message::PartyMatchmakerTicket(_) => "party_matchmaker_ticket",
            Message::PartyData(_) => "party_data",
            Message::PartyDataSend(_) => "party_data_send",
            Message::PartyPresenceEvent(_) => "party_presence_event",
            Message::PartyUpdate(_) => "party_update",
        }
    }

    /// The field number of this message in the envelope.
    pub fn tag(&self) -> u32 {
        match self {
            Message::Channel(_) => 2,
            Message::ChannelJoin(_) => 3,
            Message::ChannelLeave(_) => 4,
            Message::ChannelMessage(_) => 5,
            Message::ChannelMessageAck(_) => 6,
            Message::ChannelMessageSend(_) => 7,
            Message::ChannelMessageUpdate(_) => 8,
            Message::ChannelMessageRemove(_) => 9,
            Message::ChannelPresenceEvent(_) => 10,
            Message::Error(_) => 11,
            Message::Match(_) => 12,
            Message::MatchCreate(_) => 13,
            Message::MatchData(_) => 14,
            Message::MatchDataSend(_) => 15,
            Message::MatchJoin(_) => 16,
            Message::MatchLeave(_) => 17,
            Message::MatchPresenceEvent(_) => 18,
            Message::MatchmakerAdd(_) => 19,
            Message::MatchmakerMatched(_) => 20,
            Message::MatchmakerRemove(_) => 21,
            Message::MatchmakerTicket(_) => 22,
            Message::Notifications(_) => 23,
            Message::Rpc(_) => 24,
            Message::Status(_) => 25,
            Message::StatusFollow(_) => 26,
            Message::StatusPresenceEvent(_) => 27,
            Message::StatusUnfollow(_) => 28,
            Message::StatusUpdate(_) => 29,
            Message::StreamData(_) => 30,
            Message::StreamPresenceEvent(_) => 31,
            Message::Ping(_) => 32,
            Message::Pong(_) => 33,
            Message::Party(_) => 34,
            Message::PartyCreate(_) => 35,
            Message::PartyJoin(_) => 36,
            Message::PartyLeave(_) => 37,
            Message::PartyPromote(_) => 38,
            Message::PartyLeader(_) => 39,
            Message::PartyAccept(_) => 40,
            Message::PartyRemove(_) => 41,
            Message::PartyClose(_) => 42,
            Message::PartyJoinRequestList(_) => 43,
            Message::PartyJoinRequest(_) => 44,
            Message::PartyMatchmakerAdd(_) => 45,
            Message::PartyMatchmakerRemove(_) => 46,
            Message::PartyMatchmakerTicket(_) => 47,
            Message::PartyData(_) => 48,
            Message::PartyDataSend(_) => 49,
            Message::PartyPresenceEvent(_) => 50,
            Message::PartyUpdate(_) => 51,
        }
    }

    /// An empty (all-default) message of this name, as a client that
    /// sets no field sends it; `None` for a name that is not a message.
    pub fn empty(name: &str) -> Option<Message> {
        Some(match name {
            "channel" => Message::Channel(Default::default()),
            "channel_join" => Message::ChannelJoin(Default::default()),
            "channel_leave" => Message::ChannelLeave(Default::default()),
            "channel_message" => Message::ChannelMessage(Default::default()),
            "channel_message_ack" => Message::ChannelMessageAck(Default::default()),
            "channel_message_send" => Message::ChannelMessageSend(Default::default()),
            "channel_message_update" => Message::ChannelMessageUpdate(Default::default()),
            "channel_message_remove" => Message::ChannelMessageRemove(Default::default()),
            "channel_presence_event" => Message::ChannelPresenceEvent(Default::default()),
            "error" => Message::Error(Default::default()),
            "match" => Message::Match(Default::default()),
            "match_create" => Message::MatchCreate(Default::default()),
            "match_data" => Message::MatchData(Default::default()),
            "match_data_send" => Message::MatchDataSend(Default::default()),
            "match_join" => Message::MatchJoin(Default::default()),
            "match_leave" => Message::MatchLeave(Default::default()),
            "match_presence_event" => Message::MatchPresenceEvent(Default::default()),
            "matchmaker_add" => Message::MatchmakerAdd(Default::default()),
            "matchmaker_matched" => Message::MatchmakerMatched(Default::default()),
            "matchmaker_remove" => Message::MatchmakerRemove(Default::default()),
            "matchmaker_ticket" => Message::MatchmakerTicket(Default::default()),
            "notifications" => Message::Notifications(Default::default()),
            "rpc" => Message::Rpc(Default::default()),
            "status" => Message::Status(Default::default()),
            "status_follow" => Message::StatusFollow(Default::default()),
            "status_presence_event" => Message::StatusPresenceEvent(Default::default()),
            "status_unfollow" => Message::StatusUnfollow(Default::default()),
            "status_update" => Message::StatusUpdate(Default::default()),
            "stream_data" => Message::StreamData(Default::default()),
            "stream_presence_event" => Message::StreamPresenceEvent(Default::default()),
            "ping" => Message::Ping(Default::default()),
            "pong" => Message::Pong(Default::default()),
            "party" => Message::Party(Default::default()),
            "party_create" => Message::PartyCreate(Default::default()),
            "party_join" => Message::PartyJoin(Default::default()),
            "party_leave" => Message::PartyLeave(Default::default()),
            "party_promote" => Message::PartyPromote(Default::default()),
            "party_leader" => Message::PartyLeader(Default::default()),
            "party_accept" => Message::PartyAccept(Default::default()),
            "party_remove" => Message::PartyRemove(Default::default()),
            "party_close" => Message::PartyClose(Default::default()),
            "party_join_request_list" => Message::PartyJoinRequestList(Default::default()),
            "party_join_request" => Message::PartyJoinRequest(Default::default()),
            "party_matchmaker_add" => Message::PartyMatchmakerAdd(Default::default()),
            "party_matchmaker_remove" => Message::PartyMatchmakerRemove(Default::default()),
            "party_matchmaker_ticket" => Message::PartyMatchmakerTicket(Default::default()),
            "party_data" => Message::PartyData(Default::default()),
            "party_data_send" => Message::PartyDataSend(Default::default()),
            "party_presence_event" => Message::PartyPresenceEvent(Default::default()),
            "party_update" => Message::PartyUpdate(Default::default()),
            _ => return None,
        })
    }
}
