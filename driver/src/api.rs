//! Authorizing Zuora API calls: the rules every middleware follows, written once.
//!
//! A middleware (tower, reqwest-middleware, ureq, your own) only tells the driver how to
//! read and write its request and response types ([`ApiTypes`]) and how to send one request
//! ([`Exchange`] or [`BlockingExchange`]); [`send`] and [`send_blocking`] do the rest:
//!
//! 1. **Which requests get the token**: only those to the token's environment
//!    ([`Environment::covers`](zuora_oauth_core::Environment::covers): the scheme, host,
//!    port and path prefix of its base URL, read on every call, so a `reconfigure` moves
//!    it), the rule [`TokenSource::authorize`] follows too, and only when the caller set no
//!    `Authorization` of its own. They get `Authorization: Bearer …` and the token's
//!    `Zuora-Entity-Ids` ([`Token::authorize`]), and a configured `Zuora-Track-Id` unless
//!    they carry one. Any other request goes out untouched.
//! 2. **After a 401 from the API**: the token that was used (its [`Generation`]) is
//!    invalidated, a new one is fetched through the source's single flight (ten calls
//!    rejected together cause one token request) and the call is sent again **once**, if
//!    its body can be replayed. The answer carries [`Replayed`]. A body that cannot be
//!    replayed gets the 401 back, marked [`NotRetried`]; so does a call whose new token
//!    could not be fetched. A second 401 is returned as it is.
//! 3. Every other answer, 429 and 5xx included, is returned as it came, with Zuora's
//!    `Zuora-Request-Id`; it never causes a token request.
//!
//! With the `tracing` feature each authorized call runs in a `zuora_api_call` span whose
//! `generation` field names the token used (never the token itself).

use std::future::Future;
use std::{error::Error as StdError, fmt};

use http::header::AUTHORIZATION;
use http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use zuora_oauth_core::{Destination, Generation, TrackId, ZUORA_TRACK_ID};

use crate::credentials::Credentials;
use crate::source::Source;
use crate::{TokenError, TokenSource};

/// Settings every API middleware shares.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    track_id: Option<TrackId>,
}

impl ApiOptions {
    /// Sends `Zuora-Track-Id: <track_id>` on every call to the token's environment that
    /// does not carry one already (Zuora echoes it, and support can find the calls by it).
    pub fn track_id(mut self, track_id: TrackId) -> Self {
        self.track_id = Some(track_id);
        self
    }
}

/// A copy of `request` (method, URI, version, headers, extensions) with `body`: the replay
/// of an `http::Request` whose body could be copied.
#[doc(hidden)]
pub fn copy_request<A, B>(request: &http::Request<A>, body: B) -> http::Request<B> {
    let mut copy = http::Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    copy
}

/// On a response to a call that was sent again after the API answered 401.
#[derive(Debug, Clone)]
pub struct Replayed {
    rejected: Generation,
    request_id: Option<HeaderValue>,
}

impl Replayed {
    /// The token the API refused (now invalidated).
    pub fn rejected(&self) -> Generation {
        self.rejected
    }

    /// The `Zuora-Request-Id` of the 401, for Zuora support.
    pub fn rejected_request_id(&self) -> Option<&str> {
        self.request_id.as_ref().and_then(|v| v.to_str().ok())
    }
}

/// On a 401 from the API that was not sent again; the token was invalidated all the same,
/// so the next call gets a new one.
#[derive(Debug, Clone)]
pub struct NotRetried {
    generation: Generation,
    reason: NotRetriedReason,
}

/// Why a call that got 401 was not sent again.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NotRetriedReason {
    /// Its body was a stream that was consumed by the first attempt.
    BodyNotReplayable,
    /// No new token could be fetched.
    RefreshFailed(TokenError),
}

impl NotRetried {
    /// The token the API refused (now invalidated).
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// Why the call was not sent again.
    pub fn reason(&self) -> &NotRetriedReason {
        &self.reason
    }
}

/// Why an authorized API call produced no response.
#[derive(Debug)]
pub enum ApiError<E> {
    /// No token could be had for the call; it was not sent.
    Token(TokenError),
    /// Sending failed: the middleware's own error.
    Send(E),
}

