//! A store bound to one token request: its key and sealer derived from the request, every
//! call run off the executor and cut at the store timeout, failures counted and logged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use zuora_oauth_core::{LeaseId, Timestamp, TokenRecord, TokenRequest, may_delete};

use super::{Sealer, StoreCall, StoreError, StoreErrorKind, StoreOptions, TokenStore};
use crate::metrics::StoreAnswer;
use crate::notify::{lock, race};
use crate::runtime::{Runtime, run_blocking};

/// The source's store for its current credentials.
pub(crate) struct BoundStore {
    store: Arc<dyn TokenStore>,
    sealer: Arc<Sealer>,
    pub(crate) options: StoreOptions,
    timeout: Duration,
    health: Arc<Mutex<Health>>,
    /// The labels of the store calls' metrics (nothing without the feature `metrics`).
    labels: crate::metrics::Labels,
}

#[derive(Default)]
struct Health {
    failures: u64,
    last_warning: Option<Timestamp>,
    unreported: u64,
}

impl BoundStore {
    /// `store` for `request`'s tokens.
    pub(crate) fn new(
        store: Arc<dyn TokenStore>,
        request: &TokenRequest,
        options: StoreOptions,
        timeout: Duration,
    ) -> Self {
        Self {
            sealer: Arc::new(Sealer::new(request, options.label())),
            store,
            options,
            timeout,
            health: Arc::default(),
            labels: crate::metrics::Labels::of(request),
        }
    }

    /// The same store for other credentials (a reconfigured source): new key, new sealer;
    /// the failure count goes on.
    pub(crate) fn rebind(&self, request: &TokenRequest) -> Self {
        Self {
            store: Arc::clone(&self.store),
            sealer: Arc::new(Sealer::new(request, self.options.label())),
            options: self.options.clone(),
            timeout: self.timeout,
            health: Arc::clone(&self.health),
            labels: crate::metrics::Labels::of(request),
        }
    }

    /// Store calls that failed so far.
    pub(crate) fn failures(&self) -> u64 {
        lock(&self.health).failures
    }

    /// The shared record, if there is one that opens (anything else is a miss).
    pub(crate) async fn load(
        &self,
        runtime: &dyn Runtime,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let value = self.call(runtime, now, "load", |s, c| s.load(c)).await?;
        Ok(value.and_then(|v| self.open(&v)))
    }

    /// Takes the lease.
    pub(crate) async fn try_lease(
        &self,
        runtime: &dyn Runtime,
        now: Timestamp,
        lease: LeaseId,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.call(runtime, now, "try_lease", move |s, c| {
            s.try_lease(c, lease, ttl)
        })
        .await
    }

    /// Seals and stores `record` for its remaining lifetime at `wall`, releasing `release`.
    pub(crate) async fn save(
        &self,
        runtime: &dyn Runtime,
        now: Timestamp,
        record: &TokenRecord,
        ttl: Duration,
        release: Option<LeaseId>,
    ) -> Result<(), StoreError> {
        let sealed = self
            .sealer
            .seal(record)
            .map_err(|e| StoreError::new(StoreErrorKind::Other, e.to_string()));
        let sealed = match sealed {
            Ok(sealed) => sealed,
            Err(e) => {
                self.failed(now, "save", &e);
                return Err(e);
            }
        };
        self.call(runtime, now, "save", move |s, c| {
            s.save(c, &sealed, ttl, release)
        })
        .await
    }

    /// Releases the lease.
    pub(crate) async fn release(
        &self,
        runtime: &dyn Runtime,
        now: Timestamp,
        lease: LeaseId,
    ) -> Result<(), StoreError> {
        self.call(runtime, now, "release", move |s, c| s.release(c, lease))
            .await
    }

    /// Deletes the shared record if it is the token `reported` ([`may_delete`]) and has not
    /// changed since it was read. Returns whether it deleted one.
    pub(crate) async fn invalidate(
        &self,
        runtime: &dyn Runtime,
        now: Timestamp,
        reported: &TokenRecord,
    ) -> Result<bool, StoreError> {
        let Some(value) = self.call(runtime, now, "load", |s, c| s.load(c)).await? else {
            return Ok(false);
        };
        let deletable = self
            .open(&value)
            .is_some_and(|shared| may_delete(&shared, reported));
        if !deletable {
            return Ok(false);
        }
        self.call(runtime, now, "delete_if", move |s, c| {
            s.delete_if(c, &value)
        })
        .await
    }

    fn open(&self, value: &[u8]) -> Option<TokenRecord> {
        let record = self.sealer.open(value);
        if record.is_none() {
            event!(
                debug,
                "the shared token record cannot be read (another secret, another client, or damaged): a miss"
            );
        }
        record
    }

    /// Runs `f` on the store off the executor, cut at the store timeout; a failure is
    /// counted (and logged, rate limited).
    async fn call<T: StoreAnswer + Send + 'static>(
        &self,
        runtime: &dyn Runtime,
        now: Timestamp,
        what: &'static str,
        f: impl FnOnce(&dyn TokenStore, &StoreCall<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (store, sealer, timeout) = (
            Arc::clone(&self.store),
            Arc::clone(&self.sealer),
            self.timeout,
        );
        let job = run_blocking(runtime, move || {
            f(&*store, &StoreCall::new(sealer.key(), timeout))
        });
        let result = match race(job, runtime.sleep(timeout)).await {
            Some(Some(result)) => result,
            Some(None) => Err(StoreError::new(
                StoreErrorKind::Other,
                "the store call panicked",
            )),
            None => Err(StoreError::new(
                StoreErrorKind::Timeout,
                format!("no answer within {} ms", timeout.as_millis()),
            )),
        };
        match &result {
            Ok(answer) => crate::metrics::store_answered(&self.labels, what, answer),
            Err(e) => self.failed(now, what, e),
        }
        result
    }

    /// Counts a failed call at `now`, and warns if the last warning is old enough.
    fn failed(&self, now: Timestamp, what: &'static str, error: &StoreError) {
        crate::metrics::store_failed(&self.labels, what, error);
        let mut h = lock(&self.health);
        h.failures += 1;
        h.unreported += 1;
        let due = h
            .last_warning
            .is_none_or(|last| now.saturating_duration_since(last) >= self.options.warn_every());
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
}
