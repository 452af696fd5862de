//! Proxies from the environment, as a new user meets them: `HTTPS_PROXY` set for the whole
//! shell, and `zuora-token` run against a local mock (plain http, never proxied) or an
//! https server it trusts (tunnelled with CONNECT, the secret never readable by the proxy).

#[path = "../../../transport-ureq/tests/network/recording_proxy.rs"]
mod recording_proxy;

use recording_proxy::RecordingProxy;

use zuora_oauth_testkit::MockServer;

use crate::helpers::{CLIENT_ID, Cli, Home, SECRET, server};

/// Every proxy variable a shell may export, each naming `proxy`.
fn with_proxy_everywhere(cli: Cli, proxy: &RecordingProxy) -> Cli {
    [
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "http_proxy",
        "HTTP_PROXY",
    ]
    .into_iter()
    .fold(cli, |cli, var| cli.env(var, proxy.url()))
}

#[test]
fn a_loopback_http_server_is_reached_directly_whatever_the_proxy_variables() {
    let (server, proxy) = (server(), RecordingProxy::start());
    let outcome = with_proxy_everywhere(Cli::new().against(&server), &proxy).run();
    outcome.token();
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    assert_eq!(server.token_request_count(), 1);
}

/// With `HTTPS_PROXY` set, an https token URL is reached through a CONNECT tunnel that ends
/// at a real TLS server the run trusts (`--ca-cert`): the form is really sent through the
/// tunnel, the token arrives, and the proxy sees only the CONNECT line and ciphertext.
#[test]
fn https_goes_through_the_environment_proxy_in_a_tunnel_that_carries_only_ciphertext() {
    let server = MockServer::builder()
        .tls()
        .client(CLIENT_ID, SECRET)
        .start()
        .expect("TLS mock server starts");
    let proxy = RecordingProxy::start();
    let home = Home::new();
    let ca = home.path().join("mock-ca.pem");
    std::fs::write(&ca, server.certificate_pem().unwrap()).unwrap();
    let outcome = home
        .cli()
        .against(&server)
        .arg("--ca-cert")
        .arg(&ca)
        .env("HTTPS_PROXY", proxy.url())
        .run();
    outcome.token();
    assert_eq!(
        server.token_request_count(),
        1,
        "the form went through the tunnel"
    );
    let lines: Vec<String> = proxy.requests().into_iter().map(|r| r.line).collect();
    assert_eq!(lines, [format!("CONNECT {} HTTP/1.1", server.addr())]);
    assert_eq!(
        proxy.tunnelled().first(),
        Some(&0x16),
        "a TLS handshake record opens the tunnel"
    );
    proxy.assert_never_received(SECRET);
    proxy.assert_never_received(CLIENT_ID);
    let received = String::from_utf8_lossy(&proxy.received()).into_owned();
    assert!(!received.contains("client_secret"), "{received}");
}

/// Without `--ca-cert`, the same run does not trust the mock's certificate: a TLS failure
/// (exit 6) before any request is sent.
#[test]
fn an_https_server_the_run_does_not_trust_is_a_tls_failure_through_the_tunnel() {
    let server = MockServer::builder()
        .tls()
        .client(CLIENT_ID, SECRET)
        .start()
        .expect("TLS mock server starts");
    let proxy = RecordingProxy::start();
    let outcome = Cli::new()
        .against(&server)
        .env("HTTPS_PROXY", proxy.url())
        .run();
    let line = outcome.failure(6);
    assert!(
        line.to_lowercase().contains("tls") || line.contains("certificate"),
        "{line}"
    );
    assert_eq!(server.token_request_count(), 0);
    proxy.assert_never_received(SECRET);
}

/// A `--ca-cert` file that cannot be read, or holds no certificate, stops the run before
/// anything is sent: a usage error naming the flag.
#[test]
fn an_unusable_ca_cert_file_is_a_usage_error_and_nothing_is_sent() {
    let (server, home) = (server(), Home::new());
    let not_pem = home.path().join("not-a-certificate.pem");
    std::fs::write(&not_pem, "just text\n").unwrap();
    for path in [not_pem, home.path().join("missing.pem")] {
        let outcome = home
            .cli()
            .against(&server)
            .arg("--ca-cert")
            .arg(&path)
            .run();
        let message = outcome.usage_error();
        assert!(message.contains("--ca-cert"), "{message}");
    }
    assert_eq!(server.all_requests().len(), 0);
}
