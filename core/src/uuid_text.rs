//! A uuid's text, hyphenated and lower case, as `to_string` writes it, but
//! without the formatter: the relay path names a sender's ids and a match's
//! stream for every message, and `Display` costs several times the
//! encoding itself.

use uuid::Uuid;

/// `id.to_string()`, written straight into a string of its length.
pub fn uuid_text(id: Uuid) -> String {
    let mut buf = Uuid::encode_buffer();
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_to_string() {
        for id in [Uuid::nil(), Uuid::max(), Uuid::new_v4(), Uuid::new_v4()] {
            assert_eq!(uuid_text(id), id.to_string());
        }
    }
}
