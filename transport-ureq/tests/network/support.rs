//! What the network tests of the three native transports (hyper, ureq, reqwest) share: the
//! demo client's token request, a TLS mock and trust in it, proxy policies from given
//! variables, and tests run in a child process with proxy variables of their own (the
//! environment is the process's: setting it in a test would race the others). Each test
//! binary includes this file (`#[path]`) and uses the part it needs.

#![allow(dead_code)]

use std::net::TcpListener;

use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::{ProxyPolicy, TrustRoots};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

use crate::recording_proxy::RecordingProxy;

/// The demo client's token request to `base_url`.
pub(crate) fn token_request(base_url: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(base_url).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(DEMO_CLIENT_SECRET).unwrap(),
    )
}

/// A mock Zuora server serving HTTPS with a self-signed certificate.
pub(crate) fn tls_server() -> MockServer {
    MockServer::builder().tls().start().unwrap()
}

/// Trust in `server`'s certificate, and nothing else.
pub(crate) fn trusting(server: &MockServer) -> TrustRoots {
    TrustRoots::empty()
        .with_der(server.certificate_der().unwrap())
        .unwrap()
}

/// The policy the environment `vars` describe.
pub(crate) fn env(vars: &[(&str, &str)]) -> ProxyPolicy {
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
pub(crate) fn silent_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// The proxy variables a shell may export. Every child process starts without them, so
/// that only what a test sets is in effect.
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
pub(crate) fn run_child(name: &str, vars: &[(&str, &str)]) {
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

/// Every proxy variable but `no_proxy` naming the proxy at `url`.
pub(crate) fn every_proxy_variable_naming(url: &str) -> Vec<(&'static str, String)> {
    PROXY_VARIABLES[..6]
        .iter()
        .map(|var| (*var, url.to_owned()))
        .collect()
}

/// The value of the environment variable `name`, set by the parent test.
pub(crate) fn from_parent(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the parent test"))
}

/// With every proxy variable naming a recording proxy (which forwards plain requests, as a
/// real one does), the ignored test `child` (in a child process) builds the transport as
/// `how` says (`TEST_TRANSPORT`) and fetches a token from a mock Zuora on
/// `http://127.0.0.1` (`TEST_BASE_URL`; the proxy is `TEST_PROXY_URL`): the token arrives,
/// and the proxy never receives the form (nor anything else).
pub(crate) fn assert_plain_http_goes_direct(child: &str, how: &str) {
    let (server, proxy) = (MockServer::start().unwrap(), RecordingProxy::start());
    let mut vars = every_proxy_variable_naming(&proxy.url());
    vars.extend([
        ("TEST_BASE_URL", server.base_url()),
        ("TEST_PROXY_URL", proxy.url()),
        ("TEST_TRANSPORT", how.to_owned()),
    ]);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_child(child, &vars);
    proxy.assert_never_received(DEMO_CLIENT_SECRET);
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    assert_eq!(server.token_request_count(), 1);
}
