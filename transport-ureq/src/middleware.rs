//! A ureq middleware that authorizes Zuora API calls: the driver's rules (`api` module)
//! on ureq's request and response types.

use std::fmt;
use std::io::{self, Read};
use std::marker::PhantomData;

use http::header::CONTENT_LENGTH;
use http::request::Parts;
use http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use ureq::config::ConfigBuilder;
use ureq::middleware::{Middleware, MiddlewareNext};
use ureq::typestate::AgentScope;
use ureq::{Agent, Body, SendBody};
use zuora_oauth_core::Destination;
use zuora_oauth_driver::api::{
    ApiError, ApiOptions, ApiTypes, BlockingAuthorizer, BlockingExchange,
};
use zuora_oauth_driver::internal::copy_request;

/// How much of a request body is read into memory so that the call can be sent again
/// after a 401 (1 MiB); a longer body is streamed and not replayed.
pub const DEFAULT_REPLAY_LIMIT: u64 = 1024 * 1024;

/// Authorizes the Zuora API calls of a ureq [`Agent`] with a token source's token, or with
/// each call's tenant's token from a
/// [`BlockingTokenSources`](zuora_oauth_driver::BlockingTokenSources) (the
/// [`Tenant`](zuora_oauth_driver::Tenant) in the call's extensions, removed before the call
/// goes on; a call without one fails before anything is sent).
///
/// On every call to the token's environment (scheme, host, port and path of its base URL) that
/// carries no `Authorization` of its own, it sets `Authorization: Bearer …` and the token's
/// `Zuora-Entity-Ids`, and the headers of its [`ApiOptions`] (`Zuora-Track-Id`, the Multi-Org
/// `Zuora-Org-Ids` and `Zuora-Working-Org`, `Zuora-Version`) unless the call sets them. When the
/// API answers 401, the token is invalidated, a new one is fetched through the source's
/// single flight, and the call is sent again once: the answer then carries
/// [`Replayed`](zuora_oauth_driver::api::Replayed). Calls to other hosts go out
/// untouched; 429 and 5xx answers come back as they are. The rules are the driver's
/// ([`zuora_oauth_driver::api`]); this type only adapts ureq's types.
///
/// Two things are particular to ureq:
///
/// - **One configuration, two agents.** ureq runs the rest of a middleware chain once per
///   call, so a replay cannot go down the chain again: it is sent with a second agent made
///   from the same configuration (its own connection pool is used only for replays).
///   [`agent`](Self::agent) builds both from your configuration; you hold one agent.
/// - **Bodies.** ureq's bodies cannot be copied, so the body of an authorized call is
///   read into memory, up to [`with_replay_limit`](Self::with_replay_limit), and sent from
///   there (with a `Content-Length`). A longer body is streamed on and not replayed: its
///   401 comes back marked [`NotRetried`](zuora_oauth_driver::api::NotRetried).
///
/// With `http_status_as_error` on (ureq's default) a 401 comes back as
/// `Err(ureq::Error::StatusCode(401))`, without markers; turn it off to see them.
/// A token that cannot be had (or a call that names no tenant, for a set) is
/// `ureq::Error::Other` holding the [`TokenError`](zuora_oauth_driver::TokenError).
///
/// ```
/// use ureq::Agent;
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_driver::BlockingTokenSource;
/// use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};
/// use zuora_oauth_ureq::{AuthorizeMiddleware, UreqTransport};
///
/// let zuora = MockServer::start()?; // a mock Zuora on 127.0.0.1
/// let source = BlockingTokenSource::new(
///     TokenRequest::new(
///         Environment::custom(&zuora.base_url())?,
///         ClientId::new(DEMO_CLIENT_ID)?,
///         ClientSecret::new(DEMO_CLIENT_SECRET)?,
///     ),
///     UreqTransport::new(),
/// );
/// let agent = AuthorizeMiddleware::new(source)
///     .agent(|| Agent::config_builder().http_status_as_error(false));
///
/// let mut response = agent.get(zuora.api_url("/v1/accounts/A00000001")).call()?;
/// assert_eq!(response.status(), 200);
/// assert!(response.body_mut().read_to_string()?.contains("A00000001"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// `Debug` shows the settings, never the replay agent (whose proxy may hold credentials).
#[derive(Clone)]
pub struct AuthorizeMiddleware {
    authorizer: BlockingAuthorizer,
    replay_limit: u64,
}

impl AuthorizeMiddleware {
    /// Authorizes calls as `authorizer` says: a
    /// [`BlockingTokenSource`](zuora_oauth_driver::BlockingTokenSource)'s token, the token of
    /// each call's tenant in a
    /// [`BlockingTokenSources`](zuora_oauth_driver::BlockingTokenSources), or a
    /// [`BlockingAuthorizer`] with the headers of every call.
    pub fn new(authorizer: impl Into<BlockingAuthorizer>) -> Self {
        Self {
            authorizer: authorizer.into(),
            replay_limit: DEFAULT_REPLAY_LIMIT,
        }
    }

    /// The headers of every call to the token's environment ([`ApiOptions`]:
    /// `Zuora-Track-Id`, `Zuora-Org-Ids`, `Zuora-Working-Org`, `Zuora-Version`). One call
    /// overrides them with an `ApiOptions` of its own in its extensions
    /// (`http::Request::extensions_mut`).
    pub fn with_options(mut self, options: ApiOptions) -> Self {
        self.authorizer = self.authorizer.with_options(options);
        self
    }

    /// How many body bytes are kept in memory to replay a call (default
    /// [`DEFAULT_REPLAY_LIMIT`]); a longer body is not replayed.
    pub fn with_replay_limit(mut self, bytes: u64) -> Self {
        self.replay_limit = bytes;
        self
    }

