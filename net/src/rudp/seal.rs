//! Payload packets, sealed and opened by Kairos with ring's
//! ChaCha20-Poly1305 rather than by renetcode.
//!
//! renetcode seals every packet with RustCrypto's ChaCha20-Poly1305, whose
//! Poly1305 runs on its portable backend here (see `.cargo/config.toml`).
//! Payload packets carry all of a connection's data, so that AEAD was a
//! third of the server's CPU at UDP saturation, and a quarter of the load
//! generator's. ring's assembly implementation seals and opens a
//! datagram 2.1 to 2.9 times faster, 2.7 times at 1,200 bytes
//! (BENCHMARKS.md, "Payload packets sealed with ring").
//!
//! So payload packets (netcode type 5) never pass through renetcode:
//!
//! * **Keys of their own.** [`mint_connect_token`](super::mint_connect_token)
//!   draws a second pair of keys, [`PayloadKeys`], besides netcode's. The
//!   client reads them from the token's bytes, after renetcode's layout; the
//!   server reads them from the last [`PAYLOAD_KEYS_BYTES`] of the user data
//!   sealed in the token's private part, delivered with the connection.
//!   They are as secret as netcode's own keys, which travel the same two
//!   ways. Separate keys mean that renetcode's packets (handshake,
//!   keepalives, disconnects) and these never share a nonce, whatever
//!   either side's sequence numbers.
//! * **netcode's layout.** A prefix byte (type 5, and the number of
//!   sequence bytes in its top four bits), the sequence number
//!   little-endian in as few bytes as it needs, then the ciphertext and the
//!   16-byte tag. The nonce is four zero bytes and the sequence number; the
//!   additional data is netcode's version string, the protocol id and the
//!   prefix byte. The header filter ([`super::filter`]) applies as before.
//! * **A replay window of its own**, netcode's: a packet older than the 256
//!   most recent, or seen already, is dropped.
//!
//! renetcode still runs the handshake, keepalives, timeouts and
//! disconnects. As it no longer sends payloads, it sends a keepalive every
//! 250 ms each way, and those keep the connection alive on both sides.

use std::fmt;

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

use super::filter::MAC_BYTES as TAG_BYTES;
use super::filter::kind::PAYLOAD;

/// Bytes of one ChaCha20-Poly1305 key.
const KEY_BYTES: usize = 32;

/// Bytes of a [`PayloadKeys`] pair on the wire.
pub(crate) const PAYLOAD_KEYS_BYTES: usize = 2 * KEY_BYTES;

/// netcode's version string, the start of every packet's additional data.
const VERSION_INFO: &[u8; 13] = b"NETCODE 1.02\0";

/// How many recent sequence numbers the replay window remembers (netcode's).
const REPLAY_WINDOW: usize = 256;

/// A connection's two payload keys, one per direction. `Debug` hides them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct PayloadKeys {
    client_to_server: [u8; KEY_BYTES],
    server_to_client: [u8; KEY_BYTES],
}

impl PayloadKeys {
    /// A fresh pair from the operating system's random generator.
    pub(crate) fn generate() -> Self {
        Self {
            client_to_server: renetcode::generate_random_bytes(),
            server_to_client: renetcode::generate_random_bytes(),
        }
    }

    /// The wire form: client-to-server key, then server-to-client key.
    pub(crate) fn to_bytes(self) -> [u8; PAYLOAD_KEYS_BYTES] {
        let mut out = [0u8; PAYLOAD_KEYS_BYTES];
        out[..KEY_BYTES].copy_from_slice(&self.client_to_server);
        out[KEY_BYTES..].copy_from_slice(&self.server_to_client);
        out
    }

    /// Reads the wire form.
    pub(crate) fn from_bytes(bytes: &[u8; PAYLOAD_KEYS_BYTES]) -> Self {
        let mut keys = Self {
            client_to_server: [0; KEY_BYTES],
            server_to_client: [0; KEY_BYTES],
        };
        keys.client_to_server.copy_from_slice(&bytes[..KEY_BYTES]);
        keys.server_to_client.copy_from_slice(&bytes[KEY_BYTES..]);
        keys
    }
}

impl fmt::Debug for PayloadKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PayloadKeys(..)")
    }
}

/// Which end of the connection a [`PayloadSeal`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Client,
    Server,
}

/// One end's payload crypto: the key and sequence number it seals with,
/// and the key and replay window it opens with.
pub(crate) struct PayloadSeal {
    seal_key: LessSafeKey,
    open_key: LessSafeKey,
    /// The sequence number of the next packet sealed.
    next: u64,
    replay: ReplayWindow,
    protocol_id: u64,
}

impl fmt::Debug for PayloadSeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayloadSeal")
            .field("next", &self.next)
            .field("protocol_id", &self.protocol_id)
            .finish_non_exhaustive()
    }
}

