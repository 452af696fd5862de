//! The two fronts of the one source: [`TokenSource`] (async) and [`BlockingTokenSource`].
//! They differ only in how a caller waits and where the fetch runs; everything else is the
//! [source](crate::source)'s, and their shared methods are written once, below.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
use crate::notify::race;
#[cfg(not(target_arch = "wasm32"))]
use crate::runtime::threads::block_on;
use zuora_oauth_core::{Destination, Generation, LifecycleConfig, TokenHandle, TokenRequest};

use crate::runtime::{Runtime, default_runtime};
use crate::source::{Sender, Settings, Source};
#[cfg(store)]
use crate::store::{StoreOptions, TokenStore};
use crate::transport::Transport;
use crate::{Clock, Status, TokenError};

/// The builder methods both fronts share.
macro_rules! settings {
    () => {
        /// Refresh window, backoff, retry and budget rules (default:
        /// [`LifecycleConfig::default`]). Its request deadline is not used: the source
        /// derives it from the timeout ([`with_timeout`](Self::with_timeout) plus 5 s).
        pub fn with_config(mut self, config: LifecycleConfig) -> Self {
            self.settings.config = config;
            self
        }

        /// Limits one token exchange as a whole: connect, send, receive the body (default
        /// 30 s). A request whose outcome has not come 5 s after it counts as lost, and
        /// the next caller may start another. With a store, the fetch lease lasts as long
        /// as this allows, and a request may first wait for another process's lease
        /// ([`StoreOptions::with_fleet`](crate::store::StoreOptions::with_fleet)).
        pub fn with_timeout(mut self, timeout: Duration) -> Self {
            self.settings.limits = self.settings.limits.with_timeout(timeout);
            self
        }

        /// Limits connection setup: TCP, a proxy's CONNECT and the TLS handshake together
        /// (default 10 s; never more than the timeout). With a client of your own
        /// (`ReqwestTransport::with_client`), the client's setting applies instead.
        pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
            self.settings.limits = self.settings.limits.with_connect_timeout(timeout);
            self
        }

        /// Fails an exchange whose response body is larger than this (default 64 KiB; a
        /// token response is well under 1 KiB).
        pub fn with_max_body(mut self, bytes: usize) -> Self {
            self.settings.limits = self.settings.limits.with_max_body(bytes);
            self
        }

        /// Shares tokens with other processes through `store` (Redis, a file…; feature
        /// `store`): one token request per token lifetime for the whole fleet. The source
        /// derives the store's key and seals its records from its own credentials, so the
        /// store can never serve another client (see [`crate::store`]). A store failure
        /// never fails a caller: the process fetches its own token, and rejoins when the
        /// store answers again.
        #[cfg(store)]
        pub fn with_store(mut self, store: impl TokenStore) -> Self {
            let options = self
                .settings
                .store
                .take()
                .map(|(_, o)| o)
                .unwrap_or_default();
            self.settings.store = Some((Arc::new(store), options));
            self
        }

        /// How the store is used: the fleet's rules, a label, how often failures are
        /// logged (default: [`StoreOptions::default`]). Set it after
        /// [`with_store`](Self::with_store).
        #[cfg(store)]
        pub fn with_store_options(mut self, options: StoreOptions) -> Self {
            if let Some((_, o)) = self.settings.store.as_mut() {
                *o = options;
            }
            self
        }

        /// Limits each store call (default 200 ms): past it, the call counts as failed and
        /// the process fetches its own token. The store gets the same bound for its own
        /// connection and reads ([`StoreCall::timeout`](crate::store::StoreCall::timeout)).
        #[cfg(store)]
        pub fn with_store_timeout(mut self, timeout: Duration) -> Self {
            self.settings.store_timeout = timeout;
            self
        }

        /// Replaces the clocks (for tests and simulations; default: the runtime's).
        pub fn with_clock(mut self, clock: Clock) -> Self {
            self.settings.clock = Some(clock);
            self
        }

        /// Replaces the jitter seed (default: drawn from the OS). Only tests want a fixed
        /// one.
        pub fn with_seed(mut self, seed: u64) -> Self {
            self.settings.seed = Some(seed);
            self
        }
    };
}
pub(crate) use settings;

