//! One token, with retries: the core's [`TokenLifecycle`] decides, [`UreqTransport`] sends,
//! this loop only sleeps.
//!
//! poll → send → handle → poll. The lifecycle owns every rule: when a cached token is due
//! for a refresh, what is transient, the backoff with full jitter, never retrying sooner
//! than the server's wait (`Retry-After`, else `RateLimit-Reset`), never retrying a
//! rejection, keeping a still-usable token when a refresh fails. This loop adds the two
//! limits only a one-shot command has: the number of attempts (`--retries`) and the
//! longest server's wait worth waiting for (`--max-wait`),
//! and one rule of its own: after Zuora refused the credentials, a saved token is not
//! printed, although the lifecycle would keep handing it out while it is valid.
//!
//! A cached [`TokenRecord`] is adopted by a lifecycle whose clock reads the wall time, at
//! the moment the record was issued: the lifecycle then schedules its refresh exactly as
//! if this process had fetched the token itself, whatever the age of the record.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zuora_oauth_core::{
    Action, Error, FleetConfig, Generation, LifecycleConfig, Timestamp, TokenHandle,
    TokenLifecycle, TokenRecord, TokenRequest,
};
use zuora_oauth_driver::{BlockingTransport, ConnectOptions, Limits, TrustRoots};
use zuora_oauth_ureq::UreqTransport;

/// How much longer than `--timeout` the lifecycle waits for an answer before it counts the
/// request as lost (the library's token sources use the same margin).
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

use crate::failure::{FetchFailure, Stop};

/// Retry limits and the per-attempt timeout.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Give up when the server asks to wait longer than this (`Retry-After`, else
    /// `RateLimit-Reset`).
    pub max_wait: Duration,
    /// Limit on each attempt (connect, send, receive).
    pub timeout: Duration,
}

/// The token a run prints.
#[derive(Debug)]
pub enum Fetched {
    /// Fetched by this run.
    New(TokenHandle),
    /// A stored token (saved by an earlier run or another process), still usable. With an
    /// error: the lifecycle kept it because its refresh failed with that error.
    Stored(TokenHandle, Option<Error>),
}

/// Fetches tokens and judges cached ones, with one jitter seed and one clock for the run,
/// so that every judgement of the same record agrees.
#[derive(Debug)]
pub struct Fetcher {
    request: TokenRequest,
    policy: Policy,
    trust: TrustRoots,
    seed: u64,
    clock: Clock,
}

impl Fetcher {
    /// A fetcher for `request`.
    pub fn new(request: TokenRequest, policy: Policy) -> Self {
        Self {
            request,
            policy,
            trust: TrustRoots::webpki(),
            // std's hasher keys come from the OS, so every run gets its own seed.
            seed: RandomState::new().hash_one(std::process::id()),
            clock: Clock::start(),
        }
    }

    /// Trusts `roots` for https (default: Mozilla's roots).
    pub fn with_trust(mut self, roots: TrustRoots) -> Self {
        self.trust = roots;
        self
    }

    /// `cached`'s token, if the core's lifecycle holding it would hand it out now without
    /// asking for a refresh.
    pub fn reuse(&self, cached: &TokenRecord) -> Option<TokenHandle> {
        let (mut lifecycle, _) = self.lifecycle(Some(cached));
        match lifecycle.poll(self.clock.now()) {
            Action::Use(token) => Some(token.clone()),
            _ => None,
        }
    }

    /// `record`'s token as the lifecycle adopts it, even if it would refresh it soon: a
    /// token another process has just stored is the one to use. `None` if it has no more
    /// than the lifecycle's minimum remaining lifetime left.
    pub fn adopt(&self, record: &TokenRecord) -> Option<TokenHandle> {
        let (lifecycle, adopted) = self.lifecycle(Some(record));
        adopted.and(lifecycle.last_token().cloned())
    }

    /// The fleet rules of this run: its lease lasts for as long as one of its token
    /// requests may (see [`fleet_config`]).
    pub fn fleet_config(&self) -> FleetConfig {
        fleet_config(&self.policy)
    }

