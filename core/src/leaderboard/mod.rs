//! Leaderboards, as Nakama has them: definitions created by game code, one
//! record per owner per reset period, and the rules every backend shares.
//!
//! * [`Leaderboard`]: a definition (sort order, operator, reset schedule,
//!   metadata, whether ranks are kept). Tournaments are leaderboards
//!   with extra fields (Nakama's own model), so everything here is keyed
//!   by the leaderboard's id and an `expiry` (the end of the period a
//!   record belongs to, `0` for a board that never resets).
//! * [`schedule`]: the cron reset schedule (parsed by `croner`) and the
//!   pure rules of a period's expiry and the last reset. Nothing here
//!   reads the clock.
//! * [`deadlines`]: when each board's hooks fall due (a leaderboard's
//!   resets; a tournament's resets and the ends of its active windows)
//!   and the queue that hands each out once.
//! * [`write`]: what a write does to a record ([`write::apply`]), the one
//!   rule both backends run under the record's row lock.
//! * [`rank`]: the in-memory rank index of one period (an order-statistics
//!   structure: exact ranks in `O(log n)`-ish time, see its docs).
//! * [`list`]: cursors and the paging rules of listings and
//!   around-owner ("haystack") listings.

pub mod deadlines;
pub mod list;
pub mod rank;
pub mod schedule;
pub mod write;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
pub use schedule::Schedule;

/// Longest leaderboard id, as Nakama's `VARCHAR(128)` column.
pub const MAX_ID_LEN: usize = 128;
/// `max_num_score` of a plain leaderboard's records (Nakama's column
/// default; tournaments set their own).
pub const DEFAULT_MAX_NUM_SCORE: i32 = 1_000_000;
/// Most owner ids one listing may name (Kairos's bound; Nakama has none).
pub const MAX_OWNER_IDS: usize = 1000;

/// Record order. Ties on score break on subscore, then on owner id, in
/// the same direction (Nakama's `ORDER BY score, subscore, owner_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortOrder {
    /// Lower scores rank first (Nakama's `0`).
    Ascending,
    /// Higher scores rank first (Nakama's `1`, the default).
    Descending,
}

impl SortOrder {
    /// Game code's names: `asc`/`ascending`, `desc`/`descending`.
    pub fn parse(s: &str) -> Option<SortOrder> {
        match s {
            "asc" | "ascending" => Some(SortOrder::Ascending),
            "desc" | "descending" => Some(SortOrder::Descending),
            _ => None,
        }
    }
    /// Nakama's number (`api.Leaderboard.sort_order`, the stored column).
    pub fn as_i32(self) -> i32 {
        match self {
            SortOrder::Ascending => 0,
            SortOrder::Descending => 1,
        }
    }
    pub fn from_i32(n: i32) -> Option<SortOrder> {
        match n {
            0 => Some(SortOrder::Ascending),
            1 => Some(SortOrder::Descending),
            _ => None,
        }
    }
}

/// How a write combines with the owner's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operator {
    /// Keep the better of old and new, score and subscore each.
    Best,
    /// Overwrite.
    Set,
    /// Add.
    Increment,
    /// Subtract, never below zero.
    Decrement,
}

impl Operator {
    /// Game code's names: `best`, `set`, `incr`/`increment`,
    /// `decr`/`decrement`.
    pub fn parse(s: &str) -> Option<Operator> {
        match s {
            "best" => Some(Operator::Best),
            "set" => Some(Operator::Set),
            "incr" | "increment" => Some(Operator::Increment),
            "decr" | "decrement" => Some(Operator::Decrement),
            _ => None,
        }
    }
    /// The stored number (Nakama's column: 0 best, 1 set, 2 incr, 3 decr).
    pub fn as_stored(self) -> i32 {
        match self {
            Operator::Best => 0,
            Operator::Set => 1,
            Operator::Increment => 2,
            Operator::Decrement => 3,
        }
    }
    pub fn from_stored(n: i32) -> Option<Operator> {
        match n {
            0 => Some(Operator::Best),
            1 => Some(Operator::Set),
            2 => Some(Operator::Increment),
            3 => Some(Operator::Decrement),
            _ => None,
        }
    }
    /// The API's enum (`api.Operator`: 1 best, 2 set, 3 incr, 4 decr).
    pub fn as_api(self) -> i32 {
        self.as_stored() + 1
    }
    /// The API enum's name, lower-cased, as Nakama's Lua hooks spell it.
    pub fn as_api_name(self) -> &'static str {
        match self {
            Operator::Best => "best",
            Operator::Set => "set",
            Operator::Increment => "increment",
            Operator::Decrement => "decrement",
        }
    }
    /// A write's `operator` field: `Some(None)` for `0` (no override),
    /// `None` for a number that names no operator.
    pub fn from_api_override(n: i32) -> Option<Option<Operator>> {
        match n {
            0 => Some(None),
            1..=4 => Operator::from_stored(n - 1).map(Some),
            _ => None,
        }
    }
}