/// The builder methods of the two sources (not of the sets of sources: a set's tenants
/// each have their own secret).
macro_rules! secret_settings {
    () => {
        /// Reads the client secret again from the file at `path`, so that a long-running
        /// process takes a rotated secret without a restart: its first line, without the
        /// line ending (what `zuora-token --client-secret-file` reads), checked by
        /// [`ClientSecret::new`](zuora_oauth_core::ClientSecret::new).
        ///
        /// It is read before each token request (about once per token lifetime), off the
        /// executor, by the task that fetches; and, while Zuora rejects the secret, again
        /// at once and every 5 seconds until it changes. A secret that differs from the
        /// current one is a [rotation](Self::with_secret_from): the source
        /// [reconfigure](TokenSource::reconfigure)s itself with it, keeps handing out the
        /// current token until the new secret produces one, and fetches with it at once.
        /// A file that cannot be read (or holds no valid secret) keeps the last secret; it
        /// is logged at WARN (feature `tracing`), never with its content.
        ///
        /// The request given to the builder still needs a secret (read it from the same
        /// file); the file is the secret's source from then on: a
        /// [`reconfigure`](TokenSource::reconfigure) with another secret lasts until the
        /// next read.
        #[cfg(not(target_arch = "wasm32"))]
        pub fn with_secret_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            let source = crate::secret::SecretSource::file(path.into());
            self.settings.secret = Some(Arc::new(source));
            self
        }

        /// Reads the client secret again with `read` (a secret manager, a mounted
        /// secret…), as [`with_secret_file`](Self::with_secret_file) reads its file:
        /// before each token request, and while Zuora rejects the secret. `read` may
        /// block (it runs off the executor: tokio's blocking pool, or a thread); an error
        /// keeps the last secret and its `Display` is logged at WARN: never put the secret
        /// in it.
        ///
        /// A new secret keeps the current token until the new one produces a token, moves
        /// a store to the new secret's keys (the old records become unreachable), and
        /// Zuora's rejection of it is reported as such (see
        /// [`TokenSource::reconfigure`]).
        #[cfg(not(target_arch = "wasm32"))]
        pub fn with_secret_from<E: fmt::Display + 'static>(
            mut self,
            read: impl Fn() -> Result<zuora_oauth_core::ClientSecret, E> + Send + Sync + 'static,
        ) -> Self {
            let source = crate::secret::SecretSource::from_fn(read);
            self.settings.secret = Some(Arc::new(source));
            self
        }
    };
}

/// The methods both fronts share: everything that does not wait.
macro_rules! shared_methods {
    () => {
        /// The Zuora API answered 401 to token `generation`: the next call fetches a new
        /// one. Reports from many callers about the same token cause one request; reports
        /// about an older token are ignored. Returns whether this report changed anything.
        ///
        /// With a store, the shared record is deleted too if it is that token (never a
        /// newer one another process stored since), so that the whole fleet moves on.
        pub fn invalidate(&self, generation: Generation) -> bool {
            self.source.invalidate(generation)
        }

        /// What the source holds and is doing, for health checks: the token's generation
        /// and remaining life, a request in flight, the last failure, the next attempt.
        pub fn status(&self) -> Status {
            self.source.status()
        }

        /// Forgets failures and backoff, so that the next call may ask again (after fixing
        /// rejected credentials, say).
        pub fn reset(&self) {
            self.source.reset();
        }

        /// Switches to `request`: a rotated client secret, other credentials, another
        /// environment. A request in flight is ignored (its token is not used), and the
        /// source fetches with `request` at once, in the background.
        ///
        /// - **A new secret for the same client** (the same environment, client ID and
        ///   entity ID): the current token keeps being handed out until the new secret
        ///   produces one, or until it is no longer usable. If Zuora rejects the new
        ///   secret (400/401/403), the current token is still handed out while usable
        ///   (Zuora does not say whether a regenerated secret revokes the old tokens: if it
        ///   does, the API answers 401 to the token and [`invalidate`](Self::invalidate)
        ///   drops it as usual); the rejection shows at once in
        ///   [`status`](Self::status) (`rotation`, `last_error`), and once no token is left
        ///   the error names the rotation ("Zuora rejected the new credentials given to
        ///   `reconfigure`").
        /// - **Another client, environment or entity**: the current token is dropped at
        ///   once; it never goes to the new environment's URLs.
        ///
        /// With a store, the source moves to the keys of the new credentials: the old
        /// records become unreachable, and the new token is shared as before (one token
        /// request for the whole fleet). See
        /// [`TokenLifecycle::reconfigure`](zuora_oauth_core::TokenLifecycle::reconfigure)
        /// for the rules, and [`with_secret_file`](TokenSourceBuilder::with_secret_file) to
        /// take a rotated secret from a file without calling this.
        pub fn reconfigure(&self, request: TokenRequest) {
            self.source.reconfigure(request);
        }
    };
}

