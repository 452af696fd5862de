//! `TokenRequest::parse_response` on any status (100–599), any headers and any body.
//!
//! Input: the text framing of `zuora_oauth_fuzz::framing` (status line, `name: value`
//! lines, an empty line, the body). Checks, beyond "no panic":
//! - a token is a 2xx JSON response; its access token is 1–4096 visible ASCII characters,
//!   `expires_in` any positive lifetime (a numeric one exactly what the body says, huge
//!   ones saturating), `token_type` is `bearer` in any case;
//! - an error is classified by its status (400/401/403 `Rejected`, 429 `RateLimited`, 5xx
//!   `Server`, others `UnexpectedResponse`), `is_transient` follows the one retry policy
//!   (429, 5xx, 408 and 425), its `Display` is one line, and no `Display` or `Debug` of it
//!   or of its parts shows the client secret in any spelling (raw, form-encoded,
//!   JSON-escaped) or an access token taken from the body; every accessor is called;
//! - a token's `Debug`, `jti` and `scope` show neither the secret nor the access token;
//! - the kept headers read as the core documents (the values acted on — `Retry-After`,
//!   `Date`, the rate-limit numbers — as received; the texts — request and track IDs, the
//!   rate-limit policy — `[redacted]` when they spell the secret; empty IDs absent), and the
//!   error detail's fields as an independent JSON reading.

#![forbid(unsafe_code)]
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use zuora_oauth_core::{
    Error, ErrorDetail, ErrorResponse, Problem, ResponseMeta, RetryAfter, Token,
};
use zuora_oauth_fuzz::{
    ENTITY_ID, SECRET, framing, leading_integer, leaks_secret, least_remaining, lifetime_of,
    json_reference, request, reset_seconds, spells, transient_status, wall_clock,
};

fuzz_target!(|data: &[u8]| {
    let response = framing::decode(data);
    let request = request();
    let result = request.parse_response(&response);
    let status = response.status();
    match &result {
        Ok(token) => check_token(&response, token),
        Err(error) => check_error(&response, error),
    }
    check_json_reading(&response, &result);
    // Parsing is a pure function.
    let again = request.parse_response(&response);
    match (&result, &again) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.access_token().secret(), b.access_token().secret());
            assert_eq!(a.expires_in(), b.expires_in());
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("parse_response is not deterministic for {status}"),
    }
});

/// A 2xx body read as JSON (a token, or any problem but the content type and an empty
/// body) is malformed exactly when serde_json, reading it as the core did before its own
/// reader, refuses it (or it is not UTF-8, or not an object): the core's reader accepts and
/// refuses what serde_json does. Bodies with a number next to `f64::MAX` are left out
/// (serde_json's float parser is not correctly rounded there).
fn check_json_reading(response: &http::Response<&[u8]>, result: &Result<Token, Error>) {
    let problem = match result {
        Ok(_) => None,
        Err(Error::UnexpectedResponse { problem, .. }) if response.status().is_success() => {
            match problem {
                Problem::ContentType { .. } | Problem::EmptyBody => return,
                other => Some(other),
            }
        }
        Err(_) => return,
    };
    let malformed = matches!(problem, Some(Problem::MalformedJson { .. }));
    let body = response.body();
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let reads = match std::str::from_utf8(body) {
        Ok(text) if first == Some(&b'{') => {
            if json_reference::near_the_float_limit(text) {
                return;
            }
            json_reference::token_object_reads(text)
        }
        _ => false,
    };
    assert_eq!(
        malformed,
        !reads,
        "JSON reading differs from serde_json: {problem:?} for {:?}",
        String::from_utf8_lossy(body)
    );
}

