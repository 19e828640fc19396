//! `matchmaker_add` and `matchmaker_remove`: validated on the session's
//! shard with Nakama's messages, then answered by the matchmaker thread.

use std::collections::{BTreeMap, HashMap};

use kairos_core::matchmaker::{AddError, Presence, TicketSpec, validate_counts};
use kairos_schema::rtapi::{ErrorCode, MatchmakerAdd, MatchmakerTicket, Outgoing};
use uuid::Uuid;

use crate::session::Session;
use crate::shard::Shard;

/// Property names and string values longer than this are refused
/// (BAD_INPUT), as are more than [`MAX_PROPERTIES`] properties: Kairos's
/// bounds on what a ticket holds (Nakama has none).
pub const MAX_PROPERTY_BYTES: usize = 256;
pub const MAX_PROPERTIES: usize = 64;

/// `matchmaker_add`. Returns whether it succeeded.
pub async fn add(shard: &Shard, session: &Session, cid: &str, m: MatchmakerAdd) -> bool {
    let (min_count, max_count, count_multiple) = match validate_counts(
        i64::from(m.min_count),
        i64::from(m.max_count),
        m.count_multiple.map(i64::from),
    ) {
        Ok(counts) => counts,
        Err(e) => return refuse(session, cid, ErrorCode::BadInput, e.message()),
    };
    if let Some(why) = properties_refused(&m.string_properties, &m.numeric_properties) {
        return refuse(session, cid, ErrorCode::BadInput, why);
    }
    let session_id = session.id.to_string();
    let spec = TicketSpec {
        presences: vec![Presence {
            session_id: session_id.clone(),
            user_id: session.user_id.to_string(),
            username: session.username.clone(),
            node: shard.shared.config.name.clone(),
        }],
        session_id: session_id.clone(),
        party_id: String::new(),
        query: m.query,
        min_count,
        max_count,
        count_multiple,
        string_properties: m.string_properties,
        numeric_properties: m.numeric_properties,
    };
    let ticket = Uuid::new_v4().to_string();
    let shards = HashMap::from([(session_id, shard.id)]);
    // Before the add: a close racing it still reaches the thread after it.
    session.matchmaking.set(true);
    session.tickets.borrow_mut().push(ticket.clone());
    let added = shard
        .shared
        .matchmaker
        .add(ticket.clone(), spec, shards)
        .await;
    if added.is_err() {
        session.tickets.borrow_mut().retain(|t| *t != ticket);
    }
    match added {
        Ok(()) => {
            session.send_envelope(
                cid,
                &Outgoing::MatchmakerTicket(MatchmakerTicket { ticket }),
            );
            true
        }
        Err(e) => {
            if let AddError::Query(q) = &e {
                tracing::debug!(error = %q, "matchmaker query does not parse");
            }
            refuse(session, cid, ErrorCode::RuntimeException, e.message())
        }
    }
}

/// `matchmaker_remove`. Returns whether it succeeded.
pub async fn remove(shard: &Shard, session: &Session, cid: &str, ticket: String) -> bool {
    if ticket.is_empty() {
        return refuse(
            session,
            cid,
            ErrorCode::BadInput,
            "Invalid matchmaker ticket",
        );
    }
    let removed = shard
        .shared
        .matchmaker
        .remove_session(session.id.to_string(), ticket.clone())
        .await;
    // Removed now, or gone already (matched, or never its own).
    session.tickets.borrow_mut().retain(|t| *t != ticket);
    match removed {
        Ok(()) => {
            session.send_empty_reply(cid);
            true
        }
        Err(_) => refuse(
            session,
            cid,
            ErrorCode::BadInput,
            "Matchmaker ticket not found",
        ),
    }
}

/// Why a ticket's properties are refused, if they are.
pub(crate) fn properties_refused(
    strings: &BTreeMap<String, String>,
    numbers: &BTreeMap<String, f64>,
) -> Option<&'static str> {
    if strings.len() + numbers.len() > MAX_PROPERTIES {
        return Some("Too many matchmaker properties");
    }
    let long = |k: &String| k.len() > MAX_PROPERTY_BYTES;
    if strings.keys().any(long) || numbers.keys().any(long) || strings.values().any(long) {
        return Some("Matchmaker property too long");
    }
    if numbers.values().any(|v| !v.is_finite()) {
        return Some("Matchmaker numeric property must be finite");
    }
    None
}

fn refuse(session: &Session, cid: &str, code: ErrorCode, message: &str) -> bool {
    session.send_envelope(cid, &Outgoing::error(code, message));
    false
}
