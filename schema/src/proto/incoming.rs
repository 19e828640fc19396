//! Client → server: protobuf envelopes to and from [`rtapi::Incoming`].

use bytes::Bytes;
use prost::Message as _;

use super::envelope::{Envelope, Message};
use super::presence::UserPresence;
use super::wrappers::Int32Value;
use super::wrappers::{BoolValue, StringValue};
use super::{channel, matches, matchmaker, party, rpc, status};
use crate::rtapi::{self, CLIENT_MESSAGES, DecodeError, ErrorCode, Incoming};

/// Decodes one client envelope (one binary WebSocket frame) into the same
/// [`rtapi::Envelope`] the JSON decoder yields.
///
/// `match_data_send.data` is a slice of `buf`, not a copy. A Nakama message
/// Kairos does not handle yet is [`Incoming::Unhandled`] by name; no message
/// at all (or only fields this protocol version does not know) is
/// [`ErrorCode::MissingPayload`]; bytes that are not an envelope, or a
/// server-only message, are [`ErrorCode::UnrecognizedPayload`]. Unknown
/// fields inside a message are skipped, as protobuf does.
pub fn decode(buf: &Bytes) -> Result<rtapi::Envelope, DecodeError> {
    let envelope = Envelope::decode(buf.clone()).map_err(|e| DecodeError {
        code: ErrorCode::UnrecognizedPayload,
        message: format!("Unrecognized payload: {e}"),
    })?;
    let message = envelope.message.ok_or_else(|| DecodeError {
        code: ErrorCode::MissingPayload,
        message: "Missing message.".into(),
    })?;
    Ok(rtapi::Envelope {
        cid: envelope.cid,
        message: incoming(message)?,
    })
}

/// Encodes a client request: what a client (the Rust client, tests) sends.
///
/// [`Incoming::Unhandled`] becomes an empty message of that name. A
/// `match_join` with both `match_id` and `token` sends the token (the id is
/// a oneof on this wire), as nakama-js does.
pub fn encode_request(cid: &str, message: &Incoming) -> Vec<u8> {
    Envelope {
        cid: cid.to_owned(),
        message: request(message),
    }
    .encode_to_vec()
}

fn incoming(message: Message) -> Result<Incoming, DecodeError> {
    Ok(match message {
        Message::Ping(_) => Incoming::Ping,
        Message::Pong(_) => Incoming::Pong,
        Message::MatchCreate(m) => Incoming::MatchCreate(rtapi::MatchCreate { name: m.name }),
        Message::MatchJoin(m) => {
            let (match_id, token) = match m.id {
                Some(matches::match_join::Id::MatchId(id)) => (id, String::new()),
                Some(matches::match_join::Id::Token(token)) => (String::new(), token),
                None => Default::default(),
            };
            Incoming::MatchJoin(rtapi::MatchJoin {
                match_id,
                token,
                metadata: m.metadata,
            })
        }
        Message::MatchLeave(m) => Incoming::MatchLeave(rtapi::MatchLeave {
            match_id: m.match_id,
        }),
        Message::MatchDataSend(m) => Incoming::MatchDataSend(rtapi::MatchDataSend {
            match_id: m.match_id,
            op_code: m.op_code,
            data: m.data,
            presences: m.presences.into_iter().map(presence_in).collect(),
            reliable: m.reliable,
        }),
        Message::StatusFollow(m) => Incoming::StatusFollow(rtapi::StatusFollow {
            user_ids: m.user_ids,
            usernames: m.usernames,
        }),
        Message::StatusUnfollow(m) => Incoming::StatusUnfollow(rtapi::StatusUnfollow {
            user_ids: m.user_ids,
        }),
        Message::StatusUpdate(m) => Incoming::StatusUpdate(rtapi::StatusUpdate {
            status: m.status.map(|s| s.value),
        }),
        Message::MatchmakerAdd(m) => Incoming::MatchmakerAdd(rtapi::MatchmakerAdd {
            min_count: m.min_count,
            max_count: m.max_count,
            query: m.query,
            string_properties: m.string_properties,
            numeric_properties: m.numeric_properties,
            count_multiple: m.count_multiple.map(|w| w.value),
        }),
        Message::MatchmakerRemove(m) => {
            Incoming::MatchmakerRemove(rtapi::MatchmakerRemove { ticket: m.ticket })
        }
        Message::PartyMatchmakerAdd(m) => Incoming::PartyMatchmakerAdd(rtapi::PartyMatchmakerAdd {
            party_id: m.party_id,
            min_count: m.min_count,
            max_count: m.max_count,
            query: m.query,
            string_properties: m.string_properties,
            numeric_properties: m.numeric_properties,
            count_multiple: m.count_multiple.map(|w| w.value),
        }),
        Message::PartyMatchmakerRemove(m) => {
            Incoming::PartyMatchmakerRemove(rtapi::PartyMatchmakerRemove {
                party_id: m.party_id,
                ticket: m.ticket,
            })
        }
        Message::Rpc(m) => Incoming::Rpc(rtapi::Rpc {
            id: m.id,
            payload: m.payload,
            http_key: m.http_key,
        }),
        Message::ChannelJoin(m) => Incoming::ChannelJoin(rtapi::ChannelJoin {
            target: m.target,
            kind: m.r#type,
            persistence: m.persistence.map(|b| b.value),
            hidden: m.hidden.map(|b| b.value),
        }),
        Message::ChannelLeave(m) => Incoming::ChannelLeave(rtapi::ChannelLeave {
            channel_id: m.channel_id,
        }),
        Message::ChannelMessageSend(m) => Incoming::ChannelMessageSend(rtapi::ChannelMessageSend {
            channel_id: m.channel_id,
            content: m.content,
        }),
        Message::ChannelMessageUpdate(m) => {
            Incoming::ChannelMessageUpdate(rtapi::ChannelMessageUpdate {
                channel_id: m.channel_id,
                message_id: m.message_id,
                content: m.content,
            })
        }
        Message::ChannelMessageRemove(m) => {
            Incoming::ChannelMessageRemove(rtapi::ChannelMessageRemove {
                channel_id: m.channel_id,
                message_id: m.message_id,
            })
        }
        Message::PartyCreate(m) => Incoming::PartyCreate(rtapi::PartyCreate {
            open: m.open,
            max_size: m.max_size,
            label: m.label,
            hidden: m.hidden,
        }),
        Message::PartyJoin(m) => Incoming::PartyJoin(party_ref(m.party_id)),
        Message::PartyLeave(m) => Incoming::PartyLeave(party_ref(m.party_id)),
        Message::PartyClose(m) => Incoming::PartyClose(party_ref(m.party_id)),
        Message::PartyJoinRequestList(m) => Incoming::PartyJoinRequestList(party_ref(m.party_id)),
        Message::PartyPromote(m) => Incoming::PartyPromote(party_member(m.party_id, m.presence)),
        Message::PartyAccept(m) => Incoming::PartyAccept(party_member(m.party_id, m.presence)),
        Message::PartyRemove(m) => Incoming::PartyRemove(party_member(m.party_id, m.presence)),
        Message::PartyDataSend(m) => Incoming::PartyDataSend(rtapi::PartyDataSend {
            party_id: m.party_id,
            op_code: m.op_code,
            data: m.data,
        }),
        Message::PartyUpdate(m) => Incoming::PartyUpdate(rtapi::PartyUpdate {
            party_id: m.party_id,
            label: m.label,
            open: m.open,
            hidden: m.hidden,
        }),
        other => {
            let name = other.name();
            match CLIENT_MESSAGES.iter().find(|n| **n == name) {
                Some(known) => Incoming::Unhandled(known),
                None => {
                    return Err(DecodeError {
                        code: ErrorCode::UnrecognizedPayload,
                        message: format!("Unrecognized payload: `{name}` is not a client message"),
                    });
                }
            }
        }
    })
}

