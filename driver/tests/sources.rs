//! Many tenants in one process: the keyed set of sources (`TokenSources`,
//! `BlockingTokenSources`) against the testkit's mock Zuora on 127.0.0.1, one registered
//! client per tenant, with a clock the test moves (idle times pass at once), and the tower
//! layer that picks each call's tenant from its extensions.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceBuilder, ServiceExt};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, Token, TokenRequest};
use zuora_oauth_driver::api::ApiError;
use zuora_oauth_driver::tower::AuthorizeLayer;
use zuora_oauth_driver::{
    BlockingTokenSources, Clock, Tenant, TokenErrorKind, TokenSources, TokenSourcesBuilder,
};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{Fault, FaultRule, MockServer, SEEDED_ACCOUNTS, tenant_client};
use zuora_oauth_ureq::UreqTransport;

/// A monotonic clock moved by hand (milliseconds since its origin).
#[derive(Clone, Default)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Clock::new(
            move || Duration::from_millis(now.load(Ordering::SeqCst)),
            SystemTime::now,
        )
    }
}

/// Tenant `i`'s token request to `zuora`.
fn tenant(zuora: &MockServer, i: usize) -> TokenRequest {
    let (id, secret) = tenant_client(i);
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).unwrap(),
        ClientId::new(id).unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

fn mock(tenants: usize) -> MockServer {
    MockServer::builder()
        .tenant_clients(tenants)
        .without_rate_limit()
        .start()
        .unwrap()
}

fn set(clock: &ManualClock) -> TokenSourcesBuilder {
    TokenSources::builder(HyperTransport::new()).with_clock(clock.clock())
}

/// The token of `request`'s source, and a weak reference to it: dead once no source and no
/// caller holds the token.
async fn token_of(sources: &TokenSources, request: &TokenRequest) -> Weak<Token> {
    let handle = sources.get(request).token().await.expect("a token");
    Arc::downgrade(handle.token())
}

#[tokio::test]
async fn each_tenant_gets_one_source_built_on_first_use_and_one_token_request() {
    let zuora = mock(3);
    let sources = TokenSources::new(HyperTransport::new());
    let tenants: Vec<TokenRequest> = (0..3).map(|i| tenant(&zuora, i)).collect();
    assert!(sources.is_empty());

    let mut first = Vec::new();
    for request in &tenants {
        first.push(sources.get(request).token().await.unwrap().generation());
    }
    assert_eq!((sources.len(), zuora.token_request_count()), (3, 3));
    // The second pass: every source is the first pass's, with its token.
    for (request, generation) in tenants.iter().zip(&first) {
        let again = sources.get(request).token().await.unwrap();
        assert_eq!(again.generation(), *generation);
    }
    assert_eq!((sources.len(), zuora.token_request_count()), (3, 3));
    // One token per tenant, each issued to its own client.
    let mut clients: Vec<String> = zuora
        .issued_tokens()
        .into_iter()
        .map(|t| t.client_id)
        .collect();
    clients.sort();
    let expected: Vec<String> = (0..3).map(|i| tenant_client(i).0).collect();
    assert_eq!(clients, expected);
}

#[tokio::test]
async fn a_request_with_another_secret_never_gets_the_tenants_token() {
    let zuora = mock(1);
    let sources = TokenSources::new(HyperTransport::new());
    let right = tenant(&zuora, 0);
    let good = sources.get(&right).token().await.unwrap();

    let wrong = TokenRequest::new(
        right.environment().clone(),
        right.client_id().clone(),
        ClientSecret::new("not-the-secret").unwrap(),
    );
    let refused = sources.get(&wrong).token().await.unwrap_err();
    assert_eq!(refused.kind(), TokenErrorKind::Failed);
    assert!(sources.get(&wrong).status().token.is_none());

    // The tenant's source kept its token: no other request, the same generation.
    let still = sources.get(&right).token().await.unwrap();
    assert_eq!(still.generation(), good.generation());
    assert_eq!(zuora.token_request_count(), 2);
    assert_eq!(sources.len(), 2);
    // Either source goes on its own.
    assert!(sources.remove(&wrong));
    assert!(!sources.remove(&wrong));
    assert_eq!(sources.len(), 1);
}

