//! The lifecycle's behaviours, driven over a simulated clock.

use std::time::{Duration, SystemTime};

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

/// The wall clock of the simulation: `Timestamp::ZERO` is this moment.
fn wall_at(t: Timestamp) -> SystemTime {
    SystemTime::UNIX_EPOCH + secs(1_764_748_800) + t.as_duration().min(secs(1 << 32))
}

/// A record of `token`, issued `age` before the simulation's time `now`, living `lifetime`.
fn record(token: &str, now: Timestamp, age: Duration, lifetime: Duration) -> TokenRecord {
    let token = Token::new(crate::AccessToken::new(token).unwrap(), lifetime);
    TokenRecord::new(&token, wall_at(now) - age)
}

/// What a poll returned, owned so that the scenario can go on.
#[derive(Debug, Clone, PartialEq)]
enum Polled {
    Use {
        generation: Generation,
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
        Self::seeded(config, 7)
    }

    fn seeded(config: LifecycleConfig, seed: u64) -> Self {
        Self {
            lc: TokenLifecycle::new(request(), config, seed),
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

    fn wall(&self) -> SystemTime {
        wall_at(self.now)
    }

    fn expect_use(&mut self) -> (Generation, String) {
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
        let outcome = self.lc.handle_response(
            self.now,
            self.wall(),
            id,
            &token_response(&token, expires_in),
        );
        assert!(matches!(outcome, Outcome::Token(_)), "{outcome:?}");
        token
    }

    fn respond(&mut self, id: RequestId, response: http::Response<Vec<u8>>) -> Outcome<'_> {
        let wall = self.wall();
        self.lc.handle_response(self.now, wall, id, &response)
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

    /// The time of the next token request after a server's wait: polled every 100 ms for
    /// up to a minute.
    fn time_of_next_send_after_a_wait(&mut self) -> Timestamp {
        self.time_of_next_send(Duration::from_millis(100), secs(60))
    }

    /// A first token request answered with `response`, a token, handed out: its
    /// generation.
    fn first_token(&mut self, response: http::Response<Vec<u8>>) -> Generation {
        let id = self.expect_send();
        let _ = self.respond(id, response);
        self.expect_use().0
    }

    /// The next token request goes out within the jitter after `wait` from the start.
    fn expect_send_after(&mut self, wait: Duration) {
        let sent = self.time_of_next_send_after_a_wait();
        assert!(
            jittered(wait).contains(&sent.as_duration()),
            "sent at {sent:?}, expected {wait:?} (jittered)"
        );
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
        let mut s = Scenario::seeded(LifecycleConfig::default(), seed);
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
fn short_lived_token_refreshes_halfway_through_its_usable_life() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 400); // shorter than twice the 300 s window; handed out until 370 s
    assert_eq!(
        s.lc.current.as_ref().unwrap().refresh_at(),
        Timestamp::from_duration(secs(185))
    );
    s.at(secs(184));
    s.expect_use();
    s.at(secs(185));
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
    // Sent once the wait and its jitter (up to 3 s) have passed.
    s.at(failed_at.as_duration());
    let sent = s.time_of_next_send(Duration::from_millis(10), secs(60));
    assert!(
        jittered(secs(30)).contains(&sent.saturating_duration_since(failed_at)),
        "{sent:?}"
    );
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
    let retry_at = retry_at.unwrap();
    assert!(
        jittered(secs(40)).contains(&retry_at.saturating_duration_since(failed_at)),
        "{retry_at:?}"
    );
    s.at(secs(40) - Duration::from_millis(1));
    s.expect_fail();
    s.now = retry_at;
    s.expect_send();
}

// 5. Past the minimum remaining lifetime with no new token → last error and next attempt;
// never a token about to expire.
#[test]
fn expired_token_is_never_handed_out() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 3599);
    // Handed out until 30 s before expiry.
    let end_of_use = 3599 - 30;
    s.at(secs(end_of_use - 10));
    let id = s.expect_send();
    let _ = s.respond(id, status_response(503, &[("retry-after", "60")], ""));
    s.at(secs(end_of_use) - Duration::from_millis(1));
    s.expect_use();
    s.at(secs(end_of_use));
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    // `Retry-After: 60` from the failure, plus its jitter.
    let retry_at = retry_at.unwrap();
    assert!(
        jittered(secs(60)).contains(&(retry_at.as_duration() - secs(end_of_use - 10))),
        "{retry_at:?}"
    );
    assert_eq!(s.lc.token(s.now).map(|c| c.generation()), None);
    s.now = retry_at;
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
fn permanent_reprobe_is_slow_and_optional() {
    let mut s = Scenario::with(LifecycleConfig::default().with_permanent_reprobe(Some(secs(600))));
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

// 11. reconfigure: a new secret keeps the token until it produces one; another client,
// environment or entity drops it.

const NEW_SECRET: &str = "bmV3L3NlY3JldCtyb3RhdGVkPQ==";

fn rotated() -> TokenRequest {
    request().with_client_secret(ClientSecret::new(NEW_SECRET).unwrap())
}

/// The form-encoded secret a request sent at `now` carries (it must be asked for now).
fn sent_secret(s: &mut Scenario) -> (RequestId, String) {
    match s.lc.poll(s.now) {
        Action::Send(out) => {
            let form: Vec<(String, String)> =
                serde_urlencoded::from_bytes(out.request().body()).unwrap();
            let secret = form
                .into_iter()
                .find(|(k, _)| k == "client_secret")
                .map(|(_, v)| v)
                .unwrap();
            (out.id(), secret)
        }
        other => panic!("expected a request at {:?}, got {other:?}", s.now),
    }
}

fn rejection() -> http::Response<Vec<u8>> {
    status_response(
        401,
        &[(
            "www-authenticate",
            r#"Bearer realm="Zuora", error="invalid_client""#,
        )],
        r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#,
    )
}

#[test]
fn a_new_secret_keeps_the_token_and_fetches_with_the_new_secret_at_once() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let old = s.issue(id, 3599);
    let (kept, _) = s.expect_use();
    s.at(secs(100));
    s.lc.reconfigure(rotated());
    assert_eq!(s.lc.rotation(), Some(Rotation::Pending));
    // Long before the refresh window: a request with the new secret, at once.
    let (id, secret) = sent_secret(&mut s);
    assert_eq!(secret, NEW_SECRET);
    // Meanwhile the kept token is handed out, however often asked.
    for _ in 0..20 {
        assert_eq!(s.expect_use(), (kept, old.clone()));
        s.advance(Duration::from_millis(100));
    }
    assert_eq!(s.lc.in_flight(), Some(id), "one request, not one per poll");
    let new = s.issue(id, 3599);
    let (generation, token) = s.expect_use();
    assert_eq!(token, new);
    assert!(generation > kept);
    assert_eq!(s.lc.rotation(), None);
    assert_eq!(s.lc.last_error().map(ToString::to_string), None);
    // Then the usual schedule: the next request in the new token's refresh window, with the
    // new secret.
    let at = s.time_of_next_send(secs(10), secs(3599));
    assert!(at > Timestamp::from_duration(secs(3000)), "{at:?}");
}

#[test]
fn a_new_secret_supersedes_a_request_in_flight_with_the_old_one() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let old = s.issue(id, 3599);
    s.at(secs(3400));
    let refresh = s.expect_send();
    s.lc.reconfigure(rotated());
    let (id, secret) = sent_secret(&mut s);
    assert_ne!(id, refresh);
    assert_eq!(secret, NEW_SECRET);
    assert!(matches!(
        s.respond(refresh, token_response("old-secret-token", 3599)),
        Outcome::Ignored
    ));
    assert_eq!(s.expect_use().1, old);
    let new = s.issue(id, 3599);
    assert_eq!(s.expect_use().1, new);
}

