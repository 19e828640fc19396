//! Notifications: messages the server sends to a user, delivered live to
//! every socket of theirs and, when persistent, kept until deleted.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cursor;
use crate::error::{ApiError, ApiResult};

/// Nakama's reserved notification codes (negative codes are the server's;
/// games use zero and up).
pub mod code {
    pub const DM_REQUEST: i32 = -1;
    pub const FRIEND_REQUEST: i32 = -2;
    pub const FRIEND_ACCEPT: i32 = -3;
    pub const GROUP_ADD: i32 = -4;
    pub const GROUP_JOIN_REQUEST: i32 = -5;
    pub const FRIEND_JOIN_GAME: i32 = -6;
    pub const SINGLE_SOCKET: i32 = -7;
    pub const USER_BANNED: i32 = -8;
    pub const FRIEND_REMOVE: i32 = -9;
}

/// Longest subject, in bytes.
pub const MAX_SUBJECT: usize = 255;

/// One notification to one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    /// The recipient.
    pub user_id: Uuid,
    pub subject: String,
    /// A JSON object, as text.
    pub content: String,
    pub code: i32,
    /// `None` when the server itself sends it.
    pub sender_id: Option<Uuid>,
    /// Unix microseconds.
    pub create_time: i64,
    /// Stored until the user deletes it, besides being delivered live.
    pub persistent: bool,
}

impl Notification {
    /// A new notification, stamped now, with content `{"username": ...}`
    /// as Nakama's social notifications carry.
    pub fn social(
        user_id: Uuid,
        code: i32,
        subject: String,
        sender: Uuid,
        sender_name: &str,
    ) -> Self {
        Notification {
            id: Uuid::new_v4(),
            user_id,
            subject,
            content: serde_json::json!({ "username": sender_name }).to_string(),
            code,
            sender_id: Some(sender),
            create_time: crate::time::now_micros(),
            persistent: true,
        }
    }

    /// Checks what a caller of the server-side API may get wrong.
    pub fn validate(&self) -> ApiResult<()> {
        if self.subject.is_empty() || self.subject.len() > MAX_SUBJECT {
            return Err(ApiError::invalid(
                "Notification subject must be 1-255 bytes.",
            ));
        }
        if !crate::channel::is_json_object(&self.content) {
            return Err(ApiError::invalid(
                "Notification content must be a JSON object.",
            ));
        }
        Ok(())
    }
}

/// A change to a stored notification (Nakama's `NotificationsUpdate`):
/// each field that is `Some` replaces the stored one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationUpdate {
    pub id: Uuid,
    /// A JSON object, as text.
    pub content: Option<String>,
    pub subject: Option<String>,
    pub sender_id: Option<Uuid>,
}

impl NotificationUpdate {
    /// The checks [`Notification::validate`] makes, on the fields set.
    pub fn validate(&self) -> ApiResult<()> {
        if let Some(s) = &self.subject
            && (s.is_empty() || s.len() > MAX_SUBJECT)
        {
            return Err(ApiError::invalid(
                "Notification subject must be 1-255 bytes.",
            ));
        }
        if let Some(c) = &self.content
            && !crate::channel::is_json_object(c)
        {
            return Err(ApiError::invalid(
                "Notification content must be a JSON object.",
            ));
        }
        Ok(())
    }
}

/// Where a notification listing resumes: after `(create_time, id)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationCursor {
    #[serde(rename = "t")]
    pub create_time: i64,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl NotificationCursor {
    /// The position to list after; `None` means from the start.
    pub fn after(&self) -> Option<(i64, Uuid)> {
        (!self.id.is_nil()).then_some((self.create_time, self.id))
    }

    pub fn parse(text: &str) -> ApiResult<NotificationCursor> {
        cursor::decode(text).ok_or_else(|| ApiError::invalid("Malformed cursor was used."))
    }

    pub fn encode(&self) -> String {
        cursor::encode(self)
    }

    /// The cursor that resumes after `n`.
    pub fn after_notification(n: &Notification) -> NotificationCursor {
        NotificationCursor {
            create_time: n.create_time,
            id: n.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        let start = NotificationCursor::default();
        assert_eq!(start.after(), None);
        let text = start.encode();
        assert_eq!(NotificationCursor::parse(&text).unwrap(), start);
        let n = Notification::social(
            Uuid::new_v4(),
            code::FRIEND_REQUEST,
            "s".into(),
            Uuid::new_v4(),
            "bob",
        );
        let c = NotificationCursor::after_notification(&n);
        assert_eq!(
            NotificationCursor::parse(&c.encode()).unwrap().after(),
            Some((n.create_time, n.id))
        );
        assert!(NotificationCursor::parse("???").is_err());
    }

    #[test]
    fn validation() {
        let mut n = Notification::social(Uuid::new_v4(), 1, "hello".into(), Uuid::new_v4(), "bob");
        assert!(n.validate().is_ok());
        assert_eq!(n.content, r#"{"username":"bob"}"#);
        n.content = "[]".into();
        assert!(n.validate().is_err());
        n.content = "{}".into();
        n.subject = String::new();
        assert!(n.validate().is_err());
    }
}
