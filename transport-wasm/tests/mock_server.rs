//! The wasm adapter against the testkit's mock Zuora server, in Node (default), headless
//! Chromium (`WASM_BINDGEN_USE_BROWSER=1`) and a dedicated worker
//! (`WASM_BINDGEN_USE_DEDICATED_WORKER=1`).
//!
//! The tests cannot start a server: `cargo xtask test` starts `zuora-mock-server` first and
//! passes its URL at compile time in `ZUORA_MOCK_URL`. By hand:
//!
//! ```text
//! cargo run -p zuora-oauth-testkit --bin zuora-mock-server -- --cors &     # prints http://127.0.0.1:PORT
//! ZUORA_MOCK_URL=http://127.0.0.1:PORT cargo test -p zuora-oauth-wasm --target wasm32-unknown-unknown
//! ```
//!
//! Every test starts by resetting the server (faults, records, counters, rate-limit windows)
//! and setting the token lifetime it wants; wasm-bindgen-test runs tests one at a time, so
//! they do not interfere. Scenarios are scripted through the control API under `/__mock/`
//! with `fetch`, as any JavaScript client would.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::join_all;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};
use web_sys::{RequestInit, Response};
use zuora_oauth_core::{
    ClientId, ClientSecret, EntityId, Environment, Error, LifecycleConfig, Problem, TokenRequest,
    TrackId, TransportErrorKind,
};
use zuora_oauth_driver::{TokenErrorKind, TokenSource};
use zuora_oauth_wasm::FetchTransport;

mod common;

use common::clock::ManualClock;
use common::*;

// ---- the runtime -----------------------------------------------------------------------

/// The runner really put us where it was told to (Node, a page, a dedicated worker), and the
/// crate never needs a `window`.
#[wasm_bindgen_test]
fn runs_in_the_environment_the_runner_was_asked_for() {
    let global: JsValue = js_sys::global().into();
    let has = |name: &str| Reflect::has(&global, &JsValue::from_str(name)).unwrap_or(false);
    let node = Reflect::get(&global, &JsValue::from_str("process"))
        .ok()
        .filter(|p| p.is_object())
        .and_then(|p| Reflect::get(&p, &JsValue::from_str("versions")).ok())
        .filter(|v| v.is_object())
        .and_then(|v| Reflect::get(&v, &JsValue::from_str("node")).ok())
        .and_then(|v| v.as_string());
    let window = has("window") && has("document");
    let worker = has("importScripts") && !window;
    let (expected, ok) = if option_env!("WASM_BINDGEN_USE_DEDICATED_WORKER").is_some() {
        ("a dedicated worker", worker)
    } else if option_env!("WASM_BINDGEN_USE_BROWSER").is_some() {
        ("a browser page", window)
    } else {
        ("Node", node.is_some())
    };
    console_log!("runtime: expected {expected}; node={node:?} window={window} worker={worker}");
    assert!(ok, "expected to run in {expected}");
}

/// A runtime without `setTimeout` cannot time anything out: a caller gets an error at
/// once, not a wait that never ends.
#[wasm_bindgen_test]
async fn without_set_timeout_a_caller_gets_an_error_not_a_hang() {
    setup(3599).await;
    let source = source(demo_request().await);
    let global: JsValue = js_sys::global().into();
    let key = JsValue::from_str("setTimeout");
    let original = Reflect::get(&global, &key).unwrap();
    Reflect::set(&global, &key, &JsValue::UNDEFINED).unwrap();
    let outcome = source.token().now_or_never();
    Reflect::set(&global, &key, &original).unwrap();

    let e = expect_err(outcome.expect("answered at once"));
    assert_eq!(e.kind(), TokenErrorKind::NoRuntime, "{e}");
    assert!(e.to_string().contains("no global `setTimeout`"), "{e}");
    assert_eq!(e.retry_in(), None);
    assert_eq!(token_request_count().await, 0);
    // With timers back, the same source works.
    source.token().await.unwrap();
}

