//! The fleet, for real: OS processes (half async with hyper, half blocking with ureq)
//! sharing one Redis — or one Redis Cluster — and one mock Zuora server.
//!
//! Tokens live 10 s and are refreshed 2 s before expiry (up to 0.2 s earlier, the jitter),
//! counted from the response's `Date` (whole seconds, so up to 1 s early): a refresh round
//! comes 6.8 to 8 s after the one before, at about 0, 7.4, 14.8 and 22 s. A run of 18 s
//! has three rounds whatever the rounding (the third by 16 s, the fourth not before
//! 20.4 s). Without a store each process would send one request per round. Each scenario
//! runs alone (they measure counts over time, and the machine may have two cores).

mod support;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use support::fleet::{Member, MemberConfig, Outcome, Store, member_main};
use support::redis_server::{RedisCluster, RedisServer};
use zuora_oauth_testkit::{Fault, MockServer};

/// The entry point of the member processes (see `support/fleet.rs`); a normal run skips it.
#[test]
#[ignore = "a fleet member process, started by the other tests of this file"]
fn fleet_member() {
    assert!(
        member_main(),
        "run only by the fleet tests, which set ZUORA_REDIS_FLEET_MEMBER"
    );
}

/// The test-harness arguments that run [`fleet_member`] alone.
const MEMBER: &[&str] = &[
    "fleet_member",
    "--exact",
    "--ignored",
    "--nocapture",
    "--test-threads=1",
];

const LIFETIME: Duration = Duration::from_secs(10);
/// Three refresh rounds (see above).
const THREE_ROUNDS: Duration = Duration::from_secs(18);
/// How long a member may take to get its first token.
const START_WITHIN: Duration = Duration::from_secs(20);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn zuora() -> MockServer {
    zuora_with(LIFETIME)
}

fn zuora_with(lifetime: Duration) -> MockServer {
    MockServer::builder()
        .token_lifetime(lifetime)
        .without_rate_limit()
        .start()
        .expect("the mock Zuora server")
}

fn spawn(n: usize, zuora: &MockServer, store: &Store, run_for: Duration) -> Vec<Member> {
    (0..n)
        .map(|id| {
            Member::spawn(
                MemberConfig::new(id, &zuora.base_url(), store.clone(), run_for),
                MEMBER,
            )
        })
        .collect()
}

fn wait_all(members: Vec<Member>) -> Vec<Outcome> {
    members.into_iter().map(Member::wait).collect()
}

/// When the mock received each token request, in seconds after the first (for messages).
fn timeline(zuora: &MockServer) -> Vec<String> {
    let requests = zuora.requests();
    let first = requests.first().map(|r| r.received_at);
    requests
        .iter()
        .map(|r| {
            let at = first
                .and_then(|f| r.received_at.duration_since(f).ok())
                .unwrap_or_default();
            format!(
                "{:.2}s {}",
                at.as_secs_f64(),
                r.header("zuora-track-id").unwrap_or("?")
            )
        })
        .collect()
}

/// Every member was served every time, with more than the minimum lifetime left.
fn assert_all_served(outcomes: &[Outcome]) {
    for outcome in outcomes {
        let s = outcome.summary();
        assert_eq!(s.failed, 0, "member {} had failed asks: {s:?}", s.id);
        assert!(s.served > 50, "member {} asked too little: {s:?}", s.id);
        assert!(
            s.min_remaining > Duration::from_secs(1),
            "member {} was handed a token with {:?} left",
            s.id,
            s.min_remaining
        );
    }
}

/// Eight processes through three refresh rounds: three token requests in all, every ask
/// served.
fn one_request_per_lifetime(store: Store) {
    let zuora = zuora();
    let members = spawn(8, &zuora, &store, THREE_ROUNDS);
    let outcomes = wait_all(members);
    assert_all_served(&outcomes);
    for outcome in &outcomes {
        assert_eq!(
            outcome.summary().store_failures,
            0,
            "stderr: {}",
            outcome.stderr
        );
    }
    assert_eq!(
        zuora.token_request_count(),
        3,
        "token requests: {:?}",
        timeline(&zuora)
    );
}

