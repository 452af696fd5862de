//! The driver's token source on a runtime of the test's own (tokio with paused time, so
//! that deadlines and backoff pass instantly and deterministically), with a scripted
//! "Zuora" as its transport and an in-memory shared store.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use zuora_oauth_core::{
    ClientId, ClientSecret, Environment, LeaseId, LifecycleConfig, TokenRecord, TokenRequest,
    TransportError, TransportErrorKind,
};
use zuora_oauth_driver::store::{
    Sealer, StoreCall, StoreError, StoreErrorKind, StoreOptions, TokenStore,
};
use zuora_oauth_driver::{
    BlockingJob, BoxFuture, Clock, Limits, Runtime, TokenSource, Transport, TransportResult,
};

/// What the scripted Zuora does with the next request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// A token, after 50 ms.
    Token,
    /// A token, after 500 ms.
    Late,
    /// Never answers (a lost outcome: the driver's future stays pending).
    Never,
    Refused,
    /// Sends the request over a real TCP connection to this loopback server, and waits for
    /// an answer (the server in [`SilentServer`] never gives one).
    Wire(SocketAddr),
}

#[derive(Default)]
struct Zuora {
    script: Mutex<VecDeque<Answer>>,
    sent: AtomicUsize,
    issued: AtomicUsize,
}

impl Zuora {
    fn script(self: &Arc<Self>, answers: &[Answer]) -> Arc<Self> {
        self.script.lock().unwrap().extend(answers);
        Arc::clone(self)
    }
    fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }
}

/// The scripted Zuora as the source's HTTP client.
struct Scripted(Arc<Zuora>);

impl Transport for Scripted {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        _limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        let zuora = Arc::clone(&self.0);
        Box::pin(async move {
            zuora.sent.fetch_add(1, Ordering::SeqCst);
            let answer = zuora
                .script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Answer::Token);
            match answer {
                Answer::Token | Answer::Late => {
                    let n = zuora.issued.fetch_add(1, Ordering::SeqCst) + 1;
                    let latency = if matches!(answer, Answer::Late) {
                        500
                    } else {
                        50
                    };
                    tokio::time::sleep(Duration::from_millis(latency)).await;
                    Ok(token_answer(n))
                }
                Answer::Never => std::future::pending().await,
                Answer::Wire(server) => {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut stream = tokio::net::TcpStream::connect(server).await.map_err(|e| {
                        TransportError::new(TransportErrorKind::Connect, e.to_string())
                    })?;
                    let body = request.body();
                    let head = format!(
                        "POST {} HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                        request.uri().path(),
                        body.len()
                    );
                    let sent = async {
                        stream.write_all(head.as_bytes()).await?;
                        stream.write_all(body).await?;
                        let mut answer = Vec::new();
                        stream.read_to_end(&mut answer).await
                    };
                    let _ = sent.await;
                    Err(TransportError::new(
                        TransportErrorKind::Connect,
                        "no answer",
                    ))
                }
                Answer::Refused => Err(TransportError::new(TransportErrorKind::Connect, "refused")),
            }
        })
    }
}

/// tokio with paused time: its tasks, timers and blocking pool (which holds paused time
/// while a store call runs), and clocks that follow tokio's time.
struct Paused {
    origin: tokio::time::Instant,
}

impl Paused {
    fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Runtime for Paused {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn spawn_blocking(&self, job: BlockingJob) {
        drop(tokio::task::spawn_blocking(job));
    }

    fn clock(&self) -> Clock {
        let origin = self.origin;
        let wall0 = SystemTime::now();
        Clock::new(move || origin.elapsed(), move || wall0 + origin.elapsed())
    }
}

fn request() -> TokenRequest {
    TokenRequest::new(
        Environment::custom("http://127.0.0.1:9").unwrap(),
        ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new("dG9wLXNlY3JldC12YWx1ZQ==").unwrap(),
    )
}

fn source(zuora: &Arc<Zuora>) -> TokenSource {
    TokenSource::builder(request(), Scripted(Arc::clone(zuora)))
        .with_runtime(Paused::new())
        .with_seed(1)
        .build()
}

/// A lost outcome never wedges callers: at the request's deadline (the exchange's timeout,
/// 30 s by default, plus 5 s) the lifecycle counts the request as timed out, the waiting
/// caller gets that failure with the next attempt's time, and the next attempt gets a
/// token.
#[tokio::test(start_paused = true)]
async fn a_lost_outcome_is_given_up_at_the_deadline() {
    let zuora = Arc::new(Zuora::default()).script(&[Answer::Never]);
    let source = source(&zuora);
    let started = tokio::time::Instant::now();
    let error = source.token().await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(35));
    assert!(matches!(
        error.error(),
        Some(zuora_oauth_core::Error::Transport(t)) if t.kind() == TransportErrorKind::Timeout
    ));
    let retry_in = error.retry_in().expect("transient");
    assert!(retry_in <= Duration::from_secs(1));
    tokio::time::sleep(retry_in).await;
    let token = source.token().await.unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
    assert_eq!(zuora.sent(), 2);
}

