//! Opening the store a run shares its token through: `--cache`'s file store, or Redis for
//! `--store` (`zuora-oauth-redis`), both the driver's [`BlockingTokenStore`].
//!
//! A Redis URL may hold a password. No message quotes the URL, and every message about
//! the store has the password removed, should a library ever put it in one.

use std::time::Duration;

use zuora_oauth_core::{Environment, TokenRequest};
use zuora_oauth_driver::{BlockingTokenStore, StoreError};
use zuora_oauth_redis::BlockingRedisStore;

use crate::cache::FileStore;
use crate::failure::Failure;
use crate::settings::StoreChoice;

/// The most one Redis call may take (the store's socket timeouts). Longer than the
/// library's 200 ms: a cron job's runs start together and compete for the CPU, and a
/// call cut short makes its run fetch on its own.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// The stand-in target of `--mock --store` runs: each run's mock server has another port,
/// so the real base URL would give each run a key of its own.
const MOCK_TARGET: &str = "http://localhost";
/// The label keeping the `--mock` entry apart from a real server on `localhost`.
const MOCK_LABEL: &str = "zuora-token --mock";

/// An open store, and how to speak of it.
pub struct Store {
    store: Box<dyn BlockingTokenStore>,
    /// The option that asked for it (`--cache`, `--store`, `ZUORA_TOKEN_STORE`).
    option: &'static str,
    /// The Redis URL's password (raw and percent-decoded), never to be shown.
    hidden: Vec<String>,
}

impl Store {
    /// The store.
    pub fn get(&self) -> &dyn BlockingTokenStore {
        &*self.store
    }

    /// The warning for a failed store `call` (a [`BlockingTokenStore`] method's name): one
    /// line, without the password.
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
    match choice {
        StoreChoice::Cache => match FileStore::for_request(request, mock) {
            Ok(store) => Ok(Some(Store {
                store: Box::new(store),
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
            let mut builder = BlockingRedisStore::builder(url.as_str()).timeout(REDIS_TIMEOUT);
            let built = if mock {
                builder = builder.label(MOCK_LABEL);
                builder.build_blocking(&mock_key(request)?)
            } else {
                builder.build_blocking(request)
            };
            let store = built.map_err(|e| {
                Failure::usage(hide(
                    &format!("invalid store URL (from {from}): {e}"),
                    &hidden,
                ))
            })?;
            Ok(Some(Store {
                store: Box::new(store),
                option: from,
                hidden,
            }))
        }
    }
}

/// `request` with the `--mock` stand-in target, for the Redis key.
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
