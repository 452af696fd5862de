//! Where the store connects and how it names and bounds things.

use std::fmt;
use std::sync::Mutex;

use base64::Engine as _;
use redis::TlsCertificates;
use redis::cluster::ClusterClientBuilder;
use zuora_oauth_driver::TrustRoots;

use crate::RedisStore;
use crate::store::{Target, cluster_client};

/// The default key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "zuora-oauth:";

/// Builds a [`RedisStore`] with options; start from [`RedisStore::builder`] (one server) or
/// [`RedisStore::cluster_builder`] (Redis Cluster).
///
/// URLs: `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS (rustls,
/// Mozilla's roots unless [`with_trust`](Self::with_trust) says otherwise). The user and password
/// are sent with `AUTH` (an ACL user, or the `default` user when only a password is given).
#[derive(Clone)]
pub struct RedisStoreBuilder {
    nodes: Vec<String>,
    cluster: bool,
    prefix: String,
    trust: Option<TrustRoots>,
}

impl RedisStoreBuilder {
    pub(crate) fn new(nodes: Vec<String>, cluster: bool) -> Self {
        Self {
            nodes,
            cluster,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            trust: None,
        }
    }

    /// Put before every key (default [`DEFAULT_KEY_PREFIX`], `zuora-oauth:`), to keep
    /// the store's keys apart in a shared Redis or to match an ACL key pattern. It may not
    /// contain `{` or `}` (the rest of the key is a Cluster hash tag).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The certificate authorities trusted for `rediss://` (default: Mozilla's roots). A
    /// private CA: `TrustRoots::empty().with_pem(ca_pem)?`.
    pub fn with_trust(mut self, roots: TrustRoots) -> Self {
        self.trust = Some(roots);
        self
    }

    /// The store. No connection is made yet (Redis may be down at this point).
    pub fn build(self) -> Result<RedisStore, ConfigError> {
        if self.prefix.contains(['{', '}']) {
            return Err(ConfigError::new(
                "the key prefix may not contain `{` or `}` (the keys' Cluster hash tag follows it)",
            ));
        }
        let target = self.target()?;
        Ok(RedisStore::new(self.prefix, target))
    }

    fn target(&self) -> Result<Target, ConfigError> {
        if self.nodes.is_empty() {
            return Err(ConfigError::new("no Redis URL"));
        }
        let tls = self.nodes.iter().any(|url| url.starts_with("rediss://"));
        if tls {
            ensure_crypto_provider();
        }
        let certificates = self.trust.as_ref().filter(|_| tls).map(certificates);
        if self.cluster {
            let nodes = self.nodes.clone();
            let builder = move || {
                let builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str));
                match &certificates {
                    Some(certificates) => builder.certs(certificates.clone()),
                    None => builder,
                }
            };
            // Checked now, so that a bad URL is a configuration error, not a store failure.
            cluster_client(builder(), std::time::Duration::from_secs(1))
                .map_err(|e| invalid_url(&e))?;
            Ok(Target::Cluster {
                builder: Box::new(move |timeout| cluster_client(builder(), timeout)),
                client: Mutex::new(None),
            })
        } else {
            let [url] = self.nodes.as_slice() else {
                return Err(ConfigError::new(
                    "one URL for a single Redis server; use cluster_builder for several nodes",
                ));
            };
            let client = match certificates {
                Some(certificates) => redis::Client::build_with_tls(url.as_str(), certificates),
                None => redis::Client::open(url.as_str()),
            }
            .map_err(|e| invalid_url(&e))?;
            Ok(Target::Node(client))
        }
    }
}

impl fmt::Debug for RedisStoreBuilder {
    // The URLs may hold a password: not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("nodes", &self.nodes.len())
            .field("cluster", &self.cluster)
            .field("prefix", &self.prefix)
            .field("trust", &self.trust)
            .finish()
    }
}

/// The store could not be configured: a bad URL or option. The message never quotes a
/// URL (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    fn new(message: &str) -> Self {
        Self(message.to_owned())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redis token store: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

fn invalid_url(e: &redis::RedisError) -> ConfigError {
    // Only the kind: a parse error's detail could quote the URL.
    ConfigError(format!(
        "invalid Redis URL or options ({:?}); expected redis://[user:password@]host[:port][/db] \
         or rediss://…, the same user, password, database and scheme on every Cluster node",
        e.kind()
    ))
}

/// redis-rs builds its rustls configurations with the process-wide default provider. If
/// none is installed yet, install ring's (the one this workspace uses), so that a process
/// with several providers compiled in does not panic. A default already installed is kept.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race: either way a provider is then installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The trusted roots, as the PEM that redis-rs takes.
fn certificates(roots: &TrustRoots) -> TlsCertificates {
    let mut pem = String::new();
    for certificate in roots.certificates() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(certificate.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.into_bytes()),
    }
}
