//! `TokenLifecycle` driven by arbitrary sequences of operations, against a model of its
//! documented rules that keeps the books the way the proptest `invariants_hold` in
//! `core/src/lifecycle/tests.rs` does.
//!
//! Input: 13 configuration bytes, then byte-coded operations (see
//! `zuora_oauth_fuzz::decode_lifecycle`). Checked after every operation:
//! - never two requests in flight; a request in flight always has a wake-up, and one
//!   without an outcome at or past `sent + deadline` (a distance) is a timed-out transport
//!   failure whose late outcome is `Ignored`;
//! - a request only when one is allowed (refresh due, failure gate open, budget left) and
//!   always when everything allows one (no wedge); never more than the budget in any
//!   rolling 60 s;
//! - no token handed out at or past its `usable_until` = send (or adoption) time +
//!   lifetime clamped to the maximum − min(minimum remaining, half that lifetime); its
//!   expiry, end of use and refresh time (halfway through the usable life counted from
//!   the token's issue when that is shorter than twice the window; else window plus
//!   jitter before expiry, or before the end of use when the window alone reaches past
//!   it) are what the rules say;
//! - one retry policy: every failure's `is_transient` is what its status or transport kind
//!   says; a permanent failure is never retried without a reset or a due re-probe; a
//!   transient one not later than the cap allows (plus the budget's minute);
//! - no request before the server's wait (`Retry-After`, a date without `Date` resolved
//!   against the wall clock passed in; else `RateLimit-Reset` on a 429 or with nothing
//!   remaining, a token's answer included), capped; the wait plus its jitter (up to 10 %,
//!   at least up to 1 s) not exceeded; a token from elsewhere does not end it, a reset does;
//!   while it holds with no failure, `Fail` says why (not the budget);
//! - `next_wakeup()` is what the rules say (exact, or within the backoff's bounds), never in
//!   the past, and after a poll that did not send, in the future (a driver never spins);
//!   `Fail`'s `retry_at` equals it;
//! - `adopt` and `handle_record` install a record exactly when it has more than the
//!   minimum remaining lifetime left and outlives the usable token (a record not taken
//!   leaves the request in flight); `invalidate` reports
//!   exactly the documented changes; a token's record has the expected wall-clock times;
//! - outcomes classified as the response says; stale outcomes `Ignored`; getters agree;
//! - no `Debug` (machine, action, outcome, error, outgoing request) shows the secret.

#![forbid(unsafe_code)]
#![no_main]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use zuora_oauth_core::{
    AccessToken, Action, Error, Generation, LifecycleConfig, Outcome, RequestId, Timestamp, Token,
    TokenHandle, TokenLifecycle, TokenRecord, TransportError, TransportErrorKind,
};
use zuora_oauth_fuzz::{
    ConfigSpec, Expect, JUMPS, Jump, Op, RECORD_AGES, RECORD_LIFETIMES, RETRY_STATUSES, SECRET,
    decode_lifecycle, framing, reconfigured_request, request, server_wait, shape, shows,
    skewed_wall, transient_status,
};

const MINUTE: Duration = Duration::from_secs(60);

fuzz_target!(|data: &[u8]| {
    let (spec, ops) = decode_lifecycle(data);
    let (base, cap) = spec.backoff();
    let config = LifecycleConfig::default()
        .with_max_requests_per_minute(spec.budget())
        .with_refresh_window(spec.window())
        .with_refresh_jitter_percent(u32::from(spec.jitter))
        .with_backoff(base, cap)
        .with_permanent_reprobe(spec.reprobe())
        .with_request_deadline(spec.deadline())
        .with_max_retry_wait(spec.max_wait())
        .with_min_remaining(spec.min_remaining())
        .with_max_lifetime(spec.max_lifetime());
    let mut lc = TokenLifecycle::new(request(), config, spec.seed());
    let mut m = Model::new(spec);
    for op in ops.into_iter().take(512) {
        m.apply(&mut lc, op);
        m.check_state(&lc);
    }
    m.check_debug(&format!("{lc:?}"), "the machine");
});

/// A token the machine installed, as the model computes it.
struct Installed {
    text: String,
    expires_at: Timestamp,
    usable_until: Timestamp,
    /// Checked against the rules when installed.
    refresh_at: Timestamp,
}

#[derive(Debug, Clone, Copy)]
struct Failure {
    transient: bool,
    /// The machine's time when it was recorded.
    at: Timestamp,
    /// A request given up at its deadline.
    timeout: bool,
}

/// `next_wakeup()` as the rules give it: exactly, or within bounds (the backoff's jitter).
#[derive(Debug)]
enum Wakeup {
    Exact(Option<Timestamp>),
    Within(Timestamp, Timestamp),
}

struct Model {
    spec: ConfigSpec,
    clock: Timestamp,
    /// Seconds the wall clock is off the monotonic one.
    skew: i64,
    latest: Timestamp,
    in_flight: Option<(RequestId, Timestamp)>,
    past: Vec<RequestId>,
    sends: Vec<Timestamp>,
    tokens: HashMap<Generation, Installed>,
    /// Every generation seen, oldest first.
    generations: Vec<Generation>,
    /// The last token installed (usable or not), until a reconfiguration.
    current: Option<Generation>,
    invalidated: HashSet<Generation>,
    /// The last failure since the last token, reset or reconfiguration.
    failure: Option<Failure>,
    /// Consecutive transient failures.
    failures: u32,
    /// Bounds of the end of the backoff after the last transient failure: the failure
    /// itself, and the backoff ceiling, capped.
    not_before: (Timestamp, Timestamp),
    /// Bounds of the end of the server's wait (no request at all before it): the wait
    /// capped, and the wait plus its jitter capped. Ended by a reset only.
    server: (Timestamp, Timestamp),
    issued: u64,
    secret: &'static str,
    /// A reconfiguration whose request has produced no token yet: the current token (if
    /// any) is the previous request's, kept because the client is the same.
    rotating: bool,
}

