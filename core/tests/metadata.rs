//! Response headers read on success and on error: request and track IDs, both generations
//! of rate-limit headers, and `Retry-After` in both forms.

mod common;

use std::time::{Duration, SystemTime};

use common::{REQUEST_ID, SUCCESS_BODY, parse, response};
use zuora_oauth_core::{Error, RateLimits, ResponseMeta, RetryAfter, TrackId};

const DATE: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
const DATE_PLUS_90: &str = "Wed, 21 Oct 2015 07:29:30 GMT";

/// The metadata of a response, whether it parsed as a token or as an error.
fn meta_of(status: u16, headers: &[(&str, &str)]) -> ResponseMeta {
    let body = if status == 200 { SUCCESS_BODY } else { "" };
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    match parse(&response(status, &all, body)) {
        Ok(token) => token.meta().clone(),
        Err(e) => e.response().expect("a response").meta().clone(),
    }
}

fn unix(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

const DATE_UNIX: u64 = 1_445_412_480;

/// All the headers Zuora may send, in both generations.
const ALL_HEADERS: [(&str, &str); 8] = [
    ("Zuora-Request-Id", REQUEST_ID),
    ("Zuora-Track-Id", "nightly-sync-42"),
    ("X-RateLimit-Limit-minute", "100"),
    ("X-RateLimit-Remaining-minute", "97"),
    ("RateLimit-Limit", "2250000, 50000;w=60, 2250000;w=3600"),
    ("RateLimit-Remaining", "49990"),
    ("RateLimit-Reset", "42"),
    ("Date", DATE),
];

#[test]
fn headers_are_read_on_success_and_on_every_error_class() {
    for status in [200, 400, 401, 403, 404, 429, 500, 502, 503, 504] {
        let meta = meta_of(status, &ALL_HEADERS);
        assert_eq!(meta.status(), status);
        assert_eq!(meta.request_id(), Some(REQUEST_ID), "{status}");
        assert_eq!(meta.track_id(), Some("nightly-sync-42"), "{status}");
        assert_eq!(meta.date(), Some(unix(DATE_UNIX)), "{status}");
        let limits = meta.rate_limits();
        assert_eq!(limits.minute_limit, Some(100), "{status}");
        assert_eq!(limits.minute_remaining, Some(97), "{status}");
        assert_eq!(limits.limit, Some(2_250_000), "{status}");
        assert_eq!(
            limits.limit_policy.as_deref(),
            Some("2250000, 50000;w=60, 2250000;w=3600")
        );
        assert_eq!(limits.remaining, Some(49_990), "{status}");
        assert_eq!(limits.reset, Some(Duration::from_secs(42)), "{status}");
        assert_eq!(meta.retry_after(), None);
    }
}

#[test]
fn missing_headers_read_as_none() {
    for status in [200, 401, 429, 503] {
        let meta = meta_of(status, &[]);
        assert_eq!(meta.request_id(), None);
        assert_eq!(meta.track_id(), None);
        assert_eq!(meta.date(), None);
        assert_eq!(meta.retry_after(), None);
        assert_eq!(meta.retry_after_delay(), None);
        assert_eq!(meta.rate_limits(), RateLimits::default());
        assert_eq!(
            format!("{meta:?}"),
            format!("ResponseMeta {{ status: {status} }}")
        );
    }
}

#[test]
fn each_rate_limit_generation_is_read_alone() {
    let old = meta_of(
        429,
        &[
            ("x-ratelimit-limit-minute", "100"),
            ("x-ratelimit-remaining-minute", "0"),
        ],
    )
    .rate_limits();
    assert_eq!(
        (old.minute_limit, old.minute_remaining),
        (Some(100), Some(0))
    );
    assert_eq!((old.limit, old.remaining, old.reset), (None, None, None));

    let new = meta_of(
        200,
        &[
            ("ratelimit-limit", "2000"),
            ("ratelimit-remaining", "1999"),
            ("ratelimit-reset", "60"),
        ],
    )
    .rate_limits();
    assert_eq!((new.minute_limit, new.minute_remaining), (None, None));
    assert_eq!(new.limit, Some(2000));
    assert_eq!(new.limit_policy.as_deref(), Some("2000"));
    assert_eq!(new.remaining, Some(1999));
    assert_eq!(new.reset, Some(Duration::from_secs(60)));
}

#[test]
fn unparseable_rate_limit_values_read_as_none() {
    let limits = meta_of(
        429,
        &[
            ("x-ratelimit-limit-minute", "many"),
            ("x-ratelimit-remaining-minute", "-1"),
            ("ratelimit-limit", "w=60"),
            ("ratelimit-remaining", ""),
            ("ratelimit-reset", "soon"),
        ],
    )
    .rate_limits();
    assert_eq!(limits.minute_limit, None);
    assert_eq!(limits.minute_remaining, None);
    assert_eq!(limits.limit, None);
    assert_eq!(limits.limit_policy.as_deref(), Some("w=60"));
    assert_eq!(limits.remaining, None);
    assert_eq!(limits.reset, None);
}

#[test]
fn retry_after_in_seconds() {
    for (value, secs) in [("30", 30), (" 120 ", 120), ("0", 0)] {
        let err = common::parse_err(&response(429, &[("retry-after", value)], ""));
        let meta = err.response().unwrap().meta();
        assert_eq!(
            meta.retry_after(),
            Some(RetryAfter::Delay(Duration::from_secs(secs))),
            "{value:?}"
        );
        assert_eq!(
            err.retry_after(),
            Some(Duration::from_secs(secs)),
            "{value:?}"
        );
        assert!(
            err.to_string().contains(&format!("retry after {secs} s")),
            "{err}"
        );
    }
    let huge = common::parse_err(&response(
        429,
        &[("retry-after", "99999999999999999999999")],
        "",
    ));
    assert_eq!(huge.retry_after(), Some(Duration::from_secs(u64::MAX)));
}

#[test]
fn retry_after_as_a_date_resolves_against_the_date_header() {
    let err = common::parse_err(&response(
        429,
        &[
            ("date", DATE),
            ("retry-after", DATE_PLUS_90),
            ("zuora-request-id", REQUEST_ID),
        ],
        r#"{"message":"API rate limit exceeded"}"#,
    ));
    let meta = err.response().unwrap().meta();
    assert_eq!(
        meta.retry_after(),
        Some(RetryAfter::At(unix(DATE_UNIX + 90)))
    );
    assert_eq!(meta.retry_after_delay(), Some(Duration::from_secs(90)));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(90)));
    let text = err.to_string();
    assert!(text.contains("retry after 90 s"), "{text}");
    assert!(text.contains("API rate limit exceeded"), "{text}");
    assert!(text.contains(REQUEST_ID), "{text}");
}

