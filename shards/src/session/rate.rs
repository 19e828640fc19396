//! A session's message rate: a token bucket of `kairos.session.message_burst`
//! tokens refilled at `kairos.session.max_messages_per_sec`.
//!
//! Over the rate, the session's reader waits until the next token is due
//! before it handles the message: it reads nothing meanwhile, so the client
//! is slowed by TCP backpressure (WebSocket) or by its bounded inbox
//! (reliable UDP, QUIC, whose reliable messages past the inbox close the
//! session). Waiting costs the shard one timer for that session, nothing
//! else. Two cells per session, no allocation, no lock.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// One session's token bucket. Starts full on its first message.
#[derive(Debug, Default)]
pub struct RateLimit {
    /// Tokens left; negative while a message waits for its token.
    tokens: Cell<f64>,
    /// When `tokens` was last brought up to date; `None` before the first
    /// message.
    last: Cell<Option<Instant>>,
    /// Whether this session was ever throttled (counted once per session).
    throttled: Cell<bool>,
}

/// A message over the rate.
pub struct Throttle {
    /// How long until its token is due.
    pub wait: Duration,
    /// This is the session's first throttled message.
    pub first: bool,
}

impl RateLimit {
    /// Takes the token for one message at `now`. `None`: go on at once;
    /// else wait as long as it says first.
    #[inline]
    pub fn take(&self, now: Instant, per_sec: u32, burst: u32) -> Option<Throttle> {
        let (rate, burst) = (f64::from(per_sec), f64::from(burst));
        let tokens = match self.last.get() {
            None => burst,
            Some(last) => (self.tokens.get()
                + now.saturating_duration_since(last).as_secs_f64() * rate)
                .min(burst),
        };
        self.last.set(Some(now));
        let left = tokens - 1.0;
        self.tokens.set(left);
        if left >= 0.0 {
            return None;
        }
        Some(Throttle {
            wait: Duration::from_secs_f64(-left / rate),
            first: !self.throttled.replace(true),
        })
    }

    /// The same bucket, for a session moving to another shard.
    pub fn copy(&self) -> RateLimit {
        RateLimit {
            tokens: Cell::new(self.tokens.get()),
            last: Cell::new(self.last.get()),
            throttled: Cell::new(self.throttled.get()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let r = RateLimit::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(r.take(t0, 10, 5).is_none(), "the burst goes at once");
        }
        let over = r.take(t0, 10, 5).expect("past the burst");
        assert!(over.first);
        assert!(over.wait.abs_diff(Duration::from_millis(100)) < Duration::from_micros(1));
        // Waiting that long pays the debt: the next token is 100 ms later.
        let t1 = t0 + Duration::from_millis(100);
        let again = r.take(t1, 10, 5).expect("still at the rate");
        assert!(!again.first, "a session is counted once");
        assert!(again.wait.abs_diff(Duration::from_millis(100)) < Duration::from_micros(1));
        // A long pause refills to the burst, never beyond.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(r.take(t2, 10, 5).is_none());
        }
        assert!(r.take(t2, 10, 5).is_some());
    }
}
