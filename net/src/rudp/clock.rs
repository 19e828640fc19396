//! Turning the caller's absolute time into the deltas renet and renetcode
//! want.

use std::time::Duration;

/// The last time an endpoint was told. renet and renetcode advance by
/// deltas; this keeps the running total equal to the caller's `now`.
///
/// Invariant: time never goes backwards. A `now` earlier than one already
/// seen (a wall clock stepped back) is treated as no time passing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    now: Duration,
}

impl Clock {
    /// A clock that reads `now`.
    pub(crate) const fn new(now: Duration) -> Self {
        Self { now }
    }

    /// Moves to `now` and returns how far it moved.
    pub(crate) fn advance(&mut self, now: Duration) -> Duration {
        let delta = now.saturating_sub(self.now);
        self.now += delta;
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards() {
        let mut clock = Clock::new(Duration::from_secs(10));
        assert_eq!(
            clock.advance(Duration::from_secs(12)),
            Duration::from_secs(2)
        );
        assert_eq!(clock.advance(Duration::from_secs(11)), Duration::ZERO);
        assert_eq!(
            clock.advance(Duration::from_secs(13)),
            Duration::from_secs(1)
        );
    }
}
