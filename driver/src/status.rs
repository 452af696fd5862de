//! A snapshot of a token source, for health checks and dashboards.

use std::time::Duration;

use zuora_oauth_core::{Error, Generation, Rotation};

/// What a token source holds and is doing, read at once under its lock (no user code runs
/// there). Cheap: a few numbers and, after a failure, the error.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Status {
    /// The token handed out now, if any.
    pub token: Option<TokenStatus>,
    /// Whether a token request is in flight.
    pub fetching: bool,
    /// The last failure, until a token arrives.
    pub last_error: Option<Error>,
    /// When the next attempt may be made after that failure, or after the wait Zuora's last
    /// answer asked for (`None`: none is scheduled, or none will be made automatically).
    pub next_attempt_in: Option<Duration>,
    /// Token requests in the last minute (the lifecycle allows
    /// [`max_requests_per_minute`](zuora_oauth_core::LifecycleConfig::max_requests_per_minute)).
    pub requests_last_minute: usize,
    /// Store calls that failed so far (0 without a store).
    pub store_failures: u64,
    /// After [`reconfigure`](crate::TokenSource::reconfigure) (or a re-read secret that
    /// changed), until the new credentials produce a token: pending, or rejected by Zuora
    /// ([`last_error`](Self::last_error) says how) while a token of the previous secret
    /// may still be handed out (see [`TokenLifecycle::reconfigure`](zuora_oauth_core::TokenLifecycle::reconfigure)).
    pub rotation: Option<Rotation>,
}

/// The token a source hands out, without the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenStatus {
    /// Which token it is.
    pub generation: Generation,
    /// How long it is still handed out (its expiry less the minimum remaining lifetime).
    pub usable_for: Duration,
    /// How long until it expires.
    pub expires_in: Duration,
    /// How long until it is refreshed (zero: now, in the background).
    pub refresh_in: Duration,
}
