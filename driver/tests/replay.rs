//! The API-call rules of `zuora_oauth_driver::api`, without HTTP: a canned token
//! endpoint and a scripted API. The middlewares' own tests run the same rules through real
//! stacks (tests/tests/api_calls).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use zuora_oauth_core::{ClientId, ClientSecret, Destination, Environment, TokenRequest, TrackId};
use zuora_oauth_driver::api::{
    ApiError, ApiOptions, BlockingAuthorizer, BlockingExchange, HttpApiTypes, NotRetried,
    NotRetriedReason, Replayed,
};
use zuora_oauth_driver::{BlockingTokenSource, BlockingTransport, Limits, TransportResult};

/// One call sent through `api`, authorized with `source`'s token and `options`.
fn send_blocking<X: BlockingExchange>(
    source: &BlockingTokenSource,
    options: &ApiOptions,
    request: X::Request,
    api: &mut X,
) -> Result<X::Response, ApiError<X::Error>> {
    BlockingAuthorizer::new(source.clone())
        .with_options(options.clone())
        .send(request, api)
}

/// One call to `{EU}/v1/x` with `body` sent through `api`, with `source`'s token and no
/// options.
fn send_x(
    source: &BlockingTokenSource,
    body: Body,
    api: &mut Script,
) -> Result<http::Response<()>, ApiError<&'static str>> {
    send_to(source, &format!("{EU}/v1/x"), body, api)
}

/// A call to `url` with `body`, without options, through `api`.
fn send_to(
    source: &BlockingTokenSource,
    url: &str,
    body: Body,
    api: &mut Script,
) -> Result<http::Response<()>, ApiError<&'static str>> {
    send_blocking(source, &ApiOptions::default(), call(url, body), api)
}

/// A token endpoint that issues a new token on every request, and counts them.
#[derive(Clone, Default)]
struct Canned {
    issued: Arc<AtomicUsize>,
}

