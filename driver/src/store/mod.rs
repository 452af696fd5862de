//! Sharing one token between processes: the store trait, and the fleet attempt that the
//! detached fetch runs when a source has a store.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zuora_oauth_core::{
    FleetAction, FleetConfig, FleetFetch, Generation, LeaseId, LifecycleConfig, Timestamp,
    TokenRecord,
};

#[cfg(not(target_arch = "wasm32"))]
use crate::Clock;
use crate::notify::{lock, race};
#[cfg(not(target_arch = "wasm32"))]
use crate::shared::WeakFetch;
use crate::shared::{Fetch, Shared};
use crate::{BoxFuture, MaybeSend, Runtime, TransportResult};

/// Why a store call failed. It never holds a secret (stores report connection and protocol
/// errors, never a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    detail: String,
}

/// The kinds of store failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store could not be reached (refused, reset, DNS, TLS, authentication).
    Unavailable,
    /// The call took longer than the store timeout.
    Timeout,
    /// Anything else (a protocol error, a full store…).
    Other,
}

impl StoreError {
    /// A failure of `kind`; `detail` says what happened (never a record or a secret).
    pub fn new(kind: StoreErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// What kind of failure.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// What happened.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Timeout => "timed out",
            StoreErrorKind::Other => "failed",
        };
        write!(f, "the shared token store {kind}")?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for StoreError {}

/// A store shared by the processes of a fleet, holding one token record for one token
/// request (its key is bound when the store is made), and that record's fetch lease.
///
/// Implementations keep the record unreadable to the store itself (the Redis store encrypts
/// it under a key derived from the client secret) and treat a record they cannot read as a
/// miss. The driver bounds every call with a timeout; a failed call never fails a caller
/// (the process fetches its own token instead).
pub trait TokenStore: MaybeSend + 'static {
    /// The shared record; `None` if there is none or it cannot be read.
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenRecord>, StoreError>>;

    /// Takes the fetch lease with value `lease` for `ttl` if nobody holds it
    /// (`SET lease NX PX ttl`); `Ok(false)` if another process does. `Ok(true)` too if the
    /// lease already holds `lease`: a command asked again after its answer was lost must
    /// not make the process wait for its own lease.
    fn try_lease(&self, lease: LeaseId, ttl: Duration) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Stores `record` for `ttl` (its remaining lifetime).
    fn save<'a>(
        &'a self,
        record: &'a TokenRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Releases the lease if it still holds `lease` (compare and delete).
    fn release(&self, lease: LeaseId) -> BoxFuture<'_, Result<(), StoreError>>;

    /// The API answered 401 to `reported`: deletes the shared record if it is that token
    /// ([`zuora_oauth_core::may_delete`]), atomically (compare and delete). Returns whether
    /// it deleted one.
    fn invalidate<'a>(
        &'a self,
        reported: &'a TokenRecord,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
}

/// The blocking form of [`TokenStore`], for the blocking token source and the CLI. Each
/// call must return within the store's own timeout.
#[cfg(not(target_arch = "wasm32"))]
pub trait BlockingTokenStore: Send + Sync + 'static {
    /// See [`TokenStore::load`].
    fn load(&self) -> Result<Option<TokenRecord>, StoreError>;
    /// See [`TokenStore::try_lease`].
    fn try_lease(&self, lease: LeaseId, ttl: Duration) -> Result<bool, StoreError>;
    /// See [`TokenStore::save`].
    fn save(&self, record: &TokenRecord, ttl: Duration) -> Result<(), StoreError>;
    /// See [`TokenStore::release`].
    fn release(&self, lease: LeaseId) -> Result<(), StoreError>;
    /// See [`TokenStore::invalidate`].
    fn invalidate(&self, reported: &TokenRecord) -> Result<bool, StoreError>;
}

/// How a token source uses its store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    fleet: FleetConfig,
    timeout: Duration,
    warn_every: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            fleet: FleetConfig::default(),
            timeout: Duration::from_millis(200),
            warn_every: Duration::from_secs(60),
        }
    }
}

