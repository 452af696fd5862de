//! The one implementation of a token source: its state, its rules, and everything that does
//! not wait. The async [`TokenSource`](crate::TokenSource) and the
//! [`BlockingTokenSource`](crate::BlockingTokenSource) are fronts over it that differ only in
//! how a caller waits ([`fronts`](crate::fronts)).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use zuora_oauth_core::{Generation, LifecycleConfig, TokenHandle, TokenLifecycle, TokenRequest};

use crate::credentials::Credentials;
use crate::notify::{lock, race};
use crate::runtime::Runtime;
#[cfg(not(target_arch = "wasm32"))]
use crate::secret::{RECHECK_EVERY, SecretSource};
use crate::state::{Fetch, Next, Shared};
#[cfg(store)]
use crate::store::bound::BoundStore;
#[cfg(store)]
use crate::store::{StoreOptions, TokenStore};
use crate::transport::{Limits, Transport, TransportResult};
use crate::{BoxFuture, Clock, Status, TokenError, TokenStatus};
#[cfg(store)]
use zuora_oauth_core::TokenRecord;

/// How much longer than the exchange's timeout the lifecycle waits for an outcome before it
/// counts the request as lost: the request deadline is always the timeout plus this.
pub(crate) const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// Default bound of every store call.
#[cfg(store)]
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(200);

/// How a source sends its token requests.
#[derive(Clone)]
pub(crate) enum Sender {
    Async(Arc<dyn Transport>),
    #[cfg(not(target_arch = "wasm32"))]
    Blocking(Arc<dyn crate::BlockingTransport>),
}

impl Sender {
    /// The exchange, lazily: nothing is sent until the future is polled.
    fn send(
        &self,
        #[cfg_attr(target_arch = "wasm32", allow(unused_variables))] runtime: &Arc<dyn Runtime>,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        match self {
            Self::Async(transport) => transport.send(request, limits),
            #[cfg(not(target_arch = "wasm32"))]
            Self::Blocking(transport) => {
                crate::runtime::blocking_send(runtime, transport, request, limits)
            }
        }
    }
}

/// Everything a builder collects, whichever front it builds.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) request: TokenRequest,
    pub(crate) config: LifecycleConfig,
    pub(crate) limits: Limits,
    pub(crate) clock: Option<Clock>,
    pub(crate) seed: Option<u64>,
    #[cfg(store)]
    pub(crate) store: Option<(Arc<dyn TokenStore>, StoreOptions)>,
    #[cfg(store)]
    pub(crate) store_timeout: Duration,
    /// Where the client secret is read again before each token request.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) secret: Option<Arc<SecretSource>>,
}

impl Settings {
    pub(crate) fn new(request: TokenRequest) -> Self {
        Self {
            request,
            config: LifecycleConfig::default(),
            limits: Limits::default(),
            clock: None,
            seed: None,
            #[cfg(store)]
            store: None,
            #[cfg(store)]
            store_timeout: DEFAULT_STORE_TIMEOUT,
            #[cfg(not(target_arch = "wasm32"))]
            secret: None,
        }
    }

    /// The source, on `runtime`, sending with `sender`.
    // On wasm32 (one thread) nothing here is `Send`: the `Arc`s are shared between the
    // source and the tasks it spawns on the same event loop.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub(crate) fn build(self, runtime: Arc<dyn Runtime>, sender: Sender) -> Source {
        let seed = self.seed.unwrap_or_else(|| runtime.seed());
        let clock = self.clock.unwrap_or_else(|| runtime.clock());
        // The request deadline is derived from the exchange's timeout, never set apart: the
        // fetch may take the timeout and a margin; through a fleet, the request also waits
        // for another process's lease first (`FleetConfig::request_deadline`).
        let fetch_deadline = self.limits.timeout().saturating_add(DEADLINE_MARGIN);
        #[cfg(store)]
        let store = self.store.map(|(store, options)| {
            let fleet = options.fleet().clone().with_fetch_deadline(fetch_deadline);
            let options = options.with_fleet(fleet);
            Arc::new(BoundStore::new(
                store,
                &self.request,
                options,
                self.store_timeout,
            ))
        });
        #[cfg(store)]
        let deadline = store
            .as_ref()
            .map_or(fetch_deadline, |s| s.options.fleet().request_deadline());
        #[cfg(not(store))]
        let deadline = fetch_deadline;
        let config = self.config.with_request_deadline(deadline);
        let lifecycle = TokenLifecycle::new(self.request, config, seed);
        Source {
            owner: Arc::new(Owner {
                shared: Arc::new(Shared::new(lifecycle, clock)),
                runtime,
                sender,
                limits: self.limits,
                #[cfg(store)]
                store: Mutex::new(store),
                #[cfg(store)]
                seeds: std::sync::atomic::AtomicU64::new(seed ^ 0x243f_6a88_85a3_08d3),
                reconfiguring: Mutex::new(()),
                #[cfg(not(target_arch = "wasm32"))]
                secret: self.secret,
            }),
        }
    }
}

