//! Client side: [`Incoming`] requests out, server envelopes back into
//! [`Outgoing`]. For tests, the Rust client and the load tester.
//!
//! `Outgoing` is the server's model, so decoding into it makes a round
//! trip comparable with `==`. It covers what Kairos sends; other server
//! messages (party matchmaking) are refused here by name and
//! can be read with the generated [`fb`](super::fb) types.

use bytes::Bytes;
use planus::{Builder, ReadAsRoot, UnionOffset, WriteAsUnion};

use super::fb;
use super::names::{empty_message, message_name};
use super::read::{Reader, Refused, Result};
use super::write::{
    build, number_map, nz, presence as write_presence, presences as write_presences, string_map,
    strings,
};
use crate::api::{ChannelMessage, Notification};
use crate::messages;
use crate::rtapi::{
    ChannelMessageAck, ChannelOut, ChannelPresenceEvent, DecodeError, ErrorBody, Incoming,
    MatchData, MatchOut, MatchPresenceEvent, MatchmakerMatched, MatchmakerTicket, NotificationsOut,
    Outgoing, PartyData, PartyJoinRequest, PartyLeader, PartyMatchmakerTicket, PartyOut,
    PartyPresenceEvent, PartyRef, PartyUpdate, RpcOut, StatusOut, StatusPresenceEvent, Stream,
    StreamData, StreamPresenceEvent,
};

/// A decoded server envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerEnvelope {
    /// The request's `cid`, or empty for a push.
    pub cid: String,
    /// `None`: the empty reply (a `cid` and no message).
    pub message: Option<Outgoing>,
}

/// Encodes one client envelope; an empty `cid` is left out.
///
/// [`Incoming::Unhandled`] with one of
/// [`CLIENT_MESSAGES`](crate::rtapi::CLIENT_MESSAGES) is that message with
/// every field absent (so it decodes back to the same `Unhandled`); with
/// any other name it is an envelope without a message.
pub fn encode_request(cid: &str, msg: &Incoming) -> Vec<u8> {
    build(|b| {
        let message = request(b, msg);
        fb::Envelope::create(b, nz(cid), message)
    })
}

