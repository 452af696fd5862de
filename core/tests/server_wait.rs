//! The server's wait, read from literal HTTP responses: `Retry-After` if present, else
//! `RateLimit-Reset` on a 429 or on any answer whose `RateLimit-Remaining` is 0 (Zuora
//! documents its 429s with the `RateLimit-*` headers, not with `Retry-After`). One table,
//! checked twice: what the lifecycle does (no token request before the wait) and what the
//! response's metadata and the error say.

mod common;

use std::time::{Duration, SystemTime};

use common::{SUCCESS_BODY, request, request_with_secret, response};
use zuora_oauth_core::{Action, Error, LifecycleConfig, Outcome, Timestamp, TokenLifecycle};

const DATE: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
const DATE_PLUS_90: &str = "Wed, 21 Oct 2015 07:29:30 GMT";
const GATEWAY_BODY: &str = r#"{"message":"API rate limit exceeded"}"#;

/// One literal response and the wait it asks for, in seconds (`None`: no wait).
struct Case {
    what: &'static str,
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    wait: Option<u64>,
}

const fn case(
    what: &'static str,
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    wait: Option<u64>,
) -> Case {
    Case {
        what,
        status,
        headers,
        wait,
    }
}

const ZUORA_429: &[(&str, &str)] = &[
    ("ratelimit-limit", "100, 100;w=60"),
    ("ratelimit-remaining", "0"),
    ("ratelimit-reset", "40"),
];

const CASES: &[Case] = &[
    case("Zuora's documented 429", 429, ZUORA_429, Some(40)),
    case(
        "a 429 with only RateLimit-Reset",
        429,
        &[("ratelimit-reset", "40")],
        Some(40),
    ),
    case(
        "a 429 with both: Retry-After first",
        429,
        &[("retry-after", "7"), ("ratelimit-reset", "40")],
        Some(7),
    ),
    case(
        "a longer Retry-After first too",
        429,
        &[("retry-after", "50"), ("ratelimit-reset", "4")],
        Some(50),
    ),
    case(
        "a Retry-After date against the Date header, first",
        429,
        &[
            ("date", DATE),
            ("retry-after", DATE_PLUS_90),
            ("ratelimit-reset", "40"),
        ],
        Some(90),
    ),
    case("a 429 with nothing", 429, &[], None),
    case(
        "a 429 with the older generation only",
        429,
        &[
            ("x-ratelimit-limit-minute", "100"),
            ("x-ratelimit-remaining-minute", "0"),
        ],
        None,
    ),
    case(
        "a 503 with quota left: RateLimit-Reset is only the window",
        503,
        &[("ratelimit-remaining", "3"), ("ratelimit-reset", "40")],
        None,
    ),
    case(
        "a 503 with nothing remaining",
        503,
        &[("ratelimit-remaining", "0"), ("ratelimit-reset", "40")],
        Some(40),
    ),
    case(
        "a 503 with Retry-After",
        503,
        &[("retry-after", "12")],
        Some(12),
    ),
    case(
        "a rejection with nothing remaining",
        401,
        &[("ratelimit-remaining", "0"), ("ratelimit-reset", "40")],
        Some(40),
    ),
    case(
        "a token with nothing remaining",
        200,
        &[("ratelimit-remaining", "0"), ("ratelimit-reset", "20")],
        Some(20),
    ),
    case(
        "a token with quota left",
        200,
        &[("ratelimit-remaining", "1"), ("ratelimit-reset", "20")],
        None,
    ),
    case(
        "a token with nothing remaining in one of the windows",
        200,
        &[
            ("ratelimit-limit", "2250000, 50000;w=60, 2250000;w=3600"),
            ("ratelimit-remaining", "49990, 0;w=60, 2240000;w=3600"),
            ("ratelimit-reset", "20"),
        ],
        Some(20),
    ),
    case(
        "a token with Retry-After but quota left: Retry-After means nothing on a 200",
        200,
        &[("retry-after", "30"), ("ratelimit-remaining", "5")],
        None,
    ),
    case(
        "a token with nothing remaining and Retry-After: Retry-After first",
        200,
        &[
            ("retry-after", "30"),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "20"),
        ],
        Some(30),
    ),
    case(
        "a token with nothing remaining but no reset: nothing to wait for",
        200,
        &[("ratelimit-remaining", "0")],
        None,
    ),
    case(
        "spaces around the number",
        429,
        &[("ratelimit-reset", "  40  ")],
        Some(40),
    ),
    case(
        "a reset with parameters",
        429,
        &[("ratelimit-reset", "40;w=60")],
        Some(40),
    ),
    case(
        "a fraction of a second is rounded up",
        429,
        &[("ratelimit-reset", "2.5")],
        Some(3),
    ),
    case(
        "the first of repeated headers",
        429,
        &[("ratelimit-reset", "40"), ("ratelimit-reset", "4")],
        Some(40),
    ),
    case(
        "garbage is no wait",
        429,
        &[("ratelimit-reset", "soon")],
        None,
    ),
    case(
        "a negative number is no wait",
        429,
        &[("ratelimit-reset", "-5")],
        None,
    ),
    case(
        "an empty value is no wait",
        429,
        &[("ratelimit-reset", "")],
        None,
    ),
    case(
        "absurd numbers saturate (and the lifecycle caps them)",
        429,
        &[("ratelimit-reset", "99999999999999999999999")],
        Some(u64::MAX),
    ),
];

