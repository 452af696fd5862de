//! Fleet members: real OS processes, each with a token source sharing the one Redis store,
//! asking for a token continuously against one mock Zuora server.
//!
//! A member is this test (or bench) executable run again with the environment variable
//! [`MEMBER_ENV`] holding its [`MemberConfig`]: the executable's `main` (a bench) or its
//! ignored `fleet_member` test (the test harness) calls [`member_main`], which runs the
//! member and prints one summary line, [`SUMMARY`] followed by the [`Summary`] as JSON.
//! Half the members of a fleet are async (hyper on tokio, [`RedisStore`]), half blocking
//! (ureq, [`BlockingRedisStore`]).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use zuora_oauth_core::{
    ClientId, ClientSecret, Environment, FleetConfig, LifecycleConfig, TokenRequest, TrackId,
};
use zuora_oauth_driver::{DEADLINE_MARGIN, Limits, StoreOptions};
use zuora_oauth_redis::{BlockingRedisStore, RedisStore, RedisStoreBuilder};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

/// The environment variable that makes the executable a fleet member.
pub const MEMBER_ENV: &str = "ZUORA_REDIS_FLEET_MEMBER";
/// The prefix of the summary line.
pub const SUMMARY: &str = "FLEET-SUMMARY ";
/// The line a member prints once it has had its first token.
pub const READY: &str = "FLEET-READY";

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
    /// The shortest lease (the driver makes it last as long as a fetch may: [`Self::lease`]).
    pub lease_ttl: Duration,
    pub warn_every: Duration,
    /// The transport timeout of a token request.
    pub timeout: Duration,
    /// The lifecycle's request deadline (the driver keeps it above the timeout).
    pub request_deadline: Duration,
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
            timeout: zuora_oauth_driver::DEFAULT_TIMEOUT,
            request_deadline: LifecycleConfig::default().request_deadline(),
        }
    }

    /// How long the lease of a member lasts: as long as its fetch may take (its request
    /// deadline, kept above the timeout, plus the core's margin), as the driver fits it.
    pub fn lease(&self) -> Duration {
        let per_request = self.request_deadline.max(self.timeout + DEADLINE_MARGIN);
        self.fleet().with_fetch_deadline(per_request).lease_ttl()
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
            .with_request_deadline(self.request_deadline)
    }

    fn limits(&self) -> Limits {
        Limits::default().with_timeout(self.timeout)
    }

    fn fleet(&self) -> FleetConfig {
        FleetConfig::default()
            .with_min_remaining(self.min_remaining)
            .with_skew_margin(self.skew_margin)
            .with_lease_ttl(self.lease_ttl)
    }

    fn options(&self) -> StoreOptions {
        StoreOptions::default()
            .fleet(self.fleet())
            .warn_every(self.warn_every)
    }

    fn store_builder(&self) -> Option<RedisStoreBuilder> {
        match &self.store {
            Store::None => None,
            Store::Node(url) => Some(RedisStore::builder(url)),
            Store::Cluster(nodes) => Some(RedisStore::cluster_builder(nodes)),
        }
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
        let request = config.request();
        let mut builder = zuora_oauth_hyper::TokenSource::builder(request.clone())
            .config(config.lifecycle())
            .limits(config.limits());
        if let Some(store) = config.store_builder() {
            let store = store.build(&request).expect("a Redis store");
            builder = builder.store(store, config.options());
        }
        let source = builder.build();
        let mut tally = Tally::new(config.id);
        let end = Instant::now() + config.run_for;
        while Instant::now() < end {
            let start = Instant::now();
            let answer = tokio::time::timeout(config.bound, source.token()).await;
            let remaining = match answer {
                Ok(Ok(handle)) => Some(handle.expires_at().saturating_duration_since(source.now())),
                _ => None,
            };
            tally.record(start.elapsed(), remaining);
            tokio::time::sleep(config.every).await;
        }
        tally.summary.store_failures = source.store_failures();
        tally.summary
    })
}

fn run_blocking(config: &MemberConfig) -> Summary {
    let request = config.request();
    let mut builder = zuora_oauth_ureq::TokenSource::builder(request.clone())
        .config(config.lifecycle())
        .limits(config.limits());
    if let Some(store) = config.store_builder() {
        let store: BlockingRedisStore = store.build_blocking(&request).expect("a Redis store");
        builder = builder.store(store, config.options());
    }
    let source = builder.build();
    let mut tally = Tally::new(config.id);
    let end = Instant::now() + config.run_for;
    while Instant::now() < end {
        let start = Instant::now();
        let remaining = source
            .token_within(config.bound)
            .ok()
            .map(|handle| handle.expires_at().saturating_duration_since(source.now()));
        tally.record(start.elapsed(), remaining);
        std::thread::sleep(config.every);
    }
    tally.summary.store_failures = source.store_failures();
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
