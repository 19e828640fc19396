//! The deadlines of one HTTP connection, and when its watchdog must wake.
//!
//! A connection is always in one phase, and each phase has one deadline:
//!
//! | phase | from | deadline |
//! |---|---|---|
//! | `Waiting` (keep-alive, response draining) | the last byte moved | `socket.read_timeout_ms` |
//! | `Head` (request line and headers) | its first byte, or the accept | `kairos.net.header_timeout_ms` |
//! | `Body` | the end of the head | `kairos.net.body_timeout_ms` |
//! | `Handling` (the handler works, e.g. waits for the database) | | none |
//!
//! In `Head` and `Body`, a read that makes no progress for
//! `socket.read_timeout_ms` also ends the connection, whichever is first.
//! The watchdog (`http::serve_with`) arms one timer at the current deadline
//! and none while a handler runs: the handler's end wakes the connection's
//! task anyway. A deadline that moves later (bytes keep arriving) does not
//! re-arm the timer; when it fires early it is armed once more at the new
//! deadline, so a connection costs at most one wake-up per deadline period,
//! and a waiting one none at all.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The limits of each phase.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// No byte moved for this long (`socket.read_timeout_ms`).
    pub idle: Duration,
    /// A request's head (`kairos.net.header_timeout_ms`).
    pub header: Duration,
    /// A request's body (`kairos.net.body_timeout_ms`).
    pub body: Duration,
}

/// Where a connection is in its request cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Between requests: no byte of the next request has come yet.
    Waiting,
    /// A request's head is arriving, since this instant.
    Head { since: Instant },
    /// The head is parsed and the body is arriving, since this instant.
    Body { since: Instant },
    /// A handler is working on the request.
    Handling,
}

/// A connection's phase and last progress, shared by its I/O adapter (which
/// notes bytes), its service (which notes the request cycle) and its
/// watchdog. All on one shard.
#[derive(Debug)]
pub struct ConnClock {
    phase: Cell<Phase>,
    last_io: Cell<Instant>,
}

impl ConnClock {
    /// A connection just accepted: its first request's head is due.
    pub fn new(now: Instant) -> Rc<ConnClock> {
        Rc::new(ConnClock {
            phase: Cell::new(Phase::Head { since: now }),
            last_io: Cell::new(now),
        })
    }

    pub fn phase(&self) -> Phase {
        self.phase.get()
    }

    /// Bytes arrived: the first of a request starts its head's deadline.
    pub fn read(&self, now: Instant) {
        self.last_io.set(now);
        if self.phase.get() == Phase::Waiting {
            self.phase.set(Phase::Head { since: now });
        }
    }

    /// Bytes went out.
    pub fn wrote(&self, now: Instant) {
        self.last_io.set(now);
    }

    /// The head is parsed; the body's deadline starts.
    pub fn head_done(&self, now: Instant) {
        self.phase.set(Phase::Body { since: now });
    }

    /// The body is read: the handler's work has no deadline. A handler
    /// that reads no body calls it too, once it starts its work.
    pub fn body_done(&self) {
        self.phase.set(Phase::Handling);
    }

    /// The response is handed to hyper: waiting for the next request.
    pub fn request_done(&self, now: Instant) {
        self.last_io.set(now);
        self.phase.set(Phase::Waiting);
    }

    /// When the connection must be closed, if nothing changes; None while
    /// a handler works.
    pub fn deadline(&self, d: &Deadlines) -> Option<Instant> {
        let stalled = self.last_io.get() + d.idle;
        match self.phase.get() {
            Phase::Waiting => Some(stalled),
            Phase::Head { since } => Some((since + d.header).min(stalled)),
            Phase::Body { since } => Some((since + d.body).min(stalled)),
            Phase::Handling => None,
        }
    }
}

/// What the watchdog does after a poll of its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The deadline has passed: close the connection.
    Close,
    /// No deadline (a handler works): drop the timer.
    Disarm,
    /// The armed timer fires no later than the deadline: keep it.
    Keep,
    /// Arm the timer at this instant.
    Arm(Instant),
}

