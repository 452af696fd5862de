//! The testkit's own tests: the mock server seen from plain HTTP clients (ureq, and raw TCP
//! for the connection-level faults). Only loopback addresses are ever contacted.
//!
//! This file: the token endpoint, faults, the control API, lifecycle and the binary.
//! `api.rs`: the mock Zuora API. `rules.rs`: scoped faults and the arrival waits.
//! `safety.rs`: CORS, redaction, the control API's gate and the bind address.

mod api;
mod rules;
mod safety;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zuora_oauth_testkit::{
    DEFAULT_REDIRECT_LOCATION, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer,
    OversizedFill, REDACTED, RetryAfter, StallEnd, TokenFields,
};

// ---------------------------------------------------------------------------------------
// helpers

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

const GOOD_FORM: [(&str, &str); 3] = [
    ("client_id", DEMO_CLIENT_ID),
    ("client_secret", DEMO_CLIENT_SECRET),
    ("grant_type", "client_credentials"),
];

/// A response read in full: status, headers (lower-case names), body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

fn reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(16 * 1024 * 1024)
        .read_to_string()
        .expect("read body");
    Reply {
        status,
        headers,
        body,
    }
}

fn post_form(url: &str, form: &[(&str, &str)]) -> Reply {
    reply(
        agent()
            .post(url)
            .send_form(form.iter().copied())
            .expect("request"),
    )
}

fn get_token(server: &MockServer) -> Reply {
    post_form(&server.token_url(), &GOOD_FORM)
}

fn access_token(server: &MockServer) -> String {
    let r = get_token(server);
    assert_eq!(r.status, 200, "{r:?}");
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn call_protected(server: &MockServer, authorization: Option<&str>) -> Reply {
    let mut request = agent().get(server.protected_url());
    if let Some(auth) = authorization {
        request = request.header("Authorization", auth);
    }
    reply(request.call().expect("request"))
}

/// A call to the mock API: `headers` as given, a JSON `body` when there is one.
fn call_api(
    server: &MockServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(server.api_url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = match body {
        Some(body) => agent().run(
            request
                .header("Content-Type", "application/json")
                .body(body.to_owned())
                .expect("a valid request"),
        ),
        None => agent().run(request.body(()).expect("a valid request")),
    };
    reply(response.expect("request"))
}

/// A token for `client_id` (and `entity`, sent as `Zuora-Entity-Ids`).
fn token_for(server: &MockServer, client_id: &str, secret: &str, entity: Option<&str>) -> String {
    let mut request = agent().post(server.token_url());
    if let Some(entity) = entity {
        request = request.header("Zuora-Entity-Ids", entity);
    }
    let r = reply(
        request
            .send_form([
                ("client_id", client_id),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
            ])
            .expect("request"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn control(server: &MockServer, method: &str, route: &str, body: Option<&str>) -> Reply {
    let url = format!("{}/__mock/{route}", server.base_url());
    let a = agent();
    let r = match (method, body) {
        ("GET", _) => a.get(url).call(),
        ("DELETE", _) => a.delete(url).call(),
        ("POST", Some(b)) => a.post(url).content_type("application/json").send(b),
        ("POST", None) => a.post(url).send_empty(),
        _ => unreachable!(),
    };
    reply(r.expect("control request"))
}

fn form_body() -> String {
    serde_urlencoded::to_string(GOOD_FORM).unwrap()
}

/// What a raw TCP client saw.
#[derive(Debug)]
struct Raw {
    bytes: Vec<u8>,
    /// The error that ended reading, if it did not end with EOF.
    error: Option<io::ErrorKind>,
    /// When the first byte arrived, from the moment the request was written.
    first_byte: Option<Duration>,
    /// How many bytes the first successful read returned.
    first_read_len: usize,
    /// When reading ended.
    end: Duration,
}

impl Raw {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn head_and_body(&self) -> (String, Vec<u8>) {
        let at = self
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete header block");
        (
            String::from_utf8_lossy(&self.bytes[..at]).into_owned(),
            self.bytes[at + 4..].to_vec(),
        )
    }

    fn content_length(&self) -> usize {
        let (head, _) = self.head_and_body();
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().unwrap())
            })
            .expect("content-length")
    }
}

/// Sends `request` as is and reads until EOF or an error (`Connection: close` is expected
/// in the request so a normal answer ends with EOF).
fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).expect("write request");
    let start = Instant::now();
    let mut bytes = Vec::new();
    let mut first_byte = None;
    let mut first_read_len = 0;
    let mut buf = [0u8; 16 * 1024];
    let error = loop {
        match stream.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => {
                if first_byte.is_none() {
                    first_byte = Some(start.elapsed());
                    first_read_len = n;
                }
                bytes.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Some(e.kind()),
        }
    };
    Raw {
        bytes,
        error,
        first_byte,
        first_read_len,
        end: start.elapsed(),
    }
}

fn raw_token_request(server: &MockServer, extra_headers: &str) -> Raw {
    let body = form_body();
    let request = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        server.addr(),
        body.len()
    );
    raw_exchange(server.addr(), request.as_bytes())
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

// ---------------------------------------------------------------------------------------
// success

#[test]
fn success_has_zuoras_shape_and_headers() {
    let server = MockServer::start().unwrap();
    assert_eq!(server.base_url(), format!("http://{}", server.addr()));
    assert!(!server.base_url().ends_with('/'));
    assert_eq!(
        server.token_url(),
        format!("{}/oauth/token", server.base_url())
    );

    let r = reply(
        agent()
            .post(server.token_url())
            .header("Zuora-Track-Id", "trace-42")
            .header("Accept", "application/json")
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    assert!(is_uuid(r.header("zuora-request-id").unwrap()));
    assert_eq!(r.header("zuora-track-id"), Some("trace-42"));
    assert!(httpdate::parse_http_date(r.header("date").unwrap()).is_ok());
    assert_eq!(r.header("x-ratelimit-limit-minute"), Some("100"));
    assert_eq!(r.header("x-ratelimit-remaining-minute"), Some("99"));
    assert_eq!(r.header("ratelimit-limit"), Some("100, 100;w=60"));
    assert_eq!(r.header("ratelimit-remaining"), Some("99"));
    let reset: u64 = r.header("ratelimit-reset").unwrap().parse().unwrap();
    assert!((1..=60).contains(&reset));

    let body = r.json();
    let token = body["access_token"].as_str().unwrap();
    let jti = body["jti"].as_str().unwrap();
    assert!(is_hex32(token) && is_hex32(jti) && token != jti);
    assert_eq!(body["expires_in"], json!(3599));
    assert!(body["expires_in"].is_u64());
    assert_eq!(body["token_type"], "bearer");
    let scope: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    assert_eq!(scope.len(), 5, "{scope:?}");
    assert!(is_hex32(scope[0].strip_prefix("user.").unwrap()));
    assert!(is_uuid(scope[1].strip_prefix("entity.").unwrap()));
    assert_eq!(scope[2..4], ["platform.write", "service.echo.read"]);
    scope[4]
        .strip_prefix("tenant.")
        .unwrap()
        .parse::<u32>()
        .unwrap();

    let issued = server.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].access_token, token);
    assert_eq!(issued[0].jti, jti);
    assert_eq!(issued[0].client_id, DEMO_CLIENT_ID);
    assert!(issued[0].is_live());
    assert_eq!(
        issued[0]
            .expires_at
            .duration_since(issued[0].issued_at)
            .unwrap(),
        Duration::from_secs(3599)
    );
}

