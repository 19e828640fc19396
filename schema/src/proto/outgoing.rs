//! Server → client: [`rtapi::Outgoing`] to and from protobuf envelopes.

use prost::Message as _;

use super::envelope::{Envelope, Message};
use super::incoming::{presence_in, presence_out};
use super::wrappers::{StringValue, Timestamp, bool_value, int32_value};
use super::{
    channel, error, heartbeat, matches, matchmaker, notification, party, rpc, status, stream,
    timestamp,
};
use crate::api;
use crate::rtapi::{self, DecodeError, ErrorCode, Outgoing};

/// Encodes a server message, with `cid` when it answers a request that had
/// one. Times are RFC 3339 strings in [`Outgoing`]; one that does not parse
/// (or is empty) is left absent. Wrapper fields that the JSON wire always
/// writes (`code` and `persistent` of chat messages and acks) are present
/// wrappers, even when zero.
pub fn encode(cid: &str, message: &Outgoing) -> Vec<u8> {
    if let Outgoing::MatchData(m) = message {
        return super::relay::encode_match_data(cid, m);
    }
    encode_by_struct(cid, message)
}

/// [`encode`] through the prost structs, for every message: the reference
/// the hand-written `match_data` path is held to.
pub(super) fn encode_by_struct(cid: &str, message: &Outgoing) -> Vec<u8> {
    Envelope {
        cid: cid.to_owned(),
        message: Some(server_message(message)),
    }
    .encode_to_vec()
}

/// An envelope with only a `cid`: the empty reply (to `match_leave`,
/// `channel_leave`, `status_update`, ...). An empty `cid` encodes to zero
/// bytes.
pub fn encode_empty_reply(cid: &str) -> Vec<u8> {
    Envelope {
        cid: cid.to_owned(),
        message: None,
    }
    .encode_to_vec()
}

/// Decodes a server envelope, as a client does. Any message of the
/// protocol decodes; [`to_outgoing`] maps the ones Kairos sends.
pub fn decode_server(buf: &[u8]) -> Result<Envelope, DecodeError> {
    Envelope::decode(buf).map_err(|e| DecodeError {
        code: ErrorCode::UnrecognizedPayload,
        message: format!("Unrecognized payload: {e}"),
    })
}

