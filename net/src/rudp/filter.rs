//! Stateless checks on a raw datagram, before renetcode sees it.
//!
//! renetcode reads a packet's sequence-number length from the top four bits
//! of its first byte (0 to 15) and copies that many bytes into an 8-byte
//! array, so a first byte of `0xF5` panics it; and it splits off a 16-byte
//! tag without checking that the bytes after the sequence hold one. Both are
//! reachable from any address that has a connection or a pending handshake,
//! and a spoofed source address is enough. This filter drops such datagrams,
//! and everything else renetcode would only reject later at more cost:
//!
//! * longer than [`MAX_DATAGRAM_BYTES`], which no netcode peer sends;
//! * an unknown packet type, or a type that never travels in this direction
//!   (a server never receives a challenge, a client never receives a
//!   connection request);
//! * a connection request that is not exactly 1078 bytes with a first byte of
//!   0, as the netcode standard requires (renetcode alone accepts longer
//!   ones, which would let a reply approach the request's size);
//! * any other packet with more than 8 sequence bytes, or too short to hold
//!   its prefix, its sequence, and the 16-byte tag;
//! * a sequence number of 2^63 or more, which no peer reaches (one counts
//!   up from 0, a packet at a time). renetcode's replay check adds 256 to
//!   the sequence before it decrypts anything, which overflows near
//!   `u64::MAX`: a panic where overflow is checked (debug builds, found by
//!   the `rudp_datagram` fuzz target), a wrapped comparison elsewhere.
//!
//! The checks read at most the first byte and the length: no state, no
//! allocation, no cryptography.
//!
//! One more rule needs the server's state and lives there: a connection
//! request from an address that already has a connection is dropped.
//! renetcode reads such a packet without any key, and would let it reset
//! the connection's timeout, so anyone spoofing a vanished client's address
//! could keep its slot alive forever.

use std::fmt;

use super::transmit::MAX_DATAGRAM_BYTES;

/// Which way a datagram travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Longer than [`MAX_DATAGRAM_BYTES`].
    TooLong,
    /// Too short for its header and tag.
    TooShort,
    /// Not a netcode packet type.
    UnknownType,
    /// A packet type that never travels this way.
    WrongDirection,
    /// More than 8 sequence bytes.
    BadSequenceLength,
    /// A sequence number no peer reaches (2^63 or more).
    SequenceOutOfRange,
    /// A connection request with the wrong size or prefix.
    BadConnectionRequest,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLong => "datagram too long",
            Self::TooShort => "datagram too short",
            Self::UnknownType => "unknown packet type",
            Self::WrongDirection => "packet type not expected in this direction",
            Self::BadSequenceLength => "sequence number longer than 8 bytes",
            Self::SequenceOutOfRange => "sequence number out of range",
            Self::BadConnectionRequest => "malformed connection request",
        })
    }
}

/// netcode's authentication tag.
pub(crate) const MAC_BYTES: usize = 16;

/// renetcode's own minimum for any packet.
const MIN_PACKET_BYTES: usize = 2 + MAC_BYTES;

/// A netcode connection request: prefix, version (13), protocol id (8),
/// expiry (8), nonce (24), sealed private token (1024).
pub(crate) const CONNECTION_REQUEST_BYTES: usize = 1 + 13 + 8 + 8 + 24 + 1024;

/// netcode packet types (low four bits of the first byte).
pub(crate) mod kind {
    pub(super) const CONNECTION_REQUEST: u8 = 0;
    pub(super) const CONNECTION_DENIED: u8 = 1;
    pub(super) const CHALLENGE: u8 = 2;
    pub(super) const RESPONSE: u8 = 3;
    pub(super) const KEEP_ALIVE: u8 = 4;
    pub(crate) const PAYLOAD: u8 = 5;
    pub(super) const DISCONNECT: u8 = 6;
}

/// Whether `datagram` claims to be a connection request. renetcode reads
/// such a packet without any key, and when it comes from a connected
/// client's address it resets that client's timeout before ignoring it:
/// anyone spoofing the address could keep a vanished client's slot alive
/// forever. The server drops these for connected addresses.
pub(crate) fn is_connection_request(datagram: &[u8]) -> bool {
    datagram.first() == Some(&kind::CONNECTION_REQUEST)
}

/// Whether `datagram` is a payload packet, by its type alone: Kairos opens
/// those itself ([`super::seal`]), renetcode the rest.
pub(crate) fn is_payload_packet(datagram: &[u8]) -> bool {
    datagram
        .first()
        .is_some_and(|prefix| prefix & 0x0F == kind::PAYLOAD)
}

