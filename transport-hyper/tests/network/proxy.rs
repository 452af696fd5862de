//! Which requests go through a proxy, and how: the driver's policy decides, the transport
//! tunnels with CONNECT and speaks TLS to the server inside the tunnel.

use std::sync::Arc;

use zuora_oauth_core::TransportErrorKind;
use zuora_oauth_driver::{ConnectOptions, Proxy, ProxyPolicy, TrustRoots};
use zuora_oauth_hyper::{HyperTransport, ProxyConnector};
use zuora_oauth_testkit::{DEMO_CLIENT_SECRET, MockServer};

use crate::recording_proxy::RecordingProxy;
use crate::{env, fetch, from_parent, run_child, tls_server, transport};

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

#[tokio::test]
async fn https_goes_through_an_explicit_proxy_in_a_connect_tunnel() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    fetch(&transport(&server, via(&proxy)), &server.base_url())
        .await
        .unwrap();
    assert_tunnelled(&proxy, &server);
    assert_eq!(server.token_request_count(), 1);
}

#[tokio::test]
async fn https_goes_through_the_proxy_the_environment_names() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let policy = env(&[("HTTPS_PROXY", &proxy.url()), ("NO_PROXY", "localhost")]);
    fetch(&transport(&server, policy), &server.base_url())
        .await
        .unwrap();
    assert_tunnelled(&proxy, &server);
    assert_eq!(server.token_request_count(), 1);
}

#[tokio::test]
async fn proxy_credentials_go_on_the_connect_request_and_nowhere_else() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let url = proxy.url_with_credentials("zuora-bot", "p%40ss%3Aw0rd");
    let transport = transport(&server, ProxyPolicy::via(Proxy::parse(&url).unwrap()));
    fetch(&transport, &server.base_url()).await.unwrap();
    let requests = proxy.requests();
    // base64("zuora-bot:p@ss:w0rd")
    assert_eq!(
        requests[0].header("proxy-authorization"),
        Some("Basic enVvcmEtYm90OnBAc3M6dzByZA==")
    );
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

#[tokio::test]
async fn plain_http_never_goes_through_a_proxy() {
    let (server, proxy) = (MockServer::start().unwrap(), RecordingProxy::start());
    let everything = env(&[
        ("https_proxy", &proxy.url()),
        ("HTTPS_PROXY", &proxy.url()),
        ("ALL_PROXY", &proxy.url()),
        ("HTTP_PROXY", &proxy.url()),
        ("http_proxy", &proxy.url()),
    ]);
    for policy in [everything, via(&proxy)] {
        let transport = HyperTransport::with_options(ConnectOptions::default().with_proxy(policy));
        fetch(&transport, &server.base_url()).await.unwrap();
    }
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    assert_eq!(server.token_request_count(), 2);
}

#[tokio::test]
async fn no_proxy_sends_matching_hosts_direct() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let policy = env(&[
        ("HTTPS_PROXY", &proxy.url()),
        ("NO_PROXY", "example.com,127.0.0.1"),
    ]);
    fetch(&transport(&server, policy), &server.base_url())
        .await
        .unwrap();
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

#[tokio::test]
async fn a_proxy_refusing_the_tunnel_is_a_connect_error_without_secrets() {
    for status in ["407 Proxy Authentication Required", "403 Forbidden"] {
        let (server, proxy) = (tls_server(), RecordingProxy::refusing(status));
        let url = proxy.url_with_credentials("zuora-bot", "hunter2");
        let transport = transport(&server, ProxyPolicy::via(Proxy::parse(&url).unwrap()));
        let error = fetch(&transport, &server.base_url()).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Connect, "{error}");
        let text = error.to_string();
        assert!(text.contains(&proxy.url()), "names the proxy: {text}");
        for secret in ["hunter2", DEMO_CLIENT_SECRET, "enVvcmEtYm90"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(proxy.requests().len(), 1);
        assert_eq!(server.token_request_count(), 0);
    }
}

#[tokio::test]
async fn an_unusable_proxy_in_the_environment_fails_https_naming_the_variable() {
    let server = tls_server();
    let policy = env(&[("ALL_PROXY", "socks5://zuora-bot:hunter2@127.0.0.1:1080")]);
    let error = fetch(&transport(&server, policy), &server.base_url())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Other, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("ALL_PROXY") && !text.contains("hunter2"),
        "{text}"
    );
    assert_eq!(server.token_request_count(), 0);
}

/// A TLS layer of your own over the [`ProxyConnector`] keeps the policy.
#[tokio::test]
async fn your_own_tls_layer_over_the_proxy_connector_tunnels() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(server.certificate_der().unwrap().to_vec().into())
        .unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(ProxyConnector::new(via(&proxy)));
    let transport = HyperTransport::with_connector(https);
    fetch(&transport, &server.base_url()).await.unwrap();
    assert_tunnelled(&proxy, &server);
}

/// The builder's default policy is read from the process environment; an explicit one
/// replaces it. Run in child processes, whose environment the test sets.
#[test]
fn the_default_policy_is_the_process_environment_and_an_explicit_one_replaces_it() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let pem = std::env::temp_dir().join(format!("zuora-hyper-proxy-{}.pem", std::process::id()));
    std::fs::write(&pem, server.certificate_pem().unwrap()).unwrap();
    let run = |policy: &str| {
        let (url, base, pem) = (proxy.url(), server.base_url(), pem.display().to_string());
        let vars = [
            ("https_proxy", url.as_str()),
            ("TEST_BASE_URL", base.as_str()),
            ("TEST_CERT_PEM", pem.as_str()),
            ("TEST_POLICY", policy),
        ];
        run_child("proxy::child_fetches_a_token", &vars);
    };
    run("none");
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    run("default");
    assert_tunnelled(&proxy, &server);
    assert_eq!(server.token_request_count(), 2);
    std::fs::remove_file(&pem).unwrap();
}

#[tokio::test]
#[ignore = "run in a child process by the_default_policy_is_the_process_environment_and_an_explicit_one_replaces_it"]
async fn child_fetches_a_token() {
    let pem = std::fs::read(from_parent("TEST_CERT_PEM")).unwrap();
    let options = ConnectOptions::default().with_trust(TrustRoots::empty().with_pem(pem).unwrap());
    let options = match from_parent("TEST_POLICY").as_str() {
        "none" => options.with_proxy(ProxyPolicy::none()),
        _ => options,
    };
    fetch(
        &HyperTransport::with_options(options),
        &from_parent("TEST_BASE_URL"),
    )
    .await
    .unwrap();
}
