//! Tournaments, as Nakama has them: a leaderboard with a category, a
//! title, a start, an optional end, a `duration` that each period is
//! open for, a cap on its players (`max_size`) and on each player's
//! scores per period (`max_num_score`), and optionally a join before
//! writing (`join_required`).
//!
//! * [`Tournament`]: the definition (a [`Leaderboard`] and the extra
//!   fields) and its player count (`size`) in one period.
//! * [`check_create`]: game code's checks, with Nakama runtime's and its
//!   leaderboard cache's messages, and the stored defaults.
//! * [`window`]: the active window at `now` (Nakama's tournament
//!   deadlines): when the current period opened to writes, when it
//!   closes, and when its records expire. Pure: `now` is a parameter.
//! * [`Refusal`]: why a join or a write is refused, and the code and
//!   message Nakama's API answers with.

use crate::error::{ApiError, Code};
use crate::leaderboard::{self, Leaderboard, Operator, Schedule, SortOrder};

/// Highest category (Nakama: 0 to 127).
pub const MAX_CATEGORY: i32 = 127;
/// Longest title and description Kairos stores (Nakama's columns are
/// `VARCHAR(255)`).
pub const MAX_TITLE_LEN: usize = 255;
pub const MAX_DESCRIPTION_LEN: usize = 255;
/// A `max_size` of 0 means "no cap", stored as Nakama does.
pub const UNLIMITED_SIZE: i32 = i32::MAX;

/// A tournament's definition and its player count.
#[derive(Clone, Debug, PartialEq)]
pub struct Tournament {
    /// The leaderboard fields (id, sort order, operator, reset schedule,
    /// metadata, create time, ranks, last reset fired).
    pub leaderboard: Leaderboard,
    pub title: String,
    pub description: String,
    /// 0 to 127.
    pub category: i32,
    /// Seconds each period is open for writes; always > 0.
    pub duration: i64,
    /// Unix seconds (the store keeps the creation time when 0 is given,
    /// as Nakama does).
    pub start_time: i64,
    /// Unix seconds; 0: never ends.
    pub end_time: i64,
    /// Most players per period; [`UNLIMITED_SIZE`] when uncapped.
    pub max_size: i32,
    /// Most score changes per player per period.
    pub max_num_score: i32,
    pub join_required: bool,
    /// Players counted against `max_size` in the period that expires at
    /// `size_expiry`; read it through [`Tournament::size_at`].
    pub size: i32,
    /// The expiry of the period `size` counts.
    pub size_expiry: i64,
    /// The latest close of an active window whose end hook was fired
    /// (0: none).
    pub last_end: i64,
}

impl Tournament {
    /// The active window at `now`.
    pub fn window(&self, now: i64) -> Window {
        window(
            self.start_time,
            self.end_time,
            self.duration,
            self.leaderboard.schedule().as_ref(),
            now,
        )
    }

    /// Nakama's `can_enter`: the window is open at `now` and the
    /// tournament is not full.
    pub fn can_enter(&self, now: i64) -> bool {
        self.window(now).is_open(now) && self.size_at(now) < self.max_size
    }

    /// The players counted in the period current at `now`: `size` if it
    /// counts that period, else 0 (a reset since the last count).
    pub fn size_at(&self, now: i64) -> i32 {
        if self.size_expiry == self.window(now).expiry {
            self.size
        } else {
            0
        }
    }

    /// The tournament as seen at `now`: its size that period's.
    pub fn at(mut self, now: i64) -> Tournament {
        self.size = self.size_at(now);
        self.size_expiry = self.window(now).expiry;
        self
    }

    /// Nakama's `prev_reset`: the last reset at or before `now`, 0 when
    /// there is no schedule or the tournament has not started.
    pub fn prev_reset(&self, now: i64) -> i64 {
        match self.leaderboard.schedule() {
            Some(s) if self.start_time <= now => s.last_at_or_before(now).unwrap_or(0),
            _ => 0,
        }
    }
}

/// The active window of a tournament at some `now` (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// When the current (or next) period opens for writes.
    pub start_active: i64,
    /// When it closes for writes (0 only for a tournament without end
    /// whose schedule has no further occurrence).
    pub end_active: i64,
    /// When its records expire (the next reset, capped by the end time);
    /// 0 when they never do.
    pub expiry: i64,
}

impl Window {
    /// Nakama's test for `can_enter`: started, and not closed before `now`.
    pub fn is_open(&self, now: i64) -> bool {
        !(self.start_active > now || (self.end_active != 0 && self.end_active < now))
    }

