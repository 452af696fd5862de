//! The state every clone of a token source shares: the lifecycle behind a lock, the
//! published token for the lock-free hit path, and the notifier.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

#[cfg(not(target_arch = "wasm32"))]
use arc_swap::{ArcSwap, ArcSwapOption};
#[cfg(target_arch = "wasm32")]
use swap::{ArcSwap, ArcSwapOption};
use zuora_oauth_core::{
    Action, Audience, Destination, Error, Outcome, RequestId, Rotation, Timestamp, TokenHandle,
    TokenLifecycle, TokenRecord, TokenRequest,
};

use crate::bearer::{BearerCopy, PublishedBearer, SEPARATOR};
use crate::notify::{Changed, lock};
use crate::transport::TransportResult;
use crate::{Clock, TokenError};

pub(crate) struct Shared {
    machine: Mutex<TokenLifecycle>,
    /// What the hit path hands out: the usable token and until when it needs no poll.
    /// Holds nothing once the token is invalidated or unusable, and goes with the source.
    published: ArcSwapOption<Published>,
    /// The same token's bearer value, for the callers that only put it on a request (the
    /// sources' `authorize`, the middlewares): read without writing anything shared.
    bearer: PublishedBearer,
    /// Where the current request's token may go, for the destination check of every call
    /// (read without the machine's lock; replaced by `reconfigure`).
    target: ArcSwap<Audience>,
    /// Bumped (after `target` is replaced) whenever `reconfigure` moves to another
    /// environment: a caller that checked its destination, then read a token, uses the
    /// token only if this did not move in between (the token may be the new environment's).
    moves: AtomicU64,
    pub(crate) changed: Arc<Changed>,
    pub(crate) clock: Clock,
}

/// The token the hit path hands out, and until when it may without asking the machine.
pub(crate) struct Published {
    pub(crate) handle: TokenHandle,
    pub(crate) fresh_until: Timestamp,
}

/// What a caller of the slow path does next.
// `Fetch` is big (an `http::Request`), but a `Next` is consumed at once, once per slow call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Next {
    /// Use this token.
    Use(TokenHandle),
    /// Send `request` detached and report it with `fetch`; `current` is a usable token the
    /// caller may return meanwhile (a refresh ahead of expiry).
    Fetch {
        request: http::Request<Vec<u8>>,
        fetch: Fetch,
        current: Option<TokenHandle>,
    },
    /// Another caller's request is in flight: wait for a change, or until `until`.
    Wait { until: Option<Timestamp> },
    /// No token can be handed out now.
    Fail(TokenError),
}

impl Shared {
    pub(crate) fn new(lifecycle: TokenLifecycle, clock: Clock) -> Self {
        Self {
            target: ArcSwap::from_pointee(lifecycle.request().environment().audience()),
            moves: AtomicU64::new(0),
            machine: Mutex::new(lifecycle),
            published: ArcSwapOption::empty(),
            bearer: PublishedBearer::new(),
            changed: Arc::default(),
            clock,
        }
    }

    /// Calls `f` with the published token if it is fresh at `now`: no lock, no shared
    /// counter written, no allocation.
    #[inline]
    pub(crate) fn with_fresh<R>(
        &self,
        now: Timestamp,
        f: impl FnOnce(&TokenHandle) -> R,
    ) -> Option<R> {
        let guard = self.published.load();
        let published = guard.as_deref()?;
        (now < published.fresh_until).then(|| f(&published.handle))
    }

    /// The published token if it is fresh now.
    #[inline]
    pub(crate) fn fresh(&self) -> Option<TokenHandle> {
        self.with_fresh(self.clock.now(), TokenHandle::clone)
    }

    /// The published bearer value if it is fresh now: no lock, nothing shared written, no
    /// allocation.
    #[inline]
    pub(crate) fn fresh_bearer(&self) -> Option<BearerCopy> {
        self.bearer.read(self.clock.now())
    }

    /// Clears the published token and bearer value (the source is gone).
    pub(crate) fn unpublish(&self) {
        let _lc = lock(&self.machine);
        self.published.store(None);
        self.bearer.publish(None);
    }

