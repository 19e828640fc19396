//! Configuration: the transport settings both endpoints share, and the
//! server's netcode settings.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::channel::{MAX_UNRELIABLE_MESSAGE_BYTES, RENET_SLICE_BYTES};
use super::token::{MAX_SERVER_ADDRESSES, PrivateKey};

/// The most clients one [`RudpServer`](super::RudpServer) accepts:
/// renetcode's hard limit (`NETCODE_MAX_CLIENTS`). Run one server per shard
/// to go beyond it.
pub const MAX_CLIENTS: usize = 1024;

/// Per-connection, per-direction buffer limits. renet applies each limit on
/// both ends of the direction: to what the sender keeps unacknowledged and to
/// what the receiver keeps out of order or half reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelMemory {
    /// Reliable channel. When the sender's share is full, `send` returns
    /// [`SendError::ChannelFull`](super::SendError::ChannelFull); when the
    /// receiver's share overflows, the receiver disconnects the peer with
    /// [`Violation::MemoryExceeded`](super::Violation::MemoryExceeded).
    pub reliable_bytes: usize,
    /// Each unreliable channel. Past it, the sender refuses and the receiver
    /// drops.
    pub unreliable_bytes: usize,
}

/// Transport settings. Client and server must use equal values: renet does
/// not negotiate them, and a mismatch looks like a protocol violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RudpConfig {
    /// Largest message on [`Channel::ReliableOrdered`](super::Channel).
    /// renet fragments it into slices of 1200 bytes.
    pub max_reliable_message_bytes: usize,
    /// How long a reliable packet waits for its acknowledgement before it is
    /// sent again. Must exceed the round-trip time plus the peer's tick.
    pub reliable_resend_time: Duration,
    /// Payload bytes renet may emit per connection per flush or tick (its
    /// `available_bytes_per_tick`). Unreliable messages past the budget are
    /// dropped; reliable ones wait for the next flush.
    pub bytes_per_flush: u64,
    /// Limits of the server-to-client direction.
    pub server_to_client: ChannelMemory,
    /// Limits of the client-to-server direction. Smaller than the other way:
    /// this is what a client can make the server hold.
    pub client_to_server: ChannelMemory,
}

impl Default for RudpConfig {
    /// 64 KiB reliable messages, a 300 ms resend timer (renet's default),
    /// 60,000 bytes per flush (renet's default), 1 MiB reliable and 256 KiB
    /// unreliable buffers towards the client, 256 KiB and 64 KiB towards the
    /// server.
    fn default() -> Self {
        Self {
            max_reliable_message_bytes: 64 * 1024,
            reliable_resend_time: Duration::from_millis(300),
            bytes_per_flush: 60_000,
            server_to_client: ChannelMemory {
                reliable_bytes: 1024 * 1024,
                unreliable_bytes: 256 * 1024,
            },
            client_to_server: ChannelMemory {
                reliable_bytes: 256 * 1024,
                unreliable_bytes: 64 * 1024,
            },
        }
    }
}

impl RudpConfig {
    /// The number of slices renet cuts the largest reliable message into.
    pub(crate) const fn max_reliable_slices(&self) -> usize {
        self.max_reliable_message_bytes.div_ceil(RENET_SLICE_BYTES)
    }

    /// Checks that every limit leaves room for the largest message: a
    /// receiver reserves whole slices for a fragmented message, so the
    /// reliable buffers must hold the largest message rounded up to slices.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_reliable_message_bytes == 0 {
            return Err(ConfigError::ZeroReliableMessageSize);
        }
        if self.reliable_resend_time.is_zero() {
            return Err(ConfigError::ZeroResendTime);
        }
        if self.bytes_per_flush < RENET_SLICE_BYTES as u64 + 64 {
            return Err(ConfigError::FlushBudgetTooSmall);
        }
        let reliable_footprint = self.max_reliable_slices().saturating_mul(RENET_SLICE_BYTES);
        for memory in [self.server_to_client, self.client_to_server] {
            if memory.reliable_bytes < reliable_footprint {
                return Err(ConfigError::ReliableMemoryTooSmall);
            }
            if memory.unreliable_bytes < MAX_UNRELIABLE_MESSAGE_BYTES {
                return Err(ConfigError::UnreliableMemoryTooSmall);
            }
        }
        Ok(())
    }
}

