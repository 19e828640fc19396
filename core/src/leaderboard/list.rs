//! Listing records: the cursor, the store query a page needs, and the
//! paging rules, as Nakama's `LeaderboardRecordsList` and
//! `LeaderboardRecordsHaystack` page (keyset pages over
//! `(score, subscore, owner_id)`, ranks counted from the cursor's).
//!
//! The store answers one primitive, [`Query`]: records of one period
//! strictly after (or before) a key, in ascending (or descending) key
//! order. Everything else (direction, ranks, cursors, the around-owner
//! window) is decided here.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Record, SortOrder};
use crate::cursor;
use crate::error::ApiError;

/// A page's position: a record's key and rank, and which way it pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCursor {
    /// Next page (`true`) or previous page.
    #[serde(rename = "n")]
    pub is_next: bool,
    #[serde(rename = "l")]
    pub leaderboard_id: String,
    #[serde(rename = "e")]
    pub expiry: i64,
    #[serde(rename = "s")]
    pub score: i64,
    #[serde(rename = "u")]
    pub subscore: i64,
    #[serde(rename = "o")]
    pub owner_id: Uuid,
    #[serde(rename = "r")]
    pub rank: i64,
}

/// Nakama's "Cursor is invalid or expired." (400).
pub fn invalid_cursor() -> ApiError {
    ApiError::invalid("Cursor is invalid or expired.")
}

impl ListCursor {
    /// A cursor at `record`.
    pub fn at(record: &Record, is_next: bool, expiry: i64) -> ListCursor {
        ListCursor {
            is_next,
            leaderboard_id: record.leaderboard_id.clone(),
            expiry,
            score: record.score,
            subscore: record.subscore,
            owner_id: record.owner_id,
            rank: record.rank,
        }
    }

    pub fn encode(&self) -> String {
        cursor::encode(self)
    }

    /// Reads a client's cursor for board `id`'s period ending at `expiry`:
    /// one of another board or period (it rolled over) is invalid.
    pub fn parse(text: &str, id: &str, expiry: i64) -> Result<ListCursor, ApiError> {
        let c: ListCursor = cursor::decode(text).ok_or_else(invalid_cursor)?;
        if c.leaderboard_id != id || c.expiry != expiry {
            return Err(invalid_cursor());
        }
        Ok(c)
    }

    fn key(&self) -> (i64, i64, Uuid) {
        (self.score, self.subscore, self.owner_id)
    }
}

/// Which way a store query walks the key order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Ascending keys, strictly greater than the bound.
    Up,
    /// Descending keys, strictly less than the bound.
    Down,
}

/// One store query: at most `limit` records of a period, from `bound`
/// (excluded) in direction `dir`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub bound: Option<(i64, i64, Uuid)>,
    pub dir: Dir,
    pub limit: usize,
}

/// The direction of rank order on `sort`'s board.
fn best_first(sort: SortOrder) -> Dir {
    match sort {
        SortOrder::Ascending => Dir::Up,
        SortOrder::Descending => Dir::Down,
    }
}

fn reverse(d: Dir) -> Dir {
    match d {
        Dir::Up => Dir::Down,
        Dir::Down => Dir::Up,
    }
}

/// A listing page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<Record>,
    pub next: Option<ListCursor>,
    pub prev: Option<ListCursor>,
}

/// The query of a listing page of `limit` after `cursor` (one more than
/// the page, to know whether another follows).
pub fn list_query(sort: SortOrder, cursor: Option<&ListCursor>, limit: usize) -> Query {
    match cursor {
        None => Query {
            bound: None,
            dir: best_first(sort),
            limit: limit + 1,
        },
        Some(c) => Query {
            bound: Some(c.key()),
            dir: if c.is_next {
                best_first(sort)
            } else {
                reverse(best_first(sort))
            },
            limit: limit + 1,
        },
    }
}

