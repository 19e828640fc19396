//! Chat, as Nakama's `channel_join`, `channel_leave` and
//! `channel_message_send`/`_update`/`_remove`.
//!
//! A channel is a stream (`kairos_core::channel`): rooms by name, direct
//! conversations between two users, and group channels. The session side
//! checks the request, writes history through the persistence pool when
//! the session joined with `persistence` (the default), encodes the
//! `channel_message` frame once and hands it to the channel's owner, then
//! acks. The owner keeps the membership, answers joins, announces
//! presences (hidden ones excepted) and relays each frame to the members'
//! shards, the sender's own sessions included, as Nakama does.
//!
//! A session's messages reach the owner through one FIFO mesh queue and
//! the owner relays them through one queue per destination shard, so each
//! member sees a sender's messages in the order they were sent.

use kairos_core::channel::{self, ChannelMessage, ChannelNames, Target, code};
use kairos_core::error::ApiError;
use kairos_core::notification::{self, Notification};
use kairos_core::stream::mode;
use kairos_core::time::{now_micros, rfc3339_micros};
use kairos_schema::api;
use kairos_schema::rtapi::{
    ChannelJoin, ChannelMessageAck, ChannelMessageRemove, ChannelMessageSend, ChannelMessageUpdate,
    ChannelOut, ChannelPresenceEvent, ErrorCode, Outgoing,
};
use uuid::Uuid;

use super::membership::{self, broadcast, to_owner};
use super::{deliver, notifications};
use crate::session::Frames;
use crate::session::{JoinFlags, Session};
use crate::shard::{Shard, ShardMsg};
use crate::streams::{Presence, StreamId};

/// Answers a request with an error; returns false, for the caller to
/// count it as failed.
fn refuse(session: &Session, cid: &str, code: ErrorCode, message: impl Into<String>) -> bool {
    session.send_envelope(cid, &Outgoing::error(code, message));
    false
}

fn bad_channel(session: &Session, cid: &str) -> bool {
    refuse(
        session,
        cid,
        ErrorCode::BadInput,
        "Invalid channel identifier",
    )
}

// ---- session side ----------------------------------------------------------

/// `channel_join`. A direct conversation needs the other user to exist and
/// neither of them to have blocked the other; a group channel needs
/// membership of the group.
pub async fn join(shard: &Shard, session: &Session, cid: &str, m: ChannelJoin) -> bool {
    let target = match channel::parse_target(m.kind, &m.target) {
        Ok(t) => t,
        Err(e) => return refuse(session, cid, ErrorCode::BadInput, e.message),
    };
    let stream = match target {
        Target::Room(name) => channel::room(&name),
        Target::Direct(other) => {
            let me = session.user_id;
            let allowed = shard
                .shared
                .persist
                .run(move |store| async move { store.can_message(me, other).await })
                .await;
            match allowed {
                Ok(true) => channel::direct(me, other),
                Ok(false) => {
                    return refuse(
                        session,
                        cid,
                        ErrorCode::BadInput,
                        "User ID not found: Invalid channel target",
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "direct channel check failed");
                    return refuse(
                        session,
                        cid,
                        ErrorCode::RuntimeException,
                        "Failed to look up user ID",
                    );
                }
            }
        }
        // Group membership comes with groups; until a group can exist, no
        // one is a member of any.
        Target::Group(_) => {
            return refuse(
                session,
                cid,
                ErrorCode::BadInput,
                "Group not found: Invalid channel target",
            );
        }
    };
    if session.is_closing()
        || membership::refuse_over_limit(shard, session, cid, &stream, ErrorCode::BadInput)
    {
        return false;
    }
    let flags = JoinFlags {
        persistence: m.persistence.unwrap_or(true),
        hidden: m.hidden.unwrap_or(false),
    };
    session.track_stream(stream.clone(), flags);
    let presence = session.presence_with(shard.id, None, flags);
    let msg = ShardMsg::ChannelJoin {
        stream: stream.clone(),
        presence,
        cid: cid.to_string(),
    };
    to_owner(shard, &stream, msg);
    true
}