/// What a poll answered, owned.
enum Polled {
    Send(RequestId),
    Use,
    Wait,
    Fail(Option<Timestamp>),
}

impl Model {
    fn new(spec: ConfigSpec) -> Self {
        Self {
            spec,
            clock: Timestamp::ZERO,
            skew: 0,
            latest: Timestamp::ZERO,
            in_flight: None,
            past: Vec::new(),
            sends: Vec::new(),
            tokens: HashMap::new(),
            generations: Vec::new(),
            current: None,
            invalidated: HashSet::new(),
            failure: None,
            failures: 0,
            not_before: (Timestamp::ZERO, Timestamp::ZERO),
            server: (Timestamp::ZERO, Timestamp::ZERO),
            issued: 0,
            secret: SECRET,
            rotating: false,
        }
    }

    /// The wall clock at the monotonic `clock` (moved by the skew).
    fn wall(&self) -> SystemTime {
        skewed_wall(self.clock, self.skew)
    }

    /// Feeds `clock` to the model as the machine takes it: the latest time moves on (never
    /// back), and a request in flight at or past its deadline is a timed-out failure.
    fn observe(&mut self) -> Timestamp {
        self.latest = self.latest.max(self.clock);
        let now = self.latest;
        if let Some((_, sent)) = self.in_flight
            && now.saturating_duration_since(sent) >= self.spec.deadline()
        {
            self.in_flight = None;
            self.failed(now, true, true);
        }
        now
    }

    /// Records a failure at `now`.
    fn failed(&mut self, now: Timestamp, transient: bool, timeout: bool) {
        if transient {
            self.failures = self.failures.saturating_add(1);
            let cap = self.spec.max_wait();
            let ceiling = backoff_ceiling(self.spec.backoff(), self.failures);
            self.not_before = (now, now + ceiling.min(cap));
        }
        self.failure = Some(Failure {
            transient,
            at: now,
            timeout,
        });
    }

    /// An answer received at `now` asked to wait `wait` (nothing for a zero wait): no
    /// request before it, capped; and no later than its jitter (up to 10 % of it, at least
    /// up to 1 s), capped. A later answer can only push the end further.
    fn asked_to_wait(&mut self, now: Timestamp, wait: Option<Duration>) {
        let Some(wait) = wait.filter(|w| !w.is_zero()) else {
            return;
        };
        let cap = self.spec.max_wait();
        let spread = (wait / 10).max(Duration::from_secs(1));
        let (lo, hi) = (
            now + wait.min(cap),
            now + wait.saturating_add(spread).min(cap),
        );
        self.server = (self.server.0.max(lo), self.server.1.max(hi));
    }

    /// Forgets the server's wait (a reset, a reconfiguration).
    fn forget_server_wait(&mut self) {
        self.server = (Timestamp::ZERO, Timestamp::ZERO);
    }

    /// Forgets failures and backoff (a token, a reset, a reconfiguration).
    fn forget_failures(&mut self) {
        self.failure = None;
        self.failures = 0;
        self.not_before = (Timestamp::ZERO, Timestamp::ZERO);
    }

    /// The generation of the token that may be handed out at `now`.
    fn usable_at(&self, now: Timestamp) -> Option<Generation> {
        let g = self.current?;
        (!self.invalidated.contains(&g) && now < self.tokens[&g].usable_until).then_some(g)
    }

    /// Requests sent within the minute before `t`, and the oldest of them.
    fn in_minute(&self, t: Timestamp) -> (usize, Option<Timestamp>) {
        let within: Vec<Timestamp> = self
            .sends
            .iter()
            .copied()
            .filter(|&s| t.saturating_duration_since(s) < MINUTE)
            .collect();
        (within.len(), within.iter().min().copied())
    }

    /// The earliest time the budget allows a request at or after `t`.
    fn budget_gate(&self, t: Timestamp) -> Timestamp {
        match self.in_minute(t) {
            (n, Some(oldest)) if n >= self.spec.budget() as usize => oldest + MINUTE,
            _ => t,
        }
    }

    fn next_text(&mut self, prefix: &str) -> String {
        self.issued += 1;
        format!("{prefix}{:029}", self.issued)
    }

