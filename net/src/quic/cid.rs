//! Connection ids that name their shard, and the routing of datagrams by
//! them.
//!
//! Every connection id a [`QuicServer`](super::QuicServer) issues is
//! [`LOCAL_CID_LEN`] bytes long: the shard index as a big-endian `u16`, then
//! six bytes from the operating system's secure random generator. Clients put
//! one of these ids in the destination field of every packet they send after
//! the first flight, so [`shard_of_datagram`] can tell, without any state or
//! decryption, which shard owns the connection a datagram belongs to.
//!
//! The shard index is in clear: an observer learns which of the N shards a
//! connection lives on (at most 16 bits, usually far fewer), as with the
//! "plaintext" algorithm of QUIC-LB. The 48 random bits still make the ids
//! of one connection unlinkable to each other beyond that.

use quinn_proto::{ConnectionId, ConnectionIdGenerator, InvalidCid};

use crate::sim::SplitMix64;

/// The length of every connection id a server issues.
pub const LOCAL_CID_LEN: usize = 8;

/// The leading bytes of a connection id that hold the shard index.
pub const SHARD_PREFIX_BYTES: usize = 2;

/// The most shards the connection ids can name (the shard index is a `u16`).
pub const MAX_SHARDS: usize = 1 << 16;

/// QUIC's long-header bit (RFC 9000, section 17.2).
const LONG_HEADER: u8 = 0x80;

/// The long-header packet type of a Handshake packet in QUIC v1 and the
/// drafts quinn-proto speaks (bits 4 and 5 of the first byte).
const HANDSHAKE_TYPE: u8 = 2;

/// The shard a connection id of ours names: its first two bytes, when it has
/// our length. The caller checks the index against its shard count.
pub fn cid_shard(cid: &[u8]) -> Option<u16> {
    if cid.len() != LOCAL_CID_LEN {
        return None;
    }
    Some(u16::from_be_bytes([cid[0], cid[1]]))
}

/// The shard that owns the connection a received datagram belongs to, read
/// from the destination connection id of its first packet; `None` when the
/// datagram names none, so that the shard that received it handles it.
///
/// * Short-header (1-RTT) packets: the eight bytes after the first byte,
///   which are always one of our ids (QUIC does not encode the length of a
///   short header's id; the server knows its own).
/// * Handshake packets: the destination id, if it has our length.
/// * Initial and 0-RTT packets: `None`. Until the server's first reply, their
///   destination id is the client's random choice, and it says nothing about
///   shards. Handshake traffic cannot migrate (RFC 9000, section 9), so the
///   kernel delivers every Initial of a connection to the same socket, and
///   the shard that received the first one owns the connection.
/// * Retry and Version Negotiation packets (never sent to servers),
///   unsupported versions and anything too short: `None`.
///
/// A shard index at or above `shard_count` gives `None`. The result is thus
/// always a valid shard, whatever the bytes: random or hostile input either
/// stays where it landed or goes to one shard, where quinn-proto drops it as
/// an unknown connection (or answers it with a rate-limited stateless
/// reset). Never panics.
pub fn shard_of_datagram(datagram: &[u8], shard_count: usize) -> Option<u16> {
    let first = *datagram.first()?;
    let cid = if first & LONG_HEADER == 0 {
        datagram.get(1..1 + LOCAL_CID_LEN)?
    } else {
        let version = u32::from_be_bytes(datagram.get(1..5)?.try_into().ok()?);
        if !quinn_proto::DEFAULT_SUPPORTED_VERSIONS.contains(&version)
            || (first >> 4) & 0b11 != HANDSHAKE_TYPE
            || usize::from(*datagram.get(5)?) != LOCAL_CID_LEN
        {
            return None;
        }
        datagram.get(6..6 + LOCAL_CID_LEN)?
    };
    let shard = cid_shard(cid)?;
    (usize::from(shard) < shard_count).then_some(shard)
}

/// quinn-proto's source of our connection ids: the shard prefix, then random
/// bytes. Its [`validate`](ConnectionIdGenerator::validate) accepts only ids
/// of this shard, so that a short-header packet for another shard's
/// connection that reaches this endpoint is dropped rather than answered
/// with a stateless reset that would kill the connection.
#[derive(Debug, Clone)]
pub(crate) struct ShardCidGenerator {
    shard: u16,
    random: &'static dyn quinn_proto::rustls::crypto::SecureRandom,
    /// Used only if the system generator ever fails after a first success.
    fallback: SplitMix64,
}

impl ShardCidGenerator {
    /// A generator for `shard`; `None` if the system random generator fails.
    pub(crate) fn new(shard: u16) -> Option<Self> {
        let random = quinn_proto::rustls::crypto::ring::default_provider().secure_random;
        let mut seed = [0u8; 8];
        random.fill(&mut seed).ok()?;
        Some(Self {
            shard,
            random,
            fallback: SplitMix64::new(u64::from_le_bytes(seed)),
        })
    }
}

