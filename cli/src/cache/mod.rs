//! `--cache`: a file store of the core's [`TokenRecord`]s, one file per (target, client
//! ID, client secret, entity ID), shared by every run of every process of the user. It is
//! the driver's [`BlockingTokenStore`], so that a run drives it with the same fleet rules as
//! Redis (see [`crate::fleet`]); whether a record is still good is never decided here.
//!
//! - Where: `$XDG_CACHE_HOME/zuora-token/` (an absolute path), else
//!   `$HOME/.cache/zuora-token/`; the folder is created with mode 0700. A folder that is
//!   not this user's own (another owner, writable by others, a symbolic link, or in a
//!   folder others may change) is not used: the run warns once and goes on without it
//!   (see [`private`]).
//! - Name: `<32 hex digits>.json`, and its lock file `<same>.lock`: the first 128 bits of
//!   HMAC-SHA256 over the key (target, client ID, entity ID) under a key derived from the
//!   client secret (HKDF-SHA256), as the Redis store names its keys. A run with another
//!   secret (wrong, rotated) looks for another file: it never gets the token saved with
//!   this one. The file holds the key and that name too and is used only when both match,
//!   so a copied file is simply a miss.
//! - Content: `{"format":"zuora-token-cache/3","key":{…},"record":{…}}`, the record being
//!   the core's serialised [`TokenRecord`] (the token, its jti, scope, issue and expiry
//!   times); never the secret. Mode 0600. The record is not encrypted yet: the file's mode
//!   and the folder's checks keep it to its user.
//! - The key's target is the base URL, or `mock` for `--mock`, whose server gets a new
//!   port every run.
//! - Writes are atomic (a new temporary file in the same folder, then `rename`), so a
//!   reader gets either the old file or the new one, never half of one.
//! - A regular file that is not ours (owned by another user, readable or writable by
//!   others, corrupt, another key or format) is a miss; the next write replaces it. A
//!   symbolic link, a FIFO or anything else that is not a regular file, where the file or
//!   the lock file goes, is never followed nor waited on: it is a store failure (one
//!   warning; the run goes on without the cache and leaves it for the user to remove).
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

use ring::hkdf::{HKDF_SHA256, Salt};
use ring::hmac::{self, HMAC_SHA256};
use serde::{Deserialize, Serialize};
use zuora_oauth_core::{LeaseId, TokenRecord, TokenRequest, may_delete};
use zuora_oauth_driver::{BlockingTokenStore, StoreError, StoreErrorKind};

use lock::Lock;

/// Identifies this program's files (and their layout version).
const FORMAT: &str = "zuora-token-cache/3";

