//! The runtime on tokio (feature `tokio`): the current runtime's tasks, timers and blocking
//! pool.

use std::time::Duration;

use super::{BlockingJob, BoxFuture, Runtime};

/// tokio, found from the caller's context (multi-thread or `current_thread`, with its time
/// driver enabled).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokioRuntime;

impl Runtime for TokioRuntime {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        tokio::spawn(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn spawn_blocking(&self, job: BlockingJob) {
        drop(tokio::task::spawn_blocking(job));
    }

    fn check(&self) -> Result<(), String> {
        tokio::runtime::Handle::try_current().map(drop).map_err(|_| {
            "no tokio runtime: call the token source from inside a tokio runtime (with its \
             time driver enabled), or name another runtime with \
             `TokenSourceBuilder::with_runtime`"
                .to_owned()
        })
    }
}
