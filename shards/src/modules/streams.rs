//! Streams as game code names them: the arguments and results of the
//! `Nk::stream_*` functions (Nakama's `StreamUserJoin`, `StreamSend`, ...).
//!
//! A stream is Nakama's `(mode, subject, subcontext, label)`. Modes 0 to
//! 7 are the streams of Kairos's own features (notifications, status,
//! chat, matches, parties), whose state lives beyond the stream table
//! (status followers, match handlers, chat history flags), so game code
//! may not use them; modes 8 to 255 are the game's. As in Nakama, a
//! subject and subcontext are UUIDs or absent (the nil UUID is absent).

use kairos_core::error::ApiError;
use kairos_core::stream::StreamId;
use uuid::Uuid;

/// The first mode game code may use; lower ones are reserved.
pub const FIRST_GAME_MODE: u8 = 8;

/// The longest label, in bytes.
pub const MAX_LABEL_LEN: usize = 256;

/// The most `data` one `stream_send` carries, in bytes.
pub const MAX_DATA_LEN: usize = 64 * 1024;

/// The longest status of a stream presence, in bytes (as status
/// messages).
pub const MAX_STATUS_LEN: usize = 2048;

/// A stream, as game code names it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stream {
    /// 8 to 255 (lower modes are Kairos's own).
    pub mode: u8,
    pub subject: Option<Uuid>,
    pub subcontext: Option<Uuid>,
    /// At most [`MAX_LABEL_LEN`] bytes.
    pub label: String,
}

impl Stream {
    /// The stream of `mode` with this label, no subject or subcontext.
    pub fn labelled(mode: u8, label: impl Into<String>) -> Stream {
        Stream {
            mode,
            label: label.into(),
            ..Default::default()
        }
    }

    /// The stream's identity in the stream table, once its mode and label
    /// are checked (INVALID_ARGUMENT otherwise).
    pub(crate) fn id(&self) -> Result<StreamId, ApiError> {
        if self.mode < FIRST_GAME_MODE {
            return Err(ApiError::invalid(format!(
                "stream mode {} is reserved for the server's own streams; game code uses modes {FIRST_GAME_MODE} to 255",
                self.mode
            )));
        }
        if self.label.len() > MAX_LABEL_LEN {
            return Err(ApiError::invalid(format!(
                "stream label must be at most {MAX_LABEL_LEN} bytes"
            )));
        }
        let text = |id: Option<Uuid>| id.filter(|u| !u.is_nil()).map(|u| u.to_string());
        Ok(StreamId {
            mode: self.mode,
            subject: text(self.subject).unwrap_or_default(),
            subcontext: text(self.subcontext).unwrap_or_default(),
            label: self.label.clone(),
        })
    }
}

/// A session's presence in a stream, with how it joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamPresence {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub username: String,
    /// This node's name.
    pub node: String,
    /// Left out of presence events (and of lists that ask so).
    pub hidden: bool,
    pub persistence: bool,
    /// Empty when it joined without one.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_check_mode_and_label_and_drop_nil_ids() {
        for mode in 0..FIRST_GAME_MODE {
            assert!(Stream::labelled(mode, "x").id().is_err(), "{mode}");
        }
        let id = Stream::labelled(FIRST_GAME_MODE, "x").id().unwrap();
        assert_eq!(
            (id.mode, id.subject.as_str(), id.label.as_str()),
            (8, "", "x")
        );
        let long = Stream::labelled(20, "x".repeat(MAX_LABEL_LEN + 1));
        assert!(long.id().is_err());
        assert!(Stream::labelled(20, "x".repeat(MAX_LABEL_LEN)).id().is_ok());
        let u = Uuid::new_v4();
        let s = Stream {
            mode: 255,
            subject: Some(u),
            subcontext: Some(Uuid::nil()),
            label: String::new(),
        };
        let id = s.id().unwrap();
        assert_eq!(id.subject, u.to_string());
        assert_eq!(id.subcontext, "", "the nil UUID is no subcontext");
    }
}
