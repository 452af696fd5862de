//! The token lifecycle: a Sans-IO state machine that decides when to ask for a token.

mod budget;
mod config;
mod jitter;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[cfg(test)]
use config::DEFAULT_REQUEST_DEADLINE;
pub use config::LifecycleConfig;

use crate::{
    Error, ErrorDetail, ErrorResponse, Timestamp, Token, TokenRecord, TokenRequest, TransportError,
    TransportErrorKind,
};
use budget::Budget;
pub(crate) use jitter::Jitter;
use jitter::backoff_ceiling;

/// Keeps one Zuora token fresh with the fewest token calls, without doing any I/O.
///
/// The driver (the token source of `zuora-oauth-driver`, or your own loop) feeds it the time
/// and the outcomes of the requests it asked for, and [`poll`](TokenLifecycle::poll)s it for
/// what to do: use a token, send a request, wait, or report a failure. It reads no clock and
/// draws no random numbers (jitter comes from the seed given to [`TokenLifecycle::new`]), so
/// it behaves the same on every platform and in every test.
///
/// What it guarantees:
///
/// 1. With no token, exactly one request is asked for, however often it is polled, until
///    that request's outcome is reported or its deadline passes.
/// 2. A token before its refresh time is handed out; no request is made.
/// 3. Inside the refresh window (default 300 s before expiry, minus up to 10 % jitter;
///    halfway through the usable life of tokens shorter than twice the window), the current
///    token keeps being handed out while exactly one refresh request is made.
/// 4. A transient failure ([`Error::is_transient`]: 429, 5xx, network failures) while the
///    token is still usable keeps the token in use; retries back off exponentially with
///    full jitter (1 s to 60 s by default), and never wait longer than
///    [`LifecycleConfig::with_max_retry_wait`] (15 minutes by default).
/// 5. No token request is sent before the wait the server asked for
///    ([`Error::server_wait`], [`ResponseMeta::server_wait`](crate::ResponseMeta::server_wait)):
///    `Retry-After` if present, else `RateLimit-Reset` on a 429 — how Zuora documents its
///    429s — and on any answer whose `RateLimit-Remaining` is 0, a token included (so that
///    a token refused by the API meanwhile is not replaced before the reset). The wait is
///    jittered — up to 10 % of it, and at least up to 1 s, more — so that a fleet told the
///    same does not come back in lock-step, and capped by
///    [`LifecycleConfig::with_max_retry_wait`] (the error still reports what the server
///    asked). [`reset`](TokenLifecycle::reset) forgets it.
/// 6. A token is handed out only while it has more than the minimum remaining lifetime
///    left ([`LifecycleConfig::with_min_remaining`], 30 s by default, at most half a short
///    token's life). Past that with no replacement, pollers get the last error and the time
///    of the next attempt.
/// 7. A permanent failure (rejected credentials, a wrong base URL, a redirect, TLS…) stops
///    automatic retries (unless [`LifecycleConfig::with_permanent_reprobe`] allows a slow
///    one, never before the server's wait); the error goes to every poller once no usable token is left.
///    [`reset`](TokenLifecycle::reset) or [`reconfigure`](TokenLifecycle::reconfigure)
///    start again.
/// 8. [`invalidate`](TokenLifecycle::invalidate) (the API answered 401 to a token believed
///    valid) causes one refresh however many callers report the same token; a report about
///    an older token is ignored.
/// 9. Never more than one request is in flight; the outcome of a superseded request is
///    ignored. A request whose outcome is not reported within
///    [`LifecycleConfig::with_request_deadline`] counts as a timed-out transport failure.
/// 10. At most [`LifecycleConfig::with_max_requests_per_minute`] requests (default 10) are
///     asked for in any rolling minute.
/// 11. Time going backwards is treated as time standing still; huge jumps, zero and huge
///     lifetimes neither panic nor loop (lifetimes are clamped to
///     [`LifecycleConfig::with_max_lifetime`], 24 h by default).
/// 12. [`reconfigure`](TokenLifecycle::reconfigure) with a new client secret for the same
///     client keeps handing out the current token (while usable) until the new secret
///     produces one, and asks for one at once; with another client, environment or entity
///     it drops the current token. A rejection of the new credentials is reported as such
///     ([`TokenLifecycle::rotation`]).
///
/// Timing is counted from when a request was *sent*, so a token's expiry is never later
/// than Zuora's.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use zuora_oauth_core::{Action, ClientId, ClientSecret, Environment, LifecycleConfig,
///                        Timestamp, TokenLifecycle, TokenRequest};
///
/// let request = TokenRequest::new(
///     Environment::custom("http://127.0.0.1:8080")?,
///     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
///     ClientSecret::new("dG9wLXNlY3JldA==")?,
/// );
/// let seed = 0x2545_f491_4f6c_dd1d; // draw it from the OS in real code
/// let mut lifecycle = TokenLifecycle::new(request, LifecycleConfig::default(), seed);
///
/// // Your transport: here, a canned Zuora response.
/// let send = |_request: http::Request<Vec<u8>>| {
///     http::Response::builder()
///         .header("content-type", "application/json")
///         .body(br#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#.to_vec())
/// };
///
/// let now = Timestamp::ZERO; // your monotonic clock
/// let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_748_800); // your wall clock
/// let token = loop {
///     match lifecycle.poll(now) {
///         Action::Use(cached) => break cached.token().clone(),
///         Action::Send(outgoing) => {
///             let id = outgoing.id();
///             let response = send(outgoing.into_request())?;
///             let _ = lifecycle.handle_response(now, wall, id, &response);
///         }
///         Action::Wait => unreachable!("this driver waits for its own request"),
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
/// // The token's record, to keep in a file or a shared store: absolute wall-clock times.
/// let record = lifecycle.token(refresh).unwrap().record();
/// assert_eq!(record.expires_at(), wall + Duration::from_secs(3599));
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
    current: Option<TokenHandle>,
    next_generation: u64,
    in_flight: Option<InFlight>,
    next_request: u64,
    failure: Option<Failure>,
    consecutive_failures: u32,
    /// No transient retry before this (the backoff).
    not_before: Timestamp,
    /// No request at all before this: the server's wait, jittered and capped.
    server_not_before: Timestamp,
    /// The answer that asked for `server_not_before`, for pollers left without a token
    /// and without a failure (a token answer that asked to wait; a failure that a token
    /// taken from elsewhere cleared).
    server_wait_error: Option<Error>,
    /// Set by `reconfigure` until the new request produces a token: the current token, if
    /// any, was obtained with the previous request.
    rotation: Option<Rotation>,
}