#[test]
fn the_kept_token_is_served_only_while_usable() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let old = s.issue(id, 3599);
    s.at(secs(3000));
    s.lc.reconfigure(rotated());
    // The new secret's requests fail transiently: the kept token is served meanwhile, and
    // the retries back off as for any refresh.
    let mut sends = 0;
    while s.now < Timestamp::from_duration(secs(3569)) {
        match s.poll() {
            Polled::Send(id) => {
                sends += 1;
                s.transport_error(id);
            }
            Polled::Use { token, .. } => assert_eq!(token, old),
            other => panic!("at {:?}: {other:?}", s.now),
        }
        s.advance(secs(1));
    }
    assert!(
        (2..60).contains(&sends),
        "{sends} attempts in 569 s: backed off"
    );
    // 30 s before expiry it is no longer handed out.
    s.at(secs(3569));
    assert!(matches!(
        s.poll(),
        Polled::Fail {
            transient: true,
            ..
        } | Polled::Send(_)
    ));
    assert!(s.lc.token(s.now).is_none());
}

#[test]
fn a_rejected_new_secret_is_named_and_the_kept_token_served_until_unusable() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let old = s.issue(id, 3599);
    s.at(secs(600));
    s.lc.reconfigure(rotated());
    let id = s.expect_send();
    assert!(matches!(s.respond(id, rejection()), Outcome::Failed(_)));
    assert_eq!(s.lc.rotation(), Some(Rotation::Rejected));
    assert!(matches!(s.lc.last_error(), Some(Error::Rejected(_))));
    // Kept while usable, without another request.
    for minute in 10..59 {
        s.at(secs(minute * 60));
        assert_eq!(s.expect_use().1, old);
    }
    s.at(secs(3569));
    assert_eq!(s.expect_fail(), (false, None));
    assert_eq!(s.lc.rotation(), Some(Rotation::Rejected));
    assert_eq!(s.lc.requests_last_minute(s.now), 0);
    // A reset tries the new credentials again.
    s.lc.reset();
    assert_eq!(s.lc.rotation(), Some(Rotation::Pending));
    let (_, secret) = sent_secret(&mut s);
    assert_eq!(secret, NEW_SECRET);
}

#[test]
fn a_kept_token_the_api_refuses_is_dropped() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 3599);
    let (kept, _) = s.expect_use();
    s.at(secs(60));
    s.lc.reconfigure(rotated());
    let id = s.expect_send();
    let _ = s.respond(id, rejection());
    assert!(s.lc.invalidate(s.now, kept));
    assert_eq!(s.expect_fail(), (false, None));
}

#[test]
fn another_client_environment_or_entity_drops_the_token() {
    let others = [
        TokenRequest::new(
            Environment::custom("http://127.0.0.1:10").unwrap(),
            ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
            ClientSecret::new(SECRET).unwrap(),
        ),
        TokenRequest::new(
            Environment::custom("http://127.0.0.1:9").unwrap(),
            ClientId::new("9b9b9b9b-0000-1111-2222-333344445555").unwrap(),
            ClientSecret::new(SECRET).unwrap(),
        ),
        request()
            .with_entity_id(crate::EntityId::new("11e643f4-a3ee-8bad-b061-0025904c756d").unwrap()),
    ];
    for other in others {
        let mut s = Scenario::new();
        let id = s.expect_send();
        s.issue(id, 3599);
        s.at(secs(100));
        s.lc.reconfigure(other.clone());
        assert!(s.lc.token(s.now).is_none(), "{other:?}");
        let id = s.expect_send();
        assert_eq!(s.poll(), Polled::Wait, "{other:?}");
        assert!(matches!(s.respond(id, rejection()), Outcome::Failed(_)));
        assert_eq!(s.lc.rotation(), Some(Rotation::Rejected), "{other:?}");
        assert_eq!(s.expect_fail(), (false, None));
    }
    // A new track ID alone is the same client: the token stays (and a request with the
    // new settings is made, as after any reconfiguration).
    let mut s = Scenario::new();
    let id = s.expect_send();
    let old = s.issue(id, 3599);
    s.lc.reconfigure(request().with_track_id(crate::TrackId::new("nightly").unwrap()));
    s.expect_send();
    assert_eq!(s.expect_use().1, old);
}

