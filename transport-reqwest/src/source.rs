//! The driver's token source on reqwest and tokio: [`ReqwestTransport`] is its [`Runtime`].

use zuora_oauth_driver::tokio_rt::TokioTransport;
use zuora_oauth_driver::{BoxFuture, Limits, TransportResult};

use crate::ReqwestTransport;

/// Hands out a valid Zuora token to any number of tasks, fetching with reqwest on tokio.
///
/// It is the driver's [`zuora_oauth_driver::TokenSource`] (cached hits without locks, one
/// request however many tasks ask, the request in a spawned task that a caller's timeout
/// never cancels, refresh ahead of expiry, backoff, nothing left running once the last
/// clone is dropped) on a [`ReqwestTransport`]: [`new`](zuora_oauth_driver::TokenSource::new)
/// for the transport's own client, [`builder_with`](zuora_oauth_driver::TokenSource::builder_with)
/// for yours ([`ReqwestTransport::with_client`]).
///
/// Call it from inside a tokio runtime with its time driver enabled: outside one, calls
/// fail with a transport error that says so.
///
/// ```no_run
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_reqwest::{ReqwestTransport, TokenSource};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let request = TokenRequest::new(
///     Environment::ProdEu,
///     ClientId::new(std::env::var("ZUORA_CLIENT_ID")?)?,
///     ClientSecret::new(std::env::var("ZUORA_CLIENT_SECRET")?)?,
/// );
/// // Your client: its pool, proxies and TLS serve the (https) token call too. Building it
/// // needs a rustls crypto provider (see `ReqwestTransport::with_client`).
/// let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
/// let source = TokenSource::builder_with(request, ReqwestTransport::with_client(client)).build();
/// let token = source.token().await?;
/// # Ok(()) }
/// ```
pub type TokenSource = zuora_oauth_driver::TokenSource<ReqwestTransport>;

/// Builds a [`TokenSource`] with non-default settings.
pub type TokenSourceBuilder = zuora_oauth_driver::TokenSourceBuilder<ReqwestTransport>;

impl TokioTransport for ReqwestTransport {
    const NAME: &'static str = "reqwest";

    fn send_token_request(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        let transport = self.clone();
        Box::pin(async move { ReqwestTransport::send(&transport, request, limits).await })
    }
}
