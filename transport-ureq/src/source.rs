//! The driver's blocking token source on ureq: [`UreqTransport`] is its
//! [`BlockingTransport`].

use zuora_oauth_driver::{BlockingTransport, Limits, TransportResult};

use crate::UreqTransport;

/// Hands out a valid Zuora token to any number of threads, fetching with ureq.
///
/// It is the driver's [`zuora_oauth_driver::blocking::TokenSource`] (cached hits without
/// locks, one request however many threads ask, the request sent from a thread of its own
/// so that [`token_within`](zuora_oauth_driver::blocking::TokenSource::token_within) can
/// stop waiting without stopping it, refresh ahead of expiry, backoff) on the default
/// [`UreqTransport`]; [`builder_with`](zuora_oauth_driver::blocking::TokenSource::builder_with)
/// takes one with your agent.
///
/// ```no_run
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_ureq::TokenSource;
///
/// let request = TokenRequest::new(
///     Environment::ProdEu,
///     ClientId::new(std::env::var("ZUORA_CLIENT_ID")?)?,
///     ClientSecret::new(std::env::var("ZUORA_CLIENT_SECRET")?)?,
/// );
/// let source = TokenSource::new(request);
///
/// let mut api_call = http::Request::get("https://rest.eu.zuora.com/v1/catalog/products").body(())?;
/// let generation = source.authorize(&mut api_call)?;
/// // … send it; if Zuora answers 401, report the token so the next call gets a new one:
/// source.invalidate(generation);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type TokenSource = zuora_oauth_driver::blocking::TokenSource<UreqTransport>;

/// Builds a [`TokenSource`] with non-default settings.
pub type TokenSourceBuilder = zuora_oauth_driver::blocking::TokenSourceBuilder<UreqTransport>;

impl BlockingTransport for UreqTransport {
    fn send(&self, request: http::Request<Vec<u8>>, limits: Limits) -> TransportResult {
        UreqTransport::send(self, request, limits)
    }
}
