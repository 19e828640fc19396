//! Relayed (client-authoritative) matches, as Nakama's `match_create`,
//! `match_join`, `match_leave` and `match_data_send`.
//!
//! A relayed match is the stream `(5, <uuid>, "", "")`; its id on the wire
//! is `"<uuid>."` (no node). The session side ([`session`]) validates and
//! forwards a [`Msg`] to the owner shard; the owner side ([`owner`]) keeps
//! the membership in the shard's stream table, answers joins, and encodes
//! each presence event once per wire its members speak, then hands the
//! encodings to the members' shards ([`crate::fanout::deliver`]). A
//! member's `match_data` is encoded and delivered by the member's own
//! shard, from the replica of the match's targets that the owner keeps
//! there ([`replica`]). Leaving is the stream's
//! ([`crate::fanout::membership`]); [`leave_event`] is what the others hear.
//! A match keeps no state beyond its stream's membership and its replicas.

pub mod authoritative;
mod owner;
pub(crate) mod replica;
mod session;

pub use session::{create, id_owned_by, join, leave, send_data, shard_to_serve};

use bytes::Bytes;
use kairos_schema::rtapi::{ErrorCode, MatchPresenceEvent, Outgoing};
use uuid::Uuid;

use crate::fanout::{Presence, StreamId};
use crate::shard::{Shard, ShardMsg};

/// What a match's session side asks its owner.
#[derive(Debug)]
pub enum Msg {
    /// Add this presence and answer the joiner.
    Join(Join),
    /// Relay this data from its sender (or queue it for an authoritative
    /// match's next tick).
    Data(Data),
    /// Signal an authoritative match's handler and answer.
    Signal(authoritative::Signal),
    /// Say what a match is now (`match_get`).
    Get(authoritative::Get),
    /// To a member's shard: relayed match `id`'s targets now, or `None`
    /// when that shard has no member left ([`replica`]).
    Replica {
        id: Uuid,
        replica: Option<replica::Replica>,
    },
    /// To a member's shard: data a member of a relayed match sent from
    /// its own shard ([`replica::relay`]).
    Relay(replica::Relay),
}

/// To a relayed match's owner: add `presence` and answer the joiner.
#[derive(Debug)]
pub struct Join {
    pub stream: StreamId,
    pub presence: Presence,
    pub cid: String,
    pub kind: JoinKind,
    /// The joiner's number for this request (`Session::track_stream`).
    pub join: u64,
    /// `match_join`'s metadata, for an authoritative match's
    /// `join_attempt`.
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// To a relayed match's owner: relay `data` from `sender`.
#[derive(Debug)]
pub struct Data {
    pub stream: StreamId,
    pub sender: Uuid,
    pub op_code: i64,
    pub data: Bytes,
    pub reliable: bool,
    /// Only these sessions, when not empty.
    pub only: Vec<Uuid>,
}

impl From<Msg> for ShardMsg {
    fn from(msg: Msg) -> ShardMsg {
        ShardMsg::Matches(msg)
    }
}

/// Handles a match message on the owner shard.
pub fn on_msg(shard: &Shard, msg: Msg) {
    match msg {
        Msg::Join(join) => owner::on_join(shard, join),
        Msg::Data(data) => owner::on_data(shard, data),
        Msg::Signal(signal) => authoritative::on_signal(shard, signal),
        Msg::Get(get) => authoritative::on_get(shard, get),
        Msg::Replica { id, replica } => replica::on_replica(shard, id, replica),
        Msg::Relay(relay) => replica::on_relay(shard, relay),
    }
}

/// Why a join is asked, which decides what "no such match" means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// `match_create`: the match comes into being.
    Create,
    /// `match_join`: the match must already have members.
    Join,
}

/// Why a match id names no match on this node. Each request decides what
/// that means, as Nakama's pipeline does: a join is refused, a leave
/// succeeds, data is dropped.
#[derive(Debug, PartialEq, Eq)]
pub enum BadMatchId {
    /// Not `"<uuid>.[node]"`.
    Invalid,
    /// Another node's authoritative match.
    Elsewhere,
}