/// The request deadline follows the timeout the user sets (plus 5 s), whatever deadline a
/// lifecycle configuration names: a shorter timeout gives up on a lost outcome sooner.
#[tokio::test(start_paused = true)]
async fn the_request_deadline_is_the_timeout_plus_five_seconds() {
    let zuora = Arc::new(Zuora::default()).script(&[Answer::Never]);
    let source = TokenSource::builder(request(), Scripted(Arc::clone(&zuora)))
        .with_runtime(Paused::new())
        .with_seed(1)
        .with_config(LifecycleConfig::default().with_request_deadline(Duration::from_secs(600)))
        .with_timeout(Duration::from_secs(10))
        .build();
    let started = tokio::time::Instant::now();
    let error = source.token().await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(15));
    assert!(matches!(
        error.error(),
        Some(zuora_oauth_core::Error::Transport(t)) if t.kind() == TransportErrorKind::Timeout
    ));
}

/// A caller whose future is dropped does not cancel the request: it completes, and the
/// next caller gets the token without a second request.
#[tokio::test(start_paused = true)]
async fn a_dropped_caller_leaves_the_request_running() {
    let zuora = Arc::new(Zuora::default());
    let source = source(&zuora);
    let gave_up = tokio::time::timeout(Duration::from_millis(10), source.token()).await;
    assert!(gave_up.is_err());
    let token = source.token().await.unwrap();
    assert_eq!(zuora.sent(), 1);
    let held = source.status().token.expect("a token is held");
    assert_eq!(held.generation, token.generation());
}

/// A token endpoint on a real loopback socket that reads requests and never answers; it
/// records whether a request arrived and whether the client then closed the connection.
struct SilentServer {
    addr: SocketAddr,
    got_request: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
}

impl SilentServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (got_request, closed): (Arc<AtomicBool>, Arc<AtomicBool>) = Default::default();
        let (got, gone) = (Arc::clone(&got_request), Arc::clone(&closed));
        std::thread::spawn(move || {
            let (mut connection, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            loop {
                match connection.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => got.store(true, Ordering::SeqCst),
                }
            }
            gone.store(true, Ordering::SeqCst);
        });
        Self {
            addr,
            got_request,
            closed,
        }
    }

    /// Lets the runtime run until `flag` is set, for at most 10 s of real time.
    async fn until(flag: &AtomicBool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !flag.load(Ordering::SeqCst) {
            if std::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }
}

/// Dropping the last clone aborts the request in flight: the server sees the connection
/// closed. A caller that gives up does not (the request goes on for the others).
#[tokio::test(start_paused = true)]
async fn dropping_the_source_aborts_the_request_in_flight() {
    let server = SilentServer::start();
    let zuora = Arc::new(Zuora::default()).script(&[Answer::Wire(server.addr)]);
    let source = source(&zuora);
    let _ = tokio::time::timeout(Duration::from_millis(10), source.token()).await;
    assert!(
        SilentServer::until(&server.got_request).await,
        "the request never reached the server"
    );
    assert_eq!(zuora.sent(), 1);
    // The caller gave up; the request is still open.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !server.closed.load(Ordering::SeqCst),
        "a caller's give-up aborted the request"
    );
    drop(source);
    assert!(
        SilentServer::until(&server.closed).await,
        "the server never saw the request abandoned: it outlived its source"
    );
}