#[test]
fn a_record_of_the_new_credentials_is_adopted_even_if_the_kept_token_outlives_it() {
    let mut s = Scenario::new();
    s.at(secs(100));
    let id = s.expect_send();
    s.issue(id, 3599);
    assert!(s.lc.last_token().is_some());
    s.at(secs(110));
    s.lc.reconfigure(rotated());
    assert!(
        s.lc.last_token().is_none(),
        "the kept token is no measure for the new credentials' records"
    );
    let id = s.expect_send();
    // Another process rotated first: its token expires before the kept one.
    let theirs = record("theirs", s.now, secs(60), secs(3599));
    let wall = s.wall();
    assert!(matches!(
        s.lc.handle_record(s.now, wall, id, &theirs),
        Outcome::Token(_)
    ));
    assert_eq!(s.expect_use().1, "theirs");
    assert_eq!(s.lc.rotation(), None);
    // Once rotated, the usual rule again: a record that does not outlive the token is
    // refused.
    let worse = record("worse", s.now, secs(120), secs(3599));
    assert!(s.lc.adopt(s.now, wall, &worse).is_none());
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
    let forever = record("forever", s.now, Duration::ZERO, Duration::MAX);
    let _ = s.lc.adopt(Timestamp::MAX, s.wall(), &forever);
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
    let zero = record("x", s.now, Duration::ZERO, Duration::ZERO);
    assert!(s.lc.adopt(s.now, s.wall(), &zero).is_none());
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
    // Issued 1799 s ago for 3599 s: 1800 s left.
    let shared = record("from-store", s.now, secs(1799), secs(3599));
    let wall = s.wall();
    let cached =
        s.lc.adopt(s.now, wall, &shared)
            .expect("better than nothing");
    assert_eq!(cached.expires_at(), Timestamp::from_duration(secs(1800)));
    assert_eq!(cached.record(), shared, "its record is the one adopted");
    assert_eq!(s.expect_use().1, "from-store");
    // A worse one is refused.
    let worse = record("worse", s.now, Duration::ZERO, secs(600));
    assert!(s.lc.adopt(s.now, wall, &worse).is_none());
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
    assert_eq!(
        s.lc.next_wakeup(),
        Some(Timestamp::ZERO + DEFAULT_REQUEST_DEADLINE),
        "the deadline of the request in flight"
    );
    s.issue(id, 400);
    assert_eq!(
        s.lc.next_wakeup(),
        Some(Timestamp::from_duration(secs(185)))
    );
}

