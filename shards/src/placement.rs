//! Where a new relayed match is made: packed onto as few shards as the
//! node's load needs (`kairos.session.pack_matches_below`).
//!
//! A match whose members share one shard costs what one shard costs (see
//! `ws/handoff.rs`). Two shards that each carry half of a light load cost
//! more again: each parks and wakes for its half, each wake-up finds half
//! the work, and the shards and the clients compete for the cores. On this
//! VM one shard relays 25 or 50 matches for 13–18% less CPU per delivered
//! message than two (BENCHMARKS.md, "Matches packed onto the first shard
//! with room"). So while a shard has room, new matches go to it, and the
//! next shard is taken only when it is busy.
//!
//! - Every shard measures how busy its thread is, its CPU time over the
//!   last [`METER_EVERY`] as a fraction of the wall time, averaged with the
//!   window before, and publishes it here ([`meter`]).
//! - An unnamed `match_create` goes to the lowest-numbered *open* shard:
//!   busy less than `pack_matches_below` and given fewer than
//!   `pack_matches_per_sec` new matches in its current second. The count
//!   stops a burst of creations (a tournament's start, a load test's set-up)
//!   from piling onto one shard before its measured busyness, which comes
//!   only with the matches' traffic, has caught up.
//! - When no shard is open the match is made on its creator's shard, as
//!   with packing off: the kernel spreads connections over the shards, so
//!   a busy node spreads its new matches.
//!
//! The creator then moves to the chosen shard as any joiner does (only a
//! session that may move: `Session::may_move`); its match is made there
//! with an id that shard owns. A matchmaker group without a matched hook
//! is given a token for a relayed match whose id the chosen shard owns
//! (`realtime/matchmaker/deliver.rs`), and its players move there as they
//! join with it. Placement is decided once: a match never moves
//! afterwards, so a node whose load grows within matches already made
//! keeps them where they are.
//!
//! Shared by every shard through atomics that each is the only writer of
//! (its busyness) or that are touched once per match made (the counts):
//! nothing here is on the message path.

use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::rt;
use crate::shard::Shard;

/// How often a shard measures how busy it is.
pub const METER_EVERY: Duration = Duration::from_millis(250);
/// Windows in a placement second: the counts of new matches start again
/// this often.
const WINDOWS_PER_SECOND: u32 = 4;

/// The node's placement state: each shard's busyness and this second's
/// count of new matches sent to it.
pub struct Placement {
    shards: Box<[Slot]>,
    /// `pack_matches_below` in thousandths of a core; 0: packing off.
    below_permille: u32,
    per_sec: u32,
}

#[derive(Default)]
#[repr(align(64))]
struct Slot {
    busy_permille: AtomicU32,
    placed: AtomicU32,
}

impl Placement {
    pub fn new(shards: usize, pack_below: f64, per_sec: u32) -> Placement {
        Placement {
            shards: (0..shards).map(|_| Slot::default()).collect(),
            below_permille: (pack_below.clamp(0.0, 1.0) * 1000.0).round() as u32,
            per_sec,
        }
    }

    /// Whether new matches are packed at all.
    pub fn packs(&self) -> bool {
        self.below_permille > 0 && self.shards.len() > 1
    }

    /// The shard a new match asked for on shard `from` goes to, counted
    /// against that shard's second.
    pub fn choose(&self, from: usize) -> usize {
        if !self.packs() {
            return from;
        }
        let open = self.shards.iter().position(|s| {
            s.busy_permille.load(Relaxed) < self.below_permille
                && s.placed.load(Relaxed) < self.per_sec
        });
        let to = open.unwrap_or(from);
        if let Some(slot) = self.shards.get(to) {
            slot.placed.fetch_add(1, Relaxed);
        }
        to
    }

    /// Shard `shard`'s busyness over its last window, in thousandths of a
    /// core; `new_second` starts its count of new matches again.
    pub fn record(&self, shard: usize, busy_permille: u32, new_second: bool) {
        let Some(slot) = self.shards.get(shard) else {
            return;
        };
        slot.busy_permille.store(busy_permille, Relaxed);
        if new_second {
            slot.placed.store(0, Relaxed);
        }
    }

