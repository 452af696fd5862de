//! The seam between the one token source and a runtime: what differs between tokio, a
//! JavaScript event loop and plain threads.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use zuora_oauth_core::TransportError;

use crate::{Clock, Limits};

/// A boxed future that is `Send` on native targets (on `wasm32`, where one event loop runs
/// everything, it need not be).
#[cfg(not(target_arch = "wasm32"))]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A boxed future that is `Send` on native targets (on `wasm32`, where one event loop runs
/// everything, it need not be).
#[cfg(target_arch = "wasm32")]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// `Send + Sync` on native targets, nothing on `wasm32`.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSend for T {}
/// `Send + Sync` on native targets, nothing on `wasm32`.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// The response to a token request, or why there is none.
pub type TransportResult = Result<http::Response<Vec<u8>>, TransportError>;

/// What the async [`TokenSource`](crate::TokenSource) needs from a runtime and an HTTP
/// client: send one request, run a task detached, sleep, and the clocks. Everything else
/// (who fetches, when callers wait, what outlives whom) is the driver's.
///
/// The transports implement it: `zuora-oauth-hyper` (tokio), `zuora-oauth-reqwest`
/// (tokio), `zuora-oauth-wasm` (the JavaScript event loop). Implement it to run the token
/// source on another runtime.
pub trait Runtime: MaybeSend + 'static {
    /// Sends one token request and reads the whole response, whatever its status, within
    /// `limits` (the whole exchange's timeout and the body cap), following no redirect. The
    /// future is dropped, and must then abort the request, when the source is dropped.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult>;

    /// Runs `task` to completion in the background, detached from the caller that started
    /// it (a caller that gives up must not cancel a fetch others wait for).
    fn spawn(&self, task: BoxFuture<'static, ()>);

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;

    /// Whether [`spawn`](Runtime::spawn) and [`sleep`](Runtime::sleep) can work from here;
    /// the error (e.g. "no tokio runtime") is handed to the caller instead of a panic.
    fn check(&self) -> Result<(), TransportError> {
        Ok(())
    }

    /// The monotonic and wall clocks.
    #[cfg(not(target_arch = "wasm32"))]
    fn clock(&self) -> Clock {
        Clock::system()
    }
    /// The monotonic and wall clocks.
    #[cfg(target_arch = "wasm32")]
    fn clock(&self) -> Clock;

    /// A jitter seed drawn from the OS, different for every source.
    #[cfg(not(target_arch = "wasm32"))]
    fn seed(&self) -> u64 {
        crate::clock::os_seed()
    }
    /// A jitter seed drawn from the OS, different for every source.
    #[cfg(target_arch = "wasm32")]
    fn seed(&self) -> u64;
}

/// What the blocking [`blocking::TokenSource`](crate::blocking::TokenSource) needs: send
/// one request, blocking the calling thread, within a timeout and a body-size cap,
/// following no redirect. The transport `zuora-oauth-ureq` implements it.
#[cfg(not(target_arch = "wasm32"))]
pub trait BlockingTransport: Clone + Send + Sync + 'static {
    /// Sends one token request and reads the whole response, whatever its status, within
    /// `limits`, following no redirect.
    fn send(&self, request: http::Request<Vec<u8>>, limits: Limits) -> TransportResult;
}

/// How much longer than the exchange's timeout ([`Limits::timeout`]) the lifecycle waits for an outcome before
/// it counts the request as lost.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// `config` with a request deadline of at least the transport's `timeout` plus
/// [`DEADLINE_MARGIN`]: a shorter one would give up on requests still legitimately running.
pub(crate) fn with_deadline_floor(
    config: zuora_oauth_core::LifecycleConfig,
    timeout: Duration,
) -> zuora_oauth_core::LifecycleConfig {
    let floor = timeout.saturating_add(DEADLINE_MARGIN);
    if config.request_deadline() < floor {
        config.with_request_deadline(floor)
    } else {
        config
    }
}
