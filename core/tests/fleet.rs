//! Sharing one token through a store, simulated: N processes (each a `TokenLifecycle` and
//! its `FleetFetch` attempts) against one simulated store and one simulated Zuora, on a
//! simulated clock, with store outages, dead lease holders and clock skew.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use zuora_oauth_core::{
    Action, ClientId, ClientSecret, Environment, FleetAction, FleetConfig, FleetFetch, LeaseId,
    LifecycleConfig, Outcome, RequestId, Timestamp, TokenLifecycle, TokenRecord, TokenRequest,
    may_delete,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The simulation's true wall clock at simulated time `t`.
fn true_wall(t: Timestamp) -> SystemTime {
    SystemTime::UNIX_EPOCH + secs(1_764_748_800) + t.as_duration()
}

/// The shared store: one record and one lease, with expiry, and outages.
#[derive(Default)]
struct Store {
    record: Option<(TokenRecord, Timestamp)>,
    lease: Option<(LeaseId, Timestamp)>,
    down: bool,
    calls: usize,
    /// The next load after a lease is taken fails (once): a store that fails the holder
    /// between its lease and its second look.
    fail_load_after_lease: bool,
    lease_just_taken: bool,
}

impl Store {
    fn expire(&mut self, t: Timestamp) {
        if self.record.as_ref().is_some_and(|(_, until)| t >= *until) {
            self.record = None;
        }
        if self.lease.as_ref().is_some_and(|(_, until)| t >= *until) {
            self.lease = None;
        }
    }

    fn up(&mut self, t: Timestamp) -> Result<(), ()> {
        self.calls += 1;
        self.expire(t);
        if self.down { Err(()) } else { Ok(()) }
    }

    fn load(&mut self, t: Timestamp) -> Result<Option<TokenRecord>, ()> {
        self.up(t)?;
        if std::mem::take(&mut self.lease_just_taken) && self.fail_load_after_lease {
            self.fail_load_after_lease = false;
            return Err(());
        }
        Ok(self.record.as_ref().map(|(r, _)| r.clone()))
    }

    fn try_lease(&mut self, t: Timestamp, lease: LeaseId, ttl: Duration) -> Result<bool, ()> {
        self.up(t)?;
        if self.lease.is_some() {
            return Ok(false);
        }
        self.lease = Some((lease, t + ttl));
        self.lease_just_taken = true;
        Ok(true)
    }

    fn save(&mut self, t: Timestamp, record: &TokenRecord) -> Result<(), ()> {
        self.up(t)?;
        let ttl = record.remaining(true_wall(t));
        self.record = Some((record.clone(), t + ttl));
        Ok(())
    }

    fn release(&mut self, t: Timestamp, lease: LeaseId) -> Result<(), ()> {
        self.up(t)?;
        if self.lease.is_some_and(|(held, _)| held == lease) {
            self.lease = None;
        }
        Ok(())
    }

    /// Compare and delete.
    fn delete_if(&mut self, t: Timestamp, expected: &TokenRecord) -> Result<bool, ()> {
        self.up(t)?;
        if self.record.as_ref().is_some_and(|(r, _)| r == expected) {
            self.record = None;
            return Ok(true);
        }
        Ok(false)
    }
}

/// Zuora: issues tokens of one lifetime and remembers when each truly expires.
struct Zuora {
    lifetime: Duration,
    issued: u64,
    fetches: Vec<Timestamp>,
    expiry: HashMap<String, Timestamp>,
}

impl Zuora {
    fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            issued: 0,
            fetches: Vec::new(),
            expiry: HashMap::new(),
        }
    }

    fn answer(&mut self, t: Timestamp) -> http::Response<Vec<u8>> {
        self.issued += 1;
        let token = format!("tok{:029}", self.issued);
        self.expiry.insert(token.clone(), t + self.lifetime);
        let body = format!(
            r#"{{"access_token":"{token}","expires_in":{},"token_type":"bearer"}}"#,
            self.lifetime.as_secs_f64()
        );
        http::Response::builder()
            .header("content-type", "application/json")
            .body(body.into_bytes())
            .unwrap()
    }
}

/// A request in flight at Zuora: answered at `at`.
struct Pending {
    at: Timestamp,
}

