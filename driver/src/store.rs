//! Sharing one token between processes: the store trait, and the fleet attempt that the
//! detached fetch runs when a source has a store.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use zuora_oauth_core::{FleetAction, FleetConfig, LeaseId, Timestamp, TokenRecord};

use crate::BoxFuture;
use crate::MaybeSend;
use crate::notify::lock;

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
    /// (`SET lease NX PX ttl`); `Ok(false)` if another process does.
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
    /// The fleet's rules: when a shared record is good enough, the lease, the polls.
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