/// `channel_leave`: answered at once; the owner tells the others.
pub fn leave(shard: &Shard, session: &Session, cid: &str, channel_id: &str) -> bool {
    let Some(stream) = channel::parse_channel_id(channel_id) else {
        return bad_channel(session, cid);
    };
    membership::leave(shard, session, stream);
    session.send_empty_reply(cid);
    true
}

/// Parses the channel id and checks the session joined it; on failure
/// answers with Nakama's error for `verb` ("sending", ...).
fn joined_channel(
    session: &Session,
    cid: &str,
    channel_id: &str,
    verb: &str,
) -> Option<(StreamId, JoinFlags)> {
    let Some(stream) = channel::parse_channel_id(channel_id) else {
        bad_channel(session, cid);
        return None;
    };
    match session.joined(&stream) {
        Some(flags) => Some((stream, flags)),
        None => {
            refuse(
                session,
                cid,
                ErrorCode::BadInput,
                format!("Must join channel before {verb} messages"),
            );
            None
        }
    }
}

fn check_content(session: &Session, cid: &str, content: &str) -> bool {
    channel::is_json_object(content)
        || refuse(
            session,
            cid,
            ErrorCode::BadInput,
            "Message content must be a valid JSON object",
        )
}

/// `channel_message_send`.
pub async fn send(shard: &Shard, session: &Session, cid: &str, m: ChannelMessageSend) -> bool {
    let Some((stream, flags)) = joined_channel(session, cid, &m.channel_id, "sending") else {
        return false;
    };
    if !check_content(session, cid, &m.content) {
        return false;
    }
    let now = now_micros();
    let message = ChannelMessage {
        id: Uuid::new_v4(),
        stream,
        code: code::CHAT,
        sender_id: session.user_id,
        username: session.username.clone(),
        content: m.content,
        create_time: now,
        update_time: now,
    };
    if flags.persistence {
        let row = message.clone();
        let stored = shard
            .shared
            .persist
            .run(move |store| async move { store.insert_message(row).await })
            .await;
        if session.is_closing() {
            // Closed while the store worked: nothing more is relayed.
            return false;
        }
        if let Err(e) = stored {
            tracing::warn!(error = %e, "storing a chat message failed");
            return refuse(
                session,
                cid,
                ErrorCode::RuntimeException,
                "Could not persist message to channel history",
            );
        }
    }
    publish(shard, session, cid, &message, flags.persistence);
    true
}

/// `channel_message_update`: only the sender's own messages, and (when
/// history is kept) only ones the channel's history holds.
pub async fn update(shard: &Shard, session: &Session, cid: &str, m: ChannelMessageUpdate) -> bool {
    let Ok(id) = Uuid::parse_str(&m.message_id) else {
        return refuse(
            session,
            cid,
            ErrorCode::BadInput,
            "Invalid message identifier",
        );
    };
    let Some((stream, flags)) = joined_channel(session, cid, &m.channel_id, "updating") else {
        return false;
    };
    if !check_content(session, cid, &m.content) {
        return false;
    }
    let now = now_micros();
    let mut message = ChannelMessage {
        id,
        stream,
        code: code::CHAT_UPDATE,
        sender_id: session.user_id,
        username: session.username.clone(),
        content: m.content,
        create_time: now,
        update_time: now,
    };
    if flags.persistence {
        let (stream, sender, name, content) = (
            message.stream.clone(),
            message.sender_id,
            message.username.clone(),
            message.content.clone(),
        );
        let stored = shard
            .shared
            .persist
            .run(move |store| async move {
                store
                    .update_message(stream, id, sender, name, content, now)
                    .await
            })
            .await;
        if session.is_closing() {
            return false;
        }
        match stored {
            Ok(Some(created)) => message.create_time = created,
            Ok(None) => {
                return refuse(
                    session,
                    cid,
                    ErrorCode::BadInput,
                    "Could not find message to update in channel history",
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "updating a chat message failed");
                return refuse(
                    session,
                    cid,
                    ErrorCode::RuntimeException,
                    "Could not persist message update to channel history",
                );
            }
        }
    }
    publish(shard, session, cid, &message, flags.persistence);
    true
}

