//! The transports under test, behind one blocking interface, so that every scenario runs
//! unchanged through each of them.

#![allow(dead_code)] // each test file uses a different part

pub mod leaks;

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

use zuora_oauth_core::{
    ClientId, ClientSecret, Environment, Generation, LifecycleConfig, TokenRequest,
};
use zuora_oauth_driver::{
    BlockingTokenSource, Clock, Status, TokenError, TokenErrorKind, TokenHandle, TokenSource,
};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

/// A clock the test moves by hand; sources built by [`Setup`] read it.
#[derive(Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn set(&self, t: Duration) {
        self.0.store(nanos(t), Ordering::SeqCst);
    }

    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(nanos(d), Ordering::SeqCst);
    }

    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).expect("test times fit in u64 nanoseconds")
}

/// How to build a source for one scenario.
#[derive(Clone)]
pub struct Setup {
    pub request: TokenRequest,
    pub config: LifecycleConfig,
    pub timeout: Duration,
    pub max_body: usize,
    pub clock: ManualClock,
}

impl Setup {
    /// The clocks of this setup: the manual monotonic clock, the system's wall clock.
    pub fn clock(&self) -> Clock {
        let clock = self.clock.clone();
        Clock::new(move || clock.now(), SystemTime::now)
    }

    /// The demo client against `server`, default settings, a manual clock at zero.
    pub fn new(server: &MockServer) -> Self {
        Self::for_client(&server.base_url(), DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    }

    pub fn for_client(base_url: &str, id: &str, secret: &str) -> Self {
        Self {
            request: TokenRequest::new(
                Environment::custom(base_url).unwrap(),
                ClientId::new(id).unwrap(),
                ClientSecret::new(secret).unwrap(),
            ),
            config: LifecycleConfig::default(),
            timeout: Duration::from_secs(10),
            max_body: 64 * 1024,
            clock: ManualClock::default(),
        }
    }
}

/// A transport's token source, driven from blocking test code.
pub trait Driver: Send + Sync + Sized + 'static {
    const NAME: &'static str;
    /// Concurrent callers in the storm scenario (tasks for async, threads for blocking).
    const STORM: usize;
    fn build(setup: &Setup) -> Self;
    fn token(&self) -> Result<TokenHandle, TokenError>;
    /// What the source holds and is doing (`status()`: no request, no wait).
    fn status(&self) -> Status;
    fn invalidate(&self, generation: Generation) -> bool;
    fn authorize(&self, request: &mut http::Request<()>) -> Result<Generation, TokenError>;
    /// Whether no token request is in flight.
    fn idle(&self) -> bool {
        !self.status().fetching
    }
    /// The generation of the token the source hands out now, if any (without asking for one).
    fn current(&self) -> Option<Generation> {
        self.status().token.map(|t| t.generation)
    }
    /// Forgets failures and backoff.
    fn reset(&self);
    /// The source's `Debug`.
    fn debug(&self) -> String;
    /// A token, waiting at most `limit` (the caller's own deadline); `None` if it gave up.
    fn token_within(&self, limit: Duration) -> Option<Result<TokenHandle, TokenError>>;
    /// `STORM` callers ask at the same moment; every result.
    fn storm(&self) -> Vec<Result<TokenHandle, TokenError>>;
}

/// An async transport under test: how to make it for a scenario.
pub trait AsyncTransport: zuora_oauth_driver::Transport + Sized {
    const NAME: &'static str;
    fn make(setup: &Setup) -> Self;
}

impl AsyncTransport for zuora_oauth_hyper::HyperTransport {
    const NAME: &'static str = "hyper";
    fn make(_setup: &Setup) -> Self {
        zuora_oauth_hyper::HyperTransport::new()
    }
}

impl AsyncTransport for zuora_oauth_reqwest::ReqwestTransport {
    const NAME: &'static str = "reqwest";
    fn make(_setup: &Setup) -> Self {
        zuora_oauth_reqwest::ReqwestTransport::new()
    }
}

/// An async token source over transport `T`, on its own tokio runtime.
pub struct Async<T> {
    runtime: tokio::runtime::Runtime,
    source: TokenSource,
    transport: PhantomData<fn() -> T>,
}

pub type Hyper = Async<zuora_oauth_hyper::HyperTransport>;
pub type Reqwest = Async<zuora_oauth_reqwest::ReqwestTransport>;

impl<R: AsyncTransport> Async<R> {
    /// The runtime the source lives on (for async tests of its own).
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    pub fn source(&self) -> &TokenSource {
        &self.source
    }
}

impl<R: AsyncTransport> Driver for Async<R> {
    const NAME: &'static str = R::NAME;
    const STORM: usize = 1000;

