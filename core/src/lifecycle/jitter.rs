//! Deterministic jitter from a caller-supplied seed.

use std::time::Duration;

/// SplitMix64: a tiny, well-mixed generator. Not for secrets; only to spread refresh and
/// retry times so that processes do not act in lock-step.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniformly random duration in `[0, max]`.
    pub(crate) fn up_to(&mut self, max: Duration) -> Duration {
        let max_nanos = max.as_nanos().min(u128::from(u64::MAX));
        let nanos = (u128::from(self.next_u64()) * (max_nanos + 1)) >> 64;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// `min(cap, base × 2^(failures − 1))`: the ceiling of the full-jitter backoff after
/// `failures` consecutive failures (at least one).
pub(crate) fn backoff_ceiling(base: Duration, cap: Duration, failures: u32) -> Duration {
    let factor = 2u32
        .checked_pow(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_stays_in_range_and_spreads() {
        let mut j = Jitter::new(7);
        let max = Duration::from_secs(10);
        let draws: Vec<_> = (0..1000).map(|_| j.up_to(max)).collect();
        assert!(draws.iter().all(|d| *d <= max));
        assert!(draws.iter().any(|d| *d < Duration::from_secs(1)));
        assert!(draws.iter().any(|d| *d > Duration::from_secs(9)));
        assert_eq!(Jitter::new(1).up_to(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Jitter::new(99), Jitter::new(99));
        for _ in 0..10 {
            assert_eq!(
                a.up_to(Duration::from_secs(60)),
                b.up_to(Duration::from_secs(60))
            );
        }
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(60));
        let ceilings: Vec<u64> = (1..=8)
            .map(|n| backoff_ceiling(base, cap, n).as_secs())
            .collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff_ceiling(base, cap, u32::MAX), cap);
        assert_eq!(backoff_ceiling(base, cap, 0), base);
    }
}
