//! The store's metrics (the driver's feature `metrics`) with a real `redis-server`: hits,
//! misses and failures by call and outcome, each phase with a recorder of its own
//! (`metrics::with_local_recorder` on a current-thread runtime, where the source's fleet
//! task runs too), and a leak scan over everything recorded.

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use support::redis_server::RedisServer;
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::TokenSource;
use zuora_oauth_driver::metrics::{STORE_CALLS, TOKEN_EXPIRY, TOKEN_REQUESTS, describe};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_redis::RedisStore;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer, spellings};

/// `printf '%s' "$DEMO_CLIENT_ID" | sha256sum | cut -c1-8`.
const DEMO_CLIENT_LABEL: &str = "f460ecef";

/// What a recorder holds: (kind, name, labels) → value, summed over the snapshots taken.
#[derive(Default)]
struct Recorded {
    counters: BTreeMap<(String, BTreeMap<String, String>), u64>,
    gauges: BTreeMap<(String, BTreeMap<String, String>), f64>,
    /// Every name, label key and label value.
    text: String,
}

impl Recorded {
    /// Adds a snapshot (which drains the recorder) to what was read before.
    fn add(&mut self, snapshotter: &Snapshotter) {
        for (key, unit, description, value) in snapshotter.snapshot().into_vec() {
            let (kind, key): (MetricKind, _) = (key.kind(), CompositeKey::key(&key).clone());
            assert!(
                unit.is_some() && description.is_some(),
                "{} is not described",
                key.name()
            );
            let labels: BTreeMap<String, String> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            self.text.push_str(key.name());
            for (k, v) in &labels {
                self.text.push_str(&format!("\n{k}\n{v}"));
            }
            self.text.push('\n');
            let id = (key.name().to_owned(), labels);
            match (kind, value) {
                (MetricKind::Counter, DebugValue::Counter(n)) => {
                    *self.counters.entry(id).or_default() += n;
                }
                (MetricKind::Gauge, DebugValue::Gauge(v)) => {
                    self.gauges.insert(id, v.into_inner());
                }
                _ => {}
            }
        }
    }

    fn counter(&self, name: &str, more: &[(&str, &str)]) -> u64 {
        self.counters.get(&id(name, more)).copied().unwrap_or(0)
    }

    /// The store calls recorded, as `call/outcome` → count.
    fn store_calls(&self) -> BTreeMap<String, u64> {
        self.counters
            .iter()
            .filter(|((name, _), _)| name == STORE_CALLS)
            .map(|((_, labels), n)| {
                assert_eq!(labels["environment"], "custom");
                assert_eq!(labels["client"], DEMO_CLIENT_LABEL);
                (format!("{}/{}", labels["call"], labels["outcome"]), *n)
            })
            .collect()
    }

    /// No spelling of any of `secrets` in any name, label key or label value.
    fn check(&self, secrets: &[String]) {
        for secret in secrets {
            for spelling in spellings(secret) {
                assert!(
                    !self.text.contains(&spelling),
                    "the recorded metrics hold a spelling of a secret, client ID or token"
                );
            }
        }
    }
}

/// The series `name` of the demo client on the mock, with `more` labels.
fn id(name: &str, more: &[(&str, &str)]) -> (String, BTreeMap<String, String>) {
    let mut labels: BTreeMap<String, String> =
        [("environment", "custom"), ("client", DEMO_CLIENT_LABEL)]
            .into_iter()
            .chain(more.iter().copied())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    labels.retain(|_, v| !v.is_empty());
    (name.to_owned(), labels)
}

/// Runs `test` on a current-thread runtime with a recorder of its own (described); `test`
/// gets a reader that accumulates snapshots, and returns it.
fn recorded<F: Future<Output = Recorded>>(test: impl FnOnce(Snapshotter) -> F) -> Recorded {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut recorded = metrics::with_local_recorder(&recorder, || {
        describe();
        runtime.block_on(test(snapshotter.clone()))
    });
    recorded.add(&snapshotter);
    recorded
}