    /// The time on the run's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Fetches a token. While `cached` is still usable, it is what a failed refresh leaves
    /// in use ([`Fetched::Stored`]), as the lifecycle decides.
    pub fn fetch(&self, cached: Option<&TokenRecord>) -> Result<Fetched, FetchFailure> {
        let (mut lifecycle, adopted) = self.lifecycle(cached);
        let policy = &self.policy;
        let options = ConnectOptions::default().with_trust(self.trust.clone());
        let transport = UreqTransport::with_options(options);
        let limits = Limits::default()
            .with_timeout(policy.timeout)
            .with_connect_timeout(policy.timeout);
        let token_url = self.request.environment().token_url().to_string();
        let failure = |error, attempts, stop| FetchFailure {
            error,
            attempts,
            stop,
            token_url: token_url.clone(),
        };
        let mut attempts: u32 = 0;
        loop {
            let now = self.clock.now();
            let out_of_retries = attempts > policy.retries;
            let last_error = lifecycle.last_error().cloned();
            match lifecycle.poll(now) {
                Action::Use(token) if Some(token.generation()) == adopted => {
                    // Zuora refused the credentials (or the request): the saved token was
                    // issued to what it now refuses. The run fails with that, rather than
                    // covering it with the token.
                    if let Some(error) = last_error.as_ref().filter(|e| is_rejection(e)) {
                        return Err(failure(error.clone(), attempts, Stop::Permanent));
                    }
                    return Ok(Fetched::Stored(token.clone(), last_error));
                }
                Action::Use(token) => return Ok(Fetched::New(token.clone())),
                Action::Send(outgoing) => {
                    // After a failure the backoff may allow the next attempt at once: the
                    // same limits apply as when it asks to wait.
                    if let Some(error) = last_error {
                        if !error.is_transient() {
                            return Err(failure(error, attempts, Stop::Permanent));
                        }
                        if out_of_retries {
                            let stop = Stop::RetriesSpent {
                                retries: policy.retries,
                            };
                            return Err(failure(error, attempts, stop));
                        }
                    }
                    attempts += 1;
                    let id = outgoing.id();
                    match transport.send(outgoing.into_request(), limits) {
                        Ok(response) => {
                            let _ = lifecycle.handle_response(
                                self.clock.now(),
                                SystemTime::now(),
                                id,
                                &response,
                            );
                        }
                        Err(error) => {
                            let _ = lifecycle.handle_transport_error(self.clock.now(), id, error);
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
                    // What the server asked, before the lifecycle's jitter: a date without a
                    // `Date` header measured on this machine's clock, as the lifecycle did.
                    let asked = error
                        .response()
                        .and_then(|r| r.meta().server_wait_from(SystemTime::now()));
                    if let Some(asked) = asked.filter(|d| *d > policy.max_wait) {
                        let stop = Stop::WaitTooLong {
                            asked,
                            max_wait: policy.max_wait,
                        };
                        return Err(failure(error, attempts, stop));
                    }
                    std::thread::sleep(retry_at.saturating_duration_since(now));
                }
                Action::Wait => {
                    // Only one caller here, and every request's outcome is reported before
                    // the next poll, so the lifecycle never has a request of someone else's
                    // in flight. Should that change, report the last failure rather than
                    // spin.
                    let error = lifecycle
                        .last_error()
                        .cloned()
                        .unwrap_or(Error::BudgetExhausted {
                            per_minute: lifecycle.config().max_requests_per_minute(),
                        });
                    return Err(failure(error, attempts, Stop::Permanent));
                }
            }
        }
    }

    /// A lifecycle for this run, holding `cached` (if it takes it) since the moment it was
    /// issued; the generation it got.
    fn lifecycle(&self, cached: Option<&TokenRecord>) -> (TokenLifecycle, Option<Generation>) {
        let mut lifecycle = TokenLifecycle::new(
            self.request.clone(),
            lifecycle_config(&self.policy),
            self.seed,
        );
        let adopted = cached.and_then(|record| {
            // A record from the future (another machine's clock, a response's `Date`) is
            // taken as issued now: it can only look younger than it is by that skew.
            let issued = self.clock.at(record.issued_at()).min(self.clock.now());
            lifecycle
                .adopt(issued, record.issued_at(), record)
                .map(TokenHandle::generation)
        });
        (lifecycle, adopted)
    }
}

/// Whether `error` is Zuora refusing the credentials or the request (400, 401, 403): a
/// saved token is never printed after one.
pub fn is_rejection(error: &Error) -> bool {
    matches!(error, Error::Rejected(_))
}

/// The lifecycle's clock: the wall time as it was when the run started, advanced by a
/// monotonic clock, so that a cached record's wall-clock times can be placed on it and a
/// wall-clock jump during the run changes nothing.
#[derive(Debug)]
struct Clock {
    /// The wall time at `start`, since the Unix epoch.
    wall_at_start: Duration,
    start: Instant,
}

impl Clock {
    fn start() -> Self {
        Self {
            wall_at_start: since_epoch(SystemTime::now()),
            start: Instant::now(),
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.wall_at_start + self.start.elapsed())
    }

    /// The wall time `t` on this clock.
    fn at(&self, t: SystemTime) -> Timestamp {
        Timestamp::from_duration(since_epoch(t))
    }
}

fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

/// The lifecycle configuration for one run: the core's defaults (refresh rule, backoff
/// 1 s to 60 s with full jitter), a request budget never smaller than the attempts asked
/// for, and a request deadline above `--timeout` (as the library keeps it: an answer that
/// arrives within the timeout is never thrown away).
pub fn lifecycle_config(policy: &Policy) -> LifecycleConfig {
    let defaults = LifecycleConfig::default();
    // The budget guards a long-running process against a hot loop. Here the loop is
    // bounded by `--retries`; raising the budget to cover it means the guard never cuts a
    // run short, and its default still applies to small `--retries` values.
    let attempts = policy.retries.saturating_add(1);
    let deadline = policy
        .timeout
        .saturating_add(DEADLINE_MARGIN)
        .max(defaults.request_deadline());
    defaults
        .clone()
        .with_max_requests_per_minute(attempts.max(defaults.max_requests_per_minute()))
        .with_request_deadline(deadline)
}

/// The fleet rules of a run: the core's defaults, with the lease lasting for as long as one
/// token request of the run may take (its request deadline, plus the core's margin). The
/// lifecycle's deadline needs no widening for the fleet's wait here: a run makes its
/// lifecycle when it fetches, after the wait.
pub fn fleet_config(policy: &Policy) -> FleetConfig {
    FleetConfig::default().with_fetch_deadline(lifecycle_config(policy).request_deadline())
}

#[cfg(test)]
mod tests {
    use zuora_oauth_core::{AccessToken, ClientId, ClientSecret, Environment, Token};

    use super::*;

    fn policy(retries: u32) -> Policy {
        Policy {
            retries,
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }

    #[test]
    fn budget_never_limits_the_retries_asked_for() {
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

    #[test]
    fn the_lease_and_the_deadline_cover_the_timeout() {
        let mut p = policy(0);
        // The default --timeout: the library's defaults.
        assert_eq!(
            lifecycle_config(&p).request_deadline(),
            Duration::from_secs(35)
        );
        assert_eq!(fleet_config(&p).lease_ttl(), Duration::from_secs(40));
        p.timeout = Duration::from_secs(90);
        assert_eq!(
            lifecycle_config(&p).request_deadline(),
            Duration::from_secs(95)
        );
        assert_eq!(fleet_config(&p).lease_ttl(), Duration::from_secs(100));
    }

    /// With `--timeout 90`, an answer after 80 s is a token, not a timeout.
    #[test]
    fn an_answer_within_the_timeout_is_kept() {
        let mut p = policy(0);
        p.timeout = Duration::from_secs(90);
        let f = fetcher();
        let mut lifecycle = TokenLifecycle::new(f.request.clone(), lifecycle_config(&p), 1);
        let sent = Timestamp::ZERO + Duration::from_secs(1_000);
        let Action::Send(out) = lifecycle.poll(sent) else {
            panic!("a request");
        };
        let response = http::Response::builder()
            .header("content-type", "application/json")
            .body(
                br#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#
                    .to_vec(),
            )
            .unwrap();
        let later = sent + Duration::from_secs(80);
        assert!(matches!(
            lifecycle.handle_response(later, SystemTime::now(), out.id(), &response),
            zuora_oauth_core::Outcome::Token(_)
        ));
    }

    /// A record of a `lifetime` token issued `age` ago.
    fn record(lifetime: u64, age: u64) -> TokenRecord {
        let token = Token::new(
            AccessToken::new("c652cbc0ea384b9f81856a93a2a74538").unwrap(),
            Duration::from_secs(lifetime),
        );
        TokenRecord::new(&token, SystemTime::now() - Duration::from_secs(age))
    }

    fn fetcher() -> Fetcher {
        let request = TokenRequest::new(
            // Nothing is sent by these tests.
            Environment::custom("http://127.0.0.1:9").unwrap(),
            ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
            ClientSecret::new("s").unwrap(),
        );
        Fetcher::new(request, policy(0))
    }

    #[test]
    fn a_record_is_judged_by_its_age_not_by_when_it_is_read() {
        let f = fetcher();
        // Short tokens: halfway through the usable life (250 − 30 s) = 110 s.
        assert!(f.reuse(&record(250, 0)).is_some());
        assert!(f.reuse(&record(250, 100)).is_some());
        assert!(f.reuse(&record(250, 120)).is_none());
        // Long tokens: 300 s before expiry, minus up to 10 % jitter.
        assert!(f.reuse(&record(3599, 3599 - 331)).is_some());
        assert!(f.reuse(&record(3599, 3599 - 299)).is_none());
        assert!(f.reuse(&record(3599, 4000)).is_none());
        // From the future: as if issued now.
        let ahead = TokenRecord::new(
            &record(250, 0).to_token(),
            SystemTime::now() + Duration::from_secs(3600),
        );
        assert!(f.reuse(&ahead).is_some());
    }
}
