//! Shared by the integration tests and the benchmark.
#![allow(dead_code)] // each test file uses a part

pub mod fleet;
pub mod redis_server;

use std::time::SystemTime;

use zuora_oauth_core::{FleetAction, FleetConfig, FleetFetch, LeaseId, Timestamp};

/// A lease value for `seed` (`LeaseId` has no public constructor: take it from a fleet
/// attempt, as the driver does).
pub fn lease(seed: u64) -> LeaseId {
    let mut attempt = FleetFetch::new(FleetConfig::default(), seed, None);
    attempt.loaded::<()>(Timestamp::ZERO, SystemTime::now(), Ok(None));
    match attempt.poll(Timestamp::ZERO) {
        FleetAction::TryLease { lease, .. } => lease,
        other => panic!("expected a lease, got {other:?}"),
    }
}
