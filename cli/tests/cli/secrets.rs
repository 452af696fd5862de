//! The client secret and access tokens never appear in any output.
//!
//! Every run in every test already checks that [`SECRET`] (raw and form-encoded) and the
//! mock's demo secret are absent from stdout and stderr. This file adds the scenarios most
//! likely to leak: servers that echo the secret or a token back in error bodies, headers
//! or redirects, and secrets refused by validation.

use serde_json::json;
use zuora_oauth_testkit::{Fault, MockServer};

use crate::helpers::{CLIENT_ID, Cli, SECRET, SECRET_FORM_ENCODED, server};

#[test]
fn echoed_secrets_are_scrubbed_from_error_messages() {
    let server = server();
    let echoes = [
        Fault::oauth_error(
            401,
            "invalid_client",
            &format!("Bad client credentials: {SECRET}"),
        ),
        Fault::message_error(
            400,
            &format!("client_secret={SECRET_FORM_ENCODED} is wrong"),
        ),
        Fault::reasons_error(403, 1, &format!("secret {SECRET} not allowed")),
        Fault::message_error(500, &format!("upstream saw {SECRET}")),
        Fault::respond(
            502,
            [("Content-Type", "text/plain")],
            format!("echo: {SECRET}"),
        ),
        Fault::Redirect {
            status: 302,
            location: format!("http://127.0.0.2:1/login?secret={SECRET_FORM_ENCODED}"),
        },
        Fault::respond(
            429,
            [("Content-Type", "application/json")],
            json!({"message": SECRET}).to_string(),
        ),
    ];
    for fault in echoes {
        server.push_fault(fault);
        let outcome = Cli::new().against(&server).run();
        assert_ne!(outcome.code, 0);
        // (the secret checks run inside `run`)
    }
}

#[test]
fn tokens_in_failed_responses_never_reach_the_error_line() {
    let server = server();
    let planted = "c652cbc0ea384b9f81856a93a2a74538";
    let bodies = [
        Fault::token_type("mac"),
        Fault::expires_in(json!("soon")),
        Fault::WrongContentType,
        Fault::json(500, &json!({"access_token": planted, "message": "oops"})),
        Fault::json(
            401,
            &json!({"error": "invalid_client", "error_description": format!("access_token={planted}")}),
        ),
    ];
    for fault in bodies {
        server.push_fault(fault);
        let outcome = Cli::new().against(&server).run();
        assert_ne!(outcome.code, 0);
        outcome.assert_no_secret(planted);
        for t in server.issued_tokens() {
            outcome.assert_no_secret(&t.access_token);
        }
    }
}

#[test]
fn refused_secrets_are_not_repeated() {
    let server = server();
    // Too long: the core refuses it without quoting it.
    let long = format!("{SECRET}{SECRET}");
    for run in [
        Cli::new()
            .target(&server)
            .args(["--client-id", CLIENT_ID])
            .env("ZUORA_CLIENT_SECRET", &long)
            .run(),
        Cli::new()
            .target(&server)
            .args(["--client-id", CLIENT_ID, "--client-secret-file", "-"])
            .stdin(format!("{long}\r\n"))
            .run(),
    ] {
        run.failure(2);
        run.assert_no_secret(&long);
    }
    // A well-formed but wrong secret, through every source.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, "Wrong+Secret/From=File\n").unwrap();
    let from_file = Cli::new()
        .target(&server)
        .args(["--client-id", CLIENT_ID])
        .arg("--client-secret-file")
        .arg(&path)
        .run();
    from_file.failure(3);
    from_file.assert_no_secret("Wrong+Secret/From=File");
    from_file.assert_no_secret("Wrong%2BSecret");
}

#[test]
fn the_secret_is_absent_from_every_kind_of_outcome() {
    // One run of each exit code with the distinctive secret configured; `run` checks
    // stdout and stderr of each.
    let server = server();
    let refused = MockServer::builder().start().unwrap();
    let home = crate::helpers::Home::new();
    let outcomes = [
        Cli::new().against(&server).args(["--format", "json"]).run(),
        Cli::new()
            .against(&server)
            .args(["--format", "header"])
            .run(),
        home.cli().against(&server).arg("--cache").run(),
        home.cli().against(&server).arg("--cache").run(),
        Cli::new().creds().run(),
        Cli::new().against(&refused).run(),
        {
            server.push_fault(Fault::rate_limited(
                zuora_oauth_testkit::RetryAfter::Seconds(1),
            ));
            Cli::new().against(&server).run()
        },
        {
            server.push_fault(Fault::empty(500));
            Cli::new().against(&server).run()
        },
        Cli::new()
            .creds()
            .args(["--base-url", "http://127.0.0.1:1"])
            .run(),
        Cli::new().creds().arg("--mock").run(),
    ];
    let codes: Vec<i32> = outcomes.iter().map(|o| o.code).collect();
    assert_eq!(codes, [0, 0, 0, 0, 2, 3, 4, 5, 6, 0]);
    let file = &home.cache_files()[0];
    let content = std::fs::read_to_string(file).unwrap();
    assert!(!content.contains(SECRET));
}
