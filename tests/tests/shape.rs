//! What a user holds: every source and every middleware is a plain type, kept in struct
//! fields without naming a generic parameter — a hyper source (default and over a connector
//! of one's own), reqwest, ureq, a custom transport, a custom runtime — and each of them gets
//! a token from the mock Zuora through that one type.
//! (The wasm source and `AuthorizedFetch` are held the same way in
//! `transport-wasm/tests`: they exist on wasm32 only.)

use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::tower::AuthorizeLayer;
use zuora_oauth_driver::{
    BlockingTokenSource, BoxFuture, Limits, Runtime, TokenSource, Transport, TransportResult,
};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_reqwest::{AuthorizeMiddleware, ReqwestTransport};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};
use zuora_oauth_ureq::UreqTransport;

/// A user's application state: sources and middlewares, no generic parameter anywhere.
struct App {
    hyper: TokenSource,
    hyper_own_connector: TokenSource,
    reqwest: TokenSource,
    custom_transport: TokenSource,
    custom_runtime: TokenSource,
    ureq: BlockingTokenSource,
    tower: AuthorizeLayer,
    reqwest_middleware: AuthorizeMiddleware,
    ureq_middleware: zuora_oauth_ureq::AuthorizeMiddleware,
}

/// A transport of the user's own: it sends with hyper, behind a type of its own.
struct Mine(HyperTransport);

impl Transport for Mine {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        self.0.send(request, limits)
    }
}

/// A runtime of the user's own (here: tokio's calls, written out).
struct MyRuntime;

impl Runtime for MyRuntime {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

fn request(zuora: &MockServer) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_and_middleware_is_held_as_a_plain_type_and_gets_a_token() {
    let zuora = MockServer::start().unwrap();
    let hyper = TokenSource::new(request(&zuora), HyperTransport::new());
    let ureq = BlockingTokenSource::new(request(&zuora), UreqTransport::new());
    let app = App {
        tower: AuthorizeLayer::new(hyper.clone()),
        reqwest_middleware: AuthorizeMiddleware::new(hyper.clone()),
        ureq_middleware: zuora_oauth_ureq::AuthorizeMiddleware::new(ureq.clone()),
        hyper,
        hyper_own_connector: TokenSource::new(
            request(&zuora),
            HyperTransport::with_connector(HttpConnector::new()),
        ),
        reqwest: TokenSource::new(request(&zuora), ReqwestTransport::new()),
        custom_transport: TokenSource::new(request(&zuora), Mine(HyperTransport::new())),
        custom_runtime: TokenSource::builder(request(&zuora), HyperTransport::new())
            .with_runtime(MyRuntime)
            .build(),
        ureq,
    };
    let async_sources = [
        &app.hyper,
        &app.hyper_own_connector,
        &app.reqwest,
        &app.custom_transport,
        &app.custom_runtime,
    ];
    for source in async_sources {
        let token = source.token().await.unwrap();
        assert!(token.expires_in() > Duration::from_secs(3000));
    }
    let ureq = app.ureq.clone();
    let blocking = tokio::task::spawn_blocking(move || ureq.token())
        .await
        .unwrap()
        .unwrap();
    assert!(blocking.expires_in() > Duration::from_secs(3000));
    // One request per source: six sources, six tokens.
    assert_eq!(zuora.token_request_count(), 6);

    // The middlewares authorize with their source's token (already cached: no request).
    let agent = app
        .ureq_middleware
        .clone()
        .agent(|| ureq::Agent::config_builder().http_status_as_error(false));
    let url = zuora.api_url("/v1/accounts/A00000001");
    let status = tokio::task::spawn_blocking(move || agent.get(url).call().unwrap().status())
        .await
        .unwrap();
    assert_eq!(status, 200);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(app.reqwest_middleware.clone())
        .build();
    let answer = api.get(zuora.api_url("/v1/accounts/A00000001")).send();
    assert_eq!(answer.await.unwrap().status(), 200);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let mut service = tower::ServiceBuilder::new()
        .layer(app.tower.clone())
        .service(client);
    let call = http::Request::get(zuora.api_url("/v1/accounts/A00000001"))
        .body(http_body_util::Empty::new())
        .unwrap();
    let answer = tower::ServiceExt::oneshot(&mut service, call)
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(zuora.token_request_count(), 6);
}