    /// Runs the machine at `now` and says what this caller does next.
    pub(crate) fn next(self: &Arc<Self>, now: Timestamp) -> Next {
        let mut lc = lock(&self.machine);
        let step = match lc.poll(now) {
            Action::Use(_) => None,
            Action::Send(out) => Some(Next::Fetch {
                fetch: Fetch {
                    shared: Arc::downgrade(self),
                    id: out.id(),
                    done: false,
                    labels: crate::metrics::Labels::of(lc.request()),
                },
                request: out.into_request(),
                current: None,
            }),
            Action::Wait => Some(Next::Wait { until: None }),
            Action::Fail { error, retry_at } => {
                let error = TokenError::failed(
                    error.clone(),
                    retry_at.map(|t| t.saturating_duration_since(now)),
                );
                let rejected = lc.rotation() == Some(Rotation::Rejected)
                    && matches!(lc.last_error(), Some(Error::Rejected(_)));
                Some(Next::Fail(if rejected {
                    error.in_rotation()
                } else {
                    error
                }))
            }
        };
        let (current, changed) = self.publish(&lc, now);
        let wakeup = lc.next_wakeup();
        drop(lc);
        if changed {
            self.changed.bump();
        }
        match step {
            Some(Next::Fetch { request, fetch, .. }) => Next::Fetch {
                request,
                fetch,
                current,
            },
            Some(Next::Wait { .. }) => Next::Wait { until: wakeup },
            Some(step) => step,
            None => current.map_or(Next::Wait { until: wakeup }, Next::Use),
        }
    }

    /// Runs `f` on the machine at the clock's time, then publishes and wakes waiters.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut TokenLifecycle, Timestamp) -> R) -> R {
        let now = self.clock.now();
        let mut lc = lock(&self.machine);
        let r = f(&mut lc, now);
        self.publish(&lc, now);
        drop(lc);
        self.changed.bump();
        r
    }

    /// Holds the machine's lock (for tests that check a path never takes it).
    #[cfg(test)]
    pub(crate) fn lock_machine(&self) -> std::sync::MutexGuard<'_, TokenLifecycle> {
        lock(&self.machine)
    }

    /// Reads the machine under its lock (crate-internal: never runs user code).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&TokenLifecycle) -> R) -> R {
        f(&lock(&self.machine))
    }

    /// Switches to another request (credentials, environment). A token of another
    /// environment is never handed out for the new one's URLs: the machine drops it, it is
    /// unpublished, and only then does the destination check move (and `moves` with it).
    pub(crate) fn reconfigure(&self, request: TokenRequest) {
        let now = self.clock.now();
        let mut lc = lock(&self.machine);
        let moved = lc.request().environment() != request.environment();
        lc.reconfigure(request);
        self.publish(&lc, now);
        if moved {
            self.target
                .store(Arc::new(lc.request().environment().audience()));
            self.moves.fetch_add(1, Ordering::Release);
        }
        drop(lc);
        self.changed.bump();
    }

    /// How many times the source moved to another environment: read it before the
    /// destination check and again after reading the token; if it moved, check again.
    #[inline]
    pub(crate) fn moves(&self) -> u64 {
        self.moves.load(Ordering::Acquire)
    }

    /// Whether Zuora rejected the credentials of the last request and none is in flight
    /// (a re-read secret may fix it).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn rejected(&self) -> bool {
        self.read(|lc| {
            lc.in_flight().is_none() && matches!(lc.last_error(), Some(Error::Rejected(_)))
        })
    }

    /// Whether a request to `destination` may carry the token
    /// ([`Environment::covers`]): no lock taken.
    pub(crate) fn covers(&self, destination: &Destination<'_>) -> bool {
        self.target.load().covers(destination)
    }

    /// Publishes what the machine hands out at `now`; returns it and whether it changed.
    fn publish(&self, lc: &TokenLifecycle, now: Timestamp) -> (Option<TokenHandle>, bool) {
        let wanted = lc.token(now).map(|c| Published {
            fresh_until: lc
                .next_wakeup()
                .map_or(c.usable_until(), |w| w.min(c.usable_until())),
            handle: c.clone(),
        });
        let published = self.published.load();
        let unchanged = match (published.as_deref(), &wanted) {
            (Some(p), Some(w)) => {
                p.handle.generation() == w.handle.generation() && p.fresh_until == w.fresh_until
            }
            (None, None) => true,
            _ => false,
        };
        let handle = wanted.as_ref().map(|w| w.handle.clone());
        if !unchanged {
            match &wanted {
                Some(w) => {
                    // `Bearer <token>`, then the entity ID the token goes with.
                    let mut value =
                        zeroize::Zeroizing::new(w.handle.bearer_header().as_bytes().to_vec());
                    if let Some(entity) = w.handle.entity_id() {
                        value.push(SEPARATOR);
                        value.extend_from_slice(entity.as_str().as_bytes());
                    }
                    let generation = w.handle.generation();
                    self.bearer
                        .publish(Some((&value, generation, w.fresh_until)));
                }
                None => self.bearer.publish(None),
            }
            self.published.store(wanted.map(Arc::new));
        }
        (handle, !unchanged)
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("lifecycle", &*lock(&self.machine))
            .field("closed", &self.changed.is_closed())
            .finish_non_exhaustive()
    }
}

