//! Proxies from the environment, as a new user meets them: `HTTPS_PROXY` set for the whole
//! shell, and `zuora-token` run against a local mock (plain http, never proxied) or an
//! https URL (tunnelled with CONNECT, the secret never readable by the proxy).

#[path = "../../../transport-ureq/tests/network/recording_proxy.rs"]
mod recording_proxy;

use recording_proxy::RecordingProxy;

use crate::helpers::{Cli, SECRET_FORM_ENCODED, SECRET_MARKER, server};

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

#[test]
fn https_goes_through_the_environment_proxy_in_a_tunnel() {
    // The tunnel leads to the mock's plain-http port, so the TLS handshake inside it fails
    // (exit 6): enough to see what the proxy was given, and that it was never the form.
    let (server, proxy) = (server(), RecordingProxy::start());
    let outcome = Cli::new()
        .creds()
        .arg("--base-url")
        .arg(format!("https://{}", server.addr()))
        .env("HTTPS_PROXY", proxy.url())
        .run();
    outcome.failure(6);
    let lines: Vec<String> = proxy.requests().into_iter().map(|r| r.line).collect();
    assert_eq!(lines, [format!("CONNECT {} HTTP/1.1", server.addr())]);
    let tunnelled = String::from_utf8_lossy(&proxy.tunnelled()).into_owned();
    assert!(!tunnelled.contains(SECRET_MARKER) && !tunnelled.contains(SECRET_FORM_ENCODED));
    assert_eq!(server.token_request_count(), 0);
}
