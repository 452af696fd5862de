//! Sharing one token between the processes of a fleet, through a store: the decisions,
//! without the I/O.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::lifecycle::Jitter;
use crate::{LifecycleConfig, Timestamp, TokenRecord};

/// What a lease lasts beyond the fetch deadline, and what a fleet attempt's deadline
/// allows beyond its waits and its fetch: room for the store calls around them (a load
/// before the fetch and a save after it; each bounded by the store timeout, 200 ms in the
/// driver).
const STORE_MARGIN: Duration = Duration::from_secs(5);

/// How processes share a token through a store (Redis, a file…): what makes a shared
/// record good enough, how long the fetch lease lasts, and how waiting for another
/// process's fetch is paced.
///
/// The lease lasts as long as its holder may fetch: its TTL is derived from the fetch
/// deadline (the lifecycle's request deadline, 35 s by default), so that a slow Zuora never
/// lets the lease expire under a holder still waiting for its answer. No renewal is needed
/// (nothing runs beside a blocking fetch to renew it, and a renewal that fails would bring
/// the double fetch back); the price is that a holder that dies mid-fetch keeps the others
/// waiting up to that TTL. A process's lifecycle, in turn, must give a request the time to
/// wait for another holder before it is sent: [`FleetConfig::request_deadline`].
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_core::{FleetConfig, LifecycleConfig};
/// // A driver whose transport times out after 30 s: the lifecycle's request deadline is 35 s.
/// let lifecycle = LifecycleConfig::default();
/// let fleet = FleetConfig::default().with_fetch_deadline(lifecycle.request_deadline());
/// assert_eq!(fleet.lease_ttl(), Duration::from_secs(40));
/// // The lifecycle waits for the fleet's lease, then for the fetch.
/// let lifecycle = lifecycle.with_request_deadline(fleet.request_deadline());
/// assert!(lifecycle.request_deadline() > fleet.lease_ttl() * 2 + Duration::from_secs(35));
/// assert_eq!(fleet.skew_margin(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    min_remaining: Duration,
    skew_margin: Duration,
    lease_ttl: Duration,
    fetch_deadline: Duration,
    poll_min: Duration,
    poll_max: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            min_remaining: Duration::from_secs(30),
            skew_margin: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(10),
            fetch_deadline: LifecycleConfig::default().request_deadline(),
            poll_min: Duration::from_millis(50),
            poll_max: Duration::from_millis(250),
        }
    }
}

impl FleetConfig {
    /// A shared record is used only with more than this left (default 30 s, the
    /// lifecycle's minimum remaining lifetime; keep them equal), plus the skew margin.
    pub fn with_min_remaining(mut self, min: Duration) -> Self {
        self.min_remaining = min;
        self
    }

    /// How far the clocks of two processes may disagree (default 30 s): a record is used
    /// only with more than the minimum remaining lifetime plus this left, and a process
    /// that adopts it counts on this much less of its life than its writer does. Keep it
    /// well below a third of the token lifetime less the minimum remaining lifetime (true
    /// for Zuora's hour-long tokens): for shorter tokens, adopters refresh so much earlier
    /// than fetchers that fleets fetch more than once per lifetime (never unsafely).
    pub fn with_skew_margin(mut self, margin: Duration) -> Self {
        self.skew_margin = margin;
        self
    }

    /// The shortest the fetch lease lasts (default 10 s). It lasts longer when the fetch
    /// may: see [`FleetConfig::lease_ttl`].
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// The longest the lease holder's token request may take: the lifecycle's request
    /// deadline (default 35 s, [`LifecycleConfig`]'s: the transports' 30 s timeout plus a
    /// margin). The lease lasts 5 s more, so that the holder keeps it for its whole fetch
    /// and the save after it. The driver sets it from its source's request deadline; set
    /// it yourself when you drive [`FleetFetch`] with a timeout of your own.
    pub fn with_fetch_deadline(mut self, deadline: Duration) -> Self {
        self.fetch_deadline = deadline;
        self
    }

    /// While another process holds the lease, look again after a random delay between
    /// `min` and `max` (default 50 ms to 250 ms).
    pub fn with_poll(mut self, min: Duration, max: Duration) -> Self {
        self.poll_min = min;
        self.poll_max = max.max(min);
        self
    }

    /// See [`FleetConfig::with_min_remaining`].
    pub fn min_remaining(&self) -> Duration {
        self.min_remaining
    }

    /// See [`FleetConfig::with_skew_margin`].
    pub fn skew_margin(&self) -> Duration {
        self.skew_margin
    }

