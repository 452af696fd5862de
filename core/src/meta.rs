//! What the headers of a token response say, on success and on error.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, StatusCode};

/// Metadata from a token response's headers: Zuora's request ID, the echoed track ID,
/// rate-limit headers of both generations and `Retry-After`.
///
/// Values are kept as received and parsed when asked for, so reading a response stays
/// cheap; a header that is missing or unparseable reads as `None`.
#[derive(Clone, Default)]
pub struct ResponseMeta {
    status: StatusCode,
    request_id: Option<HeaderValue>,
    track_id: Option<HeaderValue>,
    date: Option<HeaderValue>,
    retry_after: Option<HeaderValue>,
    minute_limit: Option<HeaderValue>,
    minute_remaining: Option<HeaderValue>,
    limit: Option<HeaderValue>,
    remaining: Option<HeaderValue>,
    reset: Option<HeaderValue>,
}

impl ResponseMeta {
    /// Reads the headers it knows in one pass over the map, also returning the first
    /// `Content-Type` found in the same pass (so that the parser need not look it up again).
    pub(crate) fn with_content_type(
        status: StatusCode,
        headers: &HeaderMap,
    ) -> (Self, Option<&HeaderValue>) {
        let mut meta = Self {
            status,
            ..Self::default()
        };
        let mut content_type = None;
        for (name, value) in headers {
            let slot = match name.as_str() {
                "content-type" => {
                    content_type = content_type.or(Some(value));
                    continue;
                }
                "zuora-request-id" => &mut meta.request_id,
                "zuora-track-id" => &mut meta.track_id,
                "date" => &mut meta.date,
                "retry-after" => &mut meta.retry_after,
                "x-ratelimit-limit-minute" => &mut meta.minute_limit,
                "x-ratelimit-remaining-minute" => &mut meta.minute_remaining,
                "ratelimit-limit" => &mut meta.limit,
                "ratelimit-remaining" => &mut meta.remaining,
                "ratelimit-reset" => &mut meta.reset,
                _ => continue,
            };
            // The first value of a repeated header wins.
            if slot.is_none() {
                *slot = Some(value.clone());
            }
        }
        (meta, content_type)
    }

    /// Replaces every kept header value that `leaks` flags with `[redacted]`: a server or a
    /// proxy echoing the client secret into, say, `Zuora-Request-Id` must not get it into
    /// an error message.
    pub(crate) fn redact(&mut self, mut leaks: impl FnMut(&HeaderValue) -> bool) {
        let slots = [
            &mut self.request_id,
            &mut self.track_id,
            &mut self.date,
            &mut self.retry_after,
            &mut self.minute_limit,
            &mut self.minute_remaining,
            &mut self.limit,
            &mut self.remaining,
            &mut self.reset,
        ];
        for slot in slots {
            if slot.as_ref().is_some_and(&mut leaks) {
                *slot = Some(HeaderValue::from_static("[redacted]"));
            }
        }
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `Zuora-Request-Id`: the ID Zuora support asks for. Present on every Zuora response.
    pub fn request_id(&self) -> Option<&str> {
        text(&self.request_id).filter(|s| !s.is_empty())
    }

    /// `Zuora-Track-Id`: the track ID echoed back, if one was sent.
    pub fn track_id(&self) -> Option<&str> {
        text(&self.track_id).filter(|s| !s.is_empty())
    }

    /// The response's `Date` header.
    pub fn date(&self) -> Option<SystemTime> {
        text(&self.date).and_then(|d| httpdate::parse_http_date(d).ok())
    }

    /// `Retry-After`, in seconds or as an HTTP date.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        RetryAfter::parse(text(&self.retry_after)?)
    }

    /// `Retry-After` as a delay. A date is measured against the response's own `Date`
    /// header, so no local clock is involved (and client clock skew does not matter);
    /// without a `Date` header a date cannot be resolved here: use
    /// [`retry_after_delay_from`](Self::retry_after_delay_from) with your own clock.
    pub fn retry_after_delay(&self) -> Option<Duration> {
        match self.retry_after()? {
            RetryAfter::Delay(d) => Some(d),
            RetryAfter::At(at) => Some(RetryAfter::At(at).delay_from(self.date()?)),
        }
    }

    /// `Retry-After` as a delay, like [`retry_after_delay`](Self::retry_after_delay), but a
    /// date without a `Date` header is measured from `now`, the caller's wall clock.
    pub fn retry_after_delay_from(&self, now: SystemTime) -> Option<Duration> {
        Some(self.retry_after()?.delay_from(self.date().unwrap_or(now)))
    }

    /// The rate-limit headers of both generations.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            minute_limit: number(&self.minute_limit),
            minute_remaining: number(&self.minute_remaining),
            limit: number(&self.limit),
            limit_policy: text(&self.limit).map(str::to_owned),
            remaining: number(&self.remaining),
            reset: number(&self.reset).map(Duration::from_secs),
        }
    }
}

impl fmt::Debug for ResponseMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ResponseMeta");
        d.field("status", &self.status.as_u16());
        if let Some(id) = self.request_id() {
            d.field("request_id", &id);
        }
        if let Some(id) = self.track_id() {
            d.field("track_id", &id);
        }
        if let Some(r) = self.retry_after() {
            d.field("retry_after", &r);
        }
        let limits = self.rate_limits();
        if limits != RateLimits::default() {
            d.field("rate_limits", &limits);
        }
        d.finish()
    }
}

fn text(v: &Option<HeaderValue>) -> Option<&str> {
    v.as_ref()?.to_str().ok().map(str::trim)
}

/// The leading integer of a header such as `100` or `2250000, 50000;w=60`.
fn number(v: &Option<HeaderValue>) -> Option<u64> {
    let t = text(v)?;
    let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    t[..end].parse().ok()
}

/// Rate-limit headers. Zuora sends either generation, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// `X-RateLimit-Limit-minute` (older generation).
    pub minute_limit: Option<u64>,
    /// `X-RateLimit-Remaining-minute` (older generation).
    pub minute_remaining: Option<u64>,
    /// The first number of `RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `RateLimit-Limit` in full, which may list windows: `2250000, 50000;w=60, 2250000;w=3600`.
    pub limit_policy: Option<String>,
    /// `RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `RateLimit-Reset`: time until the window resets.
    pub reset: Option<Duration>,
}

/// A `Retry-After` header: a delay in seconds, or an HTTP date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 30`.
    Delay(Duration),
    /// `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`, kept as a date.
    At(SystemTime),
}

impl RetryAfter {
    /// Parses either form; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // Absurdly long digit strings saturate rather than fail.
            let secs = value.parse::<u64>().unwrap_or(u64::MAX);
            return Some(Self::Delay(Duration::from_secs(secs)));
        }
        httpdate::parse_http_date(value).ok().map(Self::At)
    }

    /// The delay from `now` (a wall-clock reading of the caller's) until a retry is allowed.
    /// A date in the past gives zero.
    pub fn delay_from(self, now: SystemTime) -> Duration {
        match self {
            Self::Delay(d) => d,
            Self::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}
