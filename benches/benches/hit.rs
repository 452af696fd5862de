//! Cached-token hit: the cost of getting a valid cached token (or authorizing a request)
//! from each native `TokenSource`, on one thread and on two threads at once, next to a
//! `Mutex<Option<Arc<Token>>>` baseline and to the clock the sources read on every hit.
//!
//! Every row runs the same loop through `zuora_oauth_benches::on_threads` (criterion
//! `iter_custom`): `threads` threads, started together, each doing `iters` operations; the
//! time reported per iteration is the time per operation on each thread (the slowest
//! thread's), and the throughput criterion prints is the total over all threads.
//!
//! A hit is `token()` (it clones the handle: two `Arc` counts) or `authorize()` on a
//! request to the token's environment (the bearer value read from its sequence lock, no
//! lock, no shared write; a new header value, allocated for the request). The middleware
//! rows run one API call through each middleware's whole token path — the destination
//! check, the token, the headers, the 401 bookkeeping — to an inner service that answers at
//! once (no network): tower's `AuthorizeLayer`, reqwest-middleware's `AuthorizeMiddleware`
//! (a terminal middleware answers), ureq's (a middleware after it answers).
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
use zuora_oauth_benches::{Timed, bench_mode, interleave, median_min_max, on_threads, ready};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, Timestamp, Token, TokenRequest};
use zuora_oauth_driver::tower::AuthorizeLayer;
use zuora_oauth_driver::{BlockingTokenSource, Clock, TokenSource};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};
use zuora_oauth_ureq::UreqTransport;

struct Sources {
    _server: MockServer,
    _runtime: tokio::runtime::Runtime,
    hyper: TokenSource,
    /// The same source with a clock that always reads the same time (a call, no kernel
    /// data): its hit path without the clock read.
    frozen: TokenSource,
    ureq_source: BlockingTokenSource,
    /// A call to the token's environment (the sources authorize no other).
    api_call: String,
    /// The middlewares over an inner service that answers at once.
    tower: Tower,
    reqwest: reqwest_middleware::ClientWithMiddleware,
    ureq: ureq::Agent,
    /// The same stacks without the authorizing middleware: what the middleware adds, and
    /// how the stack itself scales.
    bare_reqwest: reqwest_middleware::ClientWithMiddleware,
    bare_ureq: ureq::Agent,
    baseline: Mutex<Option<Arc<Token>>>,
    /// What the sources' hit path reads the time as, for the clock rows.
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
        let (hyper, frozen) = runtime.block_on(async {
            let source = TokenSource::new(request.clone(), HyperTransport::new());
            source.token().await.expect("hyper source gets a token");
            let frozen = TokenSource::builder(request.clone(), HyperTransport::new())
                .with_clock(Clock::new(
                    || Duration::from_secs(1),
                    std::time::SystemTime::now,
                ))
                .build();
            frozen.token().await.expect("hyper source gets a token");
            (source, frozen)
        });
        let ureq = BlockingTokenSource::new(request, UreqTransport::new());
        let token = ureq.token().expect("ureq source gets a token");
        assert_eq!(server.token_request_count(), 3);
        let tower = tower::ServiceBuilder::new()
            .layer(AuthorizeLayer::new(hyper.clone()))
            .service(tower::service_fn(answer_at_once as Answer));
        let reqwest = reqwest_middleware::ClientBuilder::new(reqwest_client())
            .with(zuora_oauth_reqwest::AuthorizeMiddleware::new(hyper.clone()))
            .with(AnswerAtOnce)
            .build();
        let ureq_agent = zuora_oauth_ureq::AuthorizeMiddleware::new(ureq.clone()).agent(|| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .middleware(AnswerAtOnce)
        });
        let bare_reqwest = reqwest_middleware::ClientBuilder::new(reqwest_client())
            .with(AnswerAtOnce)
            .build();
        let bare_ureq: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .middleware(AnswerAtOnce)
            .build()
            .into();
        Self {
            tower,
            reqwest,
            ureq: ureq_agent,
            bare_reqwest,
            bare_ureq,
            api_call: server.api_url("/v1/catalog/products"),
            _server: server,
            _runtime: runtime,
            hyper,
            frozen,
            ureq_source: ureq,
            baseline: Mutex::new(Some(Arc::clone(token.token()))),
            origin: coarsetime::Instant::now(),
        }
    }
}

/// The inner service of the tower rows.
type Answer = fn(
    http::Request<http_body_util::Empty<bytes::Bytes>>,
) -> std::future::Ready<Result<http::Response<()>, std::convert::Infallible>>;
type Tower = zuora_oauth_driver::tower::Authorize<tower::util::ServiceFn<Answer>>;

/// An inner service that answers every call with a 200 at once.
fn answer_at_once(
    _request: http::Request<http_body_util::Empty<bytes::Bytes>>,
) -> std::future::Ready<Result<http::Response<()>, std::convert::Infallible>> {
    std::future::ready(Ok(http::Response::new(())))
}

