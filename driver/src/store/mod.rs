//! Sharing one token between processes through a store (feature `store`, native targets).
//!
//! A store is a small key-value service with a lease: it keeps opaque bytes under a key and
//! lets one process at a time take a fetch lease ([`TokenStore`]). It knows nothing of Zuora,
//! of credentials or of tokens: the source **derives the key and seals every record itself**,
//! from its own credentials ([`TokenRequest`](zuora_oauth_core::TokenRequest)), so that
//!
//! - a store can never hand one client's token to another: the key names (an HMAC of the
//!   client ID, environment, entity ID and [label](StoreOptions::with_label), keyed by the
//!   client secret) differ, and a record sealed for one client does not open for another;
//! - someone who can read the store sees neither the token nor the client ID: records are
//!   encrypted and authenticated (AES-256-GCM) under a key derived from the client secret;
//! - a [`reconfigure`](crate::TokenSource::reconfigure)d source (a rotated secret, another
//!   client) moves to the keys of its new credentials; the old records become unreachable.
//!
//! What the key names do not hide: someone who can read the store and already knows a
//! client ID can test guesses of its secret offline against a key name (it is an HMAC of
//! known fields under a key derived from the secret). Zuora's client secrets are long random
//! strings, so such a search is hopeless; a short, guessable secret is not protected.
//!
//! The fleet's decisions (when a shared record is good enough, the lease, the waits) are
//! the core's [`FleetFetch`](zuora_oauth_core::FleetFetch); the source carries them out,
//! fitted to its own timeout ([`StoreOptions::with_fleet`]): the fetch lease lasts as long
//! as the holder's fetch may (40 s with the default 30 s timeout), so a slow Zuora costs
//! the fleet one request, and a request's deadline covers a wait for another process's
//! lease, so a token that arrives after such a wait is kept. A holder whose store call
//! fails still fetches, saves and releases the lease (best effort), and logs a WARN that
//! says whether the lease was released.

use std::fmt;
use std::time::Duration;

use zuora_oauth_core::{FleetConfig, LeaseId};

pub(crate) mod bound;
pub(crate) mod fleet;
mod seal;

pub use seal::{SealError, Sealer};

/// A store shared by the processes of a fleet: opaque values under keys, and a fetch lease
/// per key. The token source names the key and seals the value ([module docs](self)); the
/// store only keeps bytes. Its calls may block (they run where blocking is allowed: tokio's
/// blocking pool, a thread) and must return within [`StoreCall::timeout`]; a failed call
/// never fails a caller (the process fetches its own token).
///
/// `zuora-oauth-redis` implements it on Redis; implement it for another store.
pub trait TokenStore: Send + Sync + 'static {
    /// The value under [`StoreCall::key`], if any.
    fn load(&self, call: &StoreCall<'_>) -> Result<Option<Vec<u8>>, StoreError>;

    /// Takes the key's fetch lease with value `lease` for `ttl` if nobody holds it (`SET
    /// NX PX`); `Ok(true)` if it is now held with `lease` — including when it already was
    /// (a retried call whose first attempt reached the store) — `Ok(false)` if another
    /// process holds it.
    fn try_lease(
        &self,
        call: &StoreCall<'_>,
        lease: LeaseId,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Stores `value` under the key for `ttl` (the record's remaining lifetime); then, if
    /// `release` is given and the lease still holds it, releases the lease (in the same
    /// round trip if the store can).
    fn save(
        &self,
        call: &StoreCall<'_>,
        value: &[u8],
        ttl: Duration,
        release: Option<LeaseId>,
    ) -> Result<(), StoreError>;

    /// Releases the lease if it still holds `lease` (compare and delete).
    fn release(&self, call: &StoreCall<'_>, lease: LeaseId) -> Result<(), StoreError>;

    /// Deletes the value if it is still exactly `current` (compare and delete); `Ok(true)`
    /// if it deleted it.
    fn delete_if(&self, call: &StoreCall<'_>, current: &[u8]) -> Result<bool, StoreError>;
}

/// One store call: the key it is about and how long it may take.
#[derive(Debug, Clone, Copy)]
pub struct StoreCall<'a> {
    key: &'a str,
    timeout: Duration,
}

impl<'a> StoreCall<'a> {
    /// A call about `key`, to be answered within `timeout` (for stores' own tests; the
    /// token source makes these).
    pub fn new(key: &'a str, timeout: Duration) -> Self {
        Self { key, timeout }
    }

    /// The key: 32 lower-case hex digits derived from the source's credentials, the same in
    /// every process with the same credentials and label. Prefix it as the store needs; a
    /// store holding a value and a lease for it keeps them under two names of its own.
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The most the call may take ([`TokenSourceBuilder::with_store_timeout`]): bound the
    /// store's connection and reads by it. The source stops waiting at this point anyway;
    /// a call that runs on ties up a thread.
    ///
    /// [`TokenSourceBuilder::with_store_timeout`]: crate::TokenSourceBuilder::with_store_timeout
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Why a store call failed. It never holds a secret (stores report connection and protocol
/// errors, never a value).
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
    /// A failure of `kind`; `detail` says what happened (never a value or a secret).
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

/// How a token source uses its store, but for the timeout (which the source's builder sets
/// with the others: [`TokenSourceBuilder::with_store_timeout`]).
///
/// [`TokenSourceBuilder::with_store_timeout`]: crate::TokenSourceBuilder::with_store_timeout
#[derive(Debug, Clone)]
pub struct StoreOptions {
    fleet: FleetConfig,
    label: String,
    warn_every: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            fleet: FleetConfig::default(),
            label: String::new(),
            warn_every: Duration::from_secs(60),
        }
    }
}

impl StoreOptions {
    /// The fleet's rules: when a shared record is good enough, the lease, the polls. The
    /// source fits them to its timeout when it is built: the fetch deadline is the
    /// timeout plus 5 s ([`FleetConfig::with_fetch_deadline`]), so the lease lasts as long
    /// as a token request may (the fetch deadline plus 5 s, or the configured
    /// [`FleetConfig::with_lease_ttl`] if longer: 40 s with the default 30 s timeout); and
    /// the lifecycle's request deadline grows to cover the wait for another process's
    /// lease before the fetch ([`FleetConfig::request_deadline`]: 120.25 s by default), so
    /// that a slow Zuora costs one request for the fleet and no answer is thrown away.
    pub fn with_fleet(mut self, fleet: FleetConfig) -> Self {
        self.fleet = fleet;
        self
    }

    /// A scope label of your choosing (default empty), part of the key and of the
    /// encryption's additional data: sources with the same credentials but different labels
    /// share nothing.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Store failures are logged (`tracing`, WARN) at most once per this interval (default
    /// 60 s), with the number of failures since the last warning.
    pub fn with_warn_every(mut self, interval: Duration) -> Self {
        self.warn_every = interval;
        self
    }

    /// See [`StoreOptions::with_fleet`].
    pub fn fleet(&self) -> &FleetConfig {
        &self.fleet
    }

    /// See [`StoreOptions::with_label`].
    pub fn label(&self) -> &str {
        &self.label
    }

    /// See [`StoreOptions::with_warn_every`].
    pub fn warn_every(&self) -> Duration {
        self.warn_every
    }
}
