//! Checks on a decrypted renet packet from an authenticated peer, before
//! renet sees it.
//!
//! Encryption keeps strangers out, but every player holds the keys of their
//! own connection, so a modified client can send renet any packet it likes.
//! renet 2.0.1 trusts the slice headers of fragmented messages: a slice
//! whose index is not below its slice count, or a slice whose count differs
//! from the count of an earlier slice of the same message, indexes past its
//! reassembly buffer and panics (and the count mismatch also corrupts its
//! memory accounting). The guard rejects such packets:
//!
//! * reliable slices must have `index < count <= max` (the most slices the
//!   largest reliable message needs), and every slice of one message the
//!   same count, for as long as renet may still be reassembling it (until
//!   the message has been delivered; renet ignores its slices after that);
//! * unreliable slices are rejected outright: Kairos never sends unreliable
//!   messages larger than one packet, so no honest peer produces them.
//!
//! Everything else (small-message packets, acks) renet parses and validates
//! itself without panicking; the guard lets it through.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use super::channel::{Channel, RENET_SLICE_BYTES};
use super::config::RudpConfig;

/// renet packet types (first byte).
const RELIABLE_SLICE: u8 = 2;
const UNRELIABLE_SLICE: u8 = 3;
const ACK: u8 = 4;

/// Whether a renet packet carries messages rather than only
/// acknowledgements: only those need acknowledging soon (see
/// [`Peer::wants_tick_flush`](super::peer::Peer::wants_tick_flush)).
pub(crate) fn carries_messages(packet: &[u8]) -> bool {
    packet.first().is_some_and(|&kind| kind != ACK)
}

/// How a peer broke the protocol. The connection is closed with
/// [`DisconnectReason::Protocol`](super::DisconnectReason::Protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// renet could not parse a packet.
    Malformed,
    /// A packet named a channel that does not exist.
    UnknownChannel,
    /// A fragment of an unreliable message (Kairos never fragments those).
    UnexpectedSlice,
    /// A fragment with an impossible index or count.
    InvalidSlice,
    /// More half-reassembled reliable messages than the reliable buffer
    /// could hold.
    TooManyPartialMessages,
    /// The peer sent more reliable data than the receive buffer holds.
    MemoryExceeded,
    /// A sequenced message shorter than its sequence prefix.
    MissingSequence,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed packet",
            Self::UnknownChannel => "unknown channel",
            Self::UnexpectedSlice => "fragmented unreliable message",
            Self::InvalidSlice => "invalid message fragment",
            Self::TooManyPartialMessages => "too many partial messages",
            Self::MemoryExceeded => "receive buffer exceeded",
            Self::MissingSequence => "sequenced message without sequence number",
        })
    }
}

impl Violation {
    /// The violation behind a renet disconnect reason. renet's own reasons
    /// for local causes (which Kairos never triggers) map to `Malformed`.
    pub(crate) fn from_renet(reason: renet::DisconnectReason) -> Self {
        use renet::{ChannelError, DisconnectReason as R};
        match reason {
            R::ReceivedInvalidChannelId(_) => Self::UnknownChannel,
            R::SendChannelError { error, .. } | R::ReceiveChannelError { error, .. } => match error
            {
                ChannelError::ReliableChannelMaxMemoryReached => Self::MemoryExceeded,
                ChannelError::InvalidSliceMessage => Self::InvalidSlice,
            },
            R::PacketSerialization(_)
            | R::PacketDeserialization(_)
            | R::Transport
            | R::DisconnectedByClient
            | R::DisconnectedByServer => Self::Malformed,
        }
    }
}

/// Per-connection state of the check on inbound renet packets.
///
/// Invariant: `partial` maps every reliable message id at or above
/// `delivered` for which a slice was let through to that slice's count, so
/// no two slices renet may combine ever disagree on the count.
#[derive(Debug, Clone)]
pub(crate) struct PayloadGuard {
    max_slices: u64,
    max_partial: usize,
    /// Reliable messages handed to the application: renet's next expected
    /// message id.
    delivered: u64,
    partial: BTreeMap<u64, u64>,
}

impl PayloadGuard {
    /// A guard for packets on a direction whose reliable receive buffer is
    /// `reliable_bytes`.
    pub(crate) fn new(config: &RudpConfig, reliable_bytes: usize) -> Self {
        Self {
            max_slices: config.max_reliable_slices() as u64,
            // renet reserves at least one slice per partial message, so an
            // honest peer stays below this.
            max_partial: reliable_bytes / RENET_SLICE_BYTES + 1,
            delivered: 0,
            partial: BTreeMap::new(),
        }
    }

    /// Checks one decrypted renet packet.
    pub(crate) fn check(&mut self, packet: &[u8]) -> Result<(), Violation> {
        let mut reader = Reader(packet);
        match reader.u8() {
            None => Err(Violation::Malformed),
            Some(UNRELIABLE_SLICE) => Err(Violation::UnexpectedSlice),
            Some(RELIABLE_SLICE) => self
                .check_reliable_slice(&mut reader)
                .ok_or(Violation::Malformed)?,
            Some(_) => Ok(()),
        }
    }

    /// `None` if the header is truncated.
    fn check_reliable_slice(&mut self, reader: &mut Reader<'_>) -> Option<Result<(), Violation>> {
        let _packet_sequence = reader.varint()?;
        let channel = reader.u8()?;
        let message_id = reader.varint()?;
        let index = reader.varint()?;
        let count = reader.varint()?;
        if channel != Channel::ReliableOrdered.renet_id() {
            return Some(Err(Violation::UnknownChannel));
        }
        if count == 0 || count > self.max_slices || index >= count {
            return Some(Err(Violation::InvalidSlice));
        }
        if message_id < self.delivered {
            return Some(Ok(()));
        }
        let partial_len = self.partial.len();
        Some(match self.partial.entry(message_id) {
            Entry::Occupied(known) if *known.get() != count => Err(Violation::InvalidSlice),
            Entry::Occupied(_) => Ok(()),
            Entry::Vacant(_) if partial_len >= self.max_partial => {
                Err(Violation::TooManyPartialMessages)
            }
            Entry::Vacant(new) => {
                new.insert(count);
                Ok(())
            }
        })
    }

