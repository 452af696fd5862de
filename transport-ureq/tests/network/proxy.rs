//! Which requests go through a proxy, and how: the driver's policy decides, the transport
//! tunnels with CONNECT and speaks TLS to the server inside the tunnel.

use zuora_oauth_core::TransportErrorKind;
use zuora_oauth_driver::{ConnectOptions, Proxy, ProxyPolicy, TrustRoots};
use zuora_oauth_testkit::{DEMO_CLIENT_SECRET, MockServer};
use zuora_oauth_ureq::UreqTransport;

use crate::recording_proxy::RecordingProxy;
use crate::{env, fetch, from_parent, run_child, tls_server, trusting};

fn via(proxy: &RecordingProxy) -> ProxyPolicy {
    ProxyPolicy::via(Proxy::parse(&proxy.url()).unwrap())
}

/// Exactly one CONNECT to `server` went through `proxy`, carrying TLS and never the secret.
fn assert_tunnelled(proxy: &RecordingProxy, server: &MockServer) {
    let requests = proxy.requests();
    let lines: Vec<&str> = requests.iter().map(|r| r.line.as_str()).collect();
    assert_eq!(lines, [format!("CONNECT {} HTTP/1.1", server.addr())]);
    let tunnelled = proxy.tunnelled();
    assert_eq!(
        tunnelled.first(),
        Some(&0x16),
        "a TLS handshake record comes first"
    );
    let text = String::from_utf8_lossy(&tunnelled);
    assert!(!text.contains(DEMO_CLIENT_SECRET) && !text.contains("client_secret"));
}

#[test]
fn https_goes_through_an_explicit_proxy_in_a_connect_tunnel() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let transport =
        UreqTransport::with_options(ConnectOptions::default().with_trust(trusting(&server)))
            .with_proxy(via(&proxy));
    fetch(&transport, &server.base_url()).unwrap();
    assert_tunnelled(&proxy, &server);
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn https_goes_through_the_proxy_the_environment_names() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let policy = env(&[("HTTPS_PROXY", &proxy.url()), ("NO_PROXY", "localhost")]);
    let transport =
        UreqTransport::with_options(ConnectOptions::default().with_trust(trusting(&server)))
            .with_proxy(policy);
    fetch(&transport, &server.base_url()).unwrap();
    assert_tunnelled(&proxy, &server);
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn proxy_credentials_go_on_the_connect_request_and_nowhere_else() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let url = proxy.url_with_credentials("zuora-bot", "p%40ss%3Aw0rd");
    let transport =
        UreqTransport::with_options(ConnectOptions::default().with_trust(trusting(&server)))
            .with_proxy(ProxyPolicy::via(Proxy::parse(&url).unwrap()));
    fetch(&transport, &server.base_url()).unwrap();
    let requests = proxy.requests();
    // base64("zuora-bot:p@ss:w0rd")
    assert_eq!(
        requests[0].header("proxy-authorization"),
        Some("Basic enVvcmEtYm90OnBAc3M6dzByZA==")
    );
    // The server never sees them.
    let received = server.requests();
    assert!(
        received[0]
            .headers
            .iter()
            .all(|(name, _)| !name.eq_ignore_ascii_case("proxy-authorization"))
    );
    let shown = format!("{transport:?}");
    for secret in ["p@ss", "p%40ss", "w0rd", "enVvcmEtYm90"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn plain_http_never_goes_through_a_proxy() {
    let (server, proxy) = (MockServer::start().unwrap(), RecordingProxy::start());
    let everything = env(&[
        ("https_proxy", &proxy.url()),
        ("HTTPS_PROXY", &proxy.url()),
        ("ALL_PROXY", &proxy.url()),
        ("HTTP_PROXY", &proxy.url()),
        ("http_proxy", &proxy.url()),
    ]);
    for policy in [everything, via(&proxy)] {
        fetch(&UreqTransport::new().with_proxy(policy), &server.base_url()).unwrap();
    }
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    assert_eq!(server.token_request_count(), 2);
}

#[test]
fn no_proxy_sends_matching_hosts_direct() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let policy = env(&[
        ("HTTPS_PROXY", &proxy.url()),
        ("NO_PROXY", "example.com,127.0.0.1"),
    ]);
    fetch(
        &UreqTransport::with_options(ConnectOptions::default().with_trust(trusting(&server)))
            .with_proxy(policy),
        &server.base_url(),
    )
    .unwrap();
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

#[test]
fn the_policy_overrides_a_proxy_set_on_your_agent() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let root = ureq::tls::Certificate::from_der(server.certificate_der().unwrap()).to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(Some(ureq::Proxy::new(&proxy.url()).unwrap()))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::from([root]))
                .build(),
        )
        .build()
        .into();
    let transport = UreqTransport::with_agent(agent).with_proxy(ProxyPolicy::none());
    fetch(&transport, &server.base_url()).unwrap();
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