#[test]
fn tokens_are_unique_and_each_response_has_a_fresh_request_id() {
    let server = MockServer::start().unwrap();
    let a = get_token(&server);
    let b = get_token(&server);
    assert_ne!(a.json()["access_token"], b.json()["access_token"]);
    assert_ne!(a.header("zuora-request-id"), b.header("zuora-request-id"));
    // Same client, same server: same user, entity and tenant.
    assert_eq!(a.json()["scope"], b.json()["scope"]);
    assert!(a.header("zuora-track-id").is_none());
}

#[test]
fn entity_header_is_used_in_scope() {
    let server = MockServer::start().unwrap();
    let entity = "11e643f4-a3ee-8bad-b061-0025904c756d";
    let r = reply(
        agent()
            .post(server.token_url())
            .header("Zuora-Entity-Ids", entity)
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_eq!(r.status, 200);
    let scope = r.json()["scope"].as_str().unwrap().to_owned();
    assert!(scope.contains(&format!("entity.{entity}")), "{scope}");
}

#[test]
fn registered_clients_and_lifetime_are_honoured() {
    let id = "0123456789abcdef0123456789abcdef0123";
    let secret = "a/b+c=d";
    let server = MockServer::builder()
        .client(id, secret)
        .token_lifetime(Duration::from_millis(90_500))
        .start()
        .unwrap();
    let r = post_form(
        &server.token_url(),
        &[
            ("client_id", id),
            ("client_secret", secret),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    // Whole seconds, rounded down.
    assert_eq!(r.json()["expires_in"], json!(90));
    // The demo client is there too.
    assert_eq!(get_token(&server).status, 200);

    server.set_token_lifetime(Duration::from_secs(7));
    assert_eq!(server.token_lifetime(), Duration::from_secs(7));
    assert_eq!(get_token(&server).json()["expires_in"], json!(7));

    let other = "ffffffff-ffff-4fff-bfff-ffffffffffff";
    server.add_client(other, "late");
    let r = post_form(
        &server.token_url(),
        &[
            ("client_id", other),
            ("client_secret", "late"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(r.status, 200);
}

/// A rotated secret: the old one gets Zuora's 401 `invalid_client`, the new one tokens;
/// the tokens issued before stay valid by default, and are revoked when the server says so
/// (builder or control route).
#[test]
fn a_rotated_secret_replaces_the_old_one() {
    let token_with = |server: &MockServer, secret: &str| {
        post_form(
            &server.token_url(),
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
            ],
        )
    };
    for revoke in [false, true] {
        let server = MockServer::builder()
            .revoke_tokens_on_rotation(revoke)
            .start()
            .unwrap();
        let before = access_token(&server);
        assert!(server.rotate_secret(DEMO_CLIENT_ID, "n3w/secret+1="));
        assert!(!server.rotate_secret("no-such-client", "x"));
        let r = token_with(&server, DEMO_CLIENT_SECRET);
        assert_oauth_error(&r, 401, "invalid_client");
        let r = token_with(&server, "n3w/secret+1=");
        assert_eq!(r.status, 200, "{r:?}");
        let after = r.json()["access_token"].as_str().unwrap().to_owned();
        let old_call = call_protected(&server, Some(&format!("Bearer {before}"))).status;
        assert_eq!(old_call, if revoke { 401 } else { 200 }, "revoke: {revoke}");
        assert_eq!(
            call_protected(&server, Some(&format!("Bearer {after}"))).status,
            200
        );
        // The same OAuth client: the same user in the scope.
        let scope = |t: &str| {
            server
                .issued_tokens()
                .into_iter()
                .find(|i| i.access_token == t)
                .map(|i| i.client_id)
        };
        assert_eq!(scope(&before), scope(&after));
    }
    // The control route, with its own choice about the tokens.
    let server = MockServer::start().unwrap();
    let before = access_token(&server);
    let body = json!({"client_id": DEMO_CLIENT_ID, "client_secret": "s2", "revoke_tokens": true});
    let r = control(&server, "POST", "rotate", Some(&body.to_string()));
    assert_eq!(r.json(), json!({"ok": true, "revoked": 1}));
    assert_eq!(
        call_protected(&server, Some(&format!("Bearer {before}"))).status,
        401
    );
    assert_eq!(token_with(&server, "s2").status, 200);
    let body = json!({"client_id": DEMO_CLIENT_ID, "client_secret": "s3"});
    let r = control(&server, "POST", "rotate", Some(&body.to_string()));
    assert_eq!(r.json(), json!({"ok": true, "revoked": 0}));
    assert_eq!(token_with(&server, "s2").status, 401);
    let body = json!({"client_id": "nobody", "client_secret": "s"});
    assert_eq!(
        control(&server, "POST", "rotate", Some(&body.to_string())).status,
        404
    );
    assert_eq!(control(&server, "POST", "rotate", Some("{}")).status, 400);
}

#[test]
fn without_demo_client_rejects_the_demo_credentials() {
    let server = MockServer::builder().without_demo_client().start().unwrap();
    let r = get_token(&server);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
}

// ---------------------------------------------------------------------------------------
// validation

fn assert_oauth_error(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    let body = r.json();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert!(is_uuid(r.header("zuora-request-id").unwrap()));
    assert!(r.header("x-ratelimit-remaining-minute").is_some());
}

#[test]
fn wrong_credentials_get_401_invalid_client() {
    let server = MockServer::start().unwrap();
    let r = post_form(
        &server.token_url(),
        &[
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", "not-the-secret"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_oauth_error(&r, 401, "invalid_client");
    assert_eq!(
        r.json(),
        json!({"error":"invalid_client","error_description":"Bad client credentials"})
    );
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));

    // An unknown client id of the right length.
    let r = post_form(
        &server.token_url(),
        &[
            ("client_id", "00000000-0000-4000-8000-000000000000"),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_oauth_error(&r, 401, "invalid_client");
}

#[test]
fn a_secret_sent_without_percent_encoding_is_rejected() {
    let server = MockServer::start().unwrap();
    // '+' decodes to a space and '/' '=' stay, so the secret no longer matches.
    let body = format!(
        "client_id={DEMO_CLIENT_ID}&client_secret={DEMO_CLIENT_SECRET}&grant_type=client_credentials"
    );
    let r = reply(
        agent()
            .post(server.token_url())
            .content_type("application/x-www-form-urlencoded")
            .send(body.as_str())
            .unwrap(),
    );
    assert_oauth_error(&r, 401, "invalid_client");
}

#[test]
fn each_validation_error_has_its_status_and_oauth_body() {
    let server = MockServer::start().unwrap();
    let url = server.token_url();
    let with = |field: &str, value: Option<&str>| -> Vec<(String, String)> {
        let mut form: Vec<(String, String)> = GOOD_FORM
            .iter()
            .filter(|(k, _)| *k != field)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(v) = value {
            form.push((field.to_owned(), v.to_owned()));
        }
        form
    };
    let send = |form: Vec<(String, String)>| reply(agent().post(&url).send_form(form).unwrap());

    // Missing fields.
    for field in ["grant_type", "client_id", "client_secret"] {
        let r = send(with(field, None));
        assert_oauth_error(&r, 400, "invalid_request");
        let r = send(with(field, Some("")));
        assert_oauth_error(&r, 400, "invalid_request");
    }
    // Other grant types.
    for grant in [
        "password",
        "authorization_code",
        "refresh_token",
        "CLIENT_CREDENTIALS",
    ] {
        let r = send(with("grant_type", Some(grant)));
        assert_oauth_error(&r, 400, "unsupported_grant_type");
    }
    // Lengths.
    let r = send(with("client_id", Some("too-short")));
    assert_oauth_error(&r, 400, "invalid_request");
    let r = send(with("client_id", Some(&format!("{DEMO_CLIENT_ID}x"))));
    assert_oauth_error(&r, 400, "invalid_request");
    let r = send(with("client_secret", Some(&"s".repeat(43))));
    assert_oauth_error(&r, 400, "invalid_request");
    let r = send(with("client_secret", Some(&"s".repeat(42))));
    assert_oauth_error(&r, 401, "invalid_client");
    // A repeated parameter.
    let mut form = with("grant_type", Some("client_credentials"));
    form.push(("grant_type".into(), "client_credentials".into()));
    assert_oauth_error(&send(form), 400, "invalid_request");

    // HTTP Basic client authentication, as generic OAuth clients do.
    let r = reply(
        agent()
            .post(&url)
            .header("Authorization", "Basic Zm9vOmJhcg==")
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_oauth_error(&r, 400, "invalid_request");
    let r = reply(
        agent()
            .post(&url)
            .header("apiAccessKeyId", "someone")
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_oauth_error(&r, 400, "invalid_request");

    // Content types.
    let r = reply(
        agent()
            .post(&url)
            .content_type("application/json")
            .send(r#"{"grant_type":"client_credentials"}"#)
            .unwrap(),
    );
    assert_oauth_error(&r, 415, "invalid_request");
    let r = reply(
        agent()
            .post(&url)
            .content_type("application/x-www-form-urlencoded; charset=UTF-8")
            .send(form_body())
            .unwrap(),
    );
    assert_eq!(r.status, 200, "parameters on the form type are fine: {r:?}");
    let body = form_body();
    let raw = raw_exchange(
        server.addr(),
        format!(
            "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert!(raw.text().starts_with("HTTP/1.1 400 "), "{}", raw.text());
    assert!(raw.text().contains(r#""error":"invalid_request""#));

    // Bad Zuora headers.
    for (name, value) in [
        ("Zuora-Entity-Ids", "not-an-entity"),
        ("Zuora-Entity-Ids", "11e643f4a3ee8badb0610025904c756d"),
        ("Zuora-Track-Id", "has:colon"),
        ("Zuora-Track-Id", &"t".repeat(65)),
    ] {
        let r = reply(
            agent()
                .post(&url)
                .header(name, value)
                .send_form(GOOD_FORM)
                .unwrap(),
        );
        assert_oauth_error(&r, 400, "invalid_request");
    }

    // Methods.
    let r = reply(agent().get(&url).call().unwrap());
    assert_oauth_error(&r, 405, "invalid_request");
    assert!(r.header("allow").unwrap().contains("POST"));

    // Every one of those was recorded; only POSTs are counted as token requests.
    let records = server.requests();
    assert_eq!(records.len(), 25);
    assert_eq!(server.token_request_count(), 24);
    assert_eq!(records.last().unwrap().method, "GET");
    assert_eq!(records.last().unwrap().status, Some(405));
}

#[test]
fn unknown_paths_get_404() {
    let server = MockServer::start().unwrap();
    for path in [
        "/",
        "/oauth/token/",
        "/oauth/tokens",
        "/v2/accounts",
        "/v1/nope",
    ] {
        let r = reply(
            agent()
                .post(format!("{}{path}", server.base_url()))
                .send_form(GOOD_FORM)
                .unwrap(),
        );
        assert_eq!(r.status, 404, "{path}");
        assert!(r.header("zuora-request-id").is_some());
        assert!(r.json()["message"].is_string());
    }
    assert!(server.requests().is_empty());
}

#[test]
fn records_keep_method_path_headers_body_form_and_status() {
    let server = MockServer::start().unwrap();
    reply(
        agent()
            .post(format!("{}?x=1", server.token_url()))
            .header("Zuora-Track-Id", "abc")
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    let records = server.requests();
    let r = &records[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/oauth/token?x=1");
    assert_eq!(r.header("zuora-track-id"), Some("abc"));
    assert_eq!(
        r.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    // The secret is redacted (see safety.rs); the rest of the body is as sent.
    assert_eq!(
        String::from_utf8(r.body.clone()).unwrap(),
        form_body().replace(
            &serde_urlencoded::to_string([("client_secret", DEMO_CLIENT_SECRET)]).unwrap(),
            "client_secret=%5Bredacted%5D"
        )
    );
    assert_eq!(r.form_value("client_secret"), Some(REDACTED));
    assert_eq!(r.form_value("client_id"), Some(DEMO_CLIENT_ID));
    assert_eq!(r.client_id.as_deref(), Some(DEMO_CLIENT_ID));
    assert_eq!(r.form.as_ref().unwrap().len(), 3);
    assert_eq!(r.status, Some(200));
    assert_eq!(r.fault, None);
    assert!(r.peer.ip().is_loopback());
}

// ---------------------------------------------------------------------------------------
// rate limit

#[test]
fn rate_limit_answers_429_after_n_requests_failed_ones_included() {
    let server = MockServer::builder()
        .rate_limit_per_minute(3)
        .start()
        .unwrap();
    assert_eq!(
        get_token(&server).header("x-ratelimit-remaining-minute"),
        Some("2")
    );
    // A failed request counts too.
    let bad = post_form(&server.token_url(), &[("grant_type", "client_credentials")]);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("ratelimit-remaining"), Some("1"));
    let third = get_token(&server);
    assert_eq!(third.status, 200);
    assert_eq!(third.header("ratelimit-remaining"), Some("0"));

    let limited = get_token(&server);
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.json(),
        json!({"message": "API rate limit exceeded"})
    );
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(limited.header("x-ratelimit-limit-minute"), Some("3"));
    assert_eq!(limited.header("x-ratelimit-remaining-minute"), Some("0"));
    assert_eq!(limited.header("ratelimit-limit"), Some("3, 3;w=60"));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert!(limited.header("ratelimit-reset").is_some());
    assert!(limited.header("zuora-request-id").is_some());
    assert_eq!(get_token(&server).status, 429);
    assert_eq!(server.requests().last().unwrap().status, Some(429));

    // The protected endpoint and the control API are not rate limited.
    assert_eq!(call_protected(&server, None).status, 401);
    assert_eq!(control(&server, "GET", "requests", None).status, 200);

    server.reset();
    assert_eq!(get_token(&server).status, 200);
}

#[test]
fn rate_limit_window_ends() {
    // A limit of 1 in a minute-long window: the second request is limited whatever the
    // machine's speed.
    let server = MockServer::builder()
        .rate_limit_per_minute(1)
        .start()
        .unwrap();
    assert_eq!(get_token(&server).status, 200);
    let limited = get_token(&server);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("ratelimit-limit"), Some("1, 1;w=60"));
    // Shorten the window: the current one, older than 1 ms once that much time has passed,
    // ends at the next request.
    server.set_rate_limit_window(Duration::from_millis(1));
    let shortened = Instant::now();
    // Deliberate: letting time pass is what is tested; no other thread is involved.
    std::thread::sleep(Duration::from_millis(2));
    assert!(shortened.elapsed() >= Duration::from_millis(1));
    let r = get_token(&server);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
}

#[test]
fn without_rate_limit_sends_no_rate_headers() {
    let server = MockServer::builder().without_rate_limit().start().unwrap();
    for _ in 0..120 {
        let r = get_token(&server);
        assert_eq!(r.status, 200);
        assert!(r.header("ratelimit-limit").is_none());
    }
}

// ---------------------------------------------------------------------------------------
// faults: answers

#[test]
fn respond_faults_send_exactly_the_scripted_answer_once() {
    let server = MockServer::start().unwrap();
    server.push_faults([
        Fault::oauth_error(401, "invalid_client", "Bad client credentials"),
        Fault::message_error(403, "Authentication error"),
        Fault::reasons_error(400, 90000011, "Invalid parameter"),
        Fault::html_error(502),
        Fault::empty(503),
        Fault::respond(
            500,
            [
                ("Content-Type", "text/plain"),
                ("X-Custom", "1"),
                ("Zuora-Request-Id", "fixed"),
            ],
            "oops",
        ),
    ]);
    assert_eq!(server.pending_faults().len(), 6);

    let r = get_token(&server);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"error":"invalid_client","error_description":"Bad client credentials"})
    );
    assert!(r.header("www-authenticate").is_some());
    let r = get_token(&server);
    assert_eq!(
        (r.status, r.json()),
        (403, json!({"message": "Authentication error"}))
    );
    let r = get_token(&server);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"success":false,"reasons":[{"code":90000011,"message":"Invalid parameter"}]})
    );
    let r = get_token(&server);
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(r.body, "<html><body><h1>502 Bad Gateway</h1></body></html>");
    let r = get_token(&server);
    assert_eq!((r.status, r.body.as_str()), (503, ""));
    assert!(r.header("zuora-request-id").is_some());
    let r = get_token(&server);
    assert_eq!(r.status, 500);
    assert_eq!(r.body, "oops");
    assert_eq!(r.header("x-custom"), Some("1"));
    assert_eq!(
        r.header("zuora-request-id"),
        Some("fixed"),
        "scripted headers win"
    );
    assert!(r.header("ratelimit-remaining").is_some());

    // Queue empty: back to normal.
    assert!(server.pending_faults().is_empty());
    assert_eq!(get_token(&server).status, 200);

    let kinds: Vec<_> = server.requests().iter().map(|r| r.fault.clone()).collect();
    assert_eq!(kinds[..6], vec![Some("respond".to_owned()); 6][..]);
    assert_eq!(kinds[6], None);
    // A replacing fault skips validation: a token for nobody was never issued.
    assert_eq!(server.issued_tokens().len(), 1);
}

#[test]
fn rate_limited_fault_sends_retry_after_in_each_form() {
    let server = MockServer::start().unwrap();
    server.push_faults([
        Fault::rate_limited(RetryAfter::Seconds(7)),
        Fault::rate_limited(RetryAfter::HttpDateIn(30)),
        Fault::rate_limited(RetryAfter::Absent),
    ]);
    let r = get_token(&server);
    assert_eq!(r.status, 429);
    assert_eq!(r.json(), json!({"message": "API rate limit exceeded"}));
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.header("x-ratelimit-remaining-minute"), Some("0"));
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));

    let r = get_token(&server);
    assert_eq!(r.status, 429);
    let at = httpdate::parse_http_date(r.header("retry-after").unwrap()).unwrap();
    let date = httpdate::parse_http_date(r.header("date").unwrap()).unwrap();
    let ahead = at.duration_since(date).unwrap();
    assert!((29..=31).contains(&ahead.as_secs()), "{ahead:?}");

    let r = get_token(&server);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_none());
}

/// Zuora's documented 429: the wait only in `RateLimit-Reset`, and nothing but the
/// `RateLimit-*` headers about the quota.
#[test]
fn rate_limit_reset_fault_sends_only_the_rate_limit_headers() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::rate_limit_reset(40));
    let r = get_token(&server);
    assert_eq!(r.status, 429);
    assert_eq!(r.json(), json!({"message": "API rate limit exceeded"}));
    assert_eq!(r.header("ratelimit-reset"), Some("40"));
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("ratelimit-limit"), Some("100, 100;w=60"));
    for absent in [
        "retry-after",
        "x-ratelimit-limit-minute",
        "x-ratelimit-remaining-minute",
    ] {
        assert!(r.header(absent).is_none(), "{absent}");
    }
    assert!(r.header("zuora-request-id").is_some());
    let f: Fault = serde_json::from_str(r#"{"kind":"rate_limit_reset","reset_secs":40}"#).unwrap();
    assert_eq!(f, Fault::rate_limit_reset(40));
}

#[test]
fn redirect_is_sent_and_not_followed() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::redirect());
    let r = get_token(&server);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(DEFAULT_REDIRECT_LOCATION));
    server.push_fault(Fault::Redirect {
        status: 307,
        location: "http://127.0.0.3:1/elsewhere".into(),
    });
    let r = get_token(&server);
    assert_eq!(r.status, 307);
    assert_eq!(r.header("location"), Some("http://127.0.0.3:1/elsewhere"));
}

