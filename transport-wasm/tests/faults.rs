//! The fault matrix in wasm: every fault the mock server can script, through the global
//! `fetch`, ends in the right typed error, the source recovers afterwards, and no `Debug`
//! or `Display` of what was seen holds the client secret or an issued token. Runs in Node,
//! headless Chromium and a dedicated worker like the other wasm tests (see
//! `mock_server.rs` for how the mock server's URL gets here).
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use zuora_oauth_core::{Error, LifecycleConfig, Problem, TokenError, TransportErrorKind};
use zuora_oauth_wasm::{FetchTransport, TokenSource};

thread_local! {
    /// The test's clock, moved by hand (nanoseconds).
    static NOW: Cell<u64> = const { Cell::new(0) };
}

fn set_clock(t: Duration) {
    NOW.with(|n| n.set(u64::try_from(t.as_nanos()).unwrap()));
}

fn advance_clock(d: Duration) {
    NOW.with(|n| n.set(n.get() + u64::try_from(d.as_nanos()).unwrap()));
}

/// Runs one fault: a first token, then (after expiry) the fault, the error check, no early
/// retry, recovery after the backoff, and the leak check.
async fn run(fault: &str, check: impl Fn(&TokenError) -> bool) {
    setup(3599).await;
    set_clock(Duration::ZERO);
    let source = TokenSource::builder(demo_request().await)
        .config(LifecycleConfig::default().with_seed(7))
        .transport(FetchTransport::new().timeout(Duration::from_millis(400)))
        .clock(|| Duration::from_nanos(NOW.with(Cell::get)))
        .build();
    let mut seen = String::new();
    let first = source.token().await.unwrap();
    seen += &format!("{first:?}");

    set_clock(Duration::from_secs(3600));
    push_fault(fault).await;
    let err = expect_err(source.token().await);
    seen += &format!("{err:?} {err}");
    assert!(check(&err), "{fault}: unexpected {err:?}");
    let again = expect_err(source.token().await);
    seen += &format!("{again:?}");
    assert_eq!(token_request_count().await, 2, "{fault}: retried early");

    advance_clock(err.retry_in().expect("retried"));
    let recovered = source
        .token()
        .await
        .unwrap_or_else(|e| panic!("{fault}: no recovery: {e}"));
    assert_ne!(recovered.generation(), first.generation());
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
    move |e| matches!(e.error(), Error::Transport(t) if t.kind() == kind)
}

fn server_error(status: u16) -> impl Fn(&TokenError) -> bool {
    move |e| matches!(e.error(), Error::Server(r) if r.status() == status)
}

fn unexpected(check: fn(&Problem) -> bool) -> impl Fn(&TokenError) -> bool {
    move |e| matches!(e.error(), Error::UnexpectedResponse { problem, .. } if check(problem))
}

fn rate_limited(expected: Option<u64>) -> impl Fn(&TokenError) -> bool {
    move |e| {
        let got = e.error().retry_after().map(|d| d.as_secs());
        let close = match (got, expected) {
            // An HTTP date has one-second resolution.
            (Some(g), Some(w)) => g + 1 >= w && g <= w,
            (g, w) => g == w,
        };
        matches!(e.error(), Error::RateLimited(_)) && close
    }
}

#[wasm_bindgen_test]
async fn reset_before_headers() {
    for fault in [
        r#"{"kind":"reset_connection"}"#,
        r#"{"kind":"close_connection"}"#,
    ] {
        setup(3599).await;
        let source = source(demo_request().await);
        push_fault(fault).await;
        match source.token().await {
            // Node: the failed fetch is a network error.
            Err(e) => assert!(
                matches!(e.error(), Error::Transport(t)
                    if matches!(t.kind(), TransportErrorKind::NetworkOrCors | TransportErrorKind::Reset)),
                "{fault}: {e:?}"
            ),
            // Browsers resend a request whose pooled connection died before any answer: the
            // page never sees the fault, and the server sees the request twice.
            Ok(_) => {
                assert!(!is_node(), "{fault}: Node does not retry");
                assert_eq!(token_request_count().await, 2, "{fault}");
            }
        }
    }
}

#[wasm_bindgen_test]
async fn slow_body_times_out() {
    run(
        r#"{"kind":"stall_body","stall_ms":3000,"then":"finish"}"#,
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
            server_error(status),
        )
        .await;
    }
}

#[wasm_bindgen_test]
async fn rate_limited_with_every_kind_of_retry_after() {
    run(
        r#"{"kind":"rate_limited","retry_after":{"seconds":7}}"#,
        rate_limited(Some(7)),
    )
    .await;
    run(
        r#"{"kind":"rate_limited","retry_after":{"http_date_in":9}}"#,
        rate_limited(Some(9)),
    )
    .await;
    run(
        r#"{"kind":"rate_limited","retry_after":"absent"}"#,
        rate_limited(None),
    )
    .await;
}

#[wasm_bindgen_test]
async fn unusable_200s() {
    run(
        r#"{"kind":"respond","status":200,"headers":{"content-type":"application/json"},"body":""}"#,
        unexpected(|p| *p == Problem::EmptyBody),
    )
    .await;
    run(
        r#"{"kind":"wrong_content_type"}"#,
        unexpected(|p| matches!(p, Problem::ContentType { .. })),
    )
    .await;
    run(
        r#"{"kind":"token_fields","token_type":"mac"}"#,
        unexpected(|p| matches!(p, Problem::TokenType(t) if t == "mac")),
    )
    .await;
    for expires_in in ["0", "-5", "1e12"] {
        run(
            &format!(r#"{{"kind":"token_fields","expires_in":{expires_in}}}"#),
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
