//! `FleetFetch` (one process's way to a token through a shared store) driven by arbitrary
//! polls, store and Zuora answers (in any order, also ones it did not ask for), time moving
//! either way and new attempts, against a model of the protocol its documentation states.
//!
//! Input: 11 configuration bytes, then byte-coded operations (see
//! `zuora_oauth_fuzz::fleet::decode_fleet`). Checked at every poll:
//! - the lease's TTL is the fetch deadline plus 5 s, or the configured least TTL if longer
//!   (restated here, and `FleetConfig::lease_ttl` agrees);
//! - the action is the one the protocol gives (load; a good-enough record newer than the
//!   token being replaced is offered for adoption, shortened by the skew margin; else the
//!   lease; as holder, load again, then fetch, save, release; held by another: sleep a
//!   jittered poll within the configured bounds, try again one TTL after the first refusal,
//!   fetch without the store after two; a store failure without the lease: fetch without
//!   the store; a store failure as holder, or a failed lease command (it may have taken
//!   the lease): fetch, then save and release as a holder); polling again without
//!   reporting repeats it, and a report the attempt did not ask for changes nothing;
//! - one lease per attempt, never asked for again once held; its value constant, and the
//!   one released; a lease taken, or perhaps taken (a failed lease command), is always
//!   released (after a failed save too, after any store failure, or a record adopted as
//!   holder); nothing asked of the store after a store failure without the lease or after
//!   giving up on it, and nothing but the save and the release after a failure as holder;
//!   `store_failed()` says whether a store call failed; at most one fetch per attempt;
//! - `Adopt` offers only records `FleetConfig::good_enough` at the load (and re-implemented
//!   here), never the token being replaced nor one expiring before it; the offered record
//!   expires the skew margin earlier (not before its issue), and a lifecycle holding no
//!   token, with the same minimum remaining lifetime, takes it;
//! - `Save` offers exactly the fetched record; `holds_lease()` agrees; no `Debug` of an
//!   action or the attempt shows an access token.
//!
//! At the end, the attempt is driven to its end with a store and Zuora that answer every
//! call (10 ms each; the lease is free): it must be `Done` within the lease TTL after the
//! first refusal plus one poll (plus a few calls), as documented.

#![forbid(unsafe_code)]
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use zuora_oauth_core::{
    AccessToken, FleetAction, FleetConfig, FleetFetch, LeaseId, LifecycleConfig, Timestamp, Token,
    TokenLifecycle, TokenRecord,
};
use zuora_oauth_fuzz::fleet::{FleetOp, FleetSpec, decode_fleet};
use zuora_oauth_fuzz::{RECORD_AGES, RECORD_LIFETIMES, request, skewed_wall};

/// Every access token the target makes starts with this (so a `Debug` showing one is
/// recognised).
const TOKEN_PREFIX: &str = "zzq";
/// What a store or Zuora call takes when the target drives an attempt to its end.
const STEP: Duration = Duration::from_millis(10);

fuzz_target!(|data: &[u8]| {
    let (spec, ops) = decode_fleet(data);
    let mut h = Harness::new(spec);
    for op in ops.into_iter().take(512) {
        h.apply(op);
    }
    h.drain();
});

/// What the protocol says the next poll gives.
#[derive(Debug, Clone)]
enum Phase {
    Load,
    TryLease,
    /// Until a time drawn between the bounds (`seen` once a poll showed it).
    Sleep {
        lo: Timestamp,
        hi: Timestamp,
        seen: Option<Timestamp>,
    },
    /// The record loaded, the expiry it must be offered with, and the wall clock at the
    /// load.
    Adopt {
        loaded: TokenRecord,
        expires_at: SystemTime,
        wall: SystemTime,
    },
    Fetch,
    Save(TokenRecord),
    Release,
    Done,
}

/// What a poll asked for, owned.
#[derive(Debug)]
enum Asked {
    Load,
    TryLease,
    Sleep(Timestamp),
    Adopt,
    Fetch,
    Save,
    Release,
    Done,
}

struct Attempt {
    fleet: FleetFetch,
    phase: Phase,
    /// The token being replaced.
    current: Option<TokenRecord>,
    holder: bool,
    /// The value of the lease, once asked for.
    lease: Option<LeaseId>,
    took_lease: bool,
    /// A store failure, or given up on the lease: the store is not touched again.
    without_store: bool,
    /// A store failure while holding the lease (or perhaps holding it): only the save and
    /// the release may still go to the store.
    failed_holding: bool,
    /// A lease command failed: the lease may have been taken.
    lease_maybe: bool,
    store_failed: bool,
    released: bool,
    fetches: u32,
    waiting_since: Option<Timestamp>,
}