fn check_token(response: &http::Response<&[u8]>, token: &Token) {
    let status = response.status();
    assert!(status.is_success(), "a token from HTTP {status}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .expect("a token without a readable content type");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    assert!(
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json")),
        "a token with content type {content_type:?}"
    );

    let secret = token.access_token().secret();
    assert!(!secret.is_empty() && secret.len() <= 4096, "token length");
    assert!(
        secret.bytes().all(|b| b.is_ascii_graphic()),
        "token is not visible ASCII"
    );
    let lifetime = token.expires_in();
    assert!(lifetime > Duration::ZERO, "expires_in {lifetime:?}");
    if let Some((expected, tolerance)) = numeric_expires_in(response.body()) {
        assert!(
            lifetime.abs_diff(expected) <= tolerance,
            "expires_in {lifetime:?}, expected {expected:?}"
        );
    }
    assert!(
        token.token_type().eq_ignore_ascii_case("bearer"),
        "token_type {:?}",
        token.token_type()
    );

    let header = token.bearer_header();
    assert!(header.is_sensitive());
    assert_eq!(header.as_bytes(), format!("Bearer {secret}").as_bytes());
    assert_eq!(token.entity_id().map(|e| e.as_str()), Some(ENTITY_ID));
    let mut api = http::Request::new(());
    token.authorize(&mut api);
    assert_eq!(api.headers()["authorization"], header);
    assert_eq!(api.headers()["zuora-entity-ids"], ENTITY_ID);

    // A token's `Debug` (its `jti`, `scope`, `token_type`, headers) and its fields show
    // neither the secret nor, anywhere but in its own field, the access token.
    // (The token is looked for when it cannot be there by coincidence: see
    // `lone_access_token`.)
    let debug = format!("{token:?}");
    let lone = lone_access_token(response);
    assert!(
        !leaks_secret(&debug),
        "client secret in the token's Debug: {debug}"
    );
    for field in [token.jti().unwrap_or_default(), token.scope().as_str()] {
        assert!(!leaks_secret(field), "client secret in a field: {field}");
    }
    if let Some(lone) = &lone {
        assert!(
            !debug.contains(lone.as_str()),
            "access token in the token's Debug: {debug}"
        );
    }
    let scope = token.scope();
    let _ = (
        scope.user_id(),
        scope.tenant_id(),
        scope.has_platform_write(),
        scope.is_empty(),
        scope.entity_ids().count(),
        scope.services().count(),
        scope.allows("echo", "read"),
        scope.items().count(),
    );
    check_meta(response, token.meta());
}

fn check_error(response: &http::Response<&[u8]>, error: &Error) {
    let status = response.status();
    // Classification by status.
    match status.as_u16() {
        400 | 401 | 403 => assert!(matches!(error, Error::Rejected(_)), "{status}: {error:?}"),
        429 => assert!(
            matches!(error, Error::RateLimited(_)),
            "{status}: {error:?}"
        ),
        500..=599 => assert!(matches!(error, Error::Server(_)), "{status}: {error:?}"),
        _ => match error {
            Error::UnexpectedResponse { problem, .. } => {
                let redirect = matches!(problem, Problem::Redirect { .. });
                let bad_status = matches!(problem, Problem::Status);
                assert_eq!(redirect, status.is_redirection(), "{status}: {problem:?}");
                assert_eq!(
                    bad_status,
                    !status.is_redirection() && !status.is_success(),
                    "{status}: {problem:?}"
                );
            }
            other => panic!("HTTP {status} gave {other:?}"),
        },
    }
    // The one retry policy: 429, 5xx, and the unexpected 408 and 425 are transient; a
    // rejection and every other unexpected response (a 2xx body problem included) are not.
    assert_eq!(
        error.is_transient(),
        transient_status(status.as_u16()),
        "{status}: {error:?}"
    );
    assert_eq!(error.status(), Some(status));

    let r: &ErrorResponse = error.response().expect("an HTTP error has a response");
    let display = error.to_string();
    assert!(
        !display.contains(['\n', '\r']),
        "Display is not one line: {display:?}"
    );
    // Every text shown of the error: its Display, and the Debug of it and of each part.
    let mut shown = vec![
        ("Display", display.clone()),
        ("Debug", format!("{error:?}")),
        ("ErrorResponse Debug", format!("{r:?}")),
        ("ResponseMeta Debug", format!("{:?}", r.meta())),
        ("ErrorDetail Debug", format!("{:?}", r.detail())),
    ];
    if let Error::UnexpectedResponse { problem, .. } = error {
        shown.push(("Problem Display", problem.to_string()));
        shown.push(("Problem Debug", format!("{problem:?}")));
    }
    let token = lone_access_token(response);
    for (what, text) in &shown {
        assert!(!leaks_secret(text), "client secret in {what}: {text}");
        if let Some(token) = &token {
            assert!(!text.contains(token), "access token in {what}: {text}");
        }
    }

    assert_eq!(r.status(), status);
    let excerpt = r.body_excerpt();
    assert!(excerpt.chars().count() <= ErrorResponse::EXCERPT_LEN);
    assert!(!excerpt.chars().any(char::is_control), "{excerpt:?}");
    assert!(!leaks_secret(excerpt));
    if response.body().iter().all(u8::is_ascii_whitespace) {
        assert!(excerpt.is_empty(), "{excerpt:?}");
    }
    let detail = r.detail();
    for text in [detail.code(), detail.description()].into_iter().flatten() {
        assert!(text.chars().count() <= 200, "{text:?}");
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(!leaks_secret(text));
    }
    let _ = detail.is_empty();
    check_detail(response, detail);
    if let Some(id) = error.request_id() {
        assert!(display.contains(&format!("[Zuora-Request-Id: {id}]")));
    }
    if let Error::UnexpectedResponse { problem, .. } = error {
        let text = problem.to_string();
        assert!(!text.contains(['\n', '\r']), "{text:?}");
    }
    let _ = error.retry_after();
    let _ = error.clone();
    check_meta(response, r.meta());
    // `retry_after` and `server_wait` agree with the meta's view.
    assert_eq!(error.retry_after(), r.meta().retry_after_delay());
    assert_eq!(error.server_wait(), r.meta().server_wait());
}