    fn apply(&mut self, lc: &mut TokenLifecycle, op: Op) {
        match op {
            Op::Poll => {
                self.poll(lc);
            }
            Op::AdvanceMs(ms) => self.clock = self.clock + Duration::from_millis(u64::from(ms)),
            Op::AdvanceSecs(s) => self.clock = self.clock + Duration::from_secs(u64::from(s)),
            Op::BackMs(ms) => self.clock = self.clock - Duration::from_millis(u64::from(ms)),
            Op::Jump(j) => {
                const DAY: Duration = Duration::from_secs(86_400);
                self.clock = match JUMPS[usize::from(j) % JUMPS.len()] {
                    Jump::Day => self.clock + DAY,
                    Jump::Year => self.clock + DAY * 365,
                    Jump::Century => self.clock + DAY * 36_525,
                    Jump::EndOfTime => Timestamp::MAX,
                    Jump::NearEnd => Timestamp::MAX - Duration::from_secs(61),
                    Jump::Half => Timestamp::from_duration(Duration::MAX / 2),
                };
            }
            Op::WallSkew(s) => self.skew += i64::from(s),
            Op::Respond { shape, param } => self.respond(lc, shape, param),
            Op::RespondRaw {
                status,
                content_type,
                body,
            } => self.respond_raw(lc, status, content_type, &body),
            Op::RetryAfterDate { status, offset } => self.retry_after_date(lc, status, offset),
            Op::Transport(kind) => self.transport(lc, kind),
            Op::Record { life, age } => self.record(lc, life, age),
            Op::Cancel => {
                if let Some((id, _)) = self.in_flight.take() {
                    lc.cancel(id);
                }
            }
            Op::StaleRespond { which, shape: s } => {
                let Some(id) = self.stale(which) else { return };
                self.observe();
                let response = shape(s, 3599, "stale000000000000000000000000000").to_http();
                let outcome = lc.handle_response(self.clock, self.wall(), id, &response);
                assert!(matches!(outcome, Outcome::Ignored), "stale: {outcome:?}");
            }
            Op::StaleTransport { which } => {
                let Some(id) = self.stale(which) else { return };
                self.observe();
                let error = TransportError::new(TransportErrorKind::Timeout, "");
                let outcome = lc.handle_transport_error(self.clock, id, error);
                assert!(matches!(outcome, Outcome::Ignored), "stale: {outcome:?}");
            }
            Op::StaleCancel { which } => {
                if let Some(id) = self.stale(which) {
                    lc.cancel(id);
                }
            }
            Op::StaleRecord { which } => {
                let Some(id) = self.stale(which) else { return };
                self.observe();
                let record = self.make_record(6, 0);
                let outcome = lc.handle_record(self.clock, self.wall(), id, &record);
                assert!(matches!(outcome, Outcome::Ignored), "stale: {outcome:?}");
            }
            Op::InvalidateCurrent => {
                if let Some(g) = self.current.or(self.generations.last().copied()) {
                    self.invalidate(lc, g);
                }
            }
            Op::Invalidate(i) => {
                if !self.generations.is_empty() {
                    let g = self.generations[usize::from(i) % self.generations.len()];
                    self.invalidate(lc, g);
                }
            }
            Op::Reset => {
                lc.reset();
                self.forget_failures();
                self.forget_server_wait();
            }
            Op::Adopt { life, age } => {
                let record = self.make_record(life, age);
                self.adopt(lc, &record);
            }
            Op::AdoptSecs { secs, age_ms } => {
                let text = self.next_text("adopted");
                let token = Token::new(
                    AccessToken::new(&text).expect("a valid token"),
                    Duration::from_secs(u64::from(secs)),
                );
                let age = Duration::from_millis(u64::from(age_ms));
                let record = TokenRecord::new(&token, self.wall() - age);
                self.adopt(lc, &record);
            }
            Op::Reconfigure(which) => {
                let next = reconfigured_request(which);
                // The same client (a new secret at most): the token is kept, due for a
                // refresh now; another one: dropped.
                let keep = lc.request().same_client(&next);
                lc.reconfigure(next);
                self.secret = if which % 4 == 1 {
                    "an0ther/secret+value="
                } else {
                    SECRET
                };
                self.in_flight = None;
                match self.current {
                    Some(g) if keep => {
                        let t = self.tokens.get_mut(&g).expect("the current token");
                        t.refresh_at = t.refresh_at.min(self.latest);
                    }
                    _ => self.current = None,
                }
                self.rotating = true;
                self.forget_failures();
                assert!(lc.rotation().is_some(), "a rotation under way");
                // Zuora's wait holds for the same client; another one starts afresh.
                if !keep {
                    self.forget_server_wait();
                }
            }
            Op::Probe => self.probe(lc),
            Op::Drive { shape, param } => {
                if let Polled::Send(_) = self.poll(lc) {
                    self.respond(lc, shape, param);
                }
            }
        }
    }

    /// A request ID that is not the one in flight.
    fn stale(&self, which: u8) -> Option<RequestId> {
        let current = self.in_flight.map(|(id, _)| id);
        let stale: Vec<RequestId> = self
            .past
            .iter()
            .copied()
            .filter(|id| Some(*id) != current)
            .collect();
        (!stale.is_empty()).then(|| stale[usize::from(which) % stale.len()])
    }

    // ---- poll ----------------------------------------------------------------------

