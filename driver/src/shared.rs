//! The state every clone of a token source shares: the lifecycle behind a lock, the
//! published token for the lock-free hit path, and the notifier.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use zuora_oauth_core::{
    Action, Outcome, RequestId, Timestamp, TokenLifecycle, TokenRecord, TokenRequest,
};

use crate::notify::{Changed, lock};
use crate::runtime::TransportResult;
use crate::{Clock, TokenError, TokenHandle};

pub(crate) struct Shared {
    machine: Mutex<TokenLifecycle>,
    /// What the hit path hands out: the usable token and until when it needs no poll.
    /// Holds nothing once the token is invalidated or unusable, and goes with the source.
    published: ArcSwapOption<TokenHandle>,
    pub(crate) changed: Changed,
    pub(crate) clock: Clock,
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
            machine: Mutex::new(lifecycle),
            published: ArcSwapOption::empty(),
            changed: Changed::default(),
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
        let handle = guard.as_deref()?;
        (now < handle.fresh_until).then(|| f(handle))
    }

    /// Runs the machine at `now` and says what this caller does next.
    pub(crate) fn next(self: &Arc<Self>, now: Timestamp) -> Next {
        let mut lc = lock(&self.machine);
        let step = match lc.poll(now) {
            Action::Use(_) => None,
            Action::Send(out) => Some(Next::Fetch {
                fetch: Fetch {
                    shared: Arc::clone(self),
                    id: out.id(),
                    done: false,
                },
                request: out.into_request(),
                current: None,
            }),
            Action::Wait => Some(Next::Wait { until: None }),
            Action::Fail { error, retry_at } => Some(Next::Fail(TokenError::new(
                error.clone(),
                retry_at.map(|t| t.saturating_duration_since(now)),
            ))),
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

    /// Reads the machine under its lock.
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&TokenLifecycle) -> R) -> R {
        f(&lock(&self.machine))
    }

    /// Switches to another request (credentials, environment).
    pub(crate) fn reconfigure(&self, request: TokenRequest) {
        self.update(|lc, _| lc.reconfigure(request));
    }

    /// Publishes what the machine hands out at `now`; returns it and whether it changed.
    fn publish(&self, lc: &TokenLifecycle, now: Timestamp) -> (Option<TokenHandle>, bool) {
        let wanted = lc.token(now).map(|c| TokenHandle {
            token: Arc::clone(c.token()),
            generation: c.generation(),
            fresh_until: lc
                .next_wakeup()
                .map_or(c.usable_until(), |w| w.min(c.usable_until())),
            usable_until: c.usable_until(),
            expires_at: c.expires_at(),
        });
        let published = self.published.load();
        let unchanged = match (published.as_deref(), &wanted) {
            (Some(p), Some(w)) => p.generation == w.generation && p.fresh_until == w.fresh_until,
            (None, None) => true,
            _ => false,
        };
        if !unchanged {
            self.published.store(wanted.clone().map(Arc::new));
        }
        (wanted, !unchanged)
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
/// doing so (the source closed, the task was dropped) cancels the request, so that another
/// caller can take over.
pub(crate) struct Fetch {
    shared: Arc<Shared>,
    id: RequestId,
    done: bool,
}

impl Fetch {
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The request's number, for logs.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn id(&self) -> RequestId {
        self.id
    }

    /// Reports the outcome: a response of any status, or a transport failure. Returns the
    /// new token's record, if a token was installed (to share it).
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn complete(mut self, result: TransportResult) -> Option<TokenRecord> {
        self.done = true;
        let (id, wall) = (self.id, self.shared.clock.wall());
        self.shared.update(|lc, now| {
            let outcome = match result {
                Ok(response) => lc.handle_response(now, wall, id, &response),
                Err(e) => lc.handle_transport_error(now, id, e),
            };
            match outcome {
                Outcome::Token(c) => Some(c.record()),
                Outcome::Failed(_) | Outcome::Ignored => None,
            }
        })
    }

    /// Reports that a shared store answered instead of Zuora, with `record`. If the
    /// lifecycle does not take it, the request is still in flight: the fetch comes back.
    #[cfg(feature = "store")]
    pub(crate) fn adopt(mut self, record: &TokenRecord) -> Result<(), Self> {
        let (id, wall) = (self.id, self.shared.clock.wall());
        let adopted = self
            .shared
            .update(|lc, now| matches!(lc.handle_record(now, wall, id, record), Outcome::Token(_)));
        if adopted {
            self.done = true;
            Ok(())
        } else {
            Err(self)
        }
    }

    #[cfg(feature = "store")]
    /// The record of the token this fetch replaces, usable or not (an invalidated token
    /// must not come back from the shared store before the store has forgotten it).
    pub(crate) fn current_record(&self) -> Option<TokenRecord> {
        self.shared
            .inspect(|lc| lc.last_token().map(|c| c.record()))
    }
}

/// A [`Fetch`] that does not keep the source's state alive: a thread blocked in a request
/// holds this, so that dropping the source frees the token at once; the outcome is then
/// discarded. Dropped unused while the source lives, it cancels the request.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) struct WeakFetch {
    shared: Option<std::sync::Weak<Shared>>,
    id: RequestId,
}

#[cfg(not(target_arch = "wasm32"))]
impl Fetch {
    pub(crate) fn downgrade(mut self) -> WeakFetch {
        self.done = true;
        WeakFetch {
            shared: Some(Arc::downgrade(&self.shared)),
            id: self.id,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl WeakFetch {
    /// The fetch again, if the source is still there.
    pub(crate) fn upgrade(mut self) -> Option<Fetch> {
        let shared = self.shared.take()?.upgrade()?;
        Some(Fetch {
            shared,
            id: self.id,
            done: false,
        })
    }

    /// Whether the source is still there.
    #[cfg(feature = "store")]
    pub(crate) fn is_alive(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.strong_count() > 0)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Drop for WeakFetch {
    fn drop(&mut self) {
        // Unused: cancel the request (through a `Fetch`, which cancels when dropped).
        let _ = self
            .shared
            .take()
            .and_then(|s| s.upgrade())
            .map(|shared| Fetch {
                shared,
                id: self.id,
                done: false,
            });
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        if !self.done {
            let id = self.id;
            self.shared.update(|lc, _| lc.cancel(id));
        }
    }
}
