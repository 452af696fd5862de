//! What the headers of a token response say, on success and on error.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::header::{CONTENT_TYPE, DATE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// Metadata from a token response's headers: Zuora's request ID, the echoed track ID,
/// rate-limit headers of both generations and `Retry-After`, and the wait they ask of the
/// next token request ([`server_wait`](Self::server_wait)).
///
/// Values are kept as received and parsed when asked for, so reading a response stays
/// cheap; a header that is missing or unparseable reads as `None`.
///
/// # A header that spells the client secret
///
/// A server or a proxy may echo the client secret into a header (or, with a secret of one
/// to three characters, a header may spell it by chance: `Retry-After: 30` with the secret
/// `30`). The values the library and its caller act on are still read as received:
/// [`retry_after`](Self::retry_after), [`date`](Self::date) and the numbers of
/// [`rate_limits`](Self::rate_limits) never change. What is text for people hides it:
/// [`request_id`](Self::request_id), [`track_id`](Self::track_id) and
/// [`RateLimits::limit_policy`] read `[redacted]` (a value holding the secret is no real
/// request ID), and `Debug` shows `[redacted]` in place of any such value. A short secret
/// is found only where it stands as a whole word (see [`Error`](crate::Error)), so a real
/// request ID or date is never hidden by one.
#[derive(Clone, Default)]
pub struct ResponseMeta {
    status: StatusCode,
    /// The slots (bits in the order of [`Slot`]) whose value spells the secret.
    hidden: u16,
    /// The values (bits in the order of [`Slot`], then [`JTI`]) that are there.
    present: u16,
    /// Where each value ends in `values`; it starts where the previous one ends.
    ends: [u32; KEPT],
    /// The kept header values, one after the other in the order of [`Slot`], then the
    /// token's `jti` (kept here for [`Token`](crate::Token), so that a token takes one
    /// allocation less): one allocation for all of them (an HTTP client's header values
    /// are slices of the buffer the whole response was read into, which a kept token would
    /// otherwise keep alive). The header values are bytes as received (read as text only
    /// if they are), the `jti` UTF-8.
    values: Box<[u8]>,
}

/// The number of kept headers.
const SLOTS: usize = 9;
/// The index of the token's `jti` among the kept values.
const JTI: usize = SLOTS;
/// The number of kept values.
const KEPT: usize = SLOTS + 1;

/// The kept headers of a response as found in its header map, before they are copied
/// into a [`ResponseMeta`] (with the token's `jti`, once the body is read).
#[derive(Clone, Copy)]
pub(crate) struct FoundHeaders<'h> {
    status: StatusCode,
    /// The first value of each kept header.
    found: [Option<&'h [u8]>; SLOTS],
}

impl ResponseMeta {
    /// Reads the headers it knows in one pass over the map, also returning the first
    /// `Content-Type` found in the same pass (so that the parser need not look it up again).
    pub(crate) fn find(
        status: StatusCode,
        headers: &HeaderMap,
    ) -> (FoundHeaders<'_>, Option<&HeaderValue>) {
        let mut content_type = None;
        // The first value of each kept header (a repeated header's first value wins).
        let mut found: [Option<&[u8]>; SLOTS] = [None; SLOTS];
        for (name, value) in headers {
            // The length first, then the name: constants, so that standard names compare by
            // their tag and the others by their bytes.
            let slot = match name.as_str().len() {
                4 if name == DATE => Slot::Date,
                11 if name == RETRY_AFTER => Slot::RetryAfter,
                12 if name == CONTENT_TYPE => {
                    content_type = content_type.or(Some(value));
                    continue;
                }
                14 if name == ZUORA_TRACK_ID => Slot::TrackId,
                15 if name == RATELIMIT_LIMIT => Slot::Limit,
                15 if name == RATELIMIT_RESET => Slot::Reset,
                16 if name == ZUORA_REQUEST_ID => Slot::RequestId,
                19 if name == RATELIMIT_REMAINING => Slot::Remaining,
                24 if name == X_RATELIMIT_LIMIT_MINUTE => Slot::MinuteLimit,
                28 if name == X_RATELIMIT_REMAINING_MINUTE => Slot::MinuteRemaining,
                _ => continue,
            };
            let first = &mut found[slot as usize];
            if first.is_none() {
                *first = Some(value.as_bytes());
            }
        }
        (FoundHeaders { status, found }, content_type)
    }

