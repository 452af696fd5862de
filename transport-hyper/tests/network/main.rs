//! The hyper transport on the network: proxies (through a recording CONNECT proxy on
//! 127.0.0.1), trust (the mock server's TLS mode) and connect timeouts.

mod connect_timeout;
mod plain_http;
mod proxy;
#[path = "../../../transport-ureq/tests/network/recording_proxy.rs"]
mod recording_proxy;
mod trust;

use std::net::TcpListener;

use zuora_oauth_core::{ClientId, ClientSecret, Environment, Token, TokenRequest, TransportError};
use zuora_oauth_driver::{ConnectOptions, Limits, ProxyPolicy, Transport, TrustRoots};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

/// The demo client's token request to `base_url`.
fn token_request(base_url: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(base_url).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

/// Sends the demo client's token request to `base_url` and reads the token.
async fn fetch(transport: &HyperTransport, base_url: &str) -> Result<Token, TransportError> {
    fetch_within(transport, base_url, Limits::default()).await
}

/// [`fetch`] within `limits`.
async fn fetch_within(
    transport: &HyperTransport,
    base_url: &str,
    limits: Limits,
) -> Result<Token, TransportError> {
    let request = token_request(base_url);
    let response = Transport::send(transport, request.to_http(), limits).await?;
    Ok(request
        .parse_response(&response)
        .expect("the mock's answer is a token"))
}

/// A mock Zuora server serving HTTPS with a self-signed certificate.
fn tls_server() -> MockServer {
    MockServer::builder().tls().start().unwrap()
}

/// Trust in `server`'s certificate, and nothing else.
fn trusting(server: &MockServer) -> TrustRoots {
    TrustRoots::empty()
        .with_der(server.certificate_der().unwrap())
        .unwrap()
}

/// A transport trusting `server` only, with `policy`.
fn transport(server: &MockServer, policy: ProxyPolicy) -> HyperTransport {
    HyperTransport::with_options(
        ConnectOptions::default()
            .with_trust(trusting(server))
            .with_proxy(policy),
    )
}

/// The policy the environment `vars` describe.
fn env(vars: &[(&str, &str)]) -> ProxyPolicy {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ProxyPolicy::from_env_with(move |name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

/// A port on 127.0.0.1 that accepts connections (the kernel's backlog does) and never says
/// a word: a TLS handshake with it never ends.
fn silent_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// The proxy variables every child process starts without, so that only what a test sets
/// is in effect.
pub(crate) const PROXY_VARIABLES: [&str; 8] = [
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Runs the ignored test `name` of this test binary in a child process with `vars` in its
/// environment (and no other proxy variable); panics unless it ran and passed.
fn run_child(name: &str, vars: &[(&str, &str)]) {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args([name, "--exact", "--ignored", "--test-threads=1"]);
    for var in PROXY_VARIABLES {
        command.env_remove(var);
    }
    let output = command.envs(vars.iter().copied()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The value of the environment variable `name`, set by the parent test.
fn from_parent(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the parent test"))
}
