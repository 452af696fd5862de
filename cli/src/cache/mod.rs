//! `--cache`: a file store of the core's [`TokenRecord`]s, one file per (target, client
//! ID, entity ID), shared by every run of every process of the user. It is the driver's
//! [`BlockingTokenStore`], so that a run drives it with the same fleet rules as Redis (see
//! [`crate::fleet`]); whether a record is still good is never decided here.
//!
//! - Where: `$XDG_CACHE_HOME/zuora-token/` (an absolute path), else
//!   `$HOME/.cache/zuora-token/`; the folder is created with mode 0700.
//! - Name: a hash of the key, `<16 hex digits>.json`, and its lock file `<same>.lock`. The
//!   file holds the key too and is used only when it matches, so a collision or a copied
//!   file is simply a miss.
//! - Content: `{"format":"zuora-token-cache/2","key":{…},"record":{…}}`, the record being
//!   the core's serialised [`TokenRecord`] (the token, its jti, scope, issue and expiry
//!   times); never the secret. Mode 0600.
//! - The key's target is the base URL, or `mock` for `--mock`, whose server gets a new
//!   port every run.
//! - Writes are atomic (a new temporary file in the same folder, then `rename`), so a
//!   reader gets either the old file or the new one, never half of one.
//! - Anything wrong with a file (unreadable, not a regular file, owned by another user,
//!   readable or writable by others, corrupt, another key or format) makes it a miss; the
//!   next write replaces it.
//! - The fetch lease is an advisory lock on the lock file (see [`lock`]): taken without
//!   waiting, held until released. The lease's TTL is not needed: the operating system
//!   frees the lock of a holder that died at once, and the fleet rules stop waiting for a
//!   live holder after twice the TTL.

mod lock;
mod private;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zuora_oauth_core::{LeaseId, TokenRecord, TokenRequest, may_delete};
use zuora_oauth_driver::{BlockingTokenStore, StoreError, StoreErrorKind};

use lock::Lock;

/// Identifies this program's files (and their layout version).
const FORMAT: &str = "zuora-token-cache/2";

/// The key's target for `--mock`.
const MOCK_TARGET: &str = "mock";

/// How long [`invalidate`](FileStore::invalidate) waits for another run's lease.
const INVALIDATE_WAIT: Duration = Duration::from_secs(1);

/// The cache entry for one (target, client ID, entity ID).
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
    key: Key,
    /// The lease this store holds, and its lock.
    lease: Mutex<Option<(LeaseId, Lock)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Key {
    /// The base URL, or [`MOCK_TARGET`].
    target: String,
    client_id: String,
    entity_id: Option<String>,
}

/// The file's content, as written.
#[derive(Serialize)]
struct Envelope<'a> {
    format: &'a str,
    key: &'a Key,
    record: &'a TokenRecord,
}

/// The file's content, as read.
#[derive(Deserialize)]
struct ReadEnvelope {
    format: String,
    key: Key,
    record: TokenRecord,
}

impl FileStore {
    /// The entry for `request`'s key (for `--mock` when `mock`) in the cache folder; `Err`
    /// says why there is no cache folder.
    pub fn for_request(request: &TokenRequest, mock: bool) -> Result<Self, String> {
        let target = if mock {
            MOCK_TARGET
        } else {
            request.environment().base_url()
        };
        let key = Key {
            target: target.to_owned(),
            client_id: request.client_id().as_str().to_owned(),
            entity_id: request.entity_id().map(|e| e.as_str().to_owned()),
        };
        Ok(Self::at(&cache_dir()?, key))
    }

    fn at(dir: &Path, key: Key) -> Self {
        let name = format!("{:016x}", key.hash());
        Self {
            path: dir.join(format!("{name}.json")),
            lock_path: dir.join(format!("{name}.lock")),
            key,
            lease: Mutex::new(None),
        }
    }