/// Checks that `request` goes to the token's environment before it gets the token.
fn check_destination<B>(source: &Source, request: &http::Request<B>) -> Result<(), TokenError> {
    let covered = Destination::of_uri(request.uri()).is_some_and(|d| source.covers(&d));
    if covered {
        Ok(())
    } else {
        Err(TokenError::foreign(request.uri()))
    }
}

/// Hands out a valid Zuora token to any number of tasks.
///
/// - **Cached hit**: no lock, no shared counter written, no allocation, as long as the
///   token is fresh (the first step of every call).
/// - **Single flight**: however many tasks ask at once, one token request is sent.
/// - **Detached fetch**: the request runs in a task of its own. A caller that gives up (a
///   timeout, a dropped handler) ends only its own wait; the request goes on and its
///   outcome reaches every other caller.
/// - **Refresh ahead**: in the refresh window (5 minutes before expiry by default) the
///   current token keeps being handed out while the next is fetched in the background.
/// - **Failures** back off; permanent ones are not retried (see
///   [`TokenLifecycle`](zuora_oauth_core::TokenLifecycle) for every rule).
/// - **Nothing outlives it**: when the last clone is dropped, a request in flight is
///   aborted and the token is freed.
///
/// Cloning is cheap; clones share one token. It holds its transport and runtime behind
/// trait objects: keep it in a struct field as it is.
///
/// It runs on tokio (feature `tokio`; call it from inside a tokio runtime with its time
/// driver enabled) or, on `wasm32`, on the JavaScript event loop; name another executor
/// with [`TokenSourceBuilder::with_runtime`].
#[derive(Clone)]
pub struct TokenSource {
    pub(crate) source: Source,
}

/// Builds a [`TokenSource`]; start from [`TokenSource::builder`].
pub struct TokenSourceBuilder {
    settings: Settings,
    transport: Arc<dyn Transport>,
    runtime: Option<Arc<dyn Runtime>>,
}

impl TokenSourceBuilder {
    settings!();
    secret_settings!();

    /// The executor the source spawns its fetches on and sleeps with (default: tokio with
    /// the feature `tokio`; the JavaScript event loop on `wasm32`).
    pub fn with_runtime(mut self, runtime: impl Runtime) -> Self {
        self.runtime = Some(Arc::new(runtime));
        self
    }

    /// The source.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn build(self) -> TokenSource {
        let runtime = self.runtime.unwrap_or_else(default_runtime);
        TokenSource {
            source: self.settings.build(runtime, Sender::Async(self.transport)),
        }
    }
}

impl TokenSource {
    /// A source fetching tokens with `request` through `transport`, with the default
    /// settings.
    pub fn new(request: TokenRequest, transport: impl Transport) -> Self {
        Self::builder(request, transport).build()
    }

    /// A builder for a source fetching tokens with `request` through `transport`.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn builder(request: TokenRequest, transport: impl Transport) -> TokenSourceBuilder {
        TokenSourceBuilder {
            settings: Settings::new(request),
            transport: Arc::new(transport),
            runtime: None,
        }
    }

    /// A valid token, fetching one if needed. The token comes with its
    /// [`Generation`](TokenHandle::generation), to report with
    /// [`invalidate`](Self::invalidate) if the API answers 401 to it.
    pub async fn token(&self) -> Result<TokenHandle, TokenError> {
        self.source.token().await
    }

    /// Sets `Authorization: Bearer …` (and `Zuora-Entity-Ids` if configured) on a request
    /// to the token's environment ([`Environment::covers`](zuora_oauth_core::Environment::covers):
    /// its scheme, host, port and path prefix). A request anywhere else gets nothing and an
    /// error ([`TokenErrorKind::ForeignUrl`](crate::TokenErrorKind::ForeignUrl)). Returns
    /// the token's generation, to pass to [`invalidate`](Self::invalidate) if the API
    /// answers 401.
    pub async fn authorize<B>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<Generation, TokenError> {
        loop {
            // If the source moves to another environment in between, the token read may be
            // the new one's: check the destination again.
            let moves = self.source.moves();
            check_destination(&self.source, request)?;
            let credentials = match self.source.fresh_credentials() {
                Some(credentials) => credentials,
                None => self.source.credentials().await?,
            };
            if self.source.moves() == moves {
                return Ok(credentials.apply(request.headers_mut()));
            }
        }
    }

    shared_methods!();

    /// The source shared with the API rules ([`crate::api`]).
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("state", &self.source)
            .finish()
    }
}