/// A request in flight. Report its outcome with [`Fetch::complete`]; dropping it without
/// doing so (the task was dropped) cancels the request, so that another caller can take
/// over. It holds the source's state only weakly: a task still running when the source is
/// dropped keeps no token alive, and its outcome is discarded.
pub(crate) struct Fetch {
    shared: Weak<Shared>,
    id: RequestId,
    done: bool,
    /// The labels of the request's metrics (nothing without the feature `metrics`).
    labels: crate::metrics::Labels,
}

impl Fetch {
    /// The request's number, for logs.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn id(&self) -> RequestId {
        self.id
    }

    /// The labels of the request's metrics.
    pub(crate) fn labels(&self) -> &crate::metrics::Labels {
        &self.labels
    }

    /// Reports the outcome: a response of any status, or a transport failure. Returns the
    /// new token's record, if a token was installed (to share it).
    #[cfg_attr(not(store), allow(dead_code))]
    pub(crate) fn complete(mut self, result: TransportResult) -> Option<TokenRecord> {
        self.done = true;
        let shared = self.shared.upgrade()?;
        let (id, wall) = (self.id, shared.clock.wall());
        shared.update(|lc, now| {
            let outcome = match result {
                Ok(response) => lc.handle_response(now, wall, id, &response),
                Err(e) => lc.handle_transport_error(now, id, e),
            };
            crate::metrics::answered(&self.labels, &outcome, now, wall);
            match outcome {
                Outcome::Token(c) => Some(c.record()),
                Outcome::Failed(_) | Outcome::Ignored => None,
            }
        })
    }

    /// Reports that a shared store answered instead of Zuora, with `record`. If the
    /// lifecycle does not take it, the request is still in flight: the fetch comes back.
    #[cfg(store)]
    pub(crate) fn adopt(mut self, record: &TokenRecord) -> Result<(), Self> {
        let Some(shared) = self.shared.upgrade() else {
            self.done = true;
            return Ok(());
        };
        let (id, wall) = (self.id, shared.clock.wall());
        let adopted = shared.update(|lc, now| match lc.handle_record(now, wall, id, record) {
            Outcome::Token(handle) => {
                crate::metrics::installed(&self.labels, handle, now, wall);
                true
            }
            Outcome::Failed(_) | Outcome::Ignored => false,
        });
        if adopted {
            self.done = true;
            Ok(())
        } else {
            Err(self)
        }
    }

    /// The record of the token this fetch replaces, usable or not (an invalidated token
    /// must not come back from the shared store before the store has forgotten it).
    #[cfg(store)]
    pub(crate) fn current_record(&self) -> Option<TokenRecord> {
        self.shared
            .upgrade()?
            .read(|lc| lc.last_token().map(|c| c.record()))
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        if !self.done
            && let Some(shared) = self.shared.upgrade()
        {
            let id = self.id;
            shared.update(|lc, _| lc.cancel(id));
        }
    }
}

/// On `wasm32` (one thread, one event loop) the two values read without the machine's lock
/// are plain cells: the same operations as `arc-swap`'s (`load` a copy of the `Arc`, `store`
/// a new one, the old one dropped at once), without its debt lists and their code. A
/// `load` holds no borrow: the caller gets its own `Arc`, so code it runs may `store`.
#[cfg(target_arch = "wasm32")]
mod swap {
    use std::cell::RefCell;
    use std::sync::Arc;

    /// A value replaced as a whole and read as a copy (an `Arc` or an optional one).
    pub(crate) struct Swap<T>(RefCell<T>);

    /// As `arc_swap::ArcSwap`.
    pub(crate) type ArcSwap<U> = Swap<Arc<U>>;
    /// As `arc_swap::ArcSwapOption`.
    pub(crate) type ArcSwapOption<U> = Swap<Option<Arc<U>>>;

    impl<T: Clone> Swap<T> {
        /// A copy of the current value.
        pub(crate) fn load(&self) -> T {
            self.0.borrow().clone()
        }

        /// Replaces the value; the old one is dropped once the cell is released.
        pub(crate) fn store(&self, value: T) {
            let old = self.0.replace(value);
            drop(old);
        }
    }

    impl<U> Swap<Arc<U>> {
        pub(crate) fn from_pointee(value: U) -> Self {
            Self(RefCell::new(Arc::new(value)))
        }
    }

    impl<U> Swap<Option<Arc<U>>> {
        pub(crate) fn empty() -> Self {
            Self(RefCell::new(None))
        }
    }
}
