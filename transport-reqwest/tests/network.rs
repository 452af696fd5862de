//! The reqwest transport on the network: redirects with a client of yours that follows
//! them, trust (the mock server's TLS mode) and proxies (a recording CONNECT proxy), all on
//! 127.0.0.1.

#[path = "../../transport-ureq/tests/network/recording_proxy.rs"]
mod recording_proxy;
#[path = "../../transport-ureq/tests/network/support.rs"]
mod support;

use recording_proxy::RecordingProxy;
use support::{
    every_proxy_variable_naming, from_parent, run_child, tls_server, token_request, trusting,
};
use zuora_oauth_core::{Error, Problem, Token, TransportError, TransportErrorKind};
use zuora_oauth_driver::{ConnectOptions, Limits, Proxy, ProxyPolicy, Transport};
use zuora_oauth_reqwest::ReqwestTransport;
use zuora_oauth_testkit::{DEMO_CLIENT_SECRET, Fault, MockServer};

/// The demo client's token request to `base_url`, sent and parsed.
async fn fetch(transport: &ReqwestTransport, base_url: &str) -> Result<Token, TransportError> {
    let request = token_request(base_url);
    let response = Transport::send(transport, request.to_http(), Limits::default()).await?;
    Ok(request.parse_response(&response).expect("a token"))
}

/// The core's verdict on the answer to the demo client's token request.
async fn verdict(transport: &ReqwestTransport, base_url: &str) -> Result<Token, Error> {
    let request = token_request(base_url);
    let response = Transport::send(transport, request.to_http(), Limits::default())
        .await
        .map_err(Error::Transport)?;
    request.parse_response(&response)
}

fn redirect_location(result: Result<Token, Error>) -> String {
    match result {
        Err(Error::UnexpectedResponse {
            problem: Problem::Redirect { location },
            ..
        }) => location.expect("a location"),
        other => panic!("not refused as a redirect: {other:?}"),
    }
}

/// A client of yours with reqwest's default policy (it follows up to 10 redirects),
/// trusting the certificates of `servers`. Your client carries https token requests; plain
/// http ones never go through it.
fn following_client(servers: &[&MockServer]) -> ReqwestTransport {
    // reqwest's TLS needs a crypto provider: reqwest's own `rustls` feature brings one,
    // this crate's `rustls-no-provider` does not.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = servers.iter().map(|server| {
        let der = server.certificate_der().unwrap();
        reqwest::Certificate::from_der(der).unwrap()
    });
    let client = reqwest::Client::builder()
        .tls_certs_only(roots)
        .build()
        .unwrap();
    ReqwestTransport::with_client(client)
}

#[tokio::test]
async fn your_client_fetches_a_token() {
    let server = tls_server();
    let token = fetch(&following_client(&[&server]), &server.base_url())
        .await
        .unwrap();
    assert_eq!(token.token_type(), "bearer");
    let recorded = &server.requests()[0];
    // The body reqwest cannot replay still has an exact size: no chunked encoding.
    assert!(recorded.header("content-length").is_some(), "{recorded:?}");
    assert_eq!(recorded.header("transfer-encoding"), None);
}

/// A 307/308 would re-send the form: the body is not replayable, so reqwest returns it.
#[tokio::test]
async fn a_307_is_not_followed_even_by_a_client_that_follows_redirects() {
    let (server, elsewhere) = (tls_server(), tls_server());
    for status in [307, 308] {
        server.push_fault(Fault::Redirect {
            status,
            location: elsewhere.token_url(),
        });
        let result = verdict(
            &following_client(&[&server, &elsewhere]),
            &server.base_url(),
        )
        .await;
        assert_eq!(redirect_location(result), elsewhere.token_url());
    }
    assert_eq!(elsewhere.all_requests().len(), 0, "the form went elsewhere");
}