struct Attempt {
    id: RequestId,
    fleet: FleetFetch,
    fetch: Option<Pending>,
}

struct Process {
    lc: TokenLifecycle,
    attempt: Option<Attempt>,
    /// This process's wall clock runs this far ahead of the truth (or behind, negative).
    skew_ahead: bool,
    skew: Duration,
    seed: u64,
    /// Dead processes do nothing more (a SIGKILL).
    dead: bool,
    /// Dies right after taking the lease, if set.
    dies_with_lease: bool,
    served: usize,
    failed: usize,
    /// The longest time this process went without a token while asking.
    longest_gap: Duration,
    last_served: Option<Timestamp>,
    /// When it first asked, and when it first got a token.
    first_ask: Option<Timestamp>,
    first_served: Option<Timestamp>,
}

impl Process {
    /// How long it waited for its first token (`None`: it never got one).
    fn first_wait(&self) -> Option<Duration> {
        Some(
            self.first_served?
                .saturating_duration_since(self.first_ask?),
        )
    }
}

struct World {
    store: Store,
    zuora: Zuora,
    procs: Vec<Process>,
    fleet: FleetConfig,
    min_remaining: Duration,
    latency: Duration,
    /// Violations of "never a token under the minimum lifetime".
    short_handouts: Vec<String>,
}

impl World {
    fn new(n: usize, lifetime: Duration, config: LifecycleConfig, fleet: FleetConfig) -> Self {
        let request = TokenRequest::new(
            Environment::custom("http://127.0.0.1:9").unwrap(),
            ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
            ClientSecret::new("dG9wLXNlY3JldC12YWx1ZQ==").unwrap(),
        );
        let min_remaining = config.min_remaining();
        let procs = (0..n as u64)
            .map(|i| Process {
                lc: TokenLifecycle::new(request.clone(), config.clone(), 1000 + i),
                attempt: None,
                skew_ahead: i % 2 == 0,
                skew: Duration::ZERO,
                seed: 7_000 + i * 7919,
                dead: false,
                dies_with_lease: false,
                served: 0,
                failed: 0,
                longest_gap: Duration::ZERO,
                last_served: None,
                first_ask: None,
                first_served: None,
            })
            .collect();
        Self {
            store: Store::default(),
            zuora: Zuora::new(lifetime),
            procs,
            fleet,
            min_remaining,
            latency: ms(200),
            short_handouts: Vec::new(),
        }
    }

    fn wall(p: &Process, t: Timestamp) -> SystemTime {
        if p.skew_ahead {
            true_wall(t) + p.skew
        } else {
            true_wall(t) - p.skew
        }
    }

    /// Every live process asks for a token at `t` and carries its attempt forward.
    fn tick(&mut self, t: Timestamp) {
        for i in 0..self.procs.len() {
            if self.procs[i].dead {
                continue;
            }
            self.drive(i, t);
            self.ask(i, t);
            self.drive(i, t);
        }
    }

    fn ask(&mut self, i: usize, t: Timestamp) {
        let p = &mut self.procs[i];
        p.first_ask.get_or_insert(t);
        match p.lc.poll(t) {
            Action::Use(c) => {
                p.first_served.get_or_insert(t);
                let text = c.token().access_token().secret().to_owned();
                let truth = self.zuora.expiry[&text];
                let left = truth.saturating_duration_since(t);
                if left < self.min_remaining.min(self.zuora.lifetime / 2) {
                    self.short_handouts
                        .push(format!("process {i} at {t:?}: {text} with {left:?} left"));
                }
                p.served += 1;
                if let Some(last) = p.last_served {
                    p.longest_gap = p.longest_gap.max(t.saturating_duration_since(last));
                }
                p.last_served = Some(t);
            }
            Action::Send(out) => {
                let current = p.lc.token(t).map(|c| c.record());
                p.seed = p
                    .seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                p.attempt = Some(Attempt {
                    id: out.id(),
                    fleet: FleetFetch::new(self.fleet.clone(), p.seed, current),
                    fetch: None,
                });
            }
            Action::Wait => {}
            Action::Fail { .. } => p.failed += 1,
        }
    }

