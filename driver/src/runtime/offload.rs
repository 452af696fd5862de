//! Blocking work off the executor, awaited: [`run_blocking`], and the exchange of a
//! blocking transport as a future ([`blocking_send`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use zuora_oauth_core::{TransportError, TransportErrorKind};

use super::{BoxFuture, Runtime};
use crate::notify::lock;
use crate::transport::{BlockingTransport, Limits, TransportResult};

/// A blocking transport's exchange as a future, run with [`Runtime::spawn_blocking`]:
/// nothing is sent until the future is polled.
pub(crate) fn blocking_send(
    runtime: &Arc<dyn Runtime>,
    transport: &Arc<dyn BlockingTransport>,
    request: http::Request<Vec<u8>>,
    limits: Limits,
) -> BoxFuture<'static, TransportResult> {
    let (transport, runtime) = (Arc::clone(transport), Arc::clone(runtime));
    Box::pin(async move {
        let job = move || transport.send(request, limits);
        run_blocking(&*runtime, job).await.unwrap_or_else(|| {
            Err(TransportError::new(
                TransportErrorKind::Other,
                "the transport panicked",
            ))
        })
    })
}

/// Runs `job` with [`Runtime::spawn_blocking`]; the future resolves with its result, or
/// `None` if the job panicked. If the future is dropped first, the result is discarded
/// when the job ends.
pub(crate) fn run_blocking<T: Send + 'static>(
    runtime: &dyn Runtime,
    job: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = Option<T>> + Send + 'static {
    let slot = Arc::new(Mutex::new(Slot::<T> {
        value: None,
        waker: None,
        lost: false,
    }));
    let writer = Arc::clone(&slot);
    runtime.spawn_blocking(Box::new(move || {
        // A job that panics leaves the slot empty and marked lost, so the waiter ends.
        let guard = LostOnUnwind(&writer);
        let value = job();
        std::mem::forget(guard);
        let waker = {
            let mut s = lock(&writer);
            s.value = Some(value);
            s.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }));
    Blocked { slot }
}

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    lost: bool,
}

struct LostOnUnwind<'a, T>(&'a Mutex<Slot<T>>);

impl<T> Drop for LostOnUnwind<'_, T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = lock(self.0);
            s.lost = true;
            s.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct Blocked<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for Blocked<T> {
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = lock(&self.slot);
        if let Some(value) = s.value.take() {
            return Poll::Ready(Some(value));
        }
        if s.lost {
            // The job panicked (its panic was reported on its thread).
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