/// reqwest follows a 302 as a GET without the form; the answer from elsewhere is refused.
#[tokio::test]
async fn a_followed_302_is_refused_and_never_carried_the_secret() {
    let (server, elsewhere) = (tls_server(), tls_server());
    for status in [301, 302, 303] {
        server.push_fault(Fault::Redirect {
            status,
            location: elsewhere.token_url(),
        });
        let result = verdict(
            &following_client(&[&server, &elsewhere]),
            &server.base_url(),
        )
        .await;
        assert_eq!(redirect_location(result), elsewhere.token_url());
    }
    let followed = elsewhere.requests();
    assert_eq!(followed.len(), 3);
    for request in followed {
        assert_eq!(request.method, "GET");
        assert!(request.body.is_empty(), "{request:?}");
        assert_eq!(request.form_value("client_secret"), None);
    }
}

/// With your client too, a plain-http token URL is answered without following a redirect:
/// the transport's own client, which follows none, sends it.
#[tokio::test]
async fn a_plain_http_redirect_is_not_followed_with_your_client() {
    let (server, elsewhere) = (MockServer::start().unwrap(), MockServer::start().unwrap());
    server.push_fault(Fault::Redirect {
        status: 302,
        location: elsewhere.token_url(),
    });
    let result = verdict(&following_client(&[]), &server.base_url()).await;
    assert_eq!(redirect_location(result), elsewhere.token_url());
    assert_eq!(elsewhere.all_requests().len(), 0);
}

#[tokio::test]
async fn the_own_client_returns_a_redirect_without_following_it() {
    let (server, elsewhere) = (MockServer::start().unwrap(), MockServer::start().unwrap());
    server.push_fault(Fault::Redirect {
        status: 302,
        location: elsewhere.token_url(),
    });
    let result = verdict(&ReqwestTransport::new(), &server.base_url()).await;
    assert_eq!(redirect_location(result), elsewhere.token_url());
    assert_eq!(elsewhere.all_requests().len(), 0);
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let server = tls_server();
    let transport =
        ReqwestTransport::with_options(ConnectOptions::default().with_proxy(ProxyPolicy::none()));
    let error = fetch(&transport, &server.base_url()).await.unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error}");
}

#[tokio::test]
async fn a_certificate_trusted_through_a_custom_root_is_accepted() {
    let server = tls_server();
    let transport = ReqwestTransport::with_options(
        ConnectOptions::default()
            .with_trust(trusting(&server))
            .with_proxy(ProxyPolicy::none()),
    );
    fetch(&transport, &server.base_url()).await.unwrap();
}

#[tokio::test]
async fn https_goes_through_the_policys_proxy_with_credentials_on_connect_only() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let url = proxy.url_with_credentials("zuora-bot", "p%40ss%3Aw0rd");
    let transport = ReqwestTransport::with_options(
        ConnectOptions::default()
            .with_trust(trusting(&server))
            .with_proxy(ProxyPolicy::via(Proxy::parse(&url).unwrap())),
    );
    fetch(&transport, &server.base_url()).await.unwrap();
    let requests = proxy.requests();
    let lines: Vec<&str> = requests.iter().map(|r| r.line.as_str()).collect();
    assert_eq!(lines, [format!("CONNECT {} HTTP/1.1", server.addr())]);
    // base64("zuora-bot:p@ss:w0rd")
    assert_eq!(
        requests[0].header("proxy-authorization"),
        Some("Basic enVvcmEtYm90OnBAc3M6dzByZA==")
    );
    let tunnelled = String::from_utf8_lossy(&proxy.tunnelled()).into_owned();
    assert!(!tunnelled.contains(DEMO_CLIENT_SECRET) && !tunnelled.contains("client_secret"));
    let shown = format!("{transport:?}");
    for secret in ["p@ss", "p%40ss", "w0rd", "enVvcmEtYm90"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    let received = &server.requests()[0];
    assert!(
        received
            .headers
            .iter()
            .all(|(name, _)| !name.eq_ignore_ascii_case("proxy-authorization"))
    );
}

#[tokio::test]
async fn plain_http_never_goes_through_a_proxy() {
    let (server, proxy) = (MockServer::start().unwrap(), RecordingProxy::start());
    let transport = ReqwestTransport::with_options(
        ConnectOptions::default().with_proxy(ProxyPolicy::via(Proxy::parse(&proxy.url()).unwrap())),
    );
    fetch(&transport, &server.base_url()).await.unwrap();
    assert!(proxy.requests().is_empty());
}