    /// The same metadata with the token's `jti` kept (rebuilt: not on a parser's path).
    pub(crate) fn with_jti(&self, jti: Option<&str>) -> Self {
        let mut found = [None; SLOTS];
        for (slot, value) in found.iter_mut().enumerate() {
            *value = self.value(slot);
        }
        let mut meta = FoundHeaders {
            status: self.status,
            found,
        }
        .keep(jti);
        meta.hidden = self.hidden;
        meta
    }

    /// The token's `jti` kept with the metadata, if any.
    pub(crate) fn jti(&self) -> Option<&str> {
        std::str::from_utf8(self.value(JTI)?).ok()
    }

    /// Marks every kept header value that `leaks` flags; the values stay as received. A
    /// server or a proxy echoing the client secret into, say, `Zuora-Request-Id` must not
    /// get it into an error message. Values shorter than `min_len` are not even passed.
    pub(crate) fn hide(&mut self, min_len: usize, mut leaks: impl FnMut(&str) -> bool) {
        let mut hidden = 0;
        let mut start = 0;
        for (i, &end) in self.ends[..SLOTS].iter().enumerate() {
            let end = end as usize;
            if end - start >= min_len
                && self.present & (1 << i) != 0
                && self
                    .values
                    .get(start..end)
                    .and_then(text)
                    .is_some_and(&mut leaks)
            {
                hidden |= 1 << i;
            }
            start = end;
        }
        self.hidden = hidden;
    }

    /// Kept value `i` (a [`Slot`] or [`JTI`]), if it is there.
    fn value(&self, i: usize) -> Option<&[u8]> {
        if self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.values.get(start..self.ends[i] as usize)
    }

    /// The value of `slot` as received (untrimmed), if the header was there as text (what
    /// `HeaderValue::to_str` accepts; checked here, when read).
    fn raw(&self, slot: Slot) -> Option<&str> {
        text(self.value(slot as usize)?)
    }

    /// The value of `slot`, trimmed, if the header was there as text.
    fn text(&self, slot: Slot) -> Option<&str> {
        self.raw(slot).map(str::trim)
    }

    /// Whether the value of `slot` spells the secret.
    fn hides(&self, slot: Slot) -> bool {
        self.hidden & (1 << slot as u16) != 0
    }

    /// Whether the header the server's wait is read from spells the secret (the wait is
    /// then not printed).
    pub(crate) fn hides_wait(&self) -> bool {
        match self.wait_header() {
            Some(WaitHeader::RetryAfter) => self.hides(Slot::RetryAfter),
            Some(WaitHeader::RateLimitReset) => self.hides(Slot::Reset),
            None => false,
        }
    }

