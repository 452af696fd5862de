//! Sending one token request with the global `fetch`.

use http::{HeaderName, HeaderValue, StatusCode};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ReadableStream, ReadableStreamDefaultReader, ReadableStreamReadResult, RequestInit,
    RequestRedirect, Response, ResponseType,
};
use zuora_oauth_core::{TransportError, TransportErrorKind};

use crate::js::{Deadline, JsFailure, global_fetch};
use zuora_oauth_driver::{BoxFuture, Limits, Transport, TransportResult};

/// Sends token requests (and, for [`AuthorizedFetch`](crate::AuthorizedFetch), API calls)
/// with the runtime's global `fetch`: never follows redirects,
/// returns every status as a response, enforces a timeout and a body cap. Holds no Zuora
/// rules: it moves bytes.
///
/// - **Timeout** (default 30 s): one `AbortController` per request, aborted by a timer that
///   covers the whole exchange (headers and body); reported as
///   [`TransportErrorKind::Timeout`]. Dropping the future returned by
///   [`send`](Self::send) aborts the request too.
/// - **Body cap** (default 64 KiB): a `Content-Length` above the cap fails at once; the
///   body is then read as a stream and the read is cancelled as soon as the bytes received
///   exceed the cap ([`TransportErrorKind::BodyTooLarge`]). The cap counts the body as the
///   runtime hands it over (after any `Content-Encoding` is undone); the runtime may have
///   buffered one chunk beyond it. In a runtime whose `Response` has no `body` stream the
///   body is read whole with `arrayBuffer()` and its final length checked.
/// - **Headers**: a token response keeps the headers the core reads (its metadata:
///   `Zuora-Request-Id`, `Zuora-Track-Id`, `Date`, `Retry-After`, the rate-limit headers;
///   `Content-Type`, `Content-Length`, `Location`), named by constants so that a module that
///   only fetches tokens carries no header-name parser. [`AuthorizedFetch`](crate::AuthorizedFetch)
///   keeps every header the runtime lets it read.
/// - **Redirects**: `redirect: "manual"`. Node and edge runtimes return the 3xx response
///   itself (the core reports it as an unexpected redirect, a permanent failure). Browsers
///   return an "opaque-redirect" response with status 0 and no headers; it is returned as a
///   bare `302` without `Location`, so that the core reports the same permanent redirect
///   error as on native.
/// - **Errors**: a `TypeError` from `fetch` is a network failure or a CORS rejection
///   ([`TransportErrorKind::NetworkOrCors`]; browsers do not say which); an abort is a
///   timeout; a failure while reading the body is a reset; anything else is
///   [`TransportErrorKind::Other`] with the JavaScript error's message.
#[derive(Debug, Clone)]
pub struct FetchTransport {}

impl Default for FetchTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl Transport for FetchTransport {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        Box::pin(Self::exchange(request, limits, TokenHeaders))
    }
}

impl FetchTransport {
    /// The transport (it has no settings: the source's [`Limits`] bound each exchange).
    pub fn new() -> Self {
        Self {}
    }

    /// Sends `request` with the global `fetch` and reads the whole response, whatever its
    /// status; `names` says how the request's header names are spelled and which response
    /// headers are kept ([`AnyHeader`] or [`TokenHeaders`]: each caller's build links only
    /// its own).
    pub(crate) async fn exchange(
        request: http::Request<Vec<u8>>,
        limits: Limits,
        names: impl HeaderNames,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let ex = Exchange { limits };
        let (parts, body) = request.into_parts();
        let headers = web_sys::Headers::new().map_err(|e| other("new Headers()", &e))?;
        for (name, value) in &parts.headers {
            let Some(spelled) = names.sent(name) else {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the token request carries a header that this transport does not know",
                ));
            };
            // The core only builds visible-ASCII header values; an API call's header with
            // other bytes (obs-text) is refused, not re-encoded.
            let value = value.to_str().map_err(|_| {
                TransportError::new(
                    TransportErrorKind::Other,
                    format!("the request header `{spelled}` is not visible ASCII"),
                )
            })?;
            headers
                .append(spelled, value)
                .map_err(|e| other("Headers.append", &e))?;
        }
        let init = RequestInit::new();
        init.set_method(parts.method.as_str());
        init.set_headers(&headers);
        if !body.is_empty() {
            init.set_body(&Uint8Array::from(body.as_slice()));
        }
        init.set_redirect(RequestRedirect::Manual);
        let deadline =
            Deadline::start(limits.timeout()).map_err(|e| other("AbortController", &e))?;
        init.set_signal(Some(&deadline.controller().signal()));

        let promise = global_fetch(&parts.uri.to_string(), &init)
            .map_err(|e| other("the global fetch is not callable", &e))?;
        let response: Response = JsFuture::from(promise)
            .await
            .map_err(|e| ex.failed(&deadline, &e, Phase::Headers))?
            .unchecked_into();

        if response.type_() == ResponseType::Opaqueredirect {
            // A browser hides the redirect's status and target. Report it as what it is, a
            // redirect (the core's permanent `Problem::Redirect`, as on native), without a
            // location: a bare 302.
            deadline.abort();
            let mut refused = http::Response::new(Vec::new());
            *refused.status_mut() = StatusCode::FOUND;
            return Ok(refused);
        }
        let status = StatusCode::from_u16(response.status()).map_err(|_| {
            TransportError::new(
                TransportErrorKind::Other,
                format!(
                    "fetch returned a response with status {}, which is not an HTTP status",
                    response.status()
                ),
            )
        })?;
        let mut out = http::Response::new(Vec::new());
        *out.status_mut() = status;
        copy_headers(&response.headers(), out.headers_mut(), &names)?;

        if let Some(length) = out
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n > limits.max_body() as u64)
        {
            deadline.abort();
            return Err(ex.too_large(&format!("Content-Length is {length}")));
        }
        *out.body_mut() = ex.read_body(&response, &deadline).await?;
        deadline.finish();
        Ok(out)
    }
}