// Invariants over random input sequences.
#[derive(Debug, Clone)]
enum Step {
    Advance(u64),
    Back(u64),
    Poll,
    /// A token living this long; with `Some(reset)`, its answer says nothing remains.
    Ok(u64, Option<u64>),
    /// A failure: status, `Retry-After`, `RateLimit-Reset`, whether nothing remains.
    Status(u16, Option<u64>, Option<u64>, bool),
    Transport,
    Cancel,
    Invalidate,
    Reset,
    /// `reconfigure`: a new secret (`true`) or another environment.
    Reconfigure(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..4_000_000).prop_map(Step::Advance),
        1 => (0u64..10_000).prop_map(Step::Back),
        6 => Just(Step::Poll),
        3 => (prop_oneof![Just(1u64), Just(30), Just(61), Just(400), Just(3599), 1u64..86_400, Just(864_000)],
              proptest::option::weighted(0.2, prop_oneof![0u64..120, Just(86_400)])).prop_map(|(e, r)| Step::Ok(e, r)),
        2 => (prop_oneof![Just(400u16), Just(401), Just(403), Just(429), Just(500), Just(502), Just(503), Just(504), Just(302), Just(404), Just(408)],
              proptest::option::of(prop_oneof![0u64..120, Just(86_400), Just(u64::MAX)]),
              proptest::option::of(prop_oneof![0u64..120, Just(86_400), Just(u64::MAX)]),
              any::<bool>()).prop_map(|(s, r, reset, spent)| Step::Status(s, r, reset, spent)),
        1 => Just(Step::Transport),
        1 => Just(Step::Cancel),
        1 => Just(Step::Invalidate),
        1 => Just(Step::Reset),
        1 => any::<bool>().prop_map(Step::Reconfigure),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn invariants_hold(steps in proptest::collection::vec(step(), 1..200), seed in any::<u64>(), budget in 1u32..20) {
        let config = LifecycleConfig::default().with_max_requests_per_minute(budget);
        let (deadline, max_wait) = (config.request_deadline(), config.max_retry_wait());
        let (min_remaining, max_lifetime) = (config.min_remaining(), config.max_lifetime());
        let mut lc = TokenLifecycle::new(request(), config, seed);
        let mut clock = Timestamp::ZERO; // what the test feeds
        // The latest time fed to the machine (moving the test's clock feeds nothing).
        let mut latest = Timestamp::ZERO;
        let mut in_flight: Option<(RequestId, Timestamp)> = None;
        let mut sends: Vec<Timestamp> = Vec::new();
        // Token text → the time until which it may be handed out: sent time + (clamped)
        // lifetime − the minimum remaining lifetime (at most half the lifetime).
        let mut usable_until = std::collections::HashMap::new();
        let mut issued = 0u64;
        // No request before this: the server's last wait, capped (its jitter only adds).
        let mut server_floor = Timestamp::ZERO;
        for step in steps {
            // Feeds `clock` to the model the way the machine takes it: the latest time moves
            // on, and a request past its deadline is given up.
            let feed = |latest: &mut Timestamp, in_flight: &mut Option<(RequestId, Timestamp)>| {
                *latest = (*latest).max(clock);
                if in_flight.is_some_and(|(_, sent)| latest.saturating_duration_since(sent) >= deadline) {
                    *in_flight = None;
                }
            };
            match step {
                Step::Advance(ms) => clock = clock + Duration::from_millis(ms),
                Step::Back(ms) => clock = clock - Duration::from_millis(ms),
                Step::Poll => {
                    feed(&mut latest, &mut in_flight);
                    match lc.poll(clock) {
                        Action::Send(out) => {
                            prop_assert!(in_flight.is_none(), "two requests in flight");
                            prop_assert!(latest >= server_floor, "a request before the server's wait: {:?} < {:?}", latest, server_floor);
                            in_flight = Some((out.id(), latest));
                            sends.push(latest);
                        }
                        Action::Use(c) => {
                            let text = c.token().access_token().secret().to_owned();
                            let until = usable_until[&text];
                            prop_assert!(latest < until, "a token under the minimum lifetime handed out");
                        }
                        Action::Wait => prop_assert!(in_flight.is_some(), "wait without a request"),
                        Action::Fail { retry_at, .. } => if let Some(t) = retry_at {
                            prop_assert!(t > latest, "a retry time in the past");
                        },
                    }
                }
                Step::Ok(expires_in, reset) => if let Some((id, sent)) = in_flight.take() {
                    issued += 1;
                    let text = format!("t{issued}");
                    let lifetime = secs(expires_in).min(max_lifetime);
                    usable_until.insert(text.clone(), sent + lifetime - min_remaining.min(lifetime / 2));
                    feed(&mut latest, &mut None);
                    let response = match reset {
                        Some(r) => token_with_quota(&text, expires_in, "0", &r.to_string()),
                        None => token_response(&text, expires_in),
                    };
                    let answered = !matches!(lc.handle_response(clock, wall_at(clock), id, &response), Outcome::Ignored);
                    if let Some(r) = reset.filter(|_| answered) {
                        server_floor = server_floor.max(latest + secs(r).min(max_wait));
                    }
                },
                Step::Status(status, retry_after, reset, spent) => if let Some((id, _)) = in_flight.take() {
                    let (ra, rs) = (retry_after.map(|r| r.to_string()), reset.map(|r| r.to_string()));
                    let mut headers: Vec<(&str, &str)> = ra.iter().map(|r| ("retry-after", r.as_str())).collect();
                    headers.extend(rs.iter().map(|r| ("ratelimit-reset", r.as_str())));
                    if spent {
                        headers.push(("ratelimit-remaining", "0"));
                    }
                    feed(&mut latest, &mut None);
                    let outcome = lc.handle_response(clock, wall_at(clock), id, &status_response(status, &headers, "{}"));
                    let answered = !matches!(outcome, Outcome::Ignored);
                    let wait = retry_after.or(reset.filter(|_| status == 429 || spent));
                    if let Some(w) = wait.filter(|_| answered) {
                        server_floor = server_floor.max(latest + secs(w).min(max_wait));
                    }
                    if let Some(wakeup) = lc.next_wakeup() {
                        // After a permanent failure, the next change may be the end of a
                        // token's use (one kept through a rotation can have most of its life
                        // left); a retry never waits past the cap.
                        let permanent = lc.last_error().is_some_and(|e| !e.is_transient());
                        let in_use = lc.token(clock).filter(|_| permanent).map_or(Timestamp::ZERO, |c| c.usable_until());
                        prop_assert!(wakeup <= (latest + max_wait.max(secs(60))).max(in_use), "waits past the cap: {:?}", wakeup);
                    }
                },
                Step::Transport => if let Some((id, _)) = in_flight.take() {
                    feed(&mut latest, &mut None);
                    let _ = lc.handle_transport_error(clock, id, TransportError::new(TransportErrorKind::Reset, ""));
                },
                Step::Cancel => if let Some((id, _)) = in_flight.take() {
                    lc.cancel(id);
                },
                Step::Invalidate => if let Some(generation) = lc.token(clock).map(TokenHandle::generation) {
                    feed(&mut latest, &mut in_flight);
                    lc.invalidate(clock, generation);
                },
                Step::Reset => {
                    lc.reset();
                    server_floor = Timestamp::ZERO;
                }
                Step::Reconfigure(same_client) => {
                    let had = lc.token(clock).map(|c| c.generation());
                    let next = if same_client {
                        lc.request().clone().with_client_secret(ClientSecret::new(format!("s{}", sends.len())).unwrap())
                    } else {
                        TokenRequest::new(
                            Environment::custom(&format!("http://127.0.0.1:{}", 10 + sends.len())).unwrap(),
                            lc.request().client_id().clone(),
                            lc.request().client_secret().clone(),
                        )
                    };
                    lc.reconfigure(next);
                    in_flight = None;
                    // Zuora's wait holds for the same client; another one starts afresh.
                    if !same_client {
                        server_floor = Timestamp::ZERO;
                    }
                    let kept = lc.token(clock).map(|c| c.generation());
                    prop_assert_eq!(kept, if same_client { had } else { None }, "a token kept by a new secret only");
                    prop_assert_eq!(lc.rotation(), Some(Rotation::Pending));
                }
            }
            prop_assert_eq!(lc.latest_time(), latest);
            prop_assert_eq!(lc.in_flight(), in_flight.map(|(id, _)| id));
            if in_flight.is_some() {
                prop_assert!(lc.next_wakeup().is_some(), "a request in flight always has a deadline");
            }
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
    // With lifetimes clamped to a day (the default) and unclamped (found by the lifecycle
    // fuzz target: the window plus its jitter overflowed).
    let cases = [Duration::MAX, secs(u64::MAX / 4)]
        .into_iter()
        .flat_map(|w| [(w, secs(86_400)), (w, Duration::MAX)]);
    for (window, max_lifetime) in cases {
        let config = LifecycleConfig::default()
            .with_refresh_window(window)
            .with_refresh_jitter_percent(100)
            .with_max_lifetime(max_lifetime);
        let mut s = Scenario::with(config);
        let forever = record("forever", s.now, Duration::ZERO, Duration::MAX);
        let wall = s.wall();
        let cached = s.lc.adopt(s.now, wall, &forever).expect("adopted");
        assert!(cached.refresh_at() <= cached.expires_at());
        let _ = s.poll();
        let _ = s.lc.next_wakeup();
    }
}

// Found by the `lifecycle` fuzz target (finding 8): a request with an endless deadline,
// given up at the end of time, overflowed rounding the deadline up to whole seconds for
// the error message.
#[test]
fn endless_request_deadline_given_up_at_the_end_of_time_does_not_panic() {
    let config = LifecycleConfig::default().with_request_deadline(Duration::MAX);
    let mut s = Scenario::with(config);
    let first = s.expect_send();
    s.now = Timestamp::MAX;
    let polled = s.poll();
    assert!(!matches!(polled, Polled::Use { .. }), "no token was issued");
    assert_ne!(
        s.lc.in_flight(),
        Some(first),
        "the late request is given up"
    );
    let error =
        s.lc.last_error()
            .expect("the give-up is recorded")
            .to_string();
    assert!(error.contains("deadline"), "{error}");
}

// ---- One retry policy: a permanent failure stops automatic retries -------------------

#[test]
fn permanent_failures_are_not_retried_like_rejections() {
    let redirect = status_response(302, &[("location", "https://elsewhere.example/")], "");
    let html = http::Response::builder()
        .header("content-type", "text/html")
        .body(b"<html>captive portal</html>".to_vec())
        .unwrap();
    enum Failure {
        Response(http::Response<Vec<u8>>),
        Transport(TransportErrorKind),
    }
    let cases = [
        (
            "404 from a wrong base URL",
            Failure::Response(status_response(404, &[], "not found")),
        ),
        ("a refused redirect", Failure::Response(redirect)),
        ("a wrong content type", Failure::Response(html)),
        ("TLS", Failure::Transport(TransportErrorKind::Tls)),
        (
            "an over-size body",
            Failure::Transport(TransportErrorKind::BodyTooLarge),
        ),
    ];
    for (what, failure) in cases {
        let mut s = Scenario::new();
        let id = s.expect_send();
        let outcome = match failure {
            Failure::Response(r) => s.respond(id, r),
            Failure::Transport(kind) => {
                let now = s.now;
                s.lc.handle_transport_error(now, id, TransportError::new(kind, "x"))
            }
        };
        assert!(
            matches!(outcome, Outcome::Failed(e) if !e.is_transient()),
            "{what}: the error says it is permanent"
        );
        for minute in 0..120 {
            s.at(secs(minute * 60));
            assert_eq!(s.expect_fail(), (false, None), "{what}: no automatic retry");
        }
        assert_eq!(s.lc.next_wakeup(), None, "{what}");
        s.lc.reset();
        s.expect_send();
    }
}

#[test]
fn a_request_timeout_status_is_transient() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let _ = s.respond(id, status_response(408, &[], ""));
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    assert!(retry_at.is_some());
}

// ---- Retry-After is bounded; a date without `Date` uses the driver's wall clock --------

#[test]
fn absurd_retry_after_is_capped_but_reported() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let failed_at = s.now;
    let outcome = s.respond(
        id,
        status_response(429, &[("retry-after", "99999999999999999999")], ""),
    );
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        error.retry_after(),
        Some(secs(u64::MAX)),
        "what the server asked"
    );
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    assert_eq!(retry_at, Some(failed_at + secs(15 * 60)), "the default cap");
    s.at(secs(15 * 60));
    s.expect_send();
}

