//! Party matchmaking on the party's owner shard: the leader queues the
//! whole party as one ticket (`party_matchmaker_add`), or cancels it
//! (`party_matchmaker_remove`); a change of members or the party's end
//! withdraws its tickets, as Nakama's party handler does.
//!
//! Every request to the matchmaker thread is sent while the owner handles
//! the message, so the thread sees a party's add, removals and
//! withdrawals in the order the owner decided them (`crate::matchmaker`).

use std::collections::{BTreeMap, HashMap};

use kairos_core::matchmaker::{AddError, Presence as Queued, TicketSpec};
use kairos_schema::rtapi::{Outgoing, PartyMatchmakerTicket};
use uuid::Uuid;

use super::owner::{refuse, reply_empty, tell};
use super::party_id;
use crate::fanout::{Presence, StreamId};
use crate::rt;
use crate::shard::Shard;

/// What the leader asks of the matchmaker, counts already checked.
#[derive(Debug)]
pub struct TicketRequest {
    pub query: String,
    pub min_count: usize,
    pub max_count: usize,
    pub count_multiple: usize,
    pub string_properties: BTreeMap<String, String>,
    pub numeric_properties: BTreeMap<String, f64>,
}

/// Nakama's prefixes: a removal's errors read "Error closing party".
pub const ADD_PREFIX: &str = "Error adding party to matchmaker: ";
pub const REMOVE_PREFIX: &str = "Error closing party: ";

/// Nakama's `runtime.ErrMatchmaker*` text for a refused add.
fn add_error(e: &AddError) -> &'static str {
    match e {
        AddError::Query(_) => "matchmaker query invalid",
        AddError::TooManyTickets => "matchmaker too many tickets",
        AddError::PoolFull => "matchmaker not available",
        AddError::DuplicateId | AddError::NoPresence => "matchmaker index error",
    }
}

/// `party_matchmaker_add` from the leader `from`: one ticket holding every
/// member. The leader gets the ticket (`cid`), and every other member is
/// told it too.
pub(super) fn add(
    shard: &Shard,
    id: Uuid,
    stream: &StreamId,
    from: &Presence,
    cid: &str,
    request: TicketRequest,
) {
    let members: Vec<Presence> = shard
        .streams
        .borrow()
        .get(stream)
        .map(|m| m.members().to_vec())
        .unwrap_or_default();
    let node = &shard.shared.config.name;
    let party = party_id(stream);
    let spec = TicketSpec {
        presences: members
            .iter()
            .map(|p| Queued {
                session_id: p.session_id.to_string(),
                user_id: p.user_id.to_string(),
                username: p.username.clone(),
                node: node.clone(),
            })
            .collect(),
        session_id: String::new(),
        party_id: party.clone(),
        query: request.query,
        min_count: request.min_count,
        max_count: request.max_count,
        count_multiple: request.count_multiple,
        string_properties: request.string_properties,
        numeric_properties: request.numeric_properties,
    };
    let shards: HashMap<String, usize> = members
        .iter()
        .map(|p| (p.session_id.to_string(), p.shard))
        .collect();
    if let Some(p) = shard.features.parties.parties.borrow_mut().get_mut(&id) {
        p.queued = true;
    }
    let ticket = Uuid::new_v4().to_string();
    let answer = shard.shared.matchmaker.add(ticket.clone(), spec, shards);
    let (shard, from, cid) = (shard.rc(), from.clone(), cid.to_string());
    rt::spawn(async move {
        if let Err(e) = answer.await {
            if let AddError::Query(q) = &e {
                tracing::debug!(error = %q, "party matchmaker query does not parse");
            }
            return refuse(&shard, &from, &cid, ADD_PREFIX, add_error(&e));
        }
        let out = Outgoing::PartyMatchmakerTicket(PartyMatchmakerTicket {
            party_id: party,
            ticket,
        });
        tell(&shard, &from, &cid, &out);
        for m in members.iter().filter(|m| m.session_id != from.session_id) {
            tell(&shard, m, "", &out);
        }
    });
}

/// `party_matchmaker_remove` from the leader `from`: the party's ticket.
pub(super) fn remove(shard: &Shard, stream: &StreamId, from: &Presence, cid: &str, ticket: String) {
    let answer = shard
        .shared
        .matchmaker
        .remove_party(party_id(stream), ticket);
    let (shard, from, cid) = (shard.rc(), from.clone(), cid.to_string());
    rt::spawn(async move {
        match answer.await {
            Ok(()) => reply_empty(&shard, &from, &cid),
            Err(_) => refuse(
                &shard,
                &from,
                &cid,
                REMOVE_PREFIX,
                "matchmaker ticket not found",
            ),
        }
    });
}

/// The party's members changed (a join, an accepted request, a leave or
/// a removal) or it ended: every ticket it queued is withdrawn, since it
/// no longer holds who is in the party.
pub(super) fn members_changed(shard: &Shard, id: Uuid, stream: &StreamId) {
    let queued = shard
        .features
        .parties
        .parties
        .borrow_mut()
        .get_mut(&id)
        .is_some_and(|p| std::mem::take(&mut p.queued));
    if queued {
        shard.shared.matchmaker.remove_party_all(party_id(stream));
    }
}