/// Hands out a valid Zuora token to any number of threads: the [`TokenSource`]'s rules and
/// state — one implementation — for blocking code. A caller blocks its thread while a token
/// is fetched (it drives the same future as an async caller, on its own thread); the fetch
/// runs on a thread of its own, so that a caller that stops waiting
/// ([`token_within`](Self::token_within)) leaves it to the others. When the last clone is
/// dropped, the token is freed at once and no request starts; the outcome of one in flight
/// is discarded.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone)]
pub struct BlockingTokenSource {
    pub(crate) source: Source,
}

/// Builds a [`BlockingTokenSource`]; start from [`BlockingTokenSource::builder`].
#[cfg(not(target_arch = "wasm32"))]
pub struct BlockingTokenSourceBuilder {
    settings: Settings,
    transport: Arc<dyn crate::BlockingTransport>,
}

#[cfg(not(target_arch = "wasm32"))]
impl BlockingTokenSourceBuilder {
    settings!();
    secret_settings!();

    /// The source.
    pub fn build(self) -> BlockingTokenSource {
        BlockingTokenSource {
            source: self.settings.build(
                Arc::new(crate::runtime::threads::ThreadRuntime),
                Sender::Blocking(self.transport),
            ),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl BlockingTokenSource {
    /// A source fetching tokens with `request` through `transport`, with the default
    /// settings.
    pub fn new(request: TokenRequest, transport: impl crate::BlockingTransport) -> Self {
        Self::builder(request, transport).build()
    }

    /// A builder for a source fetching tokens with `request` through `transport`.
    pub fn builder(
        request: TokenRequest,
        transport: impl crate::BlockingTransport,
    ) -> BlockingTokenSourceBuilder {
        BlockingTokenSourceBuilder {
            settings: Settings::new(request),
            transport: Arc::new(transport),
        }
    }

    /// A valid token, fetching one if needed (blocking). See [`TokenSource::token`].
    pub fn token(&self) -> Result<TokenHandle, TokenError> {
        match self.source.fresh() {
            Some(handle) => Ok(handle),
            None => block_on(self.source.token()),
        }
    }

    /// Like [`token`](Self::token), but waits at most `timeout` for a request in flight.
    /// Giving up ends only this caller's wait: the request goes on for everyone else
    /// ([`TokenErrorKind::GaveUp`](crate::TokenErrorKind::GaveUp)).
    pub fn token_within(&self, timeout: Duration) -> Result<TokenHandle, TokenError> {
        if let Some(handle) = self.source.fresh() {
            return Ok(handle);
        }
        let wait = race(self.source.token(), self.source.sleep(timeout));
        block_on(wait).unwrap_or_else(|| Err(TokenError::gave_up()))
    }

    /// See [`TokenSource::authorize`].
    pub fn authorize<B>(&self, request: &mut http::Request<B>) -> Result<Generation, TokenError> {
        loop {
            // See `TokenSource::authorize`.
            let moves = self.source.moves();
            check_destination(&self.source, request)?;
            let credentials = match self.source.fresh_credentials() {
                Some(credentials) => credentials,
                None => block_on(self.source.credentials())?,
            };
            if self.source.moves() == moves {
                return Ok(credentials.apply(request.headers_mut()));
            }
        }
    }

    shared_methods!();

    /// The source shared with the API rules ([`crate::api`]).
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl fmt::Debug for BlockingTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingTokenSource")
            .field("state", &self.source)
            .finish()
    }
}