#[test]
fn retry_after_cap_is_configurable() {
    let mut s = Scenario::with(LifecycleConfig::default().with_max_retry_wait(secs(90)));
    let id = s.expect_send();
    let _ = s.respond(id, status_response(503, &[("retry-after", "3600")], ""));
    assert_eq!(s.expect_fail().1, Some(Timestamp::from_duration(secs(90))));
}

#[test]
fn retry_after_date_without_date_header_uses_the_wall_clock() {
    let mut s = Scenario::new();
    s.at(secs(10));
    let id = s.expect_send();
    // 45 s after the simulation's wall clock at the time of the answer.
    let when = httpdate::fmt_http_date(s.wall() + secs(45));
    let _ = s.respond(id, status_response(429, &[("retry-after", &when)], ""));
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    let retry_at = retry_at.unwrap();
    assert!(
        (secs(55)..=secs(56)).contains(&retry_at.as_duration()),
        "45 s from the answer at 10 s, plus up to 1 s of jitter: {retry_at:?}"
    );
    s.at(secs(55) - Duration::from_millis(1));
    s.expect_fail();
    s.now = retry_at;
    s.expect_send();
}

// ---- Zuora's own signals: `RateLimit-Reset` on a 429, or with nothing remaining ----------

/// Zuora's documented 429: the wait only in `RateLimit-Reset`, no `Retry-After`.
fn reset_only_429(reset: &str) -> http::Response<Vec<u8>> {
    status_response(
        429,
        &[
            ("content-type", "application/json"),
            ("ratelimit-limit", "100, 100;w=60"),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", reset),
        ],
        r#"{"message":"API rate limit exceeded"}"#,
    )
}