/// A child process builds the transport as `how` says, with every proxy variable naming a
/// recording proxy, and fetches a token from a mock on `http://127.0.0.1`.
fn assert_plain_http_goes_direct(how: &str) {
    support::assert_plain_http_goes_direct("child_fetches_a_token_over_plain_http", how);
}

#[test]
fn new_sends_plain_http_direct_whatever_the_proxy_variables() {
    assert_plain_http_goes_direct("new");
}

#[test]
fn with_options_sends_plain_http_direct_whatever_the_proxy_variables() {
    assert_plain_http_goes_direct("with_options");
}

/// reqwest's `Client::new()` reads the proxy variables and sends plain http through
/// `HTTP_PROXY` / `ALL_PROXY`, loopback included: the form would reach the proxy in clear.
#[test]
fn your_default_client_never_sends_the_form_through_an_environment_proxy() {
    assert_plain_http_goes_direct("with_client");
}

/// A proxy set on your client for every URL is not used for plain http either.
#[test]
fn your_client_with_a_proxy_of_its_own_never_sends_the_form_through_it() {
    assert_plain_http_goes_direct("with_client_proxy");
}

#[tokio::test]
#[ignore = "run in a child process by the tests above, with the proxy variables set"]
async fn child_fetches_a_token_over_plain_http() {
    let transport = match from_parent("TEST_TRANSPORT").as_str() {
        "new" => ReqwestTransport::new(),
        "with_options" => ReqwestTransport::with_options(ConnectOptions::default()),
        "with_client" => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            ReqwestTransport::with_client(reqwest::Client::new())
        }
        "with_client_proxy" => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let proxy = reqwest::Proxy::all(from_parent("TEST_PROXY_URL")).unwrap();
            ReqwestTransport::with_client(reqwest::Client::builder().proxy(proxy).build().unwrap())
        }
        other => panic!("no way to build a transport named {other}"),
    };
    let token = fetch(&transport, &from_parent("TEST_BASE_URL"))
        .await
        .unwrap();
    assert_eq!(token.token_type(), "bearer");
}

/// Your client's proxies still carry https: with every proxy variable set, `Client::new()`
/// (trusting the mock's certificate) opens a CONNECT tunnel, speaks TLS inside it, and the
/// proxy receives ciphertext only.
#[test]
fn your_client_tunnels_https_through_the_environment_proxy_and_the_proxy_sees_ciphertext() {
    let (server, proxy) = (tls_server(), RecordingProxy::start());
    let pem = std::env::temp_dir().join(format!("zuora-reqwest-proxy-{}.pem", std::process::id()));
    std::fs::write(&pem, server.certificate_pem().unwrap()).unwrap();
    let mut vars = every_proxy_variable_naming(&proxy.url());
    vars.extend([
        ("TEST_BASE_URL", server.base_url()),
        ("TEST_CERT_PEM", pem.display().to_string()),
    ]);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_child("child_fetches_a_token_over_https_with_your_client", &vars);
    std::fs::remove_file(&pem).unwrap();
    let lines: Vec<String> = proxy.requests().into_iter().map(|r| r.line).collect();
    assert_eq!(lines, [format!("CONNECT {} HTTP/1.1", server.addr())]);
    assert_eq!(
        proxy.tunnelled().first(),
        Some(&0x16),
        "TLS inside the tunnel"
    );
    proxy.assert_never_received(DEMO_CLIENT_SECRET);
    assert_eq!(server.token_request_count(), 1);
}

#[tokio::test]
#[ignore = "run in a child process by your_client_tunnels_https_through_the_environment_proxy_and_the_proxy_sees_ciphertext"]
async fn child_fetches_a_token_over_https_with_your_client() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pem = std::fs::read(from_parent("TEST_CERT_PEM")).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let transport = ReqwestTransport::with_client(client);
    fetch(&transport, &from_parent("TEST_BASE_URL"))
        .await
        .unwrap();
}
