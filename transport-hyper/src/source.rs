//! The driver's token source on hyper and tokio: [`HyperTransport`] is its [`Runtime`].

use hyper_util::client::legacy::connect::Connect;
use zuora_oauth_driver::tokio_rt::TokioTransport;
use zuora_oauth_driver::{BoxFuture, Limits, TransportResult};

use crate::HyperTransport;

/// Hands out a valid Zuora token to any number of tasks, fetching with hyper on tokio.
///
/// It is the driver's [`zuora_oauth_driver::TokenSource`] (cached hits without locks, one
/// request however many tasks ask, the request in a spawned task that a caller's timeout
/// never cancels, refresh ahead of expiry, backoff, nothing left running once the last
/// clone is dropped) on the default [`HyperTransport`]. For your own connector, use
/// `zuora_oauth_driver::TokenSource<HyperTransport<C>>` with
/// [`builder_with`](zuora_oauth_driver::TokenSource::builder_with).
///
/// Call it from inside a tokio runtime, multi-thread or `current_thread`, with its time
/// driver enabled (`enable_time()` or `enable_all()`): outside one, calls fail with a
/// transport error that says so.
///
/// ```no_run
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_hyper::TokenSource;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let source = TokenSource::new(TokenRequest::new(
///     Environment::ProdEu,
///     ClientId::new(std::env::var("ZUORA_CLIENT_ID")?)?,
///     ClientSecret::new(std::env::var("ZUORA_CLIENT_SECRET")?)?,
/// ));
/// let mut api_call = http::Request::get("https://rest.eu.zuora.com/v1/catalog/products").body(())?;
/// let generation = source.authorize(&mut api_call).await?;
/// // … send it; if Zuora answers 401, report the token so the next call gets a new one:
/// source.invalidate(generation);
/// # Ok(()) }
/// ```
pub type TokenSource = zuora_oauth_driver::TokenSource<HyperTransport>;

/// Builds a [`TokenSource`] with non-default settings.
pub type TokenSourceBuilder = zuora_oauth_driver::TokenSourceBuilder<HyperTransport>;

impl<C> TokioTransport for HyperTransport<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    const NAME: &'static str = "hyper";

    fn send_token_request(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        let transport = self.clone();
        Box::pin(async move { HyperTransport::send(&transport, request, limits).await })
    }
}