impl StoreOptions {
    /// The fleet's rules: when a shared record is good enough, the lease, the polls. The
    /// source fits them to its lifecycle when it is built: the lease lasts as long as a
    /// token request may (the request deadline plus 5 s: 40 s with the default 30 s
    /// timeout), and the request deadline grows to cover the wait for another process's
    /// lease before the fetch ([`FleetConfig::request_deadline`]: 120.25 s by default), so
    /// that a slow Zuora costs one request for the fleet and no answer is thrown away.
    pub fn fleet(mut self, fleet: FleetConfig) -> Self {
        self.fleet = fleet;
        self
    }

    /// The most any one store call may take (default 200 ms); past it, the call counts as
    /// a failure and the process fetches its own token.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Store failures are logged (`tracing`, WARN) at most once per this interval (default
    /// 60 s), with the number of failures since the last warning.
    pub fn warn_every(mut self, interval: Duration) -> Self {
        self.warn_every = interval;
        self
    }

    /// The fleet's rules.
    pub fn fleet_config(&self) -> &FleetConfig {
        &self.fleet
    }

    /// See [`StoreOptions::timeout`].
    pub fn call_timeout(&self) -> Duration {
        self.timeout
    }
}

/// A store with its options and its health: failures counted, warnings rate-limited.
pub(crate) struct StoreLink<S: ?Sized> {
    pub(crate) options: StoreOptions,
    health: Mutex<Health>,
    pub(crate) store: S,
}

#[derive(Default)]
struct Health {
    failures: u64,
    last_warning: Option<Timestamp>,
    unreported: u64,
}

impl<S> StoreLink<S> {
    pub(crate) fn new(store: S, options: StoreOptions) -> Self {
        Self {
            options,
            health: Mutex::default(),
            store,
        }
    }
}

impl<S: ?Sized> StoreLink<S> {
    /// Counts a failed call at `now`, and warns if the last warning is old enough.
    pub(crate) fn failed(&self, now: Timestamp, what: &'static str, error: &StoreError) {
        let mut h = lock(&self.health);
        h.failures += 1;
        h.unreported += 1;
        let due = h
            .last_warning
            .is_none_or(|last| now.saturating_duration_since(last) >= self.options.warn_every);
        if due {
            event!(
                warn,
                call = what,
                failures = h.unreported,
                error = %error,
                "shared token store failed; fetching tokens locally until it answers"
            );
            #[cfg(not(feature = "tracing"))]
            let _ = (what, error);
            h.last_warning = Some(now);
            h.unreported = 0;
        }
    }

    /// Store calls that failed so far.
    pub(crate) fn failures(&self) -> u64 {
        lock(&self.health).failures
    }
}

/// Fits the store's fleet rules and the lifecycle's `config` (its request deadline already
/// above the transport timeout) to each other, once, when the source is built: the lease
/// lasts as long as the lifecycle lets a request run
/// ([`FleetConfig::with_fetch_deadline`]), and the lifecycle's deadline covers the fleet's
/// wait for another process's lease before the fetch ([`FleetConfig::request_deadline`]),
/// so that a token fetched after that wait is never thrown away.
pub(crate) fn fit<S: ?Sized>(
    link: &mut Arc<StoreLink<S>>,
    config: LifecycleConfig,
) -> LifecycleConfig {
    let fleet = link
        .options
        .fleet
        .clone()
        .with_fetch_deadline(config.request_deadline());
    let deadline = fleet.request_deadline();
    // The builder's own link: nothing else holds it yet.
    match Arc::get_mut(link) {
        Some(link) => {
            link.options.fleet = fleet;
            config.with_request_deadline(deadline)
        }
        None => config,
    }
}

