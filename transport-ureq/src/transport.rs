//! Sending one token request with ureq.

use std::fmt;
use std::io;

use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use zuora_oauth_core::{TransportError, TransportErrorKind};
use zuora_oauth_driver::internal::ProxyRoute;
use zuora_oauth_driver::{
    BlockingTransport, ConnectOptions, Limits, Proxy, ProxyPolicy, TransportResult,
};

/// Sends token requests with a ureq [`Agent`]: no redirects, no status-as-error, the
/// [`ProxyPolicy`]'s route, and the source's [`Limits`] (connect timeout, timeout, body
/// cap). Holds no Zuora rules: it moves bytes.
///
/// `Debug` shows the settings, never proxy credentials.
#[derive(Clone)]
pub struct UreqTransport {
    agent: Agent,
    proxy: ProxyPolicy,
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl UreqTransport {
    /// A transport with its own agent and the default settings: proxy from the environment
    /// ([`ProxyPolicy::from_env`]) and Mozilla's roots ([`ConnectOptions::default`]).
    pub fn new() -> Self {
        Self::with_options(ConnectOptions::default())
    }

    /// A transport with its own agent (rustls with the `ring` provider), connecting as
    /// `options` say: proxy and trust roots.
    pub fn with_options(options: ConnectOptions) -> Self {
        let certificates: Vec<Certificate<'static>> = options
            .trust()
            .certificates()
            .iter()
            .map(|der| Certificate::from_der(der).to_owned())
            .collect();
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("zuora-oauth-ureq/", env!("CARGO_PKG_VERSION")))
            // ureq's own default reads the environment for every URL; the policy decides.
            .proxy(None)
            .tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::from(certificates))
                    .build(),
            )
            .build();
        Self::with_agent(Agent::new_with_config(config)).with_proxy(options.proxy().clone())
    }

    /// Uses your agent (TLS and pool settings). Whatever its configuration, token requests
    /// are sent without following redirects, with 4xx/5xx returned as responses, with the
    /// source's timeouts, and through the proxy this transport's [`ProxyPolicy`] picks
    /// (default: [`ProxyPolicy::from_env`]), not the agent's.
    pub fn with_agent(agent: Agent) -> Self {
        Self {
            agent,
            proxy: ProxyPolicy::from_env(),
        }
    }

    /// Which proxy carries which request (default: [`ProxyPolicy::from_env`], read when the
    /// transport was made). Plain http never goes through a proxy, whatever the policy.
    pub fn with_proxy(mut self, policy: ProxyPolicy) -> Self {
        self.proxy = policy;
        self
    }
}

impl BlockingTransport for UreqTransport {
    /// Sends `request` and reads the whole response, whatever its status.
    fn send(&self, request: http::Request<Vec<u8>>, limits: Limits) -> TransportResult {
        let via = match self.proxy.route(request.uri()) {
            Ok(ProxyRoute::Direct) => None,
            Ok(ProxyRoute::Tunnel(proxy)) => Some(proxy),
            Err(error) => {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    error.to_string(),
                ));
            }
        };
        let proxy = via.map(ureq_proxy).transpose()?;
        let request = self
            .agent
            .configure_request(request)
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(proxy)
            .timeout_global(Some(limits.timeout()))
            .timeout_connect(Some(limits.connect_timeout()))
            .build();
        let response = self.agent.run(request).map_err(|error| {
            let mut error = map_error(error);
            if let Some(proxy) = via {
                let detail = format!("{} (through the proxy {proxy})", error.detail());
                error = TransportError::new(error.kind(), detail);
            }
            error
        })?;
        let (parts, mut body) = response.into_parts();
        let body = body
            .with_config()
            .limit(u64::try_from(limits.max_body()).unwrap_or(u64::MAX))
            .read_to_vec()
            .map_err(map_error)?;
        Ok(http::Response::from_parts(parts, body))
    }
}

impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The agent's own Debug would show a proxy it was configured with, credentials hinted.
        f.debug_struct("UreqTransport")
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// The policy's proxy as ureq's: an HTTP proxy, so ureq tunnels with CONNECT and sends the
/// credentials as `Proxy-Authorization: Basic` on the CONNECT request only.
fn ureq_proxy(proxy: &Proxy) -> Result<ureq::Proxy, TransportError> {
    let mut builder = ureq::Proxy::builder(ureq::ProxyProtocol::Http)
        .host(proxy.host())
        .port(proxy.port());
    if let (Some(user), Some(password)) = (proxy.username(), proxy.password()) {
        builder = builder.username(user).password(password);
    }
    builder.build().map_err(|_| {
        TransportError::new(
            TransportErrorKind::Other,
            format!("ureq cannot use the proxy {proxy}"),
        )
    })
}

/// ureq's error → the small transport error every adapter shares.
fn map_error(error: ureq::Error) -> TransportError {
    use TransportErrorKind as K;
    let kind = match &error {
        ureq::Error::Timeout(_) => K::Timeout,
        ureq::Error::HostNotFound => K::Dns,
        ureq::Error::ConnectionFailed | ureq::Error::ConnectProxyFailed(_) => K::Connect,
        ureq::Error::BodyExceedsLimit(_) => K::BodyTooLarge,
        ureq::Error::Tls(_) | ureq::Error::Pem(_) | ureq::Error::Rustls(_) => K::Tls,
        ureq::Error::Io(e) => io_kind(e),
        ureq::Error::Protocol(_) => K::Reset,
        _ => K::Other,
    };
    TransportError::new(kind, error.to_string())
}

fn io_kind(e: &io::Error) -> TransportErrorKind {
    use io::ErrorKind as Io;
    // rustls reports handshake and certificate failures as I/O errors wrapping its own.
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return TransportErrorKind::Tls;
    }
    match e.kind() {
        Io::ConnectionRefused
        | Io::HostUnreachable
        | Io::NetworkUnreachable
        | Io::AddrNotAvailable => TransportErrorKind::Connect,
        Io::ConnectionReset
        | Io::ConnectionAborted
        | Io::BrokenPipe
        | Io::UnexpectedEof
        | Io::NotConnected => TransportErrorKind::Reset,
        Io::TimedOut | Io::WouldBlock => TransportErrorKind::Timeout,
        _ => TransportErrorKind::Other,
    }
}
