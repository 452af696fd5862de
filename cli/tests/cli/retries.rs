//! `--retries` and `--max-wait`: transient failures are retried with the core's backoff,
//! never before `Retry-After`; rejections never; the exit code is the last failure's.
//!
//! Timing is checked with lower bounds only, from the server's own arrival times.

use std::time::{Duration, Instant};

use serde_json::json;
use zuora_oauth_testkit::{Fault, MockServer, RetryAfter};

use crate::helpers::{Cli, Outcome};

fn retrying(server: &MockServer, retries: u32) -> Outcome {
    Cli::new()
        .against(server)
        .args(["--retries", &retries.to_string()])
        .run()
}

/// Time between the arrival of request `a` and of request `b`.
fn gap(server: &MockServer, a: usize, b: usize) -> Duration {
    let requests = server.requests();
    requests[b]
        .received_at
        .duration_since(requests[a].received_at)
        .unwrap_or_default()
}

#[test]
fn transient_server_errors_are_retried_until_success() {
    let server = crate::helpers::server();
    server.push_faults([Fault::empty(503), Fault::html_error(502)]);
    let outcome = retrying(&server, 2);
    assert_eq!(outcome.token(), server.issued_tokens()[0].access_token);
    assert_eq!(server.token_request_count(), 3);
}

#[test]
fn connection_failures_and_timeouts_are_retried() {
    let server = crate::helpers::server();
    server.push_faults([
        Fault::ResetConnection,
        Fault::delay_headers(Duration::from_secs(30)),
    ]);
    // The timeout is generous so that the last, normal attempt fits in it on a busy machine.
    let outcome = Cli::new()
        .against(&server)
        .args(["--retries", "2", "--timeout", "2"])
        .run();
    outcome.token();
    assert_eq!(server.token_request_count(), 3);
}

#[test]
fn rejections_are_never_retried() {
    let server = crate::helpers::server();
    for (fault, status) in [
        (Fault::oauth_error(400, "invalid_request", "bad"), 400),
        (
            Fault::oauth_error(401, "invalid_client", "Bad client credentials"),
            401,
        ),
        (Fault::message_error(403, "Forbidden"), 403),
    ] {
        server.reset();
        server.push_fault(fault);
        let outcome = retrying(&server, 3);
        assert!(outcome.failure(3).contains(&status.to_string()));
        assert_eq!(server.token_request_count(), 1, "{status} was retried");
    }
}

#[test]
fn unexpected_responses_are_not_retried() {
    let server = crate::helpers::server();
    server.push_fault(Fault::MalformedJson);
    retrying(&server, 3).failure(5);
    assert_eq!(server.token_request_count(), 1);
}

/// One token request answered with `fault`, which says to wait 2 s, then a token: the
/// command (one retry allowed) sends the second request no sooner.
fn retries_after_two_seconds(fault: Fault) {
    let server = crate::helpers::server();
    server.push_fault(fault);
    retrying(&server, 1).token();
    assert_eq!(server.token_request_count(), 2);
    let waited = gap(&server, 0, 1);
    assert!(
        waited >= Duration::from_millis(1950),
        "retried after {waited:?}"
    );
}

#[test]
fn retry_waits_for_retry_after_in_seconds() {
    retries_after_two_seconds(Fault::rate_limited(RetryAfter::Seconds(2)));
}

#[test]
fn retry_waits_for_retry_after_as_a_date() {
    retries_after_two_seconds(Fault::rate_limited(RetryAfter::HttpDateIn(2)));
}

#[test]
fn retry_after_on_a_server_error_is_honoured_too() {
    retries_after_two_seconds(Fault::respond(
        503,
        [("Content-Type", "application/json"), ("Retry-After", "2")],
        json!({"message": "maintenance"}).to_string(),
    ));
}

#[test]
fn gives_up_at_once_when_retry_after_exceeds_max_wait() {
    let server = crate::helpers::server();
    server.push_fault(Fault::rate_limited(RetryAfter::Seconds(40)));
    let started = Instant::now();
    let outcome = Cli::new()
        .against(&server)
        .args(["--retries", "3", "--max-wait", "10"])
        .run();
    let took = started.elapsed();
    let line = outcome.failure(4);
    assert!(line.contains("--max-wait"), "{line}");
    assert!(line.contains("40"), "{line}");
    assert_eq!(server.token_request_count(), 1);
    // At once: not after waiting --max-wait (10 s), nor what the server asked (40 s). The
    // bound leaves a loaded machine seconds to start the program.
    assert!(took < Duration::from_secs(6), "gave up after {took:?}");
}

/// Zuora documents its 429s with `RateLimit-Reset`, not `Retry-After`: `--max-wait`
/// applies to that wait too.
#[test]
fn gives_up_at_once_when_rate_limit_reset_exceeds_max_wait() {
    let server = crate::helpers::server();
    server.push_fault(Fault::rate_limit_reset(40));
    let started = Instant::now();
    let outcome = Cli::new()
        .against(&server)
        .args(["--retries", "3", "--max-wait", "10"])
        .run();
    let took = started.elapsed();
    let line = outcome.failure(4);
    assert!(line.contains("--max-wait 10"), "{line}");
    assert!(line.contains("wait 40 s"), "the wait is named: {line}");
    assert_eq!(server.token_request_count(), 1, "{line}");
    assert!(took < Duration::from_secs(6), "gave up after {took:?}");
}

#[test]
fn retry_waits_for_rate_limit_reset() {
    let server = crate::helpers::server();
    server.push_fault(Fault::rate_limit_reset(2));
    retrying(&server, 1).token();
    assert_eq!(server.token_request_count(), 2);
    let waited = gap(&server, 0, 1);
    assert!(
        waited >= Duration::from_millis(1950),
        "retried after {waited:?}"
    );
}

#[test]
fn default_max_wait_is_60_seconds() {
    let server = crate::helpers::server();
    server.push_fault(Fault::rate_limited(RetryAfter::Seconds(61)));
    let line = retrying(&server, 1).failure(4).to_owned();
    assert!(line.contains("--max-wait 60"), "{line}");
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn the_exit_code_is_that_of_the_last_failure() {
    let server = crate::helpers::server();
    server.push_faults([
        Fault::empty(503),
        Fault::rate_limited(RetryAfter::Seconds(0)),
    ]);
    let outcome = retrying(&server, 1);
    let line = outcome.failure(4);
    assert!(line.contains("gave up after 2 attempts"), "{line}");
    assert_eq!(server.token_request_count(), 2);

    server.reset();
    server.push_faults([
        Fault::rate_limited(RetryAfter::Seconds(0)),
        Fault::ResetConnection,
    ]);
    retrying(&server, 1).failure(6);

    server.reset();
    server.push_faults([Fault::ResetConnection, Fault::empty(500)]);
    retrying(&server, 1).failure(5);
    assert_eq!(server.token_request_count(), 2);
}

#[test]
fn stops_after_the_retries_asked_for() {
    let server = crate::helpers::server();
    server.push_faults([Fault::empty(503), Fault::empty(503), Fault::empty(503)]);
    let outcome = retrying(&server, 2);
    assert!(outcome.failure(5).contains("gave up after 3 attempts"));
    assert_eq!(server.token_request_count(), 3);
    assert_eq!(server.pending_faults().len(), 0);
}

#[test]
fn no_retries_by_default() {
    let server = crate::helpers::server();
    server.push_fault(Fault::empty(503));
    Cli::new().against(&server).run().failure(5);
    assert_eq!(server.token_request_count(), 1);
}
