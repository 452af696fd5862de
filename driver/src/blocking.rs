//! The blocking token source: one cached token shared by every thread.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zuora_oauth_core::{
    Error, Generation, LifecycleConfig, Timestamp, TokenLifecycle, TokenRecord, TokenRequest,
    TransportError, TransportErrorKind,
};

use crate::notify::lock;
use crate::runtime::with_deadline_floor;
use crate::shared::{Fetch, Next, Shared};
#[cfg(feature = "store")]
use crate::store::{BlockingTokenStore, StoreLink, StoreOptions};
use crate::{BlockingTransport, Clock, Limits, TokenError, TokenHandle};

/// The longest a blocked caller sleeps before looking again without news (a safety net:
/// the lifecycle's own wake-ups, such as the deadline of a request in flight, come sooner).
const MAX_BLOCK: Duration = Duration::from_secs(60);

/// Hands out a valid Zuora token to any number of threads, over a [`BlockingTransport`].
///
/// The same rules as the async [`TokenSource`](crate::TokenSource): lock-free cached hits,
/// one request however many threads ask, the request sent from a thread of its own (so a
/// caller that stops waiting with [`token_within`](Self::token_within) leaves it to the
/// others), refresh ahead of expiry in the background, backoff, no retry of permanent
/// failures. When the last clone is dropped, the token is freed and no request starts; one
/// in flight finishes (or times out) on its thread, and its outcome is discarded.
pub struct TokenSource<T: BlockingTransport> {
    owner: Arc<Owner<T>>,
}

struct Owner<T> {
    shared: Arc<Shared>,
    transport: T,
    limits: Limits,
    /// The shared store, until `reconfigure` (a store is bound to the credentials it was
    /// built for).
    #[cfg(feature = "store")]
    store: std::sync::Mutex<Option<Arc<StoreLink<dyn BlockingTokenStore>>>>,
    /// Seeds of the fleet attempts (lease values, poll jitter).
    #[cfg(feature = "store")]
    seeds: std::sync::atomic::AtomicU64,
}

#[cfg(feature = "store")]
impl<T> Owner<T> {
    fn store(&self) -> Option<Arc<StoreLink<dyn BlockingTokenStore>>> {
        crate::notify::lock(&self.store).clone()
    }
}

impl<T> Drop for Owner<T> {
    fn drop(&mut self) {
        self.shared.changed.close();
    }
}

impl<T: BlockingTransport> Clone for TokenSource<T> {
    fn clone(&self) -> Self {
        Self {
            owner: Arc::clone(&self.owner),
        }
    }
}

/// Builds a blocking [`TokenSource`] with non-default settings.
pub struct TokenSourceBuilder<T> {
    request: TokenRequest,
    config: LifecycleConfig,
    transport: T,
    clock: Option<Clock>,
    seed: Option<u64>,
    limits: Limits,
    #[cfg(feature = "store")]
    store: Option<Arc<StoreLink<dyn BlockingTokenStore>>>,
}

impl<T: BlockingTransport> TokenSourceBuilder<T> {
    /// Refresh, backoff, deadline and budget settings (default:
    /// [`LifecycleConfig::default`]).
    pub fn config(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    /// Replaces the clocks (for tests and simulations; default: [`Clock::system`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The timeout of one token exchange and the cap on its response body (default 30 s,
    /// 64 KiB). The lifecycle's deadline for a request in flight is kept above the timeout
    /// by [`DEADLINE_MARGIN`](crate::DEADLINE_MARGIN).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Replaces the jitter seed (default: drawn from the OS). Only tests want a fixed one.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Shares tokens with other processes through `store`; see
    /// [`crate::TokenSourceBuilder::store`]. The store's own timeout bounds each call.
    #[cfg(feature = "store")]
    pub fn store(self, store: impl BlockingTokenStore, options: StoreOptions) -> Self {
        let link: Arc<StoreLink<dyn BlockingTokenStore>> = Arc::new(StoreLink::new(store, options));
        Self {
            store: Some(link),
            ..self
        }
    }

    /// The source.
    pub fn build(self) -> TokenSource<T> {
        let seed = self.seed.unwrap_or_else(crate::clock::os_seed);
        let config = with_deadline_floor(self.config, self.limits.timeout());
        // With a store, the lease and the deadline are fitted to each other.
        #[cfg(feature = "store")]
        let mut store = self.store;
        #[cfg(feature = "store")]
        let config = match store.as_mut() {
            Some(link) => crate::store::fit(link, config),
            None => config,
        };
        let lifecycle = TokenLifecycle::new(self.request, config, seed);
        let clock = self.clock.unwrap_or_else(Clock::system);
        TokenSource {
            owner: Arc::new(Owner {
                shared: Arc::new(Shared::new(lifecycle, clock)),
                transport: self.transport,
                limits: self.limits,
                #[cfg(feature = "store")]
                store: std::sync::Mutex::new(store),
                #[cfg(feature = "store")]
                seeds: std::sync::atomic::AtomicU64::new(seed ^ 0x243f_6a88_85a3_08d3),
            }),
        }
    }
}

impl<T: BlockingTransport + Default> TokenSource<T> {
    /// A source with the transport's defaults.
    pub fn new(request: TokenRequest) -> Self {
        Self::builder(request).build()
    }

