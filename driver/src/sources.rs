//! Many tenants in one process: a keyed set of token sources, one per OAuth client, built on
//! first use, sharing one transport, one runtime and one store, evicted when idle, bounded
//! in count ([`TokenSources`], [`BlockingTokenSources`]); and the [`Tenant`] a call names in
//! its extensions, for a middleware that serves every tenant through one HTTP client.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use hashbrown::HashTable;
use subtle::ConstantTimeEq;
use zuora_oauth_core::{
    ClientId, ClientSecret, EntityId, Environment, LifecycleConfig, TokenRequest, TrackId,
};

use crate::fronts::settings;
use crate::runtime::{Runtime, default_runtime};
use crate::source::{Sender, Settings, Source};
#[cfg(store)]
use crate::store::{StoreOptions, TokenStore};
use crate::{Clock, TokenError, TokenSource, Transport};

/// Default idle time after which a source is evicted: a Zuora token's lifetime.
const DEFAULT_IDLE: Duration = Duration::from_secs(3600);
/// Default bound on the number of sources.
const DEFAULT_MAX: usize = 10_000;
/// Shards of the map: callers on different tenants rarely touch the same lock.
const SHARDS: usize = 16;

/// The tenant of one API call, for a middleware that serves a set of sources
/// ([`tower::AuthorizeLayer::new`](crate::tower::AuthorizeLayer::new) with the set,
/// `zuora_oauth_reqwest::AuthorizeMiddleware::new` with the set): put it in the call's
/// extensions (`http::Request::extensions_mut().insert(..)`; reqwest-middleware's
/// `RequestBuilder::with_extension(..)`).
///
/// It holds the tenant's [`TokenRequest`] behind an `Arc`: make one per tenant and clone it
/// onto each call (no copy of the credentials). The middleware **removes** it from the
/// extensions before it passes the call on, so the credentials never reach the inner
/// service, the HTTP client or a replayed copy of the call. Its `Debug` shows the
/// environment and the client ID, never the secret.
#[derive(Clone)]
pub struct Tenant(Arc<TokenRequest>);

impl Tenant {
    /// The tenant whose token requests are `request`.
    pub fn new(request: TokenRequest) -> Self {
        Self(Arc::new(request))
    }

    /// The tenant's token request.
    pub fn request(&self) -> &TokenRequest {
        &self.0
    }
}

impl From<TokenRequest> for Tenant {
    fn from(request: TokenRequest) -> Self {
        Self::new(request)
    }
}

impl Deref for Tenant {
    type Target = TokenRequest;

    fn deref(&self) -> &TokenRequest {
        &self.0
    }
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("environment", self.0.environment())
            .field("client_id", self.0.client_id())
            .field("entity_id", &self.0.entity_id())
            .finish_non_exhaustive()
    }
}

/// A front over a [`Source`]: what the set hands out.
pub(crate) trait Front: Clone {
    fn wrap(source: Source) -> Self;
    fn inner(&self) -> &Source;
}

impl Front for TokenSource {
    fn wrap(source: Source) -> Self {
        Self { source }
    }
    fn inner(&self) -> &Source {
        &self.source
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Front for crate::BlockingTokenSource {
    fn wrap(source: Source) -> Self {
        Self { source }
    }
    fn inner(&self) -> &Source {
        &self.source
    }
}

/// What a request must match to share a source: every field it sends.
struct Who {
    environment: Environment,
    client_id: ClientId,
    secret: ClientSecret,
    entity_id: Option<EntityId>,
    track_id: Option<TrackId>,
}

impl Who {
    fn of(request: &TokenRequest) -> Self {
        Self {
            environment: request.environment().clone(),
            client_id: request.client_id().clone(),
            secret: request.client_secret().clone(),
            entity_id: request.entity_id().cloned(),
            track_id: request.track_id().cloned(),
        }
    }

    /// Whether `request` is this one; the secrets are compared in constant time.
    fn is(&self, request: &TokenRequest) -> bool {
        self.client_id == *request.client_id()
            && self.environment == *request.environment()
            && self.entity_id.as_ref() == request.entity_id()
            && self.track_id.as_ref() == request.track_id()
            && same_secret(
                self.secret.expose_secret().as_bytes(),
                request.client_secret().expose_secret().as_bytes(),
            )
    }
}

/// Whether two secrets are equal, in a time that depends only on their lengths: every
/// 8 bytes are compared, the differences gathered, and the total read in constant time
/// (`subtle`). Byte by byte with `subtle` took ~100 ns of a `get`.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = a8.remainder().iter().zip(b8.remainder());
    let word = |c: &[u8]| u64::from_ne_bytes(c.try_into().expect("8 bytes"));
    let mut diff = a8.zip(b8).fold(0, |d, (x, y)| d | (word(x) ^ word(y)));
    diff |= tail.fold(0, |d, (x, y)| d | u64::from(x ^ y));
    bool::from(diff.ct_eq(&0))
}

/// One source of the set.
struct Entry<F> {
    hash: u64,
    /// Tells this entry from a later one of the same credentials.
    id: u64,
    who: Who,
    source: F,
    /// When a `get` last asked for it (milliseconds on the set's clock).
    last_used: AtomicU64,
}

impl<F: Front> Entry<F> {
    /// Records a use: a shared write at most once per clock tick (1 ms).
    #[inline]
    fn touch(&self, now: u64) {
        if self.last_used.load(Ordering::Relaxed) < now {
            self.last_used.store(now, Ordering::Relaxed);
        }
    }

    fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// Whether only the set holds the source. Exact under the shard's write lock: no one
    /// can get a clone from the set then, and no one else has one.
    fn only_in_set(&self) -> bool {
        self.source.inner().holders() == 1
    }
}

#[repr(align(128))]
struct Shard<F>(RwLock<HashTable<Entry<F>>>);

impl<F> Shard<F> {
    fn read(&self) -> RwLockReadGuard<'_, HashTable<Entry<F>>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
    fn write(&self) -> RwLockWriteGuard<'_, HashTable<Entry<F>>> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The set, whichever front it hands out.
struct Set<F> {
    shards: Box<[Shard<F>]>,
    hasher: RandomState,
    /// The settings of every source (its request is a placeholder, replaced for each).
    template: Settings,
    runtime: Arc<dyn Runtime>,
    sender: Sender,
    clock: Clock,
    idle: Duration,
    max: usize,
    len: AtomicUsize,
    next_id: AtomicU64,
    /// When `get` sweeps next (milliseconds on the clock).
    next_sweep: AtomicU64,
}

/// A request that is never sent: the template's, replaced for each source.
fn placeholder() -> TokenRequest {
    TokenRequest::new(
        Environment::Prod,
        ClientId::new("00000000-0000-0000-0000-000000000000").expect("36 characters"),
        ClientSecret::new("unused").expect("a short secret"),
    )
}

impl<F: Front> Set<F> {
    /// The set of a builder's settings, shared by its clones; `bounds`: the idle time and
    /// the most sources.
    fn shared(
        template: Settings,
        runtime: Arc<dyn Runtime>,
        sender: Sender,
        (idle, max): (Duration, usize),
    ) -> Arc<Self> {
        Arc::new(Self::new(template, runtime, sender, idle, max))
    }

    fn new(
        mut template: Settings,
        runtime: Arc<dyn Runtime>,
        sender: Sender,
        idle: Duration,
        max: usize,
    ) -> Self {
        let clock = template.clock.clone().unwrap_or_else(|| runtime.clock());
        // Every source reads the set's clock, so that idle times and token lives agree.
        template.clock = Some(clock.clone());
        Self {
            shards: (0..SHARDS)
                .map(|_| Shard(RwLock::new(HashTable::new())))
                .collect(),
            hasher: RandomState::new(),
            template,
            runtime,
            sender,
            clock,
            idle,
            max: max.max(1),
            len: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            next_sweep: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.clock.now().as_duration().as_millis()).unwrap_or(u64::MAX)
    }

    fn hash(&self, request: &TokenRequest) -> u64 {
        self.hasher.hash_one(request.client_id().as_str())
    }

    /// The shard of a hash: bits the table itself uses for neither the bucket (the low
    /// ones) nor the control byte (the top 7).
    fn shard(&self, hash: u64) -> &Shard<F> {
        &self.shards[(hash >> 32) as usize % SHARDS]
    }

    fn get(&self, request: &TokenRequest) -> F {
        let hash = self.hash(request);
        let shard = self.shard(hash);
        let now = self.now();
        let hit = shard.read().find(hash, |e| e.who.is(request)).map(|e| {
            e.touch(now);
            e.source.clone()
        });
        let source = match hit {
            Some(source) => source,
            None => self.insert(shard, hash, request, now),
        };
        self.sweep_if_due(now);
        source
    }