/// The source every front holds. Cloning is cheap; clones share one token.
#[derive(Clone)]
pub(crate) struct Source {
    owner: Arc<Owner>,
}

/// Owned by the clones; the detached tasks hold only weak references to the state (and the
/// runtime, transport and store, which hold no token), and stop when the owner goes.
struct Owner {
    shared: Arc<Shared>,
    runtime: Arc<dyn Runtime>,
    sender: Sender,
    limits: Limits,
    /// The shared store, bound to the current credentials.
    #[cfg(store)]
    store: Mutex<Option<Arc<BoundStore>>>,
    /// Seeds of the fleet attempts (lease values, poll jitter).
    #[cfg(store)]
    seeds: std::sync::atomic::AtomicU64,
    /// Held while the request is replaced (`reconfigure`, a secret read again), so that a
    /// comparison with the current request and the change are one step.
    reconfiguring: Mutex<()>,
    /// Where the client secret is read again, if anywhere.
    #[cfg(not(target_arch = "wasm32"))]
    secret: Option<Arc<SecretSource>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        // No copy of the token is handed out once the source is gone.
        self.shared.unpublish();
        self.shared.changed.close();
    }
}

/// One step of a caller's slow path.
enum Step {
    /// The answer.
    Done(Result<TokenHandle, TokenError>),
    /// Look again at once (a request was just started).
    Again,
    /// Wait until the epoch moves past `seen`, or for `at_most`.
    Wait {
        seen: u64,
        at_most: Option<Duration>,
    },
}

impl Source {
    /// The published token if it is fresh: no lock, no shared counter written but the
    /// token's, no allocation.
    #[inline]
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn fresh(&self) -> Option<TokenHandle> {
        self.owner.shared.fresh()
    }

    /// What a request needs to carry a valid token: from the published bearer value if it
    /// is fresh (no lock, nothing shared written), else from the slow path's token.
    pub(crate) async fn credentials(&self) -> Result<Credentials, TokenError> {
        if let Some(credentials) = self
            .owner
            .shared
            .fresh_bearer()
            .and_then(|copy| Credentials::from_copy(&copy))
        {
            return Ok(credentials);
        }
        let handle = Box::pin(self.slow()).await?;
        Ok(Credentials::from_handle(&handle))
    }

    /// Whether the published bearer value is fresh (the hit path's read, for benchmarks).
    #[inline]
    pub(crate) fn bearer_is_fresh(&self) -> bool {
        self.owner.shared.fresh_bearer().is_some()
    }

    /// [`credentials`](Self::credentials) on the hit path only.
    #[inline]
    pub(crate) fn fresh_credentials(&self) -> Option<Credentials> {
        let copy = self.owner.shared.fresh_bearer()?;
        Credentials::from_copy(&copy)
    }

    /// A valid token, fetching one if needed: the published token if it is fresh (no lock,
    /// no allocation), else the slow path.
    pub(crate) async fn token(&self) -> Result<TokenHandle, TokenError> {
        match self.owner.shared.fresh() {
            Some(handle) => Ok(handle),
            // Boxed: the slow path's state would otherwise make every future this big, to
            // be moved even on a cache hit.
            None => Box::pin(self.slow()).await,
        }
    }

    /// The slow path: run the machine until it hands out a token or an error, waiting for
    /// news (or the machine's next wake-up) in between.
    async fn slow(&self) -> Result<TokenHandle, TokenError> {
        self.owner.runtime.check().map_err(TokenError::no_runtime)?;
        let changed = &self.owner.shared.changed;
        loop {
            match self.step() {
                Step::Done(result) => return result,
                Step::Again => {}
                Step::Wait { seen, at_most } => {
                    let news = changed.changed_since(seen);
                    match at_most {
                        Some(d) => drop(race(news, self.owner.runtime.sleep(d)).await),
                        None => news.await,
                    }
                }
            }
        }
    }

