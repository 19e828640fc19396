//! A latency histogram with fixed buckets: one `AtomicU64` per bucket plus
//! a running sum, recorded with relaxed atomics (no lock, no allocation).
//! Each shard records into its own; the scraper takes a [`Snapshot`] of
//! each, merges them, and writes Prometheus's cumulative buckets.
//!
//! The bucket bounds are a fixed exponential (1-2-5 per decade) series from
//! 200 ns to 10 s, the same for every histogram, so that snapshots merge by
//! adding bucket counts (the sub-10-µs buckets are for cross-shard hops).
//! The unit they are shown in (milliseconds for Nakama's `_latency_ms`,
//! seconds for Kairos's own `_seconds`) is chosen when rendering. Pure
//! atomics, so the persistence pool records into these too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (inclusive) of the finite buckets, in nanoseconds.
pub const BOUNDS_NANOS: [u64; 24] = [
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    100_000_000,
    200_000_000,
    500_000_000,
    1_000_000_000,
    2_000_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Finite buckets plus the `+Inf` one.
pub const BUCKETS: usize = BOUNDS_NANOS.len() + 1;

/// One histogram's cells. Buckets are not cumulative here (each
/// observation bumps exactly one); the count is their total, so `_count`
/// and the `+Inf` bucket always agree.
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

/// The bucket an observation of `nanos` falls in.
#[inline]
pub fn bucket_of(nanos: u64) -> usize {
    BOUNDS_NANOS.partition_point(|&b| b < nanos)
}

impl Histogram {
    #[inline]
    pub fn record(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(nanos)].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum_nanos: self.sum_nanos.load(Ordering::Relaxed),
        }
    }
}

/// A histogram's values at one moment, mergeable with others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Per-bucket (not cumulative) counts; the last is `+Inf`.
    pub buckets: [u64; BUCKETS],
    pub sum_nanos: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            buckets: [0; BUCKETS],
            sum_nanos: 0,
        }
    }
}

impl Snapshot {
    /// Adds another snapshot (another shard's) to this one.
    pub fn merge(&mut self, other: &Snapshot) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a = a.wrapping_add(*b);
        }
        self.sum_nanos = self.sum_nanos.wrapping_add(other.sum_nanos);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().fold(0u64, |a, b| a.wrapping_add(*b))
    }

    /// Prometheus's cumulative counts, one per bucket (`le` ascending, the
    /// last being `+Inf`).
    pub fn cumulative(&self) -> [u64; BUCKETS] {
        let mut acc = 0u64;
        std::array::from_fn(|i| {
            acc = acc.wrapping_add(self.buckets[i]);
            acc
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_increasing() {
        assert!(BOUNDS_NANOS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn observations_land_in_the_first_bucket_whose_bound_they_do_not_exceed() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(200), 0, "bounds are inclusive (le)");
        assert_eq!(bucket_of(201), 1);
        assert_eq!(bucket_of(10_000), 5);
        assert_eq!(bucket_of(1_000_000), 11);
        assert_eq!(bucket_of(1_000_001), 12);
        assert_eq!(bucket_of(10_000_000_000), BUCKETS - 2);
        assert_eq!(bucket_of(10_000_000_001), BUCKETS - 1, "+Inf");
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn records_sums_and_counts() {
        let h = Histogram::default();
        h.record(Duration::from_micros(5));
        h.record(Duration::from_micros(150));
        h.record(Duration::from_millis(3));
        h.record(Duration::from_secs(60));
        h.record(Duration::MAX);
        let s = h.snapshot();
        assert_eq!(s.count(), 5);
        assert_eq!(s.buckets[bucket_of(5_000)], 1);
        assert_eq!(s.buckets[bucket_of(150_000)], 1);
        assert_eq!(s.buckets[bucket_of(3_000_000)], 1);
        assert_eq!(s.buckets[BUCKETS - 1], 2);
        assert_eq!(
            s.sum_nanos,
            5_000u64
                .wrapping_add(150_000)
                .wrapping_add(3_000_000)
                .wrapping_add(60_000_000_000)
                .wrapping_add(u64::MAX)
        );
    }

    #[test]
    fn merging_adds_buckets_and_cumulative_ends_at_the_count() {
        let a = Histogram::default();
        let b = Histogram::default();
        a.record(Duration::from_micros(15));
        a.record(Duration::from_millis(1));
        b.record(Duration::from_micros(15));
        b.record(Duration::from_secs(1));
        b.record(Duration::from_secs(20));
        let mut m = a.snapshot();
        m.merge(&b.snapshot());
        assert_eq!(m.count(), 5);
        assert_eq!(m.buckets[bucket_of(15_000)], 2, "both 15 µs observations");
        assert_eq!(
            m.sum_nanos,
            2 * 15_000 + 1_000_000 + 1_000_000_000 + 20_000_000_000
        );
        let c = m.cumulative();
        assert!(c.windows(2).all(|w| w[0] <= w[1]), "non-decreasing");
        assert_eq!(c[bucket_of(10_000)], 0);
        assert_eq!(c[bucket_of(15_000)], 2);
        assert_eq!(c[bucket_of(1_000_000)], 3);
        assert_eq!(c[bucket_of(1_000_000_000)], 4);
        assert_eq!(c[BUCKETS - 2], 4);
        assert_eq!(c[BUCKETS - 1], m.count());
        let mut empty = Snapshot::default();
        empty.merge(&Snapshot::default());
        assert_eq!(empty.count(), 0);
    }
}
