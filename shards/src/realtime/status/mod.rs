//! Status: users appearing online and the sessions following them, as
//! Nakama's `status_follow`, `status_unfollow`, `status_update` and
//! `status_presence_event`.
//!
//! Each user's status is kept by the shard that owns the stream
//! `(1, <user id>, "", "")`, in that shard's [`State`] (the owner side,
//! [`owner`]): the user's status presences (one per session connected with
//! `status=true`, or after a `status_update`) and the sessions following
//! the user. A follow of several users asks each owner for its part of the
//! answer; the follower's shard gathers the parts in its own [`State`] and
//! replies once all are in (the session side, [`session`]).

mod owner;
mod session;

pub use session::{follow, on_close, track, unfollow, update};

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use futures_channel::oneshot;
use kairos_core::error::{ApiError, ApiResult};
use kairos_schema::rtapi::UserPresence;
use uuid::Uuid;

use crate::fanout::{Presence, StreamId, mode};
use crate::session::Wire;
use crate::shard::{Shard, ShardMsg};

/// Longest status text (Nakama's limit).
pub const MAX_STATUS_LEN: usize = 2048;

/// What the status feature asks another shard.
#[derive(Debug)]
pub enum Msg {
    /// To a user's status owner: show (or replace) this status presence.
    Track { presence: Presence },
    /// To a user's status owner: this session no longer shows the user
    /// online.
    Untrack { user: Uuid, session_id: Uuid },
    /// To the status owner of some users: add a follower and answer.
    Follow(Follow),
    /// To a follower's shard: one owner's part of a follow answer.
    Part {
        request: u64,
        presences: Vec<UserPresence>,
    },
    /// To the status owner of `users`: stop sending `follower` their
    /// events (then answer `done`, for game code's unfollow).
    Unfollow {
        users: Vec<Uuid>,
        follower: Uuid,
        done: Option<oneshot::Sender<()>>,
    },
    /// To every shard, from game code: the shard holding session
    /// `session_id` makes it follow (or unfollow) `users`, and answers
    /// `Some` with the outcome (the owners' answers to wait for); the
    /// others answer `None`.
    ForSession(ForSession),
}

/// Game code's `status_follow` or `status_unfollow` of a session on any
/// shard.
#[derive(Debug)]
pub struct ForSession {
    pub session_id: Uuid,
    pub users: Vec<Uuid>,
    pub follow: bool,
    pub reply: oneshot::Sender<Option<ApiResult<Vec<oneshot::Receiver<()>>>>>,
}

/// To the status owner of `users`: add `follower` to each, and answer.
#[derive(Debug)]
pub struct Follow {
    pub users: Vec<Uuid>,
    pub follower: Follower,
    pub answer: Answer,
}

/// Who a follow's owner answers.
#[derive(Debug)]
pub enum Answer {
    /// The session's own `status_follow`: the followed users' presences,
    /// as part `request` of its `status` answer.
    Session(u64),
    /// Game code's follow: that the owner has the follower; the session
    /// is sent nothing.
    Server(oneshot::Sender<()>),
}

/// A session following users' status: where its events go.
#[derive(Clone, Copy, Debug)]
pub struct Follower {
    pub session: Uuid,
    pub shard: usize,
    pub wire: Wire,
}

impl From<Msg> for ShardMsg {
    fn from(msg: Msg) -> ShardMsg {
        ShardMsg::Status(msg)
    }
}

impl Msg {
    /// The session this message is for, when it goes to a session's
    /// shard (which forwards it if the session moved away).
    pub fn session(&self) -> Option<Uuid> {
        match self {
            Msg::ForSession(m) => Some(m.session_id),
            _ => None,
        }
    }
}

/// One shard's status state: the users whose status it owns, and the
/// follow answers it gathers for its own sessions.
#[derive(Default)]
pub struct State {
    /// The users whose status this shard owns.
    table: RefCell<owner::StatusTable>,
    /// Follow answers being gathered for this shard's sessions, by request.
    pending: RefCell<HashMap<u64, session::PendingFollow>>,
    /// The last follow request numbered on this shard.
    requests: Cell<u64>,
}

impl State {
    /// A new number for a follow this shard gathers answers to.
    fn next_request(&self) -> u64 {
        let n = self.requests.get() + 1;
        self.requests.set(n);
        n
    }
}

/// Handles a status message on the shard it was sent to.
pub fn on_msg(shard: &Shard, msg: Msg) {
    match msg {
        Msg::Track { presence } => owner::on_track(shard, presence),
        Msg::Untrack { user, session_id } => owner::on_untrack(shard, user, session_id),
        Msg::Follow(follow) => owner::on_follow(shard, follow),
        Msg::Part { request, presences } => session::on_part(shard, request, presences),
        Msg::Unfollow {
            users,
            follower,
            done,
        } => {
            owner::on_unfollow(shard, users, follower);
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
        Msg::ForSession(m) => {
            let _ = m
                .reply
                .send(session::for_session(shard, m.session_id, m.users, m.follow));
        }
    }
}

/// Most users one game code follow or unfollow names.
pub const MAX_SERVER_FOLLOW: usize = 1000;

/// Game code's `status_follow` (`follow`) or `status_unfollow` of session
/// `session_id`, open on any shard: the session follows (or stops
/// following) `users` as if it had asked, with the same bound
/// (`kairos.session.max_streams`), but is sent no `status` answer, as in
/// Nakama. Returns once every owner of those users' status has the
/// change, so the session hears of every status change made after.
/// A session that is not open is no error, as in Nakama.
pub async fn for_session(
    shard: &Shard,
    session_id: Uuid,
    users: Vec<Uuid>,
    follow: bool,
) -> ApiResult<()> {
    if users.len() > MAX_SERVER_FOLLOW {
        return Err(ApiError::invalid(format!(
            "expects at most {MAX_SERVER_FOLLOW} user IDs"
        )));
    }
    if users.is_empty() {
        return Ok(());
    }
    let mut answers = Vec::new();
    for dest in 0..shard.port.shards() {
        let (reply, answer) = oneshot::channel();
        shard.send_to(
            dest,
            Msg::ForSession(ForSession {
                session_id,
                users: users.clone(),
                follow,
                reply,
            }),
        );
        answers.push(answer);
    }
    for answer in answers {
        if let Ok(Some(outcome)) = answer.await {
            for owner in outcome? {
                // An owner that is stopping drops it: nothing to wait for.
                let _ = owner.await;
            }
            return Ok(());
        }
    }
    Ok(())
}

/// The shard that keeps `user`'s status.
fn owner_of(shard: &Shard, user: Uuid) -> usize {
    StreamId {
        mode: mode::STATUS,
        subject: user.to_string(),
        subcontext: String::new(),
        label: String::new(),
    }
    .owner(shard.port.shards())
}
