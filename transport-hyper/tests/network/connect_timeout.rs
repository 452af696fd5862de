//! Connection setup is bounded by the connect timeout, TLS handshake included, with the
//! transport's own connector or yours. The overall timeout is much longer: only the connect
//! timeout can end these exchanges with the error they report.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use zuora_oauth_core::TransportErrorKind;
use zuora_oauth_hyper::{ConnectOptions, HyperTransport};

use crate::{fetch, silent_listener};

const CONNECT: Duration = Duration::from_millis(300);

async fn assert_connect_timeout<C>(transport: HyperTransport<C>)
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let silent = silent_listener();
    let url = format!("https://{}", silent.local_addr().unwrap());
    // The exchange's timeout is the default 30 s, far above the connect timeout.
    let error = fetch(&transport, &url).await.unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
    assert!(error.detail().contains("connect timeout"), "{error}");
}

#[tokio::test]
async fn a_tls_handshake_that_never_ends_is_cut_by_the_connect_timeout() {
    assert_connect_timeout(HyperTransport::with_options(
        ConnectOptions::default().with_connect_timeout(CONNECT),
    ))
    .await;
}

#[tokio::test]
async fn your_own_connector_keeps_the_connect_timeout() {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(tcp);
    assert_connect_timeout(HyperTransport::with_connector(https, CONNECT)).await;
}
