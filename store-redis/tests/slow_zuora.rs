//! The library's token sources sharing one real Redis while Zuora is slow, in one process:
//! several sources (hyper on tokio, and blocking ureq), each with a store connection of
//! its own, as separate processes would have. The lease outlasts a slow fetch; a token
//! fetched after waiting out a dead holder's lease is used; a lease command whose answer
//! was lost is recognised as taken; a store that fails after the lease was taken does not
//! leave the lease behind.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use support::redis_server::RedisServer;
use tracing_subscriber::util::SubscriberInitExt;
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::store::{Sealer, StoreCall, TokenStore};
use zuora_oauth_driver::{BlockingTokenSource, DEFAULT_TIMEOUT, TokenSource};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_redis::RedisStore;
use zuora_oauth_testkit::{
    Cut, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, FaultRule, MockServer, Relay,
};
use zuora_oauth_ureq::UreqTransport;

/// How long the slow Zuora takes to answer (half the transports' default timeout).
const ZUORA_DELAY: Duration = Duration::from_secs(15);

/// A mock Zuora whose every token request is answered after `delay`.
fn zuora_answering_in(delay: Duration) -> MockServer {
    let zuora = MockServer::builder()
        .without_rate_limit()
        .start()
        .expect("the mock Zuora server");
    zuora.push_rule(FaultRule::new(Fault::delay_headers(delay)).always());
    zuora
}

fn request(zuora: &MockServer) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).expect("the mock's URL"),
        ClientId::new(DEMO_CLIENT_ID).expect("a client ID"),
        ClientSecret::new(DEMO_CLIENT_SECRET).expect("a secret"),
    )
}

/// An async source (hyper on tokio) with a store of its own on the Redis at `url`, its
/// token requests timing out after `timeout` (the source derives its request deadline and
/// its lease from it).
fn hyper_source(request: &TokenRequest, url: &str, timeout: Duration) -> TokenSource {
    TokenSource::builder(request.clone(), HyperTransport::new())
        .with_timeout(timeout)
        .with_store(RedisStore::at(url).expect("a store"))
        .build()
}

/// The same with a blocking source (ureq).
fn ureq_source(request: &TokenRequest, url: &str, timeout: Duration) -> BlockingTokenSource {
    BlockingTokenSource::builder(request.clone(), UreqTransport::new())
        .with_timeout(timeout)
        .with_store(RedisStore::at(url).expect("a store"))
        .build()
}

/// The bound of the store calls a test makes itself.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The store key of `request`'s tokens, as its sources name it (no label).
fn sealer(request: &TokenRequest) -> Sealer {
    Sealer::new(request, "")
}

