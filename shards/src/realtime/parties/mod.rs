//! Parties, as Nakama's `party_*` messages: a group of players with a
//! leader, open to anyone or joined by the leader's accepting requests,
//! who exchange `party_data` and queue for the matchmaker together.
//!
//! A party is the stream `(7, <uuid>, "", <node>)`, on the wire
//! `"<uuid>.<node>"`. Its members are that stream's membership in the
//! owner shard's stream table (presences, per-shard targets, wires), so
//! presence events, `party_data` and every broadcast are encoded once per
//! wire and delivered once per shard ([`crate::fanout`]). What a stream
//! does not hold lives in [`Party`] (`party.rs`), in the owner's
//! [`State`]: openness, visibility, size bound, label, leader and the
//! pending join requests.
//!
//! * `session.rs`: the session side (validates, counts the session's
//!   parties, forwards);
//! * `owner.rs`: the owner side (every rule of a party, the replies and
//!   events);
//! * `matchmaking.rs`: the party's matchmaker tickets, on the owner;
//! * `listing.rs`: `GET /v2/party`, gathered from every shard.
//!
//! Invariants:
//! * a party is created on its creator's shard with an id that shard
//!   owns (no hop), and ends when its last member leaves or its leader
//!   closes it; it never exists without members;
//! * a session's parties (memberships, which are streams, and requests
//!   waiting for the leader, kept in [`State::pending`] on the session's
//!   shard) number at most `kairos.session.max_parties`; the owner tells
//!   the requester's shard when a request is settled, so `pending` holds
//!   exactly the requests that may still wait, and a session that ends
//!   withdraws them ([`session_ended`]);
//! * the leader is always a member; when it leaves, the oldest member
//!   leads;
//! * a party's matchmaker ticket holds exactly its members when queued:
//!   any join, accepted request, leave, removal or the party's end
//!   withdraws it (as Nakama's `RemovePartyAll`), so a match never holds
//!   a party's former member or misses a new one.

mod listing;
mod matchmaking;
mod owner;
mod party;
mod session;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use kairos_schema::rtapi::{Outgoing, PartyPresenceEvent, UserPresence};
use uuid::Uuid;

pub(crate) use listing::ListPart;
pub use listing::list;
pub use party::Party;
pub use session::{
    accept, close, create, join, join_request_list, leave, matchmaker_add, matchmaker_remove,
    promote, remove, send_data, update,
};

use crate::fanout::{Presence, StreamId, mode};
use crate::session::Session;
use crate::shard::{Shard, ShardMsg};

/// A party label's longest length in bytes (Nakama's
/// `PartyLabelMaxBytes`).
pub const MAX_LABEL_BYTES: usize = 2048;
/// The largest `max_size` a party may have.
pub const MAX_SIZE: i32 = 256;

/// What parties' session and owner sides tell each other.
#[derive(Debug)]
pub enum Msg {
    /// To the owner: this session asks to join (or joins an open party).
    Join(Join),
    /// To the owner: a member's request about the party.
    Act(Act),
    /// To the owner: this session no longer asks to join, nor is a member
    /// (it ended, or left).
    Withdraw { stream: StreamId, session_id: Uuid },
    /// To a joiner's shard: what became of its join request number `join`.
    Settled {
        stream: StreamId,
        session_id: Uuid,
        join: u64,
        outcome: Outcome,
    },
    /// To a requester's shard: its request is gone (declined, or the
    /// party ended).
    RequestGone { stream: StreamId, session_id: Uuid },
    /// To a requester's shard: the leader accepted it; it is a member.
    Admitted { stream: StreamId, session_id: Uuid },
    /// To every shard: its part of a party listing.
    List(ListPart),
}

/// What a join request came to, told to the joiner's shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A member now (an open party), or already one.
    Member,
    /// Waiting for the leader (a closed party).
    Requested,
    /// Refused (no such party, full, a duplicate request).
    Refused,
}

/// To a party's owner: `presence` asks to join.
#[derive(Debug)]
pub struct Join {
    pub stream: StreamId,
    pub presence: Presence,
    pub cid: String,
    /// The joiner's number for this request (`Session::track_stream`).
    pub join: u64,
}

/// To a party's owner: what `from` (a member, or the leader) asks.
#[derive(Debug)]
pub struct Act {
    pub stream: StreamId,
    pub from: Presence,
    pub cid: String,
    pub action: Action,
}

/// A member's request about its party.
#[derive(Debug)]
pub enum Action {
    Promote(UserPresence),
    Accept(UserPresence),
    Remove(UserPresence),
    Close,
    ListRequests,
    Data { op_code: i64, data: Bytes },
    Update(party::Settings),
    MatchmakerAdd(Box<matchmaking::TicketRequest>),
    MatchmakerRemove(String),
}