fn check_meta(response: &http::Response<&[u8]>, meta: &ResponseMeta) {
    // The first value of a header, as received: what the values the library acts on
    // (`Retry-After`, `Date`, the rate-limit numbers) are read from, whatever it spells.
    let first = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // As text shown to people: a value that spells the secret in any of the ways the core
    // documents reads `[redacted]`.
    let shown = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                if spells(v, SECRET) {
                    "[redacted]"
                } else {
                    v.trim()
                }
            })
    };
    // The IDs: an empty (or all-space) value reads as absent.
    let id = |name: &str| shown(name).filter(|v| !v.is_empty());
    assert_eq!(meta.status(), response.status());
    assert_eq!(meta.request_id(), id("zuora-request-id"));
    assert_eq!(meta.track_id(), id("zuora-track-id"));
    assert_eq!(
        meta.date(),
        first("date").and_then(|d| httpdate::parse_http_date(d).ok())
    );
    let retry_after = meta.retry_after();
    assert_eq!(
        retry_after,
        first("retry-after").and_then(RetryAfter::parse)
    );
    // Whole seconds parse exactly (saturating when absurd).
    if let Some(value) = first("retry-after")
        && !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
    {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        assert_eq!(
            retry_after,
            Some(RetryAfter::Delay(Duration::from_secs(secs)))
        );
        assert_eq!(meta.retry_after_delay(), Some(Duration::from_secs(secs)));
    }
    if let Some(r) = retry_after {
        for i in 0..4 {
            let _ = r.delay_from(wall_clock(i));
        }
    }
    let _ = meta.retry_after_delay();
    let limits = meta.rate_limits();
    assert_eq!(limits.limit_policy.as_deref(), shown("ratelimit-limit"));
    // The leading integer (absurdly long ones saturate); `RateLimit-Remaining`'s smallest
    // window, the one closest to exhaustion; `RateLimit-Reset` with a fraction rounded up.
    let leading = |name: &str| leading_integer(first(name)?).map(|(n, _)| n);
    let remaining = first("ratelimit-remaining").and_then(least_remaining);
    let reset = first("ratelimit-reset").and_then(reset_seconds);
    assert_eq!(limits.minute_limit, leading("x-ratelimit-limit-minute"));
    assert_eq!(
        limits.minute_remaining,
        leading("x-ratelimit-remaining-minute")
    );
    assert_eq!(limits.limit, leading("ratelimit-limit"));
    assert_eq!(limits.remaining, remaining);
    assert_eq!(limits.reset, reset);
    // The server's wait: `Retry-After` if present, else `RateLimit-Reset` on a 429 or with
    // nothing remaining; a success asks for one only when nothing remains.
    let spent = remaining == Some(0);
    let wait_from = |clock: Option<std::time::SystemTime>| {
        if response.status().is_success() && !spent {
            return None;
        }
        match retry_after {
            Some(RetryAfter::Delay(d)) => Some(d),
            Some(at) => Some(at.delay_from(meta.date().or(clock)?)),
            None if spent || response.status() == 429 => reset,
            None => None,
        }
    };
    assert_eq!(meta.server_wait(), wait_from(None), "{meta:?}");
    for i in 0..4 {
        assert_eq!(
            meta.server_wait_from(wall_clock(i)),
            wait_from(Some(wall_clock(i))),
            "{meta:?}"
        );
    }
    assert!(!leaks_secret(&format!("{meta:?}")), "{meta:?}");
    let _ = format!("{meta:?}");
}