    /// Whether a join or write at `now` is refused as outside the
    /// duration (Nakama's check in join and write: `end_active <= now`).
    pub fn closed_for_writes(&self, now: i64) -> bool {
        self.end_active <= now
    }
}

/// The active window of a tournament starting at `start_time`, ending at
/// `end_time` (0: never), open `duration` seconds per period, with an
/// optional reset `schedule`, seen at `now`. Nakama's deadline rules:
///
/// * without a schedule there is one period: `start_time` to
///   `start_time + duration` (capped by `end_time`), expiring at
///   `end_time` (0: never);
/// * with a schedule, the period is the one whose reset is the last at or
///   before `now` (or the first after `start_time` if `now` is before the
///   start); it is open for `duration` seconds, never past the next reset
///   (its expiry), and never before `start_time`; if `start_time` falls
///   after the period closed, the next period after `start_time` is
///   taken; an `end_time` caps both the expiry and the close.
pub fn window(
    start_time: i64,
    end_time: i64,
    duration: i64,
    schedule: Option<&Schedule>,
    now: i64,
) -> Window {
    let Some(schedule) = schedule else {
        let mut end_active = start_time.saturating_add(duration);
        if end_time > 0 && end_active > end_time {
            end_active = end_time;
        }
        return Window {
            start_active: start_time,
            end_active,
            expiry: end_time,
        };
    };
    let next = |t: i64| schedule.next_after(t).unwrap_or(0);

    let mut start_active = if now < start_time {
        next(start_time)
    } else {
        // A reset exactly at `now` opens the period at `now`.
        schedule.last_at_or_before(now).unwrap_or(0)
    };
    let mut end_active = start_active.saturating_add(duration);
    let mut expiry = next(start_active);
    if end_active > expiry {
        end_active = expiry;
    }

    if start_time > end_active {
        // The start falls after this period closed: the first period
        // after the start.
        start_active = next(start_time);
        end_active = start_active.saturating_add(duration);
        expiry = next(start_active);
        if end_active > expiry {
            end_active = expiry;
        }
    } else if start_time > start_active {
        start_active = start_time;
    }

    if end_time > 0 && expiry > end_time {
        expiry = end_time;
        if end_active > expiry {
            end_active = expiry;
        }
    }
    Window {
        start_active,
        end_active,
        expiry,
    }
}

/// What game code asks to create (as given; see [`check_create`]).
#[derive(Clone, Debug)]
pub struct CreateArgs<'a> {
    pub id: &'a str,
    pub authoritative: bool,
    pub sort_order: &'a str,
    pub operator: &'a str,
    pub reset_schedule: &'a str,
    pub metadata: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub category: i64,
    pub start_time: i64,
    pub end_time: i64,
    pub duration: i64,
    pub max_size: i64,
    pub max_num_score: i64,
    pub join_required: bool,
    pub enable_ranks: bool,
}

/// A checked creation, with Nakama's stored defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTournament {
    pub id: String,
    pub authoritative: bool,
    pub sort_order: SortOrder,
    pub operator: Operator,
    pub reset_schedule: String,
    pub metadata: String,
    pub title: String,
    pub description: String,
    pub category: i32,
    /// As given; the store puts the creation time in place of 0.
    pub start_time: i64,
    pub end_time: i64,
    pub duration: i64,
    pub max_size: i32,
    pub max_num_score: i32,
    pub join_required: bool,
    pub enable_ranks: bool,
}

