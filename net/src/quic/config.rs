//! Configuration: the transport settings both endpoints share, and the
//! server's own settings.

use std::fmt;
use std::time::Duration;

use quinn_proto::{IdleTimeout, MtuDiscoveryConfig, TransportConfig, VarInt};

use super::cid::MAX_SHARDS;
use super::frame::FRAME_HEADER_BYTES;
use super::tls::ServerTls;

/// Transport settings. Client and server should use equal values; the ones
/// that concern the peer (windows, timeouts, datagram support) are
/// negotiated by QUIC, the frame limits are enforced by each receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicConfig {
    /// Largest reliable message (the payload of one stream frame). A
    /// receiver closes the connection when a frame header announces more;
    /// `send` refuses larger messages.
    pub max_frame_bytes: usize,
    /// Largest session token the server accepts in the client's first frame.
    pub max_token_bytes: usize,
    /// The connection ends after this long without a packet from the peer
    /// (QUIC's `max_idle_timeout`; the smaller of both sides' values wins).
    pub idle_timeout: Duration,
    /// How often the client pings an otherwise silent connection, to keep
    /// it and NAT bindings alive. The server never pings: a client that
    /// stops talking times out. `None` disables the pings.
    pub keep_alive_interval: Option<Duration>,
    /// Time from the start of a connection until it must be authenticated:
    /// on the server, the token must have arrived and the application must
    /// have called `accept` or `reject`; on the client, the server's
    /// acceptance must have arrived. Past it, the connection is closed with
    /// [`CloseReason::AuthTimeout`](super::CloseReason::AuthTimeout).
    pub auth_timeout: Duration,
    /// Reliable bytes (frame headers included) a sender queues per
    /// connection beyond what quinn-proto has taken. `send` fails with
    /// [`SendError::Backpressure`](super::SendError::Backpressure) past it.
    pub max_queued_reliable_bytes: usize,
    /// Reliable bytes quinn-proto keeps per connection until the peer
    /// acknowledges them (its `send_window`).
    pub send_window: u64,
    /// Flow-control credit a receiver grants, per stream and per connection:
    /// the most unread stream data the peer can make it hold.
    pub receive_window: u32,
    /// Bytes of unreliable datagrams buffered each way per connection. Past
    /// it the oldest queued datagrams are dropped, on both ends.
    pub datagram_buffer_bytes: usize,
    /// Path MTU discovery, from 1200 up to 1452 bytes per datagram. Needs a
    /// socket that never fragments (`IP_PMTUDISC_PROBE`, `IPV6_DONTFRAG`);
    /// off by default, so every datagram stays within 1200 bytes of UDP
    /// payload.
    pub mtu_discovery: bool,
}

impl Default for QuicConfig {
    /// 64 KiB messages, 8 KiB tokens, a 15 s idle timeout with client pings
    /// every 5 s, 10 s to authenticate, a 1 MiB send queue plus a 512 KiB
    /// send window, 256 KiB receive windows, 64 KiB datagram buffers, no
    /// MTU discovery.
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024,
            max_token_bytes: 8 * 1024,
            idle_timeout: Duration::from_secs(15),
            keep_alive_interval: Some(Duration::from_secs(5)),
            auth_timeout: Duration::from_secs(10),
            max_queued_reliable_bytes: 1024 * 1024,
            send_window: 512 * 1024,
            receive_window: 256 * 1024,
            datagram_buffer_bytes: 64 * 1024,
            mtu_discovery: false,
        }
    }
}

/// The smallest datagram buffer: room for one datagram of the largest size
/// QUIC lets through a 1500-byte MTU, plus quinn-proto's bookkeeping.
const MIN_DATAGRAM_BUFFER_BYTES: usize = 2048;

