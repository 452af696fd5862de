//! A caller that gives up ends only its own wait: the token request runs detached, its
//! outcome reaches everyone, and nothing outlives the source.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Driver, Setup, eventually};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::{BlockingTokenSource, TokenSource};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_reqwest::ReqwestTransport;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer};
use zuora_oauth_ureq::UreqTransport;

matrix!(
    callers_that_give_up_never_cancel_the_shared_fetch,
    dropping_the_source_frees_the_token,
    an_invalidated_token_is_freed_once_replaced,
    dropping_the_source_stops_its_background_refresh,
);

/// The scenario: the token endpoint answers slowly; callers with short deadlines
/// keep giving up while the request is in flight. The request is not cancelled by them: one
/// token request in all, and everyone who asks after the answer gets the token at once.
fn callers_that_give_up_never_cancel_the_shared_fetch<D: Driver>() {
    let server = MockServer::builder().start().unwrap();
    let source = D::build(&Setup::new(&server));
    server.push_fault(Fault::delay_headers(Duration::from_millis(1500)));

    let mut gave_up = 0;
    while source.current().is_none() && gave_up < 5 {
        match source.token_within(Duration::from_millis(50)) {
            None => gave_up += 1,
            Some(r) => panic!("{}: answered before the slow server did: {r:?}", D::NAME),
        }
    }
    assert!(gave_up >= 1, "{}", D::NAME);
    // Nobody is waiting any more, yet the request completes and the token is cached.
    assert!(
        eventually(Duration::from_secs(10), || source.current().is_some()),
        "{}: the abandoned request never completed",
        D::NAME
    );
    for _ in 0..10 {
        let token = source
            .token_within(Duration::from_millis(100))
            .expect("served at once")
            .unwrap();
        assert_eq!(token.expires_in(), Duration::from_secs(3599));
    }
    assert_eq!(server.token_request_count(), 1, "{}", D::NAME);
}

/// When the last clone goes, the token goes with it: no per-thread cache keeps it.
fn dropping_the_source_frees_the_token<D: Driver>() {
    let server = MockServer::builder().start().unwrap();
    let source = D::build(&Setup::new(&server));
    let token = source.token().unwrap();
    // Hits on other threads too.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_eq!(source.token().unwrap().generation(), token.generation()));
        }
    });
    assert_eq!(server.token_request_count(), 1, "{}: not hits", D::NAME);
    let weak = Arc::downgrade(token.token());
    drop(token);
    drop(source);
    assert!(
        eventually(Duration::from_secs(5), || weak.upgrade().is_none()),
        "{}: the token outlived its source",
        D::NAME
    );
}

/// An invalidated token is no longer held once its replacement is in.
fn an_invalidated_token_is_freed_once_replaced<D: Driver>() {
    let server = MockServer::builder().start().unwrap();
    let source = D::build(&Setup::new(&server));
    let old = source.token().unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_eq!(source.token().unwrap().generation(), old.generation()));
        }
    });
    assert_eq!(server.token_request_count(), 1, "{}: not hits", D::NAME);
    assert!(source.invalidate(old.generation()));
    let weak = Arc::downgrade(old.token());
    drop(old);
    let new = source.token().unwrap();
    assert!(
        weak.upgrade().is_none(),
        "{}: the old token is still held",
        D::NAME
    );
    assert_eq!(source.current(), Some(new.generation()));
}

/// A refresh in flight when the source is dropped does not keep the source's state (and its
/// token) alive.
fn dropping_the_source_stops_its_background_refresh<D: Driver>() {
    let server = MockServer::builder().start().unwrap();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    let token = source.token().unwrap();
    let weak = Arc::downgrade(token.token());
    drop(token);
    // In the refresh window: the call hands out the current token and starts a refresh,
    // which the server holds for long.
    server.push_fault(Fault::delay_headers(Duration::from_secs(8)));
    setup.clock.set(Duration::from_secs(3599 - 200));
    assert!(source.token().is_ok());
    assert!(
        eventually(Duration::from_secs(5), || server.token_request_count() == 2),
        "{}: no refresh started",
        D::NAME
    );
    drop(source);
    assert!(
        eventually(Duration::from_secs(4), || weak.upgrade().is_none()),
        "{}: the refresh kept the source alive",
        D::NAME
    );
}

fn request(server: &MockServer) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&server.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

#[test]
fn a_panicking_caller_does_not_wedge_blocking_callers() {
    let server = MockServer::builder().start().unwrap();
    let source = BlockingTokenSource::new(request(&server), UreqTransport::new());
    // A caller panics with a fresh token in hand, and another after authorizing a call:
    // the source stays usable.
    let token = source.token().unwrap();
    let panicked = std::thread::spawn({
        let source = source.clone();
        move || {
            let _token = source.token().unwrap();
            panic!("caller bug")
        }
    })
    .join();
    assert!(panicked.is_err());
    let panicked = std::thread::spawn({
        let (source, url) = (source.clone(), server.protected_url());
        move || {
            let mut call = http::Request::get(url).body(()).unwrap();
            source.authorize(&mut call).unwrap();
            panic!("caller bug")
        }
    })
    .join();
    assert!(panicked.is_err());
    assert_eq!(source.token().unwrap().generation(), token.generation());
    // The slow path too: a new token after an invalidation.
    assert!(source.invalidate(token.generation()));
    assert!(source.token().unwrap().generation() > token.generation());
    assert_eq!(server.token_request_count(), 2);
}

/// The sources can be shared across threads, and the async source's futures can be spawned
/// on a multi-threaded runtime.
#[test]
fn sources_are_send_and_sync_and_their_futures_are_send() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    fn send<T: Send>(_: &T) {}
    shareable::<TokenSource>();
    shareable::<BlockingTokenSource>();
    shareable::<zuora_oauth_driver::TokenHandle>();
    let server = MockServer::builder().start().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    for source in [
        TokenSource::new(request(&server), HyperTransport::new()),
        TokenSource::new(request(&server), ReqwestTransport::new()),
    ] {
        let mut call = http::Request::get(server.protected_url()).body(()).unwrap();
        send(&source.token());
        send(&source.authorize(&mut call));
    }
}
