//! The server's wait, read from literal HTTP responses: `Retry-After` if present, else
//! `RateLimit-Reset` on a 429 or on any answer whose `RateLimit-Remaining` is 0 (Zuora
//! documents its 429s with the `RateLimit-*` headers, not with `Retry-After`). One table,
//! checked twice: what the lifecycle does (no token request before the wait) and what the
//! response's metadata and the error say.

mod common;

use std::time::{Duration, SystemTime};

use common::{SUCCESS_BODY, request, response};
use zuora_oauth_core::{Action, LifecycleConfig, Outcome, Timestamp, TokenLifecycle};

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