#[test]
fn eight_processes_send_one_token_request_per_lifetime() {
    let _serial = serial();
    let redis = RedisServer::start();
    one_request_per_lifetime(Store::Node(redis.url()));
}

#[test]
fn eight_processes_send_one_token_request_per_lifetime_on_a_redis_cluster() {
    let _serial = serial();
    let cluster = RedisCluster::start();
    one_request_per_lifetime(Store::Cluster(cluster.urls()));
}

#[test]
fn when_the_lease_holder_dies_another_process_fetches_once_the_lease_expires() {
    let _serial = serial();
    let redis = RedisServer::start();
    // Tokens of 40 s: no refresh before the end (a token fetched after waiting for the
    // lease counts its lifetime from the start of the wait, so it is refreshed early).
    let zuora = zuora_with(Duration::from_secs(40));
    // The first token request hangs: its sender holds the lease meanwhile. Short timeouts,
    // so that the lease (as long as a fetch may take: 2 s + the margins) is short too.
    zuora.push_fault(Fault::delay_headers(Duration::from_secs(60)));
    let mut members: Vec<Member> = (0..4)
        .map(|id| {
            let mut config = MemberConfig::new(
                id,
                &zuora.base_url(),
                Store::Node(redis.url()),
                Duration::ZERO,
            );
            config.timeout = Duration::from_secs(2);
            // Callers without a token wait out the dead holder's lease, then a fetch.
            config.bound = config.lease() + Duration::from_secs(6);
            config.run_for = config.bound;
            Member::spawn(config, MEMBER)
        })
        .collect();
    assert!(
        zuora.wait_for_token_requests(1, START_WITHIN),
        "no token request"
    );
    let holder_track_id = zuora.requests()[0]
        .header("zuora-track-id")
        .expect("members send a track ID")
        .to_owned();
    let holder = members
        .iter()
        .position(|m| m.config.track_id() == holder_track_id)
        .expect("the holder is a member");
    members[holder].kill();

    // The lease expires at most its TTL after the kill; the others look again within one
    // poll (at most 250 ms) of that.
    let lease_ttl = members[holder].config.lease();
    assert!(
        zuora.wait_for_token_requests(2, lease_ttl + Duration::from_secs(2)),
        "no other process fetched within the lease TTL plus 2 s: {:?}",
        timeline(&zuora)
    );
    let bound = members[holder].config.bound;
    for (i, outcome) in wait_all(members).into_iter().enumerate() {
        if i == holder {
            assert!(outcome.summary.is_none(), "the holder was killed");
            continue;
        }
        let s = outcome.summary();
        assert_eq!(s.failed, 0, "member {i}: {s:?}");
        assert!(s.max_wait < bound, "member {i} waited {:?}", s.max_wait);
    }
    assert_eq!(
        zuora.token_request_count(),
        2,
        "the dead holder's request and one more: {:?}",
        timeline(&zuora)
    );
}

#[test]
fn when_redis_is_down_each_process_fetches_its_own_token_and_rejoins_when_it_is_back() {
    let _serial = serial();
    let mut redis = RedisServer::start();
    let zuora = zuora();
    // Three rounds: the startup request, a refresh with Redis down (one request per
    // process), a refresh with Redis back (one request).
    let mut members = spawn(8, &zuora, &Store::Node(redis.url()), THREE_ROUNDS);
    for member in &mut members {
        member.wait_ready(START_WITHIN);
    }
    assert_eq!(zuora.token_request_count(), 1);
    redis.stop();

    assert!(
        zuora.wait_for_token_requests(9, LIFETIME + Duration::from_secs(5)),
        "each process fetches its own token while Redis is down: {:?}",
        timeline(&zuora)
    );
    redis.restart();

    let outcomes = wait_all(members);
    assert_all_served(&outcomes);
    for outcome in &outcomes {
        let s = outcome.summary();
        assert!(s.store_failures >= 1, "member {}: {s:?}", s.id);
        assert_eq!(
            outcome.store_warnings(),
            1,
            "member {}: one warning for the interval Redis was down; stderr:\n{}",
            s.id,
            outcome.stderr
        );
    }
    assert_eq!(
        zuora.token_request_count(),
        10,
        "one request per lifetime again once Redis is back: {:?}",
        timeline(&zuora)
    );
}
