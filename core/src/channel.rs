//! Chat channels as Nakama names them, and the paging of their history.
//!
//! A channel is a stream: a room `(2, "", "", <name>)`, a group
//! `(3, <group id>, "", "")` or a direct conversation
//! `(4, <lower user id>, <higher user id>, "")`. Its id on the wire is the
//! four parts joined by dots: `2...lobby`, `3.<gid>..`, `4.<a>.<b>.`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cursor;
use crate::error::{ApiError, ApiResult};
use crate::stream::{StreamId, mode};

/// Longest room name, in bytes.
pub const MAX_ROOM_NAME: usize = 64;

/// `ChannelMessage.code`: what a message is.
pub mod code {
    pub const CHAT: i32 = 0;
    pub const CHAT_UPDATE: i32 = 1;
    pub const CHAT_REMOVE: i32 = 2;
    pub const GROUP_JOIN: i32 = 3;
    pub const GROUP_ADD: i32 = 4;
    pub const GROUP_LEAVE: i32 = 5;
    pub const GROUP_KICK: i32 = 6;
    pub const GROUP_PROMOTE: i32 = 7;
    pub const GROUP_BAN: i32 = 8;
    pub const GROUP_DEMOTE: i32 = 9;
}

/// What a `channel_join` asks for, once its target is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Room(String),
    /// A conversation with this user.
    Direct(Uuid),
    Group(Uuid),
}

/// Reads a `channel_join`'s `type` and `target` (type 0 means a room).
/// Errors carry Nakama's messages; all are bad input.
pub fn parse_target(kind: i32, target: &str) -> ApiResult<Target> {
    if target.is_empty() {
        return Err(ApiError::invalid("Invalid channel target"));
    }
    match kind {
        0 | 1 => {
            if target.len() > MAX_ROOM_NAME {
                return Err(ApiError::invalid(
                    "Channel name is required and must be 1-64 chars: Invalid channel target",
                ));
            }
            if target.chars().any(char::is_control) {
                return Err(ApiError::invalid(
                    "Channel name must not contain control chars: Invalid channel target",
                ));
            }
            Ok(Target::Room(target.to_string()))
        }
        2 => match Uuid::parse_str(target) {
            Ok(u) if !u.is_nil() => Ok(Target::Direct(u)),
            _ => Err(ApiError::invalid(
                "Invalid user ID in direct message join: Invalid channel target",
            )),
        },
        3 => Uuid::parse_str(target).map(Target::Group).map_err(|_| {
            ApiError::invalid("Invalid group ID in group channel join: Invalid channel target")
        }),
        _ => Err(ApiError::invalid("Invalid channel type")),
    }
}

/// The stream of a room.
pub fn room(name: &str) -> StreamId {
    StreamId {
        mode: mode::CHANNEL,
        subject: String::new(),
        subcontext: String::new(),
        label: name.to_string(),
    }
}

/// The stream of the conversation between two users (either order).
pub fn direct(a: Uuid, b: Uuid) -> StreamId {
    let (one, two) = if a.to_string() <= b.to_string() {
        (a, b)
    } else {
        (b, a)
    };
    StreamId {
        mode: mode::DIRECT,
        subject: one.to_string(),
        subcontext: two.to_string(),
        label: String::new(),
    }
}

/// The stream of a group's channel.
pub fn group(id: Uuid) -> StreamId {
    StreamId {
        mode: mode::GROUP,
        subject: id.to_string(),
        subcontext: String::new(),
        label: String::new(),
    }
}

/// Whether a stream is a chat channel.
pub fn is_channel(stream: &StreamId) -> bool {
    matches!(stream.mode, mode::CHANNEL | mode::GROUP | mode::DIRECT)
}

/// A channel's id on the wire.
pub fn channel_id(stream: &StreamId) -> String {
    format!(
        "{}.{}.{}.{}",
        stream.mode, stream.subject, stream.subcontext, stream.label
    )
}

