//! The owner's side of a game stream: its members are in the shard's
//! stream table, as every stream's; this adds the joins and updates game
//! code asks for, with their presence events, the reads and `stream_data`.

use std::collections::HashSet;

use kairos_schema::rtapi::{Outgoing, StreamData};
use uuid::Uuid;

use super::{Payload, SendData, presence_event, wire_stream};
use crate::fanout::{Presence, StreamId, deliver};
use crate::session::{Frames, WireSet};
use crate::shard::Shard;

/// Adds `presence` (an update replaces it) and tells every member, the
/// joiner included, unless it is hidden; whether it is new.
pub(super) fn on_join(shard: &Shard, stream: StreamId, presence: Presence, update: bool) -> bool {
    let mut table = shard.streams.borrow_mut();
    let (newly, previous) = if update {
        let previous = table.update(&stream, presence.clone());
        (previous.is_none(), previous)
    } else {
        (table.join(&stream, presence.clone()), None)
    };
    // A repeated join changes nothing; an update re-announces.
    if !newly && !update {
        return false;
    }
    let joins: Vec<&Presence> = Some(&presence).filter(|p| !p.hidden).into_iter().collect();
    let leaves: Vec<&Presence> = previous.iter().filter(|p| !p.hidden).collect();
    if let Some(m) = table.get(&stream)
        && !(joins.is_empty() && leaves.is_empty())
    {
        let event = presence_event(&stream, &joins, &leaves);
        deliver::broadcast(
            shard,
            m.targets(),
            None,
            &Frames::encode("", &event, m.wires()),
        );
    }
    newly
}

/// The members, in join order.
pub(super) fn members(shard: &Shard, stream: &StreamId) -> Vec<Presence> {
    shard
        .streams
        .borrow()
        .get(stream)
        .map(|m| m.members().to_vec())
        .unwrap_or_default()
}

/// How many members.
pub(super) fn count(shard: &Shard, stream: &StreamId) -> usize {
    shard
        .streams
        .borrow()
        .get(stream)
        .map_or(0, |m| m.members().len())
}

/// Sends `stream_data` (no sender) to the members, or to the listed
/// sessions among them, encoded once per wire they speak. Relayed data:
/// dropped past the mesh's hard bound, as match data is.
pub(super) fn on_send(shard: &Shard, s: SendData) {
    let table = shard.streams.borrow();
    let Some(m) = table.get(&s.stream) else {
        return;
    };
    let (cid, msg) = match s.payload {
        Payload::Data(data) => (
            String::new(),
            Outgoing::StreamData(StreamData {
                stream: wire_stream(&s.stream),
                sender: None,
                data,
                reliable: s.reliable,
            }),
        ),
        Payload::Raw { cid, message } => (cid, *message),
    };
    match s.sessions {
        None => {
            let frames = Frames::encode_with(&cid, &msg, m.wires(), s.reliable);
            deliver::broadcast_data(shard, m.targets(), None, &frames);
        }
        Some(sessions) => {
            let sessions: HashSet<Uuid> = sessions.into_iter().collect();
            let chosen: Vec<&Presence> = m
                .members()
                .iter()
                .filter(|p| sessions.contains(&p.session_id))
                .collect();
            if chosen.is_empty() {
                return;
            }
            let wires: WireSet = chosen.iter().map(|p| p.wire).collect();
            let frames = Frames::encode_with(&cid, &msg, wires, s.reliable);
            deliver::data_to_sessions(
                shard,
                chosen.iter().map(|p| (p.shard, p.session_id)),
                &frames,
            );
        }
    }
}
