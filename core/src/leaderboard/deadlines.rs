//! Deadlines: when each board's hooks are due, and the queue that hands
//! each deadline out once. Pure: every function takes `now` (Unix
//! seconds), so tests drive time.
//!
//! A board has up to two kinds of deadline ([`Kind`]):
//!
//! * **Reset**: a period expires. A leaderboard resets at each
//!   occurrence of its cron schedule. A tournament resets at the expiry
//!   of each of its periods (Nakama's `calculateTournamentDeadlines`):
//!   the schedule's occurrences from its start on, and its end time.
//! * **End**: a tournament's active window closes for writes
//!   (`end_active`), once per period. Leaderboards have none.
//!
//! [`Timing`] says when a board's deadlines fall: the first one strictly
//! after some instant, and the latest at or before `now` (for catching up
//! after a restart). [`Deadlines`] is the queue of every board's next
//! deadline of each kind, earliest first.

use std::collections::{BTreeSet, HashMap};

use super::schedule::Schedule;
use crate::tournament::{self, Window};

/// What falls due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A tournament's active window closes (its end hook). Ordered first:
    /// when a window closes at the period's expiry, the end is announced
    /// before the reset, as Nakama processes them.
    End,
    /// A period expires (the reset hooks).
    Reset,
}

/// A deadline to announce: board `id`'s `kind`, due at `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub id: String,
    pub kind: Kind,
    pub at: i64,
}

/// A tournament's times, as its active window is computed from them.
#[derive(Clone, Debug)]
pub struct TournamentTimes {
    pub start_time: i64,
    /// 0: never ends.
    pub end_time: i64,
    pub duration: i64,
    pub schedule: Option<Schedule>,
}

impl TournamentTimes {
    /// The active window at `at`.
    pub fn window(&self, at: i64) -> Window {
        tournament::window(
            self.start_time,
            self.end_time,
            self.duration,
            self.schedule.as_ref(),
            at,
        )
    }

    /// Whether `at` is at or past the end time.
    fn ended(&self, at: i64) -> bool {
        self.end_time > 0 && at >= self.end_time
    }

    /// The window of the period that holds `at`, seen from no earlier
    /// than the start and no later than the last second before the end.
    fn period(&self, at: i64) -> Window {
        let mut x = at.max(self.start_time);
        if self.end_time > 0 {
            x = x.min(self.end_time - 1);
        }
        self.window(x)
    }

    fn next_reset(&self, after: i64) -> Option<i64> {
        if self.ended(after) {
            return None;
        }
        let w = self.period(after);
        (w.expiry > after).then_some(w.expiry)
    }

    fn next_end(&self, after: i64) -> Option<i64> {
        if self.ended(after) {
            return None;
        }
        let w = self.period(after);
        if opens(&w) && w.end_active > after {
            return Some(w.end_active);
        }
        // This period closed: the next one's close, if it has one.
        if w.expiry <= after || self.ended(w.expiry) {
            return None;
        }
        let next = self.window(w.expiry);
        (opens(&next) && next.end_active > after).then_some(next.end_active)
    }

    fn last_reset(&self, now: i64) -> Option<i64> {
        let w = self.period(now);
        if w.expiry != 0 && w.expiry <= now {
            return Some(w.expiry);
        }
        if w.start_active <= self.start_time || w.start_active > now {
            return None;
        }
        let prev = self.window(w.start_active - 1);
        (prev.expiry != 0 && prev.expiry <= now).then_some(prev.expiry)
    }

    fn last_end(&self, now: i64) -> Option<i64> {
        let w = self.period(now);
        if opens(&w) && w.end_active <= now {
            return Some(w.end_active);
        }
        if w.start_active <= self.start_time || w.start_active > now {
            return None;
        }
        let prev = self.window(w.start_active - 1);
        (opens(&prev) && prev.start_active >= self.start_time && prev.end_active <= now)
            .then_some(prev.end_active)
    }
}

/// Whether a window is open for some time at all.
fn opens(w: &Window) -> bool {
    w.start_active < w.end_active
}

/// When a board's deadlines fall.
#[derive(Clone, Debug)]
pub enum Timing {
    /// A leaderboard's reset schedule: resets only.
    Leaderboard(Schedule),
    /// A tournament: resets and ends.
    Tournament(TournamentTimes),
}

