//! A party's owner side: runs on the shard that owns the party's stream
//! and keeps every rule of a party, with Nakama's errors (BAD_INPUT, the
//! message prefixed by what was asked) and its order of replies and
//! events.

use std::sync::Arc;

use kairos_schema::rtapi::{
    ErrorCode, Outgoing, PartyData, PartyJoinRequest, PartyLeader, PartyOut, PartyPresenceEvent,
    PartyRef, PartyUpdate, UserPresence,
};
use uuid::Uuid;

use super::matchmaking;
use super::party::{Party, Settings};

use super::{Act, Action, Join, Msg, Outcome, party_id};
use crate::fanout::membership::{self, Msg as Streams};
use crate::fanout::{Presence, StreamId, deliver};
use crate::session::{Frames, WireSet};
use crate::shard::Shard;

/// Nakama's texts (`runtime.ErrParty*`).
const NOT_FOUND: &str = "party not found";
const FULL: &str = "party full";
const REQUESTS_FULL: &str = "party join requests full";
const DUPLICATE: &str = "party join request duplicate";
const ALREADY_MEMBER: &str = "party join request already member";
const NOT_LEADER: &str = "party leader only";
const NOT_MEMBER: &str = "party member not found";
const NOT_REQUEST: &str = "party join request not found";
const REMOVE_SELF: &str = "party cannot remove self";

fn uuid_of(stream: &StreamId) -> Option<Uuid> {
    Uuid::parse_str(&stream.subject).ok()
}

/// Sends `msg` to one presence, with `cid`.
pub(super) fn tell(shard: &Shard, to: &Presence, cid: &str, msg: &Outgoing) {
    deliver::to_session(shard, to.shard, to.session_id, to.wire, cid, msg);
}

/// The empty reply `{cid}` to one presence.
pub(super) fn reply_empty(shard: &Shard, to: &Presence, cid: &str) {
    let frames = Frames::single(to.wire, to.wire.empty_reply(cid));
    deliver::to_shard(shard, to.shard, Arc::from([to.session_id]), None, frames);
}

pub(super) fn refuse(shard: &Shard, to: &Presence, cid: &str, prefix: &str, why: &str) {
    tell(
        shard,
        to,
        cid,
        &Outgoing::error(ErrorCode::BadInput, format!("{prefix}{why}")),
    );
}

/// Sends `msg` to every member of `stream`.
fn broadcast(shard: &Shard, stream: &StreamId, msg: &Outgoing) {
    let table = shard.streams.borrow();
    if let Some(m) = table.get(stream) {
        deliver::broadcast(
            shard,
            m.targets(),
            None,
            &Frames::encode("", msg, m.wires()),
        );
    }
}

/// The `party` message one member `self_` is told; `None` when the party
/// is gone.
fn party_out(shard: &Shard, id: Uuid, stream: &StreamId, self_: &Presence) -> Option<Outgoing> {
    let parties = shard.features.parties.parties.borrow();
    let party = parties.get(&id)?;
    let table = shard.streams.borrow();
    let members = table.get(stream).map(|m| m.members()).unwrap_or_default();
    let leader = members
        .iter()
        .find(|p| p.session_id == party.leader)
        .map(Presence::to_wire)
        .unwrap_or_default();
    Some(Outgoing::Party(PartyOut {
        party_id: party_id(stream),
        open: party.open,
        hidden: party.hidden,
        max_size: party.max_size as i32,
        self_: self_.to_wire(),
        leader,
        presences: members.iter().map(Presence::to_wire).collect(),
        label: party.label.clone(),
    }))
}

/// Adds `p` to the party's stream, tells it the party, then tells every
/// member (it too) of the join.
/// Borrows no party state while it sends.
fn admit(shard: &Shard, id: Uuid, stream: &StreamId, p: &Presence) {
    shard.streams.borrow_mut().join(stream, p.clone());
    matchmaking::members_changed(shard, id, stream);
    if let Some(out) = party_out(shard, id, stream, p) {
        tell(shard, p, "", &out);
    }
    let event = Outgoing::PartyPresenceEvent(PartyPresenceEvent {
        party_id: party_id(stream),
        joins: vec![p.to_wire()],
        leaves: Vec::new(),
    });
    broadcast(shard, stream, &event);
}

