//! The Redis store's numbers for BENCHMARKS.md (section "Fleet"):
//!
//! 1. **Token requests**: N processes (half async, half blocking) × three refresh rounds
//!    (tokens of 10 s, 18 s of asking), without a store, with one, with Redis down and with
//!    Redis stalled (SIGSTOP): the mock's count of token requests, and what the callers saw.
//! 2. **Latency** of the store calls against a loopback `redis-server`: a shared hit (one
//!    `GET` and a decryption) and the whole fetching path's store calls (4 round trips), async
//!    and blocking, beside a bare `PING` round trip; timed loops, interleaved by rounds.
//!
//! `cargo bench -p zuora-oauth-redis --bench fleet` (needs `redis-server` and `redis-cli`).
//! The member processes are this executable run again (see `tests/support/fleet.rs`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use support::fleet::{Member, MemberConfig, Store, member_main};
use support::redis_server::RedisServer;
use zuora_oauth_core::{
    AccessToken, ClientId, ClientSecret, Environment, Token, TokenRecord, TokenRequest,
};
use zuora_oauth_driver::{BlockingTokenStore, TokenStore};
use zuora_oauth_redis::{BlockingRedisStore, RedisStore};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

fn main() {
    if member_main() {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    println!("# zuora-oauth-redis fleet bench\n");
    fleet_counts(if quick { &[8] } else { &[4, 8, 16] });
    latency(if quick { 2 } else { 15 });
}

/// How a fleet run reaches Redis.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    NoStore,
    Store,
    RedisDown,
    RedisStalled,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::NoStore => "no store",
            Self::Store => "Redis store",
            Self::RedisDown => "Redis store, Redis down",
            Self::RedisStalled => "Redis store, Redis stalled (SIGSTOP)",
        }
    }
}

fn fleet_counts(sizes: &[usize]) {
    println!(
        "## Token requests: N processes x 3 refresh rounds (tokens of 10 s, 18 s of asking)\n"
    );
    println!(
        "| processes | store | token requests | per round | failed asks | longest ask | shortest lifetime handed out | store failures |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let modes: &[Mode] = if n == 8 {
            &[
                Mode::NoStore,
                Mode::Store,
                Mode::RedisDown,
                Mode::RedisStalled,
            ]
        } else {
            &[Mode::NoStore, Mode::Store]
        };
        for &mode in modes {
            let mut redis = RedisServer::start();
            let zuora = MockServer::builder()
                .token_lifetime(Duration::from_secs(10))
                .without_rate_limit()
                .start()
                .expect("the mock Zuora server");
            match mode {
                Mode::RedisDown => redis.stop(),
                Mode::RedisStalled => signal(&redis, "-STOP"),
                _ => {}
            }
            let store = match mode {
                Mode::NoStore => Store::None,
                _ => Store::Node(redis.url()),
            };
            let members: Vec<Member> = (0..n)
                .map(|id| {
                    Member::spawn(
                        MemberConfig::new(
                            id,
                            &zuora.base_url(),
                            store.clone(),
                            Duration::from_secs(18),
                        ),
                        &[],
                    )
                })
                .collect();
            let outcomes: Vec<_> = members.into_iter().map(Member::wait).collect();
            if mode == Mode::RedisStalled {
                signal(&redis, "-CONT");
            }
            let summaries: Vec<_> = outcomes.iter().map(|o| o.summary().clone()).collect();
            let failed: u64 = summaries.iter().map(|s| s.failed).sum();
            let longest = summaries
                .iter()
                .map(|s| s.max_wait)
                .max()
                .unwrap_or_default();
            let shortest = summaries
                .iter()
                .map(|s| s.min_remaining)
                .min()
                .unwrap_or_default();
            let store_failures: u64 = summaries.iter().map(|s| s.store_failures).sum();
            let requests = zuora.token_request_count();
            println!(
                "| {n} | {} | {requests} | {:.1} | {failed} | {:.1} ms | {:.2} s | {store_failures} |",
                mode.name(),
                requests as f64 / 3.0,
                longest.as_secs_f64() * 1e3,
                shortest.as_secs_f64(),
            );
        }
    }
    println!();
}

fn signal(redis: &RedisServer, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &redis.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// One timed variant: its per-call samples.
struct Samples {
    name: &'static str,
    micros: Vec<f64>,
}

impl Samples {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            micros: Vec::new(),
        }
    }

    fn add(&mut self, elapsed: Duration) {
        self.micros.push(elapsed.as_secs_f64() * 1e6);
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.micros.clone();
        sorted.sort_by(f64::total_cmp);
        let at = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[at]
    }
}

