//! Authorizing Zuora API calls: the rules every middleware follows, written once.
//!
//! A middleware (tower, reqwest-middleware, ureq, your own) only tells the driver how to
//! read and write its request and response types ([`ApiTypes`]) and how to send one request
//! ([`Exchange`] or [`BlockingExchange`]); an [`Authorizer`] (or a [`BlockingAuthorizer`])
//! does the rest:
//!
//! 1. **Which requests get the token**: only those to the token's environment
//!    ([`Environment::covers`](zuora_oauth_core::Environment::covers): the scheme, host,
//!    port and path prefix of its base URL, read on every call, so a `reconfigure` moves
//!    it), the rule [`TokenSource::authorize`] follows too, and only when the caller set no
//!    `Authorization` of its own. They get `Authorization: Bearer …` and the token's
//!    `Zuora-Entity-Ids` ([`Token::authorize`](zuora_oauth_core::Token::authorize)), and the headers of the [`ApiOptions`]
//!    (`Zuora-Track-Id`, `Zuora-Org-Ids`, `Zuora-Working-Org`, `Zuora-Version`; a call's
//!    own options over the middleware's) that they do not carry already. Any other request
//!    goes out untouched.
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
use http::{Extensions, HeaderMap, HeaderName, HeaderValue, StatusCode};
use zuora_oauth_core::{
    ApiVersion, Destination, Generation, OrgId, TrackId, ZUORA_ORG_IDS, ZUORA_TRACK_ID,
    ZUORA_VERSION, ZUORA_WORKING_ORG,
};

use crate::credentials::Credentials;
use crate::source::Source;
use crate::{MaybeSend, TokenError, TokenSource};

/// The headers a middleware adds to the calls to the token's environment, beside the
/// token: `Zuora-Track-Id`, the Multi-Org headers `Zuora-Org-Ids` and `Zuora-Working-Org`,
/// and `Zuora-Version`. Each value is validated when it is made ([`TrackId`], [`OrgId`],
/// [`ApiVersion`]), so nothing invalid can reach a request.
///
/// **Per middleware**: [`Authorizer::with_options`], the middleware built from that
/// `Authorizer`; every call gets these headers.
///
/// **Per call**: an `ApiOptions` in the request's extensions
/// (`http::Request::extensions_mut().insert(..)` for the tower layer, the ureq middleware and
/// `AuthorizedFetch`; reqwest-middleware's `RequestBuilder::with_extension(..)`). Each header
/// it sets replaces the middleware's for that call; each one it leaves unset keeps the
/// middleware's.
///
/// Either way, the headers go with the token: only on calls to the token's environment
/// ([`Environment::covers`](zuora_oauth_core::Environment::covers)) that carry no
/// `Authorization` of their own, never on the token request, and never over a header the
/// caller set on the request itself.
///
/// ```
/// use zuora_oauth_core::{ApiVersion, OrgId};
/// use zuora_oauth_driver::api::ApiOptions;
///
/// let asia = OrgId::new("6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e01")?;
/// let china = OrgId::new("0b7e3c55-91d2-4f6a-8c1e-7a2d4e6f8b10")?;
/// // Every call: both orgs seen, Asia labels what is created, one API version.
/// let options = ApiOptions::default()
///     .with_org_ids([asia.clone(), china.clone()])
///     .with_working_org(asia)
///     .with_version(ApiVersion::new("2025-08-12")?);
/// // One call: created in China (the org IDs and the version stay the middleware's).
/// let mut call = http::Request::post("https://rest.eu.zuora.com/v1/accounts").body(())?;
/// call.extensions_mut().insert(ApiOptions::default().with_working_org(china));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct ApiOptions {
    track_id: Option<TrackId>,
    org_ids: Vec<OrgId>,
    working_org: Option<OrgId>,
    version: Option<ApiVersion>,
    /// The values above as header values, made once (a call clones them: no allocation),
    /// in the order of [`HEADERS`].
    headers: [Option<HeaderValue>; 4],
}

