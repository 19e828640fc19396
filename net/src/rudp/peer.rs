//! What Kairos keeps per connection on top of renet: the payload guard, the
//! sequenced channel's two halves, and whether there is something to flush.
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
use super::sequence::{SequencedReceiver, SequencedSender};

/// One end of one connection.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// Checks the renet packets this end receives.
    pub(crate) guard: PayloadGuard,
    sequenced_out: SequencedSender,
    sequenced_in: SequencedReceiver,
    /// The application queued messages since the last flush.
    pub(crate) dirty: bool,
    /// Messages arrived since the last flush: acknowledge them on the tick.
    needs_ack: bool,
}

impl Peer {
    /// State for an end whose inbound reliable buffer is `inbound_reliable_bytes`.
    pub(crate) fn new(config: &RudpConfig, inbound_reliable_bytes: usize) -> Self {
        Self {
            guard: PayloadGuard::new(config, inbound_reliable_bytes),
            sequenced_out: SequencedSender::default(),
            sequenced_in: SequencedReceiver::default(),
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

    /// Checks `message` against `channel`'s size limit and, with
    /// `can_send(wire_len)`, against renet's buffer; then returns the bytes to
    /// hand renet. Only a message that will be queued consumes a sequence
    /// number.
    pub(crate) fn prepare_send(
        &mut self,
        config: &RudpConfig,
        channel: Channel,
        message: Bytes,
        can_send: impl FnOnce(usize) -> bool,
    ) -> Result<Bytes, SendError> {
        let max = channel.max_message_bytes(config);
        if message.len() > max {
            return Err(SendError::MessageTooLarge {
                len: message.len(),
                max,
            });
        }
        if !can_send(message.len() + channel.prefix_bytes()) {
            return Err(SendError::ChannelFull);
        }
        self.dirty = true;
        Ok(match channel {
            Channel::UnreliableSequenced => self.sequenced_out.stamp(&message),
            Channel::ReliableOrdered | Channel::Unreliable => message,
        })
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