/// Game code's checks on a creation, in Nakama's order and with its
/// messages (the runtime's, then its leaderboard cache's configuration
/// check), and Nakama's stored defaults: `max_size` 0 is
/// [`UNLIMITED_SIZE`], `max_num_score` 0 is the leaderboard default,
/// empty metadata is `{}`.
pub fn check_create(a: &CreateArgs<'_>) -> Result<NewTournament, ApiError> {
    if a.id.is_empty() {
        return Err(ApiError::invalid("expects a tournament ID string"));
    }
    if a.id.len() > leaderboard::MAX_ID_LEN {
        return Err(ApiError::invalid(
            "expects a tournament ID of at most 128 bytes",
        ));
    }
    let sort_order = SortOrder::parse(a.sort_order)
        .ok_or_else(|| ApiError::invalid("expects sort order to be 'asc' or 'desc'"))?;
    let operator = Operator::parse(a.operator).ok_or_else(|| {
        ApiError::invalid("expects operator to be 'best', 'set', 'incr' or 'decr'")
    })?;
    let schedule = if a.reset_schedule.is_empty() {
        None
    } else {
        Some(Schedule::parse(a.reset_schedule).map_err(|_| {
            ApiError::invalid("expects reset schedule to be a valid CRON expression")
        })?)
    };
    let metadata = if a.metadata.is_empty() {
        "{}".to_string()
    } else if leaderboard::metadata_ok(a.metadata) {
        a.metadata.to_string()
    } else {
        return Err(ApiError::invalid("expects metadata to be a JSON object"));
    };
    if a.title.len() > MAX_TITLE_LEN {
        return Err(ApiError::invalid("expects a title of at most 255 bytes"));
    }
    if a.description.len() > MAX_DESCRIPTION_LEN {
        return Err(ApiError::invalid(
            "expects a description of at most 255 bytes",
        ));
    }
    if !(0..=MAX_CATEGORY as i64).contains(&a.category) {
        return Err(ApiError::invalid("category must be 0-127"));
    }
    if a.start_time < 0 {
        return Err(ApiError::invalid("startTime must be >= 0"));
    }
    if a.end_time < 0 {
        return Err(ApiError::invalid("endTime must be >= 0"));
    }
    if a.end_time != 0 && a.end_time < a.start_time {
        return Err(ApiError::invalid("endTime must be >= startTime"));
    }
    if a.duration <= 0 {
        return Err(ApiError::invalid("duration must be > 0"));
    }
    if a.max_size < 0 {
        return Err(ApiError::invalid("maxSize must be >= 0"));
    }
    if a.max_num_score < 0 {
        return Err(ApiError::invalid("maxNumScore must be >= 0"));
    }
    // Kairos's bounds: the stored columns are 32-bit (Nakama's too).
    if a.duration > i32::MAX as i64 {
        return Err(ApiError::invalid("duration must be at most 2147483647"));
    }
    if a.max_size > i32::MAX as i64 || a.max_num_score > i32::MAX as i64 {
        return Err(ApiError::invalid(
            "maxSize and maxNumScore must be at most 2147483647",
        ));
    }
    if let Some(s) = &schedule {
        // The leaderboard cache's check: an end time must fall strictly
        // after the first reset following the start.
        let first_reset = s.next_after(a.start_time).unwrap_or(0);
        if a.end_time > 0 && a.end_time <= first_reset {
            return Err(ApiError::invalid(
                "tournament end time cannot be before first reset schedule - either increase end time or change/disable reset schedule",
            ));
        }
    }
    Ok(NewTournament {
        id: a.id.to_string(),
        authoritative: a.authoritative,
        sort_order,
        operator,
        reset_schedule: a.reset_schedule.to_string(),
        metadata,
        title: a.title.to_string(),
        description: a.description.to_string(),
        category: a.category as i32,
        start_time: a.start_time,
        end_time: a.end_time,
        duration: a.duration,
        max_size: if a.max_size == 0 {
            UNLIMITED_SIZE
        } else {
            a.max_size as i32
        },
        max_num_score: if a.max_num_score == 0 {
            leaderboard::DEFAULT_MAX_NUM_SCORE
        } else {
            a.max_num_score as i32
        },
        join_required: a.join_required,
        enable_ranks: a.enable_ranks,
    })
}

/// Why a join or a record write is refused (Nakama's runtime errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such tournament (or a plain leaderboard).
    NotFound,
    /// Outside the active window.
    OutsideDuration,
    /// `max_size` players already.
    MaxSizeReached,
    /// `max_num_score` changes already this period.
    MaxNumScoreReached,
    /// `join_required` and the owner has not joined this period.
    JoinRequired,
    /// Only game code may write.
    Authoritative,
}

impl Refusal {
    /// The runtime's message (what game code sees).
    pub fn runtime_message(self) -> &'static str {
        match self {
            Refusal::NotFound => "tournament not found",
            Refusal::OutsideDuration => "tournament outside of duration",
            Refusal::MaxSizeReached => "tournament max size reached",
            Refusal::MaxNumScoreReached => "max number score count reached",
            Refusal::JoinRequired => "required to join before writing tournament record",
            Refusal::Authoritative => "tournament only allows authoritative submissions",
        }
    }

    /// What `POST /v2/tournament/{id}/join` answers.
    pub fn join_error(self) -> ApiError {
        match self {
            Refusal::NotFound => ApiError::not_found("Tournament not found."),
            Refusal::MaxSizeReached => {
                ApiError::invalid("Tournament cannot be joined as it has reached its max size.")
            }
            Refusal::OutsideDuration => {
                ApiError::invalid("Tournament is not active and cannot accept new joins.")
            }
            _ => ApiError::internal("Error while trying to join tournament."),
        }
    }

    /// What a client's record write answers.
    pub fn write_error(self) -> ApiError {
        let pre = |m: &'static str| ApiError::new(Code::FailedPrecondition, m);
        match self {
            Refusal::NotFound => ApiError::not_found("Tournament not found."),
            Refusal::MaxSizeReached => pre("Tournament has reached max size."),
            Refusal::Authoritative => {
                ApiError::denied("Tournament only allows authoritative score submissions.")
            }
            Refusal::MaxNumScoreReached => pre("Reached allowed max number of score attempts."),
            Refusal::JoinRequired => pre("Must join tournament before attempting to write value."),
            Refusal::OutsideDuration => {
                pre("Tournament is not active and cannot accept new scores.")
            }
        }
    }
}