    /// A builder starting from the transport's defaults.
    pub fn builder(request: TokenRequest) -> TokenSourceBuilder<T> {
        Self::builder_with(request, T::default())
    }
}

impl<T: BlockingTransport> TokenSource<T> {
    /// A builder for a source on `transport` (with your settings).
    pub fn builder_with(request: TokenRequest, transport: T) -> TokenSourceBuilder<T> {
        TokenSourceBuilder {
            request,
            config: LifecycleConfig::default(),
            transport,
            clock: None,
            seed: None,
            limits: Limits::default(),
            #[cfg(feature = "store")]
            store: None,
        }
    }

    /// A valid token, fetching one if needed (blocking).
    pub fn token(&self) -> Result<TokenHandle, TokenError> {
        match self.cached() {
            Some(handle) => Ok(handle),
            None => self.slow(None),
        }
    }

    /// Like [`token`](Self::token), but waits at most `timeout` for a request in flight.
    /// Giving up ends only this caller's wait: the request goes on for everyone else. The
    /// error then says that the wait timed out, with the next attempt "now".
    pub fn token_within(&self, timeout: Duration) -> Result<TokenHandle, TokenError> {
        match self.cached() {
            Some(handle) => Ok(handle),
            None => self.slow(Some(Instant::now() + timeout)),
        }
    }

    /// Calls `f` with a valid token, fetching one if needed. On a cache hit nothing is
    /// cloned and no lock is taken: the cheapest way to read the token.
    pub fn with_token<R>(&self, f: impl FnOnce(&TokenHandle) -> R) -> Result<R, TokenError> {
        let mut f = Some(f);
        if let Some(r) = self.with_cached(|h| (f.take().expect("called once"))(h)) {
            return Ok(r);
        }
        let handle = self.slow(None)?;
        Ok((f.take().expect("not called on a miss"))(&handle))
    }

    /// Sets `Authorization: Bearer …` (and `Zuora-Entity-Ids` if configured) on a Zuora API
    /// request. Returns the token's generation, to pass to
    /// [`invalidate`](Self::invalidate) if the API answers 401.
    pub fn authorize<B>(&self, request: &mut http::Request<B>) -> Result<Generation, TokenError> {
        self.with_token(|handle| {
            handle.authorize(request);
            handle.generation()
        })
    }

    /// The cached token if it is fresh, without fetching or blocking.
    pub fn cached(&self) -> Option<TokenHandle> {
        self.with_cached(TokenHandle::clone)
    }

    /// Calls `f` with the cached token if it is fresh: no lock, no shared counter, no
    /// allocation. `None`: call [`token`](Self::token).
    #[inline]
    pub fn with_cached<R>(&self, f: impl FnOnce(&TokenHandle) -> R) -> Option<R> {
        let shared = &self.owner.shared;
        shared.with_fresh(shared.clock.now(), f)
    }

    /// The Zuora API answered 401 to token `generation`: the next call fetches a new one.
    /// Reports from many threads about the same token cause one request; reports about an
    /// older token are ignored. Returns whether this report changed anything.
    ///
    /// With a store, the shared record is deleted too if it is that token.
    pub fn invalidate(&self, generation: Generation) -> bool {
        let shared = &self.owner.shared;
        #[cfg(feature = "store")]
        if let Some(link) = self.owner.store() {
            return crate::store::invalidate_blocking(&link, shared, generation);
        }
        shared.update(|lc, now| lc.invalidate(now, generation))
    }

    /// How many store calls have failed so far: 0 without a store.
    #[cfg(feature = "store")]
    pub fn store_failures(&self) -> u64 {
        self.owner.store().map_or(0, |link| link.failures())
    }

    /// Forgets failures and backoff, so that the next call may ask again.
    pub fn reset(&self) {
        self.owner.shared.update(|lc, _| lc.reset());
    }