impl QuicConfig {
    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_frame_bytes == 0 || self.max_frame_bytes > u32::MAX as usize {
            return Err(ConfigError::FrameSize);
        }
        if self.max_token_bytes == 0 || self.max_token_bytes > u32::MAX as usize {
            return Err(ConfigError::TokenSize);
        }
        if self.idle_timeout.is_zero() || IdleTimeout::try_from(self.idle_timeout).is_err() {
            return Err(ConfigError::IdleTimeout);
        }
        if self
            .keep_alive_interval
            .is_some_and(|k| k.is_zero() || k >= self.idle_timeout)
        {
            return Err(ConfigError::KeepAlive);
        }
        if self.auth_timeout.is_zero() {
            return Err(ConfigError::AuthTimeout);
        }
        let largest = self.max_frame_bytes.max(self.max_token_bytes);
        if self.max_queued_reliable_bytes < largest + FRAME_HEADER_BYTES {
            return Err(ConfigError::QueueTooSmall);
        }
        if self.send_window < 1024 || self.receive_window < 1024 {
            return Err(ConfigError::WindowTooSmall);
        }
        if self.datagram_buffer_bytes < MIN_DATAGRAM_BUFFER_BYTES {
            return Err(ConfigError::DatagramBufferTooSmall);
        }
        Ok(())
    }

    /// quinn-proto's transport settings for one side. Only one stream
    /// exists per connection, opened by the client: the server grants one
    /// bidirectional stream and no unidirectional ones, the client grants
    /// none, so quinn-proto itself closes a connection on any other stream
    /// (`STREAM_LIMIT_ERROR`).
    pub(crate) fn transport(&self, server: bool) -> TransportConfig {
        let mut t = TransportConfig::default();
        let window = VarInt::from_u32(self.receive_window);
        t.max_concurrent_bidi_streams(VarInt::from_u32(u32::from(server)))
            .max_concurrent_uni_streams(VarInt::from_u32(0))
            // Validated: fits.
            .max_idle_timeout(IdleTimeout::try_from(self.idle_timeout).ok())
            .keep_alive_interval(if server {
                None
            } else {
                self.keep_alive_interval
            })
            .stream_receive_window(window)
            .receive_window(window)
            .send_window(self.send_window)
            .datagram_receive_buffer_size(Some(self.datagram_buffer_bytes))
            .datagram_send_buffer_size(self.datagram_buffer_bytes)
            .mtu_discovery_config(self.mtu_discovery.then(MtuDiscoveryConfig::default))
            .enable_segmentation_offload(false);
        t
    }
}

/// When the server answers a new connection attempt with a Retry packet,
/// making the client prove it can receive at its source address before the
/// server keeps any state or does any cryptography for it (RFC 9000,
/// section 8.1.2). A retry costs the client one round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Never: handshakes take one round trip less, and quinn-proto's
    /// anti-amplification limit (at most three times the bytes received
    /// before the address is validated) still keeps the server from being
    /// used to flood spoofed addresses.
    Never,
    /// For every connection.
    Always,
    /// Once this many handshakes are in progress, for every further attempt:
    /// under an Initial flood from spoofed addresses, the server stops
    /// creating state for unvalidated addresses, while normal load pays no
    /// extra round trip.
    WhenHandshakesExceed(usize),
}

/// Everything a [`QuicServer`](super::QuicServer) needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Certificate and key.
    pub tls: ServerTls,
    /// This server's shard index, encoded in every connection id it issues.
    pub shard: u16,
    /// How many shards share the port, for [`shard_of_datagram`](super::shard_of_datagram).
    pub shard_count: usize,
    /// Shared transport settings.
    pub transport: QuicConfig,
    /// Connections (in handshake, open or closing) past which new attempts
    /// are refused with `CONNECTION_REFUSED`.
    pub max_connections: usize,
    /// When to send Retry packets.
    pub retry: RetryPolicy,
}

impl ServerConfig {
    /// A configuration for `shard` of `shard_count`, with 4096 connections,
    /// retries above 64 concurrent handshakes and the default transport.
    pub fn new(tls: ServerTls, shard: u16, shard_count: usize) -> Self {
        Self {
            tls,
            shard,
            shard_count,
            transport: QuicConfig::default(),
            max_connections: 4096,
            retry: RetryPolicy::WhenHandshakesExceed(64),
        }
    }

