//! Several renet packets in one datagram.
//!
//! renet builds one packet per channel per flush (many small messages of a
//! channel share one packet, up to 1,200 bytes), plus a separate packet for
//! its acknowledgements, and renetcode encrypts each packet into a datagram
//! of its own. A flush that carries messages on one channel and
//! acknowledgements therefore costs two datagrams, each with its own
//! encryption, system call and trip through the kernel's UDP stack: the
//! stack's cost per datagram, not per byte, is what limits a loopback
//! sender (`machine-limits.md`). So both endpoints pack the packets of one
//! flush, in order, into as few netcode payloads as fit
//! [`MAX_BUNDLE_BYTES`]:
//!
//! ```text
//! payload = packet                            one renet packet, as renet wrote it,
//!                                             or one lane packet (`lane.rs`)
//!         | BUNDLE (len:u16be packet){1,}     several, in order
//! ```
//!
//! A lone packet travels bare, so a flush with one packet is byte for byte
//! what it was before bundles. [`BUNDLE`] is a first byte renet never
//! writes (its packet types are 0 to 4), nor the lane (`LANE`), so the
//! receiver tells the forms apart. A bundle never nests, and none of its
//! packets is empty: a payload that breaks these rules, or whose lengths
//! do not add up exactly, is a protocol violation
//! ([`Violation::Malformed`]).

use super::guard::Violation;

/// The first byte of a payload that carries several renet packets.
pub(crate) const BUNDLE: u8 = 0xB7;

/// The most bytes in one netcode payload: renetcode refuses more, and
/// with its header and tag this keeps every datagram at or below 1,325
/// bytes, inside a 1,500-byte MTU (see
/// [`MAX_DATAGRAM_BYTES`](super::MAX_DATAGRAM_BYTES)).
pub const MAX_BUNDLE_BYTES: usize = renetcode::NETCODE_MAX_PAYLOAD_BYTES;

/// Bytes each packet adds to a bundle in front of itself: its length.
pub(crate) const LEN_BYTES: usize = 2;

/// Packs renet packets into payloads; keeps its buffer between flushes.
#[derive(Debug, Default, Clone)]
pub(crate) struct Bundler {
    buf: Vec<u8>,
}

impl Bundler {
    /// Calls `emit` with each payload of `packets`, in order: consecutive
    /// packets share a bundle while it stays within [`MAX_BUNDLE_BYTES`]; a
    /// packet alone (or too large to share) goes bare. Returns how many
    /// payloads were emitted.
    pub(crate) fn pack(&mut self, packets: &[Vec<u8>], mut emit: impl FnMut(&[u8])) -> usize {
        let mut emitted = 0;
        let mut start = 0;
        while start < packets.len() {
            let mut end = start + 1;
            let mut size = 1 + LEN_BYTES + packets[start].len();
            while let Some(next) = packets.get(end) {
                let grown = size + LEN_BYTES + next.len();
                if grown > MAX_BUNDLE_BYTES {
                    break;
                }
                size = grown;
                end += 1;
            }
            if end - start == 1 {
                emit(&packets[start]);
            } else {
                self.buf.clear();
                self.buf.push(BUNDLE);
                for packet in &packets[start..end] {
                    // A packet in a bundle of at most MAX_BUNDLE_BYTES is
                    // shorter than 64 KiB.
                    self.buf
                        .extend_from_slice(&(packet.len() as u16).to_be_bytes());
                    self.buf.extend_from_slice(packet);
                }
                debug_assert_eq!(self.buf.len(), size);
                emit(&self.buf);
            }
            emitted += 1;
            start = end;
        }
        emitted
    }
}

/// The largest packet that would still join the last payload
/// [`Bundler::pack`] makes of `packets` ([`MAX_BUNDLE_BYTES`] when there are
/// none: it would travel bare).
pub(crate) fn room_after(packets: &[Vec<u8>]) -> usize {
    let mut size = 0;
    for packet in packets {
        let grown = size + LEN_BYTES + packet.len();
        size = if size == 0 || grown > MAX_BUNDLE_BYTES {
            1 + LEN_BYTES + packet.len()
        } else {
            grown
        };
    }
    if size == 0 {
        return MAX_BUNDLE_BYTES;
    }
    MAX_BUNDLE_BYTES.saturating_sub(size + LEN_BYTES)
}

/// The renet packets of one received payload, checked in full before the
/// first is handed out: a malformed bundle is refused as a whole.
pub(crate) fn unbundle(payload: &[u8]) -> Result<Packets<'_>, Violation> {
    let Some((&BUNDLE, mut rest)) = payload.split_first() else {
        return Ok(Packets::Bare(Some(payload)));
    };
    let body = rest;
    if rest.is_empty() {
        return Err(Violation::Malformed);
    }
    while !rest.is_empty() {
        let packet = take(&mut rest)?;
        if packet.first() == Some(&BUNDLE) {
            return Err(Violation::Malformed);
        }
    }
    Ok(Packets::Bundle(body))
}

