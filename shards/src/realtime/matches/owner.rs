//! A match's owner side: runs on the shard that owns the match's stream,
//! keeps its membership, answers joins and relays data. What relayed and
//! authoritative matches share is here too: refusing a join, admitting a
//! presence (the reply and the join event), refusing data from a
//! non-member, and sending `match_data` to all or some members.

use kairos_schema::rtapi::{ErrorCode, MatchData, MatchOut, MatchPresenceEvent, Outgoing};
use uuid::Uuid;

use super::{Data, Join, JoinKind, match_id};
use crate::fanout::membership::Msg as Streams;
use crate::fanout::{Membership, Presence, deliver};
use crate::session::{Frames, WireSet};
use crate::shard::Shard;

/// Answers a relayed match's join: refused if the match has no members
/// and the session asked to join rather than create it; else admitted
/// ([`admit`]).
pub(super) fn on_join(shard: &Shard, msg: Join) {
    if msg.stream.mode == crate::fanout::mode::MATCH_AUTHORITATIVE {
        return super::authoritative::on_join(shard, msg);
    }
    let exists = shard.streams.borrow().get(&msg.stream).is_some();
    if !exists && msg.kind == JoinKind::Join {
        refuse_join(
            shard,
            &msg,
            ErrorCode::MatchNotFound,
            "Match not found".into(),
        );
        return;
    }
    let id = match_id(&msg.stream.subject);
    admit(shard, &msg, id, None);
}

/// Refuses a join request with `code` and `why`.
///
/// The joiner counted the match in; it must not (nor against its limits),
/// unless it asked to join it again since. That is sent before the error,
/// on the same FIFO path, so it is forgotten before the client hears.
pub(super) fn refuse_join(shard: &Shard, msg: &Join, code: ErrorCode, why: String) {
    let presence = &msg.presence;
    shard.send_to(
        presence.shard,
        Streams::JoinRefused {
            stream: msg.stream.clone(),
            session_id: presence.session_id,
            join: msg.join,
        },
    );
    deliver::to_session(
        shard,
        presence.shard,
        presence.session_id,
        presence.wire,
        &msg.cid,
        &Outgoing::error(code, why),
    );
}

/// Adds the joiner's presence, answers it with the match (`label` set for
/// an authoritative one), then tells every member of a new join, the
/// joiner included, as Nakama's tracker does (clients such as nakama-js
/// wait for their own join event). Returns whether the join was new.
///
/// The reply lists the other members for a new join; a session that joins
/// again gets every presence, itself included, as in Nakama. The reply
/// and the event travel the same FIFO path to the joiner's shard, so the
/// reply always arrives first.
pub(super) fn admit(shard: &Shard, msg: &Join, match_id: String, label: Option<String>) -> bool {
    let presence = &msg.presence;
    let mut table = shard.streams.borrow_mut();
    let newly = table.join(&msg.stream, presence.clone());
    let Some(m) = table.get(&msg.stream) else {
        return false;
    };
    let reply = Outgoing::Match(MatchOut {
        match_id: match_id.clone(),
        authoritative: label.is_some(),
        label,
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
        &msg.cid,
        &reply,
    );
    if newly {
        let event = Outgoing::MatchPresenceEvent(MatchPresenceEvent {
            match_id,
            joins: vec![presence.to_wire()],
            leaves: Vec::new(),
        });
        let frames = Frames::encode("", &event, m.wires());
        deliver::broadcast(shard, m.targets(), None, &frames);
    }
    newly
}

/// Relays match data: encoded once, delivered per shard.
pub(super) fn on_data(shard: &Shard, msg: Data) {
    if msg.stream.mode == crate::fanout::mode::MATCH_AUTHORITATIVE {
        return super::authoritative::on_data(shard, msg);
    }
    let table = shard.streams.borrow();
    let Some((m, sender)) = table
        .get(&msg.stream)
        .and_then(|m| Some((m, m.get(msg.sender)?.to_wire())))
    else {
        // No such match, or the sender is not a member: dropped without a
        // word, as Nakama does.
        return;
    };
    let out = Outgoing::MatchData(MatchData {
        match_id: match_id(&msg.stream.subject),
        presence: sender,
        op_code: msg.op_code,
        data: msg.data,
        reliable: msg.reliable,
    });
    let only = (!msg.only.is_empty()).then_some(&msg.only[..]);
    send_data(shard, m, &out, msg.reliable, Some(msg.sender), only);
}

/// Sends `match_data` `out` to every member but `except`, or only to the
/// members listed in `only` (`except` then does not apply): one encoding
/// per wire among them, one delivery per shard, sheddable past the mesh's
/// bound as all relayed data is.
pub(super) fn send_data(
    shard: &Shard,
    m: &Membership,
    out: &Outgoing,
    reliable: bool,
    except: Option<Uuid>,
    only: Option<&[Uuid]>,
) {
    let Some(only) = only else {
        let frames = Frames::encode_with("", out, m.wires(), reliable);
        deliver::broadcast_data(shard, m.targets(), except, &frames);
        return;
    };
    let chosen: Vec<&Presence> = m
        .members()
        .iter()
        .filter(|p| only.contains(&p.session_id))
        .collect();
    let wires: WireSet = chosen.iter().map(|p| p.wire).collect();
    let frames = Frames::encode_with("", out, wires, reliable);
    deliver::data_to_sessions(
        shard,
        chosen.iter().map(|p| (p.shard, p.session_id)),
        &frames,
    );
}
