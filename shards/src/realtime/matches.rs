//! Relayed (client-authoritative) matches, as Nakama's `match_create`,
//! `match_join`, `match_leave` and `match_data_send`.
//!
//! A relayed match is the stream `(5, <uuid>, "", "")`; its id on the wire
//! is `"<uuid>."` (no node). The session side validates and forwards to the
//! owner shard; the owner keeps the membership, answers joins, and encodes
//! each presence event and each `match_data` once per wire its members
//! speak, then hands the encodings to the members' shards
//! ([`super::deliver`]).

use bytes::Bytes;
use kairos_schema::rtapi::{
    ErrorCode, MatchData, MatchDataSend, MatchOut, MatchPresenceEvent, Outgoing,
};
use uuid::Uuid;

use super::deliver;
use super::membership::{self, broadcast, to_owner};
use crate::session::{Frames, JoinFlags, Session, Wire, WireSet};
use crate::shard::{Shard, ShardMsg};
use crate::streams::{Presence, StreamId};

/// Why a join is asked, which decides what "no such match" means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// `match_create`: the match comes into being.
    Create,
    /// `match_join`: the match must already have members.
    Join,
}

/// Parses a relayed match id, `"<uuid>."`.
pub fn parse_match_id(id: &str) -> Result<Uuid, (ErrorCode, &'static str)> {
    let Some((uuid, node)) = id.split_once('.') else {
        return Err((ErrorCode::BadInput, "Invalid match ID"));
    };
    let uuid = Uuid::parse_str(uuid).map_err(|_| (ErrorCode::BadInput, "Invalid match ID"))?;
    if !node.is_empty() {
        // "<uuid>.<node>" names an authoritative match; none run here yet.
        return Err((ErrorCode::MatchNotFound, "Match not found"));
    }
    Ok(uuid)
}

fn match_id(uuid: &str) -> String {
    format!("{uuid}.")
}

// ---- session side ----------------------------------------------------------

/// `match_create {name}`: a random id, or a deterministic one (UUIDv5 of the
/// name in the DNS namespace, as Nakama) so that everyone naming the same
/// match meets in it.
pub fn create(shard: &Shard, session: &Session, cid: &str, name: &str) {
    let id = if name.is_empty() {
        Uuid::new_v4()
    } else {
        Uuid::new_v5(&Uuid::NAMESPACE_DNS, name.as_bytes())
    };
    join_stream(
        shard,
        session,
        cid,
        StreamId::relayed_match(id),
        JoinKind::Create,
    );
}

/// `match_join {match_id | token}`.
pub fn join(shard: &Shard, session: &Session, cid: &str, match_id: &str, token: &str) {
    if !token.is_empty() {
        session.send_envelope(
            cid,
            &Outgoing::error(
                ErrorCode::BadInput,
                "Matchmaker tokens are not supported yet.",
            ),
        );
        return;
    }
    match parse_match_id(match_id) {
        Ok(id) => join_stream(
            shard,
            session,
            cid,
            StreamId::relayed_match(id),
            JoinKind::Join,
        ),
        Err((code, msg)) => {
            session.send_envelope(cid, &Outgoing::error(code, msg));
        }
    }
}

fn join_stream(shard: &Shard, session: &Session, cid: &str, stream: StreamId, kind: JoinKind) {
    if membership::refuse_over_limit(shard, session, cid, &stream, ErrorCode::MatchJoinRejected) {
        return;
    }
    let join = session.track_stream(stream.clone(), JoinFlags::default());
    let presence = session.presence(shard.id, None);
    to_owner(
        shard,
        &stream.clone(),
        ShardMsg::MatchJoin {
            stream,
            presence,
            cid: cid.to_string(),
            kind,
            join,
        },
    );
}

/// `match_leave {match_id}`: answered at once; the owner tells the others.
pub fn leave(shard: &Shard, session: &Session, cid: &str, match_id: &str) {
    match parse_match_id(match_id) {
        Ok(id) => {
            membership::leave(shard, session, StreamId::relayed_match(id));
            session.send_empty_reply(cid);
        }
        Err((code, msg)) => {
            session.send_envelope(cid, &Outgoing::error(code, msg));
        }
    }
}

/// `match_data_send`: forwarded to the owner, which relays it. Failures are
/// reported without a `cid`, as Nakama does.
pub fn send_data(shard: &Shard, session: &Session, msg: MatchDataSend) {
    let id = match parse_match_id(&msg.match_id) {
        Ok(id) => id,
        Err((code, text)) => {
            session.send_envelope("", &Outgoing::error(code, text));
            return;
        }
    };
    let mut only = Vec::new();
    for p in &msg.presences {
        match Uuid::parse_str(&p.session_id) {
            Ok(s) => only.push(s),
            Err(_) => {
                session.send_envelope(
                    "",
                    &Outgoing::error(ErrorCode::BadInput, "Invalid presence session ID"),
                );
                return;
            }
        }
    }
    let stream = StreamId::relayed_match(id);
    to_owner(
        shard,
        &stream.clone(),
        ShardMsg::MatchData {
            stream,
            sender: session.id,
            sender_shard: shard.id,
            sender_wire: session.wire,
            op_code: msg.op_code,
            data: msg.data,
            reliable: msg.reliable,
            only,
        },
    );
}

