//! An async token source for single-threaded wasm: one cached token shared by every future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use zuora_oauth_core::{
    Fetch, LifecycleConfig, SharedLifecycle, Step, Timestamp, TokenError, TokenHandle,
    TokenLifecycle, TokenRequest,
};

use crate::FetchTransport;
use crate::js::{Clock, random_seed};

/// Hands out a valid Zuora token to any number of futures on one JavaScript event loop,
/// fetching with the global `fetch`.
///
/// Cloning is cheap and clones share one token. A cached hit reads the clock and compares:
/// no request, no allocation. However many futures ask at once (say, 50 `join_all`ed calls
/// to [`token`](Self::token)), one token request is sent; the others wait for its outcome,
/// and a waiting or fetching future that is dropped never wedges the rest. In the refresh
/// window (5 minutes before expiry by default) the current token keeps being handed out
/// while a task spawned with `spawn_local` fetches the next. Transient failures back off;
/// rejected credentials are not retried (see [`TokenLifecycle`] for every rule).
///
/// The clock is `performance.now()` (or `Date.now()` where there is no `performance`); the
/// jitter seed comes from `Math.random()`. The source is not `Send`: it lives on the event
/// loop that created it (share it between workers by giving each its own).
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
#[derive(Clone)]
pub struct TokenSource {
    inner: Rc<Inner>,
}

struct Inner {
    shared: Arc<SharedLifecycle>,
    transport: FetchTransport,
    clock: Clock,
    changed: Arc<Changed>,
}

/// Builds a [`TokenSource`] with non-default settings.
pub struct TokenSourceBuilder {
    request: TokenRequest,
    config: LifecycleConfig,
    transport: FetchTransport,
    clock: Clock,
}

impl TokenSourceBuilder {
    /// Refresh, backoff and budget settings (default: [`LifecycleConfig::default`] with a
    /// jitter seed from `Math.random()`).
    pub fn config(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    /// The transport (timeout, body cap).
    pub fn transport(mut self, transport: FetchTransport) -> Self {
        self.transport = transport;
        self
    }

    /// Replaces the monotonic clock (for tests and simulations): `now` returns the time
    /// since an origin of your choosing.
    pub fn clock(mut self, now: impl Fn() -> Duration + 'static) -> Self {
        self.clock = Clock::Custom(Rc::new(now));
        self
    }

    /// The source.
    pub fn build(self) -> TokenSource {
        let changed = Arc::new(Changed::default());
        let notify = Arc::clone(&changed);
        let lifecycle = TokenLifecycle::new(self.request, self.config);
        TokenSource {
            inner: Rc::new(Inner {
                shared: Arc::new(SharedLifecycle::new(lifecycle, move || notify.bump())),
                transport: self.transport,
                clock: self.clock,
                changed,
            }),
        }
    }
}

impl fmt::Debug for TokenSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSourceBuilder")
            .field("request", &self.request)
            .field("config", &self.config)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A source with the default transport and settings.
    pub fn new(request: TokenRequest) -> Self {
        Self::builder(request).build()
    }

    /// A builder starting from the defaults.
    pub fn builder(request: TokenRequest) -> TokenSourceBuilder {
        TokenSourceBuilder {
            request,
            config: LifecycleConfig::default().with_seed(random_seed()),
            transport: FetchTransport::new(),
            clock: Clock::detect(),
        }
    }

    /// A valid token, fetching one if needed.
    pub async fn token(&self) -> Result<TokenHandle, TokenError> {
        match self.cached() {
            Some(handle) => {
                event!(trace, generation = handle.generation(), "token cache hit");
                Ok(handle)
            }
            None => Box::pin(self.fetch()).await,
        }
    }

    /// Calls `f` with a valid token, fetching one if needed. On a cache hit nothing is
    /// cloned.
    pub async fn with_token<R>(
        &self,
        mut f: impl FnMut(&TokenHandle) -> R,
    ) -> Result<R, TokenError> {
        if let Some(r) = self.with_cached(&mut f) {
            return Ok(r);
        }
        Box::pin(self.fetch()).await.map(|handle| f(&handle))
    }

    /// Sets `Authorization: Bearer …` (and `Zuora-Entity-Ids` if configured) on a Zuora API
    /// request. Returns the token's generation, to pass to [`TokenSource::invalidate`] if
    /// the API answers 401.
    pub async fn authorize<B>(&self, request: &mut http::Request<B>) -> Result<u64, TokenError> {
        self.with_token(|handle| {
            handle.authorize(request);
            handle.generation()
        })
        .await
    }