#[test]
fn malformed_json_and_wrong_content_type() {
    let server = MockServer::start().unwrap();
    server.push_faults([Fault::MalformedJson, Fault::WrongContentType]);
    let r = get_token(&server);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    assert!(
        serde_json::from_str::<Value>(&r.body).is_err(),
        "{}",
        r.body
    );
    assert!(r.body.starts_with(r#"{"access_token":""#));

    let r = get_token(&server);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain;charset=utf-8"));
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    // The token is real.
    let p = call_protected(&server, Some(&format!("Bearer {token}")));
    assert_eq!(p.status, 200);
}

#[test]
fn token_field_faults_reshape_a_successful_answer() {
    let server = MockServer::start().unwrap();
    let cases = [
        (Fault::expires_in(json!(0)), "expires_in", json!(0)),
        (Fault::expires_in(json!(-5)), "expires_in", json!(-5)),
        (Fault::expires_in(json!(1e12)), "expires_in", json!(1e12)),
        (
            Fault::expires_in(json!(u64::MAX)),
            "expires_in",
            json!(u64::MAX),
        ),
        (
            Fault::expires_in(json!("3599")),
            "expires_in",
            json!("3599"),
        ),
        (
            Fault::expires_in(json!(3599.5)),
            "expires_in",
            json!(3599.5),
        ),
        (Fault::token_type("mac"), "token_type", json!("mac")),
        (Fault::token_type("Bearer"), "token_type", json!("Bearer")),
        (
            Fault::omit_field("access_token"),
            "access_token",
            Value::Null,
        ),
        (
            Fault::TokenFields(TokenFields::default().without("expires_in").without("jti")),
            "expires_in",
            Value::Null,
        ),
    ];
    for (fault, field, expected) in cases {
        server.push_fault(fault.clone());
        let r = get_token(&server);
        assert_eq!(r.status, 200, "{fault:?}");
        let body = r.json();
        assert_eq!(body[field], expected, "{fault:?}: {body}");
        if field != "access_token" {
            assert!(is_hex32(body["access_token"].as_str().unwrap()));
        }
    }
    // Only successful answers are reshaped.
    server.push_fault(Fault::token_type("mac"));
    let r = post_form(&server.token_url(), &[("grant_type", "client_credentials")]);
    assert_eq!(r.status, 400);
    assert!(r.json().get("token_type").is_none());
}

#[test]
fn oversized_bodies_have_the_requested_size() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::oversized_body(
        zuora_oauth_testkit::DEFAULT_OVERSIZED_BYTES,
    ));
    let r = get_token(&server);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 1024 * 1024);
    assert_eq!(r.header("content-length"), Some("1048576"));
    let body = r.json();
    assert!(is_hex32(body["access_token"].as_str().unwrap()));
    assert_eq!(body["token_type"], "bearer");

    server.push_fault(Fault::OversizedBody {
        bytes: 300_000,
        fill: OversizedFill::Padding,
        chunked: true,
    });
    let r = get_token(&server);
    assert_eq!(r.status, 200);
    assert!(r.header("content-length").is_none());
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.body.len(), 300_000);
    assert!(r.body.starts_with(r#"{"padding":"xxx"#));
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
}

// ---------------------------------------------------------------------------------------
// faults: timing and the TCP level

#[test]
fn delay_headers_delays_then_answers_normally() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::delay_headers(Duration::from_millis(250)));
    let raw = raw_token_request(&server, "");
    assert!(
        raw.first_byte.unwrap() >= Duration::from_millis(240),
        "{raw:?}"
    );
    assert!(raw.text().starts_with("HTTP/1.1 200 OK"), "{}", raw.text());
    assert_eq!(raw.error, None);
    assert_eq!(server.requests()[0].fault.as_deref(), Some("delay_headers"));
}