/// One exchange's limits, for the helpers that read the body and classify failures.
struct Exchange {
    limits: Limits,
}

impl Exchange {
    /// Reads the body as a stream, stopping as soon as it exceeds the cap.
    async fn read_body(
        &self,
        response: &Response,
        deadline: &Deadline,
    ) -> Result<Vec<u8>, TransportError> {
        let Some(stream) = response.body() else {
            return self.read_whole(response, deadline).await;
        };
        let reader = reader(&stream).map_err(|e| other("ReadableStream.getReader", &e))?;
        let mut body = Vec::new();
        loop {
            let chunk: ReadableStreamReadResult = JsFuture::from(reader.read())
                .await
                .map_err(|e| self.failed(deadline, &e, Phase::Body))?
                .unchecked_into();
            if chunk.get_done().unwrap_or(false) {
                return Ok(body);
            }
            let Some(bytes) = chunk.get_value().dyn_into::<Uint8Array>().ok() else {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the response body stream yielded something other than bytes",
                ));
            };
            let len = bytes.length() as usize;
            if body.len() + len > self.limits.max_body() {
                let _ = reader.cancel();
                deadline.abort();
                return Err(self.too_large(&format!(
                    "more than {} bytes arrived",
                    self.limits.max_body()
                )));
            }
            let start = body.len();
            body.resize(start + len, 0);
            bytes.copy_to(&mut body[start..]);
        }
    }

    /// No `body` stream (an old runtime, or a null body): `arrayBuffer()`, then the check.
    async fn read_whole(
        &self,
        response: &Response,
        deadline: &Deadline,
    ) -> Result<Vec<u8>, TransportError> {
        let promise = response
            .array_buffer()
            .map_err(|e| self.failed(deadline, &e, Phase::Body))?;
        let buffer = JsFuture::from(promise)
            .await
            .map_err(|e| self.failed(deadline, &e, Phase::Body))?;
        let bytes = Uint8Array::new(&buffer);
        if bytes.length() as usize > self.limits.max_body() {
            return Err(self.too_large(&format!("the body is {} bytes", bytes.length())));
        }
        Ok(bytes.to_vec())
    }

    fn too_large(&self, what: &str) -> TransportError {
        TransportError::new(
            TransportErrorKind::BodyTooLarge,
            format!("{what}, over the cap of {} bytes", self.limits.max_body()),
        )
    }

    /// Classifies a rejection of `fetch` or of a body read.
    fn failed(&self, deadline: &Deadline, error: &JsValue, phase: Phase) -> TransportError {
        let failure = JsFailure::from_value(error);
        if deadline.expired() || failure.is_abort() {
            return TransportError::new(
                TransportErrorKind::Timeout,
                format!(
                    "no complete response within {} ms ({})",
                    u64::try_from(self.limits.timeout().as_millis()).unwrap_or(u64::MAX),
                    failure.describe()
                ),
            );
        }
        let kind = match phase {
            Phase::Headers if failure.is_type_error() => TransportErrorKind::NetworkOrCors,
            Phase::Body if failure.is_type_error() => TransportErrorKind::Reset,
            _ => TransportErrorKind::Other,
        };
        TransportError::new(kind, failure.describe())
    }
}