/// A leaderboard's definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaderboard {
    pub id: String,
    /// Only game code may write or delete records.
    pub authoritative: bool,
    pub sort_order: SortOrder,
    pub operator: Operator,
    /// The cron expression as given, empty for a board that never resets.
    pub reset_schedule: String,
    /// A JSON object.
    pub metadata: String,
    /// Unix seconds.
    pub create_time: i64,
    /// Whether the rank index keeps this board's ranks.
    pub enable_ranks: bool,
    /// The latest reset whose hook was fired, Unix seconds (0: none).
    pub last_reset: i64,
}

impl Leaderboard {
    /// The parsed reset schedule, `None` for a board that never resets.
    /// A stored schedule was checked at creation.
    pub fn schedule(&self) -> Option<Schedule> {
        if self.reset_schedule.is_empty() {
            None
        } else {
            Schedule::parse(&self.reset_schedule).ok()
        }
    }
}

/// One record: an owner's entry in one period of a leaderboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub leaderboard_id: String,
    pub owner_id: Uuid,
    pub username: Option<String>,
    pub score: i64,
    pub subscore: i64,
    /// How many writes changed it.
    pub num_score: i32,
    pub max_num_score: i32,
    /// A JSON object.
    pub metadata: String,
    /// Unix seconds.
    pub create_time: i64,
    pub update_time: i64,
    /// The end of its period, Unix seconds; 0 for a board that never resets.
    pub expiry_time: i64,
    /// Its rank in the period, 0 when unknown.
    pub rank: i64,
}

impl Record {
    /// Its position key in the table's order (ascending tuple order).
    pub fn key(&self) -> (i64, i64, Uuid) {
        (self.score, self.subscore, self.owner_id)
    }
}

/// What game code asks to create.
#[derive(Clone, Debug)]
pub struct NewLeaderboard {
    pub id: String,
    pub authoritative: bool,
    pub sort_order: SortOrder,
    pub operator: Operator,
    pub reset_schedule: String,
    pub metadata: String,
    pub enable_ranks: bool,
}

/// Game code's checks on a creation, with Nakama runtime's messages.
pub fn check_create(
    id: &str,
    sort_order: &str,
    operator: &str,
    reset_schedule: &str,
) -> Result<(SortOrder, Operator), ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid("expects a leaderboard ID string"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(ApiError::invalid(
            "expects a leaderboard ID of at most 128 bytes",
        ));
    }
    let sort = SortOrder::parse(sort_order)
        .ok_or_else(|| ApiError::invalid("expects sort order to be 'asc' or 'desc'"))?;
    let op = Operator::parse(operator).ok_or_else(|| {
        ApiError::invalid("expects operator to be 'best', 'set', 'incr' or 'decr'")
    })?;
    if !reset_schedule.is_empty() && Schedule::parse(reset_schedule).is_err() {
        return Err(ApiError::invalid(
            "expects reset schedule to be a valid CRON expression",
        ));
    }
    Ok((sort, op))
}

/// Whether `s` is what Nakama accepts as record metadata: valid JSON whose
/// first non-blank byte is `{`.
pub fn metadata_ok(s: &str) -> bool {
    s.trim_start().starts_with('{') && serde_json::from_str::<serde_json::Value>(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(SortOrder::parse("asc"), Some(SortOrder::Ascending));
        assert_eq!(SortOrder::parse("descending"), Some(SortOrder::Descending));
        assert_eq!(SortOrder::parse("up"), None);
        for op in ["best", "set", "incr", "decr"] {
            let o = Operator::parse(op).unwrap();
            assert_eq!(Operator::from_stored(o.as_stored()), Some(o));
            assert_eq!(Operator::from_api_override(o.as_api()), Some(Some(o)));
        }
        assert_eq!(Operator::from_api_override(0), Some(None));
        assert_eq!(Operator::from_api_override(5), None);
        assert_eq!(Operator::from_api_override(-1), None);
    }

    #[test]
    fn creation_checks_use_nakamas_messages() {
        let msg = |r: Result<_, ApiError>| r.unwrap_err().message.to_string();
        assert_eq!(
            msg(check_create("", "asc", "best", "")),
            "expects a leaderboard ID string"
        );
        assert_eq!(
            msg(check_create("a", "sideways", "best", "")),
            "expects sort order to be 'asc' or 'desc'"
        );
        assert_eq!(
            msg(check_create("a", "asc", "max", "")),
            "expects operator to be 'best', 'set', 'incr' or 'decr'"
        );
        assert_eq!(
            msg(check_create("a", "asc", "best", "not cron")),
            "expects reset schedule to be a valid CRON expression"
        );
        assert!(check_create("a", "desc", "incr", "0 0 * * 1").is_ok());
        assert!(check_create(&"x".repeat(129), "desc", "incr", "").is_err());
    }

    #[test]
    fn metadata_must_be_a_json_object() {
        assert!(metadata_ok("{}"));
        assert!(metadata_ok(" {\"a\":1}"));
        assert!(!metadata_ok("[1]"));
        assert!(!metadata_ok("{"));
        assert!(!metadata_ok("3"));
    }
}