/// Says what became of the lease that an attempt held when a store call failed (its
/// release was best effort).
fn lease_after_failure<S: ?Sized>(link: &StoreLink<S>, error: Option<&StoreError>) {
    let _lease_ttl_s = link.options.fleet_config().lease_ttl().as_secs();
    if let Some(_e) = error {
        event!(
            warn,
            error = %_e,
            lease_ttl_s = _lease_ttl_s,
            "the shared token store failed while this process held the fetch lease, and the lease could not be released: other processes wait for it to expire"
        );
    } else {
        event!(
            warn,
            "the shared token store failed while this process held the fetch lease; the lease was released"
        );
    }
}

/// A [`FleetAction`] with its record owned, so that the attempt can be reported to while
/// the action is carried out.
pub(crate) enum Step {
    Load,
    TryLease(LeaseId, Duration),
    Sleep(Timestamp),
    Adopt(TokenRecord),
    Fetch,
    Save(TokenRecord),
    Release(LeaseId),
    Done,
}

impl From<FleetAction<'_>> for Step {
    fn from(action: FleetAction<'_>) -> Self {
        match action {
            FleetAction::Load => Self::Load,
            FleetAction::TryLease { lease, ttl } => Self::TryLease(lease, ttl),
            FleetAction::Sleep { until } => Self::Sleep(until),
            FleetAction::Adopt(record) => Self::Adopt(record.clone()),
            FleetAction::Fetch => Self::Fetch,
            FleetAction::Save(record) => Self::Save(record.clone()),
            FleetAction::Release { lease } => Self::Release(lease),
            FleetAction::Done => Self::Done,
        }
    }
}

/// One fleet attempt (see [`FleetFetch`]): the shared record, the lease, or a fetch of our
/// own; every store call bounded by the store timeout. Ends early if the source is dropped.
pub(crate) async fn fleet_attempt<R: Runtime>(
    runtime: Arc<R>,
    link: Arc<StoreLink<dyn TokenStore>>,
    send: BoxFuture<'static, TransportResult>,
    fetch: Fetch,
    seed: u64,
) {
    let shared = Arc::clone(fetch.shared());
    let mut attempt = attempt(&link, seed, &fetch);
    let (mut send, mut fetch) = (Some(send), Some(fetch));
    let store = &link.store;
    loop {
        if shared.changed.is_closed() {
            return; // dropping `fetch` cancels the request
        }
        let now = shared.clock.now();
        match Step::from(attempt.poll(now)) {
            Step::Load => {
                let loaded = call(&*runtime, &link, &shared, "load", store.load()).await;
                attempt.loaded(shared.clock.now(), shared.clock.wall(), loaded);
            }
            Step::TryLease(lease, ttl) => {
                let taken = call(
                    &*runtime,
                    &link,
                    &shared,
                    "try_lease",
                    store.try_lease(lease, ttl),
                )
                .await;
                attempt.leased(shared.clock.now(), taken);
            }
            Step::Sleep(until) => {
                let sleep = runtime.sleep(until.saturating_duration_since(now));
                if race(sleep, shared.changed.closed()).await.is_none() {
                    return;
                }
            }
            Step::Adopt(record) => {
                let accepted = match fetch.take().map(|f| f.adopt(&record)) {
                    Some(Ok(())) => true,
                    Some(Err(back)) => {
                        fetch = Some(back);
                        false
                    }
                    None => false,
                };
                event!(debug, accepted, "token offered by the shared store");
                attempt.adopted(accepted);
            }
            Step::Fetch => {
                let (Some(request), Some(done)) = (send.take(), fetch.take()) else {
                    attempt.fetched(None);
                    continue;
                };
                match race(request, shared.changed.closed()).await {
                    Some(result) => attempt.fetched(done.complete(result)),
                    None => return,
                }
            }
            Step::Save(record) => {
                let ttl = record.remaining(shared.clock.wall());
                let saved = call(&*runtime, &link, &shared, "save", store.save(&record, ttl)).await;
                attempt.saved(saved);
            }
            Step::Release(lease) => {
                let after_failure = attempt.store_failed();
                let released =
                    call(&*runtime, &link, &shared, "release", store.release(lease)).await;
                if after_failure {
                    lease_after_failure(&link, released.as_ref().err());
                }
                attempt.released(released);
            }
            Step::Done => return,
        }
    }
}

