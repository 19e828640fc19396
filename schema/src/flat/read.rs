//! Reading fields of checked planus tables into the in-memory model.
//!
//! Each planus getter returns `Result<Option<_>>`: `Err` when the buffer
//! is malformed there, `None` when the field is absent. [`Reader`] turns
//! an absent field into the model's default, as protobuf does, and caps
//! the text it copies out.

use std::collections::BTreeMap;

use planus::Vector;

use super::fb;
use crate::rtapi::{DecodeError, ErrorCode, MatchmakerUser, UserPresence};

/// Why an envelope was refused.
pub(super) enum Refused {
    /// planus found the buffer malformed (bad offset, length, UTF-8,
    /// unknown union tag...).
    Malformed(planus::Error),
    /// The strings add up to more than [`Reader`] allows.
    TooMuchText,
    /// A message only servers send, sent by a client.
    ServerOnly(&'static str),
    /// A server message [`Outgoing`](crate::rtapi::Outgoing) doesn't model.
    NotModeled(&'static str),
}

impl From<planus::Error> for Refused {
    fn from(e: planus::Error) -> Self {
        Refused::Malformed(e)
    }
}

impl Refused {
    /// The realtime error to answer: always `UnrecognizedPayload`.
    pub(super) fn into_error(self) -> DecodeError {
        let message = match self {
            Refused::Malformed(e) => format!("Unrecognized payload: {e}"),
            Refused::TooMuchText => {
                "Unrecognized payload: strings shared too often (more text than the buffer holds)"
                    .into()
            }
            Refused::ServerOnly(name) => {
                format!("Unrecognized payload: `{name}` is not a client message")
            }
            Refused::NotModeled(name) => {
                format!("Unrecognized payload: `{name}` is not a server message Kairos models")
            }
        };
        DecodeError {
            code: ErrorCode::UnrecognizedPayload,
            message,
        }
    }
}

pub(super) type Result<T> = std::result::Result<T, Refused>;

/// Copies fields out of one buffer, with a budget for text.
///
/// FlatBuffers offsets may alias: a hostile buffer can point ten thousand
/// vector entries at one long string, and copying each would turn a small
/// frame into gigabytes. The strings copied from a buffer may therefore
/// total at most four times its length (plus 4 KiB), far above what
/// honest encoders produce (planus here writes no shared strings; flatc's
/// `CreateSharedString` shares a few). Byte vectors are never copied
/// (`MatchDataSend.data` is a slice) and so never counted.
pub(super) struct Reader {
    text_left: usize,
}

impl Reader {
    pub(super) fn new(buf_len: usize) -> Self {
        Reader {
            text_left: buf_len.saturating_mul(4).saturating_add(4096),
        }
    }

    fn text(&mut self, s: &str) -> Result<String> {
        self.text_left = self
            .text_left
            .checked_sub(s.len())
            .ok_or(Refused::TooMuchText)?;
        Ok(s.to_owned())
    }

    /// A string; absent is empty.
    pub(super) fn string(&mut self, field: planus::Result<Option<&str>>) -> Result<String> {
        self.text(field?.unwrap_or_default())
    }

    /// A string whose presence means something (a protobuf `StringValue`).
    pub(super) fn opt_string(
        &mut self,
        field: planus::Result<Option<&str>>,
    ) -> Result<Option<String>> {
        field?.map(|s| self.text(s)).transpose()
    }

    /// A `[string]`; absent is empty.
    pub(super) fn strings(
        &mut self,
        field: planus::Result<Option<Vector<'_, planus::Result<&str>>>>,
    ) -> Result<Vec<String>> {
        let Some(v) = field? else {
            return Ok(Vec::new());
        };
        v.iter().map(|s| self.text(s?)).collect()
    }

    /// A `[StringEntry]` as a map; on duplicate keys the last wins.
    pub(super) fn string_map(
        &mut self,
        field: planus::Result<Option<Vector<'_, planus::Result<fb::StringEntryRef<'_>>>>>,
    ) -> Result<BTreeMap<String, String>> {
        let mut map = BTreeMap::new();
        if let Some(v) = field? {
            for e in v.iter() {
                let e = e?;
                map.insert(self.string(e.key())?, self.string(e.value())?);
            }
        }
        Ok(map)
    }

    pub(super) fn presence(&mut self, p: fb::UserPresenceRef<'_>) -> Result<UserPresence> {
        Ok(UserPresence {
            user_id: self.string(p.user_id())?,
            session_id: self.string(p.session_id())?,
            username: self.string(p.username())?,
            persistence: p.persistence()?,
            status: self.opt_string(p.status())?,
        })
    }

    /// A `[NumberEntry]` as a map; on duplicate keys the last wins.
    pub(super) fn number_map(
        &mut self,
        field: planus::Result<Option<Vector<'_, planus::Result<fb::NumberEntryRef<'_>>>>>,
    ) -> Result<BTreeMap<String, f64>> {
        let mut map = BTreeMap::new();
        if let Some(v) = field? {
            for e in v.iter() {
                let e = e?;
                map.insert(self.string(e.key())?, e.value()?);
            }
        }
        Ok(map)
    }

    /// A matched player; absent is the default.
    pub(super) fn matchmaker_user(
        &mut self,
        u: Option<fb::MatchmakerUserRef<'_>>,
    ) -> Result<MatchmakerUser> {
        let Some(u) = u else {
            return Ok(MatchmakerUser::default());
        };
        Ok(MatchmakerUser {
            presence: self.opt_presence(u.presence())?,
            party_id: self.string(u.party_id())?,
            string_properties: self.string_map(u.string_properties())?,
            numeric_properties: self.number_map(u.numeric_properties())?,
        })
    }

    /// A presence field such as `self`; absent is the default presence.
    pub(super) fn opt_presence(
        &mut self,
        field: planus::Result<Option<fb::UserPresenceRef<'_>>>,
    ) -> Result<UserPresence> {
        match field? {
            Some(p) => self.presence(p),
            None => Ok(UserPresence::default()),
        }
    }

    /// A `[UserPresence]`; absent is empty.
    pub(super) fn presences(
        &mut self,
        field: planus::Result<Option<Vector<'_, planus::Result<fb::UserPresenceRef<'_>>>>>,
    ) -> Result<Vec<UserPresence>> {
        let Some(v) = field? else {
            return Ok(Vec::new());
        };
        v.iter().map(|p| self.presence(p?)).collect()
    }
}
