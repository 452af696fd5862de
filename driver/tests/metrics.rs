//! The metrics of the feature `metrics`, against the mock Zuora on loopback through the
//! hyper transport and the tower layer: every metric with its labels, each test with a
//! recorder of its own (`metrics::with_local_recorder` on a current-thread runtime, where
//! the source's detached tasks run too), and a leak scan over everything recorded.
//! The store's metrics are tested with a real `redis-server` in zuora-oauth-redis.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use tower::{Service, ServiceBuilder, ServiceExt};
use zuora_oauth_core::{ClientId, ClientSecret, EntityId, Environment, TokenRequest};
use zuora_oauth_driver::api::Replayed;
use zuora_oauth_driver::metrics::{
    API_REPLAYS, SERVER_WAIT_SECONDS, STORE_CALLS, TOKEN_EXPIRY, TOKEN_FETCH_SECONDS,
    TOKEN_REQUESTS, client_label, describe,
};
use zuora_oauth_driver::tower::AuthorizeLayer;
use zuora_oauth_driver::{TokenSource, TokenSourceBuilder};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer, RetryAfter, spellings,
};

/// The `client` label of [`DEMO_CLIENT_ID`], as the documentation says to find it:
/// `printf '%s' 8f14e45f-ceea-4672-9b3c-5d6e7f8a9b0c | sha256sum | cut -c1-8`.
const DEMO_CLIENT_LABEL: &str = "f460ecef";

/// The labels of a source on the mock (a custom environment), plus `more`.
fn labels<'a>(more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("environment", "custom"), ("client", DEMO_CLIENT_LABEL)];
    all.extend_from_slice(more);
    all
}

/// Everything a recorder holds, read back.
struct Recorded(
    Vec<(
        CompositeKey,
        Option<metrics::Unit>,
        Option<String>,
        DebugValue,
    )>,
);

impl Recorded {
    fn read(snapshotter: &Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, unit, description, value)| {
                    (key, unit, description.map(|d| d.to_string()), value)
                })
                .collect(),
        )
    }

    /// The value of `name` with exactly these labels.
    fn find(&self, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        let wanted: BTreeMap<&str, &str> = labels.iter().copied().collect();
        self.0.iter().find_map(|(key, _, _, value)| {
            let have: BTreeMap<&str, &str> =
                key.key().labels().map(|l| (l.key(), l.value())).collect();
            (key.kind() == kind && key.key().name() == name && have == wanted).then_some(value)
        })
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.find(MetricKind::Counter, name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            None => 0,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
        }
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.find(MetricKind::Gauge, name, labels)? {
            DebugValue::Gauge(v) => Some(v.into_inner()),
            other => panic!("{name} is not a gauge: {other:?}"),
        }
    }

    fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.find(MetricKind::Histogram, name, labels) {
            Some(DebugValue::Histogram(v)) => v.iter().map(|x| x.into_inner()).collect(),
            None => Vec::new(),
            Some(other) => panic!("{name} is not a histogram: {other:?}"),
        }
    }

    /// Every series of `name`, as its labels.
    fn series(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.0
            .iter()
            .filter(|(key, ..)| key.key().name() == name)
            .map(|(key, ..)| {
                key.key()
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect()
            })
            .collect()
    }

    /// Every metric name, label key and label value, one per line.
    fn text(&self) -> String {
        let mut text = String::new();
        for (key, _, _, _) in &self.0 {
            text.push_str(key.key().name());
            text.push('\n');
            for label in key.key().labels() {
                text.push_str(&format!("{}\n{}\n", label.key(), label.value()));
            }
        }
        text
    }

    /// No spelling of any of `secrets` in any name, label key or label value; and every
    /// metric described (unit and help text, from [`describe`]).
    fn check(&self, secrets: &[&str]) {
        let text = self.text();
        for secret in secrets {
            for spelling in spellings(secret) {
                assert!(
                    !text.contains(&spelling),
                    "the recorded metrics hold a spelling of a secret, client ID or token"
                );
            }
        }
        for (key, unit, description, _) in &self.0 {
            assert!(
                unit.is_some() && description.as_deref().is_some_and(|d| !d.is_empty()),
                "{} is not described",
                key.key().name()
            );
        }
    }
}

