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

mod owner;
mod session;

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