/// Where the credentials given to [`TokenLifecycle::reconfigure`] stand, until they produce
/// a token (see [`TokenLifecycle::rotation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rotation {
    /// No token from the new credentials yet: a request with them is due at once (and is
    /// retried after transient failures as usual). A token kept from the previous secret
    /// is handed out meanwhile, while usable.
    Pending,
    /// Zuora rejected the new credentials (HTTP 400, 401 or 403:
    /// [`TokenLifecycle::last_error`] has its answer): no automatic retry, as for any
    /// rejection. A token kept from the previous secret is still handed out while usable;
    /// after that, pollers get the rejection.
    Rejected,
}

/// Which token a [`TokenHandle`] is: every token installed gets a higher one. Report it to
/// [`TokenLifecycle::invalidate`] when the API answers 401 to that token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(u64);

impl Generation {
    /// The number (for logs and metrics; never the token).
    pub fn get(self) -> u64 {
        self.0
    }

    /// The generation numbered `n`, as [`get`](Self::get) gave it (for a driver that keeps
    /// generations as plain numbers, in atomics say). A number that names no token is
    /// harmless: `invalidate` ignores it.
    pub fn from_number(n: u64) -> Self {
        Self(n)
    }
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A token handed out: Zuora's [`Token`] (shared: cloning a handle is cheap), which
/// [`Generation`] it is (report that to `invalidate` when the API answers 401 to it), and its
/// schedule. It dereferences to the [`Token`] (`authorize`, `scope`, `meta`…). The
/// lifecycle hands it out ([`Action::Use`]), and so do the token sources of
/// `zuora-oauth-driver`. `Debug` never shows the access token.
#[derive(Debug, Clone)]
pub struct TokenHandle {
    token: Arc<Token>,
    generation: Generation,
    refresh_at: Timestamp,
    usable_until: Timestamp,
    expires_at: Timestamp,
    issued_at: SystemTime,
    /// The whole lifetime (clamped), from `issued_at`.
    whole: Duration,
    invalidated: bool,
}

impl std::ops::Deref for TokenHandle {
    type Target = Token;
    fn deref(&self) -> &Token {
        &self.token
    }
}

impl TokenHandle {
    /// The token (shared: cloning the `Arc` is cheap).
    pub fn token(&self) -> &Arc<Token> {
        &self.token
    }

