//! What makes the mock safe beside real work: CORS only when asked, the control API closed
//! to web pages, secrets redacted from every recording, loopback addresses only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

fn preflight(url: &str, private_network: bool) -> Reply {
    let mut request = agent()
        .options(url)
        .header("Origin", "https://example.test")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type");
    if private_network {
        request = request.header("Access-Control-Request-Private-Network", "true");
    }
    reply(request.call().unwrap())
}

fn access_control_headers(r: &Reply) -> Vec<&str> {
    r.headers
        .iter()
        .filter(|(k, _)| k.starts_with("access-control-"))
        .map(|(k, _)| k.as_str())
        .collect()
}

#[test]
fn cors_is_off_by_default() {
    let server = MockServer::start().unwrap();
    let control_url = format!("{}/__mock/requests", server.base_url());
    for url in [
        server.token_url(),
        server.protected_url(),
        control_url.clone(),
    ] {
        for private_network in [false, true] {
            let r = preflight(&url, private_network);
            assert_eq!(r.status, 403, "{url}");
            assert_eq!(access_control_headers(&r), Vec::<&str>::new(), "{url}");
            assert!(r.json()["message"].as_str().unwrap().contains("--cors"));
        }
    }
    // A real request from a page gets its answer but no CORS headers: the browser hides it.
    let r = reply(
        agent()
            .post(server.token_url())
            .header("Origin", "https://example.test")
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(access_control_headers(&r), Vec::<&str>::new());
    // A plain OPTIONS (no preflight) is a method the routes do not serve.
    for url in [
        server.token_url(),
        server.protected_url(),
        control_url.clone(),
    ] {
        let r = reply(agent().options(&url).call().unwrap());
        assert_eq!(r.status, 405, "{url}");
    }
    assert_eq!(server.pending_rules().len(), 0);
}

#[test]
fn the_control_api_refuses_web_pages_while_cors_is_off() {
    let server = MockServer::start().unwrap();
    get_token(&server);
    let url = |route: &str| format!("{}/__mock/{route}", server.base_url());
    // A page may not read the recordings…
    let r = reply(
        agent()
            .get(url("requests"))
            .header("Origin", "https://example.test")
            .call()
            .unwrap(),
    );
    assert_eq!(r.status, 403);
    assert!(!r.body.contains("client_id"), "{}", r.body);
    // …nor script the server with a "simple" cross-site POST (no preflight).
    let r = reply(
        agent()
            .post(url("faults"))
            .header("Origin", "https://example.test")
            .content_type("text/plain")
            .send(r#"{"kind":"reset_connection","times":"always"}"#)
            .unwrap(),
    );
    assert_eq!(r.status, 403);
    assert!(server.pending_rules().is_empty());
    // Without an Origin (test code, curl) it is open.
    assert_eq!(control(&server, "GET", "requests", None).status, 200);
}

#[test]
fn cors_when_asked_opens_the_server_and_the_control_api_to_pages() {
    let server = MockServer::builder().cors(true).start().unwrap();
    let r = preflight(&format!("{}/__mock/faults", server.base_url()), true);
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-private-network"),
        Some("true")
    );
    let r = reply(
        agent()
            .get(format!("{}/__mock/requests", server.base_url()))
            .header("Origin", "https://example.test")
            .call()
            .unwrap(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://example.test")
    );
    assert_eq!(control(&server, "GET", "info", None).json()["cors"], true);
}

#[test]
fn the_control_api_answers_only_loopback_host_names() {
    let server = MockServer::builder().cors(true).start().unwrap();
    let get = |host: &str, path: &str| {
        raw_exchange(
            server.addr(),
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .text()
    };
    let port = server.addr().port();
    // A page that rebinds its own name to 127.0.0.1 sends its name as Host.
    for host in [
        "rebind.example.test".to_owned(),
        format!("rebind.example.test:{port}"),
        format!("127.0.0.1.example.test:{port}"),
    ] {
        let text = get(&host, "/__mock/requests");
        assert!(text.starts_with("HTTP/1.1 403 "), "{host}: {text}");
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_owned(),
    ] {
        let text = get(&host, "/__mock/requests");
        assert!(text.starts_with("HTTP/1.1 200 "), "{host}: {text}");
    }
    // The token endpoint and the API do not care about the name.
    assert!(get("zuora.example.test", "/v1/catalog/products").starts_with("HTTP/1.1 401 "));
}

#[test]
fn client_secrets_are_redacted_in_every_form_of_the_recording() {
    let server = MockServer::start().unwrap();
    let encoded = serde_urlencoded::to_string([("s", DEMO_CLIENT_SECRET)]).unwrap()[2..].to_owned();
    // 1. A good request: the mock validated the real secret.
    assert_eq!(get_token(&server).status, 200);
    // 2. The secret sent unencoded: the mock saw it differ (401), the recording hides it.
    let raw_form = format!(
        "client_id={DEMO_CLIENT_ID}&client_secret={DEMO_CLIENT_SECRET}&grant_type=client_credentials"
    );
    let r = reply(
        agent()
            .post(server.token_url())
            .content_type("application/x-www-form-urlencoded")
            .send(raw_form.as_str())
            .unwrap(),
    );
    assert_eq!(r.status, 401);
    // 3. In the query string, 4. as JSON, 5. as HTTP Basic credentials.
    let r = reply(
        agent()
            .post(format!("{}?client_secret={encoded}", server.token_url()))
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_eq!(r.status, 200);
    let r = reply(
        agent()
            .post(server.token_url())
            .content_type("application/json")
            .send(
                json!({"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
                    .to_string(),
            )
            .unwrap(),
    );
    assert_eq!(r.status, 415);
    let basic = base64_encode(format!("{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}").as_bytes());
    let r = reply(
        agent()
            .post(server.token_url())
            .header("Authorization", &format!("Basic {basic}"))
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_eq!(r.status, 400);

    let records = server.requests();
    assert_eq!(records.len(), 5);
    let secret_forms = [
        DEMO_CLIENT_SECRET.to_owned(),
        encoded.clone(),
        basic.clone(),
        // The unencoded secret as a form parser reads it ('+' is a space).
        DEMO_CLIENT_SECRET.replace('+', " "),
    ];
    let rust = format!("{records:?}");
    let json = control(&server, "GET", "requests", None).body;
    for secret in &secret_forms {
        assert!(!rust.contains(secret.as_str()), "{secret} in {rust}");
        assert!(!json.contains(secret.as_str()), "{secret} in {json}");
        for r in &records {
            assert!(!String::from_utf8_lossy(&r.body).contains(secret.as_str()));
        }
    }
    for r in &records[..3] {
        assert_eq!(r.form_value("client_secret"), Some(REDACTED));
        assert_eq!(r.form_value("client_id"), Some(DEMO_CLIENT_ID));
        assert!(
            String::from_utf8_lossy(&r.body).contains("client_secret=%5Bredacted%5D"),
            "{:?}",
            String::from_utf8_lossy(&r.body)
        );
    }
    assert_eq!(records[2].path, "/oauth/token?client_secret=%5Bredacted%5D");
    let as_json: Value = serde_json::from_slice(&records[3].body).unwrap();
    assert_eq!(as_json["client_secret"], REDACTED);
    assert_eq!(as_json["client_id"], DEMO_CLIENT_ID);
    assert_eq!(records[4].header("authorization"), Some("Basic [redacted]"));
    // The control API's JSON carries the same redacted values.
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["requests"][0]["form"][1],
        json!(["client_secret", REDACTED])
    );
}

/// Standard base64 with padding (what an HTTP Basic header carries).
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn only_loopback_addresses_are_bound() {
    for ip in [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    ] {
        let err = MockServer::builder().bind(ip).start().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{ip}");
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(err.to_string().contains(&ip.to_string()), "{err}");
    }
    let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let server = MockServer::builder().bind(other).start().unwrap();
    assert_eq!(server.addr().ip(), other);
    assert!(server.base_url().starts_with("http://127.0.0.2:"));
    assert_eq!(get_token(&server).status, 200);
    assert!(server.requests()[0].peer.ip().is_loopback());

    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine: bind(::1) not tried");
        return;
    }
    let server = MockServer::builder()
        .bind(IpAddr::V6(Ipv6Addr::LOCALHOST))
        .start()
        .unwrap();
    assert_eq!(server.addr().ip(), Ipv6Addr::LOCALHOST);
    let port = server.addr().port();
    assert_eq!(server.base_url(), format!("http://[::1]:{port}"));
    assert_eq!(
        server.token_url(),
        format!("http://[::1]:{port}/oauth/token")
    );
    let token = access_token(&server);
    let r = call_api(
        &server,
        "GET",
        "/v1/accounts/A00000001",
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        control(&server, "GET", "info", None).status,
        200,
        "[::1] is a loopback host"
    );
}
