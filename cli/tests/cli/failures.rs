//! Exit codes 3 to 6 and the one-line `error:` message of each kind of failure.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::json;
use zuora_oauth_testkit::{Fault, MockServer, RetryAfter, StallEnd};

use crate::helpers::{CLIENT_ID, Cli, Outcome, SECRET, server};

/// Runs against `server` after queueing `fault`.
fn with_fault(server: &MockServer, fault: Fault) -> Outcome {
    server.push_fault(fault);
    Cli::new().against(server).run()
}

/// The `[Zuora-Request-Id: …]` of a message, checked to be a UUID.
#[track_caller]
fn assert_request_id(line: &str) {
    let (_, rest) = line
        .split_once("[Zuora-Request-Id: ")
        .unwrap_or_else(|| panic!("no request ID in {line}"));
    let id = &rest[..36];
    assert!(
        id.chars().filter(|c| *c == '-').count() == 4 && rest[36..].starts_with(']'),
        "{line}"
    );
}

/// No token the server issued appears in `outcome`.
#[track_caller]
fn assert_no_token(server: &MockServer, outcome: &Outcome) {
    for t in server.issued_tokens() {
        outcome.assert_no_secret(&t.access_token);
    }
}

#[test]
fn wrong_secret_is_rejected_with_exit_3() {
    let server = server();
    let outcome = Cli::new()
        .target(&server)
        .env("ZUORA_CLIENT_ID", CLIENT_ID)
        .env("ZUORA_CLIENT_SECRET", "a-wrong-but-well-formed-secret")
        .run();
    let line = outcome.failure(3);
    assert!(line.contains("401"), "{line}");
    assert!(line.contains("invalid_client"), "{line}");
    assert!(line.contains("Bad client credentials"), "{line}");
    assert!(line.contains("check the client ID"), "{line}");
    assert_request_id(line);
    outcome.assert_no_secret("a-wrong-but-well-formed-secret");
}

#[test]
fn unknown_client_is_rejected_with_exit_3() {
    let server = MockServer::builder().start().unwrap();
    let outcome = Cli::new().against(&server).run();
    assert!(outcome.failure(3).contains("401"));
}

#[test]
fn rejections_400_401_403_exit_3_with_the_servers_words() {
    let server = server();
    let cases = [
        (
            Fault::oauth_error(400, "invalid_request", "Missing grant type"),
            ["400", "invalid_request", "Missing grant type"],
        ),
        (
            Fault::message_error(401, "Authentication error"),
            ["401", "Authentication error", "Zuora rejected"],
        ),
        (
            Fault::reasons_error(403, 90_000_011, "Entity not allowed"),
            ["403", "90000011", "Entity not allowed"],
        ),
    ];
    for (fault, needles) in cases {
        let outcome = with_fault(&server, fault);
        let line = outcome.failure(3);
        for needle in needles {
            assert!(line.contains(needle), "{needle} missing: {line}");
        }
        assert_request_id(line);
    }
}

#[test]
fn rate_limited_exits_4() {
    let server = server();
    let outcome = with_fault(&server, Fault::rate_limited(RetryAfter::Seconds(7)));
    let line = outcome.failure(4);
    assert!(line.contains("429"), "{line}");
    assert!(line.contains("API rate limit exceeded"), "{line}");
    assert!(line.contains("retry after 7 s"), "{line}");
    assert!(line.contains("--retries"), "{line}");
    assert_request_id(line);

    let no_header = with_fault(&server, Fault::rate_limited(RetryAfter::Absent));
    assert!(no_header.failure(4).contains("429"));
}

#[test]
fn the_mocks_own_rate_limit_exits_4() {
    let server = MockServer::builder()
        .client(CLIENT_ID, SECRET)
        .rate_limit_per_minute(1)
        .start()
        .unwrap();
    Cli::new().against(&server).run().token();
    let outcome = Cli::new().against(&server).run();
    assert!(outcome.failure(4).contains("429"));
}

