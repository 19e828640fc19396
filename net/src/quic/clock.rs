//! The caller's time, as quinn-proto's `TimeSource` sees it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quinn_proto::TimeSource;

/// quinn-proto stamps retry tokens with a `SystemTime` from the server
/// configuration's `TimeSource`, which by default reads the system clock.
/// This one reports the latest `now` the server was given instead, counted
/// from the server's creation and placed at an arbitrary fixed point of the
/// calendar: retry tokens only compare times with each other, and they are
/// checked by the server that issued them (they are bound to the client's
/// address, so Initials carrying them reach the same shard).
#[derive(Debug)]
pub(crate) struct InputClock {
    origin: Instant,
    elapsed: Arc<Elapsed>,
}

#[derive(Debug, Default)]
struct Elapsed(AtomicU64);

/// Where the server's creation sits on quinn-proto's calendar.
const BASE_SECONDS: u64 = 1_000_000_000;

impl TimeSource for Elapsed {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH
            + Duration::from_secs(BASE_SECONDS)
            + Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

impl InputClock {
    pub(crate) fn new(origin: Instant) -> Self {
        Self {
            origin,
            elapsed: Arc::default(),
        }
    }

    /// The time source to put in quinn-proto's server configuration.
    pub(crate) fn time_source(&self) -> Arc<dyn TimeSource> {
        self.elapsed.clone()
    }

    /// The latest time passed to [`advance`](Self::advance) (the creation
    /// time before any): for the few calls that take no `now` of their own.
    pub(crate) fn latest(&self) -> Instant {
        self.origin + Duration::from_nanos(self.elapsed.0.load(Ordering::Relaxed))
    }

    /// Moves the time to `now`; never backwards.
    pub(crate) fn advance(&self, now: Instant) {
        let nanos = now.saturating_duration_since(self.origin).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        self.elapsed.0.fetch_max(nanos, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_input_and_never_goes_back() {
        let t0 = Instant::now();
        let clock = InputClock::new(t0);
        let source = clock.time_source();
        let start = source.now();
        assert_eq!(clock.latest(), t0);
        clock.advance(t0 + Duration::from_secs(5));
        assert_eq!(
            source.now().duration_since(start).unwrap(),
            Duration::from_secs(5)
        );
        clock.advance(t0 + Duration::from_secs(1));
        assert_eq!(
            source.now().duration_since(start).unwrap(),
            Duration::from_secs(5)
        );
        assert_eq!(clock.latest(), t0 + Duration::from_secs(5));
    }
}
