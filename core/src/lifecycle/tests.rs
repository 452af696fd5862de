//! The lifecycle's behaviours, driven over a simulated clock.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::{ClientId, ClientSecret, Environment, TransportErrorKind};

const SECRET: &str = "dG9wLXNlY3JldC12YWx1ZQ==";

fn request() -> TokenRequest {
    TokenRequest::new(
        Environment::custom("http://127.0.0.1:9").unwrap(),
        ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new(SECRET).unwrap(),
    )
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn token_response(token: &str, expires_in: u64) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .header("content-type", "application/json")
        .body(
            format!(
                r#"{{"access_token":"{token}","expires_in":{expires_in},"token_type":"bearer"}}"#
            )
            .into_bytes(),
        )
        .unwrap()
}

fn status_response(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Vec<u8>> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

/// What a poll returned, owned so that the scenario can go on.
#[derive(Debug, Clone, PartialEq)]
enum Polled {
    Use {
        generation: u64,
        token: String,
    },
    Send(RequestId),
    Wait,
    Fail {
        transient: bool,
        retry_at: Option<Timestamp>,
    },
}

/// A lifecycle on a simulated clock, in the manner of ureq-proto's `Scenario`.
struct Scenario {
    lc: TokenLifecycle,
    now: Timestamp,
    issued: u32,
}

impl Scenario {
    fn new() -> Self {
        Self::with(LifecycleConfig::default())
    }

    fn with(config: LifecycleConfig) -> Self {
        Self {
            lc: TokenLifecycle::new(request(), config),
            now: Timestamp::ZERO,
            issued: 0,
        }
    }

    fn at(&mut self, t: Duration) -> &mut Self {
        self.now = Timestamp::from_duration(t);
        self
    }

    fn advance(&mut self, d: Duration) -> &mut Self {
        self.now = self.now + d;
        self
    }

    fn poll(&mut self) -> Polled {
        match self.lc.poll(self.now) {
            Action::Use(c) => Polled::Use {
                generation: c.generation(),
                token: c.token().access_token().secret().to_owned(),
            },
            Action::Send(out) => {
                let req = out.request();
                assert_eq!(req.method(), "POST");
                assert!(req.headers().get("authorization").is_none());
                Polled::Send(out.id())
            }
            Action::Wait => Polled::Wait,
            Action::Fail { error, retry_at } => Polled::Fail {
                transient: error.is_transient(),
                retry_at,
            },
        }
    }

    fn expect_send(&mut self) -> RequestId {
        match self.poll() {
            Polled::Send(id) => id,
            other => panic!("expected a request at {:?}, got {other:?}", self.now),
        }
    }

    fn expect_use(&mut self) -> (u64, String) {
        match self.poll() {
            Polled::Use { generation, token } => (generation, token),
            other => panic!("expected a token at {:?}, got {other:?}", self.now),
        }
    }

    fn expect_fail(&mut self) -> (bool, Option<Timestamp>) {
        match self.poll() {
            Polled::Fail {
                transient,
                retry_at,
            } => (transient, retry_at),
            other => panic!("expected a failure at {:?}, got {other:?}", self.now),
        }
    }

    /// Answers `id` with a fresh token; returns the token's text.
    fn issue(&mut self, id: RequestId, expires_in: u64) -> String {
        self.issued += 1;
        let token = format!("tok{:029}", self.issued);
        let outcome = self
            .lc
            .handle_response(self.now, id, &token_response(&token, expires_in));
        assert!(matches!(outcome, Outcome::Token(_)), "{outcome:?}");
        token
    }

    fn respond(&mut self, id: RequestId, response: http::Response<Vec<u8>>) -> Outcome<'_> {
        self.lc.handle_response(self.now, id, &response)
    }

    fn transport_error(&mut self, id: RequestId) {
        let e = TransportError::new(TransportErrorKind::Connect, "connection refused");
        let outcome = self.lc.handle_transport_error(self.now, id, e);
        assert!(matches!(outcome, Outcome::Failed(_)));
    }

    /// Polls until the lifecycle asks for a request, stepping `step` at a time; returns
    /// when it did.
    fn time_of_next_send(&mut self, step: Duration, limit: Duration) -> Timestamp {
        let end = self.now + limit;
        while self.now <= end {
            if let Polled::Send(_) = self.poll() {
                return self.now;
            }
            self.advance(step);
        }
        panic!("no request within {limit:?}");
    }
}

