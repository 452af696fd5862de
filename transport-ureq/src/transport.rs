//! Sending one token request with ureq.

use std::io;
use std::time::Duration;

use ureq::Agent;
use zuora_oauth_core::{TransportError, TransportErrorKind};

/// Default limit on the whole exchange (connect, send, receive).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a response body; a token response is well under 1 KiB.
pub const DEFAULT_MAX_BODY: u64 = 64 * 1024;

/// Sends token requests with a ureq [`Agent`]: no redirects, no status-as-error, a
/// timeout and a body cap. Holds no Zuora rules: it moves bytes.
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: Agent,
    timeout: Duration,
    connect_timeout: Duration,
    max_body: u64,
}

impl Default for UreqTransport {
    fn default() -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("zuora-oauth-ureq/", env!("CARGO_PKG_VERSION")))
            .build();
        Self::with_agent(Agent::new_with_config(config))
    }
}

impl UreqTransport {
    /// A transport with its own agent (rustls with the `ring` provider and webpki roots).
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses your agent (proxy, TLS and pool settings). Whatever its configuration, token
    /// requests are sent without following redirects and with 4xx/5xx returned as
    /// responses, and with this transport's timeouts.
    pub fn with_agent(agent: Agent) -> Self {
        Self {
            agent,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Limits the whole exchange: connect, send and receive (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit on the whole exchange.
    pub fn timeout_value(&self) -> Duration {
        self.timeout
    }

    /// Limits connection setup, TLS included (default 30 s; never more than the timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Fails with [`TransportErrorKind::BodyTooLarge`] past this many body bytes
    /// (default 64 KiB).
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sends `request` and reads the whole response, whatever its status.
    pub fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let request = self
            .agent
            .configure_request(request)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(self.timeout))
            .timeout_connect(Some(self.connect_timeout.min(self.timeout)))
            .build();
        let response = self.agent.run(request).map_err(map_error)?;
        let (parts, mut body) = response.into_parts();
        let body = body
            .with_config()
            .limit(self.max_body)
            .read_to_vec()
            .map_err(map_error)?;
        Ok(http::Response::from_parts(parts, body))
    }
}

/// ureq's error → the small transport error every adapter shares.
fn map_error(error: ureq::Error) -> TransportError {
    use TransportErrorKind as K;
    let kind = match &error {
        ureq::Error::Timeout(_) => K::Timeout,
        ureq::Error::HostNotFound => K::Dns,
        ureq::Error::ConnectionFailed => K::Connect,
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
