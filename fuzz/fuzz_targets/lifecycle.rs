//! `TokenLifecycle` driven by arbitrary sequences of operations, against a model that
//! keeps the books the way the proptest in `core/src/lifecycle/tests.rs` does.
//!
//! Input: 9 configuration bytes, then byte-coded operations (see
//! `zuora_oauth_fuzz::decode_lifecycle`). Invariants checked after every operation:
//! - never two requests in flight: no `Send` while a previous one is unanswered;
//! - no request while a usable token is not yet due for refresh, after a rejection (unless
//!   a re-probe is configured and due), or before a `Retry-After` has passed;
//! - never more requests in any rolling 60 s than the configured budget;
//! - never an expired or invalidated token handed out (expiry = send time + lifetime);
//! - outcomes classified as the response shape says; stale outcomes ignored;
//! - `invalidate` and `adopt` return exactly what the documented rules say;
//! - `Fail`'s `retry_at` is in the future and equals `next_wakeup()`; after any answer other
//!   than `Send`, `next_wakeup()` is in the future (a driver never spins);
//! - `Debug` of the machine never shows the client secret; no panic at all.

#![forbid(unsafe_code)]
#![no_main]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use zuora_oauth_core::{
    AccessToken, Action, CachedToken, Error, LifecycleConfig, Outcome, RequestId, Timestamp, Token,
    TokenLifecycle, TransportError, TransportErrorKind,
};
use zuora_oauth_fuzz::{
    ADOPT_LIFETIMES, ConfigSpec, Expect, JUMPS, Jump, Op, SECRET, decode_lifecycle, framing,
    reconfigured_request, request, shape,
};

const MINUTE: Duration = Duration::from_secs(60);

