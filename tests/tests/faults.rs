//! The fault matrix: every fault, through every transport, ends in the right typed error
//! with no panic, and the token source recovers afterwards. Each scenario also collects
//! every `Debug`/`Display` of what it saw, and the tracing output at TRACE level, and
//! fails if the client secret or any issued access token appears in it.

mod common;

use std::time::Duration;

use common::leaks;
use common::{Driver, Setup, chain, closed_port, secret};
use zuora_oauth_core::{Error, Problem, TransportErrorKind};
use zuora_oauth_driver::TokenError;
use zuora_oauth_testkit::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer, RetryAfter, StallEnd, TokenFields,
    spellings,
};

/// The transport's timeout in these scenarios; slow faults last much longer.
const TIMEOUT: Duration = Duration::from_millis(400);
const SLOW: Duration = Duration::from_secs(3);

/// Runs `fault` once and checks the error, then recovery; returns what it saw as text.
fn run<D: Driver>(fault: Fault, check: impl Fn(&TokenError) -> bool) {
    leaks::capture();
    let server = MockServer::builder().start().unwrap();
    let mut setup = Setup::new(&server);
    setup.timeout = TIMEOUT;
    let source = D::build(&setup);
    let mut seen = String::new();

    let first = source.token().unwrap();
    seen += &format!("{first:?}");
    setup.clock.set(Duration::from_secs(3600)); // expired: the next call must fetch
    server.push_fault(fault.clone());
    let err = source.token().unwrap_err();
    seen += &format!("{err:?} {err} {:?} {}", err.error(), chain(&err));
    assert!(check(&err), "{} / {fault:?}: unexpected {err:?}", D::NAME);
    // The failure is reported without a new request while the backoff runs…
    let again = source.token().unwrap_err();
    seen += &format!("{again:?} {}", chain(&again));
    assert_eq!(server.token_request_count(), 2, "{} / {fault:?}", D::NAME);
    // …and the source recovers once it ends (a transient failure), or once reset (a
    // permanent one, which no time alone retries).
    match err.retry_in() {
        Some(retry_in) => {
            assert!(err.is_transient(), "{} / {fault:?}", D::NAME);
            setup.clock.advance(retry_in);
        }
        None => {
            assert!(!err.is_transient(), "{} / {fault:?}", D::NAME);
            setup.clock.advance(Duration::from_secs(3600));
            assert!(source.token().is_err(), "{} / {fault:?}: retried", D::NAME);
            assert_eq!(server.token_request_count(), 2, "{} / {fault:?}", D::NAME);
            source.reset();
        }
    }
    let recovered = source
        .token()
        .unwrap_or_else(|e| panic!("{} / {fault:?}: no recovery: {e}", D::NAME));
    seen += &format!("{recovered:?} {}", source.debug());
    assert_ne!(secret(&recovered), secret(&first));

    // Nothing seen or logged holds a secret, in any spelling.
    let logged = leaks::logged();
    let issued: Vec<String> = server
        .issued_tokens()
        .into_iter()
        .map(|t| t.access_token)
        .collect();
    let mut secrets: Vec<&str> = issued.iter().map(String::as_str).collect();
    secrets.push(DEMO_CLIENT_SECRET);
    leaks::assert_hidden(
        &format!("{} / {fault:?}: what the caller saw", D::NAME),
        &seen,
        &secrets,
    );
    leaks::assert_hidden(
        &format!("{} / {fault:?}: the log", D::NAME),
        &logged,
        &secrets,
    );
    assert!(logged.contains("zuora_oauth"), "tracing captured nothing");
}

fn transport(kind: TransportErrorKind) -> impl Fn(&TokenError) -> bool {
    move |e| matches!(e.error(), Some(Error::Transport(t)) if t.kind() == kind)
}

fn server_error(status: u16) -> impl Fn(&TokenError) -> bool {
    move |e| matches!(e.error(), Some(Error::Server(r)) if r.status() == status)
}

