//! The fault matrix in wasm: every fault the mock server can script, through the global
//! `fetch`, ends in the right typed error, the source recovers afterwards, and no `Debug`
//! or `Display` of what was seen holds the client secret or an issued token. Runs in Node,
//! headless Chromium and a dedicated worker like the other wasm tests (see
//! `mock_server.rs` for how the mock server's URL gets here).
#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use common::clock::ManualClock;
use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use zuora_oauth_core::{Error, Problem, TransportErrorKind};
use zuora_oauth_driver::{TokenError, TokenSource};
use zuora_oauth_wasm::FetchTransport;

/// Whether the source tries again by itself after the fault.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Retry {
    /// A transient failure: after the backoff (and `Retry-After`).
    AfterBackoff,
    /// A permanent failure: never by itself; after `reset()`.
    AfterReset,
}

/// Runs one fault: a first token, then (after expiry) the fault, the error check, no retry
/// before its time (or none at all for a permanent failure), recovery, and the leak check.
async fn run(fault: &str, retry: Retry, check: impl Fn(&TokenError) -> bool) {
    setup(3599).await;
    let clock = ManualClock::new();
    let source = TokenSource::builder(demo_request().await, FetchTransport::new())
        .with_timeout(Duration::from_millis(400))
        .with_seed(7)
        .with_clock(clock.clock())
        .build();
    let mut seen = String::new();
    let first = source.token().await.unwrap();
    seen += &format!("{first:?}");

    clock.set(Duration::from_secs(3600));
    push_fault(fault).await;
    let err = expect_err(source.token().await);
    seen += &format!("{err:?} {}", chain(&err));
    assert!(check(&err), "{fault}: unexpected {err:?}");
    assert_eq!(
        err.is_transient(),
        retry == Retry::AfterBackoff,
        "{fault}: {err}"
    );
    let again = expect_err(source.token().await);
    seen += &format!("{again:?}");
    assert_eq!(token_request_count().await, 2, "{fault}: retried early");

    match retry {
        Retry::AfterBackoff => {
            let wait = err.retry_in().expect("a transient failure is retried");
            // A millisecond early: still the failure, no request.
            clock.advance(wait.saturating_sub(Duration::from_millis(1)));
            let early = expect_err(source.token().await);
            assert_eq!(early.retry_in(), Some(wait.min(Duration::from_millis(1))));
            assert_eq!(token_request_count().await, 2, "{fault}: retried early");
            clock.advance(wait.min(Duration::from_millis(1)));
        }
        Retry::AfterReset => {
            assert_eq!(err.retry_in(), None, "{fault}: {err}");
            // However long one waits, no new attempt.
            clock.advance(Duration::from_secs(24 * 3600));
            let later = expect_err(source.token().await);
            assert_eq!(later.retry_in(), None);
            assert_eq!(token_request_count().await, 2, "{fault}: retried");
            source.reset();
        }
    }
    let recovered = source
        .token()
        .await
        .unwrap_or_else(|e| panic!("{fault}: no recovery: {e}"));
    assert_ne!(recovered.generation(), first.generation());
    assert_eq!(token_request_count().await, 3, "{fault}");
    seen += &format!("{recovered:?} {source:?}");

    let info = control("GET", "info", None).await;
    let secret = get_str(&info, "demo_client_secret");
    assert!(
        !seen.contains(&secret),
        "{fault}: the secret leaked: {seen}"
    );
    let tokens: js_sys::Array =
        get(&control("GET", "tokens", None).await, "tokens").unchecked_into();
    assert!(tokens.length() >= 2);
    for token in tokens.iter() {
        let token = get_str(&token, "access_token");
        assert!(!seen.contains(&token), "{fault}: a token leaked: {seen}");
    }
}

fn transport(kind: TransportErrorKind) -> impl Fn(&TokenError) -> bool {
    move |e| matches!(e.error(), Some(Error::Transport(t)) if t.kind() == kind)
}

fn server_error(status: u16) -> impl Fn(&TokenError) -> bool {
    move |e| matches!(e.error(), Some(Error::Server(r)) if r.status() == status)
}

fn unexpected(check: fn(&Problem) -> bool) -> impl Fn(&TokenError) -> bool {
    move |e| matches!(e.error(), Some(Error::UnexpectedResponse { problem, .. }) if check(problem))
}

fn rate_limited(expected: Option<u64>) -> impl Fn(&TokenError) -> bool {
    move |e| {
        let got = e.error().and_then(Error::retry_after).map(|d| d.as_secs());
        let close = match (got, expected) {
            // An HTTP date has one-second resolution.
            (Some(g), Some(w)) => g + 1 >= w && g <= w,
            (g, w) => g == w,
        };
        matches!(e.error(), Some(Error::RateLimited(_))) && close
    }
}