    /// The saved record, if the file is one of ours for this key.
    fn read(&self) -> Option<TokenRecord> {
        let text = private::read(&self.path).ok()??;
        let envelope: ReadEnvelope = serde_json::from_str(&text).ok()?;
        (envelope.format == FORMAT && envelope.key == self.key).then_some(envelope.record)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<(LeaseId, Lock)>> {
        self.lease.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BlockingTokenStore for FileStore {
    /// The saved record. Never fails: a file that is missing, unreadable or not one of ours
    /// for this key is a miss (and the next save replaces it).
    fn load(&self) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.read())
    }

    /// Locks the lock file without waiting. `ttl` is not used: see the module's notes.
    fn try_lease(&self, lease: LeaseId, _ttl: Duration) -> Result<bool, StoreError> {
        let mut held = self.held();
        if held.is_some() {
            // One lease at a time per store: this run already holds it.
            return Ok(false);
        }
        match lock::try_acquire(&self.lock_path) {
            Ok(Some(lock)) => {
                *held = Some((lease, lock));
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(failed(StoreErrorKind::Unavailable, &self.lock_path, &e)),
        }
    }

    /// Saves `record`, atomically, replacing whatever was there. The file keeps the
    /// record's expiry: `ttl` is not needed.
    fn save(&self, record: &TokenRecord, _ttl: Duration) -> Result<(), StoreError> {
        let envelope = Envelope {
            format: FORMAT,
            key: &self.key,
            record,
        };
        let mut bytes = serde_json::to_vec(&envelope)
            .map_err(|e| failed(StoreErrorKind::Other, &self.path, &io::Error::other(e)))?;
        bytes.push(b'\n');
        private::write_atomically(&self.path, &bytes)
            .map_err(|e| failed(StoreErrorKind::Other, &self.path, &e))
    }

    /// Unlocks the lock file if this store holds `lease`.
    fn release(&self, lease: LeaseId) -> Result<(), StoreError> {
        let mut held = self.held();
        if held.as_ref().is_some_and(|(l, _)| *l == lease) {
            *held = None;
        }
        Ok(())
    }

    /// Removes the file if it still holds `reported` ([`may_delete`]), under the lock, so
    /// that a token another run saves meanwhile is never removed.
    fn invalidate(&self, reported: &TokenRecord) -> Result<bool, StoreError> {
        let held = self.held();
        let _lock = match *held {
            Some(_) => None, // this store's lease already keeps the others out
            None => Some(
                lock::acquire(&self.lock_path, INVALIDATE_WAIT).map_err(|e| {
                    let kind = if e.kind() == io::ErrorKind::TimedOut {
                        StoreErrorKind::Timeout
                    } else {
                        StoreErrorKind::Unavailable
                    };
                    failed(kind, &self.lock_path, &e)
                })?,
            ),
        };
        match self.read() {
            Some(saved) if may_delete(&saved, reported) => match std::fs::remove_file(&self.path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(failed(StoreErrorKind::Other, &self.path, &e)),
            },
            _ => Ok(false),
        }
    }
}

/// A failure on `path` (a path in the user's cache folder: no secret).
fn failed(kind: StoreErrorKind, path: &Path, e: &io::Error) -> StoreError {
    StoreError::new(kind, format!("{}: {e}", path.display()))
}

impl Key {
    /// FNV-1a (64 bits) of the key's parts, each followed by a NUL: stable across Rust
    /// versions and platforms, so the file name never changes under the user.
    fn hash(&self) -> u64 {
        let parts = [
            self.target.as_str(),
            self.client_id.as_str(),
            self.entity_id.as_deref().unwrap_or(""),
        ];
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for &b in part.as_bytes().iter().chain(&[0]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h
    }
}

/// `$XDG_CACHE_HOME/zuora-token`, else `$HOME/.cache/zuora-token`. The XDG spec says a
/// relative `XDG_CACHE_HOME` is to be ignored.
fn cache_dir() -> Result<PathBuf, String> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(xdg) = absolute("XDG_CACHE_HOME") {
        return Ok(xdg.join("zuora-token"));
    }
    if let Some(home) = absolute("HOME") {
        return Ok(home.join(".cache").join("zuora-token"));
    }
    Err("neither XDG_CACHE_HOME nor HOME is set to an absolute path".into())
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use zuora_oauth_core::{AccessToken, FleetAction, FleetConfig, FleetFetch, Timestamp, Token};

    use super::*;

    fn store(dir: &Path) -> FileStore {
        let key = Key {
            target: "https://rest.zuora.com".into(),
            client_id: "id".into(),
            entity_id: None,
        };
        FileStore::at(dir, key)
    }

    fn record(access_token: &str) -> TokenRecord {
        let token = Token::new(
            AccessToken::new(access_token).unwrap(),
            Duration::from_secs(3599),
        );
        TokenRecord::new(&token, SystemTime::now())
    }

    /// A lease value, as the core's fleet attempt makes them.
    fn lease(seed: u64) -> LeaseId {
        let mut attempt = FleetFetch::new(FleetConfig::default(), seed, None);
        attempt.loaded::<()>(Timestamp::ZERO, SystemTime::now(), Ok(None));
        match attempt.poll(Timestamp::ZERO) {
            FleetAction::TryLease { lease, .. } => lease,
            other => panic!("expected a lease: {other:?}"),
        }
    }

    #[test]
    fn the_lease_is_the_lock_file_one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(dir.path()), store(dir.path()));
        let (la, lb) = (lease(1), lease(2));
        let ttl = Duration::from_secs(10);
        assert!(a.try_lease(la, ttl).unwrap());
        assert!(!b.try_lease(lb, ttl).unwrap(), "held by a");
        // Releasing another lease value changes nothing.
        b.release(lb).unwrap();
        a.release(lb).unwrap();
        assert!(!b.try_lease(lb, ttl).unwrap(), "still held by a");
        a.release(la).unwrap();
        assert!(b.try_lease(lb, ttl).unwrap(), "free once released");
        // Dropping the store (as when its process exits) frees it too.
        drop(b);
        assert!(a.try_lease(la, ttl).unwrap());
    }