struct Harness {
    spec: FleetSpec,
    config: FleetConfig,
    clock: Timestamp,
    /// The latest time passed to the attempt (the clock may go back).
    latest: Timestamp,
    /// Seconds the wall clock is off the monotonic one.
    skew: i64,
    issued: u64,
    attempts: u64,
    a: Attempt,
}

impl Harness {
    fn new(spec: FleetSpec) -> Self {
        let (min, max) = spec.poll();
        let config = FleetConfig::default()
            .with_min_remaining(spec.min_remaining())
            .with_skew_margin(spec.skew())
            .with_lease_ttl(spec.ttl())
            .with_fetch_deadline(spec.fetch_deadline())
            .with_poll(min, max);
        assert_eq!(config.poll(), (min, max.max(min)));
        assert_eq!(
            config.lease_ttl(),
            spec.lease_ttl(),
            "FleetConfig::lease_ttl"
        );
        assert_eq!(config.fetch_deadline(), spec.fetch_deadline());
        let mut h = Self {
            spec,
            config,
            clock: Timestamp::ZERO,
            latest: Timestamp::ZERO,
            skew: 0,
            issued: 0,
            attempts: 0,
            a: Attempt::placeholder(),
        };
        h.restart(spec.current, spec.current_age);
        h
    }

    fn wall(&self) -> SystemTime {
        skewed_wall(self.clock, self.skew)
    }

    fn next_token(&mut self, lifetime: Duration) -> Token {
        self.issued += 1;
        let text = format!("{TOKEN_PREFIX}{:029}", self.issued);
        Token::new(AccessToken::new(&text).expect("a valid token"), lifetime)
    }

    /// A record of a new token living `RECORD_LIFETIMES[life]`, issued `RECORD_AGES[age]`
    /// seconds before the wall clock.
    fn make_record(&mut self, life: u8, age: u8) -> TokenRecord {
        let lifetime = RECORD_LIFETIMES[usize::from(life) % RECORD_LIFETIMES.len()];
        let age = RECORD_AGES[usize::from(age) % RECORD_AGES.len()];
        let wall = self.wall();
        let shift = Duration::from_secs(age.unsigned_abs());
        let issued = if age >= 0 {
            wall.checked_sub(shift).unwrap_or(UNIX_EPOCH)
        } else {
            wall + shift
        };
        let token = self.next_token(lifetime);
        TokenRecord::new(&token, issued)
    }

