//! A pass's matches, on the shards. Each shard drains its inbox from the
//! matchmaker thread ([`drain`]); a group reaches the shard of its first
//! player, which runs the matched hook or mints a token ([`run_group`])
//! and tells each matched session, locally or through the mesh
//! ([`tell_local`] on each shard).

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;
use kairos_core::matchmaker::sign_token;
use kairos_core::time::now_secs;
use kairos_schema::rtapi::{MatchmakerMatched, MatchmakerUser, Outgoing, UserPresence};
use uuid::Uuid;

use super::{Msg, Outcome};
use crate::matchmaker::{Group, GroupEntry, Inbox};
use crate::modules::{CallMode, Context, MatchmakerEntry, guard};
use crate::rt;
use crate::shard::Shard;

/// Serves the groups the matchmaker thread hands this shard, until it
/// stops.
pub async fn drain(shard: Rc<Shard>, mut inbox: Inbox) {
    while let Some(group) = inbox.next().await {
        let shard = shard.clone();
        rt::spawn(async move { run_group(shard, group).await });
    }
}

/// Decides how `group` meets (the hook's match or a token), then tells
/// every member's shard.
async fn run_group(shard: Rc<Shard>, group: Group) {
    let outcome = match shard.shared.modules.matchmaker_matched().cloned() {
        Some(hook) => {
            let entries = group.entries.iter().map(hook_entry).collect();
            let ctx = Context::for_server(shard.clone(), CallMode::Matchmaker);
            let deadline = Duration::from_millis(shard.config().kairos.runtime.rpc_timeout_ms);
            match guard::run(hook.call(ctx, entries), deadline).await {
                Ok(Ok(Some(id))) if !id.is_empty() => Some(Outcome::MatchId(id)),
                Ok(Ok(_)) => None,
                Ok(Err(e)) => {
                    tracing::error!(error = %e.message, "matchmaker matched hook failed");
                    None
                }
                Err(failure) => {
                    tracing::error!(?failure, "matchmaker matched hook failed");
                    None
                }
            }
        }
        None => None,
    };
    let outcome = outcome.unwrap_or_else(|| {
        let match_id = format!("{}.", relayed_match_id(&shard));
        Outcome::Token(sign_token(
            shard.shared.issuer.session_key(),
            &match_id,
            now_secs(),
        ))
    });
    let group = Arc::new(group);
    let mut shards: Vec<usize> = group.entries.iter().map(|e| e.shard).collect();
    shards.sort_unstable();
    shards.dedup();
    for to in shards {
        if to == shard.id {
            tell_local(&shard, &group, &outcome);
        } else {
            shard.send_to(
                to,
                Msg::Matched {
                    group: group.clone(),
                    outcome: outcome.clone(),
                },
            );
        }
    }
}

/// The id of the relayed match a token names: one the shard that packing
/// chooses owns, so that the matched players, who move to their match's
/// shard as they join, fill the first shard with room
/// (`crate::placement`); random where sessions do not move.
fn relayed_match_id(shard: &Shard) -> Uuid {
    if shard.moves_sessions() && shard.shared.placement.packs() {
        let to = shard.shared.placement.choose(shard.id);
        crate::realtime::matches::id_owned_by(to, shard.port.shards())
    } else {
        Uuid::new_v4()
    }
}

/// Sends `matchmaker_matched` to this shard's sessions of `group`.
pub fn tell_local(shard: &Shard, group: &Group, outcome: &Outcome) {
    let users: Vec<MatchmakerUser> = group.entries.iter().map(user).collect();
    let (match_id, token) = match outcome {
        Outcome::MatchId(id) => (id.clone(), String::new()),
        Outcome::Token(t) => (String::new(), t.clone()),
    };
    for e in group.entries.iter().filter(|e| e.shard == shard.id) {
        let Ok(id) = Uuid::parse_str(&e.presence.session_id) else {
            continue;
        };
        let Some(session) = shard.sessions.borrow().get(&id).cloned() else {
            continue; // closed since the pass
        };
        session.tickets.borrow_mut().retain(|t| *t != e.ticket);
        session.send_envelope(
            "",
            &Outgoing::MatchmakerMatched(MatchmakerMatched {
                ticket: e.ticket.clone(),
                match_id: match_id.clone(),
                token: token.clone(),
                users: users.clone(),
                self_: user(e),
            }),
        );
    }
}

fn user(e: &GroupEntry) -> MatchmakerUser {
    MatchmakerUser {
        presence: UserPresence {
            user_id: e.presence.user_id.clone(),
            session_id: e.presence.session_id.clone(),
            username: e.presence.username.clone(),
            persistence: false,
            status: None,
        },
        party_id: e.party_id.clone(),
        string_properties: e.string_properties.clone(),
        numeric_properties: e.numeric_properties.clone(),
    }
}

fn hook_entry(e: &GroupEntry) -> MatchmakerEntry {
    MatchmakerEntry {
        ticket: e.ticket.clone(),
        user_id: e.presence.user_id.clone(),
        session_id: e.presence.session_id.clone(),
        username: e.presence.username.clone(),
        node: e.presence.node.clone(),
        party_id: e.party_id.clone(),
        string_properties: e.string_properties.clone(),
        numeric_properties: e.numeric_properties.clone(),
        create_time_ms: e.created_at_ms,
    }
}