    fn poll(&mut self, lc: &mut TokenLifecycle) -> Polled {
        let now = self.observe();
        let usable = self.usable_at(now);
        // What the rules allow, and what they require.
        let refresh_due = usable.is_none_or(|g| now >= self.tokens[&g].refresh_at);
        let budget_left = self.in_minute(now).0 < self.spec.budget() as usize;
        let (surely_open, maybe_open) = match self.failure {
            None => (true, true),
            Some(f) if f.transient => (now >= self.not_before.1, now >= self.not_before.0),
            Some(f) => {
                let due = self.spec.reprobe().is_some_and(|every| now >= f.at + every);
                (due, due)
            }
        };
        // The server's wait holds every request back, failure or not.
        let (surely_open, maybe_open) = (
            surely_open && now >= self.server.1,
            maybe_open && now >= self.server.0,
        );
        let idle = self.in_flight.is_none() && refresh_due && budget_left;
        let token_url = lc.request().environment().token_url();
        let action = lc.poll(self.clock);
        self.check_debug(&format!("{action:?}"), "an action");
        let polled = match action {
            Action::Send(out) => {
                let request = out.request();
                assert_eq!(request.method(), "POST");
                assert!(request.headers().get("authorization").is_none());
                assert_eq!(request.uri(), &token_url);
                assert!(token_url.path().ends_with("/oauth/token"));
                let body = String::from_utf8_lossy(request.body());
                assert!(
                    body.contains(&form_encoded(self.secret)),
                    "the form carries the secret"
                );
                Polled::Send(out.id())
            }
            Action::Use(c) => {
                self.check_use(c, now);
                Polled::Use
            }
            Action::Wait => Polled::Wait,
            Action::Fail { error, retry_at } => {
                self.check_fail(error, retry_at, now);
                Polled::Fail(retry_at)
            }
        };
        match &polled {
            Polled::Send(id) => {
                assert!(self.in_flight.is_none(), "two requests in flight");
                assert!(!self.past.contains(id), "a request ID was reused");
                assert!(
                    refresh_due,
                    "a request before the refresh time of a usable token"
                );
                assert!(
                    budget_left,
                    "more than {} requests within a minute",
                    self.spec.budget()
                );
                if let Some(f) = self.failure {
                    assert!(
                        f.transient || self.spec.reprobe().is_some(),
                        "a permanent failure retried without a reset or a re-probe"
                    );
                }
                assert!(
                    maybe_open,
                    "a request before the failure {:?} or the server's wait ({:?}) allows one",
                    self.failure, self.server
                );
                self.sends.push(now);
                self.in_flight = Some((*id, now));
                self.past.push(*id);
            }
            _ => assert!(
                !(idle && surely_open),
                "no request although every rule allows one (a wedge)"
            ),
        }
        match &polled {
            Polled::Wait => {
                assert!(self.in_flight.is_some(), "Wait without a request in flight");
                assert_eq!(usable, None, "Wait while a token is usable");
            }
            Polled::Fail(retry_at) => {
                assert!(self.in_flight.is_none(), "Fail with a request in flight");
                assert_eq!(usable, None, "Fail while a token is usable");
                assert_eq!(
                    lc.next_wakeup(),
                    *retry_at,
                    "next_wakeup disagrees with Fail"
                );
            }
            Polled::Use | Polled::Send(_) => {}
        }
        if !matches!(polled, Polled::Send(_)) {
            let wakeup = lc.next_wakeup();
            assert!(
                wakeup.is_none_or(|w| w > now || now == Timestamp::MAX),
                "next_wakeup {wakeup:?} is not after {now:?}: a driver would spin"
            );
        }
        polled
    }

    fn check_use(&self, c: &TokenHandle, now: Timestamp) {
        let g = c.generation();
        assert_eq!(
            Some(g),
            self.usable_at(now),
            "handed out a token that is not usable"
        );
        let t = &self.tokens[&g];
        assert_eq!(c.token().access_token().secret(), t.text);
        assert!(
            now < t.usable_until,
            "a token handed out past its usable_until"
        );
        assert_eq!(c.usable_until(), t.usable_until);
        assert_eq!(c.expires_at(), t.expires_at);
        assert_eq!(c.refresh_at(), t.refresh_at);
    }

    fn check_fail(&self, error: &Error, retry_at: Option<Timestamp>, now: Timestamp) {
        match self.failure {
            Some(f) => {
                assert_eq!(error.is_transient(), f.transient, "{error:?}");
                assert!(!matches!(error, Error::BudgetExhausted { .. }));
                if f.timeout {
                    assert!(
                        matches!(error, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout),
                        "a request past its deadline is a timeout: {error:?}"
                    );
                }
            }
            // The budget, or the answer that asked for the server's wait still running.
            None => {
                let budget = matches!(error, Error::BudgetExhausted { per_minute } if *per_minute == self.spec.budget());
                if now < self.server.0 {
                    assert!(
                        !budget && error.is_transient(),
                        "{error:?} during the server's wait"
                    );
                    let asked = error
                        .response()
                        .and_then(|r| r.meta().server_wait_from(self.wall()));
                    assert!(asked.is_some(), "{error:?} asked for no wait");
                } else if now >= self.server.1 {
                    assert!(budget, "{error:?} without a failure or a server's wait");
                } else {
                    assert!(error.is_transient(), "{error:?}");
                }
            }
        }
        // A request is allowed by the failure at `from`; the budget may hold it up to a
        // minute after the last request (sent at or before now).
        let bounds = |from: Timestamp, to: Timestamp| (from, to.max(now + MINUTE));
        let (earliest, latest) = match (self.failure, retry_at) {
            (_, None) => {
                assert!(
                    self.failure.is_some_and(|f| !f.transient) && self.spec.reprobe().is_none(),
                    "no retry time for {error:?}"
                );
                return;
            }
            (Some(f), Some(_)) if f.transient => bounds(
                self.not_before.0.max(self.server.0),
                self.not_before.1.max(self.server.1),
            ),
            (Some(f), Some(_)) => {
                let every = self
                    .spec
                    .reprobe()
                    .expect("a retry time after a permanent failure without re-probing");
                bounds(
                    (f.at + every).max(self.server.0),
                    (f.at + every).max(self.server.1),
                )
            }
            (None, Some(_)) => bounds(self.server.0, self.server.1),
        };
        let t = retry_at.expect("matched above");
        assert!(
            t > now || now == Timestamp::MAX,
            "retry_at {t:?} <= now {now:?}"
        );
        assert!(
            t >= earliest,
            "retry_at {t:?} before the failure allows ({earliest:?})"
        );
        assert!(t <= latest, "retry_at {t:?} past the cap ({latest:?})");
        assert!(!error.to_string().contains('\n'));
    }

