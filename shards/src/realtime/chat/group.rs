//! A group's channel as group changes touch it: once a change commits,
//! its membership messages are relayed to the channel's members, users who
//! are no longer members leave the channel, and the notifications are
//! sent ("group add", -4, to users an admin added; "join request", -5, to
//! the admins of a closed group). The REST calls and game code share it.

use kairos_core::group::{Changes, Joined, Left};
use kairos_core::notification::{Notification, code};
use kairos_core::time::now_micros;
use uuid::Uuid;

use crate::realtime::notifications;
use crate::shard::Shard;

/// Sends notifications; a failure is logged, not reported, since the
/// change itself is done (Nakama does the same).
async fn notify(shard: &Shard, notes: Vec<Notification>) {
    if notes.is_empty() {
        return;
    }
    if let Err(e) = notifications::send(shard, notes).await {
        tracing::warn!(error = %e, "group notifications failed");
    }
}

/// What a committed membership change leaves to do: relay its messages,
/// remove users who are no longer members from the channel, and tell
/// added users. `sender` is who acted (none for game code).
pub async fn after_change(shard: &Shard, group: Uuid, sender: Option<Uuid>, changes: Changes) {
    super::relay_group(shard, group, &changes.messages, changes.removed);
    let content = serde_json::json!({ "group_id": group.to_string(), "name": changes.group_name })
        .to_string();
    let notes = changes
        .added
        .into_iter()
        .map(|user| Notification {
            id: Uuid::new_v4(),
            user_id: user,
            subject: format!("You've been added to group {}", changes.group_name),
            content: content.clone(),
            code: code::GROUP_ADD,
            sender_id: sender,
            create_time: now_micros(),
            persistent: true,
        })
        .collect();
    notify(shard, notes).await;
}

/// What a join leaves to do: relay the join message, or tell the admins
/// of a closed group of the request.
pub async fn after_join(shard: &Shard, group: Uuid, user: Uuid, username: &str, joined: Joined) {
    match joined {
        Joined::Member(m) => super::relay_group(shard, group, &[m], Vec::new()),
        Joined::Requested { admins } => {
            let content =
                serde_json::json!({ "group_id": group.to_string(), "username": username })
                    .to_string();
            let notes = admins
                .into_iter()
                .map(|admin| Notification {
                    id: Uuid::new_v4(),
                    user_id: admin,
                    subject: format!("User {username} wants to join your group"),
                    content: content.clone(),
                    code: code::GROUP_JOIN_REQUEST,
                    sender_id: Some(user),
                    create_time: now_micros(),
                    persistent: true,
                })
                .collect();
            notify(shard, notes).await;
        }
        Joined::Unchanged => {}
    }
}

/// What a leave leaves to do: relay the leave and take the user's
/// sessions out of the channel, or end a deleted group's channel.
pub fn after_leave(shard: &Shard, group: Uuid, user: Uuid, left: Left) {
    match left {
        Left::Member(m) => super::relay_group(shard, group, &[m], vec![user]),
        Left::Deleted => super::close_group(shard, group),
        Left::Unchanged => {}
    }
}
