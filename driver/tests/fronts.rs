//! The blocking front drives the same implementation as the async one: single flight across
//! threads, a caller's own deadline that leaves the request to the others, and the source
//! handed out as one type, without a generic parameter.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::{
    BlockingTokenSource, BlockingTransport, Limits, TokenErrorKind, TokenSource, Transport,
    TransportResult,
};

const TOKEN: &str = r#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#;

fn request() -> TokenRequest {
    TokenRequest::new(
        Environment::custom("http://127.0.0.1:9").unwrap(),
        ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new("dG9wLXNlY3JldA==").unwrap(),
    )
}

fn answer() -> TransportResult {
    Ok(http::Response::builder()
        .header("content-type", "application/json")
        .body(TOKEN.as_bytes().to_vec())
        .unwrap())
}

/// Answers every token request after `delay`, counting them.
#[derive(Clone)]
struct Slow {
    delay: Duration,
    sent: Arc<AtomicUsize>,
}

impl BlockingTransport for Slow {
    fn send(&self, _request: http::Request<Vec<u8>>, _limits: Limits) -> TransportResult {
        self.sent.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        answer()
    }
}

impl Transport for Slow {
    fn send(
        &self,
        _request: http::Request<Vec<u8>>,
        _limits: Limits,
    ) -> zuora_oauth_driver::BoxFuture<'static, TransportResult> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            answer()
        })
    }
}

fn slow(delay: Duration) -> Slow {
    Slow {
        delay,
        sent: Arc::default(),
    }
}

#[test]
fn threads_asking_at_once_cause_one_request_and_share_one_token() {
    let transport = slow(Duration::from_millis(300));
    let source = BlockingTokenSource::new(request(), transport.clone());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let source = source.clone();
            std::thread::spawn(move || source.token().map(|t| t.generation()))
        })
        .collect();
    let generations: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    assert!(generations.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(transport.sent.load(Ordering::SeqCst), 1);
    // The next call is a cached hit.
    assert_eq!(source.token().unwrap().generation(), generations[0]);
    assert_eq!(transport.sent.load(Ordering::SeqCst), 1);
}

#[test]
fn a_caller_that_gives_up_leaves_the_request_to_the_others() {
    let transport = slow(Duration::from_secs(2));
    let source = BlockingTokenSource::new(request(), transport.clone());
    let started = Instant::now();
    let error = source.token_within(Duration::from_millis(100)).unwrap_err();
    assert_eq!(error.kind(), TokenErrorKind::GaveUp);
    assert!(error.is_transient());
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "gave up at once"
    );
    // The request went on: the next caller gets its token, and no second request is sent.
    let token = source.token().unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
    assert_eq!(transport.sent.load(Ordering::SeqCst), 1);
}

#[test]
fn both_fronts_are_held_without_a_generic_parameter() {
    // Both fronts are held without a generic parameter, whatever the transport.
    struct App {
        _async: TokenSource,
        _blocking: BlockingTokenSource,
    }
    let _ = App {
        _async: TokenSource::new(request(), slow(Duration::ZERO)),
        _blocking: BlockingTokenSource::new(request(), slow(Duration::ZERO)),
    };
}

#[test]
fn authorize_refuses_a_request_outside_the_environment() {
    let transport = slow(Duration::ZERO);
    let source = BlockingTokenSource::new(request(), transport.clone());
    let mut foreign = http::Request::get("http://127.0.0.2:9/v1/accounts")
        .body(())
        .unwrap();
    let error = source.authorize(&mut foreign).unwrap_err();
    assert_eq!(error.kind(), TokenErrorKind::ForeignUrl);
    assert!(foreign.headers().get("authorization").is_none());
    assert!(!error.to_string().contains("c652cbc0"));
    // Nothing was fetched for it.
    assert_eq!(transport.sent.load(Ordering::SeqCst), 0);
    let mut ours = http::Request::get("http://127.0.0.1:9/v1/accounts")
        .body(())
        .unwrap();
    source.authorize(&mut ours).unwrap();
    assert!(ours.headers()["authorization"].is_sensitive());
}