/// Reads snapshots into `recorded` until `done` holds (the fleet's save and release run
/// after the caller has its token), for at most 10 s.
async fn until(
    snapshotter: &Snapshotter,
    recorded: &mut Recorded,
    done: impl Fn(&Recorded) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        recorded.add(snapshotter);
        if done(recorded) {
            return;
        }
        assert!(Instant::now() < deadline, "{:?}", recorded.store_calls());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn request(zuora: &MockServer) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

fn source(zuora: &MockServer, store: &RedisStore) -> TokenSource {
    TokenSource::builder(request(zuora), HyperTransport::new())
        .with_store(store.clone())
        .with_store_timeout(Duration::from_millis(300))
        .build()
}

fn secrets(zuora: &MockServer) -> Vec<String> {
    let mut all: Vec<String> = zuora
        .issued_tokens()
        .into_iter()
        .map(|t| t.access_token)
        .collect();
    all.extend([DEMO_CLIENT_SECRET, DEMO_CLIENT_ID].map(str::to_owned));
    all
}

fn signal(redis: &RedisServer, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &redis.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[test]
fn store_hits_misses_and_failures_are_counted_by_call_and_outcome() {
    let mut redis = RedisServer::start();
    let zuora = MockServer::builder().without_rate_limit().start().unwrap();
    let store = RedisStore::at(redis.url()).unwrap();
    let (zuora, store) = (&zuora, &store);

    // The first process: a miss, the lease, a miss as holder, the fetch, the save (which
    // releases the lease): the four round trips the README counts.
    let first = recorded(|snapshotter| async move {
        let mut recorded = Recorded::default();
        source(zuora, store).token().await.unwrap();
        until(&snapshotter, &mut recorded, |r| {
            r.store_calls().contains_key("save/ok")
        })
        .await;
        recorded
    });
    assert_eq!(
        first.store_calls(),
        map(&[("load/miss", 2), ("try_lease/ok", 1), ("save/ok", 1)])
    );
    assert_eq!(first.counter(TOKEN_REQUESTS, &[("outcome", "success")]), 1);
    first.check(&secrets(zuora));

    // Another process: a hit, and the token it adopts has its expiry recorded; no request.
    let mut expiry = None;
    let expiry_read = &mut expiry;
    let second = recorded(|snapshotter| async move {
        let mut recorded = Recorded::default();
        source(zuora, store).token().await.unwrap();
        recorded.add(&snapshotter);
        *expiry_read = recorded.gauges.get(&id(TOKEN_EXPIRY, &[])).copied();
        recorded
    });
    assert_eq!(second.store_calls(), map(&[("load/hit", 1)]));
    assert_eq!(second.counter(TOKEN_REQUESTS, &[("outcome", "success")]), 0);
    assert!(expiry.is_some_and(|e| e > 1.0e9), "{expiry:?}");
    assert_eq!(zuora.token_request_count(), 1);
    second.check(&secrets(zuora));

    // Redis stalled: every call is cut at the store timeout; the token comes from Zuora.
    signal(&redis, "-STOP");
    let mut failures = 0;
    let failures_read = &mut failures;
    let stalled = recorded(|snapshotter| async move {
        let mut recorded = Recorded::default();
        let source = source(zuora, store);
        source.token().await.unwrap();
        until(&snapshotter, &mut recorded, |r| {
            r.store_calls().contains_key("load/timeout")
        })
        .await;
        *failures_read = source.status().store_failures;
        recorded
    });
    signal(&redis, "-CONT");
    let calls = stalled.store_calls();
    assert_eq!(calls.get("load/timeout"), Some(&1), "{calls:?}");
    assert!(calls.keys().all(|k| k.ends_with("/timeout")), "{calls:?}");
    assert_eq!(
        calls.values().sum::<u64>(),
        failures,
        "the status counts the same failures"
    );
    assert_eq!(
        stalled.counter(TOKEN_REQUESTS, &[("outcome", "success")]),
        1
    );

    // Redis down: every call fails at once.
    redis.stop();
    let mut failures = 0;
    let failures_read = &mut failures;
    let down = recorded(|snapshotter| async move {
        let mut recorded = Recorded::default();
        let source = source(zuora, store);
        source.token().await.unwrap();
        until(&snapshotter, &mut recorded, |r| {
            r.store_calls().contains_key("load/unavailable")
        })
        .await;
        *failures_read = source.status().store_failures;
        recorded
    });
    let calls = down.store_calls();
    assert_eq!(calls.get("load/unavailable"), Some(&1), "{calls:?}");
    assert!(
        calls.keys().all(|k| k.ends_with("/unavailable")),
        "{calls:?}"
    );
    assert_eq!(calls.values().sum::<u64>(), failures);
    assert_eq!(down.counter(TOKEN_REQUESTS, &[("outcome", "success")]), 1);
    down.check(&secrets(zuora));
}
