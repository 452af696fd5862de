//! Faults applied to an endpoint's answer: the parts every endpoint shares (delays, cut
//! bodies, dropped connections, scripted answers) and the hooks where the token endpoint
//! and the API differ.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use crate::JSON_CONTENT_TYPE;
use crate::body::{ScriptedBody, Step};
use crate::fault::{Fault, OversizedFill, RetryAfter, StallEnd, TokenFields};
use crate::handler::{Answer, Plain};

const X_LIMIT_MINUTE: HeaderName = HeaderName::from_static("x-ratelimit-limit-minute");
const X_REMAINING_MINUTE: HeaderName = HeaderName::from_static("x-ratelimit-remaining-minute");
const RL_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RL_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RL_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// The rate-limit headers of both generations, as Zuora sends them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateHeaders {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Window length, seconds.
    pub(crate) window: u64,
    /// Seconds until the window resets.
    pub(crate) reset: u64,
}

impl RateHeaders {
    /// Adds the headers `plain` does not have yet.
    pub(crate) fn add_to(&self, plain: &mut Plain) {
        let limit = self.limit.to_string();
        let remaining = self.remaining.to_string();
        let pairs = [
            (X_LIMIT_MINUTE, limit.clone()),
            (X_REMAINING_MINUTE, remaining.clone()),
            (RL_LIMIT, format!("{limit}, {limit};w={}", self.window)),
            (RL_REMAINING, remaining),
            (RL_RESET, self.reset.to_string()),
        ];
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(&value) {
                plain.headers.entry(name).or_insert(v);
            }
        }
    }
}

/// A 429 with Zuora's gateway body, the given `Retry-After` and these rate-limit headers.
pub(crate) fn too_many_requests(retry_after: &RetryAfter, rate: RateHeaders) -> Plain {
    let mut plain = Plain::json(
        StatusCode::TOO_MANY_REQUESTS,
        &serde_json::json!({"message": "API rate limit exceeded"}),
    );
    match retry_after {
        RetryAfter::Seconds(s) => plain = plain.with_header(header::RETRY_AFTER, &s.to_string()),
        RetryAfter::HttpDateIn(s) => {
            let at = SystemTime::now() + Duration::from_secs(*s);
            plain = plain.with_header(header::RETRY_AFTER, &httpdate::fmt_http_date(at));
        }
        RetryAfter::Absent => {}
    }
    rate.add_to(&mut plain);
    plain
}

/// A 429 with Zuora's gateway body and only the `RateLimit-*` headers: `limit` in a 60 s
/// window, none remaining, the quota resetting in `reset` seconds.
pub(crate) fn reset_only(limit: u32, reset: u64) -> Plain {
    Plain::json(
        StatusCode::TOO_MANY_REQUESTS,
        &serde_json::json!({"message": "API rate limit exceeded"}),
    )
    .with_header(RL_LIMIT, &format!("{limit}, {limit};w=60"))
    .with_header(RL_REMAINING, "0")
    .with_header(RL_RESET, &reset.to_string())
}