#[test]
fn a_proxy_refusing_the_tunnel_is_a_connect_error_without_secrets() {
    for status in ["407 Proxy Authentication Required", "403 Forbidden"] {
        let (server, proxy) = (tls_server(), RecordingProxy::refusing(status));
        let url = proxy.url_with_credentials("zuora-bot", "hunter2");
        let transport =
            UreqTransport::with_options(ConnectOptions::default().with_trust(trusting(&server)))
                .with_proxy(ProxyPolicy::via(Proxy::parse(&url).unwrap()));
        let error = fetch(&transport, &server.base_url()).unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Connect, "{error}");
        let text = error.to_string();
        assert!(
            text.contains(&status[..3]) && text.contains(&proxy.url()),
            "{text}"
        );
        for secret in ["hunter2", DEMO_CLIENT_SECRET, "enVvcmEtYm90"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(proxy.requests().len(), 1);
        assert_eq!(server.token_request_count(), 0);
    }
}

#[test]
fn an_unusable_proxy_in_the_environment_fails_https_naming_the_variable() {
    let server = tls_server();
    let policy = env(&[("ALL_PROXY", "socks5://zuora-bot:hunter2@127.0.0.1:1080")]);
    let error = fetch(
        &UreqTransport::with_options(ConnectOptions::default().with_trust(trusting(&server)))
            .with_proxy(policy),
        &server.base_url(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Other, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("ALL_PROXY") && !text.contains("hunter2"),
        "{text}"
    );
    assert_eq!(server.token_request_count(), 0);
}

/// The transport's default policy is read from the process environment; an explicit one
/// replaces it. Run in child processes, whose environment the test sets.
#[test]
fn the_default_policy_is_the_process_environment_and_an_explicit_one_replaces_it() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let pem = std::env::temp_dir().join(format!("zuora-ureq-proxy-{}.pem", std::process::id()));
    std::fs::write(&pem, server.certificate_pem().unwrap()).unwrap();
    let vars = |policy: &'static str| {
        [
            ("https_proxy", proxy.url()),
            ("TEST_BASE_URL", server.base_url()),
            ("TEST_CERT_PEM", pem.display().to_string()),
            ("TEST_POLICY", policy.to_owned()),
        ]
    };
    let run = |policy| {
        let vars = vars(policy);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_child("proxy::child_fetches_a_token", &vars);
    };
    run("none");
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    run("default");
    assert_tunnelled(&proxy, &server);
    assert_eq!(server.token_request_count(), 2);
    std::fs::remove_file(&pem).unwrap();
}

#[test]
#[ignore = "run in a child process by the_default_policy_is_the_process_environment_and_an_explicit_one_replaces_it"]
fn child_fetches_a_token() {
    let pem = std::fs::read(from_parent("TEST_CERT_PEM")).unwrap();
    let roots = TrustRoots::empty().with_pem(pem).unwrap();
    let transport = UreqTransport::with_options(ConnectOptions::default().with_trust(roots));
    let transport = match from_parent("TEST_POLICY").as_str() {
        "none" => transport.with_proxy(ProxyPolicy::none()),
        _ => transport,
    };
    fetch(&transport, &from_parent("TEST_BASE_URL")).unwrap();
}
