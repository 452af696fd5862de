//! The commands the store sends, and the key layout.
//!
//! | call | commands | round trips |
//! |---|---|---|
//! | `load` | `GET record` | 1 |
//! | `try_lease` | `EVAL` [`TRY_LEASE`]: `SET lease <id> PX ttl` if the lease is free, or already ours | 1 |
//! | `save` | `EVAL` [`SAVE`]: `SET record <sealed> PX ttl`, and delete the lease if it still holds the id given | 1 |
//! | `release` | `EVAL` [`COMPARE_AND_DELETE`] on the lease | 1 |
//! | `delete_if` | `EVAL` [`COMPARE_AND_DELETE`] with the exact bytes read | 1 |
//!
//! The record key and the lease key share a hash tag, `{key}`, so both live on one Cluster
//! slot and one script may touch both.

use std::time::Duration;

use redis::{Cmd, RedisError, cmd};
use zuora_oauth_core::LeaseId;
use zuora_oauth_driver::store::{StoreError, StoreErrorKind};

/// Takes the lease `KEYS[1]` with `ARGV[1]` for `ARGV[2]` ms if it is free, or already
/// holds `ARGV[1]` (a retried call whose first attempt reached Redis). Returns 1 if the
/// lease is ours.
pub(crate) const TRY_LEASE: &str = "local held = redis.call('GET', KEYS[1]) \
if held == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end \
if held == ARGV[1] then return 1 end return 0";

/// Stores `ARGV[1]` at `KEYS[1]` for `ARGV[2]` ms; then, if `ARGV[3]` is not empty and
/// the lease `KEYS[2]` still holds it, deletes the lease. Returns 1 if it deleted it.
pub(crate) const SAVE: &str = "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then \
return redis.call('DEL', KEYS[2]) end return 0";

/// Deletes `KEYS[1]` if it holds exactly `ARGV[1]`. Returns 1 if it deleted it.
pub(crate) const COMPARE_AND_DELETE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/// The Redis keys of one store key.
pub(crate) struct Keys {
    pub(crate) record: String,
    pub(crate) lease: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str, key: &str) -> Self {
        Self {
            record: format!("{prefix}{{{key}}}:token"),
            lease: format!("{prefix}{{{key}}}:lease"),
        }
    }
}

/// The [`TRY_LEASE`] script.
pub(crate) fn try_lease(keys: &Keys, lease: LeaseId, ttl: Duration) -> Cmd {
    let mut c = cmd("EVAL");
    c.arg(TRY_LEASE)
        .arg(1)
        .arg(&keys.lease)
        .arg(lease_value(lease))
        .arg(millis(ttl));
    c
}

/// The [`SAVE`] script for `value`, releasing `held` in the same round trip.
pub(crate) fn save(keys: &Keys, value: &[u8], ttl: Duration, held: Option<LeaseId>) -> Cmd {
    let mut c = cmd("EVAL");
    c.arg(SAVE)
        .arg(2)
        .arg(&keys.record)
        .arg(&keys.lease)
        .arg(value)
        .arg(millis(ttl))
        .arg(held.map(lease_value).unwrap_or_default());
    c
}

/// The [`COMPARE_AND_DELETE`] script.
pub(crate) fn compare_and_delete(key: &str, value: &[u8]) -> Cmd {
    let mut c = cmd("EVAL");
    c.arg(COMPARE_AND_DELETE).arg(1).arg(key).arg(value);
    c
}

/// The lease's value: the holder's random ID, in hex.
pub(crate) fn lease_value(lease: LeaseId) -> String {
    format!("{:016x}", lease.get())
}

/// A `PX` argument: at least 1 ms (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
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
    fn both_keys_share_the_hash_tag() {
        let keys = Keys::new("zuora-oauth:", "0123abcd");
        assert_eq!(keys.record, "zuora-oauth:{0123abcd}:token");
        assert_eq!(keys.lease, "zuora-oauth:{0123abcd}:lease");
    }
}
