//! The seam between the one token source and an executor: spawn, sleep, run blocking work,
//! and the clocks. A runtime never sends a request (that is a [`Transport`]'s job), and a
//! transport never spawns or sleeps.
//!
//! Three runtimes are written here, once: tokio (feature `tokio`), the JavaScript event loop
//! (on `wasm32`), and plain threads (the [`BlockingTokenSource`]'s). Implement [`Runtime`] to
//! run the async [`TokenSource`] on another executor.
//!
//! [`Transport`]: crate::Transport
//! [`TokenSource`]: crate::TokenSource
//! [`BlockingTokenSource`]: crate::BlockingTokenSource

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::Clock;

#[cfg(not(target_arch = "wasm32"))]
mod offload;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod threads;
#[cfg(feature = "tokio")]
pub(crate) mod tokio;
#[cfg(target_arch = "wasm32")]
pub(crate) mod wasm;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use offload::blocking_send;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use offload::run_blocking;

/// A boxed future that is `Send` on native targets (on `wasm32`, where one event loop runs
/// everything, it need not be).
#[cfg(not(target_arch = "wasm32"))]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A boxed future that is `Send` on native targets (on `wasm32`, where one event loop runs
/// everything, it need not be).
#[cfg(target_arch = "wasm32")]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// `Send + Sync` on native targets, nothing on `wasm32`.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSend for T {}
/// `Send + Sync` on native targets, nothing on `wasm32`.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// A job that may block its thread (a store call, a blocking transport's request).
#[cfg(not(target_arch = "wasm32"))]
pub type BlockingJob = Box<dyn FnOnce() + Send + 'static>;

/// What the async [`TokenSource`](crate::TokenSource) needs from an executor: run a task
/// detached, sleep, run blocking work off the executor, and the clocks. Everything else —
/// who fetches, when callers wait, what outlives whom — is the source's.
///
/// The source picks tokio (feature `tokio`) on native targets and the JavaScript event loop
/// on `wasm32` by itself; implement this trait, and pass it to
/// [`TokenSourceBuilder::with_runtime`](crate::TokenSourceBuilder::with_runtime), to run on another
/// executor.
pub trait Runtime: MaybeSend + 'static {
    /// Runs `task` to completion in the background, detached from the caller that started
    /// it (a caller that gives up must not cancel a fetch others wait for).
    fn spawn(&self, task: BoxFuture<'static, ()>);

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;

    /// Runs `job`, which may block its thread for a while (a store call, a blocking
    /// transport's request), where blocking does not stall the executor: tokio's blocking
    /// pool, a thread of its own (the default).
    #[cfg(not(target_arch = "wasm32"))]
    fn spawn_blocking(&self, job: BlockingJob) {
        threads::spawn_thread(job);
    }

    /// Whether [`spawn`](Runtime::spawn) and [`sleep`](Runtime::sleep) can work from here
    /// (tokio's need a runtime context). The source hands a failure to the caller as
    /// [`TokenError::NoRuntime`](crate::TokenErrorKind::NoRuntime) instead of panicking.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// The monotonic and wall clocks.
    #[cfg(not(target_arch = "wasm32"))]
    fn clock(&self) -> Clock {
        Clock::system()
    }
    /// The monotonic and wall clocks.
    #[cfg(target_arch = "wasm32")]
    fn clock(&self) -> Clock;

    /// A jitter seed drawn from the OS, different for every source.
    #[cfg(not(target_arch = "wasm32"))]
    fn seed(&self) -> u64 {
        crate::clock::os_seed()
    }
    /// A jitter seed drawn from the OS, different for every source.
    #[cfg(target_arch = "wasm32")]
    fn seed(&self) -> u64;
}

/// The runtime an async source uses when none is named: tokio with the feature `tokio`,
/// the event loop on `wasm32`, otherwise one that says what is missing.
pub(crate) fn default_runtime() -> Arc<dyn Runtime> {
    #[cfg(target_arch = "wasm32")]
    return Arc::new(wasm::WasmRuntime);
    #[cfg(all(not(target_arch = "wasm32"), feature = "tokio"))]
    return Arc::new(tokio::TokioRuntime);
    #[cfg(all(not(target_arch = "wasm32"), not(feature = "tokio")))]
    return Arc::new(Missing);
}

/// No runtime: every call says so.
#[cfg(all(not(target_arch = "wasm32"), not(feature = "tokio")))]
struct Missing;

#[cfg(all(not(target_arch = "wasm32"), not(feature = "tokio")))]
impl Runtime for Missing {
    fn spawn(&self, _task: BoxFuture<'static, ()>) {}
    fn sleep(&self, _duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(std::future::pending())
    }
    fn check(&self) -> Result<(), String> {
        Err(
            "no async runtime: enable the feature `tokio`, or name one with \
             `TokenSourceBuilder::with_runtime`"
                .into(),
        )
    }
}