// ---- owner side ------------------------------------------------------------

/// Adds a presence, answers the joiner with the match, then tells every
/// member of a new join, the joiner included, as Nakama's tracker does
/// (clients such as nakama-js wait for their own join event).
///
/// The reply lists the other members for a new join; a session that joins
/// again gets every presence, itself included, as in Nakama. The reply
/// and the event travel the same FIFO path to the joiner's shard, so the
/// reply always arrives first.
pub fn on_join(
    shard: &Shard,
    stream: StreamId,
    presence: Presence,
    cid: String,
    kind: JoinKind,
    join: u64,
) {
    let mut table = shard.streams.borrow_mut();
    let exists = table.get(&stream).is_some();
    if !exists && kind == JoinKind::Join {
        drop(table);
        // The joiner counted the match in; it must not (nor against its
        // limits), unless it asked to join it again since. Sent before the
        // error, on the same FIFO path, so it is forgotten before the
        // client hears.
        shard.send_to(
            presence.shard,
            ShardMsg::JoinRefused {
                stream,
                session_id: presence.session_id,
                join,
            },
        );
        let err = Outgoing::error(ErrorCode::MatchNotFound, "Match not found");
        deliver::to_session(
            shard,
            presence.shard,
            presence.session_id,
            presence.wire,
            &cid,
            &err,
        );
        return;
    }
    let newly = table.join(&stream, presence.clone());
    let Some(m) = table.get(&stream) else { return };
    let id = match_id(&stream.subject);
    let reply = Outgoing::Match(MatchOut {
        match_id: id.clone(),
        authoritative: false,
        label: None,
        size: m.members().len() as i32,
        presences: m
            .members()
            .iter()
            .filter(|p| !newly || p.session_id != presence.session_id)
            .map(Presence::to_wire)
            .collect(),
        self_: presence.to_wire(),
    });
    deliver::to_session(
        shard,
        presence.shard,
        presence.session_id,
        presence.wire,
        &cid,
        &reply,
    );
    if newly {
        let event = Outgoing::MatchPresenceEvent(MatchPresenceEvent {
            match_id: id,
            joins: vec![presence.to_wire()],
            leaves: Vec::new(),
        });
        let frames = Frames::encode("", &event, m.wires());
        broadcast(shard, m.targets(), None, &frames);
    }
}

/// The event telling a match's members that `gone` left.
pub fn leave_event(stream: &StreamId, gone: &Presence) -> Outgoing {
    Outgoing::MatchPresenceEvent(MatchPresenceEvent {
        match_id: match_id(&stream.subject),
        joins: Vec::new(),
        leaves: vec![gone.to_wire()],
    })
}

/// Relays match data: encoded once, delivered per shard.
#[allow(clippy::too_many_arguments)]
pub fn on_data(
    shard: &Shard,
    stream: StreamId,
    sender: Uuid,
    sender_shard: usize,
    sender_wire: Wire,
    op_code: i64,
    data: Bytes,
    reliable: bool,
    only: Vec<Uuid>,
) {
    let table = shard.streams.borrow();
    let Some(m) = table.get(&stream).filter(|m| m.get(sender).is_some()) else {
        drop(table);
        let err = Outgoing::error(ErrorCode::MatchNotFound, "Match not found or not joined");
        deliver::to_session(shard, sender_shard, sender, sender_wire, "", &err);
        return;
    };
    let presence = m.get(sender).map(Presence::to_wire).unwrap_or_default();
    let msg = Outgoing::MatchData(MatchData {
        match_id: match_id(&stream.subject),
        presence,
        op_code,
        data,
        reliable,
    });
    if only.is_empty() {
        let frames = Frames::encode_with("", &msg, m.wires(), reliable);
        membership::broadcast_data(shard, m.targets(), Some(sender), &frames);
        return;
    }
    // Only the listed members (the sender too, if listed): one encoding per
    // wire among them, one delivery per shard.
    let chosen: Vec<&Presence> = m
        .members()
        .iter()
        .filter(|p| only.contains(&p.session_id))
        .collect();
    let wires: WireSet = chosen.iter().map(|p| p.wire).collect();
    let frames = Frames::encode_with("", &msg, wires, reliable);
    let mut by_shard: Vec<(usize, Vec<Uuid>)> = Vec::new();
    for p in chosen {
        match by_shard.iter_mut().find(|(s, _)| *s == p.shard) {
            Some((_, v)) => v.push(p.session_id),
            None => by_shard.push((p.shard, vec![p.session_id])),
        }
    }
    for (dest, sessions) in by_shard {
        deliver::data_to_shard(shard, dest, sessions.into(), None, frames.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_ids() {
        let u = Uuid::new_v4();
        assert_eq!(parse_match_id(&format!("{u}.")), Ok(u));
        assert_eq!(
            parse_match_id(&format!("{u}")).unwrap_err().0,
            ErrorCode::BadInput
        );
        assert_eq!(parse_match_id("nope.").unwrap_err().0, ErrorCode::BadInput);
        assert_eq!(
            parse_match_id(&format!("{u}.node1")).unwrap_err().0,
            ErrorCode::MatchNotFound
        );
    }
}
