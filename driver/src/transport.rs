//! The seam between the token source and an HTTP client: send one token request, within
//! [`Limits`], and report what came back. A transport holds no Zuora rule and never spawns,
//! sleeps or retries: the source and the core do that.

use std::time::Duration;

use zuora_oauth_core::TransportError;

use crate::{BoxFuture, MaybeSend};

/// The response to a token request, or why there is none.
pub type TransportResult = Result<http::Response<Vec<u8>>, TransportError>;

/// Sends one token request, asynchronously: the seam of the async
/// [`TokenSource`](crate::TokenSource). `zuora-oauth-hyper`, `zuora-oauth-reqwest` and
/// `zuora-oauth-wasm` implement it; implement it for an HTTP client of your own.
pub trait Transport: MaybeSend + 'static {
    /// Sends `request` and reads the whole response, whatever its status, within `limits`
    /// (the whole exchange's timeout, connection setup's, the body cap), following no
    /// redirect and never through a proxy for plain `http://`. Dropping the future aborts
    /// the request.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult>;
}

/// Sends one token request, blocking the calling thread: the seam of the
/// [`BlockingTokenSource`](crate::BlockingTokenSource). `zuora-oauth-ureq` implements it.
#[cfg(not(target_arch = "wasm32"))]
pub trait BlockingTransport: Send + Sync + 'static {
    /// Sends `request` and reads the whole response, whatever its status, within `limits`,
    /// following no redirect and never through a proxy for plain `http://`.
    fn send(&self, request: http::Request<Vec<u8>>, limits: Limits) -> TransportResult;
}

/// Default limit on the whole exchange (connect, send, receive the body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit on connection setup (TCP, a proxy's CONNECT, the TLS handshake).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a response body; a token response is well under 1 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// The bounds of one exchange, handed to the transport with each request. A token source
/// sets them from its builder
/// ([`TokenSourceBuilder::with_timeout`](crate::TokenSourceBuilder::with_timeout) and its
/// siblings); a transport only obeys them.
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_driver::Limits;
/// let limits = Limits::default().with_timeout(Duration::from_secs(10));
/// assert_eq!(limits.timeout(), Duration::from_secs(10));
/// assert_eq!(limits.connect_timeout(), Duration::from_secs(10));
/// assert_eq!(limits.max_body(), 64 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    timeout: Duration,
    connect_timeout: Duration,
    max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
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

    /// Limits connection setup: TCP, a proxy's CONNECT and the TLS handshake together
    /// (default 10 s; never more than the whole exchange's timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
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

    /// See [`Limits::with_connect_timeout`]: never more than [`timeout`](Self::timeout).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout.min(self.timeout)
    }

    /// See [`Limits::with_max_body`].
    pub fn max_body(&self) -> usize {
        self.max_body
    }
}
