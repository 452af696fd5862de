//! Parsing 2xx token responses: the success body, content types, every field's variants,
//! malformed JSON and the scope.

mod common;

use std::time::Duration;

use common::{
    REQUEST_ID, SUCCESS_BODY, SUCCESS_TOKEN, json, parse, parse_ok, problem, response, token_body,
    unexpected,
};
use zuora_oauth_core::{Problem, Scope, ScopeItem};

type Headers = &'static [(&'static str, &'static str)];

const OK_TOKEN: &str = r#""c652cbc0ea384b9f81856a93a2a74538""#;

/// A 200 JSON response with the three required fields given as JSON text.
fn ok_with(access_token: &str, expires_in: &str, token_type: &str) -> http::Response<Vec<u8>> {
    json(200, &token_body(access_token, expires_in, token_type))
}

fn invalid(field: &'static str) -> impl Fn(&Problem) -> bool {
    move |p| matches!(p, Problem::InvalidField { field: f, .. } if *f == field)
}

#[test]
fn zuoras_documented_success_body_parses() {
    let ok = response(
        200,
        &[
            ("content-type", "application/json;charset=UTF-8"),
            ("zuora-request-id", REQUEST_ID),
        ],
        SUCCESS_BODY,
    );
    let token = parse_ok(&ok);
    assert_eq!(token.access_token().secret(), SUCCESS_TOKEN);
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
    assert_eq!(token.jti(), Some("c652cbc0ea384b9f81856a93a2a74539"));
    assert_eq!(token.token_type(), "bearer");
    assert_eq!(
        token.scope().as_str(),
        "user.7c4d5433dc234c369a01b9719ecd059f entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc \
         entity.c92ed977-510c-4c48-9b51-8d5e848671e9 service.echo.read tenant.19"
    );
    assert_eq!(
        token.scope().user_id(),
        Some("7c4d5433dc234c369a01b9719ecd059f")
    );
    assert_eq!(
        token.scope().entity_ids().collect::<Vec<_>>(),
        [
            "1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc",
            "c92ed977-510c-4c48-9b51-8d5e848671e9"
        ]
    );
    assert_eq!(token.scope().tenant_id(), Some(19));
    assert!(token.scope().allows("echo", "read"));
    assert!(!token.scope().allows("echo", "write"));
    assert!(!token.scope().has_platform_write());
    assert_eq!(token.meta().status(), 200);
    assert_eq!(token.meta().request_id(), Some(REQUEST_ID));
    assert_eq!(
        token.bearer_header(),
        "Bearer c652cbc0ea384b9f81856a93a2a74538"
    );
}

#[test]
fn any_body_type_that_is_bytes_parses() {
    let request = common::request();
    let as_str = http::Response::builder()
        .header("content-type", "application/json")
        .body(SUCCESS_BODY)
        .unwrap();
    let as_string = as_str.clone().map(str::to_owned);
    let as_bytes = as_str.clone().map(|b| b.as_bytes().to_vec());
    for token in [
        request.parse_response(&as_str).unwrap(),
        request.parse_response(&as_string).unwrap(),
        request.parse_response(&as_bytes).unwrap(),
    ] {
        assert_eq!(token.access_token().secret(), SUCCESS_TOKEN);
    }
}

#[test]
fn every_2xx_with_a_token_body_is_a_token() {
    for status in [200, 201, 202, 203] {
        let token = parse_ok(&json(status, SUCCESS_BODY));
        assert_eq!(token.meta().status(), status);
        assert_eq!(token.expires_in(), Duration::from_secs(3599));
    }
    // A 204 has no body to read a token from.
    assert_eq!(problem(&json(204, "")), Problem::EmptyBody);
}

#[test]
fn json_content_types_are_accepted_in_any_spelling() {
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON;charset=UTF-8",
        "APPLICATION/JSON",
        " application/json ",
        "application/vnd.x+json",
        "application/problem+json; charset=utf-8",
    ] {
        let ok = response(200, &[("content-type", content_type)], SUCCESS_BODY);
        assert_eq!(
            parse_ok(&ok).access_token().secret(),
            SUCCESS_TOKEN,
            "{content_type}"
        );
    }
}

