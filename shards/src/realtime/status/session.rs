//! Status's session side: runs on the shard of the session that asked,
//! forwards to each user's status owner, and gathers follow answers.

use futures_channel::oneshot;
use kairos_core::error::{ApiError, ApiResult};
use kairos_schema::rtapi::{
    ErrorCode, Outgoing, StatusFollow, StatusOut, StatusUnfollow, UserPresence,
};
use uuid::Uuid;

use super::{Answer, Follow, Follower, MAX_STATUS_LEN, Msg, owner_of};
use crate::fanout::group;
use crate::session::Session;
use crate::shard::Shard;

/// A follow answer being gathered on the follower's shard.
pub(super) struct PendingFollow {
    session: Uuid,
    cid: String,
    remaining: usize,
    presences: Vec<UserPresence>,
}

/// Shows the session's user online with `status` (`None` on connect).
pub fn track(shard: &Shard, session: &Session, status: Option<String>) {
    session.status_tracked.set(true);
    let presence = session.presence(shard.id, status);
    shard.send_to(owner_of(shard, session.user_id), Msg::Track { presence });
}

fn untrack(shard: &Shard, session: &Session) {
    if session.status_tracked.replace(false) {
        let msg = Msg::Untrack {
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
    session.send_empty_reply(cid);
}

/// `status_follow`: resolves the usernames through the store, then
/// follows every user named. Returns whether it was served without an
/// error.
pub async fn follow(shard: &Shard, session: &Session, cid: &str, m: StatusFollow) -> bool {
    let mut ids = match parse_user_ids(&m.user_ids) {
        Ok(ids) => ids,
        Err(e) => {
            session.send_envelope(cid, &e);
            return false;
        }
    };
    let usernames: Vec<String> = m.usernames.into_iter().filter(|u| !u.is_empty()).collect();
    if !usernames.is_empty() {
        let found = shard
            .shared
            .persist
            .run(move |store| async move { store.get_users(Vec::new(), usernames).await })
            .await;
        if session.is_closing() {
            return true;
        }
        match found {
            Ok(users) => ids.extend(users.into_iter().map(|u| u.id)),
            Err(e) => {
                session.send_envelope(
                    cid,
                    &Outgoing::error(ErrorCode::RuntimeException, e.message),
                );
                return false;
            }
        }
    }
    follow_ids(shard, session, cid, ids);
    true
}

/// Adds `users` to the session's follows, each user once, and groups
/// them by status owner; refused, following nobody, when they would take
/// the session past `kairos.session.max_streams`.
fn add_follows(
    shard: &Shard,
    session: &Session,
    mut users: Vec<Uuid>,
) -> Result<Vec<(usize, Vec<Uuid>)>, String> {
    users.sort_unstable();
    users.dedup();
    let max = shard.config().kairos.session.max_streams;
    let new = {
        let follows = session.follows.borrow();
        users.iter().filter(|u| !follows.contains(u)).count()
    };
    if session.stream_count() + new > max {
        // Each followed user is a status stream: nothing is followed.
        return Err(format!(
            "Following {new} more users would take this session past {max} streams, the most it may join (kairos.session.max_streams)."
        ));
    }
    {
        let mut follows = session.follows.borrow_mut();
        for u in &users {
            if !follows.contains(u) {
                follows.push(*u);
            }
        }
    }
    Ok(by_owner(shard, users))
}

/// Game code's follow or unfollow, on the shard of session `session_id`
/// if it is open here (`None` otherwise): as the session's own request,
/// without an answer to it. Returns the owners' answers to wait for.
pub(super) fn for_session(
    shard: &Shard,
    session_id: Uuid,
    users: Vec<Uuid>,
    follow: bool,
) -> Option<ApiResult<Vec<oneshot::Receiver<()>>>> {
    let session = shard.sessions.borrow().get(&session_id).cloned()?;
    if session.is_closing() {
        return Some(Ok(Vec::new()));
    }
    let mut answers = Vec::new();
    if !follow {
        session.follows.borrow_mut().retain(|u| !users.contains(u));
        for (owner, users) in by_owner(shard, users) {
            let (done, answer) = oneshot::channel();
            answers.push(answer);
            let msg = Msg::Unfollow {
                users,
                follower: session.id,
                done: Some(done),
            };
            shard.send_to(owner, msg);
        }
        return Some(Ok(answers));
    }
    let by_owner = match add_follows(shard, &session, users) {
        Ok(by_owner) => by_owner,
        Err(message) => return Some(Err(ApiError::invalid(message))),
    };
    let follower = Follower {
        session: session.id,
        shard: shard.id,
        wire: session.wire,
    };
    for (owner, users) in by_owner {
        let (done, answer) = oneshot::channel();
        answers.push(answer);
        shard.send_to(
            owner,
            Msg::Follow(Follow {
                users,
                follower,
                answer: Answer::Server(done),
            }),
        );
    }
    Some(Ok(answers))
}

/// Users grouped by the shard that owns their status.
fn by_owner(shard: &Shard, users: Vec<Uuid>) -> Vec<(usize, Vec<Uuid>)> {
    group::by_shard(users.into_iter().map(|u| (owner_of(shard, u), u)))
}

/// Follows users by id, once usernames are resolved.
fn follow_ids(shard: &Shard, session: &Session, cid: &str, users: Vec<Uuid>) {
    let by_owner = match add_follows(shard, session, users) {
        Ok(by_owner) => by_owner,
        Err(message) => {
            session.send_envelope(cid, &Outgoing::error(ErrorCode::BadInput, message));
            return;
        }
    };
    if by_owner.is_empty() {
        session.send_envelope(cid, &Outgoing::Status(StatusOut::default()));
        return;
    }
    let state = &shard.features.status;
    let request = state.next_request();
    state.pending.borrow_mut().insert(
        request,
        PendingFollow {
            session: session.id,
            cid: cid.to_string(),
            remaining: by_owner.len(),
            presences: Vec::new(),
        },
    );
    let follower = Follower {
        session: session.id,
        shard: shard.id,
        wire: session.wire,
    };
    for (owner, users) in by_owner {
        shard.send_to(
            owner,
            Msg::Follow(Follow {
                users,
                follower,
                answer: Answer::Session(request),
            }),
        );
    }
}

/// `status_unfollow`. Returns whether it was served without an error.
pub fn unfollow(shard: &Shard, session: &Session, cid: &str, m: StatusUnfollow) -> bool {
    let users = match parse_user_ids(&m.user_ids) {
        Ok(ids) => ids,
        Err(e) => {
            session.send_envelope(cid, &e);
            return false;
        }
    };
    session.follows.borrow_mut().retain(|u| !users.contains(u));
    unfollow_users(shard, session.id, users);
    session.send_empty_reply(cid);
    true
}

fn unfollow_users(shard: &Shard, follower: Uuid, users: Vec<Uuid>) {
    for (owner, users) in by_owner(shard, users) {
        let msg = Msg::Unfollow {
            users,
            follower,
            done: None,
        };
        shard.send_to(owner, msg);
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
pub(super) fn on_part(shard: &Shard, request: u64, presences: Vec<UserPresence>) {
    let mut pending = shard.features.status.pending.borrow_mut();
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

/// User ids of a status request; a malformed one is BAD_INPUT.
fn parse_user_ids(ids: &[String]) -> Result<Vec<Uuid>, Box<Outgoing>> {
    ids.iter()
        .map(|id| {
            Uuid::parse_str(id).map_err(|_| {
                Box::new(Outgoing::error(
                    ErrorCode::BadInput,
                    format!("Invalid user ID: {id}"),
                ))
            })
        })
        .collect()
}
