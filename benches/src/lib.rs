//! Shared pieces of the zuora-oauth benchmarks (see `BENCHMARKS.md` at the workspace root):
//! a counting global allocator, a canned Zuora token response, a one-shot future poller and
//! a two-thread timing helper for criterion's `iter_custom`.
//!
//! Only `std` here: the benchmarks themselves hold every other dependency.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::pin;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The client ID used by every in-process benchmark (36 characters, like Zuora's).
pub const CLIENT_ID: &str = "8a8a8a8a-0000-1111-2222-333344445555";
/// A secret with `+`, `/` and `=`, so that form encoding has work to do.
pub const CLIENT_SECRET: &str = "m0ck+Zu0ra/S3cr3t=Fo7+Te5ts/On1y=Lo0pback";
/// The token endpoint of Zuora's US production environment (`prod`).
pub const TOKEN_URL: &str = "https://rest.zuora.com/oauth/token";

/// The success body from ZUORA.md, byte for byte (line break included).
pub const TOKEN_BODY: &str = r#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,
 "jti":"c652cbc0ea384b9f81856a93a2a74539",
 "scope":"user.7c4d5433dc234c369a01b9719ecd059f entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc entity.c92ed977-510c-4c48-9b51-8d5e848671e9 service.echo.read tenant.19",
 "token_type":"bearer"}"#;

/// The headers of a realistic Zuora 200 token response, in the order a server sends them:
/// `Content-Type` with a charset, `Date`, `Zuora-Request-Id`, both generations of
/// rate-limit headers, and the usual framing headers.
pub const TOKEN_HEADERS: &[(&str, &str)] = &[
    ("date", "Fri, 28 Nov 2025 17:40:09 GMT"),
    ("content-type", "application/json;charset=utf-8"),
    ("content-length", "302"),
    ("connection", "keep-alive"),
    ("zuora-request-id", "5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10"),
    ("x-ratelimit-limit-minute", "100"),
    ("x-ratelimit-remaining-minute", "99"),
    ("ratelimit-limit", "100, 100;w=60"),
    ("ratelimit-remaining", "99"),
    ("ratelimit-reset", "51"),
    ("cache-control", "no-store"),
    ("pragma", "no-cache"),
];

/// A global allocator that counts allocations (and reallocations) while counting is on.
/// Off, it costs one relaxed atomic load per allocation.
pub struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to `System`; only counters are touched besides.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every path above forwards).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as for `dealloc`; `new_size` is the caller's promise.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// Allocations (calls to `alloc`, `alloc_zeroed` and `realloc`) and bytes requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocs {
    /// Number of allocation calls.
    pub count: u64,
    /// Bytes requested by them.
    pub bytes: u64,
}

/// Runs `f` `runs` times with counting on (only meaningful with [`CountingAlloc`] as the
/// global allocator and no other thread allocating) and returns the allocations per run.
pub fn allocs_per_run(runs: u64, mut f: impl FnMut()) -> Allocs {
    f(); // warm up lazily initialised statics
    ALLOCS.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..runs {
        f();
    }
    COUNTING.store(false, Ordering::SeqCst);
    Allocs {
        count: ALLOCS.load(Ordering::SeqCst) / runs,
        bytes: BYTES.load(Ordering::SeqCst) / runs,
    }
}

/// Polls `future` once with a no-op waker and returns its output: for futures that are
/// ready at once (a cache hit), this measures the future itself without any runtime.
///
/// # Panics
///
/// If the future is not ready on the first poll.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("expected a future that is ready at once (a cache hit)"),
    }
}

/// Runs `op` `iters` times on each of `threads` threads (started together behind a barrier,
/// each with its own state from `init`) and returns the longest per-thread time. Thread
/// start-up is outside the timed part. For criterion's `iter_custom`: the reported time per
/// iteration is then the time per operation on each thread, and the total throughput is
/// `threads` operations per that time.
pub fn on_threads<T>(
    threads: usize,
    iters: u64,
    init: impl Fn() -> T + Sync,
    op: impl Fn(&mut T) + Sync,
) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut state = init();
                    op(&mut state); // first call on this thread: take any one-off slow path
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        op(&mut state);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("benchmark thread panicked"))
            .max()
            .unwrap_or_default()
    })
}

/// A measurement: runs `iters` operations and returns the time they took (per thread).
pub type Timed<'a> = Box<dyn Fn(u64) -> Duration + 'a>;

/// Runs every variant in turns, `rounds` times, and returns for each variant its
/// nanoseconds per operation in every round. On a shared machine this compares variants
/// side by side: a burst of load hits them alike. Each variant's operation count per turn
/// is calibrated first so that a turn lasts about `turn` (short turns would measure thread
/// start-up and scheduling rather than the operation).
pub fn interleave(rounds: usize, turn: Duration, variants: &[&Timed<'_>]) -> Vec<Vec<f64>> {
    let iters: Vec<u64> = variants
        .iter()
        .map(|f| {
            let mut n = 1_000u64;
            loop {
                let took = f(n);
                if took >= turn / 4 || n >= 1 << 40 {
                    let scale = turn.as_secs_f64() / took.as_secs_f64().max(1e-9);
                    break ((n as f64 * scale) as u64).max(1);
                }
                n *= 4;
            }
        })
        .collect();
    let mut times = vec![Vec::with_capacity(rounds); variants.len()];
    for _ in 0..rounds {
        for (i, f) in variants.iter().enumerate() {
            times[i].push(f(iters[i]).as_nanos() as f64 / iters[i] as f64);
        }
    }
    times
}

/// Median, minimum and maximum of `values` (sorted in place).
///
/// # Panics
///
/// If `values` is empty or holds a NaN.
pub fn median_min_max(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

/// Whether the binary was started by `cargo bench` (which passes `--bench`) rather than by
/// `cargo test --benches` (which does not): heavy work runs only then.
pub fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}