    /// The cached token if it is fresh, without fetching or waiting.
    pub fn cached(&self) -> Option<TokenHandle> {
        self.with_cached(TokenHandle::clone)
    }

    /// Calls `f` with the cached token if it is fresh: the synchronous, allocation-free
    /// hit path. `None`: call [`TokenSource::token`].
    pub fn with_cached<R>(&self, f: impl FnMut(&TokenHandle) -> R) -> Option<R> {
        self.inner.shared.with_fresh(self.inner.clock.now(), f)
    }

    /// The Zuora API answered 401 to token `generation`: the next call fetches a new one.
    /// Reports from many futures about the same token cause one request; reports about an
    /// older token are ignored. Returns whether this report changed anything.
    pub fn invalidate(&self, generation: u64) -> bool {
        self.inner
            .shared
            .invalidate(self.inner.clock.now(), generation)
    }

    /// Forgets failures and backoff (after fixing rejected credentials, say).
    pub fn reset(&self) {
        self.inner
            .shared
            .update(self.inner.clock.now(), TokenLifecycle::reset);
    }

    /// The shared lifecycle, to adopt tokens from a shared store or to reconfigure.
    pub fn lifecycle(&self) -> &SharedLifecycle {
        &self.inner.shared
    }

    /// The current time on this source's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The slow path: poll the machine until it hands out a token or an error.
    ///
    /// Callers box this future: it holds a whole exchange, and inline it would make every
    /// `token()`/`with_token()` future that big, to be moved even on a cache hit.
    async fn fetch(&self) -> Result<TokenHandle, TokenError> {
        let inner = &self.inner;
        loop {
            // Read the epoch before polling, so that no wake-up is missed.
            let seen = inner.changed.epoch();
            match inner.shared.poll(inner.clock.now()) {
                Step::Use(handle) => return Ok(handle),
                Step::Fail(error) => return Err(error),
                Step::Wait => inner.changed.wait_past(seen).await,
                Step::Send {
                    request,
                    fetch,
                    current: Some(current),
                } => {
                    // Refresh-ahead: this caller keeps the valid token; a task fetches.
                    event!(
                        debug,
                        generation = current.generation(),
                        "refreshing ahead of expiry in a spawned task"
                    );
                    let background = Rc::clone(inner);
                    wasm_bindgen_futures::spawn_local(async move {
                        background.exchange(request, fetch).await;
                    });
                    return Ok(current);
                }
                Step::Send {
                    request,
                    fetch,
                    current: None,
                } => {
                    // If this future is dropped here, `fetch` is dropped too, which cancels
                    // the request (the transport aborts the `fetch`) and wakes the waiting
                    // futures: one of them takes over.
                    inner.exchange(request, fetch).await;
                }
            }
        }
    }
}

impl Inner {
    /// Sends one token request and reports its outcome to the lifecycle.
    async fn exchange(&self, request: http::Request<Vec<u8>>, fetch: Fetch) {
        #[cfg(feature = "tracing")]
        let span = tracing::debug_span!(target: "zuora_oauth", "zuora_token_request", request = ?fetch.id(), uri = %request.uri());
        let send = self.transport.send(request);
        #[cfg(feature = "tracing")]
        let send = tracing::Instrument::instrument(send, span.clone());
        let result = send.await;
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        let _ = fetch.complete(self.clock.now(), result);
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("lifecycle", &self.inner.shared)
            .field("transport", &self.inner.transport)
            .finish_non_exhaustive()
    }
}

/// Wakes waiting futures when the lifecycle changed: an epoch and a list of wakers.
///
/// `Send + Sync` only because [`SharedLifecycle`]'s callback must be; on wasm32 without
/// threads the mutex is never contended.
#[derive(Default)]
struct Changed {
    epoch: AtomicU64,
    wakers: Mutex<Vec<Waker>>,
}

impl Changed {
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let wakers =
            std::mem::take(&mut *self.wakers.lock().unwrap_or_else(PoisonError::into_inner));
        for waker in wakers {
            waker.wake();
        }
    }

    /// Resolves once the epoch has moved past `seen`.
    fn wait_past(&self, seen: u64) -> WaitPast<'_> {
        WaitPast {
            changed: self,
            seen,
        }
    }
}

struct WaitPast<'a> {
    changed: &'a Changed,
    seen: u64,
}

impl Future for WaitPast<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.changed.epoch() != self.seen {
            return Poll::Ready(());
        }
        let mut wakers = self
            .changed
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