#[tokio::test]
async fn a_source_no_get_asked_for_in_the_idle_time_is_evicted_and_built_again_on_next_use() {
    let zuora = mock(3);
    let clock = ManualClock::default();
    let sources = set(&clock)
        .with_idle_timeout(Duration::from_secs(600))
        .build();
    let (a, b, c) = (tenant(&zuora, 0), tenant(&zuora, 1), tenant(&zuora, 2));
    let token_a = token_of(&sources, &a).await;
    let token_b = token_of(&sources, &b).await;

    clock.advance(Duration::from_secs(300));
    sources.get(&a); // a is used; b is not
    clock.advance(Duration::from_secs(360)); // a: idle 6 min, b: 11 min
    sources.get(&c); // any get sweeps when due

    assert_eq!(sources.len(), 2, "b was evicted, a and c stay");
    assert!(token_b.upgrade().is_none(), "b's token was freed");
    assert!(token_a.upgrade().is_some());
    assert_eq!(zuora.token_request_count(), 2);
    // b is built again on its next use, and fetches a token of its own.
    sources.get(&b).token().await.unwrap();
    assert_eq!(zuora.token_request_count(), 3);
    assert_eq!(sources.len(), 3);
}

#[tokio::test]
async fn a_source_a_caller_holds_is_not_evicted_however_idle() {
    let zuora = mock(2);
    let clock = ManualClock::default();
    let sources = set(&clock)
        .with_idle_timeout(Duration::from_secs(600))
        .build();
    let held = sources.get(&tenant(&zuora, 0));
    held.token().await.unwrap();
    clock.advance(Duration::from_secs(3000));
    assert_eq!(sources.evict_idle(), 0);
    // The next get finds it: no second source, no second token.
    let again = sources.get(&tenant(&zuora, 0)).token().await.unwrap();
    assert_eq!(zuora.token_request_count(), 1);
    drop((held, again));
    clock.advance(Duration::from_secs(601));
    assert_eq!(sources.evict_idle(), 1);
    assert!(sources.is_empty());
}

#[tokio::test]
async fn past_the_bound_the_least_recently_used_source_only_the_set_holds_goes() {
    let zuora = mock(5);
    let clock = ManualClock::default();
    let sources = set(&clock).with_max_sources(2).build();
    let t: Vec<TokenRequest> = (0..5).map(|i| tenant(&zuora, i)).collect();
    let tick = || clock.advance(Duration::from_secs(1));

    let token_a = token_of(&sources, &t[0]).await;
    tick();
    let token_b = token_of(&sources, &t[1]).await;
    tick();
    sources.get(&t[0]); // a is now more recent than b
    tick();
    let token_c = token_of(&sources, &t[2]).await;
    assert_eq!(sources.len(), 2);
    assert!(
        token_b.upgrade().is_none(),
        "b, the least recently used, went"
    );
    assert!(token_a.upgrade().is_some() && token_c.upgrade().is_some());

    // Every source held by a caller: none can go, the set is over its bound for now.
    tick();
    let (held_a, held_c) = (sources.get(&t[0]), sources.get(&t[2]));
    tick();
    let held_d = sources.get(&t[3]);
    assert_eq!(sources.len(), 3);
    // Released, the excess goes at the next new source: a and c (used before d and e).
    drop((held_a, held_c));
    tick();
    let held_e = sources.get(&t[4]);
    assert_eq!(sources.len(), 2);
    assert!(token_a.upgrade().is_none() && token_c.upgrade().is_none());
    drop((held_d, held_e));
}

/// How many tasks the current tokio runtime has alive.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test]
async fn an_evicted_source_leaves_no_task_and_no_token_behind() {
    let zuora = mock(2);
    let clock = ManualClock::default();
    let sources = set(&clock)
        .with_idle_timeout(Duration::from_secs(600))
        .build();
    let (a, b) = (tenant(&zuora, 0), tenant(&zuora, 1));
    let token_a = token_of(&sources, &a).await;
    let baseline = alive_tasks();

    // b's token request hangs (the mock answers after a minute); its caller gives up, and
    // the request goes on in a task of its own.
    zuora.push_rule(
        FaultRule::new(Fault::DelayHeaders {
            delay: Duration::from_secs(60),
        })
        .for_client(tenant_client(1).0),
    );
    let gave_up = tokio::time::timeout(Duration::from_millis(200), sources.get(&b).token()).await;
    assert!(gave_up.is_err());
    tokio::time::timeout(Duration::from_secs(10), zuora.until_token_requests(2))
        .await
        .unwrap();
    assert!(alive_tasks() > baseline, "b's request runs in a task");

    clock.advance(Duration::from_secs(601));
    assert_eq!(sources.evict_idle(), 2);
    assert!(sources.is_empty());
    assert!(token_a.upgrade().is_none(), "a's token was freed");
    // b's request task ends at once, long before the mock's answer.
    let start = Instant::now();
    while alive_tasks() > baseline {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the evicted source's request task is still alive"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Nothing asks again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(zuora.token_request_count(), 2);
}

/// The threads the blocking sources run their requests on (named `zuora-oauth`).
fn fetch_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "zuora-oauth")
        .count()
}