/// A new party, on this shard, led by `creator` (whose session already
/// counts it): the creator gets the party (`cid`), then its join event.
pub(super) fn create(
    shard: &Shard,
    id: Uuid,
    stream: StreamId,
    creator: Presence,
    cid: &str,
    settings: Settings,
    max_size: usize,
) {
    let label = settings.label.clone();
    let party = Party::new(
        settings,
        max_size,
        creator.session_id,
        &shard.shared.config.name,
    );
    let count = {
        let mut parties = shard.features.parties.parties.borrow_mut();
        parties.insert(id, party);
        parties.len()
    };
    shard.metrics.parties.set(count as u64);
    shard.streams.borrow_mut().join(&stream, creator.clone());
    if let Some(mut out) = party_out(shard, id, &stream, &creator) {
        if let Outgoing::Party(p) = &mut out {
            // The creator is told the label it gave, as Nakama does.
            p.label = label;
        }
        tell(shard, &creator, cid, &out);
    }
    let event = Outgoing::PartyPresenceEvent(PartyPresenceEvent {
        party_id: party_id(&stream),
        joins: vec![creator.to_wire()],
        leaves: Vec::new(),
    });
    broadcast(shard, &stream, &event);
}

fn settle(shard: &Shard, msg: &Join, outcome: Outcome) {
    shard.send_to(
        msg.presence.shard,
        Msg::Settled {
            stream: msg.stream.clone(),
            session_id: msg.presence.session_id,
            join: msg.join,
            outcome,
        },
    );
}

/// A session asks to join: an open party admits it, a closed one's
/// leader hears the request. The joiner's shard learns the outcome
/// before the reply, on the same FIFO path.
pub(super) fn on_join(shard: &Shard, msg: Join) {
    let prefix = "Error joining party: ";
    let p = &msg.presence;
    let refused = |why: &str| {
        settle(shard, &msg, Outcome::Refused);
        refuse(shard, p, &msg.cid, prefix, why);
    };
    let Some(id) = uuid_of(&msg.stream) else {
        return refused(NOT_FOUND);
    };
    let mut parties = shard.features.parties.parties.borrow_mut();
    let Some(party) = parties.get_mut(&id) else {
        drop(parties);
        return refused(NOT_FOUND);
    };
    let (is_member, user_is_member, size) = {
        let table = shard.streams.borrow();
        let members = table
            .get(&msg.stream)
            .map(|m| m.members())
            .unwrap_or_default();
        (
            members.iter().any(|m| m.session_id == p.session_id),
            members.iter().any(|m| m.user_id == p.user_id),
            members.len(),
        )
    };
    if is_member {
        settle(shard, &msg, Outcome::Member);
        reply_empty(shard, p, &msg.cid);
        return;
    }
    if size >= party.max_size {
        drop(parties);
        return refused(FULL);
    }
    if party.open {
        drop(parties);
        settle(shard, &msg, Outcome::Member);
        reply_empty(shard, p, &msg.cid);
        admit(shard, id, &msg.stream, p);
        return;
    }
    let why = if party.requests.len() >= party.max_size {
        Some(REQUESTS_FULL)
    } else if party.requests.iter().any(|r| r.user_id == p.user_id) {
        Some(DUPLICATE)
    } else if user_is_member {
        Some(ALREADY_MEMBER)
    } else {
        None
    };
    if let Some(why) = why {
        drop(parties);
        return refused(why);
    }
    party.requests.push(p.clone());
    let leader = party.leader;
    drop(parties);
    settle(shard, &msg, Outcome::Requested);
    reply_empty(shard, p, &msg.cid);
    let request = Outgoing::PartyJoinRequest(PartyJoinRequest {
        party_id: party_id(&msg.stream),
        presences: vec![p.to_wire()],
    });
    if let Some(leader) = member(shard, &msg.stream, leader) {
        tell(shard, &leader, "", &request);
    }
}

/// A member's presence, by session.
fn member(shard: &Shard, stream: &StreamId, session: Uuid) -> Option<Presence> {
    shard.streams.borrow().get(stream)?.get(session).cloned()
}

/// The member a client names: Nakama matches session, user and username.
fn named_member(shard: &Shard, stream: &StreamId, who: &UserPresence) -> Option<Presence> {
    let table = shard.streams.borrow();
    table
        .get(stream)?
        .members()
        .iter()
        .find(|p| same(p, who))
        .cloned()
}

fn same(p: &Presence, who: &UserPresence) -> bool {
    p.session_id.to_string() == who.session_id
        && p.user_id.to_string() == who.user_id
        && p.username == who.username
}

fn prefix(action: &Action) -> &'static str {
    match action {
        Action::Promote(_) => "Error promoting new party leader: ",
        Action::Accept(_) => "Error accepting party join request: ",
        Action::Remove(_) => "Error removing party member or join request: ",
        Action::Close => "Error closing party: ",
        Action::ListRequests => "Error listing party join requests: ",
        Action::Data { .. } => "Error sending party data: ",
        Action::Update(_) => "Error updating party: ",
        Action::MatchmakerAdd(_) => matchmaking::ADD_PREFIX,
        Action::MatchmakerRemove(_) => matchmaking::REMOVE_PREFIX,
    }
}