    /// Checks the shard numbering, then the transport
    /// ([`QuicConfig::validate`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_SHARDS).contains(&self.shard_count)
            || usize::from(self.shard) >= self.shard_count
        {
            return Err(ConfigError::Shard);
        }
        if self.max_connections == 0 {
            return Err(ConfigError::MaxConnections);
        }
        self.transport.validate()
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// `max_frame_bytes` is 0 or above `u32::MAX`.
    FrameSize,
    /// `max_token_bytes` is 0 or above `u32::MAX`.
    TokenSize,
    /// `idle_timeout` is 0 or beyond QUIC's range.
    IdleTimeout,
    /// `keep_alive_interval` is 0 or not below the idle timeout.
    KeepAlive,
    /// `auth_timeout` is 0.
    AuthTimeout,
    /// The send queue cannot hold the largest frame.
    QueueTooSmall,
    /// A window below 1 KiB.
    WindowTooSmall,
    /// The datagram buffers cannot hold one datagram.
    DatagramBufferTooSmall,
    /// `shard_count` is 0 or above 65536, or `shard` is not below it.
    Shard,
    /// `max_connections` is 0.
    MaxConnections,
    /// The operating system's random generator failed.
    Random,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::FrameSize => "max_frame_bytes must be between 1 and 2^32-1",
            Self::TokenSize => "max_token_bytes must be between 1 and 2^32-1",
            Self::IdleTimeout => "idle_timeout must be positive and below 2^62 ms",
            Self::KeepAlive => "keep_alive_interval must be positive and below idle_timeout",
            Self::AuthTimeout => "auth_timeout must not be 0",
            Self::QueueTooSmall => {
                "max_queued_reliable_bytes must hold the largest frame and its header"
            }
            Self::WindowTooSmall => "send_window and receive_window must be at least 1 KiB",
            Self::DatagramBufferTooSmall => "datagram_buffer_bytes must be at least 2048",
            Self::Shard => "shard must be below shard_count, which must be between 1 and 65536",
            Self::MaxConnections => "max_connections must not be 0",
            Self::Random => "the system random generator failed",
        })
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_limits_are_checked() {
        assert_eq!(QuicConfig::default().validate(), Ok(()));
        let bad = |f: fn(&mut QuicConfig)| {
            let mut c = QuicConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert_eq!(bad(|c| c.max_frame_bytes = 0), ConfigError::FrameSize);
        assert_eq!(bad(|c| c.max_token_bytes = 0), ConfigError::TokenSize);
        assert_eq!(
            bad(|c| c.idle_timeout = Duration::ZERO),
            ConfigError::IdleTimeout
        );
        assert_eq!(
            bad(|c| c.keep_alive_interval = Some(Duration::from_secs(15))),
            ConfigError::KeepAlive
        );
        assert_eq!(
            bad(|c| c.auth_timeout = Duration::ZERO),
            ConfigError::AuthTimeout
        );
        assert_eq!(
            bad(|c| c.max_queued_reliable_bytes = c.max_frame_bytes),
            ConfigError::QueueTooSmall
        );
        assert_eq!(bad(|c| c.receive_window = 10), ConfigError::WindowTooSmall);
        assert_eq!(
            bad(|c| c.datagram_buffer_bytes = 1200),
            ConfigError::DatagramBufferTooSmall
        );
    }

    #[test]
    fn shard_numbering_is_checked() {
        let (tls, _) = ServerTls::self_signed(&["localhost".to_string()]).unwrap();
        let mut config = ServerConfig::new(tls, 1, 2);
        assert_eq!(config.validate(), Ok(()));
        config.shard = 2;
        assert_eq!(config.validate(), Err(ConfigError::Shard));
        config.shard = 0;
        config.shard_count = 0;
        assert_eq!(config.validate(), Err(ConfigError::Shard));
        config.shard_count = MAX_SHARDS + 1;
        assert_eq!(config.validate(), Err(ConfigError::Shard));
        config.shard_count = MAX_SHARDS;
        config.max_connections = 0;
        assert_eq!(config.validate(), Err(ConfigError::MaxConnections));
    }
}