// 1. No token yet → exactly one request, however many polls, until its outcome.
#[test]
fn first_poll_asks_once_and_waits_for_the_outcome() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    for _ in 0..100 {
        assert_eq!(s.poll(), Polled::Wait);
        s.advance(Duration::from_millis(100));
    }
    let token = s.issue(id, 3599);
    assert_eq!(s.expect_use().1, token);
    assert_eq!(s.lc.requests_last_minute(s.now), 1);
}

// 2. Outside the refresh window → used, no request.
#[test]
fn fresh_token_is_used_without_requests() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let token = s.issue(id, 3599);
    for minute in 0..54 {
        s.at(secs(minute * 60));
        assert_eq!(s.expect_use().1, token);
    }
    assert_eq!(s.lc.in_flight(), None);
}

// 3. Inside the window → old token keeps being used, exactly one refresh request.
#[test]
fn refresh_window_hands_out_old_token_and_sends_one_refresh() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let old = s.issue(id, 3599);
    // The refresh comes between 330 s and 300 s before expiry (window + up to 10 % jitter).
    let at = s.time_of_next_send(secs(1), secs(3599));
    let before_expiry = Timestamp::from_duration(secs(3599)).saturating_duration_since(at);
    assert!(
        (secs(300)..=secs(331)).contains(&before_expiry),
        "{before_expiry:?}"
    );
    let refresh = s.lc.in_flight().unwrap();
    for _ in 0..50 {
        assert_eq!(s.expect_use().1, old);
        s.advance(Duration::from_millis(200));
    }
    let new = s.issue(refresh, 3599);
    assert_eq!(s.expect_use().1, new);
    assert_ne!(old, new);
}

#[test]
fn refresh_jitter_spreads_processes() {
    let refresh_time = |seed| {
        let mut s = Scenario::with(LifecycleConfig::default().with_seed(seed));
        let id = s.expect_send();
        s.issue(id, 3599);
        s.lc.current.as_ref().unwrap().refresh_at()
    };
    let times: std::collections::BTreeSet<_> = (0..20).map(refresh_time).collect();
    assert!(
        times.len() > 15,
        "seeds should give different refresh times"
    );
    for t in times {
        let d = t.as_duration();
        assert!(d >= secs(3599 - 330) && d <= secs(3599 - 300), "{d:?}");
    }
}

#[test]
fn short_lived_token_refreshes_at_half_life() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 400); // shorter than twice the 300 s window
    assert_eq!(
        s.lc.current.as_ref().unwrap().refresh_at(),
        Timestamp::from_duration(secs(200))
    );
    s.at(secs(199));
    s.expect_use();
    s.at(secs(200));
    s.expect_send();
}

#[test]
fn configurable_window() {
    let mut s = Scenario::with(
        LifecycleConfig::default()
            .with_refresh_window(secs(60))
            .with_refresh_jitter_percent(0),
    );
    let id = s.expect_send();
    s.issue(id, 3599);
    assert_eq!(
        s.lc.current.as_ref().unwrap().refresh_at(),
        Timestamp::from_duration(secs(3539))
    );
}

// 4. Transient failure while valid → keep serving; full-jitter backoff; Retry-After honoured.
#[test]
fn transient_refresh_failure_keeps_token_and_backs_off() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let token = s.issue(id, 3599);
    s.at(secs(3599 - 290));
    let mut previous_ceiling = Duration::ZERO;
    for failure in 1..=8u32 {
        let id = s.expect_send();
        let failed_at = s.now;
        let outcome = s.respond(id, status_response(503, &[], "<html>busy</html>"));
        assert!(matches!(outcome, Outcome::Failed(Error::Server(_))));
        // Still served while the backoff runs.
        assert_eq!(s.expect_use().1, token);
        let retry = s.lc.not_before.saturating_duration_since(failed_at);
        let ceiling = secs(1u64 << (failure - 1)).min(secs(60));
        assert!(
            retry <= ceiling,
            "failure {failure}: {retry:?} > {ceiling:?}"
        );
        assert!(ceiling >= previous_ceiling);
        previous_ceiling = ceiling;
        // No request before the backoff ends.
        if !retry.is_zero() {
            s.advance(retry - Duration::from_nanos(1));
            assert_eq!(s.expect_use().1, token);
        }
        s.at(failed_at.as_duration() + retry);
        if failure == 8 {
            break;
        }
        // A 60 s budget window passes between rounds, so the budget never interferes.
        s.advance(secs(0));
        if s.lc.requests_last_minute(s.now) >= 10 {
            s.advance(secs(60));
        }
    }
}