    /// Carries out the process's fleet attempt as far as it goes at `t`.
    fn drive(&mut self, i: usize, t: Timestamp) {
        let wall = Self::wall(&self.procs[i], t);
        loop {
            let p = &mut self.procs[i];
            let Some(attempt) = p.attempt.as_mut() else {
                return;
            };
            if let Some(pending) = &attempt.fetch {
                if t < pending.at {
                    return;
                }
                attempt.fetch = None;
                let response = self.zuora.answer(t);
                let record = match p.lc.handle_response(t, wall, attempt.id, &response) {
                    Outcome::Token(c) => Some(c.record()),
                    _ => None,
                };
                attempt.fleet.fetched(record);
                continue;
            }
            match attempt.fleet.poll(t) {
                FleetAction::Load => {
                    let r = self.store.load(t);
                    attempt.fleet.loaded(t, wall, r);
                }
                FleetAction::TryLease { lease, ttl } => {
                    let r = self.store.try_lease(t, lease, ttl);
                    let taken = r == Ok(true);
                    attempt.fleet.leased(t, r);
                    if taken && p.dies_with_lease {
                        p.dead = true;
                        return;
                    }
                }
                FleetAction::Sleep { .. } => return,
                FleetAction::Adopt(record) => {
                    let record = record.clone();
                    let taken = matches!(
                        p.lc.handle_record(t, wall, attempt.id, &record),
                        Outcome::Token(_)
                    );
                    attempt.fleet.adopted(taken);
                }
                FleetAction::Fetch => {
                    self.zuora.fetches.push(t);
                    attempt.fetch = Some(Pending {
                        at: t + self.latency,
                    });
                }
                FleetAction::Save(record) => {
                    let record = record.clone();
                    let r = self.store.save(t, &record);
                    attempt.fleet.saved(r);
                }
                FleetAction::Release { lease } => {
                    let r = self.store.release(t, lease);
                    attempt.fleet.released(r);
                }
                FleetAction::Done => {
                    // A request the fleet never answered (e.g. an adopt the lifecycle
                    // refused) ends here.
                    p.lc.cancel(attempt.id);
                    p.attempt = None;
                    return;
                }
            }
        }
    }

    fn run(
        &mut self,
        from: Timestamp,
        until: Timestamp,
        step: Duration,
        mut before: impl FnMut(&mut Self, Timestamp),
    ) {
        let mut t = from;
        while t < until {
            before(self, t);
            self.tick(t);
            t = t + step;
        }
    }
}

/// The defaults, fitted to each other as a driver fits them: the lease lasts as long as
/// the lifecycle lets a request run, and the lifecycle's deadline covers the fleet's wait.
fn fitted(config: LifecycleConfig, fleet: FleetConfig) -> (LifecycleConfig, FleetConfig) {
    let fleet = fleet.with_fetch_deadline(config.request_deadline());
    (
        config.with_request_deadline(fleet.request_deadline()),
        fleet,
    )
}

fn zuora_like() -> (LifecycleConfig, FleetConfig) {
    fitted(LifecycleConfig::default(), FleetConfig::default())
}

/// Eight processes, a healthy store, three refresh intervals of a Zuora-like token: one
/// token request per interval, and every caller always served a token with time left.
#[test]
fn healthy_store_one_request_per_interval() {
    let (config, fleet) = zuora_like();
    let mut w = World::new(8, secs(3599), config, fleet);
    // Refreshes come 300–330 s before expiry, less the 30 s skew margin for adopted
    // tokens: one every ~3240–3300 s. Three of them start before 9000 s, a fourth after.
    let end = Timestamp::ZERO + secs(9000);
    w.run(Timestamp::ZERO, end, ms(500), |_, _| {});
    assert_eq!(w.zuora.fetches.len(), 3, "{:?}", w.zuora.fetches);
    assert!(w.short_handouts.is_empty(), "{:?}", w.short_handouts);
    for (i, p) in w.procs.iter().enumerate() {
        assert_eq!(p.failed, 0, "process {i}");
        assert!(
            p.longest_gap <= secs(2),
            "process {i} waited {:?}",
            p.longest_gap
        );
    }
}

