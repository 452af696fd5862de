//! Opening the store a run shares its token through: `--cache`'s file store, or Redis for
//! `--store` (`zuora-oauth-redis`), both the driver's [`TokenStore`], keyed and sealed by
//! the driver's [`Sealer`] for the run's credentials exactly as the library's token sources
//! do: a run and a long-running process with the same credentials share one token.
//!
//! A Redis URL may hold a password. No message quotes the URL, and every message about
//! the store has the password removed, should a library ever put it in one.

use std::time::Duration;

use zuora_oauth_core::{Environment, LeaseId, TokenRecord, TokenRequest, may_delete};
use zuora_oauth_driver::store::{Sealer, StoreCall, StoreError, StoreErrorKind, TokenStore};
use zuora_oauth_redis::RedisStore;

use crate::cache::FileStore;
use crate::failure::Failure;
use crate::settings::StoreChoice;

/// The most one store call may take (Redis's socket timeouts). Longer than the library's
/// 200 ms: a cron job's runs start together and compete for the CPU, and a call cut short
/// makes its run fetch on its own.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// The stand-in target of `--mock --store` runs: each run's mock server has another port,
/// so the real base URL would give each run a key of its own.
const MOCK_TARGET: &str = "http://localhost";
/// The label keeping the `--mock` entry apart from a real server on `localhost`.
const MOCK_LABEL: &str = "zuora-token --mock";

/// An open store for the run's credentials, and how to speak of it.
pub struct Store {
    store: Box<dyn TokenStore>,
    /// The key and the seal of the run's credentials.
    sealer: Sealer,
    /// The option that asked for it (`--cache`, `--store`, `ZUORA_TOKEN_STORE`).
    option: &'static str,
    /// The Redis URL's password (raw and percent-decoded), never to be shown.
    hidden: Vec<String>,
}

impl Store {
    fn call(&self) -> StoreCall<'_> {
        StoreCall::new(self.sealer.key(), REDIS_TIMEOUT)
    }

    /// The saved record, if there is one that opens (anything else is a miss).
    pub fn load(&self) -> Result<Option<TokenRecord>, StoreError> {
        let value = self.store.load(&self.call())?;
        Ok(value.and_then(|v| self.sealer.open(&v)))
    }

    /// Takes the lease.
    pub fn try_lease(&self, lease: LeaseId, ttl: Duration) -> Result<bool, StoreError> {
        self.store.try_lease(&self.call(), lease, ttl)
    }

    /// Seals and saves `record` for `ttl`.
    pub fn save(&self, record: &TokenRecord, ttl: Duration) -> Result<(), StoreError> {
        let sealed = self
            .sealer
            .seal(record)
            .map_err(|e| StoreError::new(StoreErrorKind::Other, e.to_string()))?;
        self.store.save(&self.call(), &sealed, ttl, None)
    }

    /// Releases the lease.
    pub fn release(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.store.release(&self.call(), lease)
    }

    /// Removes the saved record if it is the token `reported` ([`may_delete`]) and has not
    /// changed since it was read. Returns whether it removed one.
    pub fn invalidate(&self, reported: &TokenRecord) -> Result<bool, StoreError> {
        let Some(value) = self.store.load(&self.call())? else {
            return Ok(false);
        };
        let deletable = self
            .sealer
            .open(&value)
            .is_some_and(|saved| may_delete(&saved, reported));
        if !deletable {
            return Ok(false);
        }
        self.store.delete_if(&self.call(), &value)
    }

    /// The warning for a failed store `call` (a [`Store`] method's name): one line, without
    /// the password.
    pub fn failure(&self, call: &str, error: &StoreError) -> String {
        let doing = match call {
            "load" => "reading the saved token",
            "try_lease" => "taking the lease",
            "save" => "saving the token",
            "release" => "releasing the lease",
            "invalidate" => "removing the token of the refused credentials",
            other => other,
        };
        let line = format!(
            "{}: {doing} failed ({error}); this run goes on without the store",
            self.option
        );
        hide(&line, &self.hidden)
    }
}

impl Store {
    /// The warning after a store failure while this run held the lease: whether its
    /// release worked, or how long other runs may wait for it (`ttl`). One line, without
    /// the password.
    pub fn lease_after_failure(&self, released: Result<(), &StoreError>, ttl: Duration) -> String {
        let line = match released {
            Ok(()) => format!(
                "{}: the lease this run held was released after the failure",
                self.option
            ),
            Err(e) => format!(
                "{}: the lease this run held could not be released ({e}); other runs may wait \
                 up to {} s for it",
                self.option,
                ttl.as_secs()
            ),
        };
        hide(&line, &self.hidden)
    }
}

/// Opens the store for `request` (a `--mock` run's when `mock`). `Ok(None)`: `--cache` has
/// no folder (a warning says so). An unusable Redis URL is a usage error; nothing is
/// connected here (Redis may be down: the run then goes on without it).
pub fn open(
    choice: &StoreChoice,
    request: &TokenRequest,
    mock: bool,
) -> Result<Option<Store>, Failure> {
    let sealer = if mock {
        Sealer::new(&mock_key(request)?, MOCK_LABEL)
    } else {
        Sealer::new(request, "")
    };
    match choice {
        StoreChoice::Cache => match FileStore::open() {
            Ok(store) => Ok(Some(Store {
                store: Box::new(store),
                sealer,
                option: "--cache",
                hidden: Vec::new(),
            })),
            Err(why) => {
                crate::warn(&format!("--cache is off for this run: {why}"));
                Ok(None)
            }
        },
        StoreChoice::Redis { url, from } => {
            let hidden = password(url);
            let store = RedisStore::at(url.as_str()).map_err(|e| {
                Failure::usage(hide(
                    &format!("invalid store URL (from {from}): {e}"),
                    &hidden,
                ))
            })?;
            Ok(Some(Store {
                store: Box::new(store),
                sealer,
                option: from,
                hidden,
            }))
        }
    }
}

/// `request` with the `--mock` stand-in target, for the store's key.
fn mock_key(request: &TokenRequest) -> Result<TokenRequest, Failure> {
    let target = Environment::custom(MOCK_TARGET)
        .map_err(|e| Failure::local(format!("the --mock store key: {e}")))?;
    let key = TokenRequest::new(
        target,
        request.client_id().clone(),
        request.client_secret().clone(),
    );
    Ok(match request.entity_id() {
        Some(entity) => key.with_entity_id(entity.clone()),
        None => key,
    })
}

/// The password of `scheme://[user][:password]@host…`, as written and percent-decoded;
/// empty if the URL holds none (or an empty one).
pub fn password(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let Some((_, password)) = userinfo.split_once(':') else {
        return Vec::new();
    };
    let mut hidden = vec![password.to_owned(), percent_decode(password)];
    hidden.retain(|p| !p.is_empty());
    hidden.dedup();
    hidden
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with every `hidden` string replaced by `***`.
fn hide(text: &str, hidden: &[String]) -> String {
    hidden.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "***")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_found_and_hidden() {
        assert_eq!(
            password("redis://:s3cr%40t@h:6379/0"),
            ["s3cr%40t", "s3cr@t"]
        );
        assert_eq!(password("rediss://user:pw@h/"), ["pw"]);
        assert!(password("redis://user@h").is_empty());
        assert!(password("redis://h:6379/0").is_empty());
        // An `@` later in the path is not the authority's.
        assert!(password("redis://h/0?x=a:b@c").is_empty());
        let hidden = password("redis://u:s3cr%40t@h");
        assert_eq!(
            hide("refused s3cr@t and s3cr%40t", &hidden),
            "refused *** and ***"
        );
    }
}