/// A record write to a tournament, as a backend runs it.
#[derive(Clone, Debug)]
pub struct TournamentWrite {
    pub tournament_id: String,
    pub owner_id: uuid::Uuid,
    /// Stored when given, else the record keeps its own.
    pub username: Option<String>,
    pub score: i64,
    pub subscore: i64,
    /// A JSON object; kept as it was when `None`.
    pub metadata: Option<String>,
    /// An override of the tournament's operator.
    pub operator: Option<Operator>,
    /// Game code writes (Nakama's nil caller): allowed on an
    /// authoritative tournament.
    pub from_server: bool,
    /// Unix seconds.
    pub now: i64,
}

/// The period a join at `now` enters: `Ok(None)` when the tournament
/// needs no join (Nakama's join is then a no-op), the period's expiry
/// otherwise; refused once the window has closed. Joining before the
/// start is allowed, as in Nakama.
pub fn join_expiry(t: &Tournament, now: i64) -> Result<Option<i64>, Refusal> {
    if !t.join_required {
        return Ok(None);
    }
    let w = t.window(now);
    if w.closed_for_writes(now) {
        return Err(Refusal::OutsideDuration);
    }
    Ok(Some(w.expiry))
}

/// The period whose record an added attempt changes (its expiry), after
/// Nakama's check in `TournamentAddAttempt`: refused once the active
/// window has closed.
pub fn attempt_expiry(t: &Tournament, now: i64) -> Result<i64, Refusal> {
    let w = t.window(now);
    if w.closed_for_writes(now) {
        return Err(Refusal::OutsideDuration);
    }
    Ok(w.expiry)
}

/// The period a write lands in (its expiry), after Nakama's checks:
/// authoritative tournaments take only game code's writes, and only
/// inside the active window.
pub fn write_expiry(t: &Tournament, w: &TournamentWrite) -> Result<i64, Refusal> {
    if t.leaderboard.authoritative && !w.from_server {
        return Err(Refusal::Authoritative);
    }
    let win = t.window(w.now);
    if win.start_active > w.now || win.end_active <= w.now {
        return Err(Refusal::OutsideDuration);
    }
    Ok(win.expiry)
}

/// The period a record delete at `now` removes from, after Nakama's
/// check: only game code deletes from an authoritative tournament.
pub fn delete_expiry(t: &Tournament, from_server: bool, now: i64) -> Result<i64, Refusal> {
    if t.leaderboard.authoritative && !from_server {
        return Err(Refusal::Authoritative);
    }
    Ok(t.window(now).expiry)
}

/// What a write does, decided on the owner's record of the period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritePlan {
    /// No record: insert one with `num_score` 1; `count` says whether the
    /// new player is counted against `max_size` (refused when full).
    Insert {
        score: i64,
        subscore: i64,
        count: bool,
    },
    /// Update the record to these values, `num_score + 1`: in a
    /// tournament every write is an attempt (Nakama's), even one that
    /// leaves the score as it was.
    Update { score: i64, subscore: i64 },
}