#[test]
fn stall_body_sends_part_waits_then_finishes() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::StallBody {
        sent_bytes: Some(10),
        stall: Duration::from_millis(300),
        then: StallEnd::Finish,
    });
    let raw = raw_token_request(&server, "");
    assert_eq!(raw.error, None);
    assert!(raw.end >= Duration::from_millis(290), "{raw:?}");
    let (head, body) = raw.head_and_body();
    // The first part came alone: the rest only after the stall.
    assert_eq!(raw.first_read_len, head.len() + 4 + 10, "{}", raw.text());
    assert!(head.starts_with("HTTP/1.1 200 OK"));
    assert_eq!(body.len(), raw.content_length());
    serde_json::from_slice::<Value>(&body).unwrap();
}

#[test]
fn stall_body_then_close_ends_early() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::stall_body(
        Duration::from_millis(100),
        StallEnd::Close,
    ));
    let raw = raw_token_request(&server, "");
    assert!(raw.end >= Duration::from_millis(90), "{raw:?}");
    let (head, body) = raw.head_and_body();
    assert!(head.starts_with("HTTP/1.1 200 OK"));
    let expected = raw.content_length();
    assert_eq!(body.len(), expected / 2, "half was sent, then EOF");
}

#[test]
fn stall_seen_by_a_client_with_a_timeout() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::stall_body(
        Duration::from_millis(400),
        StallEnd::Finish,
    ));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(150)))
        .build()
        .into();
    let result = agent
        .post(server.token_url())
        .send_form(GOOD_FORM)
        .and_then(|mut r| r.body_mut().read_to_string());
    assert!(matches!(result, Err(ureq::Error::Timeout(_))), "{result:?}");
}