#[test]
fn retry_after_is_never_undercut() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 3599);
    s.at(secs(3599 - 290));
    let id = s.expect_send();
    let failed_at = s.now;
    let outcome = s.respond(
        id,
        status_response(
            429,
            &[("retry-after", "30")],
            r#"{"message":"API rate limit exceeded"}"#,
        ),
    );
    assert!(matches!(outcome, Outcome::Failed(Error::RateLimited(_))));
    s.at(failed_at.as_duration() + secs(30) - Duration::from_millis(1));
    s.expect_use();
    assert_eq!(s.lc.in_flight(), None);
    s.at(failed_at.as_duration() + secs(30));
    s.expect_send();
}

#[test]
fn retry_after_as_date_is_resolved_against_the_date_header() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let failed_at = s.now;
    let headers = [
        ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("retry-after", "Sun, 06 Nov 1994 08:50:17 GMT"),
    ];
    let _ = s.respond(id, status_response(429, &headers, ""));
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    assert!(retry_at.unwrap() >= failed_at + secs(40));
    s.at(secs(39));
    s.expect_fail();
    s.at(secs(40));
    s.expect_send();
}

// 5. Hard expiry with no new token → last error and next attempt; never an expired token.
#[test]
fn expired_token_is_never_handed_out() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 3599);
    s.at(secs(3599 - 10));
    let id = s.expect_send();
    let _ = s.respond(id, status_response(503, &[("retry-after", "60")], ""));
    s.at(secs(3599 - 1));
    s.expect_use();
    s.at(secs(3599));
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    assert_eq!(
        retry_at,
        Some(Timestamp::from_duration(secs(3599 - 10 + 60)))
    );
    assert_eq!(s.lc.token(s.now).map(|c| c.generation()), None);
    s.at(secs(3599 - 10 + 60));
    s.expect_send();
}

#[test]
fn first_fetch_failure_reports_error_with_next_attempt() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.transport_error(id);
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    let retry_at = retry_at.unwrap();
    assert!(retry_at <= s.now + secs(1));
    s.now = retry_at;
    s.expect_send();
}

// 6. 400/401/403 → permanent.
#[test]
fn rejection_is_permanent_until_reset() {
    for status in [400, 401, 403] {
        let mut s = Scenario::new();
        let id = s.expect_send();
        let body = r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#;
        let _ = s.respond(id, status_response(status, &[], body));
        for hour in 0..48 {
            s.at(secs(hour * 3600));
            let (transient, retry_at) = s.expect_fail();
            assert!(!transient);
            assert_eq!(retry_at, None);
        }
        assert_eq!(s.lc.requests_last_minute(s.now), 0);
        s.lc.reset();
        s.expect_send();
    }
}

#[test]
fn rejection_during_refresh_serves_valid_token_then_fails() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let token = s.issue(id, 3599);
    s.at(secs(3400));
    let id = s.expect_send();
    let _ = s.respond(
        id,
        status_response(401, &[], r#"{"message":"Authentication error"}"#),
    );
    s.at(secs(3500));
    assert_eq!(s.expect_use().1, token);
    s.at(secs(3599));
    assert_eq!(s.expect_fail(), (false, None));
}

#[test]
fn rejection_reprobe_is_slow_and_optional() {
    let mut s = Scenario::with(LifecycleConfig::default().with_rejection_reprobe(Some(secs(600))));
    let id = s.expect_send();
    let _ = s.respond(id, status_response(401, &[], ""));
    assert_eq!(
        s.expect_fail(),
        (false, Some(Timestamp::from_duration(secs(600))))
    );
    s.at(secs(599));
    s.expect_fail();
    s.at(secs(600));
    s.expect_send();
}

#[test]
fn reconfigure_drops_token_and_ignores_old_request() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let _ = s.respond(id, status_response(401, &[], ""));
    s.lc.reconfigure(request());
    let fresh = s.expect_send();
    s.lc.reconfigure(request());
    assert!(matches!(
        s.respond(fresh, token_response("late", 3599)),
        Outcome::Ignored
    ));
    s.expect_send();
}

