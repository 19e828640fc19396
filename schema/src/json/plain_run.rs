//! Where a JSON string's plain run ends: the first quote, backslash or
//! control character, the only bytes a string's text cannot hold as they
//! are. The hand-written readers and writers of the relay's messages
//! (`rtapi/match_data_send_json.rs`, `rtapi/match_data_json.rs`) scan
//! every string with it, eight bytes at a time.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The index of the first `"`, `\` or byte below 0x20 in `bytes`, or its
/// length if there is none.
pub fn plain_run(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        // The high bit of each byte that is zero after the XOR (a quote or
        // a backslash) or below 0x20. A borrow can also mark a byte after
        // a true one, never before it: the lowest mark is a true one.
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let marks = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGHS;
        if marks != 0 {
            return at + (marks.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(bytes.len() - at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(bytes.len())
    }

    /// Every byte value, at every position of strings up to 20 bytes long,
    /// after plain bytes of every kind (ASCII, UTF-8 continuation bytes,
    /// the bytes just above each stop), and with a second stop after it.
    #[test]
    fn finds_the_first_stop_as_a_byte_at_a_time_scan_does() {
        let fillers: [u8; 6] = [b'a', 0x20, b'#', b']', 0x80, 0xFF];
        for len in 0..20 {
            for filler in fillers {
                let plain = vec![filler; len];
                assert_eq!(plain_run(&plain), len);
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut s = plain.clone();
                        s[at] = b;
                        if at + 1 < len {
                            s[len - 1] = b'"';
                        }
                        assert_eq!(plain_run(&s), naive(&s), "{s:?}");
                    }
                }
            }
        }
    }
}
