//! Plain http (a mock Zuora or a local gateway on loopback) never goes through a proxy,
//! however the transport was built: with every proxy variable naming a recording proxy
//! (which forwards plain requests, as a real one does), the token arrives and the proxy
//! never receives the form. The variables are the process's, so each case runs in a child
//! process.

use std::sync::Arc;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use zuora_oauth_driver::ConnectOptions;
use zuora_oauth_hyper::HyperTransport;

use crate::{fetch, from_parent};

/// A child process builds the transport as `how` says, with every proxy variable naming a
/// recording proxy, and fetches a token from a mock on `http://127.0.0.1`.
fn assert_plain_http_goes_direct(how: &str) {
    crate::support::assert_plain_http_goes_direct(
        "plain_http::child_fetches_a_token_over_plain_http",
        how,
    );
}

#[test]
fn new_sends_plain_http_direct_whatever_the_proxy_variables() {
    assert_plain_http_goes_direct("new");
}

#[test]
fn with_options_sends_plain_http_direct_whatever_the_proxy_variables() {
    assert_plain_http_goes_direct("with_options");
}

#[test]
fn your_connector_sends_plain_http_direct_whatever_the_proxy_variables() {
    assert_plain_http_goes_direct("with_connector");
}

/// A connector of yours that tunnels every connection through a proxy would carry plain
/// http in clear inside the tunnel: plain http never goes through your connector.
#[test]
fn your_connector_tunnelling_everything_never_carries_the_form() {
    assert_plain_http_goes_direct("with_connector_tunnel");
}

/// rustls with the ring provider and no root: these tests speak plain http only.
fn tls() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

#[tokio::test]
#[ignore = "run in a child process by the tests above, with the proxy variables set"]
async fn child_fetches_a_token_over_plain_http() {
    let base_url = from_parent("TEST_BASE_URL");
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls())
        .https_or_http()
        .enable_http1();
    match from_parent("TEST_TRANSPORT").as_str() {
        "new" => fetch(&HyperTransport::new(), &base_url).await,
        "with_options" => {
            let transport = HyperTransport::with_options(ConnectOptions::default());
            fetch(&transport, &base_url).await
        }
        "with_connector" => {
            let transport = HyperTransport::with_connector(https.build());
            fetch(&transport, &base_url).await
        }
        "with_connector_tunnel" => {
            let proxy = from_parent("TEST_PROXY_URL").parse().unwrap();
            let tunnel = Tunnel::new(proxy, HttpConnector::new());
            let transport = HyperTransport::with_connector(https.wrap_connector(tunnel));
            fetch(&transport, &base_url).await
        }
        other => panic!("no way to build a transport named {other}"),
    }
    .unwrap();
}
