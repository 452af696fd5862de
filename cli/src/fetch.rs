//! One token, with retries: the core's [`TokenLifecycle`] decides, [`UreqTransport`] sends,
//! this loop only sleeps.
//!
//! poll → send → handle → poll. The lifecycle owns every rule: what is transient, the
//! backoff with full jitter, never retrying sooner than `Retry-After`, never retrying a
//! rejection. This loop adds the two limits only a one-shot command has: the number of
//! attempts (`--retries`) and the longest `Retry-After` worth waiting for (`--max-wait`).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use zuora_oauth_core::{Action, LifecycleConfig, Timestamp, Token, TokenLifecycle, TokenRequest};
use zuora_oauth_ureq::UreqTransport;

use crate::failure::{FetchFailure, Stop};

/// Retry limits and the per-attempt timeout.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Give up when `Retry-After` asks for longer than this.
    pub max_wait: Duration,
    /// Limit on each attempt (connect, send, receive).
    pub timeout: Duration,
}

/// A token, and when (by the wall clock) the request that got it was sent.
#[derive(Debug)]
pub struct Fetched {
    /// The token.
    pub token: Arc<Token>,
    /// When its request was sent: the token expires `expires_in` after this at the latest.
    pub sent_at: SystemTime,
}

/// The lifecycle configuration for one run: the core's defaults (backoff 1 s to 60 s with
/// full jitter), and a request budget never smaller than the attempts asked for.
pub fn lifecycle_config(policy: &Policy) -> LifecycleConfig {
    let defaults = LifecycleConfig::default();
    // The budget guards a long-running process against a hot loop. Here the loop is
    // bounded by `--retries`; raising the budget to cover it means the guard never cuts a
    // run short, and its default still applies to small `--retries` values.
    let attempts = policy.retries.saturating_add(1);
    defaults
        .clone()
        .with_max_requests_per_minute(attempts.max(defaults.max_requests_per_minute()))
}

/// Fetches one token.
pub fn fetch(request: TokenRequest, policy: &Policy) -> Result<Fetched, FetchFailure> {
    let token_url = request.environment().token_url().to_string();
    let transport = UreqTransport::new()
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout);
    // The jitter seed: std's hasher keys come from the OS, so every run gets its own.
    let seed = RandomState::new().hash_one(std::process::id());
    let mut lifecycle = TokenLifecycle::new(request, lifecycle_config(policy), seed);
    let origin = Instant::now();
    let clock = move || Timestamp::from_duration(origin.elapsed());

    let mut attempts: u32 = 0;
    let mut sent_at = SystemTime::now();
    let failure = |error, attempts, stop| FetchFailure {
        error,
        attempts,
        stop,
        token_url: token_url.clone(),
    };
    loop {
        let now = clock();
        let out_of_retries = attempts > policy.retries;
        match lifecycle.poll(now) {
            Action::Use(cached) => {
                return Ok(Fetched {
                    token: Arc::clone(cached.token()),
                    sent_at,
                });
            }
            Action::Send(outgoing) => {
                // After a failure the backoff may allow the next attempt at once: the same
                // limits apply as when it asks to wait.
                if let Some(error) = lifecycle.last_error() {
                    if !error.is_transient() {
                        return Err(failure(error.clone(), attempts, Stop::Permanent));
                    }
                    if out_of_retries {
                        let stop = Stop::RetriesSpent {
                            retries: policy.retries,
                        };
                        return Err(failure(error.clone(), attempts, stop));
                    }
                }
                attempts += 1;
                let id = outgoing.id();
                sent_at = SystemTime::now();
                match transport.send(outgoing.into_request()) {
                    Ok(response) => {
                        let _ =
                            lifecycle.handle_response(clock(), SystemTime::now(), id, &response);
                    }
                    Err(error) => {
                        let _ = lifecycle.handle_transport_error(clock(), id, error);
                    }
                }
            }
            Action::Fail { error, retry_at } => {
                let error = error.clone();
                let Some(retry_at) = retry_at else {
                    return Err(failure(error, attempts, Stop::Permanent));
                };
                if !error.is_transient() {
                    return Err(failure(error, attempts, Stop::Permanent));
                }
                if out_of_retries {
                    let stop = Stop::RetriesSpent {
                        retries: policy.retries,
                    };
                    return Err(failure(error, attempts, stop));
                }
                if let Some(asked) = error.retry_after().filter(|d| *d > policy.max_wait) {
                    let stop = Stop::WaitTooLong {
                        asked,
                        max_wait: policy.max_wait,
                    };
                    return Err(failure(error, attempts, stop));
                }
                std::thread::sleep(retry_at.saturating_duration_since(now));
            }
            Action::Wait => {
                // Only one caller here, and every request's outcome is reported before the
                // next poll, so the lifecycle never has a request of someone else's in
                // flight. Should that change, report the last failure rather than spin.
                let error = lifecycle.last_error().cloned().unwrap_or(
                    zuora_oauth_core::Error::BudgetExhausted {
                        per_minute: lifecycle.config().max_requests_per_minute(),
                    },
                );
                return Err(failure(error, attempts, Stop::Permanent));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_never_limits_the_retries_asked_for() {
        let policy = |retries| Policy {
            retries,
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        };
        let default = LifecycleConfig::default().max_requests_per_minute();
        assert_eq!(
            lifecycle_config(&policy(0)).max_requests_per_minute(),
            default
        );
        assert_eq!(
            lifecycle_config(&policy(default + 5)).max_requests_per_minute(),
            default + 6
        );
        assert_eq!(
            lifecycle_config(&policy(u32::MAX)).max_requests_per_minute(),
            u32::MAX
        );
        // Everything else is the core's default.
        let config = lifecycle_config(&policy(3));
        assert_eq!(config.backoff(), LifecycleConfig::default().backoff());
        assert_eq!(
            config.refresh_window(),
            LifecycleConfig::default().refresh_window()
        );
    }
}
