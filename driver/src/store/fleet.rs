//! The fleet attempt: what the detached fetch does when its source has a store — the shared
//! record, the lease, or a fetch of its own — as the core's [`FleetFetch`] decides.

use zuora_oauth_core::{FleetAction, FleetFetch, LeaseId, Timestamp, TokenRecord};

use super::bound::BoundStore;
use crate::notify::{Changed, race};
use crate::runtime::Runtime;
use crate::state::Fetch;
use crate::transport::TransportResult;
use crate::{BoxFuture, Clock};

/// A [`FleetAction`] with its record owned, so that the attempt can be reported to while
/// the action is carried out.
enum Step {
    Load,
    TryLease(LeaseId, std::time::Duration),
    Sleep(Timestamp),
    Adopt(TokenRecord),
    Fetch,
    Save(TokenRecord),
    Release(LeaseId),
    Done,
}

impl From<FleetAction<'_>> for Step {
    fn from(action: FleetAction<'_>) -> Self {
        match action {
            FleetAction::Load => Self::Load,
            FleetAction::TryLease { lease, ttl } => Self::TryLease(lease, ttl),
            FleetAction::Sleep { until } => Self::Sleep(until),
            FleetAction::Adopt(record) => Self::Adopt(record.clone()),
            FleetAction::Fetch => Self::Fetch,
            FleetAction::Save(record) => Self::Save(record.clone()),
            FleetAction::Release { lease } => Self::Release(lease),
            FleetAction::Done => Self::Done,
        }
    }
}

/// Everything a fleet attempt works with.
pub(crate) struct FleetParts<'a> {
    pub(crate) runtime: &'a dyn Runtime,
    pub(crate) store: &'a BoundStore,
    pub(crate) changed: &'a Changed,
    pub(crate) clock: &'a Clock,
}

/// One fleet attempt for `fetch`: every store call bounded by the store timeout. If the
/// source is dropped before the token is in, it ends early (dropping `fetch` cancels the
/// request); once the token is in (fetched or adopted), it finishes: the save and the
/// lease's release still run, so that a source dropped as soon as it has its token still
/// shares it, and leaves no lease for the others to wait out.
pub(crate) async fn run(
    parts: FleetParts<'_>,
    send: BoxFuture<'static, TransportResult>,
    fetch: Fetch,
    seed: u64,
) {
    let FleetParts {
        runtime,
        store,
        changed,
        clock,
    } = parts;
    let mut attempt = FleetFetch::new(store.options.fleet().clone(), seed, fetch.current_record());
    let (mut send, mut fetch) = (Some(send), Some(fetch));
    // The lease the last save released along with the record.
    let mut released_by_save = None;
    loop {
        if fetch.is_some() && changed.is_closed() {
            return;
        }
        let now = clock.now();
        match Step::from(attempt.poll(now)) {
            Step::Load => {
                let loaded = store.load(runtime, now).await;
                attempt.loaded(clock.now(), clock.wall(), loaded);
            }
            Step::TryLease(lease, ttl) => {
                let taken = store.try_lease(runtime, now, lease, ttl).await;
                attempt.leased(clock.now(), taken);
            }
            Step::Sleep(until) => {
                let sleep = runtime.sleep(until.saturating_duration_since(now));
                if race(sleep, changed.closed()).await.is_none() {
                    return;
                }
            }
            Step::Adopt(record) => {
                let accepted = match fetch.take().map(|f| f.adopt(&record)) {
                    Some(Ok(())) => true,
                    Some(Err(back)) => {
                        fetch = Some(back);
                        false
                    }
                    None => false,
                };
                event!(debug, accepted, "token offered by the shared store");
                attempt.adopted(accepted);
            }
            Step::Fetch => {
                let (Some(request), Some(done)) = (send.take(), fetch.take()) else {
                    attempt.fetched(None);
                    continue;
                };
                match race(request, changed.closed()).await {
                    Some(result) => attempt.fetched(done.complete(result)),
                    None => return,
                }
            }
            Step::Save(record) => {
                let ttl = record.remaining(clock.wall());
                let lease = attempt.holds_lease().then(|| attempt.lease());
                let saved = store.save(runtime, now, &record, ttl, lease).await;
                if saved.is_ok() {
                    released_by_save = lease;
                }
                attempt.saved(saved);
            }
            Step::Release(lease) => {
                let released = if released_by_save == Some(lease) {
                    Ok(())
                } else {
                    store.release(runtime, now, lease).await
                };
                if attempt.store_failed() {
                    event!(
                        warn,
                        released = released.is_ok(),
                        "the shared token store failed while this process held (or may have held) the fetch lease: its token was saved if it could be, and the lease released (best effort)"
                    );
                }
                attempt.released(released);
            }
            Step::Done => return,
        }
    }
}