/// `channel_message_remove`: the sender's own messages only.
pub async fn remove(shard: &Shard, session: &Session, cid: &str, m: ChannelMessageRemove) -> bool {
    let Ok(id) = Uuid::parse_str(&m.message_id) else {
        return refuse(
            session,
            cid,
            ErrorCode::BadInput,
            "Invalid message identifier",
        );
    };
    let Some((stream, flags)) = joined_channel(session, cid, &m.channel_id, "removing") else {
        return false;
    };
    let now = now_micros();
    let mut message = ChannelMessage {
        id,
        stream,
        code: code::CHAT_REMOVE,
        sender_id: session.user_id,
        username: session.username.clone(),
        content: "{}".into(),
        create_time: now,
        update_time: now,
    };
    if flags.persistence {
        let (stream, sender) = (message.stream.clone(), message.sender_id);
        let removed = shard
            .shared
            .persist
            .run(move |store| async move { store.remove_message(stream, id, sender).await })
            .await;
        if session.is_closing() {
            return false;
        }
        match removed {
            Ok(Some((created, updated))) => {
                message.create_time = created;
                message.update_time = updated;
            }
            Ok(None) => {
                return refuse(
                    session,
                    cid,
                    ErrorCode::BadInput,
                    "Could not find message to remove in channel history",
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "removing a chat message failed");
                return refuse(
                    session,
                    cid,
                    ErrorCode::RuntimeException,
                    "Could not persist message remove to channel history",
                );
            }
        }
    }
    publish(shard, session, cid, &message, flags.persistence);
    true
}

/// Hands the encoded message to the channel's owner and acks the sender.
fn publish(
    shard: &Shard,
    session: &Session,
    cid: &str,
    message: &ChannelMessage,
    persistent: bool,
) {
    let msg = ShardMsg::ChannelSend {
        stream: message.stream.clone(),
        sender: session.id,
        message: Box::new(to_wire(message, persistent)),
    };
    to_owner(shard, &message.stream, msg);
    let names = ChannelNames::of(&message.stream);
    session.send_envelope(
        cid,
        &Outgoing::ChannelMessageAck(ChannelMessageAck {
            channel_id: channel::channel_id(&message.stream),
            message_id: message.id.to_string(),
            code: message.code,
            username: message.username.clone(),
            create_time: rfc3339_micros(message.create_time),
            update_time: rfc3339_micros(message.update_time),
            persistent,
            room_name: names.room_name,
            group_id: names.group_id,
            user_id_one: names.user_id_one,
            user_id_two: names.user_id_two,
        }),
    );
}

/// A message as clients see it, live or in history.
pub fn to_wire(m: &ChannelMessage, persistent: bool) -> api::ChannelMessage {
    let names = ChannelNames::of(&m.stream);
    api::ChannelMessage {
        channel_id: channel::channel_id(&m.stream),
        message_id: m.id.to_string(),
        code: m.code,
        sender_id: m.sender_id.to_string(),
        username: m.username.clone(),
        content: m.content.clone(),
        create_time: rfc3339_micros(m.create_time),
        update_time: rfc3339_micros(m.update_time),
        persistent,
        room_name: names.room_name,
        group_id: names.group_id,
        user_id_one: names.user_id_one,
        user_id_two: names.user_id_two,
    }
}

// ---- owner side ------------------------------------------------------------