impl<E: fmt::Display> fmt::Display for ApiError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(e) => write!(f, "no Zuora token for the API call: {e}"),
            Self::Send(e) => e.fmt(f),
        }
    }
}

impl<E: StdError + 'static> StdError for ApiError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Token(e) => Some(e),
            Self::Send(e) => Some(e),
        }
    }
}

/// How a middleware's request and response types are read and written.
pub trait ApiTypes {
    /// The request type.
    type Request;
    /// The response type.
    type Response;

    /// Where the request goes; `None` (a relative URI) never gets the token.
    fn destination(request: &Self::Request) -> Option<Destination<'_>>;
    /// The request's headers.
    fn headers_mut(request: &mut Self::Request) -> &mut HeaderMap;
    /// A copy of the request to send again after a 401, or `None` if its body cannot be
    /// replayed. Called once per call, before the first attempt; it may change how
    /// `request` holds its body (read it into memory, say), not what it sends.
    fn try_clone(&mut self, request: &mut Self::Request) -> Option<Self::Request>;
    /// The response's status.
    fn status(response: &Self::Response) -> StatusCode;
    /// The response's headers, if it has any to read.
    fn response_headers(response: &Self::Response) -> Option<&HeaderMap>;
    /// Where the markers ([`Replayed`], [`NotRetried`]) go, if anywhere.
    fn extensions_mut(response: &mut Self::Response) -> Option<&mut Extensions>;
}

/// [`ApiTypes`] for `http::Request` and `http::Response` (as the tower layer and the wasm
/// adapter's calls use): all of it but how a request body is copied for the replay.
pub trait HttpApiTypes {
    /// The request's body.
    type RequestBody;
    /// The response's body.
    type ResponseBody;
    /// A copy of `body` to send again after a 401, or `None` if it cannot be replayed (see
    /// [`ApiTypes::try_clone`]).
    fn try_clone_body(&mut self, body: &mut Self::RequestBody) -> Option<Self::RequestBody>;
}

impl<T: HttpApiTypes> ApiTypes for T {
    type Request = http::Request<T::RequestBody>;
    type Response = http::Response<T::ResponseBody>;

    fn destination(request: &Self::Request) -> Option<Destination<'_>> {
        Destination::of_uri(request.uri())
    }

    fn headers_mut(request: &mut Self::Request) -> &mut HeaderMap {
        request.headers_mut()
    }

    fn try_clone(&mut self, request: &mut Self::Request) -> Option<Self::Request> {
        let body = self.try_clone_body(request.body_mut())?;
        Some(copy_request(request, body))
    }

    fn status(response: &Self::Response) -> StatusCode {
        response.status()
    }

    fn response_headers(response: &Self::Response) -> Option<&HeaderMap> {
        Some(response.headers())
    }

    fn extensions_mut(response: &mut Self::Response) -> Option<&mut Extensions> {
        Some(response.extensions_mut())
    }
}