/// One length-prefixed packet off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], Violation> {
    let (len, tail) = rest
        .split_first_chunk::<LEN_BYTES>()
        .ok_or(Violation::Malformed)?;
    let len = usize::from(u16::from_be_bytes(*len));
    if len == 0 || len > tail.len() {
        return Err(Violation::Malformed);
    }
    let (packet, tail) = tail.split_at(len);
    *rest = tail;
    Ok(packet)
}

/// The packets of a payload that [`unbundle`] checked, in order.
#[derive(Debug, Clone)]
pub(crate) enum Packets<'a> {
    Bare(Option<&'a [u8]>),
    /// What follows the bundle's first byte.
    Bundle(&'a [u8]),
}

impl<'a> Iterator for Packets<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Self::Bare(packet) => packet.take(),
            Self::Bundle([]) => None,
            // Checked by `unbundle`.
            Self::Bundle(rest) => take(rest).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let n = Bundler::default().pack(packets, |p| out.push(p.to_vec()));
        assert_eq!(n, out.len());
        out
    }

    fn unpacked(payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
        payloads
            .iter()
            .flat_map(|p| unbundle(p).unwrap().map(<[u8]>::to_vec).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn a_lone_packet_travels_bare() {
        let packets = vec![vec![1, 2, 3]];
        assert_eq!(packed(&packets), packets);
        assert_eq!(unpacked(&packets), packets);
        assert!(packed(&[]).is_empty());
    }

    #[test]
    fn small_packets_share_one_payload_in_order() {
        let packets = vec![vec![1; 70], vec![4; 9], vec![0; 300]];
        let payloads = packed(&packets);
        assert_eq!(payloads.len(), 1);
        assert_eq!(payloads[0][0], BUNDLE);
        assert_eq!(payloads[0].len(), 1 + 3 * LEN_BYTES + 379);
        assert_eq!(unpacked(&payloads), packets);
    }

    #[test]
    fn no_payload_exceeds_the_budget() {
        // Sizes around the budget's edges, in many orders.
        let sizes = [1, 2, 600, 647, 648, 649, 1200, 1297, 1298, 1300, 5, 1290];
        for rotation in 0..sizes.len() {
            let packets: Vec<Vec<u8>> = sizes
                .iter()
                .cycle()
                .skip(rotation)
                .take(sizes.len() * 2)
                .enumerate()
                .map(|(i, &n)| vec![(i % 4) as u8; n])
                .collect();
            let payloads = packed(&packets);
            assert!(payloads.iter().all(|p| p.len() <= MAX_BUNDLE_BYTES));
            assert!(payloads.len() < packets.len(), "some packets share");
            assert_eq!(unpacked(&payloads), packets);
        }
        // Two packets that fill a bundle exactly, and one byte too many.
        let both = MAX_BUNDLE_BYTES - 1 - 2 * LEN_BYTES;
        let exact = packed(&[vec![0; both / 2], vec![0; both - both / 2]]);
        assert_eq!(exact.len(), 1);
        assert_eq!(exact[0].len(), MAX_BUNDLE_BYTES);
        assert_eq!(
            packed(&[vec![0; both / 2], vec![0; both - both / 2 + 1]]).len(),
            2
        );
    }

    #[test]
    fn room_after_is_what_still_joins_the_last_payload() {
        for sizes in [
            &[][..],
            &[10],
            &[10, 20],
            &[1200],
            &[1200, 1200, 30],
            &[640, 650],
        ] {
            let packets: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![1; n]).collect();
            let room = room_after(&packets);
            let alone = packed(&packets).len();
            if room > 0 {
                let mut joined = packets.clone();
                joined.push(vec![2; room]);
                assert_eq!(
                    packed(&joined).len(),
                    alone.max(1),
                    "{sizes:?}: {room} joins"
                );
            }
            let mut over = packets.clone();
            over.push(vec![2; room + 1]);
            assert_eq!(
                packed(&over).len(),
                alone + 1,
                "{sizes:?}: {} does not",
                room + 1
            );
        }
    }

    #[test]
    fn malformed_bundles_are_refused() {
        let bad: [&[u8]; 6] = [
            &[BUNDLE],
            &[BUNDLE, 0],
            &[BUNDLE, 0, 0],
            &[BUNDLE, 0, 2, 9],
            &[BUNDLE, 0, 1, 9, 0],
            &[BUNDLE, 0, 2, BUNDLE, 0],
        ];
        for payload in bad {
            assert_eq!(
                unbundle(payload).map(|p| p.count()).err(),
                Some(Violation::Malformed),
                "{payload:?}"
            );
        }
        assert_eq!(unbundle(&[BUNDLE, 0, 1, 9]).unwrap().count(), 1);
    }
}
