//! A channel's session side: runs on the shard of the session that asked,
//! checks the request, keeps history through the persistence pool, and
//! hands the message to the channel's owner.

use kairos_core::channel::{self, ChannelMessage, ChannelNames, Target, code};
use kairos_core::time::{now_micros, rfc3339_micros};
use kairos_schema::rtapi::{
    ChannelJoin, ChannelMessageAck, ChannelMessageRemove, ChannelMessageSend, ChannelMessageUpdate,
    ErrorCode, Outgoing,
};
use uuid::Uuid;

use super::{Msg, to_wire};
use crate::fanout::StreamId;
use crate::fanout::membership::{self, to_owner};
use crate::session::{JoinFlags, Session};
use crate::shard::Shard;

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
        Target::Group(group) => match super::is_group_member(shard, group, session.user_id).await {
            Ok(true) => channel::group(group),
            Ok(false) => {
                return refuse(
                    session,
                    cid,
                    ErrorCode::BadInput,
                    "Group not found: Invalid channel target",
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "group channel check failed");
                return refuse(
                    session,
                    cid,
                    ErrorCode::RuntimeException,
                    "Failed to look up group membership",
                );
            }
        },
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
    let msg = Msg::Join {
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
    let msg = Msg::Send {
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