/// Another caller's transient failure reaches waiting callers with the next attempt's time.
#[tokio::test(start_paused = true)]
async fn a_transient_failure_reaches_every_waiter() {
    let zuora = Arc::new(Zuora::default()).script(&[Answer::Refused]);
    let source = source(&zuora);
    let (a, b) = tokio::join!(source.token(), source.token());
    for e in [a.unwrap_err(), b.unwrap_err()] {
        assert!(e.is_transient());
        assert!(e.retry_in().is_some());
    }
    assert_eq!(zuora.sent(), 1);
}

/// An in-memory store shared by several sources (the fleet's processes, here in one):
/// opaque values and leases under the keys the sources name.
#[derive(Default)]
struct Memory {
    values: Mutex<HashMap<String, Vec<u8>>>,
    leases: Mutex<HashMap<String, LeaseId>>,
    down: AtomicBool,
    deletes: AtomicUsize,
}

impl Memory {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::new(StoreErrorKind::Unavailable, "down"))
        } else {
            Ok(())
        }
    }

    /// The record stored for `request`'s tokens, opened as its sources seal it.
    fn record(&self, request: &TokenRequest) -> Option<TokenRecord> {
        let sealer = Sealer::new(request, "");
        let values = self.values.lock().unwrap();
        let value = values.get(sealer.key())?;
        Some(
            sealer
                .open(value)
                .expect("a record sealed for these credentials"),
        )
    }
}

/// Many sources share one `Memory` through this handle.
#[derive(Clone, Default)]
struct Shared(Arc<Memory>);

impl TokenStore for Shared {
    fn load(&self, call: &StoreCall<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.check()?;
        Ok(self.0.values.lock().unwrap().get(call.key()).cloned())
    }

    fn try_lease(
        &self,
        call: &StoreCall<'_>,
        lease: LeaseId,
        _ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.0.check()?;
        let mut leases = self.0.leases.lock().unwrap();
        let held = leases.entry(call.key().to_owned()).or_insert(lease);
        Ok(*held == lease)
    }

    fn save(
        &self,
        call: &StoreCall<'_>,
        value: &[u8],
        _ttl: Duration,
        release: Option<LeaseId>,
    ) -> Result<(), StoreError> {
        self.0.check()?;
        self.0
            .values
            .lock()
            .unwrap()
            .insert(call.key().to_owned(), value.to_vec());
        if let Some(lease) = release {
            self.release(call, lease)?;
        }
        Ok(())
    }

    fn release(&self, call: &StoreCall<'_>, lease: LeaseId) -> Result<(), StoreError> {
        self.0.check()?;
        let mut leases = self.0.leases.lock().unwrap();
        if leases.get(call.key()) == Some(&lease) {
            leases.remove(call.key());
        }
        Ok(())
    }

    fn delete_if(&self, call: &StoreCall<'_>, current: &[u8]) -> Result<bool, StoreError> {
        // Slower than a load: a fetch that starts right after the report must not take
        // the reported token back from the store meanwhile.
        std::thread::sleep(Duration::from_millis(100));
        self.0.check()?;
        let mut values = self.0.values.lock().unwrap();
        if values.get(call.key()).is_some_and(|v| v == current) {
            values.remove(call.key());
            self.0.deletes.fetch_add(1, Ordering::SeqCst);
            return Ok(true);
        }
        Ok(false)
    }
}

fn sharing_as(request: TokenRequest, zuora: &Arc<Zuora>, store: &Shared, seed: u64) -> TokenSource {
    TokenSource::builder(request, Scripted(Arc::clone(zuora)))
        .with_runtime(Paused::new())
        .with_seed(seed)
        .with_config(LifecycleConfig::default())
        .with_store(store.clone())
        .with_store_options(StoreOptions::default())
        .build()
}

fn sharing(zuora: &Arc<Zuora>, store: &Shared, seed: u64) -> TokenSource {
    sharing_as(request(), zuora, store, seed)
}

