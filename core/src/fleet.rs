//! Sharing one token between the processes of a fleet, through a store: the decisions,
//! without the I/O.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::lifecycle::Jitter;
use crate::{Timestamp, TokenRecord};

/// How processes share a token through a store (Redis, a file…): what makes a shared
/// record good enough, how long the fetch lease lasts, and how waiting for another
/// process's fetch is paced.
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_core::FleetConfig;
/// let config = FleetConfig::default().with_lease_ttl(Duration::from_secs(5));
/// assert_eq!(config.skew_margin(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    min_remaining: Duration,
    skew_margin: Duration,
    lease_ttl: Duration,
    poll_min: Duration,
    poll_max: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            min_remaining: Duration::from_secs(30),
            skew_margin: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(10),
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

    /// How long the fetch lease lasts (default 10 s). The holder fetches, stores and
    /// releases it well within that; if it dies, the lease expires and another process
    /// fetches. Others wait for the holder at most this long plus one poll.
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
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

    /// See [`FleetConfig::with_lease_ttl`].
    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl
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
/// 2. Otherwise **try the lease** (`SET NX PX`). Taken: **load** once more (another process
///    may have stored a token in between), then **fetch** from Zuora, **save** the new
///    record and **release** the lease.
/// 3. Held by another process: **sleep** a jittered poll, then load again; once the lease
///    should have expired (its TTL after the first refusal), try it again; after twice its
///    TTL, fetch without it.
/// 4. Any store failure: **fetch** locally, and touch the store no more in this attempt (the
///    next attempt starts with a load again: the process rejoins when the store answers).
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
    /// Whether this attempt holds the lease.
    holder: bool,
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
    /// Take the lease (`SET key lease NX PX ttl`); report with [`FleetFetch::leased`].
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
                ttl: self.config.lease_ttl,
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
            Err(_) => self.without_store(),
            Ok(Some(record)) if self.usable(&record, wall) => {
                // The writer's clock may be ahead of ours by the skew margin: count on that
                // much less, so that our lifecycle stops handing the token out in time.
                self.record = Some(record.expiring_earlier(self.config.skew_margin));
                State::Adopt
            }
            Ok(_) if self.holder => State::Fetch,
            Ok(_) => match self.waiting_since {
                // The holder had its whole lease: it has expired, or is about to.
                Some(since) if now.saturating_duration_since(since) >= self.config.lease_ttl => {
                    State::TryLease
                }
                Some(_) => State::Sleep(now + self.poll_delay()),
                None => State::TryLease,
            },
        };
    }

    /// The result of [`FleetAction::TryLease`]: `Ok(true)` taken, `Ok(false)` held by
    /// another process, `Err` a store failure.
    pub fn leased<E>(&mut self, now: Timestamp, result: Result<bool, E>) {
        if self.state != State::TryLease {
            return;
        }
        self.state = match result {
            Err(_) => self.without_store(),
            Ok(true) => {
                self.holder = true;
                // Another process may have stored a token since the first load.
                State::Load
            }
            Ok(false) => {
                let since = *self.waiting_since.get_or_insert(now);
                // Twice the lease's life without it coming free: something keeps taking
                // it; do not wait for ever.
                if now.saturating_duration_since(since) >= self.config.lease_ttl.saturating_mul(2) {
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
    pub fn saved<E>(&mut self, _result: Result<(), E>) {
        if self.state == State::Save {
            self.state = State::Release;
        }
    }

    /// The result of [`FleetAction::Release`].
    pub fn released<E>(&mut self, _result: Result<(), E>) {
        if self.state == State::Release {
            self.state = State::Done;
        }
    }

    /// The value of this attempt's lease (whether it holds it or not).
    pub fn lease(&self) -> LeaseId {
        self.lease
    }

    /// Whether this attempt holds the lease.
    pub fn holds_lease(&self) -> bool {
        self.holder && self.state != State::Done
    }

    /// The store failed: fetch locally, without it.
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
