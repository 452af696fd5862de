//! Tunables of the token lifecycle.

use std::time::Duration;

/// How a [`TokenLifecycle`](super::TokenLifecycle) refreshes, backs off and limits itself.
///
/// The defaults follow Zuora's guidance: refresh 5 minutes before expiry (Zuora's own
/// guide uses 300 s) with up to 10 % jitter, exponential backoff with full jitter from 1 s
/// to 60 s, never waiting longer than 15 minutes whatever the server asks (`Retry-After`,
/// `RateLimit-Reset`), at most 10
/// token requests a minute, no token handed out with less than 30 s left, and no automatic
/// retry after a permanent failure (rejected credentials, a wrong base URL…).
///
/// The jitter seed is not part of the configuration: it is a required argument of
/// [`TokenLifecycle::new`](super::TokenLifecycle::new), so that no two processes share one
/// by accident.
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_core::LifecycleConfig;
/// let config = LifecycleConfig::default()
///     .with_refresh_window(Duration::from_secs(120))
///     .with_max_requests_per_minute(5);
/// assert_eq!(config.refresh_window(), Duration::from_secs(120));
/// assert_eq!(config.min_remaining(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleConfig {
    refresh_window: Duration,
    refresh_jitter_percent: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
    max_retry_wait: Duration,
    max_requests_per_minute: u32,
    permanent_reprobe: Option<Duration>,
    request_deadline: Duration,
    min_remaining: Duration,
    max_lifetime: Duration,
}

/// The default request deadline: the transports' default timeout (30 s) plus a 5 s margin.
pub(crate) const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(35);

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            refresh_window: Duration::from_secs(300),
            refresh_jitter_percent: 10,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            max_retry_wait: Duration::from_secs(15 * 60),
            max_requests_per_minute: 10,
            permanent_reprobe: None,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
            min_remaining: Duration::from_secs(30),
            max_lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

impl LifecycleConfig {
    /// Refresh this long before expiry (default 300 s). A token whose lifetime is shorter
    /// than twice the window is refreshed halfway through the time it may be handed out.
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
    /// `min(cap, base × 2^(failures − 1))` (defaults 1 s and 60 s). The server's wait
    /// (`Retry-After`, else `RateLimit-Reset`: [`Error::server_wait`](crate::Error::server_wait))
    /// holds requests back on top of it.
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap.max(base);
        self
    }

    /// The longest the machine waits before trying again, whatever the server asked
    /// (`Retry-After`, `RateLimit-Reset`; default 15 minutes), jitter included. The error
    /// still reports what the server asked for
    /// ([`Error::server_wait`](crate::Error::server_wait)); this only bounds how long
    /// callers are left without a token.
    pub fn with_max_retry_wait(mut self, max: Duration) -> Self {
        self.max_retry_wait = max;
        self
    }

    /// Send at most this many token requests per rolling minute, whatever happens
    /// (default 10, at least 1). Zuora allows 100 per minute per IP address, failed ones
    /// included.
    pub fn with_max_requests_per_minute(mut self, n: u32) -> Self {
        self.max_requests_per_minute = n.max(1);
        self
    }

    /// After a permanent failure (Zuora rejected the credentials, a wrong base URL, TLS
    /// failed…; see [`Error::is_transient`](crate::Error::is_transient)), try once more
    /// every `interval` (default: never; call
    /// [`TokenLifecycle::reset`](super::TokenLifecycle::reset) or
    /// [`TokenLifecycle::reconfigure`](super::TokenLifecycle::reconfigure) instead).
    pub fn with_permanent_reprobe(mut self, interval: Option<Duration>) -> Self {
        self.permanent_reprobe = interval;
        self
    }

    /// How long a request may stay in flight before the machine gives up on it (default
    /// 35 s: the transports' 30 s timeout plus a margin). Past it,
    /// the request counts as a timed-out transport failure, so a driver that lost an
    /// outcome never wedges the machine. Set it above your transport's timeout.
    pub fn with_request_deadline(mut self, deadline: Duration) -> Self {
        self.request_deadline = deadline;
        self
    }

    /// Never hand out a token with less than this left before it expires (default 30 s),
    /// so that a token does not expire on its way to Zuora. For short tokens it is at most
    /// half the token's lifetime.
    pub fn with_min_remaining(mut self, min: Duration) -> Self {
        self.min_remaining = min;
        self
    }

    /// Cache a token for at most this long, whatever its `expires_in` (default 24 h).
    /// Longer lifetimes are accepted and clamped.
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
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

    /// See [`LifecycleConfig::with_max_retry_wait`].
    pub fn max_retry_wait(&self) -> Duration {
        self.max_retry_wait
    }

    /// See [`LifecycleConfig::with_max_requests_per_minute`].
    pub fn max_requests_per_minute(&self) -> u32 {
        self.max_requests_per_minute
    }

    /// See [`LifecycleConfig::with_permanent_reprobe`].
    pub fn permanent_reprobe(&self) -> Option<Duration> {
        self.permanent_reprobe
    }

    /// See [`LifecycleConfig::with_request_deadline`].
    pub fn request_deadline(&self) -> Duration {
        self.request_deadline
    }

    /// See [`LifecycleConfig::with_min_remaining`].
    pub fn min_remaining(&self) -> Duration {
        self.min_remaining
    }

    /// See [`LifecycleConfig::with_max_lifetime`].
    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }
}
