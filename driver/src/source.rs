//! The async token source: one cached token shared by every task, fetched detached.

use std::fmt;
use std::sync::Arc;

use zuora_oauth_core::{
    Error, Generation, LifecycleConfig, Timestamp, TokenLifecycle, TokenRecord, TokenRequest,
};

use crate::notify::race;
use crate::runtime::with_deadline_floor;
use crate::shared::{Fetch, Next, Shared};
#[cfg(feature = "store")]
use crate::store::{StoreLink, StoreOptions, TokenStore};
use crate::{Clock, Limits, Runtime, TokenError, TokenHandle};

/// Hands out a valid Zuora token to any number of tasks, on any [`Runtime`].
///
/// - **Cached hit**: no lock, no shared counter written, no allocation
///   ([`with_cached`](Self::with_cached), and the first step of every other call).
/// - **Single flight**: however many tasks ask at once, one token request is sent.
/// - **Detached fetch**: the request runs in a task of its own. A caller that gives up (a
///   timeout, a dropped handler) ends only its own wait; the request goes on and its
///   outcome reaches every other caller.
/// - **Refresh ahead**: in the refresh window (5 minutes before expiry by default) the
///   current token keeps being handed out while the next is fetched in the background.
/// - **Failures** back off; permanent ones are not retried (see
///   [`TokenLifecycle`] for every rule).
/// - **Nothing outlives it**: when the last clone is dropped, a request in flight is
///   aborted and the token is freed.
///
/// Cloning is cheap; clones share one token. The transports provide the runtime:
/// `zuora_oauth_hyper::TokenSource` is `TokenSource<HyperTransport>`, and so on.
pub struct TokenSource<R: Runtime> {
    owner: Arc<Owner<R>>,
}

/// Owned by the clones; the detached tasks hold only the [`Shared`] state (and the runtime
/// and store, which hold no token), and stop when the owner goes.
struct Owner<R> {
    shared: Arc<Shared>,
    runtime: Arc<R>,
    limits: Limits,
    /// The shared store, until `reconfigure` (a store is bound to the credentials it was
    /// built for).
    #[cfg(feature = "store")]
    store: std::sync::Mutex<Option<Arc<StoreLink<dyn TokenStore>>>>,
    /// Seeds of the fleet attempts (lease values, poll jitter).
    #[cfg(feature = "store")]
    seeds: std::sync::atomic::AtomicU64,
}

#[cfg(feature = "store")]
impl<R> Owner<R> {
    fn store(&self) -> Option<Arc<StoreLink<dyn TokenStore>>> {
        crate::notify::lock(&self.store).clone()
    }
}

impl<R> Drop for Owner<R> {
    fn drop(&mut self) {
        self.shared.changed.close();
    }
}

impl<R: Runtime> Clone for TokenSource<R> {
    fn clone(&self) -> Self {
        Self {
            owner: Arc::clone(&self.owner),
        }
    }
}

/// Builds a [`TokenSource`] with non-default settings.
pub struct TokenSourceBuilder<R> {
    request: TokenRequest,
    config: LifecycleConfig,
    runtime: R,
    clock: Option<Clock>,
    seed: Option<u64>,
    limits: Limits,
    #[cfg(feature = "store")]
    store: Option<Arc<StoreLink<dyn TokenStore>>>,
}

impl<R: Runtime> TokenSourceBuilder<R> {
    /// Refresh, backoff, deadline and budget settings (default:
    /// [`LifecycleConfig::default`]).
    pub fn config(mut self, config: LifecycleConfig) -> Self {
        self.config = config;
        self
    }

    /// Replaces the clocks (for tests and simulations; default: the runtime's).
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

    /// Replaces the jitter seed (default: drawn from the OS by the runtime). Only tests
    /// want a fixed one.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Shares tokens with other processes through `store` (Redis, say; feature `store`): one token request
    /// per token lifetime for the whole fleet. A store failure never fails a caller: the
    /// process fetches its own token, and rejoins when the store answers again.
    #[cfg(feature = "store")]
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn store(self, store: impl TokenStore, options: StoreOptions) -> Self {
        let link: Arc<StoreLink<dyn TokenStore>> = Arc::new(StoreLink::new(store, options));
        Self {
            store: Some(link),
            ..self
        }
    }