impl BlockingTransport for Canned {
    fn send(&self, _request: http::Request<Vec<u8>>, _limits: Limits) -> TransportResult {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let body =
            format!(r#"{{"access_token":"{n:032x}","expires_in":3599,"token_type":"bearer"}}"#);
        Ok(http::Response::builder()
            .header("content-type", "application/json")
            .body(body.into_bytes())
            .unwrap())
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Body {
    Bytes(&'static str),
    Stream,
}

/// An API that answers each call with the next scripted status, and records what it got.
struct Script {
    answers: VecDeque<u16>,
    sent: Vec<http::Request<Body>>,
}

fn script(answers: &[u16]) -> Script {
    Script {
        answers: answers.iter().copied().collect(),
        sent: Vec::new(),
    }
}

impl HttpApiTypes for Script {
    type RequestBody = Body;
    type ResponseBody = ();

    fn try_clone_body(&mut self, body: &mut Body) -> Option<Body> {
        match body {
            Body::Bytes(b) => Some(Body::Bytes(b)),
            Body::Stream => None,
        }
    }
}

impl BlockingExchange for Script {
    type Error = &'static str;

    fn send(&mut self, request: http::Request<Body>) -> Result<http::Response<()>, &'static str> {
        let status = self.answers.pop_front().ok_or("no answer scripted")?;
        let id = format!("00000000-0000-0000-0000-{:012}", self.sent.len());
        self.sent.push(request);
        Ok(http::Response::builder()
            .status(status)
            .header("zuora-request-id", id)
            .body(())
            .unwrap())
    }
}

const EU: &str = "https://rest.eu.zuora.com";

fn source(base: &str) -> (BlockingTokenSource, Arc<AtomicUsize>) {
    let canned = Canned::default();
    let issued = Arc::clone(&canned.issued);
    let request = TokenRequest::new(
        Environment::custom(base).unwrap(),
        ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new("dG9wLXNlY3JldA==").unwrap(),
    );
    (BlockingTokenSource::new(request, canned), issued)
}

fn call(url: &str, body: Body) -> http::Request<Body> {
    http::Request::post(url).body(body).unwrap()
}

fn bearer(request: &http::Request<Body>) -> Option<&str> {
    request
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap())
}

#[test]
fn destinations_compare_scheme_host_and_port_with_default_ports() {
    let zuora = Environment::custom("https://rest.zuora.com").unwrap();
    let to = |scheme, host, port| zuora.covers(&Destination::new(scheme, host, port, "/v1/x"));
    assert!(to("https", "rest.zuora.com", None));
    assert!(to("HTTPS", "REST.Zuora.com", Some(443)));
    assert!(!to("https", "rest.zuora.com", Some(8443)));
    assert!(!to("http", "rest.zuora.com", None));
    assert!(!to("https", "rest.zuora.com.evil.example", None));
    let loopback = Environment::custom("http://[::1]:80").unwrap();
    assert!(loopback.covers(&Destination::new("http", "[::1]", None, "/")));
    let relative: http::Uri = "/v1/accounts".parse().unwrap();
    assert!(Destination::of_uri(&relative).is_none());
}

#[test]
fn a_call_to_the_environment_gets_the_token_and_the_track_id() {
    let (source, issued) = source(&format!("{EU}/prefix/"));
    let options = ApiOptions::default().with_track_id(TrackId::new("nightly").unwrap());
    let mut api = script(&[200]);
    let response = send_blocking(
        &source,
        &options,
        call(&format!("{EU}:443/prefix/v1/accounts"), Body::Bytes("{}")),
        &mut api,
    )
    .unwrap();
    assert_eq!(response.status(), 200);
    let sent = &api.sent[0];
    assert_eq!(
        bearer(sent),
        Some("Bearer 00000000000000000000000000000000")
    );
    assert!(sent.headers()["authorization"].is_sensitive());
    assert_eq!(sent.headers()["zuora-track-id"], "nightly");
    assert!(response.extensions().get::<Replayed>().is_none());
    assert_eq!(issued.load(Ordering::SeqCst), 1);
}

#[test]
fn a_401_invalidates_that_token_and_replays_once_with_a_new_one() {
    let (source, issued) = source(EU);
    let mut api = script(&[401, 200]);
    let response = send_to(
        &source,
        &format!("{EU}/v1/accounts"),
        Body::Bytes("{\"name\":\"A\"}"),
        &mut api,
    )
    .unwrap();
    assert_eq!(response.status(), 200);
    let replayed = response.extensions().get::<Replayed>().expect("marked");
    assert_eq!(
        replayed.rejected_request_id(),
        Some("00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(api.sent.len(), 2);
    assert_ne!(bearer(&api.sent[0]), bearer(&api.sent[1]));
    assert_eq!(api.sent[0].body(), api.sent[1].body());
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    assert!(replayed.rejected() < source.status().token.unwrap().generation);

    // A second 401 is returned as it is.
    let mut api = script(&[401, 401]);
    let response = send_x(&source, Body::Bytes(""), &mut api).unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.extensions().get::<Replayed>().is_some());
    assert_eq!((api.sent.len(), issued.load(Ordering::SeqCst)), (2, 3));
}

#[test]
fn a_stream_gets_its_401_back_and_the_token_is_invalidated() {
    let (source, issued) = source(EU);
    let mut api = script(&[401]);
    let response = send_x(&source, Body::Stream, &mut api).unwrap();
    assert_eq!(response.status(), 401);
    let not_retried = response.extensions().get::<NotRetried>().expect("marked");
    assert!(matches!(
        not_retried.reason(),
        NotRetriedReason::BodyNotReplayable
    ));
    assert!(
        source.status().token.is_none(),
        "the refused token is no longer handed out"
    );
    assert_eq!((api.sent.len(), issued.load(Ordering::SeqCst)), (1, 1));
}

#[test]
fn rate_limits_and_server_errors_are_returned_without_a_token_request() {
    let (source, issued) = source(EU);
    let mut api = script(&[429, 500, 503]);
    for status in [429, 500, 503] {
        let response = send_x(&source, Body::Bytes(""), &mut api).unwrap();
        assert_eq!(response.status(), status);
    }
    assert_eq!((api.sent.len(), issued.load(Ordering::SeqCst)), (3, 1));
}

#[test]
fn other_hosts_and_the_callers_own_authorization_are_left_alone() {
    let (source, issued) = source(EU);
    let options = ApiOptions::default().with_track_id(TrackId::new("nightly").unwrap());
    for url in [
        "https://rest.zuora.com/v1/x",
        "https://rest.eu.zuora.com:8443/v1/x",
        "http://rest.eu.zuora.com/v1/x",
        "https://rest.eu.zuora.com.example/v1/x",
        "/v1/x",
    ] {
        let mut api = script(&[401]);
        let response =
            send_blocking(&source, &options, call(url, Body::Bytes("")), &mut api).unwrap();
        assert_eq!(response.status(), 401, "{url}");
        assert_eq!(bearer(&api.sent[0]), None, "{url}");
        assert!(
            !api.sent[0].headers().contains_key("zuora-track-id"),
            "{url}"
        );
    }
    let mut own = call(&format!("{EU}/v1/x"), Body::Bytes(""));
    own.headers_mut()
        .insert("authorization", "Basic bWU6c2VjcmV0".parse().unwrap());
    let mut api = script(&[401]);
    send_blocking(&source, &options, own, &mut api).unwrap();
    assert_eq!(bearer(&api.sent[0]), Some("Basic bWU6c2VjcmV0"));
    assert_eq!(issued.load(Ordering::SeqCst), 0, "no token was needed");
}

#[test]
fn reconfiguring_the_environment_moves_where_the_token_goes() {
    let (source, _) = source(EU);
    let us = "https://rest.zuora.com";
    source.reconfigure(TokenRequest::new(
        Environment::custom(us).unwrap(),
        ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new("dG9wLXNlY3JldA==").unwrap(),
    ));
    let mut api = script(&[200, 200]);
    for url in [format!("{EU}/v1/x"), format!("{us}/v1/x")] {
        send_to(&source, &url, Body::Bytes(""), &mut api).unwrap();
    }
    assert_eq!(bearer(&api.sent[0]), None);
    assert!(bearer(&api.sent[1]).is_some());
}

/// An environment with a path (a gateway) covers only calls under that path: a call
/// elsewhere on the same host, or one that climbs out with dot segments, goes out
/// untouched.
#[test]
fn calls_outside_the_environments_path_are_left_alone() {
    let (source, issued) = source(&format!("{EU}/zuora"));
    for url in [
        format!("{EU}/v1/x"),
        format!("{EU}/zuora-other/v1/x"),
        format!("{EU}/zuora/../v1/x"),
    ] {
        let mut api = script(&[200]);
        send_to(&source, &url, Body::Bytes(""), &mut api).unwrap();
        assert_eq!(bearer(&api.sent[0]), None, "{url}");
    }
    assert_eq!(issued.load(Ordering::SeqCst), 0, "no token was needed");
    let mut api = script(&[200]);
    let url = format!("{EU}/zuora/v1/x");
    send_to(&source, &url, Body::Bytes(""), &mut api).unwrap();
    assert!(bearer(&api.sent[0]).is_some());
}

/// `authorize` follows the same rule: a request outside the environment gets no token and
/// an error saying so (never the token, never the query).
#[test]
fn authorize_refuses_a_request_outside_the_environment() {
    let (source, issued) = source(EU);
    let mut foreign = call("https://rest.zuora.com/v1/x?key=value", Body::Bytes(""));
    let error = source.authorize(&mut foreign).unwrap_err();
    assert_eq!(error.kind(), zuora_oauth_driver::TokenErrorKind::ForeignUrl);
    assert!(!error.is_transient());
    assert!(!error.to_string().contains("key=value"), "{error}");
    assert_eq!(bearer(&foreign), None);
    assert_eq!(issued.load(Ordering::SeqCst), 0);
    let mut ours = call(&format!("{EU}/v1/x"), Body::Bytes(""));
    let generation = source.authorize(&mut ours).unwrap();
    assert_eq!(
        bearer(&ours),
        Some("Bearer 00000000000000000000000000000000")
    );
    assert_eq!(source.status().token.unwrap().generation, generation);
}

/// A token endpoint that holds its answers for one environment until released (and
/// answers the others at once), each environment's tokens told apart by their first digit.
#[derive(Clone)]
struct Gated {
    held: &'static str,
    state: Arc<(std::sync::Mutex<(usize, bool)>, std::sync::Condvar)>,
}

impl Gated {
    fn new(held: &'static str) -> Self {
        Self {
            held,
            state: Arc::default(),
        }
    }

    /// Waits until a request for the held environment arrived.
    fn arrived(&self) {
        let (lock, cond) = &*self.state;
        let guard = lock.lock().unwrap();
        let _held = cond
            .wait_timeout_while(guard, std::time::Duration::from_secs(20), |s| s.0 == 0)
            .unwrap();
    }

    fn release(&self) {
        let (lock, cond) = &*self.state;
        lock.lock().unwrap().1 = true;
        cond.notify_all();
    }
}

impl BlockingTransport for Gated {
    fn send(&self, request: http::Request<Vec<u8>>, _limits: Limits) -> TransportResult {
        let digit = if request.uri().to_string().starts_with(self.held) {
            let (lock, cond) = &*self.state;
            let mut s = lock.lock().unwrap();
            s.0 += 1;
            cond.notify_all();
            drop(cond.wait_while(s, |s| !s.1).unwrap());
            'e'
        } else {
            'a'
        };
        let token = std::iter::repeat_n(digit, 32).collect::<String>();
        let body =
            format!(r#"{{"access_token":"{token}","expires_in":3599,"token_type":"bearer"}}"#);
        Ok(http::Response::builder()
            .header("content-type", "application/json")
            .body(body.into_bytes())
            .unwrap())
    }
}

/// A call to the EU environment waits for its first token; meanwhile the source is
/// reconfigured for the US one, whose token comes first. The EU call must not carry it.
fn moved_while_waiting<T: Send + 'static>(
    waits: impl FnOnce(BlockingTokenSource) -> T + Send + 'static,
) -> T {
    let gate = Gated::new(EU);
    let request = |base: &str| {
        TokenRequest::new(
            Environment::custom(base).unwrap(),
            ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
            ClientSecret::new("dG9wLXNlY3JldA==").unwrap(),
        )
    };
    let source = BlockingTokenSource::new(request(EU), gate.clone());
    let waiting = std::thread::spawn({
        let source = source.clone();
        move || waits(source)
    });
    gate.arrived();
    source.reconfigure(request("https://rest.zuora.com"));
    let outcome = waiting.join().unwrap();
    gate.release();
    assert_eq!(
        source.token().unwrap().access_token().secret(),
        "a".repeat(32),
        "the US token"
    );
    outcome
}

#[test]
fn a_call_waiting_for_its_token_gets_none_of_another_environment() {
    let (result, api) = moved_while_waiting(|source| {
        let mut api = script(&[200]);
        let call = call(&format!("{EU}/v1/accounts"), Body::Bytes("{}"));
        let result = send_blocking(&source, &ApiOptions::default(), call, &mut api);
        (result.map(drop).map_err(|e| e.to_string()), api.sent)
    });
    assert!(
        api.is_empty(),
        "sent: {:?}",
        api.iter().map(bearer).collect::<Vec<_>>()
    );
    let error = result.unwrap_err();
    assert!(
        error.contains("reconfigured for another environment"),
        "{error}"
    );
}

#[test]
fn authorize_waiting_for_its_token_gets_none_of_another_environment() {
    let (result, request) = moved_while_waiting(|source| {
        let mut request = call(&format!("{EU}/v1/accounts"), Body::Bytes("{}"));
        let result = source.authorize(&mut request);
        (result.map_err(|e| e.kind()), request)
    });
    assert_eq!(bearer(&request), None);
    assert_eq!(
        result.unwrap_err(),
        zuora_oauth_driver::TokenErrorKind::ForeignUrl
    );
}