impl PayloadSeal {
    /// `end`'s seal for a connection with `keys`, under `protocol_id`.
    pub(crate) fn new(keys: &PayloadKeys, end: End, protocol_id: u64) -> Self {
        let (seal, open) = match end {
            End::Client => (&keys.client_to_server, &keys.server_to_client),
            End::Server => (&keys.server_to_client, &keys.client_to_server),
        };
        Self {
            seal_key: key(seal),
            open_key: key(open),
            next: 0,
            replay: ReplayWindow::default(),
            protocol_id,
        }
    }

    /// Appends `payload` to `out` as a sealed payload packet of
    /// `payload.len() + 18` bytes at most (prefix, up to 8 sequence bytes,
    /// tag; fewer sequence bytes while the number is small).
    pub(crate) fn seal(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        let sequence = self.next;
        self.next += 1;
        let sequence_bytes = sequence_bytes(sequence);
        let prefix = PAYLOAD | ((sequence_bytes as u8) << 4);
        out.push(prefix);
        out.extend_from_slice(&sequence.to_le_bytes()[..sequence_bytes]);
        let start = out.len();
        out.extend_from_slice(payload);
        let aad = additional_data(self.protocol_id, prefix);
        // Fails only for a payload beyond ChaCha20's 256 GiB limit.
        if let Ok(tag) = self.seal_key.seal_in_place_separate_tag(
            nonce(sequence),
            Aad::from(&aad),
            &mut out[start..],
        ) {
            out.extend_from_slice(tag.as_ref());
        }
    }

    /// Opens a payload packet in place and returns its plaintext: `None` if
    /// it is malformed, fails authentication, or replays a sequence number
    /// (too old for the window, or seen already). The header filter has
    /// checked the prefix and the length already; this checks them again.
    pub(crate) fn open<'a>(&mut self, datagram: &'a mut [u8]) -> Option<&'a [u8]> {
        let (&mut prefix, rest) = datagram.split_first_mut()?;
        let sequence_bytes = usize::from(prefix >> 4);
        if prefix & 0x0F != PAYLOAD || sequence_bytes > 8 || rest.len() < sequence_bytes + TAG_BYTES
        {
            return None;
        }
        let (sequence, sealed) = rest.split_at_mut(sequence_bytes);
        let mut le = [0u8; 8];
        le[..sequence_bytes].copy_from_slice(sequence);
        let sequence = u64::from_le_bytes(le);
        if self.replay.seen(sequence) {
            return None;
        }
        let aad = additional_data(self.protocol_id, prefix);
        let plain = self
            .open_key
            .open_in_place(nonce(sequence), Aad::from(&aad), sealed)
            .ok()?;
        self.replay.record(sequence);
        Some(plain)
    }
}

fn key(bytes: &[u8; KEY_BYTES]) -> LessSafeKey {
    // A 32-byte key is exactly what ChaCha20-Poly1305 takes.
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, bytes).expect("a 32-byte key"))
}

/// netcode's nonce: four zero bytes, then the sequence number.
fn nonce(sequence: u64) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&sequence.to_le_bytes());
    Nonce::assume_unique_for_key(nonce)
}

/// netcode's additional data: version string, protocol id, prefix byte.
fn additional_data(protocol_id: u64, prefix: u8) -> [u8; 22] {
    let mut aad = [0u8; 22];
    aad[..13].copy_from_slice(VERSION_INFO);
    aad[13..21].copy_from_slice(&protocol_id.to_le_bytes());
    aad[21] = prefix;
    aad
}

/// The fewest bytes that hold `sequence`, at least one (as netcode writes).
fn sequence_bytes(sequence: u64) -> usize {
    (8 - sequence.leading_zeros() as usize / 8).max(1)
}

/// netcode's replay protection: remembers the most recent sequence number
/// and, per slot of 256, the last number seen in it.
#[derive(Clone)]
struct ReplayWindow {
    most_recent: u64,
    slots: [Option<u64>; REPLAY_WINDOW],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self {
            most_recent: 0,
            slots: [None; REPLAY_WINDOW],
        }
    }
}

impl ReplayWindow {
    /// Whether `sequence` is too old for the window or was seen already.
    fn seen(&self, sequence: u64) -> bool {
        if sequence.saturating_add(REPLAY_WINDOW as u64) <= self.most_recent {
            return true;
        }
        self.slots[slot(sequence)].is_some_and(|seen| seen >= sequence)
    }

    /// Records an authenticated `sequence`.
    fn record(&mut self, sequence: u64) {
        self.most_recent = self.most_recent.max(sequence);
        self.slots[slot(sequence)] = Some(sequence);
    }
}

fn slot(sequence: u64) -> usize {
    (sequence % REPLAY_WINDOW as u64) as usize
}

#[cfg(test)]
mod tests {
    use chacha20poly1305::aead::AeadInPlace;
    use chacha20poly1305::{ChaCha20Poly1305, KeyInit};

    use super::*;

    const PROTOCOL: u64 = 0x4B41_4952_4F53_0004;