/// A member's request: data from any member, the rest from the leader.
pub(super) fn on_act(shard: &Shard, act: Act) {
    let prefix = prefix(&act.action);
    let from = &act.from;
    let Some(id) = uuid_of(&act.stream) else {
        return refuse(shard, from, &act.cid, prefix, NOT_FOUND);
    };
    let Some(leader) = shard
        .features
        .parties
        .parties
        .borrow()
        .get(&id)
        .map(|p| p.leader)
    else {
        return refuse(shard, from, &act.cid, prefix, NOT_FOUND);
    };
    if let Action::Data { op_code, data } = act.action {
        return on_data(shard, &act.stream, from, &act.cid, op_code, data);
    }
    if leader != from.session_id {
        return refuse(shard, from, &act.cid, prefix, NOT_LEADER);
    }
    let stream = &act.stream;
    let cid = &act.cid;
    match act.action {
        Action::Promote(who) => {
            let Some(new) = named_member(shard, stream, &who) else {
                return refuse(shard, from, cid, prefix, NOT_MEMBER);
            };
            set_leader(shard, id, stream, &new);
            reply_empty(shard, from, cid);
        }
        Action::Accept(who) => on_accept(shard, id, stream, from, cid, &who, prefix),
        Action::Remove(who) => on_remove(shard, id, stream, from, cid, &who, prefix),
        Action::Close => {
            broadcast(
                shard,
                stream,
                &Outgoing::PartyClose(PartyRef {
                    party_id: party_id(stream),
                }),
            );
            reply_empty(shard, from, cid);
            end(shard, id, stream);
        }
        Action::ListRequests => {
            let presences = shard
                .features
                .parties
                .parties
                .borrow()
                .get(&id)
                .map(|p| p.requests.iter().map(Presence::to_wire).collect())
                .unwrap_or_default();
            let out = Outgoing::PartyJoinRequest(PartyJoinRequest {
                party_id: party_id(stream),
                presences,
            });
            tell(shard, from, cid, &out);
        }
        Action::Update(settings) => {
            let out = Outgoing::PartyUpdate(PartyUpdate {
                party_id: party_id(stream),
                label: settings.label.clone(),
                open: settings.open,
                hidden: settings.hidden,
            });
            if let Some(p) = shard.features.parties.parties.borrow_mut().get_mut(&id) {
                p.set(settings);
            }
            broadcast(shard, stream, &out);
            reply_empty(shard, from, cid);
        }
        Action::MatchmakerAdd(request) => {
            matchmaking::add(shard, id, stream, from, cid, *request);
        }
        Action::MatchmakerRemove(ticket) => matchmaking::remove(shard, stream, from, cid, ticket),
        Action::Data { .. } => unreachable!("handled above"),
    }
}

/// Makes `new` the leader and tells every member.
fn set_leader(shard: &Shard, id: Uuid, stream: &StreamId, new: &Presence) {
    if let Some(p) = shard.features.parties.parties.borrow_mut().get_mut(&id) {
        p.leader = new.session_id;
    }
    let out = Outgoing::PartyLeader(PartyLeader {
        party_id: party_id(stream),
        presence: new.to_wire(),
    });
    broadcast(shard, stream, &out);
}

fn on_accept(
    shard: &Shard,
    id: Uuid,
    stream: &StreamId,
    from: &Presence,
    cid: &str,
    who: &UserPresence,
    prefix: &str,
) {
    let size = shard
        .streams
        .borrow()
        .get(stream)
        .map_or(0, |m| m.members().len());
    let mut parties = shard.features.parties.parties.borrow_mut();
    let Some(party) = parties.get_mut(&id) else {
        drop(parties);
        return refuse(shard, from, cid, prefix, NOT_FOUND);
    };
    if size >= party.max_size {
        drop(parties);
        return refuse(shard, from, cid, prefix, FULL);
    }
    let Some(i) = party.requests.iter().position(|r| same(r, who)) else {
        drop(parties);
        return refuse(shard, from, cid, prefix, NOT_REQUEST);
    };
    let joiner = party.requests.remove(i);
    drop(parties);
    reply_empty(shard, from, cid);
    admit(shard, id, stream, &joiner);
    shard.send_to(
        joiner.shard,
        Msg::Admitted {
            stream: stream.clone(),
            session_id: joiner.session_id,
        },
    );
}

