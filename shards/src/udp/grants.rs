//! Minting reliable-UDP connect tokens: what the HTTP route hands a
//! client that proved its session, sealed with the node's key so that any
//! shard (and any node sharing the key) accepts it.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use kairos_core::config::UdpConfig;
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::grant::SessionGrant;
use kairos_net::rudp::{ConnectTokenParams, PrivateKey, mint_connect_token};

/// Identifies Kairos's UDP protocol and its version: tokens for another
/// protocol id are refused. Version 2: payloads may bundle several renet
/// packets (`kairos_net::rudp::bundle`). Version 3: unreliable messages
/// travel in lane packets, outside renet (`kairos_net::rudp`, "Layers").
/// Version 4: payload packets are sealed with keys of their own, which the
/// token carries (`kairos_net::rudp::seal`).
pub const PROTOCOL_ID: u64 = 0x4B41_4952_4F53_0004;

/// The node's connect-token settings, shared by every shard.
pub struct UdpGrants {
    pub key: PrivateKey,
    expire_seconds: u64,
    timeout_seconds: i32,
    /// The address tokens name, known once shard 0 has bound the port.
    public: OnceLock<SocketAddr>,
    configured_public: String,
}

/// Time since the UNIX epoch, the clock netcode's tokens use.
pub fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl UdpGrants {
    /// From `udp.*`; the key is the configured one or a fresh random one.
    pub fn new(cfg: &UdpConfig) -> UdpGrants {
        let key = base64::engine::general_purpose::STANDARD
            .decode(&cfg.private_key)
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .map(PrivateKey::from_bytes)
            .unwrap_or_else(PrivateKey::generate);
        UdpGrants {
            key,
            expire_seconds: cfg.connect_token_expiry_sec,
            timeout_seconds: cfg.timeout_sec,
            public: OnceLock::new(),
            configured_public: cfg.public_address.clone(),
        }
    }

    /// Records the bound address; the public one is `udp.public_address`
    /// when set, else the bound address (127.0.0.1 if bound to all
    /// interfaces).
    pub fn set_bound(&self, bound: SocketAddr) -> Result<SocketAddr, String> {
        let public = if self.configured_public.is_empty() {
            let mut a = bound;
            if a.ip().is_unspecified() {
                a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            a
        } else {
            self.configured_public.parse().map_err(|_| {
                format!(
                    "udp.public_address: not host:port: {}",
                    self.configured_public
                )
            })?
        };
        Ok(*self.public.get_or_init(|| public))
    }

    /// The address clients connect to.
    pub fn public_address(&self) -> Option<SocketAddr> {
        self.public.get().copied()
    }

    pub fn expire_seconds(&self) -> u64 {
        self.expire_seconds
    }

    /// A connect token for this session, and the address to use it on.
    pub fn mint(&self, grant: &SessionGrant) -> ApiResult<(Vec<u8>, SocketAddr)> {
        let addr = self
            .public_address()
            .ok_or_else(|| ApiError::unavailable("Reliable UDP is not serving."))?;
        let user_data = grant
            .encode()
            .ok_or_else(|| ApiError::invalid("Username too long for a connect token."))?;
        let token = mint_connect_token(
            &self.key,
            &ConnectTokenParams {
                protocol_id: PROTOCOL_ID,
                client_id: rand::random(),
                user_data: &user_data,
                server_addresses: &[addr],
                expire_seconds: self.expire_seconds,
                timeout_seconds: self.timeout_seconds,
                now: unix_now(),
            },
        )
        .map_err(|e| ApiError::internal(format!("minting a connect token: {e:?}")))?;
        Ok((token, addr))
    }
}
