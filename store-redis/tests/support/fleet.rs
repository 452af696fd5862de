//! Fleet members: real OS processes, each with a token source sharing the one Redis store,
//! asking for a token continuously against one mock Zuora server.
//!
//! A member is this test (or bench) executable run again with the environment variable
//! [`MEMBER_ENV`] holding its [`MemberConfig`]: the executable's `main` (a bench) or its
//! ignored `fleet_member` test (the test harness) calls [`member_main`], which runs the
//! member and prints one summary line, [`SUMMARY`] followed by the [`Summary`] as JSON.
//! Half the members of a fleet are async (hyper on tokio), half blocking (ureq), each with
//! a [`RedisStore`].

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use zuora_oauth_core::{
    ClientId, ClientSecret, Environment, FleetConfig, LifecycleConfig, TokenHandle, TokenRequest,
    TrackId,
};
use zuora_oauth_driver::store::StoreOptions;
use zuora_oauth_driver::{BlockingTokenSource, Clock, DEFAULT_TIMEOUT, TokenSource};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_redis::{RedisStore, RedisStoreBuilder};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use zuora_oauth_ureq::UreqTransport;

/// The environment variable that makes the executable a fleet member.
pub const MEMBER_ENV: &str = "ZUORA_REDIS_FLEET_MEMBER";
/// The prefix of the summary line.
pub const SUMMARY: &str = "FLEET-SUMMARY ";
/// The line a member prints once it has had its first token.
pub const READY: &str = "FLEET-READY";
/// What the source adds to its timeout to make its request deadline (the driver's rule).
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// Where a member's store is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Store {
    /// No store: the member fetches its own tokens.
    None,
    /// One server.
    Node(String),
    /// A cluster, by its nodes.
    Cluster(Vec<String>),
}

/// What one member does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberConfig {
    pub id: usize,
    /// The mock Zuora server's base URL.
    pub zuora: String,
    pub store: Store,
    pub blocking: bool,
    /// How long it asks.
    pub run_for: Duration,
    /// The pause between two asks.
    pub every: Duration,
    /// The most one ask may wait; longer counts as a failure.
    pub bound: Duration,
    pub refresh_window: Duration,
    pub min_remaining: Duration,
    pub skew_margin: Duration,
    /// The shortest lease (the source makes it last as long as a fetch may: [`Self::lease`]).
    pub lease_ttl: Duration,
    pub warn_every: Duration,
    /// The timeout of a token request (`with_timeout`): the source derives its request
    /// deadline from it, and the lease from that.
    pub timeout: Duration,
}

impl MemberConfig {
    /// The fleet settings of the tests: tokens refreshed 2 s before expiry, handed out with
    /// at least 1 s left, a 0.5 s skew margin, a 2 s lease, warnings once per 10 s (a token lifetime), each
    /// ask bounded by 6 s.
    pub fn new(id: usize, zuora: &str, store: Store, run_for: Duration) -> Self {
        Self {
            id,
            zuora: zuora.to_owned(),
            store,
            blocking: id % 2 == 1,
            run_for,
            every: Duration::from_millis(10),
            bound: Duration::from_secs(6),
            refresh_window: Duration::from_secs(2),
            min_remaining: Duration::from_secs(1),
            skew_margin: Duration::from_millis(500),
            lease_ttl: Duration::from_secs(2),
            warn_every: Duration::from_secs(10),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How long the lease of a member lasts: as long as its fetch may take (its request
    /// deadline, the timeout plus the driver's 5 s margin, plus the core's margin), as the
    /// source fits it.
    pub fn lease(&self) -> Duration {
        let fetch_deadline = self.timeout + DEADLINE_MARGIN;
        self.fleet().with_fetch_deadline(fetch_deadline).lease_ttl()
    }

    /// The track ID its token requests carry, which tells the mock who sent them.
    pub fn track_id(&self) -> String {
        format!("member-{}", self.id)
    }

    fn request(&self) -> TokenRequest {
        TokenRequest::new(
            Environment::custom(&self.zuora).expect("the mock's URL"),
            ClientId::new(DEMO_CLIENT_ID).expect("demo client ID"),
            ClientSecret::new(DEMO_CLIENT_SECRET).expect("demo secret"),
        )
        .with_track_id(TrackId::new(self.track_id()).expect("a track ID"))
    }

    fn lifecycle(&self) -> LifecycleConfig {
        LifecycleConfig::default()
            .with_refresh_window(self.refresh_window)
            .with_min_remaining(self.min_remaining)
    }

    fn fleet(&self) -> FleetConfig {
        FleetConfig::default()
            .with_min_remaining(self.min_remaining)
            .with_skew_margin(self.skew_margin)
            .with_lease_ttl(self.lease_ttl)
    }

    fn options(&self) -> StoreOptions {
        StoreOptions::default()
            .with_fleet(self.fleet())
            .with_warn_every(self.warn_every)
    }

    fn store(&self) -> Option<RedisStore> {
        let builder: RedisStoreBuilder = match &self.store {
            Store::None => return None,
            Store::Node(url) => RedisStore::builder(url),
            Store::Cluster(nodes) => RedisStore::cluster_builder(nodes),
        };
        Some(builder.build().expect("a Redis store"))
    }
}

/// The source's monotonic clock, read by the member too: how long a token handed out has
/// left is its expiry on this clock less the time now.
#[derive(Clone, Copy)]
struct Since(Instant);

impl Since {
    fn new() -> Self {
        Self(Instant::now())
    }

    fn clock(self) -> Clock {
        Clock::new(move || self.0.elapsed(), SystemTime::now)
    }

    /// How long `handle` has left.
    fn remaining(self, handle: &TokenHandle) -> Duration {
        handle
            .expires_at()
            .as_duration()
            .saturating_sub(self.0.elapsed())
    }
}

/// What a member saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub id: usize,
    /// Asks answered with a token within the bound.
    pub served: u64,
    /// Asks that failed or outlasted the bound.
    pub failed: u64,
    /// The shortest remaining lifetime of a token handed out.
    pub min_remaining: Duration,
    /// The longest an ask waited.
    pub max_wait: Duration,
    /// Store calls that failed.
    pub store_failures: u64,
}

/// Runs the member described by [`MEMBER_ENV`], if it is set, and prints its summary.
/// Returns whether it was set.
pub fn member_main() -> bool {
    let Ok(json) = std::env::var(MEMBER_ENV) else {
        return false;
    };
    let config: MemberConfig = serde_json::from_str(&json).expect("a member configuration");
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .init();
    let summary = if config.blocking {
        run_blocking(&config)
    } else {
        run_async(&config)
    };
    println!(
        "{SUMMARY}{}",
        serde_json::to_string(&summary).expect("JSON")
    );
    true
}

/// Counts the asks of one member.
struct Tally {
    summary: Summary,
}

impl Tally {
    fn new(id: usize) -> Self {
        Self {
            summary: Summary {
                id,
                served: 0,
                failed: 0,
                min_remaining: Duration::MAX,
                max_wait: Duration::ZERO,
                store_failures: 0,
            },
        }
    }

    fn record(&mut self, waited: Duration, remaining: Option<Duration>) {
        let s = &mut self.summary;
        if s.served == 0 && remaining.is_some() {
            println!("{READY}");
        }
        s.max_wait = s.max_wait.max(waited);
        match remaining {
            Some(left) => {
                s.served += 1;
                s.min_remaining = s.min_remaining.min(left);
            }
            None => s.failed += 1,
        }
    }
}

fn run_async(config: &MemberConfig) -> Summary {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let since = Since::new();
        let mut builder = TokenSource::builder(config.request(), HyperTransport::new())
            .with_config(config.lifecycle())
            .with_timeout(config.timeout)
            .with_clock(since.clock());
        if let Some(store) = config.store() {
            builder = builder
                .with_store(store)
                .with_store_options(config.options());
        }
        let source = builder.build();
        let mut tally = Tally::new(config.id);
        let end = Instant::now() + config.run_for;
        while Instant::now() < end {
            let start = Instant::now();
            let answer = tokio::time::timeout(config.bound, source.token()).await;
            let remaining = match answer {
                Ok(Ok(handle)) => Some(since.remaining(&handle)),
                _ => None,
            };
            tally.record(start.elapsed(), remaining);
            tokio::time::sleep(config.every).await;
        }
        tally.summary.store_failures = source.status().store_failures;
        tally.summary
    })
}

