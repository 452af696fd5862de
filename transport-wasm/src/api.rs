//! Zuora API calls with the global `fetch`, authorized by a [`TokenSource`]: the driver's
//! rules (`api` module) on `http::Request<Vec<u8>>` and `http::Response<Vec<u8>>`.

use zuora_oauth_core::TransportError;
use zuora_oauth_driver::api::{ApiError, ApiOptions, Authorizer, Exchange, HttpApiTypes};
use zuora_oauth_driver::{Limits, TokenSource, TokenSources};

use crate::FetchTransport;
use crate::transport::AnyHeader;

/// Default cap on an API answer's body (16 MiB): it is read whole into memory.
pub const DEFAULT_API_MAX_BODY: usize = 16 * 1024 * 1024;

/// Sends Zuora API calls with the runtime's global `fetch`, authorized with a token
/// source's token — or, built with [`for_tenants`](Self::for_tenants), with each call's
/// tenant's token from a [`TokenSources`] (one worker serving many Zuora tenants).
///
/// On every call to the token's environment (scheme, host, port and path of its base URL) that
/// carries no `Authorization` of its own, it sets `Authorization: Bearer …` and the token's
/// `Zuora-Entity-Ids`, and the headers of its [`ApiOptions`] (`Zuora-Track-Id`, the Multi-Org
/// `Zuora-Org-Ids` and `Zuora-Working-Org`, `Zuora-Version`) unless the call sets them. When the
/// API answers 401, the token is invalidated, a new one is fetched through the source's
/// single flight (ten calls refused together cause one token request), and the call is sent
/// again **once**: its body is bytes, which can always be sent again (as a `RequestInit`
/// with a string or bytes body can). The answer then carries
/// [`Replayed`](zuora_oauth_driver::api::Replayed) in its extensions; a 401 that was not sent again because
/// no new token could be had carries [`NotRetried`](zuora_oauth_driver::api::NotRetried); a second 401 is
/// returned as it came. Calls to other origins go out untouched; 429 and 5xx answers come
/// back as they are, and never cause a token request. The rules are the driver's
/// ([`zuora_oauth_driver::api`]); this type only adapts the types.
///
/// Each attempt is one exchange of the [`FetchTransport`]: redirects not followed, every
/// status returned as a response, and limits of its own for API answers (by default a
/// 30 s timeout and a body cap of [`DEFAULT_API_MAX_BODY`]; see
/// [`with_timeout`](Self::with_timeout), [`with_max_body`](Self::with_max_body)).
/// A failed exchange comes back as [`ApiError::Send`], a token that could not be had (the
/// call was not sent) as [`ApiError::Token`].
///
/// In a page the API must answer CORS for the page's origin, allowing the `Authorization`,
/// `Zuora-Entity-Ids` and `Zuora-Track-Id` request headers (and those of the other
/// [`ApiOptions`] set: `Zuora-Org-Ids`, `Zuora-Working-Org`, `Zuora-Version`), and exposing
/// `Zuora-Request-Id` (the crate docs' warnings apply: never ship a client secret to a
/// browser).
///
/// ```no_run
/// # #[cfg(target_arch = "wasm32")]
/// # async fn demo(source: zuora_oauth_driver::TokenSource) -> Result<(), Box<dyn std::error::Error>> {
/// use zuora_oauth_driver::api::Replayed;
/// use zuora_oauth_wasm::AuthorizedFetch;
///
/// // `source`: a `TokenSource` for Environment::ProdEu, kept for the worker's lifetime.
/// let api = AuthorizedFetch::new(source);
/// let call = http::Request::get("https://rest.eu.zuora.com/v1/accounts/A00000001")
///     .body(Vec::new())?;
/// let account = api.send(call).await?;
/// assert_eq!(account.status(), 200);
/// if let Some(replayed) = account.extensions().get::<Replayed>() {
///     // The first token was refused (401): a new one was fetched and the call sent again.
///     let _ = replayed.rejected_request_id(); // Zuora-Request-Id of the 401
/// }
///
/// let create = http::Request::post("https://rest.eu.zuora.com/v1/accounts")
///     .header("content-type", "application/json")
///     .body(br#"{"name":"Acme","currency":"EUR"}"#.to_vec())?;
/// let created = api.send(create).await?;
/// println!("{}", String::from_utf8_lossy(created.body()));
/// # Ok(()) }
/// # fn main() {}
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizedFetch {
    /// The one source, unless the calls are authorized per tenant.
    source: Option<TokenSource>,
    authorizer: Authorizer,
    limits: Limits,
}

impl AuthorizedFetch {
    /// Authorizes calls with `source`'s token.
    pub fn new(source: TokenSource) -> Self {
        Self {
            authorizer: Authorizer::new(source.clone()),
            source: Some(source),
            limits: Limits::default().with_max_body(DEFAULT_API_MAX_BODY),
        }
    }

    /// Authorizes each call with the token of its tenant: the
    /// [`Tenant`](zuora_oauth_driver::Tenant) in the request's extensions
    /// (`http::Request::extensions_mut`) names the credentials, `sources` holds the tenant's
    /// source (built on first use). The `Tenant` is removed before the call is sent; a call
    /// without one fails with [`ApiError::Token`] of kind
    /// [`NoTenant`](zuora_oauth_driver::TokenErrorKind::NoTenant), before anything is sent.
    pub fn for_tenants(sources: TokenSources) -> Self {
        Self {
            authorizer: Authorizer::for_tenants(sources),
            source: None,
            limits: Limits::default().with_max_body(DEFAULT_API_MAX_BODY),
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

    /// The timeout of each attempt (default 30 s); the token request keeps the source's
    /// own. A slow Zuora operation may need a longer one.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.limits = self.limits.with_timeout(timeout);
        self
    }

    /// The body cap of each attempt's answer (default [`DEFAULT_API_MAX_BODY`]): the body is
    /// read whole into memory.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.limits = self.limits.with_max_body(bytes);
        self
    }

    /// The token source whose token the calls carry; `None` when each call carries its
    /// tenant's ([`for_tenants`](Self::for_tenants)).
    pub fn source(&self) -> Option<&TokenSource> {
        self.source.as_ref()
    }

    /// Sends one call and reads its whole answer, whatever its status.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, ApiError<TransportError>> {
        let mut fetch = Fetch {
            limits: self.limits,
        };
        self.authorizer.send(request, &mut fetch).await
    }
}

/// One call's attempts over the global `fetch`, as the driver's [`Exchange`].
struct Fetch {
    limits: Limits,
}

impl HttpApiTypes for Fetch {
    type RequestBody = Vec<u8>;
    type ResponseBody = Vec<u8>;

    fn try_clone_body(&mut self, body: &mut Vec<u8>) -> Option<Vec<u8>> {
        Some(body.clone())
    }
}

impl Exchange for Fetch {
    type Error = TransportError;

    async fn send(&mut self, request: Self::Request) -> Result<Self::Response, Self::Error> {
        FetchTransport::exchange(request, self.limits, AnyHeader).await
    }
}