/// Sends one request, asynchronously.
pub trait Exchange: ApiTypes {
    /// Why sending failed.
    type Error;
    /// Sends `request` (called at most twice per call).
    fn send(
        &mut self,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, Self::Error>>;
}

/// Sends one request, blocking.
pub trait BlockingExchange: ApiTypes {
    /// Why sending failed.
    type Error;
    /// Sends `request` (called at most twice per call).
    fn send(&mut self, request: Self::Request) -> Result<Self::Response, Self::Error>;
}

/// What the driver of an [`ApiCall`] does next.
enum Step<Q, P> {
    /// Get a valid token (through the single flight) and hand it to [`ApiCall::token`].
    Token,
    /// Report this token to the source: the API refused it.
    Invalidate(Generation),
    /// Send this request and hand the answer to [`ApiCall::received`].
    Send(Q),
    /// The answer for the caller.
    Done(P),
}

/// One API call: the rules as a small machine that does no I/O, driven by [`send`] and
/// [`send_blocking`].
struct ApiCall<X: ApiTypes> {
    /// What to send next (once it has a token, if it needs one).
    request: Option<X::Request>,
    needs_token: bool,
    /// What a 401 sends again, copied before the first attempt.
    copy: Option<X::Request>,
    /// The token of the last attempt; `None` for a call that goes out untouched.
    generation: Option<Generation>,
    /// The 401 being replayed, returned if no new token can be had.
    rejected: Option<(X::Response, Generation)>,
    replayed: bool,
    invalidate: Option<Generation>,
    done: Option<X::Response>,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl<X: ApiTypes> ApiCall<X> {
    /// Decides whether `request` gets the token (and the track id); `zuora`: whether it
    /// goes to the token's environment.
    fn new(options: &ApiOptions, zuora: bool, mut request: X::Request) -> Self {
        let headers = X::headers_mut(&mut request);
        if let (true, Some(track_id)) = (zuora, &options.track_id)
            && !headers.contains_key(ZUORA_TRACK_ID)
            && let Ok(value) = HeaderValue::from_str(track_id.as_str())
        {
            headers.insert(ZUORA_TRACK_ID, value);
        }
        let needs_token = zuora && !headers.contains_key(AUTHORIZATION);
        Self {
            request: Some(request),
            needs_token,
            copy: None,
            generation: None,
            rejected: None,
            replayed: false,
            invalidate: None,
            done: None,
            #[cfg(feature = "tracing")]
            span: if needs_token {
                tracing::debug_span!(target: "zuora_oauth", "zuora_api_call", generation = tracing::field::Empty, replayed = false)
            } else {
                tracing::Span::none()
            },
        }
    }

    fn poll(&mut self) -> Step<X::Request, X::Response> {
        if let Some(generation) = self.invalidate.take() {
            return Step::Invalidate(generation);
        }
        if let Some(response) = self.done.take() {
            return Step::Done(response);
        }
        if self.needs_token {
            return Step::Token;
        }
        Step::Send(self.request.take().expect("a request to send"))
    }

    /// The outcome of [`Step::Token`]. A failure before the first attempt is the caller's
    /// error; before a replay, the 401 is returned, marked.
    fn token(
        &mut self,
        exchange: &mut X,
        token: Result<Credentials, TokenError>,
    ) -> Result<(), TokenError> {
        let handle = match token {
            Ok(handle) => handle,
            Err(error) => {
                let Some((mut rejected, generation)) = self.rejected.take() else {
                    return Err(error);
                };
                event!(debug, parent: &self.span, %error, "no new token: the 401 is returned");
                let reason = NotRetriedReason::RefreshFailed(error);
                mark(
                    X::extensions_mut(&mut rejected),
                    NotRetried { generation, reason },
                );
                self.done = Some(rejected);
                return Ok(());
            }
        };
        self.needs_token = false;
        self.generation = Some(handle.generation());
        #[cfg(feature = "tracing")]
        self.span.record("generation", handle.generation().get());
        let request = self
            .request
            .as_mut()
            .expect("a request waits for the token");
        handle.apply(X::headers_mut(request));
        if !self.replayed {
            self.copy = exchange.try_clone(request);
        }
        Ok(())
    }

    /// The answer to [`Step::Send`].
    fn received(&mut self, mut response: X::Response) {
        let status = X::status(&response);
        match self.generation {
            Some(generation) if status == StatusCode::UNAUTHORIZED && !self.replayed => {
                self.invalidate = Some(generation);
                match self.copy.take() {
                    Some(copy) => {
                        event!(debug, parent: &self.span, "the API answered 401: new token, one replay");
                        #[cfg(feature = "tracing")]
                        self.span.record("replayed", true);
                        (self.request, self.needs_token, self.replayed) = (Some(copy), true, true);
                        self.rejected = Some((response, generation));
                    }
                    None => {
                        event!(debug, parent: &self.span, "the API answered 401; the body cannot be replayed");
                        let reason = NotRetriedReason::BodyNotReplayable;
                        mark(
                            X::extensions_mut(&mut response),
                            NotRetried { generation, reason },
                        );
                        self.done = Some(response);
                    }
                }
            }
            _ => {
                if let Some((rejected, generation)) = self.rejected.take() {
                    let request_id = X::response_headers(&rejected)
                        .and_then(|h| h.get(ZUORA_REQUEST_ID))
                        .cloned();
                    mark(
                        X::extensions_mut(&mut response),
                        Replayed {
                            rejected: generation,
                            request_id,
                        },
                    );
                }
                event!(trace, parent: &self.span, status = status.as_u16(), "API call answered");
                self.done = Some(response);
            }
        }
    }
}

fn mark<T: Clone + Send + Sync + 'static>(extensions: Option<&mut Extensions>, marker: T) {
    if let Some(extensions) = extensions {
        extensions.insert(marker);
    }
}

const ZUORA_REQUEST_ID: &str = "zuora-request-id";

/// Sends one API call through `exchange` (a middleware's next step), authorized with
/// `source`'s token by the rules of [this module](self): the token only to its environment,
/// one replay after a 401 through the single flight.
pub async fn send<X: Exchange>(
    source: &TokenSource,
    options: &ApiOptions,
    request: X::Request,
    exchange: &mut X,
) -> Result<X::Response, ApiError<X::Error>> {
    call(source.source(), options, request, exchange).await
}

/// Sends one API call through `exchange`, blocking; see [`send`]. The same rules, run on
/// this thread.
#[cfg(not(target_arch = "wasm32"))]
pub fn send_blocking<X: BlockingExchange>(
    source: &crate::BlockingTokenSource,
    options: &ApiOptions,
    request: X::Request,
    exchange: &mut X,
) -> Result<X::Response, ApiError<X::Error>> {
    let mut exchange = Blocking(exchange);
    crate::runtime::threads::block_on(call(source.source(), options, request, &mut exchange))
}

/// A [`BlockingExchange`] as an [`Exchange`] whose sends complete when first polled (on
/// the thread that blocks for the call).
#[cfg(not(target_arch = "wasm32"))]
struct Blocking<'a, X>(&'a mut X);