    /// Text for people: `[redacted]` if the value spells the secret.
    fn shown(&self, slot: Slot) -> Option<&str> {
        if self.hides(slot) {
            Some(REDACTED)
        } else {
            self.text(slot)
        }
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `Zuora-Request-Id`: the ID Zuora support asks for. Present on every Zuora response.
    /// `[redacted]` if it spells the client secret.
    pub fn request_id(&self) -> Option<&str> {
        self.shown(Slot::RequestId).filter(|s| !s.is_empty())
    }

    /// `Zuora-Track-Id`: the track ID echoed back, if one was sent; `[redacted]` if it
    /// spells the client secret.
    pub fn track_id(&self) -> Option<&str> {
        self.shown(Slot::TrackId).filter(|s| !s.is_empty())
    }

    /// The response's `Date` header, as received.
    pub fn date(&self) -> Option<SystemTime> {
        self.text(Slot::Date).and_then(crate::http_date::parse)
    }

    /// `Retry-After`, in seconds or as an HTTP date, as received.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        RetryAfter::parse(self.text(Slot::RetryAfter)?)
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

    /// The rate-limit headers of both generations: the numbers as received, the policy
    /// text `[redacted]` if it spells the client secret.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            minute_limit: number(self.text(Slot::MinuteLimit)),
            minute_remaining: number(self.text(Slot::MinuteRemaining)),
            limit: number(self.text(Slot::Limit)),
            limit_policy: self.shown(Slot::Limit).map(str::to_owned),
            remaining: least(self.text(Slot::Remaining)),
            reset: seconds(self.text(Slot::Reset)),
        }
    }

    /// The wait this answer asks of the next token request, as the server stated it
    /// (before the cap and the jitter of the [`TokenLifecycle`](crate::TokenLifecycle)):
    ///
    /// 1. `Retry-After`, if present (a date is measured against the response's `Date`
    ///    header; without one it cannot be resolved here, and the wait is `None`: use
    ///    [`server_wait_from`](Self::server_wait_from) with your own clock);
    /// 2. else `RateLimit-Reset` — the seconds until the quota window closest to exhaustion
    ///    resets — on a 429, and on any other answer whose `RateLimit-Remaining` is 0 (the
    ///    next request would get a 429). Zuora documents its 429s with these headers, and
    ///    with no `Retry-After`.
    ///
    /// A successful answer (a token) asks for a wait only when its `RateLimit-Remaining`
    /// is 0: `Retry-After` means nothing on a 2xx. `None` when the answer asks for no wait.
    /// The older generation (`X-RateLimit-Remaining-minute`) has no reset time and asks for
    /// nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
    ///
    /// let request = TokenRequest::new(
    ///     Environment::Sbx,
    ///     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
    ///     ClientSecret::new("dG9wLXNlY3JldA==")?,
    /// );
    /// let answer = http::Response::builder()
    ///     .status(429)
    ///     .header("content-type", "application/json")
    ///     .header("ratelimit-limit", "100, 100;w=60")
    ///     .header("ratelimit-remaining", "0")
    ///     .header("ratelimit-reset", "40")
    ///     .body(br#"{"message":"API rate limit exceeded"}"#.to_vec())?;
    /// let error = request.parse_response(&answer).unwrap_err();
    /// assert_eq!(error.retry_after(), None);
    /// assert_eq!(error.server_wait(), Some(Duration::from_secs(40)));
    /// assert!(error.to_string().contains("retry after 40 s (RateLimit-Reset)"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_wait(&self) -> Option<Duration> {
        match self.wait_header()? {
            WaitHeader::RetryAfter => self.retry_after_delay(),
            WaitHeader::RateLimitReset => seconds(self.text(Slot::Reset)),
        }
    }

    /// The wait this answer asks of the next token request, like
    /// [`server_wait`](Self::server_wait), but a `Retry-After` date without a `Date` header
    /// is measured from `now`, the caller's wall clock.
    pub fn server_wait_from(&self, now: SystemTime) -> Option<Duration> {
        match self.wait_header()? {
            WaitHeader::RetryAfter => self.retry_after_delay_from(now),
            WaitHeader::RateLimitReset => seconds(self.text(Slot::Reset)),
        }
    }

    /// Which header the server's wait is read from, if any.
    pub(crate) fn wait_header(&self) -> Option<WaitHeader> {
        let spent = least(self.text(Slot::Remaining)) == Some(0);
        if self.status.is_success() && !spent {
            return None;
        }
        if self.retry_after().is_some() {
            return Some(WaitHeader::RetryAfter);
        }
        let limited = spent || self.status == StatusCode::TOO_MANY_REQUESTS;
        (limited && seconds(self.text(Slot::Reset)).is_some()).then_some(WaitHeader::RateLimitReset)
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
        if self.hides(Slot::RetryAfter) {
            d.field("retry_after", &Redacted);
        } else if let Some(r) = self.retry_after() {
            d.field("retry_after", &r);
        }
        let limits = self.rate_limits();
        if limits != RateLimits::default() {
            d.field("rate_limits", &ShownLimits(self, &limits));
        }
        d.finish()
    }
}

impl FoundHeaders<'_> {
    /// The metadata: the values found, and `jti`, copied into one buffer (none hidden yet:
    /// see [`ResponseMeta::hide`]). A header value that is not text (what
    /// `HeaderValue::to_str` accepts) is kept as it is and reads as absent.
    pub(crate) fn keep(&self, jti: Option<&str>) -> ResponseMeta {
        self.copy(jti)
    }

    /// The values found, and `jti`, copied into one buffer.
    fn copy(&self, jti: Option<&str>) -> ResponseMeta {
        let mut meta = ResponseMeta {
            status: self.status,
            ..ResponseMeta::default()
        };
        let mut len = jti.map_or(0, str::len);
        for value in self.found.iter().flatten() {
            len += value.len();
        }
        // Offsets are `u32`: HTTP clients cap a response's headers far below 4 GiB; should
        // they not, the values are not kept.
        if u32::try_from(len).is_err() {
            return meta;
        }
        let mut values = Vec::with_capacity(len);
        for (i, value) in self.found.iter().enumerate() {
            if let Some(value) = value {
                values.extend_from_slice(value);
                meta.present |= 1 << i;
            }
            // At most `len`, checked above.
            meta.ends[i] = values.len() as u32;
        }
        if let Some(jti) = jti {
            values.extend_from_slice(jti.as_bytes());
            meta.present |= 1 << JTI;
        }
        meta.ends[JTI] = values.len() as u32;
        meta.values = values.into_boxed_slice();
        meta
    }
}