/// The [`Outgoing`] a decoded server message stands for: the inverse of
/// [`encode`]. `None` for messages Kairos does not send. Absent times
/// become empty strings; absent wrappers become zero.
pub fn to_outgoing(message: &Message) -> Option<Outgoing> {
    Some(match message {
        Message::Pong(_) => Outgoing::Pong {},
        Message::Error(e) => Outgoing::Error(rtapi::ErrorBody {
            code: e.code,
            message: e.message.clone(),
        }),
        Message::MatchmakerTicket(m) => Outgoing::MatchmakerTicket(rtapi::MatchmakerTicket {
            ticket: m.ticket.clone(),
        }),
        Message::PartyMatchmakerTicket(m) => {
            Outgoing::PartyMatchmakerTicket(rtapi::PartyMatchmakerTicket {
                party_id: m.party_id.clone(),
                ticket: m.ticket.clone(),
            })
        }
        Message::MatchmakerMatched(m) => {
            let (match_id, token) = match &m.id {
                Some(matchmaker::matchmaker_matched::Id::MatchId(id)) => {
                    (id.clone(), String::new())
                }
                Some(matchmaker::matchmaker_matched::Id::Token(t)) => (String::new(), t.clone()),
                None => Default::default(),
            };
            Outgoing::MatchmakerMatched(rtapi::MatchmakerMatched {
                ticket: m.ticket.clone(),
                match_id,
                token,
                users: m.users.iter().map(matchmaker_user_in).collect(),
                self_: m.self_.as_ref().map(matchmaker_user_in).unwrap_or_default(),
            })
        }
        Message::Match(m) => Outgoing::Match(rtapi::MatchOut {
            match_id: m.match_id.clone(),
            authoritative: m.authoritative,
            label: m.label.as_ref().map(|l| l.value.clone()),
            size: m.size,
            presences: presences_in(&m.presences),
            self_: presence_or_default(m.self_.as_ref()),
        }),
        Message::MatchPresenceEvent(m) => Outgoing::MatchPresenceEvent(rtapi::MatchPresenceEvent {
            match_id: m.match_id.clone(),
            joins: presences_in(&m.joins),
            leaves: presences_in(&m.leaves),
        }),
        Message::MatchData(m) => Outgoing::MatchData(rtapi::MatchData {
            match_id: m.match_id.clone(),
            presence: presence_or_default(m.presence.as_ref()),
            op_code: m.op_code,
            data: m.data.clone(),
            reliable: m.reliable,
        }),
        Message::Status(m) => Outgoing::Status(rtapi::StatusOut {
            presences: presences_in(&m.presences),
        }),
        Message::Rpc(m) => Outgoing::Rpc(rtapi::RpcOut {
            id: m.id.clone(),
            payload: m.payload.clone(),
        }),
        Message::StatusPresenceEvent(m) => {
            Outgoing::StatusPresenceEvent(rtapi::StatusPresenceEvent {
                joins: presences_in(&m.joins),
                leaves: presences_in(&m.leaves),
            })
        }
        Message::Channel(c) => Outgoing::Channel(rtapi::ChannelOut {
            id: c.id.clone(),
            presences: presences_in(&c.presences),
            self_: presence_or_default(c.self_.as_ref()),
            room_name: c.room_name.clone(),
            group_id: c.group_id.clone(),
            user_id_one: c.user_id_one.clone(),
            user_id_two: c.user_id_two.clone(),
        }),
        Message::ChannelMessageAck(a) => Outgoing::ChannelMessageAck(rtapi::ChannelMessageAck {
            channel_id: a.channel_id.clone(),
            message_id: a.message_id.clone(),
            code: a.code.map_or(0, |c| c.value),
            username: a.username.clone(),
            create_time: time_out(a.create_time.as_ref()),
            update_time: time_out(a.update_time.as_ref()),
            persistent: a.persistent.is_some_and(|p| p.value),
            room_name: a.room_name.clone(),
            group_id: a.group_id.clone(),
            user_id_one: a.user_id_one.clone(),
            user_id_two: a.user_id_two.clone(),
        }),
        Message::ChannelMessage(m) => Outgoing::ChannelMessage(api::ChannelMessage {
            channel_id: m.channel_id.clone(),
            message_id: m.message_id.clone(),
            code: m.code.map_or(0, |c| c.value),
            sender_id: m.sender_id.clone(),
            username: m.username.clone(),
            content: m.content.clone(),
            create_time: time_out(m.create_time.as_ref()),
            update_time: time_out(m.update_time.as_ref()),
            persistent: m.persistent.is_some_and(|p| p.value),
            room_name: m.room_name.clone(),
            group_id: m.group_id.clone(),
            user_id_one: m.user_id_one.clone(),
            user_id_two: m.user_id_two.clone(),
        }),
        Message::ChannelPresenceEvent(e) => {
            Outgoing::ChannelPresenceEvent(rtapi::ChannelPresenceEvent {
                channel_id: e.channel_id.clone(),
                joins: presences_in(&e.joins),
                leaves: presences_in(&e.leaves),
                room_name: e.room_name.clone(),
                group_id: e.group_id.clone(),
                user_id_one: e.user_id_one.clone(),
                user_id_two: e.user_id_two.clone(),
            })
        }
        Message::Notifications(n) => Outgoing::Notifications(rtapi::NotificationsOut {
            notifications: n
                .notifications
                .iter()
                .map(|n| api::Notification {
                    id: n.id.clone(),
                    subject: n.subject.clone(),
                    content: n.content.clone(),
                    code: n.code,
                    sender_id: n.sender_id.clone(),
                    create_time: time_out(n.create_time.as_ref()),
                    persistent: n.persistent,
                })
                .collect(),
        }),
        Message::StreamData(d) => Outgoing::StreamData(rtapi::StreamData {
            stream: stream_in(d.stream.as_ref()),
            sender: d.sender.clone().map(presence_in),
            data: d.data.clone(),
            reliable: d.reliable,
        }),
        Message::StreamPresenceEvent(e) => {
            Outgoing::StreamPresenceEvent(rtapi::StreamPresenceEvent {
                stream: stream_in(e.stream.as_ref()),
                joins: presences_in(&e.joins),
                leaves: presences_in(&e.leaves),
            })
        }
        Message::Party(p) => Outgoing::Party(rtapi::PartyOut {
            party_id: p.party_id.clone(),
            open: p.open,
            hidden: p.hidden,
            max_size: p.max_size,
            self_: presence_or_default(p.self_.as_ref()),
            leader: presence_or_default(p.leader.as_ref()),
            presences: presences_in(&p.presences),
            label: p.label.clone(),
        }),
        Message::PartyLeader(l) => Outgoing::PartyLeader(rtapi::PartyLeader {
            party_id: l.party_id.clone(),
            presence: presence_or_default(l.presence.as_ref()),
        }),
        Message::PartyClose(c) => Outgoing::PartyClose(rtapi::PartyRef {
            party_id: c.party_id.clone(),
        }),
        Message::PartyJoinRequest(r) => Outgoing::PartyJoinRequest(rtapi::PartyJoinRequest {
            party_id: r.party_id.clone(),
            presences: presences_in(&r.presences),
        }),
        Message::PartyData(d) => Outgoing::PartyData(rtapi::PartyData {
            party_id: d.party_id.clone(),
            presence: presence_or_default(d.presence.as_ref()),
            op_code: d.op_code,
            data: d.data.clone(),
        }),
        Message::PartyPresenceEvent(e) => Outgoing::PartyPresenceEvent(rtapi::PartyPresenceEvent {
            party_id: e.party_id.clone(),
            joins: presences_in(&e.joins),
            leaves: presences_in(&e.leaves),
        }),
        Message::PartyUpdate(u) => Outgoing::PartyUpdate(rtapi::PartyUpdate {
            party_id: u.party_id.clone(),
            label: u.label.clone(),
            open: u.open,
            hidden: u.hidden,
        }),
        _ => return None,
    })
}