/// Turns the rows [`list_query`] returned (in its order) into the page:
/// ranks counted from the cursor's, cursors to the next and previous
/// pages, records in rank order.
pub fn list_page(
    expiry: i64,
    cursor: Option<&ListCursor>,
    limit: usize,
    rows: Vec<Record>,
) -> Page {
    let backwards = cursor.is_some_and(|c| !c.is_next);
    let mut rank = cursor.map_or(0, |c| c.rank);
    let mut records: Vec<Record> = Vec::with_capacity(limit.min(rows.len()));
    let mut next = None;
    let mut prev = None;
    for mut r in rows {
        if records.len() >= limit {
            // Another record follows: the cursor points at the page's last.
            next = records
                .last()
                .map(|last| ListCursor::at(last, true, expiry));
            break;
        }
        rank += if backwards { -1 } else { 1 };
        r.rank = rank;
        r.expiry_time = expiry;
        if cursor.is_some() && prev.is_none() {
            prev = Some(ListCursor::at(&r, false, expiry));
        }
        records.push(r);
    }
    if backwards {
        // Walking back: flip the order and the cursors.
        std::mem::swap(&mut next, &mut prev);
        for c in next.iter_mut().chain(prev.iter_mut()) {
            c.is_next = !c.is_next;
        }
        records.reverse();
    }
    Page {
        records,
        next,
        prev,
    }
}

/// The around-owner listing's first query: up to `limit + 1` records
/// ranked just above the owner's, nearest first.
pub fn around_above(sort: SortOrder, owner: &Record, limit: usize) -> Query {
    Query {
        bound: Some(owner.key()),
        dir: reverse(best_first(sort)),
        limit: limit + 1,
    }
}

/// How many records below the owner the window wants, given how many
/// were found above (Nakama's `secondLimit`).
pub fn around_below_limit(limit: usize, above: usize) -> usize {
    let half = limit / 2;
    if above < half { limit - above } else { half }
}

/// The around-owner listing's second query: records ranked just below
/// the owner's, nearest first.
pub fn around_below(sort: SortOrder, owner: &Record, below_limit: usize) -> Query {
    Query {
        bound: Some(owner.key()),
        dir: best_first(sort),
        limit: below_limit + 1,
    }
}