    #[test]
    fn save_then_load_and_a_miss_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir.path().join("new-folder"));
        assert_eq!(s.load(), Ok(None));
        let saved = record("c652cbc0ea384b9f81856a93a2a74538");
        s.save(&saved, Duration::from_secs(3599)).unwrap();
        assert!(s.load().unwrap().unwrap().same_token(&saved));
        std::fs::write(&s.path, "{not json").unwrap();
        assert_eq!(s.load(), Ok(None));
    }

    #[test]
    fn invalidate_removes_only_the_reported_token() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let (old, new) = (
            record("c652cbc0ea384b9f81856a93a2a74538"),
            record("d763dcd1fb495c0a92967b04b3b85649"),
        );
        assert_eq!(s.invalidate(&old), Ok(false), "nothing saved");
        s.save(&new, Duration::from_secs(3599)).unwrap();
        assert_eq!(s.invalidate(&old), Ok(false), "another token is saved");
        assert!(s.load().unwrap().unwrap().same_token(&new));
        // Under a lease held by this store, without waiting for itself.
        let l = lease(3);
        assert!(s.try_lease(l, Duration::from_secs(10)).unwrap());
        assert_eq!(s.invalidate(&new), Ok(true));
        assert_eq!(s.load(), Ok(None));
        s.release(l).unwrap();
        // Held by another run: it waits, then gives up.
        let other = store(dir.path());
        assert!(other.try_lease(lease(4), Duration::from_secs(10)).unwrap());
        s.save(&new, Duration::from_secs(3599)).unwrap();
        let busy = s.invalidate(&new).unwrap_err();
        assert_eq!(busy.kind(), StoreErrorKind::Timeout);
        assert!(s.load().unwrap().is_some());
    }

    #[test]
    fn hash_is_stable_and_separates_parts() {
        let key = |b: &str, c: &str, e: Option<&str>| Key {
            target: b.into(),
            client_id: c.into(),
            entity_id: e.map(Into::into),
        };
        let a = key("https://rest.zuora.com", "id", None);
        assert_eq!(a.hash(), key("https://rest.zuora.com", "id", None).hash());
        assert_ne!(a.hash(), key("https://rest.zuora.co", "mid", None).hash());
        assert_ne!(
            a.hash(),
            key("https://rest.zuora.com", "id", Some("e")).hash()
        );
        // FNV-1a is fixed: the same key gives the same file name in every version.
        assert_eq!(key("", "", None).hash(), 0xd94d_1218_6c0f_2fb7);
    }
}
