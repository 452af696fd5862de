//! The input format of the `fleet` target: a `FleetConfig` and the first attempt's token
//! being replaced, then byte-coded operations (a driver's polls, the store's and Zuora's
//! answers, time moving, new attempts).

use std::time::Duration;

use crate::Reader;

/// Minimum remaining lifetimes of the fleet configuration; the first is the default.
pub const FLEET_MIN_REMAININGS: [Duration; 6] = [
    Duration::from_secs(30),
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(300),
    Duration::from_secs(3600),
    Duration::MAX,
];

/// Skew margins; the first is the default.
pub const SKEW_MARGINS: [Duration; 6] = [
    Duration::from_secs(30),
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(600),
    Duration::from_secs(3600),
    Duration::MAX,
];

/// Least lease TTLs (`with_lease_ttl`; the lease lasts at least the fetch deadline plus
/// 5 s); the first is the default.
pub const LEASE_TTLS: [Duration; 6] = [
    Duration::from_secs(10),
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(60),
    Duration::MAX,
];

/// Fetch deadlines (`with_fetch_deadline`: the lease lasts this plus 5 s at least); the
/// first is the default (the lifecycle's default request deadline).
pub const FETCH_DEADLINES: [Duration; 6] = [
    Duration::from_secs(35),
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(6),
    Duration::from_secs(120),
    Duration::MAX,
];

/// What the lease lasts beyond the fetch deadline (the core's margin, restated).
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// Poll delays `(min, max)` while another process holds the lease; the first is the
/// default. `(250 ms, 50 ms)`: the core raises the maximum to the minimum.
pub const POLLS: [(Duration, Duration); 7] = [
    (Duration::from_millis(50), Duration::from_millis(250)),
    (Duration::ZERO, Duration::ZERO),
    (Duration::from_millis(1), Duration::from_millis(1)),
    (Duration::ZERO, Duration::from_millis(100)),
    (Duration::from_secs(1), Duration::from_secs(5)),
    (Duration::from_millis(250), Duration::from_millis(50)),
    (Duration::MAX, Duration::MAX),
];

/// The configuration (the first 11 bytes of an input). Each index byte is taken modulo
/// its table's length; 0 is the core's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FleetSpec {
    /// Seeds the attempts' jitter and lease values.
    pub seed: u32,
    /// Index into [`FLEET_MIN_REMAININGS`].
    pub min_remaining: u8,
    /// Index into [`SKEW_MARGINS`].
    pub skew: u8,
    /// Index into [`LEASE_TTLS`].
    pub ttl: u8,
    /// Index into [`FETCH_DEADLINES`].
    pub fetch_deadline: u8,
    /// Index into [`POLLS`].
    pub poll: u8,
    /// The first attempt's token being replaced: see [`FleetOp::Restart`].
    pub current: u8,
    /// Its age: see [`FleetOp::Restart`].
    pub current_age: u8,
}

fn pick<T: Copy>(table: &[T], i: u8) -> T {
    table[usize::from(i) % table.len()]
}

impl FleetSpec {
    /// The configured minimum remaining lifetime.
    pub fn min_remaining(&self) -> Duration {
        pick(&FLEET_MIN_REMAININGS, self.min_remaining)
    }
    /// The configured skew margin.
    pub fn skew(&self) -> Duration {
        pick(&SKEW_MARGINS, self.skew)
    }
    /// The configured least lease TTL.
    pub fn ttl(&self) -> Duration {
        pick(&LEASE_TTLS, self.ttl)
    }
    /// The configured fetch deadline.
    pub fn fetch_deadline(&self) -> Duration {
        pick(&FETCH_DEADLINES, self.fetch_deadline)
    }
    /// The lease's TTL as the documentation states it: the fetch deadline plus
    /// [`LEASE_MARGIN`], or the configured least TTL if longer.
    pub fn lease_ttl(&self) -> Duration {
        self.ttl()
            .max(self.fetch_deadline().saturating_add(LEASE_MARGIN))
    }
    /// `(min, max)` as given to `with_poll`.
    pub fn poll(&self) -> (Duration, Duration) {
        pick(&POLLS, self.poll)
    }
}

