//! What can go wrong when asking for a token, as one enum to match on.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::meta::{ResponseMeta, WaitHeader};

/// Why a token request failed. Every variant says what to do next; [`Error::is_transient`]
/// tells a retryable failure from one that needs a human.
///
/// `Display` is one sentence with the HTTP status code (the number: the reason phrases'
/// table would weigh 2 KB in a wasm module) and Zuora's request ID when known. No variant ever holds
/// the client secret or an access token: text taken from a response (body fields, the
/// excerpt, a quoted `token_type`, `Content-Type` or `Location`, the request and track
/// IDs) is scrubbed of both first, then capped in length, so that no cap can leave a piece
/// of a secret behind.
///
/// # What the scrubber hides
///
/// The value of any `access_token` field (found first, so that no secret can break the
/// pattern), and the client secret in any spelling a server or a proxy may echo: as is,
/// JSON-escaped (`=`, `\/`…, even escaped again), percent-encoded in either case, and
/// the secret as is, form-encoded or JSON-escaped written as hex, base64 or a list of byte
/// values. Each is replaced by `[redacted]`.
///
/// A secret of **one to three characters** (Zuora sets no minimum) is hidden only where a
/// spelling of it stands as a whole word — no letter or digit right before or after it —
/// so that `Bad client credentials` stays readable with the secret `e`, and request IDs
/// and dates stay whole with the secret `1`. An echo glued to other letters or digits
/// stays visible then; a secret that short can be guessed anyway: use a long one.
///
/// The values the library acts on are read before any of this and never change:
/// [`Error::retry_after`], [`Error::server_wait`], the response's `Date` and rate-limit
/// numbers (see [`ResponseMeta`](crate::ResponseMeta)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// HTTP 400, 401 or 403: Zuora refused the credentials or the request. Check the client
    /// ID, the secret, the environment and the entity ID. Permanent (see
    /// [`Error::is_transient`]).
    Rejected(ErrorResponse),
    /// HTTP 429: too many token requests (Zuora allows 100 a minute per IP address).
    /// Wait at least [`Error::server_wait`]: `Retry-After`, else `RateLimit-Reset`.
    RateLimited(ErrorResponse),
    /// HTTP 5xx: Zuora or a proxy in front of it failed. Usually temporary.
    Server(ErrorResponse),
    /// A response that is not a usable token: an unexpected status (3xx, 404…), HTML,
    /// an empty body, malformed JSON, a missing or invalid field, a token type other than
    /// `bearer`.
    UnexpectedResponse {
        /// What was wrong with it.
        problem: Problem,
        /// The response.
        response: ErrorResponse,
    },
    /// The request did not get a response: connection refused, timeout, TLS, reset, or a
    /// body over the size cap. Reported by the transport adapter.
    Transport(TransportError),
    /// The token lifecycle's own budget is spent: it already sent as many token requests in
    /// the last minute as it allows itself, to protect Zuora's per-IP limit.
    BudgetExhausted {
        /// The budget: requests per rolling minute.
        per_minute: u32,
    },
    /// Not sending another token request yet: Zuora's last answer asked to wait before the
    /// next one ([`Error::server_wait`]) and no token is usable meanwhile — a token whose
    /// answer said no token requests remain (`RateLimit-Remaining: 0`, `RateLimit-Reset`)
    /// was refused by the API or ran out, or a failure that asked to wait was followed by
    /// a token from elsewhere, refused in turn. The response is that answer's metadata,
    /// with no body. Transient: the next request goes once the wait is over.
    ServerWait(ErrorResponse),
}