/// The around-owner window: what the two queries found (each nearest
/// first) and the owner's record, trimmed to `limit` as Nakama trims it.
/// Returns the records in rank order and whether a previous and a next
/// page exist (their cursors are made once ranks are known).
pub fn around_window(
    mut above: Vec<Record>,
    owner: Record,
    mut below: Vec<Record>,
    limit: usize,
) -> (Vec<Record>, bool, bool) {
    let mut has_prev = false;
    if above.len() > limit {
        has_prev = true;
        above.truncate(limit);
    }
    above.reverse();
    let below_limit = around_below_limit(limit, above.len());
    let mut has_next = false;
    if below.len() > below_limit {
        has_next = true;
        below.truncate(below_limit);
    }
    let above_len = above.len();
    let mut records = above;
    records.push(owner);
    records.append(&mut below);
    let n = records.len();
    let start = if n < limit || above_len < below_limit {
        0
    } else {
        n - limit
    };
    let end = (start + limit).min(n);
    if start > 0 {
        has_prev = true;
    }
    records.truncate(end);
    records.drain(..start);
    (records, has_prev, has_next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(score: i64, owner: u128) -> Record {
        Record {
            leaderboard_id: "lb".into(),
            owner_id: Uuid::from_u128(owner),
            username: None,
            score,
            subscore: 0,
            num_score: 1,
            max_num_score: 1_000_000,
            metadata: "{}".into(),
            create_time: 0,
            update_time: 0,
            expiry_time: 0,
            rank: 0,
        }
    }

    /// Runs a query against an in-memory table, as a store would.
    fn run(table: &[Record], q: Query) -> Vec<Record> {
        let mut v: Vec<Record> = table
            .iter()
            .filter(|r| match (q.bound, q.dir) {
                (None, _) => true,
                (Some(b), Dir::Up) => r.key() > b,
                (Some(b), Dir::Down) => r.key() < b,
            })
            .cloned()
            .collect();
        v.sort_by_key(|r| r.key());
        if q.dir == Dir::Down {
            v.reverse();
        }
        v.truncate(q.limit);
        v
    }

    fn page(table: &[Record], sort: SortOrder, c: Option<&ListCursor>, limit: usize) -> Page {
        let rows = run(table, list_query(sort, c, limit));
        list_page(0, c, limit, rows)
    }

    #[test]
    fn pages_forward_and_back_with_ranks() {
        let table: Vec<Record> = (1..=7).map(|i| rec(i * 10, i as u128)).collect();
        let p1 = page(&table, SortOrder::Descending, None, 3);
        let scores = |p: &Page| {
            p.records
                .iter()
                .map(|r| (r.score, r.rank))
                .collect::<Vec<_>>()
        };
        assert_eq!(scores(&p1), vec![(70, 1), (60, 2), (50, 3)]);
        assert!(p1.prev.is_none());
        let n1 = p1.next.clone().unwrap();
        let p2 = page(&table, SortOrder::Descending, Some(&n1), 3);
        assert_eq!(scores(&p2), vec![(40, 4), (30, 5), (20, 6)]);
        let p3 = page(&table, SortOrder::Descending, p2.next.as_ref(), 3);
        assert_eq!(scores(&p3), vec![(10, 7)]);
        assert!(p3.next.is_none());
        // Back from page 3 is page 2, with the same ranks and both cursors.
        let back = page(&table, SortOrder::Descending, p3.prev.as_ref(), 3);
        assert_eq!(scores(&back), vec![(40, 4), (30, 5), (20, 6)]);
        assert!(back.next.as_ref().unwrap().is_next);
        assert!(!back.prev.as_ref().unwrap().is_next);
        let back2 = page(&table, SortOrder::Descending, back.prev.as_ref(), 3);
        assert_eq!(scores(&back2), vec![(70, 1), (60, 2), (50, 3)]);
        // Ascending boards page lowest first.
        let asc = page(&table, SortOrder::Ascending, None, 2);
        assert_eq!(scores(&asc), vec![(10, 1), (20, 2)]);
    }

    #[test]
    fn cursors_are_bound_to_their_board_and_period() {
        let c = ListCursor::at(&rec(5, 1), true, 100);
        let text = c.encode();
        assert_eq!(ListCursor::parse(&text, "lb", 100), Ok(c));
        assert!(ListCursor::parse(&text, "other", 100).is_err());
        assert!(ListCursor::parse(&text, "lb", 200).is_err());
        assert!(ListCursor::parse("garbage!", "lb", 100).is_err());
    }

    #[test]
    fn the_window_centres_on_the_owner() {
        let table: Vec<Record> = (1..=20).map(|i| rec(i * 10, i as u128)).collect();
        let sort = SortOrder::Descending;
        let window = |owner_score: i64, limit: usize| {
            let owner = table
                .iter()
                .find(|r| r.score == owner_score)
                .unwrap()
                .clone();
            let above = run(&table, around_above(sort, &owner, limit));
            let below_limit = around_below_limit(limit, above.len().min(limit));
            let below = run(&table, around_below(sort, &owner, below_limit));
            let (rs, p, n) = around_window(above, owner, below, limit);
            (rs.iter().map(|r| r.score).collect::<Vec<_>>(), p, n)
        };
        // In the middle: half above, the owner, the rest below.
        assert_eq!(window(100, 5), (vec![120, 110, 100, 90, 80], true, true));
        // At the top: the owner first, then below.
        assert_eq!(window(200, 3), (vec![200, 190, 180], false, true));
        // At the bottom: above fill the window.
        assert_eq!(window(10, 3), (vec![30, 20, 10], true, false));
        assert_eq!(window(100, 1), (vec![100], true, true));
    }
}
