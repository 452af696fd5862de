//! The integration matrix: every scenario runs through every transport against the mock
//! Zuora server on 127.0.0.1.

mod common;

use std::time::Duration;

use common::{Driver, Setup, chain, closed_port, eventually, get_protected, secret};
use zuora_oauth_core::{EntityId, Error, Problem, TrackId, TransportErrorKind};
use zuora_oauth_testkit::{Fault, MockServer, RetryAfter};

matrix!(
    success_with_track_id_and_entity_id,
    rejections_of_every_shape_are_permanent,
    wrong_secret_is_rejected,
    rate_limited_then_success_after_retry_after,
    rate_limited_by_rate_limit_reset_waits_for_the_reset,
    a_token_with_nothing_remaining_delays_the_next_request,
    server_error_html_then_recovery,
    malformed_and_empty_json,
    refresh_ahead_hands_out_old_token_during_one_refresh,
    expired_token_is_replaced_not_served,
    invalidate_after_api_401_refreshes_once,
    slow_server_times_out_then_recovers,
    oversized_body_fails_cleanly,
    redirect_is_not_followed,
    connection_refused,
    storm_at_startup_and_at_expiry_makes_one_request_each,
);

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn server() -> MockServer {
    MockServer::builder().start().expect("mock server starts")
}

fn success_with_track_id_and_entity_id<D: Driver>() {
    let server = server();
    let entity = "11e643f4-a3ee-8bad-b061-0025904c756d";
    let mut setup = Setup::new(&server);
    setup.request = setup
        .request
        .with_track_id(TrackId::new("matrix run 1").unwrap())
        .with_entity_id(EntityId::new("11E643F4A3EE8BADB0610025904C756D").unwrap());
    let source = D::build(&setup);

    let token = source.token().unwrap();
    assert_eq!(token.token_type().to_ascii_lowercase(), "bearer");
    assert_eq!(token.expires_in(), SECS(3599));
    assert_eq!(token.meta().track_id(), Some("matrix run 1"));
    assert_eq!(token.meta().request_id().map(str::len), Some(36));
    assert!(
        token.scope().entity_ids().any(|e| e == entity),
        "{:?}",
        token.scope()
    );
    assert!(
        server
            .issued_tokens()
            .iter()
            .any(|t| t.access_token == secret(&token))
    );

    let recorded = server.requests();
    assert_eq!(recorded.len(), 1, "{}", D::NAME);
    let r = &recorded[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/oauth/token")
    );
    assert_eq!(r.header("zuora-track-id"), Some("matrix run 1"));
    assert_eq!(r.header("zuora-entity-ids"), Some(entity));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.form_value("grant_type"), Some("client_credentials"));

    // The token works on the API, with the entity header.
    let mut call = http::Request::get(server.protected_url()).body(()).unwrap();
    let generation = source.authorize(&mut call).unwrap();
    assert_eq!(generation, token.generation());
    assert_eq!(call.headers()["zuora-entity-ids"], entity);
    assert_eq!(
        get_protected(&server, call.headers().get("authorization")),
        200
    );
    // Later calls are served from the cache.
    for _ in 0..100 {
        assert_eq!(secret(&source.token().unwrap()), secret(&token));
    }
    assert_eq!(server.token_request_count(), 1);
}

fn rejections_of_every_shape_are_permanent<D: Driver>() {
    let cases = [
        (
            Fault::oauth_error(401, "invalid_client", "Bad client credentials"),
            401,
            Some("invalid_client"),
            Some("Bad client credentials"),
        ),
        (
            Fault::oauth_error(400, "invalid_request", "Missing grant_type"),
            400,
            Some("invalid_request"),
            Some("Missing grant_type"),
        ),
        (
            Fault::message_error(403, "Authentication error"),
            403,
            None,
            Some("Authentication error"),
        ),
        (
            Fault::reasons_error(401, 90_000_011, "Invalid credentials"),
            401,
            Some("90000011"),
            Some("Invalid credentials"),
        ),
    ];
    for (fault, status, code, description) in cases {
        let server = server();
        let setup = Setup::new(&server);
        let source = D::build(&setup);
        server.push_fault(fault);
        let err = source.token().unwrap_err();
        let Some(Error::Rejected(response)) = err.error() else {
            panic!("{}: {err:?}", D::NAME)
        };
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.detail().code(), code);
        assert_eq!(response.detail().description(), description);
        assert_eq!(err.retry_in(), None, "a rejection is not retried");
        // The status is in the error's chain (its cause), for whoever prints it whole.
        assert!(chain(&err).contains(&status.to_string()), "{}", chain(&err));
        // No retry storm, whatever the time.
        for hours in [1, 2, 24] {
            setup.clock.set(SECS(hours * 3600));
            assert!(matches!(
                source.token().unwrap_err().error(),
                Some(Error::Rejected(_))
            ));
        }
        assert_eq!(
            server.token_request_count(),
            1,
            "{}: retried a rejection",
            D::NAME
        );
    }
}

