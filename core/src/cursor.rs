//! Opaque pagination cursors: a small serde value, as JSON, in URL-safe
//! base64 without padding. Clients treat them as opaque strings and hand
//! them back; anything that does not decode is "invalid cursor".

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Longest cursor accepted, so a hostile one costs little to refuse.
const MAX_CURSOR_LEN: usize = 1024;

/// Encodes a cursor value.
pub fn encode<T: Serialize>(value: &T) -> String {
    // Cursor types are plain structs of numbers, strings and bools, which
    // always serialize.
    let json = serde_json::to_vec(value).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor; `None` when it is not one of ours. Padding is
/// tolerated, since some clients add it back.
pub fn decode<T: DeserializeOwned>(cursor: &str) -> Option<T> {
    if cursor.len() > MAX_CURSOR_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct C {
        t: i64,
        s: String,
    }

    #[test]
    fn round_trips_and_refuses_garbage() {
        let c = C {
            t: -5,
            s: "a/b+c".into(),
        };
        let text = encode(&c);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode::<C>(&text), Some(c));
        assert_eq!(decode::<C>(&format!("{text}==")).map(|c| c.t), Some(-5));
        assert_eq!(decode::<C>("not a cursor"), None);
        assert_eq!(decode::<C>(&encode(&1u8)), None);
        assert_eq!(decode::<C>(&"A".repeat(5000)), None);
    }
}
