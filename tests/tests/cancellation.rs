//! Callers that give up never wedge the others: a cancelled fetching task hands the request
//! over, and dropped waiters leave the rest waiting for the one request in flight.

use std::time::Duration;

use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer};

fn request(server: &MockServer) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&server.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_fetcher_hands_over_to_the_next_caller() {
    let server = MockServer::builder().start().unwrap();
    let source = zuora_oauth_hyper::TokenSource::new(request(&server));
    server.push_fault(Fault::delay_headers(Duration::from_secs(5)));

    // The first caller starts the request, then gives up long before the answer.
    let gave_up = tokio::time::timeout(Duration::from_millis(200), source.token()).await;
    assert!(
        gave_up.is_err(),
        "the slow request should still be in flight"
    );

    // The next caller is not stuck behind the abandoned request: it sends its own.
    let token = tokio::time::timeout(Duration::from_secs(5), source.token())
        .await
        .expect("not wedged")
        .unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
    assert_eq!(server.token_request_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_waiters_do_not_disturb_the_request_in_flight() {
    let server = MockServer::builder().start().unwrap();
    let source = zuora_oauth_hyper::TokenSource::new(request(&server));
    server.push_fault(Fault::delay_headers(Duration::from_millis(500)));

    let fetcher = tokio::spawn({
        let source = source.clone();
        async move { source.token().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Waiters that give up…
    for _ in 0..20 {
        let _ = tokio::time::timeout(Duration::from_millis(10), source.token()).await;
    }
    // …and one that stays.
    let waiter = source.token().await.unwrap();
    let fetched = fetcher.await.unwrap().unwrap();
    assert_eq!(waiter.generation(), fetched.generation());
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn a_panicking_caller_does_not_wedge_blocking_callers() {
    let server = MockServer::builder().start().unwrap();
    let source = zuora_oauth_ureq::TokenSource::new(request(&server));
    // A caller's closure panics on a fresh token: the source stays usable.
    let token = source.token().unwrap();
    let panicked = std::thread::spawn({
        let source = source.clone();
        move || source.with_token(|_| panic!("caller bug")).map(|_| ())
    })
    .join();
    assert!(panicked.is_err());
    assert_eq!(source.token().unwrap().generation(), token.generation());
}

/// The sources can be shared across threads, and the async source's futures can be spawned
/// on a multi-threaded runtime.
#[test]
fn sources_are_send_and_sync_and_their_futures_are_send() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    fn send<T: Send>(_: &T) {}
    shareable::<zuora_oauth_hyper::TokenSource>();
    shareable::<zuora_oauth_ureq::TokenSource>();
    shareable::<zuora_oauth_core::TokenHandle>();
    let server = MockServer::builder().start().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let source = zuora_oauth_hyper::TokenSource::new(request(&server));
    let mut call = http::Request::get(server.protected_url()).body(()).unwrap();
    send(&source.token());
    send(&source.with_token(|t| t.generation()));
    send(&source.authorize(&mut call));
}