    /// The source.
    // On wasm32 (one thread) nothing here is `Send`: the `Arc`s are shared between the
    // source and the tasks it spawns on the same event loop.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn build(self) -> TokenSource<R> {
        let seed = self.seed.unwrap_or_else(|| self.runtime.seed());
        let clock = self.clock.unwrap_or_else(|| self.runtime.clock());
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
        TokenSource {
            owner: Arc::new(Owner {
                shared: Arc::new(Shared::new(lifecycle, clock)),
                runtime: Arc::new(self.runtime),
                limits: self.limits,
                #[cfg(feature = "store")]
                store: std::sync::Mutex::new(store),
                #[cfg(feature = "store")]
                seeds: std::sync::atomic::AtomicU64::new(seed ^ 0x243f_6a88_85a3_08d3),
            }),
        }
    }
}

impl<R: Runtime + Default> TokenSource<R> {
    /// A source with the runtime's defaults.
    pub fn new(request: TokenRequest) -> Self {
        Self::builder(request).build()
    }

    /// A builder starting from the runtime's defaults.
    pub fn builder(request: TokenRequest) -> TokenSourceBuilder<R> {
        Self::builder_with(request, R::default())
    }
}

impl<R: Runtime> TokenSource<R> {
    /// A builder for a source on `runtime` (a transport with your settings).
    pub fn builder_with(request: TokenRequest, runtime: R) -> TokenSourceBuilder<R> {
        TokenSourceBuilder {
            request,
            config: LifecycleConfig::default(),
            runtime,
            clock: None,
            seed: None,
            limits: Limits::default(),
            #[cfg(feature = "store")]
            store: None,
        }
    }

    /// A valid token, fetching one if needed.
    pub async fn token(&self) -> Result<TokenHandle, TokenError> {
        match self.cached() {
            Some(handle) => Ok(handle),
            // Boxed: the slow path's state would otherwise make every future this big, to
            // be moved even on a cache hit.
            None => Box::pin(self.slow()).await,
        }
    }

    /// Calls `f` with a valid token, fetching one if needed. On a cache hit nothing is
    /// cloned and no lock is taken.
    pub async fn with_token<T>(&self, f: impl FnOnce(&TokenHandle) -> T) -> Result<T, TokenError> {
        let mut f = Some(f);
        if let Some(r) = self.with_cached(|h| (f.take().expect("called once"))(h)) {
            return Ok(r);
        }
        let handle = Box::pin(self.slow()).await?;
        Ok((f.take().expect("not called on a miss"))(&handle))
    }

