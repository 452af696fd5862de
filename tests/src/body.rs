//! A response body that can pause and abort, for the connection-level faults.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// One step of a scripted body.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send these bytes.
    Data(Bytes),
    /// Wait before the next step (the bytes sent so far are flushed first).
    Pause(Duration),
    /// Return `Pending` once (waking at once), so hyper flushes what it has buffered.
    Yield,
    /// Fail the body: hyper then drops the connection without finishing the message.
    Abort,
}

/// The body type of every response the mock sends.
#[derive(Debug)]
pub(crate) struct ScriptedBody {
    steps: VecDeque<Step>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether to announce the exact size (then hyper sends `Content-Length` unless the
    /// response already has one); otherwise hyper uses chunked encoding when no
    /// `Content-Length` header was set.
    exact: bool,
}

impl ScriptedBody {
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let mut steps = VecDeque::new();
        if !bytes.is_empty() {
            steps.push_back(Step::Data(bytes));
        }
        Self {
            steps,
            sleep: None,
            exact: true,
        }
    }

    pub(crate) fn scripted(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            sleep: None,
            exact: false,
        }
    }
}

impl Body for ScriptedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
            }
            match this.steps.pop_front() {
                None => return Poll::Ready(None),
                Some(Step::Data(bytes)) => return Poll::Ready(Some(Ok(Frame::data(bytes)))),
                Some(Step::Pause(d)) => this.sleep = Some(Box::pin(tokio::time::sleep(d))),
                Some(Step::Yield) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Some(Step::Abort) => {
                    return Poll::Ready(Some(Err(std::io::Error::other(
                        "mock fault: body aborted on purpose",
                    ))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.sleep.is_none() && self.steps.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact {
            let len: usize = self
                .steps
                .iter()
                .map(|s| match s {
                    Step::Data(b) => b.len(),
                    _ => 0,
                })
                .sum();
            SizeHint::with_exact(len as u64)
        } else {
            SizeHint::default()
        }
    }
}
