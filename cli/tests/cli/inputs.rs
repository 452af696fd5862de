//! Where the inputs come from (flags, variables, files, stdin), which wins, and what is
//! refused before anything is sent.

use std::fs;

use zuora_oauth_testkit::MockServer;

use crate::helpers::{CLIENT_ID, Cli, SECRET, UNKNOWN_CLIENT_ID, server};

const NAMES: [&str; 10] = [
    "prod", "prod-na", "prod-eu", "prod-ap", "sbx", "sbx-na", "sbx-eu", "csbx", "csbx-eu",
    "csbx-ap",
];

fn sent_client_id(server: &MockServer) -> String {
    server.requests()[0]
        .form_value("client_id")
        .expect("client_id sent")
        .to_owned()
}

/// Whether the mock accepted the secret sent: it records it redacted, and answers 200 only
/// to exactly the registered secret, percent-encoded.
fn secret_accepted(server: &MockServer) -> bool {
    server.requests()[0].status == Some(200)
}

#[test]
fn client_id_flag_beats_the_variable() {
    let server = server();
    Cli::new()
        .target(&server)
        .env("ZUORA_CLIENT_ID", UNKNOWN_CLIENT_ID)
        .env("ZUORA_CLIENT_SECRET", SECRET)
        .args(["--client-id", CLIENT_ID])
        .run()
        .token();
    assert_eq!(sent_client_id(&server), CLIENT_ID);
}

#[test]
fn client_id_from_the_variable() {
    let server = server();
    Cli::new().against(&server).run().token();
    assert_eq!(sent_client_id(&server), CLIENT_ID);
}

#[test]
fn missing_client_id_is_a_usage_error() {
    let server = server();
    let outcome = Cli::new()
        .target(&server)
        .env("ZUORA_CLIENT_SECRET", SECRET)
        .run();
    let line = outcome.failure(2);
    assert!(
        line.contains("--client-id") && line.contains("ZUORA_CLIENT_ID"),
        "{line}"
    );
    assert_eq!(server.token_request_count(), 0);
}

#[test]
fn secret_file_beats_the_variable_and_loses_its_crlf() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    fs::write(&path, format!("{SECRET}\r\nsecond line is ignored\n")).unwrap();
    Cli::new()
        .target(&server)
        .env("ZUORA_CLIENT_ID", CLIENT_ID)
        .env("ZUORA_CLIENT_SECRET", "the-wrong-secret")
        .arg("--client-secret-file")
        .arg(&path)
        .run()
        .token();
    assert!(secret_accepted(&server));
}

#[test]
fn secret_file_with_lf_or_no_newline() {
    for content in [format!("{SECRET}\n"), SECRET.to_owned()] {
        let server = server();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        fs::write(&path, content).unwrap();
        Cli::new()
            .target(&server)
            .args(["--client-id", CLIENT_ID])
            .arg("--client-secret-file")
            .arg(&path)
            .run()
            .token();
        assert!(secret_accepted(&server));
    }
}

#[test]
fn secret_from_stdin() {
    for input in [
        format!("{SECRET}\r\n"),
        format!("{SECRET}\nmore\n"),
        SECRET.to_owned(),
    ] {
        let server = server();
        Cli::new()
            .target(&server)
            .args(["--client-id", CLIENT_ID, "--client-secret-file", "-"])
            .env("ZUORA_CLIENT_SECRET", "the-wrong-secret")
            .stdin(input)
            .run()
            .token();
        assert!(secret_accepted(&server));
    }
}

#[test]
fn secret_from_the_variable() {
    let server = server();
    Cli::new().against(&server).run().token();
    assert!(secret_accepted(&server));
}

#[test]
fn missing_empty_or_unreadable_secret_is_a_usage_error() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    fs::write(&empty, "\n").unwrap();
    let missing = dir.path().join("missing");
    let base = || Cli::new().target(&server).args(["--client-id", CLIENT_ID]);

    let none = base().run();
    let line = none.failure(2);
    assert!(line.contains("ZUORA_CLIENT_SECRET") && line.contains("--client-secret-file"));

    let empty_var = base().env("ZUORA_CLIENT_SECRET", "").run();
    empty_var.failure(2);

    let empty_file = base().arg("--client-secret-file").arg(&empty).run();
    assert!(
        empty_file.failure(2).contains("client_secret"),
        "{empty_file:?}"
    );

    let empty_stdin = base().args(["--client-secret-file", "-"]).stdin("").run();
    empty_stdin.failure(2);

    let unreadable = base().arg("--client-secret-file").arg(&missing).run();
    let line = unreadable.failure(2);
    assert!(
        line.contains("missing") && line.contains("--client-secret-file"),
        "{line}"
    );

    assert_eq!(server.token_request_count(), 0);
}