#[test]
fn close_mid_body_sends_less_than_content_length() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::CloseMidBody {
        sent_bytes: Some(12),
    });
    let raw = raw_token_request(&server, "");
    let (head, body) = raw.head_and_body();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(raw.content_length() > 12);
    assert_eq!(body, br#"{"access_tok"#);
    assert_eq!(server.requests()[0].status, Some(200));

    server.push_fault(Fault::close_mid_body());
    let result = agent()
        .post(server.token_url())
        .send_form(GOOD_FORM)
        .and_then(|mut r| r.body_mut().read_to_string());
    assert!(result.is_err(), "{result:?}");
}

#[test]
fn close_connection_sends_nothing_then_eof() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::CloseConnection);
    let raw = raw_token_request(&server, "");
    assert!(raw.bytes.is_empty(), "{}", raw.text());
    assert_eq!(raw.error, None, "a FIN, not a reset");
    assert_eq!(server.requests()[0].status, None);
    assert_eq!(
        server.requests()[0].fault.as_deref(),
        Some("close_connection")
    );

    server.push_fault(Fault::CloseConnection);
    assert!(
        agent()
            .post(server.token_url())
            .send_form(GOOD_FORM)
            .is_err()
    );
    // The next connection is served normally.
    assert_eq!(get_token(&server).status, 200);
}

#[test]
fn reset_connection_is_a_tcp_reset() {
    let server = MockServer::start().unwrap();
    server.push_fault(Fault::ResetConnection);
    let raw = raw_token_request(&server, "");
    assert!(raw.bytes.is_empty(), "{}", raw.text());
    assert_eq!(raw.error, Some(io::ErrorKind::ConnectionReset), "{raw:?}");
    assert_eq!(server.requests()[0].status, None);

    server.push_fault(Fault::ResetConnection);
    assert!(
        agent()
            .post(server.token_url())
            .send_form(GOOD_FORM)
            .is_err()
    );
    assert_eq!(get_token(&server).status, 200);
}

#[test]
fn faults_are_consumed_in_order_one_per_request_across_connections() {
    let server = MockServer::start().unwrap();
    server.push_faults([Fault::empty(500), Fault::ResetConnection, Fault::empty(503)]);
    assert_eq!(get_token(&server).status, 500);
    assert!(
        agent()
            .post(server.token_url())
            .send_form(GOOD_FORM)
            .is_err()
    );
    assert_eq!(get_token(&server).status, 503);
    assert_eq!(get_token(&server).status, 200);
    let statuses: Vec<_> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(500), None, Some(503), Some(200)]);
}