    /// Records that renet handed one more reliable message to the
    /// application, and forgets the slice counts renet no longer uses.
    pub(crate) fn delivered_reliable(&mut self) {
        self.delivered += 1;
        while let Some(entry) = self.partial.first_entry() {
            if *entry.key() >= self.delivered {
                break;
            }
            entry.remove();
        }
    }
}

/// A cursor over renet's wire format (QUIC variable-length integers).
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    /// A QUIC varint: the top two bits of the first byte give the length (1,
    /// 2, 4 or 8 bytes), the rest is the big-endian value.
    fn varint(&mut self) -> Option<u64> {
        let first = self.u8()?;
        let len = 1usize << (first >> 6);
        let mut value = u64::from(first & 0x3F);
        for _ in 1..len {
            value = (value << 8) | u64::from(self.u8()?);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reliable slice header, with one-byte varints.
    fn slice(channel: u8, message_id: u8, index: u8, count: u8) -> Vec<u8> {
        vec![
            RELIABLE_SLICE,
            0,
            channel,
            message_id,
            index,
            count,
            1,
            0xAA,
        ]
    }

    fn guard() -> PayloadGuard {
        let config = RudpConfig::default();
        PayloadGuard::new(&config, config.client_to_server.reliable_bytes)
    }

    #[test]
    fn varints_decode_like_quic() {
        let mut r = Reader(&[0x25, 0x7B, 0xBD, 0x9D, 0x7F, 0x3E, 0x7D]);
        assert_eq!(r.varint(), Some(37));
        assert_eq!(r.varint(), Some(15_293));
        assert_eq!(r.varint(), Some(494_878_333));
        assert_eq!(
            Reader(&[0xC2, 0x19, 0x7C, 0x5E, 0xFF, 0x14, 0xE8, 0x8C]).varint(),
            Some(151_288_809_941_952_652)
        );
        assert_eq!(Reader(&[0x40]).varint(), None);
    }

    #[test]
    fn slices_must_be_in_range_and_consistent() {
        let mut g = guard();
        assert_eq!(g.check(&slice(0, 0, 0, 3)), Ok(()));
        assert_eq!(g.check(&slice(0, 0, 2, 3)), Ok(()));
        assert_eq!(
            g.check(&slice(0, 0, 1, 4)),
            Err(Violation::InvalidSlice),
            "count changed"
        );
        assert_eq!(
            g.check(&slice(0, 1, 3, 3)),
            Err(Violation::InvalidSlice),
            "index == count"
        );
        assert_eq!(
            g.check(&slice(0, 1, 0, 0)),
            Err(Violation::InvalidSlice),
            "no slices"
        );
        assert_eq!(
            g.check(&slice(0, 1, 0, 56)),
            Err(Violation::InvalidSlice),
            "above 64 KiB"
        );
        assert_eq!(g.check(&slice(1, 1, 0, 2)), Err(Violation::UnknownChannel));
        assert_eq!(
            g.check(&[UNRELIABLE_SLICE, 0, 1]),
            Err(Violation::UnexpectedSlice)
        );
        assert_eq!(g.check(&[RELIABLE_SLICE, 0, 0]), Err(Violation::Malformed));
        assert_eq!(g.check(&[]), Err(Violation::Malformed));
        assert_eq!(g.check(&[0, 1, 2, 3]), Ok(()), "small messages pass");
    }

    #[test]
    fn acks_carry_no_messages() {
        assert!(!carries_messages(&[ACK, 0, 0, 0, 0]));
        assert!(carries_messages(&slice(0, 0, 0, 2)));
        assert!(carries_messages(&[1, 0, 1, 0, 0]));
    }

    #[test]
    fn delivered_messages_are_forgotten() {
        let mut g = guard();
        assert_eq!(g.check(&slice(0, 0, 0, 2)), Ok(()));
        assert_eq!(g.check(&slice(0, 1, 0, 2)), Ok(()));
        g.delivered_reliable();
        assert_eq!(g.partial.len(), 1);
        // renet ignores slices of delivered messages, so any count is harmless.
        assert_eq!(g.check(&slice(0, 0, 4, 5)), Ok(()));
        assert_eq!(g.check(&slice(0, 1, 0, 5)), Err(Violation::InvalidSlice));
    }

    #[test]
    fn partial_messages_are_bounded() {
        let config = RudpConfig::default();
        let mut g = PayloadGuard::new(&config, 2 * RENET_SLICE_BYTES);
        for id in 0..3 {
            assert_eq!(g.check(&slice(0, id, 0, 2)), Ok(()));
        }
        assert_eq!(
            g.check(&slice(0, 3, 0, 2)),
            Err(Violation::TooManyPartialMessages)
        );
    }

    #[test]
    fn renet_reasons_map_to_violations() {
        use renet::{ChannelError, DisconnectReason as R};
        assert_eq!(
            Violation::from_renet(R::ReceivedInvalidChannelId(9)),
            Violation::UnknownChannel
        );
        let memory = R::ReceiveChannelError {
            channel_id: 0,
            error: ChannelError::ReliableChannelMaxMemoryReached,
        };
        assert_eq!(Violation::from_renet(memory), Violation::MemoryExceeded);
        assert_eq!(Violation::from_renet(R::Transport), Violation::Malformed);
    }
}
