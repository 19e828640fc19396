//! Status's owner side: runs on the shard that owns a user's status, keeps
//! their status presences and followers, and tells the followers of every
//! change.

use std::collections::HashMap;

use kairos_schema::rtapi::{Outgoing, StatusPresenceEvent, UserPresence};
use uuid::Uuid;

use super::{Answer, Follow, Follower, Msg};
use crate::fanout::{Presence, deliver};
use crate::session::{Frames, WireSet};
use crate::shard::Shard;

/// One user's status, on its owner shard.
#[derive(Default)]
struct StatusEntry {
    presences: Vec<Presence>,
    followers: Vec<Follower>,
}

/// The users whose status this shard owns.
#[derive(Default)]
pub(super) struct StatusTable {
    users: HashMap<Uuid, StatusEntry>,
}

fn notify(shard: &Shard, entry: &StatusEntry, joins: Vec<UserPresence>, leaves: Vec<UserPresence>) {
    if entry.followers.is_empty() || (joins.is_empty() && leaves.is_empty()) {
        return;
    }
    let wires: WireSet = entry.followers.iter().map(|f| f.wire).collect();
    let event = Outgoing::StatusPresenceEvent(StatusPresenceEvent { joins, leaves });
    let frames = Frames::encode("", &event, wires);
    deliver::to_sessions(
        shard,
        entry.followers.iter().map(|f| (f.shard, f.session)),
        &frames,
    );
}

pub(super) fn on_track(shard: &Shard, presence: Presence) {
    let mut table = shard.features.status.table.borrow_mut();
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

pub(super) fn on_untrack(shard: &Shard, user: Uuid, session_id: Uuid) {
    let mut table = shard.features.status.table.borrow_mut();
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

pub(super) fn on_follow(shard: &Shard, msg: Follow) {
    let Follow {
        users,
        follower,
        answer,
    } = msg;
    let mut presences = Vec::new();
    {
        let mut table = shard.features.status.table.borrow_mut();
        for u in users {
            let entry = table.users.entry(u).or_default();
            if !entry
                .followers
                .iter()
                .any(|f| f.session == follower.session)
            {
                entry.followers.push(follower);
            }
            presences.extend(entry.presences.iter().map(Presence::to_wire));
        }
    }
    match answer {
        Answer::Session(request) => {
            shard.send_to(follower.shard, Msg::Part { request, presences });
        }
        Answer::Server(done) => {
            let _ = done.send(());
        }
    }
}

pub(super) fn on_unfollow(shard: &Shard, users: Vec<Uuid>, follower: Uuid) {
    let mut table = shard.features.status.table.borrow_mut();
    for u in users {
        if let Some(entry) = table.users.get_mut(&u) {
            entry.followers.retain(|f| f.session != follower);
            if entry.presences.is_empty() && entry.followers.is_empty() {
                table.users.remove(&u);
            }
        }
    }
}
