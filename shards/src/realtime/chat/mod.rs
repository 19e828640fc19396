//! Chat, as Nakama's `channel_join`, `channel_leave` and
//! `channel_message_send`/`_update`/`_remove`.
//!
//! A channel is a stream (`kairos_core::channel`): rooms by name, direct
//! conversations between two users, and group channels. The session side
//! ([`session`]) checks the request, writes history through the persistence pool when
//! the session joined with `persistence` (the default), encodes the
//! `channel_message` frame once and hands it to the channel's owner, then
//! acks. The owner ([`owner`]) keeps the membership in the shard's stream
//! table, answers joins, announces
//! presences (hidden ones excepted) and relays each frame to the members'
//! shards, the sender's own sessions included, as Nakama does.
//!
//! A session's messages reach the owner through one FIFO mesh queue and
//! the owner relays them through one queue per destination shard, so each
//! member sees a sender's messages in the order they were sent.

//!
//! Leaving is the stream's ([`crate::fanout::membership`]); [`leave_event`]
//! is what the others hear. Chat keeps no state beyond its streams'
//! memberships.

mod group;
mod owner;
mod session;

pub use group::{after_change, after_join, after_leave};
pub use owner::leave_event;
pub use session::{join, leave, remove, send, update};

use kairos_core::channel::{self, ChannelMessage, ChannelNames};
use kairos_core::error::ApiError;
use kairos_core::stream::mode;
use kairos_core::time::rfc3339_micros;
use kairos_schema::api;
use uuid::Uuid;

use crate::fanout::{Presence, StreamId, membership};
use crate::shard::{Shard, ShardMsg};

/// What a channel's session side asks its owner.
#[derive(Debug)]
pub enum Msg {
    /// Add this presence and answer the joiner.
    Join {
        stream: StreamId,
        presence: Presence,
        cid: String,
    },
    /// Deliver this message to every member, if `sender` still is one.
    Send {
        stream: StreamId,
        sender: Uuid,
        message: Box<api::ChannelMessage>,
    },
    /// Deliver these messages from the server (a group's membership
    /// messages) to every member, then remove every session of `remove`
    /// (users who left the group, or were kicked or banned from it): one
    /// step on the owner, so the removed users hear the messages that
    /// explain their removal and no message is relayed between the two.
    Relay {
        stream: StreamId,
        messages: Vec<api::ChannelMessage>,
        remove: Vec<Uuid>,
    },
}

impl From<Msg> for ShardMsg {
    fn from(msg: Msg) -> ShardMsg {
        ShardMsg::Chat(msg)
    }
}

/// Handles a chat message on the channel's owner.
pub fn on_msg(shard: &Shard, msg: Msg) {
    match msg {
        Msg::Join {
            stream,
            presence,
            cid,
        } => owner::on_join(shard, stream, presence, cid),
        Msg::Send {
            stream,
            sender,
            message,
        } => owner::on_send(shard, stream, sender, *message),
        Msg::Relay {
            stream,
            messages,
            remove,
        } => {
            owner::on_relay(shard, &stream, messages);
            if !remove.is_empty() {
                owner::on_remove_users(shard, stream, &remove);
            }
        }
    }
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

/// Ends the direct conversation between two users: every session in it is
/// removed (a block does this).
pub fn close_direct(shard: &Shard, a: Uuid, b: Uuid) {
    let stream = channel::direct(a, b);
    membership::close(shard, stream);
}

/// Relays the stored messages the server wrote in group `group`'s channel
/// (its membership messages) to the channel's members, then removes every
/// session of `remove` from it, in one step on the channel's owner.
pub fn relay_group(shard: &Shard, group: Uuid, messages: &[ChannelMessage], remove: Vec<Uuid>) {
    if messages.is_empty() && remove.is_empty() {
        return;
    }
    let stream = channel::group(group);
    let msg = Msg::Relay {
        stream: stream.clone(),
        messages: messages.iter().map(|m| to_wire(m, true)).collect(),
        remove,
    };
    membership::to_owner(shard, &stream, msg);
}

/// Relays a message game code sent, updated or removed (stored first
/// when kept) to every member of its channel, as the owner relays the
/// server's messages: no membership is asked of its sender.
pub fn relay(shard: &Shard, message: &ChannelMessage, persistent: bool) {
    let msg = Msg::Relay {
        stream: message.stream.clone(),
        messages: vec![to_wire(message, persistent)],
        remove: Vec::new(),
    };
    membership::to_owner(shard, &message.stream, msg);
}

/// Ends a deleted group's channel: every session in it is removed.
pub fn close_group(shard: &Shard, group: Uuid) {
    membership::close(shard, channel::group(group));
}

/// Whether `user` may read or join group `group`'s channel: a member
/// (superadmin, admin or member), not a join request or a ban.
pub async fn is_group_member(shard: &Shard, group: Uuid, user: Uuid) -> Result<bool, ApiError> {
    let state = shard
        .shared
        .persist
        .run(move |store| async move { store.group_user_state(group, user).await })
        .await?;
    Ok(state.is_some_and(kairos_core::group::is_member))
}

/// An error as the HTTP layer reports it, for history of a channel the
/// caller may not read: a direct channel of two others, or the channel of
/// a group the caller is not a member of.
pub async fn check_history_access(
    shard: &Shard,
    stream: &StreamId,
    caller: Uuid,
) -> Result<(), ApiError> {
    match stream.mode {
        mode::DIRECT if channel::other_user(stream, caller).is_none() => {
            Err(ApiError::invalid("Channel not found."))
        }
        mode::GROUP => {
            let member = match Uuid::parse_str(&stream.subject) {
                Ok(group) => is_group_member(shard, group, caller).await?,
                Err(_) => false,
            };
            if member {
                Ok(())
            } else {
                Err(ApiError::invalid("Group not found."))
            }
        }
        _ => Ok(()),
    }
}