    /// How long the fetch lease lasts: the fetch deadline plus 5 s (for the store calls
    /// around the fetch), or [`with_lease_ttl`](Self::with_lease_ttl)'s if longer; 40 s by
    /// default. The holder fetches, stores and releases it within that, however slowly
    /// Zuora answers (up to the fetch deadline). If the holder dies, the lease expires and
    /// another process fetches: the others wait for it at most this long after they first
    /// found it taken, plus one poll.
    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl
            .max(self.fetch_deadline.saturating_add(STORE_MARGIN))
    }

    /// See [`FleetConfig::with_fetch_deadline`].
    pub fn fetch_deadline(&self) -> Duration {
        self.fetch_deadline
    }

    /// The request deadline a process's lifecycle needs when its requests go through this
    /// fleet ([`LifecycleConfig::with_request_deadline`]): from the moment the lifecycle
    /// asks for a request to its outcome, a [`FleetFetch`] may wait twice the lease TTL
    /// (plus a poll) for another process's token before it fetches for up to the fetch
    /// deadline, and makes a few store calls besides. With the lifecycle's own deadline
    /// (counted from when it asked), a token fetched after such a wait would arrive after
    /// the deadline and be thrown away; with this one it never does. 120.25 s by default.
    pub fn request_deadline(&self) -> Duration {
        self.lease_ttl()
            .saturating_mul(2)
            .saturating_add(self.poll_max)
            .saturating_add(self.fetch_deadline)
            .saturating_add(STORE_MARGIN)
    }

    /// See [`FleetConfig::with_poll`]: `(min, max)`.
    pub fn poll(&self) -> (Duration, Duration) {
        (self.poll_min, self.poll_max)
    }

    /// Whether a shared `record` may be handed out at wall-clock time `now`: more than the
    /// minimum remaining lifetime (at most half the token's lifetime, as the lifecycle
    /// counts it) plus the skew margin left.
    pub fn good_enough(&self, record: &TokenRecord, now: SystemTime) -> bool {
        let min = self.min_remaining.min(record.lifetime() / 2);
        record.remaining(now) > min.saturating_add(self.skew_margin)
    }
}

/// Whether an `invalidate` may delete the `shared` record: only if it is the token the API
/// answered 401 to (`reported`), the same access token or the same `jti`. A report about an
/// older token, once another process has stored a new one, deletes nothing.
pub fn may_delete(shared: &TokenRecord, reported: &TokenRecord) -> bool {
    shared.same_token(reported)
        || matches!((shared.jti(), reported.jti()), (Some(a), Some(b)) if a == b)
}

/// A value that identifies one lease holder (random per attempt).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseId(u64);

impl LeaseId {
    /// A lease value of your own (for a store's tests; attempts draw theirs from the seed).
    pub fn new(value: u64) -> Self {
        Self(value)
    }

    /// The value to store (and compare when releasing).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseId({:016x})", self.0)
    }
}

/// One process's way to a token when it shares tokens through a store. The driver starts
/// one when its lifecycle asks for a token request, carries out each [`FleetAction`] that
/// [`poll`](Self::poll) gives, reports its result, and polls again until
/// [`FleetAction::Done`]:
///
/// 1. **Load** the shared record. A record [good enough](FleetConfig::good_enough) and newer
///    than the token being refreshed is **adopted**: no token request.
/// 2. Otherwise **try the lease** (`SET NX PX`, for [`FleetConfig::lease_ttl`]: as long as
///    the fetch may take). Taken: **load** once more (another process may have stored a
///    token in between), then **fetch** from Zuora, **save** the new record and
///    **release** the lease.
/// 3. Held by another process: **sleep** a jittered poll, then load again; once the lease
///    should have expired (its TTL after the first refusal), try it again; after twice its
///    TTL, fetch without it.
/// 4. A store failure: **fetch** locally. Without the lease, touch the store no more in this
///    attempt (the next attempt starts with a load again: the process rejoins when the
///    store answers). Holding the lease — or perhaps holding it: a `TryLease` that failed
///    may have reached the store — the attempt still **saves** (if it fetched a token) and
///    **releases** it, best effort, so that the others take its token instead of waiting
///    for the lease to expire; [`store_failed`](Self::store_failed) tells the driver to say
///    so.
///
/// A process's lifecycle must allow for the wait of step 3 before the fetch:
/// [`FleetConfig::request_deadline`].
///
/// Polling again without reporting repeats the same action.
#[derive(Debug)]
pub struct FleetFetch {
    config: FleetConfig,
    jitter: Jitter,
    lease: LeaseId,
    /// The record of the token being refreshed, if any: a shared record must be another.
    current: Option<TokenRecord>,
    state: State,
    /// Whether this attempt holds the lease (or may: its `TryLease` failed).
    holder: bool,
    /// Whether a store call failed in this attempt.
    store_failed: bool,
    /// The record to adopt or to save.
    record: Option<TokenRecord>,
    /// When the lease was first found held by another process.
    waiting_since: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Load,
    TryLease,
    Sleep(Timestamp),
    /// Adopt `record`.
    Adopt,
    Fetch,
    /// Save `record`.
    Save,
    Release,
    Done,
}