    fn pair() -> (PayloadSeal, PayloadSeal, PayloadKeys) {
        let keys = PayloadKeys::generate();
        (
            PayloadSeal::new(&keys, End::Client, PROTOCOL),
            PayloadSeal::new(&keys, End::Server, PROTOCOL),
            keys,
        )
    }

    #[test]
    fn each_end_opens_what_the_other_sealed() {
        let (mut client, mut server, _) = pair();
        for n in 0..600u32 {
            let payload = n.to_le_bytes().repeat(n as usize % 300 + 1);
            let mut up = Vec::new();
            client.seal(&payload, &mut up);
            assert_eq!(server.open(&mut up), Some(&payload[..]));
            let mut down = Vec::new();
            server.seal(&payload, &mut down);
            assert_eq!(client.open(&mut down), Some(&payload[..]));
        }
    }

    #[test]
    fn an_end_cannot_open_its_own_packets() {
        let (mut client, _, _) = pair();
        let mut up = Vec::new();
        client.seal(b"hello", &mut up);
        assert_eq!(client.open(&mut up), None);
    }

    #[test]
    fn replays_and_stale_packets_are_dropped() {
        let (mut client, mut server, _) = pair();
        let sealed: Vec<Vec<u8>> = (0..300)
            .map(|_| {
                let mut out = Vec::new();
                client.seal(b"data", &mut out);
                out
            })
            .collect();
        // Out of order within the window is fine, once each.
        for i in [5usize, 3, 4, 0, 299, 100] {
            assert!(server.open(&mut sealed[i].clone()).is_some(), "packet {i}");
            assert!(server.open(&mut sealed[i].clone()).is_none(), "replay {i}");
        }
        // 299 is the most recent: 43 is more than 256 behind it.
        assert!(server.open(&mut sealed[43].clone()).is_none());
        assert!(server.open(&mut sealed[44].clone()).is_some());
    }

    #[test]
    fn any_flipped_bit_fails_authentication() {
        let (mut client, mut server, _) = pair();
        let mut packet = Vec::new();
        client.seal(b"authenticated", &mut packet);
        for bit in 0..packet.len() * 8 {
            let mut forged = packet.clone();
            forged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(server.open(&mut forged), None, "bit {bit}");
        }
        assert_eq!(server.open(&mut packet), Some(&b"authenticated"[..]));
    }

    #[test]
    fn another_protocol_id_fails_authentication() {
        let keys = PayloadKeys::generate();
        let mut client = PayloadSeal::new(&keys, End::Client, PROTOCOL);
        let mut server = PayloadSeal::new(&keys, End::Server, PROTOCOL + 1);
        let mut packet = Vec::new();
        client.seal(b"x", &mut packet);
        assert_eq!(server.open(&mut packet), None);
    }

    #[test]
    fn truncated_and_mistyped_packets_are_refused() {
        let (mut client, mut server, _) = pair();
        let mut packet = Vec::new();
        client.seal(b"", &mut packet);
        for len in 0..packet.len() {
            assert_eq!(server.open(&mut packet[..len].to_vec()), None, "len {len}");
        }
        let mut keepalive = packet.clone();
        keepalive[0] = (keepalive[0] & 0xF0) | 4;
        assert_eq!(server.open(&mut keepalive), None);
        assert_eq!(server.open(&mut packet), Some(&b""[..]));
    }

    /// The layout is netcode's: RustCrypto's ChaCha20-Poly1305 (the one
    /// renetcode uses) opens a sealed packet with netcode's nonce and
    /// additional data, and sequence numbers take as few bytes as they need.
    #[test]
    fn packets_follow_netcodes_layout() {
        let (mut client, _, keys) = pair();
        let mut packet = Vec::new();
        for _ in 0..=300 {
            packet.clear();
            client.seal(b"netcode payload", &mut packet);
        }
        // Sequence 300 takes two bytes.
        assert_eq!(packet[0], PAYLOAD | (2 << 4));
        assert_eq!(&packet[1..3], &300u16.to_le_bytes());
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&300u64.to_le_bytes());
        let prefix = packet[0];
        let (body, tag) = packet[3..].split_at_mut(15);
        let cipher = ChaCha20Poly1305::new((&keys.client_to_server).into());
        cipher
            .decrypt_in_place_detached(
                (&nonce).into(),
                &additional_data(PROTOCOL, prefix),
                body,
                (&*tag).into(),
            )
            .unwrap();
        assert_eq!(body, b"netcode payload");
        assert_eq!(sequence_bytes(0), 1);
        assert_eq!(sequence_bytes(255), 1);
        assert_eq!(sequence_bytes(256), 2);
        assert_eq!(sequence_bytes(u64::MAX), 8);
    }

    #[test]
    fn keys_read_back_and_hide_from_debug() {
        let keys = PayloadKeys::generate();
        assert_eq!(PayloadKeys::from_bytes(&keys.to_bytes()), keys);
        assert_eq!(format!("{keys:?}"), "PayloadKeys(..)");
        assert_ne!(keys, PayloadKeys::generate());
    }
}
