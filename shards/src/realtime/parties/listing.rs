//! `GET /v2/party?limit&open&query&cursor`: listed parties of every
//! shard, by Nakama's query language on their labels.
//!
//! Each shard owns its parties in id order (UUIDv7: creation order), each
//! with its label flattened once, at creation or update, into the
//! document Nakama indexes (`label.*`, `open`, `hidden`, `max_size`,
//! `node`, `create_time`). A listing asks every shard for its first
//! `limit + 1` visible parties after the cursor that the query matches
//! (the reference evaluator, `kairos_core::query`), merges them by id and
//! keeps `limit`; the cursor names the last one returned. A shard's part
//! of a listing thus stops after at most 101 matches and, at worst (a
//! query matching few), walks its parties once; parties are bounded by
//! their members (a party has at least one, and a session is in at most
//! `kairos.session.max_parties`). A listing sees every party created or
//! updated before it was asked.

use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;

use futures_channel::oneshot;
use kairos_core::error::{ApiError, Code};
use kairos_core::query::{Compiled, parse};
use kairos_schema::api;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Msg, party_id, stream};
use crate::shard::Shard;

/// Nakama's answer to a query or cursor it cannot use.
const LIST_ERROR: &str = "Error listing matches.";

/// How long a listing waits for a shard's part (only a stopping shard
/// would take long); a shard that does not answer lists nothing.
const PART_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a listing asks each shard.
#[derive(Debug)]
pub struct ListPart {
    ask: Arc<Ask>,
    reply: oneshot::Sender<Vec<Listed>>,
}

#[derive(Debug)]
struct Ask {
    query: Compiled,
    open: Option<bool>,
    /// Hidden parties too (game code may list them; clients may not).
    hidden: bool,
    after: Option<Uuid>,
    take: usize,
}

/// One listed party and its id, for the merge.
#[derive(Debug)]
pub struct Listed {
    id: Uuid,
    party: api::Party,
}

/// The cursor: the listing it continues, and the last party it returned.
#[derive(Serialize, Deserialize)]
struct Cursor {
    q: String,
    o: Option<bool>,
    l: usize,
    #[serde(default)]
    h: bool,
    a: Uuid,
}

/// Lists visible parties of every shard (hidden ones too if `hidden`):
/// at most `limit`, `open` ones only if asked, those `query` matches (all
/// for an empty one), after `cursor`.
pub async fn list(
    shard: &Shard,
    limit: usize,
    open: Option<bool>,
    hidden: bool,
    query: &str,
    cursor: &str,
) -> Result<api::PartyList, ApiError> {
    let internal = || ApiError::new(Code::Internal, LIST_ERROR);
    let after = if cursor.is_empty() {
        None
    } else {
        let c: Cursor = kairos_core::cursor::decode(cursor).ok_or_else(internal)?;
        if c.q != query || c.o != open || c.l != limit || c.h != hidden {
            return Err(internal());
        }
        Some(c.a)
    };
    let text = if query.is_empty() { "*" } else { query };
    let compiled = parse(text)
        .and_then(|q| q.compile())
        .map_err(|_| internal())?;
    let ask = Arc::new(Ask {
        query: compiled,
        open,
        hidden,
        after,
        take: limit + 1,
    });
    let mut answers = Vec::new();
    for to in 0..shard.port.shards() {
        let (reply, answer) = oneshot::channel();
        shard.send_to(
            to,
            Msg::List(ListPart {
                ask: ask.clone(),
                reply,
            }),
        );
        answers.push(answer);
    }
    let mut found = Vec::new();
    for answer in answers {
        // A shard that stops first never answers: it lists nothing.
        if let Some(Ok(part)) = crate::rt::timeout(PART_WAIT, answer).await {
            found.extend(part);
        }
    }
    found.sort_by_key(|l| l.id);
    let more = found.len() > limit;
    found.truncate(limit);
    let cursor = match found.last() {
        Some(last) if more => kairos_core::cursor::encode(&Cursor {
            q: query.to_string(),
            o: open,
            l: limit,
            h: hidden,
            a: last.id,
        }),
        _ => String::new(),
    };
    Ok(api::PartyList {
        parties: found.into_iter().map(|l| l.party).collect(),
        cursor,
    })
}

/// On each shard: its part of a listing.
pub(super) fn on_list(shard: &Shard, part: ListPart) {
    let ask = &part.ask;
    let parties = shard.features.parties.parties.borrow();
    let range = match ask.after {
        Some(a) => parties.range((Excluded(a), Unbounded)),
        None => parties.range(..),
    };
    let node = &shard.shared.config.name;
    let found = range
        .filter(|(_, p)| (ask.hidden || !p.hidden) && ask.open.is_none_or(|o| o == p.open))
        .filter(|(_, p)| ask.query.score(&p.doc).is_some())
        .take(ask.take)
        .map(|(id, p)| Listed {
            id: *id,
            party: api::Party {
                party_id: party_id(&stream(*id, node)),
                open: p.open,
                hidden: p.hidden,
                max_size: p.max_size as i32,
                label: p.label.clone(),
            },
        })
        .collect();
    let _ = part.reply.send(found);
}