/// Decides a write given the owner's record of the period `old`
/// (`(score, subscore, num_score, max_num_score)`, `None`: no record).
/// Without a record, a tournament that needs a join refuses; with one,
/// a record whose `num_score` reached its `max_num_score` refuses
/// (Nakama's checks). Scores use the leaderboard rule
/// ([`leaderboard::write::apply`]); `Err(None)` is a score out of range.
pub fn plan_write(
    t: &Tournament,
    w: &TournamentWrite,
    old: Option<(i64, i64, i32, i32)>,
) -> Result<WritePlan, Option<Refusal>> {
    use leaderboard::write::{Applied, apply};
    let op = w.operator.unwrap_or(t.leaderboard.operator);
    let sort = t.leaderboard.sort_order;
    match old {
        None => {
            if t.join_required {
                return Err(Some(Refusal::JoinRequired));
            }
            match apply(op, sort, None, w.score, w.subscore) {
                Ok(Applied::Store { score, subscore }) => Ok(WritePlan::Insert {
                    score,
                    subscore,
                    count: t.max_size != UNLIMITED_SIZE,
                }),
                Ok(Applied::Unchanged) | Err(_) => Err(None),
            }
        }
        Some((score, subscore, num, max)) => {
            if max > 0 && num >= max {
                return Err(Some(Refusal::MaxNumScoreReached));
            }
            match apply(op, sort, Some((score, subscore)), w.score, w.subscore) {
                Ok(Applied::Store { score, subscore }) => Ok(WritePlan::Update { score, subscore }),
                Ok(Applied::Unchanged) => Ok(WritePlan::Update { score, subscore }),
                Err(_) => Err(None),
            }
        }
    }
}

/// Nakama's tournament listing filter (`GET /v2/tournament`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListFilter {
    /// Inclusive category range (0 to 127).
    pub category_start: i32,
    pub category_end: i32,
    /// Tournaments starting at or after it; `None`: any.
    pub start_time: Option<i64>,
    /// `None`: only tournaments not yet ended at `now`; `Some(0)`: only
    /// those without an end; `Some(t)`: those ending by `t`.
    pub end_time: Option<i64>,
    pub limit: usize,
}

/// The listing cursor: the id of the last tournament of the page.
#[derive(serde::Serialize, serde::Deserialize)]
struct ListCursor {
    id: String,
}

