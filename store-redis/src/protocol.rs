//! The commands both stores send, and what they make of the answers: the Redis side of
//! [`zuora_oauth_driver::TokenStore`], without the connection.
//!
//! | call | commands | round trips |
//! |---|---|---|
//! | `load` | `GET record` | 1 |
//! | `try_lease` | `EVAL` [`TRY_LEASE`]: `SET lease <id> PX ttl` if the lease is free; taken too if it already holds `<id>` | 1 |
//! | `save` | `EVAL` [`SAVE`]: `SET record <sealed> PX ttl`, and delete the lease if it still holds the id this store took | 1 |
//! | `release` | nothing if `save` released it; else `EVAL` [`COMPARE_AND_DELETE`] on the lease | 0 or 1 |
//! | `invalidate` | `GET record`, then `EVAL` [`COMPARE_AND_DELETE`] with the exact bytes read | 1 or 2 |
//!
//! The record key and the lease key share a hash tag, `{name}`, so both live on one Cluster
//! slot and one script may touch both.

use std::sync::Mutex;
use std::time::Duration;

use redis::{Cmd, RedisError, cmd};
use zuora_oauth_core::{LeaseId, TokenRecord, TokenRequest, may_delete};
use zuora_oauth_driver::{StoreError, StoreErrorKind};

use crate::seal::Sealer;

/// Stores `ARGV[1]` at `KEYS[1]` for `ARGV[2]` ms; then, if `ARGV[3]` is not empty and
/// the lease `KEYS[2]` still holds it, deletes the lease. Returns 1 if it deleted it.
pub(crate) const SAVE: &str = "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then \
return redis.call('DEL', KEYS[2]) end return 0";

/// Takes the lease `KEYS[1]` with the value `ARGV[1]` for `ARGV[2]` ms if nobody holds it
/// (`SET NX PX`). Returns 1 if this value holds it now, taken by this call or by an earlier
/// one (a command asked again after its answer was lost: the store must not then wait a
/// whole TTL for itself), 0 if another value does. A script rather than `SET … NX GET`,
/// which needs Redis 7.
pub(crate) const TRY_LEASE: &str = "local held = redis.call('GET', KEYS[1]) \
if held == ARGV[1] then return 1 end \
if held then return 0 end \
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1";

/// Deletes `KEYS[1]` if it holds exactly `ARGV[1]`. Returns 1 if it deleted it.
pub(crate) const COMPARE_AND_DELETE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/// The keys and the sealer of one token request.
pub(crate) struct Protocol {
    sealer: Sealer,
    record_key: String,
    lease_key: String,
    timeout: Duration,
}

impl Protocol {
    pub(crate) fn new(
        request: &TokenRequest,
        prefix: &str,
        label: &str,
        timeout: Duration,
    ) -> Self {
        let sealer = Sealer::new(request, label);
        let name = sealer.name();
        Self {
            record_key: format!("{prefix}{{{name}}}:token"),
            lease_key: format!("{prefix}{{{name}}}:lease"),
            sealer,
            timeout,
        }
    }

    pub(crate) fn record_key(&self) -> &str {
        &self.record_key
    }