#[test]
fn other_content_types_are_unexpected_even_with_a_token_body() {
    let cases: [(Headers, Option<&str>); 6] = [
        (&[], None),
        (&[("content-type", "text/html")], Some("text/html")),
        (
            &[("content-type", "text/html; charset=utf-8")],
            Some("text/html; charset=utf-8"),
        ),
        (&[("content-type", "text/plain")], Some("text/plain")),
        (
            &[("content-type", "application/jsonp")],
            Some("application/jsonp"),
        ),
        (
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("application/x-www-form-urlencoded"),
        ),
    ];
    for (headers, found) in cases {
        let (problem, response) =
            unexpected(common::parse_err(&response(200, headers, SUCCESS_BODY)));
        assert_eq!(
            problem,
            Problem::ContentType {
                found: found.map(str::to_owned)
            },
            "{headers:?}"
        );
        assert_eq!(response.status(), 200);
        assert!(
            !response.body_excerpt().contains(SUCCESS_TOKEN),
            "{headers:?}"
        );
    }
}

#[test]
fn expires_in_accepts_numbers_and_numeric_strings() {
    // (JSON text, lifetime in milliseconds)
    let cases = [
        ("3599", 3_599_000),
        ("3598", 3_598_000),
        ("3599.0", 3_599_000),
        ("3599.5", 3_599_500),
        (r#""3599""#, 3_599_000),
        (r#"" 3599 ""#, 3_599_000),
        (r#""3599.5""#, 3_599_500),
        (r#""+3599""#, 3_599_000),
        (r#""3.599e3""#, 3_599_000),
        ("1", 1_000),
        ("0.5", 500),
        ("86400", 86_400_000),
        ("3.599e3", 3_599_000),
    ];
    for (expires_in, millis) in cases {
        let token = parse_ok(&ok_with(OK_TOKEN, expires_in, r#""bearer""#));
        assert_eq!(
            token.expires_in(),
            Duration::from_millis(millis),
            "expires_in {expires_in}"
        );
    }
}

#[test]
fn expires_in_rejects_missing_null_and_non_positive_values() {
    let missing = json(
        200,
        &format!(r#"{{"access_token":{OK_TOKEN},"token_type":"bearer"}}"#),
    );
    assert_eq!(problem(&missing), Problem::MissingField("expires_in"));
    assert_eq!(
        problem(&ok_with(OK_TOKEN, "null", r#""bearer""#)),
        Problem::MissingField("expires_in")
    );
    for expires_in in [
        "0",
        "0.0",
        "-1",
        "-3599",
        "1e-73",
        r#""abc""#,
        r#""""#,
        r#""0""#,
        r#""-1""#,
        r#""NaN""#,
        r#""inf""#,
        // A string holding JSON that is not a number.
        r#""null""#,
        r#""true""#,
        r#""[3599]""#,
        r#""{}""#,
        r#""\"3599\"""#,
        r#""-0""#,
        r#""3599 3599""#,
        "true",
        "false",
        "[]",
        "[3599]",
        "{}",
        r#"{"value":3599}"#,
    ] {
        let p = problem(&ok_with(OK_TOKEN, expires_in, r#""bearer""#));
        assert!(invalid("expires_in")(&p), "expires_in {expires_in}: {p:?}");
        assert!(p.to_string().contains("`expires_in`"), "{p}");
    }
}

#[test]
fn expires_in_accepts_any_positive_lifetime() {
    // Long-lived tokens (an OAuth gateway's 10-day default) are accepted as sent; the
    // lifecycle clamps what it caches.
    for (expires_in, seconds) in [
        ("86401", 86_401.0),
        ("864000", 864_000.0),
        ("86400.5", 86_400.5),
        (r#""864000""#, 864_000.0),
    ] {
        let token = parse_ok(&ok_with(OK_TOKEN, expires_in, r#""bearer""#));
        assert_eq!(token.expires_in().as_secs_f64(), seconds, "{expires_in}");
    }
    let huge = parse_ok(&ok_with(OK_TOKEN, "1e300", r#""bearer""#));
    assert_eq!(huge.expires_in(), std::time::Duration::MAX, "saturates");
}

#[test]
fn token_type_is_bearer_in_any_letter_case() {
    for token_type in ["bearer", "Bearer", "BEARER", "bEaReR"] {
        let token = parse_ok(&ok_with(OK_TOKEN, "3599", &format!(r#""{token_type}""#)));
        assert_eq!(token.token_type(), token_type);
    }
}

#[test]
fn other_token_types_are_rejected() {
    assert_eq!(
        problem(&ok_with(OK_TOKEN, "3599", r#""mac""#)),
        Problem::TokenType("mac".into())
    );
    assert_eq!(
        problem(&ok_with(OK_TOKEN, "3599", r#""bearer ""#)),
        Problem::TokenType("bearer".into()),
        "the name is shown trimmed, but a padded type is not `bearer`"
    );
    assert_eq!(
        problem(&ok_with(OK_TOKEN, "3599", r#""""#)),
        Problem::TokenType(String::new())
    );
    assert_eq!(
        problem(&ok_with(OK_TOKEN, "3599", "null")),
        Problem::MissingField("token_type")
    );
    let missing = json(
        200,
        &format!(r#"{{"access_token":{OK_TOKEN},"expires_in":3599}}"#),
    );
    assert_eq!(problem(&missing), Problem::MissingField("token_type"));
    for not_a_string in ["1", "true", r#"["bearer"]"#, r#"{"type":"bearer"}"#] {
        let p = problem(&ok_with(OK_TOKEN, "3599", not_a_string));
        assert!(invalid("token_type")(&p), "{not_a_string}: {p:?}");
    }
    let long = format!(r#""{}""#, "x".repeat(500));
    match problem(&ok_with(OK_TOKEN, "3599", &long)) {
        Problem::TokenType(t) => assert!(t.chars().count() <= 40, "{t}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn access_token_must_be_a_non_empty_visible_string() {
    let missing = json(200, r#"{"expires_in":3599,"token_type":"bearer"}"#);
    assert_eq!(problem(&missing), Problem::MissingField("access_token"));
    assert_eq!(
        problem(&ok_with("null", "3599", r#""bearer""#)),
        Problem::MissingField("access_token")
    );
    for bad in [
        r#""""#,
        r#""with spaces""#,
        r#"" leading""#,
        r#""tab\there""#,
        r#""new\nline""#,
        r#""caf\u00e9""#,
        "42",
        "true",
        r#"["abc"]"#,
        r#"{"value":"abc"}"#,
    ] {
        let p = problem(&ok_with(bad, "3599", r#""bearer""#));
        assert!(invalid("access_token")(&p), "{bad}: {p:?}");
    }
    let huge = format!(r#""{}""#, "a".repeat(4097));
    assert!(invalid("access_token")(&problem(&ok_with(
        &huge,
        "3599",
        r#""bearer""#
    ))));
    let longest = "a".repeat(4096);
    let token = parse_ok(&ok_with(&format!(r#""{longest}""#), "3599", r#""bearer""#));
    assert_eq!(token.access_token().secret(), longest);
}

#[test]
fn escaped_strings_are_decoded() {
    let body = r#"{"access_token":"abc\/def","expires_in":"3\u003599","token_type":"B\u0065arer","jti":"j\"1","scope":"tenant.\u0031\u0039"}"#;
    let token = parse_ok(&json(200, body));
    assert_eq!(token.access_token().secret(), "abc/def");
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
    assert_eq!(token.token_type(), "Bearer");
    assert_eq!(token.jti(), Some("j\"1"));
    assert_eq!(token.scope().tenant_id(), Some(19));
}

#[test]
fn unknown_fields_are_ignored() {
    let body = r#"{
        "refresh_token": null,
        "nested": {"access_token": 1, "deep": [1, 2, {"x": null}]},
        "list": ["a", 1, true],
        "access_token": "c652cbc0ea384b9f81856a93a2a74538",
        "expires_in": 3599,
        "token_type": "bearer",
        "id_token": "ignored",
        "success": true
    }"#;
    let token = parse_ok(&json(200, body));
    assert_eq!(token.access_token().secret(), SUCCESS_TOKEN);
    assert_eq!(token.jti(), None);
    assert!(token.scope().is_empty());
}

#[test]
fn a_repeated_token_field_is_malformed_json() {
    for field in [
        r#""access_token":"x""#,
        r#""expires_in":60"#,
        r#""token_type":"bearer""#,
        r#""jti":"j""#,
        r#""scope":"tenant.1""#,
    ] {
        let body = format!(
            r#"{{"access_token":"abc","expires_in":3599,"token_type":"bearer","jti":"j","scope":"tenant.1",{field}}}"#
        );
        assert!(
            matches!(problem(&json(200, &body)), Problem::MalformedJson { .. }),
            "{field}"
        );
    }
}

#[test]
fn tokens_of_one_request_have_equal_scopes_and_others_their_own() {
    let first = parse_ok(&json(200, SUCCESS_BODY));
    let second = parse_ok(&json(200, SUCCESS_BODY));
    assert_eq!(first.scope(), second.scope());
    assert_eq!(first.scope().tenant_id(), Some(19));
    let other = parse_ok(&json(
        200,
        r#"{"access_token":"abc","expires_in":3599,"token_type":"bearer","scope":"tenant.7"}"#,
    ));
    assert_eq!(other.scope().as_str(), "tenant.7");
    assert_eq!(other.scope().tenant_id(), Some(7));
    assert_eq!(first.scope().tenant_id(), Some(19));
    assert_eq!(Scope::new(""), Scope::default());
    assert!(Scope::default().as_str().is_empty());
}

#[test]
fn optional_fields_of_the_wrong_type_are_dropped() {
    let body = r#"{"access_token":"abc","expires_in":3599,"token_type":"bearer","jti":7,"scope":["tenant.1"]}"#;
    let token = parse_ok(&json(200, body));
    assert_eq!(token.jti(), None);
    assert_eq!(token.scope(), &Scope::default());
}

#[test]
fn empty_bodies_are_reported_as_empty() {
    for body in ["", " ", "\r\n\t "] {
        assert_eq!(problem(&json(200, body)), Problem::EmptyBody, "{body:?}");
    }
}

#[test]
fn malformed_json_reports_where() {
    // (body, line, column range of the reported position)
    let cases: [(&str, usize, std::ops::RangeInclusive<usize>); 9] = [
        // Truncated: the error is at the end of the input.
        (r#"{"access_token":"abc","expires_in":"#, 1, 35..=37),
        (r#"{"access_token":"ab"#, 1, 19..=21),
        (
            "{\n  \"access_token\": \"abc\",\n  \"expires_in\": 35",
            3,
            18..=20,
        ),
        // Trailing garbage after a complete object.
        (
            r#"{"access_token":"abc","expires_in":3599,"token_type":"bearer"} x"#,
            1,
            63..=65,
        ),
        (
            "{\"access_token\":\"abc\",\"expires_in\":3599,\"token_type\":\"bearer\"}\n}",
            2,
            1..=1,
        ),
        // Not an object at all.
        ("[]", 1, 1..=1),
        (r#"[{"access_token":"abc"}]"#, 1, 1..=1),
        ("null", 1, 1..=1),
        ("\n\n   \"text\"", 3, 4..=4),
    ];
    for (body, line, columns) in cases {
        match problem(&json(200, body)) {
            Problem::MalformedJson { line: l, column } => {
                assert_eq!(l, line, "line for {body:?}");
                assert!(
                    columns.contains(&column),
                    "column {column} for {body:?}, expected {columns:?}"
                );
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
}

#[test]
fn invalid_utf8_is_malformed_json_at_the_first_bad_byte() {
    // Inside a string, in a second line, and after the object.
    let cases: [(&[u8], usize, usize); 3] = [
        (
            b"{\"access_token\":\"ab\xffc\",\"expires_in\":3599,\"token_type\":\"bearer\"}",
            1,
            20,
        ),
        (
            b"{\"access_token\":\"abc\",\n\"scope\":\"\xc3\x28\"}",
            2,
            10,
        ),
        (
            b"{\"access_token\":\"abc\",\"expires_in\":3599,\"token_type\":\"bearer\"} \xfe",
            1,
            64,
        ),
    ];
    for (body, line, column) in cases {
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .unwrap();
        assert_eq!(
            problem(&response),
            Problem::MalformedJson { line, column },
            "{body:?}"
        );
    }
}

#[test]
fn html_and_plain_text_under_a_json_content_type_are_malformed() {
    for body in [
        "<html><body>502 Bad Gateway</body></html>",
        "OK",
        "true",
        "3599",
    ] {
        assert!(
            matches!(
                problem(&json(200, body)),
                Problem::MalformedJson { line: 1, column: 1 }
            ),
            "{body}"
        );
    }
}

#[test]
fn problems_display_as_one_line_naming_the_field() {
    let cases = [
        (Problem::MissingField("expires_in"), "`expires_in`"),
        (Problem::TokenType("mac".into()), "`mac`"),
        (Problem::EmptyBody, "empty"),
        (
            Problem::MalformedJson { line: 3, column: 7 },
            "line 3, column 7",
        ),
        (
            Problem::ContentType {
                found: Some("text/html".into()),
            },
            "`text/html`",
        ),
        (Problem::ContentType { found: None }, "no content type"),
        (Problem::Status, "base URL"),
        (
            Problem::Redirect {
                location: Some("https://login.example.com/".into()),
            },
            "https://login.example.com/",
        ),
    ];
    for (problem, needle) in cases {
        let text = problem.to_string();
        assert!(text.contains(needle), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
}

// ---- scope ----

fn scope_of(raw: &str) -> Scope {
    let body = format!(
        r#"{{"access_token":"abc","expires_in":3599,"token_type":"bearer","scope":{}}}"#,
        json_string(raw)
    );
    parse_ok(&json(200, &body)).scope().clone()
}

fn json_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\t', "\\t");
    format!("\"{escaped}\"")
}

#[test]
fn scope_items_are_typed_and_unknown_ones_kept() {
    let scope = scope_of(
        "user.7c4d5433dc234c369a01b9719ecd059f platform.write entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc \
         tenant.19 service.usage.write service.echo.read new.thing service.a.b.c tenant.x user. service.solo",
    );
    assert_eq!(
        scope.items().collect::<Vec<_>>(),
        [
            ScopeItem::User("7c4d5433dc234c369a01b9719ecd059f"),
            ScopeItem::PlatformWrite,
            ScopeItem::Entity("1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc"),
            ScopeItem::Tenant(19),
            ScopeItem::Service {
                name: "usage",
                action: "write"
            },
            ScopeItem::Service {
                name: "echo",
                action: "read"
            },
            ScopeItem::Other("new.thing"),
            ScopeItem::Service {
                name: "a.b",
                action: "c"
            },
            ScopeItem::Other("tenant.x"),
            ScopeItem::Other("user."),
            ScopeItem::Other("service.solo"),
        ]
    );
    assert!(scope.has_platform_write());
    assert!(scope.allows("usage", "write"));
    assert!(!scope.allows("usage", "read"));
    assert_eq!(
        scope.services().collect::<Vec<_>>(),
        [("usage", "write"), ("echo", "read"), ("a.b", "c")]
    );
    assert!(!scope.is_empty());
}

#[test]
fn scope_order_does_not_change_what_it_grants() {
    let items = [
        "user.7c4d5433dc234c369a01b9719ecd059f",
        "entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc",
        "tenant.19",
        "platform.write",
        "service.echo.read",
    ];
    let forward = scope_of(&items.join(" "));
    let mut reversed_items = items;
    reversed_items.reverse();
    let rotated = [&items[2..], &items[..2]].concat();
    for other in [
        scope_of(&reversed_items.join(" ")),
        scope_of(&rotated.join("  \t ")),
    ] {
        assert_eq!(other.user_id(), forward.user_id());
        assert_eq!(other.tenant_id(), Some(19));
        assert_eq!(
            other.entity_ids().collect::<Vec<_>>(),
            forward.entity_ids().collect::<Vec<_>>()
        );
        assert_eq!(other.has_platform_write(), forward.has_platform_write());
        assert!(other.allows("echo", "read"));
        let mut a: Vec<_> = other.items().collect();
        let mut b: Vec<_> = forward.items().collect();
        a.sort_by_key(|i| format!("{i:?}"));
        b.sort_by_key(|i| format!("{i:?}"));
        assert_eq!(a, b);
    }
}

#[test]
fn empty_and_missing_scopes_are_empty() {
    for raw in ["", " ", "  \t "] {
        let scope = scope_of(raw);
        assert!(scope.is_empty(), "{raw:?}");
        assert_eq!(scope.as_str(), raw, "kept as received");
        assert_eq!(scope.user_id(), None);
        assert_eq!(scope.tenant_id(), None);
        assert_eq!(scope.entity_ids().count(), 0);
        assert!(!scope.has_platform_write());
    }
    let no_scope = parse_ok(&ok_with(OK_TOKEN, "3599", r#""bearer""#));
    assert!(no_scope.scope().is_empty());
    assert_eq!(no_scope.scope().as_str(), "");
}

#[test]
fn scope_display_and_debug_show_the_raw_string() {
    let scope = Scope::new("tenant.19 platform.write");
    assert_eq!(scope.to_string(), "tenant.19 platform.write");
    assert_eq!(format!("{scope:?}"), r#"Scope("tenant.19 platform.write")"#);
}

#[test]
fn token_debug_hides_the_access_token() {
    let token = parse(&json(200, SUCCESS_BODY)).unwrap();
    let debug = format!("{token:?}");
    assert!(!debug.contains(SUCCESS_TOKEN), "{debug}");
    assert!(debug.contains("AccessToken([redacted])"), "{debug}");
    assert_eq!(
        format!("{:?}", token.access_token()),
        "AccessToken([redacted])"
    );
}

/// Found by the `parse_response` fuzz target: `1e-73` is above zero, but as a `Duration` it
/// is zero, and a token with a zero lifetime was returned.
#[test]
fn expires_in_below_a_nanosecond_is_rejected() {
    for expires_in in ["1e-73", "5e-324", "1e-10", r#""1e-73""#] {
        let p = problem(&ok_with(OK_TOKEN, expires_in, r#""bearer""#));
        assert!(invalid("expires_in")(&p), "expires_in {expires_in}: {p:?}");
    }
    // One nanosecond is the shortest lifetime kept.
    let token = parse_ok(&ok_with(OK_TOKEN, "1e-9", r#""bearer""#));
    assert_eq!(token.expires_in(), Duration::from_nanos(1));
}