impl Error {
    /// Whether trying again later, unchanged, may succeed. This is the one retry policy:
    /// the [`TokenLifecycle`](crate::TokenLifecycle) retries transient failures with
    /// backoff and stops at permanent ones (until a reset, a reconfiguration, or a slow
    /// re-probe when configured).
    ///
    /// | failure | transient? |
    /// |---|---|
    /// | 429 ([`RateLimited`](Error::RateLimited)), 5xx ([`Server`](Error::Server)) | yes |
    /// | the lifecycle's own budget ([`BudgetExhausted`](Error::BudgetExhausted)) | yes |
    /// | the wait Zuora's last answer asked for ([`ServerWait`](Error::ServerWait)) | yes |
    /// | connect, DNS, timeout, reset, network-or-CORS, other transport failures | yes |
    /// | an unexpected 408 Request Timeout or 425 Too Early | yes |
    /// | 400/401/403 ([`Rejected`](Error::Rejected)) | no: fix the credentials |
    /// | any other unexpected response: a redirect, 404, HTML, malformed JSON, a bad field | no: fix the base URL or the proxy |
    /// | TLS failures, a body over the size cap | no: fix the trust store or the endpoint |
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited(_)
            | Self::Server(_)
            | Self::BudgetExhausted { .. }
            | Self::ServerWait(_) => true,
            Self::Rejected(_) => false,
            Self::UnexpectedResponse { response, .. } => matches!(
                response.status(),
                StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY
            ),
            Self::Transport(t) => t.kind().is_transient(),
        }
    }

    /// The response, when there was one.
    pub fn response(&self) -> Option<&ErrorResponse> {
        match self {
            Self::Rejected(r) | Self::RateLimited(r) | Self::Server(r) | Self::ServerWait(r) => {
                Some(r)
            }
            Self::UnexpectedResponse { response, .. } => Some(response),
            Self::Transport(_) | Self::BudgetExhausted { .. } => None,
        }
    }

    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<StatusCode> {
        self.response().map(ErrorResponse::status)
    }

    /// `Zuora-Request-Id` of the response, when there was one: quote it to Zuora support.
    pub fn request_id(&self) -> Option<&str> {
        self.response()?.meta().request_id()
    }

    /// How long the server asked to wait with `Retry-After` (a date being resolved against
    /// the response's `Date` header). Zuora's 429s state their wait in `RateLimit-Reset`
    /// instead: [`Error::server_wait`] reads both.
    pub fn retry_after(&self) -> Option<Duration> {
        self.response()?.meta().retry_after_delay()
    }

    /// How long the server asked to wait before the next token request, as it stated it:
    /// `Retry-After` if present, else `RateLimit-Reset` on a 429 or when
    /// `RateLimit-Remaining` is 0 (see [`ResponseMeta::server_wait`]). The
    /// [`TokenLifecycle`](crate::TokenLifecycle) never sends a token request before it
    /// (capped by [`LifecycleConfig::with_max_retry_wait`](crate::LifecycleConfig::with_max_retry_wait),
    /// plus a little jitter).
    ///
    /// [`ResponseMeta::server_wait`]: crate::ResponseMeta::server_wait
    pub fn server_wait(&self) -> Option<Duration> {
        self.response()?.meta().server_wait()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(r) => {
                write!(
                    f,
                    "Zuora rejected the token request (HTTP {}",
                    r.status().as_u16()
                )?;
                r.detail().write_summary(f, ": ")?;
                f.write_str("); check the client ID, client secret, environment and entity ID")?;
            }
            Self::RateLimited(r) => {
                f.write_str("Zuora rate-limited the token request (HTTP 429")?;
                r.detail().write_summary(f, ": ")?;
                f.write_str(")")?;
                write_wait(f, r.meta())?;
            }
            Self::Server(r) => {
                write!(
                    f,
                    "Zuora's token endpoint failed (HTTP {}",
                    r.status().as_u16()
                )?;
                r.detail().write_summary(f, ": ")?;
                f.write_str("); this is usually temporary: retry with backoff")?;
            }
            Self::UnexpectedResponse { problem, response } => {
                write!(
                    f,
                    "unexpected response from the Zuora token endpoint (HTTP {}",
                    response.status().as_u16()
                )?;
                response.detail().write_summary(f, ": ")?;
                write!(f, "): {problem}")?;
            }
            Self::Transport(t) => write!(f, "{t}")?,
            Self::BudgetExhausted { per_minute } => write!(
                f,
                "not sending another token request: {per_minute} were already sent in the last minute \
                 (this client's own budget, which protects Zuora's limit of 100 per minute per IP address)"
            )?,
            Self::ServerWait(r) => {
                write!(
                    f,
                    "not sending another token request yet: Zuora's last answer (HTTP {}) ",
                    r.status().as_u16()
                )?;
                if r.meta().rate_limits().remaining == Some(0) {
                    f.write_str("said no token requests remain (RateLimit-Remaining: 0)")?;
                } else if r.status() == StatusCode::TOO_MANY_REQUESTS {
                    f.write_str("rate-limited the token request")?;
                } else {
                    f.write_str("asked to wait")?;
                }
                write_wait(f, r.meta())?;
            }
        }
        if let Some(id) = self.request_id() {
            write!(f, " [Zuora-Request-Id: {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `; retry after N s` with the server's wait, the header named when it is
/// `RateLimit-Reset`; `[redacted]` for a number that spells the client secret.
fn write_wait(f: &mut fmt::Formatter<'_>, meta: &ResponseMeta) -> fmt::Result {
    let named = match meta.wait_header() {
        Some(WaitHeader::RateLimitReset) => " (RateLimit-Reset)",
        _ => "",
    };
    match meta.server_wait() {
        // The server's number spells the client secret: not printed.
        Some(_) if meta.hides_wait() => write!(f, "; retry after [redacted] s{named}"),
        Some(d) => write!(f, "; retry after {} s{named}", ceil_secs(d)),
        None => f.write_str("; retry later with backoff"),
    }
}

/// Whole seconds, rounded up, for messages (no float formatting).
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

/// A failed response: its status, what its body said and its headers' metadata.
#[derive(Clone)]
pub struct ErrorResponse(Box<ErrorResponseInner>);

#[derive(Debug, Clone)]
struct ErrorResponseInner {
    meta: ResponseMeta,
    detail: ErrorDetail,
    excerpt: String,
}

impl ErrorResponse {
    pub(crate) fn new(meta: ResponseMeta, detail: ErrorDetail, excerpt: String) -> Self {
        Self(Box::new(ErrorResponseInner {
            meta,
            detail,
            excerpt,
        }))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.meta.status()
    }

    /// Headers: request ID, rate limits, `Retry-After`.
    pub fn meta(&self) -> &ResponseMeta {
        &self.0.meta
    }

    /// What the body said, when it was one of the known JSON error shapes.
    pub fn detail(&self) -> &ErrorDetail {
        &self.0.detail
    }

    /// The start of the body (at most [`ErrorResponse::EXCERPT_LEN`] characters), with any
    /// client secret or access token replaced by `[redacted]`; empty for an empty body.
    pub fn body_excerpt(&self) -> &str {
        &self.0.excerpt
    }

    /// The most characters [`ErrorResponse::body_excerpt`] keeps.
    pub const EXCERPT_LEN: usize = 256;
}

impl fmt::Debug for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorResponse")
            .field("meta", &self.0.meta)
            .field("detail", &self.0.detail)
            .field("body_excerpt", &self.0.excerpt)
            .finish()
    }
}