fn wrong_secret_is_rejected<D: Driver>() {
    let server = server();
    let setup = Setup::for_client(
        &server.base_url(),
        zuora_oauth_testkit::DEMO_CLIENT_ID,
        "not/the+right=secret",
    );
    let err = D::build(&setup).token().unwrap_err();
    assert!(
        matches!(err.error(), Some(Error::Rejected(r)) if r.status() == 401),
        "{err:?}"
    );
    let shown = format!("{} {err:?}", chain(&err));
    assert!(!shown.contains("not/the+right=secret"), "{shown}");
    assert!(!shown.contains("not%2Fthe%2Bright%3Dsecret"), "{shown}");
}

fn rate_limited_then_success_after_retry_after<D: Driver>() {
    let server = server();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    server.push_fault(Fault::rate_limited(RetryAfter::Seconds(5)));
    let err = source.token().unwrap_err();
    assert!(
        matches!(err.error(), Some(Error::RateLimited(_))),
        "{err:?}"
    );
    assert_eq!(err.error().unwrap().retry_after(), Some(SECS(5)));
    // Retry-After, plus up to 1 s of jitter.
    let retry_in = err.retry_in().unwrap();
    assert!(retry_in >= SECS(5) && retry_in <= SECS(6), "{retry_in:?}");
    // Asking early sends nothing.
    setup.clock.set(Duration::from_millis(4_999));
    assert!(source.token().is_err());
    assert_eq!(
        server.token_request_count(),
        1,
        "{}: retried before Retry-After",
        D::NAME
    );
    setup.clock.set(retry_in);
    source.token().unwrap();
    assert_eq!(server.token_request_count(), 2);
}

/// Zuora's documented 429 (the wait only in `RateLimit-Reset`): no second token request
/// before the reset.
fn rate_limited_by_rate_limit_reset_waits_for_the_reset<D: Driver>() {
    let server = server();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    server.push_fault(Fault::rate_limit_reset(30));
    let err = source.token().unwrap_err();
    assert!(
        matches!(err.error(), Some(Error::RateLimited(_))),
        "{err:?}"
    );
    let retry_in = err.retry_in().unwrap();
    assert!(
        retry_in >= SECS(30) && retry_in <= SECS(33),
        "{}: retry in {retry_in:?}",
        D::NAME
    );
    // Asking before the reset sends nothing.
    for ms in [0, 400, 1_000, 10_000, 29_999] {
        setup.clock.set(Duration::from_millis(ms));
        assert!(source.token().is_err(), "{}", D::NAME);
    }
    assert_eq!(
        server.token_request_count(),
        1,
        "{}: retried before RateLimit-Reset",
        D::NAME
    );
    setup.clock.set(retry_in);
    source.token().unwrap();
    assert_eq!(server.token_request_count(), 2);
}