// 7. invalidate → one refresh however many reports; older reports ignored.
#[test]
fn invalidate_causes_one_refresh() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 3599);
    let (gen1, _) = s.expect_use();
    s.at(secs(100));
    assert!(s.lc.invalidate(s.now, gen1));
    for _ in 0..50 {
        assert!(!s.lc.invalidate(s.now, gen1));
    }
    let id = s.expect_send();
    for _ in 0..50 {
        assert!(!s.lc.invalidate(s.now, gen1));
        assert_eq!(s.poll(), Polled::Wait);
    }
    s.issue(id, 3599);
    let (gen2, _) = s.expect_use();
    assert!(gen2 > gen1);
    assert!(
        !s.lc.invalidate(s.now, gen1),
        "a report about an older token is ignored"
    );
    s.expect_use();
    assert_eq!(s.lc.requests_last_minute(s.now), 1);
}

#[test]
fn invalidate_during_refresh_does_not_add_a_request() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 3599);
    let (generation, _) = s.expect_use();
    s.at(secs(3400));
    let refresh = s.expect_send();
    assert!(s.lc.invalidate(s.now, generation));
    assert_eq!(s.poll(), Polled::Wait);
    s.issue(refresh, 3599);
    s.expect_use();
}

// 8. One request in flight; superseded outcomes ignored.
#[test]
fn stale_outcomes_are_ignored() {
    let mut s = Scenario::new();
    let first = s.expect_send();
    s.lc.cancel(first);
    let second = s.expect_send();
    assert!(matches!(
        s.respond(first, token_response("stale", 3599)),
        Outcome::Ignored
    ));
    assert_eq!(s.poll(), Polled::Wait);
    let e = TransportError::new(TransportErrorKind::Timeout, "");
    assert!(matches!(
        s.lc.handle_transport_error(s.now, first, e),
        Outcome::Ignored
    ));
    let token = s.issue(second, 3599);
    assert_eq!(s.expect_use().1, token);
    assert!(matches!(
        s.respond(second, token_response("again", 3599)),
        Outcome::Ignored
    ));
}

#[test]
fn cancel_is_not_a_failure() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.lc.cancel(id);
    assert!(s.lc.last_error().is_none());
    s.expect_send();
}

// 9. Budget guard.
#[test]
fn budget_caps_requests_per_rolling_minute() {
    let mut s = Scenario::with(LifecycleConfig::default().with_max_requests_per_minute(3));
    let mut sent = Vec::new();
    // An invalidate storm: every token is reported bad at once.
    for _ in 0..3 {
        let id = s.expect_send();
        sent.push(s.now);
        s.issue(id, 3599);
        let (generation, _) = s.expect_use();
        s.lc.invalidate(s.now, generation);
        s.advance(secs(1));
    }
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    assert_eq!(retry_at, Some(sent[0] + secs(60)));
    s.now = sent[0] + secs(60) - Duration::from_millis(1);
    s.expect_fail();
    s.now = sent[0] + secs(60);
    s.expect_send();
}

#[test]
fn cancelled_requests_count_against_the_budget() {
    let mut s = Scenario::with(LifecycleConfig::default().with_max_requests_per_minute(2));
    let a = s.expect_send();
    s.lc.cancel(a);
    let b = s.expect_send();
    s.lc.cancel(b);
    assert!(matches!(
        s.lc.poll(s.now),
        Action::Fail {
            error: Error::BudgetExhausted { per_minute: 2 },
            ..
        }
    ));
}

// 10. Time going backwards, huge jumps, zero lifetimes.
#[test]
fn time_going_backwards_is_time_standing_still() {
    let mut s = Scenario::new();
    s.at(secs(1000));
    let id = s.expect_send();
    let token = s.issue(id, 3599);
    s.at(secs(0));
    assert_eq!(s.expect_use().1, token);
    // Its expiry still counts from the latest time seen.
    s.at(secs(1000 + 3599));
    assert!(matches!(s.poll(), Polled::Send(_)));
}

#[test]
fn huge_jumps_do_not_panic() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 3599);
    s.now = Timestamp::MAX;
    let id = s.expect_send();
    s.transport_error(id);
    let id = s.expect_send(); // the backoff saturates at the end of time, which is now
    s.transport_error(id);
    assert!(s.lc.next_wakeup().is_some_and(|t| t >= s.now));
    let _ = s.lc.adopt(
        Timestamp::MAX,
        s.lc.current.as_ref().unwrap().token().clone(),
        Duration::MAX,
    );
    let _ = s.poll();
}