    /// Sets `Authorization: Bearer …` (and `Zuora-Entity-Ids` if configured) on a Zuora API
    /// request. Returns the token's generation, to pass to
    /// [`invalidate`](Self::invalidate) if the API answers 401.
    pub async fn authorize<B>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<Generation, TokenError> {
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

    /// Calls `f` with the cached token if it is fresh: the synchronous, allocation-free hit
    /// path (no lock, no shared counter). `None`: call [`token`](Self::token).
    #[inline]
    pub fn with_cached<T>(&self, f: impl FnOnce(&TokenHandle) -> T) -> Option<T> {
        let shared = &self.owner.shared;
        shared.with_fresh(shared.clock.now(), f)
    }

    /// The Zuora API answered 401 to token `generation`: the next call fetches a new one.
    /// Reports from many tasks about the same token cause one request; reports about an
    /// older token are ignored. Returns whether this report changed anything.
    ///
    /// With a store, the shared record is deleted too if it is that token (never a newer
    /// one another process stored since), so that the whole fleet moves on.
    pub fn invalidate(&self, generation: Generation) -> bool {
        let shared = &self.owner.shared;
        #[cfg(feature = "store")]
        if let Some(link) = self.owner.store() {
            return crate::store::invalidate(&self.owner.runtime, &link, shared, generation);
        }
        shared.update(|lc, now| lc.invalidate(now, generation))
    }

    /// How many store calls have failed (or timed out) so far: 0 without a store.
    #[cfg(feature = "store")]
    pub fn store_failures(&self) -> u64 {
        self.owner.store().map_or(0, |link| link.failures())
    }

    /// Forgets failures and backoff, so that the next call may ask again (after fixing
    /// rejected credentials, say).
    pub fn reset(&self) {
        self.owner.shared.update(|lc, _| lc.reset());
    }

    /// Switches to other credentials or another environment: the current token is dropped
    /// and a request in flight is ignored. A store is bound to the credentials it was built
    /// for: a reconfigured source stops using it (it fetches its own tokens).
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

    /// Installs a token obtained elsewhere (a file, a store shared by a fleet) if it is
    /// good enough and outlives the current one; see [`TokenLifecycle::adopt`]. Returns the
    /// token now handed out, if it is that one.
    pub fn adopt(&self, record: &TokenRecord) -> Option<Generation> {
        let wall = self.owner.shared.clock.wall();
        self.owner
            .shared
            .update(|lc, now| lc.adopt(now, wall, record).map(|c| c.generation()))
    }

    /// Reads the lifecycle (the last error, the request in flight, requests in the last
    /// minute…) for diagnostics and metrics.
    pub fn inspect<T>(&self, f: impl FnOnce(&TokenLifecycle) -> T) -> T {
        self.owner.shared.inspect(f)
    }

    /// The time on this source's monotonic clock.
    pub fn now(&self) -> Timestamp {
        self.owner.shared.clock.now()
    }

    /// The slow path: poll the machine until it hands out a token or an error.
    async fn slow(&self) -> Result<TokenHandle, TokenError> {
        let Owner {
            shared, runtime, ..
        } = &*self.owner;
        runtime
            .check()
            .map_err(|e| TokenError::new(Error::Transport(e), None))?;
        loop {
            // Read before polling, so that no change in between is missed.
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
                        event!(
                            debug,
                            generation = current.generation().get(),
                            "refreshing ahead of expiry in the background"
                        );
                        return Ok(current);
                    }
                }
                Next::Wait { until } => {
                    let changed = shared.changed.changed_since(seen);
                    match until {
                        Some(t) => {
                            let sleep = runtime.sleep(t.saturating_duration_since(now));
                            race(changed, sleep).await;
                        }
                        None => changed.await,
                    }
                }
            }
        }
    }

    /// Sends the request in a task of its own, which reports the outcome, or cancels it if
    /// the source is dropped first. With a store, the task first asks the fleet (see
    /// [`zuora_oauth_core::FleetFetch`]).
    fn detach(&self, request: http::Request<Vec<u8>>, fetch: Fetch) {
        #[cfg(feature = "tracing")]
        let span = tracing::debug_span!(target: "zuora_oauth", "zuora_token_request", request = ?fetch.id(), uri = %request.uri());
        let owner = &*self.owner;
        // Lazy: nothing is sent unless the task polls it.
        let send = owner.runtime.send(request, owner.limits);
        #[cfg(feature = "store")]
        if let Some(link) = owner.store() {
            let seed = owner
                .seeds
                .fetch_add(0x9e37_79b9_7f4a_7c15, std::sync::atomic::Ordering::Relaxed);
            let task =
                crate::store::fleet_attempt(Arc::clone(&owner.runtime), link, send, fetch, seed);
            #[cfg(feature = "tracing")]
            let task = tracing::Instrument::instrument(task, span);
            owner.runtime.spawn(Box::pin(task));
            return;
        }
        let task = async move {
            let shared = Arc::clone(fetch.shared());
            let Some(result) = race(send, shared.changed.closed()).await else {
                event!(debug, "token source dropped; request aborted");
                return;
            };
            drop(fetch.complete(result));
        };
        #[cfg(feature = "tracing")]
        let task = tracing::Instrument::instrument(task, span);
        owner.runtime.spawn(Box::pin(task));
    }
}

impl<R: Runtime> fmt::Debug for TokenSource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("shared", &*self.owner.shared)
            .finish_non_exhaustive()
    }
}
