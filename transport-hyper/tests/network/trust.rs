//! Which servers the transport trusts: Mozilla's roots by default, your own roots when
//! given.

use zuora_oauth_core::TransportErrorKind;
use zuora_oauth_driver::{ConnectOptions, ProxyPolicy, TrustRoots};
use zuora_oauth_hyper::HyperTransport;

use crate::{fetch, tls_server, transport};

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let server = tls_server();
    let error = fetch(&HyperTransport::new(), &server.base_url())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error}");
    assert_eq!(server.token_request_count(), 0);
}

#[tokio::test]
async fn a_certificate_trusted_through_a_custom_root_is_accepted() {
    let server = tls_server();
    let der = transport(&server, ProxyPolicy::none());
    fetch(&der, &server.base_url()).await.unwrap();

    // In PEM, next to Mozilla's roots.
    let pem = TrustRoots::webpki()
        .with_pem(server.certificate_pem().unwrap())
        .unwrap();
    let transport = HyperTransport::with_options(ConnectOptions::default().with_trust(pem));
    fetch(&transport, &server.base_url()).await.unwrap();
    assert_eq!(server.token_request_count(), 2);
}

#[tokio::test]
async fn trusting_one_server_does_not_trust_another() {
    let (trusted, other) = (tls_server(), tls_server());
    let transport = transport(&trusted, ProxyPolicy::none());
    let error = fetch(&transport, &other.base_url()).await.unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error}");
    assert_eq!(other.token_request_count(), 0);
}