/// A store call bounded by the store timeout; failures are counted (and logged, rate
/// limited).
async fn call<R: Runtime, T>(
    runtime: &R,
    link: &StoreLink<dyn TokenStore>,
    shared: &Shared,
    what: &'static str,
    call: BoxFuture<'_, Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let timeout = link.options.call_timeout();
    let result = race(call, runtime.sleep(timeout)).await.unwrap_or_else(|| {
        Err(StoreError::new(
            StoreErrorKind::Timeout,
            format!("no answer within {} ms", timeout.as_millis()),
        ))
    });
    if let Err(e) = &result {
        link.failed(shared.clock.now(), what, e);
    }
    result
}

/// `invalidate` with a store: the lifecycle forgets the token, and a task deletes the shared
/// record if it is that token (never a newer one another process stored since).
pub(crate) fn invalidate<R: Runtime>(
    runtime: &Arc<R>,
    link: &Arc<StoreLink<dyn TokenStore>>,
    shared: &Arc<Shared>,
    generation: Generation,
) -> bool {
    let (changed, reported) = shared.update(|lc, now| {
        let reported = lc
            .token(now)
            .filter(|c| c.generation() == generation)
            .map(|c| c.record());
        (lc.invalidate(now, generation), reported)
    });
    if let (true, Some(reported)) = (changed, reported) {
        let (link, task_runtime, shared) =
            (Arc::clone(link), Arc::clone(runtime), Arc::clone(shared));
        runtime.spawn(Box::pin(async move {
            let store = &link.store;
            let deleted = call(&*task_runtime, &link, &shared, "invalidate", store.invalidate(&reported)).await;
            event!(debug, deleted = ?deleted.ok(), "invalidated token reported to the shared store");
            let _ = deleted;
        }));
    }
    changed
}

/// A fleet attempt for `fetch`, with the record of the token it replaces.
pub(crate) fn attempt<S: ?Sized>(link: &StoreLink<S>, seed: u64, fetch: &Fetch) -> FleetFetch {
    FleetFetch::new(
        link.options.fleet_config().clone(),
        seed,
        fetch.current_record(),
    )
}

#[cfg(not(target_arch = "wasm32"))]
/// One fleet attempt (see [`FleetFetch`]) on the fetching thread. Stops if the source is
/// dropped before a token was found; the store calls after it (save, release) still run.
pub(crate) fn fleet_attempt_blocking<T: crate::BlockingTransport>(
    transport: &T,
    limits: crate::Limits,
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
                let accepted = match fetch.take().and_then(WeakFetch::upgrade) {
                    Some(done) => match done.adopt(&record) {
                        Ok(()) => true,
                        Err(back) => {
                            fetch = Some(back.downgrade());
                            false
                        }
                    },
                    None => false,
                };
                attempt.adopted(accepted);
            }
            Step::Fetch => {
                let result = request.take().map(|r| transport.send(r, limits));
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
                let after_failure = attempt.store_failed();
                let released = store.release(lease).inspect_err(|e| failed("release", e));
                if after_failure {
                    lease_after_failure(link, released.as_ref().err());
                }
                attempt.released(released);
            }
            Step::Done => return,
        }
    }
}

/// `invalidate` with a blocking store: the lifecycle forgets the token, and the shared
/// record is deleted if it is that token.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn invalidate_blocking(
    link: &StoreLink<dyn BlockingTokenStore>,
    shared: &Shared,
    generation: Generation,
) -> bool {
    let (changed, reported) = shared.update(|lc, now| {
        let reported = lc
            .token(now)
            .filter(|c| c.generation() == generation)
            .map(|c| c.record());
        (lc.invalidate(now, generation), reported)
    });
    if let (true, Some(reported)) = (changed, reported)
        && let Err(e) = link.store.invalidate(&reported)
    {
        link.failed(shared.clock.now(), "invalidate", &e);
    }
    changed
}