fn unexpected(check: fn(&Problem) -> bool) -> impl Fn(&TokenError) -> bool {
    move |e| matches!(e.error(), Some(Error::UnexpectedResponse { problem, .. }) if check(problem))
}

fn rate_limited(retry_after: Option<Duration>) -> impl Fn(&TokenError) -> bool {
    move |e| match e.error() {
        Some(error @ Error::RateLimited(_)) => {
            let got = error.retry_after();
            let in_window = match (got, retry_after) {
                // An HTTP date has one-second resolution.
                (Some(g), Some(w)) => g <= w && g + Duration::from_secs(1) >= w,
                (g, w) => g == w,
            };
            in_window && e.retry_in().unwrap() >= got.unwrap_or_default()
        }
        _ => false,
    }
}

/// A 429 whose wait is only in `RateLimit-Reset`: the source waits for the reset (not
/// before it, and no later than its jitter allows), and the error names the wait.
fn waits_for_the_reset(reset: Duration) -> impl Fn(&TokenError) -> bool {
    move |e| match e.error() {
        Some(error @ Error::RateLimited(_)) => {
            let shown = error.to_string();
            let retry_in = e.retry_in().unwrap_or_default();
            error.retry_after().is_none()
                && error.server_wait() == Some(reset)
                && shown.contains(&format!("{} s", reset.as_secs()))
                && retry_in >= reset
                && retry_in <= reset + (reset / 10).max(Duration::from_secs(1))
        }
        _ => false,
    }
}

fn reset_before_headers<D: Driver>() {
    run::<D>(Fault::ResetConnection, transport(TransportErrorKind::Reset));
}

fn closed_before_headers<D: Driver>() {
    run::<D>(Fault::CloseConnection, transport(TransportErrorKind::Reset));
}

fn reset_mid_body<D: Driver>() {
    run::<D>(
        Fault::CloseMidBody {
            sent_bytes: Some(20),
        },
        transport(TransportErrorKind::Reset),
    );
}

fn slow_headers_time_out<D: Driver>() {
    run::<D>(
        Fault::delay_headers(SLOW),
        transport(TransportErrorKind::Timeout),
    );
}

fn slow_body_times_out<D: Driver>() {
    run::<D>(
        Fault::stall_body(SLOW, StallEnd::Finish),
        transport(TransportErrorKind::Timeout),
    );
}

fn html_500<D: Driver>() {
    run::<D>(Fault::html_error(500), server_error(500));
}

fn html_502<D: Driver>() {
    run::<D>(Fault::html_error(502), server_error(502));
}

fn html_503<D: Driver>() {
    run::<D>(Fault::html_error(503), server_error(503));
}

fn html_504<D: Driver>() {
    run::<D>(Fault::html_error(504), server_error(504));
}

fn rate_limited_retry_after_seconds<D: Driver>() {
    run::<D>(
        Fault::rate_limited(RetryAfter::Seconds(7)),
        rate_limited(Some(Duration::from_secs(7))),
    );
}

fn rate_limited_retry_after_date<D: Driver>() {
    run::<D>(
        Fault::rate_limited(RetryAfter::HttpDateIn(9)),
        rate_limited(Some(Duration::from_secs(9))),
    );
}

fn rate_limited_without_retry_after<D: Driver>() {
    run::<D>(Fault::rate_limited(RetryAfter::Absent), rate_limited(None));
}

fn rate_limited_with_only_rate_limit_headers<D: Driver>() {
    run::<D>(
        Fault::rate_limit_reset(30),
        waits_for_the_reset(Duration::from_secs(30)),
    );
}

fn malformed_json<D: Driver>() {
    run::<D>(
        Fault::MalformedJson,
        unexpected(|p| matches!(p, Problem::MalformedJson { .. })),
    );
}

fn empty_body<D: Driver>() {
    let fault = Fault::respond(200, [("content-type", "application/json")], "");
    run::<D>(fault, unexpected(|p| *p == Problem::EmptyBody));
}

