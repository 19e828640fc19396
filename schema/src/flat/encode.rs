//! Server side: an [`Outgoing`] into a FlatBuffers envelope.

use planus::{Builder, UnionOffset};

use super::fb;
use super::write::{build, matchmaker_user, nz, presence, presences};
use crate::api::{ChannelMessage, Notification};
use crate::rtapi::{Outgoing, Stream};

/// Encodes one server envelope; an empty `cid` is left out.
///
/// Uses this thread's builder: a message without vector fields (match
/// data, pong, error, chat message and ack) allocates only the returned
/// buffer; each presence or notification list adds planus's temporary
/// list of element offsets.
pub fn encode(cid: &str, msg: &Outgoing) -> Vec<u8> {
    build(|b| {
        let message = message(b, msg);
        fb::Envelope::create(b, nz(cid), message)
    })
}

/// An envelope with only a `cid`: the reply to a request that has nothing
/// to return.
pub fn encode_empty_reply(cid: &str) -> Vec<u8> {
    build(|b| fb::Envelope::create(b, nz(cid), ()))
}

fn message(b: &mut Builder, msg: &Outgoing) -> UnionOffset<fb::Message> {
    use fb::Message as M;
    match msg {
        Outgoing::Pong {} => {
            let pong = fb::Pong::create(b);
            M::create_pong(b, pong)
        }
        Outgoing::Error(e) => {
            let error = fb::Error::create(b, e.code, nz(&e.message), ());
            M::create_error(b, error)
        }
        Outgoing::MatchmakerTicket(t) => {
            let out = fb::MatchmakerTicket::create(b, nz(&t.ticket));
            M::create_matchmaker_ticket(b, out)
        }
        Outgoing::PartyMatchmakerTicket(t) => {
            let out = fb::PartyMatchmakerTicket::create(b, nz(&t.party_id), nz(&t.ticket));
            M::create_party_matchmaker_ticket(b, out)
        }
        Outgoing::MatchmakerMatched(m) => {
            let users: Vec<_> = m.users.iter().map(|u| matchmaker_user(b, u)).collect();
            let users = (!users.is_empty()).then(|| b.create_vector(users.as_slice()));
            let self_ = matchmaker_user(b, &m.self_);
            let out = fb::MatchmakerMatched::create(
                b,
                nz(&m.ticket),
                nz(&m.match_id),
                nz(&m.token),
                users,
                self_,
            );
            M::create_matchmaker_matched(b, out)
        }
        Outgoing::Match(m) => {
            let presences = presences(b, &m.presences);
            let self_ = presence(b, &m.self_);
            let out = fb::Match::create(
                b,
                nz(&m.match_id),
                m.authoritative,
                m.label.as_deref(),
                m.size,
                presences,
                self_,
            );
            M::create_match(b, out)
        }
        Outgoing::MatchPresenceEvent(e) => {
            let joins = presences(b, &e.joins);
            let leaves = presences(b, &e.leaves);
            let out = fb::MatchPresenceEvent::create(b, nz(&e.match_id), joins, leaves);
            M::create_match_presence_event(b, out)
        }
        Outgoing::MatchData(d) => {
            let sender = presence(b, &d.presence);
            let data = (!d.data.is_empty()).then_some(&d.data[..]);
            let out =
                fb::MatchData::create(b, nz(&d.match_id), sender, d.op_code, data, d.reliable);
            M::create_match_data(b, out)
        }
        Outgoing::Status(s) => {
            let presences = presences(b, &s.presences);
            let out = fb::Status::create(b, presences);
            M::create_status(b, out)
        }
        Outgoing::Rpc(r) => {
            let out = fb::Rpc::create(b, nz(&r.id), nz(&r.payload), None::<&str>);
            M::create_rpc(b, out)
        }
        Outgoing::StatusPresenceEvent(e) => {
            let joins = presences(b, &e.joins);
            let leaves = presences(b, &e.leaves);
            let out = fb::StatusPresenceEvent::create(b, joins, leaves);
            M::create_status_presence_event(b, out)
        }
        Outgoing::Channel(c) => {
            let presences = presences(b, &c.presences);
            let self_ = presence(b, &c.self_);
            let out = fb::Channel::create(
                b,
                nz(&c.id),
                presences,
                self_,
                nz(&c.room_name),
                nz(&c.group_id),
                nz(&c.user_id_one),
                nz(&c.user_id_two),
            );
            M::create_channel(b, out)
        }
        Outgoing::ChannelMessageAck(a) => {
            let out = fb::ChannelMessageAck::create(
                b,
                nz(&a.channel_id),
                nz(&a.message_id),
                a.code,
                nz(&a.username),
                nz(&a.create_time),
                nz(&a.update_time),
                a.persistent,
                nz(&a.room_name),
                nz(&a.group_id),
                nz(&a.user_id_one),
                nz(&a.user_id_two),
            );
            M::create_channel_message_ack(b, out)
        }
        Outgoing::ChannelMessage(m) => {
            let out = channel_message(b, m);
            M::create_channel_message(b, out)
        }
        Outgoing::ChannelPresenceEvent(e) => {
            let joins = presences(b, &e.joins);
            let leaves = presences(b, &e.leaves);
            let out = fb::ChannelPresenceEvent::create(
                b,
                nz(&e.channel_id),
                joins,
                leaves,
                nz(&e.room_name),
                nz(&e.group_id),
                nz(&e.user_id_one),
                nz(&e.user_id_two),
            );
            M::create_channel_presence_event(b, out)
        }
        Outgoing::Notifications(n) => {
            let list = (!n.notifications.is_empty()).then(|| {
                let offsets: Vec<_> = n.notifications.iter().map(|n| notification(b, n)).collect();
                b.create_vector(offsets.as_slice())
            });
            let out = fb::Notifications::create(b, list);
            M::create_notifications(b, out)
        }
        Outgoing::StreamData(d) => {
            let stream = stream(b, &d.stream);
            let sender = d.sender.as_ref().map(|p| presence(b, p));
            let out = fb::StreamData::create(b, stream, sender, nz(&d.data), d.reliable);
            M::create_stream_data(b, out)
        }
        Outgoing::StreamPresenceEvent(e) => {
            let stream = stream(b, &e.stream);
            let joins = presences(b, &e.joins);
            let leaves = presences(b, &e.leaves);
            let out = fb::StreamPresenceEvent::create(b, stream, joins, leaves);
            M::create_stream_presence_event(b, out)
        }
        Outgoing::Party(p) => {
            let self_ = presence(b, &p.self_);
            let leader = presence(b, &p.leader);
            let presences = presences(b, &p.presences);
            let out = fb::Party::create(
                b,
                nz(&p.party_id),
                p.open,
                p.hidden,
                p.max_size,
                self_,
                leader,
                presences,
                nz(&p.label),
            );
            M::create_party(b, out)
        }
        Outgoing::PartyLeader(l) => {
            let who = presence(b, &l.presence);
            let out = fb::PartyLeader::create(b, nz(&l.party_id), who);
            M::create_party_leader(b, out)
        }
        Outgoing::PartyClose(c) => {
            let out = fb::PartyClose::create(b, nz(&c.party_id));
            M::create_party_close(b, out)
        }
        Outgoing::PartyJoinRequest(r) => {
            let presences = presences(b, &r.presences);
            let out = fb::PartyJoinRequest::create(b, nz(&r.party_id), presences);
            M::create_party_join_request(b, out)
        }
        Outgoing::PartyData(d) => {
            let sender = presence(b, &d.presence);
            let data = (!d.data.is_empty()).then_some(&d.data[..]);
            let out = fb::PartyData::create(b, nz(&d.party_id), sender, d.op_code, data);
            M::create_party_data(b, out)
        }
        Outgoing::PartyPresenceEvent(e) => {
            let joins = presences(b, &e.joins);
            let leaves = presences(b, &e.leaves);
            let out = fb::PartyPresenceEvent::create(b, nz(&e.party_id), joins, leaves);
            M::create_party_presence_event(b, out)
        }
        Outgoing::PartyUpdate(u) => {
            let out = fb::PartyUpdate::create(b, nz(&u.party_id), nz(&u.label), u.open, u.hidden);
            M::create_party_update(b, out)
        }
    }
}

fn channel_message(b: &mut Builder, m: &ChannelMessage) -> planus::Offset<fb::ChannelMessage> {
    fb::ChannelMessage::create(
        b,
        nz(&m.channel_id),
        nz(&m.message_id),
        m.code,
        nz(&m.sender_id),
        nz(&m.username),
        nz(&m.content),
        nz(&m.create_time),
        nz(&m.update_time),
        m.persistent,
        nz(&m.room_name),
        nz(&m.group_id),
        nz(&m.user_id_one),
        nz(&m.user_id_two),
    )
}

fn notification(b: &mut Builder, n: &Notification) -> planus::Offset<fb::Notification> {
    fb::Notification::create(
        b,
        nz(&n.id),
        nz(&n.subject),
        nz(&n.content),
        n.code,
        nz(&n.sender_id),
        nz(&n.create_time),
        n.persistent,
    )
}

fn stream(b: &mut Builder, s: &Stream) -> planus::Offset<fb::Stream> {
    fb::Stream::create(b, s.mode, nz(&s.subject), nz(&s.subcontext), nz(&s.label))
}
