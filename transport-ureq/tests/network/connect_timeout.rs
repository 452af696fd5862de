//! Connection setup is bounded by the connect timeout (the source's, handed to the
//! transport in its `Limits`), TLS handshake included, with the transport's own agent or
//! yours. The overall timeout is much longer: only the connect timeout can end these
//! exchanges with the error they report.

use std::time::Duration;

use zuora_oauth_core::TransportErrorKind;
use zuora_oauth_driver::{BlockingTokenSource, Limits, TokenErrorKind};
use zuora_oauth_ureq::UreqTransport;

use crate::{fetch_within, silent_listener, token_request};

const CONNECT: Duration = Duration::from_millis(300);

fn assert_connect_timeout(transport: UreqTransport) {
    let silent = silent_listener();
    let url = format!("https://{}", silent.local_addr().unwrap());
    // The exchange's timeout is the default 30 s, far above the connect timeout.
    let limits = Limits::default().with_connect_timeout(CONNECT);
    let error = fetch_within(&transport, &url, limits).unwrap_err();
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

/// The connect timeout a user sets on the token source reaches the transport.
#[test]
fn the_sources_connect_timeout_cuts_the_handshake() {
    let silent = silent_listener();
    let url = format!("https://{}", silent.local_addr().unwrap());
    let source = BlockingTokenSource::builder(token_request(&url), UreqTransport::new())
        .with_connect_timeout(CONNECT)
        .build();
    let error = source.token().unwrap_err();
    assert_eq!(error.kind(), TokenErrorKind::Failed, "{error}");
    let Some(zuora_oauth_core::Error::Transport(cause)) = error.error() else {
        panic!("a transport failure: {error:?}");
    };
    assert_eq!(cause.kind(), TransportErrorKind::Timeout, "{cause}");
    assert!(cause.detail().contains("connect"), "{cause}");
}
