//! A match's session side: runs on the shard of the session that asked,
//! validates, and forwards to the match's owner.

use std::collections::BTreeMap;

use kairos_schema::rtapi::{ErrorCode, Incoming, MatchDataSend, Outgoing};
use uuid::Uuid;

use super::{BadMatchId, Data, Join, JoinKind, Msg, parse_match_id};
use crate::fanout::StreamId;
use crate::fanout::membership::{self, to_owner};
use crate::session::{JoinFlags, Session};
use crate::shard::Shard;

/// `match_create {name}`: a random id, or a deterministic one (UUIDv5 of the
/// name in the DNS namespace, as Nakama) so that everyone naming the same
/// match meets in it.
pub fn create(shard: &Shard, session: &Session, cid: &str, name: &str) {
    let id = if name.is_empty() {
        new_id(shard)
    } else {
        named_id(name)
    };
    join_stream(
        shard,
        session,
        cid,
        StreamId::relayed_match(id),
        JoinKind::Create,
        BTreeMap::new(),
    );
}

/// A named match's id.
fn named_id(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_DNS, name.as_bytes())
}

/// Draws per shard before an unnamed match's id is taken whatever shard
/// owns it: a draw hits a given shard of n with chance 1/n, so all miss
/// with chance (1 - 1/n)^(64n), under e^-64.
const LOCAL_ID_DRAWS: usize = 64;

/// A new unnamed match's id: random, and owned by this shard when
/// sessions move to their match's shard, so that its creator (whom
/// packing has already brought here, `crate::placement`) stays where it is
/// and its joiners come to it.
fn new_id(shard: &Shard) -> Uuid {
    if shard.moves_sessions() {
        id_owned_by(shard.id, shard.port.shards())
    } else {
        Uuid::new_v4()
    }
}

/// A random relayed match id that shard `owner` of `shards` owns (but
/// for a chance under e^-64). Takes `shards` draws on average.
pub fn id_owned_by(owner: usize, shards: usize) -> Uuid {
    let mut id = Uuid::new_v4();
    for _ in 1..LOCAL_ID_DRAWS * shards.max(1) {
        if StreamId::relayed_match(id).owner(shards) == owner {
            break;
        }
        id = Uuid::new_v4();
    }
    id
}

/// The relayed match a matchmaker token names, if the token is valid.
fn token_stream(shard: &Shard, token: &str) -> Option<StreamId> {
    let key = shard.shared.issuer.session_key();
    kairos_core::matchmaker::verify_token(key, token, kairos_core::time::now_secs())
        .ok()
        .and_then(|mid| parse_match_id(&mid, &shard.shared.config.name).ok())
        .filter(|stream| stream.mode == crate::fanout::mode::MATCH_RELAYED)
}

/// The shard a message should be served on, if it asks to join a match
/// (`match_join` with a match id or a matchmaker token, a named
/// `match_create`: the match's owner) or to make one (an unnamed
/// `match_create`: where packing places it, `crate::placement`): where a
/// session that may move goes before it is served. Asked once per message,
/// before it is served: for an unnamed `match_create` the answer counts
/// against the chosen shard's new matches this second.
pub fn shard_to_serve(shard: &Shard, message: &Incoming) -> Option<usize> {
    let stream = match message {
        Incoming::MatchJoin(m) if m.token.is_empty() => {
            parse_match_id(&m.match_id, &shard.shared.config.name).ok()
        }
        Incoming::MatchJoin(m) => token_stream(shard, &m.token),
        Incoming::MatchCreate(m) if !m.name.is_empty() => {
            Some(StreamId::relayed_match(named_id(&m.name)))
        }
        Incoming::MatchCreate(_) => return Some(shard.shared.placement.choose(shard.id)),
        _ => None,
    };
    stream.map(|s| s.owner(shard.port.shards()))
}

