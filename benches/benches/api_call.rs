//! What a middleware costs per API call: `GET /v1/accounts/A00000001` against the
//! testkit's mock Zuora API on 127.0.0.1, sent bare (the client with an `Authorization`
//! header set by hand, the token fetched once) and through each middleware (tower's
//! `AuthorizeLayer` over hyper-util's client, reqwest-middleware's `AuthorizeMiddleware`,
//! ureq's `AuthorizeMiddleware`), on warm connections. Then the 401 path: the token is
//! revoked before each call, so each call gets 401, invalidates, fetches one new token and
//! is sent again once.
//!
//! Under `cargo bench` the variants also run interleaved (`zuora_oauth_benches::interleave`),
//! so that load on a shared machine hits them alike, and a table of medians and ratios is
//! printed.
//!
//! `cargo bench -p zuora-oauth-benches --bench api_call`

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, criterion_group};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceExt};
use zuora_oauth_benches::{Timed, bench_mode, interleave, median_min_max, ready};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, LifecycleConfig, TokenRequest};
use zuora_oauth_driver::tower::{Authorize, AuthorizeLayer};
use zuora_oauth_driver::{BlockingTokenSource, TokenSource};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

type HyperClient = Client<HttpConnector, Empty<Bytes>>;

struct Setup {
    server: MockServer,
    runtime: tokio::runtime::Runtime,
    url: String,
    /// `Authorization: Bearer …` of a live token, for the bare calls.
    bearer: http::HeaderValue,
    hyper: HyperClient,
    layer: Authorize<HyperClient>,
    /// For the 401 path: its own source, whose token budget (10 a minute by default, a
    /// guard against storms) does not stop a benchmark that revokes every token.
    layer_401: Authorize<HyperClient>,
    source_401: TokenSource,
    reqwest: reqwest::Client,
    /// reqwest-middleware's client with no middleware: what the framework itself costs.
    chain: reqwest_middleware::ClientWithMiddleware,
    middleware: reqwest_middleware::ClientWithMiddleware,
    ureq: ureq::Agent,
    ureq_middleware: ureq::Agent,
}

fn request(server: &MockServer) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&server.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

