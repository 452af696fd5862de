//! The custom-runtime example (a bare `TcpStream`, no HTTP client crate) against the mock
//! Zuora server: embedding the core needs nothing else.

#[path = "../examples/tcp_stream.rs"]
#[allow(dead_code)]
mod example;

use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer};

#[test]
fn bare_tcp_stream_driver_gets_a_token() {
    let server = MockServer::builder().start().unwrap();
    let token =
        example::fetch_token(&server.base_url(), DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).unwrap();
    assert_eq!(token.expires_in().as_secs(), 3599);
    assert!(
        server
            .issued_tokens()
            .iter()
            .any(|t| t.access_token == token.access_token().secret())
    );
    // The mock answers 200 only to the exact secret, percent-encoded (it records it redacted).
    let recorded = &server.requests()[0];
    assert_eq!(recorded.status, Some(200));
}

#[test]
fn bare_tcp_stream_driver_reports_zuora_errors() {
    let server = MockServer::builder().start().unwrap();
    server.push_fault(Fault::oauth_error(
        401,
        "invalid_client",
        "Bad client credentials",
    ));
    let err =
        example::fetch_token(&server.base_url(), DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).unwrap_err();
    assert!(err.to_string().contains("invalid_client"), "{err}");
}
