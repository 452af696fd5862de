//! The clocks fed to the lifecycle: monotonic time and wall-clock time.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use zuora_oauth_core::Timestamp;

use crate::MaybeSend;

/// A monotonic clock (for the lifecycle's schedule) and a wall clock (for token records
/// and `Retry-After` dates). Cheap to clone.
#[derive(Clone)]
pub struct Clock {
    monotonic: Monotonic,
    wall: Arc<WallFn>,
}

// A clock is read from any thread on native targets; wasm32 has one.
#[cfg(not(target_arch = "wasm32"))]
type NowFn = dyn Fn() -> Duration + Send + Sync;
#[cfg(not(target_arch = "wasm32"))]
type WallFn = dyn Fn() -> SystemTime + Send + Sync;
#[cfg(target_arch = "wasm32")]
type NowFn = dyn Fn() -> Duration;
#[cfg(target_arch = "wasm32")]
type WallFn = dyn Fn() -> SystemTime;

#[derive(Clone)]
enum Monotonic {
    /// `CLOCK_MONOTONIC_COARSE` on Linux (a few ns; millisecond resolution, plenty for
    /// token lifetimes of an hour).
    #[cfg(not(target_arch = "wasm32"))]
    Coarse(coarsetime::Instant),
    Custom(Arc<NowFn>),
}

impl Clock {
    /// The system's clocks: a coarse monotonic clock and `SystemTime::now()`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn system() -> Self {
        Self {
            monotonic: Monotonic::Coarse(coarsetime::Instant::now()),
            wall: Arc::new(SystemTime::now),
        }
    }

    /// Clocks of your own (tests, simulations, runtimes without `std::time`): `monotonic`
    /// returns the time since an origin of your choosing and must not go backwards by much;
    /// `wall` returns the wall-clock time.
    pub fn new(
        monotonic: impl Fn() -> Duration + MaybeSend + 'static,
        wall: impl Fn() -> SystemTime + MaybeSend + 'static,
    ) -> Self {
        Self {
            monotonic: Monotonic::Custom(Arc::new(monotonic)),
            wall: Arc::new(wall),
        }
    }

    /// The monotonic time.
    #[inline]
    pub fn now(&self) -> Timestamp {
        Timestamp::from_duration(match &self.monotonic {
            #[cfg(not(target_arch = "wasm32"))]
            // Without the cache update `now()` makes: that store into a process-wide
            // variable would have every hit on every thread write one shared cache line.
            Monotonic::Coarse(origin) => coarsetime::Instant::now_without_cache_update()
                .duration_since(*origin)
                .into(),
            Monotonic::Custom(now) => now(),
        })
    }

    /// The wall-clock time.
    pub fn wall(&self) -> SystemTime {
        (self.wall)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

/// A seed from the OS's randomness: std's hasher keys are drawn from it once per thread and
/// then stepped, so every call gives another value.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn os_seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
}