    fn build(setup: &Setup) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // hyper-util's client needs the runtime to exist when it is built.
        let source = runtime.block_on(async {
            TokenSource::builder(setup.request.clone(), R::make(setup))
                .with_config(setup.config.clone())
                .with_timeout(setup.timeout)
                .with_max_body(setup.max_body)
                .with_clock(setup.clock())
                .with_seed(7)
                .build()
        });
        Self {
            runtime,
            source,
            transport: PhantomData,
        }
    }

    fn token(&self) -> Result<TokenHandle, TokenError> {
        self.runtime.block_on(self.source.token())
    }

    fn status(&self) -> Status {
        self.source.status()
    }

    fn token_within(&self, limit: Duration) -> Option<Result<TokenHandle, TokenError>> {
        self.runtime
            .block_on(async { tokio::time::timeout(limit, self.source.token()).await })
            .ok()
    }

    fn invalidate(&self, generation: Generation) -> bool {
        self.source.invalidate(generation)
    }

    fn authorize(&self, request: &mut http::Request<()>) -> Result<Generation, TokenError> {
        self.runtime.block_on(self.source.authorize(request))
    }

    fn reset(&self) {
        self.source.reset();
    }

    fn debug(&self) -> String {
        format!("{:?}", self.source)
    }

    fn storm(&self) -> Vec<Result<TokenHandle, TokenError>> {
        self.runtime.block_on(async {
            let barrier = Arc::new(tokio::sync::Barrier::new(Self::STORM));
            let tasks: Vec<_> = (0..Self::STORM)
                .map(|_| {
                    let (source, barrier) = (self.source.clone(), Arc::clone(&barrier));
                    tokio::spawn(async move {
                        barrier.wait().await;
                        source.token().await
                    })
                })
                .collect();
            let mut results = Vec::with_capacity(tasks.len());
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        })
    }
}

pub struct Ureq {
    source: BlockingTokenSource,
}

impl Driver for Ureq {
    const NAME: &'static str = "ureq";
    const STORM: usize = 64;

    fn build(setup: &Setup) -> Self {
        let transport = zuora_oauth_ureq::UreqTransport::new();
        let source = BlockingTokenSource::builder(setup.request.clone(), transport)
            .with_config(setup.config.clone())
            .with_timeout(setup.timeout)
            .with_max_body(setup.max_body)
            .with_clock(setup.clock())
            .with_seed(7)
            .build();
        Self { source }
    }

    fn token(&self) -> Result<TokenHandle, TokenError> {
        self.source.token()
    }

    fn status(&self) -> Status {
        self.source.status()
    }

    fn token_within(&self, limit: Duration) -> Option<Result<TokenHandle, TokenError>> {
        match self.source.token_within(limit) {
            // The caller's own deadline: the request goes on for everyone else.
            Err(e) if e.kind() == TokenErrorKind::GaveUp => None,
            other => Some(other),
        }
    }

    fn invalidate(&self, generation: Generation) -> bool {
        self.source.invalidate(generation)
    }

    fn authorize(&self, request: &mut http::Request<()>) -> Result<Generation, TokenError> {
        self.source.authorize(request)
    }

    fn reset(&self) {
        self.source.reset();
    }

    fn debug(&self) -> String {
        format!("{:?}", self.source)
    }

    fn storm(&self) -> Vec<Result<TokenHandle, TokenError>> {
        let barrier = Arc::new(Barrier::new(Self::STORM));
        let threads: Vec<_> = (0..Self::STORM)
            .map(|_| {
                let (source, barrier) = (self.source.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    source.token()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }
}

/// Runs each listed scenario through every transport: `scenario::<Hyper>`,
/// `scenario::<Ureq>` and `scenario::<Reqwest>` become the tests `hyper::scenario`,
/// `ureq::scenario` and `reqwest::scenario`.
#[macro_export]
macro_rules! matrix {
    ($($scenario:ident),* $(,)?) => {
        mod hyper {
            $( #[test] fn $scenario() { super::$scenario::<$crate::common::Hyper>() } )*
        }
        mod ureq {
            $( #[test] fn $scenario() { super::$scenario::<$crate::common::Ureq>() } )*
        }
        mod reqwest {
            $( #[test] fn $scenario() { super::$scenario::<$crate::common::Reqwest>() } )*
        }
    };
}

/// Polls `condition` every 10 ms until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}

/// A blocking client for the protected endpoint (not a token request: any client will do).
pub fn get_protected(server: &MockServer, authorization: Option<&http::HeaderValue>) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(server.protected_url());
    if let Some(value) = authorization {
        request = request.header("authorization", value.to_str().unwrap());
    }
    request.call().unwrap().status().as_u16()
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub fn secret(handle: &TokenHandle) -> String {
    handle.access_token().secret().to_owned()
}

/// Every message of `error`'s chain (its `Display`, then each `source()`'s), joined by
/// ": ": what a user sees who prints the whole error (`{:#}` with anyhow).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