fn request(b: &mut Builder, msg: &Incoming) -> Option<UnionOffset<fb::Message>> {
    use fb::Message as M;
    Some(match msg {
        Incoming::Ping => {
            let m = fb::Ping::create(b);
            M::create_ping(b, m)
        }
        Incoming::Pong => {
            let m = fb::Pong::create(b);
            M::create_pong(b, m)
        }
        Incoming::MatchCreate(m) => {
            let m = fb::MatchCreate::create(b, nz(&m.name));
            M::create_match_create(b, m)
        }
        Incoming::MatchJoin(m) => {
            let metadata = string_map(b, &m.metadata);
            let m = fb::MatchJoin::create(b, nz(&m.match_id), nz(&m.token), metadata);
            M::create_match_join(b, m)
        }
        Incoming::MatchmakerAdd(m) => {
            let strings = string_map(b, &m.string_properties);
            let numbers = number_map(b, &m.numeric_properties);
            let m = fb::MatchmakerAdd::create(
                b,
                m.min_count,
                m.max_count,
                nz(&m.query),
                strings,
                numbers,
                m.count_multiple,
            );
            M::create_matchmaker_add(b, m)
        }
        Incoming::MatchmakerRemove(m) => {
            let m = fb::MatchmakerRemove::create(b, nz(&m.ticket));
            M::create_matchmaker_remove(b, m)
        }
        Incoming::PartyMatchmakerAdd(m) => {
            let strings = string_map(b, &m.string_properties);
            let numbers = number_map(b, &m.numeric_properties);
            let m = fb::PartyMatchmakerAdd::create(
                b,
                nz(&m.party_id),
                m.min_count,
                m.max_count,
                nz(&m.query),
                strings,
                numbers,
                m.count_multiple,
            );
            M::create_party_matchmaker_add(b, m)
        }
        Incoming::PartyMatchmakerRemove(m) => {
            let m = fb::PartyMatchmakerRemove::create(b, nz(&m.party_id), nz(&m.ticket));
            M::create_party_matchmaker_remove(b, m)
        }
        Incoming::MatchLeave(m) => {
            let m = fb::MatchLeave::create(b, nz(&m.match_id));
            M::create_match_leave(b, m)
        }
        Incoming::MatchDataSend(m) => {
            let presences = write_presences(b, &m.presences);
            let data = (!m.data.is_empty()).then_some(&m.data[..]);
            let m = fb::MatchDataSend::create(
                b,
                nz(&m.match_id),
                m.op_code,
                data,
                presences,
                m.reliable,
            );
            M::create_match_data_send(b, m)
        }
        Incoming::StatusFollow(m) => {
            let user_ids = strings(b, &m.user_ids);
            let usernames = strings(b, &m.usernames);
            let m = fb::StatusFollow::create(b, user_ids, usernames);
            M::create_status_follow(b, m)
        }
        Incoming::StatusUnfollow(m) => {
            let user_ids = strings(b, &m.user_ids);
            let m = fb::StatusUnfollow::create(b, user_ids);
            M::create_status_unfollow(b, m)
        }
        Incoming::StatusUpdate(m) => {
            let m = fb::StatusUpdate::create(b, m.status.as_deref());
            M::create_status_update(b, m)
        }
        Incoming::Rpc(m) => {
            let m = fb::Rpc::create(b, nz(&m.id), nz(&m.payload), nz(&m.http_key));
            M::create_rpc(b, m)
        }
        Incoming::ChannelJoin(m) => {
            let m = fb::ChannelJoin::create(b, nz(&m.target), m.kind, m.persistence, m.hidden);
            M::create_channel_join(b, m)
        }
        Incoming::ChannelLeave(m) => {
            let m = fb::ChannelLeave::create(b, nz(&m.channel_id));
            M::create_channel_leave(b, m)
        }
        Incoming::ChannelMessageSend(m) => {
            let m = fb::ChannelMessageSend::create(b, nz(&m.channel_id), nz(&m.content));
            M::create_channel_message_send(b, m)
        }
        Incoming::ChannelMessageUpdate(m) => {
            let m = fb::ChannelMessageUpdate::create(
                b,
                nz(&m.channel_id),
                nz(&m.message_id),
                nz(&m.content),
            );
            M::create_channel_message_update(b, m)
        }
        Incoming::ChannelMessageRemove(m) => {
            let m = fb::ChannelMessageRemove::create(b, nz(&m.channel_id), nz(&m.message_id));
            M::create_channel_message_remove(b, m)
        }
        Incoming::PartyCreate(m) => {
            let m = fb::PartyCreate::create(b, m.open, m.max_size, nz(&m.label), m.hidden);
            M::create_party_create(b, m)
        }
        Incoming::PartyJoin(m) => {
            let m = fb::PartyJoin::create(b, nz(&m.party_id));
            M::create_party_join(b, m)
        }
        Incoming::PartyLeave(m) => {
            let m = fb::PartyLeave::create(b, nz(&m.party_id));
            M::create_party_leave(b, m)
        }
        Incoming::PartyClose(m) => {
            let m = fb::PartyClose::create(b, nz(&m.party_id));
            M::create_party_close(b, m)
        }
        Incoming::PartyJoinRequestList(m) => {
            let m = fb::PartyJoinRequestList::create(b, nz(&m.party_id));
            M::create_party_join_request_list(b, m)
        }
        Incoming::PartyPromote(m) => {
            let who = write_presence(b, &m.presence);
            let m = fb::PartyPromote::create(b, nz(&m.party_id), who);
            M::create_party_promote(b, m)
        }
        Incoming::PartyAccept(m) => {
            let who = write_presence(b, &m.presence);
            let m = fb::PartyAccept::create(b, nz(&m.party_id), who);
            M::create_party_accept(b, m)
        }
        Incoming::PartyRemove(m) => {
            let who = write_presence(b, &m.presence);
            let m = fb::PartyRemove::create(b, nz(&m.party_id), who);
            M::create_party_remove(b, m)
        }
        Incoming::PartyDataSend(m) => {
            let data = (!m.data.is_empty()).then_some(&m.data[..]);
            let m = fb::PartyDataSend::create(b, nz(&m.party_id), m.op_code, data);
            M::create_party_data_send(b, m)
        }
        Incoming::PartyUpdate(m) => {
            let m = fb::PartyUpdate::create(b, nz(&m.party_id), nz(&m.label), m.open, m.hidden);
            M::create_party_update(b, m)
        }
        Incoming::Unhandled(name) => empty_request(b, name)?,
    })
}

/// Nakama's client message `name` with no fields set; `None` for a name
/// that is not a client message.
fn empty_request(b: &mut Builder, name: &str) -> Option<UnionOffset<fb::Message>> {
    messages::find(name).filter(|m| m.direction.from_client())?;
    empty_message(name).map(|m| m.prepare(b))
}