/// Checks `datagram`, travelling `direction`, against the rules above.
pub(crate) fn check_datagram(datagram: &[u8], direction: Direction) -> Result<(), Rejection> {
    if datagram.len() > MAX_DATAGRAM_BYTES {
        return Err(Rejection::TooLong);
    }
    let Some(&prefix) = datagram.first() else {
        return Err(Rejection::TooShort);
    };
    let packet_type = prefix & 0x0F;
    let sequence_bytes = usize::from(prefix >> 4);
    let expected = match direction {
        Direction::ToServer => matches!(
            packet_type,
            kind::CONNECTION_REQUEST
                | kind::RESPONSE
                | kind::KEEP_ALIVE
                | kind::PAYLOAD
                | kind::DISCONNECT
        ),
        Direction::ToClient => matches!(
            packet_type,
            kind::CONNECTION_DENIED
                | kind::CHALLENGE
                | kind::KEEP_ALIVE
                | kind::PAYLOAD
                | kind::DISCONNECT
        ),
    };
    if packet_type > kind::DISCONNECT {
        return Err(Rejection::UnknownType);
    }
    if !expected {
        return Err(Rejection::WrongDirection);
    }
    if packet_type == kind::CONNECTION_REQUEST {
        return if prefix == 0 && datagram.len() == CONNECTION_REQUEST_BYTES {
            Ok(())
        } else {
            Err(Rejection::BadConnectionRequest)
        };
    }
    if sequence_bytes > 8 {
        return Err(Rejection::BadSequenceLength);
    }
    if datagram.len() < MIN_PACKET_BYTES.max(1 + sequence_bytes + MAC_BYTES) {
        return Err(Rejection::TooShort);
    }
    // Little-endian, `sequence_bytes` long: only an 8-byte one can reach
    // 2^63, with the top bit of its last byte.
    if sequence_bytes == 8 && datagram[8] & 0x80 != 0 {
        return Err(Rejection::SequenceOutOfRange);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_no_peer_reaches_are_dropped() {
        // A payload packet (type 5) with 8 sequence bytes, then a tag's room.
        let mut packet = vec![0x85];
        packet.extend_from_slice(&(u64::MAX - 1).to_le_bytes());
        packet.extend_from_slice(&[0u8; 32]);
        assert_eq!(
            check_datagram(&packet, Direction::ToServer),
            Err(Rejection::SequenceOutOfRange)
        );
        assert_eq!(
            check_datagram(&packet, Direction::ToClient),
            Err(Rejection::SequenceOutOfRange)
        );
        packet[1..9].copy_from_slice(&((1u64 << 63) - 1).to_le_bytes());
        assert_eq!(check_datagram(&packet, Direction::ToServer), Ok(()));
    }

    #[test]
    fn connection_requests_must_be_exact() {
        let mut request = vec![0u8; CONNECTION_REQUEST_BYTES];
        assert_eq!(check_datagram(&request, Direction::ToServer), Ok(()));
        assert_eq!(
            check_datagram(&request, Direction::ToClient),
            Err(Rejection::WrongDirection)
        );
        assert_eq!(
            check_datagram(&request[..1077], Direction::ToServer),
            Err(Rejection::BadConnectionRequest)
        );
        request.push(0);
        assert_eq!(
            check_datagram(&request, Direction::ToServer),
            Err(Rejection::BadConnectionRequest)
        );
        request.pop();
        request[0] = 0x10;
        assert_eq!(
            check_datagram(&request, Direction::ToServer),
            Err(Rejection::BadConnectionRequest)
        );
    }

    #[test]
    fn sequence_length_and_tag_are_bounded() {
        // The renetcode panics: 15 sequence bytes; 8 sequence bytes and no tag.
        assert_eq!(
            check_datagram(&[0xF5; 40], Direction::ToServer),
            Err(Rejection::BadSequenceLength)
        );
        assert_eq!(
            check_datagram(&[0x95; 40], Direction::ToServer),
            Err(Rejection::BadSequenceLength)
        );
        assert_eq!(
            check_datagram(&[0x85; 24], Direction::ToServer),
            Err(Rejection::TooShort)
        );
        let mut enough = [0x85; 25];
        enough[8] = 0x05; // a sequence below 2^63
        assert_eq!(check_datagram(&enough, Direction::ToServer), Ok(()));
        assert_eq!(
            check_datagram(&[0x05; 17], Direction::ToServer),
            Err(Rejection::TooShort)
        );
        assert_eq!(check_datagram(&[0x05; 18], Direction::ToServer), Ok(()));
        assert_eq!(
            check_datagram(&[], Direction::ToServer),
            Err(Rejection::TooShort)
        );
        assert_eq!(
            check_datagram(&[0x05; 1401], Direction::ToServer),
            Err(Rejection::TooLong)
        );
    }

    #[test]
    fn types_are_checked_per_direction() {
        let packet = |t: u8| [t; 30];
        for t in [3, 4, 5, 6] {
            assert_eq!(
                check_datagram(&packet(t), Direction::ToServer),
                Ok(()),
                "type {t}"
            );
        }
        for t in [1, 2, 4, 5, 6] {
            assert_eq!(
                check_datagram(&packet(t), Direction::ToClient),
                Ok(()),
                "type {t}"
            );
        }
        assert_eq!(
            check_datagram(&packet(2), Direction::ToServer),
            Err(Rejection::WrongDirection)
        );
        assert_eq!(
            check_datagram(&packet(3), Direction::ToClient),
            Err(Rejection::WrongDirection)
        );
        assert_eq!(
            check_datagram(&packet(7), Direction::ToServer),
            Err(Rejection::UnknownType)
        );
        assert_eq!(
            check_datagram(&packet(0x0F), Direction::ToClient),
            Err(Rejection::UnknownType)
        );
        assert_eq!(Rejection::TooLong.to_string(), "datagram too long");
    }
}