impl Setup {
    fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let server = MockServer::builder()
            .without_rate_limit()
            .token_lifetime(Duration::from_secs(86_400))
            .start()
            .expect("mock server starts");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = server.api_url("/v1/accounts/A00000001");
        let (hyper, layer, layer_401, source_401, bearer, reqwest, middleware) =
            runtime.block_on(async {
                let hyper: HyperClient = Client::builder(TokioExecutor::new()).build_http();
                let source = TokenSource::new(request(&server), HyperTransport::new());
                let bearer = source.token().await.unwrap().bearer_header();
                let layer =
                    tower::Layer::layer(&AuthorizeLayer::new(source.clone()), hyper.clone());
                let unlimited = LifecycleConfig::default().with_max_requests_per_minute(u32::MAX);
                let source_401 = TokenSource::builder(request(&server), HyperTransport::new())
                    .with_config(unlimited)
                    .build();
                source_401.token().await.unwrap();
                let layer_401 =
                    tower::Layer::layer(&AuthorizeLayer::new(source_401.clone()), hyper.clone());
                let reqwest = reqwest::Client::new();
                let transport = zuora_oauth_reqwest::ReqwestTransport::with_client(reqwest.clone());
                let reqwest_source = TokenSource::new(request(&server), transport);
                reqwest_source.token().await.unwrap();
                let middleware = reqwest_middleware::ClientBuilder::new(reqwest.clone())
                    .with(zuora_oauth_reqwest::AuthorizeMiddleware::new(
                        reqwest_source,
                    ))
                    .build();
                (
                    hyper, layer, layer_401, source_401, bearer, reqwest, middleware,
                )
            });
        let ureq_source =
            BlockingTokenSource::new(request(&server), zuora_oauth_ureq::UreqTransport::new());
        ureq_source.token().unwrap();
        let config = || ureq::Agent::config_builder().http_status_as_error(false);
        let ureq_middleware = zuora_oauth_ureq::AuthorizeMiddleware::new(ureq_source).agent(config);
        Self {
            server,
            runtime,
            url,
            bearer,
            hyper,
            layer,
            layer_401,
            source_401,
            chain: reqwest_middleware::ClientWithMiddleware::from(reqwest.clone()),
            reqwest,
            middleware,
            ureq: config().build().new_agent(),
            ureq_middleware,
        }
    }

    fn get(&self) -> http::Request<Empty<Bytes>> {
        http::Request::get(&self.url).body(Empty::new()).unwrap()
    }

    /// `iters` calls through `call`, on the runtime, each answer read whole and checked.
    fn run_async<F: Future<Output = u16>>(&self, iters: u64, call: impl Fn() -> F) -> Duration {
        self.server.reset(); // the request log, not the tokens
        self.runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..iters {
                assert_eq!(call().await, 200);
            }
            start.elapsed()
        })
    }

    fn run_blocking(&self, iters: u64, call: impl Fn() -> u16) -> Duration {
        self.server.reset();
        let start = Instant::now();
        for _ in 0..iters {
            assert_eq!(call(), 200);
        }
        start.elapsed()
    }

    fn variants(&self) -> Vec<(&'static str, Timed<'_>)> {
        let tower_bare: Timed = Box::new(|n| {
            self.run_async(n, || async {
                let mut request = self.get();
                request
                    .headers_mut()
                    .insert("authorization", self.bearer.clone());
                read_hyper(self.hyper.request(request).await.unwrap()).await
            })
        });
        let tower_layer: Timed = Box::new(|n| {
            self.run_async(n, || async {
                let mut layer = self.layer.clone();
                let ready = layer.ready().await.unwrap();
                read_hyper(ready.call(self.get()).await.unwrap()).await
            })
        });
        let reqwest_bare: Timed = Box::new(|n| {
            self.run_async(n, || async {
                let call = self
                    .reqwest
                    .get(&self.url)
                    .header("authorization", self.bearer.clone());
                read_reqwest(call.send().await.unwrap()).await
            })
        });
        let reqwest_chain: Timed = Box::new(|n| {
            self.run_async(n, || async {
                let call = self
                    .chain
                    .get(&self.url)
                    .header("authorization", self.bearer.clone());
                read_reqwest(call.send().await.unwrap()).await
            })
        });
        let reqwest_middleware: Timed = Box::new(|n| {
            self.run_async(n, || async {
                read_reqwest(self.middleware.get(&self.url).send().await.unwrap()).await
            })
        });
        let ureq_bare: Timed = Box::new(|n| {
            self.run_blocking(n, || {
                let call = self
                    .ureq
                    .get(&self.url)
                    .header("authorization", self.bearer.to_str().unwrap());
                read_ureq(call.call().unwrap())
            })
        });
        let ureq_middleware: Timed = Box::new(|n| {
            self.run_blocking(n, || {
                read_ureq(self.ureq_middleware.get(&self.url).call().unwrap())
            })
        });
        // The token is revoked before each call: 401, one new token, one replay.
        let tower_401: Timed = Box::new(|n| {
            self.run_async(n, || async {
                // The source's current token: a hit (`ready` panics if it is not ready at
                // once), the last replay fetched it.
                let token = ready(self.source_401.token()).expect("a cached token");
                self.server.revoke_token(token.access_token().secret());
                drop(token);
                let mut layer = self.layer_401.clone();
                let ready = layer.ready().await.unwrap();
                read_hyper(ready.call(self.get()).await.unwrap()).await
            })
        });
        vec![
            ("tower/bare", tower_bare),
            ("tower/layer", tower_layer),
            ("reqwest/bare", reqwest_bare),
            ("reqwest/empty middleware chain", reqwest_chain),
            ("reqwest/middleware", reqwest_middleware),
            ("ureq/bare", ureq_bare),
            ("ureq/middleware", ureq_middleware),
            ("tower/401 path", tower_401),
        ]
    }
}

async fn read_hyper(response: http::Response<hyper::body::Incoming>) -> u16 {
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(!body.is_empty());
    status
}

async fn read_reqwest(response: reqwest::Response) -> u16 {
    let status = response.status().as_u16();
    assert!(!response.bytes().await.unwrap().is_empty());
    status
}

fn read_ureq(response: http::Response<ureq::Body>) -> u16 {
    let status = response.status().as_u16();
    assert!(!response.into_body().read_to_vec().unwrap().is_empty());
    status
}

fn api_call(c: &mut Criterion) {
    let setup = Setup::start();
    let variants = setup.variants();
    let mut group = c.benchmark_group("api_call");
    // Short runs: every variant's connection stays within the mock's 30 s keep-alive.
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for (name, timed) in &variants {
        group.bench_function(*name, |b| b.iter_custom(timed));
    }
    group.finish();

    if bench_mode() {
        let timed: Vec<&Timed> = variants.iter().map(|(_, t)| t).collect();
        let rounds = interleave(15, Duration::from_millis(400), &timed);
        let medians: Vec<f64> = rounds
            .iter()
            .map(|r| median_min_max(&mut r.clone()).0)
            .collect();
        println!("API call, interleaved (15 rounds of ~0.4 s each; µs per call, median [min–max])");
        println!("| variant | µs per call | ratio to the stack's bare call |");
        println!("|---|---|---|");
        for (i, ((name, _), times)) in variants.iter().zip(&rounds).enumerate() {
            let (median, min, max) = median_min_max(&mut times.clone());
            let bare = match i {
                0 | 1 | 7 => medians[0],
                2..=4 => medians[2],
                _ => medians[5],
            };
            println!(
                "| {name} | {:.1} [{:.1}–{:.1}] | {:.3}× |",
                median / 1e3,
                min / 1e3,
                max / 1e3,
                median / bare
            );
        }
    }
}

criterion_group!(benches, api_call);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