// ---- success ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn success_with_track_id_and_entity_id() {
    setup(3599).await;
    let entity = "11e643f4-a3ee-8bad-b061-0025904c756d";
    let request = demo_request()
        .await
        .with_track_id(TrackId::new("wasm-test-track").unwrap())
        .with_entity_id(EntityId::new(entity).unwrap());
    let source = source(request);
    assert!(source.status().token.is_none());

    let token = source.token().await.unwrap();
    let secret = token.access_token().secret().to_owned();
    assert_eq!(secret.len(), 32, "a 32-hex token like Zuora's");
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
    assert!(token.token_type().eq_ignore_ascii_case("bearer"));
    assert!(token.jti().is_some());
    assert_eq!(token.entity_id().map(|e| e.as_str()), Some(entity));
    assert!(
        token.scope().entity_ids().any(|e| e == entity),
        "{:?}",
        token.scope()
    );
    // Headers copied back (the mock exposes them to browsers through CORS).
    assert_eq!(token.meta().track_id(), Some("wasm-test-track"));
    assert_eq!(token.meta().request_id().map(str::len), Some(36));
    // Every header the core reads reaches it (the transport copies a token response's
    // headers by a list of constant names): the rate limits of both generations and `Date`.
    let limits = token.meta().rate_limits();
    assert!(limits.minute_limit.is_some(), "{limits:?}");
    assert!(limits.minute_remaining.is_some(), "{limits:?}");
    assert!(
        limits.limit.is_some() && limits.limit_policy.is_some(),
        "{limits:?}"
    );
    assert!(
        limits.remaining.is_some() && limits.reset.is_some(),
        "{limits:?}"
    );
    assert!(token.meta().date().is_some());

    // What the server received.
    let requests = recorded_requests().await;
    assert_eq!(requests.length(), 1);
    let sent = requests.get(0);
    assert_eq!(get_str(&sent, "method"), "POST");
    assert_eq!(get_str(&sent, "path"), "/oauth/token");
    assert_eq!(get(&sent, "status").as_f64(), Some(200.0));
    // Every header the core puts on a token request is sent (the transport spells a token
    // request's header names from a list of constants).
    assert_eq!(
        recorded_header(&sent, "content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        recorded_header(&sent, "accept").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        recorded_header(&sent, "zuora-track-id").as_deref(),
        Some("wasm-test-track")
    );
    assert_eq!(
        recorded_header(&sent, "zuora-entity-ids").as_deref(),
        Some(entity)
    );
    assert_eq!(recorded_header(&sent, "authorization"), None);

    // Cached: same token, no second request, by every accessor.
    assert_eq!(
        source.token().await.unwrap().access_token().secret(),
        secret
    );
    let hit = source
        .token()
        .now_or_never()
        .expect("a cache hit, ready at once");
    assert_eq!(hit.unwrap().access_token().secret(), secret);
    assert_eq!(
        source.status().token.unwrap().generation,
        token.generation()
    );
    assert_eq!(token_request_count().await, 1);

    // The token opens the protected endpoint.
    let mut api_call = http::Request::get(format!("{}/v1/catalog/products", mock_url()))
        .body(())
        .unwrap();
    let generation = source.authorize(&mut api_call).await.unwrap();
    assert_eq!(generation, token.generation());
    let init = RequestInit::new();
    let headers = web_sys::Headers::new().unwrap();
    for (name, value) in api_call.headers() {
        headers
            .append(name.as_str(), value.to_str().unwrap())
            .unwrap();
    }
    init.set_headers(&headers);
    let response: Response = JsFuture::from(global_fetch(&api_call.uri().to_string(), &init))
        .await
        .unwrap()
        .unchecked_into();
    assert_eq!(response.status(), 200);
}

#[wasm_bindgen_test]
async fn invalidate_fetches_one_new_token() {
    setup(3599).await;
    let source = source(demo_request().await);
    let first = source.token().await.unwrap();
    assert!(source.invalidate(first.generation()));
    assert!(
        !source.invalidate(first.generation()),
        "a second report changes nothing"
    );
    assert!(source.status().token.is_none());
    let second = source.token().await.unwrap();
    assert_ne!(
        first.access_token().secret(),
        second.access_token().secret()
    );
    assert!(second.generation() > first.generation());
    assert_eq!(token_request_count().await, 2);
}

// ---- rejections: 400, 401, 403 ---------------------------------------------------------

