use super::*;

// 2024-01-01T00:00:00Z, a Monday.
const MON: i64 = 1_704_067_200;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

fn daily() -> Schedule {
    Schedule::parse("0 0 * * *").unwrap()
}

fn tournament(start: i64, end: i64, duration: i64, schedule: Option<Schedule>) -> Timing {
    Timing::Tournament(TournamentTimes {
        start_time: start,
        end_time: end,
        duration,
        schedule,
    })
}

fn marks(reset: i64, end: i64) -> Marks {
    Marks { reset, end }
}

/// Every `kind` deadline from `from` on, by following `next_after`.
fn sequence(t: &Timing, kind: Kind, from: i64, until: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut at = from;
    while let Some(next) = t.next_after(kind, at) {
        assert!(next > at, "{kind:?} went back from {at} to {next}");
        if next > until {
            break;
        }
        out.push(next);
        at = next;
    }
    out
}

#[test]
fn a_daily_tournament_closes_each_day_and_resets_at_each_occurrence() {
    let t = tournament(MON, 0, HOUR, Some(daily()));
    let until = MON + 3 * DAY;
    assert_eq!(
        sequence(&t, Kind::End, MON - DAY, until),
        vec![MON + HOUR, MON + DAY + HOUR, MON + 2 * DAY + HOUR]
    );
    assert_eq!(
        sequence(&t, Kind::Reset, MON - DAY, until),
        vec![MON + DAY, MON + 2 * DAY, MON + 3 * DAY]
    );
}

#[test]
fn an_end_time_caps_the_last_period_and_is_its_last_reset() {
    let end = MON + 2 * DAY + 30 * 60;
    let t = tournament(MON, end, HOUR, Some(daily()));
    let until = MON + 10 * DAY;
    assert_eq!(
        sequence(&t, Kind::End, MON - DAY, until),
        vec![MON + HOUR, MON + DAY + HOUR, end]
    );
    assert_eq!(
        sequence(&t, Kind::Reset, MON - DAY, until),
        vec![MON + DAY, MON + 2 * DAY, end]
    );
    // Nothing after the end.
    assert_eq!(t.next_after(Kind::End, end), None);
    assert_eq!(t.next_after(Kind::Reset, end + DAY), None);
}

#[test]
fn a_tournament_without_schedule_has_one_window() {
    let once = tournament(MON, 0, HOUR, None);
    assert_eq!(
        sequence(&once, Kind::End, 0, MON + 9 * DAY),
        vec![MON + HOUR]
    );
    assert!(sequence(&once, Kind::Reset, 0, MON + 9 * DAY).is_empty());
    let bounded = tournament(MON, MON + DAY, HOUR, None);
    assert_eq!(
        sequence(&bounded, Kind::End, 0, MON + 9 * DAY),
        vec![MON + HOUR]
    );
    assert_eq!(
        sequence(&bounded, Kind::Reset, 0, MON + 9 * DAY),
        vec![MON + DAY]
    );
}

#[test]
fn a_start_after_its_periods_active_part_waits_for_the_next_period() {
    // Starts at 02:00, open one hour after each midnight: the first
    // period that can open is the next day's.
    let t = tournament(MON + 2 * HOUR, 0, HOUR, Some(daily()));
    assert_eq!(
        sequence(&t, Kind::End, MON, MON + 2 * DAY + HOUR),
        vec![MON + DAY + HOUR, MON + 2 * DAY + HOUR]
    );
    assert_eq!(
        sequence(&t, Kind::Reset, MON, MON + 2 * DAY),
        vec![MON + 2 * DAY]
    );
}

/// The latest deadline at or before any instant is the last of the
/// sequence `next_after` walks, for a range of tournaments.
#[test]
fn the_latest_deadline_agrees_with_the_sequence() {
    let hourly = Schedule::parse("0 * * * *").unwrap();
    let timings = [
        tournament(MON, 0, HOUR, Some(daily())),
        tournament(MON, 0, DAY, Some(daily())),
        tournament(MON + 2 * HOUR, 0, HOUR, Some(daily())),
        tournament(MON + 30 * 60, 0, 3 * HOUR, Some(daily())),
        tournament(MON, MON + 2 * DAY + 30 * 60, HOUR, Some(daily())),
        tournament(MON, MON + 2 * DAY, DAY, Some(daily())),
        tournament(MON + 90, MON + 5 * HOUR + 10, 20 * 60, Some(hourly)),
        tournament(MON, 0, HOUR, None),
        tournament(MON, MON + DAY, HOUR, None),
        tournament(MON, MON + 30 * 60, HOUR, None),
    ];
    for (i, t) in timings.iter().enumerate() {
        for kind in [Kind::End, Kind::Reset] {
            let seq = sequence(t, kind, MON - DAY, MON + 6 * DAY);
            let mut probes: Vec<i64> = (0..(7 * 24 * 4))
                .map(|q| MON - DAY + q * 15 * 60 + 7)
                .collect();
            for &d in &seq {
                probes.extend([d - 1, d, d + 1]);
            }
            for now in probes {
                let want = seq.iter().copied().filter(|&d| d <= now).max();
                assert_eq!(
                    t.last_at_or_before(kind, now),
                    want,
                    "timing {i} {kind:?} at {}",
                    now - MON
                );
            }
        }
    }
}

