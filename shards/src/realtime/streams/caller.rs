//! The calls game code makes (through `Nk`), on the shard that runs it:
//! check the arguments, find the session's shard or the stream's owner,
//! ask it and await the answer.

use futures_channel::oneshot;
use kairos_core::error::{ApiError, ApiResult, Code};
use uuid::Uuid;

use kairos_schema::rtapi::Outgoing;

use super::{Msg, Payload, SendData, Track};
use crate::fanout::membership::to_owner;
use crate::fanout::{Presence, StreamId};
use crate::modules::streams::{MAX_DATA_LEN, MAX_STATUS_LEN};
use crate::shard::Shard;

/// A shard that dropped a question unanswered (it is stopping).
fn gone<T>(_: oneshot::Canceled) -> ApiResult<T> {
    Err(ApiError::new(
        Code::Unavailable,
        "the server is shutting down",
    ))
}

/// The shard of `user_id`'s session `session_id`, if it is open.
fn session_shard(shard: &Shard, user_id: Uuid, session_id: Uuid) -> Option<usize> {
    shard
        .shared
        .registry
        .sessions_of(user_id)
        .into_iter()
        .find(|s| s.session_id == session_id)
        .map(|s| s.shard)
}

/// The error for a session that is not open (or not that user's).
pub(super) fn no_session() -> ApiError {
    ApiError::new(Code::NotFound, "session id does not exist")
}

/// A session's presence as game code asks for it.
pub struct Member<'a> {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub hidden: bool,
    pub persistence: bool,
    pub status: &'a str,
}

/// Joins (`update` false) or updates a session's presence in `stream`;
/// whether it is a new presence.
async fn track(shard: &Shard, stream: StreamId, m: Member<'_>, update: bool) -> ApiResult<bool> {
    if m.status.len() > MAX_STATUS_LEN {
        return Err(ApiError::invalid(format!(
            "status must be at most {MAX_STATUS_LEN} bytes"
        )));
    }
    let Some(dest) = session_shard(shard, m.user_id, m.session_id) else {
        return Err(no_session());
    };
    let (reply, answer) = oneshot::channel();
    let msg = Msg::Track(Track {
        stream,
        user_id: m.user_id,
        session_id: m.session_id,
        hidden: m.hidden,
        persistence: m.persistence,
        status: m.status.to_string(),
        update,
        reply,
    });
    shard.send_to(dest, msg);
    answer.await.or_else(gone)?
}

/// Nakama's `StreamUserJoin`: whether the session is newly in the stream
/// (false when it already was; its presence is then unchanged).
pub async fn join(shard: &Shard, stream: StreamId, member: Member<'_>) -> ApiResult<bool> {
    track(shard, stream, member, false).await
}

/// Nakama's `StreamUserUpdate`: replaces the session's presence (joining
/// it if it was not in the stream).
pub async fn update(shard: &Shard, stream: StreamId, member: Member<'_>) -> ApiResult<()> {
    track(shard, stream, member, true).await.map(drop)
}

/// Nakama's `StreamUserLeave` and `StreamUserKick`: the session leaves
/// the stream. A session that is not open has left every stream already.
pub async fn leave(
    shard: &Shard,
    stream: StreamId,
    user_id: Uuid,
    session_id: Uuid,
) -> ApiResult<()> {
    let Some(dest) = session_shard(shard, user_id, session_id) else {
        return Ok(());
    };
    let (reply, answer) = oneshot::channel();
    shard.send_to(
        dest,
        Msg::Untrack {
            stream,
            session_id,
            reply,
        },
    );
    answer.await.or_else(gone)
}

/// The stream's members, in join order.
pub async fn list(shard: &Shard, stream: StreamId) -> ApiResult<Vec<Presence>> {
    let (reply, answer) = oneshot::channel();
    to_owner(shard, &stream.clone(), Msg::List { stream, reply });
    answer.await.or_else(gone)
}

/// One member's presence, if that session is in the stream as that user.
pub async fn get(
    shard: &Shard,
    stream: StreamId,
    user_id: Uuid,
    session_id: Uuid,
) -> ApiResult<Option<Presence>> {
    Ok(list(shard, stream)
        .await?
        .into_iter()
        .find(|p| p.session_id == session_id && p.user_id == user_id))
}

/// Nakama's `StreamCount`: how many presences, hidden ones included.
pub async fn count(shard: &Shard, stream: StreamId) -> ApiResult<usize> {
    let (reply, answer) = oneshot::channel();
    to_owner(shard, &stream.clone(), Msg::Count { stream, reply });
    answer.await.or_else(gone)
}

/// Nakama's `StreamClose`: removes every member, without events.
pub async fn close(shard: &Shard, stream: StreamId) -> ApiResult<()> {
    let (reply, answer) = oneshot::channel();
    to_owner(shard, &stream.clone(), Msg::Close { stream, reply });
    answer.await.or_else(gone)
}

/// Nakama's `StreamSend`: `stream_data` to every member, or to the listed
/// sessions that are members. Sent, not awaited: it reaches the owner
/// after anything this shard asked the owner before.
pub fn send(
    shard: &Shard,
    stream: StreamId,
    data: &str,
    sessions: Option<Vec<Uuid>>,
    reliable: bool,
) -> ApiResult<()> {
    if data.len() > MAX_DATA_LEN {
        return Err(ApiError::invalid(format!(
            "stream data must be at most {MAX_DATA_LEN} bytes"
        )));
    }
    // An empty list is everyone, as in Nakama.
    let sessions = sessions.filter(|s| !s.is_empty());
    let msg = Msg::Send(SendData {
        stream: stream.clone(),
        payload: Payload::Data(data.to_string()),
        sessions,
        reliable,
    });
    to_owner(shard, &stream, msg);
    Ok(())
}

/// Nakama's `StreamSendRaw`: `message` (with `cid`, as game code gave
/// it) to every member, or to the listed sessions that are members; as
/// [`send`] otherwise.
pub fn send_raw(
    shard: &Shard,
    stream: StreamId,
    cid: String,
    message: Outgoing,
    sessions: Option<Vec<Uuid>>,
    reliable: bool,
) {
    let sessions = sessions.filter(|s| !s.is_empty());
    let msg = Msg::Send(SendData {
        stream: stream.clone(),
        payload: Payload::Raw {
            cid,
            message: Box::new(message),
        },
        sessions,
        reliable,
    });
    to_owner(shard, &stream, msg);
}
