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

/// Default limit on the whole exchange (connect, send, receive).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body; a token response is well under 1 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// The default connector: rustls (ring provider, Mozilla's roots via webpki-roots) over
/// hyper-util's `HttpConnector`. Plain `http://` is only ever used for loopback hosts, which
/// the core enforces.
pub type DefaultConnector = HttpsConnector<HttpConnector>;

/// Sends token requests with a hyper-util client: never follows redirects, returns every
/// status as a response, enforces a timeout and a body cap. Holds no Zuora rules.
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
    /// A transport with its own client (rustls + ring, webpki roots, HTTP/1.1) and a 30 s
    /// connect timeout.
    pub fn new() -> Self {
        Self::with_connect_timeout(DEFAULT_TIMEOUT)
    }

    /// Like [`HyperTransport::new`] with another connect timeout (TCP connect; TLS is
    /// bounded by the overall [`timeout`](HyperTransport::timeout)).
    pub fn with_connect_timeout(connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        let https = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring supports rustls' default protocol versions")
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self::with_client(Client::builder(TokioExecutor::new()).build(https))
    }
}

impl<C> HyperTransport<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// Uses your client (connector, proxy, pool settings). hyper-util's client never
    /// follows redirects, so the token call never does either.
    pub fn with_client(client: Client<C, Full<Bytes>>) -> Self {
        Self {
            client,
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

/// Classifies an error by walking its source chain.
fn map_error(error: &(dyn StdError + 'static)) -> TransportError {
    TransportError::new(classify(error), describe(error))
}

fn classify(error: &(dyn StdError + 'static)) -> TransportErrorKind {
    use TransportErrorKind as K;
    let mut connect = false;
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<LengthLimitError>() {
            return K::BodyTooLarge;
        }
        if e.is::<rustls::Error>() {
            return K::Tls;
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return K::Tls;
            }
            match io.kind() {
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::NetworkUnreachable => {
                    return K::Connect;
                }
                io::ErrorKind::TimedOut => return K::Timeout,
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => {
                    return K::Reset;
                }
                _ => {}
            }
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
        // hyper-util's resolver error is private; it names itself.
        if e.to_string().starts_with("dns error") {
            return K::Dns;
        }
        cause = e.source();
    }
    if connect { K::Connect } else { K::Other }
}

/// The error and its causes, one line.
fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}