/// A token answer that also says how much of the quota is left and when it resets.
fn token_with_quota(
    token: &str,
    expires_in: u64,
    remaining: &str,
    reset: &str,
) -> http::Response<Vec<u8>> {
    let mut response = token_response(token, expires_in);
    let headers = response.headers_mut();
    headers.insert(
        "ratelimit-limit",
        http::HeaderValue::from_static("100, 100;w=60"),
    );
    headers.insert("ratelimit-remaining", remaining.parse().unwrap());
    headers.insert("ratelimit-reset", reset.parse().unwrap());
    response
}

/// The server's wait plus its jitter: up to 10 % of it, at least up to 1 s.
fn jittered(wait: Duration) -> std::ops::RangeInclusive<Duration> {
    wait..=wait + (wait / 10).max(secs(1))
}

#[test]
fn rate_limit_reset_on_a_429_is_never_undercut() {
    // With no token: every poll before the reset fails without a request.
    let mut s = Scenario::new();
    let id = s.expect_send();
    let outcome = s.respond(id, reset_only_429("30"));
    assert!(
        matches!(outcome, Outcome::Failed(Error::RateLimited(_))),
        "{outcome:?}"
    );
    let (transient, retry_at) = s.expect_fail();
    assert!(transient);
    let retry_at = retry_at.expect("retried automatically");
    assert!(
        jittered(secs(30)).contains(&retry_at.as_duration()),
        "{retry_at:?}"
    );
    assert_eq!(s.lc.next_wakeup(), Some(retry_at));
    let sent = s.time_of_next_send_after_a_wait();
    assert!(
        sent >= retry_at && sent.as_duration() >= secs(30),
        "sent at {sent:?}"
    );

    // With a token: the token keeps being handed out, and no refresh before the reset.
    let mut s = Scenario::new();
    let id = s.expect_send();
    let token = s.issue(id, 3599);
    s.at(secs(3599 - 290));
    let id = s.expect_send();
    let failed_at = s.now;
    let _ = s.respond(id, reset_only_429("30"));
    s.at(failed_at.as_duration() + secs(30) - Duration::from_millis(1));
    assert_eq!(s.expect_use().1, token);
    assert_eq!(s.lc.in_flight(), None);
    s.at(failed_at.as_duration());
    let sent = s.time_of_next_send_after_a_wait();
    assert!(
        jittered(secs(30)).contains(&sent.saturating_duration_since(failed_at)),
        "refreshed {:?} after the 429",
        sent.saturating_duration_since(failed_at)
    );
}

#[test]
fn a_token_answer_with_nothing_remaining_delays_the_next_request_until_the_reset() {
    // A short token: its refresh (halfway, 2.5 s) and its end of use (5 s) come before the
    // reset (20 s).
    let mut s = Scenario::new();
    let id = s.expect_send();
    let outcome = s.respond(id, token_with_quota("tok-short", 10, "0", "20"));
    assert!(matches!(outcome, Outcome::Token(_)), "{outcome:?}");
    s.at(Duration::from_millis(2_500));
    assert_eq!(
        s.expect_use().1,
        "tok-short",
        "refresh due, but not before the reset"
    );
    assert_eq!(s.lc.in_flight(), None);
    s.at(secs(6));
    let Action::Fail { error, retry_at } = s.lc.poll(s.now) else {
        panic!("no token left and no request before the reset")
    };
    let shown = error.to_string();
    assert!(error.is_transient(), "{shown}");
    assert!(
        shown.contains("20 s"),
        "the error names the server's wait: {shown}"
    );
    assert!(
        !shown.contains("in the last minute"),
        "not the lifecycle's own budget: {shown}"
    );
    assert!(
        jittered(secs(20)).contains(&retry_at.unwrap().as_duration()),
        "{retry_at:?}"
    );
    s.expect_send_after(secs(20));

    // A token the API then refuses: its replacement waits for the reset too.
    let mut s = Scenario::new();
    let generation = s.first_token(token_with_quota("tok-long", 3599, "0", "20"));
    s.at(secs(1));
    assert!(s.lc.invalidate(s.now, generation));
    assert!(matches!(
        s.poll(),
        Polled::Fail {
            transient: true,
            ..
        }
    ));
    s.expect_send_after(secs(20));

    // Something left: no wait.
    let mut s = Scenario::new();
    let generation = s.first_token(token_with_quota("tok-left", 3599, "1", "20"));
    assert!(s.lc.invalidate(s.now, generation));
    s.expect_send();
}

#[test]
fn retry_after_wins_over_rate_limit_reset() {
    for (retry_after, reset, waited) in [("5", "30", 5), ("30", "5", 30)] {
        let mut s = Scenario::new();
        let id = s.expect_send();
        let mut response = reset_only_429(reset);
        response
            .headers_mut()
            .insert("retry-after", retry_after.parse().unwrap());
        let _ = s.respond(id, response);
        let sent = s.time_of_next_send_after_a_wait();
        assert!(
            jittered(secs(waited)).contains(&sent.as_duration()),
            "Retry-After {retry_after}, RateLimit-Reset {reset}: sent at {sent:?}"
        );
    }
}

#[test]
fn rate_limit_reset_is_capped_but_reported() {
    let mut s = Scenario::with(LifecycleConfig::default().with_max_retry_wait(secs(90)));
    let id = s.expect_send();
    let _ = s.respond(id, reset_only_429("3600"));
    let (_, retry_at) = s.expect_fail();
    assert_eq!(
        retry_at,
        Some(Timestamp::from_duration(secs(90))),
        "the cap"
    );
    let shown = s.lc.last_error().unwrap().to_string();
    assert!(shown.contains("3600 s"), "what the server asked: {shown}");
    s.at(secs(90));
    s.expect_send();

    // The default cap: 15 minutes, for the server's wait as for `Retry-After`.
    let mut s = Scenario::new();
    let id = s.expect_send();
    let _ = s.respond(id, reset_only_429("99999999999999999999999"));
    assert_eq!(
        s.expect_fail().1,
        Some(Timestamp::from_duration(secs(15 * 60)))
    );
}