#[test]
fn a_blocking_set_reuses_its_sources_and_an_evicted_one_leaves_no_thread_behind() {
    let zuora = mock(2);
    let clock = ManualClock::default();
    let sources = BlockingTokenSources::builder(UreqTransport::new())
        .with_clock(clock.clock())
        .with_idle_timeout(Duration::from_secs(600))
        .build();
    let (a, b) = (tenant(&zuora, 0), tenant(&zuora, 1));
    let first = sources.get(&a).token().unwrap();
    assert_eq!(
        sources.get(&a).token().unwrap().generation(),
        first.generation()
    );
    assert_eq!(zuora.token_request_count(), 1);
    let token_a = Arc::downgrade(first.token());
    drop(first);

    // b's request takes 2 s; its caller gives up after 100 ms.
    zuora.push_rule(
        FaultRule::new(Fault::DelayHeaders {
            delay: Duration::from_secs(2),
        })
        .for_client(tenant_client(1).0),
    );
    let gave_up = sources
        .get(&b)
        .token_within(Duration::from_millis(100))
        .unwrap_err();
    assert_eq!(gave_up.kind(), TokenErrorKind::GaveUp);
    assert!(fetch_threads() >= 1, "b's request runs on a thread");

    clock.advance(Duration::from_secs(601));
    assert_eq!(sources.evict_idle(), 2);
    assert!(token_a.upgrade().is_none());
    // The thread ends with its request's answer, which nobody keeps.
    let start = Instant::now();
    while fetch_threads() > 0 {
        assert!(start.elapsed() < Duration::from_secs(15), "a thread stayed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(zuora.token_request_count(), 2);
    assert!(zuora.issued_tokens().len() == 2 && sources.is_empty());
}

/// An inner service that says whether a call reached it with a `Tenant` in its extensions.
#[derive(Clone)]
struct Inspect<S> {
    inner: S,
    saw_tenant: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
}

impl<S, B> Service<http::Request<B>> for Inspect<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if request.extensions().get::<Tenant>().is_some() {
            self.saw_tenant.store(true, Ordering::SeqCst);
        }
        self.inner.call(request)
    }
}

#[tokio::test]
async fn the_tower_layer_authorizes_each_call_with_its_tenants_token() {
    let zuora = mock(3);
    let sources = TokenSources::new(HyperTransport::new());
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let (saw_tenant, calls) = (Arc::default(), Arc::default());
    let inspect = Inspect {
        inner: client,
        saw_tenant: Arc::clone(&saw_tenant),
        calls: Arc::clone(&calls),
    };
    let mut api = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(sources.clone()))
        .service(inspect);
    let tenants: Vec<Tenant> = (0..3).map(|i| Tenant::new(tenant(&zuora, i))).collect();
    let url = zuora.api_url(&format!("/v1/accounts/{}", SEEDED_ACCOUNTS[0]));

    for round in 0..2 {
        for tenant in &tenants {
            let mut call = http::Request::get(&url).body(Empty::new()).unwrap();
            call.extensions_mut().insert(tenant.clone());
            let answer = api.ready().await.unwrap().call(call).await.unwrap();
            assert_eq!(answer.status(), 200, "round {round}");
        }
    }
    // Each call carried its own tenant's token: one token per tenant.
    let seen: Vec<String> = zuora
        .api_requests()
        .into_iter()
        .map(|r| r.client_id.expect("a token the mock issued"))
        .collect();
    let ids: Vec<String> = (0..3).map(|i| tenant_client(i).0).collect();
    assert_eq!(seen, [ids.clone(), ids].concat());
    assert_eq!(zuora.token_request_count(), 3);
    assert!(
        !saw_tenant.load(Ordering::SeqCst),
        "the layer removes the Tenant"
    );

    // A call that names no tenant: an error, and nothing sent.
    let call = http::Request::get(&url).body(Empty::new()).unwrap();
    let refused = api.ready().await.unwrap().call(call).await.unwrap_err();
    match refused {
        ApiError::Token(error) => assert_eq!(error.kind(), TokenErrorKind::NoTenant),
        ApiError::Send(error) => panic!("sent: {error}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    assert_eq!(zuora.api_request_count(), 6);
}