fn on_remove(
    shard: &Shard,
    id: Uuid,
    stream: &StreamId,
    from: &Presence,
    cid: &str,
    who: &UserPresence,
    prefix: &str,
) {
    if from.session_id.to_string() == who.session_id
        && from.user_id.to_string() == who.user_id
        && from.username == who.username
    {
        return refuse(shard, from, cid, prefix, REMOVE_SELF);
    }
    if let Some(gone) = named_member(shard, stream, who) {
        // The others hear the leave; the removed member is told the
        // party ended for it, and its shard forgets the party.
        membership::on_leave(shard, stream.clone(), gone.session_id);
        shard.send_to(
            gone.shard,
            Streams::Dropped {
                stream: stream.clone(),
                sessions: vec![gone.session_id],
            },
        );
        tell(
            shard,
            &gone,
            "",
            &Outgoing::PartyClose(PartyRef {
                party_id: party_id(stream),
            }),
        );
        return reply_empty(shard, from, cid);
    }
    let declined = {
        let mut parties = shard.features.parties.parties.borrow_mut();
        parties.get_mut(&id).and_then(|party| {
            let i = party.requests.iter().position(|r| same(r, who))?;
            Some(party.requests.remove(i))
        })
    };
    let Some(declined) = declined else {
        return refuse(shard, from, cid, prefix, NOT_MEMBER);
    };
    shard.send_to(
        declined.shard,
        Msg::RequestGone {
            stream: stream.clone(),
            session_id: declined.session_id,
        },
    );
    reply_empty(shard, from, cid);
}

/// `party_data` from a member to every other member (sheddable past the
/// mesh's bound, as relayed data is), then the sender's reply.
fn on_data(
    shard: &Shard,
    stream: &StreamId,
    from: &Presence,
    cid: &str,
    op_code: i64,
    data: bytes::Bytes,
) {
    let table = shard.streams.borrow();
    let Some((m, sender)) = table
        .get(stream)
        .and_then(|m| Some((m, m.get(from.session_id)?.to_wire())))
    else {
        drop(table);
        return refuse(shard, from, cid, "Error sending party data: ", NOT_MEMBER);
    };
    let out = Outgoing::PartyData(PartyData {
        party_id: party_id(stream),
        presence: sender,
        op_code,
        data,
    });
    let others: WireSet = m
        .members()
        .iter()
        .filter(|p| p.session_id != from.session_id)
        .map(|p| p.wire)
        .collect();
    if !others.is_empty() {
        let frames = Frames::encode("", &out, others);
        deliver::broadcast_data(shard, m.targets(), Some(from.session_id), &frames);
    }
    drop(table);
    reply_empty(shard, from, cid);
}

/// A session no longer asks to join (or no longer may be a member: it
/// ended while the leader accepted it).
pub(super) fn on_withdraw(shard: &Shard, stream: &StreamId, session: Uuid) {
    let Some(id) = uuid_of(stream) else { return };
    if let Some(p) = shard.features.parties.parties.borrow_mut().get_mut(&id) {
        p.requests.retain(|r| r.session_id != session);
    }
    membership::on_leave(shard, stream.clone(), session);
}

/// After `gone` left and the others heard: the party ends with its last
/// member; a leader that left is followed by the oldest member.
pub(super) fn on_left(shard: &Shard, stream: &StreamId, gone: &Presence) {
    let Some(id) = uuid_of(stream) else { return };
    let Some(leader) = shard
        .features
        .parties
        .parties
        .borrow()
        .get(&id)
        .map(|p| p.leader)
    else {
        return;
    };
    matchmaking::members_changed(shard, id, stream);
    let oldest = shard
        .streams
        .borrow()
        .get(stream)
        .and_then(|m| m.members().first().cloned());
    match oldest {
        None => end(shard, id, stream),
        Some(oldest) if leader == gone.session_id => set_leader(shard, id, stream, &oldest),
        Some(_) => {}
    }
}

/// Ends a party: its members' shards forget it, its requesters' shards
/// stop waiting, and it is gone.
fn end(shard: &Shard, id: Uuid, stream: &StreamId) {
    let Some(party) = shard.features.parties.parties.borrow_mut().remove(&id) else {
        return;
    };
    if party.queued {
        shard.shared.matchmaker.remove_party_all(party_id(stream));
    }
    shard
        .metrics
        .parties
        .set(shard.features.parties.len() as u64);
    membership::on_close(shard, stream.clone());
    for r in party.requests {
        shard.send_to(
            r.shard,
            Msg::RequestGone {
                stream: stream.clone(),
                session_id: r.session_id,
            },
        );
    }
}
