//! The bounds every transport puts on one token exchange.

use std::time::Duration;

/// Default limit on the whole exchange (connect, send, receive the body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body; a token response is well under 1 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// How long one token exchange may take and how large its response body may be: the same
/// for every transport (`HyperTransport::limits`, `UreqTransport::limits`…).
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_driver::Limits;
/// let limits = Limits::default().with_timeout(Duration::from_secs(10));
/// assert_eq!(limits.timeout(), Duration::from_secs(10));
/// assert_eq!(limits.max_body(), 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    timeout: Duration,
    max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

impl Limits {
    /// Limits the whole exchange: connect, send and receive the body (default 30 s). Past
    /// it, the exchange fails with a timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Fails the exchange with `BodyTooLarge` past this many body bytes (default 64 KiB).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// See [`Limits::with_timeout`].
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// See [`Limits::with_max_body`].
    pub fn max_body(&self) -> usize {
        self.max_body
    }
}
