//! `kairos.net.*`: limits on connections and on how long a client may take
//! to send a request.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::kairos::invalid;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetLimits {
    /// Milliseconds a client has to send a request's whole head (request
    /// line and headers), counted from its first byte (from the accept for
    /// a connection's first request). A client that trickles its headers is
    /// disconnected.
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send a request's whole body, counted
    /// from the end of its headers. Reading a body does not count as work
    /// in progress: a client that withholds its body is disconnected.
    pub body_timeout_ms: u64,
    /// Open HTTP and WebSocket connections one shard serves at most; a
    /// connection past the cap is accepted and closed at once. 0: derived
    /// from the open-files limit, (RLIMIT_NOFILE - 1024) / shards, so that
    /// connections alone never use up the process's file descriptors.
    pub max_connections_per_shard: usize,
    /// Open connections from one IP address that one shard serves at most
    /// (the kernel spreads an address's connections over all shards, so an
    /// address holds at most this many times the shard count); a
    /// connection past the cap is accepted and closed at once. 0: no cap.
    /// Behind a proxy that hides client addresses, raise it or set 0.
    pub max_connections_per_ip: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            max_connections_per_shard: 0,
            max_connections_per_ip: 4096,
        }
    }
}

impl NetLimits {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.header_timeout_ms < 100 {
            return invalid("net.header_timeout_ms", "must be at least 100");
        }
        if self.body_timeout_ms < 100 {
            return invalid("net.body_timeout_ms", "must be at least 100");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_short_deadlines_are_refused() {
        assert!(NetLimits::default().validate().is_ok());
        let short = NetLimits {
            header_timeout_ms: 50,
            ..NetLimits::default()
        };
        let e = short.validate().unwrap_err().0;
        assert!(e.contains("kairos.net.header_timeout_ms"), "{e}");
        let short = NetLimits {
            body_timeout_ms: 0,
            ..NetLimits::default()
        };
        assert!(short.validate().is_err());
    }
}
