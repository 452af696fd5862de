//! Storm: many callers ask for a token at the same moment, at startup (no token yet) and at
//! expiry (the manual clock jumps past the token's lifetime), against the testkit's mock
//! server on 127.0.0.1 (rate limit off). For each transport's `TokenSource` (1,000 tokio
//! tasks for hyper, 64 threads for ureq): the token requests the server received (must be 1
//! each time) and the wall time from the callers' release (a barrier) until the last caller
//! holds a token. Next to it, the naive baseline: every caller sends its own request with
//! the same transport (`Transport::send` of a `HyperTransport` / `BlockingTransport::send` of
//! a `UreqTransport`) and parses the answer.
//!
//! Not a criterion bench: it prints a Markdown table (median, min and max over `STORM_REPS`
//! runs, default 15). Without `--bench` (as under `cargo test --benches`) it runs one small
//! smoke round instead.
//!
//! `cargo bench -p zuora-oauth-benches --bench storm`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use zuora_oauth_benches::{bench_mode, median_min_max};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, LifecycleConfig, TokenRequest};
use zuora_oauth_driver::{
    BlockingTokenSource, BlockingTransport, Clock, Limits, TokenSource, Transport,
};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};
use zuora_oauth_ureq::UreqTransport;

/// A clock moved by hand, read by the sources through their `clock` hook.
#[derive(Clone, Default)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn set(&self, t: Duration) {
        self.0.store(t.as_nanos() as u64, Ordering::SeqCst);
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

/// One storm's outcome.
struct Storm {
    requests: usize,
    wall: Duration,
}

/// The results of one (transport, variant, phase) over every repetition.
struct Row {
    transport: &'static str,
    callers: usize,
    variant: &'static str,
    phase: &'static str,
    requests: Vec<usize>,
    walls: Vec<f64>,
}

fn token_request(server: &MockServer) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&server.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

fn config() -> LifecycleConfig {
    LifecycleConfig::default()
}

/// Runs `callers` tokio tasks released together; each runs `ask` once and must succeed.
/// Wall time: from the release (the barrier's leader) to the last task's answer.
fn tokio_storm<F, Fut>(
    runtime: &tokio::runtime::Runtime,
    server: &MockServer,
    callers: usize,
    ask: F,
) -> Storm
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let before = server.token_request_count();
    let start = Arc::new(OnceLock::new());
    let barrier = Arc::new(tokio::sync::Barrier::new(callers));
    let ends = runtime.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let (barrier, start, ask) = (Arc::clone(&barrier), Arc::clone(&start), ask());
                tokio::spawn(async move {
                    if barrier.wait().await.is_leader() {
                        let _ = start.set(Instant::now());
                    }
                    assert!(ask.await, "a caller failed to get a token");
                    Instant::now()
                })
            })
            .collect();
        let mut ends = Vec::with_capacity(callers);
        for task in tasks {
            ends.push(task.await.expect("task panicked"));
        }
        ends
    });
    let start = *start.get().expect("a leader");
    Storm {
        requests: server.token_request_count() - before,
        wall: ends.into_iter().max().unwrap() - start,
    }
}

