//! The three delivery guarantees of Kairos over UDP, and their renet
//! channels. Kairos sends unreliable messages on its lane (`lane.rs`),
//! not on renet's unreliable channels; those stay configured (with the
//! same memory bounds) so that what a peer sends on them is still read.

use renet::{ChannelConfig, ConnectionConfig, SendType};

use super::config::{ChannelMemory, RudpConfig};
use super::sequence::SEQUENCE_PREFIX_BYTES;

/// renet splits any message longer than this into slices of this size (its
/// private `SLICE_SIZE`); a shorter message travels inside one packet,
/// together with other small ones.
pub(crate) const RENET_SLICE_BYTES: usize = 1200;

/// Largest message on [`Channel::Unreliable`]: exactly what renet sends
/// without slicing. Kairos never fragments unreliable messages, because losing
/// any fragment would lose the whole message. Longer ones are refused by
/// `send` with [`SendError::MessageTooLarge`](super::SendError::MessageTooLarge).
pub const MAX_UNRELIABLE_MESSAGE_BYTES: usize = RENET_SLICE_BYTES;

/// Largest message on [`Channel::UnreliableSequenced`]: the unreliable limit
/// minus the sequence prefix.
pub const MAX_SEQUENCED_MESSAGE_BYTES: usize = RENET_SLICE_BYTES - SEQUENCE_PREFIX_BYTES;

/// A delivery guarantee. Each direction of a connection has one independent
/// stream of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Every message arrives, exactly once, in send order. Messages larger
    /// than one datagram are fragmented by renet and reassembled, up to
    /// [`RudpConfig::max_reliable_message_bytes`].
    ReliableOrdered,
    /// Messages may be lost or reordered, but never duplicated (netcode's
    /// replay protection drops repeated packets). At most
    /// [`MAX_UNRELIABLE_MESSAGE_BYTES`].
    Unreliable,
    /// Like [`Unreliable`](Self::Unreliable), but a message older than one
    /// already delivered on this channel is dropped: the receiver only ever
    /// moves forward. Meant for state snapshots. At most
    /// [`MAX_SEQUENCED_MESSAGE_BYTES`].
    UnreliableSequenced,
}

impl Channel {
    /// Every channel, in the order the receiver drains them.
    pub const ALL: [Self; 3] = [
        Self::ReliableOrdered,
        Self::Unreliable,
        Self::UnreliableSequenced,
    ];

    /// The renet channel id that carries this channel.
    pub const fn renet_id(self) -> u8 {
        match self {
            Self::ReliableOrdered => 0,
            Self::Unreliable => 1,
            Self::UnreliableSequenced => 2,
        }
    }

    /// The channel carried by renet channel `id`, if any.
    pub const fn from_renet_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(Self::ReliableOrdered),
            1 => Some(Self::Unreliable),
            2 => Some(Self::UnreliableSequenced),
            _ => None,
        }
    }

    /// The largest message `send` accepts on this channel under `config`.
    pub const fn max_message_bytes(self, config: &RudpConfig) -> usize {
        match self {
            Self::ReliableOrdered => config.max_reliable_message_bytes,
            Self::Unreliable => MAX_UNRELIABLE_MESSAGE_BYTES,
            Self::UnreliableSequenced => MAX_SEQUENCED_MESSAGE_BYTES,
        }
    }

    /// Bytes this channel adds in front of each message it hands to renet.
    pub(crate) const fn prefix_bytes(self) -> usize {
        match self {
            Self::UnreliableSequenced => SEQUENCE_PREFIX_BYTES,
            Self::ReliableOrdered | Self::Unreliable => 0,
        }
    }
}

/// The renet configuration both endpoints must share. renet does not
/// negotiate channels: a peer with another configuration is a protocol error.
///
/// The reliable channel comes first, so it gets first call on each flush's
/// byte budget; unreliable messages that no longer fit the budget are
/// dropped, as their contract allows, while reliable ones wait.
pub(crate) fn connection_config(config: &RudpConfig) -> ConnectionConfig {
    ConnectionConfig {
        available_bytes_per_tick: config.bytes_per_flush,
        server_channels_config: channels(config.server_to_client, config),
        client_channels_config: channels(config.client_to_server, config),
    }
}

fn channels(memory: ChannelMemory, config: &RudpConfig) -> Vec<ChannelConfig> {
    Channel::ALL
        .iter()
        .map(|&channel| ChannelConfig {
            channel_id: channel.renet_id(),
            max_memory_usage_bytes: match channel {
                Channel::ReliableOrdered => memory.reliable_bytes,
                Channel::Unreliable | Channel::UnreliableSequenced => memory.unreliable_bytes,
            },
            send_type: match channel {
                Channel::ReliableOrdered => SendType::ReliableOrdered {
                    resend_time: config.reliable_resend_time,
                },
                Channel::Unreliable | Channel::UnreliableSequenced => SendType::Unreliable,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(Channel::from_renet_id(channel.renet_id()), Some(channel));
        }
        assert_eq!(Channel::from_renet_id(3), None);
    }

    #[test]
    fn renet_config_mirrors_kairos_config() {
        let config = RudpConfig::default();
        let renet = connection_config(&config);
        assert_eq!(renet.available_bytes_per_tick, config.bytes_per_flush);
        assert_eq!(renet.server_channels_config.len(), 3);
        let reliable = &renet.client_channels_config[0];
        assert_eq!(reliable.channel_id, Channel::ReliableOrdered.renet_id());
        assert_eq!(
            reliable.max_memory_usage_bytes,
            config.client_to_server.reliable_bytes
        );
        assert!(matches!(
            renet.server_channels_config[2].send_type,
            SendType::Unreliable
        ));
    }
}
