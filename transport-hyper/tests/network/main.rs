//! The hyper transport on the network: proxies (through a recording CONNECT proxy on
//! 127.0.0.1), trust (the mock server's TLS mode) and connect timeouts.

mod connect_timeout;
mod plain_http;
mod proxy;
#[path = "../../../transport-ureq/tests/network/recording_proxy.rs"]
mod recording_proxy;
#[path = "../../../transport-ureq/tests/network/support.rs"]
mod support;
mod trust;

use support::{env, from_parent, run_child, silent_listener, tls_server, token_request, trusting};
use zuora_oauth_core::{Token, TransportError};
use zuora_oauth_driver::{ConnectOptions, Limits, ProxyPolicy, Transport};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::MockServer;

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

/// A transport trusting `server` only, with `policy`.
fn transport(server: &MockServer, policy: ProxyPolicy) -> HyperTransport {
    HyperTransport::with_options(
        ConnectOptions::default()
            .with_trust(trusting(server))
            .with_proxy(policy),
    )
}