/// Runs `test` on a current-thread runtime with a recorder of its own (described), and
/// reads back what it recorded.
fn recorded<F: Future>(test: impl FnOnce(Snapshotter) -> F) -> (F::Output, Recorded) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let output = metrics::with_local_recorder(&recorder, || {
        describe();
        runtime.block_on(test(snapshotter.clone()))
    });
    (output, Recorded::read(&snapshotter))
}

fn request(zuora: &MockServer, secret: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

fn builder(zuora: &MockServer) -> TokenSourceBuilder {
    TokenSource::builder(request(zuora, DEMO_CLIENT_SECRET), HyperTransport::new())
}

/// Every secret the leak scan looks for: the secrets, the client ID, every token issued.
fn secrets(zuora: &MockServer, also: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = zuora
        .issued_tokens()
        .into_iter()
        .map(|t| t.access_token)
        .collect();
    all.extend([DEMO_CLIENT_SECRET, DEMO_CLIENT_ID].map(str::to_owned));
    all.extend(also.iter().map(|s| (*s).to_owned()));
    all
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn a_token_fetched_is_counted_timed_and_its_expiry_recorded_and_a_hit_records_nothing() {
    let zuora = MockServer::start().unwrap();
    let (_, first) = recorded(|_| async {
        let source = builder(&zuora).build();
        source.token().await.unwrap();
    });
    assert_eq!(
        first.counter(TOKEN_REQUESTS, &labels(&[("outcome", "success")])),
        1
    );
    assert_eq!(first.series(TOKEN_REQUESTS).len(), 1, "only the success");
    let took = first.histogram(TOKEN_FETCH_SECONDS, &labels(&[]));
    assert_eq!(took.len(), 1, "one fetch timed");
    assert!((0.0..30.0).contains(&took[0]), "{took:?}");
    // The mock's tokens live 3599 s: the expiry is that far from now, on the wall clock.
    let expiry = first.gauge(TOKEN_EXPIRY, &labels(&[])).expect("an expiry");
    let ahead = expiry - unix_now();
    assert!((3599.0 - 120.0..=3599.0 + 5.0).contains(&ahead), "{ahead}");
    for none in [API_REPLAYS, STORE_CALLS, SERVER_WAIT_SECONDS] {
        assert!(first.series(none).is_empty(), "{none}");
    }
    first.check(
        &secrets(&zuora, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );

    // A source that has its token: calls served from it record nothing at all (a
    // snapshot drains the recorder: what the last one holds came after the first).
    let mock = &zuora;
    let (_, hits) = recorded(|snapshotter| async move {
        let source = builder(mock).build();
        source.token().await.unwrap();
        let first = Recorded::read(&snapshotter);
        assert_eq!(
            first.counter(TOKEN_REQUESTS, &labels(&[("outcome", "success")])),
            1
        );
        for _ in 0..100 {
            source.token().await.unwrap();
        }
    });
    for (key, _, _, value) in &hits.0 {
        let nothing = match value {
            DebugValue::Counter(n) => *n == 0,
            DebugValue::Gauge(v) => v.into_inner() == 0.0,
            DebugValue::Histogram(v) => v.is_empty(),
        };
        assert!(nothing, "{} recorded on a hit: {value:?}", key.key().name());
    }
    assert_eq!(zuora.token_request_count(), 2);
}

/// One failed token request on a fresh source (made after the mock's faults were cleared)
/// and recorder: what was recorded.
fn failed_once(zuora: &MockServer, source: impl FnOnce() -> TokenSource) -> Recorded {
    zuora.reset();
    let source = source();
    let (result, recorded) = recorded(|_| async move { source.token().await });
    assert!(result.is_err());
    recorded
}

/// Makes a source for one case (pushing the mock's faults first).
type MakeSource<'a> = Box<dyn Fn() -> TokenSource + 'a>;

#[test]
fn every_failed_token_request_is_counted_by_its_outcome() {
    let zuora = MockServer::builder().without_rate_limit().start().unwrap();
    let wrong_secret = "n0t+The/Right=S3cret";
    let with = |fault: Fault| {
        zuora.push_fault(fault);
        builder(&zuora).build()
    };
    let cases: Vec<(&str, MakeSource<'_>)> = vec![
        // A wrong secret: the mock answers 401 invalid_client, as Zuora does.
        (
            "rejected",
            Box::new(|| TokenSource::new(request(&zuora, wrong_secret), HyperTransport::new())),
        ),
        (
            "rejected",
            Box::new(|| with(Fault::oauth_error(403, "access_denied", "no"))),
        ),
        (
            "rejected",
            Box::new(|| with(Fault::oauth_error(400, "invalid_request", "no"))),
        ),
        // A 429 that names no wait (the waits have a test of their own).
        (
            "rate_limited",
            Box::new(|| with(Fault::message_error(429, "API rate limit exceeded"))),
        ),
        ("server_error", Box::new(|| with(Fault::html_error(503)))),
        ("unexpected", Box::new(|| with(Fault::html_error(404)))),
        (
            "unexpected",
            Box::new(|| with(Fault::omit_field("access_token"))),
        ),
        ("transport", Box::new(|| with(Fault::ResetConnection))),
        (
            "timeout",
            Box::new(|| {
                zuora.push_fault(Fault::delay_headers(Duration::from_secs(5)));
                builder(&zuora)
                    .with_timeout(Duration::from_millis(300))
                    .build()
            }),
        ),
    ];
    for (outcome, source) in cases {
        let recorded = failed_once(&zuora, source);
        assert_eq!(
            recorded.counter(TOKEN_REQUESTS, &labels(&[("outcome", outcome)])),
            1,
            "{outcome}: {:?}",
            recorded.series(TOKEN_REQUESTS)
        );
        assert_eq!(
            recorded.series(TOKEN_REQUESTS).len(),
            1,
            "{outcome}: one outcome"
        );
        assert_eq!(
            recorded.histogram(TOKEN_FETCH_SECONDS, &labels(&[])).len(),
            1,
            "{outcome}"
        );
        assert!(
            recorded.series(TOKEN_EXPIRY).is_empty(),
            "{outcome}: no token, no expiry"
        );
        assert!(
            recorded.series(SERVER_WAIT_SECONDS).is_empty(),
            "{outcome}: no wait asked"
        );
        let secrets = secrets(&zuora, &[wrong_secret]);
        recorded.check(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

#[test]
fn a_request_that_reaches_nobody_is_a_transport_failure() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let request = TokenRequest::new(
        Environment::custom(&format!("http://127.0.0.1:{closed}")).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    );
    let (result, recorded) = recorded(|_| async {
        TokenSource::new(request, HyperTransport::new())
            .token()
            .await
    });
    assert!(result.is_err());
    assert_eq!(
        recorded.counter(TOKEN_REQUESTS, &labels(&[("outcome", "transport")])),
        1
    );
    assert_eq!(
        recorded.histogram(TOKEN_FETCH_SECONDS, &labels(&[])).len(),
        1
    );
    recorded.check(&[DEMO_CLIENT_SECRET, DEMO_CLIENT_ID]);
}

#[test]
fn the_wait_zuora_asks_for_is_recorded_from_retry_after_or_ratelimit_reset() {
    let zuora = MockServer::builder().without_rate_limit().start().unwrap();
    let with = |fault: Fault| {
        zuora.push_fault(fault);
        builder(&zuora).build()
    };
    let rate_limited = [("outcome", "rate_limited")];
    // Retry-After, in seconds: that wait.
    let recorded = failed_once(&zuora, || with(Fault::rate_limited(RetryAfter::Seconds(7))));
    assert_eq!(recorded.counter(TOKEN_REQUESTS, &labels(&rate_limited)), 1);
    assert_eq!(recorded.histogram(SERVER_WAIT_SECONDS, &labels(&[])), [7.0]);
    recorded.check(&[DEMO_CLIENT_SECRET, DEMO_CLIENT_ID]);

    // Zuora's documented 429: only the RateLimit-* headers.
    let only_reset = || {
        with(Fault::respond(
            429,
            [
                ("content-type", "application/json"),
                ("ratelimit-limit", "100"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "40"),
            ],
            r#"{"message":"API rate limit exceeded"}"#,
        ))
    };
    let recorded = failed_once(&zuora, only_reset);
    assert_eq!(recorded.counter(TOKEN_REQUESTS, &labels(&rate_limited)), 1);
    assert_eq!(
        recorded.histogram(SERVER_WAIT_SECONDS, &labels(&[])),
        [40.0]
    );

    // A 503 whose quota is not spent asked for no wait; one whose quota is, did.
    for (remaining, wait) in [("12", None), ("0", Some(40.0))] {
        let busy = || {
            with(Fault::respond(
                503,
                [
                    ("ratelimit-remaining", remaining),
                    ("ratelimit-reset", "40"),
                ],
                "busy",
            ))
        };
        let recorded = failed_once(&zuora, busy);
        assert_eq!(
            recorded.counter(TOKEN_REQUESTS, &labels(&[("outcome", "server_error")])),
            1
        );
        let waits = recorded.histogram(SERVER_WAIT_SECONDS, &labels(&[]));
        assert_eq!(waits, Vec::from_iter(wait), "remaining {remaining}");
    }
}

#[test]
fn invalidating_the_token_zeroes_its_expiry_until_the_next_one() {
    let zuora = MockServer::start().unwrap();
    let ((zeroed, second), recorded) = recorded(|snapshotter| async move {
        let source = builder(&zuora).build();
        let first = source.token().await.unwrap();
        assert!(source.invalidate(first.generation()));
        let zeroed = Recorded::read(&snapshotter).gauge(TOKEN_EXPIRY, &labels(&[]));
        let second = source.token().await.unwrap();
        assert_ne!(second.generation(), first.generation());
        (zeroed, zuora.issued_tokens().len())
    });
    assert_eq!(zeroed, Some(0.0), "no usable token: nothing to expire");
    assert_eq!(second, 2);
    let expiry = recorded.gauge(TOKEN_EXPIRY, &labels(&[])).unwrap();
    assert!(
        expiry - unix_now() > 3000.0,
        "the new token's expiry: {expiry}"
    );
}

#[test]
fn a_401_from_the_api_replayed_through_the_tower_layer_is_counted() {
    let zuora = MockServer::start().unwrap();
    let (replayed, recorded) = recorded(|_| async {
        let source = builder(&zuora).build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>();
        let mut api = ServiceBuilder::new()
            .layer(AuthorizeLayer::new(source))
            .service(client);
        let call = || {
            http::Request::get(zuora.api_url("/v1/accounts/A00000001"))
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        let first = api.ready().await.unwrap().call(call()).await.unwrap();
        assert_eq!(first.status(), 200);
        // Zuora revokes the token: the next call gets 401, a new token, one replay.
        zuora.revoke_all_tokens();
        let second = api.ready().await.unwrap().call(call()).await.unwrap();
        assert_eq!(second.status(), 200);
        second.extensions().get::<Replayed>().is_some()
    });
    assert!(replayed);
    assert_eq!(recorded.counter(API_REPLAYS, &labels(&[])), 1);
    assert_eq!(
        recorded.counter(TOKEN_REQUESTS, &labels(&[("outcome", "success")])),
        2
    );
    assert_eq!(
        recorded.histogram(TOKEN_FETCH_SECONDS, &labels(&[])).len(),
        2
    );
    assert!(recorded.gauge(TOKEN_EXPIRY, &labels(&[])).unwrap() > unix_now());
    recorded.check(
        &secrets(&zuora, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
}

#[test]
fn the_client_label_is_a_short_hash_of_the_client_id_and_entity_never_the_id() {
    let environment = Environment::ProdEu;
    let id = ClientId::new(DEMO_CLIENT_ID).unwrap();
    let secret = ClientSecret::new(DEMO_CLIENT_SECRET).unwrap();
    let plain = TokenRequest::new(environment.clone(), id.clone(), secret.clone());
    assert_eq!(client_label(&plain), DEMO_CLIENT_LABEL);
    // printf '%s\n%s' 8f14e45f-ceea-4672-9b3c-5d6e7f8a9b0c \
    //   0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 | sha256sum | cut -c1-8
    let entity = EntityId::new("0F1E2D3C4B5A69788796A5B4C3D2E1F0").unwrap();
    let with_entity = TokenRequest::new(environment, id, secret).with_entity_id(entity);
    assert_eq!(client_label(&with_entity), ENTITY_CLIENT_LABEL);
    // Another secret: the same label (a rotation keeps its series).
    let rotated = TokenRequest::new(
        Environment::ProdEu,
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new("another").unwrap(),
    );
    assert_eq!(client_label(&rotated), DEMO_CLIENT_LABEL);
}

/// See the test above.
const ENTITY_CLIENT_LABEL: &str = "4dd564c4";

#[test]
fn the_environment_label_is_the_sdk_name() {
    // A named environment, on a transport that sends nowhere.
    let request = TokenRequest::new(
        Environment::SbxEu,
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    );
    let (_, recorded) = recorded(|_| async {
        let source = TokenSource::new(request, Unreachable);
        let _ = source.token().await;
    });
    let series = recorded.series(TOKEN_REQUESTS);
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["environment"], "sbx-eu");
    assert_eq!(series[0]["client"], DEMO_CLIENT_LABEL);
    assert_eq!(series[0]["outcome"], "transport");
}

/// A transport whose every request fails to connect (no network touched).
struct Unreachable;

impl zuora_oauth_driver::Transport for Unreachable {
    fn send(
        &self,
        _request: http::Request<Vec<u8>>,
        _limits: zuora_oauth_driver::Limits,
    ) -> zuora_oauth_driver::BoxFuture<'static, zuora_oauth_driver::TransportResult> {
        Box::pin(async {
            Err(zuora_oauth_core::TransportError::new(
                zuora_oauth_core::TransportErrorKind::Connect,
                "unreachable",
            ))
        })
    }
}

/// The metric names the READMEs' tables document (the driver's and the root's).
fn documented(readme: &str) -> BTreeSet<String> {
    let section = readme
        .split("\n## Metrics")
        .nth(1)
        .expect("a Metrics section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `zuora_oauth_"))
        .map(|l| l.split('`').nth(1).unwrap().to_owned())
        .collect()
}

#[test]
fn both_readmes_document_every_metric_in_one_table() {
    let names: BTreeSet<String> = [
        TOKEN_REQUESTS,
        TOKEN_FETCH_SECONDS,
        TOKEN_EXPIRY,
        API_REPLAYS,
        STORE_CALLS,
        SERVER_WAIT_SECONDS,
    ]
    .map(str::to_owned)
    .into();
    let driver = include_str!("../README.md");
    let root = include_str!("../../README.md");
    assert_eq!(documented(driver), names, "driver/README.md");
    assert_eq!(documented(root), names, "README.md");
}

#[test]
#[should_panic(expected = "hold a spelling of a secret")]
fn the_leak_scan_finds_a_client_id_in_a_label_value() {
    // The scan itself: a recorder that got the client ID (hex-encoded) as a label value.
    let ((), recorded) = recorded(|_| async {
        let hex: String = DEMO_CLIENT_ID.bytes().map(|b| format!("{b:02x}")).collect();
        metrics::counter!(TOKEN_REQUESTS, "client" => hex).increment(1);
    });
    recorded.check(&[DEMO_CLIENT_ID]);
}
