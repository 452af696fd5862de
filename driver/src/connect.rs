//! How the native transports' own clients connect: proxy and trust, and the TLS
//! configuration they share.

use std::sync::Arc;

use crate::{ProxyPolicy, TrustRoots};

/// How a native transport's own client connects (`HyperTransport::with_options`,
/// `ReqwestTransport::with_options`, `UreqTransport::with_options`): which proxy carries
/// which request, and which roots it trusts. Timeouts are the token source's
/// ([`TokenSourceBuilder::with_connect_timeout`](crate::TokenSourceBuilder::with_connect_timeout)).
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    proxy: ProxyPolicy,
    trust: TrustRoots,
}

impl Default for ConnectOptions {
    /// The proxy policy from the environment (read now: [`ProxyPolicy::from_env`]) and
    /// Mozilla's roots ([`TrustRoots::webpki`]).
    fn default() -> Self {
        Self {
            proxy: ProxyPolicy::from_env(),
            trust: TrustRoots::default(),
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

    /// See [`ConnectOptions::with_proxy`].
    pub fn proxy(&self) -> &ProxyPolicy {
        &self.proxy
    }

    /// See [`ConnectOptions::with_trust`].
    pub fn trust(&self) -> &TrustRoots {
        &self.trust
    }
}

/// The rustls client configuration every native transport uses: the `ring` provider,
/// rustls' safe default protocol versions, the roots of `options`, no client certificate.
pub fn tls_config(options: &ConnectOptions) -> rustls::ClientConfig {
    {
        let mut roots = rustls::RootCertStore::empty();
        // Some OS stores hold certificates rustls cannot parse; custom roots were checked
        // when added.
        roots.add_parsable_certificates(options.trust.certificates());
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("ring supports rustls' default protocol versions"))
        .with_root_certificates(roots)
        .with_no_client_auth()
    }
}
