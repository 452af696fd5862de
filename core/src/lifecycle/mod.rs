//! The token lifecycle: a Sans-IO state machine that decides when to ask for a token.

mod budget;
mod config;
mod jitter;

use std::sync::Arc;
use std::time::Duration;

pub use config::LifecycleConfig;

use crate::{Error, Timestamp, Token, TokenRequest, TransportError};
use budget::Budget;
use jitter::{Jitter, backoff_ceiling};

/// Keeps one Zuora token fresh with the fewest token calls, without doing any I/O.
///
/// The driver (a transport adapter, or your own loop) feeds it the time and the outcomes
/// of the requests it asked for, and [`poll`](TokenLifecycle::poll)s it for what to do:
/// use a token, send a request, wait, or report a failure. It reads no clock and draws no
/// random numbers (jitter comes from [`LifecycleConfig::with_seed`]), so it behaves the
/// same on every platform and in every test.
///
/// What it guarantees:
///
/// 1. With no token, exactly one request is asked for, however often it is polled, until
///    that request's outcome is reported.
/// 2. A token before its refresh time is handed out; no request is made.
/// 3. Inside the refresh window (default 300 s before expiry, minus up to 10 % jitter; at
///    half the lifetime for tokens shorter than twice the window), the current token keeps
///    being handed out while exactly one refresh request is made.
/// 4. A transient failure (429, 5xx, transport error, unexpected response) while the token
///    is still valid keeps the token in use; retries back off exponentially with full
///    jitter (1 s to 60 s by default) and never come before `Retry-After`.
/// 5. Once the token has expired with no replacement, pollers get the last error and the
///    time of the next attempt. An expired token is never handed out.
/// 6. A rejection (400/401/403) is permanent: no automatic retry (unless
///    [`LifecycleConfig::with_rejection_reprobe`] allows a slow one); the error goes to
///    every poller once no valid token is left. [`reset`](TokenLifecycle::reset) or
///    [`reconfigure`](TokenLifecycle::reconfigure) start again.
/// 7. [`invalidate`](TokenLifecycle::invalidate) (the API answered 401 to a token believed
///    valid) causes one refresh however many callers report the same token; a report about
///    an older token is ignored.
/// 8. Never more than one request is in flight; the outcome of a superseded request is
///    ignored.
/// 9. At most [`LifecycleConfig::with_max_requests_per_minute`] requests (default 10) are
///    asked for in any rolling minute.
/// 10. Time going backwards is treated as time standing still; huge jumps and zero
///     lifetimes neither panic nor loop.
///
/// Timing is counted from when a request was *sent*, so a token's expiry is never later
/// than Zuora's.
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_core::{Action, ClientId, ClientSecret, Environment, LifecycleConfig,
///                        Timestamp, TokenLifecycle, TokenRequest};
///
/// let request = TokenRequest::new(
///     Environment::custom("http://127.0.0.1:8080")?,
///     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
///     ClientSecret::new("dG9wLXNlY3JldA==")?,
/// );
/// let mut lifecycle = TokenLifecycle::new(request, LifecycleConfig::default());
///
/// // Your transport: here, a canned Zuora response.
/// let send = |_request: http::Request<Vec<u8>>| {
///     http::Response::builder()
///         .header("content-type", "application/json")
///         .body(br#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#.to_vec())
/// };
///
/// let now = Timestamp::ZERO; // your monotonic clock
/// let token = loop {
///     match lifecycle.poll(now) {
///         Action::Use(cached) => break cached.token().clone(),
///         Action::Send(outgoing) => {
///             let id = outgoing.id();
///             let response = send(outgoing.into_request())?;
///             lifecycle.handle_response(now, id, &response);
///         }
///         Action::Wait { .. } => unreachable!("this driver waits for its own request"),
///         Action::Fail { error, .. } => return Err(error.clone().into()),
///     }
/// };
/// assert_eq!(token.expires_in(), Duration::from_secs(3599));
///
/// // Until the refresh window, the cached token is handed out and nothing is sent.
/// let later = now + Duration::from_secs(3000);
/// assert!(matches!(lifecycle.poll(later), Action::Use(_)));
/// // In the window, one refresh request.
/// let refresh = now + Duration::from_secs(3599 - 300);
/// assert!(matches!(lifecycle.poll(refresh), Action::Send(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TokenLifecycle {
    request: TokenRequest,
    config: LifecycleConfig,
    jitter: Jitter,
    budget: Budget,
    budget_error: Error,
    /// The latest time seen; earlier readings are clamped to it.
    now: Timestamp,
    current: Option<CachedToken>,
    next_generation: u64,
    in_flight: Option<InFlight>,
    next_request: u64,
    failure: Option<Failure>,
    consecutive_failures: u32,
    /// No transient retry before this.
    not_before: Timestamp,
}