impl ConnectionIdGenerator for ShardCidGenerator {
    fn generate_cid(&mut self) -> ConnectionId {
        let mut bytes = [0u8; LOCAL_CID_LEN];
        bytes[..SHARD_PREFIX_BYTES].copy_from_slice(&self.shard.to_be_bytes());
        if self.random.fill(&mut bytes[SHARD_PREFIX_BYTES..]).is_err() {
            self.fallback.fill_bytes(&mut bytes[SHARD_PREFIX_BYTES..]);
        }
        ConnectionId::new(&bytes)
    }

    fn validate(&self, cid: &ConnectionId) -> Result<(), InvalidCid> {
        match cid_shard(cid) {
            Some(shard) if shard == self.shard => Ok(()),
            _ => Err(InvalidCid),
        }
    }

    fn cid_len(&self) -> usize {
        LOCAL_CID_LEN
    }

    fn cid_lifetime(&self) -> Option<std::time::Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short(cid: &[u8]) -> Vec<u8> {
        let mut d = vec![0x40];
        d.extend_from_slice(cid);
        d.extend_from_slice(&[0xAA; 30]);
        d
    }

    fn long(first: u8, version: u32, cid: &[u8]) -> Vec<u8> {
        let mut d = vec![first];
        d.extend_from_slice(&version.to_be_bytes());
        d.push(cid.len() as u8);
        d.extend_from_slice(cid);
        d.extend_from_slice(&[0; 40]);
        d
    }

    #[test]
    fn generated_ids_carry_the_shard_and_validate_only_there() {
        let mut gen3 = ShardCidGenerator::new(3).unwrap();
        let gen4 = ShardCidGenerator::new(4).unwrap();
        let a = gen3.generate_cid();
        let b = gen3.generate_cid();
        assert_eq!(a.len(), LOCAL_CID_LEN);
        assert_eq!(cid_shard(&a), Some(3));
        assert_ne!(a, b, "random tails");
        assert!(gen3.validate(&a).is_ok());
        assert!(gen4.validate(&a).is_err());
        assert!(gen3.validate(&ConnectionId::new(&[0, 3, 1])).is_err());
    }

    #[test]
    fn routes_short_and_handshake_packets_by_their_id() {
        let cid = [0, 1, 9, 9, 9, 9, 9, 9];
        assert_eq!(shard_of_datagram(&short(&cid), 2), Some(1));
        // Greased fixed bit (RFC 9287) is still a short header.
        let mut greased = short(&cid);
        greased[0] = 0x01;
        assert_eq!(shard_of_datagram(&greased, 2), Some(1));
        assert_eq!(shard_of_datagram(&long(0xE0, 1, &cid), 2), Some(1));
        // Out-of-range shard.
        assert_eq!(shard_of_datagram(&short(&cid), 1), None);
        assert_eq!(
            shard_of_datagram(&short(&[1, 0, 0, 0, 0, 0, 0, 0]), 256),
            None
        );
        assert_eq!(
            shard_of_datagram(&short(&[1, 0, 0, 0, 0, 0, 0, 0]), 257),
            Some(256)
        );
    }

    #[test]
    fn initial_zero_rtt_retry_and_odd_packets_stay_put() {
        let cid = [0, 1, 9, 9, 9, 9, 9, 9];
        assert_eq!(shard_of_datagram(&long(0xC0, 1, &cid), 2), None, "Initial");
        assert_eq!(shard_of_datagram(&long(0xD0, 1, &cid), 2), None, "0-RTT");
        assert_eq!(shard_of_datagram(&long(0xF0, 1, &cid), 2), None, "Retry");
        assert_eq!(shard_of_datagram(&long(0x80, 0, &cid), 2), None, "VN");
        assert_eq!(shard_of_datagram(&long(0xE0, 7, &cid), 2), None, "version");
        assert_eq!(shard_of_datagram(&long(0xE0, 1, &cid[..5]), 2), None);
        assert_eq!(shard_of_datagram(&[], 2), None);
        assert_eq!(shard_of_datagram(&[0x40, 0, 1], 2), None, "truncated");
        assert_eq!(shard_of_datagram(&long(0xE0, 1, &cid)[..9], 2), None);
    }

    #[test]
    fn random_bytes_route_within_bounds() {
        let mut rng = SplitMix64::new(9);
        let mut routed = 0;
        for i in 0..50_000u64 {
            let mut d = vec![0u8; rng.below(64) as usize];
            rng.fill_bytes(&mut d);
            let shards = 1 + (i % 7) as usize;
            if let Some(s) = shard_of_datagram(&d, shards) {
                assert!(usize::from(s) < shards);
                routed += 1;
            }
        }
        assert!(routed > 0);
        assert_eq!(shard_of_datagram(&[0x40; 20], 0), None, "no shards");
    }
}