#[test]
fn server_errors_exit_5() {
    let server = server();
    let cases = [
        (Fault::html_error(502), "502"),
        (
            Fault::message_error(500, "Internal failure"),
            "Internal failure",
        ),
        (Fault::empty(503), "503"),
        (
            Fault::oauth_error(504, "temporarily_unavailable", "try later"),
            "temporarily_unavailable",
        ),
    ];
    for (fault, needle) in cases {
        let outcome = with_fault(&server, fault);
        let line = outcome.failure(5);
        assert!(line.contains(needle), "{needle} missing: {line}");
        assert!(line.contains("temporary"), "{line}");
        assert_request_id(line);
    }
}

#[test]
fn unexpected_responses_exit_5() {
    let server = server();
    let cases = [
        (Fault::MalformedJson, "JSON"),
        (Fault::WrongContentType, "text/plain"),
        (
            Fault::respond(200, [("Content-Type", "application/json")], ""),
            "empty",
        ),
        (Fault::omit_field("access_token"), "access_token"),
        (Fault::omit_field("expires_in"), "expires_in"),
        (Fault::token_type("mac"), "mac"),
        (Fault::expires_in(json!(0)), "expires_in"),
        (Fault::oversized_body(1024 * 1024), "too large"),
        (Fault::redirect(), "redirect"),
        (Fault::message_error(404, "no Route matched"), "404"),
        (Fault::html_error(418), "418"),
        (
            Fault::respond(200, [("Content-Type", "text/html")], "<html>login</html>"),
            "text/html",
        ),
    ];
    for (fault, needle) in cases {
        let kind = fault.kind();
        let outcome = with_fault(&server, fault);
        let line = outcome.failure(5);
        assert!(line.contains(needle), "{kind}: {needle} missing: {line}");
        // A body that held a real token never shows it.
        assert_no_token(&server, &outcome);
    }
}

#[test]
fn connection_refused_exits_6() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let outcome = Cli::new()
        .creds()
        .args(["--base-url", &format!("http://127.0.0.1:{port}")])
        .run();
    let line = outcome.failure(6);
    assert!(line.contains("connection"), "{line}");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
}

#[test]
fn resets_and_cut_answers_exit_6() {
    let server = server();
    for fault in [
        Fault::ResetConnection,
        Fault::CloseConnection,
        Fault::close_mid_body(),
        Fault::stall_body(Duration::from_millis(50), StallEnd::Close),
    ] {
        let kind = fault.kind();
        let outcome = with_fault(&server, fault);
        let line = outcome.failure(6);
        assert!(line.contains("requesting a Zuora token"), "{kind}: {line}");
        assert_no_token(&server, &outcome);
    }
}

#[test]
fn timeouts_exit_6() {
    let server = server();
    for fault in [
        Fault::delay_headers(Duration::from_secs(5)),
        Fault::stall_body(Duration::from_secs(5), StallEnd::Finish),
    ] {
        let kind = fault.kind();
        server.push_fault(fault);
        let outcome = Cli::new().against(&server).args(["--timeout", "0.4"]).run();
        let line = outcome.failure(6);
        assert!(line.contains("timed out"), "{kind}: {line}");
    }
}

#[test]
fn a_slow_answer_within_the_timeout_succeeds() {
    let server = server();
    server.push_fault(Fault::delay_headers(Duration::from_millis(300)));
    Cli::new()
        .against(&server)
        .args(["--timeout", "5"])
        .run()
        .token();
}

#[test]
fn tls_failure_exits_6() {
    // https to a server that speaks plain HTTP: the TLS handshake fails.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let plain = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let outcome = Cli::new()
        .creds()
        .args(["--base-url", &format!("https://{addr}")])
        .run();
    let line = outcome.failure(6);
    assert!(line.contains("requesting a Zuora token"), "{line}");
    // Exit 6 covers every network failure: this one must be the handshake's.
    assert!(
        line.starts_with("error: TLS failed"),
        "not a TLS failure: {line}"
    );
    plain.join().unwrap();
}