/// Which fields of ZUORA.md's error shapes (OAuth `error`/`error_description`, gateway
/// `message`, v1 `reasons[].code`/`message`) the detail holds, read independently with
/// `serde_json::Value`: a field is there when it is a string or an integer (codes come as
/// either); any other type reads as absent, a body that is not a JSON object has none, and
/// a 2xx body (a token response gone wrong) is not read for them at all.
fn check_detail(response: &http::Response<&[u8]>, detail: &ErrorDetail) {
    let value = serde_json::from_slice::<serde_json::Value>(response.body()).ok();
    let map = value
        .as_ref()
        .and_then(serde_json::Value::as_object)
        .filter(|_| !response.status().is_success());
    let text = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(_)) => true,
        Some(serde_json::Value::Number(n)) => n.is_i64() || n.is_u64(),
        _ => false,
    };
    let field = |key: &str| text(map.and_then(|m| m.get(key)));
    let reasons: Vec<(bool, bool)> = map
        .and_then(|m| m.get("reasons"))
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(serde_json::Value::as_object)
                .map(|r| (text(r.get("code")), text(r.get("message"))))
                .collect()
        })
        .unwrap_or_default();
    let what = || String::from_utf8_lossy(response.body()).into_owned();
    assert_eq!(detail.error.is_some(), field("error"), "error: {}", what());
    assert_eq!(
        detail.error_description.is_some(),
        field("error_description"),
        "error_description: {}",
        what()
    );
    assert_eq!(
        detail.message.is_some(),
        field("message"),
        "message: {}",
        what()
    );
    assert_eq!(
        detail.code().is_some(),
        field("error") || reasons.iter().any(|r| r.0),
        "code(): {}",
        what()
    );
    assert_eq!(
        detail.description().is_some(),
        field("error_description") || field("message") || reasons.iter().any(|r| r.1),
        "description(): {}",
        what()
    );
}

/// The value of a top-level JSON `access_token` string field, when it is long enough to be
/// a token, needs no JSON escaping and appears exactly once in the whole response (so any
/// copy in an error can only have come from that field).
fn lone_access_token(response: &http::Response<&[u8]>) -> Option<String> {
    let body = *response.body();
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let token = value.get("access_token")?.as_str()?;
    if token.len() < 8 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let count = |haystack: &[u8]| {
        haystack
            .windows(token.len())
            .filter(|w| *w == token.as_bytes())
            .count()
    };
    let in_headers: usize = response
        .headers()
        .iter()
        .map(|(name, value)| count(name.as_str().as_bytes()) + count(value.as_bytes()))
        .sum();
    (count(body) == 1 && in_headers == 0).then(|| token.to_owned())
}

/// The lifetime a 2xx body's numeric `expires_in` stands for (a JSON number, or a string of
/// digits), when the body is a JSON object that has one, and how far from it the core may
/// be: whole seconds exactly (a digit string too long for `u64` saturating at
/// `Duration::MAX`); a fraction or an exponent within a nanosecond and the `f64`'s rounding
/// (the core reads the decimal text exactly; serde_json's `f64` is within a few units in the
/// last place).
fn numeric_expires_in(body: &[u8]) -> Option<(Duration, Duration)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let secs = match value.get("expires_in")? {
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(whole) => return Some((Duration::from_secs(whole), Duration::ZERO)),
            None => n.as_f64()?,
        },
        serde_json::Value::String(s) => {
            let t = s.trim().strip_prefix('+').unwrap_or(s.trim());
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let whole = t.parse::<u64>().map_or(Duration::MAX, Duration::from_secs);
            return Some((whole, Duration::ZERO));
        }
        _ => return None,
    };
    let lifetime = lifetime_of(secs)?;
    let rounding = Duration::try_from_secs_f64(secs * 4.0 * f64::EPSILON).unwrap_or(Duration::MAX);
    Some((lifetime, Duration::from_nanos(1).saturating_add(rounding)))
}
