//! Status: users appearing online and the sessions following them, as
//! Nakama's `status_follow`, `status_unfollow`, `status_update` and
//! `status_presence_event`.
//!
//! Each user's status is kept by the shard that owns the stream
//! `(1, <user id>, "", "")`: the user's status presences (one per session
//! connected with `status=true`, or after a `status_update`) and the
//! sessions following the user. A follow of several users asks each owner
//! for its part of the answer; the follower's shard gathers the parts and
//! replies once all are in.

use std::collections::HashMap;
use std::sync::Arc;

use kairos_schema::rtapi::{ErrorCode, Outgoing, StatusOut, StatusPresenceEvent, UserPresence};
use uuid::Uuid;

use super::deliver;
use crate::session::{Frames, Session, Wire, WireSet};
use crate::shard::{Shard, ShardMsg};
use crate::streams::{Presence, StreamId, mode};

/// Longest status text (Nakama's limit).
pub const MAX_STATUS_LEN: usize = 2048;

/// One user's status, on its owner shard.
#[derive(Default)]
pub struct StatusEntry {
    presences: Vec<Presence>,
    /// `(session, shard, wire)` of every follower.
    followers: Vec<(Uuid, usize, Wire)>,
}

/// The users whose status this shard owns.
#[derive(Default)]
pub struct StatusTable {
    users: HashMap<Uuid, StatusEntry>,
}

/// A follow answer being gathered on the follower's shard.
pub struct PendingFollow {
    session: Uuid,
    cid: String,
    remaining: usize,
    presences: Vec<UserPresence>,
}

fn owner_of(shard: &Shard, user: Uuid) -> usize {
    StreamId {
        mode: mode::STATUS,
        subject: user.to_string(),
        subcontext: String::new(),
        label: String::new(),
    }
    .owner(shard.port.shards())
}

fn empty_reply(session: &Session, cid: &str) {
    session.send_empty_reply(cid);
}

// ---- session side ----------------------------------------------------------

/// Shows the session's user online with `status` (`None` on connect).
pub fn track(shard: &Shard, session: &Session, status: Option<String>) {
    session.status_tracked.set(true);
    let presence = session.presence(shard.id, status);
    shard.send_to(
        owner_of(shard, session.user_id),
        ShardMsg::StatusTrack { presence },
    );
}

fn untrack(shard: &Shard, session: &Session) {
    if session.status_tracked.replace(false) {
        let msg = ShardMsg::StatusUntrack {
            user: session.user_id,
            session_id: session.id,
        };
        shard.send_to(owner_of(shard, session.user_id), msg);
    }
}

/// `status_update`: a status sets (or replaces) the presence; none hides it.
pub fn update(shard: &Shard, session: &Session, cid: &str, status: Option<String>) {
    match status {
        Some(s) if s.len() > MAX_STATUS_LEN => {
            session.send_envelope(
                cid,
                &Outgoing::error(
                    ErrorCode::BadInput,
                    "Status must be 2048 characters or less.",
                ),
            );
            return;
        }
        Some(s) => track(shard, session, Some(s)),
        None => untrack(shard, session),
    }
    empty_reply(session, cid);
}

/// `status_follow`, once usernames are resolved to ids.
pub fn follow(shard: &Shard, session: &Session, cid: &str, mut users: Vec<Uuid>) {
    users.sort_unstable();
    users.dedup();
    let max = shard.config().kairos.session.max_streams;
    let new = {
        let follows = session.follows.borrow();
        users.iter().filter(|u| !follows.contains(u)).count()
    };
    if session.stream_count() + new > max {
        // Each followed user is a status stream: nothing is followed.
        session.send_envelope(
            cid,
            &Outgoing::error(
                ErrorCode::BadInput,
                format!(
                    "Following {new} more users would take this session past {max} streams, the most it may join (kairos.session.max_streams)."
                ),
            ),
        );
        return;
    }
    {
        let mut follows = session.follows.borrow_mut();
        for u in &users {
            if !follows.contains(u) {
                follows.push(*u);
            }
        }
    }
    let mut by_owner: HashMap<usize, Vec<Uuid>> = HashMap::new();
    for u in users {
        by_owner.entry(owner_of(shard, u)).or_default().push(u);
    }
    if by_owner.is_empty() {
        session.send_envelope(cid, &Outgoing::Status(StatusOut::default()));
        return;
    }
    let request = shard.next_request();
    shard.pending_follows.borrow_mut().insert(
        request,
        PendingFollow {
            session: session.id,
            cid: cid.to_string(),
            remaining: by_owner.len(),
            presences: Vec::new(),
        },
    );
    for (owner, users) in by_owner {
        shard.send_to(
            owner,
            ShardMsg::StatusFollow {
                users,
                follower: session.id,
                follower_shard: shard.id,
                follower_wire: session.wire,
                request,
            },
        );
    }
}