    /// Which token this is; pass it to [`TokenLifecycle::invalidate`].
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// When a refresh will be asked for.
    pub fn refresh_at(&self) -> Timestamp {
        self.refresh_at
    }

    /// When the token stops being handed out: its expiry less the minimum remaining
    /// lifetime ([`LifecycleConfig::with_min_remaining`]).
    pub fn usable_until(&self) -> Timestamp {
        self.usable_until
    }

    /// When the token expires (as far as the machine knows: counted from when its request
    /// was sent, and never later than [`LifecycleConfig::with_max_lifetime`] allows).
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// The token with wall-clock times, to keep outside the process (a file, a store
    /// shared by a fleet); another lifecycle [`adopt`](TokenLifecycle::adopt)s it.
    pub fn record(&self) -> TokenRecord {
        TokenRecord::with_lifetime(&self.token, self.issued_at, self.whole)
    }

    fn usable(&self, now: Timestamp) -> bool {
        !self.invalidated && now < self.usable_until
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
///
/// `Debug` shows the request ID, method and URI, never the body (it holds the client
/// secret).
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

impl std::fmt::Debug for OutgoingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingRequest")
            .field("id", &self.id)
            .field("method", self.request.method())
            .field("uri", self.request.uri())
            .finish_non_exhaustive()
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
    Use(&'a TokenHandle),
    /// No token yet; a request is in flight. Poll again when its outcome has been reported
    /// (or at [`next_wakeup`](TokenLifecycle::next_wakeup), when the machine gives up on
    /// it).
    Wait,
    /// No token can be handed out: this is the last failure. `retry_at` is when the next
    /// attempt may be made; `None` means not automatically (a permanent failure:
    /// [`reset`](TokenLifecycle::reset) or [`reconfigure`](TokenLifecycle::reconfigure)).
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
    Token(&'a TokenHandle),
    /// The request failed; the lifecycle has scheduled what comes next.
    Failed(&'a Error),
    /// The outcome was for a request that is no longer in flight; nothing changed.
    Ignored,
}

impl TokenLifecycle {
    /// A lifecycle that fetches tokens with `request`.
    ///
    /// `seed` drives the jitter of refresh times and backoff. Give every process (and every
    /// lifecycle) its own, drawn from the OS — e.g. `RandomState::new().hash_one(0)` from
    /// `std::collections::hash_map`, or `Math.random()` on wasm; the transports' token
    /// sources do this. The machine itself draws no randomness, so equal seeds act in
    /// lock-step, which only tests want. There is no default seed:
    ///
    /// ```compile_fail
    /// # use zuora_oauth_core::*;
    /// # let request = TokenRequest::new(Environment::Sbx,
    /// #     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
    /// #     ClientSecret::new("s").unwrap());
    /// let lifecycle = TokenLifecycle::new(request, LifecycleConfig::default()); // no seed
    /// ```
    pub fn new(request: TokenRequest, config: LifecycleConfig, seed: u64) -> Self {
        let per_minute = config.max_requests_per_minute();
        Self {
            request,
            jitter: Jitter::new(seed),
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
            rotation: None,
            server_not_before: Timestamp::ZERO,
            server_wait_error: None,
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
    pub fn token(&self, now: Timestamp) -> Option<&TokenHandle> {
        let now = now.max(self.now);
        self.current.as_ref().filter(|c| c.usable(now))
    }

    /// The token installed last with the current request, whether or not it may still be
    /// handed out (it may be invalidated, or past its use): what a shared store's record
    /// must be newer than. `None` while a [rotation](Self::rotation) is under way: the token
    /// kept from the previous secret is no measure for the new credentials' records.
    pub fn last_token(&self) -> Option<&TokenHandle> {
        self.current.as_ref().filter(|_| self.rotation.is_none())
    }

    /// Whether the credentials given to [`reconfigure`](Self::reconfigure) have produced
    /// a token yet: `None` once they have (or before any reconfiguration),
    /// [`Rotation::Pending`] until then, [`Rotation::Rejected`] if Zuora rejected them.
    pub fn rotation(&self) -> Option<Rotation> {
        self.rotation
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
    /// the refresh time, the end of a backoff, server or budget wait, the deadline of the request
    /// in flight, or the end of the current token's use. `None` when only a reset can
    /// change anything.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        let usable = self.current.as_ref().filter(|c| c.usable(self.now));
        if let Some(f) = self.in_flight {
            // The outcome, the deadline, or the current token's end changes anything.
            let deadline = f.sent_at + self.config.request_deadline();
            return Some(usable.map_or(deadline, |c| c.usable_until.min(deadline)));
        }
        let gate = self.gate();
        match usable {
            Some(c) if self.now < c.refresh_at => Some(c.refresh_at),
            Some(c) => Some(gate.map_or(c.usable_until, |g| g.min(c.usable_until))),
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
        let error = match (&self.failure, &self.server_wait_error) {
            (Some(f), _) => &f.error,
            (None, Some(asked)) if now < self.server_not_before => asked,
            (None, _) => {
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

    /// The earliest time the failure state and the server's wait allow a request
    /// (`Some(ZERO)` if neither holds one back); `None` if they allow none.
    fn failure_gate(&self) -> Option<Timestamp> {
        let gate = match &self.failure {
            Some(f) if !f.error.is_transient() => f.at + self.config.permanent_reprobe()?,
            _ => self.not_before,
        };
        Some(gate.max(self.server_not_before))
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

    /// Reports the response to request `id`, received at `now`; `wall` is the wall clock
    /// at the same moment (for the token's [`TokenRecord`], and for a `Retry-After` date
    /// when the response has no `Date` header). Whatever the outcome, the wait the response
    /// asks for ([`ResponseMeta::server_wait_from`](crate::ResponseMeta::server_wait_from))
    /// holds the next request back.
    ///
    /// An outcome reported at or after the request's deadline
    /// ([`LifecycleConfig::with_request_deadline`]) is [`Outcome::Ignored`]: by then the
    /// machine has counted the request as timed out (and may have asked for another).
    pub fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        now: Timestamp,
        wall: SystemTime,
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
                // Issued when the request was sent, as the response's `Date` has it, or as
                // the local wall clock had it then.
                let issued_at = token.meta().date().unwrap_or_else(|| {
                    wall.checked_sub(now.saturating_duration_since(sent_at))
                        .unwrap_or(wall)
                });
                let lifetime = token.expires_in();
                let life = Life {
                    remaining: lifetime,
                    whole: lifetime,
                    issued_at,
                };
                // A token answer may say the quota is spent: no request before its reset.
                let asked = token.meta().server_wait_from(wall).map(|wait| {
                    let meta = token.meta().clone();
                    (
                        wait,
                        ErrorResponse::new(meta, ErrorDetail::default(), String::new()),
                    )
                });
                let _ = self.install(sent_at, Arc::new(token), life);
                if let Some((wait, answer)) = asked
                    && self.hold_back(now, wait)
                {
                    self.server_wait_error = Some(Error::ServerWait(answer));
                }
                let installed = self.current.as_ref().expect("just installed");
                event!(
                    info,
                    request = id.0,
                    generation = installed.generation.0,
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
            Err(error) => {
                let server_wait = error
                    .response()
                    .and_then(|r| r.meta().server_wait_from(wall));
                Outcome::Failed(self.fail(now, error, server_wait))
            }
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
        Outcome::Failed(self.fail(now, Error::Transport(error), None))
    }

    /// Reports that request `id` was answered by a token obtained elsewhere: a record another
    /// process stored in a shared store (see [`FleetFetch`](crate::FleetFetch)). If it is
    /// good enough to [adopt](Self::adopt), the request ends with it ([`Outcome::Token`]; it
    /// counted against the budget: the store was asked instead of Zuora); if not, the
    /// request stays in flight ([`Outcome::Ignored`]), to be answered another way.
    pub fn handle_record(
        &mut self,
        now: Timestamp,
        wall: SystemTime,
        id: RequestId,
        record: &TokenRecord,
    ) -> Outcome<'_> {
        let now = self.observe(now);
        if self.in_flight.is_none_or(|f| f.id != id) || !self.adoptable(now, wall, record) {
            return Outcome::Ignored;
        }
        let _ = self.finish(id);
        match self.adopt(now, wall, record) {
            Some(adopted) => Outcome::Token(adopted),
            None => Outcome::Ignored,
        }
    }

    /// Reports that request `id` was abandoned before it completed. It counts against the
    /// budget but not as a failure: the next poll may ask again.
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

    /// Installs `token`, obtained by a request sent at `start` or adopted at `start`.
    fn install(&mut self, start: Timestamp, token: Arc<Token>, life: Life) -> &TokenHandle {
        let max = self.config.max_lifetime();
        if life.whole > max {
            event!(
                debug,
                expires_in_s = life.whole.as_secs(),
                max_lifetime_s = max.as_secs(),
                "token lifetime clamped to the configured maximum"
            );
        }
        let whole = life.whole.min(max);
        let expires_at = start + life.remaining.min(whole);
        // Never hand out a token about to expire; for short tokens, keep half their life.
        let min_remaining = self.config.min_remaining().min(whole / 2);
        let usable_until = expires_at - min_remaining;
        // The usable life counts from when the token was issued: an adopted token may have
        // lived part of it already (zero for a token just fetched).
        let elapsed = whole.saturating_sub(life.remaining);
        let usable = usable_until
            .saturating_duration_since(start)
            .saturating_add(elapsed);
        let window = self.config.refresh_window();
        let refresh_at = if usable < window.saturating_mul(2) {
            start + (usable / 2).saturating_sub(elapsed)
        } else {
            // `window * percent` overflows for absurd windows (with a token that lives for
            // ever): divide first then, which is exact enough at that size.
            let percent = self.config.refresh_jitter_percent();
            let max_jitter = window
                .checked_mul(percent)
                .map_or_else(|| window / 100 * percent, |w| w / 100);
            // The window counts back from expiry, or from the end of use when the minimum
            // remaining lifetime is longer than the window.
            // (The window alone decides which, so that the jitter never moves a refresh to
            // just before the end of use.)
            let lead = window.saturating_add(self.jitter.up_to(max_jitter));
            if expires_at - window < usable_until {
                expires_at - lead
            } else {
                usable_until - lead
            }
        };
        let generation = Generation(self.next_generation);
        self.next_generation += 1;
        if self.rotation.take().is_some() {
            event!(
                info,
                generation = generation.0,
                "the new credentials produced a token; the rotation is complete"
            );
        }
        // A failure that asked for a wait still running: its answer keeps saying why (as a
        // wait: the failure itself is over).
        if let Some(failure) = self.failure.take()
            && self.server_wait_error.is_none()
            && self.server_not_before > start
        {
            self.server_wait_error = waited(&failure.error);
        }
        self.consecutive_failures = 0;
        self.not_before = Timestamp::ZERO;
        self.current.insert(TokenHandle {
            token,
            generation,
            refresh_at,
            usable_until,
            expires_at,
            issued_at: life.issued_at,
            whole,
            invalidated: false,
        })
    }

    /// Records a failure at `now`; `server_wait` is what the server asked for
    /// ([`ResponseMeta::server_wait_from`](crate::ResponseMeta::server_wait_from)), if
    /// anything.
    fn fail(&mut self, now: Timestamp, error: Error, server_wait: Option<Duration>) -> &Error {
        if error.is_transient() {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            let (base, cap) = self.config.backoff();
            let ceiling = backoff_ceiling(base, cap, self.consecutive_failures);
            let backoff = self.jitter.up_to(ceiling).min(self.config.max_retry_wait());
            self.not_before = now + backoff;
        }
        if let Some(wait) = server_wait
            && self.hold_back(now, wait)
        {
            // The failure itself tells pollers why (and moves here if a token installed
            // before the wait ends clears it).
            self.server_wait_error = None;
        }
        if error.is_transient() {
            let _delay = self
                .not_before
                .max(self.server_not_before)
                .saturating_duration_since(now);
            event!(
                warn,
                status = error.status().map(|s| s.as_u16()),
                request_id = error.request_id(),
                failures = self.consecutive_failures,
                backoff_ms = u64::try_from(_delay.as_millis()).unwrap_or(u64::MAX),
                server_wait_s = server_wait.map(|w| w.as_secs()),
                error = %error,
                "Zuora token request failed; will retry"
            );
        } else if matches!(error, Error::Rejected(_)) && self.rotation.is_some() {
            self.rotation = Some(Rotation::Rejected);
            event!(
                error,
                status = error.status().map(|s| s.as_u16()),
                request_id = error.request_id(),
                kept_token = self.current.as_ref().is_some_and(|c| c.usable(now)),
                error = %error,
                "Zuora rejected the new credentials given to reconfigure; a token kept from the previous secret is used while usable; not retrying automatically"
            );
        } else {
            event!(
                error,
                status = error.status().map(|s| s.as_u16()),
                request_id = error.request_id(),
                reprobe_s = self.config.permanent_reprobe().map(|d| d.as_secs()),
                error = %error,
                "Zuora token request failed permanently; not retrying automatically"
            );
        }
        &self.failure.insert(Failure { error, at: now }).error
    }

    /// Holds every request back until the server's `wait` from `now` has passed, plus its
    /// jitter (up to 10 % of it, at least up to 1 s), capped by the maximum retry wait.
    /// Returns whether that moved the end of the wait (a zero wait holds nothing back);
    /// the caller then says why in `server_wait_error`.
    fn hold_back(&mut self, now: Timestamp, wait: Duration) -> bool {
        if wait.is_zero() {
            return false;
        }
        let spread = (wait / SERVER_WAIT_SPREAD_DIVISOR).max(SERVER_WAIT_MIN_SPREAD);
        let held = wait
            .saturating_add(self.jitter.up_to(spread))
            .min(self.config.max_retry_wait());
        event!(
            warn,
            server_wait_s = wait.as_secs(),
            held_ms = u64::try_from(held.as_millis()).unwrap_or(u64::MAX),
            "Zuora asked to wait before the next token request"
        );
        let until = now + held;
        let later = until > self.server_not_before;
        if later {
            self.server_not_before = until;
        }
        later
    }

    // ---- external events -----------------------------------------------------------

    /// The Zuora API answered 401 to token `generation`: stop handing it out and fetch a
    /// new one. Returns whether this report changed anything: reports about an older
    /// token, or repeated reports about the same one, do not.
    pub fn invalidate(&mut self, now: Timestamp, generation: Generation) -> bool {
        self.observe(now);
        match &mut self.current {
            Some(c) if c.generation == generation && !c.invalidated => {
                c.invalidated = true;
                event!(
                    info,
                    generation = generation.0,
                    "token reported invalid by the API; refreshing"
                );
                true
            }
            _ => false,
        }
    }

    /// Installs a token obtained elsewhere (a file cache, a store shared by several
    /// processes) at `now`, `wall` being the wall clock at the same moment, if it is good
    /// enough and outlives the current one. Returns the installed token, or `None` if it
    /// was not installed: it has no more than the minimum remaining lifetime left
    /// ([`LifecycleConfig::with_min_remaining`]), or the current token lives longer.
    pub fn adopt(
        &mut self,
        now: Timestamp,
        wall: SystemTime,
        record: &TokenRecord,
    ) -> Option<&TokenHandle> {
        let now = self.observe(now);
        if !self.adoptable(now, wall, record) {
            return None;
        }
        let (remaining, whole) = (record.remaining(wall), record.lifetime());
        let life = Life {
            remaining,
            whole,
            issued_at: record.issued_at(),
        };
        let adopted = self.install(now, Arc::new(record.to_token()), life);
        event!(
            debug,
            generation = adopted.generation.0,
            remaining_s = remaining.as_secs(),
            "adopted a token obtained elsewhere"
        );
        Some(adopted)
    }

    /// Whether `record` would be adopted at `now`: it has more than the minimum remaining
    /// lifetime left and outlives the current usable token (any token will do while a
    /// rotation is under way: the current one is the previous secret's).
    fn adoptable(&self, now: Timestamp, wall: SystemTime, record: &TokenRecord) -> bool {
        let remaining = record.remaining(wall);
        let min_remaining = self.config.min_remaining().min(record.lifetime() / 2);
        let rotating = self.rotation.is_some();
        remaining > min_remaining
            && match self.current.as_ref().filter(|c| c.usable(now) && !rotating) {
                Some(c) => now + remaining > c.expires_at,
                None => true,
            }
    }

    /// Forgets failures, backoff and the server's wait so that the next poll may ask again
    /// (the budget still applies). Use it after fixing what a permanent failure complained
    /// about. A [rotation](Self::rotation) whose credentials were rejected is pending again.
    pub fn reset(&mut self) {
        self.failure = None;
        self.consecutive_failures = 0;
        self.not_before = Timestamp::ZERO;
        if self.rotation.is_some() {
            self.rotation = Some(Rotation::Pending);
        }
        self.server_not_before = Timestamp::ZERO;
        self.server_wait_error = None;
    }

    /// Switches to `request`: new credentials, or a new environment. In every case the
    /// outcome of a request in flight is ignored (it was sent with the previous request),
    /// failures and backoff are forgotten, and the [rotation](Self::rotation) is
    /// [`Pending`](Rotation::Pending) until the new request produces a token; the first
    /// poll asks for one (the budget still applies).
    ///
    /// - **The same client** ([`TokenRequest::same_client`]: the same environment, client
    ///   ID and entity ID; a new secret, say): the current token is **kept** and handed
    ///   out while usable, until the new secret produces a token. Zuora does not say
    ///   whether regenerating a secret revokes the tokens issued with the old one; if it
    ///   does, the API answers 401 to the kept token, and
    ///   [`invalidate`](Self::invalidate) stops it as usual. If Zuora rejects the new
    ///   secret ([`Rotation::Rejected`]), the kept token is still handed out while usable:
    ///   a mistyped secret turns into an outage only when the token runs out, and the
    ///   rejection is reported meanwhile ([`last_error`](Self::last_error)).
    /// - **Another client, environment or entity**: the current token is **dropped** at
    ///   once; it must not go to another environment's URLs, nor serve another client.
    ///
    /// A shared store's record of the kept token is no measure for the new credentials'
    /// records: until the rotation completes, any good-enough record is adopted
    /// ([`handle_record`](Self::handle_record)) and [`last_token`](Self::last_token) is
    /// `None`.
    pub fn reconfigure(&mut self, request: TokenRequest) {
        let keep = self.request.same_client(&request);
        // Zuora's wait holds for the same client (its limits are per tenant and per IP).
        // While a failure that asked for it is the reason, its answer becomes the wait's
        // (the reset below ends the failure, not the wait).
        let reason = match (self.server_wait_error.take(), &self.failure) {
            (Some(reason), _) => Some(reason),
            (None, Some(failure)) if self.server_not_before > self.now => waited(&failure.error),
            (None, _) => None,
        };
        let server_wait = (self.server_not_before, reason);
        self.request = request;
        self.in_flight = None;
        self.reset();
        if keep {
            (self.server_not_before, self.server_wait_error) = server_wait;
        }
        self.rotation = Some(Rotation::Pending);
        let now = self.now;
        match self.current.as_mut() {
            Some(current) if keep => {
                // Due now: the refresh asks with the new secret at once.
                current.refresh_at = current.refresh_at.min(now);
                event!(
                    info,
                    generation = current.generation.0,
                    "reconfigured for the same client (a new secret?): the current token is kept until the new request produces one; fetching with it now"
                );
            }
            _ => {
                self.current = None;
                event!(
                    info,
                    environment = %self.request.environment(),
                    "credentials changed: the current token is dropped; fetching with the new ones"
                );
            }
        }
    }

    /// Moves the machine's time to `now` (never backwards) and gives up on a request in
    /// flight past its deadline.
    fn observe(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        let now = self.now;
        let deadline = self.config.request_deadline();
        // Measured as a distance: `sent_at + deadline` saturates at the end of time.
        let overdue = |f: &InFlight| now.saturating_duration_since(f.sent_at) >= deadline;
        if let Some(_f) = self.in_flight.filter(overdue) {
            self.in_flight = None;
            event!(
                warn,
                request = _f.id.0,
                deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
                "no outcome reported for the token request before its deadline"
            );
            let error = TransportError::new(
                TransportErrorKind::Timeout,
                format!(
                    "no outcome reported within the request deadline ({} s)",
                    crate::error::ceil_secs(deadline)
                ),
            );
            let _ = self.fail(now, Error::Transport(error), None);
        }
        now
    }
}

/// The server's wait is jittered by up to a tenth of it…
const SERVER_WAIT_SPREAD_DIVISOR: u32 = 10;
/// …and by at least up to a second (the headers count whole seconds).
const SERVER_WAIT_MIN_SPREAD: Duration = Duration::from_secs(1);

/// How long a token being installed lives.
struct Life {
    /// From the moment it is installed (or its request was sent).
    remaining: Duration,
    /// From when it was issued.
    whole: Duration,
    /// When it was issued, on the wall clock.
    issued_at: SystemTime,
}

enum Gate {
    Open,
    Until(Timestamp),
    Closed,
}

/// A failure's answer as the reason for the server's wait it asked for (the failure itself
/// is over: no detail, no body).
fn waited(error: &Error) -> Option<Error> {
    error.response().map(|r| {
        let answer = ErrorResponse::new(r.meta().clone(), ErrorDetail::default(), String::new());
        Error::ServerWait(answer)
    })
}

#[cfg(test)]
mod tests;
