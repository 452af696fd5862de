//! Connection setup is bounded by the connect timeout, TLS handshake included, with the
//! transport's own agent or yours. The overall timeout is much longer: only the connect
//! timeout can end these exchanges with the error they report.

use std::time::Duration;

use zuora_oauth_core::TransportErrorKind;
use zuora_oauth_ureq::UreqTransport;

use crate::{fetch, silent_listener};

const CONNECT: Duration = Duration::from_millis(300);

fn assert_connect_timeout(transport: UreqTransport) {
    let silent = silent_listener();
    let url = format!("https://{}", silent.local_addr().unwrap());
    // The exchange's timeout is the default 30 s, far above the connect timeout.
    let error = fetch(&transport.connect_timeout(CONNECT), &url).unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
    assert!(error.detail().contains("connect"), "{error}");
}

#[test]
fn a_tls_handshake_that_never_ends_is_cut_by_the_connect_timeout() {
    assert_connect_timeout(UreqTransport::new());
}

#[test]
fn your_own_agent_keeps_the_connect_timeout() {
    assert_connect_timeout(UreqTransport::with_agent(ureq::Agent::new_with_defaults()));
}
