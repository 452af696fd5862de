//! A blocking token source: one cached token shared by every thread.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use zuora_oauth_core::{
    Fetch, LifecycleConfig, SharedLifecycle, Step, Timestamp, TokenError, TokenHandle,
    TokenLifecycle, TokenRequest,
};

use crate::UreqTransport;

/// Hands out a valid Zuora token to any number of threads, fetching with ureq.
///
/// Cloning is cheap and clones share one token. A cached hit takes no lock and touches no
/// counter shared between threads. However many threads ask at once, one token request is
/// sent; the others wait for its outcome. In the refresh window (5 minutes before expiry by
/// default) the current token keeps being handed out while one background thread fetches
/// the next. Transient failures back off; rejected credentials are not retried (see
/// [`TokenLifecycle`] for every rule).
///
/// ```no_run
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_ureq::TokenSource;
///
/// let request = TokenRequest::new(
///     Environment::ProdEu,
///     ClientId::new(std::env::var("ZUORA_CLIENT_ID")?)?,
///     ClientSecret::new(std::env::var("ZUORA_CLIENT_SECRET")?)?,
/// );
/// let source = TokenSource::new(request);
///
/// let mut api_call = http::Request::get("https://rest.eu.zuora.com/v1/catalog/products").body(())?;
/// let generation = source.authorize(&mut api_call)?;
/// // … send it; if Zuora answers 401, report the token so the next call gets a new one:
/// source.invalidate(generation);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<SharedLifecycle>,
    transport: UreqTransport,
    clock: Clock,
    changed: Arc<Changed>,
}

/// Builds a [`TokenSource`] with non-default settings.
pub struct TokenSourceBuilder {
    request: TokenRequest,
    config: LifecycleConfig,
    transport: UreqTransport,
    clock: Clock,
}

impl TokenSourceBuilder {
    /// Refresh, backoff and budget settings (default: [`LifecycleConfig::default`] with a
    /// random jitter seed).
    pub fn config(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    /// The transport (your own agent, timeouts, body cap).
    pub fn transport(mut self, transport: UreqTransport) -> Self {
        self.transport = transport;
        self
    }

    /// Replaces the monotonic clock (for tests and simulations): `now` returns the time
    /// since an origin of your choosing and must never go backwards by much.
    pub fn clock(mut self, now: impl Fn() -> Duration + Send + Sync + 'static) -> Self {
        self.clock = Clock::Custom(Arc::new(now));
        self
    }

    /// The source.
    pub fn build(self) -> TokenSource {
        let changed = Arc::new(Changed::default());
        let notify = Arc::clone(&changed);
        let lifecycle = TokenLifecycle::new(self.request, self.config);
        TokenSource {
            inner: Arc::new(Inner {
                shared: Arc::new(SharedLifecycle::new(lifecycle, move || notify.bump())),
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
            transport: UreqTransport::default(),
            clock: Clock::coarse(),
        }
    }

    /// A valid token, fetching one if needed (blocking).
    pub fn token(&self) -> Result<TokenHandle, TokenError> {
        let now = self.inner.clock.now();
        match self.inner.shared.fresh(now) {
            Some(handle) => {
                event!(trace, generation = handle.generation(), "token cache hit");
                Ok(handle)
            }
            None => self.fetch(),
        }
    }

    /// Calls `f` with a valid token, fetching one if needed. On a cache hit nothing is
    /// cloned and no lock is taken: the cheapest way to read the token.
    pub fn with_token<R>(&self, mut f: impl FnMut(&TokenHandle) -> R) -> Result<R, TokenError> {
        if let Some(r) = self.inner.shared.with_fresh(self.inner.clock.now(), &mut f) {
            return Ok(r);
        }
        self.fetch().map(|handle| f(&handle))
    }

    /// Sets `Authorization: Bearer …` (and `Zuora-Entity-Ids` if configured) on a Zuora API
    /// request. Returns the token's generation, to pass to [`TokenSource::invalidate`] if
    /// the API answers 401.
    pub fn authorize<B>(&self, request: &mut http::Request<B>) -> Result<u64, TokenError> {
        self.with_token(|handle| {
            handle.authorize(request);
            handle.generation()
        })
    }

    /// The Zuora API answered 401 to token `generation`: the next call fetches a new one.
    /// Reports from many threads about the same token cause one request; reports about an
    /// older token are ignored. Returns whether this report changed anything.
    pub fn invalidate(&self, generation: u64) -> bool {
        self.inner
            .shared
            .invalidate(self.inner.clock.now(), generation)
    }

    /// The cached token if it is fresh, without fetching or blocking.
    pub fn cached(&self) -> Option<TokenHandle> {
        self.inner.shared.fresh(self.inner.clock.now())
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
    fn fetch(&self) -> Result<TokenHandle, TokenError> {
        let inner = &self.inner;
        loop {
            let seen = inner.changed.epoch();
            match inner.shared.poll(inner.clock.now()) {
                Step::Use(handle) => return Ok(handle),
                Step::Fail(error) => return Err(error),
                Step::Wait => inner.changed.wait_past(seen, WAIT_SLICE),
                Step::Send {
                    request,
                    fetch,
                    current: Some(current),
                } => {
                    // Refresh-ahead: this caller keeps the valid token; a thread fetches.
                    event!(
                        debug,
                        generation = current.generation(),
                        "refreshing ahead of expiry in a background thread"
                    );
                    let background = Arc::clone(inner);
                    let spawned = std::thread::Builder::new()
                        .name("zuora-oauth-refresh".into())
                        .spawn(move || background.exchange(request, fetch));
                    // If no thread could be started the fetch was dropped, which cancels it.
                    drop(spawned);
                    return Ok(current);
                }
                Step::Send {
                    request,
                    fetch,
                    current: None,
                } => {
                    inner.exchange(request, fetch);
                }
            }
        }
    }
}

impl Inner {
    /// Sends one token request and reports its outcome to the lifecycle.
    fn exchange(&self, request: http::Request<Vec<u8>>, fetch: Fetch) {
        #[cfg(feature = "tracing")]
        let _span = tracing::debug_span!(target: "zuora_oauth", "zuora_token_request", request = ?fetch.id(), uri = %request.uri()).entered();
        let result = self.transport.send(request);
        let _ = fetch.complete(self.clock.now(), result);
    }
}

/// How long a waiter sleeps before polling again even without news: a safety net, since
/// the fetching caller always reports (or cancels) and its transport has a timeout.
const WAIT_SLICE: Duration = Duration::from_secs(1);

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("lifecycle", &self.inner.shared)
            .field("transport", &self.inner.transport)
            .finish_non_exhaustive()
    }
}

/// Wakes blocked callers when the lifecycle changed.
#[derive(Default)]
struct Changed {
    epoch: Mutex<u64>,
    cond: Condvar,
}

impl Changed {
    fn epoch(&self) -> u64 {
        *self.epoch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        *self.epoch.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.cond.notify_all();
    }

    /// Blocks until the epoch moves past `seen`, or `at_most` passes.
    fn wait_past(&self, seen: u64, at_most: Duration) {
        let guard = self.epoch.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .cond
            .wait_timeout_while(guard, at_most, |epoch| *epoch == seen)
            .unwrap_or_else(PoisonError::into_inner);
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