impl From<Msg> for ShardMsg {
    fn from(msg: Msg) -> ShardMsg {
        ShardMsg::Parties(msg)
    }
}

/// Handles a party message on the shard it was sent to.
pub fn on_msg(shard: &Shard, msg: Msg) {
    match msg {
        Msg::Join(join) => owner::on_join(shard, join),
        Msg::Act(act) => owner::on_act(shard, act),
        Msg::Withdraw { stream, session_id } => owner::on_withdraw(shard, &stream, session_id),
        Msg::Settled {
            stream,
            session_id,
            join,
            outcome,
        } => session::on_settled(shard, &stream, session_id, join, outcome),
        Msg::RequestGone { stream, session_id } => {
            shard.features.parties.forget_request(session_id, &stream);
        }
        Msg::Admitted { stream, session_id } => session::on_admitted(shard, stream, session_id),
        Msg::List(part) => listing::on_list(shard, part),
    }
}

/// Every party this shard owns, and the join requests its own sessions
/// are waiting on.
#[derive(Default)]
pub struct State {
    /// Owner side: parties by id (UUIDv7, so in creation order).
    parties: RefCell<BTreeMap<Uuid, Party>>,
    /// Session side: the parties each session of this shard asked to join
    /// and has no answer for yet, or waits on the leader of.
    pending: RefCell<HashMap<Uuid, Vec<StreamId>>>,
}

impl State {
    fn forget_request(&self, session: Uuid, stream: &StreamId) {
        let mut pending = self.pending.borrow_mut();
        if let Some(list) = pending.get_mut(&session) {
            list.retain(|s| s != stream);
            if list.is_empty() {
                pending.remove(&session);
            }
        }
    }

    /// Parties this shard owns.
    pub fn len(&self) -> usize {
        self.parties.borrow().len()
    }
}

/// A party's stream.
pub fn stream(id: Uuid, node: &str) -> StreamId {
    StreamId {
        mode: mode::PARTY,
        subject: id.to_string(),
        subcontext: String::new(),
        label: node.to_string(),
    }
}

/// A party's id on the wire, `"<uuid>.<node>"`.
pub fn party_id(stream: &StreamId) -> String {
    format!("{}.{}", stream.subject, stream.label)
}

/// Why a party id was refused: a malformed one is "Invalid party ID",
/// another node's party is not here.
#[derive(Debug, PartialEq, Eq)]
pub enum BadId {
    Invalid,
    NotFound,
}

/// Parses `"<uuid>.<node>"`; the node must be this one.
pub fn parse_party_id(id: &str, node: &str) -> Result<(Uuid, StreamId), BadId> {
    let (uuid, on) = id.split_once('.').ok_or(BadId::Invalid)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| BadId::Invalid)?;
    if on != node {
        return Err(BadId::NotFound);
    }
    Ok((uuid, stream(uuid, node)))
}

/// The event telling a party's members that `gone` left.
pub fn leave_event(stream: &StreamId, gone: &Presence) -> Outgoing {
    Outgoing::PartyPresenceEvent(PartyPresenceEvent {
        party_id: party_id(stream),
        joins: Vec::new(),
        leaves: vec![gone.to_wire()],
    })
}

/// On the owner, after `gone` left a party and the others heard: a new
/// leader if it led, the party's end if it was the last.
pub fn on_left(shard: &Shard, stream: &StreamId, gone: &Presence) {
    owner::on_left(shard, stream, gone);
}

/// A session ended: it withdraws the join requests it still waits on
/// (its memberships were left with its other streams).
pub fn session_ended(shard: &Shard, session: &Session) {
    let pending = shard
        .features
        .parties
        .pending
        .borrow_mut()
        .remove(&session.id);
    for stream in pending.unwrap_or_default() {
        crate::fanout::membership::to_owner(
            shard,
            &stream.clone(),
            Msg::Withdraw {
                stream,
                session_id: session.id,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_ids() {
        let u = Uuid::new_v4();
        let (id, s) = parse_party_id(&format!("{u}.kairos"), "kairos").unwrap();
        assert_eq!((id, party_id(&s)), (u, format!("{u}.kairos")));
        assert_eq!(s.mode, mode::PARTY);
        assert_eq!(
            parse_party_id(&format!("{u}"), "kairos"),
            Err(BadId::Invalid)
        );
        assert_eq!(parse_party_id("x.kairos", "kairos"), Err(BadId::Invalid));
        assert_eq!(
            parse_party_id(&format!("{u}."), "kairos"),
            Err(BadId::NotFound)
        );
        assert_eq!(
            parse_party_id(&format!("{u}.other"), "kairos"),
            Err(BadId::NotFound)
        );
    }
}
