//! Sending one token request with hyper.

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::Connect;
use hyper_util::rt::TokioExecutor;
use rustls::{ClientConfig, RootCertStore};
use zuora_oauth_core::{TransportError, TransportErrorKind};
use zuora_oauth_driver::causes::{causes, describe, io_kind};
use zuora_oauth_driver::{ProxyError, ProxyPolicy, TrustRoots};

use crate::connect::{ConnectTimeout, ProxyConnector, TunnelError};

/// Default limit on the whole exchange (connect, send, receive).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit on connection setup: TCP, a proxy's CONNECT, the TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body; a token response is well under 1 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// The connector of [`HyperTransport::new`] and [`HyperTransport::builder`]: rustls (ring
/// provider, the builder's [`TrustRoots`]) over a [`ProxyConnector`], bounded by a
/// [`ConnectTimeout`]. Plain `http://` is only ever used for loopback hosts, which the core
/// enforces, and never through a proxy.
pub type DefaultConnector = ConnectTimeout<HttpsConnector<ProxyConnector>>;

/// Sends token requests with a hyper-util client: never follows redirects, returns every
/// status as a response, enforces a connect timeout, a timeout and a body cap. Holds no Zuora
/// rules.
#[derive(Debug, Clone)]
pub struct HyperTransport<C = DefaultConnector> {
    client: Client<C, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
}

impl Default for HyperTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl HyperTransport {
    /// A transport with the default settings: proxy from the environment
    /// ([`ProxyPolicy::from_env`]), Mozilla's roots ([`TrustRoots::webpki`]), a 30 s connect
    /// timeout. The same as `HyperTransport::builder().build()`.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Settings for a transport with its own client: proxy, trust roots, connect timeout.
    /// The proxy policy is read from the environment now, unless you set one.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder {
            proxy: ProxyPolicy::from_env(),
            trust: TrustRoots::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// A transport connecting with your connector (a TLS layer of your own, say), bounded by
    /// `connect_timeout`: connection setup, TLS included, never takes longer. Proxies are
    /// then your connector's business: put a [`ProxyConnector`] under your TLS layer to keep
    /// the [`ProxyPolicy`].
    pub fn with_connector<D>(
        connector: D,
        connect_timeout: Duration,
    ) -> HyperTransport<ConnectTimeout<D>>
    where
        ConnectTimeout<D>: Connect + Clone + Send + Sync + 'static,
    {
        HyperTransport::from_connector(ConnectTimeout::new(connector, connect_timeout))
    }
}

/// Builds a [`HyperTransport`] with its own client: [`HyperTransport::builder`].
#[derive(Debug, Clone)]
pub struct HyperTransportBuilder {
    proxy: ProxyPolicy,
    trust: TrustRoots,
    connect_timeout: Duration,
}

impl HyperTransportBuilder {
    /// Which proxy carries which request (default: [`ProxyPolicy::from_env`]). Plain http
    /// never goes through a proxy, whatever the policy.
    pub fn proxy(mut self, policy: ProxyPolicy) -> Self {
        self.proxy = policy;
        self
    }

    /// The root certificates to trust (default: [`TrustRoots::webpki`]).
    pub fn trust(mut self, roots: TrustRoots) -> Self {
        self.trust = roots;
        self
    }

    /// Limits connection setup: TCP, a proxy's CONNECT and the TLS handshake together
    /// (default 30 s). A connection not ready in time fails with
    /// [`TransportErrorKind::Timeout`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The transport. Needs no runtime to build, but must be used on a tokio runtime.
    pub fn build(self) -> HyperTransport {
        let mut roots = RootCertStore::empty();
        // Some OS stores hold certificates rustls cannot parse; custom roots were checked
        // when added.
        roots.add_parsable_certificates(self.trust.certificates());
        let tls =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports rustls' default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        let tcp = ProxyConnector::new(self.proxy).tcp_connect_timeout(self.connect_timeout);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        HyperTransport::from_connector(ConnectTimeout::new(https, self.connect_timeout))
    }
}

impl<C> HyperTransport<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    fn from_connector(connector: C) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Limits the whole exchange: connect, send and receive the body (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit on the whole exchange.
    pub fn timeout_value(&self) -> Duration {
        self.timeout
    }

    /// Fails with [`TransportErrorKind::BodyTooLarge`] past this many body bytes
    /// (default 64 KiB).
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sends `request` and reads the whole response, whatever its status.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let exchange = async {
            let response = self
                .client
                .request(request.map(|body| Full::new(Bytes::from(body))))
                .await
                .map_err(|e| map_error(&e))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, self.max_body)
                .collect()
                .await
                .map_err(|e| map_error(&*e))?
                .to_bytes();
            Ok(http::Response::from_parts(parts, body.into()))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no complete response within {:?}", self.timeout),
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