    // ---- outcomes ------------------------------------------------------------------

    /// The request in flight before the outcome, and whether it is still in flight once
    /// the machine has seen the time (`false`: it timed out, the outcome comes too late).
    fn take_in_flight(&mut self) -> Option<(RequestId, Timestamp, bool)> {
        let (id, sent) = self.in_flight?;
        self.observe();
        let live = self.in_flight.take().is_some();
        Some((id, sent, live))
    }

    fn respond(&mut self, lc: &mut TokenLifecycle, s: u8, param: u16) {
        let Some((id, sent, live)) = self.take_in_flight() else {
            return;
        };
        let (now, wall) = (self.latest, self.wall());
        let text = self.next_text("tok");
        let shape = shape(s, param, &text);
        let response = shape.to_http();
        let outcome = lc.handle_response(self.clock, wall, id, &response);
        self.check_debug(&format!("{outcome:?}"), "an outcome");
        if !live {
            assert!(
                matches!(outcome, Outcome::Ignored),
                "a late answer: {outcome:?}"
            );
            return;
        }
        match (&shape.expect, outcome) {
            (Expect::Token { text, lifetime }, Outcome::Token(c)) => {
                assert_eq!(c.token().access_token().secret(), text);
                assert_eq!(c.token().expires_in(), *lifetime, "as the server said");
                let c = c.clone();
                let issued_at = issued_at(&response, wall, now, sent);
                self.installed(&c, sent, *lifetime, *lifetime, issued_at);
                self.asked_to_wait(now, server_wait(&response, wall));
            }
            (expect, Outcome::Failed(e)) => {
                let class_ok = match expect {
                    Expect::Rejected => matches!(e, Error::Rejected(_)),
                    Expect::Transient { retry_after } => {
                        assert_eq!(e.retry_after(), *retry_after, "{}", shape.name);
                        matches!(e, Error::RateLimited(_) | Error::Server(_))
                    }
                    Expect::Unexpected => matches!(e, Error::UnexpectedResponse { .. }),
                    Expect::Token { .. } => false,
                };
                assert!(class_ok, "{}: expected {expect:?}, got {e:?}", shape.name);
                let e = e.clone();
                self.response_failed(&e, &response, now, wall);
            }
            (expect, outcome) => panic!("{}: expected {expect:?}, got {outcome:?}", shape.name),
        }
    }

    fn respond_raw(&mut self, lc: &mut TokenLifecycle, status: u16, content_type: u8, body: &[u8]) {
        let Some((id, sent, live)) = self.take_in_flight() else {
            return;
        };
        let (now, wall) = (self.latest, self.wall());
        let mut response = http::Response::new(body);
        *response.status_mut() = http::StatusCode::from_u16(framing::status_of(u64::from(status)))
            .expect("a valid status");
        const TYPES: [Option<&str>; 5] = [
            Some("application/json"),
            None,
            Some("application/json;charset=utf-8"),
            Some("text/html"),
            Some("application/problem+json"),
        ];
        if let Some(t) = TYPES[usize::from(content_type) % TYPES.len()] {
            response
                .headers_mut()
                .insert("content-type", http::HeaderValue::from_static(t));
        }
        let outcome = lc.handle_response(self.clock, wall, id, &response);
        self.check_debug(&format!("{outcome:?}"), "an outcome");
        match outcome {
            _ if !live => assert!(
                matches!(outcome, Outcome::Ignored),
                "a late answer: {outcome:?}"
            ),
            Outcome::Token(c) => {
                assert!(response.status().is_success());
                let lifetime = c.token().expires_in();
                assert!(lifetime > Duration::ZERO);
                let c = c.clone();
                let issued_at = issued_at(&response, wall, now, sent);
                self.installed(&c, sent, lifetime, lifetime, issued_at);
                self.asked_to_wait(now, server_wait(&response, wall));
            }
            Outcome::Failed(e) => {
                let e = e.clone();
                self.response_failed(&e, &response, now, wall);
            }
            Outcome::Ignored => panic!("the answer to the request in flight was ignored"),
        }
    }

