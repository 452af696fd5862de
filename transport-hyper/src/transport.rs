//! Sending one token request with hyper.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use zuora_oauth_core::{TransportError, TransportErrorKind};
use zuora_oauth_driver::causes::{causes, describe, io_kind};
use zuora_oauth_driver::{ConnectOptions, Limits, ProxyError};

use crate::connect::{ConnectTimeout, ProxyConnector, TunnelError};

/// The connector of [`HyperTransport::new`] and [`HyperTransport::with_options`]: rustls
/// (the driver's one TLS configuration, [`ConnectOptions::tls_config`]) over a
/// [`ProxyConnector`], bounded by a [`ConnectTimeout`]. Plain `http://` is only ever used for
/// loopback hosts, which the core enforces, and never through a proxy.
pub type DefaultConnector = ConnectTimeout<HttpsConnector<ProxyConnector>>;

/// Sends token requests with a hyper-util client: never follows redirects, returns every
/// status as a response, enforces a connect timeout, a timeout and a body cap ([`Limits`]),
/// and never sends plain http through a proxy, whatever the connector (see
/// [`with_connector`](HyperTransport::with_connector)). Holds no Zuora rules.
#[derive(Debug, Clone)]
pub struct HyperTransport<C = DefaultConnector> {
    /// Sends the https requests.
    client: Client<C, Full<Bytes>>,
    /// Sends the plain-http requests: a TCP connection to the server itself, never through
    /// a proxy or a connector of yours.
    direct: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HyperTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl HyperTransport {
    /// A transport with its own client and the default settings: proxy from the environment
    /// ([`ProxyPolicy::from_env`](zuora_oauth_driver::ProxyPolicy::from_env)), Mozilla's
    /// roots, a 30 s connect timeout ([`ConnectOptions::default`]).
    pub fn new() -> Self {
        Self::with_options(ConnectOptions::default())
    }

    /// A transport with its own client, connecting as `options` say: proxy, trust roots,
    /// connect timeout. Needs no runtime to build, but must be used on a tokio runtime.
    pub fn with_options(options: ConnectOptions) -> Self {
        let tcp = ProxyConnector::new(options.proxy().clone())
            .tcp_connect_timeout(options.connect_timeout());
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(options.tls_config())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        HyperTransport::from_connector(
            ConnectTimeout::new(https, options.connect_timeout()),
            options.connect_timeout(),
        )
    }

    /// A transport connecting with your connector (a TLS layer of your own, say), bounded by
    /// `connect_timeout`: connection setup, TLS included, never takes longer. Proxies for
    /// https are then your connector's business: put a [`ProxyConnector`] under your TLS
    /// layer to keep the [`ProxyPolicy`](zuora_oauth_driver::ProxyPolicy); through a proxy,
    /// https is a CONNECT tunnel whose content the proxy cannot read.
    ///
    /// **Plain http never goes through your connector.** A plain-http token URL (the core
    /// allows one only for a loopback host: a mock server, a local gateway) is sent on a TCP
    /// connection the transport opens to the server itself, bounded by `connect_timeout`. A
    /// proxy carrying plain http, even in a tunnel, reads the form, client secret included,
    /// and the transport cannot see where your connector connects.
    pub fn with_connector<D>(
        connector: D,
        connect_timeout: Duration,
    ) -> HyperTransport<ConnectTimeout<D>>
    where
        ConnectTimeout<D>: Connect + Clone + Send + Sync + 'static,
    {
        HyperTransport::from_connector(
            ConnectTimeout::new(connector, connect_timeout),
            connect_timeout,
        )
    }
}

impl<C> HyperTransport<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    fn from_connector(connector: C, connect_timeout: Duration) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(connect_timeout));
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            direct: Client::builder(TokioExecutor::new()).build(tcp),
        }
    }

    /// Sends `request` and reads the whole response, whatever its status.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let https = request
            .uri()
            .scheme_str()
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https"));
        let request = request.map(|body| Full::new(Bytes::from(body)));
        let exchange = async {
            let response = if https {
                self.client.request(request).await
            } else {
                self.direct.request(request).await
            }
            .map_err(|e| map_error(&e))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, limits.max_body())
                .collect()
                .await
                .map_err(|e| map_error(&*e))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body.into()))
        };
        let timeout = limits.timeout();
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no complete response within {timeout:?}"),
                ))
            })
    }
}

/// Classifies an error by walking its causes.
fn map_error(error: &(dyn StdError + 'static)) -> TransportError {
    TransportError::new(classify(error), describe(error))
}

fn classify(error: &(dyn StdError + 'static)) -> TransportErrorKind {
    use TransportErrorKind as K;
    let mut connect = false;
    for e in causes(error) {
        if e.is::<LengthLimitError>() {
            return K::BodyTooLarge;
        }
        if e.is::<rustls::Error>() {
            return K::Tls;
        }
        if e.is::<ProxyError>() {
            return K::Other;
        }
        if let Some(kind) = e.downcast_ref::<io::Error>().and_then(io_kind) {
            return kind;
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return K::Reset;
            }
            if h.is_timeout() {
                return K::Timeout;
            }
        }
        if let Some(c) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            connect |= c.is_connect();
        }
        // A proxy that refused the tunnel; how it was reached is told by the causes.
        connect |= e.is::<TunnelError>();
        // hyper-util's resolver error is private; it names itself.
        if e.to_string().starts_with("dns error") {
            return K::Dns;
        }
    }
    if connect { K::Connect } else { K::Other }
}