impl BadMatchId {
    /// What a request that needs the match answers: BAD_INPUT "Invalid
    /// match ID", or MATCH_NOT_FOUND "Match not found".
    pub fn refusal(&self) -> (ErrorCode, &'static str) {
        match self {
            BadMatchId::Invalid => (ErrorCode::BadInput, "Invalid match ID"),
            BadMatchId::Elsewhere => (ErrorCode::MatchNotFound, "Match not found"),
        }
    }
}

/// Parses a match id: `"<uuid>."` is a relayed match, `"<uuid>.<node>"`
/// an authoritative one, which must run on this node (`node`).
pub fn parse_match_id(id: &str, node: &str) -> Result<StreamId, BadMatchId> {
    let (uuid, on) = id.split_once('.').ok_or(BadMatchId::Invalid)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| BadMatchId::Invalid)?;
    if on.is_empty() {
        return Ok(StreamId::relayed_match(uuid));
    }
    if on != node {
        return Err(BadMatchId::Elsewhere);
    }
    Ok(authoritative::stream(uuid, node))
}

/// The uuid of a relayed match's id (`"<uuid>."`), as [`parse_match_id`]
/// reads it; `None` for anything else, which `parse_match_id` then judges.
fn relayed_match_uuid(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id.strip_suffix('.')?).ok()
}

/// A relayed match's id on the wire, from its stream's subject.
fn match_id(uuid: &str) -> String {
    format!("{uuid}.")
}

/// A match stream's id on the wire, whichever kind.
pub(crate) fn wire_id(stream: &StreamId) -> String {
    if stream.mode == crate::fanout::mode::MATCH_AUTHORITATIVE {
        authoritative::match_id(stream)
    } else {
        match_id(&stream.subject)
    }
}

/// Tells match listing each match's member count as it changes
/// ([`crate::fanout::SizeHook`]); other streams are not its
/// business.
pub(crate) fn sizes(listing: crate::listing::Listing) -> crate::fanout::SizeHook {
    Box::new(move |stream: &StreamId, size: usize| {
        let authoritative = stream.mode == crate::fanout::mode::MATCH_AUTHORITATIVE;
        if !authoritative && stream.mode != crate::fanout::mode::MATCH_RELAYED {
            return;
        }
        if let Ok(id) = Uuid::parse_str(&stream.subject) {
            listing.size(id, wire_id(stream), authoritative, size);
        }
    })
}

/// The event telling a match's members that `gone` left.
pub fn leave_event(stream: &StreamId, gone: &Presence) -> Outgoing {
    Outgoing::MatchPresenceEvent(MatchPresenceEvent {
        match_id: wire_id(stream),
        joins: Vec::new(),
        leaves: vec![gone.to_wire()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_drawn_for_the_shard_asked() {
        for shards in [1, 2, 3, 8, 64] {
            for owner in [0, shards / 2, shards - 1] {
                for _ in 0..20 {
                    let id = id_owned_by(owner, shards);
                    assert_eq!(StreamId::relayed_match(id).owner(shards), owner);
                }
            }
        }
    }

    #[test]
    fn match_ids() {
        let u = Uuid::new_v4();
        assert_eq!(
            parse_match_id(&format!("{u}."), "kairos"),
            Ok(StreamId::relayed_match(u))
        );
        assert_eq!(
            parse_match_id(&format!("{u}.kairos"), "kairos"),
            Ok(authoritative::stream(u, "kairos"))
        );
        assert_eq!(
            wire_id(&authoritative::stream(u, "kairos")),
            format!("{u}.kairos")
        );
        assert_eq!(
            parse_match_id(&format!("{u}"), "kairos")
                .unwrap_err()
                .refusal()
                .0,
            ErrorCode::BadInput
        );
        assert_eq!(
            parse_match_id("nope.", "kairos").unwrap_err().refusal().0,
            ErrorCode::BadInput
        );
        // Another node's match is not here.
        assert_eq!(
            parse_match_id(&format!("{u}.node1"), "kairos")
                .unwrap_err()
                .refusal()
                .0,
            ErrorCode::MatchNotFound
        );
    }
}