/// The store goes down for over half an hour around a refresh: every process keeps getting
/// tokens (each fetches its own), and once it is back the fleet returns to one request per
/// interval.
#[test]
fn store_outage_costs_requests_not_tokens() {
    let (config, fleet) = zuora_like();
    let mut w = World::new(8, secs(3599), config, fleet);
    let (down_from, down_until) = (Timestamp::ZERO + secs(3000), Timestamp::ZERO + secs(5000));
    let end = Timestamp::ZERO + secs(12_500);
    w.run(Timestamp::ZERO, end, ms(500), |w, t| {
        w.store.down = t >= down_from && t < down_until;
    });
    for (i, p) in w.procs.iter().enumerate() {
        assert_eq!(p.failed, 0, "process {i}");
        assert!(
            p.longest_gap <= secs(2),
            "process {i} waited {:?}",
            p.longest_gap
        );
    }
    assert!(w.short_handouts.is_empty(), "{:?}", w.short_handouts);
    let during = w
        .zuora
        .fetches
        .iter()
        .filter(|&&f| f >= down_from && f < down_until)
        .count();
    let after = w.zuora.fetches.iter().filter(|&&f| f >= down_until).count();
    assert_eq!(
        during, 8,
        "each process fetched its own once: {:?}",
        w.zuora.fetches
    );
    // Two intervals after the outage, one request each.
    assert_eq!(after, 2, "back to one per interval: {:?}", w.zuora.fetches);
}

/// The process that takes the lease dies before fetching: another fetches once the lease
/// expires, and no caller waits longer than the lease TTL plus a poll.
#[test]
fn dead_lease_holder_is_replaced_within_the_lease_ttl() {
    let (config, fleet) = zuora_like();
    let ttl = fleet.lease_ttl();
    let mut w = World::new(4, secs(3599), config, fleet);
    w.procs[0].dies_with_lease = true;
    w.run(
        Timestamp::ZERO,
        Timestamp::ZERO + secs(60),
        ms(50),
        |_, _| {},
    );
    assert!(w.procs[0].dead, "the holder died");
    assert_eq!(w.zuora.fetches.len(), 1, "{:?}", w.zuora.fetches);
    let first = w.zuora.fetches[0];
    assert!(
        first >= Timestamp::ZERO + ttl,
        "not before the lease expired: {first:?}"
    );
    assert!(first <= Timestamp::ZERO + ttl + secs(1), "{first:?}");
    for p in &w.procs[1..] {
        assert!(p.served > 0);
        assert_eq!(p.failed, 0);
    }
}

/// Clocks within the skew margin never make a process hand out a token under the minimum
/// lifetime, whoever stored it.
#[test]
fn skewed_clocks_within_the_margin_are_safe() {
    let (config, fleet) = zuora_like();
    let margin = fleet.skew_margin();
    let mut w = World::new(6, secs(3599), config, fleet);
    for (i, p) in w.procs.iter_mut().enumerate() {
        p.skew = margin * (i as u32) / 6;
    }
    w.run(
        Timestamp::ZERO,
        Timestamp::ZERO + secs(3 * 3300),
        ms(500),
        |_, _| {},
    );
    assert!(w.short_handouts.is_empty(), "{:?}", w.short_handouts);
    assert!(w.zuora.fetches.len() <= 4, "{:?}", w.zuora.fetches);
}

/// `invalidate` deletes the shared record only if it is the token that got the 401.
#[test]
fn invalidate_deletes_only_the_token_that_got_the_401() {
    let (config, fleet) = zuora_like();
    let mut w = World::new(2, secs(3599), config, fleet);
    w.run(
        Timestamp::ZERO,
        Timestamp::ZERO + secs(5),
        ms(100),
        |_, _| {},
    );
    let t = Timestamp::ZERO + secs(5);
    let bad = w.procs[0].lc.token(t).unwrap().record();
    let shared = w.store.load(t).unwrap().unwrap();
    assert!(may_delete(&shared, &bad));
    assert_eq!(
        w.store.delete_if(t, &shared),
        Ok(true),
        "A deletes the record once"
    );
    // A fetches the next token; B then reports the same old token.
    let generation = w.procs[0].lc.token(t).unwrap().generation();
    w.procs[0].lc.invalidate(t, generation);
    w.run(t, t + secs(5), ms(100), |_, _| {});
    let newer = w.store.load(t + secs(5)).unwrap().unwrap();
    assert!(
        !may_delete(&newer, &bad),
        "B's report of the old token deletes nothing"
    );
    assert_eq!(w.zuora.fetches.len(), 2, "one new token request in all");
}