/// The headers of [`ApiOptions`], in the order of its `headers`.
const HEADERS: [HeaderName; 4] = [
    ZUORA_TRACK_ID,
    ZUORA_ORG_IDS,
    ZUORA_WORKING_ORG,
    ZUORA_VERSION,
];

impl ApiOptions {
    /// Sends `Zuora-Track-Id: <track_id>` (Zuora echoes it, and support can find the calls
    /// by it).
    pub fn with_track_id(mut self, track_id: TrackId) -> Self {
        self.headers[0] = Some(header_value(track_id.as_str()));
        self.track_id = Some(track_id);
        self
    }

    /// Sends `Zuora-Org-Ids: <id>,<id>,…`: a Multi-Org tenant's calls see only these orgs
    /// (Zuora refuses an org the user may not access). The IDs are sent in their canonical
    /// form, in the order given, each once. An empty list sends no `Zuora-Org-Ids` (per
    /// call: keeps the middleware's).
    pub fn with_org_ids(mut self, org_ids: impl IntoIterator<Item = OrgId>) -> Self {
        let mut unique: Vec<OrgId> = Vec::new();
        for id in org_ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        let joined = unique
            .iter()
            .map(OrgId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        self.headers[1] = (!unique.is_empty()).then(|| header_value(&joined));
        self.org_ids = unique;
        self
    }

    /// Sends `Zuora-Working-Org: <id>`: the org that labels what a Multi-Org tenant's
    /// call creates when nothing else decides it.
    pub fn with_working_org(mut self, org_id: OrgId) -> Self {
        self.headers[2] = Some(header_value(org_id.as_str()));
        self.working_org = Some(org_id);
        self
    }

    /// Sends `Zuora-Version: <version>`: the API minor version of the calls (without it,
    /// the tenant's default).
    pub fn with_version(mut self, version: ApiVersion) -> Self {
        self.headers[3] = Some(header_value(version.as_str()));
        self.version = Some(version);
        self
    }

    /// The `Zuora-Track-Id` set, if any.
    pub fn track_id(&self) -> Option<&TrackId> {
        self.track_id.as_ref()
    }

    /// The `Zuora-Org-Ids` set (empty: none).
    pub fn org_ids(&self) -> &[OrgId] {
        &self.org_ids
    }

    /// The `Zuora-Working-Org` set, if any.
    pub fn working_org(&self) -> Option<&OrgId> {
        self.working_org.as_ref()
    }

    /// The `Zuora-Version` set, if any.
    pub fn version(&self) -> Option<&ApiVersion> {
        self.version.as_ref()
    }

    /// The header values of one call, in the order of [`HEADERS`]: the call's own
    /// options' where they set one, else these. Each is a copy of its own (not a clone
    /// sharing a count with every other call: calls on many threads write nothing shared).
    fn values(&self, call: Option<&ApiOptions>) -> [Option<HeaderValue>; 4] {
        std::array::from_fn(|i| {
            call.and_then(|c| c.headers[i].as_ref())
                .or(self.headers[i].as_ref())
                .map(|v| HeaderValue::from_bytes(v.as_bytes()).expect("a valid header value"))
        })
    }
}

/// The header value of validated text (printable US-ASCII, as [`TrackId`], [`OrgId`] and
/// [`ApiVersion`] guarantee).
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("validated header text is a valid header value")
}

