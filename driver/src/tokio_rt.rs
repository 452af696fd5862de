//! The parts of a [`Runtime`](crate::Runtime) on tokio that every tokio transport shares:
//! spawn, sleep, and the check that a runtime is there.

use std::time::Duration;

use zuora_oauth_core::{TransportError, TransportErrorKind};

use crate::{BoxFuture, Runtime};

/// Runs `task` on the current tokio runtime, detached.
pub fn spawn(task: BoxFuture<'static, ()>) {
    tokio::spawn(task);
}

/// tokio's sleep, boxed.
pub fn sleep(duration: Duration) -> BoxFuture<'static, ()> {
    Box::pin(tokio::time::sleep(duration))
}

/// `Ok` inside a tokio runtime; outside one, an error naming `transport` (the transport's
/// name, e.g. `hyper`) that says what is missing, instead of tokio's panic.
pub fn check(transport: &str) -> Result<(), TransportError> {
    tokio::runtime::Handle::try_current().map(drop).map_err(|_| {
        TransportError::new(
            TransportErrorKind::Other,
            format!(
                "no tokio runtime: call the {transport} token source from inside a tokio runtime \
                 (with its time driver enabled)"
            ),
        )
    })
}

/// A transport whose token source runs on tokio: it sends one request, and gets the rest
/// of [`Runtime`] (spawn, sleep, the runtime check) from here.
pub trait TokioTransport: crate::MaybeSend + 'static {
    /// The transport's name, for the "no tokio runtime" error.
    const NAME: &'static str;

    /// See [`Runtime::send`].
    fn send_token_request(
        &self,
        request: http::Request<Vec<u8>>,
        limits: crate::Limits,
    ) -> BoxFuture<'static, crate::TransportResult>;
}

impl<T: TokioTransport> Runtime for T {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: crate::Limits,
    ) -> BoxFuture<'static, crate::TransportResult> {
        self.send_token_request(request, limits)
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        spawn(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        sleep(duration)
    }

    fn check(&self) -> Result<(), TransportError> {
        check(T::NAME)
    }
}
