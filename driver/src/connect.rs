//! How the native transports' own clients connect: proxy, trust, connect timeout, and the
//! TLS configuration they share.

use std::sync::Arc;
use std::time::Duration;

use crate::{ProxyPolicy, TrustRoots};

/// Default limit on connection setup: TCP, a proxy's CONNECT and the TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How a native transport's own client connects (`HyperTransport::with_options`,
/// `ReqwestTransport::with_options`): which proxy carries which request, which roots it
/// trusts, and how long connection setup may take.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    proxy: ProxyPolicy,
    trust: TrustRoots,
    connect_timeout: Duration,
}

impl Default for ConnectOptions {
    /// The proxy policy from the environment (read now: [`ProxyPolicy::from_env`]),
    /// Mozilla's roots ([`TrustRoots::webpki`]), a 30 s connect timeout.
    fn default() -> Self {
        Self {
            proxy: ProxyPolicy::from_env(),
            trust: TrustRoots::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl ConnectOptions {
    /// Which proxy carries which request. Plain http never goes through a proxy, whatever
    /// the policy.
    pub fn with_proxy(mut self, policy: ProxyPolicy) -> Self {
        self.proxy = policy;
        self
    }

    /// The root certificates to trust.
    pub fn with_trust(mut self, roots: TrustRoots) -> Self {
        self.trust = roots;
        self
    }

    /// Limits connection setup: TCP, a proxy's CONNECT and the TLS handshake together. A
    /// connection not ready in time fails with a timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// See [`ConnectOptions::with_proxy`].
    pub fn proxy(&self) -> &ProxyPolicy {
        &self.proxy
    }

    /// See [`ConnectOptions::with_trust`].
    pub fn trust(&self) -> &TrustRoots {
        &self.trust
    }

    /// See [`ConnectOptions::with_connect_timeout`].
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The rustls client configuration every native transport uses: the `ring` provider,
    /// rustls' safe default protocol versions, these roots, no client certificate.
    pub fn tls_config(&self) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        // Some OS stores hold certificates rustls cannot parse; custom roots were checked
        // when added.
        roots.add_parsable_certificates(self.trust.certificates());
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports rustls' default protocol versions"))
        .with_root_certificates(roots)
        .with_no_client_auth()
    }
}