/// Zuora answers in 15 s, half its transport timeout: the lease holder keeps the lease for
/// the whole fetch, the others wait for its token. One request at start-up and one per
/// refresh interval, every process served, none failing.
#[test]
fn slow_zuora_one_request_per_interval() {
    let (config, fleet) = zuora_like();
    let mut w = World::new(8, secs(3599), config, fleet);
    w.latency = secs(15);
    let end = Timestamp::ZERO + secs(9000);
    w.run(Timestamp::ZERO, end, ms(250), |_, _| {});
    assert_eq!(w.zuora.fetches.len(), 3, "{:?}", w.zuora.fetches);
    assert!(w.short_handouts.is_empty(), "{:?}", w.short_handouts);
    for (i, p) in w.procs.iter().enumerate() {
        assert_eq!(p.failed, 0, "process {i}");
        let first = p.first_wait().expect("a token");
        assert!(
            first <= secs(16),
            "process {i} waited {first:?} for its first token"
        );
        assert!(
            p.longest_gap <= secs(2),
            "process {i} waited {:?}",
            p.longest_gap
        );
    }
}

/// The lease holder dies before fetching; the others wait for its lease, one takes it over
/// and gets its answer just within the transport timeout (29 s of 30). That token is used,
/// not thrown away because the wait for the lease came first: one request, no failure.
#[test]
fn an_answer_after_waiting_out_a_dead_holder_is_kept() {
    let (config, fleet) = zuora_like();
    let ttl = fleet.lease_ttl();
    let mut w = World::new(4, secs(3599), config, fleet);
    w.latency = secs(29);
    w.procs[0].dies_with_lease = true;
    w.run(
        Timestamp::ZERO,
        Timestamp::ZERO + secs(300),
        ms(50),
        |_, _| {},
    );
    assert!(w.procs[0].dead, "the holder died");
    assert_eq!(w.zuora.fetches.len(), 1, "{:?}", w.zuora.fetches);
    for (i, p) in w.procs.iter().enumerate().skip(1) {
        assert_eq!(p.failed, 0, "process {i} was failed");
        let first = p.first_wait().expect("a token");
        assert!(
            first <= ttl + secs(30),
            "process {i} waited {first:?} for its first token"
        );
    }
}

/// The store fails the holder's second look, right after it took the lease: it fetches all
/// the same, then saves and releases (best effort), so that the others take its token
/// instead of waiting out the lease and fetching again.
#[test]
fn a_store_failure_after_the_lease_still_saves_and_releases() {
    let (config, fleet) = zuora_like();
    let mut w = World::new(4, secs(3599), config, fleet);
    w.store.fail_load_after_lease = true;
    w.run(
        Timestamp::ZERO,
        Timestamp::ZERO + secs(60),
        ms(50),
        |_, _| {},
    );
    assert!(!w.store.fail_load_after_lease, "the failure happened");
    assert_eq!(w.zuora.fetches.len(), 1, "{:?}", w.zuora.fetches);
    assert!(w.store.lease.is_none(), "the lease was released");
    for (i, p) in w.procs.iter().enumerate() {
        assert_eq!(p.failed, 0, "process {i}");
        let first = p.first_wait().expect("a token");
        assert!(first <= secs(2), "process {i} waited {first:?}");
    }
}

/// A `TryLease` that fails may still have taken the lease (the command reached the store,
/// its answer was lost): the attempt fetches without waiting, then saves and releases, as
/// a holder does.
#[test]
fn a_failed_lease_command_is_released_after_the_fetch() {
    let t = Timestamp::ZERO;
    let wall = true_wall(t);
    let mut attempt = FleetFetch::new(FleetConfig::default(), 42, None);
    assert!(matches!(attempt.poll(t), FleetAction::Load));
    attempt.loaded::<()>(t, wall, Ok(None));
    let FleetAction::TryLease { lease, .. } = attempt.poll(t) else {
        panic!("the lease first");
    };
    attempt.leased(t, Err("connection reset"));
    assert!(matches!(attempt.poll(t), FleetAction::Fetch));
    assert!(attempt.store_failed());
    let token = zuora_oauth_core::Token::new(
        zuora_oauth_core::AccessToken::new("c652cbc0ea384b9f81856a93a2a74538").unwrap(),
        secs(3599),
    );
    let record = TokenRecord::new(&token, wall);
    attempt.fetched(Some(record.clone()));
    match attempt.poll(t) {
        FleetAction::Save(saved) => assert_eq!(saved, &record),
        other => panic!("expected a save, got {other:?}"),
    }
    attempt.saved::<()>(Ok(()));
    match attempt.poll(t) {
        FleetAction::Release { lease: released } => assert_eq!(released, lease),
        other => panic!("expected the release, got {other:?}"),
    }
    attempt.released::<()>(Ok(()));
    assert!(matches!(attempt.poll(t), FleetAction::Done));
}

