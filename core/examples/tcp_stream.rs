//! Embedding the core in a custom runtime: a token fetched over a bare
//! `std::net::TcpStream` with a hand-written HTTP/1.1 exchange — no HTTP client crate.
//!
//! ```sh
//! cargo run -p zuora-oauth-core --example tcp_stream                    # against the mock server
//! cargo run -p zuora-oauth-core --example tcp_stream -- http://127.0.0.1:8080 CLIENT_ID   # your own
//! ```
//! (With your own base URL the secret is read from `ZUORA_CLIENT_SECRET`. Plain HTTP only:
//! TLS is the part this example leaves out, and the core allows `http://` for loopback only.)
//!
//! Everything Zuora-specific comes from the core: the request bytes, how to read the
//! response, when to fetch again. The driver only moves bytes and keeps time.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use zuora_oauth_core::{
    Action, ClientId, ClientSecret, Environment, LifecycleConfig, Timestamp, Token, TokenLifecycle,
    TokenRequest, TransportError, TransportErrorKind,
};

/// The largest response this driver reads.
const MAX_RESPONSE: u64 = 64 * 1024;

/// Fetches a token from `base_url` (a loopback `http://` URL) by driving the lifecycle.
pub fn fetch_token(
    base_url: &str,
    client_id: &str,
    secret: &str,
) -> Result<Token, Box<dyn std::error::Error>> {
    let request = TokenRequest::new(
        Environment::custom(base_url)?,
        ClientId::new(client_id)?,
        ClientSecret::new(secret)?,
    );
    // The jitter seed: std's hasher keys come from the OS, so every process gets its own.
    let seed = RandomState::new().hash_one(0u8);
    let mut lifecycle = TokenLifecycle::new(request, LifecycleConfig::default(), seed);
    let origin = Instant::now();
    let now = || Timestamp::from_duration(origin.elapsed());
    loop {
        match lifecycle.poll(now()) {
            Action::Use(cached) => return Ok(Token::clone(cached.token())),
            Action::Send(outgoing) => {
                let id = outgoing.id();
                match exchange(&outgoing.into_request()) {
                    Ok(response) => {
                        let wall = SystemTime::now();
                        let _ = lifecycle.handle_response(now(), wall, id, &response);
                    }
                    Err(e) => {
                        let _ = lifecycle.handle_transport_error(now(), id, e);
                    }
                }
            }
            Action::Wait => unreachable!("one caller never waits for another"),
            Action::Fail { error, .. } => return Err(error.clone().into()),
        }
    }
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`).
fn exchange(request: &http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TransportError> {
    let io = |kind| move |e: std::io::Error| TransportError::new(kind, e.to_string());
    let uri = request.uri();
    let host = uri.host().unwrap_or("localhost");
    let port = uri.port_u16().unwrap_or(80);
    let mut stream = TcpStream::connect((host, port)).map_err(io(TransportErrorKind::Connect))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(io(TransportErrorKind::Other))?;

    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        request.method(),
        uri.path_and_query().map_or("/", |p| p.as_str()),
        uri.authority().map_or(host, |a| a.as_str()),
        request.body().len(),
    );
    for (name, value) in request.headers() {
        head.push_str(&format!(
            "{name}: {}\r\n",
            value.to_str().unwrap_or_default()
        ));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(request.body()))
        .map_err(io(TransportErrorKind::Reset))?;

    let mut reader = BufReader::new(stream.take(MAX_RESPONSE + 1));
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(io(TransportErrorKind::Reset))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| TransportError::new(TransportErrorKind::Other, "no HTTP status line"))?;
    let mut response = http::Response::builder().status(status);
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(io(TransportErrorKind::Reset))?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            response = response.header(name.trim(), value.trim());
        }
    }
    // `Connection: close`: the body runs to the end of the stream (the mock server does not
    // chunk token responses; a real driver would also handle `Transfer-Encoding: chunked`).
    let mut body = Vec::new();
    reader
        .read_to_end(&mut body)
        .map_err(io(TransportErrorKind::Reset))?;
    if body.len() as u64 > MAX_RESPONSE {
        return Err(TransportError::new(
            TransportErrorKind::BodyTooLarge,
            "over 64 KiB",
        ));
    }
    response
        .body(body)
        .map_err(|e| TransportError::new(TransportErrorKind::Other, e.to_string()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let token = match args.as_slice() {
        [base_url, client_id] => {
            let secret = std::env::var("ZUORA_CLIENT_SECRET")?;
            fetch_token(base_url, client_id, &secret)?
        }
        _ => {
            let server = zuora_oauth_testkit::MockServer::start()?;
            eprintln!(
                "no base URL given: using the mock Zuora server at {}",
                server.base_url()
            );
            fetch_token(
                &server.base_url(),
                zuora_oauth_testkit::DEMO_CLIENT_ID,
                zuora_oauth_testkit::DEMO_CLIENT_SECRET,
            )?
        }
    };
    println!(
        "got a {} token valid for {} s (Zuora-Request-Id {})",
        token.token_type(),
        token.expires_in().as_secs(),
        token.meta().request_id().unwrap_or("unknown"),
    );
    Ok(())
}
