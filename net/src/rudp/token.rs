//! Connect tokens: the netcode credential that lets one client open one
//! connection.
//!
//! The auth API mints a token after it has authenticated the user, and hands
//! the bytes to the client over HTTPS. The token has a private part, sealed
//! with XChaCha20-Poly1305 under the server's [`PrivateKey`]; the client cannot
//! read or alter it. It carries the client id, the timeout, the server
//! addresses, the two per-connection traffic keys and 256 bytes of user
//! data: the application's [`USER_DATA_BYTES`] (Kairos puts the user id and
//! session there), then the two keys that seal payload packets
//! ([`super::seal`]). The public part repeats the addresses and netcode's
//! keys for the client, so that every packet after the connection request
//! is encrypted and authenticated both ways.
//!
//! The bytes are renetcode's layout (`ConnectToken::write`), which is not
//! the 2048-byte public token of the netcode.io standard, followed by the
//! two payload keys (64 bytes) for the client: clients must use
//! [`RudpClient`](super::RudpClient) or reimplement both.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use renetcode::ConnectToken;

use super::seal::{PAYLOAD_KEYS_BYTES, PayloadKeys};

/// Bytes in a [`PrivateKey`].
pub const PRIVATE_KEY_BYTES: usize = renetcode::NETCODE_KEY_BYTES;

/// Bytes of opaque user data in a token, delivered to the server on connect:
/// netcode's 256, less the payload keys that share its sealed room.
pub const USER_DATA_BYTES: usize = renetcode::NETCODE_USER_DATA_BYTES - PAYLOAD_KEYS_BYTES;

/// The most server addresses a token lists.
pub const MAX_SERVER_ADDRESSES: usize = 32;

/// The symmetric key that seals connect tokens. Whoever holds it can mint
/// tokens, so it stays on the servers. Its `Debug` output hides the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey([u8; PRIVATE_KEY_BYTES]);

impl PrivateKey {
    /// A key from its bytes (e.g. decoded from configuration).
    pub const fn from_bytes(bytes: [u8; PRIVATE_KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Self {
        Self(renetcode::generate_random_bytes())
    }

    /// The key bytes.
    pub const fn as_bytes(&self) -> &[u8; PRIVATE_KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// What goes into a connect token.
#[derive(Debug, Clone, Copy)]
pub struct ConnectTokenParams<'a> {
    /// Must equal the server's [`ServerConfig::protocol_id`](super::ServerConfig).
    pub protocol_id: u64,
    /// The connection's identity on the server; unique among its clients (a
    /// second connection with a connected id is ignored).
    pub client_id: u64,
    /// Opaque bytes the server receives in
    /// [`ServerEvent::Connected`](super::ServerEvent::Connected).
    pub user_data: &'a [u8; USER_DATA_BYTES],
    /// Where the client may connect, tried in order; 1 to 32 addresses.
    pub server_addresses: &'a [SocketAddr],
    /// How long the token stays usable for connecting, from `now`. Keep it
    /// short (tens of seconds): a server keeps a half-open handshake until
    /// its token expires.
    pub expire_seconds: u64,
    /// Silence, in seconds, after which either side drops the connection.
    /// At least 1.
    pub timeout_seconds: i32,
    /// The current time as a duration since the UNIX epoch. Servers compare
    /// the expiry with their own `now`, so both must use UNIX time.
    pub now: Duration,
}

/// Mints a connect token and returns its bytes, ready for the client's
/// [`RudpClient::new`](super::RudpClient::new).
///
/// Draws the traffic keys (netcode's and the payload keys) and the nonce
/// from the operating system's random generator; that is the only outside
/// input.
pub fn mint_connect_token(
    key: &PrivateKey,
    params: &ConnectTokenParams<'_>,
) -> Result<Vec<u8>, TokenError> {
    if params.server_addresses.is_empty() {
        return Err(TokenError::NoServerAddress);
    }
    if params.server_addresses.len() > MAX_SERVER_ADDRESSES {
        return Err(TokenError::TooManyServerAddresses);
    }
    if params.timeout_seconds < 1 {
        return Err(TokenError::InvalidTimeout);
    }
    if params.expire_seconds == 0
        || params
            .now
            .as_secs()
            .checked_add(params.expire_seconds)
            .is_none()
    {
        return Err(TokenError::InvalidExpiry);
    }
    let payload_keys = PayloadKeys::generate().to_bytes();
    let mut sealed_data = [0u8; renetcode::NETCODE_USER_DATA_BYTES];
    sealed_data[..USER_DATA_BYTES].copy_from_slice(params.user_data);
    sealed_data[USER_DATA_BYTES..].copy_from_slice(&payload_keys);
    let token = ConnectToken::generate(
        params.now,
        params.protocol_id,
        params.expire_seconds,
        params.client_id,
        params.timeout_seconds,
        params.server_addresses.to_vec(),
        Some(&sealed_data),
        key.as_bytes(),
    )
    .map_err(|_| TokenError::Sealing)?;
    let mut bytes = Vec::with_capacity(1250 + PAYLOAD_KEYS_BYTES);
    token.write(&mut bytes).map_err(|_| TokenError::Sealing)?;
    bytes.extend_from_slice(&payload_keys);
    Ok(bytes)
}

/// Splits the user data sealed in a token, as the server receives it on
/// connect, into the application's part and the payload keys.
pub(crate) fn split_sealed_user_data(
    sealed: &[u8; renetcode::NETCODE_USER_DATA_BYTES],
) -> (Box<[u8; USER_DATA_BYTES]>, PayloadKeys) {
    let mut user_data = Box::new([0u8; USER_DATA_BYTES]);
    user_data.copy_from_slice(&sealed[..USER_DATA_BYTES]);
    let mut keys = [0u8; PAYLOAD_KEYS_BYTES];
    keys.copy_from_slice(&sealed[USER_DATA_BYTES..]);
    (user_data, PayloadKeys::from_bytes(&keys))
}

/// Reads the token bytes a client was given, and checks what renetcode's
/// client would otherwise trip over: at least one server address, an expiry
/// not before creation, a positive timeout, and exactly the payload keys
/// after renetcode's part.
pub(crate) fn decode_connect_token(
    bytes: &[u8],
) -> Result<(ConnectToken, PayloadKeys), TokenError> {
    let mut reader = bytes;
    let token = ConnectToken::read(&mut reader).map_err(|_| TokenError::Malformed)?;
    let keys = <&[u8; PAYLOAD_KEYS_BYTES]>::try_from(reader).ok();
    let well_formed = token.server_addresses[0].is_some()
        && token.expire_timestamp >= token.create_timestamp
        && token.timeout_seconds > 0;
    match keys {
        Some(keys) if well_formed => Ok((token, PayloadKeys::from_bytes(keys))),
        _ => Err(TokenError::Malformed),
    }
}

/// Why a token could not be minted or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// No server address given.
    NoServerAddress,
    /// More than [`MAX_SERVER_ADDRESSES`] given.
    TooManyServerAddresses,
    /// `timeout_seconds` below 1 (netcode would disable the timeout).
    InvalidTimeout,
    /// `expire_seconds` is 0, or the expiry overflows.
    InvalidExpiry,
    /// Encryption or serialization failed.
    Sealing,
    /// The bytes are not a usable token.
    Malformed,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoServerAddress => "a connect token needs at least one server address",
            Self::TooManyServerAddresses => "a connect token lists at most 32 server addresses",
            Self::InvalidTimeout => "the connection timeout must be at least one second",
            Self::InvalidExpiry => "the token expiry must be in the future and representable",
            Self::Sealing => "the connect token could not be sealed",
            Self::Malformed => "malformed connect token",
        })
    }
}