#[test]
fn env_and_base_url_flags_conflict() {
    let server = server();
    let outcome = Cli::new().against(&server).args(["--env", "sbx"]).run();
    let message = outcome.usage_error();
    assert!(
        message.contains("--env") && message.contains("--base-url"),
        "{message}"
    );
    assert_eq!(server.token_request_count(), 0);
}

#[test]
fn base_url_variable_beats_env_variable() {
    let server = server();
    Cli::new()
        .creds()
        .env("ZUORA_BASE_URL", server.base_url())
        .env("ZUORA_ENV", "not-an-environment")
        .run()
        .token();
}

#[test]
fn env_variable_is_used_without_a_base_url() {
    let outcome = Cli::new()
        .creds()
        .env("ZUORA_ENV", "not-an-environment")
        .run();
    let line = outcome.failure(2);
    assert!(
        line.contains("not-an-environment") && line.contains("ZUORA_ENV"),
        "{line}"
    );
    for name in NAMES {
        assert!(line.contains(name), "{name} missing from {line}");
    }
}

#[test]
fn target_flags_beat_target_variables() {
    let server = server();
    // --base-url over both variables (each of which would fail).
    Cli::new()
        .against(&server)
        .env("ZUORA_BASE_URL", "http://zuora.example.com")
        .env("ZUORA_ENV", "not-an-environment")
        .run()
        .token();
    // --env over ZUORA_BASE_URL: the flag is the one that is read (and refused here, so
    // that nothing leaves this machine).
    let outcome = Cli::new()
        .creds()
        .env("ZUORA_BASE_URL", server.base_url())
        .args(["--env", "moon"])
        .run();
    let line = outcome.failure(2);
    assert!(line.contains("moon") && line.contains("--env"), "{line}");
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn no_target_is_a_usage_error_listing_the_environments() {
    let outcome = Cli::new().creds().run();
    let line = outcome.failure(2);
    for name in NAMES {
        assert!(line.contains(name), "{name} missing from {line}");
    }
    assert!(
        line.contains("--env") && line.contains("--base-url"),
        "{line}"
    );
}

#[test]
fn environment_names_are_case_insensitive_flags() {
    // `--env PROD-EU` is accepted by the core's parser; prove it without a network by
    // pairing it with a client ID the core refuses: the error is about the ID, not the
    // environment.
    let outcome = Cli::new()
        .args(["--env", "PROD-EU", "--client-id", "short"])
        .env("ZUORA_CLIENT_SECRET", SECRET)
        .run();
    assert!(outcome.failure(2).contains("client_id"), "{outcome:?}");
}

#[test]
fn invalid_inputs_exit_2_and_send_nothing() {
    let server = server();
    let base_url = server.base_url();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--client-id".into(), "x".repeat(35)], "client_id"),
        (vec!["--client-id".into(), "x".repeat(37)], "client_id"),
        (vec!["--track-id".into(), "a:b".into()], "Zuora-Track-Id"),
        (vec!["--track-id".into(), "t".repeat(65)], "Zuora-Track-Id"),
        (
            vec!["--track-id".into(), "caf\u{e9}".into()],
            "Zuora-Track-Id",
        ),
        (
            vec!["--entity-id".into(), "not-a-uuid".into()],
            "Zuora-Entity-Ids",
        ),
        (vec!["--env".into(), "moon".into()], "moon"),
        (
            vec!["--base-url".into(), "http://zuora.example.com".into()],
            "https",
        ),
        (
            vec!["--base-url".into(), format!("{base_url}/?debug=1")],
            "query",
        ),
        (
            vec!["--base-url".into(), format!("{base_url}/#top")],
            "fragment",
        ),
        (
            vec!["--base-url".into(), "ftp://127.0.0.1/".into()],
            "https",
        ),
        (vec!["--base-url".into(), "not a url".into()], "base_url"),
    ];
    for (args, needle) in cases {
        let mut cli = Cli::new().creds();
        if !args.contains(&"--env".to_owned()) && !args.contains(&"--base-url".to_owned()) {
            cli = cli.target(&server);
        }
        let outcome = cli.args(&args).run();
        let line = outcome.failure(2);
        assert!(line.contains(needle), "{args:?}: {line}");
    }
    // Secrets: too long from the variable, a file and stdin.
    let long = "s".repeat(43);
    let from_var = Cli::new()
        .target(&server)
        .args(["--client-id", CLIENT_ID])
        .env("ZUORA_CLIENT_SECRET", &long)
        .run();
    assert!(from_var.failure(2).contains("client_secret"));
    from_var.assert_no_secret(&long);
    let from_stdin = Cli::new()
        .target(&server)
        .args(["--client-id", CLIENT_ID, "--client-secret-file", "-"])
        .stdin(format!("{long}\n"))
        .run();
    assert!(from_stdin.failure(2).contains("client_secret"));

    // Option values clap refuses.
    for args in [
        vec!["--timeout", "0"],
        vec!["--timeout", "soon"],
        vec!["--max-wait", "-1"],
        vec!["--retries", "-1"],
        vec!["--format", "xml"],
        vec!["--no-such-flag"],
    ] {
        let outcome = Cli::new().against(&server).args(&args).run();
        outcome.usage_error();
    }
    assert_eq!(server.token_request_count(), 0);
}

