//! The guard that caps token requests per rolling minute.

use std::collections::VecDeque;
use std::time::Duration;

use crate::Timestamp;

const WINDOW: Duration = Duration::from_secs(60);

/// Remembers when the last `limit` requests were sent.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    limit: usize,
    sent: VecDeque<Timestamp>,
}

impl Budget {
    pub(crate) fn new(limit: u32) -> Self {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        Self {
            limit,
            sent: VecDeque::with_capacity(limit.min(64)),
        }
    }

    /// `None` if a request may be sent at `now`, else when one may.
    pub(crate) fn blocked_until(&mut self, now: Timestamp) -> Option<Timestamp> {
        // Measured as a distance, not as `t + WINDOW`, which saturates at the end of time
        // and would let every request through there.
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
        {
            self.sent.pop_front();
        }
        (self.sent.len() >= self.limit).then(|| self.sent.front().map_or(now, |&t| t + WINDOW))
    }

    pub(crate) fn record(&mut self, now: Timestamp) {
        self.sent.push_back(now);
    }

    /// Requests sent within the minute before `now`.
    pub(crate) fn used(&self, now: Timestamp) -> usize {
        self.sent
            .iter()
            .filter(|&&t| now.saturating_duration_since(t) < WINDOW)
            .count()
    }
}
