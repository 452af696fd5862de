//! Failed responses: classification by status, the error body shapes, and what an
//! `Error` says about itself (`status`, `request_id`, `is_transient`, `Display`).

mod common;

use common::{REQUEST_ID, json, parse_err, response, unexpected};
use zuora_oauth_core::{Error, ErrorDetail, Problem, Reason, TransportError, TransportErrorKind};

const OAUTH_BODY: &str =
    r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#;
const GATEWAY_BODY: &str = r#"{"message":"API rate limit exceeded"}"#;
const V1_NUMERIC_BODY: &str = r#"{"success":false,"reasons":[{"code":53100020,"message":"Authentication error"}],"processId":"5E3D2F8A1B"}"#;
const V1_STRING_BODY: &str =
    r#"{"success":false,"reasons":[{"code":"53100020","message":"Authentication error"}]}"#;
const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
const HTML_503: &str = "<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\n<body><h1>Service Temporarily Unavailable</h1></body></html>";
const HTML_504: &str = "<HTML><HEAD><TITLE>504 Gateway Time-out</TITLE></HEAD><BODY>The server didn't respond in time.</BODY></HTML>";

/// Which `Error` variant, as a name to compare in tables.
fn class(error: &Error) -> &'static str {
    match error {
        Error::Rejected(_) => "Rejected",
        Error::RateLimited(_) => "RateLimited",
        Error::Server(_) => "Server",
        Error::UnexpectedResponse { .. } => "Unexpected",
        Error::Transport(_) => "Transport",
        Error::BudgetExhausted { .. } => "BudgetExhausted",
        _ => "?",
    }
}

fn with_request_id(status: u16, content_type: &str, body: &str) -> http::Response<Vec<u8>> {
    response(
        status,
        &[
            ("content-type", content_type),
            ("zuora-request-id", REQUEST_ID),
        ],
        body,
    )
}

#[test]
fn statuses_are_classified() {
    // (status, class, transient)
    let cases = [
        (400, "Rejected", false),
        (401, "Rejected", false),
        (403, "Rejected", false),
        (429, "RateLimited", true),
        (500, "Server", true),
        (502, "Server", true),
        (503, "Server", true),
        (504, "Server", true),
        (404, "Unexpected", false),
        (405, "Unexpected", false),
        (408, "Unexpected", true),
        (425, "Unexpected", true),
        (418, "Unexpected", false),
        (301, "Unexpected", false),
        (302, "Unexpected", false),
        (303, "Unexpected", false),
        (307, "Unexpected", false),
        (308, "Unexpected", false),
    ];
    for (status, expected, transient) in cases {
        for body in [OAUTH_BODY, "", HTML_502] {
            let err = parse_err(&with_request_id(status, "application/json", body));
            assert_eq!(class(&err), expected, "{status} {body:?}");
            assert_eq!(err.is_transient(), transient, "{status}");
            assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
            assert_eq!(err.request_id(), Some(REQUEST_ID), "{status}");
            assert_eq!(err.response().unwrap().meta().status(), status);
        }
    }
}

#[test]
fn redirects_are_not_followed_and_name_their_target() {
    for status in [301, 302, 303, 307, 308] {
        let err = parse_err(&response(
            status,
            &[("location", "https://login.example.com/oauth/token")],
            "",
        ));
        let (problem, response) = unexpected(err.clone());
        assert_eq!(
            problem,
            Problem::Redirect {
                location: Some("https://login.example.com/oauth/token".into())
            }
        );
        assert_eq!(response.status(), status);
        assert!(
            err.to_string()
                .contains("https://login.example.com/oauth/token"),
            "{err}"
        );
        assert!(err.to_string().contains(&format!("HTTP {status}")), "{err}");
    }
    let no_location = parse_err(&response(302, &[], ""));
    assert_eq!(
        unexpected(no_location).0,
        Problem::Redirect { location: None }
    );
    let not_modified = parse_err(&response(304, &[], ""));
    assert_eq!(
        unexpected(not_modified).0,
        Problem::Redirect { location: None }
    );
}

#[test]
fn statuses_outside_the_contract_are_unexpected_status() {
    for status in [404, 405, 406, 409, 410, 415, 422] {
        let (problem, response) = unexpected(parse_err(&json(
            status,
            r#"{"message":"no Route matched"}"#,
        )));
        assert_eq!(problem, Problem::Status, "{status}");
        assert_eq!(response.detail().description(), Some("no Route matched"));
    }
}