    fn restart(&mut self, current: u8, age: u8) {
        let current = (current != 0).then(|| self.make_record(current - 1, age));
        self.attempts += 1;
        let seed = u64::from(self.spec.seed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(self.attempts);
        self.a = Attempt::new(
            FleetFetch::new(self.config.clone(), seed, current.clone()),
            current,
        );
    }

    fn apply(&mut self, op: FleetOp) {
        match op {
            FleetOp::Poll => {
                self.poll();
            }
            FleetOp::Loaded { kind, life, age } => self.loaded(kind, life, age),
            FleetOp::Leased(v) => self.leased(v),
            FleetOp::Fetched(v) => self.fetched(v),
            FleetOp::Saved(v) => self.saved(v),
            FleetOp::Released(v) => self.released(v),
            FleetOp::Adopted(v) => self.adopted(v),
            FleetOp::AdvanceMs(ms) => self.clock = self.clock + Duration::from_millis(ms.into()),
            FleetOp::AdvanceSecs(s) => self.clock = self.clock + Duration::from_secs(s.into()),
            FleetOp::BackMs(ms) => self.clock = self.clock - Duration::from_millis(ms.into()),
            FleetOp::WallSkew(s) => self.skew += i64::from(s),
            FleetOp::Restart { current, age } => self.restart(current, age),
            FleetOp::Step(answer) => self.step(answer),
        }
    }

    /// Poll, and carry out what it asks with the answer `answer` picks.
    fn step(&mut self, answer: u8) {
        match self.poll() {
            Asked::Load => self.loaded(answer % 5, answer / 5, 0),
            Asked::TryLease => self.leased(answer),
            Asked::Sleep(until) => self.clock = self.clock.max(until),
            Asked::Adopt => self.adopted(answer & 1 == 1),
            Asked::Fetch => self.fetched(answer & 1 == 1),
            Asked::Save => self.saved(answer & 1 == 1),
            Asked::Release => self.released(answer & 1 == 1),
            Asked::Done => {}
        }
    }

    // ---- poll ----------------------------------------------------------------------

    fn poll(&mut self) -> Asked {
        let now = self.clock;
        self.latest = self.latest.max(now);
        let (min_poll, max_poll) = self.config.poll();
        let ttl = self.spec.lease_ttl();
        let a = &mut self.a;
        let action = a.fleet.poll(now);
        check_debug(&format!("{action:?}"), "an action");
        let store_action = matches!(
            action,
            FleetAction::Load
                | FleetAction::TryLease { .. }
                | FleetAction::Save(_)
                | FleetAction::Release { .. }
        );
        assert!(
            !(a.without_store && store_action),
            "the store asked again after a failure or giving up: {action:?}"
        );
        assert!(
            !(a.failed_holding
                && matches!(action, FleetAction::Load | FleetAction::TryLease { .. })),
            "a holder whose store failed asked it for more than a save and a release: {action:?}"
        );
        let asked = match (&mut a.phase, action) {
            (Phase::Load, FleetAction::Load) => Asked::Load,
            (Phase::TryLease, FleetAction::TryLease { lease, ttl: t }) => {
                assert!(!a.took_lease, "a second lease asked for in one attempt");
                assert_eq!(t, ttl, "the lease's TTL");
                assert_eq!(
                    *a.lease.get_or_insert(lease),
                    lease,
                    "the lease value changed"
                );
                Asked::TryLease
            }
            (Phase::Sleep { lo, hi, seen }, FleetAction::Sleep { until }) => {
                assert!(now < until, "Sleep until {until:?}, not after {now:?}");
                match seen {
                    Some(s) => assert_eq!(*s, until, "the sleep's end changed"),
                    None => {
                        assert!(
                            *lo <= until && until <= *hi,
                            "Sleep until {until:?}: not a poll delay ({min_poll:?}..={max_poll:?}) \
                             after the report ({lo:?}..={hi:?})"
                        );
                        *seen = Some(until);
                    }
                }
                Asked::Sleep(until)
            }
            (Phase::Sleep { lo, seen, .. }, FleetAction::Load) => {
                // Slept: its end (drawn, maybe never seen) is not after now.
                assert!(seen.is_none_or(|s| now >= s), "woke before the sleep's end");
                assert!(now >= *lo, "woke before the shortest poll delay");
                a.phase = Phase::Load;
                Asked::Load
            }
            (
                Phase::Adopt {
                    loaded,
                    expires_at,
                    wall,
                },
                FleetAction::Adopt(offered),
            ) => {
                assert_eq!(
                    offered.to_token().access_token().secret(),
                    loaded.to_token().access_token().secret(),
                    "not the record loaded"
                );
                assert_eq!(offered.issued_at(), loaded.issued_at(), "issue time");
                assert_eq!(
                    offered.expires_at(),
                    *expires_at,
                    "not shortened by the skew margin"
                );
                // The lifecycle does not take a record only when it holds a token that
                // lives longer: one holding none, with the same minimum remaining
                // lifetime, takes it.
                let mut lc = TokenLifecycle::new(
                    request(),
                    LifecycleConfig::default().with_min_remaining(self.spec.min_remaining()),
                    1,
                );
                assert!(
                    lc.adopt(now, *wall, offered).is_some(),
                    "a lifecycle with no token refuses the record offered: {offered:?}"
                );
                Asked::Adopt
            }
            (Phase::Fetch, FleetAction::Fetch) => Asked::Fetch,
            (Phase::Save(record), FleetAction::Save(offered)) => {
                assert_eq!(offered, &*record, "not the record fetched");
                Asked::Save
            }
            (Phase::Release, FleetAction::Release { lease }) => {
                assert!(
                    a.took_lease || a.lease_maybe,
                    "released a lease never asked for"
                );
                // (A driver may report without polling: the value is first seen here then.)
                assert_eq!(
                    *a.lease.get_or_insert(lease),
                    lease,
                    "released another lease value"
                );
                Asked::Release
            }
            (Phase::Done, FleetAction::Done) => {
                assert!(
                    !(a.took_lease || a.lease_maybe) || a.released,
                    "done without releasing the lease (taken or perhaps taken)"
                );
                Asked::Done
            }
            (phase, action) => panic!("the protocol gives {phase:?}, the attempt {action:?}"),
        };
        let done = matches!(a.phase, Phase::Done);
        assert_eq!(a.fleet.holds_lease(), a.holder && !done, "holds_lease");
        assert_eq!(a.fleet.store_failed(), a.store_failed, "store_failed");
        if matches!(asked, Asked::Adopt | Asked::Save | Asked::Done) {
            check_debug(&format!("{:?}", a.fleet), "the attempt");
        }
        asked
    }

    // ---- reports -------------------------------------------------------------------

    fn loaded(&mut self, kind: u8, life: u8, age: u8) {
        let (now, wall) = (self.clock, self.wall());
        self.latest = self.latest.max(now);
        let result: Result<Option<TokenRecord>, ()> = match kind % 5 {
            0 => Ok(Some(self.make_record(life, age))),
            1 => Ok(self.a.current.clone()),
            2 => Ok(self.a.current.clone().map(|c| {
                // Another token, issued and expiring with the one being replaced.
                let token = self.next_token(c.lifetime());
                let other = TokenRecord::new(&token, c.issued_at());
                assert_eq!(other.expires_at(), c.expires_at());
                other
            })),
            3 => Ok(None),
            _ => Err(()),
        };
        let asked = matches!(self.a.phase, Phase::Load);
        self.a.fleet.loaded(now, wall, result.clone());
        if !asked {
            return;
        }
        self.a.phase = match result {
            Err(()) => self.store_failure(),
            Ok(Some(record)) if self.usable(&record, wall) => {
                let expires_at = record
                    .expires_at()
                    .checked_sub(self.spec.skew())
                    .map_or(record.issued_at(), |t| t.max(record.issued_at()));
                Phase::Adopt {
                    loaded: record,
                    expires_at,
                    wall,
                }
            }
            Ok(_) if self.a.holder => Phase::Fetch,
            Ok(_) => match self.a.waiting_since {
                Some(since) if now.saturating_duration_since(since) >= self.spec.lease_ttl() => {
                    Phase::TryLease
                }
                Some(_) => self.sleep(now),
                None => Phase::TryLease,
            },
        };
    }

    /// Whether a loaded record is adopted: more than the minimum remaining lifetime (at
    /// most half its lifetime) plus the skew margin left, and neither the token being
    /// replaced nor one expiring before it.
    fn usable(&self, record: &TokenRecord, wall: SystemTime) -> bool {
        let remaining = record
            .expires_at()
            .duration_since(wall)
            .unwrap_or(Duration::ZERO);
        let least = self
            .spec
            .min_remaining()
            .min(record.lifetime() / 2)
            .saturating_add(self.spec.skew());
        let good = remaining > least;
        assert_eq!(
            self.config.good_enough(record, wall),
            good,
            "FleetConfig::good_enough"
        );
        let text = |r: &TokenRecord| r.to_token().access_token().secret().to_owned();
        good && self.a.current.as_ref().is_none_or(|current| {
            text(current) != text(record) && record.expires_at() >= current.expires_at()
        })
    }

    fn leased(&mut self, v: u8) {
        let now = self.clock;
        self.latest = self.latest.max(now);
        let result: Result<bool, ()> = match v % 3 {
            0 => Ok(true),
            1 => Ok(false),
            _ => Err(()),
        };
        let asked = matches!(self.a.phase, Phase::TryLease);
        self.a.fleet.leased(now, result);
        if !asked {
            return;
        }
        self.a.phase = match result {
            Err(()) => {
                // The command may have taken the lease: a holder from here on.
                self.a.holder = true;
                self.a.lease_maybe = true;
                self.store_failure()
            }
            Ok(true) => {
                self.a.holder = true;
                self.a.took_lease = true;
                Phase::Load
            }
            Ok(false) => {
                let since = *self.a.waiting_since.get_or_insert(now);
                if now.saturating_duration_since(since) >= self.spec.lease_ttl().saturating_mul(2) {
                    self.a.without_store = true;
                    Phase::Fetch
                } else {
                    self.sleep(now)
                }
            }
        };
    }

    fn adopted(&mut self, accepted: bool) {
        let asked = matches!(self.a.phase, Phase::Adopt { .. });
        self.a.fleet.adopted(accepted);
        if !asked {
            return;
        }
        self.a.phase = match (accepted, self.a.holder) {
            (true, true) => Phase::Release,
            (true, false) => Phase::Done,
            (false, true) => Phase::Fetch,
            (false, false) => Phase::TryLease,
        };
    }

    fn fetched(&mut self, ok: bool) {
        let wall = self.wall();
        let record = ok.then(|| {
            let token = self.next_token(Duration::from_secs(3599));
            TokenRecord::new(&token, wall)
        });
        let asked = matches!(self.a.phase, Phase::Fetch);
        self.a.fleet.fetched(record.clone());
        if !asked {
            return;
        }
        self.a.fetches += 1;
        assert!(self.a.fetches <= 1, "two fetches in one attempt");
        self.a.phase = match (record, self.a.holder) {
            (Some(record), true) => Phase::Save(record),
            (None, true) => Phase::Release,
            (_, false) => Phase::Done,
        };
    }

    fn saved(&mut self, ok: bool) {
        let asked = matches!(self.a.phase, Phase::Save(_));
        self.a
            .fleet
            .saved(if ok { Ok(()) } else { Err("store down") });
        if asked {
            // A failed save still releases the lease.
            self.a.store_failed |= !ok;
            self.a.phase = Phase::Release;
        }
    }

    fn released(&mut self, ok: bool) {
        let asked = matches!(self.a.phase, Phase::Release);
        self.a
            .fleet
            .released(if ok { Ok(()) } else { Err("store down") });
        if asked {
            self.a.store_failed |= !ok;
            self.a.released = true;
            self.a.phase = Phase::Done;
        }
    }

    /// A store failure: fetch; without the lease, without the store; holding it (or
    /// perhaps), then save and release.
    fn store_failure(&mut self) -> Phase {
        self.a.store_failed = true;
        if self.a.holder {
            self.a.failed_holding = true;
        } else {
            self.a.without_store = true;
        }
        Phase::Fetch
    }

    /// Sleep a poll delay from `now`.
    fn sleep(&self, now: Timestamp) -> Phase {
        let (min, max) = self.config.poll();
        Phase::Sleep {
            lo: now + min,
            hi: now + max,
            seen: None,
        }
    }

    // ---- the end -------------------------------------------------------------------

    /// Drives the attempt to its end with a store and Zuora that answer every call (no
    /// shared record, the lease free), each call taking [`STEP`]: it must end in time.
    fn drain(&mut self) {
        // From the latest time the attempt has seen: a clock set back would only make it
        // wait (correctly) for the time it already saw.
        self.clock = self.latest.max(self.clock);
        let start = self.clock.as_duration();
        let ttl = self.spec.lease_ttl();
        let (_, max_poll) = self.config.poll();
        // A waiting attempt tries the lease again one TTL after the first refusal, after at
        // most one more poll; then a few calls. (None: past the end of time.)
        let bound = |since: Option<Timestamp>| {
            let retry = match since {
                Some(s) => s.as_duration().checked_add(ttl)?.max(start),
                None => start,
            };
            retry.checked_add(max_poll)?.checked_add(STEP * 16)
        };
        // Enough for the longest finite bound (a 125 s TTL, polls shorter than a call).
        let steps = if bound(self.a.waiting_since).is_some() {
            60_000
        } else {
            1_000
        };
        for _ in 0..steps {
            let since = self.a.waiting_since;
            match self.poll() {
                Asked::Done => {
                    if let Some(bound) = bound(since) {
                        assert!(
                            self.clock.as_duration() <= bound,
                            "an attempt whose store answers ended at {:?}, past {bound:?}",
                            self.clock
                        );
                    }
                    return;
                }
                Asked::Sleep(until) => {
                    self.clock = until.max(self.clock + STEP);
                    continue;
                }
                Asked::Load => self.loaded(3, 0, 0),
                Asked::TryLease => self.leased(0),
                Asked::Adopt => self.adopted(true),
                Asked::Fetch => self.fetched(true),
                Asked::Save => self.saved(true),
                Asked::Release => self.released(true),
            }
            self.clock = self.clock + STEP;
        }
        assert!(
            bound(self.a.waiting_since).is_none(),
            "an attempt whose store answers did not end"
        );
    }
}

impl Attempt {
    /// Replaced at once by [`Harness::restart`].
    /// A fresh attempt: nothing asked of the store yet.
    fn new(fleet: FleetFetch, current: Option<TokenRecord>) -> Self {
        Self {
            fleet,
            phase: Phase::Load,
            current,
            holder: false,
            lease: None,
            took_lease: false,
            without_store: false,
            failed_holding: false,
            lease_maybe: false,
            store_failed: false,
            released: false,
            fetches: 0,
            waiting_since: None,
        }
    }

    fn placeholder() -> Self {
        Self::new(FleetFetch::new(FleetConfig::default(), 0, None), None)
    }
}

/// `text` (a `Debug`) shows no access token.
fn check_debug(text: &str, what: &str) {
    assert!(
        !text.contains(TOKEN_PREFIX),
        "an access token in the Debug of {what}: {text}"
    );
}