    /// The slow path of `get`: builds the source unless another caller just did.
    fn insert(&self, shard: &Shard<F>, hash: u64, request: &TokenRequest, now: u64) -> F {
        let mut table = shard.write();
        if let Some(e) = table.find(hash, |e| e.who.is(request)) {
            e.touch(now);
            return e.source.clone();
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut settings = self.template.clone();
        settings.request = request.clone();
        // A fixed seed (tests) still gives each source its own jitter.
        settings.seed = settings
            .seed
            .map(|seed| seed ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let source = F::wrap(settings.build(Arc::clone(&self.runtime), self.sender.clone()));
        let entry = Entry {
            hash,
            id,
            who: Who::of(request),
            source: source.clone(),
            last_used: AtomicU64::new(now),
        };
        table.insert_unique(hash, entry, |e| e.hash);
        // Counted under the lock: a removal of this entry can only count after.
        let len = self.len.fetch_add(1, Ordering::Relaxed) + 1;
        drop(table);
        if len > self.max {
            // `source` is held here: never the one evicted.
            self.evict_lru(len - self.max);
        }
        source
    }

    /// Evicts up to `excess` sources only the set holds, least recently used first;
    /// returns how many.
    fn evict_lru(&self, excess: usize) -> usize {
        // (last used, shard, hash, id) of every source only the set holds.
        let mut idle: Vec<(u64, usize, u64, u64)> = Vec::new();
        for (i, shard) in self.shards.iter().enumerate() {
            let table = shard.read();
            idle.extend(
                table
                    .iter()
                    .filter(|e| e.only_in_set())
                    .map(|e| (e.last_used(), i, e.hash, e.id)),
            );
        }
        // Fewer than `excess` when callers hold the others: the set stays over its bound
        // until they are released.
        idle.sort_unstable();
        let mut evicted = 0;
        for (last, i, hash, id) in idle.into_iter().take(excess) {
            // Still only the set's, and not asked for since.
            let removed = self.remove_from(&self.shards[i], hash, |e| {
                e.id == id && e.only_in_set() && e.last_used() == last
            });
            evicted += usize::from(removed.is_some());
            drop(removed);
        }
        evicted
    }

    /// Removes the entry of `hash` that `which` picks, under the shard's write lock; the
    /// caller drops it after the lock is released.
    fn remove_from(
        &self,
        shard: &Shard<F>,
        hash: u64,
        which: impl FnMut(&Entry<F>) -> bool,
    ) -> Option<Entry<F>> {
        let removed = match shard.write().find_entry(hash, which) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        };
        if removed.is_some() {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    fn remove(&self, request: &TokenRequest) -> bool {
        let hash = self.hash(request);
        self.remove_from(self.shard(hash), hash, |e| e.who.is(request))
            .is_some()
    }

    /// Sweeps when it is due (one caller does).
    #[inline]
    fn sweep_if_due(&self, now: u64) {
        let due = self.next_sweep.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let every = (self.idle / 8).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let next = now.saturating_add(u64::try_from(every.as_millis()).unwrap_or(u64::MAX));
        if self
            .next_sweep
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.sweep(now);
        }
    }

    /// Evicts the idle sources only the set holds, then any excess over the bound; returns
    /// how many.
    fn sweep(&self, now: u64) -> usize {
        let idle = u64::try_from(self.idle.as_millis()).unwrap_or(u64::MAX);
        let mut evicted = 0;
        for shard in self.shards.iter() {
            let gone: Vec<Entry<F>> = shard
                .write()
                .extract_if(|e| now.saturating_sub(e.last_used()) >= idle && e.only_in_set())
                .collect();
            self.len.fetch_sub(gone.len(), Ordering::Relaxed);
            evicted += gone.len();
            // Dropped here, outside the lock: each source frees its token and ends its
            // request in flight.
            drop(gone);
        }
        let len = self.len.load(Ordering::Relaxed);
        if len > self.max {
            evicted += self.evict_lru(len - self.max);
        }
        evicted
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

/// The set's methods, for both flavours (`$front`: what `get` hands out).
macro_rules! set_methods {
    ($front:ty) => {
        /// The source of `request`'s credentials: the set's, or a new one (built, not yet
        /// fetching: its first `token()` fetches). Requests equal in every field share one
        /// source; one that differs in any (its secret too) gets its own (see
        /// [`TokenSources`](crate::TokenSources#which-source-a-request-gets)). Costs a
        /// read lock of one shard of the set, a hash of the client ID and a comparison of
        /// the credentials; the source's token is then read without a lock, as always.
        pub fn get(&self, request: &TokenRequest) -> $front {
            self.set.get(request)
        }

        /// The source of a call's [`Tenant`], which it **removes** from `extensions` (so
        /// that the credentials go no further): what a middleware serving every tenant
        /// does first. A call without a `Tenant` gets
        /// [`TokenErrorKind::NoTenant`](crate::TokenErrorKind::NoTenant), and must not be
        /// sent.
        pub fn pick(&self, extensions: &mut http::Extensions) -> Result<$front, TokenError> {
            let tenant = extensions
                .remove::<Tenant>()
                .ok_or_else(TokenError::no_tenant)?;
            Ok(self.set.get(&tenant))
        }

        /// Drops the set's source of `request` (credentials revoked, a tenant gone), held or
        /// not: clones callers hold keep working; the next `get` builds a new one. Returns
        /// whether there was one.
        pub fn remove(&self, request: &TokenRequest) -> bool {
            self.set.remove(request)
        }

        /// Evicts now the sources idle for the idle time that only the set holds (and the
        /// least recently used ones over the bound), as `get` does from time to time;
        /// returns how many. For a process that stops calling `get` and wants the memory
        /// back.
        pub fn evict_idle(&self) -> usize {
            self.set.sweep(self.set.now())
        }

        /// How many sources the set holds.
        pub fn len(&self) -> usize {
            self.set.len()
        }

        /// Whether the set holds no source.
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }
    };
}

/// The builder methods of both flavours of set, beside the sources' settings.
macro_rules! set_settings {
    () => {
        /// Evicts a source that no `get` asked for in `idle` (default 1 hour, a token's
        /// lifetime), unless a caller holds it (see
        /// [`TokenSources`](crate::TokenSources#eviction)).
        pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
            self.idle = idle;
            self
        }

        /// Holds at most `max` sources (default 10,000; at least 1), beyond the ones callers
        /// hold: a new source past it evicts the least recently used one only the set
        /// holds.
        pub fn with_max_sources(mut self, max: usize) -> Self {
            self.max = max;
            self
        }
    };
}

/// One [`TokenSource`] per Zuora OAuth client, built on first use: for connectors and
/// back-offices that talk to many tenants. Every source shares the set's transport (one
/// HTTP client and its connection pool), runtime and store (each tenant's records are
/// keyed and sealed apart by its own credentials), and has the settings of the builder's
/// `with_*` methods — the [`TokenSourceBuilder`](crate::TokenSourceBuilder)'s. A fixed
/// [`with_seed`](TokenSourcesBuilder::with_seed) gives each source a seed of its own;
/// [`with_clock`](TokenSourcesBuilder::with_clock) drives the idle times too.
///
/// Cloning is cheap; clones share the set.
///
/// # Which source a request gets
///
/// Requests equal in every field — environment, client ID, client secret, entity ID, track
/// ID — share one source. A request that differs in any of them, the secret included, gets
/// a source of its own: a caller gets a token only by presenting the credentials that
/// produced it. (Reconfiguring the tenant's source with
/// whatever secret a caller passes would hand that caller the token of the source's
/// credentials, and two callers with different secrets would take the token from each
/// other on every call.) A rotated secret therefore makes a new source, which fetches its
/// own token; the old source is evicted once idle, or at once with
/// [`remove`](TokenSources::remove).
///
/// # Eviction
///
/// A source is idle when no [`get`](TokenSources::get) asked for it for the idle time
/// (default 1 hour: by then its token, which Zuora gives for an hour, is spent,
/// so evicting it costs no token request). The set evicts only the sources it alone
/// holds: a clone a caller still has keeps working and stays in the set (dropping the set's
/// clone would free nothing, and the next `get` would build a second source and fetch a
/// second token for the same client). An evicted source is dropped: it has no background
/// task, its token is freed and a request in flight is abandoned. Nothing runs in the
/// background to evict: `get` sweeps the set at most once per idle time / 8 (between 1 s
/// and 1 min), and [`evict_idle`](TokenSources::evict_idle) sweeps at once.
///
/// # The bound
///
/// At most 10,000 sources by default: a `get` that adds a source past the bound evicts the
/// least recently used sources that only the set holds. When every source is held by a
/// caller, none is evicted and the set is over its bound until they are released (the next
/// new source or sweep evicts the excess): the memory of a held source is in use either
/// way, and refusing a tenant or duplicating its source would be worse.
///
/// ```
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_driver::TokenSources;
/// use zuora_oauth_hyper::HyperTransport;
/// use zuora_oauth_testkit::MockServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let acme = ("0000000a-7e4a-4c1b-9d2e-5f6a7b8c9d0e", "acme-secret");
/// let zuora = MockServer::builder().client(acme.0, acme.1).start()?; // on 127.0.0.1
/// let sources = TokenSources::new(HyperTransport::new());
///
/// let request = TokenRequest::new(
///     Environment::custom(&zuora.base_url())?,
///     ClientId::new(acme.0)?,
///     ClientSecret::new(acme.1)?,
/// );
/// let token = sources.get(&request).token().await?; // built on first use, then fetched
/// let again = sources.get(&request).token().await?; // the same source: no request
/// assert_eq!(token.generation(), again.generation());
/// assert_eq!((sources.len(), zuora.token_request_count()), (1, 1));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenSources {
    set: Arc<Set<TokenSource>>,
}

/// Builds a [`TokenSources`]; start from [`TokenSources::builder`].
pub struct TokenSourcesBuilder {
    settings: Settings,
    transport: Arc<dyn Transport>,
    runtime: Option<Arc<dyn Runtime>>,
    idle: Duration,
    max: usize,
}

impl TokenSourcesBuilder {
    settings!();
    set_settings!();