impl fmt::Debug for ApiOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiOptions")
            .field("track_id", &self.track_id)
            .field("org_ids", &self.org_ids)
            .field("working_org", &self.working_org)
            .field("version", &self.version)
            .finish()
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
    /// The [`ApiOptions`] of this call only (in the request's extensions, or wherever the
    /// middleware keeps them), which override the middleware's. None by default.
    fn call_options<'a>(&'a self, request: &'a Self::Request) -> Option<&'a ApiOptions> {
        let _ = request;
        None
    }
    /// Where a call's [`Tenant`](crate::Tenant) is (the request's extensions, or wherever
    /// the middleware keeps them), for [`Authorizer::for_tenants`]. None by default.
    fn call_extensions<'a>(
        &'a mut self,
        request: &'a mut Self::Request,
    ) -> Option<&'a mut Extensions> {
        let _ = request;
        None
    }
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

    fn call_options<'a>(&'a self, request: &'a Self::Request) -> Option<&'a ApiOptions> {
        request.extensions().get::<ApiOptions>()
    }

    fn call_extensions<'a>(
        &'a mut self,
        request: &'a mut Self::Request,
    ) -> Option<&'a mut Extensions> {
        Some(request.extensions_mut())
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

/// One API call: the rules as a small machine that does no I/O, driven by
/// [`Authorizer::send`] and [`BlockingAuthorizer::send`].
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
    /// A call; `needs_token`: whether it goes to the token's environment without an
    /// `Authorization` of its own (it has had its [`ApiOptions`] headers then).
    fn new(needs_token: bool, request: X::Request) -> Self {
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

/// What an async middleware holds: the source whose token authorizes the calls — one, or the
/// source of each call's tenant in a [`TokenSources`](crate::TokenSources) — and the headers
/// every call to the token's environment gets ([`ApiOptions`]). The tower layer, the
/// reqwest middleware and the wasm `AuthorizedFetch` are each a thin adapter over one; a
/// middleware of your own is too ([`Authorizer::send`]). Cheap to clone. The blocking
/// counterpart is [`BlockingAuthorizer`].
#[derive(Debug, Clone)]
pub struct Authorizer {
    inner: std::sync::Arc<Authorizing>,
}

/// What a blocking middleware holds: [`Authorizer`] for a
/// [`BlockingTokenSource`](crate::BlockingTokenSource) or a
/// [`BlockingTokenSources`](crate::BlockingTokenSources). The ureq middleware is a thin
/// adapter over one; a blocking middleware of your own is too
/// ([`BlockingAuthorizer::send`]). The same rules, run on the calling thread. Cheap to
/// clone.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone)]
pub struct BlockingAuthorizer {
    inner: std::sync::Arc<Authorizing>,
}

#[cfg(all(test, feature = "tower"))]
impl Authorizer {
    /// How many handles share this authorizer's state.
    pub(crate) fn shared_count(&self) -> usize {
        std::sync::Arc::strong_count(&self.inner)
    }
}

#[derive(Debug, Clone)]
struct Authorizing {
    sources: Sources,
    options: ApiOptions,
}

/// One source for every call, or the source of each call's [`Tenant`](crate::Tenant) in a
/// set (of either front: both hold the same [`Source`]).
#[derive(Debug, Clone)]
enum Sources {
    One(Source),
    /// Behind a trait object, so that the set's code (its table, eviction, building
    /// sources) is linked only into a program that authorizes tenants: a wasm module that
    /// calls the API with one source is about 14 KB smaller.
    Tenants(std::sync::Arc<dyn TenantSet>),
}

impl Sources {
    /// A tenant set, of either front.
    // On wasm32 (one thread) the sources are not `Send` (as everywhere on that target).
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    fn tenants(set: impl TenantSet + 'static) -> Self {
        Self::Tenants(std::sync::Arc::new(set))
    }
}

/// A set of tenants' sources, of either front.
trait TenantSet: fmt::Debug + MaybeSend {
    /// The source of the call's [`Tenant`](crate::Tenant), which it removes from
    /// `extensions`.
    fn pick(&self, extensions: &mut Extensions) -> Result<Picked<'static>, TokenError>;
}

impl TenantSet for crate::TokenSources {
    fn pick(&self, extensions: &mut Extensions) -> Result<Picked<'static>, TokenError> {
        crate::TokenSources::pick(self, extensions).map(Picked::Tenant)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl TenantSet for crate::BlockingTokenSources {
    fn pick(&self, extensions: &mut Extensions) -> Result<Picked<'static>, TokenError> {
        crate::BlockingTokenSources::pick(self, extensions).map(Picked::BlockingTenant)
    }
}

/// The source a call is authorized with: the one source (borrowed: no count written), or
/// the call's tenant's.
enum Picked<'a> {
    One(&'a Source),
    Tenant(TokenSource),
    #[cfg(not(target_arch = "wasm32"))]
    BlockingTenant(crate::BlockingTokenSource),
}

impl Picked<'_> {
    fn source(&self) -> &Source {
        match self {
            Self::One(source) => source,
            Self::Tenant(front) => front.source(),
            #[cfg(not(target_arch = "wasm32"))]
            Self::BlockingTenant(front) => front.source(),
        }
    }
}