/// `status_unfollow`.
pub fn unfollow(shard: &Shard, session: &Session, cid: &str, users: Vec<Uuid>) {
    session.follows.borrow_mut().retain(|u| !users.contains(u));
    unfollow_users(shard, session.id, users);
    empty_reply(session, cid);
}

fn unfollow_users(shard: &Shard, follower: Uuid, users: Vec<Uuid>) {
    let mut by_owner: HashMap<usize, Vec<Uuid>> = HashMap::new();
    for u in users {
        by_owner.entry(owner_of(shard, u)).or_default().push(u);
    }
    for (owner, users) in by_owner {
        shard.send_to(owner, ShardMsg::StatusUnfollow { users, follower });
    }
}

/// A closing session goes offline and stops following.
pub fn on_close(shard: &Shard, session: &Session) {
    untrack(shard, session);
    let follows = std::mem::take(&mut *session.follows.borrow_mut());
    if !follows.is_empty() {
        unfollow_users(shard, session.id, follows);
    }
}

/// A part of a follow answer arrived.
pub fn on_part(shard: &Shard, request: u64, presences: Vec<UserPresence>) {
    let mut pending = shard.pending_follows.borrow_mut();
    let Some(p) = pending.get_mut(&request) else {
        return;
    };
    p.presences.extend(presences);
    p.remaining -= 1;
    if p.remaining > 0 {
        return;
    }
    let Some(done) = pending.remove(&request) else {
        return;
    };
    drop(pending);
    let session = shard.sessions.borrow().get(&done.session).cloned();
    if let Some(s) = session {
        s.send_envelope(
            &done.cid,
            &Outgoing::Status(StatusOut {
                presences: done.presences,
            }),
        );
    }
}

// ---- owner side ------------------------------------------------------------

fn notify(shard: &Shard, entry: &StatusEntry, joins: Vec<UserPresence>, leaves: Vec<UserPresence>) {
    if entry.followers.is_empty() || (joins.is_empty() && leaves.is_empty()) {
        return;
    }
    let wires: WireSet = entry.followers.iter().map(|(_, _, w)| *w).collect();
    let event = Outgoing::StatusPresenceEvent(StatusPresenceEvent { joins, leaves });
    let frames = Frames::encode("", &event, wires);
    let mut by_shard: HashMap<usize, Vec<Uuid>> = HashMap::new();
    for (session, s, _) in &entry.followers {
        by_shard.entry(*s).or_default().push(*session);
    }
    for (s, sessions) in by_shard {
        deliver::to_shard(shard, s, Arc::from(sessions), None, frames.clone());
    }
}

pub fn on_track(shard: &Shard, presence: Presence) {
    let mut table = shard.status.borrow_mut();
    let entry = table.users.entry(presence.user_id).or_default();
    let mut leaves = Vec::new();
    if let Some(i) = entry
        .presences
        .iter()
        .position(|p| p.session_id == presence.session_id)
    {
        leaves.push(entry.presences.remove(i).to_wire());
    }
    let joins = vec![presence.to_wire()];
    entry.presences.push(presence);
    notify(shard, entry, joins, leaves);
}

pub fn on_untrack(shard: &Shard, user: Uuid, session_id: Uuid) {
    let mut table = shard.status.borrow_mut();
    let Some(entry) = table.users.get_mut(&user) else {
        return;
    };
    let Some(i) = entry
        .presences
        .iter()
        .position(|p| p.session_id == session_id)
    else {
        return;
    };
    let gone = entry.presences.remove(i).to_wire();
    notify(shard, entry, Vec::new(), vec![gone]);
    if entry.presences.is_empty() && entry.followers.is_empty() {
        table.users.remove(&user);
    }
}

pub fn on_follow(
    shard: &Shard,
    users: Vec<Uuid>,
    follower: Uuid,
    follower_shard: usize,
    follower_wire: Wire,
    request: u64,
) {
    let mut presences = Vec::new();
    {
        let mut table = shard.status.borrow_mut();
        for u in users {
            let entry = table.users.entry(u).or_default();
            if !entry.followers.iter().any(|(s, _, _)| *s == follower) {
                entry
                    .followers
                    .push((follower, follower_shard, follower_wire));
            }
            presences.extend(entry.presences.iter().map(Presence::to_wire));
        }
    }
    shard.send_to(follower_shard, ShardMsg::StatusPart { request, presences });
}

pub fn on_unfollow(shard: &Shard, users: Vec<Uuid>, follower: Uuid) {
    let mut table = shard.status.borrow_mut();
    for u in users {
        if let Some(entry) = table.users.get_mut(&u) {
            entry.followers.retain(|(s, _, _)| *s != follower);
            if entry.presences.is_empty() && entry.followers.is_empty() {
                table.users.remove(&u);
            }
        }
    }
}