#[test]
fn error_body_shapes_are_read() {
    // (body, code, description)
    let cases: [(&str, Option<&str>, Option<&str>); 12] = [
        (
            OAUTH_BODY,
            Some("invalid_client"),
            Some("Bad client credentials"),
        ),
        (r#"{"error":"unauthorized"}"#, Some("unauthorized"), None),
        (GATEWAY_BODY, None, Some("API rate limit exceeded")),
        (
            r#"{"message":"Authentication error"}"#,
            None,
            Some("Authentication error"),
        ),
        (
            V1_NUMERIC_BODY,
            Some("53100020"),
            Some("Authentication error"),
        ),
        (
            V1_STRING_BODY,
            Some("53100020"),
            Some("Authentication error"),
        ),
        (
            r#"{"success":false,"reasons":[{"message":"no code"},{"code":90000011,"message":"second"}]}"#,
            Some("90000011"),
            Some("no code"),
        ),
        (r#"{"success":false,"reasons":[]}"#, None, None),
        (
            r#"{"success":false,"reasons":["not an object",{"code":1}]}"#,
            Some("1"),
            None,
        ),
        (HTML_502, None, None),
        ("", None, None),
        (r#"[{"error":"invalid_client"}]"#, None, None),
    ];
    for (body, code, description) in cases {
        let err = parse_err(&json(401, body));
        let detail = err.response().unwrap().detail();
        assert_eq!(detail.code(), code, "{body}");
        assert_eq!(detail.description(), description, "{body}");
        assert_eq!(detail.is_empty(), code.is_none() && description.is_none());
    }
}

#[test]
fn error_detail_keeps_every_field() {
    let body = r#"{"error":"invalid_request","error_description":"Missing grant type","message":"also here",
                   "reasons":[{"code":53100020,"message":"one"},{"code":"X1","message":"two"}]}"#;
    let err = parse_err(&json(400, body));
    let detail = err.response().unwrap().detail();
    let reason = |code: &str, message: &str| {
        let mut r = Reason::default();
        r.code = Some(code.into());
        r.message = Some(message.into());
        r
    };
    let mut expected = ErrorDetail::default();
    expected.error = Some("invalid_request".into());
    expected.error_description = Some("Missing grant type".into());
    expected.message = Some("also here".into());
    expected.reasons = vec![reason("53100020", "one"), reason("X1", "two")];
    assert_eq!(detail, &expected);
    assert_eq!(detail.code(), Some("invalid_request"));
    assert_eq!(detail.description(), Some("Missing grant type"));
}

#[test]
fn error_detail_strings_are_one_line_and_capped() {
    let long = "x".repeat(1000);
    let body = format!(r#"{{"error":"a\nb\r\nc","error_description":"{long}"}}"#);
    let err = parse_err(&json(400, &body));
    let detail = err.response().unwrap().detail();
    assert_eq!(detail.code(), Some("a b  c"));
    let description = detail.description().unwrap();
    assert!(description.chars().count() <= 200, "{}", description.len());
    assert!(description.ends_with('…'));
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn error_bodies_are_kept_as_a_one_line_capped_excerpt() {
    for (status, body) in [(502, HTML_502), (503, HTML_503), (504, HTML_504)] {
        let err = parse_err(&response(status, &[("content-type", "text/html")], body));
        assert_eq!(class(&err), "Server");
        assert!(err.is_transient());
        let response = err.response().unwrap();
        assert!(response.detail().is_empty());
        let excerpt = response.body_excerpt();
        assert!(!excerpt.contains(['\n', '\r']), "{excerpt:?}");
        assert!(excerpt.starts_with('<'), "{excerpt:?}");
        assert!(excerpt.contains(&status.to_string()) || excerpt.contains("Unavailable"));
    }
    let empty = parse_err(&response(503, &[], ""));
    assert_eq!(empty.response().unwrap().body_excerpt(), "");
    assert!(empty.response().unwrap().detail().is_empty());

    let big = format!("<html>{}</html>", "é".repeat(1000));
    let err = parse_err(&response(502, &[("content-type", "text/html")], &big));
    let excerpt = err.response().unwrap().body_excerpt();
    assert_eq!(excerpt.chars().count(), 256);
    assert!(excerpt.starts_with("<html>éé"));
    assert!(excerpt.ends_with('…'));

    let invalid_utf8 = http::Response::builder()
        .status(502)
        .body(vec![b'o', b'k', 0xff, 0xfe, b'!'])
        .unwrap();
    let err = common::request().parse_response(&invalid_utf8).unwrap_err();
    assert_eq!(
        err.response().unwrap().body_excerpt(),
        "ok\u{fffd}\u{fffd}!"
    );
}

#[test]
fn display_is_one_line_with_status_detail_and_request_id() {
    // (status, body, what the message must mention besides status and request ID)
    let cases: [(u16, &str, &[&str]); 10] = [
        (
            400,
            OAUTH_BODY,
            &[
                "invalid_client",
                "Bad client credentials",
                "check the client ID",
            ],
        ),
        (401, V1_NUMERIC_BODY, &["53100020", "Authentication error"]),
        (403, V1_STRING_BODY, &["53100020", "Authentication error"]),
        (
            429,
            GATEWAY_BODY,
            &["API rate limit exceeded", "rate-limited"],
        ),
        (
            500,
            r#"{"message":"Internal error"}"#,
            &["Internal error", "temporary"],
        ),
        (502, HTML_502, &["temporary"]),
        (503, "", &["temporary"]),
        (504, HTML_504, &["temporary"]),
        (
            404,
            r#"{"message":"no Route matched with those values"}"#,
            &["no Route matched with those values", "base URL"],
        ),
        (
            405,
            OAUTH_BODY,
            &["invalid_client", "Bad client credentials"],
        ),
    ];
    for (status, body, needles) in cases {
        let err = parse_err(&with_request_id(status, "application/json", body));
        let text = err.to_string();
        assert!(!text.contains(['\n', '\r']), "{text}");
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(text.contains(REQUEST_ID), "{text}");
        for needle in needles {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
        // The raw body is for diagnosis, not for the message.
        if body.starts_with('<') {
            assert!(
                !text.contains("<html>") && !text.contains("<HTML>"),
                "{text}"
            );
        }
    }
}

#[test]
fn display_without_request_id_does_not_invent_one() {
    let err = parse_err(&json(401, OAUTH_BODY));
    assert_eq!(err.request_id(), None);
    assert!(!err.to_string().contains("Zuora-Request-Id"), "{err}");
    assert_eq!(
        err.to_string(),
        "Zuora rejected the token request (HTTP 401: invalid_client: Bad client credentials); \
         check the client ID, client secret, environment and entity ID"
    );
}

#[test]
fn errors_without_a_response_say_so() {
    let cases = [
        (TransportErrorKind::Connect, true),
        (TransportErrorKind::Dns, true),
        (TransportErrorKind::Timeout, true),
        (TransportErrorKind::Reset, true),
        (TransportErrorKind::NetworkOrCors, true),
        (TransportErrorKind::Other, true),
        (TransportErrorKind::Tls, false),
        (TransportErrorKind::BodyTooLarge, false),
    ];
    for (kind, transient) in cases {
        let err = Error::Transport(TransportError::new(kind, "os error 111"));
        assert_eq!(err.is_transient(), transient, "{kind:?}");
        assert_eq!(kind.is_transient(), transient, "{kind:?}");
        assert!(!matches!(err, Error::Rejected(_)));
        assert_eq!(err.status(), None);
        assert_eq!(err.request_id(), None);
        assert_eq!(err.retry_after(), None);
        assert!(err.response().is_none());
        let text = err.to_string();
        assert!(text.contains(&kind.to_string()), "{text}");
        assert!(text.ends_with(": os error 111"), "{text}");
        assert!(!text.contains('\n'));
    }
    let bare = TransportError::new(TransportErrorKind::Timeout, "");
    assert_eq!(bare.to_string(), "timed out while requesting a Zuora token");

    let budget = Error::BudgetExhausted { per_minute: 30 };
    assert!(budget.is_transient());
    assert_eq!(budget.status(), None);
    assert_eq!(budget.request_id(), None);
    assert!(budget.to_string().contains("30"), "{budget}");
    assert!(!budget.to_string().contains('\n'));
}

#[test]
fn unexpected_2xx_responses_keep_status_and_request_id() {
    let err = parse_err(&with_request_id(
        200,
        "text/html",
        "<html>maintenance</html>",
    ));
    assert_eq!(class(&err), "Unexpected");
    assert!(!err.is_transient());
    assert_eq!(err.status(), Some(http::StatusCode::OK));
    assert_eq!(err.request_id(), Some(REQUEST_ID));
    assert_eq!(
        err.response().unwrap().body_excerpt(),
        "<html>maintenance</html>"
    );
    let text = err.to_string();
    assert!(
        text.contains("HTTP 200") && text.contains("`text/html`"),
        "{text}"
    );
    assert!(text.contains(REQUEST_ID), "{text}");
}

#[test]
fn www_authenticate_on_401_does_not_change_the_outcome() {
    let err = parse_err(&response(
        401,
        &[(
            "www-authenticate",
            r#"Bearer realm="zuora", error="invalid_client""#,
        )],
        "",
    ));
    assert!(matches!(err, Error::Rejected(_)));
    assert!(err.response().unwrap().detail().is_empty());
    assert_eq!(err.response().unwrap().body_excerpt(), "");
}

#[test]
fn unexpected_status_display_quotes_the_servers_message() {
    let err = parse_err(&with_request_id(
        404,
        "application/json",
        r#"{"message":"no Route matched with those values"}"#,
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "unexpected response from the Zuora token endpoint (HTTP 404: \
             no Route matched with those values): this status is not part of the token \
             endpoint's contract (is the base URL right?) [Zuora-Request-Id: {REQUEST_ID}]"
        )
    );
}
