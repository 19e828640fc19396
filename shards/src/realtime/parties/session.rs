//! A party's session side: runs on the shard of the session that asked,
//! checks what needs no party (ids, presences, sizes, the session's own
//! bounds), and forwards to the party's owner. Creating a party needs no
//! hop: its id is one this shard owns.

use bytes::Bytes;
use kairos_core::matchmaker::validate_counts;
use kairos_schema::rtapi::{
    ErrorCode, Outgoing, PartyCreate, PartyDataSend, PartyMatchmakerAdd, PartyMatchmakerRemove,
    PartyMember, PartyUpdate,
};
use uuid::Uuid;

use super::matchmaking;
use super::party::{Settings, check_label};
use super::{Act, Action, BadId, MAX_SIZE, Msg, Outcome, parse_party_id};
use crate::fanout::membership::{self, to_owner};
use crate::fanout::{StreamId, mode};
use crate::session::{JoinFlags, Session};
use crate::shard::Shard;

fn error(session: &Session, cid: &str, text: impl Into<String>) {
    session.send_envelope(cid, &Outgoing::error(ErrorCode::BadInput, text));
}

/// The party a message names, or `None` once the session was told why
/// not ("Invalid party ID", or `prefix` + "party not found").
fn party(shard: &Shard, session: &Session, cid: &str, id: &str, prefix: &str) -> Option<StreamId> {
    match parse_party_id(id, &shard.shared.config.name) {
        Ok((_, stream)) => Some(stream),
        Err(BadId::Invalid) => {
            error(session, cid, "Invalid party ID");
            None
        }
        Err(BadId::NotFound) => {
            error(session, cid, format!("{prefix}party not found"));
            None
        }
    }
}

/// Whether asking for `stream` would take the session past
/// `kairos.session.max_parties` (or `max_streams`); answers it if so.
fn over_limit(shard: &Shard, session: &Session, cid: &str, stream: &StreamId) -> bool {
    let pending = shard.features.parties.pending.borrow();
    let waiting = pending.get(&session.id).map_or(&[][..], Vec::as_slice);
    if session.joined(stream).is_some() || waiting.contains(stream) {
        return false;
    }
    let parties = session.streams_of_mode(mode::PARTY)
        + waiting
            .iter()
            .filter(|s| session.joined(s).is_none())
            .count();
    let limit = shard.config().kairos.session.max_parties;
    drop(pending);
    if parties >= limit {
        error(
            session,
            cid,
            format!(
                "This session is already in or asking to join {limit} parties, the most it may (kairos.session.max_parties)."
            ),
        );
        return true;
    }
    membership::refuse_over_limit(shard, session, cid, stream, ErrorCode::BadInput)
}

/// `party_create {open, max_size, label, hidden}`: a party on this shard,
/// led by the session, which gets the party and then its own join event.
pub fn create(shard: &Shard, session: &Session, cid: &str, msg: PartyCreate) {
    if msg.max_size < 1 || msg.max_size > MAX_SIZE {
        error(session, cid, "Invalid party max size, must be 1-256");
        return;
    }
    if let Err(why) = check_label(&msg.label) {
        error(session, cid, format!("Error creating party: {why}"));
        return;
    }
    let node = shard.shared.config.name.clone();
    let shards = shard.port.shards();
    // A UUIDv7 this shard owns: the party starts here, and listings
    // order parties by creation.
    let (id, stream) = loop {
        let id = Uuid::now_v7();
        let stream = super::stream(id, &node);
        if stream.owner(shards) == shard.id {
            break (id, stream);
        }
    };
    if over_limit(shard, session, cid, &stream) {
        return;
    }
    session.track_stream(stream.clone(), JoinFlags::default());
    let settings = Settings {
        label: msg.label,
        open: msg.open,
        hidden: msg.hidden,
    };
    super::owner::create(
        shard,
        id,
        stream,
        session.presence(shard.id, None),
        cid,
        settings,
        msg.max_size as usize,
    );
}