    pub(crate) fn lease_key(&self) -> &str {
        &self.lease_key
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET record`.
    pub(crate) fn get(&self) -> Cmd {
        let mut c = cmd("GET");
        c.arg(&self.record_key);
        c
    }

    /// The record in a `GET` answer; a value that does not open is a miss.
    pub(crate) fn open(&self, value: Option<Vec<u8>>) -> Option<TokenRecord> {
        let record = self.sealer.open(&value?);
        if record.is_none() {
            event!(
                debug,
                "the shared token record cannot be read (another secret, another client, or damaged): a miss"
            );
        }
        record
    }

    /// The [`TRY_LEASE`] script; the answer is 1 (this lease holds it) or 0 (another does).
    pub(crate) fn try_lease(&self, lease: LeaseId, ttl: Duration) -> Cmd {
        let mut c = cmd("EVAL");
        c.arg(TRY_LEASE)
            .arg(1)
            .arg(&self.lease_key)
            .arg(lease_value(lease))
            .arg(millis(ttl));
        c
    }

    /// The [`SAVE`] script for `record`, releasing `held` in the same round trip.
    pub(crate) fn save(
        &self,
        record: &TokenRecord,
        ttl: Duration,
        held: Option<LeaseId>,
    ) -> Result<Cmd, StoreError> {
        let sealed = self.sealer.seal(record).map_err(|_| {
            StoreError::new(
                StoreErrorKind::Other,
                "no random bytes from the OS to encrypt the record",
            )
        })?;
        let mut c = cmd("EVAL");
        c.arg(SAVE)
            .arg(2)
            .arg(&self.record_key)
            .arg(&self.lease_key)
            .arg(sealed)
            .arg(millis(ttl))
            .arg(held.map(lease_value).unwrap_or_default());
        Ok(c)
    }

    /// The [`COMPARE_AND_DELETE`] script on the lease.
    pub(crate) fn release(&self, lease: LeaseId) -> Cmd {
        compare_and_delete(&self.lease_key, lease_value(lease).as_bytes())
    }

    /// After `GET record` answered `value`: the [`COMPARE_AND_DELETE`] script that deletes
    /// it if it is the token `reported` ([`may_delete`]) and still holds those exact bytes;
    /// `None` if there is nothing to delete.
    pub(crate) fn invalidate(&self, value: Option<Vec<u8>>, reported: &TokenRecord) -> Option<Cmd> {
        let value = value?;
        let shared = self.sealer.open(&value)?;
        may_delete(&shared, reported).then(|| compare_and_delete(&self.record_key, &value))
    }
}

fn compare_and_delete(key: &str, value: &[u8]) -> Cmd {
    let mut c = cmd("EVAL");
    c.arg(COMPARE_AND_DELETE).arg(1).arg(key).arg(value);
    c
}

/// The lease's value: the holder's random ID, in hex.
fn lease_value(lease: LeaseId) -> String {
    format!("{:016x}", lease.get())
}

/// A `PX` argument: at least 1 ms (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Which lease this store instance holds, so that `save` can release it in its own round
/// trip and the `release` that follows costs none. Each store value has its own (a clone
/// starts empty): only the attempt that took the lease saves through that store.
#[derive(Default)]
pub(crate) struct LeaseBook(Mutex<Book>);

#[derive(Default)]
struct Book {
    held: Option<LeaseId>,
    released: Option<LeaseId>,
}

impl LeaseBook {
    fn with<T>(&self, f: impl FnOnce(&mut Book) -> T) -> T {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// `try_lease` took `lease`.
    pub(crate) fn taken(&self, lease: LeaseId) {
        self.with(|b| {
            b.held = Some(lease);
            b.released = None;
        });
    }

    /// The lease to release with the save, if this store holds one (it is then no longer
    /// held, whatever the save's outcome: a failed save leaves it to expire).
    pub(crate) fn for_save(&self) -> Option<LeaseId> {
        self.with(|b| b.held.take())
    }

    /// The save that released `lease` succeeded.
    pub(crate) fn saved(&self, lease: Option<LeaseId>) {
        self.with(|b| b.released = lease);
    }

    /// Whether `release(lease)` must still go to Redis (the save did not do it).
    pub(crate) fn must_release(&self, lease: LeaseId) -> bool {
        self.with(|b| {
            if b.held == Some(lease) {
                b.held = None;
            }
            if b.released == Some(lease) {
                b.released = None;
                false
            } else {
                true
            }
        })
    }
}

/// A Redis failure as a [`StoreError`] (Redis's messages name no key value or secret).
pub(crate) fn store_error(e: &RedisError) -> StoreError {
    use redis::ErrorKind as K;
    let kind = if e.is_timeout() {
        StoreErrorKind::Timeout
    } else if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_cluster_error()
        || matches!(
            e.kind(),
            K::AuthenticationFailed | K::ClusterConnectionNotFound | K::InvalidClientConfig
        )
    {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Other
    };
    let mut detail = format!("redis: {e}");
    if detail.len() > 300 {
        let mut end = 300;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
        detail.push('…');
    }
    StoreError::new(kind, detail)
}

/// A call that took longer than the store timeout.
pub(crate) fn timed_out(timeout: Duration) -> StoreError {
    StoreError::new(
        StoreErrorKind::Timeout,
        format!("redis: no answer within {} ms", timeout.as_millis()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn px_is_never_zero() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(8)), 8000);
    }

    #[test]
    fn save_releases_the_held_lease_and_the_release_after_it_is_free() {
        let book = LeaseBook::default();
        let (a, b) = (lease(1), lease(2));
        book.taken(a);
        assert_eq!(book.for_save(), Some(a));
        book.saved(Some(a));
        assert!(!book.must_release(a));
        // Only once, and never for another lease.
        assert!(book.must_release(a));
        assert!(book.must_release(b));
        // A failed save: the release goes to Redis.
        book.taken(b);
        assert_eq!(book.for_save(), Some(b));
        assert!(book.must_release(b));
        // No save (the fetch failed): the release goes to Redis.
        book.taken(a);
        assert!(book.must_release(a));
        assert_eq!(book.for_save(), None);
    }

    fn lease(n: u64) -> LeaseId {
        // LeaseId has no public constructor: take one from a fleet attempt.
        use zuora_oauth_core::{FleetAction, FleetConfig, FleetFetch, Timestamp};
        let mut attempt = FleetFetch::new(FleetConfig::default(), n, None);
        attempt.loaded::<()>(Timestamp::ZERO, std::time::SystemTime::now(), Ok(None));
        match attempt.poll(Timestamp::ZERO) {
            FleetAction::TryLease { lease, .. } => lease,
            other => panic!("expected a lease, got {other:?}"),
        }
    }
}