/// What a failed response's body said, parsed best-effort from the shapes met in the wild:
/// OAuth (`error`, `error_description`), gateway (`message`) and Zuora v1 (`reasons`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// OAuth `error`, e.g. `invalid_client`.
    pub error: Option<String>,
    /// OAuth `error_description`, e.g. `Bad client credentials`.
    pub error_description: Option<String>,
    /// Gateway `message`, e.g. `API rate limit exceeded`.
    pub message: Option<String>,
    /// Zuora v1 `reasons`.
    pub reasons: Vec<Reason>,
}

/// One entry of a Zuora v1 `reasons` array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reason {
    /// `code` (a number or a string in the wild; kept as text).
    pub code: Option<String>,
    /// `message`.
    pub message: Option<String>,
}

impl ErrorDetail {
    /// A machine-readable code: the OAuth `error`, else the first reason's `code`.
    pub fn code(&self) -> Option<&str> {
        self.error
            .as_deref()
            .or_else(|| self.reasons.iter().find_map(|r| r.code.as_deref()))
    }

    /// A human-readable message: `error_description`, `message`, or the first reason's.
    pub fn description(&self) -> Option<&str> {
        self.error_description
            .as_deref()
            .or(self.message.as_deref())
            .or_else(|| self.reasons.iter().find_map(|r| r.message.as_deref()))
    }