/// Parses a channel id. `None` for anything that is not a well-formed room,
/// group or direct channel id.
pub fn parse_channel_id(id: &str) -> Option<StreamId> {
    let mut parts = id.splitn(4, '.');
    let (m, subject, subcontext, label) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let uuid_or_empty = |s: &str| s.is_empty() || Uuid::parse_str(s).is_ok();
    let stream = StreamId {
        mode: 0,
        subject: subject.to_ascii_lowercase(),
        subcontext: subcontext.to_ascii_lowercase(),
        label: label.to_string(),
    };
    match m {
        "2" if subject.is_empty()
            && subcontext.is_empty()
            && (1..=MAX_ROOM_NAME).contains(&label.len()) =>
        {
            Some(StreamId {
                mode: mode::CHANNEL,
                ..stream
            })
        }
        "3" if subcontext.is_empty() && label.is_empty() && uuid_or_empty(subject) => {
            Some(StreamId {
                mode: mode::GROUP,
                ..stream
            })
        }
        "4" if label.is_empty() && uuid_or_empty(subject) && uuid_or_empty(subcontext) => {
            Some(StreamId {
                mode: mode::DIRECT,
                ..stream
            })
        }
        _ => None,
    }
}

/// The fields channel messages, acks and events repeat to say which
/// channel they belong to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelNames {
    pub room_name: String,
    pub group_id: String,
    pub user_id_one: String,
    pub user_id_two: String,
}

impl ChannelNames {
    pub fn of(stream: &StreamId) -> ChannelNames {
        let mut n = ChannelNames::default();
        match stream.mode {
            mode::CHANNEL => n.room_name = stream.label.clone(),
            mode::GROUP => n.group_id = stream.subject.clone(),
            mode::DIRECT => {
                n.user_id_one = stream.subject.clone();
                n.user_id_two = stream.subcontext.clone();
            }
            _ => {}
        }
        n
    }
}

/// The user on the other side of a direct channel, if `me` is one of its
/// two users.
pub fn other_user(stream: &StreamId, me: Uuid) -> Option<Uuid> {
    if stream.mode != mode::DIRECT {
        return None;
    }
    let me = me.to_string();
    let other = if stream.subject == me {
        &stream.subcontext
    } else if stream.subcontext == me {
        &stream.subject
    } else {
        return None;
    };
    Uuid::parse_str(other).ok()
}

/// Message content must be a JSON object, as in Nakama.
pub fn is_json_object(content: &str) -> bool {
    content.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(content).is_ok()
}

/// A chat message as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMessage {
    pub id: Uuid,
    pub stream: StreamId,
    pub code: i32,
    pub sender_id: Uuid,
    pub username: String,
    /// A JSON object, as text.
    pub content: String,
    /// Unix microseconds.
    pub create_time: i64,
    /// Unix microseconds.
    pub update_time: i64,
}

/// Where a history page starts: `(create_time, id)` of a message, which
/// the page excludes.
pub type MessageKey = (i64, Uuid);

/// The position a history cursor carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCursor {
    /// The channel the cursor was made for.
    #[serde(rename = "c")]
    pub channel: String,
    #[serde(rename = "t")]
    pub create_time: i64,
    #[serde(rename = "i")]
    pub id: Uuid,
    /// The listing direction it was made for.
    #[serde(rename = "f")]
    pub forward: bool,
    /// True for a next-page cursor, false for a previous-page one.
    #[serde(rename = "n")]
    pub is_next: bool,
}

impl MessageCursor {
    /// Decodes a client's cursor and checks it belongs to this listing.
    pub fn parse(text: &str, channel: &str, forward: bool) -> ApiResult<MessageCursor> {
        match cursor::decode::<MessageCursor>(text) {
            Some(c) if c.channel == channel && c.forward == forward => Ok(c),
            _ => Err(ApiError::invalid("Cursor is invalid or expired.")),
        }
    }

    fn at(channel: &str, m: &ChannelMessage, forward: bool, is_next: bool) -> MessageCursor {
        MessageCursor {
            channel: channel.to_string(),
            create_time: m.create_time,
            id: m.id,
            forward,
            is_next,
        }
    }
}

/// What to ask the store for: messages strictly after `after` in
/// `ascending` order (strictly before, for descending), at most `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    pub ascending: bool,
    pub after: Option<MessageKey>,
    pub limit: usize,
}

/// A page of history, oldest-first when listing forward.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryPage {
    pub messages: Vec<ChannelMessage>,
    pub next_cursor: Option<String>,
    pub prev_cursor: Option<String>,
    /// Resumes from the newest message seen, for polling new messages.
    pub cacheable_cursor: Option<String>,
}