/// Runs `callers` threads released together; each runs `ask` once and must succeed.
fn thread_storm(
    server: &MockServer,
    callers: usize,
    ask: impl Fn() -> bool + Send + Sync + Clone + 'static,
) -> Storm {
    let before = server.token_request_count();
    let start = Arc::new(OnceLock::new());
    let barrier = Arc::new(Barrier::new(callers));
    let threads: Vec<_> = (0..callers)
        .map(|_| {
            let (barrier, start, ask) = (Arc::clone(&barrier), Arc::clone(&start), ask.clone());
            std::thread::spawn(move || {
                if barrier.wait().is_leader() {
                    let _ = start.set(Instant::now());
                }
                assert!(ask(), "a caller failed to get a token");
                Instant::now()
            })
        })
        .collect();
    let ends: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread panicked"))
        .collect();
    let start = *start.get().expect("a leader");
    Storm {
        requests: server.token_request_count() - before,
        wall: ends.into_iter().max().unwrap() - start,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// hyper: one `TokenSource` (single flight) and the naive baseline, startup then expiry.
fn hyper_round(server: &MockServer, callers: usize) -> [(&'static str, &'static str, Storm); 4] {
    let runtime = runtime();
    // The source: a manual clock at 0, then just past the token's lifetime.
    let clock = ManualClock::default();
    let source = runtime.block_on(async {
        let clock = clock.clone();
        TokenSource::builder(token_request(server), HyperTransport::new())
            .with_config(config())
            .with_clock(Clock::new(move || clock.now(), std::time::SystemTime::now))
            .with_seed(7)
            .build()
    });
    let ask = || {
        let source = source.clone();
        async move { source.token().await.is_ok() }
    };
    let startup = tokio_storm(&runtime, server, callers, ask);
    clock.set(Duration::from_secs(3600));
    let expiry = tokio_storm(&runtime, server, callers, ask);

    // The baseline: every caller sends and parses its own request with the same transport
    // (a fresh one, so that startup opens its connections too).
    let transport = runtime.block_on(async { HyperTransport::new() });
    let request = Arc::new(token_request(server));
    let naive = || {
        let (transport, request) = (transport.clone(), Arc::clone(&request));
        async move {
            match Transport::send(&transport, request.to_http(), Limits::default()).await {
                Ok(response) => request.parse_response(&response).is_ok(),
                Err(_) => false,
            }
        }
    };
    let naive_startup = tokio_storm(&runtime, server, callers, naive);
    let naive_expiry = tokio_storm(&runtime, server, callers, naive);
    [
        ("TokenSource (single flight)", "startup", startup),
        ("TokenSource (single flight)", "expiry", expiry),
        ("naive: every caller fetches", "startup", naive_startup),
        ("naive: every caller fetches", "expiry", naive_expiry),
    ]
}

/// ureq: the same with threads.
fn ureq_round(server: &MockServer, callers: usize) -> [(&'static str, &'static str, Storm); 4] {
    let clock = ManualClock::default();
    let source = {
        let clock = clock.clone();
        BlockingTokenSource::builder(token_request(server), UreqTransport::new())
            .with_config(config())
            .with_clock(Clock::new(move || clock.now(), std::time::SystemTime::now))
            .with_seed(7)
            .build()
    };
    let ask = move || source.token().is_ok();
    let startup = thread_storm(server, callers, ask.clone());
    clock.set(Duration::from_secs(3600));
    let expiry = thread_storm(server, callers, ask);

    let transport = UreqTransport::new();
    let request = Arc::new(token_request(server));
    let naive =
        move || match BlockingTransport::send(&transport, request.to_http(), Limits::default()) {
            Ok(response) => request.parse_response(&response).is_ok(),
            Err(_) => false,
        };
    let naive_startup = thread_storm(server, callers, naive.clone());
    let naive_expiry = thread_storm(server, callers, naive);
    [
        ("TokenSource (single flight)", "startup", startup),
        ("TokenSource (single flight)", "expiry", expiry),
        ("naive: every caller fetches", "startup", naive_startup),
        ("naive: every caller fetches", "expiry", naive_expiry),
    ]
}

fn record(
    rows: &mut Vec<Row>,
    transport: &'static str,
    callers: usize,
    round: [(&'static str, &'static str, Storm); 4],
) {
    for (variant, phase, storm) in round {
        let row = match rows
            .iter_mut()
            .position(|r| r.transport == transport && r.variant == variant && r.phase == phase)
        {
            Some(i) => &mut rows[i],
            None => {
                rows.push(Row {
                    transport,
                    callers,
                    variant,
                    phase,
                    requests: Vec::new(),
                    walls: Vec::new(),
                });
                rows.last_mut().unwrap()
            }
        };
        row.requests.push(storm.requests);
        row.walls.push(storm.wall.as_secs_f64() * 1e3);
    }
}

fn main() {
    let (reps, hyper_callers, ureq_callers) = if bench_mode() {
        let reps = std::env::var("STORM_REPS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(15);
        (reps, 1000, 64)
    } else {
        (1, 50, 8) // smoke run under `cargo test --benches`
    };
    let server = MockServer::builder()
        .without_rate_limit()
        .start()
        .expect("mock server starts");
    let mut rows = Vec::new();
    for rep in 0..reps {
        eprintln!("storm: round {}/{reps}", rep + 1);
        record(
            &mut rows,
            "hyper",
            hyper_callers,
            hyper_round(&server, hyper_callers),
        );
        record(
            &mut rows,
            "ureq",
            ureq_callers,
            ureq_round(&server, ureq_callers),
        );
        server.reset(); // drop the request records between rounds
    }

    println!("\nStorm: {reps} rounds; wall time from the callers' release until all hold a token");
    println!(
        "| transport | callers | variant | phase | token requests (each round) | wall time median | min | max |"
    );
    println!("|---|---:|---|---|---|---:|---:|---:|");
    for row in &mut rows {
        let (median, min, max) = median_min_max(&mut row.walls);
        let (lo, hi) = (
            row.requests.iter().min().unwrap(),
            row.requests.iter().max().unwrap(),
        );
        let requests = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo}–{hi}")
        };
        println!(
            "| {} | {} | {} | {} | {requests} | {median:.2} ms | {min:.2} ms | {max:.2} ms |",
            row.transport, row.callers, row.variant, row.phase
        );
    }
    for row in &rows {
        if row.variant.starts_with("TokenSource") {
            assert!(
                row.requests.iter().all(|&n| n == 1),
                "{} {}: {:?} token requests",
                row.transport,
                row.phase,
                row.requests
            );
        }
    }
}
