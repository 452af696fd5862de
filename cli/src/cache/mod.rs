//! `--cache`: a file store shared by every run of every process of the user: the driver's
//! [`TokenStore`], one file per key, so that a run drives it with the same fleet rules and
//! the same sealing as Redis (see [`crate::fleet`] and [`crate::store`]); whether a record
//! is still good is never decided here.
//!
//! - Where: `$XDG_CACHE_HOME/zuora-token/` (an absolute path), else
//!   `$HOME/.cache/zuora-token/`; the folder is created with mode 0700. A folder that is
//!   not this user's own (another owner, writable by others, a symbolic link, or in a
//!   folder others may change) is not used: the run warns once and goes on without it
//!   (see [`private`]).
//! - Name: `<key>.token`, and its lock file `<key>.lock`, the key being the one the driver
//!   derives from the credentials ([`Sealer::key`](zuora_oauth_driver::store::Sealer::key):
//!   an HMAC of the target, client ID and entity ID under a key derived from the client
//!   secret). A run with another secret (wrong, rotated) looks for another file, and could
//!   not open this one anyway.
//! - Content: `zuora-token-cache/4`, a newline, and the sealed record in base64: the core's
//!   [`TokenRecord`](zuora_oauth_core::TokenRecord) encrypted and authenticated (AES-256-GCM) under a key derived from the
//!   client secret, as in Redis. The file holds no readable token, and never the secret.
//!   Mode 0600.
//! - Writes are atomic (a new temporary file in the same folder, then `rename`), so a
//!   reader gets either the old file or the new one, never half of one.
//! - A regular file that is not ours (owned by another user, readable or writable by
//!   others, corrupt, another format) is a miss; the next write replaces it. A symbolic
//!   link, a FIFO or anything else that is not a regular file, where the file or the lock
//!   file goes, is never followed nor waited on: it is a store failure (one warning; the
//!   run goes on without the cache and leaves it for the user to remove).
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

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zuora_oauth_core::LeaseId;
use zuora_oauth_driver::store::{StoreCall, StoreError, StoreErrorKind, TokenStore};

use lock::Lock;

/// Identifies this program's files (and their layout version).
const FORMAT: &str = "zuora-token-cache/4";

/// How long [`delete_if`](FileStore::delete_if) waits for another run's lease.
const DELETE_WAIT: Duration = Duration::from_secs(1);

/// The cache folder.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    /// The lease this store holds: its key, its value and its lock.
    lease: Mutex<Option<(String, LeaseId, Lock)>>,
}

impl FileStore {
    /// The user's cache folder; `Err` says why there is none, or why it cannot be trusted.
    pub fn open() -> Result<Self, String> {
        let dir = cache_dir()?;
        private::private_dir(&dir)?;
        Ok(Self::at(&dir))
    }

    fn at(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            lease: Mutex::new(None),
        }
    }

    fn path(&self, call: &StoreCall<'_>) -> PathBuf {
        self.dir.join(format!("{}.token", call.key()))
    }

    fn lock_path(&self, call: &StoreCall<'_>) -> PathBuf {
        self.dir.join(format!("{}.lock", call.key()))
    }

    /// The saved value, if the file is one of ours; `Err` if something other than a regular
    /// file is in its place, or it cannot be read.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let text = match private::read(path) {
            Ok(Some(text)) => text,
            Ok(None) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some((format, value)) = text.split_once('\n') else {
            return Ok(None);
        };
        if format != FORMAT {
            return Ok(None);
        }
        Ok(BASE64.decode(value.trim_end()).ok())
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<(String, LeaseId, Lock)>> {
        self.lease.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Unlocks the lock file if this store holds `lease` for `key`.
    fn unlock(&self, key: &str, lease: LeaseId) {
        let mut held = self.held();
        if held
            .as_ref()
            .is_some_and(|(k, l, _)| k == key && *l == lease)
        {
            *held = None;
        }
    }
}

impl TokenStore for FileStore {
    /// The saved value. A file that is missing or not one of ours is a miss (and the next
    /// save replaces it); a link, a FIFO or an unreadable file in its place is an error.
    fn load(&self, call: &StoreCall<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(call);
        self.read(&path)
            .map_err(|e| failed(StoreErrorKind::Other, &path, &e))
    }