impl std::error::Error for TokenError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(
        addrs: &'a [SocketAddr],
        user_data: &'a [u8; USER_DATA_BYTES],
    ) -> ConnectTokenParams<'a> {
        ConnectTokenParams {
            protocol_id: 7,
            client_id: 42,
            user_data,
            server_addresses: addrs,
            expire_seconds: 30,
            timeout_seconds: 5,
            now: Duration::from_secs(1_700_000_000),
        }
    }

    #[test]
    fn minted_token_reads_back() {
        let addrs = [SocketAddr::from(([10, 0, 0, 1], 7350))];
        let user_data = [9u8; USER_DATA_BYTES];
        let bytes =
            mint_connect_token(&PrivateKey::generate(), &params(&addrs, &user_data)).unwrap();
        let (token, keys) = decode_connect_token(&bytes).unwrap();
        assert_eq!(keys.to_bytes(), bytes[bytes.len() - PAYLOAD_KEYS_BYTES..]);
        assert_eq!(token.client_id, 42);
        assert_eq!(token.protocol_id, 7);
        assert_eq!(token.expire_timestamp, 1_700_000_030);
        assert_eq!(token.server_addresses[0], Some(addrs[0]));
        assert_eq!(token.timeout_seconds, 5);
    }

    #[test]
    fn bad_parameters_and_bytes_are_refused() {
        let addrs = [SocketAddr::from(([10, 0, 0, 1], 7350))];
        let user_data = [0u8; USER_DATA_BYTES];
        let key = PrivateKey::from_bytes([3; 32]);
        let p = params(&addrs, &user_data);
        let err = |p| mint_connect_token(&key, &p).unwrap_err();
        assert_eq!(
            err(ConnectTokenParams {
                server_addresses: &[],
                ..p
            }),
            TokenError::NoServerAddress
        );
        let many = [addrs[0]; 33];
        assert_eq!(
            err(ConnectTokenParams {
                server_addresses: &many,
                ..p
            }),
            TokenError::TooManyServerAddresses
        );
        assert_eq!(
            err(ConnectTokenParams {
                timeout_seconds: 0,
                ..p
            }),
            TokenError::InvalidTimeout
        );
        assert_eq!(
            err(ConnectTokenParams {
                expire_seconds: 0,
                ..p
            }),
            TokenError::InvalidExpiry
        );
        assert_eq!(
            err(ConnectTokenParams {
                expire_seconds: u64::MAX,
                ..p
            }),
            TokenError::InvalidExpiry
        );

        let bytes = mint_connect_token(&key, &p).unwrap();
        assert_eq!(
            decode_connect_token(&bytes[..100]).unwrap_err(),
            TokenError::Malformed
        );
        assert_eq!(
            decode_connect_token(&bytes[..bytes.len() - 1]).unwrap_err(),
            TokenError::Malformed
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode_connect_token(&longer).unwrap_err(),
            TokenError::Malformed
        );
        assert_eq!(
            decode_connect_token(&[0xff; 2048]).unwrap_err(),
            TokenError::Malformed
        );
        assert_eq!(format!("{key:?}"), "PrivateKey(..)");
    }
}
