//! An async token source: one cached token shared by every task.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::connect::Connect;
use tokio::sync::Notify;
use zuora_oauth_core::{
    Fetch, LifecycleConfig, SharedLifecycle, Step, Timestamp, TokenError, TokenHandle,
    TokenLifecycle, TokenRequest,
};

use crate::{DefaultConnector, HyperTransport};

/// Hands out a valid Zuora token to any number of tasks, fetching with hyper.
///
/// Cloning is cheap and clones share one token. A cached hit takes no lock and touches no
/// counter shared between threads. However many tasks ask at once, one token request is
/// sent; the others wait for its outcome, and a waiting or fetching task that is cancelled
/// never wedges the rest. In the refresh window (5 minutes before expiry by default) the
/// current token keeps being handed out while a spawned task fetches the next. Transient
/// failures back off; rejected credentials are not retried (see [`TokenLifecycle`] for
/// every rule).
///
/// Needs a tokio runtime (hyper-util's client does).
///
/// ```no_run
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_hyper::TokenSource;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let source = TokenSource::new(TokenRequest::new(
///     Environment::ProdEu,
///     ClientId::new(std::env::var("ZUORA_CLIENT_ID")?)?,
///     ClientSecret::new(std::env::var("ZUORA_CLIENT_SECRET")?)?,
/// ));
/// let mut api_call = http::Request::get("https://rest.eu.zuora.com/v1/catalog/products").body(())?;
/// let generation = source.authorize(&mut api_call).await?;
/// // … send it; if Zuora answers 401, report the token so the next call gets a new one:
/// source.invalidate(generation);
/// # Ok(()) }
/// ```
pub struct TokenSource<C = DefaultConnector> {
    inner: Arc<Inner<C>>,
}

impl<C> Clone for TokenSource<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<C> {
    shared: Arc<SharedLifecycle>,
    transport: HyperTransport<C>,
    clock: Clock,
    changed: Arc<Notify>,
}

/// Builds a [`TokenSource`] with non-default settings.
pub struct TokenSourceBuilder<C = DefaultConnector> {
    request: TokenRequest,
    config: LifecycleConfig,
    transport: HyperTransport<C>,
    clock: Clock,
}

impl<C> TokenSourceBuilder<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// Refresh, backoff and budget settings (default: [`LifecycleConfig::default`] with a
    /// random jitter seed).
    pub fn config(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    /// The transport (your own client, timeouts, body cap).
    pub fn transport<D>(self, transport: HyperTransport<D>) -> TokenSourceBuilder<D> {
        TokenSourceBuilder {
            request: self.request,
            config: self.config,
            transport,
            clock: self.clock,
        }
    }

    /// Replaces the monotonic clock (for tests and simulations): `now` returns the time
    /// since an origin of your choosing.
    pub fn clock(mut self, now: impl Fn() -> Duration + Send + Sync + 'static) -> Self {
        self.clock = Clock::Custom(Arc::new(now));
        self
    }

    /// The source.
    pub fn build(self) -> TokenSource<C> {
        let changed = Arc::new(Notify::new());
        let notify = Arc::clone(&changed);
        let lifecycle = TokenLifecycle::new(self.request, self.config);
        TokenSource {
            inner: Arc::new(Inner {
                shared: Arc::new(SharedLifecycle::new(lifecycle, move || {
                    notify.notify_waiters()
                })),
                transport: self.transport,
                clock: self.clock,
                changed,
            }),
        }
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
            config: LifecycleConfig::default().with_seed(RandomState::new().hash_one(0u8)),
            transport: HyperTransport::new(),
            clock: Clock::coarse(),
        }
    }
}

impl<C> TokenSource<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
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
    /// cloned and no lock is taken.
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
    /// hit path (no lock, no shared counter). `None`: call [`TokenSource::token`].
    pub fn with_cached<R>(&self, f: impl FnMut(&TokenHandle) -> R) -> Option<R> {
        self.inner.shared.with_fresh(self.inner.clock.now(), f)
    }

    /// The Zuora API answered 401 to token `generation`: the next call fetches a new one.
    /// Reports from many tasks about the same token cause one request; reports about an
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
    /// Callers box this future: it holds a whole exchange (over 1.5 KB), and inline it would
    /// make every `token()`/`with_token()` future that big, to be moved even on a cache hit.
    async fn fetch(&self) -> Result<TokenHandle, TokenError> {
        let inner = &self.inner;
        loop {
            // Register for wake-ups before polling, so that none is missed.
            let mut changed = pin!(inner.changed.notified());
            changed.as_mut().enable();
            match inner.shared.poll(inner.clock.now()) {
                Step::Use(handle) => return Ok(handle),
                Step::Fail(error) => return Err(error),
                Step::Wait => {
                    let _ = tokio::time::timeout(WAIT_SLICE, changed).await;
                }
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
                    let background = Arc::clone(inner);
                    tokio::spawn(async move { background.exchange(request, fetch).await });
                    return Ok(current);
                }
                Step::Send {
                    request,
                    fetch,
                    current: None,
                } => {
                    // If this future is dropped here, `fetch` is dropped too, which cancels
                    // the request and wakes the waiting tasks: one of them takes over.
                    inner.exchange(request, fetch).await;
                }
            }
        }
    }
}

impl<C> Inner<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
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

/// How long a waiter sleeps before polling again even without news: a safety net, since
/// the fetching task always reports (or cancels) and its transport has a timeout.
const WAIT_SLICE: Duration = Duration::from_secs(1);

impl<C> fmt::Debug for TokenSource<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("lifecycle", &self.inner.shared)
            .finish_non_exhaustive()
    }
}

/// The monotonic clock fed to the lifecycle.
#[derive(Clone)]
enum Clock {
    /// `CLOCK_MONOTONIC_COARSE` on Linux (a few ns; millisecond resolution, plenty for
    /// token lifetimes of an hour).
    Coarse(coarsetime::Instant),
    Custom(Arc<dyn Fn() -> Duration + Send + Sync>),
}

impl Clock {
    fn coarse() -> Self {
        Self::Coarse(coarsetime::Instant::now())
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(match self {
            Self::Coarse(origin) => coarsetime::Instant::now().duration_since(*origin).into(),
            Self::Custom(now) => now(),
        })
    }
}