/// One page of `all` (in listing order) after `cursor` (`None` when it
/// does not decode), and the next page's cursor if more may follow.
pub fn list_page<'a>(
    all: &'a [Tournament],
    f: &ListFilter,
    now: i64,
    cursor: &str,
) -> Option<(Vec<&'a Tournament>, String)> {
    let after = if cursor.is_empty() {
        None
    } else {
        Some(crate::cursor::decode::<ListCursor>(cursor)?.id)
    };
    let mut skip = after.is_some();
    let mut page = Vec::new();
    let mut next = String::new();
    for t in all {
        if skip {
            skip = after.as_deref() != Some(t.leaderboard.id.as_str());
            continue;
        }
        if t.category < f.category_start || t.category > f.category_end {
            continue;
        }
        if f.start_time.is_some_and(|s| t.start_time < s) {
            continue;
        }
        let ended_out = match f.end_time {
            None => t.end_time != 0 && t.end_time < now,
            Some(0) => t.end_time != 0,
            Some(e) => t.end_time == 0 || t.end_time > e,
        };
        if ended_out {
            continue;
        }
        if page.len() >= f.limit {
            if let Some(last) = page.last() {
                let last: &&Tournament = last;
                next = crate::cursor::encode(&ListCursor {
                    id: last.leaderboard.id.clone(),
                });
            }
            break;
        }
        page.push(t);
    }
    Some((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const T: i64 = 1_767_225_600;
    const H: i64 = 3600;

    fn daily_noon() -> Schedule {
        Schedule::parse("0 12 * * *").unwrap()
    }

    fn w(start_active: i64, end_active: i64, expiry: i64) -> Window {
        Window {
            start_active,
            end_active,
            expiry,
        }
    }

    #[test]
    fn without_schedule_one_period_from_the_start() {
        assert_eq!(window(T, 0, H, None, T + 10), w(T, T + H, 0));
        // The end time caps the close and is the expiry.
        assert_eq!(
            window(T, T + H / 2, H, None, T + 10),
            w(T, T + H / 2, T + H / 2)
        );
        // Later than the end: same window, now closed.
        let later = window(T, 0, H, None, T + 2 * H);
        assert_eq!(later, w(T, T + H, 0));
        assert!(later.closed_for_writes(T + 2 * H));
        assert!(!later.is_open(T + 2 * H));
        // Before the start: not open yet.
        assert!(!window(T, 0, H, None, T - 1).is_open(T - 1));
    }

    #[test]
    fn daily_resets_open_each_day_for_the_duration() {
        let s = daily_noon();
        let now = T + 12 * H + 30 * 60;
        let win = window(T, 0, H, Some(&s), now);
        assert_eq!(win, w(T + 12 * H, T + 13 * H, T + 36 * H));
        assert!(win.is_open(now) && !win.closed_for_writes(now));
        // After the hour: still today's period, closed.
        let late = window(T, 0, H, Some(&s), T + 15 * H);
        assert_eq!(late, w(T + 12 * H, T + 13 * H, T + 36 * H));
        assert!(late.closed_for_writes(T + 15 * H));
        // The next day.
        assert_eq!(
            window(T, 0, H, Some(&s), T + 36 * H + 1),
            w(T + 36 * H, T + 37 * H, T + 60 * H)
        );
    }

    #[test]
    fn landing_on_the_schedule_opens_the_period_at_now() {
        let s = daily_noon();
        let win = window(T, 0, H, Some(&s), T + 12 * H);
        assert_eq!(win, w(T + 12 * H, T + 13 * H, T + 36 * H));
        assert!(win.is_open(T + 12 * H));
        // One second before: yesterday's period (before the start, so the
        // first one after the start).
        assert_eq!(
            window(T, 0, H, Some(&s), T + 12 * H - 1),
            w(T + 12 * H, T + 13 * H, T + 36 * H)
        );
    }

    #[test]
    fn start_in_the_future_waits_for_the_first_reset_after_it() {
        let s = daily_noon();
        let win = window(T + 10 * H, 0, H, Some(&s), T);
        assert_eq!(win, w(T + 12 * H, T + 13 * H, T + 36 * H));
        assert!(!win.is_open(T));
        // Started after today's period closed: tomorrow's.
        assert_eq!(
            window(T + 14 * H, 0, H, Some(&s), T + 15 * H),
            w(T + 36 * H, T + 37 * H, T + 60 * H)
        );
        // Started inside today's period: open from the start.
        assert_eq!(
            window(T + 12 * H + 1800, 0, H, Some(&s), T + 12 * H + 2400),
            w(T + 12 * H + 1800, T + 13 * H, T + 36 * H)
        );
    }

    #[test]
    fn end_time_and_next_reset_cap_the_window() {
        let s = daily_noon();
        let now = T + 12 * H + 30 * 60;
        // A duration longer than the period closes at the next reset.
        assert_eq!(
            window(T, 0, 48 * H, Some(&s), now),
            w(T + 12 * H, T + 36 * H, T + 36 * H)
        );
        // An end time before the next reset caps the expiry and the close.
        assert_eq!(
            window(T, T + 20 * H, 10 * H, Some(&s), now),
            w(T + 12 * H, T + 20 * H, T + 20 * H)
        );
        assert_eq!(
            window(T, T + 20 * H, H, Some(&s), now),
            w(T + 12 * H, T + 13 * H, T + 20 * H)
        );
    }

    fn args() -> CreateArgs<'static> {
        CreateArgs {
            id: "t",
            authoritative: false,
            sort_order: "desc",
            operator: "best",
            reset_schedule: "",
            metadata: "",
            title: "",
            description: "",
            category: 0,
            start_time: 0,
            end_time: 0,
            duration: 60,
            max_size: 0,
            max_num_score: 0,
            join_required: false,
            enable_ranks: true,
        }
    }

    #[test]
    fn creation_checks_use_nakamas_messages_and_defaults() {
        let msg = |a: CreateArgs<'_>| check_create(&a).unwrap_err().message.to_string();
        assert_eq!(
            msg(CreateArgs { id: "", ..args() }),
            "expects a tournament ID string"
        );
        assert_eq!(
            msg(CreateArgs {
                sort_order: "up",
                ..args()
            }),
            "expects sort order to be 'asc' or 'desc'"
        );
        assert_eq!(
            msg(CreateArgs {
                operator: "max",
                ..args()
            }),
            "expects operator to be 'best', 'set', 'incr' or 'decr'"
        );
        assert_eq!(
            msg(CreateArgs {
                reset_schedule: "nope",
                ..args()
            }),
            "expects reset schedule to be a valid CRON expression"
        );
        assert_eq!(
            msg(CreateArgs {
                category: 128,
                ..args()
            }),
            "category must be 0-127"
        );
        assert_eq!(
            msg(CreateArgs {
                category: -1,
                ..args()
            }),
            "category must be 0-127"
        );
        assert_eq!(
            msg(CreateArgs {
                start_time: -1,
                ..args()
            }),
            "startTime must be >= 0"
        );
        assert_eq!(
            msg(CreateArgs {
                end_time: -1,
                ..args()
            }),
            "endTime must be >= 0"
        );
        assert_eq!(
            msg(CreateArgs {
                start_time: 10,
                end_time: 5,
                ..args()
            }),
            "endTime must be >= startTime"
        );
        assert_eq!(
            msg(CreateArgs {
                duration: 0,
                ..args()
            }),
            "duration must be > 0"
        );
        assert_eq!(
            msg(CreateArgs {
                max_size: -1,
                ..args()
            }),
            "maxSize must be >= 0"
        );
        assert_eq!(
            msg(CreateArgs {
                max_num_score: -1,
                ..args()
            }),
            "maxNumScore must be >= 0"
        );
        assert_eq!(
            msg(CreateArgs {
                metadata: "[1]",
                ..args()
            }),
            "expects metadata to be a JSON object"
        );
        assert!(
            check_create(&CreateArgs {
                title: &"x".repeat(256),
                ..args()
            })
            .is_err()
        );
        assert!(
            check_create(&CreateArgs {
                duration: 1 << 40,
                ..args()
            })
            .is_err()
        );
        assert_eq!(
            msg(CreateArgs {
                reset_schedule: "0 12 * * *",
                start_time: T,
                end_time: T + 12 * H,
                ..args()
            }),
            "tournament end time cannot be before first reset schedule - either increase end time or change/disable reset schedule"
        );
        let ok = check_create(&CreateArgs {
            reset_schedule: "0 12 * * *",
            start_time: T,
            end_time: T + 12 * H + 1,
            category: 127,
            ..args()
        })
        .unwrap();
        assert_eq!(ok.max_size, UNLIMITED_SIZE);
        assert_eq!(ok.max_num_score, leaderboard::DEFAULT_MAX_NUM_SCORE);
        assert_eq!(ok.metadata, "{}");
        assert_eq!(ok.category, 127);
        let capped = check_create(&CreateArgs {
            max_size: 5,
            max_num_score: 3,
            ..args()
        })
        .unwrap();
        assert_eq!((capped.max_size, capped.max_num_score), (5, 3));
    }

    #[test]
    fn refusals_map_to_nakamas_codes() {
        assert_eq!(Refusal::NotFound.join_error().code, Code::NotFound);
        assert_eq!(
            Refusal::MaxSizeReached.join_error().code,
            Code::InvalidArgument
        );
        assert_eq!(
            Refusal::JoinRequired.write_error().message,
            "Must join tournament before attempting to write value."
        );
        assert_eq!(
            Refusal::JoinRequired.write_error().code,
            Code::FailedPrecondition
        );
        assert_eq!(
            Refusal::Authoritative.write_error().code,
            Code::PermissionDenied
        );
    }

    fn tournament(join_required: bool, authoritative: bool) -> Tournament {
        Tournament {
            leaderboard: Leaderboard {
                id: "t".into(),
                authoritative,
                sort_order: SortOrder::Descending,
                operator: Operator::Best,
                reset_schedule: String::new(),
                metadata: "{}".into(),
                create_time: T,
                enable_ranks: true,
                last_reset: 0,
            },
            title: String::new(),
            description: String::new(),
            category: 0,
            duration: H,
            start_time: T,
            end_time: 0,
            max_size: 10,
            max_num_score: 2,
            join_required,
            size: 0,
            size_expiry: 0,
            last_end: 0,
        }
    }

    fn tw(now: i64, score: i64) -> TournamentWrite {
        TournamentWrite {
            tournament_id: "t".into(),
            owner_id: uuid::Uuid::nil(),
            username: None,
            score,
            subscore: 0,
            metadata: None,
            operator: None,
            from_server: false,
            now,
        }
    }

    #[test]
    fn joins_and_writes_follow_nakamas_checks() {
        let open = tournament(true, false);
        assert_eq!(join_expiry(&open, T + 10), Ok(Some(0)));
        assert_eq!(join_expiry(&open, T - 100), Ok(Some(0)));
        assert_eq!(join_expiry(&open, T + H), Err(Refusal::OutsideDuration));
        assert_eq!(join_expiry(&tournament(false, false), T + 10), Ok(None));

        assert_eq!(write_expiry(&open, &tw(T + 10, 1)), Ok(0));
        assert_eq!(
            write_expiry(&open, &tw(T - 1, 1)),
            Err(Refusal::OutsideDuration)
        );
        assert_eq!(
            write_expiry(&open, &tw(T + H, 1)),
            Err(Refusal::OutsideDuration)
        );
        let auth = tournament(false, true);
        assert_eq!(
            write_expiry(&auth, &tw(T + 10, 1)),
            Err(Refusal::Authoritative)
        );
        assert_eq!(
            write_expiry(
                &auth,
                &TournamentWrite {
                    from_server: true,
                    ..tw(T + 10, 1)
                }
            ),
            Ok(0)
        );

        assert_eq!(
            plan_write(&open, &tw(T, 5), None),
            Err(Some(Refusal::JoinRequired))
        );
        let free = tournament(false, false);
        assert_eq!(
            plan_write(&free, &tw(T, 5), None),
            Ok(WritePlan::Insert {
                score: 5,
                subscore: 0,
                count: true
            })
        );
        // A worse "best" still counts as an attempt.
        assert_eq!(
            plan_write(&free, &tw(T, 3), Some((5, 0, 1, 2))),
            Ok(WritePlan::Update {
                score: 5,
                subscore: 0
            })
        );
        assert_eq!(
            plan_write(&free, &tw(T, 9), Some((5, 0, 2, 2))),
            Err(Some(Refusal::MaxNumScoreReached))
        );
        assert_eq!(plan_write(&free, &tw(T, -1), None), Err(None));
        let mut unlimited = free.clone();
        unlimited.max_size = UNLIMITED_SIZE;
        assert_eq!(
            plan_write(&unlimited, &tw(T, 5), None),
            Ok(WritePlan::Insert {
                score: 5,
                subscore: 0,
                count: false
            })
        );
    }

    #[test]
    fn listing_filters_and_pages() {
        let mk = |id: &str, category: i32, start: i64, end: i64| {
            let mut t = tournament(false, false);
            t.leaderboard.id = id.into();
            t.category = category;
            t.start_time = start;
            t.end_time = end;
            t
        };
        let all = vec![
            mk("a", 1, T, 0),
            mk("b", 1, T, T + 10),
            mk("c", 2, T + 100, T + 1000),
            mk("d", 9, T, 0),
        ];
        let f = ListFilter {
            category_start: 0,
            category_end: 5,
            start_time: None,
            end_time: None,
            limit: 10,
        };
        let ids = |v: Vec<&Tournament>| {
            v.iter()
                .map(|t| t.leaderboard.id.clone())
                .collect::<Vec<_>>()
        };
        // "b" ended before now; "d" is out of the categories.
        let (page, next) = list_page(&all, &f, T + 50, "").unwrap();
        assert_eq!(ids(page), ["a", "c"]);
        assert!(next.is_empty());
        let (page, _) = list_page(
            &all,
            &ListFilter {
                end_time: Some(0),
                ..f
            },
            T,
            "",
        )
        .unwrap();
        assert_eq!(ids(page), ["a"]);
        let (page, _) = list_page(
            &all,
            &ListFilter {
                end_time: Some(T + 10),
                ..f
            },
            T,
            "",
        )
        .unwrap();
        assert_eq!(ids(page), ["b"]);
        let (page, _) = list_page(
            &all,
            &ListFilter {
                start_time: Some(T + 1),
                ..f
            },
            T,
            "",
        )
        .unwrap();
        assert_eq!(ids(page), ["c"]);
        let (page, next) = list_page(&all, &ListFilter { limit: 1, ..f }, T, "").unwrap();
        assert_eq!(ids(page), ["a"]);
        let (page, last) = list_page(&all, &ListFilter { limit: 1, ..f }, T, &next).unwrap();
        assert_eq!(ids(page), ["b"]);
        assert!(!last.is_empty());
        assert!(list_page(&all, &f, T, "%%").is_none());
    }

    #[test]
    fn can_enter_needs_an_open_window_and_room() {
        let lb = Leaderboard {
            id: "t".into(),
            authoritative: false,
            sort_order: SortOrder::Descending,
            operator: Operator::Best,
            reset_schedule: "0 12 * * *".into(),
            metadata: "{}".into(),
            create_time: T,
            enable_ranks: true,
            last_reset: 0,
        };
        let mut t = Tournament {
            leaderboard: lb,
            title: String::new(),
            description: String::new(),
            category: 1,
            duration: H,
            start_time: T,
            end_time: 0,
            max_size: 2,
            max_num_score: 3,
            join_required: true,
            size: 1,
            size_expiry: 0,
            last_end: 0,
        };
        let now = T + 12 * H + 60;
        // The count is of the period expiring tomorrow at noon.
        t.size_expiry = t.window(now).expiry;
        assert!(t.can_enter(now));
        assert!(!t.can_enter(T + 14 * H));
        assert_eq!(t.prev_reset(now), T + 12 * H);
        assert_eq!(t.prev_reset(T - 1), 0);
        t.size = 2;
        assert!(!t.can_enter(now));
        assert_eq!(t.size_at(now), 2);
        // A day later the period has reset: the count is of the last one.
        let next = now + 24 * H;
        assert_eq!(t.size_at(next), 0);
        assert!(t.can_enter(next));
        assert_eq!(t.clone().at(next).size, 0);
    }
}