impl Authorizing {
    // On wasm32 (one thread) the sources are not `Send` (as everywhere on that target).
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    fn shared(sources: Sources, options: ApiOptions) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { sources, options })
    }

    /// The same sources with `options`.
    fn with_options(this: std::sync::Arc<Self>, options: ApiOptions) -> std::sync::Arc<Self> {
        let Self { sources, .. } = std::sync::Arc::unwrap_or_clone(this);
        Self::shared(sources, options)
    }

    /// The source of `request`: the one, or its tenant's (the [`Tenant`](crate::Tenant)
    /// taken out of its extensions; none is an error, before anything is sent).
    fn pick<X: ApiTypes>(
        &self,
        request: &mut X::Request,
        exchange: &mut X,
    ) -> Result<Picked<'_>, TokenError> {
        /// Where the call's `Tenant` is; a call with no extensions names none.
        fn extensions<'r, X: ApiTypes>(
            request: &'r mut X::Request,
            exchange: &'r mut X,
        ) -> Result<&'r mut Extensions, TokenError> {
            exchange
                .call_extensions(request)
                .ok_or_else(TokenError::no_tenant)
        }
        match &self.sources {
            Sources::One(source) => Ok(Picked::One(source)),
            Sources::Tenants(set) => set.pick(extensions(request, exchange)?),
        }
    }
}

impl From<TokenSource> for Authorizer {
    /// [`Authorizer::new`].
    fn from(source: TokenSource) -> Self {
        Self::new(source)
    }
}

impl From<crate::TokenSources> for Authorizer {
    /// [`Authorizer::for_tenants`].
    fn from(sources: crate::TokenSources) -> Self {
        Self::for_tenants(sources)
    }
}

impl Authorizer {
    /// Authorizes calls with `source`'s token (whatever its transport).
    pub fn new(source: TokenSource) -> Self {
        let sources = Sources::One(source.source().clone());
        Self {
            inner: Authorizing::shared(sources, ApiOptions::default()),
        }
    }

    /// Authorizes each call with the token of its tenant: the [`Tenant`](crate::Tenant) in
    /// its extensions ([`ApiTypes::call_extensions`]) names the credentials, `sources` holds
    /// the tenant's source (built on first use). The `Tenant` is **removed** before the call
    /// goes on: what comes after never sees credentials. A call without one fails with
    /// [`ApiError::Token`] of kind [`NoTenant`](crate::TokenErrorKind::NoTenant), before
    /// anything is sent. The rest is as for one source: the token only to the tenant's
    /// environment, one replay after a 401.
    pub fn for_tenants(sources: crate::TokenSources) -> Self {
        Self {
            inner: Authorizing::shared(Sources::tenants(sources), ApiOptions::default()),
        }
    }

    /// The headers of every call to the token's environment ([`ApiOptions`]:
    /// `Zuora-Track-Id`, `Zuora-Org-Ids`, `Zuora-Working-Org`, `Zuora-Version`); one call
    /// overrides them with an `ApiOptions` of its own ([`ApiTypes::call_options`]).
    pub fn with_options(self, options: ApiOptions) -> Self {
        Self {
            inner: Authorizing::with_options(self.inner, options),
        }
    }

