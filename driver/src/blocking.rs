//! The blocking token source: one cached token shared by every thread.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zuora_oauth_core::{
    Error, FleetFetch, Generation, LifecycleConfig, Timestamp, TokenLifecycle, TokenRecord,
    TokenRequest, TransportError, TransportErrorKind,
};

use crate::notify::lock;
use crate::runtime::with_deadline_floor;
use crate::shared::{Fetch, Next, Shared, WeakFetch};
use crate::store::{BlockingTokenStore, Step, StoreError, StoreLink, StoreOptions};
use crate::{BlockingTransport, Clock, TokenError, TokenHandle};

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
    store: Option<Arc<StoreLink<dyn BlockingTokenStore>>>,
    /// Seeds of the fleet attempts (lease values, poll jitter).
    seeds: AtomicU64,
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

    /// Replaces the jitter seed (default: drawn from the OS). Only tests want a fixed one.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Shares tokens with other processes through `store`; see
    /// [`crate::TokenSourceBuilder::store`]. The store's own timeout bounds each call.
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
        let config = with_deadline_floor(self.config, self.transport.request_timeout());
        let lifecycle = TokenLifecycle::new(self.request, config, seed);
        let clock = self.clock.unwrap_or_else(Clock::system);
        TokenSource {
            owner: Arc::new(Owner {
                shared: Arc::new(Shared::new(lifecycle, clock)),
                transport: self.transport,
                store: self.store,
                seeds: AtomicU64::new(seed ^ 0x243f_6a88_85a3_08d3),
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
        let Owner { shared, store, .. } = &*self.owner;
        let (changed, reported) = shared.update(|lc, now| {
            let reported = store
                .as_ref()
                .and(lc.token(now))
                .filter(|c| c.generation() == generation)
                .map(|c| c.record());
            (lc.invalidate(now, generation), reported)
        });
        if let (true, Some(link), Some(reported)) = (changed, store, reported)
            && let Err(e) = link.store.invalidate(&reported)
        {
            link.failed(shared.clock.now(), "invalidate", &e);
        }
        changed
    }

    /// How many store calls have failed so far: 0 without a store.
    pub fn store_failures(&self) -> u64 {
        self.owner.store.as_ref().map_or(0, |link| link.failures())
    }

    /// Forgets failures and backoff, so that the next call may ask again.
    pub fn reset(&self) {
        self.owner.shared.update(|lc, _| lc.reset());
    }

    /// Switches to other credentials or another environment.
    pub fn reconfigure(&self, request: TokenRequest) {
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
        let fleet = owner.store.as_ref().map(|link| {
            let seed = owner
                .seeds
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
            let current = fetch.current_record();
            let config = link.options.fleet_config().clone();
            (Arc::clone(link), FleetFetch::new(config, seed, current))
        });
        let clock = owner.shared.clock.clone();
        let job = Arc::new(Mutex::new(Some((request, fetch.downgrade(), fleet))));
        let run = {
            let (job, transport) = (Arc::clone(&job), owner.transport.clone());
            move || {
                #[cfg(feature = "tracing")]
                let _entered = span.enter();
                let taken = lock(&job).take();
                match taken {
                    Some((request, weak, None)) => {
                        let result = transport.send(request);
                        // The source is gone: the outcome is discarded.
                        if let Some(fetch) = weak.upgrade() {
                            fetch.complete(result);
                        }
                    }
                    Some((request, weak, Some((link, attempt)))) => {
                        fleet_attempt(&transport, &link, attempt, request, weak, &clock);
                    }
                    None => {}
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

/// One fleet attempt (see [`FleetFetch`]) on the fetching thread. Stops if the source is
/// dropped before a token was found; the store calls after it (save, release) still run.
fn fleet_attempt<T: BlockingTransport>(
    transport: &T,
    link: &StoreLink<dyn BlockingTokenStore>,
    mut attempt: FleetFetch,
    request: http::Request<Vec<u8>>,
    fetch: WeakFetch,
    clock: &Clock,
) {
    let (mut request, mut fetch) = (Some(request), Some(fetch));
    let store = &link.store;
    loop {
        if fetch.as_ref().is_some_and(|f| !f.is_alive()) {
            return;
        }
        let (now, wall) = (clock.now(), clock.wall());
        let failed = |what, e: &StoreError| link.failed(now, what, e);
        match Step::from(attempt.poll(now)) {
            Step::Load => {
                let loaded = store.load().inspect_err(|e| failed("load", e));
                attempt.loaded(now, wall, loaded);
            }
            Step::TryLease(lease, ttl) => {
                let taken = store
                    .try_lease(lease, ttl)
                    .inspect_err(|e| failed("try_lease", e));
                attempt.leased(now, taken);
            }
            Step::Sleep(until) => std::thread::sleep(until.saturating_duration_since(now)),
            Step::Adopt(record) => {
                if let Some(done) = fetch.take().and_then(WeakFetch::upgrade) {
                    done.adopt(&record);
                }
            }
            Step::Fetch => {
                let result = request.take().map(|r| transport.send(r));
                let record = match (result, fetch.take().and_then(WeakFetch::upgrade)) {
                    (Some(result), Some(done)) => done.complete(result),
                    _ => None,
                };
                attempt.fetched(record);
            }
            Step::Save(record) => {
                let ttl = record.remaining(wall);
                let saved = store.save(&record, ttl).inspect_err(|e| failed("save", e));
                attempt.saved(saved);
            }
            Step::Release(lease) => {
                let released = store.release(lease).inspect_err(|e| failed("release", e));
                attempt.released(released);
            }
            Step::Done => return,
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