fn server_message(message: &Outgoing) -> Message {
    match message {
        Outgoing::Pong {} => Message::Pong(heartbeat::Pong {}),
        Outgoing::Error(e) => Message::Error(error::Error {
            code: e.code,
            message: e.message.clone(),
            context: Default::default(),
        }),
        Outgoing::MatchmakerTicket(m) => Message::MatchmakerTicket(matchmaker::MatchmakerTicket {
            ticket: m.ticket.clone(),
        }),
        Outgoing::PartyMatchmakerTicket(m) => {
            Message::PartyMatchmakerTicket(party::PartyMatchmakerTicket {
                party_id: m.party_id.clone(),
                ticket: m.ticket.clone(),
            })
        }
        Outgoing::MatchmakerMatched(m) => {
            Message::MatchmakerMatched(matchmaker::MatchmakerMatched {
                ticket: m.ticket.clone(),
                id: if !m.match_id.is_empty() {
                    Some(matchmaker::matchmaker_matched::Id::MatchId(
                        m.match_id.clone(),
                    ))
                } else if !m.token.is_empty() {
                    Some(matchmaker::matchmaker_matched::Id::Token(m.token.clone()))
                } else {
                    None
                },
                users: m.users.iter().map(matchmaker_user_out).collect(),
                self_: Some(matchmaker_user_out(&m.self_)),
            })
        }
        Outgoing::Match(m) => Message::Match(matches::Match {
            match_id: m.match_id.clone(),
            authoritative: m.authoritative,
            label: m.label.clone().map(|value| StringValue { value }),
            size: m.size,
            presences: presences_out(&m.presences),
            self_: Some(presence_out(&m.self_)),
        }),
        Outgoing::MatchPresenceEvent(e) => {
            Message::MatchPresenceEvent(matches::MatchPresenceEvent {
                match_id: e.match_id.clone(),
                joins: presences_out(&e.joins),
                leaves: presences_out(&e.leaves),
            })
        }
        Outgoing::MatchData(m) => Message::MatchData(matches::MatchData {
            match_id: m.match_id.clone(),
            presence: Some(presence_out(&m.presence)),
            op_code: m.op_code,
            data: m.data.clone(),
            reliable: m.reliable,
        }),
        Outgoing::Status(s) => Message::Status(status::Status {
            presences: presences_out(&s.presences),
        }),
        Outgoing::Rpc(r) => Message::Rpc(rpc::Rpc {
            id: r.id.clone(),
            payload: r.payload.clone(),
            http_key: String::new(),
        }),
        Outgoing::StatusPresenceEvent(e) => {
            Message::StatusPresenceEvent(status::StatusPresenceEvent {
                joins: presences_out(&e.joins),
                leaves: presences_out(&e.leaves),
            })
        }
        Outgoing::Channel(c) => Message::Channel(channel::Channel {
            id: c.id.clone(),
            presences: presences_out(&c.presences),
            self_: Some(presence_out(&c.self_)),
            room_name: c.room_name.clone(),
            group_id: c.group_id.clone(),
            user_id_one: c.user_id_one.clone(),
            user_id_two: c.user_id_two.clone(),
        }),
        Outgoing::ChannelMessageAck(a) => Message::ChannelMessageAck(channel::ChannelMessageAck {
            channel_id: a.channel_id.clone(),
            message_id: a.message_id.clone(),
            code: int32_value(a.code),
            username: a.username.clone(),
            create_time: time_in(&a.create_time),
            update_time: time_in(&a.update_time),
            persistent: bool_value(a.persistent),
            room_name: a.room_name.clone(),
            group_id: a.group_id.clone(),
            user_id_one: a.user_id_one.clone(),
            user_id_two: a.user_id_two.clone(),
        }),
        Outgoing::ChannelMessage(m) => Message::ChannelMessage(channel::ChannelMessage {
            channel_id: m.channel_id.clone(),
            message_id: m.message_id.clone(),
            code: int32_value(m.code),
            sender_id: m.sender_id.clone(),
            username: m.username.clone(),
            content: m.content.clone(),
            create_time: time_in(&m.create_time),
            update_time: time_in(&m.update_time),
            persistent: bool_value(m.persistent),
            room_name: m.room_name.clone(),
            group_id: m.group_id.clone(),
            user_id_one: m.user_id_one.clone(),
            user_id_two: m.user_id_two.clone(),
        }),
        Outgoing::ChannelPresenceEvent(e) => {
            Message::ChannelPresenceEvent(channel::ChannelPresenceEvent {
                channel_id: e.channel_id.clone(),
                joins: presences_out(&e.joins),
                leaves: presences_out(&e.leaves),
                room_name: e.room_name.clone(),
                group_id: e.group_id.clone(),
                user_id_one: e.user_id_one.clone(),
                user_id_two: e.user_id_two.clone(),
            })
        }
        Outgoing::Notifications(n) => Message::Notifications(notification::Notifications {
            notifications: n
                .notifications
                .iter()
                .map(|n| notification::Notification {
                    id: n.id.clone(),
                    subject: n.subject.clone(),
                    content: n.content.clone(),
                    code: n.code,
                    sender_id: n.sender_id.clone(),
                    create_time: time_in(&n.create_time),
                    persistent: n.persistent,
                })
                .collect(),
        }),
        Outgoing::StreamData(d) => Message::StreamData(stream::StreamData {
            stream: Some(stream_out(&d.stream)),
            sender: d.sender.as_ref().map(presence_out),
            data: d.data.clone(),
            reliable: d.reliable,
        }),
        Outgoing::StreamPresenceEvent(e) => {
            Message::StreamPresenceEvent(stream::StreamPresenceEvent {
                stream: Some(stream_out(&e.stream)),
                joins: presences_out(&e.joins),
                leaves: presences_out(&e.leaves),
            })
        }
        Outgoing::Party(p) => Message::Party(party::Party {
            party_id: p.party_id.clone(),
            open: p.open,
            hidden: p.hidden,
            max_size: p.max_size,
            self_: Some(presence_out(&p.self_)),
            leader: Some(presence_out(&p.leader)),
            presences: presences_out(&p.presences),
            label: p.label.clone(),
        }),
        Outgoing::PartyLeader(l) => Message::PartyLeader(party::PartyLeader {
            party_id: l.party_id.clone(),
            presence: Some(presence_out(&l.presence)),
        }),
        Outgoing::PartyClose(c) => Message::PartyClose(party::PartyClose {
            party_id: c.party_id.clone(),
        }),
        Outgoing::PartyJoinRequest(r) => Message::PartyJoinRequest(party::PartyJoinRequest {
            party_id: r.party_id.clone(),
            presences: presences_out(&r.presences),
        }),
        Outgoing::PartyData(d) => Message::PartyData(party::PartyData {
            party_id: d.party_id.clone(),
            presence: Some(presence_out(&d.presence)),
            op_code: d.op_code,
            data: d.data.clone(),
        }),
        Outgoing::PartyPresenceEvent(e) => Message::PartyPresenceEvent(party::PartyPresenceEvent {
            party_id: e.party_id.clone(),
            joins: presences_out(&e.joins),
            leaves: presences_out(&e.leaves),
        }),
        Outgoing::PartyUpdate(u) => Message::PartyUpdate(party::PartyUpdate {
            party_id: u.party_id.clone(),
            label: u.label.clone(),
            open: u.open,
            hidden: u.hidden,
        }),
    }
}