/// A token held by the lifecycle, with its schedule.
#[derive(Debug, Clone)]
pub struct CachedToken {
    token: Arc<Token>,
    generation: u64,
    refresh_at: Timestamp,
    expires_at: Timestamp,
    invalidated: bool,
}

impl CachedToken {
    /// The token (shared: cloning the `Arc` is cheap).
    pub fn token(&self) -> &Arc<Token> {
        &self.token
    }

    /// Which token this is: every token installed gets a higher number. Pass it to
    /// [`TokenLifecycle::invalidate`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When a refresh will be asked for.
    pub fn refresh_at(&self) -> Timestamp {
        self.refresh_at
    }

    /// When the token stops being handed out.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    fn usable(&self, now: Timestamp) -> bool {
        !self.invalidated && now < self.expires_at
    }
}

/// Identifies one request asked for by [`Action::Send`]; report its outcome with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(u64);

#[derive(Debug, Clone, Copy)]
struct InFlight {
    id: RequestId,
    sent_at: Timestamp,
}

#[derive(Debug, Clone)]
struct Failure {
    error: Error,
    at: Timestamp,
}

/// A token request to send now.
#[derive(Debug)]
pub struct OutgoingRequest {
    id: RequestId,
    request: http::Request<Vec<u8>>,
}

impl OutgoingRequest {
    /// The ID to report the outcome with.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The HTTP request (its body holds the client secret: never log it).
    pub fn request(&self) -> &http::Request<Vec<u8>> {
        &self.request
    }

    /// Takes the HTTP request.
    pub fn into_request(self) -> http::Request<Vec<u8>> {
        self.request
    }
}

/// What [`TokenLifecycle::poll`] asks the driver to do.
#[derive(Debug)]
#[must_use]
// `Send` is big (an `http::Request`), but an `Action` is returned once per poll and
// consumed at once; boxing would cost an allocation per request for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Action<'a> {
    /// Send this request, then report its outcome with
    /// [`handle_response`](TokenLifecycle::handle_response),
    /// [`handle_transport_error`](TokenLifecycle::handle_transport_error) or
    /// [`cancel`](TokenLifecycle::cancel). A still-valid token, if any, is available
    /// meanwhile from [`TokenLifecycle::token`].
    Send(OutgoingRequest),
    /// Use this token.
    Use(&'a CachedToken),
    /// No token yet; a request is in flight. Poll again when its outcome has been reported.
    Wait,
    /// No token can be handed out: this is the last failure. `retry_at` is when the next
    /// attempt may be made; `None` means not automatically (Zuora rejected the
    /// credentials: [`reset`](TokenLifecycle::reset) or
    /// [`reconfigure`](TokenLifecycle::reconfigure)).
    Fail {
        /// The last failure.
        error: &'a Error,
        /// When the next attempt may be made.
        retry_at: Option<Timestamp>,
    },
}

