//! A deterministic, seeded datagram link for in-process tests.
//!
//! A [`Link`] carries datagrams in one direction and applies loss,
//! duplication, reordering and delay to them. Time is virtual: every call
//! takes the current time as a value, and the link never reads a clock. Two
//! links, one per direction, make a path between a client and a server.
//!
//! The link is deterministic. The same seed, the same [`LinkConfig`] and the
//! same sequence of calls always give the same deliveries, so tests built on
//! it never flake and never depend on wall-clock time.
//!
//! Randomness comes from [`SplitMix64`], a tiny local generator. It is not
//! cryptographic; it only makes test traffic look irregular.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::Duration;

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit generator with a full
/// period of 2^64 and one addition and two multiplications per output.
///
/// Invariant: the output sequence is a pure function of the seed.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`. Every seed, including 0, is good.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[0, 1)`, from the top 53 bits of one output.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p`. A `p` of 0 or less is never true, and a
    /// `p` of 1 or more is always true.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// A value in `[0, n)`, or 0 when `n` is 0. The modulo bias is
    /// negligible for the small `n` that tests use.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A duration in `[0, max]`, with nanosecond resolution.
    pub fn duration_up_to(&mut self, max: Duration) -> Duration {
        let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX - 1);
        Duration::from_nanos(self.below(max_nanos.saturating_add(1)))
    }

    /// Fills `buf` with random bytes.
    pub fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// How a [`Link`] mistreats the datagrams it carries.
///
/// Each sent datagram is first lost with probability `loss`. A datagram
/// that survives is then sent twice with probability `duplicate`. Each copy
/// arrives after `delay`, plus a uniform random extra in `[0, jitter]`, plus
/// `reorder_delay` with probability `reorder`. Whenever the extra delays of
/// two datagrams differ by more than the time between their sends, the later
/// one overtakes the earlier, so both `jitter` and `reorder` reorder traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// Base one-way delay.
    pub delay: Duration,
    /// Largest uniform random extra delay.
    pub jitter: Duration,
    /// Probability in `[0, 1]` that a datagram is dropped.
    pub loss: f64,
    /// Probability in `[0, 1]` that a surviving datagram is delivered twice.
    pub duplicate: f64,
    /// Probability in `[0, 1]` that a copy is held back by `reorder_delay`.
    pub reorder: f64,
    /// Extra delay of a held-back copy.
    pub reorder_delay: Duration,
}

impl LinkConfig {
    /// A link that delivers every datagram at once, exactly once, in order.
    pub const PERFECT: Self = Self {
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        reorder_delay: Duration::ZERO,
    };

    /// A loss-free link with a fixed one-way `delay`.
    pub const fn with_delay(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::PERFECT
        }
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self::PERFECT
    }
}

/// One datagram in transit or delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Source address, as the receiver sees it.
    pub from: SocketAddr,
    /// Destination address.
    pub to: SocketAddr,
    /// The bytes. Mutable, since the receiving protocols decrypt in place.
    pub payload: Vec<u8>,
}

/// What a [`Link`] did to the traffic so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams handed to [`Link::send`].
    pub sent: u64,
    /// Datagrams dropped.
    pub lost: u64,
    /// Extra copies created.
    pub duplicated: u64,
    /// Copies held back by the reorder delay.
    pub reordered: u64,
    /// Copies returned by [`Link::poll_deliver`].
    pub delivered: u64,
}

/// A copy in flight. Ordered by arrival time, then by send order, so that
/// ties resolve the same way on every run.
#[derive(Debug)]
struct InFlight {
    arrives_at: Duration,
    order: u64,
    datagram: Datagram,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.arrives_at, self.order).cmp(&(other.arrives_at, other.order))
    }
}

/// A one-way, lossy, deterministic datagram link in virtual time.
///
/// Invariants: a datagram is never delivered before `now` reaches its
/// arrival time; deliveries come out in arrival order (ties in send order);
/// the bytes delivered are exactly the bytes sent.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    rng: SplitMix64,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    next_order: u64,
    stats: LinkStats,
}