fn oversized_body<D: Driver>() {
    run::<D>(
        Fault::oversized_body(1024 * 1024),
        transport(TransportErrorKind::BodyTooLarge),
    );
}

fn wrong_content_type<D: Driver>() {
    run::<D>(
        Fault::WrongContentType,
        unexpected(|p| matches!(p, Problem::ContentType { .. })),
    );
}

fn token_type_not_bearer<D: Driver>() {
    run::<D>(
        Fault::token_type("mac"),
        unexpected(|p| matches!(p, Problem::TokenType(t) if t == "mac")),
    );
}

fn expires_in_invalid(value: serde_json::Value) -> Fault {
    Fault::TokenFields(TokenFields::default().with_expires_in(value))
}

fn is_expires_in(p: &Problem) -> bool {
    matches!(
        p,
        Problem::InvalidField {
            field: "expires_in",
            ..
        }
    )
}

fn expires_in_zero<D: Driver>() {
    run::<D>(expires_in_invalid(0.into()), unexpected(is_expires_in));
}

fn expires_in_negative<D: Driver>() {
    run::<D>(expires_in_invalid((-5).into()), unexpected(is_expires_in));
}

/// A lifetime far beyond a day is accepted and cached for a day at most.
fn expires_in_huge_is_accepted_and_clamped<D: Driver>() {
    let server = MockServer::builder().start().unwrap();
    server.push_fault(expires_in_invalid(1e12.into()));
    let token = D::build(&Setup::new(&server)).token().unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(1_000_000_000_000));
    assert_eq!(
        token.expires_at().as_duration(),
        Duration::from_secs(86_400)
    );
}

fn redirect_to_another_host<D: Driver>() {
    run::<D>(
        Fault::redirect(),
        unexpected(
            |p| matches!(p, Problem::Redirect { location: Some(l) } if l.contains("127.0.0.2")),
        ),
    );
}

/// `expires_in` as a string is not a fault: it is accepted.
fn expires_in_as_string_is_accepted<D: Driver>() {
    let server = MockServer::builder().start().unwrap();
    server.push_fault(expires_in_invalid("3599".into()));
    let token = D::build(&Setup::new(&server)).token().unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
}

/// Nothing listens; then the server appears on that port and the source recovers.
fn connection_refused_then_recovery<D: Driver>() {
    let port = closed_port();
    let setup = Setup::for_client(
        &format!("http://127.0.0.1:{port}"),
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
    );
    let source = D::build(&setup);
    let err = source.token().unwrap_err();
    assert!(
        transport(TransportErrorKind::Connect)(&err),
        "{}: {err:?}",
        D::NAME
    );
    let _server = MockServer::builder().port(port).start().unwrap();
    setup.clock.advance(err.retry_in().unwrap());
    source.token().unwrap();
}

/// The headers a user can see or that the core reads.
const ECHO_HEADERS: [&str; 11] = [
    "Zuora-Request-Id",
    "Zuora-Track-Id",
    "Retry-After",
    "Date",
    "X-RateLimit-Limit-minute",
    "X-RateLimit-Remaining-minute",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "WWW-Authenticate",
    "Location",
];