    /// The state every clone shares (for the crate's tests).
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Shared {
        &self.owner.shared
    }

    /// A future that completes after `duration`, on the source's runtime.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.owner.runtime.sleep(duration)
    }

    /// Runs the machine once for a caller that has no fresh token.
    fn step(&self) -> Step {
        let shared = &self.owner.shared;
        // Read before polling, so that no change in between is missed.
        let seen = shared.changed.epoch();
        let now = shared.clock.now();
        match shared.next(now) {
            Next::Use(handle) => Step::Done(Ok(handle)),
            Next::Fail(error) => Step::Done(Err(error)),
            Next::Fetch {
                request,
                fetch,
                current,
            } => {
                self.detach(request, fetch);
                match current {
                    Some(current) => {
                        event!(
                            debug,
                            generation = current.generation().get(),
                            "refreshing ahead of expiry in the background"
                        );
                        Step::Done(Ok(current))
                    }
                    None => Step::Again,
                }
            }
            Next::Wait { until } => Step::Wait {
                seen,
                at_most: until.map(|t| t.saturating_duration_since(now)),
            },
        }
    }

    /// Sends the request in a task of its own, which reports the outcome, or cancels it if
    /// the source is dropped first. With a store, the task first asks the fleet (see
    /// [`zuora_oauth_core::FleetFetch`]). With a secret to read again, the task reads it
    /// first (and fetches with the new one if it changed), and reads it again while Zuora
    /// rejects it ([`read_then_fetch`]).
    fn detach(&self, request: http::Request<Vec<u8>>, fetch: Fetch) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(secret) = &self.owner.secret {
            let task = read_then_fetch(
                Arc::downgrade(&self.owner),
                Arc::clone(secret),
                Arc::clone(&self.owner.runtime),
                request,
                fetch,
            );
            self.owner.runtime.spawn(Box::pin(task));
            return;
        }
        self.owner.runtime.spawn(self.fetch_task(request, fetch));
    }

    /// The exchange of `request`, reported with `fetch`, as a task that holds the source's
    /// state only weakly (see [`detach`](Self::detach)).
    fn fetch_task(&self, request: http::Request<Vec<u8>>, fetch: Fetch) -> BoxFuture<'static, ()> {
        #[cfg(feature = "tracing")]
        let span = tracing::debug_span!(target: "zuora_oauth", "zuora_token_request", request = ?fetch.id(), uri = %request.uri());
        let owner = &*self.owner;
        let send = owner.sender.send(&owner.runtime, request, owner.limits);
        let send = crate::metrics::timed(fetch.labels(), &owner.shared.clock, send);
        let changed = Arc::clone(&owner.shared.changed);
        #[cfg(store)]
        if let Some(store) = lock(&owner.store).clone() {
            let seed = owner
                .seeds
                .fetch_add(0x9e37_79b9_7f4a_7c15, std::sync::atomic::Ordering::Relaxed);
            let (runtime, clock) = (Arc::clone(&owner.runtime), owner.shared.clock.clone());
            let task = async move {
                let parts = crate::store::fleet::FleetParts {
                    runtime: &*runtime,
                    store: &store,
                    changed: &changed,
                    clock: &clock,
                };
                crate::store::fleet::run(parts, send, fetch, seed).await;
            };
            #[cfg(feature = "tracing")]
            let task = tracing::Instrument::instrument(task, span);
            return Box::pin(task);
        }
        let task = async move {
            let Some(result) = race(send, changed.closed()).await else {
                event!(debug, "token source dropped; request aborted");
                return;
            };
            drop(fetch.complete(result));
        };
        #[cfg(feature = "tracing")]
        let task = tracing::Instrument::instrument(task, span);
        Box::pin(task)
    }

    /// The source, if a clone of it is still held.
    #[cfg(not(target_arch = "wasm32"))]
    fn upgrade(owner: &std::sync::Weak<Owner>) -> Option<Self> {
        owner.upgrade().map(|owner| Self { owner })
    }

    /// The fetch the machine asks for now, if it asks for one, as a task.
    #[cfg(not(target_arch = "wasm32"))]
    fn next_fetch(&self) -> Option<BoxFuture<'static, ()>> {
        let shared = &self.owner.shared;
        match shared.next(shared.clock.now()) {
            Next::Fetch { request, fetch, .. } => Some(self.fetch_task(request, fetch)),
            Next::Use(_) | Next::Wait { .. } | Next::Fail(_) => None,
        }
    }

    /// Switches to `secret` if it is not the current request's: the rotation of
    /// [`reconfigure`](Self::reconfigure). Returns whether it did.
    #[cfg(not(target_arch = "wasm32"))]
    fn rotate_secret(&self, secret: zuora_oauth_core::ClientSecret) -> bool {
        let _one_at_a_time = lock(&self.owner.reconfiguring);
        let request = self.owner.shared.read(|lc| lc.request().clone());
        if request.client_secret().expose_secret() == secret.expose_secret() {
            return false;
        }
        event!(
            info,
            "the client secret read again has changed: fetching with the new one"
        );
        self.reconfigure_locked(request.with_client_secret(secret));
        true
    }

    /// See [`TokenSource::invalidate`](crate::TokenSource::invalidate).
    pub(crate) fn invalidate(&self, generation: Generation) -> bool {
        let shared = &self.owner.shared;
        let (changed, reported) = shared.update(|lc, now| {
            let reported = lc
                .token(now)
                .filter(|c| c.generation() == generation)
                .map(|c| c.record());
            let changed = lc.invalidate(now, generation);
            if changed {
                crate::metrics::invalidated(lc.request());
            }
            (changed, reported)
        });
        #[cfg(store)]
        if let (true, Some(reported), Some(store)) =
            (changed, reported, lock(&self.owner.store).clone())
        {
            self.forget_shared(store, reported);
        }
        #[cfg(not(store))]
        let _ = reported;
        changed
    }

    /// Deletes the shared record of an invalidated token, in a task (never a newer one
    /// another process stored since).
    #[cfg(store)]
    fn forget_shared(&self, store: Arc<BoundStore>, reported: TokenRecord) {
        let (runtime, clock) = (
            Arc::clone(&self.owner.runtime),
            self.owner.shared.clock.clone(),
        );
        let task = async move {
            let deleted = store.invalidate(&*runtime, clock.now(), &reported).await;
            event!(debug, deleted = ?deleted.ok(), "invalidated token reported to the shared store");
            let _ = deleted;
        };
        self.owner.runtime.spawn(Box::pin(task));
    }

    /// See [`TokenSource::reset`](crate::TokenSource::reset).
    pub(crate) fn reset(&self) {
        self.owner.shared.update(|lc, _| lc.reset());
    }

    /// See [`TokenSource::reconfigure`](crate::TokenSource::reconfigure).
    pub(crate) fn reconfigure(&self, request: TokenRequest) {
        let _one_at_a_time = lock(&self.owner.reconfiguring);
        self.reconfigure_locked(request);
    }

    /// [`reconfigure`](Self::reconfigure), under its lock. The store moves first (its
    /// lock held throughout), so that no fetch with the new credentials is saved under the
    /// old key: a fetch started before the machine moves is superseded, and its outcome,
    /// ignored, is never saved.
    fn reconfigure_locked(&self, request: TokenRequest) {
        #[cfg(store)]
        let mut store = lock(&self.owner.store);
        #[cfg(store)]
        if let Some(bound) = store.as_ref() {
            *store = Some(Arc::new(bound.rebind(&request)));
        }
        self.owner.shared.reconfigure(request);
    }

    /// How many times the source moved to another environment (see
    /// [`Shared::moves`](crate::state::Shared::moves)).
    #[inline]
    pub(crate) fn moves(&self) -> u64 {
        self.owner.shared.moves()
    }

    /// See [`TokenSource::status`](crate::TokenSource::status).
    pub(crate) fn status(&self) -> Status {
        let shared = &self.owner.shared;
        let now = shared.clock.now();
        #[cfg(store)]
        let store_failures = lock(&self.owner.store).as_ref().map_or(0, |s| s.failures());
        #[cfg(not(store))]
        let store_failures = 0;
        shared.read(|lc| {
            let token = lc.token(now).map(|t| TokenStatus {
                generation: t.generation(),
                usable_for: t.usable_until().saturating_duration_since(now),
                expires_in: t.expires_at().saturating_duration_since(now),
                refresh_in: t.refresh_at().saturating_duration_since(now),
            });
            let fetching = lc.in_flight().is_some();
            let last_error = lc.last_error().cloned();
            // After a failure, or while Zuora's wait keeps a source without a token from
            // asking: when the next request may go.
            let held_back = token.is_none() && lc.next_wakeup().is_some_and(|at| at > now);
            let next_attempt_in = match (
                last_error.is_some() || held_back,
                fetching,
                lc.next_wakeup(),
            ) {
                (true, false, Some(at)) => Some(at.saturating_duration_since(now)),
                _ => None,
            };
            Status {
                token,
                fetching,
                last_error,
                next_attempt_in,
                requests_last_minute: lc.requests_last_minute(now),
                store_failures,
                rotation: lc.rotation(),
            }
        })
    }

    /// The labels of the current request's metrics.
    #[cfg(feature = "metrics")]
    pub(crate) fn labels(&self) -> crate::metrics::Labels {
        self.owner
            .shared
            .read(|lc| crate::metrics::Labels::of(lc.request()))
    }

    /// How many clones of this source exist (a keyed set evicts only the sources it alone
    /// holds: see [`crate::sources`]).
    pub(crate) fn holders(&self) -> usize {
        Arc::strong_count(&self.owner)
    }

    /// Whether a request to this origin and path goes to the token's environment.
    pub(crate) fn covers(&self, target: &zuora_oauth_core::Destination<'_>) -> bool {
        self.owner.shared.covers(target)
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.owner.shared, f)
    }
}

