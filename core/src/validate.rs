//! Input rules Nakama applies to identifiers, usernames, emails and
//! passwords, with its error messages. Pure functions: the API layer calls
//! them before anything reaches the store.

use crate::error::{ApiError, ApiResult};

/// ASCII control characters or ASCII whitespace, spaces included
/// (Nakama's `invalidCharsRegex`, used for identifiers and emails).
pub fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_control() || b == b' ')
}

/// What Nakama's `invalidUsernameRegex` actually refuses: ASCII control
/// characters and the substring `[]`. Spaces are allowed (despite the
/// message's wording, which clients may match on and is kept).
pub fn has_control_or_space(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_control()) || s.contains("[]")
}

/// A device id: 10–128 bytes, no control characters.
pub fn device_id(id: &str) -> ApiResult<()> {
    if id.is_empty() {
        return Err(ApiError::invalid("Device ID is required."));
    }
    if has_control(id) {
        return Err(ApiError::invalid(
            "Device ID invalid, no spaces or control characters allowed.",
        ));
    }
    if id.len() < 10 || id.len() > 128 {
        return Err(ApiError::invalid(
            "Device ID invalid, must be 10-128 bytes.",
        ));
    }
    Ok(())
}

/// A custom id: 6–128 bytes, no control characters.
pub fn custom_id(id: &str) -> ApiResult<()> {
    if id.is_empty() {
        return Err(ApiError::invalid("Custom ID is required."));
    }
    if has_control(id) {
        return Err(ApiError::invalid(
            "Custom ID invalid, no spaces or control characters allowed.",
        ));
    }
    if id.len() < 6 || id.len() > 128 {
        return Err(ApiError::invalid("Custom ID invalid, must be 6-128 bytes."));
    }
    Ok(())
}

/// An email address: 10–255 bytes, shaped `x@y.z`, no control characters.
pub fn email(email: &str) -> ApiResult<()> {
    if has_control(email) {
        return Err(ApiError::invalid(
            "Invalid email address, no spaces or control characters allowed.",
        ));
    }
    if !looks_like_email(email) {
        return Err(ApiError::invalid("Invalid email address format."));
    }
    if email.len() < 10 || email.len() > 255 {
        return Err(ApiError::invalid(
            "Invalid email address, must be 10-255 bytes.",
        ));
    }
    Ok(())
}

/// `^.+@.+\..+$` (Nakama's `emailRegex`): something, an `@`, something,
/// a dot, something.
pub fn looks_like_email(s: &str) -> bool {
    // The greedy regex lets the `@` be any `@` that has a dot somewhere after
    // it with at least one character on each side of that dot.
    s.char_indices().filter(|&(_, c)| c == '@').any(|(at, _)| {
        at > 0 && {
            let domain = &s[at + 1..];
            domain
                .char_indices()
                .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
        }
    })
}

/// A custom id as the link route checks it (its wording differs from
/// authentication's).
pub fn custom_id_for_link(id: &str) -> ApiResult<()> {
    if id.is_empty() {
        return Err(ApiError::invalid("Custom ID is required."));
    }
    if has_control(id) {
        return Err(ApiError::invalid(
            "Invalid custom ID, no spaces or control characters allowed.",
        ));
    }
    if id.len() < 6 || id.len() > 128 {
        return Err(ApiError::invalid("Invalid custom ID, must be 6-128 bytes."));
    }
    Ok(())
}

/// Profile fields of `PUT /v2/account`, within the columns' limits
/// (counted in characters).
pub fn profile_field(name: &str, value: &str, max_chars: usize) -> ApiResult<()> {
    if value.chars().count() > max_chars {
        return Err(ApiError::invalid(format!(
            "{name} invalid, must be at most {max_chars} characters."
        )));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ApiError::invalid(format!(
            "{name} invalid, no control characters allowed."
        )));
    }
    Ok(())
}

/// Longest password bcrypt hashes whole. Longer ones are refused, never
/// truncated: two passwords sharing their first 72 bytes must not match.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// A password: 8 to 72 bytes.
pub fn password(password: &str) -> ApiResult<()> {
    if password.len() < 8 {
        return Err(ApiError::invalid(
            "Password must be at least 8 characters long.",
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid("Password must be at most 72 bytes long."));
    }
    Ok(())
}

/// A username given by a client: 1–128 bytes, no whitespace or control
/// characters. Empty is allowed where the server generates one; callers
/// check that separately.
pub fn username(username: &str) -> ApiResult<()> {
    if has_control_or_space(username) {
        return Err(ApiError::invalid(
            "Username invalid, no spaces or control characters allowed.",
        ));
    }
    if username.len() > 128 {
        return Err(ApiError::invalid("Username invalid, must be 1-128 bytes."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn device_ids() {
        assert!(device_id("0123456789").is_ok());
        assert_eq!(device_id("").unwrap_err().message, "Device ID is required.");
        assert!(device_id("short").is_err());
        assert!(device_id(&"x".repeat(129)).is_err());
        assert!(device_id("0123456789\n").is_err());
        assert!(device_id("01234 56789").is_err());
        assert!(device_id(&"x".repeat(128)).is_ok());
    }

    #[test]
    fn custom_ids() {
        assert!(custom_id("abcdef").is_ok());
        assert!(custom_id("abcde").is_err());
        assert!(custom_id("").is_err());
        assert_eq!(
            custom_id_for_link("abc").unwrap_err().message,
            "Invalid custom ID, must be 6-128 bytes."
        );
        assert!(profile_field("Display name", &"x".repeat(255), 255).is_ok());
        assert!(profile_field("Display name", &"x".repeat(256), 255).is_err());
    }

    #[test]
    fn emails() {
        assert!(email("alice@example.com").is_ok());
        assert!(email("a@b.co.uk.x").is_ok());
        assert_eq!(
            email("alice.example.com").unwrap_err().message,
            "Invalid email address format."
        );
        assert!(email("alice@example").is_err());
        assert!(email("@example.com").is_err());
        assert!(email("a@b.c").is_err(), "too short");
        assert!(email("alice@exa\tmple.com").is_err());
        assert!(email("alice@.com").is_err());
        assert!(email("alice@example.").is_err());
    }

    #[test]
    fn passwords_and_usernames() {
        assert!(password("12345678").is_ok());
        assert!(password("1234567").is_err());
        assert!(password(&"p".repeat(72)).is_ok());
        let long = password(&"p".repeat(73)).unwrap_err();
        assert_eq!(long.code, Code::InvalidArgument);
        assert!(username("bob").is_ok());
        assert!(username("bob smith").is_ok(), "Nakama allows spaces");
        assert!(username("bob\tsmith").is_err());
        assert!(username("a[]b").is_err());
        assert!(username(&"b".repeat(129)).is_err());
        assert!(username("ünïcödé").is_ok());
    }
}