/// `party_join {party_id}`: joins an open party, or asks a closed one's
/// leader. The session counts the party in before asking (invariant 9),
/// as a membership and as a request, until the owner says which.
pub fn join(shard: &Shard, session: &Session, cid: &str, party_id: &str) {
    let Some(stream) = party(shard, session, cid, party_id, "Error joining party: ") else {
        return;
    };
    let state = &shard.features.parties;
    if state
        .pending
        .borrow()
        .get(&session.id)
        .is_some_and(|w| w.contains(&stream))
    {
        error(
            session,
            cid,
            "Error joining party: party join request duplicate",
        );
        return;
    }
    if over_limit(shard, session, cid, &stream) {
        return;
    }
    state
        .pending
        .borrow_mut()
        .entry(session.id)
        .or_default()
        .push(stream.clone());
    let join = session.track_stream(stream.clone(), JoinFlags::default());
    to_owner(
        shard,
        &stream.clone(),
        Msg::Join(super::Join {
            stream,
            presence: session.presence(shard.id, None),
            cid: cid.to_string(),
            join,
        }),
    );
}

/// `party_leave {party_id}`: answered at once; the session stops asking
/// to join, or leaves, and the others hear of it.
pub fn leave(shard: &Shard, session: &Session, cid: &str, party_id: &str) {
    let stream = match parse_party_id(party_id, &shard.shared.config.name) {
        Ok((_, stream)) => stream,
        Err(BadId::Invalid) => return error(session, cid, "Invalid party ID"),
        // Not a party here: nothing to leave, as in Nakama.
        Err(BadId::NotFound) => {
            session.send_empty_reply(cid);
            return;
        }
    };
    shard.features.parties.forget_request(session.id, &stream);
    to_owner(
        shard,
        &stream.clone(),
        Msg::Withdraw {
            stream: stream.clone(),
            session_id: session.id,
        },
    );
    membership::leave(shard, session, stream);
    session.send_empty_reply(cid);
}

/// Nakama's check of a presence a request names.
fn valid_presence(m: &PartyMember) -> bool {
    let p = &m.presence;
    !(p.user_id.is_empty() || p.session_id.is_empty() || p.username.is_empty())
}

fn act(shard: &Shard, session: &Session, cid: &str, stream: StreamId, action: Action) {
    to_owner(
        shard,
        &stream.clone(),
        Msg::Act(Act {
            stream,
            from: session.presence(shard.id, None),
            cid: cid.to_string(),
            action,
        }),
    );
}

fn with_member(
    shard: &Shard,
    session: &Session,
    cid: &str,
    m: PartyMember,
    prefix: &str,
    action: fn(kairos_schema::rtapi::UserPresence) -> Action,
) {
    if !valid_presence(&m) {
        error(session, cid, "Invalid presence");
        return;
    }
    if let Some(stream) = party(shard, session, cid, &m.party_id, prefix) {
        act(shard, session, cid, stream, action(m.presence));
    }
}

/// `party_promote {party_id, presence}`: the leader names a new leader.
pub fn promote(shard: &Shard, session: &Session, cid: &str, m: PartyMember) {
    let prefix = "Error promoting new party leader: ";
    with_member(shard, session, cid, m, prefix, Action::Promote);
}

/// `party_accept {party_id, presence}`: the leader admits a requester.
pub fn accept(shard: &Shard, session: &Session, cid: &str, m: PartyMember) {
    let prefix = "Error accepting party join request: ";
    with_member(shard, session, cid, m, prefix, Action::Accept);
}

/// `party_remove {party_id, presence}`: the leader removes a member or
/// declines a request.
pub fn remove(shard: &Shard, session: &Session, cid: &str, m: PartyMember) {
    let prefix = "Error removing party member or join request: ";
    with_member(shard, session, cid, m, prefix, Action::Remove);
}

/// `party_close {party_id}`: the leader ends the party.
pub fn close(shard: &Shard, session: &Session, cid: &str, party_id: &str) {
    if let Some(stream) = party(shard, session, cid, party_id, "Error closing party: ") {
        act(shard, session, cid, stream, Action::Close);
    }
}

/// `party_join_request_list {party_id}`: the leader's pending requests.
pub fn join_request_list(shard: &Shard, session: &Session, cid: &str, party_id: &str) {
    let prefix = "Error listing party join requests: ";
    if let Some(stream) = party(shard, session, cid, party_id, prefix) {
        act(shard, session, cid, stream, Action::ListRequests);
    }
}

/// `party_data_send {party_id, op_code, data}`: to every other member;
/// answered once relayed. Its size is bounded by the envelope's
/// (`socket.max_message_size_bytes`).
pub fn send_data(shard: &Shard, session: &Session, cid: &str, msg: PartyDataSend) {
    let prefix = "Error sending party data: ";
    if let Some(stream) = party(shard, session, cid, &msg.party_id, prefix) {
        let data: Bytes = msg.data;
        let action = Action::Data {
            op_code: msg.op_code,
            data,
        };
        act(shard, session, cid, stream, action);
    }
}