fn presence_event(stream: &StreamId, joins: Vec<&Presence>, leaves: Vec<&Presence>) -> Outgoing {
    let names = ChannelNames::of(stream);
    Outgoing::ChannelPresenceEvent(ChannelPresenceEvent {
        channel_id: channel::channel_id(stream),
        joins: joins.into_iter().map(Presence::to_wire).collect(),
        leaves: leaves.into_iter().map(Presence::to_wire).collect(),
        room_name: names.room_name,
        group_id: names.group_id,
        user_id_one: names.user_id_one,
        user_id_two: names.user_id_two,
    })
}

/// The event telling a channel's members that `gone` left.
pub fn leave_event(stream: &StreamId, gone: &Presence) -> Outgoing {
    presence_event(stream, Vec::new(), vec![gone])
}

/// Adds a presence, answers the joiner with the channel and its visible
/// presences, and announces the join to every member, the joiner included. Opening a direct conversation the
/// other user is not in sends them a "wants to chat" notification.
pub fn on_join(shard: &Shard, stream: StreamId, presence: Presence, cid: String) {
    let mut table = shard.streams.borrow_mut();
    let newly = table.join(&stream, presence.clone());
    let Some(m) = table.get(&stream) else { return };
    let names = ChannelNames::of(&stream);
    let reply = Outgoing::Channel(ChannelOut {
        id: channel::channel_id(&stream),
        presences: m
            .members()
            .iter()
            // Hidden ones never show; the joiner shows only on a rejoin.
            .filter(|p| !(p.hidden || newly && p.session_id == presence.session_id))
            .map(Presence::to_wire)
            .collect(),
        self_: presence.to_wire(),
        room_name: names.room_name,
        group_id: names.group_id,
        user_id_one: names.user_id_one,
        user_id_two: names.user_id_two,
    });
    deliver::to_session(
        shard,
        presence.shard,
        presence.session_id,
        presence.wire,
        &cid,
        &reply,
    );
    if !newly {
        return;
    }
    if !presence.hidden {
        // Every member hears of the join, the joiner included, as from
        // Nakama's tracker; the reply above reaches the joiner first.
        let event = presence_event(&stream, vec![&presence], Vec::new());
        let frames = Frames::encode("", &event, m.wires());
        broadcast(shard, m.targets(), None, &frames);
    }
    if stream.mode == mode::DIRECT
        && let Some(other) = channel::other_user(&stream, presence.user_id)
        && !m.members().iter().any(|p| p.user_id == other)
    {
        let note = Notification::social(
            other,
            notification::code::DM_REQUEST,
            format!("{} wants to chat", presence.username),
            presence.user_id,
            &presence.username,
        );
        drop(table);
        notifications::send_later(shard, vec![note]);
    }
}

/// Relays a message to every member, encoded once per wire, if the sender
/// still is one (it may have been removed, e.g. by a block, since it
/// checked).
pub fn on_send(shard: &Shard, stream: StreamId, sender: Uuid, message: api::ChannelMessage) {
    let table = shard.streams.borrow();
    if let Some(m) = table.get(&stream).filter(|m| m.get(sender).is_some()) {
        let frames = Frames::encode("", &Outgoing::ChannelMessage(message), m.wires());
        membership::broadcast_data(shard, m.targets(), None, &frames);
    }
}

/// Ends the direct conversation between two users: every session in it is
/// removed (a block does this).
pub fn close_direct(shard: &Shard, a: Uuid, b: Uuid) {
    let stream = channel::direct(a, b);
    to_owner(shard, &stream.clone(), ShardMsg::StreamClose { stream });
}

/// An error as the HTTP layer reports it, for history of a channel the
/// caller may not read.
pub fn check_history_access(stream: &StreamId, caller: Uuid) -> Result<(), ApiError> {
    match stream.mode {
        mode::DIRECT if channel::other_user(stream, caller).is_none() => {
            Err(ApiError::invalid("Channel not found."))
        }
        // No group exists until groups land, so no one may read one.
        mode::GROUP => Err(ApiError::invalid("Group not found.")),
        _ => Ok(()),
    }
}