#[test]
fn faults_round_trip_through_json() {
    let faults = [
        Fault::respond(503, [("Retry-After", "3")], "down"),
        Fault::oauth_error(401, "invalid_client", "Bad client credentials"),
        Fault::rate_limited(RetryAfter::Seconds(2)),
        Fault::rate_limited(RetryAfter::HttpDateIn(2)),
        Fault::rate_limited(RetryAfter::Absent),
        Fault::rate_limit_reset(40),
        Fault::delay_headers(Duration::from_millis(1500)),
        Fault::stall_body(Duration::from_millis(10), StallEnd::Close),
        Fault::CloseConnection,
        Fault::ResetConnection,
        Fault::close_mid_body(),
        Fault::oversized_body(10),
        Fault::redirect(),
        Fault::MalformedJson,
        Fault::WrongContentType,
        Fault::expires_in(json!("3599")),
    ];
    for fault in faults {
        let text = serde_json::to_string(&fault).unwrap();
        let back: Fault = serde_json::from_str(&text).unwrap();
        assert_eq!(back, fault, "{text}");
        assert!(
            text.contains(&format!(r#""kind":"{}""#, fault.kind())),
            "{text}"
        );
    }
    // Defaults and the header map form.
    let f: Fault = serde_json::from_str(
        r#"{"kind":"respond","status":503,"headers":{"Content-Type":"text/plain"}}"#,
    )
    .unwrap();
    assert_eq!(f, Fault::respond(503, [("Content-Type", "text/plain")], ""));
    let f: Fault = serde_json::from_str(r#"{"kind":"oversized_body"}"#).unwrap();
    assert_eq!(f, Fault::oversized_body(1024 * 1024));
    let f: Fault = serde_json::from_str(r#"{"kind":"rate_limited"}"#).unwrap();
    assert_eq!(f, Fault::rate_limited(RetryAfter::Seconds(1)));
    let f: Fault = serde_json::from_str(r#"{"kind":"stall_body","stall_ms":2.5}"#).unwrap();
    assert_eq!(
        f,
        Fault::stall_body(Duration::from_micros(2500), StallEnd::Finish)
    );
    let f: Fault =
        serde_json::from_str(r#"{"kind":"token_fields","omit":["access_token"]}"#).unwrap();
    assert_eq!(f, Fault::omit_field("access_token"));
}

// ---------------------------------------------------------------------------------------
// CORS

#[test]
fn cors_preflight_is_answered_and_not_recorded() {
    let server = MockServer::builder().cors(true).start().unwrap();
    server.push_fault(Fault::empty(500));
    let r = reply(
        agent()
            .options(server.token_url())
            .header("Origin", "http://127.0.0.1:8000")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,zuora-track-id,zuora-entity-ids",
            )
            .call()
            .unwrap(),
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:8000")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, POST, DELETE, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,zuora-track-id,zuora-entity-ids")
    );
    assert!(r.header("access-control-max-age").is_some());
    assert!(r.header("zuora-request-id").is_some());
    assert!(r.header("access-control-allow-private-network").is_none());

    // Not recorded, no fault consumed.
    assert!(server.requests().is_empty());
    assert_eq!(server.token_request_count(), 0);
    assert_eq!(server.pending_faults().len(), 1);

    // The protected endpoint and the control API answer preflights too.
    for url in [
        server.protected_url(),
        format!("{}/__mock/faults", server.base_url()),
    ] {
        let r = reply(
            agent()
                .options(url)
                .header("Origin", "http://localhost:9")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization")
                .call()
                .unwrap(),
        );
        assert_eq!(r.status, 204);
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("authorization")
        );
    }
    assert_eq!(server.protected_request_count(), 0);

    // Chromium's Private Network Access preflight.
    let r = reply(
        agent()
            .options(server.token_url())
            .header("Origin", "https://example.test")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Private-Network", "true")
            .call()
            .unwrap(),
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-private-network"),
        Some("true")
    );
    assert!(
        r.header("access-control-allow-headers")
            .unwrap()
            .contains("Zuora-Track-Id"),
        "a default list when none was requested"
    );
}

#[test]
fn cors_headers_on_real_responses() {
    let server = MockServer::builder().cors(true).start().unwrap();
    let origin = "http://localhost:8000";
    let r = reply(
        agent()
            .post(server.token_url())
            .header("Origin", origin)
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(origin));
    let exposed = r.header("access-control-expose-headers").unwrap();
    for name in [
        "Zuora-Request-Id",
        "Zuora-Track-Id",
        "Retry-After",
        "X-RateLimit-Limit-minute",
        "X-RateLimit-Remaining-minute",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    ] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    // Errors and faults too, so a browser can read them.
    server.push_fault(Fault::html_error(503));
    let r = reply(
        agent()
            .post(server.token_url())
            .header("Origin", origin)
            .send_form(GOOD_FORM)
            .unwrap(),
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.header("access-control-allow-origin"), Some(origin));
    // No Origin, no CORS headers.
    assert!(
        get_token(&server)
            .header("access-control-allow-origin")
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------
// protected endpoint

#[test]
fn protected_endpoint_accepts_only_live_tokens() {
    let server = MockServer::start().unwrap();
    let unauthorized = json!({"success":false,"reasons":[{"code":90000011,"message":"this resource is protected, please sign in first"}]});

    let r = call_protected(&server, None);
    assert_eq!((r.status, r.json()), (401, unauthorized.clone()));
    assert!(r.header("zuora-request-id").is_some());
    let r = call_protected(&server, Some("Bearer 0123456789abcdef0123456789abcdef"));
    assert_eq!(r.status, 401);

    let token = access_token(&server);
    let r = call_protected(&server, Some(&format!("Bearer {token}")));
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"products":[],"success":true}))
    );
    let r = call_protected(&server, Some(&format!("bearer {token}")));
    assert_eq!(r.status, 200, "the scheme is case-insensitive");
    let r = call_protected(&server, Some(&format!("Basic {token}")));
    assert_eq!(r.status, 401);

    // Revoked.
    server.revoke_all_tokens();
    let r = call_protected(&server, Some(&format!("Bearer {token}")));
    assert_eq!((r.status, r.json()), (401, unauthorized.clone()));
    assert!(!server.issued_tokens()[0].is_live());
    assert!(server.issued_tokens()[0].revoked);

    // A new token works; expiring it ends that.
    let token = access_token(&server);
    assert_eq!(
        call_protected(&server, Some(&format!("Bearer {token}"))).status,
        200
    );
    server.expire_all_tokens();
    assert_eq!(
        call_protected(&server, Some(&format!("Bearer {token}"))).status,
        401
    );

    assert_eq!(server.protected_request_count(), 8);
    // Protected calls are not token requests.
    assert_eq!(server.token_request_count(), 2);
}

#[test]
fn tokens_expire_after_their_lifetime() {
    let server = MockServer::builder()
        .token_lifetime(Duration::ZERO)
        .start()
        .unwrap();
    let r = get_token(&server);
    assert_eq!(r.json()["expires_in"], json!(0));
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        call_protected(&server, Some(&format!("Bearer {token}"))).status,
        401
    );
}

// ---------------------------------------------------------------------------------------
// control API