impl Link {
    /// A link with `config`, whose random choices are seeded by `seed`.
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        Self {
            config,
            rng: SplitMix64::new(seed),
            in_flight: BinaryHeap::new(),
            next_order: 0,
            stats: LinkStats::default(),
        }
    }

    /// The link's configuration.
    pub const fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Replaces the configuration for datagrams sent from now on. Datagrams
    /// already in flight keep their arrival times.
    pub fn set_config(&mut self, config: LinkConfig) {
        self.config = config;
    }

    /// Sends `payload` from `from` to `to` at time `now`.
    pub fn send(&mut self, now: Duration, from: SocketAddr, to: SocketAddr, payload: &[u8]) {
        self.stats.sent += 1;
        if self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut arrives_at =
                now + self.config.delay + self.rng.duration_up_to(self.config.jitter);
            if self.rng.chance(self.config.reorder) {
                self.stats.reordered += 1;
                arrives_at += self.config.reorder_delay;
            }
            let datagram = Datagram {
                from,
                to,
                payload: payload.to_vec(),
            };
            self.in_flight.push(Reverse(InFlight {
                arrives_at,
                order: self.next_order,
                datagram,
            }));
            self.next_order += 1;
        }
    }

    /// The next datagram that has arrived by `now`, if any.
    pub fn poll_deliver(&mut self, now: Duration) -> Option<Datagram> {
        if self.in_flight.peek()?.0.arrives_at > now {
            return None;
        }
        let Reverse(in_flight) = self.in_flight.pop()?;
        self.stats.delivered += 1;
        Some(in_flight.datagram)
    }

    /// When the next datagram in flight arrives, if any is in flight.
    pub fn next_arrival(&self) -> Option<Duration> {
        self.in_flight.peek().map(|Reverse(f)| f.arrives_at)
    }

    /// The number of copies in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// What the link did so far.
    pub const fn stats(&self) -> LinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn splitmix_is_deterministic_and_in_range() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let f = a.next_f64();
            assert!((0.0..1.0).contains(&f));
            b.next_f64();
            assert!(a.below(10) < 10);
            b.below(10);
        }
        assert_eq!(a.below(0), 0);
        assert!(!a.chance(0.0));
        assert!(a.chance(1.0));
        assert!(a.duration_up_to(5 * MS) <= 5 * MS);
        assert_eq!(a.duration_up_to(Duration::ZERO), Duration::ZERO);
        let mut buf = [0u8; 13];
        a.fill_bytes(&mut buf);
        assert_ne!(buf, [0u8; 13]);
    }

    #[test]
    fn perfect_link_delivers_in_order_after_delay() {
        let mut link = Link::new(LinkConfig::with_delay(10 * MS), 1);
        for i in 0..5u8 {
            link.send(Duration::from_millis(u64::from(i)), addr(1), addr(2), &[i]);
        }
        assert_eq!(link.poll_deliver(9 * MS), None);
        assert_eq!(link.next_arrival(), Some(10 * MS));
        let got: Vec<u8> = std::iter::from_fn(|| link.poll_deliver(20 * MS))
            .map(|d| d.payload[0])
            .collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(link.in_flight(), 0);
        assert_eq!(link.stats().delivered, 5);
    }

    #[test]
    fn lossy_link_is_reproducible_and_roughly_calibrated() {
        let config = LinkConfig {
            delay: 5 * MS,
            jitter: 20 * MS,
            loss: 0.2,
            duplicate: 0.1,
            reorder: 0.1,
            reorder_delay: 50 * MS,
        };
        let run = |seed| {
            let mut link = Link::new(config, seed);
            let mut out = Vec::new();
            for i in 0..2000u32 {
                let now = Duration::from_millis(u64::from(i));
                link.send(now, addr(1), addr(2), &i.to_be_bytes());
                while let Some(d) = link.poll_deliver(now) {
                    out.push(u32::from_be_bytes(d.payload.try_into().unwrap()));
                }
            }
            while let Some(d) = link.poll_deliver(Duration::from_secs(60)) {
                out.push(u32::from_be_bytes(d.payload.try_into().unwrap()));
            }
            (out, link.stats())
        };
        let (a, stats) = run(42);
        let (b, _) = run(42);
        assert_eq!(a, b, "same seed, same deliveries");
        let (c, _) = run(43);
        assert_ne!(a, c, "another seed, other deliveries");

        assert!((300..500).contains(&stats.lost), "{stats:?}");
        assert!((100..220).contains(&stats.duplicated), "{stats:?}");
        assert_eq!(stats.delivered, stats.sent - stats.lost + stats.duplicated);
        assert!(a.windows(2).any(|w| w[0] > w[1]), "some reordering");
    }
}