/// Everything a [`RudpServer`](super::RudpServer) needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The key connect tokens are sealed with; the same one the token minter
    /// uses ([`mint_connect_token`](super::mint_connect_token)).
    pub private_key: PrivateKey,
    /// Identifies the game and its wire version; tokens for another protocol
    /// id are refused.
    pub protocol_id: u64,
    /// The addresses clients are told to connect to. A token is accepted only
    /// if it names one of them. Every shard behind one SO_REUSEPORT port
    /// lists the same address, so one token is good for whichever shard the
    /// kernel picks.
    pub public_addresses: Vec<SocketAddr>,
    /// At most [`MAX_CLIENTS`]. Further clients get a "connection denied".
    pub max_clients: usize,
    /// Shared transport settings.
    pub transport: RudpConfig,
    /// The tick (resends, acknowledgements, keepalives, timeouts) while a
    /// client is connected: 10 ms by default. Not 0.
    pub tick: Duration,
    /// The tick while no client is connected, when only half-open
    /// handshakes need timing out: 250 ms by default. Not 0.
    pub idle_tick: Duration,
    /// The least time between two flushes of what the application sent:
    /// 0 (at once) by default. Under load a spacing packs more messages
    /// into each datagram, at the cost of up to that much latency.
    pub flush_spacing: Duration,
}

impl ServerConfig {
    /// A configuration with [`MAX_CLIENTS`] slots and the default transport.
    pub fn new(
        private_key: PrivateKey,
        protocol_id: u64,
        public_addresses: Vec<SocketAddr>,
    ) -> Self {
        Self {
            private_key,
            protocol_id,
            public_addresses,
            max_clients: MAX_CLIENTS,
            transport: RudpConfig::default(),
            tick: Duration::from_millis(10),
            idle_tick: Duration::from_millis(250),
            flush_spacing: Duration::ZERO,
        }
    }

    /// Checks the netcode limits, then the transport ([`RudpConfig::validate`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_CLIENTS).contains(&self.max_clients) {
            return Err(ConfigError::MaxClients);
        }
        if !(1..=MAX_SERVER_ADDRESSES).contains(&self.public_addresses.len()) {
            return Err(ConfigError::PublicAddresses);
        }
        if self.tick.is_zero() || self.idle_tick.is_zero() {
            return Err(ConfigError::ZeroTick);
        }
        self.transport.validate()
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// `max_clients` is 0 or above [`MAX_CLIENTS`].
    MaxClients,
    /// No public address, or more than a token can list (32).
    PublicAddresses,
    /// `tick` or `idle_tick` is 0.
    ZeroTick,
    /// `max_reliable_message_bytes` is 0.
    ZeroReliableMessageSize,
    /// `reliable_resend_time` is 0.
    ZeroResendTime,
    /// `bytes_per_flush` cannot carry one full packet.
    FlushBudgetTooSmall,
    /// A reliable buffer cannot hold the largest reliable message.
    ReliableMemoryTooSmall,
    /// An unreliable buffer cannot hold the largest unreliable message.
    UnreliableMemoryTooSmall,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MaxClients => "max_clients must be between 1 and 1024",
            Self::PublicAddresses => "between 1 and 32 public addresses are required",
            Self::ZeroTick => "tick and idle_tick must not be 0",
            Self::ZeroReliableMessageSize => "max_reliable_message_bytes must not be 0",
            Self::ZeroResendTime => "reliable_resend_time must not be 0",
            Self::FlushBudgetTooSmall => "bytes_per_flush must fit at least one full packet",
            Self::ReliableMemoryTooSmall => {
                "reliable channel memory must hold the largest reliable message in whole 1200-byte slices"
            }
            Self::UnreliableMemoryTooSmall => {
                "unreliable channel memory must hold the largest unreliable message"
            }
        })
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(RudpConfig::default().validate(), Ok(()));
        let server = ServerConfig::new(
            PrivateKey::from_bytes([1; 32]),
            7,
            vec![SocketAddr::from(([127, 0, 0, 1], 7350))],
        );
        assert_eq!(server.validate(), Ok(()));
    }

    #[test]
    fn rejects_unworkable_limits() {
        let mut config = RudpConfig::default();
        config.client_to_server.reliable_bytes = config.max_reliable_message_bytes;
        // 64 KiB is 54.6 slices: 55 whole slices do not fit in 64 KiB.
        assert_eq!(config.validate(), Err(ConfigError::ReliableMemoryTooSmall));

        let mut config = RudpConfig::default();
        config.server_to_client.unreliable_bytes = 100;
        assert_eq!(
            config.validate(),
            Err(ConfigError::UnreliableMemoryTooSmall)
        );

        let config = RudpConfig {
            bytes_per_flush: 1000,
            ..RudpConfig::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::FlushBudgetTooSmall));

        let config = RudpConfig {
            max_reliable_message_bytes: usize::MAX,
            ..RudpConfig::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::ReliableMemoryTooSmall));

        let mut server = ServerConfig::new(PrivateKey::from_bytes([1; 32]), 7, vec![]);
        assert_eq!(server.validate(), Err(ConfigError::PublicAddresses));
        server
            .public_addresses
            .push(SocketAddr::from(([127, 0, 0, 1], 1)));
        server.max_clients = MAX_CLIENTS + 1;
        assert_eq!(server.validate(), Err(ConfigError::MaxClients));
        server.max_clients = MAX_CLIENTS;
        server.idle_tick = Duration::ZERO;
        assert_eq!(server.validate(), Err(ConfigError::ZeroTick));
    }
}