    /// An agent configured by `config` (called twice: for the agent, and for the agent that
    /// sends replays), with this middleware last in its chain.
    pub fn agent(self, config: impl Fn() -> ConfigBuilder<AgentScope>) -> Agent {
        let replay = config().build().new_agent();
        config()
            .middleware(Authorize {
                middleware: self,
                replay,
            })
            .build()
            .new_agent()
    }
}

impl fmt::Debug for AuthorizeMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeMiddleware")
            .field("authorizer", &self.authorizer)
            .field("replay_limit", &self.replay_limit)
            .finish()
    }
}

/// The middleware in an agent's chain, with its replay agent.
struct Authorize {
    middleware: AuthorizeMiddleware,
    replay: Agent,
}

impl Middleware for Authorize {
    fn handle(
        &self,
        request: http::Request<SendBody>,
        next: MiddlewareNext,
    ) -> Result<http::Response<Body>, ureq::Error> {
        let AuthorizeMiddleware {
            authorizer,
            replay_limit,
        } = &self.middleware;
        let mut next = Next {
            next: Some(next),
            replay: &self.replay,
            limit: *replay_limit,
            body: PhantomData,
        };
        let request = request.map(Payload::Unread);
        match authorizer.send(request, &mut next) {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(status)) => Err(ureq::Error::StatusCode(status)),
            Err(ApiError::Send(error)) => Err(error),
            Err(ApiError::Token(error)) => Err(ureq::Error::Other(Box::new(error))),
        }
    }
}

/// A request body as the middleware holds it.
enum Payload<'a> {
    /// As the caller gave it (a call that gets no token).
    Unread(SendBody<'a>),
    /// Read into memory: can be sent again.
    Buffered(Vec<u8>),
    /// Longer than the replay limit: what was read, then the rest.
    Stream(Box<dyn Read + 'a>),
    /// Reading it failed; sending reports the error.
    Failed(io::Error),
}

/// The rest of the chain (first attempt) and the replay agent, as the driver's
/// [`BlockingExchange`]. An answer is a response, or the status ureq turned into an error.
struct Next<'n, 'a> {
    next: Option<MiddlewareNext<'n>>,
    replay: &'n Agent,
    limit: u64,
    body: PhantomData<Payload<'a>>,
}

type Answer = Result<http::Response<Body>, u16>;

impl<'a> ApiTypes for Next<'_, 'a> {
    type Request = http::Request<Payload<'a>>;
    type Response = Answer;

    fn destination(request: &Self::Request) -> Option<Destination<'_>> {
        Destination::of_uri(request.uri())
    }

    fn headers_mut(request: &mut Self::Request) -> &mut HeaderMap {
        request.headers_mut()
    }

    fn try_clone(&mut self, request: &mut Self::Request) -> Option<Self::Request> {
        let body = std::mem::replace(request.body_mut(), Payload::Buffered(Vec::new()));
        *request.body_mut() = match body {
            Payload::Unread(body) => {
                let mut reader = body.into_reader();
                let mut read = Vec::new();
                match (&mut reader).take(self.limit + 1).read_to_end(&mut read) {
                    Err(error) => Payload::Failed(error),
                    Ok(n) if n as u64 > self.limit => {
                        Payload::Stream(Box::new(io::Cursor::new(read).chain(reader)))
                    }
                    Ok(_) => Payload::Buffered(read),
                }
            }
            other => other,
        };
        match request.body() {
            Payload::Buffered(bytes) => {
                Some(copy_request(request, Payload::Buffered(bytes.clone())))
            }
            _ => None,
        }
    }

    fn status(response: &Answer) -> StatusCode {
        match response {
            Ok(response) => response.status(),
            Err(status) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    fn response_headers(response: &Answer) -> Option<&HeaderMap> {
        response.as_ref().ok().map(http::Response::headers)
    }

    fn extensions_mut(response: &mut Answer) -> Option<&mut Extensions> {
        response.as_mut().ok().map(http::Response::extensions_mut)
    }

    fn call_extensions<'s>(
        &'s mut self,
        request: &'s mut Self::Request,
    ) -> Option<&'s mut Extensions> {
        Some(request.extensions_mut())
    }

    fn call_options<'s>(&'s self, request: &'s Self::Request) -> Option<&'s ApiOptions> {
        request.extensions().get::<ApiOptions>()
    }
}

impl<'a> BlockingExchange for Next<'_, 'a> {
    type Error = ureq::Error;

    fn send(&mut self, request: http::Request<Payload<'a>>) -> Result<Answer, ureq::Error> {
        let (mut parts, payload) = request.into_parts();
        match payload {
            Payload::Unread(body) => self.dispatch(parts, body),
            Payload::Buffered(bytes) if bytes.is_empty() => self.dispatch(parts, SendBody::none()),
            Payload::Buffered(bytes) => {
                parts
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                self.dispatch(parts, SendBody::from_reader(&mut bytes.as_slice()))
            }
            Payload::Stream(mut reader) => self.dispatch(parts, SendBody::from_reader(&mut reader)),
            Payload::Failed(error) => Err(ureq::Error::Io(error)),
        }
    }
}

impl Next<'_, '_> {
    /// The first attempt down the chain, the replay through the replay agent.
    fn dispatch(&mut self, parts: Parts, body: SendBody) -> Result<Answer, ureq::Error> {
        let request = http::Request::from_parts(parts, body);
        let sent = match self.next.take() {
            Some(next) => next.handle(request),
            None => self.replay.run(request),
        };
        match sent {
            Ok(response) => Ok(Ok(response)),
            Err(ureq::Error::StatusCode(status)) => Ok(Err(status)),
            Err(error) => Err(error),
        }
    }
}