#[tokio::test(start_paused = true)]
async fn sources_sharing_a_store_make_one_request() {
    let zuora = Arc::new(Zuora::default());
    let store = Shared::default();
    let sources: Vec<_> = (0..5).map(|i| sharing(&zuora, &store, i)).collect();
    let tokens = futures_join(sources.iter().map(|s| s.token())).await;
    let texts: Vec<_> = tokens
        .iter()
        .map(|t| t.as_ref().unwrap().access_token().secret().to_owned())
        .collect();
    assert!(texts.iter().all(|t| *t == texts[0]), "{texts:?}");
    assert_eq!(zuora.sent(), 1);
    assert_eq!(sources[0].status().store_failures, 0);
    // The store holds the token, sealed: not in clear.
    let values = store.0.values.lock().unwrap();
    assert_eq!(values.len(), 1);
    for value in values.values() {
        let text = String::from_utf8_lossy(value);
        assert!(
            !text.contains(&texts[0][3..]),
            "the token is stored in clear"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_outage_costs_requests_not_tokens() {
    let zuora = Arc::new(Zuora::default());
    let store = Shared::default();
    store.0.down.store(true, Ordering::SeqCst);
    let sources: Vec<_> = (0..3).map(|i| sharing(&zuora, &store, i)).collect();
    for s in &sources {
        s.token().await.unwrap();
        assert!(s.status().store_failures >= 1);
    }
    assert_eq!(zuora.sent(), 3, "each fetched its own");
    // Back up: the next process to need a token uses the store again.
    store.0.down.store(false, Ordering::SeqCst);
    let late = sharing(&zuora, &store, 9);
    let other = sharing(&zuora, &store, 10);
    late.token().await.unwrap();
    other.token().await.unwrap();
    assert_eq!(zuora.sent(), 4, "rejoined: one request for the two");
}

/// A 401 in one process moves the whole fleet to one new token: the reported token never
/// comes back from the store (even while the store has not yet forgotten it), another
/// process's report of the same old token deletes nothing, one new token request in all.
#[tokio::test(start_paused = true)]
async fn invalidate_deletes_the_shared_record_once() {
    // A's new token comes late, after its report has reached the store: the report finds
    // the reported token there and deletes it.
    let zuora = Arc::new(Zuora::default()).script(&[Answer::Token, Answer::Late]);
    let store = Shared::default();
    let (a, b) = (sharing(&zuora, &store, 1), sharing(&zuora, &store, 2));
    let old_a = a.token().await.unwrap();
    let old_b = b.token().await.unwrap();
    assert_eq!(zuora.sent(), 1);
    // A gets a 401 with the token: the shared record goes, and A fetches a new one.
    assert!(a.invalidate(old_a.generation()));
    let new_a = a.token().await.unwrap();
    assert_ne!(new_a.access_token().secret(), old_a.access_token().secret());
    // B reports the same old token: the new shared record stays; B adopts it.
    assert!(b.invalidate(old_b.generation()));
    let new_b = b.token().await.unwrap();
    assert_eq!(new_b.access_token().secret(), new_a.access_token().secret());
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // A's report deleted the old record, once; B's report deleted nothing (the shared
    // record was A's new token by then).
    assert_eq!(store.0.deletes.load(Ordering::SeqCst), 1);
    let shared = store.0.record(&request()).expect("the new token is shared");
    assert_eq!(
        shared.to_token().access_token().secret(),
        new_a.access_token().secret()
    );
    assert_eq!(zuora.sent(), 2, "one new token request in all");
}

/// `join_all` without a dependency: polls every future to completion concurrently.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, result) in handles.iter_mut().zip(results.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => {
                        *result = Some(out);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(Option::unwrap).collect()
}

/// A reconfigured source (a rotated secret, another client) moves to the store's keys of
/// its new credentials: it neither adopts the old client's token nor touches the old
/// client's record, and it shares its new token with the other sources of the new
/// credentials.
#[tokio::test(start_paused = true)]
async fn a_reconfigured_source_moves_to_the_keys_of_its_new_credentials() {
    let zuora = Arc::new(Zuora::default());
    let store = Shared::default();
    let (a, b) = (sharing(&zuora, &store, 1), sharing(&zuora, &store, 2));
    let shared_token = b.token().await.unwrap();
    let other = TokenRequest::new(
        Environment::custom("http://127.0.0.1:9").unwrap(),
        ClientId::new("9b9b9b9b-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new("YW5vdGhlci1zZWNyZXQ=").unwrap(),
    );
    a.reconfigure(other.clone());
    let own = a.token().await.unwrap();
    assert_ne!(
        own.access_token().secret(),
        shared_token.access_token().secret()
    );
    assert_eq!(zuora.sent(), 2);
    // Another process with the new credentials takes that token from the store (the
    // record is saved in the background once the token is handed out).
    let c = sharing_as(other.clone(), &zuora, &store, 3);
    let theirs = c.token().await.unwrap();
    assert_eq!(theirs.access_token().secret(), own.access_token().secret());
    assert_eq!(zuora.sent(), 2);
    let kept = store.0.record(&request()).expect("the old client's record");
    assert_eq!(
        kept.to_token().access_token().secret(),
        shared_token.access_token().secret()
    );
    let moved = store.0.record(&other).expect("the new client's record");
    assert_eq!(
        moved.to_token().access_token().secret(),
        own.access_token().secret()
    );
    assert_eq!(a.status().store_failures, 0);
}

/// How long a test waits for the background work of a source (a real-time bound, far
/// above what it takes).
const PATIENCE: Duration = Duration::from_secs(10);

/// A process that drops its source as soon as it has its token (a short job, a request
/// handler that built its own) still shares that token and releases the lease: the next
/// process takes the token from the store, without a request and without waiting for the
/// lease to expire. On a multi-thread runtime the fetch's task races the caller that drops
/// the source: many rounds, each with a fresh store, so that whichever runs first, the
/// token is shared every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_dropped_once_it_has_its_token_still_shares_it() {
    for round in 0..300 {
        let zuora = BlockingZuora::default();
        let store = Shared::default();
        let source = |seed| {
            TokenSource::builder(request(), Immediate(zuora.clone()))
                .with_seed(seed)
                .with_store(store.clone())
                .build()
        };
        let token = source(1).token().await.unwrap();
        let started = std::time::Instant::now();
        while store.0.record(&request()).is_none() || !store.0.leases.lock().unwrap().is_empty() {
            assert!(
                started.elapsed() < PATIENCE,
                "round {round}: the dropped source never shared its token or never released \
                 the lease"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let theirs = source(2).token().await.unwrap();
        assert_eq!(
            theirs.access_token().secret(),
            token.access_token().secret(),
            "round {round}: {:?}",
            store.0.record(&request())
        );
        assert_eq!(zuora.0.load(Ordering::SeqCst), 1);
    }
}

/// [`BlockingZuora`] as an async transport that answers at its first poll (and sends
/// nothing before it is polled, as transports do).
struct Immediate(BlockingZuora);

impl Transport for Immediate {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        let zuora = self.0.clone();
        Box::pin(
            async move { zuora_oauth_driver::BlockingTransport::send(&zuora, request, limits) },
        )
    }
}

/// A token endpoint for blocking sources: a new token for every request, counted.
#[derive(Clone, Default)]
struct BlockingZuora(Arc<AtomicUsize>);

/// Zuora's answer with the `n`-th token (an hour long).
fn token_answer(n: usize) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .header("content-type", "application/json")
        .body(
            format!(r#"{{"access_token":"tok{n:029}","expires_in":3599,"token_type":"bearer"}}"#)
                .into_bytes(),
        )
        .unwrap()
}

impl zuora_oauth_driver::BlockingTransport for BlockingZuora {
    fn send(&self, _request: http::Request<Vec<u8>>, _limits: Limits) -> TransportResult {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(token_answer(n))
    }
}

/// The same for the blocking source, whose fetch runs on a thread of its own, racing the
/// caller that drops the source: many rounds, each with a fresh store, so that whichever
/// thread runs first, the token is shared every time.
#[test]
fn a_blocking_source_dropped_once_it_has_its_token_still_shares_it() {
    for round in 0..300 {
        let zuora = BlockingZuora::default();
        let store = Shared::default();
        let blocking = |seed| {
            zuora_oauth_driver::BlockingTokenSource::builder(request(), zuora.clone())
                .with_seed(seed)
                .with_store(store.clone())
                .build()
        };
        let token = blocking(1).token().unwrap();
        let started = std::time::Instant::now();
        while store.0.record(&request()).is_none() || !store.0.leases.lock().unwrap().is_empty() {
            assert!(
                started.elapsed() < PATIENCE,
                "round {round}: the dropped source never shared its token or never released \
                 the lease"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let theirs = blocking(2).token().unwrap();
        assert_eq!(
            theirs.access_token().secret(),
            token.access_token().secret()
        );
        assert_eq!(zuora.0.load(Ordering::SeqCst), 1);
    }
}
