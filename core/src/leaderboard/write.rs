//! What a write does to an owner's record: the one rule both backends
//! apply while they hold the record's row (SQLite's single writer, a
//! `FOR UPDATE` lock on PostgreSQL), so concurrent writes serialize and
//! none is lost.
//!
//! Nakama's semantics (its upsert in `core_leaderboard.go`):
//!
//! * a new record takes the written score and subscore, except under
//!   `decr`, where it starts at 0;
//! * `best` keeps the better of old and new, score and subscore *each*
//!   (lower for an ascending board, higher for a descending one);
//!   `set` overwrites; `incr` adds; `decr` subtracts, never below 0;
//! * a write that would change nothing (a worse `best`, a `set` to the
//!   same values, an `incr`/`decr` of 0 and 0) leaves the record as it
//!   is: no new `num_score`, metadata or update time;
//! * every change counts in `num_score` and replaces the metadata and
//!   username when the write carries them;
//! * scores are never negative (Nakama's `CHECK (score >= 0)`): a write
//!   that would store a negative or overflowing value fails.

use uuid::Uuid;

use super::{Operator, SortOrder};

/// One write, as a backend runs it.
#[derive(Clone, Debug)]
pub struct RecordWrite {
    pub leaderboard_id: String,
    /// The period's expiry (0: the board never resets).
    pub expiry: i64,
    pub owner_id: Uuid,
    /// Stored when given (and on a change), else the record keeps its own.
    pub username: Option<String>,
    pub score: i64,
    pub subscore: i64,
    /// A JSON object; kept as it was when `None`.
    pub metadata: Option<String>,
    pub operator: Operator,
    pub sort: SortOrder,
    /// Unix seconds, the create and update time it stamps.
    pub now: i64,
    /// `max_num_score` of a new record.
    pub max_num_score: i32,
}

/// What a write left: the record, and whether the write changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub record: super::Record,
    pub changed: bool,
}

/// The outcome of a write on a stored `(score, subscore)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Store these values (insert, or update with `num_score + 1`).
    Store { score: i64, subscore: i64 },
    /// Leave the record as it is.
    Unchanged,
}

/// Why a write cannot be stored: a negative or overflowing score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange;

/// Applies a write of `(score, subscore)` with `op` to the owner's record
/// `old` (`None`: no record yet in this period).
pub fn apply(
    op: Operator,
    sort: SortOrder,
    old: Option<(i64, i64)>,
    score: i64,
    subscore: i64,
) -> Result<Applied, OutOfRange> {
    let new = match old {
        None => match op {
            Operator::Decrement => (0, 0),
            _ => (score, subscore),
        },
        Some((s, ss)) => match op {
            Operator::Increment | Operator::Decrement if score == 0 && subscore == 0 => {
                return Ok(Applied::Unchanged);
            }
            Operator::Increment => (
                s.checked_add(score).ok_or(OutOfRange)?,
                ss.checked_add(subscore).ok_or(OutOfRange)?,
            ),
            Operator::Decrement => (
                s.checked_sub(score).ok_or(OutOfRange)?.max(0),
                ss.checked_sub(subscore).ok_or(OutOfRange)?.max(0),
            ),
            Operator::Set if (s, ss) == (score, subscore) => return Ok(Applied::Unchanged),
            Operator::Set => (score, subscore),
            Operator::Best => match sort {
                SortOrder::Ascending if s > score || ss > subscore => {
                    (s.min(score), ss.min(subscore))
                }
                SortOrder::Descending if s < score || ss < subscore => {
                    (s.max(score), ss.max(subscore))
                }
                _ => return Ok(Applied::Unchanged),
            },
        },
    };
    if new.0 < 0 || new.1 < 0 {
        return Err(OutOfRange);
    }
    Ok(Applied::Store {
        score: new.0,
        subscore: new.1,
    })
}

#[cfg(test)]
mod tests {
    use super::Applied::{Store, Unchanged};
    use super::*;
    use Operator::*;
    use SortOrder::*;

    fn s(score: i64, subscore: i64) -> Result<Applied, OutOfRange> {
        Ok(Store { score, subscore })
    }

    #[test]
    fn a_first_write_stores_the_score_except_decrement() {
        for op in [Best, Set, Increment] {
            assert_eq!(apply(op, Descending, None, 7, 2), s(7, 2));
        }
        assert_eq!(apply(Decrement, Descending, None, 7, 2), s(0, 0));
        assert_eq!(apply(Set, Descending, None, -1, 0), Err(OutOfRange));
        assert_eq!(apply(Best, Ascending, None, 0, -3), Err(OutOfRange));
    }

    #[test]
    fn best_keeps_the_better_score_and_subscore_each() {
        let old = Some((10, 5));
        assert_eq!(apply(Best, Descending, old, 12, 1), s(12, 5));
        assert_eq!(apply(Best, Descending, old, 9, 6), s(10, 6));
        assert_eq!(apply(Best, Descending, old, 9, 4), Ok(Unchanged));
        assert_eq!(apply(Best, Descending, old, 10, 5), Ok(Unchanged));
        assert_eq!(apply(Best, Ascending, old, 8, 9), s(8, 5));
        assert_eq!(apply(Best, Ascending, old, 11, 6), Ok(Unchanged));
    }

    #[test]
    fn set_incr_and_decr() {
        let old = Some((10, 5));
        assert_eq!(apply(Set, Ascending, old, 3, 3), s(3, 3));
        assert_eq!(apply(Set, Ascending, old, 10, 5), Ok(Unchanged));
        assert_eq!(apply(Increment, Ascending, old, 3, 0), s(13, 5));
        assert_eq!(apply(Increment, Ascending, old, 0, 0), Ok(Unchanged));
        assert_eq!(apply(Increment, Ascending, old, -11, 0), Err(OutOfRange));
        assert_eq!(
            apply(Increment, Ascending, old, i64::MAX, 0),
            Err(OutOfRange)
        );
        assert_eq!(apply(Decrement, Ascending, old, 4, 9), s(6, 0));
        assert_eq!(apply(Decrement, Ascending, old, 0, 0), Ok(Unchanged));
        assert_eq!(apply(Decrement, Ascending, old, -2, 0), s(12, 5));
    }
}
