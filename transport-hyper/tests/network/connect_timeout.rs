//! Connection setup is bounded by the connect timeout (the source's, handed to the
//! transport in its `Limits`), TLS handshake included, with the transport's own connector
//! or yours. The overall timeout is much longer: only the connect timeout can end these
//! exchanges with the error they report.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use zuora_oauth_core::TransportErrorKind;
use zuora_oauth_driver::{Limits, TokenErrorKind, TokenSource};
use zuora_oauth_hyper::HyperTransport;

use crate::{fetch_within, silent_listener, token_request};

const CONNECT: Duration = Duration::from_millis(300);

async fn assert_connect_timeout(transport: HyperTransport) {
    let silent = silent_listener();
    let url = format!("https://{}", silent.local_addr().unwrap());
    // The exchange's timeout is the default 30 s, far above the connect timeout.
    let limits = Limits::default().with_connect_timeout(CONNECT);
    let error = fetch_within(&transport, &url, limits).await.unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
    assert!(error.detail().contains("connect timeout"), "{error}");
}

#[tokio::test]
async fn a_tls_handshake_that_never_ends_is_cut_by_the_connect_timeout() {
    assert_connect_timeout(HyperTransport::new()).await;
}

/// The connect timeout a user sets on the token source reaches the transport.
#[tokio::test]
async fn the_sources_connect_timeout_cuts_the_handshake() {
    let silent = silent_listener();
    let url = format!("https://{}", silent.local_addr().unwrap());
    let source = TokenSource::builder(token_request(&url), HyperTransport::new())
        .with_connect_timeout(CONNECT)
        .build();
    let error = source.token().await.unwrap_err();
    assert_eq!(error.kind(), TokenErrorKind::Failed, "{error}");
    let Some(zuora_oauth_core::Error::Transport(cause)) = error.error() else {
        panic!("a transport failure: {error:?}");
    };
    assert_eq!(cause.kind(), TransportErrorKind::Timeout, "{cause}");
    assert!(cause.detail().contains("connect timeout"), "{cause}");
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
    assert_connect_timeout(HyperTransport::with_connector(https)).await;
}