    /// The executor every source spawns its fetches on and sleeps with (default: tokio
    /// with the feature `tokio`; the JavaScript event loop on `wasm32`).
    pub fn with_runtime(mut self, runtime: impl Runtime) -> Self {
        self.runtime = Some(Arc::new(runtime));
        self
    }

    /// The set.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn build(self) -> TokenSources {
        let runtime = self.runtime.unwrap_or_else(default_runtime);
        let sender = Sender::Async(self.transport);
        TokenSources {
            set: Set::shared(self.settings, runtime, sender, (self.idle, self.max)),
        }
    }
}

impl TokenSources {
    /// A set whose sources fetch through `transport`, with the default settings.
    pub fn new(transport: impl Transport) -> Self {
        Self::builder(transport).build()
    }

    /// A builder for a set whose sources fetch through `transport`.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn builder(transport: impl Transport) -> TokenSourcesBuilder {
        TokenSourcesBuilder {
            settings: Settings::new(placeholder()),
            transport: Arc::new(transport),
            runtime: None,
            idle: DEFAULT_IDLE,
            max: DEFAULT_MAX,
        }
    }

    set_methods!(TokenSource);
}

impl fmt::Debug for TokenSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSources")
            .field("len", &self.len())
            .field("idle_timeout", &self.set.idle)
            .field("max_sources", &self.set.max)
            .finish_non_exhaustive()
    }
}

