//! Unreliable messages packed by Kairos, outside renet: the lane.
//!
//! renet packs one channel's small messages into packets of at most 1,200
//! bytes ([`RENET_SLICE_BYTES`](super::channel::RENET_SLICE_BYTES)), and a second such packet cannot share a
//! 1,300-byte datagram with the first ([`super::bundle`]). Messages of
//! 300 to 400 bytes, a relayed `match_data` with its sender's presence for
//! one, then travel three to a datagram, the last fifth of it empty.
//! Unreliable messages need nothing renet adds (no acknowledgement, no
//! resend, no reassembly: Kairos never fragments them), so both endpoints
//! queue them here instead and pack them, at each flush, into lane packets
//! that fill what the bundle has room for:
//!
//! ```text
//! lane packet = LANE channel:u8 (len:u16be message){1,}
//! ```
//!
//! `channel` is the renet id of [`Channel::Unreliable`] or
//! [`Channel::UnreliableSequenced`]; a sequenced message carries its
//! sequence prefix, as it did on renet's channel. A lane packet travels
//! bare or inside a bundle like a renet packet; [`LANE`] is a first byte
//! renet never writes (its packet types are 0 to 4), nor a bundle.
//!
//! Bounds: the sender queues at most the configured unreliable bytes per
//! channel ([`ChannelMemory::unreliable_bytes`](super::ChannelMemory)), as
//! renet's channel did, and refuses more with
//! [`SendError::ChannelFull`](super::SendError::ChannelFull). The client's
//! budget is also capped at what one flush carries
//! ([`RudpConfig::bytes_per_flush`](super::RudpConfig)), so that a flush
//! drops none of what a channel accepted unless other traffic (reliable
//! messages, the other unreliable channel) shares it. The receiver
//! buffers nothing: a lane packet is checked whole (channel, every
//! length, each message at most its channel's limit) before its first
//! message is delivered (a sequenced one must hold its prefix), and a
//! packet that breaks a rule is a protocol violation.

use bytes::Bytes;

use super::bundle::{LEN_BYTES, MAX_BUNDLE_BYTES, room_after};
use super::channel::{Channel, MAX_UNRELIABLE_MESSAGE_BYTES};
use super::guard::Violation;
use super::sequence::SEQUENCE_PREFIX_BYTES;

/// The first byte of a lane packet.
pub(crate) const LANE: u8 = 0xB8;

/// Bytes of a lane packet before its first message: [`LANE`] and the
/// channel.
const HEADER_BYTES: usize = 2;

/// The most bytes a lane message has on the wire: an unreliable message at
/// its limit, or a sequenced one with its prefix.
const MAX_WIRE_BYTES: usize = MAX_UNRELIABLE_MESSAGE_BYTES;

// Any message fits a lane packet of its own.
const _: () = assert!(HEADER_BYTES + LEN_BYTES + MAX_WIRE_BYTES <= MAX_BUNDLE_BYTES);

/// One direction's queue of unreliable messages, packed at each flush.
#[derive(Debug, Clone)]
pub(crate) struct Lane {
    /// Messages in send order: their channel, their sequence number (the
    /// sequenced channel's, written in front at packing), the message.
    queued: Vec<(Channel, Option<u32>, Bytes)>,
    /// Bytes queued per unreliable channel: `[Unreliable, UnreliableSequenced]`.
    bytes: [usize; 2],
    /// The most bytes each channel may have queued.
    budget: usize,
}

impl Lane {
    /// A lane whose channels may each hold `budget` bytes between flushes.
    pub(crate) const fn new(budget: usize) -> Self {
        Self {
            queued: Vec::new(),
            bytes: [0; 2],
            budget,
        }
    }

    /// Whether `channel` has room for a message of `wire_len` bytes.
    pub(crate) fn has_room(&self, channel: Channel, wire_len: usize) -> bool {
        self.bytes[slot(channel)] + wire_len <= self.budget
    }

    /// Queues `message` on [`Channel::Unreliable`]. The caller checked
    /// [`has_room`](Self::has_room) and the message's limit.
    pub(crate) fn push(&mut self, message: Bytes) {
        debug_assert!(message.len() <= MAX_WIRE_BYTES);
        self.bytes[slot(Channel::Unreliable)] += message.len();
        self.queued.push((Channel::Unreliable, None, message));
    }