/// HKDF salt of the key that names the files: names this scheme and its version.
const SALT: &[u8] = b"zuora-token cache v3";
/// HKDF `info` of that key.
const INFO_NAME: &[u8] = b"zuora-token cache v3 file-name key";
/// Bytes of the HMAC kept in the file name (128 bits).
const NAME_BYTES: usize = 16;

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
    /// The file's name: the HMAC of the fields above under a key derived from the client
    /// secret ([`Key::name`]), in hex. It binds the entry to the secret without holding it.
    name: String,
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
    /// says why there is no cache folder, or why it cannot be trusted.
    pub fn for_request(request: &TokenRequest, mock: bool) -> Result<Self, String> {
        let target = if mock {
            MOCK_TARGET
        } else {
            request.environment().base_url()
        };
        let key = Key::new(
            target,
            request.client_id().as_str(),
            request.entity_id().map(|e| e.as_str()),
            request.client_secret().expose_secret(),
        );
        let dir = cache_dir()?;
        private::private_dir(&dir)?;
        Ok(Self::at(&dir, key))
    }

    fn at(dir: &Path, key: Key) -> Self {
        Self {
            path: dir.join(format!("{}.json", key.name)),
            lock_path: dir.join(format!("{}.lock", key.name)),
            key,
            lease: Mutex::new(None),
        }
    }

    /// The saved record, if the file is one of ours for this key; `Err` if something
    /// other than a regular file is in its place, or it cannot be read.
    fn read(&self) -> io::Result<Option<TokenRecord>> {
        let text = match private::read(&self.path) {
            Ok(Some(text)) => text,
            Ok(None) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Ok(envelope) = serde_json::from_str::<ReadEnvelope>(&text) else {
            return Ok(None);
        };
        Ok((envelope.format == FORMAT && envelope.key == self.key).then_some(envelope.record))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<(LeaseId, Lock)>> {
        self.lease.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BlockingTokenStore for FileStore {
    /// The saved record. A file that is missing or not one of ours for this key is a miss
    /// (and the next save replaces it); a link, a FIFO or an unreadable file in its place
    /// is an error.
    fn load(&self) -> Result<Option<TokenRecord>, StoreError> {
        self.read()
            .map_err(|e| failed(StoreErrorKind::Other, &self.path, &e))
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
            Ok(Some(saved)) if may_delete(&saved, reported) => {
                match std::fs::remove_file(&self.path) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(failed(StoreErrorKind::Other, &self.path, &e)),
                }
            }
            _ => Ok(false),
        }
    }
}

/// A failure on `path` (a path in the user's cache folder: no secret).
fn failed(kind: StoreErrorKind, path: &Path, e: &io::Error) -> StoreError {
    StoreError::new(kind, format!("{}: {e}", path.display()))
}

impl Key {
    /// The key of (target, client ID, entity ID), named under `secret`.
    fn new(target: &str, client_id: &str, entity_id: Option<&str>, secret: &str) -> Self {
        let mut key = Self {
            target: target.to_owned(),
            client_id: client_id.to_owned(),
            entity_id: entity_id.map(str::to_owned),
            name: String::new(),
        };
        key.name = key.name(secret);
        key
    }

    /// The first 128 bits of HMAC-SHA256 over the key's fields (each length-prefixed, so
    /// that no two keys share an encoding), under a key that HKDF-SHA256 derives from
    /// `secret`, in hex: the same for every run with the same secret, unrelated for
    /// another. It does not reveal the secret; like the Redis store's key names, it lets
    /// whoever reads it test a guess of the secret offline.
    fn name(&self, secret: &str) -> String {
        let prk = Salt::new(HKDF_SHA256, SALT).extract(secret.as_bytes());
        // `expand` fails only for outputs longer than 255 hash lengths; this is 32 bytes.
        let name_key: hmac::Key = prk
            .expand(&[INFO_NAME], HMAC_SHA256)
            .expect("a 32-byte HKDF output")
            .into();
        let mut binding = b"zuora-token cache v3 key".to_vec();
        for field in [
            self.target.as_str(),
            self.client_id.as_str(),
            self.entity_id.as_deref().unwrap_or(""),
        ] {
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            binding.extend_from_slice(&len.to_be_bytes());
            binding.extend_from_slice(field.as_bytes());
        }
        let tag = hmac::sign(&name_key, &binding);
        tag.as_ref()[..NAME_BYTES]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
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
        FileStore::at(dir, Key::new("https://rest.zuora.com", "id", None, "s"))
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
    fn the_name_is_stable_and_depends_on_every_part_and_on_the_secret() {
        let name = |b: &str, c: &str, e: Option<&str>, s: &str| Key::new(b, c, e, s).name;
        let a = name("https://rest.zuora.com", "id", None, "s");
        // HKDF-SHA256 then HMAC-SHA256 are fixed: the same key gives the same file name in
        // every version (computed independently with Python's hmac and hashlib).
        assert_eq!(a, "b9dd2293f067e0d727a12ee903940210");
        assert_eq!(name("", "", None, ""), "f35b2a260ec3065158f250a73173f8f2");
        for other in [
            name("https://rest.zuora.co", "mid", None, "s"),
            name("https://rest.zuora.com", "id", Some("e"), "s"),
            name("https://rest.zuora.com", "id", Some(""), "t"),
            name("https://rest.zuora.com", "id", None, "t"),
            name("https://rest.zuora.com", "id", None, "s "),
        ] {
            assert_ne!(other, a);
        }
        // The name is all the file name holds of the secret.
        let dir = tempfile::tempdir().unwrap();
        let file = FileStore::at(dir.path(), Key::new("t", "id", None, "a-secret"));
        assert!(!file.path.to_string_lossy().contains("a-secret"));
    }

    #[test]
    fn a_record_saved_under_another_secret_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let right = FileStore::at(dir.path(), Key::new("t", "id", None, "right"));
        right
            .save(
                &record("c652cbc0ea384b9f81856a93a2a74538"),
                Duration::from_secs(60),
            )
            .unwrap();
        let wrong = FileStore::at(dir.path(), Key::new("t", "id", None, "wrong"));
        assert_eq!(wrong.load(), Ok(None));
        // Even with its file copied under the other's name.
        std::fs::copy(&right.path, &wrong.path).unwrap();
        assert_eq!(wrong.load(), Ok(None));
        assert!(right.load().unwrap().is_some());
    }
}
