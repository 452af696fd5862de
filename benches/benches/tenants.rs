//! Many tenants: one `TokenSources` set for 1,000 Zuora clients against the testkit's mock
//! server on 127.0.0.1 (1,000 registered clients, rate limit off), hyper transport, tokio
//! current-thread runtime. It prints a Markdown table:
//!
//! - token requests the mock received on the first pass over the 1,000 tenants (`get` +
//!   `token()`: must be 1,000) and on the second (must be 0);
//! - memory per idle source (deterministic: counted by `stats_alloc` as the global
//!   allocator): the bytes a source takes when `get` builds it (its share of the set's table
//!   included; no token yet, nothing sent), and the bytes freed when an idle source that
//!   holds its token leaves the set;
//! - allocations per `get` + hit (must be 0), and the time of `get` + hit (`token()` ready
//!   at once) with 1,000 sources live — cycling over the tenants — next to a set of 1 source,
//!   and with 1,000 sources live but always the same tenant asked (the table's size alone),
//!   measured in alternating rounds in the same run (median of the rounds; the ratio is the
//!   figure to read, not the nanoseconds: the machine is shared).
//!
//! Not a criterion bench: `cargo bench -p zuora-oauth-benches --bench tenants`. Without
//! `--bench` (as under `cargo test --benches`) it runs one small smoke round instead.

use std::alloc::System;
use std::hint::black_box;
use std::time::Instant;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use zuora_oauth_benches::{bench_mode, median_min_max, ready};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::TokenSources;
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{MockServer, tenant_client};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes live now (allocated less freed, since the start).
fn live_bytes() -> i64 {
    let s = GLOBAL.stats();
    s.bytes_allocated as i64 - s.bytes_deallocated as i64 + s.bytes_reallocated as i64
}

fn tenant(zuora: &MockServer, i: usize) -> TokenRequest {
    let (id, secret) = tenant_client(i);
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).unwrap(),
        ClientId::new(id).unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

/// Nanoseconds per `get` + hit over `ops` operations, cycling over `requests`.
fn get_and_hit(sources: &TokenSources, requests: &[TokenRequest], ops: usize) -> f64 {
    let start = Instant::now();
    for i in 0..ops {
        let source = sources.get(&requests[i % requests.len()]);
        black_box(ready(source.token()).unwrap());
    }
    start.elapsed().as_nanos() as f64 / ops as f64
}

fn main() {
    let full = bench_mode();
    let (tenants, rounds, ops) = if full {
        (1_000, 15, 200_000)
    } else {
        (20, 2, 1_000)
    };
    let zuora = MockServer::builder()
        .tenant_clients(tenants)
        .without_rate_limit()
        .start()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let requests: Vec<TokenRequest> = (0..tenants).map(|i| tenant(&zuora, i)).collect();

    // Memory of a source as `get` builds it: no token, nothing sent (the mock is idle).
    let empty = TokenSources::new(HyperTransport::new());
    empty.get(&requests[0]); // the set's first allocations (table, shards)
    let before = live_bytes();
    for request in &requests[1..] {
        empty.get(request);
    }
    let built_bytes = (live_bytes() - before) as f64 / (tenants - 1) as f64;
    drop(empty);

    // The two passes.
    let sources = TokenSources::new(HyperTransport::new());
    let pass = |sources: &TokenSources| {
        let sent = zuora.token_request_count();
        let start = Instant::now();
        runtime.block_on(async {
            for request in &requests {
                sources.get(request).token().await.expect("a token");
            }
        });
        (zuora.token_request_count() - sent, start.elapsed())
    };
    let (first, first_time) = pass(&sources);
    let (second, second_time) = pass(&sources);
    assert_eq!((first, second), (tenants, 0));
    assert_eq!(sources.len(), tenants);

    // get + hit: allocations, then time against a set of one source.
    let one = TokenSources::new(HyperTransport::new());
    let one_request = [requests[0].clone()];
    runtime.block_on(one.get(&one_request[0]).token()).unwrap();
    let region = Region::new(GLOBAL);
    get_and_hit(&sources, &requests, 10_000);
    get_and_hit(&one, &one_request, 10_000);
    let allocations = region.change().allocations;
    let (mut many_ns, mut same_ns, mut one_ns) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        many_ns.push(get_and_hit(&sources, &requests, ops));
        same_ns.push(get_and_hit(&sources, &requests[..1], ops));
        one_ns.push(get_and_hit(&one, &one_request, ops));
    }
    let mut ratios: Vec<f64> = many_ns.iter().zip(&one_ns).map(|(m, o)| m / o).collect();
    let mut same_ratios: Vec<f64> = same_ns.iter().zip(&one_ns).map(|(m, o)| m / o).collect();
    let (same, same_min, same_max) = median_min_max(&mut same_ns);
    let (same_ratio, same_ratio_min, same_ratio_max) = median_min_max(&mut same_ratios);
    let (many, many_min, many_max) = median_min_max(&mut many_ns);
    let (single, single_min, single_max) = median_min_max(&mut one_ns);
    let (ratio, ratio_min, ratio_max) = median_min_max(&mut ratios);

    // Memory an idle source with its token frees when it leaves the set.
    let before = live_bytes();
    for request in &requests {
        assert!(sources.remove(request));
    }
    let freed_bytes = (before - live_bytes()) as f64 / tenants as f64;
    assert!(sources.is_empty());
    // The passes' requests and the one-source set's: nothing else was sent.
    assert_eq!(zuora.token_request_count(), tenants + 1);

    println!("| measure ({tenants} tenants) | value |");
    println!("|---|---|");
    println!("| token requests, first pass | {first} ({first_time:.2?}) |");
    println!("| token requests, second pass | {second} ({second_time:.2?}) |");
    println!(
        "| bytes per source built by `get` (no token yet; table share included) | {built_bytes:.0} |"
    );
    println!("| bytes freed per idle source (with its token) leaving the set | {freed_bytes:.0} |");
    println!("| allocations in 20,000 `get` + hit | {allocations} |");
    println!(
        "| `get` + hit, {tenants} sources live (ns; median, min–max of {rounds}) | {many:.1} ({many_min:.1}–{many_max:.1}) |"
    );
    println!("| `get` + hit, 1 source live (ns) | {single:.1} ({single_min:.1}–{single_max:.1}) |");
    println!(
        "| `get` + hit, {tenants} sources live, always the same tenant (ns) | {same:.1} ({same_min:.1}–{same_max:.1}) |"
    );
    println!(
        "| ratio {tenants} cycled ÷ 1, per round | {ratio:.2} ({ratio_min:.2}–{ratio_max:.2}) |"
    );
    println!(
        "| ratio {tenants} live, same tenant ÷ 1, per round | {same_ratio:.2} ({same_ratio_min:.2}–{same_ratio_max:.2}) |"
    );
}