#[cfg(not(target_arch = "wasm32"))]
impl<X: BlockingExchange> ApiTypes for Blocking<'_, X> {
    type Request = X::Request;
    type Response = X::Response;

    fn destination(request: &Self::Request) -> Option<Destination<'_>> {
        X::destination(request)
    }
    fn headers_mut(request: &mut Self::Request) -> &mut HeaderMap {
        X::headers_mut(request)
    }
    fn try_clone(&mut self, request: &mut Self::Request) -> Option<Self::Request> {
        self.0.try_clone(request)
    }
    fn status(response: &Self::Response) -> StatusCode {
        X::status(response)
    }
    fn response_headers(response: &Self::Response) -> Option<&HeaderMap> {
        X::response_headers(response)
    }
    fn extensions_mut(response: &mut Self::Response) -> Option<&mut Extensions> {
        X::extensions_mut(response)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl<X: BlockingExchange> Exchange for Blocking<'_, X> {
    type Error = X::Error;
    async fn send(&mut self, request: Self::Request) -> Result<Self::Response, Self::Error> {
        self.0.send(request)
    }
}

/// One API call by the rules, whichever front holds `source`.
async fn call<X: Exchange>(
    source: &Source,
    options: &ApiOptions,
    request: X::Request,
    exchange: &mut X,
) -> Result<X::Response, ApiError<X::Error>> {
    let zuora = X::destination(&request).is_some_and(|d| source.covers(&d));
    let mut call = ApiCall::<X>::new(options, zuora, request);
    #[cfg(feature = "tracing")]
    let span = call.span.clone();
    let run = async move {
        loop {
            match call.poll() {
                Step::Token => {
                    let token = source.credentials().await;
                    call.token(exchange, token).map_err(ApiError::Token)?;
                }
                Step::Invalidate(generation) => drop(source.invalidate(generation)),
                Step::Send(request) => {
                    call.received(exchange.send(request).await.map_err(ApiError::Send)?);
                }
                Step::Done(response) => return Ok(response),
            }
        }
    };
    #[cfg(feature = "tracing")]
    let run = tracing::Instrument::instrument(run, span);
    run.await
}
