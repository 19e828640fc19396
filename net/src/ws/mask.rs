//! Payload masking (RFC 6455 §5.3) and a deterministic mask source.

/// XORs `buf` in place with the 4-byte `mask`, starting at mask phase 0.
///
/// Processes eight bytes at a time as a `u64` (the mask pattern repeats every
/// four bytes, so an 8-byte stride keeps the phase), then the tail bytewise.
/// Masking and unmasking are the same operation.
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    let [a, b, c, d] = mask;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let (words, tail) = buf.as_chunks_mut::<8>();
    for w in words {
        *w = (u64::from_ne_bytes(*w) ^ wide).to_ne_bytes();
    }
    // `words` covers a multiple of 8 bytes, so the tail starts at phase 0.
    for (byte, m) in tail.iter_mut().zip(mask.iter().cycle()) {
        *byte ^= m;
    }
}

/// Reference bytewise implementation, used to test [`apply_mask`].
#[cfg(test)]
pub(crate) fn apply_mask_naive(buf: &mut [u8], mask: [u8; 4]) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// Supplies masking keys for client-to-server frames.
///
/// A xorshift64* generator seeded by the caller: this crate reads no entropy
/// itself. RFC 6455 wants masks unpredictable to defeat cache poisoning by
/// scripts in browsers; for Kairos's native clients and load tester a caller
/// seed taken from the OS RNG once per connection is plenty.
#[derive(Debug, Clone)]
pub struct MaskSource {
    state: u64,
}

impl MaskSource {
    /// A source seeded with `seed` (zero is replaced by a fixed non-zero
    /// constant, as xorshift would otherwise emit zeros forever).
    pub const fn new(seed: u64) -> Self {
        Self {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    /// The next 4-byte mask.
    pub fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        let out = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let [a, b, c, d, ..] = (out >> 32).to_le_bytes();
        [a, b, c, d]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_mask_matches_naive_for_all_lengths_and_offsets() {
        let mut src = MaskSource::new(7);
        let data: Vec<u8> = (0..300u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in 0..=data.len() {
            for offset in 0..8.min(data.len() - len + 1) {
                let mask = src.next_mask();
                let mut fast = data[offset..offset + len].to_vec();
                let mut slow = fast.clone();
                apply_mask(&mut fast, mask);
                apply_mask_naive(&mut slow, mask);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn masking_is_involutive() {
        let mut v = b"Hello, WebSocket world!".to_vec();
        let orig = v.clone();
        apply_mask(&mut v, [1, 2, 3, 4]);
        assert_ne!(v, orig);
        apply_mask(&mut v, [1, 2, 3, 4]);
        assert_eq!(v, orig);
    }

    #[test]
    fn rfc_masked_hello_example() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut v = b"Hello".to_vec();
        apply_mask(&mut v, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(v, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn mask_source_is_deterministic_and_varies() {
        let mut a = MaskSource::new(42);
        let mut b = MaskSource::new(42);
        let xs: Vec<_> = (0..16).map(|_| a.next_mask()).collect();
        let ys: Vec<_> = (0..16).map(|_| b.next_mask()).collect();
        assert_eq!(xs, ys);
        assert!(xs.windows(2).all(|w| w[0] != w[1]));
        let mut z = MaskSource::new(0);
        assert_ne!(z.next_mask(), z.next_mask());
    }
}
