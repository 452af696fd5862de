//! How connections are made: directly or through a CONNECT tunnel, as the driver's
//! [`ProxyPolicy`] decides, and never for longer than the connect timeout.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;
use zuora_oauth_driver::ProxyPolicy;
use zuora_oauth_driver::internal::ProxyRoute;

type BoxError = Box<dyn StdError + Send + Sync>;
type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// The TCP layer under TLS: connects to the server itself, or to a proxy and through a
/// CONNECT tunnel to the server, as its [`ProxyPolicy`] decides for each URI. The TLS layer
/// above it (hyper-rustls' `HttpsConnector`) then speaks TLS to the server, end to end.
///
/// [`HyperTransport::with_options`](crate::HyperTransport::with_options) puts one in every
/// transport it builds; use it yourself to keep the policy under a TLS layer of your own,
/// with [`HyperTransport::with_connector`](crate::HyperTransport::with_connector).
#[derive(Debug, Clone)]
pub struct ProxyConnector {
    policy: ProxyPolicy,
    tcp: HttpConnector,
}

impl ProxyConnector {
    /// A connector following `policy`.
    pub fn new(policy: ProxyPolicy) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        Self { policy, tcp }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self.policy.route(&dst) {
            Err(error) => Box::pin(async move { Err(error.into()) }),
            Ok(ProxyRoute::Direct) => {
                let connecting = self.tcp.call(dst);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
            Ok(ProxyRoute::Tunnel(proxy)) => {
                let mut tunnel = Tunnel::new(proxy.uri(), self.tcp.clone());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth);
                }
                let proxy_url = proxy.to_string();
                let target = format!(
                    "{}:{}",
                    dst.host().unwrap_or_default(),
                    dst.port_u16().unwrap_or(443)
                );
                let connecting = tunnel.call(dst);
                Box::pin(async move {
                    connecting.await.map_err(|source| {
                        let failed = TunnelError {
                            proxy: proxy_url,
                            target,
                            source: source.into(),
                        };
                        failed.into()
                    })
                })
            }
        }
    }
}

/// A CONNECT tunnel that could not be opened (the proxy refused it, or could not be
/// reached): names the proxy (never its credentials) and the target.
#[derive(Debug)]
pub(crate) struct TunnelError {
    proxy: String,
    target: String,
    source: BoxError,
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no CONNECT tunnel to {} through the proxy {}",
            self.target, self.proxy
        )
    }
}

impl StdError for TunnelError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// Bounds the whole of connection setup — TCP, the proxy's CONNECT, the TLS handshake — by
/// one timeout, whatever connector it wraps: a connection not ready in time fails with an
/// I/O error of kind `TimedOut`.
///
/// Every [`HyperTransport`](crate::HyperTransport) connects through one, bounded by the
/// source's connect timeout.
#[derive(Debug, Clone)]
pub(crate) struct ConnectTimeout<C> {
    inner: C,
    timeout: Duration,
}

impl<C> ConnectTimeout<C> {
    /// `inner`, bounded by `timeout`.
    pub(crate) fn new(inner: C, timeout: Duration) -> Self {
        Self { inner, timeout }
    }
}

impl<C> Service<Uri> for ConnectTimeout<C>
where
    C: Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Connecting<C::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connection not established within the connect timeout ({timeout:?})"),
                )
                .into()),
            }
        })
    }
}