#[test]
fn the_servers_wait_is_jittered_across_seeds() {
    let mut waits = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let mut s = Scenario::seeded(LifecycleConfig::default(), seed);
        let id = s.expect_send();
        let _ = s.respond(id, reset_only_429("30"));
        let (_, retry_at) = s.expect_fail();
        let wait = retry_at.unwrap().as_duration();
        assert!(jittered(secs(30)).contains(&wait), "seed {seed}: {wait:?}");
        waits.insert(wait);
    }
    assert!(
        waits.len() > 190,
        "seeds give different waits: {}",
        waits.len()
    );
    let (first, last) = (*waits.first().unwrap(), *waits.last().unwrap());
    assert!(first < secs(30) + Duration::from_millis(300), "{first:?}");
    assert!(last > secs(33) - Duration::from_millis(300), "{last:?}");
    // The same seed, the same wait.
    let wait_of = |seed| {
        let mut s = Scenario::seeded(LifecycleConfig::default(), seed);
        let id = s.expect_send();
        let _ = s.respond(id, reset_only_429("30"));
        s.expect_fail().1
    };
    assert_eq!(wait_of(42), wait_of(42));
}

#[test]
fn a_new_secret_for_the_same_client_keeps_saying_why_zuora_holds_it_back() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let mut rejected = reset_only_429("30");
    *rejected.status_mut() = http::StatusCode::UNAUTHORIZED;
    let _ = s.respond(id, rejected);
    let _ = s.expect_fail();
    // A new secret: the rejection is over, Zuora's wait is not.
    s.lc.reconfigure(rotated());
    s.at(secs(1));
    let Action::Fail { error, retry_at } = s.lc.poll(s.now) else {
        panic!("no request before Zuora's wait ends")
    };
    assert!(
        matches!(error, Error::ServerWait(_)),
        "the rejection's wait says why, not the budget: {error}"
    );
    assert_eq!(error.server_wait(), Some(secs(30)));
    assert!(jittered(secs(30)).contains(&retry_at.unwrap().as_duration()));
}

#[test]
fn a_token_from_elsewhere_does_not_end_the_servers_wait() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let _ = s.respond(id, reset_only_429("30"));
    // Another process's token arrives, then the API refuses it.
    s.at(secs(1));
    let wall = s.wall();
    let adopted = s.lc.adopt(
        s.now,
        wall,
        &record("elsewhere", s.now, secs(0), secs(3599)),
    );
    let generation = adopted.expect("adopted").generation();
    assert!(s.lc.invalidate(s.now, generation));
    let Action::Fail { error, retry_at } = s.lc.poll(s.now) else {
        panic!("no request before the reset")
    };
    assert!(
        matches!(error, Error::ServerWait(_)),
        "the 429's wait says why: {error}"
    );
    assert_eq!(error.server_wait(), Some(secs(30)));
    let shown = error.to_string();
    assert!(
        shown.contains("(HTTP 429) said no token requests remain"),
        "{shown}"
    );
    assert!(
        shown.contains("retry after 30 s (RateLimit-Reset)"),
        "{shown}"
    );
    assert!(jittered(secs(30)).contains(&retry_at.unwrap().as_duration()));
    let sent = s.time_of_next_send_after_a_wait();
    assert!(sent.as_duration() >= secs(30), "{sent:?}");
}

#[test]
fn reset_forgets_the_servers_wait() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let _ = s.respond(id, reset_only_429("30"));
    s.expect_fail();
    s.lc.reset();
    s.expect_send();
}

// ---- A lost outcome never wedges the machine ----------------------------------------------

#[test]
fn request_without_outcome_times_out_at_its_deadline() {
    let mut s = Scenario::new();
    let lost = s.expect_send();
    assert_eq!(
        s.lc.next_wakeup(),
        Some(Timestamp::ZERO + DEFAULT_REQUEST_DEADLINE)
    );
    s.at(DEFAULT_REQUEST_DEADLINE - Duration::from_millis(1));
    assert_eq!(s.poll(), Polled::Wait);
    s.at(DEFAULT_REQUEST_DEADLINE);
    // Counted as a timed-out transport failure: transient, with a backoff (up to 1 s).
    let retry_at = match s.poll() {
        Polled::Fail {
            transient,
            retry_at,
        } => {
            assert!(transient);
            retry_at.unwrap()
        }
        Polled::Send(_) => s.now, // the full jitter drew zero
        other => panic!("{other:?}"),
    };
    let error = s.lc.last_error().expect("a failure is recorded");
    assert!(matches!(error, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout));
    assert!(retry_at <= s.now + secs(1));
    s.now = retry_at;
    let again = match s.poll() {
        Polled::Send(id) => id,
        _ if s.lc.in_flight().is_some() => s.lc.in_flight().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_ne!(again, lost);
    // A late answer to the lost request is ignored; the new one counts.
    assert!(matches!(
        s.respond(lost, token_response("late", 3599)),
        Outcome::Ignored
    ));
    let token = s.issue(again, 3599);
    assert_eq!(s.expect_use().1, token);
}

#[test]
fn refresh_without_outcome_keeps_the_token_and_tries_again() {
    let mut s = Scenario::with(LifecycleConfig::default().with_request_deadline(secs(10)));
    let id = s.expect_send();
    let token = s.issue(id, 3599);
    s.at(secs(3300));
    s.expect_send();
    s.at(secs(3310));
    assert_eq!(s.expect_use().1, token, "the current token stays in use");
    assert!(s.lc.in_flight().is_none());
    let next = s.time_of_next_send(Duration::from_millis(100), secs(5));
    assert!(next <= Timestamp::from_duration(secs(3311)));
}

// ---- Minimum remaining lifetime -------------------------------------------------------

#[test]
fn token_is_not_handed_out_in_its_last_30_seconds() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let token = s.issue(id, 3599);
    assert_eq!(
        s.lc.current.as_ref().unwrap().usable_until(),
        Timestamp::from_duration(secs(3569))
    );
    // Every refresh fails.
    s.at(secs(3300));
    let id = s.expect_send();
    let _ = s.respond(id, status_response(503, &[("retry-after", "600")], ""));
    s.at(secs(3569) - Duration::from_millis(1));
    assert_eq!(s.expect_use().1, token);
    s.at(secs(3569));
    assert!(s.lc.token(s.now).is_none());
    s.expect_fail();
}