/// One operation; the byte code is the opcode (modulo [`FLEET_OPS`]) then the arguments
/// (`u16`s and `i16`s big-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetOp {
    /// Poll at the current clock.
    Poll,
    /// Report a load: `kind % 5` is 0 a record of a new token living
    /// `RECORD_LIFETIMES[life]` issued `RECORD_AGES[age]` before the wall clock, 1 the
    /// token being replaced again, 2 another token expiring when it does, 3 nothing,
    /// 4 a store failure.
    Loaded { kind: u8, life: u8, age: u8 },
    /// Report the lease: `% 3` 0 taken, 1 held by another process, 2 a store failure.
    Leased(u8),
    /// Report the fetch: a new token (true) or a failed request.
    Fetched(bool),
    /// Report the save: stored (true) or a store failure.
    Saved(bool),
    /// Report the release: done (true) or a store failure.
    Released(bool),
    /// Report whether the lifecycle took the record offered.
    Adopted(bool),
    /// Move the clock forward, in milliseconds.
    AdvanceMs(u16),
    /// Move the clock forward, in seconds.
    AdvanceSecs(u16),
    /// Move the clock back, in milliseconds.
    BackMs(u16),
    /// Move the wall clock by this many seconds against the monotonic one.
    WallSkew(i16),
    /// A new attempt. Its token being replaced: none if `current` is 0, else a record
    /// living `RECORD_LIFETIMES[current - 1]` issued `RECORD_AGES[age]` before the wall
    /// clock.
    Restart { current: u8, age: u8 },
    /// Poll, then carry out what it asks: report the answer `answer` picks (the way the
    /// report operations above read it; a load's kind `answer % 5`, its new record living
    /// `RECORD_LIFETIMES[answer / 5]`, issued now), or sleep until the time it gives.
    Step(u8),
}

/// The number of opcodes.
pub const FLEET_OPS: u8 = 13;

/// Decodes a fleet input; never fails.
pub fn decode_fleet(data: &[u8]) -> (FleetSpec, Vec<FleetOp>) {
    let mut r = Reader::new(data);
    let spec = FleetSpec {
        seed: r.u32(),
        min_remaining: r.u8(),
        skew: r.u8(),
        ttl: r.u8(),
        poll: r.u8(),
        current: r.u8(),
        current_age: r.u8(),
        fetch_deadline: r.u8(),
    };
    let mut ops = Vec::new();
    while !r.is_empty() {
        let op = match r.u8() % FLEET_OPS {
            0 => FleetOp::Poll,
            1 => FleetOp::Loaded {
                kind: r.u8(),
                life: r.u8(),
                age: r.u8(),
            },
            2 => FleetOp::Leased(r.u8()),
            3 => FleetOp::Fetched(r.u8() & 1 == 1),
            4 => FleetOp::Saved(r.u8() & 1 == 1),
            5 => FleetOp::Released(r.u8() & 1 == 1),
            6 => FleetOp::Adopted(r.u8() & 1 == 1),
            7 => FleetOp::AdvanceMs(r.u16()),
            8 => FleetOp::AdvanceSecs(r.u16()),
            9 => FleetOp::BackMs(r.u16()),
            10 => FleetOp::WallSkew(r.i16()),
            11 => FleetOp::Restart {
                current: r.u8(),
                age: r.u8(),
            },
            _ => FleetOp::Step(r.u8()),
        };
        ops.push(op);
    }
    (spec, ops)
}

/// Encodes a fleet input (the inverse of [`decode_fleet`]).
pub fn encode_fleet(spec: &FleetSpec, ops: &[FleetOp]) -> Vec<u8> {
    let mut out = spec.seed.to_be_bytes().to_vec();
    out.extend([
        spec.min_remaining,
        spec.skew,
        spec.ttl,
        spec.poll,
        spec.current,
        spec.current_age,
        spec.fetch_deadline,
    ]);
    for op in ops {
        match *op {
            FleetOp::Poll => out.push(0),
            FleetOp::Loaded { kind, life, age } => out.extend([1, kind, life, age]),
            FleetOp::Leased(v) => out.extend([2, v]),
            FleetOp::Fetched(v) => out.extend([3, u8::from(v)]),
            FleetOp::Saved(v) => out.extend([4, u8::from(v)]),
            FleetOp::Released(v) => out.extend([5, u8::from(v)]),
            FleetOp::Adopted(v) => out.extend([6, u8::from(v)]),
            FleetOp::AdvanceMs(v) => {
                out.push(7);
                out.extend(v.to_be_bytes());
            }
            FleetOp::AdvanceSecs(v) => {
                out.push(8);
                out.extend(v.to_be_bytes());
            }
            FleetOp::BackMs(v) => {
                out.push(9);
                out.extend(v.to_be_bytes());
            }
            FleetOp::WallSkew(v) => {
                out.push(10);
                out.extend(v.to_be_bytes());
            }
            FleetOp::Restart { current, age } => out.extend([11, current, age]),
            FleetOp::Step(v) => out.extend([12, v]),
        }
    }
    out
}