/// Decides from the deadline and the timer armed now (if any).
pub fn action(deadline: Option<Instant>, armed: Option<Instant>, now: Instant) -> Action {
    match (deadline, armed) {
        (None, _) => Action::Disarm,
        (Some(at), _) if at <= now => Action::Close,
        (Some(at), Some(armed)) if armed <= at => Action::Keep,
        (Some(at), _) => Action::Arm(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Deadlines = Deadlines {
        idle: Duration::from_secs(10),
        header: Duration::from_secs(5),
        body: Duration::from_secs(30),
    };

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn the_first_head_counts_from_the_accept_and_trickling_does_not_extend_it() {
        let t0 = Instant::now();
        let c = ConnClock::new(t0);
        assert_eq!(c.deadline(&D), Some(t0 + s(5)));
        // One byte a second keeps the connection from stalling but not
        // past the head's deadline.
        for i in 1..5 {
            c.read(t0 + s(i));
            assert_eq!(c.deadline(&D), Some(t0 + s(5)));
        }
    }

    #[test]
    fn a_withheld_body_has_a_deadline_and_a_handler_has_none() {
        let t0 = Instant::now();
        let c = ConnClock::new(t0);
        c.read(t0);
        c.head_done(t0 + s(1));
        // The body's deadline, or no progress for the idle limit.
        assert_eq!(c.deadline(&D), Some(t0 + s(10)));
        c.read(t0 + s(9));
        c.read(t0 + s(18));
        c.read(t0 + s(27));
        assert_eq!(c.deadline(&D), Some(t0 + s(31)));
        c.body_done();
        assert_eq!(c.deadline(&D), None);
        c.request_done(t0 + s(40));
        assert_eq!(c.phase(), Phase::Waiting);
        assert_eq!(c.deadline(&D), Some(t0 + s(50)));
        // The next request's head counts from its first byte.
        c.read(t0 + s(45));
        assert_eq!(c.phase(), Phase::Head { since: t0 + s(45) });
        assert_eq!(c.deadline(&D), Some(t0 + s(50)));
    }

    #[test]
    fn the_timer_is_armed_only_when_the_deadline_comes_sooner() {
        let t0 = Instant::now();
        assert_eq!(action(None, Some(t0), t0), Action::Disarm);
        assert_eq!(action(None, None, t0), Action::Disarm);
        assert_eq!(action(Some(t0), None, t0), Action::Close);
        assert_eq!(action(Some(t0 + s(1)), None, t0), Action::Arm(t0 + s(1)));
        // The deadline moved later: the armed timer stays.
        assert_eq!(action(Some(t0 + s(9)), Some(t0 + s(5)), t0), Action::Keep);
        // Sooner: re-armed.
        assert_eq!(
            action(Some(t0 + s(2)), Some(t0 + s(5)), t0),
            Action::Arm(t0 + s(2))
        );
    }

    #[test]
    fn a_waiting_connection_wakes_once_per_deadline_not_per_tick() {
        // Simulates the watchdog: a connection whose handler runs for 60 s,
        // then idles. Count the timer's firings.
        let t0 = Instant::now();
        let c = ConnClock::new(t0);
        c.read(t0);
        c.head_done(t0);
        c.body_done();
        let mut armed: Option<Instant> = None;
        let mut wakeups = 0;
        let mut now = t0;
        let mut closed = None;
        while closed.is_none() && now < t0 + s(120) {
            if now == t0 + s(60) {
                c.request_done(now);
            }
            match action(c.deadline(&D), armed, now) {
                Action::Close => closed = Some(now),
                Action::Disarm => armed = None,
                Action::Keep => {}
                Action::Arm(at) => armed = Some(at),
            }
            // Advance to the timer's firing or the handler's end.
            let next = match armed {
                Some(at) if at < t0 + s(60) || now >= t0 + s(60) => at,
                _ => t0 + s(60),
            };
            if armed == Some(next) {
                wakeups += 1;
                armed = None;
            }
            now = next;
        }
        assert_eq!(closed, Some(t0 + s(70)));
        assert_eq!(wakeups, 1);
    }
}
