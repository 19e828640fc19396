//! A channel's owner side: runs on the shard that owns the channel's
//! stream, keeps its membership, answers joins, announces presences and
//! relays messages.

use kairos_core::channel::{self, ChannelNames};
use kairos_core::notification::{self, Notification};
use kairos_core::stream::mode;
use kairos_schema::api;
use kairos_schema::rtapi::{ChannelOut, ChannelPresenceEvent, Outgoing};
use uuid::Uuid;

use crate::fanout::{Presence, StreamId, deliver, group, membership};
use crate::realtime::notifications;
use crate::session::Frames;
use crate::shard::Shard;

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
pub(super) fn on_join(shard: &Shard, stream: StreamId, presence: Presence, cid: String) {
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
        deliver::broadcast(shard, m.targets(), None, &frames);
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
pub(super) fn on_send(shard: &Shard, stream: StreamId, sender: Uuid, message: api::ChannelMessage) {
    let table = shard.streams.borrow();
    if let Some(m) = table.get(&stream).filter(|m| m.get(sender).is_some()) {
        let frames = Frames::encode("", &Outgoing::ChannelMessage(message), m.wires());
        deliver::broadcast_data(shard, m.targets(), None, &frames);
    }
}

/// Relays messages the server wrote to every member, in order.
pub(super) fn on_relay(shard: &Shard, stream: &StreamId, messages: Vec<api::ChannelMessage>) {
    let table = shard.streams.borrow();
    if let Some(m) = table.get(stream) {
        for message in messages {
            let frames = Frames::encode("", &Outgoing::ChannelMessage(message), m.wires());
            deliver::broadcast(shard, m.targets(), None, &frames);
        }
    }
}

/// Removes every session of `users` from the channel: the others hear
/// them leave, and their shards forget they joined.
pub(super) fn on_remove_users(shard: &Shard, stream: StreamId, users: &[Uuid]) {
    let gone: Vec<(usize, Uuid)> = match shard.streams.borrow().get(&stream) {
        Some(m) => m
            .members()
            .iter()
            .filter(|p| users.contains(&p.user_id))
            .map(|p| (p.shard, p.session_id))
            .collect(),
        None => return,
    };
    // Their shards first: by the time the others hear them leave, the
    // removed sessions' shards have been told to stop taking their sends.
    for (dest, sessions) in group::by_shard(gone.clone()) {
        shard.send_to(
            dest,
            membership::Msg::Dropped {
                stream: stream.clone(),
                sessions,
            },
        );
    }
    for (_, session) in &gone {
        membership::on_leave(shard, stream.clone(), *session);
    }
}