fn run_blocking(config: &MemberConfig) -> Summary {
    let since = Since::new();
    let mut builder = BlockingTokenSource::builder(config.request(), UreqTransport::new())
        .with_config(config.lifecycle())
        .with_timeout(config.timeout)
        .with_clock(since.clock());
    if let Some(store) = config.store() {
        builder = builder
            .with_store(store)
            .with_store_options(config.options());
    }
    let source = builder.build();
    let mut tally = Tally::new(config.id);
    let end = Instant::now() + config.run_for;
    while Instant::now() < end {
        let start = Instant::now();
        let remaining = source
            .token_within(config.bound)
            .ok()
            .map(|handle| since.remaining(&handle));
        tally.record(start.elapsed(), remaining);
        std::thread::sleep(config.every);
    }
    tally.summary.store_failures = source.status().store_failures;
    tally.summary
}

/// A running member process.
pub struct Member {
    pub config: MemberConfig,
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

/// What a member process left: its summary (none if it was killed) and its standard error.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Option<Summary>,
    pub stderr: String,
}

impl Outcome {
    /// The summary of a member that ran to the end.
    pub fn summary(&self) -> &Summary {
        self.summary
            .as_ref()
            .unwrap_or_else(|| panic!("a member printed no summary; its stderr:\n{}", self.stderr))
    }

    /// How many store-failure warnings it logged.
    pub fn store_warnings(&self) -> usize {
        self.stderr
            .lines()
            .filter(|l| l.contains("WARN") && l.contains("shared token store failed"))
            .count()
    }
}

impl Member {
    /// Starts `config` as a process: this executable again, with `args` (for the test
    /// harness: the filter that selects the member entry point).
    pub fn spawn(config: MemberConfig, args: &[&str]) -> Self {
        let exe = std::env::current_exe().expect("the current executable");
        let mut child = Command::new(exe)
            .args(args)
            .env(MEMBER_ENV, serde_json::to_string(&config).expect("JSON"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn a fleet member");
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self {
            config,
            child,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Waits until the member has had its first token.
    pub fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        // The harness prints `test fleet_member ... ` before the member's first line.
        while !self.stdout.iter().any(|l| l.ends_with(READY)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(_) => panic!("member {} had no token within {within:?}", self.config.id),
            }
        }
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill a member");
    }

    /// Waits for the process and reads what it printed.
    pub fn wait(mut self) -> Outcome {
        let _ = self.child.wait();
        self.stdout.extend(self.lines.iter());
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let summary = self
            .stdout
            .iter()
            .find_map(|l| l.split_once(SUMMARY).map(|(_, json)| json))
            .map(|json| serde_json::from_str(json).expect("a summary"));
        Outcome { summary, stderr }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // A failed test must not leave members running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