/// One [`BlockingTokenSource`](crate::BlockingTokenSource) per Zuora OAuth client, built on
/// first use: [`TokenSources`] for blocking code (one transport, such as a
/// `UreqTransport`, shared by every source; the same rules of identity, eviction and bound).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone)]
pub struct BlockingTokenSources {
    set: Arc<Set<crate::BlockingTokenSource>>,
}

/// Builds a [`BlockingTokenSources`]; start from [`BlockingTokenSources::builder`].
#[cfg(not(target_arch = "wasm32"))]
pub struct BlockingTokenSourcesBuilder {
    settings: Settings,
    transport: Arc<dyn crate::BlockingTransport>,
    idle: Duration,
    max: usize,
}

#[cfg(not(target_arch = "wasm32"))]
impl BlockingTokenSourcesBuilder {
    settings!();
    set_settings!();

    /// The set.
    pub fn build(self) -> BlockingTokenSources {
        let runtime: Arc<dyn Runtime> = Arc::new(crate::runtime::threads::ThreadRuntime);
        let sender = Sender::Blocking(self.transport);
        BlockingTokenSources {
            set: Set::shared(self.settings, runtime, sender, (self.idle, self.max)),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl BlockingTokenSources {
    /// A set whose sources fetch through `transport`, with the default settings.
    pub fn new(transport: impl crate::BlockingTransport) -> Self {
        Self::builder(transport).build()
    }

    /// A builder for a set whose sources fetch through `transport`.
    pub fn builder(transport: impl crate::BlockingTransport) -> BlockingTokenSourcesBuilder {
        BlockingTokenSourcesBuilder {
            settings: Settings::new(placeholder()),
            transport: Arc::new(transport),
            idle: DEFAULT_IDLE,
            max: DEFAULT_MAX,
        }
    }

    set_methods!(crate::BlockingTokenSource);
}

#[cfg(not(target_arch = "wasm32"))]
impl fmt::Debug for BlockingTokenSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingTokenSources")
            .field("len", &self.len())
            .field("idle_timeout", &self.set.idle)
            .field("max_sources", &self.set.max)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_that_differ_in_any_byte_or_in_length_are_not_the_same() {
        let secret = *b"m0ck+Zu0ra/S3cr3t=Fo7+Te5ts/On1y=Lo0pback";
        assert!(same_secret(&secret, &secret));
        for i in 0..secret.len() {
            let mut other = secret;
            other[i] ^= 0x20;
            assert!(!same_secret(&secret, &other), "byte {i}");
        }
        assert!(!same_secret(&secret, &secret[..40]));
        assert!(same_secret(b"", b""));
    }
}