#[test]
fn lengths_are_counted_in_characters() {
    // 36 and 42 two-byte characters pass the length rules (72 and 84 bytes), so they are
    // sent (and refused by the server: exit 3, not 2); 43 characters do not.
    let server = server();
    let id = "\u{e9}".repeat(36);
    let secret = "\u{e9}".repeat(42);
    let outcome = Cli::new()
        .target(&server)
        .args(["--client-id", id.as_str()])
        .env("ZUORA_CLIENT_SECRET", &secret)
        .run();
    outcome.failure(3);
    outcome.assert_no_secret(&secret);
    assert_eq!(server.token_request_count(), 1);
    let too_long = Cli::new()
        .target(&server)
        .args(["--client-id", CLIENT_ID])
        .env("ZUORA_CLIENT_SECRET", "\u{e9}".repeat(43))
        .run();
    assert!(too_long.failure(2).contains("43"), "{too_long:?}");
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn track_id_of_64_characters_is_accepted() {
    let server = server();
    let track = "t".repeat(64);
    Cli::new()
        .against(&server)
        .args(["--track-id", track.as_str()])
        .run()
        .token();
    assert_eq!(
        server.requests()[0].header("zuora-track-id"),
        Some(track.as_str())
    );
}

#[test]
fn base_url_may_have_a_trailing_slash_or_a_path_prefix() {
    let server = server();
    Cli::new()
        .creds()
        .args(["--base-url", &format!("{}/", server.base_url())])
        .run()
        .token();
    assert_eq!(server.requests()[0].path, "/oauth/token");

    // A proxy's path prefix is kept. The mock serves no prefix (and records only its token
    // path), so a bare listener answers 404 and reports the request line it got.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let proxy = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        request_line
    });
    let outcome = Cli::new()
        .creds()
        .args(["--base-url", &format!("http://{addr}/zuora/proxy/")])
        .run();
    assert!(outcome.failure(5).contains("404"), "{outcome:?}");
    assert_eq!(
        proxy.join().unwrap().trim_end(),
        "POST /zuora/proxy/oauth/token HTTP/1.1"
    );
}

#[test]
fn plain_http_is_accepted_for_every_loopback_host() {
    // Nothing listens on port 1: the input is accepted and the connection fails (exit 6),
    // where a non-loopback host is refused before sending (exit 2, above).
    for url in ["http://127.0.0.2:1", "http://[::1]:1", "http://LOCALHOST:1"] {
        let outcome = Cli::new().creds().args(["--base-url", url]).run();
        outcome.failure(6);
    }
}

#[test]
fn a_base_url_port_out_of_range_exits_2_before_sending() {
    // `http://127.0.0.1:99999` parses as a URL but names no port a connection can use; an
    // empty port is what `http://127.0.0.1:$PORT` becomes with PORT unset.
    for port in ["99999", "65536", "0", ""] {
        let url = format!("http://127.0.0.1:{port}");
        let from_flag = Cli::new().creds().args(["--base-url", &url]).run();
        let line = from_flag.failure(2);
        assert!(
            line.contains("--base-url") && line.contains("port"),
            "{url}: {line}"
        );
        let from_var = Cli::new().creds().env("ZUORA_BASE_URL", &url).run();
        assert!(from_var.failure(2).contains("ZUORA_BASE_URL"), "{url}");
    }
    // The ends of the range are ports.
    let server = server();
    let port = server.addr().port();
    Cli::new()
        .creds()
        .args(["--base-url", &format!("http://127.0.0.1:{port}")])
        .run()
        .token();
}