/// What [`FleetFetch::poll`] asks the driver to do.
#[derive(Debug)]
pub enum FleetAction<'a> {
    /// Load the shared record; report with [`FleetFetch::loaded`].
    Load,
    /// Take the lease (`SET key lease NX PX ttl`; taken too if the key already holds
    /// `lease`, as after a command asked again); report with [`FleetFetch::leased`].
    TryLease {
        /// This attempt's lease value.
        lease: LeaseId,
        /// The lease's time to live.
        ttl: Duration,
    },
    /// Wait until then, then poll again.
    Sleep {
        /// When to poll again.
        until: Timestamp,
    },
    /// Use this shared record: hand it to the lifecycle
    /// ([`TokenLifecycle::handle_record`](crate::TokenLifecycle::handle_record)) and report
    /// whether it took it with [`FleetFetch::adopted`]. Its expiry is the stored one less
    /// the skew margin: the writer's clock may be that far ahead of this process's.
    Adopt(&'a TokenRecord),
    /// Fetch a token from Zuora; report with [`FleetFetch::fetched`].
    Fetch,
    /// Save the new record for the others, for its remaining lifetime; report with
    /// [`FleetFetch::saved`].
    Save(&'a TokenRecord),
    /// Release the lease if it still holds this value (compare and delete); report with
    /// [`FleetFetch::released`].
    Release {
        /// The value to compare.
        lease: LeaseId,
    },
    /// The attempt is over.
    Done,
}

impl FleetFetch {
    /// An attempt to get a token; `current` is the record of the token being refreshed, if
    /// any. `seed` gives the lease value and the poll jitter (draw it from the OS).
    pub fn new(config: FleetConfig, seed: u64, current: Option<TokenRecord>) -> Self {
        let mut jitter = Jitter::new(seed);
        let lease = LeaseId(jitter.next_u64());
        Self {
            config,
            jitter,
            lease,
            current,
            state: State::Load,
            holder: false,
            store_failed: false,
            record: None,
            waiting_since: None,
        }
    }

    /// What to do next.
    pub fn poll(&mut self, now: Timestamp) -> FleetAction<'_> {
        match self.state {
            State::Load => FleetAction::Load,
            State::TryLease => FleetAction::TryLease {
                lease: self.lease,
                ttl: self.config.lease_ttl(),
            },
            State::Sleep(until) if now < until => FleetAction::Sleep { until },
            State::Sleep(_) => {
                self.state = State::Load;
                FleetAction::Load
            }
            State::Adopt => self
                .record
                .as_ref()
                .map_or(FleetAction::Done, FleetAction::Adopt),
            State::Fetch => FleetAction::Fetch,
            State::Save => self
                .record
                .as_ref()
                .map_or(FleetAction::Done, FleetAction::Save),
            State::Release => FleetAction::Release { lease: self.lease },
            State::Done => FleetAction::Done,
        }
    }

    /// The result of [`FleetAction::Load`] at `now` (wall-clock `wall`): the shared record,
    /// `None` for none (or one that could not be read: a miss), `Err` for a store failure.
    pub fn loaded<E>(
        &mut self,
        now: Timestamp,
        wall: SystemTime,
        result: Result<Option<TokenRecord>, E>,
    ) {
        if self.state != State::Load {
            return;
        }
        self.state = match result {
            Err(_) => self.failed(),
            Ok(Some(record)) if self.usable(&record, wall) => {
                // The writer's clock may be ahead of ours by the skew margin: count on that
                // much less, so that our lifecycle stops handing the token out in time.
                self.record = Some(record.expiring_earlier(self.config.skew_margin));
                State::Adopt
            }
            Ok(_) if self.holder => State::Fetch,
            Ok(_) => match self.waiting_since {
                // The holder had its whole lease: it has expired, or is about to.
                Some(since) if now.saturating_duration_since(since) >= self.config.lease_ttl() => {
                    State::TryLease
                }
                Some(_) => State::Sleep(now + self.poll_delay()),
                None => State::TryLease,
            },
        };
    }

    /// The result of [`FleetAction::TryLease`]: `Ok(true)` taken, `Ok(false)` held by
    /// another process, `Err` a store failure (the lease may have been taken all the same:
    /// the attempt fetches, then saves and releases it).
    pub fn leased<E>(&mut self, now: Timestamp, result: Result<bool, E>) {
        if self.state != State::TryLease {
            return;
        }
        self.state = match result {
            Err(_) => {
                // The command may have taken the lease before its answer was lost: fetch,
                // then save and release as a holder does.
                self.holder = true;
                self.failed()
            }
            Ok(true) => {
                self.holder = true;
                // Another process may have stored a token since the first load.
                State::Load
            }
            Ok(false) => {
                let since = *self.waiting_since.get_or_insert(now);
                // Twice the lease's life without it coming free: something keeps taking
                // it; do not wait for ever.
                if now.saturating_duration_since(since) >= self.config.lease_ttl().saturating_mul(2)
                {
                    self.without_store()
                } else {
                    State::Sleep(now + self.poll_delay())
                }
            }
        };
    }

    /// The result of [`FleetAction::Adopt`]: whether the lifecycle took the record. If it
    /// did not (it does not outlive the token in hand), this attempt goes on to the lease,
    /// as if the record were not there.
    pub fn adopted(&mut self, accepted: bool) {
        if self.state != State::Adopt {
            return;
        }
        self.state = match (accepted, self.holder) {
            (true, true) => State::Release,
            (true, false) => State::Done,
            (false, true) => State::Fetch,
            (false, false) => State::TryLease,
        };
    }

    /// The result of [`FleetAction::Fetch`]: the new token's record, or `None` if the
    /// request failed (nothing to share).
    pub fn fetched(&mut self, record: Option<TokenRecord>) {
        if self.state != State::Fetch {
            return;
        }
        self.state = match (record, self.holder) {
            (Some(record), true) => {
                self.record = Some(record);
                State::Save
            }
            (None, true) => State::Release,
            // Fetched without the store: leave it alone this time.
            (_, false) => State::Done,
        };
    }

    /// The result of [`FleetAction::Save`]. Either way the lease is released next (a holder
    /// whose save failed should not keep it until its TTL runs out).
    pub fn saved<E>(&mut self, result: Result<(), E>) {
        if self.state == State::Save {
            self.store_failed |= result.is_err();
            self.state = State::Release;
        }
    }

    /// The result of [`FleetAction::Release`].
    pub fn released<E>(&mut self, result: Result<(), E>) {
        if self.state == State::Release {
            self.store_failed |= result.is_err();
            self.state = State::Done;
        }
    }

    /// The value of this attempt's lease (whether it holds it or not).
    pub fn lease(&self) -> LeaseId {
        self.lease
    }

    /// Whether this attempt holds the lease (or may hold it: its `TryLease` failed), until
    /// it is released.
    pub fn holds_lease(&self) -> bool {
        self.holder && self.state != State::Done
    }

    /// Whether a store call failed in this attempt. When it did while the attempt held the
    /// lease ([`holds_lease`](Self::holds_lease)), the attempt still releases it (best
    /// effort): say so when you carry out that [`FleetAction::Release`], and whether it
    /// worked (if not, the others wait for the lease to expire,
    /// [`FleetConfig::lease_ttl`]).
    pub fn store_failed(&self) -> bool {
        self.store_failed
    }

    /// A store call failed: fetch locally. Without the lease, touch the store no more;
    /// holding it (or perhaps holding it), save and release after the fetch.
    fn failed(&mut self) -> State {
        self.store_failed = true;
        State::Fetch
    }

    /// Gave up on the lease: fetch locally, without the store.
    fn without_store(&mut self) -> State {
        self.holder = false;
        State::Fetch
    }

    /// A shared record is used if it is good enough and is not the token being replaced
    /// (nor an older one). Not earlier is enough: issue times from a `Date` header have
    /// whole seconds, so two tokens issued in one second expire at the same time.
    fn usable(&self, record: &TokenRecord, wall: SystemTime) -> bool {
        self.config.good_enough(record, wall)
            && self.current.as_ref().is_none_or(|current| {
                !current.same_token(record) && record.expires_at() >= current.expires_at()
            })
    }

    fn poll_delay(&mut self) -> Duration {
        let (min, max) = self.config.poll();
        min + self.jitter.up_to(max.saturating_sub(min))
    }
}