impl Timing {
    /// The kinds of deadline this board has.
    pub fn kinds(&self) -> &'static [Kind] {
        match self {
            Timing::Leaderboard(_) => &[Kind::Reset],
            Timing::Tournament(_) => &[Kind::End, Kind::Reset],
        }
    }

    /// The first `kind` deadline strictly after `after`.
    pub fn next_after(&self, kind: Kind, after: i64) -> Option<i64> {
        match (self, kind) {
            (Timing::Leaderboard(s), Kind::Reset) => s.next_after(after),
            (Timing::Leaderboard(_), Kind::End) => None,
            (Timing::Tournament(t), Kind::Reset) => t.next_reset(after),
            (Timing::Tournament(t), Kind::End) => t.next_end(after),
        }
    }

    /// The latest `kind` deadline at or before `now`.
    pub fn last_at_or_before(&self, kind: Kind, now: i64) -> Option<i64> {
        match (self, kind) {
            (Timing::Leaderboard(s), Kind::Reset) => s.last_at_or_before(now),
            (Timing::Leaderboard(_), Kind::End) => None,
            (Timing::Tournament(t), Kind::Reset) => t.last_reset(now),
            (Timing::Tournament(t), Kind::End) => t.last_end(now),
        }
    }
}

/// The latest deadline of each kind already announced (0: none), as the
/// store keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    pub reset: i64,
    pub end: i64,
}

impl Marks {
    fn get(&self, kind: Kind) -> i64 {
        match kind {
            Kind::Reset => self.reset,
            Kind::End => self.end,
        }
    }
}

/// Every board's next deadline of each kind, earliest first. The caller
/// asks [`Deadlines::next_wake`], sleeps until then, and calls
/// [`Deadlines::due`] with the time it woke at.
///
/// Each deadline is handed out once: a board is rescheduled strictly
/// after the deadline it announced. A deadline missed (the server was
/// down, or the caller woke late) is announced once, with the latest
/// missed instant; the store's marks (compared and set by the caller)
/// then keep it from firing twice across restarts.
#[derive(Debug, Default)]
pub struct Deadlines {
    queue: BTreeSet<(i64, Kind, String)>,
    next: HashMap<(String, Kind), i64>,
    timings: HashMap<String, Timing>,
}

impl Deadlines {
    pub fn new() -> Deadlines {
        Deadlines::default()
    }

    /// Schedules board `id`, created at `create_time`, whose deadlines up
    /// to `marks` were announced: one after both that is at or before
    /// `now` is due at once (catch-up after a restart); otherwise the
    /// next one after `now` is queued.
    pub fn insert(&mut self, id: &str, timing: Timing, create_time: i64, marks: Marks, now: i64) {
        self.remove(id);
        for &kind in timing.kinds() {
            let mark = marks.get(kind);
            let missed = timing
                .last_at_or_before(kind, now)
                .filter(|&t| t > mark && t > create_time);
            if let Some(t) = missed.or_else(|| timing.next_after(kind, now.max(mark))) {
                self.queue.insert((t, kind, id.to_string()));
                self.next.insert((id.to_string(), kind), t);
            }
        }
        self.timings.insert(id.to_string(), timing);
    }

    /// Forgets board `id` (deleted).
    pub fn remove(&mut self, id: &str) {
        let Some(timing) = self.timings.remove(id) else {
            return;
        };
        for &kind in timing.kinds() {
            if let Some(t) = self.next.remove(&(id.to_string(), kind)) {
                self.queue.remove(&(t, kind, id.to_string()));
            }
        }
    }

    /// When the next deadline is due, if any board has one.
    pub fn next_wake(&self) -> Option<i64> {
        self.queue.first().map(|(t, _, _)| *t)
    }

    /// Every deadline due at `now`, each announced once, with the latest
    /// instant of its kind at or before `now`; each is queued again for
    /// its first instant after `now`.
    pub fn due(&mut self, now: i64) -> Vec<Deadline> {
        let mut out = Vec::new();
        while let Some((t, kind, id)) = self.queue.first().cloned() {
            if t > now {
                break;
            }
            self.queue.pop_first();
            let key = (id, kind);
            self.next.remove(&key);
            let (id, kind) = key;
            let Some(timing) = self.timings.get(&id) else {
                continue;
            };
            let at = timing.last_at_or_before(kind, now).unwrap_or(t).max(t);
            if let Some(next) = timing.next_after(kind, now.max(at)) {
                self.queue.insert((next, kind, id.clone()));
                self.next.insert((id.clone(), kind), next);
            }
            out.push(Deadline { id, kind, at });
        }
        out
    }
}

#[cfg(test)]
mod tests;