/// Where the token endpoint and the API answer differently.
pub(crate) trait Endpoint {
    /// The answer without faults.
    fn normal(&self) -> Plain;
    /// The normal answer with a successful body reshaped ([`Fault::TokenFields`]) or sent
    /// with another content type ([`Fault::WrongContentType`]).
    fn reshaped(&self, fields: &TokenFields, content_type: &'static str) -> Plain;
    /// The answer to [`Fault::RateLimited`].
    fn rate_limited(&self, retry_after: &RetryAfter) -> Plain;
    /// The limit a 429 of this endpoint shows (`RateLimit-Limit`).
    fn limit(&self) -> u32;
    /// Adds the endpoint's usual headers to a scripted answer.
    fn usual_headers(&self, plain: &mut Plain);
    /// A 200 body of cut-off JSON.
    fn malformed_json(&self) -> String;
    /// Head and tail of a valid JSON body that a `"padding"` string fills up.
    fn padded_json(&self) -> (String, String);
}

/// The answer to a request that took `fault`.
pub(crate) async fn apply(endpoint: &impl Endpoint, fault: Fault) -> Answer {
    let plain = match fault {
        Fault::Respond {
            status,
            headers,
            body,
        } => {
            let mut plain = Plain {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                headers: HeaderMap::new(),
                body: Bytes::from(body),
            };
            for (name, value) in headers {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    plain.headers.append(n, v);
                }
            }
            endpoint.usual_headers(&mut plain);
            plain
        }
        Fault::RateLimited { retry_after } => endpoint.rate_limited(&retry_after),
        Fault::RateLimitReset { reset_secs } => reset_only(endpoint.limit(), reset_secs),
        Fault::DelayHeaders { delay } => {
            tokio::time::sleep(delay).await;
            endpoint.normal()
        }
        Fault::StallBody {
            sent_bytes,
            stall,
            then,
        } => {
            let tail = match then {
                StallEnd::Finish => None,
                StallEnd::Close => Some(Step::Abort),
            };
            return Answer::Http(cut(endpoint.normal(), sent_bytes, Some(stall), tail));
        }
        Fault::CloseConnection => return Answer::Drop { reset: false },
        Fault::ResetConnection => return Answer::Drop { reset: true },
        Fault::CloseMidBody { sent_bytes } => {
            return Answer::Http(cut(endpoint.normal(), sent_bytes, None, Some(Step::Abort)));
        }
        Fault::OversizedBody {
            bytes,
            fill,
            chunked,
        } => return Answer::Http(oversized(endpoint, bytes, fill, chunked)),
        Fault::Redirect { status, location } => {
            let mut plain = Plain::empty(StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND))
                .with_header(header::LOCATION, &location);
            endpoint.usual_headers(&mut plain);
            plain
        }
        Fault::MalformedJson => {
            let mut plain =
                Plain::new(StatusCode::OK, JSON_CONTENT_TYPE, endpoint.malformed_json());
            endpoint.usual_headers(&mut plain);
            plain
        }
        Fault::WrongContentType => {
            endpoint.reshaped(&TokenFields::default(), "text/plain;charset=utf-8")
        }
        Fault::TokenFields(fields) => endpoint.reshaped(&fields, JSON_CONTENT_TYPE),
    };
    plain.into()
}

fn oversized(
    endpoint: &impl Endpoint,
    bytes: usize,
    fill: OversizedFill,
    chunked: bool,
) -> Response<ScriptedBody> {
    let (prefix, suffix) = match fill {
        OversizedFill::ValidJson => endpoint.padded_json(),
        OversizedFill::Padding => (r#"{"padding":""#.to_owned(), String::new()),
    };
    let pad = bytes.saturating_sub(prefix.len() + suffix.len());
    let mut body = Vec::with_capacity(prefix.len() + pad + suffix.len());
    body.extend_from_slice(prefix.as_bytes());
    body.resize(prefix.len() + pad, b'x');
    body.extend_from_slice(suffix.as_bytes());
    body.truncate(bytes);
    let body = Bytes::from(body);
    const CHUNK: usize = 64 * 1024;
    let steps = (0..body.len())
        .step_by(CHUNK)
        .map(|i| Step::Data(body.slice(i..(i + CHUNK).min(body.len()))));
    let mut r = Response::new(ScriptedBody::scripted(steps.collect::<Vec<_>>()));
    let mut plain = Plain::new(StatusCode::OK, JSON_CONTENT_TYPE, Bytes::new());
    endpoint.usual_headers(&mut plain);
    if !chunked {
        plain
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    *r.headers_mut() = plain.headers;
    r
}

/// `plain` with its full `Content-Length` but a body sent as: the first `sent_bytes` (default
/// half), an optional pause, then the rest (`tail` `None`) or `tail` instead of the rest.
fn cut(
    plain: Plain,
    sent_bytes: Option<usize>,
    pause: Option<Duration>,
    tail: Option<Step>,
) -> Response<ScriptedBody> {
    let len = plain.body.len();
    let n = sent_bytes.unwrap_or(len / 2).min(len);
    let mut steps = Vec::new();
    if n > 0 {
        steps.push(Step::Data(plain.body.slice(..n)));
    }
    if let Some(d) = pause {
        steps.push(Step::Pause(d));
    }
    match tail {
        None if n < len => steps.push(Step::Data(plain.body.slice(n..))),
        None => {}
        Some(step) => {
            // Let hyper flush the headers and the bytes so far before the step (an abort
            // would otherwise drop them unsent).
            steps.push(Step::Yield);
            steps.push(step);
        }
    }
    let mut r = Response::new(ScriptedBody::scripted(steps));
    *r.status_mut() = plain.status;
    *r.headers_mut() = plain.headers;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}