    /// A failure with a `Retry-After` date relative to the wall clock and no `Date` header.
    fn retry_after_date(&mut self, lc: &mut TokenLifecycle, status: u8, offset: i16) {
        let Some((id, _, live)) = self.take_in_flight() else {
            return;
        };
        let (now, wall) = (self.latest, self.wall());
        let shift = Duration::from_secs(u64::from(offset.unsigned_abs()));
        let at = if offset >= 0 {
            wall + shift
        } else {
            wall.checked_sub(shift).unwrap_or(UNIX_EPOCH)
        };
        let status = RETRY_STATUSES[usize::from(status) % RETRY_STATUSES.len()];
        let response = http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("retry-after", httpdate::fmt_http_date(at))
            .body(br#"{"message":"slow down"}"#.to_vec())
            .expect("a valid response");
        let outcome = lc.handle_response(self.clock, wall, id, &response);
        self.check_debug(&format!("{outcome:?}"), "an outcome");
        match outcome {
            _ if !live => assert!(
                matches!(outcome, Outcome::Ignored),
                "a late answer: {outcome:?}"
            ),
            Outcome::Failed(e) => {
                // Without `Date` the error cannot resolve the date by itself.
                assert_eq!(e.retry_after(), None, "{e:?}");
                let e = e.clone();
                self.response_failed(&e, &response, now, wall);
            }
            other => panic!("HTTP {status} gave {other:?}"),
        }
    }

    /// Checks a failed response's classification, then records it.
    fn response_failed<B>(
        &mut self,
        e: &Error,
        response: &http::Response<B>,
        now: Timestamp,
        wall: SystemTime,
    ) {
        let status = response.status().as_u16();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
        let transient = transient_status(status);
        assert_eq!(e.is_transient(), transient, "HTTP {status}: {e:?}");
        assert!(!e.to_string().contains('\n'));
        self.failed(now, transient, false);
        self.asked_to_wait(now, server_wait(response, wall));
    }

    fn transport(&mut self, lc: &mut TokenLifecycle, kind: u8) {
        let Some((id, _, live)) = self.take_in_flight() else {
            return;
        };
        let now = self.latest;
        let kind = transport_kind(kind);
        let error = TransportError::new(kind, "connection reset by peer");
        let outcome = lc.handle_transport_error(self.clock, id, error);
        match outcome {
            _ if !live => assert!(
                matches!(outcome, Outcome::Ignored),
                "a late error: {outcome:?}"
            ),
            Outcome::Failed(e @ Error::Transport(t)) => {
                let transient = !matches!(
                    kind,
                    TransportErrorKind::Tls | TransportErrorKind::BodyTooLarge
                );
                assert_eq!(t.kind(), kind);
                assert_eq!(e.is_transient(), transient, "{e:?}");
                self.failed(now, transient, false);
            }
            other => panic!("a transport error gave {other:?}"),
        }
    }

    /// The request in flight is answered by a record from a shared store: adopted (the
    /// request ends with it) if `adopt` would take it, else ignored (the request stays in
    /// flight, to be answered another way).
    fn record(&mut self, lc: &mut TokenLifecycle, life: u8, age: u8) {
        let Some((id, _)) = self.in_flight else {
            return;
        };
        let now = self.observe();
        let live = self.in_flight.is_some();
        let wall = self.wall();
        let record = self.make_record(life, age);
        let good = live && self.good_enough(now, wall, &record);
        let outcome = lc.handle_record(self.clock, wall, id, &record);
        self.check_debug(&format!("{outcome:?}"), "an outcome");
        match outcome {
            Outcome::Token(c) if good => {
                let c = c.clone();
                self.in_flight = None;
                self.adopted(&c, &record, now, wall);
            }
            Outcome::Ignored if !good => {}
            other => panic!("handle_record (good enough: {good}, in time: {live}) gave {other:?}"),
        }
    }

    /// A record of a new token living `RECORD_LIFETIMES[life]`, issued `RECORD_AGES[age]`
    /// seconds before the wall clock.
    fn make_record(&mut self, life: u8, age: u8) -> TokenRecord {
        let lifetime = RECORD_LIFETIMES[usize::from(life) % RECORD_LIFETIMES.len()];
        let age = RECORD_AGES[usize::from(age) % RECORD_AGES.len()];
        let wall = self.wall();
        let shift = Duration::from_secs(age.unsigned_abs());
        let issued = if age >= 0 {
            wall.checked_sub(shift).unwrap_or(UNIX_EPOCH)
        } else {
            wall + shift
        };
        let text = self.next_text("record");
        let token = Token::new(AccessToken::new(&text).expect("a valid token"), lifetime);
        let record = TokenRecord::new(&token, issued);
        assert_eq!(record.issued_at(), issued);
        if let Some(expires) = issued.checked_add(lifetime) {
            assert_eq!(record.expires_at(), expires);
            assert_eq!(record.lifetime(), lifetime);
        }
        record
    }

    /// Whether the machine must take `record` at `now`: more than the minimum remaining
    /// lifetime (at most half its lifetime) left, and it outlives the usable token.
    fn good_enough(&self, now: Timestamp, wall: SystemTime, record: &TokenRecord) -> bool {
        let remaining = record
            .expires_at()
            .duration_since(wall)
            .unwrap_or(Duration::ZERO);
        let least = self.spec.min_remaining().min(record.lifetime() / 2);
        // While a rotation is under way, the kept token is no measure.
        remaining > least
            && self
                .usable_at(now)
                .filter(|_| !self.rotating)
                .is_none_or(|g| now + remaining > self.tokens[&g].expires_at)
    }

    fn adopt(&mut self, lc: &mut TokenLifecycle, record: &TokenRecord) {
        let now = self.observe();
        let wall = self.wall();
        let good = self.good_enough(now, wall, record);
        let adopted = lc.adopt(self.clock, wall, record).cloned();
        assert_eq!(adopted.is_some(), good, "adopt({record:?})");
        if let Some(c) = adopted {
            self.adopted(&c, record, now, wall);
        }
    }

    fn adopted(&mut self, c: &TokenHandle, record: &TokenRecord, now: Timestamp, wall: SystemTime) {
        assert_eq!(
            c.token().access_token().secret(),
            record.to_token().access_token().secret()
        );
        let remaining = record
            .expires_at()
            .duration_since(wall)
            .unwrap_or(Duration::ZERO);
        self.installed(c, now, remaining, record.lifetime(), record.issued_at());
    }

    /// A token was installed at `start` (its request's send time, or its adoption), with
    /// `remaining` of its `whole` lifetime left.
    fn installed(
        &mut self,
        c: &TokenHandle,
        start: Timestamp,
        remaining: Duration,
        whole: Duration,
        issued_at: SystemTime,
    ) {
        let g = c.generation();
        if let Some(&last) = self.generations.last() {
            assert!(g > last, "generations must grow");
        }
        let whole = whole.min(self.spec.max_lifetime());
        let expires_at = start + remaining.min(whole);
        let usable_until = expires_at - self.spec.min_remaining().min(whole / 2);
        assert_eq!(
            c.expires_at(),
            expires_at,
            "expiry not counted from the send time, or not clamped"
        );
        assert_eq!(
            c.usable_until(),
            usable_until,
            "not the minimum remaining lifetime"
        );
        // How much of its (clamped) life the token had lived when installed: zero for one
        // just fetched.
        let elapsed = whole.saturating_sub(remaining);
        let refresh_at = c.refresh_at();
        self.check_refresh(refresh_at, start, elapsed, expires_at, usable_until);
        let record = c.record();
        assert_eq!(record.issued_at(), issued_at, "the record's issue time");
        if let Some(expires) = issued_at.checked_add(whole) {
            assert_eq!(record.expires_at(), expires, "the record's expiry");
        }
        self.tokens.insert(
            g,
            Installed {
                text: c.token().access_token().secret().to_owned(),
                expires_at,
                usable_until,
                refresh_at,
            },
        );
        self.generations.push(g);
        self.current = Some(g);
        self.rotating = false;
        self.forget_failures();
    }

    /// The refresh time of a token installed at `start` having lived `elapsed` of its
    /// life: halfway through its usable life counted from its issue (`elapsed` before
    /// `start`) when that is shorter than twice the window; else the window plus up to
    /// `jitter` % of it before expiry or, when the window alone reaches past the end of
    /// use, before the end of use.
    fn check_refresh(
        &self,
        r: Timestamp,
        start: Timestamp,
        elapsed: Duration,
        expires_at: Timestamp,
        usable_until: Timestamp,
    ) {
        let usable = usable_until
            .saturating_duration_since(start)
            .saturating_add(elapsed);
        let window = self.spec.window();
        if usable < window.saturating_mul(2) {
            assert_eq!(
                r,
                start + (usable / 2).saturating_sub(elapsed),
                "a short token refreshes halfway through its usable life since its issue"
            );
            return;
        }
        // The window alone decides where the lead counts back from: the jitter never moves
        // a refresh from before expiry to before the end of use.
        let (end, from) = if expires_at - window < usable_until {
            (expires_at, "expiry")
        } else {
            (usable_until, "the end of use")
        };
        let min_lead = window.as_nanos();
        let max_lead = min_lead + min_lead * u128::from(self.spec.jitter.min(100)) / 100;
        let end_ns = end.as_duration().as_nanos();
        let r_ns = r.as_duration().as_nanos();
        // `end - lead` saturates at zero: then any lead reaching past zero gives zero.
        let exact = end_ns
            .checked_sub(r_ns)
            .is_some_and(|lead| (min_lead..=max_lead).contains(&lead));
        let saturated = r == Timestamp::ZERO && end_ns <= max_lead;
        assert!(
            exact || saturated,
            "refresh at {r:?}: not the window ({window:?}) and up to {}% of it before {from} \
             ({end:?}; expiry {expires_at:?}, end of use {usable_until:?})",
            self.spec.jitter.min(100)
        );
    }

    fn invalidate(&mut self, lc: &mut TokenLifecycle, g: Generation) {
        self.observe();
        let expected = self.current == Some(g) && !self.invalidated.contains(&g);
        assert_eq!(lc.invalidate(self.clock, g), expected, "invalidate({g})");
        if expected {
            self.invalidated.insert(g);
        }
    }

    // ---- getters -------------------------------------------------------------------

    /// `next_wakeup()` as the rules give it, at the machine's latest time.
    fn expected_wakeup(&self) -> Wakeup {
        let now = self.latest;
        let usable = self.usable_at(now).map(|g| &self.tokens[&g]);
        if let Some((_, sent)) = self.in_flight {
            let deadline = sent + self.spec.deadline();
            return Wakeup::Exact(Some(
                usable.map_or(deadline, |t| t.usable_until.min(deadline)),
            ));
        }
        if let Some(t) = usable.filter(|t| now < t.refresh_at) {
            return Wakeup::Exact(Some(t.refresh_at));
        }
        let end_of_use = |w: Timestamp| usable.map_or(w, |t| w.min(t.usable_until));
        // The gate the failure sets (`from`..`to`) held back by the server's wait: exact
        // once the wait has surely ended by then, else within its bounds (the budget may
        // add up to a minute after the last request).
        let gated = |from: Timestamp, to: Timestamp| {
            let (from, to) = (from.max(now), to.max(now));
            if from == to && self.server.1 <= from {
                Wakeup::Exact(Some(end_of_use(self.budget_gate(from))))
            } else {
                let lo = self.budget_gate(from.max(self.server.0));
                let hi = to.max(self.server.1).max(now + MINUTE);
                Wakeup::Within(end_of_use(lo), end_of_use(hi))
            }
        };
        match self.failure {
            None => gated(now, now),
            Some(f) if f.transient => gated(self.not_before.0, self.not_before.1),
            Some(f) => match self.spec.reprobe() {
                Some(every) => gated(f.at + every, f.at + every),
                None => Wakeup::Exact(usable.map(|t| t.usable_until)),
            },
        }
    }

    /// After every operation.
    fn check_state(&self, lc: &TokenLifecycle) {
        assert_eq!(
            lc.in_flight(),
            self.in_flight.map(|(id, _)| id),
            "in flight"
        );
        assert_eq!(lc.latest_time(), self.latest, "latest time");
        let wakeup = lc.next_wakeup();
        if self.in_flight.is_some() {
            assert!(wakeup.is_some(), "a request in flight without a wake-up");
        }
        if let Some(w) = wakeup {
            assert!(
                w >= self.latest,
                "a wake-up in the past: {w:?} < {:?}",
                self.latest
            );
        }
        match self.expected_wakeup() {
            Wakeup::Exact(expected) => assert_eq!(wakeup, expected, "next_wakeup"),
            Wakeup::Within(lo, hi) => {
                let w = wakeup.expect("a wake-up after a transient failure");
                assert!(
                    lo <= w,
                    "next_wakeup {w:?} before the server's wait or the budget ({lo:?})"
                );
                assert!(
                    w <= hi,
                    "next_wakeup {w:?} past the cap plus the budget's minute ({hi:?})"
                );
            }
        }
    }

    fn probe(&mut self, lc: &mut TokenLifecycle) {
        let now = self.latest.max(self.clock);
        assert_eq!(
            lc.token(self.clock).map(TokenHandle::generation),
            self.usable_at(now),
            "token()"
        );
        assert_eq!(
            lc.requests_last_minute(self.clock),
            self.in_minute(now).0,
            "requests_last_minute"
        );
        match (lc.last_error(), self.failure) {
            (Some(e), Some(f)) => {
                assert_eq!(e.is_transient(), f.transient, "{e:?}");
                if f.timeout {
                    assert!(
                        matches!(e, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout)
                    );
                }
                self.check_debug(&format!("{e:?}"), "the last error");
            }
            (None, None) => {}
            (e, f) => panic!("last_error {e:?} but the model says {f:?}"),
        }
        if let Some(c) = lc.token(self.clock) {
            let record = c.record();
            self.check_debug(&format!("{c:?} {record:?}"), "a cached token");
        }
        assert_eq!(lc.rotation().is_some(), self.rotating, "rotation()");
        assert_eq!(
            lc.last_token().map(TokenHandle::generation),
            self.current.filter(|_| !self.rotating),
            "last_token()"
        );
        let _ = (lc.config(), lc.request());
        self.check_debug(&format!("{lc:?}"), "the machine");
    }

    /// `text` (a `Debug` of something) shows the client secret in no spelling.
    fn check_debug(&self, text: &str, what: &str) {
        assert!(
            !shows(text, self.secret),
            "the secret in the Debug of {what}: {text}"
        );
    }
}

/// `secret` as the token request's form spells it.
fn form_encoded(secret: &str) -> String {
    serde_urlencoded::to_string([("x", secret)]).expect("encodes")[2..].to_owned()
}

/// The backoff ceiling after `failures` consecutive failures, as documented:
/// `min(cap, base × 2^(failures − 1))`, the cap being at least the base.
fn backoff_ceiling((base, cap): (Duration, Duration), failures: u32) -> Duration {
    let cap = cap.max(base);
    let mut ceiling = base;
    for _ in 1..failures {
        if ceiling >= cap {
            break;
        }
        ceiling = ceiling.saturating_mul(2);
    }
    ceiling.min(cap)
}

/// When a fetched token was issued: the response's `Date`, else the wall clock when its
/// request was sent (`wall` at `now`, less the time since `sent`).
fn issued_at<B>(
    response: &http::Response<B>,
    wall: SystemTime,
    now: Timestamp,
    sent: Timestamp,
) -> SystemTime {
    response
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or_else(|| {
            wall.checked_sub(now.saturating_duration_since(sent))
                .unwrap_or(wall)
        })
}

fn transport_kind(i: u8) -> TransportErrorKind {
    const KINDS: [TransportErrorKind; 8] = [
        TransportErrorKind::Connect,
        TransportErrorKind::Dns,
        TransportErrorKind::Timeout,
        TransportErrorKind::Tls,
        TransportErrorKind::Reset,
        TransportErrorKind::BodyTooLarge,
        TransportErrorKind::NetworkOrCors,
        TransportErrorKind::Other,
    ];
    KINDS[usize::from(i) % KINDS.len()]
}
