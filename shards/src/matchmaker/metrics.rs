//! The matchmaker's metrics, written by its thread and read by the
//! scraper (`metrics/scrape.rs`): relaxed atomics, no lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kairos_core::histogram::Histogram;

#[derive(Default)]
pub struct MatchmakerMetrics {
    /// Tickets in the pool.
    pub tickets: AtomicU64,
    /// Passes run (over a non-empty pool).
    pub passes: AtomicU64,
    /// Matches formed.
    pub matches: AtomicU64,
    /// Tickets matched.
    pub matched_tickets: AtomicU64,
    /// How long each pass took.
    pub pass_time: Histogram,
    /// How long each matched ticket waited, from its add to its pass.
    pub time_to_match: Histogram,
}

impl MatchmakerMetrics {
    pub(super) fn record_pass(&self, took: Duration, matches: usize, tickets: usize) {
        self.passes.fetch_add(1, Ordering::Relaxed);
        self.matches.fetch_add(matches as u64, Ordering::Relaxed);
        self.matched_tickets
            .fetch_add(tickets as u64, Ordering::Relaxed);
        self.pass_time.record(took);
    }

    pub(super) fn record_wait(&self, waited_ms: u64) {
        self.time_to_match.record(Duration::from_millis(waited_ms));
    }
}
