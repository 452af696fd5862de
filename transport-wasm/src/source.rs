//! The driver's token source on a JavaScript event loop: [`FetchTransport`] is its
//! [`Runtime`](zuora_oauth_driver::Runtime).

use crate::FetchTransport;

/// Hands out a valid Zuora token to any number of futures on one JavaScript event loop,
/// fetching with the global `fetch`.
///
/// It is the driver's [`zuora_oauth_driver::TokenSource`] on [`FetchTransport`]: a cached
/// hit reads the clock and compares (no request, no allocation); however many futures ask
/// at once (say, 50 `join_all`ed calls to `token()`), one request is sent, in a task
/// spawned with `spawn_local`, so a future that is dropped never cancels it for the others;
/// in the refresh window the current token keeps being handed out while the next is
/// fetched; waiting futures also look again at the lifecycle's next wake-up (a request's
/// deadline), not only when something changes. Transient failures back off; permanent
/// ones are not retried.
///
/// The clock is `performance.now()` (or `Date.now()` where there is no `performance`); the
/// wall clock `Date.now()`; the jitter seed comes from `Math.random()`. The source is not
/// `Send`: it lives on the event loop that created it (give each worker its own).
///
/// ```no_run
/// # #[cfg(target_arch = "wasm32")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_wasm::TokenSource;
///
/// let source = TokenSource::new(TokenRequest::new(
///     Environment::ProdEu,
///     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
///     ClientSecret::new("a secret from the worker's environment, never from a page")?,
/// ));
/// let mut api_call = http::Request::get("https://rest.eu.zuora.com/v1/catalog/products").body(())?;
/// let generation = source.authorize(&mut api_call).await?;
/// // … send it; if Zuora answers 401, report the token so the next call gets a new one:
/// source.invalidate(generation);
/// # Ok(()) }
/// # fn main() {}
/// ```
pub type TokenSource = zuora_oauth_driver::TokenSource<FetchTransport>;

/// Builds a [`TokenSource`] with non-default settings.
pub type TokenSourceBuilder = zuora_oauth_driver::TokenSourceBuilder<FetchTransport>;

impl zuora_oauth_driver::Runtime for FetchTransport {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: crate::Limits,
    ) -> zuora_oauth_driver::BoxFuture<'static, zuora_oauth_driver::TransportResult> {
        let transport = self.clone();
        Box::pin(async move { FetchTransport::send(&transport, request, limits).await })
    }

    /// The global `setTimeout` must exist (every timeout and wait needs it); without it, a
    /// caller gets this error instead of a wait that could never end.
    fn check(&self) -> Result<(), zuora_oauth_core::TransportError> {
        if crate::js::has_timers() {
            Ok(())
        } else {
            Err(zuora_oauth_core::TransportError::new(
                zuora_oauth_core::TransportErrorKind::Other,
                "this JavaScript runtime has no global `setTimeout`, which timeouts and waits need",
            ))
        }
    }

    fn spawn(&self, task: zuora_oauth_driver::BoxFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(task);
    }

    fn sleep(&self, duration: std::time::Duration) -> zuora_oauth_driver::BoxFuture<'static, ()> {
        Box::pin(crate::js::Sleep::new(duration))
    }

    fn clock(&self) -> zuora_oauth_driver::Clock {
        crate::js::clock()
    }

    fn seed(&self) -> u64 {
        crate::js::random_seed()
    }
}