/// A failed answer as text: the source's layer and the core error under it.
fn describe(error: &zuora_oauth_driver::TokenError) -> String {
    match error.error() {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}

/// Asks `hyper` (on this runtime) and `ureq` (on threads) sources for a token, all at
/// once: each answer (the access token, or the error) with how long it took.
async fn ask_all(
    hyper: Vec<TokenSource>,
    ureq: Vec<BlockingTokenSource>,
) -> Vec<(Result<String, String>, Duration)> {
    let threads: Vec<_> = ureq
        .into_iter()
        .map(|source| {
            std::thread::spawn(move || {
                let start = Instant::now();
                let answer = source
                    .token()
                    .map(|h| h.access_token().secret().to_owned())
                    .map_err(|e| describe(&e));
                (answer, start.elapsed())
            })
        })
        .collect();
    let tasks: Vec<_> = hyper
        .into_iter()
        .map(|source| {
            tokio::spawn(async move {
                let start = Instant::now();
                let answer = source
                    .token()
                    .await
                    .map(|h| h.access_token().secret().to_owned())
                    .map_err(|e| describe(&e));
                (answer, start.elapsed())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("a task"));
    }
    for thread in threads {
        answers.push(tokio::task::block_in_place(|| {
            thread.join().expect("a thread")
        }));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_sources_against_a_zuora_answering_in_15_s_make_one_request() {
    let redis = RedisServer::start();
    let zuora = zuora_answering_in(ZUORA_DELAY);
    let request = request(&zuora);
    // The default timeout (30 s): Zuora answers within it, but after the shortest lease.
    let timeout = DEFAULT_TIMEOUT;
    let hyper = (0..4)
        .map(|_| hyper_source(&request, &redis.url(), timeout))
        .collect();
    let ureq = (0..4)
        .map(|_| ureq_source(&request, &redis.url(), timeout))
        .collect();
    let answers = ask_all(hyper, ureq).await;
    let longest = answers.iter().map(|(_, took)| *took).max().unwrap();
    eprintln!(
        "8 sources (4 hyper, 4 ureq), Zuora answering in {ZUORA_DELAY:?}: {} token \
         request(s), longest wait {longest:?}",
        zuora.token_request_count()
    );
    assert_eq!(
        zuora.token_request_count(),
        1,
        "the lease must outlast the holder's fetch"
    );
    let issued = &zuora.issued_tokens()[0].access_token;
    for (answer, took) in &answers {
        assert_eq!(answer.as_ref(), Ok(issued), "after {took:?}");
    }
    assert!(
        longest < ZUORA_DELAY + Duration::from_secs(15),
        "a caller waited {longest:?}"
    );
}

/// A process took the lease and died. The sources wait it out, then one fetches; its answer
/// comes later than the lifecycle's own request deadline after the caller first asked
/// (11 s here: a 6 s timeout plus the driver's 5 s margin), and is still the token every
/// caller gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_fetched_after_waiting_out_a_dead_holder_is_kept() {
    let redis = RedisServer::start();
    let delay = Duration::from_secs(5);
    let zuora = zuora_answering_in(delay);
    let request = request(&zuora);
    // A short timeout, so that the wait is short too: the fetch deadline is 11 s (6 s +
    // the driver's 5 s margin), the lease then 16 s.
    let timeout = Duration::from_secs(6);
    let dead_lease = Duration::from_secs(16);
    let sealer = sealer(&request);
    let dead = RedisStore::at(redis.url()).unwrap();
    assert!(
        dead.try_lease(
            &StoreCall::new(sealer.key(), CALL_TIMEOUT),
            support::lease(0xdead),
            dead_lease
        )
        .unwrap()
    );
    let taken_at = Instant::now();

    let hyper = vec![hyper_source(&request, &redis.url(), timeout)];
    let ureq = vec![ureq_source(&request, &redis.url(), timeout)];
    let answers = ask_all(hyper, ureq).await;
    eprintln!(
        "after a dead holder's lease of {dead_lease:?}: answers {:?}",
        answers
            .iter()
            .map(|(a, t)| (a.is_ok(), *t))
            .collect::<Vec<_>>()
    );
    assert_eq!(zuora.token_request_count(), 1, "one process fetched");
    let issued = &zuora.issued_tokens()[0].access_token;
    for (answer, took) in &answers {
        assert_eq!(answer.as_ref(), Ok(issued), "after {took:?}");
        // The wait outlasted the lifecycle's own deadline (timeout + 5 s).
        assert!(*took > timeout + Duration::from_secs(5), "after {took:?}");
    }
    let took = taken_at.elapsed();
    assert!(
        took < dead_lease + delay + Duration::from_secs(10),
        "handed over after {took:?}"
    );
}

/// The lease command reaches Redis, but its answer is lost (the connection breaks); the
/// store asks again on a new connection and must recognise its own lease: taken.
#[test]
fn a_lease_command_whose_answer_was_lost_is_recognised_as_taken() {
    let redis = RedisServer::start();
    let zuora = zuora_answering_in(Duration::from_millis(1));
    let request = request(&zuora);
    let relay = Relay::start(([127, 0, 0, 1], redis.port()).into()).unwrap();
    let url = format!("redis://{}/", relay.addr());
    let ttl = Duration::from_secs(60);
    let sealer = sealer(&request);
    let call = StoreCall::new(sealer.key(), CALL_TIMEOUT);

    // The store asks again only on a pooled connection found broken: a first call pools one.
    let store = RedisStore::at(url.clone()).unwrap();
    assert_eq!(store.load(&call).unwrap(), None);
    relay.cut(Cut::after(":lease").times(1));
    let lease = support::lease(1);
    assert_eq!(store.try_lease(&call, lease, ttl), Ok(true));
    assert_eq!(relay.cuts(), 1, "the answer was lost once");
    // The lease is this store's: it releases it.
    store.release(&call, lease).unwrap();
    let other = support::lease(2);
    assert_eq!(store.try_lease(&call, other, ttl), Ok(true), "released");
    // Another process's lease is still refused, by this store and by another.
    let another = RedisStore::at(url.clone()).unwrap();
    assert_eq!(store.try_lease(&call, support::lease(3), ttl), Ok(false));
    assert_eq!(another.try_lease(&call, support::lease(4), ttl), Ok(false));
    store.release(&call, other).unwrap();

    // And sources through that relay do not wait for themselves: an async one, then a
    // blocking one once the first one's token has expired from the store.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    relay.cut(Cut::after(":lease").times(1));
    let source = runtime.block_on(async { hyper_source(&request, &url, DEFAULT_TIMEOUT) });
    let start = Instant::now();
    runtime
        .block_on(source.token())
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    let took = start.elapsed();
    assert_eq!(relay.cuts(), 2);
    assert_eq!(zuora.token_request_count(), 1);
    assert!(
        took < Duration::from_secs(5),
        "the async source waited {took:?} for its own lease"
    );

    // The source hands its token out before its store write ends: wait for the record and
    // for the lease's release, then delete the record.
    let (record_key, lease_key) = store.keys(sealer.key());
    let mut connection = redis.connection();
    let written = Instant::now();
    loop {
        let record: bool = redis::cmd("EXISTS")
            .arg(&record_key)
            .query(&mut connection)
            .unwrap();
        let lease: bool = redis::cmd("EXISTS")
            .arg(&lease_key)
            .query(&mut connection)
            .unwrap();
        if record && !lease {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(5),
            "the async source neither saved its token nor released its lease"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    redis::cmd("DEL")
        .arg(&record_key)
        .query::<()>(&mut connection)
        .unwrap();
    relay.cut(Cut::after(":lease").times(1));
    let blocking = ureq_source(&request, &url, DEFAULT_TIMEOUT);
    let start = Instant::now();
    blocking
        .token()
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    let took = start.elapsed();
    assert_eq!(relay.cuts(), 3);
    assert_eq!(zuora.token_request_count(), 2);
    assert!(
        took < Duration::from_secs(5),
        "the blocking source waited {took:?} for its own lease"
    );
}

/// What the driver logs, for the checks below: its events go to this buffer.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Redis answers the first read of the record and the lease, then fails every command on
/// the record: the holder's second look fails after it took the lease. It fetches, and the
/// lease is released at once (with a WARN saying so), not left to expire.
#[tokio::test]
async fn a_store_failing_after_the_lease_was_taken_does_not_keep_the_lease() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _logging = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .finish()
        .set_default();
    let redis = RedisServer::start();
    let zuora = zuora_answering_in(Duration::from_millis(1));
    let request = request(&zuora);
    let relay = Relay::start(([127, 0, 0, 1], redis.port()).into()).unwrap();
    relay.cut(Cut::before(":token").skip(1));
    let url = format!("redis://{}/", relay.addr());
    let source = hyper_source(&request, &url, DEFAULT_TIMEOUT);
    source
        .token()
        .await
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    assert!(relay.cuts() >= 1, "the store never failed");
    assert_eq!(zuora.token_request_count(), 1);
    assert!(source.status().store_failures >= 1);

    // Another process takes the lease at once: it was released, not left to expire (its
    // TTL is 40 s).
    let direct = RedisStore::at(redis.url()).unwrap();
    let sealer = sealer(&request);
    let call = StoreCall::new(sealer.key(), CALL_TIMEOUT);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !direct
        .try_lease(&call, support::lease(9), Duration::from_secs(1))
        .unwrap()
    {
        assert!(
            Instant::now() < deadline,
            "the lease was left behind; logs:\n{}",
            logs.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The WARN follows the release (the fetch's task logs it once the call returns).
    let warned = |text: &str| {
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("lease") && l.contains("released"))
    };
    while !warned(&logs.text()) {
        assert!(
            Instant::now() < deadline,
            "no WARN about the lease; logs:\n{}",
            logs.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