#[test]
fn zero_and_tiny_lifetimes_do_not_loop() {
    let mut s = Scenario::new();
    // Zero: parse rejects it as an unexpected response.
    let id = s.expect_send();
    let outcome = s.respond(id, token_response("zero", 0));
    assert!(matches!(
        outcome,
        Outcome::Failed(Error::UnexpectedResponse { .. })
    ));
    // Adopting a zero-lifetime token installs nothing.
    let token = Arc::new(Token::new(
        crate::AccessToken::new("x").unwrap(),
        Duration::ZERO,
    ));
    assert!(s.lc.adopt(s.now, token, Duration::ZERO).is_none());
    // A token that is dead on arrival: requests continue, but only within the budget.
    let mut requests = 0;
    for _ in 0..1000 {
        match s.poll() {
            Polled::Send(id) => {
                requests += 1;
                let r = http::Response::builder()
                    .header("content-type", "application/json")
                    .body(
                        br#"{"access_token":"t","expires_in":0.000001,"token_type":"bearer"}"#
                            .to_vec(),
                    )
                    .unwrap();
                let _ = s.respond(id, r);
                s.advance(Duration::from_micros(2));
            }
            Polled::Fail { .. } | Polled::Wait | Polled::Use { .. } => {
                s.advance(Duration::from_millis(1));
            }
        }
    }
    assert!(requests <= 10, "{requests} requests in about a second");
}

