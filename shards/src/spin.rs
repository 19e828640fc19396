//! Whether a shard whose inbox ran dry should poll it a while before it
//! parks.
//!
//! Polling an empty inbox burns the core; parking makes the next message
//! pay a cross-core wake-up (tens of microseconds on a VM). Spinning pays
//! only when the next message is likely to come within the spin budget.
//! [`SpinPolicy`] keeps a moving average of the gaps between arrivals and
//! spins, for the budget, only while that average is under it: a steady
//! flow of messages is then picked up with no wake-up at all, while sparse
//! traffic, as games send it (20 to 60 messages a second per player),
//! parks at once instead of burning a core between messages.
//!
//! Pure: the caller passes the time, so the policy is tested without a
//! clock.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Gaps longer than this count as this long: one idle minute must not
/// take thousands of arrivals to forget.
const MAX_GAP_NS: u64 = 1_000_000_000;
/// The moving average gives each new gap 1/`WEIGHT` of the weight.
const WEIGHT: u64 = 8;

/// The adaptive spin before parking of one shard's inbox.
pub(crate) struct SpinPolicy {
    budget: Duration,
    /// The average gap between arrivals, in nanoseconds; `MAX_GAP_NS`
    /// until arrivals say otherwise (no evidence: park).
    avg_gap_ns: Cell<u64>,
    last: Cell<Option<Instant>>,
}

impl SpinPolicy {
    /// A policy that spins at most `budget` (zero: never).
    pub(crate) fn new(budget: Duration) -> SpinPolicy {
        SpinPolicy {
            budget,
            avg_gap_ns: Cell::new(MAX_GAP_NS),
            last: Cell::new(None),
        }
    }

    /// Notes that messages arrived at `now`.
    pub(crate) fn arrived(&self, now: Instant) {
        if let Some(prev) = self.last.get() {
            let gap = (now.saturating_duration_since(prev).as_nanos() as u64).min(MAX_GAP_NS);
            let avg = self.avg_gap_ns.get();
            self.avg_gap_ns.set(avg - avg / WEIGHT + gap / WEIGHT);
        }
        self.last.set(Some(now));
    }

    /// How long to poll an empty inbox before parking: the budget while
    /// messages have been arriving closer together than it, else nothing.
    pub(crate) fn spin(&self) -> Duration {
        if (self.avg_gap_ns.get() as u128) < self.budget.as_nanos() {
            self.budget
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_micros(50);

    fn feed(p: &SpinPolicy, start: Instant, gap: Duration, n: u32) -> Instant {
        let mut t = start;
        for _ in 0..n {
            t += gap;
            p.arrived(t);
        }
        t
    }

    #[test]
    fn parks_until_arrivals_say_more_is_imminent() {
        let p = SpinPolicy::new(BUDGET);
        assert_eq!(p.spin(), Duration::ZERO, "no evidence yet");
        let t = feed(&p, Instant::now(), Duration::from_micros(5), 200);
        assert_eq!(p.spin(), BUDGET, "a steady flow 5 µs apart");
        // Game-rate traffic: a message every 500 µs is not worth a spin.
        feed(&p, t, Duration::from_micros(500), 200);
        assert_eq!(p.spin(), Duration::ZERO);
    }

    #[test]
    fn one_long_idle_is_forgotten_after_a_burst() {
        let p = SpinPolicy::new(BUDGET);
        let t = feed(&p, Instant::now(), Duration::from_micros(5), 200);
        let t = feed(&p, t, Duration::from_secs(3600), 1);
        assert_eq!(p.spin(), Duration::ZERO, "just woke from an idle hour");
        feed(&p, t, Duration::from_micros(2), 200);
        assert_eq!(p.spin(), BUDGET);
    }

    #[test]
    fn a_zero_budget_never_spins() {
        let p = SpinPolicy::new(Duration::ZERO);
        feed(&p, Instant::now(), Duration::from_nanos(1), 1000);
        assert_eq!(p.spin(), Duration::ZERO);
    }
}