fn latency(rounds: usize) {
    const PER_ROUND: usize = 200;
    let redis = RedisServer::start();
    let request = TokenRequest::new(
        Environment::custom("http://127.0.0.1:9").expect("a loopback URL"),
        ClientId::new(DEMO_CLIENT_ID).expect("client ID"),
        ClientSecret::new(DEMO_CLIENT_SECRET).expect("secret"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let store = {
        let _guard = runtime.enter();
        RedisStore::builder(redis.url())
            .build(&request)
            .expect("store")
    };
    let blocking = BlockingRedisStore::builder(redis.url())
        .build_blocking(&request)
        .expect("blocking store");
    let mut raw = redis.connection();
    let mut cleanup = redis.connection();
    let record = {
        let token = Token::new(
            AccessToken::new("c652cbc0ea384b9f81856a93a2a74538").expect("token"),
            Duration::from_secs(3599),
        )
        .with_jti("c652cbc0ea384b9f81856a93a2a74539");
        TokenRecord::new(&token, SystemTime::now())
    };
    let ttl = Duration::from_secs(3000);
    let lease_ttl = Duration::from_secs(10);
    let delete = |c: &mut redis::Connection| {
        let _: i64 = redis::cmd("DEL")
            .arg(store.record_key())
            .arg(store.lease_key())
            .query(c)
            .expect("DEL");
    };

    let mut ping = Samples::new("PING round trip (redis-rs, sync)");
    let mut hit_async = Samples::new("shared hit, async: GET + decrypt");
    let mut hit_blocking = Samples::new("shared hit, blocking: GET + decrypt");
    let mut fetch_async = Samples::new("fetching path, async: GET, EVAL (lease), GET, EVAL");
    let mut fetch_blocking = Samples::new("fetching path, blocking: GET, EVAL (lease), GET, EVAL");
    let mut seed = 1u64;
    // Warm the connections up.
    runtime
        .block_on(TokenStore::save(&store, &record, ttl))
        .expect("save");
    BlockingTokenStore::load(&blocking).expect("load");
    for _ in 0..rounds {
        for _ in 0..PER_ROUND {
            let start = Instant::now();
            let _: String = redis::cmd("PING").query(&mut raw).expect("PING");
            ping.add(start.elapsed());
        }
        runtime
            .block_on(TokenStore::save(&store, &record, ttl))
            .expect("save");
        for _ in 0..PER_ROUND {
            let start = Instant::now();
            let got = runtime.block_on(TokenStore::load(&store)).expect("load");
            hit_async.add(start.elapsed());
            assert!(got.is_some());
        }
        for _ in 0..PER_ROUND {
            let start = Instant::now();
            let got = BlockingTokenStore::load(&blocking).expect("load");
            hit_blocking.add(start.elapsed());
            assert!(got.is_some());
        }
        for _ in 0..PER_ROUND {
            delete(&mut cleanup);
            seed += 1;
            let lease = support::lease(seed);
            let start = Instant::now();
            runtime.block_on(async {
                assert!(TokenStore::load(&store).await.expect("load").is_none());
                assert!(store.try_lease(lease, lease_ttl).await.expect("lease"));
                assert!(TokenStore::load(&store).await.expect("load").is_none());
                TokenStore::save(&store, &record, ttl).await.expect("save");
                TokenStore::release(&store, lease).await.expect("release");
            });
            fetch_async.add(start.elapsed());
        }
        for _ in 0..PER_ROUND {
            delete(&mut cleanup);
            seed += 1;
            let lease = support::lease(seed);
            let start = Instant::now();
            assert!(BlockingTokenStore::load(&blocking).expect("load").is_none());
            assert!(BlockingTokenStore::try_lease(&blocking, lease, lease_ttl).expect("lease"));
            assert!(BlockingTokenStore::load(&blocking).expect("load").is_none());
            BlockingTokenStore::save(&blocking, &record, ttl).expect("save");
            BlockingTokenStore::release(&blocking, lease).expect("release");
            fetch_blocking.add(start.elapsed());
        }
    }
    println!(
        "## Store call latency, loopback redis-server ({rounds} rounds x {PER_ROUND} calls per variant, interleaved by rounds)\n"
    );
    println!("| variant | median | p90 | p99 |");
    println!("|---|---:|---:|---:|");
    for s in [
        &ping,
        &hit_async,
        &hit_blocking,
        &fetch_async,
        &fetch_blocking,
    ] {
        println!(
            "| {} | {:.1} µs | {:.1} µs | {:.1} µs |",
            s.name,
            s.percentile(0.5),
            s.percentile(0.9),
            s.percentile(0.99)
        );
    }
    println!();
}
