//! What Kairos keeps per connection on top of renet: the payload guard, the
//! sequenced channel's two halves, the lane of unreliable messages
//! ([`super::lane`]), the payload packets' crypto ([`super::seal`]), and
//! whether there is something to flush.
//!
//! # When a connection needs a flush on the tick
//!
//! renet acknowledges every packet it receives, acknowledgement packets
//! included, and repeats an acknowledgement in every packet batch until the
//! packet carrying it is acknowledged in turn. Flushing renet on every tick
//! therefore never lets a connection fall silent: each side's ack packet
//! makes the other side send one, tick after tick, forever (1,000 datagrams
//! per 10 s each way at a 10 ms tick, measured). So a connection is only
//! flushed on the tick when renet has real work: the application queued
//! messages, messages arrived that need acknowledging, or reliable messages
//! await acknowledgement and may need resending. Acknowledgements of
//! acknowledgements ride along with the next real packet. An idle
//! connection costs only netcode's keepalive: 4 datagrams a second each way.

use bytes::Bytes;

use super::channel::Channel;
use super::config::RudpConfig;
use super::event::SendError;
use super::guard::{PayloadGuard, Violation, carries_messages};
use super::lane::Lane;
use super::seal::PayloadSeal;
use super::sequence::{SequencedReceiver, SequencedSender};

/// One end of one connection.
#[derive(Debug)]
pub(crate) struct Peer {
    /// Seals the payload packets this end sends and opens those it receives.
    pub(crate) seal: PayloadSeal,
    /// Checks the renet packets this end receives.
    pub(crate) guard: PayloadGuard,
    sequenced_out: SequencedSender,
    sequenced_in: SequencedReceiver,
    /// Unreliable messages queued for the next flush.
    pub(crate) lane: Lane,
    /// The application queued messages since the last flush.
    pub(crate) dirty: bool,
    /// Messages arrived since the last flush: acknowledge them on the tick.
    needs_ack: bool,
}

impl Peer {
    /// State for an end whose inbound reliable buffer is
    /// `inbound_reliable_bytes` and that may queue `outbound_unreliable_bytes`
    /// per unreliable channel between flushes.
    pub(crate) fn new(
        config: &RudpConfig,
        seal: PayloadSeal,
        inbound_reliable_bytes: usize,
        outbound_unreliable_bytes: usize,
    ) -> Self {
        Self {
            seal,
            guard: PayloadGuard::new(config, inbound_reliable_bytes),
            sequenced_out: SequencedSender::default(),
            sequenced_in: SequencedReceiver::default(),
            lane: Lane::new(outbound_unreliable_bytes),
            dirty: false,
            needs_ack: false,
        }
    }

    /// Notes a renet packet that passed the guard.
    pub(crate) fn received(&mut self, packet: &[u8]) {
        self.needs_ack |= carries_messages(packet);
    }

    /// Whether the tick must flush this connection (see the module docs);
    /// `reliable_in_flight` says whether renet holds unacknowledged reliable
    /// messages.
    pub(crate) const fn wants_tick_flush(&self, reliable_in_flight: bool) -> bool {
        self.dirty || self.needs_ack || reliable_in_flight
    }

    /// Notes that renet was just flushed.
    pub(crate) fn flushed(&mut self) {
        self.dirty = false;
        self.needs_ack = false;
    }

    /// Checks `message` against `channel`'s size limit and buffer, then
    /// queues it: an unreliable one on the lane (`None`), a reliable one
    /// returned for renet, whose buffer `renet_can_send(len)` checked. Only
    /// a message that is queued consumes a sequence number.
    pub(crate) fn prepare_send(
        &mut self,
        config: &RudpConfig,
        channel: Channel,
        message: Bytes,
        renet_can_send: impl FnOnce(usize) -> bool,
    ) -> Result<Option<Bytes>, SendError> {
        let max = channel.max_message_bytes(config);
        if message.len() > max {
            return Err(SendError::MessageTooLarge {
                len: message.len(),
                max,
            });
        }
        let wire_len = message.len() + channel.prefix_bytes();
        let room = match channel {
            Channel::ReliableOrdered => renet_can_send(wire_len),
            Channel::Unreliable | Channel::UnreliableSequenced => {
                self.lane.has_room(channel, wire_len)
            }
        };
        if !room {
            return Err(SendError::ChannelFull);
        }
        self.dirty = true;
        match channel {
            Channel::ReliableOrdered => return Ok(Some(message)),
            Channel::Unreliable => self.lane.push(message),
            Channel::UnreliableSequenced => {
                let sequence = self.sequenced_out.take();
                self.lane.push_sequenced(sequence, message);
            }
        }
        Ok(None)
    }

    /// Delivers the messages of a lane packet (checked whole first);
    /// returns how many stale sequenced ones were dropped.
    pub(crate) fn receive_lane(
        &mut self,
        packet: &[u8],
        mut deliver: impl FnMut(Channel, Bytes),
    ) -> Result<u64, Violation> {
        let mut stale = 0;
        let sequenced_in = &mut self.sequenced_in;
        super::lane::read(packet, |channel, message| match channel {
            // `read` checked that each carries its prefix.
            Channel::UnreliableSequenced => match sequenced_in.open_slice(message) {
                Ok(Some(payload)) => deliver(channel, Bytes::copy_from_slice(payload)),
                Ok(None) | Err(_) => stale += 1,
            },
            _ => deliver(channel, Bytes::copy_from_slice(message)),
        })?;
        Ok(stale)
    }

    /// Moves every message renet has ready into `deliver`, channel by
    /// channel; `receive(renet_channel_id)` pops renet's next message.
    /// Returns how many stale sequenced messages were dropped.
    pub(crate) fn drain(
        &mut self,
        mut receive: impl FnMut(u8) -> Option<Bytes>,
        mut deliver: impl FnMut(Channel, Bytes),
    ) -> Result<u64, Violation> {
        let mut stale = 0;
        for channel in Channel::ALL {
            while let Some(message) = receive(channel.renet_id()) {
                match channel {
                    Channel::ReliableOrdered => {
                        self.guard.delivered_reliable();
                        deliver(channel, message);
                    }
                    Channel::Unreliable => deliver(channel, message),
                    Channel::UnreliableSequenced => match self.sequenced_in.open(message)? {
                        Some(payload) => deliver(channel, payload),
                        None => stale += 1,
                    },
                }
            }
        }
        Ok(stale)
    }
}