/// The store query for a page of `limit` messages. It asks for one more
/// than `limit`, to learn whether another page follows.
pub fn history_query(forward: bool, cursor: Option<&MessageCursor>, limit: usize) -> HistoryQuery {
    let limit = limit + 1;
    match cursor {
        None => HistoryQuery {
            ascending: forward,
            after: None,
            limit,
        },
        Some(c) => HistoryQuery {
            // A next page going forward, or a previous page going
            // backward, both walk towards newer messages.
            ascending: forward == c.is_next,
            after: Some((c.create_time, c.id)),
            limit,
        },
    }
}

/// Builds the page from the rows [`history_query`] fetched.
pub fn history_page(
    channel: &str,
    forward: bool,
    cursor: Option<MessageCursor>,
    limit: usize,
    mut rows: Vec<ChannelMessage>,
) -> HistoryPage {
    let more = rows.len() > limit;
    rows.truncate(limit);
    // In fetch order: `beyond` points past the last row (more exist that
    // way), `behind` back at the first (only when paging from a cursor).
    let beyond = if more {
        rows.last()
            .map(|m| MessageCursor::at(channel, m, forward, true))
    } else {
        None
    };
    let behind = match (&cursor, rows.first()) {
        (Some(_), Some(m)) => Some(MessageCursor::at(channel, m, forward, false)),
        _ => None,
    };
    let backwards_page = cursor.as_ref().is_some_and(|c| !c.is_next);
    let (next, prev) = if backwards_page {
        // A previous page was fetched in reverse: put it back in order
        // and swap the roles of the two cursors.
        rows.reverse();
        let flip = |mut c: MessageCursor| {
            c.is_next = !c.is_next;
            c
        };
        (behind.map(flip), beyond.map(flip))
    } else {
        (beyond, behind)
    };
    // Nakama takes the page's last message, which going backward is the
    // oldest; the newest one is what a client polling for news needs.
    let newest = if forward { rows.last() } else { rows.first() };
    let cacheable = match (newest, cursor) {
        (Some(m), _) => Some(MessageCursor::at(channel, m, true, true)),
        (None, Some(mut c)) => {
            c.forward = true;
            c.is_next = true;
            Some(c)
        }
        (None, None) => None,
    };
    HistoryPage {
        messages: rows,
        next_cursor: next.map(|c| cursor::encode(&c)),
        prev_cursor: prev.map(|c| cursor::encode(&c)),
        cacheable_cursor: cacheable.map(|c| cursor::encode(&c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target(0, "lobby").unwrap(),
            Target::Room("lobby".into())
        );
        assert_eq!(
            parse_target(1, "lobby").unwrap(),
            Target::Room("lobby".into())
        );
        assert!(parse_target(1, "").is_err());
        assert!(parse_target(1, &"x".repeat(65)).is_err());
        assert!(parse_target(1, "a\nb").is_err());
        let u = Uuid::new_v4();
        assert_eq!(parse_target(2, &u.to_string()).unwrap(), Target::Direct(u));
        assert!(parse_target(2, "nope").is_err());
        assert!(parse_target(2, &Uuid::nil().to_string()).is_err());
        assert_eq!(parse_target(3, &u.to_string()).unwrap(), Target::Group(u));
        assert!(parse_target(4, "x").is_err());
    }

    #[test]
    fn channel_ids_round_trip() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for s in [room("lobby.with.dots"), direct(a, b), group(a)] {
            let id = channel_id(&s);
            assert_eq!(parse_channel_id(&id), Some(s), "{id}");
        }
        assert_eq!(direct(a, b), direct(b, a));
        assert_eq!(channel_id(&room("lobby")), "2...lobby");
        assert_eq!(channel_id(&group(a)), format!("3.{a}.."));
        let d = direct(a, b);
        assert!(d.subject < d.subcontext);
        assert_eq!(other_user(&d, a), Some(b));
        assert_eq!(other_user(&d, Uuid::new_v4()), None);
        for bad in [
            "", "2", "2..", "2...", "1...x", "2.x..y", "3.nope..", "3.x.y.", "4...x", "5...",
        ] {
            assert_eq!(parse_channel_id(bad), None, "{bad}");
        }
        assert_eq!(parse_channel_id(&format!("2...{}", "x".repeat(65))), None);
    }

    #[test]
    fn json_objects() {
        assert!(is_json_object(r#"{"a":1}"#));
        assert!(is_json_object(" {} "));
        assert!(!is_json_object("[]"));
        assert!(!is_json_object("1"));
        assert!(!is_json_object("{"));
        assert!(!is_json_object(""));
    }

    fn msgs(n: usize) -> Vec<ChannelMessage> {
        (0..n)
            .map(|i| ChannelMessage {
                id: Uuid::from_u128(i as u128 + 1),
                stream: room("r"),
                code: 0,
                sender_id: Uuid::nil(),
                username: "u".into(),
                content: "{}".into(),
                create_time: 1000 + i as i64,
                update_time: 1000 + i as i64,
            })
            .collect()
    }

    /// Plays the store: the rows a query selects from `all`.
    fn fetch(all: &[ChannelMessage], q: &HistoryQuery) -> Vec<ChannelMessage> {
        let key = |m: &ChannelMessage| (m.create_time, m.id);
        let mut rows: Vec<ChannelMessage> = all
            .iter()
            .filter(|m| match q.after {
                None => true,
                Some(a) if q.ascending => key(m) > a,
                Some(a) => key(m) < a,
            })
            .cloned()
            .collect();
        if !q.ascending {
            rows.reverse();
        }
        rows.truncate(q.limit);
        rows
    }

    fn page(all: &[ChannelMessage], forward: bool, cursor: Option<&str>) -> HistoryPage {
        let c = cursor.map(|t| MessageCursor::parse(t, "2...r", forward).unwrap());
        let q = history_query(forward, c.as_ref(), 3);
        history_page("2...r", forward, c, 3, fetch(all, &q))
    }

    fn times(p: &HistoryPage) -> Vec<i64> {
        p.messages.iter().map(|m| m.create_time - 1000).collect()
    }

    #[test]
    fn paging_forward_and_back() {
        let all = msgs(8);
        let p1 = page(&all, true, None);
        assert_eq!(times(&p1), [0, 1, 2]);
        assert!(p1.prev_cursor.is_none());
        let p2 = page(&all, true, p1.next_cursor.as_deref());
        assert_eq!(times(&p2), [3, 4, 5]);
        let p3 = page(&all, true, p2.next_cursor.as_deref());
        assert_eq!(times(&p3), [6, 7]);
        assert!(p3.next_cursor.is_none());
        // Back from page 3 gives page 2 again, in the same order.
        let back = page(&all, true, p3.prev_cursor.as_deref());
        assert_eq!(times(&back), [3, 4, 5]);
        let back = page(&all, true, back.prev_cursor.as_deref());
        assert_eq!(times(&back), [0, 1, 2]);
        assert!(back.prev_cursor.is_none(), "nothing before the first");
        assert!(back.next_cursor.is_some());

        // Backward listing: newest first.
        let b1 = page(&all, false, None);
        assert_eq!(times(&b1), [7, 6, 5]);
        let b2 = page(&all, false, b1.next_cursor.as_deref());
        assert_eq!(times(&b2), [4, 3, 2]);
        let b0 = page(&all, false, b2.prev_cursor.as_deref());
        assert_eq!(times(&b0), [7, 6, 5]);
    }

    #[test]
    fn cacheable_cursor_resumes_at_newest() {
        let mut all = msgs(2);
        let p = page(&all, true, None);
        assert_eq!(times(&p), [0, 1]);
        let cache = p.cacheable_cursor.clone().unwrap();
        let empty = page(&all, true, Some(&cache));
        assert!(empty.messages.is_empty());
        assert_eq!(empty.cacheable_cursor.as_deref(), Some(cache.as_str()));
        all.extend(msgs(4).into_iter().skip(2));
        assert_eq!(times(&page(&all, true, Some(&cache))), [2, 3]);
        // The newest-first listing's cacheable cursor also points forward.
        let b = page(&all, false, None);
        assert_eq!(
            times(&page(&all, true, b.cacheable_cursor.as_deref())),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn cursors_are_checked() {
        let all = msgs(5);
        let p = page(&all, true, None);
        let next = p.next_cursor.unwrap();
        assert!(MessageCursor::parse(&next, "2...other", true).is_err());
        assert!(MessageCursor::parse(&next, "2...r", false).is_err());
        assert!(MessageCursor::parse("garbage", "2...r", true).is_err());
    }
}
