//! Notifications: the server-side API that sends them, and their live
//! delivery.
//!
//! [`send`] is what features call (friends, direct messages, and later the
//! runtime and groups): it stores the persistent notifications in one
//! transaction, then pushes every notification to each live socket of its
//! user, whichever shard it is on. Sockets are found through the global
//! session registry, a rare lookup that is not on the match-message path.
//! Each user's notifications travel as one `notifications` envelope,
//! encoded once, with one delivery per shard that holds that user's
//! sockets. Notifications keep no shard state and send no shard message
//! of their own: the delivery is the fan-out's (`ShardMsg::Deliver`).

use kairos_core::error::ApiResult;
use kairos_core::notification::{self, Notification};
use kairos_core::time::rfc3339_micros;
use kairos_schema::api;
use kairos_schema::rtapi::{NotificationsOut, Outgoing};
use uuid::Uuid;

use crate::fanout::deliver;
use crate::rt;
use crate::session::{Frames, WireSet};
use crate::shard::Shard;

/// A notification as clients see it.
pub fn to_wire(n: &Notification) -> api::Notification {
    api::Notification {
        id: n.id.to_string(),
        subject: n.subject.clone(),
        content: n.content.clone(),
        code: n.code,
        sender_id: n.sender_id.map(|s| s.to_string()).unwrap_or_default(),
        create_time: rfc3339_micros(n.create_time),
        persistent: n.persistent,
    }
}

/// The `notifications` envelope carrying `notes`.
pub fn message(notes: &[Notification]) -> Outgoing {
    Outgoing::Notifications(NotificationsOut {
        notifications: notes.iter().map(to_wire).collect(),
    })
}

/// The notice a session closed by `session.single_socket` gets before it
/// closes (code -7, not stored).
pub fn single_socket(user: Uuid) -> Outgoing {
    message(&[Notification {
        id: Uuid::new_v4(),
        user_id: user,
        subject: "single_socket".into(),
        content: "{}".into(),
        code: notification::code::SINGLE_SOCKET,
        sender_id: None,
        create_time: kairos_core::time::now_micros(),
        persistent: false,
    }])
}

/// The notice a session closed by a ban gets before it closes (code -8,
/// subject `banned`, not stored), as Nakama sends it.
pub fn banned(user: Uuid) -> Outgoing {
    message(&[Notification {
        id: Uuid::new_v4(),
        user_id: user,
        subject: "banned".into(),
        content: "{}".into(),
        code: notification::code::USER_BANNED,
        sender_id: None,
        create_time: kairos_core::time::now_micros(),
        persistent: false,
    }])
}

/// Stores the persistent notifications, then delivers all of them live.
/// Nothing is delivered when storing fails, so a client never sees a
/// notification it cannot list afterwards.
pub async fn send(shard: &Shard, notes: Vec<Notification>) -> ApiResult<()> {
    for n in &notes {
        n.validate()?;
    }
    let keep: Vec<Notification> = notes.iter().filter(|n| n.persistent).cloned().collect();
    if !keep.is_empty() {
        shard
            .shared
            .persist
            .run(move |store| async move { store.save_notifications(keep).await })
            .await?;
    }
    deliver_live(shard, &notes);
    Ok(())
}

/// [`send`] in the background, for callers that must not wait (handlers
/// running on a stream's owner). Failures are logged.
pub fn send_later(shard: &Shard, notes: Vec<Notification>) {
    let shard = shard.rc();
    rt::spawn(async move {
        if let Err(e) = send(&shard, notes).await {
            tracing::warn!(error = %e, "sending notifications failed");
        }
    });
}

/// Users whose notifications one batch of [`send_all_later`] stores.
const SEND_ALL_BATCH: usize = 10_000;

/// Sends `template` to every user, as Nakama's `NotificationSendAll`: a
/// persistent one is stored for each user (with its own id), in batches
/// of users in id order, and delivered to those online; the batches run
/// in the background (failures are logged). One that is not persistent
/// goes only to the users connected now, at once.
pub fn send_all_later(shard: &Shard, template: Notification) {
    let copy_for = |user_id: Uuid| Notification {
        id: Uuid::new_v4(),
        user_id,
        ..template.clone()
    };
    if !template.persistent {
        let notes: Vec<Notification> = shard
            .shared
            .registry
            .connected_users()
            .into_iter()
            .map(copy_for)
            .collect();
        deliver_live(shard, &notes);
        return;
    }
    let shard = shard.rc();
    rt::spawn(async move {
        let mut after = Uuid::nil();
        loop {
            let page = shard
                .shared
                .persist
                .run(move |store| async move { store.user_ids_after(after, SEND_ALL_BATCH).await })
                .await;
            let ids = match page {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "listing users to notify failed");
                    return;
                }
            };
            let Some(last) = ids.last().copied() else {
                return;
            };
            let full = ids.len() == SEND_ALL_BATCH;
            let notes: Vec<Notification> = ids
                .into_iter()
                .map(|user_id| Notification {
                    id: Uuid::new_v4(),
                    user_id,
                    ..template.clone()
                })
                .collect();
            if let Err(e) = send(&shard, notes).await {
                tracing::warn!(error = %e, "sending notifications to all failed");
                return;
            }
            if !full {
                return;
            }
            after = last;
        }
    });
}

/// Pushes notifications to their users' live sockets.
pub fn deliver_live(shard: &Shard, notes: &[Notification]) {
    // Per user, in the order given.
    let mut users: Vec<(Uuid, Vec<Notification>)> = Vec::new();
    for n in notes {
        match users.iter_mut().find(|(u, _)| *u == n.user_id) {
            Some((_, v)) => v.push(n.clone()),
            None => users.push((n.user_id, vec![n.clone()])),
        }
    }
    for (user, notes) in users {
        let sessions = shard.shared.registry.sessions_of(user);
        if sessions.is_empty() {
            continue;
        }
        let wires: WireSet = sessions.iter().map(|s| s.wire).collect();
        let frames = Frames::encode("", &message(&notes), wires);
        deliver::to_sessions(
            shard,
            sessions.iter().map(|s| (s.shard, s.session_id)),
            &frames,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape() {
        let n = Notification {
            id: Uuid::nil(),
            user_id: Uuid::new_v4(),
            subject: "s".into(),
            content: "{}".into(),
            code: -2,
            sender_id: None,
            create_time: 1_000_000,
            persistent: false,
        };
        let json = String::from_utf8(
            Outgoing::Notifications(NotificationsOut {
                notifications: vec![to_wire(&n)],
            })
            .to_json(""),
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"notifications":{"notifications":[{"id":"00000000-0000-0000-0000-000000000000","subject":"s","content":"{}","code":-2,"create_time":"1970-01-01T00:00:01Z"}]}}"#
        );
    }
}
