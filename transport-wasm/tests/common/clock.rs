//! A monotonic clock moved by hand, so that tests reach a token's refresh window, its last
//! seconds or the end of a backoff without waiting; and sleeps on it, for a runtime whose
//! timers follow that clock.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

/// Cheap to clone; clones share the time.
#[derive(Clone, Default)]
pub struct ManualClock(Rc<State>);

#[derive(Default)]
struct State {
    now: Cell<Duration>,
    sleepers: RefCell<Vec<(Duration, Waker)>>,
}

impl ManualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The time since the clock's origin.
    pub fn now(&self) -> Duration {
        self.0.now.get()
    }

    /// Moves the clock to `t` (forward only) and wakes the sleeps that are due.
    pub fn set(&self, t: Duration) {
        assert!(t >= self.now(), "the monotonic clock cannot go back");
        self.0.now.set(t);
        let due: Vec<Waker> = {
            let mut sleepers = self.0.sleepers.borrow_mut();
            let (due, waiting) = sleepers.drain(..).partition(|(at, _)| *at <= t);
            *sleepers = waiting;
            due.into_iter().map(|(_, waker)| waker).collect()
        };
        due.into_iter().for_each(Waker::wake);
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.set(self.now() + d);
    }

    /// The driver's clocks: this one for monotonic time; the real `Date.now()` for the wall
    /// clock (token records, and `Retry-After` dates when a response has no `Date`).
    pub fn clock(&self) -> zuora_oauth_driver::Clock {
        let this = self.clone();
        zuora_oauth_driver::Clock::new(
            move || this.now(),
            || UNIX_EPOCH + Duration::from_secs_f64(js_sys::Date::now() / 1000.0),
        )
    }

    /// A future that completes once the clock has moved `d` past now.
    pub fn sleep(&self, d: Duration) -> Sleep {
        Sleep {
            clock: self.clone(),
            at: self.now() + d,
        }
    }
}

/// See [`ManualClock::sleep`].
pub struct Sleep {
    clock: ManualClock,
    at: Duration,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.clock.now() >= self.at {
            return Poll::Ready(());
        }
        self.clock
            .0
            .sleepers
            .borrow_mut()
            .push((self.at, cx.waker().clone()));
        Poll::Pending
    }
}