/// A token whose answer says the quota is spent (`RateLimit-Remaining: 0`): the API
/// refuses it at once, and its replacement waits for the reset.
fn a_token_with_nothing_remaining_delays_the_next_request<D: Driver>() {
    let server = server();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    server.push_fault(Fault::TokenFields(
        zuora_oauth_testkit::TokenFields::default()
            .with_header("RateLimit-Remaining", "0")
            .with_header("RateLimit-Reset", "20"),
    ));
    let token = source.token().unwrap();
    assert_eq!(token.meta().rate_limits().remaining, Some(0));
    setup.clock.set(SECS(1));
    assert!(source.invalidate(token.generation()));
    let err = source.token().unwrap_err();
    assert!(
        matches!(err.error(), Some(Error::ServerWait(_))),
        "{}: {err:?}",
        D::NAME
    );
    assert!(err.is_transient(), "{}: {err:?}", D::NAME);
    assert_eq!(err.error().unwrap().server_wait(), Some(SECS(20)));
    assert!(chain(&err).contains("20 s"), "{}: {}", D::NAME, chain(&err));
    let retry_in = err.retry_in().unwrap();
    assert!(
        retry_in >= SECS(19) && retry_in <= SECS(22),
        "{}: retry in {retry_in:?}",
        D::NAME
    );
    setup.clock.set(Duration::from_millis(19_999));
    assert!(source.token().is_err(), "{}", D::NAME);
    assert_eq!(
        server.token_request_count(),
        1,
        "{}: a token request before RateLimit-Reset",
        D::NAME
    );
    setup.clock.set(SECS(1) + retry_in);
    assert_ne!(secret(&source.token().unwrap()), secret(&token));
    assert_eq!(server.token_request_count(), 2);
}

fn server_error_html_then_recovery<D: Driver>() {
    let server = server();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    server.push_fault(Fault::html_error(502));
    let err = source.token().unwrap_err();
    let Some(Error::Server(response)) = err.error() else {
        panic!("{err:?}")
    };
    assert_eq!(response.status().as_u16(), 502);
    assert!(response.body_excerpt().contains("Bad Gateway"));
    assert!(err.is_transient());
    let retry_in = err.retry_in().expect("a transient failure is retried");
    assert!(
        retry_in <= SECS(1),
        "first backoff is at most the 1 s base: {retry_in:?}"
    );
    setup.clock.advance(retry_in);
    source.token().unwrap();
    assert_eq!(server.token_request_count(), 2);
}

fn malformed_and_empty_json<D: Driver>() {
    for (fault, expected) in [
        (Fault::MalformedJson, "malformed"),
        (
            Fault::respond(200, [("content-type", "application/json")], ""),
            "empty",
        ),
    ] {
        let server = server();
        let source = D::build(&Setup::new(&server));
        server.push_fault(fault);
        let err = source.token().unwrap_err();
        match (err.error(), expected) {
            (
                Some(Error::UnexpectedResponse {
                    problem: Problem::MalformedJson { .. },
                    ..
                }),
                "malformed",
            )
            | (
                Some(Error::UnexpectedResponse {
                    problem: Problem::EmptyBody,
                    ..
                }),
                "empty",
            ) => {}
            other => panic!("{}: {expected}: {other:?}", D::NAME),
        }
    }
}

fn refresh_ahead_hands_out_old_token_during_one_refresh<D: Driver>() {
    let server = server();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    let first_token = source.token().unwrap();
    let first = secret(&first_token);
    // Inside the 300 s window (plus up to 10 % jitter), but before expiry.
    setup.clock.set(SECS(3599 - 250));
    // Slow down the refresh so that callers meet it in flight.
    server.push_fault(Fault::delay_headers(Duration::from_millis(300)));
    for _ in 0..20 {
        assert_eq!(secret(&source.token().unwrap()), first, "{}", D::NAME);
    }
    assert!(eventually(SECS(10), || server.token_request_count() == 2));
    assert!(eventually(SECS(10), || source
        .current()
        .is_some_and(|g| g != first_token.generation())));
    let second = secret(&source.token().unwrap());
    assert_ne!(first, second);
    assert_eq!(
        server.token_request_count(),
        2,
        "{}: exactly one refresh",
        D::NAME
    );
}

fn expired_token_is_replaced_not_served<D: Driver>() {
    let server = server();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    let first = secret(&source.token().unwrap());
    // The refresh fails, and the token expires meanwhile.
    server.push_fault(Fault::html_error(503));
    setup.clock.set(SECS(3599 - 200));
    assert_eq!(secret(&source.token().unwrap()), first);
    assert!(eventually(SECS(10), || server.token_request_count() == 2
        && source.idle()));
    setup.clock.set(SECS(3599));
    let next = source.token().unwrap();
    assert_ne!(
        secret(&next),
        first,
        "{}: an expired token was served",
        D::NAME
    );
    assert_eq!(server.token_request_count(), 3);
}