    /// Queues `message` on [`Channel::UnreliableSequenced`] with its
    /// sequence number, which is written in front of it when it is packed
    /// (no copy before). The caller checked [`has_room`](Self::has_room)
    /// and the message's limit.
    pub(crate) fn push_sequenced(&mut self, sequence: u32, message: Bytes) {
        let wire_len = SEQUENCE_PREFIX_BYTES + message.len();
        debug_assert!(wire_len <= MAX_WIRE_BYTES);
        self.bytes[slot(Channel::UnreliableSequenced)] += wire_len;
        self.queued
            .push((Channel::UnreliableSequenced, Some(sequence), message));
    }

    /// Whether messages are queued.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    /// Appends the queued messages to `packets` (renet's packets of the same
    /// flush) as lane packets, in send order, and empties the queue. The
    /// first lane packet is cut to fill the room the bundle leaves after
    /// `packets`; the others to a whole payload each. The flush's byte
    /// budget (`bytes_per_flush`) is shared with renet, as renet's own
    /// channels shared it: messages past what renet's packets left of it are
    /// dropped, as renet dropped unreliable messages. Returns how many.
    pub(crate) fn pack_into(&mut self, packets: &mut Vec<Vec<u8>>, bytes_per_flush: u64) -> u64 {
        if self.queued.is_empty() {
            return 0;
        }
        let used: usize = packets.iter().map(Vec::len).sum();
        let mut budget = usize::try_from(bytes_per_flush)
            .unwrap_or(usize::MAX)
            .saturating_sub(used);
        let mut dropped = 0;
        let mut cap = room_after(packets);
        let mut packet: Vec<u8> = Vec::new();
        let mut open: Option<Channel> = None;
        for (channel, sequence, message) in self.queued.drain(..) {
            let prefix = if sequence.is_some() {
                SEQUENCE_PREFIX_BYTES
            } else {
                0
            };
            let wire_len = prefix + message.len();
            if wire_len > budget {
                dropped += 1;
                continue;
            }
            budget -= wire_len;
            let need = LEN_BYTES + wire_len;
            let fits = open == Some(channel) && packet.len() + need <= cap;
            if !fits {
                if open.is_some() {
                    packets.push(std::mem::take(&mut packet));
                    cap = MAX_BUNDLE_BYTES;
                }
                if HEADER_BYTES + need > cap {
                    cap = MAX_BUNDLE_BYTES;
                }
                packet.reserve(cap);
                packet.extend_from_slice(&[LANE, channel.renet_id()]);
                open = Some(channel);
            }
            // At most MAX_WIRE_BYTES: the length fits 16 bits.
            packet.extend_from_slice(&(wire_len as u16).to_be_bytes());
            if let Some(sequence) = sequence {
                packet.extend_from_slice(&sequence.to_be_bytes());
            }
            packet.extend_from_slice(&message);
        }
        if open.is_some() {
            packets.push(packet);
        }
        self.bytes = [0; 2];
        dropped
    }
}

/// The index of an unreliable channel in [`Lane::bytes`].
const fn slot(channel: Channel) -> usize {
    match channel {
        Channel::UnreliableSequenced => 1,
        Channel::ReliableOrdered | Channel::Unreliable => 0,
    }
}

/// Whether `packet` (a renet packet or a lane packet, from a payload that
/// [`unbundle`](super::bundle::unbundle) accepted) is a lane packet.
pub(crate) fn is_lane(packet: &[u8]) -> bool {
    packet.first() == Some(&LANE)
}

/// Checks a whole lane packet, then hands each message to `deliver` with
/// its channel, in order.
pub(crate) fn read(
    packet: &[u8],
    mut deliver: impl FnMut(Channel, &[u8]),
) -> Result<(), Violation> {
    let (channel, body) = check(packet)?;
    let mut rest = body;
    while let Some((len, tail)) = rest.split_first_chunk::<LEN_BYTES>() {
        let (message, tail) = tail.split_at(usize::from(u16::from_be_bytes(*len)));
        deliver(channel, message);
        rest = tail;
    }
    Ok(())
}

