//! The ureq transport on the network: proxies (through a recording CONNECT proxy on
//! 127.0.0.1), trust (the mock server's TLS mode) and connect timeouts.

mod connect_timeout;
mod plain_http;
mod proxy;
mod recording_proxy;
mod support;
mod trust;

use support::{env, from_parent, run_child, silent_listener, tls_server, token_request, trusting};
use zuora_oauth_core::{Token, TransportError};
use zuora_oauth_driver::{BlockingTransport, Limits};
use zuora_oauth_ureq::UreqTransport;

/// Sends the demo client's token request to `base_url` and reads the token.
fn fetch(transport: &UreqTransport, base_url: &str) -> Result<Token, TransportError> {
    fetch_within(transport, base_url, Limits::default())
}

/// [`fetch`] within `limits`.
fn fetch_within(
    transport: &UreqTransport,
    base_url: &str,
    limits: Limits,
) -> Result<Token, TransportError> {
    let request = token_request(base_url);
    let response = BlockingTransport::send(transport, request.to_http(), limits)?;
    Ok(request
        .parse_response(&response)
        .expect("the mock's answer is a token"))
}
