//! Plain http (a mock Zuora or a local gateway on loopback) never goes through a proxy,
//! however the transport was built: with every proxy variable naming a recording proxy
//! (which forwards plain requests, as a real one does), the token arrives and the proxy
//! never receives the form. The variables are the process's, so each case runs in a child
//! process.

use zuora_oauth_driver::ConnectOptions;
use zuora_oauth_ureq::UreqTransport;

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

/// ureq's default agent reads the proxy variables for every URL, loopback included.
#[test]
fn your_default_agent_sends_plain_http_direct_whatever_the_proxy_variables() {
    assert_plain_http_goes_direct("with_agent");
}

#[test]
fn your_agent_with_a_proxy_of_its_own_never_sends_the_form_through_it() {
    assert_plain_http_goes_direct("with_agent_proxy");
}

#[test]
#[ignore = "run in a child process by the tests above, with the proxy variables set"]
fn child_fetches_a_token_over_plain_http() {
    let transport = match from_parent("TEST_TRANSPORT").as_str() {
        "new" => UreqTransport::new(),
        "with_options" => UreqTransport::with_options(ConnectOptions::default()),
        "with_agent" => UreqTransport::with_agent(ureq::Agent::new_with_defaults()),
        "with_agent_proxy" => {
            let proxy = ureq::Proxy::new(&from_parent("TEST_PROXY_URL")).unwrap();
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .proxy(Some(proxy))
                .build()
                .into();
            UreqTransport::with_agent(agent)
        }
        other => panic!("no way to build a transport named {other}"),
    };
    fetch(&transport, &from_parent("TEST_BASE_URL")).unwrap();
}
