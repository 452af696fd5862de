//! HTTPS (feature `tls`): a self-signed certificate for the loopback addresses and
//! `localhost`, made at start with rcgen, served by rustls with the ring provider.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The acceptor and the certificate clients must trust.
pub(crate) struct Tls {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) cert_der: Vec<u8>,
    pub(crate) cert_pem: String,
}

/// A certificate for `ip` (the address served), `127.0.0.1`, `::1` and `localhost`.
pub(crate) fn make(ip: IpAddr) -> io::Result<Tls> {
    let mut names = vec![
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        "localhost".to_owned(),
    ];
    if !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let cert_der = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        cert_der: cert_der.to_vec(),
        cert_pem: certified.cert.pem(),
    })
}
