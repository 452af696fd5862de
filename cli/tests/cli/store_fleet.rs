//! `--store` runs sharing one real Redis while Zuora is slow (it answers in 15 s, half the
//! default `--timeout`): the run holding the lease keeps it for its whole fetch and the
//! others wait for its token; a run killed while fetching hands over once its lease
//! expires; a store that fails after a run took the lease does not leave the lease behind.

use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use zuora_oauth_core::LeaseId;
use zuora_oauth_testkit::{Cut, Fault, FaultRule, MockServer, Relay};

use crate::helpers::{Home, LibraryStore, Outcome, server};
use crate::redis_server::RedisServer;

/// How long the slow Zuora takes to answer.
const ZUORA_DELAY: Duration = Duration::from_secs(15);
/// The lease of a run with the default `--timeout` (30 s): the request deadline (35 s) plus
/// 5 s for the store calls around the fetch.
const LEASE_TTL: Duration = Duration::from_secs(40);

/// A mock Zuora whose every token request is answered after [`ZUORA_DELAY`].
fn slow_zuora() -> MockServer {
    let zuora = server();
    zuora.push_rule(FaultRule::new(Fault::delay_headers(ZUORA_DELAY)).always());
    zuora
}

/// The library's store for the test server's client, straight on `redis` (no relay).
fn library_store(zuora: &MockServer, redis: &RedisServer) -> LibraryStore {
    LibraryStore::for_server(zuora, &redis.url())
}

/// `n` concurrent runs with `--store url`, each with how long it took.
fn concurrent_runs(
    n: usize,
    home: &Home,
    zuora: &MockServer,
    url: &str,
) -> Vec<(Outcome, Duration)> {
    thread::scope(|s| {
        let runs: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    let start = Instant::now();
                    let outcome = home.cli().against(zuora).args(["--store", url]).run();
                    (outcome, start.elapsed())
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

/// Every run printed `token`.
#[track_caller]
fn all_printed(runs: &[(Outcome, Duration)], token: &str) {
    for (outcome, took) in runs {
        assert_eq!(
            outcome.token(),
            token,
            "a run ({took:?}) printed another token"
        );
    }
}

#[test]
fn eight_runs_against_a_zuora_answering_in_15_s_make_one_request() {
    let redis = RedisServer::start();
    let zuora = slow_zuora();
    let home = Home::new();
    let runs = concurrent_runs(8, &home, &zuora, &redis.url());
    let longest = runs.iter().map(|(_, took)| *took).max().unwrap();
    eprintln!(
        "8 concurrent --store runs, Zuora answering in {ZUORA_DELAY:?}: {} token request(s), \
         longest run {longest:?}",
        zuora.token_request_count()
    );
    assert_eq!(
        zuora.token_request_count(),
        1,
        "the lease must outlast the holder's fetch"
    );
    all_printed(&runs, &zuora.issued_tokens()[0].access_token);
    // Nobody waited out a lease: every run ended soon after the one answer (generous).
    assert!(
        longest < ZUORA_DELAY + Duration::from_secs(15),
        "a run took {longest:?}"
    );
}

#[test]
fn a_run_killed_while_fetching_hands_over_once_its_lease_expires() {
    let redis = RedisServer::start();
    let zuora = slow_zuora();
    let home = Home::new();
    let url = redis.url();
    let started = Instant::now();
    let mut holder: Child = home.cli().against(&zuora).args(["--store", &url]).spawn();
    assert!(
        zuora.wait_for_token_requests(1, Duration::from_secs(20)),
        "the first run sent no token request"
    );
    let runs = thread::scope(|s| {
        let others = s.spawn(|| concurrent_runs(7, &home, &zuora, &url));
        // The others find the lease taken; then its holder dies before Zuora answers.
        thread::sleep(Duration::from_secs(2));
        holder.kill().expect("SIGKILL the run holding the lease");
        let _ = holder.wait();
        others.join().unwrap()
    });
    let took = started.elapsed();
    let longest = runs.iter().map(|(_, t)| *t).max().unwrap();
    eprintln!(
        "lease holder killed mid-fetch: the 7 other runs ended within {longest:?}, \
         {took:?} after the holder started; {} token requests",
        zuora.token_request_count()
    );
    assert_eq!(
        zuora.token_request_count(),
        2,
        "the dead holder's request and one more"
    );
    all_printed(&runs, &zuora.issued_tokens().last().unwrap().access_token);
    // The lease expires at most its TTL after the holder took it; one run then fetches.
    let bound = LEASE_TTL + ZUORA_DELAY + Duration::from_secs(15);
    assert!(took < bound, "handed over after {took:?} (bound {bound:?})");
}

#[test]
fn a_store_failing_after_the_lease_was_taken_does_not_keep_the_lease() {
    let redis = RedisServer::start();
    let zuora = server();
    let relay = Relay::start(([127, 0, 0, 1], redis.port()).into()).unwrap();
    // Redis answers the first read of the record, and the lease; every later command on the
    // record is cut: the run's second look, after it took the lease, fails.
    let store = library_store(&zuora, &redis);
    let (record_key, _) = store.keys();
    relay.cut(Cut::before(record_key).skip(1));
    let url = format!("redis://{}/", relay.addr());
    let outcome = Home::new()
        .cli()
        .against(&zuora)
        .args(["--store", &url])
        .run();
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(
        outcome.stdout.trim_end(),
        zuora.issued_tokens()[0].access_token
    );
    assert!(relay.cuts() >= 1, "the store never failed: {outcome:?}");
    // The lease is free at once, not when it expires.
    assert_eq!(
        store.try_lease(LeaseId::new(7), Duration::from_secs(1)),
        Ok(true),
        "the lease was left behind: {outcome:?}"
    );
    // And the run says what happened to it.
    assert!(
        outcome
            .stderr
            .lines()
            .any(|l| l.starts_with("warning: --store: ")
                && l.contains("lease")
                && l.contains("released")),
        "{outcome:?}"
    );
}