/// A rejection is reported with its parsed body, and never retried automatically.
async fn rejected(fault: &str, status: u16) -> zuora_oauth_core::ErrorResponse {
    setup(3599).await;
    push_fault(fault).await;
    let source = source(demo_request().await);
    let e = expect_err(source.token().await);
    assert!(!e.is_transient(), "{e}");
    assert_eq!(e.retry_in(), None, "rejections are not retried: {e}");
    // No automatic retry: the next call fails at once, without a request.
    let again = expect_err(source.token().await);
    assert!(matches!(again.error(), Some(Error::Rejected(_))));
    assert_eq!(token_request_count().await, 1);
    // `reset` allows a new attempt, which succeeds (the fault was used up).
    source.reset();
    source.token().await.unwrap();
    assert_eq!(token_request_count().await, 2);
    match e.error().cloned() {
        Some(Error::Rejected(response)) => {
            assert_eq!(response.status().as_u16(), status);
            response
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn rejected_400_oauth_shape() {
    let r = rejected(
        r#"{"kind":"respond","status":400,"headers":{"Content-Type":"application/json"},
            "body":"{\"error\":\"invalid_request\",\"error_description\":\"Missing grant type\"}"}"#,
        400,
    )
    .await;
    assert_eq!(r.detail().error.as_deref(), Some("invalid_request"));
    assert_eq!(r.detail().description(), Some("Missing grant type"));
}

#[wasm_bindgen_test]
async fn rejected_401_gateway_shape() {
    let r = rejected(
        r#"{"kind":"respond","status":401,
            "headers":{"Content-Type":"application/json","WWW-Authenticate":"Bearer realm=\"Zuora\""},
            "body":"{\"message\":\"Authentication error\"}"}"#,
        401,
    )
    .await;
    assert_eq!(r.detail().message.as_deref(), Some("Authentication error"));
}

#[wasm_bindgen_test]
async fn rejected_403_zuora_v1_shape() {
    let r = rejected(
        r#"{"kind":"respond","status":403,"headers":{"Content-Type":"application/json;charset=utf-8"},
            "body":"{\"success\":false,\"reasons\":[{\"code\":90000011,\"message\":\"this resource is protected\"}]}"}"#,
        403,
    )
    .await;
    assert_eq!(r.detail().code(), Some("90000011"));
    assert_eq!(r.detail().description(), Some("this resource is protected"));
}

#[wasm_bindgen_test]
async fn rejected_401_bad_credentials_from_the_server_itself() {
    setup(3599).await;
    let request = TokenRequest::new(
        Environment::custom(mock_url()).unwrap(),
        ClientId::new("00000000-1111-2222-3333-444444444444").unwrap(),
        ClientSecret::new("not+the/right=secret").unwrap(),
    );
    let e = expect_err(source(request).token().await);
    let Some(Error::Rejected(r)) = e.error() else {
        panic!("{e:?}")
    };
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.detail().error.as_deref(), Some("invalid_client"));
    assert!(r.meta().request_id().is_some());
    let text = chain(&e);
    assert!(
        text.contains("invalid_client: Bad client credentials"),
        "{text}"
    );
    assert!(!text.contains("not+the/right=secret"), "{text}");
}

// ---- transient failures ----------------------------------------------------------------

#[wasm_bindgen_test]
async fn rate_limited_honours_retry_after_then_succeeds() {
    setup(3599).await;
    push_fault(r#"{"kind":"rate_limited","retry_after":{"seconds":1}}"#).await;
    let clock = ManualClock::new();
    let source = TokenSource::builder(demo_request().await, FetchTransport::new())
        .with_clock(clock.clock())
        .build();
    let e = expect_err(source.token().await);
    let Some(Error::RateLimited(r)) = e.error() else {
        panic!("{e:?}")
    };
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.detail().message.as_deref(),
        Some("API rate limit exceeded")
    );
    assert_eq!(
        e.error().and_then(Error::retry_after),
        Some(Duration::from_secs(1))
    );
    assert!(e.is_transient());
    // The first backoff is at most 1 s; Retry-After asks for 1 s, plus up to 1 s of
    // jitter, and wins.
    let wait = e.retry_in().unwrap();
    assert!(
        wait >= Duration::from_secs(1) && wait <= Duration::from_secs(2),
        "{e}"
    );
    // Before the wait has passed: the same failure, no request.
    clock.advance(wait - Duration::from_millis(1));
    let again = expect_err(source.token().await);
    assert!(matches!(again.error(), Some(Error::RateLimited(_))));
    assert_eq!(again.retry_in(), Some(Duration::from_millis(1)));
    assert_eq!(token_request_count().await, 1);
    // Once it has: success.
    clock.advance(Duration::from_millis(1));
    source.token().await.unwrap();
    assert_eq!(token_request_count().await, 2);
}