/// `match_join {match_id | token, metadata}`: a relayed or an
/// authoritative match (whose handler sees the metadata).
pub fn join(
    shard: &Shard,
    session: &Session,
    cid: &str,
    match_id: &str,
    token: &str,
    metadata: BTreeMap<String, String>,
) {
    if !token.is_empty() {
        // A matchmaker token: the relayed match it names is formed by the
        // first of its players to join (Nakama's allowEmpty).
        match token_stream(shard, token) {
            Some(stream) => join_stream(shard, session, cid, stream, JoinKind::Create, metadata),
            None => {
                session.send_envelope(
                    cid,
                    &Outgoing::error(ErrorCode::BadInput, "Invalid match token"),
                );
            }
        }
        return;
    }
    match parse_match_id(match_id, &shard.shared.config.name) {
        Ok(stream) => join_stream(shard, session, cid, stream, JoinKind::Join, metadata),
        Err(bad) => {
            let (code, msg) = bad.refusal();
            session.send_envelope(cid, &Outgoing::error(code, msg));
        }
    }
}

fn join_stream(
    shard: &Shard,
    session: &Session,
    cid: &str,
    stream: StreamId,
    kind: JoinKind,
    metadata: BTreeMap<String, String>,
) {
    if membership::refuse_over_limit(shard, session, cid, &stream, ErrorCode::MatchJoinRejected) {
        return;
    }
    let join = session.track_stream(stream.clone(), JoinFlags::default());
    let presence = session.presence(shard.id, None);
    to_owner(
        shard,
        &stream.clone(),
        Msg::Join(Join {
            stream,
            presence,
            cid: cid.to_string(),
            kind,
            join,
            metadata,
        }),
    );
}

/// `match_leave {match_id}`: answered at once; the owner tells the others.
///
/// As Nakama's pipeline (`matchLeave`), leaving always succeeds once the
/// id parses, whether or not the session was in the match: another node's
/// match, which this node cannot hold the session in, included. Only a
/// malformed id is refused (BAD_INPUT "Invalid match ID").
pub fn leave(shard: &Shard, session: &Session, cid: &str, match_id: &str) {
    match parse_match_id(match_id, &shard.shared.config.name) {
        Ok(stream) => {
            membership::leave(shard, session, stream);
            session.send_empty_reply(cid);
        }
        Err(BadMatchId::Elsewhere) => {
            session.send_empty_reply(cid);
        }
        Err(bad @ BadMatchId::Invalid) => {
            let (code, msg) = bad.refusal();
            session.send_envelope(cid, &Outgoing::error(code, msg));
        }
    }
}

/// `match_data_send`: a relayed match's data to every other member is
/// relayed from this shard ([`super::replica`]); data to chosen
/// presences, and an authoritative match's, is forwarded to the owner.
///
/// As Nakama's pipeline (`matchDataSend`), only a malformed match id is
/// answered (BAD_INPUT "Invalid match ID", without a `cid`); data for a
/// match the sender is not in, another node's match, or presences that are
/// not a user and session id pair is dropped without a word, wherever the
/// check is made.
pub fn send_data(shard: &Shard, session: &Session, msg: MatchDataSend) {
    // Nearly every message: data for every other member of a relayed
    // match, relayed from this shard. Anything else, a malformed id among
    // them, takes the general road below.
    if msg.presences.is_empty()
        && let Some(id) = super::relayed_match_uuid(&msg.match_id)
    {
        super::replica::relay(shard, session, id, msg);
        return;
    }
    let stream = match parse_match_id(&msg.match_id, &shard.shared.config.name) {
        Ok(parsed) => parsed,
        // Another node's authoritative match: the sender is not in it here.
        Err(BadMatchId::Elsewhere) => return,
        Err(bad @ BadMatchId::Invalid) => {
            let (code, text) = bad.refusal();
            session.send_envelope("", &Outgoing::error(code, text));
            return;
        }
    };
    let mut only = Vec::with_capacity(msg.presences.len());
    for p in &msg.presences {
        match (Uuid::parse_str(&p.user_id), Uuid::parse_str(&p.session_id)) {
            (Ok(_), Ok(s)) => only.push(s),
            _ => return,
        }
    }
    to_owner(
        shard,
        &stream.clone(),
        Msg::Data(Data {
            stream,
            sender: session.id,
            op_code: msg.op_code,
            data: msg.data,
            reliable: msg.reliable,
            only,
        }),
    );
}
