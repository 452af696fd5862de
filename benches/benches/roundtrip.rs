//! Loopback round trip: one token request over each adapter's transport
//! (`HyperTransport::send`, `UreqTransport::send`) against the testkit's mock server on
//! 127.0.0.1, next to a raw client sending the same bytes (a hyper-util client; a ureq
//! `Agent` configured like the adapter's). The ratio is the adapter's own overhead: its
//! timeout, body cap, error mapping and body conversion. Connections are kept alive, so this
//! is one request/response on a warm connection, not a connect.
//!
//! Every variant builds its request with the core's `TokenRequest::to_http()` and reads the
//! whole body; none parses it. The mock server's request log is cleared before each sample.
//!
//! `cargo bench -p zuora-oauth-benches --bench roundtrip`

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, criterion_group};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

/// Prints how many connections the last sample used (distinct client ports in the server's
/// log): a round trip that opens a connection is not the same measurement as one on a warm
/// connection.
fn connections(server: &MockServer, name: &str) {
    let requests = server.requests();
    let mut peers: Vec<_> = requests.iter().map(|r| r.peer).collect();
    peers.sort();
    peers.dedup();
    println!(
        "{name}: last sample: {} requests on {} connection(s)",
        requests.len(),
        peers.len()
    );
}

/// Times `iters` runs of `f` after clearing the server's request log (outside the timing).
fn timed(server: &MockServer, iters: u64, mut f: impl FnMut()) -> Duration {
    server.reset();
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

fn roundtrip(c: &mut Criterion) {
    let server = MockServer::builder()
        .without_rate_limit()
        .start()
        .expect("mock server starts");
    let request = TokenRequest::new(
        Environment::custom(&server.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // hyper: the adapter, a raw client with the adapter's own connector (rustls wrapper,
    // plain HTTP for loopback), and a raw client with hyper-util's bare `HttpConnector`.
    let (transport, raw_same_connector, raw_http) = runtime.block_on(async {
        let transport = zuora_oauth_hyper::HyperTransport::new();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .unwrap()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let raw_same: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
        let raw_http: Client<_, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        (transport, raw_same, raw_http)
    });
    let check = |status: http::StatusCode| assert_eq!(status, 200, "the mock server answers 200");

    let mut group = c.benchmark_group("roundtrip");
    group.sample_size(50);
    group.bench_function("hyper/HyperTransport::send", |b| {
        b.iter_custom(|iters| {
            timed(&server, iters, || {
                let response = runtime.block_on(transport.send(request.to_http())).unwrap();
                check(response.status());
                black_box(response);
            })
        })
    });
    connections(&server, "hyper/HyperTransport::send");
    group.bench_function("hyper/raw hyper-util client (same connector)", |b| {
        b.iter_custom(|iters| {
            timed(&server, iters, || {
                let response = runtime.block_on(async {
                    let request = request.to_http().map(|body| Full::new(Bytes::from(body)));
                    let response = raw_same_connector.request(request).await.unwrap();
                    let (parts, body) = response.into_parts();
                    let body = body.collect().await.unwrap().to_bytes();
                    http::Response::from_parts(parts, body)
                });
                check(response.status());
                black_box(response);
            })
        })
    });
    connections(&server, "hyper/raw hyper-util client (same connector)");
    group.bench_function("hyper/raw hyper-util client (HttpConnector)", |b| {
        b.iter_custom(|iters| {
            timed(&server, iters, || {
                let response = runtime.block_on(async {
                    let request = request.to_http().map(|body| Full::new(Bytes::from(body)));
                    let response = raw_http.request(request).await.unwrap();
                    let (parts, body) = response.into_parts();
                    let body = body.collect().await.unwrap().to_bytes();
                    http::Response::from_parts(parts, body)
                });
                check(response.status());
                black_box(response);
            })
        })
    });
    connections(&server, "hyper/raw hyper-util client (HttpConnector)");

    // ureq: the adapter and a raw agent with the same settings (no status-as-error, no
    // redirects).
    let transport = zuora_oauth_ureq::UreqTransport::new();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    group.bench_function("ureq/UreqTransport::send", |b| {
        b.iter_custom(|iters| {
            timed(&server, iters, || {
                let response = transport.send(request.to_http()).unwrap();
                check(response.status());
                black_box(response);
            })
        })
    });
    connections(&server, "ureq/UreqTransport::send");
    group.bench_function("ureq/raw Agent::run", |b| {
        b.iter_custom(|iters| {
            timed(&server, iters, || {
                let response = agent.run(request.to_http()).unwrap();
                let (parts, mut body) = response.into_parts();
                let body = body.read_to_vec().unwrap();
                check(parts.status);
                black_box(http::Response::from_parts(parts, body));
            })
        })
    });
    connections(&server, "ureq/raw Agent::run");
    // The raw agent with the adapter's per-request timeouts: isolates what they cost in
    // ureq itself (with a resolve timeout in force, ureq resolves the host on a new thread
    // for every request, pooled connection or not).
    group.bench_function("ureq/raw Agent::run + adapter's timeouts", |b| {
        b.iter_custom(|iters| {
            timed(&server, iters, || {
                let request = agent
                    .configure_request(request.to_http())
                    .timeout_global(Some(Duration::from_secs(30)))
                    .timeout_connect(Some(Duration::from_secs(30)))
                    .build();
                let response = agent.run(request).unwrap();
                let (parts, mut body) = response.into_parts();
                let body = body.read_to_vec().unwrap();
                check(parts.status);
                black_box(http::Response::from_parts(parts, body));
            })
        })
    });
    connections(&server, "ureq/raw Agent::run + adapter's timeouts");
    group.finish();
}

criterion_group!(benches, roundtrip);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
