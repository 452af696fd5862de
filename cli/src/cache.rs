//! `--cache`: a still-fresh token kept between runs, one file per (base URL, client ID,
//! entity ID).
//!
//! - Where: `$XDG_CACHE_HOME/zuora-token/` (an absolute path), else
//!   `$HOME/.cache/zuora-token/`; the folder is created with mode 0700.
//! - Name: a hash of the key, `<16 hex digits>.json`. The file holds the key too and is
//!   used only when it matches, so a collision or a copied file is simply a miss.
//! - Content: the token, what `--format json` prints, and its expiry; never the secret.
//!   Mode 0600.
//! - Reuse: while the token has more than the core's refresh window
//!   ([`LifecycleConfig::refresh_window`], 5 minutes) left, so a script never receives a
//!   token about to expire.
//! - Writes are atomic (a new temporary file in the same folder, then `rename`), so
//!   concurrent runs read either the old file or the new one, never half of one.
//! - Anything wrong with a file (unreadable, not a regular file, readable by others,
//!   corrupt, another key, expired) makes it a miss; the next write replaces it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use zuora_oauth_core::{AccessToken, LifecycleConfig, TokenRequest};

use crate::output::Issued;

/// Identifies this program's files (and their layout version).
const FORMAT: &str = "zuora-token-cache/1";
/// Files larger than this are not ours.
const MAX_FILE: u64 = 64 * 1024;

/// The cache entry for one (base URL, client ID, entity ID).
#[derive(Debug)]
pub struct Cache {
    path: PathBuf,
    key: Key,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Key {
    base_url: String,
    client_id: String,
    entity_id: Option<String>,
}

/// The file's content.
#[derive(Serialize, Deserialize)]
struct Record {
    format: String,
    #[serde(flatten)]
    key: Key,
    access_token: String,
    token_type: String,
    scope: String,
    /// Seconds.
    expires_in: f64,
    jti: Option<String>,
    /// Milliseconds since the Unix epoch.
    expires_at_unix_ms: u64,
    request_id: Option<String>,
}

impl Cache {
    /// The entry for `request`'s key, in the cache folder; `Err` says why there is no
    /// cache folder.
    pub fn for_request(request: &TokenRequest) -> Result<Self, String> {
        let key = Key {
            base_url: request.environment().base_url().to_owned(),
            client_id: request.client_id().as_str().to_owned(),
            entity_id: request.entity_id().map(|e| e.as_str().to_owned()),
        };
        let dir = cache_dir()?;
        let path = dir.join(format!("{:016x}.json", key.hash()));
        Ok(Self { path, key })
    }

    /// The file this entry lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cached token, if there is one with more than the refresh window left at `now`.
    pub fn load(&self, now: SystemTime) -> Option<Issued> {
        let record = self.read().ok()??;
        if record.format != FORMAT || record.key != self.key {
            return None;
        }
        let expires_at =
            UNIX_EPOCH.checked_add(Duration::from_millis(record.expires_at_unix_ms))?;
        let margin = LifecycleConfig::default().refresh_window();
        if expires_at.duration_since(now).ok()? <= margin {
            return None;
        }
        Some(Issued {
            access_token: AccessToken::new(&record.access_token).ok()?,
            token_type: record.token_type,
            scope: record.scope,
            expires_in: Duration::try_from_secs_f64(record.expires_in).ok()?,
            jti: record.jti,
            expires_at,
            request_id: record.request_id,
        })
    }

    /// Reads and parses the file; `Ok(None)` when it is not one of ours.
    fn read(&self) -> io::Result<Option<Record>> {
        let meta = fs::symlink_metadata(&self.path)?;
        if !meta.is_file() || meta.len() > MAX_FILE || !private(&meta) {
            return Ok(None);
        }
        let mut text = String::new();
        File::open(&self.path)?
            .take(MAX_FILE)
            .read_to_string(&mut text)?;
        Ok(serde_json::from_str(&text).ok())
    }

    /// Saves `issued`, atomically, replacing whatever was there.
    pub fn store(&self, issued: &Issued) -> io::Result<()> {
        let expires_at_unix_ms = issued
            .expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let record = Record {
            format: FORMAT.to_owned(),
            key: self.key.clone(),
            access_token: issued.access_token.secret().to_owned(),
            token_type: issued.token_type.clone(),
            scope: issued.scope.clone(),
            expires_in: issued.expires_in.as_secs_f64(),
            jti: issued.jti.clone(),
            expires_at_unix_ms,
            request_id: issued.request_id.clone(),
        };
        let mut bytes = serde_json::to_vec(&record).map_err(io::Error::other)?;
        bytes.push(b'\n');
        let dir = self
            .path
            .parent()
            .ok_or_else(|| io::Error::other("the cache file has no folder"))?;
        create_private_dir(dir)?;
        let (tmp_path, mut tmp) = create_temp(dir, &self.path)?;
        let written = tmp
            .write_all(&bytes)
            .and_then(|()| tmp.sync_all())
            .and_then(|()| fs::rename(&tmp_path, &self.path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp_path);
        }
        written
    }
}

impl Key {
    /// FNV-1a (64 bits) of the key's parts, each followed by a NUL: stable across Rust
    /// versions and platforms, so the file name never changes under the user.
    fn hash(&self) -> u64 {
        let parts = [
            self.base_url.as_str(),
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

#[cfg(unix)]
fn private(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 == 0
}

#[cfg(not(unix))]
fn private(_: &fs::Metadata) -> bool {
    true
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A new file next to `target`, mode 0600, that no other run can be writing.
fn create_temp(dir: &Path, target: &Path) -> io::Result<(PathBuf, File)> {
    let stem = target
        .file_name()
        .map_or_else(|| "cache".into(), |n| n.to_string_lossy().into_owned());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0u32..16 {
        let path = dir.join(format!(
            ".{stem}.{}.{nanos:09}.{attempt}.tmp",
            std::process::id()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a temporary file",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_separates_parts() {
        let key = |b: &str, c: &str, e: Option<&str>| Key {
            base_url: b.into(),
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
