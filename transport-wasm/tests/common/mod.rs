//! Helpers shared by the wasm test binaries: the mock server's URL and control API, waiting
//! on events, a clock moved by hand ([`clock`]) and a spy on the global `fetch` ([`spy`]).
#![allow(dead_code)] // each test binary uses a different part

pub mod clock;
pub mod spy;

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};

use js_sys::{JSON, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::console_log;
use web_sys::{RequestInit, Response};
use zuora_oauth_core::{
    ClientId, ClientSecret, Environment, Error, TokenRequest, TransportErrorKind,
};
use zuora_oauth_driver::{TokenError, TokenHandle, TokenSource};
use zuora_oauth_wasm::FetchTransport;

// ---- the mock server -------------------------------------------------------------------

pub fn mock_url() -> &'static str {
    match option_env!("ZUORA_MOCK_URL") {
        Some(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/'),
        _ => panic!(
            "ZUORA_MOCK_URL was not set when these tests were compiled: they need the mock \
             Zuora server. Run `cargo xtask test`, or start `cargo run -p zuora-oauth-testkit \
             --bin zuora-mock-server -- --cors` and run `ZUORA_MOCK_URL=<the URL it prints> cargo test \
             -p zuora-oauth-wasm --target wasm32-unknown-unknown`"
        ),
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    pub fn global_fetch(input: &str, init: &RequestInit) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
}

/// A JS timer: a caller's deadline, or a pause between two looks at a condition (never
/// to order a test's steps).
pub async fn sleep(d: Duration) {
    let ms = d.as_millis() as i32;
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    JsFuture::from(promise).await.unwrap();
}

/// `future`'s output, or `None` if `limit` passes first; the loser is dropped (a caller
/// that gives up).
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    match select(pin!(future), pin!(sleep(limit))).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(((), _)) => None,
    }
}

/// How long [`wait_for`] and [`wait_for_token_requests`] wait for an event before failing:
/// far longer than any event takes, so only a missing event fails a test.
const PATIENCE: Duration = Duration::from_secs(10);

/// Waits until `condition` holds (looked at every 10 ms), failing after [`PATIENCE`].
pub async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let started = js_sys::Date::now();
    while !condition() {
        assert!(
            js_sys::Date::now() - started < PATIENCE.as_millis() as f64,
            "never happened: {what}"
        );
        sleep(Duration::from_millis(10)).await;
    }
}

/// Calls the control API; returns the status and the parsed JSON answer.
pub async fn call(method: &str, url: &str, body: Option<&str>) -> (u16, JsValue) {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
        let headers = web_sys::Headers::new().unwrap();
        headers.append("content-type", "application/json").unwrap();
        init.set_headers(&headers);
    }
    let response: Response = JsFuture::from(global_fetch(url, &init))
        .await
        .unwrap_or_else(|e| panic!("{method} {url} failed: {e:?} (is the mock server running?)"))
        .unchecked_into();
    let status = response.status();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap();
    let json = JSON::parse(&text.as_string().unwrap_or_default()).unwrap_or(JsValue::NULL);
    (status, json)
}

pub async fn control(method: &str, route: &str, body: Option<&str>) -> JsValue {
    let url = format!("{}/__mock/{route}", mock_url());
    let (status, json) = call(method, &url, body).await;
    assert_eq!(status, 200, "{method} {url}: {json:?}");
    json
}

pub fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap()
}

/// A string property, if `value` is an object that has one.
pub fn string_property(value: &JsValue, key: &str) -> Option<String> {
    if !value.is_object() {
        return None;
    }
    get(value, key).as_string()
}

pub fn get_str(value: &JsValue, key: &str) -> String {
    get(value, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string in {value:?}"))
}

/// Resets the server and sets the lifetime of the tokens it issues.
pub async fn setup(lifetime_secs: u32) {
    control("POST", "reset", None).await;
    control(
        "POST",
        "lifetime",
        Some(&format!(r#"{{"seconds":{lifetime_secs}}}"#)),
    )
    .await;
}

pub async fn push_fault(fault_json: &str) {
    control("POST", "faults", Some(fault_json)).await;
}

/// Token requests the server received (counted as each arrives, before any delay).
pub async fn token_request_count() -> u32 {
    let answer = control("GET", "requests", None).await;
    get(&answer, "token_request_count").as_f64().unwrap() as u32
}

/// Waits until the server has received `n` token requests (it counts them as they arrive,
/// before any delay fault), failing after [`PATIENCE`].
pub async fn wait_for_token_requests(n: u32) {
    let started = js_sys::Date::now();
    loop {
        let count = token_request_count().await;
        if count >= n {
            return;
        }
        assert!(
            js_sys::Date::now() - started < PATIENCE.as_millis() as f64,
            "the server received {count} token requests, never {n}"
        );
        sleep(Duration::from_millis(10)).await;
    }
}

/// The token requests the server received, as JSON.
pub async fn recorded_requests() -> js_sys::Array {
    get(&control("GET", "requests", None).await, "requests").unchecked_into()
}

/// The API calls (`/v1/…`) the server received, as JSON, in arrival order.
pub async fn recorded_api_calls() -> js_sys::Array {
    get(&control("GET", "requests?kind=api", None).await, "requests").unchecked_into()
}

/// The first value of header `name` in a recorded request.
pub fn recorded_header(request: &JsValue, name: &str) -> Option<String> {
    let headers: js_sys::Array = get(request, "headers").unchecked_into();
    headers.iter().find_map(|pair| {
        let pair: js_sys::Array = pair.unchecked_into();
        (pair.get(0).as_string()?.eq_ignore_ascii_case(name))
            .then(|| pair.get(1).as_string())
            .flatten()
    })
}

/// A token request for the server's demo client.
pub async fn demo_request() -> TokenRequest {
    let info = control("GET", "info", None).await;
    TokenRequest::new(
        Environment::custom(mock_url()).unwrap(),
        ClientId::new(get_str(&info, "demo_client_id")).unwrap(),
        ClientSecret::new(get_str(&info, "demo_client_secret")).unwrap(),
    )
}

pub fn source(request: TokenRequest) -> TokenSource {
    TokenSource::new(request, FetchTransport::new())
}

pub fn expect_err(result: Result<TokenHandle, TokenError>) -> TokenError {
    match result {
        Ok(t) => panic!("expected an error, got a token: {t:?}"),
        Err(e) => e,
    }
}

pub fn transport_kind(e: &TokenError) -> TransportErrorKind {
    console_log!("{}", chain(e));
    match e.error() {
        Some(Error::Transport(t)) => t.kind(),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

/// What an error says with its causes (`TokenError`'s own `Display` is only the source's
/// layer; the details are in its `source()`, the core's error).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text += &format!(": {c}");
        cause = c.source();
    }
    text
}

/// Whether the tests run in Node (not a browser page or worker).
pub fn is_node() -> bool {
    let global: JsValue = js_sys::global().into();
    Reflect::get(&global, &JsValue::from_str("process"))
        .ok()
        .filter(JsValue::is_object)
        .and_then(|p| Reflect::get(&p, &JsValue::from_str("versions")).ok())
        .filter(JsValue::is_object)
        .and_then(|v| Reflect::get(&v, &JsValue::from_str("node")).ok())
        .is_some_and(|v| v.is_string())
}
