//! Sending one token request with hyper.

use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::TokioExecutor;
use tower_service::Service;
use zuora_oauth_core::{TransportError, TransportErrorKind};
use zuora_oauth_driver::internal::{self, causes, describe, tls_config};
use zuora_oauth_driver::{
    BoxFuture, ConnectOptions, Limits, ProxyError, Transport, TransportResult,
};

use crate::connect::{ConnectTimeout, ProxyConnector, TunnelError};

type BoxError = Box<dyn StdError + Send + Sync>;

/// Sends token requests with a hyper-util client: never follows redirects, returns every
/// status as a response, bounds connection setup, the whole exchange and the body by the
/// source's [`Limits`]. Holds no Zuora rules. Cheap to clone; clones share the connection
/// pool.
///
/// Use it on a tokio runtime (with its time driver enabled).
#[derive(Clone)]
pub struct HyperTransport {
    inner: Arc<dyn ErasedClient>,
}

/// The transport's client for one connector, type-erased so that the transport has no
/// generic parameter.
trait ErasedClient: Send + Sync {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult>;
}

/// A connector and the client built over it for the last connect timeout asked for (a
/// source asks for one; the client is rebuilt if another one comes), and the client for
/// plain http, which never goes through the connector.
struct Clients<C> {
    connector: C,
    client: Slot<ConnectTimeout<C>>,
    direct: Slot<ConnectTimeout<HttpConnector>>,
}

type Slot<C> = Mutex<Option<(Duration, Client<C, Full<Bytes>>)>>;

/// The client in `slot` for `connect_timeout`, built over `connector` if there is none.
fn client_for<C>(
    slot: &Slot<ConnectTimeout<C>>,
    connector: &C,
    connect_timeout: Duration,
) -> Client<ConnectTimeout<C>, Full<Bytes>>
where
    C: Service<Uri> + Clone + Send + Sync + 'static,
    C::Response: hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    match &*slot {
        Some((timeout, client)) if *timeout == connect_timeout => client.clone(),
        _ => {
            let connector = ConnectTimeout::new(connector.clone(), connect_timeout);
            let client = Client::builder(TokioExecutor::new()).build(connector);
            *slot = Some((connect_timeout, client.clone()));
            client
        }
    }
}

impl Default for HyperTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport").finish_non_exhaustive()
    }
}

impl HyperTransport {
    /// A transport with its own client and the default settings: proxy from the environment
    /// ([`ProxyPolicy::from_env`](zuora_oauth_driver::ProxyPolicy::from_env)) and Mozilla's
    /// roots ([`ConnectOptions::default`]).
    pub fn new() -> Self {
        Self::with_options(ConnectOptions::default())
    }

    /// A transport with its own client, connecting as `options` say: proxy and trust roots
    /// (rustls with the `ring` provider). Plain `http://` is only ever used for loopback
    /// hosts, which the core enforces, and never through a proxy.
    pub fn with_options(options: ConnectOptions) -> Self {
        let tcp = ProxyConnector::new(options.proxy().clone());
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(&options))
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        Self::with_connector(https)
    }

    /// A transport connecting with your connector (a TLS layer of your own, say). The
    /// source's connect timeout still bounds connection setup, TLS included. Proxies for
    /// https are then your connector's business: put a [`ProxyConnector`] under your TLS
    /// layer to keep the [`ProxyPolicy`](zuora_oauth_driver::ProxyPolicy); through a proxy,
    /// https is a CONNECT tunnel whose content the proxy cannot read.
    ///
    /// **Plain http never goes through your connector.** A plain-http token URL (the core
    /// allows one only for a loopback host: a mock server, a local gateway) is sent on a TCP
    /// connection the transport opens to the server itself. A proxy carrying plain http,
    /// even in a tunnel, reads the form, client secret included, and the transport cannot
    /// see where your connector connects.
    pub fn with_connector<C>(connector: C) -> Self
    where
        C: Service<Uri> + Clone + Send + Sync + 'static,
        C::Response: hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send + 'static,
        C::Future: Send + 'static,
        C::Error: Into<BoxError>,
    {
        Self {
            inner: Arc::new(Clients {
                connector,
                client: Mutex::new(None),
                direct: Mutex::new(None),
            }),
        }
    }
}

impl<C> ErasedClient for Clients<C>
where
    C: Service<Uri> + Clone + Send + Sync + 'static,
    C::Response: hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        let https = request
            .uri()
            .scheme_str()
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https"));
        let timeout = limits.connect_timeout();
        if https {
            let client = client_for(&self.client, &self.connector, timeout);
            Box::pin(exchange(client, request, limits))
        } else {
            let client = client_for(&self.direct, &HttpConnector::new(), timeout);
            Box::pin(exchange(client, request, limits))
        }
    }
}

impl Transport for HyperTransport {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        self.inner.send(request, limits)
    }
}

/// Sends `request` and reads the whole response, whatever its status.
async fn exchange<C>(
    client: Client<ConnectTimeout<C>, Full<Bytes>>,
    request: http::Request<Vec<u8>>,
    limits: Limits,
) -> TransportResult
where
    C: Service<Uri> + Clone + Send + Sync + 'static,
    C::Response: hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    let exchange = async {
        let response = client
            .request(request.map(|body| Full::new(Bytes::from(body))))
            .await
            .map_err(|e| map_error(&e))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, limits.max_body())
            .collect()
            .await
            .map_err(|e| map_error(&*e))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body.into()))
    };
    internal::within(limits.timeout(), exchange).await
}

/// Classifies an error by walking its causes.
fn map_error(error: &(dyn StdError + 'static)) -> TransportError {
    TransportError::new(classify(error), describe(error))
}

fn classify(error: &(dyn StdError + 'static)) -> TransportErrorKind {
    use TransportErrorKind as K;
    let specific = |e: &(dyn StdError + 'static)| {
        if e.is::<LengthLimitError>() {
            Some(K::BodyTooLarge)
        } else if e.is::<ProxyError>() {
            Some(K::Other)
        } else {
            None
        }
    };
    if let Some(kind) = internal::classify(error, specific) {
        return kind;
    }
    // A connection that could not be made: hyper-util says so, or a proxy refused the
    // tunnel (how it was reached is told by the causes).
    let connect = causes(error).any(|e| {
        e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(|c| c.is_connect())
            || e.is::<TunnelError>()
    });
    if connect { K::Connect } else { K::Other }
}