    /// Shard `shard`'s busyness as last measured, as a fraction of a core.
    pub fn busy(&self, shard: usize) -> f64 {
        self.shards
            .get(shard)
            .map_or(0.0, |s| f64::from(s.busy_permille.load(Relaxed)) / 1000.0)
    }
}

/// Measures how busy this shard's thread is, every [`METER_EVERY`], for
/// as long as the shard runs.
pub async fn meter(shard: Rc<Shard>) {
    let placement = &shard.shared.placement;
    let mut last_cpu = thread_cpu();
    let mut last_at = Instant::now();
    let mut smoothed = 0u32;
    let mut windows = 0u32;
    loop {
        rt::sleep(METER_EVERY).await;
        let (cpu, at) = (thread_cpu(), Instant::now());
        let sample = busy_permille(cpu.saturating_sub(last_cpu), at - last_at);
        (last_cpu, last_at) = (cpu, at);
        smoothed = (smoothed + sample).div_ceil(2);
        windows += 1;
        placement.record(
            shard.id,
            smoothed,
            windows.is_multiple_of(WINDOWS_PER_SECOND),
        );
    }
}

/// CPU time over wall time, in thousandths, at most 1000.
fn busy_permille(cpu: Duration, wall: Duration) -> u32 {
    if wall.is_zero() {
        return 0;
    }
    (cpu.as_nanos().saturating_mul(1000) / wall.as_nanos()).min(1000) as u32
}

/// The calling thread's CPU time, user and system.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_onto_the_lowest_open_shard_then_the_next() {
        let p = Placement::new(3, 0.5, 64);
        assert_eq!(p.choose(2), 0, "an idle node packs onto shard 0");
        p.record(0, 500, false);
        assert_eq!(p.choose(2), 1, "shard 0 at the threshold is full");
        p.record(0, 499, false);
        assert_eq!(p.choose(1), 0, "just below it has room again");
        p.record(0, 900, false);
        p.record(1, 700, false);
        assert_eq!(p.choose(1), 2);
    }

    #[test]
    fn a_busy_node_leaves_each_match_on_its_creators_shard() {
        let p = Placement::new(2, 0.5, 64);
        p.record(0, 600, false);
        p.record(1, 800, false);
        assert_eq!(p.choose(0), 0);
        assert_eq!(p.choose(1), 1);
    }

    #[test]
    fn a_burst_spills_to_the_next_shard_until_the_second_ends() {
        let p = Placement::new(2, 0.5, 3);
        let first: Vec<usize> = (0..8).map(|_| p.choose(1)).collect();
        // Three to shard 0, three to shard 1, then none open: the creator's.
        assert_eq!(first, [0, 0, 0, 1, 1, 1, 1, 1]);
        p.record(0, 100, true);
        assert_eq!(p.choose(1), 0, "a new second opens shard 0 again");
        p.record(1, 100, false);
        assert_eq!(p.choose(0), 0);
    }

    #[test]
    fn off_and_single_shard_nodes_never_move_a_creator() {
        let off = Placement::new(2, 0.0, 64);
        assert!(!off.packs());
        assert_eq!(off.choose(1), 1);
        let single = Placement::new(1, 0.5, 64);
        assert!(!single.packs());
        assert_eq!(single.choose(0), 0);
    }

    #[test]
    fn busyness_is_cpu_over_wall_time_capped_at_a_core() {
        let ms = Duration::from_millis;
        assert_eq!(busy_permille(ms(50), ms(250)), 200);
        assert_eq!(busy_permille(ms(300), ms(250)), 1000);
        assert_eq!(busy_permille(ms(1), Duration::ZERO), 0);
        // The meter's clock moves while this thread works.
        let start = thread_cpu();
        let mut x = 0u64;
        while thread_cpu() == start {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(thread_cpu() > start);
    }
}
