//! A small non-cryptographic random source (SplitMix64) for device ids,
//! pool picks and WebSocket mask seeds. Seeded from the clock and process id
//! so that separate runs create distinct accounts.

use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed seed.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator seeded from the clock, the process id and `stream`
    /// (e.g. a worker index).
    pub fn from_entropy(stream: u64) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut r = Self(
            nanos
                ^ (u64::from(std::process::id()) << 32)
                ^ stream.wrapping_mul(0xA24B_AED4_963E_E407),
        );
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (`n > 0`; bias negligible for pool sizes).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A random device id: `kairos-lt-` and 32 hex digits (Nakama accepts
    /// 10 to 128 bytes).
    pub fn device_id(&mut self) -> String {
        format!("kairos-lt-{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        for n in [1usize, 2, 3, 1000] {
            for _ in 0..1000 {
                assert!(a.below(n) < n);
            }
        }
        let id = a.device_id();
        assert_eq!(id.len(), 42);
        assert_ne!(id, a.device_id());
        assert_ne!(
            Rng::from_entropy(1).next_u64(),
            Rng::from_entropy(2).next_u64()
        );
    }
}