fn request(message: &Incoming) -> Option<Message> {
    Some(match message {
        Incoming::Ping => Message::Ping(Default::default()),
        Incoming::Pong => Message::Pong(Default::default()),
        Incoming::MatchCreate(m) => Message::MatchCreate(matches::MatchCreate {
            name: m.name.clone(),
        }),
        Incoming::MatchJoin(m) => Message::MatchJoin(matches::MatchJoin {
            id: if !m.token.is_empty() {
                Some(matches::match_join::Id::Token(m.token.clone()))
            } else if !m.match_id.is_empty() {
                Some(matches::match_join::Id::MatchId(m.match_id.clone()))
            } else {
                None
            },
            metadata: m.metadata.clone(),
        }),
        Incoming::MatchLeave(m) => Message::MatchLeave(matches::MatchLeave {
            match_id: m.match_id.clone(),
        }),
        Incoming::MatchDataSend(m) => Message::MatchDataSend(matches::MatchDataSend {
            match_id: m.match_id.clone(),
            op_code: m.op_code,
            data: m.data.clone(),
            presences: m.presences.iter().map(presence_out).collect(),
            reliable: m.reliable,
        }),
        Incoming::StatusFollow(m) => Message::StatusFollow(status::StatusFollow {
            user_ids: m.user_ids.clone(),
            usernames: m.usernames.clone(),
        }),
        Incoming::StatusUnfollow(m) => Message::StatusUnfollow(status::StatusUnfollow {
            user_ids: m.user_ids.clone(),
        }),
        Incoming::StatusUpdate(m) => Message::StatusUpdate(status::StatusUpdate {
            status: m.status.clone().map(|value| StringValue { value }),
        }),
        Incoming::MatchmakerAdd(m) => Message::MatchmakerAdd(matchmaker::MatchmakerAdd {
            min_count: m.min_count,
            max_count: m.max_count,
            query: m.query.clone(),
            string_properties: m.string_properties.clone(),
            numeric_properties: m.numeric_properties.clone(),
            count_multiple: m.count_multiple.map(|value| Int32Value { value }),
        }),
        Incoming::MatchmakerRemove(m) => Message::MatchmakerRemove(matchmaker::MatchmakerRemove {
            ticket: m.ticket.clone(),
        }),
        Incoming::PartyMatchmakerAdd(m) => Message::PartyMatchmakerAdd(party::PartyMatchmakerAdd {
            party_id: m.party_id.clone(),
            min_count: m.min_count,
            max_count: m.max_count,
            query: m.query.clone(),
            string_properties: m.string_properties.clone(),
            numeric_properties: m.numeric_properties.clone(),
            count_multiple: m.count_multiple.map(|value| Int32Value { value }),
        }),
        Incoming::PartyMatchmakerRemove(m) => {
            Message::PartyMatchmakerRemove(party::PartyMatchmakerRemove {
                party_id: m.party_id.clone(),
                ticket: m.ticket.clone(),
            })
        }
        Incoming::Rpc(m) => Message::Rpc(rpc::Rpc {
            id: m.id.clone(),
            payload: m.payload.clone(),
            http_key: m.http_key.clone(),
        }),
        Incoming::ChannelJoin(m) => Message::ChannelJoin(channel::ChannelJoin {
            target: m.target.clone(),
            r#type: m.kind,
            persistence: m.persistence.map(|value| BoolValue { value }),
            hidden: m.hidden.map(|value| BoolValue { value }),
        }),
        Incoming::ChannelLeave(m) => Message::ChannelLeave(channel::ChannelLeave {
            channel_id: m.channel_id.clone(),
        }),
        Incoming::ChannelMessageSend(m) => {
            Message::ChannelMessageSend(channel::ChannelMessageSend {
                channel_id: m.channel_id.clone(),
                content: m.content.clone(),
            })
        }
        Incoming::ChannelMessageUpdate(m) => {
            Message::ChannelMessageUpdate(channel::ChannelMessageUpdate {
                channel_id: m.channel_id.clone(),
                message_id: m.message_id.clone(),
                content: m.content.clone(),
            })
        }
        Incoming::ChannelMessageRemove(m) => {
            Message::ChannelMessageRemove(channel::ChannelMessageRemove {
                channel_id: m.channel_id.clone(),
                message_id: m.message_id.clone(),
            })
        }
        Incoming::PartyCreate(m) => Message::PartyCreate(party::PartyCreate {
            open: m.open,
            max_size: m.max_size,
            label: m.label.clone(),
            hidden: m.hidden,
        }),
        Incoming::PartyJoin(m) => Message::PartyJoin(party::PartyJoin {
            party_id: m.party_id.clone(),
        }),
        Incoming::PartyLeave(m) => Message::PartyLeave(party::PartyLeave {
            party_id: m.party_id.clone(),
        }),
        Incoming::PartyClose(m) => Message::PartyClose(party::PartyClose {
            party_id: m.party_id.clone(),
        }),
        Incoming::PartyJoinRequestList(m) => {
            Message::PartyJoinRequestList(party::PartyJoinRequestList {
                party_id: m.party_id.clone(),
            })
        }
        Incoming::PartyPromote(m) => Message::PartyPromote(party::PartyPromote {
            party_id: m.party_id.clone(),
            presence: member_out(&m.presence),
        }),
        Incoming::PartyAccept(m) => Message::PartyAccept(party::PartyAccept {
            party_id: m.party_id.clone(),
            presence: member_out(&m.presence),
        }),
        Incoming::PartyRemove(m) => Message::PartyRemove(party::PartyRemove {
            party_id: m.party_id.clone(),
            presence: member_out(&m.presence),
        }),
        Incoming::PartyDataSend(m) => Message::PartyDataSend(party::PartyDataSend {
            party_id: m.party_id.clone(),
            op_code: m.op_code,
            data: m.data.clone(),
        }),
        Incoming::PartyUpdate(m) => Message::PartyUpdate(party::PartyUpdate {
            party_id: m.party_id.clone(),
            label: m.label.clone(),
            open: m.open,
            hidden: m.hidden,
        }),
        Incoming::Unhandled(name) => return Message::empty(name),
    })
}