/// `party_update {party_id, label, open, hidden}`: the leader's new
/// settings.
pub fn update(shard: &Shard, session: &Session, cid: &str, msg: PartyUpdate) {
    let prefix = "Error updating party: ";
    if msg.hidden && !(msg.label.is_empty() || msg.label == "{}") {
        error(
            session,
            cid,
            format!("{prefix}party is hidden and label is not empty, invalid operation"),
        );
        return;
    }
    let Some(stream) = party(shard, session, cid, &msg.party_id, prefix) else {
        return;
    };
    if let Err(why) = check_label(&msg.label) {
        error(session, cid, format!("{prefix}{why}"));
        return;
    }
    let settings = Settings {
        label: msg.label,
        open: msg.open,
        hidden: msg.hidden,
    };
    act(shard, session, cid, stream, Action::Update(settings));
}

/// `party_matchmaker_add {party_id, min_count, max_count, query,
/// properties, count_multiple}`: the leader queues the party. The counts
/// and properties are checked as a session's own `matchmaker_add` checks
/// them, then the party id, in Nakama's order.
pub fn matchmaker_add(shard: &Shard, session: &Session, cid: &str, m: PartyMatchmakerAdd) {
    let (min_count, max_count, count_multiple) = match validate_counts(
        i64::from(m.min_count),
        i64::from(m.max_count),
        m.count_multiple.map(i64::from),
    ) {
        Ok(counts) => counts,
        Err(e) => return error(session, cid, e.message()),
    };
    let refused = crate::realtime::matchmaker::session::properties_refused(
        &m.string_properties,
        &m.numeric_properties,
    );
    if let Some(why) = refused {
        return error(session, cid, why);
    }
    let Some(stream) = party(shard, session, cid, &m.party_id, matchmaking::ADD_PREFIX) else {
        return;
    };
    let request = matchmaking::TicketRequest {
        query: m.query,
        min_count,
        max_count,
        count_multiple,
        string_properties: m.string_properties,
        numeric_properties: m.numeric_properties,
    };
    act(
        shard,
        session,
        cid,
        stream,
        Action::MatchmakerAdd(Box::new(request)),
    );
}

/// `party_matchmaker_remove {party_id, ticket}`: the leader cancels the
/// party's ticket.
pub fn matchmaker_remove(shard: &Shard, session: &Session, cid: &str, m: PartyMatchmakerRemove) {
    if m.ticket.is_empty() {
        return error(session, cid, "Invalid matchmaker ticket");
    }
    let Some(stream) = party(shard, session, cid, &m.party_id, matchmaking::REMOVE_PREFIX) else {
        return;
    };
    act(
        shard,
        session,
        cid,
        stream,
        Action::MatchmakerRemove(m.ticket),
    );
}

/// On the joiner's shard: the owner settled join request `join`.
pub(super) fn on_settled(
    shard: &Shard,
    stream: &StreamId,
    session_id: Uuid,
    join: u64,
    outcome: Outcome,
) {
    if outcome != Outcome::Requested {
        shard.features.parties.forget_request(session_id, stream);
    }
    if outcome != Outcome::Member {
        let session = shard.sessions.borrow().get(&session_id).cloned();
        if let Some(s) = session {
            s.join_refused(stream, join);
        }
    }
}

/// On the requester's shard: the leader accepted it. A session still
/// waiting counts the party as joined; one that ended (or left) since
/// leaves it again.
pub(super) fn on_admitted(shard: &Shard, stream: StreamId, session_id: Uuid) {
    let waiting = shard
        .features
        .parties
        .pending
        .borrow()
        .get(&session_id)
        .is_some_and(|w| w.contains(&stream));
    let session = shard.sessions.borrow().get(&session_id).cloned();
    match session {
        Some(s) if waiting && !s.is_closing() => {
            shard.features.parties.forget_request(session_id, &stream);
            s.track_stream(stream, JoinFlags::default());
        }
        _ => {
            shard.features.parties.forget_request(session_id, &stream);
            to_owner(
                shard,
                &stream.clone(),
                crate::fanout::membership::Msg::Leave { stream, session_id },
            );
        }
    }
}