#[test]
fn retry_after_as_a_date_without_a_date_header_needs_the_callers_clock() {
    let err = common::parse_err(&response(429, &[("retry-after", DATE_PLUS_90)], ""));
    let meta = err.response().unwrap().meta();
    let at = meta.retry_after().unwrap();
    assert_eq!(at, RetryAfter::At(unix(DATE_UNIX + 90)));
    assert_eq!(meta.retry_after_delay(), None);
    assert_eq!(err.retry_after(), None);
    assert!(
        err.to_string().contains("retry later with backoff"),
        "{err}"
    );
    assert_eq!(at.delay_from(unix(DATE_UNIX)), Duration::from_secs(90));
    assert_eq!(at.delay_from(unix(DATE_UNIX + 89)), Duration::from_secs(1));
    assert_eq!(at.delay_from(unix(DATE_UNIX + 3600)), Duration::ZERO);
}

#[test]
fn retry_after_in_the_past_is_no_wait() {
    let err = common::parse_err(&response(
        503,
        &[("date", DATE_PLUS_90), ("retry-after", DATE)],
        "",
    ));
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
}

#[test]
fn retry_after_in_the_other_date_formats() {
    for value in [
        "Wednesday, 21-Oct-15 07:29:30 GMT",
        "Wed Oct 21 07:29:30 2015",
    ] {
        assert_eq!(
            RetryAfter::parse(value),
            Some(RetryAfter::At(unix(DATE_UNIX + 90))),
            "{value}"
        );
    }
}

#[test]
fn retry_after_garbage_is_ignored() {
    for value in [
        "",
        "soon",
        "-5",
        "1.5",
        "30s",
        "Wed, 32 Oct 2015 07:28:00 GMT",
    ] {
        assert_eq!(RetryAfter::parse(value), None, "{value:?}");
        let err = common::parse_err(&response(429, &[("retry-after", value)], ""));
        assert_eq!(err.retry_after(), None, "{value:?}");
    }
    assert_eq!(
        RetryAfter::Delay(Duration::from_secs(5)).delay_from(unix(0)),
        Duration::from_secs(5)
    );
}