/// Decodes one server envelope (copying `MatchData.data`).
///
/// A malformed buffer, a client-only message, or a server message that
/// [`Outgoing`] doesn't model is an `UnrecognizedPayload` error naming it.
pub fn decode_outgoing(buf: &[u8]) -> std::result::Result<ServerEnvelope, DecodeError> {
    server_envelope(buf).map_err(Refused::into_error)
}

fn server_envelope(buf: &[u8]) -> Result<ServerEnvelope> {
    let envelope = fb::EnvelopeRef::read_as_root(buf)?;
    let mut r = Reader::new(buf.len());
    let cid = r.string(envelope.cid())?;
    let message = match envelope.message()? {
        Some(message) => Some(outgoing(&mut r, message)?),
        None => None,
    };
    Ok(ServerEnvelope { cid, message })
}

fn outgoing(r: &mut Reader, message: fb::MessageRef<'_>) -> Result<Outgoing> {
    use fb::MessageRef as M;
    Ok(match message {
        M::Pong(_) => Outgoing::Pong {},
        M::Error(e) => Outgoing::Error(ErrorBody {
            code: e.code()?,
            message: r.string(e.message())?,
        }),
        M::MatchmakerTicket(t) => Outgoing::MatchmakerTicket(MatchmakerTicket {
            ticket: r.string(t.ticket())?,
        }),
        M::PartyMatchmakerTicket(t) => Outgoing::PartyMatchmakerTicket(PartyMatchmakerTicket {
            party_id: r.string(t.party_id())?,
            ticket: r.string(t.ticket())?,
        }),
        M::MatchmakerMatched(m) => {
            let mut users = Vec::new();
            if let Some(v) = m.users()? {
                for u in v.iter() {
                    users.push(r.matchmaker_user(Some(u?))?);
                }
            }
            Outgoing::MatchmakerMatched(MatchmakerMatched {
                ticket: r.string(m.ticket())?,
                match_id: r.string(m.match_id())?,
                token: r.string(m.token())?,
                users,
                self_: r.matchmaker_user(m.self_()?)?,
            })
        }
        M::Match(m) => Outgoing::Match(MatchOut {
            match_id: r.string(m.match_id())?,
            authoritative: m.authoritative()?,
            label: r.opt_string(m.label())?,
            size: m.size()?,
            presences: r.presences(m.presences())?,
            self_: r.opt_presence(m.self_())?,
        }),
        M::MatchPresenceEvent(e) => Outgoing::MatchPresenceEvent(MatchPresenceEvent {
            match_id: r.string(e.match_id())?,
            joins: r.presences(e.joins())?,
            leaves: r.presences(e.leaves())?,
        }),
        M::MatchData(d) => Outgoing::MatchData(MatchData {
            match_id: r.string(d.match_id())?,
            presence: r.opt_presence(d.presence())?,
            op_code: d.op_code()?,
            data: d.data()?.map_or_else(Bytes::new, Bytes::copy_from_slice),
            reliable: d.reliable()?,
        }),
        M::Status(s) => Outgoing::Status(StatusOut {
            presences: r.presences(s.presences())?,
        }),
        M::Rpc(m) => Outgoing::Rpc(RpcOut {
            id: r.string(m.id())?,
            payload: r.string(m.payload())?,
        }),
        M::StatusPresenceEvent(e) => Outgoing::StatusPresenceEvent(StatusPresenceEvent {
            joins: r.presences(e.joins())?,
            leaves: r.presences(e.leaves())?,
        }),
        M::Channel(c) => Outgoing::Channel(ChannelOut {
            id: r.string(c.id())?,
            presences: r.presences(c.presences())?,
            self_: r.opt_presence(c.self_())?,
            room_name: r.string(c.room_name())?,
            group_id: r.string(c.group_id())?,
            user_id_one: r.string(c.user_id_one())?,
            user_id_two: r.string(c.user_id_two())?,
        }),
        M::ChannelMessageAck(a) => Outgoing::ChannelMessageAck(ChannelMessageAck {
            channel_id: r.string(a.channel_id())?,
            message_id: r.string(a.message_id())?,
            code: a.code()?,
            username: r.string(a.username())?,
            create_time: r.string(a.create_time())?,
            update_time: r.string(a.update_time())?,
            persistent: a.persistent()?,
            room_name: r.string(a.room_name())?,
            group_id: r.string(a.group_id())?,
            user_id_one: r.string(a.user_id_one())?,
            user_id_two: r.string(a.user_id_two())?,
        }),
        M::ChannelMessage(m) => Outgoing::ChannelMessage(ChannelMessage {
            channel_id: r.string(m.channel_id())?,
            message_id: r.string(m.message_id())?,
            code: m.code()?,
            sender_id: r.string(m.sender_id())?,
            username: r.string(m.username())?,
            content: r.string(m.content())?,
            create_time: r.string(m.create_time())?,
            update_time: r.string(m.update_time())?,
            persistent: m.persistent()?,
            room_name: r.string(m.room_name())?,
            group_id: r.string(m.group_id())?,
            user_id_one: r.string(m.user_id_one())?,
            user_id_two: r.string(m.user_id_two())?,
        }),
        M::ChannelPresenceEvent(e) => Outgoing::ChannelPresenceEvent(ChannelPresenceEvent {
            channel_id: r.string(e.channel_id())?,
            joins: r.presences(e.joins())?,
            leaves: r.presences(e.leaves())?,
            room_name: r.string(e.room_name())?,
            group_id: r.string(e.group_id())?,
            user_id_one: r.string(e.user_id_one())?,
            user_id_two: r.string(e.user_id_two())?,
        }),
        M::Notifications(n) => Outgoing::Notifications(NotificationsOut {
            notifications: match n.notifications()? {
                Some(v) => v
                    .iter()
                    .map(|n| notification(r, n?))
                    .collect::<Result<_>>()?,
                None => Vec::new(),
            },
        }),
        M::StreamData(d) => Outgoing::StreamData(StreamData {
            stream: stream(r, d.stream())?,
            sender: match d.sender()? {
                Some(p) => Some(r.presence(p)?),
                None => None,
            },
            data: r.string(d.data())?,
            reliable: d.reliable()?,
        }),
        M::StreamPresenceEvent(e) => Outgoing::StreamPresenceEvent(StreamPresenceEvent {
            stream: stream(r, e.stream())?,
            joins: r.presences(e.joins())?,
            leaves: r.presences(e.leaves())?,
        }),
        M::Party(p) => Outgoing::Party(PartyOut {
            party_id: r.string(p.party_id())?,
            open: p.open()?,
            hidden: p.hidden()?,
            max_size: p.max_size()?,
            self_: r.opt_presence(p.self_())?,
            leader: r.opt_presence(p.leader())?,
            presences: r.presences(p.presences())?,
            label: r.string(p.label())?,
        }),
        M::PartyLeader(l) => Outgoing::PartyLeader(PartyLeader {
            party_id: r.string(l.party_id())?,
            presence: r.opt_presence(l.presence())?,
        }),
        M::PartyClose(c) => Outgoing::PartyClose(PartyRef {
            party_id: r.string(c.party_id())?,
        }),
        M::PartyJoinRequest(j) => Outgoing::PartyJoinRequest(PartyJoinRequest {
            party_id: r.string(j.party_id())?,
            presences: r.presences(j.presences())?,
        }),
        M::PartyData(d) => Outgoing::PartyData(PartyData {
            party_id: r.string(d.party_id())?,
            presence: r.opt_presence(d.presence())?,
            op_code: d.op_code()?,
            data: d.data()?.map_or_else(Bytes::new, Bytes::copy_from_slice),
        }),
        M::PartyPresenceEvent(e) => Outgoing::PartyPresenceEvent(PartyPresenceEvent {
            party_id: r.string(e.party_id())?,
            joins: r.presences(e.joins())?,
            leaves: r.presences(e.leaves())?,
        }),
        M::PartyUpdate(u) => Outgoing::PartyUpdate(PartyUpdate {
            party_id: r.string(u.party_id())?,
            label: r.string(u.label())?,
            open: u.open()?,
            hidden: u.hidden()?,
        }),
        _ => return Err(Refused::NotModeled(message_name(&message))),
    })
}

/// A stream field; absent is the default stream.
fn stream(r: &mut Reader, field: planus::Result<Option<fb::StreamRef<'_>>>) -> Result<Stream> {
    let Some(s) = field? else {
        return Ok(Stream::default());
    };
    Ok(Stream {
        mode: s.mode()?,
        subject: r.string(s.subject())?,
        subcontext: r.string(s.subcontext())?,
        label: r.string(s.label())?,
    })
}

fn notification(r: &mut Reader, n: fb::NotificationRef<'_>) -> Result<Notification> {
    Ok(Notification {
        id: r.string(n.id())?,
        subject: r.string(n.subject())?,
        content: r.string(n.content())?,
        code: n.code()?,
        sender_id: r.string(n.sender_id())?,
        create_time: r.string(n.create_time())?,
        persistent: n.persistent()?,
    })
}