    /// Locks the lock file without waiting. `ttl` is not used: see the module's notes.
    fn try_lease(
        &self,
        call: &StoreCall<'_>,
        lease: LeaseId,
        _ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut held = self.held();
        if let Some((key, value, _)) = held.as_ref() {
            // One lease at a time per store: this run holds it (with this value, or not).
            return Ok(key == call.key() && *value == lease);
        }
        let lock_path = self.lock_path(call);
        match lock::try_acquire(&lock_path) {
            Ok(Some(lock)) => {
                *held = Some((call.key().to_owned(), lease, lock));
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(failed(StoreErrorKind::Unavailable, &lock_path, &e)),
        }
    }

    /// Saves `value`, atomically, replacing whatever was there, then releases `release`.
    /// The record keeps its expiry: `ttl` is not needed.
    fn save(
        &self,
        call: &StoreCall<'_>,
        value: &[u8],
        _ttl: Duration,
        release: Option<LeaseId>,
    ) -> Result<(), StoreError> {
        let path = self.path(call);
        let content = format!("{FORMAT}\n{}\n", BASE64.encode(value));
        let written = private::write_atomically(&path, content.as_bytes())
            .map_err(|e| failed(StoreErrorKind::Other, &path, &e));
        if let (Ok(()), Some(lease)) = (&written, release) {
            self.unlock(call.key(), lease);
        }
        written
    }

    /// Unlocks the lock file if this store holds `lease`.
    fn release(&self, call: &StoreCall<'_>, lease: LeaseId) -> Result<(), StoreError> {
        self.unlock(call.key(), lease);
        Ok(())
    }

    /// Removes the file if it still holds `current`, under the lock, so that a token
    /// another run saves meanwhile is never removed.
    fn delete_if(&self, call: &StoreCall<'_>, current: &[u8]) -> Result<bool, StoreError> {
        let held = self.held();
        let lock_path = self.lock_path(call);
        let _lock = match held.as_ref() {
            // This store's lease already keeps the others out.
            Some((key, _, _)) if key == call.key() => None,
            _ => Some(lock::acquire(&lock_path, DELETE_WAIT).map_err(|e| {
                let kind = if e.kind() == io::ErrorKind::TimedOut {
                    StoreErrorKind::Timeout
                } else {
                    StoreErrorKind::Unavailable
                };
                failed(kind, &lock_path, &e)
            })?),
        };
        let path = self.path(call);
        match self.read(&path) {
            Ok(Some(saved)) if saved == current => match std::fs::remove_file(&path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(failed(StoreErrorKind::Other, &path, &e)),
            },
            _ => Ok(false),
        }
    }
}

/// A failure on `path` (a path in the user's cache folder: no secret).
fn failed(kind: StoreErrorKind, path: &Path, e: &io::Error) -> StoreError {
    StoreError::new(kind, format!("{}: {e}", path.display()))
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
    use zuora_oauth_core::{FleetAction, FleetConfig, FleetFetch, Timestamp};

    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn call(key: &str) -> StoreCall<'_> {
        StoreCall::new(key, Duration::from_secs(2))
    }

    /// A lease value, as the core's fleet attempt makes them.
    fn lease(seed: u64) -> LeaseId {
        let mut attempt = FleetFetch::new(FleetConfig::default(), seed, None);
        attempt.loaded::<()>(Timestamp::ZERO, std::time::SystemTime::now(), Ok(None));
        match attempt.poll(Timestamp::ZERO) {
            FleetAction::TryLease { lease, .. } => lease,
            other => panic!("expected a lease: {other:?}"),
        }
    }

    #[test]
    fn the_lease_is_the_lock_file_one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (FileStore::at(dir.path()), FileStore::at(dir.path()));
        let (la, lb) = (lease(1), lease(2));
        let ttl = Duration::from_secs(10);
        assert!(a.try_lease(&call(KEY), la, ttl).unwrap());
        // A retried call finds its own lease.
        assert!(a.try_lease(&call(KEY), la, ttl).unwrap());
        assert!(!b.try_lease(&call(KEY), lb, ttl).unwrap(), "held by a");
        // Releasing another lease value changes nothing.
        b.release(&call(KEY), lb).unwrap();
        a.release(&call(KEY), lb).unwrap();
        assert!(
            !b.try_lease(&call(KEY), lb, ttl).unwrap(),
            "still held by a"
        );
        a.release(&call(KEY), la).unwrap();
        assert!(
            b.try_lease(&call(KEY), lb, ttl).unwrap(),
            "free once released"
        );
        // Dropping the store (as when its process exits) frees it too.
        drop(b);
        assert!(a.try_lease(&call(KEY), la, ttl).unwrap());
    }

    #[test]
    fn save_then_load_and_a_miss_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::at(&dir.path().join("new-folder"));
        assert_eq!(s.load(&call(KEY)), Ok(None));
        s.save(&call(KEY), b"sealed bytes", Duration::from_secs(3599), None)
            .unwrap();
        assert_eq!(s.load(&call(KEY)), Ok(Some(b"sealed bytes".to_vec())));
        std::fs::write(s.path(&call(KEY)), "{not ours").unwrap();
        assert_eq!(s.load(&call(KEY)), Ok(None));
        // Another key is another file.
        let other = "fedcba9876543210fedcba9876543210";
        assert_eq!(s.load(&call(other)), Ok(None));
    }

    #[test]
    fn delete_if_removes_only_the_value_read() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::at(dir.path());
        let ttl = Duration::from_secs(3599);
        assert_eq!(s.delete_if(&call(KEY), b"old"), Ok(false), "nothing saved");
        s.save(&call(KEY), b"new", ttl, None).unwrap();
        assert_eq!(s.delete_if(&call(KEY), b"old"), Ok(false), "another value");
        assert_eq!(s.load(&call(KEY)), Ok(Some(b"new".to_vec())));
        // Under a lease held by this store, without waiting for itself.
        let l = lease(3);
        assert!(s.try_lease(&call(KEY), l, Duration::from_secs(10)).unwrap());
        assert_eq!(s.delete_if(&call(KEY), b"new"), Ok(true));
        assert_eq!(s.load(&call(KEY)), Ok(None));
        s.release(&call(KEY), l).unwrap();
        // Held by another run: it waits, then gives up.
        let other = FileStore::at(dir.path());
        assert!(
            other
                .try_lease(&call(KEY), lease(4), Duration::from_secs(10))
                .unwrap()
        );
        s.save(&call(KEY), b"new", ttl, None).unwrap();
        let busy = s.delete_if(&call(KEY), b"new").unwrap_err();
        assert_eq!(busy.kind(), StoreErrorKind::Timeout);
        assert!(s.load(&call(KEY)).unwrap().is_some());
    }

    #[test]
    fn a_save_that_releases_frees_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (FileStore::at(dir.path()), FileStore::at(dir.path()));
        let l = lease(5);
        assert!(a.try_lease(&call(KEY), l, Duration::from_secs(10)).unwrap());
        a.save(&call(KEY), b"v", Duration::from_secs(60), Some(l))
            .unwrap();
        assert!(
            b.try_lease(&call(KEY), lease(6), Duration::from_secs(10))
                .unwrap()
        );
    }
}