/// What became of a reported outcome.
#[derive(Debug)]
#[must_use]
pub enum Outcome<'a> {
    /// A new token was installed: publish it (to waiting callers, a shared store…).
    Token(&'a CachedToken),
    /// The request failed; the lifecycle has scheduled what comes next.
    Failed(&'a Error),
    /// The outcome was for a request that is no longer in flight; nothing changed.
    Ignored,
}

impl TokenLifecycle {
    /// A lifecycle that fetches tokens with `request`.
    pub fn new(request: TokenRequest, config: LifecycleConfig) -> Self {
        let per_minute = config.max_requests_per_minute();
        Self {
            request,
            jitter: Jitter::new(config.seed()),
            budget: Budget::new(per_minute),
            budget_error: Error::BudgetExhausted { per_minute },
            config,
            now: Timestamp::ZERO,
            current: None,
            next_generation: 1,
            in_flight: None,
            next_request: 1,
            failure: None,
            consecutive_failures: 0,
            not_before: Timestamp::ZERO,
        }
    }

    // ---- getters -------------------------------------------------------------------

    /// The request used to fetch tokens.
    pub fn request(&self) -> &TokenRequest {
        &self.request
    }

    /// The configuration.
    pub fn config(&self) -> &LifecycleConfig {
        &self.config
    }

    /// The token that may be handed out at `now`, if any (regardless of whether a refresh
    /// is due).
    pub fn token(&self, now: Timestamp) -> Option<&CachedToken> {
        let now = now.max(self.now);
        self.current.as_ref().filter(|c| c.usable(now))
    }

    /// The latest time passed to the machine (earlier readings are clamped to it).
    pub fn latest_time(&self) -> Timestamp {
        self.now
    }

    /// The request in flight, if any.
    pub fn in_flight(&self) -> Option<RequestId> {
        self.in_flight.map(|f| f.id)
    }

    /// The last failure since the last success, if any.
    pub fn last_error(&self) -> Option<&Error> {
        self.failure.as_ref().map(|f| &f.error)
    }

    /// Token requests asked for in the minute before `now`.
    pub fn requests_last_minute(&self, now: Timestamp) -> usize {
        self.budget.used(now.max(self.now))
    }

    /// When polling next could change the answer, if nothing else is reported before:
    /// the refresh time, the end of a backoff or budget wait, or expiry. `None` when only a
    /// reported outcome (or a reset) can change anything.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        let usable = self.current.as_ref().filter(|c| c.usable(self.now));
        if self.in_flight.is_some() {
            // Only the outcome, or the current token expiring, changes anything.
            return usable.map(|c| c.expires_at);
        }
        let gate = self.gate();
        match usable {
            Some(c) if self.now < c.refresh_at => Some(c.refresh_at),
            Some(c) => Some(gate.map_or(c.expires_at, |g| g.min(c.expires_at))),
            None => gate,
        }
    }

    // ---- poll ----------------------------------------------------------------------

    /// What to do at `now`. See [`Action`].
    pub fn poll(&mut self, now: Timestamp) -> Action<'_> {
        let now = self.observe(now);
        let refresh_due = self
            .current
            .as_ref()
            .is_none_or(|c| !c.usable(now) || now >= c.refresh_at);
        let mut blocked_until = None;
        if self.in_flight.is_none() && refresh_due {
            match self.gate_at(now) {
                Gate::Open => return Action::Send(self.start_request(now)),
                Gate::Until(t) => blocked_until = Some(t),
                Gate::Closed => {}
            }
        }
        if let Some(current) = self.current.as_ref().filter(|c| c.usable(now)) {
            return Action::Use(current);
        }
        if self.in_flight.is_some() {
            return Action::Wait;
        }
        let error = match &self.failure {
            Some(f) => &f.error,
            None => {
                event!(warn, retry_at = ?blocked_until, "token request budget exhausted");
                &self.budget_error
            }
        };
        Action::Fail {
            error,
            retry_at: blocked_until,
        }
    }

    /// Whether a request may start at `now`, given failures and the budget.
    fn gate_at(&mut self, now: Timestamp) -> Gate {
        let failure_gate = self.failure_gate();
        let budget_gate = self.budget.blocked_until(now);
        match failure_gate {
            None => Gate::Closed,
            Some(t) if t > now => Gate::Until(budget_gate.map_or(t, |b| b.max(t))),
            Some(_) => budget_gate.map_or(Gate::Open, Gate::Until),
        }
    }

    /// The earliest time the failure state allows a request (`Some(ZERO)` if no failure);
    /// `None` if it allows none.
    fn failure_gate(&self) -> Option<Timestamp> {
        match &self.failure {
            Some(f) if f.error.is_rejection() => {
                self.config.rejection_reprobe().map(|every| f.at + every)
            }
            _ => Some(self.not_before),
        }
    }

    /// [`Self::gate_at`] without mutating the budget (for `next_wakeup`).
    fn gate(&self) -> Option<Timestamp> {
        let mut budget = self.budget.clone();
        let t = self.failure_gate()?.max(self.now);
        Some(budget.blocked_until(t).unwrap_or(t))
    }

    fn start_request(&mut self, now: Timestamp) -> OutgoingRequest {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.budget.record(now);
        event!(
            debug,
            request = id.0,
            attempt = self.consecutive_failures + 1,
            refresh = self.current.is_some(),
            environment = %self.request.environment(),
            "requesting a Zuora token"
        );
        self.in_flight = Some(InFlight { id, sent_at: now });
        OutgoingRequest {
            id,
            request: self.request.to_http(),
        }
    }

    // ---- handle --------------------------------------------------------------------

    /// Reports the response to request `id`.
    pub fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        now: Timestamp,
        id: RequestId,
        response: &http::Response<B>,
    ) -> Outcome<'_> {
        let now = self.observe(now);
        let Some(sent_at) = self.finish(id) else {
            return Outcome::Ignored;
        };
        event!(
            debug,
            request = id.0,
            status = response.status().as_u16(),
            elapsed_ms = u64::try_from(now.saturating_duration_since(sent_at).as_millis())
                .unwrap_or(u64::MAX),
            "Zuora token endpoint answered"
        );
        match self.request.parse_response(response) {
            Ok(token) => {
                let installed = self.install(sent_at, Arc::new(token), None);
                event!(
                    info,
                    request = id.0,
                    generation = installed.generation,
                    expires_in_s = installed.token.expires_in().as_secs(),
                    refresh_in_s = installed
                        .refresh_at
                        .saturating_duration_since(now)
                        .as_secs(),
                    request_id = installed.token.meta().request_id(),
                    track_id = installed.token.meta().track_id(),
                    "new Zuora token"
                );
                Outcome::Token(installed)
            }
            Err(error) => Outcome::Failed(self.fail(now, error)),
        }
    }

    /// Reports that request `id` got no response.
    pub fn handle_transport_error(
        &mut self,
        now: Timestamp,
        id: RequestId,
        error: TransportError,
    ) -> Outcome<'_> {
        let now = self.observe(now);
        if self.finish(id).is_none() {
            return Outcome::Ignored;
        }
        Outcome::Failed(self.fail(now, Error::Transport(error)))
    }

    /// Reports that request `id` was abandoned before it completed (its caller went away).
    /// It counts against the budget but not as a failure: the next poll may ask again.
    pub fn cancel(&mut self, id: RequestId) {
        if self.finish(id).is_some() {
            event!(
                debug,
                request = id.0,
                "token request abandoned by its caller"
            );
        }
    }

    /// Ends request `id` if it is the one in flight, returning when it was sent.
    fn finish(&mut self, id: RequestId) -> Option<Timestamp> {
        match self.in_flight.filter(|f| f.id == id) {
            Some(in_flight) => {
                self.in_flight = None;
                Some(in_flight.sent_at)
            }
            None => {
                event!(
                    debug,
                    request = id.0,
                    "ignoring the outcome of a superseded request"
                );
                None
            }
        }
    }

    fn install(
        &mut self,
        start: Timestamp,
        token: Arc<Token>,
        lifetime: Option<Duration>,
    ) -> &CachedToken {
        let lifetime = lifetime.unwrap_or_else(|| token.expires_in());
        let expires_at = start + lifetime;
        let window = self.config.refresh_window();
        let refresh_at = if lifetime < window.saturating_mul(2) {
            start + lifetime / 2
        } else {
            // `window * percent` overflows for absurd windows (with an adopted token that
            // lives for ever): divide first then, which is exact enough at that size.
            let percent = self.config.refresh_jitter_percent();
            let max_jitter = window
                .checked_mul(percent)
                .map_or_else(|| window / 100 * percent, |w| w / 100);
            expires_at - window - self.jitter.up_to(max_jitter)
        };
        let generation = self.next_generation;
        self.next_generation += 1;
        self.failure = None;
        self.consecutive_failures = 0;
        self.not_before = Timestamp::ZERO;
        self.current.insert(CachedToken {
            token,
            generation,
            refresh_at,
            expires_at,
            invalidated: false,
        })
    }

    fn fail(&mut self, now: Timestamp, error: Error) -> &Error {
        if !error.is_rejection() {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            let (base, cap) = self.config.backoff();
            let ceiling = backoff_ceiling(base, cap, self.consecutive_failures);
            let delay = self
                .jitter
                .up_to(ceiling)
                .max(error.retry_after().unwrap_or_default());
            self.not_before = now + delay;
            event!(
                warn,
                status = error.status().map(|s| s.as_u16()),
                request_id = error.request_id(),
                transient = error.is_transient(),
                failures = self.consecutive_failures,
                backoff_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "Zuora token request failed; will retry"
            );
        } else {
            event!(
                error,
                status = error.status().map(|s| s.as_u16()),
                request_id = error.request_id(),
                error = %error,
                "Zuora rejected the token request; not retrying"
            );
        }
        &self.failure.insert(Failure { error, at: now }).error
    }

    // ---- external events -----------------------------------------------------------

    /// The Zuora API answered 401 to token `generation`: stop handing it out and fetch a
    /// new one. Returns whether this report changed anything: reports about an older
    /// token, or repeated reports about the same one, do not.
    pub fn invalidate(&mut self, now: Timestamp, generation: u64) -> bool {
        self.observe(now);
        match &mut self.current {
            Some(c) if c.generation == generation && !c.invalidated => {
                c.invalidated = true;
                event!(
                    info,
                    generation,
                    "token reported invalid by the API; refreshing"
                );
                true
            }
            _ => false,
        }
    }

    /// Installs a token obtained elsewhere (e.g. from a store shared by several
    /// processes), valid for `remaining` from `now`, if it outlives the current one.
    /// Returns the installed token, or `None` if it was not better.
    pub fn adopt(
        &mut self,
        now: Timestamp,
        token: Arc<Token>,
        remaining: Duration,
    ) -> Option<&CachedToken> {
        let now = self.observe(now);
        let better = match self.current.as_ref().filter(|c| c.usable(now)) {
            Some(c) => now + remaining > c.expires_at,
            None => !remaining.is_zero(),
        };
        let adopted = better.then(|| self.install(now, token, Some(remaining)));
        #[cfg(feature = "tracing")]
        if let Some(c) = &adopted {
            event!(
                debug,
                generation = c.generation,
                remaining_s = remaining.as_secs(),
                "adopted a token obtained elsewhere"
            );
        }
        adopted
    }

    /// Forgets failures and backoff so that the next poll may ask again (the budget still
    /// applies). Use it after fixing what a rejection complained about.
    pub fn reset(&mut self) {
        self.failure = None;
        self.consecutive_failures = 0;
        self.not_before = Timestamp::ZERO;
    }

    /// Switches to new credentials or a new environment: drops the current token, ignores
    /// the outcome of any request in flight, and forgets failures.
    pub fn reconfigure(&mut self, request: TokenRequest) {
        self.request = request;
        self.current = None;
        self.in_flight = None;
        self.reset();
    }

    fn observe(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        self.now
    }
}

enum Gate {
    Open,
    Until(Timestamp),
    Closed,
}

#[cfg(test)]
mod tests;
