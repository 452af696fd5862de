//! A caller that gives up ends only its own wait: the token request runs detached (a task
//! spawned on the event loop), its outcome reaches everyone, a lost outcome does not wedge
//! the waiters, and nothing outlives the source. The wasm side of
//! `tests/tests/cancellation.rs`; runs in Node, headless Chromium and a dedicated worker
//! like the other wasm tests (see `mock_server.rs` for how the mock server's URL gets here).
//!
//! Whether `fetch` was aborted is read from the request's `AbortSignal`, recorded by a spy
//! on the global `fetch` (`common::spy`).
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use common::clock::ManualClock;
use common::*;
use futures_util::FutureExt;
use futures_util::future::{join, join_all};
use wasm_bindgen_test::wasm_bindgen_test;
use zuora_oauth_core::{Error, TransportErrorKind};
use zuora_oauth_driver::{
    BoxFuture, Clock, Limits, Runtime, TokenSource, Transport, TransportResult,
};
use zuora_oauth_wasm::FetchTransport;

/// The issue's scenario: the token endpoint answers slowly; callers with short deadlines
/// give up while the request is in flight. The request is not cancelled by them: one token
/// request in all, and everyone who asks after the answer gets the token at once.
#[wasm_bindgen_test]
async fn callers_that_give_up_never_cancel_the_shared_fetch() {
    setup(3599).await;
    spy::reset();
    push_fault(r#"{"kind":"delay_headers","delay_ms":3000}"#).await;
    let source = source(demo_request().await);

    // Five callers at once, then two more one after the other, each giving up after 50 ms
    // (its future is dropped).
    let gave_up = join_all((0..5).map(|_| within(Duration::from_millis(50), source.token())));
    for outcome in gave_up.await {
        assert!(outcome.is_none(), "answered before the slow server did");
    }
    for _ in 0..2 {
        let outcome = within(Duration::from_millis(50), source.token()).await;
        assert!(outcome.is_none(), "answered before the slow server did");
    }
    // Nobody is waiting any more, yet the request goes on.
    assert!(source.status().fetching);
    assert_eq!(spy::count(), 1, "one fetch for seven callers");
    assert!(
        !spy::signal(0).aborted(),
        "a caller's drop aborted the fetch"
    );
    wait_for("the abandoned request completes", || {
        source.status().token.is_some()
    })
    .await;

    // Served at once: every later call is a cache hit, ready at its first poll.
    for _ in 0..10 {
        let token = source
            .token()
            .now_or_never()
            .expect("served at once")
            .unwrap();
        assert_eq!(token.expires_in(), Duration::from_secs(3599));
    }
    assert_eq!(token_request_count().await, 1);
    assert_eq!(spy::count(), 1);
}

/// Dropping the last clone while the first token request is in flight aborts the `fetch`
/// (a plain abort, not the transport's timeout), and nothing panics.
#[wasm_bindgen_test]
async fn dropping_the_source_aborts_the_request_in_flight() {
    setup(3599).await;
    spy::reset();
    push_fault(r#"{"kind":"delay_headers","delay_ms":20000}"#).await;
    let source = source(demo_request().await);
    let clone = source.clone();
    assert!(
        within(Duration::from_millis(50), clone.token())
            .await
            .is_none()
    );
    wait_for_token_requests(1).await;
    let signal = spy::signal(0);
    assert!(!signal.aborted());

    drop(clone);
    assert!(!signal.aborted(), "a clone is left");
    drop(source);
    wait_for("the fetch is aborted", || signal.aborted()).await;
    assert_eq!(signal.reason().as_deref(), Some("AbortError"));
    assert_eq!(token_request_count().await, 1, "and not sent again");
}

/// A refresh in flight when the source is dropped is aborted, and does not keep the
/// source's state (and its token) alive.
#[wasm_bindgen_test]
async fn dropping_the_source_stops_its_background_refresh() {
    setup(3599).await;
    spy::reset();
    let clock = ManualClock::new();
    let source = TokenSource::builder(demo_request().await, FetchTransport::new())
        .with_clock(clock.clock())
        .build();
    let token = source.token().await.unwrap();
    let weak = Arc::downgrade(token.token());
    drop(token);
    // In the refresh window: the call hands out the current token and starts a refresh,
    // which the server holds for long.
    push_fault(r#"{"kind":"delay_headers","delay_ms":20000}"#).await;
    clock.set(Duration::from_secs(3599 - 200));
    assert!(source.token().await.is_ok());
    wait_for_token_requests(2).await;
    let refresh = spy::signal(1);
    assert!(!refresh.aborted());
    assert!(weak.upgrade().is_some(), "the source holds its token");

    drop(source);
    wait_for("the refresh is aborted and the token freed", || {
        refresh.aborted() && weak.upgrade().is_none()
    })
    .await;
    assert_eq!(refresh.reason().as_deref(), Some("AbortError"));
}

/// When the last clone goes, the token goes with it: nothing else (no task, no
/// thread-local) holds it.
#[wasm_bindgen_test]
async fn dropping_the_source_frees_the_token() {
    setup(3599).await;
    let source = source(demo_request().await);
    let token = source.token().await.unwrap();
    let clone = source.clone();
    assert!(clone.status().token.is_some());
    let weak = Arc::downgrade(token.token());
    drop(token);
    drop(source);
    assert!(weak.upgrade().is_some(), "a clone is left");
    drop(clone);
    assert!(weak.upgrade().is_none(), "the token outlived its source");
}

/// An invalidated token is no longer held once its replacement is in.
#[wasm_bindgen_test]
async fn an_invalidated_token_is_freed_once_replaced() {
    setup(3599).await;
    let source = source(demo_request().await);
    let old = source.token().await.unwrap();
    assert!(source.invalidate(old.generation()));
    let weak = Arc::downgrade(old.token());
    drop(old);
    let new = source.token().await.unwrap();
    assert!(weak.upgrade().is_none(), "the old token is still held");
    assert_eq!(source.status().token.unwrap().generation, new.generation());
}

/// A waiter whose request's outcome never comes (a transport that lost it) looks again at
/// the request's deadline (the exchange's timeout plus 5 s), on the source's clock, and
/// gets the deadline's timeout error instead of waiting for ever; the next attempt then
/// succeeds.
#[wasm_bindgen_test]
async fn a_waiter_looks_again_at_the_deadline_when_an_outcome_is_lost() {
    setup(3599).await;
    let clock = ManualClock::new();
    let transport = Forgetful {
        fetch: FetchTransport::new(),
        lose: Rc::new(Cell::new(1)),
    };
    let source = TokenSource::builder(demo_request().await, transport)
        .with_runtime(Manual(clock.clone()))
        .with_timeout(Duration::from_secs(35))
        .with_seed(7)
        .build();

    let waited = Rc::new(Cell::new(false));
    let waiter = {
        let waited = Rc::clone(&waited);
        source.token().map(move |r| {
            waited.set(true);
            r
        })
    };
    let script = async {
        // The request reached the server, which answered it; the runtime dropped the
        // answer. The waiter is still waiting, on a request still in flight.
        wait_for_token_requests(1).await;
        wait_for_answer().await;
        assert!(!waited.get());
        assert!(source.status().fetching);
        // A millisecond before the deadline: nothing yet (once the event loop has run
        // whatever was due).
        clock.set(Duration::from_millis(39_999));
        sleep(Duration::ZERO).await;
        assert!(!waited.get());
        // At the deadline, the waiter's sleep ends and it polls again.
        clock.set(Duration::from_secs(40));
    };
    let (result, ()) = within(Duration::from_secs(10), join(waiter, script))
        .await
        .expect("the waiter never looked again");
    let e = expect_err(result);
    assert_eq!(transport_kind(&e), TransportErrorKind::Timeout, "{e}");
    let text = chain(&e);
    assert!(text.contains("request deadline (40 s)"), "{text}");
    assert!(matches!(e.error(), Some(Error::Transport(_))) && e.is_transient());
    assert!(!source.status().fetching);

    // After the backoff, a new request, whose outcome arrives.
    clock.advance(e.retry_in().expect("a timeout is retried"));
    let token = source.token().await.unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
    assert_eq!(token_request_count().await, 2);
}

/// Waits until the server has answered the first token request.
async fn wait_for_answer() {
    let started = js_sys::Date::now();
    loop {
        let requests = recorded_requests().await;
        if requests.length() > 0 && get(&requests.get(0), "status").as_f64().is_some() {
            return;
        }
        assert!(
            js_sys::Date::now() - started < 10_000.0,
            "the server never answered"
        );
        sleep(Duration::from_millis(10)).await;
    }
}

/// The [`FetchTransport`], losing the outcome of the first `lose` requests (it sends them
/// but never reports their answer).
struct Forgetful {
    fetch: FetchTransport,
    lose: Rc<Cell<u32>>,
}

impl Transport for Forgetful {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        let send = Transport::send(&self.fetch, request, limits);
        if self.lose.get() == 0 {
            return send;
        }
        self.lose.set(self.lose.get() - 1);
        Box::pin(async move {
            let _answer = send.await;
            std::future::pending().await
        })
    }
}

/// The event loop's tasks, with timers and clocks that follow a [`ManualClock`].
struct Manual(ManualClock);

impl Runtime for Manual {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(self.0.sleep(duration))
    }

    fn clock(&self) -> Clock {
        self.0.clock()
    }

    fn seed(&self) -> u64 {
        (js_sys::Math::random() * 2f64.powi(53)) as u64
    }
}
