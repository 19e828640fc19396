//! Reset schedules: a cron expression (parsed by the `croner` crate) and
//! the pure rules of when a leaderboard resets. Nothing here reads the
//! clock: every function takes `now` (Unix seconds), so tests drive time.
//!
//! Nakama's expressions (its vendored `cronexpr`) have 5 fields (minute,
//! hour, day of month, month, day of week), 6 (the same and a year) or 7
//! (a second first, then those 6), and the `@daily`-style nicknames.
//! croner reads 5 and 7 fields the same way, and 6 fields as *seconds*
//! first, so a 6-field expression gets a `0` second prepended here to
//! keep Nakama's meaning.
//!
//! A record written at `now` belongs to the period that ends at the
//! schedule's next occurrence strictly after `now`: that is its
//! `expiry_time`. A board "resets" at each occurrence
//! (`super::deadlines` hands each reset out once).

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use croner::Cron;

/// A parsed reset schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
}

impl Schedule {
    /// Parses Nakama's cron forms; the error says why not.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let expr = expr.trim();
        if expr.is_empty() || expr.len() > 64 {
            // Nakama stores it in a VARCHAR(64).
            return Err("empty or longer than 64 bytes".into());
        }
        let fields = expr.split_whitespace().count();
        let normalized = if fields == 6 && !expr.starts_with('@') {
            format!("0 {expr}")
        } else {
            expr.to_string()
        };
        Cron::from_str(&normalized)
            .map(|cron| Schedule { cron })
            .map_err(|e| e.to_string())
    }

    /// The first occurrence strictly after `now`; `None` if there is none
    /// (a schedule whose years are all past).
    pub fn next_after(&self, now: i64) -> Option<i64> {
        let t = at(now)?;
        self.cron
            .find_next_occurrence(&t, false)
            .ok()
            .map(|d| d.timestamp())
    }

    /// The last occurrence at or before `now`, if any.
    pub fn last_at_or_before(&self, now: i64) -> Option<i64> {
        let t = at(now)?;
        self.cron
            .find_previous_occurrence(&t, true)
            .ok()
            .map(|d| d.timestamp())
    }

    /// The expiry of a record written at `now`: the end of the current
    /// period, or 0 when the schedule has no further occurrence.
    pub fn expiry(&self, now: i64) -> i64 {
        self.next_after(now).unwrap_or(0)
    }
}

fn at(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

/// The expiry of a record written at `now` to a board with `schedule`
/// (0 for a board that never resets).
pub fn expiry(schedule: Option<&Schedule>, now: i64) -> i64 {
    schedule.map_or(0, |s| s.expiry(now))
}

/// Nakama's `prev_reset` of a leaderboard: the last occurrence at or
/// before `now`, or 0 (no schedule, or created after `now`).
pub fn prev_reset(schedule: Option<&Schedule>, create_time: i64, now: i64) -> i64 {
    match schedule {
        Some(s) if create_time <= now => s.last_at_or_before(now).unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-01-01T00:00:00Z, a Monday.
    const MON: i64 = 1_704_067_200;
    const DAY: i64 = 86_400;

    #[test]
    fn five_field_expressions_read_as_nakamas() {
        let daily = Schedule::parse("0 0 * * *").unwrap();
        assert_eq!(daily.next_after(MON), Some(MON + DAY));
        assert_eq!(daily.next_after(MON - 1), Some(MON));
        assert_eq!(daily.last_at_or_before(MON), Some(MON));
        assert_eq!(daily.last_at_or_before(MON + 5), Some(MON));
        // Weekly on Mondays.
        let weekly = Schedule::parse("0 0 * * 1").unwrap();
        assert_eq!(weekly.next_after(MON), Some(MON + 7 * DAY));
        assert_eq!(weekly.expiry(MON + 3600), MON + 7 * DAY);
        // Nicknames.
        let d = Schedule::parse("@daily").unwrap();
        assert_eq!(d.next_after(MON + 1), Some(MON + DAY));
    }

    #[test]
    fn six_fields_end_with_a_year_and_seven_start_with_seconds() {
        // 6 fields: minute hour dom month dow year.
        let s = Schedule::parse("30 12 * * * 2024").unwrap();
        assert_eq!(s.next_after(MON), Some(MON + 12 * 3600 + 30 * 60));
        // Nothing after 2024.
        assert_eq!(s.next_after(MON + 400 * DAY), None);
        // 7 fields: second first.
        let every_2s = Schedule::parse("*/2 * * * * * *").unwrap();
        assert_eq!(every_2s.next_after(MON), Some(MON + 2));
        assert_eq!(every_2s.next_after(MON + 1), Some(MON + 2));
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in [
            "",
            "not cron",
            "* * *",
            "61 * * * *",
            "* * * * * * * *",
            "0 0 32 * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
        assert!(Schedule::parse(&"1,".repeat(40)).is_err());
    }

    #[test]
    fn prev_reset_is_zero_before_creation() {
        let daily = Schedule::parse("0 0 * * *").unwrap();
        assert_eq!(prev_reset(Some(&daily), MON - 10, MON + 10), MON);
        assert_eq!(prev_reset(Some(&daily), MON + 20, MON + 10), 0);
        assert_eq!(prev_reset(None, 0, MON), 0);
        assert_eq!(expiry(None, MON), 0);
    }
}