fn stream_out(s: &rtapi::Stream) -> stream::Stream {
    stream::Stream {
        mode: s.mode,
        subject: s.subject.clone(),
        subcontext: s.subcontext.clone(),
        label: s.label.clone(),
    }
}

/// An absent stream reads as the default one.
fn stream_in(s: Option<&stream::Stream>) -> rtapi::Stream {
    s.map(|s| rtapi::Stream {
        mode: s.mode,
        subject: s.subject.clone(),
        subcontext: s.subcontext.clone(),
        label: s.label.clone(),
    })
    .unwrap_or_default()
}

fn matchmaker_user_out(
    u: &rtapi::MatchmakerUser,
) -> matchmaker::matchmaker_matched::MatchmakerUser {
    matchmaker::matchmaker_matched::MatchmakerUser {
        presence: Some(presence_out(&u.presence)),
        party_id: u.party_id.clone(),
        string_properties: u.string_properties.clone(),
        numeric_properties: u.numeric_properties.clone(),
    }
}

fn matchmaker_user_in(u: &matchmaker::matchmaker_matched::MatchmakerUser) -> rtapi::MatchmakerUser {
    rtapi::MatchmakerUser {
        presence: presence_or_default(u.presence.as_ref()),
        party_id: u.party_id.clone(),
        string_properties: u.string_properties.clone(),
        numeric_properties: u.numeric_properties.clone(),
    }
}

fn presences_out(ps: &[rtapi::UserPresence]) -> Vec<super::presence::UserPresence> {
    ps.iter().map(presence_out).collect()
}

fn presences_in(ps: &[super::presence::UserPresence]) -> Vec<rtapi::UserPresence> {
    ps.iter().cloned().map(presence_in).collect()
}

fn presence_or_default(p: Option<&super::presence::UserPresence>) -> rtapi::UserPresence {
    p.cloned().map(presence_in).unwrap_or_default()
}

fn time_in(text: &str) -> Option<Timestamp> {
    timestamp::parse(text)
}

fn time_out(ts: Option<&Timestamp>) -> String {
    ts.and_then(timestamp::format).unwrap_or_default()
}