/// A reqwest client (it is never used to send: the terminal middleware answers).
fn reqwest_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Answers every call with a 200 without sending it: the last middleware of a chain.
struct AnswerAtOnce;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for AnswerAtOnce {
    async fn handle(
        &self,
        _request: reqwest::Request,
        _extensions: &mut http::Extensions,
        _next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        Ok(reqwest::Response::from(http::Response::new(
            Vec::<u8>::new(),
        )))
    }
}

impl ureq::middleware::Middleware for AnswerAtOnce {
    fn handle(
        &self,
        _request: http::Request<ureq::SendBody>,
        _next: ureq::middleware::MiddlewareNext,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        Ok(http::Response::new(ureq::Body::builder().data("")))
    }
}

/// The time-stamp counter.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64.
    unsafe { std::arch::x86_64::_rdtsc() }
}

impl Sources {
    /// A request to authorize: a Zuora API call in the token's environment.
    fn api_call(&self) -> http::Request<()> {
        http::Request::get(&self.api_call).body(()).unwrap()
    }
}

/// Where the rows go: criterion, or the interleaved runner.
trait Rows<'s> {
    /// One row: `op` on the sink's number of threads, each with its own state from `init`.
    fn row<T: 's>(
        &mut self,
        name: &'static str,
        init: impl Fn() -> T + Sync + 's,
        op: impl Fn(&mut T) + Sync + 's,
    );
}

/// Rows as criterion benchmarks (`iter_custom`).
struct CriterionRows<'g, 'c> {
    group: &'g mut BenchmarkGroup<'c, WallTime>,
    threads: usize,
}

impl<'s> Rows<'s> for CriterionRows<'_, '_> {
    fn row<T: 's>(
        &mut self,
        name: &'static str,
        init: impl Fn() -> T + Sync + 's,
        op: impl Fn(&mut T) + Sync + 's,
    ) {
        let threads = self.threads;
        self.group.bench_function(name, |b| {
            b.iter_custom(|iters| on_threads(threads, iters, &init, &op))
        });
    }
}

/// Rows collected for `interleave`: each times `iters` operations per thread.
struct CollectedRows<'s> {
    threads: usize,
    rows: Vec<(&'static str, Timed<'s>)>,
}

impl<'s> Rows<'s> for CollectedRows<'s> {
    fn row<T: 's>(
        &mut self,
        name: &'static str,
        init: impl Fn() -> T + Sync + 's,
        op: impl Fn(&mut T) + Sync + 's,
    ) {
        let threads = self.threads;
        self.rows.push((
            name,
            Box::new(move |iters| on_threads(threads, iters, &init, &op)),
        ));
    }
}