/// The connection dies before any answer. Node reports it; browsers resend the request
/// themselves, because it went out on a pooled connection (the test's control calls leave
/// one idle), so the page never sees the fault and the server sees the request twice.
#[wasm_bindgen_test]
async fn reset_before_headers() {
    for fault in [
        r#"{"kind":"reset_connection"}"#,
        r#"{"kind":"close_connection"}"#,
    ] {
        setup(3599).await;
        let source = source(demo_request().await);
        push_fault(fault).await;
        let outcome = source.token().await;
        if is_node() {
            let e = expect_err(outcome);
            assert_eq!(
                transport_kind(&e),
                TransportErrorKind::NetworkOrCors,
                "{fault}"
            );
            assert!(e.retry_in().is_some(), "{fault}: {e}");
            assert_eq!(token_request_count().await, 1, "{fault}");
        } else {
            outcome.unwrap_or_else(|e| panic!("{fault}: the browser did not resend: {e}"));
            assert_eq!(token_request_count().await, 2, "{fault}");
        }
    }
}

#[wasm_bindgen_test]
async fn slow_body_times_out() {
    run(
        r#"{"kind":"stall_body","stall_ms":3000,"then":"finish"}"#,
        Retry::AfterBackoff,
        transport(TransportErrorKind::Timeout),
    )
    .await;
}

#[wasm_bindgen_test]
async fn html_5xx() {
    for status in [500, 502, 503, 504] {
        run(
            &format!(
                r#"{{"kind":"respond","status":{status},"headers":{{"content-type":"text/html"}},"body":"<html><body><h1>{status}</h1></body></html>"}}"#
            ),
            Retry::AfterBackoff,
            server_error(status),
        )
        .await;
    }
}

#[wasm_bindgen_test]
async fn rate_limited_with_every_kind_of_retry_after() {
    run(
        r#"{"kind":"rate_limited","retry_after":{"seconds":7}}"#,
        Retry::AfterBackoff,
        rate_limited(Some(7)),
    )
    .await;
    run(
        r#"{"kind":"rate_limited","retry_after":{"http_date_in":9}}"#,
        Retry::AfterBackoff,
        rate_limited(Some(9)),
    )
    .await;
    run(
        r#"{"kind":"rate_limited","retry_after":"absent"}"#,
        Retry::AfterBackoff,
        rate_limited(None),
    )
    .await;
}

/// Zuora's documented 429: the wait only in `RateLimit-Reset`. No token request before it.
#[wasm_bindgen_test]
async fn rate_limited_with_only_rate_limit_reset() {
    run(
        r#"{"kind":"rate_limit_reset","reset_secs":30}"#,
        Retry::AfterBackoff,
        |e| {
            let reset = Duration::from_secs(30);
            let retry_in = e.retry_in().unwrap_or_default();
            matches!(e.error(), Some(Error::RateLimited(_)))
                && e.error().and_then(Error::server_wait) == Some(reset)
                && retry_in >= reset
                && retry_in <= reset + Duration::from_secs(3)
        },
    )
    .await;
}

#[wasm_bindgen_test]
async fn unusable_200s() {
    run(
        r#"{"kind":"respond","status":200,"headers":{"content-type":"application/json"},"body":""}"#,
        Retry::AfterReset,
        unexpected(|p| *p == Problem::EmptyBody),
    )
    .await;
    run(
        r#"{"kind":"wrong_content_type"}"#,
        Retry::AfterReset,
        unexpected(|p| matches!(p, Problem::ContentType { .. })),
    )
    .await;
    run(
        r#"{"kind":"token_fields","token_type":"mac"}"#,
        Retry::AfterReset,
        unexpected(|p| matches!(p, Problem::TokenType(t) if t == "mac")),
    )
    .await;
    for expires_in in ["0", "-5"] {
        run(
            &format!(r#"{{"kind":"token_fields","expires_in":{expires_in}}}"#),
            Retry::AfterReset,
            unexpected(|p| {
                matches!(
                    p,
                    Problem::InvalidField {
                        field: "expires_in",
                        ..
                    }
                )
            }),
        )
        .await;
    }
}

#[wasm_bindgen_test]
async fn expires_in_as_a_string_is_accepted() {
    setup(3599).await;
    push_fault(r#"{"kind":"token_fields","expires_in":"3599"}"#).await;
    let token = source(demo_request().await).token().await.unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
}

/// A lifetime far beyond a day is accepted, and cached for a day at most.
#[wasm_bindgen_test]
async fn expires_in_far_beyond_a_day_is_accepted_and_clamped() {
    setup(3599).await;
    push_fault(r#"{"kind":"token_fields","expires_in":1e12}"#).await;
    let source = TokenSource::builder(demo_request().await, FetchTransport::new())
        .with_clock(ManualClock::new().clock())
        .build();
    let token = source.token().await.unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(1_000_000_000_000));
    assert_eq!(
        token.expires_at().as_duration(),
        Duration::from_secs(86_400)
    );
}