/// Which part of the exchange failed.
#[derive(Clone, Copy)]
enum Phase {
    /// `fetch` itself: connecting, sending, CORS, receiving the headers.
    Headers,
    /// Reading the body.
    Body,
}

fn reader(stream: &ReadableStream) -> Result<ReadableStreamDefaultReader, JsValue> {
    ReadableStreamDefaultReader::new(stream)
}

/// A JS failure outside the exchange itself (a missing global, a refused argument).
fn other(what: &str, error: &JsValue) -> TransportError {
    TransportError::new(
        TransportErrorKind::Other,
        format!("{what}: {}", JsFailure::from_value(error).describe()),
    )
}

/// How an exchange spells the header names it sends and which response headers it keeps.
pub(crate) trait HeaderNames {
    /// `name` as `fetch` gets it; `None` for a name this exchange does not send.
    fn sent<'a>(&self, name: &'a HeaderName) -> Option<&'a str>;
    /// The response header `name` (as `fetch` gives it), if it is kept.
    fn kept(&self, name: &str) -> Option<HeaderName>;
}

/// An API call's headers: every name the caller sets, every response header the runtime
/// lets us read.
pub(crate) struct AnyHeader;

impl HeaderNames for AnyHeader {
    fn sent<'a>(&self, name: &'a HeaderName) -> Option<&'a str> {
        Some(name.as_str())
    }

    fn kept(&self, name: &str) -> Option<HeaderName> {
        HeaderName::from_bytes(name.as_bytes()).ok()
    }
}

/// A token request's headers, by constant names both ways, so that a module that only
/// fetches tokens carries no header-name table (`HeaderName::from_bytes`'s parser,
/// `HeaderName::as_str`'s list of standard names: about 4 KB).
pub(crate) struct TokenHeaders;

/// A header name as `fetch` spells it, with its `HeaderName` (built at compile time).
const fn named(spelled: &'static str) -> (&'static str, HeaderName) {
    (spelled, HeaderName::from_static(spelled))
}

/// Every header the core puts on a token request (`TokenRequest::to_http`).
const TOKEN_REQUEST_HEADERS: [(&str, HeaderName); 4] = [
    named("content-type"),
    named("accept"),
    named("zuora-track-id"),
    named("zuora-entity-ids"),
];

/// The response headers of a token request that the core reads (its response metadata, the
/// redirect target, the media type) or this transport does (the announced length), by
/// their lowercase names as `fetch` gives them.
const TOKEN_RESPONSE_HEADERS: [(&str, HeaderName); 12] = [
    named("content-type"),
    named("content-length"),
    named("location"),
    named("date"),
    named("retry-after"),
    named("zuora-request-id"),
    named("zuora-track-id"),
    named("x-ratelimit-limit-minute"),
    named("x-ratelimit-remaining-minute"),
    named("ratelimit-limit"),
    named("ratelimit-remaining"),
    named("ratelimit-reset"),
];

impl HeaderNames for TokenHeaders {
    fn sent<'a>(&self, name: &'a HeaderName) -> Option<&'a str> {
        TOKEN_REQUEST_HEADERS
            .iter()
            .find(|(_, known)| known == name)
            .map(|&(spelled, _)| spelled)
    }

    /// `fetch` gives names in lowercase; any other spelling is compared as it.
    fn kept(&self, name: &str) -> Option<HeaderName> {
        TOKEN_RESPONSE_HEADERS
            .iter()
            .find(|(spelled, _)| spelled.eq_ignore_ascii_case(name))
            .map(|(_, known)| known.clone())
    }
}

/// Copies the headers `names` keeps. Values are byte strings in JS (each character one byte),
/// copied byte for byte; repeated headers arrive already combined with `, ` as `fetch`
/// does.
fn copy_headers(
    from: &web_sys::Headers,
    to: &mut http::HeaderMap,
    names: &impl HeaderNames,
) -> Result<(), TransportError> {
    let entries = js_sys::try_iter(from).ok().flatten().ok_or_else(|| {
        TransportError::new(
            TransportErrorKind::Other,
            "the response headers are not iterable",
        )
    })?;
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let pair: js_sys::Array = entry.unchecked_into();
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            continue;
        };
        let Some(name) = names.kept(&name) else {
            continue;
        };
        let bytes: Option<Vec<u8>> = value.chars().map(|c| u8::try_from(c).ok()).collect();
        if let Some(Ok(value)) = bytes.as_deref().map(HeaderValue::from_bytes) {
            to.append(name, value);
        }
    }
    Ok(())
}