fn invalidate_after_api_401_refreshes_once<D: Driver>() {
    let server = server();
    let source = D::build(&Setup::new(&server));
    let mut call = http::Request::get(server.protected_url()).body(()).unwrap();
    let generation = source.authorize(&mut call).unwrap();
    assert_eq!(
        get_protected(&server, call.headers().get("authorization")),
        200
    );
    server.revoke_all_tokens();
    assert_eq!(
        get_protected(&server, call.headers().get("authorization")),
        401
    );
    // Many callers report the same token; one of them first.
    assert!(source.invalidate(generation));
    for _ in 0..50 {
        assert!(!source.invalidate(generation));
    }
    let mut retry = http::Request::get(server.protected_url()).body(()).unwrap();
    let new_generation = source.authorize(&mut retry).unwrap();
    assert!(new_generation > generation);
    assert_eq!(
        get_protected(&server, retry.headers().get("authorization")),
        200
    );
    assert!(
        !source.invalidate(generation),
        "a report about an older token is ignored"
    );
    assert_eq!(server.token_request_count(), 2, "{}", D::NAME);
}

fn slow_server_times_out_then_recovers<D: Driver>() {
    let server = server();
    let mut setup = Setup::new(&server);
    setup.timeout = Duration::from_millis(300);
    let source = D::build(&setup);
    server.push_fault(Fault::delay_headers(SECS(3)));
    let started = std::time::Instant::now();
    let err = source.token().unwrap_err();
    assert!(
        matches!(err.error(), Some(Error::Transport(t)) if t.kind() == TransportErrorKind::Timeout),
        "{}: {err:?}",
        D::NAME
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    setup.clock.advance(err.retry_in().unwrap());
    source.token().unwrap();
}

fn oversized_body_fails_cleanly<D: Driver>() {
    let server = server();
    let source = D::build(&Setup::new(&server));
    server.push_fault(Fault::oversized_body(1024 * 1024));
    let err = source.token().unwrap_err();
    assert!(
        matches!(err.error(), Some(Error::Transport(t)) if t.kind() == TransportErrorKind::BodyTooLarge),
        "{}: {err:?}",
        D::NAME
    );
}

fn redirect_is_not_followed<D: Driver>() {
    let server = server();
    let source = D::build(&Setup::new(&server));
    server.push_fault(Fault::redirect());
    let err = source.token().unwrap_err();
    match err.error() {
        Some(Error::UnexpectedResponse {
            problem: Problem::Redirect { location },
            response,
        }) => {
            assert_eq!(response.status().as_u16(), 302);
            assert_eq!(
                location.as_deref(),
                Some(zuora_oauth_testkit::DEFAULT_REDIRECT_LOCATION)
            );
        }
        other => panic!("{}: {other:?}", D::NAME),
    }
    assert_eq!(server.token_request_count(), 1);
}

fn connection_refused<D: Driver>() {
    let setup = Setup::for_client(
        &format!("http://127.0.0.1:{}", closed_port()),
        zuora_oauth_testkit::DEMO_CLIENT_ID,
        zuora_oauth_testkit::DEMO_CLIENT_SECRET,
    );
    let err = D::build(&setup).token().unwrap_err();
    assert!(
        matches!(err.error(), Some(Error::Transport(t)) if t.kind() == TransportErrorKind::Connect),
        "{}: {err:?}",
        D::NAME
    );
    assert!(err.is_transient());
}

fn storm_at_startup_and_at_expiry_makes_one_request_each<D: Driver>() {
    let server = server();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    // Slow answers make sure every caller arrives while the request is in flight.
    server.push_fault(Fault::delay_headers(Duration::from_millis(200)));
    let results = source.storm();
    assert_eq!(results.len(), D::STORM);
    let first = secret(results[0].as_ref().unwrap());
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|t| secret(t) == first))
    );
    assert_eq!(
        server.token_request_count(),
        1,
        "{}: startup storm",
        D::NAME
    );

    setup.clock.set(SECS(3600));
    server.push_fault(Fault::delay_headers(Duration::from_millis(200)));
    let results = source.storm();
    let second = secret(results[0].as_ref().unwrap());
    assert_ne!(first, second);
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|t| secret(t) == second))
    );
    assert_eq!(server.token_request_count(), 2, "{}: expiry storm", D::NAME);
}