    /// Switches to other credentials or another environment. A store is bound to the
    /// credentials it was built for: a reconfigured source stops using it.
    pub fn reconfigure(&self, request: TokenRequest) {
        // A store is bound to the credentials it was built for: sharing stops here.
        #[cfg(feature = "store")]
        if crate::notify::lock(&self.owner.store).take().is_some() {
            event!(
                warn,
                "token source reconfigured: it no longer shares tokens through its store"
            );
        }
        self.owner.shared.reconfigure(request);
    }

    /// Installs a token obtained elsewhere if it is good enough; see
    /// [`TokenLifecycle::adopt`].
    pub fn adopt(&self, record: &TokenRecord) -> Option<Generation> {
        let wall = self.owner.shared.clock.wall();
        self.owner
            .shared
            .update(|lc, now| lc.adopt(now, wall, record).map(|c| c.generation()))
    }

    /// Reads the lifecycle for diagnostics and metrics.
    pub fn inspect<R>(&self, f: impl FnOnce(&TokenLifecycle) -> R) -> R {
        self.owner.shared.inspect(f)
    }

    /// The time on this source's monotonic clock.
    pub fn now(&self) -> Timestamp {
        self.owner.shared.clock.now()
    }

    /// The slow path: poll the machine until it hands out a token or an error, or until
    /// the caller's own deadline `give_up_at` (real time, whatever the source's clock).
    fn slow(&self, give_up_at: Option<Instant>) -> Result<TokenHandle, TokenError> {
        let shared = &self.owner.shared;
        loop {
            let seen = shared.changed.epoch();
            let now = shared.clock.now();
            match shared.next(now) {
                Next::Use(handle) => return Ok(handle),
                Next::Fail(error) => return Err(error),
                Next::Fetch {
                    request,
                    fetch,
                    current,
                } => {
                    self.detach(request, fetch);
                    if let Some(current) = current {
                        return Ok(current);
                    }
                }
                Next::Wait { until } => {
                    let mut at_most = until.map_or(MAX_BLOCK, |t| {
                        t.saturating_duration_since(now).min(MAX_BLOCK)
                    });
                    if let Some(end) = give_up_at {
                        let left = end.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Err(gave_up());
                        }
                        at_most = at_most.min(left);
                    }
                    shared.changed.block_past(seen, at_most);
                }
            }
        }
    }

    /// Sends the request from a thread of its own (after asking the fleet, with a store);
    /// if no thread can be started, from this one. The thread holds the source's state only
    /// weakly: dropping the source frees the token at once, and the outcome of a request
    /// then in flight is discarded.
    fn detach(&self, request: http::Request<Vec<u8>>, fetch: Fetch) {
        #[cfg(feature = "tracing")]
        let span = tracing::debug_span!(target: "zuora_oauth", "zuora_token_request", request = ?fetch.id(), uri = %request.uri());
        let owner = &*self.owner;
        let (transport, limits) = (owner.transport.clone(), owner.limits);
        #[cfg(feature = "store")]
        let fleet = owner.store().map(|link| {
            let seed = owner
                .seeds
                .fetch_add(0x9e37_79b9_7f4a_7c15, std::sync::atomic::Ordering::Relaxed);
            let attempt = crate::store::attempt(&link, seed, &fetch);
            (link, attempt, owner.shared.clock.clone())
        });
        let weak = fetch.downgrade();
        let job: Box<dyn FnOnce() + Send> = Box::new(move || {
            #[cfg(feature = "tracing")]
            let _entered = span.enter();
            #[cfg(feature = "store")]
            if let Some((link, attempt, clock)) = fleet {
                crate::store::fleet_attempt_blocking(
                    &transport, limits, &link, attempt, request, weak, &clock,
                );
                return;
            }
            let result = transport.send(request, limits);
            // The source is gone: the outcome is discarded.
            if let Some(fetch) = weak.upgrade() {
                fetch.complete(result);
            }
        });
        // Whoever takes the job runs it: the new thread, or this one if none can start.
        let job = Arc::new(Mutex::new(Some(job)));
        let run = {
            let job = Arc::clone(&job);
            move || {
                let taken = lock(&job).take();
                if let Some(job) = taken {
                    job();
                }
            }
        };
        let spawned = std::thread::Builder::new()
            .name("zuora-oauth-fetch".into())
            .spawn(run.clone());
        if spawned.is_err() {
            run();
        }
    }
}

/// A caller's own deadline passed while another request was in flight.
fn gave_up() -> TokenError {
    let error = TransportError::new(
        TransportErrorKind::Timeout,
        "gave up waiting for the token request in flight (it goes on for other callers)",
    );
    TokenError::new(Error::Transport(error), Some(Duration::ZERO))
}

impl<T: BlockingTransport> fmt::Debug for TokenSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("shared", &*self.owner.shared)
            .finish_non_exhaustive()
    }
}
