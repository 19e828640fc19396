//! What a committed friend change leaves to do, for both callers (REST in
//! `http/handlers/friends.rs`, game code in `Nk::friends_*`): the social
//! notifications an add or a delete calls for (codes -2, -3 and -9), and
//! the direct conversations a block ends.

use kairos_core::friend::FriendAdded;
use kairos_core::notification::{Notification, code};
use uuid::Uuid;

use crate::realtime::{chat, notifications};
use crate::shard::Shard;

/// Sends social notifications; a failure is logged, not reported, since the
/// friend change itself is done (Nakama does the same).
async fn notify(shard: &Shard, notes: Vec<Notification>) {
    if notes.is_empty() {
        return;
    }
    if let Err(e) = notifications::send(shard, notes).await {
        tracing::warn!(error = %e, "friend notifications failed");
    }
}

/// `user` (named `name`) added these users: each hears of an invite, or
/// of the acceptance of their own invite.
pub async fn after_add(shard: &Shard, user: Uuid, name: &str, added: Vec<FriendAdded>) {
    let notes = added
        .into_iter()
        .map(|a| {
            let (code, subject) = if a.accepted {
                (
                    code::FRIEND_ACCEPT,
                    format!("{name} accepted your friend request"),
                )
            } else {
                (
                    code::FRIEND_REQUEST,
                    format!("{name} wants to add you as a friend"),
                )
            };
            Notification::social(a.user_id, code, subject, user, name)
        })
        .collect();
    notify(shard, notes).await;
}

/// `user` (named `name`) removed these users, who are told so.
pub async fn after_delete(shard: &Shard, user: Uuid, name: &str, removed: Vec<Uuid>) {
    let notes = removed
        .into_iter()
        .map(|other| {
            Notification::social(
                other,
                code::FRIEND_REMOVE,
                format!("{name} removed you as a friend"),
                user,
                name,
            )
        })
        .collect();
    notify(shard, notes).await;
}

/// `user` blocked these users: any direct conversation with them ends.
pub fn after_block(shard: &Shard, user: Uuid, blocked: Vec<Uuid>) {
    for other in blocked {
        chat::close_direct(shard, user, other);
    }
}