#[wasm_bindgen_test]
async fn server_error_with_html_body() {
    setup(3599).await;
    push_fault(
        r#"{"kind":"respond","status":502,"headers":{"Content-Type":"text/html"},
            "body":"<html><body><h1>502 Bad Gateway</h1></body></html>"}"#,
    )
    .await;
    let e = expect_err(source(demo_request().await).token().await);
    let Some(Error::Server(r)) = e.error() else {
        panic!("{e:?}")
    };
    assert_eq!(r.status().as_u16(), 502);
    assert!(r.body_excerpt().contains("Bad Gateway"), "{r:?}");
    assert!(e.is_transient());
    assert!(e.retry_in().is_some());
}

#[wasm_bindgen_test]
async fn malformed_json_is_an_unexpected_response() {
    setup(3599).await;
    push_fault(r#"{"kind":"malformed_json"}"#).await;
    let e = expect_err(source(demo_request().await).token().await);
    let Some(Error::UnexpectedResponse { problem, response }) = e.error() else {
        panic!("{e:?}")
    };
    assert!(
        matches!(problem, Problem::MalformedJson { .. }),
        "{problem:?}"
    );
    assert_eq!(response.status().as_u16(), 200);
    assert!(!e.is_transient());
    assert_eq!(
        e.retry_in(),
        None,
        "a permanent failure is not retried: {e}"
    );
    assert!(chain(&e).contains("not a JSON object"), "{}", chain(&e));
}

#[wasm_bindgen_test]
async fn timeout_against_a_slow_server() {
    setup(3599).await;
    // The server would answer with a token after 3 s; the transport gives up after 300 ms.
    push_fault(r#"{"kind":"delay_headers","delay_ms":3000}"#).await;
    let source = TokenSource::builder(demo_request().await, FetchTransport::new())
        .with_timeout(Duration::from_millis(300))
        .build();
    let e = expect_err(source.token().await);
    assert_eq!(transport_kind(&e), TransportErrorKind::Timeout, "{e}");
    assert!(e.is_transient());
    assert!(e.retry_in().is_some(), "{e}");
    let text = chain(&e);
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("within 300 ms"), "{text}");
}

#[wasm_bindgen_test]
async fn connection_refused_is_a_network_failure() {
    setup(3599).await;
    // The mock listens on 127.0.0.1 only: the same port on 127.0.0.2 refuses connections.
    // (Not a low port such as 1: `fetch` blocks those before connecting, as "bad ports".)
    let refused = mock_url().replace("//127.0.0.1:", "//127.0.0.2:");
    assert_ne!(
        refused,
        mock_url(),
        "the mock URL should be http://127.0.0.1:PORT"
    );
    let request = TokenRequest::new(
        Environment::custom(&refused).unwrap(),
        ClientId::new("00000000-1111-2222-3333-444444444444").unwrap(),
        ClientSecret::new("secret").unwrap(),
    );
    let e = expect_err(source(request).token().await);
    assert_eq!(transport_kind(&e), TransportErrorKind::NetworkOrCors, "{e}");
    assert!(
        chain(&e).contains("network failure or CORS rejection"),
        "{}",
        chain(&e)
    );
    assert!(e.is_transient());
}

#[wasm_bindgen_test]
async fn connection_closed_mid_body() {
    setup(3599).await;
    push_fault(r#"{"kind":"close_mid_body"}"#).await;
    let e = expect_err(source(demo_request().await).token().await);
    let kind = transport_kind(&e);
    assert!(
        matches!(
            kind,
            TransportErrorKind::Reset | TransportErrorKind::NetworkOrCors
        ),
        "{e}"
    );
}

// ---- caps and redirects ----------------------------------------------------------------

#[wasm_bindgen_test]
async fn oversized_body_with_content_length() {
    setup(3599).await;
    push_fault(r#"{"kind":"oversized_body","bytes":1048576}"#).await;
    let e = expect_err(source(demo_request().await).token().await);
    assert_eq!(transport_kind(&e), TransportErrorKind::BodyTooLarge, "{e}");
    assert!(!e.is_transient());
    assert_eq!(e.retry_in(), None, "{e}");
}

#[wasm_bindgen_test]
async fn oversized_chunked_body_is_cut_while_streaming() {
    setup(3599).await;
    push_fault(r#"{"kind":"oversized_body","bytes":1048576,"chunked":true}"#).await;
    let source = TokenSource::builder(demo_request().await, FetchTransport::new())
        .with_max_body(16 * 1024)
        .build();
    let e = expect_err(source.token().await);
    assert_eq!(transport_kind(&e), TransportErrorKind::BodyTooLarge, "{e}");
    assert!(chain(&e).contains("16384"), "{}", chain(&e));
}

#[wasm_bindgen_test]
async fn redirects_are_not_followed() {
    setup(3599).await;
    push_fault(r#"{"kind":"redirect"}"#).await;
    let source = source(demo_request().await);
    let e = expect_err(source.token().await);
    console_log!("{e}");
    // The same permanent error in every runtime: Node and edge runtimes return the 3xx
    // itself; browsers hide it (an opaque redirect), which the transport hands over as a
    // bare 302, without the target.
    let Some(Error::UnexpectedResponse {
        problem: Problem::Redirect { location },
        response,
    }) = e.error()
    else {
        panic!("expected the redirect error, got {e:?}")
    };
    assert_eq!(response.status().as_u16(), 302);
    let expected = is_node().then_some("http://127.0.0.2:1/oauth/token");
    assert_eq!(location.as_deref(), expected);
    assert!(!e.is_transient());
    assert_eq!(e.retry_in(), None, "{e}");
    assert!(chain(&e).contains("not followed"), "{}", chain(&e));
    // Only the token endpoint was asked (the redirect target was never reached), and it is
    // not asked again until a reset.
    assert!(matches!(
        expect_err(source.token().await).error(),
        Some(Error::UnexpectedResponse { .. })
    ));
    assert_eq!(token_request_count().await, 1);
    source.reset();
    source.token().await.unwrap();
    assert_eq!(token_request_count().await, 2);
}

// ---- refresh-ahead, minimum remaining lifetime, single flight ----------------------------

#[wasm_bindgen_test]
async fn refresh_ahead_hands_out_the_old_token_during_one_refresh() {
    // Tokens of an hour, refreshed 300 s before expiry (no jitter).
    setup(3599).await;
    let clock = ManualClock::new();
    let source = TokenSource::builder(demo_request().await, FetchTransport::new())
        .with_config(LifecycleConfig::default().with_refresh_jitter_percent(0))
        .with_clock(clock.clock())
        .build();
    let first = source.token().await.unwrap();
    let old = first.access_token().secret().to_owned();

    clock.set(Duration::from_secs(3599 - 301));
    let before = source.status().token.unwrap();
    assert_eq!(before.generation, first.generation());
    assert!(
        before.refresh_in > Duration::ZERO,
        "before the refresh window, no refresh is due"
    );
    let hit = source
        .token()
        .now_or_never()
        .expect("a cache hit, ready at once");
    assert_eq!(hit.unwrap().generation(), first.generation());
    clock.set(Duration::from_secs(3599 - 300));
    let due = source.status();
    assert_eq!(
        due.token.unwrap().refresh_in,
        Duration::ZERO,
        "in the refresh window a refresh is due"
    );
    assert!(!due.fetching, "and starts only when a caller asks");
    assert_eq!(token_request_count().await, 1);
    // The refresh takes a while on the server (long enough for the checks below to run
    // while it is in flight); meanwhile everyone gets the old token.
    push_fault(r#"{"kind":"delay_headers","delay_ms":1500}"#).await;
    let during: Vec<_> = join_all((0..20).map(|_| source.token())).await;
    for token in during {
        assert_eq!(token.unwrap().access_token().secret(), old);
    }
    wait_for_token_requests(2).await;
    assert!(source.status().fetching);
    let during = source.token().now_or_never().expect("answered at once");
    assert_eq!(
        during.unwrap().access_token().secret(),
        old,
        "still handed out while the refresh is in flight"
    );

    // Nobody waits for the refresh; it lands on its own.
    wait_for("the refreshed token is cached", || {
        source
            .status()
            .token
            .is_some_and(|t| t.generation != first.generation())
    })
    .await;
    let new = source
        .token()
        .now_or_never()
        .expect("a cache hit, ready at once")
        .unwrap();
    assert_ne!(new.access_token().secret(), old);
    assert!(new.generation() > first.generation());
    assert_eq!(
        source.token().await.unwrap().access_token().secret(),
        new.access_token().secret()
    );
    assert_eq!(token_request_count().await, 2, "exactly one refresh");
}

/// A token is not handed out in its last 30 s (it could expire on its way to Zuora): past
/// that, callers wait for the refresh instead.
#[wasm_bindgen_test]
async fn no_token_is_handed_out_in_its_last_30_seconds() {
    setup(3599).await;
    let clock = ManualClock::new();
    let source = TokenSource::builder(demo_request().await, FetchTransport::new())
        .with_clock(clock.clock())
        .build();
    let first = source.token().await.unwrap();
    assert_eq!(
        first
            .expires_at()
            .saturating_duration_since(first.usable_until()),
        Duration::from_secs(30)
    );

    // A millisecond before: the token is still handed out, and refreshed in the background,
    // slowly.
    push_fault(r#"{"kind":"delay_headers","delay_ms":300}"#).await;
    clock.set(Duration::from_millis(3_569_000 - 1));
    let current = source.token().await.unwrap();
    assert_eq!(current.generation(), first.generation());
    wait_for_token_requests(2).await;

    // From then on, it is not: callers wait for the refresh in flight.
    clock.set(Duration::from_secs(3569));
    assert!(source.status().token.is_none());
    let next = source.token().await.unwrap();
    assert_ne!(next.generation(), first.generation());
    assert_ne!(next.access_token().secret(), first.access_token().secret());
    assert_eq!(token_request_count().await, 2);
}

/// For a short token the minimum remaining lifetime is at most half its life.
#[wasm_bindgen_test]
async fn a_short_token_keeps_half_its_life_in_reserve() {
    setup(4).await;
    let token = source(demo_request().await).token().await.unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(4));
    assert_eq!(
        token
            .expires_at()
            .saturating_duration_since(token.usable_until()),
        Duration::from_secs(2)
    );
}

#[wasm_bindgen_test]
async fn single_flight_for_50_concurrent_callers() {
    setup(3599).await;
    // Slow the one request down so that every caller arrives while it is in flight.
    push_fault(r#"{"kind":"delay_headers","delay_ms":200}"#).await;
    let source = source(demo_request().await);
    let tokens: Vec<_> = join_all((0..50).map(|_| source.token())).await;
    let first = tokens[0]
        .as_ref()
        .unwrap()
        .access_token()
        .secret()
        .to_owned();
    for token in &tokens {
        assert_eq!(token.as_ref().unwrap().access_token().secret(), first);
    }
    assert_eq!(token_request_count().await, 1, "one request for 50 callers");
}

/// The caller that started the request is dropped (its handler was cancelled): the request
/// goes on, and the next caller gets its token.
#[wasm_bindgen_test]
async fn a_dropped_fetching_future_does_not_cancel_the_request() {
    setup(3599).await;
    push_fault(r#"{"kind":"delay_headers","delay_ms":300}"#).await;
    let source = source(demo_request().await);
    assert!(
        source.token().now_or_never().is_none(),
        "started the request, then dropped"
    );
    assert!(source.status().fetching);
    let token = source.token().await.unwrap();
    assert_eq!(token.access_token().secret().len(), 32);
    assert_eq!(token_request_count().await, 1, "the same request");
}
