//! Tunables of the token lifecycle.

use std::time::Duration;

/// How a [`TokenLifecycle`](super::TokenLifecycle) refreshes, backs off and limits itself.
///
/// The defaults follow Zuora's guidance: refresh 5 minutes before expiry (Zuora's own
/// guide uses 300 s) with up to 10 % jitter, exponential backoff with full jitter from 1 s
/// to 60 s, at most 10 token requests a minute, and no automatic retry after Zuora
/// rejected the credentials.
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_core::LifecycleConfig;
/// let config = LifecycleConfig::default()
///     .with_refresh_window(Duration::from_secs(120))
///     .with_max_requests_per_minute(5)
///     .with_seed(42);
/// assert_eq!(config.refresh_window(), Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleConfig {
    refresh_window: Duration,
    refresh_jitter_percent: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
    max_requests_per_minute: u32,
    rejection_reprobe: Option<Duration>,
    seed: u64,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            refresh_window: Duration::from_secs(300),
            refresh_jitter_percent: 10,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            max_requests_per_minute: 10,
            rejection_reprobe: None,
            seed: 0x5eed_2a0a_0a07_1c4e,
        }
    }
}

impl LifecycleConfig {
    /// Refresh this long before expiry (default 300 s). A token whose lifetime is shorter
    /// than twice the window is refreshed at half its life instead.
    pub fn with_refresh_window(mut self, window: Duration) -> Self {
        self.refresh_window = window;
        self
    }

    /// Refresh up to this percentage of the window earlier still, at random, so that many
    /// processes do not refresh in lock-step (default 10, at most 100).
    pub fn with_refresh_jitter_percent(mut self, percent: u32) -> Self {
        self.refresh_jitter_percent = percent.min(100);
        self
    }

    /// Exponential backoff after transient failures: a random delay between zero and
    /// `min(cap, base × 2^(failures − 1))`, and never less than `Retry-After`
    /// (defaults 1 s and 60 s).
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap.max(base);
        self
    }

    /// Send at most this many token requests per rolling minute, whatever happens
    /// (default 10, at least 1). Zuora allows 100 per minute per IP address, failed ones
    /// included.
    pub fn with_max_requests_per_minute(mut self, n: u32) -> Self {
        self.max_requests_per_minute = n.max(1);
        self
    }

    /// After Zuora rejected the credentials (400/401/403), try once more every `interval`
    /// (default: never; call [`TokenLifecycle::reset`](super::TokenLifecycle::reset) or
    /// [`TokenLifecycle::reconfigure`](super::TokenLifecycle::reconfigure) instead).
    pub fn with_rejection_reprobe(mut self, interval: Option<Duration>) -> Self {
        self.rejection_reprobe = interval;
        self
    }

    /// Seed for the jitter (refresh time and backoff). Give each process a different one,
    /// e.g. from `std::collections::hash_map::RandomState` or `Math.random()`; the machine
    /// itself draws no randomness.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// See [`LifecycleConfig::with_refresh_window`].
    pub fn refresh_window(&self) -> Duration {
        self.refresh_window
    }

    /// See [`LifecycleConfig::with_refresh_jitter_percent`].
    pub fn refresh_jitter_percent(&self) -> u32 {
        self.refresh_jitter_percent
    }

    /// See [`LifecycleConfig::with_backoff`]: `(base, cap)`.
    pub fn backoff(&self) -> (Duration, Duration) {
        (self.backoff_base, self.backoff_cap)
    }

    /// See [`LifecycleConfig::with_max_requests_per_minute`].
    pub fn max_requests_per_minute(&self) -> u32 {
        self.max_requests_per_minute
    }

    /// See [`LifecycleConfig::with_rejection_reprobe`].
    pub fn rejection_reprobe(&self) -> Option<Duration> {
        self.rejection_reprobe
    }

    /// See [`LifecycleConfig::with_seed`].
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