/// The fetch task of a source whose secret can be read again: reads it (off the executor),
/// switches to it if it changed (the request it was given is then superseded: the machine
/// asks for another, with the new secret), fetches, and then, if Zuora rejected the secret,
/// reads it again at once and every [`RECHECK_EVERY`] while the rejection stands, fetching
/// once with each new secret found. It holds the source only weakly between steps, and ends
/// when the source is dropped.
#[cfg(not(target_arch = "wasm32"))]
async fn read_then_fetch(
    owner: std::sync::Weak<Owner>,
    secret: Arc<SecretSource>,
    runtime: Arc<dyn Runtime>,
    request: http::Request<Vec<u8>>,
    fetch: Fetch,
) {
    let read = {
        let secret = Arc::clone(&secret);
        crate::runtime::run_blocking(&*runtime, move || secret.read()).await
    };
    let task = {
        let Some(source) = Source::upgrade(&owner) else {
            return;
        };
        if read.flatten().is_some_and(|new| source.rotate_secret(new)) {
            // The request given was superseded by the switch: ask for the new one.
            drop(fetch);
            match source.next_fetch() {
                Some(task) => task,
                None => return,
            }
        } else {
            source.fetch_task(request, fetch)
        }
    };
    task.await;
    watch_rejection(owner, secret, runtime).await;
}