#[test]
fn control_api_queues_faults_single_or_many() {
    let server = MockServer::start().unwrap();
    let r = control(
        &server,
        "POST",
        "faults",
        Some(r#"{"kind":"respond","status":503}"#),
    );
    assert_eq!((r.status, r.json()), (200, json!({"queued":1,"pending":1})));
    let r = control(
        &server,
        "POST",
        "faults",
        Some(
            r#"[{"kind":"rate_limited","retry_after":{"seconds":9}},{"kind":"reset_connection"}]"#,
        ),
    );
    assert_eq!(r.json(), json!({"queued":2,"pending":3}));
    let r = control(&server, "GET", "faults", None);
    assert_eq!(r.json()["pending"].as_array().unwrap().len(), 3);
    assert_eq!(r.json()["pending"][2], json!({"kind":"reset_connection"}));

    assert_eq!(get_token(&server).status, 503);
    let r = get_token(&server);
    assert_eq!((r.status, r.header("retry-after")), (429, Some("9")));
    assert!(
        agent()
            .post(server.token_url())
            .send_form(GOOD_FORM)
            .is_err()
    );
    assert_eq!(get_token(&server).status, 200);

    // Bad input.
    let r = control(&server, "POST", "faults", Some(r#"{"kind":"nonsense"}"#));
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("invalid fault")
    );
    let r = control(
        &server,
        "POST",
        "faults",
        Some(r#"[{"kind":"malformed_json"},{"kind":"delay_headers"}]"#),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"].as_str().unwrap().contains("delay_ms"),
        "the message names the missing field: {r:?}"
    );
    let r = control(&server, "POST", "faults", Some("not json"));
    assert_eq!(r.status, 400);
    assert!(server.pending_faults().is_empty());

    // DELETE clears.
    server.push_fault(Fault::MalformedJson);
    let r = control(&server, "DELETE", "faults", None);
    assert_eq!(r.json(), json!({"cleared":1}));
    assert!(server.pending_faults().is_empty());
}

#[test]
fn control_api_reports_requests_and_tokens() {
    let server = MockServer::start().unwrap();
    let token = access_token(&server);
    server.push_fault(Fault::CloseConnection);
    let _ = agent().post(server.token_url()).send_form(GOOD_FORM);
    call_protected(&server, None);

    let r = control(&server, "GET", "requests", None);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["token_request_count"], 2);
    assert_eq!(v["api_request_count"], 1);
    assert_eq!(v["protected_request_count"], 1);
    let requests = v["requests"].as_array().unwrap();
    assert_eq!(
        requests.len(),
        3,
        "token requests and API calls: {requests:?}"
    );
    assert_eq!(requests[0]["kind"], "token");
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["path"], "/oauth/token");
    assert_eq!(requests[0]["status"], 200);
    assert_eq!(requests[0]["fault"], Value::Null);
    assert_eq!(requests[0]["client_id"], DEMO_CLIENT_ID);
    assert!(
        requests[0]["body"]
            .as_str()
            .unwrap()
            .contains("client_secret=%5Bredacted%5D")
    );
    assert_eq!(
        requests[0]["form"][2],
        json!(["grant_type", "client_credentials"])
    );
    assert_eq!(requests[2]["kind"], "api");
    assert_eq!(requests[2]["path"], "/v1/catalog/products");
    assert_eq!(requests[2]["status"], 401);
    // One kind only.
    let v = control(&server, "GET", "requests?kind=api", None).json();
    assert_eq!(v["requests"].as_array().unwrap().len(), 1);
    assert_eq!(v["requests"][0]["kind"], "api");
    let v = control(&server, "GET", "requests?kind=token", None).json();
    assert_eq!(v["requests"].as_array().unwrap().len(), 2);
    assert_eq!(
        control(&server, "GET", "requests?kind=other", None).status,
        400
    );
    assert!(requests[0]["headers"].as_array().unwrap().contains(&json!([
        "content-type",
        "application/x-www-form-urlencoded"
    ])));
    assert_eq!(requests[1]["status"], Value::Null);
    assert_eq!(requests[1]["fault"], "close_connection");

    let v = control(&server, "GET", "tokens", None).json();
    assert_eq!(v["tokens"][0]["access_token"], token);
    assert_eq!(v["tokens"][0]["live"], true);
    assert_eq!(v["tokens"][0]["client_id"], DEMO_CLIENT_ID);

    let v = control(&server, "GET", "info", None).json();
    assert_eq!(v["token_url"], server.token_url());
    assert_eq!(v["demo_client_id"], DEMO_CLIENT_ID);
    assert_eq!(v["demo_client_secret"], DEMO_CLIENT_SECRET);
    assert_eq!(v["rate_limit_per_minute"], 100);
}

#[test]
fn control_api_reset_revoke_expire_lifetime_clients() {
    let server = MockServer::builder()
        .rate_limit_per_minute(2)
        .start()
        .unwrap();
    let token = access_token(&server);
    let bearer = format!("Bearer {token}");

    let r = control(&server, "POST", "revoke", None);
    assert_eq!(r.json(), json!({"ok":true,"revoked":1}));
    assert_eq!(call_protected(&server, Some(&bearer)).status, 401);

    let token = access_token(&server);
    assert_eq!(control(&server, "POST", "expire", None).status, 200);
    assert_eq!(
        call_protected(&server, Some(&format!("Bearer {token}"))).status,
        401
    );

    // Rate limit reached (2 requests); reset clears it along with records and faults.
    server.push_fault(Fault::empty(500));
    assert_eq!(
        get_token(&server).status,
        500,
        "faults come before the rate limit"
    );
    assert_eq!(get_token(&server).status, 429);
    let r = control(&server, "POST", "reset", None);
    assert_eq!(r.json(), json!({"ok":true}));
    assert!(server.requests().is_empty());
    assert_eq!(server.token_request_count(), 0);
    assert_eq!(server.protected_request_count(), 0);

    let r = control(&server, "POST", "lifetime", Some(r#"{"seconds": 12.75}"#));
    assert_eq!(r.json(), json!({"ok":true,"seconds":12.75}));
    assert_eq!(server.token_lifetime(), Duration::from_millis(12_750));
    assert_eq!(get_token(&server).json()["expires_in"], json!(12));
    let r = control(&server, "POST", "lifetime", Some("30"));
    assert_eq!(r.status, 200);
    assert_eq!(server.token_lifetime(), Duration::from_secs(30));
    assert_eq!(control(&server, "POST", "lifetime", Some("-1")).status, 400);
    assert_eq!(control(&server, "POST", "lifetime", Some("{}")).status, 400);

    let id = "abcdefab-cdef-4abc-8def-abcdefabcdef";
    let r = control(
        &server,
        "POST",
        "clients",
        Some(&json!({"client_id": id, "client_secret": "x+y/z="}).to_string()),
    );
    assert_eq!(r.status, 200);
    let r = post_form(
        &server.token_url(),
        &[
            ("client_id", id),
            ("client_secret", "x+y/z="),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["expires_in"], json!(30));

    // Unknown route and wrong method.
    assert_eq!(control(&server, "GET", "nope", None).status, 404);
    let r = control(&server, "GET", "reset", None);
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().contains("POST"));
    // Control calls are never recorded.
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------
// runtime, concurrency, shutdown

#[test]
fn concurrent_clients_are_all_served() {
    let server = MockServer::builder().without_rate_limit().start().unwrap();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10 {
                    assert_eq!(get_token(&server).status, 200);
                }
            });
        }
    });
    assert_eq!(server.token_request_count(), 80);
    let mut tokens: Vec<_> = server
        .issued_tokens()
        .into_iter()
        .map(|t| t.access_token)
        .collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 80);
}