/// The literal response of `case`: a token for a 200, else Zuora's gateway body.
fn literal(case: &Case) -> http::Response<Vec<u8>> {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(case.headers);
    let body = if case.status == 200 {
        SUCCESS_BODY
    } else {
        GATEWAY_BODY
    };
    response(case.status, &headers, body)
}

const STEP: Duration = Duration::from_millis(100);
/// The lifecycle's cap on any wait (its default).
const CAP: Duration = Duration::from_secs(15 * 60);

/// When the lifecycle sends its next token request after `case`'s answer to its first,
/// received at zero: a failure is retried (a permanent one re-probed after 1 s), a token
/// is reported refused by the API at once.
fn next_request_after(case: &Case) -> Timestamp {
    let config = LifecycleConfig::default().with_permanent_reprobe(Some(Duration::from_secs(1)));
    let mut lc = TokenLifecycle::new(request(), config, 7);
    let t0 = Timestamp::ZERO;
    let Action::Send(out) = lc.poll(t0) else {
        panic!("{}: a first poll sends", case.what)
    };
    let wall = httpdate::parse_http_date(DATE).unwrap();
    let generation = match lc.handle_response(t0, wall, out.id(), &literal(case)) {
        Outcome::Token(token) => Some(token.generation()),
        Outcome::Failed(_) => None,
        Outcome::Ignored => panic!("{}: ignored", case.what),
    };
    if let Some(generation) = generation {
        assert!(lc.invalidate(t0, generation), "{}", case.what);
    }
    let mut now = t0;
    while now.as_duration() <= CAP + Duration::from_secs(60) {
        if let Action::Send(_) = lc.poll(now) {
            return now;
        }
        now = now + STEP;
    }
    panic!("{}: no request within the cap", case.what)
}

#[test]
fn the_lifecycle_sends_nothing_before_the_servers_wait() {
    let mut wrong = Vec::new();
    for case in CASES {
        let sent = next_request_after(case).as_duration();
        let ok = match case.wait {
            Some(wait) => {
                let wait = Duration::from_secs(wait).min(CAP);
                // Jittered: up to 10 % more (at least up to 1 s), never past the cap.
                let latest = (wait + (wait / 10).max(Duration::from_secs(1))).min(CAP) + STEP;
                sent >= wait && sent <= latest
            }
            // The first backoff (at most 1 s) or the 1 s re-probe.
            None => sent <= Duration::from_secs(1) + STEP,
        };
        if !ok {
            wrong.push(format!(
                "{}: sent after {sent:?}, asked {:?} s",
                case.what, case.wait
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_metadata_and_the_error_report_the_wait_as_stated() {
    // A wall clock far from the responses' `Date`: only a date without one would use it.
    let elsewhere = SystemTime::UNIX_EPOCH;
    for case in CASES {
        let expected = case.wait.map(Duration::from_secs);
        let meta = match request().parse_response(&literal(case)) {
            Ok(token) => token.meta().clone(),
            Err(error) => {
                assert_eq!(error.server_wait(), expected, "{}", case.what);
                error.response().unwrap().meta().clone()
            }
        };
        assert_eq!(meta.server_wait(), expected, "{}", case.what);
        assert_eq!(meta.server_wait_from(elsewhere), expected, "{}", case.what);
    }
}

#[test]
fn a_429_names_its_wait() {
    let shown = |headers: &[(&str, &str)]| {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        common::parse_err(&response(429, &all, GATEWAY_BODY)).to_string()
    };
    let reset = shown(ZUORA_429);
    assert!(
        reset.contains("(HTTP 429: API rate limit exceeded); retry after 40 s (RateLimit-Reset)"),
        "{reset}"
    );
    let both = shown(&[("retry-after", "7"), ("ratelimit-reset", "40")]);
    assert!(both.contains("; retry after 7 s"), "{both}");
    assert!(!both.contains("RateLimit-Reset"), "{both}");
    let none = shown(&[]);
    assert!(none.contains("; retry later with backoff"), "{none}");
}

/// The values acted on are read as received; what is shown hides a number that spells
/// the secret.
#[test]
fn a_reset_that_spells_the_secret_is_acted_on_but_not_shown() {
    let error = request_with_secret("40")
        .parse_response(&literal(&CASES[0]))
        .unwrap_err();
    assert_eq!(error.server_wait(), Some(Duration::from_secs(40)));
    let shown = error.to_string();
    assert!(
        shown.contains("; retry after [redacted] s (RateLimit-Reset)"),
        "{shown}"
    );
    assert!(!shown.contains("40"), "{shown}");
}

#[test]
fn a_retry_after_date_without_a_date_header_needs_the_callers_clock() {
    let error = common::parse_err(&response(
        429,
        &[("retry-after", DATE_PLUS_90), ("ratelimit-reset", "40")],
        "",
    ));
    let meta = error.response().unwrap().meta();
    assert_eq!(
        meta.server_wait(),
        None,
        "no Date header to measure the date from"
    );
    let now = httpdate::parse_http_date(DATE).unwrap();
    assert_eq!(meta.server_wait_from(now), Some(Duration::from_secs(90)));
    assert!(matches!(error, Error::RateLimited(_)));
}