#[test]
fn each_leaderboard_reset_is_announced_once_on_schedule() {
    let mut d = Deadlines::new();
    d.insert(
        "a",
        Timing::Leaderboard(daily()),
        MON + 5,
        marks(0, 0),
        MON + 10,
    );
    assert_eq!(d.next_wake(), Some(MON + DAY));
    assert!(d.due(MON + DAY - 1).is_empty());
    let reset = |at| Deadline {
        id: "a".into(),
        kind: Kind::Reset,
        at,
    };
    assert_eq!(d.due(MON + DAY), vec![reset(MON + DAY)]);
    // Not again at the same instant, and queued for the next day.
    assert!(d.due(MON + DAY).is_empty());
    assert_eq!(d.next_wake(), Some(MON + 2 * DAY));
    // Woken late, three resets missed: one announcement, the latest.
    assert_eq!(d.due(MON + 4 * DAY + 5), vec![reset(MON + 4 * DAY)]);
    assert_eq!(d.next_wake(), Some(MON + 5 * DAY));
    d.remove("a");
    assert_eq!(d.next_wake(), None);
}

#[test]
fn a_reset_missed_while_down_is_caught_up_once() {
    // Last announced reset: MON. Restart two days later, mid-day.
    let mut d = Deadlines::new();
    let lb = || Timing::Leaderboard(daily());
    d.insert("a", lb(), MON - DAY, marks(MON, 0), MON + 2 * DAY + 60);
    assert_eq!(d.next_wake(), Some(MON + 2 * DAY));
    assert_eq!(
        d.due(MON + 2 * DAY + 60),
        vec![Deadline {
            id: "a".into(),
            kind: Kind::Reset,
            at: MON + 2 * DAY
        }]
    );
    assert_eq!(d.next_wake(), Some(MON + 3 * DAY));
    // Restart after that reset was announced: nothing to catch up.
    let mut d = Deadlines::new();
    d.insert(
        "a",
        lb(),
        MON - DAY,
        marks(MON + 2 * DAY, 0),
        MON + 2 * DAY + 90,
    );
    assert_eq!(d.next_wake(), Some(MON + 3 * DAY));
    // A board created after the last occurrence waits for the next.
    let mut d = Deadlines::new();
    d.insert("b", lb(), MON + 30, marks(0, 0), MON + 60);
    assert_eq!(d.next_wake(), Some(MON + DAY));
}

#[test]
fn boards_due_together_are_all_announced_ends_first() {
    let mut d = Deadlines::new();
    let hourly = Schedule::parse("0 * * * *").unwrap();
    d.insert(
        "d",
        Timing::Leaderboard(daily()),
        MON + 1,
        marks(0, 0),
        MON + 1,
    );
    d.insert(
        "h",
        Timing::Leaderboard(hourly),
        MON + 1,
        marks(0, 0),
        MON + 1,
    );
    // Open all day: its window closes at the reset.
    d.insert(
        "t",
        tournament(MON, 0, DAY, Some(daily())),
        MON + 1,
        marks(0, 0),
        MON + 1,
    );
    assert_eq!(d.next_wake(), Some(MON + HOUR));
    let due: Vec<_> = d
        .due(MON + DAY)
        .into_iter()
        .map(|x| (x.id, x.kind, x.at))
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        due,
        vec![
            (s("h"), Kind::Reset, MON + DAY),
            (s("t"), Kind::End, MON + DAY),
            (s("d"), Kind::Reset, MON + DAY),
            (s("t"), Kind::Reset, MON + DAY),
        ]
    );
}

#[test]
fn a_tournament_catches_up_its_missed_end_and_reset_once() {
    let t = || tournament(MON, 0, HOUR, Some(daily()));
    // Created before MON; down from 00:30 to 02:00 the next day: two
    // ends and a reset were missed, each kind is caught up once, with
    // its latest instant, in time order.
    let mut d = Deadlines::new();
    d.insert("t", t(), MON - 10, marks(0, 0), MON + DAY + 2 * HOUR);
    let due = d.due(MON + DAY + 2 * HOUR);
    let got: Vec<_> = due.iter().map(|x| (x.kind, x.at)).collect();
    assert_eq!(
        got,
        vec![(Kind::Reset, MON + DAY), (Kind::End, MON + DAY + HOUR)]
    );
    assert_eq!(d.next_wake(), Some(MON + 2 * DAY));
    // Both marked: a restart announces nothing until the next ones.
    let mut d = Deadlines::new();
    d.insert(
        "t",
        t(),
        MON - 10,
        marks(MON + DAY, MON + DAY + HOUR),
        MON + DAY + 2 * HOUR,
    );
    assert!(d.due(MON + DAY + 2 * HOUR).is_empty());
    assert_eq!(d.next_wake(), Some(MON + 2 * DAY));
    assert_eq!(
        d.due(MON + 2 * DAY + HOUR)
            .iter()
            .map(|x| (x.kind, x.at))
            .collect::<Vec<_>>(),
        vec![
            (Kind::Reset, MON + 2 * DAY),
            (Kind::End, MON + 2 * DAY + HOUR)
        ]
    );
}

#[test]
fn deadlines_before_creation_are_not_the_boards() {
    // Started long ago, created now: nothing is caught up.
    let mut d = Deadlines::new();
    d.insert(
        "t",
        tournament(MON - 9 * DAY, 0, HOUR, Some(daily())),
        MON + 2 * HOUR,
        marks(0, 0),
        MON + 2 * HOUR,
    );
    assert_eq!(d.next_wake(), Some(MON + DAY));
    assert!(d.due(MON + 2 * HOUR).is_empty());
}
