//! Wakes waiting callers when the token source changed or closed.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// An epoch that moves on every change, a closed flag, and the futures waiting for either
/// (by their wakers; a blocking caller's future wakes its thread).
#[derive(Default)]
pub(crate) struct Changed {
    epoch: AtomicU64,
    closed: AtomicBool,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    next_key: u64,
    wakers: Vec<(u64, Waker)>,
}

impl Changed {
    /// The current epoch: read it before looking at the state, then wait past it.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Something changed: wake every waiter.
    pub(crate) fn bump(&self) {
        let wakers = {
            let mut w = lock(&self.waiters);
            self.epoch.fetch_add(1, Ordering::AcqRel);
            std::mem::take(&mut w.wakers)
        };
        for (_, waker) in wakers {
            waker.wake();
        }
    }

    /// The source is gone: wake every waiter, for good.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.bump();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Resolves once the epoch has moved past `seen` (or the source closed).
    pub(crate) fn changed_since(&self, seen: u64) -> Notified<'_> {
        Notified {
            changed: self,
            seen: Some(seen),
            key: None,
        }
    }

    /// Resolves once the source has closed.
    pub(crate) fn closed(&self) -> Notified<'_> {
        Notified {
            changed: self,
            seen: None,
            key: None,
        }
    }

    fn ready(&self, seen: Option<u64>) -> bool {
        self.is_closed() || seen.is_some_and(|seen| self.epoch() != seen)
    }
}

/// See [`Changed::changed_since`] and [`Changed::closed`].
pub(crate) struct Notified<'a> {
    changed: &'a Changed,
    /// `None`: wait for the close only.
    seen: Option<u64>,
    key: Option<u64>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.changed.ready(self.seen) {
            return Poll::Ready(());
        }
        let mut w = lock(&self.changed.waiters);
        // Checked again under the lock that `bump` takes: no wake-up falls in between.
        if self.changed.ready(self.seen) {
            return Poll::Ready(());
        }
        let key = match self.key {
            Some(key) => key,
            None => {
                w.next_key += 1;
                w.next_key
            }
        };
        match w.wakers.iter_mut().find(|(k, _)| *k == key) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => w.wakers.push((key, cx.waker().clone())),
        }
        drop(w);
        self.key = Some(key);
        Poll::Pending
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            lock(&self.changed.waiters)
                .wakers
                .retain(|(k, _)| *k != key);
        }
    }
}

/// Polls `first` and `second` together: `Some` with `first`'s output if it finishes first,
/// `None` if `second` does.
pub(crate) async fn race<A: Future, B: Future>(first: A, second: B) -> Option<A::Output> {
    let (mut first, mut second) = (pin!(first), pin!(second));
    poll_fn(|cx| {
        if let Poll::Ready(out) = first.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if second.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// Locks, ignoring poisoning: every critical section leaves the state consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
