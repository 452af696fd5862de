//! The runtime of plain threads, for the [`BlockingTokenSource`](crate::BlockingTokenSource):
//! each task runs on a thread of its own, driven by a small executor that parks the thread
//! between polls; a sleep is a park with a timeout.

use std::cell::Cell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::{BlockingJob, BoxFuture, Runtime};

/// Threads: a task is a thread; blocking work is a thread too.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ThreadRuntime;

impl Runtime for ThreadRuntime {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        spawn_thread(Box::new(move || block_on(task)));
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(Sleep {
            until: Instant::now().checked_add(duration),
        })
    }
}

/// Runs `job` on a new thread; if no thread can be started, on this one.
pub(crate) fn spawn_thread(job: BlockingJob) {
    // Whoever takes the job runs it: the new thread, or this one if none can start.
    let job = Arc::new(std::sync::Mutex::new(Some(job)));
    let run = {
        let job = Arc::clone(&job);
        move || {
            let taken = crate::notify::lock(&job).take();
            if let Some(job) = taken {
                job();
            }
        }
    };
    let spawned = std::thread::Builder::new()
        .name("zuora-oauth".into())
        .spawn(run.clone());
    if spawned.is_err() {
        run();
    }
}

thread_local! {
    /// The earliest time a [`Sleep`] polled on this thread wants to be woken.
    static WAKE_AT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread until it completes, parking between polls (until woken,
/// or until the earliest [`Sleep`] it polled is due).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        WAKE_AT.with(|w| w.set(None));
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        match WAKE_AT.with(Cell::get) {
            Some(at) => std::thread::park_timeout(at.saturating_duration_since(Instant::now())),
            None => std::thread::park(),
        }
    }
}

/// A sleep for [`block_on`]: due at `until` (`None`: never).
struct Sleep {
    until: Option<Instant>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let Some(until) = self.until else {
            return Poll::Pending;
        };
        if Instant::now() >= until {
            return Poll::Ready(());
        }
        WAKE_AT.with(|w| w.set(Some(w.get().map_or(until, |at| at.min(until)))));
        Poll::Pending
    }
}