#[test]
fn short_tokens_keep_at_most_half_their_life_in_reserve() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    s.issue(id, 40);
    let c = s.lc.current.as_ref().unwrap();
    assert_eq!(c.usable_until(), Timestamp::from_duration(secs(20)));
    assert_eq!(c.refresh_at(), Timestamp::from_duration(secs(10)));
    let mut s = Scenario::with(LifecycleConfig::default().with_min_remaining(secs(5)));
    let id = s.expect_send();
    s.issue(id, 40);
    let c = s.lc.current.as_ref().unwrap();
    assert_eq!(c.usable_until(), Timestamp::from_duration(secs(35)));
}

#[test]
fn adopted_record_under_the_minimum_lifetime_is_refused() {
    let mut s = Scenario::new();
    let wall = s.wall();
    let nearly_gone = record("old", s.now, secs(3599 - 30), secs(3599));
    assert!(s.lc.adopt(s.now, wall, &nearly_gone).is_none());
    let enough = record("ok", s.now, secs(3599 - 31), secs(3599));
    assert!(s.lc.adopt(s.now, wall, &enough).is_some());
}

// ---- Long lifetimes are accepted and clamped ------------------------------------------

#[test]
fn ten_day_token_is_accepted_and_cached_for_a_day() {
    let mut s = Scenario::new();
    let id = s.expect_send();
    let token = s.issue(id, 864_000);
    let c = s.lc.current.as_ref().unwrap();
    assert_eq!(c.token().expires_in(), secs(864_000), "as the server said");
    assert_eq!(c.expires_at(), Timestamp::from_duration(secs(86_400)));
    assert_eq!(
        c.record().expires_at(),
        wall_at(Timestamp::ZERO) + secs(86_400)
    );
    s.at(secs(80_000));
    assert_eq!(s.expect_use().1, token);
    s.at(secs(86_400 - 300));
    s.expect_send();
}

// ---- The token record -----------------------------------------------------------------

#[test]
fn record_times_come_from_the_date_header_or_the_send_time() {
    // No `Date`: the wall clock when the request was sent (the answer came 2 s later).
    let mut s = Scenario::new();
    s.at(secs(100));
    let id = s.expect_send();
    s.at(secs(102));
    s.issue(id, 3599);
    let record = s.lc.current.as_ref().unwrap().record();
    assert_eq!(
        record.issued_at(),
        wall_at(Timestamp::from_duration(secs(100)))
    );
    assert_eq!(record.expires_at(), record.issued_at() + secs(3599));

    // With `Date`: Zuora's time.
    let mut s = Scenario::new();
    let id = s.expect_send();
    let date = "Wed, 03 Dec 2025 08:00:00 GMT";
    let response = http::Response::builder()
        .header("content-type", "application/json")
        .header("date", date)
        .body(
            br#"{"access_token":"t1","expires_in":3599,"token_type":"bearer","jti":"j1"}"#.to_vec(),
        )
        .unwrap();
    assert!(matches!(s.respond(id, response), Outcome::Token(_)));
    let record = s.lc.current.as_ref().unwrap().record();
    assert_eq!(record.issued_at(), httpdate::parse_http_date(date).unwrap());
    assert_eq!(record.jti(), Some("j1"));
}

#[test]
fn record_adopted_by_another_lifecycle_keeps_its_expiry() {
    let mut a = Scenario::new();
    let id = a.expect_send();
    a.issue(id, 3599);
    let record = a.lc.current.as_ref().unwrap().record();
    let json = serde_json::to_string(&record).unwrap();
    let back: TokenRecord = serde_json::from_str(&json).unwrap();
    // Another process, 1000 s later on the wall clock, with its own monotonic origin.
    let mut b = Scenario::seeded(LifecycleConfig::default(), 99);
    let wall = wall_at(Timestamp::from_duration(secs(1000)));
    let adopted = b.lc.adopt(Timestamp::ZERO, wall, &back).unwrap();
    assert_eq!(adopted.expires_at(), Timestamp::from_duration(secs(2599)));
    assert_eq!(adopted.record().expires_at(), record.expires_at());
    assert_eq!(b.expect_use().1, "tok00000000000000000000000000001");
}

#[test]
fn adopted_short_token_refreshes_halfway_through_its_life_since_issue() {
    // A 250 s token (usable until 30 s before expiry: 220 s of use) issued 120 s ago: its
    // halfway point (110 s after issue) has passed, so a refresh is due at once.
    let mut s = Scenario::new();
    let old = record("adopted", s.now, secs(120), secs(250));
    let wall = s.wall();
    let c = s.lc.adopt(s.now, wall, &old).unwrap();
    assert_eq!(c.refresh_at(), s.now);
    assert!(matches!(s.poll(), Polled::Send(_)));
    // The same token issued 10 s ago: refresh 100 s from now.
    let mut s = Scenario::new();
    let young = record("adopted", s.now, secs(10), secs(250));
    let wall = s.wall();
    let c = s.lc.adopt(s.now, wall, &young).unwrap();
    assert_eq!(c.refresh_at(), Timestamp::from_duration(secs(100)));
}