#[tokio::test]
async fn starts_and_stops_inside_a_tokio_runtime() {
    let server = MockServer::start().unwrap();
    let url = server.token_url();
    let status = tokio::task::spawn_blocking(move || {
        agent()
            .post(url)
            .send_form(GOOD_FORM)
            .unwrap()
            .status()
            .as_u16()
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    // Dropping here must not panic ("cannot drop a runtime in an async context").
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_inside_a_multi_thread_runtime() {
    let server = MockServer::start().unwrap();
    let raw = tokio::task::spawn_blocking({
        let addr = server.addr();
        move || {
            raw_exchange(
                addr,
                b"GET /v1/catalog/products HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
        }
    })
    .await
    .unwrap();
    assert!(raw.text().starts_with("HTTP/1.1 401 "), "{}", raw.text());
    server.shutdown();
}

/// What tells one mock server from another: its random entity ID and tenant.
fn identity(base_url: &str) -> String {
    let info = reply(
        agent()
            .get(format!("{base_url}/__mock/info"))
            .call()
            .expect("info"),
    )
    .json();
    format!("{} {}", info["entity_id"], info["tenant"])
}

/// Nothing listens on `addr` any more, or, since tests run in parallel and the OS may hand
/// the freed port to someone else at once, what listens there is not the server `was`.
fn assert_port_closed(addr: SocketAddr, was: &str) {
    match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => {
            let now = agent()
                .get(format!("http://{addr}/__mock/info"))
                .call()
                .ok()
                .map(reply)
                .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
                .map(|info| format!("{} {}", info["entity_id"], info["tenant"]));
            assert_ne!(
                now.as_deref(),
                Some(was),
                "the server still answers on {addr}"
            );
        }
    }
}

#[test]
fn drop_closes_the_port() {
    let server = MockServer::start().unwrap();
    let addr = server.addr();
    let was = identity(&server.base_url());
    assert_eq!(get_token(&server).status, 200);
    drop(server);
    assert_port_closed(addr, &was);
}

#[test]
fn drop_ends_stalled_connections_and_returns_promptly() {
    let server = MockServer::start().unwrap();
    let addr = server.addr();
    let was = identity(&server.base_url());
    // An idle keep-alive connection, and a request stuck in a long delay.
    let idle = TcpStream::connect(addr).unwrap();
    server.push_fault(Fault::delay_headers(Duration::from_secs(60)));
    let (tx, rx) = std::sync::mpsc::channel();
    let body = form_body();
    let request = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let client = std::thread::spawn(move || raw_exchange(addr, request.as_bytes()));
    // Wait until the request has arrived (it is counted before the delay starts).
    assert!(server.wait_for_token_requests(1, Duration::from_secs(20)));
    let started = Instant::now();
    std::thread::spawn(move || {
        drop(server);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("drop returned");
    assert!(started.elapsed() < Duration::from_secs(5));
    let raw = client.join().unwrap();
    assert!(raw.bytes.is_empty(), "{}", raw.text());
    let mut idle = idle;
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1];
    assert!(matches!(idle.read(&mut buf), Ok(0) | Err(_)));
    assert_port_closed(addr, &was);
}

#[test]
fn a_fixed_port_can_be_reused_after_shutdown() {
    // Tests run in parallel: a freed port can be taken by another socket at once, so try a
    // few; one success shows that shutdown releases the port.
    for _ in 0..10 {
        let first = MockServer::start().unwrap();
        let port = first.addr().port();
        first.shutdown();
        match MockServer::builder().port(port).start() {
            Ok(second) => {
                assert_eq!(second.addr().port(), port);
                assert_eq!(get_token(&second).status, 200);
                return;
            }
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}"),
        }
    }
    panic!("ten freed ports were all taken again at once");
}

// ---------------------------------------------------------------------------------------
// the binary

fn spawn_binary(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zuora-mock-server"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn zuora-mock-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim_end().to_owned())
}

fn wait_with_timeout(mut child: std::process::Child) -> std::process::ExitStatus {
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("zuora-mock-server (pid {pid}) did not exit"))
        .unwrap()
}

#[test]
fn binary_prints_its_url_serves_and_exits_on_stdin_close() {
    let id = "0123456789abcdef0123456789abcdef0123";
    let (mut child, url) = spawn_binary(&[
        "--port",
        "0",
        "--lifetime",
        "5.5",
        "--rate-limit",
        "50",
        "--client",
        &format!("{id}:a:b+c"),
        "--exit-on-stdin-close",
    ]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    let was = identity(&url);

    let r = post_form(
        &format!("{url}/oauth/token"),
        &[
            ("client_id", id),
            ("client_secret", "a:b+c"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["expires_in"], json!(5));
    assert_eq!(r.header("x-ratelimit-limit-minute"), Some("50"));
    let r = post_form(&format!("{url}/oauth/token"), &GOOD_FORM);
    assert_eq!(r.status, 200, "the demo client is on by default");

    drop(child.stdin.take());
    let status = wait_with_timeout(child);
    assert!(status.success(), "{status:?}");
    assert_port_closed(format!("127.0.0.1:{port}").parse().unwrap(), &was);
}

#[cfg(unix)]
#[test]
fn binary_exits_cleanly_on_sigterm() {
    let (child, url) = spawn_binary(&["--without-demo-client"]);
    let r = post_form(&format!("{url}/oauth/token"), &GOOD_FORM);
    assert_eq!(r.status, 401);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_with_timeout(child);
    assert!(status.success(), "{status:?}");
}

/// SIGTERM sent the moment the URL line is read: the handler must already be in place (a
/// default SIGTERM would kill the process, which then does not exit with success).
#[cfg(unix)]
#[test]
fn binary_handles_sigterm_sent_right_after_its_url_line() {
    // Before the handlers were installed first, about half of these runs died of the signal.
    for _ in 0..10 {
        let (child, url) = spawn_binary(&[]);
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = wait_with_timeout(child);
        assert!(status.success(), "{status:?}");
    }
}

#[test]
fn binary_binds_the_address_asked_and_answers_cors_only_with_the_flag() {
    let preflight = |url: &str| {
        reply(
            agent()
                .options(format!("{url}/oauth/token"))
                .header("Origin", "http://127.0.0.1:8000")
                .header("Access-Control-Request-Method", "POST")
                .call()
                .unwrap(),
        )
    };
    let (mut child, url) = spawn_binary(&["--bind", "127.0.0.1", "--exit-on-stdin-close"]);
    assert_eq!(preflight(&url).status, 403, "CORS is off by default");
    drop(child.stdin.take());
    assert!(wait_with_timeout(child).success());

    let (mut child, url) = spawn_binary(&["--cors", "--exit-on-stdin-close"]);
    let r = preflight(&url);
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:8000")
    );
    drop(child.stdin.take());
    assert!(wait_with_timeout(child).success());

    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine: --bind ::1 not tried");
        return;
    }
    let (mut child, url) = spawn_binary(&["--bind", "::1", "--exit-on-stdin-close"]);
    assert!(url.starts_with("http://[::1]:"), "{url}");
    assert_eq!(
        post_form(&format!("{url}/oauth/token"), &GOOD_FORM).status,
        200
    );
    drop(child.stdin.take());
    assert!(wait_with_timeout(child).success());
}

#[test]
fn binary_refuses_to_listen_beyond_loopback() {
    for ip in ["0.0.0.0", "::", "192.0.2.1", "localhost"] {
        let output = Command::new(env!("CARGO_BIN_EXE_zuora-mock-server"))
            .args(["--bind", ip])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{ip}");
        assert!(output.stdout.is_empty(), "{ip}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--bind"), "{ip}: {stderr}");
    }
}

#[test]
fn binary_rejects_bad_arguments() {
    let output = Command::new(env!("CARGO_BIN_EXE_zuora-mock-server"))
        .args(["--client", "no-colon"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------
// TLS (feature `tls`)

#[cfg(feature = "tls")]
mod tls {
    use std::sync::Arc;

    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

    use super::*;

    /// One HTTPS exchange over a blocking rustls client that trusts only `cert_der`.
    fn https_exchange(addr: SocketAddr, cert_der: &[u8], request: &[u8]) -> Vec<u8> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(cert_der.to_vec())).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut stream = rustls::Stream::new(&mut conn, &mut sock);
        stream.write_all(request).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    }

    fn token_request() -> Vec<u8> {
        let body = form_body();
        format!(
            "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn serves_https_with_the_exposed_certificate() {
        let server = MockServer::builder().tls().start().unwrap();
        assert!(server.base_url().starts_with("https://127.0.0.1:"));
        assert!(server.token_url().starts_with("https://"));
        let pem = server.certificate_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

        let out = https_exchange(
            server.addr(),
            server.certificate_der().unwrap(),
            &token_request(),
        );
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(text.contains(r#""token_type":"bearer""#));
        assert_eq!(server.token_request_count(), 1);

        // Faults work over TLS too.
        server.push_fault(Fault::html_error(502));
        let out = https_exchange(
            server.addr(),
            server.certificate_der().unwrap(),
            &token_request(),
        );
        assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 502 "));

        // A plain-HTTP client gets nothing useful.
        let raw = raw_token_request(&server, "");
        assert!(!raw.text().starts_with("HTTP/1.1 200"), "{}", raw.text());
    }

    #[test]
    fn plain_servers_have_no_certificate() {
        let server = MockServer::start().unwrap();
        assert!(server.certificate_der().is_none());
        assert!(server.certificate_pem().is_none());
    }

    #[test]
    fn binary_serves_https_and_writes_its_certificate() {
        let dir = std::env::temp_dir().join(format!("zuora-mock-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert_path = dir.join("cert.pem");
        let (mut child, url) = spawn_binary(&[
            "--tls",
            "--cert-out",
            cert_path.to_str().unwrap(),
            "--exit-on-stdin-close",
        ]);
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        let pem = std::fs::read_to_string(&cert_path).unwrap();
        let der = pem_to_der(&pem);
        let addr: SocketAddr = url.trim_start_matches("https://").parse().unwrap();
        let out = https_exchange(addr, &der, &token_request());
        assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200 OK"));
        drop(child.stdin.take());
        assert!(wait_with_timeout(child).success());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The DER inside a one-certificate PEM file.
    fn pem_to_der(pem: &str) -> Vec<u8> {
        let b64: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        base64_decode(b64.trim())
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let mut acc = 0u32;
        let mut bits = 0;
        for c in s.bytes().filter(|&c| c != b'=') {
            let v = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    }
}