#[derive(Debug, Clone)]
struct Faults {
    procs: usize,
    lifetime_s: u64,
    outages: Vec<(u64, u64)>,
    dead_holder: bool,
    skews: Vec<u64>,
}

fn faults() -> impl Strategy<Value = Faults> {
    (
        2usize..8,
        prop_oneof![Just(120u64), Just(600), 61u64..3600],
        proptest::collection::vec((0u64..3000, 1u64..900), 0..3),
        any::<bool>(),
        proptest::collection::vec(0u64..30_000, 8),
    )
        .prop_map(|(procs, lifetime_s, outages, dead_holder, skews)| Faults {
            procs,
            lifetime_s,
            outages,
            dead_holder,
            skews,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// With a healthy store at most one fetch per lease window; never a token under the
    /// minimum lifetime; with the store failing, every process still gets tokens.
    #[test]
    fn fleet_invariants(f in faults()) {
        let (config, fleet) = zuora_like();
        let (ttl, margin) = (fleet.lease_ttl(), fleet.skew_margin());
        let mut w = World::new(f.procs, secs(f.lifetime_s), config, fleet);
        for (p, skew) in w.procs.iter_mut().zip(&f.skews) {
            p.skew = ms(*skew).min(margin);
        }
        w.procs[0].dies_with_lease = f.dead_holder;
        let outages: Vec<(Timestamp, Timestamp)> = f.outages.iter()
            .map(|&(from, len)| (Timestamp::ZERO + secs(from), Timestamp::ZERO + secs(from + len)))
            .collect();
        let end = Timestamp::ZERO + secs(3 * f.lifetime_s.max(600));
        w.run(Timestamp::ZERO, end, ms(250), |w, t| {
            w.store.down = outages.iter().any(|&(a, b)| t >= a && t < b);
        });
        prop_assert!(w.short_handouts.is_empty(), "{:?}", w.short_handouts);
        let healthy = |t: Timestamp| outages.iter().all(|&(a, b)| t + ttl < a || t >= b + ttl);
        // A process that adopted a token counts on the skew margin less of it, so it
        // refreshes earlier than the process that fetched it; the fetcher then finds a newer
        // token that is no better than its own, and fetches. That happens only for tokens
        // shorter than about three skew margins plus the minimum lifetime (FleetConfig's
        // docs). And a token shorter than about six lease windows (40 s each by default:
        // the lease lasts as long as a fetch may) is refreshed every lease window or so, the
        // fetcher and the adopters in turn (the skew margin again, now against a longer
        // window): a fetch per window, not two in one. The efficiency rule is checked above
        // both (Zuora's tokens live an hour).
        let long_enough = secs(f.lifetime_s) > margin * 3 + secs(30) + secs(30)
            && secs(f.lifetime_s) >= ttl * 6;
        for pair in w.zuora.fetches.windows(2) {
            if long_enough && healthy(pair[0]) && healthy(pair[1]) && !(f.dead_holder && pair[0] < Timestamp::ZERO + ttl * 2) {
                prop_assert!(pair[1].saturating_duration_since(pair[0]) >= ttl,
                    "two fetches within a lease window: {:?}", w.zuora.fetches);
            }
        }
        for (i, p) in w.procs.iter().enumerate() {
            if p.dead { continue; }
            prop_assert_eq!(p.failed, 0, "process {} failed", i);
            prop_assert!(p.served > 0, "process {} never got a token", i);
            prop_assert!(p.longest_gap <= ttl + secs(2), "process {} waited {:?}", i, p.longest_gap);
        }
    }
}
