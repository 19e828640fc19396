//! A match's owner side: runs on the shard that owns the match's stream,
//! keeps its membership, answers joins and relays data.

use kairos_schema::rtapi::{ErrorCode, MatchData, MatchOut, MatchPresenceEvent, Outgoing};

use super::{Data, Join, JoinKind, match_id};
use crate::fanout::membership::Msg as Streams;
use crate::fanout::{Presence, deliver};
use crate::session::{Frames, WireSet};
use crate::shard::Shard;

/// Adds a presence, answers the joiner with the match, then tells every
/// member of a new join, the joiner included, as Nakama's tracker does
/// (clients such as nakama-js wait for their own join event).
///
/// The reply lists the other members for a new join; a session that joins
/// again gets every presence, itself included, as in Nakama. The reply
/// and the event travel the same FIFO path to the joiner's shard, so the
/// reply always arrives first.
pub(super) fn on_join(shard: &Shard, msg: Join) {
    if msg.stream.mode == crate::fanout::mode::MATCH_AUTHORITATIVE {
        let metadata = msg.metadata.clone();
        return super::authoritative::on_join(shard, msg, &metadata);
    }
    let Join {
        stream,
        presence,
        cid,
        kind,
        join,
        ..
    } = msg;
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
            Streams::JoinRefused {
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
        deliver::broadcast(shard, m.targets(), None, &frames);
    }
}

/// Relays match data: encoded once, delivered per shard.
pub(super) fn on_data(shard: &Shard, msg: Data) {
    if msg.stream.mode == crate::fanout::mode::MATCH_AUTHORITATIVE {
        return super::authoritative::on_data(shard, msg);
    }
    let table = shard.streams.borrow();
    let Some(m) = table
        .get(&msg.stream)
        .filter(|m| m.get(msg.sender).is_some())
    else {
        drop(table);
        let err = Outgoing::error(ErrorCode::MatchNotFound, "Match not found or not joined");
        deliver::to_session(
            shard,
            msg.sender_shard,
            msg.sender,
            msg.sender_wire,
            "",
            &err,
        );
        return;
    };
    let presence = m.get(msg.sender).map(Presence::to_wire).unwrap_or_default();
    let out = Outgoing::MatchData(MatchData {
        match_id: match_id(&msg.stream.subject),
        presence,
        op_code: msg.op_code,
        data: msg.data,
        reliable: msg.reliable,
    });
    if msg.only.is_empty() {
        let frames = Frames::encode_with("", &out, m.wires(), msg.reliable);
        deliver::broadcast_data(shard, m.targets(), Some(msg.sender), &frames);
        return;
    }
    // Only the listed members (the sender too, if listed): one encoding per
    // wire among them, one delivery per shard.
    let chosen: Vec<&Presence> = m
        .members()
        .iter()
        .filter(|p| msg.only.contains(&p.session_id))
        .collect();
    let wires: WireSet = chosen.iter().map(|p| p.wire).collect();
    let frames = Frames::encode_with("", &out, wires, msg.reliable);
    deliver::data_to_sessions(
        shard,
        chosen.iter().map(|p| (p.shard, p.session_id)),
        &frames,
    );
}
