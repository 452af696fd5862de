//! One retry policy: `Error::is_transient` decides, and the lifecycle follows it. A table
//! over every error kind and every status class.

mod common;

use std::time::{Duration, SystemTime};

use common::{SUCCESS_BODY, json, request, response};
use zuora_oauth_core::{
    Action, Error, LifecycleConfig, Outcome, Timestamp, TokenLifecycle, TransportError,
    TransportErrorKind,
};

/// What the lifecycle does after one failure, with no token: `Some(retry_at)` when it
/// schedules another attempt by itself, `None` when it stops.
enum Failure {
    Response(http::Response<Vec<u8>>),
    Transport(TransportErrorKind),
}

fn lifecycle_after(failure: Failure) -> (Error, Option<Timestamp>) {
    let mut lc = TokenLifecycle::new(request(), LifecycleConfig::default(), 1);
    let now = Timestamp::ZERO;
    let Action::Send(out) = lc.poll(now) else {
        panic!("a first poll sends")
    };
    let id = out.id();
    let outcome = match failure {
        Failure::Response(r) => lc.handle_response(now, SystemTime::UNIX_EPOCH, id, &r),
        Failure::Transport(kind) => {
            lc.handle_transport_error(now, id, TransportError::new(kind, "detail"))
        }
    };
    let Outcome::Failed(error) = outcome else {
        panic!("{outcome:?}")
    };
    let error = error.clone();
    match lc.poll(now) {
        Action::Fail { retry_at, .. } => (error, retry_at),
        // Full jitter may schedule the retry for right now.
        Action::Send(_) => (error, Some(now)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_status_class_follows_one_policy() {
    let html = "<html><body>gateway</body></html>";
    // (status, body, content type, transient)
    let mut cases: Vec<(u16, &str, &str, bool)> = vec![
        // 2xx that is not a token: wrong content type, empty, malformed, missing field.
        (200, html, "text/html", false),
        (200, "", "application/json", false),
        (200, "{not json", "application/json", false),
        (
            200,
            r#"{"expires_in":3599,"token_type":"bearer"}"#,
            "application/json",
            false,
        ),
        (
            200,
            r#"{"access_token":"t","expires_in":3599,"token_type":"mac"}"#,
            "application/json",
            false,
        ),
        (204, "", "application/json", false),
    ];
    for status in [301, 302, 303, 307, 308] {
        cases.push((status, "", "text/html", false));
    }
    for status in [400, 401, 403] {
        cases.push((
            status,
            r#"{"error":"invalid_client"}"#,
            "application/json",
            false,
        ));
    }
    for status in [404, 405, 410, 415, 418, 422] {
        cases.push((status, html, "text/html", false));
    }
    for status in [408, 425, 429] {
        cases.push((status, "", "application/json", true));
    }
    for status in [500, 501, 502, 503, 504, 599] {
        cases.push((status, html, "text/html", true));
    }
    for (status, body, content_type, transient) in cases {
        let r = response(status, &[("content-type", content_type)], body);
        let (error, retry_at) = lifecycle_after(Failure::Response(r));
        assert_eq!(
            error.is_transient(),
            transient,
            "{status} {body:?}: {error}"
        );
        assert_eq!(
            retry_at.is_some(),
            transient,
            "{status} {body:?}: the lifecycle retries exactly the transient failures"
        );
    }
}

#[test]
fn every_transport_kind_follows_one_policy() {
    use TransportErrorKind as K;
    let cases = [
        (K::Connect, true),
        (K::Dns, true),
        (K::Timeout, true),
        (K::Reset, true),
        (K::NetworkOrCors, true),
        (K::Other, true),
        (K::Tls, false),
        (K::BodyTooLarge, false),
    ];
    for (kind, transient) in cases {
        assert_eq!(kind.is_transient(), transient, "{kind:?}");
        let (error, retry_at) = lifecycle_after(Failure::Transport(kind));
        assert_eq!(error.is_transient(), transient, "{kind:?}");
        assert_eq!(retry_at.is_some(), transient, "{kind:?}");
    }
}

#[test]
fn the_budget_guard_is_transient() {
    let mut lc = TokenLifecycle::new(
        request(),
        LifecycleConfig::default().with_max_requests_per_minute(1),
        1,
    );
    let Action::Send(out) = lc.poll(Timestamp::ZERO) else {
        panic!()
    };
    lc.cancel(out.id());
    match lc.poll(Timestamp::ZERO) {
        Action::Fail { error, retry_at } => {
            assert!(matches!(error, Error::BudgetExhausted { .. }));
            assert!(error.is_transient());
            assert_eq!(retry_at, Some(Timestamp::ZERO + Duration::from_secs(60)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_permanent_failure_is_reprobed_only_when_configured() {
    let config = LifecycleConfig::default().with_permanent_reprobe(Some(Duration::from_secs(900)));
    let mut lc = TokenLifecycle::new(request(), config, 1);
    let t0 = Timestamp::ZERO;
    let Action::Send(out) = lc.poll(t0) else {
        panic!()
    };
    let wrong_base = response(404, &[("content-type", "text/html")], "<html>404</html>");
    let _ = lc.handle_response(t0, SystemTime::UNIX_EPOCH, out.id(), &wrong_base);
    assert!(
        matches!(lc.poll(t0), Action::Fail { retry_at: Some(t), .. } if t == t0 + Duration::from_secs(900))
    );
    let later = t0 + Duration::from_secs(900);
    let Action::Send(out) = lc.poll(later) else {
        panic!("the slow re-probe")
    };
    let _ = lc.handle_response(
        later,
        SystemTime::UNIX_EPOCH,
        out.id(),
        &json(200, SUCCESS_BODY),
    );
    assert!(matches!(lc.poll(later), Action::Use(_)));
}
