//! Cached-token hit: the cost of getting a valid cached token (or authorizing a request)
//! from each native `TokenSource`, on one thread and on two threads at once, next to a
//! `Mutex<Option<Arc<Token>>>` baseline and to the clock the sources read on every hit.
//!
//! Every row runs the same loop through `zuora_oauth_benches::on_threads` (criterion
//! `iter_custom`): `threads` threads, started together, each doing `iters` operations; the
//! time reported per iteration is the time per operation on each thread (the slowest
//! thread's), and the throughput criterion prints is the total over all threads.
//!
//! The sources use their default clock (`coarsetime`, `CLOCK_MONOTONIC_COARSE`) and hold a
//! token fetched once from the testkit's mock server on 127.0.0.1 (lifetime one day, so
//! that no refresh starts during the run).
//!
//! `cargo bench -p zuora-oauth-benches --bench hit`

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, measurement::WallTime};
use zuora_oauth_benches::{on_threads, ready};
use zuora_oauth_core::{
    ClientId, ClientSecret, Environment, SharedLifecycle, Timestamp, Token, TokenRequest,
};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

struct Sources {
    _server: MockServer,
    _runtime: tokio::runtime::Runtime,
    hyper: zuora_oauth_hyper::TokenSource,
    ureq: zuora_oauth_ureq::TokenSource,
    baseline: Mutex<Option<Arc<Token>>>,
    /// What the sources' hit path reads the time as, for the clock-free `with_fresh` row.
    origin: coarsetime::Instant,
}

impl Sources {
    fn start() -> Self {
        let server = MockServer::builder()
            .without_rate_limit()
            .token_lifetime(Duration::from_secs(86_400))
            .start()
            .expect("mock server starts");
        let request = TokenRequest::new(
            Environment::custom(&server.base_url()).unwrap(),
            ClientId::new(DEMO_CLIENT_ID).unwrap(),
            ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let hyper = runtime.block_on(async {
            let source = zuora_oauth_hyper::TokenSource::new(request.clone());
            source.token().await.expect("hyper source gets a token");
            source
        });
        let ureq = zuora_oauth_ureq::TokenSource::new(request);
        let token = ureq.token().expect("ureq source gets a token");
        assert_eq!(server.token_request_count(), 2);
        Self {
            _server: server,
            _runtime: runtime,
            hyper,
            ureq,
            baseline: Mutex::new(Some(Arc::clone(token.token()))),
            origin: coarsetime::Instant::now(),
        }
    }

    fn lifecycle(&self) -> &SharedLifecycle {
        self.hyper.lifecycle()
    }
}

/// The time-stamp counter.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64.
    unsafe { std::arch::x86_64::_rdtsc() }
}

fn api_call() -> http::Request<()> {
    http::Request::get("https://rest.zuora.com/v1/catalog/products")
        .body(())
        .unwrap()
}

/// One row: `op` on `threads` threads, each with its own state from `init`.
fn row<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    threads: usize,
    name: &str,
    init: impl Fn() -> T + Sync,
    op: impl Fn(&mut T) + Sync,
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| on_threads(threads, iters, &init, &op))
    });
}

fn rows(group: &mut BenchmarkGroup<'_, WallTime>, threads: usize, s: &Sources) {
    let unit = || ();
    // Control: work that shares nothing between threads. How well this scales from one
    // thread to two is what the machine allows at the moment (its vCPUs are shared).
    row(
        group,
        threads,
        "control/thread-local arithmetic",
        || 1u64,
        |x| {
            *x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        },
    );
    // Where the time goes: the clock alone.
    row(
        group,
        threads,
        "clock/coarsetime::Instant::now",
        unit,
        |_| {
            black_box(coarsetime::Instant::now());
        },
    );
    row(
        group,
        threads,
        "clock/coarse, as the sources read it",
        unit,
        |_| {
            let since: Duration = coarsetime::Instant::now().duration_since(s.origin).into();
            black_box(Timestamp::from_duration(since));
        },
    );
    row(
        group,
        threads,
        "clock/std::time::Instant::now",
        unit,
        |_| {
            black_box(std::time::Instant::now());
        },
    );
    // Context only (no source reads it): the CPU's time-stamp counter, no kernel data.
    #[cfg(target_arch = "x86_64")]
    row(group, threads, "clock/rdtsc (context)", unit, |_| {
        black_box(rdtsc());
    });
    // The core's hit path without any clock.
    let now = Timestamp::from_duration(Duration::from_secs(1));
    row(group, threads, "core/with_fresh (no clock)", unit, |_| {
        black_box(s.lifecycle().with_fresh(black_box(now), |h| h.generation()));
    });

    // hyper's TokenSource: the async calls are polled once (a hit is ready at once).
    row(group, threads, "hyper/with_cached", unit, |_| {
        black_box(s.hyper.with_cached(|h| h.generation()));
    });
    row(
        group,
        threads,
        "hyper/cached (clones the handle)",
        unit,
        |_| {
            black_box(s.hyper.cached());
        },
    );
    row(group, threads, "hyper/with_token", unit, |_| {
        black_box(ready(s.hyper.with_token(|h| h.generation())).unwrap());
    });
    row(
        group,
        threads,
        "hyper/token (clones the handle)",
        unit,
        |_| {
            black_box(ready(s.hyper.token()).unwrap());
        },
    );
    row(group, threads, "hyper/authorize", api_call, |request| {
        black_box(ready(s.hyper.authorize(request)).unwrap());
    });

    // ureq's TokenSource.
    row(group, threads, "ureq/with_token", unit, |_| {
        black_box(s.ureq.with_token(|h| h.generation()).unwrap());
    });
    row(
        group,
        threads,
        "ureq/cached (clones the handle)",
        unit,
        |_| {
            black_box(s.ureq.cached());
        },
    );
    row(
        group,
        threads,
        "ureq/token (clones the handle)",
        unit,
        |_| {
            black_box(s.ureq.token().unwrap());
        },
    );
    row(group, threads, "ureq/authorize", api_call, |request| {
        black_box(s.ureq.authorize(request).unwrap());
    });

    // The baseline: lock, clone the Arc, unlock (the clone is dropped after use).
    row(
        group,
        threads,
        "baseline/Mutex<Option<Arc<Token>>>",
        unit,
        |_| {
            let token = s
                .baseline
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            black_box(token);
        },
    );
}

fn hit(c: &mut Criterion) {
    let sources = Sources::start();
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("hit/{threads}-thread"));
        group.throughput(Throughput::Elements(threads as u64));
        rows(&mut group, threads, &sources);
        group.finish();
    }
    // Still the two tokens fetched at start: no hit went to the server.
    assert_eq!(sources._server.token_request_count(), 2);
}

criterion_group!(benches, hit);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
