//! Loopback round trip: one token request over each adapter's transport
//! (`Transport::send` of a `HyperTransport`, `BlockingTransport::send` of a `UreqTransport`) against the testkit's mock server on
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
use zuora_oauth_driver::{BlockingTransport, Limits, Transport};
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

/// A named round trip.
type Variant<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Times `iters` runs of `f` after clearing the server's request log (outside the timing).
fn timed(server: &MockServer, iters: u64, f: impl Fn()) -> Duration {
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

    // ureq: the adapter, a raw agent with the same settings (no status-as-error, no
    // redirects), and the raw agent with the adapter's per-request timeouts, which isolates
    // what they cost in ureq itself (with a resolve timeout in force, ureq resolves the host
    // on a new thread for every request, pooled connection or not).
    let ureq_transport = zuora_oauth_ureq::UreqTransport::new();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();

    // Every variant: one request on a warm connection, the whole body read, status checked.
    let variants: Vec<Variant<'_>> = vec![
        (
            "hyper/HyperTransport::send",
            Box::new(|| {
                let response = stale_once(|| {
                    runtime.block_on(Transport::send(
                        &transport,
                        request.to_http(),
                        Limits::default(),
                    ))
                });
                check(response.status());
                black_box(response);
            }),
        ),
        (
            "hyper/raw hyper-util client (same connector)",
            Box::new(|| {
                let response =
                    stale_once(|| runtime.block_on(raw_hyper(&raw_same_connector, &request)));
                check(response.status());
                black_box(response);
            }),
        ),
        (
            "hyper/raw hyper-util client (HttpConnector)",
            Box::new(|| {
                let response = stale_once(|| runtime.block_on(raw_hyper(&raw_http, &request)));
                check(response.status());
                black_box(response);
            }),
        ),
        (
            "ureq/UreqTransport::send",
            Box::new(|| {
                let response =
                    BlockingTransport::send(&ureq_transport, request.to_http(), Limits::default())
                        .unwrap();
                check(response.status());
                black_box(response);
            }),
        ),
        (
            "ureq/raw Agent::run",
            Box::new(|| {
                let response = agent.run(request.to_http()).unwrap();
                let (parts, mut body) = response.into_parts();
                let body = body.read_to_vec().unwrap();
                check(parts.status);
                black_box(http::Response::from_parts(parts, body));
            }),
        ),
        (
            "ureq/raw Agent::run + adapter's timeouts",
            Box::new(|| {
                let with_timeouts = agent
                    .configure_request(request.to_http())
                    .timeout_global(Some(Limits::default().timeout()))
                    .timeout_connect(Some(Limits::default().connect_timeout()))
                    .build();
                let response = agent.run(with_timeouts).unwrap();
                let (parts, mut body) = response.into_parts();
                let body = body.read_to_vec().unwrap();
                check(parts.status);
                black_box(http::Response::from_parts(parts, body));
            }),
        ),
    ];

    let mut group = c.benchmark_group("roundtrip");
    group.sample_size(50);
    for (name, f) in &variants {
        group.bench_function(*name, |b| b.iter_custom(|iters| timed(&server, iters, f)));
        connections(&server, name);
    }
    group.finish();

    if zuora_oauth_benches::bench_mode() {
        interleaved(&server, &variants);
    }
}

/// Criterion runs one variant after the other, so a burst of load on this shared machine
/// can favour one of them. This runs the variants in turns instead (`ROUNDS` rounds of
/// `PER_ROUND` requests each) and prints the median time per request over the rounds.
fn interleaved(server: &MockServer, variants: &[Variant<'_>]) {
    const ROUNDS: usize = 21;
    const PER_ROUND: u32 = 200;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for _ in 0..ROUNDS {
        for (i, (_, f)) in variants.iter().enumerate() {
            let elapsed = timed(server, u64::from(PER_ROUND), f);
            times[i].push(elapsed.as_secs_f64() * 1e6 / f64::from(PER_ROUND));
        }
    }
    println!(
        "\nRound trip, interleaved: {ROUNDS} rounds of {PER_ROUND} requests per variant, µs per request"
    );
    println!("| variant | median | min | max |");
    println!("|---|---:|---:|---:|");
    for ((name, _), mut t) in variants.iter().zip(times) {
        let (median, min, max) = zuora_oauth_benches::median_min_max(&mut t);
        println!("| {name} | {median:.1} | {min:.1} | {max:.1} |");
    }
}

/// A raw hyper-util POST of the core's request bytes, whole body collected.
async fn raw_hyper<C>(
    client: &Client<C, Full<Bytes>>,
    request: &TokenRequest,
) -> Result<http::Response<Bytes>, String>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let request = request.to_http().map(|body| Full::new(Bytes::from(body)));
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(http::Response::from_parts(parts, body))
}

/// Sends once more if the first attempt fails. The mock server (hyper's default header-read
/// timeout) closes a keep-alive connection after 30 s without a request; a hyper-util
/// client whose runtime was not polled meanwhile does not notice and reuses it once. Only
/// the first request after such a pause (between benchmark groups) can meet this.
fn stale_once<T, E: std::fmt::Debug>(send: impl Fn() -> Result<T, E>) -> T {
    send().or_else(|_| send()).expect("round trip")
}

criterion_group!(benches, roundtrip);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
