//! One token through a store shared with other runs and processes (`--cache`, `--store`):
//! the core's [`FleetFetch`] decides who fetches, the lifecycle judges tokens, this module
//! carries out the actions, once.
//!
//! 1. **Load** the stored record. If the lifecycle would hand it out without a refresh
//!    (the same rule as a long-running process holding that token), print it: one store
//!    call, no lease.
//! 2. Otherwise this run is a process whose token is due for a refresh (or that has none):
//!    one fleet attempt, with the stored record as the token being refreshed, so that only
//!    another, newer token is adopted. The attempt loads again, takes the **lease** and
//!    fetches (with `--retries`, as without a store), **saves** and **releases**; or, if
//!    another run holds the lease, waits for that run's token and adopts it.
//! 3. A store that fails is not touched again in the run (the fleet rule): the run fetches
//!    on its own, and says so once. If it held the lease then (or may have: a lease
//!    command that failed may have taken it), it still saves its token and releases the
//!    lease, best effort, and says whether the lease was released.
//! 4. If Zuora refused the credentials (400, 401, 403), the saved token is neither printed
//!    ([`Fetcher::fetch`]) nor left for the next run: it is removed from the store, if it
//!    is still the one saved.
//!
//! The lease lasts for as long as one token request of the run may take (`--timeout`
//! plus margins: [`Fetcher::fleet_config`]), so that a slow Zuora never lets it expire
//! under the run still waiting for its answer.
//!
//! The driver's blocking `TokenSource` runs the same attempt, but for a long-running
//! process: it hands out a token due for a refresh at once and refreshes it on a detached
//! thread, which a one-shot command would kill on exit, holding the lease; and its errors
//! do not say how many requests were sent. So the CLI drives `FleetFetch` itself, with its
//! own retry loop as the attempt's fetch.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime};

use zuora_oauth_core::{FleetAction, FleetFetch};
use zuora_oauth_driver::store::StoreError;

use crate::failure::FetchFailure;
use crate::fetch::{Fetched, Fetcher, is_rejection};
use crate::store::Store;

/// The token for this run, shared through `store`. With `refresh`, the stored token is
/// neither printed nor kept after a failed fetch. `on_failure` is called once, with the
/// first failed store call (its name and error); the run then goes on without the store.
/// `on_lease` is called if the run held the lease when a store call failed, with the
/// outcome of its release and the lease's TTL (how long others wait if it failed).
pub fn fetch(
    store: &Store,
    fetcher: &Fetcher,
    refresh: bool,
    on_failure: impl FnMut(&'static str, &StoreError),
    mut on_lease: impl FnMut(Result<(), &StoreError>, Duration),
) -> Result<Fetched, FetchFailure> {
    let mut report = Report {
        on_failure,
        reported: false,
    };
    let first = report.check("load", store.load());
    let saved = first.as_ref().ok().cloned().flatten();
    if !refresh && let Some(token) = saved.as_ref().and_then(|r| fetcher.reuse(r)) {
        return Ok(Fetched::Stored(token, None));
    }
    // With --refresh the saved token is not wanted, even as a fallback.
    let fallback = saved.clone().filter(|_| !refresh);
    // std's hasher keys come from the OS: every run gets its own lease value and jitter.
    let seed = RandomState::new().hash_one(std::process::id());
    let config = fetcher.fleet_config();
    let lease_ttl = config.lease_ttl();
    let mut attempt = FleetFetch::new(config, seed, saved.clone());
    // The attempt starts with a load: the one just made.
    let mut first = Some(first);
    let mut outcome = None;
    // Whether the store said the lease was taken (a lease command that failed may have
    // taken it too: it is released all the same, and said so only if that fails).
    let mut took_lease = false;
    loop {
        let (now, wall) = (fetcher.now(), SystemTime::now());
        match attempt.poll(now) {
            FleetAction::Load => {
                let loaded = first
                    .take()
                    .unwrap_or_else(|| report.check("load", store.load()));
                attempt.loaded(now, wall, loaded);
            }
            FleetAction::TryLease { lease, ttl } => {
                let taken = report.check("try_lease", store.try_lease(lease, ttl));
                took_lease |= matches!(taken, Ok(true));
                attempt.leased(now, taken);
            }
            FleetAction::Sleep { until } => {
                std::thread::sleep(until.saturating_duration_since(now));
            }
            FleetAction::Adopt(record) => {
                outcome = fetcher
                    .adopt(record)
                    .map(|token| Ok(Fetched::Stored(token, None)));
                // Not taken: the attempt goes on to the lease and a fetch of its own.
                attempt.adopted(outcome.is_some());
            }
            FleetAction::Fetch => {
                let fetched = fetcher.fetch(fallback.as_ref());
                let record = match &fetched {
                    Ok(Fetched::New(token)) => Some(token.record()),
                    _ => None,
                };
                attempt.fetched(record);
                outcome = Some(fetched);
            }
            FleetAction::Save(record) => {
                let record = record.clone();
                let ttl = record.remaining(wall);
                let saved = report.check("save", store.save(&record, ttl));
                attempt.saved(saved);
            }
            FleetAction::Release { lease } => {
                let after_failure = attempt.store_failed();
                let released = store.release(lease);
                if after_failure && (took_lease || released.is_err()) {
                    on_lease(released.as_ref().copied(), lease_ttl);
                }
                let released = report.check("release", released);
                attempt.released(released);
            }
            FleetAction::Done => break,
        }
    }
    // Every attempt ends with an adopted record or a fetch; a store that failed before
    // either leaves the run to fetch on its own.
    let outcome = outcome.unwrap_or_else(|| fetcher.fetch(fallback.as_ref()));
    // Zuora refused the credentials the saved token was issued to: no later run (nor
    // process sharing the store) hands it out either. Only that token is removed
    // (`may_delete`), and a store that already failed is not touched again.
    if let (Err(failure), Some(saved)) = (&outcome, &saved)
        && is_rejection(&failure.error)
        && !report.reported
    {
        let _ = report.check("invalidate", store.invalidate(saved));
    }
    outcome
}

/// Reports the first store failure.
struct Report<F> {
    on_failure: F,
    reported: bool,
}

impl<F: FnMut(&'static str, &StoreError)> Report<F> {
    fn check<T>(
        &mut self,
        call: &'static str,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Err(e) = &result
            && !self.reported
        {
            self.reported = true;
            (self.on_failure)(call, e);
        }
        result
    }
}