// Shared store: adopt and publish.
#[test]
fn adopted_token_is_used_and_newly_fetched_ones_are_reported() {
    let mut s = Scenario::new();
    let shared = Arc::new(Token::new(
        crate::AccessToken::new("from-store").unwrap(),
        secs(3599),
    ));
    let cached =
        s.lc.adopt(s.now, shared, secs(1800))
            .expect("better than nothing");
    assert_eq!(cached.expires_at(), Timestamp::from_duration(secs(1800)));
    assert_eq!(s.expect_use().1, "from-store");
    // A worse one is refused.
    let worse = Arc::new(Token::new(
        crate::AccessToken::new("worse").unwrap(),
        secs(10),
    ));
    assert!(s.lc.adopt(s.now, worse, secs(10)).is_none());
    s.at(secs(1800 - 299));
    let id = s.expect_send();
    match s.respond(id, token_response("fetched", 3599)) {
        Outcome::Token(c) => assert_eq!(c.token().access_token().secret(), "fetched"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn next_wakeup_points_at_the_next_change() {
    let mut s = Scenario::new();
    assert_eq!(s.lc.next_wakeup(), Some(Timestamp::ZERO));
    let id = s.expect_send();
    s.issue(id, 400);
    assert_eq!(
        s.lc.next_wakeup(),
        Some(Timestamp::from_duration(secs(200)))
    );
}

// Invariants over random input sequences.
#[derive(Debug, Clone)]
enum Step {
    Advance(u64),
    Back(u64),
    Poll,
    Ok(u64),
    Status(u16, Option<u64>),
    Transport,
    Cancel,
    Invalidate,
    Reset,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..4_000_000).prop_map(Step::Advance),
        1 => (0u64..10_000).prop_map(Step::Back),
        6 => Just(Step::Poll),
        3 => prop_oneof![Just(1u64), Just(30), Just(400), Just(3599), 1u64..86_400].prop_map(Step::Ok),
        2 => (prop_oneof![Just(400u16), Just(401), Just(403), Just(429), Just(500), Just(502), Just(503), Just(504), Just(302), Just(404)],
              proptest::option::of(0u64..120)).prop_map(|(s, r)| Step::Status(s, r)),
        1 => Just(Step::Transport),
        1 => Just(Step::Cancel),
        1 => Just(Step::Invalidate),
        1 => Just(Step::Reset),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn invariants_hold(steps in proptest::collection::vec(step(), 1..200), seed in any::<u64>(), budget in 1u32..20) {
        let config = LifecycleConfig::default().with_seed(seed).with_max_requests_per_minute(budget);
        let mut lc = TokenLifecycle::new(request(), config);
        let mut clock = Timestamp::ZERO; // what the test feeds
        // The latest time fed to the machine (moving the test's clock feeds nothing).
        let mut latest = Timestamp::ZERO;
        let mut in_flight: Option<(RequestId, Timestamp)> = None;
        let mut sends: Vec<Timestamp> = Vec::new();
        // Token text → latest time it may be used (sent time + lifetime).
        let mut valid_until = std::collections::HashMap::new();
        let mut issued = 0u64;
        for step in steps {
            match step {
                Step::Advance(ms) => clock = clock + Duration::from_millis(ms),
                Step::Back(ms) => clock = clock - Duration::from_millis(ms),
                Step::Poll => {
                    latest = latest.max(clock);
                    match lc.poll(clock) {
                        Action::Send(out) => {
                            prop_assert!(in_flight.is_none(), "two requests in flight");
                            in_flight = Some((out.id(), latest));
                            sends.push(latest);
                        }
                        Action::Use(c) => {
                            let text = c.token().access_token().secret().to_owned();
                            let until = valid_until[&text];
                            prop_assert!(latest < until, "expired token handed out");
                        }
                        Action::Wait => prop_assert!(in_flight.is_some(), "wait without a request"),
                        Action::Fail { .. } => {}
                    }
                }
                Step::Ok(expires_in) => if let Some((id, sent)) = in_flight.take() {
                    issued += 1;
                    let text = format!("t{issued}");
                    valid_until.insert(text.clone(), sent + secs(expires_in));
                    latest = latest.max(clock);
                    let _ = lc.handle_response(clock, id, &token_response(&text, expires_in));
                },
                Step::Status(status, retry_after) => if let Some((id, _)) = in_flight.take() {
                    let ra = retry_after.map(|r| r.to_string());
                    let headers: Vec<(&str, &str)> = ra.iter().map(|r| ("retry-after", r.as_str())).collect();
                    latest = latest.max(clock);
                    let _ = lc.handle_response(clock, id, &status_response(status, &headers, "{}"));
                },
                Step::Transport => if let Some((id, _)) = in_flight.take() {
                    latest = latest.max(clock);
                    let _ = lc.handle_transport_error(clock, id, TransportError::new(TransportErrorKind::Reset, ""));
                },
                Step::Cancel => if let Some((id, _)) = in_flight.take() {
                    lc.cancel(id);
                },
                Step::Invalidate => if let Some(generation) = lc.token(clock).map(CachedToken::generation) {
                    latest = latest.max(clock);
                    lc.invalidate(clock, generation);
                },
                Step::Reset => lc.reset(),
            }
            prop_assert_eq!(lc.latest_time(), latest);
            prop_assert_eq!(lc.in_flight(), in_flight.map(|(id, _)| id));
        }
        for (i, &t) in sends.iter().enumerate() {
            let in_window = sends[i..].iter().take_while(|&&u| u < t + secs(60)).count();
            prop_assert!(in_window <= budget as usize, "{} requests within a minute (budget {})", in_window, budget);
        }
    }
}

// Found by the `lifecycle` fuzz target: at the end of time `t + 60 s` saturates, so the
// budget forgot every request and let any number through.
#[test]
fn budget_holds_at_the_end_of_time() {
    let mut s = Scenario::with(LifecycleConfig::default().with_max_requests_per_minute(2));
    s.now = Timestamp::MAX;
    let a = s.expect_send();
    s.lc.cancel(a);
    let b = s.expect_send();
    s.lc.cancel(b);
    assert_eq!(s.lc.requests_last_minute(s.now), 2);
    assert!(matches!(
        s.lc.poll(s.now),
        Action::Fail {
            error: Error::BudgetExhausted { per_minute: 2 },
            retry_at: Some(Timestamp::MAX),
        }
    ));
    // Half a minute before the end of time, a request still counts at the end.
    let mut s = Scenario::with(LifecycleConfig::default().with_max_requests_per_minute(1));
    s.now = Timestamp::MAX - secs(30);
    let id = s.expect_send();
    s.transport_error(id);
    s.now = Timestamp::MAX;
    assert_eq!(s.lc.requests_last_minute(s.now), 1);
    assert!(matches!(s.poll(), Polled::Fail { .. }));
}

// Found by the `lifecycle` fuzz target: an adopted token that lives for ever with an
// absurd refresh window overflowed `window * jitter percent`.
#[test]
fn huge_refresh_window_with_an_endless_token_does_not_panic() {
    for window in [Duration::MAX, secs(u64::MAX / 4)] {
        let config = LifecycleConfig::default()
            .with_refresh_window(window)
            .with_refresh_jitter_percent(100);
        let mut s = Scenario::with(config);
        let token = Arc::new(Token::new(
            crate::AccessToken::new("forever").unwrap(),
            Duration::MAX,
        ));
        let cached = s.lc.adopt(s.now, token, Duration::MAX).expect("adopted");
        assert!(cached.refresh_at() <= cached.expires_at());
        let _ = s.poll();
        let _ = s.lc.next_wakeup();
    }
}