fuzz_target!(|data: &[u8]| {
    let (spec, ops) = decode_lifecycle(data);
    let config = LifecycleConfig::default()
        .with_seed(u64::from(spec.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .with_max_requests_per_minute(spec.budget())
        .with_refresh_window(spec.window())
        .with_refresh_jitter_percent(u32::from(spec.jitter))
        .with_backoff(spec.backoff().0, spec.backoff().1)
        .with_rejection_reprobe(spec.reprobe());
    let mut lc = TokenLifecycle::new(request(), config);
    let mut m = Model::new(spec);
    for op in ops.into_iter().take(512) {
        m.apply(&mut lc, op);
        assert_eq!(lc.in_flight(), m.in_flight.map(|(id, _)| id), "in flight");
        assert_eq!(lc.latest_time(), m.latest, "latest time");
    }
    let _ = lc.next_wakeup();
    m.check_debug(&lc);
});

struct Installed {
    text: String,
    valid_until: Timestamp,
    refresh_at: Timestamp,
}

struct Model {
    spec: ConfigSpec,
    clock: Timestamp,
    latest: Timestamp,
    in_flight: Option<(RequestId, Timestamp)>,
    past: Vec<RequestId>,
    sends: Vec<Timestamp>,
    tokens: HashMap<u64, Installed>,
    current: Option<u64>,
    max_generation: u64,
    invalidated: HashSet<u64>,
    /// The last failure since the last success, reset or reconfigure: (rejection?, when).
    failure: Option<(bool, Timestamp)>,
    /// No request before this (the last `Retry-After`).
    not_before: Timestamp,
    issued: u64,
    secret: &'static str,
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
            latest: Timestamp::ZERO,
            in_flight: None,
            past: Vec::new(),
            sends: Vec::new(),
            tokens: HashMap::new(),
            current: None,
            max_generation: 0,
            invalidated: HashSet::new(),
            failure: None,
            not_before: Timestamp::ZERO,
            issued: 0,
            secret: SECRET,
        }
    }

    fn observe(&mut self) -> Timestamp {
        self.latest = self.latest.max(self.clock);
        self.latest
    }

    /// The generation of the token that may be handed out at `now`.
    fn usable_at(&self, now: Timestamp) -> Option<u64> {
        let g = self.current?;
        let t = &self.tokens[&g];
        (!self.invalidated.contains(&g) && now < t.valid_until).then_some(g)
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
            Op::Respond { shape, param } => self.respond(lc, shape, param),
            Op::RespondRaw {
                status,
                content_type,
                body,
            } => self.respond_raw(lc, status, content_type, &body),
            Op::Transport(kind) => {
                let Some((id, _)) = self.in_flight.take() else {
                    return;
                };
                let now = self.observe();
                let error = TransportError::new(transport_kind(kind), "connection reset by peer");
                match lc.handle_transport_error(self.clock, id, error) {
                    Outcome::Failed(e @ Error::Transport(_)) => {
                        let e = e.clone();
                        self.on_failure(e, now);
                    }
                    other => panic!("transport error gave {other:?}"),
                }
            }
            Op::Cancel => {
                if let Some((id, _)) = self.in_flight.take() {
                    lc.cancel(id);
                }
            }
            Op::StaleRespond { which, shape: s } => {
                let Some(id) = self.stale(which) else { return };
                self.observe();
                let response = shape(s, 3599, "stale000000000000000000000000000").to_http();
                let outcome = lc.handle_response(self.clock, id, &response);
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
            Op::InvalidateCurrent => {
                let g = self.current.unwrap_or(0);
                self.invalidate(lc, g);
            }
            Op::Invalidate(g) => self.invalidate(lc, u64::from(g)),
            Op::Reset => {
                lc.reset();
                self.failure = None;
                self.not_before = Timestamp::ZERO;
            }
            Op::Adopt(i) => self.adopt(lc, ADOPT_LIFETIMES[usize::from(i) % ADOPT_LIFETIMES.len()]),
            Op::AdoptSecs(s) => self.adopt(lc, Duration::from_secs(u64::from(s))),
            Op::Reconfigure(which) => {
                lc.reconfigure(reconfigured_request(which));
                self.secret = if which % 4 == 1 {
                    "an0ther/secret+value="
                } else {
                    SECRET
                };
                self.in_flight = None;
                self.current = None;
                self.failure = None;
                self.not_before = Timestamp::ZERO;
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

    fn poll(&mut self, lc: &mut TokenLifecycle) -> Polled {
        let now = self.observe();
        let usable = self.usable_at(now);
        let token_url = lc.request().environment().token_url();
        let polled = match lc.poll(self.clock) {
            Action::Send(out) => {
                let request = out.request();
                assert_eq!(request.method(), "POST");
                assert!(request.headers().get("authorization").is_none());
                assert_eq!(request.uri(), &token_url);
                assert!(token_url.path().ends_with("/oauth/token"));
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
                if let Some(g) = usable {
                    let refresh_at = self.tokens[&g].refresh_at;
                    assert!(now >= refresh_at, "a request before the refresh time");
                }
                if let Some((true, at)) = self.failure {
                    let every = self
                        .spec
                        .reprobe()
                        .expect("a request after a rejection without re-probing");
                    assert!(now >= at + every, "a re-probe before its interval");
                }
                assert!(now >= self.not_before, "a request before Retry-After");
                self.sends.push(now);
                let in_window = self
                    .sends
                    .iter()
                    .rev()
                    .take_while(|&&t| now.saturating_duration_since(t) < MINUTE)
                    .count();
                assert!(
                    in_window <= self.spec.budget() as usize,
                    "{in_window} requests within a minute (budget {})",
                    self.spec.budget()
                );
                self.in_flight = Some((*id, now));
                self.past.push(*id);
            }
            Polled::Use => {}
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

    fn check_use(&self, c: &CachedToken, now: Timestamp) {
        let g = c.generation();
        assert_eq!(
            Some(g),
            self.usable_at(now),
            "handed out a token that is not usable"
        );
        let t = &self.tokens[&g];
        assert_eq!(c.token().access_token().secret(), t.text);
        assert!(now < t.valid_until, "expired token handed out");
        assert!(c.expires_at() <= t.valid_until);
    }

    fn check_fail(&self, error: &Error, retry_at: Option<Timestamp>, now: Timestamp) {
        match self.failure {
            Some((rejection, _)) => {
                assert_eq!(error.is_rejection(), rejection, "{error:?}");
                assert!(!matches!(error, Error::BudgetExhausted { .. }));
            }
            None => assert!(
                matches!(error, Error::BudgetExhausted { per_minute } if *per_minute == self.spec.budget()),
                "{error:?} without a failure"
            ),
        }
        match retry_at {
            None => assert!(
                error.is_rejection() && self.spec.reprobe().is_none(),
                "no retry time for {error:?}"
            ),
            Some(t) => assert!(
                t > now || now == Timestamp::MAX,
                "retry_at {t:?} <= now {now:?}"
            ),
        }
        let text = error.to_string();
        assert!(!text.contains('\n'));
    }

    fn respond(&mut self, lc: &mut TokenLifecycle, s: u8, param: u16) {
        let Some((id, sent)) = self.in_flight.take() else {
            return;
        };
        let now = self.observe();
        let text = self.next_text("tok");
        let shape = shape(s, param, &text);
        let response = shape.to_http();
        let outcome = lc.handle_response(self.clock, id, &response);
        match (&shape.expect, outcome) {
            (Expect::Token { text, lifetime }, Outcome::Token(c)) => {
                assert_eq!(c.token().access_token().secret(), text);
                assert_eq!(c.token().expires_in(), *lifetime);
                let (c, lifetime) = (c.clone(), *lifetime);
                self.on_token(&c, sent, lifetime);
            }
            (Expect::Rejected, Outcome::Failed(e)) => {
                assert!(matches!(e, Error::Rejected(_)), "{}: {e:?}", shape.name);
                let e = e.clone();
                self.on_failure(e, now);
            }
            (Expect::Transient { retry_after }, Outcome::Failed(e)) => {
                assert!(
                    matches!(e, Error::RateLimited(_) | Error::Server(_)),
                    "{}: {e:?}",
                    shape.name
                );
                assert_eq!(e.retry_after(), *retry_after, "{}", shape.name);
                let e = e.clone();
                self.on_failure(e, now);
            }
            (Expect::Unexpected, Outcome::Failed(e)) => {
                assert!(
                    matches!(e, Error::UnexpectedResponse { .. }),
                    "{}: {e:?}",
                    shape.name
                );
                let e = e.clone();
                self.on_failure(e, now);
            }
            (expect, outcome) => panic!("{}: expected {expect:?}, got {outcome:?}", shape.name),
        }
    }

    fn respond_raw(&mut self, lc: &mut TokenLifecycle, status: u16, content_type: u8, body: &[u8]) {
        let Some((id, sent)) = self.in_flight.take() else {
            return;
        };
        let now = self.observe();
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
        match lc.handle_response(self.clock, id, &response) {
            Outcome::Token(c) => {
                let lifetime = c.token().expires_in();
                assert!(lifetime > Duration::ZERO && lifetime <= Duration::from_secs(86_400));
                let c = c.clone();
                self.on_token(&c, sent, lifetime);
            }
            Outcome::Failed(e) => {
                let e = e.clone();
                self.on_failure(e, now);
            }
            Outcome::Ignored => panic!("the answer to the request in flight was ignored"),
        }
    }

    /// A token was installed by a response to a request sent at `start`, or adopted at
    /// `start`, valid for `lifetime`.
    fn on_token(&mut self, c: &CachedToken, start: Timestamp, lifetime: Duration) {
        let g = c.generation();
        assert!(g > self.max_generation, "generations must grow");
        self.max_generation = g;
        let valid_until = start + lifetime;
        assert_eq!(
            c.expires_at(),
            valid_until,
            "expiry not counted from the send time"
        );
        // Refresh time: half-life for short tokens, else the window before expiry minus
        // up to `jitter` % of the window.
        let window = self.spec.window();
        let refresh_at = c.refresh_at();
        assert!(refresh_at <= valid_until);
        if lifetime < window.saturating_mul(2) {
            assert_eq!(refresh_at, start + lifetime / 2);
        } else {
            let latest = valid_until - window;
            let percent = u128::from(self.spec.jitter.min(100));
            let max_jitter = window.as_nanos() * percent / 100;
            let earliest = latest.as_duration().as_nanos().saturating_sub(max_jitter);
            assert!(refresh_at <= latest, "refresh after expiry - window");
            assert!(
                refresh_at.as_duration().as_nanos() >= earliest,
                "refresh jitter beyond its percentage"
            );
        }
        self.tokens.insert(
            g,
            Installed {
                text: c.token().access_token().secret().to_owned(),
                valid_until,
                refresh_at,
            },
        );
        self.current = Some(g);
        self.failure = None;
        self.not_before = Timestamp::ZERO;
    }

    fn on_failure(&mut self, e: Error, now: Timestamp) {
        let rejection = e.is_rejection();
        if !rejection {
            self.not_before = now + e.retry_after().unwrap_or_default();
        }
        self.failure = Some((rejection, now));
        let text = e.to_string();
        assert!(!text.contains('\n'));
    }

    fn invalidate(&mut self, lc: &mut TokenLifecycle, g: u64) {
        self.observe();
        let expected = self.current == Some(g) && !self.invalidated.contains(&g);
        assert_eq!(lc.invalidate(self.clock, g), expected, "invalidate({g})");
        if expected {
            self.invalidated.insert(g);
        }
    }

    fn adopt(&mut self, lc: &mut TokenLifecycle, remaining: Duration) {
        let now = self.observe();
        let text = self.next_text("adopted");
        let token = Arc::new(Token::new(
            AccessToken::new(&text).expect("a valid token"),
            remaining,
        ));
        let better = match self.usable_at(now) {
            Some(g) => now + remaining > self.tokens[&g].valid_until,
            None => !remaining.is_zero(),
        };
        let adopted = lc.adopt(self.clock, token, remaining).cloned();
        assert_eq!(adopted.is_some(), better, "adopt({remaining:?})");
        if let Some(c) = adopted {
            assert_eq!(c.token().access_token().secret(), text);
            self.on_token(&c, now, remaining);
        }
    }

    fn probe(&mut self, lc: &mut TokenLifecycle) {
        let now = self.latest.max(self.clock);
        assert_eq!(
            lc.token(self.clock).map(CachedToken::generation),
            self.usable_at(now),
            "token()"
        );
        let used = self
            .sends
            .iter()
            .filter(|&&t| now.saturating_duration_since(t) < MINUTE)
            .count();
        assert_eq!(
            lc.requests_last_minute(self.clock),
            used,
            "requests_last_minute"
        );
        match (lc.last_error(), self.failure) {
            (Some(e), Some((rejection, _))) => assert_eq!(e.is_rejection(), rejection),
            (None, None) => {}
            (e, f) => panic!("last_error {e:?} but the model says {f:?}"),
        }
        let _ = lc.next_wakeup();
        let _ = (lc.config(), lc.request());
        self.check_debug(lc);
    }

    fn check_debug(&self, lc: &TokenLifecycle) {
        let debug = format!("{lc:?}");
        let form = serde_urlencoded::to_string([("x", self.secret)]).expect("encodes");
        assert!(!debug.contains(self.secret), "the secret in Debug");
        assert!(!debug.contains(&form[2..]), "the encoded secret in Debug");
    }
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
