//! Which servers the transport trusts: Mozilla's roots by default, your own roots when
//! given.

use zuora_oauth_core::TransportErrorKind;
use zuora_oauth_driver::{ConnectOptions, TrustRoots};
use zuora_oauth_ureq::UreqTransport;

use crate::{fetch, tls_server, trusting};

#[test]
fn an_untrusted_certificate_is_refused() {
    let server = tls_server();
    let error = fetch(&UreqTransport::new(), &server.base_url()).unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error}");
    assert_eq!(server.token_request_count(), 0);
}

#[test]
fn a_certificate_trusted_through_a_custom_root_is_accepted() {
    let server = tls_server();
    let der = UreqTransport::with_options(ConnectOptions::default().with_trust(trusting(&server)));
    fetch(&der, &server.base_url()).unwrap();

    // In PEM, next to Mozilla's roots.
    let pem = TrustRoots::webpki()
        .with_pem(server.certificate_pem().unwrap())
        .unwrap();
    fetch(
        &UreqTransport::with_options(ConnectOptions::default().with_trust(pem)),
        &server.base_url(),
    )
    .unwrap();
    assert_eq!(server.token_request_count(), 2);
}

#[test]
fn trusting_one_server_does_not_trust_another() {
    let (trusted, other) = (tls_server(), tls_server());
    let transport =
        UreqTransport::with_options(ConnectOptions::default().with_trust(trusting(&trusted)));
    let error = fetch(&transport, &other.base_url()).unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error}");
    assert_eq!(other.token_request_count(), 0);
}
