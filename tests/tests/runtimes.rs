//! The hyper token source on each kind of tokio runtime, and outside one.

use std::time::Duration;

use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::{TokenErrorKind, TokenSource};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer};

fn request(server: &MockServer) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&server.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

/// One thread runs everything: the caller's wait, the detached fetch and the timers.
#[test]
fn works_on_a_current_thread_runtime() {
    let server = MockServer::start().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let source = TokenSource::new(request(&server), HyperTransport::new());
        server.push_fault(Fault::delay_headers(Duration::from_millis(300)));
        // A caller that gives up, then callers that wait: one request in all.
        assert!(
            tokio::time::timeout(Duration::from_millis(20), source.token())
                .await
                .is_err()
        );
        let (a, b) = tokio::join!(source.token(), source.token());
        assert_eq!(a.unwrap().generation(), b.unwrap().generation());
        assert_eq!(server.token_request_count(), 1);
    });
}

/// Outside a runtime, a call fails with an error that says what is missing; no panic.
#[test]
fn outside_a_runtime_the_error_says_so() {
    let server = MockServer::start().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Built inside a runtime (hyper-util's client needs one), called outside it.
    let source =
        runtime.block_on(async { TokenSource::new(request(&server), HyperTransport::new()) });
    let outside = futures_block_on(source.token());
    let error = outside.unwrap_err();
    assert_eq!(error.kind(), TokenErrorKind::NoRuntime, "{error:?}");
    assert!(!error.is_transient(), "retrying does not help: {error:?}");
    assert!(error.to_string().contains("no tokio runtime"), "{error}");
    // How to fix it, with the builder's real setter.
    assert!(
        error
            .to_string()
            .contains("TokenSourceBuilder::with_runtime"),
        "{error}"
    );
    assert_eq!(server.token_request_count(), 0);
}

/// Polls a future to completion on this thread, without any runtime.
fn futures_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Thread(std::thread::Thread);
    impl Wake for Thread {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Thread(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}
