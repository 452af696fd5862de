//! `--cache`: a file store of the core's [`TokenRecord`]s, one file per (target, client
//! ID, entity ID), shared by every run of every process of the user.
//!
//! A store's operations are the ones a shared store needs: [`load`](FileStore::load) a
//! record, take the [`lock`](FileStore::lock) (a lease, released on drop) before fetching,
//! [`save`](FileStore::save) a record. Whether a record is still good is not decided here:
//! the core's lifecycle decides (see [`crate::fetch`]).
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

mod lock;
mod private;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zuora_oauth_core::{TokenRecord, TokenRequest};

pub use lock::Lease;

/// Identifies this program's files (and their layout version).
const FORMAT: &str = "zuora-token-cache/2";

/// The key's target for `--mock`.
const MOCK_TARGET: &str = "mock";

/// The cache entry for one (target, client ID, entity ID).
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
    key: Key,
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
        let name = format!("{:016x}", key.hash());
        let dir = cache_dir()?;
        Ok(Self {
            path: dir.join(format!("{name}.json")),
            lock_path: dir.join(format!("{name}.lock")),
            key,
        })
    }

    /// The file this entry lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved record, if the file is one of ours for this key.
    pub fn load(&self) -> Option<TokenRecord> {
        let text = private::read(&self.path).ok()??;
        let envelope: ReadEnvelope = serde_json::from_str(&text).ok()?;
        (envelope.format == FORMAT && envelope.key == self.key).then_some(envelope.record)
    }

    /// Saves `record`, atomically, replacing whatever was there.
    pub fn save(&self, record: &TokenRecord) -> io::Result<()> {
        let envelope = Envelope {
            format: FORMAT,
            key: &self.key,
            record,
        };
        let mut bytes = serde_json::to_vec(&envelope).map_err(io::Error::other)?;
        bytes.push(b'\n');
        private::write_atomically(&self.path, &bytes)
    }

    /// Takes this entry's lock, waiting for another run's at most `wait`: whoever holds it
    /// is fetching a token for this key. Released when the [`Lease`] is dropped.
    pub fn lock(&self, wait: Duration) -> io::Result<Lease> {
        lock::acquire(&self.lock_path, wait)
    }
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
    use super::*;

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