/// The mock echoes the client secret, in every spelling, into every header and field a
/// rejection and a good token have (and the live token into `access_token` fields): the
/// echoes reach the log at TRACE level and what the caller sees, hidden.
fn echoes_reach_the_log_hidden<D: Driver>() {
    leaks::capture();
    let server = MockServer::builder().start().unwrap();
    let setup = Setup::new(&server);
    let source = D::build(&setup);
    let mut seen = String::new();
    let first = source.token().unwrap();
    let live = secret(&first);
    // The encodings first: a round quotes its first two spellings in the error's text.
    let mut all = spellings::spellings(DEMO_CLIENT_SECRET);
    all.reverse();
    let mut tokens = Vec::new();
    for (round, chunk) in all.chunks(ECHO_HEADERS.len()).enumerate() {
        let headers = || {
            ECHO_HEADERS
                .iter()
                .zip(chunk.iter().cycle())
                .map(|(h, v)| (h.to_string(), v.clone()))
        };
        // A rejection that echoes.
        setup.clock.advance(Duration::from_secs(3600));
        let body = serde_json::json!({
            // The two fields the error's `Display` (so the log) quotes: one spelling each,
            // short enough that no cap cuts them.
            "error": chunk[0],
            "error_description": format!("Bad client credentials: {}", chunk[1 % chunk.len()]),
            "message": chunk.join(" "),
            "reasons": [{"code": chunk[0], "message": chunk.join(", ")}],
            "access_token": live,
        });
        server.push_fault(Fault::respond(
            401,
            headers().chain([("Content-Type".into(), "application/json".into())]),
            body.to_string(),
        ));
        let err = source.token().unwrap_err();
        assert!(
            matches!(err.error(), Some(Error::Rejected(_))),
            "{} round {round}: {err:?}",
            D::NAME
        );
        let cause = err.error().expect("a failed request");
        seen += &format!("{err:?} {err} {cause:?} {cause}\n");
        source.reset();
        // A good token that echoes into `jti`, `scope` and its headers.
        let mut fields = TokenFields::default()
            .with_jti(chunk[0].clone())
            .with_scope(format!("tenant.19 {} service.echo.read", chunk.join(" ")));
        for (name, value) in headers() {
            fields = fields.with_header(name, value);
        }
        server.push_fault(Fault::TokenFields(fields));
        let token = source.token().unwrap();
        seen += &format!("{token:?} {:?}\n", token.meta());
        tokens.push(token);
    }
    seen += &source.debug();

    let logged = leaks::logged();
    let issued: Vec<String> = server
        .issued_tokens()
        .into_iter()
        .map(|t| t.access_token)
        .collect();
    let mut secrets: Vec<&str> = issued.iter().map(String::as_str).collect();
    secrets.push(DEMO_CLIENT_SECRET);
    leaks::assert_hidden(&format!("{}: the log", D::NAME), &logged, &secrets);
    // The echoes did reach the log (hidden): the rejection's text, the new token's IDs.
    assert!(
        logged.contains("(HTTP 401: [redacted]: Bad client credentials: [redacted]); check"),
        "{}: the rejection is not in the log",
        D::NAME
    );
    assert!(
        logged.contains("[Zuora-Request-Id: [redacted]]"),
        "{}: the rejection's request ID is not in the log",
        D::NAME
    );
    assert!(
        logged
            .lines()
            .any(|l| l.contains("new Zuora token") && l.contains("request_id=\"[redacted]\"")),
        "{}: the new token's request ID is not in the log",
        D::NAME
    );
    leaks::assert_hidden(
        &format!("{}: what the caller saw", D::NAME),
        &seen,
        &secrets,
    );
    // The tokens are whole but for the echoes.
    for token in &tokens {
        assert_eq!(token.jti(), Some("[redacted]"), "{}", D::NAME);
        assert_eq!(token.scope().tenant_id(), Some(19), "{}", D::NAME);
        assert!(token.scope().allows("echo", "read"), "{}", D::NAME);
    }
}

matrix!(
    echoes_reach_the_log_hidden,
    reset_before_headers,
    closed_before_headers,
    reset_mid_body,
    slow_headers_time_out,
    slow_body_times_out,
    html_500,
    html_502,
    html_503,
    html_504,
    rate_limited_retry_after_seconds,
    rate_limited_retry_after_date,
    rate_limited_without_retry_after,
    rate_limited_with_only_rate_limit_headers,
    malformed_json,
    empty_body,
    oversized_body,
    wrong_content_type,
    token_type_not_bearer,
    expires_in_zero,
    expires_in_negative,
    expires_in_huge_is_accepted_and_clamped,
    redirect_to_another_host,
    expires_in_as_string_is_accepted,
    connection_refused_then_recovery,
);