fn party_ref(party_id: String) -> rtapi::PartyRef {
    rtapi::PartyRef { party_id }
}

/// A member presence for the protobuf wire: the empty one is absent.
fn member_out(p: &rtapi::UserPresence) -> Option<UserPresence> {
    (*p != rtapi::UserPresence::default()).then(|| presence_out(p))
}

/// A party and a presence; an absent presence is the empty one.
fn party_member(party_id: String, presence: Option<UserPresence>) -> rtapi::PartyMember {
    rtapi::PartyMember {
        party_id,
        presence: presence.map(presence_in).unwrap_or_default(),
    }
}

/// A presence from the protobuf wire.
pub(super) fn presence_in(p: UserPresence) -> rtapi::UserPresence {
    rtapi::UserPresence {
        user_id: p.user_id,
        session_id: p.session_id,
        username: p.username,
        persistence: p.persistence,
        status: p.status.map(|s| s.value),
    }
}

/// A presence for the protobuf wire.
pub(super) fn presence_out(p: &rtapi::UserPresence) -> UserPresence {
    UserPresence {
        user_id: p.user_id.clone(),
        session_id: p.session_id.clone(),
        username: p.username.clone(),
        persistence: p.persistence,
        status: p.status.clone().map(|value| StringValue { value }),
    }
}