    /// Whether the body held none of the known fields.
    pub fn is_empty(&self) -> bool {
        self.code().is_none() && self.description().is_none()
    }

    /// Writes `{prefix}{code}: {description}` (or whichever part exists).
    fn write_summary(&self, f: &mut fmt::Formatter<'_>, prefix: &str) -> fmt::Result {
        match (self.code(), self.description()) {
            (Some(c), Some(d)) => write!(f, "{prefix}{c}: {d}"),
            (Some(s), None) | (None, Some(s)) => write!(f, "{prefix}{s}"),
            (None, None) => Ok(()),
        }
    }
}

/// What made a response unusable as a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A status that is neither success nor one of Zuora's error statuses (e.g. 404).
    Status,
    /// A redirect, which is never followed on the token call (it could carry the secret
    /// elsewhere).
    Redirect {
        /// The `Location` it pointed to, if readable.
        location: Option<String>,
    },
    /// The content type is not JSON (`None`: no `Content-Type` header).
    ContentType {
        /// The content type received.
        found: Option<String>,
    },
    /// The body is empty.
    EmptyBody,
    /// The body is not valid JSON, or not a JSON object.
    MalformedJson {
        /// 1-based line of the first error.
        line: usize,
        /// 1-based column of the first error.
        column: usize,
    },
    /// A required field is absent (or `null`).
    MissingField(&'static str),
    /// A field has the wrong type or an unacceptable value.
    InvalidField {
        /// The field.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// `token_type` is not `bearer`.
    TokenType(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status => f.write_str(
                "this status is not part of the token endpoint's contract (is the base URL right?)",
            ),
            Self::Redirect { location: Some(l) } => {
                write!(
                    f,
                    "a redirect to {l}, which is not followed (is the base URL right?)"
                )
            }
            Self::Redirect { location: None } => {
                f.write_str("a redirect, which is not followed (is the base URL right?)")
            }
            Self::ContentType { found: Some(t) } => {
                write!(
                    f,
                    "expected JSON but the content type is `{t}` (a proxy or a wrong base URL?)"
                )
            }
            Self::ContentType { found: None } => {
                f.write_str("expected JSON but the response has no content type")
            }
            Self::EmptyBody => f.write_str("the body is empty"),
            Self::MalformedJson { line, column } => {
                write!(
                    f,
                    "the body is not a JSON object (error at line {line}, column {column})"
                )
            }
            Self::MissingField(field) => write!(f, "the field `{field}` is missing"),
            Self::InvalidField { field, expected } => {
                write!(f, "the field `{field}` is invalid: expected {expected}")
            }
            Self::TokenType(t) => write!(f, "token_type is `{t}`, not `bearer`"),
        }
    }
}

/// A failure below HTTP, reported by a transport adapter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} while requesting a Zuora token{}", detail_suffix(detail))]
pub struct TransportError {
    kind: TransportErrorKind,
    detail: String,
}

impl TransportError {
    /// A failure of `kind`; `detail` is the underlying error's message (it must not hold
    /// secrets: pass I/O and TLS errors, never request bodies).
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// What kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The underlying error's message.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// `": detail"`, or nothing for an empty detail.
fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// The kinds of transport failure, the same for every adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (refused, unreachable).
    Connect,
    /// The host name did not resolve.
    Dns,
    /// The exchange took longer than the timeout.
    Timeout,
    /// TLS failed (handshake, certificate).
    Tls,
    /// The connection was closed or reset before the response was complete.
    Reset,
    /// The response body was larger than the adapter's cap.
    BodyTooLarge,
    /// `fetch` failed with a `TypeError`: a network failure or a CORS rejection (the browser
    /// does not say which).
    NetworkOrCors,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// Whether this failure may go away by itself.
    pub fn is_transient(self) -> bool {
        !matches!(self, Self::Tls | Self::BodyTooLarge)
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connection failed",
            Self::Dns => "DNS lookup failed",
            Self::Timeout => "timed out",
            Self::Tls => "TLS failed",
            Self::Reset => "connection closed before the response was complete",
            Self::BodyTooLarge => "response body too large",
            Self::NetworkOrCors => "network failure or CORS rejection",
            Self::Other => "transport error",
        })
    }
}
