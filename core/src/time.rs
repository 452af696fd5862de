//! The core's notion of time: a monotonic instant supplied by the caller.

use std::fmt;
use std::time::Duration;

/// A point on the caller's monotonic clock, measured from an origin the caller chooses
/// (for example when its token source was created, or `performance.now()`'s time origin).
///
/// The core never reads a clock: every function that needs "now" takes a `Timestamp`.
/// This keeps the core deterministic in tests and usable on `wasm32-unknown-unknown`,
/// where `std::time::Instant::now()` panics. Only differences between timestamps of the
/// same origin are meaningful. Arithmetic saturates instead of panicking.
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_core::Timestamp;
/// let t0 = Timestamp::from_millis(1_000);
/// let t1 = t0 + Duration::from_secs(2);
/// assert_eq!(t1.saturating_duration_since(t0), Duration::from_secs(2));
/// assert_eq!(t0.saturating_duration_since(t1), Duration::ZERO);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The origin.
    pub const ZERO: Self = Self(Duration::ZERO);
    /// The far future; useful as "never".
    pub const MAX: Self = Self(Duration::MAX);

    /// The instant `since_origin` after the origin.
    pub const fn from_duration(since_origin: Duration) -> Self {
        Self(since_origin)
    }

    /// The instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// The instant `millis` (fractional, as `performance.now()` returns) after the origin.
    /// Negative, NaN and infinite values are clamped.
    pub fn from_millis_f64(millis: f64) -> Self {
        let secs = millis / 1000.0;
        if secs.is_nan() || secs <= 0.0 {
            Self::ZERO
        } else {
            Self(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
        }
    }

    /// The time since the origin.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, saturating at [`Timestamp::MAX`].
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d))
    }

    /// `self - d`, saturating at [`Timestamp::ZERO`].
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d))
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturating addition.
    fn add(self, rhs: Duration) -> Timestamp {
        self.saturating_add(rhs)
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturating subtraction.
    fn sub(self, rhs: Duration) -> Timestamp {
        self.saturating_sub(rhs)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As u64 (saturating): no 128-bit formatting in a wasm module for a `Debug`.
        let ms = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        write!(f, "Timestamp({ms}ms)")
    }
}
