//! Base64 in its canonical form, decoded in one pass.
//!
//! Every relayed message carries its data in base64, so its decoding is on
//! the relay's hot path, and the messages are small: the `base64` crate's
//! engine, built for long inputs, spent about 800 instructions on a
//! 44-character `data` (BENCHMARKS.md, "The relay path's own instructions").
//! Here a table turns each group of four characters into three bytes.
//!
//! Only the canonical form is read: the standard alphabet, with its
//! padding whole or absent, and no stray bits in the last character. That
//! is what every encoder writes. Anything else returns `None`, and the
//! caller gives it to the `base64` crate, which answers it (an error, or
//! its reading of the text); so what is read here is always what the crate
//! reads, which the tests check over every short text.

/// The standard alphabet's values; 64 marks a byte that is not in it.
const VALUES: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [64u8; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The bytes `text` encodes, if it is canonical base64 (padded or not).
pub(super) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let padding = match text {
        [.., b'=', b'='] => 2,
        [.., b'='] => 1,
        _ => 0,
    };
    if padding > 0 && !text.len().is_multiple_of(4) {
        return None;
    }
    let body = &text[..text.len() - padding];
    let tail = body.len() % 4;
    // A lone last character encodes no whole byte; padding must fill
    // exactly the group it ends.
    if tail == 1 || (padding > 0 && tail + padding != 4) {
        return None;
    }
    let groups = body.len() / 4;
    // Sized once and filled by appending: nothing is zeroed first.
    let mut out = Vec::with_capacity(groups * 3 + tail.saturating_sub(1));
    let mut bad = 0u8;
    for quad in body.chunks_exact(4) {
        let [a, b, c, d] = [0, 1, 2, 3].map(|i| VALUES[quad[i] as usize]);
        bad |= a | b | c | d;
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        out.extend_from_slice(&n.to_be_bytes()[1..]);
    }
    match body[groups * 4..] {
        [] => {}
        [a, b] => {
            let [a, b] = [a, b].map(|x| VALUES[x as usize]);
            // The four bits past the byte must be zero.
            bad |= a | b | u8::from(b & 0x0f != 0) << 6;
            out.push(a << 2 | b >> 4);
        }
        [a, b, c] => {
            let [a, b, c] = [a, b, c].map(|x| VALUES[x as usize]);
            // The two bits past the bytes must be zero.
            bad |= a | b | c | u8::from(c & 0x03 != 0) << 6;
            let n = u32::from(a) << 10 | u32::from(b) << 4 | u32::from(c) >> 2;
            out.extend_from_slice(&n.to_be_bytes()[2..]);
        }
        // A tail of 1, refused above.
        _ => return None,
    }
    // Any value of 64 or more (a byte outside the alphabet, or bits past
    // the end) sets a bit above the six of a value.
    (bad < 64).then_some(out)
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    /// What the `base64` crate reads, as the envelope's decoder asks it:
    /// the standard alphabet, padding optional.
    fn crate_reads(text: &[u8]) -> Option<Vec<u8>> {
        super::super::BASE64.decode(text).ok()
    }

    /// Over every text of up to three characters, then padding, after
    /// nothing or a whole group, whatever is read here the crate reads
    /// the same. The characters: values with each of the low bits set or
    /// clear (the last character's stray bits), both ends of the
    /// alphabet, the padding, and bytes just outside the alphabet. And
    /// whatever the crate's own encoder writes, padded or not, is read
    /// here, as it was encoded.
    #[test]
    fn reads_what_the_crate_reads() {
        let mut symbols: Vec<u8> = b"ABCDEIQgw/+9zaZ=".to_vec();
        symbols.extend_from_slice(b"-_.@[`{\0\x7f\xff ");
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        for &a in &symbols {
            texts.push(vec![a]);
            for &b in &symbols {
                texts.push(vec![a, b]);
                for &c in &symbols {
                    texts.push(vec![a, b, c]);
                }
            }
        }
        let mut read_here = 0;
        for prefix in [&b""[..], b"aGk+", b"/w==", b"AAAA"] {
            for t in &texts {
                for last in [&b""[..], b"=", b"=="] {
                    let text = [prefix, t, last].concat();
                    let here = decode(&text);
                    let theirs = crate_reads(&text);
                    if here.is_some() {
                        read_here += 1;
                        assert_eq!(here, theirs, "{:?}", String::from_utf8_lossy(&text));
                    }
                }
            }
        }
        assert!(read_here > 5_000, "{read_here}");
        // Canonical text, padded or not, is always read here.
        for len in 0..=70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let padded = base64::engine::general_purpose::STANDARD.encode(&data);
            let bare = padded.trim_end_matches('=');
            assert_eq!(decode(padded.as_bytes()).as_deref(), Some(&data[..]));
            assert_eq!(decode(bare.as_bytes()).as_deref(), Some(&data[..]));
        }
    }

    /// What the crate refuses, or reads otherwise than canonically, is
    /// left to it.
    #[test]
    fn leaves_the_rest_to_the_crate() {
        for text in [
            &b"a"[..],
            b"aGk=a",
            b"aGk==",
            b"aG==",
            b"aGl=",
            b"aR==",
            b"=",
            b"==",
            b"===",
            b"a===",
            b"aG=k",
            b"aGk=====",
            b"aG-k",
            b"aG_k",
            b"aG k",
            b"aGk\n",
        ] {
            assert_eq!(decode(text), None, "{:?}", String::from_utf8_lossy(text));
        }
    }
}