/// The channel and the entries of a lane packet whose every length checks.
fn check(packet: &[u8]) -> Result<(Channel, &[u8]), Violation> {
    let [LANE, id, body @ ..] = packet else {
        return Err(Violation::Malformed);
    };
    let channel = match Channel::from_renet_id(*id) {
        Some(c @ (Channel::Unreliable | Channel::UnreliableSequenced)) => c,
        _ => return Err(Violation::UnknownChannel),
    };
    if body.is_empty() {
        return Err(Violation::Malformed);
    }
    let mut rest = body;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<LEN_BYTES>()
            .ok_or(Violation::Malformed)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if len > tail.len() || len > MAX_WIRE_BYTES {
            return Err(Violation::Malformed);
        }
        if channel == Channel::UnreliableSequenced && len < SEQUENCE_PREFIX_BYTES {
            return Err(Violation::MissingSequence);
        }
        rest = &tail[len..];
    }
    Ok((channel, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rudp::bundle::{Bundler, unbundle};

    fn read_all(payloads: &[Vec<u8>]) -> Vec<(Channel, Vec<u8>)> {
        let mut out = Vec::new();
        for payload in payloads {
            for packet in unbundle(payload).unwrap() {
                if is_lane(packet) {
                    read(packet, |c, m| out.push((c, m.to_vec()))).unwrap();
                } else {
                    out.push((Channel::ReliableOrdered, packet.to_vec()));
                }
            }
        }
        out
    }

    fn flush(lane: &mut Lane, mut packets: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        assert_eq!(lane.pack_into(&mut packets, 60_000), 0);
        let mut payloads = Vec::new();
        Bundler::default().pack(&packets, |p| payloads.push(p.to_vec()));
        payloads
    }

    #[test]
    fn four_relayed_messages_share_a_datagram_where_renet_fits_three() {
        let mut lane = Lane::new(64 * 1024);
        // 305 bytes and the 4-byte sequence number.
        let sent: Vec<(Channel, Vec<u8>)> = (0..12u8)
            .map(|i| {
                let mut wire = u32::from(i).to_be_bytes().to_vec();
                wire.extend(vec![i; 305]);
                (Channel::UnreliableSequenced, wire)
            })
            .collect();
        for (i, (_, m)) in sent.iter().enumerate() {
            lane.push_sequenced(i as u32, Bytes::from(m[4..].to_vec()));
        }
        // renet's acknowledgement packet shares the first datagram.
        let ack = vec![4u8; 12];
        let payloads = flush(&mut lane, vec![ack.clone()]);
        assert_eq!(payloads.len(), 3, "12 messages of 309 bytes, 4 a datagram");
        assert!(payloads.iter().all(|p| p.len() <= MAX_BUNDLE_BYTES));
        let mut expected = vec![(Channel::ReliableOrdered, ack)];
        expected.extend(sent);
        assert_eq!(read_all(&payloads), expected);
        assert!(lane.is_empty());
        assert!(lane.has_room(Channel::UnreliableSequenced, 64 * 1024));
    }

    #[test]
    fn channels_keep_their_order_and_limits_fit() {
        let mut lane = Lane::new(1 << 20);
        let mut sent = Vec::new();
        // Every size class, both channels interleaved, the largest allowed.
        for (i, len) in [0, 4, 7, 300, 1199, 1200, 3, 650, 651, 1200, 5]
            .into_iter()
            .enumerate()
        {
            let c = if i % 3 == 0 {
                Channel::Unreliable
            } else {
                Channel::UnreliableSequenced
            };
            let m = vec![i as u8; len];
            if c == Channel::Unreliable {
                lane.push(Bytes::from(m.clone()));
                sent.push((c, m));
            } else {
                // The prefix is written at packing: the message is 4 bytes
                // shorter than its wire form.
                let sequence = u32::from_be_bytes(m[..4].try_into().unwrap());
                lane.push_sequenced(sequence, Bytes::from(m[4..].to_vec()));
                sent.push((c, m));
            }
        }
        let payloads = flush(&mut lane, Vec::new());
        assert!(payloads.iter().all(|p| p.len() <= MAX_BUNDLE_BYTES));
        assert_eq!(read_all(&payloads), sent);
        // renet's packets first, big ones that leave no room: the lane
        // starts a payload of its own.
        lane.push(Bytes::from(vec![9; 1200]));
        let big = vec![3u8; 1200];
        let payloads = flush(&mut lane, vec![big.clone()]);
        assert_eq!(payloads.len(), 2);
        assert_eq!(
            read_all(&payloads),
            vec![
                (Channel::ReliableOrdered, big),
                (Channel::Unreliable, vec![9; 1200])
            ]
        );
    }

    #[test]
    fn the_budget_is_per_channel_and_resets_at_each_flush() {
        let mut lane = Lane::new(1000);
        assert!(lane.has_room(Channel::Unreliable, 1000));
        lane.push(Bytes::from(vec![0; 600]));
        assert!(!lane.has_room(Channel::Unreliable, 401));
        assert!(lane.has_room(Channel::Unreliable, 400));
        assert!(lane.has_room(Channel::UnreliableSequenced, 1000));
        lane.push_sequenced(7, Bytes::from(vec![0; 996]));
        assert!(!lane.has_room(Channel::UnreliableSequenced, 1));
        let _ = flush(&mut lane, Vec::new());
        assert!(lane.has_room(Channel::UnreliableSequenced, 1000));
        assert!(lane.has_room(Channel::Unreliable, 1000));
    }

    #[test]
    fn the_flush_budget_left_by_renet_drops_the_rest() {
        let mut lane = Lane::new(1 << 20);
        for i in 0..10u8 {
            lane.push(Bytes::from(vec![i; 100]));
        }
        // renet used 1,000 of a 1,450-byte budget: four messages fit.
        let mut packets = vec![vec![0u8; 1000]];
        assert_eq!(lane.pack_into(&mut packets, 1450), 6);
        let mut payloads = Vec::new();
        Bundler::default().pack(&packets, |p| payloads.push(p.to_vec()));
        let got = read_all(&payloads);
        assert_eq!(got.len(), 5, "renet's packet and four messages");
        assert_eq!(got[4], (Channel::Unreliable, vec![3; 100]));
        // Nothing fits: no lane packet at all.
        lane.push(Bytes::from(vec![1; 100]));
        let mut packets = vec![vec![0u8; 1000]];
        assert_eq!(lane.pack_into(&mut packets, 1000), 1);
        assert_eq!(packets.len(), 1);
        assert!(lane.is_empty() && lane.has_room(Channel::Unreliable, 1 << 20));
    }

    #[test]
    fn malformed_lane_packets_are_refused_whole() {
        let cases: [(&[u8], Violation); 8] = [
            (&[LANE], Violation::Malformed),
            (&[LANE, 2], Violation::Malformed),
            (&[LANE, 0, 0, 0], Violation::UnknownChannel),
            (&[LANE, 3, 0, 0], Violation::UnknownChannel),
            (&[LANE, 1, 0], Violation::Malformed),
            (&[LANE, 1, 0, 2, 9], Violation::Malformed),
            (&[LANE, 1, 0, 1, 9, 0], Violation::Malformed),
            (&[4, 1, 0, 0], Violation::Malformed),
        ];
        for (packet, violation) in cases {
            let mut delivered = 0;
            assert_eq!(
                read(packet, |_, _| delivered += 1),
                Err(violation),
                "{packet:?}"
            );
            assert_eq!(delivered, 0, "nothing of a refused packet is delivered");
        }
        // One too long for any channel.
        let mut long = vec![LANE, 1];
        long.extend_from_slice(&1201u16.to_be_bytes());
        long.extend(vec![0; 1201]);
        assert_eq!(read(&long, |_, _| {}), Err(Violation::Malformed));
        // Empty unreliable messages are messages; a sequenced one needs
        // its prefix.
        let mut n = 0;
        assert_eq!(
            read(&[LANE, 1, 0, 0, 0, 0], |_, m| n += 1 + m.len()),
            Ok(())
        );
        assert_eq!(n, 2);
        assert_eq!(
            read(&[LANE, 2, 0, 4, 0, 0, 0, 1, 0, 3, 0, 0, 2], |_, _| n += 1),
            Err(Violation::MissingSequence)
        );
        assert_eq!(n, 2);
    }
}