/// The header a server's wait is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitHeader {
    /// `Retry-After`.
    RetryAfter,
    /// `RateLimit-Reset`, on a 429 or with nothing remaining.
    RateLimitReset,
}

/// The kept headers: bits of `ResponseMeta::hidden` and `present`, and the order of
/// their values in `ResponseMeta::values`.
#[derive(Clone, Copy)]
enum Slot {
    RequestId,
    TrackId,
    Date,
    RetryAfter,
    MinuteLimit,
    MinuteRemaining,
    Limit,
    Remaining,
    Reset,
}

/// `Zuora-Request-Id`.
const ZUORA_REQUEST_ID: HeaderName = HeaderName::from_static("zuora-request-id");
/// `Zuora-Track-Id`.
const ZUORA_TRACK_ID: HeaderName = HeaderName::from_static("zuora-track-id");
/// `X-RateLimit-Limit-minute`.
const X_RATELIMIT_LIMIT_MINUTE: HeaderName = HeaderName::from_static("x-ratelimit-limit-minute");
/// `X-RateLimit-Remaining-minute`.
const X_RATELIMIT_REMAINING_MINUTE: HeaderName =
    HeaderName::from_static("x-ratelimit-remaining-minute");
/// `RateLimit-Limit`.
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`.
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`.
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

const REDACTED: &str = "[redacted]";

/// Prints `[redacted]`, unquoted.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// [`RateLimits`] as `Debug` shows it, a value that spells the secret as `[redacted]`.
struct ShownLimits<'a>(&'a ResponseMeta, &'a RateLimits);

impl fmt::Debug for ShownLimits<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (meta, l) = (self.0, self.1);
        let mut d = f.debug_struct("RateLimits");
        let mut field = |name: &str, slot: Slot, value: &dyn fmt::Debug| {
            if meta.hides(slot) {
                d.field(name, &Redacted);
            } else {
                d.field(name, value);
            }
        };
        field("minute_limit", Slot::MinuteLimit, &l.minute_limit);
        field(
            "minute_remaining",
            Slot::MinuteRemaining,
            &l.minute_remaining,
        );
        field("limit", Slot::Limit, &l.limit);
        field("limit_policy", Slot::Limit, &l.limit_policy);
        field("remaining", Slot::Remaining, &l.remaining);
        field("reset", Slot::Reset, &l.reset);
        d.finish()
    }
}

/// A header value as text, if `HeaderValue::to_str` would read it (visible US-ASCII,
/// spaces and tabs).
fn text(bytes: &[u8]) -> Option<&str> {
    if bytes
        .iter()
        .all(|&b| b.wrapping_sub(0x20) < 0x5f || b == b'\t')
    {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// The leading integer of a header such as `100` or `2250000, 50000;w=60`.
fn number(v: Option<&str>) -> Option<u64> {
    leading(v?).map(|(n, _)| n)
}

/// The smallest of the numbers a header lists, one per quota window
/// (`49990, 0;w=60, 2240000;w=3600`): the window closest to exhaustion. Items that hold no
/// number are skipped.
fn least(v: Option<&str>) -> Option<u64> {
    v?.split(',')
        .filter_map(|item| leading(item.trim()).map(|(n, _)| n))
        .min()
}

/// A number of seconds such as `RateLimit-Reset: 40` (the first item of a list, its
/// parameters ignored); a fraction rounds up (`2.5` is 3 s), so that the wait is never
/// shorter than stated.
fn seconds(v: Option<&str>) -> Option<Duration> {
    let (secs, rest) = leading(v?)?;
    let fraction = rest
        .strip_prefix('.')
        .is_some_and(|f| f.bytes().take_while(u8::is_ascii_digit).any(|b| b != b'0'));
    Some(Duration::from_secs(
        secs.saturating_add(u64::from(fraction)),
    ))
}

/// The integer `t` starts with (absurdly long ones saturate), and what follows it.
fn leading(t: &str) -> Option<(u64, &str)> {
    let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if end == 0 {
        return None;
    }
    Some((t[..end].parse().unwrap_or(u64::MAX), &t[end..]))
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
    /// `RateLimit-Remaining`; when it lists windows (`49990, 0;w=60`), the smallest: the
    /// window closest to exhaustion.
    pub remaining: Option<u64>,
    /// `RateLimit-Reset`: time until the quota window closest to exhaustion resets (whole
    /// seconds, a fraction rounded up).
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
        crate::http_date::parse(value).map(Self::At)
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