    /// Sends one API call through `exchange` (a middleware's next step), authorized by the
    /// rules of [this module](self).
    pub async fn send<X: Exchange>(
        &self,
        mut request: X::Request,
        exchange: &mut X,
    ) -> Result<X::Response, ApiError<X::Error>> {
        let picked = self
            .inner
            .pick(&mut request, exchange)
            .map_err(ApiError::Token)?;
        call(picked.source(), &self.inner.options, request, exchange).await
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl From<crate::BlockingTokenSource> for BlockingAuthorizer {
    /// [`BlockingAuthorizer::new`].
    fn from(source: crate::BlockingTokenSource) -> Self {
        Self::new(source)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl From<crate::BlockingTokenSources> for BlockingAuthorizer {
    /// [`BlockingAuthorizer::for_tenants`].
    fn from(sources: crate::BlockingTokenSources) -> Self {
        Self::for_tenants(sources)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl BlockingAuthorizer {
    /// Authorizes calls with `source`'s token (whatever its transport).
    pub fn new(source: crate::BlockingTokenSource) -> Self {
        let sources = Sources::One(source.source().clone());
        Self {
            inner: Authorizing::shared(sources, ApiOptions::default()),
        }
    }

    /// Authorizes each call with the token of its tenant, as
    /// [`Authorizer::for_tenants`] does: the [`Tenant`](crate::Tenant) in its extensions,
    /// removed before the call goes on; a call without one fails before anything is sent.
    pub fn for_tenants(sources: crate::BlockingTokenSources) -> Self {
        Self {
            inner: Authorizing::shared(Sources::tenants(sources), ApiOptions::default()),
        }
    }

    /// The headers of every call to the token's environment, as
    /// [`Authorizer::with_options`].
    pub fn with_options(self, options: ApiOptions) -> Self {
        Self {
            inner: Authorizing::with_options(self.inner, options),
        }
    }

    /// Sends one API call through `exchange` (a middleware's next step), blocking,
    /// authorized by the rules of [this module](self).
    pub fn send<X: BlockingExchange>(
        &self,
        mut request: X::Request,
        exchange: &mut X,
    ) -> Result<X::Response, ApiError<X::Error>> {
        let mut exchange = Blocking(exchange);
        let picked = self
            .inner
            .pick(&mut request, &mut exchange)
            .map_err(ApiError::Token)?;
        crate::runtime::threads::block_on(call(
            picked.source(),
            &self.inner.options,
            request,
            &mut exchange,
        ))
    }
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
    fn call_extensions<'a>(
        &'a mut self,
        request: &'a mut Self::Request,
    ) -> Option<&'a mut Extensions> {
        self.0.call_extensions(request)
    }
    fn call_options<'a>(&'a self, request: &'a Self::Request) -> Option<&'a ApiOptions> {
        self.0.call_options(request)
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
    let mut request = request;
    // If the source moves to another environment during the call, a token read after this
    // may be the new one's: the destination is checked again then.
    let mut moves = source.moves();
    let needs_token = X::destination(&request).is_some_and(|d| source.covers(&d))
        && !X::headers_mut(&mut request).contains_key(AUTHORIZATION);
    if needs_token {
        // The call gets the token, and with it the headers of the options (the call's own
        // over the middleware's), unless it set them itself.
        let values = options.values(exchange.call_options(&request));
        let headers = X::headers_mut(&mut request);
        for (name, value) in HEADERS.into_iter().zip(values) {
            if let Some(value) = value
                && !headers.contains_key(&name)
            {
                headers.insert(name, value);
            }
        }
    }
    let mut call = ApiCall::<X>::new(needs_token, request);
    #[cfg(feature = "tracing")]
    let span = call.span.clone();
    let run = async move {
        loop {
            match call.poll() {
                Step::Token => {
                    let token = loop {
                        let token = match source.fresh_credentials() {
                            Some(credentials) => Ok(credentials),
                            None => source.credentials().await,
                        };
                        let now = source.moves();
                        if now == moves {
                            break token;
                        }
                        moves = now;
                        let covered = call
                            .request
                            .as_ref()
                            .and_then(|r| X::destination(r))
                            .is_some_and(|d| source.covers(&d));
                        if !covered {
                            break Err(TokenError::moved());
                        }
                    };
                    call.token(exchange, token).map_err(ApiError::Token)?;
                }
                Step::Invalidate(generation) => drop(source.invalidate(generation)),
                Step::Send(request) => {
                    if call.replayed {
                        crate::metrics::replayed(source);
                    }
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};

    use super::*;
    use crate::{BlockingTokenSource, BlockingTransport, Limits, TransportResult};

    const BODY: &str = r#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#;

    /// A token endpoint that answers at once.
    struct Canned;

    impl BlockingTransport for Canned {
        fn send(&self, _request: http::Request<Vec<u8>>, _limits: Limits) -> TransportResult {
            Ok(http::Response::builder()
                .header("content-type", "application/json")
                .body(BODY.as_bytes().to_vec())
                .unwrap())
        }
    }

    /// An API that answers 200, and the `Authorization` it saw.
    struct Api(Option<HeaderValue>);

    impl HttpApiTypes for Api {
        type RequestBody = ();
        type ResponseBody = ();
        fn try_clone_body(&mut self, _body: &mut ()) -> Option<()> {
            Some(())
        }
    }

    impl BlockingExchange for Api {
        type Error = std::convert::Infallible;
        fn send(&mut self, request: http::Request<()>) -> Result<http::Response<()>, Self::Error> {
            self.0 = request.headers().get(AUTHORIZATION).cloned();
            Ok(http::Response::new(()))
        }
    }

    /// A call with a cached token takes no lock: it goes through while another thread holds
    /// the machine's lock (it would wait for ever if it took it).
    #[test]
    fn an_api_call_and_authorize_take_no_lock_on_a_cached_token() {
        let source = BlockingTokenSource::new(
            TokenRequest::new(
                Environment::custom("http://127.0.0.1:9").unwrap(),
                ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
                ClientSecret::new("dG9wLXNlY3JldA==").unwrap(),
            ),
            Canned,
        );
        source.token().unwrap();
        let (held, release) = (mpsc::channel(), mpsc::channel::<()>());
        let holder = {
            let source = source.clone();
            let (held, release) = (held.0, release.1);
            std::thread::spawn(move || {
                let _guard = source.source().shared().lock_machine();
                held.send(()).unwrap();
                release.recv().unwrap();
            })
        };
        held.1.recv().unwrap();
        let (done_tx, done) = mpsc::channel();
        let caller = {
            let source = source.clone();
            std::thread::spawn(move || {
                let mut api = Api(None);
                let call = http::Request::get("http://127.0.0.1:9/v1/accounts")
                    .body(())
                    .unwrap();
                let answer = BlockingAuthorizer::new(source.clone()).send(call, &mut api);
                let mut request = http::Request::get("http://127.0.0.1:9/v1/accounts")
                    .body(())
                    .unwrap();
                let generation = source.authorize(&mut request);
                done_tx
                    .send((answer.is_ok(), api.0, generation.is_ok(), request))
                    .unwrap();
            })
        };
        let outcome = done.recv_timeout(Duration::from_secs(10));
        release.0.send(()).unwrap();
        holder.join().unwrap();
        let (answered, seen, authorized, request) =
            outcome.expect("the call finished while the machine's lock was held");
        caller.join().unwrap();
        assert!(answered && authorized);
        let expected = "Bearer c652cbc0ea384b9f81856a93a2a74538";
        assert_eq!(seen.unwrap(), expected);
        assert!(request.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(request.headers()[AUTHORIZATION], expected);
    }
}
