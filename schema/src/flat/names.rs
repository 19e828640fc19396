//! Nakama's names of the envelope's messages.

use super::fb;

/// Nakama's snake_case field name of a union member (`channel_join`), the
/// name [`rtapi::CLIENT_MESSAGES`](crate::rtapi::CLIENT_MESSAGES) and JSON
/// use.
pub(super) fn message_name(m: &fb::MessageRef<'_>) -> &'static str {
    use fb::MessageRef as M;
    match m {
        M::Channel(_) => "channel",
        M::ChannelJoin(_) => "channel_join",
        M::ChannelLeave(_) => "channel_leave",
        M::ChannelMessage(_) => "channel_message",
        M::ChannelMessageAck(_) => "channel_message_ack",
        M::ChannelMessageSend(_) => "channel_message_send",
        M::ChannelMessageUpdate(_) => "channel_message_update",
        M::ChannelMessageRemove(_) => "channel_message_remove",
        M::ChannelPresenceEvent(_) => "channel_presence_event",
        M::Error(_) => "error",
        M::Match(_) => "match",
        M::MatchCreate(_) => "match_create",
        M::MatchData(_) => "match_data",
        M::MatchDataSend(_) => "match_data_send",
        M::MatchJoin(_) => "match_join",
        M::MatchLeave(_) => "match_leave",
        M::MatchPresenceEvent(_) => "match_presence_event",
        M::MatchmakerAdd(_) => "matchmaker_add",
        M::MatchmakerMatched(_) => "matchmaker_matched",
        M::MatchmakerRemove(_) => "matchmaker_remove",
        M::MatchmakerTicket(_) => "matchmaker_ticket",
        M::Notifications(_) => "notifications",
        M::Rpc(_) => "rpc",
        M::Status(_) => "status",
        M::StatusFollow(_) => "status_follow",
        M::StatusPresenceEvent(_) => "status_presence_event",
        M::StatusUnfollow(_) => "status_unfollow",
        M::StatusUpdate(_) => "status_update",
        M::StreamData(_) => "stream_data",
        M::StreamPresenceEvent(_) => "stream_presence_event",
        M::Ping(_) => "ping",
        M::Pong(_) => "pong",
        M::Party(_) => "party",
        M::PartyCreate(_) => "party_create",
        M::PartyJoin(_) => "party_join",
        M::PartyLeave(_) => "party_leave",
        M::PartyPromote(_) => "party_promote",
        M::PartyLeader(_) => "party_leader",
        M::PartyAccept(_) => "party_accept",
        M::PartyRemove(_) => "party_remove",
        M::PartyClose(_) => "party_close",
        M::PartyJoinRequestList(_) => "party_join_request_list",
        M::PartyJoinRequest(_) => "party_join_request",
        M::PartyMatchmakerAdd(_) => "party_matchmaker_add",
        M::PartyMatchmakerRemove(_) => "party_matchmaker_remove",
        M::PartyMatchmakerTicket(_) => "party_matchmaker_ticket",
        M::PartyData(_) => "party_data",
        M::PartyDataSend(_) => "party_data_send",
        M::PartyPresenceEvent(_) => "party_presence_event",
        M::PartyUpdate(_) => "party_update",
    }
}
