//! Query strings and path parameters: `shards/src/http/query.rs` (`parse`,
//! `decode`, `decode_path`, `parse_bool`), compiled here from its own
//! source file, then what the REST handlers read from them: integers and
//! booleans (as `handlers/params.rs`), user ids, a channel id from the path
//! (`core::channel::parse_channel_id`), the opaque paging cursors of
//! `core` (chat history, friends, friends of friends, notifications) and
//! friend metadata (`is_json_object`).
//!
//! kairos-shards itself is not linked: it pulls glommio, hyper, SQLite and
//! the PostgreSQL client into the build for a module that uses only `std`.
//!
//! Input: `path segment \n query string`.

#![no_main]

#[path = "../../shards/src/http/query.rs"]
#[allow(dead_code)]
mod query;

use kairos_core::channel::{self, MessageCursor};
use kairos_core::friend::{FofCursor, FriendCursor, FriendState};
use kairos_core::notification::NotificationCursor;
use libfuzzer_sys::fuzz_target;

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, raw_query) = text.split_once('\n').unwrap_or(("", text));
    let pairs = query::parse(raw_query);
    for (k, v) in &pairs {
        let _ = query::parse_bool(v);
        let _ = v.parse::<i32>();
        if k == "ids" {
            let _ = uuid::Uuid::parse_str(v);
        }
    }

    // GET /v2/channel/{channel_id}?limit=&forward=&cursor=
    let channel_id = query::decode_path(path);
    let forward = param(&pairs, "forward")
        .and_then(query::parse_bool)
        .unwrap_or(true);
    let limit = param(&pairs, "limit")
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|&n| (1..=100).contains(&n))
        .map_or(1, |n| n as usize);
    if let Some(stream) = channel::parse_channel_id(&channel_id) {
        assert!(channel::is_channel(&stream));
        let _ = channel::ChannelNames::of(&stream);
    }
    if let Some(c) = param(&pairs, "cursor") {
        if let Ok(cursor) = MessageCursor::parse(c, &channel_id, forward) {
            let _ = channel::history_query(forward, Some(&cursor), limit);
        }
        let state = param(&pairs, "state")
            .and_then(|v| v.parse::<i32>().ok())
            .and_then(FriendState::from_i32);
        let _ = FriendCursor::parse(c, state);
        let _ = FofCursor::parse(c);
    }
    if let Some(c) = param(&pairs, "cacheable_cursor")
        && let Ok(cursor) = NotificationCursor::parse(c)
    {
        let _ = cursor.after();
    }
    if let Some(metadata) = param(&pairs, "metadata") {
        let _ = channel::is_json_object(metadata);
    }
});