fn rows<'s>(r: &mut impl Rows<'s>, s: &'s Sources) {
    let unit = || ();
    // Control: work that shares nothing between threads (16 dependent multiply-adds, about
    // as long as a hit). How well this scales from one thread to two is what the machine
    // allows at the moment (its vCPUs are shared with other tenants).
    r.row(
        "control/thread-local arithmetic",
        || 1u64,
        |x| {
            let mut v = *x;
            for _ in 0..16 {
                v = black_box(v)
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
            }
            *x = v;
        },
    );
    // Where the time goes: the clock alone.
    r.row("clock/coarsetime::Instant::now", unit, move |_| {
        black_box(coarsetime::Instant::now());
    });
    r.row("clock/coarse, as the sources read it", unit, move |_| {
        let since: Duration = coarsetime::Instant::now_without_cache_update()
            .duration_since(s.origin)
            .into();
        black_box(Timestamp::from_duration(since));
    });
    r.row("clock/std::time::Instant::now", unit, move |_| {
        black_box(std::time::Instant::now());
    });
    // Context only (no source reads it): the CPU's time-stamp counter, no kernel data.
    #[cfg(target_arch = "x86_64")]
    r.row("clock/rdtsc (context)", unit, move |_| {
        black_box(rdtsc());
    });
    // The driver's hit path without the clock read (a constant clock).
    r.row("driver/token (constant clock)", unit, move |_| {
        black_box(ready(s.frozen.token()).unwrap());
    });
    // The read at the heart of `authorize` and every middleware: the bearer value from its
    // sequence lock and the clock (no lock, nothing shared written, no allocation).
    r.row(
        "hyper/bearer read (authorize's and the middlewares' token read)",
        unit,
        move |_| {
            assert!(black_box(zuora_oauth_driver::internal::bearer_is_fresh(
                black_box(&s.hyper)
            )));
        },
    );

    // The async TokenSource over hyper: the calls are polled once (a hit is ready at once).
    r.row("hyper/token (clones the handle)", unit, move |_| {
        black_box(ready(s.hyper.token()).unwrap());
    });
    r.row(
        "hyper/authorize",
        || s.api_call(),
        move |request| {
            black_box(ready(s.hyper.authorize(request)).unwrap());
        },
    );

    // The BlockingTokenSource over ureq.
    r.row("ureq/token (clones the handle)", unit, move |_| {
        black_box(s.ureq_source.token().unwrap());
    });
    r.row(
        "ureq/authorize",
        || s.api_call(),
        move |request| {
            black_box(s.ureq_source.authorize(request).unwrap());
        },
    );

    // One API call through each middleware's token path, to an inner service that answers
    // at once.
    r.row(
        "middleware/tower AuthorizeLayer (call)",
        || s.tower.clone(),
        move |service| {
            let call = http::Request::get(&s.api_call)
                .body(http_body_util::Empty::new())
                .unwrap();
            black_box(ready(tower::Service::call(service, call)).unwrap());
        },
    );
    r.row("middleware/reqwest-middleware (call)", unit, move |_| {
        black_box(ready(s.reqwest.get(&s.api_call).send()).unwrap());
    });
    r.row("middleware/ureq (call)", unit, move |_| {
        black_box(s.ureq.get(&s.api_call).call().unwrap());
    });

    // The same calls without the authorizing middleware (context: the stack's own cost).
    r.row(
        "middleware/tower, no AuthorizeLayer (context)",
        || tower::service_fn(answer_at_once as Answer),
        move |service| {
            let call = http::Request::get(&s.api_call)
                .body(http_body_util::Empty::new())
                .unwrap();
            black_box(ready(tower::Service::call(service, call)).unwrap());
        },
    );
    r.row(
        "middleware/reqwest-middleware, no AuthorizeMiddleware (context)",
        unit,
        move |_| {
            black_box(ready(s.bare_reqwest.get(&s.api_call).send()).unwrap());
        },
    );
    r.row(
        "middleware/ureq, no AuthorizeMiddleware (context)",
        unit,
        move |_| {
            black_box(s.bare_ureq.get(&s.api_call).call().unwrap());
        },
    );

    // The baseline: lock, clone the Arc, unlock (the clone is dropped after use).
    r.row("baseline/Mutex<Option<Arc<Token>>>", unit, move |_| {
        let token = s
            .baseline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        black_box(token);
    });
}

fn hit(c: &mut Criterion) {
    let sources = Sources::start();
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("hit/{threads}-thread"));
        group.throughput(Throughput::Elements(threads as u64));
        rows(
            &mut CriterionRows {
                group: &mut group,
                threads,
            },
            &sources,
        );
        group.finish();
    }
    if bench_mode() {
        interleaved(&sources);
    }
    // Still the three tokens fetched at start: no hit went to the server.
    assert_eq!(sources._server.token_request_count(), 3);
}

/// Criterion runs one row after the other; on this shared machine a burst of load can then
/// favour one row, or one thread count. This runs every row with 1 and with 2 threads in
/// turns, `ROUNDS` times, and prints the medians: the ratios (scaling, × baseline) come
/// from rows measured side by side.
fn interleaved(sources: &Sources) {
    const ROUNDS: usize = 31;
    const TURN: Duration = Duration::from_millis(20);
    let mut one = CollectedRows {
        threads: 1,
        rows: Vec::new(),
    };
    rows(&mut one, sources);
    let mut two = CollectedRows {
        threads: 2,
        rows: Vec::new(),
    };
    rows(&mut two, sources);
    let timed: Vec<&Timed<'_>> = one.rows.iter().chain(&two.rows).map(|(_, f)| f).collect();
    let times = interleave(ROUNDS, TURN, &timed);
    let (t1, t2) = times.split_at(one.rows.len());
    let base = one
        .rows
        .iter()
        .position(|(name, _)| name.starts_with("baseline/"))
        .expect("a baseline row");
    let base2 = median_min_max(&mut t2[base].clone()).0;
    println!(
        "\nCached-token hit, interleaved: {ROUNDS} rounds; each round runs every row for \
         about {TURN:?}, with 1 and with 2 threads"
    );
    println!(
        "| operation | 1 thread: ns/op median (min–max) | 2 threads: ns/op per thread median \
         (min–max) | scaling 1 → 2 threads | × Mutex baseline, 2 threads |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (i, (name, _)) in one.rows.iter().enumerate() {
        let (m1, lo1, hi1) = median_min_max(&mut t1[i].clone());
        let (m2, lo2, hi2) = median_min_max(&mut t2[i].clone());
        println!(
            "| {name} | {m1:.1} ({lo1:.1}–{hi1:.1}) | {m2:.1} ({lo2:.1}–{hi2:.1}) | {:.2}× | {:.1}× |",
            2.0 * m1 / m2,
            base2 / m2
        );
    }
}

criterion_group!(benches, hit);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