#[test]
fn retry_after_is_read_on_server_errors_too() {
    let err = common::parse_err(&response(503, &[("retry-after", "120")], ""));
    assert!(matches!(err, Error::Server(_)));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
}

#[test]
fn the_first_of_repeated_headers_wins() {
    let meta = meta_of(
        200,
        &[
            ("zuora-request-id", REQUEST_ID),
            ("zuora-request-id", "00000000-0000-0000-0000-000000000000"),
            ("ratelimit-remaining", "5"),
            ("ratelimit-remaining", "4"),
        ],
    );
    assert_eq!(meta.request_id(), Some(REQUEST_ID));
    assert_eq!(meta.rate_limits().remaining, Some(5));
}

#[test]
fn the_echoed_track_id_matches_what_was_sent() {
    let track = TrackId::new("job 7 / attempt 2").unwrap();
    let request = common::request().with_track_id(track.clone());
    let sent = request.to_http();
    let echoed = sent.headers()["zuora-track-id"].to_str().unwrap();
    let ok = response(
        200,
        &[
            ("content-type", "application/json"),
            ("zuora-track-id", echoed),
        ],
        SUCCESS_BODY,
    );
    let token = request.parse_response(&ok).unwrap();
    assert_eq!(token.meta().track_id(), Some(track.as_str()));
}

#[test]
fn meta_debug_shows_ids_and_limits() {
    let mut headers = ALL_HEADERS.to_vec();
    headers.push(("retry-after", "7"));
    let debug = format!("{:?}", meta_of(429, &headers));
    for needle in [
        "status: 429",
        REQUEST_ID,
        "nightly-sync-42",
        "Delay(7s)",
        "minute_limit: Some(100)",
        "2250000, 50000;w=60, 2250000;w=3600",
    ] {
        assert!(debug.contains(needle), "{needle:?} not in {debug}");
    }
}

#[test]
fn a_header_value_that_is_not_text_reads_as_absent_and_the_others_still_do() {
    // `HeaderValue::from_bytes` accepts obs-text (bytes 0x80 and up); such a value is no
    // text to read, and must not hide or spoil the values around it.
    let mut builder = http::Response::builder()
        .status(429)
        .header("content-type", "application/json")
        .header("date", DATE)
        .header("zuora-track-id", "nightly-sync-42");
    builder = builder.header(
        "zuora-request-id",
        http::HeaderValue::from_bytes(b"caf\xe9-1").unwrap(),
    );
    builder = builder.header("zuora-request-id", REQUEST_ID);
    builder = builder.header(
        "ratelimit-limit",
        http::HeaderValue::from_bytes(b"100\xff").unwrap(),
    );
    let answer = builder
        .header("ratelimit-remaining", "0")
        .header("ratelimit-reset", "40")
        .body(Vec::new())
        .unwrap();
    let error = parse(&answer).unwrap_err();
    let meta = error.response().expect("a response").meta();
    // The first value wins even when it is not text: it reads as absent.
    assert_eq!(meta.request_id(), None);
    assert_eq!(meta.rate_limits().limit, None);
    assert_eq!(meta.rate_limits().limit_policy, None);
    assert_eq!(meta.track_id(), Some("nightly-sync-42"));
    assert_eq!(meta.date(), Some(unix(DATE_UNIX)));
    assert_eq!(meta.rate_limits().remaining, Some(0));
    assert_eq!(meta.server_wait(), Some(Duration::from_secs(40)));
    assert!(!format!("{meta:?}").contains("caf"));
}

#[test]
fn a_token_keeps_its_metadata_when_its_jti_is_set() {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(&ALL_HEADERS);
    let token = parse(&response(200, &headers, SUCCESS_BODY)).unwrap();
    assert_eq!(token.jti(), Some("c652cbc0ea384b9f81856a93a2a74539"));
    let before = format!("{:?}", token.meta());
    let renamed = token.clone().with_jti("another-jti");
    assert_eq!(renamed.jti(), Some("another-jti"));
    assert_eq!(token.jti(), Some("c652cbc0ea384b9f81856a93a2a74539"));
    assert_eq!(renamed.meta().request_id(), Some(REQUEST_ID));
    assert_eq!(renamed.meta().track_id(), Some("nightly-sync-42"));
    assert_eq!(renamed.meta().rate_limits(), token.meta().rate_limits());
    assert_eq!(renamed.meta().date(), Some(unix(DATE_UNIX)));
    assert_eq!(format!("{:?}", renamed.meta()), before);
    // No `jti` in the metadata's own view.
    assert!(!before.contains("jti") && !before.contains("another"));
}