/// While Zuora rejects the secret (and no request is in flight), reads it again at once
/// and every [`RECHECK_EVERY`]; a new one is fetched with at once. One watcher per source.
#[cfg(not(target_arch = "wasm32"))]
async fn watch_rejection(
    owner: std::sync::Weak<Owner>,
    secret: Arc<SecretSource>,
    runtime: Arc<dyn Runtime>,
) {
    let changed = {
        let Some(source) = Source::upgrade(&owner) else {
            return;
        };
        if !source.owner.shared.rejected() || !secret.start_watch() {
            return;
        }
        event!(
            info,
            every_s = RECHECK_EVERY.as_secs(),
            "Zuora rejected the client secret: reading it again until it changes"
        );
        Arc::clone(&source.owner.shared.changed)
    };
    loop {
        let read = {
            let secret = Arc::clone(&secret);
            crate::runtime::run_blocking(&*runtime, move || secret.read()).await
        };
        let retry = {
            let Some(source) = Source::upgrade(&owner) else {
                break;
            };
            if !source.owner.shared.rejected() {
                break;
            }
            if read.flatten().is_some_and(|new| source.rotate_secret(new)) {
                source.next_fetch()
            } else {
                None
            }
        };
        if let Some(retry) = retry {
            retry.await;
        }
        let still = Source::upgrade(&owner).is_some_and(|s| s.owner.shared.rejected());
        if !still
            || race(runtime.sleep(RECHECK_EVERY), changed.closed())
                .await
                .is_none()
        {
            break;
        }
    }
    secret.end_watch();
}
