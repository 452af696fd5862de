//! A reqwest-middleware that authorizes Zuora API calls: the driver's rules (`api`
//! module) on reqwest's request and response types.

use http::{Extensions, HeaderMap, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use zuora_oauth_core::Destination;
use zuora_oauth_driver::api::{ApiError, ApiOptions, ApiTypes, Authorizer, Exchange};

/// Authorizes the Zuora API calls of a [`reqwest_middleware::ClientWithMiddleware`] with a
/// token source's token.
///
/// On every call to the token's environment (scheme, host, port and path of its base URL) that
/// carries no `Authorization` of its own, it sets `Authorization: Bearer …` and the token's
/// `Zuora-Entity-Ids`, and the headers of its [`ApiOptions`] (`Zuora-Track-Id`, the Multi-Org
/// `Zuora-Org-Ids` and `Zuora-Working-Org`, `Zuora-Version`) unless the call sets them. When the
/// API answers 401, the token is invalidated, a new one is fetched through the source's
/// single flight, and the call is sent again once, if reqwest can copy its body (bytes or
/// none; not a stream): the answer then carries
/// [`Replayed`](zuora_oauth_driver::api::Replayed) in its extensions. A 401 that was not
/// sent again carries [`NotRetried`](zuora_oauth_driver::api::NotRetried). Calls to
/// other hosts go out untouched; 429 and 5xx answers come back as they are. The rules are
/// the driver's ([`zuora_oauth_driver::api`]); this type only adapts reqwest's types.
///
/// A token that cannot be had is `reqwest_middleware::Error::Middleware` holding the
/// [`TokenError`](zuora_oauth_driver::TokenError) (`downcast_ref` it).
///
/// ```
/// use reqwest_middleware::ClientBuilder;
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_driver::TokenSource;
/// use zuora_oauth_reqwest::{AuthorizeMiddleware, ReqwestTransport};
/// use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let zuora = MockServer::start()?; // a mock Zuora on 127.0.0.1
/// // reqwest's TLS needs a crypto provider: reqwest's default `rustls` feature brings one;
/// // with only this crate's features, install one before building a client.
/// let _ = rustls::crypto::ring::default_provider().install_default();
/// let client = reqwest::Client::new();
/// // An https token call goes through the same client (its pool, proxies and TLS); this
/// // mock's plain-http one is sent directly, never through a proxy (see `with_client`).
/// let source = TokenSource::new(
///     TokenRequest::new(
///         Environment::custom(&zuora.base_url())?,
///         ClientId::new(DEMO_CLIENT_ID)?,
///         ClientSecret::new(DEMO_CLIENT_SECRET)?,
///     ),
///     ReqwestTransport::with_client(client.clone()),
/// );
/// let api = ClientBuilder::new(client).with(AuthorizeMiddleware::new(source)).build();
///
/// let response = api.get(zuora.api_url("/v1/accounts/A00000001")).send().await?;
/// assert_eq!(response.status(), 200);
/// assert!(response.text().await?.contains("A00000001"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizeMiddleware {
    authorizer: Authorizer,
}

impl AuthorizeMiddleware {
    /// Authorizes calls as `authorizer` says: a `TokenSource`'s token, the token of each
    /// call's tenant in a `TokenSources` (the `Tenant`, in reqwest-middleware's extensions,
    /// is removed before the call goes on), or an [`Authorizer`] with the headers of every
    /// call ([`Authorizer::with_options`]). A token that cannot be had is
    /// `reqwest_middleware::Error::Middleware` holding the
    /// [`TokenError`](zuora_oauth_driver::TokenError).
    pub fn new(authorizer: impl Into<Authorizer>) -> Self {
        Self {
            authorizer: authorizer.into(),
        }
    }
}

#[async_trait::async_trait]
impl Middleware for AuthorizeMiddleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let mut next = Rest { next, extensions };
        match self.authorizer.send(request, &mut next).await {
            Ok(response) => Ok(response),
            Err(ApiError::Send(error)) => Err(error),
            Err(ApiError::Token(error)) => Err(reqwest_middleware::Error::middleware(error)),
        }
    }
}

/// The rest of the middleware chain, as the driver's [`Exchange`].
struct Rest<'a> {
    next: Next<'a>,
    extensions: &'a mut Extensions,
}

impl ApiTypes for Rest<'_> {
    type Request = Request;
    type Response = Response;

    fn destination(request: &Request) -> Option<Destination<'_>> {
        let url = request.url();
        Some(Destination::new(
            url.scheme(),
            url.host_str()?,
            url.port(),
            url.path(),
        ))
    }

    fn headers_mut(request: &mut Request) -> &mut HeaderMap {
        request.headers_mut()
    }

    fn try_clone(&mut self, request: &mut Request) -> Option<Request> {
        request.try_clone()
    }

    fn status(response: &Response) -> StatusCode {
        response.status()
    }

    fn response_headers(response: &Response) -> Option<&HeaderMap> {
        Some(response.headers())
    }

    fn extensions_mut(response: &mut Response) -> Option<&mut Extensions> {
        Some(response.extensions_mut())
    }

    fn call_options<'a>(&'a self, _request: &'a Request) -> Option<&'a ApiOptions> {
        self.extensions.get::<ApiOptions>()
    }

    fn call_extensions<'a>(&'a mut self, _request: &'a mut Request) -> Option<&'a mut Extensions> {
        Some(self.extensions)
    }
}

impl Exchange for Rest<'_> {
    type Error = reqwest_middleware::Error;

    async fn send(&mut self, request: Request) -> reqwest_middleware::Result<Response> {
        self.next.clone().run(request, self.extensions).await
    }
}
